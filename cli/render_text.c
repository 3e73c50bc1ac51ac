// SPDX-License-Identifier: LGPL-2.1-or-later
/* The one table renderer of the CLI: a report as human-readable tables. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "accounting.h"
#include "model/profiles.h"
#include "render.h"

/* Names and messages come from the profiled processes, from a trace or from rtprofd: no control character
 * (ESC, a title sequence, CR, a line feed that splits a row) reaches the terminal. */
#define SAFE(buf, s) text__printable((s), (buf), sizeof(buf), false)

const char *fmt_ns(char *buf, size_t len, uint64_t ns)
{
	if (ns < 1000)
		snprintf(buf, len, "%" PRIu64 " ns", ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.2f us", (double)ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.2f ms", (double)ns / 1e6);
	else
		snprintf(buf, len, "%.3f s", (double)ns / 1e9);
	return buf;
}

static void print_process(FILE *out, const struct rtp_report *r)
{
	const struct rtp_report_target *t = r->n_targets ? &r->targets[0] : NULL;
	char load[256] = "", comm[RTP_COMM_LEN], version[sizeof(t->runtime.version)], exe[sizeof(t->runtime.exe)];
	size_t off = 0;

	if (t) {
		fprintf(out, "%s (pid %d)", SAFE(comm, t->comm), t->pid);
		if (t->runtime.kind != RTP_RUNTIME_OTHER)
			fprintf(out, "  %s %s", runtime__kind_name(t->runtime.kind),
				t->runtime.version[0] ? SAFE(version, t->runtime.version) : "(version unknown)");
		if (t->runtime.exe[0])
			fprintf(out, "  %s", SAFE(exe, t->runtime.exe));
		if (r->n_targets > 1)
			fprintf(out, "  (+%zu more processes)", r->n_targets - 1);
		fprintf(out, "\n");
		if (r->wrapper.start_ns) {
			char at[24], names[sizeof(r->wrapper.names)];

			fprintf(out, "started through a launcher %s after the command: the launcher's figures",
				fmt_ns(at, sizeof(at), r->wrapper.start_ns));
			if (r->wrapper.helpers)
				fprintf(out, " and its %u helper process%s (%s)", r->wrapper.helpers,
					r->wrapper.helpers > 1 ? "es" : "", SAFE(names, r->wrapper.names));
			fprintf(out, " are left out of the tables, not of the line below (--all-processes keeps them)\n");
		}
		fputc('\n', out);
	}
	for (int c = 0; c < r->process.ncpus && off < sizeof(load) - 8; c++)
		off += (size_t)snprintf(load + off, sizeof(load) - off, "%s%.0f%%", c ? " " : "",
					r->process.cpu_load_pct[c]);
	fprintf(out, "  %10s %12s %10s   %s\n", "secs", "mem KB", "cpu secs", "cpu load");
	fprintf(out, "  %10.3f %12ld %10.3f   %s\n\n", r->process.wall_s, r->process.max_rss_kb,
		r->process.cpu_user_s + r->process.cpu_sys_s, load);
}

/* A syscall's stacks (--stacks): the three that took most of its time, all threads together, each as its
 * innermost frames ("where it was called"). */
struct sys_stack {
	const struct rtp_prof_row *row; /* its frames */
	uint64_t calls, ns;
	bool sampled;
};

/* The frame k-th from the leaf, the <kernel> marker left out; NULL past the root. */
static const struct rtp_prof_frame *from_leaf(const struct rtp_profiles *p, const struct rtp_prof_row *r, uint32_t k)
{
	uint32_t skip = r->n && (r->flags & RTP_STACK_KERNEL) ? 1 : 0;

	return k + skip < r->n ? &p->frames[r->first + r->n - 1 - skip - k] : NULL;
}

/* Whether two stacks show the same: their three innermost frames (what a row of the table prints). */
static bool same_stack(const struct rtp_profiles *p, const struct rtp_prof_row *a, const struct rtp_prof_row *b)
{
	for (uint32_t k = 0; k < 3; k++) {
		const struct rtp_prof_frame *x = from_leaf(p, a, k), *y = from_leaf(p, b, k);

		if (!x || !y)
			return !x && !y;
		if (x->func != y->func || x->line != y->line)
			return false;
	}
	return true;
}

