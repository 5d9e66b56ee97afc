/* The batcher: per data source, accepted row blocks wait in memory until a flusher thread commits
 * them to ClickHouse, one INSERT per table per flush.
 *
 * The seam for the write-ahead log: sl_batcher_append(ds, rows, quarantine) → sequence number, and
 * "committed up to seq" per data source. The WAL will make append durable (a record per request)
 * and the flusher will read from it; until then, rows acknowledged with 202 live in memory only.
 *
 * Sequence numbers are global (one counter for all data sources), increase by one per append and
 * start at config.first_seq (default: the wall clock in microseconds, so a restart never reuses a
 * number while ClickHouse's deduplication window still remembers its token).
 *
 * Flush policy, per data source: a flush starts when the oldest pending append is
 * flush_interval_ms old, when pending bytes reach flush_bytes, as soon as a waiter is registered
 * (wait=true), or on stop. A flush takes every pending append [first..last] and inserts the rows
 * block (RowBinaryWithDefaults) into the table and the quarantine block (RowBinary) into
 * <name>_quarantine, each with SETTINGS insert_deduplication_token = '<name>:<first>-<last>'.
 *
 * Failure policy: a failed insert is retried with exponential backoff (retry_initial_ms doubling up
 * to retry_max_ms) with exactly the same block and token, so an insert that failed after ClickHouse
 * committed it is deduplicated; a table already inserted is not retried. Rows stay queued (newer
 * appends queue behind). Waiters whose rows were in the failed flush are answered
 * SL_BATCH_FAILED with ClickHouse's message at once (the HTTP layer answers an error, not 200),
 * but their rows are still retried. Pending bytes are capped (max_buffer_bytes): beyond it append
 * fails with SL_ETOOBIG (→ 503 with Retry-After). Rows of a dropped data source are discarded
 * and their waiters answered SL_BATCH_DROPPED.
 *
 * Thread-safety: append, wait, stats may be called from any thread at once. One flusher thread
 * owns the sink given to sl_batcher_new. */
#ifndef SL_BATCHER_H
#define SL_BATCHER_H

#include "sl_catalog.h"
#include "sl_common.h"
#include "sl_sink.h"

typedef struct sl_batcher sl_batcher;

typedef void (*sl_batcher_log_fn)(void *ud, const char *level, const char *msg);

typedef struct {
    uint32_t flush_interval_ms; /* default 500, at least 50 */
    size_t flush_bytes;         /* default 16 MiB (rows + quarantine bytes pending) */
    size_t max_buffer_bytes;    /* default 1 GiB across all data sources */
    uint32_t retry_initial_ms;  /* default 100 */
    uint32_t retry_max_ms;      /* default 10000 */
    uint64_t first_seq;         /* 0 = wall clock in microseconds */
    sl_batcher_log_fn log;      /* optional; called from the flusher thread */
    void *log_ud;
} sl_batcher_config;

void sl_batcher_config_default(sl_batcher_config *c);

/* Starts the flusher thread. `sink` must outlive the batcher and is used only by its flusher.
 * Config values out of range are clamped (interval to >= 50 ms). */
int sl_batcher_new(const sl_batcher_config *cfg, sl_sink *sink, sl_batcher **out, sl_error *err);

/* Stops accepting appends (they then fail with SL_EIO "shutting down"), flushes everything, waits
 * for the flusher for at most timeout_ms (retrying failed inserts meanwhile), answers the waiters
 * left with SL_BATCH_STOPPED and joins the thread. Returns 0 when everything was committed, or
 * SL_EIO with the number of rows left uncommitted in the message. Idempotent. */
int sl_batcher_stop(sl_batcher *b, uint32_t timeout_ms, sl_error *err);
/* Stops (timeout 0 if not stopped yet) and frees. NULL is a no-op. */
void sl_batcher_free(sl_batcher *b);

/* Queues a copy of `rows` (n_rows RowBinaryWithDefaults rows for the table) and `quarantine`
 * (n_quarantined RowBinary rows for <name>_quarantine) for `ds` (the batcher takes its own
 * reference). Either block may be empty. Whole or nothing: on error nothing was queued.
 * *seq gets the append's sequence number. Errors: SL_ETOOBIG buffer full (503), SL_EIO shutting
 * down (503), SL_EMISSING data source dropped (404), SL_ENOMEM. */
