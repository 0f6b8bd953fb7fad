#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/fuzz_*.cc) with clang, ASan and
# UBSan in build-fuzz/ and runs each for FUZZ_SECONDS (default 60), starting
# from the seed corpus in tests/fuzz/corpus/<name>/. New inputs go to
# build-fuzz/corpus/<name>/ (the checked-in seeds stay as they are); a crash
# leaves its input in build-fuzz/artifacts/ and fails the script: turn it
# into a unit test and fix the code.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${KLK_JOBS:-$(nproc)}
SECONDS_EACH=${FUZZ_SECONDS:-60}
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ missing; run scripts/deps.sh" >&2; exit 1; }

TARGETS=()
for f in tests/fuzz/fuzz_*.cc; do TARGETS+=("$(basename "$f" .cc)"); done
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DKLK_FUZZ=ON -DKLK_WERROR=ON >/dev/null
cmake --build build-fuzz -j"$JOBS" --target "${TARGETS[@]}"

mkdir -p build-fuzz/artifacts
export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Targets run side by side, KLK_JOBS at a time: each still gets its full
# wall-clock budget.
run_one() {
  local t=$1 name=${1#fuzz_}
  mkdir -p "build-fuzz/corpus/$name"
  rc=0
  "build-fuzz/bin/$t" -max_total_time="$SECONDS_EACH" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="build-fuzz/artifacts/$t-" "build-fuzz/corpus/$name" "tests/fuzz/corpus/$name" \
    >"build-fuzz/$t.log" 2>&1 || rc=$?
  echo "$rc" >"build-fuzz/$t.rc"
}
for t in "${TARGETS[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do sleep 1; done
  echo "== fuzz: $t for ${SECONDS_EACH}s"
  rm -f "build-fuzz/$t.rc"
  run_one "$t" &
done
wait

failed=0
summary=()
for t in "${TARGETS[@]}"; do
  log="build-fuzz/$t.log"
  if [ "$(cat "build-fuzz/$t.rc" 2>/dev/null || echo missing)" != 0 ]; then
    tail -n 60 "$log"
    echo "fuzz.sh: $t found a problem; the input is in build-fuzz/artifacts/ (log: $log)" >&2
    failed=1
    continue
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
  summary+=("$t: ${execs:-?} executions in ${SECONDS_EACH}s, $cov")
done
[ "${#summary[@]}" -eq 0 ] || printf 'fuzz.sh: %s\n' "${summary[@]}"
exit "$failed"
