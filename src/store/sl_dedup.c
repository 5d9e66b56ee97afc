/* Idempotency keys with a time window, persisted (see sl_dedup.h for the contract).
 *
 * Memory layout: done entries sit in a ring (oldest at `head`) that grows by doubling up to
 * max_entries; an open-addressing index (linear probing, backward-shift deletion, load <= 1/2)
 * maps a key to its ring slot. Entries arrive in acceptance order, so expiry and eviction pop the
 * head. An entry added out of order (recovery) may outlive its window a little until it reaches
 * the head; lookups check the time, so it is never replayed late. Keys in flight are few (one per
 * request being processed) and sit in a list beside.
 *
 * Locks: `mu` guards memory and the write() of records; `io_mu` serialises the file-level work
 * (fdatasync, compaction's rewrite and swap) so a sync never runs on a file being replaced.
 * Order: io_mu before mu. */
#include "sl_dedup.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#define REC_SIZE          48
#define HDR_SIZE          16
#define MAX_ENTRIES_LIMIT ((size_t)1 << 30)
#define COMPACT_MIN_DEAD  1024
static const char magic[8] = {'s', 'l', 'd', 'e', 'd', 'u', 'p', '1'};

typedef struct {
    sl_dedup_key key;
    uint64_t rows, quarantined, seq, accepted_us;
} entry;

typedef struct flight {
    struct flight *next;
    sl_dedup_key key;
} flight;

struct sl_dedup {
    sl_dedup_config cfg;
    uint64_t window_us;
    pthread_mutex_t mu;
    pthread_mutex_t io_mu;
    pthread_cond_t done_cv;   /* an owner completed or aborted */
    pthread_cond_t thread_cv; /* wakes the sync thread to stop */

    entry *ring;
    size_t cap, head, count;
    uint32_t *slots; /* ring index + 1; 0 = empty */
    size_t mask;
    flight *flights;

    char *path, *tmp_path, *dir;
    int fd;
    bool dirty;
    bool capturing;      /* a compaction is running: records also go to `side` */
    unsigned char *side; /* records written during the compaction */
    size_t side_len, side_cap;

    bool stop;
    bool thread_started;
    pthread_t thread;
    sl_dedup_stats st;
};

/* ---- clock and encoding ---- */