static void print_syscall_stacks(FILE *out, const struct rtp_profiles *p, const char *name)
{
	struct sys_stack best[3] = { 0 }, *acc = NULL;
	size_t n = 0;
	char t[24], fn[96], file[160];

	for (size_t i = 0; i < p->n_rows; i++) {
		const struct rtp_prof_row *r = &p->rows[i];
		size_t k;

		if (r->kind != RTP_PROF_SYSCALL || strcmp(r->syscall, name))
			continue;
		if (!acc && !(acc = calloc(p->n_rows, sizeof(*acc))))
			return;
		for (k = 0; k < n && !same_stack(p, acc[k].row, r); k++)
			;
		if (k == n)
			acc[n++].row = r;
		acc[k].calls += r->samples;
		acc[k].ns += r->ns;
		acc[k].sampled |= (r->arg & RTP_PROF_SAMPLED) != 0;
	}
	for (size_t k = 0; k < n; k++)
		for (size_t j = 0; j < 3; j++)
			if (!best[j].row || acc[k].ns > best[j].ns || (acc[k].ns == best[j].ns && acc[k].calls > best[j].calls)) {
				memmove(&best[j + 1], &best[j], (2 - j) * sizeof(best[0]));
				best[j] = acc[k];
				break;
			}
	for (size_t j = 0; j < 3 && best[j].row; j++) {
		const struct rtp_prof_row *r = best[j].row;

		fprintf(out, "    %s%" PRIu64 " calls, %s from ", best[j].sampled ? "~" : "", best[j].calls,
			fmt_ns(t, sizeof(t), best[j].ns));
		for (uint32_t k = 0; k < 3 && from_leaf(p, r, k); k++) {
			const struct rtp_prof_frame *f = from_leaf(p, r, k);
			const struct rtp_prof_func *fun = &p->funcs[f->func];

			SAFE(fn, fun->name);
			SAFE(file, fun->file);
			if (fun->file[0] && f->line > 0)
				fprintf(out, "%s%s (%s:%d)", k ? " < " : "", fn, file, f->line);
			else if (fun->file[0])
				fprintf(out, "%s%s (%s)", k ? " < " : "", fn, file);
			else
				fprintf(out, "%s%s", k ? " < " : "", fn);
		}
		fputc('\n', out);
	}
	free(acc);
}

/* A path-taking call's failures: the paths that failed most, with their errno and count. */
static void print_err_paths(FILE *out, const struct rtp_report_syscall *s)
{
	size_t n = s->n_err_paths < 3 ? s->n_err_paths : 3;

	if (!n)
		return;
	fprintf(out, "    failed on ");
	for (size_t j = 0; j < n; j++) {
		char path[RTP_PATH_LEN], buf[16];

		fprintf(out, "%s%s %s %" PRIu64, j ? ", " : "", SAFE(path, s->err_paths[j].path),
			report__errno_name(s->err_paths[j].err, buf, sizeof(buf)), s->err_paths[j].count);
	}
	if (s->n_err_paths > n)
		fprintf(out, " (+%zu more paths)", s->n_err_paths - n);
	fputc('\n', out);
}

static void print_syscalls(FILE *out, const struct rtp_report *r, int top)
{
	size_t n = 0, n_idle = 0, shown = 0;
	char total[24], avg[24], p99[24], max[24];
	bool avg_over_p99 = false;

	for (size_t i = 0; i < r->n_syscalls; i++)
		n_idle += report__syscall_idle(r->syscalls[i].name);
	n = r->n_syscalls - n_idle;
	if (top > 0 && (size_t)top < n)
		n = (size_t)top;
	/* the calls that work first; those that wait for events, time, connections or children apart */
	fprintf(out, "Syscalls (%zu of %zu, by total time; waits apart below)\n", n, r->n_syscalls - n_idle);
	fprintf(out, "  %-20s %10s %8s %12s %12s %12s %12s\n", "syscall", "count", "errors", "total", "avg",
		"p99", "max");
	for (size_t i = 0; i < r->n_syscalls; i++) {
		const struct rtp_report_syscall *s = &r->syscalls[i];
		char sc_name[sizeof(s->name)];

		if (report__syscall_idle(s->name) || shown++ >= n)
			continue;
		avg_over_p99 |= s->count && s->total_ns / s->count > s->p99_ns;
		fprintf(out, "  %-20s %10" PRIu64 " %8" PRIu64 " %12s %12s %12s %12s", SAFE(sc_name, s->name), s->count, s->errors,
			fmt_ns(total, sizeof(total), s->total_ns), fmt_ns(avg, sizeof(avg), s->count ? s->total_ns / s->count : 0),
			fmt_ns(p99, sizeof(p99), s->p99_ns), fmt_ns(max, sizeof(max), s->max_ns));
		for (size_t j = 0; j < s->n_errnos && j < 3; j++) {
			char buf[16];

			fprintf(out, "%s%s %" PRIu64, j ? ", " : "  ", report__errno_name(s->errnos[j].err, buf, sizeof(buf)),
				s->errnos[j].count);
		}
		fputc('\n', out);
		print_err_paths(out, s);
		if (r->profiles)
			print_syscall_stacks(out, r->profiles, s->name);
	}
	if (r->profiles)
		fprintf(out, "  (stacks, --stacks: calls of 1 ms or more all, faster ones sampled one in %d (~); "
			"--exact-latency: all)\n", RTP_PY_SYS_EVERY);
	if (avg_over_p99)
		fprintf(out, "  (p99 is interpolated within log2 buckets of latency; an avg above it: a few calls took "
			"most of the time, see max)\n");
	if (n_idle) {
		fprintf(out, "\nWaiting (%zu syscalls that wait for events, time, connections, children or signals: "
			"idle, not work)\n", n_idle);
		fprintf(out, "  %-20s %10s %8s %12s %12s %12s\n", "syscall", "count", "errors", "total", "avg", "max");
		for (size_t i = 0; i < r->n_syscalls; i++) {
			const struct rtp_report_syscall *s = &r->syscalls[i];
			char sc_name[sizeof(s->name)];

			if (!report__syscall_idle(s->name))
				continue;
			fprintf(out, "  %-20s %10" PRIu64 " %8" PRIu64 " %12s %12s %12s\n", SAFE(sc_name, s->name), s->count,
				s->errors, fmt_ns(total, sizeof(total), s->total_ns),
				fmt_ns(avg, sizeof(avg), s->count ? s->total_ns / s->count : 0),
				fmt_ns(max, sizeof(max), s->max_ns));
			if (r->profiles)
				print_syscall_stacks(out, r->profiles, s->name);
		}
	}
	fputc('\n', out);
}

