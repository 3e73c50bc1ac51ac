// SPDX-License-Identifier: LGPL-2.1-or-later
/* libFuzzer target: runtime detection on an ELF file, and its functions by address (addrsym, which names
 * node's native frames): every address of its symbols' first bytes named. The input is written to a memfd,
 * opened again through /proc/self/fd/N, as a real file would be (libelf maps it). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_file.h"
#include "sys/addrsym.h"
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
	{
		struct addrsym *a;
		char name[160];

		if (addrsym__open(path, &a) == 0) {
			/* addresses taken from the input: each found name is terminated and printable */
			for (size_t i = 0; i + 8 <= size && i < 4096; i += 8) {
				uint64_t vaddr;

				memcpy(&vaddr, data + i, sizeof(vaddr));
				if (addrsym__name(a, vaddr, name, sizeof(name)) == 0) {
					if (!memchr(name, '\0', sizeof(name)))
						__builtin_trap();
					for (const char *c = name; *c; c++)
						if ((unsigned char)*c < 0x20 || *c == 0x7f)
							__builtin_trap();
				}
				(void)addrsym__vaddr_of(a, vaddr, &vaddr);
			}
			addrsym__free(a);
		}
	}
	memset(&info, 0, sizeof(info));
	if (runtime__detect_elf(path, &info) == 0) {
		if (!runtime__kind_name(info.kind) || !memchr(info.version, '\0', sizeof(info.version)))
			__builtin_trap();
	}
	return 0;
}
