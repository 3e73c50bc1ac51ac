/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Readers of /proc text. The parse_* functions take a buffer so that tests and fuzzers can feed them. */
#ifndef RTPROF_PROCFS_H
#define RTPROF_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROCFS_COMM_LEN 16
#define PF_KTHREAD_FLAG 0x00200000u /* task flag of kernel threads (include/linux/sched.h) */

struct proc_stat {
	pid_t pid;
	char comm[PROCFS_COMM_LEN]; /* without the parentheses, truncated to 15 chars */
	char state;
	pid_t ppid;
	unsigned int flags;
	uint64_t utime_ticks;
	uint64_t stime_ticks;
	long num_threads;
	uint64_t starttime_ticks;
};

struct proc_status {
	pid_t tgid; /* the process of the thread the file was read for; 0 if the line is absent */
	pid_t tracer_pid; /* TracerPid: its ptrace tracer, 0 if none */
	uid_t ruid, euid;
	uint32_t uids[4]; /* real, effective, saved, filesystem; (uint32_t)-1 where the line lacks one */
	uint32_t gids[4]; /* the same for the Gid: line; all (uint32_t)-1 without one */
	uint64_t cap_prm; /* CapPrm, permitted capabilities */
	bool have_cap_prm;
	long vm_hwm_kb; /* peak RSS; -1 if absent (kernel thread, zombie) */
	long vm_rss_kb;
	long threads;
	uint64_t vol_switches, invol_switches; /* voluntary_/nonvoluntary_ctxt_switches */
};

/* /proc/PID/task/TID/schedstat: the kernel's own accounting of a thread. */
struct proc_schedstat {
	uint64_t oncpu_ns;     /* se.sum_exec_runtime */
	uint64_t runq_wait_ns; /* sched_info.run_delay */
	uint64_t timeslices;   /* sched_info.pcount */
};

/* Parse the text of /proc/PID/stat. Returns 0 or -EINVAL. */
int procfs__parse_stat(const char *buf, size_t len, struct proc_stat *out);
/* Parse the text of /proc/PID/status. Returns 0 or -EINVAL. */
int procfs__parse_status(const char *buf, size_t len, struct proc_status *out);

/* Parse the text of /proc/PID/task/TID/schedstat ("N N N\n"). Returns 0 or -EINVAL. */
int procfs__parse_schedstat(const char *buf, size_t len, struct proc_schedstat *out);
int procfs__read_schedstat(pid_t pid, pid_t tid, struct proc_schedstat *out);

/* Read and parse /proc/PID/stat (tid == 0) or /proc/PID/task/TID/stat. -ESRCH if gone. */
int procfs__read_stat(pid_t pid, pid_t tid, struct proc_stat *out);
int procfs__read_status(pid_t pid, struct proc_status *out);
/* Read a whole small /proc file into buf (NUL-terminated). Returns bytes read or -errno. */
ssize_t procfs__read_file(const char *path, char *buf, size_t size);

/* What the kernel appends to the path of a mapped (or executed) file that was replaced or removed. */
#define PROCFS_DELETED_SUFFIX " (deleted)"

/* One line of /proc/PID/maps: "START-END PERMS PGOFF MAJ:MIN INODE [PATH]". */
struct proc_mapping {
	uint64_t start, end, pgoff;
	unsigned int dev_major, dev_minor;
	uint64_t inode;
	char perms[5];      /* "r-xp" */
	const char *path;   /* into the line; "" for an anonymous mapping; " (deleted)" cut off */
	bool deleted;       /* the file was replaced or removed since it was mapped */
};

/* Parse one line of /proc/PID/maps (its newline, if any, is cut off in place). 0 or -EINVAL. */
int procfs__parse_maps_line(char *line, struct proc_mapping *out);
/* Call fn for each mapping of pid, in address order, until it returns non-zero. Returns fn's non-zero
 * value, 0 at the end, or -errno (-ESRCH: no such process). */
typedef int (*procfs_mapping_fn)(const struct proc_mapping *m, void *ctx);
int procfs__maps_each(pid_t pid, procfs_mapping_fn fn, void *ctx);

/* Clock ticks per second for the *_ticks fields. */
long procfs__ticks_per_sec(void);
/* A pidfd of process pid (pidfd_open(2)), or -1 with errno set. */
int procfs__pidfd_open(pid_t pid);
/* Whether the process of pidfd is still there -- and so still holds its pid: a pid is free for another
 * process only once its holder has been reaped, and a zombie takes signal 0. */
bool procfs__pidfd_alive(int pidfd);

#endif
