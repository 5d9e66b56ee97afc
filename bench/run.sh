#!/usr/bin/env bash
# Converter benchmark, side by side in one run: sluice's sl_convert (one thread), simdjson
# on-demand extracting the same fields (one thread), and ClickHouse's JSONEachRow parser through
# chDB into an ENGINE = Null table, on gen_events.py's web, wide and arrays data (> 200 MB each).
#
#   bench/run.sh                 build, generate missing data, run everything, print the table
#   ROUNDS=1 RUNS=3 DATASETS="web" bench/run.sh
#
# Environment: ROUNDS (default 3) rounds, each running every tool on every dataset in turn with
# RUNS timed runs (default 3) after an untimed warm-up, so a burst of load from elsewhere hits
# all tools alike; CHUNK_MIB (default 16); DATASETS; GEN (path of gen_events.py); SKIP_CHDB=1.
# Data is generated once into bench/data/ (git-ignored) and reused; delete it to regenerate.
# Full logs go to build/bench/run-<time>.log. A tool's figure is the median of its rounds'
# medians (best run in brackets); ratios use those medians.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
RUNS=${RUNS:-3}
CHUNK_MIB=${CHUNK_MIB:-16}
DATASETS=${DATASETS:-"web wide arrays"}
GEN=${GEN:-../shared/tools/gen_events.py} # relative to the repository root
SKIP_CHDB=${SKIP_CHDB:-0}
declare -A ROWS=([web]=500000 [wide]=160000 [arrays]=440000) # about 220-230 MB each

OUT=build/bench
DATA=bench/data
CHDB_LIB=deps/chdb/lib
mkdir -p "$OUT" "$DATA"
LOG="$OUT/run-$(date +%Y%m%d-%H%M%S).log"
RESULTS="$OUT/results.txt"
: >"$RESULTS"

CFLAGS="-std=c11 -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes \
-Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral -D_GNU_SOURCE -O2 -g"
CXXFLAGS="-std=c++17 -O2 -Wall -Wextra"

build() {
    echo "== build"
    make -s build/release/libsluice.a
    gcc $CFLAGS -Isrc/format -Isrc/ingest -o "$OUT/bench_convert" bench/bench_convert.c \
        build/release/libsluice.a -lm
    # simdjson twice: Debian's default target (x86-64 baseline: the on-demand front end is
    # simdjson's scalar "fallback" kernel, stage 1 is dispatched at run time) and -march=native.
    # No -pthread: iterate_many stays on one thread.
    g++ $CXXFLAGS -o "$OUT/bench_simdjson" bench/bench_simdjson.cc -lsimdjson
    g++ $CXXFLAGS -march=native -DTOOL_NAME='"simdjson-native"' \
        -o "$OUT/bench_simdjson_native" bench/bench_simdjson.cc -lsimdjson
    if [ "$SKIP_CHDB" != 1 ]; then
        gcc $CFLAGS -o "$OUT/bench_chdb" bench/bench_chdb.c -L"$CHDB_LIB" -lchdb \
            -Wl,-rpath,"$(realpath "$CHDB_LIB")"
    fi
}

generate() {
    local ds=$1
    [ -s "$DATA/$ds.datasource" ] || python3 "$GEN" "$ds" --schema >"$DATA/$ds.datasource"
    if [ ! -s "$DATA/$ds.ndjson" ]; then
        echo "== generating $DATA/$ds.ndjson (${ROWS[$ds]} rows; slow, done once)"
        python3 "$GEN" "$ds" --rows "${ROWS[$ds]}" >"$DATA/$ds.ndjson.tmp"
        mv "$DATA/$ds.ndjson.tmp" "$DATA/$ds.ndjson"
    fi
    for m in raw typed; do
        python3 bench/ch_structure.py "$DATA/$ds.datasource" "$m" >"$OUT/$ds.$m.columns"
    done
}

# Runs a benchmark, logs everything, keeps its RESULT line (renamed to tool $1 if given).
record() {
    local tool=$1
    shift
    echo "-- $*" | tee -a "$LOG"
    "$@" 2>&1 | tee -a "$LOG" | grep '^RESULT' |
        { if [ -n "$tool" ]; then sed "s/tool=[^ ]*/tool=$tool/"; else cat; fi; } >>"$RESULTS"
}

# Peak RSS (kB) of a command as /usr/bin/time -v reports it.
peak_rss() {
    local f="$OUT/time.txt"
    /usr/bin/time -v -o "$f" "$@" >>"$LOG" 2>&1
    awk -F': ' '/Maximum resident set size/ {print $2}' "$f"
}

