/* On-demand JSON scanner: validates RFC 8259 JSON and UTF-8 while walking one input buffer,
 * returning slices of the input. Strings are scanned 16 bytes at a time with SSE2 (a scalar
 * loop elsewhere); every vector load lies inside [start, end). AVX2 was measured on the `web`
 * dataset and gave nothing: its strings are short, so SSE2 already leaves them in one or two
 * blocks.
 * Numbers are converted exactly (integers up to 256 bits) or correctly rounded (doubles: an
 * exact fast path, else strtod on a normalised copy of the digits). */
#include "sl_json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SL_JSON_NO_SIMD forces the portable scalar path (used to test it on x86). */
#if (defined(__x86_64__) || defined(__SSE2__)) && !defined(SL_JSON_NO_SIMD)
#include <immintrin.h>
#define SL_JSON_SSE2 1
#endif

/* ---- character classes ---- */

static inline bool is_ws(unsigned char ch)
{
    return ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t';
}

static inline bool is_digit(unsigned char ch)
{
    return (unsigned)(ch - '0') < 10u;
}

static inline unsigned char byte_at(const char *p)
{
    return (unsigned char)*p;
}

/* ---- errors ---- */

static size_t offset_of(const sl_json_cursor *c, const char *at)
{
    return (size_t)(at - c->start);
}

/* Names the byte at `at` for a message: "'x'", "byte 0xC3" or "end of input". */
static void describe(const sl_json_cursor *c, const char *at, char *buf, size_t n)
{
    if (at >= c->end) {
        snprintf(buf, n, "end of input");
        return;
    }
    unsigned char ch = byte_at(at);
    if (ch >= 0x20 && ch < 0x7f)
        snprintf(buf, n, "'%c'", ch);
    else
        snprintf(buf, n, "byte 0x%02X", ch);
}

static int fail_at(sl_json_cursor *c, const char *at, const char *what)
{
    c->p = at;
    size_t off = offset_of(c, at);
    return sl_error_setf(c->err, SL_EJSON, off, "invalid JSON at byte %zu: %s", off, what);
}

/* "expected X, found Y" */
static int fail_expect(sl_json_cursor *c, const char *at, const char *expected)
{
    c->p = at;
    if (!c->err)
        return SL_EJSON;
    char found[32];
    describe(c, at, found, sizeof(found));
    size_t off = offset_of(c, at);
    return sl_error_setf(c->err, SL_EJSON, off, "invalid JSON at byte %zu: expected %s, found %s",
                         off, expected, found);
}

static int fail_utf8(sl_json_cursor *c, const char *at)
{
    c->p = at;
    size_t off = offset_of(c, at);
    return sl_error_setf(c->err, SL_EUTF8, off, "invalid UTF-8 at byte %zu", off);
}

static int fail_depth(sl_json_cursor *c, const char *at)
{
    c->p = at;
    size_t off = offset_of(c, at);
    return sl_error_setf(c->err, SL_EDEPTH, off, "JSON nested deeper than %d levels at byte %zu",
                         SL_JSON_MAX_DEPTH, off);
}

static int fail_unterminated(sl_json_cursor *c, const char *at)
{
    return fail_at(c, at, "unterminated string");
}

/* ---- whitespace ---- */

static inline const char *skip_ws(const char *p, const char *end)
{
    while (p < end && is_ws(byte_at(p)))
        p++;
    return p;
}

/* skip_ws for the public functions: records in c->ws that whitespace was skipped. Compact JSON
 * pays one comparison. */
static inline const char *cursor_skip_ws(sl_json_cursor *c, const char *p)
{
    if (p < c->end && is_ws(byte_at(p))) {
        c->ws = true;
        p = skip_ws(p + 1, c->end);
    }
    return p;
}

/* As skip_ws, and records in *ws whether anything was skipped. */
static inline const char *skip_ws_note(const char *p, const char *end, bool *ws)
{
    if (p < end && byte_at(p) <= ' ') {
        const char *q = skip_ws(p, end);
        if (q != p)
            *ws = true;
        return q;
    }
    return p;
}

/* ---- UTF-8 ---- */

/* ---- strings ---- */

static inline int hex_val(unsigned char ch)
{
    if (is_digit(ch))
        return ch - '0';
    ch = (unsigned char)(ch | 0x20);
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* Parses 4 hex digits at p (bounds checked by the caller); -1 if any is not hex. */
static inline long hex4(const char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_val(byte_at(p + i));
        if (h < 0)
            return -1;
        v = (v << 4) | h;
    }
    return v;
}

