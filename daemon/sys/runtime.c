// SPDX-License-Identifier: LGPL-2.1-or-later
/* Runtime detection: python or node, and which version, from the process's executable, the
 * libraries it maps and the ELF files themselves (symbols, .dynamic, .rodata) through libelf.
 * The ELF files are outside input: every offset is checked against the file size first.
 * Large sections (node: 47 MB of .rodata, 7 MB of dynamic symbols and names) are read with pread
 * in windows, never through libelf's mapping: touched pages of a mapping count in rtprofd's RSS. */
#include "sys/runtime.h"

#include "sys/elffile.h"
#include "sys/procfs.h"

#include <ctype.h>
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
/* Distinct "vX.Y.Z" strings kept while scanning node's .rodata; real binaries have one or two. */
#define NODE_MAX_CANDIDATES 64
/* Digits in each part of node's "vX.Y.Z"; the longest token is "v" + 3 parts + 2 dots. */
#define V_TRIPLE_DIGITS 6
#define V_TRIPLE_MAX (1 + 3 * V_TRIPLE_DIGITS + 2)
/* Bytes read past a window so that a token starting in it is seen whole: match_v_triple looks at
 * one byte past the longest "vX.Y.Z", and the longest symbol name matched is "Py_Initialize\0". */
#define SCAN_LOOKAHEAD 32
_Static_assert(SCAN_LOOKAHEAD >= V_TRIPLE_MAX + 1, "a vX.Y.Z token must fit in the lookahead");

/* The symbol names note_symbol acts on, found in a string table: the payload of their elffile_hits. */
enum sym_name {
	SYM_OTHER = 0,
	SYM_PY_VERSION, /* Py_Version: PY_VERSION_HEX, exported since CPython 3.11 */
	SYM_PY_DEFINED, /* Py_Initialize, Py_BytesMain, _PyRuntime */
	SYM_NODE,       /* node:: (_ZN4node...) */
	SYM_UV_RUN,
	SYM_V8DBG,      /* V8's postmortem-debugging constants (v8dbg_*) */
};

struct elf_facts {
	bool py_defined;   /* defines Py_Initialize, Py_BytesMain or _PyRuntime */
	bool has_py_version;
	GElf_Sym py_version; /* Py_Version: PY_VERSION_HEX, exported since CPython 3.11 */
	bool node_defined; /* defines node:: symbols (_ZN4node...) */
	bool uv_run;
	bool v8dbg;        /* V8's postmortem-debugging constants (v8dbg_*) */
	char needed_python[NAME_MAX + 1]; /* DT_NEEDED libpython*, when Python lives in a shared lib */
	char runpath[PATH_MAX];           /* DT_RUNPATH, else DT_RPATH */
};

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* libpython3.11.so.1.0, libpython3.6m.so: not libpython3.so, the version-less stable-ABI shim. */
static bool is_libpython(const char *name)
{
	return starts_with(name, "libpython") && isdigit((unsigned char)name[9]) &&
	       !starts_with(name + 10, ".so") && strstr(name, ".so");
}

static enum rtp_runtime_kind kind_from_name(const char *path)
{
	const char *base = base_name(path);

	if (starts_with(base, "python"))
		return RTP_RUNTIME_PYTHON;
	if (strcmp(base, "node") == 0 || strcmp(base, "nodejs") == 0)
		return RTP_RUNTIME_NODE;
	return RTP_RUNTIME_OTHER;
}

/* "MAJOR.MINOR" out of python3.8, libpython3.6m.so.1.0; "" when the name has none. */
static void version_from_name(const char *path, char *out, size_t outlen)
{
	const char *p = strstr(base_name(path), "python");
	unsigned int major, minor;
	int used = 0;

	if (!p)
		return;
	p += strlen("python");
	if (!isdigit((unsigned char)p[0]))
		return;
	if (sscanf(p, "%3u.%3u%n", &major, &minor, &used) == 2 && used > 0)
		snprintf(out, outlen, "%u.%u", major, minor);
}

