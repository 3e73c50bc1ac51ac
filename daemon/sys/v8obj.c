// SPDX-License-Identifier: LGPL-2.1-or-later
/* V8's objects read from another process's memory: see v8obj.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/vec.h"
#include "sys/elffile.h"
#include "sys/symbols.h"
#include "sys/v8obj.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Context locals up to this many have their names inlined in a ScopeInfo, more a hash table's one slot
 * (V8's kScopeInfoMaxInlinedLocalNamesSize, 75 from V8 10 through 13) */
#define SI_MAX_INLINED_NAMES 75
/* A scope with more context locals than this is not read (a ScopeInfo read wrongly) */
#define SI_MAX_LOCALS 100000
/* How deep a string made of strings (cons and thin strings) is followed */
#define STRING_DEPTH 8

/* ---- the layout, from node's constants ---- */

struct constant {
	const char *name; /* a prefix where the type in the name varies between versions */
	size_t field;     /* offsetof(struct v8_layout, ...) */
	bool is_u16;
	const char *alt;  /* another name for it, in other versions */
};

#define F32(f) offsetof(struct v8_layout, f), false
#define F16(f) offsetof(struct v8_layout, f), true

static const struct constant constants[] = {
	{ "v8dbg_off_fp_function", F32(fp_function), NULL },
	{ "v8dbg_off_fp_context_or_frame_type", F32(fp_context), NULL },
	{ "v8dbg_class_JSFunction__shared__SharedFunctionInfo", F32(fn_shared), NULL },
	{ "v8dbg_class_SharedFunctionInfo__name_or_scope_info__", F32(sfi_name), NULL },
	{ "v8dbg_class_SharedFunctionInfo__script__", F32(sfi_script), "v8dbg_class_SharedFunctionInfo__script_or_debug_info__" },
	{ "v8dbg_class_Script__name__", F32(script_name), NULL },
	{ "v8dbg_class_Script__line_ends__", F32(script_line_ends), NULL },
	{ "v8dbg_class_Script__source__", F32(script_source), NULL },
	{ "v8dbg_class_HeapObject__map__Map", F32(map), NULL },
	{ "v8dbg_class_Map__instance_type__uint16_t", F32(map_instance_type), NULL },
	{ "v8dbg_class_String__length__int32_t", F32(string_length), NULL },
	{ "v8dbg_class_SeqOneByteString__chars__char", F32(seq_one_chars), NULL },
	{ "v8dbg_class_SeqTwoByteString__chars__char", F32(seq_two_chars), NULL },
	{ "v8dbg_class_ConsString__first__", F32(cons_first), NULL },
	{ "v8dbg_class_ConsString__second__", F32(cons_second), NULL },
	{ "v8dbg_class_ThinString__actual__", F32(thin_actual), NULL },
	{ "v8dbg_class_FixedArrayBase__length__SMI", F32(array_length), NULL },
	{ "v8dbg_class_FixedArray__data__uintptr_t", F32(array_data), NULL },
	{ "v8dbg_scopeinfo_idx_ncontextlocals", F32(si_context_locals), NULL },
	{ "v8dbg_scopeinfo_idx_first_vars", F32(si_first_vars), NULL },
	{ "v8dbg_type_SharedFunctionInfo__SHARED_FUNCTION_INFO_TYPE", F16(type_sfi), NULL },
	{ "v8dbg_type_ScopeInfo__SCOPE_INFO_TYPE", F16(type_scope_info), NULL },
	{ "v8dbg_type_Script__SCRIPT_TYPE", F16(type_script), NULL },
	{ "v8dbg_type_Oddball__ODDBALL_TYPE", F16(type_oddball), NULL },
	{ "v8dbg_FirstNonstringType", F16(first_nonstring), NULL },
	{ "v8dbg_StringRepresentationMask", F16(str_repr_mask), NULL },
	{ "v8dbg_SeqStringTag", F16(str_seq), NULL },
	{ "v8dbg_ConsStringTag", F16(str_cons), NULL },
	{ "v8dbg_ThinStringTag", F16(str_thin), NULL },
	{ "v8dbg_StringEncodingMask", F16(str_enc_mask), NULL },
	{ "v8dbg_OneByteStringTag", F16(str_one_byte), NULL },
};

