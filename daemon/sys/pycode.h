/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CPython code objects (3.10 to 3.13) read from another process's memory: a frame's code address and
 * instruction index, as the BPF stack walker records them, turned into function, file and line.
 * Everything read from the target is untrusted: lengths are capped, strings checked, tables bounded. */
#ifndef RTPROF_PYCODE_H
#define RTPROF_PYCODE_H

#include <stddef.h>
#include <stdint.h>

/* Longest co_linetable kept; the lines of instructions past it are unknown (co_firstlineno). */
#define PYCODE_LINETABLE_MAX (64 * 1024)

/* How one interpreter lays out what we read (x86-64). Filled from a per-minor-version table, then checked
 * against the interpreter's own PyCode_Type by pycode__verify_layout. */
struct pycode_layout {
	unsigned int minor;            /* 10..13 (3.x) */
	uint32_t co_filename, co_name, co_linetable;
	uint32_t co_qualname;          /* 0 on 3.10, which has none: co_name is used */
	uint32_t co_firstlineno, co_argcount, co_flags;
	uint32_t code_basicsize;       /* PyCode_Type.tp_basicsize */
	uint32_t co_code_adaptive;     /* where the instructions start (= code_basicsize) on 3.11+; 0 on 3.10 */
	uint32_t unicode_ascii_size;   /* sizeof(PyASCIIObject): a compact ASCII string's chars follow it */
	uint32_t unicode_compact_size; /* sizeof(PyCompactUnicodeObject): the same for other compact strings */
	uint64_t code_type;            /* address of PyCode_Type in the process; 0: objects' types are not checked */
};

/* Read len bytes of the process at addr into buf: 0 or -errno (a short read is -EFAULT). */
typedef int (*pycode_read_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

/* The layout of CPython 3.<minor>, code_type left 0. 0, or -ENOTSUP for a version without one. */
int pycode__layout_for(unsigned int minor, struct pycode_layout *out);

/* Check L against the interpreter's PyCode_Type at L->code_type: its name, tp_basicsize and the offsets its
 * tp_members give co_argcount, co_flags, co_firstlineno, co_filename, co_name, co_qualname, co_linetable.
 * 0; -EPROTO with the first difference in why (may be NULL); -EINVAL without code_type or with offsets past
 * a code object's first 256 bytes; a read's -errno. */
int pycode__verify_layout(pycode_read_fn rd, void *ctx, const struct pycode_layout *L, char *why, size_t whylen);

struct pycode_info {
	char function[160];   /* co_qualname (3.11+) or co_name (3.10): UTF-8, control characters as '?' */
	char file[256];       /* co_filename, the same way; both truncated at a character boundary */
	int firstlineno;
	uint32_t fingerprint; /* of co_argcount, co_flags, co_firstlineno: tells a reused address apart */
	uint8_t *linetable;   /* co_linetable, owned (pycode__info_free); at most PYCODE_LINETABLE_MAX bytes */
	size_t linetable_len;
};

/* Read the code object at address code. 0 or -errno: -EINVAL if it is not a code object (wrong type, a string
 * that is not a compact str, a negative length) or L is out of bounds, -EFAULT if it points at unmapped memory,
 * -ESRCH if the process is gone, -ENOMEM. out is untouched on failure. */
int pycode__read(pycode_read_fn rd, void *ctx, const struct pycode_layout *L, uint64_t code, struct pycode_info *out);
/* Free what pycode__read allocated (info may be NULL; its fields are reset). */
void pycode__info_free(struct pycode_info *info);

/* The source line of instruction `instr` (code units of 2 bytes from the first instruction) of a CPython 3.<minor>
 * code object, from its line table: -1 where the table says "no line", firstlineno where it says nothing (past
 * its end, a cut or unknown table). instr < 0: 3.11+ walkers record the unit before the first instruction
 * (counted as 0); 3.10's f_lasti of -1 is a frame not yet started (firstlineno, as CPython says). Never reads
 * past linetable_len. */
int pycode__line(const struct pycode_info *info, unsigned int minor, int64_t instr);

/* A pycode_read_fn over process_vm_readv: ctx points to the pid_t (needs ptrace access to it). */
int pycode__read_pid(void *ctx, uint64_t addr, void *buf, size_t len);

#endif
