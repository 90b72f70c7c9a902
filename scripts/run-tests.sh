#!/usr/bin/env bash
# run-tests.sh: the whole suite (what `make test` runs): builds release and ASan+UBSan,
# starts a real PostgreSQL server on loopback in a temporary directory, runs every unit and
# integration test against SQLite and PostgreSQL in both builds, runs the web app's
# end-to-end tests in real Chromium, runs the fuzz targets for a bounded time, and stops the
# server.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}

for type in release asan; do
  case $type in release) bt=Release ;; asan) bt=Asan ;; esac
  cmake -S . -B "build/$type" -DCMAKE_BUILD_TYPE=$bt >/dev/null
  cmake --build "build/$type" -j "$JOBS"
done

pgdir=$(mktemp -d /tmp/pitboss-pg.XXXXXX)
cleanup() { scripts/pg-test-server.sh stop "$pgdir" >/dev/null 2>&1 || true; }
trap cleanup EXIT
PITBOSS_TEST_PG=$(scripts/pg-test-server.sh start "$pgdir" | tail -n 1)
export PITBOSS_TEST_PG
echo "PostgreSQL for the tests: $PITBOSS_TEST_PG"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
passed=0
failed=0
echo "== docs/openapi.yaml parses as YAML (05_openapi checks it against the routes) =="
if /usr/bin/python3 -c 'import sys, yaml; yaml.safe_load(open("docs/openapi.yaml"))'; then
  passed=$((passed + 1))
else
  failed=$((failed + 1)); status=1
fi
for type in release asan; do
  echo "== $type build =="
  rm -rf "build/$type/testtmp"
  log="build/$type/ctest.log"
  (cd "build/$type" && ctest --output-on-failure -j 2 --timeout 900) 2>&1 | tee "$log" || true
  line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$log" | tail -n 1 || true)
  if [ -z "$line" ]; then
    echo "ctest ($type) printed no summary"; status=1; failed=$((failed + 1)); continue
  fi
  total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
  bad=$(sed -E 's/.* ([0-9]+) tests failed.*/\1/' <<<"$line")
  passed=$((passed + total - bad))
  failed=$((failed + bad))
  [ "$bad" -eq 0 ] || status=1
done

echo "== web app end-to-end (real Chromium, docs/web.md) =="
# Builds web/dist, starts a real pitboss (release build) on loopback with a fresh SQLite
# database and drives the player app and the back office in /usr/bin/chromium.
e2e_log=build/e2e.log
mkdir -p build
e2e_started=$(date +%s)
if { scripts/build-web.sh && (cd web && PITBOSS_BIN=../build/release/pitboss node e2e/run.mjs); } 2>&1 |
    tee "$e2e_log"; then :; else status=1; fi
e2e_line=$(grep -E "^e2e: [0-9]+ passed, [0-9]+ failed" "$e2e_log" | tail -n 1 || true)
if [ -z "$e2e_line" ]; then
  echo "the e2e suite printed no summary"; failed=$((failed + 1)); status=1
else
  passed=$((passed + $(sed -E 's/^e2e: ([0-9]+) passed.*/\1/' <<<"$e2e_line")))
  failed=$((failed + $(sed -E 's/^e2e: [0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$e2e_line")))
fi
echo "e2e step: $(( $(date +%s) - e2e_started )) s"

echo "== fuzz targets =="
fuzz_log=build/fuzz-run.log
mkdir -p build
if scripts/run-fuzz.sh 2>&1 | tee "$fuzz_log"; then :; else status=1; fi
fuzz_ok=$(grep -c "DONE" "$fuzz_log" || true)
fuzz_bad=$(grep -c "FAILED" "$fuzz_log" || true)
passed=$((passed + fuzz_ok))
failed=$((failed + fuzz_bad))

echo "tests: $passed passed, $failed failed"
exit $status
