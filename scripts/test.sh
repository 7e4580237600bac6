#!/usr/bin/env bash
# The whole test suite: formatting, lints, the Rust tests, then the real-client suites
# (official Python SDKs, the Claude Code and Codex CLIs, the web UI in Chromium). Installs what the client suites need itself
# (a Python venv, npm packages), so a fresh clone needs nothing but this command.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
step "cargo build (binaries for the client suites)"
cargo build --bins
step "cargo test"
cargo test --workspace
export LUTHIEN_BIN_DIR="$PWD/target/debug"
step "e2e: official anthropic and openai Python SDKs"
bash e2e/python/run.sh
step "e2e: Claude Code CLI"
bash e2e/claude-code/run.sh
step "e2e: Codex CLI"
bash e2e/codex/run.sh
step "e2e: web UI in Chromium"
bash e2e/ui/run.sh
