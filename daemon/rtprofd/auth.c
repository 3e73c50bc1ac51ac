// SPDX-License-Identifier: LGPL-2.1-or-later
/* Authorisation: who may profile a process, who may see a session (docs/protocol.md, Authorisation). */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "base/errmsg.h"
#include "sys/procfs.h"
#include "rtprofd/server_internal.h"

/* The rule ptrace uses, from /proc: the process's real and effective uid are the client's, and it is
 * dumpable (/proc/PID/stat is owned by root otherwise: task_dump_owner()). Root may profile anything. */
int auth__may_profile(const struct client *c, pid_t pid, char *why, size_t len)
{
	struct proc_status st;
	struct stat sb;
	char path[64];

	/* the files in /proc/PID (not the directory) become root's when the process is not dumpable */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (procfs__read_status(pid, &st) || stat(path, &sb))
		return errmsg(why, len, -ESRCH, "no such process: %d", (int)pid);
	if (c->uid == 0)
		return 0;
	if (st.ruid != c->uid || st.euid != c->uid)
		return errmsg(why, len, -EPERM, "process %d belongs to uid %u, not to you (uid %u)", (int)pid,
			      (unsigned int)st.euid, (unsigned int)c->uid);
	if (sb.st_uid != c->uid)
		return errmsg(why, len, -EPERM, "process %d is not dumpable: as with ptrace, only root may profile it",
			      (int)pid);
	return 0;
}

bool auth__may_see(const struct client *c, const struct sess *ss)
{
	return c->uid == 0 || ss->owner == c->uid;
}
