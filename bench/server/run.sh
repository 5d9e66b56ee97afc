#!/usr/bin/env bash
# Server benchmark, side by side on loopback, ROUNDS rounds of each test:
#   small    wrk (1 thread, 64 keep-alive connections) POSTing one small event: sluice vs nginx
#            answering a static 202; afterwards count() must hold every accepted row.
#   bulk     gen_events.py web rows POSTed as ~10 MB NDJSON bodies (wait=false) over BULK_CONNS
#            connections until count() sees them all, vs ClickHouse's JSONEachRow insert of the
#            same file through chDB into MergeTree (bench/ch_structure.py raw and typed layouts);
#            the same client against nginx shows the client's own ceiling.
#   sink     the same rows as sluice's RowBinaryWithDefaults inserted through chDB into the real
#            table (3 runs in one process): what the flusher's insert costs alone.
#   latency  one event every 10 ms for LAT_SECONDS, poll /v0/sql every 20 ms: 202 → visible.
# Every sluice run uses a fresh server and data directory; resident memory (VmRSS at rest after
# start, VmHWM after each load: peak, reset through /proc/PID/clear_refs before the load).
#
#   bench/server/run.sh                        everything, ROUNDS=3
#   ROUNDS=1 TESTS="small" bench/server/run.sh
#   PROFILE=1 TESTS="small bulk" ROUNDS=1 bench/server/run.sh    perf record of sluice too
#   BULK_INMEM=1 TESTS=bulk bench/server/run.sh   bulk also with the in-memory build (no WAL,
#                                                 bench/server/build_inmem.sh): the WAL's cost
#
# Environment: ROUNDS (3), TESTS ("small bulk sink latency"), DURATION (wrk seconds, 10), CONNS (64),
# BULK_ROWS (1000000), BULK_CONNS (4), CHUNK_MIB (10), LAT_SECONDS (30), PROFILE (0), BULK_INMEM (0),
# GEN.
# Logs and results in build/bench/server/; everything started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-3}
TESTS=${TESTS:-"small bulk sink latency"}
DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
BULK_ROWS=${BULK_ROWS:-1000000}
BULK_CONNS=${BULK_CONNS:-4}
CHUNK_MIB=${CHUNK_MIB:-10}
LAT_SECONDS=${LAT_SECONDS:-30}
PROFILE=${PROFILE:-0}
BULK_INMEM=${BULK_INMEM:-0}
GEN=${GEN:-../shared/tools/gen_events.py}

OUT=build/bench/server
CHDB_LIB=deps/chdb/lib
SLUICE=build/release/sluice
TOKEN=bench-admin-token
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
STAMP=$(date +%Y%m%d-%H%M%S)
LOG="$OUT/run-$STAMP.log"
RESULTS="$OUT/results-$STAMP.txt"
TMP=$(mktemp -d /tmp/sluice-bench-server.XXXXXX)
PIDS=()

# Stops everything this script started (TERM, then KILL after 15 s), removes the temp dir.
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || continue
        for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "$*" | tee -a "$LOG"; }
result() { echo "$*" | tee -a "$LOG" >>"$RESULTS"; }

