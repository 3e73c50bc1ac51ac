// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <json-c/json.h>

#include "base/text.h"
#include "base/vec.h"
#include "client.h"
#include "proto/errors.h"
#include "proto/protocol.h"
#include "rtprof.h"

#define REPLY_TIMEOUT_MS 30000

struct rtp_client {
	int fd;
	struct proto_buf in;
	size_t consumed; /* of in: the binary frame handed out last */
	int next_id;
};

const char *client__socket_path(void)
{
	const char *env = getenv("RTPROF_SOCKET");

	if (g_opts.socket_path)
		return g_opts.socket_path;
	return env && *env ? env : RTP_DEFAULT_SOCKET;
}

int client__exit_code(int err)
{
	switch (err < 0 ? -err : err) {
	case 0:
		return EXIT_OK;
	case EINVAL: case ESRCH: case EPERM: case ENOENT: case EBUSY: case ENOSPC: case ECONNREFUSED: case ENAMETOOLONG:
		return EXIT_USAGE;
	default:
		return EXIT_FAILURE_RT;
	}
}

static int fill(struct rtp_client *c)
{
	uint8_t buf[65536];
	ssize_t n = recv(c->fd, buf, sizeof(buf), 0);

	if (n <= 0)
		return n == 0 ? -ECONNRESET : -errno;
	if (vec__reserve(&c->in.p, &c->in.cap, c->in.len + (size_t)n))
		return -ENOMEM;
	memcpy(c->in.p + c->in.len, buf, (size_t)n);
	c->in.len += (size_t)n;
	return 0;
}

/* The next frame, JSON or binary, waiting up to timeout_ms: 1, 0 on timeout, or -errno. */
static int next_frame(struct rtp_client *c, int timeout_ms, json_object **msg, const void **bin, size_t *bin_len)
{
	if (c->consumed) {
		proto_buf__consume(&c->in, c->consumed);
		c->consumed = 0;
	}
	for (;;) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		const uint8_t *b = NULL;
		ssize_t used = proto__parse_any(c->in.p, c->in.len, RTP_PROTO_MAX_REPLY, msg, &b, bin_len);
		int r;

		if (used > 0) {
			if (*msg) {
				proto_buf__consume(&c->in, (size_t)used);
			} else {
				*bin = b;
				c->consumed = (size_t)used;
			}
			return 1;
		}
		if (used < 0)
			return (int)used;
		r = poll(&pfd, 1, timeout_ms);
		if (r < 0)
			return errno == EINTR ? 0 : -errno;
		if (r == 0)
			return 0;
		r = fill(c);
		if (r)
			return r;
	}
}

static int send_message(struct rtp_client *c, json_object *msg)
{
	struct proto_buf out = {};
	size_t off = 0;
	int r;

	if (!msg)
		return -ENOMEM;
	json_object_object_add(msg, "id", json_object_new_int(++c->next_id));
	r = proto__frame(&out, msg);
	json_object_put(msg);
	while (!r && off < out.len) {
		ssize_t n = send(c->fd, out.p + off, out.len - off, MSG_NOSIGNAL);

		if (n < 0 && errno != EINTR)
			r = -errno;
		else if (n > 0)
			off += (size_t)n;
	}
	proto_buf__free(&out);
	return r;
}

int client__send(struct rtp_client *c, const struct proto_request *req)
{
	return send_message(c, proto__build_request(req));
}

/* The reply to the request sent last: events on the way (a session's end) are passed over. */
static int read_reply(struct rtp_client *c, json_object **msg)
{
	for (;;) {
		const void *bin = NULL;
		size_t len;
		json_object *m = NULL, *id;
		int r = next_frame(c, REPLY_TIMEOUT_MS, &m, &bin, &len);

		if (r == 0)
			return -ETIMEDOUT;
		if (r < 0)
			return r;
		if (!m)
			continue; /* trace data of a recording this call does not read */
		/* a reply carries its request's id; what carries none is an event, or an error that ends the
		 * connection (EPROTO) */
		if (json_object_object_get_ex(m, "id", &id) ? json_object_get_int(id) == c->next_id
							    : strcmp(proto__type(m), "ended") != 0) {
			*msg = m;
			return 0;
		}
		json_object_put(m);
	}
}

/* An "error" reply's errno, and its message in err; 0 for any other reply. */
static int error_of(json_object *msg, char *err, size_t errlen)
{
	struct proto_reply r;

	if (strcmp(proto__type(msg), "error") || proto__parse_reply(msg, &r))
		return 0;
	(void)text__printable(r.message, err, errlen, false); /* printed on the user's terminal */
	return -r.err;
}

/* A request and its reply as JSON messages (taking ownership of req). */
static int call_json(struct rtp_client *c, json_object *req, json_object **reply, char *err, size_t errlen)
{
	json_object *msg = NULL;
	int r;

	r = send_message(c, req);
	r = r ?: read_reply(c, &msg);
	if (r) {
		snprintf(err, errlen, "talking to rtprofd: %s", strerror(-r));
		return r;
	}
	r = error_of(msg, err, errlen);
	if (r) {
		json_object_put(msg);
		return r;
	}
	*reply = msg;
	return 0;
}

/* The type of reply that answers each request. */
static enum proto_type answer_of(enum proto_type request)
{
	switch (request) {
	case PROTO_ATTACH: return PROTO_ATTACHED;
	case PROTO_QUERY: return PROTO_REPORT;
	case PROTO_DETACH: return PROTO_DETACHED;
	case PROTO_RECORD: return PROTO_RECORDING;
	default: return request; /* hello, sessions, status */
	}
}

int client__request(struct rtp_client *c, const struct proto_request *req, struct proto_reply *reply, char *err,
		    size_t errlen)
{
	json_object *msg = NULL;
	int r = call_json(c, proto__build_request(req), &msg, err, errlen);

	if (r)
		return r;
	r = proto__parse_reply(msg, reply);
	json_object_put(msg);
	if (!r && reply->type != answer_of(req->type)) {
		proto_reply__clear(reply);
		r = -EBADMSG;
	}
	if (r)
		snprintf(err, errlen, "rtprofd's reply to %s could not be read", proto__type_name(req->type));
	return r;
}

int client__next(struct rtp_client *c, int timeout_ms, struct proto_reply *msg, const void **bin, size_t *bin_len)
{
	json_object *m = NULL;
	int r = next_frame(c, timeout_ms, &m, bin, bin_len);

	*msg = (struct proto_reply){ 0 };
	if (r <= 0 || !m)
		return r;
	*bin = NULL;
	r = proto__parse_reply(m, msg);
	json_object_put(m);
	return r ? r : 1;
}

int client__connect(const char *path, struct rtp_client **out, char *err, size_t errlen)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct proto_request hello = { .type = PROTO_HELLO, .version = RTP_PROTO_VERSION };
	struct proto_reply reply;
	struct rtp_client *c;
	int r;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&addr, sizeof(addr))) {
		r = -errno;
		snprintf(err, errlen, "no rtprofd at %s: %s", path, strerror(errno));
		client__close(c);
		return r;
	}
	r = client__request(c, &hello, &reply, err, errlen);
	if (r) {
		client__close(c);
		return r == -ENOENT || r == -ECONNREFUSED ? -EPROTO : r;
	}
	proto_reply__clear(&reply);
	*out = c;
	return 0;
}

void client__close(struct rtp_client *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	proto_buf__free(&c->in);
	free(c);
}
