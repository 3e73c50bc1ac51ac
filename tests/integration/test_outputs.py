"""Bad input rtprof gets a precise answer for:

- a negative or malformed number is refused while the options are parsed, with exit code 2 and a message
  naming the option and the value;
- a saved report given to compare is one JSON value: an empty file, one cut short, or a second value after
  the first is refused, saying which.
"""

import json
import os
import shutil
import tempfile
import unittest

import rtp
import tracegen


def setUpModule():
    rtp.check_rtprof()


def crafted_trace(path):
    """A one-thread trace (tracegen.py): thread 100 runs 1 ms on CPU 0."""
    t = tracegen.Trace(start_ns=1000, ncpus=2, target_pid=100)
    t.thread_base(1000, 100, 100, "crafted")
    t.switch(2000, 0, 0, 100)
    t.switch(1_002_000, 0, 100, 0, prev_state=1, prev_oncpu_ns=1_000_000)
    with open(path, "wb") as f:
        f.write(t.build(2_000_000))


class Case(unittest.TestCase):
    def tmpdir(self):
        tmp = tempfile.mkdtemp(prefix="rtprof-outputs-")
        os.chmod(tmp, 0o755)
        self.addCleanup(shutil.rmtree, tmp, True)
        return tmp

    def check_error(self, res, substrings, rc=2):
        self.assertEqual(res.returncode, rc, "exit code should be %d\n%s" % (rc, res.describe()))
        self.assertEqual(res.stdout, "", "nothing may be printed on stdout on error\n%s" % res.describe())
        self.assertTrue(res.stderr.startswith("rtprof: "), "message should start with 'rtprof: '\n%s" % res.describe())
        for sub in substrings:
            self.assertIn(sub.lower(), res.stderr.lower(), "message should mention %r\n%s" % (sub, res.describe()))


# ---- numbers ------------------------------------------------------------------------------------------------------

class Numbers(Case):
    """Each refused while parsing, before anything runs, with the option and the value named."""

    def test_refused(self):
        tmp = self.tmpdir()
        marker = os.path.join(tmp, "ran")
        trace = os.path.join(tmp, "t.rtprof.gz")
        crafted_trace(trace)
        cases = [
            (["run", "--top", "-1", "--", "touch", marker], ["--top", "'-1'"]),
            (["run", "--top", "5x", "--", "touch", marker], ["--top", "'5x'"]),
            (["run", "--top", "", "--", "touch", marker], ["--top"]),
            (["attach", "-d", "1", "--top", "-1", "1"], ["--top", "'-1'"]),
            (["run", "--max-size", " -1", "-o", os.path.join(tmp, "x.rtprof.gz"), "--", "touch", marker],
             ["size", "' -1'"]),
            (["report", "--top", "-1", trace], ["--top", "'-1'"]),
            (["report", "--top", "99999999999999999999", trace], ["--top"]),
            (["query", "--top", "-1", "1"], ["--top", "'-1'"]),
        ]
        for args, subs in cases:
            with self.subTest(args=args):
                res = rtp.rtprof(*args, env=dict(os.environ, RTPROF_SOCKET=os.path.join(tmp, "none.sock")))
                self.check_error(res, subs)
        self.assertFalse(os.path.exists(marker), "a command ran although an option was refused")

    def test_zero_is_all(self):
        """--top 0 stays "all rows"."""
        tmp = self.tmpdir()
        trace = os.path.join(tmp, "t.rtprof.gz")
        crafted_trace(trace)
        res = rtp.rtprof("report", "--top", "0", trace)
        self.assertEqual(res.returncode, 0, res.describe())


# ---- compare's JSON inputs ----------------------------------------------------------------------------------------

class CompareInputs(Case):
    def setUp(self):
        self.tmp = self.tmpdir()
        trace = os.path.join(self.tmp, "t.rtprof.gz")
        crafted_trace(trace)
        res = rtp.rtprof("report", "--json", trace)
        self.assertEqual(res.returncode, 0, res.describe())
        self.report = res.stdout
        self.good = self.write("good.json", self.report)

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_empty_file(self):
        empty = self.write("empty.json", "")
        res = rtp.rtprof("compare", self.good, empty)
        self.check_error(res, [empty, "empty"])
        self.assertNotIn("continue", res.stderr, res.describe())

    def test_blank_file(self):
        blank = self.write("blank.json", " \n\t\n")
        self.check_error(rtp.rtprof("compare", self.good, blank), [blank, "empty"])

    def test_second_value_after_the_first(self):
        doubled = self.write("doubled.json", self.report + "\n" + self.report)
        self.check_error(rtp.rtprof("compare", self.good, doubled), [doubled, "more follows"])

    def test_unfinished_value(self):
        cut = self.write("cut.json", self.report[:len(self.report) // 2])
        res = rtp.rtprof("compare", self.good, cut)
        self.check_error(res, [cut, "ends before"])
        self.assertNotIn("continue", res.stderr, res.describe())

    def test_trailing_blanks_are_fine(self):
        spaced = self.write("spaced.json", self.report + "\n\n  \n")
        res = rtp.rtprof("compare", "--json", self.good, spaced)
        self.assertEqual(res.returncode, 0, res.describe())
        json.loads(res.stdout)


if __name__ == "__main__":
    rtp.main()
