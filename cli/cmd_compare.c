// SPDX-License-Identifier: LGPL-2.1-or-later
/* `rtprof compare A B [C...]`: reports side by side -- of traces, or of reports saved with --json --
 * with each figure's ratio to the first input. The table people quote when the same program runs in
 * Python and in Node. Output: docs/export.md. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <json-c/json.h>

#include "base/text.h"
#include "compare.h"
#include "base/vec.h"
#include "outfile.h"
#include "render.h"
#include "model/profiles.h"
#include "model/report.h"
#include "model/report_fields.h"
#include "rtprof.h"
#include "trace/replay.h"
#include "trace/trace.h"

#define MAX_INPUTS COMPARE_MAX_INPUTS
/* What the inputs may hold together: two traces' worth (a report holds TRACE_MAX_THREADS, TRACE_MAX_PROCS) */
#define COMPARE_MAX_THREADS (2 * TRACE_MAX_THREADS)
#define COMPARE_MAX_PROCS (2 * TRACE_MAX_PROCS)
#define MAX_REPORT_JSON (256u << 20)  /* a saved report is far smaller; this only bounds a wrong file */

#define input compare_input

/* One row of the syscall table: a syscall in the top of any input. */
struct sys_row {
	char name[32];
	uint64_t count[MAX_INPUTS];
	uint64_t total_ns[MAX_INPUTS];
	uint64_t max_total;
};

/* Scheduling totals over every thread of an input: its thread count, then each thread figure of the
 * report's field table that has a title, in the table's order. */
#define MAX_SCHED_FIGURES 32
struct sched_totals {
	uint64_t threads;
	uint64_t sum[MAX_SCHED_FIGURES]; /* by the field's index in report_thread_fields */
};

static bool sched_figure(const struct rtp_field *f)
{
	return f->title && f->kind == RTP_FIELD_U64;
}

/* ---- reading the inputs ---- */

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!strchr(" \t\r\n", s[i]) || !s[i])
			return false;
	return true;
}

int compare__read_report(const char *path, struct rtp_report **out, char *err, size_t errlen)
{
	enum json_tokener_error jerr;
	json_tokener *tok = NULL;
	json_object *root = NULL, *v;
	char *text = NULL;
	size_t len = 0, cap = 0;
	gzFile f;
	int r = 0;

	/* zlib reads a plain file as it is, and a report saved as FILE.json.gz decompressed */
	f = gzopen(path, "rb");
	if (!f) {
		r = -(errno ?: ENOMEM);
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(-r));
		return r;
	}
	for (;;) {
		size_t n;

		if (len == cap) {
			char *t;

			cap = cap ? cap * 2 : 1 << 16;
			if (cap > MAX_REPORT_JSON) {
				r = -EFBIG;
				snprintf(err, errlen, "%s: larger than any report; not a report saved with --json", path);
				goto cleanup;
			}
			t = realloc(text, cap);
			if (!t) {
				r = -ENOMEM;
				snprintf(err, errlen, "out of memory");
				goto cleanup;
			}
			text = t;
		}
		n = (size_t)gzread(f, text + len, (unsigned int)(cap - len));
		if ((int)n < 0) {
			r = -EIO;
			snprintf(err, errlen, "reading %s: %s", path, gzerror(f, NULL));
			goto cleanup;
		}
		len += n;
		if (n == 0)
			break;
	}
	if (blank(text, len)) {
		r = -EINVAL;
		snprintf(err, errlen, "%s is empty: neither a trace (.rtprof.gz) nor a report saved with --json", path);
		goto cleanup;
	}
	tok = json_tokener_new();
	if (!tok) {
		r = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	root = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	/* the tokener stops after the first value: what follows must be blank */
	if (!root || jerr != json_tokener_success || !blank(text + json_tokener_get_parse_end(tok),
							    len - json_tokener_get_parse_end(tok))) {
		r = -EINVAL;
		snprintf(err, errlen, "%s is neither a trace (.rtprof.gz) nor a report saved with --json: %s", path,
			 jerr == json_tokener_continue ? "its JSON ends before its first value does"
			 : jerr != json_tokener_success ? json_tokener_error_desc(jerr)
							: "more follows its first JSON value");
		goto cleanup;
	}
	if (!json_object_is_type(root, json_type_object) || !json_object_object_get_ex(root, "process", &v) ||
	    !json_object_object_get_ex(root, "syscalls", &v)) {
		r = -EINVAL;
		snprintf(err, errlen, "%s is JSON but not an rtprof report (no \"process\" and \"syscalls\" keys)", path);
		goto cleanup;
	}
	r = report__from_json(root, out);
	if (r)
		snprintf(err, errlen, "%s: %s", path, r == -ENOMEM ? "out of memory" : "not an rtprof report");
cleanup:
	if (tok)
		json_tokener_free(tok);
	json_object_put(root);
	free(text);
	gzclose(f);
	return r;
}

