/* GET/POST /v0/sql (SPEC §7): read-only queries on a read-only connection.
 *
 * Three fences: the connection itself is read-only (opened with --readonly=1, with
 * max_execution_time and max_result_bytes set by `sluice serve`); ClickHouse's own parser
 * classifies the statement (one statement, and of the read class); and a token without ADMIN may
 * only read the tables its READ scopes name, found with EXPLAIN QUERY TREE (every table a query
 * reads, subqueries and joins included, appears as `table_name: db.t`). */
#include "sl_http.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SQL (1u << 20)

/* Checks every `table_name: db.t` of the EXPLAIN QUERY TREE output against the token's READ
 * scopes. Answers 403 and returns false on the first table the token may not read. */
static bool tables_allowed(sl_http_req *r, sl_str token, const sl_buf *explain)
{
    static const char marker[] = "table_name: ";
    const char *p = (const char *)explain->data, *end = p + explain->len;
    while (p < end) {
        const char *m = memmem(p, (size_t)(end - p), marker, sizeof(marker) - 1);
        if (!m)
            break;
        const char *s = m + sizeof(marker) - 1, *e = s;
        while (e < end && (*e == '_' || *e == '.' || (*e >= '0' && *e <= '9') ||
                           (*e >= 'A' && *e <= 'Z') || (*e >= 'a' && *e <= 'z')))
            e++;
        sl_str full = {s, (size_t)(e - s)};
        const char *dot = memchr(s, '.', full.len);
        sl_str db = dot ? (sl_str){s, (size_t)(dot - s)} : SL_STR("default");
        sl_str table = dot ? (sl_str){dot + 1, (size_t)(e - dot - 1)} : full;
        sl_str ds = table;
        if (ds.len > 11 && memcmp(ds.ptr + ds.len - 11, "_quarantine", 11) == 0)
            ds.len -= 11;
        sl_error err = {0};
        if (!sl_str_eq_cstr(db, "default")) {
            sl_http_error(r, 403,
                          "this token may not read %.*s: only ADMIN tokens read databases other "
                          "than default",
                          (int)(full.len > 100 ? 100 : full.len), full.ptr);
            return false;
        }
        if (sl_tokens_check(r->srv->cfg.tokens, token, SL_ACTION_READ, ds, NULL, 0, &err) != 0) {
            sl_http_error(r, 403,
                          "this token may not read %.*s; it needs DATASOURCES:READ:%.*s (or "
                          "ADMIN)",
                          (int)(full.len > 100 ? 100 : full.len), full.ptr,
                          (int)(ds.len > 64 ? 64 : ds.len), ds.ptr);
            return false;
        }
        p = e;
    }
    return true;
}

static const char *content_type_of(const sl_buf *out)
{
    size_t i = 0;
    while (i < out->len && (out->data[i] == ' ' || out->data[i] == '\n'))
        i++;
    if (i < out->len && (out->data[i] == '{' || out->data[i] == '['))
        return "application/json";
    return "text/plain; charset=utf-8";
}

struct sl_sql_job {
    struct sl_sql_job *next;
    sl_http_req *req;
    sl_str q;     /* in the request's memory, valid while it is parked */
    sl_str token; /* likewise */
    bool admin;
};
typedef struct sl_sql_job sql_job;

typedef struct {
    sl_server *srv;
    sl_sink *sink;
} worker_arg;

