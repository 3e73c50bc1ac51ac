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

/* Value of the `targets` map, keyed by tgid. A tgid names a process only while it lives: the entry is
 * bound to the process's start time (its group leader's start_boottime), so that a process that gets the
 * pid later never matches it. Userspace knows the start time only in clock ticks (/proc/PID/stat): it
 * inserts start_ns 0 and start_ticks, and the probes bind start_ns at their first sight of the process
 * whose start falls in that tick; processes forked in the kernel are bound at their fork. */
struct rtp_target {
	__u32 slot;  /* the session slot its figures add to */
	__u32 flags; /* RTP_TARGET_* */
	__u64 start_ticks; /* start_boottime in USER_HZ ticks, as /proc/PID/stat's starttime */
	__u64 start_ns;    /* start_boottime; 0 until bound */
	__u32 owner_uid;   /* RTP_TARGET_RESTRICTED: the session owner's uid and gid */
	__u32 owner_gid;
};
#define RTP_TARGET_FOLLOW 0x1 /* processes it forks become targets too */
/* An unprivileged user's session: a process leaves it at once when ptrace would lose access -- its
 * credentials change to ids other than the owner's or gain capabilities (commit_creds), or it execs a
 * set-user-ID, set-group-ID or file-capability program (secureexec). */
#define RTP_TARGET_RESTRICTED 0x2
/* Runtime metrics read from its syscalls (set by userspace once the runtime is known; never inherited):
 * futex waits on an address in rtp_rt_proc.gil_lo..gil_hi are GIL waits; epoll waits are event-loop idle. */
#define RTP_TARGET_RT_GIL_FUTEX 0x4
#define RTP_TARGET_RT_LOOP 0x8
#define RTP_TARGET_RT_MASK (RTP_TARGET_RT_GIL_FUTEX | RTP_TARGET_RT_LOOP)
/* Its Python stacks are walked (py_procs has it): its syscall exits count by stack (set by userspace with
 * the walker, cleared with it) */
#define RTP_TARGET_PY_STACKS 0x10
/* its syscalls are also counted by thread (`thread_sys`; --per-thread) */
#define RTP_TARGET_PER_THREAD 0x20

