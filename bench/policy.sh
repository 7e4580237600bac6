#!/usr/bin/env bash
# Policy overhead (issue 3): the gateway with no policy file, with `noop`, and with
# `block_dangerous_commands`, on the same cells, measured with `luthien-bench load` against the
# bench's TCP_NODELAY mock. Writes bench/POLICY_RESULTS.md. Run after `cargo build --release -p
# luthien -p luthien-bench`; not part of CI (it needs quiet cores).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 100); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

mock_port=$(free_port)
"$bin/luthien-bench" mock --port "$mock_port" >"$tmp/mock.log" 2>&1 &
wait_http "http://127.0.0.1:$mock_port/_mock/stats"

printf 'policy:\n  class: noop\n' >"$tmp/noop.yaml"
printf 'policy:\n  class: block_dangerous_commands\n' >"$tmp/dangerous.yaml"
tool='mock:tool Bash {"command":"ls -la /tmp"}'

out=bench/POLICY_RESULTS.md
{
  echo "# Policy overhead (issue 3)"
  echo
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit \`$(git rev-parse --short HEAD)\`; $(nproc) CPUs; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- Gateway: release build, recording on (SQLite in a temp data dir), passthrough auth; mock: \`luthien-bench mock\` (TCP_NODELAY)."
  echo "- Each row: \`luthien-bench load\`, 16 workers, Anthropic client, after a warm-up; CPU µs/req is the gateway's (utime + stime) per request."
  echo "- \`noop\` takes the executor's zero-cost path (events are not re-encoded); \`block_dangerous_commands\` holds every tool call and re-encodes the stream."
  echo
  echo "| policy | cell | requests | p50 ms | p99 ms | req/s | CPU µs/req |"
  echo "|---|---|--:|--:|--:|--:|--:|"
} >"$out"

for policy in none noop dangerous; do
  port=$(free_port)
  data="$tmp/data-$policy"; mkdir -p "$data"
  env_policy=()
  [ "$policy" != none ] && env_policy=(POLICY_CONFIG="$tmp/$policy.yaml")
  env -u POLICY_CONFIG -u DATABASE_URL -u REDIS_URL "${env_policy[@]}" GATEWAY_PORT="$port" LUTHIEN_DATA_DIR="$data" \
    ANTHROPIC_UPSTREAM_URL="http://127.0.0.1:$mock_port" RUST_LOG=warn ADMIN_API_KEY=bench \
    "$bin/luthien" serve >"$tmp/gw-$policy.log" 2>&1 &
  gw=$!
  wait_http "http://127.0.0.1:$port/health"
  for cell in "json|" "stream|--stream" "tool stream|--stream --directive"; do
    name=${cell%%|*}; flags=${cell#*|}
    if [ "$name" = "tool stream" ]; then
      line=$("$bin/luthien-bench" load --port "$port" --stream --directive "$tool" --concurrency 16 --requests 2000 --pid "$gw")
    else
      # shellcheck disable=SC2086
      line=$("$bin/luthien-bench" load --port "$port" $flags --concurrency 16 --requests 2000 --pid "$gw")
    fi
    echo "$policy $name: $line" >&2
    pick() { echo "$line" | head -n1 | sed -nE "s#.*$1.*#\\1#p"; }
    ok=$(pick 'ok +([0-9]+)'); p50=$(pick 'p50 +([0-9.]+) ms  p99'); p99=$(pick 'p99 +([0-9.]+) ms')
    rps=$(pick ' ([0-9]+) req/s'); cpu=$(pick 'cpu +([0-9.]+) '); err=$(pick 'err +([0-9]+)')
    echo "| $policy | $name | $ok (errors $err) | $p50 | $p99 | $rps | $cpu |" >>"$out"
  done
  kill "$gw"; wait "$gw" 2>/dev/null || true
done
echo "wrote $out"
