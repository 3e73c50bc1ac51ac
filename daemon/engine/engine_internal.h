/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the engine's parts: engine.c (bring-up, targets, events), session.c (session lifecycle) and
 * aggregate.c (folding the BPF maps into the report). Not part of the engine's API. */
#ifndef RTPROF_ENGINE_INTERNAL_H
#define RTPROF_ENGINE_INTERNAL_H

#include <stdint.h>

#include "base/clock.h"
#include "engine/engine.h"
#include "model/report.h"
#include "engine/reaper.h"
#include "engine/rtmetrics.h"
#include "engine/target.h"
#include "rtprof_abi.h"

/* How long after its exit a process stays in the target set, and a thread's record in the BPF map before
 * it moves to userspace: the exit is followed by the threads' last switches. */
#define RTP_FORGET_GRACE_NS (200ull * 1000 * 1000)
#define RTP_POLL_MS 100


struct rtprof_bpf;
struct ring_buffer;


struct agg_errno {
	uint16_t nr, err;
	uint64_t count;
};

/* Totals folded out of the BPF maps. */
struct agg {
	struct rtp_sys_stats *sys; /* [RTP_MAX_SYSCALLS], summed over CPUs */
	uint64_t runq_hist[RTP_HIST_SLOTS];
	uint64_t *busy_ns; /* [ncpus] */
	int ncpus;
	struct agg_errno *errnos;
	size_t n_errnos, cap_errnos;
};

struct session {
	bool used;
	bool no_follow; /* processes its targets fork stay out of it */
	bool restricted; /* an unprivileged user's: processes leave it when ptrace would lose access */
	uid_t owner_uid; /* restricted: whose it is */
	gid_t owner_gid;
	int rt_mode;     /* enum engine_rt_mode */
	unsigned int stacks_hz; /* Python stacks sampled at this rate; 0: none */
	bool stacks_ref;        /* the session holds a reference to its rate's events (pystacks__rate_get) */
	uint64_t loop_block_ns; /* event-loop iterations at least this long are kept with their samples */
	bool per_thread;        /* its targets' syscalls are counted by thread too (RTP_TARGET_PER_THREAD) */
	bool filewide;          /* its processes' runtime probes are placed file-wide (engine__session_filewide) */
	bool armed;             /* held ready for a watched exec (armed.c): no session of the caller's yet */
	uint64_t armed_exec_ns; /* claimed: the exec at which the probes put its process in it */
	uint64_t start_ns, stop_ns; /* stop_ns 0: still running */
	/* engine__session_split: the session at the program's start, left out of its reports; the processes
	 * that had exited by then (the launcher's helpers), left out of its tables */
	struct rtp_report *before;
	pid_t *helpers;
	size_t n_helpers, cap_helpers;
	struct rtp_report_wrapper wrapper;
};

#define ENGINE_WATCH_EXECS 64

/* A slot held ready for a watched exec (armed.c). */
struct engine_armed {
	unsigned int slot;
	pid_t pid; /* 0: in the probes' queue; else the process they put in it at its exec */
	uint64_t exec_ns;
};

struct engine {
	struct rtprof_bpf *skel;
	struct ring_buffer *rb;
	struct engine_opts opts;
	struct target_proc *procs;
	size_t n_procs, cap_procs;
	int ncpus;
	struct session *sessions; /* [opts.max_sessions] */
	uint64_t events;
	uint64_t last_harvest_ns;
	engine_exec_fn exec_fn;
	void *exec_ctx;
	/* the last watched execs (RTP_EV_WATCH), for the report of their sessions: since when the probes
	 * see the process (RTP_PROBES_EXEC, so late) */
	struct {
		pid_t pid;
		uint64_t ts_ns;
	} watch_execs[ENGINE_WATCH_EXECS];
	unsigned int watch_exec_next;
	engine_trace_fn trace_fn;
	void *trace_ctx;
	struct rt_ctx rt; /* what runtime metrics get of the engine */
	struct pystacks *py; /* Python stacks (pystacks.c); NULL when not sampled */
	struct reaper reaper; /* detached probes, destroyed off the caller's thread (reaper.c) */
	/* watch mode's slots held ready (armed.c), until a session claims them */
	struct engine_armed armed[RTP_ARMED_SLOTS];
	unsigned int n_armed, armed_want;
	uint64_t armed_check_ns;
	struct rtp_thread *exited_threads; /* records moved out of the BPF map */
	size_t n_exited_threads, cap_exited_threads;
};

/* Sum a per-CPU counter; per_cpu (optional) gets each CPU's value. */
int engine_counter(struct engine *e, unsigned int idx, uint64_t *total, uint64_t *per_cpu);

/* The tgids of a session's processes, sorted (session.c), and whether v is one of them. */
__u32 *session_tgids(struct engine *e, unsigned int session, size_t *n);
bool in_set(const __u32 *set, size_t n, __u32 v);

/* Move the records of threads that exited more than the grace period ago out of the BPF map. */
int engine_harvest_threads(struct engine *e, uint64_t now);
/* Take a process's entry out of the probes' target set, if it is still that process's. */
void engine_target_remove(struct engine *e, const struct target_proc *p);
/* Delete the thread records of process pid from the probes' table (with their shares). */
void engine_forget_threads_of(struct engine *e, pid_t pid);
/* The version of a runtime detected in haste (engine__target_execd), read now. */
void engine_proc_version(struct engine *e, struct target_proc *p);

/* Zero a slot's figures in the probes' maps (session.c). */
int engine_clear_slot(struct engine *e, __u32 slot);
/* Watch mode's slots held ready (armed.c): an armed exec's record (RTP_EV_ARMED), a process's group exit,
 * and the engine's periodic turn (stale claims, a lost record, refills). */
void engine_armed_exec(struct engine *e, const struct rtp_event *ev);
void engine_armed_exit(struct engine *e, pid_t pid);
void engine_armed_poll(struct engine *e, uint64_t now);
/* pid out of slot, its runtime entry and thread records with it, if the probes' table still has it there. */
void engine_armed_evict(struct engine *e, pid_t pid, unsigned int slot);

/* Thread shares (shares.c): charge a record the engine makes for a session's thread (the share + 1; 0:
 * none; -1: full), and take off one it deletes (rtp_thread.share). */
int engine_share_charge(struct engine *e, unsigned int session);
/* A session slot taken, with the engine's defaults (session.c). */
void engine_session_init(struct engine *e, unsigned int session);
/* A slot's state freed and zeroed. */
void engine_session_clear(struct session *ss);
/* A report of a split session without what came before its program (engine__session_split); consumes *rep. */
int engine_session_after_split(struct engine *e, unsigned int session, struct rtp_report **rep);
void engine_share_release(struct engine *e, unsigned int share);

#endif