/* A gzip file is a report saved as FILE.json.gz when what it holds starts as JSON; else a trace. */
static bool gz_is_trace(const char *path)
{
	gzFile gz = gzopen(path, "rb");
	char head[4];
	int n;

	if (!gz)
		return true; /* the trace reader says why */
	n = gzread(gz, head, sizeof(head));
	gzclose(gz);
	/* what is not JSON's start is for the trace reader to judge (a cut or damaged trace says so) */
	return n < 1 || !(head[0] == '{' || head[0] == ' ' || head[0] == '\n' || head[0] == '\t' || head[0] == '\r');
}

static int load_input(struct input *in, char *err, size_t errlen)
{
	unsigned char magic[2] = {};
	char warning[256], *copy;
	FILE *f;
	size_t n;
	int r;

	copy = strdup(in->path);
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(in->base, sizeof(in->base), "%s", basename(copy));
	free(copy);
	f = fopen(in->path, "re");
	if (!f) {
		r = -errno;
		snprintf(err, errlen, "cannot open %s: %s", in->path, strerror(errno));
		return r;
	}
	n = fread(magic, 1, sizeof(magic), f);
	fclose(f);
	if (n == 2 && magic[0] == 0x1f && magic[1] == 0x8b && gz_is_trace(in->path)) {
		in->kind = "trace";
		r = report__from_trace(in->path, &in->rep, warning, sizeof(warning), err, errlen);
		if (!r && warning[0])
			errorf("warning: %s: %s", in->path, warning);
		return r;
	}
	in->kind = "report";
	return compare__read_report(in->path, &in->rep, err, errlen);
}

/* ---- the comparison ---- */

static struct sched_totals sched_of(const struct rtp_report *r)
{
	struct sched_totals t = { .threads = r->n_threads };

	for (size_t i = 0; i < r->n_threads; i++)
		for (size_t m = 0; m < report_thread_fields.n && m < MAX_SCHED_FIGURES; m++)
			if (sched_figure(&report_thread_fields.f[m]))
				t.sum[m] += fields__u64(&report_thread_fields.f[m], &r->threads[i]);
	return t;
}

static double cpu_s(const struct rtp_report *r)
{
	return r->process.cpu_user_s + r->process.cpu_sys_s;
}

static const struct rtp_report_syscall *find_syscall(const struct rtp_report *r, const char *name)
{
	for (size_t i = 0; i < r->n_syscalls; i++)
		if (!strcmp(r->syscalls[i].name, name))
			return &r->syscalls[i];
	return NULL;
}

static int cmp_by_total(const void *x, const void *y)
{
	const struct rtp_report_syscall *a = *(const struct rtp_report_syscall *const *)x;
	const struct rtp_report_syscall *b = *(const struct rtp_report_syscall *const *)y;

	if (a->total_ns != b->total_ns)
		return a->total_ns < b->total_ns ? 1 : -1;
	return strcmp(a->name, b->name);
}

static int cmp_row(const void *x, const void *y)
{
	const struct sys_row *a = x, *b = y;

	if (a->max_total != b->max_total)
		return a->max_total < b->max_total ? 1 : -1;
	return strcmp(a->name, b->name);
}

/* The union of every input's top syscalls by total time, taken in turns (each input's first, then each
 * one's second...) so that no input's heaviest calls are crowded out; at most `top` rows (0: all). */
