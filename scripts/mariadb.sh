#!/usr/bin/env bash
# A private MariaDB server for tests and benchmarks; never the system instance.
#   scripts/mariadb.sh start DIR [PORT]   create DIR on first use, start, create database
#                                         "lbmirror" and user lbmirror/lbmirror-test-pw
#   scripts/mariadb.sh stop DIR           SIGTERM and wait (clean shutdown)
#   scripts/mariadb.sh url DIR            print the DATABASE_URL of the running server
# Extra server options (TLS certificates, say) can be put in DIR/server-args, one line.
set -euo pipefail

cmd=${1:?usage: mariadb.sh start|stop|url DIR [PORT]}
dir=$(mkdir -p "${2:?data directory required}" && cd "$2" && pwd)
port=${3:-}
sock="$dir/mysqld.sock"
pidfile="$dir/mysqld.pid"

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case "$cmd" in
  start)
    if running; then echo "mariadb already running (pid $(cat "$pidfile"))"; exit 0; fi
    if [ ! -d "$dir/data/mysql" ]; then
      mariadb-install-db --no-defaults --user=root --datadir="$dir/data" \
        --auth-root-authentication-method=socket > "$dir/install.log" 2>&1
    fi
    if [ -z "$port" ]; then port=$(cat "$dir/port" 2>/dev/null || echo 13306); fi
    echo "$port" > "$dir/port"
    extra=()
    if [ -s "$dir/server-args" ]; then read -ra extra < "$dir/server-args"; fi
    mariadbd --no-defaults --user=root --datadir="$dir/data" --socket="$sock" --port="$port" \
      --bind-address=127.0.0.1 --pid-file="$pidfile" --log-error="$dir/error.log" \
      --skip-log-bin --innodb-buffer-pool-size=256M --max-connections=500 \
      --skip-name-resolve --max-allowed-packet=64M "${extra[@]}" > /dev/null 2>&1 &
    for _ in $(seq 1 120); do
      if mariadb --no-defaults --socket="$sock" -uroot -e 'select 1' > /dev/null 2>&1; then break; fi
      sleep 0.5
    done
    mariadb --no-defaults --socket="$sock" -uroot -e "
      CREATE DATABASE IF NOT EXISTS lbmirror CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
      CREATE USER IF NOT EXISTS 'lbmirror'@'127.0.0.1' IDENTIFIED BY 'lbmirror-test-pw';
      GRANT ALL ON *.* TO 'lbmirror'@'127.0.0.1';" \
      || { echo "mariadb did not start; see $dir/error.log" >&2; tail -20 "$dir/error.log" >&2; exit 1; }
    echo "mariadb running on 127.0.0.1:$port (pid $(cat "$pidfile"))"
    ;;
  stop)
    if running; then
      pid=$(cat "$pidfile")
      kill -TERM "$pid"
      for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    fi
    ;;
  url)
    echo "mysql://lbmirror:lbmirror-test-pw@127.0.0.1:$(cat "$dir/port")/lbmirror"
    ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
