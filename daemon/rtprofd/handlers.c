// SPDX-License-Identifier: LGPL-2.1-or-later
/* The requests of docs/protocol.md but record and stop (recording.c): hello, attach, sessions, query,
 * detach, status. Each gets its request parsed (proto/messages.h) and answers with a typed reply. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "base/clock.h"
#include "base/errmsg.h"
#include "sys/procfs.h"
#include "rtprofd/server_internal.h"
#include "rtprofd/watchq.h"

/* The session a request names, if the client may see it; else an error was sent. */
static struct sess *request_session(struct server *s, struct client *c, const struct proto_request *req)
{
	struct sess *ss = sessions__find(s, req->session);

	if (!ss || !auth__may_see(c, ss)) {
		/* another user's session is reported as missing: its existence is not theirs to know */
		conn__reply_error(s, c, req, ENOENT, "no session %llu", (unsigned long long)req->session);
		return NULL;
	}
	return ss;
}

int handlers__runtime_mode(enum proto_runtime runtime)
{
	return runtime == PROTO_RUNTIME_OFF ? ENGINE_RT_OFF : runtime == PROTO_RUNTIME_UPROBES ? ENGINE_RT_GIL_UPROBES
											     : ENGINE_RT_ON;
}

/* Why pidfd_open(pid) failed with err: no such process, or (ENOENT; EINVAL before 6.9) a thread that is
 * not its process's leader, whose process is named. */
static int not_a_process(pid_t pid, int err, char *why, size_t len)
{
	struct proc_status st;

	if ((err == EINVAL || err == ENOENT) && procfs__read_status(pid, &st) == 0 && st.tgid > 0 && st.tgid != pid)
		return errmsg(why, len, -ESRCH, "%d is a thread of process %d, not a process; attach to %d", (int)pid,
			      (int)st.tgid, (int)st.tgid);
	return errmsg(why, len, -ESRCH, "no such process: %d", (int)pid);
}

void handlers__close_pidfds(int *pidfds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		if (pidfds[i] >= 0)
			close(pidfds[i]);
		pidfds[i] = -1;
	}
}

int handlers__authorise_pids(struct server *s, struct client *c, const struct proto_request *req, int *pidfds)
{
	char why[RTP_ERRLEN];

	for (unsigned int i = 0; i < req->npids; i++)
		pidfds[i] = -1;
	for (unsigned int i = 0; i < req->npids; i++) {
		int r;

		/* the process's identity first: the engine checks that the pid is still its own once it is a
		 * target, so that what was checked here is what gets profiled (a pid is reused only once free) */
		pidfds[i] = procfs__pidfd_open(req->pids[i]);
		r = pidfds[i] < 0 && errno != ENOSYS ? not_a_process(req->pids[i], errno, why, sizeof(why))
						     : auth__may_profile(c, req->pids[i], why, sizeof(why));
		if (r) {
			handlers__close_pidfds(pidfds, req->npids);
			if (r == -EPERM) {
				s->refused++;
				server_log("refused: uid %u (pid %d) asked to %s pid %d: %s", (unsigned int)c->uid, (int)c->pid,
					   proto__type_name(req->type), (int)req->pids[i], why);
			}
			conn__reply_error(s, c, req, r, "%s", why);
			return r;
		}
	}
	return 0;
}

/* An attach whose processes' runtimes are being found on the detection thread (watchq.c): ELF analysis
 * takes up to a second per file, which the loop -- every other client -- must not wait for. */
struct pending_attach {
	struct pending_attach *next;
	struct client *c; /* NULL once the client is gone */
	struct proto_request req; /* its "id" held */
	int pidfds[PROTO_MAX_PIDS];
	struct rtp_runtime_info *rts; /* [req.npids] */
	struct rt_ready *ready[PROTO_MAX_PIDS]; /* their runtime probes, made on the detection's thread */
	unsigned int waiting;         /* results not back yet */
};

static void pending_free(struct server *s, struct pending_attach *pa)
{
	for (unsigned int i = 0; i < pa->req.npids && i < PROTO_MAX_PIDS; i++)
		engine__rt_ready_free(s->e, pa->ready[i]);
	handlers__close_pidfds(pa->pidfds, pa->req.npids);
	if (pa->req.has_id)
		json_object_put(pa->req.id);
	free(pa->rts);
	free(pa);
}

