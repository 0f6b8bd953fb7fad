#!/usr/bin/env python3
"""Start-up cost of a real mariadbd with N encrypted tables, per key plugin.

A benchmark, not a test (issue #10). For each plugin (keyring_locker,
MariaDB's hashicorp_key_management, file_key_management as the floor with no
locker at all), each N and each simulated locker round trip (the dev locker's
`delay` fault, applied to every request), it measures:

  (a) a restart: seconds until mariadbd accepts connections, seconds until a
      SELECT from every one of the N tables has returned, and the locker
      requests of that cold start, by kind;
  (b) creating N tables with N new ENCRYPTION_KEY_IDs: seconds, requests;
  (c) an idle period at rest: requests, scaled to per minute (once per plugin
      and N, at the first round trip: it does not depend on it; for
      hashicorp_key_management, which has no background thread, only at the
      largest N).

Everything runs on 127.0.0.1 in a private work dir; every process started is
stopped on exit (finally + SIGINT/SIGTERM). Stdlib only.

  bench/mariadb_startup.py --quick                 # N=10, delay 0, idle 5 s
  bench/mariadb_startup.py --n 1 100 1000 --delays 0 1 5 --idle 60 --json out.json
"""
import argparse
import datetime
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SYSTEM_PLUGIN_DIR = "/usr/lib/mysql/plugin"
PLUGINS = ("keyring_locker", "hashicorp_key_management", "file_key_management")
KV_MOUNT = "secret"  # hashicorp_key_management keys: secret/data/<key id>
ROOT_TOKEN = "bench-" + secrets.token_hex(12)

# Bounded waits (seconds).
LOCKER_START_S = 10
SERVER_START_S = 600   # 1000 keys at 5 ms, one request at a time, stays well under this
SERVER_STOP_S = 120
SQL_S = 1800

_children = []  # every Popen started, stopped in reverse order on exit


