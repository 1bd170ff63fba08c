#!/usr/bin/env bash
# WxLogistics benchmarks, all in one run so that every figure is compared with a ceiling measured on the same machine
# at the same time:
#   1. ceiling  - a bare Kestrel app that parses the updatePath body and answers ok (bench/WxLogistics.Bench.Ceiling)
#      and the durable ceiling: the same app answering once the body is written to a file and flushed to disk, one
#      write and one fsync per batch of waiting requests, over blocks written before as a restarted write-ahead log
#      is (what any durable server could do at most here)
#   2. ingest   - durable updatePath against the real server, 32 connections, then a check that every event
#                 acknowledged with errcode 0 is in the store; and again at a fixed rate of half what it just did
#                 (bench/WxLogistics.Bench load, an open loop), for the latency at a load the store keeps up with,
#                 next to the durable ceiling's at that same rate
#   3. read     - getPath on waybills with 20 events each, and the tracking page
#   4. memory and start-up - peak resident memory of the server under that load; start to first served request
#   5. with sqlite, the bytes on disk per event
#   6. growth, with --waybills more than 2000 (500000 for the issue's 10 M events): the same loads in the same order
#      (getPath, the page, ingest) first against a small store of 2,000 waybills seeded beside the large one, so that
#      the large store's rates are compared with the small store's in the same run
# and ends with the performance targets this run can judge, each "met" or "NOT MET".
# With --store postgres it runs 2-3 against a throwaway local PostgreSQL and measures first, on the same server,
# pgbench's single-row insert rate at 32 connections and the PostgreSQL ceiling: the ceiling app inserting each batch
# of waiting events into a table without index, one commit per batch, before it answers.
# A seeded PostgreSQL store is vacuumed and checkpointed before it is measured.
#
# Every load runs first for --warmup (15 s by default) unmeasured: .NET compiles hot code again, optimised, during
# the first seconds of load (tiered compilation), and a 2 s warm-up measured mostly that (ingest at half its steady rate).
#
# Usage: bench/run.sh [--store sqlite|postgres] [--duration 10s] [--warmup 15s] [--waybills 2000]
set -euo pipefail
cd "$(dirname "$0")/.."

store=sqlite duration=10s warmup=15s waybills=2000 connections=32
while [ $# -gt 0 ]; do
  case "$1" in
    --store) store=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --waybills) waybills=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
# The revision built, taken before the build: a commit made while the run goes on is not what it measures.
revision="$(git log -1 --format='%h %s' 2>/dev/null | cut -c1-100)$(git diff --quiet HEAD -- src bench 2>/dev/null || echo ' (with uncommitted changes)')"
dotnet build WxLogistics.slnx -c Release --verbosity quiet -nologo >/dev/null
bin() { echo "$1/bin/Release/net10.0/$2.dll"; }
SERVER=$(bin src/WxLogistics.Server WxLogistics.Server)
CEILING=$(bin bench/WxLogistics.Bench.Ceiling WxLogistics.Bench.Ceiling)
TOOL=$(bin bench/WxLogistics.Bench WxLogistics.Bench)

work=$(mktemp -d -t wxlogistics-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${stop_pg:-}" ] && stop_test_postgres
  rm -rf "$work"
}
trap cleanup EXIT

source bench/lib.sh
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
fixed_line() { # LABEL RESULT: the figures of a fixed-rate load (bench/WxLogistics.Bench load)
  printf "%-40s %10s req/s  p50 %6s ms  p99 %6s ms  p99.9 %6s ms  (errors %s; sending fell behind by up to %s ms)\n" "$1" \
    "$(rps "$2")" "$(field p50_ms "$2")" "$(field p99_ms "$2")" "$(field p999_ms "$2")" "$(field errors "$2")" "$(field behind_ms "$2")"
}
line() { # LABEL RESULT [RATIO-TEXT]: one load's figures
  printf "%-40s %10s req/s  p50 %6s ms  p99 %6s ms%s\n" "$1" "$(rps "$2")" "$(field p50_ms "$2")" "$(field p99_ms "$2")" "${3:+  = $3}"
}

