# Helpers shared by bench/run.sh and bench/ab.sh (sourced, from the repository root).

# A TCP port free on 127.0.0.1 now.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Waits up to 10 s for URL to answer at all.
wait_http() { for _ in $(seq 1 400); do curl -s -o /dev/null "$1" && return 0; sleep 0.025; done; echo "no answer from $1" >&2; return 1; }

# field NAME LINE: the number after NAME= in a wrk RESULT line (bench/common.lua); result: that line, from wrk's
# output on stdin; rps LINE: its requests/s.
field() { sed -E "s/.*$1=([0-9.]+).*/\1/" <<<"$2"; }
result() { grep '^RESULT' | tail -n 1; }
rps() { field requests_per_s "$1"; }

# psql_at CONNECTION ARGS...: psql on the database an Npgsql connection string names, without its notices
# ("database ... does not exist, skipping").
psql_at() { PGOPTIONS="-c client_min_messages=warning" psql "$(sed 's/;/ /g; s/Host=/host=/; s/Port=/port=/; s/Username=/user=/; s/Database=/dbname=/' <<<"$1")" -q -X "${@:2}"; }

# with_database CONNECTION NAME: the same Npgsql connection string for another database on that server.
with_database() { sed -E "s/Database=[^;]*/Database=$2/" <<<"$1"; }

# access_token PORT APPS_JSON ROLE: an access_token of the seeded app of ROLE (carrier, merchant) from the server on
# PORT; APPS_JSON is the seed's apps.json (bench/WxLogistics.Bench seed).
access_token() {
  local json="import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])"
  curl -s "http://127.0.0.1:$1/cgi-bin/token?grant_type=client_credential&appid=$(python3 -c "$json" "$2" "$3_appid")&secret=$(python3 -c "$json" "$2" "$3_secret")" \
    | python3 -c "import json, sys; print(json.load(sys.stdin)['access_token'])"
}

# CPU time used so far, user and system, in clock ticks: cpu_ticks PID for a process, pg_ticks for every PostgreSQL
# process on the machine, thread_ticks PID NAME for a process's threads named NAME (at most 15 characters, as the
# kernel keeps them), task_ticks PID TID for one of its threads, children_ticks FILE for the children in the output
# of bash's `times` saved in FILE.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
pg_ticks() { for p in $(pgrep -u postgres 2>/dev/null); do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || true; done | awk '{s += $1} END {print s + 0}'; }
thread_ticks() {
  local task
  for task in /proc/"$1"/task/*; do
    if [ "$(cat "$task/comm" 2>/dev/null)" = "$2" ]; then sed 's/^.*) //' "$task/stat" 2>/dev/null | awk '{print $12 + $13}'; fi
  done | awk '{s += $1} END {print s + 0}'
}
task_ticks() { sed 's/^.*) //' "/proc/$1/task/$2/stat" | awk '{print $12 + $13}'; }
children_ticks() {
  awk -v hz="$(getconf CLK_TCK)" 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.0f", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * hz }' "$1"
}

# per_request_us TICKS RATE: CPU microseconds per request, for TICKS used over --duration at RATE requests/s.
per_request_us() { awk -v t="$1" -v r="$2" -v d="${duration%s}" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", t * 1e6 / hz / (r * d) }'; }

# fixed_load PORT ACCESS_TOKEN RATE: updatePath at RATE requests/s, whatever the answers take ($TOOL load, the bench
# tool's open loop; wrk's connections each wait for their answer, so wrk always loads a server as much as it takes),
# for --duration after $fixed_warmup_s seconds unmeasured: its RESULT line, with p99.9.
fixed_warmup_s=5
fixed_load() {
  dotnet "$TOOL" load --url "http://127.0.0.1:$1" --access-token "$2" --waybills "$BENCH_WAYBILLS" --rate "$3" \
    --duration "${duration%s}" --warmup "$fixed_warmup_s" | result
}

# measured_wrk APP_PID SCRIPT: wrk's measured load (--duration, $connections, with latencies) on the app at $port,
# with the environment the script reads; leaves its RESULT line in $wrk_result and the CPU per request while it
# loaded in $app_us (the app, whole), $writer_us (the app's group commit thread), $postgres_us (every PostgreSQL
# process) and $wrk_us. wrk runs each thread's script init on its main thread before it starts that thread, and
# times the load from when both have started: wrk's figure leaves its main thread out, and the others are measured
# from then on.
measured_wrk() {
  local app=$1 script=$2 runner wrk_pid= init=0 app0 writer0 pg0 rate
  (wrk -t2 -c"$connections" -d"$duration" --latency -s "$script" "http://127.0.0.1:$port" > "$work/wrk.out"; times > "$work/wrk-times") &
  runner=$!
  until wrk_pid=$(pgrep -P "$runner" -x wrk) && [ "$(ls "/proc/$wrk_pid/task" 2>/dev/null | wc -l)" -gt 2 ]; do
    kill -0 "$runner" 2>/dev/null || break
    sleep 0.02
  done
  [ -n "$wrk_pid" ] && init=$(task_ticks "$wrk_pid" "$wrk_pid" 2>/dev/null || echo 0)
  app0=$(cpu_ticks "$app") writer0=$(thread_ticks "$app" wxlogistics-gro) pg0=$(pg_ticks)
  wait "$runner"
  wrk_result=$(result < "$work/wrk.out")
  rate=$(rps "$wrk_result")
  app_us=$(per_request_us $(( $(cpu_ticks "$app") - app0 )) "$rate")
  writer_us=$(per_request_us $(( $(thread_ticks "$app" wxlogistics-gro) - writer0 )) "$rate")
  postgres_us=$(per_request_us $(( $(pg_ticks) - pg0 )) "$rate")
  wrk_us=$(per_request_us $(( $(children_ticks "$work/wrk-times") - init )) "$rate")
}
