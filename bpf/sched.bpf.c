// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Per-thread on-CPU, run-queue wait, sleep/blocked time, switches and migrations; per-CPU busy time
 * and a run-queue latency histogram per process. Mirrors the kernel's schedstat definitions:
 * run-queue wait runs from wakeup or preemption to the next switch-in. */
#include "rtprof.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RTP_DEFAULT_MAX_SLOTS);
	__type(key, __u32); /* slot */
	__type(value, __u64);
} cpu_busy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RTP_DEFAULT_MAX_SLOTS);
	__type(key, __u32); /* slot */
	__type(value, struct rtp_hist);
} runq_hist SEC(".maps");

/* Read the kernel's accounting of a task that is not running right now (prev after its last
 * update_curr, or next before it starts) and return the CPU time it used since the previous reading,
 * KSTATS_NONE if there was none. Totals use it because the kernel skips clock updates
 * between a wakeup and the switch (rq_clock_skip_update), so its run_delay leaves out the wakeup IPI and
 * idle exit that event timestamps include (~10-15 us a wakeup on a VM); matching it makes the numbers
 * comparable with /proc/PID/task/TID/schedstat. */
#define KSTATS_NONE ((__u64)-1)

static __always_inline __u64 kstats_read(struct rtp_thread *t, struct task_struct *task)
{
	__u64 on, rq, ran = KSTATS_NONE;

	if (!bpf_core_field_exists(task->sched_info))
		return KSTATS_NONE;
	on = task->se.sum_exec_runtime;
	rq = BPF_CORE_READ(task, sched_info.run_delay);
	if (!(t->flags & RTP_THR_KSTATS)) {
		/* a thread born under tracing starts from zero; one seen first now, from now */
		t->k_oncpu_base = t->k_oncpu = t->start_ns ? 0 : on;
		t->k_runq_base = t->start_ns ? 0 : rq;
		t->flags |= RTP_THR_KSTATS;
	}
	if (on >= t->k_oncpu)
		ran = on - t->k_oncpu;
	t->k_oncpu = on;
	t->k_runq = rq;
	return ran;
}

static __always_inline void switch_out(struct task_struct *prev, __u32 slot, struct rtp_cpu_cur *cur,
				       bool preempt, unsigned int prev_state, __u64 now)
{
	struct rtp_thread *t = thread_get(prev, true);
	__u64 ran_ts, ran, *busy;

	if (!t)
		return;
	ran_ts = rtp_acct_switch_out(&t->sched, preempt, prev_state, now);
	/* a running task does not migrate: all it ran since the last reading was on this CPU, also when
	 * it was already running when tracing began */
	ran = kstats_read(t, prev);
	busy = bpf_map_lookup_elem(&cpu_busy, &slot);
	if (busy)
		*busy += ran != KSTATS_NONE ? ran : ran_ts;
	/* A syscall in flight leaves this CPU with its thread: keep its state with the thread. A call
	 * sampled out of timing is timed from here, so a blocking call always has a latency. */
	if (cur->tid == t->tid && cur->in_sys) {
		t->sys_state = RTP_SYS_TIMED | RTP_SYS_OFF | (cur->in_sys & RTP_SYS_RT);
		t->sys_ts = (cur->in_sys & RTP_SYS_STATE) == RTP_SYS_TIMED ? cur->sys_ts : now;
		t->sys_nr = cur->sys_nr;
	}
}

static __always_inline void switch_in(struct task_struct *next, __u32 slot, struct rtp_cpu_cur *cur, __u64 now)
{
	struct rtp_thread *t = thread_get(next, true);
	__u64 runq_wait;

	if (!t)
		return;
	if (rtp_acct_switch_in(&t->sched, now, &runq_wait)) {
		struct rtp_hist *h = bpf_map_lookup_elem(&runq_hist, &slot);

		if (h)
			h->slots[rtp_hist_slot(runq_wait)]++;
	}
	t->cpu = bpf_get_smp_processor_id();
	(void)kstats_read(t, next);
	if (t->sys_state) {
		cur->sys_ts = t->sys_ts;
		cur->sys_nr = t->sys_nr;
		cur->in_sys = t->sys_state;
		t->sys_state = RTP_SYS_NONE;
	}
}

