#!/usr/bin/env bash
# Runs a set-up sequence of docs/locker-setup.md as written, then proves that
# what it made works: the keyring-locker CLI creates, rotates and reads keys
# of scope prod/db1 with the AppRole credentials and with the periodic token,
# and is refused another scope (the policy is least privilege, not open).
#
#   tests/docs/locker_setup_sequence.sh curl|cli SOURCE_DIR BIN_DIR
#
# The blocks are the page's fenced blocks tagged id=policy (saved as
# keyring-db1.hcl), id=setup-<curl|cli> and id=setup-config, run with
# bash -eo pipefail against a fresh dev locker (BIN_DIR/devlocker), with
# VAULT_ADDR / VAULT_TOKEN / VAULT_CACERT set and KLK_DIR, KLK_CONFIG,
# DB_USER pointing at a temporary folder and the current user.
# cli: needs a vault binary ($KLK_VAULT_BIN, else the one scripts/real_vault.sh
# builds); without one the test says so and exits 77 (ctest: skipped).
# KLK_SETUP_LOCKER=vault: the same against a real Vault dev server started
# from that binary (by hand: not in ctest).
set -euo pipefail
MODE=${1:?usage: $0 curl|cli SOURCE_DIR BIN_DIR}
SRC=$(cd "${2:?source dir}" && pwd)
BIN=$(cd "${3:?bin dir}" && pwd)
DOC=$SRC/docs/locker-setup.md
case "$MODE" in curl|cli) ;; *) echo "mode must be curl or cli, got '$MODE'"; exit 2 ;; esac

fail() { echo "FAIL: $*"; exit 1; }
for tool in curl jq openssl; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (apt-get install $tool)"
done

VAULT_DIR=""
if [ "$MODE" = cli ]; then
  VAULT_BIN=${KLK_VAULT_BIN:-${KEYRING_LOCKER_CACHE:-$HOME/.cache/keyring_locker}/vault-1.14.8/bin/vault}
  if [ ! -x "$VAULT_BIN" ]; then
    echo "SKIPPED: the vault CLI sequence needs a vault binary; none at $VAULT_BIN"
    echo "  (scripts/real_vault.sh builds one, or set KLK_VAULT_BIN). The curl sequence runs regardless."
    exit 77
  fi
  VAULT_DIR=$(dirname "$VAULT_BIN")
fi

