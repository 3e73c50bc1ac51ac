// SPDX-License-Identifier: LGPL-2.1-or-later
/* The limits' shares (rtprofd(8), LIMITS): a user other than root holds at most a share of each limit,
 * and never takes the last of it, root's reserve. */
#include <errno.h>
#include <stdio.h>

#include "base/errmsg.h"
#include "rtprofd/server_internal.h"

unsigned int shares__user_cap(const struct server *s, unsigned int limit)
{
	uint64_t cap = (uint64_t)limit * s->lim.share_num / s->lim.share_den;

	return cap ? (unsigned int)cap : 1;
}

unsigned int shares__reserve(const struct server *s, unsigned int limit)
{
	uint64_t r = (uint64_t)limit * s->lim.reserve_num / s->lim.reserve_den;

	return r ? (unsigned int)r : 1;
}

const struct server_limits *server__limits(const struct server *s)
{
	return &s->lim;
}

int shares__check(const struct server *s, uid_t uid, const char *what, unsigned int limit, unsigned int mine,
		  unsigned int in_use, char *why, size_t len)
{
	unsigned int cap = shares__user_cap(s, limit), reserve = shares__reserve(s, limit);

	if (in_use >= limit)
		return errmsg(why, len, -ENOSPC, "rtprofd has all its %u %s in use", limit, what);
	if (uid == 0)
		return 0;
	if (mine >= cap)
		return errmsg(why, len, -ENOSPC, "uid %u already has %u of its %u %s", (unsigned int)uid, mine, cap,
			      what);
	if (in_use + reserve >= limit)
		return errmsg(why, len, -ENOSPC, "the %u %s of rtprofd's %u left are root's reserve", limit - in_use,
			      what, limit);
	return 0;
}
