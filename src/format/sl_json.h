/* On-demand JSON scanner for the ingest hot loop.
 *
 * A cursor walks one input buffer. Every function validates what it passes over: the full JSON
 * grammar (RFC 8259), UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF), control
 * characters in strings and escape sequences (\uD800-\uDFFF only as proper pairs). Values the
 * caller does not need are skipped with sl_json_skip_value, which validates without decoding.
 * Strings come back as slices of the input; escapes are decoded only on request
 * (sl_json_decode_string). Nothing is allocated; nothing is read outside [start, end).
 *
 * Whitespace is the four JSON whitespace bytes; newlines are whitespace too (the NDJSON row
 * splitting belongs to the converter, which uses sl_json_line_end).
 *
 * Thread-safety: a cursor belongs to one thread; the functions keep no state outside it. */
#ifndef SL_JSON_H
#define SL_JSON_H

#include "sl_common.h"

#include <string.h>

#define SL_JSON_MAX_DEPTH 128

typedef enum {
    SL_JSON_NONE = 0, /* end of input or not a value start */
    SL_JSON_OBJECT,
    SL_JSON_ARRAY,
    SL_JSON_STRING,
    SL_JSON_NUMBER,
    SL_JSON_TRUE,
    SL_JSON_FALSE,
    SL_JSON_NULL,
} sl_json_kind;

/* sl_json_value.flags */
enum {
    SL_JSON_ESCAPED = 1 << 0,   /* string: contains backslash escapes (decode before use) */
    SL_JSON_NEGATIVE = 1 << 1,  /* number: starts with '-' */
    SL_JSON_FRACTION = 1 << 2,  /* number: has a '.' part */
    SL_JSON_EXPONENT = 1 << 3,  /* number: has an e/E part */
    SL_JSON_WHITESPACE = 1 << 4 /* object/array: text contains whitespace between tokens */
};

/* A scanned value, pointing into the cursor's input.
 * STRING: the bytes between the quotes (still escaped if SL_JSON_ESCAPED).
 * NUMBER: the number text, e.g. "-12.5e3". OBJECT/ARRAY: the whole text from the opening to the
 * closing bracket. TRUE/FALSE/NULL: the literal. */
typedef struct {
    sl_json_kind kind;
    uint32_t flags;
    const char *ptr;
    size_t len;
} sl_json_value;

/* On failure every function leaves `p` at the offending byte (err->offset is the same place),
 * so a caller may report it; the cursor is not meant to be resumed after an error. */
typedef struct {
    const char *start; /* offsets in errors are relative to this */
    const char *p;     /* next byte to read */
    const char *end;   /* one past the last readable byte */
    int depth;
    bool ws;       /* set whenever a function skips whitespace, never cleared by them: a caller
                    * that walks a container itself learns SL_JSON_WHITESPACE from it */
    sl_error *err; /* optional; filled on failure with code SL_EJSON/SL_EUTF8/SL_EDEPTH */
} sl_json_cursor;

void sl_json_cursor_init(sl_json_cursor *c, const char *ptr, size_t len, sl_error *err);

/* Skips whitespace; returns the kind of the value that starts at the cursor (without consuming
 * it), or SL_JSON_NONE if the input ends or the next byte cannot start a value. */
sl_json_kind sl_json_peek(sl_json_cursor *c);

/* Scans one value of any kind (after optional whitespace), fills *v, validates it completely
 * (for objects and arrays: the whole subtree), and leaves the cursor after it.
 * 0 or a negative sl error code. */
int sl_json_scan_value(sl_json_cursor *c, sl_json_value *v);

/* Like sl_json_scan_value without reporting the value: validates and skips it. */
int sl_json_skip_value(sl_json_cursor *c);

/* Objects. sl_json_object_begin consumes '{' (after whitespace). sl_json_object_next then returns
 * 1 with *key set (the raw, possibly escaped key; key->flags says) and the cursor just after
 * the ':' (the member's value must be consumed next), 0 after consuming the closing '}', or a
 * negative code. Commas are handled inside. The iterators keep no per-container state: they
 * tell the first member from later ones by looking back at the last token byte before the
 * cursor, so the member's value must be consumed (scan/skip, or a nested begin...0) before the
 * next call. c->depth counts containers opened by begin and not yet closed; scan/skip of a
 * nested value count from it against SL_JSON_MAX_DEPTH. */
int sl_json_object_begin(sl_json_cursor *c);
int sl_json_object_next(sl_json_cursor *c, sl_json_value *key);

/* Arrays, same protocol: sl_json_array_next returns 1 when an element follows (cursor at it),
 * 0 after consuming ']', or a negative code. */
int sl_json_array_begin(sl_json_cursor *c);
int sl_json_array_next(sl_json_cursor *c);

/* Skips whitespace and returns true if the input is exhausted. */
bool sl_json_at_end(sl_json_cursor *c);

/* Decodes a scanned string's escapes into UTF-8 appended to `out` (a plain copy if the string
 * has no escapes). The string must have been validated by the scanner. 0 or SL_ETOOBIG/
 * SL_ENOMEM from the buffer. */