store_args=(--data "$work/data")
if [ "$store" = postgres ]; then
  stop_pg=1
  source tests/scripts/postgres.sh
  stop_pg_trap=$(trap -p EXIT); trap cleanup EXIT
  store_args+=(--store postgres --connection "$WXLOGISTICS_TEST_POSTGRES")
fi

echo "WxLogistics benchmarks: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), store $store"
echo "revision: $revision"
echo "reproduce: ${WXLOGISTICS_TEST_POSTGRES_OPTIONS:+WXLOGISTICS_TEST_POSTGRES_OPTIONS=\"$WXLOGISTICS_TEST_POSTGRES_OPTIONS\" }bench/run.sh --store $store --duration $duration --warmup $warmup --waybills $waybills"
echo

# psql on the bench's PostgreSQL, from an Npgsql connection string (the bench's own by default).
bench_psql() { psql_at "${BENCH_PSQL_CONNECTION:-$WXLOGISTICS_TEST_POSTGRES}" "$@"; }

# Seeds a store (seed DIR WAYBILLS STORE_ARGS...). On PostgreSQL it then vacuums and checkpoints the new database, as
# a store that grew over weeks would have been. Measured right after a bulk load of 10 M events, PostgreSQL would
# still be vacuuming the new table and writing its pages out.
seed() {
  local out=$1 count=$2; shift 2
  dotnet "$TOOL" seed "$@" --waybills "$count" --events 20 --out "$out" 2>/dev/null
  if [ "$store" = postgres ]; then
    local began=$SECONDS
    BENCH_PSQL_CONNECTION=${*: -1} bench_psql -c "VACUUM ANALYZE" -c "CHECKPOINT"
    echo "seeded $count waybills, then VACUUM ANALYZE and CHECKPOINT ($((SECONDS - began)) s)"
  fi
}

seed "$work/seed" "$waybills" "${store_args[@]}"
export BENCH_WAYBILLS="$work/seed/waybills.tsv" BENCH_PAGES="$work/seed/pages.txt"

small_waybills=2000
if [ "$waybills" -gt "$small_waybills" ]; then
  # 6. The small store the large one is compared with: its own data directory, or its own database on the same server.
  small_args=(--data "$work/small")
  if [ "$store" = postgres ]; then
    bench_psql -c "CREATE DATABASE bench_small"
    small_args+=(--store postgres --connection "$(with_database "$WXLOGISTICS_TEST_POSTGRES" bench_small)")
  fi
  seed "$work/small-seed" "$small_waybills" "${small_args[@]}"
fi

# measure_ceiling [--at RATE] ARGS...: runs the ceiling app with ARGS under the ingest load (wrk, warm-up then
# measured; with --at, fixed_load at RATE instead) and stops it; the load's RESULT line is left in $measured (a
# variable, not printed into $(...), so that the app's pid stays in this shell's cleanup list), and without --at the
# CPU per request of the app and wrk in $app_us and $wrk_us (see measured_wrk).
measure_ceiling() {
  local port rate=
  if [ "${1:-}" = --at ]; then rate=$2; shift 2; fi
  port=$(free_port)
  dotnet "$CEILING" --urls "http://127.0.0.1:$port" "$@" >/dev/null 2>&1 & pids+=($!)
  wait_http "http://127.0.0.1:$port/"
  if [ -n "$rate" ]; then
    measured=$(fixed_load "$port" none "$rate")
  else
    BENCH_ACCESS_TOKEN=none wrk -t2 -c"$connections" -d"$warmup" -s bench/update.lua "http://127.0.0.1:$port" >/dev/null
    BENCH_ACCESS_TOKEN=none measured_wrk "${pids[-1]}" bench/update.lua
    measured=$wrk_result
  fi
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
}

# 1. The ceiling.
measure_ceiling
ceiling=$measured
ceiling_rps=$(rps "$ceiling")
ceiling_app_us=$app_us ceiling_wrk_us=$wrk_us
line "ceiling (parse, answer ok)" "$ceiling"

