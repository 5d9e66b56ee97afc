/* Schema inference: every rule of docs/inference.md with the exact .datasource text expected, and
 * for each the contract with the rest of the pipeline: the file parses, prints back the same,
 * builds a converter, and converting the same body accepts every row the inference read. */
#include "sl_convert.h"
#include "sl_infer.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#define ENGINE_TUPLE     "\nENGINE \"MergeTree\"\nENGINE_SORTING_KEY \"tuple()\"\n"
#define ENGINE_SORT(col) "\nENGINE \"MergeTree\"\nENGINE_SORTING_KEY \"" col "\"\n"

static char issues[4096];

static void on_issue(void *ud, const sl_convert_issue *is)
{
    (void)ud;
    size_t n = strlen(issues);
    snprintf(issues + n, sizeof(issues) - n, "%llu:%.*s:%.*s\n", (unsigned long long)is->line,
             (int)is->column.len, is->column.ptr, (int)is->message.len, is->message.ptr);
}

/* Parses, prints and compiles the inferred file, converts `body` with it, and checks that the
 * converter accepts every row the inference read and quarantines only the rows it skipped. */
static void round_trip(const char *text, size_t text_len, sl_str body, const sl_infer_stats *st)
{
    sl_datafile *df = NULL;
    sl_error err = {0};
    int rc = sl_datafile_parse((sl_str){text, text_len}, &df, &err);
    cr_assert_eq(rc, 0, "the inferred file does not parse: %s\n%.*s", err.msg, (int)text_len, text);
    sl_buf printed;
    sl_buf_init(&printed, 0);
    cr_assert_eq(sl_datafile_print(df, &printed), 0);
    cr_assert(printed.len == text_len && memcmp(printed.data, text, text_len) == 0,
              "not in canonical form; printed:\n%.*s", (int)printed.len, (char *)printed.data);
    sl_buf_free(&printed);

    sl_converter *conv = NULL;
    rc = sl_converter_new(df, &conv, &err);
    cr_assert_eq(rc, 0, "the inferred file does not build a converter: %s", err.msg);
    sl_convert_state *cs = sl_convert_state_new();
    sl_buf rows, q;
    sl_buf_init(&rows, 0);
    sl_buf_init(&q, 0);
    sl_convert_stats cst = {0};
    issues[0] = '\0';
    sl_convert_options copt = {.first_line = 1, .report = on_issue};
    cr_assert_eq(sl_convert(conv, cs, body, &copt, &rows, &q, &cst), 0);
    if (!st->row_limit) {
        cr_assert_eq(cst.rows, st->rows, "converter accepted %llu of %llu rows:\n%s",
                     (unsigned long long)cst.rows, (unsigned long long)st->rows, issues);
        cr_assert_eq(cst.quarantined, st->skipped, "quarantined %llu, inference skipped %llu:\n%s",
                     (unsigned long long)cst.quarantined, (unsigned long long)st->skipped, issues);
    }
    sl_buf_free(&rows);
    sl_buf_free(&q);
    sl_convert_state_free(cs);
    sl_converter_free(conv);
    sl_datafile_free(df);
}

static size_t count_columns(const char *text)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, "`json:")) != NULL; p++)
        n++;
    return n;
}

static void infer_opts(const char *body, size_t len, const sl_infer_options *opt,
                       const char *expected, sl_infer_stats *st_out)
{
    sl_buf out;
    sl_buf_init(&out, 0);
    sl_infer_stats st;
    sl_error err = {0};
    sl_str b = {body, len};
    int rc = sl_infer_datasource(b, opt, &out, &st, &err);
    cr_assert_eq(rc, 0, "sl_infer_datasource: %d %s", rc, err.msg);
    cr_assert(out.len == strlen(expected) && memcmp(out.data, expected, out.len) == 0,
              "expected:\n%s\ngot:\n%.*s", expected, (int)out.len, (char *)out.data);
    cr_assert_eq(st.columns, count_columns(expected));
    round_trip((const char *)out.data, out.len, b, &st);
    if (st_out)
        *st_out = st;
    sl_buf_free(&out);
}

static void infer_eq(const char *body, const char *expected)
{
    infer_opts(body, strlen(body), NULL, expected, NULL);
}

