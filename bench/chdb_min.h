/* The few chDB C API declarations the benchmark uses (libchdb.so from npm
 * @chdb/lib-linux-x64-gnu@26.7.3-stable.1 ships no header). Prototypes follow the exported
 * symbols (nm -D) and chDB's documented C API; handles are opaque pointers. */
#ifndef CHDB_MIN_H
#define CHDB_MIN_H

#include <stddef.h>
#include <stdint.h>

typedef struct chdb_connection_ *chdb_connection;
typedef struct chdb_result_ chdb_result;
typedef struct chdb_insert_stream_ *chdb_insert_stream;

enum { CHDB_SUCCESS = 0, CHDB_ERROR = 1 };

void chdb_set_signal_handlers_enabled(int enabled);
chdb_connection *chdb_connect(int argc, char **argv);
void chdb_close_conn(chdb_connection *conn);
void chdb_shutdown(void);

chdb_result *chdb_query(chdb_connection conn, const char *query, const char *format);
const char *chdb_result_error(chdb_result *result);
char *chdb_result_buffer(chdb_result *result);
size_t chdb_result_length(chdb_result *result);
uint64_t chdb_result_rows_written(chdb_result *result);
void chdb_destroy_query_result(chdb_result *result);

/* Never NULL; chdb_stream_insert_error tells whether it opened. */
chdb_insert_stream chdb_stream_insert(chdb_connection conn, const char *query, const char *format);
/* 0 = success. The bytes are copied. */
int chdb_stream_append(chdb_insert_stream stream, const void *data, size_t len);
chdb_result *chdb_stream_done(chdb_insert_stream stream);
const char *chdb_stream_insert_error(chdb_insert_stream stream);
void chdb_destroy_insert_stream(chdb_insert_stream stream);

#endif
