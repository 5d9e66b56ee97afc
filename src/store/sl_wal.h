/* The write-ahead log: what a 202 stands on (SPEC §9). A directory of segment files
 * (<dir>/<first lsn, 16 hex digits>.wal), each a 32-byte versioned header followed by
 * length-framed records checked with XXH3-64. One writer thread appends every submitted record
 * in submission order and group-commits: one write and one fsync cover every record queued
 * meanwhile, then each submitter hears "durable" (or the error) through its callback.
 *
 * Records (sl_wal_record): DATA (one accepted request: data source, schema version, optional
 * idempotency key, counts, the row block and the quarantine block), FLUSH (the flusher is about
 * to insert the records of a data source in [first, last]), COMMIT (those are in ClickHouse),
 * DISCARD (those were given up: data source dropped), ABORT (records in [first, last] failed to
 * be written or synced and were answered with an error: ignore them on recovery).
 *
 * LSNs (log sequence numbers) increase by one per record across all segments and restarts: the
 * next LSN is max(last LSN on disk + 1, config first_lsn, wall clock in µs), and the newest
 * segment is never recycled, so a number is never reused while ClickHouse remembers a token.
 *
 * Recovery (sl_wal_open) reads every segment in order and hands each valid record to a scan
 * callback. A bad record followed by no valid one is a torn tail: the segment is truncated
 * there (logged; copied to <dir>/corrupt/ first unless it is the newest segment). A bad region
 * followed by valid records is corruption in the middle: its bytes are copied to
 * <dir>/corrupt/<segment>-<offset>.bad with an error log line and skipped. Writing then
 * continues in a fresh segment.
 *
 * All file I/O goes through an sl_wal_io table so tests can inject short writes, ENOSPC, EIO
 * and failed fsyncs. After a failed write or fsync the group's records are answered with the
 * error, the segment is truncated back and closed, and the next segment starts with an ABORT
 * record for them; the log keeps working when the disk recovers.
 *
 * Thread-safety: sl_wal_submit, sl_wal_recycle, sl_wal_read and sl_wal_get_stats may be called
 * from any thread at once. Callbacks run on the writer thread (or a submitting thread that leads
 * a group: sl_wal_lead_end), in LSN order, one at a time. */
#ifndef SL_WAL_H
#define SL_WAL_H

#include "sl_common.h"

#include <sys/types.h>
#include <sys/uio.h>

#define SL_WAL_KEY_LEN        16
#define SL_WAL_FRAME_HEADER   24 /* magic u32, payload length u32, lsn u64, check u64 */
#define SL_WAL_SEGMENT_HEADER 32
#define SL_WAL_FORMAT_VERSION 1
#define SL_WAL_MAX_PAYLOAD    ((size_t)0xFFFFFFF0u)

/* File operations; each returns >= 0 on success or -errno. `ctx` is the table's own. */
typedef struct {
    void *ctx;
    int (*open)(void *ctx, const char *path, int flags, int mode);
    ssize_t (*pwritev)(void *ctx, int fd, const struct iovec *iov, int n, off_t off);
    ssize_t (*pread)(void *ctx, int fd, void *buf, size_t len, off_t off);
    int (*fsync)(void *ctx, int fd);
    int (*ftruncate)(void *ctx, int fd, off_t len);
    int (*close)(void *ctx, int fd);
    int (*unlink)(void *ctx, const char *path);
    /* fsyncs the directory `path` (so a created or removed file's name is durable) */
    int (*fsync_dir)(void *ctx, const char *path);
    /* Optional (NULL: skipped): allocates [0, len) of fd and sets its size, so that appends
     * overwrite allocated zeros and fdatasync has no metadata to commit. */
    int (*fallocate)(void *ctx, int fd, off_t len);
} sl_wal_io;

/* The real thing (POSIX calls). Static, never freed. */
const sl_wal_io *sl_wal_io_posix(void);

typedef enum {
    SL_WAL_DATA = 1,
    SL_WAL_FLUSH = 2,
    SL_WAL_COMMIT = 3,
    SL_WAL_DISCARD = 4,
    SL_WAL_ABORT = 5,
} sl_wal_type;

