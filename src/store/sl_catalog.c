/* The data source catalog: definitions in memory (refcounted), on disk as canonical .datasource
 * files, and in ClickHouse as a table plus its quarantine table. DDL runs through the catalog's
 * sink under one mutex; lookups take a read lock only. */
#include "sl_catalog.h"
#include "sl_tokens.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define QUARANTINE_SUFFIX "_quarantine"
#define FILE_SUFFIX       ".datasource"
#define DB                "`default`"

/* A data source with its private state; `pub` first so the public pointer converts back. */
typedef struct {
    sl_datasource pub;
    atomic_int refs;
    atomic_bool dropped;
    sl_datafile *df;
    sl_converter *conv;
    char *name;
    char *text;
} entry;

struct sl_catalog {
    char *dir; /* <data>/datasources */
    sl_sink *sink;
    sl_tokens *tokens;
    pthread_mutex_t ddl;   /* serialises DDL, file writes and sink use */
    pthread_rwlock_t lock; /* guards items/n */
    entry **items;
    size_t n, cap;
};

static entry *from_pub(const sl_datasource *ds)
{
    return (entry *)(void *)ds;
}

/* ---- names and SQL text ---- */

bool sl_catalog_valid_name(sl_str name)
{
    if (name.len == 0 || name.len > SL_CATALOG_NAME_MAX)
        return false;
    for (size_t i = 0; i < name.len; i++) {
        char c = name.ptr[i];
        bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return false;
    }
    size_t sl = sizeof QUARANTINE_SUFFIX - 1;
    if (name.len >= sl && memcmp(name.ptr + name.len - sl, QUARANTINE_SUFFIX, sl) == 0)
        return false;
    return true;
}

static int append_ident(sl_buf *b, sl_str s)
{
    int rc = sl_buf_append(b, "`", 1);
    for (size_t i = 0; rc == 0 && i < s.len; i++) {
        if (s.ptr[i] == '`' || s.ptr[i] == '\\')
            rc = sl_buf_append(b, "\\", 1);
        if (rc == 0)
            rc = sl_buf_append(b, &s.ptr[i], 1);
    }
    return rc ? rc : sl_buf_append(b, "`", 1);
}

static int append_table(sl_buf *b, sl_str name, bool quarantine)
{
    int rc = sl_buf_append_cstr(b, DB ".`");
    for (size_t i = 0; rc == 0 && i < name.len; i++) {
        if (name.ptr[i] == '`' || name.ptr[i] == '\\')
            rc = sl_buf_append(b, "\\", 1);
        if (rc == 0)
            rc = sl_buf_append(b, &name.ptr[i], 1);
    }
    if (rc == 0 && quarantine)
        rc = sl_buf_append_cstr(b, QUARANTINE_SUFFIX);
    return rc ? rc : sl_buf_append(b, "`", 1);
}

/* A user-given ClickHouse expression must stay one expression inside its clause: balanced
 * brackets, closed quotes, no statement separator and no comment that could swallow the rest of
 * the statement. ClickHouse validates the expression itself when it creates the table. */
static bool safe_expr(sl_str e)
{
    int depth = 0;
    char quote = 0;
    for (size_t i = 0; i < e.len; i++) {
        char c = e.ptr[i];
        if (quote) {
            if (c == '\\')
                i++;
            else if (c == quote)
                quote = 0;
            continue;
        }
        switch (c) {
        case '\'':
        case '"':
        case '`': quote = c; break;
        case '(':
        case '[':
        case '{': depth++; break;
        case ')':
        case ']':
        case '}':
            if (--depth < 0)
                return false;
            break;
        case ';':
        case '#':
        case '\0': return false;
        case '-':
            if (i + 1 < e.len && e.ptr[i + 1] == '-')
                return false;
            break;
        case '/':
            if (i + 1 < e.len && e.ptr[i + 1] == '*')
                return false;
            break;
        default: break;
        }
    }
    return depth == 0 && quote == 0;
}