/* Validates the escape sequence at *pp (which points at the backslash) and advances past it. */
static int scan_escape(sl_json_cursor *c, const char **pp)
{
    const char *p = *pp, *end = c->end;
    if (end - p < 2)
        return fail_unterminated(c, end);
    switch (p[1]) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't': *pp = p + 2; return 0;
    case 'u': break;
    default: {
        if (!c->err)
            return fail_at(c, p, "");
        unsigned char e = byte_at(p + 1);
        char what[64];
        if (e >= 0x20 && e < 0x7f)
            snprintf(what, sizeof(what), "invalid escape '\\%c' in string", e);
        else
            snprintf(what, sizeof(what), "invalid escape (backslash before byte 0x%02X) in string",
                     e);
        return fail_at(c, p, what);
    }
    }
    if (end - p < 6)
        return fail_at(c, p, "truncated \\u escape in string");
    long cp = hex4(p + 2);
    if (cp < 0)
        return fail_at(c, p, "\\u must be followed by 4 hex digits");
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return fail_at(c, p, "unpaired low surrogate escape in string");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        long lo = -1;
        if (end - p >= 12 && p[6] == '\\' && p[7] == 'u')
            lo = hex4(p + 8);
        if (lo < 0xDC00 || lo > 0xDFFF)
            return fail_at(c, p, "high surrogate escape not followed by a low surrogate escape");
        *pp = p + 12;
        return 0;
    }
    *pp = p + 6;
    return 0;
}

/* Handles a byte that stopped the fast string loop: a quote ends the string (returns 1), a
 * backslash or a valid UTF-8 sequence is consumed (returns 0), anything else fails. */
static inline int string_special(sl_json_cursor *c, const char **pp, uint32_t *flags)
{
    const char *p = *pp;
    unsigned char ch = byte_at(p);
    if (ch == '"') {
        *pp = p + 1;
        return 1;
    }
    if (ch == '\\') {
        *flags |= SL_JSON_ESCAPED;
        return scan_escape(c, pp);
    }
    if (ch < 0x20) {
        if (!c->err)
            return fail_at(c, p, "");
        char what[64];
        snprintf(what, sizeof(what), "unescaped control character 0x%02X in string", ch);
        return fail_at(c, p, what);
    }
    size_t n = sl_json_utf8_seq((const unsigned char *)p, (const unsigned char *)c->end);
    if (n == 0)
        return fail_utf8(c, p);
    *pp = p + n;
    return 0;
}

/* Stop bytes of the string loop: '"', '\\', < 0x20, >= 0x80. */
static inline bool string_stop(unsigned char ch)
{
    return (unsigned char)(ch - 0x20) >= 0x60 || ch == '"' || ch == '\\';
}

#ifdef SL_JSON_SSE2
/* Bit i set if byte i of the 16 at p is a string stop byte. */
static inline unsigned stop_mask16(const char *p)
{
    const __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    /* A signed compare below 0x20 catches both control bytes and bytes >= 0x80. */
    const __m128i m = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')), _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
        _mm_cmplt_epi8(x, _mm_set1_epi8(0x20)));
    return (unsigned)_mm_movemask_epi8(m);
}
#endif

/* The string loop from p (inside the string whose opening quote is at *pp) to its end; leaves
 * *pp after the closing quote. */
static int scan_string_from(sl_json_cursor *c, const char **pp, const char *p, uint32_t *flags)
{
    const char *end = c->end;
    for (;;) {
#ifdef SL_JSON_SSE2
        while (end - p >= 16) {
            unsigned mask = stop_mask16(p);
            if (mask) {
                p += __builtin_ctz(mask);
                goto special;
            }
            p += 16;
        }
        if (p < end && end - c->start >= 16) {
            /* Fewer than 16 bytes left: look at the last 16 bytes of the input (all readable)
             * and drop the bits before p. */
            unsigned shift = (unsigned)(16 - (end - p));
            unsigned mask = stop_mask16(end - 16) >> shift;
            if (!mask)
                return fail_unterminated(c, *pp);
            p += __builtin_ctz(mask);
            goto special;
        }
#endif
        while (p < end && !string_stop(byte_at(p)))
            p++;
        if (p >= end)
            return fail_unterminated(c, *pp);
#ifdef SL_JSON_SSE2
    special:;
#endif
        int rc = string_special(c, &p, flags);
        if (rc > 0) {
            *pp = p;
            return 0;
        }
        if (rc < 0)
            return rc;
    }
}

