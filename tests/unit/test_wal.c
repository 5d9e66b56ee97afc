/* The write-ahead log: framing round trips and rejects damage, recovery keeps every record in
 * order, truncates a torn tail, moves a corrupt middle aside, and an I/O seam injects short
 * writes, ENOSPC, EIO and failed fsyncs (the group fails, nothing else is lost, the log keeps
 * working). Group commit covers many records with one fsync; recycling deletes old segments. */
#include "sl_wal.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- a faulty I/O table over POSIX ---- */

typedef struct {
    pthread_mutex_t mu;
    int fail_writes;    /* fail this many next pwritev calls */
    int write_errno;    /* with this errno */
    int fail_fsyncs;    /* fail this many next fsync calls */
    int fail_truncates; /* fail this many next ftruncate calls */
    size_t short_max;   /* > 0: write at most this many bytes per call */
    int fsyncs;
} faults;

static faults F;

static int fi_open(void *ctx, const char *path, int flags, int mode)
{
    const sl_wal_io *p = sl_wal_io_posix();
    return p->open(ctx, path, flags, mode);
}

static ssize_t fi_pwritev(void *ctx, int fd, const struct iovec *iov, int n, off_t off)
{
    pthread_mutex_lock(&F.mu);
    if (F.fail_writes > 0) {
        F.fail_writes--;
        int e = F.write_errno;
        pthread_mutex_unlock(&F.mu);
        /* A failing write may have put part of its bytes down first. */
        if (iov[0].iov_len > 3)
            pwrite(fd, iov[0].iov_base, 3, off);
        return -e;
    }
    size_t cap = F.short_max;
    pthread_mutex_unlock(&F.mu);
    if (cap) {
        size_t left = cap;
        struct iovec v[64];
        int k = 0;
        for (int i = 0; i < n && i < 64 && left; i++) {
            v[k].iov_base = iov[i].iov_base;
            v[k].iov_len = iov[i].iov_len < left ? iov[i].iov_len : left;
            left -= v[k].iov_len;
            k++;
        }
        return sl_wal_io_posix()->pwritev(ctx, fd, v, k, off);
    }
    return sl_wal_io_posix()->pwritev(ctx, fd, iov, n, off);
}

static ssize_t fi_pread(void *ctx, int fd, void *buf, size_t len, off_t off)
{
    return sl_wal_io_posix()->pread(ctx, fd, buf, len, off);
}

static int fi_fsync(void *ctx, int fd)
{
    pthread_mutex_lock(&F.mu);
    F.fsyncs++;
    if (F.fail_fsyncs > 0) {
        F.fail_fsyncs--;
        pthread_mutex_unlock(&F.mu);
        return -EIO;
    }
    pthread_mutex_unlock(&F.mu);
    return sl_wal_io_posix()->fsync(ctx, fd);
}

static int fi_ftruncate(void *ctx, int fd, off_t len)
{
    pthread_mutex_lock(&F.mu);
    if (F.fail_truncates > 0) {
        F.fail_truncates--;
        pthread_mutex_unlock(&F.mu);
        return -EIO;
    }
    pthread_mutex_unlock(&F.mu);
    return sl_wal_io_posix()->ftruncate(ctx, fd, len);
}

static int fi_close(void *ctx, int fd)
{
    return sl_wal_io_posix()->close(ctx, fd);
}

static int fi_unlink(void *ctx, const char *path)
{
    return sl_wal_io_posix()->unlink(ctx, path);
}

static int fi_fsync_dir(void *ctx, const char *path)
{
    return sl_wal_io_posix()->fsync_dir(ctx, path);
}

static int fi_fallocate(void *ctx, int fd, off_t len)
{
    return sl_wal_io_posix()->fallocate(ctx, fd, len);
}

static const sl_wal_io faulty = {.open = fi_open,
                                 .pwritev = fi_pwritev,
                                 .pread = fi_pread,
                                 .fsync = fi_fsync,
                                 .ftruncate = fi_ftruncate,
                                 .close = fi_close,
                                 .unlink = fi_unlink,
                                 .fsync_dir = fi_fsync_dir,
                                 .fallocate = fi_fallocate};

