/* The in-memory test sink (see fake_sink.h). Test files #include this .c file. */
#include "fake_sink.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *fs_dup(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static int fs_query(sl_sink *sink, sl_str sql, const char *format, sl_buf *out, sl_error *err)
{
    (void)format;
    fake_sink *f = (fake_sink *)sink;
    pthread_mutex_lock(&f->mu);
    char *s = fs_dup(sql.ptr, sql.len);
    int rc = 0;
    if (f->fail_substr[0] && strstr(s, f->fail_substr)) {
        rc = sl_error_set(err, SL_EIO, "fake: statement refused", 0);
        free(s);
    } else {
        f->stmts = realloc(f->stmts, (f->n_stmts + 1) * sizeof *f->stmts);
        f->stmts[f->n_stmts++] = s;
        if (out && strstr(s, "FROM system.parts")) {
            uint64_t blocks[2] = {0, 0};
            for (size_t i = 0; i < f->n_inserts; i++)
                if (!f->inserts[i].deduplicated && !f->inserts[i].lost)
                    blocks[strstr(f->inserts[i].sql, "_quarantine`") != NULL]++;
            for (int t = 0; rc == 0 && t < 2; t++)
                if (blocks[t])
                    rc = sl_buf_printf(out, "%d\t%llu\n", t, (unsigned long long)blocks[t]);
        } else if (out) {
            rc = sl_buf_append_cstr(out, f->answer);
        }
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}

/* "<table> SETTINGS insert_deduplication_token = '<t>'" → the text from INSERT INTO to the end. */
static bool seen_token(fake_sink *f, const char *sql)
{
    if (!strstr(sql, "insert_deduplication_token"))
        return false;
    for (size_t i = 0; i < f->n_inserts; i++)
        if (strcmp(f->inserts[i].sql, sql) == 0)
            return true;
    return false;
}

static int fs_insert(sl_sink *sink, sl_str insert_sql, const char *format, const void *data,
                     size_t len, uint64_t *rows_written, sl_error *err)
{
    fake_sink *f = (fake_sink *)sink;
    pthread_mutex_lock(&f->mu);
    while (f->hold)
        pthread_cond_wait(&f->cv, &f->mu);
    f->insert_attempts++;
    char *s = fs_dup(insert_sql.ptr, insert_sql.len);
    int rc = 0;
    if (f->fail_inserts > 0 || (f->fail_substr[0] && strstr(s, f->fail_substr))) {
        if (f->fail_inserts > 0)
            f->fail_inserts--;
        free(s);
        rc = sl_error_set(err, SL_EIO, "fake: insert refused", 0);
    } else {
        fake_insert in = {
            s, fs_dup(format, strlen(format)), malloc(len ? len : 1), len, seen_token(f, s), false};
        if (len)
            memcpy(in.data, data, len);
        if (!in.deduplicated && f->lose_inserts > 0) {
            f->lose_inserts--;
            in.lost = true;
            rc = sl_error_set(err, SL_EIO, "fake: insert cut short", 0);
        } else if (f->land_then_fail > 0) {
            f->land_then_fail--;
            rc = sl_error_set(err, SL_EIO, "fake: insert landed, then failed", 0);
        }
        f->inserts = realloc(f->inserts, (f->n_inserts + 1) * sizeof *f->inserts);
        f->inserts[f->n_inserts++] = in;
        if (rows_written)
            *rows_written = 0;
        pthread_cond_broadcast(&f->cv);
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}

static int fs_classify(sl_sink *sink, sl_str sql, int *n, sl_sql_class *cls, sl_error *err)
{
    (void)sink;
    (void)err;
    *n = 1;
    *cls = (sql.len >= 6 && strncmp(sql.ptr, "SELECT", 6) == 0) ? SL_SQL_READ : SL_SQL_WRITE;
    return 0;
}

static void fs_close(sl_sink *sink)
{
    fake_sink *f = (fake_sink *)sink;
    for (size_t i = 0; i < f->n_stmts; i++)
        free(f->stmts[i]);
    free(f->stmts);
    for (size_t i = 0; i < f->n_inserts; i++) {
        free(f->inserts[i].sql);
        free(f->inserts[i].format);
        free(f->inserts[i].data);
    }
    free(f->inserts);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static const sl_sink_ops fake_ops = {fs_query, fs_insert, fs_classify, fs_close};

fake_sink *fake_sink_new(void)
{
    fake_sink *f = calloc(1, sizeof *f);
    f->base.ops = &fake_ops;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    return f;
}

void fake_sink_set_hold(fake_sink *f, bool hold)
{
    pthread_mutex_lock(&f->mu);
    f->hold = hold;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

void fake_sink_fail_inserts(fake_sink *f, int n)
{
    pthread_mutex_lock(&f->mu);
    f->fail_inserts = n;
    pthread_mutex_unlock(&f->mu);
}

void fake_sink_lose_inserts(fake_sink *f, int n)
{
    pthread_mutex_lock(&f->mu);
    f->lose_inserts = n;
    pthread_mutex_unlock(&f->mu);
}

void fake_sink_land_then_fail(fake_sink *f, int n)
{
    pthread_mutex_lock(&f->mu);
    f->land_then_fail = n;
    pthread_mutex_unlock(&f->mu);
}

void fake_sink_fail_matching(fake_sink *f, const char *substr)
{
    pthread_mutex_lock(&f->mu);
    strncpy(f->fail_substr, substr ? substr : "", sizeof f->fail_substr - 1);
    pthread_mutex_unlock(&f->mu);
}

size_t fake_sink_count_inserts(fake_sink *f, const char *substr)
{
    size_t n = 0;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->n_inserts; i++)
        if (!f->inserts[i].deduplicated && !f->inserts[i].lost && strstr(f->inserts[i].sql, substr))
            n++;
    pthread_mutex_unlock(&f->mu);
    return n;
}

size_t fake_sink_count_stmts(fake_sink *f, const char *substr)
{
    size_t n = 0;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->n_stmts; i++)
        if (strstr(f->stmts[i], substr))
            n++;
    pthread_mutex_unlock(&f->mu);
    return n;
}

bool fake_sink_wait_inserts(fake_sink *f, size_t n, int ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += ms / 1000;
    dl.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&f->mu);
    for (;;) {
        size_t got = 0;
        for (size_t i = 0; i < f->n_inserts; i++)
            got += !f->inserts[i].deduplicated && !f->inserts[i].lost;
        if (got >= n)
            break;
        if (pthread_cond_timedwait(&f->cv, &f->mu, &dl) != 0) {
            pthread_mutex_unlock(&f->mu);
            return false;
        }
    }
    pthread_mutex_unlock(&f->mu);
    return true;
}
