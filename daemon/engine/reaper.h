/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal to the engine: uprobe links destroyed off the caller's thread (reaper.c). */
#ifndef RTPROF_REAPER_H
#define RTPROF_REAPER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct bpf_link;

struct reaper {
	struct bpf_link **links; /* handed over, not yet flushed; NULL for a raw link fd */
	bool *usdt;              /* links[i] is a USDT link */
	int *fds;                /* links[i] NULL: a link's fd (a multi-uprobe link), to close */
	size_t n, cap;
	pthread_mutex_t lock;
	pthread_cond_t done;
	unsigned int running; /* batches still destroying */
};

void reaper__init(struct reaper *r);
/* Take a link to destroy at the next flush; usdt: made by bpf_program__attach_usdt. */
void reaper__add(struct reaper *r, struct bpf_link *link, bool usdt);
/* The same for a link known by its fd alone. */
void reaper__add_fd(struct reaper *r, int fd);
/* Destroy what was handed over, on a thread of its own; returns at once. */
void reaper__flush(struct reaper *r);
/* Flush, then wait until every batch is done (before the BPF object is closed). */
void reaper__wait(struct reaper *r);
void reaper__fini(struct reaper *r);
/* Held around bpf_program__attach_usdt: a batch may be destroying USDT links of the same object. */
void reaper__usdt_lock(void);
void reaper__usdt_unlock(void);

#endif
