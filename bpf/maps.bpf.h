/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Map helpers shared by the BPF programs. */
#ifndef RTPROF_MAPS_BPF_H
#define RTPROF_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <asm-generic/errno-base.h>

/* Insert *init at key, absent at the caller's lookup, and return the value there: another CPU's when it
 * inserted one in between. NULL when the map is full. */
static __always_inline void *map_try_init(void *map, const void *key, const void *init)
{
	long err = bpf_map_update_elem(map, key, init, BPF_NOEXIST);

	if (err && err != -EEXIST)
		return NULL;
	return bpf_map_lookup_elem(map, key);
}

/* The value at key, inserted as *init first when absent. */
static __always_inline void *map_lookup_or_try_init(void *map, const void *key, const void *init)
{
	void *val = bpf_map_lookup_elem(map, key);

	return val ? val : map_try_init(map, key, init);
}

#endif /* RTPROF_MAPS_BPF_H */
