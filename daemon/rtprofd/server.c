// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <json-c/json.h>

#include <dirent.h>

#include "rtprofd/config.h"
#include "sys/procfs.h"
#include "sys/runtime.h"
#include "trace/trace.h"
#include "proto/protocol.h"
#include "rtprofd/server.h"

enum tag_kind { TAG_LISTEN = 1, TAG_CLIENT = 2, TAG_RECORDING = 3 };

struct client;

/* A trace recorded for a client: an engine of its own with the probes in recording mode (so that the
 * shared engine's sessions pay nothing for it), its file streamed to the client in binary frames. */
struct recording {
	enum tag_kind kind;
	struct engine *e;
	struct trace_writer *w;
	struct client *c;
	bool stop;   /* the client asked to stop */
	int err;     /* the stream broke */
	uint64_t last_flush_ns;
};

struct client {
	enum tag_kind kind;
	int fd;
	uid_t uid;
	pid_t pid;
	bool hello;
	bool closing; /* flush what is queued, then close */
	uint32_t events;
	struct proto_buf in, out;
	struct recording *rec;
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
	bool watched;
	uint64_t ended_ns; /* watched: when its process was first seen gone */
	/* watched: the rolling window -- the report at the start of the current window, and the last
	 * complete window's figures (that report subtracted from the one at its end) */
	struct rtp_report *win_base, *win_last;
	uint64_t win_base_ns;
};

struct server {
	enum tag_kind kind; /* TAG_LISTEN: the server itself is the listening socket's tag */
	int fd;
	int epfd;
	char path[108]; /* set once bound: the file to remove at exit */
	struct engine *e;
	struct client *clients[SERVER_MAX_CLIENTS];
	struct sess sessions[SERVER_MAX_SESSIONS];
	unsigned long next_id;
	uint64_t requests, refused, dropped, watch_dropped;
	unsigned int watch_mask, retention_s, window_s;
};

static uint64_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	va_list ap;

	fputs("rtprofd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int server__new(const struct server_opts *opts, struct engine *e, struct server **out, char *err, size_t errlen)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct server *s;
	struct group *grp;
	int r;

	if (strlen(opts->socket_path) >= sizeof(addr.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", opts->socket_path);
		return -ENAMETOOLONG;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->kind = TAG_LISTEN;
	s->e = e;
	s->epfd = -1;
	s->next_id = 1;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", opts->socket_path);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		r = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	/* a socket file left by a previous instance that is gone: replace it, unless something answers */
	if (connect(s->fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
		r = -EADDRINUSE;
		snprintf(err, errlen, "another rtprofd is listening on %s", opts->socket_path);
		goto fail;
	}
	close(s->fd);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	(void)unlink(opts->socket_path);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&addr, sizeof(addr))) {
		r = -errno;
		snprintf(err, errlen, "cannot listen on %s: %s", opts->socket_path, strerror(errno));
		goto fail;
	}
	snprintf(s->path, sizeof(s->path), "%s", opts->socket_path); /* ours from now on */
	if (listen(s->fd, 64)) {
		r = -errno;
		snprintf(err, errlen, "cannot listen on %s: %s", opts->socket_path, strerror(errno));
		goto fail;
	}
	grp = opts->group ? getgrnam(opts->group) : NULL;
	if ((grp && chown(opts->socket_path, 0, grp->gr_gid)) || chmod(opts->socket_path, opts->mode)) {
		r = -errno;
		snprintf(err, errlen, "cannot set the owner or mode of %s: %s", opts->socket_path, strerror(errno));
		goto fail;
	}
	*out = s;
	return 0;
fail:
	server__free(s);
	return r;
}

static void client_close(struct server *s, struct client *c);

static void sess_free(struct server *s, struct sess *ss);

void server__free(struct server *s)
{
	if (!s)
		return;
	for (int i = 0; i < SERVER_MAX_CLIENTS; i++)
		if (s->clients[i])
			client_close(s, s->clients[i]);
	/* what no client owns: the watched processes' sessions and their rolling windows */
	for (int i = 0; i < SERVER_MAX_SESSIONS; i++)
		if (s->sessions[i].used)
			sess_free(s, &s->sessions[i]);
	if (s->fd >= 0)
		close(s->fd);
	if (s->path[0])
		(void)unlink(s->path);
	free(s);
}

int server__register(struct server *s, int epfd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };

	s->epfd = epfd;
	return epoll_ctl(epfd, EPOLL_CTL_ADD, s->fd, &ev) ? -errno : 0;
}

