/* ClickHouse data types: a recursive-descent parser for type names (with ClickHouse's aliases
 * and its own validity rules), the canonical printer, and one RowBinary encoder per type that
 * converts a scanned JSON value the way ClickHouse's JSONEachRow parser does, but rejects values
 * ClickHouse would silently wrap, clamp or invent (docs/conversion.md lists every difference). */
#include "sl_types.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TYPE_DEPTH   32
#define MAX_FIXED_STRING (1u << 20) /* far above ClickHouse's own 256 without a setting */
#define MAX_ENUM_ENTRIES 65536

/* ------------------------------------------------------------------------------------------ */
/* Small text writer used by the printer: either into an sl_buf or into a fixed char array     */
/* (error messages, which must not allocate).                                                  */

typedef struct {
    sl_buf *buf;
    char *fixed;
    size_t cap;
    size_t len;
    int rc;
} writer;

static void wput(writer *w, const char *p, size_t n)
{
    if (w->rc)
        return;
    if (w->buf) {
        w->rc = sl_buf_append(w->buf, p, n);
        return;
    }
    size_t room = w->cap - 1 - w->len;
    if (n > room)
        n = room;
    memcpy(w->fixed + w->len, p, n);
    w->len += n;
    w->fixed[w->len] = '\0';
}

static void wputs(writer *w, const char *s)
{
    wput(w, s, strlen(s));
}

static void wputu(writer *w, uint64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
    wput(w, tmp, (size_t)n);
}

static void wputi(writer *w, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%lld", (long long)v);
    wput(w, tmp, (size_t)n);
}

/* A single-quoted SQL string literal, escaped so that the parser reads it back. */
static void wquoted(writer *w, sl_str s)
{
    wput(w, "'", 1);
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        switch (c) {
        case '\'': wput(w, "\\'", 2); break;
        case '\\': wput(w, "\\\\", 2); break;
        case '\n': wput(w, "\\n", 2); break;
        case '\t': wput(w, "\\t", 2); break;
        case '\r': wput(w, "\\r", 2); break;
        case '\0': wput(w, "\\0", 2); break;
        case '\b': wput(w, "\\b", 2); break;
        case '\f': wput(w, "\\f", 2); break;
        default: wput(w, &c, 1);
        }
    }
    wput(w, "'", 1);
}

static bool is_ident_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_ident_char(char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

static void wname(writer *w, sl_str s)
{
    bool plain = s.len > 0 && is_ident_start(s.ptr[0]);
    for (size_t i = 1; plain && i < s.len; i++)
        plain = is_ident_char(s.ptr[i]);
    if (plain) {
        wput(w, s.ptr, s.len);
        return;
    }
    wput(w, "`", 1);
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] == '`' || s.ptr[i] == '\\')
            wput(w, "\\", 1);
        wput(w, s.ptr + i, 1);
    }
    wput(w, "`", 1);
}

static const char *const int_names[2][6] = {
    {"UInt8", "UInt16", "UInt32", "UInt64", "UInt128", "UInt256"},
    {"Int8", "Int16", "Int32", "Int64", "Int128", "Int256"},
};

static unsigned size_index(uint32_t size)
{
    switch (size) {
    case 1: return 0;
    case 2: return 1;
    case 4: return 2;
    case 8: return 3;
    case 16: return 4;
    default: return 5;
    }
}

static void wtype(writer *w, const sl_type *t)
{
    switch (t->kind) {
    case SL_TYPE_STRING: wputs(w, "String"); break;
    case SL_TYPE_FIXED_STRING:
        wputs(w, "FixedString(");
        wputu(w, t->size);
        wputs(w, ")");
        break;
    case SL_TYPE_BOOL: wputs(w, "Bool"); break;
    case SL_TYPE_INT: wputs(w, int_names[t->is_signed][size_index(t->size)]); break;
    case SL_TYPE_FLOAT32: wputs(w, "Float32"); break;
    case SL_TYPE_FLOAT64: wputs(w, "Float64"); break;
    case SL_TYPE_DECIMAL:
        wputs(w, "Decimal(");
        wputu(w, t->precision);
        wputs(w, ", ");
        wputu(w, t->scale);
        wputs(w, ")");
        break;
    case SL_TYPE_DATE: wputs(w, "Date"); break;
    case SL_TYPE_DATE32: wputs(w, "Date32"); break;
    case SL_TYPE_DATETIME:
        wputs(w, "DateTime");
        if (t->timezone.len) {
            wputs(w, "(");
            wquoted(w, t->timezone);
            wputs(w, ")");
        }
        break;
    case SL_TYPE_DATETIME64:
        wputs(w, "DateTime64(");
        wputu(w, t->scale);
        if (t->timezone.len) {
            wputs(w, ", ");
            wquoted(w, t->timezone);
        }
        wputs(w, ")");
        break;
    case SL_TYPE_UUID: wputs(w, "UUID"); break;
    case SL_TYPE_IPV4: wputs(w, "IPv4"); break;
    case SL_TYPE_IPV6: wputs(w, "IPv6"); break;
    case SL_TYPE_ENUM:
        wputs(w, t->size == 1 ? "Enum8(" : "Enum16(");
        for (uint32_t i = 0; i < t->n_enum; i++) {
            if (i)
                wputs(w, ", ");
            wquoted(w, t->enum_names[i]);
            wputs(w, " = ");
            wputi(w, t->enum_values[i]);
        }
        wputs(w, ")");
        break;
    case SL_TYPE_LOW_CARDINALITY:
    case SL_TYPE_NULLABLE:
    case SL_TYPE_ARRAY:
        wputs(w, t->kind == SL_TYPE_ARRAY      ? "Array("
                 : t->kind == SL_TYPE_NULLABLE ? "Nullable("
                                               : "LowCardinality(");
        wtype(w, t->children[0]);
        wputs(w, ")");
        break;
    case SL_TYPE_TUPLE:
    case SL_TYPE_MAP:
        wputs(w, t->kind == SL_TYPE_MAP ? "Map(" : "Tuple(");
        for (uint32_t i = 0; i < t->n_children; i++) {
            if (i)
                wputs(w, ", ");
            if (t->names) {
                wname(w, t->names[i]);
                wputs(w, " ");
            }
            wtype(w, t->children[i]);
        }
        wputs(w, ")");
        break;
    case SL_TYPE_JSON: wputs(w, "JSON"); break;
    }
}

int sl_type_format(const sl_type *t, sl_buf *out)
{
    writer w = {.buf = out};
    wtype(&w, t);
    return w.rc;
}

/* The type's name into a fixed array, for messages (long names are cut). */
static const char *type_name(const sl_type *t, char *buf, size_t cap)
{
    writer w = {.fixed = buf, .cap = cap};
    buf[0] = '\0';
    wtype(&w, t);
    if (w.len == cap - 1 && cap > 4)
        memcpy(buf + cap - 4, "...", 4);
    return buf;
}

/* ------------------------------------------------------------------------------------------ */
/* Parser                                                                                       */

typedef struct {
    const char *s;
    size_t len;
    size_t pos;
    sl_arena *arena;
    sl_error *err;
    int depth;
} parser;

static int perr(parser *p, size_t at, const char *fmt, const char *arg)
{
    return sl_error_setf(p->err, SL_ETYPE, at, fmt, arg);
}

static void skip_ws(parser *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

static int peekc(parser *p)
{
    skip_ws(p);
    return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static bool accept(parser *p, char c)
{
    if (peekc(p) == (unsigned char)c) {
        p->pos++;
        return true;
    }
    return false;
}

static int expect(parser *p, char c, const char *what)
{
    if (accept(p, c))
        return 0;
    return perr(p, p->pos, "%s", what);
}

static sl_str read_ident(parser *p)
{
    skip_ws(p);
    size_t start = p->pos;
    if (p->pos < p->len && is_ident_start(p->s[p->pos])) {
        while (p->pos < p->len && is_ident_char(p->s[p->pos]))
            p->pos++;
    }
    return (sl_str){p->s + start, p->pos - start};
}

/* Consumes the next identifier if it equals `word` (ASCII case-insensitive). */
static bool accept_word(parser *p, const char *word)
{
    size_t save = p->pos;
    sl_str id = read_ident(p);
    if (id.len && sl_str_eq_nocase(id, word))
        return true;
    p->pos = save;
    return false;
}

/* An unsigned decimal literal with an optional '+', as ClickHouse allows in type arguments. */
static int parse_uint(parser *p, uint64_t *out, const char *what)
{
    skip_ws(p);
    size_t start = p->pos;
    if (p->pos < p->len && p->s[p->pos] == '+')
        p->pos++;
    uint64_t v = 0;
    size_t digits = 0;
    while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
        if (v > 100000000u)
            return perr(p, start, "%s is too large", what);
        v = v * 10 + (uint64_t)(p->s[p->pos] - '0');
        p->pos++;
        digits++;
    }
    if (!digits || (p->pos < p->len && is_ident_char(p->s[p->pos])))
        return perr(p, start, "expected a number for %s", what);
    *out = v;
    return 0;
}

/* A signed integer literal for enum values: [+-] then decimal digits or 0x hex digits. */
static int parse_enum_value(parser *p, int64_t *out)
{
    skip_ws(p);
    size_t start = p->pos;
    bool neg = false;
    if (p->pos < p->len && (p->s[p->pos] == '-' || p->s[p->pos] == '+'))
        neg = p->s[p->pos++] == '-';
    int64_t v = 0;
    size_t digits = 0;
    bool hex = p->pos + 1 < p->len && p->s[p->pos] == '0' &&
               (p->s[p->pos + 1] == 'x' || p->s[p->pos + 1] == 'X');
    if (hex)
        p->pos += 2;
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        int d = c >= '0' && c <= '9'          ? c - '0'
                : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                              : -1;
        if (d < 0)
            break;
        if (v > 1000000)
            return perr(p, start, "%s", "enum value out of the Enum16 range [-32768, 32767]");
        v = v * (hex ? 16 : 10) + d;
        p->pos++;
        digits++;
    }
    if (!digits || (p->pos < p->len && (is_ident_char(p->s[p->pos]) || p->s[p->pos] == '.')))
        return perr(p, start, "%s",
                    "expected an integer enum value (elements are 'name' = integer or 'name')");
    *out = neg ? -v : v;
    return 0;
}

/* A single-quoted string literal with SQL escapes ('' and backslash escapes), decoded into the
 * arena. */
