/* Shared plumbing of the client commands: configuration (flags, SLUICE_* environment, config
 * file), HTTP over libcurl, error messages and JSON readers. See cmd_client.h. */
#include "cmd_client.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

const char sl_client_options_help[] =
    "common options (a flag beats the environment, which beats the config file):\n"
    "  --host URL     the sluice server (SLUICE_HOST; default " SL_CLIENT_DEFAULT_HOST ")\n"
    "  --token T      API token, sent as 'Authorization: Bearer T' (SLUICE_TOKEN)\n"
    "  --config FILE  config file (SLUICE_CONFIG; default $XDG_CONFIG_HOME/sluice/config,\n"
    "                 else ~/.config/sluice/config) with 'host = URL' and 'token = T' lines\n"
    "  -h, --help     show this help\n";

/* Answers bigger than this are refused (the server bounds query results well below it). */
#define RESP_CAP ((size_t)1 << 30)

void sl_client_init(sl_client *c, const char *prog)
{
    memset(c, 0, sizeof(*c));
    c->prog = prog;
}

void sl_client_free(sl_client *c)
{
    if (c->curl) {
        curl_easy_cleanup(c->curl);
        curl_global_cleanup();
    }
    free(c->host);
    free(c->token);
    free(c->host_from);
    c->curl = NULL;
    c->host = c->token = c->host_from = NULL;
}

int sl_cli_opt_value(const char *prog, int argc, char **argv, int *i, const char *name,
                     const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "%s: %s needs a value\n", prog, name);
        return -1;
    }
    *val = argv[++*i];
    return 1;
}

int sl_client_parse_option(sl_client *c, int argc, char **argv, int *i)
{
    static const char *const names[] = {"--host", "--token", "--config"};
    const char **slots[] = {&c->host_flag, &c->token_flag, &c->config_flag};
    for (size_t k = 0; k < 3; k++) {
        int rc = sl_cli_opt_value(c->prog, argc, argv, i, names[k], slots[k]);
        if (rc)
            return rc;
    }
    return 0;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s);
    char *d = sl_xmalloc(n + 1);
    memcpy(d, s, n + 1);
    return d;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
        s[n - 1] = '\0';
        s++;
    }
    return s;
}

/* Reads `key = value` lines (# comments) of the config file into *host / *token where those are
 * still NULL. A missing default file is fine; a missing explicit one is an error. */
static int read_config(sl_client *c, const char *path, bool explicit_path, char **host,
                       char **token)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (!explicit_path && errno == ENOENT)
            return 0;
        fprintf(stderr, "%s: cannot read config file %s: %s\n", c->prog, path, strerror(errno));
        return -1;
    }
    char line[4096];
    unsigned lineno = 0;
    bool has_token = false;
    int rc = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            fprintf(stderr, "%s: %s:%u: expected 'key = value'\n", c->prog, path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        if (strcmp(key, "host") == 0) {
            if (!*host)
                *host = xstrdup(val);
        } else if (strcmp(key, "token") == 0) {
            has_token = true;
            if (!*token)
                *token = xstrdup(val);
        } else {
            fprintf(stderr, "%s: %s:%u: unknown key '%s' ignored (known: host, token)\n", c->prog,
                    path, lineno, key);
        }
    }
    struct stat st;
    if (rc == 0 && has_token && fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
        fprintf(stderr, "%s: warning: %s holds a token and others may read it (chmod 600 %s)\n",
                c->prog, path, path);
    fclose(f);
    return rc;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

int sl_client_connect(sl_client *c)
{
    char *host = NULL, *token = NULL;
    const char *from = "default";
    if (c->host_flag) {
        host = xstrdup(c->host_flag);
        from = "--host";
    } else if (env("SLUICE_HOST")) {
        host = xstrdup(env("SLUICE_HOST"));
        from = "SLUICE_HOST";
    }
    if (c->token_flag)
        token = xstrdup(c->token_flag);
    else if (env("SLUICE_TOKEN"))
        token = xstrdup(env("SLUICE_TOKEN"));

    if (!host || !token) {
        const char *path = c->config_flag ? c->config_flag : env("SLUICE_CONFIG");
        bool explicit_path = path != NULL;
        char def[4096];
        if (!path) {
            const char *xdg = env("XDG_CONFIG_HOME"), *home = env("HOME");
            if (xdg)
                snprintf(def, sizeof(def), "%s/sluice/config", xdg);
            else if (home)
                snprintf(def, sizeof(def), "%s/.config/sluice/config", home);
            else
                def[0] = '\0';
            path = def[0] ? def : NULL;
        }
        bool had_host = host != NULL;
        if (path && read_config(c, path, explicit_path, &host, &token) != 0) {
            free(host);
            free(token);
            return SL_EXIT_USAGE;
        }
        if (!had_host && host) {
            size_t n = strlen(path) + 16;
            c->host_from = sl_xmalloc(n);
            snprintf(c->host_from, n, "%s", path);
        }
    }
    if (!host)
        host = xstrdup(SL_CLIENT_DEFAULT_HOST);
    if (!c->host_from)
        c->host_from = xstrdup(from);

    /* Accept "host:port" without a scheme; drop trailing slashes so paths join cleanly. */
    if (!strstr(host, "://")) {
        size_t n = strlen(host) + 8;
        char *h = sl_xmalloc(n);
        snprintf(h, n, "http://%s", host);
        free(host);
        host = h;
    }
    size_t n = strlen(host);
    while (n > 0 && host[n - 1] == '/')
        host[--n] = '\0';
    if (strlen(host) <= strlen("http://")) {
        fprintf(stderr, "%s: bad host '%s' (from %s): expected a URL like %s\n", c->prog, host,
                c->host_from, SL_CLIENT_DEFAULT_HOST);
        free(host);
        free(token);
        return SL_EXIT_USAGE;
    }
    c->host = host;
    c->token = token && *token ? token : NULL;
    if (!c->token)
        free(token);

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        c->curl = NULL;
    else if (!(c->curl = curl_easy_init()))
        curl_global_cleanup();
    if (!c->curl) {
        fprintf(stderr, "%s: cannot initialise libcurl\n", c->prog);
        return SL_EXIT_FAIL;
    }
    return 0;
}

typedef struct {
    CURL *curl;
    const sl_client_call *call;
    sl_client_resp *resp;
} xfer;

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    xfer *x = ud;
    size_t n = size * nmemb;
    long status = 0;
    curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
    if (x->call->stream && status >= 200 && status < 300) {
        if (fwrite(p, 1, n, x->call->stream) != n) {
            x->resp->write_failed = true;
            return 0;
        }
        return n;
    }
    if (sl_buf_append(&x->resp->body, p, n) != 0) {
        x->resp->write_failed = true;
        return 0;
    }
    return n;
}

