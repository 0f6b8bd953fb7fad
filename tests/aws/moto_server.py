#!/usr/bin/env python3
"""Starts and stops moto's AWS stand-in (moto_server, from PyPI's
moto[server], pinned in scripts/deps.sh) over HTTPS on 127.0.0.1, with a
certificate from a test CA made here, so keyring_locker's client keeps TLS
verification on.

    moto_server.py which                 path of moto_server (exit 3: not installed)
    moto_server.py python                the python of moto's venv (it has boto3)
    moto_server.py start --dir D [--owner-pid P] [--gate] [--port N]
                                         make D/tls, start, wait until it answers;
                                         prints D/server.json's one JSON line
    moto_server.py stop --dir D          SIGTERM, then SIGKILL (bounded): moto,
                                         the gate and the watchdog
    moto_server.py pause|resume --dir D  SIGSTOP/SIGCONT moto: KMS hangs
    moto_server.py down|up --dir D       --gate only: close the gate (connections
                                         refused, open ones cut) / open it again on
                                         the same port; moto and its keys stay
    moto_server.py get --dir D FIELD     one field of D/server.json

moto keeps its keys in memory only: a restarted moto has lost every KMS key.
A test that takes KMS away and brings it back uses --gate: clients reach
moto through a TCP relay (this script's _gate) on the published port, and
down/up stop and restart the relay, not moto.

--owner-pid P (default: this launcher's parent): a watchdog in moto's
process group ends moto and the gate once P is gone, so a test program or
mtr.sh killed with SIGKILL leaves no server behind
(tests/support/server_group.py, shared with tests/kmip/pykmip_server.py).

moto checks no signatures: the SigV4 headers are checked by a unit test
against AWS's published test vectors (tests/unit/aws_sigv4_test.cc).
Standard library and the openssl command only.
"""
import argparse
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import threading
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import server_group  # noqa: E402
from server_group import load_state, save_state, state_path  # noqa: E402

STOP_STEPS = ((signal.SIGTERM, 3.0), (signal.SIGKILL, 2.0))


def fail(message):
    print("moto_server.py: " + message, file=sys.stderr)
    sys.exit(1)


def find_binary():
    cache = os.environ.get("KEYRING_LOCKER_CACHE", os.path.expanduser("~/.cache/keyring_locker"))
    for path in (os.path.join(cache, "moto-venv", "bin", "moto_server"),):
        if os.access(path, os.X_OK):
            return path
    for d in os.environ.get("PATH", "").split(os.pathsep):
        path = os.path.join(d, "moto_server")
        if d and os.access(path, os.X_OK):
            return path
    return None


def openssl(args, cwd):
    r = subprocess.run(["openssl"] + args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=60)
    if r.returncode != 0:
        fail("openssl %s failed: %s" % (" ".join(args[:2]), r.stdout.strip()))


def make_tls(tls):
    os.makedirs(tls, exist_ok=True)
    if os.path.exists(os.path.join(tls, "server.pem")):
        return
    openssl(["req", "-x509", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-days", "30",
             "-subj", "/CN=keyring_locker test AWS CA", "-keyout", "ca-key.pem", "-out", "ca.pem"], tls)
    with open(os.path.join(tls, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    openssl(["req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-subj", "/CN=127.0.0.1", "-keyout", "server-key.pem", "-out", "server.csr"], tls)
    openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
             "-days", "30", "-extfile", "server.ext", "-out", "server.pem"], tls)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def answers(url, ca, timeout=1.0):
    ctx = ssl.create_default_context(cafile=ca)
    try:
        # moto's dashboard path answers without credentials.
        urllib.request.urlopen(url + "/moto-api/", timeout=timeout, context=ctx).read(64)
        return True
    except Exception:
        return False


def running(state):
    return state["pid"] in server_group.members(state["pgid"], state["dir"])


