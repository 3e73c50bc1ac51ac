/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The report model: what a session measured, independent of how it is rendered (text, JSON). */
#ifndef RTPROF_REPORT_H
#define RTPROF_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "rtprof_abi.h"
#include "model/runtime_info.h"

struct rtp_report_target {
	pid_t pid;
	char comm[RTP_COMM_LEN];
	struct rtp_runtime_info runtime;
	bool exited;
};

struct rtp_report_errno {
	int err; /* positive errno */
	uint64_t count;
};

/* Failures of a path-taking syscall naming one path (its first RTP_PATH_LEN - 1 bytes). */
struct rtp_report_err_path {
	int err; /* positive errno */
	uint64_t count;
	char path[RTP_PATH_LEN];
};

struct rtp_report_syscall {
	unsigned int nr;
	char name[32];
	uint64_t count;
	uint64_t errors;
	uint64_t timed;    /* calls whose latency was measured; < count when bursts were sampled */
	uint64_t total_ns; /* measured total, scaled by count/timed when sampled */
	uint64_t max_ns;
	uint64_t p50_ns; /* estimated from the log2 histogram */
	uint64_t p99_ns;
	uint64_t hist[RTP_HIST_SLOTS];
	uint64_t trace_lost; /* while recording: calls whose trace record was lost (full trace buffer) */
	struct rtp_report_errno *errnos; /* most frequent first */
	size_t n_errnos;
	struct rtp_report_err_path *err_paths; /* most frequent first */
	size_t n_err_paths;
};

/* --per-thread: a thread's calls of one syscall. */
struct rtp_report_thread_syscall {
	pid_t tid, tgid;
	unsigned int nr;
	char name[32];
	uint64_t count, errors;
	uint64_t timed;    /* calls whose latency was measured */
	uint64_t total_ns; /* measured, scaled by count/timed when bursts were sampled */
	uint64_t max_ns;
};

struct rtp_report_thread {
	pid_t tid;
	pid_t tgid;
	pid_t parent_tid;
	char name[RTP_COMM_LEN];
	uint64_t oncpu_ns;
	uint64_t runq_wait_ns;
	uint64_t sleep_ns;
	uint64_t block_ns;
	uint64_t vol_switches;
	uint64_t invol_switches;
	uint64_t migrations;
	bool exited;
	/* runtime metrics (python GIL, node event loop); zero for other threads */
	uint64_t gil_wait_ns, gil_hold_ns, gil_waits;
	uint64_t loop_idle_ns, loop_busy_ns, loop_iters, loop_busy_max_ns;
	uint64_t gc_count, gc_ns, gc_max_ns; /* its runtime's collections run on it */
	uint64_t start_ns, exit_ns; /* CLOCK_MONOTONIC; 0: before tracing began / still alive */
};

/* ---- Runtime metrics of one python or node process (docs/runtime-metrics.md) ---- */
struct rtp_report_rt_stat {
	uint64_t count;
	uint64_t total_ns;
	uint64_t max_ns;
};

struct rtp_report_gil_thread {
	pid_t tid;
	char name[RTP_COMM_LEN];
	uint64_t wait_ns;
	uint64_t hold_ns;
	uint64_t waits;
	double wait_share; /* wait over the thread's traced lifetime */
};

/* node: one isolate, on the thread that runs it (the main thread, each worker_thread): its event loop and
 * its collections. */
struct rtp_report_isolate {
	pid_t tid;
	char name[RTP_COMM_LEN];
	uint64_t loop_busy_ns, loop_idle_ns, loop_iters, loop_busy_max_ns;
	uint64_t gc_count, gc_ns, gc_max_ns;
};

