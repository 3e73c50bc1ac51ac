// SPDX-License-Identifier: LGPL-2.1-or-later
/* The report of a recorded trace: the same model, and the same arithmetic (bpf/accounting.h), as a live
 * session's (aggregate.c), computed from the records alone. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/vec.h"
#include "accounting.h"
#include "model/report.h"
#include "base/tidtab.h"
#include "sys/syscall_names.h"
#include "trace/replay.h"
#include "trace/trace.h"

struct thr {
	uint32_t tid, tgid, parent_tid, cpu;
	char comm[RTP_COMM_LEN];
	bool have_base, exited;
	uint64_t base_on, base_rq, last_on, last_rq;
	struct rtp_sched_acct sched; /* as the probes keep it (bpf/accounting.h) */
	uint64_t born_ts, exit_ts; /* 0: before the trace / after it */
	/* runtime metrics (RTP_TR_RUNTIME records; epoll waits for an event loop's idle time) */
	uint64_t gil_wait, gil_waits, gil_hold;
	uint64_t loop_busy, loop_iters, loop_max, epoll_idle;
};

/* A python or node process's runtime metrics, from its TRACE_RUNTIME record and its threads' records. */
struct rtacc {
	uint32_t pid;
	bool have_methods;
	struct trace_runtime m;
	struct rtp_report_rt_stat gc[RTP_RT_GC_KINDS];
	uint64_t gil_hist[RTP_HIST_SLOTS], loop_hist[RTP_HIST_SLOTS];
	uint64_t tp_kind[RTP_TP_KINDS], tp_count, tp_run, tp_max;
};

struct agg {
	struct tidtab thr; /* struct thr */
	struct rtp_sys_stats *sys;
	struct { uint16_t nr, err; uint64_t count; } *errnos;
	size_t n_errnos, cap_errnos;
	uint64_t runq_hist[RTP_HIST_SLOTS];
	uint64_t *busy; /* [ncpus] */
	uint32_t ncpus;
	struct rtp_report_target *targets;
	size_t n_targets, cap_targets;
	struct rtacc *rts;
	size_t n_rts, cap_rts;
	uint64_t last_ts;
	struct rtp_sysnrs nrs; /* the recording machine's */
};

static struct thr *thr_get(struct agg *a, uint32_t tid)
{
	return tidtab__get(&a->thr, tid);
}

static struct rtp_report_target *target_get(struct agg *a, uint32_t pid)
{
	for (size_t i = 0; i < a->n_targets; i++)
		if (a->targets[i].pid == (pid_t)pid)
			return &a->targets[i];
	if (vec__grow(&a->targets, &a->cap_targets, a->n_targets))
		return NULL;
	memset(&a->targets[a->n_targets], 0, sizeof(a->targets[0]));
	a->targets[a->n_targets].pid = (pid_t)pid;
	return &a->targets[a->n_targets++];
}

static struct rtacc *rtacc_find(struct agg *a, uint32_t pid)
{
	for (size_t i = 0; i < a->n_rts; i++)
		if (a->rts[i].pid == pid)
			return &a->rts[i];
	return NULL;
}

static struct rtacc *rtacc_get(struct agg *a, uint32_t pid)
{
	struct rtacc *found = rtacc_find(a, pid);

	if (found)
		return found;
	if (vec__grow(&a->rts, &a->cap_rts, a->n_rts))
		return NULL;
	memset(&a->rts[a->n_rts], 0, sizeof(a->rts[0]));
	a->rts[a->n_rts].pid = pid;
	return &a->rts[a->n_rts++];
}

