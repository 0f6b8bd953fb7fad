#!/usr/bin/env python3
"""Fleet: N simulated database servers against one locker (issue #11, benchmark 7).

Each simulated server is a build/bin/fleet_server process: the real Backend
(klk_backend) with its own keys.scope and a short cache.version_refresh_s,
K keys cached, then at rest (tests/bench/fleet_server.cc). Against one
build/bin/devlocker, for each N it measures:

  burst:  all N started at the same instant with their keys already in the
          locker (a fleet restarted by a deploy): requests to the locker,
          peak requests/s (100 ms and 1 s windows), seconds until every one
          is ready (keys read and cached);
  rest:   after one refresh interval, requests/s over --rest seconds, the
          busiest second, and what the formula N x (1 + min(K, 8)) / R says;
  memory: VmRSS and Pss of each process, threads.

The locker's counts come from GET /v1/sys/devlocker/stats, sampled every
100 ms by the driver (its own sys/devlocker requests are left out). Stdlib
only; every process started is stopped on exit.

  bench/fleet.py --quick                              # N=3, K=3, R=2 s, rest 4 s
  bench/fleet.py --n 10 50 100 200 --keys 10 --refresh 10 --rest 30 --json fleet.json
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mariadb_startup as ms  # noqa: E402  (Locker, log, stop_child)

READY_S = 600  # bound on a start phase, whatever N


def locker_requests(conn):
    """Requests the locker served, without the driver's own sys/devlocker ones."""
    conn.request("GET", "/v1/sys/devlocker/stats", headers={"X-Vault-Token": ms.ROOT_TOKEN})
    resp = conn.getresponse()
    data = json.loads(resp.read())["data"]
    return sum(n for path, n in data["by_path"].items() if not path.startswith("sys/devlocker")), data


class Sampler(threading.Thread):
    """Reads the locker's request count every `period` s on its own connection."""

    def __init__(self, locker, period):
        super().__init__(daemon=True)
        self.conn = http.client.HTTPSConnection("127.0.0.1", locker.port, context=locker.ctx, timeout=30)
        self.period, self.samples, self.stop_flag = period, [], threading.Event()

    def run(self):
        while not self.stop_flag.is_set():
            t = time.monotonic()
            self.samples.append((t, locker_requests(self.conn)[0]))
            self.stop_flag.wait(max(0.0, self.period - (time.monotonic() - t)))

    def finish(self):
        self.stop_flag.set()
        self.join(timeout=30)
        self.conn.close()
        return self.samples


def peak_rate(samples, window_s):
    """Highest requests/s over any span of at most about `window_s` between two
    samples (a span shorter than the window counts as the whole window: a burst
    of 0.3 s with 600 requests is 600 requests/s over a 1 s window)."""
    best, j = 0.0, 0
    for i in range(1, len(samples)):
        while samples[i][0] - samples[j][0] > window_s * 1.25:
            j += 1
        if j < i:
            best = max(best, (samples[i][1] - samples[j][1]) / max(window_s, samples[i][0] - samples[j][0]))
    return best


