/* Schema inference (docs/inference.md): rows → a tree of the keys seen, each with a summary of
 * its values (kinds, number ranges, whether strings read as dates) → one typed column per leaf.
 *
 * Every type decision is made with the same parsers the encoders use (sl_json number
 * conversions, sl_datetime parsing and range checks), so the converter built from the result
 * accepts every value the inference saw. The body is split into rows exactly as sl_convert
 * splits it. Memory: one arena for the key tree, bounded by the key cap, freed at the end. */
#include "sl_infer.h"

#include "sl_datetime.h"
#include "sl_json.h"

#include <stdlib.h>
#include <string.h>

#define MAX_OBJECT_DEPTH 4     /* key levels that become columns; deeper objects stay JSON text */
#define MAX_ARRAY_DEPTH  4     /* Array(...) levels; deeper arrays stay JSON text */
#define MAX_COLUMNS      10000 /* hard bound on max_columns */
#define MAX_NAME         120   /* bytes of a column name before a collision suffix */
#define DATE_TEXT_MAX    64    /* longer strings are never dates */

/* Kinds of values seen (shape.kinds). */
enum { K_NULL = 1, K_BOOL = 2, K_INT = 4, K_FLOAT = 8, K_STRING = 16, K_ARRAY = 32, K_OBJECT = 64 };

/* Number facts (shape.num). */
enum {
    N_NEGATIVE = 1, /* an integer written with '-' (UInt64 refuses even -0) */
    N_UINT64 = 2,   /* an integer above Int64's range that fits UInt64 */
    N_HUGE = 4,     /* an integer beyond both: only Float64 reads it */
    N_OVERFLOW = 8, /* a number beyond double's range: Float64 refuses it */
};

/* String facts (shape.str): each bit rules a reading out. */
enum {
    S_NOT_DATE = 1,     /* some string is not a YYYY-MM-DD date */
    S_NOT_TIME = 2,     /* some string is not an ISO date or date-time within DateTime64(3) */
    S_FRACTION = 4,     /* some date-time has a fraction of a second */
    S_OUT_DATETIME = 8, /* some date-time is outside DateTime's range */
    S_OUT_DATE = 16,    /* some date is outside Date's range */
    S_OUT_DATE32 = 32,  /* some date is outside Date32's range */
};

/* A summary of the values seen at one place (a key, or the elements of its arrays). */
typedef struct shape shape;
struct shape {
    uint32_t kinds, num, str;
    bool deep;   /* an array here was nested past MAX_ARRAY_DEPTH */
    shape *elem; /* the elements of the arrays seen here (set with K_ARRAY) */
};

typedef struct field field;
struct field {
    sl_str key; /* decoded */
    field *parent, *first, *last, *next;
    uint32_t depth; /* 1 for a row's own keys */
    uint32_t id;
    bool unusable;     /* the key cannot be written in a `json:` path */
    uint64_t present;  /* rows where the key had a non-null value */
    uint64_t last_row; /* the row last counted in `present` */
    shape s;
};

typedef struct {
    char s[96];
    size_t n;
} tname;

typedef struct {
    const field *f;
    tname type;
    uint32_t eaches;
    bool datetime; /* non-Nullable DateTime or DateTime64: a sorting key candidate */
    sl_str name;
} column;

typedef struct {
    sl_arena arena;
    field root;
    field **table; /* open addressing on (parent id, key) */
    size_t mask;
    size_t n_fields, max_fields;
    uint64_t rows, max_rows, skipped;
    bool row_limit, fields_full;
    size_t unusable;
    sl_buf scratch; /* decoded keys */
    column *cols;
    size_t n_cols, cap_cols, max_cols;
    bool column_limit;
} infer;

/* ---- the key tree ---- */