static int apply_runtime(struct agg *a, const struct rtp_tr_runtime *r)
{
	struct thr *t = thr_get(a, r->tid);
	struct rtacc *acc;

	if (!t)
		return -ENOMEM;
	acc = rtacc_get(a, t->tgid ? t->tgid : r->tid);
	if (!acc)
		return -ENOMEM;
	switch (r->kind) {
	case RTP_TRK_GIL_WAIT:
		t->gil_wait += r->dur_ns;
		t->gil_waits++;
		acc->gil_hist[rtp_hist_slot(r->dur_ns)]++;
		break;
	case RTP_TRK_GIL_HOLD:
		t->gil_hold += r->dur_ns;
		break;
	case RTP_TRK_GC:
		if (r->arg < RTP_RT_GC_KINDS) {
			struct rtp_report_rt_stat *g = &acc->gc[r->arg];

			g->count++;
			g->total_ns += r->dur_ns;
			if (r->dur_ns > g->max_ns)
				g->max_ns = r->dur_ns;
		}
		break;
	case RTP_TRK_LOOP_BUSY:
		t->loop_busy += r->dur_ns;
		t->loop_iters++;
		if (r->dur_ns > t->loop_max)
			t->loop_max = r->dur_ns;
		acc->loop_hist[rtp_hist_slot(r->dur_ns)]++;
		break;
	case RTP_TRK_TP_TASK:
		if (r->arg < RTP_TP_KINDS)
			acc->tp_kind[r->arg]++;
		acc->tp_count++;
		acc->tp_run += r->dur_ns;
		if (r->dur_ns > acc->tp_max)
			acc->tp_max = r->dur_ns;
		break;
	default:
		break;
	}
	return 0;
}

static int add_errno(struct agg *a, uint16_t nr, uint16_t err)
{
	for (size_t i = 0; i < a->n_errnos; i++) {
		if (a->errnos[i].nr == nr && a->errnos[i].err == err) {
			a->errnos[i].count++;
			return 0;
		}
	}
	if (vec__grow(&a->errnos, &a->cap_errnos, a->n_errnos))
		return -ENOMEM;
	a->errnos[a->n_errnos].nr = nr;
	a->errnos[a->n_errnos].err = err;
	a->errnos[a->n_errnos++].count = 1;
	return 0;
}

/* The kernel's accounting of a thread as the trace saw it: the first reading is its base. */
static void thr_reading(struct thr *t, uint64_t on, uint64_t rq, uint64_t *busy, uint32_t cpu, uint32_t ncpus)
{
	if (!t->have_base) {
		t->have_base = true;
		t->base_on = t->last_on = on;
		t->base_rq = rq;
	}
	if (on >= t->last_on && cpu < ncpus)
		busy[cpu] += on - t->last_on;
	if (on > t->last_on)
		t->last_on = on;
	if (rq > t->last_rq)
		t->last_rq = rq;
}

