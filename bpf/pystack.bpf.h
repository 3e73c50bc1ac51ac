/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The Python stack walker, shared by the programs that walk: the samplers (stacks.bpf.c) and the syscall
 * exit (syscalls.bpf.c). Its maps are __weak: one copy in the linked object. See stacks.bpf.c. */
#ifndef RTPROF_PYSTACK_BPF_H
#define RTPROF_PYSTACK_BPF_H

#include "rtprof.bpf.h"

/* Set by userspace before load: stacks are walked at all (--stacks). A constant: the walks are dropped from
 * the syscall probes by the verifier when it is off. */
const volatile __u32 py_stacks_on __weak = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* tgid */
	__type(value, struct rtp_py_proc);
} py_procs SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* 2 KiB a stack: taken as stacks come, not 32 MiB at the load */
	__type(key, __u64); /* hash of the frames */
	__type(value, struct rtp_py_stack);
} py_stacks SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct rtp_py_count_key);
	__type(value, struct rtp_py_count);
} py_counts SEC(".maps") __weak;

/* A CPU's walks: the scratch of each context that walks on it. The sampler runs from the timer interrupt and
 * may interrupt a walk at a syscall's exit: it walks in a slot of its own (the scheduler's walks run with
 * interrupts off, the syscalls' with preemption off: they never interrupt each other). */
enum py_slot {
	PY_SLOT_TASK = 0, /* syscall exits and context switches */
	PY_SLOT_IRQ = 1,  /* the on-CPU sampler */
	PY_SLOTS,
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PY_SLOTS);
	__type(key, __u32);
	__type(value, struct rtp_py_stack);
} py_scratch SEC(".maps") __weak;

/* The stacks a CPU last found or put in py_stacks, by their hash's low bits: a walk that ends in one of them
 * (a thread in a loop walks the same stack over and over) skips the table's update, the costliest step of a
 * short walk. Entries of py_stacks are never deleted, so a hash seen there once is there for good. */
#define PY_KNOWN 64

struct py_known {
	__u64 h[PY_KNOWN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct py_known);
} py_known SEC(".maps") __weak;

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

/* A function of its own, not inlined: the syscall exit counts up to five rows after one walk, and five
 * inlined copies made its verification take 0.2 s of every start. */
static __noinline void py_count_key(const struct rtp_py_count_key *k, __u64 ns, __u64 n, __u64 errors)
{
	struct rtp_py_count init = {}, *c;

	c = map_lookup_or_try_init(&py_counts, k, &init);
	if (!c) {
		counter_inc(RTP_CNT_STACK_DROPS);
		return;
	}
	__sync_fetch_and_add(&c->samples, n);
	if (ns)
		__sync_fetch_and_add(&c->ns, ns);
	if (errors)
		__sync_fetch_and_add(&c->errors, errors);
}

static __always_inline void py_count_n(__u32 tgid, __u32 tid, __u64 stack, __u32 kind, __u32 arg, __u64 ns,
				       __u64 n, __u64 errors)
{
	struct rtp_py_count_key k = { .tgid = tgid, .tid = tid, .stack = stack, .kind = kind, .arg = arg };

	py_count_key(&k, ns, n, errors);
}

static __always_inline void py_count(__u32 tgid, __u32 tid, __u64 stack, __u32 kind, __u32 arg, __u64 ns)
{
	py_count_n(tgid, tid, stack, kind, arg, ns, 1, 0);
}

struct walk {
	struct rtp_py_proc pp; /* a copy: the callback gets only this frame's stack */
	__u64 frame;
	__u64 hash;
	__u32 n;
	__u32 flags;
	__u32 slot; /* enum py_slot */
};

/* A frame's first bytes, read at once: one read of the target's memory a frame, not one a field. */
struct py_fbuf {
	__u8 b[128];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PY_SLOTS);
	__type(key, __u32);
	__type(value, struct py_fbuf);
} py_fbuf SEC(".maps") __weak;

static __always_inline __u64 fbuf_u64(const struct py_fbuf *fb, __u32 off)
{
	return *(const __u64 *)&fb->b[off & 0x78];
}

