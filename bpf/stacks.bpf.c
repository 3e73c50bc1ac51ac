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

/* Set by userspace before load: the futex syscall's number (GIL waits are futex waits). */
const volatile __u32 py_nr_futex = 202;

/* The inode of the file mapped where the thread runs (RTP_NATIVE_VDSO: the vDSO; 0: another anonymous
 * mapping, JIT code say). */
static long vma_inode(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct file *f = vma->vm_file;

	if (f)
		*(__u64 *)data = BPF_CORE_READ(f, f_inode, i_ino);
#if defined(__TARGET_ARCH_x86)
	else if ((__u64)BPF_CORE_READ(vma, vm_mm, context.vdso) == vma->vm_start)
		*(__u64 *)data = RTP_NATIVE_VDSO;
#endif
	else
		*(__u64 *)data = 0;
	return 0;
}

/* A sample of a loop thread in the busy part of an iteration: its stack kept with the iteration's (see
 * rtp_loop_iter), for the iteration's end to send if it ran long. */
static __always_inline void loop_sample(struct task_struct *task, __u64 stack)
{
	__u32 tid = task->pid;
	struct rtp_thread *t = bpf_map_lookup_elem(&threads, &tid);
	struct rtp_loop_iter *it;
	__u64 start;

	if (!t || t->loop_waiting)
		return;
	start = t->loop_last_exit;
	if (!start)
		return;
	it = bpf_task_storage_get(&loop_iter, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!it)
		return;
	if (it->start != start) {
		it->start = start;
		it->n = 0;
		it->kept = 0;
	}
	it->n++;
	if (it->kept < RTP_LOOP_STACKS) {
		it->stacks[it->kept & (RTP_LOOP_STACKS - 1)] = stack;
		it->kept++;
	} else {
		/* reservoir sampling: each of the n samples is kept with the same chance */
		__u32 j = bpf_get_prandom_u32() % it->n;

		if (j < RTP_LOOP_STACKS)
			it->stacks[j] = stack;
	}
}

SEC("perf_event")
int rtp_py_sample(struct bpf_perf_event_data *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	const struct rtp_py_proc *pp;
	__u32 tgid = task->tgid, flags = 0;
	__u64 stack, native = 0;

	/* only walked processes are in py_procs, only while they are targets */
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
	stack = py_walk(task, pp, flags, native, PY_SLOT_IRQ);
	if (stack) {
		py_count(tgid, task->pid, stack, RTP_PROF_CPU, 0, 0);
		if (pp->loop_block_ns)
			loop_sample(task, stack);
	}
	return 0;
}

/* Off-CPU time by stack: the time from a thread's switch-out to its switch-in, charged to the stack it left
 * the CPU in. The switch times are the scheduler accounting's (sched.bpf.c, which runs first: userspace
 * attaches this program after it), read from the thread's record, as the threads table's sleep and blocked
 * times are; the record also says the syscall the thread leaves in.
 *
 * In a syscall, the stack is the one the syscall's exit walks (the thread runs no user code until then):
 * the time is kept until the exit (py_syscall), which walks once for the call and all its time off CPU, and
 * counts a short wait the way it counts a short call. Elsewhere (preempted in user code, a page fault) the
 * stack is walked as the thread leaves (it is still the current task here, its memory the one mapped). */
SEC("tp_btf/sched_switch")
int BPF_PROG(rtp_py_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	const struct rtp_py_proc *pp;
	struct rtp_thread *t;
	struct py_off *o, *in;
	__u32 tgid = prev->tgid, tid, nr = 0, in_sys = 0, state;
	__u64 now, ts;

	/* on every switch of the machine: one lookup for prev (only walked processes are in py_procs, only
	 * while they are targets), next's own storage (only their threads have some) */
	pp = bpf_map_lookup_elem(&py_procs, &tgid);
	in = bpf_task_storage_get(&py_off, next, 0, 0);
	if (!pp && !(in && in->ts))
		return 0;
	now = bpf_ktime_get_ns(); /* for a thread without a record */
	if (pp) {
		tid = prev->pid;
		state = rtp_off_state(preempt, sched_switch_prev_state(ctx, prev));
		if (state != RTP_OFF_DEAD) {
			t = bpf_map_lookup_elem(&threads, &tid);
			ts = 0;
			if (t) {
				/* RTP_SYS_* of the syscall it leaves in, with its number (0: none, or one that began
				 * before the probes); a GIL wait is a futex wait the syscall probes flagged RTP_SYS_RT
				 * (set only for GIL waits in a python process) */
				in_sys = t->sys_state;
				nr = t->sys_nr;
				ts = state == RTP_OFF_RUNNABLE ? t->sched.queued_ts : t->sched.off_ts;
			}
			if (!ts)
				ts = now;
			o = bpf_task_storage_get(&py_off, prev, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
			if (o) {
				/* in a syscall: again in the same one (its time so far kept), or a first time */
				if (!in_sys || o->stack || o->sys_nr != nr)
					__builtin_memset(o, 0, sizeof(*o));
				o->ts = ts;
				o->state = state;
				o->sys_nr = nr;
				o->gil = state == RTP_OFF_SLEEPING && (in_sys & RTP_SYS_RT) && nr == py_nr_futex;
				if (!in_sys) {
					o->stack = py_walk(prev, pp, 0, 0, PY_SLOT_TASK);
					if (!o->stack)
						o->ts = 0;
				}
			}
		}
	}
	o = in;
	if (!o || !o->ts)
		return 0;
	tid = next->pid;
	t = bpf_map_lookup_elem(&threads, &tid);
	if (t && t->sched.on_ts >= o->ts)
		now = t->sched.on_ts;
	if (now <= o->ts) {
		o->ts = 0;
		return 0;
	}
	if (!o->stack) {
		/* in a syscall: until its exit */
		__u32 s = o->state;

		if (s > RTP_OFF_BLOCKED)
			s = RTP_OFF_RUNNABLE;
		o->pend_ns[s] += now - o->ts;
		o->pend_count[s]++;
		o->pend_n++;
		if (o->gil) {
			o->pend_gil_ns += now - o->ts;
			o->pend_gil_n++;
		}
		o->ts = 0;
		return 0;
	}
	py_count(next->tgid, tid, o->stack, RTP_PROF_OFFCPU, o->state, now - o->ts);
	if (o->gil)
		py_count(next->tgid, tid, o->stack, RTP_PROF_GIL, 0, now - o->ts);
	__builtin_memset(o, 0, sizeof(*o));
	return 0;
}
