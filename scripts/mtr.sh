#!/usr/bin/env bash
# Runs the MariaDB plugin's mysql-test-run suites with Debian's
# mariadb-test-run.pl in one MTR invocation: mysql-test/keyring_locker
# against a dev locker, mysql-test/keyring_locker_kmip (the core tests with
# the KMIP key store) against a PyKMIP server, mysql-test/keyring_locker_aws
# (the core tests with the directory store and the AWS KMS wrapper) against
# moto, and mysql-test/keyring_locker_azure (directory store, Azure Key
# Vault wrapper) against a local Key Vault stand-in, and
# mysql-test/keyring_locker_vault (the core tests against a real HashiCorp
# Vault, when scripts/real_vault.sh built it); all are started here and
# stopped on exit (and by their watchdogs, should this script be killed). Extra arguments go to MTR (test names, --verbose, ...).
#   scripts/mtr.sh                    every test of every suite
#   scripts/mtr.sh basic rotation     these tests, in each suite that has them
#   scripts/mtr.sh keyring_locker_kmip.basic keyring_locker_aws.backup
# BUILD_DIR (default build) must hold bin/devlocker and plugin/mariadb/keyring_locker.so.
# Without PyKMIP or moto (scripts/deps.sh installs them) the KMIP or AWS
# suite is left out, unless KLK_REQUIRE_PYKMIP=1 or KLK_REQUIRE_MOTO=1
# (scripts/test.sh), which makes that an error; likewise the Azure suite
# without python3's cryptography (KLK_REQUIRE_AZURE=1), and the real-Vault
# suite without the vault binary (KLK_REQUIRE_REAL_VAULT=1).
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
MOTO_LAUNCHER=$ROOT/tests/aws/moto_server.py
export KLK_KMIP_DIR=$WORK/kmip KLK_AWS_DIR=$WORK/aws KLK_AZURE_DIR=$WORK/azure
export KLK_VAULT_DIR=$WORK/vault  # the real-Vault suite's server (vault_env.sh)
cleanup() {
  "$CTL" stop || true
  [ ! -f "$KLK_KMIP_DIR/server.json" ] || /usr/bin/python3 "$KMIP_LAUNCHER" stop --dir "$KLK_KMIP_DIR" || true
  [ ! -f "$KLK_AWS_DIR/server.json" ] || /usr/bin/python3 "$MOTO_LAUNCHER" stop --dir "$KLK_AWS_DIR" || true
  [ ! -f "$KLK_AZURE_DIR/ports.json" ] || "$ROOT/mysql-test/keyring_locker_azure/standin_ctl.sh" stop || true
  [ ! -f "$KLK_VAULT_DIR/server.json" ] || /usr/bin/python3 "$ROOT/tests/vault/real_vault.py" stop --dir "$KLK_VAULT_DIR" || true
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

# A suite whose server is not installed is left out, or fails the run when
# its KLK_REQUIRE_* variable is set (scripts/test.sh).
left_out() {  # TOOL REQUIRE_VARIABLE SUITE
  if [ -n "${!2:-}" ] && [ "${!2}" != 0 ]; then
    echo "mtr.sh: $1 is not installed: run scripts/deps.sh ($2 is set)"
    exit 1
  fi
  echo "mtr.sh: $1 is not installed: the suite mysql-test/$3 is left out"
}

# The KMIP suite: one PyKMIP server for the whole run (its own folder, its
# database and TLS files inside the work dir; the watchdog ends it if this
# script dies), and one config file per test of the suite, scope mtr/<test>,
# plus mtr/default for the tests without one (the suite's my.cnf). A test's
# t/<test>.json, when present, is merged into its file (e.g. cache settings).
KMIP_SUITE=$ROOT/mysql-test/keyring_locker_kmip
SUITES="$WORK/suites/keyring_locker"
if /usr/bin/python3 "$KMIP_LAUNCHER" which >/dev/null 2>&1; then
  /usr/bin/python3 "$KMIP_LAUNCHER" start --dir "$KLK_KMIP_DIR" --owner-pid $$ >/dev/null
  export KLK_KMIP_LAUNCHER=$KMIP_LAUNCHER KLK_KMIP_CTL="$ROOT/mysql-test/keyring_locker/service_ctl.sh kmip"
  export KLK_KMIP_SUITE_DIR=$KMIP_SUITE
  export KLK_KMIP_CONFIG_DIR=$WORK/kmip-config KLK_KMIP_CONFIG_FILE=$WORK/kmip-config/default.json
  export KLK_KMIP_SERVER=127.0.0.1:$(/usr/bin/python3 "$KMIP_LAUNCHER" get --dir "$KLK_KMIP_DIR" port)
  kmip_get() { /usr/bin/python3 "$KMIP_LAUNCHER" get --dir "$KLK_KMIP_DIR" "$1"; }
  /usr/bin/python3 "$ROOT/mysql-test/keyring_locker/suite_configs.py" "$KLK_KMIP_CONFIG_DIR" "$KMIP_SUITE/t" "$(cat <<JSON
{"store": {"type": "kmip"},
 "kmip": {"servers": ["$KLK_KMIP_SERVER"], "ca_file": "$(kmip_get ca)",
          "client_cert": "$(kmip_get client_cert)", "client_key": "$(kmip_get client_key)"},
 "timeouts": {"connect_ms": 1000, "total_ms": 3000}}
JSON
)"
  SUITES="$SUITES,$WORK/suites/keyring_locker_kmip"
  echo "mtr.sh: PyKMIP at $KLK_KMIP_SERVER (folder $KLK_KMIP_DIR)"
