// SPDX-License-Identifier: LGPL-2.1-or-later
/* rtprofd: the engine as a service. One epoll loop over the probes' ring buffers, a signalfd and the
 * clients of the Unix socket. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>

#include "base/clock.h"
#include "rtprofd/config.h"
#include "engine/engine.h"
#include "rtprofd/metrics.h"
#include "sys/procfs.h"
#include "proto/protocol.h"
#include "rtprofd/server.h"

static void log_libbpf(const char *msg)
{
	fprintf(stderr, "rtprofd: libbpf: %s", msg);
}

/* What the status request reports of the daemon itself. */
struct daemon_status_ctx {
	struct engine *e;
	uint64_t started_ns;
};

static void daemon_status(void *ctx, struct server_daemon_status *ds)
{
	const struct daemon_status_ctx *d = ctx;
	struct proc_status st = { .vm_rss_kb = -1 };
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	(void)procfs__read_status(getpid(), &st);
	ds->pid = getpid();
	ds->uptime_s = (double)(clock__mono_ns() - d->started_ns) / 1e9;
	ds->cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		    (double)ru.ru_stime.tv_usec / 1e6;
	ds->rss_kb = st.vm_rss_kb;
	ds->lifecycle_events = engine__events(d->e);
	engine__trace_counts(d->e, &ds->lost_events);
}

/* How long the loop may sleep: until the engine's next turn, or the server's or the metrics' next duty. */
static int loop_timeout_ms(const struct server *srv, const struct metrics *metrics, uint64_t next_poll_ns)
{
	uint64_t now = clock__mono_ns();
	int ms = next_poll_ns > now ? (int)((next_poll_ns - now + 999999) / 1000000) : 0;
	int other = server__wake_ms(srv, now);

	if (other >= 0 && other < ms)
		ms = other;
	other = metrics__poll_ms(metrics);
	return other >= 0 && other < ms ? other : ms;
}

#define DEFAULT_CONFIG "/etc/rtprof/rtprofd.conf"

static void on_exec(pid_t pid, const char *comm, void *ctx)
{
	(void)comm;
	server__watch_exec(ctx, pid);
}

/* The configuration: defaults, then the file, then the command line (kept in *cmdline). */
static int load_config(const char *path, bool must_exist, const struct rtprofd_config *cmdline, unsigned int set,
		       struct rtprofd_config *out)
{
	struct rtprofd_config c;
	char err[512];
	int r;

	config__defaults(&c);
	r = config__load(path, &c, err, sizeof(err));
	if (r && (r != -ENOENT || must_exist)) {
		fprintf(stderr, "rtprofd: %s\n", err);
		return r;
	}
	if (set & 1)
		memcpy(c.socket, cmdline->socket, sizeof(c.socket));
	if (set & 2)
		memcpy(c.group, cmdline->group, sizeof(c.group));
	if (set & 4)
		c.watch = cmdline->watch;
	if (set & 8)
		c.retention_s = cmdline->retention_s;
	if (set & 16)
		memcpy(c.metrics, cmdline->metrics, sizeof(c.metrics));
	if (set & 32)
		c.window_s = cmdline->window_s;
	if (set & 64)
		c.watch_sample_hz = cmdline->watch_sample_hz;
	if (set & 128)
		memcpy(c.push, cmdline->push, sizeof(c.push));
	if (set & 256)
		c.push_interval_s = cmdline->push_interval_s;
	*out = c;
	return 0;
}

