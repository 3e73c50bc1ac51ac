/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal: the ELF reader of runtime detection (runtime.c) and symbol resolution (symbols.c). ELF files
 * are outside input: elffile_open checks that the headers and every section's bytes lie inside the file,
 * so that later reads need no bound of their own. Large sections are read with pread in windows of
 * ELFFILE_WINDOW bytes, never through libelf's mapping nor whole: touched pages of a mapping count in
 * rtprofd's RSS, and node's string tables and .rodata run to tens of MB. */
#ifndef RTPROF_ELFFILE_H
#define RTPROF_ELFFILE_H

#include <gelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* Bytes of a section read at a time: the peak RSS a scan adds, whatever the section's size. */
#define ELFFILE_WINDOW (256 * 1024)

/* Limits of the analysis of one file, which is outside input (a crafted file may claim sections of
 * gigabytes over a sparse hole, or be that large): the bytes read from it in all, and the time from its
 * opening. Past either, reads fail with -EFBIG or -ETIMEDOUT. Real interpreters take a few MB and under
 * 30 ms here (node 20: 22 ms warm). Section headers' and dynamic strings' tables, read through libelf's
 * mapping, have bounds of their own (ELFFILE_MAX_MAPPED_TABLE). */
#define ELFFILE_MAX_READ (512ull << 20)
#define ELFFILE_DEADLINE_NS (1000ull * 1000 * 1000)
#define ELFFILE_MAX_MAPPED_TABLE (64ull << 20)

/* What a file's analysis has used of its limits: kept apart, as reads take the file as const. */
struct elffile_budget {
	uint64_t bytes;       /* read so far */
	uint64_t deadline_ns; /* CLOCK_MONOTONIC */
};

/* A PT_LOAD program header. */
struct elffile_seg {
	uint64_t vaddr, memsz, filesz, offset;
};

struct elffile {
	int fd;
	Elf *elf; /* mapped (ELF_C_READ_MMAP): only headers and a few strings are touched through it */
	uint64_t size;
	struct stat st;
	GElf_Ehdr ehdr;
	size_t shnum, shstrndx; /* shnum is 0 when the file has no section header table */
	struct elffile_seg *segs; /* the PT_LOAD program headers whose p_filesz <= p_memsz */
	size_t nsegs;
	struct elffile_budget *budget;
};

/* Opens the ELF file at `path` (a regular file only: a FIFO must not hang us). Returns 0, -errno of
 * open or fstat, -ENOEXEC (not a regular file, not ELF), -ENOTSUP (libelf), -ENOMEM, or `malformed` (a
 * negative errno: the caller's code for a broken file) when the ELF header cannot be read or the program
 * header table, the section header table or a section's bytes lie outside the file. On error f is
 * closed. */
int elffile_open(const char *path, int malformed, struct elffile *f);
/* Releases what elffile_open took; f may be NULL, closed already, or zeroed with fd = -1. */
void elffile_close(struct elffile *f);

bool elffile_is64(const struct elffile *f);
/* The section called `name` into shdr: false if there is none. */
bool elffile_find_section(const struct elffile *f, const char *name, GElf_Shdr *shdr);
/* The string table of a symbol table (its sh_link): false if that is no readable string table (none, not
 * SHT_STRTAB, or compressed), whose names then resolve to nothing, as with elf_strptr. */
bool elffile_linked_strtab(const struct elffile *f, const GElf_Shdr *symtab, GElf_Shdr *strtab);
/* The file offset of a link-time address, through the PT_LOAD segment that holds it; `in_file`: the
 * address must be backed by file bytes (code, initialized data), not only by memory (.bss). 0 or
 * -ENOENT. */
int elffile_addr_to_offset(const struct elffile *f, uint64_t addr, bool in_file, uint64_t *offset);

/* `len` bytes at `offset` of the file into buf: 0, -errno, -EIO if the file shrank since it was opened,
 * -EFBIG or -ETIMEDOUT past the file's limits (ELFFILE_MAX_READ, ELFFILE_DEADLINE_NS). elffile_open
 * bounded section offsets and sizes by the file size. */
int elffile_read_at(const struct elffile *f, void *buf, size_t len, uint64_t offset);
/* An unsigned integer of `len` (<= 8) bytes in the file's byte order. */
uint64_t elffile_load_uint(const struct elffile *f, const unsigned char *bytes, size_t len);

/* The entries of a symbol table, in table order, read ELFFILE_WINDOW bytes at a time into buf. */
struct elffile_syms {
	const struct elffile *f;
	const GElf_Shdr *symtab;
	size_t symsize; /* gelf_fsize of ELF_T_SYM: not 0 */
	unsigned char *buf; /* ELFFILE_WINDOW bytes */
	uint64_t next;      /* the table index of the entry after the window */
	size_t n, i;        /* entries in the window; the next one to decode */
};

void elffile_syms_init(struct elffile_syms *it, const struct elffile *f, const GElf_Shdr *symtab,
		       size_t symsize, void *buf);
/* The next entry (a partial one at the table's end is none): 1, 0 at the end, or as elffile_read_at. */
int elffile_syms_next(struct elffile_syms *it, GElf_Sym *sym);

/* A section read in windows: elffile_read_window(start) holds its bytes from `start`. Tokens that start in
 * [base, owned_end) are this window's to report (start + ELFFILE_WINDOW is the next window's start), and
 * lie whole before `end` when no longer than `lookahead` (unless the section ends first). base[-1] is
 * the byte before, or '\0' at the section's start, which reads as a string boundary. Between reads, buf
 * (1 + ELFFILE_WINDOW + lookahead bytes) is free for other use, such as a window of symbols. */
struct elffile_window {
	char *buf;
	size_t lookahead;
	const char *base, *owned_end, *end;
};

/* 0 or -ENOMEM. */
int elffile_window_init(struct elffile_window *w, size_t lookahead);
/* w may be zeroed and never initialized. */
void elffile_window_fini(struct elffile_window *w);
/* Section bytes from `start` (< shdr->sh_size) on, into w: 0 or as elffile_read_at. */
int elffile_read_window(const struct elffile *f, const GElf_Shdr *shdr, uint64_t start,
			struct elffile_window *w);
/* The first occurrence of needle (len >= 1) at `from` or past it that starts in the window's own bytes,
 * or NULL. */
const char *elffile_window_find(const struct elffile_window *w, const char *from, const void *needle,
				size_t len);

/* Offsets of a string table where names of interest start (st_name is 32 bits in both classes), each
 * with the caller's payload (what the name is, which query it answers). */
struct elffile_hit {
	uint32_t offset;
	uint32_t value;
};

struct elffile_index {
	struct elffile_hit *hits;
	size_t count, cap;
};

/* 0 (an offset past 32 bits, which no st_name reaches, is left out) or -ENOMEM. */
int elffile_index_add(struct elffile_index *idx, uint64_t offset, uint32_t value);
/* By offset, then value: elffile_index_find needs it. */
void elffile_index_sort(struct elffile_index *idx);
/* The first hit at `offset` (the others at it follow), or NULL. */
const struct elffile_hit *elffile_index_find(const struct elffile_index *idx, uint32_t offset);
void elffile_index_free(struct elffile_index *idx);

/* x rounded up to a multiple of a (a power of two, as ELF alignments are). */
static inline uint64_t elffile_align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

#endif
