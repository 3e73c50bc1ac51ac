// SPDX-License-Identifier: LGPL-2.1-or-later
/* Every field of the report, once: its JSON key (in the JSON's order, docs/report-json.md), its kind, its
 * place, its merge rule for rolling windows and, where it has one, its title in `compare` and its counter
 * on /metrics. The irregular parts -- errno names, derived figures, the gc collectors -- are the hooks
 * below their table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "model/profiles.h"
#include "base/text.h"
#include "model/report_fields.h"

#define AT(type, member) .offset = offsetof(type, member), .size = sizeof(((type *)0)->member)
#define TABLE(name, fields) const struct rtp_fields name = { fields, sizeof(fields) / sizeof(fields[0]) }

/* ---- a target: struct rtp_report_target ---- */

static void target_runtime_json(json_object *o, const char *key, const void *row)
{
	const struct rtp_report_target *t = row;

	json_object_object_add(o, key, json_object_new_string(runtime__kind_name(t->runtime.kind)));
}

static int target_runtime_read(json_object *o, const char *key, void *row)
{
	struct rtp_report_target *t = row;
	char kind[16];

	fields__json_string(o, key, kind, sizeof(kind));
	t->runtime.kind = strcmp(kind, "python") == 0 ? RTP_RUNTIME_PYTHON
			  : strcmp(kind, "node") == 0	  ? RTP_RUNTIME_NODE
							  : RTP_RUNTIME_OTHER;
	return 0;
}

#define TARGET(member) AT(struct rtp_report_target, member)
static const struct rtp_field target_fields[] = {
	{ "pid", RTP_FIELD_INT, RTP_MERGE_KEEP, 0, TARGET(pid) },
	{ "comm", RTP_FIELD_TEXT, RTP_MERGE_KEEP, 0, TARGET(comm) },
	{ "exe", RTP_FIELD_TEXT, RTP_MERGE_KEEP, 0, TARGET(runtime.exe) },
	{ "runtime", RTP_FIELD_CODE, RTP_MERGE_KEEP, 0, .to_json = target_runtime_json,
	  .from_json = target_runtime_read },
	{ "runtime_version", RTP_FIELD_STRING, RTP_MERGE_KEEP, RTP_FIELD_NULL_ZERO, TARGET(runtime.version) },
	{ "runtime_lib", RTP_FIELD_TEXT, RTP_MERGE_KEEP, RTP_FIELD_OMIT_ZERO, TARGET(runtime.lib) },
	{ "exited", RTP_FIELD_BOOL, RTP_MERGE_KEEP, 0, TARGET(exited) },
};
TABLE(report_target_fields, target_fields);

/* ---- the classic columns: struct rtp_report_process ---- */

static void cpu_load_json(json_object *o, const char *key, const void *row)
{
	const struct rtp_report_process *p = row;
	json_object *load = json_object_new_array();

	for (int c = 0; c < p->ncpus; c++)
		json_object_array_add(load, json_object_new_double(p->cpu_load_pct[c]));
	json_object_object_add(o, key, load);
}

static int cpu_load_read(json_object *o, const char *key, void *row)
{
	struct rtp_report_process *p = row;
	json_object *a = fields__json_array(o, key);
	size_t n = a ? json_object_array_length(a) : 0;

	if (!n || n > 65536)
		return 0;
	p->cpu_load_pct = calloc(n, sizeof(double));
	if (!p->cpu_load_pct)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		p->cpu_load_pct[i] = json_object_get_double(json_object_array_get_idx(a, i));
	p->ncpus = (int)n;
	return 0;
}

static void source_json(json_object *o, const char *key, const void *row)
{
	const struct rtp_report_process *p = row;

	json_object_object_add(o, key, json_object_new_string(p->source ? p->source : ""));
}

static int source_read(json_object *o, const char *key, void *row)
{
	struct rtp_report_process *p = row;
	char source[16];

	fields__json_string(o, key, source, sizeof(source));
	p->source = strcmp(source, "rusage") == 0 ? "rusage" : strcmp(source, "procfs") == 0 ? "procfs" : "trace";
	return 0;
}

#define PROCESS(member) AT(struct rtp_report_process, member)
static const struct rtp_field process_fields[] = {
	{ "wall_s", RTP_FIELD_DOUBLE, RTP_MERGE_RECOMPUTED, 0, PROCESS(wall_s) },
	{ "cpu_user_s", RTP_FIELD_DOUBLE, RTP_MERGE_SUM, 0, PROCESS(cpu_user_s) },
	{ "cpu_sys_s", RTP_FIELD_DOUBLE, RTP_MERGE_SUM, 0, PROCESS(cpu_sys_s) },
	{ "max_rss_kb", RTP_FIELD_LONG, RTP_MERGE_MAX, 0, PROCESS(max_rss_kb) },
	{ "cpu_load_pct", RTP_FIELD_CODE, RTP_MERGE_RECOMPUTED, 0, .to_json = cpu_load_json, .from_json = cpu_load_read },
	{ "source", RTP_FIELD_CODE, RTP_MERGE_KEEP, 0, .to_json = source_json, .from_json = source_read },
};
TABLE(report_process_fields, process_fields);

