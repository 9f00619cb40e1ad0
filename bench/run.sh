#!/usr/bin/env bash
# The benchmark in one command: installs what is missing, builds, starts private MariaDB and
# PostgreSQL servers and the Liveblocks dev server (as the tests do), runs bench/run.mjs (the guide's
# handler against lbmirror, alternating, several repetitions), prints the table and saves the
# figures to bench/results.json, then stops the servers.
#   bench/run.sh [--reps 3] [--scenarios burst,spread,duplicates,large1mb,large10mb,mixed,steady,stream]
#                [--database mariadb|postgres|both]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh" --test
"$root/scripts/build.sh"

source "$root/scripts/test-services.sh"
export LBMIRROR_BIN="$root/build/lbmirror"
echo "== benchmark on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
node "$root/bench/run.mjs" "$@"
