/* Idempotency keys: key derivation, reserve/complete/abort, replayed counts, window expiry with an
 * injected clock, persistence and reload (torn tail, bad records), compaction, eviction at
 * max_entries, and concurrent reserves of one key from many threads. */
#include "sl_dedup.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEC 1000000ull

typedef struct {
    char dir[64];
    char sub[96];
    _Atomic uint64_t now;
    sl_dedup_config cfg;
    sl_dedup *d;
} fx;

static uint64_t fake_clock(void *ud)
{
    fx *f = ud;
    return atomic_load(&f->now);
}

static void fx_init(fx *f, uint64_t window_s, size_t max_entries)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->dir, sizeof f->dir, "/tmp/sl_dedup_XXXXXX");
    cr_assert(mkdtemp(f->dir));
    snprintf(f->sub, sizeof f->sub, "%s/dedup", f->dir);
    atomic_store(&f->now, 1700000000ull * SEC);
    sl_dedup_config_default(&f->cfg);
    f->cfg.window_s = window_s;
    f->cfg.max_entries = max_entries;
    f->cfg.clock = fake_clock;
    f->cfg.clock_ud = f;
}

static void fx_open(fx *f)
{
    sl_error err = {0};
    cr_assert_eq(sl_dedup_open(f->sub, &f->cfg, &f->d, &err), 0, "%s", err.msg);
}

static void fx_reopen(fx *f)
{
    sl_dedup_free(f->d);
    f->d = NULL;
    fx_open(f);
}

static void fx_close(fx *f)
{
    sl_dedup_free(f->d);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    cr_assert_eq(system(cmd), 0);
}

static sl_dedup_key key_n(unsigned n)
{
    char body[32];
    int len = snprintf(body, sizeof body, "{\"id\":%u}\n", n);
    return sl_dedup_key_of(SL_STR("events"), (sl_str){body, (size_t)len}, false);
}

static void done(sl_dedup *d, sl_dedup_key k, uint64_t rows, uint64_t q)
{
    sl_dedup_entry e;
    cr_assert_eq(sl_dedup_reserve(d, k, 0, &e), SL_DEDUP_NEW);
    sl_error err = {0};
    cr_assert_eq(sl_dedup_complete(d, k, rows, q, 7, &err), 0, "%s", err.msg);
}

static void expect_done(sl_dedup *d, sl_dedup_key k, uint64_t rows, uint64_t q)
{
    sl_dedup_entry e = {0};
    cr_assert_eq(sl_dedup_reserve(d, k, 0, &e), SL_DEDUP_DONE);
    cr_assert_eq(e.rows, rows);
    cr_assert_eq(e.quarantined, q);
}

static void expect_new_then_abort(sl_dedup *d, sl_dedup_key k)
{
    sl_dedup_entry e;
    cr_assert_eq(sl_dedup_reserve(d, k, 0, &e), SL_DEDUP_NEW);
    sl_dedup_abort(d, k);
}

static off_t file_size(const fx *f)
{
    char p[128];
    snprintf(p, sizeof p, "%s/dedup.log", f->sub);
    struct stat sb;
    cr_assert_eq(stat(p, &sb), 0);
    return sb.st_size;
}

Test(dedup, key_depends_on_datasource_payload_and_kind)
{
    sl_dedup_key a = sl_dedup_key_of(SL_STR("a"), SL_STR("x"), false);
    sl_dedup_key a2 = sl_dedup_key_of(SL_STR("a"), SL_STR("x"), false);
    sl_dedup_key b = sl_dedup_key_of(SL_STR("b"), SL_STR("x"), false);
    sl_dedup_key h = sl_dedup_key_of(SL_STR("a"), SL_STR("x"), true);
    sl_dedup_key y = sl_dedup_key_of(SL_STR("a"), SL_STR("y"), false);
    /* The separator keeps ("ab", "c") and ("a", "bc") apart. */
    sl_dedup_key s1 = sl_dedup_key_of(SL_STR("ab"), SL_STR("c"), false);
    sl_dedup_key s2 = sl_dedup_key_of(SL_STR("a"), SL_STR("bc"), false);
    cr_assert(a.lo == a2.lo && a.hi == a2.hi);
    cr_assert(a.lo != b.lo || a.hi != b.hi);
    cr_assert(a.lo != h.lo || a.hi != h.hi);
    cr_assert(a.lo != y.lo || a.hi != y.hi);
    cr_assert(s1.lo != s2.lo || s1.hi != s2.hi);
}

