// SPDX-License-Identifier: LGPL-2.1-or-later
/* The one JSON form of a report: the CLI prints it, rtprofd sends it, compare and the daemon client read
 * it back (keys: docs/report-json.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "base/text.h"
#include "model/report.h"

static json_object *u64(uint64_t v)
{
	return json_object_new_uint64(v);
}

/* Names and paths come from the kernel and the file system: bytes, not necessarily UTF-8. */
static json_object *text(const char *s)
{
	char buf[3 * 4096 + 1];

	utf8_sanitize(s, buf, sizeof(buf));
	return json_object_new_string(buf);
}

static json_object *target_json(const struct rtp_report_target *t)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "pid", json_object_new_int(t->pid));
	json_object_object_add(o, "comm", text(t->comm));
	json_object_object_add(o, "exe", text(t->runtime.exe));
	json_object_object_add(o, "runtime", json_object_new_string(runtime__kind_name(t->runtime.kind)));
	json_object_object_add(o, "runtime_version",
			       t->runtime.version[0] ? json_object_new_string(t->runtime.version) : NULL);
	if (t->runtime.lib[0])
		json_object_object_add(o, "runtime_lib", text(t->runtime.lib));
	json_object_object_add(o, "exited", json_object_new_boolean(t->exited));
	return o;
}

static json_object *hist_json(const uint64_t *slots, size_t n)
{
	json_object *a = json_object_new_array();
	size_t last = 0;

	for (size_t i = 0; i < n; i++)
		if (slots[i])
			last = i + 1;
	for (size_t i = 0; i < last; i++)
		json_object_array_add(a, u64(slots[i]));
	return a;
}

static json_object *syscall_json(const struct rtp_report_syscall *s)
{
	json_object *o = json_object_new_object(), *errnos = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(s->name));
	json_object_object_add(o, "nr", json_object_new_int((int)s->nr));
	json_object_object_add(o, "count", u64(s->count));
	json_object_object_add(o, "errors", u64(s->errors));
	json_object_object_add(o, "timed", u64(s->timed));
	for (size_t i = 0; i < s->n_errnos; i++) {
		const char *name = strerrorname_np(s->errnos[i].err);
		char buf[16];

		if (!name) {
			snprintf(buf, sizeof(buf), "E%d", s->errnos[i].err);
			name = buf;
		}
		json_object_object_add(errnos, name, u64(s->errnos[i].count));
	}
	json_object_object_add(o, "errnos", errnos);
	json_object_object_add(o, "total_ns", u64(s->total_ns));
	json_object_object_add(o, "avg_ns", u64(s->count ? s->total_ns / s->count : 0));
	json_object_object_add(o, "max_ns", u64(s->max_ns));
	json_object_object_add(o, "p50_ns", u64(s->p50_ns));
	json_object_object_add(o, "p99_ns", u64(s->p99_ns));
	json_object_object_add(o, "hist", hist_json(s->hist, RTP_HIST_SLOTS));
	if (s->trace_lost)
		json_object_object_add(o, "trace_lost", u64(s->trace_lost));
	return o;
}

static json_object *thread_json(const struct rtp_report_thread *t)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "tid", json_object_new_int(t->tid));
	json_object_object_add(o, "tgid", json_object_new_int(t->tgid));
	json_object_object_add(o, "parent_tid", json_object_new_int(t->parent_tid));
	json_object_object_add(o, "name", text(t->name));
	json_object_object_add(o, "oncpu_ns", u64(t->oncpu_ns));
	json_object_object_add(o, "runq_wait_ns", u64(t->runq_wait_ns));
	json_object_object_add(o, "sleep_ns", u64(t->sleep_ns));
	json_object_object_add(o, "block_ns", u64(t->block_ns));
	json_object_object_add(o, "vol_switches", u64(t->vol_switches));
	json_object_object_add(o, "invol_switches", u64(t->invol_switches));
	json_object_object_add(o, "migrations", u64(t->migrations));
	json_object_object_add(o, "exited", json_object_new_boolean(t->exited));
	return o;
}

/* ---- runtime metrics (docs/runtime-metrics.md) ---- */

/* A metric's method, or null and the reason it is not measured */
static void method_json(json_object *o, const char *method, const char *unavailable)
{
	json_object_object_add(o, "method", method[0] ? json_object_new_string(method) : NULL);
	if (!method[0])
		json_object_object_add(o, "unavailable", text(unavailable[0] ? unavailable : "not measured"));
}

