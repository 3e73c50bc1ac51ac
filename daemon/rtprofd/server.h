/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* rtprofd's server: the listening socket, its clients, their sessions and the requests of
 * docs/protocol.md, each authorised from the peer's credentials. */
#ifndef RTPROF_SERVER_H
#define RTPROF_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine/engine.h"

#define SERVER_MAX_PIDS_PER_ATTACH 64
#define SERVER_MAX_CLIENT_BACKLOG (16u << 20) /* a trace stream a client has not read; past it, it is dropped */
#define SERVER_CLIENT_OUT_HIGH (1u << 20)     /* unsent replies past which a client's requests wait */
#define SERVER_REQUESTS_PER_TURN 16           /* a client's requests handled per turn of the loop */
#define SERVER_POLL_MS 1000                   /* the engine's turns when nothing is recorded nor added */
#define SERVER_SETTLE_MS 2000                 /* ... and at its own rate this long after a process is added */
#define SERVER_FRESH_MS 10                    /* a report's figures are at most this old */

/* rtprofd's own figures for a status reply, filled in by the daemon's main. */
struct server_daemon_status {
	int pid;
	double uptime_s, cpu_s;
	int64_t rss_kb;
	uint64_t lifecycle_events, lost_events;
};
typedef void (*server_status_fn)(void *ctx, struct server_daemon_status *st);

/* The daemon's limits (config.h): each global, with a share for each user but root and a reserve for root. */
struct server_limits {
	unsigned int clients;    /* connections */
	unsigned int sessions;   /* engine session slots (the engine's max_sessions) */
	unsigned int recordings;
	unsigned int threads;    /* the engine's thread table (its max_threads) */
	unsigned int trace_buffer; /* the largest trace ring buffer of a recording */
	unsigned int share_num, share_den;     /* of each limit, a user but root holds at most this (at least 1) */
	unsigned int reserve_num, reserve_den; /* ... and never takes the last this of it (at least 1) */
};

struct server_opts {
	const char *socket_path;
	const char *group; /* owner group of the socket, if it exists */
	unsigned int mode; /* of the socket */
	server_status_fn status; /* the daemon's figures for "status" (may be NULL) */
	void *status_ctx;
	struct server_limits limits;
};

struct server;

/* Bind and listen. Returns 0 or -errno with a sentence in err. */
int server__new(const struct server_opts *opts, struct engine *e, struct server **out, char *err, size_t errlen);
void server__free(struct server *s);
/* Add the listening socket and clients to epoll fd `epfd`; their events come back to server__handle. */
int server__register(struct server *s, int epfd);
/* An epoll event whose data.ptr the server registered. */
void server__handle(struct server *s, void *tag, uint32_t events);
/* Is this epoll tag one of the server's? */
bool server__owns(const struct server *s, void *tag);

struct server_stats {
	unsigned int clients, sessions, targets, watched;
	uint64_t requests, refused, dropped_clients, watch_dropped;
};
void server__stats(const struct server *s, struct server_stats *st);

/* Watch mode: every python/node process (WATCH_* of config.h) gets a session of its own, owned by root,
 * kept `retention_s` after it exits; Python stacks sampled at sample_hz (0: none) for those watched from now on. Watched sessions use at most the session slots but root's reserve,
 * so that clients always find some; processes beyond that are counted, not watched. */
void server__set_watch(struct server *s, unsigned int mask, unsigned int retention_s, unsigned int window_s,
			unsigned int sample_hz);
/* A process that exec'd python* or node*: watch it if its runtime is one of the mask's. */
void server__watch_exec(struct server *s, pid_t pid);
/* Look at every running process (at start, and when the watch list changes). */
void server__watch_scan(struct server *s);
/* The python and node programs on rtprofd's PATH have their runtime probes placed now, so that even their
 * first process is counted from its first instruction (ELF reads: at start and on a reload). */
void server__watch_prime(struct server *s);
/* rtprofd --push URL: watched sessions' stacks pushed every interval_s (push.h). 0 or -errno with a
 * sentence in err. */
int server__set_push(struct server *s, const char *url, unsigned int interval_s, char *err, size_t errlen);
/* Periodic work: stream recordings, forget watched processes that exited more than the retention ago. */
void server__tick(struct server *s);
/* The engine's interval (engine__poll): each turn reads /proc of every target, so a second when all is
 * steady; shorter while a trace is recorded or just after a process was added (its libraries get mapped). */
int server__poll_ms(const struct server *s);
/* How long the main loop may sleep for the server's own duties (a watched session's window to roll), in
 * ms from now; -1: none. */
int server__wake_ms(const struct server *s, uint64_t now);
/* Before a report: the engine's figures up to now, or SERVER_FRESH_MS ago (its /proc samples are taken on
 * its turns only). */
void server__refresh(struct server *s);

/* The limits in force (the session slots, for the metrics' collection). */
const struct server_limits *server__limits(const struct server *s);

typedef void (*server_session_fn)(void *ctx, unsigned long id, int slot, uid_t owner, bool watched);
void server__foreach_session(const struct server *s, server_session_fn fn, void *ctx);

#endif
