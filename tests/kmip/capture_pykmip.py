#!/usr/bin/python3
"""Records real KMIP exchanges with PyKMIP for our codec's interop tests.

Run: /usr/bin/python3 tests/kmip/capture_pykmip.py [--out tests/kmip/captures]

Starts pykmip-server (tests/kmip/pykmip_server.py) in a temporary folder,
drives it with PyKMIP's own client (kmip.pie / kmip.services.kmip_client),
and writes the exact bytes the client sent and received (TTLV, inside TLS)
as OUT/<exchange>.request.hex and OUT/<exchange>.response.hex: lower-case
hex, 16 bytes a line. OUT/README.md says what each exchange holds. Known
inputs (key bytes 00..1f, fixed IVs) make the encrypt results checkable.
"""
import argparse
import json
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import warnings

warnings.simplefilter("ignore")  # PyKMIP's imports warn about old ciphers

from kmip import enums as kmip_enums  # noqa: E402
from kmip.core import attributes as core_attributes  # noqa: E402
from kmip.core import enums  # noqa: E402
from kmip.core import objects as core_objects  # noqa: E402
from kmip.core.factories import attributes as attribute_factory  # noqa: E402
from kmip.core.messages import payloads  # noqa: E402
from kmip.pie import factory as pie_factory  # noqa: E402
from kmip.pie import objects  # noqa: E402
from kmip.pie.client import ProxyKmipClient  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
LAUNCHER = os.path.join(HERE, "pykmip_server.py")
KEY_BYTES = bytes(range(32))
CBC_IV = bytes(range(0x10, 0x20))
GCM_NONCE = bytes(range(0xA0, 0xAC))
PLAINTEXT = b"keyring_locker!!"  # 16 bytes: PKCS#5 adds a full block
AAD = b"klk-aad"
NAME_CREATE = "klk-capture-create"
NAME_REGISTER = "klk-capture-register"
GROUP = "keyring_locker"


class Recorder:
    """Wraps a KMIPProtocol so every message written and read is kept."""

    def __init__(self, protocol):
        self.protocol = protocol
        self.sent = []
        self.received = []
        write, read = protocol.write, protocol.read

        def recording_write(data):
            self.sent.append(bytes(data))
            return write(data)

        def recording_read():
            stream = read()
            self.received.append(bytes(stream.buffer))
            return stream

        protocol.write, protocol.read = recording_write, recording_read

    def last(self):
        return self.sent[-1], self.received[-1]


def hex_lines(data):
    h = data.hex()
    return "\n".join(h[i:i + 32] for i in range(0, len(h), 32)) + "\n"


def start_server(d):
    out = subprocess.run(["/usr/bin/python3", LAUNCHER, "start", "--dir", d], check=True,
                         stdout=subprocess.PIPE, text=True, timeout=60).stdout
    return json.loads(out.strip().splitlines()[-1])


