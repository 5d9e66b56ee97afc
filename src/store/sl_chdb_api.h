/* The part of chDB's C API (libchdb.so, npm @chdb/lib-linux-x64-gnu@26.7.3-stable.1, which ships
 * no header) that sluice uses. Prototypes follow the library's exported symbols and chDB's
 * documented C API; handles are opaque. Only sl_sink_chdb.c includes this file. */
#ifndef SL_CHDB_API_H
#define SL_CHDB_API_H

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

void chdb_set_signal_handlers_enabled(int enabled);
/* argv like clickhouse-local's ("clickhouse", "--path=DIR", ...). NULL on failure. */
chdb_connection *chdb_connect(int argc, char **argv);
void chdb_close_conn(chdb_connection *conn);
void chdb_shutdown(void);

chdb_result *chdb_query_n(chdb_connection conn, const char *query, size_t query_len,
                          const char *format, size_t format_len);
/* NULL when the statement succeeded. */
const char *chdb_result_error(chdb_result *result);
char *chdb_result_buffer(chdb_result *result);
size_t chdb_result_length(chdb_result *result);
uint64_t chdb_result_rows_written(chdb_result *result);
void chdb_destroy_query_result(chdb_result *result);

/* Opens an insert stream for "INSERT INTO t ..." (no FORMAT) reading `format` rows; check
 * chdb_stream_insert_error before appending. Destroy it in every case. */
chdb_insert_stream chdb_stream_insert(chdb_connection conn, const char *query, const char *format);
/* 0 = success. The bytes are copied. */
int chdb_stream_append(chdb_insert_stream stream, const void *data, size_t len);
chdb_result *chdb_stream_done(chdb_insert_stream stream);
const char *chdb_stream_insert_error(chdb_insert_stream stream);
void chdb_destroy_insert_stream(chdb_insert_stream stream);

int chdb_classify_query_n(chdb_connection conn, const char *sql, size_t sql_len,
                          const char *target_db, size_t target_db_len,
                          sl_chdb_query_analysis *analysis);

#endif
