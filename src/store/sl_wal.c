/* The write-ahead log (contract in sl_wal.h): record framing, recovery scan, and the writer
 * thread that group-commits queued records. Integers on disk are little-endian. */
#include "sl_wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#define FRAME_MAGIC   0x57524c53u /* "SLRW" */
#define SEG_MAGIC     "SLUICEWL"
#define PAYLOAD_FIXED 8 /* type u8, flags u8, name length u16, reserved u32 */
#define DATA_FIXED    48
#define RANGE_FIXED   16
#define ATTEMPT_FIXED 32 /* FLUSH with FLAG_ATTEMPT: mark[2], token_lsn[2] */
#define FLAG_KEY      1u
#define FLAG_ATTEMPT  2u
#define MAX_IOV       512

/* ---- little-endian helpers ---- */

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* ---- framing ---- */

static size_t payload_size(const sl_wal_record *r)
{
    size_t n = PAYLOAD_FIXED + r->ds.len;
    if (r->type == SL_WAL_DATA) {
        n += DATA_FIXED + (r->has_key ? SL_WAL_KEY_LEN : 0);
        if (r->rows.len > SL_WAL_MAX_PAYLOAD || r->quarantine.len > SL_WAL_MAX_PAYLOAD)
            return SIZE_MAX;
        n += r->rows.len + r->quarantine.len;
    } else {
        n += RANGE_FIXED;
        if (r->type == SL_WAL_FLUSH && r->has_attempt)
            n += ATTEMPT_FIXED;
    }
    return n;
}

size_t sl_wal_frame_size(const sl_wal_record *r)
{
    if (r->ds.len > UINT16_MAX)
        return 0;
    size_t n = payload_size(r);
    if (n > SL_WAL_MAX_PAYLOAD)
        return 0;
    return SL_WAL_FRAME_HEADER + n;
}

/* The frame check: XXH3 of the payload mixed with XXH3 of the first 16 header bytes, so the
 * LSN can be rewritten without rehashing the payload. */
static uint64_t header_hash(const uint8_t *frame)
{
    return XXH3_64bits(frame, 16);
}

void sl_wal_encode(const sl_wal_record *r, uint8_t *out, size_t *rows_off)
{
    size_t plen = payload_size(r);
    uint8_t *p = out + SL_WAL_FRAME_HEADER;
    p[0] = (uint8_t)r->type;
    bool attempt = r->type == SL_WAL_FLUSH && r->has_attempt;
    p[1] = (uint8_t)(r->type == SL_WAL_DATA && r->has_key ? FLAG_KEY : attempt ? FLAG_ATTEMPT : 0);
    p[2] = (uint8_t)(r->ds.len & 0xff);
    p[3] = (uint8_t)(r->ds.len >> 8);
    put32(p + 4, 0);
    uint8_t *q = p + PAYLOAD_FIXED;
    if (r->type == SL_WAL_DATA) {
        put64(q, r->version);
        put64(q + 8, r->time_us);
        put64(q + 16, r->n_rows);
        put64(q + 24, r->n_quarantined);
        put64(q + 32, r->rows.len);
        put64(q + 40, r->quarantine.len);
        q += DATA_FIXED;
        if (r->has_key) {
            memcpy(q, r->key, SL_WAL_KEY_LEN);
            q += SL_WAL_KEY_LEN;
        }
    } else {
        put64(q, r->first);
        put64(q + 8, r->last);
        q += RANGE_FIXED;
        if (attempt) {
            for (int t = 0; t < 2; t++) {
                put64(q + 16 * t, r->mark[t]);
                put64(q + 16 * t + 8, r->token_lsn[t]);
            }
            q += ATTEMPT_FIXED;
        }
    }
    if (r->ds.len)
        memcpy(q, r->ds.ptr, r->ds.len);
    q += r->ds.len;
    if (rows_off)
        *rows_off = (size_t)(q - out);
    if (r->type == SL_WAL_DATA) {
        if (r->rows.len)
            memcpy(q, r->rows.ptr, r->rows.len);
        q += r->rows.len;
        if (r->quarantine.len)
            memcpy(q, r->quarantine.ptr, r->quarantine.len);
    }
    put32(out, FRAME_MAGIC);
    put32(out + 4, (uint32_t)plen);
    put64(out + 8, r->lsn);
    put64(out + 16, XXH3_64bits(p, plen) ^ header_hash(out));
}

/* Rewrites the LSN of an encoded frame and fixes its check. */
static void set_lsn(uint8_t *frame, uint64_t lsn)
{
    uint64_t check = get64(frame + 16) ^ header_hash(frame);
    put64(frame + 8, lsn);
    put64(frame + 16, check ^ header_hash(frame));
}

