// SPDX-License-Identifier: LGPL-2.1-or-later
/* `rtprof top`'s data: what it asks rtprofd at each refresh, and the frame made of two consecutive answers.
 * Every rate is a session's figures over the interval between two consecutive reports (report__subtract,
 * as rtprofd's rolling windows), divided by the interval (docs/top.md); the top functions of a session that
 * samples stacks are those of the stacks' difference. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "base/vec.h"
#include "client.h"
#include "model/profiles.h"
#include "top.h"

static int cmp_thread_tid(const void *a, const void *b)
{
	const struct rtp_report_thread *x = a, *y = b;

	return (x->tid > y->tid) - (x->tid < y->tid);
}

/* ---- asking rtprofd ---- */

static int cmp_listed(const void *a, const void *b)
{
	const struct proto_session_info *x = a, *y = b;

	return (x->session > y->session) - (x->session < y->session);
}

void top_poll__clear(struct top_poll *p)
{
	for (size_t i = 0; i < p->n_sessions; i++)
		report__free(p->sessions[i].rep);
	free(p->sessions);
	memset(p, 0, sizeof(*p));
}

int top_poll__fetch(struct rtp_client *c, struct top_poll *out, char *err, size_t errlen)
{
	struct proto_reply status = { 0 }, list = { 0 };
	struct top_poll p = { .taken = time(NULL) };
	int r;

	r = client__request(c, &(struct proto_request){ .type = PROTO_STATUS }, &status, err, errlen);
	if (r)
		goto cleanup;
	p.sessions_total = (int)status.status.sessions;
	p.clients = (int)status.status.clients;
	r = client__request(c, &(struct proto_request){ .type = PROTO_SESSIONS }, &list, err, errlen);
	if (r)
		goto cleanup;
	r = -ENOMEM;
	p.sessions = calloc(list.nsessions ? list.nsessions : 1, sizeof(*p.sessions));
	if (!p.sessions)
		goto cleanup;
	if (list.nsessions > 1) /* qsort takes no NULL array, even empty */
		qsort(list.sessions, list.nsessions, sizeof(*list.sessions), cmp_listed);
	for (size_t i = 0; i < list.nsessions; i++) {
		struct proto_request req = { .type = PROTO_QUERY, .session = list.sessions[i].session,
					     .view = PROTO_VIEW_SUMMARY };
		struct proto_reply reply = { 0 };
		struct rtp_report *rep = NULL;
		int64_t id = (int64_t)list.sessions[i].session;

		r = client__request(c, &req, &reply, err, errlen);
		if (r == -ENOENT)
			continue; /* detached since the list was made */
		if (r)
			goto cleanup;
		r = report__from_json(reply.report, &rep);
		proto_reply__clear(&reply);
		if (r) {
			snprintf(err, errlen, "rtprofd's report of session %" PRId64 " could not be read", id);
			goto cleanup;
		}
		if (rep->n_threads > 1)
			qsort(rep->threads, rep->n_threads, sizeof(*rep->threads), cmp_thread_tid);
		p.sessions[p.n_sessions++] = (struct top_session){ .session = id,
								   .live_processes = (int)list.sessions[i].live_processes,
								   .rep = rep };
	}
	*out = p;
	memset(&p, 0, sizeof(p));
	r = 0;
cleanup:
	if (r == -ENOMEM)
		snprintf(err, errlen, "%s", strerror(ENOMEM));
	top_poll__clear(&p);
	proto_reply__clear(&status);
	proto_reply__clear(&list);
	return r;
}

/* ---- the frame ---- */

/* n events over the interval, per second; 0 over an empty interval */
static double per_s(uint64_t n, double dt_ns)
{
	return dt_ns > 0 ? (double)n * 1e9 / dt_ns : 0;
}

static const struct rtp_report *find_base(const struct top_poll *before, int64_t session)
{
	for (size_t i = 0; i < before->n_sessions; i++)
		if (before->sessions[i].session == session)
			return before->sessions[i].rep;
	return NULL;
}

/* Where the thread spent most of the interval, from its figures over it (w) */
static char thread_state(const struct rtp_report_thread *t, const struct rtp_report_thread *w)
{
	if (t->exited)
		return 'X';
	if (!w->oncpu_ns && !w->runq_wait_ns && !w->sleep_ns && !w->block_ns)
		return '-';
	if (w->oncpu_ns >= w->runq_wait_ns && w->oncpu_ns >= w->sleep_ns && w->oncpu_ns >= w->block_ns)
		return 'R';
	if (w->runq_wait_ns >= w->sleep_ns && w->runq_wait_ns >= w->block_ns)
		return 'W';
	return w->block_ns > w->sleep_ns ? 'D' : 'S';
}

/* The threads of a session: rep is its report now, base the one before (NULL at its first refresh), win
 * the interval between them (report__subtract: rep itself at the first refresh), in rep's order. */
