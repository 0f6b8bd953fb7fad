"""Process-group handling shared by the test-server launchers
(tests/kmip/pykmip_server.py, tests/aws/moto_server.py; the owner check
also in tests/azure/azure_standin.py).

A launcher starts its server in a process group of its own and records the
group and the server's folder DIR in DIR/server.json. Every process of the
group names DIR on its command line (the server's config or certificate
paths, a watchdog's --dir), so a recycled pid or group id of another
program is never mistaken for ours.

The watchdog: a process in the server's group that ends the group when its
owner (the test program, scripts/mtr.sh, ctest) is gone, so a test killed
with SIGKILL leaves no server behind. It polls twice a second and exits
by itself once the rest of the group has gone.
Standard library only.
"""
import json
import os
import signal
import subprocess
import sys
import time

WATCHDOG_POLL_S = 0.5


def state_path(d):
    return os.path.join(d, "server.json")


def load_state(d):
    """DIR/server.json, or None when there is none (or half of one)."""
    try:
        with open(state_path(d)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def save_state(d, state):
    """Written whole or not at all (a reader never sees half a file)."""
    tmp = state_path(d) + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, state_path(d))


def alive(pid):
    """True while pid runs (a zombie child of ours counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def members(pgid, d):
    """Running processes of group pgid whose command line names folder d:
    the server, its helpers and the watchdog. Zombies do not count (once
    the launcher has exited, nobody here may reap them)."""
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


def group_alive(pgid, d):
    return bool(members(pgid, d))


def signal_members(pgid, d, sig):
    # This process last: the watchdog must not end itself before the rest.
    for pid in sorted(members(pgid, d), key=lambda p: p == os.getpid()):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def signal_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def stop_group(pid, pgid, d, steps):
    """Ends the server `pid` and every other member of its group. `steps`:
    (signal, seconds to wait) in order; the gentle ones go to the server
    alone (it ends its own helpers as it exits), SIGKILL to every process
    left. Returns the members that survived (empty on success)."""
    signal_members(pgid, d, signal.SIGCONT)  # a paused server cannot act on signals
    for sig, wait in steps:
        ours = members(pgid, d)
        if not ours:
            return []
        if sig != signal.SIGKILL and pid in ours:
            os.kill(pid, sig)
        elif sig != signal.SIGKILL:
            continue
        else:
            signal_members(pgid, d, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and pid in members(pgid, d):
            time.sleep(0.05)
        if pid not in members(pgid, d):
            signal_members(pgid, d, signal.SIGKILL)  # leftovers: helpers, watchdog
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and group_alive(pgid, d):
                time.sleep(0.05)
            break
    return members(pgid, d)


def start_watchdog(launcher, d, pgid, owner_pid):
    """Runs `launcher _watchdog --dir d --owner-pid P --pgid G` in the
    server's group; the launcher's _watchdog command calls watch()."""
    subprocess.Popen([sys.executable, os.path.abspath(launcher), "_watchdog", "--dir", d,
                      "--owner-pid", str(owner_pid), "--pgid", str(pgid)],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, process_group=pgid, close_fds=True)


def watch(d, pgid, owner_pid, stop):
    """The watchdog's loop: calls stop() (which ends the group, this
    process too) once owner_pid is gone; returns when the group has no
    other member left."""
    d = os.path.abspath(d)
    while len(members(pgid, d)) > 1:  # more than the watchdog itself
        if not alive(owner_pid):
            stop()
            return 0
        time.sleep(WATCHDOG_POLL_S)
    return 0
