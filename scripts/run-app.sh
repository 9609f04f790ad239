#!/usr/bin/env bash
# Installs what is missing, builds the desktop app and starts it on the embedded registry.
# Arguments go to the app, for example `--simulated-boards 3` to try it without hardware.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
npm --prefix ui run --silent build
cargo build --release --locked -p node-factory-app --features custom-protocol
exec "${CARGO_TARGET_DIR:-target}/release/node-factory-app" "$@"
