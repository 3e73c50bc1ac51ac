/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef RTPROF_RENDER_H
#define RTPROF_RENDER_H

#include <stdio.h>
#include "model/report.h"

struct render_opts {
	int top_syscalls; /* rows in the syscall table; 0: all */
};

/* Human-readable tables. */
void render_text(FILE *out, const struct rtp_report *r, const struct render_opts *opts);
/* Only the runtime sections (python, node) of the report; a line saying so when there is none. */
void render_runtime_text(FILE *out, const struct rtp_report *r);
/* One JSON object (keys documented in docs/report-json.md). Returns 0 or -errno. */
int render_json(FILE *out, const struct rtp_report *r);

/* "123 ns", "4.56 us", "7.89 ms", "1.23 s" */
const char *fmt_ns(char *buf, size_t len, uint64_t ns);

#endif
