// SPDX-License-Identifier: LGPL-2.1-or-later
/* The typed protocol: each request and reply survives build, framing and parse; malformed requests get
 * the documented errors; the error table reads the same both ways. */
#include <errno.h>
#include <string.h>
#include <json-c/json.h>

#include "check.h"
#include "proto/errors.h"
#include "proto/messages.h"
#include "proto/protocol.h"

/* msg through a frame and back, as it travels on the socket (msg is taken). */
static json_object *wire(json_object *msg)
{
	struct proto_buf buf = {};
	json_object *back = NULL;

	CHECK_EQ(proto__frame(&buf, msg), 0);
	CHECK_EQ(proto__parse(buf.p, buf.len, RTP_PROTO_MAX_REPLY, &back), (long long)buf.len);
	proto_buf__free(&buf);
	json_object_put(msg);
	return back;
}

static int parse_text(const char *text, struct proto_request *req, char *err, size_t errlen)
{
	json_object *msg = json_tokener_parse(text);
	int r = proto__parse_request(msg, req, err, errlen);

	req->id = NULL; /* borrowed from msg */
	json_object_put(msg);
	return r;
}

static void test_errors(void)
{
	static const int all[] = { EPROTO, EINVAL, ESRCH, EPERM, ENOENT, EBUSY, ENOSPC, EAGAIN, ENOMEM, EIO };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		CHECK_EQ(proto__error_errno(proto__error_code(all[i])), all[i]);
		CHECK_EQ(proto__error_errno(proto__error_code(-all[i])), all[i]);
	}
	CHECK_STREQ(proto__error_code(EAGAIN), "EAGAIN");
	CHECK_STREQ(proto__error_code(ENOMEM), "ENOMEM");
	CHECK_STREQ(proto__error_code(EXDEV), "EIO");
	CHECK_EQ(proto__error_errno("EWHATEVER"), EIO);
	CHECK_EQ(proto__error_errno(NULL), EIO);
}

