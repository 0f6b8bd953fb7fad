#!/usr/bin/python3
"""Tests of the key scanner: it must find planted keys (raw, fragments,
base64, hex, tokens) in files and in a gcore of a live process, skip memory
marked MADV_DONTDUMP, read real keys from a dev locker, and never print a
secret. Run: /usr/bin/python3 tests/keyscan/test_keyscan.py --devlocker build/bin/devlocker
"""
import argparse
import base64
import contextlib
import io
import os
import secrets
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import hvac  # noqa: E402

import keyscan  # noqa: E402
from core_map import Core  # noqa: E402
from search import Searcher, Secret, summarize  # noqa: E402

DEVLOCKER = None


def forms(findings):
    return sorted((s.label, form, off, n) for s, form, off, n in findings)


class SearchTest(unittest.TestCase):
    def setUp(self):
        self.key = secrets.token_bytes(32)
        self.other = secrets.token_bytes(32)
        self.searcher = Searcher([Secret("k", self.key, "key"), Secret("o", self.other, "key"),
                                  Secret("t", "s.TokenForTheScannerTest1", "token")])

    def test_finds_every_form_at_unaligned_offsets(self):
        buf = bytearray(secrets.token_bytes(1 << 20))
        planted = [(1001, self.key), (70001, base64.b64encode(self.key)), (90003, self.key.hex().encode()),
                   (120005, self.key.hex().upper().encode()), (150007, self.key[5:27]),
                   (200011, b"s.TokenForTheScannerTest1"), ((1 << 20) - 32, self.key)]
        for off, data in planted:
            buf[off:off + len(data)] = data
        got = forms(summarize(self.searcher.search_buffer(bytes(buf))))
        self.assertEqual(got, sorted([("k", "raw", 1001, 32), ("k", "base64", 70001, 43), ("k", "hex", 90003, 64),
                                      ("k", "HEX", 120005, 64), ("k", "fragment", 150007, 22),
                                      ("t", "token", 200011, 25), ("k", "raw", (1 << 20) - 32, 32)]))

    def test_random_data_and_short_pieces_give_nothing(self):
        buf = bytearray(secrets.token_bytes(4 << 20))
        buf[500:515] = self.key[:15]  # 15 bytes: below the 16-byte window
        self.assertEqual(summarize(self.searcher.search_buffer(bytes(buf))), [])

    def test_two_keys_side_by_side_are_two_raw_hits(self):
        buf = b"\0" * 3 + self.key + self.other + b"\0" * 5
        self.assertEqual(forms(summarize(self.searcher.search_buffer(buf))),
                         [("k", "raw", 3, 32), ("o", "raw", 35, 32)])


# Both keys arrive through a pipe and are read by the kernel straight into
# their final buffers (readv), so no Python object on the heap ever holds
# the hidden one.
CHILD = r"""
import mmap, os
plain = bytearray(32)                        # ordinary heap memory: dumped
secret = mmap.mmap(-1, 4096)                 # like SecureBuffer: excluded
secret.madvise(mmap.MADV_DONTDUMP)
assert os.readv(0, [plain, memoryview(secret)[:32]]) == 64
os.write(1, b"ready\n")
os.read(0, 1)
"""