/* Scans a string whose opening quote is at *pp; leaves *pp after the closing quote.
 * *flags gets SL_JSON_ESCAPED if the string has escapes. Inline: most strings are short and
 * plain, and end at the first stop byte of their first blocks. */
static inline int scan_string(sl_json_cursor *c, const char **pp, uint32_t *flags)
{
    const char *p = *pp + 1;
#ifdef SL_JSON_SSE2
    for (int i = 0; i < 4 && c->end - p >= 16; i++) {
        unsigned mask = stop_mask16(p);
        if (mask) {
            p += __builtin_ctz(mask);
            if (*p == '"') {
                *pp = p + 1;
                return 0;
            }
            break;
        }
        p += 16;
    }
#endif
    return scan_string_from(c, pp, p, flags);
}

/* ---- numbers ---- */

/* Scans a number at *pp (first byte '-' or a digit, or anything for text validation). */
static int scan_number(sl_json_cursor *c, const char **pp, uint32_t *flags)
{
    const char *p = *pp, *end = c->end;
    uint32_t f = 0;
    if (p < end && *p == '-') {
        f |= SL_JSON_NEGATIVE;
        p++;
    }
    if (p >= end || !is_digit(byte_at(p)))
        return fail_expect(c, p, f ? "a digit after '-'" : "a number");
    if (*p == '0') {
        p++;
        if (p < end && is_digit(byte_at(p)))
            return fail_at(c, p - 1, "leading zeros are not allowed in numbers");
    } else {
        p = sl_json_skip_digits(p, end);
    }
    if (p < end && *p == '.') {
        f |= SL_JSON_FRACTION;
        p++;
        if (p >= end || !is_digit(byte_at(p)))
            return fail_expect(c, p, "a digit after the decimal point");
        p = sl_json_skip_digits(p, end);
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        f |= SL_JSON_EXPONENT;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || !is_digit(byte_at(p)))
            return fail_expect(c, p, "a digit in the exponent");
        p = sl_json_skip_digits(p, end);
    }
    *pp = p;
    *flags = f;
    return 0;
}

/* ---- literals ---- */

static int scan_literal(sl_json_cursor *c, const char **pp, const char *lit, size_t n)
{
    const char *p = *pp;
    if ((size_t)(c->end - p) < n || memcmp(p, lit, n) != 0) {
        if (!c->err)
            return SL_EJSON;
        char what[48];
        snprintf(what, sizeof(what), "invalid literal (expected '%s')", lit);
        return fail_at(c, p, what);
    }
    *pp = p + n;
    return 0;
}

/* ---- containers ---- */

/* Validates the container whose opening bracket is at *pp, with c->depth containers already
 * open outside it; leaves *pp after the closing bracket. Iterative: a bit stack records
 * which open containers are objects. */