bool server__owns(const struct server *s, void *tag)
{
	return tag && (tag == s || *(enum tag_kind *)tag == TAG_CLIENT || *(enum tag_kind *)tag == TAG_RECORDING);
}

static void sess_free(struct server *s, struct sess *ss)
{
	report__free(ss->win_base);
	report__free(ss->win_last);
	engine__session_free(s->e, ss->slot);
	*ss = (struct sess){ 0 };
}

static void recording_free(struct server *s, struct recording *rec);

static void client_close(struct server *s, struct client *c)
{
	if (c->rec)
		recording_free(s, c->rec);
	for (int i = 0; i < SERVER_MAX_SESSIONS; i++)
		if (s->sessions[i].used && s->sessions[i].creator == c)
			sess_free(s, &s->sessions[i]);
	for (int i = 0; i < SERVER_MAX_CLIENTS; i++)
		if (s->clients[i] == c)
			s->clients[i] = NULL;
	if (s->epfd >= 0)
		(void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	proto_buf__free(&c->in);
	proto_buf__free(&c->out);
	free(c);
}

static void accept_clients(struct server *s)
{
	for (;;) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct epoll_event ev = { .events = EPOLLIN };
		struct client *c;
		int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), slot = -1;

		if (fd < 0)
			return;
		for (int i = 0; i < SERVER_MAX_CLIENTS && slot < 0; i++)
			if (!s->clients[i])
				slot = i;
		if (slot < 0 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
			if (slot < 0)
				logf_("too many clients (%d): refusing a connection", SERVER_MAX_CLIENTS);
			s->dropped++;
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->kind = TAG_CLIENT;
		c->fd = fd;
		c->uid = cred.uid;
		c->pid = cred.pid;
		c->events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			free(c);
			continue;
		}
		s->clients[slot] = c;
	}
}

static void set_events(struct server *s, struct client *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (c->events != events && epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->events = events;
}

static void process_input(struct server *s, struct client *c);

/* Write what is queued; false when the client is gone. */
static bool flush_client(struct server *s, struct client *c)
{
	while (c->out.len) {
		ssize_t n = send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			return false;
		}
		proto_buf__consume(&c->out, (size_t)n);
	}
	if (!c->out.len && c->closing)
		return false;
	if (c->out.len < SERVER_CLIENT_OUT_HIGH && c->in.len && !c->closing) {
		size_t before = c->out.len;

		process_input(s, c); /* requests held back while replies were pending */
		if (c->out.len != before)
			return flush_client(s, c);
	}
	set_events(s, c, (c->out.len ? EPOLLOUT : 0) | (c->out.len < SERVER_CLIENT_OUT_HIGH ? EPOLLIN : 0));
	return true;
}

static void reply(struct server *s, struct client *c, json_object *msg, json_object *req)
{
	json_object *id;

	if (req && json_object_object_get_ex(req, "id", &id))
		json_object_object_add(msg, "id", json_object_get(id));
	if (proto__frame(&c->out, msg) || c->out.len > SERVER_MAX_CLIENT_BACKLOG) {
		logf_("client pid %d uid %u does not read its replies: dropped", (int)c->pid, (unsigned int)c->uid);
		s->dropped++;
		c->out.len = 0;
		c->closing = true;
	}
	json_object_put(msg);
}

/* A client's string as it may appear in a reply: printable ASCII, the rest '?' (a cut must not split a
 * UTF-8 sequence, and replies stay valid JSON). */
