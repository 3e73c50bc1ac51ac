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

#include "client.h"
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

static const struct {
	const char *code;
	int err;
} codes[] = {
	{ "EPERM", EPERM }, { "ENOENT", ENOENT }, { "ESRCH", ESRCH }, { "EINVAL", EINVAL },
	{ "ENOSPC", ENOSPC }, { "EBUSY", EBUSY }, { "EPROTO", EPROTO }, { "EIO", EIO },
};

static int fill(struct rtp_client *c);

static int read_reply(struct rtp_client *c, json_object **msg)
{
	for (;;) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		ssize_t used = proto__parse(c->in.p, c->in.len, RTP_PROTO_MAX_REPLY, msg);
		int r;

		if (used > 0) {
			proto_buf__consume(&c->in, (size_t)used);
			return 0;
		}
		if (used < 0)
			return (int)used;
		if (poll(&pfd, 1, REPLY_TIMEOUT_MS) <= 0)
			return -ETIMEDOUT;
		r = fill(c);
		if (r)
			return r;
	}
}

int client__send(struct rtp_client *c, json_object *req)
{
	struct proto_buf out = {};
	size_t off = 0;
	int r;

	json_object_object_add(req, "id", json_object_new_int(++c->next_id));
	r = proto__frame(&out, req);
	json_object_put(req);
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

static int fill(struct rtp_client *c)
{
	uint8_t buf[65536];
	ssize_t n = recv(c->fd, buf, sizeof(buf), 0);

	if (n <= 0)
		return n == 0 ? -ECONNRESET : -errno;
	if (c->in.len + (size_t)n > c->in.cap) {
		size_t cap = c->in.cap ? c->in.cap : 65536;
		uint8_t *p;

		while (cap < c->in.len + (size_t)n)
			cap *= 2;
		p = realloc(c->in.p, cap);
		if (!p)
			return -ENOMEM;
		c->in.p = p;
		c->in.cap = cap;
	}
	memcpy(c->in.p + c->in.len, buf, (size_t)n);
	c->in.len += (size_t)n;
	return 0;
}

int client__next(struct rtp_client *c, int timeout_ms, json_object **msg, const void **bin, size_t *bin_len)
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

int client__call(struct rtp_client *c, json_object *req, json_object **reply, char *err, size_t errlen)
{
	json_object *msg = NULL, *v;
	int r;

	r = client__send(c, req);
	r = r ?: read_reply(c, &msg);
	if (r) {
		snprintf(err, errlen, "talking to rtprofd: %s", strerror(-r));
		return r;
	}
	if (strcmp(proto__type(msg), "error") == 0) {
		const char *code = json_object_object_get_ex(msg, "code", &v) ? json_object_get_string(v) : "";

		snprintf(err, errlen, "%s", json_object_object_get_ex(msg, "message", &v) ? json_object_get_string(v) : "error");
		r = -EIO;
		for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
			if (strcmp(codes[i].code, code) == 0)
				r = -codes[i].err;
		json_object_put(msg);
		return r;
	}
	*reply = msg;
	return 0;
}

int client__connect(const char *path, struct rtp_client **out, char *err, size_t errlen)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct rtp_client *c;
	json_object *hello, *reply = NULL;
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
	hello = json_object_new_object();
	json_object_object_add(hello, "type", json_object_new_string("hello"));
	json_object_object_add(hello, "version", json_object_new_int(RTP_PROTO_VERSION));
	r = client__call(c, hello, &reply, err, errlen);
	if (r) {
		client__close(c);
		return r == -ENOENT || r == -ECONNREFUSED ? -EPROTO : r;
	}
	json_object_put(reply);
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
