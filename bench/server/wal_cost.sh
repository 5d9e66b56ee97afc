#!/usr/bin/env bash
# Single-event POSTs with and without the write-ahead log, side by side: for each round, each
# variant gets a fresh server and data dir, then `wrk -t1 -c$CONNS -d$DURATION` with post.lua
# (rate limits off, everything else default). Variants (the order alternates between rounds):
#   inmem   build/bench/server/sluice-inmem (bench/server/build_inmem.sh: no WAL)
#   always  build/release/sluice --fsync always (the default)
#   never   build/release/sluice --fsync never
# Also measures this disk's synced-append latency (pwrite of 200 B + fdatasync into a
# preallocated file, as the WAL does). RESULT lines go to build/bench/server/walcost-<time>.txt
# with req/s, latency, server cores, and WAL fsyncs (requests per fsync) from /metrics.
#
#   ROUNDS=3 DURATION=8 bench/server/wal_cost.sh
#   VARIANTS="always inmem" EXTRA_ARGS="--dedup-window 0" bench/server/wal_cost.sh
#   PROFILE=always bench/server/wal_cost.sh     perf record -g of that variant (one round)
#   VARIANTS="always old=/tmp/sluice-old,--fsync,always" ...   LABEL=BINARY[,ARG...] compares
#                                                 another build
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8}
CONNS=${CONNS:-64}
VARIANTS=${VARIANTS:-"inmem always never"}
EXTRA_ARGS=${EXTRA_ARGS:-}
PROFILE=${PROFILE:-}
GEN=${GEN:-../shared/tools/gen_events.py}
TOKEN=bench-admin-token
OUT=$(realpath -m build/bench/server)
mkdir -p "$OUT"
STAMP=$(date +%Y%m%d-%H%M%S)
RESULTS="$OUT/walcost-$STAMP.txt"
TMP=$(mktemp -d /tmp/sluice-walcost.XXXXXX)
SPID=
cleanup() {
    if [ -n "$SPID" ]; then kill -TERM "$SPID" 2>/dev/null || true; sleep 1; kill -KILL "$SPID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT

bench/server/build_inmem.sh >/dev/null
cp build/release/sluice "$TMP/sluice"
cp "$OUT/sluice-inmem" "$TMP/sluice-inmem"
python3 "$GEN" small --schema >"$TMP/small.datasource"
python3 "$GEN" small --rows 1 >"$TMP/small.ndjson"

# This disk's synced small append (into the data dir's file system).
python3 - "$TMP" <<'PY' | tee -a "$RESULTS"
import os, sys, time, statistics
p = os.path.join(sys.argv[1], "fsync.probe")
fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o600)
os.posix_fallocate(fd, 0, 64 << 20)
os.fsync(fd)
t = []
for i in range(500):
    a = time.perf_counter()
    os.pwrite(fd, b"x" * 200, 4096 + i * 200)
    os.fdatasync(fd)
    t.append((time.perf_counter() - a) * 1e3)
os.close(fd)
os.unlink(p)
t.sort()
print("RESULT test=fsync p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f" % (t[250], t[450], t[495]))
PY

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

run() { # run VARIANT ROUND
    local v=$1 round=$2 bin args port dir url c0 c1 fs0 fs1
    case $v in
    inmem) bin=$TMP/sluice-inmem args="" ;;
    always) bin=$TMP/sluice args="--fsync always" ;;
    never) bin=$TMP/sluice args="--fsync never" ;;
    *=*) # LABEL=BINARY[,ARG...]: another build to compare (copied first)
        bin=${v#*=}; args=${bin#*,}; [ "$args" = "$bin" ] && args=""; bin=${bin%%,*}
        args=${args//,/ }; v=${v%%=*}
        cp "$bin" "$TMP/bin-$v"; bin=$TMP/bin-$v ;;
    *) echo "unknown variant $v" >&2; exit 1 ;;
    esac
    port=$(free_port)
    dir=$TMP/$v-$round
    mkdir -p "$dir"
    url="http://127.0.0.1:$port"
    # shellcheck disable=SC2086
    SLUICE_ADMIN_TOKEN=$TOKEN "$bin" serve --listen "127.0.0.1:$port" --data "$dir/data" $args \
        --rate-limit-requests -1 --rate-limit-bytes -1 $EXTRA_ARGS >"$dir/log" 2>&1 &
    SPID=$!
    for _ in $(seq 300); do curl -sf "$url/v0/health" >/dev/null 2>&1 && break; sleep 0.1; done
    curl -sf -X POST --data-binary @"$TMP/small.datasource" "$url/v0/datasources?name=small&token=$TOKEN" >/dev/null
    fs0=$(curl -s "$url/metrics" | awk '$1 == "sluice_wal_fsyncs_total" {print $2}')
    c0=$(ticks "$SPID")
    local perf=
    if [ "$PROFILE" = "$v" ]; then
        perf record -g -F 999 -p "$SPID" -o "$OUT/perf-walcost-$v.data" -- sleep "$DURATION" >/dev/null 2>&1 &
        perf=$!
    fi
    BODY_FILE=$TMP/small.ndjson wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -s bench/server/post.lua \
        "$url/v0/events?name=small&token=$TOKEN" >"$dir/wrk" 2>&1
    [ -z "$perf" ] || wait "$perf" || true
    c1=$(ticks "$SPID")
    fs1=$(curl -s "$url/metrics" | awk '$1 == "sluice_wal_fsyncs_total" {print $2}')
    kill -TERM "$SPID"; wait "$SPID" 2>/dev/null || true; SPID=
    awk -v v="$v" -v round="$round" -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" -v d="$DURATION" \
        -v fs="$(( ${fs1:-0} - ${fs0:-0} ))" -v load="$(cut -d' ' -f1 /proc/loadavg)" '
    function ms(s) { if (s ~ /us$/) return s / 1000; if (s ~ /ms$/) return s + 0; return s * 1000 }
    / requests in / { reqs = $1 }
    /Non-2xx/ { bad = $NF }
    /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
    /^Requests\/sec/ { rps = $2 }
    END { printf "RESULT variant=%s round=%d rps=%.0f non2xx=%d p50_ms=%.2f p99_ms=%.2f server_cores=%.2f fsyncs=%d req_per_fsync=%.1f load=%s\n",
        v, round, rps, bad, p50, p99, c / hz / d, fs, fs ? reqs / fs : 0, load }' "$dir/wrk" | tee -a "$RESULTS"
}

for round in $(seq 1 "$ROUNDS"); do
    vs=($VARIANTS)
    if [ $((round % 2)) = 0 ]; then vs=($(printf '%s\n' "${vs[@]}" | tac)); fi
    for v in "${vs[@]}"; do run "$v" "$round"; done
done
echo "results: $RESULTS"
