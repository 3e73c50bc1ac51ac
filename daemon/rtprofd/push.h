/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* rtprofd --push URL: the on-CPU Python stacks of each watched process, sent every interval as a pprof
 * profile to a Pyroscope-compatible /ingest endpoint (rtprofd(8), PUSH). The requests are made on a
 * thread of their own with bounded timeouts: a slow or dead receiver never holds the daemon's loop. */
#ifndef RTPROF_PUSH_H
#define RTPROF_PUSH_H

#include <stddef.h>
#include <stdint.h>

struct pusher;
struct server;
struct sess;

/* The endpoint (http:// or https://; a URL without a path gets /ingest) and the thread that posts to it.
 * 0 or -errno with a sentence in err. */
int pusher__new(const char *url, struct pusher **out, char *err, size_t errlen);
/* Stop the thread (a request in flight is cut short) and log what was sent. */
void pusher__free(struct pusher *p);
/* Queue a profile: query (the /ingest parameters, URL-encoded) and body (a gzip-compressed pprof) are
 * taken. Past PUSH_QUEUE requests waiting, it is dropped and counted: -ENOSPC. */
int pusher__submit(struct pusher *p, char *query, uint8_t *body, size_t len);
struct pusher_stats {
	uint64_t sent, failed, dropped;
};
void pusher__stats(struct pusher *p, struct pusher_stats *st);

/* The server's side (push.c): every interval, each watched session's stacks since its last push (and, once
 * its process is gone, what was left). */
void push__tick(struct server *s, uint64_t now_ns);
/* A session goes: what was kept of its pushes goes with it. */
void push__session_free(struct sess *ss);

#endif
