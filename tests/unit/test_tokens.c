/* Tokens: admin bootstrap, secret format, scope checks, create/grant/delete, persistence with
 * mode 0600, JSON listing, and checks from many threads at once. */
#include "sl_tokens.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    char dir[64];
    sl_tokens *t;
} fx;

static void fx_open(fx *f)
{
    sl_error err = {0};
    snprintf(f->dir, sizeof f->dir, "/tmp/sl_tok_XXXXXX");
    cr_assert(mkdtemp(f->dir));
    cr_assert_eq(sl_tokens_open(f->dir, &f->t, &err), 0, "%s", err.msg);
}

static void fx_close(fx *f)
{
    sl_tokens_free(f->t);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    cr_assert_eq(system(cmd), 0);
}

static int check(sl_tokens *t, const char *secret, sl_action a, const char *ds)
{
    sl_error err = {0};
    return sl_tokens_check(t, sl_str_from_cstr(secret), a, sl_str_from_cstr(ds), NULL, 0, &err);
}

Test(tokens, admin_bootstrap_and_reload)
{
    fx f;
    fx_open(&f);
    sl_error err = {0};
    char secret[SL_TOKEN_SECRET_MAX];
    bool created;
    cr_assert_eq(sl_tokens_ensure_admin(f.t, NULL, secret, sizeof secret, &created, &err), 0);
    cr_assert(created);
    cr_assert_eq(strlen(secret), 46, "%s", secret);
    cr_assert_eq(strncmp(secret, "sl.", 3), 0);
    for (size_t i = 3; i < 46; i++)
        cr_assert(
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", secret[i]));
    char again[SL_TOKEN_SECRET_MAX] = "";
    cr_assert_eq(sl_tokens_ensure_admin(f.t, NULL, again, sizeof again, &created, &err), 0);
    cr_assert(!created);
    cr_assert_str_eq(again, "");

    char path[128];
    snprintf(path, sizeof path, "%s/tokens", f.dir);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);

    sl_tokens_free(f.t);
    cr_assert_eq(sl_tokens_open(f.dir, &f.t, &err), 0, "%s", err.msg);
    cr_assert_eq(check(f.t, secret, SL_ACTION_ADMIN, ""), 0);
    cr_assert_eq(check(f.t, secret, SL_ACTION_DROP, "x"), 0);
    cr_assert_eq(check(f.t, "sl.wrong", SL_ACTION_ADMIN, ""), SL_EMISSING);
    cr_assert_eq(check(f.t, "", SL_ACTION_ADMIN, ""), SL_EMISSING);
    cr_assert_eq(sl_tokens_ensure_admin(f.t, NULL, again, sizeof again, &created, &err), 0);
    cr_assert(!created);
    fx_close(&f);
}

Test(tokens, preset_admin)
{
    fx f;
    fx_open(&f);
    sl_error err = {0};
    char secret[SL_TOKEN_SECRET_MAX];
    bool created;
    cr_assert_eq(sl_tokens_ensure_admin(f.t, "bad token", secret, sizeof secret, &created, &err),
                 SL_EINVAL);
    cr_assert_eq(sl_tokens_ensure_admin(f.t, "my-admin", secret, sizeof secret, &created, &err), 0);
    cr_assert(created);
    cr_assert_str_eq(secret, "my-admin");
    cr_assert_eq(check(f.t, "my-admin", SL_ACTION_TOKENS, ""), 0);
    cr_assert_eq(check(f.t, "my-admi", SL_ACTION_TOKENS, ""), SL_EMISSING);
    cr_assert_eq(check(f.t, "my-admin2", SL_ACTION_TOKENS, ""), SL_EMISSING);
    fx_close(&f);
}

