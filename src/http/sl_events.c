/* POST /v0/events (SPEC §2): authorise, rate-limit, decode the body, auto-create an unknown data
 * source when the token may, convert the rows, queue them in the batcher and answer 202 — or
 * park the request until they commit (wait=true) and answer 200. */
#include "sl_http.h"
#include "sl_convert.h"
#include "sl_infer.h"

#include <stdio.h>
#include <string.h>

/* Ends a wait=true request from the batcher's callback (flusher thread), unless the server's
 * timer answered it first. */
static void on_wait(void *ud, uint64_t seq, sl_batch_status status, const char *message)
{
    (void)seq;
    sl_http_waiter *w = ud;
    if (sl_http_wait_claim(w)) {
        sl_http_req *r = w->req;
        switch (status) {
        case SL_BATCH_COMMITTED: sl_http_reply(r, 200, "application/json"); break;
        case SL_BATCH_TIMEOUT:
            atomic_fetch_add_explicit(&r->srv->m.waits_timed_out, 1, memory_order_relaxed);
            sl_http_error(r, 504,
                          "wait=true timed out: the rows are accepted and stay buffered; they "
                          "will be written, do not send them again");
            break;
        case SL_BATCH_FAILED:
            sl_http_error(r, 500, "%s; the rows are accepted, do not send them again",
                          message && *message ? message : "the insert into ClickHouse failed");
            break;
        case SL_BATCH_DROPPED:
            sl_http_error(r, 404, "the data source was deleted before the rows were written");
            break;
        case SL_BATCH_STOPPED:
            sl_http_error(r, 503, "the server stopped before the rows were written");
            break;
        }
        sl_http_wake(r);
    }
    sl_http_wait_release(w);
}

/* Creates data source `name` from the rows of `body`. Returns a reference or NULL (answered). */
static sl_datasource *auto_create(sl_http_req *r, sl_str name, sl_str body)
{
    sl_server *srv = r->srv;
    sl_buf text;
    sl_buf_init(&text, 4u << 20);
    sl_error err = {0};
    sl_datasource *ds = NULL;
    int rc = sl_infer_datasource(body, NULL, &text, NULL, &err);
    if (rc) {
        if (rc == SL_EVALUE)
            sl_http_error(r, 400,
                          "cannot create data source '%.*s' from this body: %s; send JSON "
                          "objects, one per line",
                          (int)name.len, name.ptr, err.msg ? err.msg : "no JSON object");
        else
            sl_http_error(r, 503, "cannot infer a schema: %s", sl_strerror(rc));
        goto done;
    }
    sl_catalog_outcome outcome;
    rc = sl_catalog_create_text(srv->cfg.catalog, name, (sl_str){(const char *)text.data, text.len},
                                &outcome, &ds, &err);
    if (rc && !ds) {
        sl_http_error(r, rc == SL_EIO ? 500 : 400, "cannot create data source '%.*s': %s",
                      (int)name.len, name.ptr, err.msg ? err.msg : sl_strerror(rc));
        goto done;
    }
    if (outcome == SL_CATALOG_CREATED) {
        atomic_fetch_add_explicit(&srv->m.auto_created, 1, memory_order_relaxed);
        char fields[160];
        snprintf(fields, sizeof(fields), "\"datasource\":\"%.*s\"", (int)name.len, name.ptr);
        sl_server_log(srv, SL_LOG_INFO, "data source auto-created", fields);
    }
done:
    sl_buf_free(&text);
    return ds;
}

static bool is_blank(sl_str s)
{
    for (size_t i = 0; i < s.len; i++)
        if (s.ptr[i] != ' ' && s.ptr[i] != '\n' && s.ptr[i] != '\r' && s.ptr[i] != '\t')
            return false;
    return true;
}

