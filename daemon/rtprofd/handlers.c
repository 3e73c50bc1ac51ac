// SPDX-License-Identifier: LGPL-2.1-or-later
/* The requests of docs/protocol.md but record and stop (recording.c): hello, attach, sessions, query,
 * detach, status. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "base/clock.h"
#include "rtprofd/server_internal.h"

static bool get_int(json_object *req, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
	json_object *v;

	if (!json_object_object_get_ex(req, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return *out >= lo && *out <= hi;
}

/* The session a request names, if the client may see it; else an error was sent. */
static struct sess *request_session(struct server *s, struct client *c, json_object *req)
{
	struct sess *ss;
	int64_t id;

	if (!get_int(req, "session", 1, INT64_MAX, &id)) {
		server_reply_error(s, c, req, "EINVAL", "a session id is required");
		return NULL;
	}
	ss = sessions__find(s, (unsigned long)id);
	if (!ss || !auth__may_see(c, ss)) {
		/* another user's session is reported as missing: its existence is not theirs to know */
		server_reply_error(s, c, req, "ENOENT", "no session %lld", (long long)id);
		return NULL;
	}
	return ss;
}

/* "off", "uprobes" (the GIL measured with uprobes) or, by default, "futex" */
int handlers__runtime_mode(json_object *req)
{
	json_object *v;
	const char *m;

	if (!json_object_object_get_ex(req, "runtime", &v) || !json_object_is_type(v, json_type_string))
		return ENGINE_RT_ON;
	m = json_object_get_string(v);
	return !strcmp(m, "off") ? ENGINE_RT_OFF : !strcmp(m, "uprobes") ? ENGINE_RT_GIL_UPROBES : ENGINE_RT_ON;
}

int handlers__request_pids(struct server *s, struct client *c, json_object *req, const char *verb,
			   json_object **pids_out)
{
	json_object *pids, *v;
	char why[RTP_ERRLEN];
	int n;

	if (!json_object_object_get_ex(req, "pids", &pids) || !json_object_is_type(pids, json_type_array) ||
	    (n = (int)json_object_array_length(pids)) < 1 || n > SERVER_MAX_PIDS_PER_ATTACH) {
		server_reply_error(s, c, req, "EINVAL", "%s needs \"pids\": 1 to %d process ids", verb,
				   SERVER_MAX_PIDS_PER_ATTACH);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		int64_t pid;
		int r;

		v = json_object_array_get_idx(pids, (size_t)i);
		if (!json_object_is_type(v, json_type_int) || (pid = json_object_get_int64(v)) <= 0 || pid > INT32_MAX) {
			server_reply_error(s, c, req, "EINVAL", "\"pids\" must hold process ids");
			return 0;
		}
		r = auth__may_profile(c, (pid_t)pid, why, sizeof(why));
		if (r) {
			if (r == -EPERM) {
				s->refused++;
				server_log("refused: uid %u (pid %d) asked to %s pid %lld: %s", (unsigned int)c->uid,
					   (int)c->pid, verb, (long long)pid, why);
			}
			server_reply_error(s, c, req, r == -EPERM ? "EPERM" : "ESRCH", "%s", why);
			return 0;
		}
	}
	*pids_out = pids;
	return n;
}

static void do_attach(struct server *s, struct client *c, json_object *req)
{
	json_object *pids, *v, *msg, *arr;
	unsigned int owned = sessions__count(s, false, c->uid, false);
	struct sess *ss;
	int n;

	if (c->uid != 0 && owned >= SERVER_MAX_SESSIONS_PER_USER) {
		s->refused++;
		server_reply_error(s, c, req, "ENOSPC", "you have %u sessions, the most a user may have", owned);
		return;
	}
	n = handlers__request_pids(s, c, req, "attach", &pids);
	if (!n)
		return;
	for (int i = 0; i < n; i++) {
		int64_t pid = json_object_get_int64(json_object_array_get_idx(pids, (size_t)i));
		int r = engine__session_of(s->e, (pid_t)pid);

		if (r >= 0) {
			struct sess *w = sessions__of_slot(s, r);

			/* a user's own attach takes a watched process over; its watch figures restart later */
			if (w && w->watched) {
				sessions__free(s, w);
			} else {
				server_reply_error(s, c, req, "EBUSY", "process %lld is already profiled by another session",
						   (long long)pid);
				return;
			}
		}
	}
	ss = sessions__new(s, c->uid, c, false);
	if (!ss) {
		server_reply_error(s, c, req, "ENOSPC", "rtprofd runs %d sessions already, its limit",
				   SERVER_MAX_SESSIONS);
		return;
	}
	if (json_object_object_get_ex(req, "follow", &v) && json_object_is_type(v, json_type_boolean))
		engine__session_follow(s->e, ss->slot, json_object_get_boolean(v));
	engine__session_runtime(s->e, ss->slot, handlers__runtime_mode(req));
	if (c->uid != 0)
		engine__session_restrict(s->e, ss->slot);
	for (int i = 0; i < n; i++) {
		pid_t pid = (pid_t)json_object_get_int64(json_object_array_get_idx(pids, (size_t)i));
		char err[RTP_ERRLEN];

		if (engine__session_add(s->e, ss->slot, pid, err, sizeof(err))) {
			sessions__free(s, ss);
			server_reply_error(s, c, req, "EINVAL", "%s", err);
			return;
		}
		ss->pids[ss->npids++] = pid;
	}
	msg = json_object_new_object();
	arr = json_object_new_array();
	for (size_t i = 0; i < ss->npids; i++)
		json_object_array_add(arr, json_object_new_int(ss->pids[i]));
	json_object_object_add(msg, "type", json_object_new_string("attached"));
	json_object_object_add(msg, "session", json_object_new_int64((int64_t)ss->id));
	json_object_object_add(msg, "pids", arr);
	server_reply(s, c, msg, req);
}