/* ---- the generator's datasets (rows from gen_events.py, embedded) ---- */

Test(infer, web_rows)
{
    infer_eq(
        "{\"timestamp\":\"2026-01-01T00:00:00.654Z\",\"session_id\":\"46685257-bdd6-40fb-0667-"
        "1ad11c80317f\",\"action\":\"click\",\"version\":\"1\",\"payload\":{\"user-agent\":"
        "\"Mozilla/5.0\",\"locale\":\"pt-BR\",\"location\":\"ES\",\"referrer\":\"https://"
        "news.ycombinator.com/\",\"pathname\":\"/blog/post-380\",\"href\":\"https://example.com/"
        "blog/post-457?utm_source=x&q=caf\xc3\xa9\"},\"user_id\":96831611957,\"duration_ms\":"
        "2952.463,\"tags\":[]}\n"
        "{\"timestamp\":\"2026-03-03T02:14:26.777Z\",\"session_id\":\"6c307511-b2b9-437a-28df-"
        "6ec4ce4a2bbd\",\"action\":\"signup\",\"version\":\"1\",\"payload\":{\"user-agent\":"
        "\"Mozilla/5.0 (X11)\",\"locale\":\"es-ES\",\"location\":\"DE\",\"referrer\":\"\","
        "\"pathname\":\"/blog/post-48\",\"href\":\"https://example.com/\"},\"user_id\":"
        "391257417624,\"duration_ms\":4237,\"tags\":[\"a\",\"b\",\"c\",\"d\"]}\n",
        "SCHEMA >\n"
        "    `timestamp` DateTime64(3) `json:$.timestamp`,\n"
        "    `session_id` String `json:$.session_id`,\n"
        "    `action` String `json:$.action`,\n"
        "    `version` String `json:$.version`,\n"
        "    `payload_user_agent` String `json:$.payload.user-agent`,\n"
        "    `payload_locale` String `json:$.payload.locale`,\n"
        "    `payload_location` String `json:$.payload.location`,\n"
        "    `payload_referrer` String `json:$.payload.referrer`,\n"
        "    `payload_pathname` String `json:$.payload.pathname`,\n"
        "    `payload_href` String `json:$.payload.href`,\n"
        "    `user_id` Int64 `json:$.user_id`,\n"
        "    `duration_ms` Float64 `json:$.duration_ms`,\n"
        "    `tags` Array(String) `json:$.tags[:]`\n" ENGINE_SORT("timestamp"));
}

Test(infer, arrays_rows)
{
    infer_eq("{\"id\":0,\"ints\":[-766522,555144],\"words\":[\"x\",\"q\\\"q\"],\"matrix\":[[0.44,"
             "0.27]],\"counters\":{\"k0\":865241839,\"k1\":171432881},\"pair\":{\"a\":19,\"b\":"
             "\"s3\"},\"items\":[{\"sku\":\"SKU-105\",\"price\":47.28,\"qty\":1}]}\n"
             "{\"id\":2,\"ints\":[837876],\"words\":[\"z\xc3\xa9\"],\"matrix\":[[0.5,0.09,0.04],"
             "[1,2,3]],\"counters\":{},\"pair\":{\"a\":19,\"b\":\"s2\"},\"items\":[]}\n",
             "SCHEMA >\n"
             "    `id` Int64 `json:$.id`,\n"
             "    `ints` Array(Int64) `json:$.ints[:]`,\n"
             "    `words` Array(String) `json:$.words[:]`,\n"
             "    `matrix` Array(Array(Float64)) `json:$.matrix[:][:]`,\n"
             "    `counters_k0` Nullable(Int64) `json:$.counters.k0`,\n"
             "    `counters_k1` Nullable(Int64) `json:$.counters.k1`,\n"
             "    `pair_a` Int64 `json:$.pair.a`,\n"
             "    `pair_b` String `json:$.pair.b`,\n"
             "    `items` String `json:$.items`\n" ENGINE_TUPLE);
}

