/* `sluice wal check|dump --data DIR`: inspects the write-ahead log of a data directory offline
 * (read only: nothing is truncated, moved or created; run it while the server is stopped, or
 * accept that the newest segment may be growing). `check` verifies every record and reports
 * what recovery would do; `dump` prints one line per record. */
#include "sl_cli.h"
#include "sl_wal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char wal_usage[] =
    "usage: sluice wal check [--data DIR]\n"
    "       sluice wal dump  [--data DIR] [--rows]\n"
    "\n"
    "Inspects the write-ahead log in DIR/wal (default ./data, or SLUICE_DATA) without changing\n"
    "it. check: verifies every record's checksum and framing and prints a summary: records per\n"
    "data source not yet committed (what the next start replays), torn tails and corrupt\n"
    "regions recovery would truncate or move aside. Exit status 0 when the log is clean, 1 when\n"
    "recovery would repair something, 2 on a usage or read error.\n"
    "dump: one line per record (LSN, type, data source, counts, ranges); --rows adds the first\n"
    "bytes of each row block in hex.\n";

#define MAX_DS 256

typedef struct {
    char name[80];
    uint64_t committed; /* highest COMMIT/DISCARD last */
    uint64_t records, rows, quarantined, bytes;
    uint64_t pend_records, pend_rows, pend_q;
    uint64_t open_first, open_last;
} ds_sum;

typedef struct {
    bool dump, rows;
    ds_sum ds[MAX_DS];
    size_t n_ds;
    uint64_t counts[6];
    /* pending records, remembered compactly to apply later COMMITs */
    struct pend {
        uint64_t lsn;
        size_t ds;
        uint64_t rows, q;
    } * pend;
    size_t n_pend, cap_pend;
} walk;

static const char *type_name(sl_wal_type t)
{
    switch (t) {
    case SL_WAL_DATA: return "DATA";
    case SL_WAL_FLUSH: return "FLUSH";
    case SL_WAL_COMMIT: return "COMMIT";
    case SL_WAL_DISCARD: return "DISCARD";
    case SL_WAL_ABORT: return "ABORT";
    }
    return "?";
}

static size_t ds_index(walk *w, sl_str name)
{
    for (size_t i = 0; i < w->n_ds; i++)
        if (sl_str_eq_cstr(name, w->ds[i].name))
            return i;
    if (w->n_ds == MAX_DS)
        return MAX_DS - 1;
    ds_sum *d = &w->ds[w->n_ds];
    memset(d, 0, sizeof *d);
    snprintf(d->name, sizeof d->name, "%.*s", (int)(name.len > 70 ? 70 : name.len), name.ptr);
    return w->n_ds++;
}

static void on_record(void *ud, const sl_wal_record *r, const sl_wal_loc *loc)
{
    walk *w = ud;
    if (r->type >= 1 && r->type <= 5)
        w->counts[r->type]++;
    if (w->dump) {
        printf("%016" PRIx64 ":%-10" PRIu64 " lsn=%" PRIu64 " %-7s ds=%.*s", loc->segment,
               loc->offset, r->lsn, type_name(r->type), (int)r->ds.len, r->ds.ptr);
        if (r->type == SL_WAL_DATA) {
            printf(" version=%016" PRIx64 " rows=%" PRIu64 " quarantined=%" PRIu64
                   " bytes=%zu+%zu time_us=%" PRIu64,
                   r->version, r->n_rows, r->n_quarantined, r->rows.len, r->quarantine.len,
                   r->time_us);
            if (r->has_key) {
                printf(" key=");
                for (int i = 0; i < SL_WAL_KEY_LEN; i++)
                    printf("%02x", r->key[i]);
            }
            if (w->rows && r->rows.len) {
                printf(" head=");
                for (size_t i = 0; i < r->rows.len && i < 32; i++)
                    printf("%02x", (unsigned char)r->rows.ptr[i]);
            }
        } else {
            printf(" first=%" PRIu64 " last=%" PRIu64, r->first, r->last);
            for (int t = 0; r->has_attempt && t < 2; t++) {
                printf(t ? " quarantine:" : " table:");
                if (r->mark[t] == SL_WAL_MARK_UNKNOWN)
                    printf("mark=?");
                else
                    printf("mark=%" PRIu64, r->mark[t]);
                printf(",token=%" PRIu64, r->token_lsn[t]);
            }
        }
        putchar('\n');
    }
    if (r->type == SL_WAL_ABORT) {
        for (size_t i = 0; i < w->n_pend; i++)
            if (w->pend[i].lsn >= r->first && w->pend[i].lsn <= r->last)
                w->pend[i].lsn = 0;
        return;
    }
    size_t di = ds_index(w, r->ds);
    ds_sum *d = &w->ds[di];
    if (r->type == SL_WAL_DATA) {
        d->records++;
        d->rows += r->n_rows;
        d->quarantined += r->n_quarantined;
        d->bytes += loc->frame_len;
        if (r->lsn > d->committed) {
            if (w->n_pend == w->cap_pend) {
                w->cap_pend = w->cap_pend ? w->cap_pend * 2 : 1024;
                w->pend = sl_xrealloc(w->pend, w->cap_pend * sizeof *w->pend);
            }
            w->pend[w->n_pend++] = (struct pend){r->lsn, di, r->n_rows, r->n_quarantined};
        }
    } else if (r->type == SL_WAL_FLUSH) {
        d->open_first = r->first;
        d->open_last = r->last;
    } else {
        if (r->last > d->committed)
            d->committed = r->last;
        if (d->open_last <= r->last)
            d->open_first = d->open_last = 0;
    }
}