static bool header_is(const char *p, size_t n, const char *name, const char **val, size_t *vlen)
{
    size_t k = strlen(name);
    if (n <= k || strncasecmp(p, name, k) != 0 || p[k] != ':')
        return false;
    const char *v = p + k + 1, *end = p + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    *val = v;
    *vlen = (size_t)(end - v);
    return true;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    xfer *x = ud;
    size_t n = size * nmemb;
    const char *v;
    size_t vlen;
    if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        /* A new answer (after a 100 Continue, say): forget the previous one's headers. */
        x->resp->retry_after = -1;
        x->resp->replayed = false;
    } else if (header_is(p, n, "Retry-After", &v, &vlen)) {
        char tmp[32];
        if (vlen < sizeof(tmp)) {
            memcpy(tmp, v, vlen);
            tmp[vlen] = '\0';
            char *endp;
            double s = strtod(tmp, &endp);
            if (endp != tmp && *endp == '\0' && s >= 0)
                x->resp->retry_after = s; /* an HTTP date is ignored: backoff applies */
        }
    } else if (header_is(p, n, "Idempotent-Replayed", &v, &vlen)) {
        x->resp->replayed = vlen == 4 && strncasecmp(v, "true", 4) == 0;
    }
    return n;
}

void sl_client_resp_free(sl_client_resp *resp)
{
    sl_buf_free(&resp->body);
}

int sl_client_do(sl_client *c, const sl_client_call *call, sl_client_resp *resp)
{
    memset(resp, 0, sizeof(*resp));
    sl_buf_init(&resp->body, RESP_CAP);
    resp->retry_after = -1;
    CURL *h = c->curl;
    curl_easy_reset(h); /* keeps the open connection */

    size_t url_len = strlen(c->host) + strlen(call->path) + 1;
    char *url = sl_xmalloc(url_len);
    snprintf(url, url_len, "%s%s", c->host, call->path);

    struct curl_slist *hdrs = NULL;
    char line[512];
    /* No "Expect: 100-continue" round trip before each body. */
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (c->token) {
        size_t n = strlen(c->token) + 32;
        char *auth = sl_xmalloc(n);
        snprintf(auth, n, "Authorization: Bearer %s", c->token);
        hdrs = curl_slist_append(hdrs, auth);
        free(auth);
    }
    if (call->content_type) {
        snprintf(line, sizeof(line), "Content-Type: %s", call->content_type);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (call->content_encoding) {
        snprintf(line, sizeof(line), "Content-Encoding: %s", call->content_encoding);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (call->idempotency_key) {
        snprintf(line, sizeof(line), "Idempotency-Key: %s", call->idempotency_key);
        hdrs = curl_slist_append(hdrs, line);
    }

    char errbuf[CURL_ERROR_SIZE] = "";
    xfer x = {h, call, resp};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "sluice-cli/0.1");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    /* Give up on a stalled transfer (under 1 byte/s for 5 minutes); a slow query is fine. */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 300L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
    if (strcmp(call->method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->body_len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, call->body ? call->body : "");
    } else if (strcmp(call->method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, call->method);
    }

    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    curl_slist_free_all(hdrs);
    free(url);
    if (rc == CURLE_OK)
        return 0;
    resp->transport = (int)rc;
    snprintf(resp->transport_msg, sizeof(resp->transport_msg), "%s",
             errbuf[0] ? errbuf : curl_easy_strerror(rc));
    if (rc == CURLE_WRITE_ERROR && resp->write_failed)
        return -1; /* an answer arrived, but we could not keep it */
    resp->status = 0;
    return -1;
}

bool sl_client_retryable(const sl_client_resp *resp)
{
    if (resp->status == 0) {
        switch ((CURLcode)resp->transport) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM: return true;
        default: return false;
        }
    }
    return resp->status == 429 || resp->status == 502 || resp->status == 503 || resp->status == 504;
}

