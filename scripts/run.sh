#!/usr/bin/env bash
# Quick start: installs what is missing, builds, and runs `lbmirror serve` in the foreground.
# With LIVEBLOCKS_SECRET_KEY unset it starts the official Liveblocks dev server locally
# (http://127.0.0.1:1154, secret key sk_localdev), puts an example room in it and mirrors it.
# Without LIVEBLOCKS_WEBHOOK_SECRET lbmirror polls the API for changed rooms instead of
# receiving webhooks. Without DATABASE_URL it writes the SQLite file lbmirror.db. Ctrl-C stops
# everything.
#   scripts/run.sh [extra lbmirror serve flags...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state="$root/.lbmirror"
mkdir -p "$state"

if [ -z "${LIVEBLOCKS_SECRET_KEY:-}" ]; then
  "$root/scripts/install-deps.sh" --devserver
else
  "$root/scripts/install-deps.sh"
fi
"$root/scripts/build.sh" --no-tests

started_devserver=0
cleanup() {
  if [ "$started_devserver" = 1 ]; then "$root/scripts/devserver.sh" stop "$state/devserver"; fi
}
trap cleanup EXIT

if [ -z "${LIVEBLOCKS_SECRET_KEY:-}" ]; then
  port=${LBMIRROR_DEVSERVER_PORT:-1154}
  "$root/scripts/devserver.sh" start "$state/devserver" "$port"
  started_devserver=1
  export LIVEBLOCKS_SECRET_KEY=sk_localdev
  export LIVEBLOCKS_BASE_URL="http://127.0.0.1:$port"
  echo "No LIVEBLOCKS_SECRET_KEY: mirroring the local Liveblocks dev server at $LIVEBLOCKS_BASE_URL"
  node "$root/scripts/seed-demo.mjs" "$LIVEBLOCKS_BASE_URL"
  echo "In a few seconds: sqlite3 lbmirror.db 'SELECT room_id, data FROM liveblocks_documents'"
fi
cd "$root"
"$root/build/lbmirror" serve "$@"
