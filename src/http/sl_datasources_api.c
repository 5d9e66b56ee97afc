/* The data source endpoints (SPEC §3): create (POST /v0/datasources with a .datasource body or
 * name= and schema=), list, get (JSON, or the file back with a .datasource suffix), truncate
 * and delete. The catalog does the work; this file authorises and shapes the answers. */
#include "sl_http.h"

#include <string.h>

static void json_str_or_null(sl_buf *b, sl_str s)
{
    if (s.len)
        sl_buf_append_json_string(b, s.ptr, s.len);
    else
        sl_buf_append_cstr(b, "null");
}

static void json_field(sl_buf *b, const char *key, sl_str v, bool first)
{
    if (!first)
        sl_buf_append(b, ",", 1);
    sl_buf_append_json_string(b, key, strlen(key));
    sl_buf_append(b, ":", 1);
    json_str_or_null(b, v);
}

/* Appends the JSON description of `ds` (without row counts). */
static void datasource_json(sl_buf *b, const sl_datasource *ds)
{
    const sl_datafile *df = ds->df;
    sl_buf_append_cstr(b, "{\"name\":");
    sl_buf_append_json_string(b, ds->name, ds->name_len);
    sl_buf_printf(b, ",\"version\":\"%016llx\"", (unsigned long long)ds->version);
    json_field(b, "description", df->description, false);
    sl_buf_append_cstr(b, ",\"columns\":[");
    for (size_t i = 0; i < df->n_columns; i++) {
        const sl_column *c = &df->columns[i];
        if (i)
            sl_buf_append(b, ",", 1);
        sl_buf_append(b, "{", 1);
        json_field(b, "name", c->name, true);
        json_field(b, "type", c->type_text, false);
        json_field(b, "jsonpath", c->jsonpath, false);
        json_field(b, "default_value", c->has_default ? c->default_expr : SL_STR_NULL, false);
        json_field(b, "codec", c->codec, false);
        sl_buf_append(b, "}", 1);
    }
    sl_buf_append_cstr(b, "],\"engine\":{");
    json_field(b, "engine", df->engine, true);
    json_field(b, "sorting_key", df->engine_sorting_key, false);
    json_field(b, "partition_key", df->engine_partition_key, false);
    json_field(b, "primary_key", df->engine_primary_key, false);
    json_field(b, "ttl", df->engine_ttl, false);
    json_field(b, "settings", df->engine_settings, false);
    json_field(b, "ver", df->engine_ver, false);
    json_field(b, "sign", df->engine_sign, false);
    json_field(b, "version", df->engine_version, false);
    json_field(b, "is_deleted", df->engine_is_deleted, false);
    sl_buf_append_cstr(b, "},\"indexes\":[");
    for (size_t i = 0; i < df->n_indexes; i++) {
        if (i)
            sl_buf_append(b, ",", 1);
        sl_buf_append_json_string(b, df->indexes[i].ptr, df->indexes[i].len);
    }
    sl_buf_append_cstr(b, "]}");
}

static bool have_catalog(sl_http_req *r)
{
    if (r->srv->cfg.catalog)
        return true;
    sl_http_error(r, 503, "storage is not available");
    return false;
}

void sl_http_datasources_list(sl_http_req *r)
{
    if (!have_catalog(r))
        return;
    sl_str token = sl_http_token(r);
    /* Any valid token may list; it sees the data sources it may read. */
    sl_error err = {0};
    int rc = r->srv->cfg.tokens ? sl_tokens_check(r->srv->cfg.tokens, token, SL_ACTION_ADMIN,
                                                  SL_STR_NULL, NULL, 0, &err)
                                : SL_EMISSING;
    bool admin = rc == 0;
    if (rc == SL_EMISSING) {
        sl_http_authorize(r, SL_ACTION_ADMIN, SL_STR_NULL); /* answers the 403 or 503 */
        return;
    }
    sl_datasource **list = NULL;
    size_t n = 0;
    if (sl_catalog_list(r->srv->cfg.catalog, &list, &n) != 0) {
        sl_http_error(r, 503, "out of memory listing data sources");
        return;
    }
    r->out.len = 0;
    sl_buf_append_cstr(&r->out, "{\"datasources\":[");
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        sl_str name = {list[i]->name, list[i]->name_len};
        if (!admin &&
            sl_tokens_check(r->srv->cfg.tokens, token, SL_ACTION_READ, name, NULL, 0, &err) != 0)
            continue;
        if (!first)
            sl_buf_append(&r->out, ",", 1);
        first = false;
        datasource_json(&r->out, list[i]);
    }
    sl_buf_append_cstr(&r->out, "]}");
    sl_catalog_release_list(list, n);
    sl_http_reply(r, 200, "application/json");
}

