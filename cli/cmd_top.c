// SPDX-License-Identifier: LGPL-2.1-or-later
/* rtprof top: a refreshing view of rtprofd's sessions and their threads (docs/top.md). The loop: poll
 * rtprofd, build the frame against the previous poll, draw it, wait for the delay or a key. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "client.h"
#include "outfile.h"
#include "rtprof.h"
#include "top.h"

static const char top_usage[] =
	"Usage: rtprof top [-b] [-d SECS] [-n N] [-s KEY] [--socket PATH]\n"
	"\n"
	"A refreshing view of rtprofd's sessions (those you may see) and their threads: CPU and run-queue\n"
	"share of each refresh interval, context switches per second; per session syscalls per second and\n"
	"the most frequent syscall, and the top Python functions on CPU of a session that samples stacks\n"
	"(attached with stacks, or watched by rtprofd with stacks). See docs/top.md.\n"
	"\n"
	"  -d, --delay SECS      seconds between refreshes (default 1; at least 0.1)\n"
	"  -n, --iterations N    stop after N refreshes\n"
	"  -b, --batch           plain frames one after another, no escapes, no keys (also when stdout\n"
	"                        is not a terminal)\n"
	"  -s, --sort KEY        c|cpu (default), r|runq, s|switches, t|tid\n"
	"      --socket PATH     rtprofd's socket (default $RTPROF_SOCKET, else /run/rtprof/rtprofd.sock)\n"
	"\n"
	"Keys: q or Ctrl-C quit; c, r, s, t sort by CPU%, RUNQ%, SW/s, TID; space refreshes now. With more\n"
	"sessions than fit: j/k (or the arrows) select a session, whose threads the table shows; x shows\n"
	"or hides the exited ones; / types a filter (a name, 'pid 1234'), Enter ends it.\n";

static int parse_top(int argc, char **argv, struct top_opts *o)
{
	static const struct option longopts[] = {
		{ "delay", required_argument, NULL, 'd' },     { "iterations", required_argument, NULL, 'n' },
		{ "batch", no_argument, NULL, 'b' },	       { "sort", required_argument, NULL, 's' },
		{ "socket", required_argument, NULL, 'S' },    { "help", no_argument, NULL, 'h' },
		{},
	};
	unsigned long long n;
	int c;

	while ((c = getopt_long(argc, argv, "d:n:bs:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (parse_seconds(optarg, &o->delay_s) || !(o->delay_s >= 0.1 && o->delay_s <= 86400)) {
				errorf("top: -d wants seconds between 0.1 and 86400, not '%s'", optarg);
				return -EINVAL;
			}
			break;
		case 'n':
			if (parse_count(optarg, LONG_MAX, &n) || n < 1) {
				errorf("top: -n wants a number of refreshes >= 1, not '%s'", optarg);
				return -EINVAL;
			}
			o->iterations = (long)n;
			break;
		case 'b':
			o->batch = true;
			break;
		case 's': {
			int s = optarg[0] && !optarg[1] ? top_sort__from_key((unsigned char)optarg[0]) : -1;

			for (size_t i = 0; s < 0 && i < TOP_SORT_NR; i++)
				if (strcmp(optarg, top_sort_keys[i].name) == 0)
					s = (int)i;
			if (s < 0) {
				errorf("top: unknown sort key '%s': c|cpu, r|runq, s|switches, t|tid", optarg);
				return -EINVAL;
			}
			o->sort = (enum top_sort)s;
			break;
		}
		case 'S':
			g_opts.socket_path = optarg;
			break;
		case 'h':
			fputs(top_usage, stdout);
			return 1;
		default:
			usage_hint("top");
			return -EINVAL;
		}
	}
	if (optind != argc) {
		fputs(top_usage, stderr);
		return -EINVAL;
	}
	return 0;
}

int cmd_top(int argc, char **argv)
{
	struct top_opts o = { .delay_s = 1.0, .sort = TOP_SORT_CPU, .selected = -1 };
	struct top_term term = {};
	struct top_frame frame = {};
	struct top_poll now = {}, before = {};
	struct rtp_client *c = NULL;
	sigset_t waitmask;
	char err[512] = "";
	int r, ret = EXIT_USAGE;

	r = parse_top(argc, argv, &o);
	if (r)
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (outfile__check_stdout("the view"))
		return EXIT_USAGE;
	r = client__connect(client__socket_path(), &c, err, sizeof(err));
	if (r) {
		fprintf(stderr, "rtprof top needs rtprofd: %s\n", err);
		return client__exit_code(r);
	}
	top_term__init(&term, o.batch);
	top_term__signals(&waitmask);
	top_term__enter(&term);
	ret = EXIT_OK;
	for (long done = 0; !top_term__quit_signal();) {
		uint64_t started_ns = clock__mono_ns();

		r = top_poll__fetch(c, &now, err, sizeof(err));
		if (!r)
			r = top_frame__build(&frame, &now, &before, err, sizeof(err));
		/* the reports of this poll are the base of the next frame's deltas */
		top_poll__clear(&before);
		before = now;
		memset(&now, 0, sizeof(now));
		if (r) {
			ret = client__exit_code(r);
			break;
		}
		r = top_draw__frame(&frame, &o, &term);
		if (r) {
			snprintf(err, sizeof(err), "cannot write the frame: %s", strerror(-r));
			ret = EXIT_FAILURE_RT;
			break;
		}
		if (o.iterations && ++done >= o.iterations)
			break;
		r = top_term__wait(&frame, &o, &term, started_ns + (uint64_t)(o.delay_s * 1e9), &waitmask);
		if (r) {
			if (r < 0) {
				snprintf(err, sizeof(err), "%s", strerror(-r));
				ret = EXIT_FAILURE_RT;
			}
			break;
		}
	}
	top_term__leave(&term);
	if (ret != EXIT_OK)
		errorf("top: %s", err);
	top_frame__clear(&frame);
	top_poll__clear(&before);
	client__close(c);
	(void)sigprocmask(SIG_SETMASK, &waitmask, NULL);
	return ret;
}