Test(dedup, reserve_complete_replays_counts)
{
    fx f;
    fx_init(&f, 3600, 1000);
    fx_open(&f);
    sl_dedup_key k = key_n(1);
    sl_dedup_entry e;
    cr_assert_eq(sl_dedup_reserve(f.d, k, 0, &e), SL_DEDUP_NEW);
    /* In flight: a second reserve without waiting is BUSY. */
    cr_assert_eq(sl_dedup_reserve(f.d, k, 0, &e), SL_DEDUP_BUSY);
    cr_assert_eq(sl_dedup_reserve(f.d, k, 20, &e), SL_DEDUP_BUSY);
    sl_error err = {0};
    cr_assert_eq(sl_dedup_complete(f.d, k, 10, 2, 42, &err), 0);
    memset(&e, 0, sizeof e);
    cr_assert_eq(sl_dedup_reserve(f.d, k, 0, &e), SL_DEDUP_DONE);
    cr_assert_eq(e.rows, 10);
    cr_assert_eq(e.quarantined, 2);
    cr_assert_eq(e.seq, 42);
    cr_assert_eq(e.accepted_us, atomic_load(&f.now));
    /* Other keys are unaffected. */
    expect_new_then_abort(f.d, key_n(2));
    sl_dedup_stats st;
    sl_dedup_get_stats(f.d, &st);
    cr_assert_eq(st.entries, 1);
    cr_assert_eq(st.hits, 1);
    cr_assert_eq(st.busy, 2);
    cr_assert_eq(st.in_flight, 0);
    fx_close(&f);
}

Test(dedup, abort_forgets)
{
    fx f;
    fx_init(&f, 3600, 1000);
    fx_open(&f);
    sl_dedup_key k = key_n(1);
    expect_new_then_abort(f.d, k);
    expect_new_then_abort(f.d, k);
    /* Aborting an unknown key is harmless; so is aborting a done one (it stays done). */
    sl_dedup_abort(f.d, key_n(9));
    done(f.d, k, 1, 0);
    sl_dedup_abort(f.d, k);
    expect_done(f.d, k, 1, 0);
    fx_close(&f);
}

Test(dedup, window_expiry)
{
    fx f;
    fx_init(&f, 100, 1000);
    fx_open(&f);
    done(f.d, key_n(1), 1, 0);
    atomic_fetch_add(&f.now, 50 * SEC);
    done(f.d, key_n(2), 2, 0);
    atomic_fetch_add(&f.now, 49 * SEC);
    expect_done(f.d, key_n(1), 1, 0); /* 99 s old */
    atomic_fetch_add(&f.now, 1 * SEC);
    expect_new_then_abort(f.d, key_n(1)); /* 100 s: gone */
    expect_done(f.d, key_n(2), 2, 0);
    atomic_fetch_add(&f.now, 50 * SEC);
    expect_new_then_abort(f.d, key_n(2));
    sl_dedup_stats st;
    sl_dedup_get_stats(f.d, &st);
    cr_assert_eq(st.entries, 0);
    cr_assert_eq(st.expired, 2);
    /* A key may be accepted again after it expired, and is remembered anew. */
    done(f.d, key_n(1), 5, 5);
    expect_done(f.d, key_n(1), 5, 5);
    fx_close(&f);
}