/* ---- fixture ---- */

typedef struct {
    char dir[64];
    sl_wal *w;
    sl_wal_config cfg;
} fx;

static void fx_init(fx *f)
{
    memset(f, 0, sizeof *f);
    memset(&F, 0, sizeof F);
    pthread_mutex_init(&F.mu, NULL);
    snprintf(f->dir, sizeof f->dir, "/tmp/sl_wal_XXXXXX");
    cr_assert(mkdtemp(f->dir));
    f->cfg.dir = f->dir;
    f->cfg.io = &faulty;
    f->cfg.first_lsn = 1000;
}

static void fx_done(fx *f)
{
    sl_wal_free(f->w);
    f->w = NULL;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    cr_assert_eq(system(cmd), 0);
}

/* Collected records of a scan. */
typedef struct {
    size_t n;
    uint64_t lsn[256];
    sl_wal_type type[256];
    char rows[256][32];
    sl_wal_loc loc[256];
} seen;

static void on_scan(void *ud, const sl_wal_record *r, const sl_wal_loc *loc)
{
    seen *s = ud;
    if (s->n >= 256)
        return;
    s->lsn[s->n] = r->lsn;
    s->type[s->n] = r->type;
    snprintf(s->rows[s->n], sizeof s->rows[0], "%.*s", (int)r->rows.len, r->rows.ptr);
    s->loc[s->n] = *loc;
    s->n++;
}

static void reopen(fx *f, seen *s)
{
    sl_wal_free(f->w);
    f->w = NULL;
    memset(s, 0, sizeof *s);
    sl_error err = {0};
    cr_assert_eq(sl_wal_open(&f->cfg, false, on_scan, s, &f->w, &err), 0, "%s", err.msg);
}

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    int status;
    uint64_t lsn;
    uint8_t *frame;
} sub;