static bool engine_name_ok(sl_str e)
{
    static const char suffix[] = "MergeTree";
    size_t sl = sizeof suffix - 1;
    if (e.len < sl || memcmp(e.ptr + e.len - sl, suffix, sl) != 0)
        return false;
    for (size_t i = 0; i < e.len; i++) {
        char c = e.ptr[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
            return false;
    }
    return !(e.len >= 10 && memcmp(e.ptr, "Replicated", 10) == 0);
}

static int check_exprs(const sl_datafile *df, sl_error *err)
{
    for (size_t i = 0; i < df->n_columns; i++) {
        const sl_column *c = &df->columns[i];
        if ((c->has_default && !safe_expr(c->default_expr)) || !safe_expr(c->codec) ||
            !safe_expr(c->type_text))
            return sl_error_setf(err, SL_ESCHEMA, 0,
                                 "column `%.*s`: DEFAULT or CODEC is not a single expression",
                                 (int)c->name.len, c->name.ptr);
    }
    const struct {
        const char *what;
        sl_str v;
    } keys[] = {
        {"ENGINE_SORTING_KEY", df->engine_sorting_key},
        {"ENGINE_PARTITION_KEY", df->engine_partition_key},
        {"ENGINE_PRIMARY_KEY", df->engine_primary_key},
        {"ENGINE_TTL", df->engine_ttl},
        {"ENGINE_SETTINGS", df->engine_settings},
        {"ENGINE_VER", df->engine_ver},
        {"ENGINE_SIGN", df->engine_sign},
        {"ENGINE_VERSION", df->engine_version},
        {"ENGINE_IS_DELETED", df->engine_is_deleted},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!safe_expr(keys[i].v))
            return sl_error_setf(err, SL_ESCHEMA, 0,
                                 "%s is not a single ClickHouse expression (unbalanced brackets "
                                 "or quotes, ';' or a comment)",
                                 keys[i].what);
    for (size_t i = 0; i < df->n_indexes; i++)
        if (!safe_expr(df->indexes[i]))
            return sl_error_setf(err, SL_ESCHEMA, 0, "INDEXES line %zu is not a single definition",
                                 i + 1);
    sl_str engine = df->engine.len ? df->engine : SL_STR("MergeTree");
    if (!engine_name_ok(engine))
        return sl_error_setf(err, SL_ESCHEMA, 0,
                             "ENGINE \"%.*s\" is not supported: use a MergeTree family engine "
                             "(MergeTree, ReplacingMergeTree, ...)",
                             (int)engine.len, engine.ptr);
    return 0;
}

static bool contains(sl_str hay, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= hay.len; i++)
        if (memcmp(hay.ptr + i, needle, n) == 0)
            return true;
    return false;
}

static int append_settings(sl_buf *b, sl_str user)
{
    int rc = sl_buf_append_cstr(b, "\nSETTINGS ");
    bool own = contains(user, "non_replicated_deduplication_window");
    if (rc == 0 && !own)
        rc = sl_buf_printf(b, "non_replicated_deduplication_window = %d", SL_CATALOG_DEDUP_WINDOW);
    if (rc == 0 && user.len)
        rc = sl_buf_printf(b, "%s%.*s", own ? "" : ", ", (int)user.len, user.ptr);
    return rc;
}

