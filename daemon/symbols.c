// SPDX-License-Identifier: LGPL-2.1-or-later
/* Symbol and USDT-note resolution for attaching uprobes: names to file offsets through .symtab, .dynsym
 * or a separate debug file, SystemTap SDT notes, build ids, and the files a live process maps.
 * The ELF files are outside input: every offset is checked against the file size first. Symbol and
 * string tables are read with pread in windows, never through libelf's mapping nor whole: node's .strtab
 * alone is 7.5 MB, and touched pages of a mapping count in rtprofd's RSS. */
#include "symbols.h"

#include <errno.h>
#include <fcntl.h>
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

/* Bytes of a table read at a time: the peak RSS a scan adds, whatever the table's size. */
#define SCAN_WINDOW (256 * 1024)
/* The longest name a query may have: string windows overlap by that much, so that a name that starts
 * in one window is seen whole. Mangled C++ names run to a few hundred bytes. */
#define MAX_NAME_LEN 4096
/* Where a query's name occurs in a string table, at most this many times; past that (a short prefix
 * such as "_Z" in node's 7.5 MB of names) its symbols' names are read one by one instead. */
#define MAX_HITS_PER_QUERY 4096
/* Notes are read through a buffer of this size; a larger note is none we use (build ids are 20
 * bytes, SDT notes a few dozen). */
#define NOTE_BUF 65536
/* Build ids are 20 bytes (SHA-1) by default; --build-id=0xHEX may give any length. */
#define MAX_BUILD_ID 64
/* Cached symbol results: enough for every query of a few dozen distinct binaries. */
#define CACHE_MAX 256

#define NT_STAPSDT 3
#define DELETED_SUFFIX " (deleted)"

struct load_seg {
	uint64_t vaddr, memsz, filesz, offset;
};

struct elf_file {
	int fd;
	Elf *elf;
	uint64_t size;
	struct stat st;
	GElf_Ehdr ehdr;
	size_t shnum, shstrndx;
	struct load_seg *segs; /* the PT_LOAD program headers */
	size_t nsegs;
};

static void elf_file_close(struct elf_file *f)
{
	if (f->elf)
		elf_end(f->elf);
	if (f->fd >= 0)
		close(f->fd);
	free(f->segs);
	f->elf = NULL;
	f->fd = -1;
	f->segs = NULL;
	f->nsegs = 0;
}

/* Section headers and contents, program headers, must lie inside the file: libelf would hand out
 * pointers past the mapping of a truncated copy. */
static int check_layout(struct elf_file *f)
{
	size_t shentsize, phentsize, phnum, i;
	uint64_t end;

	if (!gelf_getehdr(f->elf, &f->ehdr) || elf_getshdrnum(f->elf, &f->shnum) != 0 ||
	    elf_getphdrnum(f->elf, &phnum) != 0)
		return -ENOEXEC;

	if (phnum) {
		phentsize = gelf_fsize(f->elf, ELF_T_PHDR, 1, EV_CURRENT);
		if (f->ehdr.e_phentsize != phentsize || f->ehdr.e_phoff > f->size ||
		    __builtin_mul_overflow((uint64_t)phnum, (uint64_t)phentsize, &end) ||
		    __builtin_add_overflow(end, f->ehdr.e_phoff, &end) || end > f->size)
			return -ENOEXEC;
		f->segs = calloc(phnum, sizeof(*f->segs));
		if (!f->segs)
			return -ENOMEM;
		for (i = 0; i < phnum; i++) {
			GElf_Phdr phdr;

			if (!gelf_getphdr(f->elf, (int)i, &phdr))
				return -ENOEXEC;
			if (phdr.p_type != PT_LOAD || phdr.p_filesz > phdr.p_memsz)
				continue;
			f->segs[f->nsegs++] = (struct load_seg){ phdr.p_vaddr, phdr.p_memsz, phdr.p_filesz,
								 phdr.p_offset };
		}
	}

	/* libelf reports no sections, rather than an error, when the table lies past the end. */
	if (f->ehdr.e_shoff == 0) {
		f->shnum = 0;
		return 0;
	}
	if (f->shnum == 0)
		return -ENOEXEC;
	shentsize = gelf_fsize(f->elf, ELF_T_SHDR, 1, EV_CURRENT);
	if (f->ehdr.e_shentsize != shentsize || f->ehdr.e_shoff > f->size ||
	    __builtin_mul_overflow((uint64_t)f->shnum, (uint64_t)shentsize, &end) ||
	    __builtin_add_overflow(end, f->ehdr.e_shoff, &end) || end > f->size)
		return -ENOEXEC;
	if (elf_getshdrstrndx(f->elf, &f->shstrndx) != 0 || f->shstrndx >= f->shnum)
		return -ENOEXEC;
	for (i = 1; i < f->shnum; i++) {
		Elf_Scn *scn = elf_getscn(f->elf, i);
		GElf_Shdr shdr;

		if (!scn || !gelf_getshdr(scn, &shdr))
			return -ENOEXEC;
		if (shdr.sh_type == SHT_NOBITS)
			continue;
		if (__builtin_add_overflow(shdr.sh_offset, shdr.sh_size, &end) || end > f->size)
			return -ENOEXEC;
	}
	return 0;
}

