/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Processes for the unit tests: a child that says when it is ready, and this process's own memory. */
#ifndef RTPROF_TEST_PROC_H
#define RTPROF_TEST_PROC_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Start argv[0] with stdout on a pipe; return once it printed its first line (it is ready). */
static inline pid_t spawn_ready(char *const argv[])
{
	int fds[2];
	pid_t pid;
	char c;

	if (pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	if (pid > 0) {
		ssize_t n;

		while ((n = read(fds[0], &c, 1)) == 1 && c != '\n')
			;
		if (n != 1) {
			waitpid(pid, NULL, 0);
			pid = -1;
		}
	}
	close(fds[0]);
	return pid;
}

static inline void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* A field of /proc/self/status in KiB ("VmHWM", "VmRSS"), or -1. */
static inline long status_kib(const char *field)
{
	char line[256];
	size_t len = strlen(field);
	long kib = -1;
	FILE *status = fopen("/proc/self/status", "re");

	while (status && fgets(line, sizeof(line), status))
		if (strncmp(line, field, len) == 0 && line[len] == ':')
			kib = strtol(line + len + 1, NULL, 10);
	if (status)
		fclose(status);
	return kib;
}

#endif
