/* Baseline for the converter: ClickHouse's own JSONEachRow parser, through chDB, inserting the
 * same NDJSON into an `ENGINE = Null` table (so only parsing and column building are timed,
 * nothing is stored).
 *
 *   bench_chdb [-n RUNS] [-c CHUNK_MIB] [-s SETTINGS] [--name NAME] --path DIR COLUMNS FILE.ndjson
 *
 * COLUMNS is a file holding the table's column list (bench/ch_structure.py writes it from a
 * .datasource). Each run is one chdb_stream_insert(..., "JSONEachRow") fed with appends of about
 * CHUNK_MIB cut at newlines, then chdb_stream_done. A small insert and one whole untimed run
 * first warm the engine.
 * SETTINGS (default date_time_input_format='best_effort') go into the INSERT's SETTINGS clause.
 * ClickHouse may use every core (parallel parsing); cpu_s/cores in the result line show it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "chdb_min.h"

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
static uint64_t insert(chdb_connection conn, const char *sql, const char *buf, size_t len,
                       size_t chunk)
{
    chdb_insert_stream s = chdb_stream_insert(conn, sql, "JSONEachRow");
    const char *e = chdb_stream_insert_error(s);
    if (e) {
        fprintf(stderr, "chdb_stream_insert: %s\n", e);
        exit(1);
    }
    for (size_t start = 0, end; start < len; start = end) {
        end = bench_chunk_end(buf, len, start, chunk);
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

static uint64_t count_lines(const char *buf, size_t len)
{
    uint64_t n = 0;
    for (const char *p = buf, *end = buf + len; p < end; n++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : end;
    }
    return n;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_chdb [-n RUNS] [-c CHUNK_MIB] [-s SETTINGS] [--name NAME] "
                    "--path DIR COLUMNS FILE.ndjson\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int runs = 5;
    size_t chunk = (size_t)16 << 20;
    const char *settings = "date_time_input_format='best_effort'";
    const char *name = "data", *path = NULL;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-c") && i + 1 < argc)
            chunk = (size_t)atoi(argv[++i]) << 20;
        else if (!strcmp(argv[i], "-s") && i + 1 < argc)
            settings = argv[++i];
        else if (!strcmp(argv[i], "--name") && i + 1 < argc)
            name = argv[++i];
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
    uint64_t lines = count_lines(body, len);

    size_t sql_cap = cols_len + 256;
    char *create = malloc(sql_cap), ins[1024], arg_path[1024];
    if (!create)
        return 2;
    snprintf(create, sql_cap, "CREATE TABLE bench_null (%s) ENGINE = Null", cols);
    snprintf(ins, sizeof ins, "INSERT INTO bench_null SETTINGS %s", settings);
    snprintf(arg_path, sizeof arg_path, "--path=%s", path);

    chdb_set_signal_handlers_enabled(0);
    char arg0[] = "clickhouse";
    char *args[] = {arg0, arg_path};
    chdb_connection *conn = chdb_connect(2, args);
    if (!conn) {
        fprintf(stderr, "chdb_connect failed\n");
        return 1;
    }
    query_or_die(*conn, "DROP TABLE IF EXISTS bench_null");
    query_or_die(*conn, create);

    /* Warm-up, untimed: the first insert after connect is several times slower, and the first
     * whole-file insert still pays for growing the engine's memory pools. */
    size_t warm = bench_chunk_end(body, len, 0, (size_t)1 << 20);
    insert(*conn, ins, body, warm, chunk);
    insert(*conn, ins, body, len, chunk);

    double secs[MAX_RUNS], cpu[MAX_RUNS];
    uint64_t rows = 0;
    for (int r = 0; r < runs; r++) {
        double t0 = bench_now(), c0 = bench_cpu();
        rows = insert(*conn, ins, body, len, chunk);
        secs[r] = bench_now() - t0;
        cpu[r] = bench_cpu() - c0;
        printf("run %d: %.3f s %.1f MB/s %.0f rows/s (%.2f cores)\n", r, secs[r],
               (double)len / secs[r] / 1e6, (double)rows / secs[r], cpu[r] / secs[r]);
    }
    /* rows_written of a Null table: what ClickHouse reports; lines counted for comparison. */
    printf("lines %llu, rows written %llu; settings: %s\n", (unsigned long long)lines,
           (unsigned long long)rows, settings);
    bench_print_result("clickhouse", name, len, rows ? rows : lines, 0, secs, cpu, runs);
    fflush(stdout);

    query_or_die(*conn, "DROP TABLE bench_null");
    chdb_close_conn(conn);
    free(create);
    free(body);
    free(cols);
    return 0;
}
