/* `sluice serve`: opens the data directory (tokens, catalog, embedded ClickHouse through chDB),
 * starts the batcher and the HTTP server, and runs until SIGTERM or SIGINT; then it stops taking
 * writes, flushes every buffered row to ClickHouse, closes the engine and exits 0.
 *
 * Every option also comes from a SLUICE_* environment variable; a flag wins over the variable. */
#include "sl_batcher.h"
#include "sl_catalog.h"
#include "sl_cli.h"
#include "sl_dedup.h"
#include "sl_server.h"
#include "sl_sink.h"
#include "sl_sink_fault.h"
#include "sl_tokens.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

static const char serve_usage[] =
    "usage: sluice serve [options]\n"
    "\n"
    "Runs the events API (POST /v0/events), data sources, tokens and /v0/sql over HTTP, with\n"
    "ClickHouse embedded (chDB) storing tables under DIR/clickhouse.\n"
    "\n"
    "options (environment variable in brackets):\n"
    "  --listen HOST:PORT        address to listen on (default 127.0.0.1:7181) [SLUICE_LISTEN]\n"
    "  --data DIR                data directory (default ./data) [SLUICE_DATA]\n"
    "  --threads N               HTTP worker threads (default: one per CPU) [SLUICE_THREADS]\n"
    "  --max-connections N       open connections at most (default 4096)\n"
    "                            [SLUICE_MAX_CONNECTIONS]\n"
    "  --connection-timeout S    idle/slow client timeout in seconds (default 30)\n"
    "                            [SLUICE_CONNECTION_TIMEOUT]\n"
    "  --max-request-bytes N     request body cap after decompression (default 100M)\n"
    "                            [SLUICE_MAX_REQUEST_BYTES]\n"
    "  --flush-interval MS       flush buffered rows every MS ms (default 500, at least 50)\n"
    "                            [SLUICE_FLUSH_INTERVAL]\n"
    "  --flush-bytes N           or when a data source has N bytes pending (default 16M)\n"
    "                            [SLUICE_FLUSH_BYTES]\n"
    "  --max-buffer-bytes N      bytes of write-ahead log (rows not yet in ClickHouse) at\n"
    "                            most, then 503 (default: 10G or half the free disk,\n"
    "                            whichever is less) [SLUICE_MAX_BUFFER_BYTES]\n"
    "  --fsync MODE              always (default: answer 202 after the group fsync that\n"
    "                            covers the rows), interval:MS (answer after the write,\n"
    "                            fsync every MS ms) or never [SLUICE_FSYNC]\n"
    "  --wait-timeout S          wait=true answers 504 after S seconds (default 10)\n"
    "                            [SLUICE_WAIT_TIMEOUT]\n"
    "  --rate-limit-requests N   requests/s per data source (default 1000, -1 unlimited)\n"
    "                            [SLUICE_RATE_LIMIT_REQUESTS]\n"
    "  --rate-limit-bytes N      body bytes/s per data source (default 20M, -1 unlimited)\n"
    "                            [SLUICE_RATE_LIMIT_BYTES]\n"
    "  --api-rate-limit N        requests/s of all other endpoints together, except\n"
    "                            /v0/health, /v0/ready and /metrics (default 1000, -1\n"
    "                            unlimited) [SLUICE_API_RATE_LIMIT]\n"
    "  --cors-origin ORIGIN      Access-Control-Allow-Origin (default *) [SLUICE_CORS_ORIGIN]\n"
    "  --sql-timeout S           /v0/sql max_execution_time (default 10) [SLUICE_SQL_TIMEOUT]\n"
    "  --sql-max-result-bytes N  /v0/sql result cap (default 100M)\n"
    "                            [SLUICE_SQL_MAX_RESULT_BYTES]\n"
    "  --sql-threads N           /v0/sql queries run at once, each on its own read-only\n"
    "                            connection (default 2) [SLUICE_SQL_THREADS]\n"
    "  --dedup-window T          remember accepted requests (body hash or Idempotency-Key)\n"
    "                            for T: seconds, or with an s, m or h suffix; 0 turns\n"
    "                            idempotency off (default 5h) [SLUICE_DEDUP_WINDOW]\n"
    "  --dedup-max-entries N     keys remembered at most, about 56 bytes each; the oldest\n"
    "                            go first when full (default 4M) [SLUICE_DEDUP_MAX_ENTRIES]\n"
    "  --log-level LEVEL         debug, info, warn or error (default info) [SLUICE_LOG_LEVEL]\n"
    "  --log-requests            log one line per request [SLUICE_LOG_REQUESTS=1]\n"
    "  -h, --help                show this help\n"
    "\n"
    "Sizes take K, M or G suffixes (powers of 1024). On first start an admin token is created\n"
    "(or taken from SLUICE_ADMIN_TOKEN) and printed once; it is stored in DIR/tokens.\n"
    "ClickHouse runs in-process from libchdb.so, found beside the build (make deps) or at\n"
    "SLUICE_CHDB_LIB=PATH.\n";