/* The values of node's constants c[0..n) into v: each found by name (a prefix where it ends in "__": the
 * field's type follows it, and varies), else by its other name; frame offsets negated (they are below the frame
 * pointer). 0, or -ENOENT with the reason in why. */
static int read_constants(const char *exe, const char *root, const struct constant *c, size_t n, int32_t *v,
			  char *why, size_t whylen)
{
	struct rtp_sym_query q[ARRAY_LEN(constants) * 2];
	struct elffile f;
	int r;

	if (n > ARRAY_LEN(constants))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(c[i].name);

		q[2 * i] = (struct rtp_sym_query){ .name = c[i].name, .prefix = c[i].name[len - 1] == '_' };
		q[2 * i + 1] = (struct rtp_sym_query){ .name = c[i].alt ? c[i].alt : c[i].name, .prefix = 1 };
	}
	r = symbols__resolve(exe, root, q, 2 * n);
	if (r < 0) {
		snprintf(why, whylen, "cannot read node's symbols: %s", strerror(-r));
		return -ENOENT;
	}
	r = elffile_open(exe, -ENOEXEC, &f);
	if (r) {
		snprintf(why, whylen, "cannot open node's executable: %s", strerror(-r));
		return -ENOENT;
	}
	for (size_t i = 0; i < n; i++) {
		const struct rtp_sym_query *s = q[2 * i].found ? &q[2 * i] : c[i].alt ? &q[2 * i + 1] : NULL;
		uint64_t off;

		v[i] = 0;
		if (!s || !s->found) {
			snprintf(why, whylen, "node exports no %s", c[i].name);
			elffile_close(&f);
			return -ENOENT;
		}
		/* a constant of 0 is in .bss: no bytes in the file */
		if (!elffile_addr_to_offset(&f, s->addr, true, &off) && elffile_read_at(&f, &v[i], sizeof(v[i]), off)) {
			snprintf(why, whylen, "cannot read %s from node's executable", c[i].name);
			elffile_close(&f);
			return -ENOENT;
		}
		if (!strncmp(c[i].name, "v8dbg_off_fp_", 13))
			v[i] = -v[i];
	}
	elffile_close(&f);
	return 0;
}

int v8obj__layout(const char *exe, const char *root, struct v8_layout *L, char *why, size_t whylen)
{
	int32_t v[ARRAY_LEN(constants)];
	struct v8_layout l = { 0 };
	int r;

	r = read_constants(exe, root, constants, ARRAY_LEN(constants), v, why, whylen);
	if (r)
		return r;
	for (size_t i = 0; i < ARRAY_LEN(constants); i++) {
		if (v[i] < 0 || v[i] > (constants[i].is_u16 ? 0xffff : 4096)) {
			snprintf(why, whylen, "node's %s is %d, out of what is read", constants[i].name, (int)v[i]);
			return -EPROTO;
		}
		if (constants[i].is_u16)
			*(uint16_t *)((char *)&l + constants[i].field) = (uint16_t)v[i];
		else
			*(uint32_t *)((char *)&l + constants[i].field) = (uint32_t)v[i];
	}
	/* what the walker and this reader assume: a JavaScript frame's function just below its context, each a
	 * word; a ScopeInfo whose fixed slots come before its variable part */
	if (l.fp_context != 8 || l.fp_function != 16) {
		snprintf(why, whylen, "node's frames keep the function at -%u and the context at -%u: not read",
			 l.fp_function, l.fp_context);
		return -EPROTO;
	}
	/* tagged fields a word each: a build with pointer compression (4-byte fields) is not read */
	if ((l.fn_shared | l.sfi_name | l.sfi_script | l.script_name | l.script_line_ends | l.script_source |
	     l.cons_first | l.cons_second | l.thin_actual | l.array_data) % 8) {
		snprintf(why, whylen, "node's V8 keeps its objects' fields in 4 bytes (pointer compression): not read");
		return -EPROTO;
	}
	if (l.si_context_locals < 1 || l.si_first_vars <= l.si_context_locals || l.si_first_vars > 8) {
		snprintf(why, whylen, "node's ScopeInfo keeps its locals' count in slot %u, its variables from %u: "
			 "not read", l.si_context_locals, l.si_first_vars);
		return -EPROTO;
	}
	*L = l;
	return 0;
}