/* One frame of the chain (a bpf_loop callback: the verifier checks it once, not once per frame). */
static long walk_frame(__u64 i, void *ctx)
{
	struct walk *w = ctx;
	__u32 slot = w->slot, n = w->n;
	struct rtp_py_stack *st = bpf_map_lookup_elem(&py_scratch, &slot);
	struct py_fbuf *fb = bpf_map_lookup_elem(&py_fbuf, &slot);
	struct rtp_py_frame *f;
	__u64 frame = w->frame, code, instr;
	__s32 first = 0;

	if (!st || !fb || !frame)
		return 1;
	if (bpf_probe_read_user(fb->b, w->pp.frame_size & 0x7f, (void *)frame)) {
		w->flags |= RTP_STACK_BAD_READ;
		return 1;
	}
	/* a shim of the C stack: no code of its own */
	if (w->pp.owner_skip != 0xff && fb->b[w->pp.frame_owner & 0x7f] == w->pp.owner_skip) {
		w->frame = fbuf_u64(fb, w->pp.frame_prev);
		return 0;
	}
	if (n >= RTP_PY_MAX_FRAMES) {
		w->flags |= RTP_STACK_TRUNCATED;
		return 1;
	}
	code = fbuf_u64(fb, w->pp.frame_code) & ~3ull;
	instr = fbuf_u64(fb, w->pp.frame_instr);
	if (!code || bpf_probe_read_user(&first, sizeof(first), (void *)(code + w->pp.code_firstlineno))) {
		w->flags |= RTP_STACK_BAD_READ;
		return 1;
	}
	f = &st->f[n & (RTP_PY_MAX_FRAMES - 1)];
	f->code = code;
	if (w->pp.instr_is_index)
		f->instr = (__s32)instr; /* the low 4 bytes: an int */
	else
		f->instr = (__s32)(((__s64)instr - (__s64)code - (__s64)w->pp.code_adaptive) >> 1);
	f->firstlineno = first;
	w->hash = hash_step(hash_step(w->hash, code), ((__u64)(__u32)f->instr << 32) | (__u32)first);
	w->n = n + 1;
	w->frame = fbuf_u64(fb, w->pp.frame_prev);
	return 0;
}

/* node: a CPU's last SharedFunctionInfo fingerprints, by the object's address (its low bits): a hot function's
 * frames skip a read. An entry may outlive its object (a GC moves objects, and another may take the address):
 * the fingerprint is then that of the former one, which userspace finds different from the object's own, and
 * the frame is not named -- never named as another function. */
#define V8_KNOWN 64

struct v8_known {
	__u64 sfi[V8_KNOWN];
	__u16 fp[V8_KNOWN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct v8_known);
} v8_known SEC(".maps") __weak;

/* node: frame i's v8_sfi (see struct rtp_py_frame) from its JSFunction slot and the slot above it (the
 * context), read with the frame's chain words. A JavaScript frame keeps its context there, a typed frame (a
 * stub, an exit to C++) a type marker, which is not a tagged heap object; the function's slot must hold one
 * too. What this reads is checked in userspace (the object's map must say SharedFunctionInfo) before anything
 * is named from it: a native frame whose slots happen to look like these comes out as what it is, not as a
 * function. */
static __always_inline void v8_frame_function(struct walk *w, struct rtp_py_stack *st, __u32 i, __u64 fn, __u64 ctx)
{
	__u32 zero = 0, slot;
	struct v8_known *k;
	__u64 sfi, nos;

	if ((fn & 3) != 1 || (ctx & 3) != 1)
		return;
	sfi = read_u64(fn - 1 + w->pp.v8_fn_shared);
	if ((sfi & 3) != 1 || sfi > RTP_V8_SFI_MASK)
		return;
	slot = (sfi >> 3) & (V8_KNOWN - 1);
	k = bpf_map_lookup_elem(&v8_known, &zero);
	if (k && k->sfi[slot] == sfi) {
		sfi |= (__u64)k->fp[slot] << 48;
	} else {
		nos = read_u64(sfi - 1 + w->pp.v8_sfi_name);
		if (k) {
			k->sfi[slot] = sfi;
			k->fp[slot] = (nos >> 3) & 0xffff;
		}
		sfi |= ((nos >> 3) & 0xffff) << 48;
	}
	st->f[i & (RTP_PY_MAX_FRAMES - 1)].v8_sfi = sfi;
	w->hash = hash_step(w->hash, sfi);
}

/* One frame of a frame-pointer chain (RTP_WALK_FP): w->frame is the frame pointer, where the caller's frame
 * pointer and the return address are. */
