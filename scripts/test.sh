#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what is missing, checks the
# house style (scripts/check-style.sh: clang-format layout, the layers' include rules;
# scripts/function-lengths.sh: the longest functions, none over 80 lines unexplained), builds,
# runs clang-tidy over src/ (scripts/tidy.sh, the checks of .clang-tidy), starts private MariaDB
# and PostgreSQL servers and the Liveblocks dev server, runs every test with ctest,
# then builds with AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/) and runs there
# the unit tests and the end-to-end suites that cover every backend (every event type, the data
# no webhook announces, hostile input), builds the threaded layers with ThreadSanitizer (build-tsan/) and runs
# their unit tests (HTTP server, group commit and store concurrency on SQLite, MariaDB and
# Postgres, engine, reconciliation), fuzzes every parser of outside input, and stops the
# servers. What we ship is tested as deployed, after the tests of build/: the Debian package
# (cpack) installed into a clean Debian 12 container, the container image built from
# Containerfile (scripts/image.sh, with warnings as errors) and run against the test servers,
# the Kubernetes Deployment under podman kube play, the Compose file under docker-compose, the
# systemd unit, the alert rules and the dashboard (ctest -L deploy).
# Each phase prints how long it took.
#   scripts/test.sh [ctest arguments...]     e.g. scripts/test.sh -L unit
#   LBMIRROR_TEST_SANITIZE=0 scripts/test.sh  skips the AddressSanitizer and ThreadSanitizer passes
#   LBMIRROR_SKIP_IMAGE=1 scripts/test.sh     skips building the image and the suites that run it
#                                            (a developer's shortcut; ignored when CI is set)
#   LBMIRROR_FUZZ_SECONDS=N (default 16; 0 skips) fuzzes each parser for N seconds after
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
started=$SECONDS
phase_start=$SECONDS
phase() {  # phase NAME: ends the previous phase (printing its time) and starts NAME
  if [ -n "${phase_name:-}" ]; then
    echo "== ${phase_name}: $((SECONDS - phase_start)) s"
  fi
  phase_name=$1
  phase_start=$SECONDS
  [ -z "$phase_name" ] || echo "== $phase_name"
}

phase "installing what is missing"
"$root/scripts/install-deps.sh" --test
phase "house style: clang-format layout, the layers' include rules, the longest functions"
"$root/scripts/check-style.sh"
"$root/scripts/function-lengths.sh"
phase "building (build/)"
"$root/scripts/build.sh" --werror
phase "static checks: clang-tidy with .clang-tidy over src/"
"$root/scripts/tidy.sh" "$root/build"

phase "starting MariaDB, PostgreSQL and the Liveblocks dev server"
source "$root/scripts/test-services.sh"
export LBMIRROR_FAULT_REPORT="$state/faults.txt"
report() {  # the fault-injection suite's figures, when it ran
  if [ -s "$LBMIRROR_FAULT_REPORT" ]; then
    echo "== fault injection figures ($1)"
    cat "$LBMIRROR_FAULT_REPORT"
    rm -f "$LBMIRROR_FAULT_REPORT"
  fi
}
phase "tests (build/)"
(cd "$root/build" && ctest --output-on-failure -j2 -LE deploy "$@")
report build

phase "the Debian package (cpack in build/)"
(cd "$root/build" && rm -f lbmirror_*.deb && cpack -G DEB > /dev/null && ls lbmirror_*.deb)
source "$root/scripts/podman-env.sh"
export LBMIRROR_TEST_IMAGE=localhost/lbmirror:test
export LBMIRROR_TEST_DEBIAN_IMAGE=localhost/lbmirror-base/debian:bookworm-slim
deploy_suites=()
if [ "${LBMIRROR_SKIP_IMAGE:-0}" = 1 ] && [ -z "${CI:-}" ]; then
  echo "LBMIRROR_SKIP_IMAGE=1: no image; only the deployment files are tested"
  deploy_suites=(-R '^deploy\.files$')
else
  phase "the container image (scripts/image.sh: Release build inside the builder stage)"
  LBMIRROR_WERROR=ON "$root/scripts/image.sh" "$LBMIRROR_TEST_IMAGE" > "$state/image.log" 2>&1 ||
    { tail -n 60 "$state/image.log"; exit 1; }
  grep -E '^(making the base image|image )' "$state/image.log"
fi
phase "what we ship, as deployed (ctest -L deploy in build/)"
(cd "$root/build" && ctest --output-on-failure -L deploy "${deploy_suites[@]}")
if [ "${LBMIRROR_TEST_SANITIZE:-1}" != 0 ]; then
  phase "building with AddressSanitizer and UndefinedBehaviorSanitizer (build-asan/)"
  (cd "$root" && cmake --preset asan > /dev/null)
  cmake --build "$root/build-asan"
  phase "unit tests and the suites of every backend under AddressSanitizer and UndefinedBehaviorSanitizer (build-asan/)"
  # Within the time CI allows: every unit test, and the end-to-end suites that run each backend
  # through every event type and the hostile input; the other suites (outages, faults,
  # partitions, operations, the passes of data no webhook announces, the change feed) run in the
  # main pass only (the passes' parsers are fuzzed with the sanitizers below).
  (cd "$root/build-asan" && ctest --output-on-failure -j2 -L unit "$@" &&
    ctest --output-on-failure -R '^integration\.(every_event_type|hostile_content)$' "$@")
  phase "building the unit tests with ThreadSanitizer (build-tsan/)"
  (cd "$root" && cmake --preset tsan > /dev/null)
  cmake --build "$root/build-tsan" --target lbmirror_core_tests lbmirror_yjs_tests lbmirror_webhook_tests \
    lbmirror_store_tests lbmirror_sync_tests lbmirror_net_tests lbmirror_admin_tests \
    lbmirror_forward_tests
  phase "unit tests under ThreadSanitizer (build-tsan/)"
  (cd "$root/build-tsan" && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
    ctest --output-on-failure -j2 -L unit)
fi
if [ "${LBMIRROR_FUZZ_SECONDS:-16}" != 0 ]; then
  phase "fuzzing every parser of outside input (build-fuzz/)"
  "$root/scripts/fuzz.sh" "${LBMIRROR_FUZZ_SECONDS:-16}"
fi
phase ""
echo "== all phases: $((SECONDS - started)) s"
