/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal to rtprofd: runtime detection on a thread of its own (watchq.c), for watch mode and attaches. */
#ifndef RTPROF_WATCHQ_H
#define RTPROF_WATCHQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "model/runtime_info.h"

/* Candidates waiting, and results not yet taken: past it, candidates are dropped. */
#define WATCHQ_MAX 256

struct watchq_job {
	pid_t pid;
	int pidfd; /* taken when the candidate was seen: the caller's, handed back with the result */
	void *owner;        /* NULL: watch mode's candidate; else a client's attach, of which it is pid `index` */
	unsigned int index;
	int err;   /* of runtime__detect: -ETIMEDOUT, -EFBIG past a file's limits */
	struct rtp_runtime_info rt;
	uint64_t took_ns;
	int rt_mode;            /* an attach's: the runtime metrics it asks for (enum engine_rt_mode) */
	bool stacks;            /* an attach's: it samples stacks */
	struct rt_ready *ready; /* an attach's: its runtime probes, made by the queue's `ready` hook; NULL */
};

struct rt_ready;
struct watchq;

/* Hooks for an attach's job, its runtime found: make its runtime probes on the queue's thread (job->ready)
 * and read ahead what its stacks need, and free the probes of a job the queue drops at its free. Either may
 * be NULL. */
struct watchq_hooks {
	void (*ready)(void *ctx, struct watchq_job *job);
	void (*drop)(void *ctx, struct watchq_job *job);
	void *ctx;
};

int watchq__new(struct watchq **out, const struct watchq_hooks *hooks);
void watchq__free(struct watchq *q); /* closes the pidfds of the jobs it still holds, drops their probes */
/* Readable when results wait. */
int watchq__fd(const struct watchq *q);
/* Queue a candidate; false when the queue is full (the caller keeps pidfd). */
bool watchq__push(struct watchq *q, pid_t pid, int pidfd);
/* Queue a job of an attach (pidfd: -1, the owner's); false when the queue is full. */
bool watchq__push_job(struct watchq *q, const struct watchq_job *job);
/* Jobs the queue takes before it is full. */
size_t watchq__room(struct watchq *q);
/* Whether pid waits for its analysis as a watch mode candidate. */
bool watchq__queued(struct watchq *q, pid_t pid);
/* Up to max results, oldest first. */
size_t watchq__take(struct watchq *q, struct watchq_job *out, size_t max);

#endif