static int apply(struct agg *a, const struct trace_rec *rec)
{
	struct rtp_report_target *tg;
	struct thr *t;
	uint64_t ts = trace_rec__ts(rec);

	if (ts > a->last_ts)
		a->last_ts = ts;
	switch (rec->type) {
	case RTP_TR_SYSCALL: {
		struct rtp_sys_stats *s;

		if (rec->sys.nr >= RTP_MAX_SYSCALLS)
			return 0;
		s = &a->sys[rec->sys.nr];
		s->count++;
		rtp_sys_timed(s, rec->sys.dur_ns);
		/* event-loop idle time: the waits the live probes timed, those entered once the process's runtime
		 * was known (its TRACE_RUNTIME record, which precedes them in the file) */
		if (rtp_sys_is_epoll_wait(&a->nrs, rec->sys.nr) && (t = thr_get(a, rec->sys.tid))) {
			const struct rtacc *acc = rtacc_find(a, t->tgid ? t->tgid : rec->sys.tid);

			if (acc && acc->have_methods && rec->sys.ts_ns >= acc->m.ts_ns)
				t->epoll_idle += rec->sys.dur_ns;
		}
		if (rtp_sys_failed(rec->sys.ret)) {
			s->errors++;
			return add_errno(a, (uint16_t)rec->sys.nr, (uint16_t)-rec->sys.ret);
		}
		return 0;
	}
	case RTP_TR_SWITCH:
		if ((t = thr_get(a, rec->sw.prev_tid))) {
			thr_reading(t, rec->sw.prev_oncpu_ns, rec->sw.prev_runq_ns, a->busy, rec->sw.cpu, a->ncpus);
			(void)rtp_acct_switch_out(&t->sched, rec->sw.preempt != 0, rec->sw.prev_state, ts);
		}
		if ((t = thr_get(a, rec->sw.next_tid))) {
			__u64 runq_wait;

			if (rtp_acct_switch_in(&t->sched, ts, &runq_wait))
				a->runq_hist[rtp_hist_slot(runq_wait)]++;
			t->cpu = rec->sw.cpu;
		}
		return 0;
	case RTP_TR_WAKEUP:
		t = thr_get(a, rec->wk.tid);
		if (t && !rtp_acct_running(&t->sched))
			rtp_acct_wakeup(&t->sched, ts);
		return 0;
	case RTP_TR_MIGRATE:
		if ((t = thr_get(a, rec->wk.tid)))
			rtp_acct_migrate(&t->sched);
		return 0;
	case RTP_TR_RUNTIME:
		return apply_runtime(a, &rec->rt);
	case TRACE_RUNTIME: {
		struct rtacc *acc = rtacc_get(a, rec->rtm.pid);

		if (!acc)
			return -ENOMEM;
		acc->m = rec->rtm;
		acc->have_methods = true;
		return 0;
	}
	case TRACE_THREAD_BASE:
	case TRACE_THREAD_END:
		if (!(t = thr_get(a, rec->th.tid)))
			return -ENOMEM;
		t->tgid = rec->th.tgid;
		if (rec->type == TRACE_THREAD_BASE) {
			memcpy(t->comm, rec->th.comm, sizeof(t->comm));
			t->have_base = false; /* this reading is the base */
			t->last_on = t->last_rq = 0;
		}
		thr_reading(t, rec->th.oncpu_ns, rec->th.runq_ns, a->busy,
			    rtp_acct_running(&t->sched) ? t->cpu : UINT32_MAX, a->ncpus);
		return 0;
	case TRACE_PROC:
		if (!(tg = target_get(a, rec->proc.pid)))
			return -ENOMEM;
		tg->runtime.kind = (enum rtp_runtime_kind)rec->proc.runtime_kind;
		snprintf(tg->runtime.version, sizeof(tg->runtime.version), "%s", rec->proc.runtime_version);
		snprintf(tg->runtime.exe, sizeof(tg->runtime.exe), "%s", rec->proc.exe);
		if (rec->proc.comm[0])
			memcpy(tg->comm, rec->proc.comm, sizeof(tg->comm));
		return 0;
	case RTP_REC_THREAD_NEW:
	case RTP_REC_PROC_NEW:
		if (rec->type == RTP_REC_PROC_NEW && !(rec->ev.flags & RTP_EV_FOLLOWED))
			return 0;
		if (!(t = thr_get(a, rec->ev.tid)))
			return -ENOMEM;
		t->tgid = rec->ev.tgid;
		t->parent_tid = rec->ev.parent_tid;
		memcpy(t->comm, rec->ev.comm, sizeof(t->comm));
		/* born under tracing: its accounting starts from zero */
		t->have_base = true;
		t->born_ts = ts;
		if (rec->type == RTP_REC_PROC_NEW && (tg = target_get(a, rec->ev.tgid)))
			memcpy(tg->comm, rec->ev.comm, sizeof(tg->comm));
		return 0;
	case RTP_REC_EXEC:
	case RTP_REC_RENAME:
		if ((t = thr_get(a, rec->ev.tid)))
			memcpy(t->comm, rec->ev.comm, sizeof(t->comm));
		if (rec->type == RTP_REC_EXEC && (tg = target_get(a, rec->ev.tgid)))
			memcpy(tg->comm, rec->ev.comm, sizeof(tg->comm));
		return 0;
	case RTP_REC_THREAD_EXIT:
		if ((t = thr_get(a, rec->ev.tid))) {
			t->exited = true;
			t->exit_ts = ts;
		}
		if ((rec->ev.flags & RTP_EV_GROUP_DEAD) && (tg = target_get(a, rec->ev.tgid)))
			tg->exited = true;
		return 0;
	default:
		return 0;
	}
}

