/* The libmicrohttpd glue of sl_server: daemon set-up, per-connection request state reused
 * across keep-alive requests, body collection with a cap, routing, the common response
 * headers (CORS, X-RateLimit-*, Retry-After), parking of wait=true requests, structured logs. */
#include "sl_http.h"
#include "sl_convert.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MAX_REQUEST (100u << 20)
#define WIRE_SLACK          (1u << 20) /* raw bodies may be a little larger than decoded ones */
#define KEEP_BUF            (256u << 10) /* per-connection buffers larger than this are freed after use */
/* libmicrohttpd's per-connection pool holds the request line, headers and its read buffer (bodies
 * are copied out into r->body); it zeroes the whole pool after every request, so a big one costs
 * every small POST. 32 KiB is libmicrohttpd's own default. */
#define MHD_POOL_BYTES ((size_t)32u << 10)

/* ---- routing ---- */

typedef void (*handler_fn)(sl_http_req *r);

typedef struct {
    const char *prefix; /* whole path, or the part before <arg> */
    const char *suffix; /* NULL: exact path; else the part after <arg> ("" for none) */
    unsigned methods;
    handler_fn fn;
} route;

static const route routes[] = {
    {"/v0/events", NULL, SL_M_POST, sl_http_events},
    {"/v0/sql", NULL, SL_M_GET | SL_M_HEAD | SL_M_POST, sl_http_sql},
    {"/v0/datasources", NULL, SL_M_GET | SL_M_HEAD, sl_http_datasources_list},
    {"/v0/datasources", NULL, SL_M_POST, sl_http_datasources_create},
    {"/v0/datasources/", "/truncate", SL_M_POST, sl_http_datasources_truncate},
    {"/v0/datasources/", "", SL_M_GET | SL_M_HEAD, sl_http_datasources_get},
    {"/v0/datasources/", "", SL_M_DELETE, sl_http_datasources_delete},
    {"/v0/tokens", NULL, SL_M_GET | SL_M_HEAD, sl_http_tokens_list},
    {"/v0/tokens", NULL, SL_M_POST, sl_http_tokens_create},
    {"/v0/tokens/", "", SL_M_DELETE, sl_http_tokens_delete},
    {"/v0/health", NULL, SL_M_GET | SL_M_HEAD, sl_http_health},
    {"/v0/ready", NULL, SL_M_GET | SL_M_HEAD, sl_http_ready},
    {"/metrics", NULL, SL_M_GET | SL_M_HEAD, sl_http_metrics_page},
};

static bool starts_with(sl_str s, const char *p, size_t n)
{
    return s.len >= n && memcmp(s.ptr, p, n) == 0;
}

/* Endpoints that take no token from the shared API bucket: events have their own buckets per
 * data source, and a probe answered 429 would get a healthy server restarted. */
static bool unmetered(handler_fn fn)
{
    return fn == sl_http_events || fn == sl_http_health || fn == sl_http_ready ||
           fn == sl_http_metrics_page;
}

/* Does `path` match `rt`? Fills *arg for routes with a <name> part. */
static bool route_matches(const route *rt, sl_str path, sl_str *arg)
{
    size_t np = strlen(rt->prefix);
    if (!rt->suffix)
        return path.len == np && memcmp(path.ptr, rt->prefix, np) == 0;
    size_t ns = strlen(rt->suffix);
    if (path.len <= np + ns || !starts_with(path, rt->prefix, np) ||
        memcmp(path.ptr + path.len - ns, rt->suffix, ns) != 0)
        return false;
    sl_str a = {path.ptr + np, path.len - np - ns};
    if (memchr(a.ptr, '/', a.len))
        return false;
    *arg = a;
    return true;
}

static const char *method_list(unsigned m, char *buf, size_t cap)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{SL_M_GET, "GET"}, {SL_M_HEAD, "HEAD"},     {SL_M_POST, "POST"},
                 {SL_M_PUT, "PUT"}, {SL_M_DELETE, "DELETE"}, {SL_M_OPTIONS, "OPTIONS"}};
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (m & names[i].bit)
            len += (size_t)snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", names[i].name);
    return buf;
}

