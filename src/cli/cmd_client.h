/* Shared plumbing of the client commands (sql, send, datasource, token): where the server is and
 * which token to use (flags, SLUICE_* environment, config file), one HTTP request at a time over
 * libcurl, the server's error messages, and small readers for the JSON answers.
 *
 * Exit statuses of every client command: 0 done, 1 the server said no or could not be reached,
 * 2 bad usage or an unreadable local file. Not thread-safe: one sl_client per thread. */
#ifndef SL_CMD_CLIENT_H
#define SL_CMD_CLIENT_H

#include "sl_common.h"
#include "sl_json.h"

#include <stdio.h>

#define SL_CLIENT_DEFAULT_HOST "http://127.0.0.1:7181"

enum { SL_EXIT_OK = 0, SL_EXIT_FAIL = 1, SL_EXIT_USAGE = 2 };

/* The common options, for the usage text of every client command. */
extern const char sl_client_options_help[];

typedef struct {
    const char *prog;        /* "sluice sql": prefix of every message */
    const char *host_flag;   /* --host, or NULL */
    const char *token_flag;  /* --token, or NULL */
    const char *config_flag; /* --config, or NULL */
    char *host;              /* resolved base URL without a trailing '/'; owned */
    char *token;             /* resolved token or NULL; owned */
    char *host_from;         /* where the host came from, for messages; owned */
    void *curl;              /* CURL * kept across requests so the connection is reused */
} sl_client;

/* What a request sends. `path` starts with '/' and carries an already escaped query string. */
typedef struct {
    const char *method; /* "GET", "POST" or "DELETE" */
    const char *path;
    const void *body; /* POST body (may be NULL with len 0) */
    size_t body_len;
    const char *content_type;     /* or NULL */
    const char *content_encoding; /* or NULL */
    const char *idempotency_key;  /* or NULL */
    FILE *stream;                 /* if set, a 2xx body is written here instead of resp->body */
} sl_client_call;

/* What came back. `status` is 0 when no HTTP answer arrived; `transport` is then a CURLcode. */
typedef struct {
    long status;
    int transport;
    char transport_msg[256];
    sl_buf body; /* the answer body (capped); init/free by sl_client_do/sl_client_resp_free */
    double retry_after; /* Retry-After in seconds, or -1 when absent */
    bool replayed;      /* Idempotent-Replayed: true */
    bool write_failed;  /* writing to call->stream failed, or the body passed its cap */
} sl_client_resp;

void sl_client_init(sl_client *c, const char *prog);
/* Frees what sl_client_init and sl_client_connect made; safe on an unconnected client. */
void sl_client_free(sl_client *c);

/* Takes --host, --token or --config (as `--opt V` or `--opt=V`) at argv[*i], advancing *i past
 * the value. 1 taken, 0 not a common option, -1 missing value (message printed). */
int sl_client_parse_option(sl_client *c, int argc, char **argv, int *i);

/* Resolves host and token (flag, then SLUICE_HOST/SLUICE_TOKEN, then the config file, then the
 * default host) and prepares libcurl. 0, or SL_EXIT_USAGE with a message printed. */
int sl_client_connect(sl_client *c);

/* Sends one request and waits for the whole answer. `resp` is initialised here (free it with
 * sl_client_resp_free, also before reusing it). 0 when an HTTP answer arrived (any status),
 * -1 when none did (resp->transport says why) or the body could not be stored. */
int sl_client_do(sl_client *c, const sl_client_call *call, sl_client_resp *resp);
void sl_client_resp_free(sl_client_resp *resp);

/* True for failures worth another try: no answer because of the network, 429, 502, 503, 504. */
bool sl_client_retryable(const sl_client_resp *resp);

/* Prints why a request failed to stderr: "cannot reach sluice at ..." or the server's
 * {"error": ...} message with the status. `what` (may be NULL) names the action. */
void sl_client_report(const sl_client *c, const sl_client_resp *resp, const char *what);

/* Percent-encodes `s` for a URL path segment or query value; the caller frees the result. */
char *sl_client_escape(const char *s);

/* Finds member `key` of the JSON object `doc` and scans its value into *v (pointing into doc).
 * 1 found, 0 absent, -1 `doc` is not a valid JSON object. */
int sl_client_json_member(sl_str doc, const char *key, sl_json_value *v);
/* Appends a value as display text: strings decoded, null as "NULL", others compact JSON. */
void sl_client_json_text(const sl_json_value *v, sl_buf *out);
/* Reads an unsigned integer member (a JSON number or a numeric string); 0 if absent. */
uint64_t sl_client_json_u64(sl_str doc, const char *key);

/* Handles `--name V` and `--name=V` at argv[*i]. 1 matched (*val set, *i advanced), 0 not this
 * option, -1 value missing (message printed with `prog`). */
int sl_cli_opt_value(const char *prog, int argc, char **argv, int *i, const char *name,
                     const char **val);

/* Asks "question [y/N]" on the terminal; false when stdin is not a terminal or the answer is
 * not yes. */
bool sl_cli_confirm(const char *question);

#endif
