"""Reads the raw bytes of every key keyring_locker keeps in a KMIP server
(the KMIP store, wrapper "none": one Symmetric Key object per key version),
the way the owner of the client certificate can: Locate every object the
certificate owns, Get each Symmetric Key. Uses PyKMIP's own client and the
PyKMIP launcher's DIR/server.json (tests/kmip/pykmip_server.py). Bytes stay
in this process.
"""
import json
import os
import warnings

from search import Secret


class KmipError(Exception):
    pass


def fetch_kmip_keys(server_dir):
    """[Secret] for every Symmetric Key object (any state but destroyed)."""
    warnings.simplefilter("ignore")  # PyKMIP's client uses ssl.wrap_socket (deprecated)
    try:
        from kmip.core import enums
        from kmip.core.factories import attributes
        from kmip.pie.client import ProxyKmipClient
    except ImportError:
        raise KmipError("PyKMIP's client (python3-pykmip) is not installed") from None
    try:
        with open(os.path.join(server_dir, "server.json")) as f:
            s = json.load(f)
        client = ProxyKmipClient(hostname=s["host"], port=s["port"], cert=s["client_cert"], key=s["client_key"],
                                 ca=s["ca"], config_file="/dev/null", kmip_version=enums.KMIPVersion.KMIP_1_2)
        client.open()
    except (OSError, ValueError, KeyError) as e:
        raise KmipError(f"cannot reach the KMIP server of {server_dir}: {type(e).__name__}") from None
    try:
        secrets = []
        keys = attributes.AttributeFactory().create_attribute(enums.AttributeType.OBJECT_TYPE,
                                                              enums.ObjectType.SYMMETRIC_KEY)
        for uid in client.locate(attributes=[keys]):
            _, attrs = client.get_attributes(uid, ["Name"])
            names = [a.attribute_value.name_value.value for a in attrs if a.attribute_name.value == "Name"]
            label = "kmip:" + (names[0] if names else f"uid {uid}")
            secrets.append(Secret(label, client.get(uid).value, "key"))
        return secrets
    except Exception as e:  # PyKMIP raises its own exception types for server failures
        raise KmipError(f"cannot read the keys of the KMIP server of {server_dir}: {type(e).__name__}: {e}") from None
    finally:
        client.close()
