// SPDX-License-Identifier: LGPL-2.1-or-later
/* The ELF reader of runtime detection and symbol resolution (elffile.h). */
#include "sys/elffile.h"
#include "base/clock.h"
#include "base/vec.h"

#include <errno.h>
#include <fcntl.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void elffile_close(struct elffile *f)
{
	if (!f)
		return;
	if (f->elf)
		elf_end(f->elf);
	if (f->fd >= 0)
		close(f->fd);
	free(f->segs);
	free(f->budget);
	f->budget = NULL;
	f->elf = NULL;
	f->fd = -1;
	f->segs = NULL;
	f->nsegs = 0;
}

/* Program headers, section headers and section contents must lie inside the file: libelf would hand out
 * pointers past the mapping of a truncated copy. */
static int check_layout(struct elffile *f, int malformed)
{
	size_t shentsize, phentsize, phnum, i;
	uint64_t end;

	if (!gelf_getehdr(f->elf, &f->ehdr) || elf_getshdrnum(f->elf, &f->shnum) != 0 ||
	    elf_getphdrnum(f->elf, &phnum) != 0)
		return malformed;

	if (phnum) {
		phentsize = gelf_fsize(f->elf, ELF_T_PHDR, 1, EV_CURRENT);
		if (f->ehdr.e_phentsize != phentsize || f->ehdr.e_phoff > f->size ||
		    __builtin_mul_overflow((uint64_t)phnum, (uint64_t)phentsize, &end) ||
		    __builtin_add_overflow(end, f->ehdr.e_phoff, &end) || end > f->size)
			return malformed;
		f->segs = calloc(phnum, sizeof(*f->segs));
		if (!f->segs)
			return -ENOMEM;
		for (i = 0; i < phnum; i++) {
			GElf_Phdr phdr;

			if (!gelf_getphdr(f->elf, (int)i, &phdr))
				return malformed;
			if (phdr.p_type != PT_LOAD || phdr.p_filesz > phdr.p_memsz)
				continue;
			f->segs[f->nsegs++] = (struct elffile_seg){ phdr.p_vaddr, phdr.p_memsz, phdr.p_filesz,
								    phdr.p_offset };
		}
	}

	/* libelf reports no sections, rather than an error, when the table lies past the end. */
	if (f->ehdr.e_shoff == 0) {
		f->shnum = 0;
		return 0;
	}
	if (f->shnum == 0)
		return malformed;
	shentsize = gelf_fsize(f->elf, ELF_T_SHDR, 1, EV_CURRENT);
	if (f->ehdr.e_shentsize != shentsize || f->ehdr.e_shoff > f->size ||
	    __builtin_mul_overflow((uint64_t)f->shnum, (uint64_t)shentsize, &end) ||
	    __builtin_add_overflow(end, f->ehdr.e_shoff, &end) || end > f->size)
		return malformed;
	if (elf_getshdrstrndx(f->elf, &f->shstrndx) != 0 || f->shstrndx >= f->shnum)
		return malformed;
	{
		/* section names are looked up through libelf, which checks the whole table for a NUL */
		GElf_Shdr names;
		Elf_Scn *scn = elf_getscn(f->elf, f->shstrndx);

		if (!scn || !gelf_getshdr(scn, &names) || names.sh_size > ELFFILE_MAX_MAPPED_TABLE)
			return malformed;
	}
	for (i = 1; i < f->shnum; i++) {
		Elf_Scn *scn = elf_getscn(f->elf, i);
		GElf_Shdr shdr;

		if (!scn || !gelf_getshdr(scn, &shdr))
			return malformed;
		if (shdr.sh_type == SHT_NOBITS)
			continue;
		if (__builtin_add_overflow(shdr.sh_offset, shdr.sh_size, &end) || end > f->size)
			return malformed;
	}
	return 0;
}

/* ELFFILE_DEADLINE_NS, or $RTPROF_ELF_DEADLINE_MS: the tests run the readers under valgrind, ~20 times
 * slower (the limit guards against crafted files; a longer one only costs the caller's own time). */
static uint64_t elffile_deadline_ns(void)
{
	const char *v = getenv("RTPROF_ELF_DEADLINE_MS");
	char *end;
	unsigned long ms;

	if (!v || !*v)
		return ELFFILE_DEADLINE_NS;
	errno = 0;
	ms = strtoul(v, &end, 10);
	if (errno || *end || !ms || ms > 600000)
		return ELFFILE_DEADLINE_NS;
	return (uint64_t)ms * 1000000ull;
}

