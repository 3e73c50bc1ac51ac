// SPDX-License-Identifier: LGPL-2.1-or-later
/* CPython code objects read from another process: the layout of each supported version (x86-64, from the DWARF
 * of CPython 3.10.13, 3.11.7, 3.12.1 and 3.13.0, and checked at run time against the interpreter's PyCode_Type),
 * str objects turned into UTF-8, and the two line-table formats: PEP 626's (3.10, Objects/lnotab_notes.txt) and
 * the location table of 3.11+ (Objects/locations.md). Every pointer, length and byte read is the target's: each
 * is checked or capped before it is used. */
#include "sys/pycode.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* PyObject's ob_type, PyVarObject's ob_size, PyBytesObject's ob_sval: the same in every version. */
#define OB_TYPE 8
#define OB_SIZE 16
#define BYTES_SVAL 32

/* PyASCIIObject: length, then the state bitfield (interned:2, kind:3, compact:1, ascii:1). */
#define STR_LENGTH 16
#define STR_STATE 32
#define STR_KIND(state) (((state) >> 2) & 7u)
#define STR_COMPACT (1u << 5)
#define STR_ASCII (1u << 6)
/* A name or file name longer than this is not one: the object is not what the layout says it is. */
#define STR_MAX_CHARS 4096
/* Characters read of a string: each takes at least one byte of UTF-8, and the longest output holds 255. */
#define STR_READ_CHARS 255

/* PyTypeObject and PyMemberDef (its tp_members array ends with a NULL name). */
#define TYPE_NAME 24
#define TYPE_BASICSIZE 32
#define TYPE_MEMBERS 240
#define MEMBER_SIZE 40
#define MEMBER_NAME 0
#define MEMBER_OFFSET 16
/* PyCode_Type has 12 to 16 members: a longer walk is not over a member array. */
#define MEMBERS_MAX 64
/* Longer than any member name we look for: a longer name matches none of them. */
#define MEMBER_NAME_MAX 32

/* The fields read all lie in the first bytes of a code object. */
#define CODE_HEAD_MAX 256
/* Reads of C strings stay within one page: the bytes past a string's page may be unmapped. */
#define PAGE_SIZE_MIN 4096

/* Location table entry codes (3.11+: _PyCodeLocationInfoKind). */
#define LOC_ONE_LINE0 10
#define LOC_ONE_LINE2 12
#define LOC_NO_COLUMNS 13
#define LOC_LONG 14
#define LOC_NONE 15
/* PEP 626 line delta that means "no line" (3.10). */
#define LT310_NO_LINE (-128)

static const struct pycode_layout layouts[] = {
	{ .minor = 10, .co_argcount = 16, .co_flags = 36, .co_firstlineno = 40, .co_filename = 104, .co_name = 112,
	  .co_qualname = 0, .co_linetable = 120, .code_basicsize = 176, .co_code_adaptive = 0,
	  .unicode_ascii_size = 48, .unicode_compact_size = 72 },
	{ .minor = 11, .co_argcount = 56, .co_flags = 48, .co_firstlineno = 72, .co_filename = 112, .co_name = 120,
	  .co_qualname = 128, .co_linetable = 136, .code_basicsize = 184, .co_code_adaptive = 184,
	  .unicode_ascii_size = 48, .unicode_compact_size = 72 },
	/* 3.12 dropped PyASCIIObject's wstr (PEP 623) */
	{ .minor = 12, .co_argcount = 52, .co_flags = 48, .co_firstlineno = 68, .co_filename = 112, .co_name = 120,
	  .co_qualname = 128, .co_linetable = 136, .code_basicsize = 192, .co_code_adaptive = 192,
	  .unicode_ascii_size = 40, .unicode_compact_size = 56 },
	{ .minor = 13, .co_argcount = 52, .co_flags = 48, .co_firstlineno = 68, .co_filename = 112, .co_name = 120,
	  .co_qualname = 128, .co_linetable = 136, .code_basicsize = 200, .co_code_adaptive = 200,
	  .unicode_ascii_size = 40, .unicode_compact_size = 56 },
};

