// SPDX-License-Identifier: LGPL-2.1-or-later
/* The per-thread state timeline of a trace. Records are not strictly in time order across CPUs
 * (docs/trace-format.md), so the scheduling events are collected, sorted by thread and time, and then
 * replayed through one state machine per thread -- with the switch classification of bpf/accounting.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/vec.h"
#include "accounting.h"
#include "base/tidtab.h"
#include "model/profiles.h"
#include "trace/timeline.h"

/* A switch-out whose kernel CPU time exceeds the running time the records show by more than this is taken as
 * the trace missing a switch-out/switch-in pair; below it is the usual gap between the kernel's clock and event
 * timestamps around a wakeup (0-40 us measured on this project's VMs). */
#define MISSING_RUN_NS 100000

enum sched_ev_kind {
	EV_BORN, /* created under tracing */
	EV_WAKE,
	EV_IN,   /* switched in */
	EV_OUT,  /* switched out; `state` is where it went */
	EV_EXIT,
	EV_BASE, /* the kernel's CPU time of a thread alive when recording began */
};

struct sched_ev {
	uint64_t ts;
	uint64_t oncpu_ns; /* EV_OUT, EV_BASE: the kernel's CPU time of the thread (se.sum_exec_runtime) */
	uint32_t tid;
	uint32_t seq; /* file order: ties at one timestamp keep it */
	uint32_t cpu;
	uint8_t kind;  /* enum sched_ev_kind */
	uint8_t state; /* EV_OUT: enum thread_state, or TSTATE_NONE when it died */
};

struct load_thr {
	uint32_t tid, tgid;
	char comm[RTP_COMM_LEN];
};

struct loader {
	struct tidtab thr; /* struct load_thr, at most TRACE_MAX_THREADS */
	struct sched_ev *ev;
	size_t n_ev, cap_ev;
	uint64_t ev_dropped; /* beyond TIMELINE_MAX_EVENTS */
	uint64_t cut_ns;     /* the time of the first of them */
	struct tidtab procs; /* struct timeline_process, at most TRACE_MAX_PROCS */
	uint64_t last_ts;
	uint32_t seq;
};

const char *thread_state__name(enum thread_state s)
{
	switch (s) {
	case TSTATE_RUNNING:
		return "running";
	case TSTATE_RUNNABLE:
		return "runnable";
	case TSTATE_SLEEPING:
		return "sleeping";
	case TSTATE_BLOCKED:
		return "blocked";
	default:
		return "none";
	}
}

/* The thread tid, created on first sight: 0 or -ENOMEM; *t NULL for tid 0 (not traced) or a thread beyond
 * the table (counted). */
static int thr_get(struct loader *l, uint32_t tid, struct load_thr **t)
{
	return tidtab__lookup(&l->thr, tid, (void **)t);
}

static int add_ev(struct loader *l, uint64_t ts, uint32_t tid, enum sched_ev_kind kind, uint32_t cpu,
		  enum thread_state state, uint64_t oncpu_ns)
{
	if (l->n_ev >= TIMELINE_MAX_EVENTS || l->ev_dropped) {
		if (!l->ev_dropped++)
			l->cut_ns = ts;
		return 0;
	}
	if (vec__grow(&l->ev, &l->cap_ev, l->n_ev))
		return -ENOMEM;
	l->ev[l->n_ev++] = (struct sched_ev){
		.ts = ts, .oncpu_ns = oncpu_ns, .tid = tid, .seq = l->seq++, .cpu = cpu, .kind = (uint8_t)kind,
		.state = (uint8_t)state,
	};
	return 0;
}


/* Where a thread switched out goes: the probes' and the report's reading of prev_state. */
static enum thread_state state_after_switch(const struct rtp_tr_switch *sw)
{
	switch (rtp_off_state(sw->preempt != 0, sw->prev_state)) {
	case RTP_OFF_RUNNABLE:
		return TSTATE_RUNNABLE;
	case RTP_OFF_BLOCKED:
		return TSTATE_BLOCKED;
	case RTP_OFF_DEAD:
		return TSTATE_NONE;
	default:
		return TSTATE_SLEEPING;
	}
}

