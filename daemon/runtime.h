/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Which runtime a process runs (python / node / other) and its version, from /proc/PID/exe,
 * /proc/PID/maps and the ELF symbols of the executable or its shared libpython (libelf). */
#ifndef RTPROF_RUNTIME_H
#define RTPROF_RUNTIME_H

#include <limits.h>
#include <sys/types.h>

enum rtp_runtime_kind {
	RTP_RUNTIME_OTHER = 0,
	RTP_RUNTIME_PYTHON = 1,
	RTP_RUNTIME_NODE = 2,
};

struct rtp_runtime_info {
	enum rtp_runtime_kind kind;
	char version[32]; /* "3.11.2", "20.20.2"; "" if unknown */
	char exe[PATH_MAX]; /* resolved /proc/PID/exe */
	char lib[PATH_MAX]; /* ELF the runtime lives in when not the exe (libpython3.11.so...); "" otherwise */
};

const char *runtime__kind_name(enum rtp_runtime_kind kind); /* "python", "node", "other" */

/* Detect for a live process. Returns 0 (kind may be OTHER) or -errno (-ESRCH: gone). */
int runtime__detect(pid_t pid, struct rtp_runtime_info *out);

/* Detect from an ELF file alone (the exe, or a libpython): used by runtime__detect and by tests.
 * Returns 0 or -errno. */
int runtime__detect_elf(const char *path, struct rtp_runtime_info *out);

#endif
