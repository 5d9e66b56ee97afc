/* Benchmark of sluice's converter (sl_convert) on one thread.
 *
 *   bench_convert [-n RUNS] [-c CHUNK_MIB] [--stream] [--name NAME] FILE.datasource FILE.ndjson
 *
 * Default mode: the whole NDJSON file is read into memory first, then each run converts it in
 * chunks of about CHUNK_MIB (cut after a newline), reusing the two output buffers (len reset
 * between chunks), so the timed work is sl_convert alone. One untimed pass first reports the
 * first quarantine reasons, if any, and warms the buffers.
 * --stream: reads the file CHUNK_MIB at a time (one run, file I/O included) to show that memory
 * is bounded by the chunk and not by the input: compare its maxrss_kb with the file size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "sl_common.h"
#include "sl_convert.h"
#include "sl_datafile.h"

#define MAX_RUNS 100

typedef struct {
    const sl_converter *conv;
    sl_convert_state *st;
    sl_buf rows, quar;
    sl_convert_stats stats;
    size_t out_bytes;
    size_t max_rows_alloc, max_quar_alloc;
    sl_convert_report_fn report;
    int reported;
} run_ctx;

static void report_issue(void *ud, const sl_convert_issue *issue)
{
    run_ctx *rc = ud;
    if (rc->reported++ < 5)
        fprintf(stderr, "quarantine: line %llu column '%.*s': %.*s\n",
                (unsigned long long)issue->line, (int)issue->column.len, issue->column.ptr,
                (int)issue->message.len, issue->message.ptr);
}

static void convert_chunk(run_ctx *rc, const char *p, size_t n)
{
    sl_convert_options opt = {
        .import_id = SL_STR_NULL,
        .first_line = rc->stats.lines + 1,
        .report = rc->report,
        .report_ud = rc,
    };
    rc->rows.len = 0;
    rc->quar.len = 0;
    int r = sl_convert(rc->conv, rc->st, (sl_str){p, n}, &opt, &rc->rows, &rc->quar, &rc->stats);
    if (r < 0) {
        fprintf(stderr, "sl_convert: %s\n", sl_strerror(r));
        exit(1);
    }
    rc->out_bytes += rc->rows.len + rc->quar.len;
    if (rc->rows.alloc > rc->max_rows_alloc)
        rc->max_rows_alloc = rc->rows.alloc;
    if (rc->quar.alloc > rc->max_quar_alloc)
        rc->max_quar_alloc = rc->quar.alloc;
}

static void reset_counts(run_ctx *rc)
{
    memset(&rc->stats, 0, sizeof rc->stats);
    rc->out_bytes = 0;
}

/* Reads `path` chunk by chunk, carrying a partial last line over to the next chunk. */
static size_t convert_streaming(run_ctx *rc, const char *path, size_t chunk)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    size_t cap = chunk, have = 0, total = 0;
    char *buf = malloc(cap);
    if (!buf)
        exit(2);
    for (;;) {
        if (have == cap) { /* one line longer than the chunk */
            cap *= 2;
            buf = realloc(buf, cap);
            if (!buf)
                exit(2);
        }
        size_t got = fread(buf + have, 1, cap - have, f);
        have += got;
        total += got;
        if (got == 0) {
            if (have)
                convert_chunk(rc, buf, have);
            break;
        }
        size_t cut = have;
        while (cut > 0 && buf[cut - 1] != '\n')
            cut--;
        if (cut == 0)
            continue;
        convert_chunk(rc, buf, cut);
        memmove(buf, buf + cut, have - cut);
        have -= cut;
    }
    free(buf);
    fclose(f);
    return total;
}

