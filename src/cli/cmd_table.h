/* A plain text table for the client commands' human output (query results, data source and
 * token lists): a header row, aligned columns, control characters shown escaped so every row
 * stays on one line, and long cells cut on a terminal. Widths count UTF-8 code points. */
#ifndef SL_CMD_TABLE_H
#define SL_CMD_TABLE_H

#include "sl_common.h"

#include <stdio.h>

typedef struct {
    size_t n_cols;
    sl_buf text;  /* every cell's display text, one after another */
    size_t *cell; /* start offset of cell i in text; cell i ends where i+1 starts */
    size_t n_cells, cap_cells;
    bool *right; /* per column: right-aligned (numbers) */
} sl_table;

/* A table of n_cols columns (n_cols >= 1); the first n_cols cells added are the header. */
void sl_table_init(sl_table *t, size_t n_cols);
void sl_table_free(sl_table *t);
/* Adds the next cell, row by row. Control characters are escaped (\n, \t, \r, \xNN). */
void sl_table_add(sl_table *t, const char *s, size_t len);
void sl_table_add_cstr(sl_table *t, const char *s);
void sl_table_align_right(sl_table *t, size_t col);
/* Rows added so far, header excluded. */
size_t sl_table_rows(const sl_table *t);
/* Prints the table; cells wider than max_width code points (0 = no limit) are cut with "...". */
void sl_table_print(const sl_table *t, FILE *out, size_t max_width);

#endif