static void test_requests(void)
{
	struct proto_request req = { .type = PROTO_ATTACH, .npids = 2, .pids = { 42, 43 }, .follow = false,
				     .runtime = PROTO_RUNTIME_UPROBES, .notify = true, .sample_hz = 499,
				     .loop_threshold_ms = 120, .per_thread = true }, back;
	json_object *msg = wire(proto__build_request(&req));
	char err[256];

	CHECK_EQ(proto__parse_request(msg, &back, err, sizeof(err)), 0);
	CHECK_EQ(back.type, PROTO_ATTACH);
	CHECK_EQ(back.npids, 2);
	CHECK_EQ(back.pids[1], 43);
	CHECK_EQ(back.follow, false);
	CHECK_EQ(back.runtime, PROTO_RUNTIME_UPROBES);
	CHECK_EQ(back.notify, true);
	CHECK_EQ(back.sample_hz, 499);
	CHECK_EQ(back.loop_threshold_ms, 120);
	CHECK_EQ(back.per_thread, true);
	CHECK(!back.has_id);
	json_object_put(msg);

	req = (struct proto_request){ .type = PROTO_QUERY, .session = 7, .view = PROTO_VIEW_SCHED, .window = true };
	msg = wire(proto__build_request(&req));
	CHECK_EQ(proto__parse_request(msg, &back, err, sizeof(err)), 0);
	CHECK_EQ(back.session, 7);
	CHECK_EQ(back.view, PROTO_VIEW_SCHED);
	CHECK_EQ(back.window, true);
	json_object_put(msg);

	req = (struct proto_request){ .type = PROTO_RECORD, .npids = 1, .pids = { 5 }, .follow = true,
				      .trace_buffer = 1u << 16 };
	msg = wire(proto__build_request(&req));
	CHECK_EQ(proto__parse_request(msg, &back, err, sizeof(err)), 0);
	CHECK_EQ(back.trace_buffer, 1u << 16);
	CHECK_EQ(back.follow, true);
	json_object_put(msg);

	/* defaults, and what is wrong */
	CHECK_EQ(parse_text("{\"type\":\"attach\",\"pids\":[1]}", &back, err, sizeof(err)), 0);
	CHECK_EQ(back.follow, true);
	CHECK_EQ(back.runtime, PROTO_RUNTIME_FUTEX);
	CHECK_EQ(back.notify, false);
	CHECK_EQ(back.sample_hz, 0);
	CHECK_EQ(parse_text("{\"type\":\"attach\",\"pids\":[1],\"sample_hz\":1001}", &back, err, sizeof(err)), -EINVAL);
	CHECK_STREQ(err, "sample_hz must be from 0 (no stacks) to 1000");
	CHECK_EQ(parse_text("{\"type\":\"attach\",\"pids\":[1],\"loop_threshold_ms\":-1}", &back, err, sizeof(err)),
		 -EINVAL);
	CHECK_STREQ(err, "loop_threshold_ms must be from 0 (the default) to 3600000");
	CHECK_EQ(parse_text("{\"type\":\"hello\"}", &back, err, sizeof(err)), 0);
	CHECK_EQ(back.version, -1);
	CHECK_EQ(parse_text("{\"type\":\"frob\\u0001\",\"id\":1}", &back, err, sizeof(err)), -EINVAL);
	CHECK_EQ(back.type, PROTO_UNKNOWN);
	CHECK_STREQ(err, "unknown request type 'frob?'");
	CHECK_EQ(parse_text("{\"type\":\"attach\",\"pids\":[]}", &back, err, sizeof(err)), -EINVAL);
	CHECK_STREQ(err, "attach needs \"pids\": 1 to 64 process ids");
	CHECK_EQ(parse_text("{\"type\":\"record\",\"pids\":[-3]}", &back, err, sizeof(err)), -EINVAL);
	CHECK_STREQ(err, "\"pids\" must hold process ids");
	CHECK_EQ(parse_text("{\"type\":\"record\",\"pids\":[3],\"trace_buffer\":5000}", &back, err, sizeof(err)), -EINVAL);
	CHECK_EQ(parse_text("{\"type\":\"detach\"}", &back, err, sizeof(err)), -EINVAL);
	CHECK_STREQ(err, "a session id is required");
	CHECK_EQ(parse_text("{\"type\":\"query\",\"session\":3,\"what\":\"bogus\"}", &back, err, sizeof(err)), -EINVAL);
	CHECK_STREQ(err, "unknown view 'bogus': summary, syscalls, threads or sched");
}

