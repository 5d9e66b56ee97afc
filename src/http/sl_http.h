/* Private to src/http/: the server struct, the request being handled, and the helpers the
 * endpoint files (sl_events.c, sl_*_api.c) use to read a request and build an answer.
 *
 * A handler runs on an MHD pool thread once the whole body is in. It must answer through
 * sl_http_reply/sl_http_error (or park the request with sl_http_park); the server then queues
 * the response with the common headers (CORS, X-RateLimit-*, Retry-After). */
#ifndef SL_HTTP_H
#define SL_HTTP_H

#include "sl_batcher.h"
#include "sl_body.h"
#include "sl_catalog.h"
#include "sl_ratelimit.h"
#include "sl_server.h"
#include "sl_tokens.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

typedef struct sl_http_req sl_http_req;
typedef struct sl_http_waiter sl_http_waiter;
typedef struct sl_convert_state sl_convert_state;

/* Counters for /metrics (relaxed atomics: monotonic, read without locks). */
typedef struct {
    _Atomic uint64_t requests[6]; /* by status class: [1]=1xx ... [5]=5xx, [0] other */
    _Atomic uint64_t events_requests;
    _Atomic uint64_t rows;
    _Atomic uint64_t quarantined;
    _Atomic uint64_t bytes_in; /* request bodies after decompression */
    _Atomic uint64_t rate_limited;
    _Atomic uint64_t waits_timed_out;
    _Atomic uint64_t auto_created;
    _Atomic uint64_t sql_queries;
} sl_http_metrics;

struct sl_server {
    sl_server_config cfg;
    char *host;
    char *cors_origin;
    struct MHD_Daemon *daemon;
    uint16_t port;
    _Atomic bool accepting;
    sl_ratelimit *rl;     /* per data source, for /v0/events */
    sl_ratelimit *api_rl; /* one bucket for the other endpoints */
    sl_http_metrics m;

    pthread_mutex_t pool_mu; /* converter scratch states, reused by requests */
    sl_convert_state **pool;
    size_t n_pool, cap_pool;

    pthread_mutex_t sql_mu; /* the /v0/sql job queue */
    pthread_cond_t sql_cv;
    struct sl_sql_job *sql_head, *sql_tail;
    unsigned sql_queued;
    bool sql_stop;
    pthread_t *sql_workers;
    size_t n_sql_workers;

    _Atomic int parked; /* wait=true requests suspended now */

    pthread_mutex_t wait_mu; /* the waiters' deadline list and its timer thread */
    pthread_cond_t wait_cv;
    sl_http_waiter *waiters;
    bool timer_stop;
    bool timer_started;
    pthread_t timer;
};

typedef enum {
    SL_M_GET = 1,
    SL_M_HEAD = 2,
    SL_M_POST = 4,
    SL_M_PUT = 8,
    SL_M_DELETE = 16,
    SL_M_OPTIONS = 32,
    SL_M_OTHER = 64,
} sl_http_method;

#define SL_HTTP_MAX_EXTRA_HEADERS 4

struct sl_http_req {
    sl_server *srv;
    struct MHD_Connection *conn;
    sl_http_method method;
    sl_str path;      /* URL path, decoded, without the query string */
    sl_str route_arg; /* the <name> part of routes like /v0/datasources/<name> */
    const void *route;
    sl_buf body; /* raw body as received (capped) */
    bool body_too_big;
    sl_buf rows;       /* converter output for the table (capped) */
    sl_buf quarantine; /* converter output for the quarantine table (capped) */
    sl_buf decoded;    /* body after Content-Encoding (capped) */
    sl_buf out;        /* response body */
    const char *content_type;
    unsigned status;
    bool answered;      /* response queued */
    bool parked;        /* the handler parked it (written by the pool thread only) */
    _Atomic bool woken; /* answer set by sl_http_wake: queue it on the next call */
    /* Parking: the connection is suspended only when the handler has returned and the answer is
     * not there yet, so an answer set before (a synchronous callback) is sent at once. park_mu
     * orders that check against sl_http_wake. */
    pthread_mutex_t park_mu;
    bool suspended; /* under park_mu */
    bool rl_set;
    sl_ratelimit_state rl;
    unsigned n_extra;
    const char *extra_name[SL_HTTP_MAX_EXTRA_HEADERS];
    char extra_value[SL_HTTP_MAX_EXTRA_HEADERS][96];
    double started;
};

/* --- reading the request ------------------------------------------------------------------ */

/* A query parameter (decoded), or SL_STR_NULL when absent. Valid for the request's life. */
sl_str sl_http_param(sl_http_req *r, const char *key);
/* A request header (case-insensitive name), or SL_STR_NULL. */
sl_str sl_http_header(sl_http_req *r, const char *name);
/* Calls fn for each value of a repeated query parameter, in order. */
void sl_http_params_each(sl_http_req *r, const char *key, void (*fn)(void *ud, sl_str v), void *ud);
/* The token: "Authorization: Bearer <t>" first, else ?token=. SL_STR_NULL when neither. */
sl_str sl_http_token(sl_http_req *r);
/* true for "true", "1", "yes", "on" (any case). */
bool sl_http_truthy(sl_str v);

/* The body after Content-Encoding, in r->decoded or r->body (identity needs no copy).
 * On failure answers 400 or 413 itself and returns the error code. */
int sl_http_body(sl_http_req *r, sl_str *body);

/* --- answering ----------------------------------------------------------------------------- */

/* Answers `status` with r->out as the body (the handler filled it) and `content_type`
 * (NULL: application/json). */
