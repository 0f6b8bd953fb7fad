"""Reads the raw bytes of every key keyring_locker keeps in a directory
store wrapped by Azure Key Vault, the way the owner of the Key Vault key
can: each key document's "azure-kv:v1:<version>:<alg>:<value>" is
unwrapped with that version's RSA private key from the Azure stand-in's
state (tests/azure/azure_standin.py, DIR/keys.json), and the key binding
("KLKB" 0x01, u16 identity length, identity; docs/architecture.md) is
taken off. Bytes stay in this process.
"""
import base64
import glob
import json
import os
import struct

from search import Secret


class AzureError(Exception):
    pass


def fetch_azure_keys(standin_dir, store_dir):
    """[Secret] for every key version in store_dir."""
    try:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding
    except ImportError:
        raise AzureError("python3's cryptography is not installed") from None
    try:
        with open(os.path.join(standin_dir, "keys.json")) as f:
            versions = {v["version"]: v["pem"] for vs in json.load(f).values() for v in vs}
    except (OSError, ValueError, KeyError) as e:
        raise AzureError(f"cannot read the Azure stand-in's keys in {standin_dir}: {type(e).__name__}") from None
    secrets = []
    for path in sorted(glob.glob(os.path.join(store_dir, "**", "keys", "*", "*"), recursive=True)):
        try:
            with open(path) as f:
                doc = json.load(f)
            _, _, version, alg, value = doc["wrapped"].split(":")
            key = serialization.load_pem_private_key(versions[version].encode(), None)
            h = hashes.SHA256() if alg == "RSA-OAEP-256" else hashes.SHA1()
            plain = key.decrypt(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)),
                                padding.OAEP(mgf=padding.MGF1(algorithm=h), algorithm=h, label=None))
        except (OSError, ValueError, KeyError) as e:
            raise AzureError(f"cannot unwrap {path}: {type(e).__name__}") from None
        if plain[:5] == b"KLKB\x01":
            (n,) = struct.unpack(">H", plain[5:7])
            plain = plain[7 + n:]
        secrets.append(Secret(f"azure key {doc.get('name')} v{doc.get('version')}", plain, "key"))
    return secrets
