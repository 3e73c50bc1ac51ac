/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The rtprof engine: loads and attaches the probe set, keeps the target set, consumes the
 * lifecycle ring buffer and turns the BPF aggregates into a report. Used by the CLI in-process
 * and by rtprofd. Functions return 0 or a negative errno; on failure `err` holds a sentence. */
#ifndef RTPROF_ENGINE_H
#define RTPROF_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "model/report.h"
#include "trace/trace.h"

#define RTP_ERRLEN 512

struct engine_opts {
	size_t sz; /* sizeof(struct engine_opts), for forward compatibility */
	bool no_follow;        /* do not add processes forked by targets */
	unsigned int max_procs;   /* process slots; 0: RTP_DEFAULT_MAX_PROCS */
	unsigned int max_threads; /* threads tracked; 0: RTP_DEFAULT_MAX_THREADS */
	unsigned int max_sessions; /* sessions aggregated apart (rtprofd); 0: 1 */
	const char *btf_path;     /* kernel BTF to use instead of /sys/kernel/btf/vmlinux */
	bool verbose;             /* let libbpf's debug messages through the print hook */
	bool exact_latency;       /* time every syscall, also in bursts (costlier, see rtprof_abi.h) */
	bool record;              /* stream every event to the trace sink (implies exact_latency) */
	bool watch_execs;         /* report execs of python and node programs that are not traced */
	unsigned int trace_buffer_bytes; /* trace ring buffer; 0: RTP_DEFAULT_TRACE_BUFFER */
	int runtime_mode;         /* enum engine_rt_mode: runtime metrics of python/node targets */
	unsigned int sample_hz;   /* Python stacks: on-CPU samples a second (per CPU); 0: none */
	bool stacks_by_session;   /* the sampler loaded, but only sessions that ask (engine__session_stacks)
				   * sample stacks, each at its rate; sample_hz is then unused (rtprofd) */
	bool own_perf_maps;       /* the caller had node write its perf map (rtprof run --stacks): each node
				   * target's /tmp/perf-PID.map is removed with the engine */
	uint64_t loop_threshold_ns; /* with stacks: event-loop iterations at least this long are kept with their
				     * samples (the callback that blocked the loop); 0: RTP_DEFAULT_LOOP_THRESHOLD_NS */
	bool per_thread;          /* count each thread's syscalls too (the report's thread_syscalls) */
};

#define RTP_DEFAULT_LOOP_THRESHOLD_NS 50000000ull

/* Runtime metrics (docs/runtime-metrics.md) of a session's python and node processes. */
enum engine_rt_mode {
	ENGINE_RT_ON = 0,          /* default: GIL from futex waits, no breakpoint on hot paths */
	ENGINE_RT_OFF = 1,
	ENGINE_RT_GIL_UPROBES = 2, /* GIL from uprobes on take_gil/drop_gil (or PyEval_RestoreThread/SaveThread) */
};

struct engine;

/* Check that BPF profiling can work here (root/capabilities, BTF): 0 or -errno with a message. */
int engine__preflight(const struct engine_opts *opts, char *err, size_t errlen);

int engine__new(const struct engine_opts *opts, struct engine **out, char *err, size_t errlen);
void engine__free(struct engine *e);

/* What placing the runtime probes in the program at `path` will need (its runtime, its interpreter's
 * symbols; with stacks, node's v8dbg constants), read on a thread of its own, while engine__new loads the
 * probes (prefetch.c); kept where the engine looks for it. engine__prefetch_join waits for the thread (NULL:
 * none could start): with stacks, whether the program is a node whose JavaScript functions are read from
 * V8's objects (then it needs no perf map). */
struct engine_prefetch;
struct engine_prefetch *engine__prefetch(const char *path, bool stacks);
bool engine__prefetch_join(struct engine_prefetch *pf);
/* What the stack walker's set-up will read of the program of process pid (runtime rt): its interpreter's
 * symbols, node's v8dbg constants, read on the calling thread (any) and kept by file where the engine looks
 * for them; rtprofd's analysis thread does it for an attach that asks for stacks. */
void engine__stacks_prefetch(pid_t pid, const struct rtp_runtime_info *rt);

/* Sessions: each aggregates its targets (and what they fork) apart from the others. The CLI uses the
 * functions without a session argument, which act on session 0. */
int engine__session_new(struct engine *e); /* a free session's id, or -ENOSPC */
/* Whether processes forked by the session's targets join it (default: !opts.no_follow). */
void engine__session_follow(struct engine *e, int session, bool follow);
/* For an unprivileged user's session (uid, gid: the user's): a target leaves the session at once when
 * ptrace would lose access -- its credentials change to other ids or gain capabilities, or it execs a
 * set-user-ID, set-group-ID or file-capability program. Call before adding targets. */
