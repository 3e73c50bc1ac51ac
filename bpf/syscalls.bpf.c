// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Per (process, syscall) count, errors by errno, total/max latency and a log2 histogram.
 * The hot path touches only per-CPU array slots: "is current a target" comes from the per-CPU
 * cache that sched_switch fills, so a syscall costs no hash lookup. */
#include "pystack.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by userspace before load: syscalls that never return, counted at entry. */
const volatile __u32 nr_exit = 0xffffffff;
const volatile __u32 nr_exit_group = 0xffffffff;
/* The syscall of the kernel's uretprobe trampoline (x86-64, Linux 6.11+): each return probe rtprof places
 * makes one. rtprof's machinery, not the target's activity: never counted. */
const volatile __u32 nr_uretprobe = RTP_NR_NONE;
/* 0: time every syscall; else time one in 2^sample_shift within a burst */
const volatile __u32 sample_shift = RTP_DEFAULT_SAMPLE_SHIFT;
/* Runtime metrics (set by userspace from rtp_sysnrs_native(); RTP_NR_NONE where the architecture lacks the call) */
const volatile __u32 nr_futex = RTP_NR_NONE;
const volatile __u32 nr_epoll_wait = RTP_NR_NONE;
const volatile __u32 nr_epoll_pwait = RTP_NR_NONE;
const volatile __u32 nr_epoll_pwait2 = RTP_NR_NONE;
/* Set by userspace before load: bit nr set for the syscalls that may change the caller's credentials
 * (setuid and kin, capset, prctl, unshare, setns), nr < 512. */
const volatile __u64 cred_nrs[8] = {};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RTP_DEFAULT_MAX_SLOTS * RTP_MAX_SYSCALLS);
	__type(key, __u32); /* slot * RTP_MAX_SYSCALLS + nr */
	__type(value, struct rtp_sys_stats);
} sys_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RTP_DEFAULT_MAX_ERRNO_KEYS);
	__type(key, struct rtp_errno_key);
	__type(value, __u64);
} sys_errnos SEC(".maps");

/* Set by userspace before load: for the syscalls that take a path, 1 + the argument that holds it (0: the
 * call takes none). */
const volatile __u8 path_arg[RTP_MAX_SYSCALLS] = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RTP_DEFAULT_MAX_SLOTS * RTP_ERR_PATHS_PER_SLOT);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct rtp_err_path_key);
	__type(value, __u64);
} err_paths SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RTP_DEFAULT_MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct rtp_err_path_use);
} err_path_use SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rtp_err_path_key);
} err_path_scratch SEC(".maps");

/* A failed call that named a path (at user address uptr): counted by it, within the session's share. A
 * function of its own: verified once, and only failures of path-taking calls pay for it. */
static __noinline void err_path_count(__u32 slot, __u32 nr, __u32 err, __u64 uptr)
{
	struct rtp_err_path_key *k;
	struct rtp_err_path_use *use;
	__u64 one = 1, *n;
	__u32 zero = 0;

	use = bpf_map_lookup_elem(&err_path_use, &slot);
	k = bpf_map_lookup_elem(&err_path_scratch, &zero);
	if (!use || !k)
		return;
	__builtin_memset(k, 0, sizeof(*k));
	k->slot = slot;
	k->nr = (__u16)nr;
	k->err = (__u16)err;
	if (bpf_probe_read_user_str(k->path, sizeof(k->path), (void *)uptr) <= 0) {
		__sync_fetch_and_add(&use->drops, 1);
		return;
	}
	n = bpf_map_lookup_elem(&err_paths, k);
	if (n) {
		__sync_fetch_and_add(n, 1);
		return;
	}
	/* a new path: within the share (two CPUs may both pass the test: a share is a bound, not a count) */
	if (use->keys >= RTP_ERR_PATHS_PER_SLOT || bpf_map_update_elem(&err_paths, k, &one, BPF_NOEXIST)) {
		/* -EEXIST: another CPU added it meanwhile */
		n = bpf_map_lookup_elem(&err_paths, k);
		if (n)
			__sync_fetch_and_add(n, 1);
		else
			__sync_fetch_and_add(&use->drops, 1);
		return;
	}
	__sync_fetch_and_add(&use->keys, 1);
}

/* The path argument of a failed call, or 0. */
static __always_inline __u64 path_of(struct pt_regs *regs, __u32 nr)
{
#if defined(__TARGET_ARCH_x86)
	switch (nr < RTP_MAX_SYSCALLS ? path_arg[nr] : 0) {
	case 1: return regs->di;
	case 2: return regs->si;
	case 3: return regs->dx;
	case 4: return regs->r10;
	}
#endif
	return 0;
}