static int elf_file_open(const char *path, struct elf_file *f)
{
	int err;

	*f = (struct elf_file){ .fd = -1 };
	/* O_NONBLOCK: a FIFO at the path must not hang us; it is rejected as not regular below. */
	f->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (f->fd < 0)
		return -errno;
	if (fstat(f->fd, &f->st) != 0) {
		err = -errno;
		goto cleanup;
	}
	if (!S_ISREG(f->st.st_mode)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	f->size = (uint64_t)f->st.st_size;
	if (elf_version(EV_CURRENT) == EV_NONE) {
		err = -ENOTSUP;
		goto cleanup;
	}
	/* Mapped, not read: ELF_C_READ would copy every section asked for. Only the headers and the
	 * section names are touched in the mapping; tables are read with pread. */
	f->elf = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
	if (!f->elf || elf_kind(f->elf) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto cleanup;
	}
	err = check_layout(f);
cleanup:
	if (err)
		elf_file_close(f);
	return err;
}

/* `len` bytes at `offset` of the file into buf; check_layout bounded section offsets by its size. */
static int read_at(const struct elf_file *f, void *buf, size_t len, uint64_t offset)
{
	ssize_t n = pread(f->fd, buf, len, (off_t)offset);

	if (n < 0)
		return -errno;
	/* Short only if the file shrank since it was opened. */
	return (size_t)n == len ? 0 : -EIO;
}

/* An unsigned integer of `len` bytes in the file's byte order. */
static uint64_t load_uint(const struct elf_file *f, const unsigned char *bytes, size_t len)
{
	uint64_t value = 0;
	size_t i;

	for (i = 0; i < len; i++)
		value = value << 8 | bytes[f->ehdr.e_ident[EI_DATA] == ELFDATA2MSB ? i : len - 1 - i];
	return value;
}

static bool is_elf64(const struct elf_file *f)
{
	return f->ehdr.e_ident[EI_CLASS] == ELFCLASS64;
}

/* One symbol table entry in file format (Elf32_Sym or Elf64_Sym) to GElf_Sym. */
static void decode_sym(const struct elf_file *f, const unsigned char *raw, GElf_Sym *sym)
{
	sym->st_name = (GElf_Word)load_uint(f, raw, 4);
	if (is_elf64(f)) {
		sym->st_info = raw[4];
		sym->st_other = raw[5];
		sym->st_shndx = (GElf_Section)load_uint(f, raw + 6, 2);
		sym->st_value = load_uint(f, raw + 8, 8);
		sym->st_size = load_uint(f, raw + 16, 8);
	} else {
		sym->st_value = load_uint(f, raw + 4, 4);
		sym->st_size = load_uint(f, raw + 8, 4);
		sym->st_info = raw[12];
		sym->st_other = raw[13];
		sym->st_shndx = (GElf_Section)load_uint(f, raw + 14, 2);
	}
}

/* The file offset of a link-time address, through the PT_LOAD segment that holds it; `in_file`: the
 * address must be backed by file bytes (code, initialized data), not only by memory (.bss). */
static int addr_to_offset(const struct elf_file *f, uint64_t addr, bool in_file, uint64_t *offset)
{
	size_t i;

	for (i = 0; i < f->nsegs; i++) {
		const struct load_seg *seg = &f->segs[i];
		uint64_t delta = addr - seg->vaddr;

		if (addr < seg->vaddr || delta >= (in_file ? seg->filesz : seg->memsz))
			continue;
		if (__builtin_add_overflow(seg->offset, delta, offset))
			continue;
		return 0;
	}
	return -ENOENT;
}

static const char *section_name(const struct elf_file *f, const GElf_Shdr *shdr)
{
	return f->shnum ? elf_strptr(f->elf, f->shstrndx, shdr->sh_name) : NULL;
}

static bool find_section(const struct elf_file *f, const char *name, GElf_Shdr *shdr)
{
	Elf_Scn *scn = NULL;

	if (!f->shnum)
		return false;
	while ((scn = elf_nextscn(f->elf, scn))) {
		const char *scn_name;

		if (!gelf_getshdr(scn, shdr))
			return false;
		scn_name = section_name(f, shdr);
		if (scn_name && strcmp(scn_name, name) == 0)
			return true;
	}
	return false;
}

/* ---- notes ---- */

/* The notes of one SHT_NOTE section or PT_NOTE segment, read through a buffer of NOTE_BUF bytes. */
struct note_iter {
	const struct elf_file *f;
	uint64_t start, size, align; /* the section's bytes in the file */
	uint64_t pos;                /* the next note, from start */
	unsigned char *buf;
	uint64_t buf_pos; /* buf holds [buf_pos, buf_pos + buf_len) of the section */
	size_t buf_len;
};

struct note {
	uint32_t type, namesz, descsz;
	const char *name;           /* NULL for a note larger than the buffer */
	const unsigned char *desc;
};

static int note_iter_init(struct note_iter *it, const struct elf_file *f, uint64_t start, uint64_t size,
			  uint64_t align)
{
	*it = (struct note_iter){ .f = f, .start = start, .size = size, .align = align == 8 ? 8 : 4 };
	it->buf = malloc(NOTE_BUF);
	return it->buf ? 0 : -ENOMEM;
}

static void note_iter_fini(struct note_iter *it)
{
	free(it->buf);
	it->buf = NULL;
}

/* Section bytes [pos, pos + len) in the buffer; len <= NOTE_BUF and pos + len <= size. */
static const unsigned char *note_bytes(struct note_iter *it, uint64_t pos, size_t len)
{
	size_t n;

	if (pos >= it->buf_pos && pos - it->buf_pos + len <= it->buf_len)
		return it->buf + (pos - it->buf_pos);
	n = it->size - pos < NOTE_BUF ? (size_t)(it->size - pos) : NOTE_BUF;
	if (read_at(it->f, it->buf, n, it->start + pos) != 0)
		return NULL;
	it->buf_pos = pos;
	it->buf_len = n;
	return it->buf;
}

static uint64_t align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

/* The next note: 1, 0 at the end (or at a note that runs past it), -errno. */
static int note_next(struct note_iter *it, struct note *n)
{
	const unsigned char *hdr, *bytes;
	uint64_t name_pos, desc_pos, end;

	if (it->pos > it->size || it->size - it->pos < 12)
		return 0;
	hdr = note_bytes(it, it->pos, 12);
	if (!hdr)
		return -EIO;
	/* Elf32_Nhdr and Elf64_Nhdr are the same three 32-bit words. */
	n->namesz = (uint32_t)load_uint(it->f, hdr, 4);
	n->descsz = (uint32_t)load_uint(it->f, hdr + 4, 4);
	n->type = (uint32_t)load_uint(it->f, hdr + 8, 4);
	name_pos = it->pos + 12;
	desc_pos = align_up(name_pos + n->namesz, it->align);
	end = desc_pos + n->descsz; /* no overflow: the sizes are 32 bits, the section is in the file */
	if (end > it->size)
		return 0;
	n->name = NULL;
	n->desc = NULL;
	if (end - name_pos <= NOTE_BUF) {
		bytes = note_bytes(it, name_pos, (size_t)(end - name_pos));
		if (!bytes)
			return -EIO;
		n->name = (const char *)bytes;
		n->desc = bytes + (desc_pos - name_pos);
	}
	it->pos = align_up(end, it->align);
	return 1;
}

static bool note_is(const struct note *n, const char *owner, uint32_t type)
{
	size_t len = strlen(owner) + 1;

	return n->name && n->type == type && n->namesz == len && memcmp(n->name, owner, len) == 0;
}

/* The NT_GNU_BUILD_ID among the notes at [start, start + size) of the file: its length, 0, -errno. */
static int build_id_in(const struct elf_file *f, uint64_t start, uint64_t size, uint64_t align,
		       unsigned char id[MAX_BUILD_ID])
{
	struct note_iter it;
	struct note n;
	int ret;

	ret = note_iter_init(&it, f, start, size, align);
	if (ret)
		return ret;
	while ((ret = note_next(&it, &n)) > 0) {
		if (note_is(&n, "GNU", NT_GNU_BUILD_ID) && n.descsz > 0 && n.descsz <= MAX_BUILD_ID) {
			memcpy(id, n.desc, n.descsz);
			ret = (int)n.descsz;
			break;
		}
	}
	note_iter_fini(&it);
	return ret;
}

/* The NT_GNU_BUILD_ID of the file: in a SHT_NOTE section, else (no section headers) in a PT_NOTE
 * segment. Returns its length, 0 if none, or -errno. */
static int read_build_id(const struct elf_file *f, unsigned char id[MAX_BUILD_ID])
{
	Elf_Scn *scn = NULL;
	size_t phnum, i;
	int ret = 0;

	if (f->shnum) {
		while (!ret && (scn = elf_nextscn(f->elf, scn))) {
			GElf_Shdr shdr;

			if (!gelf_getshdr(scn, &shdr))
				return -ENOEXEC;
			if (shdr.sh_type == SHT_NOTE)
				ret = build_id_in(f, shdr.sh_offset, shdr.sh_size, shdr.sh_addralign, id);
		}
		return ret;
	}
	if (elf_getphdrnum(f->elf, &phnum) != 0)
		return 0;
	for (i = 0; !ret && i < phnum; i++) {
		GElf_Phdr phdr;
		uint64_t end;

		if (!gelf_getphdr(f->elf, (int)i, &phdr) || phdr.p_type != PT_NOTE)
			continue;
		/* check_layout bounded the program headers, not the segments. */
		if (__builtin_add_overflow(phdr.p_offset, phdr.p_filesz, &end) || end > f->size)
			continue;
		ret = build_id_in(f, phdr.p_offset, phdr.p_filesz, phdr.p_align, id);
	}
	return ret;
}

static void to_hex(const unsigned char *bytes, size_t len, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		hex[2 * i] = digits[bytes[i] >> 4];
		hex[2 * i + 1] = digits[bytes[i] & 0xf];
	}
	hex[2 * len] = '\0';
}