static const char *printable(const char *in, char *out, size_t size)
{
	size_t o = 0;

	for (; *in && o + 1 < size; in++)
		out[o++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
	out[o] = '\0';
	return out;
}

static void reply_error(struct server *s, struct client *c, json_object *req, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void reply_error(struct server *s, struct client *c, json_object *req, const char *code, const char *fmt, ...)
{
	json_object *msg = json_object_new_object();
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	json_object_object_add(msg, "type", json_object_new_string("error"));
	json_object_object_add(msg, "code", json_object_new_string(code));
	json_object_object_add(msg, "message", json_object_new_string(text));
	reply(s, c, msg, req);
}

/* The rule ptrace uses, from /proc: the process's real and effective uid are the client's, and it is
 * dumpable (/proc/PID/stat is owned by root otherwise: task_dump_owner()). Root may profile anything. */
static int may_profile(const struct client *c, pid_t pid, char *why, size_t len)
{
	struct proc_status st;
	struct stat sb;
	char path[64];

	/* the files in /proc/PID (not the directory) become root's when the process is not dumpable */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (procfs__read_status(pid, &st) || stat(path, &sb)) {
		snprintf(why, len, "no such process: %d", (int)pid);
		return -ESRCH;
	}
	if (c->uid == 0)
		return 0;
	if (st.ruid != c->uid || st.euid != c->uid) {
		snprintf(why, len, "process %d belongs to uid %u, not to you (uid %u)", (int)pid, (unsigned int)st.euid,
			 (unsigned int)c->uid);
		return -EPERM;
	}
	if (sb.st_uid != c->uid) {
		snprintf(why, len, "process %d is not dumpable: as with ptrace, only root may profile it", (int)pid);
		return -EPERM;
	}
	return 0;
}

static struct sess *sess_find(struct server *s, unsigned long id)
{
	for (int i = 0; i < SERVER_MAX_SESSIONS; i++)
		if (s->sessions[i].used && s->sessions[i].id == id)
			return &s->sessions[i];
	return NULL;
}

static bool visible(const struct client *c, const struct sess *ss)
{
	return c->uid == 0 || ss->owner == c->uid;
}

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
		reply_error(s, c, req, "EINVAL", "a session id is required");
		return NULL;
	}
	ss = sess_find(s, (unsigned long)id);
	if (!ss || !visible(c, ss)) {
		/* another user's session is reported as missing: its existence is not theirs to know */
		reply_error(s, c, req, "ENOENT", "no session %lld", (long long)id);
		return NULL;
	}
	return ss;
}

/* The "pids" of an attach or record request, each a process the client may profile; else an error was
 * sent and the count returned is 0. */
/* A request's "runtime" key: "off", "uprobes" (the GIL measured with uprobes) or, by default, "futex" */
static int runtime_mode_of(json_object *req)
{
	json_object *v;
	const char *m;

	if (!json_object_object_get_ex(req, "runtime", &v) || !json_object_is_type(v, json_type_string))
		return ENGINE_RT_ON;
	m = json_object_get_string(v);
	return !strcmp(m, "off") ? ENGINE_RT_OFF : !strcmp(m, "uprobes") ? ENGINE_RT_GIL_UPROBES : ENGINE_RT_ON;
}

static int request_pids(struct server *s, struct client *c, json_object *req, const char *verb, json_object **pids_out)
{
	json_object *pids, *v;
	char why[RTP_ERRLEN];
	int n;

	if (!json_object_object_get_ex(req, "pids", &pids) || !json_object_is_type(pids, json_type_array) ||
	    (n = (int)json_object_array_length(pids)) < 1 || n > SERVER_MAX_PIDS_PER_ATTACH) {
		reply_error(s, c, req, "EINVAL", "%s needs \"pids\": 1 to %d process ids", verb, SERVER_MAX_PIDS_PER_ATTACH);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		int64_t pid;
		int r;

		v = json_object_array_get_idx(pids, (size_t)i);
		if (!json_object_is_type(v, json_type_int) || (pid = json_object_get_int64(v)) <= 0 || pid > INT32_MAX) {
			reply_error(s, c, req, "EINVAL", "\"pids\" must hold process ids");
			return 0;
		}
		r = may_profile(c, (pid_t)pid, why, sizeof(why));
		if (r) {
			if (r == -EPERM) {
				s->refused++;
				logf_("refused: uid %u (pid %d) asked to %s pid %lld: %s", (unsigned int)c->uid, (int)c->pid,
				      verb, (long long)pid, why);
			}
			reply_error(s, c, req, r == -EPERM ? "EPERM" : "ESRCH", "%s", why);
			return 0;
		}
	}
	*pids_out = pids;
	return n;
}

