#!/usr/bin/env bash
# Controls the dev locker the suite runs against (started by scripts/mtr.sh).
# Tests call it with --exec to take the locker away and bring it back.
#   locker_ctl.sh start        start it (same port, TLS material and data)
#   locker_ctl.sh stop         stop it (SIGTERM, waits for the exit)
#   locker_ctl.sh fault JSON   add a fault (devlocker fault API)
#   locker_ctl.sh clear        clear every fault
#   locker_ctl.sh seal|unseal
#   locker_ctl.sh tls KIND     restart it with other TLS material on the same
#                              port and data: wronghost (certificate names only
#                              wrong.example), expired (valid yesterday only),
#                              otherca (signed by a CA the server does not
#                              trust); 'tls good' restarts it with the real one
#   locker_ctl.sh token FILE   write a new 1-hour token (policy mtr-keys, not
#                              root: expire_tokens reaches it) to FILE, mode 0600
#   locker_ctl.sh approle ROLE_ID SECRET_ID_FILE
#                              an AppRole (policy mtr-keys, fixed role_id) and
#                              a fresh secret_id written to SECRET_ID_FILE
#   locker_ctl.sh plant SCOPE NAME LENGTH TRANSIT_KEY [DOC_LENGTH [TYPE]]
#                              write version 1 of key NAME: LENGTH bytes wrapped
#                              by TRANSIT_KEY (created if missing) under an
#                              unbound (keyring_locker/1) document that
#                              announces DOC_LENGTH (default 32) bytes of TYPE
#                              (default AES); replaces what is there as KV
#                              version 1, as an operator restoring it would
#   locker_ctl.sh copy SCOPE FROM TO
#                              copy version 1 of key FROM to key TO, renamed:
#                              what someone with KV write access but no
#                              Transit right can do
#   locker_ctl.sh silent start INC | silent stop
#                              a TCP port that accepts connections (the
#                              kernel does) but never answers a byte; its URL
#                              goes to INC as "--let $klk_silent_url= ..."
# Environment (exported by scripts/mtr.sh): KLK_DEVLOCKER_BIN, KLK_LOCKER_DIR,
# KLK_LOCKER_PORT, KLK_LOCKER_CA, KLK_ROOT_TOKEN_FILE.
set -euo pipefail
: "${KLK_DEVLOCKER_BIN:?run the suite through scripts/mtr.sh}"
DIR=$KLK_LOCKER_DIR
PIDFILE=$DIR/devlocker.pid

api() {  # method path [json]
  curl -sS --fail --max-time 10 --cacert "$KLK_LOCKER_CA" -X "$1" \
    -H "X-Vault-Token: $(cat "$KLK_ROOT_TOKEN_FILE")" ${3:+-d "$3"} \
    "https://127.0.0.1:$KLK_LOCKER_PORT$2" >/dev/null
}

# Like api, but prints the body's "data"/"auth" field named by $3 (a dotted path).
api_field() {  # method path json field
  curl -sS --fail --max-time 10 --cacert "$KLK_LOCKER_CA" -X "$1" \
    -H "X-Vault-Token: $(cat "$KLK_ROOT_TOKEN_FILE")" -d "$3" \
    "https://127.0.0.1:$KLK_LOCKER_PORT$2" |
    /usr/bin/python3 -c 'import json,sys
v=json.load(sys.stdin)
for k in sys.argv[1].split("."): v=v[k]
print(v)' "$4"
}

# A secret goes to its file without ever being an argument (ps would show it).
write_secret() {  # file
  (umask 077; cat >"$1")
  chmod 600 "$1"
}

# What the server's non-root credentials may do: exactly its keys' paths.
# The Transit key exists first, as docs/locker-setup.md sets it up: the
# policy has no "create" on transit/keys (Vault tells create from update).
ensure_policy() {
  api POST /v1/transit/keys/mtr '{"type":"aes256-gcm96"}'
  api PUT /v1/sys/policies/acl/mtr-keys '{"policy":"path \"secret/*\" { capabilities = [\"create\", \"read\", \"update\", \"list\"] }\npath \"transit/*\" { capabilities = [\"read\", \"update\"] }"}'
}

# Server certificate for 127.0.0.1 signed by DIR's CA: san, then openssl ca
# date options (openssl 3.0's x509 cannot set a notAfter in the past).
sign_server_cert() {  # dir san date-options...
  local d=$1 san=$2
  shift 2
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=devlocker \
    -keyout "$d/server-key.pem" -out "$d/server.csr" 2>/dev/null
  : >"$d/index.txt"
  cat >"$d/ca.cnf" <<CNF
[ca]
default_ca = d
[d]
database = $d/index.txt
new_certs_dir = $d
serial = $d/serial
default_md = sha256
policy = p
unique_subject = no
[p]
commonName = supplied
[ext]
subjectAltName = $san
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
CNF
  openssl ca -batch -notext -create_serial -config "$d/ca.cnf" -cert "$d/ca.pem" -keyfile "$d/ca-key.pem" \
    -extensions ext -in "$d/server.csr" -out "$d/server.pem" "$@" 2>"$d/openssl.err" ||
    { cat "$d/openssl.err" >&2; exit 1; }
}

start_locker() {  # tls-dir
  [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && exit 0
  : >"$DIR/devlocker.out"
  "$KLK_DEVLOCKER_BIN" --listen "127.0.0.1:${KLK_LOCKER_PORT:-0}" --tls-dir "$1" \
      --root-token "$(cat "$KLK_ROOT_TOKEN_FILE")" --data "$DIR/state.json" \
      >"$DIR/devlocker.out" 2>>"$DIR/devlocker.err" </dev/null &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 100); do
    grep -q "listening on" "$DIR/devlocker.out" && exit 0
    kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break
    sleep 0.1
  done
  echo "locker_ctl: devlocker did not start:" >&2
  cat "$DIR/devlocker.err" >&2
  exit 1
}