int sl_catalog_create_table_sql(sl_str name, const sl_datafile *df, sl_buf *out)
{
    int rc = sl_buf_append_cstr(out, "CREATE TABLE IF NOT EXISTS ");
    if (rc == 0)
        rc = append_table(out, name, false);
    if (rc == 0)
        rc = sl_buf_append_cstr(out, "\n(\n");
    for (size_t i = 0; rc == 0 && i < df->n_columns; i++) {
        const sl_column *c = &df->columns[i];
        rc = sl_buf_append_cstr(out, "    ");
        if (rc == 0)
            rc = append_ident(out, c->name);
        if (rc == 0)
            rc = sl_buf_printf(out, " %.*s", (int)c->type_text.len, c->type_text.ptr);
        if (rc == 0 && c->has_default)
            rc = sl_buf_printf(out, " DEFAULT %.*s", (int)c->default_expr.len, c->default_expr.ptr);
        if (rc == 0 && c->codec.len)
            rc = sl_buf_printf(out, " CODEC(%.*s)", (int)c->codec.len, c->codec.ptr);
        if (rc == 0 && (i + 1 < df->n_columns || df->n_indexes))
            rc = sl_buf_append_cstr(out, ",");
        if (rc == 0)
            rc = sl_buf_append_cstr(out, "\n");
    }
    for (size_t i = 0; rc == 0 && i < df->n_indexes; i++)
        rc = sl_buf_printf(out, "    INDEX %.*s%s\n", (int)df->indexes[i].len, df->indexes[i].ptr,
                           i + 1 < df->n_indexes ? "," : "");
    sl_str engine = df->engine.len ? df->engine : SL_STR("MergeTree");
    if (rc == 0)
        rc = sl_buf_printf(out, ")\nENGINE = %.*s", (int)engine.len, engine.ptr);
    /* Engine parameters of the MergeTree variants that take columns. */
    if (rc == 0 && sl_str_eq_cstr(engine, "ReplacingMergeTree") && df->engine_ver.len) {
        rc = sl_buf_printf(out, "(%.*s", (int)df->engine_ver.len, df->engine_ver.ptr);
        if (rc == 0 && df->engine_is_deleted.len)
            rc = sl_buf_printf(out, ", %.*s", (int)df->engine_is_deleted.len,
                               df->engine_is_deleted.ptr);
        if (rc == 0)
            rc = sl_buf_append_cstr(out, ")");
    } else if (rc == 0 && sl_str_eq_cstr(engine, "CollapsingMergeTree") && df->engine_sign.len) {
        rc = sl_buf_printf(out, "(%.*s)", (int)df->engine_sign.len, df->engine_sign.ptr);
    } else if (rc == 0 && sl_str_eq_cstr(engine, "VersionedCollapsingMergeTree") &&
               df->engine_sign.len && df->engine_version.len) {
        rc = sl_buf_printf(out, "(%.*s, %.*s)", (int)df->engine_sign.len, df->engine_sign.ptr,
                           (int)df->engine_version.len, df->engine_version.ptr);
    }
    if (rc == 0 && df->engine_partition_key.len)
        rc = sl_buf_printf(out, "\nPARTITION BY %.*s", (int)df->engine_partition_key.len,
                           df->engine_partition_key.ptr);
    if (rc == 0 && df->engine_primary_key.len)
        rc = sl_buf_printf(out, "\nPRIMARY KEY (%.*s)", (int)df->engine_primary_key.len,
                           df->engine_primary_key.ptr);
    if (rc == 0) {
        if (df->engine_sorting_key.len && !sl_str_eq_cstr(df->engine_sorting_key, "tuple()"))
            rc = sl_buf_printf(out, "\nORDER BY (%.*s)", (int)df->engine_sorting_key.len,
                               df->engine_sorting_key.ptr);
        else
            rc = sl_buf_append_cstr(out, "\nORDER BY tuple()");
    }
    if (rc == 0 && df->engine_ttl.len)
        rc = sl_buf_printf(out, "\nTTL %.*s", (int)df->engine_ttl.len, df->engine_ttl.ptr);
    if (rc == 0)
        rc = append_settings(out, df->engine_settings);
    return rc;
}

int sl_catalog_create_quarantine_sql(sl_str name, const sl_datafile *df, sl_buf *out)
{
    int rc = sl_buf_append_cstr(out, "CREATE TABLE IF NOT EXISTS ");
    if (rc == 0)
        rc = append_table(out, name, true);
    if (rc == 0)
        rc = sl_buf_append_cstr(out, "\n(");
    if (rc == 0)
        rc = sl_convert_quarantine_columns(df, out);
    if (rc == 0)
        rc = sl_buf_printf(out,
                           ")\nENGINE = MergeTree\nORDER BY insertion_date\n"
                           "SETTINGS non_replicated_deduplication_window = %d",
                           SL_CATALOG_DEDUP_WINDOW);
    return rc;
}

int sl_catalog_insert_sql(const sl_datasource *ds, bool quarantine, sl_str token, sl_buf *out)
{
    sl_str name = {ds->name, ds->name_len};
    int rc = sl_buf_append_cstr(out, "INSERT INTO ");
    if (rc == 0)
        rc = append_table(out, name, quarantine);
    if (rc == 0 && quarantine) {
        /* Every quarantine column but insertion_date, which its DEFAULT fills. */
        rc = sl_buf_append_cstr(out, " (`c__error_column`, `c__error`, `c__import_id`");
        for (size_t i = 0; rc == 0 && i < ds->df->n_columns; i++) {
            rc = sl_buf_append_cstr(out, ", ");
            if (rc == 0)
                rc = append_ident(out, ds->df->columns[i].name);
        }
        if (rc == 0)
            rc = sl_buf_append_cstr(out, ", `c__raw`)");
    }
    if (rc == 0 && token.len) {
        rc = sl_buf_append_cstr(out, " SETTINGS insert_deduplication_token = '");
        for (size_t i = 0; rc == 0 && i < token.len; i++) {
            if (token.ptr[i] == '\'' || token.ptr[i] == '\\')
                rc = sl_buf_append(out, "\\", 1);
            if (rc == 0)
                rc = sl_buf_append(out, &token.ptr[i], 1);
        }
        if (rc == 0)
            rc = sl_buf_append_cstr(out, "'");
    }
    return rc;
}