static int skip_container(sl_json_cursor *c, const char **pp, bool *ws)
{
    const char *p = *pp, *end = c->end;
    uint64_t is_obj_bits[(SL_JSON_MAX_DEPTH + 63) / 64] = {0};
    int level = 0, rc;
    bool obj;
    uint32_t sflags = 0;

open:
    if (c->depth + level >= SL_JSON_MAX_DEPTH)
        return fail_depth(c, p);
    obj = *p == '{';
    if (obj)
        is_obj_bits[level >> 6] |= (uint64_t)1 << (level & 63);
    else
        is_obj_bits[level >> 6] &= ~((uint64_t)1 << (level & 63));
    level++;
    p = skip_ws_note(p + 1, end, ws);
    if (p >= end)
        return fail_expect(c, p, obj ? "a string key or '}'" : "a value or ']'");
    if (*p == (obj ? '}' : ']'))
        goto close;
    if (!obj)
        goto value;

key:
    if (p >= end || *p != '"')
        return fail_expect(c, p, "a string key");
    if ((rc = scan_string(c, &p, &sflags)) != 0)
        return rc;
    p = skip_ws_note(p, end, ws);
    if (p >= end || *p != ':')
        return fail_expect(c, p, "':' after an object key");
    p = skip_ws_note(p + 1, end, ws);

value:
    if (p >= end)
        return fail_expect(c, p, "a value");
    switch (*p) {
    case '{':
    case '[': goto open;
    case '"':
        if ((rc = scan_string(c, &p, &sflags)) != 0)
            return rc;
        break;
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        if ((rc = scan_number(c, &p, &sflags)) != 0)
            return rc;
        break;
    case 't':
        if ((rc = scan_literal(c, &p, "true", 4)) != 0)
            return rc;
        break;
    case 'f':
        if ((rc = scan_literal(c, &p, "false", 5)) != 0)
            return rc;
        break;
    case 'n':
        if ((rc = scan_literal(c, &p, "null", 4)) != 0)
            return rc;
        break;
    default: return fail_expect(c, p, "a value");
    }

closed:
    p = skip_ws_note(p, end, ws);
    obj = (is_obj_bits[(level - 1) >> 6] >> ((level - 1) & 63)) & 1;
    if (p < end && *p == ',') {
        p = skip_ws_note(p + 1, end, ws);
        if (obj)
            goto key;
        goto value;
    }
    if (p < end && *p == (obj ? '}' : ']'))
        goto close;
    return fail_expect(
        c, p, obj ? "',' or '}' after an object member" : "',' or ']' after an array element");

close:
    p++;
    if (--level == 0) {
        *pp = p;
        return 0;
    }
    goto closed;
}

/* ---- public: cursor ---- */

void sl_json_cursor_init(sl_json_cursor *c, const char *ptr, size_t len, sl_error *err)
{
    c->start = ptr;
    c->p = ptr;
    c->end = ptr + len;
    c->depth = 0;
    c->ws = false;
    c->err = err;
}

sl_json_kind sl_json_peek(sl_json_cursor *c)
{
    c->p = cursor_skip_ws(c, c->p);
    if (c->p >= c->end)
        return SL_JSON_NONE;
    switch (*c->p) {
    case '{': return SL_JSON_OBJECT;
    case '[': return SL_JSON_ARRAY;
    case '"': return SL_JSON_STRING;
    case 't': return SL_JSON_TRUE;
    case 'f': return SL_JSON_FALSE;
    case 'n': return SL_JSON_NULL;
    default: return is_digit(byte_at(c->p)) || *c->p == '-' ? SL_JSON_NUMBER : SL_JSON_NONE;
    }
}

int sl_json_scan_value(sl_json_cursor *c, sl_json_value *v)
{
    const char *p = cursor_skip_ws(c, c->p), *end = c->end;
    const char *begin = p;
    uint32_t flags = 0;
    sl_json_kind kind;
    int rc;
    if (p >= end)
        return fail_expect(c, p, "a value");
    switch (*p) {
    case '"':
        kind = SL_JSON_STRING;
        rc = scan_string(c, &p, &flags);
        if (rc)
            return rc;
        v->kind = kind;
        v->flags = flags;
        v->ptr = begin + 1;
        v->len = (size_t)(p - begin) - 2;
        c->p = p;
        return 0;
    case '{':
    case '[': {
        kind = *p == '{' ? SL_JSON_OBJECT : SL_JSON_ARRAY;
        bool ws = false;
        rc = skip_container(c, &p, &ws);
        if (rc)
            return rc;
        flags = ws ? SL_JSON_WHITESPACE : 0;
        if (ws)
            c->ws = true;
        break;
    }
    case 't':
        kind = SL_JSON_TRUE;
        rc = scan_literal(c, &p, "true", 4);
        break;
    case 'f':
        kind = SL_JSON_FALSE;
        rc = scan_literal(c, &p, "false", 5);
        break;
    case 'n':
        kind = SL_JSON_NULL;
        rc = scan_literal(c, &p, "null", 4);
        break;
    default:
        if (*p != '-' && !is_digit(byte_at(p)))
            return fail_expect(c, p, "a value");
        kind = SL_JSON_NUMBER;
        rc = scan_number(c, &p, &flags);
        break;
    }
    if (rc)
        return rc;
    v->kind = kind;
    v->flags = flags;
    v->ptr = begin;
    v->len = (size_t)(p - begin);
    c->p = p;
    return 0;
}

