/* Converter: body forms, path tree, absence rules, quarantine rows and their messages, with the
 * exact RowBinary bytes expected. */
#include "sl_convert.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    sl_datafile *df;
    sl_converter *conv;
    sl_convert_state *st;
    sl_buf rows, q;
    sl_convert_stats stats;
    char issues[4096]; /* "line:column:message\n" per issue */
} fixture;

static void on_issue(void *ud, const sl_convert_issue *is)
{
    fixture *f = ud;
    size_t n = strlen(f->issues);
    snprintf(f->issues + n, sizeof(f->issues) - n, "%llu:%.*s:%.*s\n", (unsigned long long)is->line,
             (int)is->column.len, is->column.ptr, (int)is->message.len, is->message.ptr);
}

static void open_schema(fixture *f, const char *schema)
{
    memset(f, 0, sizeof(*f));
    sl_error err = {0};
    int rc = sl_datafile_parse(sl_str_from_cstr(schema), &f->df, &err);
    cr_assert_eq(rc, 0, "schema: %s", err.msg);
    rc = sl_converter_new(f->df, &f->conv, &err);
    cr_assert_eq(rc, 0, "converter: %s", err.msg);
    f->st = sl_convert_state_new();
    sl_buf_init(&f->rows, 0);
    sl_buf_init(&f->q, 0);
}

static void close_schema(fixture *f)
{
    sl_buf_free(&f->rows);
    sl_buf_free(&f->q);
    sl_convert_state_free(f->st);
    sl_converter_free(f->conv);
    sl_datafile_free(f->df);
}

static void run(fixture *f, const char *body, size_t len)
{
    sl_convert_options opt = {.first_line = 1, .report = on_issue, .report_ud = f};
    int rc = sl_convert(f->conv, f->st, (sl_str){body, len}, &opt, &f->rows, &f->q, &f->stats);
    cr_assert_eq(rc, 0, "sl_convert: %d", rc);
}

static void run_cstr(fixture *f, const char *body)
{
    run(f, body, strlen(body));
}

static void expect_bytes(const sl_buf *b, const char *want, size_t n)
{
    char got[1024] = "", exp[1024] = "";
    for (size_t i = 0; i < b->len && i < 300; i++)
        sprintf(got + strlen(got), "%02x ", b->data[i]);
    for (size_t i = 0; i < n && i < 300; i++)
        sprintf(exp + strlen(exp), "%02x ", (unsigned char)want[i]);
    cr_assert(b->len == n && memcmp(b->data, want, n) == 0, "got  %s\nwant %s", got, exp);
}

#define EXPECT_BYTES(buf, lit) expect_bytes((buf), (lit), sizeof(lit) - 1)

static const char *simple_schema = "SCHEMA >\n"
                                   "    `name` String `json:$.name`,\n"
                                   "    `n` UInt8 `json:$.n`\n";

Test(convert, simple_rows)
{
    fixture f;
    open_schema(&f, simple_schema);
    run_cstr(&f, "{\"name\":\"ab\",\"n\":7}\n{\"n\":8,\"name\":\"\"}\n");
    cr_assert_eq(f.stats.rows, 2);
    cr_assert_eq(f.stats.quarantined, 0);
    cr_assert_eq(f.stats.lines, 2);
    EXPECT_BYTES(&f.rows, "\x00\x02"
                          "ab\x00\x07"
                          "\x00\x00\x00\x08");
    close_schema(&f);
}

Test(convert, body_forms)
{
    fixture f;
    open_schema(&f, simple_schema);
    /* CRLF, blank lines, whitespace-only lines, no final newline */
    run_cstr(&f,
             "{\"name\":\"a\",\"n\":1}\r\n\r\n   \n\t{\"name\":\"b\",\"n\":2} \r\n{\"name\":\"c\","
             "\"n\":3}");
    cr_assert_eq(f.stats.rows, 3);
    cr_assert_eq(f.stats.quarantined, 0);
    cr_assert_eq(f.stats.lines, 5);
    EXPECT_BYTES(&f.rows, "\x00\x01"
                          "a\x00\x01"
                          "\x00\x01"
                          "b\x00\x02"
                          "\x00\x01"
                          "c\x00\x03");
    close_schema(&f);
}