def log(msg):
    print(f"[{datetime.datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def stop_child(proc, grace_s=15):
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def stop_all_children():
    while _children:
        stop_child(_children.pop())


def on_signal(signum, _frame):
    raise SystemExit(f"interrupted by signal {signum}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Locker:
    """build/bin/devlocker over TLS with its own CA, talked to with the root token."""

    def __init__(self, work, bin_path, extra_args=()):
        self.tls_dir = os.path.join(work, "tls")
        out = open(os.path.join(work, "locker.out"), "w+")
        self.proc = subprocess.Popen(
            [bin_path, "--listen", "127.0.0.1:0", "--tls-dir", self.tls_dir, "--root-token", ROOT_TOKEN,
             *extra_args],
            stdout=out, stderr=open(os.path.join(work, "locker.err"), "w"))
        _children.append(self.proc)
        deadline = time.monotonic() + LOCKER_START_S
        self.url = None
        while time.monotonic() < deadline and self.url is None:
            out.seek(0)
            m = re.search(r"listening on (https://\S+)", out.read())
            if m:
                self.url = m.group(1)
            elif self.proc.poll() is not None:
                break
            else:
                time.sleep(0.05)
        if self.url is None:
            raise RuntimeError("devlocker did not start; see " + os.path.join(work, "locker.err"))
        self.ca_file = os.path.join(self.tls_dir, "ca.pem")
        self.port = int(self.url.rsplit(":", 1)[1])
        self.ctx = ssl.create_default_context(cafile=self.ca_file)
        self.conn = None

    def call(self, method, path, body=None, token=ROOT_TOKEN):
        for attempt in (1, 2):  # one reconnect: the locker closes idle keep-alives
            if self.conn is None:
                self.conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=30)
            try:
                data = None if body is None else json.dumps(body)
                self.conn.request(method, "/v1/" + path, body=data, headers={"X-Vault-Token": token})
                resp = self.conn.getresponse()
                raw = resp.read()
                return resp.status, (json.loads(raw) if raw else {})
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise

    def ok(self, method, path, body=None, token=ROOT_TOKEN):
        status, reply = self.call(method, path, body, token)
        if status >= 300:
            raise RuntimeError(f"{method} {path}: HTTP {status} {reply}")
        return reply

    def set_delay(self, delay_ms):
        self.ok("DELETE", "sys/devlocker/faults")
        if delay_ms > 0:
            self.ok("POST", "sys/devlocker/faults", {"action": "delay", "delay_ms": delay_ms, "count": -1})

    def reset_stats(self):
        self.ok("DELETE", "sys/devlocker/stats")

    def stats(self):
        return self.ok("GET", "sys/devlocker/stats")["data"]

    def stop(self):
        if self.conn:
            self.conn.close()
        stop_child(self.proc)


def kinds(by_path):
    """Request counts by kind: digits folded, so secret/data/17 -> secret/data/#."""
    out = {}
    for path, n in by_path.items():
        kind = re.sub(r"\d+", "#", path)
        out[kind] = out.get(kind, 0) + n
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


class Server:
    """A private mariadbd: own datadir, socket and port under the work dir."""

    def __init__(self, work, cnf_lines):
        self.work = work
        self.sock = os.path.join(work, "mariadbd.sock")
        self.port = free_port()
        self.cnf = os.path.join(work, "my.cnf")
        user = ["user = root"] if os.getuid() == 0 else []
        with open(self.cnf, "w") as f:
            f.write("\n".join(["[mariadbd]", f"datadir = {work}/data", f"socket = {self.sock}",
                               f"port = {self.port}", "bind-address = 127.0.0.1",
                               f"pid-file = {work}/mariadbd.pid", f"log-error = {work}/mariadbd.err",
                               *user, *cnf_lines]) + "\n")
        self.proc = None

    def start(self):
        """Starts mariadbd; returns seconds until it accepted a connection."""
        t0 = time.monotonic()
        self.proc = subprocess.Popen(["mariadbd", f"--defaults-file={self.cnf}"],
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.work, "mariadbd.console"), "a"))
        _children.append(self.proc)
        deadline = t0 + SERVER_START_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mariadbd exited; see {self.work}/mariadbd.err:\n" + self.log_tail())
            try:
                # The greeting packet is sent once the server accepts clients.
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                    if s.recv(16):
                        return time.monotonic() - t0
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"mariadbd did not accept connections in {SERVER_START_S} s")

    def log_tail(self):
        try:
            with open(os.path.join(self.work, "mariadbd.err")) as f:
                return "".join(f.readlines()[-15:])
        except OSError:
            return ""

    def sql(self, text, timeout=SQL_S):
        r = subprocess.run(["mariadb", "--no-defaults", f"--socket={self.sock}", "-uroot", "-N", "-B"],
                           input=text, capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"SQL failed: {r.stderr.strip()[:500]}")
        return r.stdout

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            subprocess.run(["mariadb-admin", "--no-defaults", f"--socket={self.sock}", "-uroot", "shutdown"],
                           capture_output=True, timeout=SERVER_STOP_S)
            self.proc.wait(timeout=SERVER_STOP_S)
        except subprocess.TimeoutExpired:
            stop_child(self.proc)
        if self.proc in _children:
            _children.remove(self.proc)
        self.proc = None


