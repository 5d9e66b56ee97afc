/* The converter: a request body of JSON rows → RowBinaryWithDefaults rows for a data source's
 * table and RowBinary rows for its quarantine table (SPEC §5, §6).
 *
 * A converter is compiled once per data source definition: the JSONPaths of all columns form one
 * tree, so each row is scanned once and every subtree no column needs is skipped (validated, not
 * decoded). The converter itself is immutable and may be shared by threads; each thread converts
 * with its own sl_convert_state (scratch buffers reused from row to row: no allocation per row
 * once warm).
 *
 * Body forms: NDJSON (one value per line, "\n" or "\r\n", blank lines skipped, last newline
 * optional; a value may span lines), a single object, or a top-level array of objects (each
 * element is a row). A row that is not valid JSON, or not an object, is quarantined whole and
 * scanning resumes at the next line. */
#ifndef SL_CONVERT_H
#define SL_CONVERT_H

#include "sl_common.h"
#include "sl_datafile.h"

typedef struct sl_converter sl_converter;
typedef struct sl_convert_state sl_convert_state;

/* Builds the converter for `df`, which must outlive it. SL_EPATH/SL_ESCHEMA with a message naming
 * the column when a path cannot feed its type (e.g. an Array column whose path has no [:]). */
int sl_converter_new(const sl_datafile *df, sl_converter **out, sl_error *err);
void sl_converter_free(sl_converter *conv);

sl_convert_state *sl_convert_state_new(void);
void sl_convert_state_free(sl_convert_state *st);

typedef struct {
    uint64_t rows;        /* rows appended to `rows` */
    uint64_t quarantined; /* rows appended to `quarantine` */
    uint64_t lines;       /* input lines consumed (for line numbers across calls) */
} sl_convert_stats;

/* One failing column of a quarantined row, handed to the optional report callback. `column` is
 * empty for a row-level failure (invalid JSON, not an object). `message` is the exact text stored
 * in the quarantine row's c__error. Valid only during the callback. */
typedef struct {
    uint64_t line; /* 1-based line number of the row's first byte in the body */
    sl_str column;
    sl_str message;
} sl_convert_issue;

typedef void (*sl_convert_report_fn)(void *ud, const sl_convert_issue *issue);

typedef struct {
    sl_str import_id;            /* c__import_id of quarantine rows; ptr NULL → NULL */
    uint64_t first_line;         /* line number of the body's first line (1 if unsure) */
    sl_convert_report_fn report; /* optional */
    void *report_ud;
} sl_convert_options;

/* Converts every row of `body`, appending to `rows` (RowBinaryWithDefaults, the table's columns
 * in order) and `quarantine` (RowBinary of the <name>_quarantine columns without the trailing
 * insertion_date, which its DEFAULT fills). Adds to *stats.
 * Returns 0, or SL_ETOOBIG/SL_ENOMEM when an output buffer's cap is reached; then the outputs
 * hold whole rows only and *stats counts them (the caller treats the request as failed). */
int sl_convert(const sl_converter *conv, sl_convert_state *st, sl_str body,
               const sl_convert_options *opt, sl_buf *rows, sl_buf *quarantine,
               sl_convert_stats *stats);

/* Appends the quarantine table's column list for CREATE TABLE (SPEC §6), e.g.
 * "`c__error_column` Array(String), `c__error` Array(String), ..., `insertion_date` DateTime
 * DEFAULT now()". */
int sl_convert_quarantine_columns(const sl_datafile *df, sl_buf *out);

#endif
