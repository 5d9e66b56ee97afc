/* Tests of sl_datafile: the data sets' schemas (gen_events.py --schema, embedded), files in the
 * style of public Tinybird projects, every syntax error with its exact message, and round trips
 * parse → print → parse. */
#include "sl_datafile.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

/* The schemas printed by `python3 ../shared/tools/gen_events.py <ds> --schema`. */
static const char gen_web[] = "SCHEMA >\n"
                              "    `timestamp` DateTime64(3, 'UTC') `json:$.timestamp`,\n"
                              "    `session_id` UUID `json:$.session_id`,\n"
                              "    `action` LowCardinality(String) `json:$.action`,\n"
                              "    `version` LowCardinality(String) `json:$.version`,\n"
                              "    `user_agent` String `json:$.payload.user-agent`,\n"
                              "    `locale` LowCardinality(String) `json:$.payload.locale`,\n"
                              "    `location` LowCardinality(String) `json:$.payload.location`,\n"
                              "    `referrer` String `json:$.payload.referrer` DEFAULT '',\n"
                              "    `pathname` String `json:$.payload.pathname`,\n"
                              "    `href` String `json:$.payload.href`,\n"
                              "    `payload` String `json:$.payload`,\n"
                              "    `user_id` UInt64 `json:$.user_id`,\n"
                              "    `duration_ms` Float64 `json:$.duration_ms`,\n"
                              "    `tags` Array(LowCardinality(String)) `json:$.tags[:]`,\n"
                              "    `tenant_id` String `json:$.tenant_id` DEFAULT ''\n"
                              "\n"
                              "ENGINE \"MergeTree\"\n"
                              "ENGINE_PARTITION_KEY \"toYYYYMM(timestamp)\"\n"
                              "ENGINE_SORTING_KEY \"action, timestamp\"\n";

static const char gen_wide[] = "SCHEMA >\n"
                               "    `id` UInt64 `json:$.id`,\n"
                               "    `c00` Int8 `json:$.c00`,\n"
                               "    `c01` UInt8 `json:$.l1.c01`,\n"
                               "    `c02` Int16 `json:$.l2.m2.c02`,\n"
                               "    `c03` UInt16 `json:$.c03`,\n"
                               "    `c04` Int32 `json:$.l1.c04`,\n"
                               "    `c05` UInt32 `json:$.l2.m0.c05`,\n"
                               "    `c06` Int64 `json:$.c06`,\n"
                               "    `c07` UInt64 `json:$.l1.c07`,\n"
                               "    `c08` Float32 `json:$.l2.m3.c08`,\n"
                               "    `c09` Float64 `json:$.c09`,\n"
                               "    `c10` Bool `json:$.l1.c10`,\n"
                               "    `c11` Decimal(18, 4) `json:$.l2.m1.c11`,\n"
                               "    `c12` Date `json:$.c12`,\n"
                               "    `c13` DateTime `json:$.l1.c13`,\n"
                               "    `c14` DateTime64(6, 'UTC') `json:$.l2.m4.c14`,\n"
                               "    `c15` UUID `json:$.c15`,\n"
                               "    `c16` IPv4 `json:$.l1.c16`,\n"
                               "    `c17` IPv6 `json:$.l2.m2.c17`,\n"
                               "    `c18` Enum8('a' = 1, 'b' = 2, 'c' = 3) `json:$.c18`,\n"
                               "    `c19` LowCardinality(String) `json:$.l1.c19`,\n"
                               "    `c20` String `json:$.l2.m0.c20`,\n"
                               "    `c21` Nullable(Int32) `json:$.c21`,\n"
                               "    `c22` Nullable(String) `json:$.l1.c22`,\n"
                               "    `c23` FixedString(4) `json:$.l2.m3.c23`,\n"
                               "    `c24` Int8 `json:$.c24`,\n"
                               "    `c25` UInt8 `json:$.l1.c25`,\n"
                               "    `c26` Int16 `json:$.l2.m1.c26`,\n"
                               "    `c27` UInt16 `json:$.c27`,\n"
                               "    `c28` Int32 `json:$.l1.c28`,\n"
                               "    `c29` UInt32 `json:$.l2.m4.c29`,\n"
                               "    `c30` Int64 `json:$.c30`,\n"
                               "    `c31` UInt64 `json:$.l1.c31`,\n"
                               "    `c32` Float32 `json:$.l2.m2.c32`,\n"
                               "    `c33` Float64 `json:$.c33`,\n"
                               "    `c34` Bool `json:$.l1.c34`,\n"
                               "    `c35` Decimal(18, 4) `json:$.l2.m0.c35`,\n"
                               "    `c36` Date `json:$.c36`,\n"
                               "    `c37` DateTime `json:$.l1.c37`,\n"
                               "    `c38` DateTime64(6, 'UTC') `json:$.l2.m3.c38`,\n"
                               "    `c39` UUID `json:$.c39`,\n"
                               "    `c40` IPv4 `json:$.l1.c40`,\n"
                               "    `c41` IPv6 `json:$.l2.m1.c41`,\n"
                               "    `c42` Enum8('a' = 1, 'b' = 2, 'c' = 3) `json:$.c42`,\n"
                               "    `c43` LowCardinality(String) `json:$.l1.c43`,\n"
                               "    `c44` String `json:$.l2.m4.c44`,\n"
                               "    `c45` Nullable(Int32) `json:$.c45`,\n"
                               "    `c46` Nullable(String) `json:$.l1.c46`,\n"
                               "    `c47` FixedString(4) `json:$.l2.m2.c47`,\n"
                               "    `c48` Int8 `json:$.c48`,\n"
                               "    `c49` UInt8 `json:$.l1.c49`,\n"
                               "    `c50` Int16 `json:$.l2.m0.c50`,\n"
                               "    `c51` UInt16 `json:$.c51`,\n"
                               "    `c52` Int32 `json:$.l1.c52`,\n"
                               "    `c53` UInt32 `json:$.l2.m3.c53`,\n"
                               "    `c54` Int64 `json:$.c54`,\n"
                               "    `c55` UInt64 `json:$.l1.c55`,\n"
                               "    `c56` Float32 `json:$.l2.m1.c56`,\n"
                               "    `c57` Float64 `json:$.c57`,\n"
                               "    `c58` Bool `json:$.l1.c58`,\n"
                               "    `c59` Decimal(18, 4) `json:$.l2.m4.c59`,\n"
                               "    `c60` Date `json:$.c60`,\n"
                               "    `c61` DateTime `json:$.l1.c61`,\n"
                               "    `c62` DateTime64(6, 'UTC') `json:$.l2.m2.c62`,\n"
                               "    `c63` UUID `json:$.c63`\n"
                               "\n"
                               "ENGINE \"MergeTree\"\n"
                               "ENGINE_SORTING_KEY \"id\"\n";

