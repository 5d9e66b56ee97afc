/* The server over a real write-ahead log whose fsync the test can hold and fail: what a wait=true
 * request is answered while its record is not durable yet, and after. Real libmicrohttpd on a
 * free loopback port, real tokens, catalog, batcher and WAL; a fake sink instead of ClickHouse. */
#include "fake_sink.c"
#include "sl_batcher.h"
#include "sl_catalog.h"
#include "sl_server.h"
#include "sl_tokens.h"
#include "sl_wal.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ADMIN "test-admin-secret"

/* ---- a WAL io whose data fsyncs can be held, then let through or failed ---- */

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool hold;    /* fsyncs wait while true */
    int fail;     /* errno the next released fsync returns (0: succeeds) */
    int holding;  /* fsyncs waiting now */
    double freed; /* when hold was last cleared (monotonic s) */
} G = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0, 0, 0};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int held_fsync(void *ctx, int fd)
{
    pthread_mutex_lock(&G.mu);
    G.holding++;
    pthread_cond_broadcast(&G.cv);
    while (G.hold)
        pthread_cond_wait(&G.cv, &G.mu);
    G.holding--;
    int fail = G.fail;
    G.fail = 0;
    pthread_mutex_unlock(&G.mu);
    if (fail)
        return -fail;
    return sl_wal_io_posix()->fsync(ctx, fd);
}

static sl_wal_io held_io;

static void hold_fsyncs(bool hold, int fail)
{
    pthread_mutex_lock(&G.mu);
    G.hold = hold;
    G.fail = fail;
    if (!hold)
        G.freed = now_s();
    pthread_cond_broadcast(&G.cv);
    pthread_mutex_unlock(&G.mu);
}

/* Waits up to 5 s until an fsync is held. */
static bool fsync_is_held(void)
{
    pthread_mutex_lock(&G.mu);
    double until = now_s() + 5;
    while (G.holding == 0 && now_s() < until) {
        pthread_mutex_unlock(&G.mu);
        usleep(2000);
        pthread_mutex_lock(&G.mu);
    }
    bool held = G.holding > 0;
    pthread_mutex_unlock(&G.mu);
    return held;
}

/* ---- fixture ---- */

static struct {
    char dir[64];
    fake_sink *ddl, *ins, *sql;
    sl_tokens *tokens;
    sl_catalog *cat;
    sl_batcher *batcher;
    sl_server *srv;
    char base[64];
    bool stopped;
} fx;

static sl_wal_fsync fsync_mode = SL_WAL_FSYNC_ALWAYS;

static void start(void)
{
    held_io = *sl_wal_io_posix();
    held_io.fsync = held_fsync;
    hold_fsyncs(false, 0);
    sl_error err = {0};
    snprintf(fx.dir, sizeof fx.dir, "/tmp/sl_srvwal_XXXXXX");
    cr_assert(mkdtemp(fx.dir));
    fx.ddl = fake_sink_new();
    fx.ins = fake_sink_new();
    fx.sql = fake_sink_new();
    cr_assert_eq(sl_tokens_open(fx.dir, &fx.tokens, &err), 0, "%s", err.msg);
    char secret[SL_TOKEN_SECRET_MAX];
    bool created;
    cr_assert_eq(sl_tokens_ensure_admin(fx.tokens, ADMIN, secret, sizeof secret, &created, &err), 0,
                 "%s", err.msg);
    cr_assert_eq(sl_catalog_open(fx.dir, &fx.ddl->base, fx.tokens, &fx.cat, &err), 0, "%s",
                 err.msg);
    char wal[128];
    snprintf(wal, sizeof wal, "%s/wal", fx.dir);
    sl_batcher_config bc;
    sl_batcher_config_default(&bc);
    bc.flush_interval_ms = 50;
    bc.wal_dir = wal;
    bc.catalog = fx.cat;
    bc.fsync = fsync_mode;
    bc.wal_io = &held_io;
    cr_assert_eq(sl_batcher_new(&bc, &fx.ins->base, &fx.batcher, &err), 0, "%s", err.msg);
    sl_server_config sc = {0};
    sc.host = "127.0.0.1";
    sc.threads = 2;
    sc.catalog = fx.cat;
    sc.tokens = fx.tokens;
    sc.batcher = fx.batcher;
    static sl_sink *sql_sinks[1];
    sql_sinks[0] = &fx.sql->base;
    sc.sql_sinks = sql_sinks;
    sc.n_sql_sinks = 1;
    sc.log_level = SL_LOG_ERROR + 1;
    sc.ratelimit.requests_per_s = -1;
    sc.wait_timeout_s = 0.3;
    cr_assert_eq(sl_server_start(&sc, &fx.srv, &err), 0, "%s", err.msg);
    snprintf(fx.base, sizeof fx.base, "http://127.0.0.1:%u", sl_server_port(fx.srv));
    fx.stopped = false;
}

