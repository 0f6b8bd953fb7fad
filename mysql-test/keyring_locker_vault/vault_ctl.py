#!/usr/bin/python3
"""Controls the real Vault the keyring_locker_vault suite runs against
(started by scripts/mtr.sh through keyring_locker_vault/vault_env.sh).
It answers the commands the core tests give the dev locker's locker_ctl.sh,
each with what a real Vault offers instead of an armed fault:
  vault_ctl.py setup TOKEN_FILE  the suite's Transit key "mtr", the policy
                               mtr-keys (docs/locker-setup.md's least
                               privilege, for the scopes mtr/*) and the
                               suite's token with that policy, mode 0600
  vault_ctl.py stop | start    the server stopped (SIGTERM) | started again
                               on its port, with its data, and unsealed
  vault_ctl.py seal | unseal   sys/seal | sys/unseal with the init key;
                               unseal returns once the node is active
  vault_ctl.py pause | resume  SIGSTOP | SIGCONT: requests hang
  vault_ctl.py token FILE [TTL]
                               a token (policy mtr-keys; TTL default 1h, also
                               its explicit max TTL: renewal cannot extend it)
  vault_ctl.py approle ROLE_ID SECRET_ID_FILE
                               AppRole role mtr-ROLE_ID (policy mtr-keys,
                               fixed role_id) and a fresh secret_id
  vault_ctl.py fault '{"action":"expire_tokens"}'
                               revokes every token made by `token` and every
                               AppRole login token (auth/token/revoke-accessor):
                               the dev locker's expire_tokens, for real; the
                               suite's own token is left alone. Other dev
                               locker faults have no real counterpart: error.
  vault_ctl.py clear           nothing to clear (no fault is ever armed)
Uses KLK_VAULT_DIR (the launcher's folder: server.json, init.json)."""
import json
import os
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "vault"))
import real_vault  # noqa: E402

DIR = os.environ.get("KLK_VAULT_DIR") or sys.exit("vault_ctl: KLK_VAULT_DIR is not set (run through scripts/mtr.sh)")
LAUNCHER = real_vault.__file__
TRANSIT_KEY = "mtr"  # keyring-locker-transit-key in the suite's my.cnf
POLICY = "mtr-keys"
# docs/locker-setup.md's policy with the suite's scopes (mtr/<test>) and key.
POLICY_HCL = """
path "secret/data/keyring_locker/mtr/*"     { capabilities = ["create", "read"] }
path "secret/metadata/keyring_locker/mtr/*" { capabilities = ["list"] }
path "transit/encrypt/mtr"            { capabilities = ["update"] }
path "transit/decrypt/mtr"            { capabilities = ["update"] }
path "transit/datakey/plaintext/mtr"  { capabilities = ["update"] }
path "transit/keys/mtr"               { capabilities = ["read"] }
"""
# display_name of the tokens `expire_tokens` revokes (Vault prefixes "token-").
FAULT_TOKEN_NAMES = ("token-mtr-fault", "approle")
WAIT_S = 30


def fail(message):
    sys.exit("vault_ctl: " + message)


def state():
    s = real_vault.load_state(DIR)
    return s or fail("no %s: scripts/mtr.sh did not start the Vault" % real_vault.state_path(DIR))


def api():
    s = state()
    with open(s["init_file"]) as f:
        init = json.load(f)
    a = real_vault.Api(s["port"], s["ca"], init["root_token"])
    a.unseal_key = init["unseal_key"]
    return a


def must(reply, what, ok=(200, 204)):
    status, body = reply
    if status not in ok:
        fail("%s: HTTP %s %s" % (what, status, json.dumps(body)[:300]))
    return body


def write_secret(path, text):
    real_vault.write_secret(path, text)
    os.chmod(path, 0o600)


def wait_active(a):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if a.health() == 200:
            return
        time.sleep(0.1)
    fail("Vault did not become active within %d s" % WAIT_S)


def make_token(a, ttl, name):
    body = must(a.call("POST", "auth/token/create",
                       {"policies": [POLICY], "ttl": ttl, "explicit_max_ttl": ttl,
                        "display_name": name, "no_parent": True}), "creating a token")
    return body["auth"]["client_token"]


def expire_tokens(a):
    """Revokes the fault tests' tokens: listed by accessor, picked by name."""
    listed = must(a.call("GET", "auth/token/accessors?list=true"), "listing token accessors")
    revoked = 0
    for accessor in (listed.get("data") or {}).get("keys", []):
        status, body = a.call("POST", "auth/token/lookup-accessor", {"accessor": accessor})
        if status != 200 or (body.get("data") or {}).get("display_name") not in FAULT_TOKEN_NAMES:
            continue
        must(a.call("POST", "auth/token/revoke-accessor", {"accessor": accessor}), "revoking a token")
        revoked += 1
    return revoked


def launcher(*args):
    import subprocess
    r = subprocess.run([sys.executable, LAUNCHER, *args, "--dir", DIR], stdout=subprocess.DEVNULL)
    if r.returncode != 0:
        fail("real_vault.py %s failed (exit %d)" % (args[0], r.returncode))


def main(argv):
    cmd = argv[0] if argv else ""
    if cmd == "setup":
        a = api()
        must(a.call("POST", "transit/keys/" + TRANSIT_KEY, {"type": "aes256-gcm96"}), "creating transit key mtr")
        must(a.call("PUT", "sys/policies/acl/" + POLICY, {"policy": POLICY_HCL}), "writing policy " + POLICY)
        write_secret(argv[1], make_token(a, "24h", "mtr-suite"))
    elif cmd == "stop":
        launcher("stop")
    elif cmd == "start":
        s = real_vault.load_state(DIR)
        if s and real_vault.members(s["pgid"], DIR):
            return
        launcher("start")  # the same folder: same port, TLS files and data; unsealed
    elif cmd == "seal":
        must(api().call("PUT", "sys/seal"), "sealing")
    elif cmd == "unseal":
        a = api()
        must(a.call("PUT", "sys/unseal", {"key": a.unseal_key}), "unsealing")
        wait_active(a)
    elif cmd in ("pause", "resume"):
        os.kill(state()["pid"], signal.SIGSTOP if cmd == "pause" else signal.SIGCONT)
    elif cmd == "token" and len(argv) in (2, 3):
        write_secret(argv[1], make_token(api(), argv[2] if len(argv) == 3 else "1h", "mtr-fault"))
    elif cmd == "approle" and len(argv) == 3:
        a = api()
        status, body = a.call("POST", "sys/auth/approle", {"type": "approle"})
        if status not in (200, 204) and "already in use" not in json.dumps(body):
            fail("enabling AppRole: HTTP %s %s" % (status, json.dumps(body)[:300]))
        role = "auth/approle/role/mtr-" + argv[1]
        must(a.call("POST", role, {"token_ttl": 600, "token_policies": [POLICY]}), "writing the AppRole role")
        must(a.call("POST", role + "/role-id", {"role_id": argv[1]}), "setting the role_id")
        body = must(a.call("POST", role + "/secret-id", {}), "creating a secret_id")
        write_secret(argv[2], body["data"]["secret_id"])
    elif cmd == "fault" and len(argv) == 2:
        fault = json.loads(argv[1])
        if fault != {"action": "expire_tokens"}:
            fail("a real Vault has no fault %s: only expire_tokens (revocation) is done for real" % argv[1])
        # Nothing revoked would make the test prove nothing: an error.
        if expire_tokens(api()) == 0:
            fail("expire_tokens found no token made by `token` or an AppRole login to revoke")
    elif cmd == "clear":
        pass
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