void sl_http_events(sl_http_req *r)
{
    sl_server *srv = r->srv;
    sl_str name = sl_http_param(r, "name");
    if (name.len == 0) {
        sl_http_error(r, 400, "missing 'name': POST /v0/events?name=<data source>");
        return;
    }
    if (!sl_http_authorize(r, SL_ACTION_APPEND, name))
        return;
    if (!atomic_load(&srv->accepting)) {
        sl_http_error(r, 503, "the server is shutting down and accepts no writes; retry later");
        return;
    }
    if (!srv->cfg.catalog || !srv->cfg.batcher) {
        sl_http_error(r, 503, "storage is not available");
        return;
    }
    if (!sl_catalog_valid_name(name)) {
        sl_http_error(r, 400,
                      "invalid data source name '%.*s': names are [A-Za-z_][A-Za-z0-9_]*, at most "
                      "64 characters, and do not end in _quarantine",
                      (int)(name.len > 80 ? 80 : name.len), name.ptr);
        return;
    }
    double now = sl_ratelimit_now();
    sl_ratelimit_take(srv->rl, name, now, &r->rl);
    r->rl_set = true;
    if (!r->rl.allowed) {
        atomic_fetch_add_explicit(&srv->m.rate_limited, 1, memory_order_relaxed);
        sl_http_error(r, 429,
                      "rate limit of data source '%.*s' reached; retry after %llu s or send "
                      "more rows per request",
                      (int)name.len, name.ptr, (unsigned long long)r->rl.retry_after);
        return;
    }
    sl_str body;
    if (sl_http_body(r, &body) != 0)
        return;
    if (is_blank(body)) {
        sl_http_error(r, 400, "empty body: send JSON objects, one per line (NDJSON)");
        return;
    }
    sl_ratelimit_charge_bytes(srv->rl, name, now, body.len);
    atomic_fetch_add_explicit(&srv->m.bytes_in, body.len, memory_order_relaxed);

    sl_datasource *ds = sl_catalog_acquire(srv->cfg.catalog, name);
    if (!ds) {
        sl_error err = {0};
        if (sl_tokens_check(srv->cfg.tokens, sl_http_token(r), SL_ACTION_CREATE, name, NULL, 0,
                            &err) != 0) {
            sl_http_error(r, 404,
                          "data source '%.*s' does not exist; create it (POST /v0/datasources) "
                          "or send with a token that has DATASOURCES:CREATE to create it from "
                          "the rows",
                          (int)name.len, name.ptr);
            return;
        }
        if (!(ds = auto_create(r, name, body)))
            return;
    }

    sl_convert_state *st = sl_http_convert_state_get(srv);
    sl_convert_stats stats = {0};
    sl_convert_options opt = {.first_line = 1};
    r->rows.len = r->quarantine.len = 0;
    int rc = sl_convert(ds->conv, st, body, &opt, &r->rows, &r->quarantine, &stats);
    sl_http_convert_state_put(srv, st);
    if (rc) {
        sl_http_error(r, rc == SL_ETOOBIG ? 413 : 503,
                      rc == SL_ETOOBIG ? "the converted rows exceed the request size limit; "
                                         "split the body into smaller requests"
                                       : "out of memory converting the rows; retry later");
        sl_datasource_release(ds);
        return;
    }
    if (stats.rows + stats.quarantined == 0) {
        sl_http_error(r, 400, "empty body: send JSON objects, one per line (NDJSON)");
        sl_datasource_release(ds);
        return;
    }

    uint64_t seq = 0;
    sl_error err = {0};
    rc =
        sl_batcher_append(srv->cfg.batcher, ds, (sl_str){(const char *)r->rows.data, r->rows.len},
                          stats.rows, (sl_str){(const char *)r->quarantine.data, r->quarantine.len},
                          stats.quarantined, &seq, &err);
    if (rc) {
        if (rc == SL_EMISSING)
            sl_http_error(r, 404, "data source '%.*s' was deleted", (int)name.len, name.ptr);
        else if (rc == SL_ETOOBIG)
            sl_http_error(r, 503,
                          "the write buffer is full (ClickHouse is slow or down); retry "
                          "later");
        else
            sl_http_error(r, 503, "not accepting writes now: %s",
                          err.msg ? err.msg : sl_strerror(rc));
        sl_datasource_release(ds);
        return;
    }
    atomic_fetch_add_explicit(&srv->m.events_requests, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&srv->m.rows, stats.rows, memory_order_relaxed);
    atomic_fetch_add_explicit(&srv->m.quarantined, stats.quarantined, memory_order_relaxed);

    r->out.len = 0;
    sl_buf_printf(&r->out, "{\"successful_rows\":%llu,\"quarantined_rows\":%llu}",
                  (unsigned long long)stats.rows, (unsigned long long)stats.quarantined);
    if (!sl_http_truthy(sl_http_param(r, "wait"))) {
        sl_datasource_release(ds);
        sl_http_reply(r, 202, "application/json");
        return;
    }
    /* Park first: the callback may run before sl_batcher_wait_async returns. The server's
     * timer also answers 504 at the deadline, even if the flusher is stuck in an insert. */
    sl_http_waiter *w = sl_http_wait_begin(r);
    uint32_t timeout_ms = (uint32_t)(srv->cfg.wait_timeout_s * 1000.0);
    rc = sl_batcher_wait_async(srv->cfg.batcher, ds, seq, timeout_ms ? timeout_ms : 1, on_wait, w,
                               &err);
    sl_datasource_release(ds);
    if (rc != 0) {
        /* The callback will not run: answer here (unless the timer already did). */
        if (sl_http_wait_claim(w)) {
            if (rc == 1)
                sl_http_reply(r, 200, "application/json");
            else
                sl_http_error(r, 503, "cannot wait for the rows: %s",
                              err.msg ? err.msg : "stopped");
            sl_http_wake(r);
        }
        sl_http_wait_release(w);
    }
}
