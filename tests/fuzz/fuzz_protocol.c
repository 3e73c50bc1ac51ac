// SPDX-License-Identifier: LGPL-2.1-or-later
/* libFuzzer target: what rtprofd reads from a client -- the framing and JSON of proto__parse, consumed
 * message by message as the server does, and the typed request of each -- and what the CLI reads back:
 * the typed reply, and report__from_json on any JSON object, whose result must render back to JSON. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <json-c/json.h>

#include "proto/messages.h"
#include "proto/protocol.h"
#include "model/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off < size) {
		json_object *msg = NULL;
		const uint8_t *bin = NULL;
		size_t bin_len = 0;
		ssize_t used = proto__parse_any(data + off, size - off, RTP_PROTO_MAX_REQUEST, &msg, &bin, &bin_len);
		struct rtp_report *rep = NULL;

		if (used <= 0)
			break;
		if ((size_t)used > size - off)
			__builtin_trap();
		if (msg) {
			json_object *report = json_object_object_get(msg, "report");
			struct proto_request req;
			struct proto_reply reply;
			char err[512];

			/* what parses must build again */
			if (proto__parse_request(msg, &req, err, sizeof(err)) == 0) {
				json_object *back = proto__build_request(&req);

				if (!back)
					__builtin_trap();
				json_object_put(back);
			}
			if (proto__parse_reply(msg, &reply) == 0) {
				json_object *back = proto__build_reply(&reply);

				if (!back)
					__builtin_trap();
				json_object_put(back);
				proto_reply__clear(&reply);
			}

			if (report__from_json(report ? report : msg, &rep) == 0) {
				json_object *back = report__json(rep);

				if (!back)
					__builtin_trap();
				json_object_put(back);
				report__free(rep);
			}
			json_object_put(msg);
		} else if (bin < data + off || bin + bin_len > data + size) {
			__builtin_trap();
		}
		off += (size_t)used;
	}
	return 0;
}
