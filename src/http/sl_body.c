/* Content-Encoding decoding of request bodies with zlib and libzstd, bounded by the output
 * buffer's cap and a compression-ratio cap (see sl_body.h). */
#include "sl_body.h"

#include <string.h>
#include <zlib.h>
#include <zstd.h>

int sl_body_parse_encoding(sl_str h, sl_body_encoding *enc, sl_error *err)
{
    while (h.len && (h.ptr[0] == ' ' || h.ptr[0] == '\t'))
        h.ptr++, h.len--;
    while (h.len && (h.ptr[h.len - 1] == ' ' || h.ptr[h.len - 1] == '\t'))
        h.len--;
    if (h.len == 0 || sl_str_eq_nocase(h, "identity"))
        *enc = SL_BODY_IDENTITY;
    else if (sl_str_eq_nocase(h, "gzip") || sl_str_eq_nocase(h, "x-gzip"))
        *enc = SL_BODY_GZIP;
    else if (sl_str_eq_nocase(h, "deflate"))
        *enc = SL_BODY_DEFLATE;
    else if (sl_str_eq_nocase(h, "zstd"))
        *enc = SL_BODY_ZSTD;
    else
        return sl_error_setf(err, SL_EINVAL, 0,
                             "unsupported Content-Encoding '%.*s'; send the body uncompressed or "
                             "with one of gzip, deflate, zstd",
                             (int)(h.len > 60 ? 60 : h.len), h.ptr);
    return 0;
}

/* The most output the body may decode to, before the buffer's own cap. */
static size_t output_limit(size_t in_len, size_t max_ratio, const sl_buf *out)
{
    size_t room = out->cap - out->len;
    if (max_ratio == 0)
        return room;
    size_t lim = in_len > SIZE_MAX / max_ratio ? SIZE_MAX : in_len * max_ratio;
    if (lim < SL_BODY_RATIO_FLOOR)
        lim = SL_BODY_RATIO_FLOOR;
    return lim < room ? lim : room;
}

static int too_big(sl_error *err, size_t limit, bool by_ratio)
{
    if (by_ratio)
        return sl_error_setf(err, SL_ETOOBIG, 0,
                             "compressed body expands past %zu bytes, more than the allowed "
                             "compression ratio; send smaller requests",
                             limit);
    return sl_error_setf(err, SL_ETOOBIG, 0,
                         "body is larger than %zu bytes after decompression; split it into "
                         "smaller requests",
                         limit);
}

/* Makes room for the next chunk of output, at most up to `limit` bytes appended in total
 * since `start`. Returns the number of bytes available (0 when the limit is reached). */
static size_t grow(sl_buf *out, size_t start, size_t limit, size_t hint, int *rc)
{
    size_t used = out->len - start;
    size_t left = limit - used;
    if (left == 0)
        return 0;
    size_t want = hint < (64u << 10) ? (64u << 10) : hint;
    if (want > left)
        want = left;
    if ((*rc = sl_buf_reserve(out, want)) != 0)
        return 0;
    size_t avail = out->alloc - out->len;
    return avail < left ? avail : left;
}

