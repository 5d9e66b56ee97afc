/* libFuzzer target for the write-ahead log decoder: arbitrary bytes as a segment file.
 *
 * Input: one flags byte, then the segment. Flag 1 rewrites the 32-byte segment header to a valid
 * one (segment 1), flag 2 rewrites every frame's magic, clamps its length and fixes its check, so
 * mutations reach the payload parser past the XXH3 checks. Then:
 *  - sl_wal_decode at every offset of an exact-size heap copy (ASan catches over-reads); a frame
 *    it accepts must lie inside the input with its slices inside the frame, and encoding the
 *    record again must give a frame of the same size that decodes to the same record;
 *  - sl_wal_open in dry-run mode (recovery scan: torn tails, corrupt regions, resync) over an
 *    in-memory sl_wal_io that serves the input as <tmpdir>/0000000000000001.wal. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "sl_wal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define SEG_FD 1000

typedef struct {
    const uint8_t *p;
    size_t len;
} mem_file;

static int mem_open(void *ctx, const char *path, int flags, int mode)
{
    (void)ctx;
    (void)mode;
    size_t n = strlen(path);
    if ((flags & O_ACCMODE) != O_RDONLY || n < 4 || strcmp(path + n - 4, ".wal") != 0)
        return -EROFS;
    return SEG_FD;
}

static ssize_t mem_pwritev(void *ctx, int fd, const struct iovec *iov, int n, off_t off)
{
    (void)ctx;
    (void)fd;
    (void)iov;
    (void)n;
    (void)off;
    return -EROFS;
}

static ssize_t mem_pread(void *ctx, int fd, void *buf, size_t len, off_t off)
{
    const mem_file *f = ctx;
    CHECK(fd == SEG_FD && off >= 0);
    if ((size_t)off >= f->len)
        return 0;
    size_t k = f->len - (size_t)off < len ? f->len - (size_t)off : len;
    memcpy(buf, f->p + off, k);
    return (ssize_t)k;
}

static int mem_fsync(void *ctx, int fd)
{
    (void)ctx;
    (void)fd;
    return -EROFS;
}

static int mem_ftruncate(void *ctx, int fd, off_t len)
{
    (void)ctx;
    (void)fd;
    (void)len;
    return -EROFS;
}

static int mem_close(void *ctx, int fd)
{
    (void)ctx;
    CHECK(fd == SEG_FD);
    return 0;
}

static int mem_unlink(void *ctx, const char *path)
{
    (void)ctx;
    (void)path;
    return -EROFS;
}

static int mem_fsync_dir(void *ctx, const char *path)
{
    (void)ctx;
    (void)path;
    return -EROFS;
}

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
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static char seg_dir_path[64];

static void remove_seg_dir(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/0000000000000001.wal", seg_dir_path);
    unlink(path);
    rmdir(seg_dir_path);
}

/* A directory holding an empty 0000000000000001.wal, so the segment listing finds one segment;
 * its bytes come from mem_pread. Made once per process, removed at exit. */
static const char *seg_dir(void)
{
    char *dir = seg_dir_path;
    if (!dir[0]) {
        snprintf(dir, sizeof seg_dir_path, "/tmp/fuzz_wal.XXXXXX");
        CHECK(mkdtemp(dir) != NULL);
        char path[128];
        snprintf(path, sizeof path, "%s/0000000000000001.wal", dir);
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        fclose(f);
        atexit(remove_seg_dir);
    }
    return dir;
}

static void fix_header(uint8_t *p, size_t len)
{
    if (len < SL_WAL_SEGMENT_HEADER)
        return;
    memcpy(p, "SLUICEWL", 8);
    put32(p + 8, SL_WAL_FORMAT_VERSION);
    put64(p + 16, 1);
    put64(p + 24, XXH3_64bits(p, 24));
}

static void fix_frames(uint8_t *p, size_t len)
{
    size_t off = SL_WAL_SEGMENT_HEADER;
    while (off + SL_WAL_FRAME_HEADER <= len) {
        uint8_t *f = p + off;
        size_t room = len - off - SL_WAL_FRAME_HEADER;
        size_t plen = get32(f + 4);
        if (plen > room)
            plen = room;
        put32(f, 0x57524c53u);
        put32(f + 4, (uint32_t)plen);
        put64(f + 16, XXH3_64bits(f + SL_WAL_FRAME_HEADER, plen) ^ XXH3_64bits(f, 16));
        off += SL_WAL_FRAME_HEADER + plen;
    }
}