/* Names note_symbol acts on: exact ones compared with their NUL, prefixes without. */
#define SYM_EXACT(text, name) { text, sizeof(text), name }
#define SYM_PREFIX(text, name) { text, sizeof(text) - 1, name }
static const struct sym_text {
	const char *text;
	size_t len;
	enum sym_name name;
} exact_names[] = {
	SYM_EXACT("Py_Version", SYM_PY_VERSION), SYM_EXACT("Py_Initialize", SYM_PY_DEFINED),
	SYM_EXACT("Py_BytesMain", SYM_PY_DEFINED), SYM_EXACT("_PyRuntime", SYM_PY_DEFINED),
	SYM_EXACT("uv_run", SYM_UV_RUN),
}, prefix_names[] = {
	SYM_PREFIX("_ZN4node", SYM_NODE),
	SYM_PREFIX("v8dbg_", SYM_V8DBG),
};
#undef SYM_EXACT
#undef SYM_PREFIX

/* Every offset of a string table where a name note_symbol acts on starts, the tails of longer
 * strings included (linkers merge "xuv_run" into "uv_run"), sorted. The table is read once, in
 * windows, so that symbols are then matched by st_name alone: node's .dynsym orders its names
 * randomly over 5 MB. */
static int index_names(const struct elffile *f, const GElf_Shdr *strtab, struct elffile_window *w,
		       struct elffile_index *idx)
{
	uint64_t start, terminated = 0; /* names starting below this offset end in a NUL in the table */
	const char *p;
	size_t i;
	int err;

	idx->count = 0;
	for (start = 0; start < strtab->sh_size; start += ELFFILE_WINDOW) {
		err = elffile_read_window(f, strtab, start, w);
		if (err)
			return err;
		/* An exact name ends at a NUL: the lookahead holds the NUL of one starting in the window. */
		for (p = w->base; p < w->end && (p = memchr(p, '\0', (size_t)(w->end - p))); p++) {
			size_t name_end = (size_t)(p + 1 - w->base);

			if (p < w->owned_end)
				terminated = start + name_end;
			for (i = 0; i < ARRAY_LEN(exact_names); i++) {
				const struct sym_text *exact = &exact_names[i];
				const char *name;

				/* Starting before the window, it was the previous window's. */
				if (name_end < exact->len)
					continue;
				name = w->base + (name_end - exact->len);
				if (name >= w->owned_end || memcmp(name, exact->text, exact->len) != 0)
					continue;
				err = elffile_index_add(idx, start + (uint64_t)(name - w->base), exact->name);
				if (err)
					return err;
			}
		}
		for (i = 0; i < ARRAY_LEN(prefix_names); i++) {
			const struct sym_text *prefix = &prefix_names[i];

			for (p = elffile_window_find(w, w->base, prefix->text, prefix->len); p;
			     p = elffile_window_find(w, p + 1, prefix->text, prefix->len)) {
				err = elffile_index_add(idx, start + (uint64_t)(p - w->base), prefix->name);
				if (err)
					return err;
			}
		}
	}
	elffile_index_sort(idx);
	/* elf_strptr gives no name that runs to the end of the table without a NUL. */
	while (idx->count && idx->hits[idx->count - 1].offset >= terminated)
		idx->count--;
	return 0;
}

static void note_symbol(struct elf_facts *facts, enum sym_name name, const GElf_Sym *sym)
{
	if (sym->st_shndx == SHN_UNDEF)
		return;
	switch (name) {
	case SYM_PY_VERSION:
		if (!facts->has_py_version) {
			facts->has_py_version = true;
			facts->py_version = *sym;
		}
		break;
	case SYM_PY_DEFINED:
		facts->py_defined = true;
		break;
	case SYM_NODE:
		facts->node_defined = true;
		break;
	case SYM_UV_RUN:
		facts->uv_run = true;
		break;
	case SYM_V8DBG:
		facts->v8dbg = true;
		break;
	case SYM_OTHER:
		break;
	}
}