int sl_wal_decode(const uint8_t *p, size_t len, sl_wal_record *r, size_t *frame_len, sl_error *err)
{
    memset(r, 0, sizeof *r);
    if (len < SL_WAL_FRAME_HEADER)
        return sl_error_set(err, SL_EINVAL, "truncated record header", 0);
    if (get32(p) != FRAME_MAGIC)
        return sl_error_set(err, SL_EINVAL, "bad record magic", 0);
    size_t plen = get32(p + 4);
    if (plen > len - SL_WAL_FRAME_HEADER)
        return sl_error_set(err, SL_EINVAL, "record runs past the end of the segment", 0);
    if (plen < PAYLOAD_FIXED)
        return sl_error_set(err, SL_EINVAL, "record too short", 0);
    const uint8_t *q = p + SL_WAL_FRAME_HEADER;
    if ((XXH3_64bits(q, plen) ^ header_hash(p)) != get64(p + 16))
        return sl_error_set(err, SL_EINVAL, "record checksum mismatch", 0);
    r->lsn = get64(p + 8);
    r->type = (sl_wal_type)q[0];
    uint8_t flags = q[1];
    size_t nlen = (size_t)q[2] | ((size_t)q[3] << 8);
    size_t need = PAYLOAD_FIXED + nlen;
    const uint8_t *f = q + PAYLOAD_FIXED;
    if (r->type == SL_WAL_DATA) {
        if (plen < PAYLOAD_FIXED + DATA_FIXED)
            return sl_error_set(err, SL_EINVAL, "malformed data record", 0);
        r->version = get64(f);
        r->time_us = get64(f + 8);
        r->n_rows = get64(f + 16);
        r->n_quarantined = get64(f + 24);
        uint64_t rl = get64(f + 32), ql = get64(f + 40);
        r->has_key = (flags & FLAG_KEY) != 0;
        uint64_t total = (uint64_t)need + DATA_FIXED + (r->has_key ? SL_WAL_KEY_LEN : 0);
        if (rl > plen || ql > plen || total + rl + ql != plen)
            return sl_error_set(err, SL_EINVAL, "malformed data record", 0);
        f += DATA_FIXED;
        if (r->has_key) {
            memcpy(r->key, f, SL_WAL_KEY_LEN);
            f += SL_WAL_KEY_LEN;
        }
        r->ds = (sl_str){(const char *)f, nlen};
        f += nlen;
        r->rows = (sl_str){(const char *)f, (size_t)rl};
        r->quarantine = (sl_str){(const char *)f + rl, (size_t)ql};
    } else if (r->type >= SL_WAL_FLUSH && r->type <= SL_WAL_ABORT) {
        r->has_attempt = r->type == SL_WAL_FLUSH && (flags & FLAG_ATTEMPT);
        size_t fixed = RANGE_FIXED + (r->has_attempt ? ATTEMPT_FIXED : 0);
        if (need + fixed != plen)
            return sl_error_set(err, SL_EINVAL, "malformed range record", 0);
        r->first = get64(f);
        r->last = get64(f + 8);
        for (int t = 0; t < 2; t++) {
            r->mark[t] = r->has_attempt ? get64(f + RANGE_FIXED + 16 * t) : SL_WAL_MARK_UNKNOWN;
            uint64_t tok = r->has_attempt ? get64(f + RANGE_FIXED + 16 * t + 8) : 0;
            r->token_lsn[t] = r->has_attempt && tok == 0 ? r->lsn : tok;
        }
        r->ds = (sl_str){(const char *)f + fixed, nlen};
    } else {
        return sl_error_set(err, SL_EINVAL, "unknown record type", 0);
    }
    *frame_len = SL_WAL_FRAME_HEADER + plen;
    return 0;
}

int sl_wal_parse_fsync(sl_str s, sl_wal_fsync *mode, uint32_t *interval_ms)
{
    if (sl_str_eq_cstr(s, "always")) {
        *mode = SL_WAL_FSYNC_ALWAYS;
        return 0;
    }
    if (sl_str_eq_cstr(s, "never")) {
        *mode = SL_WAL_FSYNC_NEVER;
        return 0;
    }
    static const char pre[] = "interval:";
    size_t pl = sizeof pre - 1;
    if (s.len <= pl || memcmp(s.ptr, pre, pl) != 0 || s.len - pl > 5)
        return SL_EINVAL;
    uint32_t v = 0;
    for (size_t i = pl; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            return SL_EINVAL;
        v = v * 10 + (uint32_t)(s.ptr[i] - '0');
    }
    if (v < 1 || v > 60000)
        return SL_EINVAL;
    *mode = SL_WAL_FSYNC_INTERVAL;
    *interval_ms = v;
    return 0;
}

/* ---- POSIX I/O ---- */

static int px_open(void *ctx, const char *path, int flags, int mode)
{
    (void)ctx;
    int fd = open(path, flags | O_CLOEXEC, mode);
    return fd < 0 ? -errno : fd;
}

static ssize_t px_pwritev(void *ctx, int fd, const struct iovec *iov, int n, off_t off)
{
    (void)ctx;
    ssize_t r = pwritev(fd, iov, n, off);
    return r < 0 ? -errno : r;
}

static ssize_t px_pread(void *ctx, int fd, void *buf, size_t len, off_t off)
{
    (void)ctx;
    ssize_t r = pread(fd, buf, len, off);
    return r < 0 ? -errno : r;
}

static int px_fsync(void *ctx, int fd)
{
    (void)ctx;
    return fdatasync(fd) < 0 ? -errno : 0;
}

static int px_ftruncate(void *ctx, int fd, off_t len)
{
    (void)ctx;
    return ftruncate(fd, len) < 0 ? -errno : 0;
}

static int px_close(void *ctx, int fd)
{
    (void)ctx;
    return close(fd) < 0 ? -errno : 0;
}

static int px_unlink(void *ctx, const char *path)
{
    (void)ctx;
    return unlink(path) < 0 ? -errno : 0;
}

