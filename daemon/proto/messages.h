/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The messages of rtprofd's protocol (docs/protocol.md) as typed structs: each request and reply is
 * built and parsed here, for the daemon and the CLI alike, so that no other file spells a member. */
#ifndef RTPROF_PROTO_MESSAGES_H
#define RTPROF_PROTO_MESSAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct json_object;

#define PROTO_MAX_PIDS 64
#define PROTO_MESSAGE_LEN 512
#define PROTO_MAX_SAMPLE_HZ 1000

enum proto_type {
	PROTO_UNKNOWN = 0,
	/* both ways: the request and its reply share the name */
	PROTO_HELLO,
	PROTO_SESSIONS,
	PROTO_STATUS,
	/* requests */
	PROTO_ATTACH,
	PROTO_QUERY,
	PROTO_DETACH,
	PROTO_RECORD,
	PROTO_STOP,
	/* replies and events */
	PROTO_ATTACHED,
	PROTO_REPORT,
	PROTO_DETACHED,
	PROTO_RECORDING,
	PROTO_RECORDED,
	PROTO_ENDED, /* a session's processes are gone (attach with "notify") */
	PROTO_ERROR,
};

const char *proto__type_name(enum proto_type type);

enum proto_view { PROTO_VIEW_SUMMARY, PROTO_VIEW_SYSCALLS, PROTO_VIEW_THREADS, PROTO_VIEW_SCHED, PROTO_VIEW_RUNTIME };
const char *proto__view_name(enum proto_view view);
/* name to view; -EINVAL when unknown */
int proto__view_of(const char *name, enum proto_view *view);

/* How a python/node target's runtime is measured ("runtime" of attach and record). */
enum proto_runtime { PROTO_RUNTIME_FUTEX, PROTO_RUNTIME_OFF, PROTO_RUNTIME_UPROBES };

struct proto_request {
	enum proto_type type;
	bool has_id;
	struct json_object *id; /* "id", any JSON value (null too), given back in the reply; borrowed */
	int64_t version;        /* hello; -1 when missing or not an integer */
	pid_t pids[PROTO_MAX_PIDS];
	unsigned int npids;     /* attach, record: 1 to PROTO_MAX_PIDS */
	bool follow;            /* attach, record; default true */
	enum proto_runtime runtime;
	bool notify;            /* attach: push an "ended" event when the processes are gone */
	uint32_t trace_buffer;  /* record: 0 for the daemon's default */
	uint32_t sample_hz;     /* attach, record: Python stacks, on-CPU samples a second (1 to
				 * PROTO_MAX_SAMPLE_HZ); 0: no stacks */
	bool per_thread;        /* attach, record: each thread's syscalls counted too */
	uint32_t loop_threshold_ms; /* attach, record, with stacks: event-loop iterations at least this long
				     * are named with their stacks (1 to 3600000); 0: the daemon's default */
	uint64_t session;       /* query, detach */
	enum proto_view view;   /* query */
	bool window;            /* query */
};

/* A request from its message. 0, or -EINVAL with a sentence in err (req->type is set even then:
 * PROTO_UNKNOWN for a type that is no request). */
int proto__parse_request(struct json_object *msg, struct proto_request *req, char *err, size_t errlen);
/* The message of a request (without "id"); NULL when out of memory. */
struct json_object *proto__build_request(const struct proto_request *req);

struct proto_session_info {
	uint64_t session;
	int64_t owner_uid;
	pid_t pids[PROTO_MAX_PIDS];
	unsigned int npids;
	int64_t live_processes;
	double age_s;
	bool watched;
	char comm[16];     /* the first process's command name; "" unknown */
	char runtime[48];  /* "python 3.11.2", "node 20.20.2"; "" another program, or not known yet */
};

struct proto_status {
	char version[32];
	int64_t protocol, pid;
	double uptime_s, cpu_s;
	int64_t rss_kb;
	uint64_t lifecycle_events;
	double lifecycle_events_per_s;
	uint64_t lost_events;
	int64_t clients, sessions, live_processes;
	uint64_t requests, refused, dropped_clients;
	int64_t watched_processes;
	uint64_t watch_dropped;
};

struct proto_reply {
	enum proto_type type;
	int64_t id;  /* the request's "id" when it is an integer, else -1 */
	/* hello */
	int64_t version, uid;
	char server[64];
	/* attached, recording: the processes; detached, report, ended: the session */
	uint64_t session;
	pid_t pids[PROTO_MAX_PIDS];
	unsigned int npids;
	/* report, recorded: the report's JSON (report-json.md), the reply's own (parse: a reference) */
	enum proto_view view;
	struct json_object *report;
	/* sessions */
	struct proto_session_info *sessions;
	size_t nsessions;
	/* status */
	struct proto_status status;
	/* attached, recording: the stacks' sampling rate in use (0: no stacks) */
	uint32_t sample_hz;
	/* recording: the trace ring buffer in use, in bytes (0: not said, an older daemon) */
	uint32_t trace_buffer;
	/* recorded */
	uint64_t records, lost;
	/* ended */
	char reason[16]; /* "exit" or "detach" */
	/* error */
	int err; /* positive errno */
	char message[PROTO_MESSAGE_LEN];
};

/* A reply's message (without "id"); takes r->report. NULL when out of memory. */
struct json_object *proto__build_reply(struct proto_reply *r);
/* A reply from its message: 0 or -EBADMSG (a member missing or of the wrong type); a type this side
 * does not know is PROTO_UNKNOWN. Free with proto_reply__clear. */
int proto__parse_reply(struct json_object *msg, struct proto_reply *r);
void proto_reply__clear(struct proto_reply *r);

#endif