/* Runs one query on `sink` and sets r's answer. */
static void run_query(sl_http_req *r, sl_sink *sink, sl_str q, sl_str token, bool admin)
{
    sl_server *srv = r->srv;
    sl_error err = {0};
    sl_buf explain;
    sl_buf_init(&explain, 8u << 20);
    int n_statements = 0;
    sl_sql_class cls = SL_SQL_UNKNOWN;
    int rc = sl_sink_classify(sink, q, &n_statements, &cls, &err);
    if (rc) {
        sl_http_error(r, 400, "%s", err.msg ? err.msg : "the query cannot be parsed");
        goto done;
    }
    if (n_statements == 0) {
        /* Not parsable: let the parser say why (EXPLAIN SYNTAX only parses). */
        sl_buf sql;
        sl_buf_init(&sql, MAX_SQL + 64);
        sl_buf_append_cstr(&sql, "EXPLAIN SYNTAX ");
        sl_buf_append(&sql, q.ptr, q.len);
        rc = sl_sink_query(sink, (sl_str){(const char *)sql.data, sql.len}, "TSVRaw", &explain,
                           &err);
        sl_buf_free(&sql);
        sl_http_error(r, 400, "%s",
                      rc && err.msg ? err.msg : "the query does not parse as a SQL statement");
        goto done;
    }
    if (n_statements != 1) {
        sl_http_error(r, 400, "send exactly one statement (got %d)", n_statements);
        goto done;
    }
    if (cls != SL_SQL_READ) {
        sl_http_error(r, 403,
                      "/v0/sql is read-only: only SELECT, SHOW, DESCRIBE and EXPLAIN run here");
        goto done;
    }
    if (!admin) {
        sl_buf sql;
        sl_buf_init(&sql, MAX_SQL + 64);
        sl_buf_append_cstr(&sql, "EXPLAIN QUERY TREE ");
        sl_buf_append(&sql, q.ptr, q.len);
        rc = sl_sink_query(sink, (sl_str){(const char *)sql.data, sql.len}, "TSVRaw", &explain,
                           &err);
        sl_buf_free(&sql);
        if (rc) {
            /* Usually an error in the query itself (unknown column...); SHOW and DESCRIBE also
             * land here: they are for ADMIN tokens. */
            sl_http_error(r, 400,
                          "%s (tokens without ADMIN may run SELECT queries on the data sources "
                          "they may read)",
                          err.msg ? err.msg : "the query cannot be analysed");
            goto done;
        }
        if (!tables_allowed(r, token, &explain))
            goto done;
    }
    r->out.len = 0;
    rc = sl_sink_query(sink, q, "JSON", &r->out, &err);
    if (rc == SL_ETOOBIG) {
        sl_http_error(r, 400, "the result is larger than %zu bytes; add a LIMIT or aggregate",
                      srv->cfg.sql_max_result_bytes);
        goto done;
    }
    if (rc) {
        sl_http_error(r, rc == SL_ENOMEM ? 503 : 400, "%s", err.msg ? err.msg : sl_strerror(rc));
        goto done;
    }
    sl_http_reply(r, 200, content_type_of(&r->out));
done:
    sl_buf_free(&explain);
}

static void *worker_main(void *p)
{
    worker_arg *a = p;
    sl_server *srv = a->srv;
    pthread_mutex_lock(&srv->sql_mu);
    for (;;) {
        while (!srv->sql_head && !srv->sql_stop)
            pthread_cond_wait(&srv->sql_cv, &srv->sql_mu);
        if (!srv->sql_head)
            break;
        sql_job *j = srv->sql_head;
        srv->sql_head = j->next;
        if (!srv->sql_head)
            srv->sql_tail = NULL;
        srv->sql_queued--;
        pthread_mutex_unlock(&srv->sql_mu);
        run_query(j->req, a->sink, j->q, j->token, j->admin);
        sl_http_wake(j->req);
        free(j);
        pthread_mutex_lock(&srv->sql_mu);
    }
    pthread_mutex_unlock(&srv->sql_mu);
    free(a);
    return NULL;
}

int sl_http_sql_start(sl_server *srv, sl_error *err)
{
    srv->sql_workers =
        sl_xcalloc(srv->cfg.n_sql_sinks ? srv->cfg.n_sql_sinks : 1, sizeof(pthread_t));
    for (size_t i = 0; i < srv->cfg.n_sql_sinks; i++) {
        worker_arg *a = sl_xmalloc(sizeof(*a));
        a->srv = srv;
        a->sink = srv->cfg.sql_sinks[i];
        if (pthread_create(&srv->sql_workers[i], NULL, worker_main, a) != 0) {
            free(a);
            return sl_error_set(err, SL_ENOMEM, "cannot start the SQL worker threads", 0);
        }
        srv->n_sql_workers++;
    }
    return 0;
}

