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

/* On the screen, the thread table keeps at least this many rows (or all its threads, when fewer) in view
 * under the sessions' function blocks. */
#define TOP_THREADS_KEPT 5

/* How many functions each session's block lists: TOP_FUNCS_MAX in plain frames; on the screen as many as
 * fit (at most TOP_FUNCS_MAX) with the first TOP_THREADS_KEPT rows of the thread table still in view, and 0
 * (no block at all) when not even one does. */
static size_t funcs_per_block(const struct top_frame *f, const struct top_term *t)
{
	int lines = f->n_sessions ? 3 : 4; /* summary, blank and the table's header; "no sessions" */
	int blocks = 0, spare;

	if (!t->screen)
		return TOP_FUNCS_MAX;
	for (size_t i = 0; i < f->n_sessions; i++) {
		lines++;
		for (const char *c = f->session_heads[i]; *c; c++)
			lines += *c == '\n';
		blocks += f->funcs[i].stacks;
	}
	if (!blocks)
		return 0;
	lines += f->n_rows < TOP_THREADS_KEPT ? (int)f->n_rows : TOP_THREADS_KEPT;
	spare = (t->rows - lines) / blocks - 2; /* a block's title and column header */
	return spare <= 0 ? 0 : spare < TOP_FUNCS_MAX ? (size_t)spare : TOP_FUNCS_MAX;
}

/* "file:line" in at most width bytes (0: any): a long path loses its beginning, so that the file's name
 * and the line stay in view. */
static const char *func_where(char *buf, size_t len, const struct top_func *fn, int width)
{
	const char *file = fn->file;
	char line[16] = ""; /* none when the line is not known (native code) */
	int tail = fn->firstline > 0 ? snprintf(line, sizeof(line), ":%d", fn->firstline) : 0;

	if (width > 0 && (int)strlen(file) + tail > width && width - tail > 3 + 8) {
		file += strlen(file) - (size_t)(width - tail - 3);
		while ((*file & 0xc0) == 0x80) /* not in the middle of a UTF-8 sequence */
			file++;
		snprintf(buf, len, "...%s%s", file, line);
	} else {
		snprintf(buf, len, "%s%s", file, line);
	}
	return buf;
}

/* A session's top functions on CPU over the interval, up to max of them, each line within width bytes
 * when it can (0: any). */
static void draw_funcs(FILE *out, const struct top_funcs *fs, size_t max, int width)
{
	char where[sizeof(fs->top[0].file) + 16];
	int name_w = 8; /* "function" */

	if (!fs->samples) {
		fprintf(out, "  Top functions on CPU: no samples in the interval%s%s%s\n", fs->why_none[0] ? " (" : "",
			fs->why_none, fs->why_none[0] ? ")" : "");
		return;
	}
	fprintf(out, "  Top functions on CPU (%" PRIu64 " samples at %u Hz)\n", fs->samples, fs->sample_hz);
	/* the names of functions with a file make a column; a marker's has nothing after it */
	for (size_t i = 0; i < fs->n && i < max; i++) {
		int w = (int)strlen(fs->top[i].name);

		if (fs->top[i].file[0] && w > name_w)
			name_w = w;
	}
	/* at most 40 wide, and on a narrow screen half of what follows the percentages: the rest for file:line */
	name_w = name_w < 40 ? name_w : 40;
	if (width > 0 && name_w > 8 && name_w > (width - 20) / 2)
		name_w = (width - 20) / 2 > 8 ? (width - 20) / 2 : 8;
	fprintf(out, "    %6s %6s  %-*s %s\n", "self", "total", name_w, "function", "file:line");
	for (size_t i = 0; i < fs->n && i < max; i++) {
		const struct top_func *fn = &fs->top[i];
		/* the line up to the file: 4 + 6 + 1 + 6 + 2, the name and a blank */
		int used = 20 + ((int)strlen(fn->name) > name_w ? (int)strlen(fn->name) : name_w);

		if (!fn->file[0]) /* a marker: <kernel>, no Python frame... */
			fprintf(out, "    %5.1f%% %5.1f%%  %s\n", fn->self_pct, fn->total_pct, fn->name);
		else
			fprintf(out, "    %5.1f%% %5.1f%%  %-*s %s\n", fn->self_pct, fn->total_pct, name_w, fn->name,
				func_where(where, sizeof(where), fn, width > 0 ? width - used : 0));
	}
}

size_t top_draw__listed(const struct top_frame *f, const struct top_opts *o, size_t *idx)
{
	size_t n = 0;

	for (size_t i = 0; i < f->n_sessions; i++) {
		const char *head = f->session_heads[i], *nl = strchr(head, '\n');
		char first[sizeof(f->session_heads[0])];

		snprintf(first, sizeof(first), "%.*s", nl ? (int)(nl - head) : (int)strlen(head), head);
		if ((o->show_exited || f->session_live[i]) && (!o->filter[0] || strstr(first, o->filter)))
			idx[n++] = i;
	}
	return n;
}

/* Whether every session's head, with no function block, and the first rows of the thread table fit on the
 * screen. */
static bool heads_fit(const struct top_frame *f, const struct top_term *t)
{
	int lines = 3 + (f->n_rows < TOP_THREADS_KEPT ? (int)f->n_rows : TOP_THREADS_KEPT);

	for (size_t i = 0; i < f->n_sessions; i++) {
		lines++;
		for (const char *c = f->session_heads[i]; *c; c++)
			lines += *c == '\n';
	}
	return lines <= t->rows;
}

