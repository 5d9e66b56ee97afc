/* Batcher against the fake sink: one insert per table per flush with its dedup token, early
 * flush for waiters, retries with the same block and token, partial failures, timeouts, dropped
 * data sources, the buffer cap, stop, stats, and appends from many threads. */
#include "fake_sink.c"
#include "sl_batcher.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    char dir[64];
    fake_sink *sink; /* the batcher's */
    fake_sink *ddl;  /* the catalog's */
    sl_catalog *cat;
    sl_datasource *ds;
    sl_batcher *b;
} fx;

static void fx_open(fx *f, uint32_t interval_ms, size_t max_buffer)
{
    sl_error err = {0};
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sl_bat_XXXXXX");
    cr_assert(mkdtemp(f->dir));
    f->sink = fake_sink_new();
    f->ddl = fake_sink_new();
    cr_assert_eq(sl_catalog_open(f->dir, &f->ddl->base, NULL, &f->cat, &err), 0);
    cr_assert_eq(sl_catalog_create_text(f->cat, SL_STR("ev"), SL_STR("SCHEMA >\n    `a` Int32\n"),
                                        NULL, &f->ds, &err),
                 0, "%s", err.msg);
    sl_batcher_config c;
    sl_batcher_config_default(&c);
    c.flush_interval_ms = interval_ms;
    c.retry_initial_ms = 20;
    c.retry_max_ms = 80;
    c.first_seq = 100;
    if (max_buffer)
        c.max_buffer_bytes = max_buffer;
    cr_assert_eq(sl_batcher_new(&c, &f->sink->base, &f->b, &err), 0);
}

static void fx_close(fx *f)
{
    sl_batcher_free(f->b);
    sl_datasource_release(f->ds);
    sl_catalog_free(f->cat);
    sl_sink_close(&f->sink->base);
    sl_sink_close(&f->ddl->base);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    cr_assert_eq(system(cmd), 0);
}

static uint64_t append(fx *f, const char *rows, uint64_t n, const char *q, uint64_t nq)
{
    uint64_t seq = 0;
    sl_error err = {0};
    cr_assert_eq(sl_batcher_append(f->b, f->ds, sl_str_from_cstr(rows), n, sl_str_from_cstr(q), nq,
                                   &seq, &err),
                 0, "%s", err.msg);
    return seq;
}