Test(infer, small_rows)
{
    infer_eq("{\"timestamp\":\"2026-01-01T00:00:00Z\",\"action\":\"web_vital\",\"n\":0}\n"
             "{\"timestamp\":\"2026-02-02T01:07:13Z\",\"action\":\"page_hit\",\"n\":1}\n"
             "{\"timestamp\":\"2026-03-03T02:14:26Z\",\"action\":\"page_hit\",\"n\":2}\n",
             "SCHEMA >\n"
             "    `timestamp` DateTime `json:$.timestamp`,\n"
             "    `action` String `json:$.action`,\n"
             "    `n` Int64 `json:$.n`\n" ENGINE_SORT("timestamp"));
}

/* ---- numbers, booleans, mixed kinds ---- */

Test(infer, numbers)
{
    infer_eq("{\"i\":1,\"f\":1.5,\"m\":1,\"e\":1e3,\"neg\":-0,\"u\":9223372036854775808,"
             "\"un\":9223372036854775808,\"big\":18446744073709551616,\"inf\":1e400,"
             "\"digits\":1}\n"
             "{\"i\":-7,\"f\":-2.25,\"m\":2.5,\"e\":2,\"neg\":3,\"u\":18446744073709551615,"
             "\"un\":-1,\"big\":1,\"inf\":2,"
             "\"digits\":"
             "1000000000000000000000000000000000000000000000000000000000000000000000000000000000"
             "000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
             "000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
             "00000000000000000000000000000000000000000000000000000000000000000000000000000000}\n",
             "SCHEMA >\n"
             "    `i` Int64 `json:$.i`,\n"
             "    `f` Float64 `json:$.f`,\n"
             "    `m` Float64 `json:$.m`,\n"
             "    `e` Float64 `json:$.e`,\n"
             "    `neg` Int64 `json:$.neg`,\n"
             "    `u` UInt64 `json:$.u`,\n"
             "    `un` Float64 `json:$.un`,\n"
             "    `big` Float64 `json:$.big`,\n"
             "    `inf` String `json:$.inf`,\n"
             "    `digits` String `json:$.digits`\n" ENGINE_TUPLE);
}

Test(infer, uint64_refuses_minus_zero)
{
    /* UInt64 refuses "-0", so a column holding it and 2^63 is Float64. */
    infer_eq("{\"u\":9223372036854775808}\n{\"u\":-0}\n",
             "SCHEMA >\n    `u` Float64 `json:$.u`\n" ENGINE_TUPLE);
}

Test(infer, booleans_and_mixed_kinds)
{
    infer_eq("{\"b\":true,\"bi\":true,\"sn\":\"x\",\"ds\":\"2024-01-01\",\"so\":\"x\"}\n"
             "{\"b\":false,\"bi\":1,\"sn\":2,\"ds\":\"tomorrow\",\"so\":{\"a\":1}}\n",
             "SCHEMA >\n"
             "    `b` Bool `json:$.b`,\n"
             "    `bi` String `json:$.bi`,\n"
             "    `sn` String `json:$.sn`,\n"
             "    `ds` String `json:$.ds`,\n"
             "    `so` String `json:$.so`\n" ENGINE_TUPLE);
}

/* ---- dates and date-times ---- */

Test(infer, date_times)
{
    infer_eq(
        "{\"dt\":\"2024-01-31T10:00:00Z\",\"dt64\":\"2024-01-31 10:00:00.5\",\"mix\":\"2024-01-31"
        "\",\"off\":\"2024-01-31T10:00:00+05:30\",\"old\":\"1960-01-01 00:00:00\",\"far\":"
        "\"2024-01-31\",\"d\":\"2024-01-31\",\"d32\":\"1960-06-01\",\"d_old\":\"1850-01-01\"}\n"
        "{\"dt\":\"2024-02-01 00:00\",\"dt64\":\"2024-01-31T10:00:00.123456789+01:00\",\"mix\":"
        "\"2024-01-31T12:00:00\",\"off\":\"2024-01-31 10:00:00 -0800\",\"old\":\"2024-01-31 "
        "00:00:00\",\"far\":\"2200-01-01 00:00:00\",\"d\":\"2149-06-06\",\"d32\":\"2024-01-01\","
        "\"d_old\":\"2024-01-01\"}\n",
        "SCHEMA >\n"
        "    `dt` DateTime `json:$.dt`,\n"
        "    `dt64` DateTime64(3) `json:$.dt64`,\n"
        "    `mix` DateTime `json:$.mix`,\n"
        "    `off` DateTime `json:$.off`,\n"
        "    `old` DateTime64(3) `json:$.old`,\n"
        "    `far` DateTime64(3) `json:$.far`,\n"
        "    `d` Date `json:$.d`,\n"
        "    `d32` Date32 `json:$.d32`,\n"
        "    `d_old` String `json:$.d_old`\n" ENGINE_SORT("dt"));
}

