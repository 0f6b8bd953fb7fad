#!/usr/bin/env bash
# Runs the MariaDB plugin's mysql-test-run suites with Debian's
# mariadb-test-run.pl in one MTR invocation: mysql-test/keyring_locker
# against a dev locker, and mysql-test/keyring_locker_kmip (the core tests
# with the KMIP key store) against a PyKMIP server; both are started here
# and stopped on exit. Extra arguments go to MTR (test names, --verbose, ...).
#   scripts/mtr.sh                    every test of both suites
#   scripts/mtr.sh basic rotation     these tests, in each suite that has them
#   scripts/mtr.sh keyring_locker_kmip.basic
# BUILD_DIR (default build) must hold bin/devlocker and plugin/mariadb/keyring_locker.so.
# Without PyKMIP (scripts/deps.sh installs it) the KMIP suite is left out,
# unless KLK_REQUIRE_PYKMIP=1 (scripts/test.sh), which makes that an error.
# mysql-test/keyring_locker_azure (directory store, Azure Key Vault wrapper)
# runs against a local Key Vault stand-in (keyring_locker_azure/azure_env.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=$(cd "${BUILD_DIR:-build}" && pwd)
MTR_DIR=/usr/share/mysql/mysql-test
[ -f "$MTR_DIR/mariadb-test-run.pl" ] || { echo "mtr.sh: $MTR_DIR/mariadb-test-run.pl missing: apt-get install mariadb-test"; exit 1; }
export KLK_DEVLOCKER_BIN=${KLK_DEVLOCKER_BIN:-$BUILD/bin/devlocker}
for f in "$KLK_DEVLOCKER_BIN" "$BUILD/plugin/mariadb/keyring_locker.so" "$BUILD/plugin/mariadb/keyring_locker_wipe_alloc.so"; do
  [ -f "$f" ] || { echo "mtr.sh: $f missing: build first (scripts/build.sh)"; exit 1; }
done

