// SPDX-License-Identifier: LGPL-2.1-or-later
/* What `run` and `attach` share: their options, the stop signals, the engine, the trace, the report. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "engine/engine.h"
#include "profile.h"
#include "record.h"
#include "render.h"
#include "rtprof.h"

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

void profile__catch_stop(int sig)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL); /* no SA_RESTART: poll() returns EINTR */
}

int profile__stop_signal(void)
{
	return stop_signal;
}

void profile__clear_stop(void)
{
	stop_signal = 0;
}

uint64_t profile__deadline_ns(const struct profile_opts *po)
{
	/* beyond three centuries a duration is no bound (and would not fit in 64 bits of ns) */
	if (!(po->duration_s > 0) || po->duration_s > 1e10)
		return 0;
	return clock__mono_ns() + (uint64_t)(po->duration_s * 1e9);
}

int profile__parse_opts(int argc, char **argv, struct profile_opts *po, bool attach, void (*help)(FILE *))
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
		{ "as-root", no_argument, NULL, 'A' },
		{ "all-processes", no_argument, NULL, 'P' },
		{ "socket", required_argument, NULL, 'S' },
		{ "no-runtime", no_argument, NULL, 'R' },
		{ "gil", required_argument, NULL, 'G' },
		{ "trace-buffer", required_argument, NULL, 'B' },
		{ "stacks", no_argument, NULL, 'K' },
		{ "sample-hz", required_argument, NULL, 'H' },
		{ "loop-threshold-ms", required_argument, NULL, 'T' },
		{ "per-thread", no_argument, NULL, 'Y' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c;

	po->top = 15;
	/* run stops at its command, whose options are its own; attach takes options after its pids too, as
	 * export and report do */
	while ((c = getopt_long(argc, argv, attach ? "jo:d:qh" : "+jo:d:qh", longopts, NULL)) != -1) {
		unsigned long long n;

		switch (c) {
		case 'j':
			po->json = true;
			break;
		case 'o': {
			const char **to = is_trace_path(optarg) ? &po->trace : &po->output;

			if (*to) {
				errorf("two %s given (-o %s, -o %s): one a session", to == &po->trace ? "traces" : "report outputs",
				       *to, optarg);
				return -EINVAL;
			}
			*to = optarg;
			break;
		}
		case 'M':
			if (parse_size(optarg, &po->max_size)) {
				errorf("invalid size '%s': expected bytes, or a number with K, M or G", optarg);
				return -EINVAL;
			}
			break;
		case 'd':
			if (parse_seconds(optarg, &po->duration_s) || !(po->duration_s > 0)) {
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
			if (parse_count(optarg, RTP_MAX_TOP, &n)) {
				errorf("invalid --top '%s': expected a number of rows >= 0 (0 = all)", optarg);
				return -EINVAL;
			}
			po->top = (int)n;
			break;
		case 'K':
			if (!po->sample_hz)
				po->sample_hz = RTP_DEFAULT_SAMPLE_HZ;
			break;
		case 'H':
			/* above 1 kHz the samples cost more than they tell (perf's default limit is 100 kHz a CPU, all
			 * users together) */
			if (parse_count(optarg, 1000, &n) || !n) {
				errorf("invalid --sample-hz '%s': expected samples a second, 1 to 1000", optarg);
				return -EINVAL;
			}
			po->sample_hz = (unsigned int)n;
			break;
		case 'Y':
			po->per_thread = true;
			break;
		case 'T':
			if (parse_count(optarg, 3600000, &n) || !n) {
				errorf("invalid --loop-threshold-ms '%s': expected milliseconds, 1 to 3600000", optarg);
				return -EINVAL;
			}
			po->loop_threshold_ns = n * 1000000ull;
			break;
		case 'q':
			po->quiet = true;
			break;
		case 'X':
			po->exact_latency = true;
			break;
		case 'L':
			if (!attach) {
				errorf("--local is attach's (run always profiles in this process)");
				return -EINVAL;
			}
			po->local = true;
			break;
		case 'A':
			if (attach) {
				errorf("--as-root is run's (attach leaves a process as it is)");
				return -EINVAL;
			}
			po->as_root = true;
			break;
		case 'P':
			if (attach) {
				errorf("--all-processes is run's (attach profiles the processes it is given)");
				return -EINVAL;
			}
			po->all_processes = true;
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
	if (!attach && po->duration_s > 0 && !po->trace) {
		errorf("-d bounds a trace's recording in run (the command runs to its end): give -o FILE.rtprof.gz "
		       "too, or use attach -d");
		return -EINVAL;
	}
	return 0;
bad:
	usage_hint(attach ? "attach" : "run");
	return -EINVAL;
}

int profile__open_outputs(const struct profile_opts *po, struct profile_out *o)
{
	int r;

	*o = (struct profile_out){ .trace = { .fd = -1 } };
	if (!po->output && po->report_stderr)
		outfile__open_stderr(&o->report, "the report");
	else if ((r = outfile__open(&o->report, po->output, "the report")))
		return r;
	/* FILE.json.gz: gzip, as its name says (a trace, FILE.rtprof.gz, is not this output) */
	o->report.gzip = o->report.path && strlen(o->report.path) > 3 &&
			 !strcmp(o->report.path + strlen(o->report.path) - 3, ".gz");
	o->out = outfile__stream(&o->report);
	if (!o->out) {
		r = -errno;
		errorf("cannot write the report to %s: %s", outfile__name(&o->report), strerror(errno));
		outfile__discard(&o->report);
		return r;
	}
	if (po->trace) {
		r = outfile__open(&o->trace, po->trace, "the trace");
		if (r) {
			outfile__discard(&o->report);
			return r;
		}
	}
	return 0;
}

static int close_output(struct outfile *of, bool keep)
{
	int r;

	if (!keep) {
		outfile__discard(of);
		return 0;
	}
	r = outfile__close(of);
	if (r)
		errorf("writing %s: %s", outfile__name(of), strerror(-r));
	return r;
}

int profile__close_outputs(struct profile_out *o)
{
	int r = close_output(&o->report, o->report_done);

	r = close_output(&o->trace, o->trace_used) ?: r;
	o->out = NULL;
	return r;
}

int profile__emit_report(struct engine *e, const char *mode, const struct profile_opts *po, FILE *out,
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

int profile__open_recorder(const struct profile_opts *po, const struct profile_out *o, struct engine *e,
			   const char *mode, pid_t target, char **argv, struct recorder **rec)
{
	char *command = join_args(argv);
	struct recorder_opts ro = {
		.fd = o->trace.fd,
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

int profile__new_engine(const struct profile_opts *po, struct engine **e)
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
		.sample_hz = po->sample_hz,
		.own_perf_maps = po->sample_hz && po->node_perf_map,
		.loop_threshold_ns = po->loop_threshold_ns,
		.per_thread = po->per_thread,
	};
	char err[RTP_ERRLEN];
	int r = engine__new(&eo, e, err, sizeof(err));

	if (r)
		errorf("%s", err);
	return r;
}

/* Keep only the descriptors of the kernel's anonymous objects (BPF programs, maps, links, perf events):
 * a terminal, a pipe or a file left open here would hold the user's output open after rtprof exits. */
static void keep_only_anon_inodes(int keep)
{
	char path[64], target[64];
	struct dirent *d;
	DIR *dir = opendir("/proc/self/fd");
	int dfd = dir ? dirfd(dir) : -1;

	if (!dir)
		return;
	while ((d = readdir(dir))) {
		int fd = atoi(d->d_name);
		ssize_t n;

		if (d->d_name[0] == '.' || fd == dfd || fd == keep)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, target, sizeof(target) - 1);
		if (n > 0)
			target[n] = '\0';
		if (n <= 0 || strncmp(target, "anon_inode:", 11) != 0 || strstr(target, "eventpoll"))
			close(fd);
	}
	closedir(dir);
}

void profile__teardown_elsewhere(void)
{
	int p[2], null;
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC))
		return;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid > 0) {
		close(p[0]); /* p[1] stays open until this process is gone: the child's cue */
		return;
	}
	/* the child: nobody's terminal or output, nobody waits for it */
	(void)setsid();
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		(void)dup2(null, STDIN_FILENO);
		(void)dup2(null, STDOUT_FILENO);
		(void)dup2(null, STDERR_FILENO);
	}
	keep_only_anon_inodes(p[0]);
	while (read(p[0], &c, 1) < 0 && errno == EINTR)
		;
	_exit(0); /* the kernel releases the probes now, one after another */
}

