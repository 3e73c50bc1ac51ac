// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "base/vec.h"
#include "proto/protocol.h"

static int frame(struct proto_buf *out, const void *payload, size_t len, uint32_t flag)
{
	size_t need = out->len + 4 + len;
	uint32_t word = (uint32_t)len | flag;

	if (len > RTP_PROTO_MAX_REPLY)
		return -EMSGSIZE;
	if (vec__reserve(&out->p, &out->cap, need))
		return -ENOMEM;
	out->p[out->len++] = (uint8_t)(word >> 24);
	out->p[out->len++] = (uint8_t)(word >> 16);
	out->p[out->len++] = (uint8_t)(word >> 8);
	out->p[out->len++] = (uint8_t)word;
	memcpy(out->p + out->len, payload, len);
	out->len += len;
	return 0;
}

int proto__frame(struct proto_buf *out, struct json_object *msg)
{
	const char *text = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

	return frame(out, text, strlen(text), 0);
}

int proto__frame_bytes(struct proto_buf *out, const void *buf, size_t len)
{
	return len ? frame(out, buf, len, RTP_PROTO_BINARY) : 0;
}

ssize_t proto__parse_any(const uint8_t *in, size_t len, size_t max, struct json_object **msg, const uint8_t **bin,
			 size_t *bin_len)
{
	uint32_t n;

	if (len < 4)
		return 0;
	n = (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
	if (!(n & RTP_PROTO_BINARY))
		return proto__parse(in, len, max, msg);
	n &= ~RTP_PROTO_BINARY;
	if (n == 0 || n > max)
		return -EMSGSIZE;
	if (len - 4 < n)
		return 0;
	*msg = NULL;
	*bin = in + 4;
	*bin_len = n;
	return (ssize_t)n + 4;
}

ssize_t proto__parse(const uint8_t *in, size_t len, size_t max, struct json_object **msg)
{
	struct json_tokener *tok;
	json_object *obj, *type;
	uint32_t n;

	if (len < 4)
		return 0;
	n = (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
	if (n == 0 || n > max)
		return -EMSGSIZE;
	if (len - 4 < n)
		return 0;
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	/* strict JSON, and UTF-8 only: what is echoed back must stay valid */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, (const char *)in + 4, (int)n);
	/* the whole frame must be one complete value, nothing after it */
	if (!obj || json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) != n ||
	    !json_object_is_type(obj, json_type_object) || !json_object_object_get_ex(obj, "type", &type) ||
	    !json_object_is_type(type, json_type_string)) {
		json_object_put(obj);
		json_tokener_free(tok);
		return -EBADMSG;
	}
	json_tokener_free(tok);
	*msg = obj;
	return (ssize_t)n + 4;
}

void proto_buf__consume(struct proto_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

void proto_buf__free(struct proto_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

const char *proto__type(struct json_object *msg)
{
	json_object *type;

	if (msg && json_object_object_get_ex(msg, "type", &type) && json_object_is_type(type, json_type_string))
		return json_object_get_string(type);
	return "";
}
