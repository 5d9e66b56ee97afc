/* GET/POST /v0/sql (SPEC §7): read-only queries on a read-only connection.
 *
 * Fences: the connection itself is read-only (opened with --readonly=1, with max_execution_time
 * and max_result_bytes set by `sluice serve`); ClickHouse's own parser classifies the statement
 * (one statement, of the read class); its AST (EXPLAIN AST, which runs nothing) is checked for
 * functions and table functions; and a token without ADMIN may only read the tables its READ
 * scopes name, found in the analysed query tree (EXPLAIN QUERY TREE lists every table a query
 * reads, subqueries, joins and IN included). docs/http.md describes the rules. */
#include "sl_http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SQL (1u << 20)

/* ---- access checks on ClickHouse's own parse ----
 *
 * Everything below reads EXPLAIN output in TSV: one tree node per line, one (AST) or two (query
 * tree) leading spaces per level, and TSV escaping, so no name or literal can start a line of
 * its own. Anything not shaped as expected is refused: a FORMAT clause left in the analysed text
 * would change the output's format, and then the output is not trusted. */

/* Table functions that make rows out of their arguments only. */
static const char *const generators[] = {"numbers", "numbers_mt",      "zeros",          "zeros_mt",
                                         "values",  "generate_series", "generateSeries", "null"};
/* Tables anyone may read: constant sources. */
static const char *const harmless_tables[] = {"one", "numbers", "numbers_mt", "zeros", "zeros_mt"};
/* Functions nobody may call here: file() reads any file of the host (the tokens file too). */
static const char *const denied_all[] = {"file", "catboostEvaluate"};
/* Functions that read tables by name, invisible to the table check; plus names by prefix. */
static const char *const denied_scoped[] = {"hasColumnInTable", "getMacro"};
static const char *const denied_scoped_prefix[] = {"dict", "joinGet"};

#define AST_MAX_DEPTH 1100 /* ClickHouse's max_ast_depth is 1000 */

static bool in_list(sl_str name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (sl_str_eq_nocase(name, list[i]))
            return true;
    return false;
}

static bool has_prefix_nocase(sl_str s, const char *p)
{
    size_t n = strlen(p);
    return s.len >= n && sl_str_eq_nocase((sl_str){s.ptr, n}, p);
}

static bool scoped_denied(sl_str fn)
{
    if (in_list(fn, denied_scoped, sizeof(denied_scoped) / sizeof(denied_scoped[0])))
        return true;
    for (size_t i = 0; i < sizeof(denied_scoped_prefix) / sizeof(denied_scoped_prefix[0]); i++)
        if (has_prefix_nocase(fn, denied_scoped_prefix[i]))
            return true;
    return false;
}

static bool next_line(sl_str *rest, sl_str *line)
{
    if (!rest->len)
        return false;
    const char *nl = memchr(rest->ptr, '\n', rest->len);
    size_t n = nl ? (size_t)(nl - rest->ptr) : rest->len;
    size_t skip = nl ? n + 1 : n;
    *line = (sl_str){rest->ptr, n};
    rest->ptr += skip;
    rest->len -= skip;
    return true;
}

static size_t depth_of(sl_str line)
{
    size_t i = 0;
    while (i < line.len && line.ptr[i] == ' ')
        i++;
    return i;
}

/* The word after `from`, up to a space or the end. */
static sl_str word_at(sl_str line, size_t from)
{
    if (from >= line.len)
        return (sl_str){line.ptr + line.len, 0};
    size_t e = from;
    while (e < line.len && line.ptr[e] != ' ')
        e++;
    return (sl_str){line.ptr + from, e - from};
}

static bool is_name(sl_str s)
{
    if (!s.len)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return true;
}

