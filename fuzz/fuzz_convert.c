/* Fuzz target: the whole converter on arbitrary bodies. The first byte picks one of a few schemas
 * (every type family, nested paths, mapped arrays), the second an output cap; the rest is the body.
 * Checks: no crash or over-read, deterministic output, a failed run keeps whole rows only. */
#include "sl_convert.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const schemas[] = {
    "SCHEMA >\n"
    "    `timestamp` DateTime64(3, 'UTC') `json:$.timestamp`,\n"
    "    `session_id` UUID `json:$.session_id`,\n"
    "    `action` LowCardinality(String) `json:$.action`,\n"
    "    `ua` String `json:$.payload.user-agent` DEFAULT '',\n"
    "    `payload` String `json:$.payload`,\n"
    "    `user_id` UInt64 `json:$.user_id`,\n"
    "    `d` Float64 `json:$.duration_ms`,\n"
    "    `tags` Array(LowCardinality(String)) `json:$.tags[:]`,\n"
    "    `raw` String `json:$`\n",
    "SCHEMA >\n"
    "    `i8` Nullable(Int8) `json:$.a`,\n"
    "    `u256` UInt256 `json:$.b` DEFAULT 0,\n"
    "    `dec` Nullable(Decimal(18, 4)) `json:$.c`,\n"
    "    `dt` Nullable(DateTime('Europe/Madrid')) `json:$.d`,\n"
    "    `date` Nullable(Date32) `json:$.e`,\n"
    "    `ip4` Nullable(IPv4) `json:$.f`,\n"
    "    `ip6` Nullable(IPv6) `json:$.g`,\n"
    "    `en` Nullable(Enum8('a' = 1, 'b' = -2)) `json:$.h`,\n"
    "    `fs` Nullable(FixedString(3)) `json:$.i`,\n"
    "    `b` Nullable(Bool) `json:$.j`,\n"
    "    `f32` Nullable(Float32) `json:$.k`\n",
    "SCHEMA >\n"
    "    `ints` Array(Int32) `json:$.ints[:]`,\n"
    "    `matrix` Array(Array(Float64)) `json:$.matrix[:][:]`,\n"
    "    `counters` Map(String, UInt64) `json:$.counters`,\n"
    "    `pair` Tuple(a Int32, b String) `json:$.pair`,\n"
    "    `skus` Array(String) `json:$.items[:].sku`,\n"
    "    `prices` Array(Nullable(Float64)) `json:$.items[:].price`,\n"
    "    `second` Array(Int64) `json:$.matrix[:][1]`,\n"
    "    `odd` Nullable(String) `json:$.['a b'].c`\n",
};

#define N_SCHEMAS (sizeof(schemas) / sizeof(schemas[0]))

typedef struct {
    sl_datafile *df;
    sl_converter *conv;
} compiled;

static compiled compile(size_t i)
{
    compiled c = {0};
    sl_error err = {0};
    if (sl_datafile_parse(sl_str_from_cstr(schemas[i]), &c.df, &err) != 0 ||
        sl_converter_new(c.df, &c.conv, &err) != 0)
        abort();
    return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    compiled c = compile(data[0] % N_SCHEMAS);
    size_t cap = data[1] < 200 ? 0 : (size_t)(data[1] - 199) * 64;
    sl_str body = {(const char *)data + 2, size - 2};

    sl_buf rows[2], q[2];
    sl_convert_stats stats[2];
    int rc[2];
    sl_convert_state *st = sl_convert_state_new();
    for (int k = 0; k < 2; k++) {
        sl_buf_init(&rows[k], cap);
        sl_buf_init(&q[k], 0);
        memset(&stats[k], 0, sizeof(stats[k]));
        sl_convert_options opt = {.first_line = 1, .import_id = SL_STR("fuzz")};
        rc[k] = sl_convert(c.conv, st, body, &opt, &rows[k], &q[k], &stats[k]);
    }
    if (rc[0] != rc[1] || stats[0].rows != stats[1].rows ||
        stats[0].quarantined != stats[1].quarantined || rows[0].len != rows[1].len ||
        q[0].len != q[1].len || (rows[0].len && memcmp(rows[0].data, rows[1].data, rows[0].len)) ||
        (q[0].len && memcmp(q[0].data, q[1].data, q[0].len)))
        abort();
    if (rc[0] != 0 && rc[0] != SL_ETOOBIG)
        abort();
    if (rc[0] == 0 && stats[0].rows == 0 && rows[0].len != 0)
        abort();
    for (int k = 0; k < 2; k++) {
        sl_buf_free(&rows[k]);
        sl_buf_free(&q[k]);
    }
    sl_convert_state_free(st);
    sl_converter_free(c.conv);
    sl_datafile_free(c.df);
    return 0;
}
