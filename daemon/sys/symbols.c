// SPDX-License-Identifier: LGPL-2.1-or-later
/* Symbol resolution for attaching uprobes: names to file offsets through .symtab, .dynsym or a separate
 * debug file (found by build id or .gnu_debuglink), and the files a live process maps. The notes (build
 * ids, SystemTap SDT probes) are read by elfnotes.c.
 * The ELF files are outside input: every offset is checked against the file size first. Symbol and
 * string tables are read with pread in windows, never through libelf's mapping nor whole: node's .strtab
 * alone is 7.5 MB, and touched pages of a mapping count in rtprofd's RSS. */
#include "sys/symbols.h"

#include "sys/elffile.h"
#include "sys/elfnotes.h"
#include "sys/procfs.h"

#include <errno.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* The longest name a query may have: string windows overlap by that much, so that a name that starts
 * in one window is seen whole. Mangled C++ names run to a few hundred bytes. */
#define MAX_NAME_LEN 4096
/* Where a query's name occurs in a string table, at most this many times; past that (a short prefix
 * such as "_Z" in node's 7.5 MB of names) its symbols' names are read one by one instead. */
#define MAX_HITS_PER_QUERY 4096
/* Cached symbol results: enough for every query of a few dozen distinct binaries. */
#define CACHE_MAX 256
/* ---- symbols ---- */

/* A query still to resolve in the table being scanned. */
struct pending {
	struct rtp_sym_query *q;
	size_t needle;  /* bytes matched in the string table: the name, and its NUL unless a prefix */
	size_t hits;    /* occurrences indexed in the current table */
	bool slow;      /* too many occurrences: names compared symbol by symbol */
	bool done;
};

/* Every offset of the string table where a pending name starts, the tails of longer strings included
 * (linkers merge "xuv_run" into "uv_run"; a prefix may start anywhere). The table is read once, in
 * windows that overlap by the longest needle, so that symbols are then matched by st_name alone. */
static int index_names(const struct elffile *f, const GElf_Shdr *strtab, struct pending *p, size_t np,
		       struct elffile_window *w, struct elffile_index *idx)
{
	uint64_t start;
	size_t i, kept;
	int err;

	idx->count = 0;
	for (i = 0; i < np; i++)
		p[i].hits = 0;
	for (start = 0; start < strtab->sh_size; start += ELFFILE_WINDOW) {
		err = elffile_read_window(f, strtab, start, w);
		if (err)
			return err;
		for (i = 0; i < np; i++) {
			const char *s;

			if (p[i].done || p[i].slow)
				continue;
			/* Matches starting past the window's own bytes are the next window's. */
			for (s = elffile_window_find(w, w->base, p[i].q->name, p[i].needle); s;
			     s = elffile_window_find(w, s + 1, p[i].q->name, p[i].needle)) {
				if (start + (uint64_t)(s - w->base) > UINT32_MAX)
					break;
				if (++p[i].hits > MAX_HITS_PER_QUERY) {
					p[i].slow = true;
					break;
				}
				err = elffile_index_add(idx, start + (uint64_t)(s - w->base), (uint32_t)i);
				if (err)
					return err;
			}
		}
	}
	/* The slow queries' hits are not needed: their names are compared symbol by symbol. */
	for (i = kept = 0; i < idx->count; i++)
		if (!p[idx->hits[i].value].slow)
			idx->hits[kept++] = idx->hits[i];
	idx->count = kept;
	elffile_index_sort(idx);
	return 0;
}

static bool all_done(const struct pending *p, size_t np)
{
	size_t i;

	for (i = 0; i < np; i++)
		if (!p[i].done)
			return false;
	return true;
}

/* The symbol's name against a slow query: read from the string table at st_name. */
static bool slow_match(const struct elffile *f, const GElf_Shdr *strtab, const GElf_Sym *sym,
		       const struct pending *p, char *buf)
{
	if (sym->st_name >= strtab->sh_size || strtab->sh_size - sym->st_name < p->needle)
		return false;
	return elffile_read_at(f, buf, p->needle, strtab->sh_offset + sym->st_name) == 0 &&
	       memcmp(buf, p->q->name, p->needle) == 0;
}

static void set_result(struct pending *p, const GElf_Sym *sym, uint64_t offset, const char *source)
{
	p->q->found = 1;
	p->q->addr = sym->st_value;
	p->q->size = sym->st_size;
	p->q->offset = offset;
	snprintf(p->q->source, sizeof(p->q->source), "%s", source);
	p->done = true;
}