static long walk_fp_frame(__u64 i, void *ctx)
{
	struct walk *w = ctx;
	__u32 slot = w->slot, n;
	struct rtp_py_stack *st = bpf_map_lookup_elem(&py_scratch, &slot);
	/* the function and context slots below the frame pointer (node), the caller's frame pointer and the
	 * return address: one read */
	__u64 q[4];
	__u64 *pair = &q[2];

	if (!st || !w->frame)
		return 1;
	/* the count in map memory, not on the stack: the verifier checks this callback once, not once per
	 * value of a count it would know exactly */
	n = st->n;
	if (n >= RTP_PY_MAX_FRAMES) {
		w->flags |= RTP_STACK_TRUNCATED;
		return 1;
	}
	/* the chain's end: a zero or unreadable frame pointer (the outermost frames keep none) */
	if (w->pp.v8_function ? bpf_probe_read_user(q, sizeof(q), (void *)(w->frame - 16))
			      : bpf_probe_read_user(pair, 2 * sizeof(__u64), (void *)w->frame)) {
		w->frame = 0;
		return 1;
	}
	if (!pair[1]) {
		w->frame = 0;
		return 1;
	}
	/* the frame at w->frame is the previous address's: a JavaScript frame's function, when there is one */
	if (w->pp.v8_function && n)
		v8_frame_function(w, st, n - 1, q[0], q[1]);
	st->f[n & (RTP_PY_MAX_FRAMES - 1)] = (struct rtp_py_frame){ .code = pair[1] };
	w->hash = hash_step(w->hash, pair[1]);
	st->n = n + 1;
	/* callers' frames are further up the stack: anything else is not a chain */
	w->frame = pair[0] > w->frame ? pair[0] : 0;
	return 0;
}

/* node: the bytecode the innermost frame runs, if that frame is V8's interpreter's (RTP_STACK_V8_BYTECODE):
 * its address into st->native, the flag into st->flags, for the perf map to name its function. Not read when
 * the frames' functions are read from V8's objects (v8_function): that names it already. Kept in map memory,
 * not in registers: the walk's remaining paths are then verified once, not once with the flag and once
 * without. */
static __always_inline void v8_bytecode(const struct walk *w, struct rtp_py_stack *st)
{
	__u64 fp = w->frame, ctx, bca, bco;

	st->native = 0;
	st->flags = 0;
	if (!w->pp.v8_bytecode_array || w->pp.v8_function || fp < 64)
		return;
	ctx = read_u64(fp - w->pp.v8_context);
	bca = read_u64(fp - w->pp.v8_bytecode_array);
	bco = read_u64(fp - w->pp.v8_bytecode_offset);
	/* heap objects are tagged 01; a small integer is its value in the upper half (no pointer compression) */
	if ((ctx & 3) != 1 || (bca & 3) != 1 || (bco & 0xffffffffull) || (bco >> 32) > (1u << 24))
		return;
	st->native = bca + (bco >> 32);
	st->flags = RTP_STACK_V8_BYTECODE;
}

/* The user stack by frame pointers from the thread's user registers (at a sample in the kernel, or a switch,
 * those it entered the kernel with). */
static __always_inline void fp_walk(struct task_struct *task, struct walk *w)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	struct rtp_py_stack *st = bpf_map_lookup_elem(&py_scratch, &w->slot);
	__u64 ip;

	if (!regs || !st)
		return;
#if defined(__TARGET_ARCH_x86)
	ip = BPF_CORE_READ(regs, ip);
	w->frame = BPF_CORE_READ(regs, bp);
#else
	ip = 0;
#endif
	if (!ip)
		return;
	st->f[0] = (struct rtp_py_frame){ .code = ip };
	w->hash = hash_step(hash_step(w->hash, task->tgid), ip);
	v8_bytecode(w, st);
	st->n = 1;
	bpf_loop(RTP_PY_MAX_FRAMES, walk_fp_frame, w, 0);
	w->n = st->n;
}

/* Walk the current thread's Python frames into the CPU's scratch stack of the context (enum py_slot); its
 * hash, or 0 when the stack could not be kept. */
