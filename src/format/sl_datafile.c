/* The .datasource parser and printer. The file is read line by line at the top level (keys,
 * `NAME >` blocks, comments); a SCHEMA block is scanned as one stream of columns split at
 * top-level commas, so a column may span lines. Every error names its line and column. */
#include "sl_datafile.h"

#include "sl_jsonpath.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *p; /* the whole file */
    size_t len;
    sl_error *err;
    sl_datafile *df;
} ctx;

/* Values of the simple keys, in print order. */
typedef struct {
    const char *key;
    size_t field; /* offsetof in sl_datafile */
} key_field;

static const key_field engine_keys[] = {
    {"ENGINE", offsetof(sl_datafile, engine)},
    {"ENGINE_PARTITION_KEY", offsetof(sl_datafile, engine_partition_key)},
    {"ENGINE_SORTING_KEY", offsetof(sl_datafile, engine_sorting_key)},
    {"ENGINE_PRIMARY_KEY", offsetof(sl_datafile, engine_primary_key)},
    {"ENGINE_TTL", offsetof(sl_datafile, engine_ttl)},
    {"ENGINE_VER", offsetof(sl_datafile, engine_ver)},
    {"ENGINE_SIGN", offsetof(sl_datafile, engine_sign)},
    {"ENGINE_VERSION", offsetof(sl_datafile, engine_version)},
    {"ENGINE_IS_DELETED", offsetof(sl_datafile, engine_is_deleted)},
    {"ENGINE_SETTINGS", offsetof(sl_datafile, engine_settings)},
};
#define N_ENGINE_KEYS (sizeof(engine_keys) / sizeof(engine_keys[0]))

static const char *const merge_tree_engines[] = {
    "MergeTree",           "ReplacingMergeTree",
    "SummingMergeTree",    "AggregatingMergeTree",
    "CollapsingMergeTree", "VersionedCollapsingMergeTree",
};

#define KNOWN_KEYS                                                                                 \
    "SCHEMA, DESCRIPTION, INDEXES, TOKEN, ENGINE, ENGINE_{SORTING_KEY, PARTITION_KEY, "            \
    "PRIMARY_KEY, TTL, SETTINGS, VER, SIGN, VERSION, IS_DELETED}"

static sl_str *field_at(sl_datafile *df, size_t off)
{
    return (sl_str *)(void *)((char *)df + off);
}

static const sl_str *cfield_at(const sl_datafile *df, size_t off)
{
    return (const sl_str *)(const void *)((const char *)df + off);
}

/* ---- errors ---- */

static void line_col(const ctx *c, size_t pos, uint32_t *line, uint32_t *col)
{
    uint32_t l = 1;
    size_t bol = 0;
    for (size_t i = 0; i < pos && i < c->len; i++)
        if (c->p[i] == '\n') {
            l++;
            bol = i + 1;
        }
    *line = l;
    *col = (uint32_t)(pos - bol + 1);
}

__attribute__((format(printf, 4, 5))) static int fail(ctx *c, size_t pos, int code, const char *fmt,
                                                      ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    uint32_t line, col;
    line_col(c, pos, &line, &col);
    sl_error_setf(c->err, code, pos, "line %u, column %u: %s", line, col, msg);
    if (c->err) {
        c->err->line = line;
        c->err->column = col;
    }
    return code;
}

/* A name for messages: at most 40 bytes of it. */
#define SHOW(s) (int)((s).len > 40 ? 40 : (s).len), (s).ptr

/* ---- small scanning helpers ---- */

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r';
}

static bool is_word_char(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '_';
}

static size_t line_end(const ctx *c, size_t pos)
{
    const char *nl = memchr(c->p + pos, '\n', c->len - pos);
    return nl ? (size_t)(nl - c->p) : c->len;
}

static sl_str trim(sl_str s)
{
    while (s.len && is_space(s.ptr[0])) {
        s.ptr++;
        s.len--;
    }
    while (s.len && is_space(s.ptr[s.len - 1]))
        s.len--;
    return s;
}

static bool blank(sl_str s)
{
    return trim(s).len == 0;
}

/* Position of a `--` comment outside quotes in [s, e), or e. */
static size_t comment_start(const char *p, size_t s, size_t e)
{
    char q = 0;
    for (size_t i = s; i < e; i++) {
        char ch = p[i];
        if (q) {
            if (ch == '\\' && q == '\'' && i + 1 < e)
                i++;
            else if (ch == q)
                q = 0;
        } else if (ch == '\'' || ch == '"' || ch == '`') {
            q = ch;
        } else if (ch == '-' && i + 1 < e && p[i + 1] == '-') {
            return i;
        }
    }
    return e;
}

/* Case-insensitive keyword at p[i..] that ends at a non-word byte. */
static bool keyword_at(const char *p, size_t i, size_t e, const char *kw)
{
    size_t n = strlen(kw);
    if (e - i < n || (i + n < e && is_word_char(p[i + n])))
        return false;
    return sl_str_eq_nocase((sl_str){p + i, n}, kw);
}

/* ---- top-level values ---- */

