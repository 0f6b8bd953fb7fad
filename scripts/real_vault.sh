#!/usr/bin/env bash
# Builds a real Vault server (HashiCorp Vault 1.14.8, the last MPL-2.0
# release) from the Go module proxy into a cache folder outside the checkout,
# once per machine, and prints the binary's path. Issue #13: tests run our
# client against it (tests/vault/real_vault.py starts it).
#
#   scripts/real_vault.sh          # build if missing, print the path
#   scripts/real_vault.sh --path   # print the path, exit 1 when not built
#
# Cache: ${KEYRING_LOCKER_CACHE:-$HOME/.cache/keyring_locker}/vault-1.14.8/
#   bin/vault      the binary          bin/vault.pins  what it was built from
#   build/         throw-away wrapper module (go.mod, go.sum, patched sdk copy)
#   build.log      the last build's output
# A second run finds bin/vault with matching pins and only prints the path.
#
# Why these pins (all from the Go module proxy, checked against sum.golang.org):
# - github.com/hashicorp/vault v1.14.8. Its api/ and sdk/ are nested modules
#   that the release builds from its own tree (replace => ./api, ./sdk); a
#   module download leaves them out, so they must come from somewhere else.
#   The release-branch commit of v1.14.8 would be exact, but the proxy here
#   answers 403 "This module version is not available" for every commit or
#   pseudo-version query of it, so tagged versions are used:
# - github.com/hashicorp/vault/sdk v0.9.2, the version v1.14.8's go.mod
#   names, plus one file per package of ours (written below) adding the five
#   names the 1.14.x branch added to sdk after that tag (physical:
#   FencingHABackend, UnfencedWriteCtx, IsUnfencedWrite; logical:
#   CtxKeyRequestRole, ContextOriginalBodyValue, CreateContextOriginalBody),
#   and its framework's "CreateOperation but no ExistenceCheck" panic turned
#   off (see below). Fixes the branch made inside sdk after v0.9.2 are absent.
#   Later sdk tags do not fit either: v0.10.0, v0.10.2 and v0.11.0 changed
#   logical.EventSender (Send -> SendEvent), which 1.14.8 implements.
# - github.com/hashicorp/vault/api v1.10.0: v1.9.2 (go.mod's) lacks
#   Sys.RaftAutopilot{State,Configuration}WithDRToken that 1.14.8's CLI calls.
# Every other module is what Go's minimal version selection picks from these
# (deterministic: module go.mod files never change).
#
# Trimmed (scripts/real_vault_trim.py): the full binary compiles ~2,200
# packages, most of them cloud SDKs and database drivers for plugins, storage
# backends and auto-join/auto-unseal integrations we never use. The build
# takes Vault and go-discover as symlink copies of the downloaded modules
# (Go refuses -overlay for files inside GOMODCACHE) and swaps in trimmed
# copies of six files with `go build -overlay`; see docs/real-vault-notes.md.
set -euo pipefail

VAULT_VERSION=v1.14.8
VAULT_SDK_VERSION=v0.9.2
VAULT_API_VERSION=v1.10.0
# The trim script's hash is part of the pins: changing what is trimmed rebuilds.
TRIM_PY="$(cd "$(dirname "$0")" && pwd)/real_vault_trim.py"
[ -f "$TRIM_PY" ] || { echo "real_vault: $TRIM_PY is missing" >&2; exit 1; }
PINS="vault=$VAULT_VERSION sdk=$VAULT_SDK_VERSION+klk-shim-2 api=$VAULT_API_VERSION trim=$(sha256sum "$TRIM_PY" | cut -c1-16)"

CACHE="${KEYRING_LOCKER_CACHE:-$HOME/.cache/keyring_locker}"
DIR="$CACHE/vault-${VAULT_VERSION#v}"
BIN="$DIR/bin/vault"

built() { [ -x "$BIN" ] && [ "$(cat "$DIR/bin/vault.pins" 2>/dev/null)" = "$PINS" ]; }

if [ "${1:-}" = "--path" ]; then
  built && { echo "$BIN"; exit 0; }
  echo "real_vault: not built yet ($BIN): run scripts/real_vault.sh" >&2
  exit 1
fi
built && { echo "$BIN"; exit 0; }

