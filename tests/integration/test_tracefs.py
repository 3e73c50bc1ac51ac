"""rtprof must not need tracefs: in a private mount namespace with tracefs (and debugfs, whose tracing/ directory
would automount it) unmounted, `rtprof run` still counts a known number of syscalls."""

import shlex
import shutil
import unittest

import rtp

N_GETPPID = 1000
# Exit code of the shell when tracefs is still mounted: the test would prove nothing.
STILL_MOUNTED = 99


def setUpModule():
    rtp.check_rtprof()


class NoTracefs(unittest.TestCase):
    def setUp(self):
        rtp.require_root(self)
        if not shutil.which("unshare"):
            rtp.skip_or_fail(self, "unshare (util-linux) is not installed")

    def test_run_without_tracefs(self):
        py = "import os; [os.getppid() for _ in range(%d)]" % N_GETPPID
        script = (
            "umount /sys/kernel/tracing 2>/dev/null; "
            "umount /sys/kernel/debug/tracing 2>/dev/null; "
            "umount /sys/kernel/debug 2>/dev/null; "
            "if grep -qw tracefs /proc/self/mounts; then exit %d; fi; "
            "exec %s run --json -o - -- %s -c %s"
            % (STILL_MOUNTED, shlex.quote(rtp.RTPROF), shlex.quote(rtp.python_exe()), shlex.quote(py)))
        # unshare -m makes the new namespace's mounts private: the unmounts do not reach the host.
        res = rtp.run(["unshare", "-m", "sh", "-c", script])
        self.assertNotEqual(res.returncode, STILL_MOUNTED,
                            "could not unmount tracefs in the namespace\n%s" % res.describe())
        self.assertEqual(res.returncode, 0, "rtprof run without tracefs failed\n%s" % res.describe())
        report = rtp.parse_report(self, res.stdout, "stdout of `rtprof run --json`")
        count = rtp.syscall_count(self, report, "getppid")
        self.assertGreaterEqual(count, N_GETPPID,
                                "workload made %d getppid calls, report counted %d" % (N_GETPPID, count))


if __name__ == "__main__":
    rtp.main()