Test(batcher, one_insert_per_table_per_flush)
{
    fx f;
    fx_open(&f, 50, 0);
    uint64_t s1 = append(&f, "AAAA", 1, "", 0);
    uint64_t s2 = append(&f, "BBBB", 1, "qq", 1);
    cr_assert_eq(s1, 100);
    cr_assert_eq(s2, 101);
    cr_assert(fake_sink_wait_inserts(f.sink, 2, 2000));
    pthread_mutex_lock(&f.sink->mu);
    cr_assert_eq(f.sink->n_inserts, 2);
    fake_insert *r = &f.sink->inserts[0], *q = &f.sink->inserts[1];
    cr_assert_str_eq(r->sql, "INSERT INTO `default`.`ev` SETTINGS insert_deduplication_token = "
                             "'ev:100-101@1'");
    cr_assert_str_eq(r->format, "RowBinaryWithDefaults");
    cr_assert_eq(r->len, 8);
    cr_assert_eq(memcmp(r->data, "AAAABBBB", 8), 0);
    cr_assert(strstr(q->sql, "INSERT INTO `default`.`ev_quarantine` (`c__error_column`"));
    cr_assert(strstr(q->sql, "'ev:100-101@1'"));
    cr_assert_str_eq(q->format, "RowBinary");
    cr_assert_eq(q->len, 2);
    pthread_mutex_unlock(&f.sink->mu);

    sl_error err = {0};
    cr_assert_eq(sl_batcher_wait(f.b, f.ds, s2, 1000, &err), SL_BATCH_COMMITTED);
    sl_batcher_stats st;
    sl_batcher_get_stats(f.b, &st);
    cr_assert_eq(st.rows_committed, 2);
    cr_assert_eq(st.quarantined_committed, 1);
    cr_assert_eq(st.bytes_committed, 10);
    cr_assert_eq(st.flushes, 1);
    cr_assert_eq(st.buffer_bytes, 0);
    cr_assert_eq(st.buffer_rows, 0);
    cr_assert_eq(st.latency_count, 1);
    cr_assert_eq(st.latency_buckets[SL_BATCHER_LATENCY_BUCKETS - 1], 1);
    fx_close(&f);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

Test(batcher, waiter_flushes_early)
{
    fx f;
    fx_open(&f, 60000, 0); /* the interval alone would take a minute */
    uint64_t s = append(&f, "AAAA", 1, "", 0);
    sl_error err = {0};
    uint64_t t0 = now_ms();
    cr_assert_eq(sl_batcher_wait(f.b, f.ds, s, 5000, &err), SL_BATCH_COMMITTED, "%s", err.msg);
    cr_assert_lt(now_ms() - t0, 2000);
    /* Already committed: answered at once, no callback. */
    cr_assert_eq(sl_batcher_wait_async(f.b, f.ds, s, 0, NULL, NULL, &err), 1);
    /* A seq never appended. */
    cr_assert_eq(sl_batcher_wait_async(f.b, f.ds, s + 50, 0, NULL, NULL, &err), SL_EINVAL);
    fx_close(&f);
}

Test(batcher, size_trigger)
{
    fx f;
    fx_open(&f, 60000, 0);
    sl_batcher_free(f.b);
    sl_batcher_config c;
    sl_batcher_config_default(&c);
    c.flush_interval_ms = 60000;
    c.flush_bytes = 10;
    sl_error err = {0};
    cr_assert_eq(sl_batcher_new(&c, &f.sink->base, &f.b, &err), 0);
    append(&f, "AAAAAA", 1, "", 0);
    cr_assert(!fake_sink_wait_inserts(f.sink, 1, 200));
    append(&f, "BBBBBB", 1, "", 0);
    cr_assert(fake_sink_wait_inserts(f.sink, 1, 2000));
    fx_close(&f);
}

/* A backlog larger than flush_bytes goes in several inserts, oldest first, each with the token
 * of its own range, and a waiter on the last append is answered once all of them landed. */
Test(batcher, backlog_split_at_flush_bytes)
{
    fx f;
    fx_open(&f, 60000, 0);
    sl_batcher_free(f.b);
    sl_batcher_config c;
    sl_batcher_config_default(&c);
    c.flush_interval_ms = 60000;
    c.flush_bytes = 10;
    c.first_seq = 100;
    sl_error err = {0};
    cr_assert_eq(sl_batcher_new(&c, &f.sink->base, &f.b, &err), 0);
    append(&f, "AAAAAA", 1, "", 0);
    append(&f, "BBBBBB", 1, "", 0);
    uint64_t last = append(&f, "CCCCCC", 1, "", 0);
    cr_assert_eq(sl_batcher_wait(f.b, f.ds, last, 5000, &err), SL_BATCH_COMMITTED, "%s",
                 err.msg ? err.msg : "");
    pthread_mutex_lock(&f.sink->mu);
    cr_assert_eq(f.sink->n_inserts, 3);
    const char *tokens[] = {"'ev:100-100@1'", "'ev:101-101@2'", "'ev:102-102@3'"};
    const char *rows[] = {"AAAAAA", "BBBBBB", "CCCCCC"};
    for (int i = 0; i < 3; i++) {
        cr_assert(strstr(f.sink->inserts[i].sql, tokens[i]), "%s", f.sink->inserts[i].sql);
        cr_assert_eq(f.sink->inserts[i].len, 6);
        cr_assert(memcmp(f.sink->inserts[i].data, rows[i], 6) == 0);
    }
    pthread_mutex_unlock(&f.sink->mu);
    fx_close(&f);
}

/* A refused insert left nothing (the table's mark did not move): each retry carries the same
 * block under a new token, so a token ClickHouse may remember without the rows cannot drop it. */
Test(batcher, failure_reported_then_retried_under_a_new_token)
{
    fx f;
    fx_open(&f, 50, 0);
    fake_sink_fail_inserts(f.sink, 2);
    uint64_t s = append(&f, "AAAA", 1, "", 0);
    sl_error err = {0};
    cr_assert_eq(sl_batcher_wait(f.b, f.ds, s, 5000, &err), SL_BATCH_FAILED);
    cr_assert(strstr(err.msg, "fake: insert refused"), "%s", err.msg);
    /* Rows stay queued: the retry commits the same block. */
    cr_assert(fake_sink_wait_inserts(f.sink, 1, 3000));
    cr_assert_eq(sl_batcher_wait(f.b, f.ds, s, 5000, &err), SL_BATCH_COMMITTED);
    pthread_mutex_lock(&f.sink->mu);
    cr_assert_eq(f.sink->n_inserts, 1);
    cr_assert(strstr(f.sink->inserts[0].sql, "'ev:100-100@3'"), "%s", f.sink->inserts[0].sql);
    cr_assert_eq(memcmp(f.sink->inserts[0].data, "AAAA", 4), 0);
    cr_assert_eq(f.sink->insert_attempts, 3);
    pthread_mutex_unlock(&f.sink->mu);
    sl_batcher_stats st;
    sl_batcher_get_stats(f.b, &st);
    cr_assert_eq(st.flush_failures, 2);
    cr_assert_eq(st.failing_datasources, 0);
    cr_assert_eq(st.rows_committed, 1);
    fx_close(&f);
}

/* The insert landed but reported an error (the mark moved): the retry keeps its token, so the
 * engine drops it instead of writing the rows twice. */
Test(batcher, landed_insert_that_failed_keeps_its_token)
{
    fx f;
    fx_open(&f, 50, 0);
    fake_sink_land_then_fail(f.sink, 1);
    uint64_t s = append(&f, "AAAA", 1, "", 0);
    sl_error err = {0};
    cr_assert_eq(sl_batcher_wait(f.b, f.ds, s, 5000, &err), SL_BATCH_FAILED);
    cr_assert_eq(sl_batcher_wait(f.b, f.ds, s, 5000, &err), SL_BATCH_COMMITTED);
    pthread_mutex_lock(&f.sink->mu);
    cr_assert_eq(f.sink->n_inserts, 2);
    cr_assert_str_eq(f.sink->inserts[0].sql, f.sink->inserts[1].sql);
    cr_assert(!f.sink->inserts[0].deduplicated);
    cr_assert(f.sink->inserts[1].deduplicated);
    pthread_mutex_unlock(&f.sink->mu);
    cr_assert_eq(fake_sink_count_inserts(f.sink, "INSERT INTO `default`.`ev` "), 1);
    fx_close(&f);
}

/* The engine remembered the token but the rows never landed (an insert cut short): a retry
 * with that token would be dropped, so it goes under a new one and the rows arrive once. */
Test(batcher, insert_cut_short_after_its_token_is_not_lost)
{
    fx f;
    fx_open(&f, 50, 0);
    fake_sink_lose_inserts(f.sink, 1);
    uint64_t s = append(&f, "AAAA", 1, "", 0);
    sl_error err = {0};
    cr_assert_eq(sl_batcher_wait(f.b, f.ds, s, 5000, &err), SL_BATCH_FAILED);
    cr_assert(strstr(err.msg, "fake: insert cut short"), "%s", err.msg);
    cr_assert_eq(sl_batcher_wait(f.b, f.ds, s, 5000, &err), SL_BATCH_COMMITTED);
    cr_assert_eq(fake_sink_count_inserts(f.sink, "INSERT INTO `default`.`ev` "), 1);
    cr_assert_eq(fake_sink_count_inserts(f.sink, "'ev:100-100@2'"), 1);
    fx_close(&f);
}

Test(batcher, partial_failure_retries_only_the_failed_table)
{
    fx f;
    fx_open(&f, 50, 0);
    fake_sink_fail_matching(f.sink, "INSERT INTO `default`.`ev_quarantine`");
    uint64_t s = append(&f, "AAAA", 1, "QQ", 1);
    sl_error err = {0};
    cr_assert_eq(sl_batcher_wait(f.b, f.ds, s, 5000, &err), SL_BATCH_FAILED);
    /* Rows appended meanwhile queue behind the failing batch. */
    uint64_t s2 = append(&f, "BBBB", 1, "", 0);
    fake_sink_fail_matching(f.sink, "");
    cr_assert_eq(sl_batcher_wait(f.b, f.ds, s2, 5000, &err), SL_BATCH_COMMITTED, "%s", err.msg);
    cr_assert_eq(fake_sink_count_inserts(f.sink, "INSERT INTO `default`.`ev` "), 2);
    cr_assert_eq(fake_sink_count_inserts(f.sink, "`ev_quarantine`"), 1);
    /* The table keeps its token, the quarantine table (nothing landed) gets a new one. */
    cr_assert_eq(fake_sink_count_inserts(f.sink, "'ev:100-100@1'"), 1);
    cr_assert_eq(fake_sink_count_inserts(f.sink, "'ev:100-100@"), 2);
    cr_assert_eq(fake_sink_count_inserts(f.sink, "'ev:101-101@"), 1);
    fx_close(&f);
}

typedef struct {
    pthread_mutex_t mu;
    int calls;
    sl_batch_status status;
} cb_state;

static void on_done(void *ud, uint64_t seq, sl_batch_status status, const char *msg)
{
    (void)seq;
    (void)msg;
    cb_state *c = ud;
    pthread_mutex_lock(&c->mu);
    c->calls++;
    c->status = status;
    pthread_mutex_unlock(&c->mu);
}

Test(batcher, timeout_then_stop)
{
    fx f;
    fx_open(&f, 50, 0);
    fake_sink_set_hold(f.sink, true);
    uint64_t s = append(&f, "AAAA", 1, "", 0);
    sl_error err = {0};
    uint64_t t0 = now_ms();
    cr_assert_eq(sl_batcher_wait(f.b, f.ds, s, 100, &err), SL_BATCH_TIMEOUT);
    cr_assert_lt(now_ms() - t0, 1500);
    cb_state c = {PTHREAD_MUTEX_INITIALIZER, 0, SL_BATCH_FAILED};
    uint64_t s2 = append(&f, "BBBB", 1, "", 0);
    cr_assert_eq(sl_batcher_wait_async(f.b, f.ds, s2, 0, on_done, &c, &err), 0);
    fake_sink_set_hold(f.sink, false);
    /* Stop flushes everything left and answers the waiter. */
    cr_assert_eq(sl_batcher_stop(f.b, 2000, &err), 0, "%s", err.msg);
    cr_assert_eq(c.calls, 1);
    cr_assert_eq(c.status, SL_BATCH_COMMITTED);
    cr_assert_eq(fake_sink_count_inserts(f.sink, "INSERT"), 2);
    uint64_t s3;
    cr_assert_eq(sl_batcher_append(f.b, f.ds, SL_STR("x"), 1, SL_STR(""), 0, &s3, &err), SL_EIO);
    fx_close(&f);
}

Test(batcher, stop_with_failing_storage_reports_loss)
{
    fx f;
    fx_open(&f, 50, 0);
    fake_sink_fail_inserts(f.sink, 1000000);
    uint64_t s = append(&f, "AAAA", 1, "", 0);
    cb_state c = {PTHREAD_MUTEX_INITIALIZER, 0, SL_BATCH_COMMITTED};
    sl_error err = {0};
    cr_assert_eq(sl_batcher_wait(f.b, f.ds, s, 5000, &err), SL_BATCH_FAILED);
    cr_assert_eq(sl_batcher_wait_async(f.b, f.ds, s, 0, on_done, &c, &err), 0);
    cr_assert_eq(sl_batcher_stop(f.b, 200, &err), SL_EIO);
    cr_assert(strstr(err.msg, "1 rows"), "%s", err.msg);
    cr_assert_eq(c.calls, 1);
    cr_assert(c.status == SL_BATCH_FAILED || c.status == SL_BATCH_STOPPED);
    fx_close(&f);
}

Test(batcher, dropped_datasource_discards)
{
    fx f;
    fx_open(&f, 60000, 0);
    fake_sink_set_hold(f.sink, true);
    uint64_t s1 = append(&f, "AAAA", 1, "", 0);
    cb_state c1 = {PTHREAD_MUTEX_INITIALIZER, 0, SL_BATCH_COMMITTED};
    sl_error err = {0};
    cr_assert_eq(sl_batcher_wait_async(f.b, f.ds, s1, 0, on_done, &c1, &err), 0);
    /* s1 is in flight (held); s2 pending when the data source goes. */
    usleep(100000);
    uint64_t s2 = append(&f, "BBBB", 1, "", 0);
    cb_state c2 = {PTHREAD_MUTEX_INITIALIZER, 0, SL_BATCH_COMMITTED};
    cr_assert_eq(sl_catalog_drop(f.cat, SL_STR("ev"), &err), 0);
    cr_assert_eq(sl_batcher_append(f.b, f.ds, SL_STR("x"), 1, SL_STR(""), 0, &s2, &err),
                 SL_EMISSING);
    fake_sink_set_hold(f.sink, false);
    (void)c2;
    for (int i = 0; i < 100 && c1.calls == 0; i++)
        usleep(20000);
    cr_assert_eq(c1.calls, 1);
    cr_assert_eq(c1.status, SL_BATCH_COMMITTED);
    sl_batcher_stats st;
    for (int i = 0; i < 100; i++) {
        sl_batcher_get_stats(f.b, &st);
        if (st.rows_discarded)
            break;
        usleep(20000);
    }
    cr_assert_eq(st.rows_discarded, 1);
    cr_assert_eq(st.buffer_bytes, 0);
    fx_close(&f);
}

Test(batcher, buffer_cap)
{
    fx f;
    fx_open(&f, 60000, 10);
    append(&f, "AAAAAAAA", 1, "", 0);
    uint64_t s;
    sl_error err = {0};
    cr_assert_eq(sl_batcher_append(f.b, f.ds, SL_STR("BBBB"), 1, SL_STR(""), 0, &s, &err),
                 SL_ETOOBIG);
    cr_assert_eq(sl_batcher_flush(f.b, NULL, 2000, &err), 0, "%s", err.msg);
    append(&f, "BBBB", 1, "", 0);
    fx_close(&f);
}

typedef struct {
    fx *f;
    int n;
} thr_arg;

static void *appender(void *p)
{
    thr_arg *a = p;
    for (int i = 0; i < a->n; i++) {
        uint64_t seq;
        sl_error err = {0};
        if (sl_batcher_append(a->f->b, a->f->ds, SL_STR("ROW1"), 1, SL_STR("Q"), 1, &seq, &err))
            return (void *)1;
        if (i % 100 == 0 &&
            sl_batcher_wait(a->f->b, a->f->ds, seq, 5000, &err) != SL_BATCH_COMMITTED)
            return (void *)2;
    }
    return NULL;
}

Test(batcher, concurrent_appends)
{
    fx f;
    fx_open(&f, 50, 0);
    pthread_t th[4];
    thr_arg a = {&f, 1000};
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, appender, &a);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(th[i], &r);
        cr_assert_null(r);
    }
    sl_error err = {0};
    cr_assert_eq(sl_batcher_flush(f.b, f.ds, 5000, &err), 0, "%s", err.msg);
    size_t rows = 0, q = 0;
    pthread_mutex_lock(&f.sink->mu);
    for (size_t i = 0; i < f.sink->n_inserts; i++) {
        cr_assert(!f.sink->inserts[i].deduplicated);
        if (strstr(f.sink->inserts[i].sql, "_quarantine"))
            q += f.sink->inserts[i].len;
        else
            rows += f.sink->inserts[i].len / 4;
    }
    pthread_mutex_unlock(&f.sink->mu);
    cr_assert_eq(rows, 4000);
    cr_assert_eq(q, 4000);
    sl_batcher_stats st;
    sl_batcher_get_stats(f.b, &st);
    cr_assert_eq(st.rows_committed, 4000);
    cr_assert_eq(st.quarantined_committed, 4000);
    cr_assert_eq(st.appends, 4000);
    cr_assert_eq(st.waiters, 0);
    fx_close(&f);
}

