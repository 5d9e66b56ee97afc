/* `sluice check FILE.datasource FILE.ndjson`: runs the converter offline, with no server and no
 * ClickHouse, and reports rows accepted and quarantined with the reasons. */
#include "sl_cli.h"
#include "sl_convert.h"
#include "sl_datafile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char check_usage[] =
    "usage: sluice check [options] FILE.datasource FILE.ndjson\n"
    "\n"
    "Converts every row of FILE.ndjson (NDJSON, a JSON object, or an array of objects) with the\n"
    "schema of FILE.datasource, as the server would, and reports how many rows would be accepted\n"
    "and quarantined, with the first errors and their line numbers. Needs no server.\n"
    "\n"
    "options:\n"
    "  --json                 print one JSON object: successful_rows, quarantined_rows,\n"
    "                         quarantined_lines, errors [{line, column, message}], bytes, seconds\n"
    "  --out FILE             write the accepted rows as RowBinaryWithDefaults to FILE\n"
    "  --quarantine-out FILE  write the quarantined rows as RowBinary for <name>_quarantine\n"
    "                         (every column but insertion_date) to FILE\n"
    "  --errors N             errors to show (default 10; with --json, 1000)\n"
    "  -h, --help             show this help\n"
    "\n"
    "exit status: 0 every row accepted, 1 some rows quarantined, 2 bad usage, file or schema.\n";

#define WINDOW (16u << 20)

typedef struct {
    bool json;
    uint64_t max_errors;
    uint64_t n_errors;
    sl_buf errors; /* human lines, or JSON array members */
    uint64_t *lines;
    size_t n_lines, cap_lines;
} report_ctx;

static void on_issue(void *ud, const sl_convert_issue *is)
{
    report_ctx *r = ud;
    if (r->n_lines == 0 || r->lines[r->n_lines - 1] != is->line) {
        if (r->n_lines == r->cap_lines) {
            r->cap_lines = r->cap_lines ? r->cap_lines * 2 : 64;
            r->lines = sl_xrealloc(r->lines, r->cap_lines * sizeof(uint64_t));
        }
        r->lines[r->n_lines++] = is->line;
    }
    if (r->n_errors++ >= r->max_errors)
        return;
    if (r->json) {
        if (r->errors.len)
            sl_buf_append(&r->errors, ",", 1);
        sl_buf_printf(&r->errors, "{\"line\":%llu,\"column\":", (unsigned long long)is->line);
        sl_buf_append_json_string(&r->errors, is->column.ptr, is->column.len);
        sl_buf_append_cstr(&r->errors, ",\"message\":");
        sl_buf_append_json_string(&r->errors, is->message.ptr, is->message.len);
        sl_buf_append(&r->errors, "}", 1);
    } else {
        sl_buf_printf(&r->errors, "  line %llu: %.*s\n", (unsigned long long)is->line,
                      (int)is->message.len, is->message.ptr);
    }
}

static int write_all(FILE *f, const sl_buf *b)
{
    return b->len == 0 || fwrite(b->data, 1, b->len, f) == b->len ? 0 : -1;
}

/* End of the next window: the first line start at or after `want` that begins a new value
 * ('{' or '['), so a pretty-printed object is not cut in two. */
