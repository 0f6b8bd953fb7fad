#!/usr/bin/python3
"""Checks the wrapped keys of one scope in the AWS suite's directory store,
unwrapping each with boto3 against the suite's moto (the AWS counterpart of
keyring_locker_kmip/kmip_check.py; the command line is
keyring_locker/version_check.py's):
  aws_check.py snapshot|verify SCOPE FILE, aws_check.py count|race SCOPE
  aws_check.py create-key         a new symmetric KMS key in moto; prints its ARN
  aws_check.py dump               every key of every scope, one JSON line each
                                  ({"label", "hex"}), for tests/keyscan/aws_keys.py
The check, over DIR/keyring_locker/SCOPE/keys/<name>/<version> (DIR is the
store's folder, KLK_AWS_KEYS_DIR): each file is a keyring_locker/2 document
whose name and version match its path and whose "wrapped" is
aws-kms:v1:<ARN>:<ciphertext>; KMS Decrypt with the encryption context
{keyring_locker_scope, keyring_locker_key} (scope, name and version)
answers the bound key: "KLKB" 0x01, the identity, then `length` key bytes;
each key's versions run 1..latest without a gap. Files named #tmp.* (a
writer killed before its link) are counted, not failed: they are never read.
Uses the moto launcher's DIR/server.json (KLK_AWS_DIR) and boto3 from moto's
venv (this script re-runs itself there): an implementation independent of
ours."""
import base64
import hashlib
import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "keyring_locker"))
import version_check  # noqa: E402

PREFIX = "keyring_locker"
LAUNCHER = os.path.join(HERE, "..", "..", "tests", "aws", "moto_server.py")

try:
    import boto3  # noqa: E402
except ImportError:
    if os.environ.get("KLK_AWS_CHECK_REEXEC"):
        sys.exit("aws_check.py: boto3 is missing from moto's venv (scripts/deps.sh)")
    python = subprocess.run(["/usr/bin/python3", LAUNCHER, "python"], stdout=subprocess.PIPE, text=True,
                            timeout=30).stdout.strip()
    if not python:
        sys.exit("aws_check.py: moto is not installed (scripts/deps.sh)")
    os.environ["KLK_AWS_CHECK_REEXEC"] = "1"
    os.execv(python, [python] + sys.argv)


def kms():
    with open(os.path.join(os.environ["KLK_AWS_DIR"], "server.json")) as f:
        s = json.load(f)
    return boto3.client("kms", region_name="us-east-1", endpoint_url=s["url"], verify=s["ca"],
                        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "AKIDMTR"),
                        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "mtr"))


def unwrapped(scope, problems=None, listed=None):
    """(where, key bytes) for every version of the scope that KMS unwraps
    and that is what its path says; what is not goes to `problems`."""
    problems = [] if problems is None else problems
    client = kms()
    root = os.path.join(os.environ["KLK_AWS_KEYS_DIR"], PREFIX, scope, "keys")
    for folder in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        for entry in sorted(os.listdir(os.path.join(root, folder))):
            if not entry.isdigit():
                continue  # a soft-delete marker or a temporary file, not a key
            name = _decode(folder)
            where = f"{name}/{entry}"
            if listed is not None:
                listed.append(where)
            with open(os.path.join(root, folder, entry)) as f:
                doc = json.load(f)
            wrapped = doc.get("wrapped", "")
            if (doc.get("format") != "keyring_locker/2" or doc.get("name") != name
                    or doc.get("version") != int(entry) or not wrapped.startswith("aws-kms:v1:arn:")):
                problems.append(f"{where}: incomplete or mislabelled document")
                continue
            identity = f"{PREFIX}/{scope}\n{name}\n{entry}"
            try:
                answer = client.decrypt(CiphertextBlob=base64.b64decode(wrapped.rsplit(":", 1)[1]),
                                        EncryptionContext={"keyring_locker_scope": f"{PREFIX}/{scope}",
                                                           "keyring_locker_key": identity})
            except Exception as e:  # noqa: BLE001 - any refusal is the finding
                problems.append(f"{where}: KMS Decrypt refused it: {type(e).__name__}")
                continue
            key = answer["Plaintext"]
            head = b"KLKB\x01" + len(identity.encode()).to_bytes(2, "big") + identity.encode()
            if not key.startswith(head) or len(key) - len(head) != doc.get("length"):
                problems.append(f"{where}: unwrapped key is not bound to {name} version {entry}, or not "
                                f"{doc.get('length')} bytes")
                continue
            yield where, key[len(head):]


def check(scope):
    problems, listed = [], []
    found = {where: hashlib.sha256(key).hexdigest() for where, key in unwrapped(scope, problems, listed)}
    root = os.path.join(os.environ["KLK_AWS_KEYS_DIR"], PREFIX, scope, "keys")
    temporary = sum(1 for _, _, files in os.walk(root) for f in files if f.startswith("#tmp."))
    problems += version_check.version_gaps(listed)
    return found, problems, f"temporary files left: {temporary}"


def _decode(segment):
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


def scopes():
    """Every scope with a keys folder under the store's keyring_locker/."""
    top = os.path.join(os.environ["KLK_AWS_KEYS_DIR"], PREFIX)
    for folder, subfolders, _ in os.walk(top):
        if "keys" in subfolders:
            yield os.path.relpath(folder, top)


def dump():
    for scope in scopes():
        for where, key in unwrapped(scope):
            print(json.dumps({"label": f"aws:{scope}/{where}", "hex": key.hex()}))


def create_key():
    print(kms().create_key(Description="keyring_locker mtr")["KeyMetadata"]["Arn"])


if __name__ == "__main__":
    if sys.argv[1:] == ["create-key"]:
        create_key()
    elif sys.argv[1:] == ["dump"]:
        dump()
    else:
        version_check.main(sys.argv[1:], check, __doc__, "each unwrapped by KMS and bound to its name")
