// SPDX-License-Identifier: LGPL-2.1-or-later
/* The one JSON renderer of the CLI: a report as one object, through the model's JSON form. The rows of
 * threads are turned into JSON and printed one at a time: a tree of them all took 2.6 KB a thread (170 MB
 * for the 65536 a trace's report holds, TRACE_MAX_THREADS). The text is json-c's pretty form either way. */
#include <errno.h>
#include <string.h>
#include <json-c/json.h>

#include "model/report_fields.h"
#include "render.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)

void render_json_value(FILE *out, json_object *v, int level)
{
	const char *s = json_object_to_json_string_ext(v, JSON_FLAGS);

	for (const char *nl; (nl = strchr(s, '\n')); s = nl + 1) {
		fwrite(s, 1, (size_t)(nl - s + 1), out);
		fprintf(out, "%*s", 2 * level, "");
	}
	fputs(s, out);
}

/* "threads" of a report `level` levels down: the rows, as json-c prints an array one level further. */
static int print_threads(FILE *out, const struct rtp_report *r, int level)
{
	fputs("[", out);
	for (size_t i = 0; i < r->n_threads; i++) {
		json_object *m = json_object_new_object();

		if (!m)
			return -ENOMEM;
		fields__to_json(&report_thread_fields, &r->threads[i], m);
		fprintf(out, "%s\n%*s", i ? "," : "", 2 * (level + 2), "");
		render_json_value(out, m, level + 2);
		json_object_put(m);
	}
	fprintf(out, "\n%*s]", 2 * (level + 1), "");
	return 0;
}

/* "processes": each process folded from its threads, syscalls by thread and runtime row
 * (report__processes; docs/report-json.md). */
static json_object *processes_json(const struct rtp_report *r)
{
	struct rtp_report_proc_row *v;
	json_object *a;
	size_t n;

	if (report__processes(r, &v, &n) || !(a = json_object_new_array())) {
		report__processes_free(v, n);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct rtp_report_proc_row *p = &v[i];
		json_object *o = json_object_new_object(), *sys = NULL;

		if (!o)
			break;
		json_object_object_add(o, "pid", json_object_new_int64(p->pid));
		json_object_object_add(o, "name", json_object_new_string(p->name));
		json_object_object_add(o, "runtime", json_object_new_string(runtime__kind_name(p->runtime)));
		json_object_object_add(o, "version", p->version[0] ? json_object_new_string(p->version) : NULL);
		json_object_object_add(o, "threads", json_object_new_int64(p->threads));
		json_object_object_add(o, "exited", json_object_new_boolean(p->exited));
		json_object_object_add(o, "oncpu_ns", json_object_new_uint64(p->oncpu_ns));
		json_object_object_add(o, "runq_wait_ns", json_object_new_uint64(p->runq_wait_ns));
		json_object_object_add(o, "sleep_ns", json_object_new_uint64(p->sleep_ns));
		json_object_object_add(o, "block_ns", json_object_new_uint64(p->block_ns));
		json_object_object_add(o, "gc_count", p->has_gc ? json_object_new_uint64(p->gc_count) : NULL);
		if (r->per_thread && (sys = json_object_new_object())) {
			json_object *rows = json_object_new_array();

			json_object_object_add(sys, "calls", json_object_new_uint64(p->sys_calls));
			json_object_object_add(sys, "errors", json_object_new_uint64(p->sys_errors));
			json_object_object_add(sys, "total_ns", json_object_new_uint64(p->sys_ns));
			for (size_t k = 0; rows && k < p->n_sys; k++) {
				json_object *row = json_object_new_object();

				if (!row)
					break;
				fields__to_json(&report_thread_syscall_fields, &p->sys[k], row);
				json_object_object_del(row, "tid");
				json_object_object_del(row, "tgid");
				json_object_array_add(rows, row);
			}
			json_object_object_add(sys, "by_syscall", rows);
		}
		json_object_object_add(o, "syscalls", sys);
		json_object_array_add(a, o);
	}
	report__processes_free(v, n);
	return a;
}

int render_json_object(FILE *out, const struct rtp_report *r, int level)
{
	struct rtp_report no_threads = *r;
	json_object *root;
	bool first = true;
	int ret = 0;

	no_threads.threads = NULL;
	no_threads.n_threads = 0;
	root = report__json(&no_threads);
	if (!root)
		return -ENOMEM;
	fputs("{", out);
	json_object_object_foreach(root, key, val) {
		fprintf(out, "%s\n%*s\"%s\":", first ? "" : ",", 2 * (level + 1), "", key);
		first = false;
		if (!strcmp(key, "threads"))
			ret = print_threads(out, r, level);
		else
			render_json_value(out, val, level + 1);
		if (ret)
			break;
	}
	if (!ret) {
		json_object *procs = processes_json(r);

		if (!procs)
			ret = -ENOMEM;
		else {
			fprintf(out, "%s\n%*s\"processes\":", first ? "" : ",", 2 * (level + 1), "");
			render_json_value(out, procs, level + 1);
			json_object_put(procs);
		}
	}
	fprintf(out, "\n%*s}", 2 * level, "");
	json_object_put(root);
	return ret;
}

int render_json(FILE *out, const struct rtp_report *r)
{
	int ret = render_json_object(out, r, 0);

	fputs("\n", out);
	if (!ret && ferror(out))
		ret = -EIO;
	return ret;
}