void sl_client_report(const sl_client *c, const sl_client_resp *resp, const char *what)
{
    const char *sep = what ? ": " : "";
    what = what ? what : "";
    if (resp->status == 0) {
        CURLcode rc = (CURLcode)resp->transport;
        if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
            fprintf(stderr, "%s: %s%scannot reach sluice at %s: is `sluice serve` running? (%s)\n",
                    c->prog, what, sep, c->host, resp->transport_msg);
        else if (rc == CURLE_WRITE_ERROR && resp->write_failed)
            fprintf(stderr, "%s: %s%scannot store the answer: %s\n", c->prog, what, sep,
                    resp->body.len >= RESP_CAP ? "too large" : strerror(errno));
        else
            fprintf(stderr, "%s: %s%srequest to %s failed: %s\n", c->prog, what, sep, c->host,
                    resp->transport_msg);
        return;
    }
    sl_str body = {(const char *)resp->body.data, resp->body.len};
    sl_json_value v;
    if (body.len && sl_client_json_member(body, "error", &v) == 1 && v.kind == SL_JSON_STRING) {
        sl_buf msg;
        sl_buf_init(&msg, 0);
        sl_client_json_text(&v, &msg);
        fprintf(stderr, "%s: %s%s%.*s (HTTP %ld)\n", c->prog, what, sep, (int)msg.len,
                (const char *)msg.data, resp->status);
        sl_buf_free(&msg);
    } else {
        /* Not our server's JSON (a proxy, say): show the start of whatever came back. */
        size_t n = 0;
        while (n < body.len && n < 200 && body.ptr[n] != '\n')
            n++;
        fprintf(stderr, "%s: %s%sserver answered HTTP %ld%s%.*s\n", c->prog, what, sep,
                resp->status, n ? ": " : "", (int)n, body.ptr ? body.ptr : "");
    }
    if ((resp->status == 401 || resp->status == 403) && !c->token)
        fprintf(stderr,
                "%s: no token was given: pass one with --token, SLUICE_TOKEN or the "
                "config file (see --help)\n",
                c->prog);
}

char *sl_client_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = sl_xmalloc(3 * n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            *o++ = (char)ch;
        } else {
            *o++ = '%';
            *o++ = hex[ch >> 4];
            *o++ = hex[ch & 15];
        }
    }
    *o = '\0';
    return out;
}

int sl_client_json_member(sl_str doc, const char *key, sl_json_value *v)
{
    sl_json_cursor cur;
    sl_json_cursor_init(&cur, doc.ptr, doc.len, NULL);
    if (sl_json_object_begin(&cur) != 0)
        return -1;
    sl_json_value k;
    int rc;
    sl_str want = sl_str_from_cstr(key);
    while ((rc = sl_json_object_next(&cur, &k)) == 1) {
        if (sl_json_key_equals(&k, want))
            return sl_json_scan_value(&cur, v) == 0 ? 1 : -1;
        if (sl_json_skip_value(&cur) != 0)
            return -1;
    }
    return rc < 0 ? -1 : 0;
}

void sl_client_json_text(const sl_json_value *v, sl_buf *out)
{
    int rc;
    if (v->kind == SL_JSON_STRING)
        rc = sl_json_decode_string(v, out);
    else if (v->kind == SL_JSON_NULL)
        rc = sl_buf_append_cstr(out, "NULL");
    else if (v->kind == SL_JSON_OBJECT || v->kind == SL_JSON_ARRAY)
        rc = sl_json_compact(v, out);
    else
        rc = sl_buf_append(out, v->ptr, v->len);
    if (rc)
        sl_fatal("client: out of memory");
}

uint64_t sl_client_json_u64(sl_str doc, const char *key)
{
    sl_json_value v;
    if (sl_client_json_member(doc, key, &v) != 1)
        return 0;
    if (v.kind != SL_JSON_NUMBER && v.kind != SL_JSON_STRING)
        return 0;
    char tmp[32];
    if (v.len >= sizeof(tmp))
        return 0;
    memcpy(tmp, v.ptr, v.len);
    tmp[v.len] = '\0';
    char *endp;
    unsigned long long n = strtoull(tmp, &endp, 10);
    return *endp == '\0' && tmp[0] != '-' ? (uint64_t)n : 0;
}

bool sl_cli_confirm(const char *question)
{
    if (!isatty(STDIN_FILENO))
        return false;
    fprintf(stderr, "%s [y/N] ", question);
    fflush(stderr);
    char ans[16];
    if (!fgets(ans, sizeof(ans), stdin))
        return false;
    return ans[0] == 'y' || ans[0] == 'Y';
}
