// SPDX-License-Identifier: LGPL-2.1-or-later
/* libFuzzer target: the /proc text parsers (stat, status, schedstat, a maps line) on the same input. They walk
 * [buf, buf + len) and must never read past it: libFuzzer's copy of the input ends exactly there. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sys/procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct proc_stat st;
	struct proc_status status;
	struct proc_schedstat ss;

	if (procfs__parse_stat(text, size, &st) == 0) {
		/* comm is always a terminated string of at most 15 characters */
		if (!memchr(st.comm, '\0', sizeof(st.comm)) || st.pid <= 0 || st.ppid < 0 || st.num_threads < 0)
			__builtin_trap();
	}
	if (procfs__parse_status(text, size, &status) == 0) {
		if (status.threads < 0 || status.vm_hwm_kb < -1 || status.vm_rss_kb < -1)
			__builtin_trap();
	}
	(void)procfs__parse_schedstat(text, size, &ss);
	if (size < 4096) {
		char line[4096];
		struct proc_mapping m;

		memcpy(line, text, size);
		line[size] = '\0';
		/* the path points into the line, the perms are terminated */
		if (procfs__parse_maps_line(line, &m) == 0 &&
		    (m.path < line || m.path > line + size || !memchr(m.perms, '\0', sizeof(m.perms))))
			__builtin_trap();
	}
	return 0;
}