static int parse_quoted(parser *p, sl_str *out, const char *what)
{
    skip_ws(p);
    size_t start = p->pos;
    if (p->pos >= p->len || p->s[p->pos] != '\'')
        return perr(p, start, "expected a quoted string for %s", what);
    p->pos++;
    char *buf = sl_arena_alloc(p->arena, p->len - p->pos + 1);
    size_t n = 0;
    for (;;) {
        if (p->pos >= p->len)
            return perr(p, start, "unterminated string in %s", what);
        char c = p->s[p->pos++];
        if (c == '\'') {
            if (p->pos < p->len && p->s[p->pos] == '\'') {
                buf[n++] = '\'';
                p->pos++;
                continue;
            }
            break;
        }
        if (c == '\\') {
            if (p->pos >= p->len)
                return perr(p, start, "unterminated string in %s", what);
            char e = p->s[p->pos++];
            switch (e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case '0': c = '\0'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'a': c = '\a'; break;
            case 'v': c = '\v'; break;
            default: c = e; break;
            }
        }
        buf[n++] = c;
    }
    buf[n] = '\0';
    *out = (sl_str){buf, n};
    return 0;
}

/* A tuple element name: an identifier or a backquoted name. */
static int parse_name(parser *p, sl_str *out)
{
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == '`') {
        size_t start = p->pos++;
        char *buf = sl_arena_alloc(p->arena, p->len - p->pos + 1);
        size_t n = 0;
        for (;;) {
            if (p->pos >= p->len)
                return perr(p, start, "%s", "unterminated `name` in Tuple");
            char c = p->s[p->pos++];
            if (c == '`') {
                if (p->pos < p->len && p->s[p->pos] == '`') {
                    buf[n++] = '`';
                    p->pos++;
                    continue;
                }
                break;
            }
            if (c == '\\' && p->pos < p->len)
                c = p->s[p->pos++];
            buf[n++] = c;
        }
        if (n == 0)
            return perr(p, start, "%s", "empty element name in Tuple");
        *out = (sl_str){buf, n};
        return 0;
    }
    *out = sl_arena_dup(p->arena, read_ident(p));
    return 0;
}

static sl_type *new_type(parser *p, sl_type_kind kind)
{
    sl_type *t = sl_arena_alloc(p->arena, sizeof(*t));
    t->kind = kind;
    return t;
}

static int parse_type(parser *p, const sl_type **out);

/* Optional "(n, ...)" after aliases such as VARCHAR(255) or INT(11), which ClickHouse ignores. */
static int skip_alias_args(parser *p)
{
    if (!accept(p, '('))
        return 0;
    do {
        uint64_t ignored;
        int rc = parse_uint(p, &ignored, "the argument of a type alias");
        if (rc)
            return rc;
    } while (accept(p, ','));
    return expect(p, ')', "expected ')' after the arguments of the type alias");
}

/* The single type argument of Array(T), Nullable(T), LowCardinality(T). */
static int parse_one_child(parser *p, sl_type *t, const char *name)
{
    static const char *const open[] = {"expected '(' after Array", "expected '(' after Nullable",
                                       "expected '(' after LowCardinality"};
    static const char *const close[] = {"expected ')' after the argument of Array",
                                        "expected ')' after the argument of Nullable",
                                        "expected ')' after the argument of LowCardinality"};
    int i = name[0] == 'A' ? 0 : name[0] == 'N' ? 1 : 2;
    int rc = expect(p, '(', open[i]);
    if (rc)
        return rc;
    const sl_type **kids = sl_arena_alloc(p->arena, sizeof(*kids));
    rc = parse_type(p, &kids[0]);
    if (rc)
        return rc;
    accept(p, ',');
    rc = expect(p, ')', close[i]);
    if (rc)
        return rc;
    t->children = kids;
    t->n_children = 1;
    return 0;
}

static uint32_t decimal_size(uint64_t precision)
{
    return precision <= 9 ? 4 : precision <= 18 ? 8 : precision <= 38 ? 16 : 32;
}

static int check_decimal(parser *p, sl_type *t, uint64_t precision, uint64_t scale, size_t at)
{
    char msg[96];
    if (precision < 1 || precision > 76) {
        snprintf(msg, sizeof(msg), "Decimal precision must be between 1 and 76, got %llu",
                 (unsigned long long)precision);
        return perr(p, at, "%s", msg);
    }
    if (scale > precision) {
        snprintf(msg, sizeof(msg),
                 "Decimal scale must be between 0 and the precision %llu, got %llu",
                 (unsigned long long)precision, (unsigned long long)scale);
        return perr(p, at, "%s", msg);
    }
    t->precision = (uint32_t)precision;
    t->scale = (uint32_t)scale;
    t->size = decimal_size(precision);
    return 0;
}

/* A time zone argument: checked by loading it, so a bad name fails the schema, not each row. */
static int parse_timezone(parser *p, sl_type *t, const char *what)
{
    skip_ws(p);
    size_t at = p->pos;
    sl_str tz;
    int rc = parse_quoted(p, &tz, what);
    if (rc)
        return rc;
    if (tz.len == 0) {
        t->timezone = tz;
        return 0;
    }
    bool ok = tz.len < SL_TYPE_TZ_NAME_MAX && tz.ptr[0] != '/';
    for (size_t i = 0; ok && i < tz.len; i++) {
        char c = tz.ptr[i];
        ok = is_ident_char(c) || c == '/' || c == '+' || c == '-';
        if (c == '/' && i + 1 < tz.len && tz.ptr[i + 1] == '/')
            ok = false;
    }
    sl_tz *zone = NULL;
    if (ok) {
        sl_error tzerr = {0};
        ok = sl_tz_load(tz, &zone, &tzerr) == 0;
        sl_tz_free(zone);
    }
    if (!ok) {
        char msg[128];
        snprintf(msg, sizeof(msg), "unknown time zone '%.*s'", (int)(tz.len > 64 ? 64 : tz.len),
                 tz.ptr);
        return perr(p, at, "%s", msg);
    }
    t->timezone = tz;
    return 0;
}

static int cmp_enum(const void *a, const void *b)
{
    const int32_t *x = a, *y = b;
    return (*x > *y) - (*x < *y);
}

/* Enum8/Enum16/Enum: 'name' [= value], ...; values default to the previous value plus one. */
static int parse_enum(parser *p, sl_type *t, int bits, size_t at)
{
    int rc = expect(p, '(', "expected '(' and the elements of Enum, like Enum8('a' = 1)");
    if (rc)
        return rc;
    size_t cap = 8, n = 0;
    sl_str *names = sl_xmalloc(cap * sizeof(*names));
    int64_t *values = sl_xmalloc(cap * sizeof(*values));
    int64_t prev = 0;
    while (peekc(p) != ')') {
        if (n == MAX_ENUM_ENTRIES) {
            rc = perr(p, p->pos, "%s", "too many Enum elements");
            goto done;
        }
        if (n == cap) {
            cap *= 2;
            names = sl_xrealloc(names, cap * sizeof(*names));
            values = sl_xrealloc(values, cap * sizeof(*values));
        }
        rc = parse_quoted(p, &names[n], "an Enum element name");
        if (rc)
            goto done;
        int64_t v = prev + 1;
        if (accept(p, '=')) {
            rc = parse_enum_value(p, &v);
            if (rc)
                goto done;
        }
        values[n++] = v;
        prev = v;
        if (!accept(p, ','))
            break;
    }
    rc = expect(p, ')', "expected ',' or ')' after an Enum element");
    if (rc)
        goto done;
    if (n == 0) {
        rc = perr(p, at, "%s", "Enum needs at least one element");
        goto done;
    }
    int64_t lo = 0, hi = 0;
    for (size_t i = 0; i < n; i++) {
        lo = values[i] < lo ? values[i] : lo;
        hi = values[i] > hi ? values[i] : hi;
    }
    if (bits == 0)
        bits = lo >= -128 && hi <= 127 ? 8 : 16;
    int64_t min = bits == 8 ? -128 : -32768, max = bits == 8 ? 127 : 32767;
    if (lo < min || hi > max) {
        rc = perr(p, at, "%s",
                  bits == 8 ? "Enum8 values must be between -128 and 127"
                            : "Enum16 values must be between -32768 and 32767");
        goto done;
    }
    /* Sort by value (ClickHouse's canonical order), then reject duplicates. */
    int32_t *order = sl_xmalloc(n * 2 * sizeof(int32_t));
    for (size_t i = 0; i < n; i++) {
        order[2 * i] = (int32_t)values[i];
        order[2 * i + 1] = (int32_t)i;
    }
    qsort(order, n, 2 * sizeof(int32_t), cmp_enum);
    sl_str *snames = sl_arena_alloc(p->arena, n * sizeof(*snames));
    int32_t *svalues = sl_arena_alloc(p->arena, n * sizeof(*svalues));
    for (size_t i = 0; i < n; i++) {
        snames[i] = names[order[2 * i + 1]];
        svalues[i] = order[2 * i];
    }
    free(order);
    for (size_t i = 0; i < n && !rc; i++) {
        if (i && svalues[i] == svalues[i - 1])
            rc = perr(p, at, "duplicate value in Enum (element '%s')", snames[i].ptr);
        for (size_t j = i + 1; j < n && !rc; j++) {
            if (sl_str_eq(snames[i], snames[j]))
                rc = perr(p, at, "duplicate name '%s' in Enum", snames[i].ptr);
        }
    }
    if (rc)
        goto done;
    t->size = bits == 8 ? 1 : 2;
    t->is_signed = true;
    t->n_enum = (uint32_t)n;
    t->enum_names = snames;
    t->enum_values = svalues;
done:
    free(names);
    free(values);
    return rc;
}

/* Two-word spellings that must not be read as "name Type" inside a Tuple. */
static bool is_two_word_type(sl_str a, sl_str b)
{
    static const char *const ints[] = {"TINYINT", "SMALLINT", "MEDIUMINT", "INT",
                                       "INTEGER", "BIGINT",   "INT1",      "BYTE"};
    if (sl_str_eq_nocase(b, "UNSIGNED") || sl_str_eq_nocase(b, "SIGNED")) {
        for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
            if (sl_str_eq_nocase(a, ints[i]))
                return true;
        }
    }
    if (sl_str_eq_nocase(a, "DOUBLE") && sl_str_eq_nocase(b, "PRECISION"))
        return true;
    return (sl_str_eq_nocase(a, "CHAR") || sl_str_eq_nocase(a, "CHARACTER")) &&
           sl_str_eq_nocase(b, "VARYING");
}