int sl_json_skip_value(sl_json_cursor *c)
{
    const char *p = cursor_skip_ws(c, c->p), *end = c->end;
    uint32_t flags = 0;
    int rc;
    if (p >= end)
        return fail_expect(c, p, "a value");
    switch (*p) {
    case '"': rc = scan_string(c, &p, &flags); break;
    case '{':
    case '[': {
        bool ws = false;
        rc = skip_container(c, &p, &ws);
        if (ws)
            c->ws = true;
        break;
    }
    case 't': rc = scan_literal(c, &p, "true", 4); break;
    case 'f': rc = scan_literal(c, &p, "false", 5); break;
    case 'n': rc = scan_literal(c, &p, "null", 4); break;
    default:
        if (*p != '-' && !is_digit(byte_at(p)))
            return fail_expect(c, p, "a value");
        rc = scan_number(c, &p, &flags);
        break;
    }
    if (rc)
        return rc;
    c->p = p;
    return 0;
}

bool sl_json_at_end(sl_json_cursor *c)
{
    c->p = cursor_skip_ws(c, c->p);
    return c->p >= c->end;
}

/* ---- public: iteration ---- */

/* The last non-whitespace byte before p, or 0 at the start of input. Lets the iterators tell
 * the first member (after the bracket) from later ones without state in the cursor. */
static inline unsigned char prev_token_byte(const sl_json_cursor *c)
{
    const char *q = c->p;
    if (q > c->start && !is_ws(byte_at(q - 1))) /* compact JSON: the byte just before */
        return byte_at(q - 1);
    while (q > c->start && is_ws(byte_at(q - 1)))
        q--;
    return q > c->start ? byte_at(q - 1) : 0;
}

static int container_begin(sl_json_cursor *c, char open, const char *expected)
{
    const char *p = cursor_skip_ws(c, c->p);
    if (p >= c->end || *p != open)
        return fail_expect(c, p, expected);
    if (c->depth >= SL_JSON_MAX_DEPTH)
        return fail_depth(c, p);
    c->depth++;
    c->p = p + 1;
    return 0;
}

int sl_json_object_begin(sl_json_cursor *c)
{
    return container_begin(c, '{', "'{'");
}

int sl_json_array_begin(sl_json_cursor *c)
{
    return container_begin(c, '[', "'['");
}

int sl_json_object_next(sl_json_cursor *c, sl_json_value *key)
{
    /* Compact JSON: the cursor is at ',' then '"' after a member, or at '"' right after '{'.
     * Anything else (whitespace, the end, errors) takes the general path below. */
    const char *p0 = c->p;
    if (c->end - p0 >= 2 && p0 > c->start) {
        unsigned char prev = byte_at(p0 - 1);
        const char *q = NULL;
        if (*p0 == ',' && p0[1] == '"' && prev != '{' && !is_ws(prev))
            q = p0 + 1;
        else if (*p0 == '"' && prev == '{')
            q = p0;
        if (q) {
            const char *kp = q;
            uint32_t kflags = 0;
            int krc = scan_string(c, &kp, &kflags);
            if (krc)
                return krc;
            if (kp < c->end && *kp == ':') {
                key->kind = SL_JSON_STRING;
                key->flags = kflags;
                key->ptr = q + 1;
                key->len = (size_t)(kp - q) - 2;
                c->p = kp + 1;
                return 1;
            }
        }
    }

    bool first = prev_token_byte(c) == '{';
    const char *p = cursor_skip_ws(c, c->p), *end = c->end;
    if (p < end && *p == '}') {
        c->p = p + 1;
        c->depth--;
        return 0;
    }
    if (!first) {
        if (p >= end || *p != ',')
            return fail_expect(c, p, "',' or '}' after an object member");
        p = cursor_skip_ws(c, p + 1);
    }
    if (p >= end || *p != '"')
        return fail_expect(c, p, first ? "a string key or '}'" : "a string key");
    const char *begin = p;
    uint32_t flags = 0;
    int rc = scan_string(c, &p, &flags);
    if (rc)
        return rc;
    key->kind = SL_JSON_STRING;
    key->flags = flags;
    key->ptr = begin + 1;
    key->len = (size_t)(p - begin) - 2;
    p = cursor_skip_ws(c, p);
    if (p >= end || *p != ':')
        return fail_expect(c, p, "':' after an object key");
    c->p = p + 1;
    return 1;
}