Test(infer, strings_that_are_not_dates)
{
    /* Epoch digits and compact forms would parse as date-times; they stay strings. Invalid
     * fields, lower-case 't', spaces around and dates past DateTime64's range also do. */
    infer_eq("{\"epoch\":\"1700000000\",\"compact\":\"20240131\",\"feb30\":\"2024-02-30\","
             "\"lower\":\"2024-01-31t10:00:00\",\"space\":\" 2024-01-31\",\"y3000\":\"3000-01-01 "
             "00:00:00\",\"hour25\":\"2024-01-31 25:00:00\"}\n",
             "SCHEMA >\n"
             "    `epoch` String `json:$.epoch`,\n"
             "    `compact` String `json:$.compact`,\n"
             "    `feb30` String `json:$.feb30`,\n"
             "    `lower` String `json:$.lower`,\n"
             "    `space` String `json:$.space`,\n"
             "    `y3000` String `json:$.y3000`,\n"
             "    `hour25` String `json:$.hour25`\n" ENGINE_TUPLE);
}

Test(infer, escaped_date_string)
{
    /* The date encoders refuse escapes in the text (as ClickHouse does): a String column. */
    infer_eq("{\"d\":\"2024\\u002d01-31\"}\n",
             "SCHEMA >\n    `d` String `json:$.d`\n" ENGINE_TUPLE);
}

Test(infer, sorting_key_skips_nullable_date_times)
{
    infer_eq(
        "{\"a\":\"2024-01-31 10:00:00\",\"b\":\"2024-01-31\",\"c\":\"2024-01-31 10:00:00.1\"}\n"
        "{\"b\":\"2024-01-31\",\"c\":\"2024-01-31 10:00:00\"}\n",
        "SCHEMA >\n"
        "    `a` Nullable(DateTime) `json:$.a`,\n"
        "    `b` Date `json:$.b`,\n"
        "    `c` DateTime64(3) `json:$.c`\n" ENGINE_SORT("c"));
}

/* ---- arrays ---- */

Test(infer, arrays)
{
    infer_eq("{\"i\":[1,2],\"f\":[1,2.5],\"s\":[\"a\"],\"b\":[true],\"d\":[\"2024-01-01\"],"
             "\"n\":[1,null],\"e\":[],\"nulls\":[null],\"mixed\":[1,\"a\"],\"objs\":[{\"a\":1}],"
             "\"nested\":[[1],[2,3]],\"nested_e\":[[]],\"nn\":[[1],null],\"ts\":[\"2024-01-01 "
             "10:00:00.25\"]}\n"
             "{\"i\":[],\"f\":[3],\"s\":[],\"b\":[],\"d\":[],\"n\":[],\"e\":[],\"nulls\":[],"
             "\"mixed\":[],\"objs\":[],\"nested\":[[],[4]],\"nested_e\":[],\"nn\":[],\"ts\":[]}\n",
             "SCHEMA >\n"
             "    `i` Array(Int64) `json:$.i[:]`,\n"
             "    `f` Array(Float64) `json:$.f[:]`,\n"
             "    `s` Array(String) `json:$.s[:]`,\n"
             "    `b` Array(Bool) `json:$.b[:]`,\n"
             "    `d` Array(Date) `json:$.d[:]`,\n"
             "    `n` Array(Nullable(Int64)) `json:$.n[:]`,\n"
             "    `e` Array(String) `json:$.e[:]`,\n"
             "    `nulls` Array(Nullable(String)) `json:$.nulls[:]`,\n"
             "    `mixed` String `json:$.mixed`,\n"
             "    `objs` String `json:$.objs`,\n"
             "    `nested` Array(Array(Int64)) `json:$.nested[:][:]`,\n"
             "    `nested_e` Array(Array(String)) `json:$.nested_e[:][:]`,\n"
             "    `nn` String `json:$.nn`,\n"
             "    `ts` Array(DateTime64(3)) `json:$.ts[:]`\n" ENGINE_TUPLE);
}