static size_t window_end(const char *p, size_t len, size_t want)
{
    if (want >= len)
        return len;
    for (size_t i = want; i < len; i++)
        if (p[i] == '\n' && i + 1 < len && (p[i + 1] == '{' || p[i + 1] == '['))
            return i + 1;
    return len;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int sl_cmd_check(int argc, char **argv)
{
    const char *paths[2] = {NULL, NULL};
    int n_paths = 0;
    const char *out_path = NULL, *q_path = NULL;
    report_ctx rep = {0};
    long long max_errors = -1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(check_usage, stdout);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            rep.json = true;
        } else if ((strcmp(a, "--out") == 0 || strcmp(a, "--quarantine-out") == 0 ||
                    strcmp(a, "--errors") == 0)) {
            if (i + 1 >= argc) {
                fprintf(stderr, "sluice check: %s needs a value\n", a);
                return 2;
            }
            const char *v = argv[++i];
            if (strcmp(a, "--out") == 0) {
                out_path = v;
            } else if (strcmp(a, "--quarantine-out") == 0) {
                q_path = v;
            } else {
                char *endp;
                max_errors = strtoll(v, &endp, 10);
                if (*endp || max_errors < 0) {
                    fprintf(stderr, "sluice check: --errors needs a number >= 0, got '%s'\n", v);
                    return 2;
                }
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "sluice check: unknown option '%s'\n\n%s", a, check_usage);
            return 2;
        } else if (n_paths < 2) {
            paths[n_paths++] = a;
        } else {
            fprintf(stderr, "sluice check: too many arguments\n\n%s", check_usage);
            return 2;
        }
    }
    if (n_paths != 2) {
        fprintf(stderr, "sluice check: needs FILE.datasource and FILE.ndjson\n\n%s", check_usage);
        return 2;
    }
    rep.max_errors = max_errors >= 0 ? (uint64_t)max_errors : rep.json ? 1000 : 10;

    sl_buf schema_text;
    sl_buf_init(&schema_text, 64u << 20);
    if (sl_cli_read_file(paths[0], &schema_text) != 0) {
        fprintf(stderr, "sluice check: cannot read %s: %s\n", paths[0], strerror(errno));
        sl_buf_free(&schema_text);
        return 2;
    }
    sl_datafile *df = NULL;
    sl_error err = {0};
    int rc =
        sl_datafile_parse((sl_str){(const char *)schema_text.data, schema_text.len}, &df, &err);
    sl_buf_free(&schema_text);
    if (rc) {
        fprintf(stderr, "sluice check: %s: %s\n", paths[0], err.msg ? err.msg : sl_strerror(rc));
        return 2;
    }
    sl_converter *conv = NULL;
    if ((rc = sl_converter_new(df, &conv, &err)) != 0) {
        fprintf(stderr, "sluice check: %s: %s\n", paths[0], err.msg ? err.msg : sl_strerror(rc));
        sl_datafile_free(df);
        return 2;
    }

    int status = 2;
    int fd = open(paths[1], O_RDONLY);
    struct stat sb;
    const char *data = NULL;
    size_t size = 0;
    FILE *out = NULL, *qout = NULL;
    sl_convert_state *st = NULL;
    sl_buf rows, quarantine;
    sl_buf_init(&rows, 0);
    sl_buf_init(&quarantine, 0);
    sl_buf_init(&rep.errors, 0);

    if (fd < 0 || fstat(fd, &sb) != 0) {
        fprintf(stderr, "sluice check: cannot read %s: %s\n", paths[1], strerror(errno));
        goto done;
    }
    size = (size_t)sb.st_size;
    if (size > 0) {
        data = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (data == MAP_FAILED) {
            data = NULL;
            fprintf(stderr, "sluice check: cannot map %s: %s\n", paths[1], strerror(errno));
            goto done;
        }
        madvise((void *)data, size, MADV_SEQUENTIAL);
    }
    if (out_path && !(out = fopen(out_path, "wb"))) {
        fprintf(stderr, "sluice check: cannot write %s: %s\n", out_path, strerror(errno));
        goto done;
    }
    if (q_path && !(qout = fopen(q_path, "wb"))) {
        fprintf(stderr, "sluice check: cannot write %s: %s\n", q_path, strerror(errno));
        goto done;
    }

    st = sl_convert_state_new();
    sl_convert_stats stats = {0};
    sl_convert_options opt = {.report = on_issue, .report_ud = &rep};
    double seconds = 0;
    for (size_t pos = 0; pos < size;) {
        size_t end = window_end(data, size, pos + WINDOW);
        rows.len = quarantine.len = 0;
        opt.first_line = stats.lines + 1;
        double t0 = now_seconds();
        rc =
            sl_convert(conv, st, (sl_str){data + pos, end - pos}, &opt, &rows, &quarantine, &stats);
        seconds += now_seconds() - t0;
        if (rc) {
            fprintf(stderr, "sluice check: conversion stopped: %s\n", sl_strerror(rc));
            goto done;
        }
        if ((out && write_all(out, &rows)) || (qout && write_all(qout, &quarantine))) {
            fprintf(stderr, "sluice check: write failed: %s\n", strerror(errno));
            goto done;
        }
        pos = end;
    }
    if ((out && fclose(out) != 0) || (qout && fclose(qout) != 0)) {
        out = qout = NULL;
        fprintf(stderr, "sluice check: write failed: %s\n", strerror(errno));
        goto done;
    }
    out = qout = NULL;

    double mbps = seconds > 0 ? (double)size / 1e6 / seconds : 0;
    if (rep.json) {
        printf("{\"successful_rows\":%llu,\"quarantined_rows\":%llu,\"lines\":%llu,"
               "\"bytes\":%zu,\"seconds\":%.6f,\"quarantined_lines\":[",
               (unsigned long long)stats.rows, (unsigned long long)stats.quarantined,
               (unsigned long long)stats.lines, size, seconds);
        for (size_t i = 0; i < rep.n_lines; i++)
            printf(i ? ",%llu" : "%llu", (unsigned long long)rep.lines[i]);
        printf("],\"errors\":[%.*s]}\n", (int)rep.errors.len, (const char *)rep.errors.data);
    } else {
        printf("%s: %llu rows accepted, %llu quarantined (%.1f MB in %.3f s, %.0f MB/s)\n",
               paths[1], (unsigned long long)stats.rows, (unsigned long long)stats.quarantined,
               (double)size / 1e6, seconds, mbps);
        if (rep.n_errors) {
            printf("errors%s:\n", rep.n_errors > rep.max_errors ? " (first ones)" : "");
            fwrite(rep.errors.data, 1, rep.errors.len, stdout);
            if (rep.n_errors > rep.max_errors)
                printf("  ... and %llu more\n",
                       (unsigned long long)(rep.n_errors - rep.max_errors));
        }
    }
    status = stats.quarantined ? 1 : 0;

done:
    if (out)
        fclose(out);
    if (qout)
        fclose(qout);
    if (data)
        munmap((void *)data, size);
    if (fd >= 0)
        close(fd);
    sl_convert_state_free(st);
    sl_buf_free(&rows);
    sl_buf_free(&quarantine);
    sl_buf_free(&rep.errors);
    free(rep.lines);
    sl_converter_free(conv);
    sl_datafile_free(df);
    return status;
}
