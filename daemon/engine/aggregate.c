// SPDX-License-Identifier: LGPL-2.1-or-later
/* Folding the BPF maps into totals -- per-slot syscall and scheduler figures, errnos, thread records --
 * and building the report model. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "accounting.h"
#include "base/vec.h"
#include "engine/engine_internal.h"
#include "engine/pystacks.h"
#include "sys/runtime.h"
#include "rtprof.skel.h"
#include "sys/syscall_names.h"

static void agg_free(struct agg *a);

static int agg_init(struct agg *a, int ncpus)
{
	memset(a, 0, sizeof(*a));
	a->ncpus = ncpus;
	a->sys = calloc(RTP_MAX_SYSCALLS, sizeof(*a->sys));
	a->busy_ns = calloc((size_t)ncpus, sizeof(*a->busy_ns));
	if (!a->sys || !a->busy_ns) {
		agg_free(a);
		return -ENOMEM;
	}
	return 0;
}

static void agg_free(struct agg *a)
{
	if (!a)
		return;
	free(a->sys);
	free(a->busy_ns);
	free(a->errnos);
	memset(a, 0, sizeof(*a));
}

static int agg_add_errno(struct agg *a, uint16_t nr, uint16_t err, uint64_t count)
{
	for (size_t i = 0; i < a->n_errnos; i++) {
		if (a->errnos[i].nr == nr && a->errnos[i].err == err) {
			a->errnos[i].count += count;
			return 0;
		}
	}
	if (vec__grow(&a->errnos, &a->cap_errnos, a->n_errnos))
		return -ENOMEM;
	a->errnos[a->n_errnos++] = (struct agg_errno){ .nr = nr, .err = err, .count = count };
	return 0;
}

static void sys_add(struct rtp_sys_stats *dst, const struct rtp_sys_stats *v)
{
	dst->count += v->count;
	dst->errors += v->errors;
	dst->timed += v->timed;
	dst->total_ns += v->total_ns;
	dst->trace_lost += v->trace_lost;
	if (v->max_ns > dst->max_ns)
		dst->max_ns = v->max_ns;
	for (int h = 0; h < RTP_HIST_SLOTS; h++)
		dst->hist[h] += v->hist[h];
}

/* A slot's syscall rows, SYS_BATCH at a time (one bpf call each, not one per row: the 512 lookups of each
 * report were most of rtprofd's cost when its 55 watched processes' windows rolled). 0, or -errno with
 * nothing added (the caller looks them up one by one: a kernel without batch lookups). */
#define SYS_BATCH 64

static int fold_syscalls_batch(struct engine *e, __u32 slot, struct agg *a)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int fd = bpf_map__fd(e->skel->maps.sys_stats), ncpus = e->ncpus, r = 0;
	struct rtp_sys_stats *vals = calloc((size_t)SYS_BATCH * (size_t)ncpus, sizeof(*vals));
	__u32 keys[SYS_BATCH];
	struct rtp_sys_stats *sum = calloc(RTP_MAX_SYSCALLS, sizeof(*sum));

	if (!vals || !sum) {
		r = -ENOMEM;
		goto cleanup;
	}
	for (__u32 nr = 0; nr < RTP_MAX_SYSCALLS && !r; nr += SYS_BATCH) {
		/* an array's batch starts after the key given (none: at 0) */
		__u32 prev = slot * RTP_MAX_SYSCALLS + nr - 1, out, count = SYS_BATCH;

		r = bpf_map_lookup_batch(fd, slot || nr ? &prev : NULL, &out, keys, vals, &count, &opts);
		if (r == -ENOENT && count == SYS_BATCH)
			r = 0; /* the map's last rows */
		if (r)
			break;
		if (count != SYS_BATCH) {
			r = -EIO;
			break;
		}
		for (__u32 i = 0; i < count; i++) {
			if (keys[i] != slot * RTP_MAX_SYSCALLS + nr + i) {
				r = -EIO;
				break;
			}
			for (int c = 0; c < ncpus; c++)
				if (vals[i * (__u32)ncpus + (__u32)c].count)
					sys_add(&sum[nr + i], &vals[i * (__u32)ncpus + (__u32)c]);
		}
	}
	if (!r)
		for (unsigned int nr = 0; nr < RTP_MAX_SYSCALLS; nr++)
			if (sum[nr].count)
				sys_add(&a->sys[nr], &sum[nr]);
