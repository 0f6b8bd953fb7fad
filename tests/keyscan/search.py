"""Finds secrets (key bytes, their 16-byte windows, base64/hex forms, token
strings) in files of any size, without ever printing them.

Every pattern is at least 15 bytes long, so any occurrence fully covers one
8-byte word at an 8-aligned file offset. A file is read as a sequence of such
words and intersected (in C, by set.intersection) with the set of every 8-byte
piece of every pattern; only the rare matching words are then located with
bytes.find and verified against the whole pattern. That keeps a scan of a
multi-gigabyte core file at memory-bandwidth-like speed in pure Python.
"""
import base64
import mmap
import os
import struct

WINDOW = 16
MIN_PATTERN = 15  # shorter patterns are not guaranteed to cover an aligned word
CHUNK = 64 << 20  # multiple of 8


class Secret:
    """One secret: a key (bytes) or a token (str). `label` names it without revealing it."""

    def __init__(self, label, value, kind):
        self.label = label
        self.value = value if isinstance(value, bytes) else value.encode()
        self.kind = kind  # "key" or "token"


class Pattern:
    def __init__(self, secret, form, data, at=0):
        self.secret = secret
        self.form = form  # raw | window | base64 | base64url | hex | HEX | token
        self.data = data
        self.at = at  # offset of a window inside the key


def patterns_for(secret):
    v = secret.value
    if secret.kind == "token":
        return [Pattern(secret, "token", v)]
    out = [Pattern(secret, "raw", v)]
    if len(v) > WINDOW:
        out += [Pattern(secret, "window", v[i:i + WINDOW], i) for i in range(len(v) - WINDOW + 1)]
    b64 = base64.b64encode(v).rstrip(b"=")
    out.append(Pattern(secret, "base64", b64))
    url = base64.urlsafe_b64encode(v).rstrip(b"=")
    if url != b64:
        out.append(Pattern(secret, "base64url", url))
    out.append(Pattern(secret, "hex", v.hex().encode()))
    out.append(Pattern(secret, "HEX", v.hex().upper().encode()))
    return out


class Hit:
    def __init__(self, pattern, offset):
        self.pattern = pattern
        self.offset = offset  # file offset of the first byte

    @property
    def end(self):
        return self.offset + len(self.pattern.data)


class Searcher:
    def __init__(self, secrets):
        self.patterns = []
        for s in secrets:
            self.patterns += patterns_for(s)
        self.short = [p for p in self.patterns if len(p.data) < MIN_PATTERN]
        self.words = {}  # 8-byte word (as int) -> [(pattern, offset of the word in it)]
        for p in self.patterns:
            if len(p.data) < MIN_PATTERN:
                continue
            for i in range(len(p.data) - 7):
                w = struct.unpack_from("=Q", p.data, i)[0]
                self.words.setdefault(w, []).append((p, i))
        self.word_set = set(self.words)

    def _matching_words(self, buf):
        found = set()
        for start in range(0, len(buf) - len(buf) % 8, CHUNK):
            end = min(start + CHUNK, len(buf) - len(buf) % 8)
            with memoryview(buf)[start:end] as mv, mv.cast("Q") as words:
                found |= self.word_set.intersection(words)
        return found

    def search_buffer(self, buf):
        """Every verified occurrence of every pattern in buf, sorted by offset."""
        hits = {}
        for w in self._matching_words(buf):
            needle = struct.pack("=Q", w)
            pos = buf.find(needle)
            while pos >= 0:
                for p, i in self.words[w]:
                    start = pos - i
                    if start >= 0 and buf[start:start + len(p.data)] == p.data:
                        hits[(id(p), start)] = Hit(p, start)
                pos = buf.find(needle, pos + 1)
        for p in self.short:
            pos = buf.find(p.data)
            while pos >= 0:
                hits[(id(p), pos)] = Hit(p, pos)
                pos = buf.find(p.data, pos + 1)
        return sorted(hits.values(), key=lambda h: (h.offset, h.pattern.form))

    def search_file(self, path):
        size = os.path.getsize(path)
        if size == 0:
            return []
        with open(path, "rb") as f:
            if size < (1 << 20):
                return self.search_buffer(f.read())
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
                return self.search_buffer(m)


def summarize(hits):
    """Groups hits into findings: a full key (raw), a fragment of one (merged
    overlapping 16-byte windows not inside a raw hit), an encoded form, a
    token. Returns [(secret, form, offset, length)]."""
    raw_spans = [(h.offset, h.end, h.pattern.secret) for h in hits if h.pattern.form == "raw"]
    findings = []
    fragments = {}  # secret -> [[start, end]]
    for h in hits:
        p = h.pattern
        if p.form == "raw":
            findings.append((p.secret, "raw", h.offset, len(p.data)))
        elif p.form == "window":
            if any(s <= h.offset and h.end <= e and sec is p.secret for s, e, sec in raw_spans):
                continue
            spans = fragments.setdefault(p.secret, [])
            if spans and h.offset <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], h.end)
            else:
                spans.append([h.offset, h.end])
        else:
            findings.append((p.secret, p.form, h.offset, len(p.data)))
    for secret, spans in fragments.items():
        findings += [(secret, "fragment", s, e - s) for s, e in spans]
    return sorted(findings, key=lambda f: f[2])
