// SPDX-License-Identifier: LGPL-2.1-or-later
/* `rtprof run`: start a command with the probes in place before its first instruction; report at its exit. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <grp.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include "base/clock.h"
#include "engine/engine.h"
#include "sys/procfs.h"
#include "sys/runtime.h"
#include "launch.h"
#include "profile.h"
#include "record.h"
#include "rtprof.h"

static void run_help(FILE *out)
{
	fprintf(out,
		"Usage: rtprof run [--json] [-o FILE] [--max-size SIZE] [-d SECS] [--no-follow] [--exact-latency]\n"
		"                  [--no-runtime] [--gil futex|uprobes] [--stacks] [--sample-hz N] [--loop-threshold-ms N] [--top N] [--as-root]\n"
		"                  [--all-processes] [-q]\n"
		"                  -- COMMAND [ARGS...]\n"
		"\n"
		"Start COMMAND with the probes in place before its first instruction, and report when it exits.\n"
		"rtprof exits with COMMAND's exit code (128+N if a signal N killed it). The report goes to\n"
		"stderr, as time(1)'s and perf stat's do: COMMAND's stdout stays its own.\n"
		"\n"
		"  -j, --json        print the report as one JSON object\n"
		"  -o, --output FILE FILE ending in .rtprof.gz: record every event to this trace (the report still\n"
		"                    goes to stderr); any other FILE: write the report there; '-': to stdout\n"
		"      --max-size SIZE  stop recording when the trace reaches SIZE bytes (K, M, G suffixes)\n"
		"      --trace-buffer SIZE  the probes' trace buffer (power of two, default 64M); what does not\n"
		"                    fit is counted as lost\n"
		"  -d, --duration SECS  stop recording after SECS seconds (the command runs on)\n"
		"      --no-follow   do not profile the processes COMMAND forks\n"
		"      --top N       syscall rows in the table (default 15; 0 = all)\n"
		"      --exact-latency  time every syscall, also in bursts of fast calls (more overhead)\n"
		"      --no-runtime  no runtime metrics (Python GIL and GC, Node event loop, threadpool and GC)\n"
		"      --gil METHOD  how the GIL is measured: futex (default, no breakpoints) or uprobes (exact,\n"
		"                    a breakpoint at each acquisition and release: costly on I/O-heavy code)\n"
		"      --stacks      sample Python stacks on CPU: the report's \"Top functions\" and JSON profiles\n"
		"                    (node: its JavaScript functions, from V8's objects, else from the perf map\n"
		"                    that NODE_OPTIONS asks it for)\n"
		"      --sample-hz N samples a second on each CPU (default 99; implies --stacks)\n"
		"      --per-thread    each thread's syscall table too (JSON: thread_syscalls)\n"
		"      --loop-threshold-ms N  with --stacks, node: name the stack of each event-loop iteration\n"
		"                    busy N ms or more (default 50), and of the longest\n"
		"      --all-processes  keep what a launcher (a shell, env, a version manager's shim) did before\n"
		"                    the program it execs started, and its helper processes, in the tables\n"
		"      --as-root     under sudo, run COMMAND as root; without it, COMMAND runs as the user who\n"
		"                    ran sudo (SUDO_UID, SUDO_GID, their groups, HOME, USER)\n"
		"  -q, --quiet       no progress lines on stderr\n");
}

struct run_result {
	struct rusage ru;
	double wall_s;
	int exit_status;
	const char *cmd_path;
};

static void run_fixup(struct rtp_report *rep, void *ctx)
{
	const struct run_result *rr = ctx;

	rep->process.source = "rusage";
	rep->process.wall_s = rr->wall_s;
	rep->process.cpu_user_s = (double)rr->ru.ru_utime.tv_sec + (double)rr->ru.ru_utime.tv_usec / 1e6;
	rep->process.cpu_sys_s = (double)rr->ru.ru_stime.tv_sec + (double)rr->ru.ru_stime.tv_usec / 1e6;
	rep->process.max_rss_kb = rr->ru.ru_maxrss;
	rep->exit_status = rr->exit_status;
	/* a program that ended before its exec was seen: identify it from the file it ran */
	if (rep->n_targets && !rep->targets[0].runtime.exe[0] && rr->cmd_path)
		(void)runtime__detect_elf(rr->cmd_path, &rep->targets[0].runtime);
}