/* ---- a syscall: struct rtp_report_syscall ---- */

static void errnos_json(json_object *o, const char *key, const void *row)
{
	const struct rtp_report_syscall *s = row;
	json_object *errnos = json_object_new_object();

	for (size_t i = 0; i < s->n_errnos; i++) {
		char buf[16];
		const char *name = report__errno_name(s->errnos[i].err, buf, sizeof(buf));

		json_object_object_add(errnos, name, json_object_new_uint64(s->errnos[i].count));
	}
	json_object_object_add(o, key, errnos);
}

static int errnos_read(json_object *o, const char *key, void *row)
{
	struct rtp_report_syscall *s = row;
	json_object *errnos;
	size_t n;

	if (!json_object_object_get_ex(o, key, &errnos) || !json_object_is_type(errnos, json_type_object))
		return 0;
	n = (size_t)json_object_object_length(errnos);
	s->errnos = calloc(n ? n : 1, sizeof(*s->errnos));
	if (!s->errnos)
		return -ENOMEM;
	json_object_object_foreach(errnos, name, count) {
		int err = report__errno_from_name(name);

		s->errnos[s->n_errnos++] = (struct rtp_report_errno){ .err = err,
								      .count = (uint64_t)json_object_get_int64(count) };
	}
	return 0;
}

void report__err_paths_json(json_object *o, const char *key, const struct rtp_report_syscall *row)
{
	const struct rtp_report_syscall *s = row;
	json_object *a;

	if (!s->n_err_paths)
		return; /* not a path-taking call, or none failed */
	a = json_object_new_array_ext((int)s->n_err_paths);
	for (size_t i = 0; i < s->n_err_paths; i++) {
		json_object *e = json_object_new_object();
		char buf[16], path[RTP_PATH_LEN * 3]; /* a byte that is not UTF-8 becomes U+FFFD's 3 */

		json_object_object_add(e, "errno", json_object_new_string(report__errno_name(s->err_paths[i].err, buf,
											   sizeof(buf))));
		utf8_sanitize(s->err_paths[i].path, path, sizeof(path));
		json_object_object_add(e, "path", json_object_new_string(path));
		json_object_object_add(e, "count", json_object_new_uint64(s->err_paths[i].count));
		json_object_array_add(a, e);
	}
	json_object_object_add(o, key, a);
}

int report__err_paths_read(json_object *o, const char *key, struct rtp_report_syscall *row)
{
	struct rtp_report_syscall *s = row;
	json_object *a;
	size_t n;

	if (!json_object_object_get_ex(o, key, &a) || !json_object_is_type(a, json_type_array))
		return 0;
	n = json_object_array_length(a);
	s->err_paths = calloc(n ? n : 1, sizeof(*s->err_paths));
	if (!s->err_paths)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(a, i), *v;
		struct rtp_report_err_path *p = &s->err_paths[s->n_err_paths];

		if (!json_object_is_type(e, json_type_object))
			continue;
		if (json_object_object_get_ex(e, "errno", &v))
			p->err = report__errno_from_name(json_object_get_string(v) ? json_object_get_string(v) : "");
		if (json_object_object_get_ex(e, "path", &v) && json_object_get_string(v))
			snprintf(p->path, sizeof(p->path), "%s", json_object_get_string(v));
		if (json_object_object_get_ex(e, "count", &v))
			p->count = (uint64_t)json_object_get_int64(v);
		s->n_err_paths++;
	}
	return 0;
}

static void err_paths_json(json_object *o, const char *key, const void *row)
{
	report__err_paths_json(o, key, row);
}

static int err_paths_read(json_object *o, const char *key, void *row)
{
	return report__err_paths_read(o, key, row);
}

static void idle_json(json_object *o, const char *key, const void *row)
{
	json_object_object_add(o, key, json_object_new_boolean(report__syscall_idle(((const struct rtp_report_syscall *)row)->name)));
}

static void avg_json(json_object *o, const char *key, const void *row)
{
	const struct rtp_report_syscall *s = row;

	json_object_object_add(o, key, json_object_new_uint64(s->count ? s->total_ns / s->count : 0));
}