/* A process is in one session at most (the probes' target table has one slot for it): a watched one stays
 * watched, untouched. false when one of the request's is, and an error was sent. */
static bool none_profiled(struct server *s, struct client *c, const struct proto_request *req)
{
	for (unsigned int i = 0; i < req->npids; i++) {
		int slot = engine__session_of(s->e, req->pids[i]);
		struct sess *w;

		if (slot < 0)
			continue;
		w = sessions__of_slot(s, slot);
		if (w && w->watched && c->uid == 0)
			conn__reply_error(s, c, req, EBUSY, "process %d is watched by rtprofd (--watch): query "
					   "its watched session %lu", (int)req->pids[i], w->id);
		else if (w && w->watched)
			conn__reply_error(s, c, req, EBUSY, "process %d is watched by rtprofd (--watch): its "
					   "figures are root's, in the watched session", (int)req->pids[i]);
		else
			conn__reply_error(s, c, req, EBUSY, "process %d is already profiled by another session",
					   (int)req->pids[i]);
		return false;
	}
	return true;
}

/* The session, once the runtimes are known (rts[i]: pids[i]'s; ready[i] its runtime probes, taken). */
static void attach_known(struct server *s, struct client *c, const struct proto_request *req, const int *pidfds,
			 const struct rtp_runtime_info *rts, struct rt_ready **ready)
{
	struct proto_reply reply = { .type = PROTO_ATTACHED };
	char why[RTP_ERRLEN];
	struct sess *ss;

	/* again: another attach, or watch mode, may have taken one while its runtime was found */
	if (!none_profiled(s, c, req))
		return;
	ss = sessions__new(s, c->uid, c, 0, why, sizeof(why));
	if (!ss) {
		s->refused++;
		server_log("refused: uid %u (pid %d) asked to attach: %s", (unsigned int)c->uid, (int)c->pid, why);
		conn__reply_error(s, c, req, ENOSPC, "%s", why);
		return;
	}
	ss->notify = req->notify;
	engine__session_follow(s->e, ss->slot, req->follow);
	engine__session_per_thread(s->e, ss->slot, req->per_thread);
	engine__session_runtime(s->e, ss->slot, handlers__runtime_mode(req->runtime));
	if (req->sample_hz) {
		int hz = engine__session_stacks(s->e, ss->slot, req->sample_hz, why, sizeof(why));

		if (hz < 0) {
			sessions__free(s, ss);
			conn__reply_error(s, c, req, hz == -ENOMEM ? ENOMEM : EIO, "cannot sample stacks: %s", why);
			return;
		}
		reply.sample_hz = (uint32_t)hz;
		engine__session_loop_threshold(s->e, ss->slot, req->loop_threshold_ms * 1000000ull);
	}
	if (c->uid != 0)
		engine__session_restrict(s->e, ss->slot, c->uid, c->gid);
	for (unsigned int i = 0; i < req->npids; i++) {
		char err[RTP_ERRLEN];
		struct rt_ready *r = ready[i];

		ready[i] = NULL; /* taken, whatever comes of it */
		if (engine__session_add_known(s->e, ss->slot, req->pids[i], pidfds[i], &rts[i], r, err, sizeof(err))) {
			sessions__free(s, ss);
			conn__reply_error(s, c, req, EINVAL, "%s", err);
			return;
		}
		ss->pids[ss->npids++] = req->pids[i];
	}
	reply.session = ss->id;
	reply.npids = (unsigned int)ss->npids;
	memcpy(reply.pids, ss->pids, ss->npids * sizeof(ss->pids[0]));
	conn__reply(s, c, &reply, req);
}