int sl_json_decode_string(const sl_json_value *s, sl_buf *out);

/* Compares a scanned (possibly escaped) key with a plain UTF-8 name, decoding escapes on the
 * fly; no allocation. */
bool sl_json_key_equals(const sl_json_value *key, sl_str name);

/* Appends the compact form of a validated value (no whitespace outside strings; string
 * contents kept byte for byte) to `out`. For a value without SL_JSON_WHITESPACE this is a copy
 * of v->ptr/len: for a STRING that is its raw contents without the quotes. */
int sl_json_compact(const sl_json_value *v, sl_buf *out);

/* Numbers. Both take a validated NUMBER value. */

/* Exact integer parse of a number without fraction or exponent into a two's-complement
 * little-endian integer of `bits` bits (8..256, multiple of 8) stored in `out` (bits/8 bytes).
 * Returns 0, SL_ERANGE if the value does not fit the signedness and width, or SL_EVALUE if the
 * number has a fraction or exponent. `is_signed` selects the range. */
int sl_json_number_to_int(const sl_json_value *v, bool is_signed, unsigned bits, uint8_t *out);

/* Correctly rounded (round-to-nearest-even) conversion to double. Overflow gives +-inf and
 * SL_ERANGE; underflow gives 0 or a subnormal and returns 0. */
int sl_json_number_to_double(const sl_json_value *v, double *out);

/* Same parsers for number text found elsewhere (e.g. inside a JSON string, "123"). They first
 * validate that `text` is a complete JSON number; SL_EVALUE if it is not. */
int sl_json_text_to_int(sl_str text, bool is_signed, unsigned bits, uint8_t *out);
int sl_json_text_to_double(sl_str text, double *out);

/* Returns a pointer to the first '\n' at or after p, or `end` if there is none. Fast (word- or
 * vector-wide search); used to split NDJSON and to resynchronise after a bad line. */
const char *sl_json_line_end(const char *p, const char *end);

/* ---- inline fast paths for compact, plain JSON ----
 *
 * For callers that walk rows themselves (the converter, the container encoders): they accept
 * only the common case (no whitespace, no escapes, no control characters) and return NULL on
 * anything else or anything invalid; the caller then hands the same position to the functions
 * above, which validate fully and word the errors. What they accept is exactly what the full
 * scanner accepts, with the same flags, so which path read a value never shows. They read
 * nothing outside [p, end). */

#if (defined(__x86_64__) || defined(__SSE2__)) && !defined(SL_JSON_NO_SIMD)
#include <emmintrin.h>
#endif

/* The scanners below are small and sit in the innermost loops: inline them even where the
 * compiler's size heuristics would not. */
#if defined(__GNUC__)
#define SL_JSON_INLINE static inline __attribute__((always_inline))
#else
#define SL_JSON_INLINE static inline
#endif

/* The first byte at or after p that is not an ASCII digit (or end); eight bytes at a time:
 * adding 0x46 sets the top bit of bytes above '9', subtracting 0x30 those below '0', and the
 * byte's own top bit marks the rest; carries and borrows only run upward from a non-digit, so
 * the lowest marked byte is the first non-digit. */
SL_JSON_INLINE const char *sl_json_skip_digits(const char *p, const char *end)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        uint64_t m =
            ((w + 0x4646464646464646u) | (w - 0x3030303030303030u) | w) & 0x8080808080808080u;
        if (m)
            return p + (__builtin_ctzll(m) >> 3);
        p += 8;
    }
#endif
    while (p < end && (unsigned)((unsigned char)*p - '0') < 10u)
        p++;
    return p;
}

/* The value of n <= 19 ASCII digits (already validated) at p; eight at a time where it can:
 * pairs of digits are combined in 16-bit lanes, then pairs of pairs in 32-bit lanes, then the
 * two halves. */
static inline uint64_t sl_json_digits_value(const char *p, size_t n)
{
    uint64_t m = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t w;
        memcpy(&w, p, 8); /* first digit in the lowest byte */
        w -= 0x3030303030303030u;
        w = w * 10 + (w >> 8); /* bytes 0, 2, 4, 6: two-digit values */
        w = ((w & 0x00FF00FF00FF00FFu) * (100u << 16 | 1u)) >> 16;
        w = ((w & 0x0000FFFF0000FFFFu) * (10000ull << 32 | 1u)) >> 32;
        m = m * 100000000u + w;
    }
#endif
    for (; n; n--, p++)
        m = m * 10 + (uint64_t)(*p - '0');
    return m;
}

/* Length of the valid multi-byte UTF-8 sequence at p (first byte >= 0x80), or 0 if invalid
 * (overlong, surrogate, above U+10FFFF, bad continuation, or truncated by `end`). */