int symbols__build_id(const char *path, char *hex, size_t len)
{
	unsigned char id[MAX_BUILD_ID];
	struct elf_file f;
	int n;

	if (!path || !hex || !len)
		return -EINVAL;
	n = elf_file_open(path, &f);
	if (n)
		return n;
	n = read_build_id(&f, id);
	elf_file_close(&f);
	if (n <= 0)
		return n ? n : -ENOENT;
	if ((size_t)n * 2 + 1 > len)
		return -ENOSPC;
	to_hex(id, (size_t)n, hex);
	return 0;
}

/* ---- USDT ---- */

/* One SDT note, its strings pointing into the note buffer (valid until the next note). */
struct sdt_probe {
	const char *provider, *name, *args;
	uint64_t pc, semaphore, offset, semaphore_offset;
};

/* The probe of a stapsdt note: 0, or -EINVAL for a malformed note or one whose pc is in no PT_LOAD
 * segment (nothing to attach to). `base`: the .stapsdt.base section, if any. */
static int sdt_from_note(const struct elf_file *f, const struct note *n, const GElf_Shdr *base,
			 struct sdt_probe *p)
{
	size_t addr_size = is_elf64(f) ? 8 : 4;
	const char *s, *end;
	uint64_t note_base;

	if (!note_is(n, "stapsdt", NT_STAPSDT) || n->descsz < 3 * addr_size)
		return -EINVAL;
	p->pc = load_uint(f, n->desc, addr_size);
	note_base = load_uint(f, n->desc + addr_size, addr_size);
	p->semaphore = load_uint(f, n->desc + 2 * addr_size, addr_size);
	/* provider NUL name NUL [args NUL]: both names non-empty and terminated inside the note. */
	s = (const char *)n->desc + 3 * addr_size;
	end = (const char *)n->desc + n->descsz;
	p->provider = s;
	if (s >= end || !*s || !(s = memchr(s, '\0', (size_t)(end - s))) || ++s >= end || !*s)
		return -EINVAL;
	p->name = s;
	if (!(s = memchr(s, '\0', (size_t)(end - s))))
		return -EINVAL;
	p->args = ++s < end && memchr(s, '\0', (size_t)(end - s)) ? s : "";
	/* SDT spec: prelink moves sections but not the (unallocated) notes; the note's base is the
	 * link-time address of .stapsdt.base, so the difference is how far the probe moved. */
	if (base && note_base) {
		p->pc += base->sh_addr - note_base;
		if (p->semaphore)
			p->semaphore += base->sh_addr - note_base;
	}
	if (addr_to_offset(f, p->pc, true, &p->offset) != 0)
		return -EINVAL;
	/* The kernel's ref_ctr_offset counts in the file's page: a semaphore in .bss is none. */
	if (!p->semaphore || addr_to_offset(f, p->semaphore, true, &p->semaphore_offset) != 0)
		p->semaphore_offset = 0;
	return 0;
}