static void on_done(void *ud, uint64_t lsn, const sl_wal_loc *loc, int status, const char *msg)
{
    (void)loc;
    (void)msg;
    sub *s = ud;
    pthread_mutex_lock(&s->mu);
    s->done = 1;
    s->status = status;
    s->lsn = lsn;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static uint8_t *data_frame(const char *rows, size_t *len)
{
    sl_wal_record r = {.type = SL_WAL_DATA,
                       .ds = SL_STR("ev"),
                       .version = 7,
                       .time_us = 123,
                       .n_rows = 1,
                       .rows = sl_str_from_cstr(rows)};
    *len = sl_wal_frame_size(&r);
    uint8_t *p = malloc(*len);
    sl_wal_encode(&r, p, NULL);
    return p;
}

/* Submits one DATA record and waits; returns the callback status. */
static int put(fx *f, const char *rows, uint64_t *lsn)
{
    sub s = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    size_t len;
    uint8_t *p = data_frame(rows, &len);
    sl_error err = {0};
    cr_assert_eq(sl_wal_submit(f->w, p, len, on_done, &s, NULL, &err), 0, "%s", err.msg);
    pthread_mutex_lock(&s.mu);
    while (!s.done)
        pthread_cond_wait(&s.cv, &s.mu);
    pthread_mutex_unlock(&s.mu);
    free(p);
    if (lsn)
        *lsn = s.lsn;
    return s.status;
}

/* ---- framing ---- */

Test(wal, encode_decode_round_trip)
{
    uint8_t key[16];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    sl_wal_record r = {.type = SL_WAL_DATA,
                       .lsn = 42,
                       .ds = SL_STR("events"),
                       .version = 0x1122334455667788u,
                       .time_us = 99,
                       .has_key = true,
                       .n_rows = 2,
                       .n_quarantined = 1,
                       .rows = SL_STR("rowsrows"),
                       .quarantine = SL_STR("qq")};
    memcpy(r.key, key, 16);
    size_t n = sl_wal_frame_size(&r), off = 0, fl = 0;
    uint8_t *p = malloc(n);
    sl_wal_encode(&r, p, &off);
    cr_assert_eq(memcmp(p + off, "rowsrowsqq", 10), 0);
    sl_wal_record d;
    cr_assert_eq(sl_wal_decode(p, n, &d, &fl, NULL), 0);
    cr_assert_eq(fl, n);
    cr_assert_eq(d.type, SL_WAL_DATA);
    cr_assert_eq(d.lsn, 42);
    cr_assert(sl_str_eq_cstr(d.ds, "events"));
    cr_assert_eq(d.version, 0x1122334455667788u);
    cr_assert(d.has_key);
    cr_assert_eq(memcmp(d.key, key, 16), 0);
    cr_assert_eq(d.n_rows, 2);
    cr_assert_eq(d.n_quarantined, 1);
    cr_assert(sl_str_eq_cstr(d.rows, "rowsrows"));
    cr_assert(sl_str_eq_cstr(d.quarantine, "qq"));
    /* Every single-bit flip and every truncation is refused. */
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            p[i] ^= (uint8_t)(1u << bit);
            cr_assert_neq(sl_wal_decode(p, n, &d, &fl, NULL), 0, "flip at %zu", i);
            p[i] ^= (uint8_t)(1u << bit);
        }
    }
    for (size_t k = 0; k < n; k++)
        cr_assert_neq(sl_wal_decode(p, k, &d, &fl, NULL), 0);
    free(p);

    sl_wal_record fr = {.type = SL_WAL_FLUSH, .lsn = 7, .ds = SL_STR("x"), .first = 3, .last = 5};
    n = sl_wal_frame_size(&fr);
    p = malloc(n);
    sl_wal_encode(&fr, p, NULL);
    cr_assert_eq(sl_wal_decode(p, n, &d, &fl, NULL), 0);
    cr_assert_eq(d.type, SL_WAL_FLUSH);
    cr_assert_eq(d.first, 3);
    cr_assert_eq(d.last, 5);
    /* Without attempt fields (older records): marks unknown, the plain token. */
    cr_assert(!d.has_attempt);
    cr_assert_eq(d.mark[0], SL_WAL_MARK_UNKNOWN);
    cr_assert_eq(d.mark[1], SL_WAL_MARK_UNKNOWN);
    cr_assert_eq(d.token_lsn[0], 0);
    free(p);

    /* With them: token LSN 0 means the record's own. */
    sl_wal_record fa = {.type = SL_WAL_FLUSH,
                        .lsn = 9,
                        .ds = SL_STR("xy"),
                        .first = 3,
                        .last = 5,
                        .has_attempt = true,
                        .mark = {41, SL_WAL_MARK_UNKNOWN},
                        .token_lsn = {0, 8}};
    n = sl_wal_frame_size(&fa);
    cr_assert_eq(n, SL_WAL_FRAME_HEADER + 8 + 16 + 32 + 2);
    p = malloc(n);
    sl_wal_encode(&fa, p, NULL);
    cr_assert_eq(sl_wal_decode(p, n, &d, &fl, NULL), 0);
    cr_assert(d.has_attempt);
    cr_assert(sl_str_eq(d.ds, SL_STR("xy")));
    cr_assert_eq(d.first, 3);
    cr_assert_eq(d.last, 5);
    cr_assert_eq(d.mark[0], 41);
    cr_assert_eq(d.mark[1], SL_WAL_MARK_UNKNOWN);
    cr_assert_eq(d.token_lsn[0], 9);
    cr_assert_eq(d.token_lsn[1], 8);
    for (size_t k = 0; k < n; k++)
        cr_assert_neq(sl_wal_decode(p, k, &d, &fl, NULL), 0);
    free(p);
}

