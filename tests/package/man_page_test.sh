#!/usr/bin/env bash
# The man page keeps up with the CLI: every command `keyring-locker --help`
# names has an entry in the COMMANDS section of packaging/debian/keyring-locker.1
# (a .TP paragraph whose tag line starts ".B <command>" or ".BI <command>"),
# and the page formats without a groff warning.
#   tests/package/man_page_test.sh KEYRING_LOCKER_BINARY MAN_PAGE
set -euo pipefail
CLI=${1:?usage: $0 KEYRING_LOCKER_BINARY MAN_PAGE}
MAN=${2:?usage: $0 KEYRING_LOCKER_BINARY MAN_PAGE}
fail() { printf 'FAIL: %b\n' "$*"; exit 1; }
[ -x "$CLI" ] || fail "$CLI is not an executable (build the keyring-locker target)"
[ -f "$MAN" ] || fail "$MAN is missing"

# --help prints the usage (today on stderr, exit 64); either stream, any status.
help=$("$CLI" --help 2>&1 || true)
[ -n "$help" ] || fail "keyring-locker --help printed nothing"
# Commands: the lower-case word after "keyring-locker" on a usage line, and
# the first word of each two-space-indented line of a "commands:" or
# "Subcommands:" section (both help layouts the CLI has had).
commands=$(printf '%s\n' "$help" | awk '
  /keyring-locker [a-z]/ { for (i = 1; i < NF; i++) if ($i == "keyring-locker" && $(i+1) ~ /^[a-z][a-z0-9-]*$/) print $(i+1) }
  /^[A-Za-z ]*[Cc]ommands:[[:space:]]*$/ { in_cmds = 1; next }
  in_cmds && /^  [a-z]/ { print $1 }
  in_cmds && /^[^ ]/ { in_cmds = 0 }' | sort -u)
n=$(printf '%s\n' "$commands" | grep -c . || true)
# Thirteen commands today; fewer than five means the parse above broke, and a
# test that checks nothing must not pass.
[ "$n" -ge 5 ] || fail "found only $n command(s) in --help (parser out of date?):\n$help"

# The COMMANDS section's tag lines, with troff's \- turned back into -.
entries=$(awk '/^\.SH /{ on = ($2 == "COMMANDS") } on' "$MAN" | sed 's/\\-/-/g' |
          awk '/^\.TP/ { getline; print }')
missing=()
for c in $commands; do
  printf '%s\n' "$entries" | grep -Eq "^\.(B|BI|BR) +$c( |\$)" || missing+=("$c")
done
[ "${#missing[@]}" -eq 0 ] || fail "$MAN has no COMMANDS entry for: ${missing[*]} (--help names them; add a .TP / .B entry)"
echo "man page lists all $n commands of --help: $(echo $commands)"

if command -v groff >/dev/null; then
  warnings=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$MAN" 2>&1 || true)
  [ -z "$warnings" ] || fail "groff warns about $MAN:\n$warnings"
  echo "groff formats it without a warning"
fi
echo "PASS"
