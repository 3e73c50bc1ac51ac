// SPDX-License-Identifier: LGPL-2.1-or-later
/* `rtprof top`'s drawing: a frame as plain lines, or in place on the terminal's screen. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "top.h"

const struct top_sort_key top_sort_keys[TOP_SORT_NR] = {
	[TOP_SORT_CPU] = { 'c', "cpu", "CPU%" },
	[TOP_SORT_RUNQ] = { 'r', "runq", "RUNQ%" },
	[TOP_SORT_SWITCHES] = { 's', "switches", "SW/s" },
	[TOP_SORT_TID] = { 't', "tid", "TID" },
};

int top_sort__from_key(int ch)
{
	for (size_t i = 0; i < TOP_SORT_NR; i++)
		if (ch == top_sort_keys[i].key || ch == top_sort_keys[i].key - 'a' + 'A')
			return (int)i;
	return -1;
}

const char *top_draw__rate(char *buf, size_t len, double v)
{
	if (v < 1000)
		snprintf(buf, len, "%.1f", v);
	else if (v < 1e6)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.2fM", v / 1e6);
	return buf;
}

static int cmp_tid(const struct top_row *x, const struct top_row *y)
{
	if (x->session != y->session)
		return x->session < y->session ? -1 : 1;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

static int cmp_double_desc(double x, double y)
{
	return (x < y) - (x > y);
}

static int cmp_row_cpu(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;

	return cmp_double_desc(x->cpu_pct, y->cpu_pct) ?: cmp_tid(x, y);
}

static int cmp_row_runq(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;

	return cmp_double_desc(x->runq_pct, y->runq_pct) ?: cmp_tid(x, y);
}

static int cmp_row_switches(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;

	return cmp_double_desc(x->vol_per_s + x->invol_per_s, y->vol_per_s + y->invol_per_s) ?: cmp_tid(x, y);
}

static int cmp_row_tid(const void *a, const void *b)
{
	return cmp_tid(a, b);
}

static int (*const row_cmp[])(const void *, const void *) = {
	[TOP_SORT_CPU] = cmp_row_cpu,
	[TOP_SORT_RUNQ] = cmp_row_runq,
	[TOP_SORT_SWITCHES] = cmp_row_switches,
	[TOP_SORT_TID] = cmp_row_tid,
};

/* The frame as plain lines; the terminal form adds escapes around them. */
static void draw_text(FILE *out, struct top_frame *f, const struct top_opts *o)
{
	char sw[24], vol[24], invol[24];

	if (f->n_rows > 1) /* qsort takes no NULL array, even empty */
		qsort(f->rows, f->n_rows, sizeof(*f->rows), row_cmp[o->sort]);
	fprintf(out, "rtprof top - %s  sessions %zu/%d  clients %d  every %g s  sort %s\n", f->when, f->n_sessions,
		f->sessions_total, f->clients, o->delay_s, top_sort_keys[o->sort].title);
	for (size_t i = 0; i < f->n_sessions; i++)
		fprintf(out, "%s\n", f->session_heads[i]);
	if (!f->n_sessions)
		fprintf(out, "no sessions: start one with 'rtprof attach PID' while rtprofd runs\n");
	fprintf(out, "\n%7s %7s %7s %1s %6s %6s %7s %7s %7s %s\n", "SESSION", "PID", "TID", "S", "CPU%", "RUNQ%", "SW/s",
		"VOL/s", "INV/s", "NAME");
	for (size_t i = 0; i < f->n_rows; i++) {
		const struct top_row *r = &f->rows[i];

		fprintf(out, "%7" PRId64 " %7d %7d %c %6.1f %6.1f %7s %7s %7s %s\n", r->session, r->pid, r->tid, r->state,
			r->cpu_pct, r->runq_pct, top_draw__rate(sw, sizeof(sw), r->vol_per_s + r->invol_per_s),
			top_draw__rate(vol, sizeof(vol), r->vol_per_s), top_draw__rate(invol, sizeof(invol), r->invol_per_s),
			r->name);
	}
}

int top_draw__frame(struct top_frame *f, const struct top_opts *o, const struct top_term *t)
{
	char *text = NULL, *line;
	size_t len = 0;
	FILE *mem;

	if (!t->screen) {
		draw_text(stdout, f, o);
		fputc('\n', stdout);
		return fflush(stdout) || ferror(stdout) ? -EIO : 0;
	}
	mem = open_memstream(&text, &len);
	if (!mem)
		return -ENOMEM;
	draw_text(mem, f, o);
	fclose(mem);
	/* in place from the top-left corner, each line cut to the width, as many as fit; erase what is left */
	fputs("\033[H", stdout);
	line = text;
	for (int row = 0; row < t->rows && line && *line; row++) {
		char *nl = strchr(line, '\n');
		int n = nl ? (int)(nl - line) : (int)strlen(line);

		if (row)
			fputs("\r\n", stdout);
		fprintf(stdout, "%.*s\033[K", n < t->cols ? n : t->cols, line);
		line = nl ? nl + 1 : NULL;
	}
	fputs("\033[J", stdout);
	free(text);
	return fflush(stdout) || ferror(stdout) ? -EIO : 0;
}
