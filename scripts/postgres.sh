#!/usr/bin/env bash
# A private PostgreSQL 15 server for tests and benchmarks; never the system instance.
#   scripts/postgres.sh start DIR [PORT]   create DIR on first use (initdb), start, create role
#                                          and database "lbmirror" (password lbmirror-test-pw)
#   scripts/postgres.sh stop DIR           fast shutdown, waiting for it
#   scripts/postgres.sh url DIR            print the DATABASE_URL of the running server
# PostgreSQL refuses to run as root: as root, the server runs as the "postgres" user (the
# package creates it) and DIR is given to that user. Extra server options (TLS files, say) can
# be put in DIR/server-args, one line of "-c name=value" words.
set -euo pipefail

cmd=${1:?usage: postgres.sh start|stop|url DIR [PORT]}
dir=$(mkdir -p "${2:?data directory required}" && cd "$2" && pwd)
port=${3:-}
bin=$(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

as_server() {  # runs a command as the server's user
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
  start)
    if [ "$(id -u)" -eq 0 ]; then
      chown postgres "$dir"
      as_server test -w "$dir" ||
        { echo "the postgres user cannot reach $dir: make its parent folders searchable" >&2; exit 1; }
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_server "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
        > "$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    if [ -z "$port" ]; then port=$(cat "$dir/port" 2> /dev/null || echo 15432); fi
    echo "$port" > "$dir/port"
    if as_server "$bin/pg_ctl" -D "$dir/data" status > /dev/null 2>&1; then
      echo "postgres already running"; exit 0
    fi
    extra=""
    if [ -s "$dir/server-args" ]; then extra=$(cat "$dir/server-args"); fi
    as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start -o \
      "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 \
       -c shared_buffers=256MB $extra" > /dev/null \
      || { echo "postgres did not start; see $dir/server.log" >&2; tail -20 "$dir/server.log" >&2; exit 1; }
    psql="psql -X -q -v ON_ERROR_STOP=1 -h $dir -p $port -U postgres -d postgres"
    $psql -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'lbmirror'" | grep -q 1 ||
      $psql -c "CREATE ROLE lbmirror LOGIN PASSWORD 'lbmirror-test-pw' CREATEDB"
    $psql -tAc "SELECT 1 FROM pg_database WHERE datname = 'lbmirror'" | grep -q 1 ||
      $psql -c "CREATE DATABASE lbmirror OWNER lbmirror"
    echo "postgres running on 127.0.0.1:$port"
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_server "$bin/pg_ctl" -D "$dir/data" -m fast -w stop > /dev/null 2>&1 || true
    fi
    ;;
  url)
    echo "postgres://lbmirror:lbmirror-test-pw@127.0.0.1:$(cat "$dir/port")/lbmirror"
    ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
