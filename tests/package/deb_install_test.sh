#!/usr/bin/env bash
# The Debian package, installed and used the way a DBA would, on this
# machine's own MariaDB (Debian's mariadb-server and its service script):
#   1. build it (cmake --build BUILD --target package) and lint it (lintian:
#      no error or warning; info tags shown);
#   2. apt-get install -y ./keyring-locker_*.deb (dependencies from apt);
#      every shipped ELF file stripped, its debug symbols in the -dbgsym
#      .ddeb; the MySQL plugin and component in /usr/lib/keyring-locker/mysql
#      with the symbols mysqld looks for, and (when the build has the MySQL
#      host harness) loaded from there by the harness as mysqld would;
#   3. a dev locker over TLS on 127.0.0.1, set up with the blocks of
#      docs/locker-setup.md as written (policy, curl sequence, config file),
#      the server's credential a token file owned by mysql, mode 0400, in a
#      0700 folder; `keyring-locker ... health` as mysql, as the page says;
#   4. the package's snippet uncommented (docs/mariadb.md, "Configure"), the
#      error log set up as docs/mariadb.md says for the SysV script;
#   5. service mariadb start, an ENCRYPTED=YES table, service mariadb
#      restart, the row read back, its plaintext absent from the .ibd file,
#      service mariadb stop;
#   6. apt-get purge -y keyring-locker: every file the package installed is
#      gone (/usr/lib/keyring-locker included), and no file left under
#      /etc/mysql, /usr/lib/mysql/plugin,
#      /var/lib/mysql or /var/log/mysql holds key bytes or a token
#      (tests/keyscan), except the DBA's own credential folder.
# The machine is left as it was found: /var/lib/mysql and /etc/mysql are
# saved first and put back on exit (failure included), the service is
# started again if it was running, a /var/log/mysql made here is removed.
# Should a run be killed before that, the next run restores the saved state
# first (it stays in /var/lib/keyring-locker-deb-test.saved).
# Only the system service is touched, and only through its script: other
# mariadbd processes (MTR instances) are never signalled.
#
#   tests/package/deb_install_test.sh [BUILD_DIR]     (as root; default build/)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
WAIT=60  # seconds, for every wait below
SAVE=/var/lib/keyring-locker-deb-test.saved
KLK_DIR=/etc/mysql/keyring_locker
KLK_CONFIG=/etc/mysql/keyring_locker.json
SNIPPET=/etc/mysql/mariadb.conf.d/99-keyring_locker.cnf
MYSQL_DIR=/usr/lib/keyring-locker/mysql  # the MySQL flavours (docs/mysql.md, "Install from the Debian package")
ERROR_LOG=/var/log/mysql/error.log
DB=(mariadb --defaults-file=/etc/mysql/debian.cnf -N -B)
STEP="start"
START=$(date +%s)

step() { STEP=$1; echo "== $1   [$(( $(date +%s) - START )) s]"; }
fail() {
  echo "deb_install_test: FAIL in step '$STEP': $*" >&2
  if [ -s "$ERROR_LOG" ]; then
    echo "--- last lines of $ERROR_LOG:" >&2
    tail -n 30 "$ERROR_LOG" >&2
  fi
  exit 1
}
[ "$(id -u)" = 0 ] || fail "run as root: the test installs a package and drives the system's MariaDB"
for tool in apt-get dpkg-query dpkg-deb lintian service runuser curl jq flock timeout file nm readelf /usr/bin/python3; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/deps.sh installs what the test needs)"
done
[ -x /etc/init.d/mariadb ] || fail "mariadb-server is not installed (apt-get install mariadb-server)"
[ -x "$BUILD/bin/devlocker" ] || fail "$BUILD/bin/devlocker missing: build first (scripts/build.sh)"

# One run at a time on this machine. Long-lived children (the dev locker,
# mysqld_safe and mariadbd started by the service script) are started with
# the lock's descriptor closed (9>&-): holding it, they would keep the lock
# after this script ends.
exec 9>/run/lock/keyring-locker-deb-test.lock
flock -w 600 9 || fail "another deb_install_test still runs after 600 s (lock /run/lock/keyring-locker-deb-test.lock)"