static json_object *rt_stat_json(const char *key, json_object *name, const struct rtp_report_rt_stat *s)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, key, name);
	json_object_object_add(o, "count", u64(s->count));
	json_object_object_add(o, "total_ns", u64(s->total_ns));
	json_object_object_add(o, "max_ns", u64(s->max_ns));
	return o;
}

static json_object *gc_json(const struct rtp_report_runtime *r)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();
	struct rtp_report_rt_stat all = { 0 };
	bool python = r->kind == RTP_RUNTIME_PYTHON;

	method_json(o, r->gc_method, r->gc_unavailable);
	for (unsigned int k = 0; k < r->n_gc_kinds && k < RTP_RT_GC_KINDS; k++) {
		const struct rtp_report_rt_stat *s = &r->gc[k];

		all.count += s->count;
		all.total_ns += s->total_ns;
		if (s->max_ns > all.max_ns)
			all.max_ns = s->max_ns;
		json_object_array_add(a, python ? rt_stat_json("generation", json_object_new_int((int)k), s)
						: rt_stat_json("name", json_object_new_string(
									report__gc_kind_name(r->kind, k)), s));
	}
	json_object_object_add(o, "count", u64(all.count));
	json_object_object_add(o, "total_ns", u64(all.total_ns));
	json_object_object_add(o, "max_ns", u64(all.max_ns));
	json_object_object_add(o, python ? "generations" : "collectors", a);
	return o;
}

static json_object *runtime_json(const struct rtp_report_runtime *r)
{
	json_object *o = json_object_new_object(), *m, *a;

	json_object_object_add(o, "pid", json_object_new_int(r->pid));
	json_object_object_add(o, "runtime", json_object_new_string(runtime__kind_name(r->kind)));
	json_object_object_add(o, "version", r->version[0] ? text(r->version) : NULL);
	if (r->kind == RTP_RUNTIME_PYTHON) {
		m = json_object_new_object();
		method_json(m, r->gil_method, r->gil_unavailable);
		json_object_object_add(m, "notes", text(r->gil_notes));
		json_object_object_add(m, "wait_ns", u64(r->gil_wait_ns));
		json_object_object_add(m, "hold_ns", u64(r->gil_hold_ns));
		json_object_object_add(m, "waits", u64(r->gil_waits));
		json_object_object_add(m, "wait_hist", hist_json(r->gil_wait_hist, RTP_HIST_SLOTS));
		a = json_object_new_array();
		for (size_t i = 0; i < r->n_gil_threads; i++) {
			const struct rtp_report_gil_thread *t = &r->gil_threads[i];
			json_object *to = json_object_new_object();

			json_object_object_add(to, "tid", json_object_new_int(t->tid));
			json_object_object_add(to, "name", text(t->name));
			json_object_object_add(to, "wait_ns", u64(t->wait_ns));
			json_object_object_add(to, "hold_ns", u64(t->hold_ns));
			json_object_object_add(to, "waits", u64(t->waits));
			json_object_object_add(to, "wait_share", json_object_new_double(t->wait_share));
			json_object_array_add(a, to);
		}
		json_object_object_add(m, "threads", a);
		json_object_object_add(o, "gil", m);
	} else {
		m = json_object_new_object();
		method_json(m, r->loop_method, r->loop_unavailable);
		json_object_object_add(m, "tid", json_object_new_int(r->loop_tid));
		json_object_object_add(m, "busy_ns", u64(r->loop_busy_ns));
		json_object_object_add(m, "idle_ns", u64(r->loop_idle_ns));
		json_object_object_add(m, "utilization",
				       json_object_new_double(r->loop_busy_ns + r->loop_idle_ns
								      ? (double)r->loop_busy_ns /
									(double)(r->loop_busy_ns + r->loop_idle_ns)
								      : 0));
		json_object_object_add(m, "iterations", u64(r->loop_iters));
		json_object_object_add(m, "max_busy_ns", u64(r->loop_busy_max_ns));
		json_object_object_add(m, "busy_hist", hist_json(r->loop_busy_hist, RTP_HIST_SLOTS));
		json_object_object_add(o, "event_loop", m);

		m = json_object_new_object();
		method_json(m, r->tp_method, r->tp_unavailable);
		json_object_object_add(m, "submitted", u64(r->tp_submitted));
		json_object_object_add(m, "completed", u64(r->tp_completed));
		/* null: not known (a report from a trace, which does not record submissions) */
		json_object_object_add(m, "queue_wait_ns", r->tp_no_queue ? NULL : u64(r->tp_queue_ns));
		json_object_object_add(m, "max_queue_wait_ns", r->tp_no_queue ? NULL : u64(r->tp_queue_max_ns));
		json_object_object_add(m, "run_ns", u64(r->tp_run_ns));
		json_object_object_add(m, "max_run_ns", u64(r->tp_run_max_ns));
		json_object_object_add(m, "max_busy_workers", r->tp_no_queue ? NULL : u64(r->tp_busy_max));
		a = json_object_new_object();
		for (unsigned int k = 0; k < RTP_TP_KINDS; k++)
			json_object_object_add(a, report__tp_kind_name(k), u64(r->tp_kind[k]));
		json_object_object_add(m, "by_kind", a);
		json_object_object_add(o, "threadpool", m);
	}
	json_object_object_add(o, "gc", gc_json(r));
	return o;
}

