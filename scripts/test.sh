#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test:
# unit, dev-locker integration (fault matrix, stress), the MySQL host
# harness, the python3-hvac client check (all through ctest), the MariaDB
# mysql-test-run suite against a real mariadbd, the Debian package installed,
# used and purged on the system's MariaDB (tests/package), then the sanitizer runs
# (scripts/sanitize.sh: ASan+UBSan, TSan) and the fuzzers (scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
scripts/deps.sh
scripts/build.sh
# Tests needing the PyKMIP server fail, not skip, when it is missing here.
export KLK_REQUIRE_PYKMIP=1
# Likewise moto (AWS KMS stand-in, scripts/deps.sh): missing fails, never skips.
export KLK_REQUIRE_MOTO=1
# And the Azure suite's stand-in (python3-cryptography, scripts/deps.sh).
export KLK_REQUIRE_AZURE=1
# deps.sh built the real Vault: its tests fail, not skip, without it.
[ -n "${KLK_SKIP_REAL_VAULT:-}" ] || export KLK_REQUIRE_REAL_VAULT=1
LOG=$(mktemp /tmp/klk_test.XXXXXX)
trap 'rm -f "$LOG"' EXIT

(cd build && ctest --output-on-failure -j"$(nproc)" --timeout 300) | tee "$LOG"
ctest_passed=$(sed -n 's/.*tests passed, 0 tests failed out of \([0-9]*\).*/\1/p' "$LOG" | tail -1)

scripts/mtr.sh | tee "$LOG"
mtr_passed=$(sed -n 's/.*All \([0-9]*\) tests were successful.*/\1/p' "$LOG" | tail -1)

# The Debian package on this machine's own MariaDB (service mariadb, not
# MTR): after the suites, never beside them, since it stops and restarts the
# system server and puts its datadir and /etc/mysql back afterwards.
tests/package/deb_install_test.sh build

# The benchmarks, as a smoke run: each program runs briefly and must print
# its numbers; nothing about speed is asserted, docs/ is not written.
bench/run --quick --no-build

scripts/sanitize.sh
scripts/fuzz.sh

echo "test.sh: ctest ${ctest_passed:-0} passed; MariaDB MTR ${mtr_passed:-0} passed; Debian package test passed; benchmark smoke run passed;" \
     "sanitizers and fuzzers clean; $(( $(date +%s) - start )) s in all"
echo "$(( ${ctest_passed:-0} + ${mtr_passed:-0} + 2 )) passed, 0 failed"
