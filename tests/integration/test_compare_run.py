"""rtprof compare --run: the Benchmarks Game's table (secs, mem, gz, busy, cpu load) of a Python and a Node
program run 3 times each, every column checked against what the programs measured of themselves and against
the source's gzip'd size computed here; the markdown table's shape; a failing run reported, not averaged."""

import gzip
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import tokenize
import unittest

import rtp

RUNS = 3
N_PY = 1500000
N_JS = 30000000


def setUpModule():
    rtp.check_rtprof()


def strip_python(src):
    """Comments out (found by Python's own tokenizer), then each run of whitespace one space."""
    starts = [0]
    for line in src.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    cuts = []
    for tok in tokenize.tokenize(io.BytesIO(src).readline):
        if tok.type == tokenize.COMMENT:
            line_start = starts[tok.start[0] - 1]
            text = src[line_start:starts[tok.start[0]]].decode()
            cuts.append((line_start + len(text[:tok.start[1]].encode()), line_start + len(text[:tok.end[1]].encode())))
    for a, b in reversed(cuts):
        src = src[:a] + src[b:]
    return re.sub(rb"[ \t\n\r\f\v]+", b" ", src)


def strip_js(src):
    """// and /* */ comments out, outside '', "" and `` strings (this test's programs have no regular
    expression literal), then each run of whitespace one space."""
    out, i, n = bytearray(), 0, len(src)
    while i < n:
        c = src[i:i + 1]
        if c in (b"'", b'"', b"`"):
            j = i + 1
            while j < n and src[j:j + 1] != c:
                j += 2 if src[j:j + 1] == b"\\" else 1
            out += src[i:j + 1]
            i = j + 1
        elif src[i:i + 2] == b"//":
            while i < n and src[i:i + 1] != b"\n":
                i += 1
        elif src[i:i + 2] == b"/*":
            i = src.index(b"*/", i + 2) + 2
            out += b" "
        else:
            out += c
            i += 1
    return re.sub(rb"[ \t\n\r\f\v]+", b" ", bytes(out))


def gz_of(path, strip):
    with open(path, "rb") as f:
        return len(gzip.compress(strip(f.read()), 9, mtime=0))