static void do_attach(struct server *s, struct client *c, json_object *req)
{
	json_object *pids, *v, *msg, *arr;
	int n, owned = 0, slot;
	struct sess *ss = NULL;

	for (int i = 0; i < SERVER_MAX_SESSIONS; i++)
		owned += s->sessions[i].used && s->sessions[i].owner == c->uid;
	if (c->uid != 0 && owned >= SERVER_MAX_SESSIONS_PER_USER) {
		s->refused++;
		reply_error(s, c, req, "ENOSPC", "you have %d sessions, the most a user may have", owned);
		return;
	}
	n = request_pids(s, c, req, "attach", &pids);
	if (!n)
		return;
	for (int i = 0; i < n; i++) {
		int64_t pid = json_object_get_int64(json_object_array_get_idx(pids, (size_t)i));
		int r;

		if ((r = engine__session_of(s->e, (pid_t)pid)) >= 0) {
			struct sess *w = NULL;

			for (int k = 0; k < SERVER_MAX_SESSIONS; k++)
				if (s->sessions[k].used && s->sessions[k].slot == r)
					w = &s->sessions[k];
			/* a user's own attach takes a watched process over; its watch figures restart later */
			if (w && w->watched) {
				sess_free(s, w);
			} else {
				reply_error(s, c, req, "EBUSY", "process %lld is already profiled by another session",
					    (long long)pid);
				return;
			}
		}
	}
	slot = engine__session_new(s->e);
	for (int i = 0; i < SERVER_MAX_SESSIONS && slot >= 0 && !ss; i++)
		if (!s->sessions[i].used)
			ss = &s->sessions[i];
	if (slot < 0 || !ss) {
		if (slot >= 0)
			engine__session_free(s->e, slot);
		reply_error(s, c, req, "ENOSPC", "rtprofd runs %d sessions already, its limit", SERVER_MAX_SESSIONS);
		return;
	}
	*ss = (struct sess){ .used = true, .id = s->next_id++, .slot = slot, .owner = c->uid, .creator = c,
			     .created_ns = mono_now() };
	if (json_object_object_get_ex(req, "follow", &v) && json_object_is_type(v, json_type_boolean))
		engine__session_follow(s->e, slot, json_object_get_boolean(v));
	engine__session_runtime(s->e, slot, runtime_mode_of(req));
	if (c->uid != 0)
		engine__session_restrict(s->e, slot);
	for (int i = 0; i < n; i++) {
		pid_t pid = (pid_t)json_object_get_int64(json_object_array_get_idx(pids, (size_t)i));
		char err[RTP_ERRLEN];

		if (engine__session_add(s->e, slot, pid, err, sizeof(err))) {
			sess_free(s, ss);
			reply_error(s, c, req, "EINVAL", "%s", err);
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
	reply(s, c, msg, req);
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
	json_object_object_add(o, "age_s", json_object_new_double((double)(mono_now() - ss->created_ns) / 1e9));
	json_object_object_add(o, "watched", json_object_new_boolean(ss->watched));
	return o;
}

static void do_sessions(struct server *s, struct client *c, json_object *req)
{
	json_object *msg = json_object_new_object(), *arr = json_object_new_array();

	for (int i = 0; i < SERVER_MAX_SESSIONS; i++)
		if (s->sessions[i].used && visible(c, &s->sessions[i]))
			json_object_array_add(arr, session_json(s, &s->sessions[i]));
	json_object_object_add(msg, "type", json_object_new_string("sessions"));
	json_object_object_add(msg, "sessions", arr);
	reply(s, c, msg, req);
}

static void do_detach(struct server *s, struct client *c, json_object *req)
{
	struct sess *ss = request_session(s, c, req);
	json_object *msg;
	unsigned long id;

	if (!ss)
		return;
	id = ss->id;
	sess_free(s, ss);
	msg = json_object_new_object();
	json_object_object_add(msg, "type", json_object_new_string("detached"));
	json_object_object_add(msg, "session", json_object_new_int64((int64_t)id));
	reply(s, c, msg, req);
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

		reply_error(s, c, req, "EINVAL", "unknown view '%s': summary, syscalls, threads or sched",
			    printable(what, shown, sizeof(shown)));
		return;
	}
	if (json_object_object_get_ex(req, "window", &v) && json_object_get_boolean(v)) {
		if (!ss->watched) {
			reply_error(s, c, req, "EINVAL", "only watched processes keep a rolling window");
			return;
		}
		if (!ss->win_last) {
			reply_error(s, c, req, "EAGAIN", "no complete window yet: the window is %u s", s->window_s);
			return;
		}
		full = report__json(ss->win_last);
		if (!full) {
			reply_error(s, c, req, "EIO", "out of memory");
			return;
		}
	} else {
		r = engine__session_report(s->e, ss->slot, "attach", &rep);
		if (r || !(full = report__json(rep))) {
			report__free(rep);
			reply_error(s, c, req, "EIO", "cannot read the session's measurements: %s", strerror(r ? -r : ENOMEM));
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
	reply(s, c, msg, req);
}

void server__stats(const struct server *s, struct server_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (int i = 0; i < SERVER_MAX_CLIENTS; i++)
		st->clients += s->clients[i] != NULL;
	for (int i = 0; i < SERVER_MAX_SESSIONS; i++) {
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

/* Filled in by rtprofd's main: version, uptime, CPU, memory, events. */
json_object *rtprofd_status_json(void);

static void do_status(struct server *s, struct client *c, json_object *req)
{
	json_object *msg = rtprofd_status_json();
	struct server_stats st;

	server__stats(s, &st);
	json_object_object_add(msg, "type", json_object_new_string("status"));
	json_object_object_add(msg, "clients", json_object_new_int((int)st.clients));
	json_object_object_add(msg, "sessions", json_object_new_int((int)st.sessions));
	json_object_object_add(msg, "live_processes", json_object_new_int((int)st.targets));
	json_object_object_add(msg, "requests", json_object_new_uint64(st.requests));
	json_object_object_add(msg, "refused", json_object_new_uint64(st.refused));
	json_object_object_add(msg, "dropped_clients", json_object_new_uint64(st.dropped_clients));
	json_object_object_add(msg, "watched_processes", json_object_new_int((int)st.watched));
	json_object_object_add(msg, "watch_dropped", json_object_new_uint64(st.watch_dropped));
	reply(s, c, msg, req);
}

static void do_hello(struct server *s, struct client *c, json_object *req)
{
	json_object *msg;
	int64_t version;

	if (!get_int(req, "version", 0, INT32_MAX, &version) || version != RTP_PROTO_VERSION) {
		reply_error(s, c, req, "EPROTO", "unsupported protocol version; this rtprofd speaks version %d",
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
	reply(s, c, msg, req);
}

#define SERVER_MAX_RECORDINGS 4
#define RECORDING_TRACE_BUFFER (32u << 20)
#define RECORDING_FLUSH_NS 1000000000ull

static int recording_sink(void *ctx, const void *buf, size_t len)
{
	struct recording *rec = ctx;
	struct client *c = rec->c;

	if (c->out.len > SERVER_MAX_CLIENT_BACKLOG)
		return -ENOBUFS; /* the client does not keep up: the trace stops */
	return proto__frame_bytes(&c->out, buf, len);
}

static int recording_record(const struct trace_rec *r, void *ctx)
{
	struct recording *rec = ctx;
	int err = trace_writer__write(rec->w, r);

	if (err)
		rec->err = err;
	return err;
}

static void recording_free(struct server *s, struct recording *rec)
{
	if (!rec)
		return;
	if (s->epfd >= 0 && rec->e)
		(void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, engine__fd(rec->e), NULL);
	trace_writer__abort(rec->w);
	engine__free(rec->e);
	if (rec->c)
		rec->c->rec = NULL;
	free(rec);
}

static unsigned int recordings(const struct server *s)
{
	unsigned int n = 0;

	for (int i = 0; i < SERVER_MAX_CLIENTS; i++)
		n += s->clients[i] && s->clients[i]->rec;
	return n;
}

static void do_record(struct server *s, struct client *c, json_object *req)
{
	struct engine_opts eo = { .sz = sizeof(eo), .record = true, .trace_buffer_bytes = RECORDING_TRACE_BUFFER };
	json_object *pids, *v, *msg;
	struct trace_header h;
	struct recording *rec;
	char why[RTP_ERRLEN];
	int n, r;

	if (c->rec) {
		reply_error(s, c, req, "EBUSY", "this connection is recording already");
		return;
	}
	if (recordings(s) >= SERVER_MAX_RECORDINGS) {
		reply_error(s, c, req, "ENOSPC", "rtprofd records %d traces already, its limit", SERVER_MAX_RECORDINGS);
		return;
	}
	n = request_pids(s, c, req, "record", &pids);
	if (!n)
		return;
	if (json_object_object_get_ex(req, "follow", &v) && json_object_is_type(v, json_type_boolean))
		eo.no_follow = !json_object_get_boolean(v);
	eo.runtime_mode = runtime_mode_of(req);
	/* a smaller trace buffer than the default only: a client cannot make the daemon pin more memory */
	if (json_object_object_get_ex(req, "trace_buffer", &v) && json_object_is_type(v, json_type_int)) {
		int64_t b = json_object_get_int64(v);

		if (b < 4096 || b > RTP_DEFAULT_TRACE_BUFFER || (b & (b - 1))) {
			reply_error(s, c, req, "EINVAL", "trace_buffer must be a power of two from 4096 to %u",
				    RTP_DEFAULT_TRACE_BUFFER);
			return;
		}
		eo.trace_buffer_bytes = (unsigned int)b;
	}
	rec = calloc(1, sizeof(*rec));
	if (!rec) {
		reply_error(s, c, req, "ENOMEM", "out of memory");
		return;
	}
	rec->kind = TAG_RECORDING;
	rec->c = c;
	r = engine__new(&eo, &rec->e, why, sizeof(why));
	if (r) {
		free(rec);
		reply_error(s, c, req, "EIO", "%s", why);
		return;
	}
	c->rec = rec;
	/* the reply first, then the file's first block */
	msg = json_object_new_object();
	json_object_object_add(msg, "type", json_object_new_string("recording"));
	json_object_object_add(msg, "pids", json_object_get(pids));
	reply(s, c, msg, req);
	trace_header__init(&h, engine__start_clock(rec->e), (unsigned int)engine__ncpus(rec->e), "attach",
			   (pid_t)json_object_get_int64(json_object_array_get_idx(pids, 0)), "");
	r = trace_writer__open_sink(recording_sink, rec, 1, &h, &rec->w);
	engine__set_trace_sink(rec->e, recording_record, rec);
	if (c->uid != 0)
		engine__session_restrict(rec->e, 0);
	for (int i = 0; i < n && !r; i++)
		r = engine__add_target(rec->e, (pid_t)json_object_get_int64(json_object_array_get_idx(pids, (size_t)i)),
				       why, sizeof(why));
	if (!r) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = rec };

		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, engine__fd(rec->e), &ev))
			r = -errno;
	}
	if (r) {
		recording_free(s, rec);
		reply_error(s, c, req, "EIO", "cannot record: %s", why[0] ? why : strerror(-r));
		c->closing = true;
		return;
	}
	rec->last_flush_ns = mono_now();
}

static void do_stop(struct server *s, struct client *c, json_object *req)
{
	if (!c->rec) {
		reply_error(s, c, req, "EINVAL", "nothing is being recorded on this connection");
		return;
	}
	c->rec->stop = true;
}

/* The end of a recording: the last records, the footer, and a "recorded" message with the report. */
static void recording_finish(struct server *s, struct recording *rec, const char *why)
{
	struct client *c = rec->c;
	struct trace_footer *f = calloc(1, sizeof(*f));
	struct rtp_report *rep = NULL;
	json_object *msg;
	int r;

	(void)engine__poll(rec->e, 0);
	(void)engine__stop_clock(rec->e);
	r = f ? engine__report(rec->e, "attach", &rep) : -ENOMEM;
	if (!r) {
		f->ncpus = (uint32_t)engine__ncpus(rec->e);
		if (f->ncpus > TRACE_MAX_CPUS)
			f->ncpus = TRACE_MAX_CPUS;
		r = engine__trace_finish(rec->e, f->lost_per_cpu, f->ncpus, &f->lost);
		engine__set_trace_sink(rec->e, NULL, NULL);
		f->end_ns = engine__stop_clock(rec->e);
		f->records = trace_writer__records(rec->w);
		f->exit_status = -1;
		f->wall_s = rep->process.wall_s;
		f->cpu_user_s = rep->process.cpu_user_s;
		f->cpu_sys_s = rep->process.cpu_sys_s;
		f->max_rss_kb = rep->process.max_rss_kb;
		snprintf(f->process_source, sizeof(f->process_source), "procfs");
		snprintf(f->stop_reason, sizeof(f->stop_reason), "%s", rec->err ? "error" : why);
		r = r ?: rec->err ?: trace_writer__close(rec->w, f);
		rec->w = NULL;
	}
	msg = json_object_new_object();
	json_object_object_add(msg, "type", json_object_new_string(r ? "error" : "recorded"));
	if (r) {
		json_object_object_add(msg, "code", json_object_new_string("EIO"));
		json_object_object_add(msg, "message", json_object_new_string(strerror(-r)));
	} else {
		json_object_object_add(msg, "records", json_object_new_uint64(f->records));
		json_object_object_add(msg, "lost", json_object_new_uint64(f->lost));
		json_object_object_add(msg, "report", report__json(rep));
	}
	reply(s, c, msg, NULL);
	report__free(rep);
	free(f);
	recording_free(s, rec);
	if (!flush_client(s, c))
		client_close(s, c);
}

static void recordings_tick(struct server *s)
{
	uint64_t now = mono_now();

	for (int i = 0; i < SERVER_MAX_CLIENTS; i++) {
		struct client *c = s->clients[i];
		struct recording *rec = c ? c->rec : NULL;

		if (!rec)
			continue;
		(void)engine__poll(rec->e, 0);
		if (!rec->err && now - rec->last_flush_ns >= RECORDING_FLUSH_NS) {
			rec->err = trace_writer__flush(rec->w);
			rec->last_flush_ns = now;
		}
		if (rec->err == -ENOBUFS) {
			logf_("client pid %d uid %u does not read its trace: dropped", (int)c->pid, (unsigned int)c->uid);
			s->dropped++;
			client_close(s, c);
			continue;
		}
		if (rec->stop || rec->err || !engine__live_targets(rec->e))
			recording_finish(s, rec, rec->stop ? "signal" : "exit");
		else if (!flush_client(s, c))
			client_close(s, c);
	}
}

int server__poll_ms(const struct server *s)
{
	return recordings(s) ? RTP_TRACE_POLL_MS : 100;
}

static const struct {
	const char *type;
	void (*fn)(struct server *, struct client *, json_object *);
} handlers[] = {
	{ "attach", do_attach }, { "detach", do_detach }, { "sessions", do_sessions },
	{ "query", do_query },	 { "status", do_status }, { "record", do_record }, { "stop", do_stop },
};

static void dispatch(struct server *s, struct client *c, json_object *req)
{
	const char *type = proto__type(req);
	char shown[65];

	s->requests++;
	if (!c->hello) {
		if (strcmp(type, "hello") == 0) {
			do_hello(s, c, req);
		} else {
			reply_error(s, c, req, "EPROTO", "the first message must be a hello with the protocol version");
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
	reply_error(s, c, req, "EINVAL", "unknown request type '%s'", printable(type, shown, sizeof(shown)));
}

/* Requests waiting in c->in, while the client reads its replies: a client that only writes gets no
 * more answers (nor reads) until its unsent replies drain, so it cannot starve the others. */
static void process_input(struct server *s, struct client *c)
{
	int budget = SERVER_REQUESTS_PER_TURN;

	while (!c->closing && c->out.len < SERVER_CLIENT_OUT_HIGH && budget-- > 0) {
		json_object *req = NULL;
		ssize_t used = proto__parse(c->in.p, c->in.len, RTP_PROTO_MAX_REQUEST, &req);

		if (used == 0)
			return;
		if (used < 0) {
			logf_("client pid %d uid %u sent a malformed message (%s): connection closed", (int)c->pid,
			      (unsigned int)c->uid, used == -EMSGSIZE ? "bad length" : "not a JSON object with a type");
			reply_error(s, c, NULL, "EPROTO", "malformed message (%s): closing the connection",
				    used == -EMSGSIZE ? "bad length" : "not UTF-8 JSON: one object with a type");
			c->closing = true;
			c->in.len = 0;
			return;
		}
		dispatch(s, c, req);
		json_object_put(req);
		proto_buf__consume(&c->in, (size_t)used);
	}
}

static bool read_client(struct server *s, struct client *c)
{
	uint8_t buf[65536];

	/* at most a few reads a turn, and none while replies pile up: backpressure through the socket */
	for (int i = 0; i < 4 && c->out.len < SERVER_CLIENT_OUT_HIGH && c->in.len <= RTP_PROTO_MAX_REQUEST + 4; i++) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);

		if (n == 0)
			return false;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
		if (c->closing)
			continue; /* say no more to it; drain */
		if (c->in.len + (size_t)n > c->in.cap) {
			size_t cap = c->in.cap ? c->in.cap : 4096;
			uint8_t *p;

			while (cap < c->in.len + (size_t)n)
				cap *= 2;
			p = realloc(c->in.p, cap);
			if (!p)
				return false;
			c->in.p = p;
			c->in.cap = cap;
		}
		memcpy(c->in.p + c->in.len, buf, (size_t)n);
		c->in.len += (size_t)n;
		process_input(s, c);
	}
	return true;
}

void server__handle(struct server *s, void *tag, uint32_t events)
{
	struct client *c;

	if (tag == s) {
		accept_clients(s);
		return;
	}
	if (*(enum tag_kind *)tag == TAG_RECORDING) {
		(void)engine__poll(((struct recording *)tag)->e, 0);
		return;
	}
	c = tag;
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !read_client(s, c)) {
		client_close(s, c);
		return;
	}
	if (!flush_client(s, c))
		client_close(s, c);
}

void server__foreach_session(const struct server *s, server_session_fn fn, void *ctx)
{
	for (int i = 0; i < SERVER_MAX_SESSIONS; i++) {
		const struct sess *ss = &s->sessions[i];

		if (ss->used)
			fn(ctx, ss->id, ss->slot, ss->owner, ss->watched);
	}
}

void server__set_watch(struct server *s, unsigned int mask, unsigned int retention_s, unsigned int window_s)
{
	s->watch_mask = mask;
	s->retention_s = retention_s;
	s->window_s = window_s ? window_s : 60;
	/* processes of a runtime no longer watched are let go */
	for (int i = 0; i < SERVER_MAX_SESSIONS; i++) {
		struct sess *ss = &s->sessions[i];
		struct rtp_report_target *t;
		struct rtp_report *rep = NULL;
		unsigned int kind = 0;

		if (!ss->used || !ss->watched)
			continue;
		if (engine__session_report(s->e, ss->slot, "attach", &rep) == 0 && rep->n_targets) {
			t = &rep->targets[0];
			kind = t->runtime.kind == RTP_RUNTIME_PYTHON ? WATCH_PYTHON : t->runtime.kind == RTP_RUNTIME_NODE ? WATCH_NODE : 0;
		}
		report__free(rep);
		if (!(kind & mask))
			sess_free(s, ss);
	}
}

void server__watch_exec(struct server *s, pid_t pid)
{
	struct rtp_runtime_info rt;
	struct sess *ss = NULL;
	unsigned int kind, watched = 0;
	char err[RTP_ERRLEN];
	int slot;

	if (!s->watch_mask || engine__session_of(s->e, pid) >= 0 || runtime__detect(pid, &rt))
		return;
	kind = rt.kind == RTP_RUNTIME_PYTHON ? WATCH_PYTHON : rt.kind == RTP_RUNTIME_NODE ? WATCH_NODE : 0;
	if (!(kind & s->watch_mask))
		return;
	for (int i = 0; i < SERVER_MAX_SESSIONS; i++)
		watched += s->sessions[i].used && s->sessions[i].watched;
	slot = watched < SERVER_MAX_WATCHED ? engine__session_new(s->e) : -ENOSPC;
	for (int i = 0; i < SERVER_MAX_SESSIONS && slot >= 0 && !ss; i++)
		if (!s->sessions[i].used)
			ss = &s->sessions[i];
	if (slot < 0 || !ss) {
		if (slot >= 0)
			engine__session_free(s->e, slot);
		s->watch_dropped++;
		return;
	}
	*ss = (struct sess){ .used = true, .id = s->next_id++, .slot = slot, .owner = 0, .watched = true,
			     .created_ns = mono_now(), .npids = 1, .pids = { pid } };
	/* each watched process is a session of its own: its python/node children get theirs */
	engine__session_follow(s->e, slot, false);
	if (engine__session_add(s->e, slot, pid, err, sizeof(err))) {
		/* it exited meanwhile, most likely */
		sess_free(s, ss);
		return;
	}
	logf_("watching %s %s (pid %d), session %lu", runtime__kind_name(rt.kind), rt.version, (int)pid, ss->id);
}

void server__watch_scan(struct server *s)
{
	struct dirent *d;
	DIR *dir;

	if (!s->watch_mask || !(dir = opendir("/proc")))
		return;
	while ((d = readdir(dir))) {
		char *end;
		long pid = strtol(d->d_name, &end, 10);
		struct proc_stat st;

		/* the comm test first: only python* and node* programs are worth reading the ELF of */
		if (*end || pid <= 0 || procfs__read_stat((pid_t)pid, 0, &st) ||
		    (strncmp(st.comm, "python", 6) && strncmp(st.comm, "node", 4)))
			continue;
		server__watch_exec(s, (pid_t)pid);
	}
	closedir(dir);
}

void server__tick(struct server *s)
{
	uint64_t now = mono_now();

	recordings_tick(s);
	for (int i = 0; i < SERVER_MAX_SESSIONS; i++) {
		struct sess *ss = &s->sessions[i];

		if (!ss->used || !ss->watched)
			continue;
		if (!ss->win_base || now - ss->win_base_ns >= (uint64_t)s->window_s * 1000000000ull) {
			struct rtp_report *cur = NULL, *delta = NULL;

			if (engine__session_report(s->e, ss->slot, "attach", &cur) == 0) {
				if (ss->win_base && report__subtract(cur, ss->win_base, &delta) == 0) {
					report__free(ss->win_last);
					ss->win_last = delta;
				}
				report__free(ss->win_base);
				ss->win_base = cur;
				ss->win_base_ns = now;
			}
		}
		if (engine__session_live(s->e, ss->slot))
			continue;
		if (!ss->ended_ns)
			ss->ended_ns = now;
		else if (now - ss->ended_ns >= (uint64_t)s->retention_s * 1000000000ull)
			sess_free(s, ss);
	}
}
