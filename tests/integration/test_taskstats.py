"""Per-thread figures of exited threads against the kernel's own accounting at their exit: TASKSTATS.

The kernel sends a TASKSTATS exit notification (generic netlink) for every task that exits on a CPU a listener
registered for; with kernel.task_delayacct on it carries the task's run-queue wait (sched_info.run_delay), its
CPU time (se.sum_exec_runtime) and its voluntary and involuntary switch counts, read in do_exit() while the
task still runs, before it lets go of its memory and files. rtprof's figures are the final ones, taken at
the thread's last switch-out. So, for every thread of the workload's process (each must have a row and a
notification):
- none is below the notification's: switches, on-CPU, and run-queue wait (less 2% + 0.5 ms);
- switches are the notification's, or one more (the final switch-out), unless the thread blocked or was
  preempted after its notification (in exit_mm() waiting for the mmap lock, say; a few times at most): then
  its run-queue wait may grow after the notification too; otherwise it is the notification's within 2% +
  0.5 ms;
- on-CPU is at most one tick more than the notification's (the kernel reads sum_exec_runtime of the running
  task without bringing it up to date, which the tick does at least once a tick), plus the thread's way out
  after its notification (exit_mm, exit_files, exit_notify: tens of microseconds, EXIT_PATH_NS), except for
  the last thread of the process (AGROUP), which then tears the process down: its address space and files,
  milliseconds.
The thread `rtprof run` launched counts from its fork, its switches too: those before the attach (its wait for
the go-ahead, and any preemption before it on a busy machine) are the kernel's count at the attach.
The workloads (tests/workloads/exit_threads.*) run short threads (a few ms) and long ones (~0.4 s, CPU and
sleeps) in Python and in Node, more runnable than there are CPUs, several times each: a figure lost at a
thread's exit shows in some runs only.
"""

import gzip
import json
import os
import platform
import socket
import struct
import tempfile
import threading
import time
import unittest

import rtp

TIMEOUT = 120
REPETITIONS = 5
# Switches of a thread after its notification, besides its last: blocked or preempted on its way out (seen up
# to 2, and 4 for the thread that tears the process down). Far fewer than counting every switch twice.
MAX_SWITCHES_AFTER = 8
# A thread's CPU time on its way out, after its notification and before its last switch-out: it runs the rest
# of do_exit(). 44 us past the tick was seen on a loaded 2-CPU machine.
EXIT_PATH_NS = 500000

# <linux/netlink.h>, <linux/genetlink.h>
NETLINK_GENERIC = 16
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2
NLA_TYPE_MASK = 0x3FFF  # without NLA_F_NESTED and NLA_F_NET_BYTEORDER

# <linux/taskstats.h>
TASKSTATS_CMD_GET = 1
TASKSTATS_CMD_NEW = 2
TASKSTATS_TYPE_PID = 1
TASKSTATS_TYPE_STATS = 3
TASKSTATS_TYPE_AGGR_PID = 4
TASKSTATS_CMD_ATTR_REGISTER_CPUMASK = 3
TASKSTATS_CMD_ATTR_DEREGISTER_CPUMASK = 4
AGROUP = 0x20  # <linux/acct.h>: ac_flag of the last thread of its process

# Offsets in struct taskstats. Versions only append fields; these are all in place since version 12 (ac_tgid,
# the last of them) and unchanged up to 17 (6.18): version u16 at 0; the __u64 cpu_count is aligned to 8.
TS_MIN_VERSION = 12
TS_FIELDS = {  # name: (offset, struct format)
    "version": (0, "H"),
    "ac_flag": (8, "B"),
    "cpu_count": (16, "Q"),
    "cpu_delay_total": (24, "Q"),
    "cpu_run_real_total": (64, "Q"),
    "cpu_run_virtual_total": (72, "Q"),
    "ac_pid": (128, "I"),
    "nvcsw": (272, "Q"),
    "nivcsw": (280, "Q"),
    "ac_tgid": (368, "I"),
}
TS_MIN_SIZE = 376


def setUpModule():
    rtp.check_rtprof()


def nla(attr_type, payload):
    """One netlink attribute, padded to 4 bytes."""
    hdr = struct.pack("=HH", 4 + len(payload), attr_type)
    return hdr + payload + b"\0" * (-len(payload) % 4)