Test(wal, parse_fsync)
{
    sl_wal_fsync m;
    uint32_t ms = 0;
    cr_assert_eq(sl_wal_parse_fsync(SL_STR("always"), &m, &ms), 0);
    cr_assert_eq(m, SL_WAL_FSYNC_ALWAYS);
    cr_assert_eq(sl_wal_parse_fsync(SL_STR("interval:250"), &m, &ms), 0);
    cr_assert_eq(m, SL_WAL_FSYNC_INTERVAL);
    cr_assert_eq(ms, 250);
    cr_assert_eq(sl_wal_parse_fsync(SL_STR("never"), &m, &ms), 0);
    cr_assert_neq(sl_wal_parse_fsync(SL_STR("interval:"), &m, &ms), 0);
    cr_assert_neq(sl_wal_parse_fsync(SL_STR("interval:0"), &m, &ms), 0);
    cr_assert_neq(sl_wal_parse_fsync(SL_STR("sometimes"), &m, &ms), 0);
}

/* ---- the log ---- */

Test(wal, records_survive_reopen_in_order)
{
    fx f;
    fx_init(&f);
    seen s;
    reopen(&f, &s);
    cr_assert_eq(s.n, 0);
    uint64_t a, b, c;
    cr_assert_eq(put(&f, "one", &a), 0);
    cr_assert_eq(put(&f, "two", &b), 0);
    cr_assert_eq(put(&f, "three", &c), 0);
    cr_assert_geq(a, 1000);
    cr_assert_eq(b, a + 1);
    cr_assert_eq(c, b + 1);
    reopen(&f, &s);
    cr_assert_eq(s.n, 3);
    cr_assert_str_eq(s.rows[0], "one");
    cr_assert_str_eq(s.rows[2], "three");
    cr_assert_eq(s.lsn[2], c);
    /* Read back by location. */
    sl_buf buf;
    sl_buf_init(&buf, 0);
    sl_wal_record r;
    cr_assert_eq(sl_wal_read(f.w, &s.loc[1], &buf, &r, NULL), 0);
    cr_assert(sl_str_eq_cstr(r.rows, "two"));
    sl_buf_free(&buf);
    /* LSNs never go back after a restart. */
    uint64_t d;
    cr_assert_eq(put(&f, "four", &d), 0);
    cr_assert_gt(d, c);
    fx_done(&f);
}

/* The newest segment file (by name). */
static void newest_segment(fx *f, char *out, size_t n)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "ls %s/*.wal | sort | tail -n 1", f->dir);
    FILE *p = popen(cmd, "r");
    cr_assert(fgets(out, (int)n, p));
    out[strcspn(out, "\n")] = '\0';
    pclose(p);
}

Test(wal, torn_tail_is_truncated)
{
    fx f;
    fx_init(&f);
    seen s;
    reopen(&f, &s);
    put(&f, "one", NULL);
    put(&f, "two", NULL);
    sl_wal_close(f.w);
    char path[256];
    newest_segment(&f, path, sizeof path);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    /* Half of a third record, as a crash mid-write leaves it. */
    size_t len;
    uint8_t *p = data_frame("three", &len);
    FILE *fp = fopen(path, "ab");
    fwrite(p, 1, len / 2, fp);
    fclose(fp);
    free(p);
    reopen(&f, &s);
    cr_assert_eq(s.n, 2);
    sl_wal_stats ws;
    sl_wal_get_stats(f.w, &ws);
    cr_assert_eq(ws.torn_tails, 1);
    struct stat st2;
    cr_assert_eq(stat(path, &st2), 0);
    cr_assert_eq(st2.st_size, st.st_size);
    fx_done(&f);
}