Test(infer, arrays_are_never_nullable)
{
    infer_eq("{\"t\":[\"a\"],\"u\":[1]}\n{\"t\":null}\n{}\n",
             "SCHEMA >\n"
             "    `t` Array(String) `json:$.t[:]`,\n"
             "    `u` Array(Int64) `json:$.u[:]`\n" ENGINE_TUPLE);
}

Test(infer, array_depth)
{
    infer_eq("{\"four\":[[[[1]]]],\"five\":[[[[[1]]]]]}\n",
             "SCHEMA >\n"
             "    `four` Array(Array(Array(Array(Int64)))) `json:$.four[:][:][:][:]`,\n"
             "    `five` String `json:$.five`\n" ENGINE_TUPLE);
}

Test(infer, array_and_scalar_mix)
{
    infer_eq("{\"a\":[1]}\n{\"a\":1}\n{\"a\":null}\n",
             "SCHEMA >\n    `a` Nullable(String) `json:$.a`\n" ENGINE_TUPLE);
}

/* ---- absence ---- */

Test(infer, nullable_when_missing_or_null)
{
    infer_eq("{\"a\":1,\"b\":\"x\",\"c\":null,\"d\":true,\"p\":{\"q\":1}}\n"
             "{\"a\":2,\"b\":null,\"c\":null}\n"
             "{\"a\":3,\"p\":null,\"d\":false}\n",
             "SCHEMA >\n"
             "    `a` Int64 `json:$.a`,\n"
             "    `b` Nullable(String) `json:$.b`,\n"
             "    `c` Nullable(String) `json:$.c`,\n"
             "    `d` Nullable(Bool) `json:$.d`,\n"
             "    `p_q` Nullable(Int64) `json:$.p.q`\n" ENGINE_TUPLE);
}

/* ---- objects ---- */

Test(infer, nested_objects_and_depth)
{
    infer_eq("{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":1},\"x\":1}}},\"o\":{\"p\":[1],\"q\":{}}}\n",
             "SCHEMA >\n"
             "    `a_b_c_d` String `json:$.a.b.c.d`,\n"
             "    `a_b_c_x` Int64 `json:$.a.b.c.x`,\n"
             "    `o_p` Array(Int64) `json:$.o.p[:]`,\n"
             "    `o_q` String `json:$.o.q`\n" ENGINE_TUPLE);
}

Test(infer, object_mixed_with_scalar)
{
    infer_eq("{\"a\":{\"b\":1},\"z\":1}\n{\"a\":\"text\",\"z\":2}\n",
             "SCHEMA >\n"
             "    `a` String `json:$.a`,\n"
             "    `z` Int64 `json:$.z`\n" ENGINE_TUPLE);
}

Test(infer, empty_object_only)
{
    infer_eq("{\"meta\":{}}\n{}\n",
             "SCHEMA >\n    `meta` Nullable(String) `json:$.meta`\n" ENGINE_TUPLE);
}

Test(infer, column_order_is_first_appearance)
{
    infer_eq("{\"b\":1,\"o\":{\"x\":1}}\n{\"a\":1,\"o\":{\"y\":2},\"b\":2}\n",
             "SCHEMA >\n"
             "    `b` Int64 `json:$.b`,\n"
             "    `o_x` Nullable(Int64) `json:$.o.x`,\n"
             "    `o_y` Nullable(Int64) `json:$.o.y`,\n"
             "    `a` Nullable(Int64) `json:$.a`\n" ENGINE_TUPLE);
}

/* ---- names and paths ---- */

Test(infer, names_and_paths)
{
    infer_eq("{\"user-agent\":1,\"a.b\":2,\"it's\":3,\"back\\\\slash\":4,\"1st\":5,\"\":6,"
             "\"caf\xc3\xa9\":7,\"sp ace\":8,\"o\":{\"\":9,\"2\":10}}\n",
             "SCHEMA >\n"
             "    `user_agent` Int64 `json:$.user-agent`,\n"
             "    `a_b` Int64 `json:$.['a.b']`,\n"
             "    `it_s` Int64 `json:$.['it\\'s']`,\n"
             "    `back_slash` Int64 `json:$.['back\\\\slash']`,\n"
             "    `_1st` Int64 `json:$.1st`,\n"
             "    `_empty` Int64 `json:$.['']`,\n"
             "    `caf__` Int64 `json:$.['caf\xc3\xa9']`,\n"
             "    `sp_ace` Int64 `json:$.['sp ace']`,\n"
             "    `o__empty` Int64 `json:$.o.['']`,\n"
             "    `o_2` Int64 `json:$.o.2`\n" ENGINE_TUPLE);
}