static int apply(struct loader *l, const struct trace_rec *rec, const struct timeline_opts *opts)
{
	uint64_t ts = trace_rec__ts(rec);
	struct timeline_process *p;
	struct load_thr *t;
	int err;

	if (ts > l->last_ts)
		l->last_ts = ts;
	switch (rec->type) {
	case RTP_TR_SYSCALL:
		return opts && opts->on_syscall ? opts->on_syscall(opts->ctx, &rec->sys) : 0;
	case RTP_TR_SWITCH:
		if ((err = thr_get(l, rec->sw.prev_tid, &t)))
			return err;
		if (t && (err = add_ev(l, ts, rec->sw.prev_tid, EV_OUT, rec->sw.cpu, state_after_switch(&rec->sw),
				       rec->sw.prev_oncpu_ns)))
			return err;
		if ((err = thr_get(l, rec->sw.next_tid, &t)))
			return err;
		return t ? add_ev(l, ts, rec->sw.next_tid, EV_IN, rec->sw.cpu, TSTATE_RUNNING, 0) : 0;
	case RTP_TR_WAKEUP:
		if ((err = thr_get(l, rec->wk.tid, &t)) || !t)
			return err;
		return add_ev(l, ts, rec->wk.tid, EV_WAKE, rec->wk.target_cpu, TSTATE_RUNNABLE, 0);
	case RTP_TR_MIGRATE:
		return thr_get(l, rec->wk.tid, &t);
	case RTP_TR_RUNTIME:
		return opts && opts->on_runtime ? opts->on_runtime(opts->ctx, &rec->rt) : 0;
	case TRACE_THREAD_BASE:
	case TRACE_THREAD_END:
		if ((err = thr_get(l, rec->th.tid, &t)) || !t)
			return err;
		t->tgid = rec->th.tgid;
		if (rec->type != TRACE_THREAD_BASE)
			return 0;
		memcpy(t->comm, rec->th.comm, sizeof(t->comm));
		return add_ev(l, ts, rec->th.tid, EV_BASE, 0, TSTATE_NONE, rec->th.oncpu_ns);
	case TRACE_PROC:
		if ((err = tidtab__lookup(&l->procs, rec->proc.pid, (void **)&p)) || !p)
			return err;
		p->runtime = (enum rtp_runtime_kind)rec->proc.runtime_kind;
		snprintf(p->runtime_version, sizeof(p->runtime_version), "%s", rec->proc.runtime_version);
		if (rec->proc.comm[0])
			memcpy(p->comm, rec->proc.comm, sizeof(p->comm));
		return 0;
	case RTP_REC_THREAD_NEW:
	case RTP_REC_PROC_NEW:
		if (rec->type == RTP_REC_PROC_NEW && !(rec->ev.flags & RTP_EV_FOLLOWED))
			return 0;
		if ((err = thr_get(l, rec->ev.tid, &t)) || !t)
			return err;
		t->tgid = rec->ev.tgid;
		memcpy(t->comm, rec->ev.comm, sizeof(t->comm));
		return add_ev(l, ts, rec->ev.tid, EV_BORN, rec->ev.cpu, TSTATE_NONE, 0);
	case RTP_REC_EXEC:
	case RTP_REC_RENAME:
		if ((err = thr_get(l, rec->ev.tid, &t)) || !t)
			return err;
		memcpy(t->comm, rec->ev.comm, sizeof(t->comm));
		if (rec->type == RTP_REC_EXEC)
			t->tgid = rec->ev.tgid;
		return 0;
	case RTP_REC_THREAD_EXIT:
		if ((err = thr_get(l, rec->ev.tid, &t)) || !t)
			return err;
		if (!t->tgid)
			t->tgid = rec->ev.tgid;
		return add_ev(l, ts, rec->ev.tid, EV_EXIT, rec->ev.cpu, TSTATE_NONE, 0);
	default:
		return 0;
	}
}

static int cmp_ev(const void *x, const void *y)
{
	const struct sched_ev *a = x, *b = y;

	if (a->tid != b->tid)
		return a->tid < b->tid ? -1 : 1;
	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	return (a->seq > b->seq) - (a->seq < b->seq);
}

static int cmp_thread(const void *x, const void *y)
{
	const struct timeline_thread *a = x, *b = y;

	return (a->tid > b->tid) - (a->tid < b->tid);
}

static int cmp_proc(const void *x, const void *y)
{
	const struct timeline_process *a = x, *b = y;

	return (a->pid > b->pid) - (a->pid < b->pid);
}