/* The symbols of one table (in `f`), read in windows, against the pending queries; addresses are
 * converted to file offsets with the segments of `target` (the file the probes go in). */
static int match_symbols(const struct elffile *f, const struct elffile *target, const GElf_Shdr *symtab,
			 const GElf_Shdr *strtab, size_t symsize, struct pending *p, size_t np,
			 const struct elffile_index *idx, bool any_slow, char *window, const char *source)
{
	char name[MAX_NAME_LEN + 1];
	struct elffile_syms it;
	GElf_Sym sym;
	int ret = 0;
	size_t j;

	elffile_syms_init(&it, f, symtab, symsize, window);
	while (!all_done(p, np) && (ret = elffile_syms_next(&it, &sym)) > 0) {
		const struct elffile_hit *hit;
		int type = GELF_ST_TYPE(sym.st_info);
		uint64_t offset;

		if (sym.st_shndx == SHN_UNDEF || (type != STT_FUNC && type != STT_OBJECT))
			continue;
		hit = elffile_index_find(idx, sym.st_name);
		if (!hit && !any_slow)
			continue;
		/* Functions must be in the file's bytes; objects may be in .bss. */
		if (elffile_addr_to_offset(target, sym.st_value, type == STT_FUNC, &offset) != 0)
			continue;
		for (; hit && hit < idx->hits + idx->count && hit->offset == sym.st_name; hit++)
			if (!p[hit->value].done)
				set_result(&p[hit->value], &sym, offset, source);
		for (j = 0; any_slow && j < np; j++)
			if (p[j].slow && !p[j].done && slow_match(f, strtab, &sym, &p[j], name))
				set_result(&p[j], &sym, offset, source);
	}
	return ret < 0 ? ret : 0;
}

/* Resolve the pending queries in the tables of type `type` (SHT_SYMTAB, SHT_DYNSYM) of `f`. */
static int scan_tables(const struct elffile *f, const struct elffile *target, GElf_Word type,
		       struct pending *p, size_t np, const char *source)
{
	size_t symsize = gelf_fsize(f->elf, ELF_T_SYM, 1, EV_CURRENT), lookahead = 0, i;
	struct elffile_index idx = {};
	struct elffile_window w = {};
	Elf_Scn *scn = NULL;
	int err = 0;

	if (!symsize)
		return -ENOEXEC;
	for (i = 0; i < np; i++)
		if (p[i].needle > lookahead)
			lookahead = p[i].needle;
	while (f->shnum && !all_done(p, np) && (scn = elf_nextscn(f->elf, scn))) {
		GElf_Shdr shdr, strtab;
		bool any_slow = false;

		if (!gelf_getshdr(scn, &shdr)) {
			err = -ENOEXEC;
			break;
		}
		/* A debug file's copy of .dynsym is SHT_NOBITS; a compressed table is none we can read. */
		if (shdr.sh_type != type || (shdr.sh_flags & SHF_COMPRESSED) || shdr.sh_size < symsize)
			continue;
		if (!elffile_linked_strtab(f, &shdr, &strtab))
			continue;
		if (!w.buf && (err = elffile_window_init(&w, lookahead)))
			break;
		for (i = 0; i < np; i++)
			p[i].slow = false;
		err = index_names(f, &strtab, p, np, &w, &idx);
		for (i = 0; i < np; i++)
			any_slow |= p[i].slow && !p[i].done;
		/* No name of interest: the symbols need not be read at all. */
		if (!err && (idx.count || any_slow))
			err = match_symbols(f, target, &shdr, &strtab, symsize, p, np, &idx, any_slow, w.buf,
					    source);
		if (err)
			break;
	}
	elffile_window_fini(&w);
	elffile_index_free(&idx);
	return err;
}

