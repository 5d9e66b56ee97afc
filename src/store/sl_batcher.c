/* The batcher: appends queue per data source under one mutex (O(1) work under the lock: the copy
 * is made before taking it); one flusher thread cuts a data source's pending appends into an
 * in-flight batch, inserts it without holding the lock, and answers waiters. Policy and contract
 * are in sl_batcher.h. */
#include "sl_batcher.h"

#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const double sl_batcher_latency_bounds[SL_BATCHER_LATENCY_BUCKETS] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
};

/* One append: its rows then its quarantine rows, in one allocation. */
typedef struct rec {
    struct rec *next;
    uint64_t seq;
    uint64_t n_rows, n_q;
    size_t rows_len, q_len;
    uint8_t data[];
} rec;

typedef struct waiter {
    struct waiter *next;
    uint64_t seq;
    uint64_t deadline_ns; /* 0 = none */
    sl_batcher_wait_fn fn;
    void *ud;
    sl_batch_status status; /* set when moved to a notify list */
} waiter;

/* Per data source queue. Fields marked (F) belong to the flusher while `busy`. */
typedef struct dsq {
    struct dsq *next;
    sl_datasource *ds; /* our reference */
    rec *pend_head, *pend_tail;
    size_t pend_bytes;
    uint64_t pend_rows;
    uint64_t oldest_ns; /* when the first pending append came */
    uint64_t last_seq;  /* last seq appended */
    uint64_t committed; /* every append of this ds with seq <= committed is committed */
    rec *infl;          /* (F) in-flight batch, retried as it is until it commits */
    uint64_t infl_first, infl_last;
    size_t infl_bytes;
    uint64_t infl_rows, infl_q;
    bool rows_done, q_done; /* (F) which table of the batch is already inserted */
    bool busy;              /* the flusher works on it without the lock */
    bool early;             /* a waiter wants it flushed now */
    bool failing;
    uint32_t backoff_ms;
    uint64_t retry_at_ns;
    char last_error[200];
    waiter *waiters;
} dsq;