/* Many sessions on a screen: a line each (the selected one marked), the selected one's head and functions,
 * and its threads only. Returns the session whose threads the table shows, -1 for none. */
static int64_t draw_list(FILE *out, struct top_frame *f, const struct top_opts *o, const struct top_term *t)
{
	size_t *idx = calloc(f->n_sessions ? f->n_sessions : 1, sizeof(*idx)), n, sel = 0, first = 0, rows_for_list;
	int head_lines = 0, funcs_room;
	const char *rest = "";

	if (!idx)
		return -1;
	n = top_draw__listed(f, o, idx);
	for (size_t k = 0; k < n; k++)
		if (f->session_ids[idx[k]] == o->selected)
			sel = k;
	fprintf(out, "%zu of %zu sessions listed%s%s%s (j/k: select, x: %s exited, /: filter%s)\n", n, f->n_sessions,
		o->filter[0] || o->filtering ? ", filter '" : "", o->filter, o->filter[0] || o->filtering ? "'" : "",
		o->show_exited ? "hide" : "show", o->filtering ? ", Enter: done" : "");
	if (n) {
		rest = strchr(f->session_heads[idx[sel]], '\n');
		rest = rest ? rest + 1 : "";
		head_lines = 1;
		for (const char *c = rest; *c; c++)
			head_lines += *c == '\n';
	}
	/* header, hint, the selected one's head lines, blank, the table's header and its rows (at most the kept
	 * ones); then its function block (title, header and up to TOP_FUNCS_MAX lines); the list has the rest */
	{
		size_t threads = 0;

		for (size_t i = 0; n && i < f->n_rows; i++)
			threads += f->rows[i].session == f->session_ids[idx[sel]];
		funcs_room = t->rows - 2 - head_lines - 2 - (threads < TOP_THREADS_KEPT ? (int)threads : TOP_THREADS_KEPT);
	}
	rows_for_list = funcs_room - (n && f->funcs[idx[sel]].stacks ? 2 + TOP_FUNCS_MAX : 0) > 3
				? (size_t)(funcs_room - (n && f->funcs[idx[sel]].stacks ? 2 + TOP_FUNCS_MAX : 0))
				: 3;
	if (n > rows_for_list && sel >= rows_for_list / 2)
		first = sel - rows_for_list / 2 + rows_for_list > n ? n - rows_for_list : sel - rows_for_list / 2;
	for (size_t k = first; k < n && k < first + rows_for_list; k++) {
		const char *head = f->session_heads[idx[k]], *nl = strchr(head, '\n');

		fprintf(out, "%s%.*s\n", k == sel ? "> " : "  ", nl ? (int)(nl - head) : (int)strlen(head), head);
	}
	if (n) {
		const struct top_funcs *fs = &f->funcs[idx[sel]];
		int left = funcs_room - (int)(n < rows_for_list ? n : rows_for_list) - 2 - 1;

		fprintf(out, "%s\n", rest);
		if (fs->stacks && left > 0)
			draw_funcs(out, fs, left < TOP_FUNCS_MAX ? (size_t)left : TOP_FUNCS_MAX, t->cols);
	} else {
		fprintf(out, "no session listed: x shows the exited ones, / changes the filter\n");
	}
	{
		int64_t shown = n ? f->session_ids[idx[sel]] : -1;

		free(idx);
		return shown;
	}
}

/* The frame as plain lines; the terminal form adds escapes around them and cuts them to its size. */
static void draw_text(FILE *out, struct top_frame *f, const struct top_opts *o, const struct top_term *t)
{
	size_t funcs = funcs_per_block(f, t);
	char sw[24], vol[24], invol[24];
	bool list = t->screen && f->n_sessions > 1 && (o->filter[0] || o->filtering || !heads_fit(f, t));
	int64_t only = -1;

	if (f->n_rows > 1) /* qsort takes no NULL array, even empty */
		qsort(f->rows, f->n_rows, sizeof(*f->rows), row_cmp[o->sort]);
	fprintf(out, "rtprof top - %s  sessions %zu/%d  clients %d  every %g s  sort %s\n", f->when, f->n_sessions,
		f->sessions_total, f->clients, o->delay_s, top_sort_keys[o->sort].title);
	if (list) {
		only = draw_list(out, f, o, t);
	} else {
		for (size_t i = 0; i < f->n_sessions; i++) {
			fprintf(out, "%s\n", f->session_heads[i]);
			if (f->funcs[i].stacks && funcs)
				draw_funcs(out, &f->funcs[i], funcs, t->screen ? t->cols : 0);
		}
	}
	if (!f->n_sessions)
		fprintf(out, "no sessions: start one with 'rtprof attach PID' while rtprofd runs\n");
	fprintf(out, "\n%7s %7s %7s %1s %6s %6s %7s %7s %7s %s\n", "SESSION", "PID", "TID", "S", "CPU%", "RUNQ%", "SW/s",
		"VOL/s", "INV/s", "NAME");
	for (size_t i = 0; i < f->n_rows; i++) {
		const struct top_row *r = &f->rows[i];

		if (list && r->session != only)
			continue;
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
		draw_text(stdout, f, o, t);
		fputc('\n', stdout);
		return fflush(stdout) || ferror(stdout) ? -EIO : 0;
	}
	mem = open_memstream(&text, &len);
	if (!mem)
		return -ENOMEM;
	draw_text(mem, f, o, t);
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