Test(dedup, add_done_for_recovery)
{
    fx f;
    fx_init(&f, 100, 1000);
    fx_open(&f);
    uint64_t now = atomic_load(&f.now);
    sl_error err = {0};
    cr_assert_eq(sl_dedup_add_done(f.d, key_n(1), 3, 1, now - 10 * SEC, 0, &err), 0);
    cr_assert_eq(sl_dedup_add_done(f.d, key_n(2), 3, 1, now - 200 * SEC, 0, &err), 0); /* old */
    /* Known: only the sequence number is taken (a key reloaded from the file, then met again in
     * the WAL's recovery). */
    cr_assert_eq(sl_dedup_add_done(f.d, key_n(1), 99, 99, now, 1234, &err), 0);
    expect_done(f.d, key_n(1), 3, 1);
    sl_dedup_entry e;
    cr_assert_eq(sl_dedup_reserve(f.d, key_n(1), 0, &e), SL_DEDUP_DONE);
    cr_assert_eq(e.seq, 1234);
    expect_new_then_abort(f.d, key_n(2));
    /* Out of order: an older entry behind a newer one still ends at its own time. */
    done(f.d, key_n(3), 1, 0);
    cr_assert_eq(sl_dedup_add_done(f.d, key_n(4), 4, 0, now - 50 * SEC, 0, &err), 0);
    atomic_fetch_add(&f.now, 60 * SEC);
    expect_new_then_abort(f.d, key_n(4));
    expect_done(f.d, key_n(3), 1, 0);
    /* Recovery re-adds it and the done entry is remembered again. */
    cr_assert_eq(sl_dedup_add_done(f.d, key_n(4), 4, 0, atomic_load(&f.now), 0, &err), 0);
    expect_done(f.d, key_n(4), 4, 0);
    fx_close(&f);
}

Test(dedup, persists_across_reopen)
{
    fx f;
    fx_init(&f, 100, 1000);
    fx_open(&f);
    for (unsigned i = 0; i < 50; i++)
        done(f.d, key_n(i), i, i % 3);
    /* In flight and aborted keys are not persisted. */
    sl_dedup_entry e;
    cr_assert_eq(sl_dedup_reserve(f.d, key_n(100), 0, &e), SL_DEDUP_NEW);
    expect_new_then_abort(f.d, key_n(101));
    cr_assert_eq(file_size(&f), 16 + 50 * 48);
    fx_reopen(&f);
    for (unsigned i = 0; i < 50; i++) {
        cr_assert_eq(sl_dedup_reserve(f.d, key_n(i), 0, &e), SL_DEDUP_DONE);
        cr_assert_eq(e.rows, i);
        cr_assert_eq(e.quarantined, i % 3);
        cr_assert_eq(e.seq, 0); /* sequence numbers belong to the process that appended */
    }
    expect_new_then_abort(f.d, key_n(100));
    expect_new_then_abort(f.d, key_n(101));
    /* Entries past the window are dropped at load. */
    atomic_fetch_add(&f.now, 100 * SEC);
    fx_reopen(&f);
    expect_new_then_abort(f.d, key_n(0));
    sl_dedup_stats st;
    sl_dedup_get_stats(f.d, &st);
    cr_assert_eq(st.entries, 0);
    fx_close(&f);
}

Test(dedup, reload_skips_torn_tail_and_bad_records)
{
    fx f;
    fx_init(&f, 100, 1000);
    fx_open(&f);
    for (unsigned i = 0; i < 10; i++)
        done(f.d, key_n(i), i + 1, 0);
    sl_dedup_free(f.d);
    f.d = NULL;
    char p[128];
    snprintf(p, sizeof p, "%s/dedup.log", f.sub);
    int fd = open(p, O_RDWR);
    cr_assert(fd >= 0);
    /* Corrupt record 3 and append half a record (a torn write). */
    unsigned char junk[24];
    memset(junk, 0xAB, sizeof junk);
    cr_assert_eq(pwrite(fd, junk, 8, 16 + 3 * 48 + 20), 8);
    cr_assert_eq(pwrite(fd, junk, sizeof junk, 16 + 10 * 48), (ssize_t)sizeof junk);
    close(fd);
    fx_open(&f);
    for (unsigned i = 0; i < 10; i++) {
        if (i == 3)
            expect_new_then_abort(f.d, key_n(i));
        else
            expect_done(f.d, key_n(i), i + 1, 0);
    }
    sl_dedup_stats st;
    sl_dedup_get_stats(f.d, &st);
    cr_assert_eq(st.bad_records, 1);
    /* The file was rewritten clean: appends line up with records again. */
    cr_assert_eq(file_size(&f), 16 + 9 * 48);
    done(f.d, key_n(20), 20, 0);
    fx_reopen(&f);
    expect_done(f.d, key_n(20), 20, 0);
    expect_done(f.d, key_n(9), 10, 0);
    fx_close(&f);
}

