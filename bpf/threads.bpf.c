// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Thread and process lifecycle: creation (with parent), exec, exit, rename. Always streamed:
 * rare, and the report needs them. Children of a followed target join the target set here. */
#include "rtprof.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by userspace before load: report execs of programs named python* or node* (rtprofd --watch). */
const volatile __u32 watch_execs = 0;

/* Watch mode's programs whose runtime probes are in place for every process (rtprof_abi.h), and the
 * session slots held ready for their processes. Both filled by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct rtp_watch_file_key);
	__type(value, struct rtp_watch_tmpl);
} watch_files SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, RTP_ARMED_SLOTS);
	__type(value, __u32);
} armed_slots SEC(".maps");

/* The runtime entry watch_arm makes, built here: it does not fit on the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rtp_rt_proc);
} arm_scratch SEC(".maps");

/* A watched program whose runtime probes are in place file-wide: the process goes into a slot held ready,
 * its runtime entry made from the program's template, before its first instruction. The slot, or -1. */
static __always_inline long watch_arm(struct task_struct *p, struct linux_binprm *bprm)
{
	struct inode *ino = BPF_CORE_READ(bprm, file, f_inode);
	struct rtp_watch_file_key key = { .dev = BPF_CORE_READ(ino, i_sb, s_dev), .ino = BPF_CORE_READ(ino, i_ino) };
	struct rtp_watch_tmpl *tmpl = bpf_map_lookup_elem(&watch_files, &key);
	struct rtp_target tgt = {};
	struct rtp_rt_proc *rp;
	__u32 tgid = p->tgid, slot, zero = 0;

	rp = bpf_map_lookup_elem(&arm_scratch, &zero);
	if (!tmpl || !rp || bpf_map_pop_elem(&armed_slots, &slot))
		return -1;
	tgt.slot = slot;
	tgt.flags = tmpl->tflags & RTP_TARGET_RT_MASK;
	tgt.start_ns = BPF_CORE_READ(p, group_leader, start_boottime);
	tgt.start_ticks = ns_per_tick ? tgt.start_ns / ns_per_tick : 0;
	__builtin_memset(rp, 0, sizeof(*rp));
	rp->kind = tmpl->kind;
	rp->py_tstate_interp = tmpl->py_tstate_interp;
	rp->py_interp_gcstats = tmpl->py_interp_gcstats;
	rp->filewide = 1;
	if (bpf_map_update_elem(&rt_procs, &tgid, rp, BPF_ANY)) {
		bpf_map_push_elem(&armed_slots, &slot, BPF_ANY);
		return -1;
	}
	if (bpf_map_update_elem(&targets, &tgid, &tgt, BPF_NOEXIST)) {
		bpf_map_delete_elem(&rt_procs, &tgid);
		bpf_map_push_elem(&armed_slots, &slot, BPF_ANY);
		counter_inc(RTP_CNT_PROC_DROPS);
		return -1;
	}
	__sync_fetch_and_add(&target_gen, 1);
	return slot;
}

