/* `sluice datasource ls|push|pull|rm|truncate|infer`: manages data sources on a running server
 * through /v0/datasources (SPEC §3); `infer` runs offline (cmd_infer.c). */
#include "cmd_client.h"
#include "cmd_table.h"
#include "sl_cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char ds_usage[] =
    "usage: sluice datasource <subcommand> [options]\n"
    "\n"
    "subcommands:\n"
    "  ls                        list the data sources the token may read\n"
    "  push FILE.datasource      create a data source from a .datasource file\n"
    "  pull NAME [-o FILE]       print a data source's .datasource file (or write it to FILE)\n"
    "  rm NAME [--yes]           delete a data source, its quarantine and all their rows\n"
    "  truncate NAME [--yes]     delete every row of a data source and its quarantine\n"
    "  infer FILE.ndjson         print the .datasource auto-create would make (offline)\n"
    "\n"
    "Run 'sluice datasource <subcommand> --help' for its options.\n";

static const char ls_usage[] = "usage: sluice datasource ls [options]\n"
                               "\n"
                               "Lists the data sources the token may read (GET /v0/datasources):\n"
                               "name, number of columns, engine and sorting key.\n"
                               "\n"
                               "options:\n"
                               "  --json         print the server's JSON answer unchanged\n"
                               "\n";

static const char push_usage[] =
    "usage: sluice datasource push [options] FILE.datasource\n"
    "\n"
    "Creates a data source from FILE (POST /v0/datasources?name=NAME with the file as the body).\n"
    "Pushing the same schema again is a no-op; a different schema for an existing name is refused\n"
    "(rm it first). Tokens named by TOKEN lines are created and printed, once.\n"
    "\n"
    "options:\n"
    "  --name NAME    the data source's name (default: FILE's name without .datasource)\n"
    "  --json         print the server's JSON answer unchanged\n"
    "\n";

static const char pull_usage[] =
    "usage: sluice datasource pull [options] NAME\n"
    "\n"
    "Prints the .datasource file of NAME (GET /v0/datasources/NAME.datasource).\n"
    "\n"
    "options:\n"
    "  -o, --output FILE  write it to FILE instead of stdout\n"
    "\n";

static const char rm_usage[] =
    "usage: sluice datasource rm [options] NAME\n"
    "\n"
    "Deletes data source NAME, its quarantine table and all their rows (DELETE\n"
    "/v0/datasources/NAME). Asks first on a terminal; elsewhere --yes is required.\n"
    "\n"
    "options:\n"
    "  -y, --yes      do not ask\n"
    "\n";

static const char truncate_usage[] =
    "usage: sluice datasource truncate [options] NAME\n"
    "\n"
    "Deletes every row of data source NAME and of its quarantine, keeping the schema (POST\n"
    "/v0/datasources/NAME/truncate). Asks first on a terminal; elsewhere --yes is required.\n"
    "\n"
    "options:\n"
    "  -y, --yes      do not ask\n"
    "\n";

typedef struct {
    const char *usage;
    const char *prog;
    bool json, yes;
    const char *name_opt, *output;
    const char *arg; /* the one positional argument */
    bool arg_needed;
} ds_args;

/* Parses a subcommand's arguments. -1: exit with *status. */
static int parse(sl_client *cl, ds_args *a, int argc, char **argv, int *status)
{
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        int rc;
        if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
            printf("%s%s", a->usage, sl_client_options_help);
            *status = SL_EXIT_OK;
            return -1;
        }
        if (strcmp(s, "--json") == 0 && (a->usage == ls_usage || a->usage == push_usage)) {
            a->json = true;
        } else if ((strcmp(s, "--yes") == 0 || strcmp(s, "-y") == 0) &&
                   (a->usage == rm_usage || a->usage == truncate_usage)) {
            a->yes = true;
        } else if ((rc = sl_client_parse_option(cl, argc, argv, &i)) != 0) {
            if (rc < 0)
                goto usage;
        } else if (a->usage == push_usage &&
                   (rc = sl_cli_opt_value(a->prog, argc, argv, &i, "--name", &a->name_opt)) != 0) {
            if (rc < 0)
                goto usage;
        } else if (a->usage == pull_usage &&
                   ((rc = sl_cli_opt_value(a->prog, argc, argv, &i, "--output", &a->output)) != 0 ||
                    (rc = sl_cli_opt_value(a->prog, argc, argv, &i, "-o", &a->output)) != 0)) {
            if (rc < 0)
                goto usage;
        } else if (s[0] == '-' && s[1] != '\0') {
            fprintf(stderr, "%s: unknown option '%s'\n\n%s", a->prog, s, a->usage);
            goto usage;
        } else if (a->arg || !a->arg_needed) {
            fprintf(stderr, "%s: too many arguments\n\n%s", a->prog, a->usage);
            goto usage;
        } else {
            a->arg = s;
        }
    }
    if (a->arg_needed && (!a->arg || !*a->arg)) {
        fprintf(stderr, "%s: missing argument\n\n%s", a->prog, a->usage);
        goto usage;
    }
    return 0;
