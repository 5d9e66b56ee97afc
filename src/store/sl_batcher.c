/* The batcher: an append is encoded as a WAL frame outside the lock (that copy is also the
 * in-memory copy the flusher inserts), written by the WAL's group commit, and queued per data
 * source when the WAL calls back "durable". One flusher thread cuts a data source's pending
 * appends into an in-flight batch, logs FLUSH, inserts it without holding the lock, logs COMMIT,
 * answers waiters and recycles WAL segments. sl_batcher_new first replays the WAL. Policy and
 * contract are in sl_batcher.h. */
#include "sl_batcher.h"

#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

const double sl_batcher_latency_bounds[SL_BATCHER_LATENCY_BUCKETS] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
};

typedef struct waiter {
    struct waiter *next;
    uint64_t seq;
    uint64_t deadline_ns; /* 0 = none */
    sl_batcher_wait_fn fn;
    void *ud;
    sl_batch_status status; /* set when moved to a notify list */
} waiter;

struct dsq;

/* One append: its WAL frame (rows then quarantine rows at rows_off), or NULL once spilled (the
 * flusher reads it back from loc). */
typedef struct rec {
    struct rec *next;
    uint64_t seq;
    uint64_t n_rows, n_q;
    size_t rows_len, q_len;
    uint64_t time_us;
    uint64_t version;
    uint8_t *frame;
    size_t frame_len, rows_off;
    sl_wal_loc loc;
    /* until durable */
    struct sl_batcher *b;
    struct dsq *q;
    sl_batcher_wait_fn fn;
    void *ud;
    waiter *w; /* preallocated for wait=true, else NULL */
} rec;

/* Per data source queue. Fields marked (F) belong to the flusher while `busy`. */
typedef struct dsq {
    struct dsq *next;
    sl_datasource *ds; /* our reference */
    rec *pend_head, *pend_tail;
    size_t pend_bytes;
    uint64_t pend_rows;
    uint64_t oldest_ns; /* when the first pending append came */
    size_t unacked;     /* appends submitted to the WAL, not yet called back (keeps q alive) */
    uint64_t last_seq;  /* last seq appended */
    uint64_t committed; /* every append of this ds with seq <= committed is committed */
    rec *infl;          /* (F) in-flight batch, retried as it is until it commits */
    uint64_t infl_first, infl_last;
    size_t infl_bytes;
    uint64_t infl_rows, infl_q;
    bool rows_done, q_done; /* (F) which table of the batch is already inserted */
    bool flush_logged;      /* (F) the batch's FLUSH record is durable */
    bool recheck;           /* (F) an attempt failed or was cut short: check the marks again */
    uint64_t mark[2];       /* (F) per table (0: rows, 1: quarantine): highest block number
                               before the current attempt, SL_WAL_MARK_UNKNOWN if not known */
    uint64_t token_lsn[2];  /* (F) per table: the attempt its token names (0: "<ds>:<range>") */
    bool busy;              /* the flusher works on it without the lock */
    unsigned paused;        /* sl_batcher_truncate runs: no insert starts */
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
    pthread_cond_t wake;    /* flusher sleeps here (CLOCK_MONOTONIC) */
    pthread_cond_t reap;    /* the timeout thread sleeps here (CLOCK_MONOTONIC) */
    pthread_cond_t settled; /* broadcast when the flusher finishes an insert attempt */
    pthread_t thread;       /* flusher */
    pthread_t reaper;       /* answers waiters whose deadline passed, even mid-insert */
    bool stopping;          /* sl_batcher_stop called: no more appends */
    bool stopped;           /* the flusher has exited: no more waiters */
    bool joined;
    uint64_t stop_deadline_ns;
    uint64_t next_seq;
    dsq *queues;
    size_t total_bytes; /* pending + in flight */
    size_t mem_bytes;   /* frames of pending + in-flight appends held in memory */
    size_t unacked_bytes;
    sl_batcher_stats st;
    sl_wal *wal;
    uint64_t rng;      /* jitter */
    uint64_t attempts; /* without a WAL: numbers insert attempts for their tokens */
    /* flusher-only scratch */
    sl_buf rows_buf, q_buf, sql, read_buf, marks_out;
};

#define DS_NAME(ds) ((sl_str){(ds)->name, (ds)->name_len})

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
    c->fsync = SL_WAL_FSYNC_ALWAYS;
    c->fsync_interval_ms = 100;
    c->segment_bytes = (uint64_t)64 << 20;
    c->max_memory_bytes = (size_t)256 << 20;
}

/* ---- queues (callers hold mu) ---- */

static dsq *find_q(sl_batcher *b, const sl_datasource *ds)
{
    for (dsq *q = b->queues; q; q = q->next)
        if (q->ds == ds)
            return q;
    return NULL;
}

