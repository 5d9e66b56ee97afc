#!/usr/bin/env bash
# Installs what building and testing sluice needs and is not yet on the machine:
# Debian packages (compiler, libraries, test tools) and the pinned chDB library from npm
# into deps/ (git-ignored). Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

CHDB_PKG="@chdb/lib-linux-x64-gnu"
CHDB_VERSION="26.7.3-stable.1"
APT_PACKAGES=(build-essential clang clang-format libclang-rt-14-dev pkg-config
    libcriterion-dev libmicrohttpd-dev libcurl4-openssl-dev zlib1g-dev libzstd-dev
    libxxhash-dev libsimdjson-dev python3-pytest)

missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing Debian packages: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v npm >/dev/null; then
    echo "deps: npm is missing; install Node.js and npm (Debian: apt-get install npm)" >&2
    exit 1
fi

lib="deps/chdb/lib/libchdb.so"
if [ ! -f "$lib" ]; then
    echo "deps: fetching $CHDB_PKG@$CHDB_VERSION from npm (about 560 MB unpacked)"
    mkdir -p deps/npm deps/chdb/lib deps/chdb/include
    (cd deps/npm && npm install --no-save --no-audit --no-fund --silent \
        "$CHDB_PKG@$CHDB_VERSION" >/dev/null)
    so=$(find deps/npm/node_modules -name 'libchdb.so' | head -n 1)
    if [ -z "$so" ]; then
        echo "deps: libchdb.so not found in $CHDB_PKG; see deps/npm" >&2
        exit 1
    fi
    ln -sf "$(realpath "$so")" "$lib"
fi
echo "deps: ok"
