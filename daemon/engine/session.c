// SPDX-License-Identifier: LGPL-2.1-or-later
/* Sessions: each aggregates its targets (and what they fork) apart from the others, in a slot of the BPF
 * maps. Their whole lifecycle is here: created, clocked, their exited threads' records harvested out of
 * the BPF map, freed with their slot cleared. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "base/errmsg.h"
#include "base/vec.h"
#include "engine/bpfmap.h"
#include "engine/engine_internal.h"
#include "engine/pystacks.h"
#include "engine/rtmetrics.h"
#include "rtprof.skel.h"

unsigned int engine__session_live(const struct engine *e, int session)
{
	unsigned int n = 0;

	for (size_t i = 0; i < e->n_procs; i++)
		n += !e->procs[i].exited && e->procs[i].session == (unsigned int)session;
	return n;
}

void engine__session_label(const struct engine *e, int session, char *comm, size_t comm_size, char *runtime,
			   size_t runtime_size)
{
	comm[0] = runtime[0] = '\0';
	for (size_t i = 0; i < e->n_procs; i++) {
		const struct target_proc *p = &e->procs[i];

		if (p->session != (unsigned int)session)
			continue;
		snprintf(comm, comm_size, "%s", p->comm);
		if (p->runtime_known && p->runtime.kind != RTP_RUNTIME_OTHER)
			snprintf(runtime, runtime_size, "%s %s", runtime__kind_name(p->runtime.kind), p->runtime.version);
		return;
	}
}

unsigned int engine__live_targets(const struct engine *e)
{
	return engine__session_live(e, 0);
}

int engine__session_of(const struct engine *e, pid_t pid)
{
	for (size_t i = 0; i < e->n_procs; i++)
		if (e->procs[i].pid == pid && !e->procs[i].forgotten)
			return (int)e->procs[i].session;
	return -1;
}

static bool in_helpers(const struct session *ss, pid_t pid)
{
	for (size_t i = 0; i < ss->n_helpers; i++)
		if (ss->helpers[i] == pid)
			return true;
	return false;
}

void engine_session_clear(struct session *ss)
{
	report__free(ss->before);
	free(ss->helpers);
	*ss = (struct session){ 0 };
}

void engine_session_init(struct engine *e, unsigned int session)
{
	/* in the CLI's engine, the one session samples at the engine's rate (its events held by the engine) */
	e->sessions[session] = (struct session){ .used = true, .no_follow = e->opts.no_follow,
						 .rt_mode = e->opts.runtime_mode,
						 .stacks_hz = e->opts.stacks_by_session ? 0 : e->opts.sample_hz,
						 .loop_block_ns = e->opts.loop_threshold_ns ?: RTP_DEFAULT_LOOP_THRESHOLD_NS,
						 .per_thread = e->opts.per_thread };
}


struct name_count {
	char name[RTP_COMM_LEN];
	unsigned int n;
};

static int cmp_name_count(const void *a, const void *b)
{
	const struct name_count *x = a, *y = b;

	return x->n != y->n ? (x->n > y->n ? -1 : 1) : strcmp(x->name, y->name);
}

int engine__session_split(struct engine *e, int session)
{
	struct name_count names[32];
	size_t n_names = 0, len = 0;
	struct session *ss;
	struct rtp_report *snap = NULL;
	uint64_t now = clock__mono_ns();
	int r;

	if (session < 0 || (unsigned int)session >= e->opts.max_sessions || !e->sessions[session].used)
		return -ENOENT;
	ss = &e->sessions[session];
	if (ss->before)
		return 0; /* the first program's start only */
	/* the helpers' exits, if not read yet */
	(void)ring_buffer__consume(e->rb);
	r = engine__session_report(e, session, "run", &snap);
	if (r)
		return r;
	for (size_t i = 0; i < e->n_procs; i++) {
		const struct target_proc *p = &e->procs[i];
		size_t k = 0;

		if (p->session != (unsigned int)session || !p->exited)
			continue;
		if (vec__grow(&ss->helpers, &ss->cap_helpers, ss->n_helpers)) {
			report__free(snap);
			return -ENOMEM;
		}
		ss->helpers[ss->n_helpers++] = p->pid;
		while (k < n_names && strcmp(names[k].name, p->comm))
			k++;
		if (k == n_names && n_names < sizeof(names) / sizeof(names[0])) {
			snprintf(names[n_names].name, sizeof(names[0].name), "%s", p->comm);
			names[n_names++].n = 0;
		}
		if (k < n_names)
			names[k].n++;
	}
	if (n_names > 1)
		qsort(names, n_names, sizeof(names[0]), cmp_name_count);
	for (size_t k = 0; k < n_names && len < sizeof(ss->wrapper.names); k++) {
		int w = names[k].n > 1 ? snprintf(ss->wrapper.names + len, sizeof(ss->wrapper.names) - len, "%s%s x%u",
						  k ? ", " : "", names[k].name, names[k].n)
				       : snprintf(ss->wrapper.names + len, sizeof(ss->wrapper.names) - len, "%s%s",
						  k ? ", " : "", names[k].name);

		len += w > 0 ? (size_t)w : 0;
	}
	ss->wrapper.helpers = (unsigned int)ss->n_helpers;
	ss->wrapper.start_ns = ss->start_ns && now > ss->start_ns ? now - ss->start_ns : 1;
	ss->before = snap;
	/* the syscall tables start again from nothing: their totals are estimates where bursts are sampled, and
	 * a difference of two estimates is not one */
	return engine_clear_slot(e, (__u32)session);
}