struct sl_batcher {
    sl_batcher_config cfg;
    sl_sink *sink;
    pthread_mutex_t mu;
    pthread_cond_t wake; /* flusher sleeps here (CLOCK_MONOTONIC) */
    pthread_cond_t reap; /* the timeout thread sleeps here (CLOCK_MONOTONIC) */
    pthread_t thread;    /* flusher */
    pthread_t reaper;    /* answers waiters whose deadline passed, even mid-insert */
    bool stopping;       /* sl_batcher_stop called: no more appends */
    bool stopped;        /* the flusher has exited: no more waiters */
    bool joined;
    uint64_t stop_deadline_ns;
    uint64_t next_seq;
    dsq *queues;
    size_t total_bytes; /* pending + in flight */
    sl_batcher_stats st;
    /* flusher-only scratch */
    sl_buf rows_buf, q_buf, sql;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void logf_(sl_batcher *b, const char *level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(sl_batcher *b, const char *level, const char *fmt, ...)
{
    if (!b->cfg.log)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    b->cfg.log(b->cfg.log_ud, level, msg);
}

void sl_batcher_config_default(sl_batcher_config *c)
{
    memset(c, 0, sizeof *c);
    c->flush_interval_ms = 500;
    c->flush_bytes = (size_t)16 << 20;
    c->max_buffer_bytes = (size_t)1 << 30;
    c->retry_initial_ms = 100;
    c->retry_max_ms = 10000;
}

/* ---- queues (callers hold mu) ---- */

static dsq *find_q(sl_batcher *b, const sl_datasource *ds)
{
    for (dsq *q = b->queues; q; q = q->next)
        if (q->ds == ds)
            return q;
    return NULL;
}

static void free_recs(rec *r)
{
    while (r) {
        rec *n = r->next;
        free(r);
        r = n;
    }
}

/* Moves the waiters of q with seq <= upto (all when upto == UINT64_MAX) to *list with `status`. */
static void take_waiters(dsq *q, uint64_t upto, sl_batch_status status, waiter **list,
                         sl_batcher_stats *st)
{
    waiter **pp = &q->waiters;
    while (*pp) {
        waiter *w = *pp;
        if (w->seq <= upto) {
            *pp = w->next;
            w->status = status;
            w->next = *list;
            *list = w;
            st->waiters--;
        } else {
            pp = &w->next;
        }
    }
}

static void take_expired(sl_batcher *b, uint64_t now, waiter **list)
{
    for (dsq *q = b->queues; q; q = q->next) {
        waiter **pp = &q->waiters;
        while (*pp) {
            waiter *w = *pp;
            if (w->deadline_ns && w->deadline_ns <= now) {
                *pp = w->next;
                w->status = SL_BATCH_TIMEOUT;
                w->next = *list;
                *list = w;
                b->st.waiters--;
            } else {
                pp = &w->next;
            }
        }
    }
}

/* Calls and frees the waiters of `list`; the caller does not hold mu. */
static void notify(waiter *list, const char *message)
{
    while (list) {
        waiter *n = list->next;
        list->fn(list->ud, list->seq, list->status,
                 list->status == SL_BATCH_FAILED && message ? message : "");
        free(list);
        list = n;
    }
}

/* Discards everything queued for q (dropped data source or stop). Returns the rows discarded. */
static uint64_t discard(sl_batcher *b, dsq *q)
{
    uint64_t rows = q->pend_rows + q->infl_rows + q->infl_q;
    b->total_bytes -= q->pend_bytes + q->infl_bytes;
    b->st.buffer_bytes = b->total_bytes;
    b->st.buffer_rows -= rows;
    free_recs(q->pend_head);
    free_recs(q->infl);
    q->pend_head = q->pend_tail = q->infl = NULL;
    q->pend_bytes = q->infl_bytes = 0;
    q->pend_rows = q->infl_rows = q->infl_q = 0;
    if (q->failing)
        b->st.failing_datasources--;
    q->failing = false;
    b->st.rows_discarded += rows;
    return rows;
}

static void unlink_q(sl_batcher *b, dsq *q)
{
    for (dsq **pp = &b->queues; *pp; pp = &(*pp)->next) {
        if (*pp == q) {
            *pp = q->next;
            return;
        }
    }
}

/* ---- append / wait ---- */

int sl_batcher_append(sl_batcher *b, sl_datasource *ds, sl_str rows, uint64_t n_rows,
                      sl_str quarantine, uint64_t n_quarantined, uint64_t *seq, sl_error *err)
{
    size_t bytes = rows.len + quarantine.len;
    if (bytes < rows.len || bytes > SIZE_MAX - sizeof(rec))
        return sl_error_set(err, SL_ETOOBIG, "block too large", 0);
    rec *r = malloc(sizeof *r + bytes);
    if (!r)
        return sl_error_set(err, SL_ENOMEM, "out of memory queueing rows", 0);
    r->next = NULL;
    r->n_rows = n_rows;
    r->n_q = n_quarantined;
    r->rows_len = rows.len;
    r->q_len = quarantine.len;
    if (rows.len)
        memcpy(r->data, rows.ptr, rows.len);
    if (quarantine.len)
        memcpy(r->data + rows.len, quarantine.ptr, quarantine.len);

    pthread_mutex_lock(&b->mu);
    int rc = 0;
    if (b->stopping)
        rc = sl_error_set(err, SL_EIO, "shutting down: not accepting writes", 0);
    else if (sl_datasource_is_dropped(ds))
        rc = sl_error_setf(err, SL_EMISSING, 0, "data source '%s' was deleted", ds->name);
    else if (b->total_bytes + bytes > b->cfg.max_buffer_bytes)
        rc = sl_error_set(err, SL_ETOOBIG,
                          "write buffer full (ClickHouse is slow or failing); retry later", 0);
    if (rc) {
        pthread_mutex_unlock(&b->mu);
        free(r);
        return rc;
    }
    dsq *q = find_q(b, ds);
    if (!q) {
        q = calloc(1, sizeof *q);
        if (!q) {
            pthread_mutex_unlock(&b->mu);
            free(r);
            return sl_error_set(err, SL_ENOMEM, "out of memory queueing rows", 0);
        }
        q->ds = sl_datasource_ref(ds);
        q->next = b->queues;
        b->queues = q;
    }
    r->seq = b->next_seq++;
    bool was_empty = q->pend_head == NULL;
    if (was_empty) {
        q->pend_head = r;
        q->oldest_ns = mono_ns();
    } else {
        q->pend_tail->next = r;
    }
    q->pend_tail = r;
    q->pend_bytes += bytes;
    q->pend_rows += n_rows + n_quarantined;
    q->last_seq = r->seq;
    b->total_bytes += bytes;
    b->st.appends++;
    b->st.rows_appended += n_rows;
    b->st.quarantined_appended += n_quarantined;
    b->st.buffer_bytes = b->total_bytes;
    b->st.buffer_rows += n_rows + n_quarantined;
    *seq = r->seq;
    /* Wake the flusher when its sleep may now be too long: a first pending append (it may sleep
     * with no deadline) or the size trigger. */
    if (was_empty || q->pend_bytes >= b->cfg.flush_bytes)
        pthread_cond_signal(&b->wake);
    pthread_mutex_unlock(&b->mu);
    return 0;
}

int sl_batcher_wait_async(sl_batcher *b, const sl_datasource *ds, uint64_t seq, uint32_t timeout_ms,
                          sl_batcher_wait_fn fn, void *ud, sl_error *err)
{
    waiter *w = malloc(sizeof *w);
    if (!w)
        return sl_error_set(err, SL_ENOMEM, "out of memory", 0);
    w->seq = seq;
    w->deadline_ns = timeout_ms ? mono_ns() + (uint64_t)timeout_ms * 1000000u : 0;
    w->fn = fn;
    w->ud = ud;
    pthread_mutex_lock(&b->mu);
    int rc = 0;
    dsq *q = find_q(b, ds);
    if (b->stopped)
        rc = sl_error_set(err, SL_EIO, "shutting down", 0);
    else if (!q || seq > q->last_seq)
        rc = sl_error_set(err, SL_EINVAL, "unknown sequence number for this data source", 0);
    else if (seq <= q->committed)
        rc = 1;
    if (rc) {
        pthread_mutex_unlock(&b->mu);
        free(w);
        return rc;
    }
    w->next = q->waiters;
    q->waiters = w;
    b->st.waiters++;
    q->early = true;
    pthread_cond_signal(&b->wake);
    if (w->deadline_ns)
        pthread_cond_signal(&b->reap);
    pthread_mutex_unlock(&b->mu);
    return 0;
}

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    sl_batch_status status;
    char message[200];
} sync_wait;

static void sync_wait_fn(void *ud, uint64_t seq, sl_batch_status status, const char *message)
{
    (void)seq;
    sync_wait *s = ud;
    pthread_mutex_lock(&s->mu);
    s->status = status;
    snprintf(s->message, sizeof s->message, "%s", message ? message : "");
    s->done = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

sl_batch_status sl_batcher_wait(sl_batcher *b, const sl_datasource *ds, uint64_t seq,
                                uint32_t timeout_ms, sl_error *err)
{
    sync_wait s;
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    s.done = false;
    s.status = SL_BATCH_STOPPED;
    s.message[0] = '\0';
    int rc = sl_batcher_wait_async(b, ds, seq, timeout_ms, sync_wait_fn, &s, err);
    sl_batch_status status;
    if (rc == 1) {
        status = SL_BATCH_COMMITTED;
    } else if (rc < 0) {
        status = SL_BATCH_STOPPED;
    } else {
        pthread_mutex_lock(&s.mu);
        while (!s.done)
            pthread_cond_wait(&s.cv, &s.mu);
        pthread_mutex_unlock(&s.mu);
        status = s.status;
        if (status == SL_BATCH_FAILED)
            sl_error_setf(err, SL_EIO, 0, "%s", s.message);
        else if (status == SL_BATCH_TIMEOUT)
            sl_error_set(err, SL_EIO, "timed out waiting for the rows to commit", 0);
        else if (status == SL_BATCH_DROPPED)
            sl_error_set(err, SL_EIO, "the data source was deleted", 0);
        else if (status == SL_BATCH_STOPPED)
            sl_error_set(err, SL_EIO, "shutting down before the rows were committed", 0);
    }
    pthread_cond_destroy(&s.cv);
    pthread_mutex_destroy(&s.mu);
    return status;
}

int sl_batcher_flush(sl_batcher *b, const sl_datasource *ds, uint32_t timeout_ms, sl_error *err)
{
    /* Remember each queue's last seq now, then wait for each. */
    size_t n = 0, cap = 8;
    struct {
        sl_datasource *ds;
        uint64_t seq;
    } *todo = sl_xmalloc(cap * sizeof *todo);
    pthread_mutex_lock(&b->mu);
    for (dsq *q = b->queues; q; q = q->next) {
        if ((ds && q->ds != ds) || q->last_seq <= q->committed)
            continue;
        if (n == cap) {
            cap *= 2;
            todo = sl_xrealloc(todo, cap * sizeof *todo);
        }
        todo[n].ds = sl_datasource_ref(q->ds);
        todo[n].seq = q->last_seq;
        n++;
    }
    pthread_mutex_unlock(&b->mu);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 &&
            sl_batcher_wait(b, todo[i].ds, todo[i].seq, timeout_ms, err) != SL_BATCH_COMMITTED)
            rc = SL_EIO;
        sl_datasource_release(todo[i].ds);
    }
    free(todo);
    return rc;
}

