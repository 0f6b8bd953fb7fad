#!/usr/bin/env python3
"""Key rotation on a real mariadbd (issue #11, benchmark 5, MariaDB side).

Two measurements, each on 127.0.0.1 against build/bin/devlocker with its
delay fault simulating the network (the same Locker and Server as
bench/mariadb_startup.py):

  version: one key-version rotation of the key of one table of a fixed size
      (ENCRYPTION_KEY_ID=2, --rows rows of 200 bytes). keyring_locker:
      `SET GLOBAL keyring_locker_rotate_key_id = 2`, timed until the
      statement returns and until InnoDB has re-encrypted every page of the
      table with the new version (information_schema
      .innodb_tablespaces_encryption: MIN_KEY_VERSION reaches
      CURRENT_KEY_VERSION). hashicorp_key_management cannot create versions:
      the nearest operation is writing a new KV v2 version of the key
      document from outside (root token), then the same wait.
  all: `SET GLOBAL keyring_locker_rotate_key_id = -1` with K keys in the
      scope (made beforehand by build/bin/fleet_server): seconds until the
      statement returns, requests, and how many keys have their new version
      in the locker afterwards (one statement has one budget,
      timeouts.total_ms, 10 s by default). No peer has this operation.

  bench/mariadb_rotation.py --quick     # 2,000 rows, K = 1 and 10, 0 ms
  bench/mariadb_rotation.py --rows 100000 --keys 1 100 1000 --delays 0 1 5 --json rotation.json
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mariadb_startup as ms  # noqa: E402

REENCRYPT_S = 180  # bound on waiting for InnoDB's encryption threads
TABLE_KEY = 2
# InnoDB re-encrypts a tablespace once its key is this many versions behind;
# the pages per second its encryption threads may rewrite (default 100: a
# 25 MB table would take 16 s at the default, all of it InnoDB's pacing).
SERVER_LINES = ["innodb_encrypt_tables = ON", "innodb_encrypt_log = ON", "innodb_encryption_threads = 2",
                "innodb_encryption_rotate_key_age = 1", "innodb_encryption_rotation_iops = 2000",
                "innodb_flush_log_at_trx_commit = 2"]


def space_versions(server):
    out = server.sql("SELECT MIN_KEY_VERSION, CURRENT_KEY_VERSION, ROTATING_OR_FLUSHING FROM "
                     "information_schema.INNODB_TABLESPACES_ENCRYPTION WHERE NAME = 'bench/big'").split()
    if len(out) != 3:
        raise RuntimeError("bench/big is not in information_schema.INNODB_TABLESPACES_ENCRYPTION")
    return int(out[0]), int(out[1]), int(out[2])


def wait_reencrypted(server, version, t0):
    """Seconds from t0 until every page of bench/big has key version >= version."""
    while time.monotonic() - t0 < REENCRYPT_S:
        low, current, busy = space_versions(server)
        if low >= version and current >= version and busy == 0:
            return time.monotonic() - t0
        time.sleep(0.05)
    raise RuntimeError(f"bench/big not re-encrypted to version {version} in {REENCRYPT_S} s")


def version_rotation(plugin, args, base, tmpl):
    work = os.path.join(base, f"version-{plugin}")
    os.makedirs(work)
    shutil.copytree(tmpl, os.path.join(work, "data"))
    locker = ms.Locker(work, os.path.join(args.build, "bin", "devlocker"))
    server, rows = None, []
    try:
        server = ms.Server(work, ms.plugin_config(plugin, work, locker, args.build, TABLE_KEY) + SERVER_LINES)
        server.start()
        ms.log(f"{plugin}: a table of {args.rows} rows with ENCRYPTION_KEY_ID={TABLE_KEY}")
        server.sql("CREATE DATABASE bench;\n"
                   f"CREATE TABLE bench.big (id INT PRIMARY KEY, pad CHAR(200)) ENGINE=InnoDB ENCRYPTED=YES "
                   f"ENCRYPTION_KEY_ID={TABLE_KEY};\n"
                   f"INSERT INTO bench.big SELECT seq, REPEAT('x', 200) FROM bench.seq_1_to_{args.rows};\n")
        # The file's size: information_schema.TABLES holds statistics, stale right after the INSERT.
        size_mb = float(server.sql("SELECT FILE_SIZE / 1048576 FROM information_schema.INNODB_SYS_TABLESPACES "
                                   "WHERE NAME = 'bench/big'").strip())
        _, current, _ = space_versions(server)
        wait_reencrypted(server, current, time.monotonic())
        def rotate():
            if plugin == "keyring_locker":
                server.sql(f"SET GLOBAL keyring_locker_rotate_key_id = {TABLE_KEY}")
            else:
                locker.ok("POST", f"{ms.KV_MOUNT}/data/{TABLE_KEY}", {"data": {"data": os.urandom(32).hex()}})

        for delay in args.delays:
            # rotate_key_age 1: InnoDB rewrites pages once they are two
            # versions behind the latest. One rotation unmeasured, then the
            # measured one, which InnoDB acts on: every page to the new version.
            locker.set_delay(0)
            _, before, _ = space_versions(server)
            rotate()
            locker.set_delay(delay)
            locker.reset_stats()
            t0 = time.monotonic()
            rotate()
            statement_s = time.monotonic() - t0
            done_s = wait_reencrypted(server, before + 2, t0)
            st = locker.stats()
            row = {"plugin": plugin, "delay_ms": delay, "rows": args.rows, "table_mb": round(size_mb, 1),
                   "from_version": before, "to_version": before + 2, "statement_s": round(statement_s, 3),
                   "reencrypted_s": round(done_s, 3),
                   "requests": sum(n for p, n in st["by_path"].items() if not p.startswith("sys/devlocker")),
                   "by_kind": ms.kinds({p: n for p, n in st["by_path"].items()
                                                                       if not p.startswith("sys/devlocker")})}
            rows.append(row)
            ms.log(f"   -> {plugin} {delay} ms: statement {row['statement_s']} s, re-encrypted "
                   f"{row['reencrypted_s']} s, {row['requests']} requests")
    finally:
        if server is not None:
            server.stop()
        locker.stop()
    return rows


def make_keys(args, locker, work, scope, keys):
    """K keys "1".."K" in `scope`, through the real Backend (fleet_server)."""
    cfg = os.path.join(work, f"make-{keys}.json")
    token = os.path.join(work, "token")
    with open(token, "w") as f:
        f.write(ms.ROOT_TOKEN)
    with open(cfg, "w") as f:
        json.dump({"locker": {"urls": [locker.url], "transit_key": "bench"}, "keys": {"scope": scope},
                   "auth": {"method": "token", "token_file": token}, "tls": {"ca_file": locker.ca_file}}, f)
    r = subprocess.run([os.path.join(args.build, "bin", "fleet_server"), "--config", cfg, "--keys", str(keys),
                        "--max-seconds", "1"], capture_output=True, text=True, timeout=600)
    if r.returncode != 0 or "ready_ms" not in r.stdout:
        raise RuntimeError(f"making {keys} keys failed: {r.stdout} {r.stderr[-500:]}")


def latest_versions(locker, scope, keys):
    out = []
    for k in range(1, keys + 1):
        status, reply = locker.call("GET", f"{ms.KV_MOUNT}/metadata/keyring_locker/{scope}/keys/{k}/?list=true")
        names = reply.get("data", {}).get("keys", []) if status == 200 else []
        out.append(max((int(n) for n in names if n.isdigit()), default=0))
    return out


def rotate_all(keys, args, base, tmpl):
    work = os.path.join(base, f"all-{keys}")
    os.makedirs(work)
    shutil.copytree(tmpl, os.path.join(work, "data"))
    locker = ms.Locker(work, os.path.join(args.build, "bin", "devlocker"))
    server, rows = None, []
    try:
        scope = f"bench/all{keys}"
        ms.log(f"rotate all: {keys} keys in scope {scope}")
        make_keys(args, locker, work, scope, keys)
        lines = ms.plugin_config("keyring_locker", work, locker, args.build, 0)
        cfg = os.path.join(work, "keyring_locker.json")
        with open(cfg) as f:
            doc = json.load(f)
        doc["keys"]["scope"] = scope
        with open(cfg, "w") as f:
            json.dump(doc, f)
        server = ms.Server(work, lines + SERVER_LINES)
        server.start()
        expected = 1
        for delay in args.delays:
            locker.set_delay(delay)
            locker.reset_stats()
            t0 = time.monotonic()
            error = ""
            try:
                server.sql("SET GLOBAL keyring_locker_rotate_key_id = -1")
            except RuntimeError as e:
                error = str(e)
            statement_s = time.monotonic() - t0
            st = locker.stats()
            locker.set_delay(0)
            expected += 1
            latest = latest_versions(locker, scope, keys)
            rotated = sum(1 for v in latest if v >= expected)
            expected = max(latest)  # a cut sweep leaves some keys behind: the next round counts from here
            requests = sum(n for p, n in st["by_path"].items() if not p.startswith("sys/devlocker"))
            row = {"keys": keys, "delay_ms": delay, "statement_s": round(statement_s, 3), "rotated": rotated,
                   "requests": requests, "requests_per_key": round(requests / keys, 2),
                   "error": error[:300], "by_kind": ms.kinds({p: n for p, n in st["by_path"].items()
                                                              if not p.startswith("sys/devlocker")})}
            rows.append(row)
            ms.log(f"   -> -1 with {keys} keys at {delay} ms: {row['statement_s']} s, {rotated}/{keys} rotated, "
                   f"{requests} requests{'; ' + error[:120] if error else ''}")
    finally:
        if server is not None:
            server.stop()
        locker.stop()
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100000, help="rows of the rotated table (200 bytes each)")
    ap.add_argument("--keys", nargs="+", type=int, default=[1, 100, 1000], help="K for rotate_key_id = -1")
    ap.add_argument("--delays", nargs="+", type=int, default=[0, 1, 5], help="simulated round trip, ms")
    ap.add_argument("--plugins", nargs="+", default=["keyring_locker", "hashicorp_key_management"],
                    choices=["keyring_locker", "hashicorp_key_management"])
    ap.add_argument("--build", default=os.path.join(ms.ROOT, "build"))
    ap.add_argument("--json", default="mariadb_rotation.json")
    ap.add_argument("--quick", action="store_true", help="2,000 rows, K = 1 and 10, 0 ms")
    args = ap.parse_args()
    if args.quick:
        args.rows, args.keys, args.delays = 2000, [1, 10], [0]
    if args.rows < 1 or min(args.keys) < 1 or min(args.delays) < 0:
        ap.error("--rows >= 1, --keys >= 1, --delays >= 0")
    args.build = os.path.abspath(args.build)
    os.environ["PATH"] += os.pathsep + "/usr/sbin"
    for p in ("bin/devlocker", "bin/fleet_server", "plugin/mariadb/keyring_locker.so"):
        if not os.path.exists(os.path.join(args.build, p)):
            sys.exit(f"missing {args.build}/{p}: cmake --build build --target devlocker fleet_server "
                     "keyring_locker_mariadb")
    if "hashicorp_key_management" in args.plugins and not os.path.exists(
            os.path.join(ms.SYSTEM_PLUGIN_DIR, "hashicorp_key_management.so")):
        args.plugins.remove("hashicorp_key_management")
        ms.log("hashicorp_key_management not installed: its rows are left out")
    os.umask(0o077)
    signal.signal(signal.SIGTERM, ms.on_signal)
    signal.signal(signal.SIGINT, ms.on_signal)
    base = tempfile.mkdtemp(prefix="klk_rotation_bench.")
    version_rows, all_rows, t_start = [], [], time.monotonic()
    try:
        tmpl = ms.make_template(base)
        for plugin in args.plugins:
            version_rows += version_rotation(plugin, args, base, tmpl)
        for keys in args.keys:
            all_rows += rotate_all(keys, args, base, tmpl)
    finally:
        ms.stop_all_children()
        shutil.rmtree(base, ignore_errors=True)
    version = subprocess.run(["mariadbd", "--version"], capture_output=True, text=True).stdout.strip()
    doc = {"mariadbd": version, "server": SERVER_LINES, "elapsed_s": round(time.monotonic() - t_start, 1),
           "version_rotation": version_rows, "rotate_all": all_rows}
    with open(args.json, "w") as f:
        json.dump(doc, f, indent=1)
    print(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