need_tools() {
    local missing=()
    command -v wrk >/dev/null || missing+=(wrk)
    [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    fi
}

build() {
    # A half-edited file may break the build for a while: then measure the last binary that
    # built, and say so in the log.
    if ! make -s "$SLUICE"; then
        [ -x "$SLUICE" ] || exit 1
        log "WARNING: make failed; measuring the existing $SLUICE ($(stat -c %y "$SLUICE"))"
    fi
    # A private copy: others rebuilding build/release/sluice mid-run must not change what is measured.
    cp "$SLUICE" "$TMP/sluice"
    SLUICE_BIN=$TMP/sluice
    if [ "$BULK_INMEM" = 1 ]; then
        cp "$(bench/server/build_inmem.sh)" "$TMP/sluice-inmem"
    fi
    gcc -std=c11 -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral -D_GNU_SOURCE -O2 -g \
        -o "$OUT/chdb_insert" bench/server/chdb_insert.c -L"$CHDB_LIB" -lchdb \
        -Wl,-rpath,"$(realpath "$CHDB_LIB")"
}

generate() {
    python3 "$GEN" small --schema >"$OUT/small.datasource"
    python3 "$GEN" small --rows 1 >"$OUT/small.ndjson"
    python3 "$GEN" web --schema >"$OUT/web.datasource"
    printf 'SCHEMA >\n    `id` UInt64 `json:$.id`,\n    `sent` DateTime64(6) `json:$.sent`\n\n%s\n%s\n' \
        'ENGINE "MergeTree"' 'ENGINE_SORTING_KEY "id"' >"$OUT/lat.datasource"
    local f="$OUT/web-$BULK_ROWS.ndjson"
    if [ ! -s "$f" ]; then
        log "== generating $f (slow, done once)"
        python3 "$GEN" web --rows "$BULK_ROWS" >"$f.tmp"
        mv "$f.tmp" "$f"
    fi
    for m in raw typed; do python3 bench/ch_structure.py "$OUT/web.datasource" $m >"$OUT/web.$m.columns"; done
    # The table's own columns (json paths dropped) and sluice's RowBinaryWithDefaults of the file.
    sed -n '/^SCHEMA >/,/^$/p' "$OUT/web.datasource" | sed '1d; s/`json:[^`]*`//' | tr '\n' ' ' |
        sed 's/, *$//' >"$OUT/web.sluice.columns"
    if [[ " $TESTS " == *" sink "* ]] && [ ! -s "$OUT/web-$BULK_ROWS.rbwd" ]; then
        "$SLUICE_BIN" check --out "$OUT/web-$BULK_ROWS.rbwd" "$OUT/web.datasource" "$f" >>"$LOG"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# CPU ticks (user + system) of a process and its child processes (nginx's workers).
cpu_ticks() {
    local total=0 p
    for p in "$1" $(pgrep -P "$1" || true); do
        total=$((total + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
    done
    echo "$total"
}

# Peak resident set of a process and its children since reset_hwm (kB).
reset_hwm() {
    local p
    for p in "$1" $(pgrep -P "$1" || true); do echo 5 >"/proc/$p/clear_refs"; done
}
hwm_kb() {
    local total=0 p
    for p in "$1" $(pgrep -P "$1" || true); do total=$((total + $(status_kb "$p" VmHWM))); done
    echo "$total"
}
rss_kb() {
    local total=0 p
    for p in "$1" $(pgrep -P "$1" || true); do total=$((total + $(status_kb "$p" VmRSS))); done
    echo "$total"
}

# start_sluice ARGS...: fresh data dir and port; sets SPID, SPORT, SURL.
start_sluice() {
    SPORT=$(free_port)
    SURL="http://127.0.0.1:$SPORT"
    local dir="$TMP/sluice-$SPORT"
    mkdir -p "$dir"
    SLUICE_ADMIN_TOKEN=$TOKEN "$SLUICE_BIN" serve --listen "127.0.0.1:$SPORT" --data "$dir/data" \
        "$@" >"$dir/log" 2>&1 &
    SPID=$!
    PIDS+=("$SPID")
    for _ in $(seq 300); do
        curl -sf "$SURL/v0/health" >/dev/null 2>&1 && return 0
        kill -0 "$SPID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$dir/log" >&2
    echo "sluice did not start" >&2
    exit 1
}

stop_pid() {
    kill -TERM "$1" 2>/dev/null || return 0
    for _ in $(seq 300); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

push() { # push NAME FILE
    curl -sf -X POST --data-binary @"$2" "$SURL/v0/datasources?name=$1&token=$TOKEN" >/dev/null
}

count() { # count NAME
    curl -sf "$SURL/v0/sql?token=$TOKEN" --data-binary "SELECT count() FROM $1 FORMAT TSV"
}

# start_nginx: static 202 for every request; sets NPID, NPORT.
start_nginx() {
    NPORT=$(free_port)
    local dir="$TMP/nginx-$NPORT"
    mkdir -p "$dir/body"
    cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process on;
user root;
worker_processes auto;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_max_body_size 0;
    client_body_temp_path $dir/body;
    keepalive_requests 100000000;
    keepalive_timeout 60s;
    server {
        listen 127.0.0.1:$NPORT;
        location / {
            default_type application/json;
            return 202 '{"successful_rows":1,"quarantined_rows":0}\n';
        }
    }
}
EOF
    /usr/sbin/nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" >"$dir/out" 2>&1 &
    NPID=$!
    PIDS+=("$NPID")
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$NPORT/" 2>/dev/null && return 0
        sleep 0.05
    done
    cat "$dir/out" "$dir/error.log" >&2
    echo "nginx did not start" >&2
    exit 1
}

# wrk_run TOOL URL PID ROUND: one wrk run; RESULT line with req/s, latency percentiles (ms),
# CPU of server and wrk (cores = CPU s / wall s), peak RSS of the server.
wrk_run() {
    local tool=$1 url=$2 pid=$3 round=$4 f="$TMP/wrk.out" c0 c1 t0 t1 w
    reset_hwm "$pid"
    c0=$(cpu_ticks "$pid")
    t0=$(date +%s.%N)
    BODY_FILE="$OUT/small.ndjson" /usr/bin/time -f "WRKCPU %U %S" -o "$TMP/wrk.time" \
        wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -s bench/server/post.lua "$url" >"$f" 2>&1
    t1=$(date +%s.%N)
    c1=$(cpu_ticks "$pid")
    cat "$f" >>"$LOG"
    w=$(awk '/WRKCPU/ {print $2 + $3}' "$TMP/wrk.time")
    awk -v tool="$tool" -v round="$round" -v hz="$(getconf CLK_TCK)" -v c="$((c1 - c0))" \
        -v wall="$(echo "$t1 - $t0" | bc)" -v wcpu="$w" -v hwm="$(hwm_kb "$pid")" '
    function ms(s) {
        if (s ~ /us$/) return s / 1000
        if (s ~ /ms$/) return s + 0
        if (s ~ /m$/) return s * 60000
        return s * 1000
    }
    / requests in / { reqs = $1 }
    /Non-2xx/ { bad = $NF }
    /Socket errors/ { sockerr = $0; gsub(/.*errors: /, "", sockerr); gsub(/[ ,]+/, "_", sockerr) }
    /^ +50%/ { p50 = ms($2) } /^ +75%/ { p75 = ms($2) } /^ +90%/ { p90 = ms($2) } /^ +99%/ { p99 = ms($2) }
    /^ +Latency +[0-9]/ { avg = ms($2); mx = ms($4) }
    /^Requests\/sec/ { rps = $2 }
    END {
        printf "RESULT test=small tool=%s round=%s rps=%s requests=%d non2xx=%d p50_ms=%.3f p75_ms=%.3f p90_ms=%.3f p99_ms=%.3f avg_ms=%.3f max_ms=%.2f server_cores=%.2f wrk_cores=%.2f peak_rss_kb=%d%s\n",
            tool, round, rps, reqs, bad, p50, p75, p90, p99, avg, mx, c / hz / wall, wcpu / wall, hwm,
            sockerr ? " socket_errors=" sockerr : ""
    }' "$f"
}

test_small() {
    # The order alternates between rounds so a burst of outside load does not always hit the same
    # server.
    if [ $(($1 % 2)) = 1 ]; then
        small_nginx "$1"
        small_sluice "$1"
    else
        small_sluice "$1"
        small_nginx "$1"
    fi
}

small_nginx() {
    local line
    start_nginx
    line=$(wrk_run nginx "http://127.0.0.1:$NPORT/v0/events?name=small&token=$TOKEN" "$NPID" "$1")
    result "$line rest_rss_kb=-"
    stop_pid "$NPID"
}

small_sluice() {
    local round=$1 line reqs bad n rest
    start_sluice --rate-limit-requests -1 --rate-limit-bytes -1
    sleep 1
    rest=$(rss_kb "$SPID")
    push small "$OUT/small.datasource"
    start_profile small "$((DURATION + 1))"
    line=$(wrk_run sluice "$SURL/v0/events?name=small&token=$TOKEN" "$SPID" "$round")
    wait_profile
    reqs=$(sed 's/.* requests=\([0-9]*\).*/\1/' <<<"$line")
    bad=$(sed 's/.* non2xx=\([0-9]*\).*/\1/' <<<"$line")
    # Every accepted row must reach the table: wrk counts answered requests only, so up to CONNS
    # requests in flight when it stopped may be accepted on top.
    n=0
    for _ in $(seq 100); do
        n=$(count small)
        [ "$n" -ge $((reqs - bad)) ] && break
        sleep 0.1
    done
    sleep 1
    n=$(count small)
    result "$line rest_rss_kb=$rest counted=$n accepted=$((reqs - bad)) \
count_ok=$([ "$n" -ge $((reqs - bad)) ] && [ "$n" -le $((reqs - bad + CONNS)) ] && echo 1 || echo 0)"
    stop_pid "$SPID"
}

# start_profile NAME SECONDS: perf record of the running sluice (PROFILE=1 only).
start_profile() {
    PERF_PID=
    [ "$PROFILE" = 1 ] || return 0
    perf record -g -F 999 -p "$SPID" -o "$OUT/perf-$1.data" -- sleep "$2" >>"$LOG" 2>&1 &
    PERF_PID=$!
    PIDS+=("$PERF_PID")
}
wait_profile() {
    [ -z "${PERF_PID:-}" ] || wait "$PERF_PID" 2>/dev/null || true
}

test_bulk() {
    local round=$1 f="$OUT/web-$BULK_ROWS.ndjson" line rest m dir
    start_nginx
    line=$(python3 bench/server/bulk_post.py --url "http://127.0.0.1:$NPORT" --name web \
        --token "$TOKEN" --conns "$BULK_CONNS" --chunk-mib "$CHUNK_MIB" "$f" 2>>"$LOG")
    result "${line/RESULT/RESULT test=bulk tool=client-vs-nginx round=$round}"
    stop_pid "$NPID"

    # The WAL build, and with BULK_INMEM=1 the in-memory build too (order alternating by round).
    local variants="sluice" v bin
    if [ "$BULK_INMEM" = 1 ]; then
        variants=$([ $((round % 2)) = 1 ] && echo "sluice sluice-inmem" || echo "sluice-inmem sluice")
    fi
    for v in $variants; do
        bin=$TMP/sluice
        [ "$v" = sluice ] || bin=$TMP/sluice-inmem
        SLUICE_BIN=$bin start_sluice --rate-limit-requests -1 --rate-limit-bytes -1
        sleep 1
        rest=$(rss_kb "$SPID")
        push web "$OUT/web.datasource"
        reset_hwm "$SPID"
        start_profile bulk 8
        local c0 c1 t0 t1
        c0=$(cpu_ticks "$SPID")
        t0=$(date +%s.%N)
        line=$(python3 bench/server/bulk_post.py --url "$SURL" --name web --token "$TOKEN" \
            --conns "$BULK_CONNS" --chunk-mib "$CHUNK_MIB" --count-sql "$f" 2>>"$LOG")
        t1=$(date +%s.%N)
        c1=$(cpu_ticks "$SPID")
        wait_profile
        result "${line/RESULT/RESULT test=bulk tool=$v round=$round} peak_rss_kb=$(hwm_kb "$SPID") \
rest_rss_kb=$rest server_cores=$(echo "scale=2; ($c1 - $c0) / $(getconf CLK_TCK) / ($t1 - $t0)" | bc)"
        stop_pid "$SPID"
    done

    for m in raw typed; do
        dir="$TMP/chdb-$m-$round"
        mkdir -p "$dir"
        line=$("$OUT/chdb_insert" -n 1 -c "$CHUNK_MIB" --path "$dir" "$OUT/web.$m.columns" "$f" |
            tee -a "$LOG" | grep '^RESULT')
        result "${line/RESULT tool=clickhouse/RESULT test=bulk tool=clickhouse-$m round=$round}"
        rm -rf "$dir"
    done
}

# The flusher's share alone: the same rows as sluice's own RowBinaryWithDefaults (`sluice check
# --out`, made once) inserted through chDB into the real table's columns and engine.
test_sink() {
    local round=$1 line
    local dir="$TMP/chdb-sink-$round"
    mkdir -p "$dir"
    line=$("$OUT/chdb_insert" -n 3 -c 16 -f RowBinaryWithDefaults --path "$dir" \
        "$OUT/web.sluice.columns" "$OUT/web-$BULK_ROWS.rbwd" | tee -a "$LOG" | grep '^RESULT')
    result "${line/RESULT tool=clickhouse/RESULT test=sink tool=clickhouse-rowbinary round=$round}"
    rm -rf "$dir"
}

test_latency() {
    local round=$1 line rest
    start_sluice # default settings: flush every 500 ms, default rate limits
    sleep 1
    rest=$(rss_kb "$SPID")
    push lat "$OUT/lat.datasource"
    reset_hwm "$SPID"
    line=$(python3 bench/server/latency.py --url "$SURL" --name lat --token "$TOKEN" \
        --seconds "$LAT_SECONDS" --interval-ms 10 --poll-ms 20 2>>"$LOG")
    result "${line/RESULT/RESULT test=latency tool=sluice round=$round} peak_rss_kb=$(hwm_kb "$SPID") rest_rss_kb=$rest"
    stop_pid "$SPID"
}

machine() {
    lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core)' || true
    free -h | awk 'NR<=2'
    echo "Debian $(cat /etc/debian_version 2>/dev/null); kernel $(uname -r)"
    wrk -v 2>&1 | head -1 || true
    /usr/sbin/nginx -v 2>&1
    python3 --version
    echo "sluice at $(git log -1 --format='%h %cd' --date=iso) + working tree"
}

need_tools
build
generate
machine | tee -a "$LOG"
for round in $(seq 1 "$ROUNDS"); do
    for t in $TESTS; do
        log "== round $round, $t; $(uptime)"
        "test_$t" "$round"
    done
done
log "== end; $(uptime)"
if [ "$PROFILE" = 1 ]; then
    for p in small bulk; do
        [ -s "$OUT/perf-$p.data" ] || continue
        perf report -i "$OUT/perf-$p.data" --no-children -g none --percent-limit 0.7 --sort comm,dso,symbol --stdio 2>/dev/null |
            grep -v '^#' | grep -v '^$' | head -60 >"$OUT/perf-$p.txt" || true
        log "perf profile: $OUT/perf-$p.txt"
    done
fi
python3 bench/server/summarize.py "$RESULTS" | tee -a "$LOG"
echo "log: $LOG"
