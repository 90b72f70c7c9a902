#!/usr/bin/env bash
# run-bench.sh: the benchmarks (`make bench`). Prints figures; asserts nothing.
#  1. the writer alone, in process: durable commands/s and latency (SQLite, PostgreSQL);
#  2. HTTP through the real server with wrk: a trivial route (GET /healthz) and an empty
#     writer command (POST /api/v1/diagnostics/noop), on SQLite and PostgreSQL;
#  3. the ledger in process (bench_ledger): durable transfers/s through the writer with an
#     idempotency check and record per command, single transfers and linked groups;
#  4. the plain PostgreSQL wallet (bench_plain_wallet): row lock + update + insert per
#     operation, one connection per client, for comparison;
#  5. the ledger over HTTP: wallets opened and funded through the API, then wrk POSTs linked
#     [bet, win] pairs to /api/v1/ledger/transfers (bench/betwin.lua), each with a new
#     Idempotency-Key; `pitboss ledger verify` afterwards;
#  6. a summary of the ledger figures against their targets;
#  7. slot maths in process (bench_slots): simulated spins/s on one core for the 20-line game
#     (target >= 5 million) and the time of the exact RTP enumeration of every slot game.
# Environment: SECONDS_EACH (default 10), CONNECTIONS (default 64), PLAYERS (default 4000),
# LEDGER_CLIENTS (bench_ledger's closed-loop clients, default 256), PLAIN_CLIENTS (the plain
# wallet's client counts, default "16 64"; the best is compared), ONLY (a list of the parts
# above to run, e.g. ONLY="3 4 5 6"; default all), DBS (the engines of parts 2, 3 and 5,
# default "sqlite pg"), BIN (default build/release).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${SECONDS_EACH:-10}
conns=${CONNECTIONS:-64}
players=${PLAYERS:-4000}
ledger_clients=${LEDGER_CLIENTS:-256}
plain_clients=${PLAIN_CLIENTS:-16 64}
only=${ONLY:-1 2 3 4 5 6 7}
dbs=${DBS:-sqlite pg}
bin=${BIN:-build/release}
token=bench-staff-token-0123456789
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
part() { [[ " $only " == *" $1 "* ]]; }
pg_url=""
if part 1 || part 4 || [[ " $dbs " == *" pg "* ]]; then
  pg_url=$(scripts/pg-test-server.sh start "$pgdir" | tail -n 1)
fi

fresh_pg() { # prints the URL of a new, empty PostgreSQL database (runs in a subshell)
  local name="bench_$(date +%s%N)"
  psql -qX "$pg_url" -c "CREATE DATABASE $name" >/dev/null
  echo "${pg_url%/*}/$name"
}

if part 1; then
  echo "== writer alone (bench_writer, 256 clients, closed loop) =="
  for db in "sqlite:$work/writer.db" "$pg_url"; do
    for w in empty insert; do
      "$bin/bench_writer" --db "$db" --seconds "$secs" --work "$w" 2>/dev/null
    done
  done
fi