/* A report of a split session (engine__session_split): what came after the program's start, without its
 * launcher's helpers. Consumes rep; 0 or -ENOMEM. */
int engine_session_after_split(struct engine *e, unsigned int session, struct rtp_report **rep)
{
	struct session *ss = &e->sessions[session];
	struct rtp_report *d = NULL;
	size_t kept;

	if (!ss->before)
		return 0;
	if (report__subtract(*rep, ss->before, &d))
		return -ENOMEM;
	kept = 0;
	for (size_t i = 0; i < d->n_targets; i++)
		if (!in_helpers(ss, d->targets[i].pid))
			d->targets[kept++] = d->targets[i];
	d->n_targets = kept;
	kept = 0;
	for (size_t i = 0; i < d->n_threads; i++)
		if (!in_helpers(ss, d->threads[i].tgid))
			d->threads[kept++] = d->threads[i];
	d->n_threads = kept;
	kept = 0;
	for (size_t i = 0; i < d->n_runtimes; i++) {
		if (in_helpers(ss, d->runtimes[i].pid))
			free(d->runtimes[i].gil_threads);
		else
			d->runtimes[kept++] = d->runtimes[i];
	}
	d->n_runtimes = kept;
	d->wrapper = ss->wrapper;
	/* the tables cleared at the split (syscalls, run-queue latency, CPU busy time): the program's own */
	{
		struct rtp_report_syscall *sc = d->syscalls;
		size_t n = d->n_syscalls;

		d->syscalls = (*rep)->syscalls;
		d->n_syscalls = (*rep)->n_syscalls;
		(*rep)->syscalls = sc;
		(*rep)->n_syscalls = n;
	}
	d->errno_drops = (*rep)->errno_drops;
	d->err_path_drops = (*rep)->err_path_drops;
	memcpy(d->runq_hist, (*rep)->runq_hist, sizeof(d->runq_hist));
	for (int c = 0; c < d->process.ncpus && c < (*rep)->process.ncpus; c++)
		d->process.cpu_load_pct[c] = d->duration_ns ? (*rep)->process.cpu_load_pct[c] *
								 (double)(*rep)->duration_ns / (double)d->duration_ns : 0;
	report__free(*rep);
	*rep = d;
	return 0;
}

int engine__session_new(struct engine *e)
{
	for (unsigned int s = 0; s < e->opts.max_sessions; s++) {
		if (!e->sessions[s].used) {
			engine_session_init(e, s);
			return (int)s;
		}
	}
	return -ENOSPC;
}

int engine__session_stacks(struct engine *e, int session, unsigned int hz, char *err, size_t errlen)
{
	struct session *ss;
	int r = 0;

	if (session < 0 || (unsigned int)session >= e->opts.max_sessions || !e->sessions[session].used)
		return errmsg(err, errlen, -EINVAL, "no such session");
	ss = &e->sessions[session];
	if (hz) {
		r = pystacks__rate_get(e, hz, err, errlen);
		if (r < 0)
			return r;
	}
	if (ss->stacks_ref)
		pystacks__rate_put(e, ss->stacks_hz);
	ss->stacks_hz = hz ? (unsigned int)r : 0;
	ss->stacks_ref = hz != 0;
	return (int)ss->stacks_hz;
}

