// SPDX-License-Identifier: LGPL-2.1-or-later
/* rtprofd: the engine as a service. One epoll loop over the probes' ring buffers, a signalfd and the
 * clients of the Unix socket. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <json-c/json.h>

#include "engine.h"
#include "procfs.h"
#include "protocol.h"
#include "server.h"

static struct engine *g_engine;
static struct timespec g_started;
static bool g_verbose;

static void log_libbpf(const char *msg)
{
	fprintf(stderr, "rtprofd: libbpf: %s", msg);
}

json_object *rtprofd_status_json(void);
json_object *rtprofd_status_json(void)
{
	json_object *o = json_object_new_object();
	struct proc_status st = { .vm_rss_kb = -1 };
	struct timespec now;
	struct rusage ru;
	uint64_t lost = 0;
	double uptime;

	clock_gettime(CLOCK_MONOTONIC, &now);
	uptime = (double)(now.tv_sec - g_started.tv_sec) + (double)(now.tv_nsec - g_started.tv_nsec) / 1e9;
	getrusage(RUSAGE_SELF, &ru);
	(void)procfs__read_status(getpid(), &st);
	engine__trace_counts(g_engine, &lost);
	json_object_object_add(o, "version", json_object_new_string(RTPROF_VERSION));
	json_object_object_add(o, "protocol", json_object_new_int(RTP_PROTO_VERSION));
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	json_object_object_add(o, "uptime_s", json_object_new_double(uptime));
	json_object_object_add(o, "cpu_s", json_object_new_double((double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
								   (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6));
	json_object_object_add(o, "rss_kb", json_object_new_int64(st.vm_rss_kb));
	json_object_object_add(o, "lifecycle_events", json_object_new_uint64(engine__events(g_engine)));
	json_object_object_add(o, "lifecycle_events_per_s",
			       json_object_new_double(uptime > 0 ? (double)engine__events(g_engine) / uptime : 0));
	json_object_object_add(o, "lost_events", json_object_new_uint64(lost));
	return o;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: rtprofd [--socket PATH] [--group NAME] [-v]\n"
		"\n"
		"The rtprof daemon: runs the profiling engine for clients of its Unix socket, so that users may profile\n"
		"their own processes without root (see rtprofd(8), docs/protocol.md). Stays in the foreground and logs\n"
		"to stderr (journald picks it up). SIGTERM or SIGINT: detach everything and exit 0.\n"
		"\n"
		"  -s, --socket PATH  listen here (default " RTP_DEFAULT_SOCKET ")\n"
		"      --group NAME   group owning the socket, if it exists (default rtprof); mode 0660\n"
		"  -f, --foreground   accepted for systemd units; rtprofd always stays in the foreground\n"
		"  -v, --verbose      debug messages, libbpf's included\n"
		"  -V, --version      print the version\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' }, { "group", required_argument, NULL, 'g' },
		{ "foreground", no_argument, NULL, 'f' },   { "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },	    { "help", no_argument, NULL, 'h' },
		{},
	};
	struct server_opts so = { .socket_path = RTP_DEFAULT_SOCKET, .group = "rtprof", .mode = 0660 };
	struct engine_opts eo = { .sz = sizeof(eo), .max_sessions = SERVER_MAX_SESSIONS };
	struct epoll_event ev;
	struct server *srv = NULL;
	char err[RTP_ERRLEN];
	int c, r, epfd = -1, sfd = -1, ret = 1;
	bool running = true;
	sigset_t mask;
	static int engine_tag, signal_tag;

	while ((c = getopt_long(argc, argv, "s:fvVh", longopts, NULL)) != -1) {
		switch (c) {
		case 's': so.socket_path = optarg; break;
		case 'g': so.group = optarg; break;
		case 'f': break;
		case 'v': g_verbose = true; break;
		case 'V': printf("rtprofd %s\n", RTPROF_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &g_started);
	eo.verbose = g_verbose;
	engine__set_log(log_libbpf, g_verbose);
	r = engine__new(&eo, &g_engine, err, sizeof(err));
	if (r) {
		fprintf(stderr, "rtprofd: %s\n", err);
		return 2;
	}
	r = server__new(&so, g_engine, &srv, err, sizeof(err));
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
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, engine__fd(g_engine), &ev) || server__register(srv, epfd)) {
		fprintf(stderr, "rtprofd: epoll: %s\n", strerror(errno));
		goto cleanup;
	}
	fprintf(stderr, "rtprofd: listening on %s\n", so.socket_path);
	while (running) {
		struct epoll_event events[64];
		int n = epoll_wait(epfd, events, 64, engine__poll_ms(g_engine));

		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "rtprofd: epoll_wait: %s\n", strerror(errno));
			goto cleanup;
		}
		for (int i = 0; i < n; i++) {
			void *tag = events[i].data.ptr;

			if (tag == &signal_tag) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
					if (si.ssi_signo == SIGHUP)
						fprintf(stderr, "rtprofd: SIGHUP: nothing to reload\n");
					else
						running = false;
				}
			} else if (tag != &engine_tag && server__owns(srv, tag)) {
				server__handle(srv, tag, events[i].events);
			}
		}
		r = engine__poll(g_engine, 0);
		if (r < 0 && r != -EINTR)
			fprintf(stderr, "rtprofd: reading events: %s\n", strerror(-r));
	}
	fprintf(stderr, "rtprofd: stopping\n");
	ret = 0;
cleanup:
	server__free(srv);
	engine__free(g_engine);
	if (sfd >= 0)
		close(sfd);
	if (epfd >= 0)
		close(epfd);
	return ret;
}