/* A method string empty means "not measured": its `unavailable` says why. */
struct rtp_report_runtime {
	pid_t pid;
	enum rtp_runtime_kind kind;
	char version[32];
	/* python */
	char gil_method[48];
	char gil_unavailable[192];
	char gil_notes[384];
	uint64_t gil_wait_ns, gil_hold_ns, gil_waits;
	uint64_t gil_wait_hist[RTP_HIST_SLOTS];
	struct rtp_report_gil_thread *gil_threads;
	size_t n_gil_threads;
	/* both: python generations 0..2, V8 collectors (scavenge, mark-compact, minor-mark-compact) */
	char gc_method[48];
	char gc_unavailable[192];
	struct rtp_report_rt_stat gc[RTP_RT_GC_KINDS];
	unsigned int n_gc_kinds;
	/* node */
	char loop_method[16];
	char loop_unavailable[192];
	pid_t loop_tid;
	uint64_t loop_busy_ns, loop_idle_ns, loop_iters, loop_busy_max_ns;
	uint64_t loop_busy_hist[RTP_HIST_SLOTS];
	struct rtp_report_isolate *isolates; /* the threads with an event loop or collections, by tid */
	size_t n_isolates;
	char tp_method[16];
	char tp_unavailable[192];
	uint64_t tp_submitted, tp_completed, tp_queue_ns, tp_queue_max_ns, tp_run_ns, tp_run_max_ns, tp_busy_max;
	uint64_t tp_kind[RTP_TP_KINDS]; /* fs, work, dns, random */
	bool tp_no_queue; /* from a trace: submissions are not recorded, so no queue wait nor busy workers */
	/* since when the probes see the process (enum rtp_probes_from); RTP_PROBES_EXEC, _FORK: placed
	 * probes_late_ns after its exec or fork, what it did in between is missed */
	char probes_from[24];
	uint64_t probes_late_ns;
};

/* Since when a runtime's probes see its process: report and trace values. */
enum rtp_probes_from {
	RTP_PROBES_ATTACH = 0, /* attached to a running process: everything is counted from the attach */
	RTP_PROBES_EXEC = 1,   /* placed once its exec was seen: the program's first moments are missed */
	RTP_PROBES_START = 2,  /* placed before its first instruction (rtprof run): nothing is missed */
	RTP_PROBES_FORK = 3,   /* a forked child of a runtime process, placed once its fork was seen */
};
const char *report__probes_from_name(unsigned int from); /* "attach", "exec", "first instruction", "fork" */

const char *report__gc_kind_name(enum rtp_runtime_kind kind, unsigned int i); /* "0".."2" / "scavenge"... */
/* Add a thread's GIL figures to a runtime row whose gil_threads has room for it, with its wait share over
 * its traced lifetime [from, to); a thread that neither waited for nor held the GIL is left out. */
void report__gil_thread_add(struct rtp_report_runtime *o, pid_t tid, const char *name, uint64_t wait_ns,
			    uint64_t hold_ns, uint64_t waits, uint64_t from, uint64_t to);
const char *report__tp_kind_name(unsigned int i); /* "fs", "work", "dns", "random" */
/* Add a node thread's isolate figures to a runtime row whose isolates has room for it; a thread with neither
 * a loop iteration nor a collection is left out (node's own threads that only wait in epoll). */
void report__isolate_add(struct rtp_report_runtime *o, const struct rtp_report_thread *t);
/* An errno's name: the C library's, or the kernel's own for the codes that only it uses (ERESTARTSYS and
 * kin, 512-531: a syscall interrupted by a signal and restarted shows them), else "E<n>" in buf. */
const char *report__errno_name(int err, char *buf, size_t len);
/* Back from a name report__errno_name gave; 0 when unknown. */
int report__errno_from_name(const char *name);

/* The classic comparison columns: secs, mem, cpu secs, cpu load per core. */
struct rtp_report_process {
	double wall_s;
	double cpu_user_s;
	double cpu_sys_s;
	long max_rss_kb;
	int ncpus;
	double *cpu_load_pct; /* [ncpus]: busy share of each CPU spent on the targets */
	const char *source;   /* "rusage" (run: wait4) or "procfs" (attach: /proc deltas) */
};

struct rtp_profiles;

/* A program started through a launcher (engine__session_split): what its report leaves out. */
struct rtp_report_wrapper {
	unsigned int helpers; /* processes that ran and exited before the program started */
	char names[160];      /* theirs, most frequent first: "bash x35, readlink x4, basename" */
	uint64_t start_ns;    /* from the session's start to the program's */
};