int pycode__layout_for(unsigned int minor, struct pycode_layout *out)
{
	for (size_t i = 0; i < ARRAY_LEN(layouts); i++) {
		if (layouts[i].minor == minor) {
			*out = layouts[i];
			return 0;
		}
	}
	return -ENOTSUP;
}

/* Past the end of the last field read from a code object. */
static size_t code_head_len(const struct pycode_layout *L)
{
	uint32_t ends[] = { L->co_filename + 8, L->co_name + 8, L->co_qualname + 8, L->co_linetable + 8,
			    L->co_firstlineno + 4, L->co_argcount + 4, L->co_flags + 4 };
	size_t len = 0;

	for (size_t i = 0; i < ARRAY_LEN(ends); i++)
		if (ends[i] > len)
			len = ends[i];
	return len;
}

/* Fields past the object header and within CODE_HEAD_MAX; string sizes that hold the state field. A layout
 * comes from the table, but a caller may have built or changed it. */
static bool layout_ok(const struct pycode_layout *L)
{
	const uint32_t offsets[] = { L->co_filename, L->co_name, L->co_linetable, L->co_firstlineno,
				     L->co_argcount, L->co_flags };

	if (L->minor < 10 || L->minor > 13)
		return false;
	for (size_t i = 0; i < ARRAY_LEN(offsets); i++)
		if (offsets[i] < OB_SIZE || offsets[i] > CODE_HEAD_MAX - 8)
			return false;
	if (L->co_qualname && (L->co_qualname < OB_SIZE || L->co_qualname > CODE_HEAD_MAX - 8))
		return false;
	return L->unicode_ascii_size >= STR_STATE + 4 && L->unicode_ascii_size <= 128 &&
	       L->unicode_compact_size >= L->unicode_ascii_size && L->unicode_compact_size <= 128;
}