static int parse_tuple(parser *p, sl_type *t)
{
    int rc = expect(p, '(', "expected '(' after Tuple");
    if (rc)
        return rc;
    size_t cap = 4, n = 0;
    const sl_type **kids = sl_xmalloc(cap * sizeof(*kids));
    sl_str *names = sl_xmalloc(cap * sizeof(*names));
    int named = -1;
    while (peekc(p) != ')') {
        if (n == cap) {
            cap *= 2;
            kids = sl_xrealloc(kids, cap * sizeof(*kids));
            names = sl_xrealloc(names, cap * sizeof(*names));
        }
        skip_ws(p);
        size_t start = p->pos;
        bool has_name = false;
        if (p->pos < p->len && p->s[p->pos] == '`') {
            has_name = true;
        } else {
            sl_str first = read_ident(p);
            int c = peekc(p);
            if (first.len && c >= 0 && (is_ident_start((char)c) || c == '`')) {
                has_name = true;
                sl_str second = read_ident(p);
                int c2 = peekc(p);
                if (second.len && (c2 == ',' || c2 == ')') && is_two_word_type(first, second))
                    has_name = false;
            }
            p->pos = start;
        }
        if (named >= 0 && named != (int)has_name) {
            rc = perr(p, start, "%s", "Tuple elements must all have names or none");
            goto done;
        }
        named = has_name;
        names[n] = SL_STR_NULL;
        if (has_name) {
            rc = parse_name(p, &names[n]);
            if (rc)
                goto done;
            for (size_t i = 0; i < n; i++) {
                if (sl_str_eq(names[i], names[n])) {
                    rc = perr(p, start, "duplicate element name '%s' in Tuple", names[n].ptr);
                    goto done;
                }
            }
        }
        rc = parse_type(p, &kids[n]);
        if (rc)
            goto done;
        n++;
        if (!accept(p, ','))
            break;
    }
    rc = expect(p, ')', "expected ',' or ')' after a Tuple element");
    if (rc)
        goto done;
    t->n_children = (uint32_t)n;
    t->children = sl_arena_alloc(p->arena, (n ? n : 1) * sizeof(*kids));
    memcpy(t->children, kids, n * sizeof(*kids));
    if (named == 1) {
        sl_str *nm = sl_arena_alloc(p->arena, n * sizeof(*nm));
        memcpy(nm, names, n * sizeof(*nm));
        t->names = nm;
    }
done:
    free(kids);
    free(names);
    return rc;
}

static bool lc_inner_ok(const sl_type *t)
{
    switch (t->kind) {
    case SL_TYPE_STRING:
    case SL_TYPE_FIXED_STRING:
    case SL_TYPE_BOOL:
    case SL_TYPE_INT:
    case SL_TYPE_FLOAT32:
    case SL_TYPE_FLOAT64:
    case SL_TYPE_DATE:
    case SL_TYPE_DATE32:
    case SL_TYPE_DATETIME:
    case SL_TYPE_UUID:
    case SL_TYPE_IPV4:
    case SL_TYPE_IPV6: return true;
    default: return false;
    }
}

/* Map keys sluice can convert from JSON object keys (text). ClickHouse also allows Array,
 * Tuple, Map and JSON keys, which no JSON key text can express. */
static bool map_key_ok(const sl_type *t)
{
    switch (t->kind) {
    case SL_TYPE_STRING:
    case SL_TYPE_FIXED_STRING:
    case SL_TYPE_BOOL:
    case SL_TYPE_INT:
    case SL_TYPE_FLOAT32:
    case SL_TYPE_FLOAT64:
    case SL_TYPE_DECIMAL:
    case SL_TYPE_DATE:
    case SL_TYPE_DATE32:
    case SL_TYPE_DATETIME:
    case SL_TYPE_DATETIME64:
    case SL_TYPE_UUID:
    case SL_TYPE_IPV4:
    case SL_TYPE_IPV6:
    case SL_TYPE_ENUM: return true;
    case SL_TYPE_LOW_CARDINALITY: return map_key_ok(t->children[0]);
    default: return false;
    }
}

bool sl_type_can_be_nullable(const sl_type *t)
{
    switch (t->kind) {
    case SL_TYPE_ARRAY:
    case SL_TYPE_MAP:
    case SL_TYPE_TUPLE:
    case SL_TYPE_LOW_CARDINALITY:
    case SL_TYPE_NULLABLE: return false;
    default: return true;
    }
}

enum {
    F_NONE,
    F_STRING,
    F_FIXED,
    F_BINARY,
    F_BOOL,
    F_INT,
    F_INT_ALIAS,
    F_FLOAT32,
    F_FLOAT64,
    F_FLOAT_ALIAS,
    F_DECIMAL,
    F_DECIMAL_N,
    F_DATE,
    F_DATE32,
    F_DATETIME,
    F_DATETIME64,
    F_TIMESTAMP,
    F_UUID,
    F_IPV4,
    F_IPV6,
    F_ENUM,
    F_LC,
    F_NULLABLE,
    F_ARRAY,
    F_TUPLE,
    F_MAP,
    F_JSON,
};

typedef struct {
    const char *name;
    bool nocase;
    unsigned char family;
    unsigned char size; /* ints: bytes; Decimal32..256: bytes; Enum: bits/8 (0 = Enum) */
    bool is_signed;
    bool args; /* string/float aliases: ignored "(n, ...)" allowed */
} family_entry;

static const family_entry families[] = {
    {"String", false, F_STRING, 0, false, true},
    {"FixedString", false, F_FIXED, 0, false, false},
    {"Bool", true, F_BOOL, 1, false, false},
    {"Boolean", true, F_BOOL, 1, false, false},
    {"UInt8", false, F_INT, 1, false, false},
    {"UInt16", false, F_INT, 2, false, false},
    {"UInt32", false, F_INT, 4, false, false},
    {"UInt64", false, F_INT, 8, false, false},
    {"UInt128", false, F_INT, 16, false, false},
    {"UInt256", false, F_INT, 32, false, false},
    {"Int8", false, F_INT, 1, true, false},
    {"Int16", false, F_INT, 2, true, false},
    {"Int32", false, F_INT, 4, true, false},
    {"Int64", false, F_INT, 8, true, false},
    {"Int128", false, F_INT, 16, true, false},
    {"Int256", false, F_INT, 32, true, false},
    {"Float32", false, F_FLOAT32, 4, true, false},
    {"Float64", false, F_FLOAT64, 8, true, false},
    {"Decimal", true, F_DECIMAL, 0, true, false},
    {"Decimal32", true, F_DECIMAL_N, 4, true, false},
    {"Decimal64", true, F_DECIMAL_N, 8, true, false},
    {"Decimal128", true, F_DECIMAL_N, 16, true, false},
    {"Decimal256", true, F_DECIMAL_N, 32, true, false},
    {"Date", true, F_DATE, 2, false, false},
    {"Date32", true, F_DATE32, 4, true, false},
    {"DateTime", true, F_DATETIME, 4, false, false},
    {"DateTime64", true, F_DATETIME64, 8, true, false},
    {"UUID", false, F_UUID, 16, false, false},
    {"IPv4", false, F_IPV4, 4, false, false},
    {"IPv6", false, F_IPV6, 16, false, false},
    {"Enum", true, F_ENUM, 0, true, false},
    {"Enum8", true, F_ENUM, 1, true, false},
    {"Enum16", true, F_ENUM, 2, true, false},
    {"LowCardinality", false, F_LC, 0, false, false},
    {"Nullable", false, F_NULLABLE, 0, false, false},
    {"Array", false, F_ARRAY, 0, false, false},
    {"Tuple", false, F_TUPLE, 0, false, false},
    {"Map", false, F_MAP, 0, false, false},
    {"JSON", true, F_JSON, 0, false, false},
    /* SQL aliases ClickHouse accepts in any case. */
    {"TINYINT", true, F_INT_ALIAS, 1, true, true},
    {"INT1", true, F_INT_ALIAS, 1, true, true},
    {"BYTE", true, F_INT_ALIAS, 1, true, true},
    {"SMALLINT", true, F_INT_ALIAS, 2, true, true},
    {"MEDIUMINT", true, F_INT_ALIAS, 4, true, true},
    {"INT", true, F_INT_ALIAS, 4, true, true},
    {"INTEGER", true, F_INT_ALIAS, 4, true, true},
    {"BIGINT", true, F_INT_ALIAS, 8, true, true},
    {"SIGNED", true, F_INT, 8, true, false},
    {"UNSIGNED", true, F_INT, 8, false, false},
    {"FLOAT", true, F_FLOAT_ALIAS, 4, true, true},
    {"REAL", true, F_FLOAT_ALIAS, 4, true, true},
    {"DOUBLE", true, F_FLOAT_ALIAS, 8, true, true},
    {"TEXT", true, F_STRING, 0, false, true},
    {"TINYTEXT", true, F_STRING, 0, false, true},
    {"MEDIUMTEXT", true, F_STRING, 0, false, true},
    {"LONGTEXT", true, F_STRING, 0, false, true},
    {"VARCHAR", true, F_STRING, 0, false, true},
    {"VARCHAR2", true, F_STRING, 0, false, true},
    {"NVARCHAR", true, F_STRING, 0, false, true},
    {"CHAR", true, F_STRING, 0, false, true},
    {"NCHAR", true, F_STRING, 0, false, true},
    {"CHARACTER", true, F_STRING, 0, false, true},
    {"BLOB", true, F_STRING, 0, false, true},
    {"TINYBLOB", true, F_STRING, 0, false, true},
    {"MEDIUMBLOB", true, F_STRING, 0, false, true},
    {"LONGBLOB", true, F_STRING, 0, false, true},
    {"VARBINARY", true, F_STRING, 0, false, true},
    {"BYTEA", true, F_STRING, 0, false, true},
    {"BINARY", true, F_BINARY, 0, false, false},
    {"DEC", true, F_DECIMAL, 0, true, false},
    {"NUMERIC", true, F_DECIMAL, 0, true, false},
    {"FIXED", true, F_DECIMAL, 0, true, false},
    {"TIMESTAMP", true, F_TIMESTAMP, 0, false, false},
    {"INET4", true, F_IPV4, 4, false, false},
    {"INET6", true, F_IPV6, 16, false, false},
};

static const family_entry *find_family(sl_str name)
{
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        const family_entry *f = &families[i];
        if (f->nocase ? sl_str_eq_nocase(name, f->name) : sl_str_eq_cstr(name, f->name))
            return f;
    }
    return NULL;
}

static int parse_fixed_size(parser *p, sl_type *t, const char *what)
{
    char open[64], close[64];
    snprintf(open, sizeof(open), "expected '(' and a size after %s", what);
    snprintf(close, sizeof(close), "expected ')' after the size of %s", what);
    int rc = expect(p, '(', open);
    if (rc)
        return rc;
    size_t at = p->pos;
    uint64_t n;
    rc = parse_uint(p, &n, "the FixedString size");
    if (rc)
        return rc;
    if (n < 1 || n > MAX_FIXED_STRING)
        return perr(p, at, "%s", "FixedString size must be between 1 and 1048576");
    t->size = (uint32_t)n;
    return expect(p, ')', close);
}