WORK=$(mktemp -d /tmp/klk_mtr.XXXXXX)
touch "$WORK/.started"  # the post-suite scan looks at /tmp files newer than this
umask 077
export KLK_LOCKER_DIR=$WORK/locker
mkdir -p "$KLK_LOCKER_DIR"
export KLK_ROOT_TOKEN_FILE=$KLK_LOCKER_DIR/root-token
head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24 >"$KLK_ROOT_TOKEN_FILE"
CTL=$ROOT/mysql-test/keyring_locker/locker_ctl.sh
KMIP_LAUNCHER=$ROOT/tests/kmip/pykmip_server.py
export KLK_KMIP_DIR=$WORK/kmip
cleanup() {
  "$CTL" stop || true
  [ ! -f "$KLK_KMIP_DIR/server.json" ] || /usr/bin/python3 "$KMIP_LAUNCHER" stop --dir "$KLK_KMIP_DIR" || true
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

export KLK_LOCKER_PORT=0
"$CTL" start
URL=$(sed -n 's/.*listening on \(https:[^ ]*\).*/\1/p' "$KLK_LOCKER_DIR/devlocker.out")
export KLK_LOCKER_URL=$URL KLK_LOCKER_PORT=${URL##*:} KLK_LOCKER_CA=$KLK_LOCKER_DIR/tls/ca.pem
# The server's token: a file only the server's user can read (here: root).
export KLK_TOKEN_FILE=$KLK_LOCKER_DIR/token
cp "$KLK_ROOT_TOKEN_FILE" "$KLK_TOKEN_FILE"
chmod 600 "$KLK_TOKEN_FILE"
# The shared JSON config, for the test that loads the plugin through
# keyring_locker_config_file instead of individual variables.
export KLK_CONFIG_FILE=$WORK/keyring_locker.json
cat >"$KLK_CONFIG_FILE" <<JSON
{
  "locker":   {"urls": ["$URL"], "transit_key": "mtr"},
  "keys":     {"scope": "mtr/config_file"},
  "auth":     {"method": "token", "token_file": "$KLK_TOKEN_FILE"},
  "tls":      {"ca_file": "$KLK_LOCKER_CA"},
  "timeouts": {"connect_ms": 1000, "total_ms": 3000},
  "audit":    {"path": "$WORK/server-audit.log", "actor": "mtr-server"}
}
JSON
export KLK_AUDIT_LOG=$WORK/server-audit.log
# The same locker without TLS verification (tls_verify_status shows it in
# SHOW STATUS); a scope and no audit log of its own.
export KLK_CONFIG_FILE_NO_VERIFY=$WORK/keyring_locker_no_verify.json
cat >"$KLK_CONFIG_FILE_NO_VERIFY" <<JSON
{
  "locker":   {"urls": ["$URL"], "transit_key": "mtr"},
  "keys":     {"scope": "mtr/tls_verify"},
  "auth":     {"method": "token", "token_file": "$KLK_TOKEN_FILE"},
  "tls":      {"verify": false},
  "timeouts": {"connect_ms": 1000, "total_ms": 3000}
}
JSON
# Where the crash_* tests arm a crash point of keyring_locker_crashtest.so (inside
# the vardir: mysqltest writes nowhere else); the shipped plugin never reads it.
export KLK_CRASH_POINT_FILE=$WORK/var/tmp/klk_crash_point
export KLK_LOCKER_CTL=$CTL KLK_PLUGIN_DIR=$BUILD/plugin/mariadb KLK_SUITE_DIR=$ROOT/mysql-test/keyring_locker
echo "mtr.sh: dev locker at $URL (work dir $WORK)"

# The KMIP suite: one PyKMIP server for the whole run (its own folder, its
# database and TLS files inside the work dir; the watchdog ends it if this
# script dies), and one config file per test of the suite, scope mtr/<test>,
# plus mtr/default for the tests without one (the suite's my.cnf). A test's
# t/<test>.json, when present, is merged into its file (e.g. cache settings).
KMIP_SUITE=$ROOT/mysql-test/keyring_locker_kmip
SUITES="$WORK/suites/keyring_locker"
if /usr/bin/python3 "$KMIP_LAUNCHER" which >/dev/null 2>&1; then
  /usr/bin/python3 "$KMIP_LAUNCHER" start --dir "$KLK_KMIP_DIR" --owner-pid $$ >/dev/null
  export KLK_KMIP_LAUNCHER=$KMIP_LAUNCHER KLK_KMIP_CTL=$KMIP_SUITE/kmip_ctl.sh KLK_KMIP_SUITE_DIR=$KMIP_SUITE
  export KLK_KMIP_CONFIG_DIR=$WORK/kmip-config KLK_KMIP_CONFIG_FILE=$WORK/kmip-config/default.json
  export KLK_KMIP_SERVER=127.0.0.1:$(/usr/bin/python3 "$KMIP_LAUNCHER" get --dir "$KLK_KMIP_DIR" port)
  /usr/bin/python3 - "$KLK_KMIP_DIR/server.json" "$KLK_KMIP_CONFIG_DIR" "$KMIP_SUITE/t" <<'PY'
import glob, json, os, sys
server, out, tests = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
os.makedirs(out, exist_ok=True)
def merge(a, b):
    for k, v in b.items():
        a[k] = merge(a.get(k, {}), v) if isinstance(v, dict) else v
    return a
names = ["default"] + sorted(os.path.basename(t)[:-5] for t in glob.glob(tests + "/*.test"))
for name in names:
    config = {
        "store": {"type": "kmip"},
        "kmip": {"servers": ["%s:%d" % (server["host"], server["port"])], "ca_file": server["ca"],
                 "client_cert": server["client_cert"], "client_key": server["client_key"]},
        "keys": {"scope": "mtr/" + name},
        "timeouts": {"connect_ms": 1000, "total_ms": 3000},
    }
    extra = os.path.join(tests, name + ".json")
    if os.path.exists(extra):
        merge(config, json.load(open(extra)))
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(config, f, indent=1)
PY
  SUITES="$SUITES,$WORK/suites/keyring_locker_kmip"
  echo "mtr.sh: PyKMIP at $KLK_KMIP_SERVER (folder $KLK_KMIP_DIR)"
elif [ -n "${KLK_REQUIRE_PYKMIP:-}" ] && [ "$KLK_REQUIRE_PYKMIP" != 0 ]; then
  echo "mtr.sh: PyKMIP (pykmip-server) is not installed: run scripts/deps.sh"
  exit 1
else
  echo "mtr.sh: PyKMIP is not installed: the KMIP suite (mysql-test/keyring_locker_kmip) is left out"
fi

# The Azure suite (mysql-test/keyring_locker_azure): a Key Vault stand-in.
. "$ROOT/mysql-test/keyring_locker_azure/azure_env.sh"

# MTR reads a '-' in a suite path as a combination separator: reach the
# suite through a link without one.
mkdir -p "$WORK/suites"
ln -s "$ROOT/mysql-test/keyring_locker" "$WORK/suites/keyring_locker"
ln -s "$KMIP_SUITE" "$WORK/suites/keyring_locker_kmip"
# MTR knows these suites by their paths (which it cannot parse in a test
# name): SUITE.TEST runs TEST in that suite only, by running only that
# suite when every suite-qualified name is of the same one.
args=() named=""
for a in "$@"; do
  case "$a" in
    keyring_locker_kmip.*) args+=("${a#keyring_locker_kmip.}"); named="$named kmip" ;;
    keyring_locker_azure.*) args+=("${a#keyring_locker_azure.}"); named="$named azure" ;;
    keyring_locker.*) args+=("${a#keyring_locker.}"); named="$named vault" ;;
    *) args+=("$a") ;;
  esac