/* The symbols of one table, read in windows, whose names are in the index. */
static int match_symbols(const struct elffile *f, const GElf_Shdr *symtab, size_t symsize,
			 const struct elffile_index *idx, char *window, struct elf_facts *facts)
{
	struct elffile_syms it;
	GElf_Sym sym;
	int ret;

	elffile_syms_init(&it, f, symtab, symsize, window);
	while ((ret = elffile_syms_next(&it, &sym)) > 0) {
		/* A string table offset is one name's start: one hit at the most. */
		const struct elffile_hit *hit = elffile_index_find(idx, sym.st_name);

		if (hit)
			note_symbol(facts, (enum sym_name)hit->value, &sym);
	}
	return ret;
}

static int scan_symbols(const struct elffile *f, GElf_Word type, struct elffile_window *w,
			struct elf_facts *facts)
{
	size_t symsize = gelf_fsize(f->elf, ELF_T_SYM, 1, EV_CURRENT);
	struct elffile_index idx = {};
	Elf_Scn *scn = NULL;
	int err = 0;

	if (!symsize)
		return -EINVAL;
	while ((scn = elf_nextscn(f->elf, scn))) {
		GElf_Shdr shdr, strtab;

		if (!gelf_getshdr(scn, &shdr)) {
			err = -EINVAL;
			goto cleanup;
		}
		if (shdr.sh_type != type)
			continue;
		/* As elf_getdata + gelf_getsym: no table of partial entries, nor a compressed one. */
		if (shdr.sh_size % symsize || (shdr.sh_flags & SHF_COMPRESSED)) {
			err = -EINVAL;
			goto cleanup;
		}
		if (!elffile_linked_strtab(f, &shdr, &strtab))
			continue;
		err = index_names(f, &strtab, w, &idx);
		/* No name of interest: the symbols need not be read at all. */
		if (!err && idx.count)
			err = match_symbols(f, &shdr, symsize, &idx, w->buf, facts);
		if (err)
			goto cleanup;
	}
cleanup:
	elffile_index_free(&idx);
	return err;
}

static bool dynamic_strings_bounded(const struct elffile *f, const GElf_Shdr *dynamic)
{
	Elf_Scn *scn = elf_getscn(f->elf, dynamic->sh_link);
	GElf_Shdr strtab;

	return !scn || (gelf_getshdr(scn, &strtab) && strtab.sh_size <= ELFFILE_MAX_MAPPED_TABLE);
}

static int scan_dynamic(const struct elffile *f, struct elf_facts *facts)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(f->elf, scn))) {
		GElf_Shdr shdr;
		Elf_Data *data;
		size_t i, count, dynsize = gelf_fsize(f->elf, ELF_T_DYN, 1, EV_CURRENT);

		if (!gelf_getshdr(scn, &shdr))
			return -EINVAL;
		if (shdr.sh_type != SHT_DYNAMIC)
			continue;
		/* read through libelf's mapping, and its strings too: both bounded first */
		if (shdr.sh_size > ELFFILE_MAX_MAPPED_TABLE || !dynamic_strings_bounded(f, &shdr))
			return -EFBIG;
		data = elf_getdata(scn, NULL);
		if (!data || !dynsize)
			return -EINVAL;
		count = data->d_size / dynsize;
		for (i = 0; i < count; i++) {
			GElf_Dyn dyn;
			const char *str;

			if (!gelf_getdyn(data, (int)i, &dyn))
				return -EINVAL;
			if (dyn.d_tag == DT_NULL)
				break;
			if (dyn.d_tag != DT_NEEDED && dyn.d_tag != DT_RUNPATH && dyn.d_tag != DT_RPATH)
				continue;
			str = elf_strptr(f->elf, shdr.sh_link, dyn.d_un.d_val);
			if (!str)
				continue;
			if (dyn.d_tag == DT_NEEDED && is_libpython(str) && !facts->needed_python[0])
				snprintf(facts->needed_python, sizeof(facts->needed_python), "%s", str);
			/* DT_RUNPATH wins over DT_RPATH when both are present, as in ld.so. */
			else if (dyn.d_tag == DT_RUNPATH || (dyn.d_tag == DT_RPATH && !facts->runpath[0]))
				snprintf(facts->runpath, sizeof(facts->runpath), "%s", str);
		}
	}
	return 0;
}

