"""The command line shared by the suites' key checkers (keyring_locker_kmip/
kmip_check.py, keyring_locker_aws/aws_check.py, keyring_locker_azure/
azure_check.py): each reads one scope's
key versions from its locker with a client independent of ours and hands
them here as {"<name>/<version>": fingerprint} plus the problems it found.
  CHECKER snapshot SCOPE FILE   check, then record every version's fingerprint
  CHECKER verify SCOPE FILE     check, and compare with the snapshot
  CHECKER count SCOPE           check, and print the summary only
  CHECKER race SCOPE            check, and print a summary without version
                                counts (they depend on how races went)
A checker reports gaps in a key's versions with version_gaps(); verify
also fails when a version recorded in the snapshot is gone or now
holds other bytes (overwritten). Prints one summary line; fingerprints
(SHA-256 of the key) never leave FILE."""
import json
import os
import sys


def order(where):
    name, version = where.rsplit("/", 1)
    return (name, int(version))


def version_gaps(wheres):
    """Problems for keys whose versions do not run 1..latest."""
    versions = {}
    for where in wheres:
        name, version = order(where)
        versions.setdefault(name, set()).add(version)
    return [f"key {name}: versions {sorted(have)} have a gap"
            for name, have in sorted(versions.items()) if have != set(range(1, max(have) + 1))]


def main(argv, check, usage, one_each):
    """check(scope) -> (found, problems, left): `left`, when not empty, ends
    the summary (what a crash may leave behind, e.g. "Pre-Active left: 0");
    `one_each` says what each version is ("one Active object each")."""
    if not ((len(argv) == 3 and argv[0] in ("snapshot", "verify")) or
            (len(argv) == 2 and argv[0] in ("count", "race"))):
        sys.exit(usage)
    found, problems, left = check(argv[1])
    before = {}
    if argv[0] == "snapshot":
        with open(argv[2], "w") as f:
            json.dump(found, f)
    elif argv[0] == "verify":
        with open(argv[2]) as f:
            before = json.load(f)
        for where, fp in sorted(before.items()):
            if where not in found:
                problems.append(f"{where}: existed before and is gone or unreadable")
            elif found[where] != fp:
                problems.append(f"{where}: OVERWRITTEN, its key bytes changed")
    if problems:
        print(f"{os.path.basename(sys.argv[0])} {argv[0]} {argv[1]}: FAILED")
        for p in problems:
            print("  " + p)
        sys.exit(1)
    if argv[0] == "race":
        keys = sorted({order(w)[0] for w in found})
        # "one Active object each" -> "one Active object per version"; a
        # store with one file per name says "each ..." of its files.
        per = (f"one file per version, {one_each}" if one_each.startswith("each ")
               else f"{one_each.split(' each')[0]} per version")
        print(f"{argv[1]}: keys {', '.join(keys)}: {per}, versions without gaps; {left}")
        return
    new = sorted(set(found) - set(before), key=order)
    print(f"{argv[1]}: {len(found)} versions, {one_each}; {len(before)} earlier kept their bytes; "
          f"new: {', '.join(new) if new else 'none'}" + (f"; {left}" if left else ""))
