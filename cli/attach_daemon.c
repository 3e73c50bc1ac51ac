// SPDX-License-Identifier: LGPL-2.1-or-later
/* `rtprof attach` through rtprofd: a session there, or a trace it records and this process writes. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "engine/engine.h"
#include "client.h"
#include "profile.h"
#include "render.h"
#include "rtprof.h"

/* An attach or record request for the profile options' processes. */
static void target_request(struct proto_request *req, enum proto_type type, const struct profile_opts *po,
			   const pid_t *pids, int npids)
{
	*req = (struct proto_request){ .type = type, .follow = !po->no_follow,
				       .runtime = po->runtime_mode == ENGINE_RT_OFF	     ? PROTO_RUNTIME_OFF
						  : po->runtime_mode == ENGINE_RT_GIL_UPROBES ? PROTO_RUNTIME_UPROBES
											     : PROTO_RUNTIME_FUTEX };
	req->npids = npids < PROTO_MAX_PIDS ? (unsigned int)npids : PROTO_MAX_PIDS;
	req->sample_hz = po->sample_hz;
	req->loop_threshold_ms = (uint32_t)(po->loop_threshold_ns / 1000000);
	req->per_thread = po->per_thread;
	memcpy(req->pids, pids, req->npids * sizeof(pids[0]));
}

/* Until a stop signal, the duration, or the daemon's word that the session's processes are gone:
 * EXIT_OK, or the failure said. */
static int wait_session_end(struct rtp_client *c, uint64_t session, uint64_t deadline_ns)
{
	while (!profile__stop_signal()) {
		struct proto_reply msg;
		const void *bin;
		size_t len;
		int r;

		if (deadline_ns && clock__mono_ns() >= deadline_ns)
			break;
		r = client__next(c, 100, &msg, &bin, &len);
		if (r < 0) {
			errorf("talking to rtprofd: %s", strerror(-r));
			return EXIT_FAILURE_RT;
		}
		if (r > 0 && msg.type == PROTO_ENDED && msg.session == session)
			return EXIT_OK;
		proto_reply__clear(&msg);
	}
	return EXIT_OK;
}

int attach_daemon__session(struct rtp_client *c, const struct profile_opts *po, const pid_t *pids, int npids,
			   struct profile_out *o)
{
	FILE *out = o->out;
	struct render_opts ro = { .top_syscalls = po->top };
	struct proto_request req;
	struct proto_reply reply;
	struct rtp_report *rep = NULL;
	uint64_t deadline_ns = profile__deadline_ns(po), session;
	char err[512];
	int r;

	target_request(&req, PROTO_ATTACH, po, pids, npids);
	req.notify = true;
	r = client__request(c, &req, &reply, err, sizeof(err));
	if (r) {
		errorf("%s", err);
		return client__exit_code(r);
	}
	session = reply.session;
	if (po->sample_hz && !reply.sample_hz)
		fprintf(stderr, "rtprof: warning: this rtprofd does not sample stacks: the report has none\n");
	else if (po->sample_hz && reply.sample_hz != po->sample_hz && !po->quiet)
		fprintf(stderr, "rtprof: rtprofd samples stacks at %u Hz: the nearest of the rates it samples at now\n",
			reply.sample_hz);
	proto_reply__clear(&reply);
	profile__catch_stop(SIGINT);
	profile__catch_stop(SIGTERM);
	if (!po->quiet)
		fprintf(stderr, "rtprof: attached to %d process%s through rtprofd (session %" PRIu64 "); %s\n", npids,
			npids > 1 ? "es" : "", session,
			po->duration_s > 0 ? "stopping after the duration or when they exit" : "Ctrl-C to stop and report");
	r = wait_session_end(c, session, deadline_ns);
	if (r)
		return r;
	req = (struct proto_request){ .type = PROTO_QUERY, .session = session, .view = PROTO_VIEW_SUMMARY };
	r = client__request(c, &req, &reply, err, sizeof(err));
	if (r || report__from_json(reply.report, &rep)) {
		errorf("%s", r ? err : "rtprofd's report could not be read");
		if (!r)
			proto_reply__clear(&reply);
		return EXIT_FAILURE_RT;
	}
	proto_reply__clear(&reply);
	req = (struct proto_request){ .type = PROTO_DETACH, .session = session };
	if (client__request(c, &req, &reply, err, sizeof(err)) == 0)
		proto_reply__clear(&reply);
	if (po->json)
		r = render_json(out, rep);
	else
		render_text(out, rep, &ro);
	report__free(rep);
	if (r || fflush(out) || ferror(out)) {
		errorf("cannot write the report: %s", strerror(errno));
		return EXIT_FAILURE_RT;
	}
	o->report_done = true;
	return EXIT_OK;
}

