#!/usr/bin/env bash
# Takes the key service of the KMIP or the AWS suite away and brings it back
# (scripts/mtr.sh starts both, through their launchers, and exports
# KLK_KMIP_CTL="service_ctl.sh kmip", KLK_AWS_CTL="service_ctl.sh aws").
# Tests call it with --exec:
#   service_ctl.sh KIND stop     unreachable: PyKMIP stopped (SIGINT, then
#                                SIGTERM/SIGKILL; waits); moto's gate closed
#                                (connections refused, open ones cut; moto
#                                keeps its in-memory keys)
#   service_ctl.sh KIND start    back: PyKMIP restarted (same port, TLS files,
#                                database); moto's gate opened on its port
#   service_ctl.sh KIND pause    SIGSTOP: connections open, nothing is answered
#   service_ctl.sh KIND resume   SIGCONT
# Environment: KLK_KMIP_DIR and KLK_KMIP_LAUNCHER, or KLK_AWS_DIR and
# KLK_AWS_LAUNCHER.
set -euo pipefail
kind=${1:-}
verb=${2:-}
case "$kind" in
  kmip) dir=${KLK_KMIP_DIR:?run the suite through scripts/mtr.sh} launcher=${KLK_KMIP_LAUNCHER:?run the suite through scripts/mtr.sh}
        down=(stop) up=(restart) ;;
  aws) dir=${KLK_AWS_DIR:?run the suite through scripts/mtr.sh} launcher=${KLK_AWS_LAUNCHER:?run the suite through scripts/mtr.sh}
       down=(down) up=(up) ;;
  *) echo "usage: $0 kmip|aws stop|start|pause|resume" >&2; exit 64 ;;
esac
case "$verb" in
  stop) /usr/bin/python3 "$launcher" "${down[@]}" --dir "$dir" ;;
  start) /usr/bin/python3 "$launcher" "${up[@]}" --dir "$dir" >/dev/null ;;
  pause|resume) /usr/bin/python3 "$launcher" "$verb" --dir "$dir" ;;
  *) echo "usage: $0 kmip|aws stop|start|pause|resume" >&2; exit 64 ;;
esac
