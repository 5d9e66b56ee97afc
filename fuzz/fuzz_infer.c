/* Fuzz target: schema inference on arbitrary bodies, checked against the rest of the pipeline.
 * The first byte picks the column cap (1..8, or the default); the rest is the body.
 * Checks: no crash or over-read; when a schema comes out it parses, prints back unchanged,
 * builds a converter, and converting the body splits it into the same rows, accepts every row
 * the inference read, and refuses a column value only for a key given twice in a row. */
#include "sl_convert.h"
#include "sl_infer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    uint64_t column_issues, duplicate_issues;
} issue_count;

static void on_issue(void *ud, const sl_convert_issue *is)
{
    issue_count *n = ud;
    if (is->column.len == 0)
        return;
    n->column_issues++;
    static const char dup[] = "more than one value there";
    if (is->message.len >= sizeof(dup) - 1 &&
        memcmp(is->message.ptr + is->message.len - (sizeof(dup) - 1), dup, sizeof(dup) - 1) == 0)
        n->duplicate_issues++;
}

static void fail(const char *what, const sl_buf *text)
{
    fprintf(stderr, "fuzz_infer: %s\n%.*s\n", what, (int)text->len, (const char *)text->data);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    sl_infer_options opt = {.max_columns = data[0] < 128 ? (size_t)(data[0] % 8) + 1 : 0};
    sl_str body = {(const char *)data + 1, size - 1};

    sl_buf out;
    sl_buf_init(&out, 0);
    sl_infer_stats st;
    sl_error err = {0};
    int rc = sl_infer_datasource(body, &opt, &out, &st, &err);
    if (rc != 0) {
        if (rc != SL_EVALUE || out.len != 0 || (st.rows != 0 && st.columns != 0))
            abort();
        sl_buf_free(&out);
        return 0;
    }
    sl_datafile *df = NULL;
    if (sl_datafile_parse((sl_str){(const char *)out.data, out.len}, &df, &err) != 0)
        fail(err.msg ? err.msg : "does not parse", &out);
    sl_buf printed;
    sl_buf_init(&printed, 0);
    if (sl_datafile_print(df, &printed) != 0 || printed.len != out.len ||
        memcmp(printed.data, out.data, out.len) != 0)
        fail("not canonical", &out);
    sl_buf_free(&printed);
    sl_converter *conv = NULL;
    if (sl_converter_new(df, &conv, &err) != 0)
        fail(err.msg ? err.msg : "no converter", &out);

    sl_convert_state *cs = sl_convert_state_new();
    sl_buf rows, q;
    sl_buf_init(&rows, 0);
    sl_buf_init(&q, 0);
    sl_convert_stats cst = {0};
    issue_count n = {0, 0};
    sl_convert_options copt = {.first_line = 1, .report = on_issue, .report_ud = &n};
    if (sl_convert(conv, cs, body, &copt, &rows, &q, &cst) != 0)
        abort();
    if (n.column_issues != n.duplicate_issues)
        fail("the converter refused a value the inference saw", &out);
    if (!st.row_limit && cst.rows + cst.quarantined != st.rows + st.skipped)
        fail("the converter split the body into other rows", &out);
    if (!st.row_limit && n.duplicate_issues == 0 && cst.rows != st.rows)
        fail("the converter did not accept every row", &out);

    sl_buf_free(&rows);
    sl_buf_free(&q);
    sl_convert_state_free(cs);
    sl_converter_free(conv);
    sl_datafile_free(df);
    sl_buf_free(&out);
    return 0;
}