#define SYSCALL(member) AT(struct rtp_report_syscall, member)
static const struct rtp_field syscall_fields[] = {
	{ "name", RTP_FIELD_STRING, RTP_MERGE_KEEP, 0, SYSCALL(name) },
	{ "nr", RTP_FIELD_UINT, RTP_MERGE_KEEP, 0, SYSCALL(nr) },
	{ "count", RTP_FIELD_U64, RTP_MERGE_SUM, 0, SYSCALL(count), .metric = "rtprof_syscalls_total",
	  .help = "Syscalls the profiled processes made." },
	{ "errors", RTP_FIELD_U64, RTP_MERGE_SUM, 0, SYSCALL(errors), .metric = "rtprof_syscall_errors_total",
	  .help = "Syscalls that returned an error." },
	{ "timed", RTP_FIELD_U64, RTP_MERGE_SUM, 0, SYSCALL(timed) },
	{ "errnos", RTP_FIELD_CODE, RTP_MERGE_SUM, 0, .to_json = errnos_json, .from_json = errnos_read },
	{ "error_paths", RTP_FIELD_CODE, RTP_MERGE_SUM, 0, .to_json = err_paths_json, .from_json = err_paths_read },
	{ "total_ns", RTP_FIELD_U64, RTP_MERGE_SUM, RTP_FIELD_NS, SYSCALL(total_ns) },
	{ "avg_ns", RTP_FIELD_CODE, RTP_MERGE_RECOMPUTED, RTP_FIELD_NS, .to_json = avg_json },
	{ "idle", RTP_FIELD_CODE, RTP_MERGE_RECOMPUTED, 0, .to_json = idle_json },
	{ "max_ns", RTP_FIELD_U64, RTP_MERGE_MAX, RTP_FIELD_NS, SYSCALL(max_ns) },
	{ "p50_ns", RTP_FIELD_U64, RTP_MERGE_RECOMPUTED, RTP_FIELD_NS, SYSCALL(p50_ns) },
	{ "p99_ns", RTP_FIELD_U64, RTP_MERGE_RECOMPUTED, RTP_FIELD_NS, SYSCALL(p99_ns) },
	{ "hist", RTP_FIELD_HIST, RTP_MERGE_HIST, RTP_FIELD_NS, SYSCALL(hist) },
	{ "trace_lost", RTP_FIELD_U64, RTP_MERGE_SUM, RTP_FIELD_OMIT_ZERO, SYSCALL(trace_lost) },
};
TABLE(report_syscall_fields, syscall_fields);

/* ---- a thread: struct rtp_report_thread ---- */

#define THREAD(member) AT(struct rtp_report_thread, member)
static const struct rtp_field thread_fields[] = {
	{ "tid", RTP_FIELD_INT, RTP_MERGE_KEEP, 0, THREAD(tid) },
	{ "tgid", RTP_FIELD_INT, RTP_MERGE_KEEP, 0, THREAD(tgid) },
	{ "parent_tid", RTP_FIELD_INT, RTP_MERGE_KEEP, 0, THREAD(parent_tid) },
	{ "name", RTP_FIELD_TEXT, RTP_MERGE_KEEP, 0, THREAD(name) },
	{ "oncpu_ns", RTP_FIELD_U64, RTP_MERGE_SUM, RTP_FIELD_NS, THREAD(oncpu_ns), .title = "on-CPU",
	  .metric = "rtprof_thread_cpu_seconds_total", .help = "Time the thread ran on a CPU." },
	{ "runq_wait_ns", RTP_FIELD_U64, RTP_MERGE_SUM, RTP_FIELD_NS, THREAD(runq_wait_ns), .title = "run-queue wait",
	  .metric = "rtprof_thread_runqueue_wait_seconds_total",
	  .help = "Time the thread waited for a CPU while runnable." },
	{ "sleep_ns", RTP_FIELD_U64, RTP_MERGE_SUM, RTP_FIELD_NS, THREAD(sleep_ns), .title = "sleep",
	  .metric = "rtprof_thread_sleep_seconds_total", .help = "Time the thread slept (interruptible)." },
	{ "block_ns", RTP_FIELD_U64, RTP_MERGE_SUM, RTP_FIELD_NS, THREAD(block_ns), .title = "blocked",
	  .metric = "rtprof_thread_blocked_seconds_total", .help = "Time the thread waited uninterruptibly." },
	{ "vol_switches", RTP_FIELD_U64, RTP_MERGE_SUM, 0, THREAD(vol_switches), .title = "voluntary switches",
	  .metric = "rtprof_thread_voluntary_switches_total", .help = "Context switches the thread made by blocking." },
	{ "invol_switches", RTP_FIELD_U64, RTP_MERGE_SUM, 0, THREAD(invol_switches), .title = "involuntary switches",
	  .metric = "rtprof_thread_involuntary_switches_total", .help = "Context switches that preempted the thread." },
	{ "migrations", RTP_FIELD_U64, RTP_MERGE_SUM, 0, THREAD(migrations), .title = "migrations",
	  .metric = "rtprof_thread_migrations_total", .help = "Moves of the thread to another CPU." },
	{ "exited", RTP_FIELD_BOOL, RTP_MERGE_KEEP, 0, THREAD(exited) },
};
TABLE(report_thread_fields, thread_fields);

/* ---- runtime metrics of a process (docs/runtime-metrics.md): struct rtp_report_runtime ---- */