/* The value of Py_Version, read from the file at the offset of the section that holds it. */
static int read_py_version(const struct elffile *f, const GElf_Sym *sym, char *out, size_t outlen)
{
	static const char *const level_suffix[16] = { [0xA] = "a", [0xB] = "b", [0xC] = "rc" };
	unsigned char bytes[8];
	Elf_Scn *scn = NULL;
	uint64_t hex, offset;
	unsigned int major, minor, micro, level, serial;

	if (sym->st_size != 4 && sym->st_size != 8)
		return -ENODATA;
	while ((scn = elf_nextscn(f->elf, scn))) {
		GElf_Shdr shdr;

		if (!gelf_getshdr(scn, &shdr))
			return -EINVAL;
		if (!(shdr.sh_flags & SHF_ALLOC) || sym->st_value < shdr.sh_addr ||
		    sym->st_value - shdr.sh_addr > shdr.sh_size ||
		    shdr.sh_size - (sym->st_value - shdr.sh_addr) < sym->st_size)
			continue;
		/* In .bss the initial value is zero bytes that are not in the file. */
		if (shdr.sh_type == SHT_NOBITS)
			return -ENODATA;
		offset = shdr.sh_offset + (sym->st_value - shdr.sh_addr);
		/* elffile_open bounded the section, hence the symbol, by the file size. */
		if (elffile_read_at(f, bytes, sym->st_size, offset) != 0)
			return -EINVAL;
		hex = elffile_load_uint(f, bytes, sym->st_size);
		/* PY_VERSION_HEX: major 8 bits, minor 8, micro 8, release level 4, serial 4. */
		major = (unsigned int)(hex >> 24) & 0xff;
		minor = (unsigned int)(hex >> 16) & 0xff;
		micro = (unsigned int)(hex >> 8) & 0xff;
		level = (unsigned int)(hex >> 4) & 0xf;
		serial = (unsigned int)hex & 0xf;
		if (hex >> 32 || major < 3 || (level != 0xF && !level_suffix[level]))
			return -ENODATA;
		if (level == 0xF)
			snprintf(out, outlen, "%u.%u.%u", major, minor, micro);
		else
			snprintf(out, outlen, "%u.%u.%u%s%u", major, minor, micro, level_suffix[level], serial);
		return 0;
	}
	return -ENODATA;
}

struct node_candidate {
	char version[32]; /* without the 'v' */
	int score;        /* 2: NUL on both sides; 1: NUL-terminated tail of a longer string */
	size_t count;     /* occurrences of "vX.Y.Z" anywhere in .rodata */
};

/* Length of "vDIGITS.DIGITS.DIGITS" at p (at most `avail` bytes), or 0. */
static size_t match_v_triple(const char *p, size_t avail)
{
	size_t i = 1;
	int part;

	if (avail < 6 || p[0] != 'v')
		return 0;
	for (part = 0; part < 3; part++) {
		size_t digits = 0;

		if (part > 0) {
			if (i >= avail || p[i] != '.')
				return 0;
			i++;
		}
		while (i < avail && isdigit((unsigned char)p[i]) && digits < V_TRIPLE_DIGITS) {
			i++;
			digits++;
		}
		if (digits == 0)
			return 0;
	}
	/* "v1.2.34" must not match as "v1.2.3" of a longer number. */
	if (i < avail && (isdigit((unsigned char)p[i]) || p[i] == '.'))
		return 0;
	return i;
}

/* p[-1] is readable: the byte before, or '\0' at the section's start (see elffile_window). */
static bool token_start(const char *p)
{
	return !(isalnum((unsigned char)p[-1]) || p[-1] == '.');
}

static size_t find_candidate(const struct node_candidate *cands, size_t ncands, const char *version,
			     size_t len)
{
	size_t i;

	for (i = 0; i < ncands; i++)
		if (strlen(cands[i].version) == len && memcmp(cands[i].version, version, len) == 0)
			break;
	return i;
}

/* One pass over .rodata: every "vX.Y.Z" token, counted, and ranked when it is NUL-terminated. Node's
 * .rodata holds fewer than ten distinct ones; past NODE_MAX_CANDIDATES (a crafted file) new ones are not
 * taken. */
