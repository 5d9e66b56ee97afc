/* Fuzz target: the ClickHouse type parser and the RowBinary encoders.
 *
 * Input "TYPE\nJSON": TYPE is parsed; whatever parses must print a canonical form that parses
 * and prints identically. If there is a JSON part and it is one valid JSON value, it is encoded
 * as that type (or, when the type does not parse, as one of a handful of fixed types chosen by
 * the first byte), checking that an encoding either succeeds or fails with a message. */
#include "sl_types.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fixed_types[] = {
    "String",
    "Nullable(Int64)",
    "UInt8",
    "Int256",
    "Float32",
    "Decimal(20, 5)",
    "DateTime64(3, 'Europe/Madrid')",
    "Date32",
    "UUID",
    "IPv6",
    "Enum8('a' = 1, 'b' = -2)",
    "Array(Nullable(FixedString(3)))",
    "Map(UInt16, Array(String))",
    "Tuple(a Int32, b Tuple(c LowCardinality(String), d Array(Bool)))",
    "Tuple(Float64, IPv4, Date)",
};

static const sl_type *round_trip(sl_str text, sl_arena *arena)
{
    const sl_type *t = NULL, *t2 = NULL;
    sl_error err = {0};
    if (sl_type_parse(text, arena, &t, &err) != 0) {
        if (err.code != SL_ETYPE || !err.msg || err.offset > text.len)
            abort();
        return NULL;
    }
    sl_buf b1, b2;
    sl_buf_init(&b1, 0);
    sl_buf_init(&b2, 0);
    if (sl_type_format(t, &b1) != 0)
        abort();
    if (sl_type_parse((sl_str){(const char *)b1.data, b1.len}, arena, &t2, &err) != 0)
        abort();
    if (sl_type_format(t2, &b2) != 0 || b1.len != b2.len || memcmp(b1.data, b2.data, b1.len))
        abort();
    sl_buf_free(&b1);
    sl_buf_free(&b2);
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    const char *nl = memchr(p, '\n', size);
    size_t tlen = nl ? (size_t)(nl - p) : size;
    sl_arena arena;
    sl_arena_init(&arena);
    const sl_type *t = round_trip((sl_str){p, tlen}, &arena);
    if (nl) {
        const char *j = nl + 1;
        size_t jlen = size - tlen - 1;
        if (!t) {
            size_t pick = size ? data[0] % (sizeof(fixed_types) / sizeof(fixed_types[0])) : 0;
            t = round_trip(sl_str_from_cstr(fixed_types[pick]), &arena);
        }
        sl_json_cursor c;
        sl_json_value v;
        sl_error err = {0};
        sl_json_cursor_init(&c, j, jlen, &err);
        if (t && sl_json_scan_value(&c, &v) == 0 && sl_json_at_end(&c)) {
            sl_encode_scratch sc;
            sl_encode_scratch_init(&sc);
            sl_buf out;
            sl_buf_init(&out, 1 << 20);
            /* Twice with the same scratch: the second run must give the same result. */
            int rc = sl_type_encode(t, &v, &sc, &out, &err);
            size_t len1 = out.len;
            if (rc != 0 && (err.code != rc || !err.msg))
                abort();
            out.len = 0;
            int rc2 = sl_type_encode(t, &v, &sc, &out, &err);
            if (rc2 != rc || (rc == 0 && out.len != len1))
                abort();
            if (sc.stack.len != 0)
                abort();
            sl_buf_free(&out);
            sl_encode_scratch_free(&sc);
        }
    }
    sl_arena_free(&arena);
    return 0;
}
