// SPDX-License-Identifier: LGPL-2.1-or-later
/* The report of a recorded trace: the same model, and the same arithmetic (bpf/accounting.h), as a live
 * session's (aggregate.c), computed from the records alone. */
#include <errno.h>
#include <json-c/json.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/vec.h"
#include "accounting.h"
#include "model/report.h"
#include "base/tidtab.h"
#include "sys/syscall_names.h"
#include "model/report_fields.h"
#include "trace/replay.h"
#include "trace/trace.h"

struct thr {
	uint32_t tid, tgid, parent_tid, cpu;
	char comm[RTP_COMM_LEN];
	bool have_base, exited;
	uint64_t base_on, base_rq, last_on, last_rq;
	uint64_t base_ts; /* when base_on/base_rq were read (0: the thread was born under tracing, base 0) */
	uint32_t base_cpu;
	struct rtp_sched_acct sched; /* as the probes keep it (bpf/accounting.h) */
	uint64_t born_ts, exit_ts; /* 0: before the trace / after it */
	/* runtime metrics (RTP_TR_RUNTIME records; epoll waits for an event loop's idle time) */
	uint64_t gil_wait, gil_waits, gil_hold;
	uint64_t loop_busy, loop_iters, loop_max, epoll_idle;
	uint64_t gc_count, gc_ns, gc_max;
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

/* A (syscall, errno) pair's failures; key: nr << 16 | errno, never 0 (errno >= 1). */
struct errno_acc {
	uint32_t key;
	uint64_t count;
};

struct agg {
	struct tidtab thr; /* struct thr, at most TRACE_MAX_THREADS */
	struct rtp_sys_stats *sys;
	struct tidtab errnos; /* struct errno_acc, at most RTP_DEFAULT_MAX_ERRNO_KEYS as a live session */
	uint64_t runq_hist[RTP_HIST_SLOTS];
	uint64_t *busy; /* [ncpus] */
	uint32_t ncpus;
	struct tidtab targets; /* struct rtp_report_target, by pid; at most TRACE_MAX_PROCS */
	struct tidtab rts;     /* struct rtacc, by pid; at most TRACE_MAX_PROCS */
	uint64_t last_ts;
	struct rtp_sysnrs nrs; /* the recording machine's */
	/* REPORT_TRACE_PER_THREAD: (tid, nr) -> its calls, open addressing, grown at half full */
	bool per_thread;
	struct thread_sys_acc *tsys;
	size_t n_tsys, cap_tsys;
	uint64_t tsys_drops;
};

struct thread_sys_acc {
	uint32_t tid, nr; /* nr + 1: 0 is a free slot */
	struct rtp_thread_sys v;
};

static size_t tsys_slot(uint32_t tid, uint32_t nr, size_t cap)
{
	return (size_t)((((uint64_t)tid << 16 | nr) * 0x9e3779b97f4a7c15ull) >> 20) & (cap - 1);
}

/* The (tid, nr) entry: found, or made; NULL with *full when the table holds as many as the live one does
 * (the call is a drop), NULL alone when out of memory. */
static struct thread_sys_acc *tsys_get(struct agg *a, uint32_t tid, uint32_t nr, bool *full)
{
	size_t j;

