#!/usr/bin/python3
"""Starts and stops a real Vault server (HashiCorp Vault 1.14.8) for tests.

The binary is the one scripts/real_vault.sh builds into the cache folder
(issue #13): our client's answers from the dev locker are checked against
the real thing. Usable from C++ fixtures, ctest scripts and the shell:

  real_vault.py start   --dir DIR [--port N] [--storage raft|file]
                        [--owner-pid PID] [--wait S]
  real_vault.py cluster --dir DIR [--nodes 3] [--owner-pid PID] [--wait S]
  real_vault.py stop    --dir DIR      # SIGTERM, then SIGKILL; every node
  real_vault.py restart --dir DIR      # same ports, TLS files and data
  real_vault.py restart --dir DIR --node K [--sealed]  # one node of a cluster
  real_vault.py unseal  --dir DIR --node K             # a node restarted --sealed
  real_vault.py status  --dir DIR      # exit 0 when every node answers, unsealed
  real_vault.py get     --dir DIR KEY  # one field of DIR/server.json
  real_vault.py env     --dir DIR      # VAULT_ADDR/VAULT_CACERT/VAULT_TOKEN exports
  real_vault.py which                  # the vault binary found, or exit 1

`start` makes (once per DIR) a test CA, a server certificate for
127.0.0.1/localhost and a client certificate (CN=keyring_locker), writes
DIR/node1/vault.hcl (TLS listener on 127.0.0.1, integrated storage "raft",
or "file", in DIR/node1/data), starts `vault server` in its own process
group and, the first time, initialises it over the HTTP API (one key share:
DIR/init.json, mode 0600, holds the unseal key and root token; the token
alone is in DIR/root-token), unseals it, mounts KV v2 at secret/ and transit
at transit/ and creates the transit key keyring_locker. Later starts and
restarts of the same DIR only unseal. It waits (at most --wait seconds)
until sys/health says active, writes DIR/server.json and prints it as one
JSON line.

`restart --node K` stops node K (if it runs; SIGCONT first, so a node held
by SIGSTOP ends too) and starts it again in the group, unsealed unless
--sealed: Vault 1.14 refuses sys/seal on a standby ("please restart
instead"), so a sealed standby is made this way. `unseal --node K` unseals it.

`cluster` does the same with N raft nodes on N ports (DIR/node1..N): node1
is initialised, the others join it (sys/storage/raft/join) and are unsealed
with the same key; it returns when one node is active and the others are
standbys. Clients may use any node's URL (standbys forward requests).

--owner-pid PID: a watchdog ends the servers when PID exits, so a test
program that crashes or is killed by ctest leaves no server behind. All
nodes and the watchdog share one process group; stop ends that group.

The binary: $KLK_VAULT_BIN, else the one scripts/real_vault.sh built under
${KEYRING_LOCKER_CACHE:-$HOME/.cache/keyring_locker}/vault-1.14.8/bin/vault.
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
import urllib.error
import urllib.request

WAIT_SECONDS = 60
VAULT_DIR_NAME = "vault-1.14.8"
TRANSIT_KEY = "keyring_locker"
# Vault seals and closes its listeners on SIGTERM within a second or two;
# raft has fsync'ed every committed entry, so SIGKILL loses nothing.
STOP_STEPS = ((signal.SIGTERM, 10.0), (signal.SIGKILL, 3.0))
HTTP_TIMEOUT = 5.0
SLOW_TIMEOUT = 60.0  # init, unseal, mounts: raft writes and key generation on a busy machine


def fail(message):
    print("real_vault: " + message, file=sys.stderr)
    sys.exit(1)


# ---------------------------------------------------------------- locating

def cache_dir():
    return os.environ.get("KEYRING_LOCKER_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "keyring_locker")


def find_vault_binary():
    for path in (os.environ.get("KLK_VAULT_BIN", ""),
                 os.path.join(cache_dir(), VAULT_DIR_NAME, "bin", "vault")):
        if path and os.access(path, os.X_OK):
            return path
    return None


# ---------------------------------------------------------------- TLS files

def run_openssl(args, cwd):
    result = subprocess.run(["openssl"] + args, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=60)
    if result.returncode != 0:
        fail("openssl %s failed: %s" % (" ".join(args[:2]), result.stdout.strip()))


EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]


def make_leaf(tls, name, subject, extensions):
    ext_file = os.path.join(tls, name + ".ext")
    with open(ext_file, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n" + extensions)
    run_openssl(["req", "-new", "-nodes"] + EC_KEY +
                ["-keyout", name + "-key.pem", "-out", name + ".csr", "-subj", subject], tls)
    run_openssl(["x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
                 "-set_serial", "0x" + os.urandom(8).hex(), "-days", "3650",
                 "-out", name + ".pem", "-extfile", ext_file], tls)
    os.remove(os.path.join(tls, name + ".csr"))
    os.remove(ext_file)


def make_tls_files(tls):
    """Makes the certificates once; restarts and later starts reuse them."""
    if os.path.exists(os.path.join(tls, "complete")):
        return
    os.makedirs(tls, exist_ok=True)
    run_openssl(["req", "-x509", "-nodes"] + EC_KEY +
                ["-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "3650",
                 "-subj", "/CN=keyring_locker test Vault CA",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign"], tls)
    make_leaf(tls, "server", "/CN=localhost",
              "keyUsage=critical,digitalSignature,keyAgreement\n"
              "extendedKeyUsage=serverAuth,clientAuth\n"  # clientAuth: raft join between nodes
              "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    make_leaf(tls, "client", "/CN=keyring_locker",
              "keyUsage=critical,digitalSignature,keyAgreement\nextendedKeyUsage=clientAuth\n")
    for name in os.listdir(tls):
        if name.endswith("-key.pem"):
            os.chmod(os.path.join(tls, name), 0o600)
    open(os.path.join(tls, "complete"), "w").close()


# ---------------------------------------------------------------- config

def write_config(node, tls, storage, single):
    data = os.path.join(node["dir"], "data")
    os.makedirs(data, exist_ok=True)
    if storage == "raft":
        # One node: performance_multiplier 1 (Vault's production advice) makes
        # its first election take ~1 s instead of ~9 s, which every test
        # starting a server pays. Clusters keep the default (5): the HA test's
        # timeline (docs/real-vault-notes.md) is measured with it.
        tuning = "  performance_multiplier = 1\n" if single else ""
        storage_block = 'storage "raft" {\n  path = "%s"\n  node_id = "%s"\n%s}\n' % (data, node["name"], tuning)
    else:
        storage_block = 'storage "file" {\n  path = "%s"\n}\n' % data
    with open(os.path.join(node["dir"], "vault.hcl"), "w") as f:
        f.write('ui = false\n'
                'disable_mlock = true\n'  # tests: no need to pin pages; raft advises it
                'api_addr = "https://127.0.0.1:%d"\n'
                'cluster_addr = "https://127.0.0.1:%d"\n'
                '%s'
                'listener "tcp" {\n'
                '  address = "127.0.0.1:%d"\n'
                '  cluster_address = "127.0.0.1:%d"\n'
                '  tls_cert_file = "%s/server.pem"\n'
                '  tls_key_file = "%s/server-key.pem"\n'
                '  tls_min_version = "tls12"\n'
                '}\n' % (node["port"], node["cluster_port"], storage_block, node["port"],
                         node["cluster_port"], tls, tls))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- HTTP

class Api:
    """Vault's HTTP API on one node, verified against the test CA."""

    def __init__(self, port, ca_file, token=None):
        self.url = "https://127.0.0.1:%d" % port
        self.ctx = ssl.create_default_context(cafile=ca_file)
        self.token = token

    def call(self, method, path, body=None, token=None, timeout=HTTP_TIMEOUT):
        """(status, parsed body or {}); status -1 when no HTTP answer."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + "/v1/" + path, data=data, method=method)
        if token or self.token:
            req.add_header("X-Vault-Token", token or self.token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self.ctx) as r:
                raw = r.read()
                status = r.status
        except urllib.error.HTTPError as e:
            raw = e.read()
            status = e.code
        except (OSError, ssl.SSLError) as e:
            return -1, {"transport_error": str(e)}
        try:
            return status, (json.loads(raw) if raw else {})
        except ValueError:
            return status, {"unparsable_body": raw[:200].decode(errors="replace")}

    def health(self):
        # 200 active, 429 standby, 472/473 DR/perf standby, 501 not
        # initialised, 503 sealed; -1 no answer yet.
        return self.call("GET", "sys/health")[0]


def wait_for(what, check, deadline, node=None):
    """Polls check() until it returns a true value or the deadline passes."""
    last = None
    while time.monotonic() < deadline:
        if node is not None and node.get("proc") is not None and node["proc"].poll() is not None:
            fail("vault %s exited with %s while waiting for %s; log tail:\n%s"
                 % (node["name"], node["proc"].returncode, what, tail(node["log"])))
        last = check()
        if last:
            return last
        time.sleep(0.2)
    log = ("; %s log tail:\n%s" % (node["name"], tail(node["log"]))) if node else ""
    fail("timed out waiting for %s%s" % (what, log))


def raft_voters(api):
    status, body = api.call("GET", "sys/storage/raft/configuration")
    if status != 200:
        return 0
    servers = ((body.get("data") or {}).get("config") or {}).get("servers") or []
    return sum(1 for server in servers if server.get("voter"))


def must(status_body, what, ok=(200, 204)):
    status, body = status_body
    if status not in ok:
        fail("%s failed: HTTP %s %s" % (what, status, json.dumps(body)[:500]))
    return body


# ---------------------------------------------------------------- state

def state_path(d):
    return os.path.join(d, "server.json")


def load_state(d):
    try:
        with open(state_path(d)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def save_state(d, state):
    tmp = state_path(d) + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, state_path(d))


def write_secret(path, text):
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def members(pgid, d):
    """Running processes of group pgid whose command line names folder d:
    the vault nodes and the watchdog. Zombies do not count; a recycled pid
    or group id of another program never matches the folder."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if fields[2] != str(pgid) or fields[0] == "Z":
                continue
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                if d.encode() in f.read():
                    found.append(int(entry))
        except (OSError, IndexError):
            continue
    return found