static __always_inline __u64 py_walk(struct task_struct *task, const struct rtp_py_proc *pp, __u32 flags,
				     __u64 native, __u32 slot)
{
	struct rtp_py_stack *st;
	struct py_known *known;
	struct walk w = { .pp = *pp, .hash = 0xcbf29ce484222325ull, .flags = flags, .slot = slot };
	__u32 zero = 0;
	__u64 tstate, h;
	long err;

	if (pp->walker == RTP_WALK_FP) {
		fp_walk(task, &w);
		if (w.frame && !(w.flags & RTP_STACK_TRUNCATED))
			w.flags |= RTP_STACK_TRUNCATED;
	} else if (!(tstate = py_tstate(task, pp))) {
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
	st = bpf_map_lookup_elem(&py_scratch, &slot);
	if (!st)
		return 0;
	if (pp->walker == RTP_WALK_FP) {
		/* what v8_bytecode left there */
		native = st->native;
		w.flags |= st->flags & RTP_STACK_V8_BYTECODE;
	}
	st->n = w.n;
	st->flags = w.flags;
	st->native = native;
	h = hash_step(hash_step(hash_step(w.hash, w.n), w.flags), native);
	if (!h)
		h = 1;
	known = bpf_map_lookup_elem(&py_known, &zero);
	if (known && known->h[h & (PY_KNOWN - 1)] == h)
		return h;
	err = bpf_map_update_elem(&py_stacks, &h, st, BPF_NOEXIST);
	if (err && err != -EEXIST) {
		counter_inc(RTP_CNT_STACK_DROPS);
		return 0;
	}
	if (known)
		known->h[h & (PY_KNOWN - 1)] = h;
	if (!err) {
		/* new: userspace resolves a CPython stack's code objects, or node's functions from V8's objects,
		 * while the process lives -- soon, not at its next timer (100 ms: a program that short ended with
		 * its stacks unresolved). Frame-pointer stacks named from maps and a perf map alone (no V8
		 * introspection), which outlive the process, wait. */
		struct rtp_event *e = event_reserve(RTP_REC_PY_STACK, task, bpf_ktime_get_ns());

		if (e) {
			__u64 wake = pp->walker == RTP_WALK_PYTHON || pp->v8_function ? event_wake_soon() : 0;

			e->stack = h;
			if (wake)
				bpf_ringbuf_submit(e, wake);
			else
				event_submit(e);
		}
	}
	return h;
}

/* A thread off CPU, or back from off CPU inside a syscall it has not returned from yet (stacks.bpf.c). */
struct py_off {
	__u64 stack;  /* the stack it left in, walked at the switch-out; 0: in a syscall, walked at its exit */
	__u64 ts;     /* the switch-out; 0: on CPU again */
	__u32 state;  /* enum rtp_off_state of the switch-out */
	__u32 gil;    /* it left waiting for the GIL */
	__u32 sys_nr; /* in a syscall: its number */
	__u32 pend_n; /* in a syscall: its off-CPU intervals so far, and their time by state, the GIL's apart */
	__u64 pend_ns[3];
	__u32 pend_count[3];
	__u32 pend_gil_n;
	__u64 pend_gil_ns;
};

/* A loop thread's current iteration's samples (struct rtp_loop_iter): made by the sampler, read when the
 * iteration ends (syscalls.bpf.c); gone with the thread. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct rtp_loop_iter);
} loop_iter SEC(".maps") __weak;

/* Task storage: no hashing nor locking on the hot paths (every switch and syscall exit of a walked process);
 * an entry is emptied (all zero), not deleted. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct py_off);
} py_off SEC(".maps") __weak;

/* Set by userspace before load: every syscall is walked (exact latency), not only the slow ones and a sample
 * of the others. */
const volatile __u32 py_sys_exact __weak = 0;

/* What a syscall's exit decided before its walk, kept in map memory rather than in registers: the walk is
 * then verified once, not once for each combination of the decisions (that took 0.1 s of every start). */
struct py_sys_req {
	__u64 lat;
	__u32 nr, failed;
	__u32 count_sys; /* the call is counted: 1 exactly, RTP_PY_SYS_EVERY sampled */
	__u32 pending;   /* its time off CPU is counted: 1 exactly, RTP_PY_SYS_EVERY sampled */
	__u32 has_off;   /* the thread has a py_off entry, to drop once counted (or never to be) */
	__u32 _pad;
	__u64 rnd;       /* the CPU's random state (py_one_in) */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct py_sys_req);
} py_sys_req SEC(".maps") __weak;

/* True once in RTP_PY_SYS_EVERY, at random: a xorshift of the CPU's own state, seeded by the kernel's
 * generator (a helper call on every syscall exit costs more than the rest of the decision). At random, not
 * every n-th call: a program's calls come in cycles (write, read, write...) that a counter would sample in
 * step, one kind of call always and another never. */
static __always_inline bool py_one_in(struct py_sys_req *rq)
{
	__u64 x = rq->rnd;

	if (!x)
		x = (__u64)bpf_get_prandom_u32() << 32 | bpf_get_prandom_u32() | 1;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rq->rnd = x;
	return !((x >> 40) % RTP_PY_SYS_EVERY);
}

