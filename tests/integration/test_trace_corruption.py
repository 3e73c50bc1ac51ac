"""A cut or damaged .rtprof.gz trace never crashes `rtprof report`: it is refused with exit code 2 and a message naming
the problem when its header cannot be read, and otherwise reported as far as it could be read, with a warning.

One trace of a workload making exactly N getppid() calls is recorded, then cut at many offsets (inside the header
member, at and around every gzip member boundary, just before the end of the footer), damaged by single-byte flips
and 16-byte garbage overwrites, and each copy given to `rtprof report --json`. The known numbers: a cut before the
end of the first records block reports 0 getppid calls, a cut after the last records block reports N, counts never
decrease as the cut moves later; a flip in a gzip header field that zlib ignores (MTIME, XFL, OS) leaves the report
exact. The integration tests also run under ASan+UBSan in CI, where a memory error in the reader fails them too.
"""

import os
import random
import shlex
import shutil
import subprocess
import tempfile
import unittest
import zlib

import rtp

N_GETPPID = 20000
N_CUTS = 60
N_FLIPS = 60
GZIP_HEADER_LEN = 10  # the writer's gzip members carry no name, comment or extra field
# Offsets in a gzip member header that zlib reads but does not check: MTIME (4 bytes), XFL, OS.
GZIP_UNCHECKED = (4, 5, 6, 7, 8, 9)


def setUpModule():
    rtp.check_rtprof()


def contents(data):
    """The decompressed contents of data's gzip members, or None when one does not inflate (CRC included)."""
    out = []
    pos = 0
    try:
        while pos < len(data):
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out.append(d.decompress(data[pos:]) + d.flush())
            if not d.eof:
                return None
            pos = len(data) - len(d.unused_data)
    except zlib.error:
        return None
    return out


def gzip_members(data):
    """[(start, end, kind, content length)] of the concatenated gzip members of data; the kind is the block's 5th byte
    ('H', 'R', 'F') after the "RTPB" magic."""
    members = []
    pos = 0
    while pos < len(data):
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        content = d.decompress(data[pos:]) + d.flush()
        if not d.eof:
            raise AssertionError("the trace has an incomplete gzip member at offset %d" % pos)
        end = len(data) - len(d.unused_data)
        if content[:4] != b"RTPB":
            raise AssertionError("gzip member at offset %d is not an rtprof block: %r" % (pos, content[:8]))
        members.append((pos, end, chr(content[4]), len(content)))
        pos = end
    return members


class Outcome:
    """What `rtprof report --json` did with one damaged copy."""

    def __init__(self, test, res, what):
        self.res = res
        self.what = what
        test.assertGreaterEqual(res.returncode, 0, "rtprof report was killed by signal %d on %s\n%s"
                                % (-res.returncode, what, res.describe()))
        test.assertIn(res.returncode, (0, 2), "rtprof report should exit 0 (report) or 2 (refused) on %s\n%s"
                      % (what, res.describe()))
        self.refused = res.returncode == 2
        self.report = None
        self.warnings = None
        self.count = None
        if self.refused:
            test.assertEqual(res.stdout, "", "a refused trace prints nothing on stdout (%s)\n%s"
                             % (what, res.describe()))
            test.assertTrue(res.stderr.startswith("rtprof: "), "a refused trace is said on stderr (%s)\n%s"
                            % (what, res.describe()))
        else:
            self.report = rtp.parse_report(test, res.stdout, "`rtprof report --json` of %s" % what)
            self.warnings = self.report.get("warnings")
            test.assertIsInstance(self.warnings, list, "report of %s has no warnings list\n%s"
                                  % (what, res.describe()))
            self.count = rtp.syscall_count(test, self.report, "getppid")
            test.assertLessEqual(self.count, N_GETPPID, "report of %s counts more getppid calls than were made\n%s"
                                 % (what, res.describe()))
            if self.warnings:
                test.assertIn("warning", res.stderr, "a warned report also warns on stderr (%s)\n%s"
                              % (what, res.describe()))


