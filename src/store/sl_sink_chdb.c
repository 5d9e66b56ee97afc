/* The chDB sink: ClickHouse running in this process through libchdb.so. One sink is one
 * chdb_connection; statements run with chdb_query_n and binary blocks go through the stream-insert
 * API (never inline after FORMAT, which broke on large blocks). Only the release and UBSan builds
 * compile this file (chDB cannot load under AddressSanitizer); see sl_sink_stub.c.
 *
 * The library is opened with dlopen by sl_sink_chdb_global_init, not linked, so the commands that
 * never open a sink (everything but `serve`) start without paying for it. */
#include "sl_chdb_api.h"
#include "sl_sink.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The process's one chDB library. Written only by sl_sink_chdb_global_init, on the main thread
 * before any sink is opened (the contract in sl_sink.h), and never changed after: the sinks and
 * their threads only read it. All NULL until then. */
static sl_chdb_api chdb;

/* What the operator can do about a library that does not load. */
#define LOAD_HINT "; run `make deps` or set SLUICE_CHDB_LIB"

/* "cannot load ... '<lib>': <reason>; <hint>", fitted into err->detail: the hint is always
 * kept; the reason comes next, then the path, which loses its start ("...") if it must. */
static int load_error(sl_error *err, const char *lib, const char *reason)
{
    static const char prefix[] = "cannot load ClickHouse (chDB) library '";
    const size_t room = sizeof(err->detail) - 1 - /* unevaluated: err may be NULL */
                        (sizeof(prefix) - 1 + strlen("': ") + strlen(LOAD_HINT));
    const size_t min_lib = 40;
    size_t lib_len = strlen(lib);
    /* dlerror() often starts with the name we print anyway. */
    if (strncmp(reason, lib, lib_len) == 0 && strncmp(reason + lib_len, ": ", 2) == 0)
        reason += lib_len + 2;
    size_t reason_len = strlen(reason);
    size_t max_lib = reason_len + min_lib < room ? room - reason_len : min_lib;
    const char *cut = "";
    if (lib_len > max_lib) {
        cut = "...";
        lib += lib_len - (max_lib - 3);
        lib_len = max_lib;
    }
    return sl_error_setf(err, SL_EIO, 0, "%s%s%s': %.*s" LOAD_HINT, prefix, cut, lib,
                         (int)(room - lib_len), reason);
}

int sl_chdb_api_load(const char *lib, sl_chdb_api *api, sl_error *err)
{
    memset(api, 0, sizeof *api);
    if (!lib || !*lib)
        lib = SL_CHDB_DEFAULT_LIB;
    /* RTLD_NOW: an unresolvable import fails here, with a message, not at the first query.
     * RTLD_LOCAL: ClickHouse's symbols do not leak into later lookups. */
    void *handle = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = dlerror();
        return load_error(err, lib, why ? why : "unknown error");
    }
    sl_chdb_api loaded;
    void *sym;
    char what[64];
    /* POSIX lets a dlsym result become a function pointer; memcpy says so without a cast that
     * ISO C forbids. The handle is never closed (see sl_chdb_api.h). */
#define SL_CHDB_RESOLVE(ret, name, params)                                                         \
    sym = dlsym(handle, "chdb_" #name);                                                            \
    if (!sym) {                                                                                    \
        snprintf(what, sizeof what, "missing symbol %s", "chdb_" #name);                           \
        return load_error(err, lib, what);                                                         \
    }                                                                                              \
    _Static_assert(sizeof loaded.name == sizeof sym, "function and data pointers differ");         \
    memcpy(&loaded.name, &sym, sizeof sym);
    SL_CHDB_FUNCTIONS(SL_CHDB_RESOLVE)
#undef SL_CHDB_RESOLVE
    *api = loaded;
    return 0;
}

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
    chdb_connection *h = chdb.connect(s->argc, s->argv);
    if (!h || !*h)
        return;
    chdb.close_conn(s->handle);
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
        chdb.query_n(s->conn, sql.ptr ? sql.ptr : "", sql.len, format, strlen(format));
    if (!res) {
        reopen(s);
        return sl_error_set(err, SL_EIO, "the storage engine returned no result", 0);
    }
    int rc = 0;
    const char *e = chdb.result_error(res);
    bool failed = e != NULL;
    if (failed) {
        rc = engine_error(err, "", e);
    } else if (out) {
        size_t n = chdb.result_length(res);
        const char *p = chdb.result_buffer(res);
        if (n && p) {
            rc = sl_buf_append(out, p, n);
            if (rc)
                sl_error_set(err, rc, "query result too large", 0);
        }
    }
    chdb.destroy_query_result(res);
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
    chdb_insert_stream st = chdb.stream_insert(s->conn, q, format);
    free(q);
    if (!st) {
        reopen(s);
        return sl_error_set(err, SL_EIO, "the storage engine could not open an insert", 0);
    }
    int rc = 0;
    const char *e = chdb.stream_insert_error(st);
    if (e) {
        rc = engine_error(err, "", e);
        goto out;
    }
    for (size_t off = 0; off < len; off += APPEND_CHUNK) {
        size_t n = len - off < APPEND_CHUNK ? len - off : APPEND_CHUNK;
        if (chdb.stream_append(st, (const char *)data + off, n) != 0) {
            rc = engine_error(err, "", chdb.stream_insert_error(st));
            goto out;
        }
    }
    chdb_result *res = chdb.stream_done(st);
    if (!res) {
        rc = engine_error(err, "", chdb.stream_insert_error(st));
        goto out;
    }
    e = chdb.result_error(res);
    if (e)
        rc = engine_error(err, "", e);
    else if (rows_written)
        *rows_written = chdb.result_rows_written(res);
    chdb.destroy_query_result(res);
out:
    chdb.destroy_insert_stream(st);
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
    if (chdb.classify_query_n(s->conn, sql.ptr ? sql.ptr : "", sql.len, "default", 7, &a) !=
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
        chdb.close_conn(s->handle);
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
    if (chdb.connect)
        return 0; /* loaded by an earlier call */
    int rc = sl_chdb_api_load(getenv("SLUICE_CHDB_LIB"), &chdb, err);
    if (rc)
        return rc;
    chdb.set_signal_handlers_enabled(0);
    return 0;
}

void sl_sink_chdb_global_shutdown(void)
{
    if (chdb.shutdown)
        chdb.shutdown();
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
    if (!chdb.connect)
        return sl_error_set(err, SL_EINVAL, "sl_sink_chdb_global_init was not called", 0);
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

    chdb_connection *h = chdb.connect(argc, argv);
    if (!h || !*h)
        return sl_error_setf(err, SL_EIO, 0,
                             "cannot open the storage engine at %s (is another sluice using it?)",
                             opt->path);
    chdb_sink *s = calloc(1, sizeof *s);
    if (!s) {
        chdb.close_conn(h);
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