/* The section .gnu_debuglink: the debug file's name (no '/') and the CRC32 of its contents. */
static bool read_debuglink(const struct elffile *f, char *name, size_t len, uint32_t *crc)
{
	unsigned char buf[NAME_MAX + 1 + 4 + 4];
	size_t n, name_len, crc_at;
	GElf_Shdr shdr;

	if (!elffile_find_section(f, ".gnu_debuglink", &shdr) || shdr.sh_type == SHT_NOBITS)
		return false;
	n = shdr.sh_size < sizeof(buf) ? (size_t)shdr.sh_size : sizeof(buf);
	if (elffile_read_at(f, buf, n, shdr.sh_offset) != 0 || !memchr(buf, '\0', n))
		return false;
	name_len = strlen((const char *)buf);
	crc_at = (size_t)elffile_align_up(name_len + 1, 4);
	if (!name_len || name_len >= len || crc_at + 4 > n || memchr(buf, '/', name_len))
		return false;
	memcpy(name, buf, name_len + 1);
	*crc = (uint32_t)elffile_load_uint(f, buf + crc_at, 4);
	return true;
}

static int file_crc32(const struct elffile *f, uint32_t *crc)
{
	unsigned char *buf = malloc(ELFFILE_WINDOW);
	uLong value = crc32(0L, Z_NULL, 0);
	uint64_t pos;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	for (pos = 0; pos < f->size; pos += ELFFILE_WINDOW) {
		size_t n = f->size - pos < ELFFILE_WINDOW ? (size_t)(f->size - pos) : ELFFILE_WINDOW;

		err = elffile_read_at(f, buf, n, pos);
		if (err)
			break;
		value = crc32(value, buf, (uInt)n);
	}
	free(buf);
	*crc = (uint32_t)value;
	return err;
}

/* The directory of the file at `path`, to open files beside it. A symbolic link counts from the
 * directory of its target: /proc/PID/exe (what the engine passes) links to the executable's path in the
 * process's mount namespace, hence under `root`; so does an absolute link inside root. */
static int file_dir(const char *path, const char *root, char *dir, size_t len)
{
	char target[PATH_MAX];
	const char *slash = strrchr(path, '/'), *tslash;
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	int ret;

	if (n <= 0) {
		if (!slash)
			ret = snprintf(dir, len, ".");
		else
			ret = snprintf(dir, len, "%.*s", (int)(slash - path), path);
	} else {
		target[n] = '\0';
		tslash = strrchr(target, '/');
		if (target[0] == '/')
			ret = snprintf(dir, len, "%s%.*s", root, (int)(tslash - target), target);
		else if (!slash)
			ret = snprintf(dir, len, "%.*s", tslash ? (int)(tslash - target) : 1,
				       tslash ? target : ".");
		else
			ret = snprintf(dir, len, "%.*s%s%.*s", (int)(slash - path), path, tslash ? "/" : "",
				       tslash ? (int)(tslash - target) : 0, target);
	}
	return ret >= 0 && (size_t)ret < len ? 0 : -ENAMETOOLONG;
}

/* The separate debug file of `f`, opened into dbg: by build id under root, else by .gnu_debuglink
 * with its CRC. Returns the source name, or NULL (none found, or -ENOMEM in *err). */
static const char *open_debug_file(const struct elffile *f, const char *path, const char *root,
				   const unsigned char *id, int id_len, struct elffile *dbg, int *err)
{
	char candidate[PATH_MAX], dir[PATH_MAX], link[NAME_MAX + 1];
	const char *ns_dir;
	size_t root_len = strlen(root), i;
	uint32_t crc;

	*err = 0;
	if (id_len >= 2) {
		unsigned char dbg_id[ELFNOTES_MAX_BUILD_ID];
		char hex[2 * ELFNOTES_MAX_BUILD_ID + 1];

		elfnotes__hex(id, (size_t)id_len, hex);
		if ((size_t)snprintf(candidate, sizeof(candidate), "%s/usr/lib/debug/.build-id/%.2s/%s.debug",
				     root, hex, hex + 2) < sizeof(candidate) &&
		    elffile_open(candidate, -ENOEXEC, dbg) == 0) {
			/* A stale file left by another build must not lend us its addresses. */
			if (elfnotes__build_id(dbg, dbg_id) == id_len && memcmp(dbg_id, id, (size_t)id_len) == 0)
				return "build-id";
			elffile_close(dbg);
		}
	}

	if (!read_debuglink(f, link, sizeof(link), &crc))
		return NULL;
	if (file_dir(path, root, dir, sizeof(dir)) != 0)
		return NULL;
	/* The directory as the process sees it, for /usr/lib/debug/<dir>/. */
	ns_dir = dir;
	if (root_len && strncmp(dir, root, root_len) == 0 && (dir[root_len] == '/' || !dir[root_len]))
		ns_dir = dir + root_len;
	for (i = 0; i < 3; i++) {
		uint32_t file_crc;
		int n;

		if (i == 0)
			n = snprintf(candidate, sizeof(candidate), "%s/%s", dir, link);
		else if (i == 1)
			n = snprintf(candidate, sizeof(candidate), "%s/.debug/%s", dir, link);
		else if (ns_dir[0] == '/' || !ns_dir[0])
			n = snprintf(candidate, sizeof(candidate), "%s/usr/lib/debug%s/%s", root, ns_dir, link);
		else
			continue;
		if (n < 0 || (size_t)n >= sizeof(candidate) || elffile_open(candidate, -ENOEXEC, dbg) != 0)
			continue;
		/* The file itself, when the debug file's name is its own (dir/name). */
		if (dbg->st.st_dev == f->st.st_dev && dbg->st.st_ino == f->st.st_ino) {
			elffile_close(dbg);
			continue;
		}
		*err = file_crc32(dbg, &file_crc);
		if (!*err && file_crc == crc)
			return "debuglink";
		elffile_close(dbg);
		if (*err == -ENOMEM)
			return NULL;
		*err = 0;
	}
	return NULL;
}

