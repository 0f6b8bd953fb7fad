#!/usr/bin/python3
"""keyscan: proves that no key the locker served is on disk or in a core dump.

  keyscan.py [locker options] [--token-file F]... [--exclude P]... PATH...
  keyscan.py [locker options] --core CORE [--maps MAPS] [--smaps SMAPS]

Reads every keyring_locker key from the locker (locker_keys.py), then looks
in every file under PATH (or in CORE) for each key's raw bytes, any 16-byte
piece of it, its base64 and hex forms, and for the token strings named by
--token-file. Prints counts and offsets per key and file, never a secret.
Exit status: 0 nothing found, 1 something found, 2 the scan could not run.
Locker options default to scripts/mtr.sh's environment (KLK_LOCKER_URL,
KLK_LOCKER_CA, KLK_ROOT_TOKEN_FILE).
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from core_map import Core, parse_maps  # noqa: E402
from aws_keys import AwsError, fetch_aws_keys  # noqa: E402
from azure_keys import AzureError, fetch_azure_keys  # noqa: E402
from kmip_keys import KmipError, fetch_kmip_keys  # noqa: E402
from locker_keys import LockerError, fetch_keys  # noqa: E402
from search import Searcher, Secret, summarize  # noqa: E402


def read_token(path):
    with open(path) as f:
        token = f.read().strip()
    if not token:
        raise ValueError(f"token file {path} is empty")
    return token


def walk(paths, excludes, newer_than):
    excludes = [os.path.realpath(e) for e in excludes]

    def excluded(p):
        rp = os.path.realpath(p)
        return any(rp == e or rp.startswith(e.rstrip("/") + "/") for e in excludes)

    seen = set()  # a folder named twice (or inside another named one) is walked once
    for top in paths:
        if excluded(top):
            continue
        if os.path.isfile(top):
            yield top
            continue
        for root, dirs, files in os.walk(top):
            if os.path.realpath(root) in seen:
                dirs[:] = []
                continue
            seen.add(os.path.realpath(root))
            dirs[:] = [d for d in dirs if not excluded(os.path.join(root, d))]
            for name in files:
                p = os.path.join(root, name)
                if excluded(p) or os.path.islink(p) or not os.path.isfile(p):
                    continue  # sockets, fifos: no stored bytes
                try:
                    if newer_than is not None and os.path.getmtime(p) < newer_than:
                        continue
                except OSError:
                    continue  # removed while we walked
                yield p


def report(name, findings, where=None):
    """Prints one file's findings; returns the bytes of key material among them."""
    counts = {}
    for secret, form, _off, length in findings:
        counts.setdefault((secret.kind, secret.label, form), [0, 0])
        counts[(secret.kind, secret.label, form)][0] += 1
        counts[(secret.kind, secret.label, form)][1] += length
    print(f"{name}: {len(findings)} finding(s)")
    for (kind, label, form), (n, nbytes) in sorted(counts.items()):
        print(f"  {kind} {label}: {form} x{n} ({nbytes} bytes)")
    if where is not None:
        for secret, form, off, length in findings:
            print(f"    {secret.kind} {secret.label} {form} ({length} bytes) at core offset {off}: {where(off)}")
    return sum(length for s, form, _o, length in findings if s.kind == "key" and form in ("raw", "fragment"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--locker-url", default=os.environ.get("KLK_LOCKER_URL"))
    ap.add_argument("--ca-file", default=os.environ.get("KLK_LOCKER_CA"))
    ap.add_argument("--root-token-file", default=os.environ.get("KLK_ROOT_TOKEN_FILE"))
    ap.add_argument("--kmip-dir", default=os.environ.get("KLK_KMIP_DIR"),
                    help="a PyKMIP launcher folder (server.json): its keys are looked for too")
    ap.add_argument("--aws-keys-dir", default=os.environ.get("KLK_AWS_KEYS_DIR"),
                    help="the AWS suite's directory store (with KLK_AWS_DIR): its keys are looked for too")
    ap.add_argument("--azure-dir", default=os.environ.get("KLK_AZURE_DIR"),
                    help="the Azure stand-in's folder (keys.json): the keys of --azure-store are looked for too")
    ap.add_argument("--azure-store", default=os.environ.get("KLK_AZURE_STORE"),
                    help="a directory store wrapped by the Azure stand-in's keys")
    ap.add_argument("--vault-dir", default=os.environ.get("KLK_VAULT_DIR"),
                    help="a real Vault's launcher folder (tests/vault/real_vault.py: server.json, root-token): "
                    "its keys are looked for too")
    ap.add_argument("--token-file", action="append", default=[], help="a token to look for (repeatable)")
    ap.add_argument("--tokens-from-state", help="the dev locker's state.json: look for every token it issued "
                    "(AppRole logins hand out tokens no file holds)")
    ap.add_argument("--min-keys", type=int, default=1, help="fail when the locker holds fewer keys (default 1)")
    ap.add_argument("--exclude", action="append", default=[], help="a file or folder not to scan")
    ap.add_argument("--newer-than", help="only files modified after this file was")
    ap.add_argument("--core", help="an ELF core file (gcore) to scan instead of PATHs")
    ap.add_argument("--maps", help="/proc/PID/maps saved when the core was taken")
    ap.add_argument("--smaps", help="/proc/PID/smaps saved when the core was taken (MADV_DONTDUMP flags)")
    ap.add_argument("--expect-present", help="core mode: text the dump must contain (else exit 2)")
    ap.add_argument("--strict", action="store_true",
                    help="core mode: fail on findings in server-owned memory too (default: report them)")
    ap.add_argument("paths", nargs="*")
    args = ap.parse_args(argv)
    if not (args.locker_url and args.ca_file and args.root_token_file):
        print("keyscan: set --locker-url, --ca-file and --root-token-file (or run under scripts/mtr.sh)")
        return 2
    if not args.paths and not args.core:
        print("keyscan: name PATHs to scan or --core CORE")
        return 2
    try:
        root_token = read_token(args.root_token_file)
        secrets = fetch_keys(args.locker_url, args.ca_file, root_token)
        if args.kmip_dir and os.path.exists(os.path.join(args.kmip_dir, "server.json")):
            secrets += fetch_kmip_keys(args.kmip_dir)
        vault_state = os.path.join(args.vault_dir or "", "server.json")
        if args.vault_dir and os.path.exists(vault_state):
            with open(vault_state) as f:
                vault = json.load(f)
            secrets += fetch_keys(vault["url"], vault["ca"], read_token(vault["root_token_file"]))
        if args.aws_keys_dir and os.path.isdir(args.aws_keys_dir):
            secrets += fetch_aws_keys()
        if args.azure_dir and args.azure_store and os.path.isdir(args.azure_store):
            secrets += fetch_azure_keys(args.azure_dir, args.azure_store)
        tokens = {root_token: "root token"}
        for f in args.token_file:
            tokens.setdefault(read_token(f), "token from " + os.path.basename(f))
        if args.tokens_from_state:
            with open(args.tokens_from_state) as f:
                issued = json.load(f).get("tokens", {})
            for n, t in enumerate(sorted(issued)):
                tokens.setdefault(t, f"issued token #{n + 1}")
    except (LockerError, KmipError, AwsError, AzureError, OSError, ValueError) as e:
        print(f"keyscan: {e}")
        return 2
    if len(secrets) < args.min_keys:
        print(f"keyscan: the locker holds {len(secrets)} key(s), expected at least {args.min_keys}: "
              "a scan for nothing proves nothing")
        return 2
    searcher = Searcher(secrets + [Secret(label, t, "token") for t, label in tokens.items()])
    print(f"keyscan: {len(secrets)} key version(s) and {len(tokens)} token(s) from {args.locker_url}")
    found_bytes, hits = 0, 0
    if args.core:
        return scan_core(args, searcher)
    started = time.monotonic()
    newer = os.path.getmtime(args.newer_than) if args.newer_than else None
    files = total = 0
    for path in walk(args.paths, args.exclude, newer):
        try:
            findings = summarize(searcher.search_file(path))
            total += os.path.getsize(path)
        except OSError:
            continue  # removed or unreadable while we scanned: it holds nothing now
        files += 1
        if findings:
            hits += len(findings)
            found_bytes += report(path, findings)
    print(f"keyscan: scanned {files} file(s), {total} bytes in {time.monotonic() - started:.1f} s: {hits} finding(s); "
          f"bytes of key material found on disk: {found_bytes}")
    return 1 if hits else 0


# Who can have put a finding where it is. The server only ever receives raw
# key bytes (get_key); base64 and hex forms exist only on keyring_locker's
# Transit/JSON path, and our own libraries' static data is ours too.
OUR_LIBRARIES = ("keyring_locker", "libcurl", "libnghttp2")


def owner(core, form, offset):
    if form in ("base64", "base64url", "hex", "HEX"):
        return "keyring_locker"
    where = core.where(offset)
    if any(lib in where for lib in OUR_LIBRARIES):
        return "keyring_locker"
    return "token" if form == "token" else "server"


def scan_core(args, searcher):
    maps = None
    if args.maps:
        with open(args.maps) as f:
            smaps = open(args.smaps).read() if args.smaps else None
            maps = parse_maps(f.read(), smaps)
    try:
        core = Core(args.core, maps)
    except (OSError, ValueError) as e:
        print(f"keyscan: {e}")
        return 2
    dd = [m for m in maps or [] if m.dontdump]
    print(f"keyscan: {len(dd)} mapping(s) marked MADV_DONTDUMP ({sum(m.end - m.start for m in dd)} bytes), "
          f"{len(core.thread_sps)} thread(s), {core.dumped_bytes} bytes of memory in the core")
    started = time.monotonic()
    findings = summarize(searcher.search_file(args.core))
    print(f"keyscan: searched the core in {time.monotonic() - started:.1f} s")
    if args.expect_present:
        # Proof that the core holds the process's live data: a scan of an
        # empty or truncated core would otherwise pass.
        if not Searcher([Secret("canary", args.expect_present, "token")]).search_file(args.core):
            print("keyscan: the core lacks the --expect-present text: not a usable dump of the process")
            return 2
        print("keyscan: the core holds the --expect-present text (it is a real dump of the process)")
    if findings:
        report(os.path.basename(args.core), findings, core.where)
    by_owner = {"keyring_locker": [], "server": [], "token": []}
    for f in findings:
        by_owner[owner(core, f[1], f[2])].append(f)
    in_dd = [f for f in findings if any(m.dontdump and m.start <= (core.vaddr(f[2]) or -1) < m.end for m in dd)]
    nbytes = sum(n for s, form, _o, n in findings if s.kind == "key" and form in ("raw", "fragment"))
    print(f"keyscan: core: {len(findings)} finding(s); bytes of key material in the core: {nbytes}")
    print(f"keyscan: in memory keyring_locker owns: {len(by_owner['keyring_locker'])}; in server-owned memory: "
          f"{len(by_owner['server'])} (distinct keys: {len({f[0].label for f in by_owner['server']})}); "
          f"token copies: {len(by_owner['token'])}; inside MADV_DONTDUMP mappings: {len(in_dd)}")
    # One line per kind of server-owned copy, without addresses: stable
    # enough for a mysql-test result, precise enough to name the culprit.
    places = sorted({f"{f[0].kind} {f[0].label} ({f[1]}) in {core.place(core.vaddr(f[2]), stable=True)}" for f in by_owner["server"]})
    for p in places:
        print(f"keyscan: server-owned copy: {p}")
    # A token copy anywhere is a credential in the dump: libcurl frees
    # through the wiping allocator, so none may remain (docs/security.md).
    if in_dd or by_owner["keyring_locker"] or by_owner["token"]:
        return 1
    return 1 if args.strict and findings else 0


if __name__ == "__main__":
    sys.exit(main())
