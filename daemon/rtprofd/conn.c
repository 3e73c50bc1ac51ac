// SPDX-License-Identifier: LGPL-2.1-or-later
/* rtprofd's connections: the listening socket, accepting, reading requests, flushing replies with
 * backpressure, and the epoll and timer entry points of the server. */
#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <json-c/json.h>

#include "base/clock.h"
#include "base/errmsg.h"
#include "base/vec.h"
#include "rtprofd/push.h"
#include "rtprofd/server_internal.h"

void server_log(const char *fmt, ...)
{
	va_list ap;

	fputs("rtprofd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}


/* /run/rtprof as packaging/tmpfiles.d makes it: 0755 root:GROUP (the group when it exists). 0 or -errno. */
static int default_socket_dir(const char *group)
{
	char dir[sizeof(RTP_DEFAULT_SOCKET)];
	struct group *grp;

	snprintf(dir, sizeof(dir), "%s", RTP_DEFAULT_SOCKET);
	*strrchr(dir, '/') = '\0';
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	grp = group ? getgrnam(group) : NULL;
	if (grp && chown(dir, 0, grp->gr_gid))
		return -errno;
	return 0;
}

int server__new(const struct server_opts *opts, struct engine *e, struct server **out, char *err, size_t errlen)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct server *s;
	struct group *grp;
	int r;

	if (strlen(opts->socket_path) >= sizeof(addr.sun_path))
		return errmsg(err, errlen, -ENAMETOOLONG, "socket path too long: %s", opts->socket_path);
	s = calloc(1, sizeof(*s));
	if (!s)
		return errmsg(err, errlen, -ENOMEM, "out of memory");
	s->kind = TAG_LISTEN;
	s->fd = -1;
	s->e = e;
	s->lim = opts->limits;
	s->clients = calloc(s->lim.clients, sizeof(*s->clients));
	s->sessions = calloc(s->lim.sessions, sizeof(*s->sessions));
	if (!s->clients || !s->sessions || !s->lim.share_den || !s->lim.reserve_den) {
		r = errmsg(err, errlen, -ENOMEM, "out of memory");
		goto fail;
	}
	/* the users but root hold at most the thread table but root's reserve, each a share of it */
	r = engine__share_set(e, SHARES_USERS, s->lim.threads - shares__reserve(s, s->lim.threads), -1);
	if (r) {
		r = errmsg(err, errlen, r, "cannot set the thread shares: %s", strerror(-r));
		goto fail;
	}
	s->status = opts->status;
	s->status_ctx = opts->status_ctx;
	s->epfd = -1;
	s->next_id = 1;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", opts->socket_path);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		r = errmsg(err, errlen, -errno, "socket: %s", strerror(errno));
		goto fail;
	}
	/* a socket file left by a previous instance that is gone: replace it, unless something answers */
	if (connect(s->fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
		r = errmsg(err, errlen, -EADDRINUSE, "another rtprofd is listening on %s", opts->socket_path);
		goto fail;
	}
	close(s->fd);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		r = errmsg(err, errlen, -errno, "socket: %s", strerror(errno));
		goto fail;
	}
	(void)unlink(opts->socket_path);
	r = bind(s->fd, (struct sockaddr *)&addr, sizeof(addr)) ? -errno : 0;
	/* started another way than by its unit or package (from a build directory): the default's directory
	 * is made as the package's tmpfiles.d entry makes it */
	if (r == -ENOENT && !strcmp(opts->socket_path, RTP_DEFAULT_SOCKET) && !default_socket_dir(opts->group))
		r = bind(s->fd, (struct sockaddr *)&addr, sizeof(addr)) ? -errno : 0;
	if (r == -ENOENT) {
		r = errmsg(err, errlen, r, "cannot listen on %s: its directory does not exist (create it, or give "
			   "another --socket)", opts->socket_path);
		goto fail;
	}
	if (r) {
		r = errmsg(err, errlen, r, "cannot listen on %s: %s", opts->socket_path, strerror(-r));
		goto fail;
	}
	snprintf(s->path, sizeof(s->path), "%s", opts->socket_path); /* ours from now on */
	if (listen(s->fd, 64)) {
		r = errmsg(err, errlen, -errno, "cannot listen on %s: %s", opts->socket_path, strerror(errno));
		goto fail;
	}
	grp = opts->group ? getgrnam(opts->group) : NULL;
	if ((grp && chown(opts->socket_path, 0, grp->gr_gid)) || chmod(opts->socket_path, opts->mode)) {
		r = errmsg(err, errlen, -errno, "cannot set the owner or mode of %s: %s", opts->socket_path,
			   strerror(errno));
		goto fail;
	}
	*out = s;
	return 0;
fail:
	server__free(s);
	return r;
}