def start_gate(state):
    """The relay on the published port, in moto's process group."""
    gate = subprocess.Popen([sys.executable, os.path.abspath(__file__), "_gate", "--dir", state["dir"],
                             "--port", str(state["port"]), "--to", str(state["moto_port"])],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            process_group=state["pgid"], close_fds=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if gate.poll() is not None:
            fail("the gate on port %d exited with %s" % (state["port"], gate.returncode))
        try:
            socket.create_connection(("127.0.0.1", state["port"]), timeout=1).close()
            return gate.pid
        except OSError:
            time.sleep(0.05)
    gate.kill()
    fail("the gate did not listen on port %d within 10 s" % state["port"])


def cmd_start(args):
    binary = find_binary()
    if binary is None:
        print("moto_server.py: moto is not installed (scripts/deps.sh installs it)", file=sys.stderr)
        sys.exit(3)
    d = os.path.abspath(args.dir)
    old = load_state(d)
    if old and running(old):
        fail("a moto from %s already runs (pid %d): stop it first" % (d, old["pid"]))
    tls = os.path.join(d, "tls")
    make_tls(tls)
    port = args.port or free_port()
    moto_port = free_port() if args.gate else port
    moto_url = "https://127.0.0.1:%d" % moto_port
    log = open(os.path.join(d, "moto.log"), "ab")
    proc = subprocess.Popen([binary, "-H", "127.0.0.1", "-p", str(moto_port), "-c", os.path.join(tls, "server.pem"),
                             "-k", os.path.join(tls, "server-key.pem")], stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, process_group=0, close_fds=True)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            fail("moto_server exited with %s; see %s" % (proc.returncode, os.path.join(d, "moto.log")))
        if answers(moto_url, os.path.join(tls, "ca.pem")):
            break
        time.sleep(0.2)
    else:
        server_group.signal_group(proc.pid, signal.SIGKILL)
        fail("moto_server did not answer on %s within %d s" % (moto_url, args.timeout))
    state = {"pid": proc.pid, "pgid": proc.pid, "dir": d, "port": port, "moto_port": moto_port,
             "url": "https://127.0.0.1:%d" % port, "ca": os.path.join(tls, "ca.pem"),
             "log": os.path.join(d, "moto.log"), "gate_pid": 0,
             "owner_pid": args.owner_pid or os.getppid()}
    if args.gate:
        state["gate_pid"] = start_gate(state)
    save_state(d, state)
    server_group.start_watchdog(__file__, d, proc.pid, state["owner_pid"])
    print(json.dumps(state))


def cmd_stop(args):
    d = os.path.abspath(args.dir)
    state = load_state(d)
    if not state:
        return
    left = server_group.stop_group(state["pid"], state["pgid"], d, STOP_STEPS)
    if left:
        fail("processes %s of %s survived SIGKILL" % (left, d))
    os.remove(state_path(d))


def running_state(args):
    state = load_state(os.path.abspath(args.dir))
    if not state or not running(state):
        fail("no running moto in %s" % args.dir)
    return state


def cmd_signal(args, sig):
    os.kill(running_state(args)["pid"], sig)  # moto alone: the gate and the watchdog go on


def cmd_down(args):
    state = running_state(args)
    if not state["gate_pid"]:
        fail("moto in %s was started without --gate: nothing to take down" % args.dir)
    gate = state["gate_pid"]
    if server_group.alive(gate):
        os.kill(gate, signal.SIGKILL)  # open connections are cut with it
        deadline = time.monotonic() + 5
        while server_group.alive(gate) and time.monotonic() < deadline:
            time.sleep(0.05)
    state["gate_pid"] = -1
    save_state(state["dir"], state)


def cmd_up(args):
    state = running_state(args)
    if state["gate_pid"] == 0:
        fail("moto in %s was started without --gate" % args.dir)
    if state["gate_pid"] > 0 and server_group.alive(state["gate_pid"]):
        return
    state["gate_pid"] = start_gate(state)
    save_state(state["dir"], state)


def cmd_get(args):
    state = load_state(os.path.abspath(args.dir))
    if not state or args.field not in state:
        fail("no field %r in %s/server.json" % (args.field, args.dir))
    print(state[args.field])


def relay(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def cmd_gate(args):
    """A TCP relay 127.0.0.1:port -> 127.0.0.1:to (TLS passes through)."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(64)
    while True:
        client, _ = listener.accept()
        try:
            upstream = socket.create_connection(("127.0.0.1", args.to), timeout=5)
            upstream.settimeout(None)
        except OSError:
            client.close()
            continue
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=relay, args=(a, b), daemon=True).start()


def cmd_watchdog(args):
    d = os.path.abspath(args.dir)

    def stop():
        state = load_state(d)
        if state and state.get("pgid") == args.pgid:
            server_group.stop_group(state["pid"], state["pgid"], d, STOP_STEPS)

    return server_group.watch(d, args.pgid, args.owner_pid, stop)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["which", "python", "start", "stop", "pause", "resume", "down", "up", "get",
                                       "_gate", "_watchdog"])
    p.add_argument("field", nargs="?")
    p.add_argument("--dir")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--to", type=int, default=0)
    p.add_argument("--gate", action="store_true")
    p.add_argument("--owner-pid", type=int, default=0)
    p.add_argument("--pgid", type=int, default=0)
    p.add_argument("--timeout", type=int, default=60)
    args = p.parse_intermixed_args()
    if args.command in ("which", "python"):
        binary = find_binary()
        if binary is None:
            sys.exit(3)
        print(binary if args.command == "which" else os.path.join(os.path.dirname(binary), "python3"))
        return
    if not args.dir:
        fail("--dir is required")
    os.makedirs(args.dir, exist_ok=True)
    {"start": cmd_start, "stop": cmd_stop, "get": cmd_get, "down": cmd_down, "up": cmd_up,
     "pause": lambda a: cmd_signal(a, signal.SIGSTOP), "resume": lambda a: cmd_signal(a, signal.SIGCONT),
     "_gate": cmd_gate, "_watchdog": cmd_watchdog}[args.command](args)


if __name__ == "__main__":
    main()
