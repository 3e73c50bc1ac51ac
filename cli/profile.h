/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `run` and `attach`: their shared options and session setup (profile.c), and attach through rtprofd
 * (attach_daemon.c). */
#ifndef RTPROF_PROFILE_H
#define RTPROF_PROFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "outfile.h"

struct engine;
struct recorder;
struct rtp_client;
struct rtp_report;

#define RTP_DEFAULT_SAMPLE_HZ 99 /* not 100: no lockstep with timers that fire at round rates */

struct profile_opts {
	bool json;
	bool no_follow;
	bool quiet;
	bool exact_latency;
	bool local; /* attach: never through rtprofd */
	bool as_root; /* run under sudo: the command keeps root (else it runs as SUDO_UID/SUDO_GID) */
	bool all_processes; /* run: a launcher's figures and its helpers' stay in (else the program's from its start) */
	const char *output; /* the report */
	bool report_stderr; /* run: the report goes to stderr unless -o says where ("-": stdout) */
	const char *trace;  /* the trace being recorded */
	uint64_t max_size;  /* of the trace */
	uint64_t trace_buffer; /* the probes' trace ring buffer, bytes; 0 = default */
	int runtime_mode;   /* enum engine_rt_mode */
	unsigned int sample_hz; /* --stacks: Python stacks sampled this often on CPU; 0 = no stacks */
	bool node_perf_map;     /* run --stacks: node children write their perf map (NODE_OPTIONS), removed after */
	bool per_thread;        /* --per-thread: each thread's syscall table too */
	uint64_t loop_threshold_ns; /* --loop-threshold-ms: event-loop iterations named with their stacks; 0 =
				     * the default */
	double duration_s;  /* attach: of the session; run: of the recording; 0 = unbounded */
	int top;
};

/* The options of `run` (attach false) and `attach`: 0, 1 after --help, or -EINVAL (said on stderr). */
int profile__parse_opts(int argc, char **argv, struct profile_opts *po, bool attach, void (*help)(FILE *));
/* The files a session writes, opened before it starts, so that their errors come before the command runs
 * or anything is loaded. The flows say what is worth keeping; the rest is removed at close. */
struct profile_out {
	struct outfile report; /* stdout (run: stderr), or the file of -o */
	struct outfile trace;  /* fd -1: not recording */
	FILE *out;             /* the report's stream */
	bool report_done;      /* the report is written: keep its file */
	bool trace_used;       /* the trace holds a recording, complete or cut: keep its file */
};

/* Prints its own errors. Returns 0 or -errno (o closed again). */
int profile__open_outputs(const struct profile_opts *po, struct profile_out *o);
/* Close; remove the files not worth keeping. Returns 0, or -errno of a kept file's close (said). */
int profile__close_outputs(struct profile_out *o);
/* Before engine__free at the end of a session: the kernel releases uprobes one after another (~100 ms
 * each: node's 14 took 1.4 s). A child sharing the probes' descriptors outlives rtprof and pays for that,
 * so that rtprof exits once its report is out. Its terminal and output are not the child's. */
void profile__teardown_elsewhere(void);
/* Prints its own errors. */
int profile__new_engine(const struct profile_opts *po, struct engine **e);
/* The trace of -o FILE.rtprof.gz; argv is the command or the pids, for the trace's header. */
int profile__open_recorder(const struct profile_opts *po, const struct profile_out *o, struct engine *e,
			   const char *mode, pid_t target, char **argv, struct recorder **rec);
/* Build the report; finish the trace (its footer carries the process figures); render. */
int profile__emit_report(struct engine *e, const char *mode, const struct profile_opts *po, FILE *out,
			 struct recorder **rec, void (*fixup)(struct rtp_report *, void *), void *ctx);

/* Let signal sig ask the session to stop (no SA_RESTART: poll() returns EINTR). */
void profile__catch_stop(int sig);
/* The signal that asked to stop, or 0. */
int profile__stop_signal(void);
void profile__clear_stop(void);
/* CLOCK_MONOTONIC ns at which the session's --duration ends, or 0 when unbounded. */
uint64_t profile__deadline_ns(const struct profile_opts *po);

/* ---- attach_daemon.c: attach through rtprofd; each returns the command's exit code ---- */

/* The session in rtprofd: attach, wait as the embedded path would, fetch the report, detach. */
int attach_daemon__session(struct rtp_client *c, const struct profile_opts *po, const pid_t *pids, int npids,
			   struct profile_out *o);
/* A trace recorded by rtprofd: it streams the file's bytes, this process writes them, as its user. */
int attach_daemon__record(struct rtp_client *c, const struct profile_opts *po, const pid_t *pids, int npids,
			  struct profile_out *o);

#endif