command -v go >/dev/null || {
  echo "real_vault: 'go' not found on PATH; the Vault build needs Go >= 1.20" >&2; exit 1; }
command -v flock >/dev/null || { echo "real_vault: 'flock' (util-linux) not found" >&2; exit 1; }

mkdir -p "$DIR/bin"
exec 9>"$DIR/.lock"
flock -w 3600 9 || { echo "real_vault: another build holds $DIR/.lock for an hour" >&2; exit 1; }
built && { echo "$BIN"; exit 0; }  # built by the run we waited for

# Never let go switch to another toolchain, never ask a VCS host directly.
export GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0
export GOPROXY="${KLK_GOPROXY:-${GOPROXY:-https://proxy.golang.org}}"
LOG="$DIR/build.log"
: >"$LOG"
began=$(date +%s)
echo "real_vault: building Vault $VAULT_VERSION into $DIR (about 3.5 CPU-minutes of compiling, 13 untrimmed, plus the downloads; log: $LOG)" >&2

# run CMD...: runs in the wrapper module, output to the log; on failure says
# which command failed, where, and the log's tail.
run() {
  echo "+ $*" >>"$LOG"
  if ! (cd "$DIR/build" && "$@") >>"$LOG" 2>&1; then
    echo "real_vault: FAILED (full output: $LOG): (cd $DIR/build && $*)" >&2
    echo "  with GOTOOLCHAIN=$GOTOOLCHAIN GOFLAGS='$GOFLAGS' CGO_ENABLED=0 GOPROXY=$GOPROXY" >&2
    tail -n 25 "$LOG" | sed 's/^/  | /' >&2
    exit 1
  fi
}

rm -rf "$DIR/build"
mkdir -p "$DIR/build"
cat >"$DIR/build/go.mod" <<EOF
// Throw-away wrapper module written by keyring_locker's scripts/real_vault.sh.
module keyring_locker.invalid/vaultbuild

go 1.20

require (
	github.com/hashicorp/vault $VAULT_VERSION
	github.com/hashicorp/vault/api $VAULT_API_VERSION
	github.com/hashicorp/vault/sdk $VAULT_SDK_VERSION
)

replace github.com/hashicorp/vault/sdk => ./sdk
EOF

# The sdk: a copy of the tagged module plus the names 1.14.8 needs.
run go mod download -json "github.com/hashicorp/vault/sdk@$VAULT_SDK_VERSION"
sdk_dir=$(go env GOMODCACHE)/github.com/hashicorp/vault/sdk@$VAULT_SDK_VERSION
[ -f "$sdk_dir/go.mod" ] || { echo "real_vault: the sdk download left no $sdk_dir/go.mod" >&2; exit 1; }
cp -r "$sdk_dir" "$DIR/build/sdk"
chmod -R u+w "$DIR/build/sdk"
# sdk v0.9.2's framework panics on the first request to a backend with a
# path that allows CreateOperation but has no ExistenceCheck; Vault 1.14.8's
# sys/ backend has such paths (its enterprise-only stubs, e.g. managed-keys),
# so every sys/ request would fail. The released 1.14.8 serves sys/, so its
# own sdk cannot panic there; here the two panics become no-ops (such a path
# then handles a create as an update).
backend_go="$DIR/build/sdk/framework/backend.go"
panic_line='panic(fmt.Sprintf("Pattern %v defines a CreateOperation but no ExistenceCheck", p.Pattern))'
[ "$(grep -cF "$panic_line" "$backend_go")" = 2 ] || {
  echo "real_vault: $backend_go does not hold the two panics this script expects" >&2; exit 1; }
python3 - "$backend_go" "$panic_line" <<'EOF'
import sys
path, line = sys.argv[1], sys.argv[2]
text = open(path).read()
open(path, "w").write(text.replace(line, "_ = p // keyring_locker: allowed, see scripts/real_vault.sh"))
EOF
grep -qF "$panic_line" "$backend_go" && { echo "real_vault: could not patch $backend_go" >&2; exit 1; }
cat >"$DIR/build/sdk/physical/zz_keyring_locker_shim.go" <<'EOF'
package physical

import "context"

