#!/usr/bin/env bash
# The long concurrency stress run (not a CI step; CI runs the 10 s version):
# 32 readers, a rotating second server, AppRole renewal every ~2 s and the
# version refresh every second, for MINUTES minutes. Prints reads, rotations,
# renewals, refreshes, latency percentiles, torn keys (must be 0) and RSS;
# fails on a torn key, an error, memory growth after warm-up, or no progress
# for KLK_STRESS_STALL_S seconds (the deadlock watchdog).
# The cache is bounded to 512 key versions so eviction runs all the time and
# the RSS check shows the bound holding while versions keep being created.
# Usage: scripts/stress.sh [MINUTES] [plain|tsan]   (default: 15 plain)
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-15}
MODE=${2:-plain}
JOBS=${KLK_JOBS:-2}
case "$MODE" in
  plain) DIR=${BUILD_DIR:-build}; SAN=""; RUN=() ;;
  # setarch -R: TSan's shadow layout needs the classic address space.
  tsan) DIR=build-tsan; SAN=thread; RUN=(setarch "$(uname -m)" -R)
        export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1" ;;
  *) echo "stress.sh: unknown mode '$MODE' (use plain or tsan)" >&2; exit 2 ;;
esac
if [ -n "$SAN" ]; then
  cmake -S . -B "$DIR" -DKLK_WERROR=ON -DKLK_SANITIZE="$SAN" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" >/dev/null
else
  cmake -S . -B "$DIR" -DKLK_WERROR=ON >/dev/null
fi
cmake --build "$DIR" -j"$JOBS" --target devlocker concurrency_stress_test

export KLK_STRESS_SECONDS=$(( MINUTES * 60 ))
export KLK_STRESS_STALL_S=${KLK_STRESS_STALL_S:-60}
export KLK_STRESS_MAX_KEYS=${KLK_STRESS_MAX_KEYS:-512}
export KLK_STRESS_RSS_GROWTH_MB=${KLK_STRESS_RSS_GROWTH_MB:-32}
# Rotating every 100 ms for minutes would make thousands of versions; one a
# second is already far more than any real server sees.
export KLK_STRESS_ROTATE_MS=${KLK_STRESS_ROTATE_MS:-1000}
echo "stress.sh: $MODE, $MINUTES min, cache bound $KLK_STRESS_MAX_KEYS versions, stall watchdog ${KLK_STRESS_STALL_S} s"
start=$(date +%s)
"${RUN[@]}" "$DIR/bin/concurrency_stress_test" --gtest_brief=0
echo "stress.sh: $MODE passed in $(( $(date +%s) - start )) s"
