/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The CLI's side of rtprofd's socket protocol (docs/protocol.md), over the typed messages of
 * proto/messages.h. */
#ifndef RTPROF_CLIENT_H
#define RTPROF_CLIENT_H

#include <stddef.h>

#include "proto/messages.h"

struct rtp_client;

/* The socket to use: --socket, else $RTPROF_SOCKET, else the default. */
const char *client__socket_path(void);
/* Connect and say hello. -ENOENT / -ECONNREFUSED: no daemon there. Other -errno: it answered badly. */
int client__connect(const char *path, struct rtp_client **out, char *err, size_t errlen);
void client__close(struct rtp_client *c);

/* Send a request and wait for its reply, of the type that answers it. An "error" reply gives its errno
 * (-EPERM, -ENOENT, -EAGAIN...: proto/errors.h) with the daemon's message in err; a reply that is not
 * the request's, -EBADMSG. Free the reply with proto_reply__clear. */
int client__request(struct rtp_client *c, const struct proto_request *req, struct proto_reply *reply, char *err,
		    size_t errlen);

/* For streams (a recording, a session's end): send without waiting, then take messages one at a time. */
int client__send(struct rtp_client *c, const struct proto_request *req);
/* Wait up to timeout_ms for a message: 1 with either *msg (bin NULL; free with proto_reply__clear) or a
 * binary frame in *bin and *bin_len (msg->type PROTO_UNKNOWN; valid until the next call); 0 on timeout;
 * -errno when the connection broke or a message could not be read. */
int client__next(struct rtp_client *c, int timeout_ms, struct proto_reply *msg, const void **bin, size_t *bin_len);

/* The exit status (rtprof.h's EXIT_*) for a failure of a command that talked to rtprofd, the same for
 * every command: 2 for what the user asked that cannot be done (no such process or session, not theirs,
 * busy, a limit, no daemon), 1 when rtprofd or the connection failed. */
int client__exit_code(int err);

#endif
