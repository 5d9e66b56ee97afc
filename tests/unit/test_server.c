/* The HTTP server end to end in one process: real libmicrohttpd on a free loopback port, real
 * tokens, catalog, batcher and converter, with in-memory fake sinks instead of ClickHouse.
 * Requests go through libcurl; status codes, headers and exact JSON bodies are checked. */
#include "fake_sink.c"
#include "sl_batcher.h"
#include "sl_catalog.h"
#include "sl_http.h"
#include "sl_server.h"
#include "sl_tokens.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define ADMIN "test-admin-secret"

typedef struct {
    char dir[64];
    fake_sink *ddl, *ins, *sql;
    sl_tokens *tokens;
    sl_catalog *cat;
    sl_batcher *batcher;
    sl_server *srv;
    char base[64];
} fixture;

static fixture fx;

static void start(sl_server_config *sc)
{
    sl_error err = {0};
    snprintf(fx.dir, sizeof fx.dir, "/tmp/sl_srv_XXXXXX");
    cr_assert(mkdtemp(fx.dir));
    fx.ddl = fake_sink_new();
    fx.ins = fake_sink_new();
    fx.sql = fake_sink_new();
    cr_assert_eq(sl_tokens_open(fx.dir, &fx.tokens, &err), 0, "%s", err.msg);
    char secret[SL_TOKEN_SECRET_MAX];
    bool created;
    cr_assert_eq(sl_tokens_ensure_admin(fx.tokens, ADMIN, secret, sizeof secret, &created, &err), 0,
                 "%s", err.msg);
    cr_assert_eq(sl_catalog_open(fx.dir, &fx.ddl->base, fx.tokens, &fx.cat, &err), 0, "%s",
                 err.msg);
    sl_batcher_config bc;
    sl_batcher_config_default(&bc);
    bc.flush_interval_ms = 50;
    cr_assert_eq(sl_batcher_new(&bc, &fx.ins->base, &fx.batcher, &err), 0, "%s", err.msg);
    sc->host = "127.0.0.1";
    sc->port = 0;
    sc->threads = 2;
    sc->catalog = fx.cat;
    sc->tokens = fx.tokens;
    sc->batcher = fx.batcher;
    static sl_sink *sql_sinks[1];
    sql_sinks[0] = &fx.sql->base;
    sc->sql_sinks = sql_sinks;
    sc->n_sql_sinks = 1;
    sc->log_level = SL_LOG_ERROR;
    cr_assert_eq(sl_server_start(sc, &fx.srv, &err), 0, "%s", err.msg);
    snprintf(fx.base, sizeof fx.base, "http://127.0.0.1:%u", sl_server_port(fx.srv));
}

static void start_default(void)
{
    sl_server_config sc = {0};
    start(&sc);
}

static void stop(void)
{
    sl_error err = {0};
    sl_server_quiesce(fx.srv);
    sl_batcher_stop(fx.batcher, 2000, &err);
    sl_server_free(fx.srv);
    sl_batcher_free(fx.batcher);
    sl_catalog_free(fx.cat);
    sl_tokens_free(fx.tokens);
    sl_sink_close(&fx.ddl->base);
    sl_sink_close(&fx.ins->base);
    sl_sink_close(&fx.sql->base);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", fx.dir);
    cr_assert_eq(system(cmd), 0);
}

typedef struct {
    long status;
    sl_buf body;
    sl_buf headers;
} resp;

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    sl_buf_append(ud, p, size * n);
    return size * n;
}

