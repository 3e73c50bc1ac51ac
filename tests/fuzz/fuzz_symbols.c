// SPDX-License-Identifier: LGPL-2.1-or-later
/* libFuzzer target: symbol resolution, SDT notes and build ids of an ELF file. The input is written to a
 * memfd, opened by symbols__resolve as /proc/self/fd/N (as fuzz_elf does), with a private, empty debug
 * root: its debug-file paths all lead under it. There, the build-id path of the 2-byte id 0x0000 and the
 * debuglink name "d.debug" lead to a second memfd holding the same bytes, so that an input with that id
 * or link also has its "debug file" read. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_file.h"
#include "engine/uprobe_multi.h"
#include "sys/symbols.h"

static int memfd = -1, debug_fd = -1;
static char path[64], root[] = "/tmp/fuzz_symbols.XXXXXX";
static char build_id_link[sizeof(root) + 64], debuglink_link[sizeof(root) + 16];

static void remove_root(void)
{
	static const char *const dirs[] = { "/usr/lib/debug/.build-id/00", "/usr/lib/debug/.build-id",
					    "/usr/lib/debug", "/usr/lib", "/usr", "" };
	char dir[sizeof(root) + 64];
	size_t i;

	unlink(build_id_link);
	unlink(debuglink_link);
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(dir, sizeof(dir), "%s%s", root, dirs[i]);
		rmdir(dir);
	}
}

static void setup(void)
{
	static const char *const dirs[] = { "/usr", "/usr/lib", "/usr/lib/debug", "/usr/lib/debug/.build-id",
					    "/usr/lib/debug/.build-id/00" };
	char dir[sizeof(root) + 64], target[64];
	size_t i;

	memfd = memfd_create("fuzz_symbols", MFD_CLOEXEC);
	debug_fd = memfd_create("fuzz_symbols_debug", MFD_CLOEXEC);
	if (memfd < 0 || debug_fd < 0 || !mkdtemp(root)) {
		perror("fuzz_symbols setup");
		abort();
	}
	atexit(remove_root);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(dir, sizeof(dir), "%s%s", root, dirs[i]);
		if (mkdir(dir, 0700) != 0) {
			perror(dir);
			abort();
		}
	}
	snprintf(target, sizeof(target), "/proc/self/fd/%d", debug_fd);
	snprintf(build_id_link, sizeof(build_id_link), "%s/usr/lib/debug/.build-id/00/00.debug", root);
	snprintf(debuglink_link, sizeof(debuglink_link), "%s/d.debug", root);
	if (symlink(target, build_id_link) != 0 || symlink(target, debuglink_link) != 0) {
		perror("symlink");
		abort();
	}
}

static void check_string(const char *s, size_t size)
{
	if (!memchr(s, '\0', size))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rtp_usdt_probe probes[4];
	struct rtp_sym_query q[] = {
		{ .name = "main" },
		{ .name = "f" },
		{ .name = "_Z", .prefix = 1 },
		{ .name = "fuzz", .prefix = 1 },
		{ .name = "no_such_symbol" },
	};
	char hex[2 * 64 + 1];
	size_t i;
	int n;

	if (memfd < 0)
		setup();
	if (ftruncate(memfd, 0) || ftruncate(memfd, (off_t)size) || write_all(memfd, data, size) ||
	    ftruncate(debug_fd, 0) || ftruncate(debug_fd, (off_t)size) || write_all(debug_fd, data, size)) {
		perror("writing the memfds");
		abort();
	}
	n = symbols__resolve(path, root, q, sizeof(q) / sizeof(q[0]));
	if (n > (int)(sizeof(q) / sizeof(q[0])))
		__builtin_trap();
	for (i = 0; n >= 0 && i < sizeof(q) / sizeof(q[0]); i++)
		if (q[i].found)
			check_string(q[i].source, sizeof(q[i].source));
	/* The same again comes from the cache; then forget it, so that inputs do not see each other's. */
	(void)symbols__resolve(path, root, q, sizeof(q) / sizeof(q[0]));
	symbols__cache_clear();

	n = symbols__usdt_list(path, probes, sizeof(probes) / sizeof(probes[0]));
	for (i = 0; n > 0 && i < (size_t)n && i < sizeof(probes) / sizeof(probes[0]); i++) {
		check_string(probes[i].provider, sizeof(probes[i].provider));
		check_string(probes[i].name, sizeof(probes[i].name));
		check_string(probes[i].args, sizeof(probes[i].args));
		/* every argument, as the multi-uprobe USDT probes read them */
		for (unsigned int a = 0; a < 12; a++) {
			uint64_t cookie;

			if (usdt__arg_cookie(probes[i].args, a, &cookie) == -ENOENT)
				break;
		}
	}
	if (symbols__build_id(path, hex, sizeof(hex)) == 0)
		check_string(hex, sizeof(hex));
	return 0;
}
