/* libFuzzer target: arbitrary bytes into sl_datafile_parse; whatever parses must print, parse
 * back to an equal definition, and print identically the second time. */
#include "sl_datafile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_datafile *df = NULL;
    sl_error err;
    if (sl_datafile_parse((sl_str){(const char *)data, size}, &df, &err) != 0) {
        if (df != NULL || err.msg == NULL)
            abort();
        return 0;
    }
    for (size_t i = 0; i < df->n_columns; i++)
        if (sl_datafile_find_column(df, df->columns[i].name) != (int)i)
            abort();
    sl_buf a, b;
    sl_buf_init(&a, 0);
    sl_buf_init(&b, 0);
    if (sl_datafile_print(df, &a) != 0)
        abort();
    sl_datafile *df2 = NULL;
    if (sl_datafile_parse((sl_str){(const char *)a.data, a.len}, &df2, &err) != 0) {
        fprintf(stderr, "printed file does not parse: %s\n%.*s\n", err.msg, (int)a.len,
                (const char *)a.data);
        abort();
    }
    if (!sl_datafile_equal(df, df2)) {
        fprintf(stderr, "round trip differs:\n%.*s\n", (int)a.len, (const char *)a.data);
        abort();
    }
    if (sl_datafile_print(df2, &b) != 0 || a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
        abort();
    sl_datafile_free(df2);
    sl_datafile_free(df);
    sl_buf_free(&a);
    sl_buf_free(&b);
    return 0;
}
