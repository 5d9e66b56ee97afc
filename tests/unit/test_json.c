/* Unit tests of the JSON scanner: grammar (must-pass / must-fail in the style of JSONTestSuite),
 * UTF-8 validation, iteration protocol, key comparison, decoding, compaction, integer and double
 * conversion, line splitting. Every input is placed so that it ends right before an unmapped
 * page, so any read past `end` crashes the test. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sl_json.h"

/* Copies n bytes so that they end exactly at a PROT_NONE page. Leaked on purpose: each test
 * runs in its own short-lived process. */
static const char *guarded(const void *s, size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t data_pages = (n + page - 1) / page;
    if (data_pages == 0)
        data_pages = 1;
    char *m = mmap(NULL, (data_pages + 1) * page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert(m != MAP_FAILED);
    cr_assert(mprotect(m + data_pages * page, page, PROT_NONE) == 0);
    char *p = m + data_pages * page - n;
    if (n)
        memcpy(p, s, n);
    return p;
}

static sl_str gstr(const char *s)
{
    size_t n = strlen(s);
    return (sl_str){guarded(s, n), n};
}

/* Scans a whole document (one value, then only whitespace) with scan_value and with
 * skip_value; both must agree. Returns 0 or the error code. */
static int scan_doc(const char *s, size_t n, sl_error *err)
{
    const char *g = guarded(s, n);
    sl_json_cursor c1, c2;
    sl_json_value v;
    sl_error e2;
    sl_json_cursor_init(&c1, g, n, err);
    sl_json_cursor_init(&c2, g, n, &e2);
    int rc1 = sl_json_scan_value(&c1, &v);
    int rc2 = sl_json_skip_value(&c2);
    cr_expect_eq(rc1, rc2, "scan and skip disagree on %.*s", (int)n, s);
    if (rc1 == 0) {
        cr_expect_eq(c1.p, c2.p, "scan and skip end differently on %.*s", (int)n, s);
        if (!sl_json_at_end(&c1)) {
            cr_expect(!sl_json_at_end(&c2));
            return sl_error_set(err, SL_EJSON, "trailing bytes", (size_t)(c1.p - g));
        }
    }
    return rc1;
}

static int scan_cstr(const char *s, sl_error *err)
{
    return scan_doc(s, strlen(s), err);
}

/* ---- grammar ---- */

static const char *const pass_cases[] = {
    "0",
    "-0",
    "1",
    "-1",
    "123",
    "0.5",
    "-0.0e-0",
    "1E10",
    "1e+10",
    "1e-10",
    "12.34E+56",
    "true",
    "false",
    "null",
    "\"\"",
    "\"abc\"",
    "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
    "\"\\u0000\"",
    "\"\\uD83D\\uDE00\"",
    "\"\\ud83d\\ude00\"",
    "\"\\uFFFF\"",
    "\"\xc3\xa9\"",
    "\"\xe2\x82\xac\"",
    "\"\xf0\x9f\x98\x80\"",
    "\"\xf4\x8f\xbf\xbf\"",
    "\"\xed\x9f\xbf\"",
    "\"\xee\x80\x80\"",
    "\"\x7f\"",
    "[]",
    "{}",
    "[[]]",
    "[1,2,3]",
    " [ 1 , 2 , 3 ] ",
    "\t\r\n[\n]\n",
    "{\"a\":1}",
    "{ \"a\" : [ true , false , null ] , \"b\" : { } }",
    "{\"\":\"\"}",
    "[\"a\\u0062c\", -1.5e3, {\"x\": [[[{}]]]}]",
    "{\"a\":{\"a\":{\"a\":{}}}}",
    "[0,1e1,0.1,-0]",
    "\"0123456789abcdefghijklmnopqrstuvwxyz0123456789\"",
    "\"long string with an escape near the end of a sixteen byte block\\n\"",
};

Test(json_grammar, must_pass)
{
    for (size_t i = 0; i < sizeof(pass_cases) / sizeof(pass_cases[0]); i++) {
        sl_error err = {0};
        int rc = scan_cstr(pass_cases[i], &err);
        cr_expect_eq(rc, 0, "should pass: %s (%s)", pass_cases[i], rc ? err.msg : "");
    }
}

typedef struct {
    const char *text;
    size_t len; /* 0: strlen */
    int code;
} bad_case;

static const bad_case fail_cases[] = {
    {"", 0, SL_EJSON},
    {"   ", 0, SL_EJSON},
    {"01", 0, SL_EJSON},
    {"-01", 0, SL_EJSON},
    {"00", 0, SL_EJSON},
    {"-", 0, SL_EJSON},
    {"- 1", 0, SL_EJSON},
    {"+1", 0, SL_EJSON},
    {"1.", 0, SL_EJSON},
    {"1.e5", 0, SL_EJSON},
    {".5", 0, SL_EJSON},
    {"1e", 0, SL_EJSON},
    {"1e+", 0, SL_EJSON},
    {"1E-", 0, SL_EJSON},
    {"0x10", 0, SL_EJSON},
    {"Infinity", 0, SL_EJSON},
    {"NaN", 0, SL_EJSON},
    {"-Infinity", 0, SL_EJSON},
    {"tru", 0, SL_EJSON},
    {"nul", 0, SL_EJSON},
    {"fals", 0, SL_EJSON},
    {"True", 0, SL_EJSON},
    {"nulll", 0, SL_EJSON},
    {"\"abc", 0, SL_EJSON},
    {"\"", 0, SL_EJSON},
    {"\"\\", 0, SL_EJSON},
    {"\"a\tb\"", 0, SL_EJSON},
    {"\"a\nb\"", 0, SL_EJSON},
    {"\"\x01\"", 0, SL_EJSON},
    {"\"\x1f\"", 0, SL_EJSON},
    {"\"\0\"", 3, SL_EJSON},
    {"\"\\x\"", 0, SL_EJSON},
    {"\"\\a\"", 0, SL_EJSON},
    {"\"\\U0041\"", 0, SL_EJSON},
    {"\"\\u00\"", 0, SL_EJSON},
    {"\"\\u00G0\"", 0, SL_EJSON},
    {"\"\\u12", 0, SL_EJSON},
    {"\"\\uD800\"", 0, SL_EJSON},
    {"\"\\uDBFF\"", 0, SL_EJSON},
    {"\"\\uDC00\"", 0, SL_EJSON},
    {"\"\\uDE00\\uD83D\"", 0, SL_EJSON},
    {"\"\\uD83D\\u0041\"", 0, SL_EJSON},
    {"\"\\uD83Dx\"", 0, SL_EJSON},
    {"\"\\uD83D\\uD83D\"", 0, SL_EJSON},
    {"\"\\uD83D", 0, SL_EJSON},
    {"\"\xc0\xaf\"", 0, SL_EUTF8},         /* overlong '/' */
    {"\"\xc1\xbf\"", 0, SL_EUTF8},         /* overlong */
    {"\"\xe0\x80\xaf\"", 0, SL_EUTF8},     /* overlong 3-byte */
    {"\"\xe0\x9f\xbf\"", 0, SL_EUTF8},     /* overlong 3-byte */
    {"\"\xf0\x80\x80\xaf\"", 0, SL_EUTF8}, /* overlong 4-byte */
    {"\"\xf0\x8f\xbf\xbf\"", 0, SL_EUTF8}, /* overlong 4-byte */
    {"\"\xed\xa0\x80\"", 0, SL_EUTF8},     /* U+D800 as UTF-8 */
    {"\"\xed\xbf\xbf\"", 0, SL_EUTF8},     /* U+DFFF as UTF-8 */
    {"\"\xf4\x90\x80\x80\"", 0, SL_EUTF8}, /* above U+10FFFF */
    {"\"\xf5\x80\x80\x80\"", 0, SL_EUTF8},
    {"\"\xf8\"", 0, SL_EUTF8},
    {"\"\xfe\"", 0, SL_EUTF8},
    {"\"\xff\"", 0, SL_EUTF8},
    {"\"\x80\"", 0, SL_EUTF8}, /* lone continuation */
    {"\"\xbf\"", 0, SL_EUTF8},
    {"\"\xc3\"", 0, SL_EUTF8}, /* missing continuation */
    {"\"\xc3x\"", 0, SL_EUTF8},
    {"\"\xe2\x82\"", 0, SL_EUTF8},
    {"\"\xc3", 0, SL_EUTF8}, /* truncated at end of input */
    {"\"\xe2\x82", 0, SL_EUTF8},
    {"\"\xf0\x9f\x98", 0, SL_EUTF8},
    {"\xc3\xa9", 0, SL_EJSON}, /* non-ASCII outside a string */
    {"[1,]", 0, SL_EJSON},
    {"[,1]", 0, SL_EJSON},
    {"[1,,2]", 0, SL_EJSON},
    {"[1 2]", 0, SL_EJSON},
    {"{\"a\":1,}", 0, SL_EJSON},
    {"{,\"a\":1}", 0, SL_EJSON},
    {"{\"a\" 1}", 0, SL_EJSON},
    {"{\"a\":}", 0, SL_EJSON},
    {"{\"a\"}", 0, SL_EJSON},
    {"{a:1}", 0, SL_EJSON},
    {"{'a':1}", 0, SL_EJSON},
    {"{1:1}", 0, SL_EJSON},
    {"{\"a\":1 \"b\":2}", 0, SL_EJSON},
    {"{\"a\":1]", 0, SL_EJSON},
    {"[1}", 0, SL_EJSON},
    {"[", 0, SL_EJSON},
    {"[1", 0, SL_EJSON},
    {"[1,", 0, SL_EJSON},
    {"{", 0, SL_EJSON},
    {"{\"a\"", 0, SL_EJSON},
    {"{\"a\":", 0, SL_EJSON},
    {"{\"a\":1", 0, SL_EJSON},
    {"[[[]]", 0, SL_EJSON},
    {"]", 0, SL_EJSON},
    {"}", 0, SL_EJSON},
    {"1 2", 0, SL_EJSON},
    {"[] []", 0, SL_EJSON},
    {"\v1", 0, SL_EJSON},
    {"[\f]", 0, SL_EJSON},
    {"[\"a\xff\"]", 0, SL_EUTF8},
};

Test(json_grammar, must_fail)
{
    for (size_t i = 0; i < sizeof(fail_cases) / sizeof(fail_cases[0]); i++) {
        const bad_case *b = &fail_cases[i];
        size_t n = b->len ? b->len : strlen(b->text);
        sl_error err = {0};
        int rc = scan_doc(b->text, n, &err);
        cr_expect_eq(rc, b->code, "case %zu (%.*s): got %d, want %d", i, (int)n, b->text, rc,
                     b->code);
        cr_expect_eq(err.code, rc, "case %zu: err.code not filled", i);
    }
}

/* Every proper prefix of a valid document fails, and never reads past its end. */
Test(json_grammar, truncated_prefixes_fail)
{
    const char *doc = "{\"a\":[1,-2.5e+3,true,false,null,\"x\\u00e9\xc3\xa9\\ud83d\\ude00\"],"
                      "\"b\":{\"c\":{}}}";
    size_t n = strlen(doc);
    cr_assert_eq(scan_doc(doc, n, NULL), 0);
    for (size_t k = 0; k < n; k++)
        cr_expect_neq(scan_doc(doc, k, NULL), 0, "prefix of %zu bytes accepted", k);
}

static char *nested(int depth, const char *open, const char *inner, const char *close)
{
    size_t no = strlen(open), nc = strlen(close), ni = strlen(inner);
    char *s = malloc((size_t)depth * (no + nc) + ni + 1);
    size_t k = 0;
    for (int i = 0; i < depth; i++, k += no)
        memcpy(s + k, open, no);
    memcpy(s + k, inner, ni);
    k += ni;
    for (int i = 0; i < depth; i++, k += nc)
        memcpy(s + k, close, nc);
    s[k] = 0;
    return s;
}

Test(json_grammar, depth_limit)
{
    char *ok = nested(SL_JSON_MAX_DEPTH, "[", "1", "]");
    char *deep = nested(SL_JSON_MAX_DEPTH + 1, "[", "", "]");
    char *ok_obj = nested(SL_JSON_MAX_DEPTH - 1, "{\"k\":", "{}", "}");
    char *deep_obj = nested(SL_JSON_MAX_DEPTH, "{\"k\":", "[]", "}");
    sl_error err = {0};
    cr_expect_eq(scan_cstr(ok, &err), 0);
    cr_expect_eq(scan_cstr(ok_obj, NULL), 0);
    cr_expect_eq(scan_cstr(deep, &err), SL_EDEPTH);
    cr_expect_eq(err.code, SL_EDEPTH);
    cr_expect_eq(err.offset, SL_JSON_MAX_DEPTH);
    cr_expect_eq(scan_cstr(deep_obj, NULL), SL_EDEPTH);
    free(ok);
    free(deep);
    free(ok_obj);
    free(deep_obj);
}

Test(json_grammar, depth_counts_open_iterators)
{
    /* Two containers opened by the iterator leave room for 126 more. */
    char *inner_ok = nested(SL_JSON_MAX_DEPTH - 2, "[", "", "]");
    char *inner_deep = nested(SL_JSON_MAX_DEPTH - 1, "[", "", "]");
    for (int round = 0; round < 2; round++) {
        const char *inner = round ? inner_deep : inner_ok;
        char *doc = malloc(strlen(inner) + 16);
        sprintf(doc, "[[%s]]", inner);
        sl_str g = gstr(doc);
        sl_json_cursor c;
        sl_json_cursor_init(&c, g.ptr, g.len, NULL);
        cr_assert_eq(sl_json_array_begin(&c), 0);
        cr_assert_eq(sl_json_array_next(&c), 1);
        cr_assert_eq(sl_json_array_begin(&c), 0);
        cr_assert_eq(c.depth, 2);
        cr_assert_eq(sl_json_array_next(&c), 1);
        cr_expect_eq(sl_json_skip_value(&c), round ? SL_EDEPTH : 0);
        free(doc);
    }
    free(inner_ok);
    free(inner_deep);
}

Test(json_grammar, deep_input_is_not_recursive)
{
    /* A megabyte of '[' fails quickly with a depth error, not a stack overflow. */
    size_t n = 1 << 20;
    char *s = malloc(n);
    memset(s, '[', n);
    cr_expect_eq(scan_doc(s, n, NULL), SL_EDEPTH);
    free(s);
}

/* ---- values and flags ---- */

static sl_json_value scan_one(const char *s, int *rc)
{
    sl_str g = gstr(s);
    sl_json_cursor c;
    sl_json_value v = {0};
    sl_json_cursor_init(&c, g.ptr, g.len, NULL);
    *rc = sl_json_scan_value(&c, &v);
    return v;
}

Test(json_value, kinds_slices_and_flags)
{
    int rc;
    sl_json_value v = scan_one("  \"a\\nb\"  ", &rc);
    cr_assert_eq(rc, 0);
    cr_expect_eq(v.kind, SL_JSON_STRING);
    cr_expect_eq(v.flags, SL_JSON_ESCAPED);
    cr_expect_eq(v.len, 4);
    cr_expect(memcmp(v.ptr, "a\\nb", 4) == 0);

    v = scan_one("\"plain\"", &rc);
    cr_expect_eq(v.flags, 0);
    cr_expect_eq(v.len, 5);

    v = scan_one("-12.5e3,", &rc);
    cr_expect_eq(v.kind, SL_JSON_NUMBER);
    cr_expect_eq(v.flags, SL_JSON_NEGATIVE | SL_JSON_FRACTION | SL_JSON_EXPONENT);
    cr_expect_eq(v.len, 7);

    v = scan_one("7]", &rc);
    cr_expect_eq(v.flags, 0);
    cr_expect_eq(v.len, 1);

    v = scan_one("{\"a\":[1, 2]} ", &rc);
    cr_expect_eq(v.kind, SL_JSON_OBJECT);
    cr_expect_eq(v.flags, SL_JSON_WHITESPACE);
    cr_expect_eq(v.len, 12);

    v = scan_one("[{\"a b\":\" \"}]", &rc);
    cr_expect_eq(v.kind, SL_JSON_ARRAY);
    cr_expect_eq(v.flags, 0, "spaces inside strings are not whitespace");

    v = scan_one("null", &rc);
    cr_expect_eq(v.kind, SL_JSON_NULL);
    cr_expect_eq(v.len, 4);
    v = scan_one("false", &rc);
    cr_expect_eq(v.kind, SL_JSON_FALSE);
    v = scan_one("true", &rc);
    cr_expect_eq(v.kind, SL_JSON_TRUE);
}

Test(json_value, peek)
{
    const struct {
        const char *s;
        sl_json_kind k;
    } cases[] = {
        {" {", SL_JSON_OBJECT}, {"[", SL_JSON_ARRAY},  {"\"", SL_JSON_STRING},
        {"-", SL_JSON_NUMBER},  {"5", SL_JSON_NUMBER}, {"t", SL_JSON_TRUE},
        {"f", SL_JSON_FALSE},   {"n", SL_JSON_NULL},   {"", SL_JSON_NONE},
        {"  \n", SL_JSON_NONE}, {"x", SL_JSON_NONE},   {"}", SL_JSON_NONE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sl_str g = gstr(cases[i].s);
        sl_json_cursor c;
        sl_json_cursor_init(&c, g.ptr, g.len, NULL);
        cr_expect_eq(sl_json_peek(&c), cases[i].k, "peek(%s)", cases[i].s);
    }
}

/* ---- error messages ---- */

static void expect_error(const char *doc, int code, size_t offset, const char *msg)
{
    sl_error err = {0};
    sl_str g = gstr(doc);
    sl_json_cursor c;
    sl_json_value v;
    sl_json_cursor_init(&c, g.ptr, g.len, &err);
    int rc = sl_json_scan_value(&c, &v);
    cr_expect_eq(rc, code, "%s: rc %d", doc, rc);
    cr_expect_eq(err.code, code, "%s", doc);
    cr_expect_eq(err.offset, offset, "%s: offset %zu, want %zu", doc, err.offset, offset);
    cr_expect_str_eq(err.msg, msg, "%s", doc);
}

Test(json_errors, messages_and_offsets)
{
    expect_error("{\"a\":1 \"b\":2}", SL_EJSON, 7,
                 "invalid JSON at byte 7: expected ',' or '}' after an object member, found '\"'");
    expect_error("[1,2", SL_EJSON, 4,
                 "invalid JSON at byte 4: expected ',' or ']' after an array element, found end "
                 "of input");
    expect_error("[\"ab\xff\"]", SL_EUTF8, 4, "invalid UTF-8 at byte 4");
    expect_error("\"a\\x\"", SL_EJSON, 2, "invalid JSON at byte 2: invalid escape '\\x' in string");
    expect_error("\"a\x01\"", SL_EJSON, 2,
                 "invalid JSON at byte 2: unescaped control character 0x01 in string");
    expect_error("  \"abc", SL_EJSON, 2, "invalid JSON at byte 2: unterminated string");
    expect_error("[01]", SL_EJSON, 1,
                 "invalid JSON at byte 1: leading zeros are not allowed in numbers");
    expect_error("[tru]", SL_EJSON, 1, "invalid JSON at byte 1: invalid literal (expected 'true')");
    expect_error("{\"a\" 1}", SL_EJSON, 5,
                 "invalid JSON at byte 5: expected ':' after an object key, found '1'");
    expect_error("[1,]", SL_EJSON, 3, "invalid JSON at byte 3: expected a value, found ']'");
    expect_error("\"\\uDC00\"", SL_EJSON, 1,
                 "invalid JSON at byte 1: unpaired low surrogate escape in string");
    expect_error("1.", SL_EJSON, 2,
                 "invalid JSON at byte 2: expected a digit after the decimal point, found end of "
                 "input");
    expect_error("[\x80]", SL_EJSON, 1,
                 "invalid JSON at byte 1: expected a value, found byte 0x80");
}

/* ---- iteration ---- */

Test(json_iter, object_and_array_protocol)
{
    const char *doc =
        " { \"a\" : 1 , \"b\\u0063\":[true, \"x\", {}] ,\"d\":{\"e\":null}, \"f\":[]} ";
    sl_str g = gstr(doc);
    sl_json_cursor c;
    sl_json_value k, v;
    sl_error err = {0};
    sl_json_cursor_init(&c, g.ptr, g.len, &err);
    cr_assert_eq(sl_json_object_begin(&c), 0);
    cr_expect_eq(c.depth, 1);

    cr_assert_eq(sl_json_object_next(&c, &k), 1);
    cr_expect(sl_json_key_equals(&k, SL_STR("a")));
    cr_assert_eq(sl_json_scan_value(&c, &v), 0);
    cr_expect_eq(v.kind, SL_JSON_NUMBER);

    cr_assert_eq(sl_json_object_next(&c, &k), 1);
    cr_expect_eq(k.flags, SL_JSON_ESCAPED);
    cr_expect(sl_json_key_equals(&k, SL_STR("bc")));
    cr_expect_eq(sl_json_peek(&c), SL_JSON_ARRAY);
    cr_assert_eq(sl_json_array_begin(&c), 0);
    cr_expect_eq(c.depth, 2);
    int n = 0;
    int rc;
    while ((rc = sl_json_array_next(&c)) == 1) {
        cr_assert_eq(sl_json_skip_value(&c), 0);
        n++;
    }
    cr_expect_eq(rc, 0);
    cr_expect_eq(n, 3);
    cr_expect_eq(c.depth, 1);

    cr_assert_eq(sl_json_object_next(&c, &k), 1);
    cr_expect(sl_json_key_equals(&k, SL_STR("d")));
    cr_assert_eq(sl_json_object_begin(&c), 0);
    cr_assert_eq(sl_json_object_next(&c, &k), 1);
    cr_expect(sl_json_key_equals(&k, SL_STR("e")));
    cr_expect_eq(sl_json_peek(&c), SL_JSON_NULL);
    cr_assert_eq(sl_json_skip_value(&c), 0);
    cr_expect_eq(sl_json_object_next(&c, &k), 0);

    cr_assert_eq(sl_json_object_next(&c, &k), 1);
    cr_expect(sl_json_key_equals(&k, SL_STR("f")));
    cr_assert_eq(sl_json_array_begin(&c), 0);
    cr_expect_eq(sl_json_array_next(&c), 0);

    cr_expect_eq(sl_json_object_next(&c, &k), 0);
    cr_expect_eq(c.depth, 0);
    cr_expect(sl_json_at_end(&c));
}

Test(json_iter, empty_containers)
{
    const char *docs[] = {"{}", "{ }", "[]", "[\n]"};
    for (int i = 0; i < 4; i++) {
        sl_str g = gstr(docs[i]);
        sl_json_cursor c;
        sl_json_value k;
        sl_json_cursor_init(&c, g.ptr, g.len, NULL);
        if (docs[i][0] == '{') {
            cr_assert_eq(sl_json_object_begin(&c), 0);
            cr_expect_eq(sl_json_object_next(&c, &k), 0);
        } else {
            cr_assert_eq(sl_json_array_begin(&c), 0);
            cr_expect_eq(sl_json_array_next(&c), 0);
        }
        cr_expect(sl_json_at_end(&c));
    }
}

/* Walks a document with the iterators only, skipping each value; returns the first error. */
static int iterate_object(const char *doc)
{
    sl_str g = gstr(doc);
    sl_json_cursor c;
    sl_json_value k;
    sl_json_cursor_init(&c, g.ptr, g.len, NULL);
    int rc = sl_json_object_begin(&c);
    while (rc == 0 && (rc = sl_json_object_next(&c, &k)) == 1)
        rc = sl_json_skip_value(&c);
    return rc;
}

static int iterate_array(const char *doc)
{
    sl_str g = gstr(doc);
    sl_json_cursor c;
    sl_json_cursor_init(&c, g.ptr, g.len, NULL);
    int rc = sl_json_array_begin(&c);
    while (rc == 0 && (rc = sl_json_array_next(&c)) == 1)
        rc = sl_json_skip_value(&c);
    return rc;
}

Test(json_iter, iteration_errors)
{
    cr_expect_eq(iterate_object("{\"a\":1,\"b\":2}"), 0);
    cr_expect_eq(iterate_object("{\"a\":1,}"), SL_EJSON);
    cr_expect_eq(iterate_object("{,\"a\":1}"), SL_EJSON);
    cr_expect_eq(iterate_object("{\"a\":1 \"b\":2}"), SL_EJSON);
    cr_expect_eq(iterate_object("{\"a\" 1}"), SL_EJSON);
    cr_expect_eq(iterate_object("{\"a\":1"), SL_EJSON);
    cr_expect_eq(iterate_object("{\"a\":"), SL_EJSON);
    cr_expect_eq(iterate_object("{"), SL_EJSON);
    cr_expect_eq(iterate_object("[]"), SL_EJSON);
    cr_expect_eq(iterate_object("{1:2}"), SL_EJSON);
    cr_expect_eq(iterate_object("{\"a\\q\":1}"), SL_EJSON);
    cr_expect_eq(iterate_array("[1,2,[3]]"), 0);
    cr_expect_eq(iterate_array("[1,]"), SL_EJSON);
    cr_expect_eq(iterate_array("[,1]"), SL_EJSON);
    cr_expect_eq(iterate_array("[1 2]"), SL_EJSON);
    cr_expect_eq(iterate_array("[1"), SL_EJSON);
    cr_expect_eq(iterate_array("["), SL_EJSON);
    cr_expect_eq(iterate_array("{}"), SL_EJSON);
}

/* ---- strings ---- */

Test(json_string, key_equals)
{
    const struct {
        const char *raw;
        const char *name;
        bool eq;
    } cases[] = {
        {"\"abc\"", "abc", true},
        {"\"abc\"", "abd", false},
        {"\"abc\"", "ab", false},
        {"\"\"", "", true},
        {"\"a\\u0062c\"", "abc", true},
        {"\"a\\u0062c\"", "abcd", false},
        {"\"a\\u0062c\"", "ab", false},
        {"\"a\\u0062\"", "abc", false},
        {"\"\\/\"", "/", true},
        {"\"\\\"q\\\"\"", "\"q\"", true},
        {"\"\\u00e9\"", "\xc3\xa9", true},
        {"\"\\u00E9\"", "\xc3\xa9", true},
        {"\"\\u20ac\"", "\xe2\x82\xac", true},
        {"\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", true},
        {"\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x81", false},
        {"\"user\\u002dagent\"", "user-agent", true},
        {"\"\\n\"", "n", false},
        {"\"\\u0000\"", "", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc;
        sl_json_value v = scan_one(cases[i].raw, &rc);
        cr_assert_eq(rc, 0);
        sl_str name = gstr(cases[i].name);
        cr_expect_eq(sl_json_key_equals(&v, name), cases[i].eq, "%s vs %s", cases[i].raw,
                     cases[i].name);
    }
}

static void expect_decoded(const char *raw, const char *want, size_t want_len)
{
    int rc;
    sl_json_value v = scan_one(raw, &rc);
    cr_assert_eq(rc, 0, "%s", raw);
    sl_buf b;
    sl_buf_init(&b, 0);
    cr_assert_eq(sl_buf_append(&b, "X", 1), 0);
    cr_assert_eq(sl_json_decode_string(&v, &b), 0);
    cr_expect_eq(b.len, want_len + 1, "%s: %zu bytes", raw, b.len);
    cr_expect(b.data[0] == 'X' && memcmp(b.data + 1, want, want_len) == 0, "%s", raw);
    sl_buf_free(&b);
}

Test(json_string, decode_all_escapes)
{
    expect_decoded("\"plain\"", "plain", 5);
    expect_decoded("\"\"", "", 0);
    expect_decoded("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8);
    expect_decoded("\"\\u0041\\u00e9\\u20AC\"", "A\xc3\xa9\xe2\x82\xac", 6);
    expect_decoded("\"\\u0000x\"", "\0x", 2);
    expect_decoded("\"\\u007f\\u0080\\u07ff\\u0800\\uffff\"",
                   "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf", 11);
    expect_decoded("\"\\ud800\\udc00\"", "\xf0\x90\x80\x80", 4);
    expect_decoded("\"\\uD83D\\uDE00!\"", "\xf0\x9f\x98\x80!", 5);
    expect_decoded("\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf", 4);
    expect_decoded("\"caf\xc3\xa9 \\t end\"", "caf\xc3\xa9 \t end", 11);
}

Test(json_string, decode_respects_cap)
{
    int rc;
    sl_json_value v = scan_one("\"0123456789\\n\"", &rc);
    cr_assert_eq(rc, 0);
    sl_buf b;
    sl_buf_init(&b, 8);
    cr_expect_eq(sl_json_decode_string(&v, &b), SL_ETOOBIG);
    cr_expect_eq(b.len, 0);
    sl_buf_free(&b);
}

Test(json_string, long_strings_across_vector_blocks)
{
    /* A special byte at every position of a long string, and the closing quote at every
     * distance from the end of input. */
    for (size_t len = 0; len < 80; len++) {
        for (size_t pos = 0; pos < len; pos++) {
            char s[128];
            s[0] = '"';
            memset(s + 1, 'a', len);
            s[len + 1] = '"';
            s[pos + 1] = '\x01';
            cr_expect_eq(scan_doc(s, len + 2, NULL), SL_EJSON);
            s[pos + 1] = '\xff';
            cr_expect_eq(scan_doc(s, len + 2, NULL), SL_EUTF8);
            s[pos + 1] = '\\';
            cr_expect_neq(scan_doc(s, len + 2, NULL), 0);
            s[pos + 1] = '\x7f';
            cr_expect_eq(scan_doc(s, len + 2, NULL), 0);
        }
        char s[128];
        s[0] = '"';
        memset(s + 1, 'b', len);
        cr_expect_eq(scan_doc(s, len + 1, NULL), SL_EJSON, "unterminated %zu", len);
        s[len + 1] = '"';
        cr_expect_eq(scan_doc(s, len + 2, NULL), 0);
    }
}

/* ---- compact ---- */

static void expect_compact(const char *doc, const char *want)
{
    int rc;
    sl_json_value v = scan_one(doc, &rc);
    cr_assert_eq(rc, 0, "%s", doc);
    sl_buf b;
    sl_buf_init(&b, 0);
    cr_assert_eq(sl_json_compact(&v, &b), 0);
    cr_expect(b.len == strlen(want) && memcmp(b.data, want, b.len) == 0, "%s -> %.*s", doc,
              (int)b.len, (const char *)b.data);
    sl_buf_free(&b);
}

Test(json_compact, removes_whitespace_outside_strings)
{
    expect_compact("{ \"a\" : [ 1 , 2 ] ,\n\t\"b c\" : \" x \\\" y \" }",
                   "{\"a\":[1,2],\"b c\":\" x \\\" y \"}");
    expect_compact("[\"\\\\\", \" \" ]", "[\"\\\\\",\" \"]");
    expect_compact("[1,2]", "[1,2]");
    expect_compact("\"  a  \"", "  a  "); /* a string's slice excludes the quotes */
    expect_compact("-1.5e3", "-1.5e3");
    expect_compact("true", "true");
    expect_compact("{\"\\u0020\": [ ]}", "{\"\\u0020\":[]}");
}

/* ---- integers ---- */

/* Decimal text of 2^k + delta (delta in -1..1), optionally negated. */
static char *pow2_text(unsigned k, int delta, bool neg)
{
    unsigned char d[100] = {1}; /* little-endian decimal digits */
    size_t nd = 1;
    for (unsigned i = 0; i < k; i++) {
        unsigned carry = 0;
        for (size_t j = 0; j < nd; j++) {
            unsigned t = d[j] * 2u + carry;
            d[j] = (unsigned char)(t % 10);
            carry = t / 10;
        }
        if (carry)
            d[nd++] = (unsigned char)carry;
    }
    if (delta > 0) {
        size_t j = 0;
        while (d[j] == 9)
            d[j++] = 0;
        d[j]++;
        if (j == nd)
            nd++;
    } else if (delta < 0) {
        size_t j = 0;
        while (d[j] == 0)
            d[j++] = 9;
        d[j]--;
        while (nd > 1 && d[nd - 1] == 0)
            nd--;
    }
    char *s = malloc(nd + 2);
    size_t k2 = 0;
    if (neg)
        s[k2++] = '-';
    for (size_t j = nd; j-- > 0;)
        s[k2++] = (char)('0' + d[j]);
    s[k2] = 0;
    return s;
}

static int to_int(const char *text, bool is_signed, unsigned bits, uint8_t *out)
{
    memset(out, 0xAA, 32);
    int rc = sl_json_text_to_int(gstr(text), is_signed, bits, out);
    /* The value path agrees with the text path. */
    int rc2;
    sl_json_value v = scan_one(text, &rc2);
    if (rc2 == 0) {
        uint8_t out2[32];
        cr_expect_eq(sl_json_number_to_int(&v, is_signed, bits, out2), rc, "%s", text);
        if (rc == 0)
            cr_expect(memcmp(out, out2, bits / 8) == 0);
    }
    return rc;
}

static void expect_bytes(const uint8_t *out, unsigned nbytes, uint8_t low, uint8_t mid, uint8_t top,
                         const char *what)
{
    for (unsigned i = 0; i < nbytes; i++) {
        uint8_t want = i == nbytes - 1 ? top : i == 0 ? low : mid;
        cr_expect_eq(out[i], want, "%s: byte %u is %02x, want %02x", what, i, out[i], want);
    }
}

Test(json_int, limits_at_every_width)
{
    uint8_t out[32];
    for (unsigned bits = 8; bits <= 256; bits += 8) {
        unsigned nb = bits / 8;
        char *umax = pow2_text(bits, -1, false);
        char *uover = pow2_text(bits, 0, false);
        char *smax = pow2_text(bits - 1, -1, false);
        char *sover = pow2_text(bits - 1, 0, false);
        char *smin = pow2_text(bits - 1, 0, true);
        char *sunder = pow2_text(bits - 1, 1, true);

        cr_expect_eq(to_int(umax, false, bits, out), 0, "%u: %s", bits, umax);
        expect_bytes(out, nb, 0xFF, 0xFF, 0xFF, umax);
        cr_expect_eq(to_int(uover, false, bits, out), SL_ERANGE, "%u: %s", bits, uover);
        cr_expect_eq(to_int(smax, true, bits, out), 0, "%u: %s", bits, smax);
        expect_bytes(out, nb, 0xFF, 0xFF, nb == 1 ? 0x7F : 0x7F, smax);
        cr_expect_eq(to_int(sover, true, bits, out), SL_ERANGE, "%u: %s", bits, sover);
        cr_expect_eq(to_int(smin, true, bits, out), 0, "%u: %s", bits, smin);
        expect_bytes(out, nb, nb == 1 ? 0x80 : 0x00, 0x00, 0x80, smin);
        cr_expect_eq(to_int(sunder, true, bits, out), SL_ERANGE, "%u: %s", bits, sunder);
        cr_expect_eq(to_int(smin, false, bits, out), SL_ERANGE);

        cr_expect_eq(to_int("0", false, bits, out), 0);
        expect_bytes(out, nb, 0, 0, 0, "0");
        cr_expect_eq(to_int("-0", false, bits, out), 0);
        expect_bytes(out, nb, 0, 0, 0, "-0");
        cr_expect_eq(to_int("-1", true, bits, out), 0);
        expect_bytes(out, nb, 0xFF, 0xFF, 0xFF, "-1");
        cr_expect_eq(to_int("-1", false, bits, out), SL_ERANGE);
        cr_expect_eq(to_int("1", true, bits, out), 0);
        expect_bytes(out, nb, 0x01, 0, nb == 1 ? 0x01 : 0, "1");
        if (nb < 32)
            cr_expect_eq(out[nb], 0xAA, "wrote past %u bytes", nb);

        free(umax);
        free(uover);
        free(smax);
        free(sover);
        free(smin);
        free(sunder);
    }
}

Test(json_int, values_and_rejections)
{
    uint8_t out[32];
    cr_expect_eq(to_int("300", false, 16, out), 0);
    cr_expect(out[0] == 0x2C && out[1] == 0x01);
    cr_expect_eq(to_int("300", false, 8, out), SL_ERANGE);
    cr_expect_eq(to_int("-129", true, 8, out), SL_ERANGE);
    cr_expect_eq(to_int("18446744073709551621", false, 64, out), SL_ERANGE);
    cr_expect_eq(to_int("99999999999999999999999999999999999999999999999999999999999999999999999999"
                        "999999999999999999999",
                        false, 256, out),
                 SL_ERANGE);
    cr_expect_eq(to_int("1.0", true, 32, out), SL_EVALUE);
    cr_expect_eq(to_int("1e2", true, 32, out), SL_EVALUE);
    cr_expect_eq(to_int("1E0", true, 256, out), SL_EVALUE);
    const char *not_numbers[] = {"",    " 1", "1 ",  "+1", "01", "0x1", "1a",   "inf",
                                 "nan", "-",  "--1", "1.", ".1", "1e",  "\"1\""};
    for (size_t i = 0; i < sizeof(not_numbers) / sizeof(not_numbers[0]); i++) {
        cr_expect_eq(sl_json_text_to_int(gstr(not_numbers[i]), true, 64, out), SL_EVALUE, "[%s]",
                     not_numbers[i]);
        double d;
        cr_expect_eq(sl_json_text_to_double(gstr(not_numbers[i]), &d), SL_EVALUE, "[%s]",
                     not_numbers[i]);
    }
    cr_expect_eq(sl_json_text_to_int((sl_str){NULL, 0}, true, 64, out), SL_EVALUE);
}

/* ---- doubles ---- */

static int to_double(const char *text, double *d)
{
    int rc = sl_json_text_to_double(gstr(text), d);
    int rc2;
    sl_json_value v = scan_one(text, &rc2);
    cr_assert_eq(rc2, 0, "%.40s", text);
    double d2;
    cr_expect_eq(sl_json_number_to_double(&v, &d2), rc);
    cr_expect(memcmp(d, &d2, sizeof(double)) == 0);
    return rc;
}

static void expect_double(const char *text, double want)
{
    double d = 0;
    cr_expect_eq(to_double(text, &d), 0, "%.60s", text);
    cr_expect(memcmp(&d, &want, sizeof(d)) == 0, "%.60s -> %.17g, want %.17g", text, d, want);
}

Test(json_double, correctly_rounded)
{
    expect_double("0", 0.0);
    expect_double("-0", -0.0);
    expect_double("-0.0e10", -0.0);
    expect_double("0.1", 0.1);
    expect_double("-0.1", -0.1);
    expect_double("1e23", 1e23);
    expect_double("8.41e21", 8.41e21);
    expect_double("2.2250738585072011e-308", 2.2250738585072011e-308);
    expect_double("2.2250738585072012e-308", 2.2250738585072012e-308);
    expect_double("9007199254740993", 9007199254740992.0);
    expect_double("9007199254740995", 9007199254740996.0);
    expect_double("4.9e-324", 4.9e-324);
    expect_double("2.4703282292062327e-324", 0.0); /* just below half the minimum: 0 */
    expect_double("2.4703282292062328e-324", 4.9e-324);
    expect_double("1.7976931348623157e308", 1.7976931348623157e308);
    expect_double("1e-400", 0.0);
    expect_double("123456789012345678901234567890", 123456789012345678901234567890.0);
    expect_double("0.000000000000000000000000000001", 1e-30);
    expect_double("2952.463", 2952.463);
    expect_double("1e22", 1e22);
    expect_double("1.5e-22", 1.5e-22);
    expect_double("100000000000000000000000e-1", 1e22);
    expect_double("1e0000000000000000000000000000001", 10.0);
    expect_double("0e999999999999999999999", 0.0);
    expect_double("1e-99999999999999999999", 0.0);
}

Test(json_double, overflow_is_erange)
{
    double d = 0;
    cr_expect_eq(to_double("1e400", &d), SL_ERANGE);
    cr_expect(isinf(d) && d > 0);
    cr_expect_eq(to_double("-1e400", &d), SL_ERANGE);
    cr_expect(isinf(d) && d < 0);
    cr_expect_eq(to_double("1.7976931348623159e308", &d), SL_ERANGE);
    cr_expect_eq(to_double("1e99999999999999999999999", &d), SL_ERANGE);
}

Test(json_double, long_mantissas)
{
    /* 1 + 2^-53 exactly is halfway between 1 and the next double: ties to even gives 1. Any
     * nonzero digit, however far out, pushes it up. */
    const char *half = "1.00000000000000011102230246251565404236316680908203125";
    char s[2000];
    snprintf(s, sizeof(s), "%s", half);
    expect_double(s, 1.0);
    size_t n = strlen(s);
    memset(s + n, '0', 900);
    s[n + 900] = 0;
    expect_double(s, 1.0);
    s[n + 900] = '1';
    s[n + 901] = 0;
    expect_double(s, 1.0000000000000002);

    /* 800 significant digits. */
    memset(s, '1', 800);
    strcpy(s + 800, "e-700");
    expect_double(s, strtod(s, NULL));
    memset(s, '9', 800);
    strcpy(s + 800, "e-750");
    expect_double(s, 1e50);

    /* Many leading zeros in the fraction. */
    s[0] = '0';
    s[1] = '.';
    memset(s + 2, '0', 300);
    strcpy(s + 302, "5");
    expect_double(s, 5e-301);
    memset(s + 2, '0', 1000);
    strcpy(s + 1002, "5");
    expect_double(s, 0.0);
}

/* ---- lines ---- */

Test(json_line, line_end)
{
    char buf[300];
    for (size_t n = 0; n < 200; n++) {
        memset(buf, 'x', n);
        const char *g = guarded(buf, n);
        cr_expect_eq(sl_json_line_end(g, g + n), g + n);
        for (size_t k = 0; k < n; k += 7) {
            buf[k] = '\n';
            const char *g2 = guarded(buf, n);
            cr_expect_eq(sl_json_line_end(g2, g2 + n), g2 + k);
            buf[k] = 'x';
        }
    }
    const char *g = guarded("a\nb\n", 4);
    cr_expect_eq(sl_json_line_end(g, g + 4), g + 1);
    cr_expect_eq(sl_json_line_end(g + 2, g + 4), g + 3);
    cr_expect_eq(sl_json_line_end(g + 4, g + 4), g + 4);
}