static int syscall_rows(const struct input *in, size_t n, size_t top, struct sys_row **out, size_t *n_out)
{
	const struct rtp_report_syscall **sorted[MAX_INPUTS] = {};
	struct sys_row *rows = NULL;
	size_t n_rows = 0, cap = 0, longest = 0;
	int r = 0;

	for (size_t i = 0; i < n; i++) {
		size_t k = in[i].rep->n_syscalls;

		sorted[i] = calloc(k ? k : 1, sizeof(*sorted[i]));
		if (!sorted[i]) {
			r = -ENOMEM;
			goto cleanup;
		}
		for (size_t j = 0; j < k; j++)
			sorted[i][j] = &in[i].rep->syscalls[j];
		if (k > 1)
			qsort(sorted[i], k, sizeof(*sorted[i]), cmp_by_total);
		if (k > longest)
			longest = k;
	}
	for (size_t rank = 0; rank < longest && (!top || n_rows < top); rank++) {
		for (size_t i = 0; i < n && (!top || n_rows < top); i++) {
			const struct rtp_report_syscall *s;
			bool have = false;

			if (rank >= in[i].rep->n_syscalls)
				continue;
			s = sorted[i][rank];
			for (size_t j = 0; j < n_rows && !have; j++)
				have = !strcmp(rows[j].name, s->name);
			if (have)
				continue;
			if (vec__grow(&rows, &cap, n_rows)) {
				r = -ENOMEM;
				goto cleanup;
			}
			memset(&rows[n_rows], 0, sizeof(rows[0]));
			snprintf(rows[n_rows].name, sizeof(rows[n_rows].name), "%s", s->name);
			n_rows++;
		}
	}
	for (size_t j = 0; j < n_rows; j++) {
		for (size_t i = 0; i < n; i++) {
			const struct rtp_report_syscall *s = find_syscall(in[i].rep, rows[j].name);

			if (!s)
				continue;
			rows[j].count[i] = s->count;
			rows[j].total_ns[i] = s->total_ns;
			if (s->total_ns > rows[j].max_total)
				rows[j].max_total = s->total_ns;
		}
	}
	if (n_rows > 1)
		qsort(rows, n_rows, sizeof(*rows), cmp_row);
	*out = rows;
	*n_out = n_rows;
	rows = NULL;
cleanup:
	for (size_t i = 0; i < n; i++)
		free(sorted[i]);
	free(rows);
	return r;
}

/* "2.37x"; "-" when both are 0; "n/a" when only the reference is. */
static const char *fmt_ratio(char *buf, size_t len, double value, double ref)
{
	if (ref > 0)
		snprintf(buf, len, value / ref >= 100 ? "%.0fx" : "%.2fx", value / ref);
	else
		snprintf(buf, len, "%s", value > 0 ? "n/a" : "-");
	return buf;
}

static const char *fmt_load(char *buf, size_t len, const struct rtp_report *r)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int c = 0; c < r->process.ncpus && off + 8 < len; c++)
		off += (size_t)snprintf(buf + off, len - off, "%s%.0f%%", c ? " " : "", r->process.cpu_load_pct[c]);
	if (!r->process.ncpus)
		snprintf(buf, len, "-");
	return buf;
}

static void print_details(FILE *out, const struct input *in, size_t n, const struct sys_row *rows, size_t n_rows,
			  size_t top);

/* A table's heads: a column an input, and its ratio to the first. */
static void column_heads(FILE *out, const struct input *in, size_t n)
{
	fprintf(out, "  %-20s", "");
	for (size_t i = 0; i < n; i++) {
		char ratio[16];

		fprintf(out, "  %12s", in[i].label);
		if (i) {
			snprintf(ratio, sizeof(ratio), "%s/%s", in[i].label, in[0].label);
			fprintf(out, " %9s", ratio);
		}
	}
	fputc('\n', out);
}

/* A function's label: its name, and its file's base name and first line when it has a file. */
static const char *func_label(const struct rtp_prof_func *f, char *buf, size_t len)
{
	char name[96], file[96];
	const char *base = strrchr(f->file, '/') ? strrchr(f->file, '/') + 1 : f->file;

	text__printable(f->name, name, sizeof(name), false);
	text__printable(base, file, sizeof(file), false);
	if (f->file[0] && f->firstline > 0)
		snprintf(buf, len, "%s (%s:%d)", name, file, f->firstline);
	else if (f->file[0])
		snprintf(buf, len, "%s (%s)", name, file);
	else
		snprintf(buf, len, "%s", name);
	return buf;
}

/* With stacks (--stacks): each input's first functions on CPU by self time, and the functions that several
 * inputs share (by name and file name) side by side: where the time moved. */