static __always_inline void trace_switch(bool preempt, struct task_struct *prev, struct task_struct *next,
					 unsigned int prev_state, __u64 now)
{
	struct rtp_tr_switch *r = trace_reserve(sizeof(*r));

	if (!r)
		return;
	r->type = RTP_TR_SWITCH;
	r->cpu = bpf_get_smp_processor_id();
	r->ts_ns = now;
	r->prev_tid = prev ? prev->pid : 0;
	r->next_tid = next ? next->pid : 0;
	r->prev_state = prev_state;
	r->preempt = preempt;
	r->prev_oncpu_ns = 0;
	r->prev_runq_ns = 0;
	if (prev) {
		r->prev_oncpu_ns = prev->se.sum_exec_runtime;
		if (bpf_core_field_exists(prev->sched_info))
			r->prev_runq_ns = BPF_CORE_READ(prev, sched_info.run_delay);
	}
	trace_submit(r);
}

static __always_inline void trace_wakeup(__u32 type, struct task_struct *p, __u32 target_cpu, __u64 now)
{
	struct rtp_tr_wakeup *r = trace_reserve(sizeof(*r));

	if (!r)
		return;
	r->type = type;
	r->cpu = bpf_get_smp_processor_id();
	r->ts_ns = now;
	r->tid = p->pid;
	r->target_cpu = target_cpu;
	trace_submit(r);
}

/* prev_state: core_fixes.bpf.h (an argument of the tracepoint since 5.18) */
SEC("tp_btf/sched_switch")
int BPF_PROG(rtp_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 zero = 0, prev_state;
	struct rtp_cpu_cur *cur = bpf_map_lookup_elem(&cpu_cur, &zero);
	struct rtp_target *tgt;
	__u64 now, gen = target_gen;
	__u32 prev_slot1;

	if (!cur)
		return 0;
	if (cur->tid == (__u32)prev->pid && cur->gen == gen) {
		prev_slot1 = cur->slot1;
	} else {
		if (cur->tid != (__u32)prev->pid)
			cur_resync(cur, prev->pid);
		tgt = target_of(prev);
		prev_slot1 = tgt ? tgt->slot + 1 : 0;
	}
	tgt = target_of(next);
	if (!prev_slot1 && !tgt) {
		cur->tid = next->pid;
		cur->gen = gen;
		cur->slot1 = 0;
		cur->tflags = 0;
		cur->in_sys = 0;
		return 0;
	}
	now = bpf_ktime_get_ns();
	prev_state = sched_switch_prev_state(ctx, prev);
	if (prev_slot1)
		switch_out(prev, prev_slot1 - 1, cur, preempt, prev_state, now);
	cur->tid = next->pid;
	cur->gen = gen;
	cur->slot1 = tgt ? tgt->slot + 1 : 0;
	cur->tflags = tgt ? tgt->flags : 0;
	cur->in_sys = 0;
	if (tgt)
		switch_in(next, tgt->slot, cur, now);
	if (record_trace)
		trace_switch(preempt, prev_slot1 ? prev : NULL, tgt ? next : NULL, prev_state, now);
	return 0;
}

static __always_inline int on_wakeup(struct task_struct *p)
{
	struct rtp_thread *t;
	__u64 now;

	if (!target_of(p))
		return 0;
	t = thread_get(p, true);
	if (!t || rtp_acct_running(&t->sched))
		return 0;
	now = bpf_ktime_get_ns();
	if (record_trace)
		trace_wakeup(RTP_TR_WAKEUP, p, BPF_CORE_READ(p, thread_info.cpu), now);
	rtp_acct_wakeup(&t->sched, now);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(rtp_sched_wakeup, struct task_struct *p)
{
	return on_wakeup(p);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(rtp_sched_wakeup_new, struct task_struct *p)
{
	return on_wakeup(p);
}

SEC("tp_btf/sched_migrate_task")
int BPF_PROG(rtp_sched_migrate_task, struct task_struct *p, int dest_cpu)
{
	struct rtp_thread *t;

	if (!target_of(p))
		return 0;
	t = thread_get(p, true);
	if (t)
		rtp_acct_migrate(&t->sched);
	if (record_trace)
		trace_wakeup(RTP_TR_MIGRATE, p, (__u32)dest_cpu, bpf_ktime_get_ns());
	return 0;
}
