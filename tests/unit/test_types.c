/* Tests for sl_types: the type grammar (canonical spelling, ClickHouse's validity rules, error
 * offsets and messages) and the RowBinary encoders (byte-exact output for edge values of every
 * type and nesting, every rejection with its message). The expected bytes of accepted values
 * were checked against ClickHouse 26.7 (chDB) JSONEachRow with best_effort date-times; the
 * rejections that ClickHouse does not make are listed in docs/conversion.md. Inputs are placed
 * right before an unmapped page to catch over-reads. */
#include <criterion/criterion.h>

#include "sl_types.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- helpers ---- */

typedef struct {
    void *base;
    size_t len;
    char *ptr;
} guarded;

/* Copies n bytes so that they end exactly at an unmapped page. */
static guarded guard(const char *s, size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (n + page - 1) / page + 1;
    guarded g;
    g.len = (pages + 1) * page;
    g.base = mmap(NULL, g.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert(g.base != MAP_FAILED);
    char *end = (char *)g.base + pages * page;
    cr_assert(mprotect(end, page, PROT_NONE) == 0);
    g.ptr = end - n;
    if (n)
        memcpy(g.ptr, s, n);
    return g;
}

static void unguard(guarded *g)
{
    munmap(g->base, g->len);
}

static const sl_type *parse_ok(sl_arena *a, const char *text)
{
    sl_error err = {0};
    const sl_type *t = NULL;
    guarded g = guard(text, strlen(text));
    int rc = sl_type_parse((sl_str){g.ptr, strlen(text)}, a, &t, &err);
    unguard(&g);
    cr_assert_eq(rc, 0, "parse '%s': %s", text, err.msg ? err.msg : "");
    return t;
}

static char *format_type(const sl_type *t)
{
    sl_buf b;
    sl_buf_init(&b, 0);
    cr_assert_eq(sl_type_format(t, &b), 0);
    char *s = malloc(b.len + 1);
    memcpy(s, b.data, b.len);
    s[b.len] = '\0';
    sl_buf_free(&b);
    return s;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
    out[2 * n] = '\0';
}

/* Encodes `json` as `type`; returns the code, with the bytes as hex in `out_hex` (cap 4096). */
static int encode(const char *type, const char *json, sl_encode_scratch *sc, char *out_hex,
                  sl_error *err)
{
    sl_arena a;
    sl_arena_init(&a);
    const sl_type *t = parse_ok(&a, type);
    size_t n = strlen(json);
    guarded g = guard(json, n);
    sl_json_cursor c;
    sl_json_value v;
    sl_json_cursor_init(&c, g.ptr, n, err);
    cr_assert_eq(sl_json_scan_value(&c, &v), 0, "bad test JSON %s", json);
    sl_buf out;
    sl_buf_init(&out, 0);
    int rc = sl_type_encode(t, &v, sc, &out, err);
    if (out.len < 2000)
        hex(out.data, out.len, out_hex);
    else
        strcpy(out_hex, "(long)");
    sl_buf_free(&out);
    unguard(&g);
    sl_arena_free(&a);
    return rc;
}

/* ---- grammar ---- */

typedef struct {
    const char *in;
    const char *canonical;
} fmt_case;

static const fmt_case fmt_cases[] = {
    {"String", "String"},
    {"  String  ", "String"},
    {"FixedString(16)", "FixedString(16)"},
    {"Bool", "Bool"},
    {"Boolean", "Bool"},
    {"bool", "Bool"},
    {"UInt8", "UInt8"},
    {"UInt256", "UInt256"},
    {"Int8", "Int8"},
    {"Int128", "Int128"},
    {"Float32", "Float32"},
    {"Float64", "Float64"},
    {"Decimal(18,4)", "Decimal(18, 4)"},
    {"Decimal(9)", "Decimal(9, 0)"},
    {"Decimal", "Decimal(10, 0)"},
    {"Decimal(1, 0)", "Decimal(1, 0)"},
    {"Decimal(76, 76)", "Decimal(76, 76)"},
    {"Decimal(10,10)", "Decimal(10, 10)"},
    {"Decimal32(2)", "Decimal(9, 2)"},
    {"Decimal64(4)", "Decimal(18, 4)"},
    {"Decimal128(10)", "Decimal(38, 10)"},
    {"Decimal256(20)", "Decimal(76, 20)"},
    {"decimal(9,2)", "Decimal(9, 2)"},
    {"Date", "Date"},
    {"Date32", "Date32"},
    {"DateTime", "DateTime"},
    {"DateTime('UTC')", "DateTime('UTC')"},
    {"DateTime('')", "DateTime"},
    {"DateTime('Europe/Madrid')", "DateTime('Europe/Madrid')"},
    {"DateTime64", "DateTime64(3)"},
    {"DateTime64(0)", "DateTime64(0)"},
    {"DateTime64(3,'UTC')", "DateTime64(3, 'UTC')"},
    {"DateTime64(9, 'America/New_York')", "DateTime64(9, 'America/New_York')"},
    {"DateTime64(3, 'Etc/GMT+5')", "DateTime64(3, 'Etc/GMT+5')"},
    {"DateTime64(+3)", "DateTime64(3)"},
    {"UUID", "UUID"},
    {"IPv4", "IPv4"},
    {"IPv6", "IPv6"},
    {"Enum8('a'=1,'b'=2)", "Enum8('a' = 1, 'b' = 2)"},
    {"Enum8('b' = 2, 'a' = 1)", "Enum8('a' = 1, 'b' = 2)"},
    {"Enum('a'=1,'b'=2)", "Enum8('a' = 1, 'b' = 2)"},
    {"Enum('a'=1000)", "Enum16('a' = 1000)"},
    {"Enum('a'=127,'b'=128)", "Enum16('a' = 127, 'b' = 128)"},
    {"Enum('a'=-129)", "Enum16('a' = -129)"},
    {"Enum8('a', 'b')", "Enum8('a' = 1, 'b' = 2)"},
    {"Enum8('a' = 1, 'b')", "Enum8('a' = 1, 'b' = 2)"},
    {"Enum16('a','b')", "Enum16('a' = 1, 'b' = 2)"},
    {"Enum8('a' = -128)", "Enum8('a' = -128)"},
    {"Enum8('a' = +1)", "Enum8('a' = 1)"},
    {"Enum8('a' = 0x10)", "Enum8('a' = 16)"},
    {"Enum16('a' = -32768, 'b' = 32767)", "Enum16('a' = -32768, 'b' = 32767)"},
    {"Enum8('it''s' = 1, 'q\\'x' = 2, 'b\\\\s' = 3)",
     "Enum8('it\\'s' = 1, 'q\\'x' = 2, 'b\\\\s' = 3)"},
    {"Enum8('' = 1)", "Enum8('' = 1)"},
    {"Enum8('a'=1,)", "Enum8('a' = 1)"},
    {"Enum8('tab\\there' = 1)", "Enum8('tab\\there' = 1)"},
    {"LowCardinality(String)", "LowCardinality(String)"},
    {"LowCardinality(Nullable(String))", "LowCardinality(Nullable(String))"},
    {"LowCardinality(FixedString(4))", "LowCardinality(FixedString(4))"},
    {"LowCardinality(UUID)", "LowCardinality(UUID)"},
    {"LowCardinality(UInt8)", "LowCardinality(UInt8)"},
    {"LowCardinality(Nullable(Float64))", "LowCardinality(Nullable(Float64))"},
    {"LowCardinality(Date)", "LowCardinality(Date)"},
    {"Nullable(String)", "Nullable(String)"},
    {"Nullable (String)", "Nullable(String)"},
    {"Nullable(Decimal(9,2))", "Nullable(Decimal(9, 2))"},
    {"Nullable(UUID)", "Nullable(UUID)"},
    {"Nullable(JSON)", "Nullable(JSON)"},
    {"Nullable(Enum8('a'=1))", "Nullable(Enum8('a' = 1))"},
    {"Array(UInt8)", "Array(UInt8)"},
    {"Array( UInt8 )", "Array(UInt8)"},
    {"Array(UInt8,)", "Array(UInt8)"},
    {"Array(Array(Array(String)))", "Array(Array(Array(String)))"},
    {"Array(Nullable(String))", "Array(Nullable(String))"},
    {"Array(Tuple(a Nullable(String), b Map(String, Array(UInt8))))",
     "Array(Tuple(a Nullable(String), b Map(String, Array(UInt8))))"},
    {"Tuple(a Int32, b String)", "Tuple(a Int32, b String)"},
    {"Tuple(a  Int32 ,b String )", "Tuple(a Int32, b String)"},
    {"Tuple(Int32, String)", "Tuple(Int32, String)"},
    {"Tuple()", "Tuple()"},
    {"Tuple(`a b` Int32)", "Tuple(`a b` Int32)"},
    {"Tuple(`a``b` Int8)", "Tuple(`a\\`b` Int8)"},
    {"Tuple(Int8 Int8)", "Tuple(Int8 Int8)"},
    {"Tuple(Nullable(Int8))", "Tuple(Nullable(Int8))"},
    {"Tuple(a Int8, b Tuple(a Int8))", "Tuple(a Int8, b Tuple(a Int8))"},
    {"Tuple(INT UNSIGNED, DOUBLE PRECISION)", "Tuple(UInt32, Float64)"},
    {"Tuple(a INT UNSIGNED)", "Tuple(a UInt32)"},
    {"Map(String, UInt64)", "Map(String, UInt64)"},
    {"Map(String,Nullable(UInt8))", "Map(String, Nullable(UInt8))"},
    {"Map(LowCardinality(String), UInt64)", "Map(LowCardinality(String), UInt64)"},
    {"Map(Decimal(9,2), UInt8)", "Map(Decimal(9, 2), UInt8)"},
    {"Map(Date, UInt8)", "Map(Date, UInt8)"},
    {"Map(UUID, UInt8)", "Map(UUID, UInt8)"},
    {"Map(Enum8('a'=1), UInt8)", "Map(Enum8('a' = 1), UInt8)"},
    {"Map(String, Map(String, Array(Tuple(Int8, String))))",
     "Map(String, Map(String, Array(Tuple(Int8, String))))"},
    {"JSON", "JSON"},
    {"json", "JSON"},
    {"INT", "Int32"},
    {"int", "Int32"},
    {"BIGINT", "Int64"},
    {"BIGINT UNSIGNED", "UInt64"},
    {"INT UNSIGNED", "UInt32"},
    {"INT SIGNED", "Int32"},
    {"TINYINT", "Int8"},
    {"TINYINT UNSIGNED", "UInt8"},
    {"SMALLINT", "Int16"},
    {"MEDIUMINT", "Int32"},
    {"INTEGER", "Int32"},
    {"INT(11)", "Int32"},
    {"BIGINT(20) UNSIGNED", "UInt64"},
    {"SIGNED", "Int64"},
    {"UNSIGNED", "UInt64"},
    {"TEXT", "String"},
    {"VARCHAR(255)", "String"},
    {"CHAR", "String"},
    {"CHAR VARYING", "String"},
    {"BLOB", "String"},
    {"FLOAT", "Float32"},
    {"FLOAT(10)", "Float32"},
    {"REAL", "Float32"},
    {"DOUBLE", "Float64"},
    {"DOUBLE PRECISION", "Float64"},
    {"DOUBLE(10,2)", "Float64"},
    {"DEC(9,2)", "Decimal(9, 2)"},
    {"NUMERIC", "Decimal(10, 0)"},
    {"FIXED(9,2)", "Decimal(9, 2)"},
    {"DATETIME", "DateTime"},
    {"TIMESTAMP", "DateTime"},
    {"TIMESTAMP(3)", "DateTime64(3)"},
    {"DATE", "Date"},
    {"INET4", "IPv4"},
    {"INET6", "IPv6"},
    {"BINARY(4)", "FixedString(4)"},
    {"Int32(10)", "Int32"},
    {"String(10)", "String"},
    {"Array(Array(Array(Array(Array(Array(Array(Array(Array(Array(Array(Array(Array(Array(Array("
     "Array(Array(Array(Array(Array(Array(Array(Array(Array(Array(Array(Array(Array(Array(Array("
     "Array(UInt8)))))))))))))))))))))))))))))))",
     "Array(Array(Array(Array(Array(Array(Array(Array(Array(Array(Array(Array(Array(Array(Array("
     "Array(Array(Array(Array(Array(Array(Array(Array(Array(Array(Array(Array(Array(Array(Array("
     "Array(UInt8)))))))))))))))))))))))))))))))"},
};

Test(types_grammar, canonical_spelling_and_round_trip)
{
    for (size_t i = 0; i < sizeof(fmt_cases) / sizeof(fmt_cases[0]); i++) {
        sl_arena a;
        sl_arena_init(&a);
        const sl_type *t = parse_ok(&a, fmt_cases[i].in);
        char *s = format_type(t);
        cr_expect_str_eq(s, fmt_cases[i].canonical, "format of '%s'", fmt_cases[i].in);
        const sl_type *t2 = parse_ok(&a, s);
        char *s2 = format_type(t2);
        cr_expect_str_eq(s2, s, "round trip of '%s'", fmt_cases[i].in);
        free(s);
        free(s2);
        sl_arena_free(&a);
    }
}

typedef struct {
    const char *in;
    size_t offset;
    const char *msg;
} parse_err_case;

static const parse_err_case parse_err_cases[] = {
    {"", 0, "expected a type name"},
    {"   ", 3, "expected a type name"},
    {"string", 0, "unknown type 'string'"},
    {"STRING", 0, "unknown type 'STRING'"},
    {"uint8", 0, "unknown type 'uint8'"},
    {"Strin", 0, "unknown type 'Strin'"},
    {"Foo(1)", 0, "unknown type 'Foo'"},
    {"Variant(String)", 0, "type Variant is not supported by sluice (see docs/conversion.md)"},
    {"Dynamic", 0, "type Dynamic is not supported by sluice (see docs/conversion.md)"},
    {"Nested(a Int8)", 0, "type Nested is not supported by sluice (see docs/conversion.md)"},
    {"String)", 6, "unexpected text after the type"},
    {"String String", 7, "unexpected text after the type"},
    {"UInt8 (", 7, "expected a number for the argument of a type alias"},
    {"FixedString", 11, "expected '(' and a size after FixedString"},
    {"FixedString(0)", 12, "FixedString size must be between 1 and 1048576"},
    {"FixedString(-1)", 12, "expected a number for the FixedString size"},
    {"FixedString(abc)", 12, "expected a number for the FixedString size"},
    {"FixedString(3", 13, "expected ')' after the size of FixedString"},
    {"FixedString(2000000)", 12, "FixedString size must be between 1 and 1048576"},
    {"Decimal(77,2)", 8, "Decimal precision must be between 1 and 76, got 77"},
    {"Decimal(0,0)", 8, "Decimal precision must be between 1 and 76, got 0"},
    {"Decimal(5,6)", 8, "Decimal scale must be between 0 and the precision 5, got 6"},
    {"Decimal(9,2,1)", 12, "expected ')' after Decimal(precision, scale)"},
    {"Decimal(1e1, 2)", 8, "expected a number for the Decimal precision"},
    {"Decimal32", 9, "expected '(' and a scale after DecimalN, like Decimal64(4)"},
    {"Decimal64(19)", 10, "Decimal scale must be between 0 and the precision 18, got 19"},
    {"DateTime64(10)", 11, "DateTime64 precision must be between 0 and 9"},
    {"DateTime64(3, UTC)", 14, "expected a quoted string for the DateTime64 time zone"},
    {"DateTime64(3, 'Nowhere/Zone')", 14, "unknown time zone 'Nowhere/Zone'"},
    {"DateTime('../../etc/passwd')", 9, "unknown time zone '../../etc/passwd'"},
    {"DateTime(\"UTC\")", 9, "expected a quoted string for the DateTime time zone"},
    {"DateTime('UTC'", 14, "expected ')' after DateTime('time zone')"},
    {"Enum8()", 0, "Enum needs at least one element"},
    {"Enum8", 5, "expected '(' and the elements of Enum, like Enum8('a' = 1)"},
    {"Enum8(-1)", 6, "expected a quoted string for an Enum element name"},
    {"Enum8('a' = 1.0)", 12,
     "expected an integer enum value (elements are 'name' = integer or 'name')"},
    {"Enum8('a' = '1')", 12,
     "expected an integer enum value (elements are 'name' = integer or 'name')"},
    {"Enum8('a' = 1, 'a' = 2)", 0, "duplicate name 'a' in Enum"},
    {"Enum8('a' = 1, 'b' = 1)", 0, "duplicate value in Enum (element 'b')"},
    {"Enum8('a' = 200)", 0, "Enum8 values must be between -128 and 127"},
    {"Enum16('a' = 40000)", 0, "Enum16 values must be between -32768 and 32767"},
    {"Enum8('a", 6, "unterminated string in an Enum element name"},
    {"Enum8('a' = 1 'b' = 2)", 14, "expected ',' or ')' after an Enum element"},
    {"Nullable(Array(String))", 0,
     "Nullable cannot wrap Array(String) (ClickHouse refuses Nullable around Array, Map, Tuple, "
     "LowCardinality and Nullable)"},
    {"Nullable(Map(String,String))", 0,
     "Nullable cannot wrap Map(String, String) (ClickHouse refuses Nullable around Array, Map, "
     "Tuple, LowCardinality and Nullable)"},
    {"Nullable(Tuple(Int8))", 0,
     "Nullable cannot wrap Tuple(Int8) (ClickHouse refuses Nullable around Array, Map, Tuple, "
     "LowCardinality and Nullable)"},
    {"Nullable(LowCardinality(String))", 0,
     "Nullable cannot wrap LowCardinality(String) (ClickHouse refuses Nullable around Array, Map, "
     "Tuple, LowCardinality and Nullable)"},
    {"Nullable(Nullable(String))", 0,
     "Nullable cannot wrap Nullable(String) (ClickHouse refuses Nullable around Array, Map, Tuple, "
     "LowCardinality and Nullable)"},
    {"Nullable()", 9, "expected a type name"},
    {"Nullable(String, String)", 17, "expected ')' after the argument of Nullable"},
    {"LowCardinality(DateTime64(3))", 0,
     "LowCardinality cannot wrap DateTime64(3) (only strings, numbers, Date, DateTime, UUID, IP "
     "addresses and Nullable of those)"},
    {"LowCardinality(Decimal(9,2))", 0,
     "LowCardinality cannot wrap Decimal(9, 2) (only strings, numbers, Date, DateTime, UUID, IP "
     "addresses and Nullable of those)"},
    {"LowCardinality(Array(String))", 0,
     "LowCardinality cannot wrap Array(String) (only strings, numbers, Date, DateTime, UUID, IP "
     "addresses and Nullable of those)"},
    {"LowCardinality(LowCardinality(String))", 0,
     "LowCardinality cannot wrap LowCardinality(String) (only strings, numbers, Date, DateTime, "
     "UUID, IP addresses and Nullable of those)"},
    {"LowCardinality(Enum8('a'=1))", 0,
     "LowCardinality cannot wrap Enum8('a' = 1) (only strings, numbers, Date, DateTime, UUID, IP "
     "addresses and Nullable of those)"},
    {"LowCardinality(Nullable(Decimal(9,2)))", 0,
     "LowCardinality cannot wrap Nullable(Decimal(9, 2)) (only strings, numbers, Date, DateTime, "
     "UUID, IP addresses and Nullable of those)"},
    {"Array()", 6, "expected a type name"},
    {"Array(UInt8", 11, "expected ')' after the argument of Array"},
    {"Array(UInt8))", 12, "unexpected text after the type"},
    {"Tuple(a Int32, String)", 15, "Tuple elements must all have names or none"},
    {"Tuple(a Int32, a String)", 15, "duplicate element name 'a' in Tuple"},
    {"Tuple(a)", 6, "unknown type 'a'"},
    {"Tuple(`` Int8)", 6, "empty element name in Tuple"},
    {"Tuple(a Int8", 12, "expected ',' or ')' after a Tuple element"},
    {"Map(String)", 10, "expected ',' and the value type after the Map key type"},
    {"Map(String, UInt8, UInt8)", 19, "expected ')' after Map(key, value)"},
    {"Map(Nullable(String), UInt64)", 4,
     "Map key cannot be Nullable(String) (keys are JSON object keys: strings, numbers, dates, "
     "UUID, IP addresses or Enum, not Nullable)"},
    {"Map(Array(String), UInt64)", 4,
     "Map key cannot be Array(String) (keys are JSON object keys: strings, numbers, dates, UUID, "
     "IP addresses or Enum, not Nullable)"},
    {"Map(Tuple(Int8), UInt8)", 4,
     "Map key cannot be Tuple(Int8) (keys are JSON object keys: strings, numbers, dates, UUID, IP "
     "addresses or Enum, not Nullable)"},
    {"Map(JSON, UInt8)", 4,
     "Map key cannot be JSON (keys are JSON object keys: strings, numbers, dates, UUID, IP "
     "addresses or Enum, not Nullable)"},
    {"JSON(a UInt8)", 4, "JSON type arguments (paths, SKIP) are not supported"},
    {"Array(Array(Array(Array(Array(Array(Array(Array(Array(Array(Array(Array(Array(Array(Array("
     "Array(Array(Array(Array(Array(Array(Array(Array(Array(Array(Array(Array(Array(Array(Array("
     "Array(Array(UInt8))))))))))))))))))))))))))))))))",
     192, "type nested deeper than 32 levels"},
};

Test(types_grammar, errors_say_where_and_what)
{
    for (size_t i = 0; i < sizeof(parse_err_cases) / sizeof(parse_err_cases[0]); i++) {
        const parse_err_case *pc = &parse_err_cases[i];
        sl_arena a;
        sl_arena_init(&a);
        sl_error err = {0};
        const sl_type *t = NULL;
        size_t n = strlen(pc->in);
        guarded g = guard(pc->in, n);
        int rc = sl_type_parse((sl_str){g.ptr, n}, &a, &t, &err);
        unguard(&g);
        cr_expect_eq(rc, SL_ETYPE, "'%s' should fail", pc->in);
        cr_expect_eq(err.code, SL_ETYPE);
        cr_expect_eq(err.offset, pc->offset, "offset for '%s': %zu", pc->in, err.offset);
        cr_expect_str_eq(err.msg, pc->msg, "message for '%s'", pc->in);
        sl_arena_free(&a);
    }
}

Test(types_grammar, fields)
{
    sl_arena a;
    sl_arena_init(&a);
    const sl_type *t = parse_ok(&a, "Decimal(18, 4)");
    cr_expect_eq(t->kind, SL_TYPE_DECIMAL);
    cr_expect_eq(t->precision, 18);
    cr_expect_eq(t->scale, 4);
    cr_expect_eq(t->size, 8);
    static const struct {
        const char *type;
        uint32_t size;
    } dec[] = {{"Decimal(9, 0)", 4},   {"Decimal(10, 0)", 8},  {"Decimal(19, 0)", 16},
               {"Decimal(38, 0)", 16}, {"Decimal(39, 0)", 32}, {"Decimal256(3)", 32}};
    for (size_t i = 0; i < sizeof(dec) / sizeof(dec[0]); i++)
        cr_expect_eq(parse_ok(&a, dec[i].type)->size, dec[i].size, "%s", dec[i].type);
    t = parse_ok(&a, "DateTime64(6, 'Europe/Madrid')");
    cr_expect_eq(t->kind, SL_TYPE_DATETIME64);
    cr_expect_eq(t->scale, 6);
    cr_expect(sl_str_eq_cstr(t->timezone, "Europe/Madrid"));
    t = parse_ok(&a, "DateTime");
    cr_expect_eq(t->timezone.len, 0);
    t = parse_ok(&a, "UInt128");
    cr_expect_eq(t->kind, SL_TYPE_INT);
    cr_expect_eq(t->size, 16);
    cr_expect(!t->is_signed);
    t = parse_ok(&a, "Enum16('x\\'y' = -5, 'b' = 300)");
    cr_expect_eq(t->size, 2);
    cr_expect_eq(t->n_enum, 2);
    cr_expect(sl_str_eq_cstr(t->enum_names[0], "x'y"));
    cr_expect_eq(t->enum_values[0], -5);
    cr_expect_eq(t->enum_values[1], 300);
    t = parse_ok(&a, "Tuple(a Int32, `b c` Map(String, Array(UInt8)))");
    cr_expect_eq(t->n_children, 2);
    cr_expect(sl_str_eq_cstr(t->names[1], "b c"));
    cr_expect_eq(t->children[1]->kind, SL_TYPE_MAP);
    cr_expect_eq(t->children[1]->children[1]->children[0]->size, 1);
    t = parse_ok(&a, "Tuple(Int8, String)");
    cr_expect_null(t->names);
    t = parse_ok(&a, "FixedString(3)");
    cr_expect_eq(t->size, 3);
    sl_arena_free(&a);
}

Test(types_grammar, nullable_rules_and_empty_values)
{
    sl_arena a;
    sl_arena_init(&a);
    static const char *const yes[] = {"String", "UInt8",          "Decimal(9, 2)", "UUID",
                                      "JSON",   "Enum8('a' = 1)", "DateTime64(3)", "IPv6"};
    static const char *const no[] = {"Array(UInt8)", "Map(String, String)", "Tuple(Int8)",
                                     "LowCardinality(String)", "Nullable(String)"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        cr_expect(sl_type_can_be_nullable(parse_ok(&a, yes[i])), "%s", yes[i]);
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        cr_expect(!sl_type_can_be_nullable(parse_ok(&a, no[i])), "%s", no[i]);
    sl_buf b;
    sl_buf_init(&b, 0);
    cr_expect_eq(sl_type_encode_empty(parse_ok(&a, "Array(Nullable(String))"), &b), 1);
    cr_expect_eq(sl_type_encode_empty(parse_ok(&a, "Map(String, UInt8)"), &b), 1);
    cr_expect_eq(sl_type_encode_empty(parse_ok(&a, "String"), &b), 0);
    cr_expect_eq(sl_type_encode_empty(parse_ok(&a, "Nullable(String)"), &b), 0);
    cr_expect_eq(sl_type_encode_empty(parse_ok(&a, "Tuple(a Array(UInt8))"), &b), 0);
    cr_expect_eq(b.len, 2);
    cr_expect(b.data[0] == 0 && b.data[1] == 0);
    sl_buf_free(&b);
    sl_arena_free(&a);
}

Test(types_grammar, format_into_capped_buffer_fails_cleanly)
{
    sl_arena a;
    sl_arena_init(&a);
    const sl_type *t = parse_ok(&a, "Map(String, Array(Nullable(DateTime64(3, 'UTC'))))");
    sl_buf b;
    sl_buf_init(&b, 8);
    cr_expect_eq(sl_type_format(t, &b), SL_ETOOBIG);
    sl_buf_free(&b);
    sl_arena_free(&a);
}

/* ---- encoders ---- */

typedef struct {
    const char *type;
    const char *json;
    const char *hex;
} enc_case;

static const enc_case enc_cases[] = {
    {"String", "\"hello\"", "0568656c6c6f"},
    {"String", "\"\"", "00"},
    {"String", "\"a\\\"b\\\\c\\u00e9\\ud83d\\ude00\"", "0b6122625c63c3a9f09f9880"},
    {"String", "123", "03313233"},
    {"String", "-1.5e10", "072d312e35653130"},
    {"String", "true", "0474727565"},
    {"String", "false", "0566616c7365"},
    {"String", "{\"a\":1}", "077b2261223a317d"},
    {"String", "{ \"a\" : [ 1 , 2 ] }", "0b7b2261223a5b312c325d7d"},
    {"String", "[]", "025b5d"},
    {"LowCardinality(String)", "\"x\"", "0178"},
    {"FixedString(3)", "\"abc\"", "616263"},
    {"FixedString(3)", "\"a\"", "610000"},
    {"FixedString(3)", "\"\"", "000000"},
    {"FixedString(3)", "\"\\u00e9\"", "c3a900"},
    {"FixedString(1)", "\"\\u0000\"", "00"},
    {"Bool", "true", "01"},
    {"Bool", "false", "00"},
    {"Bool", "1", "01"},
    {"Bool", "0", "00"},
    {"UInt8", "0", "00"},
    {"UInt8", "255", "ff"},
    {"UInt8", "\"255\"", "ff"},
    {"UInt8", "\"+7\"", "07"},
    {"UInt8", "\"007\"", "07"},
    {"UInt8", "true", "01"},
    {"UInt8", "\"false\"", "00"},
    {"Int8", "-128", "80"},
    {"Int8", "127", "7f"},
    {"Int8", "\"-128\"", "80"},
    {"UInt16", "65535", "ffff"},
    {"Int16", "-32768", "0080"},
    {"Int16", "32767", "ff7f"},
    {"UInt32", "4294967295", "ffffffff"},
    {"Int32", "-2147483648", "00000080"},
    {"Int32", "2147483647", "ffffff7f"},
    {"UInt64", "18446744073709551615", "ffffffffffffffff"},
    {"Int64", "-9223372036854775808", "0000000000000080"},
    {"Int64", "9223372036854775807", "ffffffffffffff7f"},
    {"UInt128", "340282366920938463463374607431768211455", "ffffffffffffffffffffffffffffffff"},
    {"Int128", "-170141183460469231731687303715884105728", "00000000000000000000000000000080"},
    {"Int128", "170141183460469231731687303715884105727", "ffffffffffffffffffffffffffffff7f"},
    {"UInt256", "115792089237316195423570985008687907853269984665640564039457584007913129639935",
     "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"},
    {"Int256", "-57896044618658097711785492504343953926634992332820282019728792003956564819968",
     "0000000000000000000000000000000000000000000000000000000000000080"},
    {"Int256", "57896044618658097711785492504343953926634992332820282019728792003956564819967",
     "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
    {"Int256", "-1", "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"},
    {"Float32", "0.1", "cdcccc3d"},
    {"Float32", "-0.0", "00000080"},
    {"Float32", "3.4028234e38", "ffff7f7f"},
    {"Float32", "1e-46", "00000000"},
    {"Float32", "1.00000005960464477539062500000001", "0100803f"},
    {"Float32", "\"1.5\"", "0000c03f"},
    {"Float32", "\"-inf\"", "000080ff"},
    {"Float32", "\"nan\"", "0000c07f"},
    {"Float64", "0.1", "9a9999999999b93f"},
    {"Float64", "-0", "0000000000000080"},
    {"Float64", "1.7976931348623157e308", "ffffffffffffef7f"},
    {"Float64", "5e-324", "0100000000000000"},
    {"Float64", "\"inf\"", "000000000000f07f"},
    {"Float64", "\"-Infinity\"", "000000000000f0ff"},
    {"Float64", "\"NaN\"", "000000000000f87f"},
    {"Float64", "\"-nan\"", "000000000000f8ff"},
    {"Float64", "\".5\"", "000000000000e03f"},
    {"Float64", "\"5.\"", "0000000000001440"},
    {"Float64", "\"+1e2\"", "0000000000005940"},
    {"Float64", "\"00012.5\"", "0000000000002940"},
    {"Float64", "true", "000000000000f03f"},
    {"Float64", "\"true\"", "000000000000f03f"},
    {"Float64", "123456789012345678901234567890", "3e376cff90eef845"},
    {"Decimal(9,2)", "1.23", "7b000000"},
    {"Decimal(9,2)", "-1.239", "85ffffff"},
    {"Decimal(9,2)", "9999999.99", "ffc99a3b"},
    {"Decimal(9,2)", "-9999999.99", "013665c4"},
    {"Decimal(9,2)", "\"1.5\"", "96000000"},
    {"Decimal(9,2)", "\"-.5\"", "ceffffff"},
    {"Decimal(9,2)", "1e2", "10270000"},
    {"Decimal(9,2)", "1.5e-1", "0f000000"},
    {"Decimal(9,2)", "1e-5", "00000000"},
    {"Decimal(9,2)", "0", "00000000"},
    {"Decimal(18,4)", "12345678901234.5678", "4ef330a64b9bb601"},
    {"Decimal(18,4)", "-12345678901234.5678", "b20ccf59b46449fe"},
    {"Decimal(38,10)", "9999999999999999999999999999.9999999999",
     "ffffffff3f228a097ac4865aa84c3b4b"},
    {"Decimal(38,10)", "-9999999999999999999999999999.9999999999",
     "01000000c0dd75f6853b79a557b3c4b4"},
    {"Decimal(76,0)",
     "9999999999999999999999999999999999999999999999999999999999999999999999999999",
     "ffffffffffffffffff0f9571f1a57577792965e8abb46407b5159911a7cc1b16"},
    {"Decimal(76,0)",
     "-9999999999999999999999999999999999999999999999999999999999999999999999999999",
     "010000000000000000f06a8e0e5a8a8886d69a17544b9bf84aea66ee5833e4e9"},
    {"Decimal(76,76)",
     "0.9999999999999999999999999999999999999999999999999999999999999999999999999999",
     "ffffffffffffffffff0f9571f1a57577792965e8abb46407b5159911a7cc1b16"},
    {"Decimal(10,10)", "0.1234567890", "d202964900000000"},
    {"Decimal32(4)", "-1.5", "68c5ffff"},
    {"Decimal64(4)", "123.45", "44d6120000000000"},
    {"Decimal128(2)", "1", "64000000000000000000000000000000"},
    {"Decimal256(2)", "1", "6400000000000000000000000000000000000000000000000000000000000000"},
    {"Date", "\"2020-01-01\"", "5647"},
    {"Date", "\"1970-01-01\"", "0000"},
    {"Date", "\"2149-06-06\"", "ffff"},
    {"Date", "\"2024-02-29\"", "464d"},
    {"Date", "\"20240229\"", "464d"},
    {"Date", "0", "0000"},
    {"Date", "65535", "ffff"},
    {"Date", "19782", "464d"},
    {"Date32", "\"1900-01-01\"", "219cffff"},
    {"Date32", "\"2299-12-31\"", "d1d60100"},
    {"Date32", "\"2024-02-29\"", "464d0000"},
    {"Date32", "\"1969-12-31\"", "ffffffff"},
    {"Date32", "-25567", "219cffff"},
    {"Date32", "120529", "d1d60100"},
    {"DateTime", "0", "00000000"},
    {"DateTime", "1700000000", "00f15365"},
    {"DateTime", "4294967295", "ffffffff"},
    {"DateTime", "\"1700000000\"", "00f15365"},
    {"DateTime", "\"2020-01-01T00:00:00Z\"", "00e10b5e"},
    {"DateTime", "\"2020-01-01 00:00:00\"", "00e10b5e"},
    {"DateTime", "\"2020-01-01T00:00:00.999Z\"", "00e10b5e"},
    {"DateTime", "\"2020-01-01T00:00:00+01:00\"", "f0d20b5e"},
    {"DateTime", "\"2020-01-01T00:00:00-0530\"", "582e0c5e"},
    {"DateTime", "\"2024-02-29 12:00:00\"", "c071e065"},
    {"DateTime", "\"2106-02-07 06:28:15\"", "ffffffff"},
    {"DateTime", "\"1970-01-01 00:00:00\"", "00000000"},
    {"DateTime", "\"2020-01-01\"", "00e10b5e"},
    {"DateTime", "\"20200101\"", "00e10b5e"},
    {"DateTime('UTC')", "\"2020-01-01 00:00:00\"", "00e10b5e"},
    {"DateTime('Europe/Madrid')", "\"2020-07-01 12:00:00\"", "a05efc5e"},
    {"DateTime('Europe/Madrid')", "\"2020-01-01 12:00:00\"", "b07b0c5e"},
    {"DateTime('Europe/Madrid')", "\"2020-07-01T12:00:00Z\"", "c07afc5e"},
    {"DateTime('Europe/Madrid')", "1700000000", "00f15365"},
    {"DateTime('Europe/Madrid')", "\"2024-03-31 02:30:00\"", "88ae0866"},
    {"DateTime('Europe/Madrid')", "\"2024-10-27 02:30:00\"", "88891d67"},
    {"DateTime('America/New_York')", "\"2021-03-14 02:30:00\"", "68ad4d60"},
    {"DateTime('America/New_York')", "\"2021-11-07 01:30:00\"", "58648761"},
    {"DateTime('America/New_York')", "\"2021-11-07 01:30:00Z\"", "182c8761"},
    {"DateTime('America/New_York')", "\"2021-07-04 09:00:00\"", "d0b0e160"},
    {"DateTime64(3)", "1700000000123", "7b68e5cf8b010000"},
    {"DateTime64(3)", "-1", "ffffffffffffffff"},
    {"DateTime64(3)", "0", "0000000000000000"},
    {"DateTime64(3)", "\"2020-01-01T00:00:00.123Z\"", "7be8665e6f010000"},
    {"DateTime64(3)", "\"2020-01-01T00:00:00.1239Z\"", "7be8665e6f010000"},
    {"DateTime64(3)", "\"2020-01-01 00:00:00\"", "00e8665e6f010000"},
    {"DateTime64(3)", "\"1700000000.123\"", "7b68e5cf8b010000"},
    {"DateTime64(3)", "\"1900-01-01 00:00:00\"", "00dc01aefdfdffff"},
    {"DateTime64(3)", "\"2299-12-31 23:59:59.999\"", "ff775fa678090000"},
    {"DateTime64(0)", "1700000000", "00f1536500000000"},
    {"DateTime64(6)", "\"2024-02-29 23:59:59.999999\"", "ff9f9b0e8e120600"},
    {"DateTime64(9)", "\"2262-04-11 23:47:16.854775807\"", "ffffffffffffff7f"},
    {"DateTime64(9)", "\"1900-01-01 00:00:00\"", "00002fdf631858e1"},
    {"DateTime64(3, 'Europe/Madrid')", "\"2020-07-01 12:00:00.5\"", "f4a2d10973010000"},
    {"DateTime64(3, 'America/New_York')", "\"2021-11-07 01:30:00.250\"", "baf8dff87c010000"},
    {"DateTime64(3, 'America/New_York')", "1700000000000", "0068e5cf8b010000"},
    {"UUID", "\"8f14e45f-ceea-467f-a0e6-6f8b1a2b3c4d\"", "7f46eace5fe4148f4d3c2b1a8b6fe6a0"},
    {"UUID", "\"8F14E45F-CEEA-467F-A0E6-6F8B1A2B3C4D\"", "7f46eace5fe4148f4d3c2b1a8b6fe6a0"},
    {"UUID", "\"8f14e45fceea467fa0e66f8b1a2b3c4d\"", "7f46eace5fe4148f4d3c2b1a8b6fe6a0"},
    {"UUID", "\"00000000-0000-0000-0000-000000000000\"", "00000000000000000000000000000000"},
    {"UUID", "\"ffffffff-ffff-ffff-ffff-ffffffffffff\"", "ffffffffffffffffffffffffffffffff"},
    {"IPv4", "\"1.2.3.4\"", "04030201"},
    {"IPv4", "\"0.0.0.0\"", "00000000"},
    {"IPv4", "\"255.255.255.255\"", "ffffffff"},
    {"IPv4", "\"010.001.002.003\"", "0302010a"},
    {"IPv6", "\"::1\"", "00000000000000000000000000000001"},
    {"IPv6", "\"::\"", "00000000000000000000000000000000"},
    {"IPv6", "\"2001:db8::1\"", "20010db8000000000000000000000001"},
    {"IPv6", "\"2001:DB8:0:0:0:0:0:1\"", "20010db8000000000000000000000001"},
    {"IPv6", "\"::ffff:1.2.3.4\"", "00000000000000000000ffff01020304"},
    {"IPv6", "\"1.2.3.4\"", "00000000000000000000ffff01020304"},
    {"IPv6", "\"1:2:3:4:5:6:7:8\"", "00010002000300040005000600070008"},
    {"IPv6", "\"1:2:3:4:5:6:1.2.3.4\"", "00010002000300040005000601020304"},
    {"IPv6", "\"1::\"", "00010000000000000000000000000000"},
    {"IPv6", "\"fe80::1:2\"", "fe800000000000000000000000010002"},
    {"IPv6", "\"1:2:3:4:5:6:7::\"", "00010002000300040005000600070000"},
    {"Enum8('a' = 1, 'b' = -2)", "\"a\"", "01"},
    {"Enum8('a' = 1, 'b' = -2)", "\"b\"", "fe"},
    {"Enum8('a' = 1, 'b' = -2)", "1", "01"},
    {"Enum8('a' = 1, 'b' = -2)", "-2", "fe"},
    {"Enum8('a' = 1, 'b' = -2)", "\"-2\"", "fe"},
    {"Enum8('1' = 5, 'b' = 1)", "\"1\"", "05"},
    {"Enum8('1' = 5, 'b' = 1)", "1", "01"},
    {"Enum8('it\\'s' = -128, 'x' = 127)", "\"it's\"", "80"},
    {"Enum16('a' = 1000, 'b' = -32768)", "\"a\"", "e803"},
    {"Enum16('a' = 1000, 'b' = -32768)", "\"b\"", "0080"},
    {"Enum('a' = 1, 'b' = 200)", "\"b\"", "c800"},
    {"Nullable(UInt8)", "null", "01"},
    {"Nullable(UInt8)", "5", "0005"},
    {"Nullable(String)", "\"null\"", "00046e756c6c"},
    {"Nullable(String)", "null", "01"},
    {"Nullable(DateTime64(3))", "\"2020-01-01 00:00:00\"", "0000e8665e6f010000"},
    {"Nullable(Enum8('a' = 1))", "\"a\"", "0001"},
    {"LowCardinality(Nullable(String))", "null", "01"},
    {"LowCardinality(Nullable(String))", "\"x\"", "000178"},
    {"Array(UInt8)", "[]", "00"},
    {"Array(UInt8)", "[1, 2, 3]", "03010203"},
    {"Array(Nullable(UInt8))", "[1, null]", "02000101"},
    {"Array(String)", "[\"a\", {\"b\":1}, 2]", "030161077b2262223a317d0132"},
    {"Array(Array(String))", "[[\"a\"], [], [\"b\", 1]]", "03010161000201620131"},
    {"Array(Array(Nullable(Int8)))", "[[null], [-1, null]]", "0201010200ff01"},
    {"Array(LowCardinality(String))", "[\"x\", \"y\"]", "0201780179"},
    {"Array(Tuple(Int8, String))", "[[1, \"a\"], [2, \"b\"]]", "02010161020162"},
    {"Array(Map(String, UInt8))", "[{\"a\": 1}, {}]", "020101610100"},
    {"Array(Nullable(Decimal(9,2)))", "[1.5, null, \"2.25\"]", "0300960000000100e1000000"},
    {"Array(UInt8)",
     "[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,"
     "34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,"
     "65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,91,92,93,94,95,"
     "96,97,98,99,100,101,102,103,104,105,106,107,108,109,110,111,112,113,114,115,116,117,118,119,"
     "120,121,122,123,124,125,126,127,128]",
     "8101000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2"
     "c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a"
     "5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f80"},
    {"Tuple(a Int32, b String)", "{\"a\": 1, \"b\": \"x\"}", "010000000178"},
    {"Tuple(a Int32, b String)", "{\"b\": \"x\", \"a\": 1}", "010000000178"},
    {"Tuple(a Int32, b String)", "{\"a\": 1, \"b\": \"x\", \"c\": 3}", "010000000178"},
    {"Tuple(a Int32, b Nullable(String))", "{\"a\": 1}", "0100000001"},
    {"Tuple(a Int32, b Nullable(String))", "{\"a\": 1, \"b\": null}", "0100000001"},
    {"Tuple(a Int32, b Array(String))", "{\"a\": 1}", "0100000000"},
    {"Tuple(Int32, String)", "[1, \"x\"]", "010000000178"},
    {"Tuple()", "[]", ""},
    {"Tuple(a Tuple(b UInt8, c Array(Tuple(d String))))",
     "{\"a\": {\"c\": [{\"d\": \"x\"}], \"b\": 7}}", "07010178"},
    {"Tuple(`a b` UInt8)", "{\"a b\": 1}", "01"},
    {"Tuple(a UInt8)", "{\"\\u0061\": 1}", "01"},
    {"Map(String, UInt64)", "{\"a\": 1, \"b\": 2}", "020161010000000000000001620200000000000000"},
    {"Map(String, UInt64)", "{}", "00"},
    {"Map(String, UInt64)", "{\"a\": 1, \"a\": 2}", "020161010000000000000001610200000000000000"},
    {"Map(UInt32, String)", "{\"1\": \"a\", \"2\": \"b\"}", "02010000000161020000000162"},
    {"Map(Int8, UInt8)", "{\"-128\": 1}", "018001"},
    {"Map(UUID, UInt8)", "{\"8f14e45f-ceea-467f-a0e6-6f8b1a2b3c4d\": 1}",
     "017f46eace5fe4148f4d3c2b1a8b6fe6a001"},
    {"Map(Date, UInt8)", "{\"2020-01-01\": 1}", "01564701"},
    {"Map(LowCardinality(String), Array(Nullable(String)))", "{\"k\": [\"a\", null]}",
     "01016b0200016101"},
    {"Map(String, Map(String, Tuple(Int8, Int8)))", "{\"x\": {\"y\": [1, 2]}}", "0101780101790102"},
    {"Map(Enum8('a' = 1), UInt8)", "{\"a\": 1}", "010101"},
    {"Map(String, String)", "{\"a\\u0000b\": \"\\n\"}", "0103610062010a"},
    {"Nullable(JSON)", "null", "01"},
};

Test(types_encode, accepted_values_byte_exact)
{
    sl_encode_scratch sc;
    sl_encode_scratch_init(&sc);
    for (size_t i = 0; i < sizeof(enc_cases) / sizeof(enc_cases[0]); i++) {
        const enc_case *ec = &enc_cases[i];
        char got[4096];
        sl_error err = {0};
        int rc = encode(ec->type, ec->json, &sc, got, &err);
        cr_expect_eq(rc, 0, "%s <- %s: %s", ec->type, ec->json, rc ? err.msg : "");
        if (rc == 0)
            cr_expect_str_eq(got, ec->hex, "%s <- %s", ec->type, ec->json);
    }
    sl_encode_scratch_free(&sc);
}

typedef struct {
    const char *type;
    const char *json;
    int code;
    const char *msg;
} enc_err_case;

static const enc_err_case enc_err_cases[] = {
    {"UInt8", "256", SL_ERANGE, "256 is outside UInt8 [0, 255]"},
    {"UInt8", "300", SL_ERANGE, "300 is outside UInt8 [0, 255]"},
    {"UInt8", "-1", SL_ERANGE, "-1 is outside UInt8 [0, 255]"},
    {"UInt8", "-0", SL_ERANGE, "-0 is not a valid UInt8: an unsigned type takes no '-' sign"},
    {"UInt8", "\"-0\"", SL_ERANGE,
     "\"-0\" is not a valid UInt8: an unsigned type takes no '-' sign"},
    {"UInt8", "1.5", SL_EVALUE,
     "1.5 is not a valid UInt8: expected a whole number without fraction or exponent"},
    {"UInt8", "1e2", SL_EVALUE,
     "1e2 is not a valid UInt8: expected a whole number without fraction or exponent"},
    {"UInt8", "\"1e2\"", SL_EVALUE, "\"1e2\" is not a valid UInt8: expected a whole number"},
    {"UInt8", "\"\"", SL_EVALUE, "\"\" is not a valid UInt8: expected a whole number"},
    {"UInt8", "\"abc\"", SL_EVALUE, "\"abc\" is not a valid UInt8: expected a whole number"},
    {"UInt8", "\" 12\"", SL_EVALUE, "\" 12\" is not a valid UInt8: expected a whole number"},
    {"UInt8", "\"\\u0031\"", SL_EVALUE,
     "\"\\u0031\" is not a valid UInt8: escape sequences are not accepted in this value"},
    {"UInt8", "[1]", SL_EVALUE, "[1] is not a valid UInt8: expected a whole number"},
    {"UInt8", "{\"a\":1}", SL_EVALUE, "{\"a\":1} is not a valid UInt8: expected a whole number"},
    {"UInt8", "\"TRUE\"", SL_EVALUE, "\"TRUE\" is not a valid UInt8: expected a whole number"},
    {"Int8", "-129", SL_ERANGE, "-129 is outside Int8 [-128, 127]"},
    {"Int8", "128", SL_ERANGE, "128 is outside Int8 [-128, 127]"},
    {"Int16", "32768", SL_ERANGE, "32768 is outside Int16 [-32768, 32767]"},
    {"Int32", "2147483648", SL_ERANGE, "2147483648 is outside Int32 [-2147483648, 2147483647]"},
    {"Int64", "9223372036854775808", SL_ERANGE,
     "9223372036854775808 is outside Int64 [-9223372036854775808, 9223372036854775807]"},
    {"UInt64", "18446744073709551616", SL_ERANGE,
     "18446744073709551616 is outside UInt64 [0, 18446744073709551615]"},
    {"Int128", "170141183460469231731687303715884105728", SL_ERANGE,
     "170141183460469231731687303715884105728 is outside Int128 [-2^127, 2^127 - 1]"},
    {"UInt256", "115792089237316195423570985008687907853269984665640564039457584007913129639936",
     SL_ERANGE, "1157920892373161954235709850086879078... is outside UInt256 [0, 2^256 - 1]"},
    {"Int256", "-57896044618658097711785492504343953926634992332820282019728792003956564819969",
     SL_ERANGE, "-578960446186580977117854925043439539... is outside Int256 [-2^255, 2^255 - 1]"},
    {"UInt8", "null", SL_EMISSING, "null is not a valid UInt8"},
    {"Array(UInt8)", "[1, null]", SL_EVALUE,
     "null is not a valid UInt8 (only Nullable(...) accepts null)"},
    {"Float64", "1e400", SL_ERANGE,
     "1e400 is not a valid Float64: the number is too large (would be infinity)"},
    {"Float64", "\"1e400\"", SL_ERANGE,
     "\"1e400\" is not a valid Float64: the number is too large (would be infinity)"},
    {"Float32", "3.4028236e38", SL_ERANGE,
     "3.4028236e38 is not a valid Float32: the number is too large (would be infinity)"},
    {"Float32", "\"1e39\"", SL_ERANGE,
     "\"1e39\" is not a valid Float32: the number is too large (would be infinity)"},
    {"Float64", "\"abc\"", SL_EVALUE,
     "\"abc\" is not a valid Float64: expected a number, \"nan\", \"inf\" or \"-inf\""},
    {"Float64", "\"\"", SL_EVALUE,
     "\"\" is not a valid Float64: expected a number, \"nan\", \"inf\" or \"-inf\""},
    {"Float64", "\".\"", SL_EVALUE,
     "\".\" is not a valid Float64: expected a number, \"nan\", \"inf\" or \"-inf\""},
    {"Float64", "\"1e\"", SL_EVALUE,
     "\"1e\" is not a valid Float64: expected a number, \"nan\", \"inf\" or \"-inf\""},
    {"Float64", "\" 1.5\"", SL_EVALUE,
     "\" 1.5\" is not a valid Float64: expected a number, \"nan\", \"inf\" or \"-inf\""},
    {"Float64", "[]", SL_EVALUE, "[] is not a valid Float64: expected a number"},
    {"Bool", "2", SL_EVALUE, "2 is not a valid Bool: expected true, false, 1 or 0"},
    {"Bool", "\"true\"", SL_EVALUE, "\"true\" is not a valid Bool: expected true, false, 1 or 0"},
    {"Bool", "1.0", SL_EVALUE, "1.0 is not a valid Bool: expected true, false, 1 or 0"},
    {"Bool", "\"1\"", SL_EVALUE, "\"1\" is not a valid Bool: expected true, false, 1 or 0"},
    {"Decimal(9,2)", "10000000", SL_ERANGE,
     "10000000 is not a valid Decimal(9, 2): more than 9 digits (at most 7 before the point)"},
    {"Decimal(9,2)", "\"abc\"", SL_EVALUE,
     "\"abc\" is not a valid Decimal(9, 2): expected a decimal number"},
    {"Decimal(9,2)", "true", SL_EVALUE,
     "true is not a valid Decimal(9, 2): expected a decimal number"},
    {"Decimal(9,2)", "\"\"", SL_EVALUE,
     "\"\" is not a valid Decimal(9, 2): expected a decimal number"},
    {"Decimal(3,2)", "10.5", SL_ERANGE,
     "10.5 is not a valid Decimal(3, 2): more than 3 digits (at most 1 before the point)"},
    {"Decimal(76,0)",
     "10000000000000000000000000000000000000000000000000000000000000000000000000000", SL_ERANGE,
     "1000000000000000000000000000000000000... is not a valid Decimal(76, 0): more than 76 digits "
     "(at most 76 before the point)"},
    {"Decimal(3,0)", "0e1000", SL_ERANGE,
     "0e1000 is not a valid Decimal(3, 0): more than 3 digits (at most 3 before the point)"},
    {"FixedString(3)", "\"abcd\"", SL_EVALUE,
     "\"abcd\" is not a valid FixedString(3): it is 4 bytes, longer than 3"},
    {"FixedString(3)", "12", SL_EVALUE, "12 is not a valid FixedString(3): expected a JSON string"},
    {"FixedString(2)", "\"\\u00e9\\u00e9\"", SL_EVALUE,
     "\"\\u00e9\\u00e9\" is not a valid FixedString(2): it is 4 bytes, longer than 2"},
    {"Date", "\"2020-02-30\"", SL_ERANGE,
     "\"2020-02-30\" is not a valid Date: day 30 does not exist in 2020-02 (1-29)"},
    {"Date", "\"2149-06-07\"", SL_ERANGE,
     "\"2149-06-07\" is not a valid Date: date 2149-06-07 is outside Date [1970-01-01, "
     "2149-06-06]"},
    {"Date", "\"1969-12-31\"", SL_ERANGE,
     "\"1969-12-31\" is not a valid Date: date 1969-12-31 is outside Date [1970-01-01, "
     "2149-06-06]"},
    {"Date", "65536", SL_ERANGE,
     "65536 is not a valid Date: date 2149-06-07 is outside Date [1970-01-01, 2149-06-06]"},
    {"Date", "-1", SL_ERANGE,
     "-1 is not a valid Date: date 1969-12-31 is outside Date [1970-01-01, 2149-06-06]"},
    {"Date", "1.5", SL_EVALUE,
     "1.5 is not a valid Date: expected a date string or a whole number of days"},
    {"Date", "\"2020-01-01 10:00:00\"", SL_EVALUE,
     "\"2020-01-01 10:00:00\" is not a valid Date: expected the end of the date (a Date column "
     "takes no time part) at position 11"},
    {"Date", "true", SL_EVALUE,
     "true is not a valid Date: expected a date string like 2024-01-31 or a number of days"},
    {"Date32", "\"1899-12-31\"", SL_ERANGE,
     "\"1899-12-31\" is not a valid Date32: date 1899-12-31 is outside Date32 [1900-01-01, "
     "2299-12-31]"},
    {"Date32", "\"2300-01-01\"", SL_ERANGE,
     "\"2300-01-01\" is not a valid Date32: date 2300-01-01 is outside Date32 [1900-01-01, "
     "2299-12-31]"},
    {"Date32", "120530", SL_ERANGE,
     "120530 is not a valid Date32: date 2300-01-01 is outside Date32 [1900-01-01, 2299-12-31]"},
    {"DateTime", "-1", SL_ERANGE,
     "-1 is not a valid DateTime: 1969-12-31 23:59:59 UTC is outside DateTime [1970-01-01 "
     "00:00:00, 2106-02-07 06:28:15] UTC"},
    {"DateTime", "4294967296", SL_ERANGE,
     "4294967296 is not a valid DateTime: 2106-02-07 06:28:16 UTC is outside DateTime [1970-01-01 "
     "00:00:00, 2106-02-07 06:28:15] UTC"},
    {"DateTime", "\"2106-02-07 06:28:16\"", SL_ERANGE,
     "\"2106-02-07 06:28:16\" is not a valid DateTime: 2106-02-07 06:28:16 UTC is outside DateTime "
     "[1970-01-01 00:00:00, 2106-02-07 06:28:15] UTC"},
    {"DateTime", "\"1969-12-31 23:59:59\"", SL_ERANGE,
     "\"1969-12-31 23:59:59\" is not a valid DateTime: 1969-12-31 23:59:59 UTC is outside DateTime "
     "[1970-01-01 00:00:00, 2106-02-07 06:28:15] UTC"},
    {"DateTime", "1700000000.5", SL_EVALUE,
     "1700000000.5 is not a valid DateTime: expected a date-time string or a whole number (epoch)"},
    {"DateTime", "\"1700000000.5\"", SL_EVALUE,
     "\"1700000000.5\" is not a valid DateTime: a unix time with a fraction is accepted only by "
     "DateTime64"},
    {"DateTime", "\"yesterday\"", SL_EVALUE,
     "\"yesterday\" is not a valid DateTime: expected a 4-digit year (a date-time like 2026-01-02 "
     "10:00:00) at position 1"},
    {"DateTime", "true", SL_EVALUE,
     "true is not a valid DateTime: expected a date-time string like 2024-01-31 12:00:00 or a unix "
     "epoch"},
    {"DateTime64(3)", "\"1899-12-31 23:59:59\"", SL_ERANGE,
     "\"1899-12-31 23:59:59\" is not a valid DateTime64(3): 1899-12-31 23:59:59 UTC is outside "
     "DateTime64 [1900-01-01 00:00:00, 2299-12-31 23:59:59.999999999] UTC"},
    {"DateTime64(3)", "\"2300-01-01 00:00:00\"", SL_ERANGE,
     "\"2300-01-01 00:00:00\" is not a valid DateTime64(3): 2300-01-01 00:00:00 UTC is outside "
     "DateTime64 [1900-01-01 00:00:00, 2299-12-31 23:59:59.999999999] UTC"},
    {"DateTime64(3)", "1.5", SL_EVALUE,
     "1.5 is not a valid DateTime64(3): expected a date-time string or a whole number (epoch)"},
    {"DateTime64(9)", "\"2262-04-11 23:47:16.854775808\"", SL_ERANGE,
     "\"2262-04-11 23:47:16.854775808\" is not a valid DateTime64(9): 2262-04-11 23:47:16 UTC is "
     "past DateTime64(9)'s last instant, 2262-04-11 23:47:16.854775807 UTC"},
    {"UUID", "\"{8f14e45f-ceea-467f-a0e6-6f8b1a2b3c4d}\"", SL_EVALUE,
     "\"{8f14e45f-ceea-467f-a0e6-6f8b1a2b3c4d}\" is not a valid UUID: expected a UUID like "
     "8f14e45f-ceea-467f-a0e6-6f8b1a2b3c4d"},
    {"UUID", "\"8f14e45f-ceea-467f-a0e6-6f8b1a2b3c4\"", SL_EVALUE,
     "\"8f14e45f-ceea-467f-a0e6-6f8b1a2b3c4\" is not a valid UUID: expected a UUID like "
     "8f14e45f-ceea-467f-a0e6-6f8b1a2b3c4d"},
    {"UUID", "\"8f14e45f-ceea-467f-a0e6-6f8b1a2b3c4g\"", SL_EVALUE,
     "\"8f14e45f-ceea-467f-a0e6-6f8b1a2b3c4g\" is not a valid UUID: expected a UUID like "
     "8f14e45f-ceea-467f-a0e6-6f8b1a2b3c4d"},
    {"UUID", "\"8f14e45f+ceea-467f-a0e6-6f8b1a2b3c4d\"", SL_EVALUE,
     "\"8f14e45f+ceea-467f-a0e6-6f8b1a2b3c4d\" is not a valid UUID: expected a UUID like "
     "8f14e45f-ceea-467f-a0e6-6f8b1a2b3c4d"},
    {"UUID", "123", SL_EVALUE,
     "123 is not a valid UUID: expected a UUID like 8f14e45f-ceea-467f-a0e6-6f8b1a2b3c4d"},
    {"IPv4", "\"1.2.3\"", SL_EVALUE,
     "\"1.2.3\" is not a valid IPv4: expected an IPv4 address like 192.168.0.1"},
    {"IPv4", "\"256.1.1.1\"", SL_EVALUE,
     "\"256.1.1.1\" is not a valid IPv4: expected an IPv4 address like 192.168.0.1"},
    {"IPv4", "\"1.2.3.4.5\"", SL_EVALUE,
     "\"1.2.3.4.5\" is not a valid IPv4: expected an IPv4 address like 192.168.0.1"},
    {"IPv4", "\"1.2.3.4 \"", SL_EVALUE,
     "\"1.2.3.4 \" is not a valid IPv4: expected an IPv4 address like 192.168.0.1"},
    {"IPv4", "16909060", SL_EVALUE,
     "16909060 is not a valid IPv4: expected an IPv4 address like 192.168.0.1"},
    {"IPv4", "\"\"", SL_EVALUE,
     "\"\" is not a valid IPv4: expected an IPv4 address like 192.168.0.1"},
    {"IPv4", "\"1111.2.3.4\"", SL_EVALUE,
     "\"1111.2.3.4\" is not a valid IPv4: expected an IPv4 address like 192.168.0.1"},
    {"IPv6", "\"1::2::3\"", SL_EVALUE,
     "\"1::2::3\" is not a valid IPv6: expected an IPv6 address like 2001:db8::1 (or IPv4 text)"},
    {"IPv6", "\"2001:db8::1%eth0\"", SL_EVALUE,
     "\"2001:db8::1%eth0\" is not a valid IPv6: expected an IPv6 address like 2001:db8::1 (or IPv4 "
     "text)"},
    {"IPv6", "\"[::1]\"", SL_EVALUE,
     "\"[::1]\" is not a valid IPv6: expected an IPv6 address like 2001:db8::1 (or IPv4 text)"},
    {"IPv6", "\"00001::\"", SL_EVALUE,
     "\"00001::\" is not a valid IPv6: expected an IPv6 address like 2001:db8::1 (or IPv4 text)"},
    {"IPv6", "\"1:2:3:4:5:6:7:8:9\"", SL_EVALUE,
     "\"1:2:3:4:5:6:7:8:9\" is not a valid IPv6: expected an IPv6 address like 2001:db8::1 (or "
     "IPv4 text)"},
    {"IPv6", "\"1:2:3:4:5:6:7\"", SL_EVALUE,
     "\"1:2:3:4:5:6:7\" is not a valid IPv6: expected an IPv6 address like 2001:db8::1 (or IPv4 "
     "text)"},
    {"IPv6", "\":1::\"", SL_EVALUE,
     "\":1::\" is not a valid IPv6: expected an IPv6 address like 2001:db8::1 (or IPv4 text)"},
    {"IPv6", "\"1:\"", SL_EVALUE,
     "\"1:\" is not a valid IPv6: expected an IPv6 address like 2001:db8::1 (or IPv4 text)"},
    {"IPv6", "\"1::1.2.3\"", SL_EVALUE,
     "\"1::1.2.3\" is not a valid IPv6: expected an IPv6 address like 2001:db8::1 (or IPv4 text)"},
    {"IPv6", "\"\"", SL_EVALUE,
     "\"\" is not a valid IPv6: expected an IPv6 address like 2001:db8::1 (or IPv4 text)"},
    {"IPv6", "12", SL_EVALUE,
     "12 is not a valid IPv6: expected an IPv6 address like 2001:db8::1 (or IPv4 text)"},
    {"Enum8('a' = 1, 'b' = -2)", "\"c\"", SL_EVALUE,
     "\"c\" is not a valid Enum8('b' = -2, 'a' = 1): not one of the enum's names"},
    {"Enum8('a' = 1, 'b' = -2)", "3", SL_EVALUE,
     "3 is not a valid Enum8('b' = -2, 'a' = 1): 3 is not one of the enum's values"},
    {"Enum8('a' = 1, 'b' = -2)", "\"3\"", SL_EVALUE,
     "\"3\" is not a valid Enum8('b' = -2, 'a' = 1): 3 is not one of the enum's values"},
    {"Enum8('a' = 1, 'b' = -2)", "true", SL_EVALUE,
     "true is not a valid Enum8('b' = -2, 'a' = 1): expected one of the enum's names or values"},
    {"Enum8('a' = 1, 'b' = -2)", "1.0", SL_EVALUE,
     "1.0 is not a valid Enum8('b' = -2, 'a' = 1): expected one of the enum's names or values"},
    {"Tuple(a Int32, b String)", "[1, \"x\"]", SL_EVALUE,
     "[1, \"x\"] is not a valid Tuple(a Int32, b String): expected a JSON object with the element "
     "names as keys"},
    {"Tuple(a Int32, b String)", "{\"a\": 1}", SL_EVALUE,
     "the object has no element 'b' of Tuple(a Int32, b String); send one or make it Nullable"},
    {"Tuple(a Int32, b String)", "{\"a\": 1, \"a\": 2, \"b\": \"x\"}", SL_EVALUE,
     "{\"a\": 1, \"a\": 2, \"b\": \"x\"} is not a valid Tuple(a Int32, b String): the key 'a' "
     "appears twice"},
    {"Tuple(a Int32, b String)", "{\"a\": 1, \"b\": null}", SL_EVALUE,
     "null is not a valid String (only Nullable(...) accepts null)"},
    {"Tuple(Int32, String)", "[1]", SL_EVALUE,
     "[1] is not a valid Tuple(Int32, String): expected an array of 2 values"},
    {"Tuple(Int32, String)", "[1, \"x\", 3]", SL_EVALUE,
     "[1, \"x\", 3] is not a valid Tuple(Int32, String): expected an array of 2 values"},
    {"Tuple(Int32, String)", "{\"1\": 1}", SL_EVALUE,
     "{\"1\": 1} is not a valid Tuple(Int32, String): expected a JSON array with one value per "
     "element"},
    {"Map(UInt32, String)", "{\"x\": \"a\"}", SL_EVALUE,
     "\"x\" is not a valid UInt32: expected a whole number"},
    {"Map(Int8, UInt8)", "{\"300\": 1}", SL_ERANGE, "\"300\" is outside Int8 [-128, 127]"},
    {"Map(String, UInt64)", "[]", SL_EVALUE,
     "[] is not a valid Map(String, UInt64): expected a JSON object"},
    {"Map(Bool, UInt8)", "{\"true\": 1}", SL_EVALUE,
     "\"true\" is not a valid Bool: expected true, false, 1 or 0"},
    {"Array(UInt8)", "\"[1,2]\"", SL_EVALUE,
     "\"[1,2]\" is not a valid Array(UInt8): expected a JSON array"},
    {"Array(UInt8)", "1", SL_EVALUE, "1 is not a valid Array(UInt8): expected a JSON array"},
    {"Array(Array(UInt8))", "[[1], [300]]", SL_ERANGE, "300 is outside UInt8 [0, 255]"},
    {"JSON", "\"x\"", SL_EVALUE, "\"x\" is not a valid JSON: expected a JSON object"},
    {"JSON", "[1]", SL_EVALUE, "[1] is not a valid JSON: expected a JSON object"},
    {"Nullable(UInt8)", "\"abc\"", SL_EVALUE,
     "\"abc\" is not a valid UInt8: expected a whole number"},
};

Test(types_encode, rejected_values_and_messages)
{
    sl_encode_scratch sc;
    sl_encode_scratch_init(&sc);
    for (size_t i = 0; i < sizeof(enc_err_cases) / sizeof(enc_err_cases[0]); i++) {
        const enc_err_case *ec = &enc_err_cases[i];
        char got[4096];
        sl_error err = {0};
        int rc = encode(ec->type, ec->json, &sc, got, &err);
        cr_expect_eq(rc, ec->code, "%s <- %s: rc %d", ec->type, ec->json, rc);
        cr_expect_eq(err.code, ec->code, "%s <- %s", ec->type, ec->json);
        cr_expect_str_eq(err.msg, ec->msg, "%s <- %s", ec->type, ec->json);
    }
    sl_encode_scratch_free(&sc);
}

/* Every row of "Differences from ClickHouse" in docs/conversion.md where sluice refuses what
 * ClickHouse 26.7 accepts (what ClickHouse stores is in the comment). The differential test
 * (tests/diff/diffcore.py) recognises the same cases by type and value shape. */
typedef struct {
    const char *type;
    const char *json;
    int code;
    const char *clickhouse;
} diff_case;

static const diff_case documented_diffs[] = {
    {"UInt8", "300", SL_ERANGE, "44 (wraps)"},
    {"UInt64", "18446744073709551621", SL_ERANGE, "5 (wraps)"},
    {"Int8", "\"-129\"", SL_ERANGE, "127 (wraps)"},
    {"UInt32", "-7", SL_ERANGE, "4294967289 (wraps)"},
    {"Array(Int16)", "[1, 40000]", SL_ERANGE, "[1, -25536]"},
    {"Float64", "1e400", SL_ERANGE, "inf"},
    {"Float32", "3.4028236e38", SL_ERANGE, "inf"},
    {"Float32", "\"1e400\"", SL_ERANGE, "inf"},
    {"Int32", "\"\"", SL_EVALUE, "0"},
    {"Nullable(Int64)", "\"\"", SL_EVALUE, "0 (not NULL)"},
    {"Decimal(10, 2)", "\"\"", SL_EVALUE, "0"},
    {"Decimal(10, 2)", "\".\"", SL_EVALUE, "0"},
    {"Decimal(10, 2)", "\"1.2.3\"", SL_EVALUE, "1.23"},
    {"Array(Int32)", "[1, null]", SL_EVALUE, "[1, 0]"},
    {"Array(String)", "[null]", SL_EVALUE, "['']"},
    {"Map(String, Float64)", "{\"a\": null}", SL_EVALUE, "{'a': 0}"},
    {"Tuple(Int32, Bool)", "[1, null]", SL_EVALUE, "(1, false)"},
    {"Tuple(a Int32, b String)", "{\"a\": 1}", SL_EVALUE, "(1, '')"},
    {"Tuple(Int32)", "[]", SL_EVALUE, "(0)"},
    {"Tuple(Nullable(Int32))", "[]", SL_EVALUE, "(0), not (NULL)"},
    {"Date", "true", SL_EVALUE, "1970-01-02"},
    {"Date32", "false", SL_EVALUE, "1970-01-01"},
    {"Date", "\"1969-12-31\"", SL_ERANGE, "1970-01-01 (clamps)"},
    {"Date", "\"2149-06-07\"", SL_ERANGE, "2149-06-06 (clamps)"},
    {"Date32", "\"1899-12-31\"", SL_ERANGE, "1900-01-01 (clamps)"},
    {"Date32", "\"2300-01-01\"", SL_ERANGE, "2299-12-31 (clamps)"},
    {"DateTime('Europe/Madrid')", "\"1969-12-31T23:59:59Z\"", SL_ERANGE, "1970-01-01 01:00:00"},
    {"DateTime", "-1", SL_ERANGE, "1970-01-01 00:00:00 (clamps)"},
    {"DateTime64(0, 'UTC')", "\"2300-01-01T00:00:00Z\"", SL_ERANGE, "2300-01-01 00:00:00"},
    {"DateTime64(0, 'UTC')", "\"1899-12-31T23:59:59Z\"", SL_ERANGE, "1899-12-31 23:59:59"},
    {"DateTime64(0, 'America/New_York')", "\"2300-01-01 00:00:00\"", SL_ERANGE,
     "2300-01-01 00:00:00"},
    {"Date", "\"2021-02-29\"", SL_ERANGE, "2021-03-01 (rolls over)"},
    {"Date32", "\"2020-13-01\"", SL_ERANGE, "1900-01-01"},
    {"DateTime", "\"2020-01-01T24:00:00Z\"", SL_ERANGE, "2020-01-02 00:00:00"},
    {"DateTime64(3)", "\"2020-01-01T10:00:60Z\"", SL_ERANGE, "2020-01-01 10:01:00"},
    {"DateTime", "\"2020-01-01T10:00:00+25:00\"", SL_ERANGE, "2019-12-31 09:00:00"},
    /* best_effort spellings outside sluice's subset: stricter, not corrupting. */
    {"Date32", "\"2020-1-5\"", SL_EVALUE, "2020-01-05"},
    {"Date", "\"2020/01/05\"", SL_EVALUE, "2020-01-05"},
    {"DateTime", "\"Jan 2 2020\"", SL_EVALUE, "2020-01-02 00:00:00"},
    {"DateTime", "\"Thu, 01 Jan 2020 10:00:00 GMT\"", SL_EVALUE, "2020-01-01 10:00:00"},
    {"DateTime", "\"2020-01-01 10:00:00 UTC\"", SL_EVALUE, "2020-01-01 10:00:00"},
    {"DateTime", "\"20200101T100000Z\"", SL_EVALUE, "2020-01-01 10:00:00"},
    {"DateTime64(3)", "\"2020-01-01T10:00:00+2:00\"", SL_EVALUE, "2020-01-01 08:00:00.000"},
    {"DateTime64(3)", "\"1989-03-12 18:40:20z\"", SL_EVALUE, "1989-03-12 18:40:20.000"},
};

Test(types_encode, documented_differences_from_clickhouse)
{
    sl_encode_scratch sc;
    sl_encode_scratch_init(&sc);
    for (size_t i = 0; i < sizeof(documented_diffs) / sizeof(documented_diffs[0]); i++) {
        const diff_case *dc = &documented_diffs[i];
        char got[4096];
        sl_error err = {0};
        int rc = encode(dc->type, dc->json, &sc, got, &err);
        cr_expect_eq(rc, dc->code, "%s <- %s (ClickHouse stores %s): rc %d %s", dc->type, dc->json,
                     dc->clickhouse, rc, err.msg ? err.msg : "");
    }
    /* Compacted JSON text in a String, where ClickHouse keeps the spaces. */
    char got[4096];
    sl_error err = {0};
    cr_expect_eq(encode("String", "{ \"k\" : [1, 2] }", &sc, got, &err), 0);
    cr_expect_str_eq(got, "0b7b226b223a5b312c325d7d"); /* {"k":[1,2]} */
    sl_encode_scratch_free(&sc);
}

/* DateTime64's range is checked on the column's wall clock, as ClickHouse shows and stores it:
 * "2299-12-31 23:59:59" in America/New_York is 2300-01-01 04:59:59 UTC and is accepted. Ticks
 * checked against ClickHouse (toUnixTimestamp64Second/Milli). */
Test(types_encode, datetime64_range_is_local)
{
    sl_encode_scratch sc;
    sl_encode_scratch_init(&sc);
    char got[4096];
    sl_error err = {0};
    cr_expect_eq(
        encode("DateTime64(0, 'America/New_York')", "\"2299-12-31 23:59:59\"", &sc, got, &err), 0,
        "%s", err.msg ? err.msg : "");
    cr_expect_str_eq(got, "4f21b66c02000000"); /* 10413809999 */
    cr_expect_eq(encode("DateTime64(0, 'America/New_York')", "10413809999", &sc, got, &err), 0);
    cr_expect_str_eq(got, "4f21b66c02000000");
    cr_expect_eq(encode("DateTime64(0, 'America/New_York')", "10413810000", &sc, got, &err),
                 SL_ERANGE);
    cr_expect_str_eq(err.msg, "10413810000 is not a valid DateTime64(0, 'America/New_York'): "
                              "2300-01-01 00:00:00 (the column's local time) is outside "
                              "DateTime64 [1900-01-01 00:00:00, 2299-12-31 23:59:59.999999999]");
    cr_expect_eq(encode("DateTime64(0, 'Asia/Kolkata')", "\"1900-01-01 00:00:00\"", &sc, got, &err),
                 0, "%s", err.msg ? err.msg : "");
    cr_expect_str_eq(got, "3a36557cffffffff"); /* -2209008070, local mean time +05:21:10 */
    cr_expect_eq(encode("DateTime64(0, 'Asia/Kolkata')", "\"1899-12-31 23:59:59\"", &sc, got, &err),
                 SL_ERANGE);
    cr_expect_eq(
        encode("DateTime64(3, 'Pacific/Chatham')", "\"2299-12-31 23:59:59.999\"", &sc, got, &err),
        0, "%s", err.msg ? err.msg : "");
    cr_expect_str_eq(got, "9f286ca378090000"); /* 10413742499999 */
    /* The same instant in UTC is past the range there. */
    cr_expect_eq(encode("DateTime64(3, 'UTC')", "\"2300-01-01T04:59:59Z\"", &sc, got, &err),
                 SL_ERANGE);
    cr_expect_eq(
        encode("DateTime64(3, 'America/New_York')", "\"2300-01-01T04:59:59Z\"", &sc, got, &err), 0);
    sl_encode_scratch_free(&sc);
}

Test(types_encode, long_values_are_cut_in_messages)
{
    sl_encode_scratch sc;
    sl_encode_scratch_init(&sc);
    char got[4096];
    sl_error err = {0};
    /* 60 two-byte characters: the cut must not split one. */
    char json[256] = "\"";
    for (int i = 0; i < 60; i++)
        strcat(json, "\xc3\xa9");
    strcat(json, "\"");
    cr_expect_eq(encode("UUID", json, &sc, got, &err), SL_EVALUE);
    char want[256] = "\"";
    for (int i = 0; i < 18; i++)
        strcat(want, "\xc3\xa9");
    strcat(want, "... is not a valid UUID: expected a UUID like "
                 "8f14e45f-ceea-467f-a0e6-6f8b1a2b3c4d");
    cr_expect_str_eq(err.msg, want);
    sl_encode_scratch_free(&sc);
}

Test(types_encode, large_counts_use_multibyte_varuint)
{
    static const size_t counts[] = {127, 128, 16383, 16384, 70000};
    sl_encode_scratch sc;
    sl_encode_scratch_init(&sc);
    sl_arena a;
    sl_arena_init(&a);
    const sl_type *arr = parse_ok(&a, "Array(Array(UInt8))");
    for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
        size_t n = counts[k];
        sl_buf j;
        sl_buf_init(&j, 0);
        sl_buf_append_cstr(&j, "[[");
        for (size_t i = 0; i < n; i++)
            sl_buf_append_cstr(&j, i ? ",7" : "7");
        sl_buf_append_cstr(&j, "],[1]]");
        sl_json_cursor c;
        sl_json_value v;
        sl_json_cursor_init(&c, (const char *)j.data, j.len, NULL);
        cr_assert_eq(sl_json_scan_value(&c, &v), 0);
        sl_buf out;
        sl_buf_init(&out, 0);
        cr_assert_eq(sl_type_encode(arr, &v, &sc, &out, NULL), 0);
        size_t vlen = n < 128 ? 1 : n < 16384 ? 2 : 3;
        cr_expect_eq(out.len, 1 + vlen + n + 2, "n=%zu", n);
        cr_expect_eq(out.data[0], 2);
        uint64_t got = 0;
        for (size_t i = 0; i < vlen; i++)
            got |= (uint64_t)(out.data[1 + i] & 0x7F) << (7 * i);
        cr_expect_eq(got, n);
        cr_expect_eq(out.data[1 + vlen], 7);
        cr_expect_eq(out.data[1 + vlen + n - 1], 7);
        cr_expect_eq(out.data[1 + vlen + n], 1);
        cr_expect_eq(out.data[1 + vlen + n + 1], 1);
        sl_buf_free(&out);
        sl_buf_free(&j);
    }
    sl_arena_free(&a);
    sl_encode_scratch_free(&sc);
}

Test(types_encode, null_at_top_level_is_missing)
{
    sl_encode_scratch sc;
    sl_encode_scratch_init(&sc);
    char got[4096];
    sl_error err = {0};
    cr_expect_eq(encode("String", "null", &sc, got, &err), SL_EMISSING);
    cr_expect_str_eq(err.msg, "null is not a valid String");
    cr_expect_eq(encode("Array(String)", "null", &sc, got, &err), SL_EMISSING);
    cr_expect_eq(encode("LowCardinality(Nullable(String))", "null", &sc, got, &err), 0);
    cr_expect_str_eq(got, "01");
    sl_encode_scratch_free(&sc);
}

Test(types_encode, output_cap_gives_toobig)
{
    sl_arena a;
    sl_arena_init(&a);
    const sl_type *t = parse_ok(&a, "Array(String)");
    sl_encode_scratch sc;
    sl_encode_scratch_init(&sc);
    const char *json = "[\"aaaaaaaaaaaaaaaaaaaa\"]";
    sl_json_cursor c;
    sl_json_value v;
    sl_json_cursor_init(&c, json, strlen(json), NULL);
    cr_assert_eq(sl_json_scan_value(&c, &v), 0);
    sl_buf out;
    sl_buf_init(&out, 8);
    sl_error err = {0};
    cr_expect_eq(sl_type_encode(t, &v, &sc, &out, &err), SL_ETOOBIG);
    cr_expect_eq(err.code, SL_ETOOBIG);
    sl_buf_free(&out);
    sl_encode_scratch_free(&sc);
    sl_arena_free(&a);
}

/* Once the scratch and the output have grown, encoding allocates nothing: the buffers keep
 * their storage across many values of every kind that uses them. */
Test(types_encode, no_allocation_once_warm)
{
    static const struct {
        const char *type;
        const char *json;
    } rows[] = {
        {"String", "\"a\\nb\""},
        {"String", "{ \"a\" : [1, 2] }"},
        {"Float32", "\"1.5e3\""},
        {"Int64", "\"-000123\""},
        {"Decimal(38, 10)", "\"-12345.678\""},
        {"Tuple(a Tuple(b UInt8, c String), d Array(Tuple(e Int8)))",
         "{\"d\": [{\"e\": 1}], \"a\": {\"c\": \"x\", \"b\": 2}}"},
        {"Map(String, Nullable(String))", "{\"k\\u0041\": null, \"j\": \"v\\t\"}"},
        {"DateTime64(3, 'Europe/Madrid')", "\"2024-03-31 01:30:00.5\""},
        {"Enum8('a\\nb' = 1)", "\"a\\nb\""},
    };
    size_t n = sizeof(rows) / sizeof(rows[0]);
    sl_arena a;
    sl_arena_init(&a);
    const sl_type *types[16];
    sl_json_value vals[16];
    for (size_t i = 0; i < n; i++) {
        types[i] = parse_ok(&a, rows[i].type);
        sl_json_cursor c;
        sl_json_cursor_init(&c, rows[i].json, strlen(rows[i].json), NULL);
        cr_assert_eq(sl_json_scan_value(&c, &vals[i]), 0, "%s", rows[i].json);
    }
    sl_encode_scratch sc;
    sl_encode_scratch_init(&sc);
    sl_buf out;
    sl_buf_init(&out, 0);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(sl_type_encode(types[i], &vals[i], &sc, &out, NULL), 0, "%s", rows[i].type);
    cr_assert_eq(sl_buf_reserve(&out, 1 << 16), 0);
    out.len = 0;
    uint8_t *text = sc.text.data, *stack = sc.stack.data, *od = out.data;
    size_t text_alloc = sc.text.alloc, stack_alloc = sc.stack.alloc;
    for (int round = 0; round < 200; round++) {
        out.len = 0;
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(sl_type_encode(types[i], &vals[i], &sc, &out, NULL), 0);
    }
    cr_expect(sc.text.data == text && sc.text.alloc == text_alloc);
    cr_expect(sc.stack.data == stack && sc.stack.alloc == stack_alloc);
    cr_expect(out.data == od);
    cr_expect_eq(sc.stack.len, 0);
    sl_buf_free(&out);
    sl_encode_scratch_free(&sc);
    sl_arena_free(&a);
}

/* More zones than the scratch caches: evicted zones reload and give the same bytes. */
Test(types_encode, time_zone_cache_eviction)
{
    static const struct {
        const char *zone;
        const char *hex; /* 2024-07-01 12:00:00 local, as ClickHouse 26.7 stores it */
    } zones[] = {
        {"Europe/Madrid", "207e8266"},
        {"America/New_York", "80d28266"},
        {"Asia/Tokyo", "b01b8266"},
        {"Australia/Sydney", "a00d8266"},
        {"Asia/Kolkata", "e84c8266"},
        {"America/Los_Angeles", "b0fc8266"},
        {"Europe/London", "308c8266"},
        {"Africa/Cairo", "10708266"},
        {"America/Sao_Paulo", "70c48266"},
        {"Pacific/Auckland", "80f18166"},
        {"UTC", "409a8266"},
    };
    sl_encode_scratch sc;
    sl_encode_scratch_init(&sc);
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
            char type[128], got[4096];
            snprintf(type, sizeof(type), "DateTime('%s')", zones[i].zone);
            sl_error err = {0};
            cr_expect_eq(encode(type, "\"2024-07-01 12:00:00\"", &sc, got, &err), 0, "%s: %s", type,
                         err.msg ? err.msg : "");
            cr_expect_str_eq(got, zones[i].hex, "%s", type);
        }
    }
    cr_expect_eq(sc.n_zones, SL_ENCODE_TZ_CACHE);
    sl_encode_scratch_free(&sc);
}