int sl_json_array_next(sl_json_cursor *c)
{
    bool first = prev_token_byte(c) == '[';
    const char *p = cursor_skip_ws(c, c->p), *end = c->end;
    if (p < end && *p == ']') {
        c->p = p + 1;
        c->depth--;
        return 0;
    }
    if (!first) {
        if (p >= end || *p != ',')
            return fail_expect(c, p, "',' or ']' after an array element");
        p = cursor_skip_ws(c, p + 1);
        if (p < end && *p == ']')
            return fail_expect(c, p, "a value (trailing comma)");
    }
    if (p >= end || *p == ',')
        return fail_expect(c, p, first ? "a value or ']'" : "a value");
    c->p = p;
    return 1;
}

/* ---- public: strings ---- */

/* Writes code point cp as UTF-8 to o; returns the byte count. */
static size_t put_utf8(uint8_t *o, unsigned long cp)
{
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xC0 | (cp >> 6));
        o[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | (cp >> 12));
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | (cp >> 18));
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes the (validated) escape at p into o; returns its UTF-8 length, *adv the escape's
 * length in the input. */
static size_t decode_escape(const char *p, uint8_t *o, size_t *adv)
{
    *adv = 2;
    switch (p[1]) {
    case 'b': o[0] = '\b'; return 1;
    case 'f': o[0] = '\f'; return 1;
    case 'n': o[0] = '\n'; return 1;
    case 'r': o[0] = '\r'; return 1;
    case 't': o[0] = '\t'; return 1;
    case 'u': break;
    default: o[0] = (uint8_t)p[1]; return 1;
    }
    unsigned long cp = (unsigned long)hex4(p + 2);
    *adv = 6;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        unsigned long lo = (unsigned long)hex4(p + 8);
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        *adv = 12;
    }
    return put_utf8(o, cp);
}

int sl_json_decode_string(const sl_json_value *s, sl_buf *out)
{
    if (!(s->flags & SL_JSON_ESCAPED))
        return sl_buf_append(out, s->ptr, s->len);
    /* Every escape decodes to at most as many bytes as it takes in the input. */
    int rc = sl_buf_reserve(out, s->len);
    if (rc)
        return rc;
    const char *p = s->ptr, *end = s->ptr + s->len;
    uint8_t *o = out->data + out->len;
    while (p < end) {
        const char *bs = memchr(p, '\\', (size_t)(end - p));
        size_t run = (size_t)((bs ? bs : end) - p);
        memcpy(o, p, run);
        o += run;
        p += run;
        if (!bs)
            break;
        size_t adv;
        o += decode_escape(p, o, &adv);
        p += adv;
    }
    out->len = (size_t)(o - out->data);
    return 0;
}

bool sl_json_key_equals(const sl_json_value *key, sl_str name)
{
    if (!(key->flags & SL_JSON_ESCAPED))
        return key->len == name.len && (name.len == 0 || memcmp(key->ptr, name.ptr, name.len) == 0);
    /* Escapes only shrink, so a key shorter than the name can never match. */
    if (key->len < name.len)
        return false;
    const char *p = key->ptr, *end = key->ptr + key->len;
    const char *n = name.ptr, *nend = name.ptr + name.len;
    while (p < end) {
        if (*p != '\\') {
            if (n >= nend || *n != *p)
                return false;
            n++;
            p++;
            continue;
        }
        uint8_t buf[4];
        size_t adv, k = decode_escape(p, buf, &adv);
        if ((size_t)(nend - n) < k || memcmp(n, buf, k) != 0)
            return false;
        n += k;
        p += adv;
    }
    return n == nend;
}

int sl_json_compact(const sl_json_value *v, sl_buf *out)
{
    if (!(v->flags & SL_JSON_WHITESPACE))
        return sl_buf_append(out, v->ptr, v->len);
    int rc = sl_buf_reserve(out, v->len);
    if (rc)
        return rc;
    const char *p = v->ptr, *end = v->ptr + v->len;
    uint8_t *o = out->data + out->len;
    while (p < end) {
        unsigned char ch = byte_at(p);
        if (is_ws(ch)) {
            p++;
            continue;
        }
        *o++ = ch;
        p++;
        if (ch != '"')
            continue;
        /* Copy the string through its closing quote; escapes are two bytes or more. */
        while (p < end) {
            ch = byte_at(p++);
            *o++ = ch;
            if (ch == '"')
                break;
            if (ch == '\\' && p < end)
                *o++ = byte_at(p++);
        }
    }
    out->len = (size_t)(o - out->data);
    return 0;
}