static int scan_v_triples(const struct elffile *f, const GElf_Shdr *shdr, struct elffile_window *w,
			  struct node_candidate *cands, size_t *ncands)
{
	uint64_t start;
	const char *p;
	int err;

	for (start = 0; start < shdr->sh_size; start += ELFFILE_WINDOW) {
		err = elffile_read_window(f, shdr, start, w);
		if (err)
			return err;
		for (p = w->base; p < w->owned_end && (p = memchr(p, 'v', (size_t)(w->owned_end - p))); p++) {
			/* w->end: the section's end or SCAN_LOOKAHEAD on, as matched over the whole section. */
			size_t n = match_v_triple(p, (size_t)(w->end - p)), i;
			int score;

			if (!n || !token_start(p))
				continue;
			i = find_candidate(cands, *ncands, p + 1, n - 1);
			if (i == *ncands) {
				if (*ncands == NODE_MAX_CANDIDATES)
					continue;
				memcpy(cands[i].version, p + 1, n - 1);
				(*ncands)++;
			}
			cands[i].count++;
			if (p + n >= w->end || p[n] != '\0')
				continue;
			score = p[-1] == '\0' ? 2 : 1;
			if (score > cands[i].score)
				cands[i].score = score;
		}
	}
	return 0;
}

/* Node's version as NODE_VERSION ("v20.20.2"), a string literal in .rodata. The linker's tail
 * merging may leave it only as the end of a longer literal ("node.js/v20.20.2"), so a
 * NUL-terminated tail counts too, ranked below a string of its own. */
static int node_version_from_rodata(const struct elffile *f, struct elffile_window *w, char *out,
				    size_t outlen)
{
	struct node_candidate cands[NODE_MAX_CANDIDATES] = {};
	size_t ncands = 0, i, best = 0;
	GElf_Shdr shdr;
	int err;

	if (!elffile_find_section(f, ".rodata", &shdr) || shdr.sh_type == SHT_NOBITS)
		return -ENODATA;
	err = scan_v_triples(f, &shdr, w, cands, &ncands);
	if (err)
		return err;
	/* Bundled libraries' versions can be NUL-terminated too; node's own recurs (URLs, banner). */
	for (i = 0; i < ncands && !cands[best].score; i++)
		best = i;
	if (!cands[best].score)
		return -ENODATA;
	for (i = 1; i < ncands; i++)
		if (cands[i].score > cands[best].score ||
		    (cands[i].score == cands[best].score && cands[i].count > cands[best].count))
			best = i;
	if (strlen(cands[best].version) >= outlen)
		return -ENOSPC;
	memcpy(out, cands[best].version, strlen(cands[best].version) + 1);
	return 0;
}

static int inspect_elf(const char *open_path, const char *name, const char *origin,
		       struct rtp_runtime_info *info, bool node_version);

/* Find DT_NEEDED libpython through DT_RUNPATH/DT_RPATH ($ORIGIN expanded), as pyenv builds
 * set it; the system library directories are left to the live-process path (maps). */
static void resolve_needed_python(const char *origin, const struct elf_facts *facts,
				  struct rtp_runtime_info *info)
{
	char origin_dir[PATH_MAX], candidate[sizeof(info->lib)];
	const char *dir = facts->runpath;
	char *resolved;

	resolved = realpath(origin, NULL);
	snprintf(origin_dir, sizeof(origin_dir), "%s", resolved ? resolved : origin);
	free(resolved);
	*(char *)base_name(origin_dir) = '\0';
	if (!origin_dir[0])
		snprintf(origin_dir, sizeof(origin_dir), "./");

