/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A table of per-thread records found by tid: an array (in order of first sight) with an open-addressing
 * index. Records are item_size bytes and start with a uint32_t tid. A table given a `max` holds at most
 * that many: the lookups of other tids are refused and counted in `dropped`. */
#ifndef RTPROF_TIDTAB_H
#define RTPROF_TIDTAB_H

#include <stddef.h>
#include <stdint.h>

struct tidtab {
	void *items;
	size_t item_size, n, cap;
	uint32_t *index; /* slot holds item index + 1; 0 = empty */
	size_t index_cap;
	size_t max;       /* 0: no limit */
	uint64_t dropped; /* lookups of a new tid refused: the table held `max` records */
};

#define TIDTAB_INIT(type) { .item_size = sizeof(type) }
#define TIDTAB_INIT_MAX(type, limit) { .item_size = sizeof(type), .max = (limit) }

/* The record of tid, created zeroed (but its tid) on first sight; NULL for tid 0, out of memory, or a new
 * tid when the table is full (counted). Valid until the next call that creates a record. */
void *tidtab__get(struct tidtab *t, uint32_t tid);
/* Like tidtab__get, as 0 or -ENOMEM: *out NULL for tid 0 or a tid the full table refused. */
int tidtab__lookup(struct tidtab *t, uint32_t tid, void **out);
/* The record of tid, or NULL: never creates one. */
void *tidtab__find(const struct tidtab *t, uint32_t tid);
/* The i-th record, in order of first sight. */
void *tidtab__at(const struct tidtab *t, size_t i);
void tidtab__free(struct tidtab *t);

#endif