static int parse_family(parser *p, const family_entry *f, sl_type *t, size_t at)
{
    int rc = 0;
    uint64_t a, b;
    switch (f->family) {
    case F_STRING:
        t->kind = SL_TYPE_STRING;
        if (sl_str_eq_nocase((sl_str){p->s + at, p->pos - at}, "CHAR") ||
            sl_str_eq_nocase((sl_str){p->s + at, p->pos - at}, "CHARACTER"))
            accept_word(p, "VARYING");
        return skip_alias_args(p);
    case F_FIXED:
    case F_BINARY: t->kind = SL_TYPE_FIXED_STRING; return parse_fixed_size(p, t, f->name);
    case F_BOOL: t->kind = SL_TYPE_BOOL; return 0;
    case F_INT:
    case F_INT_ALIAS:
        t->kind = SL_TYPE_INT;
        t->size = f->size;
        t->is_signed = f->is_signed;
        rc = skip_alias_args(p); /* Int32(10): ClickHouse ignores the argument */
        if (f->family == F_INT_ALIAS) {
            if (accept_word(p, "UNSIGNED"))
                t->is_signed = false;
            else
                accept_word(p, "SIGNED");
        }
        return rc;
    case F_FLOAT32: t->kind = SL_TYPE_FLOAT32; return skip_alias_args(p);
    case F_FLOAT64: t->kind = SL_TYPE_FLOAT64; return skip_alias_args(p);
    case F_FLOAT_ALIAS:
        t->kind = f->size == 4 ? SL_TYPE_FLOAT32 : SL_TYPE_FLOAT64;
        if (f->size == 8)
            accept_word(p, "PRECISION");
        return skip_alias_args(p);
    case F_DECIMAL:
        t->kind = SL_TYPE_DECIMAL;
        a = 10;
        b = 0;
        if (accept(p, '(')) {
            size_t argat = p->pos;
            rc = parse_uint(p, &a, "the Decimal precision");
            if (!rc && accept(p, ',') && peekc(p) != ')')
                rc = parse_uint(p, &b, "the Decimal scale");
            if (!rc)
                accept(p, ',');
            if (!rc)
                rc = expect(p, ')', "expected ')' after Decimal(precision, scale)");
            at = argat;
        }
        return rc ? rc : check_decimal(p, t, a, b, at);
    case F_DECIMAL_N: {
        t->kind = SL_TYPE_DECIMAL;
        a = f->size == 4 ? 9 : f->size == 8 ? 18 : f->size == 16 ? 38 : 76;
        rc = expect(p, '(', "expected '(' and a scale after DecimalN, like Decimal64(4)");
        size_t argat = p->pos;
        if (!rc)
            rc = parse_uint(p, &b, "the Decimal scale");
        if (!rc)
            accept(p, ',');
        if (!rc)
            rc = expect(p, ')', "expected ')' after the scale of DecimalN");
        return rc ? rc : check_decimal(p, t, a, b, argat);
    }
    case F_DATE: t->kind = SL_TYPE_DATE; return 0;
    case F_DATE32: t->kind = SL_TYPE_DATE32; return 0;
    case F_DATETIME:
        t->kind = SL_TYPE_DATETIME;
        if (accept(p, '(')) {
            rc = parse_timezone(p, t, "the DateTime time zone");
            if (!rc)
                accept(p, ',');
            if (!rc)
                rc = expect(p, ')', "expected ')' after DateTime('time zone')");
        }
        return rc;
    case F_TIMESTAMP:
    case F_DATETIME64:
        t->kind = f->family == F_TIMESTAMP ? SL_TYPE_DATETIME : SL_TYPE_DATETIME64;
        t->scale = f->family == F_TIMESTAMP ? 0 : 3;
        if (accept(p, '(')) {
            t->kind = SL_TYPE_DATETIME64;
            size_t argat = p->pos;
            rc = parse_uint(p, &a, "the DateTime64 precision");
            if (!rc && a > 9)
                rc = perr(p, argat, "%s", "DateTime64 precision must be between 0 and 9");
            if (!rc)
                t->scale = (uint32_t)a;
            if (!rc && accept(p, ',') && peekc(p) != ')') {
                rc = parse_timezone(p, t, "the DateTime64 time zone");
                if (!rc)
                    accept(p, ',');
            }
            if (!rc)
                rc = expect(p, ')', "expected ')' after DateTime64(precision[, 'time zone'])");
        }
        return rc;
    case F_UUID: t->kind = SL_TYPE_UUID; return 0;
    case F_IPV4: t->kind = SL_TYPE_IPV4; return 0;
    case F_IPV6: t->kind = SL_TYPE_IPV6; return 0;
    case F_ENUM: t->kind = SL_TYPE_ENUM; return parse_enum(p, t, f->size * 8, at);
    case F_LC:
        t->kind = SL_TYPE_LOW_CARDINALITY;
        rc = parse_one_child(p, t, "LowCardinality");
        if (!rc) {
            const sl_type *c = t->children[0];
            const sl_type *inner = c->kind == SL_TYPE_NULLABLE ? c->children[0] : c;
            if (!lc_inner_ok(inner)) {
                char nm[96];
                rc = perr(p, at,
                          "LowCardinality cannot wrap %s (only strings, numbers, Date, "
                          "DateTime, UUID, IP addresses and Nullable of those)",
                          type_name(c, nm, sizeof(nm)));
            }
        }
        return rc;
    case F_NULLABLE:
        t->kind = SL_TYPE_NULLABLE;
        rc = parse_one_child(p, t, "Nullable");
        if (!rc && !sl_type_can_be_nullable(t->children[0])) {
            char nm[96];
            rc = perr(p, at,
                      "Nullable cannot wrap %s (ClickHouse refuses Nullable around Array, Map, "
                      "Tuple, LowCardinality and Nullable)",
                      type_name(t->children[0], nm, sizeof(nm)));
        }
        return rc;
    case F_ARRAY: t->kind = SL_TYPE_ARRAY; return parse_one_child(p, t, "Array");
    case F_TUPLE: t->kind = SL_TYPE_TUPLE; return parse_tuple(p, t);
    case F_MAP: {
        t->kind = SL_TYPE_MAP;
        rc = expect(p, '(', "expected '(' after Map");
        if (rc)
            return rc;
        const sl_type **kids = sl_arena_alloc(p->arena, 2 * sizeof(*kids));
        size_t keyat = p->pos;
        rc = parse_type(p, &kids[0]);
        if (rc)
            return rc;
        if (!map_key_ok(kids[0])) {
            char nm[96];
            skip_ws(p);
            return perr(p, keyat,
                        "Map key cannot be %s (keys are JSON object keys: strings, numbers, "
                        "dates, UUID, IP addresses or Enum, not Nullable)",
                        type_name(kids[0], nm, sizeof(nm)));
        }
        rc = expect(p, ',', "expected ',' and the value type after the Map key type");
        if (!rc)
            rc = parse_type(p, &kids[1]);
        if (!rc)
            accept(p, ',');
        if (!rc)
            rc = expect(p, ')', "expected ')' after Map(key, value)");
        t->children = kids;
        t->n_children = 2;
        return rc;
    }
    case F_JSON:
        t->kind = SL_TYPE_JSON;
        if (peekc(p) == '(')
            return perr(p, p->pos, "%s", "JSON type arguments (paths, SKIP) are not supported");
        return 0;
    }
    return perr(p, at, "%s", "internal: unknown type family");
}

static int parse_type(parser *p, const sl_type **out)
{
    if (++p->depth > MAX_TYPE_DEPTH)
        return perr(p, p->pos, "%s", "type nested deeper than 32 levels");
    skip_ws(p);
    size_t at = p->pos;
    sl_str name = read_ident(p);
    if (!name.len)
        return perr(p, at, "%s", "expected a type name");
    const family_entry *f = find_family(name);
    static const char *const unsupported[] = {"Variant",
                                              "Dynamic",
                                              "Object",
                                              "Nested",
                                              "Time",
                                              "Time64",
                                              "BFloat16",
                                              "Point",
                                              "Ring",
                                              "Polygon",
                                              "LineString",
                                              "MultiPolygon",
                                              "MultiLineString",
                                              "AggregateFunction",
                                              "SimpleAggregateFunction",
                                              "Nothing",
                                              "QBit"};
    for (size_t i = 0; !f && i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
        if (sl_str_eq_cstr(name, unsupported[i]))
            return perr(p, at, "type %s is not supported by sluice (see docs/conversion.md)",
                        unsupported[i]);
    }
    if (!f) {
        char msg[128];
        snprintf(msg, sizeof(msg), "unknown type '%.*s'", (int)(name.len > 64 ? 64 : name.len),
                 name.ptr);
        return perr(p, at, "%s", msg);
    }
    sl_type *t = new_type(p, SL_TYPE_STRING);
    int rc = parse_family(p, f, t, at);
    if (rc)
        return rc;
    p->depth--;
    *out = t;
    return 0;
}

