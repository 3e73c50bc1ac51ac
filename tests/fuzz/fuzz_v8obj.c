// SPDX-License-Identifier: LGPL-2.1-or-later
/* libFuzzer target: V8's objects (sys/v8obj.c). The input is a header and a memory image:
 *   byte 0: bit 0 the layout (0: node 20's and 22's, ScopeInfo positions after the names; 1: node 24's,
 *   positions first), bit 1 a fingerprint is given; bytes 1-2: the fingerprint (uint16, little-endian);
 *   the rest: the target's memory at FUZZ_BASE, with the SharedFunctionInfo at its start.
 * The seeds (gen_v8obj_seeds.py) lay out a SharedFunctionInfo and what it points to (maps, ScopeInfo,
 * strings, Script, line ends, source) as node 20's and node 24's V8 do, with the constants node exports. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sys/v8obj.h"

#define FUZZ_BASE 0x10000ull
#define FUZZ_HEADER 3

struct fuzz_mem {
	const uint8_t *bytes;
	size_t len;
};

static int fuzz_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	const struct fuzz_mem *m = ctx;

	if (addr < FUZZ_BASE || addr - FUZZ_BASE > m->len || len > m->len - (addr - FUZZ_BASE))
		return -EFAULT;
	memcpy(buf, m->bytes + (addr - FUZZ_BASE), len);
	return 0;
}

/* Terminated within its buffer, no control characters: what v8obj__read_function promises. */
static bool printable(const char *s, size_t size)
{
	size_t len = strnlen(s, size);

	if (len == size)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((uint8_t)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* node 20's layout (node 24's differs in the ScopeInfo's first variable slot and the name field's offset) */
static const struct v8_layout node20 = {
	.fp_function = 16, .fp_context = 8, .fn_shared = 24, .sfi_name = 16, .sfi_script = 32,
	.script_name = 16, .script_line_ends = 56, .script_source = 8, .map = 0, .map_instance_type = 12,
	.string_length = 12, .seq_one_chars = 16, .seq_two_chars = 16, .cons_first = 16, .cons_second = 24,
	.thin_actual = 16, .array_length = 8, .array_data = 16, .si_context_locals = 2, .si_first_vars = 3,
	.type_sfi = 262, .type_scope_info = 261, .type_script = 167, .type_oddball = 131, .first_nonstring = 128,
	.str_repr_mask = 7, .str_seq = 0, .str_cons = 1, .str_thin = 5, .str_enc_mask = 8, .str_one_byte = 8,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct v8_layout L = node20;
	struct v8_func out, sentinel;
	struct fuzz_mem mem;
	uint16_t fp;
	int r;

	if (size < FUZZ_HEADER)
		return 0;
	if (data[0] & 1) {
		L.si_first_vars = 5;
		L.sfi_name = 24;
		L.sfi_script = 40;
	}
	memcpy(&fp, data + 1, sizeof(fp));
	mem.bytes = data + FUZZ_HEADER;
	mem.len = size - FUZZ_HEADER;
	memset(&sentinel, 0x5a, sizeof(sentinel));
	out = sentinel;
	r = v8obj__read_function(fuzz_read, &mem, &L, FUZZ_BASE + 1, data[0] & 2 ? fp : -1, &out);
	if (r == 0) {
		if (!printable(out.name, sizeof(out.name)) || !out.name[0] || !printable(out.file, sizeof(out.file)) ||
		    out.line < 0)
			__builtin_trap();
	} else if (memcmp(&out, &sentinel, sizeof(out)) != 0) {
		__builtin_trap(); /* a failed read leaves its output as it was */
	}
	return 0;
}
