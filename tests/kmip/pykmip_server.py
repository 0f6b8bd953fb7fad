#!/usr/bin/python3
"""Starts and stops a real KMIP server (PyKMIP's pykmip-server) for tests.

An independent KMIP implementation to test keyring_locker's KMIP client
against (issue #9). Usable from C++ fixtures, MTR scripts and the shell:

  pykmip_server.py start   --dir DIR [--port N] [--owner-pid PID]
                           [--log-level INFO|DEBUG] [--key-type ec|rsa]
  pykmip_server.py stop    --dir DIR      # SIGINT, SIGTERM, then SIGKILL
  pykmip_server.py restart --dir DIR      # same port, TLS files, database
  pykmip_server.py pause   --dir DIR      # SIGSTOP: the server hangs
  pykmip_server.py resume  --dir DIR      # SIGCONT
  pykmip_server.py status  --dir DIR      # exit 0 when it answers KMIP
  pykmip_server.py get     --dir DIR KEY  # one field of DIR/server.json
  pykmip_server.py which                  # the pykmip-server found, or exit 1

`start` makes (once per DIR, kept by restart) a test CA, a server
certificate for 127.0.0.1/localhost, the client certificate our client uses
(CN=keyring_locker, clientAuth EKU), a second client of the same CA
(CN=other_client: another owner), a client certificate without the
clientAuth EKU, and a client certificate from another CA (wrong-CA tests).
It writes DIR/server.conf (TLS 1.2, client certificates required, SQLite
database DIR/pykmip.db, log DIR/server.log), starts pykmip-server on
127.0.0.1 in its own process group, waits (at most --wait seconds) until it
answers a KMIP DiscoverVersions request over TLS with our client
certificate, writes DIR/server.json and prints it as one JSON line.

--owner-pid PID: a watchdog kills the server when PID exits, so a test
program that crashes or is killed by ctest leaves no server behind.

The server is found as $KLK_PYKMIP_SERVER, the pinned venv scripts/deps.sh
makes under ${KEYRING_LOCKER_CACHE:-$HOME/.cache/keyring_locker}/pykmip-venv
when Debian's package does not work, or /usr/bin/pykmip-server (Debian's
python3-pykmip).
Standard library and the openssl command only.
"""
import argparse
import json
import os
import signal
import socket
import ssl
import struct
import subprocess
import sys
import time

# The process-group handling (members, stop, watchdog) shared with
# tests/aws/moto_server.py.
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import server_group  # noqa: E402
from server_group import load_state, members, save_state, signal_group  # noqa: E402

WAIT_SECONDS = 30
# SIGINT ends PyKMIP's accept loop at once (SIGTERM waits out its 10 s accept
# timeout, then 10 s per open connection); every request is committed to
# SQLite before its response is sent, so SIGKILL loses nothing.
STOP_STEPS = ((signal.SIGINT, 2.0), (signal.SIGTERM, 1.0), (signal.SIGKILL, 3.0))
CLIENT_CN = "keyring_locker"
OTHER_CLIENT_CN = "other_client"


def fail(message):
    print("pykmip_server: " + message, file=sys.stderr)
    sys.exit(1)


# ---------------------------------------------------------------- locating

def cache_dir():
    return os.environ.get("KEYRING_LOCKER_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "keyring_locker")


def find_server_binary():
    # scripts/deps.sh makes the venv only when Debian's package does not
    # import (and removes it when Debian's does), so a venv present wins.
    candidates = [os.environ.get("KLK_PYKMIP_SERVER", ""),
                  os.path.join(cache_dir(), "pykmip-venv", "bin", "pykmip-server"),
                  "/usr/bin/pykmip-server"]
    for path in candidates:
        if path and os.access(path, os.X_OK):
            return path
    return None


# ---------------------------------------------------------------- TLS files

def run_openssl(args, cwd):
    result = subprocess.run(["openssl"] + args, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=60)
    if result.returncode != 0:
        fail("openssl %s failed: %s" % (" ".join(args[:2]), result.stdout.strip()))


def new_key_args(key_type):
    if key_type == "rsa":
        return ["-newkey", "rsa:2048"]
    return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]


def make_ca(tls, name, subject, key_type):
    run_openssl(["req", "-x509", "-nodes"] + new_key_args(key_type) +
                ["-keyout", name + "-key.pem", "-out", name + ".pem", "-days", "3650",
                 "-subj", subject, "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign"], tls)


