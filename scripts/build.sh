#!/usr/bin/env bash
# Configures and builds into build/ (programs land in build/bin/).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DKLK_WERROR=ON ${KLK_CMAKE_ARGS:-} >/dev/null
cmake --build build -j"$(nproc)"