void sl_batcher_get_stats(sl_batcher *b, sl_batcher_stats *out)
{
    pthread_mutex_lock(&b->mu);
    *out = b->st;
    pthread_mutex_unlock(&b->mu);
}

/* ---- the flusher ---- */

/* Concatenates the rows (or quarantine) parts of a batch; a single part is used in place. */
static sl_str gather(const rec *r, bool quarantine, sl_buf *buf)
{
    if (r && !r->next)
        return quarantine ? (sl_str){(const char *)r->data + r->rows_len, r->q_len}
                          : (sl_str){(const char *)r->data, r->rows_len};
    buf->len = 0;
    for (; r; r = r->next) {
        const uint8_t *p = quarantine ? r->data + r->rows_len : r->data;
        size_t n = quarantine ? r->q_len : r->rows_len;
        if (n && sl_buf_append(buf, p, n) != 0)
            sl_fatal("batcher: out of memory gathering a batch");
    }
    return (sl_str){(const char *)buf->data, buf->len};
}

/* One insert of a batch into one table; 0 or SL_EIO with the message in err. */
static int insert_part(sl_batcher *b, const dsq *q, bool quarantine, sl_str block, sl_error *err)
{
    char token[SL_CATALOG_NAME_MAX + 64];
    int tl = snprintf(token, sizeof token, "%s:%llu-%llu", q->ds->name,
                      (unsigned long long)q->infl_first, (unsigned long long)q->infl_last);
    b->sql.len = 0;
    if (sl_catalog_insert_sql(q->ds, quarantine, (sl_str){token, (size_t)tl}, &b->sql) != 0)
        sl_fatal("batcher: out of memory building an INSERT");
    return sl_sink_insert(b->sink, (sl_str){(const char *)b->sql.data, b->sql.len},
                          quarantine ? "RowBinary" : "RowBinaryWithDefaults", block.ptr, block.len,
                          NULL, err);
}