json_object *report__json(const struct rtp_report *r)
{
	json_object *root = json_object_new_object(), *a, *proc, *load;

	if (!root)
		return NULL;
	json_object_object_add(root, "version", json_object_new_string(RTPROF_VERSION));
	json_object_object_add(root, "mode", json_object_new_string(r->mode ? r->mode : ""));
	if (r->n_targets)
		json_object_object_add(root, "target", target_json(&r->targets[0]));
	a = json_object_new_array();
	for (size_t i = 0; i < r->n_targets; i++)
		json_object_array_add(a, target_json(&r->targets[i]));
	json_object_object_add(root, "targets", a);
	json_object_object_add(root, "duration_ns", u64(r->duration_ns));

	proc = json_object_new_object();
	json_object_object_add(proc, "wall_s", json_object_new_double(r->process.wall_s));
	json_object_object_add(proc, "cpu_user_s", json_object_new_double(r->process.cpu_user_s));
	json_object_object_add(proc, "cpu_sys_s", json_object_new_double(r->process.cpu_sys_s));
	json_object_object_add(proc, "max_rss_kb", json_object_new_int64(r->process.max_rss_kb));
	load = json_object_new_array();
	for (int c = 0; c < r->process.ncpus; c++)
		json_object_array_add(load, json_object_new_double(r->process.cpu_load_pct[c]));
	json_object_object_add(proc, "cpu_load_pct", load);
	json_object_object_add(proc, "source", json_object_new_string(r->process.source ? r->process.source : ""));
	json_object_object_add(root, "process", proc);

	a = json_object_new_array();
	for (size_t i = 0; i < r->n_syscalls; i++)
		json_object_array_add(a, syscall_json(&r->syscalls[i]));
	json_object_object_add(root, "syscalls", a);
	a = json_object_new_array();
	for (size_t i = 0; i < r->n_threads; i++)
		json_object_array_add(a, thread_json(&r->threads[i]));
	json_object_object_add(root, "threads", a);
	if (r->n_runtimes) {
		json_object *rm = json_object_new_object();

		a = json_object_new_array();
		for (size_t i = 0; i < r->n_runtimes; i++)
			json_object_array_add(a, runtime_json(&r->runtimes[i]));
		json_object_object_add(rm, "processes", a);
		json_object_object_add(root, "runtime_metrics", rm);
	}
	json_object_object_add(root, "runq_hist", hist_json(r->runq_hist, RTP_HIST_SLOTS));
	json_object_object_add(root, "lost_events", u64(r->lost_events));
	json_object_object_add(root, "thread_drops", u64(r->thread_drops));
	json_object_object_add(root, "proc_drops", u64(r->proc_drops));
	json_object_object_add(root, "syscalls_unaggregated", u64(r->syscalls_unaggregated));
	json_object_object_add(root, "exit_status", json_object_new_int(r->exit_status));
	a = json_object_new_array();
	if (r->warning[0])
		json_object_array_add(a, text(r->warning));
	json_object_object_add(root, "warnings", a);
	return root;
}

/* ---- reading it back ---- */

