/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* rtprofd's socket protocol (docs/protocol.md): each message is a 4-byte big-endian length and that many
 * bytes of one JSON object with a string "type". Shared by the daemon and the CLI's client. */
#ifndef RTPROF_PROTOCOL_H
#define RTPROF_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RTP_PROTO_VERSION 1
#define RTP_PROTO_MAX_REQUEST (64u << 10)  /* what the daemon accepts from a client */
#define RTP_PROTO_MAX_REPLY (64u << 20)    /* what the client accepts from the daemon */
#define RTP_DEFAULT_SOCKET "/run/rtprof/rtprofd.sock"

struct json_object;

struct proto_buf {
	uint8_t *p;
	size_t len, cap;
};

/* Append msg, framed, to out. 0 or -ENOMEM / -EMSGSIZE. */
int proto__frame(struct proto_buf *out, struct json_object *msg);
/* Binary frames (bit 31 of the length set) carry the bytes of a trace file from the daemon to its
 * client; the daemon accepts none. */
#define RTP_PROTO_BINARY 0x80000000u
int proto__frame_bytes(struct proto_buf *out, const void *buf, size_t len);
/* Like proto__parse, but also takes binary frames: then *msg is NULL and *bin, *bin_len point into in. */
ssize_t proto__parse_any(const uint8_t *in, size_t len, size_t max, struct json_object **msg, const uint8_t **bin,
			 size_t *bin_len);

/* Take one message from the front of in[0..len): returns the bytes it used (> 0) and sets *msg; 0 when
 * the message is not complete yet; -EMSGSIZE when its length is 0 or over max; -EBADMSG when it is not a
 * JSON object with a string "type". Never reads past len. */
ssize_t proto__parse(const uint8_t *in, size_t len, size_t max, struct json_object **msg);

/* Drop the first n bytes of b. */
void proto_buf__consume(struct proto_buf *b, size_t n);
void proto_buf__free(struct proto_buf *b);

/* The message's "type", or "" */
const char *proto__type(struct json_object *msg);

#endif