usage:
    *status = SL_EXIT_USAGE;
    return -1;
}

/* One request; prints the failure. 0 on a 2xx answer. */
static int call(sl_client *cl, const sl_client_call *c, sl_client_resp *resp)
{
    if (sl_client_do(cl, c, resp) == 0 && resp->status >= 200 && resp->status < 300)
        return 0;
    sl_client_report(cl, resp, NULL);
    return -1;
}

static sl_str body_of(const sl_client_resp *r)
{
    return (sl_str){(const char *)r->body.data, r->body.len};
}

static void add_member(sl_table *t, sl_str obj, const char *key, sl_buf *tmp)
{
    sl_json_value v;
    tmp->len = 0;
    if (sl_client_json_member(obj, key, &v) == 1 && v.kind != SL_JSON_NULL)
        sl_client_json_text(&v, tmp);
    sl_table_add(t, (const char *)tmp->data, tmp->len);
}

static size_t count_elements(sl_json_value arr)
{
    size_t n = 0;
    sl_json_cursor c;
    sl_json_cursor_init(&c, arr.ptr, arr.len, NULL);
    if (sl_json_array_begin(&c) != 0)
        return 0;
    while (sl_json_array_next(&c) == 1 && sl_json_skip_value(&c) == 0)
        n++;
    return n;
}

static int do_ls(sl_client *cl, const ds_args *a)
{
    sl_client_call c = {.method = "GET", .path = "/v0/datasources"};
    sl_client_resp resp;
    int status = SL_EXIT_FAIL;
    if (call(cl, &c, &resp) != 0)
        goto done;
    sl_str body = body_of(&resp);
    sl_json_value list;
    if (a->json || sl_client_json_member(body, "datasources", &list) != 1 ||
        list.kind != SL_JSON_ARRAY) {
        fwrite(body.ptr ? body.ptr : "", 1, body.len, stdout);
        if (body.len && body.ptr[body.len - 1] != '\n')
            fputc('\n', stdout);
        status = SL_EXIT_OK;
        goto done;
    }
    sl_table t;
    sl_table_init(&t, 4);
    sl_table_add_cstr(&t, "name");
    sl_table_add_cstr(&t, "columns");
    sl_table_add_cstr(&t, "engine");
    sl_table_add_cstr(&t, "sorting key");
    sl_table_align_right(&t, 1);
    sl_buf tmp;
    sl_buf_init(&tmp, 0);
    sl_json_cursor cur;
    sl_json_value ds;
    sl_json_cursor_init(&cur, list.ptr, list.len, NULL);
    sl_json_array_begin(&cur);
    while (sl_json_array_next(&cur) == 1 && sl_json_scan_value(&cur, &ds) == 0) {
        sl_str o = {ds.ptr, ds.len};
        sl_json_value cols, eng;
        add_member(&t, o, "name", &tmp);
        tmp.len = 0;
        if (sl_client_json_member(o, "columns", &cols) == 1 && cols.kind == SL_JSON_ARRAY)
            sl_buf_printf(&tmp, "%zu", count_elements(cols));
        sl_table_add(&t, (const char *)tmp.data, tmp.len);
        if (sl_client_json_member(o, "engine", &eng) == 1 && eng.kind == SL_JSON_OBJECT) {
            sl_str e = {eng.ptr, eng.len};
            add_member(&t, e, "engine", &tmp);
            add_member(&t, e, "sorting_key", &tmp);
        } else {
            add_member(&t, o, "engine", &tmp);
            add_member(&t, o, "sorting_key", &tmp);
        }
    }
    if (sl_table_rows(&t) == 0)
        fprintf(stderr, "no data sources (create one with 'sluice datasource push FILE' or by "
                        "sending events)\n");
    else
        sl_table_print(&t, stdout, isatty(STDOUT_FILENO) ? 60 : 0);
    sl_buf_free(&tmp);
    sl_table_free(&t);
    status = SL_EXIT_OK;
done:
    sl_client_resp_free(&resp);
    return status;
}

