/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where to attach uprobes: ELF symbols (.symtab, .dynsym, a separate debug file found by build id or
 * .gnu_debuglink) and SystemTap SDT (USDT) notes, as file offsets; the build id of a file; the file a
 * live process maps for a runtime. Results of symbols__resolve are cached per build of a file. */
#ifndef RTPROF_SYMBOLS_H
#define RTPROF_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct rtp_sym_query {
	const char *name; /* exact symbol name (C or C++ mangled) */
	int prefix;       /* non-zero: first symbol whose name starts with `name` (for C++ names whose
			   * parameter list varies across versions) */
	/* results */
	int found;
	uint64_t addr;   /* st_value */
	uint64_t size;   /* st_size */
	uint64_t offset; /* file offset in the ELF at `path` (what uprobe attach wants), computed from the
			  * PT_LOAD segment of `path` (not of the debug file) that contains addr */
	char source[24]; /* "symtab", "dynsym", "debuglink", "build-id": where it was found */
};

/* Resolve every query in one pass over the file's symbol tables: .symtab first, then .dynsym, then, for
 * names still missing, the separate debug file: /usr/lib/debug/.build-id/xx/yyyy.debug from the
 * NT_GNU_BUILD_ID note, else .gnu_debuglink's name looked up in the file's dir, dir/.debug/ and
 * /usr/lib/debug/<dir>/ (its CRC32 checked). Only defined FUNC/OBJECT symbols whose address lies in a
 * PT_LOAD segment of `path`; of several, the first in table order. `root` is prepended to the debug-file
 * search paths ("" or NULL for "/"; "/proc/PID/root" for a process in another mount namespace). Returns
 * the number of queries found (>= 0) or -errno (-ENOENT no such file, -ENOEXEC not a usable ELF,
 * -EINVAL a NULL or empty name). Memory stays bounded on huge files: tables are read in windows.
 * Results, found or not, are cached per build (build id and file size, else device, inode, mtime and
 * size) and name, whatever `root`: symbols__cache_clear() forgets them (after installing debug files). */
int symbols__resolve(const char *path, const char *root, struct rtp_sym_query *q, size_t nq);

/* Frees the cache of symbols__resolve results. */
void symbols__cache_clear(void);

struct rtp_usdt_probe {
	char provider[64];
	char name[64];
	uint64_t pc;        /* probe address (link-time), adjusted by .stapsdt.base as the SDT spec says */
	uint64_t offset;    /* file offset of the probe: pc through the PT_LOAD segments */
	uint64_t semaphore; /* link-time address (adjusted as pc), 0 if none */
	char args[128];     /* the argument string, e.g. "-4@%eax 8@%rbx" (truncated if longer) */
	/* Added: the semaphore's file offset, what the kernel's uprobe ref_ctr_offset wants (0 if none). */
	uint64_t semaphore_offset;
};

/* The stapsdt notes (SystemTap SDT) of the file: up to `max` probes into out[]; returns how many there
 * are in all (may be > max) or -errno. Probes whose pc lies in no PT_LOAD segment are left out. */
int symbols__usdt_list(const char *path, struct rtp_usdt_probe *out, size_t max);

/* The file a live process maps executable whose basename starts with `prefix` (e.g. "libpython3",
 * "node"), the first in address order, from /proc/PID/maps; written as "/proc/PID/root" + the mapped
 * path, so that it opens from another mount namespace (a mapped file since deleted or replaced, as
 * "/proc/PID/map_files/START-END", which still opens the mapped inode: needs CAP_SYS_ADMIN).
 * 0, -ENOENT (not mapped), -ESRCH (no such process), -ENAMETOOLONG, -errno. */
int symbols__find_mapping(pid_t pid, const char *prefix, char *path, size_t len);

/* The build id of an ELF file as lowercase hex (40 chars + NUL for the usual SHA-1 id): 0, -ENOENT (no
 * note), -ENOSPC (len too small), -errno. */
int symbols__build_id(const char *path, char *hex, size_t len);

#endif
