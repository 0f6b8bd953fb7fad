#!/usr/bin/python3
"""The PyKMIP launcher works end to end (ctest pykmip_server_smoke).

Run: /usr/bin/python3 tests/kmip/test_pykmip_smoke.py
Starts pykmip-server through tests/kmip/pykmip_server.py in a temporary
folder; PyKMIP's own client creates, registers, gets and locates keys; the
server restarts and the keys are still there; a client certificate from
another CA is refused in the TLS handshake; another client cannot use our
keys; pause makes the server hang and resume brings it back; stop leaves no
process. Prints "N passed, M failed". Bounded: 55 s in all, the server is
stopped (and its folder removed) even when a check fails or time runs out.
"""
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
LAUNCHER = os.path.join(HERE, "pykmip_server.py")
DEADLINE_SECONDS = 55


def reexec_in_venv_if_needed():
    """scripts/deps.sh falls back to a venv when Debian's PyKMIP fails."""
    try:
        import kmip  # noqa: F401
    except ImportError:
        cache = os.environ.get("KEYRING_LOCKER_CACHE") or os.path.expanduser(
            "~/.cache/keyring_locker")
        venv_python = os.path.join(cache, "pykmip-venv", "bin", "python3")
        if os.path.exists(venv_python) and sys.executable != venv_python:
            os.execv(venv_python, [venv_python] + sys.argv)
        raise SystemExit("PyKMIP is not installed: run scripts/deps.sh")


reexec_in_venv_if_needed()
sys.path.insert(0, HERE)
import pykmip_server  # noqa: E402  (the launcher: its zombie-aware group check)
warnings.simplefilter("ignore")  # PyKMIP's imports warn about old ciphers
from kmip.core import enums  # noqa: E402
from kmip.core import objects as core_objects  # noqa: E402
from kmip.core.factories import attributes as attribute_factory  # noqa: E402
from kmip.pie import exceptions as pie_exceptions  # noqa: E402
from kmip.pie import objects  # noqa: E402
from kmip.pie.client import ProxyKmipClient  # noqa: E402