Test(convert, array_body_and_single_object)
{
    fixture f;
    open_schema(&f, simple_schema);
    run_cstr(&f, "[{\"name\":\"a\",\"n\":1},\n {\"name\":\"b\",\"n\":2}]\n");
    cr_assert_eq(f.stats.rows, 2);
    run_cstr(&f, "{\n  \"name\": \"c\",\n  \"n\": 3\n}\n");
    cr_assert_eq(f.stats.rows, 3);
    cr_assert_eq(f.stats.quarantined, 0);
    EXPECT_BYTES(&f.rows, "\x00\x01"
                          "a\x00\x01"
                          "\x00\x01"
                          "b\x00\x02"
                          "\x00\x01"
                          "c\x00\x03");
    close_schema(&f);
}

Test(convert, truncated_array_body)
{
    fixture f;
    open_schema(&f, simple_schema);
    run_cstr(&f, "[{\"name\":\"a\",\"n\":1},{\"name\":\"b\",\"n\":2");
    cr_assert_eq(f.stats.rows, 1);
    cr_assert_eq(f.stats.quarantined, 1);
    cr_assert(strncmp(f.issues, "1::invalid JSON at byte ", 24) == 0, "%s", f.issues);
    close_schema(&f);
}

Test(convert, broken_array_line_is_one_bad_line)
{
    fixture f;
    open_schema(&f, simple_schema);
    run_cstr(&f, "[bad\n{\"name\":\"a\",\"n\":1}\n");
    cr_assert_eq(f.stats.rows, 1);
    cr_assert_eq(f.stats.quarantined, 1);
    cr_assert(strncmp(f.issues, "1::invalid JSON at byte 1", 25) == 0, "%s", f.issues);
    /* c__raw is the whole first line, '[' included */
    cr_assert(memcmp(f.q.data + f.q.len - 5, "\x04[bad", 5) == 0);
    close_schema(&f);
}

Test(convert, array_element_not_object)
{
    fixture f;
    open_schema(&f, simple_schema);
    run_cstr(&f, "[{\"name\":\"a\",\"n\":1}, 5, {\"name\":\"b\",\"n\":2}]");
    cr_assert_eq(f.stats.rows, 2);
    cr_assert_eq(f.stats.quarantined, 1);
    cr_assert_str_eq(f.issues, "1::a row must be a JSON object, got a number\n");
    close_schema(&f);
}

Test(convert, invalid_line_is_quarantined_alone)
{
    fixture f;
    open_schema(&f, simple_schema);
    run_cstr(&f, "{\"name\":\"a\",\"n\":1}\n{\"name\":\"b\",\n{\"name\":\"c\",\"n\":3}\n");
    cr_assert_eq(f.stats.rows, 2);
    cr_assert_eq(f.stats.quarantined, 1);
    cr_assert(strncmp(f.issues, "2::", 3) == 0, "%s", f.issues);
    /* quarantine row: one error with empty column, import id NULL, both columns NULL, raw line */
    const char *raw = "{\"name\":\"b\",";
    cr_assert_eq(f.q.data[0], 1); /* c__error_column has one element */
    cr_assert_eq(f.q.data[1], 0); /* ... the empty string */
    cr_assert_eq(f.q.data[2], 1); /* c__error has one element */
    size_t mlen = f.q.data[3];    /* message length (< 128 here) */
    size_t at = 4 + mlen;
    cr_assert_eq(f.q.data[at++], 1);           /* c__import_id NULL */
    cr_assert_eq(f.q.data[at++], 1);           /* name NULL (the row is not valid JSON) */
    cr_assert_eq(f.q.data[at++], 1);           /* n NULL */
    cr_assert_eq(f.q.data[at++], strlen(raw)); /* c__raw */
    cr_assert(memcmp(f.q.data + at, raw, strlen(raw)) == 0);
    cr_assert_eq(at + strlen(raw), f.q.len);
    close_schema(&f);
}

Test(convert, trailing_garbage_and_non_objects)
{
    fixture f;
    open_schema(&f, simple_schema);
    run_cstr(&f, "{\"name\":\"a\",\"n\":1} x\n\"str\"\nnull\n{\"name\":\"b\",\"n\":2}{}\n");
    cr_assert_eq(f.stats.rows, 0);
    cr_assert_eq(f.stats.quarantined, 4);
    cr_assert_str_eq(f.issues, "1::unexpected data after the row's closing '}'\n"
                               "2::a row must be a JSON object, got a string\n"
                               "3::a row must be a JSON object, got null\n"
                               "4::unexpected data after the row's closing '}'\n");
    close_schema(&f);
}