static int add_threads(struct top_frame *f, int64_t session, const struct rtp_report *rep,
		       const struct rtp_report *base, const struct rtp_report *win)
{
	double dt_ns = (double)win->duration_ns;

	for (size_t i = 0; i < rep->n_threads && i < win->n_threads; i++) {
		const struct rtp_report_thread *t = &rep->threads[i], *w = &win->threads[i], *b = NULL;
		struct top_row *row;

		if (base)
			b = bsearch(t, base->threads, base->n_threads, sizeof(*t), cmp_thread_tid);
		/* a thread is listed until the refresh after its exit; the first frame shows the live ones */
		if (t->exited && (!base || (b && b->exited)))
			continue;
		if (vec__grow(&f->rows, &f->cap_rows, f->n_rows))
			return -ENOMEM;
		row = &f->rows[f->n_rows++];
		*row = (struct top_row){ .session = session, .pid = t->tgid, .tid = t->tid, .state = thread_state(t, w) };
		text__printable(t->name, row->name, sizeof(row->name), false);
		if (dt_ns > 0) {
			row->cpu_pct = 100.0 * (double)w->oncpu_ns / dt_ns;
			row->runq_pct = 100.0 * (double)w->runq_wait_ns / dt_ns;
			row->vol_per_s = per_s(w->vol_switches, dt_ns);
			row->invol_per_s = per_s(w->invol_switches, dt_ns);
		}
	}
	return 0;
}

static const struct rtp_report_runtime *find_runtime(const struct rtp_report *r, pid_t pid)
{
	for (size_t i = 0; r && i < r->n_runtimes; i++)
		if (r->runtimes[i].pid == pid)
			return &r->runtimes[i];
	return NULL;
}

static uint64_t gc_count(const struct rtp_report_runtime *rt)
{
	uint64_t n = 0;

	for (unsigned int k = 0; rt && k < RTP_RT_GC_KINDS; k++)
		n += rt->gc[k].count;
	return n;
}

/* The main target's runtime metrics over the refresh interval (win), as a third line of its session's head:
 * GIL wait share (python), event-loop utilisation and threadpool tasks (node), collections. */
static void runtime_line(char *out, size_t len, const struct rtp_report *win)
{
	const struct rtp_report_runtime *rt = win->n_targets ? find_runtime(win, win->targets[0].pid) : NULL;
	double dt_ns = (double)win->duration_ns;
	char gc[48], r1[24];

	out[0] = '\0';
	if (!rt)
		return;
	if (rt->gc_method[0])
		snprintf(gc, sizeof(gc), "  gc/s %s", top_draw__rate(r1, sizeof(r1), per_s(gc_count(rt), dt_ns)));
	else
		snprintf(gc, sizeof(gc), "  gc -");
	if (rt->kind == RTP_RUNTIME_PYTHON) {
		uint64_t w = rt->gil_wait_ns, h = rt->gil_hold_ns;

		if (rt->gil_method[0])
			snprintf(out, len, "\n  GIL wait %.1f%% of thread time%s",
				 w + h ? 100.0 * (double)w / (double)(w + h) : 0, gc);
		else
			snprintf(out, len, "\n  GIL -%s", gc);
	} else {
		uint64_t bu = rt->loop_busy_ns, id = rt->loop_idle_ns;
		char r2[24];

		snprintf(out, len, "\n  event loop %.1f%% busy  longest %.1f ms  pool tasks/s %s%s",
			 bu + id ? 100.0 * (double)bu / (double)(bu + id) : 0, (double)rt->loop_busy_max_ns / 1e6,
			 top_draw__rate(r2, sizeof(r2), per_s(rt->tp_completed, dt_ns)), gc);
	}
}

/* A session's head lines: who it is and what is alive from rep, its rates from win (the refresh interval). */
static void session_head(char *out, size_t len, int64_t session, int live, const struct rtp_report *rep,
			 const struct rtp_report *win)
{
	char rtline[160];
	const struct rtp_report_target *t = rep->n_targets ? &rep->targets[0] : NULL;
	const struct rtp_report_syscall *top = NULL;
	double dt_ns = (double)win->duration_ns;
	uint64_t calls = 0;
	size_t threads = 0;
	char runtime[48] = "", more[24] = "", rate[24], top_rate[24], top_text[64] = "-", comm[RTP_COMM_LEN] = "?";
	char version[sizeof(t->runtime.version)] = "?";

	for (size_t i = 0; i < win->n_syscalls; i++) {
		const struct rtp_report_syscall *s = &win->syscalls[i];

		calls += s->count;
		if (s->count && (!top || s->count > top->count))
			top = s;
	}
	for (size_t i = 0; i < rep->n_threads; i++)
		threads += !rep->threads[i].exited;
	if (t) {
		text__printable(t->comm, comm, sizeof(comm), false);
		if (t->runtime.version[0])
			text__printable(t->runtime.version, version, sizeof(version), false);
	}
	if (t && t->runtime.kind != RTP_RUNTIME_OTHER)
		snprintf(runtime, sizeof(runtime), "  %s %s", runtime__kind_name(t->runtime.kind), version);
	if (rep->n_targets > 1)
		snprintf(more, sizeof(more), " +%zu", rep->n_targets - 1);
	top_draw__rate(rate, sizeof(rate), per_s(calls, dt_ns));
	if (top)
		snprintf(top_text, sizeof(top_text), "%s %s/s", top->name,
			 top_draw__rate(top_rate, sizeof(top_rate), per_s(top->count, dt_ns)));
	runtime_line(rtline, sizeof(rtline), win);
	/* two lines (three for a python or node target), each within 80 columns */
	snprintf(out, len,
		 "session %" PRId64 ": %s (pid %d%s)%s  procs %d/%zu  threads %zu\n"
		 "  syscalls/s %s  top %s  lost events %" PRIu64 "%s",
		 session, comm, t ? t->pid : 0, more, runtime, live, rep->n_targets, threads, rate, top_text,
		 rep->lost_events, rtline);
}

