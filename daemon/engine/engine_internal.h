/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared between engine.c (probes, targets, events) and aggregate.c (folding the BPF maps into totals
 * and the report). Not part of the engine's API. */
#ifndef RTPROF_ENGINE_INTERNAL_H
#define RTPROF_ENGINE_INTERNAL_H

#include <stdint.h>

#include "base/clock.h"
#include "engine/engine.h"
#include "sys/procfs.h"
#include "rtprof_abi.h"
#include "sys/runtime.h"

/* How long after its exit a process stays in the target set, and a thread's record in the BPF map before
 * it moves to userspace: the exit is followed by the threads' last switches. */
#define RTP_FORGET_GRACE_NS (200ull * 1000 * 1000)
#define RTP_POLL_MS 100


struct rtprof_bpf;
struct ring_buffer;

struct target_proc {
	pid_t pid;
	unsigned int session; /* its slot */
	bool forgotten;  /* exited and taken out of the target set */
	bool exited;
	bool user_added; /* named by the user, not a followed child */
	uint64_t exit_ns;
	char comm[RTP_COMM_LEN];
	struct rtp_runtime_info runtime;
	bool runtime_known;
	struct rt_state *rt; /* runtime metrics probes (rtmetrics.c); NULL when none */
	struct proc_stat first, last; /* /proc samples bounding the attached interval */
	bool have_first, have_last;
	long max_rss_kb;
};

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
	bool restricted; /* an unprivileged user's: drop processes that exec privileged programs */
	int rt_mode;     /* enum engine_rt_mode */
	uint64_t start_ns, stop_ns; /* stop_ns 0: still running */
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
	engine_trace_fn trace_fn;
	void *trace_ctx;
	struct rtp_thread *exited_threads; /* records moved out of the BPF map */
	size_t n_exited_threads, cap_exited_threads;
};

extern int engine_log_quiet; /* libbpf's warnings are not printed while non-zero (unless verbose) */

/* Hand a record to the trace sink, if recording. */
void engine_trace(struct engine *e, const struct trace_rec *rec);
/* Sum a per-CPU counter; per_cpu (optional) gets each CPU's value. */
int engine_counter(struct engine *e, unsigned int idx, uint64_t *total, uint64_t *per_cpu);

/* Runtime metrics (rtmetrics.c): attach the probes for a process whose runtime is known (python, node), as
 * its session's mode says; detach them (keeping its totals for the report); the report's runtime section. */
void rt_attach(struct engine *e, struct target_proc *p);
void rt_detach(struct engine *e, struct target_proc *p);
void rt_free(struct target_proc *p);
void rt_poll(struct engine *e); /* finish what waited for the process's libraries to be mapped */
void rt_trace_methods(struct engine *e, struct target_proc *p); /* a TRACE_RUNTIME record, when recording */
int rt_report(struct engine *e, unsigned int session, struct rtp_report *rep, uint64_t now);

/* Delete the entries of a BPF hash map for which doomed() says so (aggregate.c). Keys up to 64 bytes, values
 * up to a struct rtp_thread. doomed() may return <0 to stop. */
struct bpf_map;
int delete_where(struct bpf_map *map, size_t key_size, size_t value_size,
		 int (*doomed)(const void *key, const void *value, void *ctx), void *ctx);

/* Move the records of threads that exited more than the grace period ago out of the BPF map. */
int engine_harvest_threads(struct engine *e, uint64_t now);

#endif