static const char gen_arrays[] = "SCHEMA >\n"
                                 "    `id` UInt64 `json:$.id`,\n"
                                 "    `ints` Array(Int32) `json:$.ints[:]`,\n"
                                 "    `words` Array(String) `json:$.words[:]`,\n"
                                 "    `matrix` Array(Array(Float64)) `json:$.matrix[:][:]`,\n"
                                 "    `counters` Map(String, UInt64) `json:$.counters`,\n"
                                 "    `pair` Tuple(a Int32, b String) `json:$.pair`,\n"
                                 "    `item_skus` Array(String) `json:$.items[:].sku`,\n"
                                 "    `item_prices` Array(Float64) `json:$.items[:].price`,\n"
                                 "    `items_raw` String `json:$.items`\n"
                                 "\n"
                                 "ENGINE \"MergeTree\"\n"
                                 "ENGINE_SORTING_KEY \"id\"\n";

static const char gen_small[] = "SCHEMA >\n"
                                "    `timestamp` DateTime `json:$.timestamp`,\n"
                                "    `action` LowCardinality(String) `json:$.action`,\n"
                                "    `n` UInt64 `json:$.n`\n"
                                "\n"
                                "ENGINE \"MergeTree\"\n"
                                "ENGINE_SORTING_KEY \"timestamp\"\n";

static const char gen_dirty[] = "SCHEMA >\n"
                                "    `timestamp` DateTime64(3, 'UTC') `json:$.timestamp`,\n"
                                "    `session_id` UUID `json:$.session_id`,\n"
                                "    `action` LowCardinality(String) `json:$.action`,\n"
                                "    `version` LowCardinality(String) `json:$.version`,\n"
                                "    `user_agent` String `json:$.payload.user-agent`,\n"
                                "    `locale` LowCardinality(String) `json:$.payload.locale`,\n"
                                "    `location` LowCardinality(String) `json:$.payload.location`,\n"
                                "    `referrer` String `json:$.payload.referrer` DEFAULT '',\n"
                                "    `pathname` String `json:$.payload.pathname`,\n"
                                "    `href` String `json:$.payload.href`,\n"
                                "    `payload` String `json:$.payload`,\n"
                                "    `user_id` UInt64 `json:$.user_id`,\n"
                                "    `duration_ms` Float64 `json:$.duration_ms`,\n"
                                "    `tags` Array(LowCardinality(String)) `json:$.tags[:]`,\n"
                                "    `tenant_id` String `json:$.tenant_id` DEFAULT ''\n"
                                "\n"
                                "ENGINE \"MergeTree\"\n"
                                "ENGINE_PARTITION_KEY \"toYYYYMM(timestamp)\"\n"
                                "ENGINE_SORTING_KEY \"action, timestamp\"\n";

static sl_datafile *parse_ok(const char *text)
{
    sl_datafile *df = NULL;
    sl_error err = {0};
    int rc = sl_datafile_parse(sl_str_from_cstr(text), &df, &err);
    cr_assert_eq(rc, 0, "parse failed: %s\n%s", err.msg, text);
    cr_assert_not_null(df);
    return df;
}