static bool limits_differ(const struct rtprofd_config *a, const struct rtprofd_config *b)
{
	return a->max_clients != b->max_clients || a->max_sessions != b->max_sessions ||
	       a->max_recordings != b->max_recordings || a->max_threads != b->max_threads ||
	       a->max_trace_buffer != b->max_trace_buffer || a->user_share.num != b->user_share.num ||
	       a->user_share.den != b->user_share.den || a->root_reserve.num != b->root_reserve.num ||
	       a->root_reserve.den != b->root_reserve.den;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: rtprofd [--config FILE] [--socket PATH] [--group NAME] [--watch LIST] [--retention SECS]\n"
		"               [--stacks] [--sample-hz N] [--push URL] [--push-interval S] [--metrics ADDR:PORT] [-v]\n"
		"\n"
		"The rtprof daemon: runs the profiling engine for clients of its Unix socket, so that users may profile\n"
		"their own processes without root (see rtprofd(8), docs/protocol.md). Stays in the foreground and logs\n"
		"to stderr (journald picks it up). SIGTERM or SIGINT: detach everything and exit 0.\n"
		"\n"
		"  -c, --config FILE  read this configuration (default " DEFAULT_CONFIG ", if it exists);\n"
		"                     the command line wins over it; SIGHUP reads it again\n"
		"  -s, --socket PATH  listen here (default " RTP_DEFAULT_SOCKET ")\n"
		"  -w, --watch LIST   profile every python and/or node process (python,node), each in a session of\n"
		"                     its own, in-kernel aggregation only\n"
		"      --stacks       also sample watched Python processes' stacks, at 19 Hz on CPU\n"
		"      --sample-hz N  ... at N Hz (1 to 1000; implies --stacks). Clients ask for their own\n"
		"                     rate (rtprof attach --stacks)\n"
		"      --push URL     push watched processes' stacks (--stacks) as pprof to a Pyroscope-compatible\n"
		"                     endpoint (http://HOST:4040 is http://HOST:4040/ingest), labelled with host and pid\n"
		"      --push-interval S  every S seconds (default 15)\n"
		"      --retention S  keep a watched process's figures S seconds after it exits (default 300)\n"
		"      --window S     a watched process's rolling window (default 60): query --window gives the\n"
		"                     last complete one\n"
		"      --metrics ADDR:PORT  serve /metrics in the Prometheus text format (a bare PORT: 127.0.0.1)\n"
		"      --group NAME   group owning the socket, if it exists (default rtprof); mode 0660\n"
		"  -f, --foreground   accepted for systemd units; rtprofd always stays in the foreground\n"
		"  -v, --verbose      debug messages, libbpf's included\n"
		"  -V, --version      print the version\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' }, { "group", required_argument, NULL, 'g' },
		{ "config", required_argument, NULL, 'c' }, { "watch", required_argument, NULL, 'w' },
		{ "retention", required_argument, NULL, 'R' }, { "metrics", required_argument, NULL, 'm' },
		{ "window", required_argument, NULL, 'W' },
		{ "push", required_argument, NULL, 'P' },   { "push-interval", required_argument, NULL, 'I' },
		{ "stacks", no_argument, NULL, 'K' },	    { "sample-hz", required_argument, NULL, 'H' },
		{ "foreground", no_argument, NULL, 'f' },   { "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },	    { "help", no_argument, NULL, 'h' },
		{},
	};
	struct daemon_status_ctx status_ctx = {};
	struct server_opts so = { .mode = 0660, .status = daemon_status, .status_ctx = &status_ctx };
	struct engine *engine = NULL;
	bool verbose = false;
	/* stacks by session: clients (and watch mode) ask for them, each session at its rate */
	struct engine_opts eo = { .sz = sizeof(eo), .watch_execs = true, .stacks_by_session = true };
	struct rtprofd_config cmdline = {}, cfg;
	const char *config_path = DEFAULT_CONFIG;
	bool config_given = false;
	unsigned int set = 0;
	struct metrics *metrics = NULL;
	static int metrics_tag;
	struct epoll_event ev;
	struct server *srv = NULL;
	char err[RTP_ERRLEN];
	int c, r, epfd = -1, sfd = -1, ret = 1;
	bool running = true;
	uint64_t next_poll_ns = 0;
	sigset_t mask;
	static int engine_tag, signal_tag;

	while ((c = getopt_long(argc, argv, "s:c:w:m:fvVh", longopts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 's':
			if (snprintf(cmdline.socket, sizeof(cmdline.socket), "%s", optarg) >= (int)sizeof(cmdline.socket)) {
				fprintf(stderr, "rtprofd: socket path too long\n");
				return 2;
			}
			set |= 1;
			break;
		case 'g': snprintf(cmdline.group, sizeof(cmdline.group), "%s", optarg); set |= 2; break;
		case 'c': config_path = optarg; config_given = true; break;
		case 'w':
			if (config__parse_watch(optarg, &cmdline.watch)) {
				fprintf(stderr, "rtprofd: --watch takes python, node or python,node\n");
				return 2;
			}
			set |= 4;
			break;
		case 'R':
			cmdline.retention_s = (unsigned int)strtoul(optarg, &end, 10);
			if (*end || !*optarg) {
				fprintf(stderr, "rtprofd: --retention takes seconds\n");
				return 2;
			}
			set |= 8;
			break;
		case 'm': snprintf(cmdline.metrics, sizeof(cmdline.metrics), "%s", optarg); set |= 16; break;
		case 'W':
			cmdline.window_s = (unsigned int)strtoul(optarg, &end, 10);
			if (*end || !*optarg || !cmdline.window_s) {
				fprintf(stderr, "rtprofd: --window takes seconds > 0\n");
				return 2;
			}
			set |= 32;
			break;
		case 'K':
			if (!(set & 64))
				cmdline.watch_sample_hz = CONFIG_WATCH_SAMPLE_HZ;
			set |= 64;
			break;
		case 'H':
			cmdline.watch_sample_hz = (unsigned int)strtoul(optarg, &end, 10);
			if (*end || !*optarg || optarg[0] == '-' || !cmdline.watch_sample_hz ||
			    cmdline.watch_sample_hz > CONFIG_MAX_SAMPLE_HZ) {
				fprintf(stderr, "rtprofd: --sample-hz takes samples a second, 1 to %d\n", CONFIG_MAX_SAMPLE_HZ);
				return 2;
			}
			set |= 64;
			break;
		case 'P':
			if (snprintf(cmdline.push, sizeof(cmdline.push), "%s", optarg) >= (int)sizeof(cmdline.push) ||
			    (strncmp(optarg, "http://", 7) && strncmp(optarg, "https://", 8))) {
				fprintf(stderr, "rtprofd: --push takes an http:// or https:// URL (of at most %zu bytes)\n",
					sizeof(cmdline.push) - 1);
				return 2;
			}
			set |= 128;
			break;
		case 'I':
			cmdline.push_interval_s = (unsigned int)strtoul(optarg, &end, 10);
			if (*end || !*optarg || optarg[0] == '-' || !cmdline.push_interval_s || cmdline.push_interval_s > 3600) {
				fprintf(stderr, "rtprofd: --push-interval takes seconds, 1 to 3600\n");
				return 2;
			}
			set |= 256;
			break;
		case 'f': break;
		case 'v': verbose = true; break;
		case 'V': printf("rtprofd %s\n", RTPROF_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (load_config(config_path, config_given, &cmdline, set, &cfg))
		return 2;
	so.socket_path = cfg.socket;
	so.group = cfg.group;
	so.limits = (struct server_limits){ .clients = cfg.max_clients, .sessions = cfg.max_sessions,
					    .recordings = cfg.max_recordings, .threads = cfg.max_threads,
					    .trace_buffer = cfg.max_trace_buffer,
					    .share_num = cfg.user_share.num, .share_den = cfg.user_share.den,
					    .reserve_num = cfg.root_reserve.num, .reserve_den = cfg.root_reserve.den };
	eo.max_sessions = cfg.max_sessions + WATCH_ARMED;
	eo.max_threads = cfg.max_threads;
	status_ctx.started_ns = clock__mono_ns();
	eo.verbose = verbose;
	engine__set_log(log_libbpf, verbose);
	r = engine__new(&eo, &engine, err, sizeof(err));
	if (r) {
		fprintf(stderr, "rtprofd: %s\n", err);
		return 2;
	}
	status_ctx.e = engine;
	r = server__new(&so, engine, &srv, err, sizeof(err));
	if (r) {
		fprintf(stderr, "rtprofd: %s\n", err);
		goto cleanup;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || epfd < 0) {
		fprintf(stderr, "rtprofd: %s\n", strerror(errno));
		goto cleanup;
	}
	ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = &signal_tag };
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev))
		goto cleanup;
	ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = &engine_tag };
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, engine__fd(engine), &ev) || server__register(srv, epfd)) {
		fprintf(stderr, "rtprofd: epoll: %s\n", strerror(errno));
		goto cleanup;
	}
	if (cfg.metrics[0]) {
		r = metrics__start(cfg.metrics, srv, engine, &metrics, err, sizeof(err));
		ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = &metrics_tag };
		if (r || epoll_ctl(epfd, EPOLL_CTL_ADD, metrics__fd(metrics), &ev)) {
			fprintf(stderr, "rtprofd: %s\n", r ? err : strerror(errno));
			goto cleanup;
		}
		fprintf(stderr, "rtprofd: serving metrics on http://%s/metrics\n", cfg.metrics);
	}
	engine__set_exec_watch(engine, on_exec, srv);
	server__set_watch(srv, cfg.watch, cfg.retention_s, cfg.window_s, cfg.watch_sample_hz);
	if (cfg.push[0]) {
		if (server__set_push(srv, cfg.push, cfg.push_interval_s, err, sizeof(err))) {
			fprintf(stderr, "rtprofd: %s\n", err);
			goto cleanup;
		}
		fprintf(stderr, "rtprofd: pushing watched processes' stacks to %s every %u s%s\n", cfg.push,
			cfg.push_interval_s, cfg.watch_sample_hz ? "" : " (none is sampled: --stacks is off)");
	}
	server__watch_prime(srv);
	server__watch_scan(srv);
	fprintf(stderr, "rtprofd: listening on %s%s%s%s\n", so.socket_path, cfg.watch ? "; watching" : "",
		cfg.watch & WATCH_PYTHON ? " python" : "", cfg.watch & WATCH_NODE ? " node" : "");
	while (running) {
		struct epoll_event events[64];
		int n = epoll_wait(epfd, events, 64, loop_timeout_ms(srv, metrics, next_poll_ns));
		bool engine_ready = false;

		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "rtprofd: epoll_wait: %s\n", strerror(errno));
			goto cleanup;
		}
		for (int i = 0; i < n; i++) {
			void *tag = events[i].data.ptr;

			if (tag == &engine_tag) {
				engine_ready = true;
			} else if (tag == &signal_tag) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
					struct rtprofd_config next;

					if (si.ssi_signo != SIGHUP) {
						running = false;
					} else if (load_config(config_path, config_given, &cmdline, set, &next) == 0) {
						/* the socket, group, metrics address and limits are set at start */
						if (strcmp(next.socket, cfg.socket) || strcmp(next.group, cfg.group) ||
						    strcmp(next.metrics, cfg.metrics) || limits_differ(&next, &cfg) ||
						    strcmp(next.push, cfg.push) || next.push_interval_s != cfg.push_interval_s)
							fprintf(stderr, "rtprofd: SIGHUP: socket, group, metrics, push and limit "
									"changes take a restart\n");
						cfg.watch = next.watch;
						cfg.retention_s = next.retention_s;
						cfg.watch_sample_hz = next.watch_sample_hz;
						server__set_watch(srv, cfg.watch, cfg.retention_s, cfg.window_s, cfg.watch_sample_hz);
						server__watch_prime(srv);
						server__watch_scan(srv);
						fprintf(stderr, "rtprofd: SIGHUP: configuration read again\n");
					}
				}
			} else if (tag == &metrics_tag) {
				metrics__run(metrics);
			} else if (server__owns(srv, tag)) {
				server__handle(srv, tag, events[i].events);
			}
		}
		/* the engine's turn when its events wait (an exec, an exit) or its timer is due, not after every
		 * client's request: each turn reads /proc of every target */
		if (engine_ready || clock__mono_ns() >= next_poll_ns) {
			r = engine__poll(engine, 0);
			if (r < 0 && r != -EINTR)
				fprintf(stderr, "rtprofd: reading events: %s\n", strerror(-r));
			next_poll_ns = clock__mono_ns() + (uint64_t)server__poll_ms(srv) * 1000000;
		}
		server__tick(srv);
		metrics__tick(metrics);
	}
	fprintf(stderr, "rtprofd: stopping\n");
	ret = 0;
cleanup:
	metrics__stop(metrics);
	server__free(srv);
	engine__free(engine);
	if (sfd >= 0)
		close(sfd);
	if (epfd >= 0)
		close(epfd);
	return ret;
}