static sl_http_method parse_method(const char *m)
{
    switch (m[0]) {
    case 'G': return strcmp(m, "GET") == 0 ? SL_M_GET : SL_M_OTHER;
    case 'H': return strcmp(m, "HEAD") == 0 ? SL_M_HEAD : SL_M_OTHER;
    case 'P':
        return strcmp(m, "POST") == 0 ? SL_M_POST : strcmp(m, "PUT") == 0 ? SL_M_PUT : SL_M_OTHER;
    case 'D': return strcmp(m, "DELETE") == 0 ? SL_M_DELETE : SL_M_OTHER;
    case 'O': return strcmp(m, "OPTIONS") == 0 ? SL_M_OPTIONS : SL_M_OTHER;
    default: return SL_M_OTHER;
    }
}

/* ---- logging ---- */

void sl_server_log(const sl_server *srv, sl_log_level level, const char *msg,
                   const char *fields_json)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    if (srv && level < srv->cfg.log_level)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    sl_buf b;
    sl_buf_init(&b, 64u << 10);
    sl_buf_printf(&b, "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\",\"msg\":",
                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  ts.tv_nsec / 1000000, names[level]);
    sl_buf_append_json_string(&b, msg, strlen(msg));
    if (fields_json && *fields_json) {
        sl_buf_append(&b, ",", 1);
        sl_buf_append_cstr(&b, fields_json);
    }
    sl_buf_append(&b, "}\n", 2);
    if (b.data)
        fwrite(b.data, 1, b.len, stderr);
    sl_buf_free(&b);
}

/* ---- request helpers ---- */

sl_str sl_http_param(sl_http_req *r, const char *key)
{
    const char *v = NULL;
    size_t n = 0;
    if (MHD_lookup_connection_value_n(r->conn, MHD_GET_ARGUMENT_KIND, key, strlen(key), &v, &n) !=
            MHD_YES ||
        !v)
        return SL_STR_NULL;
    return (sl_str){v, n};
}

sl_str sl_http_header(sl_http_req *r, const char *name)
{
    const char *v = NULL;
    size_t n = 0;
    if (MHD_lookup_connection_value_n(r->conn, MHD_HEADER_KIND, name, strlen(name), &v, &n) !=
            MHD_YES ||
        !v)
        return SL_STR_NULL;
    return (sl_str){v, n};
}

typedef struct {
    const char *key;
    size_t key_len;
    void (*fn)(void *ud, sl_str v);
    void *ud;
} each_ctx;

static enum MHD_Result each_value(void *cls, enum MHD_ValueKind kind, const char *key,
                                  size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    each_ctx *e = cls;
    if (key_size == e->key_len && memcmp(key, e->key, key_size) == 0)
        e->fn(e->ud, value ? (sl_str){value, value_size} : SL_STR(""));
    return MHD_YES;
}

void sl_http_params_each(sl_http_req *r, const char *key, void (*fn)(void *ud, sl_str v), void *ud)
{
    each_ctx e = {key, strlen(key), fn, ud};
    MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, each_value, &e);
}

sl_str sl_http_token(sl_http_req *r)
{
    sl_str h = sl_http_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    if (h.len > 7 && sl_str_eq_nocase((sl_str){h.ptr, 7}, "bearer ")) {
        sl_str t = {h.ptr + 7, h.len - 7};
        while (t.len && t.ptr[0] == ' ')
            t.ptr++, t.len--;
        while (t.len && t.ptr[t.len - 1] == ' ')
            t.len--;
        if (t.len)
            return t;
    }
    return sl_http_param(r, "token");
}

bool sl_http_truthy(sl_str v)
{
    return sl_str_eq_nocase(v, "true") || sl_str_eq_cstr(v, "1") || sl_str_eq_nocase(v, "yes") ||
           sl_str_eq_nocase(v, "on");
}