/* The cache is stale after a switch we did not see (attach, or one the kernel did not trace) or a change of
 * the target set. */
static __always_inline struct rtp_cpu_cur *cur_get(__u32 tid)
{
	__u32 zero = 0;
	struct rtp_cpu_cur *cur = bpf_map_lookup_elem(&cpu_cur, &zero);
	struct rtp_target *tgt;
	__u64 gen = target_gen;

	if (!cur)
		return NULL;
	if (cur->tid == tid && cur->gen == gen)
		return cur;
	if (cur->tid != tid)
		cur_resync(cur, tid);
	tgt = target_of(bpf_get_current_task_btf());
	cur->slot1 = tgt ? tgt->slot + 1 : 0;
	cur->tflags = tgt ? tgt->flags : 0;
	cur->gen = gen;
	return cur;
}

static __always_inline struct rtp_sys_stats *stats_of(__u32 slot1, __u32 nr)
{
	__u32 idx;

	if (nr >= RTP_MAX_SYSCALLS) {
		counter_inc(RTP_CNT_SYSCALL_NR_OOR);
		return NULL;
	}
	idx = (slot1 - 1) * RTP_MAX_SYSCALLS + nr;
	return bpf_map_lookup_elem(&sys_stats, &idx);
}

/* 0, or -1 when the record was lost (the trace buffer was full) */
static __always_inline int trace_syscall(__u32 tid, __u32 nr, __u64 ts, __u64 dur, long ret)
{
	struct rtp_tr_syscall *r = trace_reserve(sizeof(*r));

	if (!r)
		return -1;
	r->type = RTP_TR_SYSCALL;
	r->tid = tid;
	r->ts_ns = ts;
	r->dur_ns = dur;
	r->ret = ret;
	r->nr = nr;
	r->cpu = bpf_get_smp_processor_id();
	trace_submit(r);
	return 0;
}

static __always_inline bool is_epoll_wait(__u32 nr)
{
	struct rtp_sysnrs nrs = { .epoll_wait = nr_epoll_wait, .epoll_pwait = nr_epoll_pwait,
				  .epoll_pwait2 = nr_epoll_pwait2 };

	return rtp_sys_is_epoll_wait(&nrs, nr);
}

/* Syscalls by thread (--per-thread): entries made here, deleted with their slot by userspace; allocated as
 * they are made (a preallocated table would hold ~7 MB of every engine's memory, asked for or not). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RTP_DEFAULT_THREAD_SYS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct rtp_thread_sys_key);
	__type(value, struct rtp_thread_sys);
} thread_sys SEC(".maps");

/* how: bit 0, the call was timed (lat is its latency); bit 1, it failed */
static __noinline void thread_sys_add(__u32 slot, __u32 tid, __u32 nr, __u64 lat, __u32 how)
{
	struct rtp_thread_sys_key key = { .slot = slot, .tid = tid, .nr = nr };
	struct rtp_thread_sys zero = {}, *v = map_lookup_or_try_init(&thread_sys, &key, &zero);

	if (!v) {
		counter_inc(RTP_CNT_THREAD_SYS_DROPS);
		return;
	}
	/* a thread's entry is written by the thread itself, one call at a time */
	v->count++;
	v->errors += how >> 1 & 1;
	if (how & 1) {
		v->timed++;
		v->total_ns += lat;
		if (lat > v->max_ns)
			v->max_ns = lat;
	}
}

/* The end of a loop iteration busy for `busy` ns (its thread's loop_last_exit is still its start): sent
 * with the stacks sampled in it when it ran at least its process's threshold, or longer than any before
 * on its thread. */
static __noinline void loop_block(struct task_struct *task, struct rtp_thread *t, __u64 busy, __u32 longest)
{
	struct rtp_loop_iter *it;
	const struct rtp_py_proc *pp;
	struct rtp_loop_rec *r;
	__u32 tgid;

	if (!task || !t)
		return;
	it = bpf_task_storage_get(&loop_iter, task, 0, 0);
	if (!it || !it->n || it->start != t->loop_last_exit)
		return;
	tgid = task->tgid;
	pp = bpf_map_lookup_elem(&py_procs, &tgid);
	if (!pp || !pp->loop_block_ns || (!longest && busy < pp->loop_block_ns))
		return;
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		counter_inc(RTP_CNT_LOST_EVENTS);
		return;
	}
	r->type = RTP_REC_LOOP_BLOCK;
	r->flags = longest ? RTP_LOOP_LONGEST : 0;
	r->tgid = tgid;
	r->tid = task->pid;
	r->dur_ns = busy;
	__builtin_memcpy(&r->iter, it, sizeof(r->iter));
	bpf_ringbuf_submit(r, BPF_RB_FORCE_WAKEUP);
}

