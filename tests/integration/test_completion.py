"""The bash completions of packaging/completions/ complete what rtprof and rtprofd accept: the commands of
`rtprof --help`, each command's options from `rtprof COMMAND --help` (and which of them take a value), the
export formats, pids from /proc for attach, trace and report files for report/export/compare, and rtprofd's
options from `rtprofd --help`. Each case sources the script in `bash -c`, sets COMP_WORDS/COMP_CWORD and calls
the function that `complete -p` names, as bash does on TAB: alone (the script needs no bash-completion) and
after bash-completion's own bash_completion, which also loads the file on demand by the command's name.

No root needed: nothing is profiled.
"""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest

import rtp

COMPLETIONS = os.path.join(rtp.REPO, "packaging", "completions")
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"

# Sources the completion files given in $RTP_SOURCES (after bash-completion's when $RTP_BC is set), sets
# COMP_WORDS to the arguments, the cursor on the last one, and prints COMPREPLY, one NUL-terminated candidate each.
DRIVER = r'''
set -e
if [ -n "$RTP_BC" ]; then . "$RTP_BC"; fi
for f in $RTP_SOURCES; do . "$f"; done
if [ -n "$RTP_LOAD" ] && ! complete -p "$1" >/dev/null 2>&1; then
	__load_completion "$1"
fi
spec=$(complete -p "$1")
fn=$(printf '%s\n' "$spec" | sed -n 's/.* -F \([^ ]*\) .*/\1/p')
[ -n "$fn" ] || { echo "no completion function for $1: $spec" >&2; exit 3; }
COMP_WORDS=("$@")
COMP_CWORD=$(($# - 1))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
COMPREPLY=()
set +e
"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>/dev/null
if ((${#COMPREPLY[@]})); then printf '%s\0' "${COMPREPLY[@]}"; fi
'''


def help_text(argv):
    res = rtp.run(argv)
    if res.returncode != 0:
        raise AssertionError("%s --help failed\n%s" % (" ".join(argv), res.describe()))
    return res.stdout


def help_options(text):
    """{long option: takes a value} of a --help text, but for its list of commands and its examples:
    `--opt METAVAR` (or `--opt=METAVAR`) takes one."""
    text = re.split(r"\nExamples?:", text)[0]
    text = re.sub(r"\nCommands:\n.*?\n\n", "\n", text, flags=re.S)
    opts = {}
    for m in re.finditer(r"(?<![\w-])(--[a-z][a-z-]*)(?:[ =]([A-Z][A-Z0-9_:.]*)\b)?", text):
        opts[m.group(1)] = opts.get(m.group(1), False) or m.group(2) is not None
    return opts


def rtprof_commands():
    """The commands of `rtprof --help`, in its order: the lines under "Commands:" up to the first blank one."""
    lines = help_text([rtp.RTPROF, "--help"]).splitlines()
    start = lines.index("Commands:") + 1
    commands = []
    for line in lines[start:]:
        if not line.strip():
            break
        commands.append(line.split()[0])
    return commands


