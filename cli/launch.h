/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* rtprof run's launch: the command's program held at its entry point (ptrace) while its runtime probes are
 * placed, so that they see it from its first instruction (launch.c). */
#ifndef RTPROF_LAUNCH_H
#define RTPROF_LAUNCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct engine;

enum launch_state {
	LAUNCH_OFF,      /* not traced (the child could not be, or we let it go) */
	LAUNCH_EXEC,     /* traced, waiting for the stop after an exec */
	LAUNCH_ENTRY,    /* a breakpoint on the program's entry point, waiting for it */
};

struct launch {
	struct engine *e;
	pid_t pid;
	enum launch_state state;
	unsigned int execs;   /* execs seen while traced */
	uint64_t start_ns;    /* the launch (CLOCK_MONOTONIC) */
	uint64_t entry;       /* the entry point's address, while a breakpoint is there */
	long saved;           /* the word the breakpoint replaced */
	bool split;           /* a program exec'd by a launcher starts its session's figures (engine__session_split) */
};

/* Whether run's child should ask to be traced: root (a tracer with CAP_SYS_PTRACE keeps a set-id program's
 * privileges at its exec) on a machine where we know how to place a breakpoint. */
bool launch__wanted(void);
/* In the child, before its exec: be traced by the parent. Failure leaves the child untraced. */
void launch__child(void);
/* In the parent once the exec succeeded: whether the child is traced (l->state is LAUNCH_EXEC then). */
void launch__start(struct launch *l, struct engine *e, pid_t pid, bool wanted);
/* The child stopped (wait status `status`): act on it and resume the child. At the stop on a python or node
 * program's entry point, engine__target_execd places its probes. */
void launch__stopped(struct launch *l, struct engine *e, int status);

#endif