class Fleet:
    def __init__(self, work, build, locker, keys, refresh_s):
        self.work, self.build, self.locker, self.keys, self.refresh_s = work, build, locker, keys, refresh_s
        self.token_file = os.path.join(work, "token")
        with open(self.token_file, "w") as f:
            f.write(ms.ROOT_TOKEN)
        self.procs = []
        self.created = 0  # servers 0..created-1 have their keys

    def config(self, i):
        path = os.path.join(self.work, f"server{i}.json")
        if not os.path.exists(path):
            with open(path, "w") as f:
                json.dump({"locker": {"urls": [self.locker.url], "transit_key": "fleet"},
                           "keys": {"scope": f"fleet/s{i}"},
                           "auth": {"method": "token", "token_file": self.token_file},
                           "tls": {"ca_file": self.locker.ca_file},
                           "cache": {"version_refresh_s": self.refresh_s}}, f)
        return path

    def start(self, n, first=0):
        """Starts servers first..n-1 at once; returns (seconds until all ready, their ready_ms)."""
        paths = [self.config(i) for i in range(first, n)]
        t0 = time.monotonic()
        for i, path in enumerate(paths):
            p = subprocess.Popen([os.path.join(self.build, "bin", "fleet_server"), "--config", path,
                                  "--keys", str(self.keys), "--max-seconds", "3600"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            ms._children.append(p)
            self.procs.append(p)
        ready = []
        # One line each, in any order: a reader thread per process keeps it simple.
        lines = [None] * len(paths)

        def read(i, p):
            lines[i] = (p.stdout.readline(), time.monotonic())
        readers = [threading.Thread(target=read, args=(i, p), daemon=True) for i, p in enumerate(self.procs)]
        for r in readers:
            r.start()
        for r in readers:
            r.join(timeout=max(1.0, t0 + READY_S - time.monotonic()))
        for i, got in enumerate(lines):
            if got is None or not got[0]:
                raise RuntimeError(f"fleet server {i} did not get ready in {READY_S} s")
            doc = json.loads(got[0])
            if "error" in doc:
                raise RuntimeError(f"fleet server {i}: {doc['error']}")
            ready.append(doc["ready_ms"])
        return max(t for _, t in lines) - t0, ready

    def memory(self):
        rss, pss, threads = [], [], []
        for p in self.procs:
            with open(f"/proc/{p.pid}/status") as f:
                status = dict(line.split(":", 1) for line in f if ":" in line)
            rss.append(int(status["VmRSS"].split()[0]))
            threads.append(int(status["Threads"]))
            try:
                with open(f"/proc/{p.pid}/smaps_rollup") as f:
                    pss.append(next(int(l.split()[1]) for l in f if l.startswith("Pss:")))
            except (OSError, StopIteration):
                pass
        avg = lambda v: round(sum(v) / len(v)) if v else None  # noqa: E731
        return {"vmrss_kb": avg(rss), "pss_kb": avg(pss), "threads": avg(threads)}

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            ms.stop_child(p, grace_s=30)
            if p in ms._children:
                ms._children.remove(p)
        self.procs = []

    def create_keys(self, n, batch=20):
        """First start of servers not started before, `batch` at a time: each
        creates its K keys (4 requests each, Transit included), which a dev
        locker on 2 shared cores cannot take from 100 servers at once."""
        for first in range(self.created, n, batch):
            self.start(min(n, first + batch), first)
            self.stop()
        self.created = max(self.created, n)


def run_n(fleet, locker, n, rest_s):
    row = {"n": n, "keys": fleet.keys, "refresh_s": fleet.refresh_s}
    ms.log(f"N={n}: first start of new servers, 20 at a time (their keys created; not measured)")
    fleet.create_keys(n)

    ms.log(f"N={n}: burst: all {n} started at once")
    locker.reset_stats()
    sampler = Sampler(locker, 0.1)
    sampler.start()
    all_ready_s, ready_ms = fleet.start(n)
    time.sleep(0.5)
    samples = sampler.finish()
    total = samples[-1][1] - samples[0][1]
    burst_kinds = ms.kinds({p: c for p, c in locker.stats()["by_path"].items() if not p.startswith("sys/")})
    ready_ms.sort()
    row["burst"] = {"all_ready_s": round(all_ready_s, 3), "ready_ms_median": ready_ms[len(ready_ms) // 2],
                    "ready_ms_max": ready_ms[-1], "requests": total, "requests_per_server": round(total / n, 1),
                    "peak_per_s_100ms": round(peak_rate(samples, 0.1)), "peak_per_s_1s": round(peak_rate(samples, 1.0)),
                    "by_kind": burst_kinds}
    row["memory"] = fleet.memory()

    # The first refresh tick comes within one interval of the start (jittered
    # between R/2 and R): measure after it, over whole intervals.
    ms.log(f"N={n}: settling {fleet.refresh_s} s, then at rest for {rest_s} s")
    time.sleep(fleet.refresh_s)
    locker.reset_stats()
    sampler = Sampler(locker, 0.25)
    sampler.start()
    time.sleep(rest_s)
    samples = sampler.finish()
    data = locker.stats()
    total = samples[-1][1] - samples[0][1]
    span = samples[-1][0] - samples[0][0]
    per_tick = 1 + min(fleet.keys, 8)
    row["rest"] = {"seconds": round(span, 1), "requests": total, "per_s": round(total / span, 2),
                   "formula_per_s": round(n * per_tick / fleet.refresh_s, 2),
                   "peak_per_s_1s": round(peak_rate(samples, 1.0)),
                   "by_kind": ms.kinds({p: c for p, c in data["by_path"].items() if not p.startswith("sys/")})}
    fleet.stop()
    ms.log(f"   -> burst {row['burst']}, rest {row['rest']['per_s']}/s (formula {row['rest']['formula_per_s']}), "
           f"memory {row['memory']}")
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", nargs="+", type=int, default=[10, 50, 100, 200], help="servers per run")
    ap.add_argument("--keys", type=int, default=10, help="keys per server (K)")
    ap.add_argument("--refresh", type=int, default=10, help="cache.version_refresh_s (R)")
    ap.add_argument("--rest", type=float, default=30, help="seconds measured at rest")
    ap.add_argument("--build", default=os.path.join(ms.ROOT, "build"), help="build dir with bin/fleet_server")
    ap.add_argument("--json", default="fleet.json", help="where the JSON results go")
    ap.add_argument("--quick", action="store_true", help="N=3, K=3, R=2 s, rest 4 s (a smoke run)")
    args = ap.parse_args()
    if args.quick:
        args.n, args.keys, args.refresh, args.rest = [3], 3, 2, 4.0
    if min(args.n) < 1 or max(args.n) > 2000 or args.keys < 1 or args.refresh < 1 or args.rest <= 0:
        ap.error("--n 1..2000, --keys >= 1, --refresh >= 1, --rest > 0")
    args.build = os.path.abspath(args.build)
    for b in ("devlocker", "fleet_server"):
        if not os.path.exists(os.path.join(args.build, "bin", b)):
            sys.exit(f"missing {args.build}/bin/{b}: cmake --build build --target devlocker fleet_server")
    os.umask(0o077)  # token and configs: the Backend refuses group/other-readable ones
    signal.signal(signal.SIGTERM, ms.on_signal)
    signal.signal(signal.SIGINT, ms.on_signal)
    base = tempfile.mkdtemp(prefix="klk_fleet_bench.")
    rows, failed, t_start = [], None, time.monotonic()
    try:
        # cpp-httplib holds a worker per open keep-alive connection; each
        # server keeps up to 8 (its requests in flight).
        locker = ms.Locker(base, os.path.join(args.build, "bin", "devlocker"),
                           ["--threads", str(max(64, 9 * max(args.n) + 16))])
        fleet = Fleet(base, args.build, locker, args.keys, args.refresh)
        for n in args.n:
            try:
                rows.append(run_n(fleet, locker, n, args.rest))
            except RuntimeError as e:
                # The largest N this machine holds is a result too: record
                # why the next one failed and stop there.
                fleet.stop()
                ms.log(f"N={n} failed: {e}")
                failed = {"n": n, "error": str(e)[:400]}
                break
        locker.stop()
    finally:
        ms.stop_all_children()
        shutil.rmtree(base, ignore_errors=True)
    doc = {"keys": args.keys, "refresh_s": args.refresh, "rest_s": args.rest,
           "elapsed_s": round(time.monotonic() - t_start, 1), "results": rows,
           "failed": failed}
    with open(args.json, "w") as f:
        json.dump(doc, f, indent=1)
    print(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