else
  left_out PyKMIP KLK_REQUIRE_PYKMIP keyring_locker_kmip
fi

# The AWS suite: one moto for the whole run, reached through its gate (so
# service_ctl.sh can take KMS away without moto losing its in-memory keys),
# one symmetric KMS key, and one config file per test as for KMIP: the
# directory store in one folder beside the datadirs (not inside one:
# docs/security.md, "Where the directory store's keys live"), the aws_kms
# wrapper with credentials from the environment (moto takes any).
AWS_SUITE=$ROOT/mysql-test/keyring_locker_aws
if /usr/bin/python3 "$MOTO_LAUNCHER" which >/dev/null 2>&1; then
  mkdir -p "$KLK_AWS_DIR"
  /usr/bin/python3 "$MOTO_LAUNCHER" start --dir "$KLK_AWS_DIR" --owner-pid $$ --gate >/dev/null
  export AWS_ACCESS_KEY_ID=AKIDMTRTEST AWS_SECRET_ACCESS_KEY=mtr-moto-secret
  export KLK_AWS_LAUNCHER=$MOTO_LAUNCHER KLK_AWS_CTL="$ROOT/mysql-test/keyring_locker/service_ctl.sh aws"
  export KLK_AWS_SUITE_DIR=$AWS_SUITE KLK_AWS_KEYS_DIR=$WORK/aws-keys
  export KLK_AWS_CONFIG_DIR=$WORK/aws-config KLK_AWS_CONFIG_FILE=$WORK/aws-config/default.json
  export KLK_AWS_URL=$(/usr/bin/python3 "$MOTO_LAUNCHER" get --dir "$KLK_AWS_DIR" url)
  mkdir -m 700 "$KLK_AWS_KEYS_DIR"
  KLK_AWS_KEY_ARN=$(/usr/bin/python3 "$AWS_SUITE/aws_check.py" create-key)
  /usr/bin/python3 "$ROOT/mysql-test/keyring_locker/suite_configs.py" "$KLK_AWS_CONFIG_DIR" "$AWS_SUITE/t" "$(cat <<JSON
{"store": {"type": "directory", "path": "$KLK_AWS_KEYS_DIR"},
 "wrapper": {"type": "aws_kms"},
 "aws_kms": {"region": "us-east-1", "endpoints": ["$KLK_AWS_URL"], "key_id": "$KLK_AWS_KEY_ARN",
             "credentials": "env", "ca_file": "$KLK_AWS_DIR/tls/ca.pem"},
 "timeouts": {"connect_ms": 1000, "total_ms": 3000}}
JSON
)"
  SUITES="$SUITES,$WORK/suites/keyring_locker_aws"
  echo "mtr.sh: moto (AWS KMS) at $KLK_AWS_URL, keys in $KLK_AWS_KEYS_DIR"
else
  left_out moto KLK_REQUIRE_MOTO keyring_locker_aws
fi

# The Azure suite (mysql-test/keyring_locker_azure): a Key Vault stand-in.
. "$ROOT/mysql-test/keyring_locker_azure/azure_env.sh"

# ---- The real-Vault suite (mysql-test/keyring_locker_vault, issue #13) ----
# One HashiCorp Vault for the run, started here when scripts/real_vault.sh
# built it (else left out; an error under KLK_REQUIRE_REAL_VAULT=1): the
# core tests against the real server. Everything it needs is in
# keyring_locker_vault/vault_env.sh; other real-Vault tests (e.g. a raft
# cluster of their own) belong in that suite folder too.
. "$ROOT/mysql-test/keyring_locker_vault/vault_env.sh"
# ---- end of the real-Vault suite ----