static int do_push(sl_client *cl, const ds_args *a)
{
    char name[256];
    if (a->name_opt) {
        snprintf(name, sizeof(name), "%s", a->name_opt);
    } else {
        const char *base = strrchr(a->arg, '/');
        base = base ? base + 1 : a->arg;
        size_t n = strlen(base);
        if (n > 11 && strcmp(base + n - 11, ".datasource") == 0)
            n -= 11;
        snprintf(name, sizeof(name), "%.*s", (int)n, base);
    }
    if (!name[0]) {
        fprintf(stderr, "%s: cannot tell the name from '%s': pass --name\n", a->prog, a->arg);
        return SL_EXIT_USAGE;
    }
    sl_buf text;
    sl_buf_init(&text, 16u << 20);
    if (sl_cli_read_file(a->arg, &text) != 0) {
        fprintf(stderr, "%s: cannot read %s: %s\n", a->prog, a->arg, strerror(errno));
        sl_buf_free(&text);
        return SL_EXIT_USAGE;
    }
    char *esc = sl_client_escape(name);
    size_t n = strlen(esc) + 32;
    char *path = sl_xmalloc(n);
    snprintf(path, n, "/v0/datasources?name=%s", esc);
    sl_client_call c = {.method = "POST",
                        .path = path,
                        .body = text.data,
                        .body_len = text.len,
                        .content_type = "text/plain; charset=utf-8"};
    sl_client_resp resp;
    int status = SL_EXIT_FAIL;
    if (call(cl, &c, &resp) != 0)
        goto done;
    status = SL_EXIT_OK;
    sl_str body = body_of(&resp);
    if (a->json) {
        fwrite(body.ptr ? body.ptr : "", 1, body.len, stdout);
        if (body.len && body.ptr[body.len - 1] != '\n')
            fputc('\n', stdout);
        goto done;
    }
    sl_json_value created, ds, cols, toks;
    bool is_new =
        sl_client_json_member(body, "created", &created) != 1 || created.kind != SL_JSON_FALSE;
    size_t n_cols = 0;
    if (sl_client_json_member(body, "datasource", &ds) == 1 && ds.kind == SL_JSON_OBJECT &&
        sl_client_json_member((sl_str){ds.ptr, ds.len}, "columns", &cols) == 1)
        n_cols = count_elements(cols);
    if (is_new)
        printf("created data source '%s' (%zu column%s)\n", name, n_cols, n_cols == 1 ? "" : "s");
    else
        printf("data source '%s' exists with this schema already: nothing to do\n", name);
    if (sl_client_json_member(body, "tokens", &toks) == 1 && toks.kind == SL_JSON_ARRAY) {
        sl_json_cursor cur;
        sl_json_value t;
        sl_buf tn, ts;
        sl_buf_init(&tn, 0);
        sl_buf_init(&ts, 0);
        sl_json_cursor_init(&cur, toks.ptr, toks.len, NULL);
        sl_json_array_begin(&cur);
        while (sl_json_array_next(&cur) == 1 && sl_json_scan_value(&cur, &t) == 0) {
            sl_json_value tname, tsecret;
            sl_str o = {t.ptr, t.len};
            tn.len = ts.len = 0;
            if (sl_client_json_member(o, "name", &tname) == 1)
                sl_client_json_text(&tname, &tn);
            if (sl_client_json_member(o, "token", &tsecret) == 1)
                sl_client_json_text(&tsecret, &ts);
            printf("token '%.*s': %.*s\n", (int)tn.len, (const char *)tn.data, (int)ts.len,
                   (const char *)ts.data);
        }
        sl_buf_free(&tn);
        sl_buf_free(&ts);
    }
done:
    sl_client_resp_free(&resp);
    free(esc);
    free(path);
    sl_buf_free(&text);
    return status;
}