static uint64_t get_u64(const uint8_t *p, size_t off)
{
	uint64_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static int32_t get_i32(const uint8_t *p, size_t off)
{
	int32_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

/* Code points that would not print as themselves: C0 and C1 controls, DEL, surrogates, past Unicode. */
static bool printable(uint32_t cp)
{
	return cp >= 0x20 && !(cp >= 0x7f && cp < 0xa0) && !(cp >= 0xd800 && cp < 0xe000) && cp <= 0x10ffff;
}

static size_t utf8_encode(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* The str object at addr as UTF-8 into out (outlen >= 1): unprintable characters as '?', cut at a character
 * boundary. Only compact strings: code objects' names and file names are created that way. 0 or -errno. */
static int read_str(pycode_read_fn rd, void *ctx, const struct pycode_layout *L, uint64_t addr, char *out,
		    size_t outlen)
{
	uint8_t head[STR_STATE + 4];
	uint8_t chars[STR_READ_CHARS * 4];
	uint64_t data;
	int64_t length;
	uint32_t state, kind;
	size_t count, used = 0;
	int err;

	if (!addr)
		return -EINVAL;
	err = rd(ctx, addr, head, sizeof(head));
	if (err)
		return err;
	memcpy(&length, head + STR_LENGTH, sizeof(length));
	memcpy(&state, head + STR_STATE, sizeof(state));
	kind = STR_KIND(state);
	if (!(state & STR_COMPACT) || (kind != 1 && kind != 2 && kind != 4) || length < 0 || length >= STR_MAX_CHARS)
		return -EINVAL;
	if (state & STR_ASCII) {
		if (kind != 1)
			return -EINVAL;
		data = addr + L->unicode_ascii_size;
	} else {
		data = addr + L->unicode_compact_size;
	}
	count = (size_t)length;
	if (count > outlen - 1)
		count = outlen - 1;
	if (count > STR_READ_CHARS)
		count = STR_READ_CHARS;
	err = count ? rd(ctx, data, chars, count * kind) : 0;
	if (err)
		return err;
	for (size_t i = 0; i < count; i++) {
		char utf8[4];
		uint32_t cp;
		size_t n;

		if (kind == 1) {
			cp = chars[i];
		} else if (kind == 2) {
			uint16_t u;

			memcpy(&u, chars + i * 2, sizeof(u));
			cp = u;
		} else {
			memcpy(&cp, chars + i * 4, sizeof(cp));
		}
		if (!printable(cp) || ((state & STR_ASCII) && cp >= 0x80))
			cp = '?';
		n = utf8_encode(cp, utf8);
		if (used + n > outlen - 1)
			break;
		memcpy(out + used, utf8, n);
		used += n;
	}
	out[used] = '\0';
	return 0;
}

/* co_linetable, a bytes object, capped at PYCODE_LINETABLE_MAX. 0 or -errno; *table is NULL when empty. */
static int read_linetable(pycode_read_fn rd, void *ctx, uint64_t addr, uint8_t **table, size_t *len)
{
	uint8_t head[OB_SIZE + 8];
	uint8_t *buf;
	int64_t size;
	int err;

	if (!addr)
		return -EINVAL;
	err = rd(ctx, addr, head, sizeof(head));
	if (err)
		return err;
	memcpy(&size, head + OB_SIZE, sizeof(size));
	if (size < 0)
		return -EINVAL;
	if (size > PYCODE_LINETABLE_MAX)
		size = PYCODE_LINETABLE_MAX;
	if (size == 0) {
		*table = NULL;
		*len = 0;
		return 0;
	}
	buf = malloc((size_t)size);
	if (!buf)
		return -ENOMEM;
	err = rd(ctx, addr + BYTES_SVAL, buf, (size_t)size);
	if (err) {
		free(buf);
		return err;
	}
	*table = buf;
	*len = (size_t)size;
	return 0;
}

/* FNV-1a: a different function at the same address almost always differs in one of these. */
static uint32_t fingerprint(int32_t argcount, int32_t flags, int32_t firstlineno)
{
	const int32_t fields[] = { argcount, flags, firstlineno };
	const uint8_t *bytes = (const uint8_t *)fields;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(fields); i++)
		h = (h ^ bytes[i]) * 16777619u;
	return h;
}

int pycode__read(pycode_read_fn rd, void *ctx, const struct pycode_layout *L, uint64_t code, struct pycode_info *out)
{
	uint8_t head[CODE_HEAD_MAX];
	struct pycode_info info = { 0 };
	int32_t argcount, flags;
	int err;

	if (!layout_ok(L))
		return -EINVAL;
	err = rd(ctx, code, head, code_head_len(L));
	if (err)
		return err;
	if (L->code_type && get_u64(head, OB_TYPE) != L->code_type)
		return -EINVAL;
	argcount = get_i32(head, L->co_argcount);
	flags = get_i32(head, L->co_flags);
	info.firstlineno = get_i32(head, L->co_firstlineno);
	info.fingerprint = fingerprint(argcount, flags, info.firstlineno);
	err = read_str(rd, ctx, L, get_u64(head, L->co_qualname ? L->co_qualname : L->co_name), info.function,
		       sizeof(info.function));
	if (err)
		return err;
	err = read_str(rd, ctx, L, get_u64(head, L->co_filename), info.file, sizeof(info.file));
	if (err)
		return err;
	/* last: nothing read after it can fail and leave it to free */
	err = read_linetable(rd, ctx, get_u64(head, L->co_linetable), &info.linetable, &info.linetable_len);
	if (err)
		return err;
	*out = info;
	return 0;
}

void pycode__info_free(struct pycode_info *info)
{
	if (!info)
		return;
	free(info->linetable);
	info->linetable = NULL;
	info->linetable_len = 0;
}

/* A location table varint at t[*pos] within [0, end): 6-bit groups, least significant first, bit 6 "more".
 * Bits past 36 are dropped: no real delta needs them, and sums of capped values cannot overflow. */
static bool varint(const uint8_t *t, size_t end, size_t *pos, uint64_t *out)
{
	uint64_t val = 0;
	unsigned int shift = 0;
	uint8_t b;

	do {
		if (*pos >= end)
			return false;
		b = t[(*pos)++];
		if (shift < 36)
			val |= (uint64_t)(b & 63) << shift;
		shift += 6;
	} while (b & 64);
	*out = val;
	return true;
}

/* A computed line as pycode__line returns it: one out of int's range, or negative, is no line a table can say. */
static int line_or(int64_t line, int firstlineno)
{
	return line >= 0 && line <= INT_MAX ? (int)line : firstlineno;
}

/* 3.11+ (Objects/codeobject.c, advance()): each entry starts with a byte with bit 7 set and runs to the next;
 * the line delta is applied to the running line even by entries before the instruction. */
static int line_locations(const uint8_t *t, size_t len, int firstlineno, int64_t instr)
{
	int64_t line = firstlineno, unit = 0;
	size_t i = 0;

	if (instr < 0)
		instr = 0;
	while (i < len) {
		unsigned int code = (t[i] >> 3) & 15;
		int64_t units = (t[i] & 7) + 1;
		size_t next = i + 1, pos = i + 1;
		uint64_t delta;

		while (next < len && !(t[next] & 0x80))
			next++;
		if (code == LOC_NO_COLUMNS || code == LOC_LONG) {
			/* a cut entry: the lines from here on are unknown */
			if (!varint(t, next, &pos, &delta))
				return firstlineno;
			line += delta & 1 ? -(int64_t)(delta >> 1) : (int64_t)(delta >> 1);
		} else if (code >= LOC_ONE_LINE0 && code <= LOC_ONE_LINE2) {
			line += code - LOC_ONE_LINE0;
		}
		if (instr < unit + units)
			return code == LOC_NONE ? -1 : line_or(line, firstlineno);
		unit += units;
		i = next;
	}
	return firstlineno;
}

/* 3.10 (PEP 626, Objects/codeobject.c of 3.10): (byte delta, signed line delta) pairs. Entries of zero width
 * carry line deltas past 127 or -127; a range's line is the running line after its own delta. */
static int line_pep626(const uint8_t *t, size_t len, int firstlineno, int64_t instr)
{
	int64_t line = firstlineno;
	uint64_t addr = 0, target;

	/* f_lasti -1: the frame has not started; CPython's PyCode_Addr2Line says co_firstlineno */
	if (instr < 0 || instr > INT64_MAX / 2)
		return firstlineno;
	target = (uint64_t)instr * 2;
	for (size_t i = 0; i + 1 < len; i += 2) {
		unsigned int bytes = t[i];
		int delta = (int8_t)t[i + 1];

		if (delta != LT310_NO_LINE)
			line += delta;
		if (target < addr + bytes)
			return delta == LT310_NO_LINE ? -1 : line_or(line, firstlineno);
		addr += bytes;
	}
	return firstlineno;
}

int pycode__line(const struct pycode_info *info, unsigned int minor, int64_t instr)
{
	if (minor == 10)
		return line_pep626(info->linetable, info->linetable_len, info->firstlineno, instr);
	if (minor >= 11 && minor <= 13)
		return line_locations(info->linetable, info->linetable_len, info->firstlineno, instr);
	return info->firstlineno;
}

static int mismatch(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int mismatch(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -EPROTO;
}

/* A C string at addr into buf (size >= 2), terminated; a longer one is cut. 0 or -errno. */
static int read_cstr(pycode_read_fn rd, void *ctx, uint64_t addr, char *buf, size_t size)
{
	size_t used = 0;

	while (used < size - 1) {
		size_t chunk = PAGE_SIZE_MIN - (size_t)((addr + used) % PAGE_SIZE_MIN);
		int err;

		if (chunk > size - 1 - used)
			chunk = size - 1 - used;
		err = rd(ctx, addr + used, buf + used, chunk);
		if (err)
			return err;
		if (memchr(buf + used, '\0', chunk))
			return 0;
		used += chunk;
	}
	buf[size - 1] = '\0';
	return 0;
}

int pycode__verify_layout(pycode_read_fn rd, void *ctx, const struct pycode_layout *L, char *why, size_t whylen)
{
	const struct {
		const char *name;
		uint32_t offset; /* 0: the version has no such member */
	} expected[] = {
		{ "co_argcount", L->co_argcount }, { "co_flags", L->co_flags },
		{ "co_firstlineno", L->co_firstlineno }, { "co_filename", L->co_filename },
		{ "co_name", L->co_name }, { "co_qualname", L->co_qualname },
		{ "co_linetable", L->co_linetable },
	};
	bool seen[ARRAY_LEN(expected)] = { false };
	uint8_t type[TYPE_MEMBERS + 8];
	char name[MEMBER_NAME_MAX];
	uint64_t members;
	int64_t basicsize;
	size_t n;
	int err;

	if (!layout_ok(L) || !L->code_type)
		return -EINVAL;
	err = rd(ctx, L->code_type, type, sizeof(type));
	if (err)
		return err;
	err = read_cstr(rd, ctx, get_u64(type, TYPE_NAME), name, sizeof(name));
	if (err)
		return err;
	if (strcmp(name, "code") != 0)
		return mismatch(why, whylen, "the type at 0x%llx is not \"code\"", (unsigned long long)L->code_type);
	memcpy(&basicsize, type + TYPE_BASICSIZE, sizeof(basicsize));
	if (basicsize != L->code_basicsize)
		return mismatch(why, whylen, "tp_basicsize is %lld, not %u", (long long)basicsize, L->code_basicsize);
	if (L->minor >= 11 && basicsize != L->co_code_adaptive)
		return mismatch(why, whylen, "tp_basicsize is %lld, co_code_adaptive %u", (long long)basicsize,
				L->co_code_adaptive);
	members = get_u64(type, TYPE_MEMBERS);
	if (!members)
		return mismatch(why, whylen, "code has no tp_members");
	for (n = 0; n < MEMBERS_MAX; n++) {
		uint8_t member[MEMBER_SIZE];
		uint64_t name_addr;
		int64_t offset;

		err = rd(ctx, members + n * MEMBER_SIZE, member, sizeof(member));
		if (err)
			return err;
		name_addr = get_u64(member, MEMBER_NAME);
		if (!name_addr)
			break;
		memcpy(&offset, member + MEMBER_OFFSET, sizeof(offset));
		err = read_cstr(rd, ctx, name_addr, name, sizeof(name));
		if (err)
			return err;
		for (size_t i = 0; i < ARRAY_LEN(expected); i++) {
			if (strcmp(name, expected[i].name) != 0)
				continue;
			if (!expected[i].offset)
				return mismatch(why, whylen, "%s exists (at %lld)", name, (long long)offset);
			if (offset != expected[i].offset)
				return mismatch(why, whylen, "%s is at %lld, not %u", name, (long long)offset,
						expected[i].offset);
			seen[i] = true;
		}
	}
	if (n == MEMBERS_MAX)
		return mismatch(why, whylen, "tp_members has no end within %d entries", MEMBERS_MAX);
	for (size_t i = 0; i < ARRAY_LEN(expected); i++)
		if (expected[i].offset && !seen[i])
			return mismatch(why, whylen, "no member %s", expected[i].name);
	return 0;
}

int pycode__read_pid(void *ctx, uint64_t addr, void *buf, size_t len)
{
	pid_t pid = *(const pid_t *)ctx;
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = len };
	ssize_t n;

	if (len == 0)
		return 0;
	n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}
