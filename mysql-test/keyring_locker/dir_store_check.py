"""The part of the cloud suites' key checkers (keyring_locker_aws/
aws_check.py, keyring_locker_azure/azure_check.py) that reads the
directory store: DIR/keyring_locker/SCOPE/keys/<name>/<version> (DIR is
the store's folder). Each file must be a keyring_locker/2 document whose
name and version match its path and whose "wrapped" starts with the
wrapper's prefix; the checker's unwrap(wrapped, scope, identity) answers
the bound key ("KLKB" 0x01, u16 identity length, the identity
"keyring_locker/SCOPE\\n<name>\\n<version>", then `length` key bytes) or
raises. Files named #tmp.* (a writer killed before its link) are counted,
not failed: they are never read. Standard library only."""
import hashlib
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import version_check  # noqa: E402

PREFIX = "keyring_locker"


def decode_name(segment):
    """DocumentLayout::EncodeName undone: %XX back to the byte."""
    out, i = bytearray(), 0
    while i < len(segment):
        if segment[i] == "%":
            out.append(int(segment[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(ord(segment[i]))
            i += 1
    return out.decode()


def scopes(keys_dir):
    """Every scope with a keys folder under the store's keyring_locker/."""
    top = os.path.join(keys_dir, PREFIX)
    for folder, subfolders, _ in os.walk(top):
        if "keys" in subfolders:
            yield os.path.relpath(folder, top)


def unwrapped(keys_dir, scope, wrapped_prefix, unwrap, problems=None, listed=None):
    """(where, key bytes) for every version of the scope that unwrap()
    opens and that is what its path says; what is not goes to `problems`."""
    problems = [] if problems is None else problems
    root = os.path.join(keys_dir, PREFIX, scope, "keys")
    for folder in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        for entry in sorted(os.listdir(os.path.join(root, folder))):
            if not entry.isdigit():
                continue  # a soft-delete marker or a temporary file, not a key
            name = decode_name(folder)
            where = f"{name}/{entry}"
            if listed is not None:
                listed.append(where)
            with open(os.path.join(root, folder, entry)) as f:
                doc = json.load(f)
            wrapped = doc.get("wrapped", "")
            if (doc.get("format") != "keyring_locker/2" or doc.get("name") != name
                    or doc.get("version") != int(entry) or not wrapped.startswith(wrapped_prefix)):
                problems.append(f"{where}: incomplete or mislabelled document")
                continue
            identity = f"{PREFIX}/{scope}\n{name}\n{entry}"
            try:
                key = unwrap(wrapped, f"{PREFIX}/{scope}", identity)
            except Exception as e:  # noqa: BLE001 - any refusal is the finding
                problems.append(f"{where}: unwrapping refused it: {type(e).__name__}")
                continue
            head = b"KLKB\x01" + len(identity.encode()).to_bytes(2, "big") + identity.encode()
            if not key.startswith(head) or len(key) - len(head) != doc.get("length"):
                problems.append(f"{where}: unwrapped key is not bound to {name} version {entry}, or not "
                                f"{doc.get('length')} bytes")
                continue
            yield where, key[len(head):]


def check(keys_dir, scope, wrapped_prefix, unwrap):
    """version_check.main's check(): fingerprints, problems, leftovers."""
    problems, listed = [], []
    found = {where: hashlib.sha256(key).hexdigest()
             for where, key in unwrapped(keys_dir, scope, wrapped_prefix, unwrap, problems, listed)}
    root = os.path.join(keys_dir, PREFIX, scope, "keys")
    temporary = sum(1 for _, _, files in os.walk(root) for f in files if f.startswith("#tmp."))
    problems += version_check.version_gaps(listed)
    return found, problems, f"temporary files left: {temporary}"
