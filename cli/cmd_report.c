// SPDX-License-Identifier: LGPL-2.1-or-later
/* Commands over recorded traces: `rtprof report`, and its --timeline of thread states. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "render.h"
#include "outfile.h"
#include "rtprof.h"
#include "trace/replay.h"
#include "trace/timeline.h"

#define TIMELINE_COLUMNS 100      /* default: about this many columns over the trace */
#define TIMELINE_MAX_COLUMNS 5000
#define TIMELINE_LABEL_MAX 32

static const char state_char[TSTATE_NR] = {
	[TSTATE_NONE] = ' ', [TSTATE_RUNNING] = '#', [TSTATE_RUNNABLE] = '+', [TSTATE_SLEEPING] = '.',
	[TSTATE_BLOCKED] = 'D',
};

/* The smallest 1, 2 or 5 x 10^k ns bucket that covers span in at most `columns` columns. */
static uint64_t nice_bucket(uint64_t span_ns, unsigned int columns)
{
	uint64_t want = (span_ns + columns - 1) / columns;

	for (uint64_t scale = 1000; scale < UINT64_MAX / 10; scale *= 10) {
		static const unsigned int steps[] = { 1, 2, 5 };

		for (size_t i = 0; i < 3; i++)
			if (steps[i] * scale >= want)
				return steps[i] * scale;
	}
	return want;
}

/* Axis labels: "0", "500us", "20ms", "1.5s". */
static void fmt_axis(char *buf, size_t len, uint64_t ns)
{
	if (!ns)
		snprintf(buf, len, "0");
	else if (ns < 1000000)
		snprintf(buf, len, "%gus", (double)ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, "%gms", (double)ns / 1e6);
	else
		snprintf(buf, len, "%gs", (double)ns / 1e9);
}

/* Each cell: the state the thread spent most of that bucket in, among the states it was alive in. */
static void timeline_row(const struct timeline *tl, const struct timeline_thread *th, uint64_t bucket_ns,
			 size_t ncols, uint64_t *acc, char *cells)
{
	memset(acc, 0, ncols * TSTATE_NR * sizeof(*acc));
	for (size_t i = 0; i < th->n_spans; i++) {
		uint64_t a = th->spans[i].start_ns - tl->start_ns, b = th->spans[i].end_ns - tl->start_ns;

		while (a < b) {
			uint64_t k = a / bucket_ns, edge = (k + 1) * bucket_ns, upto = b < edge ? b : edge;

			if (k >= ncols)
				break;
			acc[k * TSTATE_NR + th->spans[i].state] += upto - a;
			a = upto;
		}
	}
	for (size_t k = 0; k < ncols; k++) {
		int best = TSTATE_NONE;

		for (int st = TSTATE_RUNNING; st < TSTATE_NR; st++)
			if (acc[k * TSTATE_NR + st] > (best == TSTATE_NONE ? 0 : acc[k * TSTATE_NR + best]))
				best = st;
		cells[k] = state_char[best];
	}
	cells[ncols] = '\0';
}

static int print_timeline(FILE *out, const char *path, double resolution_ms)
{
	struct timeline *tl = NULL;
	uint64_t span, bucket_ns, *acc = NULL;
	char err[512], label[64], tick[32], *cells = NULL, *line = NULL;
	size_t ncols, width = 0;
	int r;

	r = timeline__load(path, NULL, &tl, err, sizeof(err));
	if (r) {
		errorf("%s", err);
		return r == -ENOMEM || r == -EIO ? EXIT_FAILURE_RT : EXIT_USAGE;
	}
	if (tl->warning[0])
		errorf("warning: %s: %s", path, tl->warning);
	if (tl->limits[0])
		errorf("warning: %s: %s", path, tl->limits);
	span = tl->end_ns - tl->start_ns;
	bucket_ns = resolution_ms > 0 ? (uint64_t)llround(resolution_ms * 1e6)
				      : nice_bucket(span ? span : 1, TIMELINE_COLUMNS);
	if (!bucket_ns)
		bucket_ns = 1;
	ncols = span ? (size_t)((span + bucket_ns - 1) / bucket_ns) : 1;
	if (ncols > TIMELINE_MAX_COLUMNS) {
		errorf("report: --resolution %g ms makes %zu columns over %.3f s; the most is %d", resolution_ms, ncols,
		       (double)span / 1e9, TIMELINE_MAX_COLUMNS);
		r = -EINVAL;
		goto cleanup;
	}
	for (size_t i = 0; i < tl->n_threads; i++) {
		size_t n = (size_t)snprintf(label, sizeof(label), "%s (%u)",
					    tl->threads[i].name[0] ? tl->threads[i].name : "?", tl->threads[i].tid);

		(void)text__printable(label, label, sizeof(label), false); /* a thread's name, from the file */

		if (n > width)
			width = n;
	}
	if (width > TIMELINE_LABEL_MAX)
		width = TIMELINE_LABEL_MAX;
	acc = calloc(ncols * TSTATE_NR, sizeof(*acc));
	cells = malloc(ncols + 1);
	line = malloc(ncols + 64);
	if (!acc || !cells || !line) {
		errorf("out of memory");
		r = -ENOMEM;
		goto cleanup;
	}
	fmt_axis(tick, sizeof(tick), bucket_ns);
	fprintf(out, "Thread states over %.3f s, %zu thread%s; one column = %s\n\n", (double)span / 1e9, tl->n_threads,
		tl->n_threads == 1 ? "" : "s", tick);
	/* the time axis: a label and a mark every 10 columns */
	memset(line, ' ', ncols + 63);
	line[ncols + 63] = '\0';
	for (size_t c = 0, free_from = 0; c < ncols; c += 10) {
		size_t n;

		fmt_axis(tick, sizeof(tick), c * bucket_ns);
		n = strlen(tick);
		if (c < free_from || c + n > ncols + 62)
			continue;
		memcpy(line + c, tick, n);
		free_from = c + n + 1;
	}
	for (size_t e = ncols + 63; e > 0 && line[e - 1] == ' ';)
		line[--e] = '\0';
	fprintf(out, "%*s  %s\n", (int)width, "", line);
	for (size_t c = 0; c < ncols; c++)
		line[c] = c % 10 ? '-' : '|';
	line[ncols] = '\0';
	fprintf(out, "%*s  %s\n", (int)width, "", line);
	for (size_t i = 0; i < tl->n_threads; i++) {
		const struct timeline_thread *th = &tl->threads[i];

		snprintf(label, sizeof(label), "%s (%u)", th->name[0] ? th->name : "?", th->tid);
		(void)text__printable(label, label, sizeof(label), false);
		timeline_row(tl, th, bucket_ns, ncols, acc, cells);
		fprintf(out, "%-*.*s |%s|\n", (int)width, (int)width, label, cells);
	}
	fprintf(out, "\nlegend: '#' running  '+' runnable  '.' sleeping  'D' blocked  ' ' not alive or unknown\n");
	if (tl->thread_drops || tl->proc_drops || tl->events_dropped)
		fprintf(out, "not drawn: %" PRIu64 " records of threads beyond the first %d, %" PRIu64 " of processes "
			"beyond the first %d, %" PRIu64 " scheduling events beyond the first %u (the timeline ends at the "
			"first of them)\n", tl->thread_drops, TRACE_MAX_THREADS, tl->proc_drops, TRACE_MAX_PROCS,
			tl->events_dropped, TIMELINE_MAX_EVENTS);
	r = 0;
cleanup:
	free(acc);
	free(cells);
	free(line);
	timeline__free(tl);
	if ((fflush(out) || ferror(out)) && !r)
		r = -EIO;
	return r == -EINVAL ? EXIT_USAGE : r ? EXIT_FAILURE_RT : EXIT_OK;
}