static __always_inline bool comm_is_watched(const char *comm)
{
	char c[8] = {};

	bpf_probe_read_kernel(c, sizeof(c), comm);
	return (c[0] == 'p' && c[1] == 'y' && c[2] == 't' && c[3] == 'h' && c[4] == 'o' && c[5] == 'n') ||
	       (c[0] == 'n' && c[1] == 'o' && c[2] == 'd' && c[3] == 'e' && (c[4] == 0 || c[4] == 'j'));
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(rtp_sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	struct rtp_target *ptgt = target_of(parent);
	struct rtp_thread *t;
	struct rtp_event *e;
	__u64 now;
	__u32 flags = 0;

	if (!ptgt)
		return 0;
	now = bpf_ktime_get_ns();
	if (child->tgid != parent->tgid) {
		/* a child made with other credentials (clone3 cannot, but be sure) is not followed into a
		 * restricted session */
		if ((ptgt->flags & RTP_TARGET_FOLLOW) &&
		    (!(ptgt->flags & RTP_TARGET_RESTRICTED) || creds_within(BPF_CORE_READ(child, real_cred), ptgt))) {
			/* the child adds to its parent's session */
			struct rtp_target tgt = *ptgt;
			__u32 tgid = child->tgid;

			tgt.flags &= ~RTP_TARGET_RT_MASK; /* until its runtime is known */
			tgt.start_ns = child->start_boottime;
			tgt.start_ticks = ns_per_tick ? tgt.start_ns / ns_per_tick : 0;

			if (bpf_map_update_elem(&targets, &tgid, &tgt, BPF_ANY)) {
				counter_inc(RTP_CNT_PROC_DROPS);
			} else {
				__sync_fetch_and_add(&target_gen, 1);
				flags |= RTP_EV_FOLLOWED;
			}
		}
	}
	if (child->tgid == parent->tgid || (flags & RTP_EV_FOLLOWED)) {
		t = thread_get(child, true);
		if (t) {
			t->parent_tid = parent->pid;
			t->start_ns = now;
		}
	}
	e = event_reserve(child->tgid == parent->tgid ? RTP_REC_THREAD_NEW : RTP_REC_PROC_NEW, child, now);
	if (!e)
		return 0;
	e->flags = flags;
	e->parent_tgid = parent->tgid;
	e->parent_tid = parent->pid;
	if (flags & RTP_EV_FOLLOWED)
		event_submit_now(e);
	else
		event_submit(e);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(rtp_sched_process_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct rtp_target *tgt;
	struct rtp_thread *t;
	struct rtp_event *e;

	if (!target_of(p)) {
		/* watch mode: tell userspace about every new python or node program */
		if (watch_execs && comm_is_watched(p->comm)) {
			long slot = watch_arm(p, bprm);

			if (slot >= 0) {
				t = thread_get(p, true);
				if (t)
					bpf_probe_read_kernel_str(t->comm, sizeof(t->comm), p->comm);
			}
			e = event_reserve(RTP_REC_EXEC, p, bpf_ktime_get_ns());
			if (e) {
				e->flags = RTP_EV_WATCH | (slot >= 0 ? RTP_EV_ARMED : 0);
				e->parent_tgid = slot >= 0 ? (__u32)slot : 0;
				e->parent_tid = old_pid;
				event_submit_now(e);
			}
		}
		return 0;
	}
	tgt = target_of(p);
	if (tgt && (tgt->flags & RTP_TARGET_RESTRICTED) &&
	    (BPF_CORE_READ_BITFIELD(bprm, secureexec) || !creds_within(BPF_CORE_READ(p, real_cred), tgt))) {
		target_drop(p, old_pid, 0);
		return 0;
	}
	t = thread_get(p, true);
	if (t)
		bpf_probe_read_kernel_str(t->comm, sizeof(t->comm), p->comm);
	e = event_reserve(RTP_REC_EXEC, p, bpf_ktime_get_ns());
	if (!e)
		return 0;
	e->parent_tid = old_pid;
	event_submit_now(e);
	return 0;
}

/* group_dead: core_fixes.bpf.h (an argument of the tracepoint since 6.x) */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(rtp_sched_process_exit, struct task_struct *p)
{
	struct rtp_thread *t;
	struct rtp_event *e;
	__u64 now;

	if (!target_of(p))
		return 0;
	now = bpf_ktime_get_ns();
	t = thread_get(p, false);
	if (t) {
		t->exit_ns = now;
		t->flags |= RTP_THR_EXITED;
	}
	e = event_reserve(RTP_REC_THREAD_EXIT, p, now);
	if (!e)
		return 0;
	e->exit_code = p->exit_code;
	if (sched_process_exit_group_dead(ctx, p)) {
		e->flags |= RTP_EV_GROUP_DEAD;
		event_submit_now(e);
	} else {
		event_submit(e);
	}
	return 0;
}

SEC("tp_btf/task_rename")
int BPF_PROG(rtp_task_rename, struct task_struct *task, const char *comm)
{
	struct rtp_thread *t;
	struct rtp_event *e;

	if (!target_of(task))
		return 0;
	t = thread_get(task, true);
	if (t)
		bpf_probe_read_kernel_str(t->comm, sizeof(t->comm), comm);
	e = event_reserve(RTP_REC_RENAME, task, bpf_ktime_get_ns());
	if (!e)
		return 0;
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), comm);
	event_submit(e);
	return 0;
}
