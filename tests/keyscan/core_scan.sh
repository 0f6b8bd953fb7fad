#!/usr/bin/env bash
# core_scan.sh PIDFILE OUTDIR CANARY [SECRET_FILE...]: dumps the running
# process named by PIDFILE with gdb's gcore (the process keeps running), scans
# the dump for every key the locker holds, every token the dev locker issued
# and each SECRET_FILE's text (keyscan.py --core), then deletes the dump: it
# may hold other secrets. The full report stays in OUTDIR/dump_scan.txt; the
# lines printed here are stable, for mysql-test result files.
# Needs scripts/mtr.sh's environment (KLK_LOCKER_URL, KLK_TOKEN_FILE, ...).
set -uo pipefail
pidfile=$1 out=$2 canary=$3
shift 3
secrets=(--token-file "$KLK_TOKEN_FILE" --tokens-from-state "$KLK_LOCKER_DIR/state.json")
for f in "$@"; do secrets+=(--token-file "$f"); done
here=$(cd "$(dirname "$0")" && pwd)
pid=$(cat "$pidfile") || exit 1
mkdir -p "$out"
core=$out/mariadbd.core.$pid
trap 'rm -f "$core"' EXIT
# maps/smaps first: the scan names the mapping of every finding and checks
# which ones the kernel marks MADV_DONTDUMP ("dd").
cp "/proc/$pid/maps" "$out/maps.txt" && cp "/proc/$pid/smaps" "$out/smaps.txt" || exit 1
start=$(date +%s%N)
if ! gcore -o "$out/mariadbd.core" "$pid" >"$out/gcore.log" 2>&1; then
  echo "dump scan: gcore $pid failed:"; cat "$out/gcore.log"; exit 1
fi
echo "dump scan: gcore took $(( ($(date +%s%N) - start) / 1000000 )) ms, $(stat -c %s "$core") bytes" >"$out/dump_scan.txt"
kill -0 "$pid" && echo "dump scan: the server is still running after gcore"
/usr/bin/python3 "$here/keyscan.py" --core "$core" --maps "$out/maps.txt" --smaps "$out/smaps.txt" \
  "${secrets[@]}" --expect-present "$canary" >>"$out/dump_scan.txt" 2>&1
rc=$?
grep -q "keyscan: [1-9][0-9]* mapping(s) marked MADV_DONTDUMP" "$out/dump_scan.txt" &&
  echo "dump scan: keyring_locker's key buffers are marked MADV_DONTDUMP"
grep -q "holds the --expect-present text" "$out/dump_scan.txt" && echo "dump scan: the dump holds the table data"
sed -n 's/.*\(in memory keyring_locker owns: [0-9]*\).*\(inside MADV_DONTDUMP mappings: [0-9]*\).*/dump scan: findings \1, \2/p' \
  "$out/dump_scan.txt"
sed -n 's/^keyscan: server-owned copy: /dump scan: server-owned copy: /p' "$out/dump_scan.txt"
case $rc in
  0) echo "dump scan: no key bytes in memory keyring_locker owns, no copy of a token or secret" ;;
  *) echo "dump scan: FAILED (exit $rc), see $out/dump_scan.txt:"; cat "$out/dump_scan.txt" ;;
esac