/* The rows of a syscall's exit, once its stack is known. */
static __noinline void py_sys_count(struct py_sys_req *rq, __u32 tgid, __u32 tid, __u64 stack)
{
	struct rtp_py_count_key k = { .tgid = tgid, .tid = tid, .stack = stack };
	__u64 w = rq->count_sys;
	struct py_off *o;

	if (w) {
		k.kind = RTP_PROF_SYSCALL;
		k.arg = rq->nr | (w > 1 ? RTP_PROF_SAMPLED : 0);
		py_count_key(&k, rq->lat * w, w, rq->failed ? w : 0);
	}
	w = rq->pending;
	o = w ? bpf_task_storage_get(&py_off, bpf_get_current_task_btf(), 0, 0) : NULL;
	if (!o)
		return;
	k.kind = RTP_PROF_OFFCPU;
	for (__u32 s = 0; s < 3; s++) {
		if (!o->pend_count[s])
			continue;
		k.arg = s | (w > 1 ? RTP_PROF_SAMPLED : 0);
		py_count_key(&k, o->pend_ns[s] * w, (__u64)o->pend_count[s] * w, 0);
	}
	if (o->pend_gil_n) {
		k.kind = RTP_PROF_GIL;
		k.arg = 0;
		py_count_key(&k, o->pend_gil_ns, o->pend_gil_n, 0);
	}
}

/* A target's syscall ends (sys_exit) in a process whose stacks are walked (RTP_TARGET_PY_STACKS): count it by
 * the stack that made it, with the time it spent off CPU (its stack is the one it left the CPU in: it ran no
 * user code since). lat: its time, 0 when it was not timed (a burst's call sampled out of timing); off: the
 * thread left the CPU during the call (RTP_SYS_OFF), so its py_off entry holds that time.
 *
 * One walk for both. A call of RTP_PY_SYS_SLOW_NS or more, or one off CPU that long, or a GIL wait, is walked
 * and counted exactly; of the others, one in RTP_PY_SYS_EVERY at random, standing for that many (its rows
 * have RTP_PROF_SAMPLED), the same one for its syscall and its off-CPU time. */
static __always_inline void py_syscall(__u32 tid, __u32 nr, __u64 lat, bool failed, bool off)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, zero = 0;
	const struct rtp_py_proc *pp;
	struct py_sys_req *rq;
	struct py_off *o = NULL;
	__u64 stack, pend_ns = 0;
	bool sys_exact, count_sys = true, pending;

	rq = bpf_map_lookup_elem(&py_sys_req, &zero);
	if (!rq)
		return;
	/* the thread's storage only when it left the CPU in the call: most calls don't */
	if (off)
		o = bpf_task_storage_get(&py_off, bpf_get_current_task_btf(), 0, 0);
	/* off CPU in this syscall (an entry of another one, whose exit was not seen, is dropped) */
	pending = o && !o->stack && !o->ts && o->pend_n && o->sys_nr == nr;
	if (pending)
		pend_ns = o->pend_ns[0] + o->pend_ns[1] + o->pend_ns[2];
	sys_exact = py_sys_exact || lat >= RTP_PY_SYS_SLOW_NS;
	if (!sys_exact)
		count_sys = py_one_in(rq);
	rq->lat = lat;
	rq->nr = nr;
	rq->failed = failed;
	rq->has_off = o && o->sys_nr | o->pend_n | o->stack | o->ts;
	rq->count_sys = count_sys ? (sys_exact ? 1 : RTP_PY_SYS_EVERY) : 0;
	/* a long wait or a GIL wait exactly; a short one as its call was sampled, or not at all */
	rq->pending = !pending ? 0
		      : o->pend_gil_n || pend_ns >= RTP_PY_SYS_SLOW_NS || sys_exact ? 1
		      : count_sys ? RTP_PY_SYS_EVERY : 0;
	/* its process's walker: looked up only for the calls walked */
	if ((*(volatile __u32 *)&rq->count_sys || *(volatile __u32 *)&rq->pending) &&
	    (pp = bpf_map_lookup_elem(&py_procs, &tgid))) {
		stack = py_walk(bpf_get_current_task_btf(), pp, 0, 0, PY_SLOT_TASK);
		if (stack)
			py_sys_count(rq, tgid, tid, stack);
	}
	/* counted now or never: the next syscall starts from nothing */
	if (*(volatile __u32 *)&rq->has_off) {
		o = bpf_task_storage_get(&py_off, bpf_get_current_task_btf(), 0, 0);
		if (o)
			__builtin_memset(o, 0, sizeof(*o));
	}
}

#endif /* RTPROF_PYSTACK_BPF_H */