/* Sends one request; `headers` is NULL-terminated (may be NULL). Body NUL-terminated. */
static resp http(const char *method, const char *path, const char *const *headers, const void *body,
                 size_t len)
{
    resp r = {0};
    sl_buf_init(&r.body, 0);
    sl_buf_init(&r.headers, 0);
    CURL *c = curl_easy_init();
    char url[4096];
    snprintf(url, sizeof url, "%s%s", fx.base, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    struct curl_slist *hl = curl_slist_append(NULL, "Expect:");
    for (size_t i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    CURLcode rc = curl_easy_perform(c);
    cr_assert_eq(rc, CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    sl_buf_append(&r.body, "", 1);
    r.body.len--;
    sl_buf_append(&r.headers, "", 1);
    return r;
}

static resp post(const char *path, const char *body)
{
    return http("POST", path, NULL, body, strlen(body));
}

static resp get(const char *path)
{
    return http("GET", path, NULL, NULL, 0);
}

static const char *B(const resp *r)
{
    return (const char *)r->body.data;
}

/* The value of response header `name` (case-insensitive), copied into a static buffer. */
static const char *header(const resp *r, const char *name)
{
    static char val[256];
    const char *p = (const char *)r->headers.data;
    size_t n = strlen(name);
    while (p && *p) {
        const char *eol = strstr(p, "\r\n");
        if (!eol)
            break;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            size_t len = (size_t)(eol - v);
            if (len >= sizeof val)
                len = sizeof val - 1;
            memcpy(val, v, len);
            val[len] = '\0';
            return val;
        }
        p = eol + 2;
    }
    return NULL;
}

static void done(resp *r)
{
    sl_buf_free(&r->body);
    sl_buf_free(&r->headers);
}

#define EXPECT(r, code, json)                                                                      \
    do {                                                                                           \
        cr_assert_eq((r).status, code, "status %ld, body %s", (r).status, B(&(r)));                \
        if (json)                                                                                  \
            cr_assert_str_eq(B(&(r)), (const char *)(json));                                       \
    } while (0)

TestSuite(server, .init = start_default, .fini = stop, .timeout = 60);

Test(server, health_and_common_headers)
{
    resp r = get("/v0/health");
    EXPECT(r, 200, "{\"status\":\"ok\"}");
    cr_assert_str_eq(header(&r, "Content-Type"), "application/json");
    cr_assert_str_eq(header(&r, "Access-Control-Allow-Origin"), "*");
    cr_assert_str_eq(header(&r, "X-RateLimit-Limit"), "1000");
    /* Probes take nothing from the API bucket. */
    cr_assert_str_eq(header(&r, "X-RateLimit-Remaining"), "1000");
    cr_assert_not_null(header(&r, "X-RateLimit-Reset"));
    cr_assert_null(header(&r, "Retry-After"));
    done(&r);
}

Test(server, unknown_endpoint_and_method)
{
    resp r = get("/v0/nope");
    EXPECT(r, 404, "{\"error\":\"no such endpoint: /v0/nope; see docs/http.md for the API\"}");
    done(&r);
    r = get("/v0/events");
    EXPECT(r, 405, "{\"error\":\"method not allowed on /v0/events; use POST\"}");
    cr_assert_str_eq(header(&r, "Allow"), "POST");
    done(&r);
    r = http("DELETE", "/v0/datasources", NULL, NULL, 0);
    EXPECT(r, 405, NULL);
    cr_assert_str_eq(header(&r, "Allow"), "GET, HEAD, POST");
    done(&r);
}

Test(server, cors_preflight)
{
    const char *h[] = {"Origin: https://example.com", "Access-Control-Request-Method: POST",
                       "Access-Control-Request-Headers: authorization, content-encoding", NULL};
    resp r = http("OPTIONS", "/v0/events?name=x", h, NULL, 0);
    EXPECT(r, 204, "");
    cr_assert_str_eq(header(&r, "Access-Control-Allow-Origin"), "*");
    cr_assert_str_eq(header(&r, "Access-Control-Allow-Methods"), "GET, POST, DELETE, OPTIONS");
    cr_assert_str_eq(header(&r, "Access-Control-Allow-Headers"), "authorization, content-encoding");
    cr_assert_str_eq(header(&r, "Access-Control-Max-Age"), "86400");
    done(&r);
}

Test(server, events_errors)
{
    resp r = post("/v0/events?token=" ADMIN, "{\"a\":1}");
    EXPECT(r, 400, "{\"error\":\"missing 'name': POST /v0/events?name=<data source>\"}");
    done(&r);
    r = post("/v0/events?name=t", "{\"a\":1}");
    EXPECT(r, 403,
           "{\"error\":\"missing token: send 'Authorization: Bearer <token>' or "
           "'?token=<token>'\"}");
    done(&r);
    r = post("/v0/events?name=t&token=wrong", "{\"a\":1}");
    EXPECT(r, 403, "{\"error\":\"invalid token: no token has this secret\"}");
    done(&r);
    r = post("/v0/events?name=t&token=" ADMIN, "");
    EXPECT(r, 400, "{\"error\":\"empty body: send JSON objects, one per line (NDJSON)\"}");
    done(&r);
    r = post("/v0/events?name=t&token=" ADMIN, "\n\r\n  \n");
    EXPECT(r, 400, "{\"error\":\"empty body: send JSON objects, one per line (NDJSON)\"}");
    done(&r);
    r = post("/v0/events?name=bad-name&token=" ADMIN, "{\"a\":1}");
    EXPECT(r, 400, NULL);
    cr_assert(strstr(B(&r), "invalid data source name 'bad-name'"), "%s", B(&r));
    done(&r);
    const char *br[] = {"Content-Encoding: br", NULL};
    r = http("POST", "/v0/events?name=t&token=" ADMIN, br, "{}", 2);
    EXPECT(r, 400,
           "{\"error\":\"unsupported Content-Encoding 'br'; send the body uncompressed or with "
           "one of gzip, deflate, zstd\"}");
    done(&r);
    const char *gz[] = {"Content-Encoding: gzip", NULL};
    r = http("POST", "/v0/events?name=t&token=" ADMIN, gz, "{\"a\":1}", 7);
    EXPECT(r, 400, NULL);
    cr_assert(strstr(B(&r), "not valid gzip"), "%s", B(&r));
    done(&r);
}

Test(server, auto_create_and_append)
{
    resp r =
        post("/v0/events?name=simple_events&token=" ADMIN "&from=js&cli_version=1", "{\"a\":1}");
    EXPECT(r, 202, "{\"successful_rows\":1,\"quarantined_rows\":0}");
    cr_assert_str_eq(header(&r, "X-RateLimit-Limit"), "1000");
    cr_assert_str_eq(header(&r, "X-RateLimit-Remaining"), "999");
    done(&r);
    cr_assert_eq(
        fake_sink_count_stmts(fx.ddl, "CREATE TABLE IF NOT EXISTS `default`.`simple_events`"), 1);
    cr_assert(fake_sink_wait_inserts(fx.ins, 1, 5000));
    cr_assert_eq(fake_sink_count_inserts(fx.ins, "simple_events"), 1);

    /* Bearer form; NDJSON with CRLF, blank lines, no final newline, one invalid line. */
    const char *auth[] = {"Authorization: Bearer " ADMIN, NULL};
    const char *body = "{\"a\":2}\r\n\r\n{\"a\":3}\n\nnot json\n{\"a\":4}";
    r = http("POST", "/v0/events?name=simple_events", auth, body, strlen(body));
    EXPECT(r, 202, "{\"successful_rows\":3,\"quarantined_rows\":1}");
    done(&r);
    /* A top-level array is rows too. */
    r = http("POST", "/v0/events?name=simple_events", auth, "[{\"a\":5},{\"a\":6}]", 17);
    EXPECT(r, 202, "{\"successful_rows\":2,\"quarantined_rows\":0}");
    done(&r);
    cr_assert(fake_sink_wait_inserts(fx.ins, 3, 5000));
    cr_assert_eq(fake_sink_count_inserts(fx.ins, "simple_events_quarantine"), 1);
}

static sl_buf zcompress(const char *s, int wbits)
{
    sl_buf out;
    sl_buf_init(&out, 0);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    deflateInit2(&zs, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY);
    sl_buf_reserve(&out, 4096);
    zs.next_in = (unsigned char *)(uintptr_t)s;
    zs.avail_in = (uInt)strlen(s);
    zs.next_out = out.data;
    zs.avail_out = 4096;
    deflate(&zs, Z_FINISH);
    out.len = 4096 - zs.avail_out;
    deflateEnd(&zs);
    return out;
}

Test(server, compressed_bodies)
{
    const char *rows = "{\"a\":1}\n{\"a\":2}\n";
    const char *gz[] = {"Content-Encoding: gzip", NULL};
    const char *df[] = {"Content-Encoding: deflate", NULL};
    const char *zs[] = {"Content-Encoding: zstd", NULL};
    sl_buf g = zcompress(rows, 31), d = zcompress(rows, 15);
    resp r = http("POST", "/v0/events?name=c&token=" ADMIN, gz, g.data, g.len);
    EXPECT(r, 202, "{\"successful_rows\":2,\"quarantined_rows\":0}");
    done(&r);
    r = http("POST", "/v0/events?name=c&token=" ADMIN, df, d.data, d.len);
    EXPECT(r, 202, "{\"successful_rows\":2,\"quarantined_rows\":0}");
    done(&r);
    char z[256];
    size_t zl = ZSTD_compress(z, sizeof z, rows, strlen(rows), 1);
    r = http("POST", "/v0/events?name=c&token=" ADMIN, zs, z, zl);
    EXPECT(r, 202, "{\"successful_rows\":2,\"quarantined_rows\":0}");
    done(&r);
    sl_buf_free(&g);
    sl_buf_free(&d);
}

Test(server, wait_true_commits)
{
    resp r = post("/v0/events?name=w&wait=true&token=" ADMIN, "{\"a\":1}");
    EXPECT(r, 200, "{\"successful_rows\":1,\"quarantined_rows\":0}");
    done(&r);
    /* 200 means committed: the insert is already recorded. */
    cr_assert_eq(fake_sink_count_inserts(fx.ins, "`w`"), 1);
    r = post("/v0/events?name=w&wait=1&token=" ADMIN, "{\"a\":2}");
    EXPECT(r, 200, "{\"successful_rows\":1,\"quarantined_rows\":0}");
    done(&r);
    r = post("/v0/events?name=w&wait=false&token=" ADMIN, "{\"a\":3}");
    EXPECT(r, 202, NULL);
    done(&r);
}

Test(server, wait_true_insert_fails)
{
    resp r = post("/v0/events?name=f&token=" ADMIN, "{\"a\":1}");
    EXPECT(r, 202, NULL);
    done(&r);
    cr_assert(fake_sink_wait_inserts(fx.ins, 1, 5000));
    fake_sink_fail_inserts(fx.ins, 1);
    r = post("/v0/events?name=f&wait=true&token=" ADMIN, "{\"a\":2}");
    EXPECT(r, 500, NULL);
    cr_assert(strstr(B(&r), "fake: insert refused; the rows are accepted, do not send them again"),
              "%s", B(&r));
    done(&r);
    /* The retry commits them. */
    cr_assert(fake_sink_wait_inserts(fx.ins, 2, 5000));
}

Test(server, unknown_datasource_without_create_scope)
{
    resp r = post("/v0/tokens?name=app&scope=DATASOURCES:APPEND:other&token=" ADMIN, "");
    EXPECT(r, 200, NULL);
    char secret[128];
    const char *t = strstr(B(&r), "\"token\":\"");
    cr_assert_not_null(t);
    t += 9;
    size_t n = (size_t)(strchr(t, '"') - t);
    memcpy(secret, t, n);
    secret[n] = '\0';
    done(&r);
    char path[256];
    snprintf(path, sizeof path, "/v0/events?name=other&token=%s", secret);
    r = post(path, "{\"a\":1}");
    EXPECT(r, 404,
           "{\"error\":\"data source 'other' does not exist; create it (POST /v0/datasources) "
           "or send with a token that has DATASOURCES:CREATE to create it from the rows\"}");
    done(&r);
    snprintf(path, sizeof path, "/v0/events?name=elsewhere&token=%s", secret);
    r = post(path, "{\"a\":1}");
    EXPECT(r, 403, NULL);
    cr_assert(strstr(B(&r), "DATASOURCES:APPEND:elsewhere"), "%s", B(&r));
    done(&r);
}

Test(server, datasources_api)
{
    const char *file = "SCHEMA >\n    `ts` DateTime `json:$.ts`,\n    `n` Int32 `json:$.n`\n\n"
                       "ENGINE \"MergeTree\"\nENGINE_SORTING_KEY \"ts\"\n";
    resp r = post("/v0/datasources?name=ev&token=" ADMIN, file);
    EXPECT(r, 200, NULL);
    cr_assert(strstr(B(&r), "\"created\":true"), "%s", B(&r));
    done(&r);
    r = post("/v0/datasources?name=ev&token=" ADMIN, file);
    EXPECT(r, 200, NULL);
    cr_assert(strstr(B(&r), "\"created\":false"), "%s", B(&r));
    done(&r);
    r = post("/v0/datasources?name=ev&token=" ADMIN, "SCHEMA >\n    `x` String\n");
    EXPECT(r, 409, NULL);
    done(&r);
    r = post("/v0/datasources?name=sc&schema=a+Int64+%60json%3A%24.a%60&engine_sorting_key=a"
             "&token=" ADMIN,
             "");
    EXPECT(r, 200, NULL);
    done(&r);
    r = get("/v0/datasources/ev.datasource?token=" ADMIN);
    EXPECT(r, 200, NULL);
    cr_assert_str_eq(header(&r, "Content-Type"), "text/plain; charset=utf-8");
    cr_assert(strstr(B(&r), "`n` Int32 `json:$.n`"), "%s", B(&r));
    done(&r);
    r = get("/v0/datasources/ev?token=" ADMIN);
    EXPECT(r, 200, NULL);
    cr_assert(strstr(B(&r), "{\"name\":\"n\",\"type\":\"Int32\",\"jsonpath\":\"$.n\","
                            "\"default_value\":null,\"codec\":null}"),
              "%s", B(&r));
    done(&r);
    r = get("/v0/datasources?token=" ADMIN);
    EXPECT(r, 200, NULL);
    cr_assert(strstr(B(&r), "{\"datasources\":[{\"name\":\"ev\""), "%s", B(&r));
    cr_assert(strstr(B(&r), "{\"name\":\"sc\""), "%s", B(&r));
    done(&r);
    r = post("/v0/datasources/ev/truncate?token=" ADMIN, "");
    EXPECT(r, 200, "{\"name\":\"ev\",\"truncated\":true}");
    done(&r);
    r = http("DELETE", "/v0/datasources/ev?token=" ADMIN, NULL, NULL, 0);
    EXPECT(r, 200, "{\"name\":\"ev\",\"deleted\":true}");
    done(&r);
    r = get("/v0/datasources/ev?token=" ADMIN);
    EXPECT(r, 404, "{\"error\":\"data source 'ev' does not exist\"}");
    done(&r);
    r = post("/v0/datasources?name=bad&token=" ADMIN, "SCHEMA >\n    `x` Nope\n");
    EXPECT(r, 400, NULL);
    done(&r);
}

Test(server, tokens_api)
{
    resp r = post("/v0/tokens?name=reader&scope=DATASOURCES:READ:ev&token=" ADMIN, "");
    EXPECT(r, 200, NULL);
    cr_assert(strstr(B(&r), "\"name\":\"reader\""), "%s", B(&r));
    cr_assert(strstr(B(&r), "\"token\":\"sl."), "%s", B(&r));
    done(&r);
    r = get("/v0/tokens?token=" ADMIN);
    EXPECT(r, 200, NULL);
    cr_assert(strstr(B(&r), "\"reader\""), "%s", B(&r));
    cr_assert_null(strstr(B(&r), "sl."), "%s", B(&r));
    done(&r);
    r = post("/v0/tokens?name=x&token=" ADMIN, "");
    EXPECT(r, 400, NULL);
    done(&r);
    r = http("DELETE", "/v0/tokens/reader?token=" ADMIN, NULL, NULL, 0);
    EXPECT(r, 200, "{\"name\":\"reader\",\"deleted\":true}");
    done(&r);
    r = http("DELETE", "/v0/tokens/reader?token=" ADMIN, NULL, NULL, 0);
    EXPECT(r, 404, "{\"error\":\"token 'reader' does not exist\"}");
    done(&r);
    r = get("/v0/tokens?token=nope");
    EXPECT(r, 403, NULL);
    done(&r);
}

Test(server, sql)
{
    /* The fake answers every statement with this text: a recognisable AST for the check. */
    snprintf(fx.sql->answer, sizeof fx.sql->answer, "SelectWithUnionQuery (children 1)\n");
    resp r = get("/v0/sql?q=SELECT+1&token=" ADMIN);
    EXPECT(r, 200, "SelectWithUnionQuery (children 1)\n");
    cr_assert_str_eq(header(&r, "Content-Type"), "text/plain; charset=utf-8");
    done(&r);
    cr_assert_eq(fake_sink_count_stmts(fx.sql, "EXPLAIN AST SELECT 1"), 1);
    cr_assert_eq(fake_sink_count_stmts(fx.sql, "SELECT 1"), 2);
    r = http("POST", "/v0/sql?token=" ADMIN, NULL, "SELECT 2;\n", 10);
    EXPECT(r, 200, NULL);
    done(&r);
    /* An answer that is not an AST (e.g. in another format) is refused. */
    snprintf(fx.sql->answer, sizeof fx.sql->answer, "{\"rows\":1}");
    r = get("/v0/sql?q=SELECT+3&token=" ADMIN);
    EXPECT(r, 400, NULL);
    done(&r);
    r = get("/v0/sql?q=DROP+TABLE+x&token=" ADMIN);
    EXPECT(r, 403,
           "{\"error\":\"/v0/sql is read-only: only SELECT, SHOW, DESCRIBE and EXPLAIN run "
           "here\"}");
    done(&r);
    r = get("/v0/sql?token=" ADMIN);
    EXPECT(r, 400,
           "{\"error\":\"missing query: GET /v0/sql?q=<SQL> or POST the SQL as the body\"}");
    done(&r);
    r = get("/v0/sql?q=SELECT+1");
    EXPECT(r, 403, NULL);
    done(&r);
}

/* ---- /v0/sql access checks on real ClickHouse output (ClickHouse 26.7, TSV) ---- */

static bool may_read_pa(void *ud, sl_str ds)
{
    (void)ud;
    return sl_str_eq_cstr(ds, "pa");
}

static int ast_check(const char *ast, bool admin, sl_http_sql_ast *info, char *why)
{
    return sl_http_sql_check_ast(sl_str_from_cstr(ast), admin, info, why, 512);
}

static int tree_check(const char *tree, char *why)
{
    return sl_http_sql_check_tree(sl_str_from_cstr(tree), may_read_pa, NULL, why, 512);
}

Test(sql_check, ast_table_functions_and_functions)
{
    char why[512];
    sl_http_sql_ast info;
    static const char merge[] = "SelectWithUnionQuery (children 1)\n"
                                " ExpressionList (children 1)\n"
                                "  SelectQuery (children 2)\n"
                                "   ExpressionList (children 1)\n"
                                "    Asterisk\n"
                                "   TablesInSelectQuery (children 1)\n"
                                "    TablesInSelectQueryElement (children 1)\n"
                                "     TableExpression (children 1)\n"
                                "      Function merge (children 1)\n"
                                "       ExpressionList (children 1)\n"
                                "        Literal '^pb$'\n";
    cr_assert_eq(ast_check(merge, false, &info, why), 403);
    cr_assert(strstr(why, "table function merge"), "%s", why);
    cr_assert_eq(ast_check(merge, true, &info, why), 0, "%s", why);
    cr_assert(sl_str_eq_cstr(info.root, "SelectWithUnionQuery"));
    cr_assert(!info.has_format && !info.has_subquery);

    static const char numbers[] = "SelectWithUnionQuery (children 2)\n"
                                  " ExpressionList (children 1)\n"
                                  "  SelectQuery (children 2)\n"
                                  "   ExpressionList (children 1)\n"
                                  "    Asterisk\n"
                                  "   TablesInSelectQuery (children 1)\n"
                                  "    TablesInSelectQueryElement (children 1)\n"
                                  "     TableExpression (children 1)\n"
                                  "      Function numbers (children 1)\n"
                                  "       ExpressionList (children 1)\n"
                                  "        Literal UInt64_3\n"
                                  " Identifier CSV\n";
    cr_assert_eq(ast_check(numbers, false, &info, why), 0, "%s", why);
    cr_assert(info.has_format);

    /* file() reads host files: refused to every token; dictGet only to scoped ones. */
    static const char file[] = "SelectWithUnionQuery (children 1)\n"
                               " ExpressionList (children 1)\n"
                               "  SelectQuery (children 1)\n"
                               "   ExpressionList (children 1)\n"
                               "    Function file (children 1)\n"
                               "     ExpressionList (children 1)\n"
                               "      Literal '/etc/passwd'\n";
    cr_assert_eq(ast_check(file, true, &info, why), 403);
    cr_assert_eq(ast_check(file, false, &info, why), 403);
    static const char dict[] = "SelectWithUnionQuery (children 1)\n"
                               " ExpressionList (children 1)\n"
                               "  SelectQuery (children 1)\n"
                               "   ExpressionList (children 1)\n"
                               "    Function dictGetString (children 1)\n"
                               "     ExpressionList (children 1)\n"
                               "      Subquery (children 1)\n";
    cr_assert_eq(ast_check(dict, false, &info, why), 403);
    cr_assert(strstr(why, "dictGetString"), "%s", why);
    cr_assert_eq(ast_check(dict, true, &info, why), 0);
    cr_assert(info.has_subquery);

    /* Output in another format (a FORMAT clause left in) is not an AST. */
    cr_assert_eq(ast_check("\"SelectWithUnionQuery (children 1)\"\n", false, &info, why), 400);
    cr_assert_eq(ast_check("", true, &info, why), 400);
    cr_assert_eq(ast_check("SelectWithUnionQuery\nSelectWithUnionQuery\n", true, &info, why), 400);
    cr_assert_eq(ast_check("SelectWithUnionQuery\n   ExpressionList\n", true, &info, why), 400);
}

Test(sql_check, ast_describe_and_show_create)
{
    char why[512];
    sl_http_sql_ast info;
    cr_assert_eq(ast_check("DescribeQuery (children 2)\n TableExpression (children 1)\n"
                           "  TableIdentifier default.pa\n Identifier TSV\n",
                           false, &info, why),
                 0);
    cr_assert(sl_str_eq_cstr(info.db, "default") && sl_str_eq_cstr(info.table, "pa"));
    cr_assert_eq(ast_check("DescribeQuery (children 1)\n TableExpression (children 1)\n"
                           "  TableIdentifier pa\n",
                           false, &info, why),
                 0);
    cr_assert(sl_str_eq_cstr(info.db, "default") && sl_str_eq_cstr(info.table, "pa"));
    /* DESCRIBE (subquery) names no table: not one of the shapes allowed. */
    cr_assert_eq(ast_check("DescribeQuery (children 1)\n TableExpression (children 1)\n"
                           "  Subquery (children 1)\n   SelectWithUnionQuery (children 1)\n",
                           false, &info, why),
                 0);
    cr_assert_eq(info.table.len, 0);
    cr_assert_eq(
        ast_check("ShowCreateTableQuery  pa (children 1)\n Identifier pa\n", false, &info, why), 0);
    cr_assert(sl_str_eq_cstr(info.db, "default") && sl_str_eq_cstr(info.table, "pa"));
    cr_assert_eq(ast_check("ShowCreateTableQuery system one (children 2)\n Identifier system\n"
                           " Identifier one\n",
                           false, &info, why),
                 0);
    cr_assert(sl_str_eq_cstr(info.db, "system") && sl_str_eq_cstr(info.table, "one"));
    cr_assert_eq(ast_check("ShowTables\n", false, &info, why), 0);
    cr_assert(sl_str_eq_cstr(info.root, "ShowTables") && info.table.len == 0);
}

Test(sql_check, tables)
{
    char why[512];
    cr_assert_eq(sl_http_sql_check_table(SL_STR("default"), SL_STR("pa"), may_read_pa, NULL, why,
                                         sizeof why),
                 0);
    cr_assert_eq(sl_http_sql_check_table(SL_STR("default"), SL_STR("pa_quarantine"), may_read_pa,
                                         NULL, why, sizeof why),
                 0);
    cr_assert_eq(sl_http_sql_check_table(SL_STR("system"), SL_STR("one"), may_read_pa, NULL, why,
                                         sizeof why),
                 0);
    cr_assert_eq(sl_http_sql_check_table(SL_STR("default"), SL_STR("pb"), may_read_pa, NULL, why,
                                         sizeof why),
                 403);
    cr_assert_str_eq(why, "this token may not read pb; it needs DATASOURCES:READ:pb (or ADMIN)");
    cr_assert_eq(sl_http_sql_check_table(SL_STR("system"), SL_STR("tables"), may_read_pa, NULL, why,
                                         sizeof why),
                 403);
    cr_assert_eq(
        sl_http_sql_check_table(SL_STR("other"), SL_STR("pa"), may_read_pa, NULL, why, sizeof why),
        403);
}

Test(sql_check, query_tree)
{
    char why[512];
    static const char one[] = "QUERY id: 0\n"
                              "  PROJECTION COLUMNS\n"
                              "    1 UInt8\n"
                              "  PROJECTION\n"
                              "    LIST id: 1, nodes: 1\n"
                              "      CONSTANT id: 2, constant_value: UInt64_1, "
                              "constant_value_type: UInt8\n"
                              "  JOIN TREE\n"
                              "    TABLE id: 3, alias: __table1, table_name: system.one\n";
    cr_assert_eq(tree_check(one, why), 0, "%s", why);
    /* IN <table> and scalar subqueries show their tables too. */
    static const char in[] = "QUERY id: 0\n"
                             "  JOIN TREE\n"
                             "    TABLE id: 3, alias: __table1, table_name: default.pa\n"
                             "  WHERE\n"
                             "    FUNCTION id: 5, function_name: in, function_type: ordinary, "
                             "result_type: UInt8\n"
                             "      ARGUMENTS\n"
                             "        LIST id: 6, nodes: 2\n"
                             "          COLUMN id: 7, column_name: s, result_type: String, "
                             "source_id: 3\n"
                             "          TABLE id: 8, alias: __table2, table_name: default.pb\n";
    cr_assert_eq(tree_check(in, why), 403);
    cr_assert(strstr(why, "DATASOURCES:READ:pb"), "%s", why);
    static const char merge[] = "QUERY id: 0\n"
                                "  JOIN TREE\n"
                                "    TABLE_FUNCTION id: 3, alias: __table1, "
                                "table_function_name: merge\n";
    cr_assert_eq(tree_check(merge, why), 403);
    static const char gen[] = "UNION id: 0\n"
                              "    TABLE_FUNCTION id: 3, alias: __table1, "
                              "table_function_name: numbers\n";
    cr_assert_eq(tree_check(gen, why), 0, "%s", why);
    /* A name that fakes a second marker, or a node without its name, is refused. */
    static const char fake[] = "QUERY id: 0\n"
                               "    TABLE id: 3, alias: x, table_name: default.pa, table_name: "
                               "default.pb\n";
    cr_assert_eq(tree_check(fake, why), 403);
    cr_assert_eq(tree_check("QUERY id: 0\n    TABLE id: 3, alias: x\n", why), 403);
    cr_assert_eq(tree_check("QUERY id: 0\n    FUNCTION id: 3, function_name: joinGet\n", why), 403);
    /* A scalar subquery reduced to __getScalar('<hash>') hides its tables. */
    static const char scalar[] = "QUERY id: 0\n"
                                 "      FUNCTION id: 2, function_name: __getScalar, "
                                 "function_type: ordinary, result_type: Array(String)\n"
                                 "    TABLE id: 5, alias: __table1, table_name: system.one\n";
    cr_assert_eq(tree_check(scalar, why), 403);
    cr_assert(strstr(why, "scalar subquery"), "%s", why);
    /* Not a query tree in TSV (a FORMAT clause changed it): refused. */
    cr_assert_eq(tree_check("{\"data\":[]}", why), 400);
    cr_assert_eq(tree_check("", why), 400);
}

Test(server, metrics_and_ready)
{
    resp r = post("/v0/events?name=m&token=" ADMIN, "{\"a\":1}\n{\"a\":2}");
    EXPECT(r, 202, NULL);
    done(&r);
    r = get("/metrics");
    EXPECT(r, 200, NULL);
    cr_assert(strstr(B(&r), "sluice_rows_accepted_total 2\n"), "%s", B(&r));
    cr_assert(strstr(B(&r), "sluice_http_requests_total{code=\"2xx\"} 1\n"), "%s", B(&r));
    cr_assert(strstr(B(&r), "\nsluice_wal_disk_bytes "), "%s", B(&r));
    cr_assert(strstr(B(&r), "\nsluice_oldest_unflushed_seconds "), "%s", B(&r));
    done(&r);
    r = get("/v0/ready");
    EXPECT(r, 200, NULL);
    cr_assert(strstr(B(&r), "\"wal_disk_bytes\":"), "%s", B(&r));
    cr_assert(strstr(B(&r), "\"oldest_unflushed_ms\":"), "%s", B(&r));
    done(&r);
    r = http("HEAD", "/v0/health", NULL, NULL, 0);
    EXPECT(r, 200, "");
    done(&r);
}

Test(server, quiesced_answers_503)
{
    sl_server_quiesce(fx.srv);
    resp r = post("/v0/events?name=q&token=" ADMIN, "{\"a\":1}");
    EXPECT(r, 503,
           "{\"error\":\"the server is shutting down and accepts no writes; retry later\"}");
    cr_assert_str_eq(header(&r, "Retry-After"), "1");
    done(&r);
    r = get("/v0/ready");
    EXPECT(r, 503, "{\"error\":\"shutting down\"}");
    done(&r);
}

/* Suites with their own configuration. */

static void start_small(void)
{
    sl_server_config sc = {0};
    sc.max_request_bytes = 4096;
    sc.ratelimit.requests_per_s = 3;
    sc.api_requests_per_s = 2;
    sc.wait_timeout_s = 0.3;
    sc.cors_origin = "https://app.example";
    start(&sc);
}

TestSuite(limits, .init = start_small, .fini = stop, .timeout = 60);

Test(limits, body_too_large)
{
    char *big = malloc(10000);
    memset(big, ' ', 10000);
    memcpy(big, "{\"a\":1}", 7);
    resp r = http("POST", "/v0/events?name=b&token=" ADMIN, NULL, big, 10000);
    EXPECT(r, 413,
           "{\"error\":\"body is larger than 4096 bytes; split it into smaller requests\"}");
    cr_assert_str_eq(header(&r, "Access-Control-Allow-Origin"), "https://app.example");
    done(&r);
    /* Decompressed past the cap. */
    big[9999] = '\0';
    sl_buf g = zcompress(big, 31);
    const char *gz[] = {"Content-Encoding: gzip", NULL};
    r = http("POST", "/v0/events?name=b&token=" ADMIN, gz, g.data, g.len);
    EXPECT(r, 413, NULL);
    cr_assert(strstr(B(&r), "after decompression"), "%s", B(&r));
    done(&r);
    sl_buf_free(&g);
    free(big);
}

Test(limits, rate_limited)
{
    resp r;
    for (int i = 0; i < 3; i++) {
        r = post("/v0/events?name=rl&token=" ADMIN, "{\"a\":1}");
        EXPECT(r, 202, NULL);
        done(&r);
    }
    r = post("/v0/events?name=rl&token=" ADMIN, "{\"a\":1}");
    EXPECT(r, 429, NULL);
    cr_assert(strstr(B(&r), "rate limit of data source 'rl' reached"), "%s", B(&r));
    cr_assert_str_eq(header(&r, "X-RateLimit-Limit"), "3");
    cr_assert_str_eq(header(&r, "X-RateLimit-Remaining"), "0");
    cr_assert_str_eq(header(&r, "Retry-After"), "1");
    done(&r);
    /* Another data source has its own budget. */
    r = post("/v0/events?name=rl2&token=" ADMIN, "{\"a\":1}");
    EXPECT(r, 202, NULL);
    done(&r);
}

Test(limits, api_bucket_spares_probes)
{
    resp r;
    for (int i = 0; i < 2; i++) {
        r = get("/v0/tokens?token=" ADMIN);
        EXPECT(r, 200, NULL);
        cr_assert_str_eq(header(&r, "X-RateLimit-Limit"), "2");
        done(&r);
    }
    r = get("/v0/tokens?token=" ADMIN);
    EXPECT(r, 429, NULL);
    done(&r);
    /* Probes are never limited; events have their own buckets. */
    const char *probes[] = {"/v0/health", "/v0/ready", "/metrics"};
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 3; i++) {
            r = get(probes[i]);
            EXPECT(r, 200, NULL);
            done(&r);
        }
    r = post("/v0/events?name=api&token=" ADMIN, "{\"a\":1}");
    EXPECT(r, 202, NULL);
    done(&r);
}

Test(limits, wait_timeout)
{
    resp r = post("/v0/events?name=slow&token=" ADMIN, "{\"a\":1}");
    EXPECT(r, 202, NULL);
    done(&r);
    cr_assert(fake_sink_wait_inserts(fx.ins, 1, 5000));
    fake_sink_set_hold(fx.ins, true);
    r = post("/v0/events?name=slow&wait=true&token=" ADMIN, "{\"a\":2}");
    fake_sink_set_hold(fx.ins, false);
    EXPECT(r, 504,
           "{\"error\":\"wait=true timed out: the rows are accepted and stay buffered; they will "
           "be written, do not send them again\"}");
    done(&r);
    cr_assert(fake_sink_wait_inserts(fx.ins, 2, 5000));
}
