/* The converter: JSON rows → RowBinaryWithDefaults rows and RowBinary quarantine rows.
 *
 * Compilation turns the columns' JSONPaths into one tree. Each column captures the value at the
 * longest prefix of its path that holds no [:] step followed by more steps; the rest of the path
 * (its "remainder", e.g. "[:].price" of "$.items[:].price") is applied to the captured value at
 * encode time. Trailing [:] steps need no remainder: the Array type encoder walks the array.
 *
 * Per row: walk the tree over the row's object (members no node needs are skipped with full
 * validation, not decoded), record a slice per column, then encode the columns in order. A row
 * with any failing column is rolled back from the row block and written to the quarantine block
 * with every failing column's message. */
#include "sl_convert.h"

#include "sl_json.h"
#include "sl_jsonpath.h"
#include "sl_types.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct node node;

typedef struct {
    sl_str key;
    uint64_t head, mask; /* the key's first bytes (up to 8) as loaded from memory, and which
                            bytes of such a load they are: a short key compares in one step */
    uint64_t pat[2], pat_mask[2]; /* `key":` as two 8-byte loads, when it fits (has_pat): the
                                     walk recognises the expected member without scanning it */
    bool has_pat;
    node *child;
} key_child;

typedef struct {
    uint32_t index;
    node *child;
} index_child;

struct node {
    key_child *keys;
    uint32_t n_keys, cap_keys;
    index_child *indexes;
    uint32_t n_indexes, cap_indexes;
    uint32_t *captures; /* column numbers capturing the value at this node */
    uint32_t n_captures, cap_captures;
};

typedef struct {
    const sl_column *col;
    const sl_type *type;
    const sl_jsonpath *path;
    uint32_t n_remainder; /* steps applied after the capture (start with an EACH) */
    const sl_jsonpath_step *remainder;
    bool empty_when_absent; /* Array/Map: take the empty value when absent */
    uint8_t fast;           /* FAST_*: the column's leaf fast path, chosen when compiling */
    uint8_t fast_size;      /* FAST_INT/FAST_UINT: bytes; FAST_DATETIME64: the scale */
} column_plan;

struct sl_converter {
    const sl_datafile *df;
    sl_arena arena;
    node *root;
    column_plan *cols;
    uint32_t n_cols;
};

typedef struct {
    uint64_t gen; /* equals the state's row generation when the slot holds this row's value */
    bool duplicate;
    sl_json_value v;
} slot;

typedef struct {
    uint32_t column; /* UINT32_MAX: the whole row */
    size_t msg_off, msg_len;
} issue;

struct sl_convert_state {
    uint64_t gen;
    slot *slots;
    uint32_t n_slots;
    issue *issues;
    uint32_t n_issues, cap_issues;
    sl_buf messages;
    sl_buf text;
    sl_encode_scratch scratch;
};

#define NO_COLUMN UINT32_MAX

/* ---- compilation ---- */

static void *grow(sl_arena *a, void *old, uint32_t n, uint32_t *cap, size_t elem)
{
    if (n < *cap)
        return old;
    uint32_t ncap = *cap ? *cap * 2 : 4;
    void *p = sl_arena_alloc(a, elem * ncap);
    if (n)
        memcpy(p, old, elem * n);
    *cap = ncap;
    return p;
}

static node *node_child_key(sl_arena *a, node *n, sl_str key)
{
    for (uint32_t i = 0; i < n->n_keys; i++)
        if (sl_str_eq(n->keys[i].key, key))
            return n->keys[i].child;
    n->keys = grow(a, n->keys, n->n_keys, &n->cap_keys, sizeof(key_child));
    node *c = sl_arena_alloc(a, sizeof(node));
    key_child kc = {.key = key, .child = c};
    size_t nh = key.len < 8 ? key.len : 8;
    if (nh) {
        memcpy(&kc.head, key.ptr, nh);
        memset(&kc.mask, 0xFF, nh);
    }
    /* Only keys of printable ASCII without '"' or '\\': then input bytes equal to the key and
     * followed by '"' are that key, a plain string. */
    kc.has_pat = key.len + 2 <= 16;
    for (size_t i = 0; i < key.len; i++)
        kc.has_pat = kc.has_pat && key.ptr[i] >= 0x20 && key.ptr[i] < 0x7f && key.ptr[i] != '"' &&
                     key.ptr[i] != '\\';
    if (kc.has_pat) {
        uint8_t pat[16] = {0}, msk[16] = {0};
        memcpy(pat, key.ptr, key.len);
        pat[key.len] = '"';
        pat[key.len + 1] = ':';
        memset(msk, 0xFF, key.len + 2);
        memcpy(kc.pat, pat, 16);
        memcpy(kc.pat_mask, msk, 16);
    }
    n->keys[n->n_keys++] = kc;
    return c;
}

static node *node_child_index(sl_arena *a, node *n, uint32_t index)
{
    for (uint32_t i = 0; i < n->n_indexes; i++)
        if (n->indexes[i].index == index)
            return n->indexes[i].child;
    n->indexes = grow(a, n->indexes, n->n_indexes, &n->cap_indexes, sizeof(index_child));
    node *c = sl_arena_alloc(a, sizeof(node));
    n->indexes[n->n_indexes++] = (index_child){index, c};
    return c;
}

static const sl_type *strip_wrappers(const sl_type *t)
{
    while (t->kind == SL_TYPE_NULLABLE || t->kind == SL_TYPE_LOW_CARDINALITY)
        t = t->children[0];
    return t;
}

static bool is_nullable(const sl_type *t)
{
    while (t->kind == SL_TYPE_LOW_CARDINALITY)
        t = t->children[0];
    return t->kind == SL_TYPE_NULLABLE;
}

static uint32_t array_depth(const sl_type *t)
{
    uint32_t d = 0;
    for (t = strip_wrappers(t); t->kind == SL_TYPE_ARRAY; t = strip_wrappers(t->children[0]))
        d++;
    return d;
}

/* Columns of the quarantine table besides the data source's own (SPEC §6). */
static const char *const quarantine_names[] = {"c__error_column", "c__error", "c__import_id",
                                               "c__raw", "insertion_date"};

/* Leaf types with a fast path in the encoding loop (encode_fast). Only plain columns: a
 * Nullable column takes the general path, which writes its NULL marker. */
enum {
    FAST_NONE,
    FAST_STRING,
    FAST_ARRAY_STRING,
    FAST_UUID,
    FAST_UINT,
    FAST_INT,
    FAST_FLOAT64,
    FAST_DATETIME64,
    FAST_DATETIME,
    FAST_DATE
};

static bool is_string(const sl_type *t)
{
    if (t->kind == SL_TYPE_LOW_CARDINALITY)
        t = t->children[0];
    return t->kind == SL_TYPE_STRING;
}

static void choose_fast(column_plan *cp)
{
    const sl_type *t = cp->type;
    if (is_string(t)) {
        cp->fast = FAST_STRING;
        return;
    }
    switch (t->kind) {
    case SL_TYPE_ARRAY:
        if (is_string(t->children[0]))
            cp->fast = FAST_ARRAY_STRING;
        break;
    case SL_TYPE_UUID: cp->fast = FAST_UUID; break;
    case SL_TYPE_INT:
        if (t->size <= 8) {
            cp->fast = t->is_signed ? FAST_INT : FAST_UINT;
            cp->fast_size = (uint8_t)t->size;
        }
        break;
    case SL_TYPE_FLOAT64: cp->fast = FAST_FLOAT64; break;
    case SL_TYPE_DATE: cp->fast = FAST_DATE; break;
    case SL_TYPE_DATETIME:
        if (t->timezone.len == 0 || sl_str_eq_cstr(t->timezone, "UTC"))
            cp->fast = FAST_DATETIME;
        break;
    case SL_TYPE_DATETIME64:
        /* A named zone needs the zone's offsets; UTC (or none) needs nothing. */
        if (t->scale <= 9 && (t->timezone.len == 0 || sl_str_eq_cstr(t->timezone, "UTC"))) {
            cp->fast = FAST_DATETIME64;
            cp->fast_size = (uint8_t)t->scale;
        }
        break;
    default: break;
    }
}

