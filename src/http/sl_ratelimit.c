/* Token buckets per key in an open-addressing hash table under one mutex (see sl_ratelimit.h).
 * Keys are copied into their slot; the table grows when 3/4 full. */
#include "sl_ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEY_MAX 128 /* longer keys are truncated: data source names are at most 64 bytes */

typedef struct {
    bool used;
    uint8_t key_len;
    char key[KEY_MAX];
    double req_tokens;
    double byte_tokens;
    double last; /* time of the last refill */
} bucket;

struct sl_ratelimit {
    sl_ratelimit_config cfg;
    pthread_mutex_t mu;
    bucket *slots;
    size_t n_slots; /* power of two */
    size_t n_used;
};

static uint64_t hash_key(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
    return h;
}

sl_ratelimit *sl_ratelimit_new(const sl_ratelimit_config *cfg)
{
    sl_ratelimit *rl = sl_xcalloc(1, sizeof(*rl));
    rl->cfg = *cfg;
    pthread_mutex_init(&rl->mu, NULL);
    rl->n_slots = 64;
    rl->slots = sl_xcalloc(rl->n_slots, sizeof(bucket));
    return rl;
}

void sl_ratelimit_free(sl_ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl->slots);
    free(rl);
}

static bucket *probe(bucket *slots, size_t n_slots, const char *k, size_t n)
{
    size_t i = (size_t)hash_key(k, n) & (n_slots - 1);
    for (;;) {
        bucket *b = &slots[i];
        if (!b->used || (b->key_len == n && memcmp(b->key, k, n) == 0))
            return b;
        i = (i + 1) & (n_slots - 1);
    }
}

static void rehash(sl_ratelimit *rl, size_t n_slots)
{
    bucket *slots = sl_xcalloc(n_slots, sizeof(bucket));
    for (size_t i = 0; i < rl->n_slots; i++)
        if (rl->slots[i].used)
            *probe(slots, n_slots, rl->slots[i].key, rl->slots[i].key_len) = rl->slots[i];
    free(rl->slots);
    rl->slots = slots;
    rl->n_slots = n_slots;
}

/* The key's bucket, created full, refilled to `now`. Called with the mutex held. */
static bucket *lookup(sl_ratelimit *rl, sl_str key, double now)
{
    size_t n = key.len < KEY_MAX ? key.len : KEY_MAX;
    bucket *b = probe(rl->slots, rl->n_slots, key.ptr, n);
    if (!b->used) {
        if ((rl->n_used + 1) * 4 > rl->n_slots * 3) {
            rehash(rl, rl->n_slots * 2);
            b = probe(rl->slots, rl->n_slots, key.ptr, n);
        }
        b->used = true;
        b->key_len = (uint8_t)n;
        if (n)
            memcpy(b->key, key.ptr, n);
        b->req_tokens = rl->cfg.requests_per_s;
        b->byte_tokens = rl->cfg.bytes_per_s;
        b->last = now;
        rl->n_used++;
        return b;
    }
    double dt = now - b->last;
    if (dt > 0) {
        b->req_tokens += dt * rl->cfg.requests_per_s;
        if (b->req_tokens > rl->cfg.requests_per_s)
            b->req_tokens = rl->cfg.requests_per_s;
        b->byte_tokens += dt * rl->cfg.bytes_per_s;
        if (b->byte_tokens > rl->cfg.bytes_per_s)
            b->byte_tokens = rl->cfg.bytes_per_s;
        b->last = now;
    }
    return b;
}

static uint64_t ceil_s(double s)
{
    if (s <= 0)
        return 0;
    return (uint64_t)ceil(s);
}

void sl_ratelimit_take(sl_ratelimit *rl, sl_str key, double now_s, sl_ratelimit_state *st)
{
    double rps = rl->cfg.requests_per_s, bps = rl->cfg.bytes_per_s;
    if (rps <= 0 && bps <= 0) {
        *st = (sl_ratelimit_state){.allowed = true, .limit = 0, .remaining = 0};
        return;
    }
    pthread_mutex_lock(&rl->mu);
    bucket *b = lookup(rl, key, now_s);
    bool req_ok = rps <= 0 || b->req_tokens >= 1.0;
    bool bytes_ok = bps <= 0 || b->byte_tokens > 0;
    st->allowed = req_ok && bytes_ok;
    if (st->allowed && rps > 0)
        b->req_tokens -= 1.0;
    double req_tokens = b->req_tokens, byte_tokens = b->byte_tokens;
    pthread_mutex_unlock(&rl->mu);

    st->limit = rps > 0 ? (uint64_t)rps : 0;
    st->remaining = rps > 0 && req_tokens > 0 ? (uint64_t)req_tokens : 0;
    st->reset_s = rps > 0 ? ceil_s((rps - req_tokens) / rps) : 0;
    double wait = 0;
    if (!req_ok)
        wait = (1.0 - req_tokens) / rps;
    if (!bytes_ok && -byte_tokens / bps > wait)
        wait = -byte_tokens / bps;
    st->retry_after = st->allowed ? 0 : ceil_s(wait) ? ceil_s(wait) : 1;
}

void sl_ratelimit_charge_bytes(sl_ratelimit *rl, sl_str key, double now_s, uint64_t bytes)
{
    if (rl->cfg.bytes_per_s <= 0)
        return;
    pthread_mutex_lock(&rl->mu);
    bucket *b = lookup(rl, key, now_s);
    b->byte_tokens -= (double)bytes;
    pthread_mutex_unlock(&rl->mu);
}

void sl_ratelimit_prune(sl_ratelimit *rl, double now_s, double idle_s)
{
    pthread_mutex_lock(&rl->mu);
    size_t live = 0;
    for (size_t i = 0; i < rl->n_slots; i++)
        if (rl->slots[i].used && now_s - rl->slots[i].last <= idle_s)
            live++;
    if (live != rl->n_used) {
        /* Rebuild without the idle keys (open addressing cannot simply clear a slot). */
        bucket *old = rl->slots;
        size_t n_old = rl->n_slots;
        rl->slots = sl_xcalloc(n_old, sizeof(bucket));
        rl->n_used = 0;
        for (size_t i = 0; i < n_old; i++)
            if (old[i].used && now_s - old[i].last <= idle_s) {
                *probe(rl->slots, n_old, old[i].key, old[i].key_len) = old[i];
                rl->n_used++;
            }
        free(old);
    }
    pthread_mutex_unlock(&rl->mu);
}

double sl_ratelimit_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