static uint64_t get_u64(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (json_object_is_type(v, json_type_int))
		return json_object_get_uint64(v);
	if (json_object_is_type(v, json_type_double)) {
		double d = json_object_get_double(v);

		/* a double beyond uint64_t (or NaN) must not be cast: that is undefined */
		if (!(d >= 0))
			return 0;
		return d >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)d;
	}
	return 0;
}

static double get_double(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_double(v) : 0;
}

static void get_string(json_object *o, const char *key, char *out, size_t size)
{
	json_object *v;

	out[0] = '\0';
	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		snprintf(out, size, "%s", json_object_get_string(v));
}

static json_object *get_array(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_array) ? v : NULL;
}

static void get_hist(json_object *o, const char *key, uint64_t *slots)
{
	json_object *a = get_array(o, key);
	size_t n = a ? json_object_array_length(a) : 0;

	for (size_t i = 0; i < n && i < RTP_HIST_SLOTS; i++)
		slots[i] = (uint64_t)json_object_get_int64(json_object_array_get_idx(a, i));
}

static void target_from_json(json_object *o, struct rtp_report_target *t)
{
	char kind[16];

	t->pid = (pid_t)get_u64(o, "pid");
	get_string(o, "comm", t->comm, sizeof(t->comm));
	get_string(o, "exe", t->runtime.exe, sizeof(t->runtime.exe));
	get_string(o, "runtime_version", t->runtime.version, sizeof(t->runtime.version));
	get_string(o, "runtime_lib", t->runtime.lib, sizeof(t->runtime.lib));
	get_string(o, "runtime", kind, sizeof(kind));
	t->runtime.kind = strcmp(kind, "python") == 0 ? RTP_RUNTIME_PYTHON
			  : strcmp(kind, "node") == 0	  ? RTP_RUNTIME_NODE
							  : RTP_RUNTIME_OTHER;
	t->exited = get_u64(o, "exited") != 0 || json_object_get_boolean(json_object_object_get(o, "exited"));
}

static void method_from_json(json_object *o, char *method, size_t mlen, char *unavailable, size_t ulen)
{
	get_string(o, "method", method, mlen);
	get_string(o, "unavailable", unavailable, ulen);
}

static void rt_stat_from_json(json_object *o, struct rtp_report_rt_stat *s)
{
	s->count = get_u64(o, "count");
	s->total_ns = get_u64(o, "total_ns");
	s->max_ns = get_u64(o, "max_ns");
}