bool sl_http_valid_name(sl_str s)
{
    if (s.len == 0 || s.len > 64)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

bool sl_http_authorize(sl_http_req *r, sl_action action, sl_str ds)
{
    if (!r->srv->cfg.tokens) {
        sl_http_error(r, 503, "the token store is not available");
        return false;
    }
    sl_str token = sl_http_token(r);
    if (token.len == 0) {
        sl_http_error(r, 403,
                      "missing token: send 'Authorization: Bearer <token>' or '?token=<token>'");
        return false;
    }
    sl_error err = {0};
    int rc = sl_tokens_check(r->srv->cfg.tokens, token, action, ds, NULL, 0, &err);
    if (rc == 0)
        return true;
    if (rc == SL_EMISSING)
        sl_http_error(r, 403, "invalid token: no token has this secret");
    else
        sl_http_error(r, 403, "%s", err.msg ? err.msg : "the token lacks the scope needed");
    return false;
}

int sl_http_body(sl_http_req *r, sl_str *body)
{
    sl_error err = {0};
    sl_body_encoding enc;
    int rc =
        sl_body_parse_encoding(sl_http_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING), &enc, &err);
    if (rc) {
        sl_http_error(r, 400, "%s", err.msg);
        return rc;
    }
    sl_str raw = {(const char *)r->body.data, r->body.len};
    if (enc == SL_BODY_IDENTITY) {
        if (raw.len > r->srv->cfg.max_request_bytes) {
            sl_http_error(r, 413, "body is larger than %zu bytes; split it into smaller requests",
                          r->srv->cfg.max_request_bytes);
            return SL_ETOOBIG;
        }
        *body = raw;
        return 0;
    }
    r->decoded.len = 0;
    rc = sl_body_decode(enc, raw, r->srv->cfg.max_ratio, &r->decoded, &err);
    if (rc) {
        if (rc == SL_ETOOBIG)
            sl_http_error(r, 413, "%s", err.msg);
        else if (rc == SL_ENOMEM)
            sl_http_error(r, 503, "out of memory decoding the body; retry later");
        else
            sl_http_error(r, 400, "%s", err.msg);
        return rc;
    }
    *body = (sl_str){(const char *)r->decoded.data, r->decoded.len};
    return 0;
}

/* ---- answering ---- */

void sl_http_reply(sl_http_req *r, unsigned status, const char *content_type)
{
    r->status = status;
    r->content_type = content_type ? content_type : "application/json";
}

void sl_http_error(sl_http_req *r, unsigned status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof(msg))
        n = sizeof(msg) - 1;
    r->out.len = 0;
    sl_buf_append_cstr(&r->out, "{\"error\":");
    sl_buf_append_json_string(&r->out, msg, (size_t)n);
    sl_buf_append(&r->out, "}", 1);
    sl_http_reply(r, status, "application/json");
}

void sl_http_add_header(sl_http_req *r, const char *name, const char *value)
{
    if (r->n_extra >= SL_HTTP_MAX_EXTRA_HEADERS)
        return;
    r->extra_name[r->n_extra] = name;
    snprintf(r->extra_value[r->n_extra], sizeof(r->extra_value[0]), "%s", value);
    r->n_extra++;
}

static void add_u64(struct MHD_Response *resp, const char *name, uint64_t v)
{
    char num[24];
    snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
    MHD_add_response_header(resp, name, num);
}

static const char expose_headers[] = "X-RateLimit-Limit, X-RateLimit-Remaining, "
                                     "X-RateLimit-Reset, Retry-After, Idempotent-Replayed";