int elffile_open(const char *path, int malformed, struct elffile *f)
{
	int err;

	*f = (struct elffile){ .fd = -1 };
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
	f->budget = calloc(1, sizeof(*f->budget));
	if (!f->budget) {
		err = -ENOMEM;
		goto cleanup;
	}
	f->budget->deadline_ns = clock__mono_ns() + elffile_deadline_ns();
	if (elf_version(EV_CURRENT) == EV_NONE) {
		err = -ENOTSUP;
		goto cleanup;
	}
	/* Mapped, not read: ELF_C_READ would copy every section asked for (elf_strptr reads the whole
	 * table). Only the headers, .dynamic and a few strings are touched in the mapping. */
	f->elf = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
	if (!f->elf || elf_kind(f->elf) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto cleanup;
	}
	err = check_layout(f, malformed);
cleanup:
	if (err)
		elffile_close(f);
	return err;
}

bool elffile_is64(const struct elffile *f)
{
	return f->ehdr.e_ident[EI_CLASS] == ELFCLASS64;
}

bool elffile_find_section(const struct elffile *f, const char *name, GElf_Shdr *shdr)
{
	Elf_Scn *scn = NULL;

	if (!f->shnum)
		return false;
	while ((scn = elf_nextscn(f->elf, scn))) {
		const char *scn_name;

		if (!gelf_getshdr(scn, shdr))
			return false;
		scn_name = elf_strptr(f->elf, f->shstrndx, shdr->sh_name);
		if (scn_name && strcmp(scn_name, name) == 0)
			return true;
	}
	return false;
}

bool elffile_linked_strtab(const struct elffile *f, const GElf_Shdr *symtab, GElf_Shdr *strtab)
{
	Elf_Scn *scn;

	if (symtab->sh_link == 0 || symtab->sh_link >= f->shnum)
		return false;
	/* Linkers never compress string tables: a compressed one is taken as corrupt. */
	scn = elf_getscn(f->elf, symtab->sh_link);
	return scn && gelf_getshdr(scn, strtab) && strtab->sh_type == SHT_STRTAB &&
	       !(strtab->sh_flags & SHF_COMPRESSED);
}

int elffile_addr_to_offset(const struct elffile *f, uint64_t addr, bool in_file, uint64_t *offset)
{
	size_t i;

	for (i = 0; i < f->nsegs; i++) {
		const struct elffile_seg *seg = &f->segs[i];
		uint64_t delta = addr - seg->vaddr;

		if (addr < seg->vaddr || delta >= (in_file ? seg->filesz : seg->memsz))
			continue;
		if (__builtin_add_overflow(seg->offset, delta, offset))
			continue;
		return 0;
	}
	return -ENOENT;
}

int elffile_read_at(const struct elffile *f, void *buf, size_t len, uint64_t offset)
{
	ssize_t n;

	if (f->budget) {
		if (len > ELFFILE_MAX_READ - f->budget->bytes)
			return -EFBIG;
		f->budget->bytes += len;
		if (clock__mono_ns() > f->budget->deadline_ns)
			return -ETIMEDOUT;
	}
	n = pread(f->fd, buf, len, (off_t)offset);

	if (n < 0)
		return -errno;
	/* Short only if the file shrank since it was opened. */
	return (size_t)n == len ? 0 : -EIO;
}

uint64_t elffile_load_uint(const struct elffile *f, const unsigned char *bytes, size_t len)
{
	uint64_t value = 0;
	size_t i;

	for (i = 0; i < len; i++)
		value = value << 8 | bytes[f->ehdr.e_ident[EI_DATA] == ELFDATA2MSB ? i : len - 1 - i];
	return value;
}

