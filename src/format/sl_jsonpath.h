/* JSONPath (SPEC §4): Tinybird's subset and a few extensions, compiled into steps.
 *
 *   $             the whole row
 *   .name         member; name is [A-Za-z0-9_-]+  (also '@' and other bytes >= 0x80 are refused)
 *   .['any key']  member with any key; \' and \\ escape inside the quotes
 *   [:]           every element of an array (an Array column needs one per array level)
 *   [*]           extension: same as [:]
 *   ['key']       extension: same as .['key']
 *   [N]           extension: element N (0-based) of an array
 *
 * A compiled path is immutable and lives in the arena it was compiled into. */
#ifndef SL_JSONPATH_H
#define SL_JSONPATH_H

#include "sl_common.h"

typedef enum {
    SL_STEP_KEY,   /* member `key` */
    SL_STEP_EACH,  /* [:] */
    SL_STEP_INDEX, /* [N] */
} sl_step_kind;

typedef struct {
    sl_step_kind kind;
    sl_str key;     /* SL_STEP_KEY: the decoded key */
    uint32_t index; /* SL_STEP_INDEX */
} sl_jsonpath_step;

typedef struct {
    sl_str text; /* as written */
    uint32_t n_steps;
    const sl_jsonpath_step *steps;
} sl_jsonpath;

/* Compiles `text`. SL_EPATH with err->offset at the offending byte and a message saying what
 * was expected ("expected '.' or '[' after '$'", "unterminated quoted key"). */
int sl_jsonpath_parse(sl_str text, sl_arena *arena, const sl_jsonpath **out, sl_error *err);

/* Appends the path in canonical form: `.name` where the key allows it, `.['key']` otherwise,
 * `[:]` for every element, `[N]` for an index. */
int sl_jsonpath_format(const sl_jsonpath *p, sl_buf *out);

/* Number of EACH steps. */
uint32_t sl_jsonpath_each_count(const sl_jsonpath *p);

#endif
