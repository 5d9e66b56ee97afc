/* The chDB sink against real embedded ClickHouse: DDL from the catalog, a RowBinaryWithDefaults
 * insert through the batcher, a replayed insert skipped by insert_deduplication_token, quarantine
 * rows, row counts, and a read-only connection. Release/UBSan only: chDB cannot load under ASan,
 * so the ASan build compiles this file to an empty suite. Each test owns its chDB directory. */
#include <criterion/criterion.h>

#ifndef SL_NO_CHDB

#include "sl_batcher.h"
#include "sl_catalog.h"
#include "sl_chdb_api.h"
#include "sl_convert.h"
#include "sl_sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char dir[64];
    char chdir_[96];
    sl_sink *sink;
} fx;

static void fx_open(fx *f)
{
    sl_error err = {0};
    snprintf(f->dir, sizeof f->dir, "/tmp/sl_chdb_XXXXXX");
    cr_assert(mkdtemp(f->dir));
    snprintf(f->chdir_, sizeof f->chdir_, "%s/clickhouse", f->dir);
    cr_assert_eq(sl_sink_chdb_global_init(&err), 0);
    sl_sink_chdb_options o = {.path = f->chdir_, .warm_up = true};
    cr_assert_eq(sl_sink_chdb_open(&o, &f->sink, &err), 0, "%s", err.msg);
}

static void fx_close(fx *f)
{
    sl_sink_close(f->sink);
    sl_sink_chdb_global_shutdown();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    cr_assert_eq(system(cmd), 0);
}

static char *query(sl_sink *s, const char *sql)
{
    sl_buf out;
    sl_buf_init(&out, 0);
    sl_error err = {0};
    cr_assert_eq(sl_sink_query(s, sl_str_from_cstr(sql), "TSV", &out, &err), 0, "%s: %s", sql,
                 err.msg);
    cr_assert_eq(sl_buf_append(&out, "", 1), 0);
    return (char *)out.data; /* caller frees */
}

static void expect(sl_sink *s, const char *sql, const char *want)
{
    char *got = query(s, sql);
    cr_assert_str_eq(got, want, "%s", sql);
    free(got);
}

static const char *schema = "SCHEMA >\n"
                            "    `ts` DateTime `json:$.ts`,\n"
                            "    `action` LowCardinality(String) `json:$.action`,\n"
                            "    `n` Int32 `json:$.n` DEFAULT 7,\n"
                            "    `tags` Array(String) `json:$.tags[:]`\n"
                            "ENGINE_SORTING_KEY \"action, ts\"\n"
                            "ENGINE_PARTITION_KEY \"toYYYYMM(ts)\"\n";

static const char *body = "{\"ts\":\"2024-05-01 10:00:00\",\"action\":\"view\",\"n\":1,"
                          "\"tags\":[\"a\",\"b\"]}\n"
                          "{\"ts\":\"2024-05-01T10:00:01Z\",\"action\":\"click\"}\n"
                          "{\"ts\":\"not a date\",\"action\":\"bad\"}\n"
                          "{broken json\n";