void engine__session_restrict(struct engine *e, int session, uid_t uid, gid_t gid);
/* Runtime metrics for the processes added from now on (enum engine_rt_mode; default: opts.runtime_mode). */
void engine__session_runtime(struct engine *e, int session, int mode);
/* Python stacks for the processes added from now on, on-CPU samples at hz (0: no stacks), in an engine
 * with opts.stacks_by_session: the rate sampled at (a few rates are sampled at once; past them, the nearest
 * one in use), or -errno with a message. */
int engine__session_stacks(struct engine *e, int session, unsigned int hz, char *err, size_t errlen);
/* With stacks: the event-loop iterations at least ns long that its reports name with their samples (0: the
 * engine's default); for processes whose stacks are set up from now on. */
void engine__session_loop_threshold(struct engine *e, int session, uint64_t ns);
/* Count each thread's syscalls too (--per-thread), for processes added from now on and what they fork. */
void engine__session_per_thread(struct engine *e, int session, bool on);
/* Stop tracing the session's processes and forget everything about it. */
void engine__session_free(struct engine *e, int session);
int engine__session_add(struct engine *e, int session, pid_t pid, char *err, size_t errlen);
/* The same, for a process the caller holds a pidfd of (taken before it checked the caller's rights to the
 * process): the attach fails with -ESRCH unless that process still holds pid once it is a target, so
 * that a process that got the pid in the meantime is never profiled in its stead. */
int engine__session_add_pidfd(struct engine *e, int session, pid_t pid, int pidfd, char *err, size_t errlen);
/* The same, with the process's runtime found already (runtime__detect, by the caller): not looked for again.
 * ready: its runtime probes made ahead (engine__rt_ready), or NULL; taken in any case. */
struct rt_ready;
int engine__session_add_known(struct engine *e, int session, pid_t pid, int pidfd, const struct rtp_runtime_info *rt,
			      struct rt_ready *ready, char *err, size_t errlen);
/* The runtime probes of process pid, whose runtime is rt, for a session whose runtime mode is `mode` (enum
 * engine_rt_mode), made ahead of engine__session_add_known on any thread: making a probe's link can wait
 * ~20 ms in the kernel, which the thread serving clients should not. Safe beside the engine's own thread
 * (it reads only what the engine set up at its creation). NULL: none made; the engine makes them when the
 * process is added. Free one not handed to engine__session_add_known on the engine's thread. */
struct rt_ready *engine__rt_ready(struct engine *e, pid_t pid, const struct rtp_runtime_info *rt, int mode);
void engine__rt_ready_free(struct engine *e, struct rt_ready *ready);
unsigned int engine__session_live(const struct engine *e, int session);
/* What runs in the session's first process: its command name and runtime ("python 3.11.2", "node 20.20.2",
 * "" for another program or one not known yet). */
void engine__session_label(const struct engine *e, int session, char *comm, size_t comm_size, char *runtime,
			   size_t runtime_size);
/* The session's report so far (or up to its stop). */
int engine__session_report(struct engine *e, int session, const char *mode, struct rtp_report **out);
/* The session's program starts now: a launcher (a shell, env, a version manager's shim) exec'd it in the same
 * process, which waits at the program's first instruction. The session's reports leave out what came
 * before -- the launcher's figures and its helpers' -- and sum the helpers (the processes that have exited
 * by now) up in their `wrapper`. 0 or -errno. */
int engine__session_split(struct engine *e, int session);
/* What of a report to compute (a query's view): the syscall table; the threads, with what is computed from
 * them (the process line's CPU load, the runtime metrics). The other rows are left empty. */
enum engine_report_part {
	ENGINE_REPORT_SYSCALLS = 1u << 0,
	ENGINE_REPORT_THREADS = 1u << 1,
	ENGINE_REPORT_STACKS = 1u << 2,
	ENGINE_REPORT_ALL = ENGINE_REPORT_SYSCALLS | ENGINE_REPORT_THREADS | ENGINE_REPORT_STACKS,
};
int engine__session_report_parts(struct engine *e, int session, const char *mode, unsigned int parts,
				 struct rtp_report **out);
/* Whether pid is traced, and in which session. */
int engine__session_of(const struct engine *e, pid_t pid);

/* Thread shares (bpf/rtprof_abi.h): share (< RTP_MAX_SHARES) holds at most cap records of the thread table
 * (0: no cap), each also counted against share `parent` (-1: none); its drops restart from 0. A session's
 * threads count against a share (-1: none) from the call on, until it is set again: set it before adding
 * targets. Threads past a full share are not tracked, and counted in the share's drops only. */
int engine__share_set(struct engine *e, unsigned int share, unsigned int cap, int parent);
int engine__session_share(struct engine *e, int session, int share);
int engine__share_stats(const struct engine *e, unsigned int share, unsigned int *threads, uint64_t *drops);

/* Add a running process (all its threads) to the target set of session 0.
 * -ESRCH: no such process; -EINVAL: a kernel thread; -ENOSPC: the target table is full. */