cleanup:
	free(vals);
	free(sum);
	return r;
}

/* Add one slot's per-CPU figures to `a`. */
/* The slot's per-CPU figures: its syscall table (when `syscalls`), run-queue histogram and busy time. */
static int fold_slot(struct engine *e, __u32 slot, bool syscalls, struct agg *a)
{
	int ncpus = e->ncpus, r = 0;
	struct rtp_sys_stats *vals = calloc((size_t)ncpus, sizeof(*vals));
	struct rtp_hist *hists = calloc((size_t)ncpus, sizeof(*hists));
	uint64_t *busy = calloc((size_t)ncpus, sizeof(*busy));
	size_t vals_sz = sizeof(*vals) * (size_t)ncpus;

	if (!vals || !hists || !busy) {
		r = -ENOMEM;
		goto cleanup;
	}
	if (syscalls && fold_syscalls_batch(e, slot, a) == 0)
		syscalls = false;
	for (unsigned int nr = 0; syscalls && nr < RTP_MAX_SYSCALLS; nr++) {
		__u32 key = slot * RTP_MAX_SYSCALLS + nr;

		r = bpf_map__lookup_elem(e->skel->maps.sys_stats, &key, sizeof(key), vals, vals_sz, 0);
		if (r)
			goto cleanup;
		for (int c = 0; c < ncpus; c++)
			if (vals[c].count)
				sys_add(&a->sys[nr], &vals[c]);
	}
	r = bpf_map__lookup_elem(e->skel->maps.runq_hist, &slot, sizeof(slot), hists, sizeof(*hists) * (size_t)ncpus, 0);
	if (r)
		goto cleanup;
	for (int c = 0; c < ncpus; c++)
		for (int h = 0; h < RTP_HIST_SLOTS; h++)
			a->runq_hist[h] += hists[c].slots[h];
	r = bpf_map__lookup_elem(e->skel->maps.cpu_busy, &slot, sizeof(slot), busy, sizeof(*busy) * (size_t)ncpus, 0);
	if (r)
		goto cleanup;
	for (int c = 0; c < ncpus; c++)
		a->busy_ns[c] += busy[c];
cleanup:
	free(vals);
	free(hists);
	free(busy);
	return r;
}

/* Add the errno counts of one slot to `a`. */
static int fold_errnos(struct engine *e, __u32 slot, struct agg *a)
{
	struct bpf_map *map = e->skel->maps.sys_errnos;
	struct rtp_errno_key key, next, *prev = NULL;
	int r = 0;

	while (!r && bpf_map__get_next_key(map, prev, &next, sizeof(next)) == 0) {
		uint64_t count;

		key = next;
		prev = &key;
		if (key.slot == slot && bpf_map__lookup_elem(map, &key, sizeof(key), &count, sizeof(count), 0) == 0)
			r = agg_add_errno(a, key.nr, key.err, count);
	}
	return r;
}


/* The slot's failures by path, into their syscalls' rows (rep's syscalls collected), and its drops. */
static int fold_err_paths(struct engine *e, __u32 slot, struct rtp_report *rep)
{
	struct bpf_map *map = e->skel->maps.err_paths;
	struct rtp_err_path_key key, next, *prev = NULL;
	struct rtp_err_path_use use;

	if (bpf_map__lookup_elem(e->skel->maps.err_path_use, &slot, sizeof(slot), &use, sizeof(use), 0) == 0)
		rep->err_path_drops = use.drops;
	while (bpf_map__get_next_key(map, prev, &next, sizeof(next)) == 0) {
		struct rtp_report_syscall *sc = NULL;
		struct rtp_report_err_path *p;
		uint64_t count;
		size_t cap;

		key = next;
		prev = &key;
		if (key.slot != slot || bpf_map__lookup_elem(map, &key, sizeof(key), &count, sizeof(count), 0))
			continue;
		for (size_t j = 0; j < rep->n_syscalls && !sc; j++)
			if (rep->syscalls[j].nr == key.nr)
				sc = &rep->syscalls[j];
		if (!sc)
			continue;
		cap = sc->n_err_paths; /* the row keeps no capacity: grow from its count */
		if (vec__reserve_raw((void **)&sc->err_paths, &cap, sc->n_err_paths + 1, sizeof(*sc->err_paths)))
			return -ENOMEM;
		p = &sc->err_paths[sc->n_err_paths++];
		p->err = key.err;
		p->count = count;
		memcpy(p->path, key.path, sizeof(p->path));
		p->path[sizeof(p->path) - 1] = '\0';
	}
	return 0;
}