int sl_batcher_append(sl_batcher *b, sl_datasource *ds, sl_str rows, uint64_t n_rows,
                      sl_str quarantine, uint64_t n_quarantined, uint64_t *seq, sl_error *err);

typedef enum {
    SL_BATCH_COMMITTED, /* rows (and quarantine rows) of seq are in ClickHouse */
    SL_BATCH_FAILED,    /* the insert carrying seq failed; rows stay queued and are retried */
    SL_BATCH_TIMEOUT,   /* the deadline passed first; rows stay queued */
    SL_BATCH_DROPPED,   /* the data source was deleted; rows discarded */
    SL_BATCH_STOPPED,   /* the batcher stopped before committing them */
} sl_batch_status;

/* Called exactly once per registered waiter, from the flusher thread or the batcher's timer thread.
 * `message` is the reason for FAILED (ClickHouse's text), else "". Must be quick and must not call
 * back into the batcher (resume a connection, signal a condition). */
typedef void (*sl_batcher_wait_fn)(void *ud, uint64_t seq, sl_batch_status status,
                                   const char *message);

/* Asks to be told when append `seq` of `ds` is committed, and requests an early flush of ds.
 * `timeout_ms` 0 = no deadline; else fn gets SL_BATCH_TIMEOUT once it passes (checked by the
 * batcher's timer thread, so it fires even while an insert hangs). Returns 1 when seq is already
 * committed (fn is NOT called), 0 when registered (fn will be called exactly once, possibly before
 * this returns, on another thread), SL_EINVAL for a seq this data source never got, SL_EIO when
 * stopped. */
int sl_batcher_wait_async(sl_batcher *b, const sl_datasource *ds, uint64_t seq, uint32_t timeout_ms,
                          sl_batcher_wait_fn fn, void *ud, sl_error *err);

/* Blocking form of sl_batcher_wait_async: returns the final status (COMMITTED if it already
 * was); the FAILED message is copied to err. */
sl_batch_status sl_batcher_wait(sl_batcher *b, const sl_datasource *ds, uint64_t seq,
                                uint32_t timeout_ms, sl_error *err);

/* Flushes everything pending for ds (NULL: every data source) now and waits up to timeout_ms for
 * it to commit. 0, or SL_EIO with the failure/timeout message. */
int sl_batcher_flush(sl_batcher *b, const sl_datasource *ds, uint32_t timeout_ms, sl_error *err);

/* Flush latency histogram bucket upper bounds in seconds (Prometheus "le"); +Inf is implied. */
#define SL_BATCHER_LATENCY_BUCKETS 10
extern const double sl_batcher_latency_bounds[SL_BATCHER_LATENCY_BUCKETS];

/* A consistent snapshot of the counters (for /metrics); totals since start. */
typedef struct {
    uint64_t appends; /* sl_batcher_append calls that queued */
    uint64_t rows_appended, quarantined_appended;
    uint64_t rows_committed, quarantined_committed;
    uint64_t bytes_committed;     /* rows + quarantine bytes inserted */
    uint64_t flushes;             /* successful flushes (one per data source per flush) */
    uint64_t flush_failures;      /* failed insert attempts */
    uint64_t rows_discarded;      /* dropped data sources, stop timeouts */
    uint64_t buffer_bytes;        /* gauge: bytes pending or in flight now */
    uint64_t buffer_rows;         /* gauge: rows + quarantined rows pending or in flight now */
    uint64_t waiters;             /* gauge: registered waiters */
    uint64_t failing_datasources; /* gauge: data sources whose last insert failed */
    uint64_t latency_buckets[SL_BATCHER_LATENCY_BUCKETS]; /* cumulative, Prometheus style */
    uint64_t latency_count;
    double latency_sum_seconds;
} sl_batcher_stats;

void sl_batcher_get_stats(sl_batcher *b, sl_batcher_stats *out);

#endif