/* --per-thread: each thread's syscalls, as perf trace -s shows them; `top` rows a thread (0: all). */
static void print_thread_syscalls(FILE *out, const struct rtp_report *r, int top)
{
	char name[RTP_COMM_LEN], a[24], b[24], c[24];

	if (!r->per_thread)
		return;
	fprintf(out, "Syscalls by thread (--per-thread)\n");
	if (!r->n_thread_syscalls)
		fprintf(out, "  none\n");
	for (size_t i = 0; i < r->n_thread_syscalls;) {
		const struct rtp_report_thread_syscall *first = &r->thread_syscalls[i];
		uint64_t calls = 0, total = 0;
		size_t end = i;
		const char *tname = "?";

		while (end < r->n_thread_syscalls && r->thread_syscalls[end].tid == first->tid) {
			calls += r->thread_syscalls[end].count;
			total += r->thread_syscalls[end].total_ns;
			end++;
		}
		for (size_t k = 0; k < r->n_threads; k++)
			if (r->threads[k].tid == first->tid)
				tname = r->threads[k].name;
		fprintf(out, "  %s (tid %d, pid %d): %" PRIu64 " calls, %s\n", SAFE(name, tname), first->tid, first->tgid,
			calls, fmt_ns(a, sizeof(a), total));
		fprintf(out, "    %-20s %10s %8s %12s %12s %12s\n", "syscall", "count", "errors", "total", "avg", "max");
		for (size_t k = i; k < end && (top <= 0 || k - i < (size_t)top); k++) {
			const struct rtp_report_thread_syscall *t = &r->thread_syscalls[k];

			fprintf(out, "    %-20s %10" PRIu64 " %8" PRIu64 " %12s %12s %12s\n", t->name, t->count, t->errors,
				fmt_ns(a, sizeof(a), t->total_ns), fmt_ns(b, sizeof(b), t->count ? t->total_ns / t->count : 0),
				fmt_ns(c, sizeof(c), t->max_ns));
		}
		if (top > 0 && end - i > (size_t)top)
			fprintf(out, "    (+%zu more)\n", end - i - (size_t)top);
		i = end;
	}
	if (r->thread_syscall_drops)
		fprintf(out, "  not counted by thread: %" PRIu64 " calls (the table was full)\n", r->thread_syscall_drops);
	fputc('\n', out);
}

/* A session of several processes: a line each (a pid's threads, runtime and figures summed), then, with
 * --per-thread, each one's syscalls. */