/* Per (process slot, syscall nr): index slot * RTP_MAX_SYSCALLS + nr of the per-CPU `sys_stats` array. */
struct rtp_sys_stats {
	__u64 count;    /* every call */
	__u64 errors;
	__u64 timed;    /* calls whose latency was measured (all, unless sampled in a burst) */
	__u64 total_ns; /* over the timed calls */
	__u64 max_ns;
	__u64 hist[RTP_HIST_SLOTS]; /* log2 latency histogram of the timed calls */
	__u64 trace_lost; /* while recording: calls whose trace record was lost (the trace buffer was full) */
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
#define RTP_SYS_STATE 0x3 /* the bits above */
#define RTP_SYS_RT 0x4    /* flag: a GIL futex wait or an event-loop epoll wait (always timed) */
#define RTP_SYS_OFF 0x8   /* flag: the thread left the CPU during the call */

/* Key of the `sys_errnos` hash; value: __u64 count. */
struct rtp_errno_key {
	__u32 slot;
	__u16 nr;
	__u16 err; /* positive errno */
};

/* Failed calls of the path-taking syscalls (openat, the stat family, execve, unlink...) by the path they
 * named: key of the `err_paths` hash (value: __u64 count). The path as the program passed it, its first
 * RTP_PATH_LEN - 1 bytes, zero-padded. A session counts at most RTP_ERR_PATHS_PER_SLOT distinct ones; the
 * failures past them are counted in its `err_path_use` entry, not by path. */
#define RTP_PATH_LEN 128
#define RTP_ERR_PATHS_PER_SLOT 256
struct rtp_err_path_key {
	__u32 slot;
	__u16 nr;
	__u16 err; /* positive errno */
	char path[RTP_PATH_LEN];
};

/* `err_path_use`, an array by slot: a session's share of err_paths. */
struct rtp_err_path_use {
	__u32 keys;  /* its entries in err_paths */
	__u32 _pad;
	__u64 drops; /* failures not counted by path: its share was full, or the table */
};

/* Per-process log2 histogram of run-queue waits (per-CPU array indexed by slot). */
struct rtp_hist {
	__u64 slots[RTP_HIST_SLOTS];
};

/* A thread's scheduler accounting: totals and the state carried between events. The probes keep one in each
 * rtp_thread, trace replay one per thread of the trace; the rules that move it are bpf/accounting.h. */
struct rtp_sched_acct {
	__u64 oncpu_ns;     /* from event timestamps (reports prefer the kernel's own accounting) */
	__u64 runq_wait_ns; /* from a wakeup or a preemption to the next switch-in, likewise */
	__u64 sleep_ns;     /* off-CPU in interruptible sleep */
	__u64 block_ns;     /* off-CPU in uninterruptible wait */
	__u64 vol_switches;
	__u64 invol_switches;
	__u64 migrations;
	__u64 on_ts;     /* switched in at; 0 while off CPU */
	__u64 off_ts;    /* switched out to sleep (or block) at; 0 otherwise */
	__u64 queued_ts; /* became runnable at; 0 otherwise */
	__u32 off_state; /* RTP_OFF_* of the last switch-out */
	__u32 _pad;
};

/* Value of the `threads` hash, keyed by tid: totals plus the state the scheduler probes carry between events. */
struct rtp_thread {
	__u32 tid;
	__u32 tgid;
	__u32 parent_tid; /* thread that created it; 0 if it existed before tracing */
	__u32 flags;      /* RTP_THR_* */
	struct rtp_sched_acct sched;
	/* The kernel's own per-task accounting (se.sum_exec_runtime, sched_info.run_delay), read at each
	 * switch: the first reading is the base, so totals cover the traced window only. */
	__u64 k_oncpu_base, k_oncpu;
	__u64 k_runq_base, k_runq;
	__u64 start_ns; /* CLOCK_MONOTONIC; 0 if it existed before tracing */
	__u64 exit_ns;
	/* transient state */
	__u64 sys_ts;    /* syscall in flight across a switch-out: its entry time */
	__u32 sys_nr;
	__u32 sys_state; /* RTP_SYS_* of that syscall */
	__u32 cpu;       /* where it was last switched in */
	__u32 share;     /* the thread share its record is charged to, + 1; 0: none (rtp_thread_share) */
	char comm[RTP_COMM_LEN];
	/* Runtime metrics (python: GIL; node: event loop), see rtp_rt_proc. */
	__u64 gil_wait_ns;
	__u64 gil_hold_ns; /* uprobe methods only; the futex method reports on-CPU time */
	__u64 gil_waits;
	__u64 gil_ts;      /* uprobes: take entered at (waiting) or hold began at (holding) */
	__u32 gil_state;   /* RTP_GIL_* */
	__u32 gc_kind;     /* collection in progress: generation/collector + 1; 0 none */
	__u64 gc_ts;
	__u64 task_ts;     /* libuv threadpool task running since; 0 none */
	__u32 task_kind;   /* its RTP_TP_* */
	__u32 loop_waiting; /* in its loop's epoll wait (timed as idle) */
	__u64 loop_idle_ns;   /* blocked in epoll_wait */
	__u64 loop_busy_ns;   /* between leaving one epoll_wait and entering the next */
	__u64 loop_iters;
	__u64 loop_busy_max_ns;
	__u64 loop_last_exit; /* left its last epoll_wait at; 0 never */
	/* the collections of its runtime run on this thread (node: of the isolate it runs) */
	__u64 gc_count, gc_ns, gc_max_ns;
};
#define RTP_GIL_NONE 0
#define RTP_GIL_WAITING 1
#define RTP_GIL_HOLDING 2
#define RTP_THR_EXITED 0x1
#define RTP_THR_KSTATS 0x2      /* k_* hold the kernel's accounting (base taken) */

/* Thread shares: the `threads` table is shared by every session, so that one session could fill it and
 * leave the others' threads untracked. A slot may charge its threads' records to a share (rtprofd: one
 * per user, and one for all the users but root together): a thread whose share is full is not tracked.
 * Userspace sets the caps and a slot's share (the `slot_share` and `thread_shares` arrays of .bss), the
 * probes add the records they make, userspace takes off those it deletes. */
#define RTP_MAX_SHARES 64
#define RTP_MAX_SHARE_SLOTS 256 /* slots past it charge no share */
struct rtp_thread_share {
	__u32 threads; /* records charged to it */
	__u32 cap;     /* the most it may have; 0: no cap */
	__u32 parent;  /* a share charged too (index + 1; 0: none) */
	__u32 _pad;
	__u64 drops;   /* threads not tracked because it or its parent was full */
};

/* Per-CPU "who runs here" cache so the syscall hot path needs no hash lookup. */
struct rtp_cpu_cur {
	__u64 gen;    /* target_gen it was computed under */
	__u32 tid;
	__u32 slot1;  /* target slot + 1; 0 = not a target */
	__u32 tflags; /* its target's RTP_TARGET_RT_* flags */
	__u32 _pad;
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
	RTP_CNT_STACK_DROPS = 5,  /* stack samples not counted: py_stacks or py_counts was full */
	RTP_CNT_THREAD_SYS_DROPS = 6, /* syscalls not counted by thread: `thread_sys` was full */
	RTP_CNT_NR = 7,
};

/* ---- Runtime metrics: value of the `rt_procs` hash, keyed by tgid. Userspace writes the configuration
 * (kind, GIL range) when it attaches; the probes add to the totals. ---- */
#define RTP_RT_PYTHON 1
#define RTP_RT_NODE 2
/* Python: generations 0..2; node: V8's GarbageCollector enum (scavenger, mark-compactor, minor mark-compactor) */
#define RTP_RT_GC_KINDS 4
/* rtp_thread.gc_kind of a CPython collection whose generation is known at its end (RTP_RT_GC_KINDS + 1) */
#define RTP_GC_KIND_AUTO (RTP_RT_GC_KINDS + 1)
/* libuv threadpool task kinds (the uprobe's attach cookie) */
#define RTP_TP_FS 0
#define RTP_TP_WORK 1
#define RTP_TP_DNS 2
#define RTP_TP_RANDOM 3
#define RTP_TP_KINDS 4

struct rtp_rt_stat {
	__u64 count;
	__u64 total_ns;
	__u64 max_ns;
};

struct rtp_rt_proc {
	__u32 kind; /* RTP_RT_* */
	/* CPython 3.13's automatic collections (gc_collect_main with GENERATION_AUTO, the generation chosen
	 * inside): the offset of `interp` in PyThreadState, and of gc.generation_stats in the interpreter
	 * state, whose per-generation collection counts tell which generation ran. 0: not known. */
	__u32 py_tstate_interp;
	__u64 py_interp_gcstats;
	/* 1: the process counts through file-wide probes (their cookies carry RTP_COOKIE_FILEWIDE), 0: through
	 * probes of its own; a probe of the other kind is not its (no process is counted twice) */
	__u32 filewide;
	__u32 _pad0;
	struct rtp_rt_stat gc[RTP_RT_GC_KINDS];
	__u64 gil_wait_hist[RTP_HIST_SLOTS];
	__u64 loop_busy_hist[RTP_HIST_SLOTS]; /* iterations of the main thread's loop (tid == tgid) */
	__u64 tp_submitted;
	__u64 tp_started[RTP_TP_KINDS];
	__u64 tp_completed;
	__u64 tp_queue_ns, tp_queue_max_ns;
	__u64 tp_run_ns, tp_run_max_ns;
	__s64 tp_busy; /* tasks running now */
	__u64 tp_busy_max;
};

/* Value of the `rt_gil` hash, keyed by tgid, written by userspace alone (the counters of rtp_rt_proc are
 * the probes'): the futex method's range, the interpreter's runtime state (_PyRuntime) holding the GIL. */
struct rtp_gil_range {
	__u64 lo, hi;
};

/* A runtime probe placed on its file for every process (watch mode), not for one: a bit of its attach cookie
 * (clear of the USDT argument encoding's bits 0-15 and 32-63). */
#define RTP_COOKIE_FILEWIDE (1ull << 20)

/* Watch mode's programs whose runtime probes are in place file-wide: key of the `watch_files` hash, the
 * program's file as the kernel names it (its superblock's dev_t, MKDEV's encoding, and inode number).
 * A process that execs one is put at once in a session slot held ready (`armed_slots`), with its
 * runtime entry made from the template: it is counted from its first instruction. */
struct rtp_watch_file_key {
	__u64 dev;
	__u64 ino;
};

struct rtp_watch_tmpl {
	__u32 kind;   /* RTP_RT_* */
	__u32 tflags; /* RTP_TARGET_RT_* that need no address of the process (the event loop's) */
	__u32 py_tstate_interp; /* as rtp_rt_proc's */
	__u32 _pad;
	__u64 py_interp_gcstats;
};
#define RTP_ARMED_SLOTS 16 /* the most slots held ready at once */

/* Key of the `tp_pending` hash: a submitted libuv work item, until a worker starts it; value: submit time. */
struct rtp_tp_key {
	__u32 tgid;
	__u32 _pad;
	__u64 work; /* struct uv__work * */
};

/* `thread_sys`: a thread's calls of one syscall, for the targets with RTP_TARGET_PER_THREAD. */
struct rtp_thread_sys_key {
	__u32 slot;
	__u32 tid;
	__u32 nr;
	__u32 _pad;
};

struct rtp_thread_sys {
	__u64 count;
	__u64 errors;
	__u64 timed;    /* calls whose latency was measured */
	__u64 total_ns; /* over the timed calls */
	__u64 max_ns;
};

#define RTP_DEFAULT_THREAD_SYS 65536

/* Ring-buffer records: fixed size, first field the type. */
enum rtp_rec_type {
	RTP_REC_THREAD_NEW = 1,  /* thread created in a target process */
	RTP_REC_PROC_NEW = 2,    /* process forked by a target (followed or not, see flags) */
	RTP_REC_EXEC = 3,
	RTP_REC_THREAD_EXIT = 4, /* flags & RTP_EV_GROUP_DEAD: the last thread of its process */
	RTP_REC_RENAME = 5,
	RTP_REC_PY_STACK = 6,    /* a stack new to py_stacks (its key in `stack`), for userspace to resolve */
	RTP_REC_LOOP_BLOCK = 7,  /* an event-loop iteration and its samples (struct rtp_loop_rec) */
};
#define RTP_EV_GROUP_DEAD 0x1
#define RTP_EV_FOLLOWED 0x2
#define RTP_EV_WATCH 0x4 /* exec of a program that is not traced, reported for watch mode */
#define RTP_EV_DROPPED 0x8 /* exec of a privileged program: the process left the target set */
#define RTP_EV_CREDS 0x10 /* with RTP_EV_DROPPED: its credentials changed (not an exec) */
/* with RTP_EV_WATCH: the process was put in a slot held ready (rtp_watch_file_key), parent_tgid's */
#define RTP_EV_ARMED 0x20

struct rtp_event {
	__u32 type;  /* enum rtp_rec_type */
	__u32 flags; /* RTP_EV_* */
	__u64 ts_ns; /* CLOCK_MONOTONIC */
	__u32 tgid;
	__u32 tid;
	union {
		struct {
			__u32 parent_tgid;
			__u32 parent_tid;
		};
		__u64 stack; /* RTP_REC_PY_STACK */
	};
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
	RTP_TR_RUNTIME = 20,
};

/* rtp_tr_runtime.kind: an interval of a runtime's life on one thread */
enum rtp_tr_runtime_kind {
	RTP_TRK_GIL_WAIT = 1,  /* waiting for the GIL */
	RTP_TRK_GIL_HOLD = 2,  /* holding it (uprobe GIL methods only) */
	RTP_TRK_GC = 3,        /* a collection; arg: generation / V8 collector */
	RTP_TRK_LOOP_BUSY = 4, /* an event-loop iteration's busy time (between two epoll waits) */
	RTP_TRK_TP_TASK = 5,   /* a libuv threadpool task running; arg: RTP_TP_* */
};

struct rtp_tr_runtime {
	__u32 type;
	__u32 tid;
	__u64 ts_ns; /* start */
	__u64 dur_ns;
	__u32 kind;  /* enum rtp_tr_runtime_kind */
	__u32 arg;
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

/* ---- Python stacks (stacks.bpf.c, engine/pystacks.c) ---- */

#define RTP_PY_MAX_FRAMES 128
#define RTP_PY_NONE 0xffff /* an offset that does not apply to this version */

/* How one CPython process lays out what the walker reads, keyed by tgid in `py_procs`; userspace fills it
 * from its per-version table once it checked that table against the interpreter (engine/pystacks.c). */
struct rtp_py_proc {
	__u64 tss_key;           /* address of _PyRuntime's gilstate Py_tss_t: int initialized; unsigned key */
	__u16 tstate_frame;      /* tstate -> frame (3.10), cframe (3.11, 3.12) or current_frame (3.13) */
	__u16 cframe_frame;      /* cframe -> current_frame; RTP_PY_NONE: tstate_frame is the frame */
	__u16 tstate_thread_id;  /* pthread_t of the thread: its TCB, which is the thread's fs base */
	__u16 frame_code;        /* f_code / f_executable */
	__u16 frame_prev;        /* previous */
	__u16 frame_instr;       /* prev_instr (3.11, 3.12) / instr_ptr (3.13) / f_lasti (3.10) */
	__u16 frame_owner;       /* owner (a byte) */
	__u16 code_adaptive;     /* co_code_adaptive: instruction index = (instr - code - this) / 2 */
	__u16 code_firstlineno;  /* read as each frame's fingerprint */
	__u16 pthread_specific;  /* glibc: struct pthread's specific_1stblock (keys < 32: {seq, data}) */
	__u8 owner_skip;         /* frames with this owner are the C stack's shims (3.12+); 0xff: none */
	__u8 instr_is_index;     /* frame_instr holds the instruction index itself (3.10's f_lasti, an int) */
	__u16 frame_size;        /* bytes of a frame read at once, covering every field above (at most 128;
				  * the code, previous and instruction offsets multiples of 8) */
	__u32 slot;              /* the session slot */
	__u32 sample_hz;         /* its session's on-CPU sampling rate: the cookie of the perf events it takes */
	__u64 interp_ino;        /* the inode of the file holding the interpreter (libpython, or the executable):
				  * a sample in user code outside it is native code (RTP_STACK_NATIVE) */
	__u32 walker;            /* enum rtp_walker */
	/* RTP_WALK_FP in node: where V8's interpreter keeps, below a frame's frame pointer, the frame's context
	 * (or type marker), bytecode array and bytecode offset (node's v8dbg_off_fp_* constants, negated); 0:
	 * not read */
	__u8 v8_context, v8_bytecode_array, v8_bytecode_offset;
	/* where a JavaScript frame keeps its JSFunction below the frame pointer (v8dbg_off_fp_function, negated:
	 * 16, its context at 8, the two words the walker reads with the frame's chain); 0: frames are not read
	 * for their functions (no V8 introspection) */
	__u8 v8_function;
	/* JSFunction -> shared (its SharedFunctionInfo) and SharedFunctionInfo -> name_or_scope_info: offsets
	 * from the object's start (node's v8dbg_class_* constants) */
	__u16 v8_fn_shared, v8_sfi_name;
	/* an event-loop iteration at least this long is sent with its samples (struct rtp_loop_rec) */
	__u64 loop_block_ns;
};

/* How a process's stacks are walked. */
enum rtp_walker {
	RTP_WALK_PYTHON = 0, /* CPython's frame chain (the offsets above) */
	/* The frame-pointer chain of the user stack from the thread's user registers, each frame its return
	 * address (the first the instruction pointer): node, whose JIT and C++ keep frame pointers. Its frames
	 * hold code = the address and, for a JavaScript frame, v8_sfi (the function, read from the frame); names
	 * come from V8's objects (read in userspace), the process's own maps and its perf map
	 * (/tmp/perf-PID.map). The hash includes the process: addresses mean nothing across processes. */
	RTP_WALK_FP = 1,
};

struct rtp_py_frame {
	__u64 code; /* PyCodeObject *; RTP_WALK_FP: the address */
	union {
		struct {
			__s32 instr;       /* instruction index (code units) */
			__s32 firstlineno; /* the code's, as read with it: a reused address with another code tells
					    * itself apart */
		};
		/* RTP_WALK_FP with V8 introspection: the frame's SharedFunctionInfo (a tagged pointer, below
		 * 2^47) in the low 48 bits, and bits 3-18 of its name_or_scope_info in the high 16 (a
		 * fingerprint: an address reused by another function after a GC tells itself apart); 0: not a
		 * JavaScript frame */
		__u64 v8_sfi;
	};
};

#define RTP_V8_SFI_MASK 0xffffffffffffull

#define RTP_STACK_TRUNCATED 0x1 /* deeper than RTP_PY_MAX_FRAMES: the outermost frames are missing */
#define RTP_STACK_KERNEL 0x2    /* the sample hit the thread in the kernel */
#define RTP_STACK_NO_TSTATE 0x4 /* a thread without a Python thread state (not (yet) a Python thread) */
#define RTP_STACK_BAD_READ 0x8  /* a frame could not be read: the walk stopped there */
#define RTP_STACK_NATIVE 0x10   /* the sample hit the thread in user code outside the interpreter's file (a C
				 * extension, libc...): `native` is that file's inode (0: no file; RTP_NATIVE_VDSO) */
#define RTP_NATIVE_VDSO (~0ull - 1) /* `native` of the vDSO (clock_gettime and friends), which is no file */
/* RTP_WALK_FP in node: the innermost frame looks like V8's interpreter's (a tagged context, a tagged bytecode
 * array, a small integer offset): `native` is the address of its current bytecode, which node's perf map
 * names (a bytecode handler running it has no frame of its own: the function would be missing) */
#define RTP_STACK_V8_BYTECODE 0x20

/* `py_stacks` values, keyed by a hash of the frames: innermost frame first. */
struct rtp_py_stack {
	__u32 n;
	__u32 flags; /* RTP_STACK_* */
	__u64 native; /* RTP_STACK_NATIVE: the inode of the file the thread ran in */
	struct rtp_py_frame f[RTP_PY_MAX_FRAMES];
};

enum rtp_profile_kind {
	RTP_PROF_CPU = 0,    /* on-CPU samples */
	RTP_PROF_OFFCPU = 1, /* off-CPU intervals: switch-out to switch-in; arg: enum rtp_off_state (accounting.h) */
	RTP_PROF_GIL = 2,    /* the off-CPU intervals that are GIL waits (futex waits on the GIL) */
	RTP_PROF_SYSCALL = 3, /* syscalls: arg = nr, | RTP_PROF_SAMPLED for the fast calls sampled */
	RTP_PROF_LOOP = 4,   /* on-CPU samples of an event-loop iteration that ran long (userspace only: from
			      * rtp_loop_rec); arg: the iteration's index in the profiles' loop blocks */
	RTP_PROF_KINDS,
};

/* Syscalls by stack: every call at least RTP_PY_SYS_SLOW_NS long is walked; of the faster ones, one in
 * RTP_PY_SYS_EVERY at random, standing for that many (its row's arg has RTP_PROF_SAMPLED). With exact
 * latency on, every call is walked. */
#define RTP_PY_SYS_SLOW_NS 1000000
#define RTP_PY_SYS_EVERY 16
#define RTP_PROF_SAMPLED 0x10000


/* `py_counts` key: what one thread spent in one stack. */
struct rtp_py_count_key {
	__u32 tgid;
	__u32 tid;
	__u64 stack; /* key of py_stacks */
	__u32 kind;  /* enum rtp_profile_kind */
	__u32 arg;   /* RTP_PROF_OFFCPU: enum rtp_off_state (accounting.h); 0 otherwise */
};

struct rtp_py_count {
	__u64 samples; /* on-CPU samples; intervals for the off-CPU kinds; calls for syscalls */
	__u64 ns;      /* off-CPU kinds and syscalls: their time */
	__u64 errors;  /* syscalls: the calls that failed */
};

/* ---- The callback that blocked an event loop. The sampler keeps the stacks of each on-CPU sample taken
 * in the busy part of a loop thread's iteration (between two epoll waits); when the iteration ends, it is
 * sent on the events ring buffer if it ran at least its process's loop_block_ns, or longer than any before
 * on its thread. ---- */
#define RTP_LOOP_STACKS 32
struct rtp_loop_iter {
	__u64 start; /* the iteration's start: its thread's loop_last_exit when sampled */
	__u32 n;     /* samples taken in it */
	__u32 kept;  /* of them in stacks: all, up to RTP_LOOP_STACKS; beyond, a uniform choice of that many */
	__u64 stacks[RTP_LOOP_STACKS]; /* keys of py_stacks */
};

#define RTP_LOOP_LONGEST 0x1 /* longer than any iteration before it on its thread */

/* RTP_REC_LOOP_BLOCK */
struct rtp_loop_rec {
	__u32 type;
	__u32 flags; /* RTP_LOOP_* */
	__u32 tgid, tid;
	__u64 dur_ns; /* from iter.start to the next epoll wait */
	struct rtp_loop_iter iter;
};

#endif /* RTPROF_ABI_H */
