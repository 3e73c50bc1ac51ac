/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The files the CLI writes (reports, traces, exports): opened as the kernel's protected_symlinks,
 * protected_regular and protected_fifos would have them opened whatever those sysctls say, and without
 * blocking on a FIFO nobody reads. */
#ifndef RTPROF_OUTFILE_H
#define RTPROF_OUTFILE_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

struct outfile {
	const char *path; /* as given; NULL: stdout (or stderr: to_stderr) */
	const char *what; /* "the report", "the trace", ... for messages */
	int fd;           /* -1 once closed, or when f owns it */
	FILE *f;          /* the stream, once outfile__stream() made it */
	dev_t dev;
	ino_t ino;
	bool regular; /* a regular file this process truncated or created: removable when left incomplete */
	bool to_stderr;
	bool gzip; /* set before outfile__stream: the stream writes gzip (a report to FILE.json.gz) */
};

/* Once, first thing in main(): a standard descriptor that is closed gets /dev/null read-only, so that no
 * file opened later takes its number, and writes to a closed stdout fail (EBADF) instead of going
 * anywhere. */
void outfile__guard_std_fds(void);
/* stdout was closed when rtprof started. */
bool outfile__stdout_closed(void);
/* 0, or -EBADF after saying "cannot write WHAT: stdout is closed". */
int outfile__check_stdout(const char *what);

/* Open path for writing, truncated; NULL or "-": stdout. In a sticky world-writable directory (/tmp),
 * a symbolic link, or an existing regular file or FIFO, that belongs to neither the directory's owner nor
 * this user is refused. /dev/stdout, /dev/stderr, /dev/fd/N and /proc/self/fd/N are opened as named. A
 * FIFO without a reader is an error, not a wait. Prints its own errors. Returns 0 or -errno. */
int outfile__open(struct outfile *of, const char *path, const char *what);
/* The stdio stream over the file (stdout for stdout); NULL with errno set. */
FILE *outfile__stream(struct outfile *of);
/* stderr as the output (rtprof run's report: the command's stdout stays its own, as with time(1)). */
void outfile__open_stderr(struct outfile *of, const char *what);
/* "stdout" or the path, for messages. */
const char *outfile__name(const struct outfile *of);
/* Flush and close (not stdout, which is only flushed). Returns 0 or -errno; says nothing. */
int outfile__close(struct outfile *of);
/* After a failure: close, and remove the file when it is a regular one this process opened and it is
 * still under its name (not /dev/null, not what a link pointed to). */
void outfile__discard(struct outfile *of);

#endif