def parse_nlas(data):
    """{type: payload} of a run of netlink attributes (the last of a type wins)."""
    attrs, off = {}, 0
    while off + 4 <= len(data):
        length, attr_type = struct.unpack_from("=HH", data, off)
        if length < 4 or off + length > len(data):
            break
        attrs[attr_type & NLA_TYPE_MASK] = data[off + 4:off + length]
        off += (length + 3) & ~3
    return attrs


def parse_taskstats(payload):
    if len(payload) < TS_MIN_SIZE:
        raise ValueError("struct taskstats of %d bytes, expected at least %d" % (len(payload), TS_MIN_SIZE))
    ts = {name: struct.unpack_from("=" + fmt, payload, off)[0] for name, (off, fmt) in TS_FIELDS.items()}
    if ts["version"] < TS_MIN_VERSION:
        raise ValueError("struct taskstats version %d, expected at least %d" % (ts["version"], TS_MIN_VERSION))
    return ts


class TaskstatsListener:
    """Exit notifications of every CPU, collected by a thread: exits[tid] = the taskstats fields above."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        self.exits = {}
        self.errors = []
        self.lock = threading.Lock()
        self.seq = 0
        self.thread = None
        self.stopping = False
        self.idle_at = 0.0  # when a receive last found nothing pending
        try:
            # a burst of exits must not overflow the socket (the kernel drops, and says ENOBUFS)
            self.sock.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE
            self.sock.bind((0, 0))
            self.sock.settimeout(5)
            self.family = self._family_id("TASKSTATS")
            self.cpumask = "0-%d" % (os.cpu_count() - 1)
            self._request(self.family, TASKSTATS_CMD_GET,
                          nla(TASKSTATS_CMD_ATTR_REGISTER_CPUMASK, self.cpumask.encode() + b"\0"))
        except BaseException:
            self.sock.close()
            raise

    def _send(self, msg_type, cmd, attrs, flags):
        self.seq += 1
        body = struct.pack("=BBH", cmd, 1, 0) + attrs
        self.sock.send(struct.pack("=IHHII", 16 + len(body), msg_type, flags, self.seq, 0) + body)
        return self.seq

    def _reply(self, seq):
        """The payload of the reply to request seq (after its genetlink header), b"" for an ack."""
        while True:
            data = self.sock.recv(65536)
            off = 0
            while off + 16 <= len(data):
                length, msg_type, _, msg_seq, _ = struct.unpack_from("=IHHII", data, off)
                msg = data[off + 16:off + length]
                off += (length + 3) & ~3
                if msg_seq != seq:
                    continue
                if msg_type == NLMSG_ERROR:
                    err = struct.unpack_from("=i", msg)[0]
                    if err:
                        raise OSError(-err, os.strerror(-err))
                    return b""
                return msg[4:]

    def _family_id(self, name):
        seq = self._send(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, nla(CTRL_ATTR_FAMILY_NAME, name.encode() + b"\0"),
                         NLM_F_REQUEST)
        attrs = parse_nlas(self._reply(seq))
        if CTRL_ATTR_FAMILY_ID not in attrs:
            raise OSError("generic netlink family %s has no id" % name)
        return struct.unpack_from("=H", attrs[CTRL_ATTR_FAMILY_ID])[0]

    def _request(self, msg_type, cmd, attrs):
        seq = self._send(msg_type, cmd, attrs, NLM_F_REQUEST | NLM_F_ACK)
        self._reply(seq)

    def start(self):
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            try:
                data = self.sock.recv(1 << 16)
            except socket.timeout:
                self.idle_at = time.monotonic()
                continue
            except OSError as e:
                with self.lock:
                    self.errors.append("recv: %s" % e)  # ENOBUFS: notifications were dropped
                continue
            off = 0
            while off + 20 <= len(data):
                length, msg_type, _, _, _ = struct.unpack_from("=IHHII", data, off)
                msg = data[off + 16:off + length]
                off += (length + 3) & ~3
                if msg_type != self.family or msg[0] != TASKSTATS_CMD_NEW:
                    continue
                aggr = parse_nlas(msg[4:]).get(TASKSTATS_TYPE_AGGR_PID)
                if aggr is None:
                    continue  # a process's aggregate (AGGR_TGID) comes with its last thread's
                inner = parse_nlas(aggr)
                try:
                    tid = struct.unpack_from("=I", inner[TASKSTATS_TYPE_PID])[0]
                    ts = parse_taskstats(inner[TASKSTATS_TYPE_STATS])
                except (KeyError, ValueError, struct.error) as e:
                    with self.lock:
                        self.errors.append("malformed notification: %s" % e)
                    continue
                with self.lock:
                    self.exits.setdefault(tid, []).append(ts)

    def drain(self, timeout=5):
        """Wait until every notification sent so far has been read."""
        since = time.monotonic()
        while self.idle_at <= since and time.monotonic() < since + timeout:
            time.sleep(0.02)

    def of_process(self, tgid):
        with self.lock:
            return {tid: list(v) for tid, v in self.exits.items() if v[-1]["ac_tgid"] == tgid}

    def close(self):
        self.stopping = True
        if self.thread:
            self.thread.join(5)
        try:
            self.sock.settimeout(1)
            self._request(self.family, TASKSTATS_CMD_GET,
                          nla(TASKSTATS_CMD_ATTR_DEREGISTER_CPUMASK, self.cpumask.encode() + b"\0"))
        except OSError:
            pass  # closing the socket unregisters it too
        self.sock.close()


def kernel_hz():
    """CONFIG_HZ from the kernel's configuration, else measured from the jiffies in /proc/timer_list."""
    for path, opener in (("/proc/config.gz", gzip.open), ("/boot/config-" + platform.release(), open)):
        try:
            with opener(path, "rt") as f:
                for line in f:
                    if line.startswith("CONFIG_HZ="):
                        return int(line.split("=", 1)[1])
        except OSError:
            continue

    def jiffies():
        with open("/proc/timer_list") as f:
            for line in f:
                if line.startswith("jiffies:"):
                    return int(line.split()[1]), time.monotonic()
        raise OSError("no jiffies in /proc/timer_list")
    j0, t0 = jiffies()
    time.sleep(0.5)
    j1, t1 = jiffies()
    rate = (j1 - j0) / (t1 - t0)
    return min((100, 250, 300, 1000), key=lambda hz: abs(hz - rate))