/* One symbol table entry in file format (Elf32_Sym or Elf64_Sym) to GElf_Sym. */
static void decode_sym(const struct elffile *f, const unsigned char *raw, GElf_Sym *sym)
{
	sym->st_name = (GElf_Word)elffile_load_uint(f, raw, 4);
	if (elffile_is64(f)) {
		sym->st_info = raw[4];
		sym->st_other = raw[5];
		sym->st_shndx = (GElf_Section)elffile_load_uint(f, raw + 6, 2);
		sym->st_value = elffile_load_uint(f, raw + 8, 8);
		sym->st_size = elffile_load_uint(f, raw + 16, 8);
	} else {
		sym->st_value = elffile_load_uint(f, raw + 4, 4);
		sym->st_size = elffile_load_uint(f, raw + 8, 4);
		sym->st_info = raw[12];
		sym->st_other = raw[13];
		sym->st_shndx = (GElf_Section)elffile_load_uint(f, raw + 14, 2);
	}
}

void elffile_syms_init(struct elffile_syms *it, const struct elffile *f, const GElf_Shdr *symtab,
		       size_t symsize, void *buf)
{
	*it = (struct elffile_syms){ .f = f, .symtab = symtab, .symsize = symsize, .buf = buf };
}

int elffile_syms_next(struct elffile_syms *it, GElf_Sym *sym)
{
	if (it->i == it->n) {
		uint64_t count = it->symtab->sh_size / it->symsize;
		size_t per_window = ELFFILE_WINDOW / it->symsize;
		int err;

		if (it->next >= count)
			return 0;
		it->n = count - it->next < per_window ? (size_t)(count - it->next) : per_window;
		it->i = 0;
		err = elffile_read_at(it->f, it->buf, it->n * it->symsize,
				      it->symtab->sh_offset + it->next * it->symsize);
		if (err) {
			it->n = 0;
			return err;
		}
		it->next += it->n;
	}
	decode_sym(it->f, it->buf + it->i++ * it->symsize, sym);
	return 1;
}

int elffile_window_init(struct elffile_window *w, size_t lookahead)
{
	*w = (struct elffile_window){ .lookahead = lookahead };
	w->buf = malloc(1 + ELFFILE_WINDOW + lookahead);
	return w->buf ? 0 : -ENOMEM;
}

void elffile_window_fini(struct elffile_window *w)
{
	free(w->buf);
	w->buf = NULL;
}

int elffile_read_window(const struct elffile *f, const GElf_Shdr *shdr, uint64_t start,
			struct elffile_window *w)
{
	uint64_t left = shdr->sh_size - start, max = ELFFILE_WINDOW + (uint64_t)w->lookahead;
	size_t len = left < max ? (size_t)left : (size_t)max;
	size_t before = start > 0;
	int err;

	w->buf[0] = '\0';
	err = elffile_read_at(f, w->buf + 1 - before, len + before, shdr->sh_offset + start - before);
	if (err)
		return err;
	w->base = w->buf + 1;
	w->owned_end = w->base + (len < ELFFILE_WINDOW ? len : ELFFILE_WINDOW);
	w->end = w->base + len;
	return 0;
}

const char *elffile_window_find(const struct elffile_window *w, const char *from, const void *needle,
				size_t len)
{
	const char *p;

	if (from >= w->owned_end)
		return NULL;
	p = memmem(from, (size_t)(w->end - from), needle, len);
	return p && p < w->owned_end ? p : NULL;
}

int elffile_index_add(struct elffile_index *idx, uint64_t offset, uint32_t value)
{
	if (offset > UINT32_MAX)
		return 0;
	if (vec__grow(&idx->hits, &idx->cap, idx->count))
		return -ENOMEM;
	idx->hits[idx->count++] = (struct elffile_hit){ (uint32_t)offset, value };
	return 0;
}

static int compare_hit(const void *a, const void *b)
{
	const struct elffile_hit *x = a, *y = b;

	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return x->value < y->value ? -1 : x->value > y->value;
}

void elffile_index_sort(struct elffile_index *idx)
{
	/* hits is NULL when empty, and qsort's pointer must not be. */
	if (idx->count)
		qsort(idx->hits, idx->count, sizeof(*idx->hits), compare_hit);
}

const struct elffile_hit *elffile_index_find(const struct elffile_index *idx, uint32_t offset)
{
	size_t lo = 0, hi = idx->count;

	/* hits is NULL when empty, and NULL + 0 is undefined. */
	if (!idx->count)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (idx->hits[mid].offset < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < idx->count && idx->hits[lo].offset == offset ? idx->hits + lo : NULL;
}

void elffile_index_free(struct elffile_index *idx)
{
	free(idx->hits);
	*idx = (struct elffile_index){ 0 };
}