	*full = false;
	for (j = a->cap_tsys ? tsys_slot(tid, nr + 1, a->cap_tsys) : 0; a->cap_tsys && a->tsys[j].nr;
	     j = (j + 1) & (a->cap_tsys - 1))
		if (a->tsys[j].tid == tid && a->tsys[j].nr == nr + 1)
			return &a->tsys[j];
	if (a->n_tsys >= RTP_DEFAULT_THREAD_SYS) {
		*full = true;
		return NULL;
	}
	if ((a->n_tsys + 1) * 2 > a->cap_tsys) {
		size_t cap = a->cap_tsys ? a->cap_tsys * 2 : 1024;
		struct thread_sys_acc *t = calloc(cap, sizeof(*t));

		if (!t)
			return NULL;
		for (size_t i = 0; i < a->cap_tsys; i++) {
			if (!a->tsys[i].nr)
				continue;
			for (j = tsys_slot(a->tsys[i].tid, a->tsys[i].nr, cap); t[j].nr; j = (j + 1) & (cap - 1))
				;
			t[j] = a->tsys[i];
		}
		free(a->tsys);
		a->tsys = t;
		a->cap_tsys = cap;
		for (j = tsys_slot(tid, nr + 1, cap); a->tsys[j].nr; j = (j + 1) & (cap - 1))
			;
	}
	a->tsys[j] = (struct thread_sys_acc){ .tid = tid, .nr = nr + 1 };
	a->n_tsys++;
	return &a->tsys[j];
}

/* The thread tid, created on first sight: 0 or -ENOMEM; *t NULL for tid 0 or a thread beyond the table
 * (counted). The same for the processes of the tables by pid. */
static int thr_get(struct agg *a, uint32_t tid, struct thr **t)
{
	return tidtab__lookup(&a->thr, tid, (void **)t);
}

static int target_get(struct agg *a, uint32_t pid, struct rtp_report_target **tg)
{
	return tidtab__lookup(&a->targets, pid, (void **)tg);
}

static int rtacc_get(struct agg *a, uint32_t pid, struct rtacc **acc)
{
	return tidtab__lookup(&a->rts, pid, (void **)acc);
}

static int apply_runtime(struct agg *a, const struct rtp_tr_runtime *r)
{
	struct thr *t;
	struct rtacc *acc;
	int err = thr_get(a, r->tid, &t);

	if (err || !t)
		return err;
	err = rtacc_get(a, t->tgid ? t->tgid : r->tid, &acc);
	if (err || !acc)
		return err;
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
			t->gc_count++;
			t->gc_ns += r->dur_ns;
			if (r->dur_ns > t->gc_max)
				t->gc_max = r->dur_ns;
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

/* nr < RTP_MAX_SYSCALLS, 1 <= err <= 4095 (rtp_sys_failed) */
static int add_errno(struct agg *a, uint32_t nr, uint32_t err)
{
	struct errno_acc *e;
	int r = tidtab__lookup(&a->errnos, nr << 16 | err, (void **)&e);

	if (!r && e)
		e->count++;
	return r;
}

/* The kernel's accounting of a thread as the trace saw it: the first reading is its base. */
static void thr_reading(struct thr *t, uint64_t ts, uint64_t on, uint64_t rq, uint64_t *busy, uint32_t cpu,
			uint32_t ncpus)
{
	if (!t->have_base) {
		t->have_base = true;
		t->base_on = t->last_on = on;
		t->base_rq = rq;
		t->base_ts = ts;
		t->base_cpu = cpu;
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
	int err;

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
		if (a->per_thread) {
			bool full;
			struct thread_sys_acc *acc = tsys_get(a, rec->sys.tid, rec->sys.nr, &full);

			if (!acc && !full)
				return -ENOMEM;
			if (!acc) {
				a->tsys_drops++;
				goto tsys_done;
			}
			acc->v.count++;
			acc->v.timed++;
			acc->v.total_ns += rec->sys.dur_ns;
			acc->v.errors += rtp_sys_failed(rec->sys.ret);
			if (rec->sys.dur_ns > acc->v.max_ns)
				acc->v.max_ns = rec->sys.dur_ns;
		}
tsys_done:
		/* event-loop idle time: the waits the live probes timed, those entered once the process's runtime
		 * was known (its TRACE_RUNTIME record, which precedes them in the file) */
		if (rtp_sys_is_epoll_wait(&a->nrs, rec->sys.nr)) {
			const struct rtacc *acc = NULL;

			if ((err = thr_get(a, rec->sys.tid, &t)))
				return err;
			if (t)
				acc = tidtab__find(&a->rts, t->tgid ? t->tgid : rec->sys.tid);
			if (acc && acc->have_methods && rec->sys.ts_ns >= acc->m.ts_ns)
				t->epoll_idle += rec->sys.dur_ns;
		}
		if (rtp_sys_failed(rec->sys.ret)) {
			s->errors++;
			return add_errno(a, rec->sys.nr, (uint32_t)-rec->sys.ret);
		}
		return 0;
	}
	case RTP_TR_SWITCH:
		if ((err = thr_get(a, rec->sw.prev_tid, &t)))
			return err;
		if (t) {
			thr_reading(t, ts, rec->sw.prev_oncpu_ns, rec->sw.prev_runq_ns, a->busy, rec->sw.cpu,
				    a->ncpus);
			(void)rtp_acct_switch_out(&t->sched, rec->sw.preempt != 0, rec->sw.prev_state, ts);
		}
		if ((err = thr_get(a, rec->sw.next_tid, &t)))
			return err;
		if (t) {
			__u64 runq_wait;

			if (rtp_acct_switch_in(&t->sched, ts, &runq_wait))
				a->runq_hist[rtp_hist_slot(runq_wait)]++;
			t->cpu = rec->sw.cpu;
		}
		return 0;
	case RTP_TR_WAKEUP:
		if ((err = thr_get(a, rec->wk.tid, &t)))
			return err;
		if (t && !rtp_acct_running(&t->sched))
			rtp_acct_wakeup(&t->sched, ts);
		return 0;
	case RTP_TR_MIGRATE:
		if ((err = thr_get(a, rec->wk.tid, &t)))
			return err;
		if (t)
			rtp_acct_migrate(&t->sched);
		return 0;
	case RTP_TR_RUNTIME:
		return apply_runtime(a, &rec->rt);
	case TRACE_RUNTIME: {
		struct rtacc *acc;

		if ((err = rtacc_get(a, rec->rtm.pid, &acc)) || !acc)
			return err;
		acc->m = rec->rtm;
		acc->have_methods = true;
		return 0;
	}
	case TRACE_THREAD_BASE:
	case TRACE_THREAD_END:
		if ((err = thr_get(a, rec->th.tid, &t)) || !t)
			return err;
		t->tgid = rec->th.tgid;
		if (rec->type == TRACE_THREAD_BASE) {
			memcpy(t->comm, rec->th.comm, sizeof(t->comm));
			t->have_base = false; /* this reading is the base */
			t->last_on = t->last_rq = 0;
			/* a spawned process's switches before it (engine seed_threads), as the live table has them */
			t->sched.vol_switches += rec->th.vol_switches;
			t->sched.invol_switches += rec->th.invol_switches;
		}
		thr_reading(t, ts, rec->th.oncpu_ns, rec->th.runq_ns, a->busy,
			    rtp_acct_running(&t->sched) ? t->cpu : UINT32_MAX, a->ncpus);
		return 0;
	case TRACE_PROC:
		if ((err = target_get(a, rec->proc.pid, &tg)) || !tg)
			return err;
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
		if ((err = thr_get(a, rec->ev.tid, &t)))
			return err;
		if (t) {
			t->tgid = rec->ev.tgid;
			t->parent_tid = rec->ev.parent_tid;
			memcpy(t->comm, rec->ev.comm, sizeof(t->comm));
			/* born under tracing: its accounting starts from zero. This record comes through the
			 * events ring, the thread's switches through the trace ring, and the two are written as
			 * they are read: a reading the thread gave after its birth may be in the file before
			 * this. Its CPU time and run-queue wait up to that reading (the wait for its first
			 * switch-in) then count from zero too, as the probes counted them. */
			if (t->have_base && t->base_ts && t->base_ts >= ts) {
				if (t->base_cpu < a->ncpus)
					a->busy[t->base_cpu] += t->base_on;
				t->base_on = t->base_rq = 0;
			}
			t->have_base = true;
			t->base_ts = 0;
			t->born_ts = ts;
		}
		if (rec->type != RTP_REC_PROC_NEW)
			return 0;
		if ((err = target_get(a, rec->ev.tgid, &tg)) || !tg)
			return err;
		memcpy(tg->comm, rec->ev.comm, sizeof(tg->comm));
		return 0;
	case RTP_REC_EXEC:
	case RTP_REC_RENAME:
		if ((err = thr_get(a, rec->ev.tid, &t)))
			return err;
		if (t)
			memcpy(t->comm, rec->ev.comm, sizeof(t->comm));
		if (rec->type != RTP_REC_EXEC)
			return 0;
		if ((err = target_get(a, rec->ev.tgid, &tg)) || !tg)
			return err;
		memcpy(tg->comm, rec->ev.comm, sizeof(tg->comm));
		return 0;
	case RTP_REC_THREAD_EXIT:
		if ((err = thr_get(a, rec->ev.tid, &t)))
			return err;
		if (t) {
			t->exited = true;
			t->exit_ts = ts;
		}
		if (!(rec->ev.flags & RTP_EV_GROUP_DEAD))
			return 0;
		if ((err = target_get(a, rec->ev.tgid, &tg)) || !tg)
			return err;
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

/* A thread of the table by process: the threads of a process in order of first sight. */
struct thr_ref {
	uint32_t tgid;
	uint32_t i;
};

static int cmp_thr_ref(const void *x, const void *y)
{
	const struct thr_ref *a = x, *b = y;

	if (a->tgid != b->tgid)
		return a->tgid < b->tgid ? -1 : 1;
	return (a->i > b->i) - (a->i < b->i);
}

/* The first of refs[n] (sorted by tgid) with this tgid, or n. */
static size_t thr_refs_of(const struct thr_ref *refs, size_t n, uint32_t tgid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (refs[mid].tgid < tgid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The runtime section of the processes whose TRACE_RUNTIME record the trace has, as a live report has it
 * (rtmetrics.c), from the threads' records. What a trace does not hold: a threadpool task's submission (so
 * submitted = completed, no queue wait). */
static int build_runtimes(struct agg *a, struct rtp_report *rep, uint64_t start, uint64_t end)
{
	struct thr_ref *refs;
	size_t n = 0;
	int r = -ENOMEM;

	for (size_t i = 0; i < a->rts.n; i++)
		n += ((const struct rtacc *)tidtab__at(&a->rts, i))->have_methods;
	if (!n)
		return 0;
	rep->runtimes = calloc(n, sizeof(*rep->runtimes));
	/* each process's threads found at once, not by a pass over all of them per process */
	refs = calloc(a->thr.n ? a->thr.n : 1, sizeof(*refs));
	if (!rep->runtimes || !refs)
		goto cleanup;
	for (size_t k = 0; k < a->thr.n; k++)
		refs[k] = (struct thr_ref){ .tgid = ((const struct thr *)tidtab__at(&a->thr, k))->tgid, .i = (uint32_t)k };
	if (a->thr.n > 1)
		qsort(refs, a->thr.n, sizeof(*refs), cmp_thr_ref);
	for (size_t i = 0; i < a->rts.n; i++) {
		const struct rtacc *acc = tidtab__at(&a->rts, i);
		struct rtp_report_runtime *o;
		bool futex = !strcmp(acc->m.gil_method, "futex");
		size_t first = thr_refs_of(refs, a->thr.n, acc->pid), nthr = 0;

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
		snprintf(o->probes_from, sizeof(o->probes_from), "%s", report__probes_from_name(acc->m.probes_from));
		o->probes_late_ns = acc->m.probes_from == RTP_PROBES_EXEC || acc->m.probes_from == RTP_PROBES_FORK
					    ? acc->m.probes_late_ns : 0;
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
		while (first + nthr < a->thr.n && refs[first + nthr].tgid == acc->pid)
			nthr++;
		if (o->kind == RTP_RUNTIME_PYTHON && o->gil_method[0] && nthr) {
			o->gil_threads = calloc(nthr, sizeof(*o->gil_threads));
			if (!o->gil_threads)
				goto cleanup;
		}
		if (o->kind == RTP_RUNTIME_NODE && nthr) {
			o->isolates = calloc(nthr, sizeof(*o->isolates));
			if (!o->isolates)
				goto cleanup;
		}
		for (size_t k = first; k < first + nthr; k++) {
			const struct thr *t = tidtab__at(&a->thr, refs[k].i);
			uint64_t from = t->born_ts > start ? t->born_ts : start, to = t->exit_ts && t->exit_ts < end ? t->exit_ts : end;
			char name[RTP_COMM_LEN];

			if (t->tid == acc->pid && o->loop_method[0]) {
				o->loop_tid = (pid_t)t->tid;
				o->loop_busy_ns = t->loop_busy;
				o->loop_idle_ns = t->epoll_idle;
				o->loop_iters = t->loop_iters;
				o->loop_busy_max_ns = t->loop_max;
			}
			memcpy(name, t->comm, sizeof(name));
			name[sizeof(name) - 1] = '\0';
			if (o->isolates) {
				struct rtp_report_thread row = { .tid = (pid_t)t->tid, .loop_busy_ns = t->loop_busy,
								 .loop_idle_ns = o->loop_method[0] ? t->epoll_idle : 0,
								 .loop_iters = t->loop_iters, .loop_busy_max_ns = t->loop_max,
								 .gc_count = t->gc_count, .gc_ns = t->gc_ns,
								 .gc_max_ns = t->gc_max };

				memcpy(row.name, name, sizeof(row.name));
				report__isolate_add(o, &row);
			}
			if (!o->gil_threads)
				continue;
			report__gil_thread_add(o, (pid_t)t->tid, name, t->gil_wait, futex ? t->last_on - t->base_on : t->gil_hold,
					       t->gil_waits, from, to);
		}
	}
	r = 0;
cleanup:
	free(refs);
	return r;
}

/* A recording stopped before its session ended (run -d, --max-size, a write error). */
static bool stopped_early(const struct trace_footer *f)
{
	return f && strcmp(f->stop_reason, "exit") && strcmp(f->stop_reason, "signal");
}

static int build(struct agg *a, const struct trace_header *h, const struct trace_footer *f, struct rtp_report *rep)
{
	/* stopped early: its report is of the window it recorded (the footer's end is the recording's); the
	 * footer's process figures are the session's */
	bool early = stopped_early(f);
	uint64_t end = f ? f->end_ns : a->last_ts, oncpu = 0;

	rep->mode = strcmp(h->mode, "run") == 0 ? "run" : strcmp(h->mode, "attach") == 0 ? "attach" : "trace";
	rep->duration_ns = end > h->start_ns ? end - h->start_ns : 0;
	rep->exit_status = f ? f->exit_status : -1;
	rep->lost_events = f ? f->lost : 0;
	if (f && !early) {
		rep->process.wall_s = f->wall_s;
		rep->process.cpu_user_s = f->cpu_user_s;
		rep->process.cpu_sys_s = f->cpu_sys_s;
		rep->process.max_rss_kb = f->max_rss_kb;
		rep->process.source = strcmp(f->process_source, "rusage") == 0 ? "rusage" : "procfs";
	} else {
		/* the window's: its length, and its threads' CPU time below (user and system not told apart);
		 * the peak memory is the session's, of which the window is the beginning */
		rep->process.wall_s = (double)rep->duration_ns / 1e9;
		rep->process.max_rss_kb = f ? f->max_rss_kb : 0;
		rep->process.source = "trace";
	}
	/* the main target first, as in a live report */
	rep->targets = a->targets.items;
	rep->n_targets = a->targets.n;
	a->targets.items = NULL;
	for (size_t i = 1; i < rep->n_targets; i++) {
		if (rep->targets[i].pid == (pid_t)h->target_pid) {
			struct rtp_report_target tmp = rep->targets[0];

			rep->targets[0] = rep->targets[i];
			rep->targets[i] = tmp;
		}
	}
	rep->thread_drops = a->thr.dropped;
	rep->proc_drops = a->targets.dropped + a->rts.dropped;
	rep->errno_drops = a->errnos.dropped;

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
		for (size_t i = 0, cap = 0; i < a->errnos.n; i++) {
			const struct errno_acc *e = tidtab__at(&a->errnos, i);

			if (e->key >> 16 != nr)
				continue;
			if (vec__grow(&sc->errnos, &cap, sc->n_errnos))
				return -ENOMEM;
			sc->errnos[sc->n_errnos++] = (struct rtp_report_errno){ .err = (int)(e->key & 0xffff),
										.count = e->count };
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
		oncpu += rt->oncpu_ns;
	}
	if (!f || early)
		rep->process.cpu_user_s = (double)oncpu / 1e9;
	if (rep->n_threads > 1)
		qsort(rep->threads, rep->n_threads, sizeof(*rep->threads), cmp_thread);
	for (size_t i = 0; i < RTP_HIST_SLOTS; i++)
		rep->runq_hist[i] = a->runq_hist[i];
	return build_runtimes(a, rep, h->start_ns, end);
}

/* The E block's failures by path, into the rows of their syscalls (o is put). 0 or -ENOMEM. */
static int apply_err_paths(struct rtp_report *rep, json_object *o)
{
	json_object *rows, *v;
	int r = 0;

	if (!o)
		return 0;
	if (json_object_object_get_ex(o, "drops", &v))
		rep->err_path_drops = (uint64_t)json_object_get_int64(v);
	if (json_object_object_get_ex(o, "syscalls", &rows) && json_object_is_type(rows, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(rows) && !r; i++) {
			json_object *row = json_object_array_get_idx(rows, i), *nr;

			if (!json_object_is_type(row, json_type_object) || !json_object_object_get_ex(row, "nr", &nr))
				continue;
			for (size_t k = 0; k < rep->n_syscalls; k++) {
				struct rtp_report_syscall *sc = &rep->syscalls[k];

				if ((int64_t)sc->nr == json_object_get_int64(nr) && !sc->err_paths)
					r = report__err_paths_read(row, "error_paths", sc);
			}
		}
	}
	json_object_put(o);
	return r;
}

/* The threads' syscalls, of the threads of the report. */
static int tsys_rows(const struct agg *a, struct rtp_report *rep)
{
	rep->per_thread = true;
	rep->thread_syscall_drops = a->tsys_drops;
	rep->thread_syscalls = calloc(a->n_tsys ? a->n_tsys : 1, sizeof(*rep->thread_syscalls));
	if (!rep->thread_syscalls)
		return -ENOMEM;
	for (size_t i = 0; i < a->cap_tsys; i++) {
		const struct thread_sys_acc *t = &a->tsys[i];
		const struct rtp_report_thread *th = NULL;
		struct rtp_report_thread_syscall *o;
		const char *name;

		if (!t->nr)
			continue;
		for (size_t k = 0; k < rep->n_threads && !th; k++)
			if ((uint32_t)rep->threads[k].tid == t->tid)
				th = &rep->threads[k];
		o = &rep->thread_syscalls[rep->n_thread_syscalls++];
		*o = (struct rtp_report_thread_syscall){ .tid = (pid_t)t->tid, .tgid = th ? th->tgid : (pid_t)t->tid,
							  .nr = t->nr - 1, .count = t->v.count, .errors = t->v.errors,
							  .timed = t->v.timed, .total_ns = t->v.total_ns, .max_ns = t->v.max_ns };
		name = syscall__name(t->nr - 1);
		if (name)
			snprintf(o->name, sizeof(o->name), "%s", name);
		else
			snprintf(o->name, sizeof(o->name), "syscall_%u", t->nr - 1);
	}
	report__sort_thread_syscalls(rep);
	return 0;
}

int report__from_trace(const char *path, struct rtp_report **out, char *warning, size_t wlen, char *err,
		       size_t errlen)
{
	return report__from_trace_opts(path, 0, out, warning, wlen, err, errlen);
}

int report__from_trace_opts(const char *path, unsigned int flags, struct rtp_report **out, char *warning,
			    size_t wlen, char *err, size_t errlen)
{
	struct trace_reader *rd = NULL;
	struct rtp_report *rep = NULL;
	struct agg a = {
		.thr = TIDTAB_INIT_MAX(struct thr, TRACE_MAX_THREADS),
		.errnos = TIDTAB_INIT_MAX(struct errno_acc, RTP_DEFAULT_MAX_ERRNO_KEYS),
		.targets = TIDTAB_INIT_MAX(struct rtp_report_target, TRACE_MAX_PROCS),
		.rts = TIDTAB_INIT_MAX(struct rtacc, TRACE_MAX_PROCS),
		.per_thread = flags & REPORT_TRACE_PER_THREAD,
	};
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
	if (a.per_thread && (r = tsys_rows(&a, rep)))
		goto cleanup;
	rep->profiles = trace_reader__take_profiles(rd);
	r = apply_err_paths(rep, trace_reader__take_err_paths(rd));
	if (r)
		goto cleanup;
	w = trace_reader__warning(rd);
	if (w) {
		snprintf(rep->warning, sizeof(rep->warning), "%s", w);
	} else if (stopped_early(f = trace_reader__footer(rd))) {
		snprintf(rep->warning, sizeof(rep->warning),
			 "the recording stopped before the session ended (%s): the trace covers its beginning only",
			 f->stop_reason);
		w = rep->warning;
	} else if (rep->thread_drops || rep->proc_drops) {
		snprintf(rep->warning, sizeof(rep->warning),
			 "the trace has more threads or processes than a report holds (%d, %d): %" PRIu64
			 " records of the other threads and %" PRIu64 " of the other processes are left out",
			 TRACE_MAX_THREADS, TRACE_MAX_PROCS, rep->thread_drops, rep->proc_drops);
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
	tidtab__free(&a.errnos);
	free(a.busy);
	tidtab__free(&a.targets);
	tidtab__free(&a.rts);
	free(a.tsys);
	return r;
}
