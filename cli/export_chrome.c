// SPDX-License-Identifier: LGPL-2.1-or-later
/* `rtprof export --format chrome`: Chrome Trace Event JSON for Perfetto UI, chrome://tracing and speedscope.
 * One track per thread, under its real pid and tid: its syscalls and runtime intervals, and its states
 * split at their bounds so that every slice nests (a syscall that blocked holds its running and sleeping
 * pieces); and per-CPU load counters of the targets. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/profiles.h"
#include "model/report.h"
#include "base/vec.h"
#include "export.h"

/* Cells of the CPU-load counters (buckets x CPUs) above which the bucket is widened. */
#define MAX_LOAD_CELLS (4u << 20)
/* Syscall slices, and runtime slices, held until the timeline is read (32 bytes each): the rest of a trace
 * is left out of the export and counted in otherData. */
#define MAX_SLICES (512u << 10)

struct sys_slice {
	uint64_t ts, dur;
	int64_t ret;
	uint32_t tid, nr;
};

struct rt_slice {
	uint64_t ts, dur;
	uint32_t tid, kind, arg;
};

struct chrome {
	struct jsonw *w;
	uint64_t min_syscall_ns;
	uint64_t bucket_ns;
	struct sys_slice *slices; /* syscalls at least min_syscall_ns long */
	size_t n_slices, cap_slices;
	struct rt_slice *rts; /* runtime intervals */
	size_t n_rts, cap_rts;
	uint64_t slices_dropped, rts_dropped; /* beyond MAX_SLICES */
};

static void *chrome_new(const struct export_opts *opts, struct jsonw *w, const struct trace_header *h)
{
	struct chrome *x = calloc(1, sizeof(*x));

	(void)h;
	if (!x)
		return NULL;
	x->w = w;
	x->min_syscall_ns = opts->min_syscall_ns;
	x->bucket_ns = opts->load_bucket_ns;
	return x;
}

static void chrome_free(void *state)
{
	struct chrome *x = state;

	if (!x)
		return;
	free(x->slices);
	free(x->rts);
	free(x);
}

static int chrome_on_syscall(void *state, const struct rtp_tr_syscall *sys)
{
	struct chrome *x = state;

	if (sys->dur_ns < x->min_syscall_ns)
		return 0;
	if (x->n_slices >= MAX_SLICES) {
		x->slices_dropped++;
		return 0;
	}
	if (vec__grow(&x->slices, &x->cap_slices, x->n_slices))
		return -ENOMEM;
	x->slices[x->n_slices++] = (struct sys_slice){ .ts = sys->ts_ns, .dur = sys->dur_ns, .ret = sys->ret,
						       .tid = sys->tid, .nr = sys->nr };
	return 0;
}

static int chrome_on_runtime(void *state, const struct rtp_tr_runtime *rt)
{
	struct chrome *x = state;

	if (x->n_rts >= MAX_SLICES) {
		x->rts_dropped++;
		return 0;
	}
	if (vec__grow(&x->rts, &x->cap_rts, x->n_rts))
		return -ENOMEM;
	x->rts[x->n_rts++] = (struct rt_slice){ .ts = rt->ts_ns, .dur = rt->dur_ns, .tid = rt->tid,
						.kind = rt->kind, .arg = rt->arg };
	return 0;
}

static uint32_t pid_of(const struct timeline *tl, const struct timeline_thread *th)
{
	if (th->tgid)
		return th->tgid;
	return tl->header.target_pid ? tl->header.target_pid : th->tid;
}

static const char *thread_label(const struct timeline_thread *th)
{
	return th->name[0] ? th->name : "?";
}

/* Microseconds with the nanoseconds as fraction, exactly: adjacent slices stay adjacent. */
static void us_field(struct jsonw *w, const char *key, uint64_t ns)
{
	jsonw__key(w, key);
	jsonw__numberf(w, "%" PRIu64 ".%03" PRIu64, ns / 1000, ns % 1000);
}

