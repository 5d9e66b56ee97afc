/* `sluice datasource infer FILE`: prints the .datasource file that auto-create would make from
 * the rows of FILE (docs/inference.md). Offline: no server, no ClickHouse. */
#include "sl_cli.h"
#include "sl_infer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char infer_usage[] =
    "usage: sluice datasource infer [options] FILE.ndjson\n"
    "\n"
    "Prints the .datasource file sluice would create for FILE's rows when an event arrives for\n"
    "an unknown data source (NDJSON, one JSON object, or an array of objects; '-' reads stdin).\n"
    "Lines that are not JSON objects are skipped. A summary goes to stderr.\n"
    "\n"
    "options:\n"
    "  --rows N      infer from the first N rows (default 10000, as the server does)\n"
    "  --columns N   create at most N columns (default 500; at most 10000)\n"
    "  -q, --quiet   no summary on stderr\n"
    "  -h, --help    show this help\n"
    "\n"
    "Only the first 256 MiB of FILE are read. Rules: docs/inference.md.\n"
    "exit status: 0 printed, 2 bad usage, unreadable file or no JSON object in it.\n";

#define READ_LIMIT (256u << 20)

/* Reads up to READ_LIMIT bytes; *cut tells whether the file had more (the tail is then dropped
 * back to the last newline so no row is cut in two). */
static int read_input(const char *path, sl_buf *out, bool *cut)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return -1;
    char tmp[65536];
    size_t n;
    *cut = false;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) {
        size_t room = READ_LIMIT - out->len;
        if (n > room) {
            n = room;
            *cut = true;
        }
        if (sl_buf_append(out, tmp, n) != 0) {
            if (f != stdin)
                fclose(f);
            errno = ENOMEM;
            return -1;
        }
        if (*cut)
            break;
    }
    int bad = ferror(f);
    if (f != stdin)
        fclose(f);
    if (*cut) {
        while (out->len && out->data[out->len - 1] != '\n')
            out->len--;
    }
    return bad ? -1 : 0;
}

static int parse_count(const char *opt, const char *v, size_t *out)
{
    char *endp;
    errno = 0;
    unsigned long long n = strtoull(v, &endp, 10);
    if (errno || *endp || n == 0 || v[0] == '-') {
        fprintf(stderr, "sluice datasource infer: %s needs a number > 0, got '%s'\n", opt, v);
        return -1;
    }
    *out = (size_t)n;
    return 0;
}

int sl_cmd_datasource_infer(int argc, char **argv)
{
    const char *path = NULL;
    sl_infer_options opt = {0};
    bool quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(infer_usage, stdout);
            return 0;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            quiet = true;
        } else if (strcmp(a, "--rows") == 0 || strcmp(a, "--columns") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "sluice datasource infer: %s needs a value\n", a);
                return 2;
            }
            if (parse_count(a, argv[i + 1], a[2] == 'r' ? &opt.max_rows : &opt.max_columns))
                return 2;
            i++;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "sluice datasource infer: unknown option '%s'\n\n%s", a, infer_usage);
            return 2;
        } else if (path) {
            fprintf(stderr, "sluice datasource infer: one FILE only\n\n%s", infer_usage);
            return 2;
        } else {
            path = a;
        }
    }
    if (!path) {
        fputs(infer_usage, stderr);
        return 2;
    }

    sl_buf body, out;
    sl_buf_init(&body, 0);
    sl_buf_init(&out, 0);
    bool cut = false;
    int status = 2;
    if (read_input(path, &body, &cut) != 0) {
        fprintf(stderr, "sluice datasource infer: cannot read '%s': %s\n", path, strerror(errno));
        goto done;
    }
    sl_infer_stats st;
    sl_error err = {0};
    int rc =
        sl_infer_datasource((sl_str){(const char *)body.data, body.len}, &opt, &out, &st, &err);
    if (rc) {
        fprintf(stderr, "sluice datasource infer: %s: %s\n", path,
                err.msg ? err.msg : sl_strerror(rc));
        goto done;
    }
    if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
        fprintf(stderr, "sluice datasource infer: cannot write the output: %s\n", strerror(errno));
        goto done;
    }
    status = 0;
    if (quiet)
        goto done;
    fprintf(stderr, "-- %zu column%s from %llu row%s", st.columns, st.columns == 1 ? "" : "s",
            (unsigned long long)st.rows, st.rows == 1 ? "" : "s");
    if (st.skipped)
        fprintf(stderr, "; %llu row%s skipped (not a JSON object)", (unsigned long long)st.skipped,
                st.skipped == 1 ? "" : "s");
    fputc('\n', stderr);
    if (st.row_limit || cut)
        fprintf(stderr, "-- stopped after %llu rows%s; later rows were not looked at\n",
                (unsigned long long)st.rows, cut ? " (or the first 256 MiB)" : "");
    if (st.column_limit)
        fprintf(stderr, "-- more keys than the column limit: the later ones got no column "
                        "(--columns raises it)\n");
    if (st.unusable_keys)
        fprintf(stderr, "-- %zu key%s with a backtick or control character got no column\n",
                st.unusable_keys, st.unusable_keys == 1 ? "" : "s");
done:
    sl_buf_free(&body);
    sl_buf_free(&out);
    return status;
}