static void report_help(FILE *out)
{
	fprintf(out,
		"Usage: rtprof report [--json] [--top N] [--per-thread] FILE.rtprof.gz\n"
		"       rtprof report --timeline [--resolution MS] FILE.rtprof.gz\n"
		"\n"
		"Print the report of a recorded trace: the same tables and JSON keys as a live session, computed from\n"
		"the trace's records. A trace that was cut short or damaged gives the report of what could be read,\n"
		"with a warning.\n"
		"\n"
		"  -j, --json             print the report as one JSON object\n"
		"      --top N            syscall rows in the table (default 15; 0 = all)\n"
		"      --per-thread       each thread's syscalls too (JSON: thread_syscalls)\n"
		"      --timeline         instead of the report, each thread's states over time: one row per\n"
		"                         thread, a column per time bucket, the state it spent most of it in:\n"
		"                         '#' running, '+' runnable, '.' sleeping, 'D' blocked, ' ' not alive\n"
		"      --resolution MS    width of a column in milliseconds (default: about 100 columns)\n");
}

int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "top", required_argument, NULL, 't' },
		{ "timeline", no_argument, NULL, 'T' },
		{ "resolution", required_argument, NULL, 'R' },
		{ "per-thread", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct render_opts ro = { .top_syscalls = 15 };
	struct rtp_report *rep = NULL;
	char err[512], warning[256];
	bool json = false, timeline = false, per_thread = false;
	double resolution_ms = 0;
	unsigned long long n;
	int c, r;

	/* options may follow the file: `rtprof report FILE --timeline` */
	while ((c = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 't':
			if (parse_count(optarg, RTP_MAX_TOP, &n)) {
				errorf("report: invalid --top '%s': expected a number of rows >= 0 (0 = all)", optarg);
				return EXIT_USAGE;
			}
			ro.top_syscalls = (int)n;
			break;
		case 'P':
			per_thread = true;
			break;
		case 'T':
			timeline = true;
			break;
		case 'R':
			if (parse_seconds(optarg, &resolution_ms) || !(resolution_ms > 0) || resolution_ms > 3.6e6) {
				errorf("report: invalid --resolution '%s': expected milliseconds > 0", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			report_help(stdout);
			return EXIT_OK;
		default:
			usage_hint("report");
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		errorf("report: give one trace file; usage: rtprof report [--json] FILE.rtprof.gz");
		return EXIT_USAGE;
	}
	if (resolution_ms > 0 && !timeline) {
		errorf("report: --resolution goes with --timeline");
		return EXIT_USAGE;
	}
	if (timeline && json) {
		errorf("report: --timeline draws text; it does not combine with --json");
		return EXIT_USAGE;
	}
	if (outfile__check_stdout(timeline ? "the timeline" : "the report"))
		return EXIT_USAGE;
	if (timeline)
		return print_timeline(stdout, argv[optind], resolution_ms);
	r = report__from_trace_opts(argv[optind], per_thread ? REPORT_TRACE_PER_THREAD : 0, &rep, warning,
				    sizeof(warning), err, sizeof(err));
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
