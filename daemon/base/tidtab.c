// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/vec.h"
#include "base/tidtab.h"

static size_t slot_of(uint32_t tid, size_t cap)
{
	return (tid * 2654435761u) & (cap - 1); /* Knuth's multiplicative hash; cap is a power of 2 */
}

static int index_grow(struct tidtab *t)
{
	size_t cap = t->index_cap ? t->index_cap * 2 : 1024;
	uint32_t *n = calloc(cap, sizeof(*n));

	if (!n)
		return -1;
	for (size_t i = 0; i < t->n; i++) {
		size_t h = slot_of(*(const uint32_t *)tidtab__at(t, i), cap);

		while (n[h])
			h = (h + 1) & (cap - 1);
		n[h] = (uint32_t)i + 1;
	}
	free(t->index);
	t->index = n;
	t->index_cap = cap;
	return 0;
}

void *tidtab__at(const struct tidtab *t, size_t i)
{
	return (char *)t->items + i * t->item_size;
}

void *tidtab__find(const struct tidtab *t, uint32_t tid)
{
	if (!tid || !t->index_cap)
		return NULL;
	for (size_t h = slot_of(tid, t->index_cap); t->index[h]; h = (h + 1) & (t->index_cap - 1)) {
		void *item = tidtab__at(t, t->index[h] - 1);

		if (*(const uint32_t *)item == tid)
			return item;
	}
	return NULL;
}

void *tidtab__get(struct tidtab *t, uint32_t tid)
{
	void *item;
	size_t h;

	if (!tid)
		return NULL;
	if (t->n * 2 >= t->index_cap && index_grow(t))
		return NULL;
	for (h = slot_of(tid, t->index_cap); t->index[h]; h = (h + 1) & (t->index_cap - 1)) {
		item = tidtab__at(t, t->index[h] - 1);
		if (*(const uint32_t *)item == tid)
			return item;
	}
	if (t->max && t->n >= t->max) {
		t->dropped++;
		return NULL;
	}
	if (vec__reserve_raw(&t->items, &t->cap, t->n + 1, t->item_size))
		return NULL;
	t->index[h] = (uint32_t)t->n + 1;
	item = tidtab__at(t, t->n++);
	memset(item, 0, t->item_size);
	memcpy(item, &tid, sizeof(tid));
	return item;
}

int tidtab__lookup(struct tidtab *t, uint32_t tid, void **out)
{
	uint64_t dropped = t->dropped;

	*out = tidtab__get(t, tid);
	return *out || !tid || t->dropped != dropped ? 0 : -ENOMEM;
}

void tidtab__free(struct tidtab *t)
{
	free(t->items);
	free(t->index);
	t->items = NULL;
	t->index = NULL;
	t->n = t->cap = t->index_cap = 0;
	t->dropped = 0;
}