static int cmp_err_path(const void *a, const void *b)
{
	const struct rtp_report_err_path *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->err != y->err ? (x->err < y->err ? -1 : 1) : strcmp(x->path, y->path);
}

/* ---- report ---- */

/* `busy_ns`: per-CPU busy time, given the CPU time a thread running right now used since its switch-in */
static void thread_to_report(const struct rtp_thread *t, struct rtp_report_thread *rt, uint64_t now,
			     uint64_t *busy_ns, int ncpus)
{
	struct proc_schedstat ss;
	__u64 sleep_ns, block_ns;

	memset(rt, 0, sizeof(*rt));
	rt->tid = (pid_t)t->tid;
	rt->tgid = (pid_t)t->tgid;
	rt->parent_tid = (pid_t)t->parent_tid;
	memcpy(rt->name, t->comm, sizeof(rt->name));
	rt->name[sizeof(rt->name) - 1] = '\0';
	/* totals from the kernel's own accounting when it was readable, else from event timestamps */
	if (t->flags & RTP_THR_KSTATS) {
		rt->oncpu_ns = t->k_oncpu - t->k_oncpu_base;
		rt->runq_wait_ns = t->k_runq - t->k_runq_base;
	} else {
		rt->oncpu_ns = t->sched.oncpu_ns;
		rt->runq_wait_ns = t->sched.runq_wait_ns;
	}
	/* close the intervals still open when the session ended: for a live thread the kernel's accounting
	 * of now, else the time since the last event */
	if ((t->flags & (RTP_THR_KSTATS | RTP_THR_EXITED)) == RTP_THR_KSTATS &&
	    procfs__read_schedstat((pid_t)t->tgid, (pid_t)t->tid, &ss) == 0 && ss.oncpu_ns >= t->k_oncpu_base &&
	    ss.runq_wait_ns >= t->k_runq_base) {
		rt->oncpu_ns = ss.oncpu_ns - t->k_oncpu_base;
		rt->runq_wait_ns = ss.runq_wait_ns - t->k_runq_base;
		if (t->sched.on_ts && t->cpu < (__u32)ncpus && ss.oncpu_ns >= t->k_oncpu)
			busy_ns[t->cpu] += ss.oncpu_ns - t->k_oncpu;
	} else {
		if (t->sched.on_ts && now > t->sched.on_ts)
			rt->oncpu_ns += now - t->sched.on_ts;
		if (t->sched.queued_ts && now > t->sched.queued_ts)
			rt->runq_wait_ns += now - t->sched.queued_ts;
	}
	rtp_acct_off_totals(&t->sched, now, t->flags & RTP_THR_EXITED, &sleep_ns, &block_ns);
	rt->sleep_ns = sleep_ns;
	rt->block_ns = block_ns;
	rt->vol_switches = t->sched.vol_switches;
	rt->invol_switches = t->sched.invol_switches;
	rt->migrations = t->sched.migrations;
	rt->exited = t->flags & RTP_THR_EXITED;
	rt->gil_wait_ns = t->gil_wait_ns;
	rt->gil_hold_ns = t->gil_hold_ns;
	if (t->gil_state == RTP_GIL_HOLDING && now > t->gil_ts && !(t->flags & RTP_THR_EXITED))
		rt->gil_hold_ns += now - t->gil_ts; /* holding it right now */
	rt->gil_waits = t->gil_waits;
	rt->loop_idle_ns = t->loop_idle_ns;
	rt->loop_busy_ns = t->loop_busy_ns;
	rt->loop_iters = t->loop_iters;
	rt->loop_busy_max_ns = t->loop_busy_max_ns;
	rt->gc_count = t->gc_count;
	rt->gc_ns = t->gc_ns;
	rt->gc_max_ns = t->gc_max_ns;
	rt->start_ns = t->start_ns;
	rt->exit_ns = t->exit_ns;
}

static int collect_threads(struct engine *e, unsigned int session, struct rtp_report *rep, uint64_t now,
			   struct agg *all)
{
	struct bpf_map *map = e->skel->maps.threads;
	__u32 key, next, *prev = NULL;
	size_t cap = e->n_exited_threads + 64, n_tgids;
	__u32 *tgids = session_tgids(e, session, &n_tgids);
	int r = 0;

