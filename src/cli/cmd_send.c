/* `sluice send DS FILE`: streams an NDJSON file (plain or gzip) to POST /v0/events in batches cut
 * on line boundaries, each gzip-compressed on the wire with an Idempotency-Key, retrying network
 * errors, 429 and 5xx-unavailable answers; progress on a terminal, a summary line always. */
#include "cmd_client.h"
#include "sl_cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>
#include <zlib.h>

static const char send_usage[] =
    "usage: sluice send [options] DATASOURCE FILE\n"
    "\n"
    "Sends the rows of FILE (NDJSON, gzip-compressed or not: detected from its content; '-'\n"
    "reads stdin) to DATASOURCE through POST /v0/events, in batches cut at line boundaries and\n"
    "gzip-compressed on the wire. A file that is one JSON array is sent as one request.\n"
    "Network errors, 429 and 502/503/504 are retried, honouring Retry-After (else capped\n"
    "exponential backoff). Each batch carries an Idempotency-Key made from the file's identity\n"
    "(device, inode, size, mtime), the batch's offset and its content, so a retry, or the same\n"
    "command run again after a failure within the server's dedup window, never inserts a batch\n"
    "twice. A progress bar goes to stderr on a terminal; a summary line is always printed.\n"
    "\n"
    "options:\n"
    "  --batch-bytes N  uncompressed bytes per request (default 8M; suffixes K, M, G)\n"
    "  --wait           ask the server to answer only once the rows are in ClickHouse\n"
    "  --retries N      retries per batch after the first try (default 5)\n"
    "  --dedup-id ID    mixed into every Idempotency-Key: a new ID sends the same file again\n"
    "                   on purpose within the dedup window\n"
    "  -q, --quiet      no progress bar\n"
    "\n"
    "exit status: 0 every batch accepted, 1 the server refused a batch or could not be\n"
    "reached (batches before it were accepted), 2 bad usage or unreadable FILE.\n"
    "\n";

#define DEFAULT_BATCH   ((size_t)8 << 20)
#define PENDING_CAP     ((size_t)512 << 20)
#define READ_CHUNK      ((size_t)1 << 20)
#define BACKOFF_FIRST   0.5
#define BACKOFF_MAX     30.0
#define RETRY_AFTER_MAX 300.0

typedef struct {
    sl_client cl;
    const char *ds, *path;
    size_t batch_bytes;
    bool wait, progress;
    int retries;
    const char *dedup_id;
    char *events_path; /* /v0/events?name=...[&wait=true] */

    gzFile in;
    long long file_size; /* -1 unless FILE is a regular file */
    bool array_mode;     /* the input is one JSON array: send it whole */
    XXH128_hash_t identity;
    sl_buf pending; /* read, not yet sent; starts at uncompressed offset `offset` */
    bool eof;
    uint64_t offset;
    uint64_t read_bytes;
    size_t scan_from; /* forward search for a cut resumes here */

    z_stream z;
    bool z_ready;
    sl_buf gz;

    uint64_t rows, quarantined, batches, replayed;
    double t0, last_draw;
    uint64_t rng;
} sender;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int parse_size(const char *v, size_t *out)
{
    char *endp;
    errno = 0;
    unsigned long long n = strtoull(v, &endp, 10);
    if (errno || endp == v || v[0] == '-')
        return -1;
    unsigned shift = 0;
    if (*endp == 'K' || *endp == 'k')
        shift = 10;
    else if (*endp == 'M' || *endp == 'm')
        shift = 20;
    else if (*endp == 'G' || *endp == 'g')
        shift = 30;
    if (shift) {
        endp++;
        if (*endp == 'i' || *endp == 'B' || *endp == 'b')
            endp += *endp == 'i' && endp[1] == 'B' ? 2 : 1;
    }
    if (*endp || n == 0 || n > (PENDING_CAP / 2) >> shift)
        return -1;
    *out = (size_t)(n << shift);
    return 0;
}

