/* The token endpoints (SPEC §8, Tinybird's shape): POST /v0/tokens?name=N&scope=S..,
 * GET /v0/tokens (no secrets), DELETE /v0/tokens/<name>. Each needs TOKENS or ADMIN. */
#include "sl_http.h"

#define MAX_SCOPES 64

typedef struct {
    sl_str scopes[MAX_SCOPES];
    size_t n;
    bool too_many;
} scope_list;

static void add_scope(void *ud, sl_str v)
{
    scope_list *l = ud;
    if (l->n == MAX_SCOPES) {
        l->too_many = true;
        return;
    }
    l->scopes[l->n++] = v;
}

void sl_http_tokens_create(sl_http_req *r)
{
    if (!sl_http_authorize(r, SL_ACTION_TOKENS, SL_STR_NULL))
        return;
    sl_str name = sl_http_param(r, "name");
    if (!name.len) {
        sl_http_error(r, 400, "missing 'name': POST /v0/tokens?name=<name>&scope=<scope>");
        return;
    }
    scope_list l = {0};
    sl_http_params_each(r, "scope", add_scope, &l);
    if (l.too_many) {
        sl_http_error(r, 400, "too many scopes (at most %d)", MAX_SCOPES);
        return;
    }
    if (l.n == 0) {
        sl_http_error(r, 400,
                      "missing 'scope': give one or more, e.g. scope=DATASOURCES:APPEND:events");
        return;
    }
    sl_tokens *t = r->srv->cfg.tokens;
    sl_error err = {0};
    char secret[SL_TOKEN_SECRET_MAX];
    int rc = sl_tokens_create(t, name, l.scopes, l.n, secret, sizeof(secret), &err);
    if (rc) {
        sl_http_error(r, rc == SL_EIO ? 500 : 400, "cannot create token: %s",
                      err.msg ? err.msg : sl_strerror(rc));
        return;
    }
    r->out.len = 0;
    if (sl_tokens_token_json(t, name, &r->out) != 0) {
        sl_http_error(r, 500, "token created but cannot be shown");
        return;
    }
    sl_http_reply(r, 200, "application/json");
}

void sl_http_tokens_list(sl_http_req *r)
{
    if (!sl_http_authorize(r, SL_ACTION_TOKENS, SL_STR_NULL))
        return;
    r->out.len = 0;
    if (sl_tokens_list_json(r->srv->cfg.tokens, &r->out) != 0) {
        sl_http_error(r, 503, "out of memory listing tokens");
        return;
    }
    sl_http_reply(r, 200, "application/json");
}

void sl_http_tokens_delete(sl_http_req *r)
{
    if (!sl_http_authorize(r, SL_ACTION_TOKENS, SL_STR_NULL))
        return;
    sl_str name = r->route_arg;
    sl_error err = {0};
    int rc = sl_tokens_delete(r->srv->cfg.tokens, name, &err);
    if (rc == SL_EMISSING) {
        sl_http_error(r, 404, "token '%.*s' does not exist", (int)(name.len > 80 ? 80 : name.len),
                      name.ptr);
        return;
    }
    if (rc) {
        sl_http_error(r, 500, "cannot delete token: %s", err.msg ? err.msg : sl_strerror(rc));
        return;
    }
    r->out.len = 0;
    sl_buf_append_cstr(&r->out, "{\"name\":");
    sl_buf_append_json_string(&r->out, name.ptr, name.len);
    sl_buf_append_cstr(&r->out, ",\"deleted\":true}");
    sl_http_reply(r, 200, "application/json");
}