#define GIL_THREAD(member) AT(struct rtp_report_gil_thread, member)
static const struct rtp_field gil_thread_fields[] = {
	{ "tid", RTP_FIELD_INT, RTP_MERGE_KEEP, 0, GIL_THREAD(tid) },
	{ "name", RTP_FIELD_TEXT, RTP_MERGE_KEEP, 0, GIL_THREAD(name) },
	{ "wait_ns", RTP_FIELD_U64, RTP_MERGE_SUM, RTP_FIELD_NS, GIL_THREAD(wait_ns) },
	{ "hold_ns", RTP_FIELD_U64, RTP_MERGE_SUM, RTP_FIELD_NS, GIL_THREAD(hold_ns) },
	{ "waits", RTP_FIELD_U64, RTP_MERGE_SUM, 0, GIL_THREAD(waits) },
	{ "wait_share", RTP_FIELD_DOUBLE, RTP_MERGE_RECOMPUTED, 0, GIL_THREAD(wait_share) },
};
TABLE(report_gil_thread_fields, gil_thread_fields);

#define RT_STAT(member) AT(struct rtp_report_rt_stat, member)
static const struct rtp_field rt_stat_fields[] = {
	{ "count", RTP_FIELD_U64, RTP_MERGE_SUM, 0, RT_STAT(count) },
	{ "total_ns", RTP_FIELD_U64, RTP_MERGE_SUM, RTP_FIELD_NS, RT_STAT(total_ns) },
	{ "max_ns", RTP_FIELD_U64, RTP_MERGE_MAX, RTP_FIELD_NS, RT_STAT(max_ns) },
};
TABLE(report_rt_stat_fields, rt_stat_fields);

static bool is_python(const void *row)
{
	return ((const struct rtp_report_runtime *)row)->kind == RTP_RUNTIME_PYTHON;
}

static bool is_not_python(const void *row)
{
	return !is_python(row);
}

static void runtime_kind_json(json_object *o, const char *key, const void *row)
{
	const struct rtp_report_runtime *r = row;

	json_object_object_add(o, key, json_object_new_string(runtime__kind_name(r->kind)));
}

static int runtime_kind_read(json_object *o, const char *key, void *row)
{
	struct rtp_report_runtime *r = row;
	char kind[16];

	fields__json_string(o, key, kind, sizeof(kind));
	r->kind = strcmp(kind, "node") == 0 ? RTP_RUNTIME_NODE : RTP_RUNTIME_PYTHON;
	return 0;
}

static void utilization_json(json_object *o, const char *key, const void *row)
{
	const struct rtp_report_runtime *r = row;
	uint64_t all = r->loop_busy_ns + r->loop_idle_ns;

	json_object_object_add(o, key, json_object_new_double(all ? (double)r->loop_busy_ns / (double)all : 0));
}

/* null: not known (a report from a trace, which does not record submissions) */
static bool tp_unknown(const void *row)
{
	return ((const struct rtp_report_runtime *)row)->tp_no_queue;
}

static int tp_unknown_read(json_object *o, const char *key, void *row)
{
	json_object *v;

	((struct rtp_report_runtime *)row)->tp_no_queue = json_object_object_get_ex(o, key, &v) && !v;
	return 0;
}

static void tp_kind_json(json_object *o, const char *key, const void *row)
{
	const struct rtp_report_runtime *r = row;
	json_object *a = json_object_new_object();

	for (unsigned int k = 0; k < RTP_TP_KINDS; k++)
		json_object_object_add(a, report__tp_kind_name(k), json_object_new_uint64(r->tp_kind[k]));
	json_object_object_add(o, key, a);
}

static int tp_kind_read(json_object *o, const char *key, void *row)
{
	struct rtp_report_runtime *r = row;
	json_object *k;

	if (json_object_object_get_ex(o, key, &k))
		for (unsigned int i = 0; i < RTP_TP_KINDS; i++)
			r->tp_kind[i] = fields__json_u64(k, report__tp_kind_name(i));
	return 0;
}

/* gc: all collections, then one entry per generation (python) or collector (node) */
static struct rtp_report_rt_stat gc_all(const struct rtp_report_runtime *r)
{
	struct rtp_report_rt_stat all = { 0 };

	for (unsigned int k = 0; k < r->n_gc_kinds && k < RTP_RT_GC_KINDS; k++) {
		all.count += r->gc[k].count;
		all.total_ns += r->gc[k].total_ns;
		if (r->gc[k].max_ns > all.max_ns)
			all.max_ns = r->gc[k].max_ns;
	}
	return all;
}

static void gc_count_json(json_object *o, const char *key, const void *row)
{
	json_object_object_add(o, key, json_object_new_uint64(gc_all(row).count));
}

static void gc_total_json(json_object *o, const char *key, const void *row)
{
	json_object_object_add(o, key, json_object_new_uint64(gc_all(row).total_ns));
}

static void gc_max_json(json_object *o, const char *key, const void *row)
{
	json_object_object_add(o, key, json_object_new_uint64(gc_all(row).max_ns));
}

static void gc_kinds_json(json_object *o, const char *key, const void *row)
{
	const struct rtp_report_runtime *r = row;
	json_object *a = json_object_new_array();

	for (unsigned int k = 0; k < r->n_gc_kinds && k < RTP_RT_GC_KINDS; k++) {
		json_object *s = json_object_new_object();

		if (r->kind == RTP_RUNTIME_PYTHON)
			json_object_object_add(s, "generation", json_object_new_int((int)k));
		else
			json_object_object_add(s, "name", json_object_new_string(report__gc_kind_name(r->kind, k)));
		fields__to_json(&report_rt_stat_fields, &r->gc[k], s);
		json_object_array_add(a, s);
	}
	json_object_object_add(o, key, a);
}

