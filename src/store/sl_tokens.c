/* API tokens: an in-memory table behind a read-write lock, rewritten atomically to <data>/tokens
 * (mode 0600) on every change. File format, one token per line:
 *   <name> TAB <secret> TAB <scope> [SPACE <scope>]...
 * Lines starting with '#' are comments. A change that cannot be saved is undone in memory. */
#include "sl_tokens.h"
#include "sl_catalog.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_PREFIX       "sl."
#define SECRET_RANDOM_BYTES 32
#define MAX_SCOPES          256

typedef struct {
    char name[SL_TOKEN_NAME_MAX + 1];
    char secret[SL_TOKEN_SECRET_MAX];
    size_t secret_len;
    char **scopes;
    size_t n_scopes;
} token;

struct sl_tokens {
    char *path; /* <data>/tokens */
    char *dir;
    pthread_rwlock_t lock;
    token *items;
    size_t n, cap;
};

/* ---- validation ---- */

static bool valid_name(sl_str s)
{
    if (s.len == 0 || s.len > SL_TOKEN_NAME_MAX)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

static bool valid_secret(const char *s, size_t n)
{
    if (n == 0 || n >= SL_TOKEN_SECRET_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~')
            return false;
    return true;
}

static bool starts_with(sl_str s, const char *prefix, sl_str *rest)
{
    size_t n = strlen(prefix);
    if (s.len < n || memcmp(s.ptr, prefix, n) != 0)
        return false;
    *rest = (sl_str){s.ptr + n, s.len - n};
    return true;
}

int sl_tokens_valid_scope(sl_str scope, sl_error *err)
{
    sl_str ds;
    if (sl_str_eq_cstr(scope, "ADMIN") || sl_str_eq_cstr(scope, "TOKENS") ||
        sl_str_eq_cstr(scope, "DATASOURCES:CREATE"))
        return 0;
    if ((starts_with(scope, "DATASOURCES:APPEND:", &ds) ||
         starts_with(scope, "DATASOURCES:READ:", &ds) ||
         starts_with(scope, "DATASOURCES:DROP:", &ds)) &&
        sl_catalog_valid_name(ds))
        return 0;
    return sl_error_setf(err, SL_EINVAL, 0,
                         "invalid scope '%.*s': use ADMIN, TOKENS, DATASOURCES:CREATE or "
                         "DATASOURCES:APPEND|READ|DROP:<data source>",
                         (int)(scope.len > 80 ? 80 : scope.len), scope.ptr ? scope.ptr : "");
}

/* ---- secrets ---- */

static int random_secret(char *out, size_t cap, sl_error *err)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t raw[SECRET_RANDOM_BYTES + 2] = {0};
    size_t got = 0;
    while (got < SECRET_RANDOM_BYTES) {
        ssize_t r = getrandom(raw + got, SECRET_RANDOM_BYTES - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return sl_error_setf(err, SL_EIO, 0, "getrandom failed: %s", strerror(errno));
        got += (size_t)r;
    }
    size_t o = 0;
    memcpy(out, SECRET_PREFIX, sizeof SECRET_PREFIX - 1);
    o = sizeof SECRET_PREFIX - 1;
    /* base64url without padding: 32 bytes → 43 characters. */
    for (size_t i = 0; i < SECRET_RANDOM_BYTES; i += 3) {
        uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
        size_t left = SECRET_RANDOM_BYTES - i, chars = left >= 3 ? 4 : left + 1;
        for (size_t k = 0; k < chars && o + 1 < cap; k++)
            out[o++] = b64[(v >> (18 - 6 * k)) & 63];
    }
    out[o] = '\0';
    return 0;
}

/* Compares without a data-dependent early exit (the length of `a`, a stored secret, may leak). */
static bool ct_equal(const char *a, size_t alen, sl_str b)
{
    unsigned diff = (unsigned)(alen ^ b.len);
    for (size_t i = 0; i < alen; i++)
        diff |= (unsigned char)a[i] ^ (unsigned char)(i < b.len ? b.ptr[i] : 0);
    return diff == 0;
}

/* ---- the table (callers hold the lock) ---- */

static ssize_t find_name(const sl_tokens *t, sl_str name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strlen(t->items[i].name) == name.len &&
            memcmp(t->items[i].name, name.ptr, name.len) == 0)
            return (ssize_t)i;
    return -1;
}

static bool has_scope(const token *k, sl_str scope)
{
    for (size_t i = 0; i < k->n_scopes; i++)
        if (sl_str_eq_cstr(scope, k->scopes[i]))
            return true;
    return false;
}

static char *dup_str(sl_str s)
{
    char *p = sl_xmalloc(s.len + 1);
    memcpy(p, s.ptr, s.len);
    p[s.len] = '\0';
    return p;
}

static void add_scope(token *k, sl_str scope)
{
    k->scopes = sl_xrealloc(k->scopes, (k->n_scopes + 1) * sizeof *k->scopes);
    k->scopes[k->n_scopes++] = dup_str(scope);
}

static void token_clear(token *k)
{
    for (size_t i = 0; i < k->n_scopes; i++)
        free(k->scopes[i]);
    free(k->scopes);
    k->scopes = NULL;
    k->n_scopes = 0;
}

static token *push_token(sl_tokens *t, sl_str name, const char *secret, size_t secret_len)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 8;
        t->items = sl_xrealloc(t->items, t->cap * sizeof *t->items);
    }
    token *k = &t->items[t->n++];
    memset(k, 0, sizeof *k);
    memcpy(k->name, name.ptr, name.len);
    memcpy(k->secret, secret, secret_len);
    k->secret_len = secret_len;
    return k;
}