static void do_attach(struct server *s, struct client *c, const struct proto_request *req)
{
	struct pending_attach *pa = calloc(1, sizeof(*pa));
	int r;

	if (pa)
		pa->rts = calloc(req->npids, sizeof(*pa->rts));
	if (!pa || !pa->rts) {
		free(pa);
		conn__reply_error(s, c, req, ENOMEM, "out of memory");
		return;
	}
	if (handlers__authorise_pids(s, c, req, pa->pidfds)) {
		free(pa->rts);
		free(pa);
		return;
	}
	if (!none_profiled(s, c, req)) {
		handlers__close_pidfds(pa->pidfds, req->npids);
		free(pa->rts);
		free(pa);
		return;
	}
	pa->c = c;
	pa->req = *req;
	if (req->has_id)
		json_object_get(req->id);
	r = watch__queue(s);
	if (r || watchq__room(s->wq) < req->npids) {
		if (r)
			conn__reply_error(s, c, req, r, "cannot start the runtime detection: %s", strerror(-r));
		else
			conn__reply_error(s, c, req, EAGAIN, "rtprofd has the most runtime detections queued (%d): "
					   "try again", WATCHQ_MAX);
		pending_free(s, pa);
		return;
	}
	/* only this thread adds jobs: the room counted is still there */
	for (unsigned int i = 0; i < req->npids; i++) {
		struct watchq_job job = { .pid = req->pids[i], .pidfd = -1, .owner = pa, .index = i,
					  .rt_mode = handlers__runtime_mode(req->runtime), .stacks = req->sample_hz != 0 };

		(void)watchq__push_job(s->wq, &job);
	}
	pa->waiting = req->npids;
	pa->next = s->attaches;
	s->attaches = pa;
	c->pending = pa;
}

void handlers__attach_detected(struct server *s, const struct watchq_job *job)
{
	struct pending_attach *pa = job->owner, **pp;
	struct client *c = pa->c;
	char link[32];
	ssize_t n;

	if (job->index >= pa->req.npids) {
		engine__rt_ready_free(s->e, job->ready);
	} else {
		pa->rts[job->index] = job->rt;
		pa->ready[job->index] = job->ready;
		/* not found (a file past the analysis's limits, say): no runtime, the program's path kept, so that
		 * the engine does not try again on the loop */
		if (job->err) {
			pa->rts[job->index] = (struct rtp_runtime_info){ .kind = RTP_RUNTIME_OTHER };
			snprintf(link, sizeof(link), "/proc/%d/exe", (int)job->pid);
			n = readlink(link, pa->rts[job->index].exe, sizeof(pa->rts[job->index].exe) - 1);
			if (n > 0)
				pa->rts[job->index].exe[n] = '\0';
		}
	}
	if (--pa->waiting)
		return;
	for (pp = &s->attaches; *pp; pp = &(*pp)->next) {
		if (*pp == pa) {
			*pp = pa->next;
			break;
		}
	}
	if (c) {
		c->pending = NULL;
		attach_known(s, c, &pa->req, pa->pidfds, pa->rts, pa->ready);
	}
	pending_free(s, pa);
	if (c && !conn__flush(s, c))
		conn__close(s, c);
}

/* On the detection's thread (watchq.c): the attach's runtime probes, made there, and what its stack walker
 * will read of its program. s->e is read only as the engine's API allows from another thread. */
void handlers__attach_ready(void *ctx, struct watchq_job *job)
{
	struct server *s = ctx;

	job->ready = engine__rt_ready(s->e, job->pid, &job->rt, job->rt_mode);
	if (job->stacks)
		engine__stacks_prefetch(job->pid, &job->rt);
}

/* On the loop: a job's probes the queue drops at its free. */
void handlers__attach_drop(void *ctx, struct watchq_job *job)
{
	struct server *s = ctx;

	engine__rt_ready_free(s->e, job->ready);
	job->ready = NULL;
}

void handlers__attach_orphan(struct pending_attach *pa)
{
	pa->c = NULL;
}

void handlers__free_attaches(struct server *s)
{
	while (s->attaches) {
		struct pending_attach *pa = s->attaches;

		s->attaches = pa->next;
		if (pa->c)
			pa->c->pending = NULL;
		pending_free(s, pa);
	}
}