/* Queues r's answer with the common headers. */
static enum MHD_Result send_answer(sl_http_req *r)
{
    sl_server *srv = r->srv;
    if (!r->rl_set) {
        /* Answered before a bucket was consulted (e.g. 400 without a name, probes): report the
         * limit of the endpoint's bucket unused. */
        const route *rt = r->route;
        double rps = !rt || rt->fn == sl_http_events ? srv->cfg.ratelimit.requests_per_s
                                                     : srv->cfg.api_requests_per_s;
        r->rl.limit = rps > 0 ? (uint64_t)rps : 0;
        r->rl.remaining = r->rl.limit;
        r->rl.reset_s = 0;
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        r->out.len, r->out.len ? r->out.data : (void *)"", MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    if (r->out.len || r->status != 204)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                r->content_type ? r->content_type : "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, srv->cors_origin);
    MHD_add_response_header(resp, "Access-Control-Expose-Headers", expose_headers);
    add_u64(resp, "X-RateLimit-Limit", r->rl.limit);
    add_u64(resp, "X-RateLimit-Remaining", r->rl.remaining);
    add_u64(resp, "X-RateLimit-Reset", r->rl.reset_s);
    if (r->status == 429 || r->status == 503) {
        bool has = false;
        for (unsigned i = 0; i < r->n_extra; i++)
            has |= strcmp(r->extra_name[i], MHD_HTTP_HEADER_RETRY_AFTER) == 0;
        if (!has)
            add_u64(resp, MHD_HTTP_HEADER_RETRY_AFTER, r->rl.retry_after ? r->rl.retry_after : 1);
    }
    for (unsigned i = 0; i < r->n_extra; i++)
        MHD_add_response_header(resp, r->extra_name[i], r->extra_value[i]);
    enum MHD_Result ret = MHD_queue_response(r->conn, r->status, resp);
    MHD_destroy_response(resp);
    r->answered = true;

    unsigned cls = r->status / 100;
    atomic_fetch_add_explicit(&srv->m.requests[cls <= 5 ? cls : 0], 1, memory_order_relaxed);
    if (srv->cfg.log_requests || r->status >= 500) {
        char fields[512];
        snprintf(fields, sizeof(fields), "\"status\":%u,\"path\":\"%.*s\",\"ms\":%.3f", r->status,
                 (int)(r->path.len > 200 ? 200 : r->path.len), r->path.ptr,
                 (sl_ratelimit_now() - r->started) * 1e3);
        sl_server_log(srv, r->status >= 500 ? SL_LOG_WARN : SL_LOG_INFO, "request", fields);
    }
    return ret;
}

/* ---- parking wait=true requests ---- */

void sl_http_park(sl_http_req *r)
{
    r->parked = true;
    atomic_fetch_add(&r->srv->parked, 1);
}

void sl_http_wake(sl_http_req *r)
{
    sl_server *srv = r->srv;
    /* park_mu orders the answer's writes before the pool thread reads them, and decides who
     * sends it: the pool thread if it has not suspended the connection yet, else a resume. */
    pthread_mutex_lock(&r->park_mu);
    atomic_store(&r->woken, true);
    if (r->suspended)
        MHD_resume_connection(r->conn);
    pthread_mutex_unlock(&r->park_mu);
    atomic_fetch_sub(&srv->parked, 1);
}

/* After the handler parked r: true when its answer is already there (send it now); else the
 * connection is suspended until sl_http_wake resumes it. */
static bool answer_ready_or_suspend(sl_http_req *r)
{
    pthread_mutex_lock(&r->park_mu);
    bool ready = atomic_load(&r->woken);
    if (!ready) {
        r->suspended = true;
        MHD_suspend_connection(r->conn);
    }
    pthread_mutex_unlock(&r->park_mu);
    return ready;
}

sl_http_waiter *sl_http_wait_begin(sl_http_req *r, bool durable)
{
    sl_server *srv = r->srv;
    sl_http_waiter *w = sl_xcalloc(1, sizeof(*w));
    w->req = r;
    w->deadline = sl_ratelimit_now() + srv->cfg.wait_timeout_s;
    atomic_init(&w->refs, 2);
    atomic_init(&w->claimed, false);
    atomic_init(&w->durable, durable);
    sl_http_park(r);
    pthread_mutex_lock(&srv->wait_mu);
    w->next = srv->waiters;
    srv->waiters = w;
    pthread_mutex_unlock(&srv->wait_mu);
    return w;
}

bool sl_http_wait_claim(sl_http_waiter *w)
{
    bool expected = false;
    return atomic_compare_exchange_strong(&w->claimed, &expected, true);
}

void sl_http_wait_release(sl_http_waiter *w)
{
    if (atomic_fetch_sub(&w->refs, 1) == 1)
        free(w);
}

/* Drops answered waiters from the list and answers those past their deadline whose rows are
 * durable in the write-ahead log: 504, accepted. A waiter whose record the log has not confirmed
 * yet stays, past its deadline, until the log answers (202 path, then this timer; or 503).
 * With `all` (the server stops) every waiter is answered: durable ones 504 (the rows are in the
 * log and written at the next start at the latest), the others 503. The latter cannot happen
 * when the batcher is stopped before the server, as sluice serve does: stopping it writes or
 * rejects every queued record (were it to happen, the log might still write the record: the
 * idempotency window keeps the retry from inserting it twice). The batcher must be stopped
 * first anyway: its callbacks use the server. Called with wait_mu held. */
static void sweep_waiters(sl_server *srv, bool all)
{
    double now = sl_ratelimit_now();
    for (sl_http_waiter **pw = &srv->waiters; *pw;) {
        sl_http_waiter *w = *pw;
        bool answered = atomic_load(&w->claimed);
        bool durable = atomic_load(&w->durable);
        if (!answered && !all && (now < w->deadline || !durable)) {
            pw = &w->next;
            continue;
        }
        *pw = w->next;
        if (!answered && sl_http_wait_claim(w)) {
            if (all && durable) {
                sl_http_error(w->req, 504,
                              "the server stopped before the rows were committed; they are in "
                              "its write-ahead log and will be written, do not send them again");
            } else if (all) {
                sl_http_error(w->req, 503,
                              "the server stopped before the write-ahead log confirmed the rows; "
                              "retry later");
            } else {
                atomic_fetch_add_explicit(&srv->m.waits_timed_out, 1, memory_order_relaxed);
                sl_http_error(w->req, 504,
                              "wait=true timed out: the rows are accepted and stay buffered; "
                              "they will be written, do not send them again");
            }
            sl_http_wake(w->req);
        }
        sl_http_wait_release(w);
    }
}

static void *timer_main(void *arg)
{
    sl_server *srv = arg;
    double last_prune = sl_ratelimit_now();
    pthread_mutex_lock(&srv->wait_mu);
    while (!srv->timer_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&srv->wait_cv, &srv->wait_mu, &ts);
        if (srv->waiters)
            sweep_waiters(srv, false);
        /* Buckets idle for a minute are full anyway: forget them, so names sent once do not
         * accumulate. */
        double now = sl_ratelimit_now();
        if (now - last_prune > 60) {
            sl_ratelimit_prune(srv->rl, now, 60);
            last_prune = now;
        }
    }
    pthread_mutex_unlock(&srv->wait_mu);
    return NULL;
}

