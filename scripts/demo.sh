#!/usr/bin/env bash
# The product's main job, end to end on this machine: a dev locker over TLS,
# keys created inside it (Transit-wrapped, create-only), rotation, a locker
# restart that keeps every key byte-identical, and a verified audit log.
# (When the MariaDB plugin lands, this also runs mariadbd with it.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh

WORK=$(mktemp -d /tmp/keyring_locker_demo.XXXXXX)
LOCKER_PID=""
cleanup() { [ -n "$LOCKER_PID" ] && kill "$LOCKER_PID" 2>/dev/null && wait "$LOCKER_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
umask 077
ROOT_TOKEN=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24)

start_locker() {  # $1 = port (0 = pick one)
  build/bin/devlocker --listen "127.0.0.1:$1" --tls-dir "$WORK/tls" --root-token "$ROOT_TOKEN" \
    --data "$WORK/locker-state.json" >"$WORK/locker.out" 2>"$WORK/locker.err" &
  LOCKER_PID=$!
  for _ in $(seq 1 100); do
    grep -q "listening on" "$WORK/locker.out" 2>/dev/null && break
    sleep 0.1
  done
  URL=$(sed -n 's/.*listening on \(https:[^ ]*\).*/\1/p' "$WORK/locker.out")
  [ -n "$URL" ] || { echo "devlocker did not start:"; cat "$WORK/locker.err"; exit 1; }
}
stop_locker() { kill "$LOCKER_PID"; wait "$LOCKER_PID" 2>/dev/null || true; LOCKER_PID=""; }

echo "== 1. dev locker (DEV ONLY) over TLS with its own CA"
start_locker 0
PORT=${URL##*:}
echo "   $URL"
printf '%s' "$ROOT_TOKEN" >"$WORK/token"
cat >"$WORK/keyring_locker.json" <<JSON
{
  "locker": {"urls": ["$URL"], "kv_mount": "secret", "transit_mount": "transit", "transit_key": "demo"},
  "keys":   {"scope": "demo/db1"},
  "auth":   {"method": "token", "token_file": "$WORK/token"},
  "tls":    {"ca_file": "$WORK/tls/ca.pem"},
  "audit":  {"path": "$WORK/audit.log"}
}
JSON
CLI=(build/bin/keyring-locker --config "$WORK/keyring_locker.json")

echo "== 2. create keys 1 and 2 (locker-generated, Transit-wrapped), rotate key 1"
"${CLI[@]}" demo
echo "== 3. what the locker stores: envelopes, never key bytes"
"${CLI[@]}" list
FP_BEFORE=$("${CLI[@]}" fingerprint 1 2)

echo "== 4. restart the locker; every key comes back byte-identical"
stop_locker
start_locker "$PORT"
FP_AFTER=$("${CLI[@]}" fingerprint 1 2)
echo "   key 1 v2 fingerprint before: $FP_BEFORE  after: $FP_AFTER"
[ "$FP_BEFORE" = "$FP_AFTER" ] || { echo "FAIL: key changed across a locker restart"; exit 1; }

echo "== 5. a second rotation, then the audit log's hash chain"
"${CLI[@]}" rotate 1
build/bin/keyring-locker audit-verify "$WORK/audit.log"
"${CLI[@]}" health
echo "== demo finished: all steps passed"
