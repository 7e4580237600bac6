#!/usr/bin/env bash
# Browser suite: the web UI in Debian's Chromium, driven by playwright-core (pinned in
# package.json / package-lock.json; it never downloads a browser), against `luthien serve` and
# `luthien-mock-upstream`. Does not build the binaries: run `cargo build --bins` first, or point
# LUTHIEN_BIN_DIR at a directory holding both. Screenshots go to e2e/artifacts/ui/.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export LUTHIEN_BIN_DIR="${LUTHIEN_BIN_DIR:-$repo/target/debug}"
export CHROMIUM_BIN="${CHROMIUM_BIN:-/usr/bin/chromium}"

for bin in luthien luthien-mock-upstream; do
  if [[ ! -x "$LUTHIEN_BIN_DIR/$bin" ]]; then
    echo "run.sh: $LUTHIEN_BIN_DIR/$bin is missing; run 'cargo build --bins' or set LUTHIEN_BIN_DIR" >&2
    exit 2
  fi
done
if [[ ! -x "$CHROMIUM_BIN" ]]; then
  echo "run.sh: no Chromium at $CHROMIUM_BIN; install Debian's package (apt-get install chromium) or set CHROMIUM_BIN" >&2
  exit 2
fi

cd "$here"
want="$(node -p 'require("./package.json").dependencies["playwright-core"]')"
got="$(node -p 'try { require("playwright-core/package.json").version } catch { "" }' 2>/dev/null || true)"
if [[ "$got" != "$want" ]]; then
  npm ci --no-audit --no-fund
fi
mkdir -p "$repo/e2e/artifacts/ui"
exec node --test --test-concurrency=1 "$here"/tests/*.test.mjs
