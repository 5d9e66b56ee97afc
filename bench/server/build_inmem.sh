#!/usr/bin/env bash
# Builds build/bench/server/sluice-inmem: build/release/sluice with one change, the batcher gets no
# write-ahead log (sl_batcher_config.wal_dir = NULL, rows acknowledged from memory), the "in-memory
# build" the WAL's cost is measured against. `sluice serve` has no switch for it on purpose.
set -euo pipefail
cd "$(dirname "$0")/../.."
make -s build/release/sluice
OUT=build/bench/server
mkdir -p "$OUT"
sed 's/bc\.wal_dir = wal_path;/bc.wal_dir = NULL;/' src/cli/cmd_serve.c >"$OUT/cmd_serve_inmem.c"
grep -q 'bc.wal_dir = NULL;' "$OUT/cmd_serve_inmem.c"
CFLAGS="-D_GNU_SOURCE -Isrc/format -Isrc/ingest -Isrc/store -Isrc/http -Isrc/cli -std=c11 -O2 -g"
gcc $CFLAGS -c "$OUT/cmd_serve_inmem.c" -o "$OUT/cmd_serve_inmem.o"
objs=$(ls build/release/src/cli/*.o | grep -v '/cmd_serve\.o$')
# The Makefile's link line for sluice (chDB is opened with dlopen, found through the RUNPATH).
gcc -o "$OUT/sluice-inmem" $objs "$OUT/cmd_serve_inmem.o" build/release/libsluice.a -lmicrohttpd \
    -lcurl -lz -lzstd -lxxhash -Wl,-rpath,"$(realpath -m deps/chdb/lib)" -ldl -lm -lpthread
echo "$OUT/sluice-inmem"
