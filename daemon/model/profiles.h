/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Stack profiles of a report (docs/report-json.md, "profiles"): which function, for each kind of time.
 * Functions and stacks are interned: a stack is a run of frames, a frame a function and a line. */
#ifndef RTPROF_PROFILES_H
#define RTPROF_PROFILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "rtprof_abi.h"

struct json_object;

struct rtp_prof_func {
	char name[160]; /* co_qualname; "<...>" for the markers (kernel, no Python frame...) */
	char file[256];
	int firstline;
};

struct rtp_prof_frame {
	uint32_t func; /* index in funcs */
	int line;      /* 0: unknown */
};

/* What one thread spent in one stack. */
struct rtp_prof_row {
	pid_t pid, tid;
	unsigned int kind;  /* enum rtp_profile_kind */
	unsigned int arg;   /* RTP_PROF_OFFCPU: the state it left in (enum rtp_off_state); RTP_PROF_SYSCALL: nr,
			     * | RTP_PROF_SAMPLED when the row counts fast calls sampled one in RTP_PY_SYS_EVERY */
	uint64_t samples;   /* on-CPU samples; off-CPU intervals; syscalls: calls */
	uint64_t ns;        /* the samples' time (samples / sample_hz); the intervals'; the calls' */
	uint64_t errors;    /* syscalls: the calls that failed */
	char syscall[24];   /* RTP_PROF_SYSCALL: its name */
	uint32_t first, n;  /* frames[first .. first + n), outermost first */
	uint32_t flags;     /* RTP_STACK_* */
};

/* Per process: how its stacks were walked, or why they were not. */
struct rtp_prof_proc {
	pid_t pid;
	char method[64];       /* "" when unavailable */
	char unavailable[192];
	uint64_t samples;      /* of its threads */
	uint64_t no_python;    /* samples of threads outside any Python thread state */
	uint64_t unresolved;   /* frames whose code object could not be read (the process was gone) */
};

/* An event-loop iteration that ran long: the longest of its thread, or one at least the session's threshold
 * (--loop-threshold-ms). Its samples are the rows of kind RTP_PROF_LOOP whose arg is its index. */
struct rtp_prof_block {
	pid_t pid, tid;
	uint64_t start_ns; /* CLOCK_MONOTONIC */
	uint64_t dur_ns;   /* busy: from leaving one epoll wait to entering the next */
	uint64_t samples;  /* on-CPU samples taken in it (its rows hold a uniform choice of at most
			    * RTP_LOOP_STACKS of them) */
	bool longest;      /* the longest of its thread's */
};

struct rtp_profiles {
	unsigned int sample_hz;
	uint64_t loop_threshold_ns; /* iterations at least this long are blocks; 0: not sampled */
	struct rtp_prof_block *blocks; /* by process, each process's as its iterations ended */
	size_t n_blocks, cap_blocks;
	uint64_t drops; /* samples not counted: the stack tables were full */
	struct rtp_prof_proc *procs;
	size_t n_procs;
	struct rtp_prof_row *rows; /* by kind, then value, descending */
	size_t n_rows;
	struct rtp_prof_frame *frames;
	size_t n_frames, cap_frames;
	struct rtp_prof_func *funcs;
	size_t n_funcs, cap_funcs;
	size_t cap_rows;
	struct prof_intern *intern; /* name/file -> func, while building */
};

struct rtp_profiles *profiles__new(unsigned int sample_hz);
void profiles__free(struct rtp_profiles *p);
/* The function's index (added if new); -ENOMEM. */
int64_t profiles__func(struct rtp_profiles *p, const char *name, const char *file, int firstline);
/* A row whose frames (outermost first) are copied; -ENOMEM. */
int profiles__add(struct rtp_profiles *p, const struct rtp_prof_row *row, const struct rtp_prof_frame *frames,
		  uint32_t n);
/* A block's index (rows of kind RTP_PROF_LOOP name it in their arg); -ENOMEM. */
int64_t profiles__block(struct rtp_profiles *p, const struct rtp_prof_block *b);
/* What blocked the loop in a block: of each of its samples' stacks the innermost source function (a frame
 * with a file: JavaScript or Python, not native code nor a marker; the innermost frame when none has one),
 * the one most of its samples share, and the most sampled of its stacks through it. */
struct rtp_prof_blame {
	int64_t func;  /* index in funcs; -1: the block has no rows */
	int line;      /* where in it (0: unknown) */
	uint64_t samples; /* of the block's kept samples, those in it */
	uint64_t kept;    /* the block's kept samples */
	const struct rtp_prof_row *row; /* that stack */
	uint32_t depth; /* the function's frame in row (0: outermost) */
};
void profiles__block_blame(const struct rtp_profiles *p, size_t block, struct rtp_prof_blame *out);
/* A row's frames from frame `depth` (0: outermost) outward, at most n, as "function (file:line) < caller
 * (file)": a frame without a file, its name alone. Into buf (bytes as the names have them); returns buf. */
const char *profiles__frames_text(const struct rtp_profiles *p, const struct rtp_prof_row *r, uint32_t depth,
				  uint32_t n, char *buf, size_t len);
/* Rows sorted by kind and value; the intern table dropped. */
void profiles__finish(struct rtp_profiles *p);
const char *profiles__kind_name(unsigned int kind); /* "cpu", "offcpu", "gil", "syscalls", "loop" */
const char *profiles__state_name(unsigned int state); /* "runnable", "sleeping", "blocked" */
/* Whether a row is of kind (and, for syscalls, of the syscall named; NULL or "": any). */
bool profiles__row_of(const struct rtp_prof_row *r, unsigned int kind, const char *syscall);
/* What rows of a kind are ranked by: samples on CPU (and in loop blocks), time off CPU. */
uint64_t profiles__value(const struct rtp_prof_row *row);

/* What cur holds beyond then (a later report of the same processes): each row less the same row of then
 * (same process, thread, kind, state or syscall, and frames by name, file and line); rows with nothing
 * left are left out. Processes as in cur. NULL when out of memory. */
struct rtp_profiles *profiles__since(const struct rtp_profiles *cur, const struct rtp_profiles *then);

/* Top functions of one kind: self (the innermost frame) and total (anywhere in the stack, once per
 * stack), summed over rows. n_out gets how many; free *out. 0 or -ENOMEM. */
struct rtp_prof_top {
	uint32_t func;
	uint64_t self, total; /* profiles__value's */
};
int profiles__top(const struct rtp_profiles *p, unsigned int kind, struct rtp_prof_top **out, size_t *n_out);

struct json_object *profiles__json(const struct rtp_profiles *p);
/* Back from that JSON: NULL with *err = -ENOMEM, or NULL with *err = 0 when there is nothing to read. */
struct rtp_profiles *profiles__from_json(struct json_object *o, int *err);

/* The compact form a trace keeps (docs/trace-format.md, the P block): functions once, stacks once (runs of
 * function and line), rows by stack index. Back with the same checks as profiles__from_json: any index out
 * of range drops its row. */
struct json_object *profiles__trace_json(const struct rtp_profiles *p);
struct rtp_profiles *profiles__from_trace_json(struct json_object *o, int *err);

#endif
