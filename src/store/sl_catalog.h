/* The catalog of data sources (SPEC §3): name → definition (sl_datafile), compiled converter and
 * schema version, persisted as <data>/datasources/<name>.datasource (canonical text, written
 * atomically) and mirrored in ClickHouse as `default`.`<name>` plus `default`.`<name>_quarantine`.
 *
 * Data sources are refcounted: sl_catalog_acquire hands out a reference a request keeps while it
 * converts and appends, even if the data source is dropped meanwhile (the definition and
 * converter stay valid until the last reference is released; sl_datasource_is_dropped turns true).
 *
 * Replacing a schema is refused: creating a name that exists succeeds only when the new
 * definition equals the stored one (sl_datafile_equal); otherwise the caller gets
 * SL_CATALOG_CONFLICT and must DELETE the data source first.
 *
 * Thread-safety: every function may be called from any thread at once. DDL is serialised inside
 * the catalog (it owns the use of its sink). */
#ifndef SL_CATALOG_H
#define SL_CATALOG_H

#include "sl_common.h"
#include "sl_convert.h"
#include "sl_datafile.h"
#include "sl_sink.h"

struct sl_tokens;

/* Max data source name length. Names match [A-Za-z_][A-Za-z0-9_]* and do not end in _quarantine. */
#define SL_CATALOG_NAME_MAX 64
/* non_replicated_deduplication_window of every table (insert_deduplication_token needs it). */
#define SL_CATALOG_DEDUP_WINDOW 1000

typedef struct sl_catalog sl_catalog;

/* A data source, immutable while referenced. Fields are read-only for users. */
typedef struct {
    const char *name; /* NUL-terminated, name_len bytes */
    size_t name_len;
    const sl_datafile *df;    /* the definition (canonical: parsed from its printed text) */
    const sl_converter *conv; /* shared by all threads; each uses its own sl_convert_state */
    uint64_t version;         /* XXH3-64 of the canonical text: stable across restarts */
    const char *text;         /* the canonical .datasource text, NUL-terminated */
    size_t text_len;
} sl_datasource;

/* Opens the catalog in `data_dir` (created if missing), loading every
 * <data_dir>/datasources/<name>.datasource and re-creating missing tables with IF NOT EXISTS.
 * `sink` (a writable connection) is used for DDL and row counts; it must outlive the catalog and
 * nobody else may use it meanwhile. `tokens` (may be NULL) receives the TOKEN lines of created
 * data sources (sl_tokens_grant). A file that does not load fails the open with its name in the
 * message (sluice refuses to start rather than hide a table). */
int sl_catalog_open(const char *data_dir, sl_sink *sink, struct sl_tokens *tokens, sl_catalog **out,
                    sl_error *err);
/* Frees the catalog; data sources still referenced stay valid until released. NULL is a no-op. */
void sl_catalog_free(sl_catalog *cat);

/* True when `name` is a valid data source name (see SL_CATALOG_NAME_MAX). */
bool sl_catalog_valid_name(sl_str name);

/* A new reference to the data source `name`, or NULL when there is none. */
sl_datasource *sl_catalog_acquire(sl_catalog *cat, sl_str name);
/* Another reference to a data source the caller already holds. */
sl_datasource *sl_datasource_ref(sl_datasource *ds);
/* Releases a reference; NULL is a no-op. */
void sl_datasource_release(sl_datasource *ds);
/* True once the data source was dropped (its tables are gone; pending rows are discarded). */
bool sl_datasource_is_dropped(const sl_datasource *ds);

typedef enum {
    SL_CATALOG_CREATED,  /* new data source, tables created */
    SL_CATALOG_EXISTS,   /* same definition already there: nothing done (idempotent push) */
    SL_CATALOG_CONFLICT, /* a different definition exists; returned with SL_EINVAL */
} sl_catalog_outcome;

/* Creates data source `name` from `df`, whose ownership passes to the catalog in every case (it is
 * freed on error). Runs CREATE TABLE for the table and its quarantine, persists the file, grants
 * the TOKEN lines. *outcome (may be NULL) says what happened; *out (may be NULL) gets a new
 * reference to the data source now under that name for CREATED, EXISTS and CONFLICT (so an
 * auto-create that lost a race can use the winner).
 * Errors: SL_EINVAL bad name ("...: names are [A-Za-z_][A-Za-z0-9_]*, at most 64 characters")
 * or conflict; SL_ESCHEMA/SL_EPATH when no converter can be built; SL_EIO when ClickHouse refused
 * the DDL (its message in err) or the file could not be written. */
int sl_catalog_create(sl_catalog *cat, sl_str name, sl_datafile *df, sl_catalog_outcome *outcome,
                      sl_datasource **out, sl_error *err);
/* The same from .datasource text (parse errors as sl_datafile_parse: SL_ESCHEMA/SL_ETYPE/SL_EPATH
 * with line and column). */
int sl_catalog_create_text(sl_catalog *cat, sl_str name, sl_str text, sl_catalog_outcome *outcome,
                           sl_datasource **out, sl_error *err);

/* DROP TABLE both tables, remove the file, forget the name, and remove the token scopes that
 * name it (sl_tokens_revoke_datasource). SL_EMISSING if there is no such data source; SL_EIO if
 * ClickHouse refused (then nothing is forgotten). */
int sl_catalog_drop(sl_catalog *cat, sl_str name, sl_error *err);
/* TRUNCATE both tables. Rows still waiting in the batcher are inserted afterwards.
 * SL_EMISSING / SL_EIO as above. */
int sl_catalog_truncate(sl_catalog *cat, sl_str name, sl_error *err);
/* Row counts of the table and of its quarantine (SELECT count()). SL_EIO on failure. */
int sl_catalog_row_counts(sl_catalog *cat, const sl_datasource *ds, uint64_t *rows,
                          uint64_t *quarantined, sl_error *err);

/* References to every data source, sorted by name, in a new array (*out, *n) the caller frees
 * with sl_catalog_release_list. */
int sl_catalog_list(sl_catalog *cat, sl_datasource ***out, size_t *n);
void sl_catalog_release_list(sl_datasource **list, size_t n);

/* Appends the CREATE TABLE statements (used by sl_catalog_create; exposed for tests and for
 * `sluice datasource` tooling). `name` is the table name; IF NOT EXISTS is always present. */
int sl_catalog_create_table_sql(sl_str name, const sl_datafile *df, sl_buf *out);
int sl_catalog_create_quarantine_sql(sl_str name, const sl_datafile *df, sl_buf *out);

/* Appends the INSERT statement (no FORMAT) the batcher streams a block into: the table, or with
 * `quarantine` the <name>_quarantine table with its explicit column list (without
 * insertion_date), and SETTINGS insert_deduplication_token = '<token>' when token is non-empty.
 * Formats: RowBinaryWithDefaults for the table, RowBinary for the quarantine. */
int sl_catalog_insert_sql(const sl_datasource *ds, bool quarantine, sl_str token, sl_buf *out);

/* Appends the query for the data source's marks: per table, the highest block number of its
 * active parts (a part keeps its blocks' numbers through merges), one TSV line each:
 * "<0 for the table, 1 for the quarantine table>\t<number>". Empty tables have no line. */
int sl_catalog_marks_sql(const sl_datasource *ds, sl_buf *out);
/* Parses that output into marks[0] (table) and marks[1] (quarantine), 0 where absent.
 * SL_EINVAL on any other text. */
int sl_catalog_parse_marks(sl_str tsv, uint64_t marks[2], sl_error *err);

#endif
