/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Maps and helpers shared by every rtprof BPF program. The maps are __weak so that
 * `bpftool gen object` links the per-concern objects into one object with one copy of each. */
#ifndef RTPROF_BPF_H
#define RTPROF_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "rtprof_abi.h"
#include "accounting.h"
#include "core_fixes.bpf.h"
#include "maps.bpf.h"
#include "shares.bpf.h"

/* Bumped (by userspace or on fork) whenever `targets` changes, so per-CPU caches refresh. */
__u64 target_gen __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RTP_DEFAULT_MAX_PROCS);
	__type(key, __u32); /* tgid */
	__type(value, struct rtp_target);
} targets SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RTP_DEFAULT_MAX_THREADS);
	__type(key, __u32); /* tid */
	__type(value, struct rtp_thread);
} threads SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rtp_cpu_cur);
} cpu_cur SEC(".maps") __weak;

/* Runtime metrics of python and node targets, keyed by tgid (entries made by userspace, or at the exec of
 * a watched program whose probes are file-wide: threads.bpf.c). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct rtp_rt_proc);
} rt_procs SEC(".maps") __weak;

/* The futex GIL method's address range of python targets, keyed by tgid (userspace's: rtp_gil_range). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct rtp_gil_range);
} rt_gil SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RTP_CNT_NR);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, RTP_RINGBUF_BYTES);
} events SEC(".maps") __weak;

/* Trace records, only while recording (sized to one page otherwise). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} trace SEC(".maps") __weak;

/* Set by userspace before load: stream trace records. A constant, so that the verifier drops the
 * recording code from the programs when it is off. */
const volatile __u32 record_trace __weak = 0;

static __always_inline void counter_inc(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	if (c)
		*c += 1;
}

/* Set by userspace before load: nanoseconds per USER_HZ tick, the unit of /proc/PID/stat's starttime. */
const volatile __u64 ns_per_tick __weak = 10000000;

/* The target entry of task's process, if task's process is the one the entry was made for: a process
 * that reuses the pid of an exited target has another start time and never matches (rtprof_abi.h). */
static __always_inline struct rtp_target *target_of(const struct task_struct *task)
{
	__u32 tgid = task->tgid;
	struct rtp_target *tgt;
	__u64 start;

	if (!tgid)
		return NULL;
	tgt = bpf_map_lookup_elem(&targets, &tgid);
	if (!tgt)
		return NULL;
	/* read, not walked: the verifier looks up the trust of every pointer walked from a trusted one by
	 * name among all of vmlinux's types, ~1 ms each, in every program that inlines this */
	start = BPF_CORE_READ(task, group_leader, start_boottime);
	if (tgt->start_ns == start)
		return tgt;
	if (tgt->start_ns || !ns_per_tick || start / ns_per_tick != tgt->start_ticks)
		return NULL;
	tgt->start_ns = start; /* first sight of a process userspace added: bound from now on */
	return tgt;
}

/* The thread's record, created on first sight of a target thread (if its share has room). */
static __always_inline struct rtp_thread *thread_get(struct task_struct *task, bool create)
{
	__u32 tid = task->pid;
	struct rtp_thread *t = bpf_map_lookup_elem(&threads, &tid);
	struct rtp_thread init = {};
	int share;
	long err;

	/* the record to insert is built only when there is none: this runs at every context switch */
	if (t || !create)
		return t;
	/* a full share is counted in the share (rtprofd logs it), not as the table's drops */
	share = share_charge(target_of(task));
	if (share < 0)
		return NULL;
	init.tid = tid;
	init.tgid = task->tgid;
	init.share = (__u32)share;
	bpf_probe_read_kernel_str(init.comm, sizeof(init.comm), task->comm);
	err = bpf_map_update_elem(&threads, &tid, &init, BPF_NOEXIST);
	if (err)
		share_uncharge(share); /* full, or another CPU's record (charged by it) came first */
	if (err && err != -EEXIST) {
		counter_inc(RTP_CNT_THREAD_DROPS);
		return NULL;
	}
	return bpf_map_lookup_elem(&threads, &tid);
}

/* The CPU's cache names another thread than the one running: a context switch went by unseen. The
 * kernel does not trace every switch (on the VMs this project is tested on, the switches out of some of
 * the init process's threads are missing from sched_switch, for BPF and ftrace alike), and a thread's
 * syscall in flight travels in the switch records. So: the thread that was cached left with its syscall
 * in flight, which waits in its record; the thread running now takes back its own, if it left one. */
static __noinline __attribute__((unused)) void cur_resync(struct rtp_cpu_cur *cur, __u32 tid)
{
	__u32 old = cur->tid;
	struct rtp_thread *t;

	if (cur->in_sys && old) {
		t = bpf_map_lookup_elem(&threads, &old);
		if (t && !t->sys_state) {
			t->sys_state = cur->in_sys;
			t->sys_ts = cur->sys_ts;
			t->sys_nr = cur->sys_nr;
		}
	}
	cur->tid = tid;
	cur->in_sys = RTP_SYS_NONE;
	t = bpf_map_lookup_elem(&threads, &tid);
	if (t && t->sys_state) {
		cur->sys_ts = t->sys_ts;
		cur->sys_nr = t->sys_nr;
		cur->in_sys = t->sys_state;
		t->sys_state = RTP_SYS_NONE;
	}
}