static int px_fsync_dir(void *ctx, const char *path)
{
    (void)ctx;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

static int px_fallocate(void *ctx, int fd, off_t len)
{
    (void)ctx;
    return fallocate(fd, 0, 0, len) < 0 ? -errno : 0;
}

static const sl_wal_io posix_io = {
    .ctx = NULL,
    .open = px_open,
    .pwritev = px_pwritev,
    .pread = px_pread,
    .fsync = px_fsync,
    .ftruncate = px_ftruncate,
    .close = px_close,
    .unlink = px_unlink,
    .fsync_dir = px_fsync_dir,
    .fallocate = px_fallocate,
};

const sl_wal_io *sl_wal_io_posix(void)
{
    return &posix_io;
}

/* ---- the log ---- */

typedef struct item {
    struct item *next;
    uint8_t *frame;
    size_t len;
    uint64_t lsn;
    sl_wal_done_fn fn;
    void *ud;
} item;

typedef struct {
    uint64_t first;   /* name and header LSN */
    uint64_t size;    /* bytes on disk */
    uint64_t max_lsn; /* highest record LSN in it (0: none) */
} seg;

struct sl_wal {
    sl_wal_config cfg;
    const sl_wal_io *io;
    bool dry_run;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    item *head, *tail;
    bool closing, closed, thread_started;
    bool writing; /* a group is being written (by the writer thread or a leading submitter) */
    bool timed;   /* the writer thread sleeps until the next interval fsync is due */
    pthread_t thread;
    uint64_t next_lsn;
    seg *segs; /* sorted; the last one is where the writer appends (if fd >= 0) */
    size_t n_segs, cap_segs;
    sl_wal_stats st;
    /* owned by the thread writing a group (`writing`): the writer thread or a leader */
    int fd;
    uint64_t fd_first;
    uint64_t fd_size;
    bool abort_pending;
    uint64_t abort_first, abort_last;
    bool dirty;    /* written since the last fsync (INTERVAL) */
    bool prealloc; /* the current segment was preallocated: cut its size on close */
    uint64_t last_sync_ns;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void logf_(sl_wal *w, const char *level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(sl_wal *w, const char *level, const char *fmt, ...)
{
    if (!w->cfg.log)
        return;
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    w->cfg.log(w->cfg.log_ud, level, msg);
}

static void seg_path(const sl_wal *w, uint64_t first, char *out, size_t n)
{
    snprintf(out, n, "%s/%016" PRIx64 ".wal", w->cfg.dir, first);
}

/* Caller holds mu. */
static seg *seg_find(sl_wal *w, uint64_t first)
{
    for (size_t i = 0; i < w->n_segs; i++)
        if (w->segs[i].first == first)
            return &w->segs[i];
    return NULL;
}

static void seg_add(sl_wal *w, uint64_t first, uint64_t size)
{
    if (w->n_segs == w->cap_segs) {
        w->cap_segs = w->cap_segs ? w->cap_segs * 2 : 16;
        w->segs = sl_xrealloc(w->segs, w->cap_segs * sizeof *w->segs);
    }
    w->segs[w->n_segs++] = (seg){first, size, 0};
}

/* Writes all of iov at off, continuing after short writes. 0 or -errno (-EIO for a write that
 * makes no progress). */
static int write_all(sl_wal *w, int fd, struct iovec *iov, int n, off_t off)
{
    while (n > 0) {
        ssize_t k = w->io->pwritev(w->io->ctx, fd, iov, n > MAX_IOV ? MAX_IOV : n, off);
        if (k == -EINTR)
            continue;
        if (k < 0)
            return (int)k;
        if (k == 0)
            return -EIO;
        off += k;
        size_t left = (size_t)k;
        while (n > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0 && left) {
            iov->iov_base = (uint8_t *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return 0;
}

/* Creates segment `first` with its header and makes it the current one. 0 or -errno. */
static int open_segment(sl_wal *w, uint64_t first)
{
    char path[4200];
    seg_path(w, first, path, sizeof path);
    int fd = w->io->open(w->io->ctx, path, O_CREAT | O_TRUNC | O_WRONLY, 0640);
    if (fd < 0)
        return fd;
    uint8_t h[SL_WAL_SEGMENT_HEADER];
    memcpy(h, SEG_MAGIC, 8);
    put32(h + 8, SL_WAL_FORMAT_VERSION);
    put32(h + 12, SL_WAL_SEGMENT_HEADER);
    put64(h + 16, first);
    put64(h + 24, XXH3_64bits(h, 24));
    struct iovec iov = {h, sizeof h};
    int rc = write_all(w, fd, &iov, 1, 0);
    if (rc == 0 && w->cfg.fsync != SL_WAL_FSYNC_NEVER) {
        rc = w->io->fsync(w->io->ctx, fd);
        if (rc == 0)
            rc = w->io->fsync_dir(w->io->ctx, w->cfg.dir);
    }
    if (rc != 0) {
        w->io->close(w->io->ctx, fd);
        w->io->unlink(w->io->ctx, path);
        return rc;
    }
    /* Preallocated: an fdatasync after an append into allocated space has no file size to
     * commit, which made it several times cheaper here. Recovery ignores the zero tail. */
    w->prealloc =
        w->io->fallocate && w->io->fallocate(w->io->ctx, fd, (off_t)w->cfg.segment_bytes) == 0;
    if (w->prealloc && w->cfg.fsync != SL_WAL_FSYNC_NEVER)
        w->io->fsync(w->io->ctx, fd);
    w->fd = fd;
    w->fd_first = first;
    w->fd_size = SL_WAL_SEGMENT_HEADER;
    pthread_mutex_lock(&w->mu);
    seg_add(w, first, SL_WAL_SEGMENT_HEADER);
    w->st.segments = w->n_segs;
    w->st.disk_bytes += SL_WAL_SEGMENT_HEADER;
    pthread_mutex_unlock(&w->mu);
    return 0;
}

static void close_segment(sl_wal *w)
{
    if (w->fd < 0)
        return;
    if (w->prealloc) {
        w->io->ftruncate(w->io->ctx, w->fd, (off_t)w->fd_size);
        w->dirty = true;
    }
    if (w->dirty && w->cfg.fsync != SL_WAL_FSYNC_NEVER) {
        if (w->io->fsync(w->io->ctx, w->fd) != 0)
            logf_(w, "error", "wal: fsync of segment %016" PRIx64 " failed on close", w->fd_first);
    }
    w->dirty = false;
    w->io->close(w->io->ctx, w->fd);
    w->fd = -1;
}

static void sync_now(sl_wal *w)
{
    int rc = w->io->fsync(w->io->ctx, w->fd);
    pthread_mutex_lock(&w->mu);
    w->st.fsyncs++;
    pthread_mutex_unlock(&w->mu);
    w->last_sync_ns = mono_ns();
    w->dirty = false;
    if (rc != 0) {
        /* Acknowledged records may be lost on power failure; start afresh in a new segment. */
        logf_(w, "error",
              "wal: periodic fsync failed (%s); records written in the last interval "
              "may not survive a power loss",
              strerror(-rc));
        close_segment(w);
    }
}

/* Writes and syncs one group (list in LSN order), then calls back and frees the items. */
static void write_group(sl_wal *w, item *list)
{
    size_t n = 0, bytes = 0;
    for (item *it = list; it; it = it->next) {
        n++;
        bytes += it->len;
    }
    uint64_t first = list->lsn, last = list->lsn;
    for (item *it = list; it; it = it->next)
        last = it->lsn;

    uint8_t abort_frame[SL_WAL_FRAME_HEADER + PAYLOAD_FIXED + RANGE_FIXED];
    size_t abort_len = 0;
    int rc = 0;
    const char *what = "write";
    if (w->fd >= 0 && w->fd_size > SL_WAL_SEGMENT_HEADER &&
        w->fd_size + bytes > w->cfg.segment_bytes)
        close_segment(w);
    if (w->fd < 0) {
        rc = open_segment(w, first);
        what = "create a segment";
    }
    if (rc == 0 && w->abort_pending) {
        sl_wal_record ab = {.type = SL_WAL_ABORT, .first = w->abort_first, .last = w->abort_last};
        abort_len = sl_wal_frame_size(&ab);
        sl_wal_encode(&ab, abort_frame, NULL);
    }
    off_t off = (off_t)w->fd_size;
    size_t total = bytes + abort_len;
    if (rc == 0) {
        struct iovec *iov = sl_xmalloc((n + 1) * sizeof *iov);
        int k = 0;
        if (abort_len)
            iov[k++] = (struct iovec){abort_frame, abort_len};
        for (item *it = list; it; it = it->next)
            iov[k++] = (struct iovec){it->frame, it->len};
        rc = write_all(w, w->fd, iov, k, off);
        free(iov);
        if (rc == 0 && w->cfg.fsync == SL_WAL_FSYNC_ALWAYS) {
            what = "fsync";
            rc = w->io->fsync(w->io->ctx, w->fd);
            pthread_mutex_lock(&w->mu);
            w->st.fsyncs++;
            pthread_mutex_unlock(&w->mu);
        }
    }
    char message[200] = "";
    if (rc == 0) {
        w->fd_size += total;
        w->abort_pending = false;
        if (w->cfg.fsync == SL_WAL_FSYNC_INTERVAL) {
            w->dirty = true;
            if (mono_ns() - w->last_sync_ns >= (uint64_t)w->cfg.fsync_interval_ms * 1000000u)
                sync_now(w);
        }
    } else {
        snprintf(message, sizeof message, "cannot %s in the write-ahead log: %s", what,
                 strerror(-rc));
        logf_(w, "error", "wal: %s (records %" PRIu64 "-%" PRIu64 " rejected)", message, first,
              last);
        if (w->fd >= 0) {
            /* Take the bytes back if we can; ABORT covers the records either way. */
            if (w->io->ftruncate(w->io->ctx, w->fd, off) == 0)
                w->io->fsync(w->io->ctx, w->fd);
            w->dirty = false;
            w->io->close(w->io->ctx, w->fd);
            w->fd = -1;
        }
        if (!w->abort_pending) {
            w->abort_pending = true;
            w->abort_first = first;
        }
        w->abort_last = last;
    }
    pthread_mutex_lock(&w->mu);
    if (rc == 0) {
        seg *s = seg_find(w, w->fd_first);
        if (s) {
            s->size = w->fd_size;
            s->max_lsn = last;
        }
        w->st.disk_bytes += total;
        w->st.records_written += n;
        w->st.bytes_written += total;
        w->st.groups++;
    } else {
        w->st.write_errors++;
    }
    pthread_mutex_unlock(&w->mu);
    sl_wal_loc loc = {.segment = w->fd_first, .offset = (uint64_t)off + abort_len};
    for (item *it = list, *next; it; it = next) {
        next = it->next;
        loc.frame_len = it->len;
        if (it->fn)
            it->fn(it->ud, it->lsn, &loc, rc == 0 ? 0 : SL_EIO, message);
        else
            free(it->frame);
        loc.offset += it->len;
        free(it);
    }
}

/* The writer thread: writes what submitters queue, unless a submitter leads (sl_wal_lead); one
 * group at a time either way (`writing`), so groups stay in LSN order. */
static void *writer_main(void *arg)
{
    sl_wal *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        if (w->writing) {
            /* A leader drains the queue, or wakes us when it leaves work behind. */
            pthread_cond_wait(&w->cv, &w->mu);
            continue;
        }
        if (!w->head) {
            if (w->closing)
                break;
            if (w->dirty && w->fd >= 0) {
                uint64_t at = w->last_sync_ns + (uint64_t)w->cfg.fsync_interval_ms * 1000000u;
                if (mono_ns() >= at) {
                    w->writing = true;
                    pthread_mutex_unlock(&w->mu);
                    sync_now(w);
                    pthread_mutex_lock(&w->mu);
                    w->writing = false;
                    continue;
                }
                struct timespec ts = {(time_t)(at / 1000000000u), (long)(at % 1000000000u)};
                w->timed = true;
                pthread_cond_timedwait(&w->cv, &w->mu, &ts);
                w->timed = false;
            } else {
                pthread_cond_wait(&w->cv, &w->mu);
            }
            continue;
        }
        item *list = w->head;
        w->head = w->tail = NULL;
        w->writing = true;
        pthread_mutex_unlock(&w->mu);
        write_group(w, list);
        pthread_mutex_lock(&w->mu);
        w->writing = false;
    }
    pthread_mutex_unlock(&w->mu);
    close_segment(w);
    return NULL;
}

/* Groups a leading submitter writes before leaving the rest to the writer thread: it answers
 * its own connections' requests meanwhile only after returning. */
#define LEAD_MAX_GROUPS 2

/* Whether submitters lead: only when a group costs a write, not an fsync. With fsync=always a
 * request thread blocked in fdatasync holds up every connection it serves (measured: groups of
 * one record, 3.8k requests/s, when the connections sat on one thread), so the writer thread
 * writes and suspended requests share its fsync. */
static bool submitters_lead(const sl_wal *w)
{
    return w->cfg.fsync != SL_WAL_FSYNC_ALWAYS;
}

/* Writes queued groups on the calling thread unless a group is being written now (whoever
 * writes it takes the queue next). Callbacks run here. */
static void lead(sl_wal *w)
{
    pthread_mutex_lock(&w->mu);
    if (!submitters_lead(w)) {
        if (w->head && !w->writing)
            pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
        return;
    }
    bool led = false, dirty = false;
    for (int g = 0; g < LEAD_MAX_GROUPS && w->head && !w->writing; g++) {
        item *list = w->head;
        w->head = w->tail = NULL;
        w->writing = true;
        pthread_mutex_unlock(&w->mu);
        write_group(w, list);
        pthread_mutex_lock(&w->mu);
        dirty = w->dirty;
        w->writing = false;
        led = true;
    }
    /* Work left, a close waiting, or an interval fsync to schedule: the writer thread's. */
    if (led && (w->head || w->closing || (dirty && !w->timed)))
        pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void sl_wal_lead_end(sl_wal_lead *l)
{
    sl_wal *w = l->wal;
    l->wal = NULL;
    if (w)
        lead(w);
}

/* Queues the record; with `l`, the caller writes it at sl_wal_lead_end (unless a writer takes
 * it first), else the writer thread is woken. */
static int submit(sl_wal *w, uint8_t *frame, size_t len, sl_wal_done_fn fn, void *ud, uint64_t *lsn,
                  sl_wal_lead *l, sl_error *err)
{
    item *it = malloc(sizeof *it);
    if (!it)
        return sl_error_set(err, SL_ENOMEM, "out of memory", 0);
    it->next = NULL;
    it->frame = frame;
    it->len = len;
    it->fn = fn;
    it->ud = ud;
    pthread_mutex_lock(&w->mu);
    if (w->closing || !w->thread_started) {
        pthread_mutex_unlock(&w->mu);
        free(it);
        return sl_error_set(err, SL_EIO, "the write-ahead log is closed", 0);
    }
    it->lsn = w->next_lsn++;
    w->st.next_lsn = w->next_lsn;
    set_lsn(frame, it->lsn);
    if (lsn)
        *lsn = it->lsn;
    if (w->tail)
        w->tail->next = it;
    else
        w->head = it;
    w->tail = it;
    if (l && (!l->wal || l->wal == w))
        l->wal = w; /* the caller writes it at sl_wal_lead_end, unless a writer takes it */
    else if (!w->writing)
        pthread_cond_signal(&w->cv); /* else the group being written takes the queue next */
    pthread_mutex_unlock(&w->mu);
    return 0;
}

int sl_wal_submit(sl_wal *w, uint8_t *frame, size_t len, sl_wal_done_fn fn, void *ud, uint64_t *lsn,
                  sl_error *err)
{
    return submit(w, frame, len, fn, ud, lsn, NULL, err);
}

int sl_wal_submit_deferred(sl_wal *w, uint8_t *frame, size_t len, sl_wal_done_fn fn, void *ud,
                           uint64_t *lsn, sl_wal_lead *lead, sl_error *err)
{
    return submit(w, frame, len, fn, ud, lsn, lead, err);
}

size_t sl_wal_recycle(sl_wal *w, uint64_t needed)
{
    size_t removed = 0;
    char path[4200];
    pthread_mutex_lock(&w->mu);
    /* Oldest first; stop at the first segment still needed, so COMMIT records of kept
     * segments' data are never lost before the data. The newest segment always stays. */
    while (w->n_segs > 1) {
        seg s = w->segs[0];
        uint64_t max = s.max_lsn ? s.max_lsn : s.first;
        if (max >= needed)
            break;
        seg_path(w, s.first, path, sizeof path);
        int u = w->io->unlink(w->io->ctx, path);
        if (u != 0 && u != -ENOENT)
            break;
        memmove(w->segs, w->segs + 1, (w->n_segs - 1) * sizeof *w->segs);
        w->n_segs--;
        w->st.disk_bytes -= s.size;
        w->st.segments = w->n_segs;
        removed++;
    }
    pthread_mutex_unlock(&w->mu);
    if (removed && w->cfg.fsync != SL_WAL_FSYNC_NEVER)
        w->io->fsync_dir(w->io->ctx, w->cfg.dir);
    return removed;
}

/* Reads all of path into buf. 0 or -errno. */
static int read_file(sl_wal *w, const char *path, sl_buf *buf)
{
    buf->len = 0;
    int fd = w->io->open(w->io->ctx, path, O_RDONLY, 0);
    if (fd < 0)
        return fd;
    int rc = 0;
    for (;;) {
        /* Grow only when nearly full: the usual last read (0 bytes) must not realloc. */
        if (buf->alloc - buf->len < (1u << 16) && sl_buf_reserve(buf, 1 << 20) != 0) {
            rc = -ENOMEM;
            break;
        }
        ssize_t k = w->io->pread(w->io->ctx, fd, buf->data + buf->len, buf->alloc - buf->len,
                                 (off_t)buf->len);
        if (k == -EINTR)
            continue;
        if (k < 0) {
            rc = (int)k;
            break;
        }
        if (k == 0)
            break;
        buf->len += (size_t)k;
    }
    w->io->close(w->io->ctx, fd);
    return rc;
}

int sl_wal_read(sl_wal *w, const sl_wal_loc *loc, sl_buf *buf, sl_wal_record *r, sl_error *err)
{
    char path[4200];
    seg_path(w, loc->segment, path, sizeof path);
    buf->len = 0;
    if (loc->frame_len > SL_WAL_FRAME_HEADER + SL_WAL_MAX_PAYLOAD ||
        sl_buf_reserve(buf, (size_t)loc->frame_len) != 0)
        return sl_error_set(err, SL_ENOMEM, "out of memory reading the write-ahead log", 0);
    int fd = w->io->open(w->io->ctx, path, O_RDONLY, 0);
    if (fd < 0)
        return sl_error_setf(err, SL_EIO, 0, "cannot open %s: %s", path, strerror(-fd));
    int rc = 0;
    while (buf->len < loc->frame_len) {
        ssize_t k =
            w->io->pread(w->io->ctx, fd, buf->data + buf->len, (size_t)loc->frame_len - buf->len,
                         (off_t)(loc->offset + buf->len));
        if (k == -EINTR)
            continue;
        if (k <= 0) {
            rc = sl_error_setf(err, SL_EIO, 0, "cannot read %s at %" PRIu64 ": %s", path,
                               loc->offset, k < 0 ? strerror((int)-k) : "end of file");
            break;
        }
        buf->len += (size_t)k;
    }
    w->io->close(w->io->ctx, fd);
    if (rc)
        return rc;
    size_t fl;
    if (sl_wal_decode(buf->data, buf->len, r, &fl, err) != 0)
        return sl_error_setf(err, SL_EIO, 0, "record at %s:%" PRIu64 " no longer checks out", path,
                             loc->offset);
    return 0;
}

/* Copies bytes [off, off+n) of segment `first` to <dir>/corrupt/<first>-<off>.bad. */
static void move_aside(sl_wal *w, uint64_t first, const uint8_t *p, size_t off, size_t n)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/corrupt", w->cfg.dir);
    mkdir(path, 0750);
    snprintf(path, sizeof path, "%s/corrupt/%016" PRIx64 "-%zu.bad", w->cfg.dir, first, off);
    int fd = w->io->open(w->io->ctx, path, O_CREAT | O_TRUNC | O_WRONLY, 0640);
    if (fd < 0) {
        logf_(w, "error", "wal: cannot save corrupt bytes to %s: %s", path, strerror(-fd));
        return;
    }
    struct iovec iov = {(void *)p, n};
    int rc = write_all(w, fd, &iov, 1, 0);
    if (rc == 0)
        rc = w->io->fsync(w->io->ctx, fd);
    w->io->close(w->io->ctx, fd);
    if (rc != 0)
        logf_(w, "error", "wal: cannot save corrupt bytes to %s: %s", path, strerror(-rc));
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Lists the segment names (first LSNs) in dir, sorted. */
static int list_segments(const char *dir, uint64_t **out, size_t *n, sl_error *err)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return sl_error_setf(err, SL_EIO, 0, "cannot read %s: %s", dir, strerror(errno));
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *s = e->d_name;
        if (strlen(s) != 20 || strcmp(s + 16, ".wal") != 0)
            continue;
        uint64_t v = 0;
        bool ok = true;
        for (int i = 0; i < 16 && ok; i++) {
            char c = s[i];
            int x = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (x < 0)
                ok = false;
            v = (v << 4) | (uint64_t)(x < 0 ? 0 : x);
        }
        if (!ok)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = sl_xrealloc(*out, cap * sizeof **out);
        }
        (*out)[(*n)++] = v;
    }
    closedir(d);
    if (*n)
        qsort(*out, *n, sizeof **out, cmp_u64);
    return 0;
}

/* Finds the next offset >= from where a valid frame starts, or 0. */
static size_t resync(const uint8_t *p, size_t len, size_t from)
{
    uint8_t m[4];
    put32(m, FRAME_MAGIC);
    for (size_t o = from; o + SL_WAL_FRAME_HEADER <= len; o++) {
        const uint8_t *hit = memchr(p + o, m[0], len - o);
        if (!hit)
            return 0;
        o = (size_t)(hit - p);
        if (o + 4 <= len && memcmp(hit, m, 4) == 0) {
            sl_wal_record r;
            size_t fl;
            if (sl_wal_decode(hit, len - o, &r, &fl, NULL) == 0)
                return o;
        }
    }
    return 0;
}

/* Scans one segment; returns the highest LSN seen in *max_lsn. */
static int scan_segment(sl_wal *w, uint64_t first, bool newest, sl_buf *buf, sl_wal_scan_fn scan,
                        void *ud, uint64_t *max_lsn, sl_error *err)
{
    char path[4200];
    seg_path(w, first, path, sizeof path);
    int rc = read_file(w, path, buf);
    if (rc != 0)
        return sl_error_setf(err, SL_EIO, 0, "cannot read %s: %s", path, strerror(-rc));
    const uint8_t *p = buf->data;
    size_t len = buf->len;
    bool hdr_ok = len >= SL_WAL_SEGMENT_HEADER && memcmp(p, SEG_MAGIC, 8) == 0 &&
                  get32(p + 8) == SL_WAL_FORMAT_VERSION && get64(p + 16) == first &&
                  get64(p + 24) == XXH3_64bits(p, 24);
    if (!hdr_ok) {
        if (len < SL_WAL_SEGMENT_HEADER && newest) {
            /* Torn while being created: it never held a record. */
            logf_(w, "warn", "wal: %s has a torn header (%zu bytes): removed", path, len);
            if (!w->dry_run)
                w->io->unlink(w->io->ctx, path);
            w->st.torn_tails++;
            return 1;
        }
        if (len >= 12 && memcmp(p, SEG_MAGIC, 8) == 0 && get32(p + 8) != SL_WAL_FORMAT_VERSION)
            return sl_error_setf(err, SL_EIO, 0,
                                 "%s has format version %u; this sluice reads version %u", path,
                                 get32(p + 8), SL_WAL_FORMAT_VERSION);
        logf_(w, "error", "wal: %s has a corrupt header: moved aside to %s/corrupt/", path,
              w->cfg.dir);
        if (!w->dry_run) {
            move_aside(w, first, p, 0, len);
            w->io->unlink(w->io->ctx, path);
        }
        w->st.corrupt_regions++;
        return 1;
    }
    size_t off = SL_WAL_SEGMENT_HEADER;
    uint64_t seg_max = 0;
    while (off < len) {
        sl_wal_record r;
        size_t fl;
        sl_error e = {0};
        if (sl_wal_decode(p + off, len - off, &r, &fl, &e) == 0) {
            sl_wal_loc loc = {first, off, fl};
            if (r.lsn > seg_max)
                seg_max = r.lsn;
            w->st.recovered_records++;
            if (scan)
                scan(ud, &r, &loc);
            off += fl;
            continue;
        }
        bool zeros = true;
        for (size_t i = off; i < len && zeros; i++)
            zeros = p[i] == 0;
        if (zeros) {
            /* The preallocated, never written rest of a segment: the normal end. */
            if (!w->dry_run) {
                int fd = w->io->open(w->io->ctx, path, O_WRONLY, 0);
                int trc = fd < 0 ? fd : w->io->ftruncate(w->io->ctx, fd, (off_t)off);
                if (trc == 0)
                    trc = w->io->fsync(w->io->ctx, fd);
                if (fd >= 0)
                    w->io->close(w->io->ctx, fd);
                if (trc != 0)
                    return sl_error_setf(err, SL_EIO, 0, "cannot truncate %s: %s", path,
                                         strerror(-trc));
            }
            len = off;
            break;
        }
        size_t next = resync(p, len, off + 1);
        if (next) {
            logf_(w, "error",
                  "wal: CORRUPT record in %s at offset %zu (%s): %zu bytes moved aside to "
                  "%s/corrupt/ and skipped; the records after it are kept",
                  path, off, e.msg, next - off, w->cfg.dir);
            if (!w->dry_run)
                move_aside(w, first, p + off, off, next - off);
            w->st.corrupt_regions++;
            off = next;
            continue;
        }
        /* Nothing valid after it: a torn tail (a write cut short by a crash). */
        logf_(w, newest ? "warn" : "error",
              "wal: torn tail in %s at offset %zu (%s): truncated %zu bytes%s", path, off, e.msg,
              len - off, newest ? "" : " (copied to corrupt/ first)");
        if (!w->dry_run) {
            if (!newest)
                move_aside(w, first, p + off, off, len - off);
            int fd = w->io->open(w->io->ctx, path, O_WRONLY, 0);
            int trc = fd < 0 ? fd : w->io->ftruncate(w->io->ctx, fd, (off_t)off);
            if (trc == 0)
                trc = w->io->fsync(w->io->ctx, fd);
            if (fd >= 0)
                w->io->close(w->io->ctx, fd);
            if (trc != 0)
                return sl_error_setf(err, SL_EIO, 0, "cannot truncate %s: %s", path,
                                     strerror(-trc));
        }
        w->st.torn_tails++;
        len = off;
        break;
    }
    seg_add(w, first, len);
    w->segs[w->n_segs - 1].max_lsn = seg_max;
    w->st.disk_bytes += len;
    *max_lsn = seg_max > first ? seg_max : first;
    return 0;
}

static uint64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int sl_wal_open(const sl_wal_config *cfg, bool dry_run, sl_wal_scan_fn scan, void *ud, sl_wal **out,
                sl_error *err)
{
    *out = NULL;
    sl_wal *w = sl_xcalloc(1, sizeof *w);
    w->cfg = *cfg;
    w->cfg.dir = NULL;
    w->io = cfg->io ? cfg->io : &posix_io;
    w->dry_run = dry_run;
    w->fd = -1;
    if (!w->cfg.segment_bytes)
        w->cfg.segment_bytes = (uint64_t)64 << 20;
    if (!w->cfg.fsync_interval_ms)
        w->cfg.fsync_interval_ms = 100;
    size_t dl = strlen(cfg->dir);
    char *dir = sl_xmalloc(dl + 1);
    memcpy(dir, cfg->dir, dl + 1);
    w->cfg.dir = dir;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);

    int rc = 0;
    if (!dry_run && mkdir(dir, 0750) != 0 && errno != EEXIST) {
        rc = sl_error_setf(err, SL_EIO, 0, "cannot create %s: %s", dir, strerror(errno));
        goto fail;
    }
    uint64_t *names = NULL;
    size_t n = 0;
    if ((rc = list_segments(dir, &names, &n, err)) != 0)
        goto fail;
    sl_buf buf;
    sl_buf_init(&buf, 0);
    uint64_t high = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        uint64_t m = 0;
        int s = scan_segment(w, names[i], i + 1 == n, &buf, scan, ud, &m, err);
        if (s < 0)
            rc = s;
        if (names[i] > high)
            high = names[i];
        if (s == 0 && m > high)
            high = m;
    }
    sl_buf_free(&buf);
    free(names);
    if (rc)
        goto fail;
    if (high == UINT64_MAX) {
        /* high + 1 would wrap and LSNs would be reused: refuse rather than reuse one. */
        rc = sl_error_setf(err, SL_EIO, 0,
                           "%s: a record has the largest possible LSN, so no LSN is left for new "
                           "records (a corrupt segment?)",
                           dir);
        goto fail;
    }
    w->next_lsn = high + 1;
    if (cfg->first_lsn > w->next_lsn)
        w->next_lsn = cfg->first_lsn;
    uint64_t now = wall_us();
    if (!cfg->first_lsn && now > w->next_lsn)
        w->next_lsn = now;
    w->st.next_lsn = w->next_lsn;
    w->st.segments = w->n_segs;
    if (dry_run) {
        *out = w;
        return 0;
    }
    /* A fresh segment now: its header keeps the LSN high-water mark even if all else is
     * recycled, and nothing is appended after a tail that was just repaired. */
    w->last_sync_ns = mono_ns();
    rc = open_segment(w, w->next_lsn);
    if (rc != 0) {
        rc = sl_error_setf(err, SL_EIO, 0, "cannot create a segment in %s: %s", dir, strerror(-rc));
        goto fail;
    }
    int e = pthread_create(&w->thread, NULL, writer_main, w);
    if (e != 0) {
        rc = sl_error_setf(err, SL_EIO, 0, "cannot start the WAL writer: %s", strerror(e));
        goto fail;
    }
    w->thread_started = true;
    *out = w;
    return 0;
fail:
    close_segment(w);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w->segs);
    free(dir);
    free(w);
    return rc;
}

void sl_wal_get_stats(sl_wal *w, sl_wal_stats *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->st;
    pthread_mutex_unlock(&w->mu);
}

void sl_wal_close(sl_wal *w)
{
    pthread_mutex_lock(&w->mu);
    if (w->closing) {
        pthread_mutex_unlock(&w->mu);
        return;
    }
    w->closing = true;
    pthread_cond_signal(&w->cv);
    bool started = w->thread_started;
    pthread_mutex_unlock(&w->mu);
    if (started)
        pthread_join(w->thread, NULL);
    w->closed = true;
}

void sl_wal_free(sl_wal *w)
{
    if (!w)
        return;
    sl_wal_close(w);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w->segs);
    free((char *)w->cfg.dir);
    free(w);
}
