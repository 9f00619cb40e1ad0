#!/usr/bin/env bash
# Fuzzes every parser of outside input with libFuzzer (clang, AddressSanitizer,
# UndefinedBehaviorSanitizer): the Yjs decoder (yjs), webhook headers and bodies (webhook),
# the projections of REST answers (projection), DATABASE_URL (database_url) and the change
# feed's JSON Patch between two versions of a Storage document (json_patch), each for
# SECONDS (default 30), starting from the seeds of tests/fuzz/make_corpus.mjs (documents made
# by npm yjs, Liveblocks' shapes, very deep and very wide JSON). A crash leaves its input in
# build-fuzz/artifacts/ and exits non-zero.
#   scripts/fuzz.sh [SECONDS] [FUZZER...]    e.g. scripts/fuzz.sh 3600 yjs for a long run
# Needs what scripts/install-deps.sh --test installs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-30}
shift || true
fuzzers=("$@")
[ ${#fuzzers[@]} -gt 0 ] || fuzzers=(yjs webhook projection database_url json_patch)
(cd "$root" && cmake --preset fuzz > /dev/null)
cmake --build "$root/build-fuzz" --target $(printf 'lbmirror_%s_fuzzer ' "${fuzzers[@]}")
corpus="$root/build-fuzz/corpus"
mkdir -p "$corpus" "$root/build-fuzz/artifacts"
node "$root/tests/fuzz/make_corpus.mjs" "$corpus" 64
status=0
for fuzzer in "${fuzzers[@]}"; do
  echo "== fuzzing $fuzzer for ${seconds} s (corpus: build-fuzz/corpus/$fuzzer)"
  log="$root/build-fuzz/$fuzzer.log"
  code=0
  "$root/build-fuzz/tests/fuzz/lbmirror_${fuzzer}_fuzzer" "$corpus/$fuzzer" \
    -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$root/build-fuzz/artifacts/$fuzzer-" > "$log" 2>&1 || code=$?
  grep -E "^(INFO: seed corpus|#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)" "$log" || true
  if [ "$code" -ne 0 ]; then
    grep -E -A40 "^==[0-9]+==" "$log" | head -60 >&2 || true
    echo "the $fuzzer fuzzer failed (exit $code): the input is in build-fuzz/artifacts/, the log in build-fuzz/$fuzzer.log" >&2
    status=$code
  else
    echo "the $fuzzer fuzzer found no failure in ${seconds} s"
  fi
done
exit "$status"
