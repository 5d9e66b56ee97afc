/* API tokens (SPEC §8): {name, secret, scopes}, persisted in <data>/tokens (mode 0600, rewritten
 * atomically on every change). Secrets are "sl." + base64url of 32 random bytes (getrandom);
 * they are compared in constant time.
 *
 * Scopes: ADMIN, TOKENS, DATASOURCES:CREATE (create, and append anywhere),
 * DATASOURCES:APPEND:<ds>, DATASOURCES:READ:<ds> (also <ds>_quarantine), DATASOURCES:DROP:<ds>.
 * ADMIN allows everything.
 *
 * Thread-safety: every function may be called from any thread at once (a read-write lock inside;
 * checks take the read side). */
#ifndef SL_TOKENS_H
#define SL_TOKENS_H

#include "sl_common.h"

typedef struct sl_tokens sl_tokens;

#define SL_TOKEN_NAME_MAX   64  /* names: [A-Za-z0-9_.-]+ */
#define SL_TOKEN_SECRET_MAX 256 /* a preset SLUICE_ADMIN_TOKEN may be up to 255 bytes */
#define SL_TOKEN_SCOPE_MAX  128
#define SL_TOKEN_ADMIN_NAME "admin"

/* What a request wants to do; `ds` names the data source where it matters. */
typedef enum {
    SL_ACTION_ADMIN,  /* ADMIN only */
    SL_ACTION_TOKENS, /* token API: TOKENS or ADMIN */
    SL_ACTION_CREATE, /* create a data source (also auto-create): DATASOURCES:CREATE or ADMIN */
    SL_ACTION_APPEND, /* POST /v0/events: APPEND:<ds>, DATASOURCES:CREATE or ADMIN */
    SL_ACTION_READ,   /* read <ds> or <ds>_quarantine: READ:<ds> or ADMIN */
    SL_ACTION_DROP,   /* delete/truncate <ds>: DROP:<ds> or ADMIN */
} sl_action;

/* Opens (or creates empty) the token store in `data_dir`. */
int sl_tokens_open(const char *data_dir, sl_tokens **out, sl_error *err);
void sl_tokens_free(sl_tokens *t); /* NULL is a no-op */

/* Ensures a token with the ADMIN scope exists. When none does, creates one named "admin" whose
 * secret is `preset` (SLUICE_ADMIN_TOKEN; NULL or "" → random) and copies the secret,
 * NUL-terminated, into secret_out (cap >= SL_TOKEN_SECRET_MAX) and sets *created; serve prints it
 * once. Otherwise *created = false and secret_out is left alone. */
int sl_tokens_ensure_admin(sl_tokens *t, const char *preset, char *secret_out, size_t cap,
                           bool *created, sl_error *err);

/* Checks `secret` (from "Authorization: Bearer" or ?token=) for `action` on data source `ds`
 * (ignored for ADMIN/TOKENS/CREATE). Returns 0 when allowed; SL_EMISSING when the secret is empty
 * or matches no token; SL_EINVAL when the token lacks the scope (message names the scope needed).
 * Both are 403 for HTTP. *name_out (may be NULL, cap >= SL_TOKEN_NAME_MAX + 1) gets the token's
 * name when it is known, for logs. */
int sl_tokens_check(sl_tokens *t, sl_str secret, sl_action action, sl_str ds, char *name_out,
                    size_t name_cap, sl_error *err);

/* Validates a scope string (e.g. "DATASOURCES:APPEND:events"); 0 or SL_EINVAL with a message. */
int sl_tokens_valid_scope(sl_str scope, sl_error *err);

/* Creates token `name` with `scopes` and a random secret, copied NUL-terminated to secret_out
 * (cap >= SL_TOKEN_SECRET_MAX). SL_EINVAL for a bad name/scope or when the name exists;
 * SL_EIO when the file could not be written (then nothing changed). */
int sl_tokens_create(sl_tokens *t, sl_str name, const sl_str *scopes, size_t n_scopes,
                     char *secret_out, size_t cap, sl_error *err);

/* Adds `scope` to token `name`, creating the token (random secret) if missing: what a TOKEN
 * line of a .datasource does. Adding a scope it has is a no-op. */
int sl_tokens_grant(sl_tokens *t, sl_str name, sl_str scope, sl_error *err);

/* Copies the secret of token `name` (NUL-terminated) to secret_out; SL_EMISSING if none. For the
 * answer of a data source push that created TOKEN-line tokens (GET /v0/tokens never shows them). */
int sl_tokens_get_secret(sl_tokens *t, sl_str name, char *secret_out, size_t cap, sl_error *err);

/* Deletes token `name`. SL_EMISSING if none; SL_EIO on write failure (then nothing changed). */
int sl_tokens_delete(sl_tokens *t, sl_str name, sl_error *err);

/* Removes every DATASOURCES:APPEND/READ/DROP scope naming data source `ds` from every token (a
 * deleted data source takes its grants along, so one created later under the same name starts
 * with none). Tokens left without scopes stay. *revoked (may be NULL) gets the number removed.
 * SL_EIO on write failure (then nothing changed). */
int sl_tokens_revoke_datasource(sl_tokens *t, sl_str ds, size_t *revoked, sl_error *err);

/* Appends {"tokens":[{"name":"..","scopes":[..]},..]} (no secrets), sorted by name. */
int sl_tokens_list_json(sl_tokens *t, sl_buf *out);

/* Appends {"name":"..","token":"<secret>","scopes":[..]} for token `name` (the answer of
 * POST /v0/tokens). SL_EMISSING if none. */
int sl_tokens_token_json(sl_tokens *t, sl_str name, sl_buf *out);

#endif