static void print_top_functions(FILE *out, const struct input *in, size_t n)
{
	struct rtp_prof_top *top[MAX_INPUTS] = { 0 };
	size_t ntop[MAX_INPUTS] = { 0 };
	uint64_t total[MAX_INPUTS] = { 0 };
	bool any = false, header = false;
	char label[256], other[256];

	for (size_t i = 0; i < n; i++) {
		const struct rtp_profiles *p = in[i].rep->profiles;

		if (!p || profiles__top(p, RTP_PROF_CPU, &top[i], &ntop[i]))
			continue;
		for (size_t r = 0; r < p->n_rows; r++)
			if (p->rows[r].kind == RTP_PROF_CPU)
				total[i] += p->rows[r].samples;
		any |= total[i] > 0;
	}
	if (!any)
		goto out;
	fprintf(out, "\nTop functions on CPU (each input's first 5 by self time, %% of its samples)\n");
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < ntop[i] && k < 5 && total[i] && top[i][k].self; k++)
			fprintf(out, "  %-3s %6.1f%%  %s\n", k ? "" : in[i].label, 100.0 * (double)top[i][k].self / (double)total[i],
				func_label(&in[i].rep->profiles->funcs[top[i][k].func], label, sizeof(label)));
		if (!total[i])
			fprintf(out, "  %-3s (no stacks)\n", in[i].label);
	}
	/* functions of A's first 10 that other inputs have too: their self shares side by side */
	for (size_t k = 0; total[0] && k < ntop[0] && k < 10; k++) {
		const struct rtp_prof_func *f = &in[0].rep->profiles->funcs[top[0][k].func];
		double share[MAX_INPUTS];
		bool shared = false;

		if (!f->file[0] || !top[0][k].self)
			continue; /* markers (<kernel>, <native: ...>) are everyone's */
		func_label(f, label, sizeof(label));
		share[0] = 100.0 * (double)top[0][k].self / (double)total[0];
		for (size_t i = 1; i < n; i++) {
			share[i] = -1;
			for (size_t j = 0; total[i] && j < ntop[i]; j++)
				if (!strcmp(func_label(&in[i].rep->profiles->funcs[top[i][j].func], other, sizeof(other)), label)) {
					share[i] = 100.0 * (double)top[i][j].self / (double)total[i];
					shared = true;
					break;
				}
		}
		if (!shared)
			continue;
		if (!header) {
			fprintf(out, "  shared with %s, self %% of each input's samples:\n", in[0].label);
			header = true;
		}
		fprintf(out, "    %-48.48s", label);
		for (size_t i = 0; i < n; i++)
			if (share[i] >= 0)
				fprintf(out, "  %s %5.1f%%", in[i].label, share[i]);
			else
				fprintf(out, "  %s     -", in[i].label);
		fputc('\n', out);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(top[i]);
}

/* The runtimes' figures of each input, all its python or node processes together: GIL waits, collections,
 * the event loop's utilisation. */
enum { RT_GIL_WAIT, RT_GC_COUNT, RT_GC_TIME, RT_LOOP_BUSY, RT_LOOP_IDLE, RT_FIGURES };
static const char *const rt_figure_names[RT_FIGURES] = { "GIL wait", "GC collections", "GC time", "loop busy",
							 "loop idle" };

static uint64_t rt_figure(const struct rtp_report_runtime *r, int fig)
{
	uint64_t v = 0;

	switch (fig) {
	case RT_GIL_WAIT: return r->gil_wait_ns;
	case RT_LOOP_BUSY: return r->loop_busy_ns;
	case RT_LOOP_IDLE: return r->loop_idle_ns;
	default:
		for (unsigned int k = 0; k < RTP_RT_GC_KINDS; k++)
			v += fig == RT_GC_COUNT ? r->gc[k].count : r->gc[k].total_ns;
		return v;
	}
}

static void print_runtime(FILE *out, const struct input *in, size_t n)
{
	bool any = false;
	char a[32], b[32];

	for (size_t i = 0; i < n; i++)
		any |= in[i].rep->n_runtimes > 0;
	if (!any)
		return;
	fprintf(out, "\nRuntime (python and node processes together; ratio to %s)\n", in[0].label);
	column_heads(out, in, n);
	for (int fig = 0; fig < RT_FIGURES; fig++) {
		uint64_t v[MAX_INPUTS] = { 0 };

		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < in[i].rep->n_runtimes; j++)
				v[i] += rt_figure(&in[i].rep->runtimes[j], fig);
		fprintf(out, "  %-20s", rt_figure_names[fig]);
		for (size_t i = 0; i < n; i++) {
			if (fig == RT_GC_COUNT)
				fprintf(out, "  %12" PRIu64, v[i]);
			else
				fprintf(out, "  %12s", fmt_ns(a, sizeof(a), v[i]));
			if (i)
				fprintf(out, " %9s", fmt_ratio(b, sizeof(b), (double)v[i], (double)v[0]));
		}
		fputc('\n', out);
	}
}