void engine__session_filewide(struct engine *e, int session, bool on)
{
	if (session >= 0 && (unsigned int)session < e->opts.max_sessions && e->sessions[session].used)
		e->sessions[session].filewide = on;
}

void engine__session_loop_threshold(struct engine *e, int session, uint64_t ns)
{
	if (session >= 0 && (unsigned int)session < e->opts.max_sessions && e->sessions[session].used)
		e->sessions[session].loop_block_ns = ns ?: e->opts.loop_threshold_ns ?: RTP_DEFAULT_LOOP_THRESHOLD_NS;
}

void engine__session_per_thread(struct engine *e, int session, bool on)
{
	if (session >= 0 && (unsigned int)session < e->opts.max_sessions && e->sessions[session].used)
		e->sessions[session].per_thread = on;
}

void engine__session_follow(struct engine *e, int session, bool follow)
{
	if (session >= 0 && (unsigned int)session < e->opts.max_sessions)
		e->sessions[session].no_follow = !follow;
}

void engine__session_runtime(struct engine *e, int session, int mode)
{
	if (session >= 0 && (unsigned int)session < e->opts.max_sessions)
		e->sessions[session].rt_mode = mode;
}

void engine__session_restrict(struct engine *e, int session, uid_t uid, gid_t gid)
{
	if (session >= 0 && (unsigned int)session < e->opts.max_sessions) {
		e->sessions[session].restricted = true;
		e->sessions[session].owner_uid = uid;
		e->sessions[session].owner_gid = gid;
	}
}

uint64_t engine__start_clock(struct engine *e)
{
	if (!e->sessions[0].used)
		engine_session_init(e, 0);
	if (!e->sessions[0].start_ns)
		e->sessions[0].start_ns = clock__mono_ns();
	return e->sessions[0].start_ns;
}

uint64_t engine__stop_clock(struct engine *e)
{
	if (!e->sessions[0].stop_ns)
		e->sessions[0].stop_ns = clock__mono_ns();
	return e->sessions[0].stop_ns;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return (x > y) - (x < y);
}

/* The tgids of a session's processes, sorted, to tell its threads from the others'. */
__u32 *session_tgids(struct engine *e, unsigned int session, size_t *n)
{
	__u32 *v = malloc((e->n_procs ? e->n_procs : 1) * sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < e->n_procs; i++)
		if (e->procs[i].session == session)
			v[(*n)++] = (__u32)e->procs[i].pid;
	if (*n > 1)
		qsort(v, *n, sizeof(*v), cmp_u32);
	return v;
}

bool in_set(const __u32 *set, size_t n, __u32 v)
{
	return n && bsearch(&v, set, n, sizeof(v), cmp_u32);
}

static int exited_thread_append(struct engine *e, const struct rtp_thread *t)
{
	if (vec__grow(&e->exited_threads, &e->cap_exited_threads, e->n_exited_threads))
		return -ENOMEM;
	e->exited_threads[e->n_exited_threads++] = *t;
	return 0;
}

struct harvest {
	struct engine *e;
	uint64_t now;
};

static int harvest_one(const void *key, const void *value, void *ctx)
{
	const struct rtp_thread *t = value;
	struct harvest *h = ctx;

	(void)key;
	if (!(t->flags & RTP_THR_EXITED) || t->exit_ns + RTP_FORGET_GRACE_NS > h->now)
		return 0;
	if (exited_thread_append(h->e, t))
		return -ENOMEM;
	engine_share_release(h->e, t->share);
	return 1;
}

int engine_harvest_threads(struct engine *e, uint64_t now)
{
	struct harvest h = { .e = e, .now = now };

	return bpfmap__delete_where(e->skel->maps.threads, sizeof(__u32), sizeof(struct rtp_thread), harvest_one, &h);
}

static int errno_of_slot(const void *key, const void *value, void *ctx)
{
	(void)value;
	return ((const struct rtp_errno_key *)key)->slot == *(const __u32 *)ctx;
}

static int thread_sys_of_slot(const void *key, const void *value, void *ctx)
{
	(void)value;
	return ((const struct rtp_thread_sys_key *)key)->slot == *(const __u32 *)ctx;
}

static int err_path_of_slot(const void *key, const void *value, void *ctx)
{
	(void)value;
	return ((const struct rtp_err_path_key *)key)->slot == *(const __u32 *)ctx;
}

