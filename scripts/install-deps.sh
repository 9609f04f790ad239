#!/usr/bin/env bash
# Installs what building and testing Node Factory needs on Debian 12 or Ubuntu 22.04+:
# Debian packages (only those missing), Rust components, Python tools and npm packages.
# Safe to run again; it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(
    build-essential pkg-config python3-pip
    # The desktop app (Tauri 2 on WebKitGTK) and its end-to-end tests.
    libwebkit2gtk-4.1-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev libudev-dev
    xvfb xauth webkit2gtk-driver
    # Browser tests of the front end, and screenshots of the real window.
    chromium imagemagick
)

missing=()
for package in "${apt_packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing Debian packages: ${missing[*]}"
    sudo_prefix=""
    [ "$(id -u)" -eq 0 ] || sudo_prefix="sudo"
    $sudo_prefix apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_prefix apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if command -v rustup >/dev/null 2>&1; then
    rustup component add rustfmt clippy >/dev/null 2>&1 || true
fi

# esptool checks the simulated boards as an independent client of the serial protocol.
esptool_version="5.6.0"
if ! python3 -m esptool version 2>/dev/null | grep -q "$esptool_version"; then
    python3 -m pip install --quiet --disable-pip-version-check "esptool==$esptool_version" \
        || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "esptool==$esptool_version"
fi

# tauri-driver drives the real app window in the end-to-end test. 2.1.0 matches Tauri 2;
# crates.io also serves 3.0 alphas, which the exact version keeps out.
if ! tauri-driver --help >/dev/null 2>&1; then
    cargo install tauri-driver --version 2.1.0 --locked
fi

if [[ ! -d ui/node_modules ]] || [[ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]]; then
    npm ci --prefix ui --no-audit --no-fund --loglevel=error
fi
