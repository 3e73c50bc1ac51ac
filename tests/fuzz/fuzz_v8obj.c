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

#include "fuzz_mem.h"
#include "sys/v8obj.h"

#define FUZZ_HEADER 3

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct v8_layout L;
	struct v8_func out, sentinel;
	struct fuzz_mem mem;
	uint16_t fp;
	int r;

	if (size < FUZZ_HEADER)
		return 0;
	L = fuzz_v8_layout(data[0] & 1);
	memcpy(&fp, data + 1, sizeof(fp));
	mem.bytes = data + FUZZ_HEADER;
	mem.len = size - FUZZ_HEADER;
	memset(&sentinel, 0x5a, sizeof(sentinel));
	out = sentinel;
	r = v8obj__read_function(fuzz_read, &mem, &L, FUZZ_BASE + 1, data[0] & 2 ? fp : -1, NULL, &out);
	/* again with the scripts' line breaks kept: twice, the second from what the first kept */
	{
		struct v8_lines lc = { .next = 0 };
		struct v8_func again;

		for (int i = 0; i < 2; i++)
			if (v8obj__read_function(fuzz_read, &mem, &L, FUZZ_BASE + 1, data[0] & 2 ? fp : -1, &lc,
						 &again) != r ||
			    (r == 0 && (strcmp(again.name, out.name) || again.line != out.line)))
				__builtin_trap();
		v8obj__lines_free(&lc);
	}
	if (r == 0) {
		if (!printable(out.name, sizeof(out.name)) || !out.name[0] || !printable(out.file, sizeof(out.file)) ||
		    out.line < 0)
			__builtin_trap();
	} else if (memcmp(&out, &sentinel, sizeof(out)) != 0) {
		__builtin_trap(); /* a failed read leaves its output as it was */
	}
	return 0;
}
