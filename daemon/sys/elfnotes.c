// SPDX-License-Identifier: LGPL-2.1-or-later
/* The notes of an ELF file: its build id (NT_GNU_BUILD_ID) and its SystemTap SDT probes (USDT), with
 * the .stapsdt.base adjustment and semaphores. The file is outside input: every offset is checked
 * against its size first, and notes are read through a bounded buffer. */
#include "sys/elfnotes.h"

#include "sys/elffile.h"
#include "sys/symbols.h"

#include <errno.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Notes are read through a buffer of this size; a larger note is none we use (build ids are 20
 * bytes, SDT notes a few dozen). */
#define NOTE_BUF 65536
#define NT_STAPSDT 3

/* ---- notes ---- */

/* The notes of one SHT_NOTE section or PT_NOTE segment, read through a buffer of NOTE_BUF bytes. */
struct note_iter {
	const struct elffile *f;
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

static int note_iter_init(struct note_iter *it, const struct elffile *f, uint64_t start, uint64_t size,
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
	if (elffile_read_at(it->f, it->buf, n, it->start + pos) != 0)
		return NULL;
	it->buf_pos = pos;
	it->buf_len = n;
	return it->buf;
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
	n->namesz = (uint32_t)elffile_load_uint(it->f, hdr, 4);
	n->descsz = (uint32_t)elffile_load_uint(it->f, hdr + 4, 4);
	n->type = (uint32_t)elffile_load_uint(it->f, hdr + 8, 4);
	name_pos = it->pos + 12;
	desc_pos = elffile_align_up(name_pos + n->namesz, it->align);
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
	it->pos = elffile_align_up(end, it->align);
	return 1;
}

static bool note_is(const struct note *n, const char *owner, uint32_t type)
{
	size_t len = strlen(owner) + 1;

	return n->name && n->type == type && n->namesz == len && memcmp(n->name, owner, len) == 0;
}

/* The NT_GNU_BUILD_ID among the notes at [start, start + size) of the file: its length, 0, -errno. */
static int build_id_in(const struct elffile *f, uint64_t start, uint64_t size, uint64_t align,
		       unsigned char id[ELFNOTES_MAX_BUILD_ID])
{
	struct note_iter it;
	struct note n;
	int ret;

	ret = note_iter_init(&it, f, start, size, align);
	if (ret)
		return ret;
	while ((ret = note_next(&it, &n)) > 0) {
		if (note_is(&n, "GNU", NT_GNU_BUILD_ID) && n.descsz > 0 && n.descsz <= ELFNOTES_MAX_BUILD_ID) {
			memcpy(id, n.desc, n.descsz);
			ret = (int)n.descsz;
			break;
		}
	}
	note_iter_fini(&it);
	return ret;
}

int elfnotes__build_id(const struct elffile *f, unsigned char id[ELFNOTES_MAX_BUILD_ID])
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
		/* elffile_open bounded the program headers, not the segments. */
		if (__builtin_add_overflow(phdr.p_offset, phdr.p_filesz, &end) || end > f->size)
			continue;
		ret = build_id_in(f, phdr.p_offset, phdr.p_filesz, phdr.p_align, id);
	}
	return ret;
}

void elfnotes__hex(const unsigned char *bytes, size_t len, char *hex)
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
	unsigned char id[ELFNOTES_MAX_BUILD_ID];
	struct elffile f;
	int n;

	if (!path || !hex || !len)
		return -EINVAL;
	n = elffile_open(path, -ENOEXEC, &f);
	if (n)
		return n;
	n = elfnotes__build_id(&f, id);
	elffile_close(&f);
	if (n <= 0)
		return n ? n : -ENOENT;
	if ((size_t)n * 2 + 1 > len)
		return -ENOSPC;
	elfnotes__hex(id, (size_t)n, hex);
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
static int sdt_from_note(const struct elffile *f, const struct note *n, const GElf_Shdr *base,
			 struct sdt_probe *p)
{
	size_t addr_size = elffile_is64(f) ? 8 : 4;
	const char *s, *end;
	uint64_t note_base;

	if (!note_is(n, "stapsdt", NT_STAPSDT) || n->descsz < 3 * addr_size)
		return -EINVAL;
	p->pc = elffile_load_uint(f, n->desc, addr_size);
	note_base = elffile_load_uint(f, n->desc + addr_size, addr_size);
	p->semaphore = elffile_load_uint(f, n->desc + 2 * addr_size, addr_size);
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
	if (elffile_addr_to_offset(f, p->pc, true, &p->offset) != 0)
		return -EINVAL;
	/* The kernel's ref_ctr_offset counts in the file's page: a semaphore in .bss is none. */
	if (!p->semaphore || elffile_addr_to_offset(f, p->semaphore, true, &p->semaphore_offset) != 0)
		p->semaphore_offset = 0;
	return 0;
}

/* Calls fn for every SDT probe of the file until fn returns non-zero; returns that, 0 or -errno. */
static int for_each_sdt(const struct elffile *f, int (*fn)(const struct sdt_probe *p, void *ctx),
			void *ctx)
{
	GElf_Shdr base;
	bool has_base;
	Elf_Scn *scn = NULL;
	int ret = 0;

	if (!f->shnum)
		return 0;
	has_base = elffile_find_section(f, ".stapsdt.base", &base);
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
	struct elffile f;
	int err;

	if (!path)
		return -EINVAL;
	err = elffile_open(path, -ENOEXEC, &f);
	if (err)
		return err;
	err = for_each_sdt(&f, usdt_list_one, &ctx);
	elffile_close(&f);
	return err < 0 ? err : (int)ctx.count;
}