struct replay {
	struct timeline_thread *th;
	size_t cap;
	enum thread_state cur; /* TSTATE_NONE: nothing known yet, or dead */
	bool dead, exiting;
	bool have_oncpu;
	uint64_t oncpu_ns; /* the kernel's CPU time of the thread at its last switch-out (or birth, or base) */
	uint64_t since; /* when `cur` began; with cur == NONE, since when the thread is known alive */
	uint64_t last_out; /* its last switch-out, or since when it is known */
	uint32_t cpu;
	uint64_t inferred; /* runs placed from the kernel's CPU time */
};

static int emit(struct replay *rp, enum thread_state state, uint64_t start, uint64_t end, uint32_t cpu)
{
	struct state_span *last;

	if (state == TSTATE_NONE || end <= start)
		return 0;
	last = rp->th->n_spans ? &rp->th->spans[rp->th->n_spans - 1] : NULL;
	if (last && last->state == (uint32_t)state && last->end_ns == start && last->cpu == cpu) {
		last->end_ns = end; /* e.g. a wakeup of a thread already runnable after preemption */
		return 0;
	}
	if (vec__grow(&rp->th->spans, &rp->cap, rp->th->n_spans))
		return -ENOMEM;
	rp->th->spans[rp->th->n_spans++] = (struct state_span){ .start_ns = start, .end_ns = end,
								.state = (uint32_t)state, .cpu = cpu };
	return 0;
}

/* Draw the thread running over [from, to), over whatever was drawn there (never before its last switch-out). */
static int repaint_running(struct replay *rp, uint64_t from, uint64_t to, uint32_t cpu)
{
	struct timeline_thread *th = rp->th;

	while (th->n_spans && th->spans[th->n_spans - 1].end_ns > from) {
		struct state_span *last = &th->spans[th->n_spans - 1];

		if (last->start_ns >= from)
			th->n_spans--;
		else
			last->end_ns = from;
	}
	return emit(rp, TSTATE_RUNNING, from, to, cpu);
}

/* Replay one thread's events (sorted by time) into spans within [start, end]. Returns the number of
 * switch-ins that were missing (>= 0) or -errno. */