/* An event of the traceEvents array, one a line: {"ph":ph,"name":name,... the caller's fields, then }. */
static void event_begin(struct jsonw *w, const char *ph)
{
	jsonw__newline(w);
	jsonw__object_begin(w);
	jsonw__string_field(w, "ph", ph);
}

/* A metadata event: a track's (pid, tid) name or sort index. */
static void meta_name(struct jsonw *w, const char *what, uint32_t pid, uint32_t tid, const char *name)
{
	event_begin(w, "M");
	jsonw__string_field(w, "name", what);
	jsonw__uint_field(w, "pid", pid);
	jsonw__uint_field(w, "tid", tid);
	jsonw__key(w, "args");
	jsonw__object_begin(w);
	jsonw__string_field(w, "name", name);
	jsonw__object_end(w);
	jsonw__object_end(w);
}

static void meta_sort_index(struct jsonw *w, const char *what, uint32_t pid, uint32_t tid, size_t index)
{
	event_begin(w, "M");
	jsonw__string_field(w, "name", what);
	jsonw__uint_field(w, "pid", pid);
	jsonw__uint_field(w, "tid", tid);
	jsonw__key(w, "args");
	jsonw__object_begin(w);
	jsonw__uint_field(w, "sort_index", index);
	jsonw__object_end(w);
	jsonw__object_end(w);
}

