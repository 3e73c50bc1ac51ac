// SPDX-License-Identifier: LGPL-2.1-or-later
/* rtprof run's launch. The runtime probes of a program go on its interpreter's files, which are only known
 * once the program is loaded: the dynamic loader maps libpython (or libnode, libuv) after the exec. Placing
 * them when the exec record arrives leaves the program's first milliseconds unseen -- a Python script's
 * first collections, node's start-up threadpool work. So the child asks to be traced before its exec, and
 * at the exec its program's entry point gets a breakpoint: when it is hit, the loader is done (every
 * library the program links is mapped) and not one instruction of the program has run. The engine places
 * the probes then (engine__target_execd), the breakpoint goes, and the child is let go: traced for a few
 * milliseconds, never after its entry point.
 *
 * Launchers (env, a shell: a `#!/usr/bin/env python3` script, a version manager's shim) exec the program
 * in the same process: their execs are followed, up to MAX_EXECS; signals are delivered as they come; one
 * that runs for more than a second is let go at its next signal.
 * Anything unexpected -- a stop signal before the entry point, an address we cannot read -- lets the child
 * go as it is; the probes then go in when the
 * exec record arrives, as for a followed child, and the report says so. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <elf.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>

#include "base/clock.h"
#include "engine/engine.h"
#include "sys/procfs.h"
#include "launch.h"

#define MAX_EXECS 16
#define LAUNCHER_MAX_NS 1000000000ull

bool launch__wanted(void)
{
#if defined(__x86_64__)
	return geteuid() == 0 && !getenv("RTPROF_NO_LAUNCH_STOP");
#else
	return false;
#endif
}

void launch__child(void)
{
	(void)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
}

/* Whether we trace pid (PTRACE_TRACEME may have failed: a seccomp or LSM rule, rtprof itself traced). */
static bool traced_by_us(pid_t pid)
{
	struct proc_status st;

	return procfs__read_status(pid, &st) == 0 && st.tracer_pid == getpid();
}

void launch__start(struct launch *l, struct engine *e, pid_t pid, bool wanted)
{
	memset(l, 0, sizeof(*l));
	l->e = e;
	l->pid = pid;
	l->start_ns = clock__mono_ns();
	l->state = LAUNCH_OFF;
	if (wanted && traced_by_us(pid)) {
		l->state = LAUNCH_EXEC;
		engine__target_held(e, pid, true);
	}
}

static void let_go(struct launch *l, int sig)
{
	if (l->state == LAUNCH_ENTRY)
		(void)ptrace(PTRACE_POKETEXT, l->pid, (void *)l->entry, (void *)l->saved);
	(void)ptrace(PTRACE_DETACH, l->pid, NULL, (void *)(long)sig);
	l->state = LAUNCH_OFF;
	engine__target_held(l->e, l->pid, false); /* no-op after engine__target_execd */
}

/* The program's entry point (AT_ENTRY of its auxiliary vector), 0 if unknown. */
static uint64_t entry_of(pid_t pid)
{
	char path[48];
	Elf64_auxv_t av[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/auxv", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, av, sizeof(av));
	close(fd);
	for (ssize_t i = 0; n > 0 && i < n / (ssize_t)sizeof(av[0]) && av[i].a_type != AT_NULL; i++)
		if (av[i].a_type == AT_ENTRY)
			return av[i].a_un.a_val;
	return 0;
}

/* A program that execs the real one in the same process. */
static bool is_launcher(pid_t pid)
{
	static const char *const names[] = { "env", "sh", "bash", "dash" };
	char path[48], exe[4096];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	base = strrchr(exe, '/');
	base = base ? base + 1 : exe;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(base, names[i]))
			return true;
	return false;
}

static void on_exec(struct launch *l)
{
	long word;

	l->state = LAUNCH_EXEC;
	if (++l->execs < MAX_EXECS && is_launcher(l->pid)) {
		/* what runs now is known, held on: the launcher may be the program itself (`sh -c 'echo hi'`
		 * execs nothing), and the process is then the launcher's, not the rtprof it was forked as */
		(void)engine__target_execd(l->e, l->pid);
		engine__target_held(l->e, l->pid, true);
		(void)ptrace(PTRACE_CONT, l->pid, NULL, NULL);
		return;
	}
	l->entry = entry_of(l->pid);
	errno = 0;
	word = l->entry ? ptrace(PTRACE_PEEKTEXT, l->pid, (void *)l->entry, NULL) : -1;
	if (!l->entry || errno) {
		let_go(l, 0); /* its exec record places the probes, a little late */
		return;
	}
	l->saved = word;
	/* int3 in the entry point's first byte (x86-64, little-endian) */
	if (ptrace(PTRACE_POKETEXT, l->pid, (void *)l->entry, (void *)((word & ~0xffL) | 0xcc))) {
		let_go(l, 0); /* the same */
		return;
	}
	l->state = LAUNCH_ENTRY;
	(void)ptrace(PTRACE_CONT, l->pid, NULL, NULL);
}

static void on_entry(struct launch *l, struct engine *e)
{
	struct user_regs_struct regs;

	if (ptrace(PTRACE_GETREGS, l->pid, NULL, &regs) || regs.rip != l->entry + 1) {
		/* a SIGTRAP of its own: theirs to have */
		let_go(l, SIGTRAP);
		return;
	}
	regs.rip = l->entry;
	if (ptrace(PTRACE_POKETEXT, l->pid, (void *)l->entry, (void *)l->saved) ||
	    ptrace(PTRACE_SETREGS, l->pid, NULL, &regs)) {
		/* its code or registers are not as they were: it cannot run on */
		let_go(l, SIGKILL);
		return;
	}
	l->state = LAUNCH_EXEC; /* the breakpoint is gone */
	(void)engine__target_execd(e, l->pid);
	/* a launcher exec'd it: its figures start here, not one instruction of it has run */
	if (l->split && l->execs > 1)
		(void)engine__session_split(e, engine__session_of(e, l->pid));
	let_go(l, 0);
}

void launch__stopped(struct launch *l, struct engine *e, int status)
{
	int sig = WSTOPSIG(status), event = (status >> 16) & 0xff;

	if (l->state == LAUNCH_OFF || !WIFSTOPPED(status))
		return;
	if (sig == SIGTRAP && event == PTRACE_EVENT_EXEC) {
		on_exec(l);
	} else if (sig == SIGTRAP && !l->execs && l->state == LAUNCH_EXEC) {
		/* the stop after the first exec (PTRACE_TRACEME's): from here on, execs are events */
		(void)ptrace(PTRACE_SETOPTIONS, l->pid, NULL, (void *)(long)PTRACE_O_TRACEEXEC);
		on_exec(l);
	} else if (sig == SIGTRAP && l->state == LAUNCH_ENTRY) {
		on_entry(l, e);
	} else if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
		/* a stop is the job control's business: delivered as it came, and we are out of the way */
		let_go(l, sig);
	} else if (clock__mono_ns() - l->start_ns > LAUNCHER_MAX_NS) {
		/* a launcher that does more than launch (a long shell script): it is left alone */
		let_go(l, sig);
	} else {
		/* a launcher's SIGCHLD, say: delivered as it came */
		(void)ptrace(PTRACE_CONT, l->pid, NULL, (void *)(long)sig);
	}
}