/* Calls fn for every SDT probe of the file until fn returns non-zero; returns that, 0 or -errno. */
static int for_each_sdt(const struct elf_file *f, int (*fn)(const struct sdt_probe *p, void *ctx),
			void *ctx)
{
	GElf_Shdr base;
	bool has_base;
	Elf_Scn *scn = NULL;
	int ret = 0;

	if (!f->shnum)
		return 0;
	has_base = find_section(f, ".stapsdt.base", &base);
	while (!ret && (scn = elf_nextscn(f->elf, scn))) {
		struct note_iter it;
		struct sdt_probe p;
		GElf_Shdr shdr;
		struct note n;

		if (!gelf_getshdr(scn, &shdr))
			return -ENOEXEC;
		if (shdr.sh_type != SHT_NOTE)
			continue;
		ret = note_iter_init(&it, f, shdr.sh_offset, shdr.sh_size, shdr.sh_addralign);
		if (ret)
			return ret;
		while ((ret = note_next(&it, &n)) > 0)
			if (sdt_from_note(f, &n, has_base ? &base : NULL, &p) == 0 && (ret = fn(&p, ctx)))
				break;
		note_iter_fini(&it);
	}
	return ret;
}

struct usdt_list_ctx {
	struct rtp_usdt_probe *out;
	size_t max, count;
};

