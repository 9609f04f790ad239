#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, the Rust tests of every crate, and the
# desktop app's tests. Run scripts/install-deps.sh once first on a new machine.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "cargo fmt"
cargo fmt --all --check

step "cargo clippy"
cargo clippy --all-targets --locked -- -D warnings

step "cargo test"
cargo test --locked

if [ -x scripts/test-desktop.sh ]; then
    step "desktop app"
    scripts/test-desktop.sh
fi
