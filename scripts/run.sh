#!/usr/bin/env bash
# Quick start: installs what is missing, builds, and runs `lbmirror serve` in the foreground.
# With LIVEBLOCKS_SECRET_KEY unset it starts the official Liveblocks dev server locally
# (http://127.0.0.1:1154, secret key sk_localdev) and mirrors that. Without
# LIVEBLOCKS_WEBHOOK_SECRET it makes a local one in .lbmirror/webhook-secret. Without
# DATABASE_URL it writes the SQLite file lbmirror.db. Ctrl-C stops everything.
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
fi
if [ -z "${LIVEBLOCKS_WEBHOOK_SECRET:-}" ]; then
  if [ ! -s "$state/webhook-secret" ]; then
    (umask 077 && echo "whsec_$(head -c 32 /dev/urandom | base64)" > "$state/webhook-secret")
  fi
  LIVEBLOCKS_WEBHOOK_SECRET=$(cat "$state/webhook-secret")
  export LIVEBLOCKS_WEBHOOK_SECRET
  echo "No LIVEBLOCKS_WEBHOOK_SECRET: using the local one in .lbmirror/webhook-secret"
  echo "Try: node scripts/send-webhook.mjs storageUpdated my-room"
fi
cd "$root"
"$root/build/lbmirror" serve "$@"