installed() { dpkg-query -W -f='${Status}' keyring-locker 2>/dev/null | grep -Eq 'installed|config-files'; }
apt_get() {
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get -o DPkg::Lock::Timeout=120 "$@"
}
# The system server answers on its socket (debian.cnf: root over the socket).
server_alive() { timeout 10 mariadb-admin --defaults-file=/etc/mysql/debian.cnf ping >/dev/null 2>&1; }
# The service script's stop falls back to `killall mariadbd` when its
# shutdown fails, which would reach every mariadbd on the machine; so it is
# called only while the server answers (then its shutdown works). A server
# that stopped answering is ended by the pid in its own pid file, if that
# process is the system server.
stop_server() {
  if server_alive; then
    timeout 120 service mariadb stop >/dev/null 2>&1 || return 1
    return 0
  fi
  local pid
  pid=$(cat /run/mysqld/mysqld.pid 2>/dev/null || true)
  if [ -n "$pid" ] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q -- "--pid-file=/run/mysqld/mysqld.pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 "$WAIT"); do kill -0 "$pid" 2>/dev/null || return 0; sleep 1; done
    return 1
  fi
  return 0
}

# What a folder holds, as one digest: names, modes, owners, sizes, mtimes, links.
listing() { find "$1" -printf '%P %m %u %g %s %T@ %l\n' | LC_ALL=C sort | md5sum | cut -d' ' -f1; }

restore_machine() {
  [ -d "$SAVE" ] || return 0
  echo "== restore: the machine's MariaDB as it was (datadir, /etc/mysql, service state)"
  local ok=1
  stop_server || { echo "restore: the system mariadbd did not stop" >&2; ok=0; }
  if installed; then apt_get purge -y -qq keyring-locker >/dev/null 2>&1 || { echo "restore: purge failed" >&2; ok=0; }; fi
  if [ -d "$SAVE/etc-mysql" ]; then
    rm -rf /etc/mysql && cp -a "$SAVE/etc-mysql" /etc/mysql && rm -rf "$SAVE/etc-mysql" ||
      { echo "restore: /etc/mysql not restored (copy in $SAVE/etc-mysql)" >&2; ok=0; }
  fi
  if [ -d "$SAVE/datadir" ]; then
    rm -rf /var/lib/mysql && mv "$SAVE/datadir" /var/lib/mysql ||
      { echo "restore: /var/lib/mysql not restored (original in $SAVE/datadir)" >&2; ok=0; }
  fi
  [ ! -f "$SAVE/made-log-dir" ] || rm -rf /var/log/mysql
  # A killed run's dev locker and work folder (its pid is checked to be that locker).
  local pid dir
  pid=$(cat "$SAVE/locker.pid" 2>/dev/null || true)
  dir=$(cat "$SAVE/work.dir" 2>/dev/null || true)
  if [ -n "$pid" ] && [ -n "$dir" ] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "--tls-dir $dir/tls"; then
    kill "$pid" 2>/dev/null || true
  fi
  case "$dir" in /tmp/klk_deb_test.*) rm -rf "$dir" ;; esac
  if [ -f "$SAVE/listing" ] && [ "$ok" = 1 ]; then
    # Put back, yet different: said once, and not retried by later runs (nothing left to put back).
    [ "$(listing /etc/mysql) $(listing /var/lib/mysql)" = "$(cat "$SAVE/listing")" ] ||
      { echo "restore: /etc/mysql or /var/lib/mysql differs from its listing taken before the test" >&2
        rm -f "$SAVE/listing"; ok=0; }
  fi
  if [ -f "$SAVE/was-running" ]; then
    timeout 120 service mariadb start >/dev/null 2>&1 9>&- || { echo "restore: service mariadb start failed" >&2; ok=0; }
  fi
  if [ "$ok" = 1 ]; then rm -rf "$SAVE"; echo "   restored: /etc/mysql and /var/lib/mysql as saved"; else return 1; fi
}

WORK=""
LOCKER_PID=""
cleanup() {
  local rc=$?
  set +e
  [ -z "$LOCKER_PID" ] || { kill "$LOCKER_PID" 2>/dev/null; wait "$LOCKER_PID" 2>/dev/null; }
  restore_machine || { echo "deb_install_test: the machine could NOT be restored (see above)" >&2; rc=1; }
  [ -z "$WORK" ] || rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -d "$SAVE" ]; then
  echo "== an earlier run was killed before it restored the machine: restoring its saved state first"
  restore_machine || fail "could not restore the state an earlier run saved in $SAVE"