# MTR reads a '-' in a suite path as a combination separator: reach the
# suite through a link without one.
mkdir -p "$WORK/suites"
ln -s "$ROOT/mysql-test/keyring_locker" "$WORK/suites/keyring_locker"
ln -s "$KMIP_SUITE" "$WORK/suites/keyring_locker_kmip"
ln -s "$AWS_SUITE" "$WORK/suites/keyring_locker_aws"
ln -s "$AZURE_SUITE" "$WORK/suites/keyring_locker_azure"
ln -s "$VAULT_SUITE" "$WORK/suites/keyring_locker_vault"
# MTR knows these suites by their paths (which it cannot parse in a test
# name): SUITE.TEST runs TEST in that suite only, by running only the
# suites named when every test named is suite-qualified.
args=() named="" bare=""
for a in "$@"; do
  case "$a" in
    keyring_locker_kmip.*|keyring_locker_aws.*|keyring_locker_azure.*|keyring_locker_vault.*|keyring_locker.*)
      suite=${a%%.*}
      [[ "$SUITES" == *"/$suite"* ]] || { echo "mtr.sh: suite $suite was left out (above): run scripts/deps.sh"; exit 1; }
      # A name given for two suites runs in both: once is enough (a second
      # round would find the first round's keys).
      [[ " ${args[*]-} " == *" ${a#*.} "* ]] || args+=("${a#*.}")
      [[ " $named " == *" $suite "* ]] || named="$named $suite" ;;
    -*) args+=("$a") ;;
    *) args+=("$a"); bare=1 ;;
  esac
done
if [ -n "$named" ] && [ -z "$bare" ]; then
  SUITES=""
  for suite in $named; do SUITES="${SUITES:+$SUITES,}$WORK/suites/$suite"; done
fi
# KLK_MTR_REAL_VAULT (scripts/test.sh builds the real Vault in the
# background): "later" leaves out the suites that need it (any suite
# keyring_locker_vault*), "only" runs just those. A suite that starts the
# real Vault must not start it here when KLK_MTR_REAL_VAULT=later (see
# mysql-test/keyring_locker_vault/vault_env.sh).
case "${KLK_MTR_REAL_VAULT:-}" in
  later|only)
    kept=""
    IFS=, read -ra all_suites <<<"$SUITES"
    for s in "${all_suites[@]}"; do
      vault_suite=""
      [[ "$s" != */keyring_locker_vault* ]] || vault_suite=1
      if { [ "$KLK_MTR_REAL_VAULT" = only ] && [ -n "$vault_suite" ]; } ||
         { [ "$KLK_MTR_REAL_VAULT" = later ] && [ -z "$vault_suite" ]; }; then
        kept="${kept:+$kept,}$s"
      fi
    done
    [ -n "$kept" ] || { echo "mtr.sh: KLK_MTR_REAL_VAULT=$KLK_MTR_REAL_VAULT leaves no suite to run"; exit 0; }
    SUITES=$kept ;;
  "") ;;
  *) echo "mtr.sh: KLK_MTR_REAL_VAULT is '$KLK_MTR_REAL_VAULT'; use later, only or leave it unset"; exit 2 ;;
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
# The real Vault's folder holds its root token and raft data: excluded like
# the dev locker's; its keys (read with the root token, KLK_VAULT_DIR) and
# the servers' token are looked for.
vault_tokens=()
[ ! -f "${KLK_VAULT_TOKEN_FILE:-}" ] || vault_tokens=(--token-file "$KLK_VAULT_TOKEN_FILE" --token-file "$KLK_VAULT_ROOT_TOKEN_FILE")
/usr/bin/python3 "$ROOT/tests/keyscan/keyscan.py" --token-file "$KLK_TOKEN_FILE" ${vault_tokens[@]+"${vault_tokens[@]}"} --newer-than "$WORK/.started" \
  --exclude "$KLK_LOCKER_DIR" --exclude "$KLK_KMIP_DIR" --exclude "$KLK_AWS_DIR" --exclude "$KLK_AZURE_DIR" --exclude "$KLK_VAULT_DIR" \
  --exclude "${KLK_VAULT_TOKEN_DIR:-$KLK_VAULT_DIR}" "${others[@]}" "$WORK" /tmp
scan=$?
[ $scan -eq 0 ] || echo "mtr.sh: key material or a token was found on disk (above): the suite fails"
[ $rc -ne 0 ] || rc=$scan
exit $rc
