/* Token-bucket rate limits per key (a data source name): requests per second and bytes per
 * second (SPEC §2: 1000 req/s and 20 MB/s per data source by default).
 *
 * Each key has two buckets that refill continuously and hold at most one second of budget.
 * A request takes one request token up front (sl_ratelimit_take); its body bytes are charged
 * afterwards (sl_ratelimit_charge_bytes) and may drive the byte bucket negative, so a single
 * large request passes and the following ones wait until the debt is repaid.
 * Thread-safe: one short mutex-held section per call. */
#ifndef SL_RATELIMIT_H
#define SL_RATELIMIT_H

#include "sl_common.h"

typedef struct sl_ratelimit sl_ratelimit;

typedef struct {
    double requests_per_s; /* <= 0: unlimited */
    double bytes_per_s;    /* <= 0: unlimited */
} sl_ratelimit_config;

/* What the X-RateLimit-* headers and Retry-After report after a call. */
typedef struct {
    bool allowed;
    uint64_t limit;       /* X-RateLimit-Limit: requests per second */
    uint64_t remaining;   /* X-RateLimit-Remaining: whole request tokens left */
    uint64_t reset_s;     /* X-RateLimit-Reset: seconds until the bucket is full again */
    uint64_t retry_after; /* Retry-After seconds when !allowed (>= 1) */
} sl_ratelimit_state;

sl_ratelimit *sl_ratelimit_new(const sl_ratelimit_config *cfg);
void sl_ratelimit_free(sl_ratelimit *rl);

/* Takes one request token for `key` at time `now_s` (a monotonic clock, seconds). Denied when
 * no whole token is left or the key's byte budget is in debt. Fills *st either way. */
void sl_ratelimit_take(sl_ratelimit *rl, sl_str key, double now_s, sl_ratelimit_state *st);

/* Charges `bytes` of body to `key`'s byte bucket. */
void sl_ratelimit_charge_bytes(sl_ratelimit *rl, sl_str key, double now_s, uint64_t bytes);

/* Removes keys idle for more than `idle_s` seconds (their buckets are full anyway). */
void sl_ratelimit_prune(sl_ratelimit *rl, double now_s, double idle_s);

/* A monotonic clock in seconds for the calls above. */
double sl_ratelimit_now(void);

#endif
