#!/usr/bin/python3
"""Writes the per-test config files of a suite whose plugin is configured
by one JSON file (keyring_locker_kmip, keyring_locker_aws, keyring_locker_azure;
scripts/mtr.sh):
  suite_configs.py OUT_DIR TESTS_DIR BASE_JSON
OUT_DIR/<test>.json for every TESTS_DIR/<test>.test, plus OUT_DIR/default.json
(the suite's my.cnf): BASE_JSON (the locker's settings) with keys.scope
mtr/<test>, and TESTS_DIR/<test>.json merged in when present (e.g. cache
settings)."""
import glob
import json
import os
import sys


def merge(a, b):
    for k, v in b.items():
        a[k] = merge(a.get(k, {}), v) if isinstance(v, dict) else v
    return a


def main(out, tests, base):
    os.makedirs(out, exist_ok=True)
    names = ["default"] + sorted(os.path.basename(t)[:-5] for t in glob.glob(tests + "/*.test"))
    for name in names:
        config = merge(json.loads(base), {"keys": {"scope": "mtr/" + name}})
        extra = os.path.join(tests, name + ".json")
        if os.path.exists(extra):
            with open(extra) as f:
                merge(config, json.load(f))
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump(config, f, indent=1)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