static void observe_latency(sl_batcher_stats *st, double seconds)
{
    for (size_t i = 0; i < SL_BATCHER_LATENCY_BUCKETS; i++)
        if (seconds <= sl_batcher_latency_bounds[i])
            st->latency_buckets[i]++;
    st->latency_count++;
    st->latency_sum_seconds += seconds;
}

/* Inserts q's in-flight batch (called without mu; q->busy keeps others off its (F) fields).
 * Returns 0 or the error. */
static int flush_batch(sl_batcher *b, dsq *q, sl_error *err)
{
    int rc = 0;
    if (!q->rows_done) {
        sl_str block = gather(q->infl, false, &b->rows_buf);
        rc = block.len ? insert_part(b, q, false, block, err) : 0;
        if (rc == 0)
            q->rows_done = true;
    }
    if (rc == 0 && !q->q_done) {
        sl_str block = gather(q->infl, true, &b->q_buf);
        rc = block.len ? insert_part(b, q, true, block, err) : 0;
        if (rc == 0)
            q->q_done = true;
    }
    /* Do not keep a huge scratch buffer around after a big batch. */
    if (b->rows_buf.alloc > ((size_t)64 << 20)) {
        sl_buf_free(&b->rows_buf);
        sl_buf_init(&b->rows_buf, 0);
    }
    if (b->q_buf.alloc > ((size_t)64 << 20)) {
        sl_buf_free(&b->q_buf);
        sl_buf_init(&b->q_buf, 0);
    }
    return rc;
}