/* Prints df; the text is returned in *out (caller frees). */
static void print_df(const sl_datafile *df, sl_buf *out)
{
    sl_buf_init(out, 0);
    cr_assert_eq(sl_datafile_print(df, out), 0);
    sl_buf_append(out, "", 1);
    out->len--;
}

/* parse(print(df)) == df, and printing is stable. */
static void round_trip(const sl_datafile *df)
{
    sl_buf a, b;
    print_df(df, &a);
    sl_datafile *df2 = parse_ok((const char *)a.data);
    cr_expect(sl_datafile_equal(df, df2), "round trip differs:\n%s", (const char *)a.data);
    print_df(df2, &b);
    cr_expect_str_eq((const char *)a.data, (const char *)b.data);
    sl_datafile_free(df2);
    sl_buf_free(&a);
    sl_buf_free(&b);
}

static void bad(const char *text, int code, const char *msg, uint32_t line, uint32_t column)
{
    sl_datafile *df = (sl_datafile *)1;
    sl_error err = {0};
    int rc = sl_datafile_parse(sl_str_from_cstr(text), &df, &err);
    cr_expect_eq(rc, code, "rc %d, expected %d (%s) for:\n%s", rc, code, rc ? err.msg : "", text);
    cr_expect_null(df);
    if (rc) {
        cr_expect_str_eq(err.msg, msg, "for:\n%s", text);
        cr_expect_eq(err.line, line, "line %u != %u (%s)", err.line, line, err.msg);
        cr_expect_eq(err.column, column, "column %u != %u (%s)", err.column, column, err.msg);
    }
}

static const sl_column *col(const sl_datafile *df, const char *name)
{
    int i = sl_datafile_find_column(df, sl_str_from_cstr(name));
    cr_assert_geq(i, 0, "no column %s", name);
    return &df->columns[i];
}

#define EXPECT_STR(s, lit)                                                                         \
    cr_expect(sl_str_eq_cstr((s), (lit)), "'%.*s' != '%s'", (int)(s).len, (s).ptr, (lit))

Test(datafile, generated_schemas)
{
    static const char *const files[] = {gen_web, gen_wide, gen_arrays, gen_small, gen_dirty};
    static const size_t ncols[] = {15, 65, 9, 3, 15};
    for (size_t i = 0; i < 5; i++) {
        sl_datafile *df = parse_ok(files[i]);
        cr_expect_eq(df->n_columns, ncols[i]);
        EXPECT_STR(df->engine, "MergeTree");
        /* These files are already canonical: printing gives them back byte for byte. */
        sl_buf b;
        print_df(df, &b);
        cr_expect_str_eq((const char *)b.data, files[i]);
        sl_buf_free(&b);
        round_trip(df);
        sl_datafile_free(df);
    }
    sl_datafile *df = parse_ok(gen_web);
    const sl_column *c = col(df, "user_agent");
    EXPECT_STR(c->jsonpath, "$.payload.user-agent");
    cr_expect(c->jsonpath_given);
    c = col(df, "referrer");
    cr_expect(c->has_default);
    EXPECT_STR(c->default_expr, "''");
    c = col(df, "timestamp");
    EXPECT_STR(c->type_text, "DateTime64(3, 'UTC')");
    cr_expect_eq(c->type->kind, SL_TYPE_DATETIME64);
    c = col(df, "tags");
    cr_expect_eq(c->type->kind, SL_TYPE_ARRAY);
    EXPECT_STR(df->engine_partition_key, "toYYYYMM(timestamp)");
    EXPECT_STR(df->engine_sorting_key, "action, timestamp");
    cr_expect_eq(df->engine_ttl.len, 0);
    cr_expect_eq(df->n_tokens, 0);
    cr_expect_eq(df->n_indexes, 0);
    cr_expect_eq(df->description.len, 0);
    cr_expect_eq(sl_datafile_find_column(df, SL_STR("nope")), -1);
    sl_datafile_free(df);
    df = parse_ok(gen_arrays);
    EXPECT_STR(col(df, "matrix")->jsonpath, "$.matrix[:][:]");
    EXPECT_STR(col(df, "pair")->type_text, "Tuple(a Int32, b String)");
    EXPECT_STR(col(df, "counters")->type_text, "Map(String, UInt64)");
    sl_datafile_free(df);
}

/* In the style of Tinybird's web analytics starter kit. */
static const char analytics_events[] = "DESCRIPTION >\n"
                                       "    Analytics events landing data source\n"
                                       "\n"
                                       "TOKEN \"tracker\" APPEND\n"
                                       "\n"
                                       "SCHEMA >\n"
                                       "    `timestamp` DateTime `json:$.timestamp`,\n"
                                       "    `session_id` Nullable(String) `json:$.session_id`,\n"
                                       "    `action` LowCardinality(String) `json:$.action`,\n"
                                       "    `version` LowCardinality(String) `json:$.version`,\n"
                                       "    `payload` String `json:$.payload`,\n"
                                       "    `tenant_id` String `json:$.tenant_id` DEFAULT '',\n"
                                       "    `domain` String `json:$.domain` DEFAULT ''\n"
                                       "\n"
                                       "ENGINE \"MergeTree\"\n"
                                       "ENGINE_PARTITION_KEY \"toYYYYMM(timestamp)\"\n"
                                       "ENGINE_SORTING_KEY \"tenant_id, domain, timestamp\"\n"
                                       "ENGINE_TTL \"timestamp + toIntervalDay(60)\"\n";

