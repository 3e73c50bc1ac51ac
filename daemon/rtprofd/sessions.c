// SPDX-License-Identifier: LGPL-2.1-or-later
/* The session registry: the sessions clients attached and the watched ones, each an engine session. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/errmsg.h"
#include "rtprofd/push.h"
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

/* A watched session whose process is gone: kept for the retention, but never in the way of a new one. */
static bool retained(const struct server *s, const struct sess *ss)
{
	return ss->used && ss->watched && !engine__session_live(s->e, ss->slot);
}

static struct sess *oldest_retained(struct server *s)
{
	struct sess *old = NULL;

	for (unsigned int i = 0; i < s->lim.sessions; i++) {
		struct sess *ss = &s->sessions[i];

		/* a session whose end was not seen yet by watch__tick counts as ended now */
		if (retained(s, ss) && (!old || (ss->ended_ns ?: UINT64_MAX) < (old->ended_ns ?: UINT64_MAX)))
			old = ss;
	}
	return old;
}

bool sessions__evict_retained(struct server *s, const char *for_whom)
{
	struct sess *old = oldest_retained(s);
	uint64_t now = clock__mono_ns();

	if (!old)
		return false;
	server_log("evicted the watched session %lu (pid %d, gone %.1f s ago, kept for %u s) to make room for %s",
		   old->id, old->npids ? (int)old->pids[0] : 0,
		   old->ended_ns ? (double)(now - old->ended_ns) / 1e9 : 0.0, s->retention_s, for_whom);
	sessions__free(s, old);
	return true;
}

unsigned int sessions__retained(const struct server *s)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < s->lim.sessions; i++)
		n += retained(s, &s->sessions[i]);
	return n;
}

struct sess *sessions__new(struct server *s, uid_t owner, struct client *creator, pid_t watched_pid, char *why,
			   size_t len)
{
	bool watched = watched_pid > 0;
	unsigned int in_use = 0, mine = 0;
	struct sess *ss = NULL;
	char whom[64];
	int slot;

	for (unsigned int i = 0; i < s->lim.sessions; i++) {
		const struct sess *o = &s->sessions[i];

		in_use += o->used && !retained(s, o);
		mine += o->used && !o->watched && o->owner == owner;
	}
	/* watched sessions are root's, within their own limit (watch.c) */
	if (!watched && shares__check(s, owner, "sessions", s->lim.sessions, mine, in_use, why, len))
		return NULL;
	for (unsigned int i = 0; i < s->lim.sessions && !ss; i++)
		if (!s->sessions[i].used)
			ss = &s->sessions[i];
	if (watched)
		snprintf(whom, sizeof(whom), "a watched process");
	else
		snprintf(whom, sizeof(whom), "a session of uid %u", (unsigned int)owner);
	if (!ss && sessions__evict_retained(s, whom))
		return sessions__new(s, owner, creator, watched_pid, why, len);
	/* a watched process the probes put in a slot held ready at its exec keeps it: counted from there */
	slot = !ss ? -ENOSPC : watched && (slot = engine__watch_claim(s->e, watched_pid)) >= 0 ? slot
									       : engine__session_new(s->e);
	if (slot < 0) {
		errmsg(why, len, -ENOSPC, "rtprofd has all its %u sessions in use", s->lim.sessions);
		return NULL;
	}
	*ss = (struct sess){ .used = true, .id = s->next_id++, .slot = slot, .owner = owner, .creator = creator,
			     .watched = watched, .created_ns = clock__mono_ns(), .share = -1 };
	s->settle_until_ns = ss->created_ns + SERVER_SETTLE_MS * 1000000ull;
	/* a user's threads count against its share of the thread table, root's against none */
	ss->share = shares__threads_of(s, owner);
	(void)engine__session_share(s->e, slot, ss->share);
	return ss;
}

void sessions__free(struct server *s, struct sess *ss)
{
	report__free(ss->win_base);
	report__free(ss->win_last);
	push__session_free(ss);
	if (!s->exiting)
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
	shares__log_drops(s);
	for (int i = 0; (unsigned int)i < s->lim.sessions; i++) {
		struct sess *ss = &s->sessions[i];

		if (ss->used && ss->notify && !ss->ended && !engine__session_live(s->e, ss->slot))
			sessions__notify_ended(s, ss, "exit");
	}
}
