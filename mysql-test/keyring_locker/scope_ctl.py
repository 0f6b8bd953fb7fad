#!/usr/bin/python3
"""Copies, removes and restores every key document of one scope in the dev
locker (KV v2 at secret/), the way an operator would with a locker backup.
  scope_ctl.py save SCOPE FILE | remove SCOPE | restore FILE
Uses KLK_LOCKER_URL, KLK_LOCKER_CA and KLK_ROOT_TOKEN_FILE (scripts/mtr.sh)."""
import json
import os
import ssl
import sys
import urllib.request

URL = os.environ["KLK_LOCKER_URL"]
CTX = ssl.create_default_context(cafile=os.environ["KLK_LOCKER_CA"])
with open(os.environ["KLK_ROOT_TOKEN_FILE"]) as f:
    TOKEN = f.read().strip()
PREFIX = "keyring_locker"


def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(URL + "/v1/" + path, data=data, method=method,
                                 headers={"X-Vault-Token": TOKEN})
    try:
        with urllib.request.urlopen(req, context=CTX, timeout=10) as r:
            text = r.read()
            return json.loads(text) if text else {}
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise


def documents(scope):
    """Relative paths of every document below <prefix>/<scope>/ (depth-first)."""
    out, pending = [], [f"{PREFIX}/{scope}/"]
    while pending:
        folder = pending.pop()
        listed = call("GET", "secret/metadata/" + folder + "?list=true")
        for name in (listed or {}).get("data", {}).get("keys", []):
            (pending if name.endswith("/") else out).append(folder + name)
    return sorted(out)


def main(argv):
    if argv[0] == "save":
        docs = {p: call("GET", "secret/data/" + p)["data"]["data"] for p in documents(argv[1])}
        with open(argv[2], "w") as f:
            json.dump(docs, f)
        print(f"saved {len(docs)} documents")
    elif argv[0] == "remove":
        docs = documents(argv[1])
        for p in docs:
            call("DELETE", "secret/metadata/" + p)
        print(f"removed {len(docs)} documents")
    elif argv[0] == "restore":
        with open(argv[1]) as f:
            docs = json.load(f)
        for p, doc in docs.items():
            call("POST", "secret/data/" + p, {"options": {"cas": 0}, "data": doc})
        print(f"restored {len(docs)} documents")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
