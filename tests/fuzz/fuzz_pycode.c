// SPDX-License-Identifier: LGPL-2.1-or-later
/* libFuzzer target: CPython code objects (sys/pycode.c). The input is a header and a memory image:
 *   byte 0: bits 0-1 the minor version - 10, bit 2 check the code object's type;
 *   bytes 1-4: an instruction index (int32, little-endian); 5-8: a first line (int32); 9-10: where PyCode_Type
 *   is in the image (uint16);
 *   the rest: the target's memory at FUZZ_BASE, with the code object at its start.
 * The rest is also taken as a bare line table for pycode__line: it ends where libFuzzer's copy of the input
 * ends, so reading past it shows. The seeds are a code object of each version copied out of a running
 * interpreter with ctypes (its type, member array, strings and line table after it, pointers moved to
 * FUZZ_BASE), and bare line tables of each version. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_mem.h"
#include "sys/pycode.h"

#define FUZZ_HEADER 11

/* Terminated within its buffer, well-formed UTF-8 of printable characters: what pycode__read promises. */
static bool printable_utf8(const char *s, size_t size)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t len = strnlen(s, size);

	if (len == size)
		return false;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n;

		if (p[i] < 0x80) {
			cp = p[i];
			n = 1;
		} else if ((p[i] & 0xe0) == 0xc0) {
			cp = p[i] & 0x1f;
			n = 2;
		} else if ((p[i] & 0xf0) == 0xe0) {
			cp = p[i] & 0x0f;
			n = 3;
		} else if ((p[i] & 0xf8) == 0xf0) {
			cp = p[i] & 0x07;
			n = 4;
		} else {
			return false;
		}
		if (i + n > len)
			return false;
		for (size_t k = 1; k < n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || (cp >= 0xd800 && cp < 0xe000) || cp > 0x10ffff ||
		    (n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000))
			return false;
		i += n;
	}
	return true;
}

static void check_line(int line, int firstlineno)
{
	if (line < -1 && line != firstlineno)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pycode_info table = { 0 }, info, sentinel;
	struct pycode_layout L;
	struct fuzz_mem mem;
	unsigned int minor;
	int32_t instr, firstlineno;
	uint16_t type_off;
	char why[128];

	if (size < FUZZ_HEADER)
		return 0;
	minor = 10 + (data[0] & 3);
	memcpy(&instr, data + 1, sizeof(instr));
	memcpy(&firstlineno, data + 5, sizeof(firstlineno));
	memcpy(&type_off, data + 9, sizeof(type_off));
	mem.bytes = data + FUZZ_HEADER;
	mem.len = size - FUZZ_HEADER;

	table.linetable = mem.len ? (uint8_t *)mem.bytes : NULL;
	table.linetable_len = mem.len;
	table.firstlineno = firstlineno;
	check_line(pycode__line(&table, minor, instr), firstlineno);
	check_line(pycode__line(&table, minor, -1), firstlineno);

	if (pycode__layout_for(minor, &L) != 0)
		__builtin_trap();
	L.code_type = data[0] & 4 ? FUZZ_BASE + type_off : 0;
	memset(&sentinel, 0x5a, sizeof(sentinel));
	info = sentinel;
	if (pycode__read(fuzz_read, &mem, &L, FUZZ_BASE, &info) == 0) {
		if (!printable_utf8(info.function, sizeof(info.function)) || !printable_utf8(info.file, sizeof(info.file)) ||
		    info.linetable_len > PYCODE_LINETABLE_MAX || info.linetable_len > mem.len ||
		    !info.linetable != !info.linetable_len)
			__builtin_trap();
		check_line(pycode__line(&info, minor, instr), info.firstlineno);
		pycode__info_free(&info);
	} else if (memcmp(&info, &sentinel, sizeof(info)) != 0) {
		/* a failed read leaves its output as it was */
		__builtin_trap();
	}

	L.code_type = FUZZ_BASE + type_off;
	why[0] = '\0';
	if (pycode__verify_layout(fuzz_read, &mem, &L, why, sizeof(why)) == -EPROTO && !memchr(why, '\0', sizeof(why)))
		__builtin_trap();
	return 0;
}
