/* On-demand JSON scanner: validates RFC 8259 JSON and UTF-8 while walking one input buffer,
 * returning slices of the input. Strings are scanned 16 bytes at a time with SSE2 (a scalar
 * loop elsewhere); every vector load lies inside [start, end). AVX2 was measured on the `web`
 * dataset and gave nothing: its strings are short, so SSE2 already leaves them in one or two
 * blocks.
 * Numbers are converted exactly (integers up to 256 bits) or correctly rounded (doubles: an
 * exact fast path, then a 128-bit table of powers of five for up to 19 significant digits, else
 * strtod on a normalised copy of the digits). The inline fast paths for compact JSON live in
 * sl_json.h. */
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

const char *sl_json_plain_string_rest(const char *p, const char *end)
{
    while (p < end) {
        unsigned char ch = byte_at(p);
        if (ch == '"')
            return p;
        if (ch < 0x20 || ch == '\\')
            return NULL;
        if (ch < 0x80) {
            p++;
            continue;
        }
        size_t n = sl_json_utf8_seq((const unsigned char *)p, (const unsigned char *)end);
        if (n == 0)
            return NULL;
        p += n;
    }
    return NULL;
}

const char *sl_json_plain_array_end(const char *p, const char *end)
{
    const char *q = p + 1;
    while (q < end && *q != ']') {
        uint32_t flags;
        if (*q == '"') {
            q = sl_json_plain_string_end(q + 1, end);
            if (!q)
                return NULL;
            q++;
        } else if ((q = sl_json_plain_number_end(q, end, &flags)) == NULL) {
            return NULL;
        }
        if (q < end && *q == ',' && end - q > 1 && q[1] != ']')
            q++;
        else if (q >= end || *q != ']')
            return NULL;
    }
    return q < end ? q + 1 : NULL;
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
    case '9': {
        const char *q = sl_json_plain_number_end(p, end, &sflags);
        if (q) {
            p = q;
            break;
        }
        if ((rc = scan_number(c, &p, &sflags)) != 0)
            return rc;
        break;
    }
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
        if (end - p <= 19) { /* below 10^19: no overflow */
            m = sl_json_digits_value(p, (size_t)(end - p));
            p = end;
        }
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

/* 5^q for q = -342..308 as P = floor(5^q * 2^s), s chosen so that 2^127 <= P < 2^128 (a
 * negative s for large q). Generated with exact integer arithmetic: floor(5^q * 2^s) for q >= 0,
 * floor(2^s / 5^-q) for q < 0 (scripts/gen_pow5.py); hi and lo are P's upper and lower 64 bits. */
typedef struct {
    uint64_t hi, lo;
    int16_t s;
} pow5_128;

#define POW5_MIN_Q (-342)
#define POW5_MAX_Q 308

static const pow5_128 pow5_table[POW5_MAX_Q - POW5_MIN_Q + 1] = {
    {0xEEF453D6923BD65AU, 0x113FAA2906A13B3FU, 922},
    {0x9558B4661B6565F8U, 0x4AC7CA59A424C507U, 919},
    {0xBAAEE17FA23EBF76U, 0x5D79BCF00D2DF649U, 917},
    {0xE95A99DF8ACE6F53U, 0xF4D82C2C107973DCU, 915},
    {0x91D8A02BB6C10594U, 0x79071B9B8A4BE869U, 912},
    {0xB64EC836A47146F9U, 0x9748E2826CDEE284U, 910},
    {0xE3E27A444D8D98B7U, 0xFD1B1B2308169B25U, 908},
    {0x8E6D8C6AB0787F72U, 0xFE30F0F5E50E20F7U, 905},
    {0xB208EF855C969F4FU, 0xBDBD2D335E51A935U, 903},
    {0xDE8B2B66B3BC4723U, 0xAD2C788035E61382U, 901},
    {0x8B16FB203055AC76U, 0x4C3BCB5021AFCC31U, 898},
    {0xADDCB9E83C6B1793U, 0xDF4ABE242A1BBF3DU, 896},
    {0xD953E8624B85DD78U, 0xD71D6DAD34A2AF0DU, 894},
    {0x87D4713D6F33AA6BU, 0x8672648C40E5AD68U, 891},
    {0xA9C98D8CCB009506U, 0x680EFDAF511F18C2U, 889},
    {0xD43BF0EFFDC0BA48U, 0x0212BD1B2566DEF2U, 887},
    {0x84A57695FE98746DU, 0x014BB630F7604B57U, 884},
    {0xA5CED43B7E3E9188U, 0x419EA3BD35385E2DU, 882},
    {0xCF42894A5DCE35EAU, 0x52064CAC828675B9U, 880},
    {0x818995CE7AA0E1B2U, 0x7343EFEBD1940993U, 877},
    {0xA1EBFB4219491A1FU, 0x1014EBE6C5F90BF8U, 875},
    {0xCA66FA129F9B60A6U, 0xD41A26E077774EF6U, 873},
    {0xFD00B897478238D0U, 0x8920B098955522B4U, 871},
    {0x9E20735E8CB16382U, 0x55B46E5F5D5535B0U, 868},
    {0xC5A890362FDDBC62U, 0xEB2189F734AA831DU, 866},
    {0xF712B443BBD52B7BU, 0xA5E9EC7501D523E4U, 864},
    {0x9A6BB0AA55653B2DU, 0x47B233C92125366EU, 861},
    {0xC1069CD4EABE89F8U, 0x999EC0BB696E840AU, 859},
    {0xF148440A256E2C76U, 0xC00670EA43CA250DU, 857},
    {0x96CD2A865764DBCAU, 0x380406926A5E5728U, 854},
    {0xBC807527ED3E12BCU, 0xC605083704F5ECF2U, 852},
    {0xEBA09271E88D976BU, 0xF7864A44C633682EU, 850},
    {0x93445B8731587EA3U, 0x7AB3EE6AFBE0211DU, 847},
    {0xB8157268FDAE9E4CU, 0x5960EA05BAD82964U, 845},
    {0xE61ACF033D1A45DFU, 0x6FB92487298E33BDU, 843},
    {0x8FD0C16206306BABU, 0xA5D3B6D479F8E056U, 840},
    {0xB3C4F1BA87BC8696U, 0x8F48A4899877186CU, 838},
    {0xE0B62E2929ABA83CU, 0x331ACDABFE94DE87U, 836},
    {0x8C71DCD9BA0B4925U, 0x9FF0C08B7F1D0B14U, 833},
    {0xAF8E5410288E1B6FU, 0x07ECF0AE5EE44DD9U, 831},
    {0xDB71E91432B1A24AU, 0xC9E82CD9F69D6150U, 829},
    {0x892731AC9FAF056EU, 0xBE311C083A225CD2U, 826},
    {0xAB70FE17C79AC6CAU, 0x6DBD630A48AAF406U, 824},
    {0xD64D3D9DB981787DU, 0x092CBBCCDAD5B108U, 822},
    {0x85F0468293F0EB4EU, 0x25BBF56008C58EA5U, 819},
    {0xA76C582338ED2621U, 0xAF2AF2B80AF6F24EU, 817},
    {0xD1476E2C07286FAAU, 0x1AF5AF660DB4AEE1U, 815},
    {0x82CCA4DB847945CAU, 0x50D98D9FC890ED4DU, 812},
    {0xA37FCE126597973CU, 0xE50FF107BAB528A0U, 810},
    {0xCC5FC196FEFD7D0CU, 0x1E53ED49A96272C8U, 808},
    {0xFF77B1FCBEBCDC4FU, 0x25E8E89C13BB0F7AU, 806},
    {0x9FAACF3DF73609B1U, 0x77B191618C54E9ACU, 803},
    {0xC795830D75038C1DU, 0xD59DF5B9EF6A2417U, 801},
    {0xF97AE3D0D2446F25U, 0x4B0573286B44AD1DU, 799},
    {0x9BECCE62836AC577U, 0x4EE367F9430AEC32U, 796},
    {0xC2E801FB244576D5U, 0x229C41F793CDA73FU, 794},
    {0xF3A20279ED56D48AU, 0x6B43527578C1110FU, 792},
    {0x9845418C345644D6U, 0x830A13896B78AAA9U, 789},
    {0xBE5691EF416BD60CU, 0x23CC986BC656D553U, 787},
    {0xEDEC366B11C6CB8FU, 0x2CBFBE86B7EC8AA8U, 785},
    {0x94B3A202EB1C3F39U, 0x7BF7D71432F3D6A9U, 782},
    {0xB9E08A83A5E34F07U, 0xDAF5CCD93FB0CC53U, 780},
    {0xE858AD248F5C22C9U, 0xD1B3400F8F9CFF68U, 778},
    {0x91376C36D99995BEU, 0x23100809B9C21FA1U, 775},
    {0xB58547448FFFFB2DU, 0xABD40A0C2832A78AU, 773},
    {0xE2E69915B3FFF9F9U, 0x16C90C8F323F516CU, 771},
    {0x8DD01FAD907FFC3BU, 0xAE3DA7D97F6792E3U, 768},
    {0xB1442798F49FFB4AU, 0x99CD11CFDF41779CU, 766},
    {0xDD95317F31C7FA1DU, 0x40405643D711D583U, 764},
    {0x8A7D3EEF7F1CFC52U, 0x482835EA666B2572U, 761},
    {0xAD1C8EAB5EE43B66U, 0xDA3243650005EECFU, 759},
    {0xD863B256369D4A40U, 0x90BED43E40076A82U, 757},
    {0x873E4F75E2224E68U, 0x5A7744A6E804A291U, 754},
    {0xA90DE3535AAAE202U, 0x711515D0A205CB36U, 752},
    {0xD3515C2831559A83U, 0x0D5A5B44CA873E03U, 750},
    {0x8412D9991ED58091U, 0xE858790AFE9486C2U, 747},
    {0xA5178FFF668AE0B6U, 0x626E974DBE39A872U, 745},
    {0xCE5D73FF402D98E3U, 0xFB0A3D212DC8128FU, 743},
    {0x80FA687F881C7F8EU, 0x7CE66634BC9D0B99U, 740},
    {0xA139029F6A239F72U, 0x1C1FFFC1EBC44E80U, 738},
    {0xC987434744AC874EU, 0xA327FFB266B56220U, 736},
    {0xFBE9141915D7A922U, 0x4BF1FF9F0062BAA8U, 734},
    {0x9D71AC8FADA6C9B5U, 0x6F773FC3603DB4A9U, 731},
    {0xC4CE17B399107C22U, 0xCB550FB4384D21D3U, 729},
    {0xF6019DA07F549B2BU, 0x7E2A53A146606A48U, 727},
    {0x99C102844F94E0FBU, 0x2EDA7444CBFC426DU, 724},
    {0xC0314325637A1939U, 0xFA911155FEFB5308U, 722},
    {0xF03D93EEBC589F88U, 0x793555AB7EBA27CAU, 720},
    {0x96267C7535B763B5U, 0x4BC1558B2F3458DEU, 717},
    {0xBBB01B9283253CA2U, 0x9EB1AAEDFB016F16U, 715},
    {0xEA9C227723EE8BCBU, 0x465E15A979C1CADCU, 713},
    {0x92A1958A7675175FU, 0x0BFACD89EC191EC9U, 710},
    {0xB749FAED14125D36U, 0xCEF980EC671F667BU, 708},
    {0xE51C79A85916F484U, 0x82B7E12780E7401AU, 706},
    {0x8F31CC0937AE58D2U, 0xD1B2ECB8B0908810U, 703},
    {0xB2FE3F0B8599EF07U, 0x861FA7E6DCB4AA15U, 701},
    {0xDFBDCECE67006AC9U, 0x67A791E093E1D49AU, 699},
    {0x8BD6A141006042BDU, 0xE0C8BB2C5C6D24E0U, 696},
    {0xAECC49914078536DU, 0x58FAE9F773886E18U, 694},
    {0xDA7F5BF590966848U, 0xAF39A475506A899EU, 692},
    {0x888F99797A5E012DU, 0x6D8406C952429603U, 689},
    {0xAAB37FD7D8F58178U, 0xC8E5087BA6D33B83U, 687},
    {0xD5605FCDCF32E1D6U, 0xFB1E4A9A90880A64U, 685},
    {0x855C3BE0A17FCD26U, 0x5CF2EEA09A55067FU, 682},
    {0xA6B34AD8C9DFC06FU, 0xF42FAA48C0EA481EU, 680},
    {0xD0601D8EFC57B08BU, 0xF13B94DAF124DA26U, 678},
    {0x823C12795DB6CE57U, 0x76C53D08D6B70858U, 675},
    {0xA2CB1717B52481EDU, 0x54768C4B0C64CA6EU, 673},
    {0xCB7DDCDDA26DA268U, 0xA9942F5DCF7DFD09U, 671},
    {0xFE5D54150B090B02U, 0xD3F93B35435D7C4CU, 669},
    {0x9EFA548D26E5A6E1U, 0xC47BC5014A1A6DAFU, 666},
    {0xC6B8E9B0709F109AU, 0x359AB6419CA1091BU, 664},
    {0xF867241C8CC6D4C0U, 0xC30163D203C94B62U, 662},
    {0x9B407691D7FC44F8U, 0x79E0DE63425DCF1DU, 659},
    {0xC21094364DFB5636U, 0x985915FC12F542E4U, 657},
    {0xF294B943E17A2BC4U, 0x3E6F5B7B17B2939DU, 655},
    {0x979CF3CA6CEC5B5AU, 0xA705992CEECF9C42U, 652},
    {0xBD8430BD08277231U, 0x50C6FF782A838353U, 650},
    {0xECE53CEC4A314EBDU, 0xA4F8BF5635246428U, 648},
    {0x940F4613AE5ED136U, 0x871B7795E136BE99U, 645},
    {0xB913179899F68584U, 0x28E2557B59846E3FU, 643},
    {0xE757DD7EC07426E5U, 0x331AEADA2FE589CFU, 641},
    {0x9096EA6F3848984FU, 0x3FF0D2C85DEF7621U, 638},
    {0xB4BCA50B065ABE63U, 0x0FED077A756B53A9U, 636},
    {0xE1EBCE4DC7F16DFBU, 0xD3E8495912C62894U, 634},
    {0x8D3360F09CF6E4BDU, 0x64712DD7ABBBD95CU, 631},
    {0xB080392CC4349DECU, 0xBD8D794D96AACFB3U, 629},
    {0xDCA04777F541C567U, 0xECF0D7A0FC5583A0U, 627},
    {0x89E42CAAF9491B60U, 0xF41686C49DB57244U, 624},
    {0xAC5D37D5B79B6239U, 0x311C2875C522CED5U, 622},
    {0xD77485CB25823AC7U, 0x7D633293366B828BU, 620},
    {0x86A8D39EF77164BCU, 0xAE5DFF9C02033197U, 617},
    {0xA8530886B54DBDEBU, 0xD9F57F830283FDFCU, 615},
    {0xD267CAA862A12D66U, 0xD072DF63C324FD7BU, 613},
    {0x8380DEA93DA4BC60U, 0x4247CB9E59F71E6DU, 610},
    {0xA46116538D0DEB78U, 0x52D9BE85F074E608U, 608},
    {0xCD795BE870516656U, 0x67902E276C921F8BU, 606},
    {0x806BD9714632DFF6U, 0x00BA1CD8A3DB53B6U, 603},
    {0xA086CFCD97BF97F3U, 0x80E8A40ECCD228A4U, 601},
    {0xC8A883C0FDAF7DF0U, 0x6122CD128006B2CDU, 599},
    {0xFAD2A4B13D1B5D6CU, 0x796B805720085F81U, 597},
    {0x9CC3A6EEC6311A63U, 0xCBE3303674053BB0U, 594},
    {0xC3F490AA77BD60FCU, 0xBEDBFC4411068A9CU, 592},
    {0xF4F1B4D515ACB93BU, 0xEE92FB5515482D44U, 590},
    {0x991711052D8BF3C5U, 0x751BDD152D4D1C4AU, 587},
    {0xBF5CD54678EEF0B6U, 0xD262D45A78A0635DU, 585},
    {0xEF340A98172AACE4U, 0x86FB897116C87C34U, 583},
    {0x9580869F0E7AAC0EU, 0xD45D35E6AE3D4DA0U, 580},
    {0xBAE0A846D2195712U, 0x8974836059CCA109U, 578},
    {0xE998D258869FACD7U, 0x2BD1A438703FC94BU, 576},
    {0x91FF83775423CC06U, 0x7B6306A34627DDCFU, 573},
    {0xB67F6455292CBF08U, 0x1A3BC84C17B1D542U, 571},
    {0xE41F3D6A7377EECAU, 0x20CABA5F1D9E4A93U, 569},
    {0x8E938662882AF53EU, 0x547EB47B7282EE9CU, 566},
    {0xB23867FB2A35B28DU, 0xE99E619A4F23AA43U, 564},
    {0xDEC681F9F4C31F31U, 0x6405FA00E2EC94D4U, 562},
    {0x8B3C113C38F9F37EU, 0xDE83BC408DD3DD04U, 559},
    {0xAE0B158B4738705EU, 0x9624AB50B148D445U, 557},
    {0xD98DDAEE19068C76U, 0x3BADD624DD9B0957U, 555},
    {0x87F8A8D4CFA417C9U, 0xE54CA5D70A80E5D6U, 552},
    {0xA9F6D30A038D1DBCU, 0x5E9FCF4CCD211F4CU, 550},
    {0xD47487CC8470652BU, 0x7647C3200069671FU, 548},
    {0x84C8D4DFD2C63F3BU, 0x29ECD9F40041E073U, 545},
    {0xA5FB0A17C777CF09U, 0xF468107100525890U, 543},
    {0xCF79CC9DB955C2CCU, 0x7182148D4066EEB4U, 541},
    {0x81AC1FE293D599BFU, 0xC6F14CD848405530U, 538},
    {0xA21727DB38CB002FU, 0xB8ADA00E5A506A7CU, 536},
    {0xCA9CF1D206FDC03BU, 0xA6D90811F0E4851CU, 534},
    {0xFD442E4688BD304AU, 0x908F4A166D1DA663U, 532},
    {0x9E4A9CEC15763E2EU, 0x9A598E4E043287FEU, 529},
    {0xC5DD44271AD3CDBAU, 0x40EFF1E1853F29FDU, 527},
    {0xF7549530E188C128U, 0xD12BEE59E68EF47CU, 525},
    {0x9A94DD3E8CF578B9U, 0x82BB74F8301958CEU, 522},
    {0xC13A148E3032D6E7U, 0xE36A52363C1FAF01U, 520},
    {0xF18899B1BC3F8CA1U, 0xDC44E6C3CB279AC1U, 518},
    {0x96F5600F15A7B7E5U, 0x29AB103A5EF8C0B9U, 515},
    {0xBCB2B812DB11A5DEU, 0x7415D448F6B6F0E7U, 513},
    {0xEBDF661791D60F56U, 0x111B495B3464AD21U, 511},
    {0x936B9FCEBB25C995U, 0xCAB10DD900BEEC34U, 508},
    {0xB84687C269EF3BFBU, 0x3D5D514F40EEA742U, 506},
    {0xE65829B3046B0AFAU, 0x0CB4A5A3112A5112U, 504},
    {0x8FF71A0FE2C2E6DCU, 0x47F0E785EABA72ABU, 501},
    {0xB3F4E093DB73A093U, 0x59ED216765690F56U, 499},
    {0xE0F218B8D25088B8U, 0x306869C13EC3532CU, 497},
    {0x8C974F7383725573U, 0x1E414218C73A13FBU, 494},
    {0xAFBD2350644EEACFU, 0xE5D1929EF90898FAU, 492},
    {0xDBAC6C247D62A583U, 0xDF45F746B74ABF39U, 490},
    {0x894BC396CE5DA772U, 0x6B8BBA8C328EB783U, 487},
    {0xAB9EB47C81F5114FU, 0x066EA92F3F326564U, 485},
    {0xD686619BA27255A2U, 0xC80A537B0EFEFEBDU, 483},
    {0x8613FD0145877585U, 0xBD06742CE95F5F36U, 480},
    {0xA798FC4196E952E7U, 0x2C48113823B73704U, 478},
    {0xD17F3B51FCA3A7A0U, 0xF75A15862CA504C5U, 476},
    {0x82EF85133DE648C4U, 0x9A984D73DBE722FBU, 473},
    {0xA3AB66580D5FDAF5U, 0xC13E60D0D2E0EBBAU, 471},
    {0xCC963FEE10B7D1B3U, 0x318DF905079926A8U, 469},
    {0xFFBBCFE994E5C61FU, 0xFDF17746497F7052U, 467},
    {0x9FD561F1FD0F9BD3U, 0xFEB6EA8BEDEFA633U, 464},
    {0xC7CABA6E7C5382C8U, 0xFE64A52EE96B8FC0U, 462},
    {0xF9BD690A1B68637BU, 0x3DFDCE7AA3C673B0U, 460},
    {0x9C1661A651213E2DU, 0x06BEA10CA65C084EU, 457},
    {0xC31BFA0FE5698DB8U, 0x486E494FCFF30A62U, 455},
    {0xF3E2F893DEC3F126U, 0x5A89DBA3C3EFCCFAU, 453},
    {0x986DDB5C6B3A76B7U, 0xF89629465A75E01CU, 450},
    {0xBE89523386091465U, 0xF6BBB397F1135823U, 448},
    {0xEE2BA6C0678B597FU, 0x746AA07DED582E2CU, 446},
    {0x94DB483840B717EFU, 0xA8C2A44EB4571CDCU, 443},
    {0xBA121A4650E4DDEBU, 0x92F34D62616CE413U, 441},
    {0xE896A0D7E51E1566U, 0x77B020BAF9C81D17U, 439},
    {0x915E2486EF32CD60U, 0x0ACE1474DC1D122EU, 436},
    {0xB5B5ADA8AAFF80B8U, 0x0D819992132456BAU, 434},
    {0xE3231912D5BF60E6U, 0x10E1FFF697ED6C69U, 432},
    {0x8DF5EFABC5979C8FU, 0xCA8D3FFA1EF463C1U, 429},
    {0xB1736B96B6FD83B3U, 0xBD308FF8A6B17CB2U, 427},
    {0xDDD0467C64BCE4A0U, 0xAC7CB3F6D05DDBDEU, 425},
    {0x8AA22C0DBEF60EE4U, 0x6BCDF07A423AA96BU, 422},
    {0xAD4AB7112EB3929DU, 0x86C16C98D2C953C6U, 420},
    {0xD89D64D57A607744U, 0xE871C7BF077BA8B7U, 418},
    {0x87625F056C7C4A8BU, 0x11471CD764AD4972U, 415},
    {0xA93AF6C6C79B5D2DU, 0xD598E40D3DD89BCFU, 413},
    {0xD389B47879823479U, 0x4AFF1D108D4EC2C3U, 411},
    {0x843610CB4BF160CBU, 0xCEDF722A585139BAU, 408},
    {0xA54394FE1EEDB8FEU, 0xC2974EB4EE658828U, 406},
    {0xCE947A3DA6A9273EU, 0x733D226229FEEA32U, 404},
    {0x811CCC668829B887U, 0x0806357D5A3F525FU, 401},
    {0xA163FF802A3426A8U, 0xCA07C2DCB0CF26F7U, 399},
    {0xC9BCFF6034C13052U, 0xFC89B393DD02F0B5U, 397},
    {0xFC2C3F3841F17C67U, 0xBBAC2078D443ACE2U, 395},
    {0x9D9BA7832936EDC0U, 0xD54B944B84AA4C0DU, 392},
    {0xC5029163F384A931U, 0x0A9E795E65D4DF11U, 390},
    {0xF64335BCF065D37DU, 0x4D4617B5FF4A16D5U, 388},
    {0x99EA0196163FA42EU, 0x504BCED1BF8E4E45U, 385},
    {0xC06481FB9BCF8D39U, 0xE45EC2862F71E1D6U, 383},
    {0xF07DA27A82C37088U, 0x5D767327BB4E5A4CU, 381},
    {0x964E858C91BA2655U, 0x3A6A07F8D510F86FU, 378},
    {0xBBE226EFB628AFEAU, 0x890489F70A55368BU, 376},
    {0xEADAB0ABA3B2DBE5U, 0x2B45AC74CCEA842EU, 374},
    {0x92C8AE6B464FC96FU, 0x3B0B8BC90012929DU, 371},
    {0xB77ADA0617E3BBCBU, 0x09CE6EBB40173744U, 369},
    {0xE55990879DDCAABDU, 0xCC420A6A101D0515U, 367},
    {0x8F57FA54C2A9EAB6U, 0x9FA946824A12232DU, 364},
    {0xB32DF8E9F3546564U, 0x47939822DC96ABF9U, 362},
    {0xDFF9772470297EBDU, 0x59787E2B93BC56F7U, 360},
    {0x8BFBEA76C619EF36U, 0x57EB4EDB3C55B65AU, 357},
    {0xAEFAE51477A06B03U, 0xEDE622920B6B23F1U, 355},
    {0xDAB99E59958885C4U, 0xE95FAB368E45ECEDU, 353},
    {0x88B402F7FD75539BU, 0x11DBCB0218EBB414U, 350},
    {0xAAE103B5FCD2A881U, 0xD652BDC29F26A119U, 348},
    {0xD59944A37C0752A2U, 0x4BE76D3346F0495FU, 346},
    {0x857FCAE62D8493A5U, 0x6F70A4400C562DDBU, 343},
    {0xA6DFBD9FB8E5B88EU, 0xCB4CCD500F6BB952U, 341},
    {0xD097AD07A71F26B2U, 0x7E2000A41346A7A7U, 339},
    {0x825ECC24C873782FU, 0x8ED400668C0C28C8U, 336},
    {0xA2F67F2DFA90563BU, 0x728900802F0F32FAU, 334},
    {0xCBB41EF979346BCAU, 0x4F2B40A03AD2FFB9U, 332},
    {0xFEA126B7D78186BCU, 0xE2F610C84987BFA8U, 330},
    {0x9F24B832E6B0F436U, 0x0DD9CA7D2DF4D7C9U, 327},
    {0xC6EDE63FA05D3143U, 0x91503D1C79720DBBU, 325},
    {0xF8A95FCF88747D94U, 0x75A44C6397CE912AU, 323},
    {0x9B69DBE1B548CE7CU, 0xC986AFBE3EE11ABAU, 320},
    {0xC24452DA229B021BU, 0xFBE85BADCE996168U, 318},
    {0xF2D56790AB41C2A2U, 0xFAE27299423FB9C3U, 316},
    {0x97C560BA6B0919A5U, 0xDCCD879FC967D41AU, 313},
    {0xBDB6B8E905CB600FU, 0x5400E987BBC1C920U, 311},
    {0xED246723473E3813U, 0x290123E9AAB23B68U, 309},
    {0x9436C0760C86E30BU, 0xF9A0B6720AAF6521U, 306},
    {0xB94470938FA89BCEU, 0xF808E40E8D5B3E69U, 304},
    {0xE7958CB87392C2C2U, 0xB60B1D1230B20E04U, 302},
    {0x90BD77F3483BB9B9U, 0xB1C6F22B5E6F48C2U, 299},
    {0xB4ECD5F01A4AA828U, 0x1E38AEB6360B1AF3U, 297},
    {0xE2280B6C20DD5232U, 0x25C6DA63C38DE1B0U, 295},
    {0x8D590723948A535FU, 0x579C487E5A38AD0EU, 292},
    {0xB0AF48EC79ACE837U, 0x2D835A9DF0C6D851U, 290},
    {0xDCDB1B2798182244U, 0xF8E431456CF88E65U, 288},
    {0x8A08F0F8BF0F156BU, 0x1B8E9ECB641B58FFU, 285},
    {0xAC8B2D36EED2DAC5U, 0xE272467E3D222F3FU, 283},
    {0xD7ADF884AA879177U, 0x5B0ED81DCC6ABB0FU, 281},
    {0x86CCBB52EA94BAEAU, 0x98E947129FC2B4E9U, 278},
    {0xA87FEA27A539E9A5U, 0x3F2398D747B36224U, 276},
    {0xD29FE4B18E88640EU, 0x8EEC7F0D19A03AADU, 274},
    {0x83A3EEEEF9153E89U, 0x1953CF68300424ACU, 271},
    {0xA48CEAAAB75A8E2BU, 0x5FA8C3423C052DD7U, 269},
    {0xCDB02555653131B6U, 0x3792F412CB06794DU, 267},
    {0x808E17555F3EBF11U, 0xE2BBD88BBEE40BD0U, 264},
    {0xA0B19D2AB70E6ED6U, 0x5B6ACEAEAE9D0EC4U, 262},
    {0xC8DE047564D20A8BU, 0xF245825A5A445275U, 260},
    {0xFB158592BE068D2EU, 0xEED6E2F0F0D56712U, 258},
    {0x9CED737BB6C4183DU, 0x55464DD69685606BU, 255},
    {0xC428D05AA4751E4CU, 0xAA97E14C3C26B886U, 253},
    {0xF53304714D9265DFU, 0xD53DD99F4B3066A8U, 251},
    {0x993FE2C6D07B7FABU, 0xE546A8038EFE4029U, 248},
    {0xBF8FDB78849A5F96U, 0xDE98520472BDD033U, 246},
    {0xEF73D256A5C0F77CU, 0x963E66858F6D4440U, 244},
    {0x95A8637627989AADU, 0xDDE7001379A44AA8U, 241},
    {0xBB127C53B17EC159U, 0x5560C018580D5D52U, 239},
    {0xE9D71B689DDE71AFU, 0xAAB8F01E6E10B4A6U, 237},
    {0x9226712162AB070DU, 0xCAB3961304CA70E8U, 234},
    {0xB6B00D69BB55C8D1U, 0x3D607B97C5FD0D22U, 232},
    {0xE45C10C42A2B3B05U, 0x8CB89A7DB77C506AU, 230},
    {0x8EB98A7A9A5B04E3U, 0x77F3608E92ADB242U, 227},
    {0xB267ED1940F1C61CU, 0x55F038B237591ED3U, 225},
    {0xDF01E85F912E37A3U, 0x6B6C46DEC52F6688U, 223},
    {0x8B61313BBABCE2C6U, 0x2323AC4B3B3DA015U, 220},
    {0xAE397D8AA96C1B77U, 0xABEC975E0A0D081AU, 218},
    {0xD9C7DCED53C72255U, 0x96E7BD358C904A21U, 216},
    {0x881CEA14545C7575U, 0x7E50D64177DA2E54U, 213},
    {0xAA242499697392D2U, 0xDDE50BD1D5D0B9E9U, 211},
    {0xD4AD2DBFC3D07787U, 0x955E4EC64B44E864U, 209},
    {0x84EC3C97DA624AB4U, 0xBD5AF13BEF0B113EU, 206},
    {0xA6274BBDD0FADD61U, 0xECB1AD8AEACDD58EU, 204},
    {0xCFB11EAD453994BAU, 0x67DE18EDA5814AF2U, 202},
    {0x81CEB32C4B43FCF4U, 0x80EACF948770CED7U, 199},
    {0xA2425FF75E14FC31U, 0xA1258379A94D028DU, 197},
    {0xCAD2F7F5359A3B3EU, 0x096EE45813A04330U, 195},
    {0xFD87B5F28300CA0DU, 0x8BCA9D6E188853FCU, 193},
    {0x9E74D1B791E07E48U, 0x775EA264CF55347DU, 190},
    {0xC612062576589DDAU, 0x95364AFE032A819DU, 188},
    {0xF79687AED3EEC551U, 0x3A83DDBD83F52204U, 186},
    {0x9ABE14CD44753B52U, 0xC4926A9672793542U, 183},
    {0xC16D9A0095928A27U, 0x75B7053C0F178293U, 181},
    {0xF1C90080BAF72CB1U, 0x5324C68B12DD6338U, 179},
    {0x971DA05074DA7BEEU, 0xD3F6FC16EBCA5E03U, 176},
    {0xBCE5086492111AEAU, 0x88F4BB1CA6BCF584U, 174},
    {0xEC1E4A7DB69561A5U, 0x2B31E9E3D06C32E5U, 172},
    {0x9392EE8E921D5D07U, 0x3AFF322E62439FCFU, 169},
    {0xB877AA3236A4B449U, 0x09BEFEB9FAD487C2U, 167},
    {0xE69594BEC44DE15BU, 0x4C2EBE687989A9B3U, 165},
    {0x901D7CF73AB0ACD9U, 0x0F9D37014BF60A10U, 162},
    {0xB424DC35095CD80FU, 0x538484C19EF38C94U, 160},
    {0xE12E13424BB40E13U, 0x2865A5F206B06FB9U, 158},
    {0x8CBCCC096F5088CBU, 0xF93F87B7442E45D3U, 155},
    {0xAFEBFF0BCB24AAFEU, 0xF78F69A51539D748U, 153},
    {0xDBE6FECEBDEDD5BEU, 0xB573440E5A884D1BU, 151},
    {0x89705F4136B4A597U, 0x31680A88F8953030U, 148},
    {0xABCC77118461CEFCU, 0xFDC20D2B36BA7C3DU, 146},
    {0xD6BF94D5E57A42BCU, 0x3D32907604691B4CU, 144},
    {0x8637BD05AF6C69B5U, 0xA63F9A49C2C1B10FU, 141},
    {0xA7C5AC471B478423U, 0x0FCF80DC33721D53U, 139},
    {0xD1B71758E219652BU, 0xD3C36113404EA4A8U, 137},
    {0x83126E978D4FDF3BU, 0x645A1CAC083126E9U, 134},
    {0xA3D70A3D70A3D70AU, 0x3D70A3D70A3D70A3U, 132},
    {0xCCCCCCCCCCCCCCCCU, 0xCCCCCCCCCCCCCCCCU, 130},
    {0x8000000000000000U, 0x0000000000000000U, 127},
    {0xA000000000000000U, 0x0000000000000000U, 125},
    {0xC800000000000000U, 0x0000000000000000U, 123},
    {0xFA00000000000000U, 0x0000000000000000U, 121},
    {0x9C40000000000000U, 0x0000000000000000U, 118},
    {0xC350000000000000U, 0x0000000000000000U, 116},
    {0xF424000000000000U, 0x0000000000000000U, 114},
    {0x9896800000000000U, 0x0000000000000000U, 111},
    {0xBEBC200000000000U, 0x0000000000000000U, 109},
    {0xEE6B280000000000U, 0x0000000000000000U, 107},
    {0x9502F90000000000U, 0x0000000000000000U, 104},
    {0xBA43B74000000000U, 0x0000000000000000U, 102},
    {0xE8D4A51000000000U, 0x0000000000000000U, 100},
    {0x9184E72A00000000U, 0x0000000000000000U, 97},
    {0xB5E620F480000000U, 0x0000000000000000U, 95},
    {0xE35FA931A0000000U, 0x0000000000000000U, 93},
    {0x8E1BC9BF04000000U, 0x0000000000000000U, 90},
    {0xB1A2BC2EC5000000U, 0x0000000000000000U, 88},
    {0xDE0B6B3A76400000U, 0x0000000000000000U, 86},
    {0x8AC7230489E80000U, 0x0000000000000000U, 83},
    {0xAD78EBC5AC620000U, 0x0000000000000000U, 81},
    {0xD8D726B7177A8000U, 0x0000000000000000U, 79},
    {0x878678326EAC9000U, 0x0000000000000000U, 76},
    {0xA968163F0A57B400U, 0x0000000000000000U, 74},
    {0xD3C21BCECCEDA100U, 0x0000000000000000U, 72},
    {0x84595161401484A0U, 0x0000000000000000U, 69},
    {0xA56FA5B99019A5C8U, 0x0000000000000000U, 67},
    {0xCECB8F27F4200F3AU, 0x0000000000000000U, 65},
    {0x813F3978F8940984U, 0x4000000000000000U, 62},
    {0xA18F07D736B90BE5U, 0x5000000000000000U, 60},
    {0xC9F2C9CD04674EDEU, 0xA400000000000000U, 58},
    {0xFC6F7C4045812296U, 0x4D00000000000000U, 56},
    {0x9DC5ADA82B70B59DU, 0xF020000000000000U, 53},
    {0xC5371912364CE305U, 0x6C28000000000000U, 51},
    {0xF684DF56C3E01BC6U, 0xC732000000000000U, 49},
    {0x9A130B963A6C115CU, 0x3C7F400000000000U, 46},
    {0xC097CE7BC90715B3U, 0x4B9F100000000000U, 44},
    {0xF0BDC21ABB48DB20U, 0x1E86D40000000000U, 42},
    {0x96769950B50D88F4U, 0x1314448000000000U, 39},
    {0xBC143FA4E250EB31U, 0x17D955A000000000U, 37},
    {0xEB194F8E1AE525FDU, 0x5DCFAB0800000000U, 35},
    {0x92EFD1B8D0CF37BEU, 0x5AA1CAE500000000U, 32},
    {0xB7ABC627050305ADU, 0xF14A3D9E40000000U, 30},
    {0xE596B7B0C643C719U, 0x6D9CCD05D0000000U, 28},
    {0x8F7E32CE7BEA5C6FU, 0xE4820023A2000000U, 25},
    {0xB35DBF821AE4F38BU, 0xDDA2802C8A800000U, 23},
    {0xE0352F62A19E306EU, 0xD50B2037AD200000U, 21},
    {0x8C213D9DA502DE45U, 0x4526F422CC340000U, 18},
    {0xAF298D050E4395D6U, 0x9670B12B7F410000U, 16},
    {0xDAF3F04651D47B4CU, 0x3C0CDD765F114000U, 14},
    {0x88D8762BF324CD0FU, 0xA5880A69FB6AC800U, 11},
    {0xAB0E93B6EFEE0053U, 0x8EEA0D047A457A00U, 9},
    {0xD5D238A4ABE98068U, 0x72A4904598D6D880U, 7},
    {0x85A36366EB71F041U, 0x47A6DA2B7F864750U, 4},
    {0xA70C3C40A64E6C51U, 0x999090B65F67D924U, 2},
    {0xD0CF4B50CFE20765U, 0xFFF4B4E3F741CF6DU, 0},
    {0x82818F1281ED449FU, 0xBFF8F10E7A8921A4U, -3},
    {0xA321F2D7226895C7U, 0xAFF72D52192B6A0DU, -5},
    {0xCBEA6F8CEB02BB39U, 0x9BF4F8A69F764490U, -7},
    {0xFEE50B7025C36A08U, 0x02F236D04753D5B4U, -9},
    {0x9F4F2726179A2245U, 0x01D762422C946590U, -12},
    {0xC722F0EF9D80AAD6U, 0x424D3AD2B7B97EF5U, -14},
    {0xF8EBAD2B84E0D58BU, 0xD2E0898765A7DEB2U, -16},
    {0x9B934C3B330C8577U, 0x63CC55F49F88EB2FU, -19},
    {0xC2781F49FFCFA6D5U, 0x3CBF6B71C76B25FBU, -21},
    {0xF316271C7FC3908AU, 0x8BEF464E3945EF7AU, -23},
    {0x97EDD871CFDA3A56U, 0x97758BF0E3CBB5ACU, -26},
    {0xBDE94E8E43D0C8ECU, 0x3D52EEED1CBEA317U, -28},
    {0xED63A231D4C4FB27U, 0x4CA7AAA863EE4BDDU, -30},
    {0x945E455F24FB1CF8U, 0x8FE8CAA93E74EF6AU, -33},
    {0xB975D6B6EE39E436U, 0xB3E2FD538E122B44U, -35},
    {0xE7D34C64A9C85D44U, 0x60DBBCA87196B616U, -37},
    {0x90E40FBEEA1D3A4AU, 0xBC8955E946FE31CDU, -40},
    {0xB51D13AEA4A488DDU, 0x6BABAB6398BDBE41U, -42},
    {0xE264589A4DCDAB14U, 0xC696963C7EED2DD1U, -44},
    {0x8D7EB76070A08AECU, 0xFC1E1DE5CF543CA2U, -47},
    {0xB0DE65388CC8ADA8U, 0x3B25A55F43294BCBU, -49},
    {0xDD15FE86AFFAD912U, 0x49EF0EB713F39EBEU, -51},
    {0x8A2DBF142DFCC7ABU, 0x6E3569326C784337U, -54},
    {0xACB92ED9397BF996U, 0x49C2C37F07965404U, -56},
    {0xD7E77A8F87DAF7FBU, 0xDC33745EC97BE906U, -58},
    {0x86F0AC99B4E8DAFDU, 0x69A028BB3DED71A3U, -61},
    {0xA8ACD7C0222311BCU, 0xC40832EA0D68CE0CU, -63},
    {0xD2D80DB02AABD62BU, 0xF50A3FA490C30190U, -65},
    {0x83C7088E1AAB65DBU, 0x792667C6DA79E0FAU, -68},
    {0xA4B8CAB1A1563F52U, 0x577001B891185938U, -70},
    {0xCDE6FD5E09ABCF26U, 0xED4C0226B55E6F86U, -72},
    {0x80B05E5AC60B6178U, 0x544F8158315B05B4U, -75},
    {0xA0DC75F1778E39D6U, 0x696361AE3DB1C721U, -77},
    {0xC913936DD571C84CU, 0x03BC3A19CD1E38E9U, -79},
    {0xFB5878494ACE3A5FU, 0x04AB48A04065C723U, -81},
    {0x9D174B2DCEC0E47BU, 0x62EB0D64283F9C76U, -84},
    {0xC45D1DF942711D9AU, 0x3BA5D0BD324F8394U, -86},
    {0xF5746577930D6500U, 0xCA8F44EC7EE36479U, -88},
    {0x9968BF6ABBE85F20U, 0x7E998B13CF4E1ECBU, -91},
    {0xBFC2EF456AE276E8U, 0x9E3FEDD8C321A67EU, -93},
    {0xEFB3AB16C59B14A2U, 0xC5CFE94EF3EA101EU, -95},
    {0x95D04AEE3B80ECE5U, 0xBBA1F1D158724A12U, -98},
    {0xBB445DA9CA61281FU, 0x2A8A6E45AE8EDC97U, -100},
    {0xEA1575143CF97226U, 0xF52D09D71A3293BDU, -102},
    {0x924D692CA61BE758U, 0x593C2626705F9C56U, -105},
    {0xB6E0C377CFA2E12EU, 0x6F8B2FB00C77836CU, -107},
    {0xE498F455C38B997AU, 0x0B6DFB9C0F956447U, -109},
    {0x8EDF98B59A373FECU, 0x4724BD4189BD5EACU, -112},
    {0xB2977EE300C50FE7U, 0x58EDEC91EC2CB657U, -114},
    {0xDF3D5E9BC0F653E1U, 0x2F2967B66737E3EDU, -116},
    {0x8B865B215899F46CU, 0xBD79E0D20082EE74U, -119},
    {0xAE67F1E9AEC07187U, 0xECD8590680A3AA11U, -121},
    {0xDA01EE641A708DE9U, 0xE80E6F4820CC9495U, -123},
    {0x884134FE908658B2U, 0x3109058D147FDCDDU, -126},
    {0xAA51823E34A7EEDEU, 0xBD4B46F0599FD415U, -128},
    {0xD4E5E2CDC1D1EA96U, 0x6C9E18AC7007C91AU, -130},
    {0x850FADC09923329EU, 0x03E2CF6BC604DDB0U, -133},
    {0xA6539930BF6BFF45U, 0x84DB8346B786151CU, -135},
    {0xCFE87F7CEF46FF16U, 0xE612641865679A63U, -137},
    {0x81F14FAE158C5F6EU, 0x4FCB7E8F3F60C07EU, -140},
    {0xA26DA3999AEF7749U, 0xE3BE5E330F38F09DU, -142},
    {0xCB090C8001AB551CU, 0x5CADF5BFD3072CC5U, -144},
    {0xFDCB4FA002162A63U, 0x73D9732FC7C8F7F6U, -146},
    {0x9E9F11C4014DDA7EU, 0x2867E7FDDCDD9AFAU, -149},
    {0xC646D63501A1511DU, 0xB281E1FD541501B8U, -151},
    {0xF7D88BC24209A565U, 0x1F225A7CA91A4226U, -153},
    {0x9AE757596946075FU, 0x3375788DE9B06958U, -156},
    {0xC1A12D2FC3978937U, 0x0052D6B1641C83AEU, -158},
    {0xF209787BB47D6B84U, 0xC0678C5DBD23A49AU, -160},
    {0x9745EB4D50CE6332U, 0xF840B7BA963646E0U, -163},
    {0xBD176620A501FBFFU, 0xB650E5A93BC3D898U, -165},
    {0xEC5D3FA8CE427AFFU, 0xA3E51F138AB4CEBEU, -167},
    {0x93BA47C980E98CDFU, 0xC66F336C36B10137U, -170},
    {0xB8A8D9BBE123F017U, 0xB80B0047445D4184U, -172},
    {0xE6D3102AD96CEC1DU, 0xA60DC059157491E5U, -174},
    {0x9043EA1AC7E41392U, 0x87C89837AD68DB2FU, -177},
    {0xB454E4A179DD1877U, 0x29BABE4598C311FBU, -179},
    {0xE16A1DC9D8545E94U, 0xF4296DD6FEF3D67AU, -181},
    {0x8CE2529E2734BB1DU, 0x1899E4A65F58660CU, -184},
    {0xB01AE745B101E9E4U, 0x5EC05DCFF72E7F8FU, -186},
    {0xDC21A1171D42645DU, 0x76707543F4FA1F73U, -188},
    {0x899504AE72497EBAU, 0x6A06494A791C53A8U, -191},
    {0xABFA45DA0EDBDE69U, 0x0487DB9D17636892U, -193},
    {0xD6F8D7509292D603U, 0x45A9D2845D3C42B6U, -195},
    {0x865B86925B9BC5C2U, 0x0B8A2392BA45A9B2U, -198},
    {0xA7F26836F282B732U, 0x8E6CAC7768D7141EU, -200},
    {0xD1EF0244AF2364FFU, 0x3207D795430CD926U, -202},
    {0x8335616AED761F1FU, 0x7F44E6BD49E807B8U, -205},
    {0xA402B9C5A8D3A6E7U, 0x5F16206C9C6209A6U, -207},
    {0xCD036837130890A1U, 0x36DBA887C37A8C0FU, -209},
    {0x802221226BE55A64U, 0xC2494954DA2C9789U, -212},
    {0xA02AA96B06DEB0FDU, 0xF2DB9BAA10B7BD6CU, -214},
    {0xC83553C5C8965D3DU, 0x6F92829494E5ACC7U, -216},
    {0xFA42A8B73ABBF48CU, 0xCB772339BA1F17F9U, -218},
    {0x9C69A97284B578D7U, 0xFF2A760414536EFBU, -221},
    {0xC38413CF25E2D70DU, 0xFEF5138519684ABAU, -223},
    {0xF46518C2EF5B8CD1U, 0x7EB258665FC25D69U, -225},
    {0x98BF2F79D5993802U, 0xEF2F773FFBD97A61U, -228},
    {0xBEEEFB584AFF8603U, 0xAAFB550FFACFD8FAU, -230},
    {0xEEAABA2E5DBF6784U, 0x95BA2A53F983CF38U, -232},
    {0x952AB45CFA97A0B2U, 0xDD945A747BF26183U, -235},
    {0xBA756174393D88DFU, 0x94F971119AEEF9E4U, -237},
    {0xE912B9D1478CEB17U, 0x7A37CD5601AAB85DU, -239},
    {0x91ABB422CCB812EEU, 0xAC62E055C10AB33AU, -242},
    {0xB616A12B7FE617AAU, 0x577B986B314D6009U, -244},
    {0xE39C49765FDF9D94U, 0xED5A7E85FDA0B80BU, -246},
    {0x8E41ADE9FBEBC27DU, 0x14588F13BE847307U, -249},
    {0xB1D219647AE6B31CU, 0x596EB2D8AE258FC8U, -251},
    {0xDE469FBD99A05FE3U, 0x6FCA5F8ED9AEF3BBU, -253},
    {0x8AEC23D680043BEEU, 0x25DE7BB9480D5854U, -256},
    {0xADA72CCC20054AE9U, 0xAF561AA79A10AE6AU, -258},
    {0xD910F7FF28069DA4U, 0x1B2BA1518094DA04U, -260},
    {0x87AA9AFF79042286U, 0x90FB44D2F05D0842U, -263},
    {0xA99541BF57452B28U, 0x353A1607AC744A53U, -265},
    {0xD3FA922F2D1675F2U, 0x42889B8997915CE8U, -267},
    {0x847C9B5D7C2E09B7U, 0x69956135FEBADA11U, -270},
    {0xA59BC234DB398C25U, 0x43FAB9837E699095U, -272},
    {0xCF02B2C21207EF2EU, 0x94F967E45E03F4BBU, -274},
    {0x8161AFB94B44F57DU, 0x1D1BE0EEBAC278F5U, -277},
    {0xA1BA1BA79E1632DCU, 0x6462D92A69731732U, -279},
    {0xCA28A291859BBF93U, 0x7D7B8F7503CFDCFEU, -281},
    {0xFCB2CB35E702AF78U, 0x5CDA735244C3D43EU, -283},
    {0x9DEFBF01B061ADABU, 0x3A0888136AFA64A7U, -286},
    {0xC56BAEC21C7A1916U, 0x088AAA1845B8FDD0U, -288},
    {0xF6C69A72A3989F5BU, 0x8AAD549E57273D45U, -290},
    {0x9A3C2087A63F6399U, 0x36AC54E2F678864BU, -293},
    {0xC0CB28A98FCF3C7FU, 0x84576A1BB416A7DDU, -295},
    {0xF0FDF2D3F3C30B9FU, 0x656D44A2A11C51D5U, -297},
    {0x969EB7C47859E743U, 0x9F644AE5A4B1B325U, -300},
    {0xBC4665B596706114U, 0x873D5D9F0DDE1FEEU, -302},
    {0xEB57FF22FC0C7959U, 0xA90CB506D155A7EAU, -304},
    {0x9316FF75DD87CBD8U, 0x09A7F12442D588F2U, -307},
    {0xB7DCBF5354E9BECEU, 0x0C11ED6D538AEB2FU, -309},
    {0xE5D3EF282A242E81U, 0x8F1668C8A86DA5FAU, -311},
    {0x8FA475791A569D10U, 0xF96E017D694487BCU, -314},
    {0xB38D92D760EC4455U, 0x37C981DCC395A9ACU, -316},
    {0xE070F78D3927556AU, 0x85BBE253F47B1417U, -318},
    {0x8C469AB843B89562U, 0x93956D7478CCEC8EU, -321},
    {0xAF58416654A6BABBU, 0x387AC8D1970027B2U, -323},
    {0xDB2E51BFE9D0696AU, 0x06997B05FCC0319EU, -325},
    {0x88FCF317F22241E2U, 0x441FECE3BDF81F03U, -328},
    {0xAB3C2FDDEEAAD25AU, 0xD527E81CAD7626C3U, -330},
    {0xD60B3BD56A5586F1U, 0x8A71E223D8D3B074U, -332},
    {0x85C7056562757456U, 0xF6872D5667844E49U, -335},
    {0xA738C6BEBB12D16CU, 0xB428F8AC016561DBU, -337},
    {0xD106F86E69D785C7U, 0xE13336D701BEBA52U, -339},
    {0x82A45B450226B39CU, 0xECC0024661173473U, -342},
    {0xA34D721642B06084U, 0x27F002D7F95D0190U, -344},
    {0xCC20CE9BD35C78A5U, 0x31EC038DF7B441F4U, -346},
    {0xFF290242C83396CEU, 0x7E67047175A15271U, -348},
    {0x9F79A169BD203E41U, 0x0F0062C6E984D386U, -351},
    {0xC75809C42C684DD1U, 0x52C07B78A3E60868U, -353},
    {0xF92E0C3537826145U, 0xA7709A56CCDF8A82U, -355},
    {0x9BBCC7A142B17CCBU, 0x88A66076400BB691U, -358},
    {0xC2ABF989935DDBFEU, 0x6ACFF893D00EA435U, -360},
    {0xF356F7EBF83552FEU, 0x0583F6B8C4124D43U, -362},
    {0x98165AF37B2153DEU, 0xC3727A337A8B704AU, -365},
    {0xBE1BF1B059E9A8D6U, 0x744F18C0592E4C5CU, -367},
    {0xEDA2EE1C7064130CU, 0x1162DEF06F79DF73U, -369},
    {0x9485D4D1C63E8BE7U, 0x8ADDCB5645AC2BA8U, -372},
    {0xB9A74A0637CE2EE1U, 0x6D953E2BD7173692U, -374},
    {0xE8111C87C5C1BA99U, 0xC8FA8DB6CCDD0437U, -376},
    {0x910AB1D4DB9914A0U, 0x1D9C9892400A22A2U, -379},
    {0xB54D5E4A127F59C8U, 0x2503BEB6D00CAB4BU, -381},
    {0xE2A0B5DC971F303AU, 0x2E44AE64840FD61DU, -383},
    {0x8DA471A9DE737E24U, 0x5CEAECFED289E5D2U, -386},
    {0xB10D8E1456105DADU, 0x7425A83E872C5F47U, -388},
    {0xDD50F1996B947518U, 0xD12F124E28F77719U, -390},
    {0x8A5296FFE33CC92FU, 0x82BD6B70D99AAA6FU, -393},
    {0xACE73CBFDC0BFB7BU, 0x636CC64D1001550BU, -395},
    {0xD8210BEFD30EFA5AU, 0x3C47F7E05401AA4EU, -397},
    {0x8714A775E3E95C78U, 0x65ACFAEC34810A71U, -400},
    {0xA8D9D1535CE3B396U, 0x7F1839A741A14D0DU, -402},
    {0xD31045A8341CA07CU, 0x1EDE48111209A050U, -404},
    {0x83EA2B892091E44DU, 0x934AED0AAB460432U, -407},
    {0xA4E4B66B68B65D60U, 0xF81DA84D5617853FU, -409},
    {0xCE1DE40642E3F4B9U, 0x36251260AB9D668EU, -411},
    {0x80D2AE83E9CE78F3U, 0xC1D72B7C6B426019U, -414},
    {0xA1075A24E4421730U, 0xB24CF65B8612F81FU, -416},
    {0xC94930AE1D529CFCU, 0xDEE033F26797B627U, -418},
    {0xFB9B7CD9A4A7443CU, 0x169840EF017DA3B1U, -420},
    {0x9D412E0806E88AA5U, 0x8E1F289560EE864EU, -423},
    {0xC491798A08A2AD4EU, 0xF1A6F2BAB92A27E2U, -425},
    {0xF5B5D7EC8ACB58A2U, 0xAE10AF696774B1DBU, -427},
    {0x9991A6F3D6BF1765U, 0xACCA6DA1E0A8EF29U, -430},
    {0xBFF610B0CC6EDD3FU, 0x17FD090A58D32AF3U, -432},
    {0xEFF394DCFF8A948EU, 0xDDFC4B4CEF07F5B0U, -434},
    {0x95F83D0A1FB69CD9U, 0x4ABDAF101564F98EU, -437},
    {0xBB764C4CA7A4440FU, 0x9D6D1AD41ABE37F1U, -439},
    {0xEA53DF5FD18D5513U, 0x84C86189216DC5EDU, -441},
    {0x92746B9BE2F8552CU, 0x32FD3CF5B4E49BB4U, -444},
    {0xB7118682DBB66A77U, 0x3FBC8C33221DC2A1U, -446},
    {0xE4D5E82392A40515U, 0x0FABAF3FEAA5334AU, -448},
    {0x8F05B1163BA6832DU, 0x29CB4D87F2A7400EU, -451},
    {0xB2C71D5BCA9023F8U, 0x743E20E9EF511012U, -453},
    {0xDF78E4B2BD342CF6U, 0x914DA9246B255416U, -455},
    {0x8BAB8EEFB6409C1AU, 0x1AD089B6C2F7548EU, -458},
    {0xAE9672ABA3D0C320U, 0xA184AC2473B529B1U, -460},
    {0xDA3C0F568CC4F3E8U, 0xC9E5D72D90A2741EU, -462},
    {0x8865899617FB1871U, 0x7E2FA67C7A658892U, -465},
    {0xAA7EEBFB9DF9DE8DU, 0xDDBB901B98FEEAB7U, -467},
    {0xD51EA6FA85785631U, 0x552A74227F3EA565U, -469},
    {0x8533285C936B35DEU, 0xD53A88958F87275FU, -472},
    {0xA67FF273B8460356U, 0x8A892ABAF368F137U, -474},
    {0xD01FEF10A657842CU, 0x2D2B7569B0432D85U, -476},
    {0x8213F56A67F6B29BU, 0x9C3B29620E29FC73U, -479},
    {0xA298F2C501F45F42U, 0x8349F3BA91B47B8FU, -481},
    {0xCB3F2F7642717713U, 0x241C70A936219A73U, -483},
    {0xFE0EFB53D30DD4D7U, 0xED238CD383AA0110U, -485},
    {0x9EC95D1463E8A506U, 0xF4363804324A40AAU, -488},
    {0xC67BB4597CE2CE48U, 0xB143C6053EDCD0D5U, -490},
    {0xF81AA16FDC1B81DAU, 0xDD94B7868E94050AU, -492},
    {0x9B10A4E5E9913128U, 0xCA7CF2B4191C8326U, -495},
    {0xC1D4CE1F63F57D72U, 0xFD1C2F611F63A3F0U, -497},
    {0xF24A01A73CF2DCCFU, 0xBC633B39673C8CECU, -499},
    {0x976E41088617CA01U, 0xD5BE0503E085D813U, -502},
    {0xBD49D14AA79DBC82U, 0x4B2D8644D8A74E18U, -504},
    {0xEC9C459D51852BA2U, 0xDDF8E7D60ED1219EU, -506},
    {0x93E1AB8252F33B45U, 0xCABB90E5C942B503U, -509},
    {0xB8DA1662E7B00A17U, 0x3D6A751F3B936243U, -511},
    {0xE7109BFBA19C0C9DU, 0x0CC512670A783AD4U, -513},
    {0x906A617D450187E2U, 0x27FB2B80668B24C5U, -516},
    {0xB484F9DC9641E9DAU, 0xB1F9F660802DEDF6U, -518},
    {0xE1A63853BBD26451U, 0x5E7873F8A0396973U, -520},
    {0x8D07E33455637EB2U, 0xDB0B487B6423E1E8U, -523},
    {0xB049DC016ABC5E5FU, 0x91CE1A9A3D2CDA62U, -525},
    {0xDC5C5301C56B75F7U, 0x7641A140CC7810FBU, -527},
    {0x89B9B3E11B6329BAU, 0xA9E904C87FCB0A9DU, -530},
    {0xAC2820D9623BF429U, 0x546345FA9FBDCD44U, -532},
    {0xD732290FBACAF133U, 0xA97C177947AD4095U, -534},
    {0x867F59A9D4BED6C0U, 0x49ED8EABCCCC485DU, -537},
    {0xA81F301449EE8C70U, 0x5C68F256BFFF5A74U, -539},
    {0xD226FC195C6A2F8CU, 0x73832EEC6FFF3111U, -541},
    {0x83585D8FD9C25DB7U, 0xC831FD53C5FF7EABU, -544},
    {0xA42E74F3D032F525U, 0xBA3E7CA8B77F5E55U, -546},
    {0xCD3A1230C43FB26FU, 0x28CE1BD2E55F35EBU, -548},
    {0x80444B5E7AA7CF85U, 0x7980D163CF5B81B3U, -551},
    {0xA0555E361951C366U, 0xD7E105BCC332621FU, -553},
    {0xC86AB5C39FA63440U, 0x8DD9472BF3FEFAA7U, -555},
    {0xFA856334878FC150U, 0xB14F98F6F0FEB951U, -557},
    {0x9C935E00D4B9D8D2U, 0x6ED1BF9A569F33D3U, -560},
    {0xC3B8358109E84F07U, 0x0A862F80EC4700C8U, -562},
    {0xF4A642E14C6262C8U, 0xCD27BB612758C0FAU, -564},
    {0x98E7E9CCCFBD7DBDU, 0x8038D51CB897789CU, -567},
    {0xBF21E44003ACDD2CU, 0xE0470A63E6BD56C3U, -569},
    {0xEEEA5D5004981478U, 0x1858CCFCE06CAC74U, -571},
    {0x95527A5202DF0CCBU, 0x0F37801E0C43EBC8U, -574},
    {0xBAA718E68396CFFDU, 0xD30560258F54E6BAU, -576},
    {0xE950DF20247C83FDU, 0x47C6B82EF32A2069U, -578},
    {0x91D28B7416CDD27EU, 0x4CDC331D57FA5441U, -581},
    {0xB6472E511C81471DU, 0xE0133FE4ADF8E952U, -583},
    {0xE3D8F9E563A198E5U, 0x58180FDDD97723A6U, -585},
    {0x8E679C2F5E44FF8FU, 0x570F09EAA7EA7648U, -588},
};

/* w * 10^q (w > 0) correctly rounded to a normal double, from the 192-bit product of w and the
 * table's 128 bits of 5^q. false when those bits cannot decide the rounding (the value is on or
 * just below a halfway point) or the result is not a normal double: strtod decides then. */
static bool decimal_to_double(uint64_t w, long long q, bool neg, double *out)
{
#ifdef __SIZEOF_INT128__
    __extension__ typedef unsigned __int128 u128;
    if (w == 0 || q < POW5_MIN_Q || q > POW5_MAX_Q)
        return false;
    const pow5_128 *pw = &pow5_table[q - POW5_MIN_Q];
    int lz = __builtin_clzll(w);
    uint64_t wn = w << lz;
    u128 a = (u128)wn * pw->lo, b = (u128)wn * pw->hi;
    u128 t = b + (a >> 64); /* X = t * 2^64 + (low half of a): 192 bits, top at bit 190 or 191 */
    uint64_t lo = (uint64_t)a, mid = (uint64_t)t, hi = (uint64_t)(t >> 64);
    int sh = 0;
    if (!(hi >> 63)) {
        hi = hi << 1 | mid >> 63;
        mid = mid << 1 | lo >> 63;
        sh = 1;
    }
    /* The table's truncation leaves X below the exact product by less than 2^64 units of its
     * last bit (2^65 after the shift), so the 75 bits after the 53-bit mantissa (11 of hi, all
     * of mid) decide the rounding unless they are within 3 units below half or exactly half. */
    uint64_t tail = hi & 0x7FF;
    if ((tail == 0x3FF && mid >= UINT64_MAX - 3) || (tail == 0x400 && mid == 0))
        return false;
    uint64_t m = (hi >> 11) + ((hi >> 10) & 1);
    long long e = 139 + q - pw->s - lz - sh; /* value = m * 2^e */
    if (m == (uint64_t)1 << 53) {
        m >>= 1;
        e++;
    }
    long long biased = e + 52 + 1023;
    if (biased < 1 || biased > 2046)
        return false;
    uint64_t bits = (uint64_t)biased << 52 | (m & (((uint64_t)1 << 52) - 1)) | (uint64_t)neg << 63;
    memcpy(out, &bits, 8);
    return true;
#else
    (void)w;
    (void)q;
    (void)neg;
    (void)out;
    return false;
#endif
}

/* Significant digits kept for strtod; more can never change the rounding once a sticky
 * nonzero digit stands in for the rest (halfway cases need at most 767 digits). */
#define MAX_SIG_DIGITS 800

int sl_json_number_to_double(const sl_json_value *v, double *out)
{
    /* The paths below without splitting first, for the commonest form, [-]digits[.digits]
     * with at most 19 digits: same operands, same operations, same result. */
    if (!(v->flags & SL_JSON_EXPONENT) && v->len <= 21) {
        static const uint64_t pow10_u64[20] = {1u,
                                               10u,
                                               100u,
                                               1000u,
                                               10000u,
                                               100000u,
                                               1000000u,
                                               10000000u,
                                               100000000u,
                                               1000000000u,
                                               10000000000u,
                                               100000000000u,
                                               1000000000000u,
                                               10000000000000u,
                                               100000000000000u,
                                               1000000000000000u,
                                               10000000000000000u,
                                               100000000000000000u,
                                               1000000000000000000u,
                                               10000000000000000000u};
        bool neg = (v->flags & SL_JSON_NEGATIVE) != 0;
        const char *p = v->ptr + neg, *end = v->ptr + v->len;
        const char *dot = sl_json_skip_digits(p, end);
        size_t ni = (size_t)(dot - p), nf = dot < end ? (size_t)(end - dot) - 1 : 0;
        if (ni + nf <= 19) {
            uint64_t m = sl_json_digits_value(p, ni);
            if (nf)
                m = m * pow10_u64[nf] + sl_json_digits_value(dot + 1, nf);
            if (m <= ((uint64_t)1 << 53)) {
                double d = (double)m / exact_pow10[nf];
                *out = neg ? -d : d;
                return 0;
            }
            if (decimal_to_double(m, -(long long)nf, neg, out))
                return 0;
        }
    }
    num_parts np;
    split_number(v, &np);

    /* Fast path: all digits fit in 19 decimal places, mantissa <= 2^53, |exp10| <= 22; then
     * one IEEE multiplication or division of exact operands rounds correctly. */
    if (np.int_n + np.frac_n <= 19 && np.exp > -1000 && np.exp < 1000) {
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
        if (decimal_to_double(m, e10, np.neg, out))
            return 0;
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