Test(datafile, analytics_events)
{
    sl_datafile *df = parse_ok(analytics_events);
    EXPECT_STR(df->description, "Analytics events landing data source");
    cr_assert_eq(df->n_tokens, 1);
    EXPECT_STR(df->tokens[0].name, "tracker");
    cr_expect_eq(df->tokens[0].perm, SL_TOKEN_APPEND);
    cr_expect_eq(df->n_columns, 7);
    cr_expect_eq(col(df, "session_id")->type->kind, SL_TYPE_NULLABLE);
    cr_expect_eq(col(df, "action")->type->kind, SL_TYPE_LOW_CARDINALITY);
    EXPECT_STR(df->engine_ttl, "timestamp + toIntervalDay(60)");
    EXPECT_STR(df->engine_sorting_key, "tenant_id, domain, timestamp");
    sl_buf b;
    print_df(df, &b);
    cr_expect_str_eq((const char *)b.data, analytics_events);
    sl_buf_free(&b);
    round_trip(df);
    sl_datafile_free(df);
}

Test(datafile, spec_example_and_syntax_variants)
{
    static const char text[] =
        "# A comment\n"
        "DESCRIPTION >\n"
        "    Page views from the web tracker\n"
        "\n"
        "      indented second paragraph -- not a comment\n"
        "TOKEN \"tracker\" APPEND\n"
        "TOKEN dashboard READ\n"
        "TOKEN 'ops' read\n"
        "\n"
        "SCHEMA >\n"
        "    `timestamp` DateTime `json:$.timestamp`,\n"
        "    `session_id` Nullable(String) `json:$.session_id`,\n"
        "    `pathname` String `json:$.payload.pathname` DEFAULT '',\n"
        "    `tags` Array(String) `json:$.tags[:]`,\n"
        "    flag Bool DEFAULT false `json:$.f`, -- path after DEFAULT\n"
        "    `e` Enum8('a, b' = 1, 'c--d' = 2) CODEC(ZSTD(1)) DEFAULT 'a, b',\n"
        "    `m` Map(String, Array(UInt8)) CODEC(LZ4) `json:$.m`,\n"
        "    `t` Tuple(\n"
        "        a Int32,  -- first\n"
        "        b String\n"
        "    ) `json:$.t`,\n"
        "    `x` LowCardinality(String)\n"
        "        DEFAULT concat('a', -- comment\n"
        "                       'b')\n"
        "        `json:$.x`,\n"
        "    `user agent` String `json: $.ua `,\n"
        "    `it's` String,\n"
        "    raw String `json:$`  -- a comment\n"
        "    ,\n"
        "\n"
        "INDEXES >\n"
        "    idx_action action TYPE bloom_filter GRANULARITY 4,\n"
        "    idx_path pathname TYPE tokenbf_v1(512, 3, 0) GRANULARITY 1 -- c\n"
        "\n"
        "ENGINE MergeTree -- bare value\n"
        "ENGINE_PARTITION_KEY 'toYYYYMM(timestamp)'\n"
        "ENGINE_SORTING_KEY \"action, timestamp\" -- quoted then comment\n"
        "ENGINE_TTL \"timestamp + toIntervalDay(60)\"\n"
        "engine_settings \"index_granularity=8192\"\n"
        "ENGINE_PRIMARY_KEY >\n"
        "    action,\n"
        "    timestamp\n";
    sl_datafile *df = parse_ok(text);
    EXPECT_STR(df->description,
               "Page views from the web tracker\n\n  indented second paragraph -- not a comment");
    cr_assert_eq(df->n_tokens, 3);
    EXPECT_STR(df->tokens[1].name, "dashboard");
    cr_expect_eq(df->tokens[1].perm, SL_TOKEN_READ);
    EXPECT_STR(df->tokens[2].name, "ops");
    cr_expect_eq(df->tokens[2].perm, SL_TOKEN_READ);
    cr_assert_eq(df->n_columns, 12);
    const sl_column *c = col(df, "flag");
    EXPECT_STR(c->default_expr, "false");
    EXPECT_STR(c->jsonpath, "$.f");
    c = col(df, "e");
    EXPECT_STR(c->type_text, "Enum8('a, b' = 1, 'c--d' = 2)");
    EXPECT_STR(c->codec, "ZSTD(1)");
    EXPECT_STR(c->default_expr, "'a, b'");
    EXPECT_STR(c->jsonpath, "$.e");
    cr_expect_not(c->jsonpath_given);
    c = col(df, "m");
    EXPECT_STR(c->codec, "LZ4");
    EXPECT_STR(c->type_text, "Map(String, Array(UInt8))");
    c = col(df, "t");
    EXPECT_STR(c->type_text, "Tuple( a Int32, b String )");
    cr_expect_eq(c->type->kind, SL_TYPE_TUPLE);
    c = col(df, "x");
    EXPECT_STR(c->default_expr, "concat('a', 'b')");
    EXPECT_STR(c->jsonpath, "$.x");
    c = col(df, "user agent");
    EXPECT_STR(c->jsonpath, "$.ua");
    c = col(df, "it's");
    EXPECT_STR(c->jsonpath, "$.['it\\'s']");
    cr_expect_not(c->jsonpath_given);
    EXPECT_STR(col(df, "raw")->jsonpath, "$");
    cr_assert_eq(df->n_indexes, 2);
    EXPECT_STR(df->indexes[0], "idx_action action TYPE bloom_filter GRANULARITY 4");
    EXPECT_STR(df->indexes[1], "idx_path pathname TYPE tokenbf_v1(512, 3, 0) GRANULARITY 1");
    EXPECT_STR(df->engine, "MergeTree");
    EXPECT_STR(df->engine_partition_key, "toYYYYMM(timestamp)");
    EXPECT_STR(df->engine_sorting_key, "action, timestamp");
    EXPECT_STR(df->engine_settings, "index_granularity=8192");
    EXPECT_STR(df->engine_primary_key, "action, timestamp");
    round_trip(df);
    sl_datafile_free(df);
}