static int cmp_syscall(const void *x, const void *y)
{
	const struct rtp_report_syscall *a = x, *b = y;

	if (a->total_ns != b->total_ns)
		return a->total_ns < b->total_ns ? 1 : -1;
	return (a->count < b->count) - (a->count > b->count);
}

static int cmp_errno(const void *x, const void *y)
{
	const struct rtp_report_errno *a = x, *b = y;

	return (a->count < b->count) - (a->count > b->count);
}

static int cmp_thread(const void *x, const void *y)
{
	const struct rtp_report_thread *a = x, *b = y;

	return (a->tid > b->tid) - (a->tid < b->tid);
}

/* The runtime section of the processes whose TRACE_RUNTIME record the trace has, as a live report has it
 * (rtmetrics.c), from the threads' records. What a trace does not hold: a threadpool task's submission (so
 * submitted = completed, no queue wait). */
static int build_runtimes(struct agg *a, struct rtp_report *rep, uint64_t start, uint64_t end)
{
	size_t n = 0;

	for (size_t i = 0; i < a->n_rts; i++)
		n += a->rts[i].have_methods;
	if (!n)
		return 0;
	rep->runtimes = calloc(n, sizeof(*rep->runtimes));
	if (!rep->runtimes)
		return -ENOMEM;
	for (size_t i = 0; i < a->n_rts; i++) {
		const struct rtacc *acc = &a->rts[i];
		struct rtp_report_runtime *o;
		bool futex = !strcmp(acc->m.gil_method, "futex");
		size_t nthr = 0;

		if (!acc->have_methods)
			continue;
		o = &rep->runtimes[rep->n_runtimes++];
		o->pid = (pid_t)acc->pid;
		o->kind = acc->m.runtime_kind == RTP_RUNTIME_NODE ? RTP_RUNTIME_NODE : RTP_RUNTIME_PYTHON;
		for (size_t k = 0; k < rep->n_targets; k++)
			if (rep->targets[k].pid == o->pid)
				snprintf(o->version, sizeof(o->version), "%s", rep->targets[k].runtime.version);
		snprintf(o->gil_method, sizeof(o->gil_method), "%s", acc->m.gil_method);
		snprintf(o->gil_unavailable, sizeof(o->gil_unavailable), "%s", acc->m.gil_unavailable);
		snprintf(o->gc_method, sizeof(o->gc_method), "%s", acc->m.gc_method);
		snprintf(o->gc_unavailable, sizeof(o->gc_unavailable), "%s", acc->m.gc_unavailable);
		snprintf(o->loop_method, sizeof(o->loop_method), "%s", acc->m.loop_method);
		snprintf(o->tp_method, sizeof(o->tp_method), "%s", acc->m.tp_method);
		snprintf(o->tp_unavailable, sizeof(o->tp_unavailable), "%s", acc->m.tp_unavailable);
		if (o->gil_method[0])
			snprintf(o->gil_notes, sizeof(o->gil_notes), "%s",
				 futex ? "from a trace; hold: on-CPU time outside the GIL waits (see the live report's notes)"
				       : "from a trace");
		o->n_gc_kinds = 3;
		memcpy(o->gc, acc->gc, sizeof(o->gc));
		memcpy(o->gil_wait_hist, acc->gil_hist, sizeof(o->gil_wait_hist));
		memcpy(o->loop_busy_hist, acc->loop_hist, sizeof(o->loop_busy_hist));
		memcpy(o->tp_kind, acc->tp_kind, sizeof(o->tp_kind));
		o->tp_submitted = o->tp_completed = acc->tp_count;
		o->tp_no_queue = true;
		o->tp_run_ns = acc->tp_run;
		o->tp_run_max_ns = acc->tp_max;
		for (size_t k = 0; k < a->thr.n; k++)
			nthr += ((const struct thr *)tidtab__at(&a->thr, k))->tgid == acc->pid;
		if (o->kind == RTP_RUNTIME_PYTHON && o->gil_method[0] && nthr) {
			o->gil_threads = calloc(nthr, sizeof(*o->gil_threads));
			if (!o->gil_threads)
				return -ENOMEM;
		}
		for (size_t k = 0; k < a->thr.n; k++) {
			const struct thr *t = tidtab__at(&a->thr, k);
			uint64_t from = t->born_ts > start ? t->born_ts : start, to = t->exit_ts && t->exit_ts < end ? t->exit_ts : end;
			char name[RTP_COMM_LEN];

			if (t->tgid != acc->pid)
				continue;
			if (t->tid == acc->pid && o->loop_method[0]) {
				o->loop_tid = (pid_t)t->tid;
				o->loop_busy_ns = t->loop_busy;
				o->loop_idle_ns = t->epoll_idle;
				o->loop_iters = t->loop_iters;
				o->loop_busy_max_ns = t->loop_max;
			}
			if (!o->gil_threads)
				continue;
			memcpy(name, t->comm, sizeof(name));
			name[sizeof(name) - 1] = '\0';
			report__gil_thread_add(o, (pid_t)t->tid, name, t->gil_wait, futex ? t->last_on - t->base_on : t->gil_hold,
					       t->gil_waits, from, to);
		}
	}
	return 0;
}