Test(infer, name_collisions_and_reserved_names)
{
    infer_eq(
        "{\"a_b\":1,\"a\":{\"b\":2},\"a-b\":3,\"a_b_2\":4,\"insertion_date\":5,\"c__raw\":6}\n",
        "SCHEMA >\n"
        "    `a_b` Int64 `json:$.a_b`,\n"
        "    `a_b_2` Int64 `json:$.a.b`,\n"
        "    `a_b_3` Int64 `json:$.a-b`,\n"
        "    `a_b_2_2` Int64 `json:$.a_b_2`,\n"
        "    `insertion_date_2` Int64 `json:$.insertion_date`,\n"
        "    `c__raw_2` Int64 `json:$.c__raw`\n" ENGINE_TUPLE);
}

Test(infer, escaped_keys_are_decoded)
{
    infer_eq("{\"\\u0061\":1}\n{\"a\":2}\n", "SCHEMA >\n    `a` Int64 `json:$.a`\n" ENGINE_TUPLE);
}

Test(infer, unusable_keys_are_left_out)
{
    sl_infer_stats st;
    const char *body = "{\"a`b\":1,\"new\\nline\":2,\"ok\":3,\"del\x7f\":4}\n";
    infer_opts(body, strlen(body), NULL, "SCHEMA >\n    `ok` Int64 `json:$.ok`\n" ENGINE_TUPLE,
               &st);
    cr_assert_eq(st.unusable_keys, 3);
}

Test(infer, long_names_are_cut)
{
    char body[400], expected[800];
    char key[301];
    memset(key, 'k', 300);
    key[300] = '\0';
    snprintf(body, sizeof(body), "{\"%s\":1}", key);
    snprintf(expected, sizeof(expected), "SCHEMA >\n    `%.120s` Int64 `json:$.%s`\n" ENGINE_TUPLE,
             key, key);
    infer_eq(body, expected);
}

/* ---- limits ---- */

Test(infer, column_limit)
{
    sl_infer_options opt = {.max_columns = 2};
    sl_infer_stats st;
    const char *body = "{\"a\":1,\"o\":{\"x\":1,\"y\":2},\"b\":3}\n";
    infer_opts(body, strlen(body), &opt,
               "SCHEMA >\n"
               "    `a` Int64 `json:$.a`,\n"
               "    `o_x` Int64 `json:$.o.x`\n" ENGINE_TUPLE,
               &st);
    cr_assert(st.column_limit);
}

Test(infer, row_limit)
{
    sl_infer_options opt = {.max_rows = 2};
    sl_infer_stats st;
    const char *body = "{\"a\":1}\nnot json\n{\"a\":2}\n{\"a\":\"x\",\"b\":1}\n";
    infer_opts(body, strlen(body), &opt, "SCHEMA >\n    `a` Int64 `json:$.a`\n" ENGINE_TUPLE, &st);
    cr_assert_eq(st.rows, 2);
    cr_assert_eq(st.skipped, 1);
    cr_assert(st.row_limit);

    const char *arr = "[{\"a\":1},{\"a\":2},{\"a\":\"x\"}]";
    infer_opts(arr, strlen(arr), &opt, "SCHEMA >\n    `a` Int64 `json:$.a`\n" ENGINE_TUPLE, &st);
    cr_assert(st.row_limit);

    const char *exact = "{\"a\":1}\n{\"a\":2}\n\n";
    infer_opts(exact, strlen(exact), &opt, "SCHEMA >\n    `a` Int64 `json:$.a`\n" ENGINE_TUPLE,
               &st);
    cr_assert(!st.row_limit);
}

/* ---- body forms ---- */

