/* Catalog: names, CREATE TABLE text, create/exists/conflict, persistence and reload, drop with
 * live references, truncate, row counts and INSERT text, all against the in-memory fake sink. */
#include "fake_sink.c"
#include "sl_catalog.h"
#include "sl_tokens.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *schema = "SCHEMA >\n"
                            "    `timestamp` DateTime `json:$.timestamp`,\n"
                            "    `action` LowCardinality(String) `json:$.action`,\n"
                            "    `path` String `json:$.payload.pathname` DEFAULT 'x',\n"
                            "    `tags` Array(String) `json:$.tags[:]`\n"
                            "\n"
                            "ENGINE \"MergeTree\"\n"
                            "ENGINE_PARTITION_KEY \"toYYYYMM(timestamp)\"\n"
                            "ENGINE_SORTING_KEY \"action, timestamp\"\n"
                            "ENGINE_TTL \"timestamp + toIntervalDay(60)\"\n";

typedef struct {
    char dir[64];
    fake_sink *sink;
    sl_catalog *cat;
} fx;

static void fx_open(fx *f)
{
    sl_error err = {0};
    snprintf(f->dir, sizeof f->dir, "/tmp/sl_cat_XXXXXX");
    cr_assert(mkdtemp(f->dir));
    f->sink = fake_sink_new();
    cr_assert_eq(sl_catalog_open(f->dir, &f->sink->base, NULL, &f->cat, &err), 0, "%s", err.msg);
}

static void fx_close(fx *f)
{
    sl_catalog_free(f->cat);
    sl_sink_close(&f->sink->base);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    cr_assert_eq(system(cmd), 0);
}

static int create(fx *f, const char *name, const char *text, sl_catalog_outcome *oc, sl_error *err)
{
    return sl_catalog_create_text(f->cat, sl_str_from_cstr(name), sl_str_from_cstr(text), oc, NULL,
                                  err);
}

Test(catalog, names)
{
    cr_assert(sl_catalog_valid_name(SL_STR("events")));
    cr_assert(sl_catalog_valid_name(SL_STR("_a1")));
    cr_assert(!sl_catalog_valid_name(SL_STR("1abc")));
    cr_assert(!sl_catalog_valid_name(SL_STR("")));
    cr_assert(!sl_catalog_valid_name(SL_STR("a-b")));
    cr_assert(!sl_catalog_valid_name(SL_STR("a`b")));
    cr_assert(!sl_catalog_valid_name(SL_STR("events_quarantine")));
    char n65[66];
    memset(n65, 'a', 65);
    n65[65] = 0;
    cr_assert(!sl_catalog_valid_name(sl_str_from_cstr(n65)));
    n65[64] = 0;
    cr_assert(sl_catalog_valid_name(sl_str_from_cstr(n65)));
}

Test(catalog, create_table_text)
{
    sl_datafile *df;
    sl_error err = {0};
    cr_assert_eq(sl_datafile_parse(sl_str_from_cstr(schema), &df, &err), 0, "%s", err.msg);
    sl_buf b;
    sl_buf_init(&b, 0);
    cr_assert_eq(sl_catalog_create_table_sql(SL_STR("events"), df, &b), 0);
    cr_assert_eq(sl_buf_append(&b, "", 1), 0);
    const char *s = (const char *)b.data;
    cr_assert(strstr(s, "CREATE TABLE IF NOT EXISTS `default`.`events`"), "%s", s);
    cr_assert(strstr(s, "`path` String DEFAULT 'x'"), "%s", s);
    cr_assert(strstr(s, "ENGINE = MergeTree"), "%s", s);
    cr_assert(strstr(s, "PARTITION BY toYYYYMM(timestamp)"), "%s", s);
    cr_assert(strstr(s, "ORDER BY (action, timestamp)"), "%s", s);
    cr_assert(strstr(s, "TTL timestamp + toIntervalDay(60)"), "%s", s);
    cr_assert(strstr(s, "SETTINGS non_replicated_deduplication_window = 1000"), "%s", s);
    b.len = 0;
    cr_assert_eq(sl_catalog_create_quarantine_sql(SL_STR("events"), df, &b), 0);
    cr_assert_eq(sl_buf_append(&b, "", 1), 0);
    s = (const char *)b.data;
    cr_assert(strstr(s, "`default`.`events_quarantine`"), "%s", s);
    cr_assert(strstr(s, "`c__raw` String, `insertion_date` DateTime DEFAULT now()"), "%s", s);
    cr_assert(strstr(s, "ORDER BY insertion_date"), "%s", s);
    cr_assert(strstr(s, "non_replicated_deduplication_window = 1000"), "%s", s);
    sl_buf_free(&b);
    sl_datafile_free(df);
}