/* ---- a session's top functions on CPU ---- */

/* Why a session that samples stacks has none: the first of its processes rtprofd cannot walk, if any. */
static void why_no_samples(char *out, size_t len, const struct rtp_profiles *p)
{
	char why[sizeof(p->procs[0].unavailable)];

	for (size_t i = 0; i < p->n_procs; i++)
		if (p->procs[i].unavailable[0]) {
			snprintf(out, len, "pid %d: %s", (int)p->procs[i].pid,
				 text__printable(p->procs[i].unavailable, why, sizeof(why), false));
			return;
		}
}

/* The session's top functions on CPU in the interval: profiles__top of win's stacks, each stack's samples
 * since the report before (report__subtract; at a session's first refresh its report, since the attach),
 * as the text report's "Top functions on CPU" ranks them. */
static int session_funcs(struct top_funcs *out, const struct rtp_report *win)
{
	const struct rtp_profiles *p = win->profiles;
	struct rtp_prof_top *t = NULL;
	size_t n = 0;

	if (!p)
		return 0;
	out->stacks = true;
	out->sample_hz = p->sample_hz;
	for (size_t i = 0; i < p->n_rows; i++)
		if (p->rows[i].kind == RTP_PROF_CPU)
			out->samples += profiles__value(&p->rows[i]);
	if (!out->samples) {
		why_no_samples(out->why_none, sizeof(out->why_none), p);
		return 0;
	}
	if (profiles__top(p, RTP_PROF_CPU, &t, &n))
		return -ENOMEM;
	for (size_t i = 0; i < n && out->n < TOP_FUNCS_MAX; i++) {
		const struct rtp_prof_func *fn = &p->funcs[t[i].func];
		struct top_func *f = &out->top[out->n];

		f->self_pct = 100.0 * (double)t[i].self / (double)out->samples;
		f->total_pct = 100.0 * (double)t[i].total / (double)out->samples;
		if (f->total_pct < 0.05) /* rounds to 0.0% both ways: noise, as in the text report */
			continue;
		text__printable(fn->name, f->name, sizeof(f->name), false);
		text__printable(fn->file, f->file, sizeof(f->file), false);
		f->firstline = fn->firstline;
		out->n++;
	}
	free(t);
	return 0;
}

void top_frame__clear(struct top_frame *f)
{
	free(f->session_heads);
	free(f->funcs);
	free(f->session_ids);
	free(f->session_live);
	free(f->rows);
	memset(f, 0, sizeof(*f));
}

int top_frame__build(struct top_frame *f, const struct top_poll *now, const struct top_poll *before, char *err,
		     size_t errlen)
{
	struct tm tm;
	int r;

	top_frame__clear(f);
	if (localtime_r(&now->taken, &tm))
		strftime(f->when, sizeof(f->when), "%H:%M:%S", &tm);
	f->sessions_total = now->sessions_total;
	f->clients = now->clients;
	f->session_heads = calloc(now->n_sessions ? now->n_sessions : 1, sizeof(*f->session_heads));
	f->funcs = calloc(now->n_sessions ? now->n_sessions : 1, sizeof(*f->funcs));
	f->session_ids = calloc(now->n_sessions ? now->n_sessions : 1, sizeof(*f->session_ids));
	f->session_live = calloc(now->n_sessions ? now->n_sessions : 1, sizeof(*f->session_live));
	if (!f->session_heads || !f->funcs || !f->session_ids || !f->session_live) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	for (size_t i = 0; i < now->n_sessions; i++) {
		const struct top_session *s = &now->sessions[i];
		const struct rtp_report *base = find_base(before, s->session);
		struct rtp_report *win = NULL;

		/* the first refresh of a session covers it since its attach */
		r = base ? report__subtract(s->rep, base, &win) : 0;
		if (!r) {
			session_head(f->session_heads[f->n_sessions], sizeof(f->session_heads[0]), s->session,
				     s->live_processes, s->rep, win ? win : s->rep);
			f->session_ids[f->n_sessions] = s->session;
			f->session_live[f->n_sessions] = s->live_processes > 0;
			r = session_funcs(&f->funcs[f->n_sessions++], win ? win : s->rep);
		}
		if (!r)
			r = add_threads(f, s->session, s->rep, base, win ? win : s->rep);
		report__free(win);
		if (r) {
			snprintf(err, errlen, "%s", strerror(-r));
			return r;
		}
	}
	return 0;
}