static void print_processes(FILE *out, const struct rtp_report *r, int top)
{
	struct rtp_report_proc_row *v;
	char name[RTP_COMM_LEN], rt[48], on[24], rq[24], st[24], a[24], b[24], c[24];
	size_t n;

	if (report__processes(r, &v, &n) || n < 2) {
		report__processes_free(v, n);
		return;
	}
	fprintf(out, "Processes (%zu)\n", n);
	fprintf(out, "  %8s %-16s %-16s %7s %12s %12s %10s %12s %6s\n", "pid", "name", "runtime", "threads", "on-CPU",
		"runq wait", "syscalls", "sys time", "GCs");
	for (size_t i = 0; i < n; i++) {
		const struct rtp_report_proc_row *p = &v[i];
		char calls[24] = "-", gcs[24] = "-";

		if (p->runtime == RTP_RUNTIME_OTHER)
			snprintf(rt, sizeof(rt), "-");
		else
			snprintf(rt, sizeof(rt), "%s %s", runtime__kind_name(p->runtime), p->version);
		if (r->per_thread)
			snprintf(calls, sizeof(calls), "%" PRIu64, p->sys_calls);
		if (p->has_gc)
			snprintf(gcs, sizeof(gcs), "%" PRIu64, p->gc_count);
		fprintf(out, "  %8d %-16s %-16s %7u %12s %12s %10s %12s %6s%s\n", p->pid, SAFE(name, p->name), rt,
			p->threads, fmt_ns(on, sizeof(on), p->oncpu_ns), fmt_ns(rq, sizeof(rq), p->runq_wait_ns), calls,
			r->per_thread ? fmt_ns(st, sizeof(st), p->sys_ns) : "-", gcs, p->exited ? "  (exited)" : "");
	}
	if (!r->per_thread)
		fprintf(out, "  (syscalls by process: --per-thread)\n");
	fputc('\n', out);
	for (size_t i = 0; r->per_thread && i < n; i++) {
		const struct rtp_report_proc_row *p = &v[i];

		if (!i)
			fprintf(out, "Syscalls by process (--per-thread)\n");
		fprintf(out, "  %s (pid %d): %" PRIu64 " calls, %s\n", SAFE(name, p->name), p->pid, p->sys_calls,
			fmt_ns(a, sizeof(a), p->sys_ns));
		if (!p->n_sys)
			continue;
		fprintf(out, "    %-20s %10s %8s %12s %12s %12s\n", "syscall", "count", "errors", "total", "avg", "max");
		for (size_t k = 0; k < p->n_sys && (top <= 0 || k < (size_t)top); k++) {
			const struct rtp_report_thread_syscall *t = &p->sys[k];

			fprintf(out, "    %-20s %10" PRIu64 " %8" PRIu64 " %12s %12s %12s\n", t->name, t->count, t->errors,
				fmt_ns(a, sizeof(a), t->total_ns), fmt_ns(b, sizeof(b), t->count ? t->total_ns / t->count : 0),
				fmt_ns(c, sizeof(c), t->max_ns));
		}
		if (top > 0 && p->n_sys > (size_t)top)
			fprintf(out, "    (+%zu more)\n", p->n_sys - (size_t)top);
		if (i + 1 == n)
			fputc('\n', out);
	}
	report__processes_free(v, n);
}

static void print_threads(FILE *out, const struct rtp_report *r)
{
	char on[24], rq[24], sl[24], bl[24];

	fprintf(out, "Threads (%zu)\n", r->n_threads);
	/* the process of each thread, as ps -L shows it: a session may hold many (forks, multiprocessing) */
	fprintf(out, "  %8s %8s %-16s %12s %12s %12s %12s %7s %7s %6s\n", "pid", "tid", "name", "on-CPU", "runq wait",
		"sleep", "blocked", "vol", "invol", "migr");
	for (size_t i = 0; i < r->n_threads; i++) {
		const struct rtp_report_thread *t = &r->threads[i];
		char name[sizeof(t->name)];

		fprintf(out, "  %8d %8d %-16s %12s %12s %12s %12s %7" PRIu64 " %7" PRIu64 " %6" PRIu64 "%s\n", t->tgid, t->tid,
			SAFE(name, t->name), fmt_ns(on, sizeof(on), t->oncpu_ns), fmt_ns(rq, sizeof(rq), t->runq_wait_ns),
			fmt_ns(sl, sizeof(sl), t->sleep_ns), fmt_ns(bl, sizeof(bl), t->block_ns), t->vol_switches,
			t->invol_switches, t->migrations, t->exited ? "  (exited)" : "");
	}
	fputc('\n', out);
}

static void print_hist(FILE *out, const char *title, const uint64_t *slots, size_t n)
{
	uint64_t max = 0;
	size_t first = n, last = 0;
	char lo[24], hi[24];

	for (size_t i = 0; i < n; i++) {
		if (!slots[i])
			continue;
		if (first == n)
			first = i;
		last = i;
		if (slots[i] > max)
			max = slots[i];
	}
	fprintf(out, "%s\n", title);
	if (!max) {
		fprintf(out, "  (none)\n\n");
		return;
	}
	for (size_t i = first; i <= last; i++) {
		int bar = (int)((slots[i] * 40 + max - 1) / max);

		fprintf(out, "  %10s .. %-10s %10" PRIu64 " |%-40.*s|\n", fmt_ns(lo, sizeof(lo), i ? 1ull << i : 0),
			fmt_ns(hi, sizeof(hi), (1ull << (i + 1)) - 1), slots[i], bar,
			"****************************************");
	}
	fputc('\n', out);
}