static int decode_zlib(sl_body_encoding enc, sl_str in, size_t max_ratio, sl_buf *out,
                       sl_error *err)
{
    size_t start = out->len;
    size_t limit = output_limit(in.len, max_ratio, out);
    bool by_ratio = limit < out->cap - out->len;
    int wbits = enc == SL_BODY_GZIP ? 15 + 16 : 15;
    bool tried_raw = false;
    z_stream zs;

restart:
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, wbits) != Z_OK)
        return sl_error_set(err, SL_ENOMEM, "cannot start the decompressor", 0);
    const unsigned char *p = (const unsigned char *)in.ptr;
    size_t left_in = in.len;
    int result = 0;
    for (;;) {
        if (zs.avail_in == 0 && left_in) {
            uInt n = left_in > (1u << 30) ? (1u << 30) : (uInt)left_in;
            zs.next_in = (unsigned char *)(uintptr_t)p;
            zs.avail_in = n;
            p += n;
            left_in -= n;
        }
        int rc = 0;
        size_t avail = grow(out, start, limit, in.len * 4, &rc);
        if (rc) {
            result = rc == SL_ETOOBIG ? too_big(err, out->cap - start, false)
                                      : sl_error_set(err, rc, "out of memory", 0);
            break;
        }
        unsigned char probe;
        bool probing = avail == 0;
        uInt give = probing ? 1 : avail > (1u << 30) ? (1u << 30) : (uInt)avail;
        zs.next_out = probing ? &probe : out->data + out->len;
        zs.avail_out = give;
        int zr = inflate(&zs, Z_NO_FLUSH);
        size_t produced = give - zs.avail_out;
        if (probing && produced) {
            result = too_big(err, limit, by_ratio);
            break;
        }
        if (!probing)
            out->len += produced;
        if (zr == Z_STREAM_END) {
            /* gzip allows several members one after another. */
            if (enc == SL_BODY_GZIP && (zs.avail_in || left_in)) {
                if (inflateReset(&zs) != Z_OK) {
                    result = sl_error_set(err, SL_ESYNTAX, "corrupt gzip body", 0);
                    break;
                }
                continue;
            }
            break;
        }
        if (zr == Z_DATA_ERROR && enc == SL_BODY_DEFLATE && !tried_raw && out->len == start) {
            /* Many clients send raw deflate under "deflate": retry without the zlib header. */
            inflateEnd(&zs);
            tried_raw = true;
            wbits = -15;
            goto restart;
        }
        if (zr == Z_BUF_ERROR && zs.avail_in == 0 && left_in == 0) {
            result = sl_error_setf(err, SL_ESYNTAX, 0, "%s body is truncated",
                                   enc == SL_BODY_GZIP ? "gzip" : "deflate");
            break;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            result = sl_error_setf(err, zr == Z_MEM_ERROR ? SL_ENOMEM : SL_ESYNTAX, 0,
                                   "body is not valid %s data (%s); check Content-Encoding",
                                   enc == SL_BODY_GZIP ? "gzip" : "deflate",
                                   zs.msg ? zs.msg : "corrupt stream");
            break;
        }
    }
    inflateEnd(&zs);
    return result;
}

static int decode_zstd(sl_str in, size_t max_ratio, sl_buf *out, sl_error *err)
{
    size_t start = out->len;
    size_t limit = output_limit(in.len, max_ratio, out);
    bool by_ratio = limit < out->cap - out->len;
    ZSTD_DStream *ds = ZSTD_createDStream();
    if (!ds)
        return sl_error_set(err, SL_ENOMEM, "cannot start the decompressor", 0);
    ZSTD_initDStream(ds);
    ZSTD_inBuffer ib = {in.ptr, in.len, 0};
    int result = 0;
    size_t last = 1; /* ZSTD_decompressStream's hint; 0 = a frame just ended */
    for (;;) {
        if (last == 0 && ib.pos == ib.size)
            break; /* the last frame ended exactly with the input */
        int rc = 0;
        size_t avail = grow(out, start, limit, in.len * 4, &rc);
        if (rc) {
            result = rc == SL_ETOOBIG ? too_big(err, out->cap - start, false)
                                      : sl_error_set(err, rc, "out of memory", 0);
            break;
        }
        unsigned char probe;
        bool probing = avail == 0;
        ZSTD_outBuffer ob = {probing ? (void *)&probe : out->data + out->len, probing ? 1 : avail,
                             0};
        size_t before_in = ib.pos;
        last = ZSTD_decompressStream(ds, &ob, &ib);
        if (ZSTD_isError(last)) {
            result = sl_error_setf(err, SL_ESYNTAX, 0,
                                   "body is not valid zstd data (%s); check Content-Encoding",
                                   ZSTD_getErrorName(last));
            break;
        }
        if (probing && ob.pos) {
            result = too_big(err, limit, by_ratio);
            break;
        }
        if (!probing)
            out->len += ob.pos;
        if (ib.pos == ib.size && ob.pos < ob.size) {
            /* All input consumed and the decoder had room left: it has flushed everything. */
            if (last != 0)
                result = sl_error_set(err, SL_ESYNTAX, "zstd body is truncated", 0);
            break;
        }
        if (ob.pos == 0 && ib.pos == before_in && !probing) {
            result = sl_error_set(err, SL_ESYNTAX, "zstd body is truncated", 0);
            break;
        }
    }
    ZSTD_freeDStream(ds);
    return result;
}

int sl_body_decode(sl_body_encoding enc, sl_str in, size_t max_ratio, sl_buf *out, sl_error *err)
{
    switch (enc) {
    case SL_BODY_IDENTITY: return sl_buf_append(out, in.ptr, in.len);
    case SL_BODY_GZIP:
    case SL_BODY_DEFLATE: return decode_zlib(enc, in, max_ratio, out, err);
    case SL_BODY_ZSTD: return decode_zstd(in, max_ratio, out, err);
    }
    return sl_error_set(err, SL_EINVAL, "unknown encoding", 0);
}