#define SQL_THREADS_MAX 16

typedef struct {
    const char *flag;
    const char *env;
    const char *value;
} option;

enum {
    O_LISTEN,
    O_DATA,
    O_THREADS,
    O_MAX_CONN,
    O_CONN_TIMEOUT,
    O_MAX_REQ,
    O_FLUSH_INTERVAL,
    O_FLUSH_BYTES,
    O_MAX_BUFFER,
    O_FSYNC,
    O_WAIT_TIMEOUT,
    O_RL_REQ,
    O_RL_BYTES,
    O_API_RL,
    O_CORS,
    O_SQL_TIMEOUT,
    O_SQL_MAX_RESULT,
    O_SQL_THREADS,
    O_DEDUP_WINDOW,
    O_DEDUP_MAX,
    O_LOG_LEVEL,
    O_LOG_REQUESTS,
    O_COUNT
};

static void log_line(const char *level, const char *msg)
{
    sl_log_level l = strcmp(level, "debug") == 0   ? SL_LOG_DEBUG
                     : strcmp(level, "warn") == 0  ? SL_LOG_WARN
                     : strcmp(level, "error") == 0 ? SL_LOG_ERROR
                                                   : SL_LOG_INFO;
    sl_server_log(NULL, l, msg, NULL);
}

static void batcher_log(void *ud, const char *level, const char *msg)
{
    const sl_log_level *min = ud;
    sl_log_level l = strcmp(level, "debug") == 0   ? SL_LOG_DEBUG
                     : strcmp(level, "warn") == 0  ? SL_LOG_WARN
                     : strcmp(level, "error") == 0 ? SL_LOG_ERROR
                                                   : SL_LOG_INFO;
    if (l >= *min)
        sl_server_log(NULL, l, msg, NULL);
}

/* Parses "123", "16M", "1G" (powers of 1024) or "-1". Returns false on junk. */
static bool parse_size(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno)
        return false;
    long long mul = 1;
    if (*end == 'K' || *end == 'k')
        mul = 1024, end++;
    else if (*end == 'M' || *end == 'm')
        mul = 1024 * 1024, end++;
    else if (*end == 'G' || *end == 'g')
        mul = 1024LL * 1024 * 1024, end++;
    if (*end == 'i' || *end == 'B')
        end++;
    if (*end == 'B')
        end++;
    if (*end)
        return false;
    *out = v * mul;
    return true;
}

static bool parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno)
        return false;
    *out = v;
    return true;
}

/* Parses a duration in whole seconds: "300", "300s", "10m", "5h" (fractions allowed: "1.5h").
 * Returns false on junk. */
static bool parse_duration(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v < 0)
        return false;
    double mul = 1;
    if (*end == 's')
        end++;
    else if (*end == 'm')
        mul = 60, end++;
    else if (*end == 'h')
        mul = 3600, end++;
    if (*end || v * mul > 1e9)
        return false;
    *out = (uint64_t)(v * mul + 0.5);
    return true;
}

/* The batcher's recovery hook: a key of a record found in the write-ahead log. */
static void wal_key_recovered(void *ud, sl_str ds_name, const uint8_t *key, uint64_t time_us,
                              uint64_t n_rows, uint64_t n_quarantined, uint64_t seq)
{
    (void)ds_name;
    sl_dedup_add_done(ud, sl_dedup_key_from_bytes(key), n_rows, n_quarantined, time_us, seq, NULL);
}

static int bad_value(const option *o)
{
    fprintf(stderr, "sluice serve: bad value '%s' for %s\n", o->value, o->flag);
    return 2;
}