	rep->threads = calloc(cap, sizeof(*rep->threads));
	if (!rep->threads || !tgids) {
		free(tgids);
		return -ENOMEM;
	}
	for (size_t i = 0; i < e->n_exited_threads; i++)
		if (in_set(tgids, n_tgids, e->exited_threads[i].tgid))
			thread_to_report(&e->exited_threads[i], &rep->threads[rep->n_threads++], now, all->busy_ns,
					 all->ncpus);
	while (bpf_map__get_next_key(map, prev, &next, sizeof(next)) == 0) {
		struct rtp_thread t;

		key = next;
		prev = &key;
		if (bpf_map__lookup_elem(map, &key, sizeof(key), &t, sizeof(t), 0) || !in_set(tgids, n_tgids, t.tgid))
			continue;
		if (vec__grow(&rep->threads, &cap, rep->n_threads)) {
			r = -ENOMEM;
			break;
		}
		thread_to_report(&t, &rep->threads[rep->n_threads++], now, all->busy_ns, all->ncpus);
	}
	free(tgids);
	return r;
}

static int collect_syscalls(const struct agg *a, struct rtp_report *rep)
{
	rep->syscalls = calloc(RTP_MAX_SYSCALLS, sizeof(*rep->syscalls));
	if (!rep->syscalls)
		return -ENOMEM;
	for (unsigned int nr = 0; nr < RTP_MAX_SYSCALLS; nr++) {
		if (a->sys[nr].count)
			report__syscall_fill(&rep->syscalls[rep->n_syscalls++], nr, syscall__name(nr), &a->sys[nr]);
	}
	/* rtprofd keeps reports (rolling windows): give back the unused rows, ~200 KiB a report */
	if (rep->n_syscalls < RTP_MAX_SYSCALLS) {
		struct rtp_report_syscall *n = realloc(rep->syscalls, (rep->n_syscalls ? rep->n_syscalls : 1) * sizeof(*n));

		if (n)
			rep->syscalls = n;
	}
	for (size_t i = 0; i < a->n_errnos; i++) {
		const struct agg_errno *ae = &a->errnos[i];
		struct rtp_report_syscall *sc = NULL;
		size_t cap;

		for (size_t j = 0; j < rep->n_syscalls && !sc; j++)
			if (rep->syscalls[j].nr == ae->nr)
				sc = &rep->syscalls[j];
		if (!sc)
			continue;
		cap = sc->n_errnos; /* the row keeps no capacity: grow from its count */
		if (vec__reserve_raw((void **)&sc->errnos, &cap, sc->n_errnos + 1, sizeof(*sc->errnos)))
			return -ENOMEM;
		sc->errnos[sc->n_errnos++] = (struct rtp_report_errno){ .err = ae->err, .count = ae->count };
	}
	return 0;
}

static int cmp_thread(const void *a, const void *b)
{
	const struct rtp_report_thread *x = a, *y = b;

	return (x->tid > y->tid) - (x->tid < y->tid);
}

static int cmp_syscall(const void *a, const void *b)
{
	const struct rtp_report_syscall *x = a, *y = b;

	if (x->total_ns != y->total_ns)
		return x->total_ns < y->total_ns ? 1 : -1;
	return (x->count < y->count) - (x->count > y->count);
}

static int cmp_errno(const void *a, const void *b)
{
	const struct rtp_report_errno *x = a, *y = b;

	return (x->count < y->count) - (x->count > y->count);
}

/* qsort() must not be given NULL, even for zero elements */
static void sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

static void collect_process_procfs(struct engine *e, unsigned int session, struct rtp_report *rep)
{
	double tick = (double)procfs__ticks_per_sec();

	rep->process.source = "procfs";
	rep->process.wall_s = (double)rep->duration_ns / 1e9;
	rep->process.max_rss_kb = 0;
	for (size_t i = 0; i < e->n_procs; i++) {
		struct target_proc *p = &e->procs[i];

		if (p->session != session)
			continue;
		if (p->have_first && p->have_last && tick > 0) {
			rep->process.cpu_user_s += (double)(p->last.utime_ticks - p->first.utime_ticks) / tick;
			rep->process.cpu_sys_s += (double)(p->last.stime_ticks - p->first.stime_ticks) / tick;
		}
		if (p->max_rss_kb > rep->process.max_rss_kb)
			rep->process.max_rss_kb = p->max_rss_kb;
	}
}