/* The value after a key on its line: "..." or '...' (outer quotes stripped, nothing unescaped),
 * optionally followed by a `--` comment; or bare text up to a `--` comment, trimmed. */
static sl_str key_value(const ctx *c, size_t s, size_t e)
{
    sl_str v = trim((sl_str){c->p + s, e - s});
    if (v.len >= 2 && (v.ptr[0] == '"' || v.ptr[0] == '\'')) {
        char q = v.ptr[0];
        if (v.ptr[v.len - 1] == q)
            return (sl_str){v.ptr + 1, v.len - 2};
        for (size_t i = 1; i < v.len; i++) {
            if (v.ptr[i] != q)
                continue;
            size_t j = i + 1;
            while (j < v.len && is_space(v.ptr[j]))
                j++;
            if (j + 1 < v.len && v.ptr[j] == '-' && v.ptr[j + 1] == '-')
                return (sl_str){v.ptr + 1, i - 1};
        }
    }
    size_t vs = (size_t)(v.ptr - c->p);
    size_t ce = comment_start(c->p, vs, vs + v.len);
    return trim((sl_str){v.ptr, ce - vs});
}

/* ---- the SCHEMA block ---- */

typedef struct {
    size_t pos, end; /* scanning [pos, end) of the file */
} span;

/* Skips whitespace, newlines and `--` comments. */
static void skip_ws(const ctx *c, span *s)
{
    while (s->pos < s->end) {
        char ch = c->p[s->pos];
        if (is_space(ch) || ch == '\n') {
            s->pos++;
        } else if (ch == '-' && s->pos + 1 < s->end && c->p[s->pos + 1] == '-') {
            size_t le = line_end(c, s->pos);
            s->pos = le < s->end ? le : s->end;
        } else {
            break;
        }
    }
}

enum { STOP_TYPE, STOP_EXPR, STOP_CODEC };

static bool is_stop_keyword(const ctx *c, size_t i, size_t e, int mode)
{
    const char *p = c->p;
    if (i > 0 && is_word_char(p[i - 1]))
        return false;
    if (keyword_at(p, i, e, "CODEC")) {
        size_t j = i + 5;
        while (j < e && (is_space(p[j]) || p[j] == '\n'))
            j++;
        if (j < e && p[j] == '(')
            return true;
    }
    if (keyword_at(p, i, e, "DEFAULT"))
        return true;
    if (mode == STOP_TYPE) {
        static const char *const kws[] = {"MATERIALIZED", "ALIAS", "EPHEMERAL",
                                          "COMMENT",      "TTL",   "NOT"};
        for (size_t k = 0; k < sizeof(kws) / sizeof(kws[0]); k++)
            if (keyword_at(p, i, e, kws[k]))
                return true;
    }
    return false;
}

/* Scans a type, a DEFAULT expression or the inside of CODEC(...) from s->pos up to the first
 * terminator at depth 0: ',' or '`' (types and expressions: a `json:` path; inside a quoted
 * identifier otherwise), a stop keyword, ')' for CODEC, or the end of the block. Comments are
 * dropped and whitespace runs holding a newline or comment become one space. The text is copied
 * into the arena; *exact tells whether it is the source bytes unchanged (for error offsets). */
static int scan_text(ctx *c, span *s, int mode, const char *what, sl_str *out, bool *exact)
{
    sl_buf b;
    sl_buf_init(&b, 0);
    int depth = 0;
    size_t start = s->pos;
    bool changed = false;
    size_t i = s->pos;
    while (i < s->end) {
        char ch = c->p[i];
        if (ch == '\'' || ch == '"' || (ch == '`' && (depth > 0 || mode != STOP_TYPE))) {
            if (ch == '`' && depth == 0 && mode == STOP_EXPR && s->end - i >= 6 &&
                memcmp(c->p + i + 1, "json:", 5) == 0)
                break;
            size_t j = i + 1;
            while (j < s->end && c->p[j] != ch && c->p[j] != '\n') {
                if (c->p[j] == '\\' && j + 1 < s->end && c->p[j + 1] != '\n')
                    j++;
                j++;
            }
            if (j >= s->end || c->p[j] != ch) {
                sl_buf_free(&b);
                return fail(c, i, SL_ESCHEMA, "unterminated %s in %s (quotes cannot span lines)",
                            ch == '\'' ? "string" : "quoted identifier", what);
            }
            sl_buf_append(&b, c->p + i, j + 1 - i);
            i = j + 1;
            continue;
        }
        if (ch == '`' && depth == 0)
            break;
        if (depth == 0 && ch == ',' && mode != STOP_CODEC)
            break;
        if (ch == '(') {
            depth++;
        } else if (ch == ')') {
            if (depth == 0) {
                if (mode == STOP_CODEC)
                    break;
                sl_buf_free(&b);
                return fail(c, i, SL_ESCHEMA, "unbalanced ')' in %s", what);
            }
            depth--;
        }
        if (depth == 0 && mode != STOP_CODEC && (ch >= 'A' && ch <= 'z') &&
            is_stop_keyword(c, i, s->end, mode))
            break;
        if (is_space(ch) || ch == '\n' || (ch == '-' && i + 1 < s->end && c->p[i + 1] == '-')) {
            /* A whitespace run, possibly with comments and newlines. */
            size_t j = i;
            bool plain = true;
            while (j < s->end) {
                if (is_space(c->p[j])) {
                    j++;
                } else if (c->p[j] == '\n') {
                    plain = false;
                    j++;
                } else if (c->p[j] == '-' && j + 1 < s->end && c->p[j + 1] == '-') {
                    plain = false;
                    size_t le = line_end(c, j);
                    j = le < s->end ? le : s->end;
                } else {
                    break;
                }
            }
            if (!plain && depth == 0 && mode != STOP_CODEC) {
                /* A type or expression ends at the end of its line (or at a comment). */
                i = j;
                break;
            }
            if (plain) {
                sl_buf_append(&b, c->p + i, j - i);
            } else {
                changed = true;
                sl_buf_append(&b, " ", 1);
            }
            i = j;
            continue;
        }
        sl_buf_append(&b, &ch, 1);
        i++;
    }
    if (depth > 0) {
        sl_buf_free(&b);
        return fail(c, start, SL_ESCHEMA, "unbalanced '(' in %s (missing ')')", what);
    }
    s->pos = i;
    sl_str t = trim((sl_str){(const char *)b.data, b.len});
    *exact = !changed && t.len <= c->len - start &&
             (t.len == 0 || memcmp(t.ptr, c->p + start, t.len) == 0);
    *out = sl_arena_dup(&c->df->arena, t);
    sl_buf_free(&b);
    return 0;
}