/* The file execvp would run for COMMAND: the first executable regular file of that name in $PATH (an empty
 * entry is the current directory), or COMMAND itself when it has a slash. The child execs it once: the
 * search's failed execs are not the program's syscalls. NULL when there is none. */
char *run__find_command(const char *cmd)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];
	struct stat st;

	if (strchr(cmd, '/'))
		return strdup(cmd);
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (;;) {
		size_t len = strcspn(path, ":");

		if (snprintf(buf, sizeof(buf), "%.*s/%s", len ? (int)len : 1, len ? path : ".", cmd) < (int)sizeof(buf) &&
		    access(buf, X_OK) == 0 && stat(buf, &st) == 0 && S_ISREG(st.st_mode))
			return strdup(buf);
		if (!path[len])
			return NULL;
		path += len + 1;
	}
}

/* Who the command runs as: under sudo, the user who ran sudo (as `sudo make` would not build as root if sudo
 * were only for the profiler); --as-root keeps root. Resolved before the fork: the child only switches. */
struct run_as {
	bool drop;
	uid_t uid;
	gid_t gid;
	gid_t groups[256];
	int n_groups;
	char home[PATH_MAX], user[64];
};

static int parse_id(const char *name, unsigned long *out)
{
	const char *v = getenv(name);
	char *end;

	if (!v || !*v)
		return -ENOENT;
	errno = 0;
	*out = strtoul(v, &end, 10);
	return errno || *end || *out >= 0xffffffffUL ? -EINVAL : 0;
}

static int run_as_resolve(struct run_as *ra, bool as_root)
{
	unsigned long uid, gid;
	struct passwd *pw;
	int r;

	memset(ra, 0, sizeof(*ra));
	if (as_root || geteuid() != 0 || getuid() != 0)
		return 0;
	r = parse_id("SUDO_UID", &uid);
	if (r == -ENOENT)
		return 0;
	if (r || parse_id("SUDO_GID", &gid)) {
		errorf("SUDO_UID=%s SUDO_GID=%s: not a user and group id; the command would run as root "
		       "(--as-root says that is meant)", getenv("SUDO_UID") ?: "", getenv("SUDO_GID") ?: "");
		return -EINVAL;
	}
	if (uid == 0)
		return 0;
	ra->drop = true;
	ra->uid = (uid_t)uid;
	ra->gid = (gid_t)gid;
	ra->groups[0] = ra->gid;
	ra->n_groups = 1;
	pw = getpwuid(ra->uid);
	if (pw) {
		snprintf(ra->home, sizeof(ra->home), "%s", pw->pw_dir);
		snprintf(ra->user, sizeof(ra->user), "%s", pw->pw_name);
		ra->n_groups = (int)(sizeof(ra->groups) / sizeof(ra->groups[0]));
		if (getgrouplist(pw->pw_name, ra->gid, ra->groups, &ra->n_groups) < 0) {
			ra->groups[0] = ra->gid;
			ra->n_groups = 1;
		}
	}
	return 0;
}

/* In the child: become the user (groups, then group, then user: the order that leaves no root behind). */
static int run_as_switch(const struct run_as *ra)
{
	if (!ra->drop)
		return 0;
	if (setgroups((size_t)ra->n_groups, ra->groups) || setresgid(ra->gid, ra->gid, ra->gid) ||
	    setresuid(ra->uid, ra->uid, ra->uid))
		return -errno;
	if (ra->home[0]) {
		setenv("HOME", ra->home, 1);
		setenv("USER", ra->user, 1);
		setenv("LOGNAME", ra->user, 1);
	}
	return 0;
}

#define NODE_PERF_OPTIONS "--perf-basic-prof-only-functions --interpreted-frames-native-stack"
/* the go-ahead's byte when the child is to ask node for its perf map */
#define GO_PERF_MAP 'P'

/* Whether the command's NODE_OPTIONS asks for a perf map already: the user's own, left to them. */
static bool node_options_own_map(void)
{
	const char *old = getenv("NODE_OPTIONS");

	return old && strstr(old, "--perf-basic-prof");
}

static int set_node_options(void)
{
	const char *old = getenv("NODE_OPTIONS");
	char *v = NULL;
	int r;

	if (asprintf(&v, "%s%s" NODE_PERF_OPTIONS, old ? old : "", old && old[0] ? " " : "") < 0)
		return -ENOMEM;
	r = setenv("NODE_OPTIONS", v, 1) ? -errno : 0;
	free(v);
	return r;
}

