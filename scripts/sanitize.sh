#!/usr/bin/env bash
# Sanitizer runs (zero reports allowed; any report aborts the test program):
#  build-asan: ASan + UBSan over everything ctest runs (unit, integration,
#              stress, the MariaDB plugin's unit tests and the MySQL host
#              harness, which dlopens the plugin and component .so built with
#              the same sanitizer), leaks checked. Tests are chosen by
#              exclusion, and the run fails if a gtest program in the tree
#              registered no ctest test or a test has no label, so a new test
#              cannot silently fall out.
#  build-tsan: TSan, the concurrent parts (key cache and its lock, key gate, locked slab, key service, HTTP client,
#              KMIP transport, authenticator renewal, audit log) and the
#              concurrency stress test.
# The dev locker is built with the same sanitizer as the tests in each tree:
# it is test infrastructure, but instrumenting it costs little and a report
# in it would otherwise show up as a mysterious test failure elsewhere.
# Usage: scripts/sanitize.sh [asan|tsan]...   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${KLK_JOBS:-$(nproc)}
MODES=("$@")
[ "${#MODES[@]}" -gt 0 ] || MODES=(asan tsan)

TSAN_TESTS="key_cache_test read_mostly_mutex_test lock_within_deadline_test mariadb_key_gate_test locked_slab_test key_service_test key_service_generations_test directory_backend_test http_client_test kmip_transport_test authenticator_renewal_test audit_log_test concurrency_stress_test"

configure_and_build() {  # dir sanitizer targets...
  local dir=$1 san=$2; shift 2
  # -O1 -g1: the sanitizers' recommended optimisation, with line tables for
  # stack traces; compiles far faster than -O2 -g on two cores.
  # No benchmark programs: nothing here runs them (bench/run uses the plain build).
  cmake -S . -B "$dir" -DKLK_WERROR=ON -DKLK_SANITIZE="$san" -DKLK_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" >/dev/null
  cmake --build "$dir" -j"$JOBS" --target devlocker "$@"
}

# Fails when a gtest program in $1/bin (where every program lands) has no ctest
# test, or when a ctest test carries no label: either would drop it from
# label-filtered runs without anyone noticing.
check_registration() {  # build dir
  local dir=$1
  # gtest_main's banner marks a gtest program (benchmarks link gtest too, but not its main).
  find "$PWD/$dir/bin" -type f -perm -u+x -exec grep -q 'Running main() from' {} \; -print |
    (cd "$dir" && ctest --show-only=json-v1 >ctest-tests.json && /usr/bin/python3 -c '
import json, sys
tests = json.load(open("ctest-tests.json"))["tests"]
bad = []
for t in tests:
    labels = [p["value"] for p in t.get("properties", []) if p["name"] == "LABELS"]
    if not labels or not labels[0]:
        bad.append("ctest test %s has no label (add LABELS to its gtest_discover_tests)" % t["name"])
run = {t["command"][0] for t in tests if t.get("command")}
for exe in sys.stdin.read().split():
    if exe not in run:
        bad.append("%s is a gtest program but ctest runs none of its tests (register it with gtest_discover_tests)" % exe)
for b in bad:
    print("sanitize.sh: " + b, file=sys.stderr)
print("sanitize.sh: %d ctest tests, every gtest program registered and labelled" % len(tests))
sys.exit(1 if bad else 0)')
}

for mode in "${MODES[@]}"; do
  start=$(date +%s)
  case "$mode" in
    asan)
      # Everything: test programs, the plugins and component the harness
      # dlopens, the CLI it runs.
      configure_and_build build-asan address all
      check_registration build-asan
      export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
      export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
      # Left out: the python3-hvac check and the PyKMIP launcher's smoke test
      # (foreign clients and servers, no keyring_locker code runs in them),
      # and the real-Vault tests (label real_vault, names *RealVault*): they
      # prove our client against the real server's answers, and the same
      # client code runs here against the dev locker; the HA one loads the
      # plugin into Debian's uninstrumented mariadbd, as MTR does (not run here).
      (cd build-asan && ctest --output-on-failure -j"$JOBS" --timeout 300 -LE real_vault \
         -E '^(hvac_|pykmip_server_smoke$)|RealVault|real_vault')
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