static void print_unavailable(FILE *out, const char *what, const char *why)
{
	char safe[256];

	fprintf(out, "  %s: not measured: %s\n", what, why[0] ? SAFE(safe, why) : "unknown reason");
}

static void print_gc(FILE *out, const struct rtp_report_runtime *rt)
{
	struct rtp_report_rt_stat all = { 0 };
	char tot[24], mx[24], avg[24], method[sizeof(rt->gc_method)];

	if (!rt->gc_method[0]) {
		print_unavailable(out, "GC", rt->gc_unavailable);
		return;
	}
	for (unsigned int k = 0; k < rt->n_gc_kinds && k < RTP_RT_GC_KINDS; k++) {
		all.count += rt->gc[k].count;
		all.total_ns += rt->gc[k].total_ns;
		if (rt->gc[k].max_ns > all.max_ns)
			all.max_ns = rt->gc[k].max_ns;
	}
	fprintf(out, "  GC (%s)%s: %" PRIu64 " collections, %s in all, longest %s\n", SAFE(method, rt->gc_method),
		rt->n_isolates > 1 ? ", all isolates" : "", all.count, fmt_ns(tot, sizeof(tot), all.total_ns),
		fmt_ns(mx, sizeof(mx), all.max_ns));
	for (unsigned int k = 0; k < rt->n_gc_kinds && k < RTP_RT_GC_KINDS; k++) {
		const struct rtp_report_rt_stat *g = &rt->gc[k];

		if (!g->count)
			continue;
		fprintf(out, "    %-20s %8" PRIu64 " %12s total %12s avg %12s max\n",
			rt->kind == RTP_RUNTIME_PYTHON ? (k == 0 ? "generation 0" : k == 1 ? "generation 1" : "generation 2")
						       : report__gc_kind_name(rt->kind, k),
			g->count, fmt_ns(tot, sizeof(tot), g->total_ns), fmt_ns(avg, sizeof(avg), g->total_ns / g->count),
			fmt_ns(mx, sizeof(mx), g->max_ns));
	}
}

/* Probes placed once the exec was seen: what the program did before is not in the figures below. */
static void print_probes_late(FILE *out, const struct rtp_report_runtime *rt)
{
	char late[24];

	if (!strcmp(rt->probes_from, "exec") || !strcmp(rt->probes_from, "fork"))
		fprintf(out, "  (probes placed %s after the %s: the program's events before are missed, not counted)\n",
			fmt_ns(late, sizeof(late), rt->probes_late_ns), rt->probes_from);
}

static void print_python(FILE *out, const struct rtp_report_runtime *rt)
{
	char w[24], h[24], version[sizeof(rt->version)], method[sizeof(rt->gil_method)], notes[sizeof(rt->gil_notes)];

	fprintf(out, "Python %s (pid %d)\n", SAFE(version, rt->version), rt->pid);
	print_probes_late(out, rt);
	if (!rt->gil_method[0]) {
		print_unavailable(out, "GIL", rt->gil_unavailable);
	} else {
		fprintf(out, "  GIL (%s): waited %s in %" PRIu64 " waits, held %s\n", SAFE(method, rt->gil_method),
			fmt_ns(w, sizeof(w), rt->gil_wait_ns), rt->gil_waits, fmt_ns(h, sizeof(h), rt->gil_hold_ns));
		fprintf(out, "    %8s %-16s %12s %12s %8s %7s\n", "tid", "name", "wait", "hold", "waits", "wait %");
		for (size_t i = 0; i < rt->n_gil_threads; i++) {
			const struct rtp_report_gil_thread *t = &rt->gil_threads[i];
			char name[sizeof(t->name)];

			fprintf(out, "    %8d %-16s %12s %12s %8" PRIu64 " %6.1f%%\n", t->tid, SAFE(name, t->name),
				fmt_ns(w, sizeof(w), t->wait_ns), fmt_ns(h, sizeof(h), t->hold_ns), t->waits,
				100.0 * t->wait_share);
		}
		if (rt->gil_notes[0])
			fprintf(out, "    (%s)\n", SAFE(notes, rt->gil_notes));
	}
	print_gc(out, rt);
	fputc('\n', out);
	if (rt->gil_method[0] && rt->gil_waits)
		print_hist(out, "  GIL wait time", rt->gil_wait_hist, RTP_HIST_SLOTS);
}