Test(wal, corrupt_middle_is_moved_aside_and_the_rest_kept)
{
    fx f;
    fx_init(&f);
    seen s;
    reopen(&f, &s);
    put(&f, "one", NULL);
    put(&f, "two", NULL);
    put(&f, "three", NULL);
    sl_wal_close(f.w);
    reopen(&f, &s); /* the three records now sit in an older segment */
    cr_assert_eq(s.n, 3);
    sl_wal_loc mid = s.loc[1];
    sl_wal_close(f.w);
    char path[256];
    snprintf(path, sizeof path, "%s/%016llx.wal", f.dir, (unsigned long long)mid.segment);
    int fd = open(path, O_RDWR);
    cr_assert_geq(fd, 0);
    uint8_t byte;
    off_t at = (off_t)(mid.offset + mid.frame_len - 2);
    cr_assert_eq(pread(fd, &byte, 1, at), 1);
    byte ^= 0x40;
    cr_assert_eq(pwrite(fd, &byte, 1, at), 1);
    close(fd);
    reopen(&f, &s);
    cr_assert_eq(s.n, 2);
    cr_assert_str_eq(s.rows[0], "one");
    cr_assert_str_eq(s.rows[1], "three");
    sl_wal_stats ws;
    sl_wal_get_stats(f.w, &ws);
    cr_assert_eq(ws.corrupt_regions, 1);
    char aside[256];
    snprintf(aside, sizeof aside, "%s/corrupt/%016llx-%llu.bad", f.dir,
             (unsigned long long)mid.segment, (unsigned long long)mid.offset);
    struct stat st;
    cr_assert_eq(stat(aside, &st), 0, "%s", aside);
    cr_assert_eq((uint64_t)st.st_size, mid.frame_len);
    fx_done(&f);
}

Test(wal, enospc_fails_the_group_and_the_log_goes_on)
{
    fx f;
    fx_init(&f);
    seen s;
    reopen(&f, &s);
    cr_assert_eq(put(&f, "one", NULL), 0);
    pthread_mutex_lock(&F.mu);
    F.fail_writes = 1;
    F.write_errno = ENOSPC;
    pthread_mutex_unlock(&F.mu);
    cr_assert_eq(put(&f, "lost", NULL), SL_EIO);
    cr_assert_eq(put(&f, "two", NULL), 0);
    sl_wal_stats ws;
    sl_wal_get_stats(f.w, &ws);
    cr_assert_eq(ws.write_errors, 1);
    reopen(&f, &s);
    size_t data = 0;
    for (size_t i = 0; i < s.n; i++)
        if (s.type[i] == SL_WAL_DATA) {
            cr_assert_str_neq(s.rows[i], "lost");
            data++;
        }
    cr_assert_eq(data, 2);
    fx_done(&f);
}

Test(wal, failed_fsync_is_reported_and_aborted_even_if_bytes_stay)
{
    fx f;
    fx_init(&f);
    seen s;
    reopen(&f, &s);
    cr_assert_eq(put(&f, "one", NULL), 0);
    pthread_mutex_lock(&F.mu);
    F.fail_fsyncs = 1;
    F.fail_truncates = 1; /* the bytes of the failed record stay in the file */
    pthread_mutex_unlock(&F.mu);
    uint64_t lost;
    cr_assert_eq(put(&f, "unsynced", &lost), SL_EIO);
    cr_assert_eq(put(&f, "two", NULL), 0);
    reopen(&f, &s);
    /* The unsynced record is on disk, but an ABORT record covers it. */
    bool has_abort = false;
    for (size_t i = 0; i < s.n; i++)
        if (s.type[i] == SL_WAL_ABORT)
            has_abort = true;
    cr_assert(has_abort);
    fx_done(&f);
}

Test(wal, eio_then_recovery)
{
    fx f;
    fx_init(&f);
    seen s;
    reopen(&f, &s);
    pthread_mutex_lock(&F.mu);
    F.fail_writes = 3;
    F.write_errno = EIO;
    pthread_mutex_unlock(&F.mu);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(put(&f, "bad", NULL), SL_EIO);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(put(&f, "good", NULL), 0);
    reopen(&f, &s);
    size_t good = 0;
    for (size_t i = 0; i < s.n; i++)
        if (s.type[i] == SL_WAL_DATA) {
            cr_assert_str_eq(s.rows[i], "good");
            good++;
        }
    cr_assert_eq(good, 5);
    fx_done(&f);
}