def plugin_config(plugin, work, locker, build, max_key_id):
    """my.cnf lines for `plugin`, after preparing what it needs (config, keys)."""
    if plugin == "keyring_locker":
        token_file = os.path.join(work, "token")
        with open(token_file, "w") as f:
            f.write(ROOT_TOKEN)
        cfg = os.path.join(work, "keyring_locker.json")
        with open(cfg, "w") as f:
            json.dump({"locker": {"urls": [locker.url], "transit_key": "bench"},
                       "keys": {"scope": "bench/mariadb"},
                       "auth": {"method": "token", "token_file": token_file},
                       "tls": {"ca_file": locker.ca_file}}, f)
        return [f"plugin-dir = {build}/plugin/mariadb", "plugin_load_add = keyring_locker",
                "keyring_locker = FORCE", f"keyring_locker_config_file = {cfg}",
                # The benchmark creates N key ids through SQL, as the issue's
                # user did; a new installation allows only 1-2 by default.
                "keyring_locker_create_keys = on"]
    if plugin == "hashicorp_key_management":
        # Its keys are made outside it (it only reads): hex key bytes in a KV v2
        # document's "data" field. Its token gets the least privilege it needs.
        for key_id in range(1, max_key_id + 1):
            locker.ok("POST", f"{KV_MOUNT}/data/{key_id}", {"data": {"data": secrets.token_hex(32)}})
        locker.ok("PUT", "sys/policies/acl/mariadb-hashicorp", {"policy":
                  f'path "{KV_MOUNT}/data/*" {{ capabilities = ["read"] }}\n'
                  f'path "sys/mounts/{KV_MOUNT}/tune" {{ capabilities = ["read"] }}'})
        token = locker.ok("POST", "auth/token/create", {"policies": ["mariadb-hashicorp"]})["auth"]["client_token"]
        return [f"plugin-dir = {SYSTEM_PLUGIN_DIR}", "plugin_load_add = hashicorp_key_management",
                "hashicorp-key-management = FORCE",
                f"hashicorp-key-management-vault-url = {locker.url}/v1/{KV_MOUNT}",
                f"hashicorp-key-management-token = {token}",
                f"hashicorp-key-management-vault-ca = {locker.ca_file}"]
    keyfile = os.path.join(work, "keys.txt")
    with open(keyfile, "w") as f:
        for key_id in range(1, max_key_id + 1):
            f.write(f"{key_id};{secrets.token_hex(32)}\n")
    return [f"plugin-dir = {SYSTEM_PLUGIN_DIR}", "plugin_load_add = file_key_management",
            "file-key-management = FORCE", f"file_key_management_filename = {keyfile}"]


def make_template(base):
    """One mariadb-install-db, copied for every run (saves seconds per run)."""
    tmpl = os.path.join(base, "template-data")
    user = ["--user=root"] if os.getuid() == 0 else []
    r = subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={tmpl}", *user,
                        "--auth-root-authentication-method=socket"],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError("mariadb-install-db failed: " + r.stdout[-500:] + r.stderr[-500:])
    return tmpl


def create_tables(first_key, n, prefix):
    return "".join(
        f"CREATE TABLE bench.{prefix}{k} (id INT PRIMARY KEY, v VARCHAR(32)) ENGINE=InnoDB "
        f"ENCRYPTED=YES ENCRYPTION_KEY_ID={k};\n" for k in range(first_key, first_key + n))