/* A loop block's line: its time, thread, samples and what blocked the loop, with the two callers. */
static void print_block(FILE *out, const struct rtp_profiles *p, size_t i, const char *lead)
{
	const struct rtp_prof_block *b = &p->blocks[i];
	struct rtp_prof_blame bl;
	char d[24], text[512], safe[512];

	profiles__block_blame(p, i, &bl);
	fprintf(out, "%s%s on tid %d, ", lead, fmt_ns(d, sizeof(d), b->dur_ns), (int)b->tid);
	if (!bl.row) {
		fprintf(out, "no sample in it\n");
		return;
	}
	profiles__frames_text(p, bl.row, bl.depth, 1, text, sizeof(text));
	fprintf(out, "%s in %" PRIu64 " of %" PRIu64 " samples", SAFE(safe, text), bl.samples, bl.kept);
	if (bl.depth) {
		profiles__frames_text(p, bl.row, bl.depth - 1, 2, text, sizeof(text));
		fprintf(out, " < %s", SAFE(safe, text));
	}
	fputc('\n', out);
}

static int block_by_dur(const void *a, const void *b, void *ctx)
{
	const struct rtp_profiles *p = ctx;
	uint64_t x = p->blocks[*(const size_t *)a].dur_ns, y = p->blocks[*(const size_t *)b].dur_ns;

	return x > y ? -1 : x < y;
}

/* The callback that blocked the loop: the thread's longest iteration, then those over the threshold, the
 * longest first. */
static void print_blocks(FILE *out, const struct rtp_profiles *p, pid_t pid)
{
	size_t *over, n_over = 0;
	char t[24];

	if (!p)
		return;
	for (size_t i = 0; i < p->n_blocks; i++)
		if (p->blocks[i].pid == pid && p->blocks[i].longest && p->blocks[i].dur_ns < p->loop_threshold_ns)
			print_block(out, p, i, "    longest iteration: ");
	over = calloc(p->n_blocks ? p->n_blocks : 1, sizeof(*over));
	if (!over)
		return;
	for (size_t i = 0; i < p->n_blocks; i++)
		if (p->blocks[i].pid == pid && p->blocks[i].dur_ns >= p->loop_threshold_ns)
			over[n_over++] = i;
	qsort_r(over, n_over, sizeof(*over), block_by_dur, (void *)p);
	if (n_over)
		fprintf(out, "    %zu iteration%s of %s or more%s:\n", n_over, n_over == 1 ? "" : "s",
			fmt_ns(t, sizeof(t), p->loop_threshold_ns), n_over > 10 ? " (the 10 longest)" : "");
	for (size_t j = 0; j < n_over && j < 10; j++)
		print_block(out, p, over[j], "      ");
	free(over);
}

/* With worker_threads: each isolate's own loop and collections, on the thread that runs it. */
static void print_isolates(FILE *out, const struct rtp_report_runtime *rt)
{
	char b[24], m[24], g[24], name[RTP_COMM_LEN];

	if (rt->n_isolates < 2)
		return;
	fprintf(out, "  isolates (the main thread's and each worker_thread's: their own event loop and GC)\n");
	fprintf(out, "    %8s %-16s %7s %12s %10s %12s %6s %12s\n", "tid", "name", "loop %", "loop busy", "iterations",
		"longest", "GCs", "GC time");
	for (size_t k = 0; k < rt->n_isolates; k++) {
		const struct rtp_report_isolate *x = &rt->isolates[k];
		uint64_t all = x->loop_busy_ns + x->loop_idle_ns;
		char util[16] = "-";

		if (all)
			snprintf(util, sizeof(util), "%.1f%%", 100.0 * (double)x->loop_busy_ns / (double)all);
		fprintf(out, "    %8d %-16s %7s %12s %10" PRIu64 " %12s %6" PRIu64 " %12s\n", x->tid, SAFE(name, x->name),
			util, fmt_ns(b, sizeof(b), x->loop_busy_ns), x->loop_iters, fmt_ns(m, sizeof(m), x->loop_busy_max_ns),
			x->gc_count, fmt_ns(g, sizeof(g), x->gc_ns));
	}
}