int sl_type_parse(sl_str text, sl_arena *arena, const sl_type **out, sl_error *err)
{
    parser p = {.s = text.ptr, .len = text.len, .arena = arena, .err = err};
    const sl_type *t;
    int rc = parse_type(&p, &t);
    if (rc)
        return rc;
    if (peekc(&p) != -1)
        return perr(&p, p.pos, "%s", "unexpected text after the type");
    *out = t;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Encoders                                                                                     */

void sl_encode_scratch_init(sl_encode_scratch *s)
{
    memset(s, 0, sizeof(*s));
    sl_buf_init(&s->text, 0);
    sl_buf_init(&s->stack, 0);
}

void sl_encode_scratch_free(sl_encode_scratch *s)
{
    if (!s)
        return;
    sl_buf_free(&s->text);
    sl_buf_free(&s->stack);
    for (uint32_t i = 0; i < s->n_zones; i++)
        sl_tz_free(s->zones[i].tz);
    s->n_zones = 0;
}

int sl_type_encode_empty(const sl_type *t, sl_buf *out)
{
    if (t->kind != SL_TYPE_ARRAY && t->kind != SL_TYPE_MAP)
        return 0;
    int rc = sl_buf_append(out, "", 1);
    return rc ? rc : 1;
}

typedef struct {
    sl_encode_scratch *scratch;
    sl_buf *out;
    sl_error *err;
} encoder;

/* The value as a user sees it in their row, cut to about 40 bytes on a UTF-8 boundary. */
static const char *describe(const sl_json_value *v, char *buf, size_t cap)
{
    size_t limit = 40, n = 0;
    bool quote = v->kind == SL_JSON_STRING;
    if (quote)
        buf[n++] = '"';
    size_t take = v->len;
    bool cut = take > limit;
    if (cut) {
        take = limit - 3;
        while (take > 0 && ((unsigned char)v->ptr[take] & 0xC0) == 0x80)
            take--;
    }
    for (size_t i = 0; i < take && n + 6 < cap; i++) {
        char c = v->ptr[i];
        buf[n++] = (unsigned char)c < 0x20 ? ' ' : c;
    }
    if (cut) {
        memcpy(buf + n, "...", 3);
        n += 3;
    } else if (quote) {
        buf[n++] = '"';
    }
    buf[n] = '\0';
    return buf;
}

/* "<value> is not a valid <Type>: <why>" */
static int fail(encoder *e, int code, const sl_json_value *v, const sl_type *t, const char *why)
{
    char val[64], nm[96];
    return sl_error_setf(e->err, code, 0, "%s is not a valid %s: %s", describe(v, val, sizeof(val)),
                         type_name(t, nm, sizeof(nm)), why);
}

static int fail_kind(encoder *e, const sl_json_value *v, const sl_type *t, const char *expected)
{
    return fail(e, SL_EVALUE, v, t, expected);
}

static int put_le(sl_buf *out, uint64_t v, size_t n)
{
    if (n > out->alloc - out->len) {
        int rc = sl_buf_reserve(out, n);
        if (rc)
            return rc;
    }
    uint8_t *o = out->data + out->len;
    out->len += n;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    switch (n) { /* constant sizes: plain stores */
    case 1: o[0] = (uint8_t)v; return 0;
    case 2: memcpy(o, &v, 2); return 0;
    case 4: memcpy(o, &v, 4); return 0;
    case 8: memcpy(o, &v, 8); return 0;
    default: break;
    }
#endif
    for (size_t i = 0; i < n; i++) {
        o[i] = (uint8_t)(v & 0xFF);
        v >>= 8;
    }
    return 0;
}

/* The decoded contents of a JSON string: the input slice when unescaped, else scratch text. */
static int string_text(encoder *e, const sl_json_value *v, sl_str *out)
{
    if (!(v->flags & SL_JSON_ESCAPED)) {
        *out = (sl_str){v->ptr, v->len};
        return 0;
    }
    e->scratch->text.len = 0;
    int rc = sl_json_decode_string(v, &e->scratch->text);
    if (rc)
        return rc;
    *out = (sl_str){(const char *)e->scratch->text.data, e->scratch->text.len};
    return 0;
}

/* The contents of a JSON string that must hold a number, date, UUID or address. ClickHouse reads
 * those without decoding escapes, so a string with escapes is refused (1) like there. */
static int raw_text(encoder *e, const sl_type *t, const sl_json_value *v, sl_str *out)
{
    if (v->flags & SL_JSON_ESCAPED)
        return fail_kind(e, v, t, "escape sequences are not accepted in this value");
    *out = (sl_str){v->ptr, v->len};
    return 0;
}

/* Number text in ClickHouse's lenient form: [+-] digits [. digits] [e [+-] digits], with digits
 * allowed on either side of the point (".5", "5.") but not both absent. */
typedef struct {
    bool neg;
    sl_str ints; /* integer digits, leading zeros stripped */
    sl_str frac; /* fraction digits */
    bool point;
    bool has_exp;
    int64_t exp; /* saturated at +-1e9 */
} num_parts;

static bool split_number(sl_str s, num_parts *np)
{
    const char *p = s.ptr, *end = s.ptr + s.len;
    memset(np, 0, sizeof(*np));
    if (p < end && (*p == '+' || *p == '-'))
        np->neg = *p++ == '-';
    const char *d = p;
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    size_t nd = (size_t)(p - d);
    while (nd > 1 && *d == '0') {
        d++;
        nd--;
    }
    np->ints = (sl_str){d, nd};
    if (p < end && *p == '.') {
        np->point = true;
        const char *f = ++p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        np->frac = (sl_str){f, (size_t)(p - f)};
    }
    if (np->ints.len == 0 && np->frac.len == 0)
        return false;
    if (p < end && (*p == 'e' || *p == 'E')) {
        np->has_exp = true;
        p++;
        bool eneg = false;
        if (p < end && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        const char *ed = p;
        int64_t x = 0;
        while (p < end && *p >= '0' && *p <= '9') {
            if (x < 1000000000)
                x = x * 10 + (*p - '0');
            p++;
        }
        if (p == ed)
            return false;
        np->exp = eneg ? -x : x;
    }
    return p == end;
}

/* Appends a JSON-valid spelling of the parsed number to the scratch text (NUL-terminated). */
static int canonical_number(encoder *e, const num_parts *np, sl_str *out)
{
    sl_buf *b = &e->scratch->text;
    b->len = 0;
    int rc = 0;
    if (np->neg)
        rc = sl_buf_append(b, "-", 1);
    if (!rc)
        rc = np->ints.len ? sl_buf_append_str(b, np->ints) : sl_buf_append(b, "0", 1);
    if (!rc && np->frac.len) {
        rc = sl_buf_append(b, ".", 1);
        if (!rc)
            rc = sl_buf_append_str(b, np->frac);
    }
    if (!rc && np->has_exp)
        rc = sl_buf_printf(b, "e%lld", (long long)np->exp);
    if (!rc)
        rc = sl_buf_reserve(b, 1);
    if (rc)
        return rc;
    b->data[b->len] = '\0';
    *out = (sl_str){(const char *)b->data, b->len};
    return 0;
}

static const char *const int_ranges[2][6] = {
    {"[0, 255]", "[0, 65535]", "[0, 4294967295]", "[0, 18446744073709551615]", "[0, 2^128 - 1]",
     "[0, 2^256 - 1]"},
    {"[-128, 127]", "[-32768, 32767]", "[-2147483648, 2147483647]",
     "[-9223372036854775808, 9223372036854775807]", "[-2^127, 2^127 - 1]", "[-2^255, 2^255 - 1]"},
};

static int fail_range(encoder *e, const sl_json_value *v, const sl_type *t)
{
    char val[64], nm[96];
    return sl_error_setf(e->err, SL_ERANGE, 0, "%s is outside %s %s", describe(v, val, sizeof(val)),
                         type_name(t, nm, sizeof(nm)),
                         int_ranges[t->is_signed][size_index(t->size)]);
}

/* ClickHouse refuses any '-' for an unsigned type, even "-0". */
static int fail_negative(encoder *e, const sl_json_value *v, const sl_type *t)
{
    size_t i = 1; /* after the '-', which starts both a number and a quoted number */
    while (i < v->len && v->ptr[i] == '0')
        i++;
    if (i == v->len)
        return fail(e, SL_ERANGE, v, t, "an unsigned type takes no '-' sign");
    return fail_range(e, v, t);
}

/* An integer from a JSON number, a quoted integer ("+12", "007") or true/false, into `bytes`
 * (little-endian two's complement of t->size bytes). */
static int int_value(encoder *e, const sl_type *t, const sl_json_value *v, uint8_t *bytes)
{
    unsigned bits = t->size * 8;
    int rc;
    switch (v->kind) {
    case SL_JSON_NUMBER:
        if (v->flags & (SL_JSON_FRACTION | SL_JSON_EXPONENT))
            return fail_kind(e, v, t, "expected a whole number without fraction or exponent");
        if (!t->is_signed && (v->flags & SL_JSON_NEGATIVE))
            return fail_negative(e, v, t);
        rc = sl_json_number_to_int(v, t->is_signed, bits, bytes);
        return rc == SL_ERANGE ? fail_range(e, v, t)
               : rc            ? fail_kind(e, v, t, "expected a whole number")
                               : 0;
    case SL_JSON_STRING: {
        sl_str s = SL_STR_NULL;
        rc = raw_text(e, t, v, &s);
        if (rc)
            return rc;
        if (sl_str_eq_cstr(s, "true") || sl_str_eq_cstr(s, "false")) {
            memset(bytes, 0, t->size);
            bytes[0] = s.len == 4;
            return 0;
        }
        num_parts np;
        if (!split_number(s, &np) || np.point || np.has_exp || np.ints.len == 0)
            return fail_kind(e, v, t, "expected a whole number");
        if (!t->is_signed && np.neg)
            return fail_negative(e, v, t);
        rc = canonical_number(e, &np, &s);
        if (rc)
            return rc;
        rc = sl_json_text_to_int(s, t->is_signed, bits, bytes);
        return rc == SL_ERANGE ? fail_range(e, v, t)
               : rc            ? fail_kind(e, v, t, "expected a whole number")
                               : 0;
    }
    case SL_JSON_TRUE:
    case SL_JSON_FALSE:
        memset(bytes, 0, t->size);
        bytes[0] = v->kind == SL_JSON_TRUE;
        return 0;
    default: return fail_kind(e, v, t, "expected a whole number");
    }
}

static bool ascii_nocase(sl_str s, const char *word)
{
    return sl_str_eq_nocase(s, word);
}

/* "nan", "inf", "infinity" with an optional sign, any case: 1 if matched. */
static int special_float(sl_str s, double *out)
{
    bool neg = false;
    if (s.len && (s.ptr[0] == '+' || s.ptr[0] == '-')) {
        neg = s.ptr[0] == '-';
        s.ptr++;
        s.len--;
    }
    if (ascii_nocase(s, "nan")) {
        *out = neg ? -NAN : NAN;
        return 1;
    }
    if (ascii_nocase(s, "inf") || ascii_nocase(s, "infinity")) {
        *out = neg ? -INFINITY : INFINITY;
        return 1;
    }
    return 0;
}

/* A float from number text (JSON or quoted): the text is first put in JSON's syntax. */
static int float_from_text(encoder *e, const sl_type *t, const sl_json_value *v, sl_str text,
                           double *out)
{
    static const char *const why = "expected a number, \"nan\", \"inf\" or \"-inf\"";
    num_parts np;
    if (!split_number(text, &np))
        return fail_kind(e, v, t, why);
    int rc = canonical_number(e, &np, &text);
    if (rc)
        return rc;
    if (t->kind == SL_TYPE_FLOAT32) {
        /* strtof rounds the decimal text straight to float (no double rounding); the canonical
         * text uses only the C locale's number syntax. */
        float f = strtof(text.ptr, NULL);
        if (isinf(f))
            return fail(e, SL_ERANGE, v, t, "the number is too large (would be infinity)");
        *out = f;
        return 0;
    }
    rc = sl_json_text_to_double(text, out);
    if (rc == SL_ERANGE)
        return fail(e, SL_ERANGE, v, t, "the number is too large (would be infinity)");
    return rc ? fail_kind(e, v, t, why) : 0;
}

/* Whether a correctly rounded double d, converted to float, gives the float nearest to the
 * decimal it came from. Float midpoints are doubles, and rounding is monotonic, so d can only
 * land on the wrong side of one by landing on it; such a d (and zero, subnormal or overflowing
 * floats, whose grid differs) is left to strtof. */
static bool float_from_double_ok(double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    double a = fabs(d);
    return a >= 0x1p-126 && a <= 0x1.fffffep127 && (u & 0x1FFFFFFFu) != 0x10000000u;
}

static int encode_float(encoder *e, const sl_type *t, const sl_json_value *v)
{
    bool f32 = t->kind == SL_TYPE_FLOAT32;
    double d = 0;
    sl_str text = SL_STR_NULL;
    int rc = 0;
    switch (v->kind) {
    case SL_JSON_TRUE:
    case SL_JSON_FALSE: d = v->kind == SL_JSON_TRUE; break;
    case SL_JSON_NUMBER:
        if (f32) {
            if (sl_json_number_to_double(v, &d) == 0 && float_from_double_ok(d))
                break;
            rc = float_from_text(e, t, v, (sl_str){v->ptr, v->len}, &d);
            break;
        }
        rc = sl_json_number_to_double(v, &d);
        if (rc == SL_ERANGE)
            return fail(e, SL_ERANGE, v, t, "the number is too large (would be infinity)");
        if (rc)
            return fail_kind(e, v, t, "expected a number");
        break;
    case SL_JSON_STRING:
        rc = raw_text(e, t, v, &text);
        if (rc || special_float(text, &d))
            break;
        if (sl_str_eq_cstr(text, "true") || sl_str_eq_cstr(text, "false"))
            d = text.len == 4;
        else
            rc = float_from_text(e, t, v, text, &d);
        break;
    default: return fail_kind(e, v, t, "expected a number");
    }
    if (rc)
        return rc;
    if (f32) {
        float f = (float)d;
        uint32_t u;
        memcpy(&u, &f, 4);
        return put_le(e->out, u, 4);
    }
    uint64_t u;
    memcpy(&u, &d, 8);
    return put_le(e->out, u, 8);
}

/* Exact decimal conversion: the digits of the text scaled by 10^scale, truncated toward zero
 * like ClickHouse, as a little-endian integer of t->size bytes. No floating point. */
static int encode_decimal(encoder *e, const sl_type *t, const sl_json_value *v)
{
    sl_str text = SL_STR_NULL;
    int rc;
    if (v->kind == SL_JSON_NUMBER) {
        text = (sl_str){v->ptr, v->len};
    } else if (v->kind == SL_JSON_STRING) {
        rc = raw_text(e, t, v, &text);
        if (rc)
            return rc;
    } else {
        return fail_kind(e, v, t, "expected a decimal number");
    }
    num_parts np;
    if (!split_number(text, &np))
        return fail_kind(e, v, t, "expected a decimal number");
    /* value = D * 10^shift where D is the concatenated digits; shift >= 0 appends zeros,
     * shift < 0 drops that many trailing digits. */
    int64_t shift = np.exp - (int64_t)np.frac.len + (int64_t)t->scale;
    size_t total = np.ints.len + np.frac.len;
    uint32_t limbs[9] = {0}; /* 288 bits: room for 77 digits before the precision check */
    size_t sig = 0;          /* significant digits so far */
    /* Up to 18 digits (Decimal32/64) the value fits a uint64: no limbs. */
    bool small = t->precision <= 18;
    uint64_t acc = 0;
    size_t keep = total;
    if (shift < 0)
        keep = (int64_t)total + shift > 0 ? (size_t)((int64_t)total + shift) : 0;
    char msg[128];
    for (size_t i = 0; i < keep; i++) {
        char c = i < np.ints.len ? np.ints.ptr[i] : np.frac.ptr[i - np.ints.len];
        if (sig == 0 && c == '0')
            continue;
        if (++sig > t->precision)
            goto too_big;
        uint64_t carry = (uint64_t)(c - '0');
        if (small) {
            acc = acc * 10 + carry;
            continue;
        }
        for (size_t k = 0; k < 9; k++) {
            uint64_t x = (uint64_t)limbs[k] * 10 + carry;
            limbs[k] = (uint32_t)x;
            carry = x >> 32;
        }
    }
    if (sig == 0 && np.exp > (int64_t)t->precision)
        goto too_big; /* ClickHouse refuses 0e1000 too */
    if (shift > 0 && sig > 0) {
        if ((uint64_t)shift + sig > t->precision)
            goto too_big;
        for (int64_t z = 0; small && z < shift; z++)
            acc *= 10;
        for (int64_t z = 0; !small && z < shift; z++) {
            uint64_t carry = 0;
            for (size_t k = 0; k < 9; k++) {
                uint64_t x = (uint64_t)limbs[k] * 10 + carry;
                limbs[k] = (uint32_t)x;
                carry = x >> 32;
            }
        }
    }
    if (small) {
        if (np.neg)
            acc = (uint64_t)0 - acc;
        rc = sl_buf_reserve(e->out, t->size);
        if (rc)
            return rc;
        for (size_t i = 0; i < t->size; i++)
            e->out->data[e->out->len++] = (uint8_t)(acc >> (8 * i));
        return 0;
    }
    if (np.neg && sig > 0) {
        uint64_t carry = 1;
        for (size_t k = 0; k < 9; k++) {
            uint64_t x = (uint64_t)(uint32_t)~limbs[k] + carry;
            limbs[k] = (uint32_t)x;
            carry = x >> 32;
        }
    }
    rc = sl_buf_reserve(e->out, t->size);
    if (rc)
        return rc;
    for (size_t i = 0; i < t->size; i++)
        e->out->data[e->out->len++] = (uint8_t)(limbs[i / 4] >> (8 * (i % 4)));
    return 0;
too_big:
    snprintf(msg, sizeof(msg), "more than %u digits (at most %u before the point)", t->precision,
             t->precision - t->scale);
    return fail(e, SL_ERANGE, v, t, msg);
}

static int encode_bool(encoder *e, const sl_type *t, const sl_json_value *v)
{
    uint8_t b;
    if (v->kind == SL_JSON_TRUE || v->kind == SL_JSON_FALSE)
        b = v->kind == SL_JSON_TRUE;
    else if (v->kind == SL_JSON_NUMBER && v->len == 1 && (v->ptr[0] == '0' || v->ptr[0] == '1'))
        b = v->ptr[0] == '1';
    else
        return fail_kind(e, v, t, "expected true, false, 1 or 0");
    return sl_buf_append(e->out, &b, 1);
}

static int encode_string(encoder *e, const sl_json_value *v)
{
    sl_buf *out = e->out;
    switch (v->kind) {
    case SL_JSON_STRING:
        if (!(v->flags & SL_JSON_ESCAPED))
            return sl_buf_append_rb_string(out, v->ptr, v->len);
        break;
    case SL_JSON_NUMBER:
    case SL_JSON_TRUE:
    case SL_JSON_FALSE: return sl_buf_append_rb_string(out, v->ptr, v->len);
    case SL_JSON_OBJECT:
    case SL_JSON_ARRAY:
        if (!(v->flags & SL_JSON_WHITESPACE))
            return sl_buf_append_rb_string(out, v->ptr, v->len);
        break;
    default: return SL_EINVAL;
    }
    sl_buf *tmp = &e->scratch->text;
    tmp->len = 0;
    int rc = v->kind == SL_JSON_STRING ? sl_json_decode_string(v, tmp) : sl_json_compact(v, tmp);
    return rc ? rc : sl_buf_append_rb_string(out, tmp->data, tmp->len);
}

static int encode_fixed(encoder *e, const sl_type *t, const sl_json_value *v)
{
    if (v->kind != SL_JSON_STRING)
        return fail_kind(e, v, t, "expected a JSON string");
    sl_str s = SL_STR_NULL;
    int rc = string_text(e, v, &s);
    if (rc)
        return rc;
    if (s.len > t->size) {
        char msg[96];
        snprintf(msg, sizeof(msg), "it is %zu bytes, longer than %u", s.len, t->size);
        return fail(e, SL_EVALUE, v, t, msg);
    }
    rc = sl_buf_reserve(e->out, t->size);
    if (rc)
        return rc;
    if (s.len)
        memcpy(e->out->data + e->out->len, s.ptr, s.len);
    memset(e->out->data + e->out->len + s.len, 0, t->size - s.len);
    e->out->len += t->size;
    return 0;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

static int encode_uuid(encoder *e, const sl_type *t, const sl_json_value *v)
{
    static const char *const why = "expected a UUID like 8f14e45f-ceea-467f-a0e6-6f8b1a2b3c4d";
    if (v->kind != SL_JSON_STRING)
        return fail_kind(e, v, t, why);
    sl_str s = SL_STR_NULL;
    int rc = raw_text(e, t, v, &s);
    if (rc)
        return rc;
    bool dashed = s.len == 36;
    if (!dashed && s.len != 32)
        return fail_kind(e, v, t, why);
    if (dashed && (s.ptr[8] != '-' || s.ptr[13] != '-' || s.ptr[18] != '-' || s.ptr[23] != '-'))
        return fail_kind(e, v, t, why);
    uint8_t b[16];
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (dashed && (i == 8 || i == 13 || i == 18 || i == 23))
            continue;
        int hi = hexval(s.ptr[i]), lo = i + 1 < s.len ? hexval(s.ptr[i + 1]) : -1;
        if (hi < 0 || lo < 0)
            return fail_kind(e, v, t, why);
        b[n++] = (uint8_t)(hi << 4 | lo);
        i++;
    }
    /* Two little-endian UInt64 halves, the high half (first 8 bytes of the text) first. */
    rc = sl_buf_reserve(e->out, 16);
    if (rc)
        return rc;
    for (int half = 0; half < 2; half++) {
        for (int i = 7; i >= 0; i--)
            e->out->data[e->out->len++] = b[half * 8 + i];
    }
    return 0;
}

/* Dotted quad with 1-3 decimal digits per part (leading zeros are decimal, as in ClickHouse). */
static bool parse_ipv4(sl_str s, uint32_t *out)
{
    uint32_t v = 0;
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part) {
            if (i >= s.len || s.ptr[i] != '.')
                return false;
            i++;
        }
        unsigned x = 0, digits = 0;
        while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9' && digits < 3) {
            x = x * 10 + (unsigned)(s.ptr[i] - '0');
            i++;
            digits++;
        }
        if (!digits || x > 255)
            return false;
        v = v << 8 | x;
    }
    *out = v;
    return i == s.len;
}

