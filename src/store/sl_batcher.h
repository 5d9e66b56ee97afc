/* The batcher: per data source, accepted row blocks wait until a flusher thread commits them to
 * ClickHouse, one INSERT per table per flush. With a write-ahead log (config.wal_dir) every append
 * is a WAL record first: the caller hears "durable" only after the group commit that covers it,
 * and after a crash sl_batcher_new replays every record not yet committed (see
 * docs/durability.md). Without wal_dir the rows live in memory only (tests, tools).
 *
 * Sequence numbers are the WAL's LSNs (global, increasing, never reused across restarts; see
 * sl_wal.h). Without a WAL they start at config.first_seq (default: the wall clock in µs).
 *
 * Flush policy, per data source: a flush starts when the oldest pending append is
 * flush_interval_ms old, when pending bytes reach flush_bytes, as soon as a waiter is registered
 * (wait=true), or on stop. A flush takes the oldest durable pending appends [first..last] up to
 * flush_bytes (at least one; a backlog goes in back-to-back inserts), reads the tables' marks
 * (highest block number), logs a FLUSH record (first, last, marks) and waits for it to be
 * durable, inserts the rows block (RowBinaryWithDefaults) into the table and the quarantine block
 * (RowBinary) into <name>_quarantine, each with SETTINGS insert_deduplication_token =
 * '<name>:<first>-<last>@<attempt>', then logs a COMMIT record. Recovery re-inserts an open FLUSH
 * with exactly the same records: with the same token where the table's mark moved (ClickHouse
 * drops what landed), under a new token, logged first, where it did not (ClickHouse may
 * remember a token whose rows never landed). Exactly once; see docs/durability.md.
 *
 * Failure policy: a failed insert is retried with capped exponential backoff with jitter
 * (retry_initial_ms doubling up to retry_max_ms) with exactly the same block, its token chosen
 * by the marks as after a crash; a table already inserted is not retried. Rows stay queued (newer
 * appends queue behind). Waiters whose rows were in the failed flush are answered SL_BATCH_FAILED
 * at once, but their rows are still retried. The buffer is capped (max_buffer_bytes: WAL bytes on
 * disk with a WAL, pending bytes without): beyond it append fails with SL_ETOOBIG (→ 503 with
 * Retry-After). Rows of a dropped data source are discarded (a DISCARD record says so) and their
 * waiters answered SL_BATCH_DROPPED.
 *
 * Thread-safety: append, wait, stats may be called from any thread at once. One flusher thread
 * owns the sink given to sl_batcher_new. */
#ifndef SL_BATCHER_H
#define SL_BATCHER_H

#include "sl_catalog.h"
#include "sl_common.h"
#include "sl_sink.h"
#include "sl_wal.h"

typedef struct sl_batcher sl_batcher;

typedef void (*sl_batcher_log_fn)(void *ud, const char *level, const char *msg);

/* Called by sl_batcher_new for every DATA record with an idempotency key still in the WAL
 * (committed or not), oldest first, so the idempotency index can be rebuilt. */
typedef void (*sl_batcher_recovered_fn)(void *ud, sl_str ds_name, const uint8_t *key,
                                        uint64_t time_us, uint64_t n_rows, uint64_t n_quarantined,
                                        uint64_t seq);

typedef struct {
    uint32_t flush_interval_ms; /* default 500, at least 50 */
    size_t flush_bytes;         /* default 16 MiB (rows + quarantine bytes pending) */
    size_t max_buffer_bytes;    /* default 1 GiB across all data sources (WAL bytes with a WAL) */
    uint32_t retry_initial_ms;  /* default 100 */
    uint32_t retry_max_ms;      /* default 10000 */
    uint64_t first_seq;         /* 0 = wall clock in microseconds */
    sl_batcher_log_fn log;      /* optional; called from the flusher and WAL threads */
    void *log_ud;
    /* The write-ahead log. NULL: none (rows acknowledged from memory). */
    const char *wal_dir;
    sl_catalog *catalog;        /* required with wal_dir: recovery finds data sources by name */
    sl_wal_fsync fsync;         /* default SL_WAL_FSYNC_ALWAYS */
    uint32_t fsync_interval_ms; /* for SL_WAL_FSYNC_INTERVAL */
    uint64_t segment_bytes;     /* default 64 MiB */
    const sl_wal_io *wal_io;    /* NULL: POSIX (tests inject faults here) */
    size_t max_memory_bytes;    /* pending bytes kept in memory (default 256 MiB); beyond, records
                                   stay on disk only and the flusher reads them back */
    sl_batcher_recovered_fn recovered; /* optional */
    void *recovered_ud;
} sl_batcher_config;

void sl_batcher_config_default(sl_batcher_config *c);

/* Recovers the WAL (when configured: every record not committed is queued again, an open FLUSH
 * as its exact batch) and starts the flusher. `sink` must outlive the batcher and is used only by
 * its flusher. Config values out of range are clamped (interval to >= 50 ms). SL_EIO when the
 * WAL cannot be opened. */
int sl_batcher_new(const sl_batcher_config *cfg, sl_sink *sink, sl_batcher **out, sl_error *err);

/* Stops accepting appends (they then fail with SL_EIO "shutting down"), flushes everything, waits
 * for the flusher for at most timeout_ms (retrying failed inserts meanwhile), answers the waiters
 * left with SL_BATCH_STOPPED, joins the thread and closes the WAL. Returns 0 when everything was
 * committed or is kept in the WAL (replayed at the next start), or SL_EIO with the number of
 * rows lost (no WAL). Idempotent. */
