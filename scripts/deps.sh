#!/usr/bin/env bash
# Installs what keyring_locker needs to build and test on Debian bookworm,
# only when something is missing. Safe to run repeatedly.
set -euo pipefail
PKGS=(build-essential cmake pkg-config ca-certificates curl openssl
      libssl-dev libcurl4-openssl-dev nlohmann-json3-dev libcpp-httplib-dev
      libgtest-dev libgmock-dev libbenchmark-dev python3-hvac
      mariadb-server mariadb-test libmariadbd-dev mariadb-backup
      clang-14 clang libclang-rt-14-dev
      gdb binutils  # gdb (gcore) and nm: tests/keyscan core dump scan
      python3-pykmip)  # an independent KMIP server: tests/kmip/pykmip_server.py
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

# PyKMIP's server must start with Debian's cryptography and SQLAlchemy. Should
# Debian's python3-pykmip ever fail to import, a venv with pinned versions is
# made once in a cache folder outside the checkout (reused by later runs);
# tests/kmip/pykmip_server.py finds it there. PyPI's pykmip 0.11 breaks with
# cryptography >= 45 and SQLAlchemy 2, hence the pins below them.
PYKMIP_VENV="${KEYRING_LOCKER_CACHE:-$HOME/.cache/keyring_locker}/pykmip-venv"
# Every package the venv holds, pinned (pip freeze of a working venv).
PYKMIP_PINS=(PyKMIP==0.11.0 cryptography==44.0.3 SQLAlchemy==1.4.54 six==1.17.0 requests==2.32.3
             enum-compat==0.0.3 cffi==2.1.1 pycparser==3.12 greenlet==3.5.6 certifi==2026.10.19.post1
             charset-normalizer==3.5.3 idna==3.21 urllib3==2.8.0)
pykmip_ok() { "$1" -W ignore -c 'import kmip.services.server.server' >/dev/null 2>&1; }
if [ -n "${KLK_PYKMIP_FORCE_VENV:-}" ] || ! pykmip_ok /usr/bin/python3; then
  if ! pykmip_ok "$PYKMIP_VENV/bin/python3" || [ ! -x "$PYKMIP_VENV/bin/pykmip-server" ]; then
    echo "deps: Debian's python3-pykmip does not import; making $PYKMIP_VENV (${PYKMIP_PINS[*]})"
    dpkg-query -W -f='${Status}' python3-venv 2>/dev/null | grep -q "install ok installed" || {
      SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-venv; }
    rm -rf "$PYKMIP_VENV"
    /usr/bin/python3 -m venv "$PYKMIP_VENV"
    "$PYKMIP_VENV/bin/pip" install -q --disable-pip-version-check --no-deps "${PYKMIP_PINS[@]}"
    pykmip_ok "$PYKMIP_VENV/bin/python3" || { echo "deps: the PyKMIP venv does not import" >&2; exit 1; }
  fi
elif [ -d "$PYKMIP_VENV" ]; then
  rm -rf "$PYKMIP_VENV"  # Debian's works again; the launcher would prefer a stale venv
fi

# The real Vault server for issue #13's tests: built once from the Go module
# proxy into the same cache folder (about 15 minutes on 2 cores the first
# time: 13 of compiling, the rest downloading; a few ms afterwards). KLK_SKIP_REAL_VAULT=1 leaves it out; its tests
# then skip unless KLK_REQUIRE_REAL_VAULT is set.
if [ -z "${KLK_SKIP_REAL_VAULT:-}" ]; then
  "$(dirname "$0")/real_vault.sh" >/dev/null
fi