static int usdt_list_one(const struct sdt_probe *p, void *data)
{
	struct usdt_list_ctx *ctx = data;

	if (ctx->count < ctx->max) {
		struct rtp_usdt_probe *o = &ctx->out[ctx->count];

		memset(o, 0, sizeof(*o));
		snprintf(o->provider, sizeof(o->provider), "%s", p->provider);
		snprintf(o->name, sizeof(o->name), "%s", p->name);
		snprintf(o->args, sizeof(o->args), "%s", p->args);
		o->pc = p->pc;
		o->offset = p->offset;
		o->semaphore = p->semaphore;
		o->semaphore_offset = p->semaphore_offset;
	}
	if (ctx->count == INT_MAX)
		return -EOVERFLOW;
	ctx->count++;
	return 0;
}

int symbols__usdt_list(const char *path, struct rtp_usdt_probe *out, size_t max)
{
	struct usdt_list_ctx ctx = { out, out ? max : 0, 0 };
	struct elf_file f;
	int err;

	if (!path)
		return -EINVAL;
	err = elf_file_open(path, &f);
	if (err)
		return err;
	err = for_each_sdt(&f, usdt_list_one, &ctx);
	elf_file_close(&f);
	return err < 0 ? err : (int)ctx.count;
}

struct has_usdt_ctx {
	const char *provider, *name;
};

static int has_usdt_one(const struct sdt_probe *p, void *data)
{
	const struct has_usdt_ctx *ctx = data;

	return strcmp(p->provider, ctx->provider) == 0 && strcmp(p->name, ctx->name) == 0;
}

int symbols__has_usdt(const char *path, const char *provider, const char *name)
{
	struct has_usdt_ctx ctx = { provider, name };
	struct elf_file f;
	int err;

	if (!path || !provider || !name)
		return -EINVAL;
	err = elf_file_open(path, &f);
	if (err)
		return err;
	err = for_each_sdt(&f, has_usdt_one, &ctx);
	elf_file_close(&f);
	return err;
}

/* ---- symbols ---- */

/* A query still to resolve in the table being scanned. */
struct pending {
	struct rtp_sym_query *q;
	size_t needle;  /* bytes matched in the string table: the name, and its NUL unless a prefix */
	size_t hits;    /* occurrences indexed in the current table */
	bool slow;      /* too many occurrences: names compared symbol by symbol */
	bool done;
};

/* Where in the string table a query's needle starts; st_name is 32 bits in both classes. */
struct name_hit {
	uint32_t offset;
	uint32_t query; /* index in the pending array */
};

struct name_index {
	struct name_hit *hits;
	size_t count, cap;
};

