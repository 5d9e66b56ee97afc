/* The .datasource file format (SPEC §3): parse into a definition, print it back.
 *
 * Grammar, as accepted here. Top-level lines start at column 1: `KEY value`, `NAME >` (a block
 * of the following indented or blank lines, up to the next line that starts at column 1), or a
 * comment line starting with '#' or '--'; an indented line outside a block is an error, and so
 * is any control byte other than tab, CR and LF. Keys are case-insensitive. A one-line value is
 * "..." or '...' (the outer quotes are stripped, nothing is unescaped; a `--` comment may
 * follow) or bare text up to a `--` comment; ENGINE_* keys also take a block, whose lines are
 * joined with single spaces. DESCRIPTION is a block (dedented; inner blank lines kept; no
 * comments) or a one-line value. TOKEN "name" APPEND|READ: names are [A-Za-z0-9_.:@/-]+.
 * INDEXES: one index per line, `--` comments and trailing commas dropped. Unknown keys
 * (KAFKA_*, IMPORT_*, TAGS, FORWARD_QUERY, ...) are errors. ENGINE is one of MergeTree,
 * Replacing-, Summing-, Aggregating-, Collapsing- or VersionedCollapsingMergeTree, without
 * arguments (they go in ENGINE_VER, ENGINE_SIGN, ...).
 * SCHEMA columns are split at top-level commas (a trailing one is allowed) and may span lines
 * inside parentheses; a type or DEFAULT expression ends at the end of its line when its
 * parentheses are closed. Quotes ('...', "...", `...`) cannot span lines. `--` comments run to
 * the end of the line outside quotes and paths. MATERIALIZED, ALIAS, EPHEMERAL, COMMENT, TTL and
 * NOT NULL in a column are errors.
 *
 * Parsing checks the file's syntax and each column's type (sl_type_parse) and JSONPath text
 * (syntax only: sl_jsonpath_parse); it does not check ClickHouse expressions (DEFAULT, keys, TTL),
 * which ClickHouse itself validates when the table is created.
 * Printing a parsed definition and parsing the result gives an equal definition.
 *
 * A definition owns all its memory (one arena); every sl_str in it points into that arena.
 * It is immutable after parsing and may be shared by threads. */
#ifndef SL_DATAFILE_H
#define SL_DATAFILE_H

#include "sl_common.h"
#include "sl_types.h"

typedef struct {
    sl_str name;         /* without backticks */
    sl_str type_text;    /* as written, trimmed */
    const sl_type *type; /* parsed */
    sl_str jsonpath;     /* as written without the `json:` prefix; "$.<name>" when absent */
    bool jsonpath_given; /* false when the column had no json: path */
    sl_str default_expr; /* ClickHouse expression text, empty if none */
    bool has_default;
    sl_str codec; /* the text inside CODEC(...), empty if none */
} sl_column;

typedef enum { SL_TOKEN_APPEND, SL_TOKEN_READ } sl_token_perm;

typedef struct {
    sl_str name;
    sl_token_perm perm;
} sl_datafile_token;

typedef struct {
    sl_arena arena;
    sl_str description; /* text of DESCRIPTION >, dedented, may be empty */
    sl_column *columns;
    size_t n_columns;
    sl_str engine; /* e.g. "MergeTree", "ReplacingMergeTree"; "MergeTree" if absent */
    sl_str engine_sorting_key;
    sl_str engine_partition_key;
    sl_str engine_primary_key;
    sl_str engine_ttl;
    sl_str engine_settings;
    sl_str engine_ver;
    sl_str engine_sign;
    sl_str engine_version;
    sl_str engine_is_deleted;
    sl_str *indexes; /* one entry per line of INDEXES >, e.g. "idx_a a TYPE minmax GRANULARITY 4" */
    size_t n_indexes;
    sl_datafile_token *tokens;
    size_t n_tokens;
} sl_datafile;

/* Parses `text`. On success *out is a new definition the caller frees with sl_datafile_free.
 * On failure returns SL_ESCHEMA (or SL_ETYPE/SL_EPATH for a column's type/path) with err->line and
 * err->column (1-based) at the problem and err->msg saying what was expected, e.g.
 * "line 4, column 18: expected a column type after the name `action`". */
int sl_datafile_parse(sl_str text, sl_datafile **out, sl_error *err);

void sl_datafile_free(sl_datafile *df);

/* Appends the file in canonical form: DESCRIPTION, TOKEN lines, SCHEMA with backticked names,
 * canonical types and `json:` paths, INDEXES, then the ENGINE keys with quoted values. */
int sl_datafile_print(const sl_datafile *df, sl_buf *out);

/* True when two definitions are the same: every field byte-equal, except that types compare by
 * their canonical spelling (sl_type_format), not by type_text. parse(print(d)) equals d. */
bool sl_datafile_equal(const sl_datafile *a, const sl_datafile *b);

/* Index of the column named `name`, or -1. */
int sl_datafile_find_column(const sl_datafile *df, sl_str name);

#endif
