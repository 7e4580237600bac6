#!/usr/bin/env bash
# The DESIGN §9 benchmark: installs nginx if missing, builds the release binaries, runs every
# cell against the mock directly, through nginx and through the gateway, and writes
# bench/RESULTS.md. Not part of the test suite or CI: it takes a few minutes and wants quiet
# cores. Extra arguments go to `luthien-bench run` (e.g. --quick, --no-thousand).
set -euo pipefail

cd "$(dirname "$0")/.."

if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    echo "installing nginx…"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq nginx-light || $SUDO apt-get install -y -qq nginx
fi

cargo build --release -p luthien -p luthien-mock-upstream -p luthien-bench

# 1,000 concurrent streams need ~2,000 sockets in the gateway and in nginx.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true

load=$(cut -d' ' -f1 /proc/loadavg)
echo "load average before the run: $load (figures are only comparable on quiet cores)"

exec target/release/luthien-bench run "$@"