/* ---- public: numbers ---- */

/* The parts of a validated number: its digits (integer part then fraction) and the decimal
 * exponent that applies to them as an integer. */
typedef struct {
    const char *int_p; /* integer digits */
    size_t int_n;
    const char *frac_p; /* fraction digits */
    size_t frac_n;
    long long exp; /* explicit exponent, saturated to +-1e15 */
    bool neg;
} num_parts;

static void split_number(const sl_json_value *v, num_parts *np)
{
    const char *p = v->ptr, *end = v->ptr + v->len;
    np->neg = p < end && *p == '-';
    if (np->neg)
        p++;
    np->int_p = p;
    while (p < end && is_digit(byte_at(p)))
        p++;
    np->int_n = (size_t)(p - np->int_p);
    np->frac_p = p;
    np->frac_n = 0;
    if (p < end && *p == '.') {
        np->frac_p = ++p;
        while (p < end && is_digit(byte_at(p)))
            p++;
        np->frac_n = (size_t)(p - np->frac_p);
    }
    np->exp = 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        bool eneg = false;
        if (*p == '+' || *p == '-')
            eneg = *p++ == '-';
        long long e = 0;
        for (; p < end; p++) {
            if (e < 1000000000000000LL)
                e = e * 10 + (*p - '0');
        }
        np->exp = eneg ? -e : e;
    }
}

int sl_json_number_to_int(const sl_json_value *v, bool is_signed, unsigned bits, uint8_t *out)
{
    if (bits < 8 || bits > 256 || bits % 8)
        return SL_EINVAL;
    if (v->flags & (SL_JSON_FRACTION | SL_JSON_EXPONENT))
        return SL_EVALUE;
    const char *p = v->ptr, *end = v->ptr + v->len;
    bool neg = p < end && *p == '-';
    if (neg)
        p++;
    size_t nbytes = bits / 8;
    if (bits <= 64) {
        uint64_t m = 0;
        for (; p < end; p++) {
            unsigned d = (unsigned)(*p - '0');
            if (m > (UINT64_MAX - d) / 10)
                return SL_ERANGE;
            m = m * 10 + d;
        }
        uint64_t limit;
        if (!is_signed) {
            if (neg && m != 0)
                return SL_ERANGE;
            limit = bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
        } else {
            limit = ((uint64_t)1 << (bits - 1)) - (neg ? 0 : 1);
        }
        if (m > limit)
            return SL_ERANGE;
        if (neg)
            m = (uint64_t)0 - m;
        for (size_t i = 0; i < nbytes; i++)
            out[i] = (uint8_t)(m >> (8 * i));
        return 0;
    }
    /* Up to 256 bits in 32-bit limbs, least significant first. */
    uint32_t limb[8] = {0};
    for (; p < end; p++) {
        uint64_t carry = (uint64_t)(*p - '0');
        for (int i = 0; i < 8; i++) {
            uint64_t t = (uint64_t)limb[i] * 10 + carry;
            limb[i] = (uint32_t)t;
            carry = t >> 32;
        }
        if (carry)
            return SL_ERANGE;
    }
    uint8_t mag[32];
    for (size_t i = 0; i < 32; i++)
        mag[i] = (uint8_t)(limb[i / 4] >> (8 * (i % 4)));
    bool zero = true;
    for (size_t i = 0; i < 32; i++)
        zero = zero && mag[i] == 0;
    for (size_t i = nbytes; i < 32; i++)
        if (mag[i])
            return SL_ERANGE;
    if (!is_signed) {
        if (neg && !zero)
            return SL_ERANGE;
    } else if (mag[nbytes - 1] & 0x80) {
        /* Only -2^(bits-1) has the top bit set and fits. */
        bool min = neg && mag[nbytes - 1] == 0x80;
        for (size_t i = 0; min && i < nbytes - 1; i++)
            min = mag[i] == 0;
        if (!min)
            return SL_ERANGE;
    }
    if (neg) {
        unsigned carry = 1;
        for (size_t i = 0; i < nbytes; i++) {
            unsigned t = (unsigned)(uint8_t)~mag[i] + carry;
            out[i] = (uint8_t)t;
            carry = t >> 8;
        }
    } else {
        memcpy(out, mag, nbytes);
    }
    return 0;
}