stop_locker() {
  [ -f "$PIDFILE" ] || return 0
  local pid
  pid=$(cat "$PIDFILE")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$PIDFILE"
}

case "${1:-}" in
  start) start_locker "$DIR/tls" ;;
  stop) stop_locker ;;
  fault) api POST /v1/sys/devlocker/faults "$2" ;;
  clear) api DELETE /v1/sys/devlocker/faults ;;
  seal) api PUT /v1/sys/seal '{}' ;;
  unseal) api PUT /v1/sys/unseal '{"key":"dev"}' ;;
  tls)
    kind=${2:?tls wronghost|expired|otherca|good}
    stop_locker
    [ "$kind" = good ] && start_locker "$DIR/tls"
    alt=$DIR/tls-$kind
    rm -rf "$alt"
    mkdir -p "$alt"
    case "$kind" in
      wronghost) cp "$DIR"/tls/ca*.pem "$alt"/ && sign_server_cert "$alt" DNS:wrong.example -days 1 ;;
      expired) cp "$DIR"/tls/ca*.pem "$alt"/ &&
        sign_server_cert "$alt" IP:127.0.0.1 -startdate 20200101000000Z -enddate 20200102000000Z ;;
      otherca) ;;  # the devlocker makes a CA and a certificate of its own in an empty dir
      *) echo "locker_ctl: tls takes wronghost, expired, otherca or good" >&2; exit 64 ;;
    esac
    start_locker "$alt"
    ;;
  token)
    ensure_policy
    api_field POST /v1/auth/token/create '{"policies":["mtr-keys"],"ttl":"1h"}' auth.client_token |
      write_secret "${2:?token FILE}"
    ;;
  approle)
    ensure_policy
    api POST "/v1/auth/approle/role/mtr-${2:?approle ROLE_ID FILE}" '{"token_ttl":600,"token_policies":["mtr-keys"]}'
    api POST "/v1/auth/approle/role/mtr-$2/role-id" "{\"role_id\":\"$2\"}"
    api_field POST "/v1/auth/approle/role/mtr-$2/secret-id" '{}' data.secret_id | write_secret "${3:?secret_id file}"
    ;;
  plant)
    scope=${2:?plant SCOPE NAME LENGTH TRANSIT_KEY} name=${3:?} length=${4:?} tkey=${5:?}
    doc_length=${6:-32} type=${7:-AES}
    api POST "/v1/transit/keys/$tkey" '{"type":"aes256-gcm96"}'
    plain=$(head -c "$length" /dev/urandom | base64 -w0)
    wrapped=$(api_field POST "/v1/transit/encrypt/$tkey" "{\"plaintext\":\"$plain\"}" data.ciphertext)
    # Deleting the metadata first makes the new document KV version 1 again
    # (keyring_locker refuses a later KV version as an overwrite).
    api DELETE "/v1/secret/metadata/keyring_locker/$scope/keys/$name/1" || true
    api POST "/v1/secret/data/keyring_locker/$scope/keys/$name/1" "{\"data\":{\"format\":\"keyring_locker/1\",
      \"name\":\"$name\",\"version\":1,\"type\":\"$type\",\"length\":$doc_length,\"wrapped\":\"$wrapped\",
      \"created\":\"2020-01-01T00:00:00Z\",\"creator\":\"locker_ctl\",\"origin\":\"local-random\"}}"
    ;;
  copy)
    scope=${2:?copy SCOPE FROM TO} from=${3:?} to=${4:?}
    doc=$(curl -sS --fail --max-time 10 --cacert "$KLK_LOCKER_CA" -H "X-Vault-Token: $(cat "$KLK_ROOT_TOKEN_FILE")" \
      "https://127.0.0.1:$KLK_LOCKER_PORT/v1/secret/data/keyring_locker/$scope/keys/$from/1" |
      /usr/bin/python3 -c 'import json,sys
d=json.load(sys.stdin)["data"]["data"]
d["name"]=sys.argv[1]
print(json.dumps({"data": d}))' "$to")
    api POST "/v1/secret/data/keyring_locker/$scope/keys/$to/1" "$doc"
    ;;
  silent)
    if [ "${2:-}" = stop ]; then
      [ -f "$DIR/silent.pid" ] && kill "$(cat "$DIR/silent.pid")" 2>/dev/null
      rm -f "$DIR/silent.pid" "$DIR/silent.port"
      exit 0
    fi
    : >"$DIR/silent.port"
    # listen() without accept(): connections complete, the TLS hello is never
    # answered. It exits by itself after 10 minutes if nobody stops it.
    /usr/bin/python3 -c 'import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
print(s.getsockname()[1], flush=True)
time.sleep(600)' >"$DIR/silent.port" 2>/dev/null </dev/null &
    echo $! >"$DIR/silent.pid"
    for _ in $(seq 1 50); do [ -s "$DIR/silent.port" ] && break; sleep 0.1; done
    echo "--let \$klk_silent_url= https://127.0.0.1:$(cat "$DIR/silent.port")" >"${3:?silent start INC}"
    ;;
  *) echo "usage: $0 start|stop|fault JSON|clear|seal|unseal|tls KIND|token FILE|approle ROLE_ID FILE|plant SCOPE NAME LENGTH TRANSIT_KEY|silent start INC|silent stop" >&2; exit 64 ;;
esac