struct rtp_report {
	const char *mode; /* "run" or "attach" */
	struct rtp_report_target *targets; /* [0] is the main target */
	size_t n_targets;
	uint64_t duration_ns;
	struct rtp_report_process process;
	struct rtp_report_syscall *syscalls; /* by total_ns, descending */
	size_t n_syscalls;
	struct rtp_report_thread *threads; /* by tid */
	size_t n_threads;
	bool per_thread; /* thread_syscalls was asked for (--per-thread) */
	struct rtp_report_thread_syscall *thread_syscalls; /* by tid, then total_ns descending */
	size_t n_thread_syscalls;
	uint64_t thread_syscall_drops; /* calls not counted by thread: the table was full */
	struct rtp_report_wrapper wrapper;  /* start_ns 0: the program was the session's from its start */
	struct rtp_report_runtime *runtimes; /* python and node processes, by pid */
	size_t n_runtimes;
	uint64_t runq_hist[RTP_HIST_SLOTS]; /* all targets */
	struct rtp_profiles *profiles; /* stacks (model/profiles.h); NULL when not sampled */
	uint64_t lost_events;
	uint64_t thread_drops;
	uint64_t proc_drops;
	uint64_t errno_drops; /* failed syscalls not in their row's errnos: the (syscall, errno) table was full */
	uint64_t err_path_drops; /* failed path-taking calls not in err_paths: the session's share was full,
				  * or the path unreadable */
	uint64_t syscalls_unaggregated;
	int exit_status; /* run: the command's exit code (128+signal if killed); -1 otherwise */
	char warning[256]; /* what is incomplete about this report ("" if nothing): a cut trace... */
};

void report__free(struct rtp_report *r);

/* A process of a report, folded from its threads, its syscalls by thread (--per-thread) and its runtime row. */
struct rtp_report_proc_row {
	pid_t pid;
	char name[RTP_COMM_LEN]; /* its main thread's */
	enum rtp_runtime_kind runtime;
	char version[32];
	unsigned int threads;
	bool exited; /* all its threads */
	uint64_t oncpu_ns, runq_wait_ns, sleep_ns, block_ns;
	bool has_gc;       /* its runtime's collections were measured */
	uint64_t gc_count;
	/* with the report's per_thread (--per-thread), from its threads' syscalls: */
	uint64_t sys_calls, sys_errors, sys_ns;
	struct rtp_report_thread_syscall *sys; /* by syscall (tid 0), total time descending */
	size_t n_sys;
};
/* The report's processes: the session's first target first, then by pid. 0 or -ENOMEM. */
int report__processes(const struct rtp_report *r, struct rtp_report_proc_row **out, size_t *n);
void report__processes_free(struct rtp_report_proc_row *v, size_t n);
/* Sort thread_syscalls: by thread (its process, then tid), each thread's by total time. */
void report__sort_thread_syscalls(struct rtp_report *r);
/* A syscall that waits for something to happen rather than doing work: for events (epoll_wait, poll,
 * select, their kin), for time (nanosleep, clock_nanosleep, pause), for a connection (accept) or a child
 * (wait4, waitid), for a signal. Its time is idle time, whatever the program waits for. */
bool report__syscall_idle(const char *name);

struct json_object;
/* The report as JSON (docs/report-json.md); NULL when out of memory. Free with json_object_put(). */
struct json_object *report__json(const struct rtp_report *r);
/* Back from that JSON (a saved --json report, or rtprofd's reply): missing keys read as zero.
 * 0, -EINVAL (not an object) or -ENOMEM. */
int report__from_json(struct json_object *o, struct rtp_report **out);

/* What happened between two reports of the same session (then taken before now): counts, times and
 * histograms subtracted, rates recomputed; maxima stay those of `now` (a maximum cannot be taken apart). */
int report__subtract(const struct rtp_report *now, const struct rtp_report *then, struct rtp_report **out);

/* One syscall's row from its aggregated figures, for the live report and a trace's alike: name (NULL:
 * "syscall_NR"), p50/p99 from the histogram, the total scaled up when bursts were sampled. errnos are left alone. */
void report__syscall_fill(struct rtp_report_syscall *sc, unsigned int nr, const char *name,
			  const struct rtp_sys_stats *v);

/* Percentile q (0..1) of a log2 histogram, interpolated within the slot; 0 for an empty one. */
uint64_t hist__percentile(const uint64_t *slots, size_t n_slots, double q);

#endif