Test(wal, short_writes_are_completed)
{
    fx f;
    fx_init(&f);
    seen s;
    reopen(&f, &s);
    pthread_mutex_lock(&F.mu);
    F.short_max = 7;
    pthread_mutex_unlock(&F.mu);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(put(&f, "short-written-row", NULL), 0);
    reopen(&f, &s);
    cr_assert_eq(s.n, 10);
    for (size_t i = 0; i < s.n; i++)
        cr_assert_str_eq(s.rows[i], "short-written-row");
    fx_done(&f);
}

typedef struct {
    fx *f;
    int n;
} thr;

static void *submitter(void *p)
{
    thr *t = p;
    for (int i = 0; i < t->n; i++)
        if (put(t->f, "row", NULL) != 0)
            return (void *)1;
    return NULL;
}

Test(wal, group_commit_shares_fsyncs)
{
    fx f;
    fx_init(&f);
    seen s;
    reopen(&f, &s);
    pthread_t th[8];
    thr t = {&f, 50};
    for (int i = 0; i < 8; i++)
        pthread_create(&th[i], NULL, submitter, &t);
    for (int i = 0; i < 8; i++) {
        void *r;
        pthread_join(th[i], &r);
        cr_assert_null(r);
    }
    sl_wal_stats ws;
    sl_wal_get_stats(f.w, &ws);
    cr_assert_eq(ws.records_written, 400);
    cr_assert_leq(ws.fsyncs, ws.groups);
    reopen(&f, &s);
    cr_assert_eq(s.n, 256); /* the collector's cap; all 400 are there */
    sl_wal_get_stats(f.w, &ws);
    cr_assert_eq(ws.recovered_records, 400);
    fx_done(&f);
}

Test(wal, recycle_deletes_old_segments)
{
    fx f;
    fx_init(&f);
    f.cfg.segment_bytes = 200; /* about two records per segment */
    seen s;
    reopen(&f, &s);
    uint64_t last = 0;
    for (int i = 0; i < 20; i++)
        cr_assert_eq(put(&f, "a-row-of-some-length", &last), 0);
    sl_wal_stats ws;
    sl_wal_get_stats(f.w, &ws);
    cr_assert_gt(ws.segments, 5);
    cr_assert_eq(sl_wal_recycle(f.w, 0), 0);
    sl_wal_recycle(f.w, last - 3);
    reopen(&f, &s);
    cr_assert_geq(s.n, 3);
    cr_assert_lt(s.n, 20);
    for (size_t i = 0; i + 1 < s.n; i++)
        cr_assert_lt(s.lsn[i], s.lsn[i + 1]);
    cr_assert_eq(s.lsn[s.n - 1], last);
    sl_wal_recycle(f.w, UINT64_MAX);
    sl_wal_get_stats(f.w, &ws);
    cr_assert_eq(ws.segments, 1);
    /* The newest segment keeps the LSN high-water mark. */
    reopen(&f, &s);
    uint64_t next;
    cr_assert_eq(put(&f, "x", &next), 0);
    cr_assert_gt(next, last);
    fx_done(&f);
}

Test(wal, preallocated_tail_after_a_crash_is_the_normal_end)
{
    fx f;
    fx_init(&f);
    f.cfg.segment_bytes = 1 << 20;
    seen s;
    reopen(&f, &s);
    put(&f, "one", NULL);
    put(&f, "two", NULL);
    /* A crash leaves the preallocated zeros after the last record: copy the file as it is now
     * (the writer has not cut it) and recover from the copy. */
    char path[256], cmd[600];
    newest_segment(&f, path, sizeof path);
    snprintf(cmd, sizeof cmd, "cp %s %s.copy", path, path);
    cr_assert_eq(system(cmd), 0);
    sl_wal_close(f.w);
    snprintf(cmd, sizeof cmd, "mv %s.copy %s", path, path);
    cr_assert_eq(system(cmd), 0);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_size, 1 << 20);
    reopen(&f, &s);
    cr_assert_eq(s.n, 2);
    sl_wal_stats ws;
    sl_wal_get_stats(f.w, &ws);
    cr_assert_eq(ws.torn_tails, 0);
    cr_assert_eq(ws.corrupt_regions, 0);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_lt(st.st_size, 1000);
    fx_done(&f);
}
