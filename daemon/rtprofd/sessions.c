// SPDX-License-Identifier: LGPL-2.1-or-later
/* The session registry: the sessions clients attached and the watched ones, each an engine session. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "rtprofd/server_internal.h"

struct sess *sessions__find(struct server *s, unsigned long id)
{
	for (int i = 0; (unsigned int)i < s->lim.sessions; i++)
		if (s->sessions[i].used && s->sessions[i].id == id)
			return &s->sessions[i];
	return NULL;
}

struct sess *sessions__of_slot(struct server *s, int slot)
{
	for (int i = 0; (unsigned int)i < s->lim.sessions; i++)
		if (s->sessions[i].used && s->sessions[i].slot == slot)
			return &s->sessions[i];
	return NULL;
}

struct sess *sessions__new(struct server *s, uid_t owner, struct client *creator, bool watched)
{
	struct sess *ss = NULL;
	int slot = engine__session_new(s->e);

	for (int i = 0; (unsigned int)i < s->lim.sessions && slot >= 0 && !ss; i++)
		if (!s->sessions[i].used)
			ss = &s->sessions[i];
	if (slot < 0 || !ss) {
		if (slot >= 0)
			engine__session_free(s->e, slot);
		return NULL;
	}
	*ss = (struct sess){ .used = true, .id = s->next_id++, .slot = slot, .owner = owner, .creator = creator,
			     .watched = watched, .created_ns = clock__mono_ns() };
	return ss;
}

void sessions__free(struct server *s, struct sess *ss)
{
	report__free(ss->win_base);
	report__free(ss->win_last);
	engine__session_free(s->e, ss->slot);
	*ss = (struct sess){ 0 };
}

unsigned int sessions__count(const struct server *s, bool watched_only, uid_t owner, bool any_owner)
{
	unsigned int n = 0;

	for (int i = 0; (unsigned int)i < s->lim.sessions; i++) {
		const struct sess *ss = &s->sessions[i];

		n += ss->used && (!watched_only || ss->watched) && (any_owner || ss->owner == owner);
	}
	return n;
}

void server__stats(const struct server *s, struct server_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (int i = 0; (unsigned int)i < s->lim.clients; i++)
		st->clients += s->clients[i] != NULL;
	for (int i = 0; (unsigned int)i < s->lim.sessions; i++) {
		if (s->sessions[i].used) {
			st->sessions++;
			st->watched += s->sessions[i].watched;
			st->targets += engine__session_live(s->e, s->sessions[i].slot);
		}
	}
	st->watch_dropped = s->watch_dropped;
	st->requests = s->requests;
	st->refused = s->refused;
	st->dropped_clients = s->dropped;
}

void server__foreach_session(const struct server *s, server_session_fn fn, void *ctx)
{
	for (int i = 0; (unsigned int)i < s->lim.sessions; i++) {
		const struct sess *ss = &s->sessions[i];

		if (ss->used)
			fn(ctx, ss->id, ss->slot, ss->owner, ss->watched);
	}
}

void sessions__notify_ended(struct server *s, struct sess *ss, const char *reason)
{
	struct proto_reply ended = { .type = PROTO_ENDED, .session = ss->id };

	if (!ss->creator || !ss->notify || ss->ended)
		return;
	snprintf(ended.reason, sizeof(ended.reason), "%s", reason);
	ss->ended = true;
	conn__reply(s, ss->creator, &ended, NULL);
}

void sessions__tick(struct server *s)
{
	for (int i = 0; (unsigned int)i < s->lim.sessions; i++) {
		struct sess *ss = &s->sessions[i];

		if (ss->used && ss->notify && !ss->ended && !engine__session_live(s->e, ss->slot))
			sessions__notify_ended(s, ss, "exit");
	}
}