/* The default path of a column: "$.name", or "$.['name']" when the name needs quoting. */
static sl_str default_path(sl_arena *a, sl_str name)
{
    bool plain = name.len > 0;
    for (size_t i = 0; i < name.len; i++) {
        char ch = name.ptr[i];
        if (!is_word_char(ch) && ch != '-')
            plain = false;
    }
    sl_buf b;
    sl_buf_init(&b, 0);
    if (plain) {
        sl_buf_append_cstr(&b, "$.");
        sl_buf_append_str(&b, name);
    } else {
        sl_buf_append_cstr(&b, "$.['");
        for (size_t i = 0; i < name.len; i++) {
            if (name.ptr[i] == '\'' || name.ptr[i] == '\\')
                sl_buf_append(&b, "\\", 1);
            sl_buf_append(&b, name.ptr + i, 1);
        }
        sl_buf_append_cstr(&b, "']");
    }
    sl_str r = sl_arena_dup(a, (sl_str){(const char *)b.data, b.len});
    sl_buf_free(&b);
    return r;
}

static int parse_column(ctx *c, span *s, sl_column *col, sl_arena *scratch)
{
    const char *p = c->p;
    sl_str name;
    if (p[s->pos] == '`') {
        size_t j = s->pos + 1;
        while (j < s->end && p[j] != '`' && p[j] != '\n')
            j++;
        if (j >= s->end || p[j] != '`')
            return fail(c, s->pos, SL_ESCHEMA,
                        "unterminated column name (missing closing backtick)");
        name = (sl_str){p + s->pos + 1, j - s->pos - 1};
        if (name.len == 0)
            return fail(c, s->pos, SL_ESCHEMA, "empty column name");
        s->pos = j + 1;
    } else {
        size_t j = s->pos;
        while (j < s->end && is_word_char(p[j]))
            j++;
        if (j == s->pos || (p[s->pos] >= '0' && p[s->pos] <= '9'))
            return fail(c, s->pos, SL_ESCHEMA,
                        "expected a column name (letters, digits and '_', or `backticked`)");
        name = (sl_str){p + s->pos, j - s->pos};
        s->pos = j;
    }
    col->name = sl_arena_dup(&c->df->arena, name);
    skip_ws(c, s);
    size_t type_pos = s->pos;
    bool exact;
    int rc = scan_text(c, s, STOP_TYPE, "the type", &col->type_text, &exact);
    if (rc)
        return rc;
    if (col->type_text.len == 0)
        return fail(c, type_pos, SL_ESCHEMA, "expected a column type after the name `%.*s`",
                    SHOW(name));
    sl_error terr = {0};
    rc = sl_type_parse(col->type_text, &c->df->arena, &col->type, &terr);
    if (rc) {
        char m[160];
        snprintf(m, sizeof(m), "%s", terr.msg ? terr.msg : sl_strerror(rc));
        size_t at = exact && terr.offset <= col->type_text.len ? type_pos + terr.offset : type_pos;
        return fail(c, at, SL_ETYPE, "in the type of `%.*s`: %s", SHOW(name), m);
    }
    bool has_path = false;
    size_t path_pos = 0;
    for (;;) {
        skip_ws(c, s);
        if (s->pos >= s->end || p[s->pos] == ',')
            break;
        size_t at = s->pos;
        if (p[at] == '`') {
            if (s->end - at < 6 || memcmp(p + at + 1, "json:", 5) != 0)
                return fail(c, at, SL_ESCHEMA, "expected a `json:<path>` after the type of `%.*s`",
                            SHOW(name));
            if (has_path)
                return fail(c, at, SL_ESCHEMA, "column `%.*s` has two `json:` paths", SHOW(name));
            size_t j = at + 6;
            while (j < s->end && p[j] != '`' && p[j] != '\n')
                j++;
            if (j >= s->end || p[j] != '`')
                return fail(c, at, SL_ESCHEMA,
                            "unterminated `json:` path (missing closing backtick)");
            sl_str raw = {p + at + 6, j - at - 6};
            sl_str path = trim(raw);
            path_pos = (size_t)(path.ptr - p);
            if (path.len == 0)
                return fail(c, at, SL_EPATH, "empty `json:` path of `%.*s`", SHOW(name));
            col->jsonpath = sl_arena_dup(&c->df->arena, path);
            col->jsonpath_given = true;
            has_path = true;
            s->pos = j + 1;
        } else if (keyword_at(p, at, s->end, "DEFAULT")) {
            if (col->has_default)
                return fail(c, at, SL_ESCHEMA, "column `%.*s` has two DEFAULT expressions",
                            SHOW(name));
            s->pos = at + 7;
            skip_ws(c, s);
            size_t epos = at + 7;
            rc = scan_text(c, s, STOP_EXPR, "the DEFAULT expression", &col->default_expr, &exact);
            if (rc)
                return rc;
            if (col->default_expr.len == 0)
                return fail(c, epos, SL_ESCHEMA, "expected an expression after DEFAULT");
            col->has_default = true;
        } else if (is_stop_keyword(c, at, s->end, STOP_EXPR)) { /* CODEC( */
            if (col->codec.len)
                return fail(c, at, SL_ESCHEMA, "column `%.*s` has two CODECs", SHOW(name));
            size_t j = at + 5;
            while (p[j] != '(')
                j++;
            s->pos = j + 1;
            size_t cpos = s->pos;
            rc = scan_text(c, s, STOP_CODEC, "CODEC(...)", &col->codec, &exact);
            if (rc)
                return rc;
            if (s->pos >= s->end || p[s->pos] != ')')
                return fail(c, cpos, SL_ESCHEMA, "expected ')' to close CODEC(");
            if (col->codec.len == 0)
                return fail(c, cpos, SL_ESCHEMA, "expected codecs inside CODEC(...)");
            s->pos++;
        } else {
            size_t j = at;
            while (j < s->end && is_word_char(p[j]))
                j++;
            if (j > at && is_stop_keyword(c, at, s->end, STOP_TYPE))
                return fail(c, at, SL_ESCHEMA, "%.*s is not supported in a column definition",
                            (int)(j - at), p + at);
            if (j > at)
                return fail(c, at, SL_ESCHEMA,
                            "expected ',' between columns, DEFAULT, CODEC(...) or a `json:` "
                            "path after `%.*s`",
                            SHOW(name));
            return fail(c, at, SL_ESCHEMA,
                        "expected ',', DEFAULT, CODEC(...) or a `json:` path after the type "
                        "of `%.*s`",
                        SHOW(name));
        }
    }
    if (has_path) {
        const sl_jsonpath *jp;
        sl_error perr = {0};
        rc = sl_jsonpath_parse(col->jsonpath, scratch, &jp, &perr);
        if (rc) {
            char m[160];
            snprintf(m, sizeof(m), "%s", perr.msg ? perr.msg : sl_strerror(rc));
            size_t at = perr.offset <= col->jsonpath.len ? path_pos + perr.offset : path_pos;
            return fail(c, at, SL_EPATH, "in the `json:` path of `%.*s`: %s", SHOW(name), m);
        }
    } else {
        col->jsonpath = default_path(&c->df->arena, col->name);
    }
    return 0;
}

