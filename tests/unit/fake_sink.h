/* An in-memory sink for tests: records every statement and inserted block, fails on demand,
 * can hold inserts until released, and emulates insert_deduplication_token (a repeated
 * (table, token) pair is acknowledged without being recorded as new rows) and the marks query
 * (sl_catalog_marks_sql): each insert that lands is one block, numbered from 1, counted apart for
 * quarantine tables and all other tables.
 * Thread-safe: the batcher's flusher inserts while the test thread inspects. */
#ifndef FAKE_SINK_H
#define FAKE_SINK_H

#include "sl_sink.h"

#include <pthread.h>

typedef struct {
    char *sql;
    char *format;
    uint8_t *data;
    size_t len;
    bool deduplicated;
    bool lost; /* its token is remembered but its rows never landed (a failed insert) */
} fake_insert;

typedef struct {
    sl_sink base;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char **stmts; /* every query, NUL-terminated */
    size_t n_stmts;
    fake_insert *inserts; /* every successful insert, deduplicated ones flagged */
    size_t n_inserts;
    int fail_inserts;      /* fail this many next insert attempts */
    int lose_inserts;      /* this many next inserts fail after their token is remembered, as
                              ClickHouse can when an insert is cut short: a repeat is dropped */
    int land_then_fail;    /* this many next inserts land, then report an error */
    char fail_substr[128]; /* fail queries and inserts whose SQL contains this ("" = none) */
    bool hold;             /* inserts wait while true */
    int insert_attempts;
    char answer[256]; /* output of every query */
} fake_sink;

fake_sink *fake_sink_new(void);
/* Under the sink's lock: setters for the test thread. */
void fake_sink_set_hold(fake_sink *f, bool hold);
void fake_sink_fail_inserts(fake_sink *f, int n);
void fake_sink_lose_inserts(fake_sink *f, int n);
void fake_sink_land_then_fail(fake_sink *f, int n);
void fake_sink_fail_matching(fake_sink *f, const char *substr);
/* Number of recorded inserts whose SQL contains `substr`, not deduplicated and not lost. */
size_t fake_sink_count_inserts(fake_sink *f, const char *substr);
/* Number of statements containing `substr`. */
size_t fake_sink_count_stmts(fake_sink *f, const char *substr);
/* Waits up to ms for n non-deduplicated inserts overall; returns true if reached. */
bool fake_sink_wait_inserts(fake_sink *f, size_t n, int ms);

#endif
