// SPDX-License-Identifier: LGPL-2.1-or-later
/* Recordings (docs/protocol.md, record and stop): a trace recorded for a client by an engine of its own
 * with the probes in recording mode (so that the shared engine's sessions pay nothing for it), its file
 * streamed to the client in binary frames. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "base/clock.h"
#include "trace/trace.h"
#include "rtprofd/server_internal.h"

#define RECORDING_FLUSH_NS 1000000000ull

struct recording {
	enum tag_kind kind;
	struct engine *e;
	struct trace_writer *w;
	struct client *c;
	bool stop;   /* the client asked to stop */
	int err;     /* the stream broke */
	uint64_t last_flush_ns;
};

static int recording_sink(void *ctx, const void *buf, size_t len)
{
	struct recording *rec = ctx;
	struct client *c = rec->c;

	if (c->out.len > SERVER_MAX_CLIENT_BACKLOG)
		return -ENOBUFS; /* the client does not keep up: the trace stops */
	return proto__frame_bytes(&c->out, buf, len);
}

static int recording_record(const struct trace_rec *r, void *ctx)
{
	struct recording *rec = ctx;
	int err = trace_writer__write(rec->w, r);

	if (err)
		rec->err = err;
	return err;
}

void recording__free(struct server *s, struct recording *rec)
{
	if (!rec)
		return;
	if (s->epfd >= 0 && rec->e)
		(void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, engine__fd(rec->e), NULL);
	trace_writer__abort(rec->w);
	engine__free(rec->e);
	if (rec->c)
		rec->c->rec = NULL;
	free(rec);
}

void recording__poll(struct recording *rec)
{
	(void)engine__poll(rec->e, 0);
}

unsigned int recordings__count(const struct server *s)
{
	unsigned int n = 0;

	for (int i = 0; (unsigned int)i < s->lim.clients; i++)
		n += s->clients[i] && s->clients[i]->rec;
	return n;
}

/* A uid's recordings. */
static unsigned int recordings__of(const struct server *s, uid_t uid)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < s->lim.clients; i++)
		n += s->clients[i] && s->clients[i]->rec && s->clients[i]->uid == uid;
	return n;
}

void recording__request(struct server *s, struct client *c, const struct proto_request *req)
{
	struct engine_opts eo = { .sz = sizeof(eo), .record = true, .trace_buffer_bytes = s->lim.trace_buffer };
	struct proto_reply reply = { .type = PROTO_RECORDING, .npids = req->npids };
	struct trace_header h;
	struct recording *rec;
	char why[RTP_ERRLEN] = "";
	int pidfds[PROTO_MAX_PIDS];
	int r;

	if (c->rec) {
		conn__reply_error(s, c, req, EBUSY, "this connection is recording already");
		return;
	}
	r = shares__check(s, c->uid, "recordings", s->lim.recordings, recordings__of(s, c->uid),
			  recordings__count(s), why, sizeof(why));
	if (r) {
		s->refused++;
		server_log("refused: uid %u (pid %d) asked to record: %s", (unsigned int)c->uid, (int)c->pid, why);
		conn__reply_error(s, c, req, r, "%s", why);
		return;
	}
	if (handlers__authorise_pids(s, c, req, pidfds))
		return;
	eo.no_follow = !req->follow;
	eo.runtime_mode = handlers__runtime_mode(req->runtime);
	eo.sample_hz = req->sample_hz;
	eo.per_thread = req->per_thread;
	eo.loop_threshold_ns = req->loop_threshold_ms * 1000000ull;
	reply.sample_hz = req->sample_hz;
	if (req->trace_buffer > s->lim.trace_buffer)
		server_log("uid %u (pid %d) asked for a trace buffer of %u bytes: clamped to %u, the most a recording "
			   "gets", (unsigned int)c->uid, (int)c->pid, req->trace_buffer, s->lim.trace_buffer);
	else if (req->trace_buffer)
		eo.trace_buffer_bytes = req->trace_buffer;
	reply.trace_buffer = eo.trace_buffer_bytes;
	rec = calloc(1, sizeof(*rec));
	if (!rec) {
		handlers__close_pidfds(pidfds, req->npids);
		conn__reply_error(s, c, req, ENOMEM, "out of memory");
		return;
	}
	rec->kind = TAG_RECORDING;
	rec->c = c;
	r = engine__new(&eo, &rec->e, why, sizeof(why));
	if (r) {
		handlers__close_pidfds(pidfds, req->npids);
		free(rec);
		conn__reply_error(s, c, req, r == -ENOMEM ? ENOMEM : EIO, "%s", why);
		return;
	}
	c->rec = rec;
	/* the reply first, then the file's first block */
	memcpy(reply.pids, req->pids, req->npids * sizeof(req->pids[0]));
	conn__reply(s, c, &reply, req);
	trace_header__init(&h, engine__start_clock(rec->e), (unsigned int)engine__ncpus(rec->e), "attach", req->pids[0],
			   "");
	r = trace_writer__open_sink(recording_sink, rec, 1, &h, &rec->w);
	engine__set_trace_sink(rec->e, recording_record, rec);
	if (c->uid != 0)
		engine__session_restrict(rec->e, 0, c->uid, c->gid);
	for (unsigned int i = 0; i < req->npids && !r; i++)
		r = engine__add_target_pidfd(rec->e, req->pids[i], pidfds[i], why, sizeof(why));
	handlers__close_pidfds(pidfds, req->npids);
	if (!r) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = rec };

		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, engine__fd(rec->e), &ev))
			r = -errno;
	}
	if (r) {
		recording__free(s, rec);
		conn__reply_error(s, c, req, EIO, "cannot record: %s", why[0] ? why : strerror(-r));
		c->closing = true;
		return;
	}
	rec->last_flush_ns = clock__mono_ns();
}