FACTORY = attribute_factory.AttributeFactory()
KEY_BYTES = bytes(range(32))


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def run(self, name, fn):
        try:
            fn()
            self.passed += 1
            print("ok   " + name, flush=True)
        except Exception as e:  # report every failure, keep going
            self.failed += 1
            print("FAIL %s: %s: %s" % (name, type(e).__name__, e), flush=True)


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def launcher(*args, timeout=45):
    result = subprocess.run(["/usr/bin/python3", LAUNCHER] + list(args), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError("launcher %s failed: %s" % (args[0], result.stderr.strip()))
    return result.stdout


def client(state, who="client"):
    c = ProxyKmipClient(hostname=state["host"], port=state["port"], cert=state[who + "_cert"],
                        key=state[who + "_key"], ca=state["ca"], config_file="/dev/null")
    c.proxy.timeout = 5
    return c


def name_attr(name):
    return FACTORY.create_attribute(enums.AttributeType.NAME, name)


def group_attr(group):
    return FACTORY.create_attribute(enums.AttributeType.OBJECT_GROUP, group)


def handshake(state, cert, key, timeout=5):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(state["ca"])
    ctx.load_cert_chain(cert, key)
    with socket.create_connection((state["host"], state["port"]), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname=state["host"]) as s:
            return s.version()


def run_all(checks, d):
    st = {}
    ids = {}

    def start():
        began = time.monotonic()
        st.update(json.loads(launcher("start", "--dir", d, "--owner-pid", str(os.getpid()))))
        print("     pykmip-server %s answered after %.2f s (launcher total %.2f s)"
              % (st["server_binary"], st["start_seconds"], time.monotonic() - began))
        expect(launcher("status", "--dir", d).strip() == "running", "status says not running")
    checks.run("start: the launcher starts pykmip-server and it answers KMIP", start)
    if not st:
        return

    def versions():
        with client(st) as c:
            offered = [(v.major, v.minor) for v in c.proxy.discover_versions().protocol_versions]
        expect((1, 2) in offered and (1, 4) in offered, "DiscoverVersions offered %s" % offered)
    checks.run("DiscoverVersions offers KMIP 1.2 and 1.4", versions)

    def create_get_locate():
        with client(st) as c:
            template_attrs = [
                FACTORY.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_ALGORITHM,
                                         enums.CryptographicAlgorithm.AES),
                FACTORY.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_LENGTH, 256),
                FACTORY.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_USAGE_MASK,
                                         [enums.CryptographicUsageMask.ENCRYPT,
                                          enums.CryptographicUsageMask.DECRYPT]),
                name_attr("klk-smoke-created"), group_attr("klk-smoke")]
            result = c.proxy.create(enums.ObjectType.SYMMETRIC_KEY,
                                    core_objects.TemplateAttribute(attributes=template_attrs))
            expect(result.result_status.value == enums.ResultStatus.SUCCESS,
                   "Create failed: %s" % (result.result_message,))
            ids["created"] = result.uuid
            key = c.get(ids["created"])
            expect(len(key.value) == 32, "Get returned %d key bytes" % len(key.value))
            ids["created_bytes"] = key.value
            found = c.locate(attributes=[name_attr("klk-smoke-created"), group_attr("klk-smoke")])
            expect(found == [ids["created"]], "Locate by Name + Object Group found %s" % found)
    checks.run("Create AES-256 with Name and Object Group, Get, Locate", create_get_locate)

    def register_get():
        with client(st) as c:
            mask = [enums.CryptographicUsageMask.ENCRYPT, enums.CryptographicUsageMask.DECRYPT]
            ids["registered"] = c.register(objects.SymmetricKey(
                enums.CryptographicAlgorithm.AES, 256, KEY_BYTES, masks=mask,
                name="klk-smoke-registered"))
            expect(c.get(ids["registered"]).value == KEY_BYTES, "Get did not return the bytes")
    checks.run("Register raw key bytes and Get them back", register_get)

    def restart_keeps_keys():
        port = st["port"]
        st.update(json.loads(launcher("restart", "--dir", d)))
        expect(st["port"] == port, "restart moved the port %d -> %d" % (port, st["port"]))
        with client(st) as c:
            expect(c.get(ids["registered"]).value == KEY_BYTES, "registered key changed")
            expect(c.get(ids["created"]).value == ids["created_bytes"], "created key changed")
            found = c.locate(attributes=[name_attr("klk-smoke-registered")])
            expect(found == [ids["registered"]], "Locate after restart found %s" % found)
    checks.run("restart: same port, keys and names survive", restart_keeps_keys)

    def wrong_ca_refused():
        try:
            handshake(st, st["wrong_client_cert"], st["wrong_client_key"])
        except ssl.SSLError as e:
            expect("UNKNOWN_CA" in str(e), "expected an unknown-CA alert, got %s" % e)
            return
        raise AssertionError("the wrong-CA client certificate was accepted")
    checks.run("a client certificate from another CA is refused in the handshake", wrong_ca_refused)

    def right_cert_tls12():
        version = handshake(st, st["client_cert"], st["client_key"])
        expect(version == "TLSv1.2", "negotiated %s" % version)
    checks.run("our client certificate is accepted (TLS 1.2)", right_cert_tls12)

    def other_owner_denied():
        with client(st, "other_client") as c:
            try:
                c.get(ids["registered"])
            except pie_exceptions.KmipOperationFailure as e:
                expect(e.reason == enums.ResultReason.PERMISSION_DENIED, "reason %s" % e.reason)
            else:
                raise AssertionError("another client read our key")
            found = c.locate(attributes=[name_attr("klk-smoke-registered")])
            expect(found == [], "another client located our key: %s" % found)
    checks.run("another client (CN=other_client) cannot Get or Locate our keys", other_owner_denied)

    def pause_resume():
        launcher("pause", "--dir", d)
        began = time.monotonic()
        try:
            handshake(st, st["client_cert"], st["client_key"], timeout=1.5)
            raise AssertionError("a paused server completed a handshake")
        except (socket.timeout, TimeoutError):
            pass
        expect(time.monotonic() - began < 5, "the client timeout did not hold")
        launcher("resume", "--dir", d)
        with client(st) as c:
            expect(c.get(ids["registered"]).value == KEY_BYTES, "no answer after resume")
    checks.run("pause makes the server hang; resume brings it back", pause_resume)

    def stop():
        pid = st["pid"]
        began = time.monotonic()
        launcher("stop", "--dir", d)
        expect(time.monotonic() - began < 10, "stop took %.1f s" % (time.monotonic() - began))
        expect(not pykmip_server.server_group.group_alive(pid, st["dir"]), "processes of the server's group remain")
        try:
            handshake(st, st["client_cert"], st["client_key"], timeout=1)
            raise AssertionError("something still answers on the port")
        except (ConnectionRefusedError, OSError):
            pass
    checks.run("stop ends every process of the server", stop)


def main():
    d = tempfile.mkdtemp(prefix="klk-pykmip-smoke-")
    checks = Checks()

    def out_of_time(signum, frame):
        raise TimeoutError("the smoke test ran past %d s" % DEADLINE_SECONDS)
    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(DEADLINE_SECONDS)
    try:
        run_all(checks, d)
    except TimeoutError as e:
        checks.failed += 1
        print("FAIL " + str(e))
    finally:
        signal.alarm(0)
        subprocess.run(["/usr/bin/python3", LAUNCHER, "stop", "--dir", d], timeout=30)
        shutil.rmtree(d, ignore_errors=True)
    print("%d passed, %d failed" % (checks.passed, checks.failed))
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