void server__free(struct server *s)
{
	if (!s)
		return;
	/* the engine is freed next, as a whole: its sessions need not be cleared one by one (1 ms each) */
	s->exiting = true;
	/* the push thread first: a request in flight is cut short */
	pusher__free(s->push);
	s->push = NULL;
	watch__free(s);
	handlers__free_attaches(s);
	for (int i = 0; s->clients && (unsigned int)i < s->lim.clients; i++)
		if (s->clients[i])
			conn__close(s, s->clients[i]);
	/* what no client owns: the watched processes' sessions and their rolling windows */
	for (int i = 0; s->sessions && (unsigned int)i < s->lim.sessions; i++)
		if (s->sessions[i].used)
			sessions__free(s, &s->sessions[i]);
	if (s->fd >= 0)
		close(s->fd);
	if (s->path[0])
		(void)unlink(s->path);
	free(s->clients);
	free(s->sessions);
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
	return tag && (tag == s || tag == &s->watchq_tag || *(enum tag_kind *)tag == TAG_CLIENT ||
		       *(enum tag_kind *)tag == TAG_RECORDING);
}

void conn__close(struct server *s, struct client *c)
{
	if (c->pending)
		handlers__attach_orphan(c->pending);
	if (c->rec)
		recording__free(s, c->rec);
	for (int i = 0; (unsigned int)i < s->lim.sessions; i++)
		if (s->sessions[i].used && s->sessions[i].creator == c)
			sessions__free(s, &s->sessions[i]);
	for (int i = 0; (unsigned int)i < s->lim.clients; i++)
		if (s->clients[i] == c)
			s->clients[i] = NULL;
	if (s->epfd >= 0)
		(void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	proto_buf__free(&c->in);
	proto_buf__free(&c->out);
	free(c);
}

/* A connection past the limits: one error frame, if the socket takes it at once, then closed. */
static void refuse_connection(struct server *s, int fd, const struct ucred *cred, int err, const char *why)
{
	struct proto_reply r = { .type = PROTO_ERROR, .err = -err };
	struct proto_buf b = {};
	json_object *msg;

	snprintf(r.message, sizeof(r.message), "%s", why);
	msg = proto__build_reply(&r);
	if (msg && proto__frame(&b, msg) == 0)
		(void)send(fd, b.p, b.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	json_object_put(msg);
	proto_buf__free(&b);
	server_log("refused a connection of uid %u (pid %d): %s", (unsigned int)cred->uid, (int)cred->pid, why);
	s->dropped++;
	close(fd);
}

static void accept_clients(struct server *s)
{
	for (;;) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct epoll_event ev = { .events = EPOLLIN };
		struct client *c;
		int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), slot = -1, r;
		unsigned int in_use = 0, mine = 0;
		char why[RTP_ERRLEN];

		if (fd < 0)
			return;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
			s->dropped++;
			close(fd);
			continue;
		}
		for (unsigned int i = 0; i < s->lim.clients; i++) {
			if (!s->clients[i]) {
				if (slot < 0)
					slot = (int)i;
				continue;
			}
			in_use++;
			mine += s->clients[i]->uid == cred.uid;
		}
		r = shares__check(s, cred.uid, "connections", s->lim.clients, mine, in_use, why, sizeof(why));
		if (r) {
			refuse_connection(s, fd, &cred, r, why);
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
		c->gid = cred.gid;
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

bool conn__flush(struct server *s, struct client *c)
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
	if (c->out.len < SERVER_CLIENT_OUT_HIGH && c->in.len && !c->closing && !c->pending) {
		size_t before = c->out.len;

		process_input(s, c); /* requests held back while replies were pending */
		if (c->out.len != before)
			return conn__flush(s, c);
	}
	/* a client whose attach is under way is not read (a hang-up is still seen) */
	set_events(s, c, (c->out.len ? EPOLLOUT : 0) |
				 (c->out.len < SERVER_CLIENT_OUT_HIGH && !c->pending ? EPOLLIN : 0));
	return true;
}

void conn__reply(struct server *s, struct client *c, struct proto_reply *r, const struct proto_request *req)
{
	json_object *msg = proto__build_reply(r);

	if (msg && req && req->has_id)
		json_object_object_add(msg, "id", json_object_get(req->id));
	if (!msg || proto__frame(&c->out, msg) || c->out.len > SERVER_MAX_CLIENT_BACKLOG) {
		server_log("client pid %d uid %u does not read its replies: dropped", (int)c->pid, (unsigned int)c->uid);
		s->dropped++;
		c->out.len = 0;
		c->closing = true;
	}
	json_object_put(msg);
}

void conn__reply_error(struct server *s, struct client *c, const struct proto_request *req, int err,
			const char *fmt, ...)
{
	struct proto_reply r = { .type = PROTO_ERROR, .err = err };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r.message, sizeof(r.message), fmt, ap);
	va_end(ap);
	conn__reply(s, c, &r, req);
}

