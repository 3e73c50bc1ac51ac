/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* For the fuzz targets (and unit tests) that read a process's memory: a memory image at FUZZ_BASE, read as
 * the target's memory would be (pycode_read_fn), with V8's layout as node 20 and node 24 lay out the objects
 * the images of fuzz_v8obj hold (gen_v8obj_seeds.py). */
#ifndef RTPROF_FUZZ_MEM_H
#define RTPROF_FUZZ_MEM_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sys/v8obj.h"

#define FUZZ_BASE 0x10000ull

struct fuzz_mem {
	const uint8_t *bytes;
	size_t len;
};

/* The image as memory: anything outside it is unmapped. */
static inline int fuzz_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	const struct fuzz_mem *m = ctx;

	if (addr < FUZZ_BASE || addr - FUZZ_BASE > m->len || len > m->len - (addr - FUZZ_BASE))
		return -EFAULT;
	memcpy(buf, m->bytes + (addr - FUZZ_BASE), len);
	return 0;
}

/* V8's layout of a fuzz_v8obj image: node 20's constants (v8dbg_*), node 24's where they differ (node24). */
static inline struct v8_layout fuzz_v8_layout(int node24)
{
	struct v8_layout L = {
		.fp_function = 16, .fp_context = 8, .fn_shared = 24, .sfi_name = 16, .sfi_script = 32,
		.script_name = 16, .script_line_ends = 56, .script_source = 8, .map = 0, .map_instance_type = 12,
		.string_length = 12, .seq_one_chars = 16, .seq_two_chars = 16, .cons_first = 16, .cons_second = 24,
		.thin_actual = 16, .array_length = 8, .array_data = 16, .si_context_locals = 2, .si_first_vars = 3,
		.type_sfi = 262, .type_scope_info = 261, .type_script = 167, .type_oddball = 131,
		.first_nonstring = 128, .str_repr_mask = 7, .str_seq = 0, .str_cons = 1, .str_thin = 5,
		.str_enc_mask = 8, .str_one_byte = 8,
	};

	if (node24) {
		L.si_first_vars = 5; /* the ScopeInfo's start and end before its variables */
		L.sfi_name = 24;
		L.sfi_script = 40;
	}
	return L;
}

#endif
