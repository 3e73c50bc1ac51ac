// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Python stacks: at each on-CPU sample of a target thread (a software cpu-clock perf event per CPU, at the
 * rate its session asked for), walk the interpreter's frame chain from the thread's own thread state and count
 * the stack, aggregated here by (process, thread, stack). Names, files and lines are resolved in
 * userspace from the code objects' addresses (engine/pystacks.c); nothing is read here that userspace
 * did not first check against the interpreter's binary.
 *
 * The thread state comes from the interpreter's gilstate TSS key (pthread_getspecific of the thread,
 * read through its fs base), not from the GIL holder: it stays bound while the thread waits with the GIL
 * released, and it is checked against the thread (tstate->thread_id is the thread's pthread_t, its fs
 * base) before any frame is read. */
#include "pystack.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* A thread off CPU since ts, in the stack it left in. */
struct py_off {
	__u64 stack;
	__u64 ts;
	__u32 state; /* enum rtp_off_state */
	__u32 gil;   /* it left waiting for the GIL */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32); /* tid */
	__type(value, struct py_off);
} py_off SEC(".maps");

/* Set by userspace before load: the futex syscall's number (GIL waits are futex waits). */
const volatile __u32 py_nr_futex = 202;

/* The inode of the file mapped where the thread runs (0: an anonymous mapping, JIT code say). */
static long vma_inode(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct file *f = vma->vm_file;

	*(__u64 *)data = f ? BPF_CORE_READ(f, f_inode, i_ino) : 0;
	return 0;
}

SEC("perf_event")
int rtp_py_sample(struct bpf_perf_event_data *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	const struct rtp_py_proc *pp;
	__u32 tgid = task->tgid, flags = 0;
	__u64 stack, native = 0;

	if (!target_of(task))
		return 0;
	pp = bpf_map_lookup_elem(&py_procs, &tgid);
	/* one set of events per rate in use (rtprofd's sessions may ask for different ones): a process takes
	 * the samples of its session's rate only */
	if (!pp || bpf_get_attach_cookie(ctx) != pp->sample_hz)
		return 0;
#if defined(__TARGET_ARCH_x86)
	/* the whole word: the context allows no narrower read of a register */
	if ((*(volatile __u64 *)&ctx->regs.cs & 3) != 3) {
		flags |= RTP_STACK_KERNEL;
	} else if (pp->interp_ino) {
		/* user code: the interpreter's, or native code in another file */
		__u64 ino = ~0ull;

		if (!bpf_find_vma(task, *(volatile __u64 *)&ctx->regs.ip, vma_inode, &ino, 0) && ino != pp->interp_ino) {
			flags |= RTP_STACK_NATIVE;
			native = ino;
		}
	}
#endif
	stack = py_walk(task, pp, flags, native);
	if (stack)
		py_count(tgid, task->pid, stack, RTP_PROF_CPU, 0, 0);
	return 0;
}

/* Whether prev leaves in a GIL wait: the syscall probes flagged its futex wait on the GIL (RTP_SYS_RT, set
 * only for GIL waits in a python process). The flag is in the CPU's record until rtp_sched_switch has
 * run for this switch, in the thread's after: either order of the two programs reads it. */
static __always_inline bool leaves_in_gil_wait(struct task_struct *prev)
{
	__u32 zero = 0, tid = prev->pid;
	struct rtp_cpu_cur *cur = bpf_map_lookup_elem(&cpu_cur, &zero);
	struct rtp_thread *t;

	if (cur && cur->tid == tid && (cur->in_sys & RTP_SYS_RT))
		return cur->sys_nr == py_nr_futex;
	t = bpf_map_lookup_elem(&threads, &tid);
	return t && (t->sys_state & RTP_SYS_RT) && t->sys_nr == py_nr_futex;
}

/* Off-CPU time by stack: the stack a thread leaves the CPU in is walked as it leaves (it is still the
 * current task here, its memory the one mapped), and charged with the time until it runs again. */
SEC("tp_btf/sched_switch")
int BPF_PROG(rtp_py_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	const struct rtp_py_proc *pp;
	struct py_off *o;
	__u32 tgid, tid;
	__u64 now = 0;

	if (target_of(prev)) {
		tgid = prev->tgid;
		pp = bpf_map_lookup_elem(&py_procs, &tgid);
		if (pp) {
			struct py_off off = { .state = rtp_off_state(preempt, sched_switch_prev_state(ctx, prev)) };

			off.gil = off.state == RTP_OFF_SLEEPING && leaves_in_gil_wait(prev);
			off.stack = py_walk(prev, pp, 0, 0);
			now = bpf_ktime_get_ns();
			off.ts = now;
			tid = prev->pid;
			if (off.stack && off.state != RTP_OFF_DEAD)
				bpf_map_update_elem(&py_off, &tid, &off, BPF_ANY);
		}
	}
	if (!target_of(next))
		return 0;
	tid = next->pid;
	o = bpf_map_lookup_elem(&py_off, &tid);
	if (!o)
		return 0;
	if (!now)
		now = bpf_ktime_get_ns();
	if (now > o->ts) {
		py_count(next->tgid, tid, o->stack, RTP_PROF_OFFCPU, o->state, now - o->ts);
		if (o->gil)
			py_count(next->tgid, tid, o->stack, RTP_PROF_GIL, 0, now - o->ts);
	}
	bpf_map_delete_elem(&py_off, &tid);
	return 0;
}