class RecordedTrace(unittest.TestCase):
    """Needs root: the trace is recorded with the real probes."""

    tmpdir = None
    trace = None
    data = None
    members = None
    skip_reason = None

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            cls.skip_reason = "needs root (euid is %d) to record a trace" % os.geteuid()
            return
        cls.tmpdir = tempfile.mkdtemp(prefix="rtprof-corruption.")
        cls.trace = os.path.join(cls.tmpdir, "getppid.rtprof.gz")
        cls.record_res = rtp.rtprof("run", "-q", "-o", cls.trace, "--", rtp.python_exe(),
                                    rtp.workload("getppid_loop.py"), str(N_GETPPID))
        if cls.record_res.returncode == 0 and os.path.isfile(cls.trace):
            with open(cls.trace, "rb") as f:
                cls.data = f.read()

    @classmethod
    def tearDownClass(cls):
        if cls.tmpdir:
            shutil.rmtree(cls.tmpdir, ignore_errors=True)

    def setUp(self):
        if self.skip_reason:
            rtp.skip_or_fail(self, self.skip_reason)
        self.assertIsNotNone(self.data, "recording the trace failed\n%s" % self.record_res.describe())
        self.members = gzip_members(self.data)
        kinds = "".join(m[2] for m in self.members)
        # the failures by path (E: the interpreter's start-up looks for files that are not there) go after the
        # records, before the footer
        self.assertRegex(kinds, r"^HR+E?F$", "trace blocks should be a header, records, failures by path, a "
                         "footer")
        for start, _, _, _ in self.members:
            self.assertEqual(self.data[start + 3], 0, "gzip member at %d has header flags set" % start)
        self.header_end = self.members[0][1]
        self.first_records_end = self.members[1][1]
        self.last_records_end = [m for m in self.members if m[2] == "R"][-1][1]
        self.footer_start = self.members[-1][0]

    def report_of(self, data, name):
        path = os.path.join(self.tmpdir, name)
        with open(path, "wb") as f:
            f.write(data)
        try:
            return Outcome(self, rtp.rtprof("report", "--json", path), name)
        finally:
            os.unlink(path)

    def unchecked_positions(self):
        return {start + off for start, _, _, _ in self.members for off in GZIP_UNCHECKED}

    # ---- (c) the file as written ----

    def test_untouched(self):
        out = Outcome(self, rtp.rtprof("report", "--json", self.trace), "the untouched trace")
        self.assertFalse(out.refused, out.res.describe())
        self.assertEqual(out.warnings, [], "the untouched trace has warnings\n%s" % out.res.describe())
        self.assertEqual(out.report.get("lost_events", 0), 0,
                         "events were lost while recording: the count cannot be exact\n%s" % out.res.describe())
        self.assertEqual(out.count, N_GETPPID, "untouched trace\n%s" % out.res.describe())
        self.assertEqual(out.res.stderr, "", "the untouched trace gives no message\n%s" % out.res.describe())

        gz = rtp.run(["gzip", "-t", self.trace])
        self.assertEqual(gz.returncode, 0, "gzip -t rejects the trace\n%s" % gz.describe())
        # zcat reads every member: its output is the blocks' content, whose total length is known.
        zcat = rtp.run(["bash", "-o", "pipefail", "-c", "zcat -- %s | wc -c" % shlex.quote(self.trace)])
        self.assertEqual(zcat.returncode, 0, "zcat | wc -c failed\n%s" % zcat.describe())
        self.assertEqual(int(zcat.stdout.strip()), sum(m[3] for m in self.members),
                         "zcat gives other bytes than the trace's blocks\n%s" % zcat.describe())

    # ---- (a) cut short ----

    def cut_offsets(self):
        size = len(self.data)
        offsets = {1, 2, 9, 10, 11, self.header_end // 2, self.header_end - 8, self.header_end - 1,
                   self.footer_start + 5, size - 9, size - 8, size - 4, size - 1}
        for start, end, _, _ in self.members:
            offsets.update({start, start + 1, start + GZIP_HEADER_LEN, (start + end) // 2, end - 1, end})
        step = size / (N_CUTS - len(offsets) + 1)
        i = 1
        while len(offsets) < N_CUTS:
            offsets.add(int(i * step))
            i += 1
        return sorted(o for o in offsets if 0 < o < size)

    def test_truncated(self):
        previous = (0, 0)
        for off in self.cut_offsets():
            out = self.report_of(self.data[:off], "cut-%d.rtprof.gz" % off)
            what = "trace cut at %d of %d bytes" % (off, len(self.data))
            if off < self.header_end:
                self.assertTrue(out.refused, "%s (inside the header block) must be refused\n%s"
                                % (what, out.res.describe()))
                self.assertIn("rtprof trace", out.res.stderr, "%s: the message should name the problem\n%s"
                              % (what, out.res.describe()))
                continue
            self.assertFalse(out.refused, "%s has a whole header: it must be reported\n%s"
                             % (what, out.res.describe()))
            self.assertTrue(out.warnings, "%s: the report must warn that the trace is incomplete\n%s"
                            % (what, out.res.describe()))
            self.assertIn("cut short", out.warnings[0], "%s: the warning should say the trace is cut short\n%s"
                          % (what, out.res.describe()))
            if off < self.first_records_end:
                self.assertEqual(out.count, 0, "%s: no records block is complete\n%s" % (what, out.res.describe()))
            if off >= self.last_records_end:
                self.assertEqual(out.count, N_GETPPID, "%s: every records block is complete\n%s"
                                 % (what, out.res.describe()))
            self.assertGreaterEqual(out.count, previous[1], "%s counts %d getppid calls, a cut at %d counted %d"
                                    % (what, out.count, previous[0], previous[1]))
            previous = (off, out.count)

    # ---- (b) damaged ----

    def expect_damage(self, out, lo, hi, what, damaged=None):
        """Bytes [lo, hi) were changed."""
        changed = set(range(lo, hi))
        # bits inflate never reads (a stored block's padding after its 3 header bits, the last byte's unused
        # bits): every member inflates to what it held, the trace is whole
        if damaged is not None and contents(damaged) == contents(self.data):
            self.assertFalse(out.refused, "%s: no content changed\n%s" % (what, out.res.describe()))
            self.assertEqual(out.warnings, [], "%s: no content changed\n%s" % (what, out.res.describe()))
            self.assertEqual(out.count, N_GETPPID, "%s\n%s" % (what, out.res.describe()))
            return
        # a member's last deflate byte ends in the padding bits up to the byte boundary, which inflate does
        # not read: a flip of only those leaves the member intact, and every record with it
        last_deflate = {end - 9 for _, end, _, _ in self.members}
        if changed <= last_deflate and not out.refused and not out.warnings:
            self.assertEqual(out.count, N_GETPPID, "%s: only the padding bits of a member's last deflate byte?\n%s"
                             % (what, out.res.describe()))
            return
        if changed <= self.unchecked_positions():
            self.assertFalse(out.refused, "%s: only gzip fields zlib ignores changed\n%s" % (what, out.res.describe()))
            self.assertEqual(out.warnings, [], "%s: only gzip fields zlib ignores changed\n%s"
                             % (what, out.res.describe()))
            self.assertEqual(out.count, N_GETPPID, "%s\n%s" % (what, out.res.describe()))
        elif lo < self.header_end:
            self.assertTrue(out.refused, "%s: the header block is damaged, the trace must be refused\n%s"
                            % (what, out.res.describe()))
            self.assertIn("rtprof trace", out.res.stderr, "%s: the message should name the problem\n%s"
                          % (what, out.res.describe()))
        else:
            self.assertFalse(out.refused, "%s: the header is intact, the trace must be reported\n%s"
                             % (what, out.res.describe()))
            self.assertTrue(out.warnings, "%s: the report must warn about the damage\n%s" % (what, out.res.describe()))
            if lo >= self.footer_start:
                self.assertEqual(out.count, N_GETPPID, "%s: only the footer is damaged\n%s"
                                 % (what, out.res.describe()))

    def flip_positions(self):
        positions = set()
        for start, end, _, _ in self.members:
            positions.update({start, start + 1, start + 2, start + 3, start + 4, start + 8, start + 9,
                              start + GZIP_HEADER_LEN, (start + end) // 2, end - 8, end - 5, end - 4, end - 1})
        step = len(self.data) / (N_FLIPS - len(positions) + 1)
        i = 1
        while len(positions) < N_FLIPS:
            positions.add(int(i * step))
            i += 1
        return sorted(p for p in positions if 0 <= p < len(self.data))

    def test_flipped_bytes(self):
        for i, pos in enumerate(self.flip_positions()):
            mask = 0xFF if i % 2 == 0 else 1 << (i % 8)
            damaged = bytearray(self.data)
            damaged[pos] ^= mask
            out = self.report_of(bytes(damaged), "flip-%d.rtprof.gz" % pos)
            self.expect_damage(out, pos, pos + 1, "byte %d of %d xor 0x%02x" % (pos, len(self.data), mask),
                               bytes(damaged))

    def test_garbage_overwrites(self):
        rng = random.Random(N_GETPPID)
        records = self.members[1]
        starts = [self.header_end // 2, records[0], records[0] + 3, (records[0] + records[1]) // 2,
                  self.last_records_end - 8, self.footer_start, len(self.data) - 16]
        for lo in starts:
            garbage = bytes(rng.randrange(256) for _ in range(16))
            damaged = bytearray(self.data)
            damaged[lo:lo + 16] = garbage
            self.assertNotEqual(bytes(damaged), self.data)
            out = self.report_of(bytes(damaged), "garbage-%d.rtprof.gz" % lo)
            self.expect_damage(out, lo, lo + 16, "16 garbage bytes at %d of %d" % (lo, len(self.data)))


class NotATrace(unittest.TestCase):
    """(d) Files that are no trace at all: no root needed."""

    def setUp(self):
        self.tmpdir = tempfile.mkdtemp(prefix="rtprof-notatrace.")

    def tearDown(self):
        shutil.rmtree(self.tmpdir, ignore_errors=True)

    def refused(self, data, name, substring):
        path = os.path.join(self.tmpdir, name)
        with open(path, "wb") as f:
            f.write(data)
        out = Outcome(self, rtp.rtprof("report", "--json", path), name)
        self.assertTrue(out.refused, "%s must be refused\n%s" % (name, out.res.describe()))
        self.assertIn(substring, out.res.stderr, "the message should name the problem\n%s" % out.res.describe())

    def test_empty_file(self):
        self.refused(b"", "empty.rtprof.gz", "empty file")

    def test_not_gzip(self):
        self.refused(b"this is a text file, not a trace\n" * 64, "text.rtprof.gz", "not an rtprof trace")

    def test_gzip_of_something_else(self):
        gz = subprocess.run(["gzip", "-c", "/etc/hostname"], stdout=subprocess.PIPE, check=True).stdout
        self.refused(gz, "hostname.gz", "not an rtprof trace")


if __name__ == "__main__":
    rtp.main()