/* Appends `name` (plus the quarantine suffix) as a quoted string literal. */
static int append_table_literal(sl_buf *b, sl_str name, bool quarantine)
{
    int rc = sl_buf_append(b, "'", 1);
    for (size_t i = 0; rc == 0 && i < name.len; i++) {
        if (name.ptr[i] == '\'' || name.ptr[i] == '\\')
            rc = sl_buf_append(b, "\\", 1);
        if (rc == 0)
            rc = sl_buf_append(b, &name.ptr[i], 1);
    }
    if (rc == 0 && quarantine)
        rc = sl_buf_append_cstr(b, QUARANTINE_SUFFIX);
    return rc ? rc : sl_buf_append(b, "'", 1);
}

int sl_catalog_marks_sql(const sl_datasource *ds, sl_buf *out)
{
    sl_str name = {ds->name, ds->name_len};
    int rc = sl_buf_append_cstr(out, "SELECT table = ");
    if (rc == 0)
        rc = append_table_literal(out, name, true);
    if (rc == 0)
        rc = sl_buf_append_cstr(out, ", max(max_block_number) FROM system.parts WHERE database = "
                                     "'default' AND active AND table IN (");
    if (rc == 0)
        rc = append_table_literal(out, name, false);
    if (rc == 0)
        rc = sl_buf_append_cstr(out, ", ");
    if (rc == 0)
        rc = append_table_literal(out, name, true);
    if (rc == 0)
        rc = sl_buf_append_cstr(out, ") GROUP BY table FORMAT TSV");
    return rc;
}

int sl_catalog_parse_marks(sl_str tsv, uint64_t marks[2], sl_error *err)
{
    marks[0] = marks[1] = 0;
    size_t i = 0;
    while (i < tsv.len) {
        char which = tsv.ptr[i];
        if ((which != '0' && which != '1') || i + 2 >= tsv.len || tsv.ptr[i + 1] != '\t')
            return sl_error_set(err, SL_EINVAL, "unexpected answer to the marks query", i);
        i += 2;
        uint64_t v = 0;
        size_t digits = 0;
        while (i < tsv.len && tsv.ptr[i] >= '0' && tsv.ptr[i] <= '9' && digits < 19) {
            v = v * 10 + (uint64_t)(tsv.ptr[i++] - '0');
            digits++;
        }
        if (!digits || i >= tsv.len || tsv.ptr[i] != '\n')
            return sl_error_set(err, SL_EINVAL, "unexpected answer to the marks query", i);
        i++;
        marks[which - '0'] = v;
    }
    return 0;
}

/* ---- refcounting ---- */

static void entry_free(entry *e)
{
    sl_converter_free(e->conv);
    sl_datafile_free(e->df);
    free(e->name);
    free(e->text);
    free(e);
}

sl_datasource *sl_datasource_ref(sl_datasource *ds)
{
    atomic_fetch_add_explicit(&from_pub(ds)->refs, 1, memory_order_relaxed);
    return ds;
}

void sl_datasource_release(sl_datasource *ds)
{
    if (!ds)
        return;
    entry *e = from_pub(ds);
    if (atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1)
        entry_free(e);
}

bool sl_datasource_is_dropped(const sl_datasource *ds)
{
    return atomic_load_explicit(&from_pub(ds)->dropped, memory_order_acquire);
}

/* ---- the map (callers hold `lock`) ---- */

static ssize_t find_locked(sl_catalog *cat, sl_str name)
{
    for (size_t i = 0; i < cat->n; i++)
        if (cat->items[i]->pub.name_len == name.len &&
            memcmp(cat->items[i]->pub.name, name.ptr, name.len) == 0)
            return (ssize_t)i;
    return -1;
}

sl_datasource *sl_catalog_acquire(sl_catalog *cat, sl_str name)
{
    sl_datasource *ds = NULL;
    pthread_rwlock_rdlock(&cat->lock);
    ssize_t i = find_locked(cat, name);
    if (i >= 0)
        ds = sl_datasource_ref(&cat->items[i]->pub);
    pthread_rwlock_unlock(&cat->lock);
    return ds;
}

