/* Fuzz target: the JSONPath compiler. Whatever compiles must print to a canonical form that
 * compiles to the same steps and prints identically. */
#include "sl_jsonpath.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_steps(const sl_jsonpath *a, const sl_jsonpath *b)
{
    if (a->n_steps != b->n_steps)
        abort();
    for (uint32_t i = 0; i < a->n_steps; i++) {
        const sl_jsonpath_step *x = &a->steps[i], *y = &b->steps[i];
        if (x->kind != y->kind || x->index != y->index || !sl_str_eq(x->key, y->key))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_arena arena;
    sl_arena_init(&arena);
    const sl_jsonpath *p = NULL, *q = NULL;
    sl_error err = {0};
    if (sl_jsonpath_parse((sl_str){(const char *)data, size}, &arena, &p, &err) == 0) {
        sl_buf b1, b2;
        sl_buf_init(&b1, 0);
        sl_buf_init(&b2, 0);
        if (sl_jsonpath_format(p, &b1) != 0)
            abort();
        if (sl_jsonpath_parse((sl_str){(const char *)b1.data, b1.len}, &arena, &q, &err) != 0)
            abort();
        same_steps(p, q);
        if (sl_jsonpath_format(q, &b2) != 0 || b1.len != b2.len ||
            memcmp(b1.data, b2.data, b1.len) != 0)
            abort();
        sl_buf_free(&b1);
        sl_buf_free(&b2);
    } else if (err.offset > size || err.msg == NULL) {
        abort();
    }
    sl_arena_free(&arena);
    return 0;
}