int sl_cmd_serve(int argc, char **argv)
{
    option opts[O_COUNT] = {
        [O_LISTEN] = {"--listen", "SLUICE_LISTEN", "127.0.0.1:7181"},
        [O_DATA] = {"--data", "SLUICE_DATA", "./data"},
        [O_THREADS] = {"--threads", "SLUICE_THREADS", "0"},
        [O_MAX_CONN] = {"--max-connections", "SLUICE_MAX_CONNECTIONS", "4096"},
        [O_CONN_TIMEOUT] = {"--connection-timeout", "SLUICE_CONNECTION_TIMEOUT", "30"},
        [O_MAX_REQ] = {"--max-request-bytes", "SLUICE_MAX_REQUEST_BYTES", "100M"},
        [O_FLUSH_INTERVAL] = {"--flush-interval", "SLUICE_FLUSH_INTERVAL", "500"},
        [O_FLUSH_BYTES] = {"--flush-bytes", "SLUICE_FLUSH_BYTES", "16M"},
        [O_MAX_BUFFER] = {"--max-buffer-bytes", "SLUICE_MAX_BUFFER_BYTES", "auto"},
        [O_FSYNC] = {"--fsync", "SLUICE_FSYNC", "always"},
        [O_WAIT_TIMEOUT] = {"--wait-timeout", "SLUICE_WAIT_TIMEOUT", "10"},
        [O_RL_REQ] = {"--rate-limit-requests", "SLUICE_RATE_LIMIT_REQUESTS", "1000"},
        [O_RL_BYTES] = {"--rate-limit-bytes", "SLUICE_RATE_LIMIT_BYTES", "20000000"},
        [O_API_RL] = {"--api-rate-limit", "SLUICE_API_RATE_LIMIT", "1000"},
        [O_CORS] = {"--cors-origin", "SLUICE_CORS_ORIGIN", "*"},
        [O_SQL_TIMEOUT] = {"--sql-timeout", "SLUICE_SQL_TIMEOUT", "10"},
        [O_SQL_MAX_RESULT] = {"--sql-max-result-bytes", "SLUICE_SQL_MAX_RESULT_BYTES", "100M"},
        [O_SQL_THREADS] = {"--sql-threads", "SLUICE_SQL_THREADS", "2"},
        [O_DEDUP_WINDOW] = {"--dedup-window", "SLUICE_DEDUP_WINDOW", "5h"},
        [O_DEDUP_MAX] = {"--dedup-max-entries", "SLUICE_DEDUP_MAX_ENTRIES", "4M"},
        [O_LOG_LEVEL] = {"--log-level", "SLUICE_LOG_LEVEL", "info"},
        [O_LOG_REQUESTS] = {"--log-requests", "SLUICE_LOG_REQUESTS", "0"},
    };
    for (int i = 0; i < O_COUNT; i++) {
        const char *e = getenv(opts[i].env);
        if (e && *e)
            opts[i].value = e;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(serve_usage, stdout);
            return 0;
        }
        if (strcmp(a, "--log-requests") == 0) {
            opts[O_LOG_REQUESTS].value = "1";
            continue;
        }
        int k = -1;
        size_t flen = 0;
        for (int j = 0; j < O_COUNT; j++) {
            flen = strlen(opts[j].flag);
            if (strncmp(a, opts[j].flag, flen) == 0 && (a[flen] == '\0' || a[flen] == '=')) {
                k = j;
                break;
            }
        }
        if (k < 0) {
            fprintf(stderr, "sluice serve: unknown option '%s'\n\n%s", a, serve_usage);
            return 2;
        }
        if (a[flen] == '=') {
            opts[k].value = a + flen + 1;
        } else if (i + 1 < argc) {
            opts[k].value = argv[++i];
        } else {
            fprintf(stderr, "sluice serve: %s needs a value\n", a);
            return 2;
        }
    }

    sl_server_config sc = {0};
    sl_batcher_config bc;
    sl_batcher_config_default(&bc);
    long long n;
    double d;

    /* --listen HOST:PORT; [v6]:port for IPv6. */
    char host[256];
    const char *lv = opts[O_LISTEN].value;
    const char *colon = strrchr(lv, ':');
    if (!colon || colon == lv || (size_t)(colon - lv) >= sizeof(host) ||
        !parse_size(colon + 1, &n) || n < 0 || n > 65535)
        return bad_value(&opts[O_LISTEN]);
    size_t hl = (size_t)(colon - lv);
    if (lv[0] == '[' && lv[hl - 1] == ']') {
        memcpy(host, lv + 1, hl - 2);
        host[hl - 2] = '\0';
    } else {
        memcpy(host, lv, hl);
        host[hl] = '\0';
    }
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    sc.host = host;
    sc.port = (uint16_t)n;

    if (!parse_size(opts[O_THREADS].value, &n) || n < 0 || n > 1024)
        return bad_value(&opts[O_THREADS]);
    sc.threads = (unsigned)n;
    if (!parse_size(opts[O_MAX_CONN].value, &n) || n < 1 || n > 1000000)
        return bad_value(&opts[O_MAX_CONN]);
    sc.max_connections = (unsigned)n;
    if (!parse_size(opts[O_CONN_TIMEOUT].value, &n) || n < 1 || n > 86400)
        return bad_value(&opts[O_CONN_TIMEOUT]);
    sc.connection_timeout_s = (unsigned)n;
    if (!parse_size(opts[O_MAX_REQ].value, &n) || n < 1024)
        return bad_value(&opts[O_MAX_REQ]);
    sc.max_request_bytes = (size_t)n;
    if (!parse_size(opts[O_FLUSH_INTERVAL].value, &n) || n < 50 || n > 3600000)
        return bad_value(&opts[O_FLUSH_INTERVAL]);
    bc.flush_interval_ms = (uint32_t)n;
    if (!parse_size(opts[O_FLUSH_BYTES].value, &n) || n < 1)
        return bad_value(&opts[O_FLUSH_BYTES]);
    bc.flush_bytes = (size_t)n;
    if (strcmp(opts[O_MAX_BUFFER].value, "auto") == 0)
        n = 0; /* decided below from the free disk */
    else if (!parse_size(opts[O_MAX_BUFFER].value, &n) || n < 1)
        return bad_value(&opts[O_MAX_BUFFER]);
    bc.max_buffer_bytes = (size_t)n;
    if (sl_wal_parse_fsync(sl_str_from_cstr(opts[O_FSYNC].value), &bc.fsync,
                           &bc.fsync_interval_ms) != 0)
        return bad_value(&opts[O_FSYNC]);
    if (!parse_double(opts[O_WAIT_TIMEOUT].value, &d) || d <= 0 || d > 3600)
        return bad_value(&opts[O_WAIT_TIMEOUT]);
    sc.wait_timeout_s = d;
    if (!parse_size(opts[O_RL_REQ].value, &n) || n == 0 || n < -1)
        return bad_value(&opts[O_RL_REQ]);
    sc.ratelimit.requests_per_s = (double)n;
    if (!parse_size(opts[O_RL_BYTES].value, &n) || n == 0 || n < -1)
        return bad_value(&opts[O_RL_BYTES]);
    sc.ratelimit.bytes_per_s = (double)n;
    if (!parse_size(opts[O_API_RL].value, &n) || n == 0 || n < -1)
        return bad_value(&opts[O_API_RL]);
    sc.api_requests_per_s = (double)n;
    sc.cors_origin = opts[O_CORS].value;
    if (!parse_double(opts[O_SQL_TIMEOUT].value, &d) || d <= 0)
        return bad_value(&opts[O_SQL_TIMEOUT]);
    sc.sql_max_execution_s = d;
    if (!parse_size(opts[O_SQL_MAX_RESULT].value, &n) || n < 1024)
        return bad_value(&opts[O_SQL_MAX_RESULT]);
    sc.sql_max_result_bytes = (size_t)n;
    if (!parse_size(opts[O_SQL_THREADS].value, &n) || n < 1 || n > SQL_THREADS_MAX)
        return bad_value(&opts[O_SQL_THREADS]);
    size_t sql_threads = (size_t)n;
    sl_dedup_config dc;
    sl_dedup_config_default(&dc);
    if (!parse_duration(opts[O_DEDUP_WINDOW].value, &dc.window_s))
        return bad_value(&opts[O_DEDUP_WINDOW]);
    if (!parse_size(opts[O_DEDUP_MAX].value, &n) || n < 16 || n > (1LL << 30))
        return bad_value(&opts[O_DEDUP_MAX]);
    dc.max_entries = (size_t)n;
    const char *lvl = opts[O_LOG_LEVEL].value;
    if (strcmp(lvl, "debug") == 0)
        sc.log_level = SL_LOG_DEBUG;
    else if (strcmp(lvl, "info") == 0)
        sc.log_level = SL_LOG_INFO;
    else if (strcmp(lvl, "warn") == 0)
        sc.log_level = SL_LOG_WARN;
    else if (strcmp(lvl, "error") == 0)
        sc.log_level = SL_LOG_ERROR;
    else
        return bad_value(&opts[O_LOG_LEVEL]);
    sc.log_requests = strcmp(opts[O_LOG_REQUESTS].value, "0") != 0 &&
                      strcmp(opts[O_LOG_REQUESTS].value, "false") != 0;
    bc.log = batcher_log;
    bc.log_ud = &sc.log_level;

    const char *data = opts[O_DATA].value;
    if (mkdir(data, 0750) != 0 && errno != EEXIST) {
        fprintf(stderr, "sluice serve: cannot create %s: %s\n", data, strerror(errno));
        return 1;
    }
    char ch_path[4096], wal_path[4096];
    snprintf(ch_path, sizeof(ch_path), "%s/clickhouse", data);
    snprintf(wal_path, sizeof(wal_path), "%s/wal", data);
    bc.wal_dir = wal_path;
    if (bc.max_buffer_bytes == 0) {
        struct statvfs vfs;
        uint64_t cap = (uint64_t)10 << 30;
        if (statvfs(data, &vfs) == 0) {
            uint64_t half = (uint64_t)vfs.f_bavail * vfs.f_frsize / 2;
            if (half < cap)
                cap = half;
        }
        bc.max_buffer_bytes = (size_t)(cap > (64u << 20) ? cap : (64u << 20));
    }

    /* Our threads (and chDB's) inherit this mask; the main thread takes the signals with
     * sigwait, so no handler runs in a random thread. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    int status = 1;
    sl_error err = {0};
    sl_sink *ddl = NULL, *ins = NULL;
    sl_sink *ro[SQL_THREADS_MAX] = {0};
    size_t n_ro = 0;
    sl_tokens *tokens = NULL;
    sl_catalog *cat = NULL;
    sl_batcher *batcher = NULL;
    sl_dedup *dedup = NULL;
    sl_server *srv = NULL;
    bool chdb_up = false;

    if (sl_sink_chdb_global_init(&err) != 0) {
        fprintf(stderr, "sluice serve: %s\n", err.msg);
        goto out;
    }
    chdb_up = true;
    /* Settings of the writing connections: column types ClickHouse calls "suspicious" but the
     * datafile grammar allows (LowCardinality of numbers, long FixedStrings), and JSON columns,
     * which the converter encodes as their text. */
    static const char *write_extra[] = {"--allow_suspicious_low_cardinality_types=1",
                                        "--allow_suspicious_fixed_string_types=1",
                                        "--input_format_binary_read_json_as_string=1"};
    sl_sink_chdb_options co = {.path = ch_path,
                               .warm_up = true,
                               .extra = write_extra,
                               .n_extra = sizeof(write_extra) / sizeof(write_extra[0])};
    if (sl_sink_chdb_open(&co, &ins, &err) != 0) {
        fprintf(stderr, "sluice serve: cannot open ClickHouse in %s: %s\n", ch_path, err.msg);
        goto out;
    }
    /* Test hook (docs/durability.md): inserts fail while this file exists. */
    const char *fault_file = getenv("SLUICE_FAULT_INSERT_FILE");
    if (fault_file && *fault_file) {
        sl_sink *wrapped = NULL;
        if (sl_sink_fault_wrap(ins, fault_file, &wrapped, &err) != 0) {
            fprintf(stderr, "sluice serve: %s\n", err.msg);
            goto out;
        }
        ins = wrapped;
        log_line("warn", "SLUICE_FAULT_INSERT_FILE is set: inserts fail while that file exists");
    }
    co.warm_up = false;
    if (sl_sink_chdb_open(&co, &ddl, &err) != 0) {
        fprintf(stderr, "sluice serve: cannot open ClickHouse in %s: %s\n", ch_path, err.msg);
        goto out;
    }
    char set_time[64], set_bytes[64];
    snprintf(set_time, sizeof(set_time), "--max_execution_time=%g", sc.sql_max_execution_s);
    snprintf(set_bytes, sizeof(set_bytes), "--max_result_bytes=%zu", sc.sql_max_result_bytes);
    /* Without the scalar subquery optimisation, EXPLAIN QUERY TREE shows the query of every
     * scalar subquery (with it, large results become __getScalar('<hash>') and their tables
     * vanish from the tree the /v0/sql table check reads). */
    const char *ro_extra[] = {set_time, set_bytes, "--enable_scalar_subquery_optimization=0"};
    sl_sink_chdb_options ro_opt = {.path = ch_path,
                                   .readonly = true,
                                   .extra = ro_extra,
                                   .n_extra = sizeof(ro_extra) / sizeof(ro_extra[0])};
    for (; n_ro < sql_threads; n_ro++)
        if (sl_sink_chdb_open(&ro_opt, &ro[n_ro], &err) != 0) {
            fprintf(stderr, "sluice serve: cannot open a read-only ClickHouse connection: %s\n",
                    err.msg);
            goto out;
        }
    if (sl_tokens_open(data, &tokens, &err) != 0) {
        fprintf(stderr, "sluice serve: cannot open the tokens in %s: %s\n", data, err.msg);
        goto out;
    }
    char admin[SL_TOKEN_SECRET_MAX];
    bool created = false;
    if (sl_tokens_ensure_admin(tokens, getenv("SLUICE_ADMIN_TOKEN"), admin, sizeof(admin), &created,
                               &err) != 0) {
        fprintf(stderr, "sluice serve: cannot create the admin token: %s\n", err.msg);
        goto out;
    }
    if (sl_catalog_open(data, ddl, tokens, &cat, &err) != 0) {
        fprintf(stderr, "sluice serve: cannot open the data sources in %s: %s\n", data, err.msg);
        goto out;
    }
    if (dc.window_s > 0) {
        char dedup_dir[4096];
        snprintf(dedup_dir, sizeof(dedup_dir), "%s/dedup", data);
        if (sl_dedup_open(dedup_dir, &dc, &dedup, &err) != 0) {
            fprintf(stderr, "sluice serve: cannot open the idempotency keys in %s: %s\n", dedup_dir,
                    err.msg);
            goto out;
        }
    }
    /* The batcher replays the write-ahead log (and hands its idempotency keys to dedup). */
    bc.catalog = cat;
    bc.recovered = dedup ? wal_key_recovered : NULL;
    bc.recovered_ud = dedup;
    if (sl_batcher_new(&bc, ins, &batcher, &err) != 0) {
        fprintf(stderr, "sluice serve: cannot start the batcher: %s\n", err.msg);
        goto out;
    }
    sc.catalog = cat;
    sc.tokens = tokens;
    sc.batcher = batcher;
    sc.dedup = dedup;
    sc.sql_sinks = ro;
    sc.n_sql_sinks = n_ro;
    if (sl_server_start(&sc, &srv, &err) != 0) {
        fprintf(stderr, "sluice serve: %s\n", err.msg);
        goto out;
    }
    unsigned port = sl_server_port(srv);
    const char *shown = strchr(host, ':') ? "[%s]" : "%s";
    char url[300];
    int ul = snprintf(url, sizeof(url), "http://");
    ul += snprintf(url + ul, sizeof(url) - (size_t)ul, shown,
                   strcmp(host, "0.0.0.0") == 0 ? "127.0.0.1" : host);
    snprintf(url + ul, sizeof(url) - (size_t)ul, ":%u", port);
    char fields[512];
    snprintf(fields, sizeof(fields), "\"url\":\"%s\",\"data\":\"%s\"", url, data);
    sl_server_log(srv, SL_LOG_INFO, "listening", fields);
    if (created) {
        printf("sluice: created the admin token (shown once; stored in %s/tokens):\n  %s\n"
               "try:\n  curl -d '{\"hello\":\"world\"}' '%s/v0/events?name=hello&token=%s'\n"
               "  curl '%s/v0/sql?q=select+*+from+hello&token=%s'\n",
               data, admin, url, admin, url, admin);
    } else {
        printf("sluice: listening on %s (data in %s)\n", url, data);
    }
    fflush(stdout);

    int sig = 0;
    sigwait(&sigs, &sig);
    snprintf(fields, sizeof(fields), "\"signal\":\"%s\"", sig == SIGINT ? "SIGINT" : "SIGTERM");
    sl_server_log(srv, SL_LOG_INFO, "shutting down: flushing buffered rows", fields);
    sl_server_quiesce(srv);
    status = 0;
    if (sl_batcher_stop(batcher, 30000, &err) != 0) {
        sl_server_log(srv, SL_LOG_ERROR, err.msg, NULL);
        status = 1;
    }

out:
    sl_server_free(srv);
    sl_dedup_free(dedup);
    sl_batcher_free(batcher);
    sl_catalog_free(cat);
    sl_tokens_free(tokens);
    for (size_t i = 0; i < n_ro; i++)
        sl_sink_close(ro[i]);
    sl_sink_close(ddl);
    sl_sink_close(ins);
    if (chdb_up)
        sl_sink_chdb_global_shutdown();
    if (status == 0)
        log_line("info", "stopped");
    return status;
}
