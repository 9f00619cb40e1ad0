#!/usr/bin/env bash
# The official Liveblocks dev server (npm "liveblocks" under Bun) for tests and local runs.
#   scripts/devserver.sh start STATE_DIR [PORT]   start on 127.0.0.1, wait for /health
#   scripts/devserver.sh stop STATE_DIR
# Needs the npm packages of tests/integration (scripts/install-deps.sh --test installs them).
set -euo pipefail

cmd=${1:?usage: devserver.sh start|stop STATE_DIR [PORT]}
dir=$(mkdir -p "${2:?state directory required}" && cd "$2" && pwd)
port=${3:-1154}
root=$(cd "$(dirname "$0")/.." && pwd)
modules="$root/tests/integration/node_modules"
pidfile="$dir/devserver.pid"

case "$cmd" in
  start)
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then exit 0; fi
    [ -x "$modules/.bin/bun" ] || { echo "bun is missing: run scripts/install-deps.sh --test" >&2; exit 1; }
    # Run Bun on the CLI's entry script directly so the PID is the server's own. The server
    # keeps files open for every room it has seen, even with --no-persist: it may open as
    # many as the system allows (once out of files, creating a room answers 500).
    echo "$port" > "$dir/port"
    (ulimit -n 1048576 2> /dev/null || ulimit -n "$(ulimit -Hn)" 2> /dev/null || true
     cd "$dir" && exec "$modules/.bin/bun" "$modules/liveblocks/dist/index.js" dev \
        --port "$port" --host 127.0.0.1 --no-check --no-persist < /dev/null > "$dir/devserver.log" 2>&1) &
    echo $! > "$pidfile"
    for _ in $(seq 1 100); do
      kill -0 "$(cat "$pidfile")" 2> /dev/null || break  # exited: port taken or install broken
      if curl -sf "http://127.0.0.1:$port/health" > /dev/null; then
        echo "Liveblocks dev server running on http://127.0.0.1:$port (pid $(cat "$pidfile"))"
        exit 0
      fi
      sleep 0.1
    done
    echo "Liveblocks dev server did not start; see $dir/devserver.log" >&2
    exit 1
    ;;
  stop)
    if [ -f "$pidfile" ]; then
      pid=$(cat "$pidfile")
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -KILL "$pid" 2>/dev/null || true
      rm -f "$pidfile"
    fi
    ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
