// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Runtime metrics from uprobes and USDT probes in the interpreters: Python's GIL (uprobe method) and
 * garbage collector, libuv's threadpool and V8's garbage collector. Userspace attaches these programs to
 * one process each (the breakpoints exist in that process only) at addresses it resolved from the ELF
 * files, or in watch mode to the file for every process (probe_is_its); nothing here is auto-attached.
 * The futex (GIL) and epoll (event loop) metrics live in syscalls.bpf.c: they cost no breakpoint.
 *
 * A uprobe hit costs a trap into the kernel (measured ~14 us on this project's VMs): only rare events
 * (collections, hand-offs, threadpool tasks) are probed by default. */
#include "rtprof.bpf.h"
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct rtp_tp_key);
	__type(value, __u64); /* submitted at */
} tp_pending SEC(".maps");

/* A CPython 3.13 collection of a generation chosen inside gc_collect_main: where its interpreter keeps
 * its per-generation stats, and their collection counts at the entry. Keyed by thread id. */
struct gc_auto {
	__u64 stats;
	__s64 n[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct gc_auto);
} gc_auto SEC(".maps");

/* sizeof(struct gc_generation_stats): collections, collected, uncollectable */
#define PY_GC_STATS_STRIDE 24

/* The collection counts of generations 0-2 at stats (the interpreter's gc.generation_stats). */
static __always_inline long read_gc_counts(__u64 stats, __s64 n[3])
{
	return bpf_probe_read_user(&n[0], sizeof(n[0]), (void *)stats) ?:
	       bpf_probe_read_user(&n[1], sizeof(n[1]), (void *)(stats + PY_GC_STATS_STRIDE)) ?:
	       bpf_probe_read_user(&n[2], sizeof(n[2]), (void *)(stats + 2 * PY_GC_STATS_STRIDE));
}

static __always_inline struct rtp_thread *cur_thread(void)
{
	struct task_struct *task = bpf_get_current_task_btf();

	if (!target_of(task))
		return NULL;
	return thread_get(task, true);
}

static __always_inline struct rtp_rt_proc *cur_rt_proc(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	return bpf_map_lookup_elem(&rt_procs, &tgid);
}

/* Whether this hit counts for the process of runtime entry rp (cur_rt_proc's): a probe placed on the file
 * for every process (its cookie says RTP_COOKIE_FILEWIDE) counts for the processes whose entry says so, a
 * probe of one process for the others. A process is never counted by both. */
static __always_inline bool probe_is_its(void *ctx, const struct rtp_rt_proc *rp)
{
	return rp && !(bpf_get_attach_cookie(ctx) & RTP_COOKIE_FILEWIDE) == !rp->filewide;
}

/* The attach cookie without the file-wide bit. */
static __always_inline __u64 probe_cookie(void *ctx)
{
	return bpf_get_attach_cookie(ctx) & ~RTP_COOKIE_FILEWIDE;
}

/* ---- GIL, uprobe method: take_gil()/drop_gil(), or PyEval_RestoreThread()/PyEval_SaveThread() ---- */

SEC("uprobe")
int rtp_gil_take(struct pt_regs *ctx)
{
	struct rtp_thread *t = probe_is_its(ctx, cur_rt_proc()) ? cur_thread() : NULL;

	if (!t)
		return 0;
	t->gil_state = RTP_GIL_WAITING;
	t->gil_ts = bpf_ktime_get_ns();
	return 0;
}

SEC("uretprobe")
int rtp_gil_taken(struct pt_regs *ctx)
{
	struct rtp_rt_proc *rp = cur_rt_proc();
	struct rtp_thread *t = probe_is_its(ctx, rp) ? cur_thread() : NULL;
	__u64 now, d;

	if (!t || !rp || t->gil_state != RTP_GIL_WAITING)
		return 0;
	now = bpf_ktime_get_ns();
	d = now - t->gil_ts;
	t->gil_wait_ns += d;
	t->gil_waits++;
	trace_runtime(t->tid, t->gil_ts, d, RTP_TRK_GIL_WAIT, 0);
	t->gil_state = RTP_GIL_HOLDING;
	t->gil_ts = now;
	__sync_fetch_and_add(&rp->gil_wait_hist[rtp_hist_slot(d)], 1);
	return 0;
}

SEC("uprobe")
int rtp_gil_drop(struct pt_regs *ctx)
{
	struct rtp_thread *t = probe_is_its(ctx, cur_rt_proc()) ? cur_thread() : NULL;
	__u64 d;

	if (!t || t->gil_state != RTP_GIL_HOLDING)
		return 0;
	d = bpf_ktime_get_ns() - t->gil_ts;
	t->gil_hold_ns += d;
	trace_runtime(t->tid, t->gil_ts, d, RTP_TRK_GIL_HOLD, 0);
	t->gil_state = RTP_GIL_NONE;
	return 0;
}

/* ---- Collections: Python (generation) and V8 (collector) ---- */