static int build(struct agg *a, const struct trace_header *h, const struct trace_footer *f, struct rtp_report *rep)
{
	uint64_t end = f ? f->end_ns : a->last_ts;

	rep->mode = strcmp(h->mode, "run") == 0 ? "run" : strcmp(h->mode, "attach") == 0 ? "attach" : "trace";
	rep->duration_ns = end > h->start_ns ? end - h->start_ns : 0;
	rep->exit_status = f ? f->exit_status : -1;
	rep->lost_events = f ? f->lost : 0;
	if (f) {
		rep->process.wall_s = f->wall_s;
		rep->process.cpu_user_s = f->cpu_user_s;
		rep->process.cpu_sys_s = f->cpu_sys_s;
		rep->process.max_rss_kb = f->max_rss_kb;
		rep->process.source = strcmp(f->process_source, "rusage") == 0 ? "rusage" : "procfs";
	} else {
		rep->process.wall_s = (double)rep->duration_ns / 1e9;
		rep->process.source = "trace";
	}
	/* the main target first, as in a live report */
	for (size_t i = 1; i < a->n_targets; i++) {
		if (a->targets[i].pid == (pid_t)h->target_pid) {
			struct rtp_report_target tmp = a->targets[0];

			a->targets[0] = a->targets[i];
			a->targets[i] = tmp;
		}
	}
	rep->targets = a->targets;
	rep->n_targets = a->n_targets;
	a->targets = NULL;

	rep->process.ncpus = (int)a->ncpus;
	rep->process.cpu_load_pct = calloc(a->ncpus ? a->ncpus : 1, sizeof(double));
	rep->syscalls = calloc(RTP_MAX_SYSCALLS, sizeof(*rep->syscalls));
	rep->threads = calloc(a->thr.n ? a->thr.n : 1, sizeof(*rep->threads));
	if (!rep->process.cpu_load_pct || !rep->syscalls || !rep->threads)
		return -ENOMEM;
	for (uint32_t c = 0; c < a->ncpus; c++)
		rep->process.cpu_load_pct[c] = rep->duration_ns ? 100.0 * (double)a->busy[c] / (double)rep->duration_ns : 0;
	for (unsigned int nr = 0; nr < RTP_MAX_SYSCALLS; nr++) {
		struct rtp_report_syscall *sc;

		if (!a->sys[nr].count)
			continue;
		sc = &rep->syscalls[rep->n_syscalls++];
		report__syscall_fill(sc, nr, syscall__name(nr), &a->sys[nr]);
		for (size_t i = 0, cap = 0; i < a->n_errnos; i++) {
			if (a->errnos[i].nr != nr)
				continue;
			if (vec__grow(&sc->errnos, &cap, sc->n_errnos))
				return -ENOMEM;
			sc->errnos[sc->n_errnos++] = (struct rtp_report_errno){ .err = a->errnos[i].err,
										.count = a->errnos[i].count };
		}
		if (sc->n_errnos > 1)
			qsort(sc->errnos, sc->n_errnos, sizeof(*sc->errnos), cmp_errno);
	}
	if (rep->n_syscalls > 1)
		qsort(rep->syscalls, rep->n_syscalls, sizeof(*rep->syscalls), cmp_syscall);
	for (size_t i = 0; i < a->thr.n; i++) {
		const struct thr *t = tidtab__at(&a->thr, i);
		struct rtp_report_thread *rt = &rep->threads[rep->n_threads++];
		__u64 sleep_ns, block_ns;

		rt->tid = (pid_t)t->tid;
		rt->tgid = (pid_t)t->tgid;
		rt->parent_tid = (pid_t)t->parent_tid;
		memcpy(rt->name, t->comm, sizeof(rt->name));
		rt->name[sizeof(rt->name) - 1] = '\0';
		rt->oncpu_ns = t->last_on - t->base_on;
		rt->runq_wait_ns = t->last_rq >= t->base_rq ? t->last_rq - t->base_rq : 0;
		rtp_acct_off_totals(&t->sched, end, t->exited, &sleep_ns, &block_ns);
		rt->sleep_ns = sleep_ns;
		rt->block_ns = block_ns;
		rt->vol_switches = t->sched.vol_switches;
		rt->invol_switches = t->sched.invol_switches;
		rt->migrations = t->sched.migrations;
		rt->exited = t->exited;
	}
	if (rep->n_threads > 1)
		qsort(rep->threads, rep->n_threads, sizeof(*rep->threads), cmp_thread);
	for (size_t i = 0; i < RTP_HIST_SLOTS; i++)
		rep->runq_hist[i] = a->runq_hist[i];
	return build_runtimes(a, rep, h->start_ns, end);
}

