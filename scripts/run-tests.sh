#!/usr/bin/env bash
# run-tests.sh: the whole suite (what `make test` runs): builds release and ASan+UBSan,
# starts a real PostgreSQL server on loopback in a temporary directory, runs every unit and
# integration test against SQLite and PostgreSQL in both builds, runs the fuzz targets for a
# bounded time, and stops the server.
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
for type in release asan; do
  echo "== $type build =="
  rm -rf "build/$type/testtmp"
  (cd "build/$type" && ctest --output-on-failure -j 2 --timeout 900) || status=1
done

if [ -x scripts/run-fuzz.sh ]; then
  scripts/run-fuzz.sh || status=1
fi
exit $status