static int64_t replay_thread(struct timeline_thread *th, const struct sched_ev *ev, size_t n, uint64_t start,
			     uint64_t end)
{
	struct replay rp = { .th = th, .cur = TSTATE_NONE, .since = start, .last_out = start };
	uint64_t exit_ts = 0;
	int r;

	for (size_t i = 0; i < n; i++) {
		uint64_t ts = ev[i].ts < start ? start : ev[i].ts > end ? end : ev[i].ts;

		switch (ev[i].kind) {
		case EV_BORN:
			if (rp.cur == TSTATE_NONE) { /* first sight, or a tid reused after a death */
				rp.since = rp.last_out = ts;
				rp.dead = rp.exiting = false;
				rp.have_oncpu = true; /* a new task's sum_exec_runtime starts at 0 */
				rp.oncpu_ns = 0;
			}
			break;
		case EV_BASE:
			/* a base of 0 (a process spawned for the recording) counts from its fork: no reading */
			rp.have_oncpu = ev[i].oncpu_ns != 0;
			rp.oncpu_ns = ev[i].oncpu_ns;
			break;
		case EV_WAKE:
			if (rp.dead)
				break;
			if (rp.cur == TSTATE_NONE) {
				/* off CPU since we know of it; whether asleep or blocked is not known: say asleep */
				if ((r = emit(&rp, TSTATE_SLEEPING, rp.since, ts, 0)))
					return r;
			} else if (rp.cur == TSTATE_SLEEPING || rp.cur == TSTATE_BLOCKED) {
				if ((r = emit(&rp, rp.cur, rp.since, ts, 0)))
					return r;
			} else {
				break; /* running or already runnable */
			}
			rp.cur = TSTATE_RUNNABLE;
			rp.since = ts;
			break;
		case EV_IN:
			if (rp.dead) { /* a tid reused without a creation record */
				rp.dead = rp.exiting = rp.have_oncpu = false;
				rp.since = rp.last_out = ts;
			}
			/* before its first event, a thread switched in was waiting for a CPU */
			if ((r = emit(&rp, rp.cur == TSTATE_NONE ? TSTATE_RUNNABLE : rp.cur, rp.since, ts, rp.cpu)))
				return r;
			rp.cur = TSTATE_RUNNING;
			rp.since = ts;
			rp.cpu = ev[i].cpu;
			break;
		case EV_OUT:
			if (rp.dead)
				break;
			if (rp.cur == TSTATE_NONE) {
				/* first event a switch-out: it ran since we know of it */
				if ((r = emit(&rp, TSTATE_RUNNING, rp.since, ts, ev[i].cpu)))
					return r;
			} else {
				/* The kernel's CPU time since the last switch-out says how long it ran. More than the
				 * records show (a switch-out while runnable or asleep: its switch-in is missing; or a
				 * whole run missing): draw that much running right before this switch-out. */
				uint64_t shown = rp.cur == TSTATE_RUNNING ? ts - rp.since : 0, ran = 0;

				if ((r = emit(&rp, rp.cur, rp.since, ts, rp.cpu)))
					return r;
				if (rp.have_oncpu && ev[i].oncpu_ns > rp.oncpu_ns)
					ran = ev[i].oncpu_ns - rp.oncpu_ns;
				if (rp.cur != TSTATE_RUNNING || ran > shown + MISSING_RUN_NS) {
					uint64_t from = ts - rp.last_out > ran ? ts - ran : rp.last_out;

					if (rp.cur == TSTATE_RUNNING && from > rp.since)
						from = rp.since;
					if ((r = repaint_running(&rp, from, ts, ev[i].cpu)))
						return r;
					rp.inferred++;
				}
			}
			if (ev[i].oncpu_ns) {
				rp.have_oncpu = true;
				rp.oncpu_ns = ev[i].oncpu_ns;
			}
			rp.cur = rp.exiting ? TSTATE_NONE : (enum thread_state)ev[i].state;
			rp.since = rp.last_out = ts;
			rp.dead = rp.cur == TSTATE_NONE;
			break;
		case EV_EXIT:
			/* a thread exits running, and its last switch-out (TASK_DEAD) ends it */
			if (!rp.dead) {
				rp.exiting = true;
				exit_ts = ts;
			}
			break;
		}
	}
	if (rp.dead)
		return (int64_t)rp.inferred;
	if (rp.exiting) /* its last switch-out is not in the trace: end it at its exit */
		end = exit_ts > rp.since ? exit_ts : rp.since;
	/* alive at the end; a thread never scheduled while known was off CPU all along */
	if ((r = emit(&rp, rp.cur == TSTATE_NONE ? TSTATE_SLEEPING : rp.cur, rp.since, end, rp.cpu)))
		return r;
	return (int64_t)rp.inferred;
}

static int build(struct loader *l, struct timeline *tl)
{
	size_t e = 0;

	tl->threads = calloc(l->thr.n ? l->thr.n : 1, sizeof(*tl->threads));
	if (!tl->threads)
		return -ENOMEM;
	for (size_t i = 0; i < l->thr.n; i++) {
		struct timeline_thread *th = &tl->threads[tl->n_threads++];
		const struct load_thr *lt = tidtab__at(&l->thr, i);

		th->tid = lt->tid;
		th->tgid = lt->tgid;
		memcpy(th->name, lt->comm, sizeof(th->name));
		th->name[sizeof(th->name) - 1] = '\0';
	}
	if (tl->n_threads > 1)
		qsort(tl->threads, tl->n_threads, sizeof(*tl->threads), cmp_thread);
	if (l->n_ev > 1)
		qsort(l->ev, l->n_ev, sizeof(*l->ev), cmp_ev);
	for (size_t i = 0; i < tl->n_threads; i++) {
		struct timeline_thread *th = &tl->threads[i];
		size_t first;

		while (e < l->n_ev && l->ev[e].tid < th->tid)
			e++;
		first = e;
		while (e < l->n_ev && l->ev[e].tid == th->tid)
			e++;
		int64_t inferred = replay_thread(th, l->ev + first, e - first, tl->start_ns, tl->end_ns);

		if (inferred < 0)
			return (int)inferred;
		tl->inferred_runs += (uint64_t)inferred;
	}
	tl->procs = l->procs.items;
	tl->n_procs = l->procs.n;
	l->procs.items = NULL;
	if (tl->n_procs > 1)
		qsort(tl->procs, tl->n_procs, sizeof(*tl->procs), cmp_proc);
	return 0;
}

