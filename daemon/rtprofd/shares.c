// SPDX-License-Identifier: LGPL-2.1-or-later
/* The limits' shares (rtprofd(8), LIMITS): a user other than root holds at most a share of each limit,
 * and never takes the last of it, root's reserve. */
#include <errno.h>
#include <stdbool.h>
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

int shares__threads_of(struct server *s, uid_t uid)
{
	bool used[RTP_MAX_SHARES] = { [SHARES_USERS] = true };

	if (uid == 0)
		return -1;
	for (unsigned int i = 0; i < s->lim.sessions; i++) {
		const struct sess *ss = &s->sessions[i];

		if (!ss->used || ss->share < 0)
			continue;
		if (ss->owner == uid)
			return ss->share;
		used[ss->share] = true;
	}
	for (int i = 0; i < RTP_MAX_SHARES; i++) {
		if (!used[i] && engine__share_set(s->e, (unsigned int)i, shares__user_cap(s, s->lim.threads),
						  SHARES_USERS) == 0) {
			s->share_drops[i] = 0;
			return i;
		}
	}
	return SHARES_USERS; /* more users than shares: theirs together, at least */
}

void shares__log_drops(struct server *s)
{
	bool used[RTP_MAX_SHARES] = { [SHARES_USERS] = true };
	uid_t owner[RTP_MAX_SHARES] = { 0 };

	for (unsigned int i = 0; i < s->lim.sessions; i++) {
		const struct sess *ss = &s->sessions[i];

		if (ss->used && ss->share > SHARES_USERS) {
			used[ss->share] = true;
			owner[ss->share] = ss->owner;
		}
	}
	for (int i = 0; i < RTP_MAX_SHARES; i++) {
		unsigned int threads;
		uint64_t drops;

		if (!used[i] || engine__share_stats(s->e, (unsigned int)i, &threads, &drops) || drops <= s->share_drops[i])
			continue;
		if (i == SHARES_USERS)
			server_log("the users but root hold %u threads, all but root's reserve of the %u tracked: %llu "
				   "more not tracked so far", threads, s->lim.threads, (unsigned long long)drops);
		else
			server_log("uid %u's sessions hold %u threads, its share of the %u tracked: %llu more not tracked "
				   "so far", (unsigned int)owner[i], threads, s->lim.threads, (unsigned long long)drops);
		s->share_drops[i] = drops;
	}
}