Test(convert, absence_rules)
{
    fixture f;
    open_schema(&f, "SCHEMA >\n"
                    "    `req` String `json:$.req`,\n"
                    "    `opt` Nullable(String) `json:$.opt`,\n"
                    "    `lc` LowCardinality(Nullable(String)) `json:$.lc`,\n"
                    "    `def` String `json:$.def` DEFAULT 'x',\n"
                    "    `arr` Array(String) `json:$.arr[:]`,\n"
                    "    `m` Map(String, String) `json:$.m`\n");
    run_cstr(&f,
             "{\"req\":\"r\"}\n{\"req\":\"r\",\"opt\":null,\"lc\":null,\"def\":null,\"arr\":null,"
             "\"m\":null}\n{\"opt\":\"o\"}\n{\"req\":null}\n");
    cr_assert_eq(f.stats.rows, 2);
    cr_assert_eq(f.stats.quarantined, 2);
    EXPECT_BYTES(&f.rows, "\x00\x01r"
                          "\x00\x01"
                          "\x00\x01"
                          "\x01"
                          "\x00\x00"
                          "\x00\x00"
                          "\x00\x01r"
                          "\x00\x01"
                          "\x00\x01"
                          "\x01"
                          "\x00\x00"
                          "\x00\x00");
    cr_assert_str_eq(f.issues, "3:req:column 'req' has no value at '$.req'; send one or make it "
                               "Nullable or give it a DEFAULT\n"
                               "4:req:column 'req' has no value at '$.req'; send one or make it "
                               "Nullable or give it a DEFAULT\n");
    close_schema(&f);
}

Test(convert, nested_paths_and_captured_objects)
{
    fixture f;
    open_schema(&f, "SCHEMA >\n"
                    "    `path` String `json:$.payload.pathname`,\n"
                    "    `payload` String `json:$.payload`,\n"
                    "    `deep` Nullable(String) `json:$.a.b.c`,\n"
                    "    `q` String `json:$.['odd key']`\n");
    run_cstr(&f, "{\"x\":[1,{\"y\":2}],\"payload\":{\"pathname\":\"/p\",\"z\":[1, 2]},"
                 "\"a\":{\"b\":{}},\"odd key\":\"k\"}\n");
    cr_assert_eq(f.stats.rows, 1, "%s", f.issues);
    EXPECT_BYTES(&f.rows, "\x00\x02/p"
                          "\x00\x1b{\"pathname\":\"/p\",\"z\":[1,2]}"
                          "\x00\x01"
                          "\x00\x01k");
    close_schema(&f);
}

Test(convert, whole_row)
{
    fixture f;
    open_schema(&f, "SCHEMA >\n    `raw` String `json:$`,\n    `a` Int32 `json:$.a`\n");
    run_cstr(&f, "{ \"a\" : 1 }\n");
    cr_assert_eq(f.stats.rows, 1, "%s", f.issues);
    EXPECT_BYTES(&f.rows, "\x00\x07{\"a\":1}"
                          "\x00\x01\x00\x00\x00");
    close_schema(&f);
}

Test(convert, escaped_keys_match)
{
    fixture f;
    open_schema(&f, simple_schema);
    run_cstr(&f, "{\"n\\u0061me\":\"a\",\"\\u006e\":1}\n");
    cr_assert_eq(f.stats.rows, 1, "%s", f.issues);
    EXPECT_BYTES(&f.rows, "\x00\x01"
                          "a\x00\x01");
    close_schema(&f);
}

Test(convert, mapped_arrays)
{
    fixture f;
    open_schema(&f, "SCHEMA >\n"
                    "    `skus` Array(String) `json:$.items[:].sku`,\n"
                    "    `prices` Array(Nullable(Float64)) `json:$.items[:].price`,\n"
                    "    `m` Array(Array(Int32)) `json:$.m[:][:]`,\n"
                    "    `firsts` Array(Int32) `json:$.m[:][0]`\n");
    run_cstr(&f, "{\"items\":[{\"sku\":\"a\",\"price\":1.5},{\"sku\":\"b\"}],\"m\":[[1,2],[3]]}\n");
    cr_assert_eq(f.stats.rows, 1, "%s", f.issues);
    EXPECT_BYTES(&f.rows, "\x00\x02\x01"
                          "a\x01"
                          "b"
                          "\x00\x02\x00\x00\x00\x00\x00\x00\x00\xf8\x3f\x01"
                          "\x00\x02\x02\x01\x00\x00\x00\x02\x00\x00\x00\x01\x03\x00\x00\x00"
                          "\x00\x02\x01\x00\x00\x00\x03\x00\x00\x00");
    close_schema(&f);
}