static int gc_kinds_read(json_object *o, const char *key, void *row)
{
	struct rtp_report_runtime *r = row;
	json_object *a;
	size_t n;

	if ((strcmp(key, "generations") == 0) != (r->kind == RTP_RUNTIME_PYTHON))
		return 0; /* the other runtime's key */
	a = fields__json_array(o, key);
	n = a ? json_object_array_length(a) : 0;
	for (size_t i = 0; i < n && i < RTP_RT_GC_KINDS; i++)
		(void)fields__from_json(&report_rt_stat_fields, json_object_array_get_idx(a, i), &r->gc[i]);
	r->n_gc_kinds = (unsigned int)(n < RTP_RT_GC_KINDS ? n : RTP_RT_GC_KINDS);
	return 0;
}

#define RUNTIME(member) AT(struct rtp_report_runtime, member)
#define METHOD(method, unavailable)                                                                       \
	RUNTIME(method), .offset2 = offsetof(struct rtp_report_runtime, unavailable),                          \
			 .size2 = sizeof(((struct rtp_report_runtime *)0)->unavailable)
static const struct rtp_field gil_fields[] = {
	{ "method", RTP_FIELD_METHOD, RTP_MERGE_KEEP, 0, METHOD(gil_method, gil_unavailable) },
	{ "notes", RTP_FIELD_TEXT, RTP_MERGE_KEEP, 0, RUNTIME(gil_notes) },
	{ "wait_ns", RTP_FIELD_U64, RTP_MERGE_SUM, RTP_FIELD_NS, RUNTIME(gil_wait_ns) },
	{ "hold_ns", RTP_FIELD_U64, RTP_MERGE_SUM, RTP_FIELD_NS, RUNTIME(gil_hold_ns) },
	{ "waits", RTP_FIELD_U64, RTP_MERGE_SUM, 0, RUNTIME(gil_waits) },
	{ "wait_hist", RTP_FIELD_HIST, RTP_MERGE_HIST, RTP_FIELD_NS, RUNTIME(gil_wait_hist) },
	{ "threads", RTP_FIELD_ROWS, RTP_MERGE_SUM, 0, .offset = offsetof(struct rtp_report_runtime, gil_threads),
	  .size = sizeof(struct rtp_report_gil_thread), .offset2 = offsetof(struct rtp_report_runtime, n_gil_threads),
	  .sub = &report_gil_thread_fields },
};
static TABLE(gil_table, gil_fields);

#define ISOLATE(member) AT(struct rtp_report_isolate, member)
static void isolate_utilization_json(json_object *o, const char *key, const void *row)
{
	const struct rtp_report_isolate *x = row;
	uint64_t all = x->loop_busy_ns + x->loop_idle_ns;

	json_object_object_add(o, key, all ? json_object_new_double((double)x->loop_busy_ns / (double)all) : NULL);
}

static const struct rtp_field isolate_fields[] = {
	{ "tid", RTP_FIELD_INT, RTP_MERGE_KEEP, 0, ISOLATE(tid) },
	{ "name", RTP_FIELD_TEXT, RTP_MERGE_KEEP, 0, ISOLATE(name) },
	{ "loop_busy_ns", RTP_FIELD_U64, RTP_MERGE_SUM, RTP_FIELD_NS, ISOLATE(loop_busy_ns) },
	{ "loop_idle_ns", RTP_FIELD_U64, RTP_MERGE_SUM, RTP_FIELD_NS, ISOLATE(loop_idle_ns) },
	{ "loop_utilization", RTP_FIELD_CODE, RTP_MERGE_RECOMPUTED, 0, .to_json = isolate_utilization_json },
	{ "loop_iterations", RTP_FIELD_U64, RTP_MERGE_SUM, 0, ISOLATE(loop_iters) },
	{ "loop_max_busy_ns", RTP_FIELD_U64, RTP_MERGE_MAX, RTP_FIELD_NS, ISOLATE(loop_busy_max_ns) },
	{ "gc_count", RTP_FIELD_U64, RTP_MERGE_SUM, 0, ISOLATE(gc_count) },
	{ "gc_total_ns", RTP_FIELD_U64, RTP_MERGE_SUM, RTP_FIELD_NS, ISOLATE(gc_ns) },
	{ "gc_max_ns", RTP_FIELD_U64, RTP_MERGE_MAX, RTP_FIELD_NS, ISOLATE(gc_max_ns) },
};
TABLE(report_isolate_fields, isolate_fields);