static void do_sessions(struct server *s, struct client *c, const struct proto_request *req)
{
	struct proto_session_info *list = calloc(s->lim.sessions, sizeof(*list));
	struct proto_reply reply = { .type = PROTO_SESSIONS, .sessions = list };
	uint64_t now = clock__mono_ns();

	if (!list) {
		conn__reply_error(s, c, req, ENOMEM, "out of memory");
		return;
	}
	for (int i = 0; (unsigned int)i < s->lim.sessions; i++) {
		const struct sess *ss = &s->sessions[i];
		struct proto_session_info *si = &list[reply.nsessions];

		if (!ss->used || !auth__may_see(c, ss))
			continue;
		*si = (struct proto_session_info){ .session = ss->id, .owner_uid = ss->owner, .npids = (unsigned int)ss->npids,
						   .live_processes = engine__session_live(s->e, ss->slot),
						   .age_s = (double)(now - ss->created_ns) / 1e9, .watched = ss->watched };
		memcpy(si->pids, ss->pids, ss->npids * sizeof(ss->pids[0]));
		engine__session_label(s->e, ss->slot, si->comm, sizeof(si->comm), si->runtime, sizeof(si->runtime));
		reply.nsessions++;
	}
	conn__reply(s, c, &reply, req);
	free(list);
}

static void do_detach(struct server *s, struct client *c, const struct proto_request *req)
{
	struct sess *ss = request_session(s, c, req);
	struct proto_reply reply = { .type = PROTO_DETACHED };

	if (!ss)
		return;
	reply.session = ss->id;
	if (ss->creator != c)
		sessions__notify_ended(s, ss, "detach");
	sessions__free(s, ss);
	conn__reply(s, c, &reply, req);
}

/* Keys of the report that each view keeps (report-json.md), in the order of enum proto_view. */
static const char *const view_keys[][7] = {
	[PROTO_VIEW_SUMMARY] = { NULL },
	[PROTO_VIEW_SYSCALLS] = { "target", "duration_ns", "syscalls", "lost_events", NULL },
	[PROTO_VIEW_THREADS] = { "target", "duration_ns", "threads", "lost_events", NULL },
	[PROTO_VIEW_SCHED] = { "target", "duration_ns", "threads", "runq_hist", "process", "lost_events", NULL },
	[PROTO_VIEW_RUNTIME] = { "target", "targets", "duration_ns", "runtime_metrics", "lost_events", NULL },
};

/* What the engine computes for each view: only the rows the view shows. */
static const unsigned int view_parts[] = {
	[PROTO_VIEW_SUMMARY] = ENGINE_REPORT_ALL,
	[PROTO_VIEW_SYSCALLS] = ENGINE_REPORT_SYSCALLS,
	[PROTO_VIEW_THREADS] = ENGINE_REPORT_THREADS,
	[PROTO_VIEW_SCHED] = ENGINE_REPORT_THREADS,
	[PROTO_VIEW_RUNTIME] = ENGINE_REPORT_THREADS,
};

/* The JSON of one view of rep: the rows of the other views are not turned into JSON at all. */
static json_object *view_json(const struct rtp_report *rep, enum proto_view view)
{
	struct rtp_report part = *rep;
	json_object *full, *out, *v;

	if (view == PROTO_VIEW_SUMMARY)
		return report__json(rep);
	if (view != PROTO_VIEW_SYSCALLS)
		part.n_syscalls = 0;
	if (view != PROTO_VIEW_THREADS && view != PROTO_VIEW_SCHED)
		part.n_threads = 0;
	if (view != PROTO_VIEW_RUNTIME)
		part.n_runtimes = 0;
	full = report__json(&part);
	out = full ? json_object_new_object() : NULL;
	for (int k = 0; out && view_keys[view][k]; k++)
		if (json_object_object_get_ex(full, view_keys[view][k], &v))
			json_object_object_add(out, view_keys[view][k], json_object_get(v));
	json_object_put(full);
	return out;
}

