"""Processes and threads coming and going: forked children are followed (or not, with --no-follow) and
their syscalls counted exactly; thousands of short threads all appear in the report, none dropped."""

import os
import pwd
import shutil
import tempfile
import unittest

import rtp

CHILDREN = 20
CALLS = 1000
THREADS = 5000


def setUpModule():
    rtp.check_rtprof()


class Lifecycle(unittest.TestCase):
    def setUp(self):
        rtp.require_root(self)

    def test_children_are_followed(self):
        _, report = rtp.run_json(self, [rtp.python_exe(), rtp.workload("fork_children.py"), str(CHILDREN),
                                        str(CALLS)])
        self.assertEqual(rtp.syscall_count(self, report, "getppid"), CHILDREN * CALLS,
                         "every child's getppid calls: " + rtp.syscall_summary(report))
        pids = [t["pid"] for t in report["targets"]]
        self.assertEqual(len(pids), 1 + CHILDREN, "targets: main process and each child: %s" % pids)
        self.assertEqual(len(set(pids)), len(pids), "a process listed twice: %s" % pids)
        self.assertTrue(all(t["exited"] for t in report["targets"]), report["targets"])
        self.assertEqual(report["proc_drops"], 0)

    def test_threads_table_has_the_pid(self):
        # the text report's thread rows say their process: the parent's and each forked child's own pid
        res = rtp.rtprof("run", "-q", "-o", "-", "--", rtp.python_exe(), rtp.workload("fork_children.py"), "3", "10")
        self.assertEqual(res.returncode, 0, res.describe())
        lines = res.stdout.splitlines()
        start = next(i for i, line in enumerate(lines) if line.startswith("Threads ("))
        self.assertEqual(lines[start + 1].split()[:3], ["pid", "tid", "name"], lines[start + 1])
        rows = []
        for line in lines[start + 2:]:
            if not line.strip():
                break
            rows.append([int(v) for v in line.split()[:2]])
        self.assertEqual(len(rows), 4, "\n".join(lines[start:start + 8]))
        self.assertEqual(len({pid for pid, _ in rows}), 4, rows)
        self.assertTrue(all(pid == tid for pid, tid in rows), "single-threaded processes: %s" % rows)

    def test_no_follow(self):
        _, report = rtp.run_json(self, [rtp.python_exe(), rtp.workload("fork_children.py"), str(CHILDREN),
                                        str(CALLS)], extra=["--no-follow"])
        self.assertEqual(rtp.syscall_count(self, report, "getppid"), 0,
                         "children are not followed: " + rtp.syscall_summary(report))
        self.assertEqual([t["pid"] for t in report["targets"]], [report["target"]["pid"]])
        # the parent's own calls are still there: one wait4 per child
        self.assertEqual(rtp.syscall_count(self, report, "wait4"), CHILDREN, rtp.syscall_summary(report))

    def test_a_shell_that_execs_nothing_is_the_process(self):
        # `sh -c 'CMD; CMD'` (no exec: the shell runs to the end): the process is the shell's, not the rtprof
        # it was forked as; the exec chain env -> sh ends at sh
        sh = os.path.realpath("/bin/sh")
        for cmd in (["/bin/sh", "-c", "exit 3"], ["/usr/bin/env", "/bin/sh", "-c", "exit 3"]):
            _, report = rtp.run_json(self, cmd, expect_rc=3)
            target = report["target"]
            # comm is the name it was exec'd by (/bin/sh), exe the file that runs
            self.assertEqual((target.get("exe"), target.get("comm")), (sh, "sh"),
                             "%s: target %s" % (cmd, target))
            self.assertEqual([t.get("exe") for t in report["targets"]], [sh], report["targets"])

    def test_sudo_runs_the_command_as_its_user(self):
        # under sudo, the command runs as the user who ran sudo (the profiler needs root, the program does not);
        # --as-root keeps root. Its syscalls are counted all the same.
        sudo = dict(os.environ, SUDO_UID="65534", SUDO_GID="65534", SUDO_USER="nobody")
        with tempfile.TemporaryDirectory(prefix="rtprof-sudo-") as tmp:
            report_path = os.path.join(tmp, "r.json")
            res = rtp.rtprof("run", "-q", "-o", report_path, "--", "sh", "-c", "id -u; id -g; echo $HOME", env=sudo)
            self.assertEqual(res.returncode, 0, res.describe())
            home = pwd.getpwuid(65534).pw_dir
            self.assertEqual(res.stdout.split(), ["65534", "65534", home], res.describe())
            res = rtp.rtprof("run", "-q", "--as-root", "-o", report_path, "--", "id", "-u", env=sudo)
            self.assertEqual(res.stdout.split(), ["0"], res.describe())
            # where nobody may read it (a checkout may be in a directory only root enters)
            os.chmod(tmp, 0o755)
            script = shutil.copy(rtp.workload("getppid_loop.py"), tmp)
            os.chmod(script, 0o644)
            res = rtp.rtprof("run", "-q", "--json", "-o", "-", "--", rtp.python_exe(), script, str(CALLS), env=sudo)
            self.assertEqual(res.returncode, 0, res.describe())
            report = rtp.parse_report(self, res.stdout, "report of the command run as nobody")
            self.assertEqual(rtp.syscall_count(self, report, "getppid"), CALLS, rtp.syscall_summary(report))
            self.assertEqual(report["target"].get("exited"), True)
        bad = dict(sudo, SUDO_UID="nobody")
        res = rtp.rtprof("run", "-q", "--", "true", env=bad)
        self.assertEqual(res.returncode, 2, res.describe())
        self.assertIn("SUDO_UID", res.stderr)

    def test_thread_churn(self):
        _, report = rtp.run_json(self, [rtp.python_exe(), rtp.workload("thread_churn.py"), str(THREADS)])
        pid = report["target"]["pid"]
        workers = [t for t in report["threads"] if t["tid"] != pid]
        self.assertEqual(len(workers), THREADS, "each short thread has a row")
        self.assertTrue(all(t["exited"] and t["tgid"] == pid for t in workers))
        self.assertEqual(rtp.syscall_count(self, report, "getppid"), THREADS, rtp.syscall_summary(report))
        self.assertEqual(report["thread_drops"], 0)
        self.assertEqual(report["lost_events"], 0)


if __name__ == "__main__":
    rtp.main()