static int plan_column(sl_converter *conv, uint32_t i, sl_error *err)
{
    const sl_column *col = &conv->df->columns[i];
    column_plan *cp = &conv->cols[i];
    for (size_t k = 0; k < sizeof(quarantine_names) / sizeof(quarantine_names[0]); k++)
        if (sl_str_eq_cstr(col->name, quarantine_names[k]))
            return sl_error_setf(err, SL_ESCHEMA, 0,
                                 "column name '%s' is reserved for the quarantine table; rename "
                                 "the column (its path can stay the same)",
                                 quarantine_names[k]);
    cp->col = col;
    cp->type = col->type;
    int rc = sl_jsonpath_parse(col->jsonpath, &conv->arena, &cp->path, err);
    if (rc)
        return sl_error_setf(err, SL_EPATH, err ? err->offset : 0, "column '%.*s': %s",
                             (int)col->name.len, col->name.ptr, err ? err->msg : "bad path");

    const sl_jsonpath *p = cp->path;
    uint32_t eaches = sl_jsonpath_each_count(p);
    uint32_t depth = array_depth(col->type);
    if (eaches > depth) {
        if (depth == 0)
            return sl_error_setf(err, SL_ESCHEMA, 0,
                                 "column '%.*s' has [:] in its path '%.*s' but its type %.*s is "
                                 "not an Array; make it Array(...) or drop the [:]",
                                 (int)col->name.len, col->name.ptr, (int)p->text.len, p->text.ptr,
                                 (int)col->type_text.len, col->type_text.ptr);
        return sl_error_setf(err, SL_ESCHEMA, 0,
                             "column '%.*s': its path '%.*s' has %u [:] steps but its type %.*s "
                             "has only %u array levels",
                             (int)col->name.len, col->name.ptr, (int)p->text.len, p->text.ptr,
                             eaches, (int)col->type_text.len, col->type_text.ptr, depth);
    }
    if (depth > 0 && eaches == 0)
        return sl_error_setf(err, SL_ESCHEMA, 0,
                             "column '%.*s' is an Array, so its path needs [:] to say which array "
                             "it reads (e.g. '%.*s[:]')",
                             (int)col->name.len, col->name.ptr, (int)p->text.len, p->text.ptr);

    /* Capture prefix: up to the first EACH that is followed by a KEY or INDEX step. */
    uint32_t cut = p->n_steps;
    for (uint32_t s = 0; s < p->n_steps; s++) {
        if (p->steps[s].kind != SL_STEP_EACH)
            continue;
        bool more = false;
        for (uint32_t t = s + 1; t < p->n_steps; t++)
            more |= p->steps[t].kind != SL_STEP_EACH;
        if (more) {
            cut = s;
            break;
        }
    }
    uint32_t prefix = cut;
    if (cut == p->n_steps) {
        while (prefix > 0 && p->steps[prefix - 1].kind == SL_STEP_EACH)
            prefix--;
        cp->n_remainder = 0;
    } else {
        cp->n_remainder = p->n_steps - cut;
        cp->remainder = p->steps + cut;
    }

    node *n = conv->root;
    for (uint32_t s = 0; s < prefix; s++) {
        const sl_jsonpath_step *st = &p->steps[s];
        n = st->kind == SL_STEP_KEY ? node_child_key(&conv->arena, n, st->key)
                                    : node_child_index(&conv->arena, n, st->index);
    }
    n->captures =
        grow(&conv->arena, n->captures, n->n_captures, &n->cap_captures, sizeof(uint32_t));
    n->captures[n->n_captures++] = i;

    const sl_type *base = strip_wrappers(col->type);
    cp->empty_when_absent = base->kind == SL_TYPE_ARRAY || base->kind == SL_TYPE_MAP;
    if (cp->n_remainder == 0)
        choose_fast(cp);
    return 0;
}

int sl_converter_new(const sl_datafile *df, sl_converter **out, sl_error *err)
{
    sl_converter *conv = sl_xcalloc(1, sizeof(*conv));
    sl_arena_init(&conv->arena);
    conv->df = df;
    conv->n_cols = (uint32_t)df->n_columns;
    conv->cols = sl_arena_alloc(&conv->arena, sizeof(column_plan) * (conv->n_cols + 1));
    conv->root = sl_arena_alloc(&conv->arena, sizeof(node));
    for (uint32_t i = 0; i < conv->n_cols; i++) {
        int rc = plan_column(conv, i, err);
        if (rc) {
            sl_converter_free(conv);
            return rc;
        }
    }
    *out = conv;
    return 0;
}

void sl_converter_free(sl_converter *conv)
{
    if (!conv)
        return;
    sl_arena_free(&conv->arena);
    free(conv);
}

sl_convert_state *sl_convert_state_new(void)
{
    sl_convert_state *st = sl_xcalloc(1, sizeof(*st));
    sl_buf_init(&st->messages, 0);
    sl_buf_init(&st->text, 0);
    sl_encode_scratch_init(&st->scratch);
    return st;
}

void sl_convert_state_free(sl_convert_state *st)
{
    if (!st)
        return;
    free(st->slots);
    free(st->issues);
    sl_buf_free(&st->messages);
    sl_buf_free(&st->text);
    sl_encode_scratch_free(&st->scratch);
    free(st);
}

/* ---- the tree walk ---- */

static int walk(sl_convert_state *st, const node *n, sl_json_cursor *c);

/* Whether an unescaped key (in input that is readable up to `end`) is kc's key. */
static inline bool key_is(const key_child *kc, const sl_json_value *key, const char *end)
{
    size_t n = key->len;
    if (kc->key.len != n)
        return false;
    if (n <= 8 && end - key->ptr >= 8) {
        uint64_t w;
        memcpy(&w, key->ptr, 8);
        return ((w ^ kc->head) & kc->mask) == 0;
    }
    return memcmp(kc->key.ptr, key->ptr, n) == 0;
}

static const node *find_key_slow(const node *n, const sl_json_value *key, const char *end,
                                 uint32_t *hint)
{
    uint32_t nk = n->n_keys;
    if (!(key->flags & SL_JSON_ESCAPED)) {
        /* Rows from one producer list keys in the same order: try the one after the last hit. */
        uint32_t h = *hint < nk ? *hint : 0;
        for (uint32_t k = 0; k < nk; k++) {
            uint32_t i = h + k < nk ? h + k : h + k - nk;
            const key_child *kc = &n->keys[i];
            if (key_is(kc, key, end)) {
                *hint = i + 1;
                return kc->child;
            }
        }
        return NULL;
    }
    for (uint32_t i = 0; i < nk; i++)
        if (sl_json_key_equals(key, n->keys[i].key))
            return n->keys[i].child;
    return NULL;
}

/* Whether the 16 readable bytes at p start with kc's `key":`. */
static inline bool key_pattern_at(const key_child *kc, const char *p)
{
    uint64_t w[2];
    memcpy(w, p, 16);
    return (((w[0] ^ kc->pat[0]) & kc->pat_mask[0]) | ((w[1] ^ kc->pat[1]) & kc->pat_mask[1])) == 0;
}

