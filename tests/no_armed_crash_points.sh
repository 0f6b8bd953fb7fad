#!/bin/sh
# no_armed_crash_points.sh ARMED_SO -- SHIPPED_SO...: the shipped plugins hold
# no armed crash-point code (its strings name the arming variable), and the
# crashtest variant does (so this check can fail).
set -u
armed=$1; shift; [ "$1" = "--" ] && shift
needle=KLK_CRASH_POINT_FILE
grep -q "$needle" "$armed" || { echo "FAIL: $armed lacks the armed crash points: this check proves nothing"; exit 1; }
for f in "$@"; do
  [ -s "$f" ] || { echo "FAIL: $f missing or empty"; exit 1; }
  if grep -q "$needle" "$f"; then echo "FAIL: $f (a shipped plugin) contains armed crash points"; exit 1; fi
  echo "ok: $f has no crash points"
done