static __always_inline void rt_stat_add(struct rtp_rt_stat *s, __u64 d)
{
	__sync_fetch_and_add(&s->count, 1);
	__sync_fetch_and_add(&s->total_ns, d);
	if (d > s->max_ns)
		s->max_ns = d; /* racy between CPUs: a maximum may be missed by another's at the same instant */
}

static __always_inline struct rtp_event *event_reserve(__u32 type, struct task_struct *task, __u64 now)
{
	struct rtp_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		counter_inc(RTP_CNT_LOST_EVENTS);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = type;
	e->ts_ns = now;
	e->tgid = task->tgid;
	e->tid = task->pid;
	e->cpu = bpf_get_smp_processor_id();
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), task->comm);
	return e;
}

/* Wake the consumer only once enough is pending: a wakeup per event costs more than the tracing itself. */
static __always_inline void event_submit(struct rtp_event *e)
{
	__u64 pending = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	bpf_ringbuf_submit(e, pending >= RTP_WAKEUP_BYTES ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

/* Reserve a trace record; a full buffer is counted, never silent. */
static __always_inline void *trace_reserve(__u32 size)
{
	void *r = bpf_ringbuf_reserve(&trace, size, 0);

	if (!r)
		counter_inc(RTP_CNT_TRACE_LOST);
	return r;
}

/* Never a wakeup: the consumer polls the trace buffer on a short timer while recording; asking the
 * buffer how full it is on every record cost more than the timer's wakeups. */
static __always_inline void trace_submit(void *r)
{
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
}

/* An interval of a runtime (GIL wait, collection, event-loop iteration...) while recording. */
static __always_inline void trace_runtime(__u32 tid, __u64 start, __u64 dur, __u32 kind, __u32 arg)
{
	struct rtp_tr_runtime *r;

	if (!record_trace)
		return;
	r = trace_reserve(sizeof(*r));
	if (!r)
		return;
	r->type = RTP_TR_RUNTIME;
	r->tid = tid;
	r->ts_ns = start;
	r->dur_ns = dur;
	r->kind = kind;
	r->arg = arg;
	trace_submit(r);
}

/* For the rare events the consumer must see while the process still exists (exec, process exit). */
static __always_inline void event_submit_now(struct rtp_event *e)
{
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
}

/* When each CPU last woke the consumer for an event it should read soon (event_wake_soon). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} wake_soon_ts SEC(".maps") __weak;

#define RTP_WAKE_SOON_NS 5000000ull

/* Whether to wake the consumer for an event it should read within milliseconds rather than at its timer
 * (100 ms): new CPython stacks, whose code objects are read while the process lives. At most once every
 * 5 ms on a CPU (a program's first moments make hundreds); what comes in between waits for the next
 * wakeup or the timer. */
static __always_inline __u64 event_wake_soon(void)
{
	__u32 k = 0;
	__u64 *last = bpf_map_lookup_elem(&wake_soon_ts, &k), now;

	if (!last)
		return 0;
	now = bpf_ktime_get_ns();
	if (now - *last < RTP_WAKE_SOON_NS)
		return 0;
	*last = now;
	return BPF_RB_FORCE_WAKEUP;
}

/* A process leaves an unprivileged user's session: its pid out of the target set, and userspace told. */
static __always_inline void target_drop(struct task_struct *p, __u32 old_pid, __u32 why)
{
	__u32 tgid = p->tgid;
	struct rtp_event *e;

	bpf_map_delete_elem(&targets, &tgid);
	__sync_fetch_and_add(&target_gen, 1);
	e = event_reserve(RTP_REC_EXEC, p, bpf_ktime_get_ns());
	if (e) {
		e->flags = RTP_EV_DROPPED | why;
		e->parent_tid = old_pid;
		event_submit_now(e);
	}
}

/* Whether a process with credentials `c` is still one the owner of an unprivileged session may profile:
 * ptrace's rule (__ptrace_may_access and the capability check) against the owner's ids and an owner with
 * no capabilities -- every uid and gid the owner's (the filesystem ones too), and no capability in the
 * initial user namespace (capabilities in a namespace its owner made are the owner's too: ptrace lets
 * the owner in). */
static __always_inline bool creds_within(const struct cred *c, const struct rtp_target *tgt)
{
	__u64 caps = 0;

	__u32 u = tgt->owner_uid, g = tgt->owner_gid;

	if (BPF_CORE_READ(c, uid.val) != u || BPF_CORE_READ(c, euid.val) != u || BPF_CORE_READ(c, suid.val) != u ||
	    BPF_CORE_READ(c, fsuid.val) != u || BPF_CORE_READ(c, gid.val) != g || BPF_CORE_READ(c, egid.val) != g ||
	    BPF_CORE_READ(c, sgid.val) != g || BPF_CORE_READ(c, fsgid.val) != g)
		return false;
	/* kernel_cap_t is a u64 since 6.3 and two u32 before: the same 8 bytes either way */
	bpf_probe_read_kernel(&caps, sizeof(caps), &c->cap_permitted);
	return !caps || BPF_CORE_READ(c, user_ns, level) > 0;
}

#endif /* RTPROF_BPF_H */
