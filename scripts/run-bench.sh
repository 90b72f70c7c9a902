#!/usr/bin/env bash
# run-bench.sh: the foundation benchmarks (`make bench`). Prints figures; asserts nothing.
#  1. the writer alone, in process: durable commands/s and latency (SQLite, PostgreSQL);
#  2. HTTP through the real server with wrk: a trivial route (GET /healthz) and an empty
#     writer command (POST /api/v1/diagnostics/noop), on SQLite and PostgreSQL.
# Environment: SECONDS_EACH (default 10), CONNECTIONS (default 64).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${SECONDS_EACH:-10}
conns=${CONNECTIONS:-64}
bin=build/release
work=$(mktemp -d /tmp/pitboss-bench.XXXXXX)
chmod 755 "$work" # the PostgreSQL server runs as user postgres
pgdir="$work/pg"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  scripts/pg-test-server.sh stop "$pgdir" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
pg_url=$(scripts/pg-test-server.sh start "$pgdir" | tail -n 1)

echo "== writer alone (bench_writer, 256 clients, closed loop) =="
for db in "sqlite:$work/writer.db" "$pg_url"; do
  for w in empty insert; do
    "$bin/bench_writer" --db "$db" --seconds "$secs" --work "$w" 2>/dev/null
  done
done

start_server() { # $1 = database URL, $2 = access log on/off
  PITBOSS_DB="$1" PITBOSS_LISTEN=127.0.0.1:0 PITBOSS_DIAGNOSTICS=1 PITBOSS_ACCESS_LOG="$2" \
    "$bin/pitboss" serve --migrate >"$work/out" 2>"$work/server.log" &
  server_pid=$!
  for _ in $(seq 200); do
    grep -q "listening on" "$work/out" 2>/dev/null && break
    sleep 0.05
  done
  port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/out")
}
stop_server() { kill "$server_pid"; wait "$server_pid" || true; server_pid=""; }
run_wrk() { # $1 = label, rest = wrk arguments
  local label=$1; shift
  local out
  out=$(wrk -t1 -c"$conns" -d"${secs}s" --latency "$@")
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  local errs
  errs=$(grep -E "Non-2xx|Socket errors" <<<"$out" || true)
  printf '%-58s %10s req/s  p50 %-8s p99 %-8s %s\n' "$label" "$rps" "$p50" "$p99" "$errs"
}

echo "== HTTP through pitboss serve (wrk -t1 -c$conns, ${secs}s each) =="
for db in sqlite pg; do
  url="sqlite:$work/http.db"; [ $db = pg ] && url="$pg_url"
  for log in 1 0; do
    start_server "$url" "$log"
    base="http://127.0.0.1:$port"
    run_wrk "GET /healthz db=$db access_log=$log" "$base/healthz"
    NOOP_BODY='{}' run_wrk "POST noop (empty command) db=$db access_log=$log" \
      -s bench/noop.lua "$base/api/v1/diagnostics/noop"
    NOOP_BODY='{"emit_event":true}' run_wrk "POST noop+event (durable row) db=$db access_log=$log" \
      -s bench/noop.lua "$base/api/v1/diagnostics/noop"
    stop_server
  done
done
