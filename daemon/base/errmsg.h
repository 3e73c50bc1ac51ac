/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one helper that fills a caller's error message (err may be NULL or errlen 0) and returns the error:
 * `return errmsg(err, errlen, -ESRCH, "no process %d", pid);` */
#ifndef RTPROF_ERRMSG_H
#define RTPROF_ERRMSG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

__attribute__((format(printf, 4, 5))) static inline int errmsg(char *err, size_t errlen, int ret,
								const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

#endif