/* The child for a key, or NULL. The common case, the key after the last hit, is inline. */
static inline const node *find_key(const node *n, const sl_json_value *key, const char *end,
                                   uint32_t *hint)
{
    uint32_t h = *hint;
    if (h < n->n_keys && !(key->flags & SL_JSON_ESCAPED) && key_is(&n->keys[h], key, end)) {
        *hint = h + 1;
        return n->keys[h].child;
    }
    return find_key_slow(n, key, end, hint);
}

/* Records a value in the slots of the columns capturing it at node n. */
static inline void capture(sl_convert_state *st, const node *n, const sl_json_value *v)
{
    for (uint32_t i = 0; i < n->n_captures; i++) {
        slot *s = &st->slots[n->captures[i]];
        s->duplicate = s->gen == st->gen;
        s->gen = st->gen;
        s->v = *v;
    }
}

/* A member no node needs: plain strings and numbers inline, the rest validated by the scanner. */
static inline int skip_value(sl_json_cursor *c)
{
    const char *p = c->p, *end = c->end, *q = NULL;
    if (p < end && *p == '"') {
        if ((q = sl_json_plain_string_end(p + 1, end)) != NULL) {
            c->p = q + 1;
            return 0;
        }
    } else if (p < end && *p != '{' && *p != '[') {
        sl_json_value v;
        return sl_json_scan_value_fast(c, &v);
    }
    return sl_json_skip_value(c);
}

/* The members of an object from the cursor on (just after its '{', or after a member's value),
 * with the general iterator: whitespace, escaped keys, errors. */
static int object_members(sl_convert_state *st, const node *n, sl_json_cursor *c, uint32_t *hint)
{
    sl_json_value key;
    int r;
    while ((r = sl_json_object_next(c, &key)) == 1) {
        const node *child = find_key(n, &key, c->end, hint);
        r = child ? walk(st, child, c) : skip_value(c);
        if (r < 0)
            return r;
    }
    return r;
}

/* An object whose '{' is at the cursor. Compact members with plain keys are read here; at the
 * first anything else the general iterator takes over at the start of that member: it keeps no
 * state of its own, so it resumes there as if it had read the members before. */
static int walk_object(sl_convert_state *st, const node *n, sl_json_cursor *c)
{
    uint32_t hint = 0;
    const char *p = c->p, *end = c->end;
    if (p >= end || *p != '{' || c->depth >= SL_JSON_MAX_DEPTH) {
        int r = sl_json_object_begin(c);
        return r < 0 ? r : object_members(st, n, c, &hint);
    }
    c->depth++;
    const char *member = ++p; /* where the general iterator would resume */
    if (p < end && *p == '}') {
        c->p = p + 1;
        c->depth--;
        return 0;
    }
    while (p < end && *p == '"') {
        const key_child *kc = hint < n->n_keys ? &n->keys[hint] : NULL;
        const node *child;
        if (kc && kc->has_pat && end - p > 16 && key_pattern_at(kc, p + 1)) {
            child = kc->child; /* the member that came next in the previous row */
            hint++;
            c->p = p + 1 + kc->key.len + 2;
        } else {
            const char *q = sl_json_plain_string_end(p + 1, end);
            if (!q || end - q < 2 || q[1] != ':')
                break;
            sl_json_value key = {SL_JSON_STRING, 0, p + 1, (size_t)(q - p - 1)};
            child = find_key(n, &key, end, &hint);
            c->p = q + 2;
        }
        int r;
        if (child && !child->n_keys && !child->n_indexes) { /* a leaf: no call */
            sl_json_value v;
            if ((r = sl_json_scan_value_fast(c, &v)) < 0)
                return r;
            capture(st, child, &v);
        } else if ((r = child ? walk(st, child, c) : skip_value(c)) < 0) {
            return r;
        }
        member = p = c->p;
        if (p < end && *p == '}') {
            c->p = p + 1;
            c->depth--;
            return 0;
        }
        if (p >= end || *p != ',')
            break;
        p++;
    }
    c->p = member;
    return object_members(st, n, c, &hint);
}

static int walk_children(sl_convert_state *st, const node *n, sl_json_cursor *c, sl_json_kind kind)
{
    int r;
    if (kind == SL_JSON_OBJECT && n->n_keys)
        return walk_object(st, n, c);
    if (kind == SL_JSON_ARRAY && n->n_indexes) {
        if ((r = sl_json_array_begin(c)) < 0)
            return r;
        uint32_t i = 0;
        while ((r = sl_json_array_next(c)) == 1) {
            const node *child = NULL;
            for (uint32_t k = 0; k < n->n_indexes; k++)
                if (n->indexes[k].index == i)
                    child = n->indexes[k].child;
            r = child ? walk(st, child, c) : sl_json_skip_value(c);
            if (r < 0)
                return r;
            i++;
        }
        return r;
    }
    return sl_json_skip_value(c);
}

static int walk(sl_convert_state *st, const node *n, sl_json_cursor *c)
{
    sl_json_value v;
    int r;
    sl_json_kind kind = SL_JSON_NONE;
    if (n->n_keys || n->n_indexes || n->n_captures == 0) /* a leaf needs no peek */
        kind = c->p < c->end && *c->p == '{' ? SL_JSON_OBJECT : sl_json_peek(c);
    if (n->n_captures == 0)
        return walk_children(st, n, c, kind);

    if ((kind == SL_JSON_OBJECT && n->n_keys) || (kind == SL_JSON_ARRAY && n->n_indexes)) {
        /* Captured whole and read by parts: one pass over the value does both; the walk
         * validates all of it, and c->ws tells whether its text holds whitespace. */
        const char *begin = c->p;
        int depth = c->depth;
        bool ws_before = c->ws;
        c->ws = false;
        r = walk_children(st, n, c, kind);
        if (r < 0) {
            /* Report what scanning the whole value reports (the iterators word a few syntax
             * errors differently); it fails too, the value being invalid. */
            int first = r;
            c->p = begin;
            c->depth = depth;
            r = sl_json_scan_value(c, &v);
            return r < 0 ? r : first;
        }
        v.kind = kind;
        v.flags = c->ws ? SL_JSON_WHITESPACE : 0;
        v.ptr = begin;
        v.len = (size_t)(c->p - begin);
        c->ws = c->ws || ws_before;
    } else if ((r = sl_json_scan_value_fast(c, &v)) < 0) {
        return r;
    }
    capture(st, n, &v);
    return 0;
}

/* ---- encoding ---- */

