#!/usr/bin/env bash
# Fuzzes the Yjs decoder with libFuzzer (clang, AddressSanitizer, UndefinedBehaviorSanitizer)
# for SECONDS (default 30), starting from random documents and editor layouts made by npm yjs.
# A crash leaves its input in build-fuzz/artifacts/ and exits non-zero.
#   scripts/fuzz.sh [SECONDS]        e.g. scripts/fuzz.sh 3600 for a long run
# Needs what scripts/install-deps.sh --test installs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-30}
(cd "$root" && cmake --preset fuzz > /dev/null)
cmake --build "$root/build-fuzz" --target lbmirror_yjs_fuzzer
corpus="$root/build-fuzz/corpus"
mkdir -p "$corpus" "$root/build-fuzz/artifacts"
node "$root/tests/fuzz/make_corpus.mjs" "$corpus" 64
echo "== fuzzing the Yjs decoder for ${seconds} s (corpus: build-fuzz/corpus)"
log="$root/build-fuzz/fuzz.log"
status=0
"$root/build-fuzz/tests/fuzz/lbmirror_yjs_fuzzer" "$corpus" \
  -max_total_time="$seconds" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$root/build-fuzz/artifacts/" > "$log" 2>&1 || status=$?
grep -E "^(INFO: seed corpus|#[0-9]+ +DONE|Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb)" "$log" || true
if [ "$status" -ne 0 ]; then
  grep -E -A40 "^==[0-9]+==" "$log" | head -60 >&2 || true
  echo "the Yjs decoder fuzzer failed (exit $status): the input is in build-fuzz/artifacts/, the log in build-fuzz/fuzz.log" >&2
  exit "$status"
fi
echo "the Yjs decoder fuzzer found no failure in ${seconds} s"