static void remove_at(sl_tokens *t, size_t i)
{
    token_clear(&t->items[i]);
    memmove(&t->items[i], &t->items[i + 1], (t->n - i - 1) * sizeof *t->items);
    t->n--;
}

/* ---- persistence ---- */

static int save(sl_tokens *t, sl_error *err)
{
    sl_buf b;
    sl_buf_init(&b, 0);
    int rc = sl_buf_append_cstr(&b, "# sluice tokens: name TAB secret TAB scopes\n");
    for (size_t i = 0; rc == 0 && i < t->n; i++) {
        const token *k = &t->items[i];
        rc = sl_buf_printf(&b, "%s\t%.*s\t", k->name, (int)k->secret_len, k->secret);
        for (size_t j = 0; rc == 0 && j < k->n_scopes; j++)
            rc = sl_buf_printf(&b, "%s%s", j ? " " : "", k->scopes[j]);
        if (rc == 0)
            rc = sl_buf_append_cstr(&b, "\n");
    }
    if (rc) {
        sl_buf_free(&b);
        return sl_error_set(err, rc, "out of memory", 0);
    }
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", t->path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        sl_buf_free(&b);
        return sl_error_setf(err, SL_EIO, 0, "cannot write %s: %s", tmp, strerror(errno));
    }
    size_t off = 0;
    while (rc == 0 && off < b.len) {
        ssize_t w = write(fd, b.data + off, b.len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            rc = sl_error_setf(err, SL_EIO, 0, "cannot write %s: %s", tmp, strerror(errno));
        else
            off += (size_t)w;
    }
    sl_buf_free(&b);
    if (rc == 0 && fsync(fd) != 0)
        rc = sl_error_setf(err, SL_EIO, 0, "cannot sync %s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && rc == 0)
        rc = sl_error_setf(err, SL_EIO, 0, "cannot close %s: %s", tmp, strerror(errno));
    if (rc == 0 && rename(tmp, t->path) != 0)
        rc = sl_error_setf(err, SL_EIO, 0, "cannot rename to %s: %s", t->path, strerror(errno));
    if (rc) {
        unlink(tmp);
        return rc;
    }
    int dfd = open(t->dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        if (fsync(dfd) != 0)
            rc = sl_error_setf(err, SL_EIO, 0, "cannot sync %s: %s", t->dir, strerror(errno));
        close(dfd);
    }
    return rc;
}

static int load(sl_tokens *t, sl_error *err)
{
    FILE *f = fopen(t->path, "r");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        return sl_error_setf(err, SL_EIO, 0, "cannot read %s: %s", t->path, strerror(errno));
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned lineno = 0;
    int rc = 0;
    while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        char *t1 = strchr(line, '\t');
        char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (!t2) {
            rc = sl_error_setf(err, SL_ESYNTAX, 0, "%s line %u: expected name, secret, scopes",
                               t->path, lineno);
            break;
        }
        sl_str name = {line, (size_t)(t1 - line)};
        const char *secret = t1 + 1;
        size_t slen = (size_t)(t2 - secret);
        if (!valid_name(name) || !valid_secret(secret, slen) || find_name(t, name) >= 0) {
            rc = sl_error_setf(err, SL_ESYNTAX, 0, "%s line %u: bad or repeated token", t->path,
                               lineno);
            break;
        }
        token *k = push_token(t, name, secret, slen);
        for (char *p = t2 + 1; *p;) {
            char *sp = strchr(p, ' ');
            size_t len = sp ? (size_t)(sp - p) : strlen(p);
            sl_str scope = {p, len};
            if (len && sl_tokens_valid_scope(scope, NULL) == 0 && !has_scope(k, scope))
                add_scope(k, scope);
            p += len + (sp ? 1 : 0);
        }
    }
    free(line);
    fclose(f);
    return rc;
}

