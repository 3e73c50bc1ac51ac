/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one ABI shared by the BPF programs (bpf/NAME.bpf.c) and userspace (daemon/).
 * Fixed-width types and explicit padding only: both sides compile this file.
 */
#ifndef RTPROF_ABI_H
#define RTPROF_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define RTP_ABI_VERSION 1

#define RTP_COMM_LEN 16
/* Syscall numbers are folded into [0, RTP_MAX_SYSCALLS); x86_64 has fewer than 470. */
#define RTP_MAX_SYSCALLS 512
/* Slot i counts values v with 2^i <= v < 2^(i+1) ns (slot 0 also holds 0 and 1); 2^39 ns is ~9 min. */
#define RTP_HIST_SLOTS 40

/* Defaults, resizable at load time (engine_opts). A slot is a unit of aggregation -- a session: every
 * process of a session, and every process they fork, adds to the same slot. */
#define RTP_DEFAULT_MAX_SLOTS 1
#define RTP_DEFAULT_MAX_PROCS 4096
#define RTP_DEFAULT_MAX_THREADS 16384
#define RTP_DEFAULT_MAX_ERRNO_KEYS 4096
#define RTP_RINGBUF_BYTES (1u << 20)
/* Pending ring-buffer bytes that trigger a wakeup; below it the consumer's timed poll picks them up. */
#define RTP_WAKEUP_BYTES (64u * 1024)

/* Value of the `targets` map, keyed by tgid. */
struct rtp_target {
	__u32 slot;  /* the session slot its figures add to */
	__u32 flags; /* RTP_TARGET_* */
};
#define RTP_TARGET_FOLLOW 0x1 /* processes it forks become targets too */
/* An unprivileged user's session: a process that execs a set-user-ID, set-group-ID or file-capability
 * program leaves it at once (ptrace would lose access too). */
#define RTP_TARGET_DROP_SECUREEXEC 0x2

/* Per (process slot, syscall nr): index slot * RTP_MAX_SYSCALLS + nr of the per-CPU `sys_stats` array. */
struct rtp_sys_stats {
	__u64 count;    /* every call */
	__u64 errors;
	__u64 timed;    /* calls whose latency was measured (all, unless sampled in a burst) */
	__u64 total_ns; /* over the timed calls */
	__u64 max_ns;
	__u64 hist[RTP_HIST_SLOTS]; /* log2 latency histogram of the timed calls */
};

/* Latency sampling in syscall bursts: a thread past RTP_BURST_CALLS syscalls within one jiffy on one
 * CPU has one call in 2^sample_shift timed. Reading the clock twice per syscall was the largest cost
 * (measured ~20 ns per read on this project's VMs); counts and errors stay exact, and a sampled call
 * that blocks is timed from its switch-out. */
#define RTP_BURST_CALLS 64
#define RTP_DEFAULT_SAMPLE_SHIFT 4

/* rtp_cpu_cur.in_sys / rtp_thread.sys_state */
#define RTP_SYS_NONE 0
#define RTP_SYS_TIMED 1   /* sys_ts holds its entry time */
#define RTP_SYS_COUNTED 2 /* sampled out: counted, not timed */

/* Key of the `sys_errnos` hash; value: __u64 count. */
struct rtp_errno_key {
	__u32 slot;
	__u16 nr;
	__u16 err; /* positive errno */
};

/* Per-process log2 histogram of run-queue waits (per-CPU array indexed by slot). */
struct rtp_hist {
	__u64 slots[RTP_HIST_SLOTS];
};

/* Value of the `threads` hash, keyed by tid: totals plus the state the scheduler probes carry between events. */
struct rtp_thread {
	__u32 tid;
	__u32 tgid;
	__u32 parent_tid; /* thread that created it; 0 if it existed before tracing */
	__u32 flags;      /* RTP_THR_* */
	__u64 oncpu_ns;
	__u64 runq_wait_ns;
	__u64 sleep_ns; /* off-CPU in interruptible sleep */
	__u64 block_ns; /* off-CPU in uninterruptible wait */
	__u64 vol_switches;
	__u64 invol_switches;
	__u64 migrations;
	/* The kernel's own per-task accounting (se.sum_exec_runtime, sched_info.run_delay), read at each
	 * switch: the first reading is the base, so totals cover the traced window only. */
	__u64 k_oncpu_base, k_oncpu;
	__u64 k_runq_base, k_runq;
	__u64 start_ns; /* CLOCK_MONOTONIC; 0 if it existed before tracing */
	__u64 exit_ns;
	/* transient state */
	__u64 on_ts;     /* switched in at; 0 while off CPU */
	__u64 off_ts;    /* switched out to sleep at; 0 otherwise */
	__u64 queued_ts; /* became runnable at; 0 otherwise */
	__u64 sys_ts;    /* syscall in flight across a switch-out: its entry time */
	__u32 sys_nr;
	__u32 sys_state; /* RTP_SYS_* of that syscall */
	__u32 cpu;       /* where it was last switched in */
	__u32 _pad;
	char comm[RTP_COMM_LEN];
};
#define RTP_THR_EXITED 0x1
#define RTP_THR_KSTATS 0x2      /* k_* hold the kernel's accounting (base taken) */
#define RTP_THR_OFF_BLOCKED 0x4 /* the current off-CPU period is uninterruptible */