Test(datafile, defaults_and_engines)
{
    sl_datafile *df = parse_ok("SCHEMA >\n    a String\n");
    EXPECT_STR(df->engine, "MergeTree");
    EXPECT_STR(df->columns[0].jsonpath, "$.a");
    cr_expect_not(df->columns[0].jsonpath_given);
    cr_expect_not(df->columns[0].has_default);
    cr_expect_eq(df->columns[0].codec.len, 0);
    sl_buf b;
    print_df(df, &b);
    cr_expect_str_eq((const char *)b.data, "SCHEMA >\n    `a` String\n\nENGINE \"MergeTree\"\n");
    sl_buf_free(&b);
    sl_datafile_free(df);

    static const char *engines[] = {"ReplacingMergeTree", "SummingMergeTree",
                                    "AggregatingMergeTree", "CollapsingMergeTree",
                                    "VersionedCollapsingMergeTree"};
    for (size_t i = 0; i < 5; i++) {
        char text[256];
        snprintf(text, sizeof(text),
                 "SCHEMA >\n  id UInt64,\n  v UInt64,\n  s Int8, d UInt8\nENGINE \"%s\"\n"
                 "ENGINE_VER v\nENGINE_SIGN s\nENGINE_VERSION v\nENGINE_IS_DELETED d\n",
                 engines[i]);
        df = parse_ok(text);
        EXPECT_STR(df->engine, engines[i]);
        EXPECT_STR(df->engine_ver, "v");
        EXPECT_STR(df->engine_sign, "s");
        EXPECT_STR(df->engine_version, "v");
        EXPECT_STR(df->engine_is_deleted, "d");
        cr_expect_eq(df->n_columns, 4);
        round_trip(df);
        sl_datafile_free(df);
    }
    /* CRLF line ends, a tab indent, no final newline. */
    df = parse_ok("SCHEMA >\r\n\t`a` String `json:$.a`,\r\n\tb Int32\r\nENGINE \"MergeTree\"");
    cr_expect_eq(df->n_columns, 2);
    EXPECT_STR(df->engine, "MergeTree");
    EXPECT_STR(df->columns[0].jsonpath, "$.a");
    round_trip(df);
    sl_datafile_free(df);
    /* A single-line DESCRIPTION and quoted values with odd quotes survive printing. */
    df = parse_ok("DESCRIPTION \"one line\"\nSCHEMA >\n a String\nENGINE_TTL it's -- c\n"
                  "ENGINE_SETTINGS \"a\"b\"\n");
    EXPECT_STR(df->description, "one line");
    EXPECT_STR(df->engine_ttl, "it's -- c");
    EXPECT_STR(df->engine_settings, "a\"b");
    round_trip(df);
    sl_datafile_free(df);
    sl_datafile_free(NULL);
}

