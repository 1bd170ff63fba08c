#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests: `source tests/scripts/postgres.sh` installs PostgreSQL from Debian if
# it is missing, starts a cluster in a temporary directory on a free port, exports WXLOGISTICS_TEST_POSTGRES, and
# stops and removes the cluster when the sourcing shell exits. WXLOGISTICS_TEST_POSTGRES_OPTIONS adds server settings
# (for instance "-c shared_buffers=2GB -c wal_compression=on" for bench/run.sh).

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$pg_bin" ]; then
  echo "installing PostgreSQL (Debian's postgresql)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi

# initdb refuses to run as root: the cluster belongs to the postgres user then.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_dir=$(mktemp -d -t wxlogistics-pg.XXXXXX)
[ "$(id -u)" = 0 ] && chown postgres: "$pg_dir"
pg_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)))

as_pg "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 \
  -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=400 -c shared_buffers=128MB ${WXLOGISTICS_TEST_POSTGRES_OPTIONS:-}" start >/dev/null

stop_test_postgres() {
  as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$pg_dir"
}
trap stop_test_postgres EXIT

export WXLOGISTICS_TEST_POSTGRES="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres"
echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port (data in $pg_dir)${WXLOGISTICS_TEST_POSTGRES_OPTIONS:+, $WXLOGISTICS_TEST_POSTGRES_OPTIONS}"
