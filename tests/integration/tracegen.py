"""Crafted .rtprof.gz traces for the readers' hostile-input tests (docs/trace-format.md).

A trace is gzip members, one per block: b"RTPB", a kind byte (H header, R records, F footer), a varint
sequence number, then varint-encoded fields. This writes what the format allows, not what a recording would
make: sizes, times and counts chosen to hit the readers' arithmetic.
"""
import gzip
import struct

FORMAT_VERSION = 2
TR_SWITCH = 17
TRACE_THREAD_BASE = 32


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
        self.records = bytearray()
        self.prev_ts = 0
        self.seq = 0

    def _block(self, kind, body):
        data = b"RTPB" + kind + varint(self.seq) + body
        self.seq += 1
        return gzip.compress(data)

    def header(self):
        return (varint(FORMAT_VERSION) + string("0.1.0") + string("host") + string("6.0") + string("x86_64") +
                varint(1) + varint(zigzag(0)) + varint(self.ncpus) + string(self.mode) + varint(self.target_pid) +
                string(self.command) + varint(self.start_ns) + varint(0))

    def _record(self, rtype, ts, fields):
        self.records += bytes([rtype]) + varint(zigzag(ts - self.prev_ts)) + fields
        self.prev_ts = ts

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
        if self.records:
            out += self._block(b"R", bytes(self.records))
        return out + self._block(b"F", self.footer(end_ns))