/* The runtime rows of the session's processes with runtime probes. */
static int runtime_rows(struct engine *e, unsigned int session, struct rtp_report *rep, uint64_t now)
{
	size_t n = 0;
	uint64_t start = session < e->opts.max_sessions ? e->sessions[session].start_ns : 0;

	for (size_t i = 0; i < e->n_procs; i++)
		n += e->procs[i].session == session && e->procs[i].rt;
	if (!n)
		return 0;
	rep->runtimes = calloc(n, sizeof(*rep->runtimes));
	if (!rep->runtimes)
		return -ENOMEM;
	for (size_t i = 0; i < e->n_procs; i++) {
		const struct target_proc *p = &e->procs[i];

		if (p->session == session && p->rt)
			rt_report_row(&e->rt, p, rep, &rep->runtimes[rep->n_runtimes++], now, start);
	}
	return 0;
}

/* --per-thread: the slot's thread_sys entries of the report's threads. */
static int collect_thread_syscalls(struct engine *e, __u32 slot, struct rtp_report *rep)
{
	struct bpf_map *map = e->skel->maps.thread_sys;
	struct rtp_thread_sys_key k, next;
	struct rtp_thread_sys v;
	size_t cap = 0;
	int fd = bpf_map__fd(map);

	rep->per_thread = true;
	for (int err = bpf_map_get_next_key(fd, NULL, &next); !err; err = bpf_map_get_next_key(fd, &k, &next)) {
		struct rtp_report_thread_syscall *t;
		const struct rtp_report_thread *th = NULL;
		const char *name;

		k = next;
		if (k.slot != slot || bpf_map_lookup_elem(fd, &k, &v) || !v.count)
			continue;
		for (size_t i = 0; i < rep->n_threads && !th; i++)
			if ((__u32)rep->threads[i].tid == k.tid)
				th = &rep->threads[i];
		if (!th) /* a helper left out of the tables (engine__session_split) */
			continue;
		if (vec__grow(&rep->thread_syscalls, &cap, rep->n_thread_syscalls))
			return -ENOMEM;
		t = &rep->thread_syscalls[rep->n_thread_syscalls++];
		*t = (struct rtp_report_thread_syscall){ .tid = th->tid, .tgid = th->tgid, .nr = k.nr, .count = v.count,
							  .errors = v.errors, .timed = v.timed, .total_ns = v.total_ns,
							  .max_ns = v.max_ns };
		if (v.timed && v.timed < v.count)
			t->total_ns = (uint64_t)((double)v.total_ns * (double)v.count / (double)v.timed);
		name = syscall__name(k.nr);
		if (name)
			snprintf(t->name, sizeof(t->name), "%s", name);
		else
			snprintf(t->name, sizeof(t->name), "syscall_%u", k.nr);
	}
	(void)engine_counter(e, RTP_CNT_THREAD_SYS_DROPS, &rep->thread_syscall_drops, NULL);
	report__sort_thread_syscalls(rep);
	return 0;
}

int engine__session_report_parts(struct engine *e, int session, const char *mode, unsigned int parts,
				 struct rtp_report **out)
{
	struct rtp_report *rep;
	struct session *ses;
	struct agg all = {};
	size_t n_targets = 0;
	uint64_t now;
	int r = -ENOMEM;