/* A decoded record; slices point into the bytes it was decoded from. */
typedef struct {
    sl_wal_type type;
    uint64_t lsn;
    sl_str ds; /* data source name (empty for ABORT) */
    /* DATA */
    uint64_t version; /* sl_datasource.version the rows were converted with */
    uint64_t time_us; /* wall clock when accepted */
    bool has_key;
    uint8_t key[SL_WAL_KEY_LEN]; /* idempotency key */
    uint64_t n_rows, n_quarantined;
    sl_str rows;       /* RowBinaryWithDefaults rows of the table */
    sl_str quarantine; /* RowBinary rows of <ds>_quarantine */
    /* FLUSH, COMMIT, DISCARD: records of ds with first <= lsn <= last. ABORT: all records. */
    uint64_t first, last;
    /* FLUSH only, when has_attempt (absent in records of older versions): for the table [0] and
     * the quarantine table [1], the highest block number the table held before this attempt
     * (SL_WAL_MARK_UNKNOWN when not known), and the LSN of the FLUSH record whose token the
     * table's insert carries (encode: 0 for this record's own; decode resolves 0 to r->lsn). */
    bool has_attempt;
    uint64_t mark[2];
    uint64_t token_lsn[2];
} sl_wal_record;

#define SL_WAL_MARK_UNKNOWN UINT64_MAX

/* Where a record lives: the segment (its first LSN, i.e. its name) and the frame's offset. */
typedef struct {
    uint64_t segment;
    uint64_t offset;
    uint64_t frame_len;
} sl_wal_loc;

/* Bytes of the encoded frame (header + payload), or 0 when it exceeds SL_WAL_MAX_PAYLOAD. */
size_t sl_wal_frame_size(const sl_wal_record *r);
/* Encodes r into out (sl_wal_frame_size bytes) with r->lsn; sl_wal_submit rewrites the LSN and
 * the header check. For DATA, *rows_off (may be NULL) gets the offset of the row block inside
 * the frame (the quarantine block follows it), so a caller can keep the frame as its copy. */
void sl_wal_encode(const sl_wal_record *r, uint8_t *out, size_t *rows_off);
/* Decodes the frame at p (len bytes available). 0 with *frame_len set; SL_EINVAL when the bytes
 * are not a valid frame (bad magic, length past len, check mismatch, malformed payload). Never
 * reads past p + len. Pure: safe on untrusted bytes. */
int sl_wal_decode(const uint8_t *p, size_t len, sl_wal_record *r, size_t *frame_len, sl_error *err);

typedef enum {
    SL_WAL_FSYNC_ALWAYS,   /* answer after the fsync that covers the record (group commit) */
    SL_WAL_FSYNC_INTERVAL, /* answer after the write; fsync every fsync_interval_ms */
    SL_WAL_FSYNC_NEVER,    /* answer after the write; the OS writes back when it likes */
} sl_wal_fsync;

/* Parses "always", "never" or "interval:<ms>" (1..60000). 0 or SL_EINVAL. */
int sl_wal_parse_fsync(sl_str s, sl_wal_fsync *mode, uint32_t *interval_ms);

typedef void (*sl_wal_log_fn)(void *ud, const char *level, const char *msg);

typedef struct {
    const char *dir;            /* created if missing (its parent must exist) */
    sl_wal_fsync fsync;         /* default ALWAYS */
    uint32_t fsync_interval_ms; /* for INTERVAL; default 100 */
    uint64_t segment_bytes;     /* start a new segment past this; default 64 MiB */
    uint64_t first_lsn;         /* the next LSN is at least this (0: wall clock µs) */
    const sl_wal_io *io;        /* NULL: sl_wal_io_posix() */
    sl_wal_log_fn log;          /* optional */
    void *log_ud;
} sl_wal_config;

typedef struct sl_wal sl_wal;

/* Each valid record found by sl_wal_open, in log order. `r` and its slices are valid only
 * during the call. */
typedef void (*sl_wal_scan_fn)(void *ud, const sl_wal_record *r, const sl_wal_loc *loc);

