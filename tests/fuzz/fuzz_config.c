// SPDX-License-Identifier: LGPL-2.1-or-later
/* libFuzzer target: rtprofd's configuration file parser. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rtprofd/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rtprofd_config c;
	char err[256];

	config__defaults(&c);
	if (config__parse((const char *)data, size, &c, err, sizeof(err)) == 0) {
		/* whatever it accepted is terminated and within bounds */
		if (!memchr(c.socket, '\0', sizeof(c.socket)) || !memchr(c.group, '\0', sizeof(c.group)) ||
		    !memchr(c.metrics, '\0', sizeof(c.metrics)) || (c.watch & ~3u) || c.retention_s > 7 * 24 * 3600)
			__builtin_trap();
	} else if (!memchr(err, '\0', sizeof(err))) {
		__builtin_trap();
	}
	return 0;
}