/* What the timeline leaves out of a trace bigger than it holds. */
static void limits_warning(struct timeline *tl)
{
	int n = 0;

	if (tl->thread_drops || tl->proc_drops)
		n = snprintf(tl->limits, sizeof(tl->limits),
			     "the trace has more threads or processes than a timeline holds (%d, %d): %" PRIu64
			     " records of the other threads and %" PRIu64 " of the other processes are left out",
			     TRACE_MAX_THREADS, TRACE_MAX_PROCS, tl->thread_drops, tl->proc_drops);
	if (tl->events_dropped && n >= 0 && (size_t)n < sizeof(tl->limits))
		snprintf(tl->limits + n, sizeof(tl->limits) - (size_t)n,
			 "%sthe trace has more scheduling events than a timeline holds (%u): it ends %.3f s in, at the "
			 "first of the %" PRIu64 " left out",
			 n ? "; " : "", TIMELINE_MAX_EVENTS, (double)(tl->end_ns - tl->start_ns) / 1e9, tl->events_dropped);
}

int timeline__load(const char *path, const struct timeline_opts *opts, struct timeline **out, char *err,
		   size_t errlen)
{
	struct trace_reader *rd = NULL;
	struct timeline *tl = NULL;
	const struct trace_footer *f;
	struct loader l = {
		.thr = TIDTAB_INIT_MAX(struct load_thr, TRACE_MAX_THREADS),
		.procs = TIDTAB_INIT_MAX(struct timeline_process, TRACE_MAX_PROCS),
	};
	struct trace_rec rec;
	const char *w;
	int r;

	r = trace_reader__open(path, &rd, err, errlen);
	if (r)
		return r;
	if (errlen)
		err[0] = '\0';
	tl = calloc(1, sizeof(*tl));
	if (!tl) {
		r = -ENOMEM;
		goto cleanup;
	}
	tl->header = *trace_reader__header(rd);
	tl->start_ns = tl->header.start_ns;
	tl->ncpus = tl->header.ncpus;
	if (opts && opts->on_header) {
		r = opts->on_header(opts->ctx, &tl->header);
		if (r)
			goto cleanup;
	}
	while ((r = trace_reader__next(rd, &rec)) == 1) {
		tl->records++;
		r = apply(&l, &rec, opts);
		if (r)
			goto cleanup;
	}
	if (r < 0)
		goto cleanup;
	f = trace_reader__footer(rd);
	tl->end_ns = f ? f->end_ns : l.last_ts;
	tl->events_dropped = l.ev_dropped;
	if (l.ev_dropped && l.cut_ns < tl->end_ns)
		tl->end_ns = l.cut_ns;
	if (tl->end_ns < tl->start_ns)
		tl->end_ns = tl->start_ns;
	tl->thread_drops = l.thr.dropped;
	tl->proc_drops = l.procs.dropped;
	r = build(&l, tl);
	if (r)
		goto cleanup;
	w = trace_reader__warning(rd);
	if (w)
		snprintf(tl->warning, sizeof(tl->warning), "%s", w);
	limits_warning(tl);
	tl->profiles = trace_reader__take_profiles(rd);
	*out = tl;
	tl = NULL;
cleanup:
	if (r < 0 && errlen && !err[0])
		snprintf(err, errlen, "reading %s: %s", path, strerror(-r));
	timeline__free(tl);
	trace_reader__free(rd);
	tidtab__free(&l.thr);
	free(l.ev);
	tidtab__free(&l.procs);
	return r;
}

void timeline__free(struct timeline *tl)
{
	if (!tl)
		return;
	for (size_t i = 0; i < tl->n_threads; i++)
		free(tl->threads[i].spans);
	free(tl->threads);
	free(tl->procs);
	profiles__free(tl->profiles);
	free(tl);
}

const struct timeline_thread *timeline__thread(const struct timeline *tl, uint32_t tid)
{
	struct timeline_thread key = { .tid = tid };

	if (!tl->n_threads)
		return NULL;
	return bsearch(&key, tl->threads, tl->n_threads, sizeof(key), cmp_thread);
}

const struct timeline_process *timeline__process(const struct timeline *tl, uint32_t pid)
{
	struct timeline_process key = { .pid = pid };

	if (!tl->n_procs)
		return NULL;
	return bsearch(&key, tl->procs, tl->n_procs, sizeof(key), cmp_proc);
}