static json_object *session_json(struct server *s, const struct sess *ss)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();

	for (size_t i = 0; i < ss->npids; i++)
		json_object_array_add(arr, json_object_new_int(ss->pids[i]));
	json_object_object_add(o, "session", json_object_new_int64((int64_t)ss->id));
	json_object_object_add(o, "owner_uid", json_object_new_int64(ss->owner));
	json_object_object_add(o, "pids", arr);
	json_object_object_add(o, "live_processes", json_object_new_int((int)engine__session_live(s->e, ss->slot)));
	json_object_object_add(o, "age_s", json_object_new_double((double)(clock__mono_ns() - ss->created_ns) / 1e9));
	json_object_object_add(o, "watched", json_object_new_boolean(ss->watched));
	return o;
}

static void do_sessions(struct server *s, struct client *c, json_object *req)
{
	json_object *msg = json_object_new_object(), *arr = json_object_new_array();

	for (int i = 0; i < SERVER_MAX_SESSIONS; i++)
		if (s->sessions[i].used && auth__may_see(c, &s->sessions[i]))
			json_object_array_add(arr, session_json(s, &s->sessions[i]));
	json_object_object_add(msg, "type", json_object_new_string("sessions"));
	json_object_object_add(msg, "sessions", arr);
	server_reply(s, c, msg, req);
}

static void do_detach(struct server *s, struct client *c, json_object *req)
{
	struct sess *ss = request_session(s, c, req);
	json_object *msg;
	unsigned long id;

	if (!ss)
		return;
	id = ss->id;
	sessions__free(s, ss);
	msg = json_object_new_object();
	json_object_object_add(msg, "type", json_object_new_string("detached"));
	json_object_object_add(msg, "session", json_object_new_int64((int64_t)id));
	server_reply(s, c, msg, req);
}

/* Keys of the full report that each view keeps. */
static const char *const view_keys[][8] = {
	{ "summary", NULL },
	{ "syscalls", "target", "duration_ns", "syscalls", "lost_events", NULL },
	{ "threads", "target", "duration_ns", "threads", "lost_events", NULL },
	{ "sched", "target", "duration_ns", "threads", "runq_hist", "process", "lost_events", NULL },
	{ "runtime", "target", "targets", "duration_ns", "runtime_metrics", "lost_events", NULL },
};

static void do_query(struct server *s, struct client *c, json_object *req)
{
	struct sess *ss = request_session(s, c, req);
	const char *what = "summary";
	struct rtp_report *rep = NULL;
	json_object *v, *full, *msg;
	int view = -1, r;

	if (!ss)
		return;
	if (json_object_object_get_ex(req, "what", &v) && json_object_is_type(v, json_type_string))
		what = json_object_get_string(v);
	for (size_t i = 0; i < sizeof(view_keys) / sizeof(view_keys[0]); i++)
		if (strcmp(view_keys[i][0], what) == 0)
			view = (int)i;
	if (view < 0) {
		char shown[65];

		server_reply_error(s, c, req, "EINVAL", "unknown view '%s': summary, syscalls, threads or sched",
				   server_printable(what, shown, sizeof(shown)));
		return;
	}
	if (json_object_object_get_ex(req, "window", &v) && json_object_get_boolean(v)) {
		if (!ss->watched) {
			server_reply_error(s, c, req, "EINVAL", "only watched processes keep a rolling window");
			return;
		}
		if (!ss->win_last) {
			server_reply_error(s, c, req, "EAGAIN", "no complete window yet: the window is %u s", s->window_s);
			return;
		}
		full = report__json(ss->win_last);
		if (!full) {
			server_reply_error(s, c, req, "EIO", "out of memory");
			return;
		}
	} else {
		r = engine__session_report(s->e, ss->slot, "attach", &rep);
		if (r || !(full = report__json(rep))) {
			report__free(rep);
			server_reply_error(s, c, req, "EIO", "cannot read the session's measurements: %s",
					   strerror(r ? -r : ENOMEM));
			return;
		}
		report__free(rep);
	}
	if (view > 0) {
		json_object *part = json_object_new_object();

		for (int k = 1; view_keys[view][k]; k++)
			if (json_object_object_get_ex(full, view_keys[view][k], &v))
				json_object_object_add(part, view_keys[view][k], json_object_get(v));
		json_object_put(full);
		full = part;
	}
	msg = json_object_new_object();
	json_object_object_add(msg, "type", json_object_new_string("report"));
	json_object_object_add(msg, "session", json_object_new_int64((int64_t)ss->id));
	json_object_object_add(msg, "view", json_object_new_string(view_keys[view][0]));
	json_object_object_add(msg, "report", full);
	server_reply(s, c, msg, req);
}