Test(catalog, create_exists_conflict_and_reload)
{
    fx f;
    fx_open(&f);
    sl_error err = {0};
    sl_catalog_outcome oc;
    cr_assert_eq(create(&f, "events", schema, &oc, &err), 0, "%s", err.msg);
    cr_assert_eq(oc, SL_CATALOG_CREATED);
    cr_assert_eq(fake_sink_count_stmts(f.sink, "CREATE TABLE IF NOT EXISTS `default`.`events`"), 1);
    cr_assert_eq(fake_sink_count_stmts(f.sink, "`default`.`events_quarantine`"), 1);

    char path[128];
    snprintf(path, sizeof path, "%s/datasources/events.datasource", f.dir);
    cr_assert_eq(access(path, R_OK), 0);

    sl_datasource *ds = sl_catalog_acquire(f.cat, SL_STR("events"));
    cr_assert_not_null(ds);
    cr_assert_str_eq(ds->name, "events");
    cr_assert_eq(ds->df->n_columns, 4);
    cr_assert_not_null(ds->conv);
    uint64_t version = ds->version;
    sl_datasource_release(ds);
    cr_assert_null(sl_catalog_acquire(f.cat, SL_STR("nope")));

    /* Same definition again: idempotent. */
    cr_assert_eq(create(&f, "events", schema, &oc, &err), 0, "%s", err.msg);
    cr_assert_eq(oc, SL_CATALOG_EXISTS);
    /* Different definition: refused, and the winner is handed back. */
    sl_datasource *old = NULL;
    cr_assert_eq(sl_catalog_create_text(f.cat, SL_STR("events"),
                                        SL_STR("SCHEMA >\n    `a` Int32\n"), &oc, &old, &err),
                 SL_EINVAL);
    cr_assert_eq(oc, SL_CATALOG_CONFLICT);
    cr_assert(strstr(err.msg, "different schema"), "%s", err.msg);
    cr_assert_not_null(old);
    cr_assert_eq(old->version, version);
    sl_datasource_release(old);

    cr_assert_eq(create(&f, "bad-name", schema, &oc, &err), SL_EINVAL);
    cr_assert_eq(create(&f, "b", "SCHEMA >\n    `a` NoSuchType\n", &oc, &err) < 0, 1);

    /* Reload: the definition comes back and its tables are re-created if missing. */
    sl_catalog_free(f.cat);
    fake_sink *s2 = fake_sink_new();
    cr_assert_eq(sl_catalog_open(f.dir, &s2->base, NULL, &f.cat, &err), 0, "%s", err.msg);
    cr_assert_eq(fake_sink_count_stmts(s2, "CREATE TABLE IF NOT EXISTS `default`.`events`"), 1);
    ds = sl_catalog_acquire(f.cat, SL_STR("events"));
    cr_assert_not_null(ds);
    cr_assert_eq(ds->version, version);
    sl_datasource_release(ds);
    sl_datasource **list;
    size_t n;
    cr_assert_eq(sl_catalog_list(f.cat, &list, &n), 0);
    cr_assert_eq(n, 1);
    sl_catalog_release_list(list, n);
    sl_sink_close(&s2->base);
    fx_close(&f);
}

Test(catalog, list_sorted)
{
    fx f;
    fx_open(&f);
    sl_error err = {0};
    const char *names[] = {"zeta", "alpha", "mid"};
    for (int i = 0; i < 3; i++)
        cr_assert_eq(create(&f, names[i], "SCHEMA >\n    `a` Int32\n", NULL, &err), 0);
    sl_datasource **list;
    size_t n;
    cr_assert_eq(sl_catalog_list(f.cat, &list, &n), 0);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(list[0]->name, "alpha");
    cr_assert_str_eq(list[2]->name, "zeta");
    sl_catalog_release_list(list, n);
    fx_close(&f);
}