Test(sink_chdb, catalog_batcher_dedup_roundtrip, .timeout = 120)
{
    fx f;
    fx_open(&f);
    sl_error err = {0};
    sl_catalog *cat;
    cr_assert_eq(sl_catalog_open(f.dir, f.sink, NULL, &cat, &err), 0, "%s", err.msg);
    sl_datasource *ds;
    cr_assert_eq(
        sl_catalog_create_text(cat, SL_STR("events"), sl_str_from_cstr(schema), NULL, &ds, &err), 0,
        "%s", err.msg);
    expect(f.sink,
           "SELECT engine FROM system.tables WHERE database = 'default' AND name = "
           "'events'",
           "MergeTree\n");

    /* Convert, then commit through the batcher on a second connection. */
    sl_convert_state *st = sl_convert_state_new();
    sl_buf rows, q;
    sl_buf_init(&rows, 0);
    sl_buf_init(&q, 0);
    sl_convert_stats stats = {0};
    sl_convert_options opt = {.first_line = 1};
    cr_assert_eq(sl_convert(ds->conv, st, sl_str_from_cstr(body), &opt, &rows, &q, &stats), 0);
    cr_assert_eq(stats.rows, 2);
    cr_assert_eq(stats.quarantined, 2);

    sl_sink *ins;
    sl_sink_chdb_options o = {.path = f.chdir_};
    cr_assert_eq(sl_sink_chdb_open(&o, &ins, &err), 0, "%s", err.msg);
    sl_batcher_config c;
    sl_batcher_config_default(&c);
    c.first_seq = 1;
    sl_batcher *b;
    cr_assert_eq(sl_batcher_new(&c, ins, &b, &err), 0);
    uint64_t seq;
    cr_assert_eq(sl_batcher_append(b, ds, (sl_str){(char *)rows.data, rows.len}, stats.rows,
                                   (sl_str){(char *)q.data, q.len}, stats.quarantined, &seq, &err),
                 0);
    cr_assert_eq(sl_batcher_wait(b, ds, seq, 30000, &err), SL_BATCH_COMMITTED, "%s", err.msg);
    sl_batcher_stats bs;
    sl_batcher_get_stats(b, &bs);
    cr_assert_eq(bs.flush_failures, 0);
    cr_assert_eq(sl_batcher_stop(b, 5000, &err), 0);
    sl_batcher_free(b);

    expect(f.sink, "SELECT action, n, toString(ts), tags FROM events ORDER BY ts",
           "view\t1\t2024-05-01 10:00:00\t['a','b']\nclick\t7\t2024-05-01 10:00:01\t[]\n");
    expect(f.sink, "SELECT count(), countIf(c__raw = '{broken json') FROM events_quarantine",
           "2\t1\n");
    expect(f.sink, "SELECT count() FROM events_quarantine WHERE insertion_date > 0", "2\n");

    /* The marks: one block in each table. */
    sl_buf sql, out;
    sl_buf_init(&sql, 0);
    sl_buf_init(&out, 0);
    uint64_t marks[2];
    cr_assert_eq(sl_catalog_marks_sql(ds, &sql), 0);
    cr_assert_eq(sl_sink_query(ins, (sl_str){(char *)sql.data, sql.len}, "TSV", &out, &err), 0,
                 "%s", err.msg);
    cr_assert_eq(sl_catalog_parse_marks((sl_str){(char *)out.data, out.len}, marks, &err), 0,
                 "%.*s", (int)out.len, (char *)out.data);
    cr_assert_eq(marks[0], 1);
    cr_assert_eq(marks[1], 1);

    /* A replay with the same token (the batcher's first attempt without a log) is skipped and
     * leaves the marks; a new token inserts and moves the table's mark. */
    sql.len = 0;
    cr_assert_eq(sl_catalog_insert_sql(ds, false, SL_STR("events:1-1@1"), &sql), 0);
    cr_assert_eq(sl_sink_insert(ins, (sl_str){(char *)sql.data, sql.len}, "RowBinaryWithDefaults",
                                rows.data, rows.len, NULL, &err),
                 0, "%s", err.msg);
    expect(f.sink, "SELECT count() FROM events", "2\n");
    sql.len = 0;
    cr_assert_eq(sl_catalog_insert_sql(ds, false, SL_STR("events:2-2"), &sql), 0);
    cr_assert_eq(sl_sink_insert(ins, (sl_str){(char *)sql.data, sql.len}, "RowBinaryWithDefaults",
                                rows.data, rows.len, NULL, &err),
                 0, "%s", err.msg);
    expect(f.sink, "SELECT count() FROM events", "4\n");
    sql.len = 0;
    out.len = 0;
    cr_assert_eq(sl_catalog_marks_sql(ds, &sql), 0);
    cr_assert_eq(sl_sink_query(ins, (sl_str){(char *)sql.data, sql.len}, "TSV", &out, &err), 0);
    cr_assert_eq(sl_catalog_parse_marks((sl_str){(char *)out.data, out.len}, marks, &err), 0);
    cr_assert_gt(marks[0], 1);
    cr_assert_eq(marks[1], 1);
    sl_buf_free(&out);

    /* Errors carry ClickHouse's message. */
    cr_assert_eq(sl_sink_insert(ins, SL_STR("INSERT INTO `default`.`nope`"), "RowBinary", "x", 1,
                                NULL, &err),
                 SL_EIO);
    cr_assert(strstr(err.msg, "nope"), "%s", err.msg);

    uint64_t nrows, nq;
    cr_assert_eq(sl_catalog_row_counts(cat, ds, &nrows, &nq, &err), 0, "%s", err.msg);
    cr_assert_eq(nrows, 4);
    cr_assert_eq(nq, 2);
    cr_assert_eq(sl_catalog_truncate(cat, SL_STR("events"), &err), 0, "%s", err.msg);
    expect(f.sink, "SELECT count() FROM events", "0\n");
    cr_assert_eq(sl_catalog_drop(cat, SL_STR("events"), &err), 0, "%s", err.msg);
    expect(f.sink, "SELECT count() FROM system.tables WHERE database = 'default'", "0\n");

    sl_buf_free(&sql);
    sl_buf_free(&rows);
    sl_buf_free(&q);
    sl_convert_state_free(st);
    sl_datasource_release(ds);
    sl_catalog_free(cat);
    sl_sink_close(ins);
    fx_close(&f);
}

