#!/usr/bin/env bash
# The benchmark in one command: installs what is missing, builds, starts a private MariaDB
# server and the Liveblocks dev server (as the tests do), runs bench/run.mjs (the guide's
# handler against lbmirror, alternating, several repetitions), prints the table and saves the
# figures to bench/results.json, then stops both servers.
#   bench/run.sh [--reps 3] [--scenarios burst,spread,duplicates,large1mb,large10mb,mixed,steady]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh" --test
"$root/scripts/build.sh"

state=$(mktemp -d -t lbmirror-bench.XXXXXX)
cleanup() {
  "$root/scripts/devserver.sh" stop "$state/devserver" || true
  "$root/scripts/mariadb.sh" stop "$state/mariadb" || true
  rm -rf "$state"
}
trap cleanup EXIT
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
"$root/scripts/mariadb.sh" start "$state/mariadb" "$(free_port)"
"$root/scripts/devserver.sh" start "$state/devserver" "$(free_port)"

export LBMIRROR_BIN="$root/build/lbmirror"
export LIVEBLOCKS_BASE_URL="http://127.0.0.1:$(cat "$state/devserver/port")"
export LBMIRROR_TEST_MYSQL_URL="$("$root/scripts/mariadb.sh" url "$state/mariadb")"
export LBMIRROR_TEST_MARIADB_DIR="$state/mariadb"
echo "== benchmark on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
node "$root/bench/run.mjs" "$@"