# 1b. The durable ceiling: the same app writing each body to a file made beforehand, one write and one flush to disk
# per batch of waiting requests, answering after the flush. Any server that answers only once the event is on disk is below it.
measure_ceiling --durable "$work/durable-ceiling.log"
durable=$measured
rm -f "$work/durable-ceiling.log"
durable_rps=$(rps "$durable")
line "durable ceiling (+ fsync)" "$durable" "$(ratio "$durable_rps" "$ceiling_rps") x ceiling"

if [ "$store" = postgres ]; then
  # pgbench: one single-row INSERT per transaction, 32 clients, on the same server.
  bench_psql -c "CREATE TABLE IF NOT EXISTS pgbench_insert (id bigserial PRIMARY KEY, k text NOT NULL, v text NOT NULL)"
  echo "INSERT INTO pgbench_insert (k, v) VALUES ('BW' || :client_id, repeat('x', 60));" > "$work/insert.sql"
  pg_port=$(sed -E 's/.*Port=([0-9]+).*/\1/' <<<"$WXLOGISTICS_TEST_POSTGRES")
  pgbench_tps=$(pgbench -h 127.0.0.1 -p "$pg_port" -U postgres -n -c "$connections" -j 2 -T "${duration%s}" -f "$work/insert.sql" postgres 2>/dev/null \
    | awk '/^tps/ {printf "%.0f", $3}')
  printf "%-40s %10s tx/s\n" "pgbench single-row insert" "$pgbench_tps"

  # 1c. The PostgreSQL ceiling: the ceiling app inserting the events waiting into a table without index, one INSERT
  # committed per batch: what a server storing each event as a PostgreSQL row could do at most here.
  measure_ceiling --postgres "$WXLOGISTICS_TEST_POSTGRES"
  pg_ceiling=$measured
  pg_ceiling_rps=$(rps "$pg_ceiling")
  line "PostgreSQL ceiling" "$pg_ceiling" "$(ratio "$pg_ceiling_rps" "$pgbench_tps") x pgbench"
fi

# The server on a seeded store: start_server SEED_DIR STORE_ARGS... starts it, times its start to the first answer
# and takes both apps' access_tokens; getpath_run, page_run and ingest_run measure, leaving wrk's RESULT line in
# $getpath, $page and $ingest; stop_and_verify SEED_DIR WAYBILLS STORE_ARGS... stops it and checks that every acknowledged event is stored.
token_of() { access_token "$port" "$apps" "$1"; }
start_server() {
  local seed=$1; shift
  port=$(free_port)
  started=$(date +%s%N)
  dotnet "$SERVER" --urls "http://127.0.0.1:$port" "$@" >"$work/server.log" 2>&1 & pids+=($!)
  server_pid=${pids[-1]}
  wait_http "http://127.0.0.1:$port/cgi-bin/token"
  startup_ms=$(( ($(date +%s%N) - started) / 1000000 ))
  apps="$seed/apps.json"
  carrier_token=$(token_of carrier)
  merchant_token=$(token_of merchant)
  export BENCH_WAYBILLS="$seed/waybills.tsv" BENCH_PAGES="$seed/pages.txt"
}
getpath_run() {
  BENCH_ACCESS_TOKEN=$merchant_token wrk -t2 -c"$connections" -d"$warmup" -s bench/getpath.lua "http://127.0.0.1:$port" >/dev/null
  getpath=$(BENCH_ACCESS_TOKEN=$merchant_token wrk -t2 -c"$connections" -d"$duration" --latency -s bench/getpath.lua "http://127.0.0.1:$port" | result)
}
page_run() {
  wrk -t2 -c"$connections" -d"$warmup" -s bench/page.lua "http://127.0.0.1:$port" >/dev/null
  page=$(wrk -t2 -c"$connections" -d"$duration" --latency -s bench/page.lua "http://127.0.0.1:$port" | result)
}
# ingest_run also leaves the CPU per request of the measured load in $app_us, $writer_us, $postgres_us and $wrk_us.
ingest_run() {
  BENCH_RUN=1 BENCH_ACCESS_TOKEN=$carrier_token wrk -t2 -c"$connections" -d"$warmup" -s bench/update.lua "http://127.0.0.1:$port" > "$work/warmup.txt"
  BENCH_RUN=2 BENCH_ACCESS_TOKEN=$carrier_token measured_wrk "$server_pid" bench/update.lua
  ingest=$wrk_result
}
# fixed_rate_run: fixed_load at half the rate of $ingest; its RESULT line in $fixed.
fixed_rate_run() {
  fixed_rate=$(awk -v r="$(rps "$ingest")" 'BEGIN { printf "%.0f", r / 2 }')
  fixed=$(fixed_load "$port" "$carrier_token" "$fixed_rate")
}
stop_and_verify() {
  local seed=$1 seeded=$2; shift 2
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
  # Warm-up and measured runs, at most and at a fixed rate, plus what was seeded.
  acked=$(( $(field acked "$(result < "$work/warmup.txt")") + $(field acked "$ingest") + $(field acked "$fixed") + seeded * 20 ))
  dotnet "$TOOL" verify "$@" --waybills "$seed/waybills.tsv" --expect "$acked"
}

