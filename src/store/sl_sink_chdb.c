/* The chDB sink: ClickHouse running in this process through libchdb.so. One sink is one
 * chdb_connection; statements run with chdb_query_n and binary blocks go through the stream-insert
 * API (never inline after FORMAT, which broke on large blocks). Only the release and UBSan builds
 * compile this file (chDB cannot load under AddressSanitizer); see sl_sink_stub.c. */
#include "sl_chdb_api.h"
#include "sl_sink.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Appends to clickhouse-local arguments in sl_sink_chdb_options.extra. */
#define MAX_ARGS 32

typedef struct {
    sl_sink base;
    chdb_connection *handle; /* what chdb_connect returned; chdb_close_conn takes it */
    chdb_connection conn;    /* *handle, what the query calls take */
    int argc;                /* the arguments it was opened with, to open it again */
    char *argv[MAX_ARGS];
} chdb_sink;

/* A connection whose statement failed may keep that statement's unsent output and glue it in
 * front of the next answer: replace it by a fresh one with the same options. If that fails,
 * the old one stays (better a polluted answer than no connection). */
static void reopen(chdb_sink *s)
{
    chdb_connection *h = chdb_connect(s->argc, s->argv);
    if (!h || !*h)
        return;
    chdb_close_conn(s->handle);
    s->handle = h;
    s->conn = *h;
}

/* Copies ClickHouse's message into err, trimmed to its first line's worth of detail. */
static int engine_error(sl_error *err, const char *what, const char *msg)
{
    if (!msg || !*msg)
        msg = "unknown error";
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    return sl_error_setf(err, SL_EIO, 0, "%s%.*s", what, (int)n, msg);
}

static char *dup_str(sl_str s)
{
    char *p = malloc(s.len + 1);
    if (!p)
        return NULL;
    if (s.len)
        memcpy(p, s.ptr, s.len);
    p[s.len] = '\0';
    return p;
}

static int chdb_query_impl(sl_sink *sink, sl_str sql, const char *format, sl_buf *out,
                           sl_error *err)
{
    chdb_sink *s = (chdb_sink *)sink;
    if (!format)
        format = "TSV";
    chdb_result *res =
        chdb_query_n(s->conn, sql.ptr ? sql.ptr : "", sql.len, format, strlen(format));
    if (!res) {
        reopen(s);
        return sl_error_set(err, SL_EIO, "the storage engine returned no result", 0);
    }
    int rc = 0;
    const char *e = chdb_result_error(res);
    bool failed = e != NULL;
    if (failed) {
        rc = engine_error(err, "", e);
    } else if (out) {
        size_t n = chdb_result_length(res);
        const char *p = chdb_result_buffer(res);
        if (n && p) {
            rc = sl_buf_append(out, p, n);
            if (rc)
                sl_error_set(err, rc, "query result too large", 0);
        }
    }
    chdb_destroy_query_result(res);
    if (failed)
        reopen(s);
    return rc;
}

/* Bytes handed to one chdb_stream_append call. */
#define APPEND_CHUNK ((size_t)16 << 20)

static int chdb_insert_impl(sl_sink *sink, sl_str insert_sql, const char *format, const void *data,
                            size_t len, uint64_t *rows_written, sl_error *err)
{
    chdb_sink *s = (chdb_sink *)sink;
    char *q = dup_str(insert_sql);
    if (!q)
        return sl_error_set(err, SL_ENOMEM, "out of memory", 0);
    chdb_insert_stream st = chdb_stream_insert(s->conn, q, format);
    free(q);
    if (!st) {
        reopen(s);
        return sl_error_set(err, SL_EIO, "the storage engine could not open an insert", 0);
    }
    int rc = 0;
    const char *e = chdb_stream_insert_error(st);
    if (e) {
        rc = engine_error(err, "", e);
        goto out;
    }
    for (size_t off = 0; off < len; off += APPEND_CHUNK) {
        size_t n = len - off < APPEND_CHUNK ? len - off : APPEND_CHUNK;
        if (chdb_stream_append(st, (const char *)data + off, n) != 0) {
            rc = engine_error(err, "", chdb_stream_insert_error(st));
            goto out;
        }
    }
    chdb_result *res = chdb_stream_done(st);
    if (!res) {
        rc = engine_error(err, "", chdb_stream_insert_error(st));
        goto out;
    }
    e = chdb_result_error(res);
    if (e)
        rc = engine_error(err, "", e);
    else if (rows_written)
        *rows_written = chdb_result_rows_written(res);
    chdb_destroy_query_result(res);
out:
    chdb_destroy_insert_stream(st);
    if (rc)
        reopen(s);
    return rc;
}