int attach_daemon__record(struct rtp_client *c, const struct profile_opts *po, const pid_t *pids, int npids,
			  struct profile_out *o)
{
	FILE *out = o->out;
	struct render_opts ro = { .top_syscalls = po->top };
	struct proto_request req;
	struct proto_reply msg;
	uint64_t deadline_ns = profile__deadline_ns(po), last_progress_ns = 0;
	bool progress = !po->quiet && isatty(STDERR_FILENO), stopping = false;
	uint64_t bytes = 0;
	FILE *tf = outfile__stream(&o->trace);
	int ret = EXIT_FAILURE_RT;

	if (!tf) {
		errorf("cannot write %s: %s", po->trace, strerror(errno));
		return EXIT_FAILURE_RT;
	}
	target_request(&req, PROTO_RECORD, po, pids, npids);
	req.trace_buffer = (uint32_t)po->trace_buffer;
	if (client__send(c, &req)) {
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
			struct proto_request stop = { .type = PROTO_STOP };

			(void)client__send(c, &stop);
			stopping = true;
		}
		r = client__next(c, 100, &msg, &bin, &len);
		if (r < 0) {
			errorf("rtprofd ended the recording: %s; %s is readable up to its last complete block",
			       strerror(-r), po->trace);
			goto cleanup;
		}
		if (r == 0)
			continue;
		if (bin) {
			if (fwrite(bin, 1, len, tf) != len) {
				errorf("writing %s: %s", po->trace, strerror(errno));
				goto cleanup;
			}
			bytes += len;
			o->trace_used = true; /* readable up to its last complete block, whatever comes next */
			if (progress && clock__mono_ns() - last_progress_ns >= 500000000ull) {
				last_progress_ns = clock__mono_ns();
				fprintf(stderr, "\rrtprof: recording %s through rtprofd: %.1f MB", po->trace, (double)bytes / 1e6);
			}
			continue;
		}
		if (msg.type == PROTO_ERROR) {
			/* a refusal: the recording never started (what came is its header alone) */
			o->trace_used = false;
			errorf("%s", msg.message);
			ret = client__exit_code(msg.err);
			proto_reply__clear(&msg);
			goto cleanup;
		}
		if (msg.type == PROTO_RECORDING && !po->quiet) {
			if (msg.trace_buffer && po->trace_buffer > msg.trace_buffer)
				fprintf(stderr, "rtprof: rtprofd clamped the trace buffer to %u KiB, the most it gives a "
						"recording\n", msg.trace_buffer >> 10);
			fprintf(stderr, "rtprof: recording %d process%s through rtprofd into %s; %s\n", npids,
				npids > 1 ? "es" : "", po->trace,
				po->duration_s > 0 ? "stopping after the duration or when they exit" : "Ctrl-C to stop");
		} else if (msg.type == PROTO_RECORDED) {
			struct rtp_report *rep = NULL;

			if (!po->quiet)
				fprintf(stderr, "%srtprof: recorded %s: %" PRIu64 " events, %.1f MB, %" PRIu64 " lost\n",
					progress ? "\r" : "", po->trace, msg.records, (double)bytes / 1e6, msg.lost);
			if (report__from_json(msg.report, &rep) == 0) {
				int rr = po->json ? render_json(out, rep) : (render_text(out, rep, &ro), 0);

				ret = rr || fflush(out) ? EXIT_FAILURE_RT : EXIT_OK;
				o->report_done = ret == EXIT_OK;
				report__free(rep);
			}
			proto_reply__clear(&msg);
			break;
		}
		proto_reply__clear(&msg);
	}
cleanup:
	/* the trace is closed (or removed, when rtprofd sent nothing) with the report */
	if (ret == EXIT_OK && (fflush(tf) || ferror(tf))) {
		errorf("writing %s: %s", po->trace, strerror(errno));
		ret = EXIT_FAILURE_RT;
	}
	return ret;
}
