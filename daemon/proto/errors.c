// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "proto/errors.h"

static const struct {
	int err;
	const char *code;
	const char *meaning;
} errors[] = {
	{ EPROTO, "EPROTO", "malformed message, or a protocol version rtprofd does not speak" },
	{ EINVAL, "EINVAL", "invalid request" },
	{ ESRCH, "ESRCH", "no such process" },
	{ EPERM, "EPERM", "the process is not yours to profile" },
	{ ENOENT, "ENOENT", "no such session" },
	{ EBUSY, "EBUSY", "already profiled, or already recording" },
	{ ENOSPC, "ENOSPC", "rtprofd runs as many sessions or recordings as it may" },
	{ EAGAIN, "EAGAIN", "not ready yet: try again later" },
	{ ENOMEM, "ENOMEM", "rtprofd is out of memory" },
	{ EIO, "EIO", "rtprofd failed" },
};

static size_t find(int err)
{
	if (err < 0)
		err = -err;
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (errors[i].err == err)
			return i;
	return sizeof(errors) / sizeof(errors[0]) - 1; /* EIO */
}

const char *proto__error_code(int err)
{
	return errors[find(err)].code;
}

const char *proto__error_meaning(int err)
{
	return errors[find(err)].meaning;
}

int proto__error_errno(const char *code)
{
	for (size_t i = 0; code && i < sizeof(errors) / sizeof(errors[0]); i++)
		if (strcmp(errors[i].code, code) == 0)
			return errors[i].err;
	return EIO;
}