/* ---- with the write-ahead log ---- */

static void wal_start(fx *f, uint32_t interval_ms, size_t max_memory)
{
    char wal[128];
    snprintf(wal, sizeof wal, "%s/wal", f->dir);
    sl_batcher_config c;
    sl_batcher_config_default(&c);
    c.flush_interval_ms = interval_ms;
    c.retry_initial_ms = 20;
    c.retry_max_ms = 80;
    c.wal_dir = wal;
    c.catalog = f->cat;
    c.first_seq = 100;
    if (max_memory)
        c.max_memory_bytes = max_memory;
    sl_error err = {0};
    cr_assert_eq(sl_batcher_new(&c, &f->sink->base, &f->b, &err), 0, "%s", err.msg);
}

static void fx_open_wal(fx *f, uint32_t interval_ms, size_t max_memory)
{
    fx_open(f, interval_ms, 0);
    sl_batcher_free(f->b);
    f->b = NULL;
    wal_start(f, interval_ms, max_memory);
}

/* A crash: stop without committing (inserts fail), free. The WAL keeps the rows. */
static void crash(fx *f)
{
    fake_sink_fail_inserts(f->sink, 1000000);
    sl_error err = {0};
    cr_assert_eq(sl_batcher_stop(f->b, 0, &err), 0, "%s", err.msg);
    sl_batcher_free(f->b);
    f->b = NULL;
    fake_sink_fail_inserts(f->sink, 0);
}