// Written by keyring_locker's scripts/real_vault.sh: names that Vault's
// 1.14.x release branch added to its sdk after the v0.9.2 tag. Vault core
// asks whether the storage implements FencingHABackend (raft and file do
// not); only the Consul backend reads the unfenced-write flag.

type FencingHABackend interface {
	HABackend
	RegisterActiveNodeLock(l Lock) error
}

type keyringLockerUnfencedWrite struct{}

func UnfencedWriteCtx(ctx context.Context) context.Context {
	return context.WithValue(ctx, keyringLockerUnfencedWrite{}, true)
}

func IsUnfencedWrite(ctx context.Context) bool {
	unfenced, ok := ctx.Value(keyringLockerUnfencedWrite{}).(bool)
	return ok && unfenced
}
EOF
cat >"$DIR/build/sdk/logical/zz_keyring_locker_shim.go" <<'EOF'
package logical

import (
	"context"
	"io"
)

// Written by keyring_locker's scripts/real_vault.sh: names that Vault's
// 1.14.x release branch added to its sdk after the v0.9.2 tag (context keys
// for the role a login request names and the request's original body).

type CtxKeyRequestRole struct{}

func (CtxKeyRequestRole) String() string { return "request-role" }

type keyringLockerOriginalBody struct{}

func ContextOriginalBodyValue(ctx context.Context) (io.ReadCloser, bool) {
	body, ok := ctx.Value(keyringLockerOriginalBody{}).(io.ReadCloser)
	return body, ok
}

func CreateContextOriginalBody(parent context.Context, body io.ReadCloser) context.Context {
	return context.WithValue(parent, keyringLockerOriginalBody{}, body)
}
EOF

# The trimmed build. mod_dir MODULE@VERSION: where its download went.
mod_dir() {
  local dir
  dir=$(cd "$DIR/build" && go mod download -json "$1" 2>>"$LOG" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])') ||
    { echo "real_vault: could not download $1 (output: $LOG)" >&2; exit 1; }
  echo "$dir"
}
run go list -m github.com/hashicorp/go-discover  # resolves the module graph (writes go.sum)
discover_version=$(cd "$DIR/build" && go list -m -f '{{.Version}}' github.com/hashicorp/go-discover 2>>"$LOG")
[ -n "$discover_version" ] || { echo "real_vault: no go-discover in Vault's module graph (log: $LOG)" >&2; exit 1; }
vault_src=$(mod_dir "github.com/hashicorp/vault@$VAULT_VERSION")
discover_src=$(mod_dir "github.com/hashicorp/go-discover@$discover_version")
# Symlink copies (a fraction of a second): real directories, each file a link
# into the module cache. go:embed refuses links, so version/VERSION is copied.
cp -rs "$vault_src" "$DIR/build/vault"
cp -rs "$discover_src" "$DIR/build/go-discover"
find "$DIR/build/vault" "$DIR/build/go-discover" -type d -exec chmod u+w {} +
rm "$DIR/build/vault/version/VERSION"
cp "$vault_src/version/VERSION" "$DIR/build/vault/version/VERSION"
cat >>"$DIR/build/go.mod" <<EOF

// The symlink copies that -overlay patches (scripts/real_vault_trim.py).
replace github.com/hashicorp/vault => ./vault

replace github.com/hashicorp/go-discover => ./go-discover
EOF
run python3 "$TRIM_PY" --vault "$DIR/build/vault" --discover "$DIR/build/go-discover" --out "$DIR/build/trim"
echo "+ go list -deps: $(cd "$DIR/build" && go list -overlay trim/overlay.json -deps github.com/hashicorp/vault 2>>"$LOG" | wc -l) packages" >>"$LOG"
run nice -n 19 go build -overlay trim/overlay.json -trimpath -ldflags "-s -w" -o "$BIN.tmp" github.com/hashicorp/vault
version=$("$BIN.tmp" version 2>&1 || true)
case "$version" in
  "Vault $VAULT_VERSION"*) ;;
  *) echo "real_vault: the built binary says '$version', not Vault $VAULT_VERSION" >&2; exit 1 ;;
esac
mv -f "$BIN.tmp" "$BIN"
echo "$PINS" >"$DIR/bin/vault.pins"
echo "real_vault: built $version in $(( $(date +%s) - began )) s" >&2
echo "$BIN"