/* ---- the cache ---- */

struct cache_entry {
	char *key;     /* file identity, '\n', 'p' (prefix) or 'e' (exact), the name */
	uint64_t used; /* for LRU eviction */
	int found;
	uint64_t addr, size, offset;
	char source[24];
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cache_entry cache[CACHE_MAX];
static size_t cache_count;
static uint64_t cache_tick;

void symbols__cache_clear(void)
{
	size_t i;

	pthread_mutex_lock(&cache_lock);
	for (i = 0; i < cache_count; i++)
		free(cache[i].key);
	cache_count = 0;
	pthread_mutex_unlock(&cache_lock);
}

static char *cache_key(const char *identity, const struct rtp_sym_query *q)
{
	char *key;

	if (asprintf(&key, "%s\n%c%s", identity, q->prefix ? 'p' : 'e', q->name) < 0)
		return NULL;
	return key;
}

/* Fills q from the cache: true if it was there. */
static bool cache_get(const char *identity, struct rtp_sym_query *q)
{
	char *key = cache_key(identity, q);
	bool hit = false;
	size_t i;

	if (!key)
		return false;
	pthread_mutex_lock(&cache_lock);
	for (i = 0; i < cache_count; i++) {
		struct cache_entry *e = &cache[i];

		if (strcmp(e->key, key) != 0)
			continue;
		e->used = ++cache_tick;
		q->found = e->found;
		q->addr = e->addr;
		q->size = e->size;
		q->offset = e->offset;
		memcpy(q->source, e->source, sizeof(q->source));
		hit = true;
		break;
	}
	pthread_mutex_unlock(&cache_lock);
	free(key);
	return hit;
}

/* A result, found or not; when the cache is full, in place of the least recently used. */
static void cache_put(const char *identity, const struct rtp_sym_query *q)
{
	char *key = cache_key(identity, q);
	struct cache_entry *e;
	size_t i;

	if (!key)
		return;
	pthread_mutex_lock(&cache_lock);
	for (i = 0; i < cache_count; i++)
		if (strcmp(cache[i].key, key) == 0)
			break;
	if (i < cache_count) {
		e = &cache[i];
		free(e->key);
	} else if (cache_count < CACHE_MAX) {
		e = &cache[cache_count++];
	} else {
		e = &cache[0];
		for (i = 1; i < cache_count; i++)
			if (cache[i].used < e->used)
				e = &cache[i];
		free(e->key);
	}
	e->key = key;
	e->used = ++cache_tick;
	e->found = q->found;
	e->addr = q->addr;
	e->size = q->size;
	e->offset = q->offset;
	memcpy(e->source, q->source, sizeof(e->source));
	pthread_mutex_unlock(&cache_lock);
}

/* ---- resolve ---- */

int symbols__resolve(const char *path, const char *root, struct rtp_sym_query *q, size_t nq)
{
	unsigned char id[ELFNOTES_MAX_BUILD_ID];
	char identity[2 * ELFNOTES_MAX_BUILD_ID + 64], root_dir[PATH_MAX];
	struct pending *p = NULL;
	struct elffile f, dbg = { .fd = -1 };
	size_t np = 0, i, found = 0;
	int id_len, err;

	if (!path || (nq && !q))
		return -EINVAL;
	for (i = 0; i < nq; i++) {
		size_t len = q[i].name ? strlen(q[i].name) : 0;

		if (!len || len > MAX_NAME_LEN)
			return -EINVAL;
		q[i].found = 0;
		q[i].addr = q[i].size = q[i].offset = 0;
		q[i].source[0] = '\0';
	}
	/* "/" and "" are the same root; without trailing '/' the search paths join with one. */
	if ((size_t)snprintf(root_dir, sizeof(root_dir), "%s", root ? root : "") >= sizeof(root_dir))
		return -ENAMETOOLONG;
	for (i = strlen(root_dir); i > 0 && root_dir[i - 1] == '/'; i--)
		root_dir[i - 1] = '\0';

	err = elffile_open(path, -ENOEXEC, &f);
	if (err)
		return err;
	id_len = elfnotes__build_id(&f, id);
	if (id_len < 0) {
		err = id_len;
		goto cleanup;
	}
	/* The build, not the path: 50 node processes of one binary share their results. The size tells
	 * a stripped copy from the unstripped one they were both made from. */
	if (id_len > 0) {
		identity[0] = 'b';
		elfnotes__hex(id, (size_t)id_len, identity + 1);
		snprintf(identity + 1 + 2 * id_len, sizeof(identity) - 1 - 2 * (size_t)id_len, ":%" PRIu64,
			 f.size);
	} else {
		snprintf(identity, sizeof(identity), "i%" PRIu64 ":%" PRIu64 ":%lld.%ld:%" PRIu64,
			 (uint64_t)f.st.st_dev, (uint64_t)f.st.st_ino, (long long)f.st.st_mtim.tv_sec,
			 f.st.st_mtim.tv_nsec, f.size);
	}

	p = calloc(nq ? nq : 1, sizeof(*p));
	if (!p) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < nq; i++) {
		if (cache_get(identity, &q[i]))
			continue;
		p[np].q = &q[i];
		p[np].needle = strlen(q[i].name) + !q[i].prefix;
		np++;
	}
	if (np) {
		err = scan_tables(&f, &f, SHT_SYMTAB, p, np, "symtab");
		if (!err)
			err = scan_tables(&f, &f, SHT_DYNSYM, p, np, "dynsym");
		if (!err && !all_done(p, np)) {
			const char *source = open_debug_file(&f, path, root_dir, id, id_len, &dbg, &err);

			/* A broken debug file is as good as none; only running out of memory is an error. */
			if (source && scan_tables(&dbg, &f, SHT_SYMTAB, p, np, source) == -ENOMEM)
				err = -ENOMEM;
			elffile_close(&dbg);
		}
		if (err)
			goto cleanup;
		for (i = 0; i < np; i++)
			cache_put(identity, p[i].q);
	}
	for (i = 0; i < nq; i++)
		found += q[i].found != 0;
	err = found > INT_MAX ? INT_MAX : (int)found;
cleanup:
	free(p);
	elffile_close(&f);
	return err;
}

