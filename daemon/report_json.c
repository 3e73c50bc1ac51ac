// SPDX-License-Identifier: LGPL-2.1-or-later
/* The one JSON form of a report: the CLI prints it, rtprofd sends it, compare and the daemon client read
 * it back (keys: docs/report-json.md). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "report.h"

static json_object *u64(uint64_t v)
{
	return json_object_new_uint64(v);
}

static json_object *target_json(const struct rtp_report_target *t)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "pid", json_object_new_int(t->pid));
	json_object_object_add(o, "comm", json_object_new_string(t->comm));
	json_object_object_add(o, "exe", json_object_new_string(t->runtime.exe));
	json_object_object_add(o, "runtime", json_object_new_string(runtime__kind_name(t->runtime.kind)));
	json_object_object_add(o, "runtime_version",
			       t->runtime.version[0] ? json_object_new_string(t->runtime.version) : NULL);
	if (t->runtime.lib[0])
		json_object_object_add(o, "runtime_lib", json_object_new_string(t->runtime.lib));
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
	return o;
}

static json_object *thread_json(const struct rtp_report_thread *t)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "tid", json_object_new_int(t->tid));
	json_object_object_add(o, "tgid", json_object_new_int(t->tgid));
	json_object_object_add(o, "parent_tid", json_object_new_int(t->parent_tid));
	json_object_object_add(o, "name", json_object_new_string(t->name));
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
	json_object_object_add(root, "runq_hist", hist_json(r->runq_hist, RTP_HIST_SLOTS));
	json_object_object_add(root, "lost_events", u64(r->lost_events));
	json_object_object_add(root, "thread_drops", u64(r->thread_drops));
	json_object_object_add(root, "proc_drops", u64(r->proc_drops));
	json_object_object_add(root, "syscalls_unaggregated", u64(r->syscalls_unaggregated));
	json_object_object_add(root, "exit_status", json_object_new_int(r->exit_status));
	a = json_object_new_array();
	if (r->warning[0])
		json_object_array_add(a, json_object_new_string(r->warning));
	json_object_object_add(root, "warnings", a);
	return root;
}
