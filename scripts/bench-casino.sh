#!/usr/bin/env bash
# bench-casino.sh: casino plays per second through the real server (docs/casino.md). Starts
# `pitboss serve` on a fresh SQLite database (or DB=postgres: a PostgreSQL server of its own),
# registers PLAYERS players (default 16), logs them in, funds each with 1,000,000.00 EUR
# through the staff API, then wrk POSTs dice plays (bench/casino_play.lua), each a new
# Idempotency-Key: one writer command per play (idempotency check, debit, draw, outcome
# stored, payout, close, record). Prints wrk's figures and `pitboss ledger verify`.
# Environment: SECONDS_EACH (default 10), CONNECTIONS (default 64), PLAYERS, GAME (default
# dice), BODY (the play body), BIN (default build/release), DB (sqlite | postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${SECONDS_EACH:-10}
conns=${CONNECTIONS:-64}
players=${PLAYERS:-16}
bin=${BIN:-build/release}
token=bench-staff-token-0123456789
work=$(mktemp -d /tmp/pitboss-casino-bench.XXXXXX)
chmod 755 "$work"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  [ "${DB:-sqlite}" = postgres ] && scripts/pg-test-server.sh stop "$work/pg" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
if [ "${DB:-sqlite}" = postgres ]; then
  db=$(scripts/pg-test-server.sh start "$work/pg" | tail -n 1)
else
  db="sqlite:$work/casino.db"
fi
PITBOSS_DB="$db" PITBOSS_LISTEN=127.0.0.1:0 PITBOSS_STAFF_TOKEN="$token" \
  "$bin/pitboss" serve --migrate >"$work/out" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 200); do
  grep -q "listening on" "$work/out" 2>/dev/null && break
  sleep 0.05
done
port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/out")
url="http://127.0.0.1:$port"
json() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
: >"$work/tokens"
for i in $(seq "$players"); do
  email="bench$i@example.com"
  id=$(curl -sf -X POST "$url/api/v1/players" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"correct horse battery\",\"date_of_birth\":\"1990-05-17\",\"country\":\"DE\",\"currency\":\"EUR\",\"brand\":\"demo\"}" | json player_id)
  curl -sf -X POST "$url/api/v1/sessions" -H 'Content-Type: application/json' \
    -d "{\"brand\":\"demo\",\"email\":\"$email\",\"password\":\"correct horse battery\"}" \
    | json token >>"$work/tokens"
  curl -sf -o /dev/null -X POST "$url/api/v1/admin/adjustments" -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $token" -H "Idempotency-Key: fund-$i" \
    -d "{\"player_id\":\"$id\",\"currency\":\"EUR\",\"account\":\"cash\",\"amount_minor\":100000000,\"reason\":\"bench funding\"}"
done
echo "== casino plays: ${GAME:-dice}, $players players, wrk -t2 -c$conns -d${secs}s (${DB:-sqlite}) =="
PLAY_TOKENS="$work/tokens" PLAY_RUN="run$$" PLAY_GAME="${GAME:-dice}" PLAY_BODY="${BODY:-}" \
  wrk -t2 -c"$conns" -d"${secs}s" --latency -s bench/casino_play.lua "$url"
kill "$server_pid"; wait "$server_pid" || true; server_pid=""
PITBOSS_DB="$db" "$bin/pitboss" ledger verify | tail -n 1