int sl_cmd_wal(int argc, char **argv)
{
    const char *data = getenv("SLUICE_DATA");
    if (!data || !*data)
        data = "./data";
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(wal_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    walk *w = sl_xcalloc(1, sizeof *w);
    const char *cmd = argv[1];
    if (strcmp(cmd, "dump") == 0)
        w->dump = true;
    else if (strcmp(cmd, "check") != 0) {
        fprintf(stderr, "sluice wal: unknown command '%s'\n\n%s", cmd, wal_usage);
        free(w);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
            data = argv[++i];
        } else if (strncmp(argv[i], "--data=", 7) == 0) {
            data = argv[i] + 7;
        } else if (strcmp(argv[i], "--rows") == 0 && w->dump) {
            w->rows = true;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(wal_usage, stdout);
            free(w);
            return 0;
        } else {
            fprintf(stderr, "sluice wal: unknown option '%s'\n\n%s", argv[i], wal_usage);
            free(w);
            return 2;
        }
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/wal", data);
    sl_wal_config cfg = {.dir = dir};
    sl_wal *wal = NULL;
    sl_error err = {0};
    if (sl_wal_open(&cfg, true, on_record, w, &wal, &err) != 0) {
        fprintf(stderr, "sluice wal: %s\n", err.msg);
        free(w->pend);
        free(w);
        return 2;
    }
    sl_wal_stats st;
    sl_wal_get_stats(wal, &st);
    sl_wal_free(wal);
    for (size_t i = 0; i < w->n_pend; i++) {
        struct pend *p = &w->pend[i];
        ds_sum *d = &w->ds[p->ds];
        if (p->lsn && p->lsn > d->committed) {
            d->pend_records++;
            d->pend_rows += p->rows;
            d->pend_q += p->q;
        }
    }
    FILE *out = w->dump ? stderr : stdout;
    fprintf(out,
            "%s: %" PRIu64 " segments, %" PRIu64 " bytes, %" PRIu64 " records (%" PRIu64
            " data, %" PRIu64 " flush, %" PRIu64 " commit, %" PRIu64 " discard, %" PRIu64
            " abort); next LSN %" PRIu64 "\n",
            dir, st.segments, st.disk_bytes, st.recovered_records, w->counts[1], w->counts[2],
            w->counts[3], w->counts[4], w->counts[5], st.next_lsn);
    for (size_t i = 0; i < w->n_ds; i++) {
        ds_sum *d = &w->ds[i];
        fprintf(out,
                "  %s: %" PRIu64 " records not committed (%" PRIu64 " rows, %" PRIu64
                " quarantined) would be replayed%s; committed up to LSN %" PRIu64 "\n",
                d->name, d->pend_records, d->pend_rows, d->pend_q,
                d->open_last ? " (an interrupted insert first)" : "", d->committed);
    }
    int status = 0;
    if (st.torn_tails || st.corrupt_regions) {
        fprintf(out,
                "recovery would repair: %" PRIu64 " torn tail(s) (truncated), %" PRIu64
                " corrupt region(s) (moved to %s/corrupt/)\n",
                st.torn_tails, st.corrupt_regions, dir);
        status = 1;
    } else {
        fprintf(out, "ok: every record checks out\n");
    }
    free(w->pend);
    free(w);
    return status;
}
