// SPDX-License-Identifier: LGPL-2.1-or-later
/* Authorisation: who may profile a process, who may see a session (docs/protocol.md, Authorisation).
 *
 * The rule is ptrace's, and the kernel itself is asked: a child of the daemon takes on the client's
 * uid and gid, no supplementary group and no capability, and calls kcmp(2) on the process, which the
 * kernel allows only when __ptrace_may_access(PTRACE_MODE_READ_REALCREDS) does -- the mode perf_event_open
 * checks for a process of another: the process's real, effective and saved uid and gid all the
 * client's, its permitted capabilities a subset of the client's (none), dumpable, and the security
 * modules agreeing. On top of the kernel's rule, its filesystem uid and gid must be the client's too.
 * Where kcmp(2) is missing (a kernel built without CONFIG_KCMP), the same rule is read from /proc. */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <linux/kcmp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "base/errmsg.h"
#include "sys/procfs.h"
#include "rtprofd/server_internal.h"

enum kernel_answer { KERNEL_ALLOWS, KERNEL_REFUSES, KERNEL_NO_PROCESS, KERNEL_CANNOT_TELL };

/* Ask the kernel whether a task with the client's credentials may ptrace-read pid. */
static enum kernel_answer kernel_may_read(uid_t uid, gid_t gid, pid_t pid)
{
	pid_t child = fork();
	int status;

	if (child < 0)
		return KERNEL_CANNOT_TELL;
	if (child == 0) {
		long r;

		/* only this process's credentials change: it is single-threaded, and exits at once */
		if (setgroups(0, NULL) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid))
			_exit(KERNEL_CANNOT_TELL);
		r = syscall(SYS_kcmp, getpid(), pid, KCMP_VM, 0, 0);
		_exit(r >= 0 ? KERNEL_ALLOWS
		      : errno == EPERM || errno == EACCES ? KERNEL_REFUSES
		      : errno == ESRCH ? KERNEL_NO_PROCESS : KERNEL_CANNOT_TELL);
	}
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return KERNEL_CANNOT_TELL;
	return WIFEXITED(status) && WEXITSTATUS(status) <= KERNEL_CANNOT_TELL ? (enum kernel_answer)WEXITSTATUS(status)
									       : KERNEL_CANNOT_TELL;
}

static bool all_are(const uint32_t ids[4], uint32_t id)
{
	return ids[0] == id && ids[1] == id && ids[2] == id && ids[3] == id;
}

/* The rule read from /proc: 0 or -EPERM with the reason in why. */
static int proc_may_read(const struct client *c, pid_t pid, const struct proc_status *st, const struct stat *sb,
			 char *why, size_t len)
{
	if (!all_are(st->uids, c->uid))
		return errmsg(why, len, -EPERM,
			      "process %d belongs to uids %u/%u/%u/%u (real/effective/saved/fs), not to you (uid %u) alone; "
			      "as with ptrace, only root may profile it",
			      (int)pid, st->uids[0], st->uids[1], st->uids[2], st->uids[3], (unsigned int)c->uid);
	if (!all_are(st->gids, c->gid))
		return errmsg(why, len, -EPERM,
			      "process %d runs as gids %u/%u/%u/%u (real/effective/saved/fs), not all your gid %u; as "
			      "with ptrace, only root may profile it",
			      (int)pid, st->gids[0], st->gids[1], st->gids[2], st->gids[3], (unsigned int)c->gid);
	if (!st->have_cap_prm || st->cap_prm)
		return errmsg(why, len, -EPERM,
			      "process %d holds capabilities (CapPrm %016llx) you do not; as with ptrace, only root may "
			      "profile it",
			      (int)pid, (unsigned long long)st->cap_prm);
	if (sb->st_uid != c->uid)
		return errmsg(why, len, -EPERM, "process %d is not dumpable: as with ptrace, only root may profile it",
			      (int)pid);
	return 0;
}

int auth__may_profile(const struct client *c, pid_t pid, char *why, size_t len)
{
	struct proc_status st;
	struct stat sb;
	char path[64];
	int derived;

	/* the files in /proc/PID (not the directory) become root's when the process is not dumpable */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (pid <= 0 || procfs__read_status(pid, &st) || stat(path, &sb))
		return errmsg(why, len, -ESRCH, "no such process: %d", (int)pid);
	if (c->uid == 0)
		return 0;
	derived = proc_may_read(c, pid, &st, &sb, why, len);
	switch (kernel_may_read(c->uid, c->gid, pid)) {
	case KERNEL_ALLOWS:
		/* the filesystem ids are ours to add: the kernel does not look at the target's */
		if (st.uids[3] != c->uid || st.gids[3] != c->gid)
			return errmsg(why, len, -EPERM,
				      "process %d accesses files as uid %u gid %u, not as you (uid %u gid %u): only root may "
				      "profile it",
				      (int)pid, st.uids[3], st.gids[3], (unsigned int)c->uid, (unsigned int)c->gid);
		return 0;
	case KERNEL_REFUSES:
		return derived ?: errmsg(why, len, -EPERM,
					 "the kernel refuses ptrace access to process %d for uid %u: only root may profile it",
					 (int)pid, (unsigned int)c->uid);
	case KERNEL_NO_PROCESS:
		return errmsg(why, len, -ESRCH, "no such process: %d", (int)pid);
	case KERNEL_CANNOT_TELL:
	default:
		return derived;
	}
}

bool auth__may_see(const struct client *c, const struct sess *ss)
{
	return c->uid == 0 || ss->owner == c->uid;
}
