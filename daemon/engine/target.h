/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A traced process as the engine's parts see it. Not part of the engine's API. */
#ifndef RTPROF_TARGET_H
#define RTPROF_TARGET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "model/runtime_info.h"
#include "rtprof_abi.h"
#include "sys/procfs.h"

struct rt_state;
struct py_state;

struct target_proc {
	pid_t pid;
	unsigned int session; /* its slot */
	bool forgotten;  /* exited and taken out of the target set */
	bool exited;
	bool user_added; /* named by the user, not a followed child */
	bool armed;      /* put in its session's slot by the probes at its exec (engine/armed.c) */
	uint64_t exit_ns;
	/* /proc/PID/stat's starttime of the process: what is read of /proc/PID is its only while this matches
	 * (the pid of an exited process may be another's by then); 0 while unknown */
	uint64_t start_ticks;
	char comm[RTP_COMM_LEN];
	struct rtp_runtime_info runtime;
	bool runtime_known;
	/* its exec was handled while it waited (engine__target_execd): exec records up to then are that one */
	uint64_t exec_done_ns;
	/* held by its launcher until its entry point (engine__target_held): its exec records wait for it */
	bool exec_held;
	uint64_t exec_pending_ns; /* the last exec record that came meanwhile; 0 none */
	bool version_pending; /* a node found in haste: its version is read later (engine_proc_version) */
	struct rt_state *rt; /* runtime metrics probes (rtmetrics.c); NULL when none */
	struct py_state *py; /* its stack walker (pystacks.c); NULL when none */
	struct proc_stat first, last; /* /proc samples bounding the attached interval */
	bool have_first, have_last;
	long max_rss_kb;
};

#endif
