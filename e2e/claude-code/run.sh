#!/usr/bin/env bash
# Real-client end-to-end suite: the Claude Code CLI (pinned in package.json / package-lock.json),
# headless, through `luthien serve` to `luthien-mock-upstream`. Does not build the binaries: run
# `cargo build --bins` first, or point LUTHIEN_BIN_DIR at a directory holding both.
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
want="$(node -p 'require("./package.json").dependencies["@anthropic-ai/claude-code"]')"
claude="$here/node_modules/@anthropic-ai/claude-code/bin/claude.exe"
# Install only when the pinned version is not already in node_modules. The package's postinstall
# copies the native binary of the matching optional dependency (@anthropic-ai/claude-code-<os>-<arch>,
# also from the registry) over bin/claude.exe.
if [[ "$("$claude" --version 2>/dev/null || true)" != "$want "* ]]; then
  if [[ -f package-lock.json ]]; then
    npm ci --no-audit --no-fund
  else
    npm install --no-audit --no-fund
  fi
fi
got="$("$claude" --version 2>&1 || true)"
if [[ "$got" != "$want "* ]]; then
  echo "run.sh: Claude Code $want did not install a runnable binary; '$claude --version' said: $got" >&2
  exit 2
fi
echo "Claude Code: $got"

exec node --test "$here"/tests/*.test.mjs