static size_t count_token(fake_sink *s, const char *token, bool dedup)
{
    size_t n = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n_inserts; i++)
        if (strstr(s->inserts[i].sql, token) && s->inserts[i].deduplicated == dedup)
            n++;
    pthread_mutex_unlock(&s->mu);
    return n;
}

Test(batcher_wal, replays_open_flush_with_its_token_then_the_rest)
{
    fx f;
    fx_open_wal(&f, 60000, 0);
    fake_sink_fail_inserts(f.sink, 1000000);
    uint64_t s1 = append(&f, "AAAA", 1, "", 0);
    append(&f, "BBBB", 1, "", 0);
    uint64_t s3 = append(&f, "CCCC", 1, "q", 1);
    sl_error err = {0};
    /* The waiter starts a flush of s1..s3: FLUSH is logged, the insert fails. */
    cr_assert_eq(sl_batcher_wait(f.b, f.ds, s3, 5000, &err), SL_BATCH_FAILED);
    uint64_t s4 = append(&f, "DDDD", 1, "", 0);
    uint64_t s5 = append(&f, "EEEE", 1, "", 0);
    crash(&f);
    cr_assert_eq(f.sink->n_inserts, 0);

    wal_start(&f, 50, 0);
    cr_assert(fake_sink_wait_inserts(f.sink, 3, 5000));
    char tok[64];
    /* Nothing of the interrupted attempt landed: the same range under a new token. */
    snprintf(tok, sizeof tok, "'ev:%llu-%llu@", (unsigned long long)s1, (unsigned long long)s3);
    pthread_mutex_lock(&f.sink->mu);
    cr_assert(strstr(f.sink->inserts[0].sql, tok), "%s", f.sink->inserts[0].sql);
    cr_assert_eq(f.sink->inserts[0].len, 12);
    cr_assert_eq(memcmp(f.sink->inserts[0].data, "AAAABBBBCCCC", 12), 0);
    snprintf(tok, sizeof tok, "'ev:%llu-%llu@", (unsigned long long)s4, (unsigned long long)s5);
    cr_assert(strstr(f.sink->inserts[2].sql, tok), "%s", f.sink->inserts[2].sql);
    cr_assert_eq(memcmp(f.sink->inserts[2].data, "DDDDEEEE", 8), 0);
    pthread_mutex_unlock(&f.sink->mu);
    sl_batcher_stats st;
    sl_batcher_get_stats(f.b, &st);
    cr_assert_eq(st.recovered_records, 5);
    cr_assert_eq(sl_batcher_flush(f.b, NULL, 5000, &err), 0, "%s", err.msg);
    /* Committed: a restart replays nothing, and old segments are recycled. */
    sl_batcher_free(f.b);
    size_t before = f.sink->n_inserts;
    wal_start(&f, 50, 0);
    sl_batcher_get_stats(f.b, &st);
    cr_assert_eq(st.recovered_records, 0);
    cr_assert_eq(st.wal.segments, 2); /* the previous newest one and ours */
    usleep(200000);
    cr_assert_eq(f.sink->n_inserts, before);
    fx_close(&f);
}