/* Cuts q's pending appends into its in-flight batch. */
static void cut(dsq *q)
{
    q->infl = q->pend_head;
    q->infl_first = q->pend_head->seq;
    q->infl_last = q->pend_tail->seq;
    q->infl_bytes = q->pend_bytes;
    q->infl_rows = q->infl_q = 0;
    for (rec *r = q->infl; r; r = r->next) {
        q->infl_rows += r->n_rows;
        q->infl_q += r->n_q;
    }
    q->rows_done = q->q_done = false;
    q->pend_head = q->pend_tail = NULL;
    q->pend_bytes = 0;
    q->pend_rows = 0;
    q->early = false;
}

/* Is q due for an insert attempt at `now`? Sets *next_ns to when it will be, if later. */
static bool due(const sl_batcher *b, const dsq *q, uint64_t now, uint64_t *next_ns)
{
    if (q->busy)
        return false;
    if (q->infl) {
        if (now >= q->retry_at_ns)
            return true;
        if (q->retry_at_ns < *next_ns)
            *next_ns = q->retry_at_ns;
        return false;
    }
    if (!q->pend_head)
        return false;
    if (q->failing) { /* a new batch after a failure also waits out the backoff */
        if (now < q->retry_at_ns) {
            if (q->retry_at_ns < *next_ns)
                *next_ns = q->retry_at_ns;
            return false;
        }
        return true;
    }
    uint64_t at = q->oldest_ns + (uint64_t)b->cfg.flush_interval_ms * 1000000u;
    if (b->stopping || q->early || q->pend_bytes >= b->cfg.flush_bytes || now >= at)
        return true;
    if (at < *next_ns)
        *next_ns = at;
    return false;
}

