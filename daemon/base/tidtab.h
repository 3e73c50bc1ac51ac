/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A table of per-thread records found by tid: an array (in order of first sight) with an open-addressing
 * index. Records are item_size bytes and start with a uint32_t tid. */
#ifndef RTPROF_TIDTAB_H
#define RTPROF_TIDTAB_H

#include <stddef.h>
#include <stdint.h>

struct tidtab {
	void *items;
	size_t item_size, n, cap;
	uint32_t *index; /* slot holds item index + 1; 0 = empty */
	size_t index_cap;
};

#define TIDTAB_INIT(type) { .item_size = sizeof(type) }

/* The record of tid, created zeroed (but its tid) on first sight; NULL for tid 0 or out of memory.
 * Valid until the next call that creates a record. */
void *tidtab__get(struct tidtab *t, uint32_t tid);
/* The i-th record, in order of first sight. */
void *tidtab__at(const struct tidtab *t, size_t i);
void tidtab__free(struct tidtab *t);

#endif