Test(tokens, scopes)
{
    fx f;
    fx_open(&f);
    sl_error err = {0};
    char app[SL_TOKEN_SECRET_MAX], rd[SL_TOKEN_SECRET_MAX], cr[SL_TOKEN_SECRET_MAX],
        tk[SL_TOKEN_SECRET_MAX];
    sl_str s1[] = {SL_STR("DATASOURCES:APPEND:events"), SL_STR("DATASOURCES:DROP:events")};
    cr_assert_eq(sl_tokens_create(f.t, SL_STR("app"), s1, 2, app, sizeof app, &err), 0, "%s",
                 err.msg);
    sl_str s2[] = {SL_STR("DATASOURCES:READ:events")};
    cr_assert_eq(sl_tokens_create(f.t, SL_STR("rd"), s2, 1, rd, sizeof rd, &err), 0);
    sl_str s3[] = {SL_STR("DATASOURCES:CREATE")};
    cr_assert_eq(sl_tokens_create(f.t, SL_STR("cr"), s3, 1, cr, sizeof cr, &err), 0);
    sl_str s4[] = {SL_STR("TOKENS")};
    cr_assert_eq(sl_tokens_create(f.t, SL_STR("tk"), s4, 1, tk, sizeof tk, &err), 0);

    cr_assert_eq(check(f.t, app, SL_ACTION_APPEND, "events"), 0);
    cr_assert_eq(check(f.t, app, SL_ACTION_APPEND, "events2"), SL_EINVAL);
    cr_assert_eq(check(f.t, app, SL_ACTION_APPEND, "event"), SL_EINVAL);
    cr_assert_eq(check(f.t, app, SL_ACTION_DROP, "events"), 0);
    cr_assert_eq(check(f.t, app, SL_ACTION_READ, "events"), SL_EINVAL);
    cr_assert_eq(check(f.t, app, SL_ACTION_CREATE, ""), SL_EINVAL);
    cr_assert_eq(check(f.t, rd, SL_ACTION_READ, "events"), 0);
    cr_assert_eq(check(f.t, rd, SL_ACTION_READ, "events_quarantine"), 0);
    cr_assert_eq(check(f.t, rd, SL_ACTION_READ, "other"), SL_EINVAL);
    cr_assert_eq(check(f.t, rd, SL_ACTION_APPEND, "events"), SL_EINVAL);
    cr_assert_eq(check(f.t, cr, SL_ACTION_CREATE, ""), 0);
    cr_assert_eq(check(f.t, cr, SL_ACTION_APPEND, "anything"), 0);
    cr_assert_eq(check(f.t, cr, SL_ACTION_READ, "anything"), SL_EINVAL);
    cr_assert_eq(check(f.t, cr, SL_ACTION_TOKENS, ""), SL_EINVAL);
    cr_assert_eq(check(f.t, tk, SL_ACTION_TOKENS, ""), 0);
    cr_assert_eq(check(f.t, tk, SL_ACTION_ADMIN, ""), SL_EINVAL);

    char name[SL_TOKEN_NAME_MAX + 1];
    cr_assert_eq(sl_tokens_check(f.t, sl_str_from_cstr(app), SL_ACTION_READ, SL_STR("events"), name,
                                 sizeof name, &err),
                 SL_EINVAL);
    cr_assert_str_eq(name, "app");
    cr_assert(strstr(err.msg, "DATASOURCES:READ:events"), "%s", err.msg);

    cr_assert_eq(sl_tokens_valid_scope(SL_STR("DATASOURCES:READ:bad-name"), &err), SL_EINVAL);
    cr_assert_eq(sl_tokens_valid_scope(SL_STR("ROOT"), &err), SL_EINVAL);
    sl_str bad[] = {SL_STR("NOPE")};
    cr_assert_eq(sl_tokens_create(f.t, SL_STR("x"), bad, 1, app, sizeof app, &err), SL_EINVAL);
    cr_assert_eq(sl_tokens_create(f.t, SL_STR("app"), s2, 1, app, sizeof app, &err), SL_EINVAL);
    cr_assert_eq(sl_tokens_create(f.t, SL_STR("a b"), s2, 1, app, sizeof app, &err), SL_EINVAL);
    fx_close(&f);
}

Test(tokens, grant_delete_list)
{
    fx f;
    fx_open(&f);
    sl_error err = {0};
    cr_assert_eq(sl_tokens_grant(f.t, SL_STR("tracker"), SL_STR("DATASOURCES:APPEND:a"), &err), 0);
    cr_assert_eq(sl_tokens_grant(f.t, SL_STR("tracker"), SL_STR("DATASOURCES:APPEND:b"), &err), 0);
    cr_assert_eq(sl_tokens_grant(f.t, SL_STR("tracker"), SL_STR("DATASOURCES:APPEND:a"), &err), 0);
    char secret[SL_TOKEN_SECRET_MAX];
    cr_assert_eq(sl_tokens_get_secret(f.t, SL_STR("tracker"), secret, sizeof secret, &err), 0);
    cr_assert_eq(check(f.t, secret, SL_ACTION_APPEND, "b"), 0);

    sl_buf b;
    sl_buf_init(&b, 0);
    cr_assert_eq(sl_tokens_list_json(f.t, &b), 0);
    cr_assert_eq(sl_buf_append(&b, "", 1), 0);
    cr_assert_str_eq((char *)b.data, "{\"tokens\":[{\"name\":\"tracker\",\"scopes\":["
                                     "\"DATASOURCES:APPEND:a\",\"DATASOURCES:APPEND:b\"]}]}");
    b.len = 0;
    cr_assert_eq(sl_tokens_token_json(f.t, SL_STR("tracker"), &b), 0);
    cr_assert_eq(sl_buf_append(&b, "", 1), 0);
    cr_assert(strstr((char *)b.data, secret));
    sl_buf_free(&b);

    /* Persisted across a reopen. */
    sl_tokens_free(f.t);
    cr_assert_eq(sl_tokens_open(f.dir, &f.t, &err), 0);
    cr_assert_eq(check(f.t, secret, SL_ACTION_APPEND, "a"), 0);
    cr_assert_eq(sl_tokens_delete(f.t, SL_STR("tracker"), &err), 0);
    cr_assert_eq(check(f.t, secret, SL_ACTION_APPEND, "a"), SL_EMISSING);
    cr_assert_eq(sl_tokens_delete(f.t, SL_STR("tracker"), &err), SL_EMISSING);
    sl_tokens_free(f.t);
    cr_assert_eq(sl_tokens_open(f.dir, &f.t, &err), 0);
    cr_assert_eq(sl_tokens_get_secret(f.t, SL_STR("tracker"), secret, sizeof secret, &err),
                 SL_EMISSING);
    fx_close(&f);
}

