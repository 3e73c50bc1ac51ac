// SPDX-License-Identifier: LGPL-2.1-or-later
/* Commands over recorded traces: `rtprof report`. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "rtprof.h"

static void report_help(FILE *out)
{
	fprintf(out,
		"Usage: rtprof report [--json] [--top N] FILE.rtprof.gz\n"
		"\n"
		"Print the report of a recorded trace: the same tables and JSON keys as a live session, computed from\n"
		"the trace's records. A trace that was cut short or damaged gives the report of what could be read,\n"
		"with a warning.\n"
		"\n"
		"  -j, --json     print the report as one JSON object\n"
		"      --top N    syscall rows in the table (default 15; 0 = all)\n");
}

int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "top", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct render_opts ro = { .top_syscalls = 15 };
	struct rtp_report *rep = NULL;
	char err[512], warning[256];
	bool json = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "+jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 't':
			ro.top_syscalls = atoi(optarg);
			break;
		case 'h':
			report_help(stdout);
			return EXIT_OK;
		default:
			report_help(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		errorf("report: give one trace file; usage: rtprof report [--json] FILE.rtprof.gz");
		return EXIT_USAGE;
	}
	r = report__from_trace(argv[optind], &rep, warning, sizeof(warning), err, sizeof(err));
	if (r) {
		errorf("%s", err);
		return r == -ENOMEM || r == -EIO ? EXIT_FAILURE_RT : EXIT_USAGE;
	}
	if (warning[0])
		errorf("warning: %s: %s", argv[optind], warning);
	if (json)
		r = render_json(stdout, rep);
	else
		render_text(stdout, rep, &ro);
	if (fflush(stdout) || ferror(stdout))
		r = -EIO;
	report__free(rep);
	return r ? EXIT_FAILURE_RT : EXIT_OK;
}