static bool ends_with(sl_str s, const char *suffix)
{
    size_t n = strlen(suffix);
    return s.len >= n && memcmp(s.ptr + s.len - n, suffix, n) == 0;
}

void sl_http_datasources_get(sl_http_req *r)
{
    if (!have_catalog(r))
        return;
    sl_str name = r->route_arg;
    bool as_file = ends_with(name, ".datasource");
    if (as_file)
        name.len -= strlen(".datasource");
    if (!sl_http_authorize(r, SL_ACTION_READ, name))
        return;
    sl_datasource *ds = sl_catalog_acquire(r->srv->cfg.catalog, name);
    if (!ds) {
        sl_http_error(r, 404, "data source '%.*s' does not exist",
                      (int)(name.len > 80 ? 80 : name.len), name.ptr);
        return;
    }
    r->out.len = 0;
    if (as_file) {
        sl_buf_append(&r->out, ds->text, ds->text_len);
        sl_datasource_release(ds);
        sl_http_reply(r, 200, "text/plain; charset=utf-8");
        return;
    }
    uint64_t rows = 0, quarantined = 0;
    sl_error err = {0};
    bool counted = sl_catalog_row_counts(r->srv->cfg.catalog, ds, &rows, &quarantined, &err) == 0;
    datasource_json(&r->out, ds);
    r->out.len--; /* reopen the object for the counts */
    if (counted)
        sl_buf_printf(&r->out, ",\"stats\":{\"row_count\":%llu,\"quarantine_row_count\":%llu}}",
                      (unsigned long long)rows, (unsigned long long)quarantined);
    else
        sl_buf_append_cstr(&r->out, ",\"stats\":null}");
    sl_datasource_release(ds);
    sl_http_reply(r, 200, "application/json");
}

/* Appends `KEY "value"` for an engine parameter given as a query parameter. */
static void engine_param(sl_http_req *r, sl_buf *text, const char *param, const char *key)
{
    sl_str v = sl_http_param(r, param);
    if (!v.len)
        return;
    sl_buf_printf(text, "%s \"", key);
    for (size_t i = 0; i < v.len; i++)
        sl_buf_append(text, v.ptr[i] == '\n' || v.ptr[i] == '\r' ? " " : &v.ptr[i], 1);
    sl_buf_append_cstr(text, "\"\n");
}

/* Builds a .datasource text from name=&schema=&engine*= parameters. */
static void text_from_params(sl_http_req *r, sl_str schema, sl_buf *text)
{
    sl_buf_append_cstr(text, "SCHEMA >\n    ");
    for (size_t i = 0; i < schema.len; i++) {
        if (schema.ptr[i] == '\n')
            sl_buf_append_cstr(text, "\n    ");
        else if (schema.ptr[i] != '\r')
            sl_buf_append(text, &schema.ptr[i], 1);
    }
    sl_buf_append_cstr(text, "\n\n");
    engine_param(r, text, "engine", "ENGINE");
    engine_param(r, text, "engine_sorting_key", "ENGINE_SORTING_KEY");
    engine_param(r, text, "engine_partition_key", "ENGINE_PARTITION_KEY");
    engine_param(r, text, "engine_primary_key", "ENGINE_PRIMARY_KEY");
    engine_param(r, text, "engine_ttl", "ENGINE_TTL");
    engine_param(r, text, "engine_settings", "ENGINE_SETTINGS");
    engine_param(r, text, "engine_ver", "ENGINE_VER");
    engine_param(r, text, "engine_sign", "ENGINE_SIGN");
    engine_param(r, text, "engine_version", "ENGINE_VERSION");
    engine_param(r, text, "engine_is_deleted", "ENGINE_IS_DELETED");
}