void sl_http_sql_stop(sl_server *srv)
{
    if (!srv->sql_workers)
        return;
    pthread_mutex_lock(&srv->sql_mu);
    srv->sql_stop = true;
    /* Queued queries are not started: answer them now. */
    sql_job *j = srv->sql_head;
    srv->sql_head = srv->sql_tail = NULL;
    srv->sql_queued = 0;
    pthread_cond_broadcast(&srv->sql_cv);
    pthread_mutex_unlock(&srv->sql_mu);
    while (j) {
        sql_job *next = j->next;
        sl_http_error(j->req, 503, "the server is shutting down");
        sl_http_wake(j->req);
        free(j);
        j = next;
    }
    for (size_t i = 0; i < srv->n_sql_workers; i++)
        pthread_join(srv->sql_workers[i], NULL);
    free(srv->sql_workers);
    srv->sql_workers = NULL;
    srv->n_sql_workers = 0;
}

void sl_http_sql(sl_http_req *r)
{
    sl_server *srv = r->srv;
    sl_str token = sl_http_token(r);
    if (!srv->cfg.tokens) {
        sl_http_error(r, 503, "the token store is not available");
        return;
    }
    sl_error err = {0};
    int rc = sl_tokens_check(srv->cfg.tokens, token, SL_ACTION_ADMIN, SL_STR_NULL, NULL, 0, &err);
    bool admin = rc == 0;
    if (rc == SL_EMISSING) {
        sl_http_authorize(r, SL_ACTION_ADMIN, SL_STR_NULL); /* answers the 403 */
        return;
    }
    sl_str q = sl_http_param(r, "q");
    if (!q.len && r->method == SL_M_POST && sl_http_body(r, &q) != 0)
        return;
    while (q.len &&
           (q.ptr[q.len - 1] == ' ' || q.ptr[q.len - 1] == '\n' || q.ptr[q.len - 1] == '\r' ||
            q.ptr[q.len - 1] == '\t' || q.ptr[q.len - 1] == ';'))
        q.len--;
    if (!q.len) {
        sl_http_error(r, 400, "missing query: GET /v0/sql?q=<SQL> or POST the SQL as the body");
        return;
    }
    if (q.len > MAX_SQL) {
        sl_http_error(r, 413, "query longer than %u bytes", MAX_SQL);
        return;
    }
    if (memchr(q.ptr, '\0', q.len)) {
        sl_http_error(r, 400, "the query contains a NUL byte");
        return;
    }
    if (srv->n_sql_workers == 0) {
        sl_http_error(r, 503, "the query engine is not available");
        return;
    }
    atomic_fetch_add_explicit(&srv->m.sql_queries, 1, memory_order_relaxed);
    sql_job *j = sl_xcalloc(1, sizeof(*j));
    j->req = r;
    j->q = q;
    j->token = token;
    j->admin = admin;
    pthread_mutex_lock(&srv->sql_mu);
    bool full = srv->sql_queued >= srv->cfg.sql_queue || srv->sql_stop;
    if (!full) {
        /* Park under the lock: a worker may take the job as soon as it is queued. */
        sl_http_park(r);
        if (srv->sql_tail)
            srv->sql_tail->next = j;
        else
            srv->sql_head = j;
        srv->sql_tail = j;
        srv->sql_queued++;
        pthread_cond_signal(&srv->sql_cv);
    }
    pthread_mutex_unlock(&srv->sql_mu);
    if (full) {
        free(j);
        sl_http_add_header(r, "Retry-After", "1");
        sl_http_error(r, 503, "too many queries waiting; retry later");
    }
}