static void insert_entry(sl_catalog *cat, entry *e)
{
    pthread_rwlock_wrlock(&cat->lock);
    if (cat->n == cat->cap) {
        cat->cap = cat->cap ? cat->cap * 2 : 16;
        cat->items = sl_xrealloc(cat->items, cat->cap * sizeof *cat->items);
    }
    cat->items[cat->n++] = e; /* the map's reference */
    pthread_rwlock_unlock(&cat->lock);
}

static int cmp_ds(const void *a, const void *b)
{
    const sl_datasource *x = *(sl_datasource *const *)a, *y = *(sl_datasource *const *)b;
    return strcmp(x->name, y->name);
}

int sl_catalog_list(sl_catalog *cat, sl_datasource ***out, size_t *n)
{
    pthread_rwlock_rdlock(&cat->lock);
    size_t cnt = cat->n;
    sl_datasource **list = malloc((cnt ? cnt : 1) * sizeof *list);
    if (!list) {
        pthread_rwlock_unlock(&cat->lock);
        return SL_ENOMEM;
    }
    for (size_t i = 0; i < cnt; i++)
        list[i] = sl_datasource_ref(&cat->items[i]->pub);
    pthread_rwlock_unlock(&cat->lock);
    qsort(list, cnt, sizeof *list, cmp_ds);
    *out = list;
    *n = cnt;
    return 0;
}

void sl_catalog_release_list(sl_datasource **list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        sl_datasource_release(list[i]);
    free(list);
}

/* ---- files ---- */

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int write_atomic(const char *dir, const char *name, const char *data, size_t len,
                        sl_error *err)
{
    char path[4096], tmp[4096];
    snprintf(path, sizeof path, "%s/%s" FILE_SUFFIX, dir, name);
    snprintf(tmp, sizeof tmp, "%s/.%s" FILE_SUFFIX ".tmp", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return sl_error_setf(err, SL_EIO, 0, "cannot write %s: %s", tmp, strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return sl_error_setf(err, SL_EIO, 0, "cannot write %s: %s", tmp, strerror(e));
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        return sl_error_setf(err, SL_EIO, 0, "cannot sync %s: %s", tmp, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return sl_error_setf(err, SL_EIO, 0, "cannot rename to %s: %s", path, strerror(e));
    }
    if (fsync_dir(dir) != 0)
        return sl_error_setf(err, SL_EIO, 0, "cannot sync %s: %s", dir, strerror(errno));
    return 0;
}

static int mkdir_p(const char *path, sl_error *err)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp)
        return sl_error_set(err, SL_EINVAL, "bad data directory path", 0);
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == '\0') {
            char c = tmp[i];
            tmp[i] = '\0';
            if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
                return sl_error_setf(err, SL_EIO, 0, "cannot create %s: %s", tmp, strerror(errno));
            tmp[i] = c;
        }
    }
    return 0;
}

/* ---- create / load ---- */

static int run_ddl(sl_catalog *cat, sl_buf *sql, sl_error *err)
{
    sl_str s = {(const char *)sql->data, sql->len};
    int n_stmt = 1;
    sl_sql_class cls;
    sl_error cerr;
    /* Defence in depth next to safe_expr: the text must be exactly one statement. */
    if (cat->sink->ops->classify && sl_sink_classify(cat->sink, s, &n_stmt, &cls, &cerr) == 0 &&
        n_stmt != 1)
        return sl_error_set(err, SL_ESCHEMA, "the definition does not make one CREATE statement",
                            0);
    int rc = sl_sink_query(cat->sink, s, "TSV", NULL, err);
    if (rc && err) {
        char msg[sizeof err->detail];
        snprintf(msg, sizeof msg, "%s", err->msg ? err->msg : "");
        sl_error_setf(err, rc, 0, "ClickHouse refused the table: %s", msg);
    }
    return rc;
}

static int create_tables(sl_catalog *cat, sl_str name, const sl_datafile *df, sl_error *err)
{
    sl_buf sql;
    sl_buf_init(&sql, 0);
    int rc = sl_catalog_create_table_sql(name, df, &sql);
    if (rc == 0)
        rc = run_ddl(cat, &sql, err);
    else
        sl_error_set(err, rc, "cannot build CREATE TABLE", 0);
    if (rc == 0) {
        sql.len = 0;
        rc = sl_catalog_create_quarantine_sql(name, df, &sql);
        if (rc == 0)
            rc = run_ddl(cat, &sql, err);
        else
            sl_error_set(err, rc, "cannot build CREATE TABLE", 0);
    }
    sl_buf_free(&sql);
    return rc;
}