def run_one(plugin, n, delays, idle_s, args, base, tmpl, idle_skipped=None):
    """One plugin and N: one locker, one datadir, then a restart per delay;
    (c) unless `idle_skipped` says why not (file_key_management: no locker)."""
    if plugin == "file_key_management":
        idle_skipped = "no locker"
    work = os.path.join(base, f"{plugin}-{n}")
    os.makedirs(work)
    shutil.copytree(tmpl, os.path.join(work, "data"))
    locker = Locker(work, os.path.join(args.build, "bin", "devlocker"))
    server = None
    results = []
    try:
        # Key ids: 1..N for the start-up tables, then a fresh block of N per
        # delay for phase (b), so every (b) really creates new key ids.
        max_key_id = n * (1 + len(delays))
        lines = plugin_config(plugin, work, locker, args.build, max_key_id)
        lines += ["innodb_encrypt_tables = ON", "innodb_encrypt_log = ON",
                  f"innodb_encryption_threads = {args.encryption_threads}",
                  "innodb_flush_log_at_trx_commit = 2"]  # setup speed only; no key traffic
        server = Server(work, lines)
        log(f"{plugin} N={n}: creating {n} encrypted tables (no delay)")
        server.start()
        setup = ["CREATE DATABASE bench;\n", create_tables(1, n, "t")]
        setup += [f"INSERT INTO bench.t{k} VALUES (1, 'row {k}');\n" for k in range(1, n + 1)]
        server.sql("".join(setup))
        server.stop()
        # (a) and (c) first, for every delay: each restart finds exactly the
        # N keys of the N tables (the keys (b) creates would otherwise be in
        # the scope of the later restarts, which keyring_locker reads at
        # start-up and hashicorp_key_management does not).
        for j, delay in enumerate(delays):
            row = {"plugin": plugin, "n": n, "delay_ms": delay, "idle_s": idle_s}
            locker.set_delay(delay)
            locker.reset_stats()
            log(f"{plugin} N={n} delay={delay} ms: (a) restart + SELECT from all tables")
            t0 = time.monotonic()
            row["accept_s"] = round(server.start(), 3)
            server.sql("".join(f"SELECT v FROM bench.t{k};\n" for k in range(1, n + 1)))
            row["all_selected_s"] = round(time.monotonic() - t0, 3)
            st = locker.stats()
            row["start"] = {"requests": st["requests"], "tls_handshakes": st["tls_handshakes"],
                            "by_kind": kinds(st["by_path"])}
            # Requests at rest do not depend on the round trip, so (c) runs
            # once per plugin and N, at the first delay.
            if j == 0 and idle_skipped:
                row["idle_skipped"] = idle_skipped
            elif j == 0:
                log(f"{plugin} N={n} delay={delay} ms: (c) idle {idle_s} s")
                locker.reset_stats()
                time.sleep(idle_s)
                st = locker.stats()
                per_min = 60.0 / idle_s
                row["idle_per_min"] = {"requests": round(st["requests"] * per_min, 1),
                                       "tls_handshakes": round(st["tls_handshakes"] * per_min, 1),
                                       "by_kind": {k: round(v * per_min, 1) for k, v in kinds(st["by_path"]).items()}}
            if j < len(delays) - 1:
                server.stop()
            results.append(row)
            idle = row.get("idle_per_min")
            log(f"   -> accept {row['accept_s']} s, all selected {row['all_selected_s']} s, "
                f"start requests {row['start']['requests']}, idle {idle['requests'] if idle else '-'}/min")
        # (b) on the running server, at each delay: N new key ids each time.
        for j, (delay, row) in enumerate(zip(delays, results)):
            locker.set_delay(delay)
            first = n * (1 + j) + 1
            log(f"{plugin} N={n} delay={delay} ms: (b) {n} tables with new key ids {first}..{first + n - 1}")
            locker.reset_stats()
            t1 = time.monotonic()
            server.sql(create_tables(first, n, "new"))
            row["create_new_keys_s"] = round(time.monotonic() - t1, 3)
            st = locker.stats()
            row["create"] = {"requests": st["requests"], "tls_handshakes": st["tls_handshakes"],
                             "by_kind": kinds(st["by_path"])}
            server.sql("".join(f"DROP TABLE bench.new{k};\n" for k in range(first, first + n)))
            log(f"   -> create {n} keys {row['create_new_keys_s']} s, {row['create']['requests']} requests")
        server.stop()
    finally:
        if server is not None:
            server.stop()
        locker.stop()
    return results


def top_kinds(by_kind, limit=3):
    return ", ".join(f"{k} {v:g}" for k, v in list(by_kind.items())[:limit]) or "-"


def idle_kinds_text(row):
    """The idle requests by kind, or why this row has none."""
    if "idle_per_min" in row:
        return top_kinds(row["idle_per_min"]["by_kind"], 4)
    return "not measured (" + row.get("idle_skipped", "see N's first row") + ")"


def idle_text(row):
    """Idle requests per minute, or "–" where not measured (not the first delay, or no locker)."""
    return f"{row['idle_per_min']['requests']:g}" if "idle_per_min" in row else "–"


