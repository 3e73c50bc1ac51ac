/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the files of rtprofd's server share: the connection (conn.c), authorisation (auth.c), the session
 * registry (sessions.c), the request handlers (handlers.c), recordings (recording.c) and watch mode
 * (watch.c). Not for the rest of rtprofd: server.h is its interface. */
#ifndef RTPROF_SERVER_INTERNAL_H
#define RTPROF_SERVER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "rtprof_abi.h"
#include "proto/messages.h"
#include "proto/protocol.h"
#include "rtprofd/server.h"

struct json_object;

enum tag_kind { TAG_LISTEN = 1, TAG_CLIENT = 2, TAG_RECORDING = 3, TAG_WATCHQ = 4 };

struct recording;
struct pending_attach;
struct watchq_job;

struct client {
	enum tag_kind kind;
	int fd;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	bool hello;
	bool closing; /* flush what is queued, then close */
	uint32_t events;
	struct proto_buf in, out;
	struct recording *rec;
	struct pending_attach *pending; /* its attach waits for runtime detection: its next requests wait too */
};

struct sess {
	bool used;
	unsigned long id; /* what clients call it */
	int slot;         /* engine session */
	uid_t owner;
	struct client *creator; /* the session ends with the connection that made it */
	uint64_t created_ns;
	pid_t pids[SERVER_MAX_PIDS_PER_ATTACH];
	size_t npids;
	bool notify;   /* the creator asked for an "ended" event */
	bool ended;    /* ... and it was sent */
	bool watched;
	int share;         /* its threads' share of the engine's thread table (-1: none, root's) */
	uint64_t ended_ns; /* watched: when its process was first seen gone */
	/* watched: the rolling window -- the report at the start of the current window, and the last
	 * complete window's figures (that report subtracted from the one at its end) */
	struct rtp_report *win_base, *win_last;
	uint64_t win_base_ns;
	/* watched, with rtprofd --push: its stacks as of the last push, and since when the next one counts */
	struct rtp_profiles *pushed;
	uint64_t push_from_ns;
	bool push_done; /* its process is gone and the last push made */
};

struct server {
	enum tag_kind kind; /* TAG_LISTEN: the server itself is the listening socket's tag */
	int fd;
	int epfd;
	char path[108]; /* set once bound: the file to remove at exit */
	struct engine *e;
	server_status_fn status;
	void *status_ctx;
	struct server_limits lim;
	struct client **clients; /* [lim.clients] */
	struct sess *sessions;   /* [lim.sessions] */
	unsigned long next_id;
	uint64_t requests, refused, dropped, watch_dropped;
	uint64_t share_drops[RTP_MAX_SHARES]; /* each thread share's drops, as last logged */
	unsigned int watch_mask, retention_s, window_s, watch_sample_hz;
	struct watchq *wq;          /* watch mode's runtime detection (watchq.c), made with the first watch */
	enum tag_kind watchq_tag;   /* TAG_WATCHQ: the epoll tag of its results */
	uint64_t settle_until_ns;   /* the engine's turns at its own rate until then (server__poll_ms) */
	uint64_t refreshed_ns;      /* the last server__refresh */
	struct pending_attach *attaches; /* attaches waiting for their runtime detection (handlers.c) */
	bool exiting; /* server__free: the engine goes next */
	struct pusher *push;       /* rtprofd --push (push.c); NULL: none */
	unsigned int push_interval_s;
	uint64_t next_push_ns;
};

/* conn.c: logging, replies, the connection's life */
void server_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Queue a reply for c, with the "id" of req if any (req may be NULL); takes r->report. A client past its
 * backlog, or a reply that cannot be built, closes the connection. */