static int add_hit(struct name_index *idx, uint64_t offset, size_t query)
{
	if (idx->count == idx->cap) {
		size_t cap = idx->cap ? idx->cap * 2 : 64;
		struct name_hit *hits = reallocarray(idx->hits, cap, sizeof(*hits));

		if (!hits)
			return -ENOMEM;
		idx->hits = hits;
		idx->cap = cap;
	}
	idx->hits[idx->count++] = (struct name_hit){ (uint32_t)offset, (uint32_t)query };
	return 0;
}

static int compare_hit(const void *a, const void *b)
{
	const struct name_hit *x = a, *y = b;

	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return x->query < y->query ? -1 : x->query > y->query;
}

/* Every offset of the string table where a pending name starts, the tails of longer strings included
 * (linkers merge "xuv_run" into "uv_run"; a prefix may start anywhere). The table is read once, in
 * windows that overlap by the longest needle, so that symbols are then matched by st_name alone. */
static int index_names(const struct elf_file *f, const GElf_Shdr *strtab, struct pending *p, size_t np,
		       char *window, size_t lookahead, struct name_index *idx)
{
	uint64_t start;
	size_t i, kept;
	int err;

	idx->count = 0;
	for (i = 0; i < np; i++)
		p[i].hits = 0;
	for (start = 0; start < strtab->sh_size; start += SCAN_WINDOW) {
		uint64_t left = strtab->sh_size - start;
		size_t len = left < SCAN_WINDOW + lookahead ? (size_t)left : SCAN_WINDOW + lookahead;
		const char *end = window + len, *owned_end = window + (len < SCAN_WINDOW ? len : SCAN_WINDOW);

		err = read_at(f, window, len, strtab->sh_offset + start);
		if (err)
			return err;
		for (i = 0; i < np; i++) {
			const char *s;

			if (p[i].done || p[i].slow)
				continue;
			/* Matches starting past owned_end are the next window's. */
			for (s = window; s < owned_end && (s = memmem(s, (size_t)(end - s), p[i].q->name,
								      p[i].needle)) && s < owned_end;
			     s++) {
				if (start + (uint64_t)(s - window) > UINT32_MAX)
					break;
				if (++p[i].hits > MAX_HITS_PER_QUERY) {
					p[i].slow = true;
					break;
				}
				err = add_hit(idx, start + (uint64_t)(s - window), i);
				if (err)
					return err;
			}
		}
	}
	/* The slow queries' hits are not needed: their names are compared symbol by symbol. */
	for (i = kept = 0; i < idx->count; i++)
		if (!p[idx->hits[i].query].slow)
			idx->hits[kept++] = idx->hits[i];
	idx->count = kept;
	if (idx->count)
		qsort(idx->hits, idx->count, sizeof(*idx->hits), compare_hit);
	return 0;
}