/* Replaces the server (same batcher) with one whose wait=true deadline is `wait_timeout_s`. */
static void restart_server(double wait_timeout_s)
{
    sl_server_free(fx.srv);
    sl_server_config sc = {0};
    sc.host = "127.0.0.1";
    sc.threads = 2;
    sc.catalog = fx.cat;
    sc.tokens = fx.tokens;
    sc.batcher = fx.batcher;
    sc.log_level = SL_LOG_ERROR + 1;
    sc.ratelimit.requests_per_s = -1;
    sc.wait_timeout_s = wait_timeout_s;
    sl_error err = {0};
    cr_assert_eq(sl_server_start(&sc, &fx.srv, &err), 0, "%s", err.msg);
    snprintf(fx.base, sizeof fx.base, "http://127.0.0.1:%u", sl_server_port(fx.srv));
}

/* The order of sluice serve: the batcher (and its WAL) stops before the server. */
static void stop_batcher(void)
{
    sl_error err = {0};
    if (fx.srv)
        sl_server_quiesce(fx.srv);
    fake_sink_set_hold(fx.ins, false);
    hold_fsyncs(false, 0);
    sl_batcher_stop(fx.batcher, 2000, &err);
    fx.stopped = true;
}

static void stop(void)
{
    if (!fx.stopped)
        stop_batcher();
    sl_server_free(fx.srv);
    sl_batcher_free(fx.batcher);
    sl_catalog_free(fx.cat);
    sl_tokens_free(fx.tokens);
    sl_sink_close(&fx.ddl->base);
    sl_sink_close(&fx.ins->base);
    sl_sink_close(&fx.sql->base);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", fx.dir);
    cr_assert_eq(system(cmd), 0);
}

/* ---- requests on their own thread, so the test can act while they wait ---- */

typedef struct {
    char path[256];
    const char *body;
    pthread_t thread;
    long status;
    sl_buf answer;
    double answered; /* monotonic s */
} call;

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    sl_buf_append(ud, p, size * n);
    return size * n;
}

static void *call_main(void *arg)
{
    call *c = arg;
    CURL *h = curl_easy_init();
    char url[512];
    snprintf(url, sizeof url, "%s%s", fx.base, c->path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(c->body));
    struct curl_slist *hl = curl_slist_append(NULL, "Expect:");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &c->answer);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status);
    c->answered = now_s();
    sl_buf_append(&c->answer, "", 1);
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    return NULL;
}

static call *send_async(const char *path, const char *body)
{
    call *c = calloc(1, sizeof *c);
    snprintf(c->path, sizeof c->path, "%s", path);
    c->body = body;
    sl_buf_init(&c->answer, 0);
    cr_assert_eq(pthread_create(&c->thread, NULL, call_main, c), 0);
    return c;
}

static void finish(call *c)
{
    pthread_join(c->thread, NULL);
}

static void call_free(call *c)
{
    sl_buf_free(&c->answer);
    free(c);
}

#define ANSWER(c) ((const char *)(c)->answer.data)

TestSuite(server_wal, .init = start, .fini = stop, .timeout = 60);

/* The record's fsync takes three times the wait timeout: no 504 before it returns; once durable,
 * the deadline having passed, the timer answers 504 (the sink is held, so no commit first). */
Test(server_wal, wait_timeout_only_after_durable)
{
    call *warm = send_async("/v0/events?name=slowdisk&token=" ADMIN, "{\"a\":0}");
    finish(warm);
    cr_assert_eq(warm->status, 202, "%ld %s", warm->status, ANSWER(warm));
    call_free(warm);

    fake_sink_set_hold(fx.ins, true);
    hold_fsyncs(true, 0);
    call *c = send_async("/v0/events?name=slowdisk&wait=true&token=" ADMIN, "{\"a\":1}");
    call *p = send_async("/v0/events?name=slowdisk&token=" ADMIN, "{\"a\":2}");
    cr_assert(fsync_is_held());
    usleep(900 * 1000);
    cr_assert_eq(c->answered, 0, "answered %ld before the fsync returned: %s", c->status,
                 ANSWER(c));
    cr_assert_eq(p->answered, 0, "202 before the fsync returned");
    hold_fsyncs(false, 0);
    finish(c);
    finish(p);
    cr_assert_eq(c->status, 504, "%ld %s", c->status, ANSWER(c));
    cr_assert_str_eq(ANSWER(c), "{\"error\":\"wait=true timed out: the rows are accepted and stay "
                                "buffered; they will be written, do not send them again\"}");
    cr_assert_geq(c->answered, G.freed);
    cr_assert_eq(p->status, 202, "%ld %s", p->status, ANSWER(p));
    cr_assert_geq(p->answered, G.freed);
    fake_sink_set_hold(fx.ins, false);
    cr_assert(fake_sink_wait_inserts(fx.ins, 2, 5000), "the accepted rows were not inserted");
    call_free(c);
    call_free(p);
}

