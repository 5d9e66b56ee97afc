/* `sluice sql QUERY`: runs a read-only query through /v0/sql (SPEC §7) and prints the result,
 * as a table made from the server's default JSON answer or, for any other format, unchanged. */
#include "cmd_client.h"
#include "cmd_table.h"
#include "sl_cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char sql_usage[] =
    "usage: sluice sql [options] QUERY\n"
    "\n"
    "Runs a read-only query (SELECT, SHOW, DESCRIBE, EXPLAIN) on the server (GET or POST\n"
    "/v0/sql) and prints the result. QUERY '-' reads the query from stdin.\n"
    "\n"
    "options:\n"
    "  --format F     table (default): an aligned table on stdout, then the row count and\n"
    "                 timing on stderr; json: the server's JSON answer unchanged; any other\n"
    "                 ClickHouse format (CSV, TSV, JSONEachRow, Pretty, ...) is added to the\n"
    "                 query as a FORMAT clause and its output printed unchanged. A query with\n"
    "                 its own FORMAT clause is always printed unchanged.\n"
    "\n"
    "exit status: 0 done, 1 the server refused the query or could not be reached, 2 bad usage.\n"
    "\n";

/* Queries longer than this (once escaped) go in a POST body rather than the URL. */
#define GET_MAX 4000

static bool ident_start(char ch)
{
    return isalpha((unsigned char)ch) || ch == '_';
}

static bool ident_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_';
}

/* True when the query has a `FORMAT name` clause outside strings, quoted names and comments
 * (`format(...)`, the function, does not count). */
static bool has_format_clause(const char *q, size_t n)
{
    size_t i = 0;
    while (i < n) {
        char ch = q[i];
        if (ch == '\'' || ch == '"' || ch == '`') {
            for (i++; i < n && q[i] != ch; i++)
                if (q[i] == '\\')
                    i++;
            i++;
        } else if (ch == '-' && i + 1 < n && q[i + 1] == '-') {
            while (i < n && q[i] != '\n')
                i++;
        } else if (ch == '/' && i + 1 < n && q[i + 1] == '*') {
            for (i += 2; i + 1 < n && !(q[i] == '*' && q[i + 1] == '/'); i++)
                ;
            i += 2;
        } else if (ident_start(ch)) {
            size_t s = i;
            while (i < n && ident_char(q[i]))
                i++;
            if (i - s == 6 && strncasecmp(q + s, "format", 6) == 0) {
                size_t j = i;
                while (j < n && isspace((unsigned char)q[j]))
                    j++;
                if (j > i && j < n && ident_start(q[j]))
                    return true;
            }
        } else {
            i++;
        }
    }
    return false;
}

static bool numeric_type(sl_str t)
{
    static const char *const wrappers[] = {"Nullable(", "LowCardinality("};
    for (bool again = true; again;) {
        again = false;
        for (size_t k = 0; k < 2; k++) {
            size_t n = strlen(wrappers[k]);
            if (t.len > n && memcmp(t.ptr, wrappers[k], n) == 0) {
                t.ptr += n;
                t.len -= n;
                again = true;
            }
        }
    }
    static const char *const prefixes[] = {"Int", "UInt", "Float", "Decimal"};
    for (size_t k = 0; k < 4; k++) {
        size_t n = strlen(prefixes[k]);
        if (t.len >= n && memcmp(t.ptr, prefixes[k], n) == 0)
            return true;
    }
    return false;
}

static void human_bytes(double b, char *out, size_t n)
{
    static const char *const units[] = {"B", "KB", "MB", "GB", "TB"};
    size_t u = 0;
    while (b >= 1000 && u < 4) {
        b /= 1000;
        u++;
    }
    snprintf(out, n, u ? "%.1f %s" : "%.0f %s", b, units[u]);
}

static double json_double(sl_str doc, const char *key)
{
    sl_json_value v;
    if (sl_client_json_member(doc, key, &v) != 1 || v.kind != SL_JSON_NUMBER)
        return 0;
    double d = 0;
    sl_json_number_to_double(&v, &d);
    return d;
}

