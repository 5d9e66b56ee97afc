/* The part of chDB's C API (libchdb.so, npm @chdb/lib-linux-x64-gnu@26.7.3-stable.1, which ships
 * no header) that sluice uses, as a table of function pointers filled by dlopen/dlsym. The
 * binary does not link libchdb.so: loading it costs ~0.3 s and ~150 MB, which only `sluice serve`
 * needs. Prototypes follow the library's exported symbols and chDB's documented C API; handles
 * are opaque. Included by sl_sink_chdb.c and its unit test. */
#ifndef SL_CHDB_API_H
#define SL_CHDB_API_H

#include "sl_common.h"

#include <stddef.h>
#include <stdint.h>

typedef struct chdb_connection_ *chdb_connection;
typedef struct chdb_result_ chdb_result;
typedef struct chdb_insert_stream_ *chdb_insert_stream;

/* Return value of the calls that report a state: 0 success. */
enum { SL_CHDB_SUCCESS = 0 };

/* Statement analysis filled by chdb_classify_query_n; the caller sets struct_size. */
typedef struct {
    uint32_t struct_size;
    uint32_t statement_count;
    uint32_t flags;
    uint32_t query_class; /* 0 read-only, 1 mutating, 2 mutating global, 3 control, 4 unknown */
} sl_chdb_query_analysis;

/* X(return type, field, parameters): field `f` is the library's symbol `chdb_f`.
 *  connect: argv like clickhouse-local's ("clickhouse", "--path=DIR", ...). NULL on failure.
 *  result_error: NULL when the statement succeeded.
 *  stream_insert: opens an insert stream for "INSERT INTO t ..." (no FORMAT) reading `format`
 *    rows; check stream_insert_error before appending. Destroy it in every case.
 *  stream_append: 0 = success. The bytes are copied. */
#define SL_CHDB_FUNCTIONS(X)                                                                       \
    X(void, set_signal_handlers_enabled, (int enabled))                                            \
    X(chdb_connection *, connect, (int argc, char **argv))                                         \
    X(void, close_conn, (chdb_connection * conn))                                                  \
    X(void, shutdown, (void))                                                                      \
    X(chdb_result *, query_n,                                                                      \
      (chdb_connection conn, const char *query, size_t query_len, const char *format,              \
       size_t format_len))                                                                         \
    X(const char *, result_error, (chdb_result * result))                                          \
    X(char *, result_buffer, (chdb_result * result))                                               \
    X(size_t, result_length, (chdb_result * result))                                               \
    X(uint64_t, result_rows_written, (chdb_result * result))                                       \
    X(void, destroy_query_result, (chdb_result * result))                                          \
    X(chdb_insert_stream, stream_insert,                                                           \
      (chdb_connection conn, const char *query, const char *format))                               \
    X(int, stream_append, (chdb_insert_stream stream, const void *data, size_t len))               \
    X(chdb_result *, stream_done, (chdb_insert_stream stream))                                     \
    X(const char *, stream_insert_error, (chdb_insert_stream stream))                              \
    X(void, destroy_insert_stream, (chdb_insert_stream stream))                                    \
    X(int, classify_query_n,                                                                       \
      (chdb_connection conn, const char *sql, size_t sql_len, const char *target_db,               \
       size_t target_db_len, sl_chdb_query_analysis *analysis))

/* The loaded library: every pointer non-NULL after a successful sl_chdb_api_load. */
typedef struct {
#define SL_CHDB_FIELD(ret, name, params) ret(*name) params;
    SL_CHDB_FUNCTIONS(SL_CHDB_FIELD)
#undef SL_CHDB_FIELD
} sl_chdb_api;

/* The library's name when SLUICE_CHDB_LIB is unset; found through the binary's RUNPATH
 * (deps/chdb/lib, set by the Makefile), then the usual dynamic-linker search. */
#define SL_CHDB_DEFAULT_LIB "libchdb.so"

/* Opens `lib` (a file name or path; NULL or "" = SL_CHDB_DEFAULT_LIB) and resolves every function
 * into *api. On failure *api is zeroed and err (SL_EIO) names the library and dlerror()'s reason
 * or the missing symbol. A library that opened stays loaded for the life of the process, even
 * when a symbol is missing: ClickHouse's static initialisers, threads and exit handlers make
 * unloading unsafe, and it keeps the pointers valid. Thread-safe as dlopen is, but the result
 * is meant to be stored once, at start-up (sl_sink_chdb_global_init). */
int sl_chdb_api_load(const char *lib, sl_chdb_api *api, sl_error *err);

#endif
