# Sourced by scripts/test.sh and bench/run.sh (after `root` is set): starts a private MariaDB
# server, a private PostgreSQL server and the Liveblocks dev server on free ports under a
# temporary folder `state`, exports what the test suites and the benchmark read, and stops
# them all when the script exits.
state=$(mktemp -d -t lbmirror.XXXXXX)
chmod 755 "$state"  # PostgreSQL runs as its own user (scripts/postgres.sh)
lbmirror_stop_services() {
  "$root/scripts/devserver.sh" stop "$state/devserver" || true
  "$root/scripts/mariadb.sh" stop "$state/mariadb" || true
  "$root/scripts/postgres.sh" stop "$state/postgres" || true
  rm -rf "$state"
}
trap lbmirror_stop_services EXIT

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
"$root/scripts/mariadb.sh" start "$state/mariadb" "$(free_port)"
"$root/scripts/postgres.sh" start "$state/postgres" "$(free_port)"
"$root/scripts/devserver.sh" start "$state/devserver" "$(free_port)"

export LIVEBLOCKS_BASE_URL="http://127.0.0.1:$(cat "$state/devserver/port")"
export LBMIRROR_TEST_MYSQL_URL="$("$root/scripts/mariadb.sh" url "$state/mariadb")"
export LBMIRROR_TEST_MARIADB_DIR="$state/mariadb"
export LBMIRROR_TEST_POSTGRES_URL="$("$root/scripts/postgres.sh" url "$state/postgres")"
export LBMIRROR_TEST_POSTGRES_DIR="$state/postgres"