int sl_tokens_open(const char *data_dir, sl_tokens **out, sl_error *err)
{
    *out = NULL;
    if (mkdir(data_dir, 0750) != 0 && errno != EEXIST)
        return sl_error_setf(err, SL_EIO, 0, "cannot create %s: %s", data_dir, strerror(errno));
    sl_tokens *t = sl_xcalloc(1, sizeof *t);
    size_t dl = strlen(data_dir);
    t->dir = dup_str((sl_str){data_dir, dl});
    t->path = sl_xmalloc(dl + sizeof "/tokens");
    memcpy(t->path, data_dir, dl);
    memcpy(t->path + dl, "/tokens", sizeof "/tokens");
    pthread_rwlock_init(&t->lock, NULL);
    int rc = load(t, err);
    if (rc) {
        sl_tokens_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void sl_tokens_free(sl_tokens *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        token_clear(&t->items[i]);
    free(t->items);
    pthread_rwlock_destroy(&t->lock);
    free(t->path);
    free(t->dir);
    free(t);
}

static void copy_secret(const token *k, char *out, size_t cap)
{
    size_t n = k->secret_len < cap - 1 ? k->secret_len : cap - 1;
    memcpy(out, k->secret, n);
    out[n] = '\0';
}

int sl_tokens_ensure_admin(sl_tokens *t, const char *preset, char *secret_out, size_t cap,
                           bool *created, sl_error *err)
{
    *created = false;
    if (cap < SL_TOKEN_SECRET_MAX)
        return sl_error_set(err, SL_EINVAL, "secret buffer too small", 0);
    pthread_rwlock_wrlock(&t->lock);
    for (size_t i = 0; i < t->n; i++) {
        if (has_scope(&t->items[i], SL_STR("ADMIN"))) {
            pthread_rwlock_unlock(&t->lock);
            return 0;
        }
    }
    char secret[SL_TOKEN_SECRET_MAX];
    int rc = 0;
    if (preset && *preset) {
        size_t n = strlen(preset);
        if (!valid_secret(preset, n)) {
            pthread_rwlock_unlock(&t->lock);
            return sl_error_set(err, SL_EINVAL,
                                "SLUICE_ADMIN_TOKEN must be 1-255 printable characters without "
                                "spaces",
                                0);
        }
        memcpy(secret, preset, n + 1);
    } else if ((rc = random_secret(secret, sizeof secret, err)) != 0) {
        pthread_rwlock_unlock(&t->lock);
        return rc;
    }
    sl_str name = SL_STR(SL_TOKEN_ADMIN_NAME);
    ssize_t at = find_name(t, name);
    bool fresh = at < 0;
    token *k = fresh ? push_token(t, name, secret, strlen(secret)) : &t->items[at];
    add_scope(k, SL_STR("ADMIN"));
    rc = save(t, err);
    if (rc) {
        if (fresh)
            remove_at(t, t->n - 1);
        else
            free(k->scopes[--k->n_scopes]);
    } else {
        copy_secret(k, secret_out, cap);
        *created = true;
    }
    pthread_rwlock_unlock(&t->lock);
    return rc;
}

/* The scope string `prefix<ds>` held by k? */
static bool has_ds_scope(const token *k, const char *prefix, sl_str ds)
{
    size_t pl = strlen(prefix);
    for (size_t i = 0; i < k->n_scopes; i++) {
        const char *s = k->scopes[i];
        if (strncmp(s, prefix, pl) == 0 && sl_str_eq_cstr(ds, s + pl))
            return true;
    }
    return false;
}

static bool allowed(const token *k, sl_action action, sl_str ds)
{
    if (has_scope(k, SL_STR("ADMIN")))
        return true;
    switch (action) {
    case SL_ACTION_ADMIN: return false;
    case SL_ACTION_TOKENS: return has_scope(k, SL_STR("TOKENS"));
    case SL_ACTION_CREATE: return has_scope(k, SL_STR("DATASOURCES:CREATE"));
    case SL_ACTION_APPEND:
        return has_scope(k, SL_STR("DATASOURCES:CREATE")) ||
               has_ds_scope(k, "DATASOURCES:APPEND:", ds);
    case SL_ACTION_READ: {
        static const char q[] = "_quarantine";
        size_t ql = sizeof q - 1;
        sl_str base = ds;
        if (ds.len > ql && memcmp(ds.ptr + ds.len - ql, q, ql) == 0)
            base.len -= ql;
        return has_ds_scope(k, "DATASOURCES:READ:", base);
    }
    case SL_ACTION_DROP: return has_ds_scope(k, "DATASOURCES:DROP:", ds);
    }
    return false;
}

static const char *scope_needed(sl_action a)
{
    switch (a) {
    case SL_ACTION_ADMIN: return "ADMIN";
    case SL_ACTION_TOKENS: return "TOKENS";
    case SL_ACTION_CREATE: return "DATASOURCES:CREATE";
    case SL_ACTION_APPEND: return "DATASOURCES:APPEND:";
    case SL_ACTION_READ: return "DATASOURCES:READ:";
    case SL_ACTION_DROP: return "DATASOURCES:DROP:";
    }
    return "?";
}

int sl_tokens_check(sl_tokens *t, sl_str secret, sl_action action, sl_str ds, char *name_out,
                    size_t name_cap, sl_error *err)
{
    if (name_out && name_cap)
        name_out[0] = '\0';
    if (secret.len == 0)
        return sl_error_set(err, SL_EMISSING,
                            "missing token: send Authorization: Bearer <token> or ?token=", 0);
    pthread_rwlock_rdlock(&t->lock);
    const token *hit = NULL;
    for (size_t i = 0; i < t->n; i++) /* no early exit: timing says nothing about the match */
        if (ct_equal(t->items[i].secret, t->items[i].secret_len, secret))
            hit = &t->items[i];
    int rc = 0;
    if (!hit) {
        rc = sl_error_set(err, SL_EMISSING, "invalid token", 0);
    } else {
        if (name_out && name_cap) {
            snprintf(name_out, name_cap, "%s", hit->name);
        }
        if (!allowed(hit, action, ds)) {
            bool per_ds =
                action == SL_ACTION_APPEND || action == SL_ACTION_READ || action == SL_ACTION_DROP;
            rc = sl_error_setf(err, SL_EINVAL, 0, "token '%s' lacks the scope %s%.*s", hit->name,
                               scope_needed(action), per_ds ? (int)(ds.len > 64 ? 64 : ds.len) : 0,
                               ds.ptr ? ds.ptr : "");
        }
    }
    pthread_rwlock_unlock(&t->lock);
    return rc;
}

int sl_tokens_create(sl_tokens *t, sl_str name, const sl_str *scopes, size_t n_scopes,
                     char *secret_out, size_t cap, sl_error *err)
{
    if (cap < SL_TOKEN_SECRET_MAX)
        return sl_error_set(err, SL_EINVAL, "secret buffer too small", 0);
    if (!valid_name(name))
        return sl_error_setf(
            err, SL_EINVAL, 0, "invalid token name '%.*s': use 1-%d of A-Z a-z 0-9 _ . -",
            (int)(name.len > 80 ? 80 : name.len), name.ptr ? name.ptr : "", SL_TOKEN_NAME_MAX);
    if (n_scopes > MAX_SCOPES)
        return sl_error_set(err, SL_EINVAL, "too many scopes", 0);
    for (size_t i = 0; i < n_scopes; i++) {
        int rc = sl_tokens_valid_scope(scopes[i], err);
        if (rc)
            return rc;
    }
    char secret[SL_TOKEN_SECRET_MAX];
    int rc = random_secret(secret, sizeof secret, err);
    if (rc)
        return rc;
    pthread_rwlock_wrlock(&t->lock);
    if (find_name(t, name) >= 0) {
        pthread_rwlock_unlock(&t->lock);
        return sl_error_setf(err, SL_EINVAL, 0, "token '%.*s' already exists", (int)name.len,
                             name.ptr);
    }
    token *k = push_token(t, name, secret, strlen(secret));
    for (size_t i = 0; i < n_scopes; i++)
        if (!has_scope(k, scopes[i]))
            add_scope(k, scopes[i]);
    rc = save(t, err);
    if (rc)
        remove_at(t, t->n - 1);
    else
        copy_secret(k, secret_out, cap);
    pthread_rwlock_unlock(&t->lock);
    return rc;
}

int sl_tokens_grant(sl_tokens *t, sl_str name, sl_str scope, sl_error *err)
{
    if (!valid_name(name))
        return sl_error_setf(err, SL_EINVAL, 0, "invalid token name '%.*s'",
                             (int)(name.len > 80 ? 80 : name.len), name.ptr ? name.ptr : "");
    int rc = sl_tokens_valid_scope(scope, err);
    if (rc)
        return rc;
    char secret[SL_TOKEN_SECRET_MAX];
    if ((rc = random_secret(secret, sizeof secret, err)) != 0)
        return rc;
    pthread_rwlock_wrlock(&t->lock);
    ssize_t at = find_name(t, name);
    if (at >= 0 && has_scope(&t->items[at], scope)) {
        pthread_rwlock_unlock(&t->lock);
        return 0;
    }
    bool fresh = at < 0;
    token *k = fresh ? push_token(t, name, secret, strlen(secret)) : &t->items[at];
    add_scope(k, scope);
    rc = save(t, err);
    if (rc) {
        if (fresh)
            remove_at(t, t->n - 1);
        else
            free(k->scopes[--k->n_scopes]);
    }
    pthread_rwlock_unlock(&t->lock);
    return rc;
}

/* Does `scope` grant something on exactly data source `ds`? */
static bool names_ds(const char *scope, sl_str ds)
{
    static const char *const prefixes[] = {
        "DATASOURCES:APPEND:", "DATASOURCES:READ:", "DATASOURCES:DROP:"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t pl = strlen(prefixes[i]);
        if (strncmp(scope, prefixes[i], pl) == 0 && sl_str_eq_cstr(ds, scope + pl))
            return true;
    }
    return false;
}

int sl_tokens_revoke_datasource(sl_tokens *t, sl_str ds, size_t *revoked, sl_error *err)
{
    pthread_rwlock_wrlock(&t->lock);
    /* The old scope arrays stay until the file is written, to be put back on failure. */
    char ***old = sl_xcalloc(t->n ? t->n : 1, sizeof *old);
    size_t *old_n = sl_xcalloc(t->n ? t->n : 1, sizeof *old_n);
    size_t removed = 0;
    for (size_t i = 0; i < t->n; i++) {
        token *k = &t->items[i];
        old[i] = k->scopes;
        old_n[i] = k->n_scopes;
        char **keep = sl_xcalloc(k->n_scopes ? k->n_scopes : 1, sizeof *keep);
        size_t n_keep = 0;
        for (size_t j = 0; j < k->n_scopes; j++) {
            if (names_ds(k->scopes[j], ds))
                removed++;
            else
                keep[n_keep++] = k->scopes[j];
        }
        k->scopes = keep;
        k->n_scopes = n_keep;
    }
    int rc = removed ? save(t, err) : 0;
    for (size_t i = 0; i < t->n; i++) {
        token *k = &t->items[i];
        if (rc) {
            free(k->scopes);
            k->scopes = old[i];
            k->n_scopes = old_n[i];
        } else {
            for (size_t j = 0; j < old_n[i]; j++)
                if (names_ds(old[i][j], ds))
                    free(old[i][j]);
            free(old[i]);
        }
    }
    free(old);
    free(old_n);
    pthread_rwlock_unlock(&t->lock);
    if (revoked)
        *revoked = rc ? 0 : removed;
    return rc;
}

int sl_tokens_get_secret(sl_tokens *t, sl_str name, char *secret_out, size_t cap, sl_error *err)
{
    if (cap == 0)
        return sl_error_set(err, SL_EINVAL, "secret buffer too small", 0);
    pthread_rwlock_rdlock(&t->lock);
    ssize_t at = find_name(t, name);
    if (at >= 0)
        copy_secret(&t->items[at], secret_out, cap);
    pthread_rwlock_unlock(&t->lock);
    if (at < 0)
        return sl_error_setf(err, SL_EMISSING, 0, "token '%.*s' not found",
                             (int)(name.len > 80 ? 80 : name.len), name.ptr ? name.ptr : "");
    return 0;
}

int sl_tokens_delete(sl_tokens *t, sl_str name, sl_error *err)
{
    pthread_rwlock_wrlock(&t->lock);
    ssize_t at = find_name(t, name);
    if (at < 0) {
        pthread_rwlock_unlock(&t->lock);
        return sl_error_setf(err, SL_EMISSING, 0, "token '%.*s' not found",
                             (int)(name.len > 80 ? 80 : name.len), name.ptr ? name.ptr : "");
    }
    token saved = t->items[at];
    memmove(&t->items[at], &t->items[at + 1], (t->n - (size_t)at - 1) * sizeof *t->items);
    t->n--;
    int rc = save(t, err);
    if (rc) {
        memmove(&t->items[at + 1], &t->items[at], (t->n - (size_t)at) * sizeof *t->items);
        t->items[at] = saved;
        t->n++;
    } else {
        token_clear(&saved);
    }
    pthread_rwlock_unlock(&t->lock);
    return rc;
}

static int token_json(const token *k, bool with_secret, sl_buf *out)
{
    int rc = sl_buf_append_cstr(out, "{\"name\":");
    if (rc == 0)
        rc = sl_buf_append_json_string(out, k->name, strlen(k->name));
    if (rc == 0 && with_secret) {
        rc = sl_buf_append_cstr(out, ",\"token\":");
        if (rc == 0)
            rc = sl_buf_append_json_string(out, k->secret, k->secret_len);
    }
    if (rc == 0)
        rc = sl_buf_append_cstr(out, ",\"scopes\":[");
    for (size_t i = 0; rc == 0 && i < k->n_scopes; i++) {
        if (i)
            rc = sl_buf_append_cstr(out, ",");
        if (rc == 0)
            rc = sl_buf_append_json_string(out, k->scopes[i], strlen(k->scopes[i]));
    }
    return rc ? rc : sl_buf_append_cstr(out, "]}");
}

static int cmp_token_ptr(const void *a, const void *b)
{
    return strcmp((*(const token *const *)a)->name, (*(const token *const *)b)->name);
}

int sl_tokens_list_json(sl_tokens *t, sl_buf *out)
{
    pthread_rwlock_rdlock(&t->lock);
    const token **order = sl_xmalloc((t->n ? t->n : 1) * sizeof *order);
    for (size_t i = 0; i < t->n; i++)
        order[i] = &t->items[i];
    qsort(order, t->n, sizeof *order, cmp_token_ptr);
    int rc = sl_buf_append_cstr(out, "{\"tokens\":[");
    for (size_t i = 0; rc == 0 && i < t->n; i++) {
        if (i)
            rc = sl_buf_append_cstr(out, ",");
        if (rc == 0)
            rc = token_json(order[i], false, out);
    }
    pthread_rwlock_unlock(&t->lock);
    free(order);
    return rc ? rc : sl_buf_append_cstr(out, "]}");
}

int sl_tokens_token_json(sl_tokens *t, sl_str name, sl_buf *out)
{
    pthread_rwlock_rdlock(&t->lock);
    ssize_t at = find_name(t, name);
    int rc = at < 0 ? SL_EMISSING : token_json(&t->items[at], true, out);
    pthread_rwlock_unlock(&t->lock);
    return rc;
}