void sl_http_reply(sl_http_req *r, unsigned status, const char *content_type);
/* Answers {"error":"<formatted message>"} with `status`. */
void sl_http_error(sl_http_req *r, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Adds a response header (at most SL_HTTP_MAX_EXTRA_HEADERS; value truncated to 95 bytes).
 * `name` must be a string literal or otherwise outlive the request. */
void sl_http_add_header(sl_http_req *r, const char *name, const char *value);

/* Parks the request: its answer comes through sl_http_wake, and no pool thread waits for it
 * (the connection is suspended after the handler returns, unless it was answered by then). Call
 * from a handler, before arranging for sl_http_wake to be called (it may be called at once, from
 * any thread). After parking, the handler must not touch r again. */
void sl_http_park(sl_http_req *r);
/* Answers a parked request: the caller has set the answer (sl_http_reply/sl_http_error) just
 * before; the server queues it on its pool thread (at once if the handler has not returned yet,
 * else by resuming the connection). Call exactly once per park; r must not be touched after. */
void sl_http_wake(sl_http_req *r);

/* A parked wait=true request with a deadline. Two parties hold it: the server's timer and
 * whoever reports the outcome (the WAL's durable callback, then the batcher's commit callback).
 * The first to claim it answers; the request itself is touched only by that one, so a late
 * callback never sees a request that was answered and reused. Freed when both have released it.
 *
 * The timer answers 504 ("accepted, will be written") at the deadline only once `durable` is
 * set: before that the record may still be lost or rejected by the write-ahead log, so the
 * request keeps waiting past its deadline for the log's answer. */
struct sl_http_waiter {
    sl_http_waiter *next; /* in srv->waiters, under wait_mu */
    sl_http_req *req;
    double deadline;
    _Atomic int refs;
    _Atomic bool claimed;
    _Atomic bool durable; /* the rows are in the write-ahead log (set once, by the notifier) */
};

/* Parks r (see sl_http_park) and returns its waiter, holding one reference for the caller's
 * notifier besides the timer's. `durable`: the rows are already in the log (a replay). */
sl_http_waiter *sl_http_wait_begin(sl_http_req *r, bool durable);
/* True for exactly one caller: that one sets the answer and calls sl_http_wake(w->req). */
bool sl_http_wait_claim(sl_http_waiter *w);
/* Drops the notifier's reference. */
void sl_http_wait_release(sl_http_waiter *w);

/* --- shared pieces --------------------------------------------------------------------------- */

sl_convert_state *sl_http_convert_state_get(sl_server *srv);
void sl_http_convert_state_put(sl_server *srv, sl_convert_state *st);

/* Checks the request's token for `action` on data source `ds`. When refused, answers 403 (503
 * when the server has no token store) and returns false. */
bool sl_http_authorize(sl_http_req *r, sl_action action, sl_str ds);

/* Valid data source name: [A-Za-z_][A-Za-z0-9_]*, at most 64 bytes. */
bool sl_http_valid_name(sl_str name);

/* Starts the /v0/sql worker threads (one per SQL sink) / stops them, answering queued
 * queries 503. */
int sl_http_sql_start(sl_server *srv, sl_error *err);
void sl_http_sql_stop(sl_server *srv);

/* --- /v0/sql access checks (pure: they read EXPLAIN output, in TSV, given as text) --------- */

/* What the AST of a statement (EXPLAIN AST, TSV) shows. */
typedef struct {
    sl_str root;       /* kind of the root node: SelectWithUnionQuery, Explain, DescribeQuery... */
    bool has_format;   /* the root has an Identifier child: a FORMAT clause */
    bool has_subquery; /* a Subquery anywhere: analysing the query runs scalar subqueries */
    size_t n_lines;
    sl_str db, table; /* DESCRIBE TABLE [db.]t and SHOW CREATE TABLE [db.]t ("default" if none) */
} sl_http_sql_ast;

/* Does the token have DATASOURCES:READ:<ds>? */
typedef bool (*sl_http_may_read_fn)(void *ud, sl_str ds);

/* Checks an AST: refuses functions nobody may call (file...), and for tokens without ADMIN the
 * functions that read tables by name (dictGet..., joinGet) and table functions other than the
 * row generators (numbers, zeros, generate_series, values, null). Returns 0, or 400/403 with
 * the reason in why. Fills *info. */
int sl_http_sql_check_ast(sl_str ast, bool admin, sl_http_sql_ast *info, char *why, size_t cap);
/* May a token without ADMIN read db.table? system.one, numbers and zeros: anyone; default.<ds>
 * and default.<ds>_quarantine: with READ on <ds>; anything else: no. Returns 0 or 403. */
int sl_http_sql_check_table(sl_str db, sl_str table, sl_http_may_read_fn may_read, void *ud,
                            char *why, size_t cap);
/* Checks every TABLE, TABLE_FUNCTION and FUNCTION node of an analysed query tree (EXPLAIN QUERY
 * TREE, TSV) for a token without ADMIN. Returns 0, or 400/403 with the reason in why. */
int sl_http_sql_check_tree(sl_str tree, sl_http_may_read_fn may_read, void *ud, char *why,
                           size_t cap);

/* --- endpoints ------------------------------------------------------------------------------- */

void sl_http_events(sl_http_req *r);
void sl_http_sql(sl_http_req *r);
void sl_http_datasources_list(sl_http_req *r);
void sl_http_datasources_create(sl_http_req *r);
void sl_http_datasources_get(sl_http_req *r);
void sl_http_datasources_delete(sl_http_req *r);
void sl_http_datasources_truncate(sl_http_req *r);
void sl_http_tokens_list(sl_http_req *r);
void sl_http_tokens_create(sl_http_req *r);
void sl_http_tokens_delete(sl_http_req *r);
void sl_http_health(sl_http_req *r);
void sl_http_ready(sl_http_req *r);
void sl_http_metrics_page(sl_http_req *r);

#endif
