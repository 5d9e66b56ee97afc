/* Operations endpoints (SPEC §11): GET /v0/health (the process answers), GET /v0/ready (storage
 * reachable, buffer room left, accepting writes) and GET /metrics (Prometheus text format).
 * None needs a token: they carry no data, and /metrics is meant for a scraper on the host. */
#include "sl_dedup.h"
#include "sl_http.h"

#include <string.h>

void sl_http_health(sl_http_req *r)
{
    r->out.len = 0;
    sl_buf_append_cstr(&r->out, "{\"status\":\"ok\"}");
    sl_http_reply(r, 200, "application/json");
}

void sl_http_ready(sl_http_req *r)
{
    sl_server *srv = r->srv;
    if (!atomic_load(&srv->accepting)) {
        sl_http_error(r, 503, "shutting down");
        return;
    }
    if (!srv->cfg.catalog || !srv->cfg.batcher || !srv->cfg.tokens) {
        sl_http_error(r, 503, "storage is not available");
        return;
    }
    sl_batcher_stats st;
    sl_batcher_get_stats(srv->cfg.batcher, &st);
    if (st.failing_datasources) {
        sl_http_error(r, 503, "inserts into ClickHouse are failing for %llu data source(s)",
                      (unsigned long long)st.failing_datasources);
        return;
    }
    /* Exhausted: less room than a small request needs (1 MiB, or 1 % of a smaller budget), so
     * events would be answered 503 now. */
    uint64_t slack = st.max_buffer_bytes / 100 < (1u << 20) ? st.max_buffer_bytes / 100 : 1u << 20;
    if (st.max_buffer_bytes && st.budget_used_bytes + slack >= st.max_buffer_bytes) {
        sl_http_error(r, 503,
                      "the write buffer is full: %llu of %llu bytes of write-ahead log not yet in "
                      "ClickHouse",
                      (unsigned long long)st.budget_used_bytes,
                      (unsigned long long)st.max_buffer_bytes);
        return;
    }
    r->out.len = 0;
    sl_buf_printf(&r->out,
                  "{\"status\":\"ready\",\"buffer_bytes\":%llu,\"wal_disk_bytes\":%llu,"
                  "\"max_buffer_bytes\":%llu,\"oldest_unflushed_ms\":%llu}",
                  (unsigned long long)st.buffer_bytes, (unsigned long long)st.wal.disk_bytes,
                  (unsigned long long)st.max_buffer_bytes,
                  (unsigned long long)(st.oldest_unflushed_us / 1000));
    sl_http_reply(r, 200, "application/json");
}

static void metric(sl_buf *b, const char *name, const char *type, const char *help, uint64_t v)
{
    sl_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name,
                  (unsigned long long)v);
}