/* The first hit at `offset` or past it. */
static const struct name_hit *first_hit(const struct name_index *idx, uint32_t offset)
{
	size_t lo = 0, hi = idx->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (idx->hits[mid].offset < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return idx->hits + lo;
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
static bool slow_match(const struct elf_file *f, const GElf_Shdr *strtab, const GElf_Sym *sym,
		       const struct pending *p, char *buf)
{
	if (sym->st_name >= strtab->sh_size || strtab->sh_size - sym->st_name < p->needle)
		return false;
	return read_at(f, buf, p->needle, strtab->sh_offset + sym->st_name) == 0 &&
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
static int match_symbols(const struct elf_file *f, const struct elf_file *target, const GElf_Shdr *symtab,
			 const GElf_Shdr *strtab, size_t symsize, struct pending *p, size_t np,
			 const struct name_index *idx, bool any_slow, char *window, const char *source)
{
	uint64_t count = symtab->sh_size / symsize, first;
	size_t per_window = SCAN_WINDOW / symsize, i, j;
	char name[MAX_NAME_LEN + 1];

	for (first = 0; first < count && !all_done(p, np); first += per_window) {
		size_t n = count - first < per_window ? (size_t)(count - first) : per_window;
		int err = read_at(f, window, n * symsize, symtab->sh_offset + first * symsize);

		if (err)
			return err;
		for (i = 0; i < n; i++) {
			const struct name_hit *hit;
			uint64_t offset;
			GElf_Sym sym;
			int type;

			decode_sym(f, (const unsigned char *)window + i * symsize, &sym);
			type = GELF_ST_TYPE(sym.st_info);
			if (sym.st_shndx == SHN_UNDEF || (type != STT_FUNC && type != STT_OBJECT))
				continue;
			/* hits is NULL when empty, and NULL + 0 is undefined. */
			hit = idx->count ? first_hit(idx, sym.st_name) : NULL;
			if (hit && (hit == idx->hits + idx->count || hit->offset != sym.st_name))
				hit = NULL;
			if (!hit && !any_slow)
				continue;
			/* Functions must be in the file's bytes; objects may be in .bss. */
			if (addr_to_offset(target, sym.st_value, type == STT_FUNC, &offset) != 0)
				continue;
			for (; hit && hit < idx->hits + idx->count && hit->offset == sym.st_name; hit++)
				if (!p[hit->query].done)
					set_result(&p[hit->query], &sym, offset, source);
			for (j = 0; any_slow && j < np; j++)
				if (p[j].slow && !p[j].done && slow_match(f, strtab, &sym, &p[j], name))
					set_result(&p[j], &sym, offset, source);
		}
	}
	return 0;
}

/* Resolve the pending queries in the tables of type `type` (SHT_SYMTAB, SHT_DYNSYM) of `f`. */
static int scan_tables(const struct elf_file *f, const struct elf_file *target, GElf_Word type,
		       struct pending *p, size_t np, const char *source)
{
	size_t symsize = gelf_fsize(f->elf, ELF_T_SYM, 1, EV_CURRENT), lookahead = 0, i;
	struct name_index idx = {};
	Elf_Scn *scn = NULL;
	char *window = NULL;
	int err = 0;

	if (!symsize)
		return -ENOEXEC;
	for (i = 0; i < np; i++)
		if (p[i].needle > lookahead)
			lookahead = p[i].needle;
	while (f->shnum && !all_done(p, np) && (scn = elf_nextscn(f->elf, scn))) {
		GElf_Shdr shdr, strtab;
		Elf_Scn *strscn;
		bool any_slow = false;

		if (!gelf_getshdr(scn, &shdr)) {
			err = -ENOEXEC;
			break;
		}
		/* A debug file's copy of .dynsym is SHT_NOBITS; a compressed table is none we can read. */
		if (shdr.sh_type != type || (shdr.sh_flags & SHF_COMPRESSED) || shdr.sh_size < symsize)
			continue;
		/* Names in a section that is no string table resolve to nothing, as with elf_strptr. */
		if (shdr.sh_link == 0 || shdr.sh_link >= f->shnum)
			continue;
		strscn = elf_getscn(f->elf, shdr.sh_link);
		if (!strscn || !gelf_getshdr(strscn, &strtab) || strtab.sh_type != SHT_STRTAB ||
		    (strtab.sh_flags & SHF_COMPRESSED))
			continue;
		if (!window && !(window = malloc(SCAN_WINDOW + lookahead))) {
			err = -ENOMEM;
			break;
		}
		for (i = 0; i < np; i++)
			p[i].slow = false;
		err = index_names(f, &strtab, p, np, window, lookahead, &idx);
		for (i = 0; i < np; i++)
			any_slow |= p[i].slow && !p[i].done;
		/* No name of interest: the symbols need not be read at all. */
		if (!err && (idx.count || any_slow))
			err = match_symbols(f, target, &shdr, &strtab, symsize, p, np, &idx, any_slow, window,
					    source);
		if (err)
			break;
	}
	free(window);
	free(idx.hits);
	return err;
}

/* The section .gnu_debuglink: the debug file's name (no '/') and the CRC32 of its contents. */
static bool read_debuglink(const struct elf_file *f, char *name, size_t len, uint32_t *crc)
{
	unsigned char buf[NAME_MAX + 1 + 4 + 4];
	size_t n, name_len, crc_at;
	GElf_Shdr shdr;

	if (!find_section(f, ".gnu_debuglink", &shdr) || shdr.sh_type == SHT_NOBITS)
		return false;
	n = shdr.sh_size < sizeof(buf) ? (size_t)shdr.sh_size : sizeof(buf);
	if (read_at(f, buf, n, shdr.sh_offset) != 0 || !memchr(buf, '\0', n))
		return false;
	name_len = strlen((const char *)buf);
	crc_at = (size_t)align_up(name_len + 1, 4);
	if (!name_len || name_len >= len || crc_at + 4 > n || memchr(buf, '/', name_len))
		return false;
	memcpy(name, buf, name_len + 1);
	*crc = (uint32_t)load_uint(f, buf + crc_at, 4);
	return true;
}

static int file_crc32(const struct elf_file *f, uint32_t *crc)
{
	unsigned char *buf = malloc(SCAN_WINDOW);
	uLong value = crc32(0L, Z_NULL, 0);
	uint64_t pos;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	for (pos = 0; pos < f->size; pos += SCAN_WINDOW) {
		size_t n = f->size - pos < SCAN_WINDOW ? (size_t)(f->size - pos) : SCAN_WINDOW;

		err = read_at(f, buf, n, pos);
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
static const char *open_debug_file(const struct elf_file *f, const char *path, const char *root,
				   const unsigned char *id, int id_len, struct elf_file *dbg, int *err)
{
	char candidate[PATH_MAX], dir[PATH_MAX], link[NAME_MAX + 1];
	const char *ns_dir;
	size_t root_len = strlen(root), i;
	uint32_t crc;

	*err = 0;
	if (id_len >= 2) {
		unsigned char dbg_id[MAX_BUILD_ID];
		char hex[2 * MAX_BUILD_ID + 1];

		to_hex(id, (size_t)id_len, hex);
		if ((size_t)snprintf(candidate, sizeof(candidate), "%s/usr/lib/debug/.build-id/%.2s/%s.debug",
				     root, hex, hex + 2) < sizeof(candidate) &&
		    elf_file_open(candidate, dbg) == 0) {
			/* A stale file left by another build must not lend us its addresses. */
			if (read_build_id(dbg, dbg_id) == id_len && memcmp(dbg_id, id, (size_t)id_len) == 0)
				return "build-id";
			elf_file_close(dbg);
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
		if (n < 0 || (size_t)n >= sizeof(candidate) || elf_file_open(candidate, dbg) != 0)
			continue;
		/* The file itself, when the debug file's name is its own (dir/name). */
		if (dbg->st.st_dev == f->st.st_dev && dbg->st.st_ino == f->st.st_ino) {
			elf_file_close(dbg);
			continue;
		}
		*err = file_crc32(dbg, &file_crc);
		if (!*err && file_crc == crc)
			return "debuglink";
		elf_file_close(dbg);
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
	unsigned char id[MAX_BUILD_ID];
	char identity[2 * MAX_BUILD_ID + 64], root_dir[PATH_MAX];
	struct pending *p = NULL;
	struct elf_file f, dbg = { .fd = -1 };
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

	err = elf_file_open(path, &f);
	if (err)
		return err;
	id_len = read_build_id(&f, id);
	if (id_len < 0) {
		err = id_len;
		goto cleanup;
	}
	/* The build, not the path: 50 node processes of one binary share their results. The size tells
	 * a stripped copy from the unstripped one they were both made from. */
	if (id_len > 0) {
		identity[0] = 'b';
		to_hex(id, (size_t)id_len, identity + 1);
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
			elf_file_close(&dbg);
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
	elf_file_close(&f);
	return err;
}

/* ---- live processes ---- */

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

int symbols__find_mapping(pid_t pid, const char *prefix, char *path, size_t len)
{
	char maps_path[32], *line = NULL;
	size_t cap = 0, plen;
	FILE *maps;
	int err = -ENOENT;

	if (pid <= 0 || !prefix || !path || !len)
		return -EINVAL;
	plen = strlen(prefix);
	snprintf(maps_path, sizeof(maps_path), "/proc/%d/maps", (int)pid);
	maps = fopen(maps_path, "re");
	if (!maps)
		return errno == ENOENT ? -ESRCH : -errno;
	while (getline(&line, &cap, maps) > 0) {
		/* "START-END PERMS OFFSET DEV INODE PATH": the fields before the path hold no '/'. */
		char *file = strchr(line, '/'), *perms = strchr(line, ' ');
		size_t flen, dlen = strlen(DELETED_SUFFIX);
		int n;

		if (!file || !perms || perms > file || strlen(perms) < 4 || perms[3] != 'x')
			continue;
		file[strcspn(file, "\n")] = '\0';
		if (strncmp(base_name(file), prefix, plen) != 0)
			continue;
		flen = strlen(file);
		/* Replaced or removed since mapped (an upgrade under a running node): the name now leads
		 * to another file or none, and uprobes go by inode; map_files opens the mapped one. */
		if (flen > dlen && strcmp(file + flen - dlen, DELETED_SUFFIX) == 0)
			n = snprintf(path, len, "/proc/%d/map_files/%.*s", (int)pid, (int)(perms - line), line);
		else
			n = snprintf(path, len, "/proc/%d/root%s", (int)pid, file);
		err = n >= 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
		break;
	}
	if (err == -ENOENT && ferror(maps))
		err = errno == ESRCH ? -ESRCH : -EIO;
	free(line);
	fclose(maps);
	return err;
}