def signal_members(pgid, d, sig):
    for pid in members(pgid, d):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def tail(path, lines=20):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no %s)" % path


# ---------------------------------------------------------------- launching

def clean_env():
    # The caller's VAULT_* settings (a token, an address) must not leak in.
    return {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}


def launch(node, binary, pgid):
    out = open(node["log"], "ab")
    return subprocess.Popen([binary, "server", "-config=" + os.path.join(node["dir"], "vault.hcl")],
                            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                            process_group=pgid, close_fds=True, env=clean_env(),
                            cwd=node["dir"])


def start_watchdog(d, pgid, owner_pid):
    subprocess.Popen([sys.executable, os.path.abspath(__file__), "_watchdog", "--dir", d,
                      "--owner-pid", str(owner_pid), "--pgid", str(pgid)],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, process_group=pgid, close_fds=True)


def kill_group(pgid, d):
    signal_members(pgid, d, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while members(pgid, d) and time.monotonic() < deadline:
        time.sleep(0.05)


def configure_once(api, d, init):
    """Mounts and the transit key, made once per DIR."""
    if init.get("configured"):
        return
    must(api.call("POST", "sys/mounts/secret", {"type": "kv", "options": {"version": "2"}},
                  timeout=SLOW_TIMEOUT),
         "mounting KV v2 at secret/")
    must(api.call("POST", "sys/mounts/transit", {"type": "transit"}, timeout=SLOW_TIMEOUT), "mounting transit at transit/")
    must(api.call("POST", "transit/keys/" + TRANSIT_KEY, {}, timeout=SLOW_TIMEOUT), "creating transit key " + TRANSIT_KEY)
    # A new KV v2 mount answers writes only after its (empty) upgrade ran.
    wait_for("KV v2 at secret/ to accept requests",
             lambda: api.call("GET", "secret/config")[0] == 200, time.monotonic() + 30)
    init["configured"] = True
    write_secret(os.path.join(d, "init.json"), json.dumps(init))


def bring_up(args, d, previous):
    binary = find_vault_binary()
    if not binary:
        fail("no vault binary: run scripts/real_vault.sh (it builds Vault 1.14.8 into %s) "
             "or set KLK_VAULT_BIN" % os.path.join(cache_dir(), VAULT_DIR_NAME))
    old = load_state(d)
    if old and members(old["pgid"], d):
        fail("servers from %s already run (group %d): stop them first" % (d, old["pgid"]))
    os.makedirs(d, exist_ok=True)
    tls = os.path.join(d, "tls")
    make_tls_files(tls)
    ca = os.path.join(tls, "ca.pem")
    count = previous["node_count"] if previous else args.nodes
    storage = previous["storage"] if previous else args.storage
    if count > 1 and storage != "raft":
        fail("a cluster needs --storage raft")
    nodes = []
    for i in range(count):
        name = "node%d" % (i + 1)
        old_node = previous["nodes"][i] if previous else {}
        port = old_node.get("port") or (args.port if i == 0 and args.port else free_port())
        node = {"name": name, "dir": os.path.join(d, name), "port": port,
                "cluster_port": old_node.get("cluster_port") or free_port()}
        node["log"] = os.path.join(node["dir"], "server.log")
        node["url"] = "https://127.0.0.1:%d" % port
        os.makedirs(node["dir"], exist_ok=True)
        write_config(node, tls, storage, count == 1)
        nodes.append(node)

    began = time.monotonic()
    deadline = began + args.wait
    pgid = 0
    for node in nodes:  # one process group: node1 leads it
        node["proc"] = launch(node, binary, pgid)
        pgid = pgid or node["proc"].pid
        node["pid"] = node["proc"].pid
    try:
        owner_pid = args.owner_pid or (previous or {}).get("owner_pid", 0)
        if owner_pid:
            start_watchdog(d, pgid, owner_pid)
        apis = [Api(n["port"], ca) for n in nodes]
        for node, api in zip(nodes, apis):
            wait_for("vault %s to answer on %s" % (node["name"], node["url"]),
                     lambda: api.health() != -1, deadline, node)

        init_path = os.path.join(d, "init.json")
        if os.path.exists(init_path):
            with open(init_path) as f:
                init = json.load(f)
        else:
            if apis[0].health() != 501:
                fail("vault node1 has data but %s is missing: remove %s and start again"
                     % (init_path, d))
            body = must(apis[0].call("PUT", "sys/init", {"secret_shares": 1, "secret_threshold": 1},
                                 timeout=SLOW_TIMEOUT),
                        "vault operator init")
            init = {"unseal_key": body["keys_base64"][0], "root_token": body["root_token"]}
            write_secret(init_path, json.dumps(init))
            write_secret(os.path.join(d, "root-token"), body["root_token"])
        for api in apis:
            api.token = init["root_token"]

        # Joining nodes (first cluster start only) ask node1 for the raft
        # configuration; they need node1 unsealed and active first.
        must(apis[0].call("PUT", "sys/unseal", {"key": init["unseal_key"]}, timeout=SLOW_TIMEOUT),
             "unsealing node1")
        joined_before = bool(previous) and all(n.get("joined") for n in previous["nodes"][1:])
        if len(nodes) == 1 or not joined_before:
            wait_for("node1 to become active", lambda: apis[0].health() == 200, deadline, nodes[0])
        with open(ca) as f:
            ca_pem = f.read()
        for i, (node, api) in enumerate(zip(nodes, apis)):
            if i == 0:
                node["joined"] = True
                continue
            if not (previous and previous["nodes"][i].get("joined")):
                body = must(api.call("POST", "sys/storage/raft/join",
                                     {"leader_api_addr": nodes[0]["url"], "leader_ca_cert": ca_pem},
                                     timeout=SLOW_TIMEOUT),
                            "joining %s to node1" % node["name"])
                if not body.get("joined"):
                    fail("%s did not join node1: %s" % (node["name"], json.dumps(body)))
            node["joined"] = True
            # Unsealing a joined node completes its raft join; retried
            # because the first answer may come before raft is ready.
            wait_for("%s to unseal" % node["name"],
                     lambda: api.call("PUT", "sys/unseal", {"key": init["unseal_key"]})[0] == 200
                     and api.health() in (200, 429), deadline, node)
        leader = wait_for("one node to become active",
                          lambda: next((a for a in apis if a.health() == 200), None), deadline)
        configure_once(leader, d, init)
        if len(nodes) > 1 and not joined_before:
            # Autopilot makes a joined node a voter once it has been healthy
            # for its stabilization time (10 s); until then losing node1
            # would lose the quorum.
            wait_for("every node to become a raft voter",
                     lambda: raft_voters(leader) == len(nodes), deadline)
        for node, api in zip(nodes, apis):
            wait_for("%s to be active or a standby" % node["name"],
                     lambda: api.health() in (200, 429), deadline, node)
    except SystemExit:
        kill_group(pgid, d)
        raise

    for node in nodes:
        node.pop("proc", None)
    status, version = apis[0].call("GET", "sys/seal-status")
    state = {
        "url": nodes[0]["url"], "port": nodes[0]["port"], "host": "127.0.0.1",
        "pid": nodes[0]["pid"], "pgid": pgid, "owner_pid": owner_pid, "dir": d,
        "storage": storage, "node_count": len(nodes), "nodes": nodes,
        "urls": [n["url"] for n in nodes],
        "ca": ca, "client_cert": os.path.join(tls, "client.pem"),
        "client_key": os.path.join(tls, "client-key.pem"),
        "root_token_file": os.path.join(d, "root-token"), "init_file": os.path.join(d, "init.json"),
        "transit_key": TRANSIT_KEY, "kv_mount": "secret", "transit_mount": "transit",
        "vault_binary": binary, "version": version.get("version", ""),
        "log": nodes[0]["log"], "start_seconds": round(time.monotonic() - began, 3),
    }
    save_state(d, state)
    print(json.dumps(state, sort_keys=True))


# ---------------------------------------------------------------- commands

def cmd_start(args):
    d = os.path.abspath(args.dir)
    previous = load_state(d)
    if previous and os.path.exists(os.path.join(d, "init.json")):
        bring_up(args, d, previous)  # same DIR again: same ports and layout
    else:
        bring_up(args, d, None)


def stop_dir(d):
    state = load_state(d)
    if not state:
        return True
    pgid = state["pgid"]
    for sig, wait in STOP_STEPS:
        if not members(pgid, d):
            return True
        signal_members(pgid, d, sig)
        signal_members(pgid, d, signal.SIGCONT)  # a node held by SIGSTOP must see the SIGTERM
        deadline = time.monotonic() + wait
        while members(pgid, d) and time.monotonic() < deadline:
            time.sleep(0.05)
    return not members(pgid, d)


def cmd_stop(args):
    d = os.path.abspath(args.dir)
    if not stop_dir(d):
        fail("processes of %s survived SIGKILL" % d)


def node_running(pid, d):
    try:
        with open("/proc/%d/stat" % pid) as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                return False
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return d.encode() in f.read()
    except (OSError, IndexError):
        return False


def load_node(args, d):
    state = load_state(d)
    if not state:
        fail("no %s: start it first" % state_path(d))
    if not 1 <= args.node <= state["node_count"]:
        fail("--node must be 1..%d" % state["node_count"])
    return state, state["nodes"][args.node - 1]


def unseal_node(state, node, deadline):
    with open(state["init_file"]) as f:
        key = json.load(f)["unseal_key"]
    api = Api(node["port"], state["ca"])
    wait_for("%s to unseal" % node["name"],
             lambda: api.call("PUT", "sys/unseal", {"key": key})[0] == 200
             and api.health() in (200, 429), deadline)


def cmd_restart_node(args):
    """One node of a running cluster: stopped, started again in the group."""
    d = os.path.abspath(args.dir)
    state, node = load_node(args, d)
    pid = node["pid"]
    if node_running(pid, d):
        os.kill(pid, signal.SIGCONT)
        for sig, wait in STOP_STEPS:
            if node_running(pid, d):
                os.kill(pid, sig)
            deadline = time.monotonic() + wait
            while node_running(pid, d) and time.monotonic() < deadline:
                time.sleep(0.05)
        if node_running(pid, d):
            fail("%s (pid %d) survived SIGKILL" % (node["name"], pid))
    if not members(state["pgid"], d):
        fail("no process of %s runs any more: restart the whole cluster" % d)
    binary = find_vault_binary() or fail("no vault binary")
    proc = launch(node, binary, state["pgid"])
    node["pid"] = proc.pid
    save_state(d, state)
    deadline = time.monotonic() + args.wait
    api = Api(node["port"], state["ca"])
    node["proc"] = proc
    wait_for("vault %s to answer on %s" % (node["name"], node["url"]),
             lambda: api.health() != -1, deadline, node)
    if not args.sealed:
        unseal_node(state, node, deadline)
    print(json.dumps({"node": node["name"], "pid": proc.pid, "health": api.health()}))


def cmd_unseal(args):
    d = os.path.abspath(args.dir)
    state, node = load_node(args, d)
    unseal_node(state, node, time.monotonic() + args.wait)


def cmd_restart(args):
    d = os.path.abspath(args.dir)
    if args.node:
        cmd_restart_node(args)
        return
    previous = load_state(d)
    if not previous:
        fail("no %s: start it first" % state_path(d))
    if not stop_dir(d):
        fail("processes of %s survived SIGKILL" % d)
    bring_up(args, d, previous)


def cmd_status(args):
    d = os.path.abspath(args.dir)
    state = load_state(d)
    if not state or not members(state["pgid"], d):
        sys.exit(1)
    codes = [Api(n["port"], state["ca"]).health() for n in state["nodes"]]
    print(json.dumps({"health": codes}))
    sys.exit(0 if codes.count(200) == 1 and all(c in (200, 429) for c in codes) else 1)


def cmd_get(args):
    state = load_state(os.path.abspath(args.dir))
    if not state or args.key not in state:
        sys.exit(1)
    value = state[args.key]
    print(value if isinstance(value, str) else json.dumps(value))


def cmd_env(args):
    d = os.path.abspath(args.dir)
    state = load_state(d)
    if not state:
        fail("no %s" % state_path(d))
    print("export VAULT_ADDR=%s VAULT_CACERT=%s VAULT_TOKEN=$(cat %s)"
          % (state["url"], state["ca"], state["root_token_file"]))


def cmd_which(_args):
    binary = find_vault_binary()
    if not binary:
        sys.exit(1)
    print(binary)


def cmd_watchdog(args):
    """Ends the group when the owner exits (or this group is stopped)."""
    d = os.path.abspath(args.dir)
    while True:
        try:
            os.kill(args.owner_pid, 0)
        except ProcessLookupError:
            break
        except PermissionError:
            pass
        if not [p for p in members(args.pgid, d) if p != os.getpid()]:
            return  # the servers are gone: nothing to guard
        time.sleep(0.5)
    for sig, wait in STOP_STEPS:
        others = [p for p in members(args.pgid, d) if p != os.getpid()]
        if not others:
            return
        for pid in others:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and \
                [p for p in members(args.pgid, d) if p != os.getpid()]:
            time.sleep(0.05)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("start", "cluster"):
        p = sub.add_parser(name)
        p.add_argument("--dir", required=True)
        p.add_argument("--port", type=int, default=0)
        p.add_argument("--owner-pid", type=int, default=0)
        p.add_argument("--wait", type=float, default=WAIT_SECONDS)
        if name == "start":
            p.add_argument("--storage", choices=("raft", "file"), default="raft")
            p.set_defaults(nodes=1)
        else:
            p.add_argument("--nodes", type=int, default=3)
            p.set_defaults(storage="raft")
        p.set_defaults(func=cmd_start)
    p = sub.add_parser("restart")
    p.add_argument("--dir", required=True)
    p.add_argument("--wait", type=float, default=WAIT_SECONDS)
    p.add_argument("--node", type=int, default=0, help="only node K of a cluster (1..N)")
    p.add_argument("--sealed", action="store_true", help="with --node: leave it sealed")
    p.set_defaults(func=cmd_restart, owner_pid=0, port=0, nodes=1, storage="raft")
    p = sub.add_parser("unseal")
    p.add_argument("--dir", required=True)
    p.add_argument("--node", type=int, required=True)
    p.add_argument("--wait", type=float, default=WAIT_SECONDS)
    p.set_defaults(func=cmd_unseal)
    for name, func in (("stop", cmd_stop), ("status", cmd_status), ("env", cmd_env)):
        p = sub.add_parser(name)
        p.add_argument("--dir", required=True)
        p.set_defaults(func=func)
    p = sub.add_parser("get")
    p.add_argument("--dir", required=True)
    p.add_argument("key")
    p.set_defaults(func=cmd_get)
    p = sub.add_parser("which")
    p.set_defaults(func=cmd_which)
    p = sub.add_parser("_watchdog")
    p.add_argument("--dir", required=True)
    p.add_argument("--owner-pid", type=int, required=True)
    p.add_argument("--pgid", type=int, required=True)
    p.set_defaults(func=cmd_watchdog)
    args = parser.parse_args()
    if getattr(args, "nodes", 1) < 1 or getattr(args, "nodes", 1) > 9:
        fail("--nodes must be 1..9")
    args.func(args)


if __name__ == "__main__":
    main()
