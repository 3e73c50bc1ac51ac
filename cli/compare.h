/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `rtprof compare`: of saved inputs (cmd_compare.c), and of commands it runs itself (compare_run.c). */
#ifndef RTPROF_COMPARE_H
#define RTPROF_COMPARE_H

#include <stddef.h>
#include <stdio.h>

struct rtp_report;

#define COMPARE_MAX_INPUTS 26 /* labelled A..Z */

struct compare_input {
	const char *path;
	char base[64];    /* its file name (or what it is), for the header */
	char label[2];    /* "A", "B", ... */
	const char *kind; /* "trace", "report" or "run" */
	struct rtp_report *rep;
};

/* A report saved with --json (plain or gzip'd): 0, or -errno with a message. */
int compare__read_report(const char *path, struct rtp_report **out, char *err, size_t errlen);
/* Where the inputs differ: the top syscalls, scheduling and the runtimes, each with its ratio to the
 * first. 0 or -ENOMEM. */
int compare__details(FILE *out, const struct compare_input *in, size_t n, size_t top);
/* `rtprof compare --run CMD --run CMD ...`: an exit code. */
int compare__run(int argc, char **argv);

#endif
