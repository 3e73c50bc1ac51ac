/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The CLI's side of rtprofd's socket protocol (docs/protocol.md). */
#ifndef RTPROF_CLIENT_H
#define RTPROF_CLIENT_H

#include <stddef.h>

struct json_object;
struct rtp_client;

/* The socket to use: --socket, else $RTPROF_SOCKET, else the default. */
const char *client__socket_path(void);
/* Connect and say hello. -ENOENT / -ECONNREFUSED: no daemon there. Other -errno: it answered badly. */
int client__connect(const char *path, struct rtp_client **out, char *err, size_t errlen);
/* Send a request and wait for its reply (taking ownership of req). A reply of type "error" gives
 * -EPERM, -ENOENT, -EINVAL... with the daemon's message in err. */
int client__call(struct rtp_client *c, struct json_object *req, struct json_object **reply, char *err, size_t errlen);
void client__close(struct rtp_client *c);

/* For streams (a recording): send without waiting, then take frames one at a time. */
int client__send(struct rtp_client *c, struct json_object *req);
/* Wait up to timeout_ms for a frame: 1 with either *msg (JSON, the caller's to free) or *bin and *bin_len
 * (valid until the next call); 0 on timeout; -errno when the connection broke. */
int client__next(struct rtp_client *c, int timeout_ms, struct json_object **msg, const void **bin, size_t *bin_len);

#endif