/* Clear a slot's per-CPU figures and errno counts in the maps. */
int engine_clear_slot(struct engine *e, __u32 slot)
{
	size_t n = (size_t)e->ncpus;
	void *zeros = calloc(n, sizeof(struct rtp_sys_stats) > sizeof(struct rtp_hist) ? sizeof(struct rtp_sys_stats)
										      : sizeof(struct rtp_hist));
	int r = 0;

	if (!zeros)
		return -ENOMEM;
	for (unsigned int nr = 0; nr < RTP_MAX_SYSCALLS && !r; nr++) {
		__u32 k = slot * RTP_MAX_SYSCALLS + nr;

		r = bpf_map__update_elem(e->skel->maps.sys_stats, &k, sizeof(k), zeros, n * sizeof(struct rtp_sys_stats), 0);
	}
	r = r ?: bpf_map__update_elem(e->skel->maps.runq_hist, &slot, sizeof(slot), zeros, n * sizeof(struct rtp_hist), 0);
	r = r ?: bpf_map__update_elem(e->skel->maps.cpu_busy, &slot, sizeof(slot), zeros, n * sizeof(__u64), 0);
	r = r ?: bpfmap__delete_where(e->skel->maps.sys_errnos, sizeof(struct rtp_errno_key), sizeof(__u64), errno_of_slot, &slot);
	r = r ?: bpfmap__delete_where(e->skel->maps.err_paths, sizeof(struct rtp_err_path_key), sizeof(__u64),
				      err_path_of_slot, &slot);
	r = r ?: bpfmap__delete_where(e->skel->maps.thread_sys, sizeof(struct rtp_thread_sys_key),
				      sizeof(struct rtp_thread_sys), thread_sys_of_slot, &slot);
	if (!r) {
		struct rtp_err_path_use none = { 0 };

		r = bpf_map__update_elem(e->skel->maps.err_path_use, &slot, sizeof(slot), &none, sizeof(none), 0);
	}
	free(zeros);
	return r;
}

struct tgid_set {
	struct engine *e;
	const __u32 *v;
	size_t n;
};

static int thread_of_set(const void *key, const void *value, void *ctx)
{
	const struct tgid_set *set = ctx;
	const struct rtp_thread *t = value;

	(void)key;
	if (!in_set(set->v, set->n, t->tgid))
		return 0;
	engine_share_release(set->e, t->share);
	return 1;
}

void engine_forget_threads_of(struct engine *e, pid_t pid)
{
	__u32 tgid = (__u32)pid;
	struct tgid_set set = { .v = &tgid, .n = 1, .e = e };

	(void)bpfmap__delete_where(e->skel->maps.threads, sizeof(__u32), sizeof(struct rtp_thread), thread_of_set, &set);
}

void engine__session_free(struct engine *e, int session)
{
	size_t n_tgids, kept = 0;
	__u32 *tgids;

	if (session < 0 || (unsigned int)session >= e->opts.max_sessions || !e->sessions[session].used)
		return;
	tgids = session_tgids(e, (unsigned int)session, &n_tgids);
	/* out of the target set first, so that nothing adds to the slot while it is cleared */
	for (size_t i = 0; i < e->n_procs; i++) {
		struct target_proc *p = &e->procs[i];

		if (p->session == (unsigned int)session) {
			engine_target_remove(e, p);
			rt_detach(&e->rt, p);
			rt_free(&e->rt, p);
			pystacks__forget(e, p);
		} else {
			e->procs[kept++] = *p;
		}
	}
	e->n_procs = kept;
	__atomic_fetch_add(&e->skel->bss->target_gen, 1, __ATOMIC_SEQ_CST);
	if (tgids) {
		struct tgid_set set = { e, tgids, n_tgids };
		size_t kept_threads = 0;

		for (size_t i = 0; i < e->n_exited_threads; i++)
			if (!in_set(tgids, n_tgids, e->exited_threads[i].tgid))
				e->exited_threads[kept_threads++] = e->exited_threads[i];
		e->n_exited_threads = kept_threads;
		(void)bpfmap__delete_where(e->skel->maps.threads, sizeof(__u32), sizeof(struct rtp_thread), thread_of_set, &set);
		free(tgids);
	}
	(void)engine_clear_slot(e, (__u32)session);
	if (e->sessions[session].stacks_ref)
		pystacks__rate_put(e, e->sessions[session].stacks_hz);
	engine_session_clear(&e->sessions[session]);
	reaper__flush(&e->reaper); /* its probes: destroyed off this thread */
}
