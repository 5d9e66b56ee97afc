/* `sluice token ls|create|rm`: manages API tokens on a running server through /v0/tokens
 * (SPEC §8). Secrets are shown once, by create. */
#include "cmd_client.h"
#include "cmd_table.h"
#include "sl_cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char token_usage[] =
    "usage: sluice token <subcommand> [options]\n"
    "\n"
    "subcommands:\n"
    "  ls                               list tokens and their scopes (never the secrets)\n"
    "  create NAME --scope S [--scope S...]\n"
    "                                   create a token and print its secret, once\n"
    "  rm NAME                          delete a token\n"
    "\n"
    "Scopes: ADMIN, TOKENS, DATASOURCES:CREATE, DATASOURCES:APPEND:<ds>, DATASOURCES:READ:<ds>,\n"
    "DATASOURCES:DROP:<ds>. Run 'sluice token <subcommand> --help' for its options.\n";

static const char ls_usage[] = "usage: sluice token ls [options]\n"
                               "\n"
                               "Lists the tokens and their scopes (GET /v0/tokens).\n"
                               "\n"
                               "options:\n"
                               "  --json         print the server's JSON answer unchanged\n"
                               "\n";

static const char create_usage[] =
    "usage: sluice token create [options] NAME --scope S [--scope S...]\n"
    "\n"
    "Creates token NAME with the given scopes (POST /v0/tokens?name=NAME&scope=S...) and prints\n"
    "its secret alone on stdout, so 'T=$(sluice token create ...)' works. The secret is shown\n"
    "only this once.\n"
    "\n"
    "options:\n"
    "  --scope S      a scope: ADMIN, TOKENS, DATASOURCES:CREATE, DATASOURCES:APPEND:<ds>,\n"
    "                 DATASOURCES:READ:<ds> or DATASOURCES:DROP:<ds> (repeat for more)\n"
    "  --json         print the server's JSON answer unchanged\n"
    "\n";

static const char rm_usage[] = "usage: sluice token rm [options] NAME\n"
                               "\n"
                               "Deletes token NAME (DELETE /v0/tokens/NAME).\n"
                               "\n"
                               "options:\n"
                               "\n";

#define MAX_SCOPES 64

static int call(sl_client *cl, const sl_client_call *c, sl_client_resp *resp)
{
    if (sl_client_do(cl, c, resp) == 0 && resp->status >= 200 && resp->status < 300)
        return 0;
    sl_client_report(cl, resp, NULL);
    return -1;
}

static void print_raw(const sl_client_resp *resp)
{
    fwrite(resp->body.data ? (const char *)resp->body.data : "", 1, resp->body.len, stdout);
    if (resp->body.len && resp->body.data[resp->body.len - 1] != '\n')
        fputc('\n', stdout);
}

/* Joins the strings of a JSON array with ", ". */
static void join_array(sl_json_value arr, sl_buf *out)
{
    sl_json_cursor c;
    sl_json_value v;
    sl_json_cursor_init(&c, arr.ptr, arr.len, NULL);
    if (sl_json_array_begin(&c) != 0)
        return;
    bool first = true;
    while (sl_json_array_next(&c) == 1 && sl_json_scan_value(&c, &v) == 0) {
        if (!first)
            sl_buf_append_cstr(out, ", ");
        first = false;
        sl_client_json_text(&v, out);
    }
}

static int do_ls(sl_client *cl, bool json)
{
    sl_client_call c = {.method = "GET", .path = "/v0/tokens"};
    sl_client_resp resp;
    int status = SL_EXIT_FAIL;
    if (call(cl, &c, &resp) != 0)
        goto done;
    status = SL_EXIT_OK;
    sl_str body = {(const char *)resp.body.data, resp.body.len};
    sl_json_value list;
    if (json || sl_client_json_member(body, "tokens", &list) != 1 || list.kind != SL_JSON_ARRAY) {
        print_raw(&resp);
        goto done;
    }
    sl_table t;
    sl_table_init(&t, 2);
    sl_table_add_cstr(&t, "name");
    sl_table_add_cstr(&t, "scopes");
    sl_buf tmp;
    sl_buf_init(&tmp, 0);
    sl_json_cursor cur;
    sl_json_value tok, v;
    sl_json_cursor_init(&cur, list.ptr, list.len, NULL);
    sl_json_array_begin(&cur);
    while (sl_json_array_next(&cur) == 1 && sl_json_scan_value(&cur, &tok) == 0) {
        sl_str o = {tok.ptr, tok.len};
        tmp.len = 0;
        if (sl_client_json_member(o, "name", &v) == 1)
            sl_client_json_text(&v, &tmp);
        sl_table_add(&t, (const char *)tmp.data, tmp.len);
        tmp.len = 0;
        if (sl_client_json_member(o, "scopes", &v) == 1 && v.kind == SL_JSON_ARRAY)
            join_array(v, &tmp);
        sl_table_add(&t, (const char *)tmp.data, tmp.len);
    }
    if (sl_table_rows(&t) == 0)
        fprintf(stderr, "no tokens\n");
    else
        sl_table_print(&t, stdout, isatty(STDOUT_FILENO) ? 100 : 0);
    sl_buf_free(&tmp);
    sl_table_free(&t);
done:
    sl_client_resp_free(&resp);
    return status;
}