static void *flusher_main(void *arg)
{
    sl_batcher *b = arg;
    dsq *cursor = NULL; /* round-robin start */
    pthread_mutex_lock(&b->mu);
    for (;;) {
        uint64_t now = mono_ns();
        waiter *done = NULL;

        /* Forget dropped data sources. */
        for (dsq *q = b->queues, *next; q; q = next) {
            next = q->next;
            if (q->busy || !sl_datasource_is_dropped(q->ds))
                continue;
            uint64_t rows = discard(b, q);
            take_waiters(q, UINT64_MAX, SL_BATCH_DROPPED, &done, &b->st);
            if (rows)
                logf_(b, "warn", "data source '%s' deleted: %llu queued rows discarded",
                      q->ds->name, (unsigned long long)rows);
            unlink_q(b, q);
            if (cursor == q)
                cursor = NULL;
            sl_datasource_release(q->ds);
            free(q);
        }

        /* Pick the next due queue, round-robin. */
        uint64_t next_ns = UINT64_MAX;
        dsq *pick = NULL;
        dsq *start = cursor && cursor->next ? cursor->next : b->queues;
        for (dsq *q = start; q; q = q->next)
            if (!pick && due(b, q, now, &next_ns))
                pick = q;
        for (dsq *q = b->queues; q && q != start; q = q->next)
            if (!pick && due(b, q, now, &next_ns))
                pick = q;

        if (done) {
            pthread_mutex_unlock(&b->mu);
            notify(done, NULL);
            pthread_mutex_lock(&b->mu);
            continue; /* state may have changed meanwhile */
        }

        if (!pick) {
            bool idle = true;
            for (dsq *q = b->queues; q; q = q->next)
                if (q->pend_head || q->infl)
                    idle = false;
            if (b->stopping && (idle || now >= b->stop_deadline_ns))
                break;
            if (b->stopping && b->stop_deadline_ns < next_ns)
                next_ns = b->stop_deadline_ns;
            if (next_ns == UINT64_MAX) {
                pthread_cond_wait(&b->wake, &b->mu);
            } else {
                struct timespec ts = {(time_t)(next_ns / 1000000000u),
                                      (long)(next_ns % 1000000000u)};
                pthread_cond_timedwait(&b->wake, &b->mu, &ts);
            }
            continue;
        }

        cursor = pick;
        if (!pick->infl)
            cut(pick);
        pick->busy = true;
        pthread_mutex_unlock(&b->mu);

        sl_error err;
        memset(&err, 0, sizeof err);
        uint64_t t0 = mono_ns();
        int rc = flush_batch(b, pick, &err);
        double secs = (double)(mono_ns() - t0) / 1e9;

        pthread_mutex_lock(&b->mu);
        pick->busy = false;
        char message[300];
        message[0] = '\0';
        if (rc == 0) {
            if (pick->failing) {
                b->st.failing_datasources--;
                logf_(b, "info", "inserts into '%s' work again", pick->ds->name);
            }
            pick->failing = false;
            pick->backoff_ms = 0;
            pick->committed = pick->infl_last;
            b->st.flushes++;
            b->st.rows_committed += pick->infl_rows;
            b->st.quarantined_committed += pick->infl_q;
            b->st.bytes_committed += pick->infl_bytes;
            b->st.buffer_rows -= pick->infl_rows + pick->infl_q;
            b->total_bytes -= pick->infl_bytes;
            b->st.buffer_bytes = b->total_bytes;
            observe_latency(&b->st, secs);
            free_recs(pick->infl);
            pick->infl = NULL;
            pick->infl_bytes = 0;
            pick->infl_rows = pick->infl_q = 0;
            take_waiters(pick, pick->committed, SL_BATCH_COMMITTED, &done, &b->st);
        } else {
            if (!pick->failing)
                b->st.failing_datasources++;
            pick->failing = true;
            b->st.flush_failures++;
            uint32_t next = pick->backoff_ms ? pick->backoff_ms * 2 : b->cfg.retry_initial_ms;
            if (next > b->cfg.retry_max_ms || next < pick->backoff_ms)
                next = b->cfg.retry_max_ms;
            pick->backoff_ms = next;
            pick->retry_at_ns = mono_ns() + (uint64_t)next * 1000000u;
            snprintf(pick->last_error, sizeof pick->last_error, "%s",
                     err.msg ? err.msg : sl_strerror(rc));
            snprintf(message, sizeof message,
                     "insert into ClickHouse failed (rows stay queued and are retried): %s",
                     pick->last_error);
            logf_(b, "error", "insert into '%s' (seq %llu-%llu) failed, retry in %u ms: %s",
                  pick->ds->name, (unsigned long long)pick->infl_first,
                  (unsigned long long)pick->infl_last, next, pick->last_error);
            take_waiters(pick, pick->infl_last, SL_BATCH_FAILED, &done, &b->st);
        }
        if (done) {
            pthread_mutex_unlock(&b->mu);
            notify(done, message);
            pthread_mutex_lock(&b->mu);
        }
    }

    /* Stopped: whatever is left is lost (until the WAL exists) and its waiters hear so. */
    waiter *left = NULL;
    uint64_t lost = 0;
    for (dsq *q = b->queues; q; q = q->next) {
        lost += discard(b, q);
        take_waiters(q, UINT64_MAX, SL_BATCH_STOPPED, &left, &b->st);
    }
    if (lost)
        logf_(b, "error", "stopped with %llu rows not committed", (unsigned long long)lost);
    b->stopped = true;
    pthread_cond_signal(&b->reap);
    pthread_mutex_unlock(&b->mu);
    notify(left, NULL);
    return NULL;
}

