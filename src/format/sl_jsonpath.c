/* JSONPath compiler: Tinybird's subset ($, .name, .['key'], [:]) plus [*], ['key'] and [N]. */
#include "sl_jsonpath.h"

#include <string.h>

#define MAX_STEPS 64

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* Parses a quoted key starting at text[*i] == '\''; decodes \' and \\ into the arena. */
static int parse_quoted_key(sl_str text, size_t *i, sl_arena *arena, sl_str *key, sl_error *err)
{
    size_t start = *i + 1, j = start;
    size_t escapes = 0;
    while (j < text.len && text.ptr[j] != '\'') {
        if (text.ptr[j] == '\\') {
            if (j + 1 >= text.len || (text.ptr[j + 1] != '\'' && text.ptr[j + 1] != '\\'))
                return sl_error_set(err, SL_EPATH,
                                    "only \\' and \\\\ may be escaped inside a quoted key", j);
            escapes++;
            j++;
        }
        j++;
    }
    if (j >= text.len)
        return sl_error_set(err, SL_EPATH, "unterminated quoted key (missing closing ')", *i);
    size_t n = j - start - escapes;
    char *out = sl_arena_alloc(arena, n + 1);
    size_t o = 0;
    for (size_t k = start; k < j; k++) {
        if (text.ptr[k] == '\\')
            k++;
        out[o++] = text.ptr[k];
    }
    *key = (sl_str){out, n};
    *i = j + 1;
    return 0;
}

int sl_jsonpath_parse(sl_str text, sl_arena *arena, const sl_jsonpath **out, sl_error *err)
{
    sl_jsonpath_step steps[MAX_STEPS];
    uint32_t n = 0;
    size_t i = 0;

    if (text.len == 0 || text.ptr[0] != '$')
        return sl_error_set(err, SL_EPATH, "a JSONPath starts with '$'", 0);
    i = 1;
    while (i < text.len) {
        if (n == MAX_STEPS)
            return sl_error_set(err, SL_EPATH, "JSONPath has more than 64 steps", i);
        sl_jsonpath_step *s = &steps[n];
        memset(s, 0, sizeof(*s));
        char c = text.ptr[i];
        if (c == '.') {
            i++;
            if (i < text.len && text.ptr[i] == '[') {
                /* .['key'] */
                if (i + 1 >= text.len || text.ptr[i + 1] != '\'')
                    return sl_error_set(err, SL_EPATH, "expected a quoted key after '.['", i + 1);
                i++;
                int rc = parse_quoted_key(text, &i, arena, &s->key, err);
                if (rc)
                    return rc;
                if (i >= text.len || text.ptr[i] != ']')
                    return sl_error_set(err, SL_EPATH, "expected ']' after the quoted key", i);
                i++;
                s->kind = SL_STEP_KEY;
            } else {
                size_t start = i;
                while (i < text.len && is_name_char(text.ptr[i]))
                    i++;
                if (i == start)
                    return sl_error_set(
                        err, SL_EPATH,
                        "expected a member name ([A-Za-z0-9_-]) or ['quoted key'] after '.'", i);
                s->kind = SL_STEP_KEY;
                s->key = sl_arena_dup(arena, (sl_str){text.ptr + start, i - start});
            }
        } else if (c == '[') {
            i++;
            if (i < text.len && (text.ptr[i] == ':' || text.ptr[i] == '*')) {
                i++;
                if (i >= text.len || text.ptr[i] != ']')
                    return sl_error_set(err, SL_EPATH, "expected ']' to close '[:'", i);
                i++;
                s->kind = SL_STEP_EACH;
            } else if (i < text.len && text.ptr[i] == '\'') {
                int rc = parse_quoted_key(text, &i, arena, &s->key, err);
                if (rc)
                    return rc;
                if (i >= text.len || text.ptr[i] != ']')
                    return sl_error_set(err, SL_EPATH, "expected ']' after the quoted key", i);
                i++;
                s->kind = SL_STEP_KEY;
            } else if (i < text.len && text.ptr[i] >= '0' && text.ptr[i] <= '9') {
                uint64_t v = 0;
                size_t start = i;
                while (i < text.len && text.ptr[i] >= '0' && text.ptr[i] <= '9') {
                    v = v * 10 + (uint64_t)(text.ptr[i] - '0');
                    if (v > 1000000)
                        return sl_error_set(err, SL_EPATH, "array index too large", start);
                    i++;
                }
                if (i >= text.len || text.ptr[i] != ']')
                    return sl_error_set(err, SL_EPATH, "expected ']' after the array index", i);
                i++;
                s->kind = SL_STEP_INDEX;
                s->index = (uint32_t)v;
            } else {
                return sl_error_set(err, SL_EPATH,
                                    "expected ':', '*', a quoted key or an index after '['", i);
            }
        } else {
            return sl_error_set(err, SL_EPATH, "expected '.' or '[' in JSONPath", i);
        }
        n++;
    }

    sl_jsonpath *p = sl_arena_alloc(arena, sizeof(*p));
    sl_jsonpath_step *st = sl_arena_alloc(arena, sizeof(*st) * (n ? n : 1));
    memcpy(st, steps, sizeof(*st) * n);
    p->text = sl_arena_dup(arena, text);
    p->n_steps = n;
    p->steps = st;
    *out = p;
    return 0;
}

static bool key_is_plain(sl_str k)
{
    if (k.len == 0)
        return false;
    for (size_t i = 0; i < k.len; i++)
        if (!is_name_char(k.ptr[i]))
            return false;
    return true;
}

int sl_jsonpath_format(const sl_jsonpath *p, sl_buf *out)
{
    int rc = sl_buf_append(out, "$", 1);
    for (uint32_t i = 0; rc == 0 && i < p->n_steps; i++) {
        const sl_jsonpath_step *s = &p->steps[i];
        switch (s->kind) {
        case SL_STEP_KEY:
            if (key_is_plain(s->key)) {
                rc = sl_buf_append(out, ".", 1);
                if (!rc)
                    rc = sl_buf_append_str(out, s->key);
            } else {
                rc = sl_buf_append(out, ".['", 3);
                for (size_t k = 0; rc == 0 && k < s->key.len; k++) {
                    char c = s->key.ptr[k];
                    if (c == '\'' || c == '\\')
                        rc = sl_buf_append(out, "\\", 1);
                    if (!rc)
                        rc = sl_buf_append(out, &c, 1);
                }
                if (!rc)
                    rc = sl_buf_append(out, "']", 2);
            }
            break;
        case SL_STEP_EACH: rc = sl_buf_append(out, "[:]", 3); break;
        case SL_STEP_INDEX: rc = sl_buf_printf(out, "[%u]", s->index); break;
        }
    }
    return rc;
}

uint32_t sl_jsonpath_each_count(const sl_jsonpath *p)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->n_steps; i++)
        n += p->steps[i].kind == SL_STEP_EACH;
    return n;
}
