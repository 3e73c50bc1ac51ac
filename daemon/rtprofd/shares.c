// SPDX-License-Identifier: LGPL-2.1-or-later
/* The limits' shares (rtprofd(8), LIMITS): a user other than root holds at most a share of each limit,
 * and never takes the last of it, root's reserve. */
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