static int add_issue(sl_convert_state *st, uint32_t column, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int add_issue(sl_convert_state *st, uint32_t column, const char *fmt, ...)
{
    if (st->n_issues == st->cap_issues) {
        st->cap_issues = st->cap_issues ? st->cap_issues * 2 : 8;
        st->issues = sl_xrealloc(st->issues, sizeof(issue) * st->cap_issues);
    }
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    size_t len = (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1;
    issue *is = &st->issues[st->n_issues++];
    is->column = column;
    is->msg_off = st->messages.len;
    is->msg_len = len;
    return sl_buf_append(&st->messages, tmp, len);
}

#define COLFMT "column '%.*s' (%.*s) at '%.*s'"
#define COLARGS(cp)                                                                                \
    (int)(cp)->col->name.len, (cp)->col->name.ptr, (int)(cp)->col->type_text.len,                  \
        (cp)->col->type_text.ptr, (int)(cp)->path->text.len, (cp)->path->text.ptr

static int encode_path(sl_convert_state *st, const sl_type *t, const sl_json_value *v,
                       const sl_jsonpath_step *steps, uint32_t n_steps, sl_buf *out, sl_error *err);

/* Encodes the value a remainder step leads to, or the element's absence. */
static int encode_found(sl_convert_state *st, const sl_type *t, const sl_json_value *v, bool found,
                        const sl_jsonpath_step *steps, uint32_t n_steps, sl_buf *out, sl_error *err)
{
    if (found && v->kind != SL_JSON_NULL)
        return encode_path(st, t, v, steps, n_steps, out, err);
    if (n_steps == 0 && is_nullable(t))
        return sl_buf_append(out, "\x01", 1);
    if (sl_type_encode_empty(t, out) == 1)
        return 0;
    return sl_error_set(err, SL_EMISSING, "an element has no value there", 0);
}

static inline int room(sl_buf *b, size_t n);

/* Reads the object at the cursor through its closing '}'; *found is the first member named
 * `name` (*have says whether there is one). */
static int find_member(sl_json_cursor *c, sl_str name, sl_json_value *found, bool *have)
{
    sl_json_value key;
    int r;
    if ((r = sl_json_object_begin(c)) < 0)
        return r;
    while ((r = sl_json_object_next(c, &key)) == 1) {
        if (!*have && sl_json_key_equals(&key, name)) {
            if ((r = sl_json_scan_value_fast(c, found)) < 0)
                return r;
            *have = true;
        } else if ((r = skip_value(c)) < 0) {
            return r;
        }
    }
    return r;
}

/* Applies a remainder path (starting at an EACH step) to a captured value, encoding type t. */
static int encode_path(sl_convert_state *st, const sl_type *t, const sl_json_value *v,
                       const sl_jsonpath_step *steps, uint32_t n_steps, sl_buf *out, sl_error *err)
{
    if (n_steps == 0)
        return sl_type_encode(t, v, &st->scratch, out, err);

    const sl_jsonpath_step *s = &steps[0];
    sl_json_cursor c;
    sl_json_cursor_init(&c, v->ptr, v->len, NULL);
    int r;
    if (s->kind == SL_STEP_EACH) {
        const sl_type *arr = strip_wrappers(t);
        if (arr->kind != SL_TYPE_ARRAY || v->kind != SL_JSON_ARRAY)
            return sl_error_set(err, SL_EVALUE,
                                v->kind == SL_JSON_ARRAY
                                    ? "the type has fewer array levels than the path"
                                    : "expected an array for [:]",
                                0);
        /* One pass: a one-byte count placeholder, widened afterwards if the count needs it. */
        uint64_t count = 0;
        if ((r = sl_json_array_begin(&c)) < 0 || (r = room(out, 1)) < 0)
            return r;
        size_t at = out->len++;
        bool by_key = n_steps > 1 && steps[1].kind == SL_STEP_KEY;
        while ((r = sl_json_array_next(&c)) == 1) {
            sl_json_value e;
            if (by_key && c.p < c.end && *c.p == '{') {
                /* [:].key over objects: look the key up in place instead of scanning the
                 * element first and then again by member. */
                bool have = false;
                e.kind = SL_JSON_NONE;
                if ((r = find_member(&c, steps[1].key, &e, &have)) < 0)
                    return r;
                r = encode_found(st, arr->children[0], &e, have, steps + 2, n_steps - 2, out, err);
            } else {
                if ((r = sl_json_scan_value_fast(&c, &e)) < 0)
                    return r;
                r = encode_found(st, arr->children[0], &e, true, steps + 1, n_steps - 1, out, err);
            }
            if (r < 0)
                return r;
            count++;
        }
        return r < 0 ? r : sl_buf_patch_varuint(out, at, count);
    }

    sl_json_value found = {0};
    bool have = false;
    if (s->kind == SL_STEP_KEY && v->kind == SL_JSON_OBJECT) {
        if ((r = find_member(&c, s->key, &found, &have)) < 0)
            return r;
    } else if (s->kind == SL_STEP_INDEX && v->kind == SL_JSON_ARRAY) {
        uint32_t i = 0;
        if ((r = sl_json_array_begin(&c)) < 0)
            return r;
        while ((r = sl_json_array_next(&c)) == 1) {
            if (i++ == s->index && !have) {
                if ((r = sl_json_scan_value(&c, &found)) < 0)
                    return r;
                have = true;
            } else if ((r = sl_json_skip_value(&c)) < 0) {
                return r;
            }
        }
    }
    return encode_found(st, t, &found, have, steps + 1, n_steps - 1, out, err);
}

/* Writes the JSON text a remainder path extracts from v (for the quarantine's copy of it). */
static int extract_text(const sl_json_value *v, const sl_jsonpath_step *steps, uint32_t n_steps,
                        sl_buf *out)
{
    if (n_steps == 0)
        return sl_json_compact(v, out);
    const sl_jsonpath_step *s = &steps[0];
    sl_json_cursor c;
    sl_json_cursor_init(&c, v->ptr, v->len, NULL);
    int r = 0;
    if (s->kind == SL_STEP_EACH) {
        if (v->kind != SL_JSON_ARRAY)
            return sl_buf_append(out, "null", 4);
        bool first = true;
        sl_buf_append(out, "[", 1);
        sl_json_array_begin(&c);
        while ((r = sl_json_array_next(&c)) == 1) {
            sl_json_value e;
            if ((r = sl_json_scan_value(&c, &e)) < 0)
                return r;
            if (!first)
                sl_buf_append(out, ",", 1);
            first = false;
            if ((r = extract_text(&e, steps + 1, n_steps - 1, out)) < 0)
                return r;
        }
        return sl_buf_append(out, "]", 1);
    }
    sl_json_value key, e;
    if (s->kind == SL_STEP_KEY && v->kind == SL_JSON_OBJECT) {
        sl_json_object_begin(&c);
        while ((r = sl_json_object_next(&c, &key)) == 1) {
            if ((r = sl_json_scan_value(&c, &e)) < 0)
                return r;
            if (sl_json_key_equals(&key, s->key))
                return extract_text(&e, steps + 1, n_steps - 1, out);
        }
    } else if (s->kind == SL_STEP_INDEX && v->kind == SL_JSON_ARRAY) {
        uint32_t i = 0;
        sl_json_array_begin(&c);
        while ((r = sl_json_array_next(&c)) == 1) {
            if ((r = sl_json_scan_value(&c, &e)) < 0)
                return r;
            if (i++ == s->index)
                return extract_text(&e, steps + 1, n_steps - 1, out);
        }
    }
    return r < 0 ? r : sl_buf_append(out, "null", 4);
}

static bool is_buffer_error(int rc)
{
    return rc == SL_ETOOBIG || rc == SL_ENOMEM;
}

/* ---- leaf fast paths ----
 *
 * Most values of a data source are the plain, valid, common case of a few leaf types. These
 * encoders write such a value (the "not default" byte and the RowBinary value) with one room
 * check and no calls, and decline (DECLINED) anything else: other JSON kinds, escapes, other
 * spellings, out-of-range or invalid values. A declined value goes through sl_type_encode, so
 * every rule and every message stays the type module's; what these accept they encode exactly
 * as it would. A value is checked before room is made, so an invalid value near a buffer's cap
 * is still a quarantine issue and not SL_ETOOBIG, as in the general path. */

#define DECLINED 1

/* Room for n more bytes; the common case is one comparison. */
static inline int room(sl_buf *b, size_t n)
{
    return n <= b->alloc - b->len ? 0 : sl_buf_reserve(b, n);
}

static inline uint8_t *put_varuint(uint8_t *o, uint64_t n)
{
    while (n >= 0x80) {
        *o++ = (uint8_t)(n | 0x80);
        n >>= 7;
    }
    *o++ = (uint8_t)n;
    return o;
}

static inline void put_le64(uint8_t *o, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(o, &v, 8);
#else
    for (int i = 0; i < 8; i++)
        o[i] = (uint8_t)(v >> (8 * i));
#endif
}

/* memcpy for the short strings of most columns: up to 32 bytes in overlapping moves that stay
 * inside both ranges, no call. */
static inline void copy_bytes(uint8_t *o, const char *p, size_t n)
{
    uint64_t a, b, c, d;
    if (n >= 8 && n <= 16) {
        memcpy(&a, p, 8);
        memcpy(&b, p + n - 8, 8);
        memcpy(o, &a, 8);
        memcpy(o + n - 8, &b, 8);
    } else if (n > 16 && n <= 32) {
        memcpy(&a, p, 8);
        memcpy(&b, p + 8, 8);
        memcpy(&c, p + n - 16, 8);
        memcpy(&d, p + n - 8, 8);
        memcpy(o, &a, 8);
        memcpy(o + 8, &b, 8);
        memcpy(o + n - 16, &c, 8);
        memcpy(o + n - 8, &d, 8);
    } else if (n >= 4 && n < 8) {
        uint32_t x, y;
        memcpy(&x, p, 4);
        memcpy(&y, p + n - 4, 4);
        memcpy(o, &x, 4);
        memcpy(o + n - 4, &y, 4);
    } else if (n > 0 && n < 4) { /* bytes 0, n/2 and n-1 cover 1 to 3 bytes */
        uint8_t x = (uint8_t)p[0], y = (uint8_t)p[n / 2], z = (uint8_t)p[n - 1];
        o[0] = x;
        o[n / 2] = y;
        o[n - 1] = z;
    } else if (n > 32) {
        memcpy(o, p, n);
    }
}

/* String: an unescaped string's contents, or the text of a number, a boolean, or an object or
 * array without whitespace (only those two kinds can have SL_JSON_WHITESPACE). */
static int fast_string(const sl_json_value *v, sl_buf *out)
{
    if (v->flags & (SL_JSON_ESCAPED | SL_JSON_WHITESPACE) || v->kind == SL_JSON_NULL ||
        v->kind == SL_JSON_NONE)
        return DECLINED;
    size_t n = v->len;
    int rc = room(out, n + 11);
    if (rc)
        return rc;
    uint8_t *o = out->data + out->len;
    *o++ = 0;
    o = put_varuint(o, n);
    copy_bytes(o, v->ptr, n);
    out->len = (size_t)(o - out->data) + n;
    return 0;
}

/* 0x10 | value for the 22 hex digits, 0 for every other byte. */
#define HX(ch, val) [ch] = 0x10 | (val)
static const uint8_t hex_tab[256] = {
    HX('0', 0),  HX('1', 1),  HX('2', 2),  HX('3', 3),  HX('4', 4),  HX('5', 5),
    HX('6', 6),  HX('7', 7),  HX('8', 8),  HX('9', 9),  HX('a', 10), HX('b', 11),
    HX('c', 12), HX('d', 13), HX('e', 14), HX('f', 15), HX('A', 10), HX('B', 11),
    HX('C', 12), HX('D', 13), HX('E', 14), HX('F', 15),
};
#undef HX

/* Four hex digits at p as a number; *all keeps 0x10 only if every digit was valid. */
static inline uint64_t hex4(const char *p, unsigned *all)
{
    unsigned a = hex_tab[(unsigned char)p[0]], b = hex_tab[(unsigned char)p[1]],
             c = hex_tab[(unsigned char)p[2]], d = hex_tab[(unsigned char)p[3]];
    *all &= a & b & c & d;
    return (uint64_t)((a & 15) << 12 | (b & 15) << 8 | (c & 15) << 4 | (d & 15));
}

/* UUID in the dashed 8-4-4-4-12 form: two little-endian UInt64 halves, the first 16 hex digits
 * (the high half) first. */
static int fast_uuid(const sl_json_value *v, sl_buf *out)
{
    const char *s = v->ptr;
    if (v->kind != SL_JSON_STRING || (v->flags & SL_JSON_ESCAPED) || v->len != 36 || s[8] != '-' ||
        s[13] != '-' || s[18] != '-' || s[23] != '-')
        return DECLINED;
    unsigned all = 0x10;
    uint64_t hi = hex4(s, &all) << 48 | hex4(s + 4, &all) << 32 | hex4(s + 9, &all) << 16 |
                  hex4(s + 14, &all);
    uint64_t lo = hex4(s + 19, &all) << 48 | hex4(s + 24, &all) << 32 | hex4(s + 28, &all) << 16 |
                  hex4(s + 32, &all);
    if (!all)
        return DECLINED;
    int rc = room(out, 17);
    if (rc)
        return rc;
    uint8_t *o = out->data + out->len;
    o[0] = 0;
    put_le64(o + 1, hi);
    put_le64(o + 9, lo);
    out->len += 17;
    return 0;
}

/* Array(String) of compact, unescaped strings (fewer than 128, each shorter than 16 KiB), as
 * the Array encoder writes them. Output never exceeds the text: each element's quotes pay for
 * its length prefix, the brackets for the flag and the count. A buffer that cannot take that
 * much declines; the general path then decides between SL_ETOOBIG and a refused value. */
static int fast_array_string(const sl_json_value *v, sl_buf *out)
{
    if (v->kind != SL_JSON_ARRAY || (v->flags & SL_JSON_WHITESPACE) || room(out, v->len + 2))
        return DECLINED;
    uint8_t *o = out->data + out->len + 2;
    const char *p = v->ptr + 1, *end = v->ptr + v->len - 1; /* at the ']' */
    unsigned count = 0;
    while (p < end) {
        if (*p != '"' || count == 127)
            return DECLINED;
        /* The scanner validated the array, so the string's closing quote comes before end. */
        const char *q = ++p;
        while (*q != '"' && *q != '\\')
            q++;
        size_t n = (size_t)(q - p);
        if (*q == '\\' || n >= 16384)
            return DECLINED;
        o = put_varuint(o, n);
        memcpy(o, p, n);
        o += n;
        count++;
        p = q + 1;
        if (*p == ',')
            p++;
    }
    out->data[out->len] = 0;
    out->data[out->len + 1] = (uint8_t)count;
    out->len = (size_t)(o - out->data);
    return 0;
}

/* (U)Int8..64 from a JSON integer of at most 19 digits (no overflow in uint64) in range. */
static int fast_int(const column_plan *cp, const sl_json_value *v, sl_buf *out)
{
    if (v->kind != SL_JSON_NUMBER || (v->flags & (SL_JSON_FRACTION | SL_JSON_EXPONENT)))
        return DECLINED;
    bool neg = (v->flags & SL_JSON_NEGATIVE) != 0;
    if (neg && cp->fast == FAST_UINT)
        return DECLINED; /* ClickHouse refuses even "-0" there */
    const char *p = v->ptr + neg;
    size_t n = v->len - neg;
    if (n > 19)
        return DECLINED;
    uint64_t m = sl_json_digits_value(p, n);
    unsigned size = cp->fast_size, bits = size * 8;
    uint64_t limit = cp->fast == FAST_UINT ? (bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1)
                                           : ((uint64_t)1 << (bits - 1)) - (neg ? 0 : 1);
    if (m > limit)
        return DECLINED;
    if (neg)
        m = (uint64_t)0 - m;
    int rc = room(out, 9);
    if (rc)
        return rc;
    uint8_t *o = out->data + out->len;
    o[0] = 0;
    if (size == 8) {
        put_le64(o + 1, m);
    } else {
        for (unsigned i = 0; i < size; i++)
            o[1 + i] = (uint8_t)(m >> (8 * i));
    }
    out->len += 1 + size;
    return 0;
}

/* Float64 from a JSON number (sl_json_number_to_double is what the Float64 encoder uses). */
static int fast_float64(const sl_json_value *v, sl_buf *out)
{
    double d;
    if (v->kind != SL_JSON_NUMBER || sl_json_number_to_double(v, &d) != 0)
        return DECLINED;
    int rc = room(out, 9);
    if (rc)
        return rc;
    uint64_t u;
    memcpy(&u, &d, 8);
    uint8_t *o = out->data + out->len;
    o[0] = 0;
    put_le64(o + 1, u);
    out->len += 9;
    return 0;
}

static inline bool two_digits(const char *p, unsigned *out)
{
    unsigned a = (unsigned)(unsigned char)p[0] - '0', b = (unsigned)(unsigned char)p[1] - '0';
    *out = a * 10 + b;
    return a < 10 && b < 10;
}

/* Whether "YYYY-MM-DD" at s (10 readable bytes) is a valid date with a year in [ylo, yhi]; the
 * fields are validated as sl_datetime does. */
static inline bool iso_date(const char *s, unsigned ylo, unsigned yhi, unsigned *y, unsigned *mo,
                            unsigned *d)
{
    static const uint8_t dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned yh, yl;
    if (s[4] != '-' || s[7] != '-' || !two_digits(s, &yh) || !two_digits(s + 2, &yl) ||
        !two_digits(s + 5, mo) || !two_digits(s + 8, d))
        return false;
    *y = yh * 100 + yl;
    if (*y < ylo || *y > yhi || *mo < 1 || *mo > 12 || *d < 1)
        return false;
    bool leap = (*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0;
    return *d <= dim[*mo - 1] + (*mo == 2 && leap ? 1u : 0u);
}

/* "YYYY-MM-DD[T ]hh:mm:ss[.f+][Z|±hh[[:]mm]]" as seconds since the epoch (UTC) and nanoseconds.
 * Declines (false) anything else, a fraction when !frac, and years outside [ylo, yhi] (one year
 * narrower on each side with an offset, which moves the time by up to 14 hours): the callers
 * choose limits inside their type's range. Always inlined (sl_json.h's macro): with the callers'
 * constant limits most checks fold away. */
SL_JSON_INLINE bool iso_datetime(const char *s, size_t n, bool frac, unsigned ylo, unsigned yhi,
                                 int64_t *secs, uint32_t *nanos_out)
{
    unsigned y, mo, d, h, mi, se;
    if (n < 19 || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':' ||
        !iso_date(s, ylo, yhi, &y, &mo, &d) || !two_digits(s + 11, &h) ||
        !two_digits(s + 14, &mi) || !two_digits(s + 17, &se) || h > 23 || mi > 59 || se > 59)
        return false;
    size_t i = 19;
    uint32_t nanos = 0;
    if (i < n && s[i] == '.') {
        if (!frac)
            return false;
        size_t from = ++i;
        unsigned k = 0;
        for (; i < n && (unsigned)(unsigned char)s[i] - '0' < 10; i++) {
            if (k < 9) {
                nanos = nanos * 10 + (uint32_t)(s[i] - '0');
                k++;
            }
        }
        if (i == from)
            return false;
        for (; k < 9; k++)
            nanos *= 10;
    }
    int32_t off = 0;
    if (i < n && s[i] == 'Z') {
        i++;
    } else if (i + 3 <= n && (s[i] == '+' || s[i] == '-')) {
        /* ±hh, ±hhmm or ±hh:mm, at most 14:00, as sl_datetime reads it. */
        unsigned oh, om = 0;
        if (!two_digits(s + i + 1, &oh) || y <= ylo || y >= yhi)
            return false;
        size_t j = i + 3;
        bool colon = j < n && s[j] == ':';
        j += colon;
        if (colon || j < n) {
            if (j + 2 > n || !two_digits(s + j, &om))
                return false;
            j += 2;
        }
        off = (int32_t)(oh * 3600 + om * 60);
        if (om > 59 || off > 14 * 3600)
            return false;
        off = s[i] == '-' ? -off : off;
        i = j;
    }
    if (i != n)
        return false;
    *secs = sl_days_from_civil(y, mo, d) * 86400 + (int64_t)(h * 3600 + mi * 60 + se) - off;
    *nanos_out = nanos;
    return true;
}

/* DateTime64 in UTC, years 1900..2261: every scale is in range and cannot overflow. */
static int fast_datetime64(const column_plan *cp, const sl_json_value *v, sl_buf *out)
{
    static const int64_t pow10[10] = {1,      10,      100,      1000,      10000,
                                      100000, 1000000, 10000000, 100000000, 1000000000};
    int64_t secs;
    uint32_t nanos;
    if (v->kind != SL_JSON_STRING || (v->flags & SL_JSON_ESCAPED) ||
        !iso_datetime(v->ptr, v->len, true, 1900, 2261, &secs, &nanos))
        return DECLINED;
    int64_t p = pow10[cp->fast_size];
    int64_t ticks = secs * p + (int64_t)(nanos / (uint32_t)(1000000000 / p));
    int rc = room(out, 9);
    if (rc)
        return rc;
    uint8_t *o = out->data + out->len;
    o[0] = 0;
    put_le64(o + 1, (uint64_t)ticks);
    out->len += 9;
    return 0;
}

/* DateTime in UTC, years 1971..2105 (inside its 1970..2106 range), whole seconds. */
static int fast_datetime(const sl_json_value *v, sl_buf *out)
{
    int64_t secs;
    uint32_t nanos;
    if (v->kind != SL_JSON_STRING || (v->flags & SL_JSON_ESCAPED) ||
        !iso_datetime(v->ptr, v->len, false, 1971, 2105, &secs, &nanos))
        return DECLINED;
    int rc = room(out, 5);
    if (rc)
        return rc;
    uint8_t *o = out->data + out->len;
    uint32_t u = (uint32_t)secs;
    o[0] = 0;
    for (int k = 0; k < 4; k++)
        o[1 + k] = (uint8_t)(u >> (8 * k));
    out->len += 5;
    return 0;
}

/* Date from "YYYY-MM-DD", years 1970..2148 (inside its range, up to 2149-06-06). */
static int fast_date(const sl_json_value *v, sl_buf *out)
{
    unsigned y, mo, d;
    if (v->kind != SL_JSON_STRING || (v->flags & SL_JSON_ESCAPED) || v->len != 10 ||
        !iso_date(v->ptr, 1970, 2148, &y, &mo, &d))
        return DECLINED;
    int rc = room(out, 3);
    if (rc)
        return rc;
    uint64_t days = (uint64_t)sl_days_from_civil(y, mo, d);
    uint8_t *o = out->data + out->len;
    o[0] = 0;
    o[1] = (uint8_t)days;
    o[2] = (uint8_t)(days >> 8);
    out->len += 3;
    return 0;
}

/* 0 when the value was written, DECLINED, or an output-buffer error. */
static inline int encode_fast(const column_plan *cp, const sl_json_value *v, sl_buf *out)
{
    switch (cp->fast) {
    case FAST_STRING: return fast_string(v, out);
    case FAST_ARRAY_STRING: return fast_array_string(v, out);
    case FAST_UUID: return fast_uuid(v, out);
    case FAST_UINT:
    case FAST_INT: return fast_int(cp, v, out);
    case FAST_FLOAT64: return fast_float64(v, out);
    case FAST_DATETIME64: return fast_datetime64(cp, v, out);
    case FAST_DATETIME: return fast_datetime(v, out);
    case FAST_DATE: return fast_date(v, out);
    default: return DECLINED;
    }
}

/* Encodes column i of the current row into `rows`. A value the column refuses becomes an issue
 * (return 0); only output-buffer failures are returned. */
static int encode_column(const sl_converter *conv, sl_convert_state *st, uint32_t i, sl_buf *rows)
{
    const column_plan *cp = &conv->cols[i];
    const slot *s = &st->slots[i];
    bool present = s->gen == st->gen && s->v.kind != SL_JSON_NULL;
    int rc;

    if (s->gen == st->gen && s->duplicate)
        return add_issue(st, i, COLFMT ": the row has more than one value there", COLARGS(cp));

    if (!present) {
        if (cp->col->has_default)
            return sl_buf_append(rows, "\x01", 1);
        if (is_nullable(cp->type))
            return sl_buf_append(rows, "\x00\x01", 2);
        if (cp->empty_when_absent) {
            if ((rc = sl_buf_append(rows, "\x00", 1)) < 0)
                return rc;
            return sl_type_encode_empty(cp->type, rows) == 1 ? 0 : SL_EINVAL;
        }
        return add_issue(st, i,
                         "column '%.*s' has no value at '%.*s'; send one or make it Nullable or "
                         "give it a DEFAULT",
                         (int)cp->col->name.len, cp->col->name.ptr, (int)cp->path->text.len,
                         cp->path->text.ptr);
    }
    if (cp->fast != FAST_NONE && (rc = encode_fast(cp, &s->v, rows)) != DECLINED)
        return rc;

    if ((rc = room(rows, 1)) < 0)
        return rc;
    rows->data[rows->len++] = 0; /* not the default */
    size_t mark = rows->len;
    sl_error err; /* not zeroed: 200+ bytes per column would show in profiles */
    err.code = 0;
    err.msg = NULL;
    rc = cp->n_remainder
             ? encode_path(st, cp->type, &s->v, cp->remainder, cp->n_remainder, rows, &err)
             : sl_type_encode(cp->type, &s->v, &st->scratch, rows, &err);
    if (rc == 0)
        return 0;
    if (is_buffer_error(rc))
        return rc;
    rows->len = mark;
    return add_issue(st, i, COLFMT ": %s", COLARGS(cp), err.msg ? err.msg : sl_strerror(rc));
}

/* Appends a quarantine row: errors, import id, every column's extracted text, the raw line. */
static int write_quarantine(const sl_converter *conv, sl_convert_state *st, sl_str raw,
                            bool values_valid, const sl_convert_options *opt, sl_buf *q)
{
    int rc = sl_buf_append_varuint(q, st->n_issues);
    for (uint32_t k = 0; rc == 0 && k < st->n_issues; k++) {
        uint32_t c = st->issues[k].column;
        sl_str name = c == NO_COLUMN ? SL_STR("") : conv->cols[c].col->name;
        rc = sl_buf_append_rb_string(q, name.ptr, name.len);
    }
    if (rc == 0)
        rc = sl_buf_append_varuint(q, st->n_issues);
    for (uint32_t k = 0; rc == 0 && k < st->n_issues; k++)
        rc = sl_buf_append_rb_string(q, st->messages.data + st->issues[k].msg_off,
                                     st->issues[k].msg_len);
    if (rc == 0) {
        if (opt && opt->import_id.ptr) {
            rc = sl_buf_append(q, "\x00", 1);
            if (rc == 0)
                rc = sl_buf_append_rb_string(q, opt->import_id.ptr, opt->import_id.len);
        } else {
            rc = sl_buf_append(q, "\x01", 1);
        }
    }
    for (uint32_t i = 0; rc == 0 && i < conv->n_cols; i++) {
        const slot *s = &st->slots[i];
        if (!values_valid || s->gen != st->gen || s->v.kind == SL_JSON_NULL) {
            rc = sl_buf_append(q, "\x01", 1);
            continue;
        }
        const column_plan *cp = &conv->cols[i];
        st->text.len = 0;
        if (cp->n_remainder)
            rc = extract_text(&s->v, cp->remainder, cp->n_remainder, &st->text);
        else if (s->v.kind == SL_JSON_STRING)
            rc = sl_json_decode_string(&s->v, &st->text);
        else
            rc = sl_json_compact(&s->v, &st->text);
        if (rc == 0)
            rc = sl_buf_append(q, "\x00", 1);
        if (rc == 0)
            rc = sl_buf_append_rb_string(q, st->text.data, st->text.len);
    }
    if (rc == 0)
        rc = sl_buf_append_rb_string(q, raw.ptr, raw.len);
    return rc;
}

static void report_issues(const sl_converter *conv, const sl_convert_state *st, uint64_t line,
                          const sl_convert_options *opt)
{
    if (!opt || !opt->report)
        return;
    for (uint32_t k = 0; k < st->n_issues; k++) {
        uint32_t c = st->issues[k].column;
        sl_convert_issue is = {
            .line = line,
            .column = c == NO_COLUMN ? SL_STR("") : conv->cols[c].col->name,
            .message = {(const char *)st->messages.data + st->issues[k].msg_off,
                        st->issues[k].msg_len},
        };
        opt->report(opt->report_ud, &is);
    }
}

static const char *kind_name(sl_json_kind k)
{
    switch (k) {
    case SL_JSON_OBJECT: return "an object";
    case SL_JSON_ARRAY: return "an array";
    case SL_JSON_STRING: return "a string";
    case SL_JSON_NUMBER: return "a number";
    case SL_JSON_TRUE:
    case SL_JSON_FALSE: return "a boolean";
    case SL_JSON_NULL: return "null";
    default: return "nothing";
    }
}

/* Result of scanning one row. */
typedef enum { ROW_OK, ROW_BAD, ROW_INCOMPLETE } row_scan;

/* Walks one row held in [p, end). On success *used is the number of bytes the value took. */
static row_scan scan_row(const sl_converter *conv, sl_convert_state *st, const char *p,
                         const char *end, bool must_end, size_t *used, sl_error *err)
{
    sl_json_cursor c;
    sl_json_cursor_init(&c, p, (size_t)(end - p), err);
    st->gen++;
    st->n_issues = 0;
    st->messages.len = 0;
    sl_json_kind k = sl_json_peek(&c);
    if (k != SL_JSON_OBJECT) {
        if (k == SL_JSON_NONE) {
            sl_json_skip_value(&c); /* fills err with the syntax problem */
            return ROW_BAD;
        }
        if (sl_json_skip_value(&c) < 0)
            return ROW_BAD;
        sl_error_setf(err, SL_EVALUE, 0, "a row must be a JSON object, got %s", kind_name(k));
        return ROW_BAD;
    }
    if (walk(st, conv->root, &c) < 0)
        return c.p >= end || (err && err->offset >= (size_t)(end - p)) ? ROW_INCOMPLETE : ROW_BAD;
    *used = (size_t)(c.p - p);
    if (must_end && !sl_json_at_end(&c)) {
        sl_error_set(err, SL_EJSON, "unexpected data after the row's closing '}'",
                     (size_t)(c.p - p));
        return ROW_BAD;
    }
    return ROW_OK;
}

typedef struct {
    const sl_converter *conv;
    sl_convert_state *st;
    const sl_convert_options *opt;
    sl_buf *rows, *q;
    sl_convert_stats *stats;
} run_ctx;

/* Encodes a scanned row, or quarantines it with a row-level error when err is given. */
static int emit_row(run_ctx *x, sl_str raw, uint64_t line, const sl_error *row_err)
{
    const sl_converter *conv = x->conv;
    sl_convert_state *st = x->st;
    size_t rows_mark = x->rows->len, q_mark = x->q->len;
    int rc = 0;

    if (row_err) {
        st->n_issues = 0;
        st->messages.len = 0;
        rc = add_issue(st, NO_COLUMN, "%s",
                       row_err->msg ? row_err->msg : sl_strerror(row_err->code));
    } else {
        for (uint32_t i = 0; rc == 0 && i < conv->n_cols; i++)
            rc = encode_column(conv, st, i, x->rows);
    }
    if (rc == 0 && st->n_issues == 0) {
        x->stats->rows++;
        return 0;
    }
    x->rows->len = rows_mark;
    if (rc == 0)
        rc = write_quarantine(conv, st, raw, row_err == NULL, x->opt, x->q);
    if (rc != 0) {
        x->q->len = q_mark;
        return rc;
    }
    report_issues(conv, st, line, x->opt);
    x->stats->quarantined++;
    return 0;
}

static size_t count_newlines(const char *p, const char *end)
{
    size_t n = 0;
    while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        n++;
        p++;
    }
    return n;
}

static bool is_blank(const char *p, const char *e)
{
    for (; p < e; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r')
            return false;
    return true;
}

/* A line that starts with '[': a JSON array whose elements are rows. Returns 0 with *next after
 * the array (or at `end`), 1 when not even a first element could be read (the caller then treats
 * the line as an ordinary bad row), or an output-buffer error. */
static int run_array(run_ctx *x, const char *start, const char *end, uint64_t *line,
                     const char **next)
{
    uint64_t n_elems = 0;
    sl_json_cursor c;
    sl_error err = {0};
    sl_json_cursor_init(&c, start, (size_t)(end - start), &err);
    int r = sl_json_array_begin(&c);
    const char *line_pos = start;
    while (r >= 0 && (r = sl_json_array_next(&c)) == 1) {
        const char *elem = c.p;
        sl_json_value v;
        sl_error row_err = {0};
        sl_json_cursor ec;
        sl_json_cursor_init(&ec, elem, (size_t)(end - elem), &row_err);
        if (sl_json_scan_value(&ec, &v) < 0) {
            if (n_elems == 0)
                return 1;
            r = -1;
            err = row_err;
            if (row_err.msg == row_err.detail) /* keep msg pointing into the copy */
                err.msg = err.detail;
            err.offset += (size_t)(elem - start);
            break;
        }
        *line += count_newlines(line_pos, elem);
        line_pos = elem;
        size_t used = 0;
        sl_str raw = {v.ptr, v.len};
        row_scan rs = scan_row(x->conv, x->st, v.ptr, v.ptr + v.len, true, &used, &row_err);
        int rc = emit_row(x, raw, *line, rs == ROW_OK ? NULL : &row_err);
        if (rc)
            return rc;
        c.p = ec.p;
        n_elems++;
    }
    if (r < 0 && n_elems == 0)
        return 1;
    if (r < 0) {
        /* The array itself is broken: what follows cannot be split into rows reliably, so the
         * rest of the body is quarantined as one row. */
        const char *from = c.p < end ? c.p : end;
        *line += count_newlines(line_pos, from);
        sl_str raw = {from, (size_t)(end - from)};
        while (raw.len && (raw.ptr[raw.len - 1] == '\n' || raw.ptr[raw.len - 1] == '\r'))
            raw.len--;
        err.offset = err.offset >= (size_t)(from - start) ? err.offset - (size_t)(from - start) : 0;
        int rc = emit_row(x, raw, *line, &err);
        *line += count_newlines(from, end);
        *next = end;
        return rc;
    }
    *line += count_newlines(line_pos, c.p);
    *next = c.p;
    return 0;
}

int sl_convert(const sl_converter *conv, sl_convert_state *st, sl_str body,
               const sl_convert_options *opt, sl_buf *rows, sl_buf *quarantine,
               sl_convert_stats *stats)
{
    if (st->n_slots < conv->n_cols) {
        st->slots = sl_xrealloc(st->slots, sizeof(slot) * conv->n_cols);
        memset(st->slots, 0, sizeof(slot) * conv->n_cols);
        st->n_slots = conv->n_cols;
        st->gen = 0;
    }
    run_ctx x = {conv, st, opt, rows, quarantine, stats};
    const char *p = body.ptr, *end = body.ptr + body.len;
    uint64_t line = opt && opt->first_line ? opt->first_line : 1;
    uint64_t first = line;

    /* A UTF-8 byte order mark at the start of the body is not part of the data. */
    if (body.len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;

    while (p < end) {
        const char *nl = sl_json_line_end(p, end);
        const char *q = p;
        while (q < nl && (*q == ' ' || *q == '\t' || *q == '\r'))
            q++;
        if (q == nl) { /* blank line */
            if (nl == end)
                break;
            p = nl + 1;
            line++;
            continue;
        }
        if (*q == '[') {
            const char *next;
            int rc = run_array(&x, q, end, &line, &next);
            if (rc < 0)
                return rc;
            if (rc == 0) {
                p = next;
                continue;
            }
        }
        sl_error err; /* not zeroed whole: its 200-byte detail would show in profiles */
        err.code = 0;
        err.msg = NULL;
        err.line = err.column = 0;
        err.offset = 0;
        size_t used = 0;
        row_scan rs = scan_row(conv, st, q, nl, true, &used, &err);
        const char *row_end = nl;
        uint64_t row_line = line;
        if (rs == ROW_INCOMPLETE && nl < end) {
            /* Maybe one value spread over several lines (a pretty-printed object). */
            sl_error err2 = {0};
            row_scan rs2 = scan_row(conv, st, q, end, false, &used, &err2);
            if (rs2 == ROW_OK && is_blank(q + used, sl_json_line_end(q + used, end))) {
                rs = ROW_OK;
                row_end = q + used;
                line += count_newlines(q, row_end);
                row_end = sl_json_line_end(row_end, end);
            } else {
                /* Only the first line is bad: quarantine it and resume after it. The failed
                 * retry overwrote the slots, so rescan the line to keep its values. */
                err = (sl_error){0};
                scan_row(conv, st, q, nl, true, &used, &err);
            }
        }
        sl_str raw = {q, (size_t)(row_end - q)};
        if (raw.len && raw.ptr[raw.len - 1] == '\r') /* the line break is "\r\n" */
            raw.len--;
        int rc = emit_row(&x, raw, row_line, rs == ROW_OK ? NULL : &err);
        if (rc)
            return rc;
        if (row_end == end)
            break;
        p = row_end + 1;
        line++;
    }
    stats->lines += line - first + (body.len && body.ptr[body.len - 1] != '\n' ? 1 : 0);
    return 0;
}

int sl_convert_quarantine_columns(const sl_datafile *df, sl_buf *out)
{
    int rc = sl_buf_append_cstr(out, "`c__error_column` Array(String), `c__error` Array(String), "
                                     "`c__import_id` Nullable(String)");
    for (size_t i = 0; rc == 0 && i < df->n_columns; i++)
        rc = sl_buf_printf(out, ", `%.*s` Nullable(String)", (int)df->columns[i].name.len,
                           df->columns[i].name.ptr);
    if (rc == 0)
        rc = sl_buf_append_cstr(out, ", `c__raw` String, `insertion_date` DateTime DEFAULT now()");
    return rc;
}