/* Prints ClickHouse's JSON answer as a table. false if `body` is not that shape. */
static bool print_table(sl_str body)
{
    sl_json_value meta, data;
    if (sl_client_json_member(body, "meta", &meta) != 1 || meta.kind != SL_JSON_ARRAY ||
        sl_client_json_member(body, "data", &data) != 1 || data.kind != SL_JSON_ARRAY)
        return false;

    sl_json_cursor c;
    sl_json_value v;
    size_t n_cols = 0;
    sl_json_cursor_init(&c, meta.ptr, meta.len, NULL);
    sl_json_array_begin(&c);
    while (sl_json_array_next(&c) == 1 && sl_json_skip_value(&c) == 0)
        n_cols++;
    if (n_cols == 0)
        return false;

    sl_table t;
    sl_table_init(&t, n_cols);
    sl_buf cell;
    sl_buf_init(&cell, 0);
    size_t col = 0;
    sl_json_cursor_init(&c, meta.ptr, meta.len, NULL);
    sl_json_array_begin(&c);
    while (sl_json_array_next(&c) == 1 && sl_json_scan_value(&c, &v) == 0) {
        sl_json_value name, type;
        sl_str m = {v.ptr, v.len};
        cell.len = 0;
        if (sl_client_json_member(m, "name", &name) == 1)
            sl_client_json_text(&name, &cell);
        sl_table_add(&t, (const char *)cell.data, cell.len);
        if (sl_client_json_member(m, "type", &type) == 1 && type.kind == SL_JSON_STRING &&
            numeric_type((sl_str){type.ptr, type.len}))
            sl_table_align_right(&t, col);
        col++;
    }

    sl_json_cursor_init(&c, data.ptr, data.len, NULL);
    sl_json_array_begin(&c);
    while (sl_json_array_next(&c) == 1 && sl_json_scan_value(&c, &v) == 0) {
        /* Rows are objects (JSON) or arrays (JSONCompact); either way, values in column order. */
        sl_json_cursor r;
        sl_json_cursor_init(&r, v.ptr, v.len, NULL);
        size_t k = 0;
        sl_json_value key, x;
        if (v.kind == SL_JSON_OBJECT) {
            sl_json_object_begin(&r);
            while (sl_json_object_next(&r, &key) == 1 && sl_json_scan_value(&r, &x) == 0) {
                if (k++ >= n_cols)
                    continue;
                cell.len = 0;
                sl_client_json_text(&x, &cell);
                sl_table_add(&t, (const char *)cell.data, cell.len);
            }
        } else if (v.kind == SL_JSON_ARRAY) {
            sl_json_array_begin(&r);
            while (sl_json_array_next(&r) == 1 && sl_json_scan_value(&r, &x) == 0) {
                if (k++ >= n_cols)
                    continue;
                cell.len = 0;
                sl_client_json_text(&x, &cell);
                sl_table_add(&t, (const char *)cell.data, cell.len);
            }
        }
        for (; k < n_cols; k++)
            sl_table_add(&t, "", 0);
    }
    sl_buf_free(&cell);
    sl_table_print(&t, stdout, isatty(STDOUT_FILENO) ? 80 : 0);
    fflush(stdout);

    uint64_t rows = sl_client_json_u64(body, "rows");
    if (rows == 0)
        rows = sl_table_rows(&t);
    sl_table_free(&t);
    sl_json_value stats;
    fprintf(stderr, "%llu row%s", (unsigned long long)rows, rows == 1 ? "" : "s");
    if (sl_client_json_member(body, "statistics", &stats) == 1 && stats.kind == SL_JSON_OBJECT) {
        sl_str s = {stats.ptr, stats.len};
        char bytes[32];
        human_bytes((double)sl_client_json_u64(s, "bytes_read"), bytes, sizeof(bytes));
        uint64_t read = sl_client_json_u64(s, "rows_read");
        fprintf(stderr, " in %.3f s (read %llu row%s, %s)", json_double(s, "elapsed"),
                (unsigned long long)read, read == 1 ? "" : "s", bytes);
    }
    fputc('\n', stderr);
    return true;
}

static int read_stdin(sl_buf *out)
{
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), stdin)) > 0)
        if (sl_buf_append(out, tmp, n) != 0)
            return -1;
    return ferror(stdin) ? -1 : 0;
}