/* ---- converter state pool ---- */

sl_convert_state *sl_http_convert_state_get(sl_server *srv)
{
    sl_convert_state *st = NULL;
    pthread_mutex_lock(&srv->pool_mu);
    if (srv->n_pool)
        st = srv->pool[--srv->n_pool];
    pthread_mutex_unlock(&srv->pool_mu);
    return st ? st : sl_convert_state_new();
}

void sl_http_convert_state_put(sl_server *srv, sl_convert_state *st)
{
    if (!st)
        return;
    pthread_mutex_lock(&srv->pool_mu);
    if (srv->n_pool == srv->cap_pool) {
        size_t cap = srv->cap_pool ? srv->cap_pool * 2 : 16;
        srv->pool = sl_xrealloc(srv->pool, cap * sizeof(*srv->pool));
        srv->cap_pool = cap;
    }
    srv->pool[srv->n_pool++] = st;
    pthread_mutex_unlock(&srv->pool_mu);
}

/* ---- MHD callbacks ---- */

typedef struct {
    sl_http_req req;
} conn_ctx;

static void reset_request(sl_http_req *r)
{
    r->body.len = 0;
    r->decoded.len = 0;
    r->out.len = 0;
    /* A connection that carried one huge request should not keep its memory while idle. */
    if (r->body.alloc > KEEP_BUF)
        sl_buf_free(&r->body);
    if (r->decoded.alloc > KEEP_BUF)
        sl_buf_free(&r->decoded);
    if (r->out.alloc > KEEP_BUF)
        sl_buf_free(&r->out);
    r->rows.len = 0;
    r->quarantine.len = 0;
    if (r->rows.alloc > KEEP_BUF)
        sl_buf_free(&r->rows);
    if (r->quarantine.alloc > KEEP_BUF)
        sl_buf_free(&r->quarantine);
    r->body_too_big = false;
    r->answered = false;
    r->parked = false;
    r->suspended = false;
    atomic_store(&r->woken, false);
    r->rl_set = false;
    r->n_extra = 0;
    r->route = NULL;
    r->route_arg = SL_STR_NULL;
    r->content_type = NULL;
    r->status = 0;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    sl_server *srv = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        conn_ctx *cc = sl_xcalloc(1, sizeof(*cc));
        cc->req.srv = srv;
        cc->req.conn = c;
        pthread_mutex_init(&cc->req.park_mu, NULL);
        sl_buf_init(&cc->req.body, srv->cfg.max_request_bytes + WIRE_SLACK);
        sl_buf_init(&cc->req.decoded, srv->cfg.max_request_bytes);
        sl_buf_init(&cc->req.out, srv->cfg.sql_max_result_bytes + (1u << 20));
        /* RowBinary can be larger than the JSON it came from (e.g. small integers into
         * Int256); twice the request cap bounds it. */
        sl_buf_init(&cc->req.rows, 2 * srv->cfg.max_request_bytes + (1u << 20));
        sl_buf_init(&cc->req.quarantine, 4 * srv->cfg.max_request_bytes + (1u << 20));
        *socket_context = cc;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        conn_ctx *cc = *socket_context;
        if (cc) {
            sl_buf_free(&cc->req.body);
            sl_buf_free(&cc->req.decoded);
            sl_buf_free(&cc->req.out);
            sl_buf_free(&cc->req.rows);
            sl_buf_free(&cc->req.quarantine);
            pthread_mutex_destroy(&cc->req.park_mu);
            free(cc);
        }
        *socket_context = NULL;
    }
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    sl_http_req *r = *req_cls;
    if (r)
        reset_request(r);
    *req_cls = NULL;
}

