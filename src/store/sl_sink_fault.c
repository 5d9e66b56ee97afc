/* The fault-injection sink (see sl_sink_fault.h): every insert fails while a marker file exists.
 * Only installed when SLUICE_FAULT_INSERT_FILE is set, for tests of ClickHouse outages. */
#include "sl_sink_fault.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    sl_sink base;
    sl_sink *inner;
    char *path;
} fault_sink;

static int fault_query(sl_sink *sink, sl_str sql, const char *format, sl_buf *out, sl_error *err)
{
    fault_sink *s = (fault_sink *)sink;
    return sl_sink_query(s->inner, sql, format, out, err);
}

static int fault_insert(sl_sink *sink, sl_str insert_sql, const char *format, const void *data,
                        size_t len, uint64_t *rows_written, sl_error *err)
{
    fault_sink *s = (fault_sink *)sink;
    /* access() per insert: cheap next to an insert, and the file can come and go any time. */
    if (access(s->path, F_OK) == 0)
        return sl_error_setf(err, SL_EIO, 0,
                             "injected fault: inserts fail while %s exists "
                             "(SLUICE_FAULT_INSERT_FILE)",
                             s->path);
    return sl_sink_insert(s->inner, insert_sql, format, data, len, rows_written, err);
}

static int fault_classify(sl_sink *sink, sl_str sql, int *n_statements, sl_sql_class *cls,
                          sl_error *err)
{
    fault_sink *s = (fault_sink *)sink;
    return sl_sink_classify(s->inner, sql, n_statements, cls, err);
}

static void fault_close(sl_sink *sink)
{
    fault_sink *s = (fault_sink *)sink;
    sl_sink_close(s->inner);
    free(s->path);
    free(s);
}

static const sl_sink_ops fault_ops = {
    .query = fault_query,
    .insert = fault_insert,
    .classify = fault_classify,
    .close = fault_close,
};

int sl_sink_fault_wrap(sl_sink *inner, const char *path, sl_sink **out, sl_error *err)
{
    fault_sink *s = calloc(1, sizeof(*s));
    char *p = s ? strdup(path) : NULL;
    if (!p) {
        free(s);
        return sl_error_set(err, SL_ENOMEM, "out of memory", 0);
    }
    s->base.ops = &fault_ops;
    s->inner = inner;
    s->path = p;
    *out = &s->base;
    return 0;
}
