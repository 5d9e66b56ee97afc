/* Schema inference for auto-created data sources (SPEC §3 "Auto-create", docs/inference.md).
 *
 * Reads the JSON rows of a request body and writes the .datasource file that would hold them:
 * one column per leaf key (nested keys flattened to `parent_child` with path $.parent.child),
 * typed from the values seen, Nullable where a row lacks the value, ENGINE "MergeTree" and a
 * sorting key on the first non-Nullable date-time column (else tuple()).
 *
 * Contract with the converter: the file parses with sl_datafile_parse, builds with
 * sl_converter_new, and converting the same body with it accepts every row the inference read
 * (except rows holding one key twice, which the converter refuses whatever the schema).
 *
 * Pure function of its input: no I/O, no global state; safe to call from any thread. */
#ifndef SL_INFER_H
#define SL_INFER_H

#include "sl_common.h"

#define SL_INFER_DEFAULT_ROWS    10000
#define SL_INFER_DEFAULT_COLUMNS 500

typedef struct {
    size_t max_rows;    /* valid rows to read; 0 = SL_INFER_DEFAULT_ROWS */
    size_t max_columns; /* columns to create; 0 = SL_INFER_DEFAULT_COLUMNS; at most 10000 */
} sl_infer_options;

/* What the inference saw; optional output. */
typedef struct {
    uint64_t rows;        /* rows (JSON objects) the schema was inferred from */
    uint64_t skipped;     /* rows read past: invalid JSON or not an object */
    bool row_limit;       /* stopped at max_rows with more of the body unread */
    size_t columns;       /* columns in the schema */
    bool column_limit;    /* some keys got no column because of max_columns */
    size_t unusable_keys; /* distinct keys left out: a backtick or control character in them */
} sl_infer_stats;

/* Infers a schema from the rows of `body` (NDJSON, one object, or a top-level array of objects,
 * split exactly as sl_convert splits them; rows that are invalid JSON or not objects are
 * skipped) and appends a complete .datasource file to `out`. `opt` and `stats` may be NULL.
 * Returns 0; SL_EVALUE with err->msg when no row is a JSON object or the rows give no column
 * (only `{}`, or only keys no path can name); SL_ETOOBIG/SL_ENOMEM from `out`. On error `out` is
 * unchanged. */
int sl_infer_datasource(sl_str body, const sl_infer_options *opt, sl_buf *out,
                        sl_infer_stats *stats, sl_error *err);

#endif
