#!/usr/bin/env bash
# PostgreSQL's own cost of one node's append, without .NET or HTTP: pgbench, one client, runs the statements that
# PostgresStore.AppendEventsAsync sends for a batch of 16 events (the waybill locks, the insert through the
# de-duplication key, the path versions, the outbox) against two databases holding the same events:
#   collation   - the schema through migration 0006: text keys compared in the database's collation (C.UTF-8, the
#                 test cluster's, or with --icu LOCALE a database created with that ICU collation, e.g. en-US)
#   byte order  - the same database after migration 0007: the path tables' keys COLLATE "C"
# Runs alternate, so that the machine's noise falls on both alike. Synchronous commit is off for these sessions:
# this measures PostgreSQL's CPU per batch, not the disk.
#
# Usage: bench/pg-append.sh [--events 2600000] [--waybills 2000] [--rounds 2] [--duration 10] [--icu LOCALE]
set -euo pipefail
cd "$(dirname "$0")/.."

events=2600000 waybills=2000 rounds=2 duration=10 icu=""
while [ $# -gt 0 ]; do
  case "$1" in
    --events) events=$2; shift 2 ;;
    --waybills) waybills=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --icu) icu=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

source tests/scripts/postgres.sh
command -v pgbench >/dev/null || { echo "pgbench is missing (Debian's postgresql-contrib or postgresql-client)" >&2; exit 1; }
work=$(mktemp -d -t wxlogistics-pg-append.XXXXXX)
trap 'rm -rf "$work"; stop_test_postgres' EXIT
scripts=src/WxLogistics.Server/Storage/Postgres/Scripts
sql() { psql -h 127.0.0.1 -p "$pg_port" -U postgres -v ON_ERROR_STOP=1 -q -X "$@"; }

collation=${icu:+ICU $icu}
echo "WxLogistics PostgreSQL append: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $events events on $waybills waybills, database collation ${collation:-C.UTF-8}"
echo "reproduce: bench/pg-append.sh --events $events --waybills $waybills --rounds $rounds --duration $duration${icu:+ --icu $icu}"

sql -d postgres -c "CREATE DATABASE wx_collation${icu:+ TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '$icu' LOCALE 'C.UTF-8'}"
for script in "$scripts"/000[1-6]_*.sql; do sql -d wx_collation -f "$script"; done
echo "seeding $events events..."
sql -d wx_collation <<SQL
INSERT INTO waybills (delivery_id, waybill_id, token_hash, created_at, updated_at)
SELECT 'BENCH', 'BW' || lpad(g::text, 10, '0'), '\x00', 0, 0 FROM generate_series(0, $waybills - 1) g;
INSERT INTO path_events (delivery_id, waybill_id, action_time, action_type, action_msg, received_at)
SELECT 'BENCH', 'BW' || lpad((g % $waybills)::text, 10, '0'), 1600000000 + g, 200001, '到达 ' || g || ' 号中转站', 0
FROM generate_series(1, $events) g;
UPDATE waybills w SET path_version = n FROM (SELECT waybill_id, count(*) AS n FROM path_events GROUP BY waybill_id) c
WHERE w.waybill_id = c.waybill_id;
SQL
sql -d postgres -c "CREATE DATABASE wx_byte_order TEMPLATE wx_collation"
sql -d wx_byte_order -f "$scripts"/0007_*.sql
for db in wx_collation wx_byte_order; do sql -d "$db" -c "VACUUM ANALYZE"; done
sql -d postgres -c "CHECKPOINT"

# A batch of 16 new events on 16 neighbouring waybills, as the group commit sends it: the store's own two statements
# (src/WxLogistics.Server/Storage/Postgres/Statements), with pgbench expressions in place of their parameters.
statements=src/WxLogistics.Server/Storage/Postgres/Statements
{
  echo '\set t random(1700000000, 2000000000)'
  echo "\\set w random(0, $waybills - 17)"
  for statement in append_lock append_events; do
    sed -e "s/\$1/array_fill('BENCH'::text, array[16])/g" \
        -e "s/\$2/array(SELECT 'BW' || lpad((:w + g)::text, 10, '0') FROM generate_series(1, 16) g)/g" \
        -e "s/\$3/array(SELECT (:t + g)::bigint FROM generate_series(1, 16) g)/g" \
        -e "s/\$4/array_fill(200001, array[16])/g" \
        -e "s/\$5/array_fill('快件已到达转运中心'::text, array[16])/g" \
        -e "s/\$[67]/0/g" \
        -e "s/\$8/array_fill(NULL::bytea, array[16])/g" "$statements/$statement.sql"
    echo ";"
  done
} > "$work/append.sql"

latency() { # DATABASE: milliseconds per batch; each statement planned once, as the server's connections do
  PGOPTIONS="-c synchronous_commit=off -c plan_cache_mode=force_generic_plan" pgbench -h 127.0.0.1 -p "$pg_port" -U postgres -n -M prepared -c 1 -T "$duration" \
    -f "$work/append.sql" "$1" 2>/dev/null | awk '/^latency average/ {print $4}'
}
latency wx_collation >/dev/null; latency wx_byte_order >/dev/null   # warm-up: caches and prepared plans
declare -A sum=([wx_collation]=0 [wx_byte_order]=0)
for round in $(seq 1 "$rounds"); do
  for db in wx_collation wx_byte_order; do
    ms=$(latency "$db")
    sum[$db]=$(awk -v a="${sum[$db]}" -v b="$ms" 'BEGIN { print a + b }')
    printf "round %d  %-14s %8s ms per batch of 16\n" "$round" "$db" "$ms"
  done
done
before=$(awk -v s="${sum[wx_collation]}" -v n="$rounds" 'BEGIN { printf "%.3f", s / n }')
after=$(awk -v s="${sum[wx_byte_order]}" -v n="$rounds" 'BEGIN { printf "%.3f", s / n }')
echo
printf "%-44s %8s ms per batch of 16\n" "keys in the database's collation (0006)" "$before"
printf "%-44s %8s ms per batch of 16  (%s x)\n" "keys in byte order (0007)" "$after" "$(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.2f", a / b }')"
