/* POST /v0/events (SPEC §2): authorise, rate-limit, decode the body, auto-create an unknown data
 * source when the token may, convert the rows, queue them in the batcher and answer 202 — or
 * park the request until they commit (wait=true) and answer 200. */
#include "sl_http.h"
#include "sl_convert.h"
#include "sl_dedup.h"
#include "sl_infer.h"

#include <stdio.h>
#include <stdlib.h>
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
            /* Durable, not committed: accepted (504, as for a timeout), not 503 ("resend"). */
            sl_http_error(r, 504,
                          "the server stopped before the rows were committed; they are in its "
                          "write-ahead log and will be written, do not send them again");
            break;
        case SL_BATCH_DURABLE: sl_http_reply(r, 202, "application/json"); break;
        case SL_BATCH_REJECTED:
            sl_http_error(r, 503, "the rows were not accepted: %s; retry later",
                          message && *message ? message : "write-ahead log failure");
            break;
        }
        sl_http_wake(r);
    }
    sl_http_wait_release(w);
}

/* Waits for the commit of `seq` of ds, whose record is durable: registers on_wait with the
 * batcher for the time left until w's deadline (the server's timer answers at the deadline too),
 * or answers now when there is nothing to wait for. Takes over the notifier's reference of w. */
static void wait_commit(sl_server *srv, sl_datasource *ds, uint64_t seq, sl_http_waiter *w)
{
    double left = w->deadline - sl_ratelimit_now();
    uint32_t timeout_ms = left > 0 ? (uint32_t)(left * 1000.0) + 1 : 1;
    sl_error err = {0};
    int rc = sl_batcher_wait_async(srv->cfg.batcher, ds, seq, timeout_ms, on_wait, w, &err);
    if (rc == 0)
        return;
    sl_batch_status status;
    if (rc == 1)
        status = SL_BATCH_COMMITTED;
    else if (rc == SL_EINVAL) /* nothing of ds is queued any more */
        status = sl_datasource_is_dropped(ds) ? SL_BATCH_DROPPED : SL_BATCH_COMMITTED;
    else if (rc == SL_EIO) /* the batcher stopped: the record stays in the log */
        status = SL_BATCH_STOPPED;
    else
        status = SL_BATCH_TIMEOUT;
    on_wait(w, seq, status, "");
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

/* How long a request waits for an identical one in flight before answering 409. Short: an owner
 * holds its key only while converting and appending its rows, never while waiting for a commit. */
#define DEDUP_WAIT_MS 2000

/* Answers a retry of a request accepted within the idempotency window: its original counts with
 * Idempotent-Replayed: true; 202, or with wait=true 200 once the original rows are committed. */
static void replay(sl_http_req *r, sl_str name, const sl_dedup_entry *e)
{
    sl_server *srv = r->srv;
    r->out.len = 0;
    sl_buf_printf(&r->out, "{\"successful_rows\":%llu,\"quarantined_rows\":%llu}",
                  (unsigned long long)e->rows, (unsigned long long)e->quarantined);
    sl_http_add_header(r, "Idempotent-Replayed", "true");
    if (!sl_http_truthy(sl_http_param(r, "wait")) || e->seq == 0) {
        /* seq 0: accepted by an earlier process and not in its log any more: committed. */
        sl_http_reply(r, e->seq == 0 && sl_http_truthy(sl_http_param(r, "wait")) ? 200 : 202,
                      "application/json");
        return;
    }
    sl_datasource *ds = sl_catalog_acquire(srv->cfg.catalog, name);
    if (!ds) {
        sl_http_error(r, 404, "the data source was deleted before the rows were written");
        return;
    }
    /* The original's rows are durable (a key is done only then). */
    sl_http_waiter *w = sl_http_wait_begin(r, true);
    wait_commit(srv, ds, e->seq, w);
    sl_datasource_release(ds);
}

/* The request failed after reserving its idempotency key: forget it so a retry is processed. */
static void forget(sl_dedup *dd, sl_dedup_key key)
{
    if (dd)
        sl_dedup_abort(dd, key);
}

/* One durable append in flight: what its callback needs to answer. */
typedef struct {
    sl_http_req *r;
    sl_server *srv;
    sl_http_waiter *w; /* wait=true */
    sl_datasource *ds; /* wait=true: a reference, to wait for the commit once durable */
    sl_dedup *dd;
    sl_dedup_key key;
    uint64_t rows, q;
} append_ctx;

static void append_full(sl_http_req *r)
{
    sl_http_add_header(r, "Retry-After", "5");
    sl_http_error(r, 503, "the write buffer is full (ClickHouse is slow or down); retry later");
}

/* The batcher's answer to an append: durable or rejected by the write-ahead log (its group
 * commit's thread, or the caller's without a log). Runs without the batcher's lock. */
static void on_appended(void *ud, uint64_t seq, sl_batch_status status, const char *message)
{
    append_ctx *ac = ud;
    sl_http_req *r = ac->r;
    if (status == SL_BATCH_REJECTED) {
        forget(ac->dd, ac->key);
        if (!ac->w || sl_http_wait_claim(ac->w)) {
            sl_http_add_header(r, "Retry-After", "1");
            sl_http_error(r, 503, "the rows were not accepted: %s; retry later",
                          message && *message ? message : "write-ahead log failure");
            sl_http_wake(r);
        }
        if (ac->w) {
            sl_http_wait_release(ac->w);
            sl_datasource_release(ac->ds);
        }
        free(ac);
        return;
    }
    /* Durable: the rows are accepted, whatever happens next; a retry now replays them. With
     * wait=true the timer may answer r from now on: only on_wait touches it. */
    atomic_fetch_add_explicit(&ac->srv->m.events_requests, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&ac->srv->m.rows, ac->rows, memory_order_relaxed);
    atomic_fetch_add_explicit(&ac->srv->m.quarantined, ac->q, memory_order_relaxed);
    if (ac->dd) {
        sl_error err = {0};
        if (sl_dedup_complete(ac->dd, ac->key, ac->rows, ac->q, seq, &err) != 0)
            sl_server_log(ac->srv, SL_LOG_WARN, "cannot persist an idempotency key", NULL);
    }
    if (ac->w) {
        atomic_store(&ac->w->durable, true);
        wait_commit(ac->srv, ac->ds, seq, ac->w);
        sl_datasource_release(ac->ds);
    } else {
        sl_http_reply(r, 202, "application/json");
        sl_http_wake(r);
    }
    free(ac);
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

    /* Idempotency (SPEC §2): the key stays reserved until the rows are accepted (complete) or
     * the request fails (forget), so identical requests at once insert once. */
    sl_dedup *dd = srv->cfg.dedup;
    sl_dedup_key key = {0, 0};
    if (dd) {
        sl_str ik = sl_http_header(r, "Idempotency-Key");
        key = sl_dedup_key_of(name, ik.len ? ik : body, ik.len > 0);
        sl_dedup_entry prev;
        switch (sl_dedup_reserve(dd, key, DEDUP_WAIT_MS, &prev)) {
        case SL_DEDUP_NEW: break;
        case SL_DEDUP_DONE: replay(r, name, &prev); return;
        case SL_DEDUP_BUSY:
            sl_http_add_header(r, "Retry-After", "1");
            sl_http_error(r, 409,
                          "an identical request (same body or Idempotency-Key) for '%.*s' is "
                          "being processed; retry in a second to get its answer",
                          (int)name.len, name.ptr);
            return;
        }
    }

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
            forget(dd, key);
            return;
        }
        if (!(ds = auto_create(r, name, body))) {
            forget(dd, key);
            return;
        }
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
        forget(dd, key);
        return;
    }
    if (stats.rows + stats.quarantined == 0) {
        sl_http_error(r, 400, "empty body: send JSON objects, one per line (NDJSON)");
        sl_datasource_release(ds);
        forget(dd, key);
        return;
    }

    /* Durable append (SPEC §9): the WAL's group commit calls back; no pool thread waits. */
    append_ctx *ac = malloc(sizeof *ac);
    if (!ac) {
        sl_http_error(r, 503, "out of memory; retry later");
        sl_datasource_release(ds);
        forget(dd, key);
        return;
    }
    bool wait = sl_http_truthy(sl_http_param(r, "wait"));
    *ac = (append_ctx){
        .r = r, .srv = srv, .dd = dd, .key = key, .rows = stats.rows, .q = stats.quarantined};
    uint8_t kb[16];
    if (dd)
        sl_dedup_key_to_bytes(key, kb);
    sl_batcher_block blk = {(sl_str){(const char *)r->rows.data, r->rows.len},
                            stats.rows,
                            (sl_str){(const char *)r->quarantine.data, r->quarantine.len},
                            stats.quarantined,
                            dd ? kb : NULL,
                            NULL};
    r->out.len = 0;
    sl_buf_printf(&r->out, "{\"successful_rows\":%llu,\"quarantined_rows\":%llu}",
                  (unsigned long long)stats.rows, (unsigned long long)stats.quarantined);
    /* Park first: the callback may run before sl_batcher_append_async returns. The append
     * itself never waits for the commit: with wait=true, on_appended registers the wait once
     * the record is durable, and until then the server's timer does not answer (a 504 says
     * "accepted"); from then on it answers 504 at the deadline, even if the flusher is stuck. */
    if (wait) {
        ac->w = sl_http_wait_begin(r, false);
        ac->ds = sl_datasource_ref(ds);
    } else {
        sl_http_park(r);
    }
    sl_error err = {0};
    /* With --fsync interval or never, this thread writes the log group itself when none is
     * being written (sl_wal.h): the callback has then answered r by sl_wal_lead_end, and the
     * connection is never suspended. */
    sl_wal_lead lead = {0};
    blk.lead = &lead;
    rc = sl_batcher_append_async(srv->cfg.batcher, ds, &blk, false, 0, on_appended, ac, &err);
    sl_datasource_release(ds);
    if (rc) {
        /* The callback will not run: answer here (unless the wait timer already did). */
        forget(dd, key);
        if (!ac->w || sl_http_wait_claim(ac->w)) {
            if (rc == SL_EMISSING)
                sl_http_error(r, 404, "data source '%.*s' was deleted", (int)name.len, name.ptr);
            else if (rc == SL_ETOOBIG)
                append_full(r);
            else
                sl_http_error(r, 503, "not accepting writes now: %s",
                              err.msg ? err.msg : sl_strerror(rc));
            sl_http_wake(r);
        }
        if (ac->w) {
            sl_http_wait_release(ac->w);
            sl_datasource_release(ac->ds);
        }
        free(ac);
    }
    sl_wal_lead_end(&lead);
}