	while (*dir) {
		size_t len = strcspn(dir, ":");
		struct rtp_runtime_info lib_info = {};
		const char *rest = dir;
		size_t rest_len = len;
		const char *prefix = "";

		if (len >= 7 && starts_with(dir, "$ORIGIN")) {
			prefix = origin_dir;
			rest = dir + 7;
			rest_len = len - 7;
		} else if (len >= 9 && starts_with(dir, "${ORIGIN}")) {
			prefix = origin_dir;
			rest = dir + 9;
			rest_len = len - 9;
		}
		if (len > 0 && (size_t)snprintf(candidate, sizeof(candidate), "%s%.*s/%s", prefix,
						(int)rest_len, rest, facts->needed_python) < sizeof(candidate) &&
		    inspect_elf(candidate, candidate, NULL, &lib_info, true) == 0 &&
		    lib_info.kind == RTP_RUNTIME_PYTHON && lib_info.version[0]) {
			snprintf(info->version, sizeof(info->version), "%s", lib_info.version);
			memcpy(info->lib, candidate, strlen(candidate) + 1);
			return;
		}
		dir += len;
		if (*dir == ':')
			dir++;
	}
}

/* ---- what inspect_elf found, per file and question ----
 * Detecting a node reads its exported symbols (~20 ms here): rtprof run asks once while its probes load
 * (runtime__detect_file), then again when the program starts; rtprofd asks for every process of a program. */
#define DETECT_CACHE_MAX 8
#define DETECT_SETTLED_S 2

struct detect_entry {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	char *key; /* 'v' or 'q' (node's version read or not), name, '\n', origin */
	uint64_t used;
	enum rtp_runtime_kind kind;
	char version[sizeof(((struct rtp_runtime_info *)0)->version)];
	char lib[sizeof(((struct rtp_runtime_info *)0)->lib)];
};

static pthread_mutex_t detect_lock = PTHREAD_MUTEX_INITIALIZER;
static struct detect_entry detect_cache[DETECT_CACHE_MAX];
static uint64_t detect_tick;

static char *detect_key(const char *name, const char *origin, bool node_version)
{
	char *key;

	return asprintf(&key, "%c%s\n%s", node_version ? 'v' : 'q', name, origin ? origin : "") < 0 ? NULL : key;
}