static int do_pull(sl_client *cl, const ds_args *a)
{
    char *esc = sl_client_escape(a->arg);
    size_t n = strlen(esc) + 48;
    char *path = sl_xmalloc(n);
    snprintf(path, n, "/v0/datasources/%s.datasource", esc);
    sl_client_call c = {.method = "GET", .path = path};
    sl_client_resp resp;
    int status = SL_EXIT_FAIL;
    if (call(cl, &c, &resp) != 0)
        goto done;
    /* Written only once the whole file is in, so a failure leaves no half file behind. */
    FILE *out = a->output ? fopen(a->output, "wb") : stdout;
    if (!out) {
        fprintf(stderr, "%s: cannot write %s: %s\n", a->prog, a->output, strerror(errno));
        status = SL_EXIT_USAGE;
        goto done;
    }
    bool ok = resp.body.len == 0 || fwrite(resp.body.data, 1, resp.body.len, out) == resp.body.len;
    ok = (out == stdout ? fflush(out) == 0 : fclose(out) == 0) && ok;
    if (!ok) {
        fprintf(stderr, "%s: cannot write %s: %s\n", a->prog, a->output ? a->output : "stdout",
                strerror(errno));
        goto done;
    }
    if (a->output)
        fprintf(stderr, "wrote %s\n", a->output);
    status = SL_EXIT_OK;
done:
    sl_client_resp_free(&resp);
    free(esc);
    free(path);
    return status;
}

static int do_drop(sl_client *cl, const ds_args *a, bool drop)
{
    if (!a->yes) {
        char q[512];
        snprintf(q, sizeof(q), "%s data source '%s' at %s?",
                 drop ? "Delete" : "Delete every row of", a->arg, cl->host);
        if (!isatty(STDIN_FILENO)) {
            fprintf(stderr, "%s: this deletes data; pass --yes to confirm\n", a->prog);
            return SL_EXIT_USAGE;
        }
        if (!sl_cli_confirm(q)) {
            fprintf(stderr, "%s: nothing done\n", a->prog);
            return SL_EXIT_FAIL;
        }
    }
    char *esc = sl_client_escape(a->arg);
    size_t n = strlen(esc) + 48;
    char *path = sl_xmalloc(n);
    snprintf(path, n, "/v0/datasources/%s%s", esc, drop ? "" : "/truncate");
    sl_client_call c = {.method = drop ? "DELETE" : "POST", .path = path};
    sl_client_resp resp;
    int status = SL_EXIT_FAIL;
    if (call(cl, &c, &resp) == 0) {
        printf("%s data source '%s'\n", drop ? "deleted" : "truncated", a->arg);
        status = SL_EXIT_OK;
    }
    sl_client_resp_free(&resp);
    free(esc);
    free(path);
    return status;
}

int sl_cmd_datasource(int argc, char **argv)
{
    if (argc < 2) {
        fputs(ds_usage, stderr);
        return SL_EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0) {
        fputs(ds_usage, stdout);
        return SL_EXIT_OK;
    }
    if (strcmp(sub, "infer") == 0)
        return sl_cmd_datasource_infer(argc - 1, argv + 1);

    ds_args a = {0};
    enum { LS, PUSH, PULL, RM, TRUNCATE } op;
    if (strcmp(sub, "ls") == 0 || strcmp(sub, "list") == 0) {
        op = LS;
        a.usage = ls_usage;
        a.prog = "sluice datasource ls";
    } else if (strcmp(sub, "push") == 0) {
        op = PUSH;
        a.usage = push_usage;
        a.prog = "sluice datasource push";
    } else if (strcmp(sub, "pull") == 0) {
        op = PULL;
        a.usage = pull_usage;
        a.prog = "sluice datasource pull";
    } else if (strcmp(sub, "rm") == 0) {
        op = RM;
        a.usage = rm_usage;
        a.prog = "sluice datasource rm";
    } else if (strcmp(sub, "truncate") == 0) {
        op = TRUNCATE;
        a.usage = truncate_usage;
        a.prog = "sluice datasource truncate";
    } else {
        fprintf(stderr, "sluice datasource: unknown subcommand '%s'\n\n%s", sub, ds_usage);
        return SL_EXIT_USAGE;
    }
    a.arg_needed = op != LS;

    sl_client cl;
    sl_client_init(&cl, a.prog);
    int status;
    if (parse(&cl, &a, argc - 1, argv + 1, &status) != 0)
        return status;
    if ((status = sl_client_connect(&cl)) != 0) {
        sl_client_free(&cl);
        return status;
    }
    switch (op) {
    case LS: status = do_ls(&cl, &a); break;
    case PUSH: status = do_push(&cl, &a); break;
    case PULL: status = do_pull(&cl, &a); break;
    case RM: status = do_drop(&cl, &a, true); break;
    case TRUNCATE: status = do_drop(&cl, &a, false); break;
    }
    sl_client_free(&cl);
    return status;
}
