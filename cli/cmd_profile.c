// SPDX-License-Identifier: LGPL-2.1-or-later
/* `rtprof run` and `rtprof attach`: one session loop, two ways to get a target. */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <json-c/json.h>

#include "engine/engine.h"
#include "sys/runtime.h"
#include "client.h"
#include "proto/protocol.h"
#include "record.h"
#include "render.h"
#include "rtprof.h"


struct profile_opts {
	bool json;
	bool no_follow;
	bool quiet;
	bool exact_latency;
	bool local; /* attach: never through rtprofd */
	const char *output; /* the report */
	const char *trace;  /* the trace being recorded */
	uint64_t max_size;  /* of the trace */
	uint64_t trace_buffer; /* the probes' trace ring buffer, bytes; 0 = default */
	int runtime_mode;   /* enum engine_rt_mode */
	double duration_s;  /* attach: of the session; run: of the recording; 0 = unbounded */
	int top;
};

static bool is_trace_path(const char *path)
{
	size_t n = strlen(path);

	return (n > 10 && !strcmp(path + n - 10, ".rtprof.gz")) || (n > 7 && !strcmp(path + n - 7, ".rtprof"));
}

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

static void set_handler(int sig, void (*fn)(int))
{
	struct sigaction sa = { .sa_handler = fn };

	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL); /* no SA_RESTART: poll() returns EINTR */
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_common(int argc, char **argv, struct profile_opts *po, bool attach, void (*help)(FILE *))
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' },
		{ "duration", required_argument, NULL, 'd' },
		{ "no-follow", no_argument, NULL, 'F' },
		{ "top", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "exact-latency", no_argument, NULL, 'X' },
		{ "max-size", required_argument, NULL, 'M' },
		{ "local", no_argument, NULL, 'L' },
		{ "socket", required_argument, NULL, 'S' },
		{ "no-runtime", no_argument, NULL, 'R' },
		{ "gil", required_argument, NULL, 'G' },
		{ "trace-buffer", required_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c;

	po->top = 15;
	while ((c = getopt_long(argc, argv, "+jo:d:qh", longopts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'j':
			po->json = true;
			break;
		case 'o':
			if (is_trace_path(optarg))
				po->trace = optarg;
			else
				po->output = optarg;
			break;
		case 'M':
			if (parse_size(optarg, &po->max_size)) {
				errorf("invalid size '%s': expected bytes, or a number with K, M or G", optarg);
				return -EINVAL;
			}
			break;
		case 'd':
			errno = 0;
			po->duration_s = strtod(optarg, &end);
			if (errno || *end || !(po->duration_s > 0) || !isfinite(po->duration_s)) {
				errorf("invalid duration '%s': expected seconds > 0", optarg);
				return -EINVAL;
			}
			break;
		case 'F':
			po->no_follow = true;
			break;
		case 'R':
			po->runtime_mode = ENGINE_RT_OFF;
			break;
		case 'G':
			if (!strcmp(optarg, "futex"))
				po->runtime_mode = ENGINE_RT_ON;
			else if (!strcmp(optarg, "uprobes"))
				po->runtime_mode = ENGINE_RT_GIL_UPROBES;
			else {
				errorf("invalid GIL method '%s': expected futex or uprobes", optarg);
				return -EINVAL;
			}
			break;
		case 'B':
			/* a BPF ring buffer is a power of two of at least a page */
			if (parse_size(optarg, &po->trace_buffer) || po->trace_buffer < 4096 ||
			    po->trace_buffer > (1ull << 31) || (po->trace_buffer & (po->trace_buffer - 1))) {
				errorf("invalid trace buffer size '%s': a power of two from 4K to 2G", optarg);
				return -EINVAL;
			}
			break;
		case 't':
			po->top = atoi(optarg);
			break;
		case 'q':
			po->quiet = true;
			break;
		case 'X':
			po->exact_latency = true;
			break;
		case 'L':
			if (!attach)
				goto bad;
			po->local = true;
			break;
		case 'S':
			g_opts.socket_path = optarg;
			break;
		case 'h':
			help(stdout);
			return 1;
		default:
			goto bad;
		}
	}
	return 0;
bad:
	help(stderr);
	return -EINVAL;
}

static int open_output(const struct profile_opts *po, FILE **out)
{
	if (!po->output) {
		*out = stdout;
		return 0;
	}
	*out = fopen(po->output, "we");
	if (!*out) {
		errorf("cannot write %s: %s", po->output, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Build the report; finish the trace (its footer carries the process figures); render. */
static int emit_report(struct engine *e, const char *mode, const struct profile_opts *po, FILE *out,
		       struct recorder **rec, void (*fixup)(struct rtp_report *, void *), void *ctx)
{
	struct rtp_report *rep = NULL;
	struct render_opts ro = { .top_syscalls = po->top };
	int r;

	(void)engine__poll(e, 0); /* drain what the probes wrote until now */
	r = engine__report(e, mode, &rep);
	if (r) {
		errorf("cannot read the measurements: %s", strerror(-r));
		return r;
	}
	if (fixup)
		fixup(rep, ctx);
	if (*rec) {
		r = recorder__finish(*rec, e, rep, stop_signal ? "signal" : "exit");
		*rec = NULL;
	}
	if (po->json)
		r = render_json(out, rep) ?: r;
	else
		render_text(out, rep, &ro);
	if (fflush(out) || ferror(out)) {
		errorf("cannot write the report: %s", strerror(errno));
		r = -EIO;
	}
	report__free(rep);
	return r;
}

static char *join_args(char **argv)
{
	size_t len = 1;
	char *s;

	for (char **a = argv; *a; a++)
		len += strlen(*a) + 1;
	s = calloc(1, len);
	for (char **a = argv; s && *a; a++) {
		if (a != argv)
			strcat(s, " ");
		strcat(s, *a);
	}
	return s;
}

static int open_recorder(const struct profile_opts *po, struct engine *e, const char *mode, pid_t target,
			 char **argv, struct recorder **rec)
{
	char *command = join_args(argv);
	struct recorder_opts ro = {
		.path = po->trace,
		.max_bytes = po->max_size,
		.duration_s = strcmp(mode, "run") == 0 ? po->duration_s : 0,
		.progress = !po->quiet && isatty(STDERR_FILENO),
		.quiet = po->quiet,
		.mode = mode,
		.target_pid = target,
		.command = command,
	};
	int r = recorder__open(&ro, e, rec);

	free(command);
	return r;
}

static int new_engine(const struct profile_opts *po, struct engine **e)
{
	struct engine_opts eo = {
		.sz = sizeof(eo),
		.no_follow = po->no_follow,
		.btf_path = g_opts.btf_path,
		.verbose = g_opts.verbose,
		.exact_latency = po->exact_latency,
		.record = po->trace != NULL,
		.trace_buffer_bytes = (unsigned int)po->trace_buffer,
		.runtime_mode = po->runtime_mode,
	};
	char err[RTP_ERRLEN];
	int r = engine__new(&eo, e, err, sizeof(err));

	if (r)
		errorf("%s", err);
	return r;
}

/* ---- run ---- */

static void run_help(FILE *out)
{
	fprintf(out,
		"Usage: rtprof run [--json] [-o FILE] [--max-size SIZE] [-d SECS] [--no-follow] [--exact-latency]\n"
		"                  [--no-runtime] [--gil futex|uprobes] [--top N] [-q] -- COMMAND [ARGS...]\n"
		"\n"
		"Start COMMAND with the probes in place before its first instruction, and report when it exits.\n"
		"rtprof exits with COMMAND's exit code (128+N if a signal N killed it).\n"
		"\n"
		"  -j, --json        print the report as one JSON object\n"
		"  -o, --output FILE FILE ending in .rtprof.gz: record every event to this trace (the report still\n"
		"                    goes to stdout); any other FILE: write the report there instead of stdout\n"
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

/* Resolve COMMAND like execvp would, for the report when the process is gone before we look. */
static char *resolve_command(const char *cmd)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (strchr(cmd, '/'))
		return realpath(cmd, NULL);
	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		size_t len = strcspn(path, ":");

		if (snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, path, cmd) < (int)sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return realpath(buf, NULL);
		path += len + (path[len] == ':');
	}
	return NULL;
}

static void child_exec(int go_fd, int err_fd, char **argv) __attribute__((noreturn));
static void child_exec(int go_fd, int err_fd, char **argv)
{
	char c;
	int e;

	/* wait until the parent has put this pid in the target set */
	while (read(go_fd, &c, 1) < 0 && errno == EINTR)
		;
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	execvp(argv[0], argv);
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
	char err[RTP_ERRLEN], *cmd_path = NULL;
	FILE *out = NULL;
	pid_t child = -1;
	int r, exec_errno = 0, status = 0, ret = EXIT_USAGE;
	double t0;

	r = parse_common(argc, argv, &po, false, run_help);
	if (r)
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	if (optind >= argc) {
		errorf("run: no command given; usage: rtprof run [OPTIONS] -- COMMAND [ARGS...]");
		return EXIT_USAGE;
	}
	argv += optind;
	cmd_path = resolve_command(argv[0]);
	if (open_output(&po, &out))
		goto cleanup;
	if (pipe2(go, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
		errorf("pipe: %s", strerror(errno));
		ret = EXIT_FAILURE_RT;
		goto cleanup;
	}
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
		child_exec(go[0], errp[1], argv);
	}
	close(go[0]);
	close(errp[1]);
	go[0] = errp[1] = -1;
	/* like time(1): the terminal's Ctrl-C is for the command; we report when it ends */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	set_handler(SIGTERM, on_stop_signal);
	/* the probes load after the fork: the child, waiting to exec, shares none of their buffers (its
	 * peak RSS, which wait4 reports, would count them) */
	if (new_engine(&po, &e)) {
		ret = EXIT_USAGE;
	} else if (po.trace && open_recorder(&po, e, "run", child, argv, &rec)) {
		ret = EXIT_FAILURE_RT;
	} else if (engine__add_target(e, child, err, sizeof(err))) {
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
	pidfd = (int)syscall(SYS_pidfd_open, child, 0);
	t0 = mono_s();
	close(go[1]);
	go[1] = -1;
	while ((r = (int)read(errp[0], &exec_errno, sizeof(exec_errno))) < 0 && errno == EINTR)
		;
	if (r == (int)sizeof(exec_errno)) {
		errorf("cannot run '%s': %s", argv[0], strerror(exec_errno));
		waitpid(child, NULL, 0);
		ret = EXIT_NOEXEC;
		goto cleanup;
	}
	if (!po.quiet && isatty(STDERR_FILENO))
		fprintf(stderr, "rtprof: profiling %s (pid %d); report when it exits\n", argv[0], child);
	for (;;) {
		struct pollfd pfd[2] = { { .fd = engine__fd(e), .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
		pid_t w = wait4(child, &status, WNOHANG, &rr.ru);

		if (w == child)
			break;
		if (w < 0 && errno != EINTR) {
			errorf("wait4: %s", strerror(errno));
			ret = EXIT_FAILURE_RT;
			goto cleanup;
		}
		/* records come without wakeups: consume on every turn, woken or timed out */
		(void)poll(pfd, pidfd >= 0 ? 2 : 1, engine__poll_ms(e));
		(void)engine__poll(e, 0);
		if (stop_signal == SIGTERM) {
			kill(child, SIGTERM);
			stop_signal = 0;
		}
		if (rec)
			recorder__tick(rec, e);
	}
	rr.wall_s = mono_s() - t0;
	engine__stop_clock(e);
	rr.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	rr.cmd_path = cmd_path;
	if (emit_report(e, "run", &po, out, &rec, run_fixup, &rr)) {
		ret = EXIT_FAILURE_RT;
		goto cleanup;
	}
	ret = rr.exit_status;
cleanup:
	if (rec)
		(void)recorder__finish_abort(rec);
	if (pidfd >= 0)
		close(pidfd);
	for (int i = 0; i < 2; i++) {
		if (go[i] >= 0)
			close(go[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	if (out && out != stdout)
		fclose(out);
	engine__free(e);
	free(cmd_path);
	return ret;
}

/* ---- attach ---- */

static void attach_help(FILE *out)
{
	fprintf(out,
		"Usage: rtprof attach [--json] [-o FILE] [-d SECONDS] [--max-size SIZE] [--no-follow] [--exact-latency]\n"
		"                     [--no-runtime] [--gil futex|uprobes] [--top N] [-q] PID...\n"
		"\n"
		"Profile running processes (all their threads, and threads and processes they create from now on)\n"
		"until Ctrl-C, SIGTERM, the duration, or the exit of every target; then report the attached window.\n"
		"When rtprofd answers on its socket, the session runs there (so you need no root for your own\n"
		"processes); otherwise, or with --local or when recording a trace, in this process.\n"
		"\n"
		"  -j, --json          print the report as one JSON object\n"
		"  -o, --output FILE   FILE ending in .rtprof.gz: record every event to this trace (the report still\n"
		"                      goes to stdout); any other FILE: write the report there instead of stdout\n"
		"  -d, --duration SECS stop after SECS seconds\n"
		"      --max-size SIZE stop recording when the trace reaches SIZE bytes (K, M, G suffixes)\n"
		"      --trace-buffer SIZE  the probes' trace buffer (power of two, default 64M); what does not\n"
		"                      fit is counted as lost\n"
		"      --local         profile in this process even when rtprofd runs (which needs root)\n"
		"      --socket PATH   the rtprofd to use (default $RTPROF_SOCKET, else /run/rtprof/rtprofd.sock)\n"
		"      --no-follow     do not profile processes the targets fork\n"
		"      --top N         syscall rows in the table (default 15; 0 = all)\n"
		"      --exact-latency time every syscall, also in bursts of fast calls (more overhead)\n"
		"      --no-runtime    no runtime metrics (Python GIL and GC, Node event loop, threadpool and GC)\n"
		"      --gil METHOD    how the GIL is measured: futex (default, no breakpoints) or uprobes (exact,\n"
		"                      a breakpoint at each acquisition and release: costly on I/O-heavy code)\n"
		"  -q, --quiet         no progress lines on stderr\n");
}

static json_object *session_request(const char *type, int64_t session)
{
	json_object *req = json_object_new_object();

	json_object_object_add(req, "type", json_object_new_string(type));
	json_object_object_add(req, "session", json_object_new_int64(session));
	return req;
}

/* The session in rtprofd: attach, wait as the embedded path would, fetch the report, detach. */
static int attach_via_daemon(struct rtp_client *c, const struct profile_opts *po, const pid_t *pids, int npids,
			     FILE *out)
{
	json_object *req = json_object_new_object(), *arr = json_object_new_array(), *reply = NULL;
	struct render_opts ro = { .top_syscalls = po->top };
	struct rtp_report *rep = NULL;
	double deadline = po->duration_s > 0 ? mono_s() + po->duration_s : 0;
	char err[512];
	int64_t session;
	int r;

	for (int i = 0; i < npids; i++)
		json_object_array_add(arr, json_object_new_int(pids[i]));
	json_object_object_add(req, "type", json_object_new_string("attach"));
	json_object_object_add(req, "pids", arr);
	json_object_object_add(req, "follow", json_object_new_boolean(!po->no_follow));
	json_object_object_add(req, "runtime", json_object_new_string(po->runtime_mode == ENGINE_RT_OFF ? "off"
					   : po->runtime_mode == ENGINE_RT_GIL_UPROBES ? "uprobes" : "futex"));
	r = client__call(c, req, &reply, err, sizeof(err));
	if (r) {
		errorf("%s", err);
		return r == -EIO || r == -ETIMEDOUT || r == -ECONNRESET ? EXIT_FAILURE_RT : EXIT_USAGE;
	}
	session = json_object_get_int64(json_object_object_get(reply, "session"));
	json_object_put(reply);
	set_handler(SIGINT, on_stop_signal);
	set_handler(SIGTERM, on_stop_signal);
	if (!po->quiet)
		fprintf(stderr, "rtprof: attached to %d process%s through rtprofd (session %" PRId64 "); %s\n", npids,
			npids > 1 ? "es" : "", session,
			po->duration_s > 0 ? "stopping after the duration or when they exit" : "Ctrl-C to stop and report");
	while (!stop_signal) {
		json_object *list = NULL, *sessions;
		int live = -1;

		if (deadline && mono_s() >= deadline)
			break;
		usleep(100000);
		r = client__call(c, session_request("sessions", session), &list, err, sizeof(err));
		if (r) {
			errorf("%s", err);
			return EXIT_FAILURE_RT;
		}
		sessions = json_object_object_get(list, "sessions");
		for (size_t i = 0; i < json_object_array_length(sessions); i++) {
			json_object *s = json_object_array_get_idx(sessions, i);

			if (json_object_get_int64(json_object_object_get(s, "session")) == session)
				live = json_object_get_int(json_object_object_get(s, "live_processes"));
		}
		json_object_put(list);
		if (live == 0)
			break;
	}
	req = session_request("query", session);
	json_object_object_add(req, "what", json_object_new_string("summary"));
	r = client__call(c, req, &reply, err, sizeof(err));
	if (r || report__from_json(json_object_object_get(reply, "report"), &rep)) {
		errorf("%s", r ? err : "rtprofd's report could not be read");
		json_object_put(reply);
		return EXIT_FAILURE_RT;
	}
	json_object_put(reply);
	reply = NULL;
	if (client__call(c, session_request("detach", session), &reply, err, sizeof(err)) == 0)
		json_object_put(reply);
	if (po->json)
		r = render_json(out, rep);
	else
		render_text(out, rep, &ro);
	report__free(rep);
	if (r || fflush(out) || ferror(out)) {
		errorf("cannot write the report: %s", strerror(errno));
		return EXIT_FAILURE_RT;
	}
	return EXIT_OK;
}

/* A trace recorded by rtprofd: it streams the file's bytes, this process writes them, as its user. */
static int record_via_daemon(struct rtp_client *c, const struct profile_opts *po, const pid_t *pids, int npids,
			     FILE *out)
{
	json_object *req = json_object_new_object(), *arr = json_object_new_array(), *msg;
	struct render_opts ro = { .top_syscalls = po->top };
	double deadline = po->duration_s > 0 ? mono_s() + po->duration_s : 0, last_progress = 0;
	bool progress = !po->quiet && isatty(STDERR_FILENO), stopping = false;
	uint64_t bytes = 0;
	FILE *tf;
	int ret = EXIT_FAILURE_RT;

	tf = fopen(po->trace, "we");
	if (!tf) {
		errorf("cannot write %s: %s", po->trace, strerror(errno));
		json_object_put(req);
		json_object_put(arr);
		return EXIT_USAGE;
	}
	for (int i = 0; i < npids; i++)
		json_object_array_add(arr, json_object_new_int(pids[i]));
	json_object_object_add(req, "type", json_object_new_string("record"));
	if (po->trace_buffer)
		json_object_object_add(req, "trace_buffer", json_object_new_int64((int64_t)po->trace_buffer));
	json_object_object_add(req, "pids", arr);
	json_object_object_add(req, "follow", json_object_new_boolean(!po->no_follow));
	json_object_object_add(req, "runtime", json_object_new_string(po->runtime_mode == ENGINE_RT_OFF ? "off"
					   : po->runtime_mode == ENGINE_RT_GIL_UPROBES ? "uprobes" : "futex"));
	if (client__send(c, req)) {
		errorf("talking to rtprofd: %s", strerror(errno));
		goto cleanup;
	}
	set_handler(SIGINT, on_stop_signal);
	set_handler(SIGTERM, on_stop_signal);
	for (;;) {
		const void *bin = NULL;
		size_t len = 0;
		int r;

		if (!stopping && (stop_signal || (deadline && mono_s() >= deadline))) {
			json_object *stop = json_object_new_object();

			json_object_object_add(stop, "type", json_object_new_string("stop"));
			(void)client__send(c, stop);
			stopping = true;
		}
		msg = NULL;
		r = client__next(c, 100, &msg, &bin, &len);
		if (r < 0) {
			errorf("rtprofd ended the recording: %s; %s is readable up to its last complete block",
			       strerror(-r), po->trace);
			goto cleanup;
		}
		if (r == 0)
			continue;
		if (!msg) {
			if (fwrite(bin, 1, len, tf) != len) {
				errorf("writing %s: %s", po->trace, strerror(errno));
				goto cleanup;
			}
			bytes += len;
			if (progress && mono_s() - last_progress >= 0.5) {
				last_progress = mono_s();
				fprintf(stderr, "\rrtprof: recording %s through rtprofd: %.1f MB", po->trace, (double)bytes / 1e6);
			}
			continue;
		}
		if (!strcmp(proto__type(msg), "error")) {
			errorf("%s", json_object_get_string(json_object_object_get(msg, "message")));
			json_object_put(msg);
			ret = EXIT_USAGE;
			goto cleanup;
		}
		if (!strcmp(proto__type(msg), "recording") && !po->quiet) {
			fprintf(stderr, "rtprof: recording %d process%s through rtprofd into %s; %s\n", npids,
				npids > 1 ? "es" : "", po->trace,
				po->duration_s > 0 ? "stopping after the duration or when they exit" : "Ctrl-C to stop");
		} else if (!strcmp(proto__type(msg), "recorded")) {
			struct rtp_report *rep = NULL;

			if (!po->quiet)
				fprintf(stderr, "%srtprof: recorded %s: %" PRId64 " events, %.1f MB, %" PRId64 " lost\n",
					progress ? "\r" : "", po->trace,
					json_object_get_int64(json_object_object_get(msg, "records")), (double)bytes / 1e6,
					json_object_get_int64(json_object_object_get(msg, "lost")));
			if (report__from_json(json_object_object_get(msg, "report"), &rep) == 0) {
				int rr = po->json ? render_json(out, rep) : (render_text(out, rep, &ro), 0);

				ret = rr || fflush(out) ? EXIT_FAILURE_RT : EXIT_OK;
				report__free(rep);
			}
			json_object_put(msg);
			break;
		}
		json_object_put(msg);
	}
cleanup:
	if (fclose(tf) && ret == EXIT_OK) {
		errorf("writing %s: %s", po->trace, strerror(errno));
		ret = EXIT_FAILURE_RT;
	}
	return ret;
}

int cmd_attach(int argc, char **argv)
{
	struct profile_opts po = {};
	struct engine *e = NULL;
	struct recorder *rec = NULL;
	char err[RTP_ERRLEN];
	pid_t *pids = NULL;
	int npids, r, ret = EXIT_USAGE;
	FILE *out = NULL;
	double deadline = 0;

	r = parse_common(argc, argv, &po, true, attach_help);
	if (r)
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	npids = argc - optind;
	if (npids <= 0) {
		errorf("attach: no PID given; usage: rtprof attach [OPTIONS] PID...");
		return EXIT_USAGE;
	}
	pids = calloc((size_t)npids, sizeof(*pids));
	if (!pids)
		return EXIT_FAILURE_RT;
	for (int i = 0; i < npids; i++) {
		char *end;
		long v;

		errno = 0;
		v = strtol(argv[optind + i], &end, 10);
		if (errno || *end || v <= 0 || v > INT_MAX) {
			errorf("attach: '%s' is not a process id", argv[optind + i]);
			goto cleanup;
		}
		pids[i] = (pid_t)v;
		/* say "no such process" before loading anything */
		if (kill(pids[i], 0) && errno == ESRCH) {
			errorf("no such process: %d", pids[i]);
			goto cleanup;
		}
	}
	if (open_output(&po, &out))
		goto cleanup;
	if (!po.local) {
		struct rtp_client *c = NULL;

		r = client__connect(client__socket_path(), &c, err, sizeof(err));
		if (r == 0) {
			ret = po.trace ? record_via_daemon(c, &po, pids, npids, out) : attach_via_daemon(c, &po, pids, npids, out);
			client__close(c);
			goto cleanup;
		}
		if (r == -ECONNREFUSED)
			/* the socket is there, nobody listens: an rtprofd that died (a stale socket) */
			errorf("note: nothing answers on %s (rtprofd not running?); profiling in this process",
			       client__socket_path());
		else if (r != -ENOENT)
			errorf("warning: %s; profiling in this process instead", err);
		else if (g_opts.verbose)
			errorf("%s; profiling in this process", err);
	}
	if (new_engine(&po, &e))
		goto cleanup;
	if (po.trace && open_recorder(&po, e, "attach", pids[0], argv + optind, &rec))
		goto cleanup;
	for (int i = 0; i < npids; i++) {
		r = engine__add_target(e, pids[i], err, sizeof(err));
		if (r) {
			errorf("%s", err);
			goto cleanup;
		}
	}
	set_handler(SIGINT, on_stop_signal);
	set_handler(SIGTERM, on_stop_signal);
	if (!po.quiet)
		fprintf(stderr, "rtprof: attached to %d process%s; %s\n", npids, npids > 1 ? "es" : "",
			po.duration_s > 0 ? "stopping after the duration or when they exit"
					  : "Ctrl-C to stop and report");
	if (po.duration_s > 0)
		deadline = mono_s() + po.duration_s;
	while (!stop_signal && engine__live_targets(e) > 0) {
		int wait_ms = engine__poll_ms(e);

		if (deadline) {
			double left = deadline - mono_s();

			if (left <= 0)
				break;
			if (left * 1000 < wait_ms)
				wait_ms = (int)(left * 1000) + 1;
		}
		r = engine__poll(e, wait_ms);
		if (r < 0 && r != -EINTR) {
			errorf("reading events: %s", strerror(-r));
			ret = EXIT_FAILURE_RT;
			goto cleanup;
		}
		if (rec)
			recorder__tick(rec, e);
	}
	engine__stop_clock(e);
	ret = emit_report(e, "attach", &po, out, &rec, NULL, NULL) ? EXIT_FAILURE_RT : EXIT_OK;
cleanup:
	if (rec)
		(void)recorder__finish_abort(rec);
	if (out && out != stdout)
		fclose(out);
	engine__free(e);
	free(pids);
	return ret;
}