static bool detect_same_file(const struct detect_entry *d, const struct stat *st)
{
	return d->key && d->dev == st->st_dev && d->ino == st->st_ino && d->size == st->st_size &&
	       d->mtime.tv_sec == st->st_mtim.tv_sec && d->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static bool detect_cache_get(const struct stat *st, const char *key, struct rtp_runtime_info *info)
{
	bool hit = false;

	pthread_mutex_lock(&detect_lock);
	for (size_t i = 0; i < DETECT_CACHE_MAX; i++) {
		struct detect_entry *d = &detect_cache[i];

		if (!detect_same_file(d, st) || strcmp(d->key, key))
			continue;
		d->used = ++detect_tick;
		info->kind = d->kind;
		memcpy(info->version, d->version, sizeof(info->version));
		if (d->lib[0])
			memcpy(info->lib, d->lib, sizeof(info->lib));
		hit = true;
		break;
	}
	pthread_mutex_unlock(&detect_lock);
	return hit;
}

/* Takes key; in place of the least recently used entry. */
static void detect_cache_put(const struct stat *st, char *key, const struct rtp_runtime_info *info, bool lib_found)
{
	struct detect_entry *d = &detect_cache[0];

	pthread_mutex_lock(&detect_lock);
	for (size_t i = 1; i < DETECT_CACHE_MAX && d->key; i++)
		if (!detect_cache[i].key || detect_cache[i].used < d->used)
			d = &detect_cache[i];
	free(d->key);
	d->key = key;
	d->dev = st->st_dev;
	d->ino = st->st_ino;
	d->size = st->st_size;
	d->mtime = st->st_mtim;
	d->used = ++detect_tick;
	d->kind = info->kind;
	memcpy(d->version, info->version, sizeof(d->version));
	/* the libpython it found through DT_NEEDED (with an origin); else the caller's, which is not the file's */
	memcpy(d->lib, lib_found ? info->lib : "", lib_found ? sizeof(d->lib) : 1);
	pthread_mutex_unlock(&detect_lock);
}

/* Kind and version from the ELF at open_path; `name` is the path used for naming rules (it
 * differs for /proc/PID/exe); `origin`, if set, lets a DT_NEEDED libpython be followed. */
static int inspect_elf(const char *open_path, const char *name, const char *origin,
		       struct rtp_runtime_info *info, bool node_version)
{
	struct elffile f = { .fd = -1 };
	struct elffile_window w = {};
	struct elf_facts *facts;
	char *key = NULL;
	bool have_st = false;
	struct stat st;
	int err;

	/* ~4 KB: off the stack, since inspect_elf nests once through resolve_needed_python. */
	facts = calloc(1, sizeof(*facts));
	if (!facts)
		return -ENOMEM;
	err = elffile_open(open_path, -EINVAL, &f);
	if (err)
		goto cleanup;
	key = detect_key(name, origin, node_version);
	/* a file changed in the last seconds may change again within the same timestamp (racy git's rule) */
	if (key && fstat(f.fd, &st) == 0 && st.st_mtim.tv_sec + DETECT_SETTLED_S < time(NULL)) {
		if (detect_cache_get(&st, key, info))
			goto cleanup;
		have_st = true;
	}
	err = elffile_window_init(&w, SCAN_LOOKAHEAD);
	if (err)
		goto cleanup;

	err = scan_symbols(&f, SHT_DYNSYM, &w, facts);
	/* .symtab is larger; only needed when the exported symbols did not tell. */
	if (!err && !facts->py_defined && !facts->has_py_version && !facts->node_defined)
		err = scan_symbols(&f, SHT_SYMTAB, &w, facts);
	if (!err)
		err = scan_dynamic(&f, facts);
	if (err)
		goto cleanup;

	if (facts->py_defined || facts->has_py_version || facts->needed_python[0])
		info->kind = RTP_RUNTIME_PYTHON;
	else if (facts->node_defined || (facts->uv_run && facts->v8dbg))
		info->kind = RTP_RUNTIME_NODE;
	else
		info->kind = kind_from_name(name);

	if (info->kind == RTP_RUNTIME_PYTHON) {
		if (facts->has_py_version)
			(void)read_py_version(&f, &facts->py_version, info->version, sizeof(info->version));
		if (!info->version[0] && facts->needed_python[0] && origin)
			resolve_needed_python(origin, facts, info);
		/* CPython < 3.11 exports no Py_Version: the file name carries MAJOR.MINOR. */
		if (!info->version[0])
			version_from_name(name, info->version, sizeof(info->version));
		if (!info->version[0] && facts->needed_python[0])
			version_from_name(facts->needed_python, info->version, sizeof(info->version));
	} else if (info->kind == RTP_RUNTIME_NODE && node_version) {
		(void)node_version_from_rodata(&f, &w, info->version, sizeof(info->version));
	}
	if (have_st) {
		detect_cache_put(&st, key, info, origin != NULL);
		key = NULL;
	}
cleanup:
	free(key);
	elffile_window_fini(&w);
	elffile_close(&f);
	free(facts);
	return err;
}

static int detect_elf(const char *path, struct rtp_runtime_info *out, bool node_version)
{
	struct rtp_runtime_info *info;
	int err;

	if (!path || !path[0] || !out)
		return -EINVAL;
	info = calloc(1, sizeof(*info));
	if (!info)
		return -ENOMEM;
	if ((size_t)snprintf(info->exe, sizeof(info->exe), "%s", path) >= sizeof(info->exe)) {
		err = -ENAMETOOLONG;
		goto cleanup;
	}
	err = inspect_elf(path, path, path, info, node_version);
	if (!err)
		*out = *info;
cleanup:
	free(info);
	return err;
}

int runtime__detect_elf(const char *path, struct rtp_runtime_info *out)
{
	return detect_elf(path, out, true);
}

int runtime__detect_file(const char *path, struct rtp_runtime_info *out)
{
	return detect_elf(path, out, false);
}

static bool proc_exists(pid_t pid)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	return access(path, F_OK) == 0;
}

static void strip_deleted(char *path)
{
	size_t len = strlen(path), slen = strlen(PROCFS_DELETED_SUFFIX);

	if (len > slen && strcmp(path + len - slen, PROCFS_DELETED_SUFFIX) == 0)
		path[len - slen] = '\0';
}

struct libpython_find {
	char *lib;
	size_t liblen;
};