static int chdb_classify_impl(sl_sink *sink, sl_str sql, int *n_statements, sl_sql_class *cls,
                              sl_error *err)
{
    chdb_sink *s = (chdb_sink *)sink;
    sl_chdb_query_analysis a;
    memset(&a, 0, sizeof a);
    a.struct_size = (uint32_t)sizeof a;
    a.query_class = SL_SQL_UNKNOWN;
    if (chdb_classify_query_n(s->conn, sql.ptr ? sql.ptr : "", sql.len, "default", 7, &a) !=
        SL_CHDB_SUCCESS)
        return sl_error_set(err, SL_EIO, "the storage engine could not classify the query", 0);
    *n_statements = (int)a.statement_count;
    *cls = a.query_class <= SL_SQL_UNKNOWN ? (sl_sql_class)a.query_class : SL_SQL_UNKNOWN;
    return 0;
}

static void chdb_close_impl(sl_sink *sink)
{
    chdb_sink *s = (chdb_sink *)sink;
    if (s->handle)
        chdb_close_conn(s->handle);
    for (int i = 0; i < s->argc; i++)
        free(s->argv[i]);
    free(s);
}

static const sl_sink_ops chdb_ops = {
    .query = chdb_query_impl,
    .insert = chdb_insert_impl,
    .classify = chdb_classify_impl,
    .close = chdb_close_impl,
};

int sl_sink_chdb_global_init(sl_error *err)
{
    (void)err;
    chdb_set_signal_handlers_enabled(0);
    return 0;
}

void sl_sink_chdb_global_shutdown(void)
{
    chdb_shutdown();
}

/* A small MergeTree insert and drop, so the engine's first-insert set-up is not paid by a user. */
static void warm_up(sl_sink *sink)
{
    sl_error e;
    static const char create[] = "CREATE TABLE IF NOT EXISTS `default`.`sluice-warmup` "
                                 "(x UInt64, s String) ENGINE = MergeTree ORDER BY x";
    static const char drop[] = "DROP TABLE IF EXISTS `default`.`sluice-warmup` SYNC";
    if (chdb_query_impl(sink, SL_STR(create), NULL, NULL, &e) != 0)
        return;
    /* 64 RowBinary rows: x UInt64 little-endian, s String "a" (length 1, then the byte). */
    uint8_t rows[64 * 10];
    memset(rows, 0, sizeof rows);
    for (size_t i = 0; i < 64; i++) {
        rows[i * 10] = (uint8_t)i;
        rows[i * 10 + 8] = 1;
        rows[i * 10 + 9] = 'a';
    }
    size_t n = sizeof rows;
    chdb_insert_impl(sink, SL_STR("INSERT INTO `default`.`sluice-warmup`"), "RowBinary", rows, n,
                     NULL, &e);
    chdb_query_impl(sink, SL_STR(drop), NULL, NULL, &e);
}

int sl_sink_chdb_open(const sl_sink_chdb_options *opt, sl_sink **out, sl_error *err)
{
    *out = NULL;
    if (!opt || !opt->path || !*opt->path)
        return sl_error_set(err, SL_EINVAL, "no storage directory given", 0);
    if (opt->n_extra > MAX_ARGS - 3)
        return sl_error_set(err, SL_EINVAL, "too many storage engine arguments", 0);
    if (mkdir(opt->path, 0750) != 0 && errno != EEXIST)
        return sl_error_setf(err, SL_EIO, 0, "cannot create %s: %s", opt->path, strerror(errno));

    char path_arg[4096];
    int w = snprintf(path_arg, sizeof path_arg, "--path=%s", opt->path);
    if (w < 0 || (size_t)w >= sizeof path_arg)
        return sl_error_set(err, SL_EINVAL, "storage directory path too long", 0);
    char *argv[MAX_ARGS];
    int argc = 0;
    argv[argc++] = (char *)"clickhouse";
    argv[argc++] = path_arg;
    if (opt->readonly)
        argv[argc++] = (char *)"--readonly=1";
    for (size_t i = 0; i < opt->n_extra; i++)
        argv[argc++] = (char *)opt->extra[i];

    chdb_connection *h = chdb_connect(argc, argv);
    if (!h || !*h)
        return sl_error_setf(err, SL_EIO, 0,
                             "cannot open the storage engine at %s (is another sluice using it?)",
                             opt->path);
    chdb_sink *s = calloc(1, sizeof *s);
    if (!s) {
        chdb_close_conn(h);
        return sl_error_set(err, SL_ENOMEM, "out of memory", 0);
    }
    for (int i = 0; i < argc; i++) {
        s->argv[i] = dup_str(sl_str_from_cstr(argv[i]));
        if (!s->argv[i]) {
            s->handle = h;
            s->argc = i;
            chdb_close_impl(&s->base);
            return sl_error_set(err, SL_ENOMEM, "out of memory", 0);
        }
    }
    s->argc = argc;
    s->base.ops = &chdb_ops;
    s->handle = h;
    s->conn = *h;
    if (opt->warm_up && !opt->readonly)
        warm_up(&s->base);
    *out = &s->base;
    return 0;
}
