#!/usr/bin/python3
"""Smoke test of the real Vault (issue #13): python3-hvac against Vault 1.14.8.

Run: /usr/bin/python3 tests/vault/test_real_vault_smoke.py [--cluster]
Starts the server with tests/vault/real_vault.py in a temp dir (watchdog on
this process), checks what keyring_locker relies on - sys/health, KV v2
create-only writes (cas=0 refused the second time), transit encrypt/decrypt
and datakey, a restart keeping both, the mount lookup our client makes
(sys/internal/ui/mounts) with a non-root token - stops it and checks that no
process is left. Prints "N passed, M failed".

Without the binary (scripts/real_vault.sh builds it) it exits 77, which
ctest reports as skipped, unless KLK_REQUIRE_REAL_VAULT is set: then it fails.
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile

import hvac
from hvac import exceptions

HERE = os.path.dirname(os.path.abspath(__file__))
LAUNCHER = os.path.join(HERE, "real_vault.py")
SKIP = 77
KEY = "keyring_locker"
POLICY = """
path "secret/data/klk/*"     { capabilities = ["create", "read", "update"] }
path "secret/metadata/klk/*" { capabilities = ["read", "list"] }
path "transit/encrypt/keyring_locker" { capabilities = ["update"] }
path "transit/decrypt/keyring_locker" { capabilities = ["update"] }
"""


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def run(self, name, fn):
        try:
            fn()
            self.passed += 1
            print("ok   " + name)
        except Exception as e:  # report every failure, keep going
            self.failed += 1
            print("FAIL %s: %s: %s" % (name, type(e).__name__, e))


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def launcher(*args):
    result = subprocess.run([sys.executable, LAUNCHER] + list(args), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, timeout=180)
    if result.returncode != 0:
        raise RuntimeError("real_vault.py %s failed: %s" % (args[0], result.stderr.strip()))
    return json.loads(result.stdout) if result.stdout.strip().startswith("{") else None


def leftovers(d):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                with open("/proc/%s/cmdline" % entry, "rb") as f:
                    if d.encode() in f.read():
                        found.append(int(entry))
            except OSError:
                pass
    return found


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cluster", action="store_true", help="three raft nodes")
    args = parser.parse_args()
    which = subprocess.run([sys.executable, LAUNCHER, "which"], stdout=subprocess.PIPE, text=True)
    if which.returncode != 0:
        if os.environ.get("KLK_REQUIRE_REAL_VAULT"):
            print("FAIL no vault binary and KLK_REQUIRE_REAL_VAULT is set: run scripts/real_vault.sh")
            print("0 passed, 1 failed")
            return 1
        print("skip: no vault binary (scripts/real_vault.sh builds it)")
        return SKIP
    print("vault binary: " + which.stdout.strip())

    d = tempfile.mkdtemp(prefix="klk-real-vault-")
    checks = Checks()
    try:
        mode = "cluster" if args.cluster else "start"
        state = launcher(mode, "--dir", d, "--owner-pid", str(os.getpid()))
        with open(state["root_token_file"]) as f:
            root_token = f.read().strip()
        # Any node serves: a standby forwards to the active node.
        client = hvac.Client(url=state["urls"][-1], token=root_token, verify=state["ca"])
        saved = {}

        def health():
            h = client.sys.read_health_status(method="GET")
            h = h.json() if hasattr(h, "json") else h
            expect(h["initialized"] and not h["sealed"], "initialized and unsealed: %s" % h)
            expect(h["version"] == "1.14.8", "version 1.14.8, got %s" % h["version"])
        checks.run("sys/health: initialized, unsealed, 1.14.8", health)

        def kv_create_only():
            kv = client.secrets.kv.v2
            r = kv.create_or_update_secret(path="klk/smoke", secret={"v": "1"}, cas=0,
                                           mount_point="secret")
            expect(r["data"]["version"] == 1, "first cas=0 write makes version 1: %s" % r)
            try:
                kv.create_or_update_secret(path="klk/smoke", secret={"v": "2"}, cas=0,
                                           mount_point="secret")
            except exceptions.InvalidRequest as e:
                saved["cas_error"] = str(e)
                expect("check-and-set" in str(e), "cas refusal names check-and-set: %s" % e)
            else:
                raise AssertionError("second cas=0 write was accepted")
            got = kv.read_secret_version(path="klk/smoke", mount_point="secret")
            expect(got["data"]["data"] == {"v": "1"}, "the first value stays: %s" % got["data"])
            print("     cas=0 refusal text: %s" % saved["cas_error"])
        checks.run("KV v2: cas=0 creates once, the second is refused", kv_create_only)

        def transit_round_trip():
            plain = base64.b64encode(os.urandom(32)).decode()
            enc = client.secrets.transit.encrypt_data(name=KEY, plaintext=plain)
            ct = enc["data"]["ciphertext"]
            expect(ct.startswith("vault:v1:"), "ciphertext vault:v1:..., got %s" % ct[:12])
            dec = client.secrets.transit.decrypt_data(name=KEY, ciphertext=ct)
            expect(dec["data"]["plaintext"] == plain, "decrypt gives the plaintext back")
            saved["ct"], saved["plain"] = ct, plain
            dk = client.secrets.transit.generate_data_key(name=KEY, key_type="plaintext", bits=256)
            expect(len(base64.b64decode(dk["data"]["plaintext"])) == 32, "datakey: 32 bytes")
            dec = client.secrets.transit.decrypt_data(name=KEY, ciphertext=dk["data"]["ciphertext"])
            expect(dec["data"]["plaintext"] == dk["data"]["plaintext"], "datakey unwraps")
        checks.run("transit: encrypt/decrypt and datakey with key keyring_locker", transit_round_trip)

        def limited_token():
            client.sys.create_or_update_policy(name="klk-smoke", policy=POLICY)
            token = client.auth.token.create(policies=["klk-smoke"], ttl="10m")["auth"]["client_token"]
            limited = hvac.Client(url=state["url"], token=token, verify=state["ca"])
            r = limited.adapter.get("/v1/sys/internal/ui/mounts/secret/klk/x")
            r = r.json() if hasattr(r, "json") else r
            data = r["data"]
            expect(data.get("path") == "secret/", "mount path secret/: %s" % data)
            expect((data.get("options") or {}).get("version") == "2", "KV version 2: %s" % data)
            print("     sys/internal/ui/mounts for a limited token: type=%s path=%s options=%s"
                  % (data.get("type"), data.get("path"), data.get("options")))
            limited.secrets.kv.v2.create_or_update_secret(path="klk/limited", secret={"v": "x"},
                                                          cas=0, mount_point="secret")
            try:
                limited.sys.list_mounted_secrets_engines()
            except exceptions.Forbidden:
                pass
            else:
                raise AssertionError("a limited token read sys/mounts")
        checks.run("a limited token: mount lookup, KV write, no sys/mounts", limited_token)

        def restart_keeps_data():
            launcher("restart", "--dir", d)
            kv = client.secrets.kv.v2.read_secret_version(path="klk/smoke", mount_point="secret")
            expect(kv["data"]["data"] == {"v": "1"}, "KV survives a restart")
            dec = client.secrets.transit.decrypt_data(name=KEY, ciphertext=saved["ct"])
            expect(dec["data"]["plaintext"] == saved["plain"], "transit key survives a restart")
        checks.run("restart (unseal again) keeps KV data and the transit key", restart_keeps_data)
    except Exception as e:
        checks.failed += 1
        print("FAIL setup: %s: %s" % (type(e).__name__, e))
    finally:
        try:
            launcher("stop", "--dir", d)
        except Exception as e:
            print("FAIL stop: %s" % e)
            checks.failed += 1

        def nothing_left():
            expect(not leftovers(d), "processes naming %s remain: %s" % (d, leftovers(d)))
        checks.run("stop leaves no process behind", nothing_left)
        if checks.failed:
            print("kept %s for a look" % d)
        else:
            shutil.rmtree(d, ignore_errors=True)
    print("%d passed, %d failed" % (checks.passed, checks.failed))
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
