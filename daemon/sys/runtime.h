/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Which runtime a process runs (python / node / other) and its version, from /proc/PID/exe,
 * /proc/PID/maps and the ELF symbols of the executable or its shared libpython (libelf). */
#ifndef RTPROF_RUNTIME_H
#define RTPROF_RUNTIME_H

#include <stddef.h>
#include <sys/types.h>

#include "model/runtime_info.h"

/* Detect for a live process. Returns 0 (kind may be OTHER) or -errno (-ESRCH: gone; -ETIMEDOUT or -EFBIG:
 * its program's or libpython's ELF file is past the limits of sys/elffile.h -- crafted, most likely). */
int runtime__detect(pid_t pid, struct rtp_runtime_info *out);

/* The same, quicker: a node's version (a scan of its read-only data, tens of MB) is left empty, for
 * runtime__node_version to find once time is not short. */
int runtime__detect_quick(pid_t pid, struct rtp_runtime_info *out);
/* Node's version from its executable's read-only data. 0 or -errno. */
int runtime__node_version(const char *path, char *out, size_t outlen);

/* Detect from an ELF file alone (the exe, or a libpython): used by runtime__detect and by tests.
 * Returns 0 or -errno. */
int runtime__detect_elf(const char *path, struct rtp_runtime_info *out);
/* The same without node's version, as runtime__detect_quick: what the program at `path` will be once it
 * runs. What was found is kept (per file and question): the detection of a process that runs it then
 * needs no reading of its symbols. */
int runtime__detect_file(const char *path, struct rtp_runtime_info *out);

#endif
