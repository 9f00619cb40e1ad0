#!/usr/bin/env bash
# Configures and builds lbmirror into build/ (the executable is build/lbmirror).
#   scripts/build.sh [--no-tests]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tests=ON
[ "${1:-}" = "--no-tests" ] && tests=OFF
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DLBMIRROR_BUILD_TESTS=$tests > /dev/null
cmake --build "$root/build"
