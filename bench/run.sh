#!/usr/bin/env bash
# Converter benchmark, side by side in one run: sluice's sl_convert (one thread), simdjson
# on-demand extracting the same fields (one thread), and ClickHouse's JSONEachRow parser through
# chDB into an ENGINE = Null table, on gen_events.py's web, wide and arrays data (> 200 MB each).
#
#   bench/run.sh                 build, generate missing data, run everything, print the table
#   RUNS=7 DATASETS="web" bench/run.sh
#
# Environment: RUNS (timed runs per tool, default 5), CHUNK_MIB (default 16), DATASETS,
# GEN (path of gen_events.py), SKIP_CHDB=1 (no ClickHouse runs).
# Data is generated once into bench/data/ (git-ignored) and reused; delete it to regenerate.
# Full logs go to build/bench/run-<time>.log. Ratios use the medians.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
CHUNK_MIB=${CHUNK_MIB:-16}
DATASETS=${DATASETS:-"web wide arrays"}
GEN=${GEN:-/work/shared/tools/gen_events.py}
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

for ds in $DATASETS; do
    echo "== $ds ($(stat -c %s "$DATA/$ds.ndjson") bytes), uptime: $(uptime)" | tee -a "$LOG"
    record "" "$OUT/bench_convert" -n "$RUNS" -c "$CHUNK_MIB" "$DATA/$ds.datasource" \
        "$DATA/$ds.ndjson"
    record "" "$OUT/bench_simdjson" -n "$RUNS" "$ds" "$DATA/$ds.ndjson"
    record "" "$OUT/bench_simdjson_native" -n "$RUNS" "$ds" "$DATA/$ds.ndjson"
    if [ "$SKIP_CHDB" != 1 ]; then
        for m in raw typed; do
            tmp=$(mktemp -d /tmp/sluice-bench-chdb.XXXXXX)
            record "clickhouse-$m" "$OUT/bench_chdb" -n "$RUNS" -c "$CHUNK_MIB" --name "$ds" \
                --path "$tmp" "$OUT/$ds.$m.columns" "$DATA/$ds.ndjson"
            rm -rf "$tmp"
        done
    fi
    # Memory: whole file in memory vs. reading it chunk by chunk (--stream).
    rss_mem=$(peak_rss "$OUT/bench_convert" -n 1 -c "$CHUNK_MIB" "$DATA/$ds.datasource" \
        "$DATA/$ds.ndjson")
    rss_stream=$(peak_rss "$OUT/bench_convert" --stream -c "$CHUNK_MIB" \
        "$DATA/$ds.datasource" "$DATA/$ds.ndjson")
    echo "RSS dataset=$ds input_kb=$(($(stat -c %s "$DATA/$ds.ndjson") / 1024)) \
whole_file_kb=$rss_mem stream_kb=$rss_stream" | tee -a "$LOG" >>"$RESULTS"
done

echo "== results (MB = 10^6 bytes; median of $RUNS runs, best in brackets)" | tee -a "$LOG"
awk '
function f(line, key,   m) { return match(line, key "=[^ ]*") ? substr(line, RSTART + length(key) + 1, RLENGTH - length(key) - 1) : "" }
/^RESULT/ {
    t = f($0, "tool"); d = f($0, "dataset")
    if (!(d in seen)) { seen[d] = 1; order[++n] = d }
    med[d, t] = f($0, "median_mbps"); best[d, t] = f($0, "best_mbps")
    rows[d, t] = f($0, "median_rows_s"); cores[d, t] = f($0, "cores"); bad[d, t] = f($0, "bad")
    tools[d] = tools[d] " " t
}
/^RSS/ { rss[f($0, "dataset")] = $0 }
END {
    for (i = 1; i <= n; i++) {
        d = order[i]
        printf "\n%s\n%-18s %10s %10s %12s %6s %6s\n", d, "tool", "MB/s", "(best)", "rows/s", "cores", "bad"
        k = split(tools[d], ts, " ")
        for (j = 1; j <= k; j++) {
            t = ts[j]
            printf "%-18s %10.1f %10.1f %12.0f %6.2f %6s\n", t, med[d, t], best[d, t], rows[d, t], cores[d, t], bad[d, t]
        }
        s = med[d, "sluice"]
        if (s != "") {
            split("simdjson simdjson-native clickhouse-raw clickhouse-typed", others, " ")
            for (j = 1; j <= 4; j++)
                if (med[d, others[j]] > 0)
                    printf "  sluice / %-17s %6.2fx\n", others[j], s / med[d, others[j]]
        }
        if (d in rss) {
            split(rss[d], r, " ")
            printf "  peak RSS: %s %s %s\n", r[3], r[4], r[5]
        }
    }
}' "$RESULTS" | tee -a "$LOG"
echo
echo "log: $LOG"