/* A syscall that runtime metrics time exactly: a wait on the GIL (a futex wait on an address inside the
 * interpreter's runtime state) or an event loop's epoll wait. At entry, an epoll wait ends the loop's busy
 * period (one iteration). */
static __always_inline bool rt_enter(struct rtp_cpu_cur *cur, struct pt_regs *regs, __u32 nr)
{
	if ((cur->tflags & RTP_TARGET_RT_GIL_FUTEX) && nr == nr_futex) {
		__u32 tgid = bpf_get_current_pid_tgid() >> 32;
		struct rtp_gil_range *g = bpf_map_lookup_elem(&rt_gil, &tgid);
		__u64 uaddr = PT_REGS_PARM1_CORE_SYSCALL(regs);
		__u32 op = (__u32)PT_REGS_PARM2_CORE_SYSCALL(regs);

		if (!g || !rtp_futex_is_gil_wait(op, uaddr, g->lo, g->hi))
			return false;
		cur->sys_ts = bpf_ktime_get_ns();
		return true;
	}
	if ((cur->tflags & RTP_TARGET_RT_LOOP) && is_epoll_wait(nr)) {
		struct task_struct *task = bpf_get_current_task_btf();
		struct rtp_thread *t = thread_get(task, true);
		__u64 now = bpf_ktime_get_ns();

		cur->sys_ts = now;

		if (t && t->loop_last_exit && now > t->loop_last_exit) {
			__u64 busy = now - t->loop_last_exit;

			t->loop_busy_ns += busy;
			t->loop_iters++;
			trace_runtime(t->tid, t->loop_last_exit, busy, RTP_TRK_LOOP_BUSY, 0);
			loop_block(task, t, busy, busy > t->loop_busy_max_ns);
			if (busy > t->loop_busy_max_ns)
				t->loop_busy_max_ns = busy;
			if (task->pid == task->tgid) {
				__u32 tgid = task->tgid;
				struct rtp_rt_proc *rp = bpf_map_lookup_elem(&rt_procs, &tgid);

				if (rp)
					__sync_fetch_and_add(&rp->loop_busy_hist[rtp_hist_slot(busy)], 1);
			}
		}
		if (t)
			t->loop_waiting = 1;
		return true;
	}
	return false;
}

/* An epoll wait not timed as the loop's idle time (it began before the loop was known) still marks where
 * the loop's next busy period begins. */
static __always_inline void loop_wait_ended(__u64 now)
{
	struct rtp_thread *t = thread_get(bpf_get_current_task_btf(), true);

	if (t) {
		t->loop_last_exit = now;
		t->loop_waiting = 0;
	}
}

static __always_inline void rt_exit(__u32 nr, __u64 start, __u64 now)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct rtp_thread *t = thread_get(task, true);
	__u64 d = now - start;

	if (!t)
		return;
	if (is_epoll_wait(nr)) {
		t->loop_idle_ns += d;
		t->loop_last_exit = now;
		t->loop_waiting = 0;
	} else {
		__u32 tgid = task->tgid;
		struct rtp_rt_proc *rp = bpf_map_lookup_elem(&rt_procs, &tgid);

		t->gil_wait_ns += d;
		t->gil_waits++;
		trace_runtime(t->tid, start, d, RTP_TRK_GIL_WAIT, 0);
		if (rp)
			__sync_fetch_and_add(&rp->gil_wait_hist[rtp_hist_slot(d)], 1);
	}
}

/* After a syscall that may have changed the credentials of a process of an unprivileged user's session:
 * it leaves the session unless ptrace would still let the user in (rtprof.bpf.h, creds_within). */