/* Thousands separators: 1234567 -> "1,234,567". */
static void commas(uint64_t v, char *out, size_t n)
{
    char tmp[32];
    int len = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
    size_t o = 0;
    for (int i = 0; i < len && o + 2 < n; i++) {
        if (i && (len - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = tmp[i];
    }
    out[o] = '\0';
}

static void draw_progress(sender *s, uint64_t sent_bytes, bool force)
{
    if (!s->progress)
        return;
    double t = now_s();
    if (!force && t - s->last_draw < 0.1)
        return;
    s->last_draw = t;
    double el = t - s->t0;
    char rows[32], q[32], rate[32];
    commas(s->rows + s->quarantined, rows, sizeof(rows));
    commas(s->quarantined, q, sizeof(q));
    commas(el > 0 ? (uint64_t)((double)(s->rows + s->quarantined) / el) : 0, rate, sizeof(rate));
    fputs("\r\033[K", stderr);
    if (s->file_size > 0 && s->read_bytes > 0) {
        /* Position in FILE (compressed or not) of what was sent. */
        double raw = (double)gzoffset(s->in) * (double)sent_bytes / (double)s->read_bytes;
        double frac = raw / (double)s->file_size;
        frac = frac > 1 ? 1 : frac < 0 ? 0 : frac;
        char bar[21];
        size_t fill = (size_t)(frac * 20);
        for (size_t i = 0; i < 20; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[20] = '\0';
        fprintf(stderr, "[%s] %3.0f%%  ", bar, frac * 100);
    }
    fprintf(stderr, "%.1f MB  %s rows  %s rows/s  %s quarantined", (double)sent_bytes / 1e6, rows,
            rate, q);
    fflush(stderr);
}

static void clear_progress(sender *s)
{
    if (s->progress) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
}

/* Reads until `want` bytes are pending or the input ends. 0, or -1 with a message printed. */
static int fill(sender *s, size_t want)
{
    while (!s->eof && s->pending.len < want) {
        if (sl_buf_reserve(&s->pending, READ_CHUNK) != 0) {
            fprintf(stderr, "sluice send: %s: no line break in the next %zu MiB: is it NDJSON?\n",
                    s->path, PENDING_CAP >> 20);
            return -1;
        }
        int n = gzread(s->in, s->pending.data + s->pending.len, (unsigned)READ_CHUNK);
        if (n < 0) {
            int zerr;
            const char *msg = gzerror(s->in, &zerr);
            fprintf(stderr, "sluice send: cannot read %s: %s\n", s->path,
                    zerr == Z_ERRNO ? strerror(errno) : msg);
            return -1;
        }
        if (n == 0) {
            /* gzread also returns 0 on a truncated gzip stream: tell it from a clean end. */
            int zerr;
            const char *msg = gzerror(s->in, &zerr);
            if (zerr != Z_OK && zerr != Z_STREAM_END) {
                fprintf(stderr, "sluice send: cannot read %s: %s\n", s->path, msg);
                return -1;
            }
            s->eof = true;
        }
        s->pending.len += (size_t)n;
        s->read_bytes += (size_t)n;
    }
    return 0;
}

static bool value_start(uint8_t ch)
{
    return ch == '{' || ch == '[';
}

/* Bytes of the next batch: everything up to the last line break before batch_bytes that is
 * followed by a new value ('{' or '['), so a pretty-printed object is not cut; when a single
 * value is larger than a batch, the first such break after it. 0 at the end of the input,
 * -1 on a read error. */
static long long next_batch(sender *s)
{
    size_t want = s->batch_bytes + 1; /* +1: the byte after a break at the limit */
    for (;;) {
        if (fill(s, s->array_mode ? PENDING_CAP : want) != 0)
            return -1;
        const uint8_t *p = s->pending.data;
        size_t len = s->pending.len;
        if (s->eof && (len <= s->batch_bytes || s->array_mode))
            return (long long)len;
        size_t lim = s->batch_bytes < len - 1 ? s->batch_bytes : len - 1;
        for (const uint8_t *nl; lim > 0 && (nl = memrchr(p, '\n', lim)) != NULL;) {
            size_t i = (size_t)(nl - p);
            if (value_start(p[i + 1]))
                return (long long)(i + 1);
            lim = i;
        }
        size_t from = s->scan_from > s->batch_bytes ? s->scan_from : s->batch_bytes;
        for (const uint8_t *nl; from + 1 < len && (nl = memchr(p + from, '\n', len - from - 1));) {
            size_t i = (size_t)(nl - p);
            if (value_start(p[i + 1]))
                return (long long)(i + 1);
            from = i + 1;
        }
        s->scan_from = from;
        if (s->eof)
            return (long long)len;
        /* No break before a new value in a long stretch (lines that start with blanks, say):
         * fall back to any line break. */
        size_t fallback =
            4 * s->batch_bytes > ((size_t)64 << 20) ? 4 * s->batch_bytes : (size_t)64 << 20;
        if (len >= fallback) {
            const uint8_t *nl = memrchr(p, '\n', len);
            if (nl)
                return (long long)(nl - p + 1);
        }
        want = len + s->batch_bytes;
    }
}

static int gzip_batch(sender *s, const uint8_t *p, size_t n)
{
    if (!s->z_ready) {
        if (deflateInit2(&s->z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            return -1;
        s->z_ready = true;
    } else if (deflateReset(&s->z) != Z_OK) {
        return -1;
    }
    s->gz.len = 0;
    if (sl_buf_reserve(&s->gz, deflateBound(&s->z, (uLong)n)) != 0)
        return -1;
    s->z.next_in = (Bytef *)(uintptr_t)p;
    s->z.avail_in = (uInt)n;
    s->z.next_out = s->gz.data;
    s->z.avail_out = (uInt)(s->gz.alloc);
    if (deflate(&s->z, Z_FINISH) != Z_STREAM_END)
        return -1;
    s->gz.len = s->gz.alloc - s->z.avail_out;
    return 0;
}

static void batch_key(const sender *s, const uint8_t *p, size_t n, char out[64])
{
    XXH3_state_t *st = XXH3_createState();
    if (!st)
        sl_fatal("send: out of memory");
    XXH3_128bits_reset(st);
    XXH3_128bits_update(st, &s->identity, sizeof(s->identity));
    uint64_t where[2] = {s->offset, n};
    XXH3_128bits_update(st, where, sizeof(where));
    XXH3_128bits_update(st, p, n);
    XXH128_hash_t h = XXH3_128bits_digest(st);
    XXH3_freeState(st);
    snprintf(out, 64, "sluice-send-%016llx%016llx", (unsigned long long)h.high64,
             (unsigned long long)h.low64);
}

static double backoff(sender *s, int attempt)
{
    double d = BACKOFF_FIRST;
    for (int i = 1; i < attempt && d < BACKOFF_MAX; i++)
        d *= 2;
    if (d > BACKOFF_MAX)
        d = BACKOFF_MAX;
    /* +-25% jitter so many senders do not retry in step. */
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return d * (0.75 + 0.5 * (double)(s->rng >> 11) / 9007199254740992.0);
}

/* Sends pending[0, n) with retries. 0 accepted, -1 failed (message printed). */
static int send_batch(sender *s, size_t n, uint64_t sent_bytes)
{
    const uint8_t *p = s->pending.data;
    if (gzip_batch(s, p, n) != 0) {
        fprintf(stderr, "sluice send: cannot compress a batch (out of memory?)\n");
        return -1;
    }
    char key[64];
    batch_key(s, p, n, key);
    sl_client_call call = {.method = "POST",
                           .path = s->events_path,
                           .body = s->gz.data,
                           .body_len = s->gz.len,
                           .content_type = "application/x-ndjson",
                           .content_encoding = "gzip",
                           .idempotency_key = key};
    for (int attempt = 1;; attempt++) {
        sl_client_resp resp;
        int rc = sl_client_do(&s->cl, &call, &resp);
        if (rc == 0 && resp.status >= 200 && resp.status < 300) {
            sl_str body = {(const char *)resp.body.data, resp.body.len};
            s->rows += sl_client_json_u64(body, "successful_rows");
            s->quarantined += sl_client_json_u64(body, "quarantined_rows");
            s->batches++;
            s->replayed += resp.replayed;
            sl_client_resp_free(&resp);
            return 0;
        }
        if (!sl_client_retryable(&resp) || attempt > s->retries) {
            clear_progress(s);
            char what[96];
            snprintf(what, sizeof(what), "batch at byte %llu", (unsigned long long)s->offset);
            sl_client_report(&s->cl, &resp, what);
            if (resp.status == 413)
                fprintf(stderr, "sluice send: the server refused the batch size: try a smaller "
                                "--batch-bytes\n");
            else if (attempt > 1)
                fprintf(stderr, "sluice send: gave up after %d attempts\n", attempt);
            sl_client_resp_free(&resp);
            return -1;
        }
        double wait = resp.retry_after >= 0 ? resp.retry_after : backoff(s, attempt);
        if (wait > RETRY_AFTER_MAX)
            wait = RETRY_AFTER_MAX;
        clear_progress(s);
        if (resp.status)
            fprintf(stderr,
                    "sluice send: HTTP %ld from the server; retrying in %.1f s (%d of %d)\n",
                    resp.status, wait, attempt, s->retries);
        else
            fprintf(stderr, "sluice send: %s; retrying in %.1f s (%d of %d)\n", resp.transport_msg,
                    wait, attempt, s->retries);
        sl_client_resp_free(&resp);
        sleep_s(wait);
        draw_progress(s, sent_bytes, true);
    }
}

static bool blank(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
            return false;
    return true;
}

static int open_input(sender *s)
{
    int fd = strcmp(s->path, "-") == 0 ? dup(STDIN_FILENO) : open(s->path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        fprintf(stderr, "sluice send: cannot read %s: %s\n", s->path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        fprintf(stderr, "sluice send: %s is a directory\n", s->path);
        close(fd);
        return -1;
    }
    s->file_size = S_ISREG(st.st_mode) ? (long long)st.st_size : -1;
    /* The batch keys start from the file's identity; a pipe has none but the content. */
    XXH3_state_t *h = XXH3_createState();
    if (!h)
        sl_fatal("send: out of memory");
    XXH3_128bits_reset(h);
    XXH3_128bits_update(h, s->ds, strlen(s->ds) + 1);
    if (s->dedup_id)
        XXH3_128bits_update(h, s->dedup_id, strlen(s->dedup_id) + 1);
    if (S_ISREG(st.st_mode)) {
        uint64_t id[5] = {(uint64_t)st.st_dev, (uint64_t)st.st_ino, (uint64_t)st.st_size,
                          (uint64_t)st.st_mtim.tv_sec, (uint64_t)st.st_mtim.tv_nsec};
        XXH3_128bits_update(h, id, sizeof(id));
    }
    s->identity = XXH3_128bits_digest(h);
    XXH3_freeState(h);

    if (!(s->in = gzdopen(fd, "rb"))) { /* reads plain files unchanged */
        fprintf(stderr, "sluice send: cannot read %s: out of memory\n", s->path);
        close(fd);
        return -1;
    }
    gzbuffer(s->in, 256u << 10);
    return 0;
}

static int run(sender *s)
{
    if (open_input(s) != 0)
        return SL_EXIT_USAGE;
    if (fill(s, 4096) != 0)
        return SL_EXIT_USAGE;
    for (size_t i = 0; i < s->pending.len; i++) {
        uint8_t ch = s->pending.data[i];
        if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n') {
            s->array_mode = ch == '[';
            break;
        }
    }

    int status = SL_EXIT_OK;
    uint64_t sent_bytes = 0;
    s->t0 = now_s();
    for (;;) {
        long long n = next_batch(s);
        if (n < 0) {
            status = SL_EXIT_USAGE;
            break;
        }
        if (n == 0)
            break;
        if (!blank(s->pending.data, (size_t)n) && send_batch(s, (size_t)n, sent_bytes) != 0) {
            status = SL_EXIT_FAIL;
            break;
        }
        sent_bytes += (uint64_t)n;
        s->offset += (uint64_t)n;
        memmove(s->pending.data, s->pending.data + n, s->pending.len - (size_t)n);
        s->pending.len -= (size_t)n;
        s->scan_from = 0;
        draw_progress(s, sent_bytes, false);
    }
    clear_progress(s);

    double el = now_s() - s->t0;
    printf("sent %llu rows (%llu quarantined) in %.2f s",
           (unsigned long long)(s->rows + s->quarantined), (unsigned long long)s->quarantined, el);
    printf(" (%llu batch%s, %.1f MB", (unsigned long long)s->batches, s->batches == 1 ? "" : "es",
           (double)sent_bytes / 1e6);
    if (s->replayed)
        printf(", %llu already sent before", (unsigned long long)s->replayed);
    printf(")%s\n", status ? ", then stopped" : "");
    fflush(stdout);
    if (status == SL_EXIT_FAIL)
        fprintf(stderr,
                "sluice send: %s from byte %llu on was not sent; running the same command again "
                "sends it, and the server skips the batches it already has\n",
                s->path, (unsigned long long)s->offset);
    if (status == SL_EXIT_OK && s->quarantined)
        fprintf(stderr,
                "sluice send: see why rows were quarantined: sluice sql \"SELECT c__error_column, "
                "c__error, c__raw FROM %s_quarantine ORDER BY insertion_date DESC LIMIT 10\"\n",
                s->ds);
    return status;
}

int sl_cmd_send(int argc, char **argv)
{
    sender s;
    memset(&s, 0, sizeof(s));
    sl_client_init(&s.cl, "sluice send");
    s.batch_bytes = DEFAULT_BATCH;
    s.retries = 5;
    bool quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int rc;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            printf("%s%s", send_usage, sl_client_options_help);
            return SL_EXIT_OK;
        } else if (strcmp(a, "--wait") == 0) {
            s.wait = true;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            quiet = true;
        } else if ((rc = sl_client_parse_option(&s.cl, argc, argv, &i)) != 0) {
            if (rc < 0)
                return SL_EXIT_USAGE;
        } else if ((rc = sl_cli_opt_value(s.cl.prog, argc, argv, &i, "--batch-bytes", &v)) != 0) {
            if (rc < 0)
                return SL_EXIT_USAGE;
            if (parse_size(v, &s.batch_bytes) != 0) {
                fprintf(stderr,
                        "sluice send: --batch-bytes needs a size from 1 to %zuM, got '%s'\n",
                        PENDING_CAP >> 21, v);
                return SL_EXIT_USAGE;
            }
        } else if ((rc = sl_cli_opt_value(s.cl.prog, argc, argv, &i, "--retries", &v)) != 0) {
            if (rc < 0)
                return SL_EXIT_USAGE;
            char *endp;
            long n = strtol(v, &endp, 10);
            if (*endp || endp == v || n < 0 || n > 1000) {
                fprintf(stderr, "sluice send: --retries needs a number from 0 to 1000\n");
                return SL_EXIT_USAGE;
            }
            s.retries = (int)n;
        } else if ((rc = sl_cli_opt_value(s.cl.prog, argc, argv, &i, "--dedup-id", &s.dedup_id)) !=
                   0) {
            if (rc < 0)
                return SL_EXIT_USAGE;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "sluice send: unknown option '%s'\n\n%s", a, send_usage);
            return SL_EXIT_USAGE;
        } else if (!s.ds) {
            s.ds = a;
        } else if (!s.path) {
            s.path = a;
        } else {
            fprintf(stderr, "sluice send: too many arguments\n\n%s", send_usage);
            return SL_EXIT_USAGE;
        }
    }
    if (!s.ds || !s.path || !*s.ds) {
        fprintf(stderr, "sluice send: needs DATASOURCE and FILE\n\n%s", send_usage);
        return SL_EXIT_USAGE;
    }
    int status = sl_client_connect(&s.cl);
    if (status) {
        sl_client_free(&s.cl);
        return status;
    }
    s.progress = !quiet && isatty(STDERR_FILENO);
    s.rng = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid();
    s.rng |= 1;
    char *name = sl_client_escape(s.ds);
    size_t n = strlen(name) + 48;
    s.events_path = sl_xmalloc(n);
    snprintf(s.events_path, n, "/v0/events?name=%s%s", name, s.wait ? "&wait=true" : "");
    free(name);
    sl_buf_init(&s.pending, PENDING_CAP);
    sl_buf_init(&s.gz, 0);

    status = run(&s);

    if (s.in)
        gzclose(s.in);
    if (s.z_ready)
        deflateEnd(&s.z);
    sl_buf_free(&s.pending);
    sl_buf_free(&s.gz);
    free(s.events_path);
    sl_client_free(&s.cl);
    return status;
}