/* Decodes %XX and '+' (form encoding, what curl -G --data-urlencode and browsers send). */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    char *w = s;
    for (const char *p = s; *p; p++) {
        if (*p == '+') {
            *w++ = ' ';
        } else if (*p == '%' && p[1] && p[2]) {
            int hi = p[1], lo = p[2];
            int h = hi >= '0' && hi <= '9'   ? hi - '0'
                    : hi >= 'a' && hi <= 'f' ? hi - 'a' + 10
                    : hi >= 'A' && hi <= 'F' ? hi - 'A' + 10
                                             : -1;
            int l = lo >= '0' && lo <= '9'   ? lo - '0'
                    : lo >= 'a' && lo <= 'f' ? lo - 'a' + 10
                    : lo >= 'A' && lo <= 'F' ? lo - 'A' + 10
                                             : -1;
            if (h < 0 || l < 0) {
                *w++ = *p;
                continue;
            }
            *w++ = (char)(h * 16 + l);
            p += 2;
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

static void preflight(sl_http_req *r)
{
    sl_str want = sl_http_header(r, "Access-Control-Request-Headers");
    sl_http_add_header(r, "Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
    char hdrs[96];
    if (want.len && want.len < sizeof(hdrs)) {
        memcpy(hdrs, want.ptr, want.len);
        hdrs[want.len] = '\0';
    } else {
        snprintf(hdrs, sizeof(hdrs),
                 "Authorization, Content-Type, Content-Encoding, "
                 "Idempotency-Key");
    }
    sl_http_add_header(r, "Access-Control-Allow-Headers", hdrs);
    sl_http_add_header(r, "Access-Control-Max-Age", "86400");
    r->out.len = 0;
    sl_http_reply(r, 204, NULL);
}

/* Finds the route and runs its handler; fills r's answer. */
static void dispatch(sl_http_req *r)
{
    if (r->method == SL_M_OPTIONS) {
        preflight(r);
        return;
    }
    if (r->body_too_big) {
        sl_http_error(r, 413, "body is larger than %zu bytes; split it into smaller requests",
                      r->srv->cfg.max_request_bytes);
        return;
    }
    sl_str path = r->path;
    if (path.len > 1 && path.ptr[path.len - 1] == '/')
        path.len--;
    unsigned allowed = 0;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        sl_str arg = SL_STR_NULL;
        if (!route_matches(&routes[i], path, &arg))
            continue;
        allowed |= routes[i].methods;
        if (routes[i].methods & r->method) {
            r->route = &routes[i];
            r->route_arg = arg;
            if (!unmetered(routes[i].fn)) {
                /* Endpoints other than events and the probes share one bucket. */
                sl_ratelimit_take(r->srv->api_rl, SL_STR(""), sl_ratelimit_now(), &r->rl);
                r->rl_set = true;
                if (!r->rl.allowed) {
                    atomic_fetch_add_explicit(&r->srv->m.rate_limited, 1, memory_order_relaxed);
                    sl_http_error(r, 429, "too many requests; retry after %llu s",
                                  (unsigned long long)r->rl.retry_after);
                    return;
                }
            }
            routes[i].fn(r);
            if (!r->parked && r->status == 0)
                sl_http_error(r, 500, "internal error: the endpoint gave no answer");
            return;
        }
    }
    if (allowed) {
        char buf[80];
        sl_http_add_header(r, MHD_HTTP_HEADER_ALLOW, method_list(allowed, buf, sizeof(buf)));
        sl_http_error(r, 405, "method not allowed on %.*s; use %s", (int)path.len, path.ptr,
                      method_list(allowed, buf, sizeof(buf)));
        return;
    }
    sl_http_error(r, 404, "no such endpoint: %.*s; see docs/http.md for the API",
                  (int)(path.len > 200 ? 200 : path.len), path.ptr);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **req_cls)
{
    (void)version;
    (void)cls;
    sl_http_req *r = *req_cls;
    if (!r) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        conn_ctx *cc = ci ? ci->socket_context : NULL;
        if (!cc)
            return MHD_NO;
        r = &cc->req;
        reset_request(r);
        r->method = parse_method(method);
        r->path = sl_str_from_cstr(url);
        r->started = sl_ratelimit_now();
        *req_cls = r;
        /* Refuse a declared oversized body before reading it. */
        sl_str cl = sl_http_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl.len) {
            unsigned long long n = strtoull(cl.ptr, NULL, 10);
            if (n > r->body.cap) {
                r->body_too_big = true;
                dispatch(r);
                return send_answer(r);
            }
            /* Size the body once instead of doubling from 256 B (each step copies it). The
             * header is trusted only up to the cap checked above; failure just means growing. */
            if (n > r->body.alloc)
                (void)sl_buf_reserve(&r->body, (size_t)n);
        }
        return MHD_YES;
    }
    if (r->parked) {
        if (atomic_load(&r->woken) && !r->answered)
            return send_answer(r);
        return MHD_YES;
    }
    if (r->answered) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!r->body_too_big && sl_buf_append(&r->body, upload_data, *upload_size) != 0) {
            r->body_too_big = true;
            r->body.len = 0;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    /* A large events body converts to about as many RowBinary bytes: size the output once
     * (a hint; the converter still grows it when needed). */
    if (r->body.len > KEEP_BUF && r->method == SL_M_POST && r->rows.alloc < r->body.len &&
        sl_str_eq_cstr(r->path, "/v0/events"))
        (void)sl_buf_reserve(&r->rows, r->body.len + r->body.len / 8);
    dispatch(r);
    if (r->parked && !answer_ready_or_suspend(r))
        return MHD_YES;
    return send_answer(r);
}