fi
if installed; then
  fail "keyring-locker is already installed here; the test installs and purges it, so it will not run (apt-get purge keyring-locker first)"
fi

step "1. build and lint the package"
out=$(cmake --build "$BUILD" --target package 2>&1) || { echo "$out" | tail -30; fail "cmake --build $BUILD --target package failed"; }
DEB=$(printf '%s\n' "$out" | sed -n 's/^CPack: - package: \(.*\.deb\) generated\.$/\1/p' | tail -1)
DDEB=$(printf '%s\n' "$out" | sed -n 's/^CPack: - package: \(.*\.ddeb\) generated\.$/\1/p' | tail -1)
[ -f "$DEB" ] && [ -f "$DDEB" ] || { echo "$out" | tail -10; fail "CPack did not name the .deb and the -dbgsym .ddeb it wrote"; }
echo "   $(basename "$DEB"): $(stat -c %s "$DEB") bytes; $(basename "$DDEB"): $(stat -c %s "$DDEB") bytes"
lintian_rc=0
lintian --fail-on error,warning --display-info --pedantic "$DEB" "$DDEB" >"$BUILD/lintian.out" 2>&1 || lintian_rc=$?
grep -v "running with root privileges" "$BUILD/lintian.out" || true
[ "$lintian_rc" = 0 ] || fail "lintian reports an error or a warning (above; exit $lintian_rc)"
echo "   lintian: no error, no warning"

step "2. save the machine's MariaDB state"
mkdir -p "$SAVE"
if server_alive; then touch "$SAVE/was-running"; fi
stop_server || fail "the running system mariadbd did not stop"
echo "$(listing /etc/mysql) $(listing /var/lib/mysql)" >"$SAVE/listing"
cp -a /etc/mysql "$SAVE/etc-mysql.partial" && mv "$SAVE/etc-mysql.partial" "$SAVE/etc-mysql"
mv /var/lib/mysql "$SAVE/datadir"
cp -a "$SAVE/datadir" /var/lib/mysql
if [ ! -d /var/log/mysql ]; then
  touch "$SAVE/made-log-dir"
  install -d -o mysql -g adm -m 2750 /var/log/mysql  # as docs/mariadb.md says
fi
WORK=$(mktemp -d /tmp/klk_deb_test.XXXXXX)
echo "$WORK" >"$SAVE/work.dir"

step "3. apt-get install -y ./$(basename "$DEB")"
(cd "$(dirname "$DEB")" && apt_get install -y -q "./$(basename "$DEB")") >"$WORK/apt-install.log" 2>&1 ||
  { tail -20 "$WORK/apt-install.log"; fail "apt-get install of the package failed"; }
dpkg-query -L keyring-locker >"$WORK/files.list"
for f in /usr/lib/mysql/plugin/keyring_locker.so /usr/lib/mysql/plugin/keyring_locker_wipe_alloc.so \
         /usr/bin/keyring-locker "$SNIPPET" /usr/share/man/man1/keyring-locker.1.gz \
         /usr/share/doc/keyring-locker/copyright /usr/share/doc/keyring-locker/changelog.Debian.gz \
         /usr/share/doc/keyring-locker/mariadb.md.gz; do
  [ -e "$f" ] || fail "the package did not install $f"
done
[ "$(command -v keyring-locker)" = /usr/bin/keyring-locker ] || fail "keyring-locker is not on PATH as /usr/bin/keyring-locker"
if grep -Ev '^(#|[[:space:]]*$)' "$SNIPPET"; then fail "$SNIPPET has the lines above active: it must ship disabled"; fi
# Every ELF file shipped: stripped (no symbol table, no DWARF), and its
# debug symbols in the -dbgsym .ddeb under its build-id.
dpkg-deb -c "$DDEB" >"$WORK/ddeb.list"
for f in /usr/lib/mysql/plugin/keyring_locker.so /usr/lib/mysql/plugin/keyring_locker_wipe_alloc.so \
         /usr/libexec/keyring-locker/keyring-locker "$MYSQL_DIR/keyring_locker.so" \
         "$MYSQL_DIR/component_keyring_locker.so"; do
  [ -f "$f" ] || fail "the package did not install $f"
  file -L "$f" | grep -q ', stripped' || fail "$f is not stripped: $(file -L "$f")"
  if readelf -S -W "$f" | grep -Eq '\.(debug_[a-z]+|symtab) '; then fail "$f still has .debug_* or .symtab sections"; fi
  id=$(readelf -n "$f" | sed -n 's/^ *Build ID: *\([0-9a-f]*\)$/\1/p')
  [ -n "$id" ] || fail "$f has no build-id, so its debug symbols cannot be found"
  grep -q "/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug\$" "$WORK/ddeb.list" ||
    fail "$(basename "$DDEB") has no debug symbols for $f (build-id $id)"