class CoreTest(unittest.TestCase):
    def test_gcore_holds_heap_key_but_not_dontdump_key(self):
        shown, hidden = secrets.token_bytes(32), secrets.token_bytes(32)
        child = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        with tempfile.TemporaryDirectory() as tmp:
            try:
                child.stdin.write(shown + hidden)
                child.stdin.flush()
                self.assertEqual(child.stdout.readline(), b"ready\n")
                with open(f"/proc/{child.pid}/maps") as f, open(os.path.join(tmp, "maps"), "w") as out:
                    out.write(f.read())
                subprocess.run(["gcore", "-o", os.path.join(tmp, "core"), str(child.pid)], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            finally:
                child.stdin.close()
                child.wait()
            core_path = os.path.join(tmp, f"core.{child.pid}")
            searcher = Searcher([Secret("shown", shown, "key"), Secret("hidden", hidden, "key")])
            found = summarize(searcher.search_file(core_path))
            raw = [f for f in found if f[1] == "raw"]
            self.assertTrue(raw, "a key in ordinary memory must be found in the core")
            self.assertEqual({f[0].label for f in found}, {"shown"}, "MADV_DONTDUMP memory must not be dumped")
            with open(os.path.join(tmp, "maps")) as f:
                core = Core(core_path, keyscan.parse_maps(f.read()))
            self.assertTrue(core.thread_sps)
            for f in raw:
                self.assertRegex(core.where(f[2]), r"^0x[0-9a-f]+ in [0-9a-f]+-[0-9a-f]+ rw")


class LockerTest(unittest.TestCase):
    """keyscan.py end to end: real keys from a dev locker, planted in files."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        d = self.tmp.name
        self.token_file = os.path.join(d, "root-token")
        self.token = secrets.token_hex(12)
        with open(self.token_file, "w") as f:
            f.write(self.token)
        self.proc = subprocess.Popen([DEVLOCKER, "--listen", "127.0.0.1:0", "--tls-dir", os.path.join(d, "tls"),
                                      "--root-token", self.token],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        self.url = line.rsplit(" ", 1)[-1]
        self.ca = os.path.join(d, "tls", "ca.pem")
        client = hvac.Client(url=self.url, token=self.token, verify=self.ca, strict_http=True)
        client.secrets.transit.create_key(name="scan")
        self.keys = {}
        for name, version in (("1", 1), ("1", 2), ("7", 1)):
            key = secrets.token_bytes(32)
            # Key 7 is bound (format 2): the scan must look for the key bytes
            # after the identity, not for the identity itself.
            identity = f"keyring_locker/s\n{name}\n{version}".encode()
            plain = key if name == "1" else b"KLKB\x01" + len(identity).to_bytes(2, "big") + identity + key
            wrapped = client.secrets.transit.encrypt_data(
                name="scan", plaintext=base64.b64encode(plain).decode())["data"]["ciphertext"]
            fmt = "keyring_locker/1" if name == "1" else "keyring_locker/2"
            client.secrets.kv.v2.create_or_update_secret(
                path=f"keyring_locker/s/keys/{name}/{version}", cas=0,
                secret={"format": fmt, "name": name, "version": version, "wrapped": wrapped})
            self.keys[(name, version)] = key
        client.adapter.close()
        self.data = os.path.join(d, "data")
        os.makedirs(os.path.join(self.data, "sub"))
        with open(os.path.join(self.data, "clean.ibd"), "wb") as f:
            f.write(secrets.token_bytes(100000))

    def tearDown(self):
        self.proc.terminate()
        self.proc.wait()
        self.proc.stdout.close()
        self.tmp.cleanup()

    def run_scan(self, *extra):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            rc = keyscan.main(["--locker-url", self.url, "--ca-file", self.ca, "--root-token-file",
                               self.token_file, *extra])
        text = out.getvalue()
        for key in self.keys.values():  # the report never holds a secret
            for form in (key.hex(), key.hex().upper(), base64.b64encode(key).decode()[:20]):
                self.assertNotIn(form, text)
        self.assertNotIn(self.token, text)
        return rc, text

    def test_clean_folder_passes_and_planted_key_fails(self):
        rc, text = self.run_scan(self.data)
        self.assertEqual(rc, 0, text)
        self.assertIn("3 key version(s)", text)
        self.assertIn("bytes of key material found on disk: 0", text)
        with open(os.path.join(self.data, "sub", "leak.log"), "wb") as f:
            f.write(b"x" * 77 + self.keys[("1", 2)] + b"y" * 9 + self.keys[("7", 1)][:20])
        with open(os.path.join(self.data, "err.log"), "w") as f:
            f.write("token=" + self.token + "\n")
        rc, text = self.run_scan(self.data)
        self.assertEqual(rc, 1, text)
        self.assertIn("key s/keys/1/2: raw x1 (32 bytes)", text)
        self.assertIn("key s/keys/7/1: fragment x1 (20 bytes)", text)
        self.assertIn("token root token: token x1", text)
        self.assertIn("bytes of key material found on disk: 52", text)
        rc, text = self.run_scan("--exclude", os.path.join(self.data, "sub"),
                                 "--exclude", os.path.join(self.data, "err.log"), self.data)
        self.assertEqual(rc, 0, text)

    def test_refuses_to_scan_for_nothing(self):
        rc, text = self.run_scan("--min-keys", "4", self.data)
        self.assertEqual(rc, 2, text)
        self.assertIn("a scan for nothing proves nothing", text)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--devlocker", required=True)
    args, rest = ap.parse_known_args()
    DEVLOCKER = os.path.abspath(args.devlocker)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
