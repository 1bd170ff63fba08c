# Helpers shared by bench/run.sh and bench/ab.sh (sourced, from the repository root).

# A TCP port free on 127.0.0.1 now.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Waits up to 10 s for URL to answer at all.
wait_http() { for _ in $(seq 1 400); do curl -s -o /dev/null "$1" && return 0; sleep 0.025; done; echo "no answer from $1" >&2; return 1; }

# field NAME LINE: the number after NAME= in a wrk RESULT line (bench/common.lua).
field() { sed -E "s/.*$1=([0-9.]+).*/\1/" <<<"$2"; }

# psql_at CONNECTION ARGS...: psql on the database an Npgsql connection string names.
psql_at() { psql "$(sed 's/;/ /g; s/Host=/host=/; s/Port=/port=/; s/Username=/user=/; s/Database=/dbname=/' <<<"$1")" -q -X "${@:2}"; }

# with_database CONNECTION NAME: the same Npgsql connection string for another database on that server.
with_database() { sed -E "s/Database=[^;]*/Database=$2/" <<<"$1"; }

# access_token PORT APPS_JSON ROLE: an access_token of the seeded app of ROLE (carrier, merchant) from the server on
# PORT; APPS_JSON is the seed's apps.json (bench/WxLogistics.Bench seed).
access_token() {
  local json="import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])"
  curl -s "http://127.0.0.1:$1/cgi-bin/token?grant_type=client_credential&appid=$(python3 -c "$json" "$2" "$3_appid")&secret=$(python3 -c "$json" "$2" "$3_secret")" \
    | python3 -c "import json, sys; print(json.load(sys.stdin)['access_token'])"
}
