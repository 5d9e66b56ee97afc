/* JSONPath compiler: every step form, canonical printing, every error message. */
#include "sl_jsonpath.h"

#include <criterion/criterion.h>
#include <string.h>

static sl_arena arena;

static void setup(void)
{
    sl_arena_init(&arena);
}

static void teardown(void)
{
    sl_arena_free(&arena);
}

TestSuite(jsonpath, .init = setup, .fini = teardown);

static const sl_jsonpath *parse_ok(const char *text)
{
    const sl_jsonpath *p = NULL;
    sl_error err = {0};
    int rc = sl_jsonpath_parse(sl_str_from_cstr(text), &arena, &p, &err);
    cr_assert_eq(rc, 0, "%s: %s", text, err.msg);
    return p;
}

static void expect_error(const char *text, size_t offset, const char *msg)
{
    const sl_jsonpath *p = NULL;
    sl_error err = {0};
    int rc = sl_jsonpath_parse(sl_str_from_cstr(text), &arena, &p, &err);
    cr_assert_eq(rc, SL_EPATH, "%s should fail", text);
    cr_assert_eq(err.offset, offset, "%s: offset %zu, expected %zu", text, err.offset, offset);
    cr_assert_str_eq(err.msg, msg, "%s", text);
}

static void expect_format(const char *text, const char *canonical)
{
    const sl_jsonpath *p = parse_ok(text);
    sl_buf b;
    sl_buf_init(&b, 0);
    cr_assert_eq(sl_jsonpath_format(p, &b), 0);
    cr_assert_eq(b.len, strlen(canonical), "%s → %.*s", text, (int)b.len, (char *)b.data);
    cr_assert(memcmp(b.data, canonical, b.len) == 0, "%s → %.*s", text, (int)b.len, (char *)b.data);
    sl_buf_free(&b);
}

Test(jsonpath, root)
{
    const sl_jsonpath *p = parse_ok("$");
    cr_assert_eq(p->n_steps, 0);
    cr_assert(sl_str_eq_cstr(p->text, "$"));
}

Test(jsonpath, members)
{
    const sl_jsonpath *p = parse_ok("$.payload.user-agent");
    cr_assert_eq(p->n_steps, 2);
    cr_assert_eq(p->steps[0].kind, SL_STEP_KEY);
    cr_assert(sl_str_eq_cstr(p->steps[0].key, "payload"));
    cr_assert(sl_str_eq_cstr(p->steps[1].key, "user-agent"));
}

Test(jsonpath, quoted_keys)
{
    const sl_jsonpath *p = parse_ok("$.['a b'].['it\\'s'].['back\\\\slash']['x.y']");
    cr_assert_eq(p->n_steps, 4);
    cr_assert(sl_str_eq_cstr(p->steps[0].key, "a b"));
    cr_assert(sl_str_eq_cstr(p->steps[1].key, "it's"));
    cr_assert(sl_str_eq_cstr(p->steps[2].key, "back\\slash"));
    cr_assert(sl_str_eq_cstr(p->steps[3].key, "x.y"));
    const sl_jsonpath *e = parse_ok("$.['']");
    cr_assert_eq(e->steps[0].key.len, 0);
}

Test(jsonpath, each_and_index)
{
    const sl_jsonpath *p = parse_ok("$.items[:].price");
    cr_assert_eq(p->n_steps, 3);
    cr_assert_eq(p->steps[1].kind, SL_STEP_EACH);
    cr_assert_eq(sl_jsonpath_each_count(p), 1);
    p = parse_ok("$.m[:][*]");
    cr_assert_eq(sl_jsonpath_each_count(p), 2);
    p = parse_ok("$.a[12].b");
    cr_assert_eq(p->steps[1].kind, SL_STEP_INDEX);
    cr_assert_eq(p->steps[1].index, 12);
}

Test(jsonpath, canonical_format)
{
    expect_format("$", "$");
    expect_format("$.a.b_c-d", "$.a.b_c-d");
    expect_format("$['a']", "$.a");
    expect_format("$.['a b']", "$.['a b']");
    expect_format("$.['it\\'s']", "$.['it\\'s']");
    expect_format("$.x[*][:]", "$.x[:][:]");
    expect_format("$.x[3]", "$.x[3]");
    expect_format("$.['']", "$.['']");
}

Test(jsonpath, errors)
{
    expect_error("", 0, "a JSONPath starts with '$'");
    expect_error("a.b", 0, "a JSONPath starts with '$'");
    expect_error("$a", 1, "expected '.' or '[' in JSONPath");
    expect_error("$.", 2, "expected a member name ([A-Za-z0-9_-]) or ['quoted key'] after '.'");
    expect_error("$.a..b", 4, "expected a member name ([A-Za-z0-9_-]) or ['quoted key'] after '.'");
    expect_error("$.a b", 3, "expected '.' or '[' in JSONPath");
    expect_error("$.['abc", 3, "unterminated quoted key (missing closing ')");
    expect_error("$.['a\\b']", 5, "only \\' and \\\\ may be escaped inside a quoted key");
    expect_error("$.['a'", 6, "expected ']' after the quoted key");
    expect_error("$.[a]", 3, "expected a quoted key after '.['");
    expect_error("$.a[", 4, "expected ':', '*', a quoted key or an index after '['");
    expect_error("$.a[:", 5, "expected ']' to close '[:'");
    expect_error("$.a[1", 5, "expected ']' after the array index");
    expect_error("$.a[99999999]", 4, "array index too large");
    expect_error("$.a[-1]", 4, "expected ':', '*', a quoted key or an index after '['");
    expect_error("$.é", 2, "expected a member name ([A-Za-z0-9_-]) or ['quoted key'] after '.'");
}

Test(jsonpath, too_many_steps)
{
    char text[400] = "$";
    for (int i = 0; i < 65; i++)
        strcat(text, ".a");
    expect_error(text, 129, "JSONPath has more than 64 steps");
}