void recording__stop(struct server *s, struct client *c, const struct proto_request *req)
{
	if (!c->rec) {
		conn__reply_error(s, c, req, EINVAL, "nothing is being recorded on this connection");
		return;
	}
	c->rec->stop = true;
}

/* The end of a recording: the last records, the footer, and a "recorded" message with the report. */
static void recording_finish(struct server *s, struct recording *rec, const char *why)
{
	struct client *c = rec->c;
	struct trace_footer *f = calloc(1, sizeof(*f));
	struct rtp_report *rep = NULL;
	int r;

	(void)engine__poll(rec->e, 0);
	(void)engine__stop_clock(rec->e);
	r = f ? engine__report(rec->e, "attach", &rep) : -ENOMEM;
	if (!r) {
		f->ncpus = (uint32_t)engine__ncpus(rec->e);
		if (f->ncpus > TRACE_MAX_CPUS)
			f->ncpus = TRACE_MAX_CPUS;
		r = engine__trace_finish(rec->e, f->lost_per_cpu, f->ncpus, &f->lost);
		engine__set_trace_sink(rec->e, NULL, NULL);
		f->end_ns = engine__stop_clock(rec->e);
		r = trace_writer__finish(rec->w, f, rep, rec->err ? "error" : why, r ?: rec->err);
		rec->w = NULL;
	}
	if (r) {
		struct proto_reply e = { .type = PROTO_ERROR, .err = EIO };

		snprintf(e.message, sizeof(e.message), "%s", strerror(-r));
		conn__reply(s, c, &e, NULL);
	} else {
		struct proto_reply done = { .type = PROTO_RECORDED, .records = f->records, .lost = f->lost,
					    .report = report__json(rep) };

		conn__reply(s, c, &done, NULL);
	}
	report__free(rep);
	free(f);
	recording__free(s, rec);
	if (!conn__flush(s, c))
		conn__close(s, c);
}

void recordings__tick(struct server *s)
{
	uint64_t now = clock__mono_ns();

	for (int i = 0; (unsigned int)i < s->lim.clients; i++) {
		struct client *c = s->clients[i];
		struct recording *rec = c ? c->rec : NULL;

		if (!rec)
			continue;
		(void)engine__poll(rec->e, 0);
		if (!rec->err && now - rec->last_flush_ns >= RECORDING_FLUSH_NS) {
			rec->err = trace_writer__flush(rec->w);
			rec->last_flush_ns = now;
		}
		if (rec->err == -ENOBUFS) {
			server_log("client pid %d uid %u does not read its trace: dropped", (int)c->pid,
				   (unsigned int)c->uid);
			s->dropped++;
			conn__close(s, c);
			continue;
		}
		if (rec->stop || rec->err || !engine__live_targets(rec->e))
			recording_finish(s, rec, rec->stop ? "signal" : "exit");
		else if (!conn__flush(s, c))
			conn__close(s, c);
	}
}
