"""Maps an offset in an ELF core file (gdb's gcore) to the process memory it
came from: the virtual address (PT_LOAD segments), the mapping it lies in
(/proc/PID/maps captured next to the core, or the core's NT_FILE note), and
whether it is a thread's stack (NT_PRSTATUS stack pointers). x86-64 only.
"""
import bisect
import struct
import subprocess

PT_LOAD, PT_NOTE = 1, 4
NT_PRSTATUS, NT_FILE = 1, 0x46494C45
PRSTATUS_PID_OFF, PRSTATUS_REG_OFF, RSP_INDEX = 32, 112, 19


class Mapping:
    def __init__(self, start, end, perms, name, dontdump=False):
        self.start, self.end, self.perms, self.name, self.dontdump = start, end, perms, name, dontdump


def parse_maps(text, smaps_text=None):
    """Mappings from /proc/PID/maps; smaps (optional) adds the 'dd' (MADV_DONTDUMP) flag."""
    maps = []
    for line in text.splitlines():
        parts = line.split(None, 5)
        if len(parts) < 5:
            continue
        lo, hi = (int(x, 16) for x in parts[0].split("-"))
        maps.append(Mapping(lo, hi, parts[1], parts[5].strip() if len(parts) > 5 else ""))
    if smaps_text:
        dd, current = set(), None
        for line in smaps_text.splitlines():
            head = line.split(None, 1)[0] if line.strip() else ""
            if "-" in head and not head.endswith(":"):
                current = int(head.split("-")[0], 16)
            elif head == "VmFlags:" and " dd" in " " + line.split(":", 1)[1]:
                dd.add(current)
        for m in maps:
            m.dontdump = m.start in dd
    return maps


class Core:
    def __init__(self, path, maps=None):
        with open(path, "rb") as f:
            head = f.read(64)
            if head[:4] != b"\x7fELF" or head[4] != 2 or struct.unpack_from("<H", head, 16)[0] != 4:
                raise ValueError(f"{path} is not a 64-bit ELF core file")
            phoff, = struct.unpack_from("<Q", head, 32)
            phentsize, phnum = struct.unpack_from("<HH", head, 54)
            f.seek(phoff)
            table = f.read(phentsize * phnum)
            self.loads, notes = [], []
            for i in range(phnum):
                p_type, _flags, off, vaddr, _pa, filesz, memsz, _al = struct.unpack_from("<IIQQQQQQ", table, i * phentsize)
                if p_type == PT_LOAD and filesz:
                    self.loads.append((off, vaddr, filesz))
                elif p_type == PT_NOTE:
                    f.seek(off)
                    notes.append(f.read(filesz))
        self.thread_sps, file_maps = {}, []
        for blob in notes:
            self._parse_notes(blob, file_maps)
        self.maps = maps if maps is not None else file_maps
        self.dumped_bytes = sum(l[2] for l in self.loads)
        self._symbols = {}

    def _parse_notes(self, blob, file_maps):
        pos = 0
        while pos + 12 <= len(blob):
            namesz, descsz, ntype = struct.unpack_from("<III", blob, pos)
            desc_at = pos + 12 + (namesz + 3) // 4 * 4
            desc = blob[desc_at:desc_at + descsz]
            pos = desc_at + (descsz + 3) // 4 * 4
            if ntype == NT_PRSTATUS and len(desc) >= PRSTATUS_REG_OFF + 8 * (RSP_INDEX + 1):
                lwp, = struct.unpack_from("<i", desc, PRSTATUS_PID_OFF)
                self.thread_sps[lwp] = struct.unpack_from("<Q", desc, PRSTATUS_REG_OFF + 8 * RSP_INDEX)[0]
            elif ntype == NT_FILE and len(desc) >= 16:
                count, _page = struct.unpack_from("<QQ", desc, 0)
                names = desc[16 + 24 * count:].split(b"\0")
                for i in range(count):
                    lo, hi, _ofs = struct.unpack_from("<QQQ", desc, 16 + 24 * i)
                    file_maps.append(Mapping(lo, hi, "", names[i].decode(errors="replace") if i < len(names) else ""))

    def vaddr(self, offset):
        for off, vaddr, size in self.loads:
            if off <= offset < off + size:
                return vaddr + offset - off
        return None

    def where(self, offset):
        """A human description of the memory at a core file offset."""
        addr = self.vaddr(offset)
        if addr is None:
            return "core metadata (notes/headers), not process memory"
        m = next((m for m in self.maps if m.start <= addr < m.end), None)
        if m is None:
            return f"0x{addr:x}: in no known mapping"
        return f"0x{addr:x} in {m.start:x}-{m.end:x} {m.perms} {self.place(addr, m)}"

    def place(self, addr, m=None, stable=False):
        """Where addr is: a symbol of a binary's static data, a thread stack,
        the heap or another anonymous mapping. stable: without thread ids."""
        m = m or next((m for m in self.maps if m.start <= addr < m.end), None)
        if m is None:
            return "no known mapping"
        for lwp, sp in self.thread_sps.items():
            if m.start <= sp < m.end:
                state = "live frames (above sp)" if addr >= sp else "stale, below sp"
                return f"a thread stack, {state}" if stable else f"stack of thread LWP {lwp}, {state}"
        region = describe_mapping(m, self.maps)
        binary = region.split(" .bss")[0]
        if not binary.startswith("/"):
            return region
        base = min(x.start for x in self.maps if x.name == binary)
        sym = self.symbol(binary, addr - base)
        if stable:  # no install path, no offset that moves with every build
            region = region.replace(binary, binary.rsplit("/", 1)[-1])
            sym = sym and sym.split("+")[0]
        return f"{region}, in {sym}" if sym else region

    def symbol(self, binary, offset):
        """name+0xN of the exported symbol holding a load offset (nm -D), or None."""
        if binary not in self._symbols:
            table = []
            try:
                out = subprocess.run(["nm", "-D", "--defined-only", "-S", binary], capture_output=True,
                                     text=True, timeout=60).stdout
            except (OSError, subprocess.SubprocessError):
                out = ""
            for line in out.splitlines():
                parts = line.split()
                if len(parts) == 4:
                    table.append((int(parts[0], 16), int(parts[1], 16), parts[3]))
            table.sort()
            self._symbols[binary] = table
        table = self._symbols[binary]
        i = bisect.bisect_right(table, (offset, float("inf"), "")) - 1
        if i >= 0 and table[i][0] <= offset < table[i][0] + table[i][1]:
            return f"{table[i][2]}+0x{offset - table[i][0]:x}"
        return None


def describe_mapping(m, maps):
    if m.name:
        return m.name
    # An anonymous mapping right after a file's last mapping is that file's .bss.
    prev = [p for p in maps if p.end == m.start and p.name and not p.name.startswith("[")]
    if prev:
        return prev[0].name + " .bss (static data)"
    return "anonymous (malloc arena, mmap'ed buffers or a thread stack)"