static int libpython_of(const struct proc_mapping *m, void *ctx)
{
	struct libpython_find *f = ctx;
	size_t len = strlen(m->path);

	if (m->path[0] != '/' || !is_libpython(base_name(m->path)) || len >= f->liblen)
		return 0;
	memcpy(f->lib, m->path, len + 1);
	return 1;
}

/* The first libpython mapped by the process, as its path in the process's mount namespace. */
static int find_mapped_libpython(pid_t pid, char *lib, size_t liblen)
{
	struct libpython_find f = { lib, liblen };
	int r = procfs__maps_each(pid, libpython_of, &f);

	return r < 0 ? r : 0;
}

static int detect(pid_t pid, struct rtp_runtime_info *out, bool node_version)
{
	struct rtp_runtime_info *info;
	char exe_link[32], name[PATH_MAX], lib_path[PATH_MAX + 32];
	ssize_t n;
	int err;

	if (pid <= 0 || !out)
		return -EINVAL;
	info = calloc(1, sizeof(*info));
	if (!info)
		return -ENOMEM;

	snprintf(exe_link, sizeof(exe_link), "/proc/%d/exe", (int)pid);
	n = readlink(exe_link, info->exe, sizeof(info->exe) - 1);
	if (n < 0) {
		/* Kernel threads have no exe (ENOENT); other users' processes need ptrace rights. */
		err = proc_exists(pid) ? 0 : -ESRCH;
		if (!err)
			*out = *info;
		goto cleanup;
	}
	info->exe[n] = '\0';
	snprintf(name, sizeof(name), "%s", info->exe);
	strip_deleted(name);

	err = find_mapped_libpython(pid, info->lib, sizeof(info->lib));
	if (err == -ESRCH || err == -ENOMEM)
		goto cleanup;

	/* /proc/PID/exe opens the running file even when deleted or in another mount namespace. */
	/* No libpython mapped (yet: right after exec the loader has not run): follow the exe's DT_NEEDED. */
	err = inspect_elf(exe_link, name, info->lib[0] ? NULL : name, info, node_version);
	/* past the file's limits (sys/elffile.h): crafted, most likely; nothing it says is taken */
	if (err == -ENOMEM || err == -ETIMEDOUT || err == -EFBIG)
		goto cleanup;
	if (err) {
		if (!proc_exists(pid)) {
			err = -ESRCH;
			goto cleanup;
		}
		info->kind = kind_from_name(name);
		info->version[0] = '\0';
	}

	if (info->lib[0]) {
		struct rtp_runtime_info lib_info = {};

		info->kind = RTP_RUNTIME_PYTHON;
		snprintf(lib_path, sizeof(lib_path), "/proc/%d/root%s", (int)pid, info->lib);
		err = inspect_elf(lib_path, info->lib, NULL, &lib_info, true);
		if (err && err != -ETIMEDOUT && err != -EFBIG)
			err = inspect_elf(info->lib, info->lib, NULL, &lib_info, true);
		if (err == -ETIMEDOUT || err == -EFBIG)
			goto cleanup;
		if (lib_info.version[0])
			snprintf(info->version, sizeof(info->version), "%s", lib_info.version);
		else if (!info->version[0])
			version_from_name(info->lib, info->version, sizeof(info->version));
	} else if (info->kind == RTP_RUNTIME_PYTHON && !info->version[0]) {
		version_from_name(name, info->version, sizeof(info->version));
	}
	err = 0;
	*out = *info;
cleanup:
	free(info);
	return err;
}

int runtime__detect(pid_t pid, struct rtp_runtime_info *out)
{
	return detect(pid, out, true);
}

int runtime__detect_quick(pid_t pid, struct rtp_runtime_info *out)
{
	return detect(pid, out, false);
}

int runtime__node_version(const char *path, char *out, size_t outlen)
{
	struct elffile f = { .fd = -1 };
	struct elffile_window w = {};
	int err;

	err = elffile_open(path, -EINVAL, &f);
	if (!err)
		err = elffile_window_init(&w, SCAN_LOOKAHEAD);
	if (!err)
		err = node_version_from_rodata(&f, &w, out, outlen);
	elffile_window_fini(&w);
	elffile_close(&f);
	return err;
}
