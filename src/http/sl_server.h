/* The HTTP server of `sluice serve` (SPEC §2, §3, §7, §8, §11) on libmicrohttpd.
 *
 * One sl_server owns the listening daemon (an epoll thread pool), the rate limiter, a pool of
 * converter scratch states and the metrics counters. It does not own the store: the catalog,
 * tokens, batcher and the read-only SQL sink are created by the caller, must outlive the server,
 * and are only used through their own thread-safe interfaces.
 *
 * Requests with wait=true are parked (the connection is suspended, no pool thread waits) until
 * the batcher reports their rows committed, failed, or not committed within wait_timeout_s (504;
 * sent only once their record is durable in the write-ahead log, even past the deadline).
 *
 * Shutdown order: sl_server_quiesce (writes answer 503), sl_batcher_stop (flushes and answers
 * every parked request), sl_server_free. */
#ifndef SL_SERVER_H
#define SL_SERVER_H

#include "sl_common.h"
#include "sl_ratelimit.h"

typedef struct sl_server sl_server;
typedef struct sl_catalog sl_catalog;
typedef struct sl_tokens sl_tokens;
typedef struct sl_batcher sl_batcher;
typedef struct sl_dedup sl_dedup;
typedef struct sl_sink sl_sink;

typedef enum { SL_LOG_DEBUG, SL_LOG_INFO, SL_LOG_WARN, SL_LOG_ERROR } sl_log_level;

typedef struct {
    const char *host;              /* address to bind, e.g. "127.0.0.1", "0.0.0.0", "::" */
    uint16_t port;                 /* 0: any free port (see sl_server_port) */
    unsigned threads;              /* worker threads; 0: one per CPU */
    unsigned max_connections;      /* 0: 4096 */
    unsigned connection_timeout_s; /* idle or slow client; 0: 30 */
    size_t max_request_bytes;      /* body cap after decompression; 0: 100 MiB */
    size_t max_ratio;              /* decompression ratio cap; 0: 1000 */
    const char *cors_origin;       /* Access-Control-Allow-Origin; NULL: "*" */
    sl_ratelimit_config ratelimit; /* per data source; zero fields: 1000 req/s, 20 MB/s */
    double api_requests_per_s;     /* one bucket for the other endpoints except /v0/health,
                                      /v0/ready and /metrics; 0: 1000, < 0: unlimited */
    double wait_timeout_s;         /* wait=true answer deadline; 0: 10 s */
    double sql_max_execution_s;    /* /v0/sql max_execution_time; 0: 10 s */
    size_t sql_max_result_bytes;   /* /v0/sql max_result_bytes and answer cap; 0: 100 MiB */
    sl_log_level log_level;        /* structured JSON lines on stderr at this level and up */
    bool log_requests;             /* one line per request (at info) */

    /* Collaborators (not owned). sql_sinks are read-only connections for /v0/sql: each gets a
     * worker thread of its own, so queries never hold HTTP threads; n_sql_sinks queries run at
     * once, up to sql_queue more wait, past that 503. Any may be NULL (n_sql_sinks 0) in tests:
     * the endpoints needing it answer 503. */
    sl_catalog *catalog;
    sl_tokens *tokens;
    sl_batcher *batcher;
    sl_dedup *dedup; /* idempotency keys (SPEC §2); NULL: every request is inserted */
    sl_sink **sql_sinks;
    size_t n_sql_sinks;
    unsigned sql_queue; /* 0: 64 */
} sl_server_config;

/* Starts listening and serving. The config is copied (strings too). */
int sl_server_start(const sl_server_config *cfg, sl_server **out, sl_error *err);

/* The bound port (useful with port 0). */
uint16_t sl_server_port(const sl_server *srv);

/* Makes writes (events, data source changes) answer 503 from now on; other requests and the
 * requests in flight finish normally. */
void sl_server_quiesce(sl_server *srv);

/* Stops the daemon and frees the server. NULL is a no-op. Call after sl_batcher_stop, which
 * answers the parked requests. */
void sl_server_free(sl_server *srv);

/* One structured log line {"ts":..,"level":..,"msg":..[,fields]} on stderr when `level` is
 * at or above the server's. `fields_json` is NULL or a JSON object's members without braces. */
void sl_server_log(const sl_server *srv, sl_log_level level, const char *msg,
                   const char *fields_json);

#endif
