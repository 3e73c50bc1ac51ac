/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Recording a trace: the engine's trace sink writing a .rtprof.gz file, with its bounds and progress line. */
#ifndef RTPROF_RECORD_H
#define RTPROF_RECORD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine/engine.h"

struct recorder_opts {
	int fd;              /* the file, opened by the caller, who closes it */
	const char *path;    /* its name, for messages */
	uint64_t max_bytes;  /* 0: unbounded */
	double duration_s;   /* 0: unbounded */
	bool progress;       /* a progress line on stderr, updated in place (a terminal) */
	bool quiet;          /* not even the summary line at the end */
	const char *mode;    /* "run", "attach" */
	pid_t target_pid;
	const char *command;
};

struct recorder;

/* Write the trace's header into opts->fd. Prints its own errors. */
int recorder__open(const struct recorder_opts *opts, struct engine *e, struct recorder **out);
/* Between polls: the progress line, and the duration bound. */
void recorder__tick(struct recorder *rec, struct engine *e);
/* Stop streaming, write the last records and the footer (process figures from the report), close.
 * Frees the recorder. Returns 0, or -errno when the file could not be completed (said on stderr). */
int recorder__finish(struct recorder *rec, struct engine *e, const struct rtp_report *rep, const char *stop_reason);
/* On an error path: leave the file as it is (readable up to its last block) and free. */
int recorder__finish_abort(struct recorder *rec);
/* Why the recording stopped early, or NULL. */
const char *recorder__stopped(const struct recorder *rec);

#endif
