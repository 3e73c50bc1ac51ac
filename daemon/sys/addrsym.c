// SPDX-License-Identifier: LGPL-2.1-or-later
/* A file's functions by address: see addrsym.h. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libiberty/demangle.h>

#include "base/vec.h"
#include "sys/addrsym.h"
#include "sys/elffile.h"

/* Function symbols kept of a file at most (16 bytes each): a crafted file with more has the rest unnamed,
 * not the reader's memory. node 24 has 114,550. */
#define ADDRSYM_MAX (1u << 20)

struct addrsym_fn {
	uint64_t addr;
	uint32_t size;
	uint32_t name; /* offset in the string table */
};

struct addrsym {
	int fd;                  /* the file, for names: read as they are asked for */
	uint64_t strtab_off, strtab_size;
	struct addrsym_fn *fns;  /* by address */
	size_t n, cap;
	struct elffile_seg *segs;
	size_t nsegs;
};

static int by_addr(const void *a, const void *b)
{
	const struct addrsym_fn *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr ? 1 : x->size < y->size ? -1 : x->size > y->size;
}

/* The function symbols of one table (SHT_SYMTAB or SHT_DYNSYM). */
static int read_table(struct addrsym *a, const struct elffile *f, GElf_Word type)
{
	size_t symsize = gelf_fsize(f->elf, ELF_T_SYM, 1, EV_CURRENT);
	Elf_Scn *scn = NULL;
	char *window = NULL;
	int r = 0;

	if (!symsize)
		return -ENOEXEC;
	while (f->shnum && (scn = elf_nextscn(f->elf, scn))) {
		struct elffile_syms it;
		GElf_Shdr shdr, strtab;
		GElf_Sym sym;

		if (!gelf_getshdr(scn, &shdr)) {
			r = -ENOEXEC;
			break;
		}
		if (shdr.sh_type != type || (shdr.sh_flags & SHF_COMPRESSED) || shdr.sh_size < symsize ||
		    !elffile_linked_strtab(f, &shdr, &strtab) || strtab.sh_size > UINT32_MAX)
			continue;
		if (!window && !(window = malloc(256 * 1024 + 64 * 1024)))
			return -ENOMEM;
		elffile_syms_init(&it, f, &shdr, symsize, window);
		while ((r = elffile_syms_next(&it, &sym)) > 0) {
			if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF || !sym.st_value ||
			    !sym.st_size || sym.st_size > UINT32_MAX || sym.st_name >= strtab.sh_size)
				continue;
			if (a->n >= ADDRSYM_MAX)
				break;
			if (vec__grow(&a->fns, &a->cap, a->n)) {
				r = -ENOMEM;
				break;
			}
			a->fns[a->n++] = (struct addrsym_fn){ sym.st_value, (uint32_t)sym.st_size, (uint32_t)sym.st_name };
		}
		if (r < 0)
			break;
		a->strtab_off = strtab.sh_offset;
		a->strtab_size = strtab.sh_size;
		break; /* one table of the type */
	}
	free(window);
	return r < 0 ? r : 0;
}

int addrsym__open(const char *path, struct addrsym **out)
{
	struct addrsym *a = calloc(1, sizeof(*a));
	struct elffile f;
	int r;

	if (!a)
		return -ENOMEM;
	a->fd = -1;
	r = elffile_open(path, -ENOEXEC, &f);
	if (r) {
		free(a);
		return r;
	}
	r = read_table(a, &f, SHT_SYMTAB);
	if (!r && !a->n)
		r = read_table(a, &f, SHT_DYNSYM);
	if (!r && !a->n)
		r = -ENOENT;
	if (!r && f.nsegs) {
		a->segs = malloc(f.nsegs * sizeof(*a->segs));
		if (!a->segs)
			r = -ENOMEM;
		else
			memcpy(a->segs, f.segs, f.nsegs * sizeof(*a->segs));
		a->nsegs = f.nsegs;
	}
	if (!r) {
		a->fd = dup(f.fd);
		if (a->fd < 0)
			r = -errno;
	}
	elffile_close(&f);
	if (r) {
		addrsym__free(a);
		return r;
	}
	qsort(a->fns, a->n, sizeof(*a->fns), by_addr);
	*out = a;
	return 0;
}

void addrsym__free(struct addrsym *a)
{
	if (!a)
		return;
	if (a->fd >= 0)
		close(a->fd);
	free(a->fns);
	free(a->segs);
	free(a);
}

size_t addrsym__count(const struct addrsym *a)
{
	return a->n;
}

int addrsym__vaddr_of(const struct addrsym *a, uint64_t off, uint64_t *vaddr)
{
	for (size_t i = 0; i < a->nsegs; i++) {
		const struct elffile_seg *s = &a->segs[i];

		if (off >= s->offset && off - s->offset < s->filesz) {
			*vaddr = s->vaddr + (off - s->offset);
			return 0;
		}
	}
	return -ENOENT;
}

int addrsym__name(const struct addrsym *a, uint64_t vaddr, char *buf, size_t size)
{
	size_t lo = 0, hi = a->n;
	char name[1024];
	char *dm;
	ssize_t n;

	if (!size)
		return -ENOENT;
	/* the last symbol at or below vaddr; of those at one address, the largest: the one that may cover it */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (a->fns[mid].addr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* a symbol nested in a larger one (a local label sized as a function): the nearest that covers vaddr */
	for (size_t i = lo, k = 0; i-- > 0 && k < 8; k++) {
		const struct addrsym_fn *fn = &a->fns[i];

		if (vaddr - fn->addr >= fn->size)
			continue;
		n = pread(a->fd, name, sizeof(name) - 1,
			  (off_t)(a->strtab_off + fn->name));
		if (n <= 0)
			return -EIO;
		name[n] = '\0';
		if (fn->name + strnlen(name, (size_t)n) >= a->strtab_size)
			return -EIO;
		dm = name[0] == '_' && name[1] == 'Z' ? cplus_demangle(name, DMGL_ANSI) : NULL;
		snprintf(buf, size, "%s", dm ? dm : name);
		free(dm);
		/* a name is the file's say: nothing unprintable goes on */
		for (char *c = buf; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
		return 0;
	}
	return -ENOENT;
}