/* Durable in time: the wait goes on to the commit and answers 200. */
Test(server_wal, wait_commits_after_slow_fsync)
{
    restart_server(10);
    hold_fsyncs(true, 0);
    call *c = send_async("/v0/events?name=slowok&wait=true&token=" ADMIN, "{\"a\":1}");
    cr_assert(fsync_is_held());
    usleep(500 * 1000);
    hold_fsyncs(false, 0);
    finish(c);
    cr_assert_eq(c->status, 200, "%ld %s", c->status, ANSWER(c));
    cr_assert_str_eq(ANSWER(c), "{\"successful_rows\":1,\"quarantined_rows\":0}");
    call_free(c);
}

/* The fsync fails after the deadline: 503 (not accepted), never 504. */
Test(server_wal, failed_fsync_after_deadline_is_503)
{
    call *warm = send_async("/v0/events?name=baddisk&token=" ADMIN, "{\"a\":0}");
    finish(warm);
    cr_assert_eq(warm->status, 202, "%ld %s", warm->status, ANSWER(warm));
    call_free(warm);

    hold_fsyncs(true, EIO);
    call *c = send_async("/v0/events?name=baddisk&wait=true&token=" ADMIN, "{\"a\":1}");
    cr_assert(fsync_is_held());
    usleep(700 * 1000);
    cr_assert_eq(c->answered, 0, "answered %ld before the fsync returned: %s", c->status,
                 ANSWER(c));
    hold_fsyncs(false, EIO);
    finish(c);
    cr_assert_eq(c->status, 503, "%ld %s", c->status, ANSWER(c));
    cr_assert(strstr(ANSWER(c), "the rows were not accepted: cannot fsync in the write-ahead log"),
              "%s", ANSWER(c));
    call_free(c);
    /* The log works again: accepted as usual (a long deadline: a loaded machine must not
     * turn the 200 into a 504). */
    restart_server(10);
    c = send_async("/v0/events?name=baddisk&wait=true&token=" ADMIN, "{\"a\":2}");
    finish(c);
    cr_assert_eq(c->status, 200, "%ld %s", c->status, ANSWER(c));
    call_free(c);
}

/* The server stops while a durable record waits for its commit: 504 (accepted, in the log), not
 * 503 ("resend"). */
Test(server_wal, stop_answers_durable_waiter_504)
{
    call *warm = send_async("/v0/events?name=stopping&token=" ADMIN, "{\"a\":0}");
    finish(warm);
    call_free(warm);
    cr_assert(fake_sink_wait_inserts(fx.ins, 1, 5000));
    fake_sink_set_hold(fx.ins, true);
    /* A long deadline, so only the stop can end the wait. */
    restart_server(30);
    call *c = send_async("/v0/events?name=stopping&wait=true&token=" ADMIN, "{\"a\":1}");
    sl_batcher_stats st = {0};
    for (int i = 0; i < 500 && st.waiters == 0; i++) {
        usleep(10000);
        sl_batcher_get_stats(fx.batcher, &st);
    }
    cr_assert_eq(st.waiters, 1, "the wait=true request did not become durable");
    sl_server_free(fx.srv);
    fx.srv = NULL;
    finish(c);
    cr_assert_eq(c->status, 504, "%ld %s", c->status, ANSWER(c));
    cr_assert(strstr(ANSWER(c), "they are in its write-ahead log and will be written"), "%s",
              ANSWER(c));
    call_free(c);
}

/* fsync=never: request threads write the log groups themselves (sl_wal_lead_end). Many
 * concurrent requests from several connections: every one is answered 202 once written, and
 * every row reaches the sink once. */
static void start_never(void)
{
    fsync_mode = SL_WAL_FSYNC_NEVER;
    start();
    fsync_mode = SL_WAL_FSYNC_ALWAYS;
}

TestSuite(server_wal_never, .init = start_never, .fini = stop, .timeout = 60);

Test(server_wal_never, request_threads_lead_groups)
{
    enum { N = 8, PER = 25 };
    restart_server(10);
    static char bodies[N * PER][32];
    call *calls[N * PER];
    for (int i = 0; i < N * PER; i++) {
        snprintf(bodies[i], sizeof bodies[i], "{\"a\":%d}", i);
        calls[i] = send_async(i % 10 == 0 ? "/v0/events?name=lead&wait=true&token=" ADMIN
                                          : "/v0/events?name=lead&token=" ADMIN,
                              bodies[i]);
        if (i % N == N - 1)
            for (int k = i - N + 1; k <= i; k++)
                finish(calls[k]);
    }
    for (int i = 0; i < N * PER; i++) {
        long want = i % 10 == 0 ? 200 : 202;
        cr_assert_eq(calls[i]->status, want, "%d: %ld %s", i, calls[i]->status, ANSWER(calls[i]));
        call_free(calls[i]);
    }
    sl_batcher_stats st;
    sl_batcher_get_stats(fx.batcher, &st);
    cr_assert_eq(st.rows_appended, N * PER);
    cr_assert_eq(st.wal.records_written >= N * PER, true);
    sl_error err = {0};
    cr_assert_eq(sl_batcher_flush(fx.batcher, NULL, 5000, &err), 0, "%s", err.msg);
    sl_batcher_get_stats(fx.batcher, &st);
    cr_assert_eq(st.rows_committed, N * PER);
}