static void scan_commit(void *ud, const sl_wal_record *r, const sl_wal_loc *loc)
{
    sl_wal_loc *out = ud;
    if (r->type == SL_WAL_COMMIT)
        *out = *loc;
}

/* The crash that matters: the insert landed in ClickHouse but its COMMIT never reached the
 * disk. The replay carries the same token, so ClickHouse (here the fake) drops it. */
Test(batcher_wal, insert_landed_but_commit_lost_is_not_duplicated)
{
    fx f;
    fx_open_wal(&f, 60000, 0);
    uint64_t s1 = append(&f, "AAAA", 1, "", 0);
    uint64_t s2 = append(&f, "BBBB", 1, "", 0);
    sl_error err = {0};
    cr_assert_eq(sl_batcher_wait(f.b, f.ds, s2, 5000, &err), SL_BATCH_COMMITTED);
    sl_batcher_free(f.b);
    f.b = NULL;
    /* Cut the log right before the COMMIT record, as a crash there would. */
    char wal[128];
    snprintf(wal, sizeof wal, "%s/wal", f.dir);
    sl_wal_config wc = {.dir = wal};
    struct {
        sl_wal_loc commit;
    } found = {{0, 0, 0}};
    sl_wal *w = NULL;
    cr_assert_eq(sl_wal_open(&wc, true, NULL, NULL, &w, &err), 0);
    sl_wal_free(w);

    cr_assert_eq(sl_wal_open(&wc, true, scan_commit, &found, &w, &err), 0);
    sl_wal_free(w);
    cr_assert_neq(found.commit.frame_len, 0);
    char path[200];
    snprintf(path, sizeof path, "%s/%016llx.wal", wal, (unsigned long long)found.commit.segment);
    cr_assert_eq(truncate(path, (off_t)found.commit.offset), 0);

    wal_start(&f, 50, 0);
    char tok[64];
    snprintf(tok, sizeof tok, "'ev:%llu-%llu@", (unsigned long long)s1, (unsigned long long)s2);
    for (int i = 0; i < 100 && count_token(f.sink, tok, true) == 0; i++)
        usleep(20000);
    cr_assert_eq(count_token(f.sink, tok, true), 1, "the replay was not deduplicated");
    cr_assert_eq(count_token(f.sink, tok, false), 1);
    cr_assert_eq(sl_batcher_flush(f.b, NULL, 5000, &err), 0);
    fx_close(&f);
}