Test(datafile, errors_schema)
{
    bad("", SL_ESCHEMA, "expected a 'SCHEMA >' block with the columns", 0, 0);
    bad("ENGINE \"MergeTree\"\n", SL_ESCHEMA, "expected a 'SCHEMA >' block with the columns", 0, 0);
    bad("SCHEMA >\n\nENGINE \"MergeTree\"\n", SL_ESCHEMA, "line 1, column 1: SCHEMA has no columns",
        1, 1);
    bad("SCHEMA >\n  -- only a comment\n", SL_ESCHEMA, "line 1, column 1: SCHEMA has no columns", 1,
        1);
    bad("SCHEMA a String\n", SL_ESCHEMA,
        "line 1, column 8: SCHEMA takes an indented block: write 'SCHEMA >' and the columns on "
        "the following lines",
        1, 8);
    bad("SCHEMA > a String\n", SL_ESCHEMA,
        "line 1, column 9: expected the end of the line after 'SCHEMA >' (the block goes on the "
        "following, indented lines)",
        1, 9);
    bad("SCHEMA >\n    a String\nSCHEMA >\n    b String\n", SL_ESCHEMA,
        "line 3, column 1: SCHEMA given twice", 3, 1);
    bad("SCHEMA >\n    `a` String,\n    `a` Int32\n", SL_ESCHEMA,
        "line 3, column 5: duplicate column name `a`", 3, 5);
    bad("SCHEMA >\n    `action`,\n", SL_ESCHEMA,
        "line 2, column 13: expected a column type after the name `action`", 2, 13);
    bad("SCHEMA >\n    `action` `json:$.a`\n", SL_ESCHEMA,
        "line 2, column 14: expected a column type after the name `action`", 2, 14);
    bad("SCHEMA >\n    `action` DEFAULT 'x'\n", SL_ESCHEMA,
        "line 2, column 14: expected a column type after the name `action`", 2, 14);
    bad("SCHEMA >\n    `timestamp` DateTime `json:$.timestamp\n", SL_ESCHEMA,
        "line 2, column 26: unterminated `json:` path (missing closing backtick)", 2, 26);
    bad("SCHEMA >\n    `timestamp DateTime\n", SL_ESCHEMA,
        "line 2, column 5: unterminated column name (missing closing backtick)", 2, 5);
    bad("SCHEMA >\n    `` String\n", SL_ESCHEMA, "line 2, column 5: empty column name", 2, 5);
    bad("SCHEMA >\n    1a String\n", SL_ESCHEMA,
        "line 2, column 5: expected a column name (letters, digits and '_', or `backticked`)", 2,
        5);
    bad("SCHEMA >\n    , a String\n", SL_ESCHEMA, "line 2, column 5: expected a column before ','",
        2, 5);
    bad("SCHEMA >\n    a String,,\n", SL_ESCHEMA, "line 2, column 14: expected a column before ','",
        2, 14);
    bad("SCHEMA >\n    a String `json:$.a`\n    b String\n", SL_ESCHEMA,
        "line 3, column 5: expected ',' between columns, DEFAULT, CODEC(...) or a `json:` path "
        "after `a`",
        3, 5);
    bad("SCHEMA >\n    a String\n    b String\n", SL_ESCHEMA,
        "line 3, column 5: expected ',' between columns, DEFAULT, CODEC(...) or a `json:` path "
        "after `a`",
        3, 5);
    bad("SCHEMA >\n    a String `jsn:$.a`\n", SL_ESCHEMA,
        "line 2, column 14: expected a `json:<path>` after the type of `a`", 2, 14);
    bad("SCHEMA >\n    a String `json:$.a` `json:$.b`\n", SL_ESCHEMA,
        "line 2, column 25: column `a` has two `json:` paths", 2, 25);
    bad("SCHEMA >\n    a String DEFAULT 'x' DEFAULT 'y'\n", SL_ESCHEMA,
        "line 2, column 26: column `a` has two DEFAULT expressions", 2, 26);
    bad("SCHEMA >\n    a String DEFAULT\n", SL_ESCHEMA,
        "line 2, column 21: expected an expression after DEFAULT", 2, 21);
    bad("SCHEMA >\n    a String DEFAULT ,\n", SL_ESCHEMA,
        "line 2, column 21: expected an expression after DEFAULT", 2, 21);
    bad("SCHEMA >\n    a String CODEC(LZ4) CODEC(ZSTD)\n", SL_ESCHEMA,
        "line 2, column 25: column `a` has two CODECs", 2, 25);
    bad("SCHEMA >\n    a String CODEC()\n", SL_ESCHEMA,
        "line 2, column 20: expected codecs inside CODEC(...)", 2, 20);
    bad("SCHEMA >\n    a String CODEC(LZ4\n", SL_ESCHEMA,
        "line 2, column 20: expected ')' to close CODEC(", 2, 20);
    bad("SCHEMA >\n    a String MATERIALIZED now()\n", SL_ESCHEMA,
        "line 2, column 14: MATERIALIZED is not supported in a column definition", 2, 14);
    bad("SCHEMA >\n    a String DEFAULT concat('a'\n", SL_ESCHEMA,
        "line 2, column 22: unbalanced '(' in the DEFAULT expression (missing ')')", 2, 22);
    bad("SCHEMA >\n    a String DEFAULT x)\n", SL_ESCHEMA,
        "line 2, column 23: unbalanced ')' in the DEFAULT expression", 2, 23);
    bad("SCHEMA >\n    a Array(String\n", SL_ESCHEMA,
        "line 2, column 7: unbalanced '(' in the type (missing ')')", 2, 7);
    bad("SCHEMA >\n    a String DEFAULT 'abc\n", SL_ESCHEMA,
        "line 2, column 22: unterminated string in the DEFAULT expression (quotes cannot span "
        "lines)",
        2, 22);
    bad("SCHEMA >\n    a Enum8('x = 1)\n", SL_ESCHEMA,
        "line 2, column 13: unterminated string in the type (quotes cannot span lines)", 2, 13);
    bad("SCHEMA >\n    a String `json:$.a` oops\n", SL_ESCHEMA,
        "line 2, column 25: expected ',' between columns, DEFAULT, CODEC(...) or a `json:` path "
        "after `a`",
        2, 25);
}