static __noinline void creds_changed(__u32 slot)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct rtp_target *tgt = target_of(task);

	if (tgt && tgt->slot == slot && (tgt->flags & RTP_TARGET_RESTRICTED) && !creds_within(BPF_CORE_READ(task, real_cred), tgt))
		target_drop(task, task->pid, RTP_EV_CREDS);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(rtp_sys_enter, struct pt_regs *regs, long id)
{
	struct rtp_cpu_cur *cur = cur_get((__u32)bpf_get_current_pid_tgid());
	struct rtp_sys_stats *s;

	if (!cur || !cur->slot1)
		return 0;
	if ((__u32)id == nr_uretprobe) {
		cur->in_sys = RTP_SYS_NONE;
		return 0;
	}
	if ((__u32)id == nr_exit || (__u32)id == nr_exit_group) {
		s = stats_of(cur->slot1, (__u32)id);
		if (s)
			s->count++;
		if (cur->tflags & RTP_TARGET_PER_THREAD)
			thread_sys_add(cur->slot1 - 1, cur->tid, (__u32)id, 0, 0);
		if (record_trace && trace_syscall(cur->tid, (__u32)id, bpf_ktime_get_ns(), 0, 0) && s)
			s->trace_lost++;
		return 0;
	}
	cur->sys_nr = (__u32)id;
	if ((cur->tflags & RTP_TARGET_RT_MASK) && rt_enter(cur, regs, (__u32)id)) {
		cur->in_sys = RTP_SYS_TIMED | RTP_SYS_RT;
		return 0;
	}
	if (sample_shift) {
		__u64 j = bpf_jiffies64();

		if (j != cur->jiffy) {
			cur->jiffy = j;
			cur->burst = 0;
		}
		if (++cur->burst > RTP_BURST_CALLS && (cur->burst & ((1u << sample_shift) - 1))) {
			cur->in_sys = RTP_SYS_COUNTED;
			return 0;
		}
	}
	cur->in_sys = RTP_SYS_TIMED;
	cur->sys_ts = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(rtp_sys_exit, struct pt_regs *regs, long ret)
{
	struct rtp_cpu_cur *cur = cur_get((__u32)bpf_get_current_pid_tgid());
	struct rtp_sys_stats *s;
	__u32 state;
	__u64 lat = 0;

	if (!cur || !cur->slot1)
		return 0;
	/* RTP_SYS_NONE: the syscall began before we attached; it is not counted. An event loop's epoll wait
	 * in flight at attach still marks where the loop's next busy period begins. */
	if (!cur->in_sys) {
		if ((cur->tflags & RTP_TARGET_RT_LOOP) && is_epoll_wait(SYSCALL_NR_CORE(regs)))
			loop_wait_ended(bpf_ktime_get_ns());
		return 0;
	}
	state = cur->in_sys;
	cur->in_sys = RTP_SYS_NONE;
	if ((cur->tflags & RTP_TARGET_RESTRICTED) && cur->sys_nr < 512 && ret >= 0 &&
	    (cred_nrs[(cur->sys_nr >> 6) & 7] >> (cur->sys_nr & 63) & 1))
		creds_changed(cur->slot1 - 1);
	s = stats_of(cur->slot1, cur->sys_nr);
	if (!s)
		return 0;
	s->count++;
	if ((state & RTP_SYS_STATE) == RTP_SYS_TIMED) {
		__u64 now = bpf_ktime_get_ns();

		lat = now - cur->sys_ts;
		rtp_sys_timed(s, lat);
		if (state & RTP_SYS_RT)
			rt_exit(cur->sys_nr, cur->sys_ts, now);
		else if ((cur->tflags & RTP_TARGET_RT_LOOP) && is_epoll_wait(cur->sys_nr))
			loop_wait_ended(now); /* entered before the loop was known: it still starts an iteration */
		if (record_trace && trace_syscall(cur->tid, cur->sys_nr, cur->sys_ts, lat, ret))
			s->trace_lost++;
	}
	if (cur->tflags & RTP_TARGET_PER_THREAD)
		thread_sys_add(cur->slot1 - 1, cur->tid, cur->sys_nr, lat,
			       ((state & RTP_SYS_STATE) == RTP_SYS_TIMED) | (rtp_sys_failed(ret) ? 2 : 0));
	if (py_stacks_on && (cur->tflags & RTP_TARGET_PY_STACKS))
		py_syscall(cur->tid, cur->sys_nr, (state & RTP_SYS_STATE) == RTP_SYS_TIMED ? lat : 0, rtp_sys_failed(ret),
			   state & RTP_SYS_OFF);
	if (rtp_sys_failed(ret)) {
		struct rtp_errno_key key = { .slot = cur->slot1 - 1, .nr = (__u16)cur->sys_nr, .err = (__u16)-ret };
		__u64 zero = 0, *n;

		__u64 path = path_of(regs, cur->sys_nr);

		s->errors++;
		n = map_lookup_or_try_init(&sys_errnos, &key, &zero);
		if (n)
			__sync_fetch_and_add(n, 1);
		if (path)
			err_path_count(key.slot, cur->sys_nr, key.err, path);
	}
	return 0;
}