/* Per-CPU "who runs here" cache so the syscall hot path needs no hash lookup. */
struct rtp_cpu_cur {
	__u64 gen;    /* target_gen it was computed under */
	__u32 tid;
	__u32 slot1;  /* target slot + 1; 0 = not a target */
	__u64 sys_ts; /* entry time of the syscall in flight */
	__u32 sys_nr;
	__u32 in_sys; /* RTP_SYS_* */
	__u64 jiffy;  /* burst detection: jiffy of the last syscall here, calls in it */
	__u64 burst;
};

/* Indexes of the per-CPU `counters` array. */
enum rtp_counter {
	RTP_CNT_LOST_EVENTS = 0,  /* ring-buffer reserves that failed */
	RTP_CNT_THREAD_DROPS = 1, /* events for threads not tracked because `threads` was full */
	RTP_CNT_PROC_DROPS = 2,   /* forked processes not followed: the target table was full */
	RTP_CNT_SYSCALL_NR_OOR = 3, /* syscalls with nr >= RTP_MAX_SYSCALLS, not aggregated */
	RTP_CNT_TRACE_LOST = 4,   /* trace records lost: the `trace` ring buffer was full */
	RTP_CNT_NR = 5,
};

/* Ring-buffer records: fixed size, first field the type. */
enum rtp_rec_type {
	RTP_REC_THREAD_NEW = 1,  /* thread created in a target process */
	RTP_REC_PROC_NEW = 2,    /* process forked by a target (followed or not, see flags) */
	RTP_REC_EXEC = 3,
	RTP_REC_THREAD_EXIT = 4, /* flags & RTP_EV_GROUP_DEAD: the last thread of its process */
	RTP_REC_RENAME = 5,
};
#define RTP_EV_GROUP_DEAD 0x1
#define RTP_EV_FOLLOWED 0x2
#define RTP_EV_WATCH 0x4 /* exec of a program that is not traced, reported for watch mode */
#define RTP_EV_DROPPED 0x8 /* exec of a privileged program: the process left the target set */

struct rtp_event {
	__u32 type;  /* enum rtp_rec_type */
	__u32 flags; /* RTP_EV_* */
	__u64 ts_ns; /* CLOCK_MONOTONIC */
	__u32 tgid;
	__u32 tid;
	__u32 parent_tgid;
	__u32 parent_tid;
	__s32 exit_code;
	__u32 cpu;
	char comm[RTP_COMM_LEN];
};

/* ---- Trace records: streamed through the `trace` ring buffer only while a trace is recorded ---- */

/* 64 MiB hold ~1.6 M records: 0.3 s of the densest syscall loop, 10x the consumer's poll period */
#define RTP_DEFAULT_TRACE_BUFFER (64u << 20)
#define RTP_TRACE_POLL_MS 25

enum rtp_trace_type {
	RTP_TR_SYSCALL = 16,
	RTP_TR_SWITCH = 17,
	RTP_TR_WAKEUP = 18,
	RTP_TR_MIGRATE = 19,
};

/* One syscall of a target thread, written at its exit. */
struct rtp_tr_syscall {
	__u32 type;
	__u32 tid;
	__u64 ts_ns; /* entry, CLOCK_MONOTONIC */
	__u64 dur_ns;
	__s64 ret;
	__u32 nr;
	__u32 cpu;
};

/* A context switch in which prev or next (or both) is a target thread; 0 for the one that is not. */
struct rtp_tr_switch {
	__u32 type;
	__u32 cpu;
	__u64 ts_ns;
	__u32 prev_tid;
	__u32 next_tid;
	__u32 prev_state; /* the task state prev left in: 0 = still runnable */
	__u32 preempt;
	__u64 prev_oncpu_ns; /* the kernel's accounting of prev as it leaves: se.sum_exec_runtime */
	__u64 prev_runq_ns;  /* sched_info.run_delay */
};

/* A target thread made runnable (wakeup) or moved to another CPU (migrate). */
struct rtp_tr_wakeup {
	__u32 type;
	__u32 cpu; /* where the event ran */
	__u64 ts_ns;
	__u32 tid;
	__u32 target_cpu; /* wakeup: the CPU it will run on; migrate: the destination */
};

#endif /* RTPROF_ABI_H */
