#!/usr/bin/python3
"""Checks the KMIP objects of one scope in the suite's PyKMIP server after a
crash or a race (the KMIP counterpart of keyring_locker/crash_check.py).
  kmip_check.py snapshot|verify SCOPE FILE, kmip_check.py count|race SCOPE
(the command line is keyring_locker/version_check.py's).
The check, over every object of Object Group keyring_locker/SCOPE (any state):
each Name parses as <prefix>/<scope>/<name>/<version>; each version has
exactly one Active object, of 32 key bytes that Get returns and keyring_locker
metadata that names its length; each key's versions run 1..latest without
a gap; no object is Deactivated or Compromised.
Pre-Active objects (a writer that died between Register and Activate, or
lost a race and has not withdrawn yet) are counted, not failed: they are
never served.
Uses the PyKMIP launcher's DIR/server.json (KLK_KMIP_DIR, scripts/mtr.sh)
and PyKMIP's own client: an implementation independent of ours."""
import hashlib
import json
import os
import sys
import warnings

warnings.simplefilter("ignore")  # PyKMIP's client uses ssl.wrap_socket (deprecated)
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "keyring_locker"))
import version_check  # noqa: E402

from kmip.core import enums  # noqa: E402
from kmip.core.factories import attributes  # noqa: E402
from kmip.pie.client import ProxyKmipClient  # noqa: E402

PREFIX = "keyring_locker"


def client():
    with open(os.path.join(os.environ["KLK_KMIP_DIR"], "server.json")) as f:
        s = json.load(f)
    c = ProxyKmipClient(hostname=s["host"], port=s["port"], cert=s["client_cert"], key=s["client_key"],
                        ca=s["ca"], config_file="/dev/null", kmip_version=enums.KMIPVersion.KMIP_1_2)
    c.open()
    return c


def objects(c, scope):
    """{uid: (name, state, metadata)} for every object of the scope's group."""
    group = attributes.AttributeFactory().create_attribute(enums.AttributeType.OBJECT_GROUP, f"{PREFIX}/{scope}")
    found = {}
    for uid in c.locate(attributes=[group]):
        _, attrs = c.get_attributes(uid, ["Name", "State", "Application Specific Information"])
        name, state, meta = [], None, []
        for a in attrs:
            kind = a.attribute_name.value
            if kind == "Name":
                name.append(a.attribute_value.name_value.value)
            elif kind == "State":
                state = a.attribute_value.value
            elif kind == "Application Specific Information":
                data = a.attribute_value.application_data
                meta.append(getattr(data, "value", data))
        found[uid] = (name, state, meta)
    return found


def check(scope):
    c = client()
    try:
        found, problems, pre_active = {}, [], 0
        active = {}
        for uid, (names, state, meta) in sorted(objects(c, scope).items(), key=lambda i: int(i[0])):
            if len(names) != 1 or not names[0].startswith(f"{PREFIX}/{scope}/"):
                problems.append(f"uid {uid}: Names {names} are not one of this scope's")
                continue
            where = names[0][len(PREFIX) + len(scope) + 2:]
            if state == enums.State.PRE_ACTIVE:
                pre_active += 1
                continue
            if state != enums.State.ACTIVE:
                problems.append(f"{where}: an object in state {state.name}")
                continue
            if where.endswith(".deleted"):
                continue  # a soft-delete marker, not a key
            active.setdefault(where, []).append(uid)
            if len(meta) != 1 or ";l=32;" not in meta[0]:
                problems.append(f"{where}: no keyring_locker metadata naming 32 bytes")
                continue
            key = c.get(uid).value
            if len(key) != 32:
                problems.append(f"{where}: holds {len(key)} bytes, not 32")
                continue
            found[where] = hashlib.sha256(key).hexdigest()
        for where, uids in sorted(active.items()):
            if len(uids) > 1:
                problems.append(f"{where}: {len(uids)} Active objects")
        problems += version_check.version_gaps(active)
        return found, problems, f"Pre-Active left: {pre_active}"
    finally:
        c.close()


if __name__ == "__main__":
    version_check.main(sys.argv[1:], check, __doc__, "one Active object each")
