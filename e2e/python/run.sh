#!/usr/bin/env bash
# Real-SDK end-to-end suite: the official `anthropic` and `openai` Python SDKs against
# `luthien serve` in front of `luthien-mock-upstream`. Does not build the binaries: run
# `cargo build --bins` first, or point LUTHIEN_BIN_DIR at a directory holding both.
# Extra arguments go to pytest (e.g. `-k cross_api`, `-x`).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export LUTHIEN_BIN_DIR="${LUTHIEN_BIN_DIR:-$repo/target/debug}"
venv="$here/.venv"

for bin in luthien luthien-mock-upstream; do
  if [[ ! -x "$LUTHIEN_BIN_DIR/$bin" ]]; then
    echo "run.sh: $LUTHIEN_BIN_DIR/$bin is missing; run 'cargo build --bins' or set LUTHIEN_BIN_DIR" >&2
    exit 2
  fi
done

if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
fi
# Quiet when everything is already installed at the pinned versions.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"

cd "$here"
exec "$venv/bin/python" -m pytest "$@"
