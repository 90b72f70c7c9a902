# pitboss: the two commands are `make run` and `make test` (README.md).
# Build directories: build/release, build/debug, build/asan (ASan + UBSan).

JOBS ?= $(shell nproc)
DB ?= sqlite:var/pitboss.db
LISTEN ?= 127.0.0.1:8080
# The staff API's bearer token for `make run`: a fresh random one unless given.
ifeq ($(origin STAFF_TOKEN), undefined)
STAFF_TOKEN := $(shell head -c 24 /dev/urandom | base64 | tr -d '/+=\n')
endif

.PHONY: all deps release debug asan web run test test-release test-asan bench clean

all: release

deps:
	@scripts/install-deps.sh

build/%/CMakeCache.txt:
	@cmake -S . -B build/$* -DCMAKE_BUILD_TYPE=$(BUILD_TYPE_$*) >/dev/null

BUILD_TYPE_release = Release
BUILD_TYPE_debug = Debug
BUILD_TYPE_asan = Asan

release debug asan: deps
	@cmake -S . -B build/$@ -DCMAKE_BUILD_TYPE=$(BUILD_TYPE_$@) >/dev/null
	@cmake --build build/$@ -j $(JOBS) -- --no-print-directory

# The player app and back office (web/ -> web/dist, docs/web.md).
web: deps
	@scripts/build-web.sh

# Builds everything, seeds the demo (players, a staff admin) and serves; prints the logins.
run: release web
	@DB=$(DB) LISTEN=$(LISTEN) STAFF_TOKEN=$(STAFF_TOKEN) scripts/run-demo.sh

# The whole suite: release and sanitizer builds, SQLite and PostgreSQL.
test: deps
	@scripts/run-tests.sh

bench: release
	@scripts/run-bench.sh

clean:
	rm -rf build
