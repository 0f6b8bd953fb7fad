#!/usr/bin/python3
"""Checks the wrapped keys of one scope in the AWS suite's directory store,
unwrapping each with boto3 against the suite's moto (the AWS counterpart of
keyring_locker_kmip/kmip_check.py; the command line is
keyring_locker/version_check.py's):
  aws_check.py snapshot|verify SCOPE FILE, aws_check.py count|race SCOPE
  aws_check.py create-key         a new symmetric KMS key in moto; prints its ARN
  aws_check.py dump               every key of every scope, one JSON line each
                                  ({"label", "hex"}), for tests/keyscan/aws_keys.py
The check (keyring_locker/dir_store_check.py, shared with the Azure suite),
over the store's folder KLK_AWS_KEYS_DIR: each "wrapped" is
aws-kms:v1:<ARN>:<ciphertext>, and KMS Decrypt with the encryption context
{keyring_locker_scope, keyring_locker_key} (scope, name and version)
answers the bound key; each key's versions run 1..latest without a gap.
Uses the moto launcher's DIR/server.json (KLK_AWS_DIR) and boto3 from moto's
venv (this script re-runs itself there): an implementation independent of
ours."""
import base64
import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "keyring_locker"))
import dir_store_check  # noqa: E402
import version_check  # noqa: E402

WRAPPED_PREFIX = "aws-kms:v1:arn:"
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


def unwrap(wrapped, scope, identity, client=None):
    """KMS Decrypt under the encryption context the wrapper binds."""
    client = client or kms()
    return client.decrypt(CiphertextBlob=base64.b64decode(wrapped.rsplit(":", 1)[1]),
                          EncryptionContext={"keyring_locker_scope": scope,
                                             "keyring_locker_key": identity})["Plaintext"]


def one_client_unwrap():
    client = kms()
    return lambda wrapped, scope, identity: unwrap(wrapped, scope, identity, client)


def check(scope):
    return dir_store_check.check(os.environ["KLK_AWS_KEYS_DIR"], scope, WRAPPED_PREFIX, one_client_unwrap())


def dump():
    keys_dir, unwrap_one = os.environ["KLK_AWS_KEYS_DIR"], one_client_unwrap()
    for scope in dir_store_check.scopes(keys_dir):
        for where, key in dir_store_check.unwrapped(keys_dir, scope, WRAPPED_PREFIX, unwrap_one):
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