static void do_query(struct server *s, struct client *c, const struct proto_request *req)
{
	struct sess *ss = request_session(s, c, req);
	struct proto_reply reply = { .type = PROTO_REPORT, .view = req->view };
	struct rtp_report *rep = NULL;
	int r;

	if (!ss)
		return;
	reply.session = ss->id;
	if (req->window) {
		if (!ss->watched) {
			conn__reply_error(s, c, req, EINVAL, "only watched processes keep a rolling window");
			return;
		}
		if (!ss->win_last) {
			conn__reply_error(s, c, req, EAGAIN, "no complete window yet: the window is %u s", s->window_s);
			return;
		}
		reply.report = view_json(ss->win_last, req->view);
		if (!reply.report) {
			conn__reply_error(s, c, req, ENOMEM, "out of memory");
			return;
		}
	} else {
		server__refresh(s);
		r = engine__session_report_parts(s->e, ss->slot, "attach", view_parts[req->view], &rep);
		if (r) {
			conn__reply_error(s, c, req, r == -ENOMEM ? ENOMEM : EIO,
					   "cannot read the session's measurements: %s", strerror(-r));
			return;
		}
		reply.report = view_json(rep, req->view);
		report__free(rep);
		if (!reply.report) {
			conn__reply_error(s, c, req, ENOMEM, "cannot read the session's measurements: %s", strerror(ENOMEM));
			return;
		}
	}
	conn__reply(s, c, &reply, req);
}

static void do_status(struct server *s, struct client *c, const struct proto_request *req)
{
	struct proto_reply reply = { .type = PROTO_STATUS };
	struct proto_status *st = &reply.status;
	struct server_daemon_status ds = { .rss_kb = -1 };
	struct server_stats ss;

	if (s->status)
		s->status(s->status_ctx, &ds);
	server__stats(s, &ss);
	snprintf(st->version, sizeof(st->version), "%s", RTPROF_VERSION);
	st->protocol = RTP_PROTO_VERSION;
	st->pid = ds.pid;
	st->uptime_s = ds.uptime_s;
	st->cpu_s = ds.cpu_s;
	st->rss_kb = ds.rss_kb;
	st->lifecycle_events = ds.lifecycle_events;
	st->lifecycle_events_per_s = ds.uptime_s > 0 ? (double)ds.lifecycle_events / ds.uptime_s : 0;
	st->lost_events = ds.lost_events;
	st->clients = ss.clients;
	st->sessions = ss.sessions;
	st->live_processes = ss.targets;
	st->requests = ss.requests;
	st->refused = ss.refused;
	st->dropped_clients = ss.dropped_clients;
	st->watched_processes = ss.watched;
	st->watch_dropped = ss.watch_dropped;
	conn__reply(s, c, &reply, req);
}

static void do_hello(struct server *s, struct client *c, const struct proto_request *req)
{
	struct proto_reply reply = { .type = PROTO_HELLO, .version = RTP_PROTO_VERSION, .uid = c->uid,
				     .server = "rtprofd " RTPROF_VERSION };

	if (req->version != RTP_PROTO_VERSION) {
		conn__reply_error(s, c, req, EPROTO, "unsupported protocol version; this rtprofd speaks version %d",
				   RTP_PROTO_VERSION);
		c->closing = true;
		return;
	}
	c->hello = true;
	conn__reply(s, c, &reply, req);
}

typedef void (*handler_fn)(struct server *, struct client *, const struct proto_request *);

static const handler_fn handlers[] = {
	[PROTO_ATTACH] = do_attach,	      [PROTO_DETACH] = do_detach, [PROTO_SESSIONS] = do_sessions,
	[PROTO_QUERY] = do_query,	      [PROTO_STATUS] = do_status, [PROTO_RECORD] = recording__request,
	[PROTO_STOP] = recording__stop,
};

void handlers__dispatch(struct server *s, struct client *c, json_object *msg)
{
	struct proto_request req;
	char err[RTP_ERRLEN];
	int r = proto__parse_request(msg, &req, err, sizeof(err));

	if (!c->hello) {
		if (req.type == PROTO_HELLO) {
			do_hello(s, c, &req);
		} else {
			conn__reply_error(s, c, &req, EPROTO, "the first message must be a hello with the protocol version");
			c->closing = true;
		}
		return;
	}
	if (r) {
		conn__reply_error(s, c, &req, r, "%s", err);
		return;
	}
	if (req.type == PROTO_HELLO || (size_t)req.type >= sizeof(handlers) / sizeof(handlers[0]) ||
	    !handlers[req.type]) {
		/* a second hello, say */
		conn__reply_error(s, c, &req, EINVAL, "unknown request type '%s'", proto__type_name(req.type));
		return;
	}
	handlers[req.type](s, c, &req);
}
