#!/usr/bin/env bash
# Runs every check CI runs: installs test peers when missing, then fmt, clippy and all tests
# (unit tests and integration tests against real registries on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="${FERRY_VENV:-$HOME/.cache/ferry/venv}/bin:$PATH"
cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo test --all-targets -- --test-threads=4