static void print_node(FILE *out, const struct rtp_report_runtime *rt, const struct rtp_profiles *p)
{
	char b[24], i[24], m[24], q[24], r[24], version[sizeof(rt->version)];
	uint64_t all = rt->loop_busy_ns + rt->loop_idle_ns;

	fprintf(out, "Node.js %s (pid %d)\n", SAFE(version, rt->version), rt->pid);
	print_probes_late(out, rt);
	if (!rt->loop_method[0])
		print_unavailable(out, "event loop", rt->loop_unavailable);
	else if (!all)
		fprintf(out, "  event loop: no iteration seen\n");
	else
		fprintf(out, "  event loop%s: %.1f%% utilisation (busy %s, idle %s), %" PRIu64 " iterations, longest %s\n",
			rt->n_isolates > 1 ? " (main thread)" : "", 100.0 * (double)rt->loop_busy_ns / (double)all,
			fmt_ns(b, sizeof(b), rt->loop_busy_ns), fmt_ns(i, sizeof(i), rt->loop_idle_ns), rt->loop_iters,
			fmt_ns(m, sizeof(m), rt->loop_busy_max_ns));
	if (rt->loop_method[0] && all)
		print_blocks(out, p, rt->pid);
	if (!rt->tp_method[0])
		print_unavailable(out, "threadpool", rt->tp_unavailable);
	else if (rt->tp_no_queue)
		fprintf(out, "  threadpool: %" PRIu64 " tasks (fs %" PRIu64 ", work %" PRIu64 ", dns %" PRIu64
			", random %" PRIu64 "), run %s (queue wait: not in traces)\n",
			rt->tp_completed, rt->tp_kind[RTP_TP_FS], rt->tp_kind[RTP_TP_WORK], rt->tp_kind[RTP_TP_DNS],
			rt->tp_kind[RTP_TP_RANDOM], fmt_ns(r, sizeof(r), rt->tp_run_ns));
	else
		fprintf(out, "  threadpool: %" PRIu64 " tasks (fs %" PRIu64 ", work %" PRIu64 ", dns %" PRIu64
			", random %" PRIu64 "), queue wait %s (max %s), run %s, up to %" PRIu64 " busy workers\n",
			rt->tp_completed, rt->tp_kind[RTP_TP_FS], rt->tp_kind[RTP_TP_WORK], rt->tp_kind[RTP_TP_DNS],
			rt->tp_kind[RTP_TP_RANDOM], fmt_ns(q, sizeof(q), rt->tp_queue_ns),
			fmt_ns(m, sizeof(m), rt->tp_queue_max_ns), fmt_ns(r, sizeof(r), rt->tp_run_ns), rt->tp_busy_max);
	print_gc(out, rt);
	print_isolates(out, rt);
	fputc('\n', out);
	if (rt->loop_iters)
		print_hist(out, "  Event-loop iterations, busy time (main thread)", rt->loop_busy_hist, RTP_HIST_SLOTS);
}

static void print_runtimes(FILE *out, const struct rtp_report *r)
{
	for (size_t i = 0; i < r->n_runtimes; i++) {
		if (r->runtimes[i].kind == RTP_RUNTIME_PYTHON)
			print_python(out, &r->runtimes[i]);
		else
			print_node(out, &r->runtimes[i], r->profiles);
	}
}

/* One kind's "Top functions": self (the innermost Python frame, or a marker such as <no Python frame>) and
 * total (anywhere in the stack, once per stack) shares, as py-spy top and perf report show them. */