def markdown(rows):
    out = ["| plugin | N | delay ms | accept s | all SELECTed s | start req | start TLS hs | "
           "create N keys s | create req | idle req/min | start requests by kind |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        out.append(f"| {r['plugin']} | {r['n']} | {r['delay_ms']} | {r['accept_s']} | {r['all_selected_s']} | "
                   f"{r['start']['requests']} | {r['start']['tls_handshakes']} | {r['create_new_keys_s']} | "
                   f"{r['create']['requests']} | {idle_text(r)} | "
                   f"{top_kinds(r['start']['by_kind'])} |")
    out.append("")
    out.append("Requests by kind, creating N new key ids / idle per minute:")
    out.append("")
    for r in rows:
        out.append(f"- {r['plugin']} N={r['n']} {r['delay_ms']} ms: create: {top_kinds(r['create']['by_kind'], 4)}; "
                   f"idle: {idle_kinds_text(r)}")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--plugins", nargs="+", default=list(PLUGINS), choices=PLUGINS)
    ap.add_argument("--n", nargs="+", type=int, default=[100, 1000], help="tables (= key ids) per run")
    ap.add_argument("--delays", nargs="+", type=int, default=[0, 1, 5], help="simulated round trip, ms")
    ap.add_argument("--idle", type=float, default=60, help="idle period at rest, seconds")
    ap.add_argument("--encryption-threads", type=int, default=2, help="innodb_encryption_threads")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="build dir with bin/devlocker")
    ap.add_argument("--json", default="mariadb_startup.json", help="where the JSON results go")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (logs, datadirs)")
    ap.add_argument("--quick", action="store_true", help="N=10, delay 0, idle 5 s (< 2 minutes)")
    args = ap.parse_args()
    if args.quick:
        args.n, args.delays, args.idle = [10], [0], 5.0
    if args.idle <= 0 or min(args.n) < 1 or min(args.delays) < 0:
        ap.error("--idle must be > 0, --n >= 1, --delays >= 0")
    args.build = os.path.abspath(args.build)
    os.environ["PATH"] += os.pathsep + "/usr/sbin"
    needed = [os.path.join(args.build, "bin", "devlocker")]
    if "keyring_locker" in args.plugins:
        needed.append(os.path.join(args.build, "plugin", "mariadb", "keyring_locker.so"))
    for p in args.plugins:
        if p != "keyring_locker":
            needed.append(os.path.join(SYSTEM_PLUGIN_DIR, p + ".so"))
    missing = [p for p in needed if not os.path.exists(p)]
    if missing:
        sys.exit("missing: " + ", ".join(missing) + " (build devlocker and keyring_locker_mariadb; "
                 "apt-get install mariadb-plugin-hashicorp-key-management)")
    for tool in ("mariadbd", "mariadb", "mariadb-admin", "mariadb-install-db"):
        if shutil.which(tool) is None:
            sys.exit(f"missing {tool}: apt-get install mariadb-server mariadb-client")

    os.umask(0o077)  # token, key file, configs: the plugins refuse group/other-readable ones
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    base = tempfile.mkdtemp(prefix="klk_startup_bench.")
    os.chmod(base, 0o700)
    rows = []
    t_start = time.monotonic()
    try:
        tmpl = make_template(base)
        for n in args.n:
            for plugin in args.plugins:
                # The floor never talks to the locker: one delay is enough.
                delays = args.delays[:1] if plugin == "file_key_management" else args.delays
                # hashicorp_key_management has no background thread: nothing
                # at rest at any N (a minute each); measured at the largest N.
                skip = plugin == "hashicorp_key_management" and n != max(args.n)
                rows += run_one(plugin, n, delays, args.idle, args, base, tmpl,
                                idle_skipped="no background thread; see the largest N" if skip else None)
    finally:
        stop_all_children()
        if args.keep:
            log(f"work dir kept: {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    version = subprocess.run(["mariadbd", "--version"], capture_output=True, text=True).stdout.strip()
    doc = {"mariadbd": version, "encryption_threads": args.encryption_threads, "idle_s": args.idle,
           "elapsed_s": round(time.monotonic() - t_start, 1), "results": rows}
    with open(args.json, "w") as f:
        json.dump(doc, f, indent=2)
    print(markdown(rows))
    log(f"JSON: {os.path.abspath(args.json)}; {doc['elapsed_s']} s in all")


if __name__ == "__main__":
    main()
