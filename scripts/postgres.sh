#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests and benches, from Debian's `postgresql` package:
#   bash scripts/postgres.sh start DIR   prints the URL of its maintenance database
#   bash scripts/postgres.sh stop DIR    stops it and removes DIR
#   bash scripts/postgres.sh halt DIR    stops the server, keeping its data (a test of an outage)
#   bash scripts/postgres.sh resume DIR  starts it again on the same port
# It listens on a free loopback port only, trusts local connections (there is nothing in it
# but test data) and runs without fsync. As root, the server runs as the `postgres` user.
set -euo pipefail
cmd="${1:?start or stop}"
dir="${2:?a directory for the cluster}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$bin/initdb" ] || { echo "PostgreSQL is not installed: run bash scripts/setup.sh" >&2; exit 1; }
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$cmd" in
  start)
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then
      # The server's user must reach DIR (mktemp makes private directories).
      chmod a+x "$(dirname "$dir")"
      chown postgres "$dir"
    fi
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    as_owner "$bin/initdb" -D "$dir/data" -A trust -U gatehouse -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    echo "$port" >"$dir/port"
    bash "$0" resume "$dir"
    echo "postgres://gatehouse@127.0.0.1:$port/postgres"
    ;;
  resume)
    port="$(cat "$dir/port")"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" \
      start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    ;;
  halt)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start|stop|halt|resume DIR" >&2; exit 2 ;;
esac
