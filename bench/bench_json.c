/* Throughput of the JSON scanner on an NDJSON file (e.g. `gen_events.py web --rows 200000`).
 * Modes, run side by side on the same data: `skip` validates each line with sl_json_skip_value;
 * `walk` iterates the top-level object and nested "payload" object, scanning every member as a
 * converter extracting fields would, and skipping the rest.
 * Usage: bench_json FILE [ROUNDS]. Build: cc -O2 -Isrc/format bench/bench_json.c
 * src/format/sl_json.c src/format/sl_common.c -lm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sl_json.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static size_t run_skip(const char *data, size_t len)
{
    size_t rows = 0;
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *nl = sl_json_line_end(p, end);
        sl_json_cursor c;
        sl_json_cursor_init(&c, p, (size_t)(nl - p), NULL);
        if (sl_json_skip_value(&c) == 0 && sl_json_at_end(&c))
            rows++;
        p = nl + (nl < end);
    }
    return rows;
}

static int walk_object(sl_json_cursor *c, int depth, size_t *fields)
{
    sl_json_value k, v;
    int rc = sl_json_object_begin(c);
    while (rc == 0 && (rc = sl_json_object_next(c, &k)) == 1) {
        if (depth == 0 && sl_json_key_equals(&k, SL_STR("payload")) &&
            sl_json_peek(c) == SL_JSON_OBJECT) {
            rc = walk_object(c, 1, fields);
        } else if (sl_json_key_equals(&k, SL_STR("tags"))) {
            rc = sl_json_skip_value(c);
        } else {
            rc = sl_json_scan_value(c, &v);
            (*fields)++;
        }
    }
    return rc;
}

static size_t run_walk(const char *data, size_t len, size_t *fields)
{
    size_t rows = 0;
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *nl = sl_json_line_end(p, end);
        sl_json_cursor c;
        sl_json_cursor_init(&c, p, (size_t)(nl - p), NULL);
        if (walk_object(&c, 0, fields) == 0 && sl_json_at_end(&c))
            rows++;
        p = nl + (nl < end);
    }
    return rows;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_json FILE [ROUNDS]\n");
        return 2;
    }
    int rounds = argc > 2 ? atoi(argv[2]) : 10;
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)sz);
    if (!data || fread(data, 1, (size_t)sz, f) != (size_t)sz) {
        fprintf(stderr, "read failed\n");
        return 1;
    }
    fclose(f);
    size_t len = (size_t)sz;

    double best_skip = 1e9, best_walk = 1e9;
    size_t rows_skip = 0, rows_walk = 0, fields = 0;
    for (int r = 0; r < rounds; r++) {
        double t0 = now();
        rows_skip = run_skip(data, len);
        double t1 = now();
        fields = 0;
        rows_walk = run_walk(data, len, &fields);
        double t2 = now();
        if (t1 - t0 < best_skip)
            best_skip = t1 - t0;
        if (t2 - t1 < best_walk)
            best_walk = t2 - t1;
    }
    printf("%zu bytes, %zu rows\n", len, rows_skip);
    printf("skip: %.3f GB/s (%zu valid rows)\n", (double)len / best_skip / 1e9, rows_skip);
    printf("walk: %.3f GB/s (%zu valid rows, %zu fields)\n", (double)len / best_walk / 1e9,
           rows_walk, fields);
    free(data);
    return 0;
}
