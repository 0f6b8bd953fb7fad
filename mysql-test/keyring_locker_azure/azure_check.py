#!/usr/bin/python3
"""Checks the wrapped keys of one scope in the Azure suite's directory store
(KLK_AZURE_STORE), unwrapping each with the RSA private key of the Key
Vault key version it names, read from the stand-in's state
(KLK_AZURE_DIR/keys.json; tests/azure/azure_standin.py): an unwrap
independent of ours (python3's cryptography). The Azure counterpart of
keyring_locker_aws/aws_check.py, with keyring_locker/version_check.py's
command line:
  azure_check.py snapshot|verify SCOPE FILE, azure_check.py count|race SCOPE
The store's layout and the key binding are checked by
keyring_locker/dir_store_check.py; each "wrapped" is
azure-kv:v1:<key version>:<algorithm>:<base64url value>, and each key's
versions run 1..latest without a gap."""
import base64
import json
import os
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "keyring_locker"))
import dir_store_check  # noqa: E402
import version_check  # noqa: E402

from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding  # noqa: E402

WRAPPED_PREFIX = "azure-kv:v1:"


def key_versions():
    with open(os.path.join(os.environ["KLK_AZURE_DIR"], "keys.json")) as f:
        return {v["version"]: v["pem"] for vs in json.load(f).values() for v in vs}


def unwrapper():
    versions = key_versions()
    loaded = {}  # loading a 3072-bit key takes ~0.1-0.25 s: once per Key Vault key version

    def unwrap(wrapped, scope, identity):  # RSA-OAEP binds no context: scope and identity are in the key
        _, _, version, alg, value = wrapped.split(":")
        if version not in loaded:
            loaded[version] = serialization.load_pem_private_key(versions[version].encode(), None)
        key = loaded[version]
        h = hashes.SHA256() if alg == "RSA-OAEP-256" else hashes.SHA1()
        return key.decrypt(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)),
                           padding.OAEP(mgf=padding.MGF1(algorithm=h), algorithm=h, label=None))
    return unwrap


def check(scope):
    return dir_store_check.check(os.environ["KLK_AZURE_STORE"], scope, WRAPPED_PREFIX, unwrapper())


if __name__ == "__main__":
    version_check.main(sys.argv[1:], check, __doc__, "each unwrapped by its Key Vault key version and bound to its name")
