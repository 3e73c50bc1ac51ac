/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Replay: the report of a recorded trace, by the same accounting as the live probes'. */
#ifndef RTPROF_REPLAY_H
#define RTPROF_REPLAY_H

#include <stddef.h>

#include "model/report.h"

/* The report of a recorded trace (.rtprof.gz). `warning` gets what was wrong with the file, if anything
 * ("" otherwise): a cut or damaged trace still gives the report of what could be read. 0 or -errno. */
int report__from_trace(const char *path, struct rtp_report **out, char *warning, size_t wlen, char *err,
		       size_t errlen);
/* The same, with REPORT_TRACE_* flags. */
#define REPORT_TRACE_PER_THREAD 0x1 /* each thread's syscalls too (the report's thread_syscalls) */
int report__from_trace_opts(const char *path, unsigned int flags, struct rtp_report **out, char *warning,
			    size_t wlen, char *err, size_t errlen);

#endif
