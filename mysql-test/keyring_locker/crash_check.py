#!/usr/bin/python3
"""Checks the key documents of one scope in the dev locker after a crash.
  crash_check.py snapshot SCOPE FILE   check, then record every version's fingerprint
  crash_check.py verify SCOPE FILE     check, and compare with the snapshot
The check: every version listed is a complete document (format, name and
version matching its path, wrapped key, length) whose wrapped key Transit
unwraps to `length` bytes (bound to its own name and version). verify also fails when a version recorded in the
snapshot is gone or now unwraps to other bytes (overwritten). Prints one
summary line; fingerprints (SHA-256 of the key) never leave the FILE.
Uses KLK_LOCKER_URL, KLK_LOCKER_CA, KLK_ROOT_TOKEN_FILE (scripts/mtr.sh)."""
import base64
import hashlib
import os
import sys
import urllib.parse

# The locker client (URL, CA, root token, prefix) is scope_ctl.py's.
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scope_ctl import PREFIX, call  # noqa: E402
import version_check  # noqa: E402

TRANSIT_KEY = "mtr"  # keyring-locker-transit-key in the suite's my.cnf


def listing(folder):
    listed = call("GET", "secret/metadata/" + folder + "?list=true")
    return (listed or {}).get("data", {}).get("keys", [])


def versions(scope):
    """{'<name>/<version>': fingerprint} for every version; problems listed."""
    found, problems = {}, []
    root = f"{PREFIX}/{scope}/keys/"
    for folder in listing(root):
        if not folder.endswith("/"):
            continue
        name = urllib.parse.unquote(folder[:-1])
        for entry in listing(root + folder):
            if not entry.isdigit():
                continue  # soft-delete markers are not key versions
            where = f"{name}/{entry}"
            doc = call("GET", "secret/data/" + root + folder + entry)
            doc = (doc or {}).get("data", {}).get("data")
            if not isinstance(doc, dict):
                problems.append(f"{where}: listed but has no document")
                continue
            if (doc.get("format") not in ("keyring_locker/1", "keyring_locker/2") or doc.get("name") != name
                    or doc.get("version") != int(entry) or not isinstance(doc.get("wrapped"), str)
                    or not isinstance(doc.get("length"), int)):
                problems.append(f"{where}: incomplete or mislabelled document")
                continue
            answer = call("POST", f"transit/decrypt/{TRANSIT_KEY}", {"ciphertext": doc["wrapped"]})
            key = base64.b64decode(((answer or {}).get("data") or {}).get("plaintext", ""))
            if doc["format"] == "keyring_locker/2":
                # Bound: the plaintext names (scope, name, version) before the key.
                identity = f"{PREFIX}/{scope}\n{name}\n{entry}".encode()
                head = b"KLKB\x01" + len(identity).to_bytes(2, "big") + identity
                if not key.startswith(head):
                    problems.append(f"{where}: wrapped key is not bound to {name} version {entry}")
                    continue
                key = key[len(head):]
            if len(key) != doc["length"]:
                problems.append(f"{where}: wrapped key does not unwrap to {doc['length']} bytes")
                continue
            found[where] = hashlib.sha256(key).hexdigest()
    return found, problems


if __name__ == "__main__":
    if len(sys.argv) != 4:  # snapshot and verify only
        sys.exit(__doc__)
    version_check.main(sys.argv[1:], lambda scope: versions(scope) + ("",), __doc__, "all complete")