typedef struct {
    sl_column *v;
    size_t n, cap;
} col_list;

static int parse_schema(ctx *c, size_t start, size_t end, size_t key_pos, col_list *cols)
{
    span s = {start, end};
    sl_arena scratch;
    sl_arena_init(&scratch);
    int rc = 0;
    for (;;) {
        skip_ws(c, &s);
        if (s.pos >= s.end)
            break;
        if (c->p[s.pos] == ',') {
            rc = fail(c, s.pos, SL_ESCHEMA, "expected a column before ','");
            break;
        }
        if (cols->n == cols->cap) {
            cols->cap = cols->cap ? cols->cap * 2 : 16;
            cols->v = sl_xrealloc(cols->v, cols->cap * sizeof(*cols->v));
        }
        sl_column *col = &cols->v[cols->n];
        memset(col, 0, sizeof(*col));
        size_t col_pos = s.pos;
        rc = parse_column(c, &s, col, &scratch);
        if (rc)
            break;
        for (size_t k = 0; k < cols->n; k++)
            if (sl_str_eq(cols->v[k].name, col->name)) {
                rc = fail(c, col_pos, SL_ESCHEMA, "duplicate column name `%.*s`", SHOW(col->name));
                break;
            }
        if (rc)
            break;
        cols->n++;
        if (s.pos < s.end && c->p[s.pos] == ',')
            s.pos++;
    }
    sl_arena_free(&scratch);
    if (rc == 0 && cols->n == 0)
        rc = fail(c, key_pos, SL_ESCHEMA, "SCHEMA has no columns");
    return rc;
}