static int do_create(sl_client *cl, const char *name, const char **scopes, size_t n_scopes,
                     bool json)
{
    sl_buf path;
    sl_buf_init(&path, 0);
    char *esc = sl_client_escape(name);
    sl_buf_printf(&path, "/v0/tokens?name=%s", esc);
    free(esc);
    for (size_t i = 0; i < n_scopes; i++) {
        esc = sl_client_escape(scopes[i]);
        sl_buf_printf(&path, "&scope=%s", esc);
        free(esc);
    }
    if (sl_buf_append(&path, "", 1) != 0)
        sl_fatal("token: out of memory");
    sl_client_call c = {.method = "POST", .path = (const char *)path.data};
    sl_client_resp resp;
    int status = SL_EXIT_FAIL;
    if (call(cl, &c, &resp) != 0)
        goto done;
    status = SL_EXIT_OK;
    sl_str body = {(const char *)resp.body.data, resp.body.len};
    sl_json_value secret, sc;
    if (json || sl_client_json_member(body, "token", &secret) != 1 ||
        secret.kind != SL_JSON_STRING) {
        print_raw(&resp);
        goto done;
    }
    sl_buf tmp;
    sl_buf_init(&tmp, 0);
    sl_client_json_text(&secret, &tmp);
    printf("%.*s\n", (int)tmp.len, (const char *)tmp.data);
    tmp.len = 0;
    if (sl_client_json_member(body, "scopes", &sc) == 1 && sc.kind == SL_JSON_ARRAY)
        join_array(sc, &tmp);
    fprintf(stderr, "created token '%s' with scopes %.*s; its secret is shown only now\n", name,
            (int)tmp.len, (const char *)tmp.data);
    sl_buf_free(&tmp);
done:
    sl_client_resp_free(&resp);
    sl_buf_free(&path);
    return status;
}

static int do_rm(sl_client *cl, const char *name)
{
    char *esc = sl_client_escape(name);
    size_t n = strlen(esc) + 16;
    char *path = sl_xmalloc(n);
    snprintf(path, n, "/v0/tokens/%s", esc);
    sl_client_call c = {.method = "DELETE", .path = path};
    sl_client_resp resp;
    int status = SL_EXIT_FAIL;
    if (call(cl, &c, &resp) == 0) {
        printf("deleted token '%s'\n", name);
        status = SL_EXIT_OK;
    }
    sl_client_resp_free(&resp);
    free(esc);
    free(path);
    return status;
}

int sl_cmd_token(int argc, char **argv)
{
    if (argc < 2) {
        fputs(token_usage, stderr);
        return SL_EXIT_USAGE;
    }
    const char *sub = argv[1], *usage, *prog;
    if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0) {
        fputs(token_usage, stdout);
        return SL_EXIT_OK;
    }
    enum { LS, CREATE, RM } op;
    if (strcmp(sub, "ls") == 0 || strcmp(sub, "list") == 0) {
        op = LS;
        usage = ls_usage;
        prog = "sluice token ls";
    } else if (strcmp(sub, "create") == 0) {
        op = CREATE;
        usage = create_usage;
        prog = "sluice token create";
    } else if (strcmp(sub, "rm") == 0) {
        op = RM;
        usage = rm_usage;
        prog = "sluice token rm";
    } else {
        fprintf(stderr, "sluice token: unknown subcommand '%s'\n\n%s", sub, token_usage);
        return SL_EXIT_USAGE;
    }

    sl_client cl;
    sl_client_init(&cl, prog);
    const char *name = NULL, *scopes[MAX_SCOPES];
    size_t n_scopes = 0;
    bool json = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v;
        int rc;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            printf("%s%s", usage, sl_client_options_help);
            return SL_EXIT_OK;
        } else if (strcmp(a, "--json") == 0 && op != RM) {
            json = true;
        } else if ((rc = sl_client_parse_option(&cl, argc, argv, &i)) != 0) {
            if (rc < 0)
                return SL_EXIT_USAGE;
        } else if (op == CREATE && (rc = sl_cli_opt_value(prog, argc, argv, &i, "--scope", &v))) {
            if (rc < 0)
                return SL_EXIT_USAGE;
            if (n_scopes == MAX_SCOPES) {
                fprintf(stderr, "%s: at most %d scopes\n", prog, MAX_SCOPES);
                return SL_EXIT_USAGE;
            }
            scopes[n_scopes++] = v;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "%s: unknown option '%s'\n\n%s", prog, a, usage);
            return SL_EXIT_USAGE;
        } else if (op == LS || name) {
            fprintf(stderr, "%s: too many arguments\n\n%s", prog, usage);
            return SL_EXIT_USAGE;
        } else {
            name = a;
        }
    }
    if (op != LS && (!name || !*name)) {
        fprintf(stderr, "%s: needs a token NAME\n\n%s", prog, usage);
        return SL_EXIT_USAGE;
    }
    if (op == CREATE && n_scopes == 0) {
        fprintf(stderr, "%s: needs at least one --scope\n\n%s", prog, usage);
        return SL_EXIT_USAGE;
    }
    int status = sl_client_connect(&cl);
    if (status == 0) {
        switch (op) {
        case LS: status = do_ls(&cl, json); break;
        case CREATE: status = do_create(&cl, name, scopes, n_scopes, json); break;
        case RM: status = do_rm(&cl, name); break;
        }
    }
    sl_client_free(&cl);
    return status;
}