/* ---- lifecycle ---- */

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = sl_xmalloc(n);
    memcpy(p, s, n);
    return p;
}

int sl_server_start(const sl_server_config *cfg, sl_server **out, sl_error *err)
{
    sl_server *srv = sl_xcalloc(1, sizeof(*srv));
    srv->cfg = *cfg;
    sl_server_config *c = &srv->cfg;
    if (!c->max_request_bytes)
        c->max_request_bytes = DEFAULT_MAX_REQUEST;
    if (!c->max_ratio)
        c->max_ratio = 1000;
    if (!c->max_connections)
        c->max_connections = 4096;
    if (!c->connection_timeout_s)
        c->connection_timeout_s = 30;
    if (c->ratelimit.requests_per_s == 0)
        c->ratelimit.requests_per_s = 1000;
    if (c->ratelimit.bytes_per_s == 0)
        c->ratelimit.bytes_per_s = 20e6;
    if (c->wait_timeout_s <= 0)
        c->wait_timeout_s = 10;
    if (c->sql_max_execution_s <= 0)
        c->sql_max_execution_s = 10;
    if (!c->sql_max_result_bytes)
        c->sql_max_result_bytes = 100u << 20;
    if (!c->threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        c->threads = n > 0 ? (unsigned)n : 2;
    }
    srv->host = xstrdup(c->host ? c->host : "127.0.0.1");
    srv->cors_origin = xstrdup(c->cors_origin ? c->cors_origin : "*");
    c->host = srv->host;
    c->cors_origin = srv->cors_origin;
    srv->rl = sl_ratelimit_new(&c->ratelimit);
    if (c->api_requests_per_s == 0)
        c->api_requests_per_s = 1000;
    /* The other endpoints share one bucket (bytes unlimited). */
    sl_ratelimit_config api = {c->api_requests_per_s, -1};
    srv->api_rl = sl_ratelimit_new(&api);
    atomic_store(&srv->accepting, true);
    pthread_mutex_init(&srv->pool_mu, NULL);
    pthread_mutex_init(&srv->sql_mu, NULL);
    pthread_cond_init(&srv->sql_cv, NULL);
    if (!c->sql_queue)
        c->sql_queue = 64;
    pthread_mutex_init(&srv->wait_mu, NULL);
    pthread_cond_init(&srv->wait_cv, NULL);

    /* The SQL workers first: a query arriving as soon as the daemon listens finds them. */
    int rc = sl_http_sql_start(srv, err);
    if (rc) {
        sl_server_free(srv);
        return rc;
    }

    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, srv->host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(c->port);
    } else if (inet_pton(AF_INET6, srv->host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(c->port);
        flags |= MHD_USE_IPv6;
    } else {
        sl_error_setf(err, SL_EINVAL, 0, "cannot listen on '%s': give an IPv4 or IPv6 address",
                      srv->host);
        sl_server_free(srv);
        return SL_EINVAL;
    }

    srv->daemon = MHD_start_daemon(
        flags, c->port, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, c->threads, MHD_OPTION_CONNECTION_LIMIT, c->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, c->connection_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        MHD_POOL_BYTES, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv, MHD_OPTION_UNESCAPE_CALLBACK, unescape,
        srv, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, MHD_OPTION_END);
    if (!srv->daemon) {
        sl_error_setf(err, SL_EIO, 0, "cannot listen on %s:%u: %s", srv->host, c->port,
                      errno ? strerror(errno) : "libmicrohttpd failed to start");
        sl_server_free(srv);
        return SL_EIO;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : c->port;
    if (pthread_create(&srv->timer, NULL, timer_main, srv) != 0) {
        sl_error_set(err, SL_ENOMEM, "cannot start the timer thread", 0);
        sl_server_free(srv);
        return SL_ENOMEM;
    }
    srv->timer_started = true;
    *out = srv;
    return 0;
}

uint16_t sl_server_port(const sl_server *srv)
{
    return srv->port;
}

void sl_server_quiesce(sl_server *srv)
{
    atomic_store(&srv->accepting, false);
}

void sl_server_free(sl_server *srv)
{
    if (!srv)
        return;
    atomic_store(&srv->accepting, false);
    sl_http_sql_stop(srv);
    if (srv->timer_started) {
        pthread_mutex_lock(&srv->wait_mu);
        srv->timer_stop = true;
        sweep_waiters(srv, true);
        pthread_cond_signal(&srv->wait_cv);
        pthread_mutex_unlock(&srv->wait_mu);
        pthread_join(srv->timer, NULL);
    }
    if (srv->daemon) {
        /* Parked requests are answered by the batcher (stopped before this); give the pool
         * threads a moment to send those answers before the daemon goes. */
        for (int i = 0; i < 100 && atomic_load(&srv->parked) > 0; i++)
            usleep(10000);
        usleep(20000);
        MHD_stop_daemon(srv->daemon);
    }
    for (size_t i = 0; i < srv->n_pool; i++)
        sl_convert_state_free(srv->pool[i]);
    free(srv->pool);
    sl_ratelimit_free(srv->rl);
    sl_ratelimit_free(srv->api_rl);
    pthread_mutex_destroy(&srv->pool_mu);
    pthread_mutex_destroy(&srv->sql_mu);
    pthread_cond_destroy(&srv->sql_cv);
    pthread_mutex_destroy(&srv->wait_mu);
    pthread_cond_destroy(&srv->wait_cv);
    free(srv->host);
    free(srv->cors_origin);
    free(srv);
}