static void print_top_functions(FILE *out, const struct rtp_profiles *p, unsigned int kind, int top)
{
	static const char *const titles[RTP_PROF_KINDS] = {
		[RTP_PROF_SYSCALL] = "Top functions in syscalls",
		[RTP_PROF_CPU] = "Top functions on CPU",
		[RTP_PROF_OFFCPU] = "Top functions off CPU (the stack a thread left the CPU in, until it ran again)",
		[RTP_PROF_GIL] = "Top functions waiting for the GIL",
	};
	struct rtp_prof_top *t = NULL;
	uint64_t total = 0, in_kernel = 0, by_state[3] = { 0 }, sampled = 0;
	char name[96], file[160], a[32], b[32], c[32];
	size_t n = 0;

	for (size_t i = 0; i < p->n_rows; i++) {
		const struct rtp_prof_row *r = &p->rows[i];

		if (r->kind != kind)
			continue;
		total += profiles__value(r);
		in_kernel += r->flags & RTP_STACK_KERNEL ? r->samples : 0;
		sampled += kind == RTP_PROF_OFFCPU && (r->arg & RTP_PROF_SAMPLED) ? r->ns : 0;
		if ((r->arg & ~(unsigned int)RTP_PROF_SAMPLED) < 3)
			by_state[r->arg & ~(unsigned int)RTP_PROF_SAMPLED] += r->ns;
	}
	if (kind == RTP_PROF_CPU)
		fprintf(out, "%s (%" PRIu64 " samples at %u Hz%s)\n", titles[kind], total, p->sample_hz,
			p->drops ? "; some samples dropped: the stack table was full" : "");
	else if (kind == RTP_PROF_OFFCPU)
		fprintf(out, "%s\n  %s in all: sleeping %s, blocked %s, waiting for a CPU %s\n", titles[kind],
			fmt_ns(a, sizeof(a), total), fmt_ns(b, sizeof(b), by_state[RTP_OFF_SLEEPING]),
			fmt_ns(c, sizeof(c), by_state[RTP_OFF_BLOCKED]), fmt_ns(name, sizeof(name), by_state[RTP_OFF_RUNNABLE]));
	else
		fprintf(out, "%s (%s in all)\n", titles[kind], fmt_ns(a, sizeof(a), total));
	if (!total) {
		fprintf(out, "  none\n\n");
		return;
	}
	if (profiles__top(p, kind, &t, &n))
		return;
	fprintf(out, "  %6s %6s  %-48s %s\n", "self", "total", "function", "file:line");
	for (size_t i = 0; i < n && (top <= 0 || i < (size_t)top); i++) {
		const struct rtp_prof_func *f = &p->funcs[t[i].func];
		double self = 100.0 * (double)t[i].self / (double)total, all = 100.0 * (double)t[i].total / (double)total;

		if (all < 0.05) /* rounds to 0.0% both ways: noise */
			continue;
		SAFE(name, f->name);
		SAFE(file, f->file);
		if (f->file[0] && f->firstline > 0)
			fprintf(out, "  %5.1f%% %5.1f%%  %-48s %s:%d\n", self, all, name, file, f->firstline);
		else if (f->file[0]) /* a line not known (native code, a script not read) */
			fprintf(out, "  %5.1f%% %5.1f%%  %-48s %s\n", self, all, name, file);
		else
			fprintf(out, "  %5.1f%% %5.1f%%  %s\n", self, all, name);
	}
	if (kind == RTP_PROF_CPU)
		fprintf(out, "  in the kernel (system calls, faults, interrupts): %.1f%% of the samples, counted in the "
			"functions above\n", 100.0 * (double)in_kernel / (double)total);
	if (sampled)
		fprintf(out, "  %.1f%% of it estimated: waits under 1 ms in syscalls, sampled 1 in %d like the calls "
			"(--exact-latency: all)\n", 100.0 * (double)sampled / (double)total, RTP_PY_SYS_EVERY);
	fputc('\n', out);
	free(t);
}

static void print_profiles(FILE *out, const struct rtp_profiles *p, int top)
{
	char safe[256];

	for (size_t i = 0; i < p->n_procs; i++) {
		const struct rtp_prof_proc *pp = &p->procs[i];

		if (pp->unavailable[0])
			fprintf(out, "Python stacks of %d: not sampled: %s\n", (int)pp->pid, SAFE(safe, pp->unavailable));
	}
	for (unsigned int k = 0; k < RTP_PROF_KINDS; k++)
		if (k != RTP_PROF_SYSCALL && k != RTP_PROF_LOOP) /* under each syscall's row, each event loop's */
			print_top_functions(out, p, k, top);
}

void render_runtime_text(FILE *out, const struct rtp_report *r)
{
	if (!r->n_runtimes)
		fprintf(out, "no python or node process in this report (or runtime metrics were off)\n");
	print_runtimes(out, r);
}

void render_text(FILE *out, const struct rtp_report *r, const struct render_opts *opts)
{
	print_process(out, r);
	print_syscalls(out, r, opts ? opts->top_syscalls : 0);
	print_processes(out, r, opts ? opts->top_syscalls : 0);
	print_threads(out, r);
	print_thread_syscalls(out, r, opts ? opts->top_syscalls : 0);
	print_runtimes(out, r);
	if (r->profiles)
		print_profiles(out, r->profiles, opts ? opts->top_syscalls : 0);
	print_hist(out, "Run-queue latency (wakeup or preemption to running, all target threads)", r->runq_hist,
		   RTP_HIST_SLOTS);
	fprintf(out, "lost events: %" PRIu64 "\n", r->lost_events);
	if (r->warning[0]) {
		char warning[sizeof(r->warning)];

		fprintf(out, "warning: %s\n", SAFE(warning, r->warning));
	}
	if (r->thread_drops || r->proc_drops || r->syscalls_unaggregated)
		fprintf(out, "not tracked: %" PRIu64 " thread events (thread table full), %" PRIu64
			" forked processes (target table full), %" PRIu64 " syscalls (number out of range)\n",
			r->thread_drops, r->proc_drops, r->syscalls_unaggregated);
	if (r->errno_drops)
		fprintf(out, "not broken down by errno: %" PRIu64 " failed syscalls (errno table full)\n", r->errno_drops);
	if (r->err_path_drops)
		fprintf(out, "not broken down by path: %" PRIu64 " failed calls (more than %d distinct paths, or the path "
			"was unreadable)\n", r->err_path_drops, RTP_ERR_PATHS_PER_SLOT);
}