/* RFC 4291 text: hex groups, at most one "::", an optional trailing dotted quad. */
static bool parse_ipv6(sl_str s, uint8_t out[16])
{
    uint16_t groups[8];
    int n = 0, gap = -1;
    size_t i = 0;
    if (s.len >= 2 && s.ptr[0] == ':' && s.ptr[1] == ':') {
        gap = 0;
        i = 2;
    } else if (s.len && s.ptr[0] == ':') {
        return false;
    }
    while (i < s.len) {
        if (n >= 8)
            return false;
        size_t start = i;
        unsigned x = 0;
        while (i < s.len && i - start < 5 && hexval(s.ptr[i]) >= 0)
            x = x << 4 | (unsigned)hexval(s.ptr[i++]);
        if (i < s.len && s.ptr[i] == '.') {
            /* Embedded IPv4 takes the last two groups. */
            uint32_t v4;
            if (n > 6 || !parse_ipv4((sl_str){s.ptr + start, s.len - start}, &v4))
                return false;
            groups[n++] = (uint16_t)(v4 >> 16);
            groups[n++] = (uint16_t)v4;
            i = s.len;
            break;
        }
        if (i == start || i - start > 4)
            return false;
        groups[n++] = (uint16_t)x;
        if (i == s.len)
            break;
        if (s.ptr[i] != ':')
            return false;
        i++;
        if (i < s.len && s.ptr[i] == ':') {
            if (gap >= 0)
                return false;
            gap = n;
            i++;
        } else if (i == s.len) {
            return false; /* trailing single ':' */
        }
    }
    if (gap < 0 ? n != 8 : n > 7)
        return false;
    memset(out, 0, 16);
    int tail = gap < 0 ? 0 : n - gap;
    for (int g = 0; g < n; g++) {
        int pos = gap < 0 || g < gap ? g : 8 - tail + (g - gap);
        out[2 * pos] = (uint8_t)(groups[g] >> 8);
        out[2 * pos + 1] = (uint8_t)groups[g];
    }
    return true;
}