/* A mapped array of 200 elements: its length needs a two-byte varuint, written after the items. */
Test(convert, mapped_array_long_count)
{
    fixture f;
    open_schema(&f, "SCHEMA >\n    `v` Array(UInt8) `json:$.items[:].v`\n");
    char body[4096] = "{\"items\":[";
    for (int i = 0; i < 200; i++)
        strcat(body, i ? ",{\"v\":7}" : "{\"v\":7}");
    strcat(body, "]}\n");
    run_cstr(&f, body);
    cr_assert_eq(f.stats.rows, 1, "%s", f.issues);
    cr_assert_eq(f.rows.len, 1 + 2 + 200);
    cr_assert_eq(f.rows.data[0], 0);
    cr_assert_eq(f.rows.data[1], 0xc8);
    cr_assert_eq(f.rows.data[2], 0x01);
    for (int i = 0; i < 200; i++)
        cr_assert_eq(f.rows.data[3 + i], 7);
    close_schema(&f);
}

Test(convert, mapped_missing_element_quarantines)
{
    fixture f;
    open_schema(&f, "SCHEMA >\n    `skus` Array(String) `json:$.items[:].sku`\n");
    run_cstr(&f, "{\"items\":[{\"sku\":\"a\"},{\"x\":1}]}\n{\"items\":\"no\"}\n{}\n");
    cr_assert_eq(f.stats.rows, 1);
    cr_assert_eq(f.stats.quarantined, 2);
    cr_assert_str_eq(f.issues,
                     "1:skus:column 'skus' (Array(String)) at '$.items[:].sku': an element has no "
                     "value there\n"
                     "2:skus:column 'skus' (Array(String)) at '$.items[:].sku': expected an array "
                     "for [:]\n");
    EXPECT_BYTES(&f.rows, "\x00\x00");
    close_schema(&f);
}

Test(convert, per_column_errors_and_quarantine_values)
{
    fixture f;
    open_schema(&f, "SCHEMA >\n"
                    "    `a` UInt8 `json:$.a`,\n"
                    "    `b` String `json:$.b`,\n"
                    "    `c` UInt8 `json:$.c`,\n"
                    "    `d` Nullable(String) `json:$.d`\n");
    sl_convert_options opt = {
        .first_line = 10, .import_id = SL_STR("imp"), .report = on_issue, .report_ud = &f};
    const char *body = "{\"a\":300,\"b\":\"x\\ty\",\"c\":\"zz\",\"d\":{\"k\": [1]}}";
    int rc = sl_convert(f.conv, f.st, sl_str_from_cstr(body), &opt, &f.rows, &f.q, &f.stats);
    cr_assert_eq(rc, 0);
    cr_assert_eq(f.stats.quarantined, 1);
    cr_assert_eq(f.rows.len, 0);
    /* two failing columns, each with its own message */
    cr_assert(strncmp(f.issues, "10:a:column 'a' (UInt8) at '$.a': ", 34) == 0, "%s", f.issues);
    cr_assert(strstr(f.issues, "\n10:c:column 'c' (UInt8) at '$.c': ") != NULL, "%s", f.issues);
    /* c__error_column = ['a', 'c'] */
    cr_assert(memcmp(f.q.data,
                     "\x02\x01"
                     "a\x01"
                     "c\x02",
                     6) == 0);
    /* skip the two messages */
    size_t at = 6;
    for (int k = 0; k < 2; k++)
        at += 1 + f.q.data[at];
    const char tail[] = "\x00\x03imp" /* import id */
                        "\x00\x03"
                        "300"                 /* a as JSON text */
                        "\x00\x03x\ty"        /* b decoded */
                        "\x00\x02zz"          /* c decoded */
                        "\x00\x09{\"k\":[1]}" /* d compact */
                        "\x2c";               /* c__raw length 44 */
    cr_assert(memcmp(f.q.data + at, tail, sizeof(tail) - 1) == 0);
    at += sizeof(tail) - 1;
    cr_assert_eq(f.q.len - at, strlen(body));
    cr_assert(memcmp(f.q.data + at, body, strlen(body)) == 0);
    close_schema(&f);
}