# The reads first, while every seeded waybill has its 20 events (the ingest run adds about a hundred to each), then
# ingest: measure_loads LABEL-PREFIX leaves the RESULT lines in $getpath, $page, $ingest and $fixed.
measure_loads() {
  getpath_run
  line "${1}getPath (20 events)" "$getpath" "$(ratio "$(rps "$getpath")" "$ceiling_rps") x ceiling"
  page_run
  line "${1}tracking page" "$page" "$(ratio "$(rps "$page")" "$ceiling_rps") x ceiling"
  ingest_run
  line "${1}ingest (durable, $store)" "$ingest" "$(ratio "$(rps "$ingest")" "$ceiling_rps") x ceiling"
  fixed_rate_run
  fixed_line "${1}ingest at a fixed half rate" "$fixed"
}

if [ -n "${small_args:-}" ]; then
  start_server "$work/small-seed" "${small_args[@]}"
  measure_loads "small store: "
  small_getpath=$getpath small_ingest=$ingest
  stop_and_verify "$work/small-seed" "$small_waybills" "${small_args[@]}"
  echo
fi

# 2-4. The server.
start_server "$work/seed" "${store_args[@]}"
measure_loads ""
ingest_rps=$(rps "$ingest")
printf "%-40s %10s x durable ceiling\n" "ingest" "$(ratio "$ingest_rps" "$durable_rps")"

# Where the machine's CPU went, per request of the measured loads: the server (or the ceiling app), wrk and, with
# --store postgres, PostgreSQL share the same cores. Next to it, what the cores would allow per request in all at the
# rate the ingest target asks for: when the measured sum is larger, the target is out of reach at this CPU cost.
pg_us=0
[ "$store" = postgres ] && pg_us=$postgres_us
printf "%-40s %10s us  (app %s, wrk %s)\n" "CPU per request, ceiling" $((ceiling_app_us + ceiling_wrk_us)) "$ceiling_app_us" "$ceiling_wrk_us"
printf "%-40s %10s us  (server %s, of which its writer thread %s; %swrk %s)\n" "CPU per request, ingest" \
  $((app_us + pg_us + wrk_us)) "$app_us" "$writer_us" "$([ "$store" = postgres ] && echo "PostgreSQL $pg_us, ")" "$wrk_us"
if [ "$store" = sqlite ]; then target_rps=$(awk -v c="$ceiling_rps" 'BEGIN { print 0.6 * c }') target_text="0.6 x ceiling"
else target_rps=$(awk -v p="$pgbench_tps" 'BEGIN { print 1.5 * p }') target_text="1.5 x pgbench"; fi
printf "%-40s %10s us  (%s cores at %s requests/s)\n" "CPU per request allowed at $target_text" \
  "$(awk -v n="$(nproc)" -v r="$target_rps" 'BEGIN { printf "%.0f", n * 1e6 / r }')" "$(nproc)" "$(printf "%.0f" "$target_rps")"

peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
printf "%-40s %10s MB\n" "peak resident memory" "$((peak_kb / 1024))"
printf "%-40s %10s ms\n" "start to first answer" "$startup_ms"
if [ -n "${pgbench_tps:-}" ]; then
  printf "%-40s %10s x pgbench single-row inserts\n" "ingest on PostgreSQL" "$(ratio "$ingest_rps" "$pgbench_tps")"
  printf "%-40s %10s x PostgreSQL ceiling\n" "ingest on PostgreSQL" "$(ratio "$ingest_rps" "$pg_ceiling_rps")"
fi

if [ -n "${small_args:-}" ]; then
  growth=$(ratio "$ingest_rps" "$(rps "$small_ingest")")
  printf "%-40s %10s x the small store's\n" "ingest, large store" "$growth"
  printf "%-40s %10s x the small store's (p50 %s ms against %s, p99 %s ms against %s)\n" "getPath, large store" \
    "$(ratio "$(rps "$getpath")" "$(rps "$small_getpath")")" \
    "$(field p50_ms "$getpath")" "$(field p50_ms "$small_getpath")" "$(field p99_ms "$getpath")" "$(field p99_ms "$small_getpath")"
fi

# Every acknowledged event must be in the store.
stop_and_verify "$work/seed" "$waybills" "${store_args[@]}"

if [ "$store" = sqlite ]; then
  # Bytes on disk per acknowledged event: the database and its WAL, everything included (waybills, indexes, tokens).
  bytes=$(cat "$work/data"/wxlogistics.db* | wc -c)
  printf "%-40s %10s bytes (%s per event)\n" "store on disk" "$bytes" "$(awk -v b="$bytes" -v n="$acked" 'BEGIN { printf "%.0f", b / n }')"
fi

# What the fixed rate's latency is compared with: the durable ceiling at the same rate, on the same load generator.
measure_ceiling --at "$fixed_rate" --durable "$work/durable-ceiling.log"
rm -f "$work/durable-ceiling.log"
fixed_line "durable ceiling at the same fixed rate" "$measured"

# The performance issue's targets for this run, as ratios measured above.
verdict() { # NAME VALUE at-least|at-most LIMIT
  local ok
  ok=$(awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN { print ((op == "at-least" && v >= l) || (op == "at-most" && v <= l)) ? "met" : "NOT MET" }')
  printf "%-44s %10s  (target %s %s)  %s\n" "$1" "$2" "${3/-/ }" "$4" "$ok"
}
echo
echo "targets:"
if [ "$store" = sqlite ]; then
  verdict "ingest / ceiling" "$(ratio "$ingest_rps" "$ceiling_rps")" at-least 0.6
  verdict "ingest p99 (ms)" "$(field p99_ms "$ingest")" at-most 5
  if [ -n "${small_args:-}" ]; then
    # A growth run judges getPath on both stores: the small one as in a standard run, the large one with 10 M events.
    verdict "getPath / ceiling, small store" "$(ratio "$(rps "$small_getpath")" "$ceiling_rps")" at-least 0.5
    verdict "getPath / ceiling, large store" "$(ratio "$(rps "$getpath")" "$ceiling_rps")" at-least 0.5
  else
    verdict "getPath / ceiling" "$(ratio "$(rps "$getpath")" "$ceiling_rps")" at-least 0.5
  fi
else
  verdict "ingest / pgbench single-row inserts" "$(ratio "$ingest_rps" "$pgbench_tps")" at-least 1.5
fi
if [ -n "${small_args:-}" ]; then
  verdict "ingest, large store / small store" "$growth" at-least 0.8
fi
verdict "peak resident memory (MB)" "$((peak_kb / 1024))" at-most 250
verdict "start to first answer (ms)" "$startup_ms" at-most 1500