/* ---- blocks ---- */

/* The lines of a `NAME >` block: from the line after the key to the last indented or blank line
 * before the next non-indented one. Returns the end offset (start of the next top-level line). */
static size_t block_end(const ctx *c, size_t start)
{
    size_t pos = start;
    while (pos < c->len) {
        size_t le = line_end(c, pos);
        sl_str line = {c->p + pos, le - pos};
        if (!blank(line) && !is_space(line.ptr[0]))
            break;
        pos = le < c->len ? le + 1 : le;
    }
    return pos;
}

/* Dedented text of a DESCRIPTION block: lines keep their relative indentation and inner blank
 * lines; leading and trailing blank lines are dropped. */
static sl_str block_text(ctx *c, size_t start, size_t end)
{
    size_t indent = SIZE_MAX;
    for (size_t pos = start; pos < end;) {
        size_t le = line_end(c, pos);
        sl_str line = {c->p + pos, le - pos};
        if (!blank(line)) {
            size_t n = 0;
            while (n < line.len && is_space(line.ptr[n]))
                n++;
            if (n < indent)
                indent = n;
        }
        pos = le + 1;
    }
    sl_buf b;
    sl_buf_init(&b, 0);
    size_t pending = 0; /* blank lines not yet written */
    for (size_t pos = start; pos < end;) {
        size_t le = line_end(c, pos);
        sl_str line = {c->p + pos, le - pos};
        pos = le + 1;
        if (blank(line)) {
            pending++;
            continue;
        }
        if (b.len) {
            for (size_t k = 0; k <= pending; k++)
                sl_buf_append(&b, "\n", 1);
        }
        pending = 0;
        sl_str t = {line.ptr + indent, line.len - indent};
        while (t.len && is_space(t.ptr[t.len - 1]))
            t.len--;
        sl_buf_append_str(&b, t);
    }
    sl_str r = sl_arena_dup(&c->df->arena, (sl_str){(const char *)b.data, b.len});
    sl_buf_free(&b);
    return r;
}

/* A block given to a one-line key: its lines, comments dropped, joined by single spaces. */
static sl_str block_joined(ctx *c, size_t start, size_t end)
{
    sl_buf b;
    sl_buf_init(&b, 0);
    for (size_t pos = start; pos < end;) {
        size_t le = line_end(c, pos);
        size_t ce = comment_start(c->p, pos, le);
        sl_str t = trim((sl_str){c->p + pos, ce - pos});
        pos = le + 1;
        if (!t.len)
            continue;
        if (b.len)
            sl_buf_append(&b, " ", 1);
        sl_buf_append_str(&b, t);
    }
    sl_str r = sl_arena_dup(&c->df->arena, (sl_str){(const char *)b.data, b.len});
    sl_buf_free(&b);
    return r;
}

static void parse_indexes(ctx *c, size_t start, size_t end, sl_str **out, size_t *n_out)
{
    size_t n = 0, cap = 0;
    sl_str *v = NULL;
    for (size_t pos = start; pos < end;) {
        size_t le = line_end(c, pos);
        size_t ce = comment_start(c->p, pos, le);
        sl_str t = trim((sl_str){c->p + pos, ce - pos});
        while (t.len && (t.ptr[t.len - 1] == ',' || is_space(t.ptr[t.len - 1])))
            t.len--;
        pos = le + 1;
        if (!t.len)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 4;
            v = sl_xrealloc(v, cap * sizeof(*v));
        }
        v[n++] = sl_arena_dup(&c->df->arena, t);
    }
    *out = sl_arena_alloc(&c->df->arena, (n ? n : 1) * sizeof(sl_str));
    if (n)
        memcpy(*out, v, n * sizeof(sl_str));
    *n_out = n;
    free(v);
}

/* ---- top level ---- */

static int parse_token(ctx *c, size_t pos, size_t le, sl_datafile_token *tok)
{
    const char *p = c->p;
    while (pos < le && is_space(p[pos]))
        pos++;
    size_t name_pos = pos;
    sl_str name;
    if (pos < le && (p[pos] == '"' || p[pos] == '\'')) {
        char q = p[pos];
        size_t j = pos + 1;
        while (j < le && p[j] != q)
            j++;
        if (j >= le)
            return fail(c, pos, SL_ESCHEMA, "unterminated token name (missing closing %c)", q);
        name = (sl_str){p + pos + 1, j - pos - 1};
        pos = j + 1;
    } else {
        size_t j = pos;
        while (j < le && !is_space(p[j]))
            j++;
        name = (sl_str){p + pos, j - pos};
        pos = j;
    }
    if (name.len == 0)
        return fail(c, name_pos, SL_ESCHEMA, "expected a token name after TOKEN");
    for (size_t i = 0; i < name.len; i++) {
        char ch = name.ptr[i];
        if (!is_word_char(ch) && ch != '-' && ch != '.' && ch != ':' && ch != '@' && ch != '/')
            return fail(c, name_pos, SL_ESCHEMA,
                        "a token name may hold only letters, digits and _ - . : @ /");
    }
    while (pos < le && is_space(p[pos]))
        pos++;
    size_t perm_pos = pos;
    size_t j = pos;
    while (j < le && is_word_char(p[j]))
        j++;
    sl_str perm = {p + pos, j - pos};
    if (sl_str_eq_nocase(perm, "APPEND"))
        tok->perm = SL_TOKEN_APPEND;
    else if (sl_str_eq_nocase(perm, "READ"))
        tok->perm = SL_TOKEN_READ;
    else
        return fail(c, perm_pos, SL_ESCHEMA, "expected APPEND or READ after the token name");
    size_t ce = comment_start(p, j, le);
    if (!blank((sl_str){p + j, ce - j}))
        return fail(c, j, SL_ESCHEMA, "expected the end of the line after TOKEN ... %s",
                    tok->perm == SL_TOKEN_APPEND ? "APPEND" : "READ");
    tok->name = sl_arena_dup(&c->df->arena, name);
    return 0;
}

