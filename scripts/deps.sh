#!/usr/bin/env bash
# Installs what keyring_locker needs to build and test on Debian bookworm,
# only when something is missing. Safe to run repeatedly.
set -euo pipefail
PKGS=(build-essential cmake pkg-config ca-certificates curl openssl
      libssl-dev libcurl4-openssl-dev nlohmann-json3-dev libcpp-httplib-dev
      libgtest-dev libgmock-dev libbenchmark-dev python3-hvac
      mariadb-server mariadb-test libmariadbd-dev mariadb-backup
      clang-14 clang libclang-rt-14-dev
      gdb binutils)  # gdb (gcore) and nm: tests/keyscan core dump scan
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