int v8obj__frame_offsets(const char *exe, const char *root, uint8_t off[3])
{
	static const struct constant fo[] = {
		{ "v8dbg_off_fp_context_or_frame_type", 0, false, NULL },
		{ "v8dbg_off_fp_bytecode_array", 0, false, NULL },
		{ "v8dbg_off_fp_bytecode_offset", 0, false, NULL },
	};
	int32_t v[ARRAY_LEN(fo)];
	char why[160];

	if (read_constants(exe, root, fo, ARRAY_LEN(fo), v, why, sizeof(why)))
		return -ENOENT;
	for (size_t i = 0; i < ARRAY_LEN(fo); i++) {
		if (v[i] <= 0 || v[i] > 64 || v[i] % 8)
			return -EPROTO;
		off[i] = (uint8_t)v[i];
	}
	return 0;
}

/* ---- objects ---- */

static bool is_heap(uint64_t v)
{
	return (v & 3) == 1;
}

/* A small integer: its value in the upper half, the lower half zero (no pointer compression). */
static bool is_smi(uint64_t v)
{
	return (v & 0xffffffffull) == 0;
}

static int64_t smi(uint64_t v)
{
	return (int32_t)(v >> 32);
}

static int rd_u64(pycode_read_fn rd, void *ctx, uint64_t addr, uint64_t *v)
{
	return rd(ctx, addr, v, sizeof(*v));
}

/* A field of the tagged object obj. */
static int field(pycode_read_fn rd, void *ctx, uint64_t obj, uint32_t off, uint64_t *v)
{
	return rd_u64(rd, ctx, obj - 1 + off, v);
}

static int type_of(pycode_read_fn rd, void *ctx, const struct v8_layout *L, uint64_t obj, uint16_t *type)
{
	uint64_t map;
	int r;

	if (!is_heap(obj))
		return -EINVAL;
	r = field(rd, ctx, obj, L->map, &map);
	if (r)
		return r;
	if (!is_heap(map))
		return -EINVAL;
	return rd(ctx, map - 1 + L->map_instance_type, type, sizeof(*type));
}

struct sbuf {
	char *s;
	size_t size, len;
};

