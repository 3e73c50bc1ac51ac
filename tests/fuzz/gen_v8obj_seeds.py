#!/usr/bin/env python3
"""Writes the seeds of fuzz_v8obj (tests/fuzz/corpus/fuzz_v8obj/): memory images of a SharedFunctionInfo and
what it points to, laid out as node 20's V8 (and node 24's, where they differ) lays them out, with the
constants node itself exports (v8dbg_*). Usage: gen_v8obj_seeds.py OUT_DIR"""
import os
import struct
import sys

BASE = 0x10000
T_SFI, T_SI, T_SCRIPT, T_ODDBALL = 262, 261, 167, 131
T_SEQ_ONE, T_SEQ_TWO, T_CONS_ONE, T_THIN_ONE, T_ARRAY = 0x08, 0x00, 0x09, 0x0D, 0xB0


def smi(v):
    return (v & 0xffffffff) << 32


class Image:
    def __init__(self):
        self.buf = bytearray()
        self.maps = {}

    def alloc(self, size):
        while len(self.buf) % 8:
            self.buf.append(0)
        at = len(self.buf)
        self.buf += bytes(size)
        return BASE + at + 1  # tagged

    def put(self, obj, off, data):
        at = obj - 1 - BASE + off
        self.buf[at:at + len(data)] = data

    def word(self, obj, off, v):
        self.put(obj, off, struct.pack("<Q", v))

    def map(self, type_):
        if type_ not in self.maps:
            m = self.alloc(16)
            self.put(m, 12, struct.pack("<H", type_))
            self.maps[type_] = m
        return self.maps[type_]

    def obj(self, type_, size):
        o = self.alloc(size)
        self.word(o, 0, self.map(type_))
        return o

    def string(self, s):
        try:
            raw, t = s.encode("latin-1"), T_SEQ_ONE
        except UnicodeEncodeError:
            raw, t = s.encode("utf-16-le"), T_SEQ_TWO
        o = self.obj(t, 16 + len(raw))
        self.put(o, 12, struct.pack("<i", len(s)))
        self.put(o, 16, raw)
        return o

    def cons(self, a, b):
        o = self.obj(T_CONS_ONE, 32)
        self.put(o, 12, struct.pack("<i", 0))
        self.word(o, 16, a)
        self.word(o, 24, b)
        return o

    def array(self, values):
        o = self.obj(T_ARRAY, 16 + 8 * len(values))
        self.word(o, 8, smi(len(values)))
        for i, v in enumerate(values):
            self.word(o, 16 + 8 * i, smi(v))
        return o


def scope_info(img, locals_, fv_name, inferred, start, end, positions_first):
    """flags, parameter count, locals' count, [start, end,] names, properties, function variable {name,
    slot}, inferred name, [start, end]"""
    slots = [smi(0x4171c2), smi(1), smi(len(locals_))]
    if positions_first:
        slots += [smi(start), smi(end)]
    slots += [img.string(n) for n in locals_] + [smi(0x3fffc0)] * len(locals_)
    slots += [fv_name, smi(-1), inferred]
    if not positions_first:
        slots += [smi(start), smi(end)]
    o = img.obj(T_SI, 8 + 8 * len(slots))
    for i, v in enumerate(slots):
        img.word(o, 8 + 8 * i, v)
    return o


def build(kind):
    img = Image()
    node24 = kind in ("node24", "node24_fp")
    sfi = img.obj(T_SFI, 64)  # first: the fuzzer reads it at the image's start
    undefined = img.obj(T_ODDBALL, 16)
    src = "'use strict';\n\nfunction spinA(n) {\n  return n;\n}\n"
    script = img.obj(T_SCRIPT, 96)
    img.word(script, 16, img.string("/srv/app.js"))
    img.word(script, 8, img.string(src))
    start = src.index("(n)")
    if kind != "source_lines":
        ends = [i for i, c in enumerate(src) if c == "\n"]
        img.word(script, 56, img.array(ends))
    else:
        img.word(script, 56, undefined)
    if kind == "uncompiled":
        nos = img.string("lazyOne")
    elif kind == "anonymous":
        nos = scope_info(img, [], 0, img.cons(img.string("obj."), img.string("handler")), start, start + 9, False)
    elif kind == "two_byte":
        nos = scope_info(img, ["x"], img.string("caf\u00e9\u4e2d"), undefined, start, start + 9, False)
    else:
        nos = scope_info(img, ["y", "z"], img.string("spinA"), undefined, start, start + 9, node24)
    img.word(sfi, 24 if node24 else 16, nos)
    img.word(sfi, 40 if node24 else 32, script)
    fp = (nos >> 3) & 0xffff
    header = bytes([(1 if node24 else 0) | (2 if kind == "node24_fp" else 0)]) + struct.pack("<H", fp)
    return header + bytes(img.buf)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for kind in ("node20", "node24", "node24_fp", "uncompiled", "anonymous", "two_byte", "source_lines"):
        with open(os.path.join(out, kind), "wb") as f:
            f.write(build(kind))


if __name__ == "__main__":
    main()