static uint64_t load(_Atomic uint64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

void sl_http_metrics_page(sl_http_req *r)
{
    sl_server *srv = r->srv;
    sl_buf *b = &r->out;
    b->len = 0;
    sl_buf_append_cstr(b, "# HELP sluice_http_requests_total HTTP requests answered, by status "
                          "class.\n# TYPE sluice_http_requests_total counter\n");
    static const char *const cls[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
    for (int i = 0; i < 6; i++)
        sl_buf_printf(b, "sluice_http_requests_total{code=\"%s\"} %llu\n", cls[i],
                      (unsigned long long)load(&srv->m.requests[i]));
    metric(b, "sluice_events_requests_total", "counter", "Accepted POST /v0/events requests.",
           load(&srv->m.events_requests));
    metric(b, "sluice_rows_accepted_total", "counter", "Rows accepted for their table.",
           load(&srv->m.rows));
    metric(b, "sluice_rows_quarantined_total", "counter", "Rows sent to quarantine.",
           load(&srv->m.quarantined));
    metric(b, "sluice_request_bytes_total", "counter",
           "Event request body bytes after decompression.", load(&srv->m.bytes_in));
    metric(b, "sluice_rate_limited_total", "counter", "Requests answered 429.",
           load(&srv->m.rate_limited));
    metric(b, "sluice_wait_timeouts_total", "counter", "wait=true requests answered 504.",
           load(&srv->m.waits_timed_out));
    metric(b, "sluice_datasources_auto_created_total", "counter",
           "Data sources created from events.", load(&srv->m.auto_created));
    metric(b, "sluice_sql_queries_total", "counter", "Queries received on /v0/sql.",
           load(&srv->m.sql_queries));
    metric(b, "sluice_parked_requests", "gauge", "wait=true requests waiting now.",
           (uint64_t)(atomic_load(&srv->parked) > 0 ? atomic_load(&srv->parked) : 0));
    if (srv->cfg.dedup) {
        sl_dedup_stats ds;
        sl_dedup_get_stats(srv->cfg.dedup, &ds);
        metric(b, "sluice_idempotent_replays_total", "counter",
               "Event requests answered from the idempotency index (not inserted again).", ds.hits);
        metric(b, "sluice_idempotency_conflicts_total", "counter",
               "Event requests answered 409: an identical request was still in flight.", ds.busy);
        metric(b, "sluice_idempotency_keys", "gauge", "Idempotency keys remembered now.",
               ds.entries);
        metric(b, "sluice_idempotency_evictions_total", "counter",
               "Idempotency keys dropped before the end of their window (index full).",
               ds.evictions);
        metric(b, "sluice_idempotency_io_errors_total", "counter",
               "Failed writes or syncs of the idempotency file.", ds.io_errors);
    }
    if (srv->cfg.batcher) {
        sl_batcher_stats st;
        sl_batcher_get_stats(srv->cfg.batcher, &st);
        metric(b, "sluice_rows_committed_total", "counter", "Rows committed to ClickHouse.",
               st.rows_committed);
        metric(b, "sluice_quarantine_rows_committed_total", "counter",
               "Quarantine rows committed to ClickHouse.", st.quarantined_committed);
        metric(b, "sluice_bytes_committed_total", "counter", "Bytes inserted into ClickHouse.",
               st.bytes_committed);
        metric(b, "sluice_flushes_total", "counter", "Successful flushes.", st.flushes);
        metric(b, "sluice_flush_failures_total", "counter", "Failed insert attempts.",
               st.flush_failures);
        metric(b, "sluice_rows_discarded_total", "counter",
               "Rows discarded (dropped data sources, stop timeouts).", st.rows_discarded);
        metric(b, "sluice_buffer_bytes", "gauge", "Bytes waiting to be committed.",
               st.buffer_bytes);
        metric(b, "sluice_buffer_rows", "gauge", "Rows waiting to be committed.", st.buffer_rows);
        metric(b, "sluice_failing_datasources", "gauge", "Data sources whose last insert failed.",
               st.failing_datasources);
        sl_buf_printf(b,
                      "# HELP sluice_oldest_unflushed_seconds Age of the oldest accepted row not "
                      "yet committed to ClickHouse (0: none).\n"
                      "# TYPE sluice_oldest_unflushed_seconds gauge\n"
                      "sluice_oldest_unflushed_seconds %.6f\n",
                      (double)st.oldest_unflushed_us / 1e6);
        metric(b, "sluice_wal_disk_bytes", "gauge", "Bytes of write-ahead log segments on disk.",
               st.wal.disk_bytes);
        metric(b, "sluice_wal_segments", "gauge", "Write-ahead log segments on disk.",
               st.wal.segments);
        metric(b, "sluice_buffer_limit_bytes", "gauge",
               "The write buffer budget (--max-buffer-bytes); past it events get 503.",
               st.max_buffer_bytes);
        metric(b, "sluice_buffer_used_bytes", "gauge",
               "What counts against the budget now (WAL bytes on disk plus appends in flight).",
               st.budget_used_bytes);
        metric(b, "sluice_wal_fsyncs_total", "counter", "Write-ahead log fsyncs.", st.wal.fsyncs);
        metric(b, "sluice_wal_write_errors_total", "counter",
               "Write-ahead log groups whose write or fsync failed (answered 503).",
               st.wal.write_errors);
        metric(b, "sluice_events_rejected_total", "counter",
               "Appends the write-ahead log failed to write (answered 503).", st.rejected);
        sl_buf_append_cstr(b, "# HELP sluice_flush_seconds Flush latency.\n"
                              "# TYPE sluice_flush_seconds histogram\n");
        for (int i = 0; i < SL_BATCHER_LATENCY_BUCKETS; i++)
            sl_buf_printf(b, "sluice_flush_seconds_bucket{le=\"%g\"} %llu\n",
                          sl_batcher_latency_bounds[i], (unsigned long long)st.latency_buckets[i]);
        sl_buf_printf(b,
                      "sluice_flush_seconds_bucket{le=\"+Inf\"} %llu\n"
                      "sluice_flush_seconds_sum %.6f\nsluice_flush_seconds_count %llu\n",
                      (unsigned long long)st.latency_count, st.latency_sum_seconds,
                      (unsigned long long)st.latency_count);
    }
    sl_http_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8");
}