static int encode_ip(encoder *e, const sl_type *t, const sl_json_value *v)
{
    bool v6 = t->kind == SL_TYPE_IPV6;
    const char *why = v6 ? "expected an IPv6 address like 2001:db8::1 (or IPv4 text)"
                         : "expected an IPv4 address like 192.168.0.1";
    if (v->kind != SL_JSON_STRING)
        return fail_kind(e, v, t, why);
    sl_str s = SL_STR_NULL;
    int rc = raw_text(e, t, v, &s);
    if (rc)
        return rc;
    uint32_t v4;
    if (!v6) {
        if (!parse_ipv4(s, &v4))
            return fail_kind(e, v, t, why);
        return put_le(e->out, v4, 4);
    }
    uint8_t b[16];
    if (memchr(s.ptr, ':', s.len) == NULL) {
        /* IPv4 text in an IPv6 column: the IPv4-mapped address ::ffff:a.b.c.d. */
        if (!parse_ipv4(s, &v4))
            return fail_kind(e, v, t, why);
        memset(b, 0, 10);
        b[10] = b[11] = 0xFF;
        for (int k = 0; k < 4; k++)
            b[12 + k] = (uint8_t)(v4 >> (24 - 8 * k));
    } else if (!parse_ipv6(s, b)) {
        return fail_kind(e, v, t, why);
    }
    return sl_buf_append(e->out, b, 16);
}

static int encode_enum(encoder *e, const sl_type *t, const sl_json_value *v)
{
    int64_t value;
    char msg[96];
    if (v->kind == SL_JSON_STRING) {
        sl_str s = SL_STR_NULL;
        int rc = string_text(e, v, &s);
        if (rc)
            return rc;
        for (uint32_t i = 0; i < t->n_enum; i++) {
            if (sl_str_eq(s, t->enum_names[i]))
                return put_le(e->out, (uint64_t)(int64_t)t->enum_values[i], t->size);
        }
        /* Not a name: ClickHouse then reads the text as the numeric value. */
        num_parts np;
        if (!split_number(s, &np) || np.point || np.has_exp || np.ints.len == 0 || np.ints.len > 6)
            return fail_kind(e, v, t, "not one of the enum's names");
        value = 0;
        for (size_t i = 0; i < np.ints.len; i++)
            value = value * 10 + (np.ints.ptr[i] - '0');
        value = np.neg ? -value : value;
    } else if (v->kind == SL_JSON_NUMBER) {
        uint8_t b[8];
        if ((v->flags & (SL_JSON_FRACTION | SL_JSON_EXPONENT)) ||
            sl_json_number_to_int(v, true, 64, b))
            return fail_kind(e, v, t, "expected one of the enum's names or values");
        uint64_t u = 0;
        for (int i = 7; i >= 0; i--)
            u = u << 8 | b[i];
        value = (int64_t)u;
    } else {
        return fail_kind(e, v, t, "expected one of the enum's names or values");
    }
    for (uint32_t i = 0; i < t->n_enum; i++) {
        if (t->enum_values[i] == value)
            return put_le(e->out, (uint64_t)value, t->size);
    }
    snprintf(msg, sizeof(msg), "%lld is not one of the enum's values", (long long)value);
    return fail_kind(e, v, t, msg);
}

/* The zone of a DateTime column from the scratch cache, loading it on first use; NULL = UTC. */
static int zone_for(encoder *e, const sl_type *t, const sl_tz **out)
{
    *out = NULL;
    sl_str name = t->timezone;
    if (name.len == 0 || (name.len == 3 && memcmp(name.ptr, "UTC", 3) == 0))
        return 0;
    sl_encode_scratch *s = e->scratch;
    for (uint32_t i = 0; i < s->n_zones; i++) {
        if (strlen(s->zones[i].name) == name.len &&
            memcmp(s->zones[i].name, name.ptr, name.len) == 0) {
            *out = s->zones[i].tz;
            return 0;
        }
    }
    if (name.len >= SL_TYPE_TZ_NAME_MAX)
        return sl_error_set(e->err, SL_EINVAL, "time zone name too long", 0);
    sl_tz *tz = NULL;
    int rc = sl_tz_load(name, &tz, e->err);
    if (rc)
        return rc;
    uint32_t slot;
    if (s->n_zones < SL_ENCODE_TZ_CACHE) {
        slot = s->n_zones++;
    } else {
        slot = s->next_zone;
        s->next_zone = (s->next_zone + 1) % SL_ENCODE_TZ_CACHE;
        sl_tz_free(s->zones[slot].tz);
    }
    memcpy(s->zones[slot].name, name.ptr, name.len);
    s->zones[slot].name[name.len] = '\0';
    s->zones[slot].tz = tz;
    *out = tz;
    return 0;
}

/* Rewrites an error from sl_datetime as "<value> is not a valid <Type>: <their reason>". */
static int fail_datetime(encoder *e, int code, const sl_json_value *v, const sl_type *t)
{
    char why[200];
    snprintf(why, sizeof(why), "%s", e->err && e->err->msg ? e->err->msg : sl_strerror(code));
    return fail(e, code == SL_ERANGE ? SL_ERANGE : SL_EVALUE, v, t, why);
}

/* A JSON integer (no fraction or exponent) as int64, for day and epoch numbers. */
static int whole_number(encoder *e, const sl_type *t, const sl_json_value *v, int64_t *out)
{
    uint8_t b[8];
    if (v->flags & (SL_JSON_FRACTION | SL_JSON_EXPONENT))
        return fail_kind(e, v, t,
                         t->kind == SL_TYPE_DATE || t->kind == SL_TYPE_DATE32
                             ? "expected a date string or a whole number of days"
                             : "expected a date-time string or a whole number (epoch)");
    if (sl_json_number_to_int(v, true, 64, b))
        return fail(e, SL_ERANGE, v, t, "the number is out of range");
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--)
        u = u << 8 | b[i];
    *out = (int64_t)u;
    return 0;
}

static int encode_date(encoder *e, const sl_type *t, const sl_json_value *v)
{
    bool d32 = t->kind == SL_TYPE_DATE32;
    int64_t days;
    int rc;
    if (v->kind == SL_JSON_STRING) {
        sl_str s = SL_STR_NULL;
        rc = raw_text(e, t, v, &s);
        if (rc)
            return rc;
        rc = sl_datetime_parse_date(s, &days, e->err);
        if (rc)
            return fail_datetime(e, rc, v, t);
    } else if (v->kind == SL_JSON_NUMBER) {
        rc = whole_number(e, t, v, &days);
        if (rc)
            return rc;
    } else {
        return fail_kind(e, v, t, "expected a date string like 2024-01-31 or a number of days");
    }
    rc = sl_date_check(days, d32, e->err);
    if (rc)
        return fail_datetime(e, rc, v, t);
    return d32 ? put_le(e->out, (uint64_t)days, 4) : put_le(e->out, (uint64_t)days, 2);
}

static int64_t pow10i(unsigned n)
{
    int64_t p = 1;
    while (n--)
        p *= 10;
    return p;
}

static int encode_datetime(encoder *e, const sl_type *t, const sl_json_value *v)
{
    bool dt64 = t->kind == SL_TYPE_DATETIME64;
    sl_instant at = {0, 0};
    const sl_tz *tz = NULL;
    int rc;
    if (v->kind == SL_JSON_STRING) {
        sl_str s = SL_STR_NULL;
        rc = raw_text(e, t, v, &s);
        if (rc)
            return rc;
        rc = zone_for(e, t, &tz);
        if (rc)
            return rc;
        rc = dt64 ? sl_datetime_parse_text64(s, tz, &at, e->err)
                  : sl_datetime_parse_text(s, tz, &at, e->err);
        if (rc)
            return fail_datetime(e, rc, v, t);
    } else if (v->kind == SL_JSON_NUMBER) {
        /* ClickHouse reads a JSON integer as seconds for DateTime and as ticks (units of
         * 10^-scale s) for DateTime64. */
        int64_t n;
        rc = whole_number(e, t, v, &n);
        if (rc)
            return rc;
        if (dt64) {
            int64_t per = pow10i(t->scale);
            int64_t sec = n / per, rem = n % per;
            if (rem < 0) {
                rem += per;
                sec--;
            }
            at.seconds = sec;
            at.nanos = (uint32_t)(rem * pow10i(9 - t->scale));
        } else {
            at.seconds = n;
        }
    } else {
        return fail_kind(e, v, t,
                         "expected a date-time string like 2024-01-31 12:00:00 or a unix epoch");
    }
    if (dt64) {
        /* The range is checked on the column's wall clock, as ClickHouse shows it. */
        if (v->kind == SL_JSON_NUMBER && (rc = zone_for(e, t, &tz)) != 0)
            return rc;
        int64_t ticks;
        rc = sl_datetime64_to_ticks_tz(&at, t->scale, tz, &ticks, e->err);
        if (rc)
            return fail_datetime(e, rc, v, t);
        return put_le(e->out, (uint64_t)ticks, 8);
    }
    uint32_t secs;
    rc = sl_datetime_to_seconds(&at, &secs, e->err);
    if (rc)
        return fail_datetime(e, rc, v, t);
    return put_le(e->out, secs, 4);
}

static int encode_value(encoder *e, const sl_type *t, const sl_json_value *v, bool nested);

/* Arrays and maps without whitespace (validated already) have exactly one ',' between items and
 * ':' after keys, so their items are read with the inline scanners and no iterator calls. */

