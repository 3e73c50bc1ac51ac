# SPDX-License-Identifier: LGPL-2.1-or-later
# The process test_pycode reads code objects out of (CPython 3.10 to 3.13). It prints one JSON line: where its
# code objects are and what the interpreter itself says of them (names, files, first lines, the line of every
# instruction), then waits until its stdin closes so that the memory stays as printed.
import json
import sys
import types

MINOR = sys.version_info[1]


def simple(a, b):
    return a + b


class Outer:
    def method(self):
        def inner(x):
            return x * 2
        return inner


def größe(n):
    return n + 1


def 名前():
    return 1


def 𠀀():
    return 2


def gen(n):
    for i in range(n):
        yield i


def long_function(x, items):
    y = (x +
         1)
    z = [x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x,
         x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x]
    w = [x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x]  # noqa: E501
    long_line = "................................................................................................................................"; q = x + len(long_line) + y  # noqa: E501,E702
    with open(__file__) as f:
        f.read(1)
    try:
        y = 1 / x
    except ZeroDivisionError:
        y = 0
    for i in items:
        if i:
            y += i
        else:
            continue
    return sum(z) + len(w) + q + y if w else (
        y)


# Far apart lines (deltas past 127 and past 6-bit varints, forwards and backwards: a call's arguments far below
# it) in a file of another name.
FAR_SOURCE = ("def far_apart(n):\n"
              "    a = n\n" + "\n" * 300 +
              "    for i in range(n):\n" + "\n" * 5000 +
              "        a += i\n" + "\n" * 70 +
              "    b = max(\n" + "\n" * 5000 +
              "        a,\n" + "\n" * 200 +
              "    n)\n"
              "    return b\n")
far_globals = {}
exec(compile(FAR_SOURCE, "/nonexistent/файл.py", "exec"), far_globals)
far_apart = far_globals["far_apart"]


def renamed(code, name, **kw):
    """code with another co_qualname (3.11+) or co_name (3.10): names the compiler would never give."""
    kw["co_qualname" if MINOR >= 11 else "co_name"] = name
    return code.replace(**kw)


def lines(code):
    """(instruction index, line) of every code unit, -1 where there is no line."""
    if MINOR >= 11:
        positions = list(code.co_positions())
        assert len(positions) == len(code.co_code) // 2
        return [[i, -1 if p[0] is None else p[0]] for i, p in enumerate(positions)]
    out = []
    for start, end, line in code.co_lines():
        out += [[b // 2, -1 if line is None else line] for b in range(start, end, 2)]
    return out


codes = {
    "simple": simple.__code__,
    "inner": Outer().method().__code__,
    "größe": größe.__code__,
    "名前": 名前.__code__,
    "𠀀": 𠀀.__code__,
    "gen": gen.__code__,
    "long_function": long_function.__code__,
    "far_apart": far_apart.__code__,
    # the test knows what these show as: control characters, a surrogate, and names longer than its buffer
    "control": renamed(simple.__code__, "bad\x01name\x7fend\x85!", co_filename="/tmp/a\tb.py"),
    "surrogate": renamed(simple.__code__, "a\ud800b"),
    "long_ascii": renamed(simple.__code__, "x" * 300),
    "long_latin1": renamed(simple.__code__, "é" * 100),
}
crafted = {"control", "surrogate", "long_ascii", "long_latin1"}
out = {
    "minor": MINOR,
    "code_type": id(types.CodeType),
    "str_object": id(FAR_SOURCE),
    "functions": [{
        "key": key,
        "code": id(code),
        "name": None if key in crafted else (code.co_qualname if MINOR >= 11 else code.co_name),
        "file": None if key in crafted else code.co_filename,
        "firstlineno": code.co_firstlineno,
        "lines": lines(code),
    } for key, code in codes.items()],
}
sys.stdout.buffer.write(json.dumps(out, ensure_ascii=False).encode() + b"\n")
sys.stdout.flush()
sys.stdin.read()
