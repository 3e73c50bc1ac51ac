/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A file's functions by address: the function symbols of an ELF file (.symtab, else .dynsym), sorted, for
 * naming the native frames of a stack (node's own C++, V8's builtins) from their addresses. Names are read
 * from the file as they are asked for and demangled (C++). */
#ifndef RTPROF_ADDRSYM_H
#define RTPROF_ADDRSYM_H

#include <stddef.h>
#include <stdint.h>

struct addrsym;

/* The function symbols of the ELF file at path (at most 2^20 of them: past that, the rest are not named).
 * 0, or -errno (-ENOENT no function symbol, -ENOEXEC not ELF, -ENOMEM). */
int addrsym__open(const char *path, struct addrsym **out);
void addrsym__free(struct addrsym *a);

/* The link-time address of file offset off (through the PT_LOAD segment that holds it): 0 or -ENOENT. */
int addrsym__vaddr_of(const struct addrsym *a, uint64_t off, uint64_t *vaddr);

/* The name of the function whose symbol covers link-time address vaddr, demangled, into buf (cut to size):
 * 0, or -ENOENT (none covers it), -EIO (its name could not be read). */
int addrsym__name(const struct addrsym *a, uint64_t vaddr, char *buf, size_t size);

/* How many function symbols it holds. */
size_t addrsym__count(const struct addrsym *a);

#endif