Test(catalog, drop_keeps_live_references)
{
    fx f;
    fx_open(&f);
    sl_error err = {0};
    cr_assert_eq(create(&f, "events", schema, NULL, &err), 0);
    sl_datasource *ds = sl_catalog_acquire(f.cat, SL_STR("events"));
    cr_assert_eq(sl_catalog_drop(f.cat, SL_STR("events"), &err), 0, "%s", err.msg);
    cr_assert_eq(fake_sink_count_stmts(f.sink, "DROP TABLE IF EXISTS `default`.`events`"), 1);
    cr_assert_eq(
        fake_sink_count_stmts(f.sink, "DROP TABLE IF EXISTS `default`.`events_quarantine`"), 1);
    cr_assert_null(sl_catalog_acquire(f.cat, SL_STR("events")));
    cr_assert(sl_datasource_is_dropped(ds));
    cr_assert_eq(ds->df->n_columns, 4); /* still valid */
    sl_datasource_release(ds);
    char path[128];
    snprintf(path, sizeof path, "%s/datasources/events.datasource", f.dir);
    cr_assert_neq(access(path, F_OK), 0);
    cr_assert_eq(sl_catalog_drop(f.cat, SL_STR("events"), &err), SL_EMISSING);
    /* A new definition under the old name is fine after the drop. */
    cr_assert_eq(create(&f, "events", "SCHEMA >\n    `a` Int32\n", NULL, &err), 0);
    fx_close(&f);
}

Test(catalog, ddl_failure_creates_nothing)
{
    fx f;
    fx_open(&f);
    sl_error err = {0};
    fake_sink_fail_matching(f.sink, "_quarantine");
    cr_assert_eq(create(&f, "events", schema, NULL, &err), SL_EIO);
    cr_assert(strstr(err.msg, "ClickHouse refused"), "%s", err.msg);
    cr_assert_null(sl_catalog_acquire(f.cat, SL_STR("events")));
    char path[128];
    snprintf(path, sizeof path, "%s/datasources/events.datasource", f.dir);
    cr_assert_neq(access(path, F_OK), 0);
    fake_sink_fail_matching(f.sink, "");
    cr_assert_eq(create(&f, "events", schema, NULL, &err), 0, "%s", err.msg);
    fx_close(&f);
}

Test(catalog, unsafe_expressions_refused)
{
    fx f;
    fx_open(&f);
    sl_error err = {0};
    const char *bad[] = {
        "SCHEMA >\n    `a` Int32\nENGINE_TTL \"now(); DROP TABLE x\"\n",
        "SCHEMA >\n    `a` Int32\nENGINE_SORTING_KEY \"a) SETTINGS x=1 --\"\n",
        "SCHEMA >\n    `a` Int32\nENGINE_PARTITION_KEY \"a /* x\"\n",
        "SCHEMA >\n    `a` Int32\nENGINE \"Log\"\n",
        "SCHEMA >\n    `a` Int32\nENGINE \"ReplicatedMergeTree\"\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = create(&f, "t", bad[i], NULL, &err);
        cr_assert_lt(rc, 0, "accepted: %s", bad[i]);
    }
    cr_assert_eq(fake_sink_count_stmts(f.sink, "CREATE"), 0);
    /* Quotes may hold anything. */
    cr_assert_eq(create(&f, "t", "SCHEMA >\n    `a` String DEFAULT 'x;--)'\n", NULL, &err), 0, "%s",
                 err.msg);
    fx_close(&f);
}

Test(catalog, truncate_counts_insert_sql)
{
    fx f;
    fx_open(&f);
    sl_error err = {0};
    cr_assert_eq(create(&f, "events", schema, NULL, &err), 0);
    cr_assert_eq(sl_catalog_truncate(f.cat, SL_STR("events"), &err), 0);
    cr_assert_eq(fake_sink_count_stmts(f.sink, "TRUNCATE TABLE IF EXISTS `default`.`events`"), 1);
    cr_assert_eq(sl_catalog_truncate(f.cat, SL_STR("nope"), &err), SL_EMISSING);

    sl_datasource *ds = sl_catalog_acquire(f.cat, SL_STR("events"));
    strcpy(f.sink->answer, "12\t3\n");
    uint64_t rows = 0, q = 0;
    cr_assert_eq(sl_catalog_row_counts(f.cat, ds, &rows, &q, &err), 0, "%s", err.msg);
    cr_assert_eq(rows, 12);
    cr_assert_eq(q, 3);

    sl_buf b;
    sl_buf_init(&b, 0);
    cr_assert_eq(sl_catalog_insert_sql(ds, false, SL_STR("events:1-2"), &b), 0);
    cr_assert_eq(sl_buf_append(&b, "", 1), 0);
    cr_assert_str_eq((char *)b.data,
                     "INSERT INTO `default`.`events` SETTINGS insert_deduplication_token = "
                     "'events:1-2'");
    b.len = 0;
    cr_assert_eq(sl_catalog_insert_sql(ds, true, SL_STR(""), &b), 0);
    cr_assert_eq(sl_buf_append(&b, "", 1), 0);
    cr_assert_str_eq((char *)b.data,
                     "INSERT INTO `default`.`events_quarantine` (`c__error_column`, `c__error`, "
                     "`c__import_id`, `timestamp`, `action`, `path`, `tags`, `c__raw`)");
    sl_buf_free(&b);
    sl_datasource_release(ds);
    fx_close(&f);
}