/* One character as UTF-8, control characters as '?'; false when it does not fit (the string cut there). */
static bool put_char(struct sbuf *b, uint32_t c)
{
	char u[4];
	size_t n;

	if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || (c >= 0xd800 && c < 0xe000))
		c = '?';
	if (c < 0x80) {
		u[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		u[0] = (char)(0xc0 | c >> 6);
		u[1] = (char)(0x80 | (c & 0x3f));
		n = 2;
	} else {
		u[0] = (char)(0xe0 | c >> 12);
		u[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		u[2] = (char)(0x80 | (c & 0x3f));
		n = 3;
	}
	if (b->len + n >= b->size)
		return false;
	memcpy(b->s + b->len, u, n);
	b->len += n;
	b->s[b->len] = '\0';
	return true;
}

/* Append the string at obj: sequential (one or two bytes a character), cons (two strings) and thin (a
 * forward to another) strings; another kind, or not a string, is -EINVAL. A string longer than the buffer
 * is cut at a character. */
static int read_string(pycode_read_fn rd, void *ctx, const struct v8_layout *L, uint64_t obj, struct sbuf *b,
		       int depth)
{
	uint16_t type;
	int32_t len;
	int r;

	if (depth > STRING_DEPTH)
		return -EINVAL;
	r = type_of(rd, ctx, L, obj, &type);
	if (r)
		return r;
	if (type >= L->first_nonstring)
		return -EINVAL;
	if ((type & L->str_repr_mask) == L->str_thin) {
		uint64_t actual;

		r = field(rd, ctx, obj, L->thin_actual, &actual);
		return r ? r : read_string(rd, ctx, L, actual, b, depth + 1);
	}
	if ((type & L->str_repr_mask) == L->str_cons) {
		uint64_t first, second;

		r = field(rd, ctx, obj, L->cons_first, &first);
		r = r ?: field(rd, ctx, obj, L->cons_second, &second);
		r = r ?: read_string(rd, ctx, L, first, b, depth + 1);
		return r ?: read_string(rd, ctx, L, second, b, depth + 1);
	}
	if ((type & L->str_repr_mask) != L->str_seq)
		return -EINVAL; /* external and sliced strings are not read */
	r = rd(ctx, obj - 1 + L->string_length, &len, sizeof(len));
	if (r)
		return r;
	if (len < 0)
		return -EINVAL;
	{
		bool one = (type & L->str_enc_mask) == L->str_one_byte;
		/* at most as many characters as the buffer could hold */
		size_t n = (size_t)len < b->size ? (size_t)len : b->size, csize = one ? 1 : 2;
		uint8_t raw[512];

		for (size_t done = 0; done < n;) {
			size_t k = (n - done) * csize > sizeof(raw) ? sizeof(raw) / csize : n - done;

			r = rd(ctx, obj - 1 + (one ? L->seq_one_chars : L->seq_two_chars) + done * csize, raw, k * csize);
			if (r)
				return r;
			for (size_t i = 0; i < k; i++)
				if (!put_char(b, one ? raw[i] : (uint32_t)(raw[2 * i] | raw[2 * i + 1] << 8)))
					return 0;
			done += k;
		}
	}
	return 0;
}

static int string_at(pycode_read_fn rd, void *ctx, const struct v8_layout *L, uint64_t obj, char *out, size_t size)
{
	struct sbuf b = { out, size, 0 };

	if (!size)
		return -EINVAL;
	out[0] = '\0';
	return read_string(rd, ctx, L, obj, &b, 0);
}

static bool is_string(pycode_read_fn rd, void *ctx, const struct v8_layout *L, uint64_t obj)
{
	uint16_t type;

	return !type_of(rd, ctx, L, obj, &type) && type < L->first_nonstring;
}

struct scope_name {
	uint64_t name, inferred; /* tagged; name 0: none */
	int64_t start;           /* the function's start in its script; -1 unknown */
};

/* What a function's ScopeInfo holds of its name and place, checked slot by slot:
 *   flags, parameter count, context locals' count n (at si_context_locals), [V8 13: start, end], then from
 *   si_first_vars: n local names (n < 75) or one hash table, n locals' properties, then the function
 *   variable {name: a string or 0, slot: a small integer}, the inferred name (a string or undefined), and
 *   [V8 11, 12: start, end].
 * A function scope holds all of these (V8 writes the function variable and the inferred name for every
 * function); a slot of another kind than it must hold is -EINVAL. */
static int scope_info(pycode_read_fn rd, void *ctx, const struct v8_layout *L, uint64_t si, struct scope_name *out)
{
	uint64_t base = si - 1 + L->map + 8, n_raw, s[5] = { 0 }, pos[2];
	bool positions_first = L->si_first_vars >= L->si_context_locals + 3, inferred;
	int64_t n, idx;
	uint16_t type;
	int r;

	r = rd_u64(rd, ctx, base + 8ull * L->si_context_locals, &n_raw);
	if (r)
		return r;
	n = smi(n_raw);
	if (!is_smi(n_raw) || n < 0 || n > SI_MAX_LOCALS)
		return -EINVAL;
	idx = L->si_first_vars + (n < SI_MAX_INLINED_NAMES ? 2 * n : n + 1);
	/* no further than the slots there are: the object may end a page */
	r = rd(ctx, base + 8ull * (uint64_t)idx, s, (positions_first ? 3 : 5) * sizeof(s[0]));
	if (r)
		return r;
	/* the function variable: its name (or 0) and its slot */
	if (!(is_smi(s[0]) ? s[0] == 0 : is_string(rd, ctx, L, s[0])) || !is_smi(s[1]))
		return -EINVAL;
	/* the inferred name: a string or undefined */
	inferred = !is_smi(s[2]) && is_string(rd, ctx, L, s[2]);
	if (is_smi(s[2]) || (!inferred && (type_of(rd, ctx, L, s[2], &type) || type != L->type_oddball)))
		return -EINVAL;
	if (positions_first) {
		r = rd(ctx, base + 8ull * (L->si_first_vars - 2), pos, sizeof(pos));
		if (r)
			return r;
	} else {
		pos[0] = s[3];
		pos[1] = s[4];
	}
	if (!is_smi(pos[0]) || !is_smi(pos[1]) || smi(pos[0]) < 0 || smi(pos[1]) < smi(pos[0]))
		return -EINVAL;
	out->name = s[0];
	out->inferred = inferred ? s[2] : 0;
	out->start = smi(pos[0]);
	return 0;
}

void v8obj__lines_free(struct v8_lines *lc)
{
	if (!lc)
		return;
	for (size_t i = 0; i < V8OBJ_LINES_CACHED; i++)
		free(lc->s[i].ends);
	memset(lc, 0, sizeof(*lc));
}

/* The line breaks of the sequential string src of len characters (one or two bytes each), into *ends. */
static int source_breaks(pycode_read_fn rd, void *ctx, const struct v8_layout *L, uint64_t src, bool one,
			 int32_t len, uint32_t **ends, size_t *n)
{
	size_t csize = one ? 1 : 2, cap = 0, k;
	uint8_t *raw = malloc(64 * 1024);
	int r = 0;

	*ends = NULL;
	*n = 0;
	if (!raw)
		return -ENOMEM;
	for (size_t done = 0; done < (size_t)len && !r; done += k) {
		k = ((size_t)len - done) * csize > 64 * 1024 ? 64 * 1024 / csize : (size_t)len - done;
		r = rd(ctx, src - 1 + (one ? L->seq_one_chars : L->seq_two_chars) + done * csize, raw, k * csize);
		for (size_t i = 0; i < k && !r; i++) {
			if (one ? raw[i] != '\n' : raw[2 * i] != '\n' || raw[2 * i + 1])
				continue;
			if (vec__grow(ends, &cap, *n))
				r = -ENOMEM;
			else
				(*ends)[(*n)++] = (uint32_t)(done + i);
		}
	}
	free(raw);
	if (r) {
		free(*ends);
		*ends = NULL;
		*n = 0;
	}
	return r;
}

/* The 1-based line of position pos in the script: from its line ends (a FixedArray of small integers, the
 * position of each line's end) when V8 made them, else from the line breaks of its source (a sequential
 * string of at most V8OBJ_SOURCE_MAX characters), kept in lc. 0 unknown. */
static int line_of(pycode_read_fn rd, void *ctx, const struct v8_layout *L, uint64_t script, int64_t pos,
		   struct v8_lines *lc)
{
	uint64_t ends, src, v;
	uint16_t type;
	int32_t len;

	if (pos < 0 || field(rd, ctx, script, L->script_line_ends, &ends))
		return 0;
	if (is_heap(ends) && !field(rd, ctx, ends, L->array_length, &v) && is_smi(v) && smi(v) > 0 &&
	    smi(v) < (1 << 24)) {
		/* the first line whose end is at or after pos */
		int64_t lo = 0, hi = smi(v);

		while (lo < hi) {
			int64_t mid = lo + (hi - lo) / 2;

			if (rd_u64(rd, ctx, ends - 1 + L->array_data + 8ull * (uint64_t)mid, &v) || !is_smi(v))
				return 0;
			if (smi(v) < pos)
				lo = mid + 1;
			else
				hi = mid;
		}
		return lo < (1 << 24) ? (int)lo + 1 : 0;
	}
	/* no line ends yet: the source's line breaks before pos */
	if (field(rd, ctx, script, L->script_source, &src) || type_of(rd, ctx, L, src, &type) ||
	    type >= L->first_nonstring)
		return 0;
	if ((type & L->str_repr_mask) == L->str_thin &&
	    (field(rd, ctx, src, L->thin_actual, &src) || type_of(rd, ctx, L, src, &type) ||
	     type >= L->first_nonstring))
		return 0;
	if ((type & L->str_repr_mask) != L->str_seq || rd(ctx, src - 1 + L->string_length, &len, sizeof(len)) ||
	    len < 0 || pos > len || len > (int32_t)V8OBJ_SOURCE_MAX)
		return 0;
	{
		struct v8_lines one_off = { .next = 0 }, *c = lc ? lc : &one_off;
		size_t slot = V8OBJ_LINES_CACHED, lo = 0, hi;
		int line;

		for (size_t i = 0; i < V8OBJ_LINES_CACHED && lc; i++)
			if (c->s[i].source == src && c->s[i].len == len)
				slot = i;
		if (slot == V8OBJ_LINES_CACHED) {
			uint32_t *br;
			size_t n;

			if (source_breaks(rd, ctx, L, src, (type & L->str_enc_mask) == L->str_one_byte, len, &br, &n))
				return 0;
			slot = c->next++ % V8OBJ_LINES_CACHED;
			free(c->s[slot].ends);
			c->s[slot].source = src;
			c->s[slot].len = len;
			c->s[slot].ends = br;
			c->s[slot].n = n;
		}
		/* the breaks before pos */
		hi = c->s[slot].n;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (c->s[slot].ends[mid] < pos)
				lo = mid + 1;
			else
				hi = mid;
		}
		line = lo < (1 << 24) ? (int)lo + 1 : 0;
		if (!lc)
			v8obj__lines_free(&one_off);
		return line;
	}
}

