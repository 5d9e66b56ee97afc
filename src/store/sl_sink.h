/* The one interface between sluice and ClickHouse: run a statement (DDL or a query whose output
 * is appended to a buffer) and stream a binary block into an INSERT.
 *
 * A sink is one connection and runs one statement at a time. Sinks are NOT thread-safe: whoever
 * owns a sink serialises its calls (the catalog holds its DDL mutex, the batcher uses its sink from
 * the flusher thread only, the SQL API keeps a pool of read-only sinks each behind a mutex).
 * Open several sinks on the same data directory for concurrency: chDB allows that in one process.
 *
 * Errors: SL_EIO when ClickHouse refused the statement or the connection failed, with
 * ClickHouse's message (truncated to fit) in err->detail; SL_ENOMEM/SL_ETOOBIG when `out` is full.
 *
 * Implementations: sl_sink_chdb_open (chDB in-process, below), a fake in tests/unit/fake_sink.h,
 * and later an HTTP sink for a ClickHouse cluster. */
#ifndef SL_SINK_H
#define SL_SINK_H

#include "sl_common.h"

typedef struct sl_sink sl_sink;

/* What a statement does, from the engine's own parser (chdb_classify_query_n); never a regex. */
typedef enum {
    SL_SQL_READ = 0,         /* SELECT, SHOW, DESCRIBE, EXPLAIN, ... */
    SL_SQL_WRITE = 1,        /* INSERT, DDL, mutations */
    SL_SQL_WRITE_GLOBAL = 2, /* writes outside one database (CREATE/DROP DATABASE, ...) */
    SL_SQL_CONTROL = 3,      /* SET, USE, SYSTEM, ... */
    SL_SQL_UNKNOWN = 4,
} sl_sql_class;

typedef struct {
    /* Runs one statement. `format` is a ClickHouse output format name ("JSON", "TSV", ...),
     * used unless the SQL has its own FORMAT clause. Output bytes are appended to `out` (may be
     * NULL for DDL: output discarded). */
    int (*query)(sl_sink *sink, sl_str sql, const char *format, sl_buf *out, sl_error *err);
    /* Streams `len` bytes of `format` rows ("RowBinaryWithDefaults", "RowBinary") into
     * `insert_sql`, an "INSERT INTO `db`.`t` [(cols)] [SETTINGS ...]" without FORMAT.
     * *rows_written (may be NULL) gets the engine's count when it reports one. */
    int (*insert)(sl_sink *sink, sl_str insert_sql, const char *format, const void *data,
                  size_t len, uint64_t *rows_written, sl_error *err);
    /* Counts the statements of `sql` and classifies it (the class of the first statement).
     * May be NULL when the sink cannot classify; callers then refuse the query. */
    int (*classify)(sl_sink *sink, sl_str sql, int *n_statements, sl_sql_class *cls, sl_error *err);
    /* Closes the connection and frees the sink. */
    void (*close)(sl_sink *sink);
} sl_sink_ops;

/* Implementations embed this as their first member. */
struct sl_sink {
    const sl_sink_ops *ops;
};

static inline int sl_sink_query(sl_sink *s, sl_str sql, const char *format, sl_buf *out,
                                sl_error *err)
{
    return s->ops->query(s, sql, format, out, err);
}

static inline int sl_sink_insert(sl_sink *s, sl_str insert_sql, const char *format,
                                 const void *data, size_t len, uint64_t *rows_written,
                                 sl_error *err)
{
    return s->ops->insert(s, insert_sql, format, data, len, rows_written, err);
}

static inline int sl_sink_classify(sl_sink *s, sl_str sql, int *n_statements, sl_sql_class *cls,
                                   sl_error *err)
{
    if (!s->ops->classify)
        return sl_error_set(err, SL_EINVAL, "this storage cannot classify SQL", 0);
    return s->ops->classify(s, sql, n_statements, cls, err);
}

/* Closes and frees; NULL is a no-op. */
static inline void sl_sink_close(sl_sink *s)
{
    if (s)
        s->ops->close(s);
}

/* ---- chDB (embedded ClickHouse) ----
 * Process-wide lifecycle, called from the main thread:
 *   sl_sink_chdb_global_init() once before the first open and before any other thread uses
 *   chDB: it loads libchdb.so with dlopen (SLUICE_CHDB_LIB, else "libchdb.so" through the
 *   binary's RUNPATH) into a table that is read-only afterwards, and turns chDB's signal
 *   handlers off (sluice owns SIGTERM/SIGINT). A library that is missing or lacks a function
 *   fails with SL_EIO and a message naming it; opening without a loaded library fails with
 *   SL_EINVAL. Later calls return 0 without reloading. Close every chDB sink, then
 *   sl_sink_chdb_global_shutdown() before exit (a process exiting with an open connection
 *   crashed); the library stays mapped. One process uses one `path` for its whole life;
 *   another process cannot open the same path.
 * In the ASan build (SL_NO_CHDB) these exist but fail with SL_EIO "built without chDB". */
typedef struct {
    const char *path;   /* ClickHouse data directory, created if missing (<data>/clickhouse) */
    bool readonly;      /* --readonly=1: SELECTs only, for /v0/sql */
    const char **extra; /* more clickhouse-local arguments, e.g. "--max_execution_time=10" */
    size_t n_extra;
    bool warm_up; /* run a small insert into a temporary table so the first real one is fast */
} sl_sink_chdb_options;

int sl_sink_chdb_global_init(sl_error *err);
void sl_sink_chdb_global_shutdown(void);
/* Opens a connection. On success *out is a sink the caller closes with sl_sink_close. */
int sl_sink_chdb_open(const sl_sink_chdb_options *opt, sl_sink **out, sl_error *err);

#endif
