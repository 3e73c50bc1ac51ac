// SPDX-License-Identifier: LGPL-2.1-or-later
/* Syscall number <-> name through the table generated at build time (gen_syscall_table.sh).
 * The table is const and sorted by number, so lookups need no initialisation or locking. */
#include "sys/syscall_names.h"

#include <stddef.h>
#include <string.h>

#include "syscall_table.h"

const char *syscall__name(unsigned int nr)
{
	size_t lo = 0, hi = SYSCALL_TABLE_LEN;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (syscall_table[mid].nr == nr)
			return syscall_table[mid].name;
		if (syscall_table[mid].nr < nr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int syscall__nr(const char *name)
{
	size_t i;

	if (!name)
		return -1;
	/* Called when parsing a command line or a report, not per event: a scan is enough. */
	for (i = 0; i < SYSCALL_TABLE_LEN; i++)
		if (strcmp(syscall_table[i].name, name) == 0)
			return (int)syscall_table[i].nr;
	return -1;
}
