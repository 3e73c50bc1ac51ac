// SPDX-License-Identifier: LGPL-2.1-or-later
/* syscall_names: the generated table against the libc's own SYS_* numbers. */
#include <stddef.h>
#include <sys/syscall.h>

#include "check.h"
#include "sys/syscall_names.h"

#define ENTRY(name) { SYS_##name, #name }

static const struct {
	long nr;
	const char *name;
} known[] = {
	ENTRY(read), ENTRY(write), ENTRY(close), ENTRY(openat), ENTRY(getppid), ENTRY(execve),
	ENTRY(futex), ENTRY(epoll_pwait), ENTRY(clone), ENTRY(exit_group), ENTRY(nanosleep),
	ENTRY(sched_yield), ENTRY(mmap), ENTRY(ppoll), ENTRY(io_uring_enter),
};

int main(void)
{
	unsigned int nr, named = 0, round_trips = 0;
	size_t i;

	CHECK_STREQ(syscall__name(SYS_getppid), "getppid");
	CHECK_EQ(syscall__nr("getppid"), SYS_getppid);

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		CHECK_STREQ(syscall__name((unsigned int)known[i].nr), known[i].name);
		CHECK_EQ(syscall__nr(known[i].name), known[i].nr);
		CHECK_STREQ(syscall__name((unsigned int)syscall__nr(known[i].name)), known[i].name);
	}

	/* Every name in the table maps back to its number. */
	for (nr = 0; nr < 4096; nr++) {
		const char *name = syscall__name(nr);

		if (!name)
			continue;
		named++;
		round_trips += syscall__nr(name) == (int)nr;
	}
	CHECK_EQ(round_trips, named);
	/* Every architecture Linux supports has well over 250 syscalls. */
	CHECK(named > 250);

	CHECK_STREQ(syscall__name(100000), NULL);
	CHECK_STREQ(syscall__name(~0u), NULL);
	CHECK_EQ(syscall__nr("no_such_syscall"), -1);
	CHECK_EQ(syscall__nr(""), -1);
	CHECK_EQ(syscall__nr(NULL), -1);
	return check_summary();
}
