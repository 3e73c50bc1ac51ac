/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The per-thread state timeline of a recorded trace: running / runnable / sleeping / blocked intervals,
 * derived from its context switches, wakeups and lifecycle records. Shared by `rtprof export` and
 * `rtprof report --timeline`. */
#ifndef RTPROF_TIMELINE_H
#define RTPROF_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "model/runtime_info.h"
#include "trace/trace.h"

enum thread_state {
	TSTATE_NONE = 0, /* not alive, or nothing known */
	TSTATE_RUNNING,
	TSTATE_RUNNABLE,
	TSTATE_SLEEPING,
	TSTATE_BLOCKED,
	TSTATE_NR,
};

/* "running", "runnable", "sleeping", "blocked", "none" */
const char *thread_state__name(enum thread_state s);

/* Scheduling events a timeline holds (32 bytes each while it is built, and about as many spans of 24): a
 * trace with more ends its timeline at the first one left out. About 1 M context switches. */
#define TIMELINE_MAX_EVENTS (2u << 20)

struct state_span {
	uint64_t start_ns, end_ns; /* CLOCK_MONOTONIC, start_ns < end_ns */
	uint32_t state;            /* enum thread_state, never TSTATE_NONE */
	uint32_t cpu;              /* running: the CPU it ran on */
};

struct timeline_thread {
	uint32_t tid;
	uint32_t tgid; /* 0 when no record said */
	char name[RTP_COMM_LEN];
	struct state_span *spans; /* in time order, not overlapping */
	size_t n_spans;
};

struct timeline_process {
	uint32_t pid;
	char comm[RTP_COMM_LEN];
	enum rtp_runtime_kind runtime;
	char runtime_version[32];
};

struct timeline {
	struct trace_header header;
	uint64_t start_ns, end_ns; /* the header's start; the footer's end, or the last record's time */
	uint32_t ncpus;
	struct timeline_thread *threads; /* by tid: the threads `rtprof report` lists */
	size_t n_threads;
	struct timeline_process *procs; /* TRACE_PROC records, by pid */
	size_t n_procs;
	uint64_t records;
	/* Runs the switch records do not show (a switch-in, or a switch-out/switch-in pair, missing from the
	 * trace), drawn from the kernel's CPU time carried by the next switch-out (prev_oncpu_ns). */
	uint64_t inferred_runs;
	/* Left out of a trace bigger than a timeline holds (then `warning` says so): records of threads and
	 * processes beyond TRACE_MAX_THREADS and TRACE_MAX_PROCS; scheduling events beyond the most it holds,
	 * the first of which ends the timeline (end_ns). */
	uint64_t thread_drops, proc_drops, events_dropped;
	char limits[384];  /* those, in a sentence ("" if nothing) */
	char warning[256]; /* what was wrong with the file ("" if nothing) */
	struct rtp_profiles *profiles; /* the session's stacks (recorded with --stacks); NULL when none */
};

struct timeline_opts {
	/* Called once with the file's header, before any record (a consumer that streams what it is handed
	 * needs the header's start); a non-zero return stops reading and is returned. */
	int (*on_header)(void *ctx, const struct trace_header *h);
	/* Called for every syscall record in file order (per thread, that is time order); a non-zero
	 * return stops reading and is returned. */
	int (*on_syscall)(void *ctx, const struct rtp_tr_syscall *sys);
	/* The same for runtime intervals (GIL waits, collections, event-loop iterations...). */
	int (*on_runtime)(void *ctx, const struct rtp_tr_runtime *rt);
	void *ctx;
};

/* Read a trace. Returns 0 or -errno with a sentence in err; a cut or damaged trace gives what could be
 * read, with `warning` set. */
int timeline__load(const char *path, const struct timeline_opts *opts, struct timeline **out, char *err,
		   size_t errlen);
void timeline__free(struct timeline *tl);

const struct timeline_thread *timeline__thread(const struct timeline *tl, uint32_t tid);
/* The process figures of pid, or NULL. */
const struct timeline_process *timeline__process(const struct timeline *tl, uint32_t pid);

#endif