static uint64_t hash_key(uint32_t parent, sl_str key)
{
    uint64_t h = (1469598103934665603ull ^ parent) * 1099511628211ull;
    for (size_t i = 0; i < key.len; i++)
        h = (h ^ (uint8_t)key.ptr[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static bool key_unusable(sl_str key)
{
    for (size_t i = 0; i < key.len; i++)
        if ((uint8_t)key.ptr[i] < 0x20 || key.ptr[i] == 0x7f || key.ptr[i] == '`')
            return true;
    return false;
}

/* The child of `parent` for a scanned key, created on first sight; NULL when the tree is full. */
static int child(infer *in, field *parent, const sl_json_value *k, field **out)
{
    sl_str key = {k->ptr, k->len};
    *out = NULL;
    if (k->flags & SL_JSON_ESCAPED) {
        sl_json_value kv = *k;
        kv.kind = SL_JSON_STRING;
        in->scratch.len = 0;
        int rc = sl_json_decode_string(&kv, &in->scratch);
        if (rc)
            return rc;
        key = (sl_str){(const char *)in->scratch.data, in->scratch.len};
    }
    size_t i = (size_t)hash_key(parent->id, key) & in->mask;
    for (field *f; (f = in->table[i]) != NULL; i = (i + 1) & in->mask)
        if (f->parent == parent && sl_str_eq(f->key, key)) {
            *out = f;
            return 0;
        }
    if (in->n_fields >= in->max_fields) {
        in->fields_full = true;
        return 0;
    }
    field *f = sl_arena_alloc(&in->arena, sizeof(*f));
    f->key = sl_arena_dup(&in->arena, key);
    f->parent = parent;
    f->depth = parent->depth + 1;
    f->id = (uint32_t)++in->n_fields;
    f->unusable = key_unusable(key);
    in->unusable += f->unusable;
    if (parent->last)
        parent->last->next = f;
    else
        parent->first = f;
    parent->last = f;
    in->table[i] = f;
    *out = f;
    return 0;
}

/* ---- observing values ---- */

static void observe_number(shape *s, const sl_json_value *v)
{
    uint8_t b[8];
    double d;
    if (!(v->flags & (SL_JSON_FRACTION | SL_JSON_EXPONENT))) {
        s->kinds |= K_INT;
        if (v->flags & SL_JSON_NEGATIVE)
            s->num |= N_NEGATIVE;
        if (sl_json_number_to_int(v, true, 64, b) == 0)
            return;
        if (!(v->flags & SL_JSON_NEGATIVE) && sl_json_number_to_int(v, false, 64, b) == 0) {
            s->num |= N_UINT64;
            return;
        }
        s->num |= N_HUGE;
    } else {
        s->kinds |= K_FLOAT;
    }
    if (sl_json_number_to_double(v, &d) != 0)
        s->num |= N_OVERFLOW;
}

static bool digits(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

/* 1 for "YYYY-MM-DD", 2 for "YYYY-MM-DD" then 'T' or ' ' and a digit, else 0. Only these are
 * tried as dates: digit strings would read as epochs, which a string column is safer for. */
static int date_shape(sl_str t)
{
    const char *p = t.ptr;
    if (t.len < 10 || !digits(p, 4) || p[4] != '-' || !digits(p + 5, 2) || p[7] != '-' ||
        !digits(p + 8, 2))
        return 0;
    if (t.len == 10)
        return 1;
    return t.len > 11 && (p[10] == 'T' || p[10] == ' ') && p[11] >= '0' && p[11] <= '9' ? 2 : 0;
}

static void observe_string(shape *s, const sl_json_value *v)
{
    s->kinds |= K_STRING;
    if ((s->str & (S_NOT_DATE | S_NOT_TIME)) == (S_NOT_DATE | S_NOT_TIME))
        return; /* nothing left to learn */
    /* The date encoders read the raw text (escapes refused, as ClickHouse does). */
    sl_str t = {v->ptr, v->len};
    if (v->len > DATE_TEXT_MAX || (v->flags & SL_JSON_ESCAPED)) {
        s->str |= S_NOT_DATE | S_NOT_TIME;
        return;
    }
    int shape_kind = date_shape(t);
    if (shape_kind == 0) {
        s->str |= S_NOT_DATE | S_NOT_TIME;
        return;
    }
    int64_t days;
    if (shape_kind != 1 || sl_datetime_parse_date(t, &days, NULL) != 0) {
        s->str |= S_NOT_DATE;
    } else {
        if (sl_date_check(days, false, NULL) != 0)
            s->str |= S_OUT_DATE;
        if (sl_date_check(days, true, NULL) != 0)
            s->str |= S_OUT_DATE32;
    }
    sl_instant at;
    int64_t ticks;
    uint32_t secs;
    if (sl_datetime_parse_text64(t, NULL, &at, NULL) != 0 ||
        sl_datetime64_to_ticks(&at, 3, &ticks, NULL) != 0)
        s->str |= S_NOT_TIME;
    else if (sl_datetime_parse_text(t, NULL, &at, NULL) != 0 ||
             sl_datetime_to_seconds(&at, &secs, NULL) != 0)
        s->str |= S_OUT_DATETIME;
    if (shape_kind == 2 && memchr(t.ptr + 11, '.', t.len - 11))
        s->str |= S_FRACTION;
}

/* Adds one validated value to `s`; `level` counts the arrays around it. */
static int observe(infer *in, shape *s, const sl_json_value *v, uint32_t level)
{
    switch (v->kind) {
    case SL_JSON_NULL: s->kinds |= K_NULL; return 0;
    case SL_JSON_TRUE:
    case SL_JSON_FALSE: s->kinds |= K_BOOL; return 0;
    case SL_JSON_NUMBER: observe_number(s, v); return 0;
    case SL_JSON_STRING: observe_string(s, v); return 0;
    case SL_JSON_OBJECT: s->kinds |= K_OBJECT; return 0;
    case SL_JSON_ARRAY: break;
    default: return SL_EINVAL;
    }
    s->kinds |= K_ARRAY;
    if (level >= MAX_ARRAY_DEPTH) {
        s->deep = true;
        return 0;
    }
    if (!s->elem)
        s->elem = sl_arena_alloc(&in->arena, sizeof(shape));
    sl_json_cursor c;
    sl_json_cursor_init(&c, v->ptr, v->len, NULL);
    int r = sl_json_array_begin(&c);
    while (r >= 0 && (r = sl_json_array_next(&c)) == 1) {
        sl_json_value e;
        r = sl_json_scan_value(&c, &e);
        if (r == 0)
            r = observe(in, s->elem, &e, level + 1);
    }
    return r < 0 ? r : 0;
}

static int visit_object(infer *in, field *parent, sl_json_cursor *c);

static int visit_field(infer *in, field *f, sl_json_cursor *c)
{
    if (f->unusable)
        return sl_json_skip_value(c);
    sl_json_kind k = sl_json_peek(c);
    if (k != SL_JSON_NULL && f->last_row != in->rows) {
        f->present++;
        f->last_row = in->rows;
    }
    /* Objects are walked key by key while they are the only kind seen here. */
    if (k == SL_JSON_OBJECT && f->depth < MAX_OBJECT_DEPTH &&
        !(f->s.kinds & ~(uint32_t)(K_OBJECT | K_NULL))) {
        f->s.kinds |= K_OBJECT;
        return visit_object(in, f, c);
    }
    sl_json_value v;
    int r = sl_json_scan_value(c, &v);
    return r < 0 ? r : observe(in, &f->s, &v, 0);
}

static int visit_object(infer *in, field *parent, sl_json_cursor *c)
{
    int r = sl_json_object_begin(c);
    sl_json_value key;
    while (r >= 0 && (r = sl_json_object_next(c, &key)) == 1) {
        field *f;
        r = child(in, parent, &key, &f);
        if (r == 0)
            r = f ? visit_field(in, f, c) : sl_json_skip_value(c);
    }
    return r < 0 ? r : 0;
}

static int add_row(infer *in, const sl_json_value *v)
{
    in->rows++;
    sl_json_cursor c;
    sl_json_cursor_init(&c, v->ptr, v->len, NULL);
    return visit_object(in, &in->root, &c);
}

/* ---- splitting the body into rows, as sl_convert does ---- */

typedef enum { ROW_OK, ROW_BAD, ROW_INCOMPLETE } row_scan;

static row_scan scan_row(const char *p, const char *end, bool must_end, sl_json_value *v)
{
    sl_error err = {0};
    sl_json_cursor c;
    sl_json_cursor_init(&c, p, (size_t)(end - p), &err);
    if (sl_json_peek(&c) != SL_JSON_OBJECT)
        return ROW_BAD;
    if (sl_json_scan_value(&c, v) < 0)
        return c.p >= end || err.offset >= (size_t)(end - p) ? ROW_INCOMPLETE : ROW_BAD;
    if (must_end && !sl_json_at_end(&c))
        return ROW_BAD;
    return ROW_OK;
}

static bool is_blank(const char *p, const char *e)
{
    for (; p < e; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r')
            return false;
    return true;
}

static bool only_whitespace(const char *p, const char *e)
{
    for (; p < e; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
            return false;
    return true;
}

/* A top-level array of rows starting at `start`; sets *next after it (or to `end` when the
 * array is broken: the converter quarantines the rest as one row). */
static int read_array(infer *in, const char *start, const char *end, const char **next)
{
    sl_json_cursor c;
    sl_json_cursor_init(&c, start, (size_t)(end - start), NULL);
    int r = sl_json_array_begin(&c);
    while (r >= 0 && (r = sl_json_array_next(&c)) == 1) {
        if (in->rows >= in->max_rows) {
            in->row_limit = true;
            *next = end;
            return 0;
        }
        sl_json_cursor ec;
        sl_json_value v;
        sl_json_cursor_init(&ec, c.p, (size_t)(end - c.p), NULL);
        if (sl_json_scan_value(&ec, &v) < 0) {
            r = -1;
            break;
        }
        if (v.kind == SL_JSON_OBJECT) {
            int rc = add_row(in, &v);
            if (rc)
                return rc;
        } else {
            in->skipped++;
        }
        c.p = ec.p;
    }
    if (r < 0) {
        in->skipped++;
        *next = end;
        return 0;
    }
    *next = c.p;
    return 0;
}

static int read_body(infer *in, sl_str body)
{
    if (body.len == 0)
        return 0;
    const char *p = body.ptr, *end = body.ptr + body.len;
    if (body.len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    while (p < end) {
        if (in->rows >= in->max_rows) {
            in->row_limit = !only_whitespace(p, end);
            return 0;
        }
        const char *nl = sl_json_line_end(p, end);
        const char *q = p;
        while (q < nl && (*q == ' ' || *q == '\t' || *q == '\r'))
            q++;
        if (q == nl) {
            if (nl == end)
                break;
            p = nl + 1;
            continue;
        }
        if (*q == '[') {
            int rc = read_array(in, q, end, &p);
            if (rc)
                return rc;
            continue;
        }
        sl_json_value v;
        const char *row_end = nl;
        row_scan rs = scan_row(q, nl, true, &v);
        if (rs == ROW_INCOMPLETE && nl < end) {
            /* One object spread over several lines, as the converter accepts it. */
            rs = scan_row(q, end, false, &v);
            if (rs == ROW_OK) {
                const char *after = v.ptr + v.len, *le = sl_json_line_end(after, end);
                if (is_blank(after, le))
                    row_end = le;
                else
                    rs = ROW_BAD;
            }
        }
        if (rs == ROW_OK) {
            int rc = add_row(in, &v);
            if (rc)
                return rc;
        } else {
            in->skipped++;
        }
        if (row_end == end)
            break;
        p = row_end + 1;
    }
    return 0;
}

/* ---- types ---- */

static void tput(tname *t, const char *s)
{
    size_t n = strlen(s);
    if (t->n + n < sizeof(t->s)) {
        memcpy(t->s + t->n, s, n + 1);
        t->n += n;
    }
}

/* The one scalar type that reads every value summarised by `s` (`kinds` without K_NULL), or NULL
 * when the values mix kinds. */
static const char *scalar_type(const shape *s, uint32_t kinds)
{
    switch (kinds) {
    case K_BOOL: return "Bool";
    case K_INT:
    case K_FLOAT:
    case K_INT | K_FLOAT:
        if (s->num & N_OVERFLOW)
            return "String";
        if (kinds != K_INT || (s->num & N_HUGE))
            return "Float64";
        if (s->num & N_UINT64)
            return (s->num & N_NEGATIVE) ? "Float64" : "UInt64";
        return "Int64";
    case K_STRING:
        if (!(s->str & S_NOT_DATE))
            return !(s->str & S_OUT_DATE) ? "Date" : !(s->str & S_OUT_DATE32) ? "Date32" : "String";
        if (!(s->str & S_NOT_TIME))
            return (s->str & (S_FRACTION | S_OUT_DATETIME)) ? "DateTime64(3)" : "DateTime";
        return "String";
    default: return NULL;
    }
}

/* Appends the element type of arrays whose elements `e` summarises; false when they mix kinds,
 * hold objects, null arrays, or nest too deep (the column then keeps the JSON text). */
static bool elem_type(const shape *e, tname *t, uint32_t *eaches)
{
    uint32_t kinds = e->kinds & ~(uint32_t)K_NULL;
    bool null = e->kinds & K_NULL;
    if (kinds == K_ARRAY) {
        if (null || e->deep || !e->elem)
            return false;
        tput(t, "Array(");
        if (!elem_type(e->elem, t, eaches))
            return false;
        tput(t, ")");
        (*eaches)++;
        return true;
    }
    const char *name = kinds ? scalar_type(e, kinds) : "String";
    if (!name)
        return false;
    tput(t, null ? "Nullable(" : "");
    tput(t, name);
    tput(t, null ? ")" : "");
    return true;
}

static void add_column(infer *in, const field *f, const char *type, bool nullable, uint32_t eaches)
{
    if (in->n_cols == in->cap_cols) {
        in->cap_cols = in->cap_cols ? in->cap_cols * 2 : 32;
        in->cols = sl_xrealloc(in->cols, in->cap_cols * sizeof(column));
    }
    column *c = &in->cols[in->n_cols++];
    memset(c, 0, sizeof(*c));
    c->f = f;
    c->eaches = eaches;
    tput(&c->type, nullable ? "Nullable(" : "");
    tput(&c->type, type);
    tput(&c->type, nullable ? ")" : "");
    c->datetime =
        !nullable && (strcmp(type, "DateTime") == 0 || strcmp(type, "DateTime64(3)") == 0);
}

/* Columns of `f` in first-appearance order, depth first. */
static void emit_field(infer *in, const field *f)
{
    if (f->unusable)
        return;
    if (in->n_cols >= in->max_cols) {
        in->column_limit = true;
        return;
    }
    uint32_t kinds = f->s.kinds & ~(uint32_t)K_NULL;
    bool nullable = f->present < in->rows;
    if (kinds == K_OBJECT && f->depth < MAX_OBJECT_DEPTH) {
        size_t before = in->n_cols;
        for (const field *ch = f->first; ch; ch = ch->next)
            emit_field(in, ch);
        /* Only empty objects (or keys no path can name): keep the JSON text. */
        if (in->n_cols == before && !in->column_limit)
            add_column(in, f, "String", nullable, 0);
        return;
    }
    if (kinds == K_ARRAY && !f->s.deep && f->s.elem) {
        tname t = {{0}, 0};
        uint32_t eaches = 1;
        tput(&t, "Array(");
        if (elem_type(f->s.elem, &t, &eaches)) {
            tput(&t, ")");
            add_column(in, f, t.s, false, eaches);
            return;
        }
    }
    const char *type = kinds == 0 ? "String" : scalar_type(&f->s, kinds);
    add_column(in, f, type ? type : "String", nullable, 0);
}

/* ---- names and paths ---- */

static const char *const reserved_names[] = {"c__error_column", "c__error", "c__import_id",
                                             "c__raw", "insertion_date"};

static bool name_taken(const infer *in, size_t upto, sl_str name)
{
    for (size_t i = 0; i < sizeof(reserved_names) / sizeof(reserved_names[0]); i++)
        if (sl_str_eq_cstr(name, reserved_names[i]))
            return true;
    for (size_t i = 0; i < upto; i++)
        if (sl_str_eq(in->cols[i].name, name))
            return true;
    return false;
}

/* The keys from the row down to `f`, outermost first; returns how many. */
static int key_chain(const field *f, const field *keys[MAX_OBJECT_DEPTH])
{
    int n = (int)f->depth;
    for (int i = n - 1; i >= 0; i--, f = f->parent)
        keys[i] = f;
    return n;
}

static int base_name(const field *f, sl_buf *b)
{
    const field *keys[MAX_OBJECT_DEPTH];
    int n = key_chain(f, keys);
    int rc = 0;
    for (int i = 0; rc == 0 && i < n; i++) {
        sl_str k = keys[i]->key;
        if (i > 0)
            rc = sl_buf_append(b, "_", 1);
        if (k.len == 0 && rc == 0)
            rc = sl_buf_append_cstr(b, "_empty");
        for (size_t j = 0; rc == 0 && j < k.len; j++) {
            char ch = k.ptr[j];
            bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || ch == '_';
            rc = sl_buf_append(b, ok ? &ch : "_", 1);
        }
    }
    if (rc == 0 && b->len && b->data[0] >= '0' && b->data[0] <= '9') {
        rc = sl_buf_reserve(b, 1);
        if (rc == 0) {
            memmove(b->data + 1, b->data, b->len);
            b->data[0] = '_';
            b->len++;
        }
    }
    if (b->len > MAX_NAME)
        b->len = MAX_NAME;
    return rc;
}

static int assign_names(infer *in)
{
    sl_buf b;
    sl_buf_init(&b, 0);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < in->n_cols; i++) {
        b.len = 0;
        rc = base_name(in->cols[i].f, &b);
        size_t base = b.len;
        for (unsigned n = 2; rc == 0; n++) {
            sl_str name = {(const char *)b.data, b.len};
            if (!name_taken(in, i, name)) {
                in->cols[i].name = sl_arena_dup(&in->arena, name);
                break;
            }
            b.len = base;
            rc = sl_buf_printf(&b, "_%u", n);
        }
    }
    sl_buf_free(&b);
    return rc;
}

static bool key_is_plain(sl_str k)
{
    if (k.len == 0)
        return false;
    for (size_t i = 0; i < k.len; i++) {
        char ch = k.ptr[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

static int put_path(const column *c, sl_buf *b)
{
    const field *keys[MAX_OBJECT_DEPTH];
    int n = key_chain(c->f, keys);
    int rc = sl_buf_append(b, "$", 1);
    for (int i = 0; rc == 0 && i < n; i++) {
        sl_str k = keys[i]->key;
        if (key_is_plain(k)) {
            rc = sl_buf_append(b, ".", 1);
            if (rc == 0)
                rc = sl_buf_append_str(b, k);
            continue;
        }
        rc = sl_buf_append(b, ".['", 3);
        for (size_t j = 0; rc == 0 && j < k.len; j++) {
            if (k.ptr[j] == '\'' || k.ptr[j] == '\\')
                rc = sl_buf_append(b, "\\", 1);
            if (rc == 0)
                rc = sl_buf_append(b, k.ptr + j, 1);
        }
        if (rc == 0)
            rc = sl_buf_append(b, "']", 2);
    }
    for (uint32_t i = 0; rc == 0 && i < c->eaches; i++)
        rc = sl_buf_append(b, "[:]", 3);
    return rc;
}

static int write_file(const infer *in, sl_buf *b)
{
    int rc = sl_buf_append_cstr(b, "SCHEMA >\n");
    const column *sort = NULL;
    for (size_t i = 0; rc == 0 && i < in->n_cols; i++) {
        const column *c = &in->cols[i];
        if (!sort && c->datetime)
            sort = c;
        rc = sl_buf_printf(b, "    `%.*s` %s `json:", (int)c->name.len, c->name.ptr, c->type.s);
        if (rc == 0)
            rc = put_path(c, b);
        if (rc == 0)
            rc = sl_buf_append_cstr(b, i + 1 < in->n_cols ? "`,\n" : "`\n");
    }
    if (rc == 0)
        rc = sl_buf_append_cstr(b, "\nENGINE \"MergeTree\"\n");
    if (rc == 0)
        rc = sort ? sl_buf_printf(b, "ENGINE_SORTING_KEY \"%.*s\"\n", (int)sort->name.len,
                                  sort->name.ptr)
                  : sl_buf_append_cstr(b, "ENGINE_SORTING_KEY \"tuple()\"\n");
    return rc;
}

/* ---- entry point ---- */

int sl_infer_datasource(sl_str body, const sl_infer_options *opt, sl_buf *out,
                        sl_infer_stats *stats, sl_error *err)
{
    infer in;
    memset(&in, 0, sizeof(in));
    size_t max_cols = opt && opt->max_columns ? opt->max_columns : SL_INFER_DEFAULT_COLUMNS;
    in.max_cols = max_cols < MAX_COLUMNS ? max_cols : MAX_COLUMNS;
    in.max_rows = opt && opt->max_rows ? opt->max_rows : SL_INFER_DEFAULT_ROWS;
    /* Keys tracked: room for intermediate objects and keys that end up unused. */
    in.max_fields = in.max_cols * 4 + 64;
    size_t slots = 64;
    while (slots < in.max_fields * 2)
        slots *= 2;
    in.table = sl_xcalloc(slots, sizeof(field *));
    in.mask = slots - 1;
    sl_arena_init(&in.arena);
    sl_buf_init(&in.scratch, 0);

    int rc = read_body(&in, body);
    if (rc == 0 && in.rows == 0 && in.skipped == 0)
        rc = sl_error_set(err, SL_EVALUE,
                          "no row to infer a schema from: the body is empty; send NDJSON (one "
                          "object per line), one object, or an array of objects",
                          0);
    else if (rc == 0 && in.rows == 0)
        rc = sl_error_setf(err, SL_EVALUE, 0,
                           "no row to infer a schema from: none of the %llu row(s) is a valid "
                           "JSON object; send NDJSON (one object per line), one object, or an "
                           "array of objects",
                           (unsigned long long)in.skipped);
    else if (rc)
        sl_error_set(err, rc, NULL, 0);
    if (rc == 0) {
        for (const field *f = in.root.first; f; f = f->next)
            emit_field(&in, f);
        if (in.n_cols == 0)
            rc = sl_error_set(err, SL_EVALUE,
                              "no column to create: the rows have no keys, or only keys with a "
                              "backtick or control character",
                              0);
        else
            rc = assign_names(&in);
        sl_buf file;
        sl_buf_init(&file, 0);
        if (rc == 0)
            rc = write_file(&in, &file);
        if (rc == 0)
            rc = sl_buf_append(out, file.data, file.len);
        sl_buf_free(&file);
        if (rc && rc != SL_EVALUE)
            sl_error_set(err, rc, NULL, 0);
    }
    if (stats) {
        stats->rows = in.rows;
        stats->skipped = in.skipped;
        stats->row_limit = in.row_limit;
        stats->columns = rc == 0 ? in.n_cols : 0;
        stats->column_limit = in.column_limit || in.fields_full;
        stats->unusable_keys = in.unusable;
    }
    free(in.cols);
    free(in.table);
    sl_buf_free(&in.scratch);
    sl_arena_free(&in.arena);
    return rc;
}
