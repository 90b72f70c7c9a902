#!/usr/bin/env bash
# run-demo.sh: what `make run` does once the program and the web app are built: migrates the
# database, creates the demo staff admin (once; its password and TOTP secret are kept in
# var/ because they are shown only at creation), starts `pitboss serve`, seeds demo players
# through the API (web/scripts/seed.mjs; idempotent), prints the URLs and the logins, and
# keeps serving until Ctrl-C (its log goes to var/pitboss.log). Environment: DB, LISTEN, STAFF_TOKEN (from the Makefile).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DB:=sqlite:var/pitboss.db}" "${LISTEN:=127.0.0.1:8080}"
: "${STAFF_TOKEN:?STAFF_TOKEN must be set}"
export PITBOSS_DB=$DB PITBOSS_LISTEN=$LISTEN PITBOSS_STAFF_TOKEN=$STAFF_TOKEN
export PITBOSS_WEB_DIR=${PITBOSS_WEB_DIR:-web/dist}
# The sandbox PSP (deposits and payouts in the cashier) runs when it has a secret.
export PITBOSS_PAYMENTS_SANDBOX_SECRET=${PITBOSS_PAYMENTS_SANDBOX_SECRET:-demo-sandbox-secret-0123456789abcdef}
bin=build/release/pitboss
mkdir -p var
chmod 700 var

"$bin" migrate >/dev/null

# The staff admin: created on the first run of this database, remembered in var/.
staff_file="var/demo-staff-$(printf '%s' "$DB" | sha256sum | cut -c1-12).txt"
if out=$("$bin" staff create --email admin@pitboss.test --role admin 2>/dev/null); then
  (umask 077 && printf '%s\n' "$out" >"$staff_file")
fi

# The server's JSON log goes to a file, so the logins below stay readable.
log=var/pitboss.log
"$bin" serve >/dev/null 2>>"$log" &
pid=$!
stop() { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
trap stop EXIT
trap 'exit 0' INT TERM

url="http://$LISTEN"
for _ in $(seq 1 100); do
  curl -fsS "$url/healthz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { echo "pitboss serve exited; its log:"; tail -n 20 "$log"; exit 1; }
  sleep 0.1
done

players=$(PITBOSS_URL=$url PITBOSS_STAFF_TOKEN=$STAFF_TOKEN node web/scripts/seed.mjs)

field() { sed -n "s/^$1: //p" "$staff_file"; }
{
  echo
  echo "pitboss is running (Ctrl-C stops it)"
  echo "  player app:   $url/"
  echo "  back office:  $url/admin"
  echo
  echo "demo logins (brand demo):"
  echo "$players"
  if [ -f "$staff_file" ]; then
    echo "  staff   $(field email)  password $(field password)"
    echo "          TOTP secret $(field totp_secret)  (add it to an authenticator app, or: oathtool --totp -b $(field totp_secret))"
  else
    echo "  staff   admin@pitboss.test exists but its credentials were not kept; delete the database to start over"
  fi
  echo "  staff API token (Authorization: Bearer ...): $STAFF_TOKEN"
  echo
  echo "server log: $log (tail -f $log)"
  echo
} >&2
wait "$pid"
