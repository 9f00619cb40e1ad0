#!/usr/bin/env bash
# Configures and builds lbmirror into build/ (the executable is build/lbmirror).
#   scripts/build.sh [--no-tests] [--werror]
#     --no-tests  only lbmirror (and the benchmark's load generator), no test binaries
#     --werror    compiler warnings are errors (the test command builds so)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tests=ON
werror=OFF
for arg in "$@"; do
  case "$arg" in
    --no-tests) tests=OFF ;;
    --werror) werror=ON ;;
    *) echo "build.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DLBMIRROR_BUILD_TESTS=$tests -DLBMIRROR_WERROR=$werror > /dev/null
cmake --build "$root/build"