class CompareRun(unittest.TestCase):
    def setUp(self):
        rtp.require_root(self)
        self.node = rtp.require_node(self)
        self.tmp = tempfile.mkdtemp(prefix="rtprof-compare-run-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def test_game_table(self):
        """--runs 3 of a Python and a Node program, as JSON: each run's secs, busy and mem against the program's
        own figures; the medians and spreads of those runs; gz of each source; the per-CPU loads summing to
        busy within 5%; the ratios; the machine and the interpreters named."""
        py_out, js_out = os.path.join(self.tmp, "py.jsonl"), os.path.join(self.tmp, "js.jsonl")
        py, js = rtp.workload("game_spin.py"), rtp.workload("game_spin.js")
        python = rtp.python_exe()
        res = rtp.rtprof("compare", "--run", "%s %s %d %s" % (python, py, N_PY, py_out),
                         "--run", "%s %s %d %s" % (self.node, js, N_JS, js_out), "--runs", str(RUNS), "--format",
                         "json", timeout=600)
        self.assertEqual(res.returncode, 0, res.describe())
        doc = json.loads(res.stdout)
        self.assertEqual(doc["runs"], RUNS)
        self.assertEqual(doc["machine"]["cpus"], os.cpu_count())
        self.assertEqual(doc["machine"]["kernel"], os.uname().release)
        a, b = doc["commands"]
        self.assertEqual(a["runtime"].split()[0], "python")
        version = subprocess.run([self.node, "--version"], stdout=subprocess.PIPE, text=True).stdout.strip()
        self.assertEqual(b["runtime"], "node " + version.lstrip("v"))
        self.assertEqual((a["gz"], a["gz_source"], a["gz_source_kind"]), (gz_of(py, strip_python), py, "python"))
        self.assertEqual((b["gz"], b["gz_source"], b["gz_source_kind"]), (gz_of(js, strip_js), js, "javascript"))
        for cmd, out in ((a, py_out), (b, js_out)):
            with open(out) as f:
                own = [json.loads(line) for line in f]
            self.assertEqual(len(own), RUNS, "each run ran once")
            runs = cmd["runs"]
            self.assertEqual([r["ok"] for r in runs], [True] * RUNS)
            for r, o in zip(runs, own):
                detail = "%s run %d: rtprof %s, the program's own %s" % (cmd["label"], r["run"], r, o)
                # wait4's figures of the process tree: the program's own, and its start-up and exit around them
                self.assertGreaterEqual(r["secs"], o["wall_s"], detail)
                self.assertLess(r["secs"], o["wall_s"] + 0.5, detail)
                self.assertGreaterEqual(r["busy_s"], o["busy_s"] - 0.002, detail)
                self.assertLess(r["busy_s"], o["busy_s"] * 1.05 + 0.05, detail)
                self.assertGreaterEqual(r["mem_kb"], o["maxrss_kb"], detail)
                self.assertLess(r["mem_kb"], o["maxrss_kb"] * 1.05 + 256, detail)
                # the per-CPU loads are the busy time spread over the CPUs, for the run's elapsed time
                self.assertAlmostEqual(sum(r["cpu_load_pct"]) / 100 * r["secs"], r["busy_s"],
                                       delta=0.05 * r["busy_s"], msg=detail)
            for key in ("secs", "busy_s", "mem_kb"):
                vals = sorted(r[key] for r in runs)
                self.assertEqual(cmd[key], {"median": vals[(RUNS - 1) // 2], "min": vals[0], "max": vals[-1]}, key)
            self.assertEqual(cmd["median_run"], [r["run"] for r in runs if r["secs"] == cmd["secs"]["median"]][0])
            ranked = [sorted(r["cpu_load_pct"], reverse=True) for r in runs]
            self.assertEqual(cmd["cpu_load_pct"], [statistics.median_low(x) for x in zip(*ranked)])
        self.assertAlmostEqual(b["ratio"]["secs"], b["secs"]["median"] / a["secs"]["median"], places=9)
        self.assertAlmostEqual(b["ratio"]["gz"], b["gz"] / a["gz"], places=9)

    def test_markdown_and_a_failing_run(self):
        """--format markdown: a header row, its separator, a row a command and a ratio row, as many cells each;
        the machine line first. A command that fails every other run: its failed run named, left out of the
        figures (its runs' count in the JSON), and the exit status 1."""
        flag = os.path.join(self.tmp, "flag")
        flaky = os.path.join(self.tmp, "flaky.py")
        with open(flaky, "w") as f:
            f.write("import os, sys\nif os.path.exists(sys.argv[1]):\n    os.unlink(sys.argv[1])\n    sys.exit(3)\n"
                    "open(sys.argv[1], 'w').close()\n")
        python = rtp.python_exe()
        res = rtp.rtprof("compare", "-q", "--run", "%s %s %d /dev/null" % (python, rtp.workload("game_spin.py"), 1000),
                         "--run", "%s %s %s" % (python, flaky, flag), "--runs", "3", "--format", "markdown",
                         timeout=600)
        self.assertEqual(res.returncode, 1, "a run failed: exit status 1\n" + res.describe())
        lines = res.stdout.splitlines()
        self.assertIn("%d cores" % os.cpu_count(), lines[0])
        self.assertIn(os.uname().release, lines[0])
        table = [line for line in lines if line.startswith("|")]
        self.assertEqual(len(table), 2 + 2 + 1, table)
        self.assertEqual([c.strip() for c in table[0].strip("|").split("|")],
                         ["", "command", "secs", "mem KB", "gz", "busy", "cpu load"])
        self.assertTrue(re.fullmatch(r"\|(-+:?\|)+", table[1].replace("--:", "---:").replace(" ", "")), table[1])
        for row in table[2:]:
            self.assertEqual(row.count("|"), table[0].count("|"), row)
        self.assertTrue(table[2].startswith("| A | `") and table[3].startswith("| B | `"), table)
        self.assertTrue(table[4].startswith("| B/A |"), table)
        self.assertRegex(table[2], r"\| \d+\.\d{3} \(\d+\.\d{3}-\d+\.\d{3}\) \|")
        self.assertIn("B: run 2 failed (exit status 3): not in the figures", res.stdout)
        # the same through JSON: run 2 of B is there, not ok, and not in its figures
        os.unlink(flag) if os.path.exists(flag) else None
        res = rtp.rtprof("compare", "-q", "--run", "%s %s %s" % (python, flaky, flag), "--runs", "3", "--json",
                         timeout=600)
        self.assertEqual(res.returncode, 1, res.describe())
        cmd = json.loads(res.stdout)["commands"][0]
        self.assertEqual([(r["run"], r["ok"], r["exit_status"]) for r in cmd["runs"]],
                         [(1, True, 0), (2, False, 3), (3, True, 0)])
        good = sorted(r["secs"] for r in cmd["runs"] if r["ok"])
        self.assertEqual(cmd["secs"], {"median": good[0], "min": good[0], "max": good[1]})

    def test_details_with_stacks(self):
        """--stacks, the text format: the details of the median runs, each command's top functions on CPU, and
        a function of both (the same program twice) side by side."""
        py = rtp.workload("game_spin.py")
        cmd = "%s %s %d /dev/null" % (rtp.python_exe(), py, N_PY)
        res = rtp.rtprof("compare", "-q", "--stacks", "--run", cmd, "--run", cmd, "--runs", "1", timeout=600)
        self.assertEqual(res.returncode, 0, res.describe())
        out = res.stdout
        self.assertIn("Where the difference comes from (each command's median run: A run 1, B run 1)", out)
        for section in ("\nSyscalls (", "\nScheduling (", "\nRuntime (", "\nTop functions on CPU ("):
            self.assertIn(section, out)
        top = out.split("\nTop functions on CPU (")[1]
        self.assertRegex(top, r"\n  A +\d+\.\d%  work \(game_spin\.py:\d+\)")
        self.assertRegex(top, r"\n  B +\d+\.\d%  work \(game_spin\.py:\d+\)")
        self.assertRegex(top, r"shared with A, self % of each input's samples:\n    work \(game_spin\.py:\d+\) +"
                              r"A +\d+\.\d% +B +\d+\.\d%")

    def test_bad_usage(self):
        for args, msg in ((["--run", "true", "--runs", "0"], "invalid --runs"),
                          (["--run", "true", "--format", "xml"], "unknown format"),
                          (["--run", " "], "--run needs a command"),
                          (["--run", "true", "a.json"], "no other inputs")):
            res = rtp.rtprof("compare", *args)
            self.assertEqual(res.returncode, 2, res.describe())
            self.assertIn(msg, res.stderr)


if __name__ == "__main__":
    rtp.main()