static int runtime_from_json(json_object *o, struct rtp_report_runtime *r)
{
	json_object *m, *a;
	char kind[16];
	size_t n;

	r->pid = (pid_t)get_u64(o, "pid");
	get_string(o, "runtime", kind, sizeof(kind));
	r->kind = strcmp(kind, "node") == 0 ? RTP_RUNTIME_NODE : RTP_RUNTIME_PYTHON;
	get_string(o, "version", r->version, sizeof(r->version));
	if (json_object_object_get_ex(o, "gil", &m)) {
		method_from_json(m, r->gil_method, sizeof(r->gil_method), r->gil_unavailable, sizeof(r->gil_unavailable));
		get_string(m, "notes", r->gil_notes, sizeof(r->gil_notes));
		r->gil_wait_ns = get_u64(m, "wait_ns");
		r->gil_hold_ns = get_u64(m, "hold_ns");
		r->gil_waits = get_u64(m, "waits");
		get_hist(m, "wait_hist", r->gil_wait_hist);
		if ((a = get_array(m, "threads")) && (n = json_object_array_length(a))) {
			r->gil_threads = calloc(n, sizeof(*r->gil_threads));
			if (!r->gil_threads)
				return -ENOMEM;
			for (size_t i = 0; i < n; i++) {
				json_object *t = json_object_array_get_idx(a, i);
				struct rtp_report_gil_thread *g = &r->gil_threads[r->n_gil_threads++];

				g->tid = (pid_t)get_u64(t, "tid");
				get_string(t, "name", g->name, sizeof(g->name));
				g->wait_ns = get_u64(t, "wait_ns");
				g->hold_ns = get_u64(t, "hold_ns");
				g->waits = get_u64(t, "waits");
				g->wait_share = get_double(t, "wait_share");
			}
		}
	}
	if (json_object_object_get_ex(o, "event_loop", &m)) {
		method_from_json(m, r->loop_method, sizeof(r->loop_method), r->loop_unavailable,
				 sizeof(r->loop_unavailable));
		r->loop_tid = (pid_t)get_u64(m, "tid");
		r->loop_busy_ns = get_u64(m, "busy_ns");
		r->loop_idle_ns = get_u64(m, "idle_ns");
		r->loop_iters = get_u64(m, "iterations");
		r->loop_busy_max_ns = get_u64(m, "max_busy_ns");
		get_hist(m, "busy_hist", r->loop_busy_hist);
	}
	if (json_object_object_get_ex(o, "threadpool", &m)) {
		json_object *k;

		method_from_json(m, r->tp_method, sizeof(r->tp_method), r->tp_unavailable, sizeof(r->tp_unavailable));
		r->tp_submitted = get_u64(m, "submitted");
		r->tp_completed = get_u64(m, "completed");
		r->tp_queue_ns = get_u64(m, "queue_wait_ns");
		r->tp_queue_max_ns = get_u64(m, "max_queue_wait_ns");
		r->tp_run_ns = get_u64(m, "run_ns");
		r->tp_run_max_ns = get_u64(m, "max_run_ns");
		r->tp_busy_max = get_u64(m, "max_busy_workers");
		r->tp_no_queue = json_object_object_get_ex(m, "queue_wait_ns", &k) && !k;
		if (json_object_object_get_ex(m, "by_kind", &k))
			for (unsigned int i = 0; i < RTP_TP_KINDS; i++)
				r->tp_kind[i] = get_u64(k, report__tp_kind_name(i));
	}
	if (json_object_object_get_ex(o, "gc", &m)) {
		method_from_json(m, r->gc_method, sizeof(r->gc_method), r->gc_unavailable, sizeof(r->gc_unavailable));
		a = get_array(m, r->kind == RTP_RUNTIME_PYTHON ? "generations" : "collectors");
		n = a ? json_object_array_length(a) : 0;
		for (size_t i = 0; i < n && i < RTP_RT_GC_KINDS; i++)
			rt_stat_from_json(json_object_array_get_idx(a, i), &r->gc[i]);
		r->n_gc_kinds = (unsigned int)(n < RTP_RT_GC_KINDS ? n : RTP_RT_GC_KINDS);
	}
	return 0;
}

static const char *const modes[] = { "run", "attach", "trace" };

