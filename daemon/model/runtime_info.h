/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the report says of a process's runtime: its kind and version, and where it lives. Filled by the
 * detector (sys/runtime.h) or read back from a trace or a report. */
#ifndef RTPROF_RUNTIME_INFO_H
#define RTPROF_RUNTIME_INFO_H

#include <limits.h>

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

#endif
