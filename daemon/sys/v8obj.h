/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* V8's objects (node 20, 22 and 24: V8 11.3, 12.4 and 13.6, x86-64, no pointer compression) read from another
 * process's memory: a JavaScript frame's SharedFunctionInfo, as the BPF stack walker records it, turned into
 * the function's name, its script and the line where it starts.
 *
 * The layout comes from node itself: the v8dbg_* constants it exports for post-mortem debuggers (in .symtab
 * where node 24 hides V8's symbols). What they do not give -- where a ScopeInfo keeps the function's name --
 * follows from the counts they do give, and every slot on the way is checked for the kind of value it must
 * hold: an object that does not read as it must gives no name, never a wrong one. Everything read from the
 * target is untrusted: lengths are capped, strings checked, recursion bounded. */
#ifndef RTPROF_V8OBJ_H
#define RTPROF_V8OBJ_H

#include <stddef.h>
#include <stdint.h>

#include "sys/pycode.h" /* pycode_read_fn */

/* What is read of V8's objects, from node's v8dbg_* constants. Offsets are from an object's start (its
 * address less the heap-object tag). */
struct v8_layout {
	uint32_t fp_function, fp_context;    /* below a JavaScript frame's frame pointer */
	uint32_t fn_shared;                  /* JSFunction -> SharedFunctionInfo */
	uint32_t sfi_name;                   /* SharedFunctionInfo -> name_or_scope_info (String or ScopeInfo) */
	uint32_t sfi_script;                 /* SharedFunctionInfo -> script (or script_or_debug_info) */
	uint32_t script_name, script_line_ends, script_source;
	uint32_t map, map_instance_type;     /* HeapObject -> Map; Map -> instance_type (uint16) */
	uint32_t string_length;              /* String -> length (int32) */
	uint32_t seq_one_chars, seq_two_chars, cons_first, cons_second, thin_actual;
	uint32_t array_length, array_data;   /* FixedArrayBase -> length (Smi); FixedArray -> its elements */
	uint32_t si_context_locals;          /* ScopeInfo: the slot of the context locals' count */
	uint32_t si_first_vars;              /* ScopeInfo: the first slot of the variable part */
	uint16_t type_sfi, type_scope_info, type_script, type_oddball, first_nonstring;
	uint16_t str_repr_mask, str_seq, str_cons, str_thin, str_enc_mask, str_one_byte;
};

/* The layout of the node executable at `exe` (a path such as /proc/PID/exe; root for its debug files as
 * symbols__resolve takes it). 0, or -ENOENT/-EPROTO with the reason in why: a constant missing, or a value
 * outside what this reader was written for. */
int v8obj__layout(const char *exe, const char *root, struct v8_layout *L, char *why, size_t whylen);

/* Where V8's interpreter keeps a frame's context (or type marker), bytecode array and bytecode offset below
 * its frame pointer (v8dbg_off_fp_*, positive: multiples of 8 up to 64), into off. 0, -ENOENT (not exported),
 * -EPROTO (out of that range). */
int v8obj__frame_offsets(const char *exe, const char *root, uint8_t off[3]);

struct v8_func {
	char name[160]; /* the function's name, else the name V8 inferred for it, else "(anonymous)": UTF-8,
			 * control characters as '?' */
	char file[256]; /* its script's name; "" for none (a builtin) */
	int line;       /* the 1-based line where it starts; 0 unknown */
};

/* Longest source read to count lines when the script has no line ends yet. */
#define V8OBJ_SOURCE_MAX (4u << 20)

/* The line ends of the last scripts whose source was read for them (V8 had made none): a script's source is
 * read once, not once a function. Zeroed to start; v8obj__lines_free releases it. */
#define V8OBJ_LINES_CACHED 4

struct v8_lines {
	struct {
		uint64_t source; /* the source string's address and length: the script's, as read */
		int32_t len;
		uint32_t *ends;  /* the positions of its line breaks, ascending */
		size_t n;
	} s[V8OBJ_LINES_CACHED];
	unsigned int next;
};

void v8obj__lines_free(struct v8_lines *lc);

/* Read the SharedFunctionInfo at sfi (a tagged pointer). 0, or -errno: -EINVAL when it is not one or does not
 * read as one must (its name unknown), -EFAULT unmapped memory, -ESRCH the process gone. out is untouched on
 * failure. fingerprint: bits 3-18 of its name_or_scope_info as the walker read them (its frame's v8_sfi >>
 * 48), -1 for none: a different value now is another function at a reused address (-ESTALE). lc: the scripts'
 * line ends read so far (may be NULL: a script's source is then read for each function). */
int v8obj__read_function(pycode_read_fn rd, void *ctx, const struct v8_layout *L, uint64_t sfi, int fingerprint,
			 struct v8_lines *lc, struct v8_func *out);

#endif
