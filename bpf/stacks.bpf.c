// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Python stacks: at each on-CPU sample of a target thread (a software cpu-clock perf event per CPU, at the
 * rate the user asked), walk the interpreter's frame chain from the thread's own thread state and count
 * the stack, aggregated here by (process, thread, stack). Names, files and lines are resolved in
 * userspace from the code objects' addresses (engine/pystacks.c); nothing is read here that userspace
 * did not first check against the interpreter's binary.
 *
 * The thread state comes from the interpreter's gilstate TSS key (pthread_getspecific of the thread,
 * read through its fs base), not from the GIL holder: it stays bound while the thread waits with the GIL
 * released, and it is checked against the thread (tstate->thread_id is the thread's pthread_t, its fs
 * base) before any frame is read. */
#include "rtprof.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* tgid */
	__type(value, struct rtp_py_proc);
} py_procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* hash of the frames */
	__type(value, struct rtp_py_stack);
} py_stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct rtp_py_count_key);
	__type(value, struct rtp_py_count);
} py_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rtp_py_stack);
} py_scratch SEC(".maps");

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

static __always_inline __u64 read_u64(__u64 addr)
{
	__u64 v = 0;

	if (bpf_probe_read_user(&v, sizeof(v), (void *)addr))
		return 0;
	return v;
}

/* The thread's PyThreadState, or 0: glibc's pthread_getspecific for the interpreter's TSS key, done by
 * hand (keys below 32 live in struct pthread's first block of {seq, data} pairs). */
static __always_inline __u64 py_tstate(struct task_struct *task, const struct rtp_py_proc *pp)
{
#if defined(__TARGET_ARCH_x86)
	struct {
		__s32 initialized;
		__u32 key;
	} tss;
	__u64 fsbase, tstate;

	if (bpf_probe_read_user(&tss, sizeof(tss), (void *)pp->tss_key) || tss.initialized != 1 || tss.key >= 32)
		return 0;
	fsbase = BPF_CORE_READ(task, thread.fsbase);
	if (!fsbase)
		return 0;
	tstate = read_u64(fsbase + pp->pthread_specific + (__u64)tss.key * 16 + 8);
	/* the state must be this thread's: its pthread_t is the TCB, the fs base */
	if (!tstate || read_u64(tstate + pp->tstate_thread_id) != fsbase)
		return 0;
	return tstate;
#else
	return 0;
#endif
}

static __always_inline __u64 hash_step(__u64 h, __u64 v)
{
	h ^= v;
	return h * 0x100000001b3ull;
}

static __always_inline void py_count(__u32 tgid, __u32 tid, __u64 stack, __u32 kind, __u32 arg, __u64 ns)
{
	struct rtp_py_count_key k = { .tgid = tgid, .tid = tid, .stack = stack, .kind = kind, .arg = arg };
	struct rtp_py_count init = {}, *c;

	c = map_lookup_or_try_init(&py_counts, &k, &init);
	if (!c) {
		counter_inc(RTP_CNT_STACK_DROPS);
		return;
	}
	__sync_fetch_and_add(&c->samples, 1);
	if (ns)
		__sync_fetch_and_add(&c->ns, ns);
}

struct walk {
	struct rtp_py_proc pp; /* a copy: the callback gets only this frame's stack */
	__u64 frame;
	__u64 hash;
	__u32 n;
	__u32 flags;
};

