#!/usr/bin/env bash
# Controls the PyKMIP server the KMIP suite runs against (scripts/mtr.sh
# starts it through tests/kmip/pykmip_server.py). Tests call it with --exec
# to take the KMIP server away and bring it back:
#   kmip_ctl.sh stop     stop it (SIGINT, then SIGTERM/SIGKILL; waits)
#   kmip_ctl.sh start    start it again: same port, TLS files and database
#   kmip_ctl.sh pause    SIGSTOP: connections open, nothing is answered
#   kmip_ctl.sh resume   SIGCONT
# Environment (exported by scripts/mtr.sh): KLK_KMIP_DIR, KLK_KMIP_LAUNCHER.
set -euo pipefail
: "${KLK_KMIP_DIR:?run the suite through scripts/mtr.sh}"
launcher=(/usr/bin/python3 "${KLK_KMIP_LAUNCHER:?run the suite through scripts/mtr.sh}")
case "${1:-}" in
  stop) "${launcher[@]}" stop --dir "$KLK_KMIP_DIR" ;;
  start) "${launcher[@]}" restart --dir "$KLK_KMIP_DIR" >/dev/null ;;  # restart keeps the port
  pause|resume) "${launcher[@]}" "$1" --dir "$KLK_KMIP_DIR" ;;
  *) echo "usage: $0 stop|start|pause|resume" >&2; exit 64 ;;
esac
