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
/* The same object, as json-c prints it `level` levels down (no newline after it): the thread rows are
 * turned into JSON one at a time. 0 or -errno. */
int render_json_object(FILE *out, const struct rtp_report *r, int level);
struct json_object;
/* A json-c value, as json-c prints it `level` levels down: two spaces a level after each newline. */
void render_json_value(FILE *out, struct json_object *v, int level);

/* "123 ns", "4.56 us", "7.89 ms", "1.23 s" */
const char *fmt_ns(char *buf, size_t len, uint64_t ns);

#endif
