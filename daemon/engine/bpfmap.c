// SPDX-License-Identifier: LGPL-2.1-or-later
/* Helpers over libbpf's map calls that the engine's parts share. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "base/vec.h"
#include "engine/bpfmap.h"
#include "rtprof_abi.h"

/* Delete the entries of a hash map for which doomed() says so. Keys are collected during the walk and
 * deleted after it: deleting during get_next_key would restart it. doomed() may return <0 to stop. */
int bpfmap__delete_where(struct bpf_map *map, size_t key_size, size_t value_size,
			  int (*doomed)(const void *key, const void *value, void *ctx), void *ctx)
{
	uint8_t key[sizeof(struct rtp_err_path_key)], next[sizeof(struct rtp_err_path_key)], value[sizeof(struct rtp_thread)];
	uint8_t *prev = NULL, *keys = NULL;
	size_t n = 0, cap = 0;
	int r = 0;

	if (key_size > sizeof(key) || value_size > sizeof(value))
		return -EINVAL;
	while (bpf_map__get_next_key(map, prev, next, key_size) == 0) {
		memcpy(key, next, key_size);
		prev = key;
		if (bpf_map__lookup_elem(map, key, key_size, value, value_size, 0))
			continue;
		r = doomed(key, value, ctx);
		if (r < 0)
			break;
		if (!r)
			continue;
		if (n == cap && vec__reserve_raw((void **)&keys, &cap, n + 1, key_size)) {
			r = -ENOMEM;
			break;
		}
		memcpy(keys + n++ * key_size, key, key_size);
	}
	for (size_t i = 0; i < n; i++)
		(void)bpf_map__delete_elem(map, keys + i * key_size, key_size, 0);
	free(keys);
	return r < 0 ? r : 0;
}
