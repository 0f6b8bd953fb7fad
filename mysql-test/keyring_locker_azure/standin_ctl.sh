#!/usr/bin/env bash
# Starts, stops, pauses and resumes the keyring_locker_azure suite's Key
# Vault stand-in (tests/azure/azure_standin.py), for scripts/mtr.sh
# (launch, stop) and the tests (through service_ctl.sh azure):
#   standin_ctl.sh launch   start it on free ports, wait for DIR/ports.json
#   standin_ctl.sh stop     SIGTERM (SIGKILL after 5 s); waits
#   standin_ctl.sh start    start it again on the ports it had
#   standin_ctl.sh pause    SIGSTOP: connections open, nothing is answered
#   standin_ctl.sh resume   SIGCONT
# Its keys, certificates and ports stay in KLK_AZURE_DIR across restarts.
# It exits by itself once KLK_AZURE_OWNER_PID (mtr.sh) is gone.
set -euo pipefail
dir=${KLK_AZURE_DIR:?run the suite through scripts/mtr.sh}
launcher=${KLK_AZURE_LAUNCHER:?run the suite through scripts/mtr.sh}
owner=${KLK_AZURE_OWNER_PID:?run the suite through scripts/mtr.sh}
field() { /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$dir/$1" "$2"; }

run() {  # TLS_PORT IMDS_PORT
  rm -f "$dir/ports.json"
  # Detached from the caller's output: mysqltest's --exec waits for EOF.
  /usr/bin/python3 "$launcher" --state "$dir" --owner-pid "$owner" --port "$1" --imds-port "$2" \
    --key keyring-locker-mtr --key-size 3072 --token-lifetime 3600 </dev/null >>"$dir/standin.log" 2>&1 &
  # Key generation takes a moment; bounded at 30 s.
  for _ in $(seq 1 300); do [ -f "$dir/ports.json" ] && break; sleep 0.1; done
  [ -f "$dir/ports.json" ] || { echo "standin_ctl.sh: the Azure stand-in did not start: $dir/standin.log" >&2; exit 1; }
  cp "$dir/ports.json" "$dir/ports.last.json"
}

pid() { [ -f "$dir/ports.json" ] && field ports.json pid; }

case "${1:-}" in
  launch) mkdir -p "$dir"; run 0 0 ;;
  start) [ ! -f "$dir/ports.json" ] || { echo "standin_ctl.sh: the stand-in runs already" >&2; exit 1; }
         run "$(field ports.last.json tls)" "$(field ports.last.json imds)" ;;
  stop) p=$(pid) || exit 0
        kill -CONT "$p" 2>/dev/null || true
        kill "$p" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
        if kill -0 "$p" 2>/dev/null; then kill -KILL "$p"; sleep 0.2; fi
        rm -f "$dir/ports.json" ;;
  pause) kill -STOP "$(pid)" ;;
  resume) kill -CONT "$(pid)" ;;
  *) echo "usage: $0 launch|stop|start|pause|resume" >&2; exit 64 ;;
esac
