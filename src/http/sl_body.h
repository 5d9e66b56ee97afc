/* Request bodies: undo Content-Encoding (gzip, deflate, zstd) into a capped buffer.
 *
 * The caps protect the server from decompression bombs: the output may not exceed the
 * buffer's cap (the per-request limit, 100 MiB by default) nor `max_ratio` times the
 * compressed size (with a floor of SL_BODY_RATIO_FLOOR bytes, so small bodies of very
 * repetitive rows still pass). Both failures return SL_ETOOBIG (→ 413); an unknown encoding
 * returns SL_EINVAL and corrupt or truncated data SL_ESYNTAX (→ 400), each with a message
 * meant for the client in err. */
#ifndef SL_BODY_H
#define SL_BODY_H

#include "sl_common.h"

typedef enum {
    SL_BODY_IDENTITY,
    SL_BODY_GZIP,    /* gzip, x-gzip */
    SL_BODY_DEFLATE, /* zlib-wrapped deflate as HTTP says; raw deflate is accepted too */
    SL_BODY_ZSTD,
} sl_body_encoding;

/* Output bytes always allowed whatever the ratio. */
#define SL_BODY_RATIO_FLOOR (1u << 20)

/* Parses a Content-Encoding header value (case-insensitive, surrounding blanks ignored;
 * empty or "identity" → SL_BODY_IDENTITY). Returns SL_EINVAL for anything else, including a
 * list of several encodings, with a message naming the accepted ones. */
int sl_body_parse_encoding(sl_str header, sl_body_encoding *enc, sl_error *err);

/* Decodes `in` (compressed with `enc`, not SL_BODY_IDENTITY) and appends the result to `out`,
 * whose cap bounds the output. max_ratio 0 means no ratio cap. On error `out` may hold a
 * partial result; the caller discards it. Thread-safe (no shared state). */
int sl_body_decode(sl_body_encoding enc, sl_str in, size_t max_ratio, sl_buf *out, sl_error *err);

#endif
