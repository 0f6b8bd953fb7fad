#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test
# (unit, dev-locker integration, the python3-hvac client check), then the
# sanitizer runs (scripts/sanitize.sh) and the fuzzers (scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
(cd build && ctest --output-on-failure -j"$(nproc)" --timeout 300)
scripts/sanitize.sh
scripts/fuzz.sh