int v8obj__read_function(pycode_read_fn rd, void *ctx, const struct v8_layout *L, uint64_t sfi, int fingerprint,
			 struct v8_lines *lc, struct v8_func *out)
{
	struct v8_func f = { .line = 0 };
	struct scope_name sn = { .start = -1 };
	uint64_t nos, script;
	uint16_t type;
	int r;

	r = type_of(rd, ctx, L, sfi, &type);
	if (r)
		return r;
	if (type != L->type_sfi)
		return -EINVAL;
	r = field(rd, ctx, sfi, L->sfi_name, &nos);
	if (r)
		return r;
	if (fingerprint >= 0 && (int)((nos >> 3) & 0xffff) != fingerprint)
		return -ESTALE;
	r = type_of(rd, ctx, L, nos, &type);
	if (r)
		return r;
	if (type == L->type_scope_info) {
		r = scope_info(rd, ctx, L, nos, &sn);
		if (r)
			return r;
	} else if (type < L->first_nonstring) {
		sn.name = nos; /* a function not compiled, or a builtin: its name alone */
	} else {
		return -EINVAL;
	}
	if (sn.name && (r = string_at(rd, ctx, L, sn.name, f.name, sizeof(f.name))))
		return r;
	if (!f.name[0] && sn.inferred && (r = string_at(rd, ctx, L, sn.inferred, f.name, sizeof(f.name))))
		return r;
	if (!f.name[0])
		snprintf(f.name, sizeof(f.name), "(anonymous)");
	/* its script: a builtin has none, and a function being debugged may have its debug info there */
	if (!field(rd, ctx, sfi, L->sfi_script, &script) && !type_of(rd, ctx, L, script, &type) &&
	    type == L->type_script) {
		uint64_t name;

		if (!field(rd, ctx, script, L->script_name, &name) && is_string(rd, ctx, L, name) &&
		    string_at(rd, ctx, L, name, f.file, sizeof(f.file)))
			f.file[0] = '\0';
		f.line = line_of(rd, ctx, L, script, sn.start, lc);
	}
	*out = f;
	return 0;
}