static void print_text(FILE *out, const struct input *in, size_t n, const struct sys_row *rows, size_t n_rows,
		       size_t top)
{
	char load[256], who[MAX_INPUTS][96], rt[MAX_INPUTS][64];
	int wbase = 4, wwho = 6, wrt = 7;

	for (size_t i = 0; i < n; i++) {
		const struct rtp_report_target *t = in[i].rep->n_targets ? &in[i].rep->targets[0] : NULL;
		int k;

		if (t)
			k = snprintf(who[i], sizeof(who[i]), "%s (pid %d)", t->comm, t->pid);
		else
			k = snprintf(who[i], sizeof(who[i]), "-");
		(void)text__printable(who[i], who[i], sizeof(who[i]), false); /* names from the inputs */
		if (k > wwho)
			wwho = k;
		if (t && t->runtime.kind != RTP_RUNTIME_OTHER)
			k = snprintf(rt[i], sizeof(rt[i]), "%s %s", runtime__kind_name(t->runtime.kind),
				     t->runtime.version[0] ? t->runtime.version : "(version unknown)");
		else
			k = snprintf(rt[i], sizeof(rt[i]), "other");
		(void)text__printable(rt[i], rt[i], sizeof(rt[i]), false);
		if (k > wrt)
			wrt = k;
		k = (int)strlen(in[i].base);
		if (k > wbase)
			wbase = k;
	}
	fprintf(out, "%-7s  %-*s  %-6s  %-*s  %-*s  %s\n", "Inputs", wbase, "file", "kind", wwho, "target", wrt, "runtime",
		"mode");
	for (size_t i = 0; i < n; i++) {
		const struct rtp_report *r = in[i].rep;

		fprintf(out, "  %-5s  %-*s  %-6s  %-*s  %-*s  %s%s\n", in[i].label, wbase, in[i].base, in[i].kind, wwho,
			who[i], wrt, rt[i], r->mode ? r->mode : "-",
			r->n_targets > 1 ? " (and the processes it forked)" : "");
	}

	/* the classic columns, one row per input, then each one's ratios to A */
	fprintf(out, "\nProcess\n");
	fprintf(out, "  %-6s %10s %12s %10s   %s\n", "", "secs", "mem KB", "cpu secs", "cpu load (per CPU)");
	for (size_t i = 0; i < n; i++) {
		const struct rtp_report *r = in[i].rep;

		fprintf(out, "  %-6s %10.3f %12ld %10.3f   %s\n", in[i].label, r->process.wall_s, r->process.max_rss_kb,
			cpu_s(r), fmt_load(load, sizeof(load), r));
	}
	for (size_t i = 1; i < n; i++) {
		const struct rtp_report *r = in[i].rep, *r0 = in[0].rep;
		char lbl[8], c1[32], c2[32], c3[32];

		snprintf(lbl, sizeof(lbl), "%s/%s", in[i].label, in[0].label);
		fprintf(out, "  %-6s %10s %12s %10s\n", lbl,
			fmt_ratio(c1, sizeof(c1), r->process.wall_s, r0->process.wall_s),
			fmt_ratio(c2, sizeof(c2), (double)r->process.max_rss_kb, (double)r0->process.max_rss_kb),
			fmt_ratio(c3, sizeof(c3), cpu_s(r), cpu_s(r0)));
	}

	print_details(out, in, n, rows, n_rows, top);
}