static const struct rtp_field loop_fields[] = {
	{ "method", RTP_FIELD_METHOD, RTP_MERGE_KEEP, 0, METHOD(loop_method, loop_unavailable) },
	{ "tid", RTP_FIELD_INT, RTP_MERGE_KEEP, 0, RUNTIME(loop_tid) },
	{ "busy_ns", RTP_FIELD_U64, RTP_MERGE_SUM, RTP_FIELD_NS, RUNTIME(loop_busy_ns) },
	{ "idle_ns", RTP_FIELD_U64, RTP_MERGE_SUM, RTP_FIELD_NS, RUNTIME(loop_idle_ns) },
	{ "utilization", RTP_FIELD_CODE, RTP_MERGE_RECOMPUTED, 0, .to_json = utilization_json },
	{ "iterations", RTP_FIELD_U64, RTP_MERGE_SUM, 0, RUNTIME(loop_iters) },
	{ "max_busy_ns", RTP_FIELD_U64, RTP_MERGE_MAX, RTP_FIELD_NS, RUNTIME(loop_busy_max_ns) },
	{ "busy_hist", RTP_FIELD_HIST, RTP_MERGE_HIST, RTP_FIELD_NS, RUNTIME(loop_busy_hist) },
};
static TABLE(loop_table, loop_fields);

static const struct rtp_field threadpool_fields[] = {
	{ "method", RTP_FIELD_METHOD, RTP_MERGE_KEEP, 0, METHOD(tp_method, tp_unavailable) },
	{ "submitted", RTP_FIELD_U64, RTP_MERGE_SUM, 0, RUNTIME(tp_submitted) },
	{ "completed", RTP_FIELD_U64, RTP_MERGE_SUM, 0, RUNTIME(tp_completed) },
	{ "queue_wait_ns", RTP_FIELD_U64, RTP_MERGE_SUM, RTP_FIELD_NS, RUNTIME(tp_queue_ns), .unknown = tp_unknown,
	  .from_json = tp_unknown_read },
	{ "max_queue_wait_ns", RTP_FIELD_U64, RTP_MERGE_MAX, RTP_FIELD_NS, RUNTIME(tp_queue_max_ns),
	  .unknown = tp_unknown },
	{ "run_ns", RTP_FIELD_U64, RTP_MERGE_SUM, RTP_FIELD_NS, RUNTIME(tp_run_ns) },
	{ "max_run_ns", RTP_FIELD_U64, RTP_MERGE_MAX, RTP_FIELD_NS, RUNTIME(tp_run_max_ns) },
	{ "max_busy_workers", RTP_FIELD_U64, RTP_MERGE_MAX, 0, RUNTIME(tp_busy_max), .unknown = tp_unknown },
	{ "by_kind", RTP_FIELD_CODE, RTP_MERGE_SUM, 0, .to_json = tp_kind_json, .from_json = tp_kind_read },
};
static TABLE(threadpool_table, threadpool_fields);

static const struct rtp_field gc_fields[] = {
	{ "method", RTP_FIELD_METHOD, RTP_MERGE_KEEP, 0, METHOD(gc_method, gc_unavailable) },
	{ "count", RTP_FIELD_CODE, RTP_MERGE_RECOMPUTED, 0, .to_json = gc_count_json },
	{ "total_ns", RTP_FIELD_CODE, RTP_MERGE_RECOMPUTED, RTP_FIELD_NS, .to_json = gc_total_json },
	{ "max_ns", RTP_FIELD_CODE, RTP_MERGE_RECOMPUTED, RTP_FIELD_NS, .to_json = gc_max_json },
	{ "generations", RTP_FIELD_CODE, RTP_MERGE_SUM, 0, .present = is_python, .to_json = gc_kinds_json,
	  .from_json = gc_kinds_read },
	{ "collectors", RTP_FIELD_CODE, RTP_MERGE_SUM, 0, .present = is_not_python, .to_json = gc_kinds_json,
	  .from_json = gc_kinds_read },
};
static TABLE(gc_table, gc_fields);

static const struct rtp_field runtime_fields[] = {
	{ "pid", RTP_FIELD_INT, RTP_MERGE_KEEP, 0, RUNTIME(pid) },
	{ "runtime", RTP_FIELD_CODE, RTP_MERGE_KEEP, 0, .to_json = runtime_kind_json, .from_json = runtime_kind_read },
	{ "version", RTP_FIELD_TEXT, RTP_MERGE_KEEP, RTP_FIELD_NULL_ZERO, RUNTIME(version) },
	{ "gil", RTP_FIELD_OBJECT, RTP_MERGE_SUM, 0, .sub = &gil_table, .present = is_python },
	{ "event_loop", RTP_FIELD_OBJECT, RTP_MERGE_SUM, 0, .sub = &loop_table, .present = is_not_python },
	{ "threadpool", RTP_FIELD_OBJECT, RTP_MERGE_SUM, 0, .sub = &threadpool_table, .present = is_not_python },
	{ "gc", RTP_FIELD_OBJECT, RTP_MERGE_SUM, 0, .sub = &gc_table },
	{ "isolates", RTP_FIELD_ROWS, RTP_MERGE_SUM, 0, .offset = offsetof(struct rtp_report_runtime, isolates),
	  .size = sizeof(struct rtp_report_isolate), .offset2 = offsetof(struct rtp_report_runtime, n_isolates),
	  .sub = &report_isolate_fields, .present = is_not_python },
	{ "probes_from", RTP_FIELD_STRING, RTP_MERGE_KEEP, RTP_FIELD_NULL_ZERO, RUNTIME(probes_from) },
	{ "probes_late_ns", RTP_FIELD_U64, RTP_MERGE_MAX, RTP_FIELD_NS | RTP_FIELD_NULL_ZERO, RUNTIME(probes_late_ns) },
};
TABLE(report_runtime_fields, runtime_fields);