static void test_replies(void)
{
	struct proto_session_info list[2] = {
		{ .session = 3, .owner_uid = 1000, .npids = 1, .pids = { 99 }, .live_processes = 1, .age_s = 1.5,
		  .comm = "python3", .runtime = "python 3.11.2" },
		{ .session = 4, .owner_uid = 0, .npids = 2, .pids = { 7, 8 }, .watched = true },
	};
	struct proto_reply r = { .type = PROTO_SESSIONS, .sessions = list, .nsessions = 2 }, back;
	json_object *msg = wire(proto__build_reply(&r));

	CHECK_EQ(proto__parse_reply(msg, &back), 0);
	CHECK_EQ(back.type, PROTO_SESSIONS);
	CHECK_EQ(back.nsessions, 2);
	CHECK_EQ(back.sessions[0].owner_uid, 1000);
	CHECK(back.sessions[0].age_s == 1.5);
	CHECK_EQ(back.sessions[1].pids[1], 8);
	CHECK_EQ(back.sessions[1].watched, true);
	CHECK_STREQ(back.sessions[0].comm, "python3");
	CHECK_STREQ(back.sessions[0].runtime, "python 3.11.2");
	CHECK_STREQ(back.sessions[1].runtime, "");
	proto_reply__clear(&back);
	json_object_put(msg);

	r = (struct proto_reply){ .type = PROTO_ERROR, .err = EAGAIN, .message = "no complete window yet" };
	msg = wire(proto__build_reply(&r));
	CHECK_EQ(proto__parse_reply(msg, &back), 0);
	CHECK_EQ(back.err, EAGAIN);
	CHECK_STREQ(back.message, "no complete window yet");
	json_object_put(msg);

	r = (struct proto_reply){ .type = PROTO_ENDED, .session = 12, .reason = "exit" };
	msg = wire(proto__build_reply(&r));
	CHECK_EQ(proto__parse_reply(msg, &back), 0);
	CHECK_EQ(back.type, PROTO_ENDED);
	CHECK_EQ(back.session, 12);
	CHECK_STREQ(back.reason, "exit");
	json_object_put(msg);

	r = (struct proto_reply){ .type = PROTO_STATUS, .status = { .version = "0.1.0", .protocol = 1, .uptime_s = 2.25,
								      .requests = 311, .watch_dropped = 2 } };
	msg = wire(proto__build_reply(&r));
	CHECK_EQ(proto__parse_reply(msg, &back), 0);
	CHECK_STREQ(back.status.version, "0.1.0");
	CHECK(back.status.uptime_s == 2.25);
	CHECK_EQ(back.status.requests, 311);
	CHECK_EQ(back.status.watch_dropped, 2);
	json_object_put(msg);

	r = (struct proto_reply){ .type = PROTO_REPORT, .session = 3, .view = PROTO_VIEW_THREADS,
				  .report = json_object_new_object() };
	msg = wire(proto__build_reply(&r));
	CHECK(r.report == NULL); /* taken */
	CHECK_EQ(proto__parse_reply(msg, &back), 0);
	CHECK_EQ(back.view, PROTO_VIEW_THREADS);
	CHECK(json_object_is_type(back.report, json_type_object));
	proto_reply__clear(&back);
	json_object_put(msg);

	/* the trace buffer a recording got; an older daemon's reply says nothing of it */
	r = (struct proto_reply){ .type = PROTO_RECORDING, .npids = 1, .pids = { 42 }, .trace_buffer = 1u << 20 };
	msg = wire(proto__build_reply(&r));
	CHECK_EQ(proto__parse_reply(msg, &back), 0);
	CHECK_EQ(back.trace_buffer, 1u << 20);
	CHECK_EQ(back.pids[0], 42);
	json_object_put(msg);
	msg = json_tokener_parse("{\"type\":\"recording\",\"pids\":[1]}");
	CHECK_EQ(proto__parse_reply(msg, &back), 0);
	CHECK_EQ(back.trace_buffer, 0);
	json_object_put(msg);
	/* the stacks' rate a session got */
	r = (struct proto_reply){ .type = PROTO_ATTACHED, .session = 3, .npids = 1, .pids = { 42 }, .sample_hz = 251 };
	msg = wire(proto__build_reply(&r));
	CHECK_EQ(proto__parse_reply(msg, &back), 0);
	CHECK_EQ(back.sample_hz, 251);
	json_object_put(msg);
	msg = json_tokener_parse("{\"type\":\"attached\",\"session\":3,\"pids\":[1],\"sample_hz\":-5}");
	CHECK_EQ(proto__parse_reply(msg, &back), -EBADMSG);
	json_object_put(msg);
	msg = json_tokener_parse("{\"type\":\"recording\",\"pids\":[1],\"trace_buffer\":-1}");
	CHECK_EQ(proto__parse_reply(msg, &back), -EBADMSG);
	json_object_put(msg);

	/* an "attached" without its session is no reply; a type unknown here is passed over */
	msg = json_tokener_parse("{\"type\":\"attached\",\"pids\":[1]}");
	CHECK_EQ(proto__parse_reply(msg, &back), -EBADMSG);
	json_object_put(msg);
	msg = json_tokener_parse("{\"type\":\"something_new\",\"id\":4}");
	CHECK_EQ(proto__parse_reply(msg, &back), 0);
	CHECK_EQ(back.type, PROTO_UNKNOWN);
	CHECK_EQ(back.id, 4);
	json_object_put(msg);
}

int main(void)
{
	test_errors();
	test_requests();
	test_replies();
	return check_summary();
}
