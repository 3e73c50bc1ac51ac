/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The accounting rules, written once: how a context switch, a wakeup, a migration and a thread's end move a
 * thread's scheduler figures; log2 histogram slots; which syscalls are a GIL wait or an event loop's wait.
 * The BPF probes (clang -target bpf, vmlinux.h types) and userspace's trace replay and timeline (C11) both
 * compile this file, so that a live report and the report of its trace compute the same figures.
 * Plain functions over plain state: no map, no helper, no clock in here; the callers bring the time.
 */
#ifndef RTPROF_ACCOUNTING_H
#define RTPROF_ACCOUNTING_H

#include "rtprof_abi.h"

#ifdef __VMLINUX_H__
#define RTP_ACCT_FN static __always_inline
#else
#include <stdbool.h>
#define RTP_ACCT_FN static inline
#endif

/* ---- Task states, as sched_switch reports prev's (include/linux/sched.h) ---- */
#define RTP_TASK_RUNNING 0x0000
#define RTP_TASK_INTERRUPTIBLE 0x0001
#define RTP_TASK_UNINTERRUPTIBLE 0x0002
#define RTP_TASK_DEAD 0x0080
#define RTP_TASK_NOLOAD 0x0400 /* uninterruptible but not counted as load: an idle wait, not I/O */

/* Where a thread goes at a switch-out (rtp_sched_acct.off_state). */
enum rtp_off_state {
	RTP_OFF_RUNNABLE = 0, /* preempted, or left still runnable: an involuntary switch */
	RTP_OFF_SLEEPING = 1, /* a voluntary switch into an interruptible (or idle) wait */
	RTP_OFF_BLOCKED = 2,  /* a voluntary switch into an uninterruptible wait (I/O, most kernel locks) */
	RTP_OFF_DEAD = 3,     /* its last switch-out */
};

/* The kernel counts a voluntary switch exactly when it is not a preemption and prev left TASK_RUNNING. */
RTP_ACCT_FN __u32 rtp_off_state(bool preempt, __u32 prev_state)
{
	if (preempt || prev_state == RTP_TASK_RUNNING)
		return RTP_OFF_RUNNABLE;
	if (prev_state & RTP_TASK_DEAD)
		return RTP_OFF_DEAD;
	if ((prev_state & RTP_TASK_UNINTERRUPTIBLE) && !(prev_state & RTP_TASK_NOLOAD))
		return RTP_OFF_BLOCKED;
	return RTP_OFF_SLEEPING;
}

/* ---- Log2 histograms ---- */

/* floor(log2(v)) clamped to the histogram (0 and 1 in slot 0), branch-light as the verifier likes. */
RTP_ACCT_FN __u32 rtp_hist_slot(__u64 v)
{
	__u32 r = 0, shift;

	shift = (v > 0xFFFFFFFFULL) << 5; v >>= shift; r |= shift;
	shift = (v > 0xFFFF) << 4; v >>= shift; r |= shift;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (__u32)(v >> 1);
	return r < RTP_HIST_SLOTS ? r : RTP_HIST_SLOTS - 1;
}

/* ---- A thread's scheduler accounting (struct rtp_sched_acct) ----
 * Run-queue wait runs from a wakeup or a preemption to the next switch-in, as the kernel's schedstat
 * defines it. Records of a trace are ordered per CPU only, so an interval that would end before it began
 * is not counted. */

/* Is it on a CPU (switched in and not out since)? */
RTP_ACCT_FN bool rtp_acct_running(const struct rtp_sched_acct *s)
{
	return s->on_ts != 0;
}

/* It leaves the CPU at `now`. Returns how long it ran since its switch-in, 0 when that was not seen. */
RTP_ACCT_FN __u64 rtp_acct_switch_out(struct rtp_sched_acct *s, bool preempt, __u32 prev_state, __u64 now)
{
	__u32 off = rtp_off_state(preempt, prev_state);
	__u64 ran = 0;

	if (s->on_ts) {
		if (now > s->on_ts)
			ran = now - s->on_ts;
		s->oncpu_ns += ran;
		s->on_ts = 0;
	}
	if (off == RTP_OFF_RUNNABLE) {
		s->invol_switches++;
		s->queued_ts = now;
		s->off_ts = 0;
	} else {
		s->vol_switches++;
		s->off_ts = now;
		s->queued_ts = 0;
	}
	s->off_state = off;
	return ran;
}

/* It is switched in at `now`. Returns true, with the wait in *runq_wait, when a run-queue wait ended. */
RTP_ACCT_FN bool rtp_acct_switch_in(struct rtp_sched_acct *s, __u64 now, __u64 *runq_wait)
{
	bool waited = false;

	if (s->queued_ts && now >= s->queued_ts) {
		*runq_wait = now - s->queued_ts;
		s->runq_wait_ns += *runq_wait;
		waited = true;
	}
	s->queued_ts = 0;
	s->off_ts = 0;
	s->on_ts = now;
	return waited;
}