Test(datafile, errors_type_and_path)
{
    sl_datafile *df = (sl_datafile *)1;
    sl_error err = {0};
    int rc = sl_datafile_parse(SL_STR("SCHEMA >\n    `n` Strin `json:$.n`\n"), &df, &err);
    cr_expect_eq(rc, SL_ETYPE);
    cr_expect_null(df);
    cr_expect_eq(err.line, 2);
    cr_expect(strncmp(err.msg, "line 2, column ", 15) == 0, "%s", err.msg);
    cr_expect(strstr(err.msg, ": in the type of `n`: ") != NULL, "%s", err.msg);
    rc = sl_datafile_parse(SL_STR("SCHEMA >\n    `n` Array(UInt8 `json:$.n[:]`\n"), &df, &err);
    cr_expect_eq(rc, SL_ESCHEMA);
    rc = sl_datafile_parse(SL_STR("SCHEMA >\n    `n` String `json:n`\n"), &df, &err);
    cr_expect_eq(rc, SL_EPATH);
    cr_expect_eq(err.line, 2);
    cr_expect_eq(err.column, 22);
    cr_expect(strstr(err.msg, "line 2, column 22: in the `json:` path of `n`: ") == err.msg, "%s",
              err.msg);
    rc = sl_datafile_parse(SL_STR("SCHEMA >\n    `n` String `json:$.a b`\n"), &df, &err);
    cr_expect_eq(rc, SL_EPATH);
    cr_expect_eq(err.line, 2);
    rc = sl_datafile_parse(SL_STR("SCHEMA >\n    `n` String `json:`\n"), &df, &err);
    cr_expect_eq(rc, SL_EPATH);
    cr_expect_str_eq(err.msg, "line 2, column 16: empty `json:` path of `n`");
}

Test(datafile, errors_keys)
{
    static const char S[] = "SCHEMA >\n    a String\n";
    char text[512];
#define WITH(tail) (snprintf(text, sizeof(text), "%s%s", S, tail), text)
    bad(WITH("KAFKA_TOPIC \"t\"\n"), SL_ESCHEMA,
        "line 3, column 1: KAFKA_TOPIC: sluice has no Kafka connector; remove the KAFKA_* keys", 3,
        1);
    bad(WITH("IMPORT_SERVICE 's3'\n"), SL_ESCHEMA,
        "line 3, column 1: IMPORT_SERVICE: sluice has no import connectors; remove the IMPORT_* "
        "keys",
        3, 1);
    bad(WITH("TAGS \"web\"\n"), SL_ESCHEMA,
        "line 3, column 1: unknown key 'TAGS'; known: SCHEMA, DESCRIPTION, INDEXES, TOKEN, "
        "ENGINE, ENGINE_{SORTING_KEY, PARTITION_KEY, PRIMARY_KEY, TTL, SETTINGS, VER, SIGN, "
        "VERSION, IS_DELETED}",
        3, 1);
    bad(WITH("ENGINE \"Log\"\n"), SL_ESCHEMA,
        "line 3, column 9: ENGINE must be a MergeTree-family engine (MergeTree, "
        "ReplacingMergeTree, SummingMergeTree, AggregatingMergeTree, "
        "[Versioned]CollapsingMergeTree), not 'Log'",
        3, 9);
    bad(WITH("ENGINE ReplacingMergeTree(v)\n"), SL_ESCHEMA,
        "line 3, column 8: ENGINE must be a MergeTree-family engine (MergeTree, "
        "ReplacingMergeTree, SummingMergeTree, AggregatingMergeTree, "
        "[Versioned]CollapsingMergeTree), not 'ReplacingMergeTree(v)'",
        3, 8);
    bad(WITH("ENGINE_TTL \"a\"\nENGINE_TTL \"b\"\n"), SL_ESCHEMA,
        "line 4, column 1: ENGINE_TTL given twice (first on line 3)", 4, 1);
    bad(WITH("ENGINE_TTL\n"), SL_ESCHEMA, "line 3, column 11: expected a value after ENGINE_TTL", 3,
        11);
    bad(WITH("ENGINE_TTL \"\"\n"), SL_ESCHEMA,
        "line 3, column 12: expected a value after ENGINE_TTL", 3, 12);
    bad(WITH("ENGINE_TTL=\"x\"\n"), SL_ESCHEMA,
        "line 3, column 11: expected a space or '>' after ENGINE_TTL", 3, 11);
    bad(WITH("ENGINE \"MergeTree\"\n\n  x\n"), SL_ESCHEMA,
        "line 5, column 3: unexpected indented line outside a block (blocks start with a line "
        "like 'SCHEMA >')",
        5, 3);
    bad(WITH("\"ENGINE\" MergeTree\n"), SL_ESCHEMA,
        "line 3, column 1: expected a key such as SCHEMA or ENGINE", 3, 1);
    bad(WITH("TOKEN \"t\"\n"), SL_ESCHEMA,
        "line 3, column 10: expected APPEND or READ after the token name", 3, 10);
    bad(WITH("TOKEN \"t\" WRITE\n"), SL_ESCHEMA,
        "line 3, column 11: expected APPEND or READ after the token name", 3, 11);
    bad(WITH("TOKEN\n"), SL_ESCHEMA, "line 3, column 6: expected a token name after TOKEN", 3, 6);
    bad(WITH("TOKEN \"t APPEND\n"), SL_ESCHEMA,
        "line 3, column 7: unterminated token name (missing closing \")", 3, 7);
    bad(WITH("TOKEN \"a b\" APPEND\n"), SL_ESCHEMA,
        "line 3, column 7: a token name may hold only letters, digits and _ - . : @ /", 3, 7);
    bad(WITH("TOKEN t APPEND READ\n"), SL_ESCHEMA,
        "line 3, column 15: expected the end of the line after TOKEN ... APPEND", 3, 15);
    bad(WITH("TOKEN >\n  x\n"), SL_ESCHEMA,
        "line 3, column 7: TOKEN takes a name and APPEND or READ", 3, 7);
    bad(WITH("INDEXES idx a TYPE minmax GRANULARITY 1\n"), SL_ESCHEMA,
        "line 3, column 9: INDEXES takes an indented block: write 'INDEXES >' and one index per "
        "line",
        3, 9);
    bad(WITH("DESCRIPTION >\n  a\nDESCRIPTION >\n  b\n"), SL_ESCHEMA,
        "line 5, column 1: DESCRIPTION given twice", 5, 1);
    bad(WITH("INDEXES >\n  a\nINDEXES >\n  b\n"), SL_ESCHEMA,
        "line 5, column 1: INDEXES given twice", 5, 1);
    bad("SCHEMA >\n    a String\x01\n", SL_ESCHEMA,
        "line 2, column 13: unexpected control byte 0x01", 2, 13);
#undef WITH
    /* A NUL byte inside the slice is an error, not the end of the text. */
    sl_datafile *df = (sl_datafile *)1;
    sl_error err = {0};
    cr_expect_eq(sl_datafile_parse((sl_str){"SCHEMA >\n a String\n\0", 20}, &df, &err), SL_ESCHEMA);
    cr_expect_null(df);
    cr_expect_str_eq(err.msg, "line 3, column 1: unexpected control byte 0x00");
}