/* Canonicalises `df` (print, parse back) into a new entry with its converter. Frees df. */
static int make_entry(sl_str name, sl_datafile *df, entry **out, sl_error *err)
{
    *out = NULL;
    sl_buf text;
    sl_buf_init(&text, 0);
    int rc = sl_datafile_print(df, &text);
    sl_datafile_free(df);
    if (rc)
        return sl_error_set(err, rc, "cannot print the definition", 0);
    entry *e = sl_xcalloc(1, sizeof *e);
    rc = sl_datafile_parse((sl_str){(const char *)text.data, text.len}, &e->df, err);
    if (rc == 0 && (rc = check_exprs(e->df, err)) == 0)
        rc = sl_converter_new(e->df, &e->conv, err);
    if (rc) {
        sl_buf_free(&text);
        entry_free(e);
        return rc;
    }
    e->name = sl_xmalloc(name.len + 1);
    memcpy(e->name, name.ptr, name.len);
    e->name[name.len] = '\0';
    e->text = sl_xmalloc(text.len + 1);
    memcpy(e->text, text.data, text.len);
    e->text[text.len] = '\0';
    atomic_init(&e->refs, 1);
    atomic_init(&e->dropped, false);
    e->pub.name = e->name;
    e->pub.name_len = name.len;
    e->pub.df = e->df;
    e->pub.conv = e->conv;
    e->pub.text = e->text;
    e->pub.text_len = text.len;
    e->pub.version = XXH3_64bits(text.data, text.len);
    sl_buf_free(&text);
    *out = e;
    return 0;
}

static int grant_tokens(sl_catalog *cat, const entry *e, sl_error *err)
{
    if (!cat->tokens)
        return 0;
    for (size_t i = 0; i < e->df->n_tokens; i++) {
        char scope[SL_TOKEN_SCOPE_MAX];
        snprintf(scope, sizeof scope, "DATASOURCES:%s:%s",
                 e->df->tokens[i].perm == SL_TOKEN_APPEND ? "APPEND" : "READ", e->name);
        int rc = sl_tokens_grant(cat->tokens, e->df->tokens[i].name, sl_str_from_cstr(scope), err);
        if (rc)
            return rc;
    }
    return 0;
}

int sl_catalog_create(sl_catalog *cat, sl_str name, sl_datafile *df, sl_catalog_outcome *outcome,
                      sl_datasource **out, sl_error *err)
{
    if (out)
        *out = NULL;
    if (outcome)
        *outcome = SL_CATALOG_CREATED;
    if (!sl_catalog_valid_name(name)) {
        sl_datafile_free(df);
        return sl_error_setf(err, SL_EINVAL, 0,
                             "invalid data source name '%.*s': names are [A-Za-z_][A-Za-z0-9_]*, "
                             "at most %d characters, not ending in _quarantine",
                             (int)(name.len > 80 ? 80 : name.len), name.ptr ? name.ptr : "",
                             SL_CATALOG_NAME_MAX);
    }
    entry *e;
    int rc = make_entry(name, df, &e, err);
    if (rc)
        return rc;

    pthread_mutex_lock(&cat->ddl);
    sl_datasource *old = sl_catalog_acquire(cat, name);
    if (old) {
        bool same = sl_datafile_equal(old->df, e->df);
        pthread_mutex_unlock(&cat->ddl);
        entry_free(e);
        if (outcome)
            *outcome = same ? SL_CATALOG_EXISTS : SL_CATALOG_CONFLICT;
        if (out)
            *out = old;
        else
            sl_datasource_release(old);
        if (same)
            return 0;
        return sl_error_setf(err, SL_EINVAL, 0,
                             "data source '%.*s' already exists with a different schema; delete "
                             "it first to replace it",
                             (int)name.len, name.ptr);
    }
    rc = create_tables(cat, name, e->df, err);
    if (rc == 0)
        rc = write_atomic(cat->dir, e->name, e->text, e->pub.text_len, err);
    if (rc) {
        pthread_mutex_unlock(&cat->ddl);
        entry_free(e);
        return rc;
    }
    insert_entry(cat, e);
    if (out)
        *out = sl_datasource_ref(&e->pub);
    rc = grant_tokens(cat, e, err);
    pthread_mutex_unlock(&cat->ddl);
    return rc;
}

int sl_catalog_create_text(sl_catalog *cat, sl_str name, sl_str text, sl_catalog_outcome *outcome,
                           sl_datasource **out, sl_error *err)
{
    if (out)
        *out = NULL;
    sl_datafile *df;
    int rc = sl_datafile_parse(text, &df, err);
    if (rc)
        return rc;
    return sl_catalog_create(cat, name, df, outcome, out, err);
}

