/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The notes of an ELF file (elfnotes.c): what the symbol resolver needs of them. The public calls
 * (symbols__build_id, symbols__usdt_list) are declared in sys/symbols.h. */
#ifndef RTPROF_ELFNOTES_H
#define RTPROF_ELFNOTES_H

#include <stddef.h>

/* Build ids are 20 bytes (SHA-1) by default; --build-id=0xHEX may give any length. */
#define ELFNOTES_MAX_BUILD_ID 64

struct elffile;

/* The NT_GNU_BUILD_ID of the file: in a SHT_NOTE section, else (no section headers) in a PT_NOTE
 * segment. Returns its length, 0 if none, or -errno. */
int elfnotes__build_id(const struct elffile *f, unsigned char id[ELFNOTES_MAX_BUILD_ID]);
/* bytes as lowercase hex into hex[2 * len + 1]. */
void elfnotes__hex(const unsigned char *bytes, size_t len, char *hex);

#endif