done
# The MySQL flavours in their own folder, never in MariaDB's plugin folder,
# each exporting what mysqld looks up (nm -D: the dynamic symbol table).
[ -L "$MYSQL_DIR/keyring_locker_wipe_alloc.so" ] && [ -f "$MYSQL_DIR/keyring_locker_wipe_alloc.so" ] ||
  fail "$MYSQL_DIR/keyring_locker_wipe_alloc.so is not a link to the installed wiping allocator"
exports() { nm -D --defined-only "$1" | awk '{print $3}'; }
for sym in _mysql_plugin_declarations_ _mysql_plugin_interface_version_; do
  exports "$MYSQL_DIR/keyring_locker.so" | grep -qx "$sym" || fail "$MYSQL_DIR/keyring_locker.so does not export $sym"
done
exports "$MYSQL_DIR/component_keyring_locker.so" | grep -qx list_components ||
  fail "$MYSQL_DIR/component_keyring_locker.so does not export list_components"
if exports /usr/lib/mysql/plugin/keyring_locker.so | grep -q '^_mysql_plugin_'; then
  fail "/usr/lib/mysql/plugin/keyring_locker.so is the MySQL plugin, not MariaDB's"
fi
if ls /usr/lib/mysql/plugin | grep -q component_keyring_locker; then fail "the component is in MariaDB's plugin folder"; fi
# The installed files loaded as mysqld loads them, by the MySQL host harness
# (tests/mysql_harness; KLK_HARNESS_*_SO name the files under test): the
# plugin's descriptor, exports and store/fetch against its own dev locker,
# the wiping allocator found through the folder's link; the component's
# eight keyring services.
HARNESS_PLUGIN=$BUILD/bin/mysql_harness_plugin_abi_test
HARNESS_COMPONENT=$BUILD/bin/mysql_harness_component_test
if [ -x "$HARNESS_PLUGIN" ] && [ -x "$HARNESS_COMPONENT" ]; then
  (cd "$WORK" &&
   KLK_HARNESS_PLUGIN_SO=$MYSQL_DIR/keyring_locker.so timeout 300 "$HARNESS_PLUGIN" \
     --gtest_filter='PluginAbi.*:PluginBasics.StoreFetchGenerateRemoveWithServerMemory:PluginBasics.LibcurlUsesTheWipingHelperWhichOutlivesThePlugin' &&
   KLK_HARNESS_COMPONENT_SO=$MYSQL_DIR/component_keyring_locker.so timeout 300 "$HARNESS_COMPONENT" \
     --gtest_filter='ComponentAbi.*:ComponentTest.KeyringServicesFollowTheServerContract') >"$WORK/harness.out" 2>&1 ||
    { tail -40 "$WORK/harness.out"; fail "the MySQL host harness failed on the installed plugin or component"; }
  grep -q 'PASSED.* 4 tests' "$WORK/harness.out" && grep -q 'PASSED.* 2 tests' "$WORK/harness.out" ||
    { tail -40 "$WORK/harness.out"; fail "the MySQL host harness ran other tests than the six chosen"; }
  echo "   MySQL host harness: the installed plugin and component load and serve keys"
else
  echo "   MySQL host harness not built ($HARNESS_PLUGIN): the installed MySQL files were not loaded"
fi

step "4. a dev locker over TLS, set up as docs/locker-setup.md says"
ROOT_TOKEN=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
printf '%s' "$ROOT_TOKEN" >"$WORK/root-token"
"$BUILD/bin/devlocker" --listen 127.0.0.1:0 --tls-dir "$WORK/tls" --root-token "$ROOT_TOKEN" \
  --data "$WORK/locker-state.json" >"$WORK/locker.out" 2>"$WORK/locker.err" 9>&- &