static int load_one(sl_catalog *cat, const char *fname, sl_error *err)
{
    size_t fl = strlen(fname), sl = sizeof FILE_SUFFIX - 1;
    sl_str name = {fname, fl - sl};
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", cat->dir, fname);
    if (!sl_catalog_valid_name(name))
        return sl_error_setf(err, SL_ESCHEMA, 0, "%s: not a valid data source name", path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return sl_error_setf(err, SL_EIO, 0, "cannot read %s: %s", path, strerror(errno));
    sl_buf text;
    sl_buf_init(&text, (size_t)16 << 20);
    char chunk[8192];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = sl_buf_append(&text, chunk, n);
    bool bad = ferror(f);
    fclose(f);
    if (rc || bad) {
        sl_buf_free(&text);
        return sl_error_setf(err, SL_EIO, 0, "cannot read %s", path);
    }
    sl_datafile *df;
    sl_error perr;
    memset(&perr, 0, sizeof perr);
    rc = sl_datafile_parse((sl_str){(const char *)text.data, text.len}, &df, &perr);
    sl_buf_free(&text);
    entry *e = NULL;
    if (rc == 0)
        rc = make_entry(name, df, &e, &perr);
    if (rc)
        return sl_error_setf(err, rc, 0, "%s: %s", path, perr.msg ? perr.msg : sl_strerror(rc));
    rc = create_tables(cat, name, e->df, &perr);
    if (rc) {
        entry_free(e);
        return sl_error_setf(err, rc, 0, "%s: %s", path, perr.msg ? perr.msg : "");
    }
    insert_entry(cat, e);
    return grant_tokens(cat, e, err);
}

int sl_catalog_open(const char *data_dir, sl_sink *sink, struct sl_tokens *tokens, sl_catalog **out,
                    sl_error *err)
{
    *out = NULL;
    sl_catalog *cat = sl_xcalloc(1, sizeof *cat);
    size_t dl = strlen(data_dir);
    cat->dir = sl_xmalloc(dl + sizeof "/datasources");
    memcpy(cat->dir, data_dir, dl);
    memcpy(cat->dir + dl, "/datasources", sizeof "/datasources");
    cat->sink = sink;
    cat->tokens = tokens;
    pthread_mutex_init(&cat->ddl, NULL);
    pthread_rwlock_init(&cat->lock, NULL);
    int rc = mkdir_p(cat->dir, err);
    if (rc) {
        sl_catalog_free(cat);
        return rc;
    }
    DIR *d = opendir(cat->dir);
    if (!d) {
        rc = sl_error_setf(err, SL_EIO, 0, "cannot list %s: %s", cat->dir, strerror(errno));
        sl_catalog_free(cat);
        return rc;
    }
    struct dirent *de;
    size_t sl = sizeof FILE_SUFFIX - 1;
    pthread_mutex_lock(&cat->ddl);
    while (rc == 0 && (de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (de->d_name[0] == '.' || n <= sl || strcmp(de->d_name + n - sl, FILE_SUFFIX) != 0)
            continue;
        rc = load_one(cat, de->d_name, err);
    }
    pthread_mutex_unlock(&cat->ddl);
    closedir(d);
    if (rc) {
        sl_catalog_free(cat);
        return rc;
    }
    *out = cat;
    return 0;
}

void sl_catalog_free(sl_catalog *cat)
{
    if (!cat)
        return;
    for (size_t i = 0; i < cat->n; i++)
        sl_datasource_release(&cat->items[i]->pub);
    free(cat->items);
    pthread_rwlock_destroy(&cat->lock);
    pthread_mutex_destroy(&cat->ddl);
    free(cat->dir);
    free(cat);
}

/* ---- drop / truncate / counts ---- */

static int not_found(sl_error *err, sl_str name)
{
    return sl_error_setf(err, SL_EMISSING, 0, "data source '%.*s' not found",
                         (int)(name.len > 80 ? 80 : name.len), name.ptr ? name.ptr : "");
}

/* Runs "<verb> `default`.`name`[_quarantine]<tail>" for both tables. */
static int both_tables(sl_catalog *cat, const char *verb, sl_str name, const char *tail,
                       sl_error *err)
{
    sl_buf sql;
    sl_buf_init(&sql, 0);
    int rc = 0;
    for (int q = 0; rc == 0 && q < 2; q++) {
        sql.len = 0;
        rc = sl_buf_append_cstr(&sql, verb);
        if (rc == 0)
            rc = append_table(&sql, name, q == 1);
        if (rc == 0)
            rc = sl_buf_append_cstr(&sql, tail);
        if (rc == 0)
            rc = sl_sink_query(cat->sink, (sl_str){(const char *)sql.data, sql.len}, "TSV", NULL,
                               err);
    }
    sl_buf_free(&sql);
    return rc;
}

int sl_catalog_drop(sl_catalog *cat, sl_str name, sl_error *err)
{
    pthread_mutex_lock(&cat->ddl);
    pthread_rwlock_rdlock(&cat->lock);
    ssize_t i = find_locked(cat, name);
    pthread_rwlock_unlock(&cat->lock);
    if (i < 0) {
        pthread_mutex_unlock(&cat->ddl);
        return not_found(err, name);
    }
    int rc = both_tables(cat, "DROP TABLE IF EXISTS ", name, " SYNC", err);
    if (rc) {
        pthread_mutex_unlock(&cat->ddl);
        return rc;
    }
    /* Only DDL changes the map and we hold ddl, so i is still the entry. */
    pthread_rwlock_wrlock(&cat->lock);
    entry *e = cat->items[i];
    cat->items[i] = cat->items[--cat->n];
    pthread_rwlock_unlock(&cat->lock);
    atomic_store_explicit(&e->dropped, true, memory_order_release);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s" FILE_SUFFIX, cat->dir, e->name);
    if (unlink(path) != 0 && errno != ENOENT)
        rc = sl_error_setf(err, SL_EIO, 0, "tables dropped but cannot remove %s: %s", path,
                           strerror(errno));
    else
        fsync_dir(cat->dir);
    /* Its grants go with it: a data source created later under this name starts with none. */
    sl_error terr = {0};
    if (rc == 0 && cat->tokens && sl_tokens_revoke_datasource(cat->tokens, name, NULL, &terr))
        rc = sl_error_setf(err, SL_EIO, 0,
                           "data source deleted, but its token scopes could not be removed: %s",
                           terr.msg ? terr.msg : "write failed");
    pthread_mutex_unlock(&cat->ddl);
    sl_datasource_release(&e->pub);
    return rc;
}

int sl_catalog_truncate(sl_catalog *cat, sl_str name, sl_error *err)
{
    pthread_mutex_lock(&cat->ddl);
    sl_datasource *ds = sl_catalog_acquire(cat, name);
    int rc =
        ds ? both_tables(cat, "TRUNCATE TABLE IF EXISTS ", name, "", err) : not_found(err, name);
    pthread_mutex_unlock(&cat->ddl);
    sl_datasource_release(ds);
    return rc;
}

int sl_catalog_row_counts(sl_catalog *cat, const sl_datasource *ds, uint64_t *rows,
                          uint64_t *quarantined, sl_error *err)
{
    sl_str name = {ds->name, ds->name_len};
    sl_buf sql, out;
    sl_buf_init(&sql, 0);
    sl_buf_init(&out, 4096);
    int rc = sl_buf_append_cstr(&sql, "SELECT (SELECT count() FROM ");
    if (rc == 0)
        rc = append_table(&sql, name, false);
    if (rc == 0)
        rc = sl_buf_append_cstr(&sql, "), (SELECT count() FROM ");
    if (rc == 0)
        rc = append_table(&sql, name, true);
    if (rc == 0)
        rc = sl_buf_append_cstr(&sql, ")");
    if (rc == 0) {
        pthread_mutex_lock(&cat->ddl);
        rc = sl_sink_query(cat->sink, (sl_str){(const char *)sql.data, sql.len}, "TSV", &out, err);
        pthread_mutex_unlock(&cat->ddl);
    }
    if (rc == 0) {
        unsigned long long a = 0, b = 0;
        char tmp[128];
        size_t n = out.len < sizeof tmp - 1 ? out.len : sizeof tmp - 1;
        memcpy(tmp, out.data ? (const char *)out.data : "", n);
        tmp[n] = '\0';
        if (sscanf(tmp, "%llu\t%llu", &a, &b) != 2)
            rc = sl_error_set(err, SL_EIO, "unexpected answer to the row count query", 0);
        *rows = a;
        *quarantined = b;
    }
    sl_buf_free(&sql);
    sl_buf_free(&out);
    return rc;
}
