"""Every bad input gets a precise answer: exit code 2 (127 for a command not found, 126 for one that cannot be
run), a message on stderr starting with "rtprof: " that names the problem, and nothing on stdout (not even with
--json)."""

import os
import shutil
import stat
import subprocess
import tempfile
import unittest

import rtp


def setUpModule():
    rtp.check_rtprof()


def unused_pid():
    """The pid of a process that was just spawned and reaped: it exists no more."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def kernel_thread_pid():
    """pid 2 (kthreadd) when it is one; otherwise any process with PF_KTHREAD in its /proc/PID/stat flags."""
    pf_kthread = 0x00200000
    candidates = [2] + sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    for pid in candidates:
        try:
            with open("/proc/%d/stat" % pid) as f:
                text = f.read()
        except OSError:
            continue
        flags = int(text[text.rindex(")") + 2:].split()[6])  # field 9 of stat(5); fields after comm start at 3
        if flags & pf_kthread:
            return pid
    return None


class ErrorCase(unittest.TestCase):
    def check_error(self, res, rc=2, substrings=(), prefix=True):
        self.assertEqual(res.returncode, rc, "exit code should be %d\n%s" % (rc, res.describe()))
        self.assertEqual(res.stdout, "", "nothing may be printed on stdout on error\n%s" % res.describe())
        self.assertTrue(res.stderr.strip(), "an error needs a message on stderr\n%s" % res.describe())
        if prefix:
            self.assertTrue(res.stderr.startswith("rtprof: "),
                            "error message should start with 'rtprof: '\n%s" % res.describe())
        for sub in substrings:
            self.assertIn(sub.lower(), res.stderr.lower(), "message should mention %r\n%s" % (sub, res.describe()))


class UsageErrors(ErrorCase):
    """Detected while parsing the command line: no root needed."""

    def test_run_without_command(self):
        self.check_error(rtp.rtprof("run"), substrings=["command"])

    def test_run_with_empty_command_after_dashes(self):
        self.check_error(rtp.rtprof("run", "--json", "--"), substrings=["command"])

    # getopt's own message names the option but not necessarily as "rtprof: ...": only the option is checked.
    def test_unknown_option(self):
        self.check_error(rtp.rtprof("run", "--bogus-option", "--", "true"), substrings=["bogus-option"],
                         prefix=False)

    def test_unknown_option_points_to_help(self):
        # the option and where the help is, not the whole help
        for cmd, args in (("run", ["--", "true"]), ("attach", ["1"]), ("export", ["x.rtprof.gz"]),
                          ("report", ["x.rtprof.gz"]), ("compare", ["a", "b"]), ("top", [])):
            res = rtp.rtprof(cmd, "--bogus-option", *args)
            self.check_error(res, substrings=["bogus-option", "rtprof %s --help" % cmd], prefix=False)
            self.assertLessEqual(len(res.stderr.splitlines()), 2, res.describe())

    def test_two_outputs_of_a_kind(self):
        for outs, what in ((["a.json", "b.json"], "two report outputs"),
                           (["a.rtprof.gz", "b.rtprof.gz"], "two traces")):
            res = rtp.rtprof("run", "-o", outs[0], "-o", outs[1], "--", "true")
            self.check_error(res, substrings=[what, outs[0], outs[1]])

    def test_run_duration_without_trace(self):
        # run's -d bounds a trace's recording: without one it would do nothing
        self.check_error(rtp.rtprof("run", "-d", "1", "--", "true"), substrings=["-d", ".rtprof.gz"])
        self.check_error(rtp.rtprof("run", "--local", "--", "true"), substrings=["--local", "attach"])

    def test_attach_unknown_option(self):
        self.check_error(rtp.rtprof("attach", "--bogus-option", "1"), substrings=["bogus-option"], prefix=False)

    def test_attach_without_pid(self):
        self.check_error(rtp.rtprof("attach", "--json"), substrings=["pid"])

    def test_attach_pid_not_a_number(self):
        self.check_error(rtp.rtprof("attach", "--json", "12abc"), substrings=["12abc"])

    def test_unknown_command(self):
        self.check_error(rtp.rtprof("frobnicate"), substrings=["frobnicate"])


class RuntimeErrors(ErrorCase):
    def setUp(self):
        rtp.require_root(self)

    def test_unknown_pid(self):
        pid = unused_pid()
        self.assertFalse(os.path.exists("/proc/%d" % pid), "pid %d was reused already" % pid)
        self.check_error(rtp.rtprof("attach", "--json", str(pid)), substrings=["no such process"])

    def test_pid_beyond_pid_max(self):
        # PID_MAX_LIMIT is 4194304: pids are always below it.
        self.check_error(rtp.rtprof("attach", "--json", "4194304"), substrings=["no such process"])

    def test_kernel_thread(self):
        pid = kernel_thread_pid()
        self.assertIsNotNone(pid, "no kernel thread found in /proc")
        self.check_error(rtp.rtprof("attach", "--json", str(pid)), substrings=["kernel thread"])

    def test_missing_kernel_btf_run(self):
        with tempfile.TemporaryDirectory(prefix="rtprof-btf-") as tmp:
            marker = os.path.join(tmp, "ran")
            env = dict(os.environ, RTPROF_KERNEL_BTF="/nonexistent")
            res = rtp.run([rtp.RTPROF, "run", "--json", "--", "touch", marker], env=env)
            self.check_error(res, substrings=["BTF"])
            self.assertFalse(os.path.exists(marker), "the command must not run when the probes cannot be loaded")

    def test_missing_kernel_btf_attach(self):
        sleeper = subprocess.Popen(["sleep", "30"])
        self.addCleanup(lambda: (sleeper.kill(), sleeper.wait()))
        env = dict(os.environ, RTPROF_KERNEL_BTF="/nonexistent")
        self.check_error(rtp.run([rtp.RTPROF, "attach", "--json", str(sleeper.pid)], env=env), substrings=["BTF"])

    def test_child_pid_namespace(self):
        """In a pid namespace of its own rtprof's pids are not the probes': a clear error, not an empty report."""
        unshare = shutil.which("unshare")
        if not unshare:
            rtp.skip_or_fail(self, "unshare (util-linux) is not installed")
        with tempfile.TemporaryDirectory(prefix="rtprof-pidns-") as tmp:
            marker = os.path.join(tmp, "ran")
            res = rtp.run([unshare, "--pid", "--fork", "--mount-proc", rtp.RTPROF, "run", "--json", "--",
                           "touch", marker])
            self.check_error(res, substrings=["pid namespace"])
            self.assertFalse(os.path.exists(marker), "the command must not run when nothing could be measured")

    def test_command_not_found(self):
        res = rtp.rtprof("run", "--", "/nonexistent/cmd")
        self.assertEqual(res.returncode, 127, "a command that is not found: exit 127\n%s" % res.describe())
        self.assertIn("/nonexistent/cmd", res.stderr, "message should name the command\n%s" % res.describe())

    def test_command_not_executable(self):
        # found but not runnable: 126, as a shell says it
        with tempfile.TemporaryDirectory(prefix="rtprof-noexec-") as tmp:
            script = os.path.join(tmp, "script.sh")
            with open(script, "w") as f:
                f.write("#!/bin/sh\necho hi\n")
            os.chmod(script, 0o644)
            for cmd in ([script], [tmp]):
                res = rtp.rtprof("run", "--", *cmd)
                self.assertEqual(res.returncode, 126, "%s cannot be executed: exit 126\n%s" % (cmd, res.describe()))
                self.assertIn(cmd[0], res.stderr, res.describe())

    def test_target_exits_mid_session(self):
        sleeper = subprocess.Popen(["sleep", "0.5"])
        self.addCleanup(lambda: (sleeper.kill(), sleeper.wait()))
        res = rtp.rtprof("attach", "--json", str(sleeper.pid), timeout=30)
        self.assertEqual(res.returncode, 0, "target exiting during attach is a normal end\n%s" % res.describe())
        self.assertLess(res.elapsed_s, 5.0, "rtprof should end soon after its target exits\n%s" % res.describe())
        report = rtp.parse_report(self, res.stdout, "stdout of `rtprof attach --json`")
        self.assertEqual(report.get("mode"), "attach")
        self.assertEqual(report["target"]["pid"], sleeper.pid)


class NotRoot(ErrorCase):
    """As user nobody, without the daemon, rtprof cannot load its probes and must say that root is needed."""

    def setUp(self):
        rtp.require_root(self)  # root is needed to become nobody
        if shutil.which("setpriv"):
            self.as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        elif shutil.which("runuser"):
            self.as_nobody = ["runuser", "-u", "nobody", "--"]
        else:
            rtp.skip_or_fail(self, "neither setpriv nor runuser is installed to run rtprof as nobody")
        self.binary = rtp.RTPROF
        if rtp.run(self.as_nobody + ["test", "-x", self.binary]).returncode != 0:
            tmp = tempfile.mkdtemp(prefix="rtprof-nobody-")
            self.addCleanup(shutil.rmtree, tmp, True)
            os.chmod(tmp, 0o755)
            self.binary = os.path.join(tmp, "rtprof")
            shutil.copy(rtp.RTPROF, self.binary)
            os.chmod(self.binary, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)

    def test_attach_as_nobody(self):
        # nobody's own process where setpriv can make one (setpriv execs: the pid is sleep's); root's otherwise.
        sleeper = subprocess.Popen((self.as_nobody if self.as_nobody[0] == "setpriv" else []) + ["sleep", "30"])
        self.addCleanup(lambda: (sleeper.kill(), sleeper.wait()))
        self.check_error(rtp.run(self.as_nobody + [self.binary, "attach", "--json", str(sleeper.pid)]),
                         substrings=["root"])

    def test_run_as_nobody(self):
        self.check_error(rtp.run(self.as_nobody + [self.binary, "run", "--json", "--", "true"]), substrings=["root"])


if __name__ == "__main__":
    rtp.main()