static void free_recs(sl_batcher *b, rec *r)
{
    while (r) {
        rec *n = r->next;
        if (r->frame)
            b->mem_bytes -= r->frame_len;
        free(r->frame);
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
    free_recs(b, q->pend_head);
    free_recs(b, q->infl);
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

/* Queues a durable record: pending for its data source, with its waiter. Caller holds mu.
 * Returns the function to call (after unlocking) for an append without wait, else NULL. */
static sl_batcher_wait_fn queue_durable(sl_batcher *b, rec *r, uint64_t lsn, const sl_wal_loc *loc,
                                        void **fud)
{
    dsq *q = r->q;
    sl_batcher_wait_fn fn = r->fn;
    *fud = r->ud;
    waiter *w = r->w;
    size_t bytes = r->rows_len + r->q_len;
    q->unacked--;
    b->unacked_bytes -= r->frame_len;
    r->seq = lsn;
    if (loc)
        r->loc = *loc;
    r->next = NULL;
    r->fn = NULL;
    r->w = NULL;
    if (b->wal && b->mem_bytes > b->cfg.max_memory_bytes) {
        /* Over the memory budget: keep only the location; the flusher reads it back. */
        b->mem_bytes -= r->frame_len;
        free(r->frame);
        r->frame = NULL;
    }
    bool was_empty = q->pend_head == NULL;
    if (was_empty) {
        q->pend_head = r;
        q->oldest_ns = mono_ns();
    } else {
        q->pend_tail->next = r;
    }
    q->pend_tail = r;
    q->pend_bytes += bytes;
    q->pend_rows += r->n_rows + r->n_q;
    q->last_seq = lsn;
    b->st.appends++;
    b->st.rows_appended += r->n_rows;
    b->st.quarantined_appended += r->n_q;
    b->st.buffer_rows += r->n_rows + r->n_q;
    if (w) {
        w->seq = lsn;
        w->next = q->waiters;
        q->waiters = w;
        b->st.waiters++;
        q->early = true;
        if (w->deadline_ns)
            pthread_cond_signal(&b->reap);
    }
    /* Wake the flusher when its sleep may now be too long: a first pending append (it may sleep
     * with no deadline), the size trigger or a waiter. */
    if (was_empty || w || q->pend_bytes >= b->cfg.flush_bytes)
        pthread_cond_signal(&b->wake);
    return w ? NULL : fn;
}

/* The WAL's callback (writer thread, without mu). */
static void on_durable(void *ud, uint64_t lsn, const sl_wal_loc *loc, int status,
                       const char *message)
{
    rec *r = ud;
    sl_batcher *b = r->b;
    pthread_mutex_lock(&b->mu);
    if (status != 0 || b->stopped) {
        r->q->unacked--;
        b->unacked_bytes -= r->frame_len;
        if (status != 0)
            b->st.rejected++;
        b->total_bytes -= r->rows_len + r->q_len;
        b->st.buffer_bytes = b->total_bytes;
        b->mem_bytes -= r->frame_len;
        pthread_mutex_unlock(&b->mu);
        /* Stopped: the record is in the WAL and replayed at the next start. */
        r->fn(r->ud, lsn,
              status != 0 ? SL_BATCH_REJECTED : (r->w ? SL_BATCH_STOPPED : SL_BATCH_DURABLE),
              status != 0 ? message : "");
        free(r->w);
        free(r->frame);
        free(r);
        return;
    }
    void *fud;
    sl_batcher_wait_fn fn = queue_durable(b, r, lsn, loc, &fud);
    pthread_mutex_unlock(&b->mu);
    if (fn)
        fn(fud, lsn, SL_BATCH_DURABLE, "");
}

static uint64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int sl_batcher_append_async(sl_batcher *b, sl_datasource *ds, const sl_batcher_block *blk,
                            bool wait, uint32_t timeout_ms, sl_batcher_wait_fn fn, void *ud,
                            sl_error *err)
{
    sl_wal_record wr = {.type = SL_WAL_DATA,
                        .ds = {ds->name, ds->name_len},
                        .version = ds->version,
                        .time_us = wall_us(),
                        .has_key = blk->key != NULL,
                        .n_rows = blk->n_rows,
                        .n_quarantined = blk->n_quarantined,
                        .rows = blk->rows,
                        .quarantine = blk->quarantine};
    if (blk->key)
        memcpy(wr.key, blk->key, SL_WAL_KEY_LEN);
    size_t flen = sl_wal_frame_size(&wr);
    if (flen == 0)
        return sl_error_set(err, SL_ETOOBIG, "block too large", 0);
    rec *r = calloc(1, sizeof *r);
    uint8_t *frame = malloc(flen);
    waiter *w = wait ? malloc(sizeof *w) : NULL;
    if (!r || !frame || (wait && !w)) {
        free(r);
        free(frame);
        free(w);
        return sl_error_set(err, SL_ENOMEM, "out of memory queueing rows", 0);
    }
    sl_wal_encode(&wr, frame, &r->rows_off);
    r->frame = frame;
    r->frame_len = flen;
    r->n_rows = blk->n_rows;
    r->n_q = blk->n_quarantined;
    r->rows_len = blk->rows.len;
    r->q_len = blk->quarantine.len;
    r->time_us = wr.time_us;
    r->version = ds->version;
    r->b = b;
    r->fn = fn;
    r->ud = ud;
    r->w = w;
    if (w) {
        w->deadline_ns = timeout_ms ? mono_ns() + (uint64_t)timeout_ms * 1000000u : 0;
        w->fn = fn;
        w->ud = ud;
    }
    size_t bytes = blk->rows.len + blk->quarantine.len;

    pthread_mutex_lock(&b->mu);
    int rc = 0;
    /* The budget: WAL bytes on disk (or pending bytes without a WAL) plus this append. */
    uint64_t used = b->total_bytes + bytes;
    if (b->wal) {
        sl_wal_stats ws;
        sl_wal_get_stats(b->wal, &ws);
        used = ws.disk_bytes + b->unacked_bytes + flen;
    }
    if (b->stopping)
        rc = sl_error_set(err, SL_EIO, "shutting down: not accepting writes", 0);
    else if (sl_datasource_is_dropped(ds))
        rc = sl_error_setf(err, SL_EMISSING, 0, "data source '%s' was deleted", ds->name);
    else if (used > b->cfg.max_buffer_bytes)
        rc = sl_error_set(err, SL_ETOOBIG,
                          "write buffer full (ClickHouse is slow or failing); retry later", 0);
    dsq *q = rc ? NULL : find_q(b, ds);
    if (!rc && !q) {
        q = calloc(1, sizeof *q);
        if (!q) {
            rc = sl_error_set(err, SL_ENOMEM, "out of memory queueing rows", 0);
        } else {
            q->ds = sl_datasource_ref(ds);
            q->next = b->queues;
            b->queues = q;
        }
    }
    if (rc) {
        pthread_mutex_unlock(&b->mu);
        free(frame);
        free(r);
        free(w);
        return rc;
    }
    r->q = q;
    q->unacked++;
    b->unacked_bytes += flen;
    b->mem_bytes += flen;
    b->total_bytes += bytes;
    b->st.buffer_bytes = b->total_bytes;
    if (!b->wal) {
        void *fud;
        uint64_t seq = b->next_seq++;
        sl_batcher_wait_fn now = queue_durable(b, r, seq, NULL, &fud);
        pthread_mutex_unlock(&b->mu);
        if (now)
            now(fud, seq, SL_BATCH_DURABLE, "");
        return 0;
    }
    /* Submitted under mu so stop cannot close the WAL in between. */
    rc = sl_wal_submit_deferred(b->wal, frame, flen, on_durable, r, NULL, blk->lead, err);
    if (rc) {
        q->unacked--;
        b->unacked_bytes -= flen;
        b->mem_bytes -= flen;
        b->total_bytes -= bytes;
        b->st.buffer_bytes = b->total_bytes;
        pthread_mutex_unlock(&b->mu);
        free(frame);
        free(r);
        free(w);
        return rc;
    }
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
    uint64_t seq;
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

static void sync_append_fn(void *ud, uint64_t seq, sl_batch_status status, const char *message)
{
    sync_wait *s = ud;
    pthread_mutex_lock(&s->mu);
    s->status = status;
    s->seq = seq;
    snprintf(s->message, sizeof s->message, "%s", message ? message : "");
    s->done = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

int sl_batcher_append(sl_batcher *b, sl_datasource *ds, sl_str rows, uint64_t n_rows,
                      sl_str quarantine, uint64_t n_quarantined, uint64_t *seq, sl_error *err)
{
    sync_wait s;
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    s.done = false;
    s.message[0] = '\0';
    sl_batcher_block blk = {rows, n_rows, quarantine, n_quarantined, NULL, NULL};
    int rc = sl_batcher_append_async(b, ds, &blk, false, 0, sync_append_fn, &s, err);
    if (rc == 0) {
        pthread_mutex_lock(&s.mu);
        while (!s.done)
            pthread_cond_wait(&s.cv, &s.mu);
        pthread_mutex_unlock(&s.mu);
        if (s.status == SL_BATCH_DURABLE)
            *seq = s.seq;
        else
            rc = sl_error_setf(err, SL_EIO, 0, "%s", s.message);
    }
    pthread_cond_destroy(&s.cv);
    pthread_mutex_destroy(&s.mu);
    return rc;
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

static int log_range(sl_batcher *b, sl_wal_type type, sl_str name, uint64_t first, uint64_t last,
                     bool durable, sl_error *err);

int sl_batcher_truncate(sl_batcher *b, const sl_datasource *ds, sl_batcher_truncate_fn truncate,
                        void *ud, sl_error *err)
{
    waiter *done = NULL;
    uint64_t upto = 0;
    pthread_mutex_lock(&b->mu);
    dsq *q = find_q(b, ds);
    if (q) {
        q->paused++;
        while (q->busy)
            pthread_cond_wait(&b->settled, &b->mu);
        upto = q->pend_tail ? q->pend_tail->seq : q->infl ? q->infl_last : 0;
        if (upto) {
            discard(b, q);
            take_waiters(q, upto, SL_BATCH_COMMITTED, &done, &b->st);
            if (upto > q->committed)
                q->committed = upto;
        }
    }
    pthread_mutex_unlock(&b->mu);
    notify(done, NULL);
    /* Durable before the TRUNCATE: a restart must not bring the rows back. Should the log fail,
     * the TRUNCATE still runs; the rows then come back only after a restart (logged). */
    sl_error lerr = {0};
    if (upto && log_range(b, SL_WAL_DISCARD, DS_NAME(ds), 0, upto, true, &lerr) != 0)
        logf_(b, "error",
              "truncate of '%s': cannot log the discarded rows (%s); a restart "
              "would insert them again",
              ds->name, lerr.msg ? lerr.msg : "write failed");
    int rc = truncate(ud, err);
    pthread_mutex_lock(&b->mu);
    if (q) {
        q->paused--;
        pthread_cond_signal(&b->wake);
    }
    pthread_mutex_unlock(&b->mu);
    return rc;
}

void sl_batcher_get_stats(sl_batcher *b, sl_batcher_stats *out)
{
    pthread_mutex_lock(&b->mu);
    *out = b->st;
    out->max_buffer_bytes = b->cfg.max_buffer_bytes;
    out->budget_used_bytes = b->total_bytes;
    uint64_t unacked = b->unacked_bytes;
    uint64_t oldest = 0;
    for (dsq *q = b->queues; q; q = q->next) {
        const rec *h = q->infl ? q->infl : q->pend_head;
        if (h && (!oldest || h->time_us < oldest))
            oldest = h->time_us;
    }
    pthread_mutex_unlock(&b->mu);
    uint64_t now = wall_us();
    out->oldest_unflushed_us = oldest && now > oldest ? now - oldest : 0;
    if (b->wal) {
        sl_wal_get_stats(b->wal, &out->wal);
        out->budget_used_bytes = out->wal.disk_bytes + unacked;
    }
}

/* ---- the flusher ---- */

/* Concatenates the rows (or quarantine) parts of a batch; a single part in memory is used in
 * place. Spilled records are read back from the WAL. 0 or SL_EIO. */
static int gather(sl_batcher *b, const rec *r, bool quarantine, sl_buf *buf, sl_str *out,
                  sl_error *err)
{
    if (r && !r->next && r->frame) {
        const char *p = (const char *)r->frame + r->rows_off;
        *out = quarantine ? (sl_str){p + r->rows_len, r->q_len} : (sl_str){p, r->rows_len};
        return 0;
    }
    buf->len = 0;
    size_t total = 0;
    for (const rec *t = r; t; t = t->next)
        total += quarantine ? t->q_len : t->rows_len;
    /* One allocation of the final size instead of doubling (each step copies the batch). */
    if (sl_buf_reserve(buf, total) != 0)
        sl_fatal("batcher: out of memory gathering a batch");
    for (; r; r = r->next) {
        size_t n = quarantine ? r->q_len : r->rows_len;
        if (!n)
            continue;
        const uint8_t *p;
        if (r->frame) {
            p = r->frame + r->rows_off + (quarantine ? r->rows_len : 0);
        } else {
            sl_wal_record wr;
            if (sl_wal_read(b->wal, &r->loc, &b->read_buf, &wr, err) != 0)
                return SL_EIO;
            sl_str part = quarantine ? wr.quarantine : wr.rows;
            if (part.len != n)
                return sl_error_set(err, SL_EIO, "a WAL record changed on disk", 0);
            p = (const uint8_t *)part.ptr;
        }
        if (sl_buf_append(buf, p, n) != 0)
            sl_fatal("batcher: out of memory gathering a batch");
    }
    *out = (sl_str){(const char *)buf->data, buf->len};
    return 0;
}

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int status;
    uint64_t lsn;
    char message[200];
} log_wait;

static void log_done(void *ud, uint64_t lsn, const sl_wal_loc *loc, int status, const char *message)
{
    (void)loc;
    log_wait *s = ud;
    pthread_mutex_lock(&s->mu);
    s->status = status;
    s->lsn = lsn;
    snprintf(s->message, sizeof s->message, "%s", message ? message : "");
    s->done = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Logs a FLUSH, COMMIT or DISCARD record. With `durable`, waits for the fsync and returns 0 or
 * SL_EIO, with the record's LSN in *lsn (may be NULL); else fire and forget (a lost COMMIT only
 * means a deduplicated replay). */
static int log_record(sl_batcher *b, const sl_wal_record *wr, bool durable, uint64_t *lsn,
                      sl_error *err)
{
    if (!b->wal)
        return 0;
    size_t flen = sl_wal_frame_size(wr);
    uint8_t *frame = sl_xmalloc(flen);
    sl_wal_encode(wr, frame, NULL);
    if (!durable) {
        if (sl_wal_submit(b->wal, frame, flen, NULL, NULL, NULL, err) != 0) {
            free(frame);
            return SL_EIO;
        }
        return 0;
    }
    log_wait s;
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    s.done = false;
    int rc = sl_wal_submit(b->wal, frame, flen, log_done, &s, NULL, err);
    if (rc == 0) {
        pthread_mutex_lock(&s.mu);
        while (!s.done)
            pthread_cond_wait(&s.cv, &s.mu);
        pthread_mutex_unlock(&s.mu);
        if (s.status != 0)
            rc = sl_error_setf(err, SL_EIO, 0, "%s", s.message);
        else if (lsn)
            *lsn = s.lsn;
    }
    free(frame);
    pthread_cond_destroy(&s.cv);
    pthread_mutex_destroy(&s.mu);
    return rc;
}

static int log_range(sl_batcher *b, sl_wal_type type, sl_str name, uint64_t first, uint64_t last,
                     bool durable, sl_error *err)
{
    sl_wal_record wr = {.type = type, .ds = name, .first = first, .last = last};
    return log_record(b, &wr, durable, NULL, err);
}

/* One insert of a batch into one table; 0 or SL_EIO with the message in err. The token names
 * the range and the attempt (docs/durability.md, "Exactly once"). */
static int insert_part(sl_batcher *b, const dsq *q, bool quarantine, sl_str block, sl_error *err)
{
    char token[SL_CATALOG_NAME_MAX + 96];
    uint64_t attempt = q->token_lsn[quarantine];
    int tl = snprintf(token, sizeof token, attempt ? "%s:%llu-%llu@%llu" : "%s:%llu-%llu",
                      q->ds->name, (unsigned long long)q->infl_first,
                      (unsigned long long)q->infl_last, (unsigned long long)attempt);
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

/* Reads the highest block number of q's table [0] and quarantine table [1] (0 when empty).
 * SL_EIO when ClickHouse cannot answer. */
static int read_marks(sl_batcher *b, const dsq *q, uint64_t marks[2], sl_error *err)
{
    b->sql.len = 0;
    if (sl_catalog_marks_sql(q->ds, &b->sql) != 0)
        sl_fatal("batcher: out of memory building a query");
    b->marks_out.len = 0;
    int rc = sl_sink_query(b->sink, (sl_str){(const char *)b->sql.data, b->sql.len}, "TSV",
                           &b->marks_out, err);
    if (rc == 0)
        rc = sl_catalog_parse_marks((sl_str){(const char *)b->marks_out.data, b->marks_out.len},
                                    marks, err);
    return rc;
}

/* Makes the batch's next insert attempt safe to repeat, before anything is inserted.
 *
 * ClickHouse's non-replicated MergeTree records an insert's deduplication token before the new
 * part is in place, so an insert cut short (kill -9, or an error in between) can leave the token
 * remembered without the rows: a repeat with that token would then be dropped and the rows lost.
 * So each attempt first reads the tables' marks (highest block number). A new batch logs a FLUSH
 * record with them and tokens naming that record. After a failed or interrupted attempt
 * (q->recheck), a table whose mark has not moved received nothing: it gets a fresh token, logged
 * in a new FLUSH record first. A table whose mark moved received (some of) the rows: its token
 * stays, so ClickHouse drops what landed and inserts the rest. */
static int prepare_attempt(sl_batcher *b, dsq *q, sl_error *err)
{
    if (q->flush_logged && !q->recheck)
        return 0;
    uint64_t cur[2];
    int rc = read_marks(b, q, cur, err);
    if (rc)
        return rc;
    uint64_t mark[2], tok[2];
    bool renew = !q->flush_logged;
    for (int t = 0; t < 2; t++) {
        bool pending = t ? !q->q_done && q->infl_q : !q->rows_done && q->infl_rows;
        bool fresh = !q->flush_logged ||
                     (pending && q->mark[t] != SL_WAL_MARK_UNKNOWN && cur[t] == q->mark[t]);
        mark[t] = fresh ? cur[t] : q->mark[t];
        tok[t] = fresh ? 0 : q->token_lsn[t];
        renew = renew || fresh;
    }
    if (renew) {
        sl_wal_record wr = {.type = SL_WAL_FLUSH,
                            .ds = DS_NAME(q->ds),
                            .first = q->infl_first,
                            .last = q->infl_last,
                            .has_attempt = true,
                            .mark = {mark[0], mark[1]},
                            .token_lsn = {tok[0], tok[1]}};
        uint64_t lsn = 0;
        if (b->wal)
            rc = log_record(b, &wr, true, &lsn, err);
        else
            lsn = ++b->attempts; /* nothing outlives the process without a log */
        if (rc)
            return rc;
        if (q->flush_logged)
            logf_(b, "info",
                  "insert into '%s' (seq %llu-%llu) had not landed: retried under a new token",
                  q->ds->name, (unsigned long long)q->infl_first, (unsigned long long)q->infl_last);
        for (int t = 0; t < 2; t++) {
            q->mark[t] = mark[t];
            q->token_lsn[t] = tok[t] ? tok[t] : lsn;
        }
        q->flush_logged = true;
    }
    q->recheck = false;
    return 0;
}

/* Inserts q's in-flight batch (called without mu; q->busy keeps others off its (F) fields).
 * Returns 0 or the error. */
static int flush_batch(sl_batcher *b, dsq *q, sl_error *err)
{
    /* The FLUSH record makes the token reproducible: recovery re-inserts exactly this range. */
    int rc = prepare_attempt(b, q, err);
    if (rc == 0 && !q->rows_done) {
        sl_str block;
        rc = gather(b, q->infl, false, &b->rows_buf, &block, err);
        if (rc == 0 && block.len)
            rc = insert_part(b, q, false, block, err);
        if (rc == 0)
            q->rows_done = true;
    }
    if (rc == 0 && !q->q_done) {
        sl_str block;
        rc = gather(b, q->infl, true, &b->q_buf, &block, err);
        if (rc == 0 && block.len)
            rc = insert_part(b, q, true, block, err);
        if (rc == 0)
            q->q_done = true;
    }
    if (rc != 0 && q->flush_logged)
        q->recheck = true;
    if (rc == 0)
        log_range(b, SL_WAL_COMMIT, DS_NAME(q->ds), q->infl_first, q->infl_last, false, NULL);
    /* Keep the scratch buffers for the next batch (a fresh one faults every page in again),
     * unless an unusually big one (a single huge append) grew them. */
    size_t keep = (size_t)64 << 20;
    if (b->cfg.flush_bytes < SIZE_MAX / 2 && keep < 2 * b->cfg.flush_bytes)
        keep = 2 * b->cfg.flush_bytes;
    if (b->rows_buf.alloc > keep) {
        sl_buf_free(&b->rows_buf);
        sl_buf_init(&b->rows_buf, 0);
    }
    if (b->q_buf.alloc > keep) {
        sl_buf_free(&b->q_buf);
        sl_buf_init(&b->q_buf, 0);
    }
    return rc;
}

/* Cuts q's oldest pending appends, up to `max_bytes` (at least one append), into its in-flight
 * batch: a backlog goes in back-to-back inserts of about flush_bytes rather than one huge insert
 * that holds every row back until it ends (and a batch of one in-memory append needs no gather
 * copy). */
static void cut(dsq *q, size_t max_bytes)
{
    rec *last = q->pend_head;
    size_t bytes = last->rows_len + last->q_len;
    uint64_t rows = last->n_rows, quar = last->n_q;
    while (last->next && bytes + last->next->rows_len + last->next->q_len <= max_bytes) {
        last = last->next;
        bytes += last->rows_len + last->q_len;
        rows += last->n_rows;
        quar += last->n_q;
    }
    q->infl = q->pend_head;
    q->infl_first = q->pend_head->seq;
    q->infl_last = last->seq;
    q->infl_bytes = bytes;
    q->infl_rows = rows;
    q->infl_q = quar;
    q->rows_done = q->q_done = false;
    q->flush_logged = q->recheck = false;
    q->pend_head = last->next;
    last->next = NULL;
    q->pend_bytes -= bytes;
    q->pend_rows -= rows + quar;
    if (!q->pend_head) {
        q->pend_tail = NULL;
        q->early = false; /* else waiters of the rest still want it soon */
    }
}

/* Is q due for an insert attempt at `now`? Sets *next_ns to when it will be, if later. */
static bool due(const sl_batcher *b, const dsq *q, uint64_t now, uint64_t *next_ns)
{
    if (q->busy || q->paused)
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
            if (q->busy || q->paused || !sl_datasource_is_dropped(q->ds))
                continue;
            bool had = q->pend_head || q->infl;
            uint64_t rows = discard(b, q);
            take_waiters(q, UINT64_MAX, SL_BATCH_DROPPED, &done, &b->st);
            if (rows)
                logf_(b, "warn", "data source '%s' deleted: %llu queued rows discarded",
                      q->ds->name, (unsigned long long)rows);
            if (had && q->last_seq > q->committed) {
                log_range(b, SL_WAL_DISCARD, DS_NAME(q->ds), 0, q->last_seq, false, NULL);
                q->committed = q->last_seq;
            }
            if (q->unacked)
                continue; /* records still on their way from the WAL point to q */
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
            cut(pick, b->cfg.flush_bytes);
        pick->busy = true;
        pthread_mutex_unlock(&b->mu);

        sl_error err;
        memset(&err, 0, sizeof err);
        uint64_t t0 = mono_ns();
        int rc = flush_batch(b, pick, &err);
        double secs = (double)(mono_ns() - t0) / 1e9;

        pthread_mutex_lock(&b->mu);
        pick->busy = false;
        pthread_cond_broadcast(&b->settled);
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
            free_recs(b, pick->infl);
            pick->infl = NULL;
            pick->infl_bytes = 0;
            pick->infl_rows = pick->infl_q = 0;
            take_waiters(pick, pick->committed, SL_BATCH_COMMITTED, &done, &b->st);
            if (b->wal) {
                /* Segments holding only committed records go. */
                uint64_t needed = UINT64_MAX;
                for (dsq *q = b->queues; q; q = q->next) {
                    const rec *h = q->infl ? q->infl : q->pend_head;
                    if (h && h->seq < needed)
                        needed = h->seq;
                }
                sl_wal_recycle(b->wal, needed);
            }
        } else {
            if (!pick->failing)
                b->st.failing_datasources++;
            pick->failing = true;
            b->st.flush_failures++;
            uint32_t next = pick->backoff_ms ? pick->backoff_ms * 2 : b->cfg.retry_initial_ms;
            if (next > b->cfg.retry_max_ms || next < pick->backoff_ms)
                next = b->cfg.retry_max_ms;
            pick->backoff_ms = next;
            /* Jitter (50-100% of the backoff) so many nodes do not retry in lockstep. */
            b->rng = b->rng * 6364136223846793005u + 1442695040888963407u;
            uint64_t wait_ms = next / 2 + (b->rng >> 33) % (next / 2 + 1);
            pick->retry_at_ns = mono_ns() + wait_ms * 1000000u;
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

    /* Stopped: whatever is left stays in the WAL (replayed at the next start), or is lost
     * without one; its waiters hear so. */
    waiter *left = NULL;
    uint64_t left_rows = 0;
    for (dsq *q = b->queues; q; q = q->next) {
        if (b->wal) {
            left_rows += q->pend_rows + q->infl_rows + q->infl_q;
            b->total_bytes -= q->pend_bytes + q->infl_bytes;
            b->st.buffer_bytes = b->total_bytes;
            free_recs(b, q->pend_head);
            free_recs(b, q->infl);
            q->pend_head = q->pend_tail = q->infl = NULL;
            q->pend_bytes = q->infl_bytes = 0;
            q->pend_rows = q->infl_rows = q->infl_q = 0;
        } else {
            left_rows += discard(b, q);
        }
        take_waiters(q, UINT64_MAX, SL_BATCH_STOPPED, &left, &b->st);
    }
    if (left_rows && b->wal)
        logf_(b, "warn",
              "stopped with %llu rows not committed yet: they stay in the write-ahead log and "
              "are written at the next start",
              (unsigned long long)left_rows);
    else if (left_rows)
        logf_(b, "error", "stopped with %llu rows not committed", (unsigned long long)left_rows);
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

/* ---- recovery ---- */

/* What the scan found for one data source name. */
typedef struct rq {
    struct rq *next;
    char name[SL_CATALOG_NAME_MAX + 1];
    size_t name_len;
    rec *head, *tail;
    uint64_t committed;
    bool open;
    uint64_t open_first, open_last;
    uint64_t open_mark[2], open_token[2]; /* of the open FLUSH (sl_wal_record) */
} rq;

typedef struct {
    uint64_t seq, time_us, n_rows, n_q;
    uint8_t key[SL_WAL_KEY_LEN];
    char name[SL_CATALOG_NAME_MAX + 1];
    size_t name_len;
    bool aborted;
} rkey;

typedef struct {
    sl_batcher *b;
    rq *list;
    rkey *keys;
    size_t n_keys, cap_keys;
} recovery;

static rq *find_rq(recovery *rc, sl_str name)
{
    for (rq *q = rc->list; q; q = q->next)
        if (sl_str_eq(name, (sl_str){q->name, q->name_len}))
            return q;
    rq *q = sl_xcalloc(1, sizeof *q);
    memcpy(q->name, name.ptr, name.len);
    q->name_len = name.len;
    q->next = rc->list;
    rc->list = q;
    return q;
}

/* Frees the records of q for which drop(seq) holds. */
static void drop_recs(sl_batcher *b, rq *q, uint64_t lo, uint64_t hi)
{
    rec **pp = &q->head;
    q->tail = NULL;
    while (*pp) {
        rec *r = *pp;
        if (r->seq >= lo && r->seq <= hi) {
            *pp = r->next;
            r->next = NULL;
            free_recs(b, r);
        } else {
            q->tail = r;
            pp = &r->next;
        }
    }
}

static void on_scan(void *ud, const sl_wal_record *wr, const sl_wal_loc *loc)
{
    recovery *rc = ud;
    sl_batcher *b = rc->b;
    if (wr->type == SL_WAL_ABORT) {
        for (rq *q = rc->list; q; q = q->next)
            drop_recs(b, q, wr->first, wr->last);
        for (size_t i = 0; i < rc->n_keys; i++)
            if (rc->keys[i].seq >= wr->first && rc->keys[i].seq <= wr->last)
                rc->keys[i].aborted = true;
        return;
    }
    if (wr->ds.len == 0 || wr->ds.len > SL_CATALOG_NAME_MAX) {
        logf_(b, "error", "wal: record %llu has an invalid data source name: skipped",
              (unsigned long long)wr->lsn);
        return;
    }
    rq *q = find_rq(rc, wr->ds);
    if (wr->type == SL_WAL_FLUSH) {
        /* A later FLUSH of the same range (a new attempt) replaces the earlier one. */
        q->open = true;
        q->open_first = wr->first;
        q->open_last = wr->last;
        for (int t = 0; t < 2; t++) {
            q->open_mark[t] = wr->mark[t];
            q->open_token[t] = wr->token_lsn[t];
        }
        return;
    }
    if (wr->type == SL_WAL_COMMIT || wr->type == SL_WAL_DISCARD) {
        if (wr->last > q->committed)
            q->committed = wr->last;
        drop_recs(b, q, 0, wr->last);
        if (q->open && q->open_last <= wr->last)
            q->open = false;
        return;
    }
    /* DATA */
    if (wr->lsn <= q->committed)
        return;
    rec *r = sl_xcalloc(1, sizeof *r);
    r->seq = wr->lsn;
    r->n_rows = wr->n_rows;
    r->n_q = wr->n_quarantined;
    r->rows_len = wr->rows.len;
    r->q_len = wr->quarantine.len;
    r->time_us = wr->time_us;
    r->version = wr->version;
    r->loc = *loc;
    r->frame_len = (size_t)loc->frame_len;
    if (b->mem_bytes + r->frame_len <= b->cfg.max_memory_bytes) {
        r->frame = sl_xmalloc(r->frame_len);
        sl_wal_encode(wr, r->frame, &r->rows_off);
        b->mem_bytes += r->frame_len;
    }
    if (q->tail)
        q->tail->next = r;
    else
        q->head = r;
    q->tail = r;
    if (wr->has_key && b->cfg.recovered) {
        if (rc->n_keys == rc->cap_keys) {
            rc->cap_keys = rc->cap_keys ? rc->cap_keys * 2 : 64;
            rc->keys = sl_xrealloc(rc->keys, rc->cap_keys * sizeof *rc->keys);
        }
        rkey *k = &rc->keys[rc->n_keys++];
        memset(k, 0, sizeof *k);
        k->seq = wr->lsn;
        k->time_us = wr->time_us;
        k->n_rows = wr->n_rows;
        k->n_q = wr->n_quarantined;
        memcpy(k->key, wr->key, SL_WAL_KEY_LEN);
        memcpy(k->name, wr->ds.ptr, wr->ds.len);
        k->name_len = wr->ds.len;
    }
}

/* Saves the frame of a record that cannot be written any more to <wal>/orphaned/. */
static void save_orphan(sl_batcher *b, const char *name, rec *r)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/orphaned", b->cfg.wal_dir);
    mkdir(path, 0750);
    snprintf(path, sizeof path, "%s/orphaned/%s-%llu.rec", b->cfg.wal_dir, name,
             (unsigned long long)r->seq);
    const uint8_t *p = r->frame;
    sl_wal_record wr;
    if (!p) {
        if (sl_wal_read(b->wal, &r->loc, &b->read_buf, &wr, NULL) != 0)
            return;
        p = b->read_buf.data;
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    fwrite(p, 1, r->frame_len, f);
    fclose(f);
}

/* Queues what the scan found; called before the flusher starts. */
static void requeue(sl_batcher *b, recovery *rc)
{
    for (rq *q = rc->list, *next; q; q = next) {
        next = q->next;
        if (!q->head) {
            free(q);
            continue;
        }
        sl_str name = {q->name, q->name_len};
        uint64_t n = 0, rows = 0, quar = 0, last = q->tail->seq;
        for (rec *r = q->head; r; r = r->next) {
            n++;
            rows += r->n_rows;
            quar += r->n_q;
        }
        sl_datasource *ds = b->cfg.catalog ? sl_catalog_acquire(b->cfg.catalog, name) : NULL;
        if (!ds) {
            logf_(b, "error",
                  "wal: data source '%s' no longer exists: its %llu unwritten records (%llu "
                  "rows, %llu quarantined) are discarded",
                  q->name, (unsigned long long)n, (unsigned long long)rows,
                  (unsigned long long)quar);
            log_range(b, SL_WAL_DISCARD, name, 0, last, false, NULL);
            free_recs(b, q->head);
            free(q);
            continue;
        }
        /* Records converted under another definition (the data source was dropped and created
         * again with a different schema) cannot go into the new table. */
        uint64_t old_last = 0, old_n = 0;
        for (rec *r = q->head; r; r = r->next)
            if (r->version != ds->version) {
                old_last = r->seq;
                old_n++;
                save_orphan(b, q->name, r);
            }
        if (old_n) {
            logf_(b, "error",
                  "wal: %llu records of '%s' up to %llu were written under an older schema of "
                  "this data source and do not fit its current table: saved to %s/orphaned/ and "
                  "not inserted",
                  (unsigned long long)old_n, q->name, (unsigned long long)old_last, b->cfg.wal_dir);
            log_range(b, SL_WAL_DISCARD, name, 0, old_last, false, NULL);
            drop_recs(b, q, 0, old_last);
            if (q->open && q->open_last <= old_last)
                q->open = false;
            if (!q->head) {
                sl_datasource_release(ds);
                free(q);
                continue;
            }
        }
        dsq *d = sl_xcalloc(1, sizeof *d);
        d->ds = ds;
        d->committed = q->committed;
        d->last_seq = q->tail->seq;
        d->next = b->queues;
        b->queues = d;
        rec *r = q->head;
        if (q->open && r->seq <= q->open_last) {
            /* The open FLUSH: exactly its records, with its tokens; the marks tell the flusher
             * whether each table got the rows before the crash (prepare_attempt). */
            d->infl = r;
            d->infl_first = q->open_first;
            d->infl_last = q->open_last;
            d->flush_logged = true;
            d->recheck = true;
            for (int t = 0; t < 2; t++) {
                d->mark[t] = q->open_mark[t];
                d->token_lsn[t] = q->open_token[t];
            }
            rec *t = r;
            for (;;) {
                d->infl_bytes += t->rows_len + t->q_len;
                d->infl_rows += t->n_rows;
                d->infl_q += t->n_q;
                if (!t->next || t->next->seq > q->open_last)
                    break;
                t = t->next;
            }
            r = t->next;
            t->next = NULL;
        }
        d->pend_head = r;
        d->oldest_ns = mono_ns();
        for (; r; r = r->next) {
            d->pend_tail = r;
            d->pend_bytes += r->rows_len + r->q_len;
            d->pend_rows += r->n_rows + r->n_q;
        }
        b->total_bytes += d->pend_bytes + d->infl_bytes;
        b->st.buffer_rows += d->pend_rows + d->infl_rows + d->infl_q;
        b->st.recovered_records += n - old_n;
        logf_(b, "info",
              "wal: replaying %llu records (%llu rows, %llu quarantined) of '%s' not yet in "
              "ClickHouse%s",
              (unsigned long long)(n - old_n), (unsigned long long)rows, (unsigned long long)quar,
              q->name, d->infl ? " (the interrupted insert first)" : "");
        free(q);
    }
    b->st.buffer_bytes = b->total_bytes;
    for (size_t i = 0; i < rc->n_keys; i++) {
        rkey *k = &rc->keys[i];
        if (!k->aborted)
            b->cfg.recovered(b->cfg.recovered_ud, (sl_str){k->name, k->name_len}, k->key,
                             k->time_us, k->n_rows, k->n_q, k->seq);
    }
    free(rc->keys);
}

static void wal_log(void *ud, const char *level, const char *msg)
{
    sl_batcher *b = ud;
    if (b->cfg.log)
        b->cfg.log(b->cfg.log_ud, level, msg);
}

/* ---- life cycle ---- */

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
    if (b->cfg.max_memory_bytes == 0)
        b->cfg.max_memory_bytes = (size_t)256 << 20;
    b->next_seq = b->cfg.first_seq ? b->cfg.first_seq : wall_us();
    b->rng = wall_us() | 1;
    b->sink = sink;
    sl_buf_init(&b->rows_buf, 0);
    sl_buf_init(&b->q_buf, 0);
    sl_buf_init(&b->sql, 0);
    sl_buf_init(&b->read_buf, 0);
    sl_buf_init(&b->marks_out, 0);
    if (b->cfg.wal_dir) {
        sl_wal_config wc = {.dir = b->cfg.wal_dir,
                            .fsync = b->cfg.fsync,
                            .fsync_interval_ms = b->cfg.fsync_interval_ms,
                            .segment_bytes = b->cfg.segment_bytes,
                            .first_lsn = b->cfg.first_seq,
                            .io = b->cfg.wal_io,
                            .log = wal_log,
                            .log_ud = b};
        recovery rc = {.b = b};
        if (sl_wal_open(&wc, false, on_scan, &rc, &b->wal, err) != 0) {
            for (rq *q = rc.list, *next; q; q = next) {
                next = q->next;
                free_recs(b, q->head);
                free(q);
            }
            free(rc.keys);
            sl_buf_free(&b->read_buf);
            sl_buf_free(&b->marks_out);
            free(b);
            return SL_EIO;
        }
        requeue(b, &rc);
    }
    pthread_mutex_init(&b->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->wake, &ca);
    pthread_cond_init(&b->reap, &ca);
    pthread_cond_init(&b->settled, NULL);
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
        sl_wal_free(b->wal);
        pthread_cond_destroy(&b->reap);
        pthread_cond_destroy(&b->settled);
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
    /* Writes what is still queued; late appends are answered (they are in the log). */
    if (b->wal)
        sl_wal_close(b->wal);
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
    sl_buf_free(&b->read_buf);
    sl_buf_free(&b->marks_out);
    sl_wal_free(b->wal);
    pthread_cond_destroy(&b->reap);
    pthread_cond_destroy(&b->wake);
    pthread_mutex_destroy(&b->mu);
    free(b);
}
