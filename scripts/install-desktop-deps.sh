#!/usr/bin/env bash
# Installs what the desktop app's build and tests need on Debian 12: the WebKitGTK and other
# -dev packages, Xvfb and WebKitWebDriver for the end-to-end test, Chromium for the browser
# tests, tauri-driver, and the UI's npm packages. Packages already installed are skipped.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

packages=(
  build-essential pkg-config libwebkit2gtk-4.1-dev libssl-dev libayatana-appindicator3-dev
  librsvg2-dev libxdo-dev libudev-dev xvfb xauth webkit2gtk-driver chromium imagemagick
)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if ((${#missing[@]} > 0)); then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

# tauri-driver 2.1.0 matches Tauri 2; crates.io also serves 3.0 alphas, which the exact version keeps out.
if ! tauri-driver --help >/dev/null 2>&1; then
  cargo install tauri-driver --version 2.1.0 --locked
fi

if [[ ! -d "$root/ui/node_modules" ]] || [[ "$root/ui/package-lock.json" -nt "$root/ui/node_modules/.package-lock.json" ]]; then
  npm ci --prefix "$root/ui" --no-audit --no-fund
fi