static int refuse(char *why, size_t cap, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int refuse(char *why, size_t cap, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return status;
}

static int unrecognized(char *why, size_t cap)
{
    return refuse(why, cap, 400,
                  "the query could not be analysed; if it has a FORMAT clause, put it at the very "
                  "end as FORMAT <name>");
}

static int function_refused(sl_str fn, bool admin, char *why, size_t cap)
{
    int n = (int)(fn.len > 64 ? 64 : fn.len);
    if (in_list(fn, denied_all, sizeof(denied_all) / sizeof(denied_all[0])))
        return refuse(why, cap, 403, "the function %.*s is not available on /v0/sql", n, fn.ptr);
    if (!admin && scoped_denied(fn))
        return refuse(why, cap, 403,
                      "the function %.*s reads tables by name; only ADMIN tokens may use it", n,
                      fn.ptr);
    return 0;
}

static int table_function_refused(sl_str fn, char *why, size_t cap)
{
    if (in_list(fn, generators, sizeof(generators) / sizeof(generators[0])))
        return 0;
    return refuse(why, cap, 403,
                  "the table function %.*s is only available to ADMIN tokens (others may use "
                  "numbers, zeros, generate_series, values and null)",
                  (int)(fn.len > 64 ? 64 : fn.len), fn.ptr);
}

int sl_http_sql_check_ast(sl_str ast, bool admin, sl_http_sql_ast *info, char *why, size_t cap)
{
    memset(info, 0, sizeof(*info));
    static const sl_str none = {"", 0};
    sl_str *kinds = sl_xcalloc(AST_MAX_DEPTH, sizeof(*kinds));
    sl_str rest = ast, line, lines[4] = {none, none, none, none};
    size_t n = 0, prev = 0;
    int status = 0;
    while (!status && next_line(&rest, &line)) {
        size_t d = depth_of(line);
        sl_str kind = word_at(line, d);
        if (!kind.len || !((kind.ptr[0] >= 'A' && kind.ptr[0] <= 'Z') ||
                           (kind.ptr[0] >= 'a' && kind.ptr[0] <= 'z'))) {
            status = unrecognized(why, cap);
            break;
        }
        if ((n == 0) != (d == 0) || d > prev + 1 || d >= AST_MAX_DEPTH) {
            status = unrecognized(why, cap);
            break;
        }
        kinds[d] = kind;
        if (n < 4)
            lines[n] = line;
        if (d == 0)
            info->root = kind;
        else if (d == 1 && sl_str_eq_cstr(kind, "Identifier"))
            info->has_format = true;
        if (sl_str_eq_cstr(kind, "Subquery"))
            info->has_subquery = true;
        if (sl_str_eq_cstr(kind, "Function")) {
            sl_str fn = word_at(line, d + kind.len + 1);
            status = function_refused(fn, admin, why, cap);
            if (!status && !admin && d > 0 && sl_str_eq_cstr(kinds[d - 1], "TableExpression"))
                status = table_function_refused(fn, why, cap);
        }
        prev = d;
        n++;
    }
    free(kinds);
    if (status)
        return status;
    if (n == 0)
        return unrecognized(why, cap);
    info->n_lines = n;
    /* DESCRIBE [TABLE] t: exactly a table expression naming a table (a FORMAT may follow). */
    if (sl_str_eq_cstr(info->root, "DescribeQuery") && (n == 3 || n == 4) &&
        sl_str_eq_cstr(word_at(lines[1], 1), "TableExpression") && depth_of(lines[2]) == 2 &&
        sl_str_eq_cstr(word_at(lines[2], 2), "TableIdentifier") &&
        (n == 3 || sl_str_eq_cstr(word_at(lines[3], 1), "Identifier"))) {
        sl_str name = word_at(lines[2], 2 + sizeof("TableIdentifier"));
        const char *dot = memchr(name.ptr, '.', name.len);
        info->db = dot ? (sl_str){name.ptr, (size_t)(dot - name.ptr)} : SL_STR("default");
        info->table = dot ? (sl_str){dot + 1, (size_t)(name.ptr + name.len - dot - 1)} : name;
    }
    /* SHOW CREATE [TABLE] [db.]t: the root line says "ShowCreateTableQuery <db> <t>". */
    if (sl_str_eq_cstr(info->root, "ShowCreateTableQuery")) {
        size_t at = sizeof("ShowCreateTableQuery");
        sl_str db = word_at(lines[0], at);
        sl_str t = word_at(lines[0], at + db.len + 1);
        info->db = db.len ? db : SL_STR("default");
        info->table = t;
    }
    if (info->table.len && (!is_name(info->db) || !is_name(info->table)))
        info->db = info->table = SL_STR_NULL;
    return 0;
}

int sl_http_sql_check_table(sl_str db, sl_str table, sl_http_may_read_fn may_read, void *ud,
                            char *why, size_t cap)
{
    int nd = (int)(db.len > 64 ? 64 : db.len), nt = (int)(table.len > 100 ? 100 : table.len);
    if (sl_str_eq_cstr(db, "system") &&
        in_list(table, harmless_tables, sizeof(harmless_tables) / sizeof(harmless_tables[0])))
        return 0;
    if (!is_name(db) || !is_name(table))
        return refuse(why, cap, 403, "this token may not read %.*s.%.*s (or ADMIN)", nd, db.ptr, nt,
                      table.ptr);
    if (!sl_str_eq_cstr(db, "default"))
        return refuse(why, cap, 403,
                      "this token may not read %.*s.%.*s: only ADMIN tokens read databases other "
                      "than default",
                      nd, db.ptr, nt, table.ptr);
    sl_str ds = table;
    if (ds.len > 11 && memcmp(ds.ptr + ds.len - 11, "_quarantine", 11) == 0)
        ds.len -= 11;
    if (may_read(ud, ds))
        return 0;
    return refuse(why, cap, 403,
                  "this token may not read %.*s; it needs DATASOURCES:READ:%.*s (or ADMIN)", nt,
                  table.ptr, (int)(ds.len > 64 ? 64 : ds.len), ds.ptr);
}

/* The value after `key` (", table_name: ") up to the next ',' or the end of the line; false
 * unless the key occurs exactly once (a user-chosen alias could otherwise fake one). */
static bool field_of(sl_str line, const char *key, sl_str *val)
{
    size_t kl = strlen(key);
    const char *found = NULL, *p = line.ptr, *end = line.ptr + line.len;
    for (;;) {
        const char *m = memmem(p, (size_t)(end - p), key, kl);
        if (!m)
            break;
        if (found)
            return false;
        found = m;
        p = m + kl;
    }
    if (!found)
        return false;
    const char *s = found + kl, *e = s;
    while (e < end && *e != ',')
        e++;
    *val = (sl_str){s, (size_t)(e - s)};
    return val->len > 0;
}

/* Is `line` a query tree node of `kind` ("TABLE id: 3, ...")? */
static bool node_is(sl_str line, size_t d, const char *kind)
{
    size_t k = strlen(kind);
    return line.len >= d + k + 5 && memcmp(line.ptr + d, kind, k) == 0 &&
           memcmp(line.ptr + d + k, " id: ", 5) == 0;
}

int sl_http_sql_check_tree(sl_str tree, sl_http_may_read_fn may_read, void *ud, char *why,
                           size_t cap)
{
    sl_str rest = tree, line;
    bool first = true;
    while (next_line(&rest, &line)) {
        size_t d = depth_of(line);
        if (first) {
            if (d != 0 || !(node_is(line, 0, "QUERY") || node_is(line, 0, "UNION")))
                return unrecognized(why, cap);
            first = false;
            continue;
        }
        sl_str v;
        int st = 0;
        if (node_is(line, d, "TABLE")) {
            if (!field_of(line, ", table_name: ", &v))
                return refuse(why, cap, 403, "a table of this query could not be identified");
            const char *dot = memchr(v.ptr, '.', v.len);
            if (!dot)
                return refuse(why, cap, 403, "a table of this query could not be identified");
            st = sl_http_sql_check_table((sl_str){v.ptr, (size_t)(dot - v.ptr)},
                                         (sl_str){dot + 1, (size_t)(v.ptr + v.len - dot - 1)},
                                         may_read, ud, why, cap);
        } else if (node_is(line, d, "TABLE_FUNCTION")) {
            if (!field_of(line, ", table_function_name: ", &v))
                return refuse(why, cap, 403,
                              "a table function of this query could not be "
                              "identified");
            st = table_function_refused(v, why, cap);
        } else if (node_is(line, d, "FUNCTION")) {
            if (!field_of(line, ", function_name: ", &v))
                return refuse(why, cap, 403, "a function of this query could not be identified");
            /* A scalar subquery's result stored away: its query, and tables, are not shown. */
            if (sl_str_eq_cstr(v, "__getScalar"))
                return refuse(why, cap, 403,
                              "a scalar subquery of this query could not be checked; only ADMIN "
                              "tokens may run it");
            st = function_refused(v, false, why, cap);
        }
        if (st)
            return st;
    }
    return first ? unrecognized(why, cap) : 0;
}

/* ---- the fence around one query ---- */

typedef struct {
    sl_server *srv;
    sl_str token;
} scope_ctx;

static bool token_may_read(void *ud, sl_str ds)
{
    scope_ctx *c = ud;
    sl_error err = {0};
    return sl_tokens_check(c->srv->cfg.tokens, c->token, SL_ACTION_READ, ds, NULL, 0, &err) == 0;
}

/* Runs `prefix` followed by `text` and puts its TSV output in `out`. */
static int explain(sl_sink *sink, const char *prefix, sl_str text, sl_buf *out, sl_error *err)
{
    sl_buf sql;
    sl_buf_init(&sql, MAX_SQL + 64);
    sl_buf_append_cstr(&sql, prefix);
    sl_buf_append(&sql, text.ptr, text.len);
    out->len = 0;
    int rc = sl_sink_query(sink, (sl_str){(const char *)sql.data, sql.len}, "TSV", out, err);
    sl_buf_free(&sql);
    return rc;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\v';
}

/* When q ends with "FORMAT <name>", the text before it. Only a candidate: the caller has it
 * parsed, and a text that parses and is followed by nothing but "FORMAT <name>" means the same
 * as q (or q is that text with a comment at its end). */
static bool format_prefix(sl_str q, sl_str *p)
{
    size_t i = q.len;
    while (i > 0 && is_name((sl_str){q.ptr + i - 1, 1}))
        i--;
    size_t j = i;
    while (j > 0 && is_space(q.ptr[j - 1]))
        j--;
    if (i == q.len || j == i || j < 7 || !sl_str_eq_nocase((sl_str){q.ptr + j - 6, 6}, "format"))
        return false;
    size_t k = j - 6;
    if (!is_space(q.ptr[k - 1]) && q.ptr[k - 1] != ')')
        return false;
    while (k > 0 && is_space(q.ptr[k - 1]))
        k--;
    *p = (sl_str){q.ptr, k};
    return k > 0;
}

static bool is_select_root(sl_str kind)
{
    return sl_str_eq_cstr(kind, "SelectWithUnionQuery") ||
           sl_str_eq_cstr(kind, "SelectIntersectExceptQuery") ||
           sl_str_eq_cstr(kind, "SelectQuery");
}

/* A line without its " (children N)" suffix. */
static sl_str without_children(sl_str line)
{
    static const char tag[] = " (children ";
    if (!line.len || line.ptr[line.len - 1] != ')')
        return line;
    for (size_t i = line.len; i-- > 0;)
        if (line.len - i >= sizeof(tag) - 1 && memcmp(line.ptr + i, tag, sizeof(tag) - 1) == 0)
            return (sl_str){line.ptr, i};
    return line;
}

/* Are the AST lines `sub`, less `dedent` leading spaces each, the lines of `ast`? */
static bool same_tree(sl_str sub, size_t dedent, sl_str ast)
{
    sl_str a, b;
    for (;;) {
        bool more_a = next_line(&sub, &a), more_b = next_line(&ast, &b);
        if (!more_a || !more_b)
            return more_a == more_b;
        if (depth_of(a) < dedent)
            return false;
        a = without_children((sl_str){a.ptr + dedent, a.len - dedent});
        b = without_children(b);
        if (!sl_str_eq(a, b))
            return false;
    }
}

/* The lines of the SELECT an EXPLAIN's AST explains, or an empty slice. */
static sl_str explained_select(sl_str ast)
{
    sl_str rest = ast, line;
    const char *start = NULL;
    while (next_line(&rest, &line)) {
        size_t d = depth_of(line);
        if (start) {
            if (d < 2)
                return (sl_str){start, (size_t)(line.ptr - start)};
        } else if (d == 1 && is_select_root(word_at(line, 1))) {
            start = line.ptr;
        }
    }
    return start ? (sl_str){start, (size_t)(ast.ptr + ast.len - start)} : SL_STR_NULL;
}

/* A SELECT of a token without ADMIN: every table, table function and function the analysed
 * query tree shows must be allowed. */
static bool select_allowed(sl_http_req *r, sl_sink *sink, sl_str text, bool has_subquery,
                           scope_ctx *sc, sl_buf *tree)
{
    sl_error err = {0};
    char why[512];
    if (explain(sink, "EXPLAIN QUERY TREE ", text, tree, &err) != 0) {
        /* The analyser runs scalar subqueries, of any table: their errors could carry data. */
        if (has_subquery)
            sl_http_error(r, 400,
                          "the query cannot be analysed; the reason is shown to ADMIN tokens only "
                          "when the query has subqueries (try its parts on their own)");
        else
            sl_http_error(r, 400, "%s", err.msg ? err.msg : "the query cannot be analysed");
        return false;
    }
    int st = sl_http_sql_check_tree((sl_str){(const char *)tree->data, tree->len}, token_may_read,
                                    sc, why, sizeof(why));
    if (st) {
        sl_http_error(r, (unsigned)st, "%s", why);
        return false;
    }
    return true;
}

/* EXPLAIN [kind] [settings] <select> of a token without ADMIN: finds the text of the SELECT
 * (the suffix of `text` whose own AST is the explained one) and checks it as a SELECT. */
static bool explain_allowed(sl_http_req *r, sl_sink *sink, sl_str text, const sl_buf *ast,
                            bool has_subquery, scope_ctx *sc, sl_buf *tree)
{
    sl_str sub = explained_select((sl_str){(const char *)ast->data, ast->len});
    int tries = 0;
    for (size_t i = 1; sub.len && i < text.len && tries < 32; i++) {
        char c = text.ptr[i], prev = text.ptr[i - 1];
        if (is_space(c) || !(is_space(prev) || prev == ')' || c == '('))
            continue;
        tries++;
        sl_str cand = {text.ptr + i, text.len - i};
        sl_error err = {0};
        if (explain(sink, "EXPLAIN AST ", cand, tree, &err) != 0)
            continue;
        if (same_tree(sub, 1, (sl_str){(const char *)tree->data, tree->len}))
            return select_allowed(r, sink, cand, has_subquery, sc, tree);
    }
    sl_http_error(r, 403, "tokens without ADMIN may EXPLAIN SELECT queries only");
    return false;
}

/* Decides whether the token may run q; when not, answers 400 or 403 and returns false.
 * Parsing (EXPLAIN AST) runs nothing; for tokens without ADMIN the analysed query tree then
 * names every table read (subqueries, joins, IN, CTEs included). */
static bool access_allowed(sl_http_req *r, sl_sink *sink, sl_str q, sl_str token, bool admin)
{
    sl_buf ast, tree;
    sl_buf_init(&ast, 8u << 20);
    sl_buf_init(&tree, 8u << 20);
    sl_error err = {0};
    char why[512];
    bool ok = false;
    sl_str text = q, p;
    if (format_prefix(q, &p) && explain(sink, "EXPLAIN AST ", p, &ast, &err) == 0) {
        text = p;
    } else if (explain(sink, "EXPLAIN AST ", q, &ast, &err) != 0) {
        sl_http_error(r, 400, "%s", err.msg ? err.msg : "the query cannot be parsed");
        goto out;
    }
    sl_http_sql_ast info;
    int st = sl_http_sql_check_ast((sl_str){(const char *)ast.data, ast.len}, admin, &info, why,
                                   sizeof(why));
    if (st) {
        sl_http_error(r, (unsigned)st, "%s", why);
        goto out;
    }
    if (admin) {
        ok = true;
        goto out;
    }
    scope_ctx sc = {r->srv, token};
    bool select = is_select_root(info.root), expl = sl_str_eq_cstr(info.root, "Explain");
    if ((select || expl) && info.has_format) {
        sl_http_error(r, 400, "%s", (unrecognized(why, sizeof(why)), why));
    } else if (select) {
        ok = select_allowed(r, sink, text, info.has_subquery, &sc, &tree);
    } else if (expl) {
        ok = explain_allowed(r, sink, text, &ast, info.has_subquery, &sc, &tree);
    } else if (info.table.len) {
        st = sl_http_sql_check_table(info.db, info.table, token_may_read, &sc, why, sizeof(why));
        if (st)
            sl_http_error(r, (unsigned)st, "%s", why);
        ok = st == 0;
    } else {
        sl_http_error(r, 403,
                      "tokens without ADMIN may run SELECT, EXPLAIN <SELECT>, DESCRIBE TABLE <t> "
                      "and SHOW CREATE TABLE <t>; SHOW TABLES and other statements need ADMIN "
                      "(GET /v0/datasources lists the data sources a token may read)");
    }
out:
    sl_buf_free(&ast);
    sl_buf_free(&tree);
    return ok;
}
static const char *content_type_of(const sl_buf *out)
{
    size_t i = 0;
    while (i < out->len && (out->data[i] == ' ' || out->data[i] == '\n'))
        i++;
    if (i < out->len && (out->data[i] == '{' || out->data[i] == '['))
        return "application/json";
    return "text/plain; charset=utf-8";
}

struct sl_sql_job {
    struct sl_sql_job *next;
    sl_http_req *req;
    sl_str q;     /* in the request's memory, valid while it is parked */
    sl_str token; /* likewise */
    bool admin;
};
typedef struct sl_sql_job sql_job;

typedef struct {
    sl_server *srv;
    sl_sink *sink;
} worker_arg;

/* Runs one query on `sink` and sets r's answer. */
static void run_query(sl_http_req *r, sl_sink *sink, sl_str q, sl_str token, bool admin)
{
    sl_server *srv = r->srv;
    sl_error err = {0};
    sl_buf explain;
    sl_buf_init(&explain, 8u << 20);
    int n_statements = 0;
    sl_sql_class cls = SL_SQL_UNKNOWN;
    int rc = sl_sink_classify(sink, q, &n_statements, &cls, &err);
    if (rc) {
        sl_http_error(r, 400, "%s", err.msg ? err.msg : "the query cannot be parsed");
        goto done;
    }
    if (n_statements == 0) {
        /* Not parsable: let the parser say why (EXPLAIN AST only parses). */
        sl_buf sql;
        sl_buf_init(&sql, MAX_SQL + 64);
        sl_buf_append_cstr(&sql, "EXPLAIN AST ");
        sl_buf_append(&sql, q.ptr, q.len);
        rc = sl_sink_query(sink, (sl_str){(const char *)sql.data, sql.len}, "TSVRaw", &explain,
                           &err);
        sl_buf_free(&sql);
        sl_http_error(r, 400, "%s",
                      rc && err.msg ? err.msg : "the query does not parse as a SQL statement");
        goto done;
    }
    if (n_statements != 1) {
        sl_http_error(r, 400, "send exactly one statement (got %d)", n_statements);
        goto done;
    }
    if (cls != SL_SQL_READ) {
        sl_http_error(r, 403,
                      "/v0/sql is read-only: only SELECT, SHOW, DESCRIBE and EXPLAIN run here");
        goto done;
    }
    if (!access_allowed(r, sink, q, token, admin))
        goto done;
    r->out.len = 0;
    rc = sl_sink_query(sink, q, "JSON", &r->out, &err);
    if (rc == SL_ETOOBIG) {
        sl_http_error(r, 400, "the result is larger than %zu bytes; add a LIMIT or aggregate",
                      srv->cfg.sql_max_result_bytes);
        goto done;
    }
    if (rc) {
        sl_http_error(r, rc == SL_ENOMEM ? 503 : 400, "%s", err.msg ? err.msg : sl_strerror(rc));
        goto done;
    }
    sl_http_reply(r, 200, content_type_of(&r->out));
done:
    sl_buf_free(&explain);
}

static void *worker_main(void *p)
{
    worker_arg *a = p;
    sl_server *srv = a->srv;
    pthread_mutex_lock(&srv->sql_mu);
    for (;;) {
        while (!srv->sql_head && !srv->sql_stop)
            pthread_cond_wait(&srv->sql_cv, &srv->sql_mu);
        if (!srv->sql_head)
            break;
        sql_job *j = srv->sql_head;
        srv->sql_head = j->next;
        if (!srv->sql_head)
            srv->sql_tail = NULL;
        srv->sql_queued--;
        pthread_mutex_unlock(&srv->sql_mu);
        run_query(j->req, a->sink, j->q, j->token, j->admin);
        sl_http_wake(j->req);
        free(j);
        pthread_mutex_lock(&srv->sql_mu);
    }
    pthread_mutex_unlock(&srv->sql_mu);
    free(a);
    return NULL;
}

int sl_http_sql_start(sl_server *srv, sl_error *err)
{
    srv->sql_workers =
        sl_xcalloc(srv->cfg.n_sql_sinks ? srv->cfg.n_sql_sinks : 1, sizeof(pthread_t));
    for (size_t i = 0; i < srv->cfg.n_sql_sinks; i++) {
        worker_arg *a = sl_xmalloc(sizeof(*a));
        a->srv = srv;
        a->sink = srv->cfg.sql_sinks[i];
        if (pthread_create(&srv->sql_workers[i], NULL, worker_main, a) != 0) {
            free(a);
            return sl_error_set(err, SL_ENOMEM, "cannot start the SQL worker threads", 0);
        }
        srv->n_sql_workers++;
    }
    return 0;
}

void sl_http_sql_stop(sl_server *srv)
{
    if (!srv->sql_workers)
        return;
    pthread_mutex_lock(&srv->sql_mu);
    srv->sql_stop = true;
    /* Queued queries are not started: answer them now. */
    sql_job *j = srv->sql_head;
    srv->sql_head = srv->sql_tail = NULL;
    srv->sql_queued = 0;
    pthread_cond_broadcast(&srv->sql_cv);
    pthread_mutex_unlock(&srv->sql_mu);
    while (j) {
        sql_job *next = j->next;
        sl_http_error(j->req, 503, "the server is shutting down");
        sl_http_wake(j->req);
        free(j);
        j = next;
    }
    for (size_t i = 0; i < srv->n_sql_workers; i++)
        pthread_join(srv->sql_workers[i], NULL);
    free(srv->sql_workers);
    srv->sql_workers = NULL;
    srv->n_sql_workers = 0;
}

void sl_http_sql(sl_http_req *r)
{
    sl_server *srv = r->srv;
    sl_str token = sl_http_token(r);
    if (!srv->cfg.tokens) {
        sl_http_error(r, 503, "the token store is not available");
        return;
    }
    sl_error err = {0};
    int rc = sl_tokens_check(srv->cfg.tokens, token, SL_ACTION_ADMIN, SL_STR_NULL, NULL, 0, &err);
    bool admin = rc == 0;
    if (rc == SL_EMISSING) {
        sl_http_authorize(r, SL_ACTION_ADMIN, SL_STR_NULL); /* answers the 403 */
        return;
    }
    sl_str q = sl_http_param(r, "q");
    if (!q.len && r->method == SL_M_POST && sl_http_body(r, &q) != 0)
        return;
    while (q.len &&
           (q.ptr[q.len - 1] == ' ' || q.ptr[q.len - 1] == '\n' || q.ptr[q.len - 1] == '\r' ||
            q.ptr[q.len - 1] == '\t' || q.ptr[q.len - 1] == ';'))
        q.len--;
    if (!q.len) {
        sl_http_error(r, 400, "missing query: GET /v0/sql?q=<SQL> or POST the SQL as the body");
        return;
    }
    if (q.len > MAX_SQL) {
        sl_http_error(r, 413, "query longer than %u bytes", MAX_SQL);
        return;
    }
    if (memchr(q.ptr, '\0', q.len)) {
        sl_http_error(r, 400, "the query contains a NUL byte");
        return;
    }
    if (srv->n_sql_workers == 0) {
        sl_http_error(r, 503, "the query engine is not available");
        return;
    }
    atomic_fetch_add_explicit(&srv->m.sql_queries, 1, memory_order_relaxed);
    sql_job *j = sl_xcalloc(1, sizeof(*j));
    j->req = r;
    j->q = q;
    j->token = token;
    j->admin = admin;
    pthread_mutex_lock(&srv->sql_mu);
    bool full = srv->sql_queued >= srv->cfg.sql_queue || srv->sql_stop;
    if (!full) {
        /* Park under the lock: a worker may take the job as soon as it is queued. */
        sl_http_park(r);
        if (srv->sql_tail)
            srv->sql_tail->next = j;
        else
            srv->sql_head = j;
        srv->sql_tail = j;
        srv->sql_queued++;
        pthread_cond_signal(&srv->sql_cv);
    }
    pthread_mutex_unlock(&srv->sql_mu);
    if (full) {
        free(j);
        sl_http_add_header(r, "Retry-After", "1");
        sl_http_error(r, 503, "too many queries waiting; retry later");
    }
}