/* A complete event ("X"): category, name, track and time; the caller adds args and ends it. */
static void slice_begin(struct jsonw *w, const char *cat, const char *name, uint32_t pid, uint32_t tid,
			uint64_t ts_ns, uint64_t dur_ns)
{
	event_begin(w, "X");
	jsonw__string_field(w, "cat", cat);
	jsonw__string_field(w, "name", name);
	jsonw__uint_field(w, "pid", pid);
	jsonw__uint_field(w, "tid", tid);
	us_field(w, "ts", ts_ns);
	us_field(w, "dur", dur_ns);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static int cmp_slice(const void *a, const void *b)
{
	const struct sys_slice *x = a, *y = b;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return (x->ts > y->ts) - (x->ts < y->ts);
}

/* by thread, then start; the longer first at the same start, so that what it contains nests in it */
static int cmp_rt_slice(const void *a, const void *b)
{
	const struct rt_slice *x = a, *y = b;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return (x->dur < y->dur) - (x->dur > y->dur);
}

static void chrome_process_names(struct chrome *x, const struct timeline *tl)
{
	uint32_t *pids = calloc(tl->n_threads ? tl->n_threads : 1, sizeof(*pids));
	size_t n = 0, rank = 1;

	if (!pids) {
		jsonw__fail(x->w, -ENOMEM);
		return;
	}
	for (size_t i = 0; i < tl->n_threads; i++)
		pids[n++] = pid_of(tl, &tl->threads[i]);
	if (n > 1)
		qsort(pids, n, sizeof(*pids), cmp_u32);
	for (size_t i = 0; i < n; i++) {
		const struct timeline_process *p;
		const struct timeline_thread *leader;
		const char *comm = NULL;
		char name[128];

		if (i && pids[i] == pids[i - 1])
			continue;
		p = timeline__process(tl, pids[i]);
		leader = timeline__thread(tl, pids[i]);
		if (p && p->comm[0])
			comm = p->comm;
		else if (leader && leader->name[0])
			comm = leader->name;
		if (p && p->runtime != RTP_RUNTIME_OTHER)
			snprintf(name, sizeof(name), "%s (%s %s)", comm ? comm : "?", runtime__kind_name(p->runtime),
				 p->runtime_version[0] ? p->runtime_version : "version unknown");
		else
			snprintf(name, sizeof(name), "%s", comm ? comm : "?");
		meta_name(x->w, "process_name", pids[i], pids[i], name);
		/* the traced command first, then the processes it forked */
		meta_sort_index(x->w, "process_sort_index", pids[i], pids[i],
				pids[i] == tl->header.target_pid ? (size_t)0 : rank++);
	}
	free(pids);
}

/* A thread's track: its name (consumers show its tid beside it) and its place, in the timeline's order. */
static void chrome_thread_meta(struct chrome *x, const struct timeline *tl, const struct timeline_thread *th,
			       size_t index)
{
	uint32_t pid = pid_of(tl, th);

	meta_name(x->w, "thread_name", pid, th->tid, thread_label(th));
	meta_sort_index(x->w, "thread_sort_index", pid, th->tid, index);
}

/* An event-loop iteration that blocked the loop (a loop block of the trace's stacks): what blocked it,
 * its innermost frames and its samples, in the slice's args. */
static void loop_block_args(struct jsonw *w, const struct rtp_profiles *p, uint32_t tid, uint64_t ts)
{
	struct rtp_prof_blame bl;
	char text[512];
	size_t i;

	for (i = 0; p && i < p->n_blocks; i++)
		if ((uint32_t)p->blocks[i].tid == tid && p->blocks[i].start_ns == ts)
			break;
	if (!p || i == p->n_blocks)
		return;
	profiles__block_blame(p, i, &bl);
	jsonw__key(w, "args");
	jsonw__object_begin(w);
	if (bl.row) {
		profiles__frames_text(p, bl.row, bl.depth, 3, text, sizeof(text));
		jsonw__string_field(w, "blocked_by", p->funcs[bl.func].name);
		jsonw__string_field(w, "stack", text);
		jsonw__uint_field(w, "blocked_by_samples", bl.samples);
	}
	jsonw__uint_field(w, "samples", p->blocks[i].samples);
	jsonw__object_end(w);
}

/* One slice of a thread's track, in ns since boot: a runtime interval, a syscall or a state piece. */
enum { EV_RUNTIME, EV_SYSCALL, EV_STATE };

struct tev {
	uint64_t start, end; /* laminar: any two nest or are apart */
	uint64_t end_out;    /* the end written: see chrome_thread */
	uint32_t type, idx;  /* EV_*, and its slice (x->rts, x->slices) or span (th->spans) */
};

/* by start; the longer first, so that what it holds follows it; a runtime interval around the syscall it
 * is (a GIL wait is a futex wait), a syscall around the state pieces it spans */
static int cmp_tev(const void *a, const void *b)
{
	const struct tev *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end > y->end ? -1 : 1;
	return (x->type > y->type) - (x->type < y->type);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static void state_slice(struct chrome *x, const struct timeline *tl, const struct timeline_thread *th,
			const struct tev *e)
{
	const struct state_span *sp = &th->spans[e->idx];

	slice_begin(x->w, "state", thread_state__name((enum thread_state)sp->state), pid_of(tl, th), th->tid,
		    e->start - tl->start_ns, e->end_out - e->start);
	if (sp->state == TSTATE_RUNNING) {
		jsonw__key(x->w, "args");
		jsonw__object_begin(x->w);
		jsonw__uint_field(x->w, "cpu", sp->cpu);
		jsonw__object_end(x->w);
	}
	jsonw__object_end(x->w);
}

/* A thread without syscall or runtime slices: its states as they are, each 1 ns short of the next. */
static void chrome_states(struct chrome *x, const struct timeline *tl, const struct timeline_thread *th)
{
	for (size_t i = 0; i < th->n_spans && !jsonw__err(x->w); i++) {
		const struct state_span *sp = &th->spans[i];
		struct tev e = { .start = sp->start_ns < tl->start_ns ? tl->start_ns : sp->start_ns,
				 .end_out = sp->end_ns > tl->end_ns ? tl->end_ns : sp->end_ns, .type = EV_STATE,
				 .idx = (uint32_t)i };

		if (i + 1 < th->n_spans && th->spans[i + 1].start_ns <= e.end_out)
			e.end_out--;
		if (e.end_out > e.start)
			state_slice(x, tl, th, &e);
	}
}

/* A syscall's slice: named by the call; a failure's errno in its args, never its return value (consumers
 * such as speedscope tell frames apart by name and args: one frame a value). */
static void syscall_slice(struct chrome *x, const struct timeline *tl, const struct timeline_thread *th,
			  const struct tev *e)
{
	const struct sys_slice *sl = &x->slices[e->idx];
	char buf[32];

	slice_begin(x->w, "syscall", export__syscall_name(sl->nr, buf, sizeof(buf)), pid_of(tl, th), th->tid,
		    e->start - tl->start_ns, e->end_out - e->start);
	if (sl->ret < 0 && sl->ret >= -4095) {
		char ebuf[16];

		jsonw__key(x->w, "args");
		jsonw__object_begin(x->w);
		jsonw__string_field(x->w, "errno", report__errno_name((int)-sl->ret, ebuf, sizeof(ebuf)));
		jsonw__object_end(x->w);
	}
	jsonw__object_end(x->w);
}

static void runtime_slice(struct chrome *x, const struct timeline *tl, const struct timeline_thread *th,
			  const struct tev *e)
{
	const struct rt_slice *sl = &x->rts[e->idx];
	char buf[32];

	slice_begin(x->w, "runtime", export__runtime_name(sl->kind, sl->arg, buf, sizeof(buf)), pid_of(tl, th),
		    th->tid, e->start - tl->start_ns, e->end_out - e->start);
	if (sl->kind == RTP_TRK_LOOP_BUSY)
		loop_block_args(x->w, tl->profiles, th->tid, sl->ts);
	jsonw__object_end(x->w);
}

/* The thread's track: its runtime intervals [r, r_end) and syscalls [s, s_end) of x's sorted arrays, and
 * its states. One track's slices must nest, and a syscall that blocked spans a running and a sleeping
 * state: the states are cut where the intervals begin and end, each piece within the innermost interval
 * around it. Two intervals that overlap partially (clock reads of two probes) are made to nest: the later
 * ends where the earlier does. Consumers add ts + dur in floating point: a slice ending exactly where a
 * later one begins, or where the slice around it ends, could end after it; such an end is written 1 ns
 * earlier. */
static int chrome_thread(struct chrome *x, const struct timeline *tl, const struct timeline_thread *th, size_t s,
			 size_t s_end, size_t r, size_t r_end)
{
	struct tev *v = NULL, *stack_v = NULL;
	uint64_t *bounds = NULL;
	size_t n = 0, nb = 0, n_iv, top = 0, cap_stack = 0, n_cont = (s_end - s) + (r_end - r);
	int err = 0;

	if (!n_cont) {
		chrome_states(x, tl, th);
		return 0;
	}
	/* the intervals, then the state pieces: the spans, each cut at most at every bound */
	v = calloc(n_cont + th->n_spans + 2 * n_cont, sizeof(*v));
	bounds = calloc(2 * n_cont, sizeof(*bounds));
	if (!v || !bounds) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = r; i < r_end; i++)
		v[n++] = (struct tev){ .start = x->rts[i].ts, .end = x->rts[i].ts + x->rts[i].dur, .type = EV_RUNTIME,
				       .idx = (uint32_t)i };
	for (size_t i = s; i < s_end; i++)
		v[n++] = (struct tev){ .start = x->slices[i].ts, .end = x->slices[i].ts + x->slices[i].dur,
				       .type = EV_SYSCALL, .idx = (uint32_t)i };
	/* the intervals within the trace, made laminar */
	for (size_t i = 0; i < n; i++) {
		if (v[i].start < tl->start_ns)
			v[i].start = tl->start_ns;
		if (v[i].end > tl->end_ns || v[i].end < v[i].start) /* a crafted duration may wrap */
			v[i].end = tl->end_ns;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_tev);
	n_iv = 0;
	for (size_t i = 0; i < n; i++) {
		struct tev e = v[i];

		while (top && stack_v[top - 1].end <= e.start)
			top--;
		if (top && e.end > stack_v[top - 1].end)
			e.end = stack_v[top - 1].end;
		if (e.end <= e.start)
			continue;
		if (vec__grow(&stack_v, &cap_stack, top)) {
			err = -ENOMEM;
			goto out;
		}
		stack_v[top++] = e;
		v[n_iv++] = e;
		bounds[nb++] = e.start;
		bounds[nb++] = e.end;
	}
	n = n_iv;
	if (nb > 1)
		qsort(bounds, nb, sizeof(*bounds), cmp_u64);
	/* the states, cut at every bound of an interval inside them */
	for (size_t i = 0; i < th->n_spans && !err; i++) {
		const struct state_span *sp = &th->spans[i];
		uint64_t a = sp->start_ns < tl->start_ns ? tl->start_ns : sp->start_ns;
		uint64_t b = sp->end_ns > tl->end_ns ? tl->end_ns : sp->end_ns;
		size_t lo = 0, hi = nb;

		if (b <= a)
			continue;
		while (lo < hi) { /* the first bound after a */
			size_t mid = lo + (hi - lo) / 2;

			if (bounds[mid] <= a)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < nb && bounds[lo] < b; lo++) {
			if (bounds[lo] == a)
				continue; /* a bound twice */
			v[n++] = (struct tev){ .start = a, .end = bounds[lo], .type = EV_STATE, .idx = (uint32_t)i };
			a = bounds[lo];
		}
		if (a < b)
			v[n++] = (struct tev){ .start = a, .end = b, .type = EV_STATE, .idx = (uint32_t)i };
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_tev);
	/* the ends written: 1 ns short of a later slice's start (the next one's is the smallest), and within the
	 * written end of the slice around it, 1 ns short of it unless both start together */
	top = 0;
	for (size_t i = 0; i < n; i++) {
		struct tev *e = &v[i];
		size_t lo = i + 1, hi = n;

		e->end_out = e->end;
		while (lo < hi) { /* a later slice that starts where this one ends */
			size_t mid = lo + (hi - lo) / 2;

			if (v[mid].start < e->end)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < n && v[lo].start == e->end)
			e->end_out = e->end - 1;
		while (top && stack_v[top - 1].end <= e->start)
			top--;
		if (top) {
			const struct tev *p = &stack_v[top - 1];

			if (e->end_out > p->end_out)
				e->end_out = p->end_out;
			if (e->end_out == p->end_out && e->start != p->start)
				e->end_out--;
		}
		if (vec__grow(&stack_v, &cap_stack, top)) {
			err = -ENOMEM;
			goto out;
		}
		stack_v[top++] = *e;
	}
	for (size_t i = 0; i < n && !jsonw__err(x->w); i++) {
		const struct tev *e = &v[i];

		if (e->end_out <= e->start)
			continue;
		if (e->type == EV_STATE)
			state_slice(x, tl, th, e);
		else if (e->type == EV_SYSCALL)
			syscall_slice(x, tl, th, e);
		else
			runtime_slice(x, tl, th, e);
	}
out:
	free(v);
	free(stack_v);
	free(bounds);
	return err;
}

static void load_counter(struct jsonw *w, uint32_t cpu, uint32_t pid, uint64_t ts_ns, double pct)
{
	char name[32];

	snprintf(name, sizeof(name), "cpu %u busy", cpu);
	event_begin(w, "C");
	jsonw__string_field(w, "name", name);
	jsonw__uint_field(w, "pid", pid);
	us_field(w, "ts", ts_ns);
	jsonw__key(w, "args");
	jsonw__object_begin(w);
	jsonw__key(w, "%");
	jsonw__numberf(w, "%.1f", pct);
	jsonw__object_end(w);
	jsonw__object_end(w);
}

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

/* Per-CPU busy share of the targets per bucket, from the running spans. The trace's times are outside
 * input (a footer may say its end is 2^64-1): no product or sum here may wrap. A span adds its partial first
 * and last buckets to `busy`, and the whole ones between to `whole` as a difference (+1 from, -1 after):
 * the work is per span and per bucket, not per span times bucket (65536 threads running across 4 M buckets). */
static void chrome_load(struct chrome *x, const struct timeline *tl)
{
	uint64_t span = tl->end_ns - tl->start_ns, nb, bucket_ns = x->bucket_ns, cells;
	uint32_t ncpus = tl->ncpus, pid = tl->header.target_pid;
	uint64_t *busy;
	int32_t *whole; /* [nb + 1][ncpus] */

	if (!span || !ncpus || ncpus > MAX_LOAD_CELLS)
		return;
	nb = div_up(span, bucket_ns);
	cells = MAX_LOAD_CELLS / ncpus; /* buckets per CPU at most */
	if (nb > cells) {
		bucket_ns = div_up(span, cells);
		nb = div_up(span, bucket_ns);
		fprintf(stderr, "rtprof: note: CPU load buckets widened to %" PRIu64 " us for a trace this long\n",
			bucket_ns / 1000);
	}
	if (!pid && tl->n_threads)
		pid = pid_of(tl, &tl->threads[0]);
	busy = calloc(nb * ncpus, sizeof(*busy));
	whole = calloc((nb + 1) * ncpus, sizeof(*whole));
	if (!busy || !whole) {
		free(busy);
		free(whole);
		jsonw__fail(x->w, -ENOMEM);
		return;
	}
	for (size_t t = 0; t < tl->n_threads; t++) {
		const struct timeline_thread *th = &tl->threads[t];

		for (size_t i = 0; i < th->n_spans; i++) {
			const struct state_span *s = &th->spans[i];
			uint64_t a, b, first, last;

			if (s->state != TSTATE_RUNNING || s->cpu >= ncpus || s->start_ns < tl->start_ns ||
			    s->end_ns > tl->end_ns || s->end_ns <= s->start_ns)
				continue;
			a = s->start_ns - tl->start_ns;
			b = s->end_ns - tl->start_ns; /* <= span */
			first = a / bucket_ns;
			last = (b - 1) / bucket_ns; /* < nb */
			if (first == last) {
				busy[first * ncpus + s->cpu] += b - a;
				continue;
			}
			/* first < last: the first bucket is a whole one, ending within the span */
			busy[first * ncpus + s->cpu] += first * bucket_ns + bucket_ns - a;
			busy[last * ncpus + s->cpu] += b - last * bucket_ns;
			whole[(first + 1) * ncpus + s->cpu]++;
			whole[last * ncpus + s->cpu]--;
		}
	}
	for (uint32_t c = 0; c < ncpus; c++) {
		int64_t n = 0;

		for (uint64_t k = 0; k < nb; k++) {
			uint64_t *cell = &busy[k * ncpus + c];

			/* never the last bucket, which may be shorter; spans of a crafted trace may overlap */
			n += whole[k * ncpus + c];
			if (n > 0)
				*cell = bucket_ns > (UINT64_MAX - *cell) / (uint64_t)n ? UINT64_MAX : *cell + (uint64_t)n * bucket_ns;
		}
	}
	free(whole);
	for (uint32_t c = 0; c < ncpus && !jsonw__err(x->w); c++) {
		double last = -1;

		for (uint64_t k = 0; k < nb; k++) {
			uint64_t len = k == nb - 1 ? span - k * bucket_ns : bucket_ns;
			double pct = 100.0 * (double)busy[k * ncpus + c] / (double)len;

			pct = (double)(int64_t)(pct * 10 + 0.5) / 10; /* one decimal: repeats collapse */
			if (pct == last)
				continue; /* a counter holds its value until the next sample */
			last = pct;
			load_counter(x->w, c, pid, k * bucket_ns, pct);
		}
		load_counter(x->w, c, pid, span, 0.0);
	}
	free(busy);
}

static void chrome_head(struct chrome *x, const struct timeline *tl)
{
	const struct trace_header *h = &tl->header;

	jsonw__object_begin(x->w);
	jsonw__string_field(x->w, "displayTimeUnit", "ms");
	jsonw__key(x->w, "otherData");
	jsonw__object_begin(x->w);
	jsonw__string_field(x->w, "producer", "rtprof " RTPROF_VERSION);
	jsonw__string_field(x->w, "command", h->command);
	jsonw__string_field(x->w, "host", h->host);
	jsonw__string_field(x->w, "kernel", h->kernel);
	jsonw__string_field(x->w, "mode", !strcmp(h->mode, "attach") ? "attach" : "run");
	jsonw__uint_field(x->w, "target_pid", h->target_pid);
	jsonw__uint_field(x->w, "ncpus", tl->ncpus);
	jsonw__uint_field(x->w, "start_ns", tl->start_ns);
	jsonw__uint_field(x->w, "duration_ns", tl->end_ns - tl->start_ns);
	jsonw__uint_field(x->w, "min_syscall_us", x->min_syscall_ns / 1000);
	jsonw__uint_field(x->w, "load_bucket_us", x->bucket_ns / 1000);
	/* what a trace bigger than an export holds left out (docs/export.md) */
	jsonw__uint_field(x->w, "thread_drops", tl->thread_drops);
	jsonw__uint_field(x->w, "proc_drops", tl->proc_drops);
	jsonw__uint_field(x->w, "sched_events_dropped", tl->events_dropped);
	jsonw__uint_field(x->w, "syscall_slices_dropped", x->slices_dropped);
	jsonw__uint_field(x->w, "runtime_slices_dropped", x->rts_dropped);
	jsonw__object_end(x->w);
	jsonw__newline(x->w);
	jsonw__key(x->w, "traceEvents");
	jsonw__array_begin(x->w);
}

static int chrome_finish(void *state, const struct timeline *tl)
{
	struct chrome *x = state;
	size_t s = 0, r = 0;

	if (x->slices_dropped || x->rts_dropped)
		fprintf(stderr, "rtprof: warning: the export holds %u syscall slices and %u runtime slices: %" PRIu64
			" and %" PRIu64 " more are left out\n", MAX_SLICES, MAX_SLICES, x->slices_dropped, x->rts_dropped);
	if (x->n_slices > 1)
		qsort(x->slices, x->n_slices, sizeof(*x->slices), cmp_slice);
	if (x->n_rts > 1)
		qsort(x->rts, x->n_rts, sizeof(*x->rts), cmp_rt_slice);
	chrome_head(x, tl);
	chrome_process_names(x, tl);
	for (size_t i = 0; i < tl->n_threads; i++)
		chrome_thread_meta(x, tl, &tl->threads[i], i);
	/* each thread's track in time order (the threads by tid, as the slices); syscalls and runtime intervals of
	 * a thread without scheduling records have no track to go on */
	for (size_t i = 0; i < tl->n_threads && !jsonw__err(x->w); i++) {
		const struct timeline_thread *th = &tl->threads[i];
		size_t s_end, r_end;
		int err;

		while (s < x->n_slices && x->slices[s].tid < th->tid)
			s++;
		for (s_end = s; s_end < x->n_slices && x->slices[s_end].tid == th->tid; s_end++)
			;
		while (r < x->n_rts && x->rts[r].tid < th->tid)
			r++;
		for (r_end = r; r_end < x->n_rts && x->rts[r_end].tid == th->tid; r_end++)
			;
		err = chrome_thread(x, tl, th, s, s_end, r, r_end);
		if (err)
			jsonw__fail(x->w, err);
		s = s_end;
		r = r_end;
	}
	chrome_load(x, tl);
	jsonw__newline(x->w);
	jsonw__array_end(x->w);
	jsonw__object_end(x->w);
	jsonw__raw(x->w, "\n", 1);
	return jsonw__err(x->w);
}

const struct exporter export_chrome = {
	.name = "chrome",
	.new = chrome_new,
	.on_syscall = chrome_on_syscall,
	.on_runtime = chrome_on_runtime,
	.finish = chrome_finish,
	.free = chrome_free,
};