void sl_http_datasources_create(sl_http_req *r)
{
    if (!have_catalog(r))
        return;
    if (!sl_http_authorize(r, SL_ACTION_CREATE, SL_STR_NULL))
        return;
    if (!atomic_load(&r->srv->accepting)) {
        sl_http_error(r, 503, "the server is shutting down; retry later");
        return;
    }
    sl_str name = sl_http_param(r, "name");
    if (!name.len) {
        sl_http_error(r, 400,
                      "missing 'name': POST /v0/datasources?name=<name> with a "
                      ".datasource file as the body, or with schema=<columns>");
        return;
    }
    sl_str schema = sl_http_param(r, "schema");
    sl_buf text;
    sl_buf_init(&text, 4u << 20);
    sl_str src;
    if (schema.len) {
        text_from_params(r, schema, &text);
        src = (sl_str){(const char *)text.data, text.len};
    } else {
        if (sl_http_body(r, &src) != 0) {
            sl_buf_free(&text);
            return;
        }
        if (src.len == 0) {
            sl_http_error(r, 400,
                          "no schema: send a .datasource file as the body, or "
                          "schema=<columns> with name=");
            sl_buf_free(&text);
            return;
        }
    }
    sl_catalog_outcome outcome = SL_CATALOG_CREATED;
    sl_datasource *ds = NULL;
    sl_error err = {0};
    int rc = sl_catalog_create_text(r->srv->cfg.catalog, name, src, &outcome, &ds, &err);
    sl_buf_free(&text);
    if (rc) {
        unsigned status = outcome == SL_CATALOG_CONFLICT && ds ? 409 : rc == SL_EIO ? 500 : 400;
        if (status == 409)
            sl_http_error(r, 409,
                          "data source '%.*s' exists with a different schema; DELETE it first "
                          "(DELETE /v0/datasources/%.*s)",
                          (int)name.len, name.ptr, (int)name.len, name.ptr);
        else
            sl_http_error(r, status, "cannot create data source: %s",
                          err.msg ? err.msg : sl_strerror(rc));
        sl_datasource_release(ds);
        return;
    }
    r->out.len = 0;
    sl_buf_printf(&r->out, "{\"created\":%s,\"datasource\":",
                  outcome == SL_CATALOG_CREATED ? "true" : "false");
    datasource_json(&r->out, ds);
    /* Tokens named by TOKEN lines, with their secrets: the only time they are shown here. */
    sl_buf_append_cstr(&r->out, ",\"tokens\":[");
    for (size_t i = 0; i < ds->df->n_tokens; i++) {
        char secret[SL_TOKEN_SECRET_MAX];
        sl_str tn = ds->df->tokens[i].name;
        if (sl_tokens_get_secret(r->srv->cfg.tokens, tn, secret, sizeof(secret), &err) != 0)
            continue;
        if (r->out.data[r->out.len - 1] != '[')
            sl_buf_append(&r->out, ",", 1);
        sl_buf_append_cstr(&r->out, "{\"name\":");
        sl_buf_append_json_string(&r->out, tn.ptr, tn.len);
        sl_buf_append_cstr(&r->out, ",\"token\":");
        sl_buf_append_json_string(&r->out, secret, strlen(secret));
        sl_buf_append(&r->out, "}", 1);
    }
    sl_buf_append_cstr(&r->out, "]}");
    sl_datasource_release(ds);
    sl_http_reply(r, 200, "application/json");
}

typedef struct {
    sl_catalog *cat;
    sl_str name;
} truncate_ctx;

static int truncate_tables(void *ud, sl_error *err)
{
    truncate_ctx *c = ud;
    return sl_catalog_truncate(c->cat, c->name, err);
}

/* Truncates the tables and the rows still queued for them (sl_batcher_truncate). */
static int truncate_ds(sl_http_req *r, sl_str name, sl_error *err)
{
    truncate_ctx c = {r->srv->cfg.catalog, name};
    sl_datasource *ds = r->srv->cfg.batcher ? sl_catalog_acquire(c.cat, name) : NULL;
    if (!ds)
        return truncate_tables(&c, err);
    int rc = sl_batcher_truncate(r->srv->cfg.batcher, ds, truncate_tables, &c, err);
    sl_datasource_release(ds);
    return rc;
}

static void drop_or_truncate(sl_http_req *r, bool drop)
{
    if (!have_catalog(r))
        return;
    sl_str name = r->route_arg;
    if (!sl_http_authorize(r, SL_ACTION_DROP, name))
        return;
    sl_error err = {0};
    int rc = drop ? sl_catalog_drop(r->srv->cfg.catalog, name, &err) : truncate_ds(r, name, &err);
    if (rc == SL_EMISSING) {
        sl_http_error(r, 404, "data source '%.*s' does not exist",
                      (int)(name.len > 80 ? 80 : name.len), name.ptr);
        return;
    }
    if (rc) {
        sl_http_error(r, 500, "cannot %s data source '%.*s': %s", drop ? "delete" : "truncate",
                      (int)name.len, name.ptr, err.msg ? err.msg : sl_strerror(rc));
        return;
    }
    r->out.len = 0;
    sl_buf_append_cstr(&r->out, "{\"name\":");
    sl_buf_append_json_string(&r->out, name.ptr, name.len);
    sl_buf_printf(&r->out, ",\"%s\":true}", drop ? "deleted" : "truncated");
    sl_http_reply(r, 200, "application/json");
}

void sl_http_datasources_delete(sl_http_req *r)
{
    drop_or_truncate(r, true);
}

void sl_http_datasources_truncate(sl_http_req *r)
{
    drop_or_truncate(r, false);
}
