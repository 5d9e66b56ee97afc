/* Byte slices, error values, capped buffers and arenas shared by every module. */
#include "sl_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sl_str sl_str_from_cstr(const char *s)
{
    return (sl_str){s, s ? strlen(s) : 0};
}

bool sl_str_eq(sl_str a, sl_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

bool sl_str_eq_cstr(sl_str a, const char *s)
{
    return sl_str_eq(a, sl_str_from_cstr(s));
}

bool sl_str_eq_nocase(sl_str a, const char *s)
{
    size_t n = strlen(s);
    if (a.len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a.ptr[i], y = (unsigned char)s[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y + 32);
        if (x != y)
            return false;
    }
    return true;
}

const char *sl_strerror(int code)
{
    switch (code) {
    case 0: return "ok";
#define SL_ERROR_CASE(name, value, msg)                                                            \
    case value: return msg;
        SL_ERRORS(SL_ERROR_CASE)
#undef SL_ERROR_CASE
    default: return "unknown error";
    }
}

int sl_error_set(sl_error *err, int code, const char *msg, size_t offset)
{
    if (err) {
        err->code = code;
        err->msg = msg ? msg : sl_strerror(code);
        err->offset = offset;
    }
    return code;
}

int sl_error_setf(sl_error *err, int code, size_t offset, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
        va_end(ap);
        err->code = code;
        err->msg = err->detail;
        err->offset = offset;
    }
    return code;
}

void sl_fatal(const char *what)
{
    fprintf(stderr, "sluice: fatal: %s\n", what);
    abort();
}

void *sl_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        sl_fatal("out of memory");
    return p;
}

void *sl_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        sl_fatal("out of memory");
    return p;
}

void *sl_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        sl_fatal("out of memory");
    return q;
}

/* ---- sl_buf ---- */

void sl_buf_init(sl_buf *b, size_t cap)
{
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap ? cap : SIZE_MAX;
}

void sl_buf_free(sl_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->alloc = 0;
}

int sl_buf_reserve(sl_buf *b, size_t extra)
{
    if (extra <= b->alloc - b->len)
        return 0;
    if (extra > b->cap - b->len)
        return SL_ETOOBIG;
    size_t need = b->len + extra;
    size_t n = b->alloc ? b->alloc : 256;
    while (n < need)
        n = n > SIZE_MAX / 2 ? need : n * 2;
    if (n > b->cap)
        n = b->cap;
    uint8_t *p = realloc(b->data, n);
    if (!p)
        return SL_ENOMEM;
    b->data = p;
    b->alloc = n;
    return 0;
}

int sl_buf_append(sl_buf *b, const void *p, size_t n)
{
    int rc = sl_buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int sl_buf_append_str(sl_buf *b, sl_str s)
{
    return sl_buf_append(b, s.ptr, s.len);
}

int sl_buf_append_cstr(sl_buf *b, const char *s)
{
    return sl_buf_append(b, s, strlen(s));
}

int sl_buf_printf(sl_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return SL_EINVAL;
    int rc = sl_buf_reserve(b, (size_t)n + 1);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int sl_buf_append_varuint(sl_buf *b, uint64_t v)
{
    int rc = sl_buf_reserve(b, 10);
    if (rc)
        return rc;
    while (v >= 0x80) {
        b->data[b->len++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b->data[b->len++] = (uint8_t)v;
    return 0;
}

int sl_buf_patch_varuint(sl_buf *b, size_t at, uint64_t v)
{
    if (v < 0x80) {
        b->data[at] = (uint8_t)v;
        return 0;
    }
    uint8_t tmp[10];
    size_t k = 0;
    for (uint64_t x = v; x >= 0x80; x >>= 7)
        tmp[k++] = (uint8_t)(x | 0x80);
    tmp[k] = (uint8_t)(v >> (7 * k));
    k++;
    int rc = sl_buf_reserve(b, k - 1);
    if (rc)
        return rc;
    memmove(b->data + at + k, b->data + at + 1, b->len - at - 1);
    memcpy(b->data + at, tmp, k);
    b->len += k - 1;
    return 0;
}

int sl_buf_append_rb_string(sl_buf *b, const void *p, size_t n)
{
    int rc = sl_buf_reserve(b, n + 10);
    if (rc)
        return rc;
    sl_buf_append_varuint(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int sl_buf_append_json_string(sl_buf *b, const void *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = s;
    int rc = sl_buf_reserve(b, n + 2);
    if (rc)
        return rc;
    b->data[b->len++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        char esc[6];
        size_t k = 0;
        if (c == '"' || c == '\\') {
            esc[k++] = '\\';
            esc[k++] = (char)c;
        } else if (c == '\n') {
            esc[k++] = '\\';
            esc[k++] = 'n';
        } else if (c == '\t') {
            esc[k++] = '\\';
            esc[k++] = 't';
        } else if (c == '\r') {
            esc[k++] = '\\';
            esc[k++] = 'r';
        } else if (c < 0x20) {
            memcpy(esc, "\\u00", 4);
            k = 4;
            esc[k++] = hex[c >> 4];
            esc[k++] = hex[c & 15];
        } else {
            esc[k++] = (char)c;
        }
        if ((rc = sl_buf_append(b, esc, k)) != 0)
            return rc;
    }
    return sl_buf_append(b, "\"", 1);
}

/* ---- sl_arena ---- */

struct sl_arena_block {
    sl_arena_block *next;
    size_t used;
    size_t size;
    _Alignas(16) unsigned char mem[];
};

void sl_arena_init(sl_arena *a)
{
    a->head = NULL;
}

void sl_arena_free(sl_arena *a)
{
    if (!a)
        return;
    sl_arena_block *b = a->head;
    while (b) {
        sl_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}

void *sl_arena_alloc(sl_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    sl_arena_block *b = a->head;
    if (!b || b->size - b->used < n) {
        size_t size = n > 4096 ? n : 4096;
        b = sl_xmalloc(sizeof(*b) + size);
        b->used = 0;
        b->size = size;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->mem + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

sl_str sl_arena_dup(sl_arena *a, sl_str s)
{
    char *p = sl_arena_alloc(a, s.len + 1);
    if (s.len)
        memcpy(p, s.ptr, s.len);
    p[s.len] = '\0';
    return (sl_str){p, s.len};
}

char *sl_arena_strdup(sl_arena *a, const char *s)
{
    return (char *)sl_arena_dup(a, sl_str_from_cstr(s)).ptr;
}