def raw_exchange(state, request):
    """Sends hand-made TTLV over our own TLS connection (for operations
    PyKMIP's client cannot build)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(state["ca"])
    ctx.load_cert_chain(state["client_cert"], state["client_key"])
    with socket.create_connection((state["host"], state["port"]), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=state["host"]) as s:
            s.sendall(request)
            data = b""
            while len(data) < 8 or len(data) < 8 + struct.unpack(">I", data[4:8])[0]:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            return data


def ttlv(tag, kind, body):
    """Tag (3 bytes), type, length, then the value padded to 8 bytes."""
    pad = (8 - len(body) % 8) % 8
    return struct.pack(">I", tag)[1:] + bytes([kind]) + struct.pack(">I", len(body)) + body + b"\0" * pad


def add_attribute_request(uid, version_minor):
    """KMIP 1.x Add Attribute of a custom text attribute "x-klk-version"."""
    text = lambda tag, s: ttlv(tag, 0x07, s.encode())  # noqa: E731
    version = ttlv(0x420069, 1, ttlv(0x42006A, 2, struct.pack(">i", 1))
                   + ttlv(0x42006B, 2, struct.pack(">i", version_minor)))
    header = ttlv(0x420077, 1, version + ttlv(0x42000D, 2, struct.pack(">i", 1)))
    attribute = ttlv(0x420008, 1, text(0x42000A, "x-klk-version") + text(0x42000B, "7"))
    payload = ttlv(0x420079, 1, text(0x420094, uid) + attribute)
    item = ttlv(0x42000F, 1, ttlv(0x42005C, 5, struct.pack(">I", 0x0D)) + payload)
    return ttlv(0x420078, 1, header + item)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(HERE, "captures"))
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="klk-pykmip-capture-")
    exchanges = {}
    try:
        state = start_server(os.path.join(work, "server"))
        client = ProxyKmipClient(hostname=state["host"], port=state["port"],
                                 cert=state["client_cert"], key=state["client_key"],
                                 ca=state["ca"], config_file="/dev/null",
                                 kmip_version=kmip_enums.KMIPVersion.KMIP_1_2)
        client.open()
        rec = Recorder(client.proxy.protocol)
        proxy = client.proxy
        factory = attribute_factory.AttributeFactory()
        mask = [enums.CryptographicUsageMask.ENCRYPT, enums.CryptographicUsageMask.DECRYPT]

        proxy.discover_versions()
        exchanges["discover_versions"] = rec.last()

        template = core_objects.TemplateAttribute(attributes=[
            factory.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_ALGORITHM,
                                     enums.CryptographicAlgorithm.AES),
            factory.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_LENGTH, 256),
            factory.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_USAGE_MASK, mask),
            factory.create_attribute(enums.AttributeType.NAME, NAME_CREATE),
            factory.create_attribute(enums.AttributeType.OBJECT_GROUP, GROUP)])
        created = proxy.create(enums.ObjectType.SYMMETRIC_KEY, template).uuid
        exchanges["create"] = rec.last()

        key = objects.SymmetricKey(enums.CryptographicAlgorithm.AES, 256, KEY_BYTES, masks=mask)
        template = core_objects.TemplateAttribute(attributes=[
            factory.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_USAGE_MASK, mask),
            factory.create_attribute(enums.AttributeType.NAME, NAME_REGISTER),
            factory.create_attribute(enums.AttributeType.OBJECT_GROUP, GROUP)])
        secret = pie_factory.ObjectFactory().convert(key)
        registered = proxy.register(enums.ObjectType.SYMMETRIC_KEY, template, secret).uuid
        exchanges["register"] = rec.last()

        client.activate(registered)
        exchanges["activate"] = rec.last()
        client.get(registered)
        exchanges["get"] = rec.last()
        client.get_attributes(registered)
        exchanges["get_attributes"] = rec.last()
        client.locate(attributes=[factory.create_attribute(enums.AttributeType.NAME, NAME_REGISTER),
                                  factory.create_attribute(enums.AttributeType.OBJECT_GROUP, GROUP)])
        exchanges["locate"] = rec.last()

        cbc = {"cryptographic_algorithm": enums.CryptographicAlgorithm.AES,
               "block_cipher_mode": enums.BlockCipherMode.CBC,
               "padding_method": enums.PaddingMethod.PKCS5}
        ciphertext, _ = client.encrypt(PLAINTEXT, uid=registered, cryptographic_parameters=cbc,
                                       iv_counter_nonce=CBC_IV)
        exchanges["encrypt_cbc"] = rec.last()
        client.decrypt(ciphertext, uid=registered, cryptographic_parameters=cbc,
                       iv_counter_nonce=CBC_IV)
        exchanges["decrypt_cbc"] = rec.last()

        # The Authenticated Encryption Tag and Additional Data exist from KMIP 1.4 on.
        proxy.kmip_version = kmip_enums.KMIPVersion.KMIP_1_4
        gcm = core_attributes.CryptographicParameters(
            block_cipher_mode=enums.BlockCipherMode.GCM,
            cryptographic_algorithm=enums.CryptographicAlgorithm.AES, tag_length=16)
        proxy.send_request_payload(enums.Operation.ENCRYPT, payloads.EncryptRequestPayload(
            unique_identifier=registered, cryptographic_parameters=gcm, data=PLAINTEXT,
            iv_counter_nonce=GCM_NONCE, auth_additional_data=AAD))
        exchanges["encrypt_gcm_kmip14"] = rec.last()
        proxy.kmip_version = kmip_enums.KMIPVersion.KMIP_1_2

        try:
            client.get("999999")
        except Exception:
            pass
        exchanges["get_unknown_id_error"] = rec.last()

        client.destroy(created)
        exchanges["destroy"] = rec.last()
        client.close()

        request = add_attribute_request(registered, 2)
        exchanges["add_attribute_rejected"] = (request, raw_exchange(state, request))
    finally:
        subprocess.run(["/usr/bin/python3", LAUNCHER, "stop", "--dir", os.path.join(work, "server")],
                       timeout=30)
        shutil.rmtree(work, ignore_errors=True)

    os.makedirs(args.out, exist_ok=True)
    for name, (request, response) in exchanges.items():
        for part, data in (("request", request), ("response", response)):
            with open(os.path.join(args.out, "%s.%s.hex" % (name, part)), "w") as f:
                f.write(hex_lines(data))
    print("wrote %d exchanges to %s" % (len(exchanges), args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