static int encode_array(encoder *e, const sl_type *t, const sl_json_value *v)
{
    if (v->kind != SL_JSON_ARRAY)
        return fail_kind(e, v, t, "expected a JSON array");
    sl_json_cursor c;
    sl_json_cursor_init(&c, v->ptr, v->len, NULL);
    size_t at = e->out->len;
    int rc = sl_buf_append(e->out, "", 1);
    uint64_t count = 0;
    if (!(v->flags & SL_JSON_WHITESPACE)) {
        const char *last = v->ptr + v->len - 1; /* the ']' */
        c.p = v->ptr + 1;
        c.depth = 1;
        while (!rc && c.p < last) {
            sl_json_value elem;
            rc = sl_json_scan_value_fast(&c, &elem);
            if (!rc)
                rc = encode_value(e, t->children[0], &elem, true);
            count++;
            c.p += c.p < last; /* the ',' */
        }
        return rc ? rc : sl_buf_patch_varuint(e->out, at, count);
    }
    if (!rc)
        rc = sl_json_array_begin(&c);
    while (!rc && (rc = sl_json_array_next(&c)) == 1) {
        sl_json_value elem;
        rc = sl_json_scan_value(&c, &elem);
        if (!rc)
            rc = encode_value(e, t->children[0], &elem, true);
        count++;
    }
    return rc ? rc : sl_buf_patch_varuint(e->out, at, count);
}

static int encode_map(encoder *e, const sl_type *t, const sl_json_value *v)
{
    if (v->kind != SL_JSON_OBJECT)
        return fail_kind(e, v, t, "expected a JSON object");
    sl_json_cursor c;
    sl_json_cursor_init(&c, v->ptr, v->len, NULL);
    size_t at = e->out->len;
    int rc = sl_buf_append(e->out, "", 1);
    uint64_t count = 0;
    sl_json_value key, val;
    if (!(v->flags & SL_JSON_WHITESPACE)) {
        const char *last = v->ptr + v->len - 1; /* the '}' */
        c.p = v->ptr + 1;
        c.depth = 1;
        while (!rc && c.p < last) {
            rc = sl_json_scan_value_fast(&c, &key);
            if (!rc)
                rc = encode_value(e, t->children[0], &key, true);
            c.p++; /* the ':' */
            if (!rc)
                rc = sl_json_scan_value_fast(&c, &val);
            if (!rc)
                rc = encode_value(e, t->children[1], &val, true);
            count++;
            c.p += c.p < last; /* the ',' */
        }
        return rc ? rc : sl_buf_patch_varuint(e->out, at, count);
    }
    if (!rc)
        rc = sl_json_object_begin(&c);
    while (!rc && (rc = sl_json_object_next(&c, &key)) == 1) {
        key.kind = SL_JSON_STRING;
        rc = encode_value(e, t->children[0], &key, true);
        if (!rc)
            rc = sl_json_scan_value(&c, &val);
        if (!rc)
            rc = encode_value(e, t->children[1], &val, true);
        count++;
    }
    return rc ? rc : sl_buf_patch_varuint(e->out, at, count);
}

/* A tuple element that has no value: Nullable gives NULL, Array and Map their empty value;
 * anything else is rejected (sluice does not invent a 0 or "" where ClickHouse would). */
static int encode_absent(encoder *e, const sl_type *tuple, uint32_t i)
{
    const sl_type *t = tuple->children[i];
    if (t->kind == SL_TYPE_NULLABLE)
        return sl_buf_append(e->out, "\x01", 1);
    if (t->kind == SL_TYPE_LOW_CARDINALITY && t->children[0]->kind == SL_TYPE_NULLABLE)
        return sl_buf_append(e->out, "\x01", 1);
    int rc = sl_type_encode_empty(t, e->out);
    if (rc)
        return rc < 0 ? rc : 0;
    char nm[96];
    return sl_error_setf(e->err, SL_EVALUE, 0,
                         "the object has no element '%.*s' of %s; send one or make it Nullable",
                         (int)(tuple->names[i].len > 40 ? 40 : tuple->names[i].len),
                         tuple->names[i].ptr, type_name(tuple, nm, sizeof(nm)));
}

static int encode_tuple(encoder *e, const sl_type *t, const sl_json_value *v)
{
    sl_json_cursor c;
    sl_json_cursor_init(&c, v->ptr, v->len, NULL);
    int rc;
    if (!t->names) {
        if (v->kind != SL_JSON_ARRAY)
            return fail_kind(e, v, t, "expected a JSON array with one value per element");
        rc = sl_json_array_begin(&c);
        uint32_t i = 0;
        while (!rc && (rc = sl_json_array_next(&c)) == 1) {
            sl_json_value elem;
            rc = sl_json_scan_value(&c, &elem);
            if (!rc && i >= t->n_children)
                rc = 2;
            if (!rc)
                rc = encode_value(e, t->children[i], &elem, true);
            i++;
        }
        if (rc == 2 || (rc == 0 && i != t->n_children)) {
            char msg[64];
            snprintf(msg, sizeof(msg), "expected an array of %u values", t->n_children);
            return fail_kind(e, v, t, msg);
        }
        return rc;
    }
    if (v->kind != SL_JSON_OBJECT)
        return fail_kind(e, v, t, "expected a JSON object with the element names as keys");
    /* Members arrive in any order: find each element's value first, then encode in order.
     * The values are stacked in scratch so nested tuples need no allocation once warm. */
    sl_buf *st = &e->scratch->stack;
    size_t base = st->len, n = t->n_children;
    rc = sl_buf_reserve(st, n * sizeof(sl_json_value));
    if (rc)
        return rc;
    sl_json_value none = {.kind = SL_JSON_NONE};
    for (size_t i = 0; i < n; i++)
        memcpy(st->data + base + i * sizeof(none), &none, sizeof(none));
    st->len = base + n * sizeof(none);
    rc = sl_json_object_begin(&c);
    sl_json_value key;
    while (!rc && (rc = sl_json_object_next(&c, &key)) == 1) {
        size_t i = 0;
        while (i < n && !sl_json_key_equals(&key, t->names[i]))
            i++;
        sl_json_value val;
        rc = sl_json_scan_value(&c, &val);
        if (rc || i == n)
            continue; /* unknown keys are ignored, as ClickHouse does */
        sl_json_value *slot = (sl_json_value *)(void *)(st->data + base + i * sizeof(val));
        if (slot->kind != SL_JSON_NONE) {
            char msg[96];
            snprintf(msg, sizeof(msg), "the key '%.*s' appears twice",
                     (int)(t->names[i].len > 40 ? 40 : t->names[i].len), t->names[i].ptr);
            rc = fail_kind(e, v, t, msg);
            break;
        }
        *slot = val;
    }
    for (uint32_t i = 0; !rc && i < n; i++) {
        sl_json_value val;
        memcpy(&val, st->data + base + i * sizeof(val), sizeof(val));
        rc = val.kind == SL_JSON_NONE ? encode_absent(e, t, i)
                                      : encode_value(e, t->children[i], &val, true);
    }
    st->len = base;
    return rc;
}

static int encode_value(encoder *e, const sl_type *t, const sl_json_value *v, bool nested)
{
    if (v->kind == SL_JSON_NULL && t->kind != SL_TYPE_NULLABLE &&
        !(t->kind == SL_TYPE_LOW_CARDINALITY && t->children[0]->kind == SL_TYPE_NULLABLE)) {
        char nm[96];
        type_name(t, nm, sizeof(nm));
        if (!nested)
            return sl_error_setf(e->err, SL_EMISSING, 0, "null is not a valid %s", nm);
        return sl_error_setf(e->err, SL_EVALUE, 0,
                             "null is not a valid %s (only Nullable(...) accepts null)", nm);
    }
    switch (t->kind) {
    case SL_TYPE_STRING: return encode_string(e, v);
    case SL_TYPE_FIXED_STRING: return encode_fixed(e, t, v);
    case SL_TYPE_BOOL: return encode_bool(e, t, v);
    case SL_TYPE_INT: {
        if (v->kind == SL_JSON_NUMBER && t->size <= 8 &&
            !(v->flags & (SL_JSON_FRACTION | SL_JSON_EXPONENT))) {
            /* A JSON integer of at most 19 digits, in range: the value int_value gives. */
            bool neg = (v->flags & SL_JSON_NEGATIVE) != 0;
            size_t n = v->len - neg;
            unsigned bits = t->size * 8;
            uint64_t limit = !t->is_signed ? (bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1)
                                           : ((uint64_t)1 << (bits - 1)) - (neg ? 0 : 1);
            uint64_t m = n <= 19 ? sl_json_digits_value(v->ptr + neg, n) : UINT64_MAX;
            if (n <= 19 && m <= limit && (t->is_signed || !neg))
                return put_le(e->out, neg ? (uint64_t)0 - m : m, t->size);
        }
        uint8_t b[32];
        int rc = int_value(e, t, v, b);
        return rc ? rc : sl_buf_append(e->out, b, t->size);
    }
    case SL_TYPE_FLOAT32:
    case SL_TYPE_FLOAT64: return encode_float(e, t, v);
    case SL_TYPE_DECIMAL: return encode_decimal(e, t, v);
    case SL_TYPE_DATE:
    case SL_TYPE_DATE32: return encode_date(e, t, v);
    case SL_TYPE_DATETIME:
    case SL_TYPE_DATETIME64: return encode_datetime(e, t, v);
    case SL_TYPE_UUID: return encode_uuid(e, t, v);
    case SL_TYPE_IPV4:
    case SL_TYPE_IPV6: return encode_ip(e, t, v);
    case SL_TYPE_ENUM: return encode_enum(e, t, v);
    case SL_TYPE_LOW_CARDINALITY: return encode_value(e, t->children[0], v, nested);
    case SL_TYPE_NULLABLE: {
        uint8_t flag = v->kind == SL_JSON_NULL;
        int rc = sl_buf_append(e->out, &flag, 1);
        return rc || flag ? rc : encode_value(e, t->children[0], v, nested);
    }
    case SL_TYPE_ARRAY: return encode_array(e, t, v);
    case SL_TYPE_TUPLE: return encode_tuple(e, t, v);
    case SL_TYPE_MAP: return encode_map(e, t, v);
    case SL_TYPE_JSON:
        if (v->kind != SL_JSON_OBJECT)
            return fail_kind(e, v, t, "expected a JSON object");
        return encode_string(e, v);
    }
    return SL_EINVAL;
}

int sl_type_encode(const sl_type *t, const sl_json_value *v, sl_encode_scratch *scratch,
                   sl_buf *out, sl_error *err)
{
    encoder e = {.scratch = scratch, .out = out, .err = err};
    int rc = encode_value(&e, t, v, false);
    if (rc == SL_ETOOBIG || rc == SL_ENOMEM || (rc && err && err->code != rc))
        sl_error_set(err, rc, NULL, 0);
    return rc;
}