class ExitTaskstats(unittest.TestCase):
    def setUp(self):
        rtp.require_root(self)
        if not os.path.exists("/proc/sys/kernel/task_delayacct"):
            rtp.skip_or_fail(self, "kernel.task_delayacct is missing (a kernel without CONFIG_TASK_DELAY_ACCT)")
        rtp.set_sysctl(self, "kernel.task_delayacct", "1")
        try:
            self.listener = TaskstatsListener()
        except OSError as e:
            rtp.skip_or_fail(self, "no TASKSTATS exit notifications (CONFIG_TASKSTATS): %s" % e)
        self.addCleanup(self.listener.close)
        self.listener.start()
        self.tick_ns = 1e9 / kernel_hz()

    def one_run(self, cmd, runtime, min_threads):
        """Run the workload under rtprof once; the disagreements found, as lines."""
        with tempfile.TemporaryDirectory(prefix="rtprof-taskstats-") as tmp:
            report_path = os.path.join(tmp, "report.json")
            res = rtp.rtprof("run", "--json", "-o", report_path, "--", *cmd, timeout=TIMEOUT)
            self.assertEqual(res.returncode, 0, res.describe())
            report = rtp.read_report_file(self, report_path, res)
        started = json.loads(res.stdout)["tids"]
        pid = report["target"]["pid"]
        self.assertEqual(report["target"]["runtime"], runtime, "target.runtime: %s" % report["target"])
        rows = [t for t in report.get("threads", []) if t.get("tgid") == pid]
        # every thread of the process sent its notification before it died, so before the run ended
        self.listener.drain()
        exits = self.listener.of_process(pid)
        problems = []
        with self.listener.lock:
            problems += self.listener.errors
            self.listener.errors = []
        for tid in started:
            if tid not in exits:
                problems.append("thread %d of the workload sent no exit notification" % tid)
        if len(exits) < min_threads:
            problems.append("%d exit notifications for process %d, expected at least %d (its threads: %s)"
                            % (len(exits), pid, min_threads, res.stdout.strip()))
        by_tid = {}
        for row in rows:
            if row["tid"] in by_tid:
                problems.append("tid %d has two rows: %s and %s" % (row["tid"], by_tid[row["tid"]], row))
            by_tid[row["tid"]] = row
        for tid in sorted(set(by_tid) - set(exits)):
            problems.append("tid %d has a row but no exit notification: %s" % (tid, by_tid[tid]))
        for tid in sorted(exits):
            if len(exits[tid]) != 1:
                problems.append("tid %d: %d exit notifications" % (tid, len(exits[tid])))
            ts = exits[tid][-1]
            row = by_tid.get(tid)
            if row is None:
                problems.append("tid %d exited (taskstats %s) but has no row in the report" % (tid, ts))
                continue
            if not row.get("exited"):
                problems.append("tid %d exited but its row says exited=%s" % (tid, row.get("exited")))
            problems += self.compare(tid, row, ts, tid == pid)
        return ["pid %d (lost_events=%s): %s" % (pid, report.get("lost_events"), p) for p in problems]

    def compare(self, tid, row, ts, launched):
        """One thread's row against its exit notification; the disagreements, as lines."""
        problems = []
        switches = row["vol_switches"] + row["invol_switches"]
        ts_switches = ts["nvcsw"] + ts["nivcsw"]
        first = ts_switches
        if switches < first:
            problems.append("%d switches (%d vol + %d invol), fewer than taskstats %d (%d + %d)"
                            % (switches, row["vol_switches"], row["invol_switches"], ts_switches, ts["nvcsw"],
                               ts["nivcsw"]))
        if switches > first + 1 + MAX_SWITCHES_AFTER:
            problems.append("%d switches (%d vol + %d invol), taskstats %d (%d + %d): more than %d after it"
                            % (switches, row["vol_switches"], row["invol_switches"], ts_switches, ts["nvcsw"],
                               ts["nivcsw"], 1 + MAX_SWITCHES_AFTER))
        # no switch after the notification but the last: the thread did not wait for a CPU after it
        quiet = switches <= first + 1
        # the last thread of the process tears it down after its notification: address space, files
        teardown = bool(ts["ac_flag"] & AGROUP)
        ref, got = ts["cpu_delay_total"], row["runq_wait_ns"]
        tol = 0.02 * ref + 0.5e6
        if got < ref - tol or (quiet and got > ref + tol):
            problems.append("run-queue wait %.3f ms, taskstats %.3f ms: off by %+.3f ms, tolerance %s%.3f ms"
                            % (got / 1e6, ref / 1e6, (got - ref) / 1e6, "+-" if quiet else "-", tol / 1e6))
        ref, got = ts["cpu_run_virtual_total"], row["oncpu_ns"]
        if got < ref or (not teardown and got > ref + self.tick_ns + EXIT_PATH_NS):
            problems.append("on-CPU %.3f ms, taskstats %.3f ms: off by %+.3f ms, expected within [0, %s] ms"
                            % (got / 1e6, ref / 1e6, (got - ref) / 1e6,
                               "+inf" if teardown else "%.3f" % ((self.tick_ns + EXIT_PATH_NS) / 1e6)))
        return ["tid %d%s: %s (switches %d, taskstats %d)" % (tid, " (launched)" if launched else "", p, switches,
                                                             ts_switches) for p in problems]

    def check(self, cmd, runtime, min_threads):
        problems, failed = [], 0
        for _ in range(REPETITIONS):
            found = self.one_run(cmd, runtime, min_threads)
            failed += bool(found)
            problems += found
        if problems:
            self.fail("%d of %d runs disagree with the kernel's exit accounting:\n  %s"
                      % (failed, REPETITIONS, "\n  ".join(problems)))

    def test_python_threads(self):
        # the main thread, 4 long and 16 short threads
        self.check([rtp.python_exe(), rtp.workload("exit_threads.py")], "python", 21)

    def test_node_worker_threads(self):
        node = rtp.require_node(self)
        # the main thread and 20 workers, plus node's own (V8 platform, libuv) threads
        self.check([node, rtp.workload("exit_threads.js")], "node", 21)


if __name__ == "__main__":
    rtp.main()