/* Where the difference comes from: syscalls, scheduling, runtime. */
static void print_details(FILE *out, const struct input *in, size_t n, const struct sys_row *rows, size_t n_rows,
			  size_t top)
{
	char a[32], b[32];
	struct sched_totals st[MAX_INPUTS];

	for (size_t i = 0; i < n; i++)
		st[i] = sched_of(in[i].rep);
	/* syscalls: count and total for each input, the total's ratio to A */
	fprintf(out, "\nSyscalls (the top %zu by total time of any input; time ratio to %s)\n", top ? top : n_rows,
		in[0].label);
	fprintf(out, "  %-20s", "");
	for (size_t i = 0; i < n; i++) {
		int w = i ? 33 : 23;
		char head[8];

		snprintf(head, sizeof(head), " %s ", in[i].label);
		/* a centred " X " in a rule as wide as the input's columns */
		fprintf(out, "  ");
		for (int k = 0; k < w; k++)
			fputc(k >= (w - 3) / 2 && k < (w - 3) / 2 + 3 ? head[k - (w - 3) / 2] : '-', out);
	}
	fprintf(out, "\n  %-20s", "syscall");
	for (size_t i = 0; i < n; i++) {
		char ratio[16];

		fprintf(out, "  %10s %12s", "count", "total");
		if (i) {
			snprintf(ratio, sizeof(ratio), "%s/%s", in[i].label, in[0].label);
			fprintf(out, " %9s", ratio);
		}
	}
	fputc('\n', out);
	for (size_t j = 0; j < n_rows; j++) {
		fprintf(out, "  %-20s", rows[j].name);
		for (size_t i = 0; i < n; i++) {
			fprintf(out, "  %10" PRIu64 " %12s", rows[j].count[i], fmt_ns(a, sizeof(a), rows[j].total_ns[i]));
			if (i)
				fprintf(out, " %9s",
					fmt_ratio(b, sizeof(b), (double)rows[j].total_ns[i], (double)rows[j].total_ns[0]));
		}
		fputc('\n', out);
	}
	if (!n_rows)
		fprintf(out, "  (no syscalls)\n");

	/* scheduling: a row per figure, a column per input */
	fprintf(out, "\nScheduling (all threads of the targets; ratio to %s)\n", in[0].label);
	column_heads(out, in, n);
	fprintf(out, "  %-20s", "threads");
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "  %12" PRIu64, st[i].threads);
		if (i)
			fprintf(out, " %9s", fmt_ratio(b, sizeof(b), (double)st[i].threads, (double)st[0].threads));
	}
	fputc('\n', out);
	for (size_t m = 0; m < report_thread_fields.n && m < MAX_SCHED_FIGURES; m++) {
		const struct rtp_field *f = &report_thread_fields.f[m];

		if (!sched_figure(f))
			continue;
		fprintf(out, "  %-20s", f->title);
		for (size_t i = 0; i < n; i++) {
			uint64_t v = st[i].sum[m];

			if (f->flags & RTP_FIELD_NS)
				fprintf(out, "  %12s", fmt_ns(a, sizeof(a), v));
			else
				fprintf(out, "  %12" PRIu64, v);
			if (i)
				fprintf(out, " %9s", fmt_ratio(b, sizeof(b), (double)v, (double)st[0].sum[m]));
		}
		fputc('\n', out);
	}
	print_runtime(out, in, n);
	print_top_functions(out, in, n);
	for (size_t i = 0; i < n; i++) {
		if (in[i].rep->lost_events)
			fprintf(out, "\n%s: %" PRIu64 " events lost while recording: its figures are incomplete\n",
				in[i].label, in[i].rep->lost_events);
		if (in[i].rep->warning[0])
			fprintf(out, "%s: warning: %s\n", in[i].label, in[i].rep->warning);
	}
}

int compare__details(FILE *out, const struct compare_input *in, size_t n, size_t top)
{
	struct sys_row *rows = NULL;
	size_t n_rows = 0;

	if (syscall_rows(in, n, top, &rows, &n_rows))
		return -ENOMEM;
	print_details(out, in, n, rows, n_rows, top);
	free(rows);
	return 0;
}

static json_object *ratio_json(double value, double ref)
{
	return ref > 0 ? json_object_new_double(value / ref) : NULL;
}

/* An array of one figure per input, and its ratios to the first in `ratios`. */
static void add_series(json_object *obj, json_object *ratios, const char *key, const double *v, size_t n, bool integral)
{
	json_object *vals = json_object_new_array(), *rat = json_object_new_array();

	for (size_t i = 0; i < n; i++) {
		json_object_array_add(vals, integral ? json_object_new_uint64((uint64_t)v[i])
						     : json_object_new_double(v[i]));
		json_object_array_add(rat, ratio_json(v[i], v[0]));
	}
	json_object_object_add(obj, key, vals);
	json_object_object_add(ratios, key, rat);
}

/* root as json-c prints it, each input's report printed from the model after the input's other keys, its
 * thread rows one at a time: a tree of the reports took 1.5 GB for 8 traces of 65536 threads. */
