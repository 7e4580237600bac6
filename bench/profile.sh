#!/usr/bin/env bash
# Where the gateway's CPU goes: starts the mock (luthien-bench mock) and the gateway (release
# build), and records the gateway with `perf record` while `luthien-bench load` sends a fixed
# load per workload; prints the top symbols (self time) and the split by binary/kernel.
# Needs linux-perf (apt-get install linux-perf) and the release binaries (bench/run.sh builds
# them). Reports go to $OUT (default /tmp/luthien-profile). CALLGRAPH=1 also records DWARF call
# graphs and prints inclusive times (much larger data). Not part of the test suite.
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=${BIN:-target/release}
OUT=${OUT:-/tmp/luthien-profile}
MOCK_PORT=${MOCK_PORT:-28191}
GW_PORT=${GW_PORT:-28192}
REQUESTS=${REQUESTS:-30000}
CALLGRAPH=${CALLGRAPH:-}
mkdir -p "$OUT" "$OUT/data"
BIN=$(cd "$BIN" && pwd)

command -v perf >/dev/null || { echo "perf not found: apt-get install linux-perf" >&2; exit 1; }

# shellcheck source=bench/processes.sh
. bench/processes.sh
trap stop_started EXIT

"$BIN/luthien-bench" mock --port "$MOCK_PORT" &
pids+=($!)
wait_port "$MOCK_PORT"
(cd "$OUT" && exec env -u ANTHROPIC_API_KEY -u OPENAI_API_KEY \
    GATEWAY_HOST=127.0.0.1 GATEWAY_PORT="$GW_PORT" AUTH_MODE=passthrough RUST_LOG=warn \
    LUTHIEN_DATA_DIR="$OUT/data" \
    ANTHROPIC_UPSTREAM_URL="http://127.0.0.1:$MOCK_PORT" \
    OPENAI_UPSTREAM_URL="http://127.0.0.1:$MOCK_PORT/v1" \
    "$BIN/luthien" serve >"$OUT/luthien.log" 2>&1) &
gw=$!
pids+=("$gw")
wait_port "$GW_PORT"

# name, then luthien-bench load arguments.
workloads=(
    "anthropic-json --api anthropic --concurrency 16"
    "anthropic-stream --api anthropic --stream --concurrency 64"
    "openai-json --api openai --concurrency 16"
)
for w in "${workloads[@]}"; do
    read -r name args <<<"$w"
    echo "== $name"
    # Rust release code has no frame pointers: call graphs need DWARF unwinding.
    graph=()
    [ -n "$CALLGRAPH" ] && graph=(--call-graph dwarf,32768)
    perf record -F 1999 "${graph[@]}" -p "$gw" -o "$OUT/$name.data" >/dev/null 2>"$OUT/$name.perf.log" &
    perf_pid=$!
    sleep 0.5
    # shellcheck disable=SC2086
    "$BIN/luthien-bench" load --port "$GW_PORT" $args --requests "$REQUESTS" --pid "$gw"
    kill -0 "$gw" 2>/dev/null || { echo "the gateway exited; see $OUT/luthien.log" >&2; exit 1; }
    kill -INT "$perf_pid"
    wait "$perf_pid" || true
    # perf pads its last columns; strip that so the lists read in a terminal.
    tidy() { grep -v '^#' | grep -v '^$' | sed 's/ \+- \+- *$//' | cut -c1-160; }
    perf report -i "$OUT/$name.data" --stdio --no-children --sort dso -g none \
        --percent-limit 1 2>/dev/null | tidy | head -12 >"$OUT/$name.dso.txt"
    perf report -i "$OUT/$name.data" --stdio --no-children --sort dso,symbol -g none \
        --percent-limit 0.7 2>/dev/null | tidy | head -45 >"$OUT/$name.sym.txt"
    cat "$OUT/$name.dso.txt" "$OUT/$name.sym.txt"
    if [ -n "$CALLGRAPH" ]; then
        perf report -i "$OUT/$name.data" --stdio --children --sort symbol -g none \
            --percent-limit 1 2>/dev/null | tidy \
            | grep -E 'luthien|reqwest::|serde_json::de|url::|writev|__libc_recv|epoll_wait' \
            | head -40 >"$OUT/$name.inclusive.txt"
        cat "$OUT/$name.inclusive.txt"
    fi
done
echo "perf data and reports in $OUT"