/* Opens (recovers) the log in cfg->dir: scans every segment (see the file comment), calls
 * `scan` (may be NULL) for each valid record, starts a new segment and the writer thread.
 * Errors: SL_EIO when the directory or a segment cannot be read or the new segment cannot be
 * created (message says which). `dry_run` checks without changing anything (no truncation, no
 * copies, no new segment, no thread): for `sluice wal check|dump`. */
int sl_wal_open(const sl_wal_config *cfg, bool dry_run, sl_wal_scan_fn scan, void *ud, sl_wal **out,
                sl_error *err);

/* Called once per submitted record from the writer thread: status 0 when the record is durable
 * (per the fsync policy) at `loc`, else a negative code with a message; the record then is not
 * part of the log. Must be quick and must not call sl_wal_close. */
typedef void (*sl_wal_done_fn)(void *ud, uint64_t lsn, const sl_wal_loc *loc, int status,
                               const char *message);

/* Queues an encoded frame (sl_wal_encode) for the writer; assigns its LSN (*lsn, may be NULL)
 * in submission order. With fn, the frame stays the caller's and must stay valid until fn is
 * called (exactly once, possibly before this returns). Without fn, the WAL takes the frame
 * (malloc'd) and frees it after writing. Errors (fn not called, frame not taken): SL_EIO
 * closed. */
int sl_wal_submit(sl_wal *w, uint8_t *frame, size_t len, sl_wal_done_fn fn, void *ud, uint64_t *lsn,
                  sl_error *err);

/* Leader/follower group commit for request threads. A caller-owned sl_wal_lead, zeroed, is
 * handed to sl_wal_submit_deferred, which queues the record without waking the writer thread;
 * sl_wal_lead_end then writes and syncs the queued records on the calling thread (at most a
 * couple of groups, their callbacks running there before it returns) unless a group is being
 * written already, whose writer takes the queue next. So a request's record is often durable,
 * and its callback done, when sl_wal_lead_end returns, with no thread hand-off. In between, the
 * thread must not wait for one of its records to become durable. Call sl_wal_lead_end exactly
 * once (also when nothing was submitted: a no-op), without holding locks that callbacks take.
 * With fsync=always the writer thread writes instead (a request thread blocked in fdatasync
 * would hold up its other connections): sl_wal_lead_end only wakes it. */
typedef struct {
    sl_wal *wal; /* set by sl_wal_submit_deferred */
} sl_wal_lead;

int sl_wal_submit_deferred(sl_wal *w, uint8_t *frame, size_t len, sl_wal_done_fn fn, void *ud,
                           uint64_t *lsn, sl_wal_lead *lead, sl_error *err);
void sl_wal_lead_end(sl_wal_lead *lead);

/* Deletes every segment all of whose records have LSN < `needed` (never the newest one).
 * Returns the number of segments deleted. */
size_t sl_wal_recycle(sl_wal *w, uint64_t needed);

/* Reads the frame at `loc` into buf (replacing its content) and decodes it into r (slices
 * into buf). SL_EIO when it cannot be read or no longer checks out. */
int sl_wal_read(sl_wal *w, const sl_wal_loc *loc, sl_buf *buf, sl_wal_record *r, sl_error *err);

typedef struct {
    uint64_t disk_bytes;      /* bytes of all segments on disk */
    uint64_t segments;        /* segments on disk */
    uint64_t next_lsn;        /* the LSN the next record gets */
    uint64_t records_written; /* since open */
    uint64_t bytes_written;
    uint64_t groups;            /* write+fsync groups */
    uint64_t fsyncs;            /* fsync calls */
    uint64_t write_errors;      /* failed groups */
    uint64_t recovered_records; /* valid records found at open */
    uint64_t torn_tails;        /* segments truncated at open */
    uint64_t corrupt_regions;   /* bad regions moved aside at open */
} sl_wal_stats;

void sl_wal_get_stats(sl_wal *w, sl_wal_stats *out);

/* Writes every queued record, fsyncs (unless NEVER), stops the writer and closes the files.
 * Records submitted after this fail with SL_EIO. Idempotent. */
void sl_wal_close(sl_wal *w);
/* Closes and frees. NULL is a no-op. */
void sl_wal_free(sl_wal *w);

#endif