LOCKER_PID=$!
echo "$LOCKER_PID" >"$SAVE/locker.pid"
for _ in $(seq 1 $((WAIT * 10))); do grep -q "listening on" "$WORK/locker.out" 2>/dev/null && break; sleep 0.1; done
URL=$(sed -n 's/.*listening on \(https:[^ ]*\).*/\1/p' "$WORK/locker.out")
[ -n "$URL" ] || { cat "$WORK/locker.err"; fail "the dev locker did not start within $WAIT s"; }
block() {  # the body of docs/locker-setup.md's fenced block tagged id=$1
  awk -v id="$1" '$0 ~ "^```[a-z]* id=" id "$" {on=1; next} on && /^```$/ {exit} on {print}' "$ROOT/docs/locker-setup.md"
}
block policy >"$WORK/keyring-db1.hcl"
block setup-curl >"$WORK/setup.sh"
block setup-config >"$WORK/config.sh"
for f in keyring-db1.hcl setup.sh config.sh; do [ -s "$WORK/$f" ] || fail "docs/locker-setup.md lost the block for $f"; done
(cd "$WORK" && env VAULT_ADDR="$URL" VAULT_TOKEN="$ROOT_TOKEN" VAULT_CACERT="$WORK/tls/ca.pem" \
   KLK_DIR="$KLK_DIR" KLK_CONFIG="$KLK_CONFIG" DB_USER=mysql bash -eo pipefail setup.sh >"$WORK/setup.out" 2>&1 &&
 env VAULT_ADDR="$URL" VAULT_CACERT="$WORK/tls/ca.pem" KLK_DIR="$KLK_DIR" KLK_CONFIG="$KLK_CONFIG" \
   bash -eo pipefail config.sh >>"$WORK/setup.out" 2>&1) || { cat "$WORK/setup.out"; fail "the docs' set-up blocks failed"; }
# The server's credential: the token the page made (its "With the token instead" line).
jq --arg t "$KLK_DIR/token" '.auth = {method: "token", token_file: $t}' "$KLK_CONFIG" >"$WORK/config.json"
install -m 0644 "$WORK/config.json" "$KLK_CONFIG"
[ "$(stat -c '%U %a' "$KLK_DIR")" = "mysql 700" ] || fail "$KLK_DIR is not mysql's with mode 0700"
[ "$(stat -c '%U %a' "$KLK_DIR/token")" = "mysql 400" ] || fail "$KLK_DIR/token is not mysql's with mode 0400"
timeout "$WAIT" runuser -u mysql -- keyring-locker --config "$KLK_CONFIG" health >"$WORK/health.out" 2>"$WORK/health.err" ||
  { cat "$WORK/health.out" "$WORK/health.err"; fail "keyring-locker health as mysql failed"; }
# The installed CLI found its wiping allocator (/usr/libexec/keyring-locker).
if grep -i "allocator" "$WORK/health.err"; then fail "the installed CLI runs without its wiping allocator"; fi
echo "   $URL; keyring-locker health as mysql: ok"

step "5. enable the plugin (docs/mariadb.md, Configure) and start MariaDB with service mariadb start"
sed -i -E 's/^#(\[|[a-z])/\1/' "$SNIPPET"
grep -q '^plugin_load_add = keyring_locker$' "$SNIPPET" || fail "uncommenting $SNIPPET did not enable plugin_load_add"
# The SysV script's mysqld_safe logs to syslog; docs/mariadb.md: log_error in [mysqld_safe].
printf '[mysqld_safe]\nlog_error = %s\n' "$ERROR_LOG" >/etc/mysql/mariadb.conf.d/99-error-log.cnf
timeout 120 service mariadb start >"$WORK/start.out" 2>&1 9>&- || { cat "$WORK/start.out"; fail "service mariadb start failed"; }
server_alive || fail "service mariadb start returned but the server does not answer"
q() { timeout "$WAIT" "${DB[@]}" -e "$1" || fail "SQL failed: $1"; }
[ "$(q "SELECT PLUGIN_STATUS FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'keyring_locker'")" = ACTIVE ] ||
  fail "the keyring_locker plugin is not ACTIVE"