Test(catalog, token_lines_grant_scopes)
{
    fx f;
    fx_open(&f);
    sl_error err = {0};
    sl_tokens *tok;
    cr_assert_eq(sl_tokens_open(f.dir, &tok, &err), 0);
    sl_catalog_free(f.cat);
    cr_assert_eq(sl_catalog_open(f.dir, &f.sink->base, tok, &f.cat, &err), 0);
    cr_assert_eq(create(&f, "events",
                        "TOKEN \"tracker\" APPEND\nTOKEN \"reader\" READ\n\nSCHEMA >\n"
                        "    `a` Int32\n",
                        NULL, &err),
                 0, "%s", err.msg);
    char secret[SL_TOKEN_SECRET_MAX];
    cr_assert_eq(sl_tokens_get_secret(tok, SL_STR("tracker"), secret, sizeof secret, &err), 0);
    sl_str s = sl_str_from_cstr(secret);
    cr_assert_eq(sl_tokens_check(tok, s, SL_ACTION_APPEND, SL_STR("events"), NULL, 0, &err), 0);
    cr_assert_eq(sl_tokens_check(tok, s, SL_ACTION_READ, SL_STR("events"), NULL, 0, &err),
                 SL_EINVAL);
    cr_assert_eq(sl_tokens_get_secret(tok, SL_STR("reader"), secret, sizeof secret, &err), 0);
    s = sl_str_from_cstr(secret);
    cr_assert_eq(
        sl_tokens_check(tok, s, SL_ACTION_READ, SL_STR("events_quarantine"), NULL, 0, &err), 0);
    /* Deleting the data source takes its grants along: created again without TOKEN lines, the
     * old token cannot read it. */
    cr_assert_eq(sl_catalog_drop(f.cat, SL_STR("events"), &err), 0, "%s", err.msg);
    cr_assert_eq(create(&f, "events", "SCHEMA >\n    `a` Int32\n", NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(sl_tokens_check(tok, s, SL_ACTION_READ, SL_STR("events"), NULL, 0, &err),
                 SL_EINVAL);
    sl_catalog_free(f.cat);
    f.cat = NULL;
    sl_tokens_free(tok);
    fx_close(&f);
}

Test(catalog, marks_query_and_answer)
{
    fx f;
    fx_open(&f);
    sl_error err = {0};
    cr_assert_eq(create(&f, "ev", "SCHEMA >\n    `a` Int32\n", NULL, &err), 0, "%s", err.msg);
    sl_datasource *ds = sl_catalog_acquire(f.cat, SL_STR("ev"));
    cr_assert_not_null(ds);
    sl_buf b;
    sl_buf_init(&b, 0);
    cr_assert_eq(sl_catalog_marks_sql(ds, &b), 0);
    cr_assert_eq(sl_buf_append(&b, "", 1), 0);
    cr_assert_str_eq((char *)b.data,
                     "SELECT table = 'ev_quarantine', max(max_block_number) FROM system.parts "
                     "WHERE database = 'default' AND active AND table IN ('ev', 'ev_quarantine') "
                     "GROUP BY table FORMAT TSV");
    sl_buf_free(&b);
    sl_datasource_release(ds);

    uint64_t m[2];
    cr_assert_eq(sl_catalog_parse_marks(SL_STR(""), m, &err), 0);
    cr_assert(m[0] == 0 && m[1] == 0);
    cr_assert_eq(sl_catalog_parse_marks(SL_STR("1\t7\n0\t12345\n"), m, &err), 0);
    cr_assert(m[0] == 12345 && m[1] == 7);
    const char *bad[] = {"x", "0\t\n", "0\t5", "2\t5\n", "0 5\n", "0\t-1\n", "0\t5\n1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(sl_catalog_parse_marks(sl_str_from_cstr(bad[i]), m, &err), SL_EINVAL, "%s",
                     bad[i]);
        cr_assert_str_eq(err.msg, "unexpected answer to the marks query");
    }
    fx_close(&f);
}