/* ---- the report: struct rtp_report ---- */

static void version_json(json_object *o, const char *key, const void *row)
{
	(void)row;
	json_object_object_add(o, key, json_object_new_string(RTPROF_VERSION));
}

static const char *const modes[] = { "run", "attach", "trace" };

static void mode_json(json_object *o, const char *key, const void *row)
{
	const struct rtp_report *r = row;

	json_object_object_add(o, key, json_object_new_string(r->mode ? r->mode : ""));
}

static int mode_read(json_object *o, const char *key, void *row)
{
	struct rtp_report *r = row;
	char mode[16];

	fields__json_string(o, key, mode, sizeof(mode));
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(mode, modes[i]) == 0)
			r->mode = modes[i];
	return 0;
}

static bool has_targets(const void *row)
{
	return ((const struct rtp_report *)row)->n_targets > 0;
}

/* the main target again, as `target` (read back by report__from_json when `targets` is missing) */
static void main_target_json(json_object *o, const char *key, const void *row)
{
	const struct rtp_report *r = row;
	json_object *t = json_object_new_object();

	fields__to_json(&report_target_fields, &r->targets[0], t);
	json_object_object_add(o, key, t);
}

static bool has_runtimes(const void *row)
{
	return ((const struct rtp_report *)row)->n_runtimes > 0;
}

static bool has_per_thread(const void *row)
{
	return ((const struct rtp_report *)row)->per_thread;
}

#define THREAD_SYSCALL(member) AT(struct rtp_report_thread_syscall, member)
static const struct rtp_field thread_syscall_fields[] = {
	{ "tid", RTP_FIELD_INT, RTP_MERGE_KEEP, 0, THREAD_SYSCALL(tid) },
	{ "pid", RTP_FIELD_INT, RTP_MERGE_KEEP, 0, THREAD_SYSCALL(tgid) },
	{ "syscall", RTP_FIELD_STRING, RTP_MERGE_KEEP, 0, THREAD_SYSCALL(name) },
	{ "nr", RTP_FIELD_UINT, RTP_MERGE_KEEP, 0, THREAD_SYSCALL(nr) },
	{ "count", RTP_FIELD_U64, RTP_MERGE_SUM, 0, THREAD_SYSCALL(count) },
	{ "errors", RTP_FIELD_U64, RTP_MERGE_SUM, 0, THREAD_SYSCALL(errors) },
	{ "timed", RTP_FIELD_U64, RTP_MERGE_SUM, 0, THREAD_SYSCALL(timed) },
	{ "total_ns", RTP_FIELD_U64, RTP_MERGE_SUM, RTP_FIELD_NS, THREAD_SYSCALL(total_ns) },
	{ "max_ns", RTP_FIELD_U64, RTP_MERGE_MAX, RTP_FIELD_NS, THREAD_SYSCALL(max_ns) },
};
TABLE(report_thread_syscall_fields, thread_syscall_fields);

static bool has_profiles(const void *row)
{
	return ((const struct rtp_report *)row)->profiles != NULL;
}

static void profiles_json(json_object *o, const char *key, const void *row)
{
	json_object_object_add(o, key, profiles__json(((const struct rtp_report *)row)->profiles));
}

static int profiles_read(json_object *o, const char *key, void *row)
{
	struct rtp_report *r = row;
	json_object *v;
	int err = 0;

	if (json_object_object_get_ex(o, key, &v))
		r->profiles = profiles__from_json(v, &err);
	return err;
}

static void exit_status_json(json_object *o, const char *key, const void *row)
{
	json_object_object_add(o, key, json_object_new_int(((const struct rtp_report *)row)->exit_status));
}

static int exit_status_read(json_object *o, const char *key, void *row)
{
	json_object *v;

	((struct rtp_report *)row)->exit_status = json_object_object_get_ex(o, key, &v) ? json_object_get_int(v) : -1;
	return 0;
}

static void warnings_json(json_object *o, const char *key, const void *row)
{
	const struct rtp_report *r = row;
	json_object *a = json_object_new_array();

	if (r->warning[0])
		json_object_array_add(a, fields__json_text(r->warning));
	json_object_object_add(o, key, a);
}

static int warnings_read(json_object *o, const char *key, void *row)
{
	struct rtp_report *r = row;
	json_object *a = fields__json_array(o, key);

	if (a && json_object_array_length(a))
		snprintf(r->warning, sizeof(r->warning), "%s", json_object_get_string(json_object_array_get_idx(a, 0)));
	return 0;
}