/* The crash that lost rows before: the engine remembered the insert's token, then the process
 * died before the rows were in place. The replay sees the table's mark unmoved and inserts under
 * a new token (logged first), so the rows arrive exactly once. */
Test(batcher_wal, insert_cut_short_by_a_crash_is_replayed_under_a_new_token)
{
    fx f;
    fx_open_wal(&f, 60000, 0);
    fake_sink_lose_inserts(f.sink, 1);
    uint64_t s1 = append(&f, "AAAA", 1, "", 0);
    uint64_t s2 = append(&f, "BBBB", 1, "QQ", 1);
    sl_error err = {0};
    cr_assert_eq(sl_batcher_wait(f.b, f.ds, s2, 5000, &err), SL_BATCH_FAILED);
    crash(&f);
    cr_assert_eq(fake_sink_count_inserts(f.sink, "INSERT"), 0);

    wal_start(&f, 50, 0);
    cr_assert_eq(sl_batcher_flush(f.b, NULL, 5000, &err), 0, "%s", err.msg ? err.msg : "");
    cr_assert_eq(fake_sink_count_inserts(f.sink, "INSERT INTO `default`.`ev` "), 1);
    cr_assert_eq(fake_sink_count_inserts(f.sink, "`ev_quarantine`"), 1);
    char tok[64];
    snprintf(tok, sizeof tok, "'ev:%llu-%llu@", (unsigned long long)s1, (unsigned long long)s2);
    cr_assert_eq(fake_sink_count_inserts(f.sink, tok), 2);
    /* A second crash after that commit replays nothing. */
    sl_batcher_free(f.b);
    size_t before = f.sink->n_inserts;
    wal_start(&f, 50, 0);
    usleep(200000);
    cr_assert_eq(f.sink->n_inserts, before);
    fx_close(&f);
}

