"""Crafted .rtprof.gz traces for the readers' hostile-input tests (docs/trace-format.md).

A trace is gzip members, one per block: b"RTPB", a kind byte (H header, R records, F footer), a varint
sequence number, then varint-encoded fields. This writes what the format allows, not what a recording would
make: sizes, times and counts chosen to hit the readers' arithmetic.
"""
import gzip
import struct

FORMAT_VERSION = 2
TR_SYSCALL = 16
TR_SWITCH = 17
TRACE_THREAD_BASE = 32
TRACE_PROC = 34
BLOCK_TARGET = 1 << 20  # uncompressed bytes of a records block, as the writer makes them


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def zigzag(v):
    return (v << 1) ^ (v >> 63) if v >= 0 else ((-v) << 1) - 1


def string(s):
    b = s.encode()
    return varint(len(b)) + b


class Trace:
    def __init__(self, start_ns=1_000_000_000, ncpus=2, target_pid=100, mode="run", command="crafted"):
        self.start_ns, self.ncpus, self.target_pid = start_ns, ncpus, target_pid
        self.mode, self.command = mode, command
        self.blocks = []  # full records blocks
        self.records = bytearray()
        self.prev_ts = 0
        self.seq = 0

    def _block(self, kind, body):
        data = b"RTPB" + kind + varint(self.seq) + body
        self.seq += 1
        return gzip.compress(data, compresslevel=1, mtime=0)

    def header(self):
        return (varint(FORMAT_VERSION) + string("0.1.0") + string("host") + string("6.0") + string("x86_64") +
                varint(1) + varint(zigzag(0)) + varint(self.ncpus) + string(self.mode) + varint(self.target_pid) +
                string(self.command) + varint(self.start_ns) + varint(0))

    def _record(self, rtype, ts, fields):
        self.records += bytes([rtype]) + varint(zigzag(ts - self.prev_ts)) + fields
        self.prev_ts = ts
        if len(self.records) >= BLOCK_TARGET:
            # each block's times are deltas from 0 again
            self.blocks.append(bytes(self.records))
            self.records = bytearray()
            self.prev_ts = 0

    def syscall(self, ts, tid, nr, dur_ns, ret=0, cpu=0):
        self._record(TR_SYSCALL, ts, varint(tid) + varint(nr) + varint(dur_ns) + varint(zigzag(ret)) + varint(cpu))

    def proc(self, ts, pid, comm="p", runtime_kind=0, version="", exe="/bin/p"):
        self._record(TRACE_PROC, ts, varint(pid) + varint(runtime_kind) + string(version) + string(exe) +
                     string(comm))

    def thread_base(self, ts, tid, tgid, comm="t"):
        self._record(TRACE_THREAD_BASE, ts, varint(tid) + varint(tgid) + varint(0) + varint(0) + string(comm))

    def switch(self, ts, cpu, prev_tid, next_tid, prev_state=1, preempt=0, prev_oncpu_ns=0):
        self._record(TR_SWITCH, ts, varint(cpu) + varint(prev_tid) + varint(next_tid) + varint(prev_state) +
                     varint(preempt) + varint(prev_oncpu_ns) + varint(0))

    def footer(self, end_ns, records=0):
        return (varint(end_ns) + varint(records) + varint(0) + varint(0) + varint(zigzag(0)) +
                struct.pack("<d", 0.0) * 3 + varint(zigzag(0)) + string("procfs") + string("exit"))

    def build(self, end_ns):
        out = self._block(b"H", self.header())
        for body in self.blocks + ([bytes(self.records)] if self.records else []):
            out += self._block(b"R", body)
        return out + self._block(b"F", self.footer(end_ns))


def many_threads(n, first_tid=1000, step_ns=1000):
    """n distinct threads: thread first_tid + i is switched in on CPU 0 (from idle) at start + (i + 1) * step_ns
    and makes one 1 us getppid-like call (nr 110) then; each tid is in exactly two records, one of each kind.
    Returns (trace bytes, end_ns)."""
    t = Trace(start_ns=1_000_000_000, ncpus=2, target_pid=first_tid)
    for i in range(n):
        ts = t.start_ns + (i + 1) * step_ns
        t.switch(ts, 0, 0, first_tid + i)
        t.syscall(ts + 1, first_tid + i, 110, 1000)
    end_ns = t.start_ns + (n + 1) * step_ns
    return t.build(end_ns), end_ns


def many_switches(n, tid=1000, step_ns=1000):
    """n switch-outs of one thread on CPU 0, each to an interruptible sleep with 600 ns more of CPU time than
    the one before: the timeline draws each as a run and a sleep. Returns (trace bytes, end_ns)."""
    t = Trace(start_ns=1_000_000_000, ncpus=2, target_pid=tid)
    # the fields of Trace.switch() but the CPU time, encoded once: millions of records in seconds
    head = bytes([TR_SWITCH]) + varint(zigzag(step_ns))
    fields = varint(0) + varint(tid) + varint(0) + varint(1) + varint(0)
    for i in range(n):
        ts = t.start_ns + (i + 1) * step_ns
        if not t.records:
            t._record(TR_SWITCH, ts, fields + varint((i + 1) * 600) + varint(0))
            continue
        t.records += head + fields + varint((i + 1) * 600) + b"\0"
        t.prev_ts = ts
        if len(t.records) >= BLOCK_TARGET:
            t.blocks.append(bytes(t.records))
            t.records = bytearray()
            t.prev_ts = 0
    end_ns = t.start_ns + (n + 1) * step_ns
    return t.build(end_ns), end_ns


def many_processes(n, first_pid=1000, step_ns=1000):
    """n distinct processes, each with one TRACE_PROC record. Returns (trace bytes, end_ns)."""
    t = Trace(start_ns=1_000_000_000, ncpus=2, target_pid=first_pid)
    for i in range(n):
        t.proc(t.start_ns + (i + 1) * step_ns, first_pid + i)
    end_ns = t.start_ns + (n + 1) * step_ns
    return t.build(end_ns), end_ns


def many_errnos(nrs, errs, tid=1000, step_ns=1000):
    """One failed call for every (syscall nr in range(nrs), errno in 1..errs) pair, by one thread. Returns
    (trace bytes, end_ns)."""
    t = Trace(start_ns=1_000_000_000, ncpus=2, target_pid=tid)
    ts = t.start_ns
    for nr in range(nrs):
        for err in range(1, errs + 1):
            ts += step_ns
            t.syscall(ts, tid, nr, 1000, -err)
    return t.build(ts + step_ns), ts + step_ns
