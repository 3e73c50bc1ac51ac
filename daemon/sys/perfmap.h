/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A JIT's perf map (/tmp/perf-PID.map, written by node under --perf-basic-prof-only-functions): one line per
 * piece of code, "START SIZE NAME" (hexadecimal address and size), appended as code is made; the latest line
 * that covers an address names it. Its bytes are the profiled program's: every line is checked. */
#ifndef RTPROF_PERFMAP_H
#define RTPROF_PERFMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct perfmap_entry {
	uint64_t start, end; /* [start, end) */
	uint32_t name;       /* offset of its name in the map's names */
};

struct perfmap {
	struct perfmap_entry *v; /* in file order: the latest last */
	size_t n, cap;
	char *names;
	size_t names_len, names_cap;
	uint64_t read_off; /* bytes of the file taken (whole lines only) */
};

/* Parse one line (without its newline): 0 with start, size and the name's span, or -EINVAL. */
int perfmap__parse_line(const char *line, size_t len, uint64_t *start, uint64_t *size, const char **name,
			size_t *name_len);
/* Add the lines of buf (whole lines only; a line not parsed is skipped): the bytes taken, or -ENOMEM. At
 * most PERFMAP_MAX_ENTRIES are kept: past them lines are skipped. */
#define PERFMAP_MAX_ENTRIES (1u << 20)
ssize_t perfmap__add(struct perfmap *m, const char *buf, size_t len);
/* Read what the file gained since the last call (path: the process's view, /proc/PID/root/tmp/...). The file
 * is the profiled program's: it must be a regular file (not a symbolic link, a FIFO or a device) owned by
 * owner or root, and no more than PERFMAP_MAX_BYTES of it are read. 0, or -errno (-ENOENT: none yet;
 * -EPERM: not such a file). */
#define PERFMAP_MAX_BYTES (256u << 20)
int perfmap__update(struct perfmap *m, const char *path, uid_t owner);
/* The name of the latest entry covering addr, or NULL. */
const char *perfmap__lookup(const struct perfmap *m, uint64_t addr);
void perfmap__free(struct perfmap *m);

/* A V8 code name as node writes it ("JS:*fib /app/x.js:3:13", "LazyCompile:~f file:///a.mjs:1:1",
 * "Builtin:Foo"): the function (without the kind prefix and the tier mark; "(anonymous)" when empty), the
 * script and its line (0 when the name has none). */
void perfmap__split_v8(const char *name, char *fn, size_t fn_size, char *file, size_t file_size, int *line);

#endif