Test(convert, duplicate_keys_quarantine)
{
    fixture f;
    open_schema(&f, simple_schema);
    run_cstr(&f, "{\"name\":\"a\",\"n\":1,\"name\":\"b\"}\n");
    cr_assert_eq(f.stats.quarantined, 1);
    cr_assert_str_eq(f.issues,
                     "1:name:column 'name' (String) at '$.name': the row has more than one value "
                     "there\n");
    close_schema(&f);
}

Test(convert, bom_and_line_numbers)
{
    fixture f;
    open_schema(&f, simple_schema);
    run_cstr(&f, "\xEF\xBB\xBF{\"name\":\"a\",\"n\":1}\n\n{\"name\":\"a\",\"n\":1000}\n");
    cr_assert_eq(f.stats.rows, 1);
    cr_assert_eq(f.stats.quarantined, 1);
    cr_assert(strncmp(f.issues, "3:n:", 4) == 0, "%s", f.issues);
    close_schema(&f);
}

Test(convert, output_cap_keeps_whole_rows)
{
    fixture f;
    open_schema(&f, simple_schema);
    sl_buf_free(&f.rows);
    sl_buf_init(&f.rows, 20);
    sl_convert_options opt = {.first_line = 1};
    const char *body = "{\"name\":\"abc\",\"n\":1}\n{\"name\":\"abc\",\"n\":2}\n";
    int rc = sl_convert(f.conv, f.st, sl_str_from_cstr(body), &opt, &f.rows, &f.q, &f.stats);
    cr_assert_eq(rc, SL_ETOOBIG);
    cr_assert_eq(f.stats.rows, 1);
    EXPECT_BYTES(&f.rows, "\x00\x03"
                          "abc\x00\x01");
    close_schema(&f);
}

static void expect_schema_error(const char *schema, const char *msg)
{
    sl_datafile *df = NULL;
    sl_error err = {0};
    cr_assert_eq(sl_datafile_parse(sl_str_from_cstr(schema), &df, &err), 0, "%s", err.msg);
    sl_converter *conv = NULL;
    int rc = sl_converter_new(df, &conv, &err);
    cr_assert_eq(rc, SL_ESCHEMA);
    cr_assert_str_eq(err.msg, msg);
    sl_datafile_free(df);
}

Test(convert, schema_errors)
{
    expect_schema_error("SCHEMA >\n    `t` Array(String) `json:$.tags`\n",
                        "column 't' is an Array, so its path needs [:] to say which array it reads "
                        "(e.g. '$.tags[:]')");
    expect_schema_error("SCHEMA >\n    `t` String `json:$.tags[:]`\n",
                        "column 't' has [:] in its path '$.tags[:]' but its type String is not an "
                        "Array; make it Array(...) or drop the [:]");
    expect_schema_error("SCHEMA >\n    `c__raw` String `json:$.raw`\n",
                        "column name 'c__raw' is reserved for the quarantine table; rename the "
                        "column (its path can stay the same)");
    expect_schema_error("SCHEMA >\n    `t` Array(String) `json:$.t[:][:]`\n",
                        "column 't': its path '$.t[:][:]' has 2 [:] steps but its type "
                        "Array(String) has only 1 array levels");
}

Test(convert, quarantine_columns)
{
    sl_datafile *df = NULL;
    sl_error err = {0};
    cr_assert_eq(sl_datafile_parse(sl_str_from_cstr(simple_schema), &df, &err), 0);
    sl_buf b;
    sl_buf_init(&b, 0);
    cr_assert_eq(sl_convert_quarantine_columns(df, &b), 0);
    const char *want = "`c__error_column` Array(String), `c__error` Array(String), `c__import_id` "
                       "Nullable(String), `name` Nullable(String), `n` Nullable(String), `c__raw` "
                       "String, `insertion_date` DateTime DEFAULT now()";
    cr_assert_eq(b.len, strlen(want));
    cr_assert(memcmp(b.data, want, b.len) == 0);
    sl_buf_free(&b);
    sl_datafile_free(df);
}