int engine__add_target(struct engine *e, pid_t pid, char *err, size_t errlen);
int engine__add_target_pidfd(struct engine *e, pid_t pid, int pidfd, char *err, size_t errlen);
/* The same for a process the caller forked for the profile and holds before its exec: its thread's figures
 * count from the fork, as the kernel's own accounting of the thread (and wait4's usage) do, not from now:
 * the run-queue wait of a child that waited for a CPU while the probes loaded is the thread's too. */
int engine__add_spawned(struct engine *e, pid_t pid, char *err, size_t errlen);
/* A target stopped by its launcher after an exec, before its program's first instruction (rtprof run
 * holds it at the entry point): detect its runtime and place the runtime probes now, so that they see
 * everything the program does. The exec records already queued for it are taken as this exec.
 * -ESRCH: not a target (or gone). */
int engine__target_execd(struct engine *e, pid_t pid);
/* While held (by a launcher that stops the target at its entry point), the target's exec records wait for
 * engine__target_execd; let go (held false) without it, the last one is handled then. */
void engine__target_held(struct engine *e, pid_t pid, bool held);

/* File descriptor that becomes readable when lifecycle events are pending (for the caller's poll). */
int engine__fd(const struct engine *e);
/* Consume pending events, waiting up to timeout_ms; samples /proc of live targets. Returns events or -errno. */
int engine__poll(struct engine *e, int timeout_ms);
/* Number of added targets (and followed children) whose process has not exited. */
unsigned int engine__live_targets(const struct engine *e);
/* Start the session clock now, if no target started it yet; its CLOCK_MONOTONIC time in ns. */
uint64_t engine__start_clock(struct engine *e);
/* Stop the session clock now (when the workload ends, before building the report), if not stopped
 * yet; the stop time. */
uint64_t engine__stop_clock(struct engine *e);

/* Build the report of everything measured since the first target was added. */
int engine__report(struct engine *e, const char *mode, struct rtp_report **out);

/* Where recorded events go (opts.record): each lifecycle event, syscall, switch, wakeup and migration
 * of the targets, plus the userspace records of trace.h. Set before adding targets. A failing sink
 * (non-zero) stops the streaming; the engine goes on. */
typedef int (*engine_trace_fn)(const struct trace_rec *rec, void *ctx);
void engine__set_trace_sink(struct engine *e, engine_trace_fn fn, void *ctx);
/* End of recording: drain the buffers, write a TRACE_THREAD_END for each live thread, and give the
 * records lost by the probes (lifecycle and trace), per CPU (lost_per_cpu[ncpus]) and in total. */
int engine__trace_finish(struct engine *e, uint64_t *lost_per_cpu, unsigned int ncpus, uint64_t *lost);
/* Records the probes lost so far (for progress lines). */
void engine__trace_counts(struct engine *e, uint64_t *lost);
/* How often to call engine__poll, in ms: records are consumed on this timer. */
int engine__poll_ms(const struct engine *e);
int engine__ncpus(const struct engine *e);
/* Lifecycle events consumed so far. */
uint64_t engine__events(const struct engine *e);

/* Watch mode (opts.watch_execs): called with each untraced process that exec'd a program named
 * python* or node*, as the probes saw it. */
typedef void (*engine_exec_fn)(pid_t pid, const char *comm, void *ctx);
void engine__set_exec_watch(struct engine *e, engine_exec_fn fn, void *ctx);
/* The session's processes get their runtime probes on their files for every process (multi-uprobe links,
 * kept for the engine's life; a process counts through them alone), and their program becomes one whose
 * next processes are counted from their first instruction (below). Call before adding targets. */
void engine__session_filewide(struct engine *e, int session, bool on);
/* Hold n session slots ready (at most RTP_ARMED_SLOTS; 0: none) in which the probes put each process that
 * execs such a program, at its exec. The caller's engine has that many sessions more than it hands out. */
void engine__watch_arm(struct engine *e, unsigned int n);
/* The slot the probes put pid in at its exec, now the caller's session (add pid to it as to any, with the
 * same engine__session_* settings first), or -ENOENT: pid was put in none. */
int engine__watch_claim(struct engine *e, pid_t pid);
/* pid will not be watched: out of its slot, which is cleared and held ready again. */
void engine__watch_release(struct engine *e, pid_t pid);
/* The program at path (python or node) as if a process of it had been watched in a filewide session: its
 * runtime probes in place on its files, its processes put in a slot held ready from the first one on.
 * Reads its ELF files (slow the first time: call where a wait harms nobody). Only runtimes in kinds (bits
 * 1 << enum rtp_runtime_kind); *kind: the program's. 0 or -errno (-ENOENT: not such a program, or nothing
 * in it to probe). */
int engine__watch_prime(struct engine *e, const char *path, unsigned int kinds, int *kind);

/* libbpf messages go through this hook; the CLI decides where they are printed. */
typedef void (*engine_log_fn)(const char *msg);
void engine__set_log(engine_log_fn fn, bool verbose);

#endif