static __always_inline void gc_begin(__u64 kind)
{
	struct rtp_thread *t = cur_thread();

	if (!t || kind >= RTP_RT_GC_KINDS)
		return;
	t->gc_kind = (__u32)kind + 1;
	t->gc_ts = bpf_ktime_get_ns();
}

/* The generation whose collection count moved since gc_auto_begin, or RTP_RT_GC_KINDS: none did (the
 * interpreter found no generation over its threshold and collected nothing). */
static __always_inline __u32 gc_auto_end(__u32 tid)
{
	struct gc_auto *a = bpf_map_lookup_elem(&gc_auto, &tid);
	__u32 k = RTP_RT_GC_KINDS;
	__s64 n[3];

	if (!a || read_gc_counts(a->stats, n))
		goto out;
	if (n[2] != a->n[2])
		k = 2;
	else if (n[1] != a->n[1])
		k = 1;
	else if (n[0] != a->n[0])
		k = 0;
out:
	bpf_map_delete_elem(&gc_auto, &tid);
	return k;
}

static __always_inline void gc_end(void)
{
	struct rtp_thread *t = cur_thread();
	struct rtp_rt_proc *rp;
	__u64 d;
	__u32 k;

	if (!t || !t->gc_kind)
		return;
	k = t->gc_kind == RTP_GC_KIND_AUTO ? gc_auto_end(t->tid) : t->gc_kind - 1;
	t->gc_kind = 0;
	if (k >= RTP_RT_GC_KINDS)
		return;
	d = bpf_ktime_get_ns() - t->gc_ts;
	t->gc_count++;
	t->gc_ns += d;
	if (d > t->gc_max_ns)
		t->gc_max_ns = d;
	rp = cur_rt_proc();
	if (rp && k < RTP_RT_GC_KINDS)
		rt_stat_add(&rp->gc[k], d);
	trace_runtime(t->tid, t->gc_ts, d, RTP_TRK_GC, k);
}

/* CPython's USDT probes python:gc__start(int generation) and python:gc__done(Py_ssize_t collected) */
SEC("usdt")
int rtp_py_gc_start_usdt(struct pt_regs *ctx)
{
	long gen = 0;

	if (!probe_is_its(ctx, cur_rt_proc()) || bpf_usdt_arg(ctx, 0, &gen))
		return 0;
	gc_begin((__u64)gen);
	return 0;
}

/* The same probe placed as a multi-uprobe link (engine/uprobe_multi.c): its argument's location comes in
 * the cookie -- bits 0-1 the kind (USDT_ARG_*: 0 a constant, 1 a register, 2 memory at a register plus
 * an offset), 2-5 the size, 6 signed, 8-15 the register's offset in struct pt_regs, 32-63 the constant
 * or the offset. As libbpf's bpf_usdt_arg, 8 bytes are read and cut to the size. */
static __always_inline long sdt_arg(struct pt_regs *ctx, __u64 ck)
{
	__u32 kind = ck & 3, size = (ck >> 2) & 15, reg = (ck >> 8) & 0xff, shift;
	__s32 off = (__s32)(ck >> 32);
	__u64 v = 0;

	if (kind == 0)
		return off;
	if (reg > sizeof(struct pt_regs) - sizeof(v) || bpf_probe_read_kernel(&v, sizeof(v), (void *)ctx + reg))
		return 0;
	if (kind == 2 && bpf_probe_read_user(&v, sizeof(v), (void *)(v + (__s64)off)))
		return 0;
	if (size && size < 8) {
		shift = 64 - size * 8;
		v <<= shift;
		v = (ck >> 6) & 1 ? (__u64)((__s64)v >> shift) : v >> shift;
	}
	return (long)v;
}

SEC("uprobe")
int rtp_py_gc_start_sdt(struct pt_regs *ctx)
{
	if (probe_is_its(ctx, cur_rt_proc()))
		gc_begin((__u64)sdt_arg(ctx, probe_cookie(ctx)));
	return 0;
}

SEC("usdt")
int rtp_py_gc_done_usdt(struct pt_regs *ctx)
{
	if (probe_is_its(ctx, cur_rt_proc()))
		gc_end();
	return 0;
}

/* Without USDT: gc_collect_main(PyThreadState *tstate, int generation, ...) (3.8-3.11: its second argument) */
SEC("uprobe")
int rtp_py_gc_start(struct pt_regs *ctx)
{
	struct rtp_rt_proc *rp = cur_rt_proc();
	struct rtp_thread *t;
	struct gc_auto a = {};
	__u64 interp = 0;
	__u32 tid;

	if (!probe_is_its(ctx, rp))
		return 0;
	if ((int)PT_REGS_PARM2(ctx) != -1) {
		gc_begin((__u64)(int)PT_REGS_PARM2(ctx));
		return 0;
	}
	/* 3.13's GENERATION_AUTO: the generation is chosen inside; its stats say which at the return */
	t = cur_thread();
	if (!t || !rp->py_tstate_interp || !rp->py_interp_gcstats ||
	    bpf_probe_read_user(&interp, sizeof(interp), (void *)(PT_REGS_PARM1(ctx) + rp->py_tstate_interp)) ||
	    !interp)
		return 0;
	a.stats = interp + rp->py_interp_gcstats;
	if (read_gc_counts(a.stats, a.n))
		return 0;
	tid = t->tid;
	if (bpf_map_update_elem(&gc_auto, &tid, &a, BPF_ANY))
		return 0;
	t->gc_kind = RTP_GC_KIND_AUTO;
	t->gc_ts = bpf_ktime_get_ns();
	return 0;
}