static uint64_t wall_us(void *ud)
{
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t now_us(sl_dedup *d)
{
    return d->cfg.clock(d->cfg.clock_ud);
}

static bool key_eq(sl_dedup_key a, sl_dedup_key b)
{
    return a.lo == b.lo && a.hi == b.hi;
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void encode(unsigned char rec[REC_SIZE], const entry *e)
{
    put64(rec, e->key.lo);
    put64(rec + 8, e->key.hi);
    put64(rec + 16, e->rows);
    put64(rec + 24, e->quarantined);
    put64(rec + 32, e->accepted_us);
    put64(rec + 40, XXH3_64bits(rec, 40));
}

static bool decode(const unsigned char rec[REC_SIZE], entry *e)
{
    if (get64(rec + 40) != XXH3_64bits(rec, 40))
        return false;
    e->key.lo = get64(rec);
    e->key.hi = get64(rec + 8);
    e->rows = get64(rec + 16);
    e->quarantined = get64(rec + 24);
    e->accepted_us = get64(rec + 32);
    e->seq = 0;
    return true;
}

sl_dedup_key sl_dedup_key_of(sl_str ds, sl_str payload, bool from_header)
{
    XXH3_state_t *s = XXH3_createState();
    if (!s)
        sl_fatal("out of memory hashing an idempotency key");
    XXH3_128bits_reset(s);
    const unsigned char sep[2] = {0, from_header ? 'h' : 'b'};
    if (ds.len)
        XXH3_128bits_update(s, ds.ptr, ds.len);
    XXH3_128bits_update(s, sep, sizeof(sep));
    if (payload.len)
        XXH3_128bits_update(s, payload.ptr, payload.len);
    XXH128_hash_t h = XXH3_128bits_digest(s);
    XXH3_freeState(s);
    return (sl_dedup_key){h.low64, h.high64};
}

void sl_dedup_key_to_bytes(sl_dedup_key key, uint8_t out[16])
{
    put64(out, key.lo);
    put64(out + 8, key.hi);
}

sl_dedup_key sl_dedup_key_from_bytes(const uint8_t in[16])
{
    return (sl_dedup_key){get64(in), get64(in + 8)};
}

/* ---- index ---- */

static size_t home(const sl_dedup *d, sl_dedup_key k)
{
    return (size_t)(k.lo ^ (k.hi >> 7)) & d->mask;
}

/* Slot position of key, or SIZE_MAX. */
static size_t index_find(const sl_dedup *d, sl_dedup_key k)
{
    if (!d->slots)
        return SIZE_MAX;
    for (size_t i = home(d, k);; i = (i + 1) & d->mask) {
        uint32_t v = d->slots[i];
        if (!v)
            return SIZE_MAX;
        if (key_eq(d->ring[v - 1].key, k))
            return i;
    }
}

static void index_put(sl_dedup *d, size_t ring_idx)
{
    size_t i = home(d, d->ring[ring_idx].key);
    while (d->slots[i])
        i = (i + 1) & d->mask;
    d->slots[i] = (uint32_t)(ring_idx + 1);
}

/* Backward-shift deletion keeps every probe chain unbroken without tombstones. */
static void index_del(sl_dedup *d, size_t i)
{
    size_t j = i;
    for (;;) {
        j = (j + 1) & d->mask;
        uint32_t v = d->slots[j];
        if (!v)
            break;
        size_t k = home(d, d->ring[v - 1].key);
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays)
            continue;
        d->slots[i] = v;
        i = j;
    }
    d->slots[i] = 0;
}

/* Grows the ring (in acceptance order from 0) and rebuilds the index. */
static void grow(sl_dedup *d)
{
    size_t ncap = d->cap ? d->cap * 2 : 1024;
    if (ncap > d->cfg.max_entries)
        ncap = d->cfg.max_entries;
    entry *nr = sl_xmalloc(ncap * sizeof(entry));
    for (size_t i = 0; i < d->count; i++)
        nr[i] = d->ring[(d->head + i) % d->cap];
    free(d->ring);
    d->ring = nr;
    d->cap = ncap;
    d->head = 0;
    size_t ns = 16;
    while (ns < 2 * ncap)
        ns *= 2;
    free(d->slots);
    d->slots = sl_xcalloc(ns, sizeof(uint32_t));
    d->mask = ns - 1;
    for (size_t i = 0; i < d->count; i++)
        index_put(d, i);
}

static void pop_head(sl_dedup *d)
{
    size_t pos = index_find(d, d->ring[d->head].key);
    if (pos != SIZE_MAX && d->slots[pos] == d->head + 1)
        index_del(d, pos);
    d->head = (d->head + 1) % d->cap;
    d->count--;
}

static bool live(const sl_dedup *d, const entry *e, uint64_t now)
{
    return e->accepted_us + d->window_us > now;
}

static void expire(sl_dedup *d, uint64_t now)
{
    while (d->count && !live(d, &d->ring[d->head], now)) {
        pop_head(d);
        d->st.expired++;
    }
}

/* Adds or refreshes a done entry. Returns false when a live entry with the key exists. */
static bool put_entry(sl_dedup *d, const entry *e, uint64_t now)
{
    size_t pos = index_find(d, e->key);
    if (pos != SIZE_MAX) {
        entry *old = &d->ring[d->slots[pos] - 1];
        if (live(d, old, now))
            return false;
        *old = *e; /* an expired entry not yet at the head: reuse its slot */
        return true;
    }
    if (d->count == d->cap) {
        if (d->cap < d->cfg.max_entries) {
            grow(d);
        } else {
            pop_head(d);
            d->st.evictions++;
        }
    }
    size_t idx = (d->head + d->count) % d->cap;
    d->ring[idx] = *e;
    index_put(d, idx);
    d->count++;
    return true;
}

/* ---- file ---- */

static int write_all(int fd, const void *p, size_t n)
{
    const unsigned char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static int write_header(int fd)
{
    unsigned char h[HDR_SIZE] = {0};
    memcpy(h, magic, sizeof(magic));
    h[8] = REC_SIZE;
    return write_all(fd, h, sizeof(h));
}

/* Appends e's record (under mu). On a failed write the file is cut back to whole records. */
static int append_record(sl_dedup *d, const entry *e, sl_error *err)
{
    unsigned char rec[REC_SIZE];
    encode(rec, e);
    if (d->capturing) {
        if (d->side_len + REC_SIZE > d->side_cap) {
            d->side_cap = d->side_cap ? 2 * d->side_cap : 64 * REC_SIZE;
            d->side = sl_xrealloc(d->side, d->side_cap);
        }
        memcpy(d->side + d->side_len, rec, REC_SIZE);
        d->side_len += REC_SIZE;
    }
    if (d->fd < 0 || write_all(d->fd, rec, REC_SIZE) != 0) {
        int e0 = errno;
        d->st.io_errors++;
        if (d->fd >= 0 && ftruncate(d->fd, (off_t)(HDR_SIZE + d->st.file_records * REC_SIZE))) {
            /* nothing more to do: the reload skips a bad tail */
        }
        return sl_error_setf(err, SL_EIO, 0, "cannot write %s: %s", d->path,
                             d->fd < 0 ? "not open" : strerror(e0));
    }
    d->st.file_records++;
    if (d->cfg.sync_interval_ms == 0) {
        if (fdatasync(d->fd) != 0) {
            d->st.io_errors++;
            return sl_error_setf(err, SL_EIO, 0, "cannot sync %s: %s", d->path, strerror(errno));
        }
    } else {
        d->dirty = true;
    }
    return 0;
}

static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* Rewrites the file with the live entries; call with io_mu held (not mu). */
static int compact_locked(sl_dedup *d, sl_error *err)
{
    pthread_mutex_lock(&d->mu);
    uint64_t now = now_us(d);
    expire(d, now);
    size_t n = 0;
    unsigned char *snap = sl_xmalloc(d->count * REC_SIZE + 1);
    for (size_t i = 0; i < d->count; i++) {
        const entry *e = &d->ring[(d->head + i) % d->cap];
        if (live(d, e, now))
            encode(snap + REC_SIZE * n++, e);
    }
    d->capturing = true;
    d->side_len = 0;
    pthread_mutex_unlock(&d->mu);

    int rc = 0;
    int fd = open(d->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0 || write_header(fd) != 0 || write_all(fd, snap, n * REC_SIZE) != 0 ||
        fdatasync(fd) != 0)
        rc = sl_error_setf(err, SL_EIO, 0, "cannot write %s: %s", d->tmp_path, strerror(errno));
    free(snap);

    pthread_mutex_lock(&d->mu);
    if (rc == 0 && (write_all(fd, d->side, d->side_len) != 0 || fdatasync(fd) != 0 ||
                    rename(d->tmp_path, d->path) != 0))
        rc = sl_error_setf(err, SL_EIO, 0, "cannot replace %s: %s", d->path, strerror(errno));
    if (rc == 0) {
        sync_dir(d->dir);
        if (d->fd >= 0)
            close(d->fd);
        d->fd = fd;
        d->st.file_records = n + d->side_len / REC_SIZE;
        d->st.compactions++;
        d->dirty = false;
    } else {
        d->st.io_errors++;
        if (fd >= 0)
            close(fd);
        unlink(d->tmp_path);
    }
    d->capturing = false;
    d->side_len = 0;
    pthread_mutex_unlock(&d->mu);
    return rc;
}

/* Most of the file is dead records (expired, evicted, bad). Call with mu held. */
static bool worth_compacting(const sl_dedup *d)
{
    uint64_t dead = d->st.file_records > d->count ? d->st.file_records - d->count : 0;
    return dead >= COMPACT_MIN_DEAD && dead > d->count;
}

static int sync_locked(sl_dedup *d, sl_error *err)
{
    pthread_mutex_lock(&d->mu);
    bool dirty = d->dirty;
    int fd = d->fd;
    d->dirty = false;
    pthread_mutex_unlock(&d->mu);
    if (dirty && fd >= 0 && fdatasync(fd) != 0) {
        pthread_mutex_lock(&d->mu);
        d->st.io_errors++;
        d->dirty = true;
        pthread_mutex_unlock(&d->mu);
        return sl_error_setf(err, SL_EIO, 0, "cannot sync %s: %s", d->path, strerror(errno));
    }
    return 0;
}

int sl_dedup_sync(sl_dedup *d, sl_error *err)
{
    pthread_mutex_lock(&d->io_mu);
    int rc = sync_locked(d, err);
    pthread_mutex_unlock(&d->io_mu);
    return rc;
}

int sl_dedup_compact(sl_dedup *d, sl_error *err)
{
    pthread_mutex_lock(&d->io_mu);
    int rc = compact_locked(d, err);
    pthread_mutex_unlock(&d->io_mu);
    return rc;
}

static void deadline_in(struct timespec *ts, uint32_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Group fdatasync, expiry and compaction in the background. */
static void *sync_main(void *arg)
{
    sl_dedup *d = arg;
    for (;;) {
        pthread_mutex_lock(&d->mu);
        struct timespec ts;
        deadline_in(&ts, d->cfg.sync_interval_ms ? d->cfg.sync_interval_ms : 1000);
        while (!d->stop && pthread_cond_timedwait(&d->thread_cv, &d->mu, &ts) == 0)
            ;
        bool stop = d->stop;
        expire(d, now_us(d));
        bool compact = !stop && worth_compacting(d);
        pthread_mutex_unlock(&d->mu);
        if (stop)
            break;
        pthread_mutex_lock(&d->io_mu);
        (void)sync_locked(d, NULL);
        if (compact)
            (void)compact_locked(d, NULL);
        pthread_mutex_unlock(&d->io_mu);
    }
    return NULL;
}

/* Reads every record of the open file into memory; cuts a torn tail. */
static int load(sl_dedup *d, sl_error *err)
{
    struct stat sb;
    if (fstat(d->fd, &sb) != 0)
        return sl_error_setf(err, SL_EIO, 0, "cannot stat %s: %s", d->path, strerror(errno));
    unsigned char hdr[HDR_SIZE];
    if (sb.st_size < HDR_SIZE || pread(d->fd, hdr, HDR_SIZE, 0) != HDR_SIZE ||
        memcmp(hdr, magic, sizeof(magic)) != 0 || hdr[8] != REC_SIZE) {
        /* New, or not ours: start empty (a foreign file is counted as one bad record). */
        if (sb.st_size > 0)
            d->st.bad_records++;
        if (ftruncate(d->fd, 0) != 0 || write_header(d->fd) != 0)
            return sl_error_setf(err, SL_EIO, 0, "cannot write %s: %s", d->path, strerror(errno));
        return 0;
    }
    uint64_t n = ((uint64_t)sb.st_size - HDR_SIZE) / REC_SIZE;
    if (HDR_SIZE + n * REC_SIZE != (uint64_t)sb.st_size &&
        ftruncate(d->fd, (off_t)(HDR_SIZE + n * REC_SIZE)) != 0)
        return sl_error_setf(err, SL_EIO, 0, "cannot truncate %s: %s", d->path, strerror(errno));
    uint64_t now = now_us(d);
    enum { CHUNK = 4096 };
    unsigned char *buf = sl_xmalloc(CHUNK * REC_SIZE);
    int rc = 0;
    for (uint64_t done = 0; done < n;) {
        size_t k = n - done < CHUNK ? (size_t)(n - done) : CHUNK;
        off_t off = (off_t)(HDR_SIZE + done * REC_SIZE);
        if (pread(d->fd, buf, k * REC_SIZE, off) != (ssize_t)(k * REC_SIZE)) {
            rc = sl_error_setf(err, SL_EIO, 0, "cannot read %s: %s", d->path, strerror(errno));
            break;
        }
        for (size_t i = 0; i < k; i++) {
            entry e;
            if (!decode(buf + i * REC_SIZE, &e))
                d->st.bad_records++;
            else if (live(d, &e, now))
                put_entry(d, &e, now);
        }
        done += k;
    }
    free(buf);
    d->st.file_records = n;
    return rc;
}

/* ---- public ---- */

void sl_dedup_config_default(sl_dedup_config *c)
{
    memset(c, 0, sizeof(*c));
    c->window_s = 5 * 3600;
    c->max_entries = (size_t)4 << 20;
    c->sync_interval_ms = 1000;
}

static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = sl_xmalloc(a + b + 2);
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

int sl_dedup_open(const char *dir, const sl_dedup_config *cfg, sl_dedup **out, sl_error *err)
{
    *out = NULL;
    if (mkdir(dir, 0750) != 0 && errno != EEXIST)
        return sl_error_setf(err, SL_EIO, 0, "cannot create %s: %s", dir, strerror(errno));
    sl_dedup *d = sl_xcalloc(1, sizeof(*d));
    if (cfg)
        d->cfg = *cfg;
    else
        sl_dedup_config_default(&d->cfg);
    if (!d->cfg.clock)
        d->cfg.clock = wall_us;
    if (d->cfg.max_entries < 16)
        d->cfg.max_entries = 16;
    if (d->cfg.max_entries > MAX_ENTRIES_LIMIT)
        d->cfg.max_entries = MAX_ENTRIES_LIMIT;
    d->window_us = d->cfg.window_s * 1000000u;
    pthread_mutex_init(&d->mu, NULL);
    pthread_mutex_init(&d->io_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->done_cv, &ca);
    pthread_cond_init(&d->thread_cv, &ca);
    pthread_condattr_destroy(&ca);
    d->dir = join(dir, "");
    d->dir[strlen(d->dir) - 1] = '\0';
    d->path = join(dir, "dedup.log");
    d->tmp_path = join(dir, "dedup.log.tmp");
    d->fd = open(d->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (d->fd < 0) {
        int rc = sl_error_setf(err, SL_EIO, 0, "cannot open %s: %s", d->path, strerror(errno));
        sl_dedup_free(d);
        return rc;
    }
    int rc = load(d, err);
    if (rc == 0 && (worth_compacting(d) || d->st.bad_records))
        rc = sl_dedup_compact(d, err);
    if (rc == 0 && pthread_create(&d->thread, NULL, sync_main, d) != 0)
        rc = sl_error_set(err, SL_ENOMEM, "cannot start the dedup sync thread", 0);
    if (rc) {
        sl_dedup_free(d);
        return rc;
    }
    d->thread_started = true;
    *out = d;
    return 0;
}

void sl_dedup_free(sl_dedup *d)
{
    if (!d)
        return;
    if (d->thread_started) {
        pthread_mutex_lock(&d->mu);
        d->stop = true;
        pthread_cond_signal(&d->thread_cv);
        pthread_mutex_unlock(&d->mu);
        pthread_join(d->thread, NULL);
    }
    if (d->fd >= 0) {
        (void)sl_dedup_sync(d, NULL);
        close(d->fd);
    }
    while (d->flights) {
        flight *f = d->flights;
        d->flights = f->next;
        free(f);
    }
    pthread_cond_destroy(&d->done_cv);
    pthread_cond_destroy(&d->thread_cv);
    pthread_mutex_destroy(&d->mu);
    pthread_mutex_destroy(&d->io_mu);
    free(d->ring);
    free(d->slots);
    free(d->side);
    free(d->path);
    free(d->tmp_path);
    free(d->dir);
    free(d);
}

static flight **find_flight(sl_dedup *d, sl_dedup_key k)
{
    for (flight **pf = &d->flights; *pf; pf = &(*pf)->next)
        if (key_eq((*pf)->key, k))
            return pf;
    return NULL;
}

static void drop_flight(sl_dedup *d, sl_dedup_key k)
{
    flight **pf = find_flight(d, k);
    if (pf) {
        flight *f = *pf;
        *pf = f->next;
        free(f);
        d->st.in_flight--;
        pthread_cond_broadcast(&d->done_cv);
    }
}

sl_dedup_outcome sl_dedup_reserve(sl_dedup *d, sl_dedup_key key, uint32_t wait_ms,
                                  sl_dedup_entry *out)
{
    struct timespec deadline;
    deadline_in(&deadline, wait_ms);
    bool waited = false;
    pthread_mutex_lock(&d->mu);
    for (;;) {
        uint64_t now = now_us(d);
        expire(d, now);
        size_t pos = index_find(d, key);
        if (pos != SIZE_MAX) {
            const entry *e = &d->ring[d->slots[pos] - 1];
            if (live(d, e, now)) {
                *out = (sl_dedup_entry){e->rows, e->quarantined, e->seq, e->accepted_us};
                d->st.hits++;
                pthread_mutex_unlock(&d->mu);
                return SL_DEDUP_DONE;
            }
        }
        if (!find_flight(d, key)) {
            flight *f = sl_xmalloc(sizeof(*f));
            f->key = key;
            f->next = d->flights;
            d->flights = f;
            d->st.in_flight++;
            pthread_mutex_unlock(&d->mu);
            return SL_DEDUP_NEW;
        }
        if (!waited) {
            waited = true;
            d->st.waits++;
        }
        if (wait_ms == 0 || pthread_cond_timedwait(&d->done_cv, &d->mu, &deadline) != 0) {
            /* Timed out: one last look (the owner may have finished just now). */
            if (wait_ms && find_flight(d, key) == NULL)
                continue;
            d->st.busy++;
            pthread_mutex_unlock(&d->mu);
            return SL_DEDUP_BUSY;
        }
    }
}

static int add(sl_dedup *d, sl_dedup_key key, uint64_t rows, uint64_t quarantined, uint64_t seq,
               uint64_t accepted_us, bool owner, sl_error *err)
{
    entry e = {key, rows, quarantined, seq, accepted_us};
    pthread_mutex_lock(&d->mu);
    uint64_t now = now_us(d);
    if (owner) {
        e.accepted_us = now;
        drop_flight(d, key);
    }
    expire(d, now);
    int rc = 0;
    if (live(d, &e, now)) {
        if (put_entry(d, &e, now)) {
            rc = append_record(d, &e, err);
        } else if (!owner && seq) {
            entry *old = &d->ring[d->slots[index_find(d, key)] - 1];
            if (!old->seq)
                old->seq = seq;
        }
    }
    pthread_mutex_unlock(&d->mu);
    return rc;
}

int sl_dedup_complete(sl_dedup *d, sl_dedup_key key, uint64_t rows, uint64_t quarantined,
                      uint64_t seq, sl_error *err)
{
    return add(d, key, rows, quarantined, seq, 0, true, err);
}

int sl_dedup_add_done(sl_dedup *d, sl_dedup_key key, uint64_t rows, uint64_t quarantined,
                      uint64_t accepted_us, uint64_t seq, sl_error *err)
{
    return add(d, key, rows, quarantined, seq, accepted_us, false, err);
}

void sl_dedup_abort(sl_dedup *d, sl_dedup_key key)
{
    pthread_mutex_lock(&d->mu);
    drop_flight(d, key);
    pthread_mutex_unlock(&d->mu);
}

void sl_dedup_get_stats(sl_dedup *d, sl_dedup_stats *out)
{
    pthread_mutex_lock(&d->mu);
    *out = d->st;
    out->entries = d->count;
    pthread_mutex_unlock(&d->mu);
}