static int check_engine(ctx *c, size_t pos, sl_str engine)
{
    for (size_t i = 0; i < sizeof(merge_tree_engines) / sizeof(merge_tree_engines[0]); i++)
        if (sl_str_eq_cstr(engine, merge_tree_engines[i]))
            return 0;
    return fail(c, pos, SL_ESCHEMA,
                "ENGINE must be a MergeTree-family engine (MergeTree, ReplacingMergeTree, "
                "SummingMergeTree, AggregatingMergeTree, [Versioned]CollapsingMergeTree), not "
                "'%.*s'",
                SHOW(engine));
}

static int parse_file(ctx *c)
{
    sl_datafile *df = c->df;
    const char *p = c->p;
    size_t seen[N_ENGINE_KEYS] = {0}; /* line start + 1 of each key, 0 = not seen */
    size_t seen_schema = 0, seen_desc = 0, seen_idx = 0;
    col_list cols = {0};
    size_t nt = 0, capt = 0;
    sl_datafile_token *toks = NULL;
    int rc = 0;

    for (size_t i = 0; i < c->len; i++) {
        unsigned char ch = (unsigned char)p[i];
        if ((ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r') || ch == 0x7f) {
            rc = fail(c, i, SL_ESCHEMA, "unexpected control byte 0x%02x", ch);
            goto out;
        }
    }

    size_t pos = 0;
    while (pos < c->len) {
        size_t le = line_end(c, pos);
        sl_str line = {p + pos, le - pos};
        size_t next = le < c->len ? le + 1 : le;
        if (blank(line) || line.ptr[0] == '#' ||
            (line.len >= 2 && line.ptr[0] == '-' && line.ptr[1] == '-')) {
            pos = next;
            continue;
        }
        if (is_space(line.ptr[0])) {
            size_t at = pos;
            while (is_space(p[at]))
                at++;
            rc = fail(c, at, SL_ESCHEMA,
                      "unexpected indented line outside a block (blocks start with a line like "
                      "'SCHEMA >')");
            goto out;
        }
        size_t kend = pos;
        while (kend < le && is_word_char(p[kend]))
            kend++;
        sl_str key = {p + pos, kend - pos};
        if (key.len == 0) {
            rc = fail(c, pos, SL_ESCHEMA, "expected a key such as SCHEMA or ENGINE");
            goto out;
        }
        size_t vpos = kend;
        while (vpos < le && is_space(p[vpos]))
            vpos++;
        if (vpos == kend && vpos < le && p[vpos] != '>') {
            rc = fail(c, kend, SL_ESCHEMA, "expected a space or '>' after %.*s", SHOW(key));
            goto out;
        }
        bool is_block = false;
        if (vpos < le && p[vpos] == '>') {
            size_t ce = comment_start(p, vpos + 1, le);
            if (!blank((sl_str){p + vpos + 1, ce - vpos - 1})) {
                rc = fail(c, vpos + 1, SL_ESCHEMA,
                          "expected the end of the line after '%.*s >' (the block goes on the "
                          "following, indented lines)",
                          SHOW(key));
                goto out;
            }
            is_block = true;
        }
        size_t bstart = next, bend = is_block ? block_end(c, next) : next;
        if (is_block)
            next = bend;

        if (sl_str_eq_nocase(key, "SCHEMA")) {
            if (!is_block) {
                rc = fail(c, vpos, SL_ESCHEMA,
                          "SCHEMA takes an indented block: write 'SCHEMA >' and the columns on "
                          "the following lines");
                goto out;
            }
            if (seen_schema) {
                rc = fail(c, pos, SL_ESCHEMA, "SCHEMA given twice");
                goto out;
            }
            seen_schema = pos + 1;
            rc = parse_schema(c, bstart, bend, pos, &cols);
            if (rc)
                goto out;
        } else if (sl_str_eq_nocase(key, "INDEXES")) {
            if (!is_block) {
                rc = fail(c, vpos, SL_ESCHEMA,
                          "INDEXES takes an indented block: write 'INDEXES >' and one index per "
                          "line");
                goto out;
            }
            if (seen_idx) {
                rc = fail(c, pos, SL_ESCHEMA, "INDEXES given twice");
                goto out;
            }
            seen_idx = pos + 1;
            parse_indexes(c, bstart, bend, &df->indexes, &df->n_indexes);
        } else if (sl_str_eq_nocase(key, "DESCRIPTION")) {
            if (seen_desc) {
                rc = fail(c, pos, SL_ESCHEMA, "DESCRIPTION given twice");
                goto out;
            }
            seen_desc = pos + 1;
            df->description = is_block ? block_text(c, bstart, bend)
                                       : sl_arena_dup(&df->arena, trim(key_value(c, vpos, le)));
        } else if (sl_str_eq_nocase(key, "TOKEN")) {
            if (is_block) {
                rc = fail(c, vpos, SL_ESCHEMA, "TOKEN takes a name and APPEND or READ");
                goto out;
            }
            if (nt == capt) {
                capt = capt ? capt * 2 : 4;
                toks = sl_xrealloc(toks, capt * sizeof(*toks));
            }
            rc = parse_token(c, vpos, le, &toks[nt]);
            if (rc)
                goto out;
            nt++;
        } else {
            size_t k = 0;
            while (k < N_ENGINE_KEYS && !sl_str_eq_nocase(key, engine_keys[k].key))
                k++;
            if (k == N_ENGINE_KEYS) {
                if (key.len > 6 && sl_str_eq_nocase((sl_str){key.ptr, 6}, "KAFKA_"))
                    rc = fail(c, pos, SL_ESCHEMA,
                              "%.*s: sluice has no Kafka connector; remove the KAFKA_* keys",
                              SHOW(key));
                else if (key.len > 7 && sl_str_eq_nocase((sl_str){key.ptr, 7}, "IMPORT_"))
                    rc = fail(c, pos, SL_ESCHEMA,
                              "%.*s: sluice has no import connectors; remove the IMPORT_* keys",
                              SHOW(key));
                else
                    rc = fail(c, pos, SL_ESCHEMA, "unknown key '%.*s'; known: " KNOWN_KEYS,
                              (int)(key.len > 24 ? 24 : key.len), key.ptr);
                goto out;
            }
            if (seen[k]) {
                uint32_t l, col;
                line_col(c, seen[k] - 1, &l, &col);
                rc = fail(c, pos, SL_ESCHEMA, "%s given twice (first on line %u)",
                          engine_keys[k].key, l);
                goto out;
            }
            seen[k] = pos + 1;
            sl_str v = is_block ? block_joined(c, bstart, bend) : key_value(c, vpos, le);
            if (v.len == 0) {
                rc = fail(c, vpos, SL_ESCHEMA, "expected a value after %s", engine_keys[k].key);
                goto out;
            }
            if (k == 0) {
                rc = check_engine(c, is_block ? vpos : (size_t)(v.ptr - p), v);
                if (rc)
                    goto out;
            }
            *field_at(df, engine_keys[k].field) = sl_arena_dup(&df->arena, v);
        }
        pos = next;
    }
    if (!seen_schema) {
        sl_error_set(c->err, SL_ESCHEMA, "expected a 'SCHEMA >' block with the columns", 0);
        if (c->err) {
            c->err->line = 0;
            c->err->column = 0;
        }
        rc = SL_ESCHEMA;
        goto out;
    }
    if (!df->engine.len)
        df->engine = sl_arena_dup(&df->arena, SL_STR("MergeTree"));
    df->columns = sl_arena_alloc(&df->arena, cols.n * sizeof(sl_column));
    memcpy(df->columns, cols.v, cols.n * sizeof(sl_column));
    df->n_columns = cols.n;
    df->tokens = sl_arena_alloc(&df->arena, (nt ? nt : 1) * sizeof(*toks));
    if (nt)
        memcpy(df->tokens, toks, nt * sizeof(*toks));
    df->n_tokens = nt;
    if (!df->indexes)
        df->indexes = sl_arena_alloc(&df->arena, sizeof(sl_str));
out:
    free(cols.v);
    free(toks);
    return rc;
}

int sl_datafile_parse(sl_str text, sl_datafile **out, sl_error *err)
{
    *out = NULL;
    sl_datafile *df = sl_xcalloc(1, sizeof(*df));
    sl_arena_init(&df->arena);
    ctx c = {text.ptr ? text.ptr : "", text.len, err, df};
    if (err) {
        err->line = 0;
        err->column = 0;
    }
    int rc = parse_file(&c);
    if (rc) {
        sl_datafile_free(df);
        return rc;
    }
    *out = df;
    return 0;
}

void sl_datafile_free(sl_datafile *df)
{
    if (!df)
        return;
    sl_arena_free(&df->arena);
    free(df);
}

int sl_datafile_find_column(const sl_datafile *df, sl_str name)
{
    for (size_t i = 0; i < df->n_columns; i++)
        if (sl_str_eq(df->columns[i].name, name))
            return (int)i;
    return -1;
}

/* ---- printing ---- */

int sl_datafile_print(const sl_datafile *df, sl_buf *out)
{
    int rc = 0;
#define P(call)                                                                                    \
    do {                                                                                           \
        if ((rc = (call)) != 0)                                                                    \
            return rc;                                                                             \
    } while (0)
    if (df->description.len) {
        P(sl_buf_append_cstr(out, "DESCRIPTION >\n"));
        const char *s = df->description.ptr, *e = s + df->description.len;
        while (s < e) {
            const char *nl = memchr(s, '\n', (size_t)(e - s));
            const char *le = nl ? nl : e;
            if (le > s)
                P(sl_buf_append_cstr(out, "    "));
            P(sl_buf_append(out, s, (size_t)(le - s)));
            P(sl_buf_append(out, "\n", 1));
            s = nl ? nl + 1 : e;
        }
        P(sl_buf_append(out, "\n", 1));
    }
    for (size_t i = 0; i < df->n_tokens; i++)
        P(sl_buf_printf(out, "TOKEN \"%.*s\" %s\n", (int)df->tokens[i].name.len,
                        df->tokens[i].name.ptr,
                        df->tokens[i].perm == SL_TOKEN_APPEND ? "APPEND" : "READ"));
    if (df->n_tokens)
        P(sl_buf_append(out, "\n", 1));
    P(sl_buf_append_cstr(out, "SCHEMA >\n"));
    for (size_t i = 0; i < df->n_columns; i++) {
        const sl_column *col = &df->columns[i];
        P(sl_buf_append_cstr(out, "    `"));
        P(sl_buf_append_str(out, col->name));
        P(sl_buf_append_cstr(out, "` "));
        if (col->type)
            P(sl_type_format(col->type, out));
        else
            P(sl_buf_append_str(out, col->type_text));
        if (col->jsonpath_given) {
            P(sl_buf_append_cstr(out, " `json:"));
            P(sl_buf_append_str(out, col->jsonpath));
            P(sl_buf_append(out, "`", 1));
        }
        if (col->has_default) {
            P(sl_buf_append_cstr(out, " DEFAULT "));
            P(sl_buf_append_str(out, col->default_expr));
        }
        if (col->codec.len) {
            P(sl_buf_append_cstr(out, " CODEC("));
            P(sl_buf_append_str(out, col->codec));
            P(sl_buf_append(out, ")", 1));
        }
        P(sl_buf_append_cstr(out, i + 1 < df->n_columns ? ",\n" : "\n"));
    }
    if (df->n_indexes) {
        P(sl_buf_append_cstr(out, "\nINDEXES >\n"));
        for (size_t i = 0; i < df->n_indexes; i++) {
            P(sl_buf_append_cstr(out, "    "));
            P(sl_buf_append_str(out, df->indexes[i]));
            P(sl_buf_append_cstr(out, i + 1 < df->n_indexes ? ",\n" : "\n"));
        }
    }
    P(sl_buf_append(out, "\n", 1));
    for (size_t k = 0; k < N_ENGINE_KEYS; k++) {
        sl_str v = *cfield_at(df, engine_keys[k].field);
        if (k == 0 && !v.len)
            v = SL_STR("MergeTree");
        if (v.len)
            P(sl_buf_printf(out, "%s \"%.*s\"\n", engine_keys[k].key, (int)v.len, v.ptr));
    }
#undef P
    return 0;
}

static bool types_equal(const sl_column *a, const sl_column *b)
{
    if (!a->type || !b->type)
        return a->type == b->type && sl_str_eq(a->type_text, b->type_text);
    sl_buf x, y;
    sl_buf_init(&x, 0);
    sl_buf_init(&y, 0);
    bool eq =
        sl_type_format(a->type, &x) == 0 && sl_type_format(b->type, &y) == 0 &&
        sl_str_eq((sl_str){(const char *)x.data, x.len}, (sl_str){(const char *)y.data, y.len});
    sl_buf_free(&x);
    sl_buf_free(&y);
    return eq;
}

bool sl_datafile_equal(const sl_datafile *a, const sl_datafile *b)
{
    if (!sl_str_eq(a->description, b->description) || a->n_columns != b->n_columns ||
        a->n_indexes != b->n_indexes || a->n_tokens != b->n_tokens)
        return false;
    for (size_t k = 0; k < N_ENGINE_KEYS; k++)
        if (!sl_str_eq(*cfield_at(a, engine_keys[k].field), *cfield_at(b, engine_keys[k].field)))
            return false;
    for (size_t i = 0; i < a->n_columns; i++) {
        const sl_column *x = &a->columns[i], *y = &b->columns[i];
        if (!sl_str_eq(x->name, y->name) || !types_equal(x, y) ||
            !sl_str_eq(x->jsonpath, y->jsonpath) || x->jsonpath_given != y->jsonpath_given ||
            x->has_default != y->has_default || !sl_str_eq(x->default_expr, y->default_expr) ||
            !sl_str_eq(x->codec, y->codec))
            return false;
    }
    for (size_t i = 0; i < a->n_indexes; i++)
        if (!sl_str_eq(a->indexes[i], b->indexes[i]))
            return false;
    for (size_t i = 0; i < a->n_tokens; i++)
        if (!sl_str_eq(a->tokens[i].name, b->tokens[i].name) ||
            a->tokens[i].perm != b->tokens[i].perm)
            return false;
    return true;
}