static void child_exec(int go_fd, int err_fd, const char *file, char **argv, bool traced, const struct run_as *ra)
	__attribute__((noreturn));
static void child_exec(int go_fd, int err_fd, const char *file, char **argv, bool traced, const struct run_as *ra)
{
	char c = 0;
	ssize_t got;
	int e;

	/* wait until the parent has put this pid in the target set; its byte says whether node is to write its
	 * perf map (--stacks, a program whose functions are not read from V8's objects) */
	while ((got = read(go_fd, &c, 1)) < 0 && errno == EINTR)
		;
	if (got == 1 && c == GO_PERF_MAP && set_node_options()) {
		e = errno ?: ENOMEM;
		(void)!write(err_fd, &e, sizeof(e));
		_exit(EXIT_NOEXEC);
	}
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (run_as_switch(ra)) {
		e = errno ?: EPERM;
		(void)!write(err_fd, &e, sizeof(e));
		_exit(EXIT_NOEXEC);
	}
	if (traced)
		launch__child();
	if (!file) {
		execvp(argv[0], argv); /* not found: its error, as the shell would say it */
	} else {
		execv(file, argv);
		if (errno == ENOEXEC) {
			/* execvp's rule: a file without a #! line is a shell script */
			int n = 0;

			while (argv[n])
				n++;
			{
				char *sh[n + 2];

				sh[0] = "sh";
				sh[1] = (char *)file;
				memcpy(&sh[2], &argv[1], sizeof(*argv) * (size_t)n);
				execv("/bin/sh", sh);
				errno = ENOEXEC;
			}
		}
	}
	e = errno;
	(void)!write(err_fd, &e, sizeof(e));
	_exit(EXIT_NOEXEC);
}