/* The timeout thread: separate from the flusher so a slow insert does not delay a 504. */
static void *reaper_main(void *arg)
{
    sl_batcher *b = arg;
    pthread_mutex_lock(&b->mu);
    while (!b->stopped) {
        waiter *expired = NULL;
        take_expired(b, mono_ns(), &expired);
        if (expired) {
            pthread_mutex_unlock(&b->mu);
            notify(expired, NULL);
            pthread_mutex_lock(&b->mu);
            continue;
        }
        uint64_t next_ns = UINT64_MAX;
        for (dsq *q = b->queues; q; q = q->next)
            for (waiter *w = q->waiters; w; w = w->next)
                if (w->deadline_ns && w->deadline_ns < next_ns)
                    next_ns = w->deadline_ns;
        if (next_ns == UINT64_MAX) {
            pthread_cond_wait(&b->reap, &b->mu);
        } else {
            struct timespec ts = {(time_t)(next_ns / 1000000000u), (long)(next_ns % 1000000000u)};
            pthread_cond_timedwait(&b->reap, &b->mu, &ts);
        }
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

/* ---- life cycle ---- */

static uint64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int sl_batcher_new(const sl_batcher_config *cfg, sl_sink *sink, sl_batcher **out, sl_error *err)
{
    *out = NULL;
    sl_batcher *b = sl_xcalloc(1, sizeof *b);
    if (cfg)
        b->cfg = *cfg;
    else
        sl_batcher_config_default(&b->cfg);
    if (b->cfg.flush_interval_ms < 50)
        b->cfg.flush_interval_ms = 50;
    if (b->cfg.flush_bytes == 0)
        b->cfg.flush_bytes = (size_t)16 << 20;
    if (b->cfg.max_buffer_bytes == 0)
        b->cfg.max_buffer_bytes = (size_t)1 << 30;
    if (b->cfg.retry_initial_ms == 0)
        b->cfg.retry_initial_ms = 100;
    if (b->cfg.retry_max_ms < b->cfg.retry_initial_ms)
        b->cfg.retry_max_ms = b->cfg.retry_initial_ms;
    b->next_seq = b->cfg.first_seq ? b->cfg.first_seq : wall_us();
    b->sink = sink;
    sl_buf_init(&b->rows_buf, 0);
    sl_buf_init(&b->q_buf, 0);
    sl_buf_init(&b->sql, 0);
    pthread_mutex_init(&b->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->wake, &ca);
    pthread_cond_init(&b->reap, &ca);
    pthread_condattr_destroy(&ca);
    int e = pthread_create(&b->reaper, NULL, reaper_main, b);
    if (e == 0) {
        e = pthread_create(&b->thread, NULL, flusher_main, b);
        if (e != 0) {
            pthread_mutex_lock(&b->mu);
            b->stopped = true;
            pthread_cond_signal(&b->reap);
            pthread_mutex_unlock(&b->mu);
            pthread_join(b->reaper, NULL);
        }
    }
    if (e != 0) {
        pthread_cond_destroy(&b->reap);
        pthread_cond_destroy(&b->wake);
        pthread_mutex_destroy(&b->mu);
        free(b);
        return sl_error_setf(err, SL_EIO, 0, "cannot start the flusher thread: %s", strerror(e));
    }
    *out = b;
    return 0;
}

int sl_batcher_stop(sl_batcher *b, uint32_t timeout_ms, sl_error *err)
{
    pthread_mutex_lock(&b->mu);
    if (b->joined || b->stopping) {
        pthread_mutex_unlock(&b->mu);
        return 0;
    }
    uint64_t before = b->st.rows_discarded;
    b->stopping = true;
    b->stop_deadline_ns = mono_ns() + (uint64_t)timeout_ms * 1000000u;
    pthread_cond_signal(&b->wake);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->thread, NULL);
    pthread_join(b->reaper, NULL);
    pthread_mutex_lock(&b->mu);
    b->joined = true;
    uint64_t lost = b->st.rows_discarded - before;
    pthread_mutex_unlock(&b->mu);
    if (lost)
        return sl_error_setf(err, SL_EIO, 0, "%llu rows were not committed before the stop",
                             (unsigned long long)lost);
    return 0;
}

void sl_batcher_free(sl_batcher *b)
{
    if (!b)
        return;
    sl_batcher_stop(b, 0, NULL);
    for (dsq *q = b->queues, *next; q; q = next) {
        next = q->next;
        sl_datasource_release(q->ds);
        free(q);
    }
    sl_buf_free(&b->rows_buf);
    sl_buf_free(&b->q_buf);
    sl_buf_free(&b->sql);
    pthread_cond_destroy(&b->reap);
    pthread_cond_destroy(&b->wake);
    pthread_mutex_destroy(&b->mu);
    free(b);
}
