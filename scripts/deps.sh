#!/usr/bin/env bash
# Installs what keyring_locker needs to build and test on Debian bookworm,
# only when something is missing. Safe to run repeatedly.
#   scripts/deps.sh                  everything, the real Vault build included
#   scripts/deps.sh --no-real-vault  all but the real Vault (scripts/test.sh
#                                    builds it in the background instead)
set -euo pipefail
BUILD_REAL_VAULT=1
case "${1:-}" in
  --no-real-vault) BUILD_REAL_VAULT= ;;
  "") ;;
  *) echo "deps: unknown argument '$1' (only --no-real-vault)" >&2; exit 2 ;;
esac
PKGS=(build-essential cmake pkg-config ca-certificates curl jq openssl
      libssl-dev libcurl4-openssl-dev nlohmann-json3-dev libcpp-httplib-dev
      libgtest-dev libgmock-dev libbenchmark-dev python3-hvac
      libcli11-dev  # tools/: the command line's argument parsing
      mariadb-server mariadb-test libmariadbd-dev mariadb-backup
      clang-14 clang libclang-rt-14-dev
      gdb binutils  # gdb (gcore) and nm: tests/keyscan core dump scan
      lintian  # tests/package/deb_install_test.sh lints the Debian package
      python3-cryptography  # tests/azure/azure_standin.py: the Azure Key Vault stand-in
      python3-pykmip  # an independent KMIP server: tests/kmip/pykmip_server.py
      mariadb-plugin-hashicorp-key-management  # bench/mariadb_startup.py compares against it
      sysbench  # bench/sysbench_compare.py: OLTP on encrypted tables per key plugin
      python3-matplotlib)  # bench/run: the plots in docs/bench/
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

# A venv of exactly the pinned packages (--no-deps: every dependency is in
# the list), made anew in DIR; Debian's python3-venv first.
make_venv() {
  local dir=$1; shift
  dpkg-query -W -f='${Status}' python3-venv 2>/dev/null | grep -q "install ok installed" || {
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-venv; }
  rm -rf "$dir"
  /usr/bin/python3 -m venv "$dir"
  "$dir/bin/pip" install -q --disable-pip-version-check --no-deps "$@"
}

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
    make_venv "$PYKMIP_VENV" "${PYKMIP_PINS[@]}"
    pykmip_ok "$PYKMIP_VENV/bin/python3" || { echo "deps: the PyKMIP venv does not import" >&2; exit 1; }
  fi
elif [ -d "$PYKMIP_VENV" ]; then
  rm -rf "$PYKMIP_VENV"  # Debian's works again; the launcher would prefer a stale venv
fi

# moto (PyPI's moto[server]): the AWS KMS stand-in for tests/aws/moto_server.py
# and the AWS KMS integration tests. Not in Debian; a pinned venv in the
# cache folder, made once and reused.
MOTO_VENV="${KEYRING_LOCKER_CACHE:-$HOME/.cache/keyring_locker}/moto-venv"
# Every package the venv holds, pinned (pip freeze of a working venv), so a
# new machine gets the same moto and the same dependencies.
MOTO_PINS=(annotated-types==0.8.0 antlr4-python3-runtime==4.13.2 attrs==26.1.0 aws-xray-sdk==2.15.0
           blinker==1.9.0 boto3==1.44.18 botocore==1.44.18 certifi==2026.10.19.post1 cffi==2.1.1
           cfn-lint==1.58.0 charset-normalizer==3.5.3 click==8.5.1 cryptography==50.0.2 docker==7.2.0
           Flask==3.1.3 flask-cors==6.0.5 graphql-core==3.3.2 idna==3.21 itsdangerous==2.2.0
           Jinja2==3.1.6 jmespath==1.1.0 joserfc==1.8.0 jsonpatch==1.48 jsonpath-ng==1.17.0
           jsonpointer==3.12 jsonschema==4.26.0 jsonschema-path==0.5.0
           jsonschema-specifications==2025.9.1 lazy-object-proxy==1.13.0 MarkupSafe==3.0.4
           moto[server]==5.1.18 mpmath==1.3.0 networkx==3.6.1 openapi-schema-validator==0.9.0
           openapi-spec-validator==0.9.0 pathable==0.6.0 py-partiql-parser==0.6.3 pycparser==3.12
           pydantic==2.14.4 pydantic-settings==2.16.3 pydantic_core==2.50.5 pyparsing==3.3.3
           python-dateutil==2.9.0.post0 python-dotenv==1.2.4 PyYAML==6.0.4 referencing==0.37.0
           regex==2026.12.2 requests==2.34.2 responses==0.26.3 rfc3339-validator==0.1.4
           rpds-py==2026.9.1 s3transfer==0.19.3 six==1.17.0 sympy==1.14.0 typing-inspection==0.4.5
           typing_extensions==4.16.0 urllib3==2.8.0 Werkzeug==3.1.9 wrapt==2.5.2 xmltodict==1.0.4)
moto_ok() { [ -x "$MOTO_VENV/bin/moto_server" ] && "$MOTO_VENV/bin/python3" -c 'import moto, flask' >/dev/null 2>&1 &&
            [ "$("$MOTO_VENV/bin/python3" -c 'import moto; print(moto.__version__)')" = "5.1.18" ]; }
if ! moto_ok; then
  echo "deps: making $MOTO_VENV (moto[server]==5.1.18 and its pinned dependencies)"
  make_venv "$MOTO_VENV" "${MOTO_PINS[@]}"
  moto_ok || { echo "deps: the moto venv does not work" >&2; exit 1; }
fi

# The real Vault server for issue #13's tests: built once from the Go module
# proxy into the same cache folder (trimmed to what the tests use, see
# docs/real-vault-notes.md: about 3.5 CPU-minutes of compiling the first time,
# plus the downloads; a few ms afterwards). KLK_SKIP_REAL_VAULT=1 leaves
# it out; its tests then skip unless KLK_REQUIRE_REAL_VAULT is set.
# --no-real-vault: the caller builds it (scripts/test.sh, beside the tests).
if [ -z "${KLK_SKIP_REAL_VAULT:-}" ] && [ -n "$BUILD_REAL_VAULT" ]; then
  "$(dirname "$0")/real_vault.sh" >/dev/null
fi