static inline size_t sl_json_utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned b0 = p[0];
    size_t avail = (size_t)(end - p);
    if (b0 < 0xC2)
        return 0;
    if (b0 < 0xE0)
        return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (b0 < 0xF0) {
        if (avail < 3)
            return 0;
        unsigned lo = b0 == 0xE0 ? 0xA0 : 0x80, hi = b0 == 0xED ? 0x9F : 0xBF;
        if (p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80)
            return 0;
        return 3;
    }
    if (b0 < 0xF5) {
        if (avail < 4)
            return 0;
        unsigned lo = b0 == 0xF0 ? 0x90 : 0x80, hi = b0 == 0xF4 ? 0x8F : 0xBF;
        if (p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        return 4;
    }
    return 0;
}

/* sl_json_plain_string_end's out-of-line part: byte by byte from p (non-ASCII text, or the
 * last bytes of the input, where a 16-byte load would read past `end`). */
const char *sl_json_plain_string_rest(const char *p, const char *end);

/* p is just after a string's opening quote. Returns its closing quote if the string has no
 * escapes and no control characters (and is valid UTF-8), else NULL. Plain ASCII strings end
 * in the inline part. */
SL_JSON_INLINE const char *sl_json_plain_string_end(const char *p, const char *end)
{
#if (defined(__x86_64__) || defined(__SSE2__)) && !defined(SL_JSON_NO_SIMD)
    while (end - p >= 16) {
        const __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* A signed compare below 0x20 catches both control bytes and bytes >= 0x80. */
        const __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                                                    _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
                                       _mm_cmplt_epi8(x, _mm_set1_epi8(0x20)));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask) {
            p += __builtin_ctz(mask);
            if (*p == '"')
                return p;
            return (unsigned char)*p >= 0x80 ? sl_json_plain_string_rest(p, end) : NULL;
        }
        p += 16;
    }
#endif
    return sl_json_plain_string_rest(p, end);
}

/* p is at a number's first byte. Returns the byte after it and sets *flags as the scanner
 * does, or NULL (not a number, or a malformed one: the full scanner words the error). */
SL_JSON_INLINE const char *sl_json_plain_number_end(const char *p, const char *end, uint32_t *flags)
{
    uint32_t f = 0;
    if (p < end && *p == '-') {
        f = SL_JSON_NEGATIVE;
        p++;
    }
    if (p >= end)
        return NULL;
    if (*p == '0') {
        p++;
        if (p < end && (unsigned)((unsigned char)*p - '0') < 10u)
            return NULL;
    } else if ((unsigned)((unsigned char)*p - '0') < 10u) {
        p = sl_json_skip_digits(p + 1, end);
    } else {
        return NULL;
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || (unsigned)((unsigned char)*p - '0') >= 10u)
            return NULL;
        f |= SL_JSON_FRACTION;
        p = sl_json_skip_digits(p + 1, end);
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || (unsigned)((unsigned char)*p - '0') >= 10u)
            return NULL;
        f |= SL_JSON_EXPONENT;
        p = sl_json_skip_digits(p + 1, end);
    }
    *flags = f;
    return p;
}

/* p is at a '['. Returns the byte after the array if it is a compact array of plain strings and
 * numbers (tags, ids; nested containers are not), else NULL. */
const char *sl_json_plain_array_end(const char *p, const char *end);

/* sl_json_scan_value with compact leaves (plain strings, numbers, literals) scanned inline;
 * everything else, including every error, goes to sl_json_scan_value. */
SL_JSON_INLINE int sl_json_scan_value_fast(sl_json_cursor *c, sl_json_value *v)
{
    const char *p = c->p, *end = c->end, *q = NULL;
    if (p < end) {
        switch (*p) {
        case '"':
            if ((q = sl_json_plain_string_end(p + 1, end)) != NULL) {
                *v = (sl_json_value){SL_JSON_STRING, 0, p + 1, (size_t)(q - p - 1)};
                c->p = q + 1;
                return 0;
            }
            break;
        case 't':
            if (end - p >= 4 && memcmp(p, "true", 4) == 0) {
                *v = (sl_json_value){SL_JSON_TRUE, 0, p, 4};
                c->p = p + 4;
                return 0;
            }
            break;
        case 'f':
            if (end - p >= 5 && memcmp(p, "false", 5) == 0) {
                *v = (sl_json_value){SL_JSON_FALSE, 0, p, 5};
                c->p = p + 5;
                return 0;
            }
            break;
        case 'n':
            if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
                *v = (sl_json_value){SL_JSON_NULL, 0, p, 4};
                c->p = p + 4;
                return 0;
            }
            break;
        case '[':
            if (c->depth < SL_JSON_MAX_DEPTH && (q = sl_json_plain_array_end(p, end)) != NULL) {
                *v = (sl_json_value){SL_JSON_ARRAY, 0, p, (size_t)(q - p)};
                c->p = q;
                return 0;
            }
            break;
        case '{': break;
        default: {
            uint32_t flags;
            if ((q = sl_json_plain_number_end(p, end, &flags)) != NULL) {
                *v = (sl_json_value){SL_JSON_NUMBER, flags, p, (size_t)(q - p)};
                c->p = q;
                return 0;
            }
        }
        }
    }
    return sl_json_scan_value(c, v);
}

#endif