/* The dataset name: the file name up to its first dot. */
static const char *base_name(const char *path, char *name, size_t size)
{
    const char *s = strrchr(path, '/');
    s = s ? s + 1 : path;
    size_t n = strcspn(s, ".");
    if (n >= size)
        n = size - 1;
    memcpy(name, s, n);
    name[n] = 0;
    return name;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_convert [-n RUNS] [-c CHUNK_MIB] [--stream] [--name NAME] "
                    "FILE.datasource FILE.ndjson\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int runs = 5;
    size_t chunk = (size_t)16 << 20;
    int streaming = 0;
    const char *name = NULL;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-c") && i + 1 < argc)
            chunk = (size_t)atoi(argv[++i]) << 20;
        else if (!strcmp(argv[i], "--stream"))
            streaming = 1;
        else if (!strcmp(argv[i], "--name") && i + 1 < argc)
            name = argv[++i];
        else
            usage();
    }
    if (argc - i != 2 || runs < 1 || runs > MAX_RUNS || chunk == 0)
        usage();
    const char *ds_path = argv[i], *data_path = argv[i + 1];
    char name_buf[64];
    if (!name)
        name = base_name(data_path, name_buf, sizeof name_buf);

    size_t ds_len;
    char *ds_text = bench_read_file(ds_path, 0, &ds_len);
    sl_datafile *df;
    sl_error err = {0};
    if (sl_datafile_parse((sl_str){ds_text, ds_len}, &df, &err) < 0) {
        fprintf(stderr, "%s:%u:%u: %s\n", ds_path, err.line, err.column, err.msg);
        return 1;
    }
    sl_converter *conv;
    if (sl_converter_new(df, &conv, &err) < 0) {
        fprintf(stderr, "%s: %s\n", ds_path, err.msg);
        return 1;
    }
    run_ctx rc = {.conv = conv, .st = sl_convert_state_new()};
    sl_buf_init(&rc.rows, 0);
    sl_buf_init(&rc.quar, 0);

    if (streaming) {
        rc.report = report_issue;
        double t0 = bench_now(), c0 = bench_cpu();
        size_t bytes = convert_streaming(&rc, data_path, chunk);
        double secs = bench_now() - t0, cpu = bench_cpu() - c0;
        printf("stream: %zu bytes, chunk %zu MiB, rows buffer %zu KiB, quarantine buffer %zu "
               "KiB\n",
               bytes, chunk >> 20, rc.max_rows_alloc >> 10, rc.max_quar_alloc >> 10);
        bench_print_result("sluice-stream", name, bytes, rc.stats.rows, rc.stats.quarantined, &secs,
                           &cpu, 1);
    } else {
        size_t len;
        char *body = bench_read_file(data_path, 0, &len);
        size_t n_chunks = 0, *ends = malloc(sizeof *ends * (len / chunk + 2));
        if (!ends)
            exit(2);
        for (size_t s = 0; s < len; s = ends[n_chunks++])
            ends[n_chunks] = bench_chunk_end(body, len, s, chunk);

        /* Untimed pass: reasons of the first quarantined rows, warm buffers. */
        rc.report = report_issue;
        for (size_t k = 0, s = 0; k < n_chunks; s = ends[k++])
            convert_chunk(&rc, body + s, ends[k] - s);
        uint64_t rows = rc.stats.rows, quar = rc.stats.quarantined;
        size_t out = rc.out_bytes;
        rc.report = NULL;

        double secs[MAX_RUNS], cpu[MAX_RUNS];
        for (int r = 0; r < runs; r++) {
            reset_counts(&rc);
            double t0 = bench_now(), c0 = bench_cpu();
            for (size_t k = 0, s = 0; k < n_chunks; s = ends[k++])
                convert_chunk(&rc, body + s, ends[k] - s);
            secs[r] = bench_now() - t0;
            cpu[r] = bench_cpu() - c0;
            if (rc.stats.rows != rows || rc.stats.quarantined != quar || rc.out_bytes != out) {
                fprintf(stderr, "run %d: different counts\n", r);
                return 1;
            }
            printf("run %d: %.3f s %.1f MB/s %.0f rows/s\n", r, secs[r],
                   (double)len / secs[r] / 1e6, (double)rows / secs[r]);
        }
        printf("input %zu bytes in %zu chunks of ~%zu MiB; output %zu bytes; rows buffer %zu KiB, "
               "quarantine buffer %zu KiB\n",
               len, n_chunks, chunk >> 20, out, rc.max_rows_alloc >> 10, rc.max_quar_alloc >> 10);
        bench_print_result("sluice", name, len, rows, quar, secs, cpu, runs);
        free(ends);
        free(body);
    }
    sl_buf_free(&rc.rows);
    sl_buf_free(&rc.quar);
    sl_convert_state_free(rc.st);
    sl_converter_free(conv);
    sl_datafile_free(df);
    free(ds_text);
    return 0;
}