MARKER="klk-deb-row-$(head -c 9 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
q "CREATE DATABASE klk_deb_test"
q "CREATE TABLE klk_deb_test.t (id INT PRIMARY KEY, v VARCHAR(64)) ENGINE=InnoDB ENCRYPTED=YES"
q "INSERT INTO klk_deb_test.t VALUES (1, '$MARKER')"
enc=$(q "SELECT ENCRYPTION_SCHEME, CURRENT_KEY_ID FROM information_schema.INNODB_TABLESPACES_ENCRYPTION WHERE NAME = 'klk_deb_test/t'")
[ "$(echo $enc)" = "1 1" ] || fail "klk_deb_test/t is not encrypted with key 1 (INNODB_TABLESPACES_ENCRYPTION: '$enc')"
[ "$(q "SHOW GLOBAL STATUS LIKE 'keyring_locker_locker_state'" | cut -f2)" = ok ] || fail "keyring_locker_locker_state is not ok"
echo "   encrypted table created, key 1 from the locker"

step "6. service mariadb restart; the row read back"
timeout 180 service mariadb restart >"$WORK/restart.out" 2>&1 9>&- || { cat "$WORK/restart.out"; fail "service mariadb restart failed"; }
server_alive || fail "the server does not answer after the restart"
[ "$(q "SELECT v FROM klk_deb_test.t WHERE id = 1")" = "$MARKER" ] || fail "the row did not come back after the restart"
echo "   row read back after the restart"

step "7. service mariadb stop; nothing in plaintext, no secret on disk"
stop_server || fail "service mariadb stop failed"
server_alive && fail "the server still answers after service mariadb stop"
if grep -qF "$MARKER" /var/lib/mysql/klk_deb_test/t.ibd; then fail "the row's plaintext is in t.ibd"; fi
scan() {  # everything the package, the plugin and the server wrote, less the DBA's credentials
  /usr/bin/python3 "$ROOT/tests/keyscan/keyscan.py" --locker-url "$URL" --ca-file "$WORK/tls/ca.pem" \
    --root-token-file "$WORK/root-token" --tokens-from-state "$WORK/locker-state.json" \
    --token-file "$KLK_DIR/token" --token-file "$KLK_DIR/secret-id" --min-keys 2 \
    --exclude "$KLK_DIR" /etc/mysql /var/lib/mysql /var/log/mysql /usr/lib/mysql/plugin "$@" >"$WORK/scan.out" 2>&1 ||
    { cat "$WORK/scan.out"; fail "key bytes or a token found on disk (above)"; }
  tail -1 "$WORK/scan.out"
}
scan /usr/libexec/keyring-locker

step "8. apt-get purge -y keyring-locker: what it installed is gone, no secret left"
apt_get purge -y -q keyring-locker >"$WORK/apt-purge.log" 2>&1 || { tail -20 "$WORK/apt-purge.log"; fail "apt-get purge failed"; }
installed && fail "dpkg still knows keyring-locker after the purge"
left=()
while read -r f; do  # a file or link still there (folders may be shared: /usr/lib/mysql/plugin)
  if [ -L "$f" ] || { [ -e "$f" ] && [ ! -d "$f" ]; }; then left+=("$f"); fi
done <"$WORK/files.list"
[ "${#left[@]}" -eq 0 ] || fail "the purge left files the package installed: ${left[*]}"
for d in /usr/libexec/keyring-locker /usr/lib/keyring-locker /usr/share/doc/keyring-locker; do [ ! -e "$d" ] || fail "$d is still there"; done
if ls /usr/lib/mysql/plugin | grep -i keyring_locker; then fail "keyring_locker files left in /usr/lib/mysql/plugin"; fi
if ls /etc/mysql/mariadb.conf.d | grep -i keyring_locker; then fail "the snippet is left in /etc/mysql/mariadb.conf.d"; fi
if command -v keyring-locker; then fail "keyring-locker is still on PATH"; fi
TOKEN=$(cat "$KLK_DIR/token")
if grep -rlF --exclude-dir=keyring_locker -- "$TOKEN" /etc/mysql /usr/lib/mysql /var/lib/mysql /var/log/mysql; then
  fail "the server's token is in the files above"
fi
scan
echo "   left by design: the DBA's $KLK_CONFIG and $KLK_DIR/ (theirs to remove), the datadir's own files"

echo "deb_install_test: PASS in $(( $(date +%s) - START )) s (the machine is restored next)"