Test(infer, body_forms)
{
    const char *expected = "SCHEMA >\n"
                           "    `a` Int64 `json:$.a`,\n"
                           "    `b` Nullable(String) `json:$.b`\n" ENGINE_TUPLE;
    sl_infer_stats st;
    const char *arr = "[{\"a\":1,\"b\":\"x\"}, 5, {\"a\":2}]\n";
    infer_opts(arr, strlen(arr), NULL, expected, &st);
    cr_assert_eq(st.rows, 2);
    cr_assert_eq(st.skipped, 1);

    const char *pretty = "{\n  \"a\": 1,\n  \"b\": \"x\"\n}\n{\"a\":2}";
    infer_opts(pretty, strlen(pretty), NULL, expected, &st);
    cr_assert_eq(st.rows, 2);

    const char *crlf = "\xEF\xBB\xBF{\"a\":1,\"b\":\"x\"}\r\n\r\n  \r\n{\"a\":2}\r\n";
    infer_opts(crlf, strlen(crlf), NULL, expected, &st);
    cr_assert_eq(st.rows, 2);
    cr_assert_eq(st.skipped, 0);
}

Test(infer, invalid_rows_are_skipped)
{
    sl_infer_stats st;
    const char *body = "{\"a\":1}\n{\"a\":tru}\n[1,2\n\"str\"\n{\"a\":2} x\n{\"a\":3}\n";
    infer_opts(body, strlen(body), NULL, "SCHEMA >\n    `a` Int64 `json:$.a`\n" ENGINE_TUPLE, &st);
    cr_assert_eq(st.rows, 1);
    cr_assert_eq(st.skipped, 4);
}

Test(infer, single_object_without_newline)
{
    infer_eq("{\"x\":1.5}", "SCHEMA >\n    `x` Float64 `json:$.x`\n" ENGINE_TUPLE);
}

/* ---- errors ---- */

Test(infer, no_rows)
{
    const char *bodies[] = {"", "\n\n", "not json\n", "[1,2]", "5\n\"x\"\n", "[]"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        sl_buf out;
        sl_buf_init(&out, 0);
        sl_error err = {0};
        int rc = sl_infer_datasource(sl_str_from_cstr(bodies[i]), NULL, &out, NULL, &err);
        cr_assert_eq(rc, SL_EVALUE, "body %zu", i);
        cr_assert(err.msg && strstr(err.msg, "no row"), "%s", err.msg);
        cr_assert_eq(out.len, 0);
        sl_buf_free(&out);
    }
}

Test(infer, no_columns)
{
    const char *bodies[] = {"{}\n{}\n", "{\"a`b\":1}", "[{}]"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        sl_buf out;
        sl_buf_init(&out, 0);
        sl_error err = {0};
        sl_infer_stats st;
        int rc = sl_infer_datasource(sl_str_from_cstr(bodies[i]), NULL, &out, &st, &err);
        cr_assert_eq(rc, SL_EVALUE, "body %zu", i);
        cr_assert(err.msg && strstr(err.msg, "no column"), "%s", err.msg);
        cr_assert_eq(out.len, 0);
        cr_assert_eq(st.columns, 0);
        sl_buf_free(&out);
    }
}

Test(infer, output_cap_leaves_out_unchanged)
{
    sl_buf out;
    sl_buf_init(&out, 40);
    sl_buf_append_cstr(&out, "keep");
    sl_error err = {0};
    int rc = sl_infer_datasource(SL_STR("{\"a_long_key_name\":1}"), NULL, &out, NULL, &err);
    cr_assert_eq(rc, SL_ETOOBIG);
    cr_assert_eq(out.len, 4);
    sl_buf_free(&out);
}

Test(infer, duplicate_keys_are_the_documented_exception)
{
    /* The inference reads both values; the converter refuses the row (as ClickHouse does). */
    sl_buf out;
    sl_buf_init(&out, 0);
    sl_infer_stats st;
    const char *body = "{\"a\":1,\"a\":2}\n{\"a\":3}\n";
    cr_assert_eq(sl_infer_datasource(sl_str_from_cstr(body), NULL, &out, &st, NULL), 0);
    cr_assert_eq(st.rows, 2);
    const char *expected = "SCHEMA >\n    `a` Int64 `json:$.a`\n" ENGINE_TUPLE;
    cr_assert(out.len == strlen(expected) && memcmp(out.data, expected, out.len) == 0);
    sl_buf_free(&out);
}
