#!/usr/bin/env bash
# A private PgBouncer in transaction pooling mode (as Supabase's and Neon's poolers run) in
# front of the private PostgreSQL server of scripts/postgres.sh; never a system instance.
#   scripts/pgbouncer.sh start DIR PORT POSTGRES_PORT [POOL_SIZE]   configure and start
#   scripts/pgbouncer.sh stop DIR                                     stop and wait
#   scripts/pgbouncer.sh url DIR                                      the DATABASE_URL through it
# PgBouncer refuses to run as root: as root it runs as the "postgres" user.
set -euo pipefail

cmd=${1:?usage: pgbouncer.sh start|stop|url DIR [PORT POSTGRES_PORT [POOL_SIZE]]}
dir=$(mkdir -p "${2:?folder required}" && cd "$2" && pwd)
pidfile="$dir/pgbouncer.pid"
running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2> /dev/null; }

case "$cmd" in
  start)
    port=${3:?port required}
    postgres_port=${4:?PostgreSQL port required}
    pool=${5:-4}
    command -v pgbouncer > /dev/null || { echo "pgbouncer is not installed (apt-get install pgbouncer)" >&2; exit 1; }
    if running; then echo "pgbouncer already running"; exit 0; fi
    echo "$port" > "$dir/port"
    printf '"lbmirror" "lbmirror-test-pw"\n' > "$dir/userlist.txt"
    cat > "$dir/pgbouncer.ini" << INI
[databases]
lbmirror = host=127.0.0.1 port=$postgres_port dbname=lbmirror
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = plain
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = $pool
max_client_conn = 1000
pidfile = $pidfile
logfile = $dir/pgbouncer.log
INI
    user=()
    if [ "$(id -u)" -eq 0 ]; then chown -R postgres "$dir"; user=(-u postgres); fi
    pgbouncer -d "${user[@]}" "$dir/pgbouncer.ini"
    for _ in $(seq 1 100); do running && break; sleep 0.1; done
    running || { echo "pgbouncer did not start; see $dir/pgbouncer.log" >&2; tail -20 "$dir/pgbouncer.log" >&2; exit 1; }
    echo "pgbouncer (transaction pooling, $pool server sessions) on 127.0.0.1:$port"
    ;;
  stop)
    if running; then
      pid=$(cat "$pidfile")
      kill -INT "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    fi
    ;;
  url)
    echo "postgres://lbmirror:lbmirror-test-pw@127.0.0.1:$(cat "$dir/port")/lbmirror"
    ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
