#!/usr/bin/env bash
# The product's main job, end to end on this machine: a dev locker over TLS,
# keys created inside it (Transit-wrapped, create-only), rotation, a locker
# restart that keeps every key byte-identical, and a verified audit log.
# Then the same inside a real mariadbd with the plugin (scripts/mariadb_demo.sh).
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
printf '%s' "$ROOT_TOKEN" >"$WORK/root-token"
api() {  # METHOD PATH [JSON] -- as the locker administrator (root token)
  curl -sS --fail-with-body --cacert "$WORK/tls/ca.pem" -H "X-Vault-Token: $ROOT_TOKEN" \
    -X "$1" "$URL/v1/$2" ${3:+-d "$3"}
}
json_get() { /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][sys.argv[1]])' "$1"; }

echo "== 2. locker administrator: Transit KEK, a least-privilege policy, an AppRole for db1"
api POST transit/keys/demo '{"type":"aes256-gcm96"}' >/dev/null
POLICY='path "secret/data/keyring_locker/demo/db1/*" { capabilities = ["create", "read"] }
path "secret/metadata/keyring_locker/demo/db1/*" { capabilities = ["list"] }
path "transit/encrypt/demo" { capabilities = ["update"] }
path "transit/decrypt/demo" { capabilities = ["update"] }
path "transit/datakey/plaintext/demo" { capabilities = ["update"] }
path "transit/keys/demo" { capabilities = ["read"] }'
api PUT sys/policies/acl/keyring-db1 "$(/usr/bin/python3 -c 'import json,sys; print(json.dumps({"policy": sys.argv[1]}))' "$POLICY")" >/dev/null
api POST auth/approle/role/db1 '{"token_policies":["keyring-db1"],"token_ttl":"1h","token_max_ttl":"24h"}' >/dev/null
ROLE_ID=$(api GET auth/approle/role/db1/role-id | json_get role_id)
api POST auth/approle/role/db1/secret-id '{}' | json_get secret_id >"$WORK/secret_id"
chmod 600 "$WORK/secret_id"
echo "   policy keyring-db1: create+read key documents of scope demo/db1, wrap/unwrap with transit/demo"

cat >"$WORK/keyring_locker.json" <<JSON
{
  "locker": {"urls": ["$URL"], "kv_mount": "secret", "kv_version": 2,
             "transit_mount": "transit", "transit_key": "demo"},
  "keys":   {"scope": "demo/db1"},
  "auth":   {"method": "approle", "approle": {"role_id": "$ROLE_ID", "secret_id_file": "$WORK/secret_id"}},
  "tls":    {"ca_file": "$WORK/tls/ca.pem"},
  "audit":  {"path": "$WORK/audit.log"}
}
JSON
CLI=(build/bin/keyring-locker --config "$WORK/keyring_locker.json")

echo "== 3. create keys 1 and 2 (locker-generated, Transit-wrapped), rotate key 1"
"${CLI[@]}" demo
echo "== 4. what the locker stores: envelopes, never key bytes"
"${CLI[@]}" list
FP_BEFORE=$("${CLI[@]}" fingerprint 1 2)

echo "== 5. restart the locker; every key comes back byte-identical"
stop_locker
start_locker "$PORT"
FP_AFTER=$("${CLI[@]}" fingerprint 1 2)
echo "   key 1 v2 fingerprint before: $FP_BEFORE  after: $FP_AFTER"
[ "$FP_BEFORE" = "$FP_AFTER" ] || { echo "FAIL: key changed across a locker restart"; exit 1; }

echo "== 6. a second rotation, then the audit log's hash chain"
"${CLI[@]}" rotate 1
build/bin/keyring-locker audit-verify "$WORK/audit.log"
"${CLI[@]}" health
echo "== 7. separation of duties: the KV document holds only Transit ciphertext"
api GET secret/data/keyring_locker/demo/db1/keys/1/1 | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]["data"]; print("   wrapped:", d["wrapped"][:32] + "...", "origin:", d["origin"])'
echo "== core demo finished: all steps passed"
cleanup
trap - EXIT
echo
echo "== keyring_locker inside mariadbd"
SKIP_BUILD=1 exec scripts/mariadb_demo.sh