/* One frame of the chain (a bpf_loop callback: the verifier checks it once, not once per frame). */
static long walk_frame(__u64 i, void *ctx)
{
	struct walk *w = ctx;
	__u32 zero = 0, n = w->n;
	struct rtp_py_stack *st = bpf_map_lookup_elem(&py_scratch, &zero);
	struct rtp_py_frame *f;
	__u64 frame = w->frame, code, instr;
	__u8 owner = 0;
	__s32 first = 0;

	if (!st || !frame)
		return 1;
	if (w->pp.owner_skip != 0xff) {
		if (bpf_probe_read_user(&owner, 1, (void *)(frame + w->pp.frame_owner))) {
			w->flags |= RTP_STACK_BAD_READ;
			return 1;
		}
		if (owner == w->pp.owner_skip) { /* a shim of the C stack: no code of its own */
			w->frame = read_u64(frame + w->pp.frame_prev);
			return 0;
		}
	}
	if (n >= RTP_PY_MAX_FRAMES) {
		w->flags |= RTP_STACK_TRUNCATED;
		return 1;
	}
	code = read_u64(frame + w->pp.frame_code) & ~3ull;
	instr = read_u64(frame + w->pp.frame_instr);
	if (!code || bpf_probe_read_user(&first, sizeof(first), (void *)(code + w->pp.code_firstlineno))) {
		w->flags |= RTP_STACK_BAD_READ;
		return 1;
	}
	f = &st->f[n & (RTP_PY_MAX_FRAMES - 1)];
	f->code = code;
	f->instr = (__s32)(((__s64)instr - (__s64)code - (__s64)w->pp.code_adaptive) >> 1);
	f->firstlineno = first;
	w->hash = hash_step(hash_step(w->hash, code), ((__u64)(__u32)f->instr << 32) | (__u32)first);
	w->n = n + 1;
	w->frame = read_u64(frame + w->pp.frame_prev);
	return 0;
}

/* Walk the current thread's Python frames into the CPU's scratch stack; its hash, or 0 when the stack
 * could not be kept. */
static __always_inline __u64 py_walk(struct task_struct *task, const struct rtp_py_proc *pp, __u32 flags)
{
	__u32 zero = 0;
	struct rtp_py_stack *st;
	struct walk w = { .pp = *pp, .hash = 0xcbf29ce484222325ull, .flags = flags };
	__u64 tstate, h;
	long err;

	tstate = py_tstate(task, pp);
	if (!tstate) {
		w.flags |= RTP_STACK_NO_TSTATE;
	} else {
		w.frame = read_u64(tstate + pp->tstate_frame);
		if (w.frame && pp->cframe_frame != RTP_PY_NONE)
			w.frame = read_u64(w.frame + pp->cframe_frame);
		/* shim frames take a turn without a slot: a few more turns than slots */
		bpf_loop(RTP_PY_MAX_FRAMES + 16, walk_frame, &w, 0);
		if (w.frame && !(w.flags & (RTP_STACK_BAD_READ | RTP_STACK_TRUNCATED)))
			w.flags |= RTP_STACK_TRUNCATED;
	}
	st = bpf_map_lookup_elem(&py_scratch, &zero);
	if (!st)
		return 0;
	st->n = w.n;
	st->flags = w.flags;
	h = hash_step(hash_step(w.hash, w.n), w.flags);
	if (!h)
		h = 1;
	err = bpf_map_update_elem(&py_stacks, &h, st, BPF_NOEXIST);
	if (err && err != -EEXIST) {
		counter_inc(RTP_CNT_STACK_DROPS);
		return 0;
	}
	if (!err) {
		/* new: userspace resolves its code objects while the process lives */
		struct rtp_event *e = event_reserve(RTP_REC_PY_STACK, task, bpf_ktime_get_ns());

		if (e) {
			e->stack = h;
			event_submit(e);
		}
	}
	return h;
}

SEC("perf_event")
int rtp_py_sample(struct bpf_perf_event_data *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	const struct rtp_py_proc *pp;
	__u32 tgid = task->tgid, flags = 0;
	__u64 stack;

	if (!target_of(task))
		return 0;
	pp = bpf_map_lookup_elem(&py_procs, &tgid);
	if (!pp)
		return 0;
#if defined(__TARGET_ARCH_x86)
	/* the whole word: the context allows no narrower read of a register */
	if ((*(volatile __u64 *)&ctx->regs.cs & 3) != 3)
		flags |= RTP_STACK_KERNEL;
#endif
	stack = py_walk(task, pp, flags);
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
			off.stack = py_walk(prev, pp, 0);
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