void conn__reply(struct server *s, struct client *c, struct proto_reply *r, const struct proto_request *req);
/* An error reply: err is an errno (either sign), the message a sentence. */
void conn__reply_error(struct server *s, struct client *c, const struct proto_request *req, int err,
			const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Write what is queued; false when the client is gone. */
bool conn__flush(struct server *s, struct client *c);
void conn__close(struct server *s, struct client *c);

/* auth.c: may this client profile pid? 0, -ESRCH or -EPERM with a sentence in why. */
int auth__may_profile(const struct client *c, pid_t pid, char *why, size_t len);
/* Can the client see the session (its owner, or root)? */
bool auth__may_see(const struct client *c, const struct sess *ss);

/* sessions.c: the registry */
struct sess *sessions__find(struct server *s, unsigned long id);
struct sess *sessions__of_slot(struct server *s, int slot);
/* A free entry with a new engine session, or NULL with why (-ENOSPC): past the owner's share (but for
 * watched sessions, root's), or all taken. The oldest retained session (watched, its process gone) is
 * evicted, and logged, when no entry is free. watched_pid: the process of a watched session (0: not one),
 * whose slot held ready since its exec (engine__watch_claim) becomes the session's if it has one. */
struct sess *sessions__new(struct server *s, uid_t owner, struct client *creator, pid_t watched_pid, char *why,
			   size_t len);
/* Evict the oldest retained session, logged with for_whom; false when there is none. */
bool sessions__evict_retained(struct server *s, const char *for_whom);
unsigned int sessions__retained(const struct server *s);
void sessions__free(struct server *s, struct sess *ss);
/* Tell a session's creator, if it asked, that the session ended: "exit" or "detach". */
void sessions__notify_ended(struct server *s, struct sess *ss, const char *reason);
/* Sessions whose processes are all gone: tell their creators. */
void sessions__tick(struct server *s);
unsigned int sessions__count(const struct server *s, bool watched_only, uid_t owner, bool any_owner);

/* handlers.c: a request's message */
void handlers__dispatch(struct server *s, struct client *c, struct json_object *msg);
/* The processes of an attach or record, each one the client may profile: 0, else an error was sent. */
/* Whether the client may profile every pid of the request (else an error was sent); pidfds[i] gets a pidfd
 * of each process, taken before its check, to hand to the engine and close with handlers__close_pidfds. */
int handlers__authorise_pids(struct server *s, struct client *c, const struct proto_request *req, int *pidfds);
void handlers__close_pidfds(int *pidfds, unsigned int n);
/* An attach's process whose runtime the detection thread found: the attach goes on once all are found. */
void handlers__attach_detected(struct server *s, const struct watchq_job *job);
/* watchq's hooks (watchq.h): an attach's runtime probes made on its thread; dropped at its free */
void handlers__attach_ready(void *ctx, struct watchq_job *job);
void handlers__attach_drop(void *ctx, struct watchq_job *job);
/* Its client is gone: the attach ends when its detection does. */
void handlers__attach_orphan(struct pending_attach *pa);
/* The attaches still waiting, at exit (their clients are closed after). */
void handlers__free_attaches(struct server *s);
/* PROTO_RUNTIME_* to ENGINE_RT_* */
int handlers__runtime_mode(enum proto_runtime runtime);

/* recording.c */
void recording__request(struct server *s, struct client *c, const struct proto_request *req);
void recording__stop(struct server *s, struct client *c, const struct proto_request *req);
void recording__free(struct server *s, struct recording *rec);
void recording__poll(struct recording *rec);
void recordings__tick(struct server *s);
unsigned int recordings__count(const struct server *s);

/* shares.c: of a limit, what a user but root may hold at most, and root's reserve (both at least 1) */
unsigned int shares__user_cap(const struct server *s, unsigned int limit);
unsigned int shares__reserve(const struct server *s, unsigned int limit);
/* The engine's thread share of a user's sessions (-1 for root's); SHARES_USERS is all users' but root's. */
#define SHARES_USERS 0
int shares__threads_of(struct server *s, uid_t uid);
/* Log the threads the shares did not track since the last call. */
void shares__log_drops(struct server *s);
/* May uid take one more of a limit, holding `mine` of it while `in_use` are taken (by anyone)? 0, or
 * -ENOSPC with "uid N already has K of its K <what>" (or the limit's, or root's reserve's) in why. */
int shares__check(const struct server *s, uid_t uid, const char *what, unsigned int limit, unsigned int mine,
		  unsigned int in_use, char *why, size_t len);

/* watch.c */
void watch__tick(struct server *s, uint64_t now);
/* The detections watchq.c finished: watch the processes found to be python or node. */
void watch__results(struct server *s);
void watch__free(struct server *s);
/* The runtime detection's queue (s->wq), started if need be: 0 or -errno (logged). */
int watch__queue(struct server *s);

#endif