/* It is made runnable at `now` (the caller skips a running thread: rtp_acct_running). Its sleep or
 * blocked time ends; its run-queue wait begins, unless it already waits (woken again while runnable). */
RTP_ACCT_FN void rtp_acct_wakeup(struct rtp_sched_acct *s, __u64 now)
{
	if (s->off_ts && now >= s->off_ts) {
		if (s->off_state == RTP_OFF_BLOCKED)
			s->block_ns += now - s->off_ts;
		else
			s->sleep_ns += now - s->off_ts;
		s->off_ts = 0;
	}
	if (!s->queued_ts)
		s->queued_ts = now;
}

/* It moves to another CPU; the probe may run on a CPU other than the thread's: atomic. */
RTP_ACCT_FN void rtp_acct_migrate(struct rtp_sched_acct *s)
{
	__sync_fetch_and_add(&s->migrations, 1);
}

/* Its sleep and blocked time at `end` (a report's end): the totals, plus the off-CPU period still open
 * then, unless the thread has ended (its last switch-out is no sleep). */
RTP_ACCT_FN void rtp_acct_off_totals(const struct rtp_sched_acct *s, __u64 end, bool exited, __u64 *sleep_ns,
				     __u64 *block_ns)
{
	*sleep_ns = s->sleep_ns;
	*block_ns = s->block_ns;
	if (!s->off_ts || end <= s->off_ts || exited || s->off_state == RTP_OFF_DEAD)
		return;
	if (s->off_state == RTP_OFF_BLOCKED)
		*block_ns += end - s->off_ts;
	else
		*sleep_ns += end - s->off_ts;
}

/* ---- Syscalls ---- */

/* A failed call's return value: -errno (the kernel's IS_ERR_VALUE range). */
RTP_ACCT_FN bool rtp_sys_failed(__s64 ret)
{
	return ret < 0 && ret >= -4095;
}

/* A timed call's latency into its totals and histogram (its count and errors are the caller's). */
RTP_ACCT_FN void rtp_sys_timed(struct rtp_sys_stats *s, __u64 lat)
{
	s->timed++;
	s->total_ns += lat;
	if (lat > s->max_ns)
		s->max_ns = lat;
	s->hist[rtp_hist_slot(lat)]++;
}

/* The syscall numbers the runtime classification needs, RTP_NR_NONE for a call the architecture lacks.
 * They are the recording machine's: the probes get them before load, a trace's header carries them. */
#define RTP_NR_NONE 0xffffffffu
struct rtp_sysnrs {
	__u32 futex;
	__u32 epoll_wait;
	__u32 epoll_pwait;
	__u32 epoll_pwait2;
};

/* An event loop's wait for events: its idle time, and the end of one iteration's busy period. */
RTP_ACCT_FN bool rtp_sys_is_epoll_wait(const struct rtp_sysnrs *nrs, __u32 nr)
{
	return nr == nrs->epoll_wait || nr == nrs->epoll_pwait || nr == nrs->epoll_pwait2;
}

#define RTP_FUTEX_CMD_MASK 0x7f /* without FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME */
#define RTP_FUTEX_WAIT 0
#define RTP_FUTEX_WAIT_BITSET 9

/* A wait for the GIL: a futex wait on an address inside the interpreter's runtime state [gil_lo, gil_hi).
 * op and uaddr are the futex call's first two arguments. */
RTP_ACCT_FN bool rtp_futex_is_gil_wait(__u32 op, __u64 uaddr, __u64 gil_lo, __u64 gil_hi)
{
	op &= RTP_FUTEX_CMD_MASK;
	if (op != RTP_FUTEX_WAIT && op != RTP_FUTEX_WAIT_BITSET)
		return false;
	return uaddr >= gil_lo && uaddr < gil_hi;
}

#ifndef __VMLINUX_H__
#include <sys/syscall.h>

/* This build's numbers: what the probes are given, and what replay takes for a trace whose header lacks
 * them (one written before the header carried them). */
static inline struct rtp_sysnrs rtp_sysnrs_native(void)
{
	struct rtp_sysnrs n = { .futex = RTP_NR_NONE, .epoll_wait = RTP_NR_NONE, .epoll_pwait = RTP_NR_NONE,
				.epoll_pwait2 = RTP_NR_NONE };

#ifdef SYS_futex
	n.futex = SYS_futex;
#endif
#ifdef SYS_epoll_wait
	n.epoll_wait = SYS_epoll_wait;
#endif
#ifdef SYS_epoll_pwait
	n.epoll_pwait = SYS_epoll_pwait;
#endif
#ifdef SYS_epoll_pwait2
	n.epoll_pwait2 = SYS_epoll_pwait2;
#endif
	return n;
}
#endif

#endif /* RTPROF_ACCOUNTING_H */
