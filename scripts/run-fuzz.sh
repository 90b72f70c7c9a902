#!/usr/bin/env bash
# run-fuzz.sh: builds the libFuzzer targets in tests/fuzz/ with clang (ASan + UBSan) and runs
# each for FUZZ_SECONDS (default 20) from its seed corpus. Any crash, leak or sanitizer report
# fails the run; the crashing input is left in build/fuzz/. Part of `make test`. FUZZ_TARGETS
# (a list of tests/fuzz/fuzz_NAME.c files) runs a subset.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-20}
out=build/fuzz
mkdir -p "$out/obj"
flags="-std=c17 -D_GNU_SOURCE -DPITBOSS_VERSION=\"fuzz\" -g -O1 -Isrc $(pkg-config --cflags libpq)"
san="-fsanitize=address,undefined -fno-sanitize-recover=all"
objs=()
for src in $(find src -name '*.c' ! -name main.c | sort); do
  obj="$out/obj/$(echo "$src" | tr / _).o"
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ]; then
    clang $flags $san -fsanitize=fuzzer-no-link -c "$src" -o "$obj"
  fi
  objs+=("$obj")
done
# the slot definitions embedded into the binary (CMakeLists.txt does the same)
cmake -DDIR=games/slots -DOUT="$out/slot_sources.c" -P cmake/embed_slots.cmake
clang $flags $san -fsanitize=fuzzer-no-link -c "$out/slot_sources.c" -o "$out/obj/slot_sources.o"
objs+=("$out/obj/slot_sources.o")
libs="-lmicrohttpd -ljansson -lsodium -lsqlite3 -lpq -lwslay -lcurl -lcrypto -lpthread -lm"
status=0
for target in ${FUZZ_TARGETS:-tests/fuzz/fuzz_*.c}; do # FUZZ_TARGETS: a subset
  name=$(basename "$target" .c)
  seeds="tests/fuzz/corpus/${name#fuzz_}"
  corpus="$out/corpus-${name#fuzz_}"
  mkdir -p "$corpus"
  clang $flags $san -fsanitize=fuzzer "$target" "${objs[@]}" $libs -o "$out/$name"
  echo "fuzz: $name for ${secs}s"
  if ! (cd "$out" && ASAN_OPTIONS=detect_leaks=1 "./$name" -max_total_time="$secs" \
          -max_len=8192 -print_final_stats=0 "$(basename "$corpus")" "../../$seeds" \
          >"$name.log" 2>&1); then
    echo "fuzz: $name FAILED; see $out/$name.log"
    tail -n 30 "$out/$name.log"
    status=1
  else
    grep -E "^#[0-9]+.*DONE" "$out/$name.log" | tail -n 1 || true
  fi
done
exit $status