Test(tokens, revoke_datasource_removes_only_its_scopes)
{
    fx f;
    fx_open(&f);
    sl_error err = {0};
    const char *grants[][2] = {
        {"tracker", "DATASOURCES:APPEND:ev"}, {"tracker", "DATASOURCES:APPEND:ev2"},
        {"reader", "DATASOURCES:READ:ev"},    {"reader", "DATASOURCES:DROP:ev"},
        {"ops", "DATASOURCES:CREATE"},        {"ops", "DATASOURCES:READ:e"}};
    for (size_t i = 0; i < sizeof grants / sizeof grants[0]; i++)
        cr_assert_eq(sl_tokens_grant(f.t, sl_str_from_cstr(grants[i][0]),
                                     sl_str_from_cstr(grants[i][1]), &err),
                     0);
    size_t n = 99;
    cr_assert_eq(sl_tokens_revoke_datasource(f.t, SL_STR("ev"), &n, &err), 0);
    cr_assert_eq(n, 3);
    cr_assert_eq(sl_tokens_revoke_datasource(f.t, SL_STR("ev"), &n, &err), 0);
    cr_assert_eq(n, 0);
    /* Persisted; tokens left without scopes stay. */
    sl_tokens_free(f.t);
    cr_assert_eq(sl_tokens_open(f.dir, &f.t, &err), 0);
    sl_buf b;
    sl_buf_init(&b, 0);
    cr_assert_eq(sl_tokens_list_json(f.t, &b), 0);
    cr_assert_eq(sl_buf_append(&b, "", 1), 0);
    cr_assert_str_eq((char *)b.data,
                     "{\"tokens\":[{\"name\":\"ops\",\"scopes\":[\"DATASOURCES:CREATE\","
                     "\"DATASOURCES:READ:e\"]},{\"name\":\"reader\",\"scopes\":[]},"
                     "{\"name\":\"tracker\",\"scopes\":[\"DATASOURCES:APPEND:ev2\"]}]}");
    sl_buf_free(&b);
    char secret[SL_TOKEN_SECRET_MAX];
    cr_assert_eq(sl_tokens_get_secret(f.t, SL_STR("reader"), secret, sizeof secret, &err), 0);
    cr_assert_eq(check(f.t, secret, SL_ACTION_READ, "ev"), SL_EINVAL);
    fx_close(&f);
}

typedef struct {
    sl_tokens *t;
    const char *secret;
    int bad;
} thr_arg;

static void *checker(void *p)
{
    thr_arg *a = p;
    for (int i = 0; i < 2000; i++)
        if (check(a->t, a->secret, SL_ACTION_APPEND, "events") != 0)
            a->bad++;
    return NULL;
}

Test(tokens, concurrent_checks_and_changes)
{
    fx f;
    fx_open(&f);
    sl_error err = {0};
    char secret[SL_TOKEN_SECRET_MAX];
    sl_str s[] = {SL_STR("DATASOURCES:APPEND:events")};
    cr_assert_eq(sl_tokens_create(f.t, SL_STR("w"), s, 1, secret, sizeof secret, &err), 0);
    pthread_t th[4];
    thr_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (thr_arg){f.t, secret, 0};
        pthread_create(&th[i], NULL, checker, &args[i]);
    }
    char other[SL_TOKEN_SECRET_MAX];
    for (int i = 0; i < 20; i++) {
        char name[16];
        snprintf(name, sizeof name, "t%d", i);
        cr_assert_eq(sl_tokens_create(f.t, sl_str_from_cstr(name), s, 1, other, sizeof other, &err),
                     0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(args[i].bad, 0);
    }
    fx_close(&f);
}
