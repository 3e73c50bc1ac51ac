// SPDX-License-Identifier: LGPL-2.1-or-later
/* libFuzzer target: runtime detection on an ELF file. The input is written to a memfd, opened again by
 * runtime__detect_elf through /proc/self/fd/N, as a real file would be (libelf maps it). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_file.h"
#include "sys/runtime.h"

static int memfd = -1;
static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rtp_runtime_info info;

	if (memfd < 0) {
		memfd = memfd_create("fuzz_elf", MFD_CLOEXEC);
		if (memfd < 0) {
			perror("memfd_create");
			abort();
		}
		snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	}
	if (ftruncate(memfd, 0) || ftruncate(memfd, (off_t)size) || write_all(memfd, data, size)) {
		perror("writing the memfd");
		abort();
	}
	memset(&info, 0, sizeof(info));
	if (runtime__detect_elf(path, &info) == 0) {
		if (!runtime__kind_name(info.kind) || !memchr(info.version, '\0', sizeof(info.version)))
			__builtin_trap();
	}
	return 0;
}
