#!/bin/sh
# One PyKMIP server shared by the KMIP test programs that neither stop,
# pause nor restart it (ctest fixture "pykmip_shared", tests/CMakeLists.txt).
# Starting one costs ~2 s and every gtest case is its own process: sharing
# one keeps the KMIP contract and store cases to a fraction of a second each.
#
#   shared_server.sh start DIR   fresh server in DIR (ended when ctest exits)
#   shared_server.sh stop DIR
#
# Without PyKMIP, start succeeds and writes nothing: the tests then skip
# (or fail when KLK_REQUIRE_PYKMIP is set, which also fails start here).
set -u
here=$(dirname "$0")
launcher="$here/pykmip_server.py"
cmd=${1:?usage: shared_server.sh start|stop DIR}
dir=${2:?usage: shared_server.sh start|stop DIR}
case "$cmd" in
  start)
    if ! /usr/bin/python3 "$launcher" which >/dev/null 2>&1; then
      if [ -n "${KLK_REQUIRE_PYKMIP:-}" ] && [ "${KLK_REQUIRE_PYKMIP}" != 0 ]; then
        echo "shared_server.sh: PyKMIP (pykmip-server) is not installed: run scripts/deps.sh" >&2
        exit 1
      fi
      echo "shared_server.sh: PyKMIP is not installed; the KMIP tests will skip"
      rm -rf "$dir"
      exit 0
    fi
    [ -f "$dir/server.json" ] && /usr/bin/python3 "$launcher" stop --dir "$dir" >/dev/null 2>&1
    rm -rf "$dir"
    mkdir -p "$dir"
    # The watchdog ends the server when ctest (our parent) exits.
    exec /usr/bin/python3 "$launcher" start --dir "$dir" --owner-pid "$PPID"
    ;;
  stop)
    status=0
    if [ -f "$dir/server.json" ]; then
      /usr/bin/python3 "$launcher" stop --dir "$dir" || status=$?
    fi
    rm -rf "$dir"
    exit $status
    ;;
  *)
    echo "usage: shared_server.sh start|stop DIR" >&2
    exit 2
    ;;
esac
