/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef RTPROF_CLI_H
#define RTPROF_CLI_H

#include <stdbool.h>
#include <stdint.h>

/* Exit codes. A profiled command's own code passes through `rtprof run`. */
#define EXIT_OK 0
#define EXIT_FAILURE_RT 1 /* failed while profiling */
#define EXIT_USAGE 2      /* bad input: usage, unknown pid, cannot profile here */
#define EXIT_CANNOT_EXEC 126 /* the command was found but could not be run (the shell's convention) */
#define EXIT_NOEXEC 127   /* the command was not found */

/* --top N: rows of the syscall table (0 = all) */
#define RTP_MAX_TOP 100000

struct global_opts {
	bool verbose;
	const char *btf_path;
	const char *socket_path; /* rtprofd's socket */
};

extern struct global_opts g_opts;

int cmd_run(int argc, char **argv);
/* The file execvp would run for a command (cmd_run.c): malloc'd, or NULL when there is none. */
char *run__find_command(const char *cmd);
int cmd_attach(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_sessions(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_top(int argc, char **argv);

/* ---- args.c: numbers on the command line; each returns 0, or -EINVAL leaving *out alone ---- */

/* Decimal digits only, at most max. */
int parse_count(const char *s, unsigned long long max, unsigned long long *out);
/* A finite decimal number of seconds (or milliseconds), unsigned; the caller checks its range. */
int parse_seconds(const char *s, double *out);
/* "64M", "1G", "4096" -> bytes (K, M, G: powers of 1024; > 0). */
int parse_size(const char *s, uint64_t *out);

/* Print "rtprof: MSG" to stderr. */
void errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* After getopt's own message about an unknown option: where the help is, not the whole help. */
void usage_hint(const char *cmd);

#endif