int report__from_json(json_object *o, struct rtp_report **out)
{
	struct rtp_report *r;
	json_object *a, *proc, *v;
	char mode[16];
	size_t n;

	if (!o || !json_object_is_type(o, json_type_object))
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	get_string(o, "mode", mode, sizeof(mode));
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(mode, modes[i]) == 0)
			r->mode = modes[i];
	r->duration_ns = get_u64(o, "duration_ns");
	r->exit_status = json_object_object_get_ex(o, "exit_status", &v) ? json_object_get_int(v) : -1;
	if ((a = get_array(o, "targets")) && (n = json_object_array_length(a))) {
		r->targets = calloc(n, sizeof(*r->targets));
		if (!r->targets)
			goto nomem;
		for (size_t i = 0; i < n; i++)
			target_from_json(json_object_array_get_idx(a, i), &r->targets[r->n_targets++]);
	} else if (json_object_object_get_ex(o, "target", &v)) {
		r->targets = calloc(1, sizeof(*r->targets));
		if (!r->targets)
			goto nomem;
		target_from_json(v, &r->targets[r->n_targets++]);
	}
	if (json_object_object_get_ex(o, "process", &proc)) {
		r->process.wall_s = get_double(proc, "wall_s");
		r->process.cpu_user_s = get_double(proc, "cpu_user_s");
		r->process.cpu_sys_s = get_double(proc, "cpu_sys_s");
		r->process.max_rss_kb = (long)get_u64(proc, "max_rss_kb");
		get_string(proc, "source", mode, sizeof(mode));
		r->process.source = strcmp(mode, "rusage") == 0 ? "rusage" : strcmp(mode, "procfs") == 0 ? "procfs" : "trace";
		if ((a = get_array(proc, "cpu_load_pct")) && (n = json_object_array_length(a)) && n <= 65536) {
			r->process.cpu_load_pct = calloc(n, sizeof(double));
			if (!r->process.cpu_load_pct)
				goto nomem;
			for (size_t i = 0; i < n; i++)
				r->process.cpu_load_pct[i] = json_object_get_double(json_object_array_get_idx(a, i));
			r->process.ncpus = (int)n;
		}
	}
	if ((a = get_array(o, "syscalls")) && (n = json_object_array_length(a))) {
		r->syscalls = calloc(n, sizeof(*r->syscalls));
		if (!r->syscalls)
			goto nomem;
		for (size_t i = 0; i < n; i++) {
			json_object *s = json_object_array_get_idx(a, i), *errnos;
			struct rtp_report_syscall *sc = &r->syscalls[r->n_syscalls++];

			get_string(s, "name", sc->name, sizeof(sc->name));
			sc->nr = (unsigned int)get_u64(s, "nr");
			sc->count = get_u64(s, "count");
			sc->errors = get_u64(s, "errors");
			sc->timed = get_u64(s, "timed");
			sc->total_ns = get_u64(s, "total_ns");
			sc->max_ns = get_u64(s, "max_ns");
			sc->p50_ns = get_u64(s, "p50_ns");
			sc->p99_ns = get_u64(s, "p99_ns");
			sc->trace_lost = get_u64(s, "trace_lost");
			get_hist(s, "hist", sc->hist);
			if (json_object_object_get_ex(s, "errnos", &errnos) && json_object_is_type(errnos, json_type_object)) {
				size_t ne = (size_t)json_object_object_length(errnos);

				sc->errnos = calloc(ne ? ne : 1, sizeof(*sc->errnos));
				if (!sc->errnos)
					goto nomem;
				json_object_object_foreach(errnos, name, count) {
					int err = 0;

					/* names back to numbers through the C library's own table */
					for (int e = 1; e < 4096 && !err; e++) {
						const char *en = strerrorname_np(e);

						if (en && strcmp(en, name) == 0)
							err = e;
					}
					if (!err && name[0] == 'E')
						err = atoi(name + 1);
					sc->errnos[sc->n_errnos++] = (struct rtp_report_errno){ .err = err,
												.count = (uint64_t)json_object_get_int64(count) };
				}
			}
		}
	}
	if ((a = get_array(o, "threads")) && (n = json_object_array_length(a))) {
		r->threads = calloc(n, sizeof(*r->threads));
		if (!r->threads)
			goto nomem;
		for (size_t i = 0; i < n; i++) {
			json_object *t = json_object_array_get_idx(a, i);
			struct rtp_report_thread *rt = &r->threads[r->n_threads++];

			rt->tid = (pid_t)get_u64(t, "tid");
			rt->tgid = (pid_t)get_u64(t, "tgid");
			rt->parent_tid = (pid_t)get_u64(t, "parent_tid");
			get_string(t, "name", rt->name, sizeof(rt->name));
			rt->oncpu_ns = get_u64(t, "oncpu_ns");
			rt->runq_wait_ns = get_u64(t, "runq_wait_ns");
			rt->sleep_ns = get_u64(t, "sleep_ns");
			rt->block_ns = get_u64(t, "block_ns");
			rt->vol_switches = get_u64(t, "vol_switches");
			rt->invol_switches = get_u64(t, "invol_switches");
			rt->migrations = get_u64(t, "migrations");
			rt->exited = json_object_get_boolean(json_object_object_get(t, "exited"));
		}
	}
	if (json_object_object_get_ex(o, "runtime_metrics", &v) && (a = get_array(v, "processes")) &&
	    (n = json_object_array_length(a))) {
		r->runtimes = calloc(n, sizeof(*r->runtimes));
		if (!r->runtimes)
			goto nomem;
		for (size_t i = 0; i < n; i++) {
			json_object *p = json_object_array_get_idx(a, i);

			if (!json_object_is_type(p, json_type_object))
				continue;
			if (runtime_from_json(p, &r->runtimes[r->n_runtimes++]))
				goto nomem;
		}
	}
	get_hist(o, "runq_hist", r->runq_hist);
	r->lost_events = get_u64(o, "lost_events");
	r->thread_drops = get_u64(o, "thread_drops");
	r->proc_drops = get_u64(o, "proc_drops");
	r->syscalls_unaggregated = get_u64(o, "syscalls_unaggregated");
	if ((a = get_array(o, "warnings")) && json_object_array_length(a))
		snprintf(r->warning, sizeof(r->warning), "%s", json_object_get_string(json_object_array_get_idx(a, 0)));
	*out = r;
	return 0;
nomem:
	report__free(r);
	return -ENOMEM;
}
