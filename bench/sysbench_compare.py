#!/usr/bin/env python3
"""sysbench OLTP on encrypted InnoDB tables, per key plugin (issue #11, benchmark 4).

For each setup -- keyring_locker (against build/bin/devlocker), MariaDB's
hashicorp_key_management (same locker), file_key_management (a local key
file), and no encryption at all -- one datadir is prepared once with
`sysbench oltp_read_write prepare` (--tables x --table-size rows, more data
than --buffer-pool). Then --reps rounds, each running every setup in turn
(ABCD ABCD ...: a slow minute of the shared machine hits every setup, not
one): start its mariadbd, `oltp_read_write` then `oltp_read_only` for --time
seconds each after a --warmup seconds oltp_read_only run (numbers dropped), stop it. Results: TPS, p95 latency
and mariadbd's CPU time per transaction per run, and per round the ratio to
file_key_management's run of the same round; the summary shows min / median /
max.

Server: innodb_encrypt_tables=ON, innodb_encrypt_log=ON,
innodb_encryption_threads=2 (all OFF/0 for "none"),
innodb_buffer_pool_size=--buffer-pool, innodb_flush_log_at_trx_commit=2
(so the disk's fsyncs, which differ run to run on a shared machine, do not
hide the cost of the keys). The locker runs without --data: its state is in
memory, so a request never waits for a state file to be rewritten (with
--data the dev locker rewrites the whole file on every write; a benchmark
reads keys, so this does not change the numbers, but it keeps the disk out).

  bench/sysbench_compare.py --quick        # 1 table x 1,000 rows, 2 s per test, 1 round: a smoke run
  bench/sysbench_compare.py --tables 4 --table-size 250000 --buffer-pool 64M --time 60 --warmup 10 --reps 5
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mariadb_startup as ms  # noqa: E402

SETUPS = ("keyring_locker", "file_key_management", "hashicorp_key_management", "none")
TESTS = ("oltp_read_write", "oltp_read_only")
SYSBENCH_S = 3600


class Setup:
    def __init__(self, name, args, base, tmpl):
        self.name, self.args = name, args
        self.work = os.path.join(base, name)
        os.makedirs(self.work)
        shutil.copytree(tmpl, os.path.join(self.work, "data"))
        self.locker = None
        lines = []
        if name in ("keyring_locker", "hashicorp_key_management"):
            self.locker = ms.Locker(self.work, os.path.join(args.build, "bin", "devlocker"))
        if name != "none":
            lines = ms.plugin_config(name, self.work, self.locker, args.build, 1)
            lines += ["innodb_encrypt_tables = ON", "innodb_encrypt_log = ON", "innodb_encryption_threads = 2"]
        lines += [f"innodb_buffer_pool_size = {args.buffer_pool}", "innodb_flush_log_at_trx_commit = 2",
                  "max_connections = 200"]
        self.server = ms.Server(self.work, lines)

    def sysbench(self, test, command, extra=()):
        cmd = ["sysbench", test, "--db-driver=mysql", f"--mysql-socket={self.server.sock}", "--mysql-user=root",
               "--mysql-db=sbtest", f"--tables={self.args.tables}", f"--table-size={self.args.table_size}",
               f"--threads={self.args.threads}", *extra, command]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=SYSBENCH_S)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: {r.stdout[-800:]} {r.stderr[-800:]}")
        return r.stdout

    def prepare(self):
        self.server.start()
        self.server.sql("CREATE DATABASE sbtest")
        self.sysbench("oltp_read_write", "prepare")
        # The files' sizes: information_schema.TABLES holds statistics, stale right after loading.
        self.data_mb = float(self.server.sql(
            "SELECT SUM(FILE_SIZE) / 1048576 FROM information_schema.INNODB_SYS_TABLESPACES "
            "WHERE NAME LIKE 'sbtest/%'").strip())
        self.encrypted = int(self.server.sql(
            "SELECT COUNT(*) FROM information_schema.INNODB_TABLESPACES_ENCRYPTION "
            "WHERE NAME LIKE 'sbtest/%' AND ENCRYPTION_SCHEME > 0").strip())
        self.server.stop()

    def run_round(self, rnd):
        rows = []
        self.server.start()
        try:
            if self.args.warmup > 0:  # sysbench 1.0.20 has no --warmup-time: a run whose numbers are dropped
                self.sysbench("oltp_read_only", "run", [f"--time={self.args.warmup}", "--report-interval=0"])
            for test in TESTS:
                if self.locker:
                    self.locker.reset_stats()
                pages_before = self.pages_crypted()
                cpu_before = self.server_cpu_s()
                out = self.sysbench(test, "run", [f"--time={self.args.time}", "--report-interval=0",
                                                  "--histogram=off", "--percentile=95"])
                cpu_s = self.server_cpu_s() - cpu_before
                pages = self.pages_crypted() - pages_before
                done = re.search(r"transactions:\s+(\d+)\s+\(([\d.]+) per sec", out)
                p95 = re.search(r"95th percentile:\s+([\d.]+)", out)
                if not done or not p95:
                    raise RuntimeError(f"sysbench output without TPS/p95:\n{out[-1500:]}")
                txns = int(done.group(1))
                row = {"setup": self.name, "test": test, "round": rnd, "tps": float(done.group(2)),
                       "p95_ms": float(p95.group(1)), "load": "%.2f" % os.getloadavg()[0]}
                if txns > 0:
                    row["cpu_us_per_txn"] = round(cpu_s * 1e6 / txns, 2)
                    row["pages_crypted_per_txn"] = round(pages / txns, 2)
                if self.locker:
                    st = self.locker.stats()
                    row["locker_requests"] = sum(n for p, n in st["by_path"].items()
                                                 if not p.startswith("sys/devlocker"))
                rows.append(row)
                ms.log(f"   {self.name} {test} round {rnd}: {row['tps']} TPS, p95 {row['p95_ms']} ms")
        finally:
            self.server.stop()
        return rows

    def pages_crypted(self):
        """Pages InnoDB has encrypted plus decrypted since the start: each
        asks the key plugin at most once (a page write for the latest key
        version, a read for a key the scheme has not cached), which bounds
        what any key plugin can add per transaction."""
        out = self.server.sql("SHOW GLOBAL STATUS WHERE Variable_name IN "
                              "('Innodb_num_pages_encrypted', 'Innodb_num_pages_decrypted')")
        return sum(int(line.split()[1]) for line in out.splitlines() if line.strip())

    def server_cpu_s(self):
        """CPU seconds mariadbd has used (user + system, all its threads).
        Per transaction it depends far less on what else runs on the machine
        than TPS does: a busy neighbour slows the clock, not the work."""
        with open(f"/proc/{self.server.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime

    def close(self):
        self.server.stop()
        if self.locker:
            self.locker.stop()


def spread(values):
    if not values:
        return None
    return {"min": round(min(values), 4), "median": round(statistics.median(values), 4),
            "max": round(max(values), 4)}


def summarize(runs, setups):
    out = []
    for test in TESTS:
        floor = {r["round"]: r for r in runs if r["test"] == test and r["setup"] == "file_key_management"}
        for s in setups:
            mine = [r for r in runs if r["test"] == test and r["setup"] == s]
            paired = [r for r in mine if r["round"] in floor]
            out.append({"setup": s, "test": test, "tps": spread([r["tps"] for r in mine]),
                        "p95_ms": spread([r["p95_ms"] for r in mine]),
                        "tps_ratio": spread([r["tps"] / floor[r["round"]]["tps"] for r in paired]),
                        "p95_ratio": spread([r["p95_ms"] / floor[r["round"]]["p95_ms"] for r in paired
                                             if floor[r["round"]]["p95_ms"] > 0]),
                        "cpu_us_per_txn": spread([r["cpu_us_per_txn"] for r in mine if "cpu_us_per_txn" in r]),
                        "pages_crypted_per_txn": spread([r["pages_crypted_per_txn"] for r in mine
                                                         if "pages_crypted_per_txn" in r]),
                        "cpu_ratio": spread([r["cpu_us_per_txn"] / floor[r["round"]]["cpu_us_per_txn"]
                                             for r in paired if r.get("cpu_us_per_txn")
                                             and floor[r["round"]].get("cpu_us_per_txn")])})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--setups", nargs="+", default=list(SETUPS), choices=SETUPS)
    ap.add_argument("--tables", type=int, default=4)
    ap.add_argument("--table-size", type=int, default=250000)
    ap.add_argument("--buffer-pool", default="64M", help="innodb_buffer_pool_size")
    ap.add_argument("--threads", type=int, default=4, help="sysbench client threads")
    ap.add_argument("--time", type=int, default=60, help="seconds measured per test and run")
    ap.add_argument("--warmup", type=int, default=10, help="seconds of oltp_read_only before measuring (numbers dropped)")
    ap.add_argument("--reps", type=int, default=5, help="rounds of ABCD")
    ap.add_argument("--build", default=os.path.join(ms.ROOT, "build"))
    ap.add_argument("--json", default="sysbench.json")
    ap.add_argument("--quick", action="store_true", help="1 table x 1,000 rows, 2 s per test, 1 round")
    args = ap.parse_args()
    if args.quick:
        args.tables, args.table_size, args.time, args.warmup, args.reps = 1, 1000, 2, 0, 1
    if min(args.tables, args.table_size, args.threads, args.time, args.reps) < 1 or args.warmup < 0:
        ap.error("--tables, --table-size, --threads, --time, --reps must be >= 1; --warmup >= 0")
    args.build = os.path.abspath(args.build)
    os.environ["PATH"] += os.pathsep + "/usr/sbin"
    if shutil.which("sysbench") is None:
        sys.exit("missing sysbench: apt-get install sysbench (scripts/deps.sh)")
    setups = [s for s in args.setups if s in ("keyring_locker", "none") or
              os.path.exists(os.path.join(ms.SYSTEM_PLUGIN_DIR, s + ".so"))]
    if os.getuid() != 0:
        sys.exit("run as root: sysbench logs in as the server's root user over its socket (unix_socket auth)")
    os.umask(0o077)
    signal.signal(signal.SIGTERM, ms.on_signal)
    signal.signal(signal.SIGINT, ms.on_signal)
    base = tempfile.mkdtemp(prefix="klk_sysbench.")
    runs, prepared, t_start = [], {}, time.monotonic()
    objs = []
    try:
        tmpl = ms.make_template(base)
        for s in setups:
            ms.log(f"{s}: preparing {args.tables} x {args.table_size} rows")
            obj = Setup(s, args, base, tmpl)
            objs.append(obj)
            obj.prepare()
            prepared[s] = {"data_mb": round(obj.data_mb, 1), "encrypted_tables": obj.encrypted}
        for rnd in range(1, args.reps + 1):
            ms.log(f"round {rnd} of {args.reps}")
            for obj in objs:
                runs += obj.run_round(rnd)
    finally:
        for obj in objs:
            obj.close()
        ms.stop_all_children()
        shutil.rmtree(base, ignore_errors=True)
    version = subprocess.run(["sysbench", "--version"], capture_output=True, text=True).stdout.strip()
    server = subprocess.run(["mariadbd", "--version"], capture_output=True, text=True).stdout.strip()
    doc = {"sysbench": version, "mariadbd": server, "quick": args.quick,
           "settings": {k: getattr(args, k) for k in ("tables", "table_size", "buffer_pool", "threads", "time",
                                                      "warmup", "reps")},
           "prepared": prepared, "elapsed_s": round(time.monotonic() - t_start, 1), "runs": runs,
           "summary": summarize(runs, setups)}
    with open(args.json, "w") as f:
        json.dump(doc, f, indent=1)
    print(json.dumps(doc["summary"], indent=1))


if __name__ == "__main__":
    main()
