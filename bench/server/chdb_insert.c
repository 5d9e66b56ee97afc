/* Reference for the server's bulk benchmark: ClickHouse's own JSONEachRow insert of an NDJSON
 * file through chDB into a MergeTree table (so parsing, column building and the MergeTree write
 * are all paid, as sluice pays them), timed until chdb_stream_done returns (rows committed and
 * visible).
 *
 *   chdb_insert [-n RUNS] [-c CHUNK_MIB] [-f FORMAT] [-s SETTINGS] [--engine "MergeTree ..."]
 *               --path DIR COLUMNS FILE
 *
 * COLUMNS holds the column list (bench/ch_structure.py writes it from a .datasource). Each run
 * truncates the table (untimed), then streams the file in appends of about CHUNK_MIB (default 10)
 * cut at newlines. A 1 MiB insert right after connect warms the engine first (untimed), as
 * `sluice serve` warms its own at start. Prints one line per run and a RESULT line (rows/s of
 * the median run, peak RSS of this process).
 * -f RowBinaryWithDefaults (or any binary format) inserts FILE as is, cut at fixed offsets (a
 * stream insert does not need appends to end on a row): with `sluice check --out` output, this
 * times the flusher's part of sluice's work alone. -s adds SETTINGS to the INSERT (e.g. an
 * insert_deduplication_token, as the flusher sends). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bench_common.h"
#include "../chdb_min.h"

#define MAX_RUNS 100

static void query_or_die(chdb_connection conn, const char *sql)
{
    chdb_result *r = chdb_query(conn, sql, "CSV");
    const char *e = r ? chdb_result_error(r) : "no result";
    if (e) {
        fprintf(stderr, "chdb: %s\n%s\n", sql, e);
        exit(1);
    }
    chdb_destroy_query_result(r);
}

/* One streamed insert of buf[0, len); returns the rows ClickHouse reports written. */
static uint64_t insert(chdb_connection conn, const char *sql, const char *format, const char *buf,
                       size_t len, size_t chunk)
{
    bool lines = !strcmp(format, "JSONEachRow");
    chdb_insert_stream s = chdb_stream_insert(conn, sql, format);
    const char *e = chdb_stream_insert_error(s);
    if (e) {
        fprintf(stderr, "chdb_stream_insert: %s\n", e);
        exit(1);
    }
    for (size_t start = 0, end; start < len; start = end) {
        end = lines ? bench_chunk_end(buf, len, start, chunk)
                    : (len - start < chunk ? len : start + chunk);
        if (chdb_stream_append(s, buf + start, end - start) != CHDB_SUCCESS) {
            e = chdb_stream_insert_error(s);
            fprintf(stderr, "chdb_stream_append: %s\n", e ? e : "(no message)");
            exit(1);
        }
    }
    chdb_result *r = chdb_stream_done(s);
    e = r ? chdb_result_error(r) : "no result";
    if (e) {
        fprintf(stderr, "chdb_stream_done: %s\n", e);
        exit(1);
    }
    uint64_t rows = chdb_result_rows_written(r);
    chdb_destroy_query_result(r);
    chdb_destroy_insert_stream(s);
    return rows;
}

static void usage(void)
{
    fprintf(stderr, "usage: chdb_insert [-n RUNS] [-c CHUNK_MIB] [-f FORMAT] [-s SETTINGS] "
                    "[--engine ENGINE] --path DIR COLUMNS FILE\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int runs = 1;
    size_t chunk = (size_t)10 << 20;
    const char *engine = "MergeTree PARTITION BY toYYYYMM(timestamp) ORDER BY (action, timestamp)";
    const char *path = NULL, *format = "JSONEachRow";
    const char *settings = "date_time_input_format='best_effort'";
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-c") && i + 1 < argc)
            chunk = (size_t)atoi(argv[++i]) << 20;
        else if (!strcmp(argv[i], "-f") && i + 1 < argc)
            format = argv[++i];
        else if (!strcmp(argv[i], "-s") && i + 1 < argc)
            settings = argv[++i];
        else if (!strcmp(argv[i], "--engine") && i + 1 < argc)
            engine = argv[++i];
        else if (!strcmp(argv[i], "--path") && i + 1 < argc)
            path = argv[++i];
        else
            usage();
    }
    if (argc - i != 2 || !path || runs < 1 || runs > MAX_RUNS || chunk == 0)
        usage();

    size_t cols_len, len;
    char *cols = bench_read_file(argv[i], 0, &cols_len);
    while (cols_len && (cols[cols_len - 1] == '\n' || cols[cols_len - 1] == ' '))
        cols[--cols_len] = 0;
    char *body = bench_read_file(argv[i + 1], 0, &len);

    size_t sql_cap = cols_len + strlen(engine) + 256;
    char *create = malloc(sql_cap), arg_path[1024], ins[2048];
    if (!create)
        return 2;
    snprintf(create, sql_cap, "CREATE TABLE bench_mt (%s) ENGINE = %s", cols, engine);
    snprintf(ins, sizeof ins, "INSERT INTO bench_mt SETTINGS %s", settings);
    snprintf(arg_path, sizeof arg_path, "--path=%s", path);

    chdb_set_signal_handlers_enabled(0);
    char arg0[] = "clickhouse";
    char *args[] = {arg0, arg_path};
    chdb_connection *conn = chdb_connect(2, args);
    if (!conn) {
        fprintf(stderr, "chdb_connect failed\n");
        return 1;
    }
    query_or_die(*conn, "DROP TABLE IF EXISTS bench_mt");
    query_or_die(*conn, create);
    if (!strcmp(format, "JSONEachRow")) /* a binary prefix would end mid-row */
        insert(*conn, ins, format, body, bench_chunk_end(body, len, 0, (size_t)1 << 20), chunk);

    double secs[MAX_RUNS], cpu[MAX_RUNS];
    uint64_t rows = 0;
    for (int r = 0; r < runs; r++) {
        query_or_die(*conn, "TRUNCATE TABLE bench_mt");
        double t0 = bench_now(), c0 = bench_cpu();
        rows = insert(*conn, ins, format, body, len, chunk);
        secs[r] = bench_now() - t0;
        cpu[r] = bench_cpu() - c0;
        printf("run %d: %.3f s %.0f rows/s %.1f MB/s (%.2f cores)\n", r, secs[r],
               (double)rows / secs[r], (double)len / secs[r] / 1e6, cpu[r] / secs[r]);
    }
    bench_print_result("clickhouse", "web", len, rows, 0, secs, cpu, runs);
    fflush(stdout);

    query_or_die(*conn, "DROP TABLE bench_mt");
    chdb_close_conn(conn);
    chdb_shutdown();
    free(create);
    free(body);
    free(cols);
    return 0;
}
