#!/usr/bin/env bash
# Compares the durable ingest of two revisions of the server in alternating runs, so that a change is judged against
# the machine's noise of the same minutes rather than against a figure from another hour:
#   - each revision is built (Release) from a detached worktree, or from the working tree as it is for ".";
#   - each revision seeds a store of its own once (2,000 waybills of 20 events, with its own schema);
#   - then, PAIRS times, A and B run in turn (B first in every other pair), each on a fresh copy of its seeded store:
#     the server starts, wrk loads updatePath for --warmup unmeasured, then for --duration measured;
#   - with --rate R, the measured load is the bench tool's fixed rate of R requests/s instead (an open loop, after
#     wrk's warm-up and 5 s of its own), for the latency at a load both revisions keep up with, with p99.9 as well;
#   - every run prints requests/s, p50, p99, the server's CPU per request (and PostgreSQL's, with --store postgres)
#     and the mean number of events the group commit wrote per batch;
#     the end prints each side's medians and B's ratio to A.
# A long --warmup puts what a server does only after minutes (the call inspector's trim, checkpoints of a grown WAL)
# inside the measured window.
#
# Usage: bench/ab.sh [--store sqlite|postgres] [--pairs 3] [--warmup 10s] [--duration 10s] [--rate R] REV_A REV_B
#   REV is anything git rev-parse accepts (main, HEAD~1, a commit), or "." for the working tree with its changes.
# With --store postgres it starts a throwaway local PostgreSQL (tests/scripts/postgres.sh) unless
# WXLOGISTICS_TEST_POSTGRES names one already running.
set -euo pipefail
cd "$(dirname "$0")/.."

store=sqlite pairs=3 warmup=10s duration=10s connections=32 waybills=2000 rate=
revs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --store) store=$2; shift 2 ;;
    --pairs) pairs=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) revs+=("$1"); shift ;;
  esac
done
[ "${#revs[@]}" = 2 ] || { sed -n '/^# Usage/,/^# With/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
case "$store" in sqlite | postgres) ;; *) echo "--store is sqlite or postgres" >&2; exit 2 ;; esac
[[ -z "$rate" || "$rate" =~ ^[0-9]+$ ]] || { echo "--rate is a number of requests a second" >&2; exit 2; }

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

work=$(mktemp -d -t wxlogistics-ab.XXXXXX)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  for side in a b; do [ -d "$work/src-$side" ] && git worktree remove --force "$work/src-$side" 2>/dev/null; done
  [ -n "${stop_pg:-}" ] && stop_test_postgres
  rm -rf "$work"
}
trap cleanup EXIT

if [ "$store" = postgres ] && [ -z "${WXLOGISTICS_TEST_POSTGRES:-}" ]; then
  source tests/scripts/postgres.sh
  stop_pg=1
  trap cleanup EXIT
fi
source bench/lib.sh

# build SIDE REV: the server and the bench tool of REV into $work/bin-SIDE.
build() {
  local side=$1 rev=$2 src
  if [ "$rev" = . ]; then
    src=.
    echo "$side: the working tree ($(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' with changes'))"
  else
    src="$work/src-$side"
    git worktree add --quiet --detach "$src" "$rev"
    echo "$side: $rev ($(git -C "$src" log -1 --format='%h %s' | cut -c1-100))"
  fi
  for project in src/WxLogistics.Server bench/WxLogistics.Bench; do
    dotnet build "$src/$project" -c Release --verbosity quiet -nologo -o "$work/bin-$side/$(basename "$project")" >/dev/null
  done
}

# seed SIDE: a store of the side's own schema, seeded once; each run starts from a copy of it.
seed() {
  local side=$1 args
  args=(--data "$work/seed-$side/data")
  if [ "$store" = postgres ]; then
    psql_at "$WXLOGISTICS_TEST_POSTGRES" -c "DROP DATABASE IF EXISTS ab_seed_$side" -c "CREATE DATABASE ab_seed_$side"
    args+=(--store postgres --connection "$(with_database "$WXLOGISTICS_TEST_POSTGRES" "ab_seed_$side")")
  fi
  dotnet "$work/bin-$side/WxLogistics.Bench/WxLogistics.Bench.dll" seed "${args[@]}" --waybills "$waybills" --events 20 \
    --out "$work/seed-$side" 2>/dev/null
  if [ "$store" = postgres ]; then
    psql_at "$(with_database "$WXLOGISTICS_TEST_POSTGRES" "ab_seed_$side")" -c "VACUUM ANALYZE" -c "CHECKPOINT"
  fi
}

# "EVENTS BATCHES" committed so far, from the server's metrics.
batches() {
  curl -s "http://127.0.0.1:$1/metrics" | awk '/^wxlogistics_ingest_batch_size_sum/ {s = $2} /^wxlogistics_ingest_batch_size_count/ {c = $2} END {print s + 0, c + 0}'
}