def make_leaf(tls, name, ca, subject, extensions, key_type):
    ext_file = os.path.join(tls, name + ".ext")
    with open(ext_file, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n" + extensions)
    run_openssl(["req", "-new", "-nodes"] + new_key_args(key_type) +
                ["-keyout", name + "-key.pem", "-out", name + ".csr", "-subj", subject], tls)
    run_openssl(["x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + "-key.pem",
                 "-set_serial", "0x" + os.urandom(8).hex(), "-days", "3650",
                 "-out", name + ".pem", "-extfile", ext_file], tls)
    os.remove(os.path.join(tls, name + ".csr"))
    os.remove(ext_file)


CLIENT_EXT = "keyUsage=critical,digitalSignature,keyAgreement,keyEncipherment\n" \
             "extendedKeyUsage=clientAuth\n"


def make_tls_files(tls, key_type):
    """Makes the certificates once; restart and later starts reuse them."""
    if os.path.exists(os.path.join(tls, "complete")):
        return
    os.makedirs(tls, exist_ok=True)
    make_ca(tls, "ca", "/CN=keyring_locker test KMIP CA", key_type)
    make_leaf(tls, "server", "ca", "/CN=localhost",
              "keyUsage=critical,digitalSignature,keyAgreement,keyEncipherment\n"
              "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n", key_type)
    make_leaf(tls, "client", "ca", "/CN=" + CLIENT_CN, CLIENT_EXT, key_type)
    make_leaf(tls, "other-client", "ca", "/CN=" + OTHER_CLIENT_CN, CLIENT_EXT, key_type)
    make_leaf(tls, "noeku-client", "ca", "/CN=" + CLIENT_CN,
              "keyUsage=critical,digitalSignature,keyAgreement,keyEncipherment\n", key_type)
    make_ca(tls, "wrong-ca", "/CN=keyring_locker test KMIP wrong CA", key_type)
    make_leaf(tls, "wrong-client", "wrong-ca", "/CN=" + CLIENT_CN, CLIENT_EXT, key_type)
    for name in os.listdir(tls):
        if name.endswith("-key.pem"):
            os.chmod(os.path.join(tls, name), 0o600)
    open(os.path.join(tls, "complete"), "w").close()


# ---------------------------------------------------------------- config

# Every operation PyKMIP knows, allowed to the object's owner (the client
# certificate's CN). Objects use it when created with Operation Policy Name
# "keyring_locker"; PyKMIP's built-in "default" policy already allows the
# owner every operation on symmetric keys and secret data.
OWNER_OPERATIONS = ["REKEY", "DERIVE_KEY", "LOCATE", "CHECK", "GET", "GET_ATTRIBUTES",
                    "GET_ATTRIBUTE_LIST", "ADD_ATTRIBUTE", "MODIFY_ATTRIBUTE", "DELETE_ATTRIBUTE",
                    "SET_ATTRIBUTE", "OBTAIN_LEASE", "GET_USAGE_ALLOCATION", "ACTIVATE",
                    "REVOKE", "DESTROY", "ARCHIVE", "RECOVER"]


def write_config(d, port, log_level):
    policies = os.path.join(d, "policies")
    os.makedirs(policies, exist_ok=True)
    policy = {kind: {op: "ALLOW_OWNER" for op in OWNER_OPERATIONS}
              for kind in ("SYMMETRIC_KEY", "SECRET_DATA", "OPAQUE_DATA")}
    with open(os.path.join(policies, "keyring_locker.json"), "w") as f:
        json.dump({"keyring_locker": {"preset": policy}}, f, indent=1)
    tls = os.path.join(d, "tls")
    with open(os.path.join(d, "server.conf"), "w") as f:
        f.write("[server]\n"
                "hostname=127.0.0.1\n"
                "port=%d\n"
                "certificate_path=%s/server.pem\n"
                "key_path=%s/server-key.pem\n"
                "ca_path=%s/ca.pem\n"
                "auth_suite=TLS1.2\n"
                "enable_tls_client_auth=True\n"
                "policy_path=%s\n"
                "logging_level=%s\n"
                "database_path=%s/pykmip.db\n" % (port, tls, tls, tls, policies, log_level, d))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- probing

def ttlv(tag, kind, value):
    """One TTLV item: 3-byte tag, type, 4-byte length, value padded to 8."""
    if kind == 0x01:  # structure: value is the encoded children
        body = value
    elif kind in (0x02, 0x05):  # integer, enumeration
        body = struct.pack(">i", value) + b"\0" * 4
        return struct.pack(">I", tag)[1:] + bytes([kind]) + struct.pack(">I", 4) + body
    else:
        raise ValueError(kind)
    return struct.pack(">I", tag)[1:] + bytes([kind]) + struct.pack(">I", len(body)) + body


def discover_versions_request():
    version = ttlv(0x420069, 1, ttlv(0x42006A, 2, 1) + ttlv(0x42006B, 2, 2))
    header = ttlv(0x420077, 1, version + ttlv(0x42000D, 2, 1))
    item = ttlv(0x42000F, 1, ttlv(0x42005C, 5, 0x1E) + ttlv(0x420079, 1, b""))
    return ttlv(0x420078, 1, header + item)


def tls_context(d, cert="client"):
    tls = os.path.join(d, "tls")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(os.path.join(tls, "ca.pem"))
    ctx.load_cert_chain(os.path.join(tls, cert + ".pem"), os.path.join(tls, cert + "-key.pem"))
    return ctx


def answers_kmip(d, port, timeout=2.0):
    """True when the server completes a TLS handshake and a DiscoverVersions."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
            with tls_context(d).wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.sendall(discover_versions_request())
                header = b""
                while len(header) < 8:
                    chunk = s.recv(8 - len(header))
                    if not chunk:
                        return False
                    header += chunk
                return header[:4] == bytes([0x42, 0x00, 0x7B, 0x01])
    except (OSError, ssl.SSLError):
        return False


# ---------------------------------------------------------------- state

# ---------------------------------------------------------------- commands

def policies_loaded(d, log_offset):
    """The policy monitor loads DIR/policies a moment after the socket opens."""
    try:
        with open(os.path.join(d, "server.log"), "rb") as f:
            f.seek(log_offset if log_offset <= log_size(d) else 0)  # rotated: reread
            return b"Loading policy: keyring_locker" in f.read()
    except OSError:
        return False


def log_size(d):
    try:
        return os.path.getsize(os.path.join(d, "server.log"))
    except OSError:
        return 0


def launch(d, port, log_level):
    write_config(d, port, log_level)
    out = open(os.path.join(d, "server.out"), "ab")
    binary = find_server_binary()
    return subprocess.Popen([binary, "-f", os.path.join(d, "server.conf"),
                             "-l", os.path.join(d, "server.log")],
                            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                            process_group=0, close_fds=True)  # its own group: stop ends all of it


def tail(path, lines=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no %s)" % path


def cmd_start(args, previous=None):
    d = os.path.abspath(args.dir)
    old = load_state(d)
    if old and old["pid"] in members(old["pgid"], old["dir"]):
        fail("a server from %s already runs (pid %d): stop it first" % (d, old["pid"]))
    if not find_server_binary():
        fail("pykmip-server not found: run scripts/deps.sh (Debian's python3-pykmip)")
    os.makedirs(d, exist_ok=True)
    make_tls_files(os.path.join(d, "tls"), args.key_type)
    fixed_port = args.port or (previous or {}).get("port", 0)
    began = time.monotonic()
    for attempt in range(3):
        port = fixed_port or free_port()
        log_offset = log_size(d)
        proc = launch(d, port, args.log_level)
        deadline = time.monotonic() + args.wait
        ready = False
        while time.monotonic() < deadline and proc.poll() is None and not ready:
            ready = policies_loaded(d, log_offset) and answers_kmip(d, port)
            if not ready:
                time.sleep(0.1)
        if ready:
            break
        if proc.poll() is None:
            signal_group(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            fail("pykmip-server did not answer on 127.0.0.1:%d within %d s; log tail:\n%s"
                 % (port, args.wait, tail(os.path.join(d, "server.log"))))
        signal_group(proc.pid, signal.SIGKILL)  # its Manager process may remain
        if fixed_port or attempt == 2:
            fail("pykmip-server exited with %s; server.out tail:\n%s\nserver.log tail:\n%s"
                 % (proc.returncode, tail(os.path.join(d, "server.out")),
                    tail(os.path.join(d, "server.log"))))
    owner_pid = args.owner_pid or (previous or {}).get("owner_pid", 0)
    tls = os.path.join(d, "tls")
    state = {
        "host": "127.0.0.1", "port": port, "pid": proc.pid, "pgid": proc.pid,
        "owner_pid": owner_pid, "server_binary": find_server_binary(),
        "start_seconds": round(time.monotonic() - began, 3),
        "dir": d, "database": os.path.join(d, "pykmip.db"), "log": os.path.join(d, "server.log"),
        "config": os.path.join(d, "server.conf"), "log_level": args.log_level,
        "key_type": args.key_type, "client_cn": CLIENT_CN, "other_client_cn": OTHER_CLIENT_CN,
    }
    for name in ("ca", "server", "client", "other-client", "noeku-client", "wrong-ca",
                 "wrong-client"):
        key = name.replace("-", "_")
        state[key + "_cert" if name not in ("ca", "wrong-ca") else key] = \
            os.path.join(tls, name + ".pem")
        state[key + "_key"] = os.path.join(tls, name + "-key.pem")
    save_state(d, state)
    if owner_pid:
        server_group.start_watchdog(__file__, d, proc.pid, owner_pid)
    print(json.dumps(state, sort_keys=True), flush=True)
    return 0


def stop_group(state):
    left = server_group.stop_group(state["pid"], state["pgid"], state["dir"], STOP_STEPS)
    if left:
        fail("processes %s of %s survived SIGKILL" % (left, state["dir"]))


def cmd_stop(args):
    state = load_state(os.path.abspath(args.dir))
    if not state:
        return 0  # nothing was started here
    stop_group(state)
    return 0


def cmd_restart(args):
    d = os.path.abspath(args.dir)
    state = load_state(d)
    if not state:
        fail("no server.json in %s: start first" % d)
    stop_group(state)
    args.key_type = state.get("key_type", args.key_type)
    if args.log_level is None:
        args.log_level = state.get("log_level", "INFO")
    return cmd_start(args, previous=state)


def cmd_signal(args, sig):
    state = load_state(os.path.abspath(args.dir))
    if not state or state["pid"] not in members(state["pgid"], state["dir"]):
        fail("no running server in %s" % args.dir)
    os.kill(state["pid"], sig)  # the server process alone: the watchdog keeps watching
    return 0


def cmd_status(args):
    d = os.path.abspath(args.dir)
    state = load_state(d)
    up = bool(state) and state["pid"] in members(state["pgid"], d) and answers_kmip(d, state["port"])
    print("running" if up else "not answering")
    return 0 if up else 1


def cmd_get(args):
    state = load_state(os.path.abspath(args.dir))
    if not state or args.key not in state:
        fail("no field %r in %s/server.json" % (args.key, args.dir))
    print(state[args.key])
    return 0


def cmd_which(args):
    binary = find_server_binary()
    if binary:
        print(binary)
    return 0 if binary else 1


def cmd_watchdog(args):
    """Runs in the server's process group; ends the group when the owner exits."""
    d = os.path.abspath(args.dir)

    def stop():
        state = load_state(d)
        if state and state.get("pgid") == args.pgid:
            stop_group(state)  # ends this watchdog too

    return server_group.watch(d, args.pgid, args.owner_pid, stop)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("start", "restart"):
        p = sub.add_parser(name)
        p.add_argument("--dir", required=True)
        p.add_argument("--port", type=int, default=0)
        p.add_argument("--owner-pid", type=int, default=0)
        p.add_argument("--log-level", choices=("DEBUG", "INFO"),
                       default="INFO" if name == "start" else None)
        p.add_argument("--key-type", choices=("ec", "rsa"), default="ec")
        p.add_argument("--wait", type=int, default=WAIT_SECONDS)
    for name in ("stop", "pause", "resume", "status"):
        sub.add_parser(name).add_argument("--dir", required=True)
    p = sub.add_parser("get")
    p.add_argument("--dir", required=True)
    p.add_argument("key")
    sub.add_parser("which")
    p = sub.add_parser("_watchdog")
    p.add_argument("--dir", required=True)
    p.add_argument("--owner-pid", type=int, required=True)
    p.add_argument("--pgid", type=int, required=True)
    args = parser.parse_args()
    commands = {
        "start": cmd_start, "restart": cmd_restart, "stop": cmd_stop,
        "pause": lambda a: cmd_signal(a, signal.SIGSTOP),
        "resume": lambda a: cmd_signal(a, signal.SIGCONT),
        "status": cmd_status, "get": cmd_get, "which": cmd_which, "_watchdog": cmd_watchdog,
    }
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
