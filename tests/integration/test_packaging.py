"""`cmake --install` of the build directory puts rtprof, rtprofd, the systemd unit, the sysusers.d and tmpfiles.d files,
the example configuration and the man pages where a system looks for them, and each of them is right: the unit passes
`systemd-analyze verify`, starts the installed rtprofd and carries every hardening directive packaging/rtprofd.service
promises; the example configuration, uncommented, is accepted by rtprofd's own parser; systemd-sysusers and
systemd-tmpfiles create group rtprof and /run/rtprof (0755 root:rtprof) from the installed files; rtprofd(8)
documents every option of `rtprofd --help`.

The build directory is BUILD when rtprof is BUILD/cli/rtprof (--rtprof), or given with --build DIR or $RTPROF_BUILD.
Everything is installed into a temporary DESTDIR: nothing outside it is written. Root is needed only to let
systemd-tmpfiles chown /run/rtprof, and to load the probes when rtprofd reads the configuration (without root,
rtprofd stops at the probes, after the configuration was read, which is all that is checked).
"""

import os
import re
import shutil
import stat
import sys
import tempfile
import unittest

import rtp

BUILD = os.environ.get("RTPROF_BUILD")

# What packaging/rtprofd.service promises, directive by directive (values compared as sets where systemd adds them up).
HARDENING = {
    "Type": "simple",
    "Restart": "on-failure",
    "ProtectSystem": "strict",
    "ProtectHome": "read-only",
    "PrivateTmp": "yes",
    "NoNewPrivileges": "yes",
    "RuntimeDirectory": "rtprof",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "LockPersonality": "yes",
    "RestrictRealtime": "yes",
    "SystemCallArchitectures": "native",
}
CAPABILITIES = {"CAP_BPF", "CAP_PERFMON", "CAP_SYS_PTRACE", "CAP_SYS_RESOURCE", "CAP_DAC_READ_SEARCH", "CAP_CHOWN",
                "CAP_SETUID", "CAP_SETGID"}
ADDRESS_FAMILIES = {"AF_UNIX", "AF_INET", "AF_INET6"}
# Directives that would break rtprofd: a syscall filter (bpf() is in @privileged), another user (it needs root),
# ProcSubset=pid / ProtectProc= (it must see every process), ProtectKernelTunables= (hides /proc/kallsyms).
FORBIDDEN = ("SystemCallFilter", "User", "DynamicUser", "ProcSubset", "ProtectProc", "ProtectKernelTunables")
CONFIG_KEYS = ("socket", "group", "watch", "retention", "metrics", "window", "max_clients", "max_sessions",
               "max_recordings", "max_threads", "max_trace_buffer", "user_share", "root_reserve", "sample_hz", "push",
               "push_interval")
DEFAULT_CONFIG = "/etc/rtprof/rtprofd.conf"


def setUpModule():
    rtp.check_rtprof()


def build_dir():
    build = BUILD or os.path.dirname(os.path.dirname(rtp.RTPROF))
    if not os.path.isfile(os.path.join(build, "CMakeCache.txt")):
        raise RuntimeError("%s is not a CMake build directory (no CMakeCache.txt): pass --build DIR" % build)
    return build


def cmake_cache(build):
    cache = {}
    with open(os.path.join(build, "CMakeCache.txt")) as f:
        for line in f:
            m = re.match(r"^([A-Za-z_][A-Za-z0-9_.-]*):[A-Z]+=(.*)$", line.rstrip("\n"))
            if m:
                cache[m.group(1)] = m.group(2)
    return cache


def sysconfdir(prefix, cache):
    """CMAKE_INSTALL_FULL_SYSCONFDIR as GNUInstallDirs computes it (the cache holds only the relative value)."""
    rel = cache.get("CMAKE_INSTALL_SYSCONFDIR", "etc")
    if os.path.isabs(rel):
        return rel
    if rel == "etc" and prefix in ("/", "/usr"):
        return "/etc"
    if rel == "etc" and prefix.startswith("/opt/"):
        return "/etc" + prefix
    return os.path.join(prefix, rel)


def parse_unit(path):
    """{section: {key: [values in order]}} of a systemd unit file."""
    unit, section = {}, None
    with open(path) as f:
        for raw in f:
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                section = unit.setdefault(line[1:-1], {})
                continue
            key, sep, value = line.partition("=")
            if not sep or section is None:
                raise AssertionError("%s: not a unit file line: %r" % (path, raw))
            section.setdefault(key.strip(), []).append(value.strip())
    return unit