Test(sink_chdb, readonly_and_classify, .timeout = 120)
{
    fx f;
    fx_open(&f);
    sl_error err = {0};
    expect(f.sink, "CREATE TABLE t (a Int32) ENGINE = MergeTree ORDER BY a", "");
    sl_sink *ro;
    sl_sink_chdb_options o = {.path = f.chdir_, .readonly = true};
    cr_assert_eq(sl_sink_chdb_open(&o, &ro, &err), 0, "%s", err.msg);
    expect(ro, "SELECT count() FROM t", "0\n");
    cr_assert_eq(sl_sink_query(ro, SL_STR("INSERT INTO t VALUES (1)"), "TSV", NULL, &err), SL_EIO);
    cr_assert_eq(sl_sink_query(ro, SL_STR("DROP TABLE t"), "TSV", NULL, &err), SL_EIO);
    int n;
    sl_sql_class cls;
    cr_assert_eq(sl_sink_classify(ro, SL_STR("SELECT 1"), &n, &cls, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 1);
    cr_assert_eq(cls, SL_SQL_READ);
    cr_assert_eq(sl_sink_classify(ro, SL_STR("DROP TABLE t"), &n, &cls, &err), 0);
    cr_assert_neq(cls, SL_SQL_READ);
    cr_assert_eq(sl_sink_classify(ro, SL_STR("SELECT 1; SELECT 2"), &n, &cls, &err), 0);
    cr_assert_eq(n, 2);
    /* JSON output by default format name. */
    sl_buf out;
    sl_buf_init(&out, 0);
    cr_assert_eq(sl_sink_query(ro, SL_STR("SELECT 1 AS x"), "JSON", &out, &err), 0);
    cr_assert_eq(sl_buf_append(&out, "", 1), 0);
    cr_assert(strstr((char *)out.data, "\"meta\""), "%s", (char *)out.data);
    sl_buf_free(&out);
    sl_sink_close(ro);
    fx_close(&f);
}

/* A statement that fails after it produced output (result too large, throwIf, timeout) leaves
 * nothing behind: the next answer on the same sink is its own. */
Test(sink_chdb, failed_query_leaves_no_output, .timeout = 120)
{
    fx f;
    fx_open(&f);
    sl_error err = {0};
    static const char *extra[] = {"--max_result_bytes=100000"};
    sl_sink *ro;
    sl_sink_chdb_options o = {.path = f.chdir_, .readonly = true, .extra = extra, .n_extra = 1};
    cr_assert_eq(sl_sink_chdb_open(&o, &ro, &err), 0, "%s", err.msg);
    static const char *failing[] = {
        "SELECT number, toString(number) FROM numbers(1000000)",
        "SELECT number, throwIf(number = 300000, 'unit boom') FROM numbers(1000000)",
    };
    for (size_t i = 0; i < sizeof failing / sizeof failing[0]; i++) {
        sl_buf out;
        sl_buf_init(&out, 0);
        cr_assert_eq(sl_sink_query(ro, sl_str_from_cstr(failing[i]), "JSON", &out, &err), SL_EIO,
                     "%s", failing[i]);
        sl_buf_free(&out);
        for (int k = 0; k < 3; k++)
            expect(ro, "SELECT 1 AS one FORMAT CSV", "1\n");
    }
    sl_sink_close(ro);
    fx_close(&f);
}

/* ---- loading libchdb.so (dlopen) ---- */

#define HINT "; run `make deps` or set SLUICE_CHDB_LIB"

Test(sink_chdb, load_default_library_resolves_every_function, .timeout = 120)
{
    sl_chdb_api api;
    sl_error err = {0};
    cr_assert_eq(sl_chdb_api_load(NULL, &api, &err), 0, "%s", err.msg);
#define CHECK_RESOLVED(ret, name, params) cr_assert_not_null(api.name, "%s", #name);
    SL_CHDB_FUNCTIONS(CHECK_RESOLVED)
#undef CHECK_RESOLVED
}

Test(sink_chdb, load_missing_library_says_why)
{
    sl_chdb_api api;
    memset(&api, 0xab, sizeof api);
    sl_error err = {0};
    cr_assert_eq(sl_chdb_api_load("/nonexistent/libchdb.so", &api, &err), SL_EIO);
    cr_assert_str_eq(err.msg, "cannot load ClickHouse (chDB) library '/nonexistent/libchdb.so': "
                              "cannot open shared object file: No such file or directory" HINT);
    cr_assert_null(api.connect);
}

Test(sink_chdb, load_long_path_keeps_the_hint)
{
    char lib[400] = "/nonexistent/";
    memset(lib + strlen(lib), 'a', 300);
    strcat(lib, "/libchdb.so");
    sl_chdb_api api;
    sl_error err = {0};
    cr_assert_eq(sl_chdb_api_load(lib, &api, &err), SL_EIO);
    size_t n = strlen(err.msg);
    cr_assert_lt(n, sizeof err.detail);
    cr_assert(n > strlen(HINT) && strcmp(err.msg + n - strlen(HINT), HINT) == 0, "%s", err.msg);
    cr_assert(strstr(err.msg, "library '...aaa"), "%s", err.msg);
    cr_assert(strstr(err.msg, "/libchdb.so': "), "%s", err.msg);
}

Test(sink_chdb, load_other_library_names_the_missing_symbol)
{
    sl_chdb_api api;
    sl_error err = {0};
    cr_assert_eq(sl_chdb_api_load("libz.so.1", &api, &err), SL_EIO);
    cr_assert_str_eq(err.msg, "cannot load ClickHouse (chDB) library 'libz.so.1': missing symbol "
                              "chdb_set_signal_handlers_enabled" HINT);
    cr_assert_null(api.connect);
}

Test(sink_chdb, global_init_honours_SLUICE_CHDB_LIB)
{
    cr_assert_eq(setenv("SLUICE_CHDB_LIB", "/nonexistent/x.so", 1), 0);
    sl_error err = {0};
    cr_assert_eq(sl_sink_chdb_global_init(&err), SL_EIO);
    cr_assert(strstr(err.msg, "'/nonexistent/x.so'"), "%s", err.msg);
    /* Nothing loaded: opening refuses, shutting down is a no-op. */
    sl_sink *s = NULL;
    sl_sink_chdb_options o = {.path = "/tmp/sl_chdb_never"};
    cr_assert_eq(sl_sink_chdb_open(&o, &s, &err), SL_EINVAL);
    cr_assert_null(s);
    sl_sink_chdb_global_shutdown();
}

Test(sink_chdb, open_before_global_init_fails_cleanly)
{
    sl_sink *s = NULL;
    sl_error err = {0};
    sl_sink_chdb_options o = {.path = "/tmp/sl_chdb_never"};
    cr_assert_eq(sl_sink_chdb_open(&o, &s, &err), SL_EINVAL);
    cr_assert_str_eq(err.msg, "sl_sink_chdb_global_init was not called");
    cr_assert_null(s);
}

#endif