/* Requests waiting in c->in, while the client reads its replies: a client that only writes gets no
 * more answers (nor reads) until its unsent replies drain, so it cannot starve the others. */
static void process_input(struct server *s, struct client *c)
{
	int budget = SERVER_REQUESTS_PER_TURN;

	while (!c->closing && !c->pending && c->out.len < SERVER_CLIENT_OUT_HIGH && budget-- > 0) {
		json_object *req = NULL;
		ssize_t used = proto__parse(c->in.p, c->in.len, RTP_PROTO_MAX_REQUEST, &req);

		if (used == 0)
			return;
		if (used < 0) {
			server_log("client pid %d uid %u sent a malformed message (%s): connection closed", (int)c->pid,
				   (unsigned int)c->uid, used == -EMSGSIZE ? "bad length" : "not a JSON object with a type");
			conn__reply_error(s, c, NULL, EPROTO, "malformed message (%s): closing the connection",
					   used == -EMSGSIZE ? "bad length" : "not UTF-8 JSON: one object with a type");
			c->closing = true;
			c->in.len = 0;
			return;
		}
		s->requests++;
		handlers__dispatch(s, c, req);
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
		if (vec__reserve(&c->in.p, &c->in.cap, c->in.len + (size_t)n))
			return false;
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
		recording__poll(tag);
		return;
	}
	if (tag == &s->watchq_tag) {
		watch__results(s);
		return;
	}
	c = tag;
	if (c->pending && (events & (EPOLLHUP | EPOLLERR))) {
		conn__close(s, c); /* gone while its attach was under way */
		return;
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !read_client(s, c)) {
		conn__close(s, c);
		return;
	}
	if (!conn__flush(s, c))
		conn__close(s, c);
}

int server__poll_ms(const struct server *s)
{
	if (recordings__count(s))
		return RTP_TRACE_POLL_MS;
	return clock__mono_ns() < s->settle_until_ns ? engine__poll_ms(s->e) : SERVER_POLL_MS;
}

int server__wake_ms(const struct server *s, uint64_t now)
{
	uint64_t window = (uint64_t)s->window_s * 1000000000ull, next = UINT64_MAX;

	for (unsigned int i = 0; i < s->lim.sessions; i++) {
		const struct sess *ss = &s->sessions[i];

		if (ss->used && ss->watched && ss->win_base_ns + window < next)
			next = ss->win_base_ns + window;
	}
	if (next == UINT64_MAX)
		return -1;
	return next > now ? (int)((next - now + 999999) / 1000000) : 0;
}

void server__refresh(struct server *s)
{
	uint64_t now = clock__mono_ns();
	int r;

	/* rtprof top asks for every session each second: one turn serves the queries of a few ms */
	if (now - s->refreshed_ns < SERVER_FRESH_MS * 1000000ull)
		return;
	s->refreshed_ns = now;
	r = engine__poll(s->e, 0);
	if (r < 0 && r != -EINTR)
		server_log("reading events: %s", strerror(-r));
}

void server__tick(struct server *s)
{
	recordings__tick(s);
	sessions__tick(s);
	watch__tick(s, clock__mono_ns());
	push__tick(s, clock__mono_ns());
	/* events queued outside a client's own turn ("ended") */
	for (int i = 0; (unsigned int)i < s->lim.clients; i++) {
		struct client *c = s->clients[i];

		if (c && (c->out.len || c->closing) && !(c->events & EPOLLOUT) && !conn__flush(s, c))
			conn__close(s, c);
	}
}