start_server() { # $1 = database URL, $2 = access log on/off
  PITBOSS_DB="$1" PITBOSS_LISTEN=127.0.0.1:0 PITBOSS_DIAGNOSTICS=1 PITBOSS_ACCESS_LOG="$2" \
    PITBOSS_STAFF_TOKEN="$token" "$bin/pitboss" serve --migrate >"$work/out" 2>"$work/server.log" &
  server_pid=$!
  for _ in $(seq 200); do
    grep -q "listening on" "$work/out" 2>/dev/null && break
    sleep 0.05
  done
  port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/out")
}
stop_server() { kill "$server_pid"; wait "$server_pid" || true; server_pid=""; }
# CPU ticks used so far by each thread of process $1, summed by thread name: "name ticks".
thread_ticks() {
  local t f
  for t in /proc/"$1"/task/*; do
    read -r -a f <<<"$(sed 's/.*) //' "$t/stat")" # utime and stime: fields 14 and 15
    echo "$(tr ' ' _ <"$t/comm") $((f[11] + f[12]))"
  done | awk '{ a[$1] += $2 } END { for (k in a) print k, a[k] }'
}
# The server's CPU per request by thread name between two thread_ticks snapshots.
cpu_per_request() { # $1 = before, $2 = after, $3 = requests
  awk -v n="$3" -v hz="$(getconf CLK_TCK)" 'NR == FNR { b[$1] = $2; next }
    { d = $2 - b[$1]; all += d; if ($1 != "pb-writer") other += d
      if (d > 0) line = line sprintf(" %s %.1f", $1, d * 1e6 / hz / n) }
    END { printf "cpu us/request: total %.1f, without the writer %.1f;%s\n",
          all * 1e6 / hz / n, other * 1e6 / hz / n, line }' <(echo "$1") <(echo "$2")
}
run_wrk() { # $1 = label, rest = wrk arguments; sets wrk_rps, wrk_p50, wrk_p99, wrk_out
  local label=$1; shift
  wrk_out=$(wrk -t1 -c"$conns" -d"${secs}s" --latency "$@")
  wrk_rps=$(awk '/Requests\/sec/ {print $2}' <<<"$wrk_out")
  wrk_p50=$(awk '$1=="50%" {print $2}' <<<"$wrk_out")
  wrk_p99=$(awk '$1=="99%" {print $2}' <<<"$wrk_out")
  local errs
  errs=$(grep -E "Non-2xx|Socket errors" <<<"$wrk_out" || true)
  printf '%-58s %10s req/s  p50 %-8s p99 %-8s %s\n' "$label" "$wrk_rps" "$wrk_p50" "$wrk_p99" \
    "$errs"
}

if part 2; then
  echo "== HTTP through pitboss serve (wrk -t1 -c$conns, ${secs}s each) =="
  for db in $dbs; do
    url="sqlite:$work/http.db"; [ $db = pg ] && url="$pg_url"
    for log in 1 0; do
      start_server "$url" "$log"
      base="http://127.0.0.1:$port"
      run_wrk "GET /healthz db=$db access_log=$log" "$base/healthz"
      NOOP_BODY='{}' run_wrk "POST noop (empty command) db=$db access_log=$log" \
        -s bench/noop.lua "$base/api/v1/diagnostics/noop"
      NOOP_BODY='{"emit_event":true}' run_wrk \
        "POST noop+event (durable row) db=$db access_log=$log" \
        -s bench/noop.lua "$base/api/v1/diagnostics/noop"
      stop_server
    done
  done
fi

declare -A ledger_line
if part 3; then
  echo "== ledger in process (bench_ledger, $ledger_clients clients, $players players) =="
  for db in $dbs; do
    for linked in 1 2 16; do
      url="sqlite:$work/ledger-$linked.db"; [ $db = pg ] && url=$(fresh_pg)
      line=$("$bin/bench_ledger" --db "$url" --clients "$ledger_clients" --seconds "$secs" \
               --linked "$linked" --players "$players" 2>/dev/null)
      echo "$line"
      ledger_line[$db-$linked]=$line
    done
  done
fi

plain_best=0
if part 4; then
  echo "== plain PostgreSQL wallet (bench_plain_wallet, $players players) =="
  for k in $plain_clients; do
    line=$("$bin/bench_plain_wallet" --db "$(fresh_pg)" --clients "$k" --seconds "$secs" \
             --players "$players")
    echo "$line"
    ops=$(sed -n 's/.*: \([0-9]*\) operations\/s.*/\1/p' <<<"$line")
    if [ "${ops:-0}" -gt "$plain_best" ]; then plain_best=$ops; fi
  done
fi

# Opens and funds $players wallets through the API (in parallel); writes the cash account ids
# to $work/accounts. Returns non-zero if any request was not answered 2xx.
open_and_fund() { # $1 = base URL
  local cfg="$work/setup.curl" codes="$work/setup.codes" i
  local auth="header = \"Authorization: Bearer $token\""
  local json='header = "Content-Type: application/json"'
  local fund='\"currency\":\"EUR\",\"account\":\"cash\",\"amount_minor\":100000000'
  rm -rf "$work/wallets"; mkdir -p "$work/wallets"
  # one curl config per phase; 'next' separates requests (one after the last would be empty)
  for i in $(seq 1 "$players"); do
    if [ "$i" -gt 1 ]; then echo next; fi
    printf '%s\n' "url = \"$1/api/v1/players/bench$i/wallets\"" "$auth" "$json" \
      'data = "{\"currency\":\"EUR\"}"' "output = \"$work/wallets/$i.json\"" \
      'write-out = "%{http_code}\n"'
  done >"$cfg"
  curl -sS -Z --parallel-max 32 -K "$cfg" >"$codes" 2>>"$work/curl.log"
  for i in $(seq 1 "$players"); do
    if [ "$i" -gt 1 ]; then echo next; fi
    printf '%s\n' "url = \"$1/api/v1/admin/adjustments\"" "$auth" "$json" \
      "header = \"Idempotency-Key: fund-bench$i\"" \
      "data = \"{\\\"player_id\\\":\\\"bench$i\\\",$fund,\\\"reason\\\":\\\"bench funding\\\"}\"" \
      'output = /dev/null' 'write-out = "%{http_code}\n"'
  done >"$cfg"
  curl -sS -Z --parallel-max 32 -K "$cfg" >>"$codes" 2>>"$work/curl.log"
  jq -r '.accounts[] | select(.type == "cash") | .account_id' "$work"/wallets/*.json \
    >"$work/accounts"
  local bad
  bad=$(grep -cv '^20[01]$' "$codes" || true)
  if [ "$bad" != 0 ] || [ "$(wc -l <"$work/accounts")" != "$players" ]; then
    echo "setup failed: $bad requests not answered 200/201; first answers:" >&2
    sort "$codes" | uniq -c >&2
    grep -v '^ *$' "$work/curl.log" | sort | uniq -c | head -n 5 >&2
    head -c 300 "$(ls "$work"/wallets/*.json | head -n 1)" >&2
    return 1
  fi
}

# The house casino account (EUR) the bets and wins move against, through the staff API;
# prints its id.
open_house_account() { # $1 = base URL
  curl -sf -X PUT -H "Authorization: Bearer $token" \
    "$1/api/v1/admin/house-accounts/house_casino/EUR" | sed -n 's/.*"account_id":\([0-9]*\).*/\1/p'
}

declare -A http_rps http_p50 http_p99
if part 5; then
  echo "== ledger over HTTP: linked [bet, win] pairs (wrk -t1 -c$conns, ${secs}s, $players" \
       "players) =="
  for db in $dbs; do
    url="sqlite:$work/ledger-http.db"; [ $db = pg ] && url=$(fresh_pg)
    start_server "$url" 0
    base="http://127.0.0.1:$port"
    house=$(open_house_account "$base")
    t0=$(date +%s%N)
    if open_and_fund "$base"; then
      echo "setup: $players wallets opened and funded through the API in" \
        "$(( ($(date +%s%N) - t0) / 1000000 )) ms"
      ticks0=$(thread_ticks "$server_pid")
      BETWIN_ACCOUNTS="$work/accounts" BETWIN_HOUSE="$house" BETWIN_TOKEN="$token" \
        BETWIN_RUN="r$db$RANDOM" run_wrk "POST bet+win pair db=$db access_log=0" \
        -s bench/betwin.lua "$base/api/v1/ledger/transfers"
      sleep 0.5 # the relay delivers the last events
      ticks1=$(thread_ticks "$server_pid")
      grep '^betwin:' <<<"$wrk_out" || true
      cpu_per_request "$ticks0" "$ticks1" \
        "$(awk '/requests in/ {print $1}' <<<"$wrk_out")"
      http_rps[$db]=$wrk_rps; http_p50[$db]=$wrk_p50; http_p99[$db]=$wrk_p99
    fi
    stop_server
    PITBOSS_DB="$url" "$bin/pitboss" ledger verify 2>&1 | tail -n 1 | sed 's/^/verify: /' || true
  done
fi

if part 6; then
  echo "== summary =="
  for key in sqlite-1 sqlite-2 sqlite-16 pg-1 pg-2 pg-16; do
    if [ -n "${ledger_line[$key]:-}" ]; then
      awk -v k="$key" '{ for (i = 1; i <= NF; i++) {
          if ($i == "transfers/s,") t = $(i - 1); if ($i == "commands/s,") c = $(i - 1);
          if ($i == "p50") p50 = $(i + 1); if ($i == "p99") p99 = $(i + 1)
          if ($i == "us/transfer") cpu = $(i - 1) }
        printf "bench_ledger %-9s %8s transfers/s %8s commands/s  p50 %s ms p99 %s ms" \
          "  writer CPU %s us/transfer\n", k, t, c, p50, p99, cpu }' <<<"${ledger_line[$key]}"
    fi
  done
  echo "bench_ledger target: >= 150000 durable transfers/s on SQLite"
  if [ "$plain_best" -gt 0 ]; then
    echo "plain wallet (PostgreSQL, best of clients $plain_clients): $plain_best operations/s"
  fi
  for db in $dbs; do
    if [ -n "${http_rps[$db]:-}" ]; then
      echo "HTTP bet+win db=$db: ${http_rps[$db]} pairs/s" \
        "($(awk -v r="${http_rps[$db]}" 'BEGIN {printf "%.0f", 2 * r}') transfers/s)," \
        "p50 ${http_p50[$db]} p99 ${http_p99[$db]}"
    fi
  done
  echo "HTTP targets: >= 25000 pairs/s with p99 < 10ms on SQLite; >= 10x the plain wallet"
  if [ "$plain_best" -gt 0 ]; then
    # like for like: the ledger in process against the plain wallet in process (both without
    # HTTP), then the HTTP figures against it; one plain operation moves money once
    for key in sqlite-1 sqlite-2 sqlite-16 pg-1; do
      if [ -n "${ledger_line[$key]:-}" ]; then
        awk -v k="$key" -v p="$plain_best" '{ for (i = 1; i <= NF; i++)
            if ($i == "transfers/s,") t = $(i - 1)
          printf "ratio: bench_ledger %s transfers/s / plain wallet operations/s = %.1f\n",
            k, t / p }' <<<"${ledger_line[$key]}"
      fi
    done
    for db in $dbs; do
      if [ -n "${http_rps[$db]:-}" ]; then
        awk -v h="${http_rps[$db]}" -v p="$plain_best" -v d="$db" 'BEGIN {
          printf "ratio: HTTP money movements/s (2 per pair) db=%s / plain wallet operations/s", d;
          printf " = %.1f\n", 2 * h / p }'
      fi
    done
  fi
fi

if part 7; then
  echo "== slot maths (bench_slots: simulation on one core, exact RTP per game) =="
  "$bin/bench_slots"
fi