int report__from_trace(const char *path, struct rtp_report **out, char *warning, size_t wlen, char *err,
		       size_t errlen)
{
	struct trace_reader *rd = NULL;
	struct rtp_report *rep = NULL;
	struct agg a = { .thr = TIDTAB_INIT(struct thr) };
	const struct trace_footer *f;
	struct trace_rec rec;
	const char *w;
	int r;

	r = trace_reader__open(path, &rd, err, errlen);
	if (r)
		return r;
	a.ncpus = trace_reader__header(rd)->ncpus;
	a.nrs = trace_reader__header(rd)->sysnrs;
	a.sys = calloc(RTP_MAX_SYSCALLS, sizeof(*a.sys));
	a.busy = calloc(a.ncpus ? a.ncpus : 1, sizeof(*a.busy));
	rep = calloc(1, sizeof(*rep));
	if (!a.sys || !a.busy || !rep) {
		r = -ENOMEM;
		goto cleanup;
	}
	while ((r = trace_reader__next(rd, &rec)) == 1) {
		r = apply(&a, &rec);
		if (r)
			goto cleanup;
	}
	if (r < 0)
		goto cleanup;
	r = build(&a, trace_reader__header(rd), trace_reader__footer(rd), rep);
	if (r)
		goto cleanup;
	w = trace_reader__warning(rd);
	if (w) {
		snprintf(rep->warning, sizeof(rep->warning), "%s", w);
	} else if ((f = trace_reader__footer(rd)) && strcmp(f->stop_reason, "exit") && strcmp(f->stop_reason, "signal")) {
		snprintf(rep->warning, sizeof(rep->warning),
			 "the recording stopped before the session ended (%s): the trace covers its beginning only",
			 f->stop_reason);
		w = rep->warning;
	}
	if (warning && wlen)
		snprintf(warning, wlen, "%s", w ? w : "");
	*out = rep;
	rep = NULL;
cleanup:
	if (r < 0)
		snprintf(err, errlen, "reading %s: %s", path, strerror(-r));
	report__free(rep);
	trace_reader__free(rd);
	tidtab__free(&a.thr);
	free(a.sys);
	free(a.errnos);
	free(a.busy);
	free(a.targets);
	free(a.rts);
	return r;
}