done
case "$named" in
  *kmip*vault*|*vault*kmip*) ;;
  *kmip*) [[ "$SUITES" == *,* ]] || { echo "mtr.sh: the KMIP suite needs PyKMIP (scripts/deps.sh)"; exit 1; }
          SUITES="$WORK/suites/keyring_locker_kmip" ;;
  *vault*) SUITES="$WORK/suites/keyring_locker" ;;
  " azure"*) SUITES="$WORK/suites/keyring_locker_azure" ;;  # names of the Azure suite only
esac
cd "$MTR_DIR"
set +e
start=$(date +%s)
perl mariadb-test-run.pl --suite="$SUITES" --vardir="$WORK/var" \
  --mysqld=--plugin-dir="$BUILD/plugin/mariadb" --parallel=1 --force --max-test-fail=0 ${args[@]+"${args[@]}"}
rc=$?
echo "mtr.sh: suite finished in $(( $(date +%s) - start )) s, exit $rc"

# Issue #5: no key bytes (raw, fragments, base64, hex) and no token in any file
# the run wrote: datadirs, logs, tmp, audit logs, and /tmp. The locker's own
# directory is excluded: keys live there (state.json holds the key documents,
# whose keys are wrapped, and the dev locker's Transit keys in the clear).
# Other mtr.sh runs' work dirs and the job spool of the shell that runs us are
# not this run's files.
others=()
for d in /tmp/klk_mtr.* /tmp/bash_jobs.*; do [ "$d" = "$WORK" ] || others+=(--exclude "$d"); done
/usr/bin/python3 "$ROOT/tests/keyscan/keyscan.py" --token-file "$KLK_TOKEN_FILE" --newer-than "$WORK/.started" \
  --exclude "$KLK_LOCKER_DIR" --exclude "$KLK_KMIP_DIR" --exclude "$KLK_AZURE_DIR" "${others[@]}" "$WORK" /tmp
scan=$?
[ $scan -eq 0 ] || echo "mtr.sh: key material or a token was found on disk (above): the suite fails"
[ $rc -ne 0 ] || rc=$scan
exit $rc
