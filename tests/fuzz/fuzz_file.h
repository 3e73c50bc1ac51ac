/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* For the fuzz targets that hand their input to a parser as a file (a memfd). */
#ifndef RTPROF_FUZZ_FILE_H
#define RTPROF_FUZZ_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

/* Write all of p at offset 0 of fd: 0, or -1. */
static inline int write_all(int fd, const uint8_t *p, size_t len)
{
	off_t off = 0;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n <= 0)
			return -1;
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

#endif
