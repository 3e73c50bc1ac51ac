/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers over libbpf's map calls that the engine's parts share. Not part of the engine's API. */
#ifndef RTPROF_BPFMAP_H
#define RTPROF_BPFMAP_H

#include <stddef.h>

struct bpf_map;

/* Delete the entries of a BPF hash map for which doomed() says so. Keys up to 64 bytes, values up to a
 * struct rtp_thread. doomed() may return <0 to stop. 0 or -errno. */
int bpfmap__delete_where(struct bpf_map *map, size_t key_size, size_t value_size,
			 int (*doomed)(const void *key, const void *value, void *ctx), void *ctx);

#endif
