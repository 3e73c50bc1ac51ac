// SPDX-License-Identifier: LGPL-2.1-or-later
/* Numbers on the command line: strict, so that "-1", " 5", "5x" or "" are refused, not read as something
 * else (strtoul reads "-1" as its largest value, atoi reads "5x" as 5 and "x" as 0). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "rtprof.h"

/* digits first: no sign, no blank, no "inf" or "nan" */
static bool starts_as_number(const char *s)
{
	return isdigit((unsigned char)s[0]) || (s[0] == '.' && isdigit((unsigned char)s[1]));
}

int parse_count(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	if (!starts_as_number(s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v))
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': v = v > (UINT64_MAX >> 10) ? 0 : v << 10; end++; break;
	case 'm': case 'M': v = v > (UINT64_MAX >> 20) ? 0 : v << 20; end++; break;
	case 'g': case 'G': v = v > (UINT64_MAX >> 30) ? 0 : v << 30; end++; break;
	default: break;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || !v)
		return -EINVAL;
	*out = v;
	return 0;
}