Test(dedup, foreign_file_starts_empty)
{
    fx f;
    fx_init(&f, 100, 1000);
    cr_assert_eq(mkdir(f.sub, 0750), 0);
    char p[128];
    snprintf(p, sizeof p, "%s/dedup.log", f.sub);
    FILE *fp = fopen(p, "w");
    cr_assert(fp);
    fputs("this is not a dedup log at all, but it is long enough\n", fp);
    fclose(fp);
    fx_open(&f);
    cr_assert_eq(file_size(&f), 16);
    done(f.d, key_n(1), 1, 0);
    fx_reopen(&f);
    expect_done(f.d, key_n(1), 1, 0);
    fx_close(&f);
}

Test(dedup, compaction_keeps_live_entries)
{
    fx f;
    fx_init(&f, 100, 100000);
    fx_open(&f);
    for (unsigned i = 0; i < 3000; i++)
        done(f.d, key_n(i), i, 0);
    atomic_fetch_add(&f.now, 60 * SEC);
    for (unsigned i = 3000; i < 3100; i++)
        done(f.d, key_n(i), i, 0);
    atomic_fetch_add(&f.now, 50 * SEC); /* the first 3000 expire */
    sl_error err = {0};
    cr_assert_eq(sl_dedup_compact(f.d, &err), 0, "%s", err.msg);
    cr_assert_eq(file_size(&f), 16 + 100 * 48);
    sl_dedup_stats st;
    sl_dedup_get_stats(f.d, &st);
    cr_assert_eq(st.file_records, 100);
    cr_assert_eq(st.compactions, 1);
    /* Appends after compaction go to the new file. */
    done(f.d, key_n(5000), 1, 1);
    cr_assert_eq(file_size(&f), 16 + 101 * 48);
    fx_reopen(&f);
    expect_new_then_abort(f.d, key_n(0));
    expect_done(f.d, key_n(3050), 3050, 0);
    expect_done(f.d, key_n(5000), 1, 1);
    fx_close(&f);
}

Test(dedup, reopen_compacts_a_mostly_dead_file)
{
    fx f;
    fx_init(&f, 100, 100000);
    fx_open(&f);
    for (unsigned i = 0; i < 2000; i++)
        done(f.d, key_n(i), i, 0);
    atomic_fetch_add(&f.now, 200 * SEC);
    done(f.d, key_n(9999), 1, 0);
    fx_reopen(&f);
    cr_assert_eq(file_size(&f), 16 + 48);
    expect_done(f.d, key_n(9999), 1, 0);
    fx_close(&f);
}

Test(dedup, background_thread_compacts)
{
    fx f;
    fx_init(&f, 100, 100000);
    f.cfg.sync_interval_ms = 20;
    fx_open(&f);
    for (unsigned i = 0; i < 2000; i++)
        done(f.d, key_n(i), i, 0);
    atomic_fetch_add(&f.now, 200 * SEC);
    sl_dedup_stats st = {0};
    for (int i = 0; i < 200 && st.compactions == 0; i++) {
        usleep(10000);
        sl_dedup_get_stats(f.d, &st);
    }
    cr_assert_eq(st.compactions, 1);
    cr_assert_eq(st.entries, 0);
    cr_assert_eq(file_size(&f), 16);
    fx_close(&f);
}

Test(dedup, eviction_at_max_entries)
{
    fx f;
    fx_init(&f, 3600, 16);
    fx_open(&f);
    for (unsigned i = 0; i < 40; i++) {
        done(f.d, key_n(i), i, 0);
        atomic_fetch_add(&f.now, SEC);
    }
    sl_dedup_stats st;
    sl_dedup_get_stats(f.d, &st);
    cr_assert_eq(st.entries, 16);
    cr_assert_eq(st.evictions, 24);
    for (unsigned i = 0; i < 24; i++)
        expect_new_then_abort(f.d, key_n(i));
    for (unsigned i = 24; i < 40; i++)
        expect_done(f.d, key_n(i), i, 0);
    /* Reload keeps the newest max_entries. */
    fx_reopen(&f);
    sl_dedup_get_stats(f.d, &st);
    cr_assert_eq(st.entries, 16);
    expect_done(f.d, key_n(39), 39, 0);
    expect_done(f.d, key_n(24), 24, 0);
    expect_new_then_abort(f.d, key_n(23));
    fx_close(&f);
}