#define WRAPPER(member) AT(struct rtp_report_wrapper, member)
static const struct rtp_field wrapper_fields[] = {
	{ "helpers", RTP_FIELD_UINT, RTP_MERGE_KEEP, 0, WRAPPER(helpers) },
	{ "helper_names", RTP_FIELD_STRING, RTP_MERGE_KEEP, 0, WRAPPER(names) },
	{ "start_ns", RTP_FIELD_U64, RTP_MERGE_KEEP, RTP_FIELD_NS, WRAPPER(start_ns) },
};
static TABLE(wrapper_table, wrapper_fields);

static bool has_wrapper(const void *row)
{
	return ((const struct rtp_report *)row)->wrapper.start_ns != 0;
}

#define REPORT(member) AT(struct rtp_report, member)
#define ROWS(member, n_member, row_type, table)                                                            \
	.offset = offsetof(struct rtp_report, member), .size = sizeof(row_type),                               \
	.offset2 = offsetof(struct rtp_report, n_member), .sub = &(table)
static const struct rtp_field runtime_metrics_fields[] = {
	{ "processes", RTP_FIELD_ROWS, RTP_MERGE_SUM, 0,
	  ROWS(runtimes, n_runtimes, struct rtp_report_runtime, report_runtime_fields) },
};
static TABLE(runtime_metrics_table, runtime_metrics_fields);

static const struct rtp_field fields[] = {
	{ "version", RTP_FIELD_CODE, RTP_MERGE_KEEP, 0, .to_json = version_json },
	{ "mode", RTP_FIELD_CODE, RTP_MERGE_KEEP, 0, .to_json = mode_json, .from_json = mode_read },
	{ "target", RTP_FIELD_CODE, RTP_MERGE_KEEP, 0, .present = has_targets, .to_json = main_target_json },
	{ "targets", RTP_FIELD_ROWS, RTP_MERGE_KEEP, 0,
	  ROWS(targets, n_targets, struct rtp_report_target, report_target_fields) },
	{ "duration_ns", RTP_FIELD_U64, RTP_MERGE_SUM, RTP_FIELD_NS, REPORT(duration_ns) },
	{ "wrapper", RTP_FIELD_OBJECT, RTP_MERGE_KEEP, 0, REPORT(wrapper), .sub = &wrapper_table,
	  .present = has_wrapper },
	{ "process", RTP_FIELD_OBJECT, RTP_MERGE_SUM, 0, REPORT(process), .sub = &report_process_fields },
	{ "syscalls", RTP_FIELD_ROWS, RTP_MERGE_SUM, 0,
	  ROWS(syscalls, n_syscalls, struct rtp_report_syscall, report_syscall_fields) },
	{ "threads", RTP_FIELD_ROWS, RTP_MERGE_SUM, 0,
	  ROWS(threads, n_threads, struct rtp_report_thread, report_thread_fields) },
	{ "per_thread", RTP_FIELD_BOOL, RTP_MERGE_KEEP, 0, REPORT(per_thread), .present = has_per_thread },
	{ "thread_syscalls", RTP_FIELD_ROWS, RTP_MERGE_SUM, 0, .present = has_per_thread,
	  ROWS(thread_syscalls, n_thread_syscalls, struct rtp_report_thread_syscall, report_thread_syscall_fields) },
	{ "thread_syscall_drops", RTP_FIELD_U64, RTP_MERGE_SUM, RTP_FIELD_OMIT_ZERO, REPORT(thread_syscall_drops) },
	{ "runtime_metrics", RTP_FIELD_OBJECT, RTP_MERGE_SUM, 0, .sub = &runtime_metrics_table,
	  .present = has_runtimes },
	{ "profiles", RTP_FIELD_CODE, RTP_MERGE_KEEP, 0, .present = has_profiles, .to_json = profiles_json,
	  .from_json = profiles_read },
	{ "runq_hist", RTP_FIELD_HIST, RTP_MERGE_HIST, RTP_FIELD_NS, REPORT(runq_hist) },
	{ "lost_events", RTP_FIELD_U64, RTP_MERGE_SUM, 0, REPORT(lost_events) },
	{ "thread_drops", RTP_FIELD_U64, RTP_MERGE_SUM, 0, REPORT(thread_drops) },
	{ "proc_drops", RTP_FIELD_U64, RTP_MERGE_SUM, 0, REPORT(proc_drops) },
	{ "errno_drops", RTP_FIELD_U64, RTP_MERGE_SUM, 0, REPORT(errno_drops) },
	{ "error_path_drops", RTP_FIELD_U64, RTP_MERGE_SUM, RTP_FIELD_OMIT_ZERO, REPORT(err_path_drops) },
	{ "syscalls_unaggregated", RTP_FIELD_U64, RTP_MERGE_SUM, 0, REPORT(syscalls_unaggregated) },
	{ "exit_status", RTP_FIELD_CODE, RTP_MERGE_KEEP, 0, .to_json = exit_status_json, .from_json = exit_status_read },
	{ "warnings", RTP_FIELD_CODE, RTP_MERGE_KEEP, 0, .to_json = warnings_json, .from_json = warnings_read },
};
TABLE(report_fields, fields);
