#!/usr/bin/env python3
"""Starts and stops moto's AWS stand-in (moto_server, from PyPI's
moto[server], pinned in scripts/deps.sh) over HTTPS on 127.0.0.1, with a
certificate from a test CA made here, so keyring_locker's client keeps TLS
verification on.

    moto_server.py which                 path of moto_server (exit 3: not installed)
    moto_server.py start --dir D         make D/tls, start, wait until it answers;
                                         prints D/server.json's one JSON line
    moto_server.py stop --dir D          SIGTERM, then SIGKILL (bounded)

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
import urllib.request


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


def alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie (our own child) counts as gone
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def cmd_start(args):
    binary = find_binary()
    if binary is None:
        print("moto_server.py: moto is not installed (scripts/deps.sh installs it)", file=sys.stderr)
        sys.exit(3)
    d = os.path.abspath(args.dir)
    tls = os.path.join(d, "tls")
    make_tls(tls)
    port = args.port or free_port()
    url = "https://127.0.0.1:%d" % port
    log = open(os.path.join(d, "moto.log"), "ab")
    proc = subprocess.Popen([binary, "-H", "127.0.0.1", "-p", str(port), "-c", os.path.join(tls, "server.pem"),
                             "-k", os.path.join(tls, "server-key.pem")], stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            fail("moto_server exited with %s; see %s" % (proc.returncode, os.path.join(d, "moto.log")))
        if answers(url, os.path.join(tls, "ca.pem")):
            break
        time.sleep(0.2)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        fail("moto_server did not answer on %s within %d s" % (url, args.timeout))
    state = {"pid": proc.pid, "port": port, "url": url, "ca": os.path.join(tls, "ca.pem"),
             "log": os.path.join(d, "moto.log")}
    with open(os.path.join(d, "server.json"), "w") as f:
        f.write(json.dumps(state) + "\n")
    print(json.dumps(state))


def cmd_stop(args):
    path = os.path.join(args.dir, "server.json")
    try:
        with open(path) as f:
            pid = json.load(f)["pid"]
    except (OSError, ValueError, KeyError):
        return
    for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 2.0)):
        try:
            os.killpg(pid, sig)
        except OSError:
            break
        end = time.monotonic() + wait
        while alive(pid) and time.monotonic() < end:
            time.sleep(0.05)
        if not alive(pid):
            break
    os.remove(path)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["which", "start", "stop"])
    p.add_argument("--dir")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--timeout", type=int, default=60)
    args = p.parse_args()
    if args.command == "which":
        binary = find_binary()
        if binary is None:
            sys.exit(3)
        print(binary)
        return
    if not args.dir:
        fail("--dir is required")
    os.makedirs(args.dir, exist_ok=True)
    {"start": cmd_start, "stop": cmd_stop}[args.command](args)


if __name__ == "__main__":
    main()