class Completion(unittest.TestCase):
    bash_completion = False  # the subclass below runs every case again after bash-completion's script

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="rtprof-completion-")
        cls.empty = os.path.join(cls.tmp, "empty")
        os.makedirs(cls.empty)
        cls.files = os.path.join(cls.tmp, "files")
        os.makedirs(os.path.join(cls.files, "sub"))
        for name in ("a.rtprof.gz", "b.rtprof", "c.json", "d.txt", "e f.rtprof.gz", "sub/x.rtprof.gz"):
            open(os.path.join(cls.files, name), "w").close()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.bash = shutil.which("bash")
        if not self.bash:
            rtp.skip_or_fail(self, "bash is not installed")
        if self.bash_completion and not os.path.isfile(BASH_COMPLETION):
            rtp.skip_or_fail(self, "%s is missing (Debian package bash-completion)" % BASH_COMPLETION)

    def complete(self, *words, cwd=None, load=False):
        """The candidates for the last of words (a command line up to the cursor, split as bash splits it)."""
        env = dict(os.environ, RTP_SOURCES=" ".join(
            os.path.join(COMPLETIONS, f) for f in ("rtprof.bash", "rtprofd.bash")), RTP_BC="", RTP_LOAD="")
        env.pop("BASH_ENV", None)
        if self.bash_completion:
            env["RTP_BC"] = BASH_COMPLETION
        if load:  # no sourcing: bash-completion finds completions/NAME in BASH_COMPLETION_USER_DIR
            env.update(RTP_SOURCES="", RTP_LOAD="1", BASH_COMPLETION_USER_DIR=self.user_dir())
        res = subprocess.run([self.bash, "--norc", "--noprofile", "-c", DRIVER, "completion"] + list(words),
                             cwd=cwd or self.empty, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             timeout=60)
        self.assertEqual(res.returncode, 0, "completing %r failed: %s" % (words, res.stderr.decode(errors="replace")))
        out = res.stdout.decode()
        return out.split("\0")[:-1] if out else []

    def user_dir(self):
        d = os.path.join(self.tmp, "user", "completions")
        if not os.path.isdir(d):
            os.makedirs(d)
            shutil.copy(os.path.join(COMPLETIONS, "rtprof.bash"), os.path.join(d, "rtprof"))
            shutil.copy(os.path.join(COMPLETIONS, "rtprofd.bash"), os.path.join(d, "rtprofd"))
        return os.path.dirname(d)

    def assertCandidates(self, words, expected, **kw):
        got = self.complete(*words, **kw)
        self.assertEqual(sorted(got), sorted(expected), "completing %r" % (list(words),))
        return got

    # ---- commands and options, against the binaries' --help -----------------------------------------------------

    def test_commands_are_those_of_rtprof_help(self):
        commands = rtprof_commands()
        self.assertGreaterEqual(len(commands), 5, "too few commands in rtprof --help")
        self.assertEqual(self.complete("rtprof", ""), commands,
                         "the completion's commands are not those of rtprof --help (cli/main.c)")
        self.assertEqual(self.complete("rtprof", "ex"), ["export"])
        self.assertEqual(self.complete("rtprof", "-v", "--socket", "/x", "de"), ["detach"])
        self.assertCandidates(["rtprof", "--socket=/x", "s"], [c for c in commands if c.startswith("s")])
        self.assertEqual(self.complete("rtprof", "nosuchcommand", ""), [])

    def test_global_options(self):
        opts = help_options(help_text([rtp.RTPROF, "--help"]))
        self.assertCandidates(["rtprof", "-"], opts)
        self.check_values(["rtprof"], opts, ["rtprof", "-"])

    def test_command_options_are_those_of_its_help(self):
        for cmd in rtprof_commands():
            with self.subTest(command=cmd):
                opts = help_options(help_text([rtp.RTPROF, cmd, "--help"]))
                opts.setdefault("--help", False)
                self.assertCandidates(["rtprof", cmd, "-"], opts)
                self.assertCandidates(["rtprof", cmd, "--"], opts)
                self.check_values(["rtprof", cmd], opts, ["rtprof", cmd, "-"])

    def check_values(self, prefix, opts, options_at):
        """An option that takes a value takes the next word, however it starts (in a directory with no file):
        a '-' there is not completed as an option. One that takes none leaves the next word an option."""
        expected = sorted(self.complete(*options_at))
        for opt, takes_value in sorted(opts.items()):
            if opt in ("--help", "--version"):
                continue
            got = sorted(self.complete(*(prefix + [opt, "-"])))
            if takes_value:
                self.assertEqual(got, [], "%s takes a value: the next word is not an option" % " ".join(prefix + [opt]))
            else:
                self.assertEqual(got, expected, "%s takes no value: the next word may be an option"
                                 % " ".join(prefix + [opt]))

    def test_export_formats(self):
        usage = help_text([rtp.RTPROF, "export", "--help"])
        m = re.search(r"--format ([a-z]+(?:\|[a-z]+)+)", usage)
        self.assertIsNotNone(m, "no --format a|b|c in rtprof export --help:\n%s" % usage)
        formats = m.group(1).split("|")
        self.assertEqual(self.complete("rtprof", "export", "--format", ""), formats)
        self.assertEqual(self.complete("rtprof", "export", "-f", ""), formats)
        self.assertEqual(self.complete("rtprof", "export", "a.rtprof.gz", "--format", "="), formats)
        self.assertCandidates(["rtprof", "export", "--format", "=", "c"], [f for f in formats if f.startswith("c")])
        self.assertEqual(self.complete("rtprof", "export", "--format", "csv", "-o", "x.csv", "--"),
                         ["--format", "--profile", "--output", "--min-syscall-us", "--load-bucket-ms", "--help"])
        self.assertEqual(self.complete("rtprof", "export", "a.rtprof.gz", "--profile", ""),
                         ["cpu", "offcpu", "gil", "loop", "syscalls"])

    def test_value_lists_of_run_and_attach(self):
        """Options of run/attach whose values the usage line lists as a|b (--gil futex|uprobes) complete them."""
        for cmd in ("run", "attach"):
            usage = help_text([rtp.RTPROF, cmd, "--help"])
            for opt, values in re.findall(r"\[(--[a-z-]+) ([a-z]+(?:\|[a-z]+)+)\]", usage):
                with self.subTest(command=cmd, option=opt):
                    self.assertEqual(self.complete("rtprof", cmd, opt, ""), values.split("|"))

    def test_top_sort_keys(self):
        usage = help_text([rtp.RTPROF, "top", "--help"])
        keys = self.complete("rtprof", "top", "--sort", "")
        self.assertEqual(sorted(keys), ["cpu", "runq", "switches", "tid"])
        for key in keys:
            self.assertIn("|" + key, usage, "sort key %s is not in rtprof top --help" % key)

    def test_query_views(self):
        self.assertEqual(self.complete("rtprof", "query", "3", ""), ["summary", "syscalls", "threads", "sched"])
        self.assertEqual(self.complete("rtprof", "query", "--json", "3", "th"), ["threads"])
        self.assertEqual(self.complete("rtprof", "query", ""), [])  # a session number

    # ---- operands ---------------------------------------------------------------------------------------------------

    def test_attach_pids(self):
        proc = subprocess.Popen(["sleep", "60"])
        try:
            pid = str(proc.pid)
            got = self.complete("rtprof", "attach", "")
            self.assertIn(pid, got, "the pid of a running process is not offered")
            self.assertTrue(all(p.isdigit() for p in got), "not only pids: %r" % got[:20])
            self.assertIn("1", got)
            got = self.complete("rtprof", "attach", "--json", "-d", "5", pid[:-1])
            self.assertIn(pid, got)
            self.assertTrue(all(p.startswith(pid[:-1]) for p in got), got)
            got = self.complete("rtprof", "attach", "1", pid)  # a second pid
            self.assertIn(pid, got)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()

    def test_trace_files(self):
        traces = ["a.rtprof.gz", "b.rtprof", "e f.rtprof.gz", "sub"]
        for words in (["rtprof", "report", ""], ["rtprof", "report", "--top", "5", "--json", ""],
                      ["rtprof", "export", ""], ["rtprof", "export", "-f", "csv", "--output=x.csv", ""]):
            self.assertCandidates(words, traces, cwd=self.files)
        self.assertCandidates(["rtprof", "report", "sub/"], ["sub/x.rtprof.gz"], cwd=self.files)
        self.assertCandidates(["rtprof", "export", "a.rtprof.gz", ""], [], cwd=self.files)  # one trace
        self.assertCandidates(["rtprof", "compare", ""], traces + ["c.json"], cwd=self.files)
        self.assertCandidates(["rtprof", "compare", "a.rtprof.gz", "c"], ["c.json"], cwd=self.files)
        # -o names a file of any kind
        self.assertCandidates(["rtprof", "run", "-o", "d"], ["d.txt"], cwd=self.files)

    def test_run_command(self):
        for words in (["rtprof", "run", "pytho"], ["rtprof", "run", "--", "pytho"],
                      ["rtprof", "run", "--json", "-o", "x.json", "--", "pytho"]):
            got = self.complete(*words)
            self.assertIn("python3", got, "completing %r" % words)
            self.assertTrue(all(c.startswith("pytho") for c in got), got)
        if self.bash_completion:
            # bash-completion completes the profiled command's arguments with that command's completion
            self.assertEqual(self.complete("rtprof", "run", "--", "rtprof", "ex"), ["export"])
            self.assertEqual(self.complete("rtprof", "run", "-q", "rtprof", "export", "--format", "c"), ["chrome", "csv"])
        else:
            self.assertCandidates(["rtprof", "run", "--", "python3", ""], os.listdir(self.files), cwd=self.files)

    # ---- rtprofd ----------------------------------------------------------------------------------------------------

    def test_rtprofd_options(self):
        rtprofd = rtp.rtprofd_path()
        if not os.access(rtprofd, os.X_OK):
            raise AssertionError("rtprofd not found at %s: pass --rtprofd PATH" % rtprofd)
        opts = help_options(help_text([rtprofd, "--help"]))
        opts.setdefault("--help", False)
        self.assertCandidates(["rtprofd", "-"], opts)
        self.check_values(["rtprofd"], opts, ["rtprofd", "-"])
        self.assertEqual(self.complete("rtprofd", "--watch", ""), ["python", "node", "python,node", "none"])
        self.assertEqual(self.complete("rtprofd", "-w", "python,"), ["python,node"])
        self.assertEqual(self.complete("rtprofd", "--group", "roo"), ["root"])

    def test_loaded_on_demand(self):
        if not self.bash_completion:
            self.skipTest("bash-completion's loader")
        self.assertEqual(self.complete("rtprof", "ex", load=True), ["export"])
        self.assertEqual(self.complete("rtprofd", "--wat", load=True), ["--watch"])


class CompletionWithBashCompletion(Completion):
    bash_completion = True


def setUpModule():
    rtp.check_rtprof()


if __name__ == "__main__":
    rtp.main()
