#!/usr/bin/env python3
"""Who may profile what through rtprofd, tried as an attacker would: processes ptrace would keep from user
nobody, and a pid of nobody's reused by a process of root's (pid steered with ns_last_pid)."""
import json
import os
import signal
import subprocess
import time

import elfcraft
import rtp
import test_daemon
from test_daemon import ANSWER_S, STARTUP_TIMEOUT, Daemon, DaemonCase

REUSE_GETPPID = 5000

# A process of nobody's that ptrace keeps nobody out of: ids set from root without an exec (an exec would
# make the saved ids the effective ones), dumpable again (a change of ids made it not), then it waits.
CREDS = """
import ctypes, os, sys, time
uid, gid, ruid, euid, suid, rgid, egid, sgid = (int(x) for x in sys.argv[1:9])
os.setgroups([])
os.setresgid(rgid, egid, sgid)
os.setresuid(ruid, euid, suid)
if ctypes.CDLL(None, use_errno=True).prctl(4, 1, 0, 0, 0) != 0:  # PR_SET_DUMPABLE, 1
    sys.exit("prctl failed")
print("ready", flush=True)
time.sleep(60)
"""

# Root's process that takes the pid: N getppid calls, and as many again in a child of its own.
REUSER = """
import os, sys
n = int(sys.argv[1])
for _ in range(n):
    os.getppid()
child = os.fork()
if child == 0:
    for _ in range(n):
        os.getppid()
    os._exit(0)
os.waitpid(child, 0)
"""


def setUpModule():
    test_daemon.setUpModule()


def status_ids(pid):
    ids = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "CapPrm"):
                ids[key] = value.split()
    return ids


class NobodyCase(DaemonCase):
    """test_daemon's Unprivileged without its tests."""
    setUp = test_daemon.Unprivileged.setUp
    nobody_rtprof = test_daemon.Unprivileged.nobody_rtprof
    check_refused = test_daemon.Unprivileged.check_refused


class PtraceRule(NobodyCase):
    """The kernel's rule (__ptrace_may_access), not a part of it: each of these runs with nobody's real
    and effective uid, which the old rule looked at alone, and ptrace refuses nobody each one."""

    def start(self, argv, expect):
        proc = self.spawn(argv, stdout=subprocess.PIPE)
        self.addCleanup(proc.stdout.close)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            try:
                ids = status_ids(proc.pid)
            except OSError:
                ids = {}
            if all(ids.get(k) == v for k, v in expect.items()):
                return proc
            if proc.poll() is not None:
                break
            time.sleep(0.02)
        self.fail("the target did not reach %s (exit %r, ids %s)" % (expect, proc.poll(), ids))

    def attach_refused(self, proc, *why):
        before = self.daemon.status()["refused"]
        res = self.nobody_rtprof("attach", "--json", "-d", "1", "--socket", self.daemon.socket, str(proc.pid))
        self.check_refused(res, *why)
        self.assertEqual(self.daemon.status()["refused"], before + 1, "the daemon should count the refusal")
        self.assertEqual(self.daemon.sessions(), {}, "a refused attach left a session")

    def creds(self, ruid, euid, suid, rgid, egid, sgid):
        u, g = self.nobody[0], self.nobody[1]
        return self.start([rtp.python_exe(), "-c", CREDS, str(u), str(g)] +
                          [str(x) for x in (ruid, euid, suid, rgid, egid, sgid)],
                          {"Uid": [str(x) for x in (ruid, euid, suid, euid)],
                           "Gid": [str(x) for x in (rgid, egid, sgid, egid)]})

    def test_saved_uid_root(self):
        u, g = self.nobody[0], self.nobody[1]
        self.attach_refused(self.creds(u, u, 0, g, g, g), "not to you", "capabilities")

    def test_gid_root(self):
        u, g = self.nobody[0], self.nobody[1]
        self.attach_refused(self.creds(u, u, u, 0, 0, 0), "gids")

    def test_saved_gid_root(self):
        u, g = self.nobody[0], self.nobody[1]
        self.attach_refused(self.creds(u, u, u, g, g, 0), "gids")

    def test_ambient_capability(self):
        u, g = self.nobody[0], self.nobody[1]
        proc = self.start(self.as_nobody + ["--inh-caps=+net_bind_service", "--ambient-caps=+net_bind_service",
                                            "sleep", "60"],
                          {"Uid": [str(u)] * 4, "Gid": [str(g)] * 4, "CapPrm": ["0000000000000400"]})
        self.attach_refused(proc, "capabilities")

    def test_plain_process_accepted(self):
        """The control: nobody's own plain process is nobody's to profile, set up the same way."""
        u, g = self.nobody[0], self.nobody[1]
        proc = self.creds(u, u, u, g, g, g)
        self.assertEqual(os.stat("/proc/%d/stat" % proc.pid).st_uid, u, "the control is dumpable")
        res = self.nobody_rtprof("attach", "--json", "-d", "1", "--socket", self.daemon.socket, str(proc.pid))
        self.assertEqual(res.returncode, 0, res.describe())
        self.assertEqual(json.loads(res.stdout)["target"]["pid"], proc.pid)