# run SIDE: one measured ingest on a fresh copy of the side's seeded store; appends its figures to $work/runs.
run() {
  local side=$1 seed data="$work/run/data" args port token result b0 b1 rps pg_us=- p999=- app0 pg0 window
  seed="$work/seed-$side"
  rm -rf "$work/run"; mkdir -p "$work/run"; cp -r "$seed/data" "$data"
  args=(--data "$data")
  if [ "$store" = postgres ]; then
    psql_at "$WXLOGISTICS_TEST_POSTGRES" -c "DROP DATABASE IF EXISTS ab_run" -c "CREATE DATABASE ab_run TEMPLATE ab_seed_$side"
    args+=(--store postgres --connection "$(with_database "$WXLOGISTICS_TEST_POSTGRES" ab_run)")
  fi
  port=$(free_port)
  dotnet "$work/bin-$side/WxLogistics.Server/WxLogistics.Server.dll" --urls "http://127.0.0.1:$port" "${args[@]}" \
    >"$work/run/server.log" 2>&1 &
  server_pid=$!
  wait_http "http://127.0.0.1:$port/cgi-bin/token"
  token=$(access_token "$port" "$seed/apps.json" carrier)
  export BENCH_WAYBILLS="$seed/waybills.tsv" BENCH_PAGES="$seed/pages.txt" BENCH_ACCESS_TOKEN=$token
  BENCH_RUN=1 wrk -t2 -c"$connections" -d"$warmup" -s bench/update.lua "http://127.0.0.1:$port" >/dev/null
  b0=$(batches "$port")
  if [ -n "$rate" ]; then
    # The CPU over the fixed load's warm-up and --duration together.
    app0=$(cpu_ticks "$server_pid") pg0=$(pg_ticks)
    result=$(TOOL="$work/bin-$side/WxLogistics.Bench/WxLogistics.Bench.dll" fixed_load "$port" "$token" "$rate")
    window=$((${duration%s} + fixed_warmup_s))s
    app_us=$(duration=$window per_request_us $(($(cpu_ticks "$server_pid") - app0)) "$rate")
    postgres_us=$(duration=$window per_request_us $(($(pg_ticks) - pg0)) "$rate")
    p999=$(field p999_ms "$result")
  else
    BENCH_RUN=2 measured_wrk "$server_pid" bench/update.lua
    result=$wrk_result
  fi
  b1=$(batches "$port")
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
  server_pid=
  rps=$(field requests_per_s "$result")
  [ "$store" = postgres ] && pg_us=$postgres_us
  printf "%s %s %s %s %s %s %s %s %s\n" "$side" "$rps" "$(field p50_ms "$result")" "$(field p99_ms "$result")" \
    "$app_us" "$pg_us" "$(field errors "$result")" \
    "$(awk -v b0="$b0" -v b1="$b1" 'BEGIN { split(b0, x, " "); split(b1, y, " "); printf "%.1f", (y[1] - x[1]) / (y[2] - x[2]) }')" \
    "$p999" >> "$work/runs"
  printf "  %-3s %8s req/s  p50 %6s ms  p99 %7s ms  server %4s us/req  postgres %4s us/req  errors %s  batch %s  p99.9 %s ms\n" \
    $(tail -n 1 "$work/runs")
  if [ "$store" = postgres ]; then psql_at "$WXLOGISTICS_TEST_POSTGRES" -c "DROP DATABASE ab_run"; fi
}

echo "WxLogistics A/B ingest: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, store $store, $pairs pairs, warm-up $warmup, measured $duration${rate:+ at $rate requests/s}"
echo "reproduce: bench/ab.sh --store $store --pairs $pairs --warmup $warmup --duration $duration${rate:+ --rate $rate} ${revs[0]} ${revs[1]}"
build a "${revs[0]}"
build b "${revs[1]}"
seed a
seed b
echo
for pair in $(seq 1 "$pairs"); do
  echo "pair $pair"
  if [ $((pair % 2)) = 1 ]; then run a; run b; else run b; run a; fi
done

echo
python3 - "$work/runs" <<'EOF'
import statistics, sys
runs = [line.split() for line in open(sys.argv[1])]
def med(side, column):
    values = [float(r[column]) for r in runs if r[0] == side and r[column] != "-"]
    return statistics.median(values) if values else None
columns = ((1, "req/s", 10, ".0f"), (2, "p50 ms", 10, ".2f"), (3, "p99 ms", 10, ".2f"), (8, "p99.9 ms", 10, ".2f"),
           (4, "server us", 11, ".0f"), (5, "postgres us", 13, ".0f"), (7, "batch", 8, ".1f"))
print(f"{'median':<8}" + "".join(f"{name:>{width}}" for _, name, width, _ in columns))
for side in "ab":
    cells = ((med(side, c), width, form) for c, _, width, form in columns)
    print(f"{side:<8}" + "".join(f"{'-' if v is None else format(v, form):>{width}}" for v, width, form in cells))
ratios = [f"{name} {med('b', c) / med('a', c):.2f}" for name, c in (("req/s", 1), ("p99", 3), ("p99.9", 8), ("server us/req", 4), ("batch", 7))
          if med('a', c) and med('b', c) is not None]
print("b / a: " + ", ".join(ratios))
if any(r[6] != "0" for r in runs):
    print("some runs had wrk errors (last column above)")
EOF
