#!/usr/bin/env bash
# Runs every check CI runs: installs test peers when missing, then fmt, clippy and all tests
# (unit tests and integration tests against real registries on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="${FERRY_VENV:-$HOME/.cache/ferry/venv}/bin:$PATH"

# On this machine cargo has been seen to record a garbled rustc target probe (rustc reading
# another process's diagnostics as its input) in target/.rustc_info.json, and then to fail
# every later command with "failed to run `rustc` to learn about target-specific information".
# That is a toolchain cache fault, not a result: drop the cache and run the step once more.
# Any other failure is reported as it is.
cargo_step() {
  local log rc=0
  log=$(mktemp)
  cargo "$@" 2>"$log" || rc=$?
  cat "$log" >&2
  if [ "$rc" -ne 0 ] && grep -q 'to learn about target-specific information' "$log"; then
    echo "test.sh: cargo's cached rustc probe is broken; clearing target/.rustc_info.json and running 'cargo $*' again" >&2
    rm -f target/.rustc_info.json
    rc=0
    cargo "$@" || rc=$?
  fi
  rm -f "$log"
  return "$rc"
}

cargo fmt --check
cargo_step clippy --all-targets -- -D warnings
cargo_step test --all-targets -- --test-threads=4