int sl_cmd_sql(int argc, char **argv)
{
    sl_client cl;
    sl_client_init(&cl, "sluice sql");
    const char *query = NULL, *format = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            printf("%s%s", sql_usage, sl_client_options_help);
            return SL_EXIT_OK;
        }
        if ((rc = sl_client_parse_option(&cl, argc, argv, &i)) != 0 ||
            (rc = sl_cli_opt_value(cl.prog, argc, argv, &i, "--format", &format)) != 0) {
            if (rc < 0)
                return SL_EXIT_USAGE;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "sluice sql: unknown option '%s'\n\n%s", a, sql_usage);
            return SL_EXIT_USAGE;
        } else if (query) {
            fprintf(stderr, "sluice sql: one QUERY only (quote it)\n\n%s", sql_usage);
            return SL_EXIT_USAGE;
        } else {
            query = a;
        }
    }
    if (!query) {
        fprintf(stderr, "sluice sql: needs a QUERY\n\n%s", sql_usage);
        return SL_EXIT_USAGE;
    }
    bool table = !format || strcasecmp(format, "table") == 0;
    bool clause = format && !table && strcasecmp(format, "json") != 0;
    if (clause) {
        for (const char *p = format; *p; p++)
            if (!ident_char(*p)) {
                fprintf(stderr, "sluice sql: --format: '%s' is not a format name\n", format);
                return SL_EXIT_USAGE;
            }
    }

    sl_buf q;
    sl_buf_init(&q, 64u << 20);
    if (strcmp(query, "-") == 0) {
        if (read_stdin(&q) != 0) {
            fprintf(stderr, "sluice sql: cannot read the query from stdin: %s\n", strerror(errno));
            sl_buf_free(&q);
            return SL_EXIT_USAGE;
        }
    } else {
        sl_buf_append_cstr(&q, query);
    }
    /* Trailing blanks and ';' would end up before an added FORMAT clause. */
    while (q.len && (isspace(q.data[q.len - 1]) || q.data[q.len - 1] == ';'))
        q.len--;
    if (q.len == 0) {
        fprintf(stderr, "sluice sql: the query is empty\n");
        sl_buf_free(&q);
        return SL_EXIT_USAGE;
    }
    bool own_format = has_format_clause((const char *)q.data, q.len);
    if (clause && own_format) {
        fprintf(stderr, "sluice sql: the query has a FORMAT clause already; drop --format\n");
        sl_buf_free(&q);
        return SL_EXIT_USAGE;
    }
    if (clause)
        sl_buf_printf(&q, "\nFORMAT %s", format);
    table = table && !own_format;
    if (sl_buf_append(&q, "", 1) != 0) { /* NUL for the escaper */
        fprintf(stderr, "sluice sql: the query is too long\n");
        sl_buf_free(&q);
        return SL_EXIT_USAGE;
    }

    int status = sl_client_connect(&cl);
    if (status) {
        sl_buf_free(&q);
        sl_client_free(&cl);
        return status;
    }
    char *esc = sl_client_escape((const char *)q.data);
    size_t path_len = strlen(esc) + 16;
    char *path = sl_xmalloc(path_len);
    sl_client_call call = {.method = "GET", .path = path};
    if (strlen(esc) <= GET_MAX) {
        snprintf(path, path_len, "/v0/sql?q=%s", esc);
    } else {
        snprintf(path, path_len, "/v0/sql");
        call.method = "POST";
        call.body = q.data;
        call.body_len = q.len - 1;
        call.content_type = "text/plain; charset=utf-8";
    }
    if (!table)
        call.stream = stdout;

    sl_client_resp resp;
    int rc = sl_client_do(&cl, &call, &resp);
    if (rc != 0 || resp.status < 200 || resp.status >= 300) {
        sl_client_report(&cl, &resp, NULL);
        status = SL_EXIT_FAIL;
    } else if (table) {
        sl_str body = {(const char *)resp.body.data, resp.body.len};
        if (!print_table(body))
            fwrite(body.ptr ? body.ptr : "", 1, body.len, stdout);
    }
    if (fflush(stdout) != 0 && status == 0) {
        fprintf(stderr, "sluice sql: cannot write the result: %s\n", strerror(errno));
        status = SL_EXIT_FAIL;
    }
    sl_client_resp_free(&resp);
    free(esc);
    free(path);
    sl_buf_free(&q);
    sl_client_free(&cl);
    return status;
}