/* ---- live processes ---- */

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

struct mapping_find {
	pid_t pid;
	const char *prefix;
	char *path;
	size_t len;
};

static int mapping_of(const struct proc_mapping *m, void *ctx)
{
	struct mapping_find *f = ctx;
	int n;

	if (m->path[0] != '/' || m->perms[2] != 'x' || strncmp(base_name(m->path), f->prefix, strlen(f->prefix)))
		return 0;
	/* Replaced or removed since mapped (an upgrade under a running node): the name now leads to another
	 * file or none, and uprobes go by inode; map_files opens the mapped one. */
	if (m->deleted)
		n = snprintf(f->path, f->len, "/proc/%d/map_files/%llx-%llx", (int)f->pid, (unsigned long long)m->start,
			     (unsigned long long)m->end);
	else
		n = snprintf(f->path, f->len, "/proc/%d/root%s", (int)f->pid, m->path);
	return n >= 0 && (size_t)n < f->len ? 1 : -ENAMETOOLONG;
}

int symbols__find_mapping(pid_t pid, const char *prefix, char *path, size_t len)
{
	struct mapping_find f = { pid, prefix, path, len };
	int r;

	if (pid <= 0 || !prefix || !path || !len)
		return -EINVAL;
	r = procfs__maps_each(pid, mapping_of, &f);
	return r > 0 ? 0 : r < 0 ? r : -ENOENT;
}