class PidReuse(NobodyCase):
    def steer_pid(self, pid, argv):
        """Start argv as a process of root's with pid `pid` (free now), through ns_last_pid; None if other
        processes kept taking it."""
        for _ in range(200):
            with open("/proc/sys/kernel/ns_last_pid", "w") as f:
                f.write(str(pid - 1))
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
            if proc.pid == pid:
                return proc
            proc.kill()
            proc.wait()
        return None

    def test_reused_pid_is_not_profiled(self):
        """nobody's target exits; a process of root's gets its pid at once (and forks): none of root's work
        may count in nobody's session, nor may root's processes join it -- before, everything they did in
        the 200 ms after the exit did, and their children's for their whole lives."""
        if not os.path.exists("/proc/sys/kernel/ns_last_pid"):
            rtp.skip_or_fail(self, "no /proc/sys/kernel/ns_last_pid to steer pids with")
        target = self.spawn(self.as_nobody + ["sleep", "60"])
        other = self.spawn(self.as_nobody + ["sleep", "60"])  # keeps the session going after the target's exit
        sock = ["--socket", self.daemon.socket]
        bg = self.background(self.as_nobody + [self.binary, "attach", "--json"] + sock +
                             [str(target.pid), str(other.pid)])
        self.assertTrue(bg.attached.wait(STARTUP_TIMEOUT), "nobody's rtprof did not attach\n" + bg.describe())
        sid = bg.session()
        self.assertIsNotNone(sid, bg.describe())
        time.sleep(0.2)
        pid = target.pid
        target.kill()
        target.wait()
        reuser = self.steer_pid(pid, [rtp.python_exe(), "-c", REUSER, str(REUSE_GETPPID)])
        if reuser is None:
            rtp.skip_or_fail(self, "could not give pid %d to a new process through ns_last_pid" % pid)
        self.assertEqual(reuser.wait(30), 0, "root's process failed")
        res = rtp.run([rtp.RTPROF, "query", "--json", "--socket", self.daemon.socket, str(sid)], timeout=30)
        self.assertEqual(res.returncode, 0, res.describe())
        report = json.loads(res.stdout)
        pids = sorted(t["pid"] for t in report["targets"])
        self.assertEqual(pids, sorted([pid, other.pid]), "only nobody's sleeps are in nobody's session\n" +
                         res.stdout[:2000])
        self.assertEqual(rtp.syscall_count(self, report, "getppid"), 0,
                         "root's process with the reused pid %d was counted in nobody's session" % pid)
        self.assertEqual(sorted(t["tid"] for t in report.get("threads", [])), sorted([pid, other.pid]),
                         "threads other than nobody's sleeps in nobody's session")
        bg.proc.send_signal(signal.SIGINT)
        self.assertEqual(bg.wait(30), 0, bg.describe())


class CraftedExecutable(NobodyCase):
    """rtprofd --watch python reads the ELF files of any program named python*, which any user can make:
    one whose section headers claim 10 GB of symbols over a sparse hole (a copy of sleep, 48 KB on disk)
    took 83 s of the daemon's only thread to analyse, while no client was answered. Now its analysis runs
    on a thread of its own and stops at its limits; the daemon answers throughout, says why it does not
    watch the process, and still watches real python processes after it."""

    @classmethod
    def setUpClass(cls):
        if os.geteuid() == 0 and rtp.RTPROF:
            cls.daemon = Daemon(extra=["--watch", "python"])

    def test_crafted_python_does_not_stall_the_daemon(self):
        tmp = self.tmpdir(owner=self.nobody)
        os.chmod(tmp, 0o755)
        crafted = os.path.join(tmp, "python3-crafted")
        elfcraft.sparse_symbols("/bin/sleep", crafted)
        os.chown(crafted, self.nobody[0], self.nobody[1])
        before = self.daemon.status()["watch_dropped"]
        proc = self.spawn(self.as_nobody + [crafted, "30"])
        worst, deadline = 0.0, time.monotonic() + 3
        while time.monotonic() < deadline:
            start = time.monotonic()
            try:
                self.daemon.status(timeout=5)
            except (OSError, EOFError, ValueError) as e:
                self.fail("status failed while rtprofd analysed the crafted program: %r" % e)
            worst = max(worst, time.monotonic() - start)
            time.sleep(0.05)
        self.assertLess(worst, ANSWER_S, "a status took %.2f s while the crafted program was analysed" % worst)
        self.assertIsNone(proc.poll(), "the crafted program runs (it is sleep)")
        self.assertNotIn(proc.pid, [p for s in self.daemon.sessions().values() for p in s["pids"]],
                         "the crafted program is not watched")
        self.assertEqual(self.daemon.status()["watch_dropped"], before + 1, self.daemon.log_tail())
        self.assertIn("not watching pid %d" % proc.pid, self.daemon.log_tail(), "the daemon says why")

        # the detection goes on: a real python started now is watched
        py = self.spawn([rtp.python_exe(), "-c", "import time; time.sleep(30)"])
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if py.pid in [p for s in self.daemon.sessions().values() for p in s["pids"]]:
                break
            time.sleep(0.05)
        else:
            self.fail("a python started after the crafted program was not watched within 5 s\n" +
                      self.daemon.log_tail())


if __name__ == "__main__":
    rtp.main()
