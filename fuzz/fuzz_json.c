/* libFuzzer target for the JSON scanner. Scans arbitrary bytes with every entry point and
 * checks that they agree: scan and skip end at the same place with the same result, the
 * iterators accept exactly what skip accepts, compact output re-scans to the same compact
 * text, decoded strings compare equal to their raw keys, and number conversions match strtod /
 * strtoll. The input is copied to an exact-size heap block so ASan catches any over-read. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void check_number(const sl_json_value *v)
{
    char tmp[4096];
    if (v->len >= sizeof(tmp))
        return;
    memcpy(tmp, v->ptr, v->len);
    tmp[v->len] = 0;

    double d, d2;
    int rc = sl_json_number_to_double(v, &d);
    CHECK(rc == 0 || rc == SL_ERANGE);
    errno = 0;
    double want = strtod(tmp, NULL);
    CHECK(memcmp(&d, &want, sizeof(d)) == 0);
    CHECK((rc == SL_ERANGE) == (want == HUGE_VAL || want == -HUGE_VAL));
    CHECK(sl_json_text_to_double((sl_str){v->ptr, v->len}, &d2) == rc);
    CHECK(memcmp(&d, &d2, sizeof(d)) == 0);

    uint8_t out[32], out2[32];
    rc = sl_json_number_to_int(v, true, 64, out);
    if (v->flags & (SL_JSON_FRACTION | SL_JSON_EXPONENT)) {
        CHECK(rc == SL_EVALUE);
        return;
    }
    errno = 0;
    long long ll = strtoll(tmp, NULL, 10);
    if (errno == ERANGE) {
        CHECK(rc == SL_ERANGE);
    } else {
        CHECK(rc == 0);
        uint64_t u = (uint64_t)ll;
        for (int i = 0; i < 8; i++)
            CHECK(out[i] == (uint8_t)(u >> (8 * i)));
    }
    /* Widths agree with each other: a value that fits N bits fits all wider ones, with the
     * same low bytes and sign extension. */
    for (unsigned bits = 8; bits <= 256; bits += 8) {
        for (int s = 0; s < 2; s++) {
            int r1 = sl_json_number_to_int(v, s, bits, out);
            CHECK(r1 == 0 || r1 == SL_ERANGE);
            CHECK(sl_json_text_to_int((sl_str){v->ptr, v->len}, s, bits, out2) == r1);
            if (r1 == 0) {
                CHECK(memcmp(out, out2, bits / 8) == 0);
                if (bits < 256) {
                    CHECK(sl_json_number_to_int(v, s, bits + 8, out2) == 0);
                    CHECK(memcmp(out, out2, bits / 8) == 0);
                    uint8_t ext = s && (out[bits / 8 - 1] & 0x80) ? 0xFF : 0x00;
                    CHECK(out2[bits / 8] == ext);
                }
            }
        }
    }
}

static void check_string(const sl_json_value *v)
{
    sl_buf b;
    sl_buf_init(&b, 0);
    CHECK(sl_json_decode_string(v, &b) == 0);
    CHECK(b.len <= v->len);
    CHECK(sl_json_key_equals(v, (sl_str){(const char *)b.data, b.len}));
    if (b.len > 0)
        CHECK(!sl_json_key_equals(v, (sl_str){(const char *)b.data, b.len - 1}));
    sl_buf_free(&b);
}

/* Walks a value with the iterators, checking every scalar. Returns 0 or an error code. */
static int walk(sl_json_cursor *c)
{
    sl_json_kind k = sl_json_peek(c);
    int rc;
    if (k == SL_JSON_OBJECT) {
        sl_json_value key;
        if ((rc = sl_json_object_begin(c)) != 0)
            return rc;
        while ((rc = sl_json_object_next(c, &key)) == 1) {
            CHECK(key.kind == SL_JSON_STRING);
            check_string(&key);
            if ((rc = walk(c)) != 0)
                return rc;
        }
        return rc;
    }
    if (k == SL_JSON_ARRAY) {
        if ((rc = sl_json_array_begin(c)) != 0)
            return rc;
        while ((rc = sl_json_array_next(c)) == 1) {
            if ((rc = walk(c)) != 0)
                return rc;
        }
        return rc;
    }
    sl_json_value v;
    if ((rc = sl_json_scan_value(c, &v)) != 0)
        return rc;
    CHECK(v.kind == k);
    if (v.kind == SL_JSON_STRING)
        check_string(&v);
    else if (v.kind == SL_JSON_NUMBER)
        check_number(&v);
    return 0;
}

static void check_compact(const sl_json_value *v)
{
    sl_buf b1, b2;
    sl_buf_init(&b1, 0);
    sl_buf_init(&b2, 0);
    CHECK(sl_json_compact(v, &b1) == 0);
    CHECK(b1.len <= v->len);
    CHECK(((v->flags & SL_JSON_WHITESPACE) != 0) == (b1.len < v->len));
    sl_json_cursor c;
    sl_json_value w;
    sl_json_cursor_init(&c, (const char *)b1.data, b1.len, NULL);
    CHECK(sl_json_scan_value(&c, &w) == 0);
    CHECK(c.p == c.end);
    CHECK(w.kind == v->kind);
    CHECK(!(w.flags & SL_JSON_WHITESPACE));
    CHECK(sl_json_compact(&w, &b2) == 0);
    CHECK(b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0);
    sl_buf_free(&b1);
    sl_buf_free(&b2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size ? size : 1);
    if (size)
        memcpy(in, data, size);
    sl_error e1, e2, e3;
    sl_json_cursor c1, c2, c3;
    sl_json_cursor_init(&c1, in, size, &e1);
    sl_json_cursor_init(&c2, in, size, &e2);
    sl_json_cursor_init(&c3, in, size, &e3);

    /* A sequence of values, as in a stream: all three ways must agree step by step. */
    for (int n = 0; n < 64; n++) {
        bool end1 = sl_json_at_end(&c1);
        CHECK(end1 == sl_json_at_end(&c2));
        CHECK(end1 == sl_json_at_end(&c3));
        if (end1)
            break;
        sl_json_value v;
        int r1 = sl_json_scan_value(&c1, &v);
        int r2 = sl_json_skip_value(&c2);
        int r3 = walk(&c3);
        CHECK(r1 == r2 && r1 == r3);
        if (r1 != 0) {
            CHECK(e1.code == r1 && e1.offset == e2.offset && e1.offset == e3.offset);
            CHECK(e1.offset <= size && c1.p == in + e1.offset);
            break;
        }
        CHECK(c1.p == c2.p && c1.p == c3.p);
        CHECK(c3.depth == 0);
        CHECK(v.ptr >= in && v.ptr + v.len <= in + size);
        if (v.kind == SL_JSON_OBJECT || v.kind == SL_JSON_ARRAY || v.kind == SL_JSON_NUMBER)
            check_compact(&v);
        if (v.kind == SL_JSON_STRING)
            check_string(&v);
    }

    const char *nl = memchr(in, '\n', size);
    CHECK(sl_json_line_end(in, in + size) == (nl ? nl : in + size));

    /* The whole input as number text. */
    double d;
    uint8_t out[32];
    int rd = sl_json_text_to_double((sl_str){in, size}, &d);
    int ri = sl_json_text_to_int((sl_str){in, size}, false, 128, out);
    CHECK(rd != SL_EVALUE || ri == SL_EVALUE);
    CHECK(ri != SL_EVALUE || rd == SL_EVALUE || memchr(in, '.', size) || memchr(in, 'e', size) ||
          memchr(in, 'E', size));
    free(in);
    return 0;
}