	if (session < 0 || (unsigned int)session >= e->opts.max_sessions || !e->sessions[session].used)
		return -ENOENT;
	ses = &e->sessions[session];
	rep = calloc(1, sizeof(*rep));
	if (!rep)
		return -ENOMEM;
	/* a running session's report covers it up to now */
	now = ses->stop_ns ? ses->stop_ns : clock__mono_ns();
	rep->mode = mode;
	rep->exit_status = -1;
	rep->duration_ns = ses->start_ns && now > ses->start_ns ? now - ses->start_ns : 0;
	/* a target row is 8 KiB (two paths): as many as the session has, not as the engine has */
	for (size_t i = 0; i < e->n_procs; i++)
		n_targets += e->procs[i].session == (unsigned int)session;
	rep->targets = calloc(n_targets ? n_targets : 1, sizeof(*rep->targets));
	if (!rep->targets)
		goto cleanup;
	for (size_t i = 0; i < e->n_procs; i++) {
		struct target_proc *p = &e->procs[i];
		struct rtp_report_target *t;

		if (p->session != (unsigned int)session)
			continue;
		t = &rep->targets[rep->n_targets++];
		engine_proc_version(e, p);
		if (!p->runtime_known && !p->exited && runtime__detect(p->pid, &p->runtime) == 0 && p->runtime.exe[0])
			p->runtime_known = true;
		t->pid = p->pid;
		memcpy(t->comm, p->comm, sizeof(t->comm));
		t->runtime = p->runtime;
		t->exited = p->exited;
	}
	r = agg_init(&all, e->ncpus);
	r = r ?: fold_slot(e, (__u32)session, parts & ENGINE_REPORT_SYSCALLS, &all);
	if (!r && (parts & ENGINE_REPORT_SYSCALLS))
		r = fold_errnos(e, (__u32)session, &all) ?: collect_syscalls(&all, rep) ?:
		    fold_err_paths(e, (__u32)session, rep);
	if (r)
		goto cleanup;
	for (size_t i = 0; i < rep->n_syscalls; i++) {
		sort(rep->syscalls[i].errnos, rep->syscalls[i].n_errnos, sizeof(struct rtp_report_errno), cmp_errno);
		sort(rep->syscalls[i].err_paths, rep->syscalls[i].n_err_paths, sizeof(struct rtp_report_err_path),
		     cmp_err_path);
	}
	sort(rep->syscalls, rep->n_syscalls, sizeof(*rep->syscalls), cmp_syscall);
	r = parts & ENGINE_REPORT_THREADS ? collect_threads(e, (unsigned int)session, rep, now, &all) : 0;
	if (r)
		goto cleanup;
	/* a running session's live threads were read from /proc just now: end the window after them, so
	 * that rates over short intervals (rtprof top) do not drift on a loaded machine */
	if (!ses->stop_ns && (now = clock__mono_ns()) > ses->start_ns && ses->start_ns)
		rep->duration_ns = now - ses->start_ns;
	sort(rep->threads, rep->n_threads, sizeof(*rep->threads), cmp_thread);
	memcpy(rep->runq_hist, all.runq_hist, sizeof(rep->runq_hist));
	rep->process.ncpus = e->ncpus;
	rep->process.cpu_load_pct = calloc((size_t)e->ncpus, sizeof(double));
	if (!rep->process.cpu_load_pct) {
		r = -ENOMEM;
		goto cleanup;
	}
	for (int c = 0; c < e->ncpus; c++)
		rep->process.cpu_load_pct[c] =
			rep->duration_ns ? 100.0 * (double)all.busy_ns[c] / (double)rep->duration_ns : 0;
	collect_process_procfs(e, (unsigned int)session, rep);
	r = parts & ENGINE_REPORT_THREADS ? runtime_rows(e, (unsigned int)session, rep, now) : 0;
	if (!r && (parts & ENGINE_REPORT_THREADS) && (parts & ENGINE_REPORT_SYSCALLS) && ses->per_thread)
		r = collect_thread_syscalls(e, (__u32)session, rep);
	r = r ?: (parts & ENGINE_REPORT_STACKS ? pystacks__report(e, (unsigned int)session, rep) : 0);
	if (r)
		goto cleanup;
	for (__u32 c = 0; c < RTP_CNT_NR; c++) {
		uint64_t v = 0;

		if (engine_counter(e, c, &v, NULL))
			continue;
		switch (c) {
		case RTP_CNT_LOST_EVENTS:
		case RTP_CNT_TRACE_LOST: rep->lost_events += v; break;
		case RTP_CNT_THREAD_DROPS: rep->thread_drops = v; break;
		case RTP_CNT_PROC_DROPS: rep->proc_drops = v; break;
		case RTP_CNT_SYSCALL_NR_OOR: rep->syscalls_unaggregated = v; break;
		}
	}
	/* a program started through a launcher: from its start (engine__session_split) */
	r = parts == ENGINE_REPORT_ALL ? engine_session_after_split(e, (unsigned int)session, &rep) : 0;
	if (r)
		goto cleanup;
	*out = rep;
	rep = NULL;
cleanup:
	agg_free(&all);
	report__free(rep);
	return r;
}

int engine__session_report(struct engine *e, int session, const char *mode, struct rtp_report **out)
{
	return engine__session_report_parts(e, session, mode, ENGINE_REPORT_ALL, out);
}

int engine__report(struct engine *e, const char *mode, struct rtp_report **out)
{
	(void)engine__stop_clock(e);
	return engine__session_report(e, 0, mode, out);
}