Test(datafile, print_canonical)
{
    sl_datafile *df = parse_ok("ENGINE_TTL ts + toIntervalDay(1)\n"
                               "engine ReplacingMergeTree\n"
                               "ENGINE_VER 'v'\n"
                               "SCHEMA >\n"
                               "  ts datetime64(3, 'UTC') CODEC(Delta, ZSTD) DEFAULT now64() "
                               "`json:$.ts`,\n"
                               "  v UInt64,\n"
                               "  `lc` LowCardinality(Nullable(String))\n"
                               "TOKEN a READ\n"
                               "INDEXES >\n"
                               "  i1 v TYPE minmax GRANULARITY 1\n"
                               "DESCRIPTION >\n"
                               "  d\n");
    sl_buf b;
    print_df(df, &b);
    cr_expect_str_eq((const char *)b.data, "DESCRIPTION >\n"
                                           "    d\n"
                                           "\n"
                                           "TOKEN \"a\" READ\n"
                                           "\n"
                                           "SCHEMA >\n"
                                           "    `ts` DateTime64(3, 'UTC') `json:$.ts` DEFAULT "
                                           "now64() CODEC(Delta, ZSTD),\n"
                                           "    `v` UInt64,\n"
                                           "    `lc` LowCardinality(Nullable(String))\n"
                                           "\n"
                                           "INDEXES >\n"
                                           "    i1 v TYPE minmax GRANULARITY 1\n"
                                           "\n"
                                           "ENGINE \"ReplacingMergeTree\"\n"
                                           "ENGINE_TTL \"ts + toIntervalDay(1)\"\n"
                                           "ENGINE_VER \"v\"\n");
    EXPECT_STR(df->columns[0].type_text, "datetime64(3, 'UTC')");
    sl_buf_free(&b);
    round_trip(df);
    sl_datafile_free(df);
}

Test(datafile, print_buffer_cap)
{
    sl_datafile *df = parse_ok(gen_wide);
    sl_buf full;
    print_df(df, &full);
    for (size_t cap = 1; cap < full.len; cap += 37) {
        sl_buf b;
        sl_buf_init(&b, cap);
        cr_expect_eq(sl_datafile_print(df, &b), SL_ETOOBIG, "cap %zu", cap);
        sl_buf_free(&b);
    }
    sl_buf b;
    sl_buf_init(&b, full.len + 1); /* sl_buf_printf needs room for its NUL */
    cr_expect_eq(sl_datafile_print(df, &b), 0);
    cr_expect_eq(b.len, full.len);
    sl_buf_free(&b);
    sl_buf_free(&full);
    sl_datafile_free(df);
}
