/* Tests of sl_body: Content-Encoding parsing and gzip/deflate/zstd decoding with the size and
 * ratio caps. */
#include "sl_body.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

static sl_buf compress_zlib(const void *p, size_t n, int wbits)
{
    sl_buf out;
    sl_buf_init(&out, 0);
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    cr_assert_eq(deflateInit2(&zs, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t bound = deflateBound(&zs, (uLong)n) + 64;
    cr_assert_eq(sl_buf_reserve(&out, bound), 0);
    zs.next_in = (unsigned char *)(uintptr_t)p;
    zs.avail_in = (uInt)n;
    zs.next_out = out.data;
    zs.avail_out = (uInt)bound;
    cr_assert_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
    out.len = bound - zs.avail_out;
    deflateEnd(&zs);
    return out;
}

static sl_buf compress_zstd(const void *p, size_t n)
{
    sl_buf out;
    sl_buf_init(&out, 0);
    size_t bound = ZSTD_compressBound(n);
    cr_assert_eq(sl_buf_reserve(&out, bound), 0);
    size_t r = ZSTD_compress(out.data, bound, p, n, 3);
    cr_assert(!ZSTD_isError(r));
    out.len = r;
    return out;
}

static sl_str S(const sl_buf *b)
{
    return (sl_str){(const char *)b->data, b->len};
}

static const char rows[] = "{\"a\":1}\n{\"a\":2}\r\n\n{\"a\":3}";

Test(body, parse_encoding)
{
    sl_body_encoding e;
    sl_error err = {0};
    cr_assert_eq(sl_body_parse_encoding(SL_STR(""), &e, &err), 0);
    cr_assert_eq(e, SL_BODY_IDENTITY);
    cr_assert_eq(sl_body_parse_encoding(SL_STR(" GZip "), &e, &err), 0);
    cr_assert_eq(e, SL_BODY_GZIP);
    cr_assert_eq(sl_body_parse_encoding(SL_STR("x-gzip"), &e, &err), 0);
    cr_assert_eq(e, SL_BODY_GZIP);
    cr_assert_eq(sl_body_parse_encoding(SL_STR("deflate"), &e, &err), 0);
    cr_assert_eq(e, SL_BODY_DEFLATE);
    cr_assert_eq(sl_body_parse_encoding(SL_STR("zstd"), &e, &err), 0);
    cr_assert_eq(e, SL_BODY_ZSTD);
    cr_assert_eq(sl_body_parse_encoding(SL_STR("identity"), &e, &err), 0);
    cr_assert_eq(e, SL_BODY_IDENTITY);
    cr_assert_eq(sl_body_parse_encoding(SL_STR("br"), &e, &err), SL_EINVAL);
    cr_assert(strstr(err.msg, "unsupported Content-Encoding 'br'"), "%s", err.msg);
    cr_assert_eq(sl_body_parse_encoding(SL_STR("gzip, zstd"), &e, &err), SL_EINVAL);
}

static void roundtrip(sl_body_encoding enc, sl_buf comp)
{
    sl_buf out;
    sl_buf_init(&out, 1 << 20);
    sl_error err = {0};
    cr_assert_eq(sl_body_decode(enc, S(&comp), 1000, &out, &err), 0, "%s", err.msg);
    cr_assert_eq(out.len, sizeof(rows) - 1);
    cr_assert_eq(memcmp(out.data, rows, out.len), 0);
    sl_buf_free(&out);
    sl_buf_free(&comp);
}

Test(body, gzip)
{
    roundtrip(SL_BODY_GZIP, compress_zlib(rows, sizeof(rows) - 1, 15 + 16));
}

Test(body, deflate_zlib_and_raw)
{
    roundtrip(SL_BODY_DEFLATE, compress_zlib(rows, sizeof(rows) - 1, 15));
    roundtrip(SL_BODY_DEFLATE, compress_zlib(rows, sizeof(rows) - 1, -15));
}

Test(body, zstd)
{
    roundtrip(SL_BODY_ZSTD, compress_zstd(rows, sizeof(rows) - 1));
}

Test(body, gzip_multi_member)
{
    sl_buf a = compress_zlib("{\"a\":1}\n", 8, 31), b = compress_zlib("{\"a\":2}\n", 8, 31);
    sl_buf_append(&a, b.data, b.len);
    sl_buf out;
    sl_buf_init(&out, 0);
    sl_error err = {0};
    cr_assert_eq(sl_body_decode(SL_BODY_GZIP, S(&a), 0, &out, &err), 0, "%s", err.msg);
    cr_assert_eq(out.len, 16);
    cr_assert_eq(memcmp(out.data, "{\"a\":1}\n{\"a\":2}\n", 16), 0);
    sl_buf_free(&a);
    sl_buf_free(&b);
    sl_buf_free(&out);
}

Test(body, zstd_two_frames)
{
    sl_buf a = compress_zstd("xy", 2), b = compress_zstd("z", 1);
    sl_buf_append(&a, b.data, b.len);
    sl_buf out;
    sl_buf_init(&out, 0);
    sl_error err = {0};
    cr_assert_eq(sl_body_decode(SL_BODY_ZSTD, S(&a), 0, &out, &err), 0, "%s", err.msg);
    cr_assert_eq(out.len, 3);
    sl_buf_free(&a);
    sl_buf_free(&b);
    sl_buf_free(&out);
}

static void expect_error(sl_body_encoding enc, sl_str in, int code, const char *needle)
{
    sl_buf out;
    sl_buf_init(&out, 1 << 20);
    sl_error err = {0};
    cr_assert_eq(sl_body_decode(enc, in, 1000, &out, &err), code);
    cr_assert(err.msg && strstr(err.msg, needle), "message: %s", err.msg);
    sl_buf_free(&out);
}

Test(body, corrupt_and_truncated)
{
    expect_error(SL_BODY_GZIP, SL_STR("{\"a\":1}"), SL_ESYNTAX, "not valid gzip");
    expect_error(SL_BODY_ZSTD, SL_STR("{\"a\":1}"), SL_ESYNTAX, "not valid zstd");
    expect_error(SL_BODY_DEFLATE, SL_STR("\xff\xff\xff\xff"), SL_ESYNTAX, "not valid deflate");
    expect_error(SL_BODY_GZIP, SL_STR(""), SL_ESYNTAX, "truncated");
    expect_error(SL_BODY_ZSTD, SL_STR(""), SL_ESYNTAX, "truncated");
    sl_buf g = compress_zlib(rows, sizeof(rows) - 1, 31);
    expect_error(SL_BODY_GZIP, (sl_str){(const char *)g.data, g.len - 6}, SL_ESYNTAX, "truncated");
    sl_buf z = compress_zstd(rows, sizeof(rows) - 1);
    expect_error(SL_BODY_ZSTD, (sl_str){(const char *)z.data, z.len - 3}, SL_ESYNTAX, "truncated");
    sl_buf_free(&g);
    sl_buf_free(&z);
}

/* A body of zeros compresses ~1000:1 (gzip) and far more (zstd). */
Test(body, caps)
{
    size_t n = 8u << 20;
    char *zeros = calloc(1, n);
    sl_buf g = compress_zlib(zeros, n, 31), z = compress_zstd(zeros, n);
    sl_error err = {0};
    sl_buf out;

    /* Buffer cap: 4 MiB < 8 MiB. */
    sl_buf_init(&out, 4u << 20);
    cr_assert_eq(sl_body_decode(SL_BODY_GZIP, S(&g), 0, &out, &err), SL_ETOOBIG);
    cr_assert(strstr(err.msg, "after decompression"), "%s", err.msg);
    sl_buf_free(&out);
    sl_buf_init(&out, 4u << 20);
    cr_assert_eq(sl_body_decode(SL_BODY_ZSTD, S(&z), 0, &out, &err), SL_ETOOBIG);
    sl_buf_free(&out);

    /* Exactly at the cap passes. */
    sl_buf_init(&out, n);
    cr_assert_eq(sl_body_decode(SL_BODY_GZIP, S(&g), 0, &out, &err), 0, "%s", err.msg);
    cr_assert_eq(out.len, n);
    sl_buf_free(&out);
    sl_buf_init(&out, n);
    cr_assert_eq(sl_body_decode(SL_BODY_ZSTD, S(&z), 0, &out, &err), 0, "%s", err.msg);
    cr_assert_eq(out.len, n);
    sl_buf_free(&out);

    /* Ratio cap: zstd packs 8 MiB of zeros in a few hundred bytes. */
    sl_buf_init(&out, 0);
    cr_assert_eq(sl_body_decode(SL_BODY_ZSTD, S(&z), 100, &out, &err), SL_ETOOBIG);
    cr_assert(strstr(err.msg, "compression ratio"), "%s", err.msg);
    sl_buf_free(&out);
    /* Below the floor, any ratio passes. */
    sl_buf small = compress_zstd(zeros, 1000);
    sl_buf_init(&out, 0);
    cr_assert_eq(sl_body_decode(SL_BODY_ZSTD, S(&small), 2, &out, &err), 0, "%s", err.msg);
    sl_buf_free(&out);
    sl_buf_free(&small);
    sl_buf_free(&g);
    sl_buf_free(&z);
    free(zeros);
}
