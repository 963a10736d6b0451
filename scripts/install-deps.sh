#!/usr/bin/env bash
# Installs everything certvault needs to build, test and benchmark on a fresh Debian machine.
# Idempotent: packages already present are skipped, and npm ci runs only when the lock changed.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build ccache pkg-config clang libclang-rt-14-dev
  libboost-dev libboost-system-dev libssl-dev openssl libsqlite3-dev sqlite3
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev libexpected-dev
  libgtest-dev libgmock-dev libcurl4-openssl-dev libgoogle-perftools-dev jq
  pebble
)
# Node.js may come from elsewhere than Debian (with npm bundled, which Debian's npm package then
# conflicts with): install Debian's only where the commands are missing.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(nginx-light golang-cfssl wrk lego)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Test clients (the unmodified Azure SDK packages) from the npm registry.
if [[ -f tests/integration/package-lock.json ]]; then
  stamp=tests/integration/node_modules/.lock-stamp
  if [[ ! -f $stamp ]] || ! cmp -s tests/integration/package-lock.json "$stamp"; then
    (cd tests/integration && npm ci --no-audit --no-fund --loglevel=error)
    cp tests/integration/package-lock.json "$stamp"
  fi
fi
