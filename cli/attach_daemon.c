// SPDX-License-Identifier: LGPL-2.1-or-later
/* `rtprof attach` through rtprofd: a session there, or a trace it records and this process writes. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "base/clock.h"
#include "engine/engine.h"
#include "client.h"
#include "proto/protocol.h"
#include "profile.h"
#include "render.h"
#include "rtprof.h"

static json_object *session_request(const char *type, int64_t session)
{
	json_object *req = json_object_new_object();

	json_object_object_add(req, "type", json_object_new_string(type));
	json_object_object_add(req, "session", json_object_new_int64(session));
	return req;
}

int attach_daemon__session(struct rtp_client *c, const struct profile_opts *po, const pid_t *pids, int npids,
			   FILE *out)
{
	json_object *req = json_object_new_object(), *arr = json_object_new_array(), *reply = NULL;
	struct render_opts ro = { .top_syscalls = po->top };
	struct rtp_report *rep = NULL;
	uint64_t deadline_ns = profile__deadline_ns(po);
	char err[512];
	int64_t session;
	int r;

	for (int i = 0; i < npids; i++)
		json_object_array_add(arr, json_object_new_int(pids[i]));
	json_object_object_add(req, "type", json_object_new_string("attach"));
	json_object_object_add(req, "pids", arr);
	json_object_object_add(req, "follow", json_object_new_boolean(!po->no_follow));
	json_object_object_add(req, "runtime", json_object_new_string(po->runtime_mode == ENGINE_RT_OFF ? "off"
					   : po->runtime_mode == ENGINE_RT_GIL_UPROBES ? "uprobes" : "futex"));
	r = client__call(c, req, &reply, err, sizeof(err));
	if (r) {
		errorf("%s", err);
		return r == -EIO || r == -ETIMEDOUT || r == -ECONNRESET ? EXIT_FAILURE_RT : EXIT_USAGE;
	}
	session = json_object_get_int64(json_object_object_get(reply, "session"));
	json_object_put(reply);
	profile__catch_stop(SIGINT);
	profile__catch_stop(SIGTERM);
	if (!po->quiet)
		fprintf(stderr, "rtprof: attached to %d process%s through rtprofd (session %" PRId64 "); %s\n", npids,
			npids > 1 ? "es" : "", session,
			po->duration_s > 0 ? "stopping after the duration or when they exit" : "Ctrl-C to stop and report");
	while (!profile__stop_signal()) {
		json_object *list = NULL, *sessions;
		int live = -1;

		if (deadline_ns && clock__mono_ns() >= deadline_ns)
			break;
		usleep(100000);
		r = client__call(c, session_request("sessions", session), &list, err, sizeof(err));
		if (r) {
			errorf("%s", err);
			return EXIT_FAILURE_RT;
		}
		sessions = json_object_object_get(list, "sessions");
		for (size_t i = 0; i < json_object_array_length(sessions); i++) {
			json_object *s = json_object_array_get_idx(sessions, i);

			if (json_object_get_int64(json_object_object_get(s, "session")) == session)
				live = json_object_get_int(json_object_object_get(s, "live_processes"));
		}
		json_object_put(list);
		if (live == 0)
			break;
	}
	req = session_request("query", session);
	json_object_object_add(req, "what", json_object_new_string("summary"));
	r = client__call(c, req, &reply, err, sizeof(err));
	if (r || report__from_json(json_object_object_get(reply, "report"), &rep)) {
		errorf("%s", r ? err : "rtprofd's report could not be read");
		json_object_put(reply);
		return EXIT_FAILURE_RT;
	}
	json_object_put(reply);
	reply = NULL;
	if (client__call(c, session_request("detach", session), &reply, err, sizeof(err)) == 0)
		json_object_put(reply);
	if (po->json)
		r = render_json(out, rep);
	else
		render_text(out, rep, &ro);
	report__free(rep);
	if (r || fflush(out) || ferror(out)) {
		errorf("cannot write the report: %s", strerror(errno));
		return EXIT_FAILURE_RT;
	}
	return EXIT_OK;
}

int attach_daemon__record(struct rtp_client *c, const struct profile_opts *po, const pid_t *pids, int npids,
			  FILE *out)
{
	json_object *req = json_object_new_object(), *arr = json_object_new_array(), *msg;
	struct render_opts ro = { .top_syscalls = po->top };
	uint64_t deadline_ns = profile__deadline_ns(po), last_progress_ns = 0;
	bool progress = !po->quiet && isatty(STDERR_FILENO), stopping = false;
	uint64_t bytes = 0;
	FILE *tf;
	int ret = EXIT_FAILURE_RT;

	tf = fopen(po->trace, "we");
	if (!tf) {
		errorf("cannot write %s: %s", po->trace, strerror(errno));
		json_object_put(req);
		json_object_put(arr);
		return EXIT_USAGE;
	}
	for (int i = 0; i < npids; i++)
		json_object_array_add(arr, json_object_new_int(pids[i]));
	json_object_object_add(req, "type", json_object_new_string("record"));
	if (po->trace_buffer)
		json_object_object_add(req, "trace_buffer", json_object_new_int64((int64_t)po->trace_buffer));
	json_object_object_add(req, "pids", arr);
	json_object_object_add(req, "follow", json_object_new_boolean(!po->no_follow));
	json_object_object_add(req, "runtime", json_object_new_string(po->runtime_mode == ENGINE_RT_OFF ? "off"
					   : po->runtime_mode == ENGINE_RT_GIL_UPROBES ? "uprobes" : "futex"));
	if (client__send(c, req)) {
		errorf("talking to rtprofd: %s", strerror(errno));
		goto cleanup;
	}
	profile__catch_stop(SIGINT);
	profile__catch_stop(SIGTERM);
	for (;;) {
		const void *bin = NULL;
		size_t len = 0;
		int r;

		if (!stopping && (profile__stop_signal() || (deadline_ns && clock__mono_ns() >= deadline_ns))) {
			json_object *stop = json_object_new_object();

			json_object_object_add(stop, "type", json_object_new_string("stop"));
			(void)client__send(c, stop);
			stopping = true;
		}
		msg = NULL;
		r = client__next(c, 100, &msg, &bin, &len);
		if (r < 0) {
			errorf("rtprofd ended the recording: %s; %s is readable up to its last complete block",
			       strerror(-r), po->trace);
			goto cleanup;
		}
		if (r == 0)
			continue;
		if (!msg) {
			if (fwrite(bin, 1, len, tf) != len) {
				errorf("writing %s: %s", po->trace, strerror(errno));
				goto cleanup;
			}
			bytes += len;
			if (progress && clock__mono_ns() - last_progress_ns >= 500000000ull) {
				last_progress_ns = clock__mono_ns();
				fprintf(stderr, "\rrtprof: recording %s through rtprofd: %.1f MB", po->trace, (double)bytes / 1e6);
			}
			continue;
		}
		if (!strcmp(proto__type(msg), "error")) {
			errorf("%s", json_object_get_string(json_object_object_get(msg, "message")));
			json_object_put(msg);
			ret = EXIT_USAGE;
			goto cleanup;
		}
		if (!strcmp(proto__type(msg), "recording") && !po->quiet) {
			fprintf(stderr, "rtprof: recording %d process%s through rtprofd into %s; %s\n", npids,
				npids > 1 ? "es" : "", po->trace,
				po->duration_s > 0 ? "stopping after the duration or when they exit" : "Ctrl-C to stop");
		} else if (!strcmp(proto__type(msg), "recorded")) {
			struct rtp_report *rep = NULL;

			if (!po->quiet)
				fprintf(stderr, "%srtprof: recorded %s: %" PRId64 " events, %.1f MB, %" PRId64 " lost\n",
					progress ? "\r" : "", po->trace,
					json_object_get_int64(json_object_object_get(msg, "records")), (double)bytes / 1e6,
					json_object_get_int64(json_object_object_get(msg, "lost")));
			if (report__from_json(json_object_object_get(msg, "report"), &rep) == 0) {
				int rr = po->json ? render_json(out, rep) : (render_text(out, rep, &ro), 0);

				ret = rr || fflush(out) ? EXIT_FAILURE_RT : EXIT_OK;
				report__free(rep);
			}
			json_object_put(msg);
			break;
		}
		json_object_put(msg);
	}
cleanup:
	if (fclose(tf) && ret == EXIT_OK) {
		errorf("writing %s: %s", po->trace, strerror(errno));
		ret = EXIT_FAILURE_RT;
	}
	return ret;
}
