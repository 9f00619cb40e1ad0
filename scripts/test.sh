#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what is missing, builds,
# starts a private MariaDB server and the Liveblocks dev server, runs every test with ctest,
# then builds with AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/) and runs every
# test again there, and stops both servers.
#   scripts/test.sh [ctest arguments...]     e.g. scripts/test.sh -L unit
#   LBMIRROR_TEST_SANITIZE=0 scripts/test.sh  skips the sanitizer pass
#   LBMIRROR_FUZZ_SECONDS=N (default 30; 0 skips) fuzzes the Yjs decoder for N seconds after
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh" --test
"$root/scripts/build.sh"

source "$root/scripts/test-services.sh"
export LBMIRROR_FAULT_REPORT="$state/faults.txt"
report() {  # the fault-injection suite's figures, when it ran
  if [ -s "$LBMIRROR_FAULT_REPORT" ]; then
    echo "== fault injection figures ($1)"
    cat "$LBMIRROR_FAULT_REPORT"
    rm -f "$LBMIRROR_FAULT_REPORT"
  fi
}
echo "== tests (build/)"
(cd "$root/build" && ctest --output-on-failure -j2 "$@")
report build
if [ "${LBMIRROR_TEST_SANITIZE:-1}" != 0 ]; then
  echo "== the same tests under AddressSanitizer and UndefinedBehaviorSanitizer (build-asan/)"
  (cd "$root" && cmake --preset asan > /dev/null)
  cmake --build "$root/build-asan"
  (cd "$root/build-asan" && ctest --output-on-failure -j2 "$@")
  report build-asan
fi
if [ "${LBMIRROR_FUZZ_SECONDS:-30}" != 0 ]; then
  echo "== the Yjs decoder under libFuzzer (build-fuzz/)"
  "$root/scripts/fuzz.sh" "${LBMIRROR_FUZZ_SECONDS:-30}"
fi
