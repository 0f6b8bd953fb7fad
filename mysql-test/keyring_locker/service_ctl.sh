#!/usr/bin/env bash
# Takes the key service of the KMIP, the AWS or the Azure suite away and
# brings it back (scripts/mtr.sh starts them, through their launchers, and
# exports KLK_KMIP_CTL="service_ctl.sh kmip", KLK_AWS_CTL="service_ctl.sh
# aws", KLK_AZURE_CTL="service_ctl.sh azure").
# Tests call it with --exec:
#   service_ctl.sh KIND stop     unreachable: PyKMIP stopped (SIGINT, then
#                                SIGTERM/SIGKILL; waits); moto's gate closed
#                                (connections refused, open ones cut; moto
#                                keeps its in-memory keys); the Azure stand-in
#                                stopped (its keys and certificates stay in
#                                its folder)
#   service_ctl.sh KIND start    back: PyKMIP restarted (same port, TLS files,
#                                database); moto's gate opened on its port;
#                                the Azure stand-in restarted on its ports
#                                (azure launch starts it the first time)
#   service_ctl.sh KIND pause    SIGSTOP: connections open, nothing is answered
#   service_ctl.sh KIND resume   SIGCONT
# Environment: KLK_KMIP_DIR and KLK_KMIP_LAUNCHER, KLK_AWS_DIR and
# KLK_AWS_LAUNCHER, or KLK_AZURE_DIR, KLK_AZURE_LAUNCHER and
# KLK_AZURE_OWNER_PID (the stand-in exits once that process is gone).
set -euo pipefail
kind=${1:-}
verb=${2:-}
case "$kind" in
  kmip) dir=${KLK_KMIP_DIR:?run the suite through scripts/mtr.sh} launcher=${KLK_KMIP_LAUNCHER:?run the suite through scripts/mtr.sh}
        down=(stop) up=(restart) ;;
  aws) dir=${KLK_AWS_DIR:?run the suite through scripts/mtr.sh} launcher=${KLK_AWS_LAUNCHER:?run the suite through scripts/mtr.sh}
       down=(down) up=(up) ;;
  azure) dir=${KLK_AZURE_DIR:?run the suite through scripts/mtr.sh} launcher=${KLK_AZURE_LAUNCHER:?run the suite through scripts/mtr.sh}
         exec "$(dirname "$0")/../keyring_locker_azure/standin_ctl.sh" "$verb" ;;
  *) echo "usage: $0 kmip|aws|azure stop|start|pause|resume" >&2; exit 64 ;;
esac
case "$verb" in
  stop) /usr/bin/python3 "$launcher" "${down[@]}" --dir "$dir" ;;
  start) /usr/bin/python3 "$launcher" "${up[@]}" --dir "$dir" >/dev/null ;;
  pause|resume) /usr/bin/python3 "$launcher" "$verb" --dir "$dir" ;;
  *) echo "usage: $0 kmip|aws|azure stop|start|pause|resume" >&2; exit 64 ;;
esac