int cmd_run(int argc, char **argv)
{
	struct profile_opts po = {};
	struct engine *e = NULL;
	struct recorder *rec = NULL;
	struct run_result rr = { .exit_status = -1 };
	int go[2] = { -1, -1 }, errp[2] = { -1, -1 }, pidfd = -1;
	char err[RTP_ERRLEN], *cmd_path = NULL, *cmd_file = NULL;
	struct profile_out o = { .report = { .fd = -1 }, .trace = { .fd = -1 } };
	struct launch launch = { .state = LAUNCH_OFF };
	struct engine_prefetch *prefetch;
	struct run_as run_as;
	bool traced = launch__wanted(), v8_readable;
	sigset_t chld;
	pid_t child = -1;
	int r, sigfd = -1, exec_errno = 0, status = 0, ret = EXIT_USAGE;
	uint64_t t0_ns;

	r = profile__parse_opts(argc, argv, &po, false, run_help);
	if (r)
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	po.report_stderr = true;
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	if (optind >= argc) {
		errorf("run: no command given; usage: rtprof run [OPTIONS] -- COMMAND [ARGS...]");
		return EXIT_USAGE;
	}
	argv += optind;
	if (run_as_resolve(&run_as, po.as_root))
		return EXIT_USAGE;
	cmd_file = run__find_command(argv[0]);
	/* the file's real path, for the report when the process is gone before we look */
	cmd_path = cmd_file ? realpath(cmd_file, NULL) : NULL;
	/* before the command runs: a bad -o is said first, and the command never starts */
	if (profile__open_outputs(&po, &o))
		goto cleanup;
	if (pipe2(go, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
		errorf("pipe: %s", strerror(errno));
		ret = EXIT_FAILURE_RT;
		goto cleanup;
	}
	/* --stacks: a node whose JavaScript functions are not read from V8's objects names them in a perf map
	 * (the walker reads it), with interpreted frames on the native stack: the child adds those flags to the
	 * command's own NODE_OPTIONS unless the program is such a node itself (known by the go-ahead) */
	po.node_perf_map = po.sample_hz && !node_options_own_map();
	fflush(NULL);
	child = fork();
	if (child < 0) {
		errorf("fork: %s", strerror(errno));
		ret = EXIT_FAILURE_RT;
		goto cleanup;
	}
	if (child == 0) {
		close(go[1]);
		close(errp[0]);
		child_exec(go[0], errp[1], cmd_file, argv, traced, &run_as);
	}
	close(go[0]);
	close(errp[1]);
	go[0] = errp[1] = -1;
	/* the child's stops (traced: launch.c) and exit wake the loop below */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	sigfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
	/* like time(1): the terminal's Ctrl-C is for the command; we report when it ends */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	profile__catch_stop(SIGTERM);
	/* the probes load after the fork: the child, waiting to exec, shares none of their buffers (its
	 * peak RSS, which wait4 reports, would count them) */
	/* while the probes load: what placing the runtime probes will need of the program */
	prefetch = engine__prefetch(cmd_path, po.sample_hz != 0);
	r = profile__new_engine(&po, &e);
	v8_readable = engine__prefetch_join(prefetch);
	if (r) {
		ret = EXIT_USAGE;
	} else if (po.trace && profile__open_recorder(&po, &o, e, "run", child, argv, &rec)) {
		ret = EXIT_FAILURE_RT;
	} else if (engine__add_spawned(e, child, err, sizeof(err))) {
		errorf("%s", err);
		ret = EXIT_FAILURE_RT;
	} else {
		ret = EXIT_OK;
	}
	if (ret != EXIT_OK) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		goto cleanup;
	}
	pidfd = procfs__pidfd_open(child);
	t0_ns = clock__mono_ns();
	if (po.node_perf_map && !v8_readable)
		(void)!write(go[1], &(char){ GO_PERF_MAP }, 1);
	close(go[1]);
	go[1] = -1;
	o.trace_used = true;
	while ((r = (int)read(errp[0], &exec_errno, sizeof(exec_errno))) < 0 && errno == EINTR)
		;
	if (r == (int)sizeof(exec_errno)) {
		errorf("cannot run '%s': %s", argv[0], strerror(exec_errno));
		waitpid(child, NULL, 0);
		o.trace_used = false;
		ret = exec_errno == ENOENT || exec_errno == ENOTDIR ? EXIT_NOEXEC : EXIT_CANNOT_EXEC;
		goto cleanup;
	}
	launch__start(&launch, e, child, traced);
	launch.split = !po.all_processes;
	if (!po.quiet && isatty(STDERR_FILENO))
		fprintf(stderr, "rtprof: profiling %s (pid %d); report when it exits\n", argv[0], child);
	for (;;) {
		struct pollfd pfd[3] = { { .fd = engine__fd(e), .events = POLLIN },
					 { .fd = pidfd, .events = POLLIN },
					 { .fd = sigfd, .events = POLLIN } };
		struct signalfd_siginfo si;
		pid_t w;

		/* before the wait: a SIGCHLD that comes after it stays pending and wakes the poll below */
		while (sigfd >= 0 && read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			;
		w = wait4(child, &status, WNOHANG, &rr.ru);

		if (w == child && WIFSTOPPED(status)) {
			/* traced until its program's entry point (launch.c) */
			launch__stopped(&launch, e, status);
			continue;
		}
		if (w == child)
			break;
		if (w < 0 && errno != EINTR) {
			errorf("wait4: %s", strerror(errno));
			ret = EXIT_FAILURE_RT;
			goto cleanup;
		}
		/* records come without wakeups: consume on every turn, woken or timed out */
		(void)poll(pfd, 3, engine__poll_ms(e));
		(void)engine__poll(e, 0);
		if (profile__stop_signal() == SIGTERM) {
			kill(child, SIGTERM);
			profile__clear_stop();
		}
		if (rec)
			recorder__tick(rec, e);
	}
	rr.wall_s = (double)(clock__mono_ns() - t0_ns) / 1e9;
	engine__stop_clock(e);
	rr.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	rr.cmd_path = cmd_path;
	o.report_done = true;
	if (profile__emit_report(e, "run", &po, o.out, &rec, run_fixup, &rr)) {
		ret = EXIT_FAILURE_RT;
		goto cleanup;
	}
	ret = rr.exit_status;
cleanup:
	if (rec)
		(void)recorder__finish_abort(rec);
	if (pidfd >= 0)
		close(pidfd);
	if (sigfd >= 0)
		close(sigfd);
	for (int i = 0; i < 2; i++) {
		if (go[i] >= 0)
			close(go[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	if (profile__close_outputs(&o) && o.report_done)
		ret = EXIT_FAILURE_RT;
	if (e)
		profile__teardown_elsewhere();
	engine__free(e);
	free(cmd_path);
	free(cmd_file);
	return ret;
}
