#!/usr/bin/python3
"""Independent-client proof: python3-hvac (0.11) drives the dev locker.

Run: /usr/bin/python3 tests/hvac/test_hvac_devlocker.py --devlocker build/bin/devlocker
Starts the dev locker on a free port with a temporary TLS directory, runs every
check, prints "N passed, M failed" and exits non-zero on any failure.

strict_http=True: hvac then lists with GET ?list=true, because cpp-httplib
(the dev locker's HTTP server) rejects the non-standard LIST verb.
"""
import argparse
import base64
import shutil
import subprocess
import sys
import tempfile
import time

import hvac
from hvac import exceptions

ROOT_TOKEN = "hvac-root-token"


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


def start_devlocker(binary, tls_dir):
    proc = subprocess.Popen(
        [binary, "--listen", "127.0.0.1:0", "--tls-dir", tls_dir, "--root-token", ROOT_TOKEN],
        stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    prefix = "devlocker listening on "
    if not line.startswith(prefix):
        proc.terminate()
        raise SystemExit("devlocker did not start: first line %r" % line)
    return proc, line[len(prefix):]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--devlocker", required=True, help="path to the devlocker binary")
    args = parser.parse_args()
    tls_dir = tempfile.mkdtemp(prefix="devlocker-hvac-")
    proc, url = start_devlocker(args.devlocker, tls_dir)
    checks = Checks()
    try:
        client = hvac.Client(url=url, token=ROOT_TOKEN, verify=tls_dir + "/ca.pem", strict_http=True)
        for _ in range(50):
            try:
                client.sys.read_health_status(method="GET")
                break
            except Exception:
                time.sleep(0.1)
        run_all(checks, client, url, tls_dir)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(tls_dir, ignore_errors=True)
    print("%d passed, %d failed" % (checks.passed, checks.failed))
    return 1 if checks.failed else 0


def run_all(checks, client, url, tls_dir):
    def authenticated():
        expect(client.is_authenticated(), "root token must authenticate")
        bad = hvac.Client(url=url, token="hvs.bogus", verify=tls_dir + "/ca.pem", strict_http=True)
        expect(not bad.is_authenticated(), "a bogus token must not authenticate")

    def health():
        h = client.sys.read_health_status(method="GET")
        expect(h["initialized"] and not h["sealed"] and not h["standby"], "health body %r" % h)
        expect(h["version"] == "1.15.0+ent.devlocker", "version %r" % h["version"])

    def kv2_cas():
        kv = client.secrets.kv.v2
        r = kv.create_or_update_secret(path="hvac/one", secret={"k": "v"}, cas=0)
        expect(r["data"]["version"] == 1, "first write is version 1")
        try:
            kv.create_or_update_secret(path="hvac/one", secret={"k": "w"}, cas=0)
            raise AssertionError("second cas=0 write must fail")
        except exceptions.InvalidRequest as e:
            expect("check-and-set" in str(e), "error names the cas mismatch: %s" % e)

    def kv2_read_list_metadata():
        kv = client.secrets.kv.v2
        kv.create_or_update_secret(path="hvac/two", secret={"n": 2})
        r = kv.read_secret_version(path="hvac/one")
        expect(r["data"]["data"] == {"k": "v"}, "read back %r" % r["data"]["data"])
        keys = kv.list_secrets(path="hvac")["data"]["keys"]
        expect(keys == ["one", "two"], "list %r" % keys)
        meta = kv.read_secret_metadata(path="hvac/one")["data"]
        expect(meta["current_version"] == 1 and meta["max_versions"] == 0 and "1" in meta["versions"],
               "metadata %r" % meta)

    def kv1():
        client.sys.enable_secrets_engine(backend_type="kv", path="kv1", options={"version": "1"})
        kv = client.secrets.kv.v1
        kv.create_or_update_secret(path="app/cfg", secret={"a": "b"}, mount_point="kv1")
        expect(kv.read_secret(path="app/cfg", mount_point="kv1")["data"] == {"a": "b"}, "kv1 read")
        expect(kv.list_secrets(path="app", mount_point="kv1")["data"]["keys"] == ["cfg"], "kv1 list")

    def transit():
        t = client.secrets.transit
        t.create_key(name="hk", key_type="aes256-gcm96")
        plain = base64.b64encode(b"master key bytes").decode()
        ct = t.encrypt_data(name="hk", plaintext=plain)["data"]["ciphertext"]
        expect(ct.startswith("vault:v1:"), "ciphertext %r" % ct[:9])
        expect(t.decrypt_data(name="hk", ciphertext=ct)["data"]["plaintext"] == plain, "decrypt")
        t.rotate_key(name="hk")
        expect(t.read_key(name="hk")["data"]["latest_version"] == 2, "rotated")
        ct2 = t.encrypt_data(name="hk", plaintext=plain)["data"]["ciphertext"]
        expect(ct2.startswith("vault:v2:"), "new version used")
        dk = t.generate_data_key(name="hk", key_type="plaintext", bits=256)["data"]
        expect(len(base64.b64decode(dk["plaintext"])) == 32, "256-bit data key")
        back = t.decrypt_data(name="hk", ciphertext=dk["ciphertext"])["data"]["plaintext"]
        expect(back == dk["plaintext"], "data key ciphertext decrypts to its plaintext")

    def approle():
        ar = client.auth.approle
        ar.create_or_update_approle(role_name="db", token_policies=["keyring"], token_ttl="10m")
        role_id = ar.read_role_id(role_name="db")["data"]["role_id"]
        secret_id = ar.generate_secret_id(role_name="db")["data"]["secret_id"]
        fresh = hvac.Client(url=url, verify=tls_dir + "/ca.pem", strict_http=True)
        auth = fresh.auth.approle.login(role_id=role_id, secret_id=secret_id)["auth"]
        expect(auth["lease_duration"] == 600 and auth["renewable"], "login auth %r" % auth)
        expect("keyring" in auth["policies"], "policies %r" % auth["policies"])
        expect(fresh.is_authenticated(), "approle token authenticates")

    def approle_limits():
        # What Vault enforces and an older dev locker dropped: a secret ID's
        # use limit, the CIDRs it was issued with, and token_bound_cidrs.
        ar = client.auth.approle
        ar.create_or_update_approle(role_name="once", token_policies=["keyring"], secret_id_num_uses=1)
        role_id = ar.read_role_id(role_name="once")["data"]["role_id"]
        secret_id = ar.generate_secret_id(role_name="once")["data"]["secret_id"]
        fresh = hvac.Client(url=url, verify=tls_dir + "/ca.pem", strict_http=True)
        fresh.auth.approle.login(role_id=role_id, secret_id=secret_id)
        try:
            fresh.auth.approle.login(role_id=role_id, secret_id=secret_id)
            expect(False, "a secret ID with num_uses=1 logged in twice")
        except hvac.exceptions.InvalidRequest as e:
            expect("invalid role or secret ID" in str(e), "second use refused: %s" % e)

        ar.create_or_update_approle(role_name="far", token_policies=["keyring"],
                                    secret_id_bound_cidrs=["10.0.0.0/8"])
        role_id = ar.read_role_id(role_name="far")["data"]["role_id"]
        secret_id = ar.generate_secret_id(role_name="far")["data"]["secret_id"]
        try:
            fresh.auth.approle.login(role_id=role_id, secret_id=secret_id)
            expect(False, "a secret ID bound to 10.0.0.0/8 logged in from 127.0.0.1")
        except hvac.exceptions.InvalidRequest as e:
            expect('source address "127.0.0.1" unauthorized through CIDR restrictions on the secret ID' in str(e),
                   "CIDR refusal: %s" % e)
        # Widening the role later does not widen a secret ID already issued.
        ar.create_or_update_approle(role_name="far", secret_id_bound_cidrs=["10.0.0.0/8", "127.0.0.0/8"])
        try:
            fresh.auth.approle.login(role_id=role_id, secret_id=secret_id)
            expect(False, "an issued secret ID took the role's new CIDRs")
        except hvac.exceptions.InvalidRequest:
            pass
        near = ar.generate_secret_id(role_name="far")["data"]["secret_id"]
        expect(fresh.auth.approle.login(role_id=role_id, secret_id=near)["auth"]["client_token"], "login from 127/8")

        ar.create_or_update_approle(role_name="bound", token_policies=["keyring"], token_bound_cidrs=["10.1.2.0/24"])
        role_id = ar.read_role_id(role_name="bound")["data"]["role_id"]
        secret_id = ar.generate_secret_id(role_name="bound")["data"]["secret_id"]
        try:
            fresh.auth.approle.login(role_id=role_id, secret_id=secret_id)
            expect(False, "a token bound to 10.1.2.0/24 was issued to 127.0.0.1")
        except hvac.exceptions.Forbidden:
            pass
        role = ar.read_role(role_name="bound")["data"]
        expect(role["token_bound_cidrs"] == ["10.1.2.0/24"], "role shows token_bound_cidrs: %r" % role)
        try:
            ar.create_or_update_approle(role_name="bad", secret_id_bound_cidrs=["10.0.0.0/33"])
            expect(False, "an invalid CIDR was accepted")
        except hvac.exceptions.InvalidRequest as e:
            expect("10.0.0.0/33" in str(e), "invalid CIDR named: %s" % e)

    def token_lookup_renew():
        made = client.auth.token.create(policies=["keyring"], ttl="30s", explicit_max_ttl="90s")
        user = hvac.Client(url=url, token=made["auth"]["client_token"], verify=tls_dir + "/ca.pem",
                           strict_http=True)
        data = user.auth.token.lookup_self()["data"]
        expect(0 < data["ttl"] <= 30 and data["renewable"], "lookup %r" % data)
        expect("id" not in data, "lookup-self must not echo the token")
        renewed = user.auth.token.renew_self(increment="1h")["auth"]
        expect(80 < renewed["lease_duration"] <= 90, "renew capped at explicit_max_ttl: %r" % renewed)

    for name, fn in [("is_authenticated", authenticated), ("read_health_status", health),
                     ("kv2 cas=0 twice", kv2_cas), ("kv2 read/list/metadata", kv2_read_list_metadata),
                     ("kv1 mount", kv1), ("transit", transit), ("approle", approle),
                     ("approle use limits and CIDRs", approle_limits),
                     ("token lookup/renew", token_lookup_renew)]:
        checks.run(name, fn)


if __name__ == "__main__":
    sys.exit(main())
