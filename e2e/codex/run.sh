#!/usr/bin/env bash
# Real-client end-to-end suite: the Codex CLI (pinned in package.json / package-lock.json),
# headless, through `luthien codex` (which starts a gateway) to `luthien-mock-upstream`'s
# Responses API. Does not build the binaries: run `cargo build --bins` first, or point
# LUTHIEN_BIN_DIR at a directory holding both.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export LUTHIEN_BIN_DIR="${LUTHIEN_BIN_DIR:-$repo/target/debug}"

for bin in luthien luthien-mock-upstream; do
  if [[ ! -x "$LUTHIEN_BIN_DIR/$bin" ]]; then
    echo "run.sh: $LUTHIEN_BIN_DIR/$bin is missing; run 'cargo build --bins' or set LUTHIEN_BIN_DIR" >&2
    exit 2
  fi
done

cd "$here"
want="$(node -p 'require("./package.json").dependencies["@openai/codex"]')"
codex="$here/node_modules/.bin/codex"
if [[ "$("$codex" --version 2>/dev/null || true)" != "codex-cli $want" ]]; then
  npm ci --no-audit --no-fund
fi
got="$("$codex" --version 2>&1 || true)"
if [[ "$got" != "codex-cli $want" ]]; then
  echo "run.sh: Codex $want did not install a runnable binary; '$codex --version' said: $got" >&2
  exit 2
fi
echo "Codex: $got"

exec node --test --test-concurrency=1 "$here"/tests/*.test.mjs
