/* Helpers shared by the C benchmarks in bench/: whole-file reads, clocks, chunking at newlines
 * and the summary line that bench/run.sh parses. Header-only (static inline) so each benchmark
 * stays one translation unit. Exits on I/O or allocation failure: these are tools, not library
 * code. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* Reads the whole file; the buffer has `pad` zeroed bytes after the content. */
static inline char *bench_read_file(const char *path, size_t pad, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    if (fseek(f, 0, SEEK_END) != 0) {
        perror(path);
        exit(2);
    }
    long size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
        perror(path);
        exit(2);
    }
    char *buf = malloc((size_t)size + pad + 1);
    if (!buf) {
        fprintf(stderr, "%s: out of memory\n", path);
        exit(2);
    }
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "%s: short read\n", path);
        exit(2);
    }
    fclose(f);
    memset(buf + size, 0, pad + 1);
    *len = (size_t)size;
    return buf;
}

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds (user + system) of every thread of the process. */
static inline double bench_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

static inline long bench_maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* End of the chunk that starts at `start`: about `target` bytes, cut just after a newline
 * (or at the end of the input; a line longer than `target` makes a longer chunk). */
static inline size_t bench_chunk_end(const char *buf, size_t len, size_t start, size_t target)
{
    if (len - start <= target)
        return len;
    size_t end = start + target;
    for (size_t i = end; i > start; i--)
        if (buf[i - 1] == '\n')
            return i;
    const char *nl = memchr(buf + end, '\n', len - end);
    return nl ? (size_t)(nl - buf) + 1 : len;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts `t` in place; returns the median (the lower middle for an even count). */
static inline double bench_median(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, bench_cmp_double);
    return t[(n - 1) / 2];
}

/* One line per benchmark and dataset for bench/run.sh; MB are 10^6 bytes. */
static inline void bench_print_result(const char *tool, const char *dataset, size_t bytes,
                                      uint64_t rows, uint64_t bad, const double *secs,
                                      const double *cpu, int n)
{
    double *t = malloc(sizeof *t * (size_t)n), *c = malloc(sizeof *c * (size_t)n);
    if (!t || !c)
        exit(2);
    memcpy(t, secs, sizeof *t * (size_t)n);
    memcpy(c, cpu, sizeof *c * (size_t)n);
    double med = bench_median(t, n), best = t[0];
    double cpu_med = bench_median(c, n);
    printf("RESULT tool=%s dataset=%s bytes=%zu rows=%llu bad=%llu runs=%d best_s=%.4f "
           "median_s=%.4f best_mbps=%.1f median_mbps=%.1f best_rows_s=%.0f median_rows_s=%.0f "
           "cpu_s=%.4f cores=%.2f maxrss_kb=%ld\n",
           tool, dataset, bytes, (unsigned long long)rows, (unsigned long long)bad, n, best, med,
           (double)bytes / best / 1e6, (double)bytes / med / 1e6, (double)rows / best,
           (double)rows / med, cpu_med, cpu_med / med, bench_maxrss_kb());
    free(t);
    free(c);
}

#endif
