#!/usr/bin/env bash
# Runs clang-tidy with the checks of .clang-tidy over every file under src/, from the compile
# commands of a build (build/ by default). Prints each finding; exits 1 when there is one.
#   scripts/tidy.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
if [ ! -f "$build/compile_commands.json" ]; then
  echo "tidy: $build/compile_commands.json is missing: build first (scripts/build.sh)" >&2
  exit 2
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
run-clang-tidy -p "$build" -quiet -j "$(nproc)" "$root/src/" > "$log" 2>&1 || status=1
# Only the findings (without colours), each once: a header's finding shows once per includer.
sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error):' | sort -u || true
if [ "$status" -ne 0 ]; then
  echo "tidy: clang-tidy found the above (or could not run: see run-clang-tidy's output)" >&2
  grep -q -E '(warning|error):' "$log" || tail -20 "$log" >&2
fi
exit "$status"