static int print_root(FILE *out, json_object *root, const struct input *in)
{
	bool first = true;
	int ret = 0;

	fputs("{", out);
	json_object_object_foreach(root, key, val) {
		fprintf(out, "%s\n  \"%s\":", first ? "" : ",", key);
		first = false;
		if (strcmp(key, "inputs")) {
			render_json_value(out, val, 1);
			continue;
		}
		fputs("[", out);
		for (size_t i = 0; i < json_object_array_length(val) && !ret; i++) {
			json_object *o = json_object_array_get_idx(val, i);

			fprintf(out, "%s\n    {", i ? "," : "");
			json_object_object_foreach(o, k, v) {
				fprintf(out, "\n      \"%s\":", k);
				render_json_value(out, v, 3);
				fputs(",", out);
			}
			fputs("\n      \"report\":", out);
			ret = render_json_object(out, in[i].rep, 3);
			fputs("\n    }", out);
		}
		fputs("\n  ]", out);
	}
	fputs("\n}\n", out);
	return ret ?: ferror(out) ? -EIO : 0;
}

static int print_json(FILE *out, const struct input *in, size_t n, const struct sys_row *rows, size_t n_rows)
{
	json_object *root = json_object_new_object(), *inputs = json_object_new_array(), *proc = json_object_new_object();
	json_object *sys = json_object_new_array(), *sched = json_object_new_object(), *ratios = json_object_new_object();
	json_object *load = json_object_new_array();
	double v[MAX_INPUTS] = {};
	struct sched_totals st[MAX_INPUTS];
	int ret = 0;

	if (!root || !inputs || !proc || !sys || !sched || !ratios || !load) {
		ret = -ENOMEM;
		json_object_put(inputs);
		json_object_put(proc);
		json_object_put(sys);
		json_object_put(sched);
		json_object_put(ratios);
		json_object_put(load);
		goto cleanup;
	}
	json_object_object_add(root, "version", json_object_new_string(RTPROF_VERSION));
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		if (!o) {
			ret = -ENOMEM;
			break;
		}
		/* and "report": print_root() */
		json_object_object_add(o, "label", json_object_new_string(in[i].label));
		json_object_object_add(o, "file", json_object_new_string(in[i].path));
		json_object_object_add(o, "kind", json_object_new_string(in[i].kind));
		json_object_array_add(inputs, o);
	}
	json_object_object_add(root, "inputs", inputs);

	for (size_t i = 0; i < n; i++)
		v[i] = in[i].rep->process.wall_s;
	add_series(proc, ratios, "wall_s", v, n, false);
	for (size_t i = 0; i < n; i++)
		v[i] = (double)in[i].rep->process.max_rss_kb;
	add_series(proc, ratios, "max_rss_kb", v, n, true);
	for (size_t i = 0; i < n; i++)
		v[i] = cpu_s(in[i].rep);
	add_series(proc, ratios, "cpu_s", v, n, false);
	for (size_t i = 0; i < n; i++) {
		json_object *l = json_object_new_array();

		for (int c = 0; c < in[i].rep->process.ncpus; c++)
			json_object_array_add(l, json_object_new_double(in[i].rep->process.cpu_load_pct[c]));
		json_object_array_add(load, l);
	}
	json_object_object_add(proc, "cpu_load_pct", load);
	json_object_object_add(root, "process", proc);

	for (size_t j = 0; j < n_rows; j++) {
		json_object *o = json_object_new_object(), *count = json_object_new_array();
		json_object *total = json_object_new_array(), *ratio = json_object_new_array();

		json_object_object_add(o, "name", json_object_new_string(rows[j].name));
		for (size_t i = 0; i < n; i++) {
			json_object_array_add(count, json_object_new_uint64(rows[j].count[i]));
			json_object_array_add(total, json_object_new_uint64(rows[j].total_ns[i]));
			json_object_array_add(ratio, ratio_json((double)rows[j].total_ns[i], (double)rows[j].total_ns[0]));
		}
		json_object_object_add(o, "count", count);
		json_object_object_add(o, "total_ns", total);
		json_object_object_add(o, "total_ratio", ratio);
		json_object_array_add(sys, o);
	}
	json_object_object_add(root, "syscalls", sys);

	for (size_t i = 0; i < n; i++)
		st[i] = sched_of(in[i].rep);
	for (size_t i = 0; i < n; i++)
		v[i] = (double)st[i].threads;
	add_series(sched, ratios, "threads", v, n, true);
	for (size_t m = 0; m < report_thread_fields.n && m < MAX_SCHED_FIGURES; m++) {
		if (!sched_figure(&report_thread_fields.f[m]))
			continue;
		for (size_t i = 0; i < n; i++)
			v[i] = (double)st[i].sum[m];
		add_series(sched, ratios, report_thread_fields.f[m].key, v, n, true);
	}
	json_object_object_add(root, "scheduling", sched);
	json_object_object_add(root, "ratios", ratios);
	if (!ret)
		ret = print_root(out, root, in);
