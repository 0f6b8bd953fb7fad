#!/usr/bin/env bash
# Sanitizer runs (zero reports allowed; any report aborts the test program):
#  build-asan: ASan + UBSan, every unit and integration test, leaks checked.
#  build-tsan: TSan, the concurrent parts (key cache, key service, HTTP client,
#              authenticator renewal, audit log) and the concurrency stress test.
# The dev locker is built with the same sanitizer as the tests in each tree:
# it is test infrastructure, but instrumenting it costs little and a report
# in it would otherwise show up as a mysterious test failure elsewhere.
# Usage: scripts/sanitize.sh [asan|tsan]...   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${KLK_JOBS:-$(nproc)}
MODES=("$@")
[ "${#MODES[@]}" -gt 0 ] || MODES=(asan tsan)

# Only test programs (and the dev locker they start), never benchmarks.
tests_in() { for f in "$@"; do [ -e "$f" ] && basename "$f" .cc; done; }
ALL_TESTS=$(tests_in tests/unit/*_test.cc tests/integration/*_test.cc tests/stress/*_test.cc)
TSAN_TESTS="key_cache_test key_service_test http_client_test authenticator_renewal_test audit_log_test concurrency_stress_test"

configure_and_build() {  # dir sanitizer targets...
  local dir=$1 san=$2; shift 2
  # -O1 -g1: the sanitizers' recommended optimisation, with line tables for
  # stack traces; compiles far faster than -O2 -g on two cores.
  cmake -S . -B "$dir" -DKLK_WERROR=ON -DKLK_SANITIZE="$san" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" >/dev/null
  cmake --build "$dir" -j"$JOBS" --target devlocker "$@"
}

for mode in "${MODES[@]}"; do
  start=$(date +%s)
  case "$mode" in
    asan)
      # shellcheck disable=SC2086
      configure_and_build build-asan address $ALL_TESTS
      export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
      export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
      (cd build-asan && ctest --output-on-failure -j"$JOBS" --timeout 300 -L 'unit|integration' -E hvac_)
      ;;
    tsan)
      # shellcheck disable=SC2086
      configure_and_build build-tsan thread $TSAN_TESTS
      export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
      for t in $TSAN_TESTS; do
        echo "== tsan: $t"
        # setarch -R: TSan's shadow layout needs the classic address space
        # (newer kernels randomise mmap more than TSan expects).
        setarch "$(uname -m)" -R "build-tsan/bin/$t" --gtest_brief=1
      done
      ;;
    *) echo "sanitize.sh: unknown mode '$mode' (use asan or tsan)" >&2; exit 2 ;;
  esac
  echo "sanitize.sh: $mode passed with zero reports in $(( $(date +%s) - start )) s"
done
