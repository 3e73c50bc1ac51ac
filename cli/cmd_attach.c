// SPDX-License-Identifier: LGPL-2.1-or-later
/* `rtprof attach`: profile running processes, through rtprofd when it answers, else in this process. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "engine/engine.h"
#include "client.h"
#include "profile.h"
#include "record.h"
#include "sys/procfs.h"
#include "rtprof.h"

static void attach_help(FILE *out)
{
	fprintf(out,
		"Usage: rtprof attach [--json] [-o FILE] [-d SECONDS] [--max-size SIZE] [--no-follow] [--exact-latency]\n"
		"                     [--no-runtime] [--gil futex|uprobes] [--stacks] [--sample-hz N] [--loop-threshold-ms N] [--top N] [-q] PID...\n"
		"\n"
		"Profile running processes (all their threads, and threads and processes they create from now on)\n"
		"until Ctrl-C, SIGTERM, the duration, or the exit of every target; then report the attached window.\n"
		"When rtprofd answers on its socket, the session runs there (so you need no root for your own\n"
		"processes; a trace is streamed by rtprofd and written by rtprof, as you); otherwise, or with\n"
		"--local, in this process.\n"
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
		"      --stacks        sample Python stacks on CPU: the report's \"Top functions\" and JSON profiles\n"
		"                      (through rtprofd too: it samples at most a few rates at once, the nearest then)\n"
		"      --sample-hz N   samples a second on each CPU (default 99; implies --stacks)\n"
		"      --per-thread      each thread's syscall table too (JSON: thread_syscalls)\n"
		"      --loop-threshold-ms N  with --stacks, node: name the stack of each event-loop iteration\n"
		"                      busy N ms or more (default 50), and of the longest\n"
		"  -q, --quiet         no progress lines on stderr\n");
}

/* A thread id names its process: the probes select by process, and a thread's id would match none of
 * them (an empty report). */
static pid_t process_of(pid_t pid)
{
	struct proc_status st;

	if (procfs__read_status(pid, &st) || st.tgid <= 0 || st.tgid == pid)
		return pid;
	errorf("note: %d is a thread of process %d; profiling process %d", pid, st.tgid, st.tgid);
	return st.tgid;
}

/* A process named twice (by two of its threads, maybe) is one target. Returns the new count. */
static int unique_pids(pid_t *pids, int npids)
{
	int n = 0;

	for (int i = 0; i < npids; i++) {
		int j = 0;

		while (j < n && pids[j] != pids[i])
			j++;
		if (j == n)
			pids[n++] = pids[i];
	}
	return n;
}

int cmd_attach(int argc, char **argv)
{
	struct profile_opts po = {};
	struct engine *e = NULL;
	struct recorder *rec = NULL;
	char err[RTP_ERRLEN];
	pid_t *pids = NULL;
	int npids, r, ret = EXIT_USAGE;
	struct profile_out o = { .report = { .fd = -1 }, .trace = { .fd = -1 } };
	uint64_t deadline_ns;

	r = profile__parse_opts(argc, argv, &po, true, attach_help);
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
		unsigned long long v;

		if (parse_count(argv[optind + i], INT_MAX, &v) || v == 0) {
			errorf("attach: '%s' is not a process id", argv[optind + i]);
			goto cleanup;
		}
		pids[i] = (pid_t)v;
		/* say "no such process" before loading anything */
		if (kill(pids[i], 0) && errno == ESRCH) {
			errorf("no such process: %d", pids[i]);
			goto cleanup;
		}
		pids[i] = process_of(pids[i]);
	}
	npids = unique_pids(pids, npids);
	if (profile__open_outputs(&po, &o))
		goto cleanup;
	if (!po.local) {
		struct rtp_client *c = NULL;

		r = client__connect(client__socket_path(), &c, err, sizeof(err));
		if (r == 0) {
			ret = po.trace ? attach_daemon__record(c, &po, pids, npids, &o)
				       : attach_daemon__session(c, &po, pids, npids, &o);
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
	if (profile__new_engine(&po, &e))
		goto cleanup;
	if (po.trace && profile__open_recorder(&po, &o, e, "attach", pids[0], argv + optind, &rec))
		goto cleanup;
	for (int i = 0; i < npids; i++) {
		r = engine__add_target(e, pids[i], err, sizeof(err));
		if (r) {
			errorf("%s", err);
			goto cleanup;
		}
	}
	o.trace_used = true;
	profile__catch_stop(SIGINT);
	profile__catch_stop(SIGTERM);
	if (!po.quiet)
		fprintf(stderr, "rtprof: attached to %d process%s; %s\n", npids, npids > 1 ? "es" : "",
			po.duration_s > 0 ? "stopping after the duration or when they exit"
					  : "Ctrl-C to stop and report");
	deadline_ns = profile__deadline_ns(&po);
	while (!profile__stop_signal() && engine__live_targets(e) > 0) {
		int wait_ms = engine__poll_ms(e);

		if (deadline_ns) {
			uint64_t now_ns = clock__mono_ns(), left_ms;

			if (now_ns >= deadline_ns)
				break;
			left_ms = (deadline_ns - now_ns) / 1000000;
			if (left_ms < (uint64_t)wait_ms)
				wait_ms = (int)left_ms + 1;
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
	o.report_done = true;
	ret = profile__emit_report(e, "attach", &po, o.out, &rec, NULL, NULL) ? EXIT_FAILURE_RT : EXIT_OK;
cleanup:
	if (rec)
		(void)recorder__finish_abort(rec);
	if (profile__close_outputs(&o))
		ret = EXIT_FAILURE_RT;
	if (e)
		profile__teardown_elsewhere();
	engine__free(e);
	free(pids);
	return ret;
}