WORK=$(mktemp -d /tmp/klk_locker_setup.XXXXXX)
LOCKER_PID=""
cleanup() {
  [ -n "$LOCKER_PID" ] && kill "$LOCKER_PID" 2>/dev/null && wait "$LOCKER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

# block ID: the body of the page's fenced block tagged id=ID (exactly one).
block() {
  local n
  n=$(grep -c "^\`\`\`[a-z]* id=$1\$" "$DOC" || true)
  [ "$n" = 1 ] || fail "$DOC has $n blocks tagged id=$1, expected 1"
  awk -v id="$1" '$0 ~ "^```[a-z]* id=" id "$" {on=1; next} on && /^```$/ {exit} on {print}' "$DOC"
}
block policy >"$WORK/keyring-db1.hcl"
block "setup-$MODE" >"$WORK/setup.sh"
block setup-config >"$WORK/config.sh"
for f in keyring-db1.hcl setup.sh config.sh; do [ -s "$WORK/$f" ] || fail "block for $f is empty"; done

ROOT_TOKEN=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
if [ "${KLK_SETUP_LOCKER:-devlocker}" = vault ]; then
  # By hand, against the real thing: a Vault dev server (in memory, TLS with
  # its own CA), from the same binary as the CLI (needs one; see above).
  REAL_VAULT=${KLK_VAULT_BIN:-${KEYRING_LOCKER_CACHE:-$HOME/.cache/keyring_locker}/vault-1.14.8/bin/vault}
  [ -x "$REAL_VAULT" ] || fail "KLK_SETUP_LOCKER=vault but no vault binary at $REAL_VAULT"
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$WORK/tls"
  "$REAL_VAULT" server -dev -dev-tls -dev-tls-cert-dir="$WORK/tls" -dev-root-token-id="$ROOT_TOKEN" \
    -dev-listen-address="127.0.0.1:$PORT" >"$WORK/locker.out" 2>"$WORK/locker.err" &
  LOCKER_PID=$!
  URL=https://127.0.0.1:$PORT
  cp_ca() { [ -s "$WORK/tls/vault-ca.pem" ] && cp "$WORK/tls/vault-ca.pem" "$WORK/tls/ca.pem"; }
  for _ in $(seq 1 300); do
    cp_ca && curl -sf --cacert "$WORK/tls/ca.pem" "$URL/v1/sys/health" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -sf --cacert "$WORK/tls/ca.pem" "$URL/v1/sys/health" >/dev/null || { cat "$WORK/locker.out"; fail "vault did not start"; }
  echo "== a real Vault dev server: $("$REAL_VAULT" version)"
else
  "$BIN/devlocker" --listen 127.0.0.1:0 --tls-dir "$WORK/tls" --root-token "$ROOT_TOKEN" \
    >"$WORK/locker.out" 2>"$WORK/locker.err" &
  LOCKER_PID=$!
  for _ in $(seq 1 100); do grep -q "listening on" "$WORK/locker.out" 2>/dev/null && break; sleep 0.1; done
  URL=$(sed -n 's/.*listening on \(https:[^ ]*\).*/\1/p' "$WORK/locker.out")
  [ -n "$URL" ] || { cat "$WORK/locker.err"; fail "devlocker did not start"; }
fi

export VAULT_ADDR=$URL VAULT_TOKEN=$ROOT_TOKEN VAULT_CACERT=$WORK/tls/ca.pem
export KLK_DIR=$WORK/klk KLK_CONFIG=$WORK/keyring_locker.json DB_USER
DB_USER=$(id -un)
[ -n "$VAULT_DIR" ] && export PATH="$VAULT_DIR:$PATH"

echo "== the $MODE sequence of docs/locker-setup.md against ${KLK_SETUP_LOCKER:-devlocker} at $URL"
(cd "$WORK" && bash -eo pipefail ${KLK_TRACE:+-x} setup.sh) || fail "the setup-$MODE block failed (output above)"
echo "== again: a second run must skip what exists and succeed"
(cd "$WORK" && bash -eo pipefail setup.sh) >"$WORK/second.out" 2>&1 || { cat "$WORK/second.out"; fail "second run failed"; }
(cd "$WORK" && bash -eo pipefail config.sh) || fail "the setup-config block failed"

for f in role-id secret-id token; do
  [ -s "$KLK_DIR/$f" ] || fail "$KLK_DIR/$f is missing or empty"
  mode=$(stat -c %a "$KLK_DIR/$f"); owner=$(stat -c %U "$KLK_DIR/$f")
  [ "$mode" = 400 ] || fail "$f has mode $mode, the page promises 0400"
  [ "$owner" = "$DB_USER" ] || fail "$f is owned by $owner, not $DB_USER"
  if grep -q '[[:space:]]' "$KLK_DIR/$f"; then fail "$f holds white space (a newline or an error text?)"; fi
done
[ "$(stat -c %a "$KLK_DIR")" = 700 ] || fail "$KLK_DIR is not mode 0700"

# The policy the locker holds is the page's block, byte for byte.
curl -sS --fail-with-body --cacert "$VAULT_CACERT" -H "X-Vault-Token: $ROOT_TOKEN" \
  "$URL/v1/sys/policies/acl/keyring-db1" | jq -j .data.policy >"$WORK/policy.held"
cmp -s "$WORK/policy.held" "$WORK/keyring-db1.hcl" || fail "the locker's keyring-db1 policy differs from the page's"

CLI="$BIN/keyring-locker"
echo "== keyring-locker with the AppRole credentials (kv_version auto: the mount lookup)"
"$CLI" --config "$KLK_CONFIG" health
"$CLI" --config "$KLK_CONFIG" ensure 1
"$CLI" --config "$KLK_CONFIG" ensure 2
"$CLI" --config "$KLK_CONFIG" rotate 1
fp=$("$CLI" --config "$KLK_CONFIG" fingerprint 1 2)
[ -n "$fp" ] || fail "no fingerprint of key 1 version 2"
echo "   key 1 v2: $fp"

echo "== keyring-locker with the periodic token"
jq --arg t "$KLK_DIR/token" '.auth = {method: "token", token_file: $t}' "$KLK_CONFIG" >"$WORK/token.json"
"$CLI" --config "$WORK/token.json" ensure 7
[ "$("$CLI" --config "$WORK/token.json" fingerprint 1 2)" = "$fp" ] || fail "the token sees another key 1 v2"
"$CLI" --config "$WORK/token.json" list | tee "$WORK/list.out"
listed=$(awk 'NR > 1 {print $1 "v" $2}' "$WORK/list.out" | sort | tr '\n' ' ')
[ "$listed" = "1v1 1v2 2v1 7v1 " ] || fail "list shows '$listed', expected 1v1 1v2 2v1 7v1"
ttl=$(curl -sS --cacert "$VAULT_CACERT" -H "X-Vault-Token: $(cat "$KLK_DIR/token")" \
  "$URL/v1/auth/token/lookup-self" | jq -r '.data.period')
[ "$ttl" = 86400 ] || fail "the token's period is '$ttl', expected 86400 (24h)"

echo "== least privilege: scope prod/db2 is refused to the same credentials"
jq '.keys.scope = "prod/db2"' "$KLK_CONFIG" >"$WORK/db2.json"
if "$CLI" --config "$WORK/db2.json" ensure 1 >"$WORK/db2.out" 2>&1; then
  cat "$WORK/db2.out"; fail "the policy let keyring-db1 create a key in scope prod/db2"
fi
grep -qi "permission" "$WORK/db2.out" || { cat "$WORK/db2.out"; fail "refused, but not for lack of permission"; }
echo "   refused: $(head -c 200 "$WORK/db2.out")"
echo "== PASS: the $MODE sequence and the policy of docs/locker-setup.md work as written"
