#!/usr/bin/env bash
# Installs what is missing on Debian 12 (run as root, or with sudo available).
#   scripts/install-deps.sh             build tools and libraries
#   scripts/install-deps.sh --devserver also Node.js and the npm packages of the local
#                                       Liveblocks dev server (tests/integration)
#   scripts/install-deps.sh --test      everything the test suite needs (MariaDB and PostgreSQL
#                                       servers, Chromium, podman and the tools that read the
#                                       deployment files)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-}

packages=(build-essential cmake ninja-build pkg-config ca-certificates curl
  libboost1.81-dev libboost-json1.81-dev libcurl4-openssl-dev libssl-dev libmariadb-dev libpq-dev
  libsqlite3-dev libspdlog-dev libcli11-dev)
if [ "$mode" = "--test" ]; then
  packages+=(libgtest-dev libgmock-dev mariadb-server mariadb-client sqlite3 openssl clang libclang-rt-14-dev
    clang-format clang-tidy util-linux postgresql-15 postgresql-client-15 pgbouncer chromium
    podman buildah runc catatonit golang-github-containernetworking-plugin-dnsname mmdebstrap uidmap
    skopeo docker-compose prometheus systemd
    dpkg-dev iptables)
  command -v kubectl > /dev/null || packages+=(kubernetes-client)
fi
if [ "$mode" = "--test" ] || [ "$mode" = "--devserver" ]; then
  command -v node > /dev/null && command -v npm > /dev/null || packages+=(nodejs npm)
  packages+=(sqlite3)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ "$mode" = "--test" ] || [ "$mode" = "--devserver" ]; then
  cd "$root/tests/integration"
  # Install when any dependency of package.json is missing or at another version.
  if ! node -e '
      const fs = require("fs");
      const deps = JSON.parse(fs.readFileSync("package.json")).dependencies;
      for (const [name, version] of Object.entries(deps)) {
        const file = "node_modules/" + name + "/package.json";
        if (!fs.existsSync(file) || JSON.parse(fs.readFileSync(file)).version !== version) process.exit(1);
      }' 2> /dev/null; then
    npm install --no-audit --no-fund --loglevel=error
  fi
  # npm may skip bun's install script; its binary normally arrives through a platform package.
  if ! node_modules/.bin/bun --version > /dev/null 2>&1; then node node_modules/bun/install.js; fi
fi
