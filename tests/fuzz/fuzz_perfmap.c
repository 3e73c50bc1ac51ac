// SPDX-License-Identifier: LGPL-2.1-or-later
/* libFuzzer target: a JIT's perf map (/tmp/perf-PID.map, the profiled program's bytes) added in two pieces as
 * a growing file is read, every entry looked up and its V8 name split. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sys/perfmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct perfmap m = { 0 };
	size_t half = size / 2;
	ssize_t used = perfmap__add(&m, (const char *)data, half), more;
	volatile size_t sink = 0;

	if (used < 0 || (size_t)used > half)
		__builtin_trap();
	more = perfmap__add(&m, (const char *)data + used, size - (size_t)used);
	if (more < 0 || (size_t)more > size - (size_t)used)
		__builtin_trap();
	for (size_t i = 0; i < m.n; i++) {
		const char *name = perfmap__lookup(&m, m.v[i].start);
		char fn[160], file[256];
		int line;

		/* every entry covers its start, and some entry (the latest) names it */
		if (!name || m.v[i].end <= m.v[i].start)
			__builtin_trap();
		perfmap__split_v8(name, fn, sizeof(fn), file, sizeof(file), &line);
		if (!memchr(fn, '\0', sizeof(fn)) || !memchr(file, '\0', sizeof(file)) || line < 0)
			__builtin_trap();
		sink += strlen(fn) + strlen(file);
	}
	perfmap__free(&m);
	(void)sink;
	return 0;
}
