#!/usr/bin/env bash
# Controls the dev locker the suite runs against (started by scripts/mtr.sh).
# Tests call it with --exec to take the locker away and bring it back.
#   locker_ctl.sh start        start it (same port, TLS material and data)
#   locker_ctl.sh stop         stop it (SIGTERM, waits for the exit)
#   locker_ctl.sh fault JSON   add a fault (devlocker fault API)
#   locker_ctl.sh clear        clear every fault
#   locker_ctl.sh seal|unseal
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

case "${1:-}" in
  start)
    [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && exit 0
    : >"$DIR/devlocker.out"
    "$KLK_DEVLOCKER_BIN" --listen "127.0.0.1:${KLK_LOCKER_PORT:-0}" --tls-dir "$DIR/tls" \
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
    ;;
  stop)
    [ -f "$PIDFILE" ] || exit 0
    pid=$(cat "$PIDFILE")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$PIDFILE"
    ;;
  fault) api POST /v1/sys/devlocker/faults "$2" ;;
  clear) api DELETE /v1/sys/devlocker/faults ;;
  seal) api PUT /v1/sys/seal '{}' ;;
  unseal) api PUT /v1/sys/unseal '{"key":"dev"}' ;;
  *) echo "usage: $0 start|stop|fault JSON|clear|seal|unseal" >&2; exit 64 ;;
esac