cleanup:
	json_object_put(root);
	return ret;
}

static void compare_help(FILE *out)
{
	fprintf(out,
		"Usage: rtprof compare [--json] [--top N] A B [C...]\n"
		"       rtprof compare --run 'CMD A' --run 'CMD B' [--runs N] [--warmup W] [--format FMT]\n"
		"\n"
		"With --run, run the commands N times each and print the Benchmarks Game's table (secs, mem, gz,\n"
		"busy, cpu load) with medians, spreads and ratios: rtprof compare --run X --help says more.\n"
		"\n"
		"Compare recorded traces (.rtprof.gz) or reports saved with --json side by side: the process\n"
		"figures (secs, mem KB, cpu secs, cpu load per CPU), the syscalls that take the most time in any\n"
		"input, and scheduling totals, each with its ratio to the first input (A).\n"
		"\n"
		"  -j, --json    print one JSON object: every input's report, the figures and their ratios\n"
		"      --top N   syscall rows (default 15; 0 = all)\n"
		"      --run CMD, --runs N, --warmup W, --format FMT, --stacks, --quiet: see compare --run X --help\n"
		"\n"
		"Example:\n"
		"  rtprof compare app-python.rtprof.gz app-node.rtprof.gz\n");
}

int cmd_compare(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "top", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct input in[MAX_INPUTS] = {};
	struct sys_row *rows = NULL;
	size_t n = 0, n_rows = 0, top = 15, threads = 0, procs = 0, runtimes = 0;
	bool json = false;
	char err[512];
	int c, r, ret = EXIT_FAILURE_RT;
	unsigned long long v;

	/* commands to run, rather than saved inputs */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--run") || !strncmp(argv[i], "--run=", 6))
			return compare__run(argc, argv);
	while ((c = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 't':
			if (parse_count(optarg, RTP_MAX_TOP, &v)) {
				errorf("compare: invalid --top '%s': expected a number of rows >= 0 (0 = all)", optarg);
				return EXIT_USAGE;
			}
			top = (size_t)v;
			break;
		case 'h':
			compare_help(stdout);
			return EXIT_OK;
		default:
			usage_hint("compare");
			return EXIT_USAGE;
		}
	}
	if (argc - optind < 2 || argc - optind > MAX_INPUTS) {
		errorf("compare: give 2 to %d traces or saved reports; usage: rtprof compare [--json] A B [C...]",
		       MAX_INPUTS);
		return EXIT_USAGE;
	}
	if (outfile__check_stdout("the comparison"))
		return EXIT_USAGE;
	for (int i = optind; i < argc; i++, n++) {
		in[n].path = argv[i];
		in[n].label[0] = (char)('A' + n);
		r = load_input(&in[n], err, sizeof(err));
		if (r) {
			if (strstr(err, in[n].path))
				errorf("%s", err);
			else
				errorf("%s: %s", in[n].path, err);
			ret = r == -ENOMEM || r == -EIO ? EXIT_FAILURE_RT : EXIT_USAGE;
			n++;
			goto cleanup;
		}
		/* together, no more than two reports of traces hold: 26 inputs of 4096 processes took 850 MB */
		threads += in[n].rep->n_threads;
		procs += in[n].rep->n_targets;
		runtimes += in[n].rep->n_runtimes;
		if (threads > COMPARE_MAX_THREADS || procs > COMPARE_MAX_PROCS || runtimes > COMPARE_MAX_PROCS) {
			errorf("compare: the inputs up to %s hold %zu threads and %zu processes (%zu with runtime "
			       "metrics); compare takes at most %d threads and %d processes in all: compare fewer or "
			       "smaller traces", in[n].path, threads, procs, runtimes, COMPARE_MAX_THREADS,
			       COMPARE_MAX_PROCS);
			ret = EXIT_USAGE;
			n++;
			goto cleanup;
		}
	}
	if (syscall_rows(in, n, top, &rows, &n_rows)) {
		errorf("out of memory");
		goto cleanup;
	}
	if (json) {
		r = print_json(stdout, in, n, rows, n_rows);
	} else {
		print_text(stdout, in, n, rows, n_rows, top);
		r = 0;
	}
	if (fflush(stdout) || ferror(stdout))
		r = -EIO;
	if (r) {
		errorf("writing the comparison: %s", strerror(-r));
		goto cleanup;
	}
	ret = EXIT_OK;
cleanup:
	for (size_t i = 0; i < n; i++)
		report__free(in[i].rep);
	free(rows);
	return ret;
}
