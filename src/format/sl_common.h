/* Shared vocabulary of every sluice module: byte slices, error codes and the error struct,
 * a capped growable byte buffer, and an arena for data that lives as long as its owner.
 * Nothing here does I/O. */
#ifndef SL_COMMON_H
#define SL_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A slice of bytes that someone else owns. Never assumed to be NUL-terminated. */
typedef struct {
    const char *ptr;
    size_t len;
} sl_str;

#define SL_STR(lit) ((sl_str){(lit), sizeof(lit) - 1})
#define SL_STR_NULL ((sl_str){NULL, 0})

sl_str sl_str_from_cstr(const char *s);
bool sl_str_eq(sl_str a, sl_str b);
bool sl_str_eq_cstr(sl_str a, const char *s);
/* ASCII case-insensitive comparison. */
bool sl_str_eq_nocase(sl_str a, const char *s);

/* Error codes. One table makes the enum and the default messages. Codes are negative. */
#define SL_ERRORS(X)                                                                               \
    X(SL_ENOMEM, -1, "out of memory")                                                              \
    X(SL_ETOOBIG, -2, "size limit exceeded")                                                       \
    X(SL_ESYNTAX, -3, "syntax error")                                                              \
    X(SL_EJSON, -4, "invalid JSON")                                                                \
    X(SL_EUTF8, -5, "invalid UTF-8")                                                               \
    X(SL_EDEPTH, -6, "nesting too deep")                                                           \
    X(SL_ETYPE, -7, "unsupported or malformed type")                                               \
    X(SL_EPATH, -8, "invalid JSONPath")                                                            \
    X(SL_EVALUE, -9, "value does not fit the column type")                                         \
    X(SL_ERANGE, -10, "value out of range")                                                        \
    X(SL_EMISSING, -11, "value missing")                                                           \
    X(SL_ESCHEMA, -12, "invalid schema")                                                           \
    X(SL_EIO, -13, "input/output error")                                                           \
    X(SL_EINVAL, -14, "invalid argument")

enum {
#define SL_ERROR_ENUM(name, code, msg) name = code,
    SL_ERRORS(SL_ERROR_ENUM)
#undef SL_ERROR_ENUM
};

/* The default message of an error code; never NULL. */
const char *sl_strerror(int code);

/* What went wrong, where. `msg` points to static text or to `detail` (filled by the producer).
 * `line` and `column` are 1-based (0 = unknown); `offset` is the byte offset in the input. */
typedef struct {
    int code;
    const char *msg;
    uint32_t line;
    uint32_t column;
    size_t offset;
    char detail[200];
} sl_error;

/* Sets code/msg/offset; returns code so producers can `return sl_error_set(...)`.
 * Safe with err == NULL. */
int sl_error_set(sl_error *err, int code, const char *msg, size_t offset);
/* Like sl_error_set with a formatted message stored in err->detail. */
int sl_error_setf(sl_error *err, int code, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A growable byte buffer with a hard cap. Growth past `cap` fails with SL_ETOOBIG and leaves
 * the content untouched; callers turn that into 413/503, never an abort.
 * The buffer owns `data`; sl_buf_free releases it. Not thread-safe. */
typedef struct {
    uint8_t *data;
    size_t len;
    size_t alloc;
    size_t cap; /* 0 = SIZE_MAX */
} sl_buf;

void sl_buf_init(sl_buf *b, size_t cap);
void sl_buf_free(sl_buf *b);
/* Makes room for at least `extra` more bytes. 0 or SL_ENOMEM / SL_ETOOBIG. */
int sl_buf_reserve(sl_buf *b, size_t extra);
int sl_buf_append(sl_buf *b, const void *p, size_t n);
int sl_buf_append_str(sl_buf *b, sl_str s);
int sl_buf_append_cstr(sl_buf *b, const char *s);
int sl_buf_printf(sl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends a ClickHouse LEB128 length (RowBinary string and array prefix). */
int sl_buf_append_varuint(sl_buf *b, uint64_t v);
/* Writes varuint `v` at `at`, where the caller reserved one placeholder byte (for a count known
 * only after the items were written); a value of 128 or more moves what follows up to make room
 * for its longer encoding. 0 or an error from growing the buffer. */
int sl_buf_patch_varuint(sl_buf *b, size_t at, uint64_t v);
/* Appends a RowBinary String: varuint length then bytes. */
int sl_buf_append_rb_string(sl_buf *b, const void *p, size_t n);

/* Appends `s` as a JSON string literal with quotes; bytes are copied as they are (the caller
 * passes UTF-8), quotes, backslashes and control characters are escaped. */
int sl_buf_append_json_string(sl_buf *b, const void *s, size_t n);

/* Unchecked appends for hot paths: the caller reserved the room with sl_buf_reserve. */
static inline void sl_buf_put_u8(sl_buf *b, uint8_t v)
{
    b->data[b->len++] = v;
}

/* An arena: many small allocations freed together. Memory is 16-byte aligned.
 * Allocation failure aborts through sl_fatal (arenas hold schemas, not client-driven data). */
typedef struct sl_arena_block sl_arena_block;
typedef struct {
    sl_arena_block *head;
} sl_arena;

void sl_arena_init(sl_arena *a);
void sl_arena_free(sl_arena *a);
void *sl_arena_alloc(sl_arena *a, size_t n); /* zeroed */
sl_str sl_arena_dup(sl_arena *a, sl_str s);  /* copy with a NUL after it */
char *sl_arena_strdup(sl_arena *a, const char *s);

/* Reports an internal failure (allocation of fixed-size internal state) and aborts. */
_Noreturn void sl_fatal(const char *what);

/* malloc/realloc that abort through sl_fatal instead of returning NULL. Only for internal,
 * bounded allocations; client-driven growth goes through sl_buf. */
void *sl_xmalloc(size_t n);
void *sl_xcalloc(size_t n, size_t size);
void *sl_xrealloc(void *p, size_t n);

#endif