static void do_status(struct server *s, struct client *c, json_object *req)
{
	json_object *msg = json_object_new_object();
	struct server_daemon_status ds = { .rss_kb = -1 };
	struct server_stats st;

	if (s->status)
		s->status(s->status_ctx, &ds);
	server__stats(s, &st);
	json_object_object_add(msg, "version", json_object_new_string(RTPROF_VERSION));
	json_object_object_add(msg, "protocol", json_object_new_int(RTP_PROTO_VERSION));
	json_object_object_add(msg, "pid", json_object_new_int(ds.pid));
	json_object_object_add(msg, "uptime_s", json_object_new_double(ds.uptime_s));
	json_object_object_add(msg, "cpu_s", json_object_new_double(ds.cpu_s));
	json_object_object_add(msg, "rss_kb", json_object_new_int64(ds.rss_kb));
	json_object_object_add(msg, "lifecycle_events", json_object_new_uint64(ds.lifecycle_events));
	json_object_object_add(msg, "lifecycle_events_per_s",
			       json_object_new_double(ds.uptime_s > 0 ? (double)ds.lifecycle_events / ds.uptime_s : 0));
	json_object_object_add(msg, "lost_events", json_object_new_uint64(ds.lost_events));
	json_object_object_add(msg, "type", json_object_new_string("status"));
	json_object_object_add(msg, "clients", json_object_new_int((int)st.clients));
	json_object_object_add(msg, "sessions", json_object_new_int((int)st.sessions));
	json_object_object_add(msg, "live_processes", json_object_new_int((int)st.targets));
	json_object_object_add(msg, "requests", json_object_new_uint64(st.requests));
	json_object_object_add(msg, "refused", json_object_new_uint64(st.refused));
	json_object_object_add(msg, "dropped_clients", json_object_new_uint64(st.dropped_clients));
	json_object_object_add(msg, "watched_processes", json_object_new_int((int)st.watched));
	json_object_object_add(msg, "watch_dropped", json_object_new_uint64(st.watch_dropped));
	server_reply(s, c, msg, req);
}

static void do_hello(struct server *s, struct client *c, json_object *req)
{
	json_object *msg;
	int64_t version;

	if (!get_int(req, "version", 0, INT32_MAX, &version) || version != RTP_PROTO_VERSION) {
		server_reply_error(s, c, req, "EPROTO", "unsupported protocol version; this rtprofd speaks version %d",
				   RTP_PROTO_VERSION);
		c->closing = true;
		return;
	}
	c->hello = true;
	msg = json_object_new_object();
	json_object_object_add(msg, "type", json_object_new_string("hello"));
	json_object_object_add(msg, "version", json_object_new_int(RTP_PROTO_VERSION));
	json_object_object_add(msg, "server", json_object_new_string("rtprofd " RTPROF_VERSION));
	json_object_object_add(msg, "uid", json_object_new_int64(c->uid));
	server_reply(s, c, msg, req);
}

static const struct {
	const char *type;
	void (*fn)(struct server *, struct client *, json_object *);
} handlers[] = {
	{ "attach", do_attach },
	{ "detach", do_detach },
	{ "sessions", do_sessions },
	{ "query", do_query },
	{ "status", do_status },
	{ "record", recording__request },
	{ "stop", recording__stop },
};

void handlers__dispatch(struct server *s, struct client *c, json_object *req)
{
	const char *type = proto__type(req);
	char shown[65];

	if (!c->hello) {
		if (strcmp(type, "hello") == 0) {
			do_hello(s, c, req);
		} else {
			server_reply_error(s, c, req, "EPROTO", "the first message must be a hello with the protocol version");
			c->closing = true;
		}
		return;
	}
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
		if (strcmp(handlers[i].type, type) == 0) {
			handlers[i].fn(s, c, req);
			return;
		}
	}
	server_reply_error(s, c, req, "EINVAL", "unknown request type '%s'", server_printable(type, shown, sizeof(shown)));
}