Test(dedup, index_survives_growth_and_many_deletes)
{
    fx f;
    fx_init(&f, 1000, 5000);
    fx_open(&f);
    /* 20000 keys through a ring of 5000: growth, then constant eviction with backward shifts. */
    for (unsigned i = 0; i < 20000; i++)
        done(f.d, key_n(i), i, 0);
    for (unsigned i = 15000; i < 20000; i++)
        expect_done(f.d, key_n(i), i, 0);
    for (unsigned i = 0; i < 15000; i += 7)
        expect_new_then_abort(f.d, key_n(i));
    fx_close(&f);
}

/* ---- concurrency ---- */

typedef struct {
    sl_dedup *d;
    sl_dedup_key key;
    _Atomic int *inserted;
    _Atomic int *replayed;
    _Atomic int *busy;
    bool fail_first;
    _Atomic int *failed;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    sl_dedup_entry e;
    switch (sl_dedup_reserve(r->d, r->key, 5000, &e)) {
    case SL_DEDUP_NEW:
        usleep(20000); /* "convert and append": the others wait meanwhile */
        if (r->fail_first && atomic_fetch_add(r->failed, 1) == 0) {
            sl_dedup_abort(r->d, r->key);
        } else {
            atomic_fetch_add(r->inserted, 1);
            cr_assert_eq(sl_dedup_complete(r->d, r->key, 5, 1, 0, NULL), 0);
        }
        break;
    case SL_DEDUP_DONE:
        cr_assert_eq(e.rows, 5);
        atomic_fetch_add(r->replayed, 1);
        break;
    case SL_DEDUP_BUSY: atomic_fetch_add(r->busy, 1); break;
    }
    return NULL;
}

static void run_race(bool fail_first)
{
    fx f;
    fx_init(&f, 3600, 1000);
    fx_open(&f);
    enum { N = 16 };
    _Atomic int inserted = 0, replayed = 0, busy = 0, failed = 0;
    racer rs[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        rs[i] = (racer){f.d, key_n(77), &inserted, &replayed, &busy, fail_first, &failed};
        cr_assert_eq(pthread_create(&th[i], NULL, race, &rs[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    cr_assert_eq(atomic_load(&inserted), 1);
    cr_assert_eq(atomic_load(&busy), 0);
    cr_assert_eq(atomic_load(&replayed), N - 1 - (fail_first ? 1 : 0));
    sl_dedup_stats st;
    sl_dedup_get_stats(f.d, &st);
    cr_assert_eq(st.in_flight, 0);
    cr_assert_eq(st.entries, 1);
    fx_close(&f);
}

Test(dedup, concurrent_identical_reserves_insert_once)
{
    run_race(false);
}

Test(dedup, concurrent_reserves_after_an_abort_insert_once)
{
    /* The first owner fails: one waiter takes over and inserts; the rest replay it. */
    run_race(true);
}

static void *many_keys(void *arg)
{
    racer *r = arg;
    for (unsigned i = 0; i < 2000; i++) {
        sl_dedup_key k = key_n(i);
        sl_dedup_entry e;
        sl_dedup_outcome o = sl_dedup_reserve(r->d, k, 5000, &e);
        cr_assert_neq(o, SL_DEDUP_BUSY);
        if (o == SL_DEDUP_NEW) {
            atomic_fetch_add(r->inserted, 1);
            cr_assert_eq(sl_dedup_complete(r->d, k, 5, 0, 0, NULL), 0);
        }
    }
    return NULL;
}

Test(dedup, threads_share_many_keys)
{
    fx f;
    fx_init(&f, 3600, 100000);
    f.cfg.sync_interval_ms = 5;
    fx_open(&f);
    enum { N = 4 };
    _Atomic int inserted = 0;
    racer rs[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        rs[i] = (racer){.d = f.d, .inserted = &inserted};
        cr_assert_eq(pthread_create(&th[i], NULL, many_keys, &rs[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    cr_assert_eq(atomic_load(&inserted), 2000);
    fx_reopen(&f);
    sl_dedup_stats st;
    sl_dedup_get_stats(f.d, &st);
    cr_assert_eq(st.entries, 2000);
    fx_close(&f);
}