Test(batcher_wal, spilled_records_are_read_back)
{
    fx f;
    fx_open_wal(&f, 60000, 1); /* nothing stays in memory */
    append(&f, "AAAA", 1, "x", 1);
    uint64_t s2 = append(&f, "BBBB", 1, "", 0);
    sl_error err = {0};
    cr_assert_eq(sl_batcher_wait(f.b, f.ds, s2, 5000, &err), SL_BATCH_COMMITTED, "%s", err.msg);
    pthread_mutex_lock(&f.sink->mu);
    cr_assert_eq(f.sink->n_inserts, 2);
    cr_assert_eq(memcmp(f.sink->inserts[0].data, "AAAABBBB", 8), 0);
    cr_assert_eq(memcmp(f.sink->inserts[1].data, "x", 1), 0);
    pthread_mutex_unlock(&f.sink->mu);
    fx_close(&f);
}

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int n;
    sl_batch_status last;
} acks;

static void on_ack(void *ud, uint64_t seq, sl_batch_status status, const char *message)
{
    (void)seq;
    (void)message;
    acks *a = ud;
    pthread_mutex_lock(&a->mu);
    a->n++;
    a->last = status;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

Test(batcher_wal, async_append_acks_durable_or_commit)
{
    fx f;
    fx_open_wal(&f, 60000, 0);
    acks a = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, SL_BATCH_FAILED};
    sl_batcher_block blk = {SL_STR("AAAA"), 1, SL_STR(""), 0, NULL, NULL};
    sl_error err = {0};
    cr_assert_eq(sl_batcher_append_async(f.b, f.ds, &blk, false, 0, on_ack, &a, &err), 0);
    pthread_mutex_lock(&a.mu);
    while (a.n < 1)
        pthread_cond_wait(&a.cv, &a.mu);
    cr_assert_eq(a.last, SL_BATCH_DURABLE);
    pthread_mutex_unlock(&a.mu);
    cr_assert_eq(f.sink->n_inserts, 0); /* durable is not committed */
    cr_assert_eq(sl_batcher_append_async(f.b, f.ds, &blk, true, 5000, on_ack, &a, &err), 0);
    pthread_mutex_lock(&a.mu);
    while (a.n < 2)
        pthread_cond_wait(&a.cv, &a.mu);
    cr_assert_eq(a.last, SL_BATCH_COMMITTED);
    pthread_mutex_unlock(&a.mu);
    fx_close(&f);
}