static bool inside(sl_str s, const uint8_t *lo, const uint8_t *hi)
{
    return s.len == 0 || ((const uint8_t *)s.ptr >= lo && (const uint8_t *)s.ptr + s.len <= hi);
}

static bool same_str(sl_str a, sl_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static void check_frame(const uint8_t *p, size_t len)
{
    sl_wal_record r;
    size_t fl = 0;
    if (sl_wal_decode(p, len, &r, &fl, NULL) != 0)
        return;
    CHECK(fl >= SL_WAL_FRAME_HEADER && fl <= len);
    const uint8_t *end = p + fl;
    CHECK(inside(r.ds, p, end) && inside(r.rows, p, end) && inside(r.quarantine, p, end));
    CHECK(r.type >= SL_WAL_DATA && r.type <= SL_WAL_ABORT);
    /* Encoding the decoded record gives a frame of the same size that decodes the same. */
    CHECK(sl_wal_frame_size(&r) == fl);
    uint8_t *again = malloc(fl);
    CHECK(again != NULL);
    sl_wal_encode(&r, again, NULL);
    sl_wal_record r2;
    size_t fl2 = 0;
    CHECK(sl_wal_decode(again, fl, &r2, &fl2, NULL) == 0 && fl2 == fl);
    CHECK(r2.type == r.type && r2.lsn == r.lsn && same_str(r2.ds, r.ds));
    CHECK(r2.version == r.version && r2.time_us == r.time_us && r2.has_key == r.has_key);
    CHECK(memcmp(r2.key, r.key, SL_WAL_KEY_LEN) == 0);
    CHECK(r2.n_rows == r.n_rows && r2.n_quarantined == r.n_quarantined);
    CHECK(same_str(r2.rows, r.rows) && same_str(r2.quarantine, r.quarantine));
    CHECK(r2.first == r.first && r2.last == r.last);
    CHECK(r2.has_attempt == r.has_attempt && r2.mark[0] == r.mark[0] && r2.mark[1] == r.mark[1]);
    CHECK(r2.token_lsn[0] == r.token_lsn[0] && r2.token_lsn[1] == r.token_lsn[1]);
    free(again);
}

typedef struct {
    size_t len;
    uint64_t records;
    uint64_t max_lsn;
    unsigned sum;
} scan_state;

static void on_record(void *ud, const sl_wal_record *r, const sl_wal_loc *loc)
{
    scan_state *st = ud;
    CHECK(loc->segment == 1);
    CHECK(loc->offset >= SL_WAL_SEGMENT_HEADER && loc->frame_len >= SL_WAL_FRAME_HEADER);
    CHECK(loc->offset + loc->frame_len <= st->len);
    /* Touch every byte the record points at. */
    for (size_t i = 0; i < r->ds.len; i++)
        st->sum += (unsigned char)r->ds.ptr[i];
    for (size_t i = 0; i < r->rows.len; i++)
        st->sum += (unsigned char)r->rows.ptr[i];
    for (size_t i = 0; i < r->quarantine.len; i++)
        st->sum += (unsigned char)r->quarantine.ptr[i];
    if (r->lsn > st->max_lsn)
        st->max_lsn = r->lsn;
    st->records++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 20))
        return 0;
    uint8_t flags = data[0];
    size_t len = size - 1;
    uint8_t *p = malloc(len ? len : 1);
    CHECK(p != NULL);
    if (len)
        memcpy(p, data + 1, len);
    if (flags & 1)
        fix_header(p, len);
    if (flags & 2)
        fix_frames(p, len);

    for (size_t off = 0; off <= len; off++)
        check_frame(p + off, len - off);

    mem_file mf = {p, len};
    sl_wal_io io = {.ctx = &mf,
                    .open = mem_open,
                    .pwritev = mem_pwritev,
                    .pread = mem_pread,
                    .fsync = mem_fsync,
                    .ftruncate = mem_ftruncate,
                    .close = mem_close,
                    .unlink = mem_unlink,
                    .fsync_dir = mem_fsync_dir};
    sl_wal_config cfg = {.dir = seg_dir(), .first_lsn = 0, .io = &io};
    scan_state st = {.len = len};
    sl_wal *w = NULL;
    sl_error err = {0};
    int rc = sl_wal_open(&cfg, true, on_record, &st, &w, &err);
    if (rc == 0) {
        sl_wal_stats ws;
        sl_wal_get_stats(w, &ws);
        CHECK(ws.recovered_records == st.records);
        /* LSNs are never reused: the next one is past every record found. */
        CHECK(ws.next_lsn > st.max_lsn);
        sl_wal_free(w);
    }
    free(p);
    return 0;
}
