#!/usr/bin/env bash
# Runs the desktop app's test suite: typecheck, TypeScript bindings check, Vitest, the UI
# build, the browser tests in Chromium, the app build with the bundled UI, its Rust tests and
# clippy, and the end-to-end test of the real window under Xvfb, which also builds the
# command line to run a registry server.
#
# Needs the packages of scripts/install-deps.sh. Set SKIP_E2E=1 to leave out the
# WebDriver test (for machines without tauri-driver).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# One feature set for build, test and clippy, so cargo keeps a single build of tauri.
app_features=(-p node-factory-app --features custom-protocol)

step() {
  printf '\n== %s\n' "$1"
  step_started=$SECONDS
}
done_step() {
  printf '   (%s s)\n' "$((SECONDS - step_started))"
}

step "npm ci"
if [[ ! -d ui/node_modules ]] || [[ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]]; then
  npm ci --prefix ui --no-audit --no-fund
fi
done_step

step "typecheck"
npm --prefix ui run --silent typecheck
done_step

step "vitest"
npm --prefix ui run --silent test
done_step

step "vite build"
npm --prefix ui run --silent build
done_step

step "browser tests (Chromium)"
(cd ui && node --test --test-concurrency=1 tests/browser/)
done_step

step "cargo fmt --check"
cargo fmt -p node-factory-app -- --check
done_step

step "cargo test (app, with the TypeScript bindings check)"
cargo test "${app_features[@]}"
done_step

step "cargo clippy (app)"
cargo clippy "${app_features[@]}" --all-targets --no-deps -- -D warnings
done_step

step "cargo build (app)"
cargo build "${app_features[@]}"
done_step

if [[ "${SKIP_E2E:-0}" != 1 ]]; then
  # The end-to-end test runs a real registry server with `node-factory serve`.
  step "cargo build (command line, for the end-to-end test's registry server)"
  cargo build -p cli
  done_step
fi

if [[ "${SKIP_E2E:-0}" != 1 ]]; then
  step "end-to-end (tauri-driver under Xvfb)"
  xvfb-run -a -s "-screen 0 1280x860x24" node --test --test-concurrency=1 tests/e2e/
  done_step
fi
