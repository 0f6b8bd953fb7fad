"""Reads the raw bytes of every key keyring_locker keeps in a locker, the
way only a locker administrator can: walk every KV v2 document under the
keyring_locker prefix (every scope), every KV version of it, and Transit-
decrypt its "wrapped" value (docs/architecture.md, "One key version, one
document"). Needs a token that may list/read the KV mount and decrypt with
Transit (the dev locker's root token in tests). Bytes stay in this process.
"""
import base64

import hvac
from hvac import exceptions

from search import Secret


class LockerError(Exception):
    pass


def _client(url, ca_file, token):
    # strict_http: hvac lists with GET ?list=true (the dev locker rejects LIST).
    return hvac.Client(url=url, token=token, verify=ca_file, strict_http=True, timeout=15)


def _list(client, mount, folder):
    try:
        reply = client.secrets.kv.v2.list_secrets(path=folder, mount_point=mount)
    except exceptions.InvalidPath:
        return []
    return reply.get("data", {}).get("keys", [])


def _documents(client, mount, prefix):
    out, pending = [], [prefix.rstrip("/") + "/"]
    while pending:
        folder = pending.pop()
        for name in _list(client, mount, folder):
            (pending if name.endswith("/") else out).append(folder + name)
    return sorted(out)


def _versions(client, mount, path):
    meta = client.secrets.kv.v2.read_secret_metadata(path=path, mount_point=mount)
    versions = meta.get("data", {}).get("versions", {}) or {}
    live = [int(v) for v, info in versions.items() if not info.get("destroyed")]
    return sorted(live) or [None]


def fetch_keys(url, ca_file, token, kv_mount="secret", prefix="keyring_locker", transit_mount="transit"):
    """[Secret] for every readable key version; raises LockerError with the
    reason when the locker cannot be read at all."""
    try:
        client = _client(url, ca_file, token)
        try:
            transit_keys = client.secrets.transit.list_keys(mount_point=transit_mount)["data"]["keys"]
        except exceptions.InvalidPath:
            client.adapter.close()
            return []  # no Transit key yet, so no wrapped key either (e.g. only KMIP tests ran)
        docs = _documents(client, kv_mount, prefix)
    except (exceptions.VaultError, OSError, KeyError) as e:
        raise LockerError(f"cannot list keys at {url} ({kv_mount}/{prefix}, {transit_mount}): "
                          f"{type(e).__name__}; check the locker URL, CA file and token") from None
    try:
        return _read_all(client, kv_mount, prefix, transit_mount, transit_keys, docs)
    except (exceptions.VaultError, OSError, KeyError, TypeError, ValueError) as e:
        raise LockerError(f"cannot read the key documents at {url}: {type(e).__name__}; "
                          "is the locker still running and the token still valid?") from None
    finally:
        client.adapter.close()


def _read_all(client, kv_mount, prefix, transit_mount, transit_keys, docs):
    secrets = []
    for path in docs:
        for version in _versions(client, kv_mount, path):
            try:
                doc = client.secrets.kv.v2.read_secret_version(path=path, version=version, mount_point=kv_mount)
            except exceptions.InvalidPath:
                continue  # deleted (soft) version: its data is gone from the locker
            data = doc["data"]["data"]
            wrapped = data.get("wrapped") if isinstance(data, dict) else None
            if not isinstance(wrapped, str):
                continue  # not a key document (e.g. a marker)
            key = _unwrap(client, transit_mount, transit_keys, wrapped)
            if key is None:
                raise LockerError(f"{kv_mount}/{path}: no Transit key under {transit_mount}/ decrypts it")
            label = path[len(prefix):].strip("/") + ("" if version in (None, 1) else f"@kv{version}")
            secrets.append(Secret(label, key, "key"))
    return secrets


def _unwrap(client, mount, names, wrapped):
    for name in names:
        try:
            reply = client.secrets.transit.decrypt_data(name=name, ciphertext=wrapped, mount_point=mount)
        except exceptions.VaultError:
            continue  # another Transit key wrapped it (GCM authentication fails)
        return unbind(base64.b64decode(reply["data"]["plaintext"]))
    return None


BIND_MAGIC = b"KLKB\x01"


def unbind(plaintext):
    """The key bytes of an unwrapped keyring_locker/2 plaintext, which starts
    with the identity it is bound to (keyring_backend/envelope/key_binding.h):
    "KLKB" 0x01, a big-endian u16 length, the identity, then the key. An
    unbound (keyring_locker/1) plaintext is the key itself."""
    if not plaintext.startswith(BIND_MAGIC) or len(plaintext) < len(BIND_MAGIC) + 2:
        return plaintext
    n = int.from_bytes(plaintext[len(BIND_MAGIC):len(BIND_MAGIC) + 2], "big")
    return plaintext[len(BIND_MAGIC) + 2 + n:]