Test(batcher_wal, dropped_datasource_records_are_not_replayed)
{
    fx f;
    fx_open_wal(&f, 60000, 0);
    append(&f, "AAAA", 1, "", 0);
    crash(&f);
    sl_datasource_release(f.ds);
    f.ds = NULL;
    sl_error err = {0};
    cr_assert_eq(sl_catalog_drop(f.cat, SL_STR("ev"), &err), 0, "%s", err.msg);
    wal_start(&f, 50, 0);
    sl_batcher_stats st;
    sl_batcher_get_stats(f.b, &st);
    cr_assert_eq(st.recovered_records, 0);
    usleep(200000);
    cr_assert_eq(f.sink->n_inserts, 0);
    fx_close(&f);
}

static int count_truncate(void *ud, sl_error *err)
{
    (void)err;
    (*(int *)ud)++;
    return 0;
}

/* A truncate takes the rows still queued along: they never land after it; rows appended later
 * do. */
Test(batcher, truncate_discards_queued_rows)
{
    fx f;
    fx_open(&f, 60000, 0);
    fake_sink_fail_inserts(f.sink, 1000000);
    uint64_t s1 = append(&f, "AAAA", 1, "", 0);
    sl_error err = {0};
    /* A batch failing and retried, and one more append queued behind it. */
    cr_assert_eq(sl_batcher_wait(f.b, f.ds, s1, 5000, &err), SL_BATCH_FAILED);
    uint64_t s2 = append(&f, "BBBB", 1, "QQ", 1);
    int calls = 0;
    cr_assert_eq(sl_batcher_truncate(f.b, f.ds, count_truncate, &calls, &err), 0);
    cr_assert_eq(calls, 1);
    /* Their waiters hear "written" (then truncated). */
    cr_assert_eq(sl_batcher_wait(f.b, f.ds, s2, 1000, &err), SL_BATCH_COMMITTED);
    sl_batcher_stats st;
    sl_batcher_get_stats(f.b, &st);
    cr_assert_eq(st.buffer_rows, 0);
    cr_assert_eq(st.buffer_bytes, 0);
    fake_sink_fail_inserts(f.sink, 0);
    uint64_t s3 = append(&f, "CCCC", 1, "", 0);
    cr_assert_eq(sl_batcher_flush(f.b, NULL, 5000, &err), 0, "%s", err.msg ? err.msg : "");
    cr_assert_eq(sl_batcher_wait(f.b, f.ds, s3, 1000, &err), SL_BATCH_COMMITTED);
    pthread_mutex_lock(&f.sink->mu);
    cr_assert_eq(f.sink->n_inserts, 1);
    cr_assert_eq(memcmp(f.sink->inserts[0].data, "CCCC", 4), 0);
    pthread_mutex_unlock(&f.sink->mu);
    fx_close(&f);
}

/* The discarded rows stay discarded across a restart: the DISCARD record is durable before the
 * truncate runs. */
Test(batcher_wal, truncated_rows_are_not_replayed)
{
    fx f;
    fx_open_wal(&f, 60000, 0);
    append(&f, "AAAA", 1, "", 0);
    append(&f, "BBBB", 1, "", 0);
    int calls = 0;
    sl_error err = {0};
    cr_assert_eq(sl_batcher_truncate(f.b, f.ds, count_truncate, &calls, &err), 0);
    cr_assert_eq(calls, 1);
    uint64_t s3 = append(&f, "CCCC", 1, "", 0);
    crash(&f);
    wal_start(&f, 50, 0);
    sl_batcher_stats st;
    sl_batcher_get_stats(f.b, &st);
    cr_assert_eq(st.recovered_records, 1);
    cr_assert_eq(sl_batcher_flush(f.b, NULL, 5000, &err), 0, "%s", err.msg ? err.msg : "");
    cr_assert_eq(fake_sink_count_inserts(f.sink, "INSERT INTO `default`.`ev` "), 1);
    char tok[64];
    snprintf(tok, sizeof tok, "'ev:%llu-%llu@", (unsigned long long)s3, (unsigned long long)s3);
    cr_assert_eq(fake_sink_count_inserts(f.sink, tok), 1);
    fx_close(&f);
}
