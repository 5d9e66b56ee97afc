#!/usr/bin/env bash
# The long variant of the kill -9 crash test (tests/e2e/test_crash.py): for each seed, ROUNDS
# kill -9 restarts of a server under load from 12 connections, up to UP_S seconds apart, then the
# check that every acknowledged event is in the table exactly once. Each run's data directory and
# server logs stay in $KEEP/<seed>/ when it fails (removed when it passes), so a loss can be
# examined afterwards (`sluice wal dump --data ...`, the table's ClickHouse parts).
#
#   bench/crash.sh                   seeds 1..5, 40 kills each (about 8 minutes)
#   SEEDS="21 22" ROUNDS=100 bench/crash.sh
#
# Environment: SEEDS ("1 2 3 4 5"), ROUNDS (40), UP_S (1.2), KEEP (build/bench/crash),
# SLUICE_BIN (build/release/sluice). Exit status 1 if any seed failed.
set -euo pipefail
cd "$(dirname "$0")/.."

SEEDS=${SEEDS:-"1 2 3 4 5"}
ROUNDS=${ROUNDS:-40}
UP_S=${UP_S:-1.2}
KEEP=${KEEP:-build/bench/crash}
export SLUICE_BIN=${SLUICE_BIN:-build/release/sluice}

make -s "$SLUICE_BIN"
mkdir -p "$KEEP"
failed=0
for seed in $SEEDS; do
    dir="$KEEP/$seed"
    rm -rf "$dir"
    start=$(date +%s)
    if SLUICE_CRASH_ROUNDS=$ROUNDS SLUICE_CRASH_SECONDS=$UP_S SLUICE_CRASH_SEED=$seed \
        pytest-3 -q -s -p no:cacheprovider --basetemp="$dir" tests/e2e/test_crash.py \
        >"$KEEP/$seed.log" 2>&1; then
        echo "seed $seed: passed in $(($(date +%s) - start)) s: $(grep -o 'crash test: .*' "$KEEP/$seed.log" | head -1)"
        rm -rf "$dir"
    else
        failed=$((failed + 1))
        echo "seed $seed: FAILED (log $KEEP/$seed.log, data kept in $dir)"
        grep -E '^E ' "$KEEP/$seed.log" | head -3 || true
    fi
done
echo "crash runs: $(echo $SEEDS | wc -w) seeds x $ROUNDS kills, $failed failed"
[ "$failed" -eq 0 ]