int sl_batcher_stop(sl_batcher *b, uint32_t timeout_ms, sl_error *err);
/* Stops (timeout 0 if not stopped yet) and frees. NULL is a no-op. */
void sl_batcher_free(sl_batcher *b);

typedef enum {
    SL_BATCH_COMMITTED, /* rows (and quarantine rows) of seq are in ClickHouse */
    SL_BATCH_FAILED,    /* the insert carrying seq failed; rows stay queued and are retried */
    SL_BATCH_TIMEOUT,   /* the deadline passed first; rows stay queued */
    SL_BATCH_DROPPED,   /* the data source was deleted; rows discarded */
    SL_BATCH_STOPPED,   /* the batcher stopped before committing them (they stay in the WAL) */
    SL_BATCH_DURABLE,   /* append without wait: the rows are in the WAL (answer 202) */
    SL_BATCH_REJECTED,  /* the WAL write or fsync failed: nothing was accepted (answer 503) */
} sl_batch_status;

/* Called exactly once per registered waiter, from the flusher thread or the batcher's timer thread.
 * `message` is the reason for FAILED (ClickHouse's text), else "". Must be quick and must not call
 * back into the batcher (resume a connection, signal a condition). */
typedef void (*sl_batcher_wait_fn)(void *ud, uint64_t seq, sl_batch_status status,
                                   const char *message);

/* One append: `rows` (n_rows RowBinaryWithDefaults rows for the table) and `quarantine`
 * (n_quarantined RowBinary rows for <name>_quarantine); either may be empty. `key` (16 bytes,
 * may be NULL) is the idempotency key stored with the record. `lead` (may be NULL): the WAL
 * record is submitted deferred to it (sl_wal_submit_deferred); the caller then calls
 * sl_wal_lead_end, after which the append's callback has often run already. */
typedef struct {
    sl_str rows;
    uint64_t n_rows;
    sl_str quarantine;
    uint64_t n_quarantined;
    const uint8_t *key;
    sl_wal_lead *lead;
} sl_batcher_block;

/* Queues a copy of the block for `ds` (the batcher takes its own reference) and writes it to the
 * WAL. Returns 0 when queued: fn is then called exactly once (possibly before this returns, on
 * another thread) with SL_BATCH_REJECTED (message says why; nothing was accepted) or, without
 * `wait`, SL_BATCH_DURABLE once the record is durable; with `wait`, with what
 * sl_batcher_wait_async would report once it is durable (COMMITTED, FAILED, TIMEOUT after
 * timeout_ms counted from now; 0 = none, DROPPED, STOPPED); fn gets the append's sequence
 * number. Whole or nothing. Without `wait`, fn runs without the batcher's lock and may call
 * sl_batcher_wait_async (to wait for the commit only once the record is durable). Errors (fn not
 * called):
 * SL_ETOOBIG buffer full (503), SL_EIO shutting down (503), SL_EMISSING data source dropped
 * (404), SL_ENOMEM. */
int sl_batcher_append_async(sl_batcher *b, sl_datasource *ds, const sl_batcher_block *blk,
                            bool wait, uint32_t timeout_ms, sl_batcher_wait_fn fn, void *ud,
                            sl_error *err);

/* Blocking append: returns once the rows are durable (0, *seq set) or failed (SL_EIO with the
 * WAL's message, or the errors of sl_batcher_append_async). */
int sl_batcher_append(sl_batcher *b, sl_datasource *ds, sl_str rows, uint64_t n_rows,
                      sl_str quarantine, uint64_t n_quarantined, uint64_t *seq, sl_error *err);

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

/* What sl_batcher_truncate runs once the rows are discarded: the TRUNCATE itself. */
typedef int (*sl_batcher_truncate_fn)(void *ud, sl_error *err);

/* Truncates ds without its queued rows landing afterwards: waits for an insert into ds that is
 * running, discards every row of ds queued so far (the batch being retried too), logs a DISCARD
 * record (so a restart does not bring them back), runs `truncate(ud, err)` while no insert into
 * ds starts, then resumes. Their waiters hear SL_BATCH_COMMITTED (written, then truncated).
 * Appends acknowledged meanwhile stay and are inserted after. Returns truncate's result. Called
 * from any thread but the flusher. */
int sl_batcher_truncate(sl_batcher *b, const sl_datasource *ds, sl_batcher_truncate_fn truncate,
                        void *ud, sl_error *err);

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
    uint64_t oldest_unflushed_us; /* gauge: age of the oldest row not yet committed (0: none) */
    uint64_t rejected;            /* appends the WAL failed to write (answered 503) */
    uint64_t recovered_records;   /* records queued again at start from the WAL */
    uint64_t max_buffer_bytes;    /* the budget appends are checked against (config) */
    uint64_t budget_used_bytes;   /* what counts against it now: WAL bytes on disk plus appends
                                     in flight with a WAL, buffer_bytes without */
    sl_wal_stats wal;             /* zero without a WAL */
    uint64_t latency_buckets[SL_BATCHER_LATENCY_BUCKETS]; /* cumulative, Prometheus style */
    uint64_t latency_count;
    double latency_sum_seconds;
} sl_batcher_stats;

void sl_batcher_get_stats(sl_batcher *b, sl_batcher_stats *out);

#endif
