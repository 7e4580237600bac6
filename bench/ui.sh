#!/usr/bin/env bash
# Operator pages at scale (issue 5: "pages stay responsive with 10,000 sessions"): starts the
# mock (luthien-bench mock) and the gateway (release build, SQLite in a fresh data dir), seeds
# SESSIONS one-turn sessions plus one LONG_TURNS-turn session through the gateway, and times
# every page and history API call. Writes bench/UI_RESULTS.md. Not part of the test suite.
set -euo pipefail

cd "$(dirname "$0")/.."
SESSIONS=${SESSIONS:-10000}
LONG_TURNS=${LONG_TURNS:-200}
MOCK_PORT=${MOCK_PORT:-28691}
GW_PORT=${GW_PORT:-28692}
OUT=${OUT:-bench/UI_RESULTS.md}

[ -n "${NO_BUILD:-}" ] || cargo build --release -p luthien -p luthien-bench
BIN=target/release
data=$(mktemp -d)
key="bench-admin-$(date +%s)"
# shellcheck source=bench/processes.sh
. bench/processes.sh
cleanup() {
    stop_started
    rm -rf "$data"
}
trap cleanup EXIT

"$BIN/luthien-bench" mock --port "$MOCK_PORT" &
pids+=($!)
wait_port "$MOCK_PORT"
env -u ANTHROPIC_API_KEY -u OPENAI_API_KEY -u DATABASE_URL -u REDIS_URL \
    GATEWAY_HOST=127.0.0.1 GATEWAY_PORT="$GW_PORT" AUTH_MODE=passthrough RUST_LOG=warn \
    LUTHIEN_DATA_DIR="$data" ADMIN_API_KEY="$key" \
    ANTHROPIC_UPSTREAM_URL="http://127.0.0.1:$MOCK_PORT" \
    "$BIN/luthien" serve >"$data/gateway.log" 2>&1 &
pids+=($!)
wait_port "$GW_PORT"

python3 bench/ui_load.py --port "$GW_PORT" --key "$key" --sessions "$SESSIONS" \
    --long-turns "$LONG_TURNS" --out "$OUT" --commit "$(git rev-parse --short HEAD)" \
    --data-dir "$data"
