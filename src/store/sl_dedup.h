/* Idempotency keys (SPEC §2): remembers, per data source, the requests accepted within a time
 * window so that a retry is answered with the original counts instead of being inserted again.
 *
 * A key is XXH3-128 over (data source name, 0 byte, 'b' or 'h', payload), where the payload is the
 * decompressed body ('b') or the Idempotency-Key header value ('h'); the tag keeps a header value
 * from colliding with an identical body. An entry holds the key, the counts of the original answer
 * and the time it was accepted.
 *
 * Protocol for a request: sl_dedup_reserve(key) →
 *   SL_DEDUP_NEW:  the caller owns the key (it is "in flight"); it must later call exactly one of
 *                  sl_dedup_complete (the rows are accepted: remember them) or sl_dedup_abort
 *                  (the request failed: forget it, so a retry is processed normally);
 *   SL_DEDUP_DONE: a request with this key was accepted within the window: replay its counts;
 *   SL_DEDUP_BUSY: another request owns the key and did not finish within wait_ms (the caller
 *                  answers "retry later"). A reserve that finds the key in flight waits on a
 *                  condition variable up to wait_ms for the owner to finish, so two identical
 *                  requests at once insert once.
 *
 * Persistence: done entries are appended to <dir>/dedup.log (fixed 48-byte records, each with an
 * XXH3-64 checksum) with write() at completion, so a crash of the process loses none; fdatasync
 * runs in groups on a background thread every sync_interval_ms (a power loss loses at most that
 * much). sl_dedup_open reloads the file, drops entries older than the window and bad records, and
 * rewrites (compacts) the file when most of it is dead; the background thread compacts too.
 *
 * Memory: done entries live in a ring in acceptance order with an open-addressing index,
 * about 56 bytes per entry. At most max_entries are kept: when full, the oldest is evicted before
 * its window ends (counted in stats.evictions), so the guarantee then covers a shorter window.
 *
 * Thread-safety: every function may be called from any thread at once (one mutex). */
#ifndef SL_DEDUP_H
#define SL_DEDUP_H

#include "sl_common.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct sl_dedup sl_dedup;

typedef struct {
    uint64_t lo, hi;
} sl_dedup_key;

/* What a replay answers. `seq` is the batcher sequence number of the original append in this
 * process (0 when unknown: entries reloaded from disk or added by recovery). */
typedef struct {
    uint64_t rows;        /* successful_rows */
    uint64_t quarantined; /* quarantined_rows */
    uint64_t seq;
    uint64_t accepted_us; /* wall clock, microseconds since the epoch */
} sl_dedup_entry;

/* Wall clock in microseconds since the epoch; injectable for tests. */
typedef uint64_t (*sl_dedup_clock_fn)(void *ud);

typedef struct {
    uint64_t window_s;         /* how long a key is remembered; default 5 h (18000) */
    size_t max_entries;        /* default 4 Mi; at least 16 */
    uint32_t sync_interval_ms; /* group fdatasync period; default 1000; 0: sync every record */
    sl_dedup_clock_fn clock;   /* NULL: CLOCK_REALTIME */
    void *clock_ud;
} sl_dedup_config;

void sl_dedup_config_default(sl_dedup_config *c);

/* Creates `dir` if needed, reloads <dir>/dedup.log and starts the sync thread. cfg is copied. */
int sl_dedup_open(const char *dir, const sl_dedup_config *cfg, sl_dedup **out, sl_error *err);
/* Syncs the file, stops the thread and frees. Keys still in flight are dropped. NULL: no-op. */
void sl_dedup_free(sl_dedup *d);

/* The key of a request for data source `ds`: of the body, or of an Idempotency-Key value. */
sl_dedup_key sl_dedup_key_of(sl_str ds, sl_str payload, bool from_header);
/* The key as 16 bytes (lo then hi, little-endian), e.g. for a WAL record, and back. */
void sl_dedup_key_to_bytes(sl_dedup_key key, uint8_t out[16]);
sl_dedup_key sl_dedup_key_from_bytes(const uint8_t in[16]);

typedef enum { SL_DEDUP_NEW, SL_DEDUP_DONE, SL_DEDUP_BUSY } sl_dedup_outcome;

/* See the protocol above. *out is filled for SL_DEDUP_DONE. wait_ms bounds the wait for an
 * owner in flight (0: do not wait). Never fails otherwise. */
sl_dedup_outcome sl_dedup_reserve(sl_dedup *d, sl_dedup_key key, uint32_t wait_ms,
                                  sl_dedup_entry *out);
/* The owner's rows were accepted: remember rows/quarantined/seq (accepted_us is taken from the
 * clock) and wake the requests waiting on the key. An I/O error writing the record is returned
 * (the key stays remembered in memory). */
int sl_dedup_complete(sl_dedup *d, sl_dedup_key key, uint64_t rows, uint64_t quarantined,
                      uint64_t seq, sl_error *err);
/* The owner failed: forget the key and wake the requests waiting on it. */
void sl_dedup_abort(sl_dedup *d, sl_dedup_key key);

/* Remembers a key accepted at `accepted_us` (for WAL recovery: the keys of durable records;
 * `seq` is the record's sequence number in this process, 0 if none). Ignored when older than the
 * window; a key already known only gets `seq` (when it had none). Written to the file like
 * complete. */
int sl_dedup_add_done(sl_dedup *d, sl_dedup_key key, uint64_t rows, uint64_t quarantined,
                      uint64_t accepted_us, uint64_t seq, sl_error *err);

/* fdatasync of the file now (the background thread does it every sync_interval_ms). */
int sl_dedup_sync(sl_dedup *d, sl_error *err);
/* Rewrites the file with only the live entries now (the thread does it when most is dead). */
int sl_dedup_compact(sl_dedup *d, sl_error *err);

typedef struct {
    uint64_t entries;      /* gauge: done keys remembered */
    uint64_t in_flight;    /* gauge: keys reserved by requests being processed */
    uint64_t hits;         /* reserves answered DONE (replays) */
    uint64_t busy;         /* reserves answered BUSY */
    uint64_t waits;        /* reserves that waited for an owner in flight */
    uint64_t evictions;    /* entries dropped before their window ended (max_entries) */
    uint64_t expired;      /* entries dropped at the end of their window */
    uint64_t file_records; /* records in the file (live and dead) */
    uint64_t compactions;
    uint64_t bad_records; /* records skipped at load (bad checksum, foreign file) */
    uint64_t io_errors;
} sl_dedup_stats;

void sl_dedup_get_stats(sl_dedup *d, sl_dedup_stats *out);

#endif