SEC("uretprobe")
int rtp_gc_done(struct pt_regs *ctx)
{
	if (probe_is_its(ctx, cur_rt_proc()))
		gc_end();
	return 0;
}

/* v8::internal::Heap::PerformGarbageCollection(GarbageCollector collector, ...): `this`, then the collector */
SEC("uprobe")
int rtp_v8_gc_start(struct pt_regs *ctx)
{
	if (probe_is_its(ctx, cur_rt_proc()))
		gc_begin((__u64)(__u32)PT_REGS_PARM2(ctx));
	return 0;
}

/* ---- libuv threadpool ---- */

/* uv__work_submit(uv_loop_t *loop, struct uv__work *w, ...), and uv_queue_work(uv_loop_t *loop, uv_work_t *req,
 * ...) into which the compiler may inline the submission: the attach cookie is the offset of the struct uv__work
 * in the second argument (0, or offsetof(uv_work_t, work_req)). */
SEC("uprobe")
int rtp_uv_submit(struct pt_regs *ctx)
{
	struct rtp_tp_key key = { .tgid = bpf_get_current_pid_tgid() >> 32,
				  .work = PT_REGS_PARM2(ctx) + probe_cookie(ctx) };
	struct rtp_rt_proc *rp = cur_rt_proc();
	__u64 now = bpf_ktime_get_ns();

	if (!probe_is_its(ctx, rp))
		return 0;
	/* once per item, when uv_queue_work calls a uv__work_submit that was not inlined too */
	if (bpf_map_update_elem(&tp_pending, &key, &now, BPF_NOEXIST) == 0)
		__sync_fetch_and_add(&rp->tp_submitted, 1);
	return 0;
}

/* A worker runs the item: uv__fs_work / uv__queue_work / uv__getaddrinfo_work ... (struct uv__work *w);
 * the attach cookie is the kind (RTP_TP_*). */
SEC("uprobe")
int rtp_uv_work(struct pt_regs *ctx)
{
	struct rtp_tp_key key = { .tgid = bpf_get_current_pid_tgid() >> 32, .work = PT_REGS_PARM1(ctx) };
	struct rtp_rt_proc *rp = cur_rt_proc();
	struct rtp_thread *t = cur_thread();
	__u64 now = bpf_ktime_get_ns(), kind = probe_cookie(ctx), *sub, d;
	__s64 busy;

	if (!t || !probe_is_its(ctx, rp))
		return 0;
	/* Only items submitted while attached: the same functions also run synchronously on the loop's
	 * thread (fs calls without a callback: readFileSync, module loading), which are no pool tasks. */
	sub = bpf_map_lookup_elem(&tp_pending, &key);
	if (!sub)
		return 0;
	d = now > *sub ? now - *sub : 0;
	bpf_map_delete_elem(&tp_pending, &key);
	__sync_fetch_and_add(&rp->tp_queue_ns, d);
	if (d > rp->tp_queue_max_ns)
		rp->tp_queue_max_ns = d;
	if (kind < RTP_TP_KINDS)
		__sync_fetch_and_add(&rp->tp_started[kind], 1);
	busy = __sync_add_and_fetch(&rp->tp_busy, 1);
	if (busy > 0 && (__u64)busy > rp->tp_busy_max)
		rp->tp_busy_max = (__u64)busy;
	t->task_ts = now;
	t->task_kind = (__u32)kind;
	return 0;
}

SEC("uretprobe")
int rtp_uv_work_done(struct pt_regs *ctx)
{
	struct rtp_rt_proc *rp = cur_rt_proc();
	struct rtp_thread *t = cur_thread();
	__u64 d;

	if (!t || !t->task_ts || !probe_is_its(ctx, rp))
		return 0;
	d = bpf_ktime_get_ns() - t->task_ts;
	trace_runtime(t->tid, t->task_ts, d, RTP_TRK_TP_TASK, t->task_kind);
	t->task_ts = 0;
	__sync_fetch_and_add(&rp->tp_completed, 1);
	__sync_fetch_and_add(&rp->tp_run_ns, d);
	if (d > rp->tp_run_max_ns)
		rp->tp_run_max_ns = d;
	__sync_fetch_and_sub(&rp->tp_busy, 1);
	return 0;
}