def config_lines(path):
    """The lines of a sysusers.d/tmpfiles.d file that are not comments, fields split on blanks."""
    with open(path) as f:
        return [line.split() for line in f if line.strip() and not line.lstrip().startswith("#")]


class Installed(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.build = build_dir()
        cache = cmake_cache(cls.build)
        cls.prefix = cache.get("CMAKE_INSTALL_PREFIX", "/usr/local")
        cls.version = cache.get("CMAKE_PROJECT_VERSION", "")
        cls.scdoc = bool(cache.get("SCDOC")) and not cache.get("SCDOC", "").endswith("NOTFOUND")
        # GNUInstallDirs caches MANDIR empty, meaning DATAROOTDIR/man
        mandir = cache.get("CMAKE_INSTALL_MANDIR") or os.path.join(cache.get("CMAKE_INSTALL_DATAROOTDIR") or "share", "man")
        cls.mandir = mandir if os.path.isabs(mandir) else os.path.join(cls.prefix, mandir)
        cls.paths = {
            "rtprof": os.path.join(cls.prefix, "bin", "rtprof"),
            "rtprofd": os.path.join(cls.prefix, "sbin", "rtprofd"),
            "unit": os.path.join(cls.prefix, cache.get("RTPROF_SYSTEMD_UNITDIR", "lib/systemd/system"), "rtprofd.service"),
            "sysusers": os.path.join(cls.prefix, cache.get("RTPROF_SYSUSERSDIR", "lib/sysusers.d"), "rtprof.conf"),
            "tmpfiles": os.path.join(cls.prefix, cache.get("RTPROF_TMPFILESDIR", "lib/tmpfiles.d"), "rtprof.conf"),
            "config": os.path.join(sysconfdir(cls.prefix, cache), "rtprof", "rtprofd.conf"),
            "rtprof.1": os.path.join(cls.mandir, "man1", "rtprof.1"),
            "rtprofd.8": os.path.join(cls.mandir, "man8", "rtprofd.8"),
        }
        cls.tmp = tempfile.mkdtemp(prefix="rtprof-packaging-")
        cls.destdir = os.path.join(cls.tmp, "dest")
        env = dict(os.environ, DESTDIR=cls.destdir)
        cmake = cache.get("CMAKE_COMMAND") or "cmake"  # the cmake that configured BUILD
        cls.install = rtp.run([cmake, "--install", cls.build], env=env, timeout=300)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def staged(self, what):
        """Where file `what` is under DESTDIR."""
        return self.destdir + self.paths[what]

    def setUp(self):
        self.assertEqual(self.install.returncode, 0, "cmake --install failed\n%s" % self.install.describe())

    def run_tool(self, argv, **kw):
        tool = shutil.which(argv[0])
        if not tool:
            rtp.skip_or_fail(self, "%s is not installed (Debian package systemd)" % argv[0])
        return rtp.run([tool] + argv[1:], **kw)

    # ---- the files and where they are ----------------------------------------------------------------------------

    def test_files_in_place(self):
        wanted = ["rtprof", "rtprofd", "unit", "sysusers", "tmpfiles", "config"]
        if self.scdoc:
            wanted += ["rtprof.1", "rtprofd.8"]
        missing = [self.staged(w) for w in wanted if not os.path.isfile(self.staged(w))]
        self.assertEqual(missing, [], "not installed where expected (prefix %s)\n%s\nfiles installed:\n%s" % (
            self.prefix, self.install.describe(), "\n".join(self.installed_files())))
        for exe in ("rtprof", "rtprofd"):
            self.assertTrue(os.access(self.staged(exe), os.X_OK), "%s is not executable" % self.staged(exe))
        for data in ("unit", "sysusers", "tmpfiles", "config"):
            mode = stat.S_IMODE(os.stat(self.staged(data)).st_mode)
            self.assertEqual(mode & 0o133, 0, "%s has mode %o: data files are 0644" % (self.staged(data), mode))

    def installed_files(self):
        return sorted(os.path.join(d, f)[len(self.destdir):] for d, _, files in os.walk(self.destdir) for f in files)

    def test_man_pages(self):
        if not self.scdoc:
            rtp.skip_or_fail(self, "scdoc was not found when %s was configured: no man pages" % self.build)
        for page, title in (("rtprof.1", '.TH "rtprof" "1"'), ("rtprofd.8", '.TH "rtprofd" "8"')):
            with open(self.staged(page)) as f:
                text = f.read()
            self.assertIn(title, text, "%s is not the troff output of scdoc for %s" % (self.staged(page), page))
        # every option rtprofd --help lists is documented in rtprofd(8)
        res = rtp.run([self.staged("rtprofd"), "--help"])
        self.assertEqual(res.returncode, 0, res.describe())
        options = sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+|-[a-zA-Z])\b", res.stdout)))
        self.assertGreaterEqual(len(options), 10, "too few options found in rtprofd --help:\n%s" % res.stdout)
        with open(self.staged("rtprofd.8")) as f:
            man = f.read()
        undocumented = [o for o in options if "\\fB%s\\fR" % o not in man]
        self.assertEqual(undocumented, [], "options of rtprofd --help missing from rtprofd(8)")

    def test_installed_binaries_run(self):
        res = rtp.run([self.staged("rtprofd"), "--version"])
        self.assertEqual((res.returncode, res.stdout.strip()), (0, "rtprofd " + self.version), res.describe())
        res = rtp.run([self.staged("rtprof"), "--help"])
        self.assertEqual(res.returncode, 0, res.describe())

    # ---- the systemd unit ----------------------------------------------------------------------------------------

    def exec_start(self):
        service = parse_unit(self.staged("unit"))["Service"]
        self.assertEqual(len(service.get("ExecStart", [])), 1, "one ExecStart= expected: %s" % service)
        return service["ExecStart"][0].split()

    def test_unit_runs_the_installed_rtprofd(self):
        argv = self.exec_start()
        self.assertEqual(argv[0], self.paths["rtprofd"], "ExecStart must name the installed rtprofd")
        if self.paths["config"] == DEFAULT_CONFIG:
            self.assertEqual(argv[1:], [], "the configuration is where rtprofd looks: no option needed")
        else:
            self.assertEqual(argv[1:], ["--config", self.paths["config"]],
                             "the configuration is installed at %s, not %s: ExecStart must say so"
                             % (self.paths["config"], DEFAULT_CONFIG))

    def test_unit_hardening(self):
        unit = parse_unit(self.staged("unit"))
        service = unit.get("Service", {})
        for key, value in HARDENING.items():
            self.assertEqual(service.get(key), [value], "[Service] %s=%s expected" % (key, value))
        caps = set(" ".join(service.get("CapabilityBoundingSet", [])).split())
        self.assertEqual(caps, CAPABILITIES, "CapabilityBoundingSet= is what rtprofd needs, and nothing else")
        families = set(" ".join(service.get("RestrictAddressFamilies", [])).split())
        self.assertEqual(families, ADDRESS_FAMILIES, "RestrictAddressFamilies=: the socket and the metrics endpoint")
        for key in FORBIDDEN:
            self.assertNotIn(key, service, "%s= would stop rtprofd from working" % key)
        self.assertEqual(unit.get("Install", {}).get("WantedBy"), ["multi-user.target"])

    def test_systemd_analyze_verify(self):
        if not shutil.which("systemd-analyze"):
            rtp.skip_or_fail(self, "systemd-analyze is not installed (Debian package systemd)")
        # The unit names the rtprofd of the target system; under DESTDIR it is elsewhere, and verify checks that
        # ExecStart= is executable: check a copy that names the staged binary.
        check_dir = os.path.join(self.tmp, "verify")
        os.makedirs(check_dir, exist_ok=True)
        with open(self.staged("unit")) as f:
            text = f.read()
        self.assertIn("\nExecStart=" + self.paths["rtprofd"], text, "the unit does not start the installed rtprofd")
        staged = text.replace("ExecStart=" + self.paths["rtprofd"], "ExecStart=" + self.staged("rtprofd"), 1)
        unit = os.path.join(check_dir, "rtprofd.service")
        with open(unit, "w") as f:
            f.write(staged)
        env = dict(os.environ)
        man = "no"
        if self.scdoc:  # Documentation=man:rtprofd(8) man:rtprof(1): verify runs man(1) on them
            env["MANPATH"] = self.destdir + self.mandir
            man = "yes" if shutil.which("man") else "no"
        res = rtp.run(["systemd-analyze", "verify", "--man=" + man, unit], env=env)
        self.assertEqual((res.returncode, res.stderr.strip()), (0, ""), "systemd-analyze verify complains\n%s"
                         % res.describe())
        # the same check refuses a unit whose rtprofd is not there: it does look at ExecStart=
        broken = os.path.join(self.tmp, "broken", "rtprofd.service")
        os.makedirs(os.path.dirname(broken), exist_ok=True)
        with open(broken, "w") as f:
            f.write(text.replace("ExecStart=" + self.paths["rtprofd"], "ExecStart=/nonexistent/rtprofd", 1))
        res = rtp.run(["systemd-analyze", "verify", "--man=no", broken], env=env)
        self.assertNotEqual(res.returncode, 0, "verify accepts a missing ExecStart binary\n%s" % res.describe())

    # ---- sysusers.d, tmpfiles.d ----------------------------------------------------------------------------------

    def test_sysusers_and_tmpfiles(self):
        self.assertEqual(config_lines(self.staged("sysusers")), [["g", "rtprof", "-"]])
        self.assertEqual(config_lines(self.staged("tmpfiles")), [["d", "/run/rtprof", "0755", "root", "rtprof", "-"]])
        root = os.path.join(self.tmp, "root")
        os.makedirs(os.path.join(root, "etc"), exist_ok=True)
        with open(os.path.join(root, "etc", "passwd"), "w") as f:
            f.write("root:x:0:0:root:/root:/bin/sh\n")
        with open(os.path.join(root, "etc", "group"), "w") as f:
            f.write("root:x:0:\n")
        res = self.run_tool(["systemd-sysusers", "--root=" + root, self.staged("sysusers")])
        self.assertEqual(res.returncode, 0, res.describe())
        with open(os.path.join(root, "etc", "group")) as f:
            groups = {line.split(":")[0]: int(line.split(":")[2]) for line in f if line.count(":") >= 3}
        self.assertIn("rtprof", groups, "systemd-sysusers did not create group rtprof")
        if os.geteuid() != 0:
            rtp.skip_or_fail(self, "needs root (euid is %d): systemd-tmpfiles chowns /run/rtprof to root:rtprof"
                             % os.geteuid())
        res = self.run_tool(["systemd-tmpfiles", "--root=" + root, "--create", self.staged("tmpfiles")])
        self.assertEqual(res.returncode, 0, res.describe())
        st = os.stat(os.path.join(root, "run", "rtprof"))
        self.assertTrue(stat.S_ISDIR(st.st_mode))
        self.assertEqual((stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid), (0o755, 0, groups["rtprof"]),
                         "/run/rtprof should be 0755 root:rtprof")

    # ---- the example configuration -------------------------------------------------------------------------------

    def rtprofd_reads(self, name, text):
        """Run the installed rtprofd on this configuration with a socket it cannot create: it reads the file, then
        stops at the probes (not root) or at the socket (root), before serving anything. Its result."""
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        sock = os.path.join(self.tmp, "no-such-dir", "rtprofd.sock")
        res = rtp.run([self.staged("rtprofd"), "--config", path, "--socket", sock], timeout=120)
        self.assertNotEqual(res.returncode, 0, "rtprofd cannot have served on %s\n%s" % (sock, res.describe()))
        return path, res

    def test_example_config_is_accepted(self):
        with open(self.staged("config")) as f:
            text = f.read()
        # every key is shown, commented out; uncommented, rtprofd must accept each one's value
        pattern = re.compile(r"^#(\w+) = (.+)$", re.M)
        self.assertEqual(sorted(k for k, _ in pattern.findall(text)), sorted(CONFIG_KEYS),
                         "the example shows each key once, as `#key = value`")
        uncommented = pattern.sub(r"\1 = \2", text)
        path, res = self.rtprofd_reads("example.conf", uncommented)
        self.assertNotIn(path, res.stderr, "rtprofd refuses the example configuration\n%s" % res.describe())
        # the check can fail: a bad value is reported with its line
        bad = re.sub(r"^retention = .*$", "retention = soon", uncommented, count=1, flags=re.M)
        line = bad[:bad.index("retention = soon")].count("\n") + 1
        path, res = self.rtprofd_reads("bad.conf", bad)
        self.assertEqual(res.returncode, 2, res.describe())
        self.assertIn("%s: line %d: bad value for retention" % (path, line), res.stderr, res.describe())


def main():
    global BUILD
    args = sys.argv[1:]
    for i, arg in enumerate(args):
        if arg == "--build" and i + 1 < len(args):
            BUILD = os.path.abspath(args[i + 1])
            del sys.argv[i + 1:i + 3]
            break
        if arg.startswith("--build="):
            BUILD = os.path.abspath(arg.split("=", 1)[1])
            del sys.argv[i + 1]
            break
    rtp.main()


if __name__ == "__main__":
    main()