machine() {
    echo "== machine"
    lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core)' || true
    free -h | awk 'NR<=2'
    echo "Debian $(cat /etc/debian_version 2>/dev/null)"
    gcc --version | head -1
    g++ --version | head -1
    echo "uptime: $(uptime)"
}

build
for ds in $DATASETS; do generate "$ds"; done
machine | tee -a "$LOG"

for round in $(seq 1 "$ROUNDS"); do
    for ds in $DATASETS; do
        echo "== round $round, $ds ($(stat -c %s "$DATA/$ds.ndjson") bytes), $(uptime)" |
            tee -a "$LOG"
        record "" "$OUT/bench_convert" -n "$RUNS" -c "$CHUNK_MIB" "$DATA/$ds.datasource" \
            "$DATA/$ds.ndjson"
        record "" "$OUT/bench_simdjson" -n "$RUNS" "$ds" "$DATA/$ds.ndjson"
        record "" "$OUT/bench_simdjson_native" -n "$RUNS" "$ds" "$DATA/$ds.ndjson"
        if [ "$SKIP_CHDB" != 1 ]; then
            for m in raw typed; do
                tmp=$(mktemp -d /tmp/sluice-bench-chdb.XXXXXX)
                record "clickhouse-$m" "$OUT/bench_chdb" -n "$RUNS" -c "$CHUNK_MIB" \
                    --name "$ds" --path "$tmp" "$OUT/$ds.$m.columns" "$DATA/$ds.ndjson"
                rm -rf "$tmp"
            done
        fi
    done
done

# Memory: the whole file in memory (the timed mode) vs. reading it chunk by chunk (--stream).
for ds in $DATASETS; do
    rss_mem=$(peak_rss "$OUT/bench_convert" -n 1 -c "$CHUNK_MIB" "$DATA/$ds.datasource" \
        "$DATA/$ds.ndjson")
    rss_stream=$(peak_rss "$OUT/bench_convert" --stream -c "$CHUNK_MIB" \
        "$DATA/$ds.datasource" "$DATA/$ds.ndjson")
    echo "RSS dataset=$ds input_kb=$(($(stat -c %s "$DATA/$ds.ndjson") / 1024)) \
whole_file_kb=$rss_mem stream_kb=$rss_stream" | tee -a "$LOG" >>"$RESULTS"
done
echo "uptime at the end: $(uptime)" | tee -a "$LOG"

echo "== results (MB = 10^6 bytes; median over $ROUNDS rounds of $RUNS runs, best run in" \
    "brackets; cores = CPU time / wall time)" | tee -a "$LOG"
awk '
function f(line, key) {
    return match(line, key "=[^ ]*") ? substr(line, RSTART + length(key) + 1, RLENGTH - length(key) - 1) : ""
}
function median(list,   a, n, i, j, x) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) { x = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
    return a[int((n + 1) / 2)]
}
/^RESULT/ {
    t = f($0, "tool"); d = f($0, "dataset")
    if (!(d in seen)) { seen[d] = 1; order[++n] = d }
    if (!((d, t) in med)) tools[d] = tools[d] " " t
    med[d, t] = med[d, t] " " f($0, "median_mbps")
    rows[d, t] = rows[d, t] " " f($0, "median_rows_s")
    cores[d, t] = cores[d, t] " " f($0, "cores")
    b = f($0, "best_mbps") + 0; if (b > best[d, t]) best[d, t] = b
    bad[d, t] = f($0, "bad")
}
/^RSS/ { rss[f($0, "dataset")] = $0 }
END {
    for (i = 1; i <= n; i++) {
        d = order[i]
        printf "\n%s\n%-18s %10s %10s %12s %6s %6s\n", d, "tool", "MB/s", "(best)", "rows/s", "cores", "bad"
        k = split(tools[d], ts, " ")
        for (j = 1; j <= k; j++) {
            t = ts[j]; m[t] = median(med[d, t])
            printf "%-18s %10.1f %10.1f %12.0f %6.2f %6s\n", t, m[t], best[d, t], median(rows[d, t]), median(cores[d, t]), bad[d, t]
        }
        if (m["sluice"] > 0) {
            split("simdjson simdjson-native clickhouse-raw clickhouse-typed", others, " ")
            for (j = 1; j <= 4; j++)
                if (m[others[j]] > 0)
                    printf "  sluice / %-17s %6.2fx\n", others[j], m["sluice"] / m[others[j]]
        }
        delete m
        if (d in rss) {
            split(rss[d], r, " ")
            printf "  peak RSS (kB): %s %s %s\n", r[3], r[4], r[5]
        }
    }
}' "$RESULTS" | tee -a "$LOG"
echo
echo "log: $LOG"