static const double exact_pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Significant digits kept for strtod; more can never change the rounding once a sticky
 * nonzero digit stands in for the rest (halfway cases need at most 767 digits). */
#define MAX_SIG_DIGITS 800

int sl_json_number_to_double(const sl_json_value *v, double *out)
{
    num_parts np;
    split_number(v, &np);

    /* Fast path: all digits fit in 19 decimal places, mantissa <= 2^53, |exp10| <= 22; then
     * one IEEE multiplication or division of exact operands rounds correctly. */
    if (np.int_n + np.frac_n <= 19 && np.exp > -100 && np.exp < 100) {
        uint64_t m = 0;
        for (size_t i = 0; i < np.int_n; i++)
            m = m * 10 + (uint64_t)(np.int_p[i] - '0');
        for (size_t i = 0; i < np.frac_n; i++)
            m = m * 10 + (uint64_t)(np.frac_p[i] - '0');
        long long e10 = np.exp - (long long)np.frac_n;
        if (m <= ((uint64_t)1 << 53) && e10 >= -22 && e10 <= 22) {
            double d = (double)m;
            if (e10 >= 0)
                d *= exact_pow10[e10];
            else
                d /= exact_pow10[-e10];
            *out = np.neg ? -d : d;
            return 0;
        }
        if (m == 0) {
            *out = np.neg ? -0.0 : 0.0;
            return 0;
        }
    }

    /* Slow path: rewrite as "[-]D...De<exp>" with at most MAX_SIG_DIGITS significant digits
     * (plus a sticky 1 if nonzero digits were dropped) and let strtod round it. */
    char buf[MAX_SIG_DIGITS + 40];
    size_t n = 0;
    if (np.neg)
        buf[n++] = '-';
    size_t digits = 0;
    long long e10 = np.exp; /* applies after the last kept digit */
    long long dropped = 0;  /* digits dropped after the kept ones */
    bool sticky = false;
    for (int part = 0; part < 2; part++) {
        const char *d = part == 0 ? np.int_p : np.frac_p;
        size_t dn = part == 0 ? np.int_n : np.frac_n;
        for (size_t i = 0; i < dn; i++) {
            if (part == 1)
                e10--;
            if (digits == 0 && d[i] == '0')
                continue; /* leading zeros */
            if (digits < MAX_SIG_DIGITS) {
                buf[n++] = d[i];
                digits++;
            } else {
                dropped++;
                sticky = sticky || d[i] != '0';
            }
        }
    }
    if (digits == 0) {
        *out = np.neg ? -0.0 : 0.0;
        return 0;
    }
    if (sticky) {
        buf[n++] = '1';
        dropped--;
    }
    e10 += dropped;
    if (e10 > 100000000)
        e10 = 100000000;
    if (e10 < -100000000)
        e10 = -100000000;
    snprintf(buf + n, sizeof(buf) - n, "e%lld", e10);
    double d = strtod(buf, NULL);
    *out = d;
    return isinf(d) ? SL_ERANGE : 0;
}

/* Validates that text is exactly one JSON number and describes it as a value. */
static int text_number(sl_str text, sl_json_value *v)
{
    if (text.len == 0 || !text.ptr)
        return SL_EVALUE;
    sl_json_cursor c;
    sl_json_cursor_init(&c, text.ptr, text.len, NULL);
    const char *p = text.ptr;
    uint32_t flags = 0;
    if (scan_number(&c, &p, &flags) != 0 || p != c.end)
        return SL_EVALUE;
    v->kind = SL_JSON_NUMBER;
    v->flags = flags;
    v->ptr = text.ptr;
    v->len = text.len;
    return 0;
}

int sl_json_text_to_int(sl_str text, bool is_signed, unsigned bits, uint8_t *out)
{
    sl_json_value v;
    int rc = text_number(text, &v);
    return rc ? rc : sl_json_number_to_int(&v, is_signed, bits, out);
}

int sl_json_text_to_double(sl_str text, double *out)
{
    sl_json_value v;
    int rc = text_number(text, &v);
    return rc ? rc : sl_json_number_to_double(&v, out);
}

/* ---- lines ---- */

const char *sl_json_line_end(const char *p, const char *end)
{
    if (p >= end)
        return end;
    /* glibc's memchr is vectorised and reads only within the range. */
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    return nl ? nl : end;
}
