// SPDX-License-Identifier: LGPL-2.1-or-later
/* The report model's arithmetic and its renderers, on reports whose numbers are known. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "check.h"
#include "render.h"
#include "base/text.h"
#include "model/report.h"
#include "model/report_fields.h"
#include "model/profiles.h"

static void test_percentile(void)
{
	uint64_t h[RTP_HIST_SLOTS] = {};

	CHECK_EQ(hist__percentile(h, RTP_HIST_SLOTS, 0.5), 0);
	/* 100 values in [1024, 2048): the median interpolates to the middle of the slot */
	h[10] = 100;
	CHECK_EQ(hist__percentile(h, RTP_HIST_SLOTS, 0.5), 1536);
	CHECK_EQ(hist__percentile(h, RTP_HIST_SLOTS, 1.0), 2048);
	CHECK_EQ(hist__percentile(h, RTP_HIST_SLOTS, 0.0), 1024);
	/* 99 fast calls and one slow: p50 among the fast, p99 at the top of the fast slot, p100 in the slow */
	memset(h, 0, sizeof(h));
	h[8] = 99;
	h[20] = 1;
	CHECK(hist__percentile(h, RTP_HIST_SLOTS, 0.50) >= 256 && hist__percentile(h, RTP_HIST_SLOTS, 0.50) < 512);
	CHECK_EQ(hist__percentile(h, RTP_HIST_SLOTS, 0.99), 512);
	CHECK(hist__percentile(h, RTP_HIST_SLOTS, 1.0) > (1u << 20));
	/* out-of-range quantiles are clamped */
	CHECK_EQ(hist__percentile(h, RTP_HIST_SLOTS, 7.0), hist__percentile(h, RTP_HIST_SLOTS, 1.0));
	CHECK_EQ(hist__percentile(h, RTP_HIST_SLOTS, -1.0), hist__percentile(h, RTP_HIST_SLOTS, 0.0));
}

static struct rtp_report *sample_report(void)
{
	struct rtp_report *r = calloc(1, sizeof(*r));

	r->mode = "run";
	r->n_targets = 1;
	r->targets = calloc(1, sizeof(*r->targets));
	r->targets[0].pid = 4242;
	strcpy(r->targets[0].comm, "python3");
	r->targets[0].runtime.kind = RTP_RUNTIME_PYTHON;
	strcpy(r->targets[0].runtime.version, "3.11.2");
	strcpy(r->targets[0].runtime.exe, "/usr/bin/python3.11");
	r->duration_ns = 2000000000ull;
	r->process = (struct rtp_report_process){ .wall_s = 2.0, .cpu_user_s = 1.25, .cpu_sys_s = 0.5,
						  .max_rss_kb = 204800, .ncpus = 2, .source = "rusage" };
	r->process.cpu_load_pct = calloc(2, sizeof(double));
	r->process.cpu_load_pct[0] = 87.5;
	r->process.cpu_load_pct[1] = 0.0;
	r->n_syscalls = 2;
	r->syscalls = calloc(2, sizeof(*r->syscalls));
	r->syscalls[0] = (struct rtp_report_syscall){ .nr = 262, .name = "newfstatat", .count = 50000, .errors = 50000,
						      .timed = 50000, .total_ns = 40000000, .max_ns = 90000,
						      .p50_ns = 700, .p99_ns = 3000 };
	r->syscalls[0].n_errnos = 1;
	r->syscalls[0].errnos = calloc(1, sizeof(struct rtp_report_errno));
	r->syscalls[0].errnos[0] = (struct rtp_report_errno){ .err = ENOENT, .count = 50000 };
	r->syscalls[0].hist[9] = 50000;
	r->syscalls[1] = (struct rtp_report_syscall){ .nr = 110, .name = "getppid", .count = 200000, .timed = 12500,
						      .total_ns = 20000000, .max_ns = 5000, .p50_ns = 90, .p99_ns = 200 };
	r->n_threads = 1;
	r->threads = calloc(1, sizeof(*r->threads));
	r->threads[0] = (struct rtp_report_thread){ .tid = 4243, .tgid = 4242, .parent_tid = 4242, .name = "worker",
						    .oncpu_ns = 1500000000, .runq_wait_ns = 3000000, .sleep_ns = 10,
						    .block_ns = 20, .vol_switches = 7, .invol_switches = 3,
						    .migrations = 1, .exited = true };
	r->runq_hist[12] = 4;
	r->lost_events = 3;
	r->exit_status = 0;
	return r;
}

static json_object *get(json_object *o, const char *path)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save)) {
		char *end;
		long idx = strtol(k, &end, 10);

		if (*end == '\0' && json_object_is_type(o, json_type_array))
			o = json_object_array_get_idx(o, (size_t)idx);
		else if (!json_object_object_get_ex(o, k, &o))
			return NULL;
	}
	return o;
}

static void test_json(void)
{
	struct rtp_report *r = sample_report();
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_object *root;

	CHECK_EQ(render_json(f, r), 0);
	fclose(f);
	root = json_tokener_parse(buf);
	CHECK(root != NULL);
	CHECK_EQ(json_object_get_int(get(root, "target.pid")), 4242);
	CHECK_STREQ(json_object_get_string(get(root, "target.runtime")), "python");
	CHECK_STREQ(json_object_get_string(get(root, "target.runtime_version")), "3.11.2");
	CHECK_STREQ(json_object_get_string(get(root, "target.exe")), "/usr/bin/python3.11");
	CHECK_EQ(json_object_get_int64(get(root, "duration_ns")), 2000000000);
	CHECK_EQ(json_object_get_int64(get(root, "process.max_rss_kb")), 204800);
	CHECK(json_object_get_double(get(root, "process.cpu_user_s")) == 1.25);
	CHECK(json_object_get_double(get(root, "process.cpu_load_pct.0")) == 87.5);
	CHECK_EQ(json_object_array_length(get(root, "process.cpu_load_pct")), 2);
	CHECK_STREQ(json_object_get_string(get(root, "syscalls.0.name")), "newfstatat");
	CHECK_EQ(json_object_get_int64(get(root, "syscalls.0.errnos.ENOENT")), 50000);
	CHECK_EQ(json_object_get_int64(get(root, "syscalls.0.avg_ns")), 800);
	CHECK_EQ(json_object_array_length(get(root, "syscalls.0.hist")), 10);
	CHECK_EQ(json_object_get_int64(get(root, "syscalls.1.count")), 200000);
	CHECK_EQ(json_object_get_int64(get(root, "syscalls.1.timed")), 12500);
	CHECK_EQ(json_object_get_int64(get(root, "syscalls.1.nr")), 110);
	CHECK_EQ(json_object_get_int(get(root, "threads.0.tid")), 4243);
	CHECK_STREQ(json_object_get_string(get(root, "threads.0.name")), "worker");
	CHECK_EQ(json_object_get_int64(get(root, "threads.0.oncpu_ns")), 1500000000);
	CHECK_EQ(json_object_get_int64(get(root, "threads.0.invol_switches")), 3);
	CHECK(json_object_get_boolean(get(root, "threads.0.exited")));
	CHECK_EQ(json_object_get_int64(get(root, "runq_hist.12")), 4);
	CHECK_EQ(json_object_get_int64(get(root, "lost_events")), 3);
	CHECK_EQ(json_object_get_int(get(root, "exit_status")), 0);
	json_object_put(root);
	free(buf);
	report__free(r);
}

/* The report's processes as render_json adds them (the last key), from its text, onto the model's tree. */
static void with_processes(json_object *root, const char *text)
{
	json_object *got = json_tokener_parse(text), *procs = NULL;

	CHECK(got && json_object_object_get_ex(got, "processes", &procs));
	json_object_object_add(root, "processes", json_object_get(procs));
	json_object_put(got);
}

/* render_json prints the thread rows one at a time: the same text as json-c's of the whole tree. */
static void test_json_text(void)
{
	struct rtp_report *r = sample_report();
	char *buf = NULL, *want;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_object *root;

	/* two rows: the separator between them too */
	r->threads = realloc(r->threads, 2 * sizeof(*r->threads));
	r->threads[1] = r->threads[0];
	r->threads[1].tid = 4244;
	r->n_threads = 2;
	root = report__json(r);
	CHECK_EQ(render_json(f, r), 0);
	fclose(f);
	with_processes(root, buf);
	if (asprintf(&want, "%s\n",
		     json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)) < 0)
		want = NULL;
	CHECK_STREQ(buf, want);
	/* its two threads are one process's */
	CHECK_EQ(json_object_array_length(get(root, "processes")), 1);
	CHECK_EQ(json_object_get_int(get(root, "processes.0.threads")), 2);
	CHECK_EQ(json_object_get_int64(get(root, "processes.0.oncpu_ns")), 2 * 1500000000ll);
	free(want);
	free(buf);
	json_object_put(root);
	r->n_threads = 0; /* an empty array */
	buf = NULL;
	f = open_memstream(&buf, &len);
	root = report__json(r);
	CHECK_EQ(render_json(f, r), 0);
	fclose(f);
	with_processes(root, buf);
	if (asprintf(&want, "%s\n",
		     json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)) < 0)
		want = NULL;
	CHECK_STREQ(buf, want);
	free(want);
	free(buf);
	json_object_put(root);
	report__free(r);
}

static void test_text(void)
{
	struct rtp_report *r = sample_report();
	struct render_opts ro = { .top_syscalls = 1 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	render_text(f, r, &ro);
	fclose(f);
	CHECK(strstr(buf, "python3 (pid 4242)  python 3.11.2") != NULL);
	CHECK(strstr(buf, "2.000       204800      1.750   88% 0%") != NULL);
	CHECK(strstr(buf, "Syscalls (1 of 2, by total time; waits apart below)") != NULL);
	CHECK(strstr(buf, "ENOENT 50000") != NULL);
	CHECK(strstr(buf, "getppid") == NULL); /* cut by --top 1 */
	CHECK(strstr(buf, "worker") != NULL);
	CHECK(strstr(buf, "lost events: 3") != NULL);
	free(buf);
	report__free(r);
}

static void test_fmt_ns(void)
{
	char b[24];

	CHECK_STREQ(fmt_ns(b, sizeof(b), 999), "999 ns");
	CHECK_STREQ(fmt_ns(b, sizeof(b), 1500), "1.50 us");
	CHECK_STREQ(fmt_ns(b, sizeof(b), 2500000), "2.50 ms");
	CHECK_STREQ(fmt_ns(b, sizeof(b), 3000000000ull), "3.000 s");
}

static void test_subtract(void)
{
	struct rtp_report *then = sample_report(), *now = sample_report(), *d = NULL;

	/* between the two: 1 s more, 1000 more getppid calls, 0.5 s more on CPU, 2 more switches */
	now->duration_ns += 1000000000ull;
	now->syscalls[1].count += 1000;
	now->syscalls[1].timed += 1000;
	now->syscalls[1].total_ns += 100000;
	now->syscalls[1].hist[6] += 1000;
	now->threads[0].oncpu_ns += 500000000ull;
	now->threads[0].vol_switches += 2;
	now->process.cpu_load_pct[0] = 100.0 * (0.875 * 2.0 + 0.5) / 3.0; /* 1.75 s busy, then 0.5 s more */
	CHECK_EQ(report__subtract(now, then, &d), 0);
	CHECK_EQ(d->duration_ns, 1000000000ull);
	CHECK_EQ(d->n_syscalls, 1); /* newfstatat made no call in between */
	CHECK_STREQ(d->syscalls[0].name, "getppid");
	CHECK_EQ(d->syscalls[0].count, 1000);
	CHECK_EQ(d->syscalls[0].total_ns, 100000);
	CHECK_EQ(d->syscalls[0].hist[6], 1000);
	CHECK(d->syscalls[0].p50_ns >= 64 && d->syscalls[0].p50_ns < 128);
	CHECK_EQ(d->threads[0].oncpu_ns, 500000000ull);
	CHECK_EQ(d->threads[0].vol_switches, 2);
	CHECK(d->process.cpu_load_pct[0] > 49.9 && d->process.cpu_load_pct[0] < 50.1);
	CHECK_EQ(d->lost_events, 0);
	report__free(d);
	report__free(now);
	report__free(then);
}

static void test_utf8(void)
{
	char out[64];

	CHECK_EQ(utf8_sanitize("python3", out, sizeof(out)), 7);
	CHECK_STREQ(out, "python3");
	utf8_sanitize("caf\xc3\xa9 \xe2\x82\xac", out, sizeof(out)); /* valid 2- and 3-byte sequences stay */
	CHECK_STREQ(out, "caf\xc3\xa9 \xe2\x82\xac");
	utf8_sanitize("a\xff" "b", out, sizeof(out));
	CHECK_STREQ(out, "a\xef\xbf\xbd" "b");
	utf8_sanitize("\xc3", out, sizeof(out)); /* cut sequence */
	CHECK_STREQ(out, "\xef\xbf\xbd");
	utf8_sanitize("\xc0\xaf", out, sizeof(out)); /* overlong */
	CHECK_STREQ(out, "\xef\xbf\xbd\xef\xbf\xbd");
	utf8_sanitize("\xed\xa0\x80", out, sizeof(out)); /* a UTF-16 surrogate */
	CHECK(strncmp(out, "\xef\xbf\xbd", 3) == 0);
	CHECK_EQ(utf8_sanitize("abcdef", out, 4), 3); /* truncated, terminated */
	CHECK_STREQ(out, "abc");
}

/* A report read back from its JSON renders the same JSON again, runtime metrics included. */
static void test_json_roundtrip(void)
{
	struct rtp_report *r = sample_report(), *back = NULL;
	struct rtp_report_runtime *py, *node;
	json_object *j1, *j2;

	r->n_runtimes = 2;
	r->runtimes = calloc(2, sizeof(*r->runtimes));
	py = &r->runtimes[0];
	node = &r->runtimes[1];
	py->pid = 4242;
	py->kind = RTP_RUNTIME_PYTHON;
	strcpy(py->gil_method, "futex");
	py->gil_wait_hist[5] = 2;
	py->gil_threads = calloc(1, sizeof(*py->gil_threads));
	report__gil_thread_add(py, 4243, "worker", 300, 700, 2, 0, 1000);
	py->n_gc_kinds = 3;
	py->gc[2] = (struct rtp_report_rt_stat){ .count = 2, .total_ns = 90, .max_ns = 60 };
	node->pid = 4300;
	node->kind = RTP_RUNTIME_NODE;
	strcpy(node->loop_unavailable, "no epoll here");
	node->loop_busy_ns = 10;
	node->tp_no_queue = true;
	node->tp_run_ns = 55;
	node->tp_kind[2] = 4;
	node->isolates = calloc(2, sizeof(*node->isolates));
	{
		struct rtp_report_thread w = { .tid = 4301, .name = "node", .loop_busy_ns = 30, .loop_idle_ns = 10,
					       .loop_iters = 3, .gc_count = 2, .gc_ns = 7, .gc_max_ns = 5 };
		struct rtp_report_thread idle = { .tid = 4302, .loop_idle_ns = 99 }; /* no iteration, no GC */

		report__isolate_add(node, &w);
		report__isolate_add(node, &idle);
	}
	r->syscalls[0].trace_lost = 7;
	strcpy(r->targets[0].runtime.lib, "/usr/lib/libpython3.11.so.1.0");
	strcpy(r->warning, "the trace was cut");
	r->wrapper = (struct rtp_report_wrapper){ .helpers = 40, .names = "bash x34, readlink x5, basename",
						  .start_ns = 78860000 };
	j1 = report__json(r);
	CHECK_EQ(report__from_json(j1, &back), 0);
	CHECK_EQ(back ? back->wrapper.helpers : 0, 40);
	CHECK_STREQ(back ? back->wrapper.names : "", "bash x34, readlink x5, basename");
	j2 = report__json(back);
	CHECK_STREQ(json_object_to_json_string(j2), json_object_to_json_string(j1));
	CHECK(back->runtimes[1].tp_no_queue);
	CHECK_EQ(back->runtimes[1].n_isolates, 1);
	CHECK_EQ(back->runtimes[1].n_isolates ? back->runtimes[1].isolates[0].gc_count : 0, 2);
	CHECK_EQ(back->runtimes[1].n_isolates ? back->runtimes[1].isolates[0].loop_busy_ns : 0, 30);
	CHECK_EQ(back->runtimes[0].n_gc_kinds, 3);
	CHECK_EQ(back->syscalls[0].errnos[0].err, ENOENT);
	json_object_put(j1);
	json_object_put(j2);
	report__free(back);
	report__free(r);
}

/* errno names: the C library's, the kernel's own codes (a restarted syscall's ERESTARTSYS), else E<n>;
 * each read back to its number, through a report's JSON too. */
static void test_errno_names(void)
{
	static const struct { int err; const char *name; } names[] = {
		{ ENOENT, "ENOENT" }, { EAGAIN, "EAGAIN" }, { 512, "ERESTARTSYS" }, { 514, "ERESTARTNOHAND" },
		{ 516, "ERESTART_RESTARTBLOCK" }, { 520, "E520" }, { 531, "ENOGRACE" }, { 4095, "E4095" },
	};
	struct rtp_report *r = sample_report(), *back = NULL;
	json_object *j;
	char buf[16];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		CHECK_STREQ(report__errno_name(names[i].err, buf, sizeof(buf)), names[i].name);
		CHECK_EQ(report__errno_from_name(names[i].name), names[i].err);
	}
	CHECK_EQ(report__errno_from_name("ENOSUCHNAME"), 0);
	r->syscalls[0].errnos[0].err = 512;
	j = report__json(r);
	CHECK_EQ(json_object_get_int64(get(j, "syscalls.0.errnos.ERESTARTSYS")), 50000);
	CHECK_EQ(report__from_json(j, &back), 0);
	CHECK_EQ(back ? back->syscalls[0].errnos[0].err : 0, 512);
	json_object_put(j);
	report__free(back);
	report__free(r);
}

/* A syscall's failures by path: in the JSON (a byte that is not UTF-8 as U+FFFD), read back, and subtracted
 * path by path for a window. */
static void test_err_paths(void)
{
	struct rtp_report *then = sample_report(), *now = sample_report(), *back = NULL, *d = NULL;
	json_object *j;

	for (int k = 0; k < 2; k++) {
		struct rtp_report *r = k ? now : then;
		struct rtp_report_syscall *s = &r->syscalls[0];

		s->n_err_paths = 2;
		s->err_paths = calloc(2, sizeof(*s->err_paths));
		s->err_paths[0] = (struct rtp_report_err_path){ .err = ENOENT, .count = k ? 45000 : 30000 };
		strcpy(s->err_paths[0].path, "/etc/missing.conf");
		s->err_paths[1] = (struct rtp_report_err_path){ .err = EACCES, .count = 5000 };
		strcpy(s->err_paths[1].path, "/srv/caf\xff");
	}
	now->syscalls[0].count += 15000;
	now->syscalls[0].errors += 15000;
	j = report__json(now);
	CHECK_STREQ(json_object_get_string(get(j, "syscalls.0.error_paths.0.path")), "/etc/missing.conf");
	CHECK_STREQ(json_object_get_string(get(j, "syscalls.0.error_paths.0.errno")), "ENOENT");
	CHECK_EQ(json_object_get_int64(get(j, "syscalls.0.error_paths.0.count")), 45000);
	CHECK_STREQ(json_object_get_string(get(j, "syscalls.0.error_paths.1.path")), "/srv/caf\xef\xbf\xbd");
	CHECK(get(j, "syscalls.1.error_paths") == NULL); /* getppid takes no path */
	CHECK_EQ(report__from_json(j, &back), 0);
	CHECK_EQ(back ? back->syscalls[0].n_err_paths : 0, 2);
	CHECK_EQ(back ? back->syscalls[0].err_paths[1].err : 0, EACCES);
	CHECK_EQ(back ? back->syscalls[0].err_paths[0].count : 0, 45000);
	/* a window: the new failures only, a path with none left out */
	CHECK_EQ(report__subtract(now, then, &d), 0);
	CHECK_EQ(d ? d->syscalls[0].n_err_paths : 0, 1);
	CHECK_STREQ(d ? d->syscalls[0].err_paths[0].path : "", "/etc/missing.conf");
	CHECK_EQ(d ? d->syscalls[0].err_paths[0].count : 0, 15000);
	json_object_put(j);
	report__free(back);
	report__free(d);
	report__free(now);
	report__free(then);
}

/* Every field of the tables has the size its kind reads and writes. */
static void check_table(const struct rtp_fields *t)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct rtp_field *f = &t->f[i];

		CHECK(f->key != NULL);
		switch (f->kind) {
		case RTP_FIELD_U64:
			CHECK_EQ(f->size, sizeof(uint64_t));
			break;
		case RTP_FIELD_INT:
		case RTP_FIELD_UINT:
			CHECK_EQ(f->size, sizeof(int));
			break;
		case RTP_FIELD_LONG:
			CHECK_EQ(f->size, sizeof(long));
			break;
		case RTP_FIELD_DOUBLE:
			CHECK_EQ(f->size, sizeof(double));
			break;
		case RTP_FIELD_BOOL:
			CHECK_EQ(f->size, sizeof(bool));
			break;
		case RTP_FIELD_HIST:
			CHECK_EQ(f->size, RTP_HIST_SLOTS * sizeof(uint64_t));
			break;
		case RTP_FIELD_STRING:
		case RTP_FIELD_TEXT:
		case RTP_FIELD_METHOD:
			CHECK(f->size > 1);
			break;
		case RTP_FIELD_OBJECT:
		case RTP_FIELD_ROWS:
			CHECK(f->sub != NULL);
			check_table(f->sub);
			break;
		case RTP_FIELD_CODE:
			CHECK(f->to_json != NULL);
			break;
		}
		if (f->metric)
			CHECK(f->kind == RTP_FIELD_U64 && f->help != NULL);
	}
}

static void test_field_tables(void)
{
	check_table(&report_fields);
}

/* A CPU row of samples on the stack <module> -> f (at line), in its own function table. */
static void add_cpu_row(struct rtp_profiles *p, pid_t tid, int line, uint64_t samples)
{
	struct rtp_prof_row row = { .pid = 10, .tid = tid, .kind = RTP_PROF_CPU, .samples = samples, .ns = samples * 10 };
	struct rtp_prof_frame fr[2] = {
		{ .func = (uint32_t)profiles__func(p, "<module>", "app.py", 1), .line = 9 },
		{ .func = (uint32_t)profiles__func(p, "f", "app.py", 3), .line = line },
	};

	CHECK_EQ(profiles__add(p, &row, fr, 2), 0);
}

static uint64_t samples_of(const struct rtp_profiles *p, pid_t tid, int line)
{
	uint64_t n = 0;

	for (size_t i = 0; i < p->n_rows; i++)
		if (p->rows[i].tid == tid && p->rows[i].n == 2 && p->frames[p->rows[i].first + 1].line == line)
			n += p->rows[i].samples;
	return n;
}

/* profiles__since: what a later profile holds beyond an earlier one, row by row, matched by names and
 * lines, whatever the function tables' order; rows of one key on either side (two instructions on a line). */
static void test_profiles_since(void)
{
	struct rtp_profiles *then = profiles__new(99), *cur = profiles__new(99), *d;

	add_cpu_row(then, 11, 4, 8);
	add_cpu_row(then, 11, 4, 3); /* the same key again */
	add_cpu_row(then, 12, 5, 7);
	profiles__finish(then);
	(void)profiles__func(cur, "g", "other.py", 1); /* another function order */
	add_cpu_row(cur, 12, 5, 7);  /* nothing new */
	add_cpu_row(cur, 11, 4, 10);
	add_cpu_row(cur, 11, 4, 5);
	add_cpu_row(cur, 11, 6, 2);  /* a new line */
	profiles__finish(cur);
	d = profiles__since(cur, then);
	CHECK(d != NULL);
	CHECK_EQ(samples_of(d, 11, 4), 4); /* 15 - 11 */
	CHECK_EQ(samples_of(d, 11, 6), 2);
	CHECK_EQ(samples_of(d, 12, 5), 0);
	CHECK_EQ(d->n_rows, 2);             /* a row with nothing new is left out */
	CHECK_EQ(d->sample_hz, 99);
	profiles__free(d);
	d = profiles__since(cur, NULL);     /* since nothing: all of it */
	CHECK_EQ(samples_of(d, 11, 4), 15);
	profiles__free(d);
	profiles__free(then);
	profiles__free(cur);
}

/* A loop block with its samples: stacks tick -> compute -> <native: node> and tick -> <native: node>. */
static void add_block(struct rtp_profiles *p, uint64_t start, uint64_t in_compute, uint64_t native)
{
	struct rtp_prof_block b = { .pid = 10, .tid = 10, .start_ns = start, .dur_ns = 80000000, .longest = true,
				    .samples = in_compute + native };
	int64_t i = profiles__block(p, &b);
	struct rtp_prof_row row = { .pid = 10, .tid = 10, .kind = RTP_PROF_LOOP, .arg = (unsigned int)i };
	struct rtp_prof_frame fr[3] = {
		{ .func = (uint32_t)profiles__func(p, "tick", "app.js", 1), .line = 1 },
		{ .func = (uint32_t)profiles__func(p, "compute", "app.js", 7), .line = 7 },
		{ .func = (uint32_t)profiles__func(p, "<native: node>", "", 0) },
	};

	CHECK(i >= 0);
	row.samples = in_compute;
	CHECK_EQ(profiles__add(p, &row, fr, 3), 0);
	row.samples = native;
	fr[1] = fr[2];
	CHECK_EQ(profiles__add(p, &row, fr, 2), 0);
}

/* Loop blocks: what blocked the loop (profiles__block_blame), and the blocks through the report's JSON, the
 * trace's form and profiles__since (a block in both is not new; its rows go with it). */
static void test_loop_blocks(void)
{
	struct rtp_profiles *p = profiles__new(99), *back, *d;
	struct rtp_prof_blame bl;
	json_object *o;
	int err;

	p->loop_threshold_ns = 50000000;
	add_block(p, 1000, 7, 2);
	add_block(p, 5000, 1, 3);
	profiles__finish(p);
	profiles__block_blame(p, 0, &bl);
	CHECK(bl.row != NULL);
	CHECK_STREQ(p->funcs[bl.func].name, "compute");
	CHECK_EQ(bl.samples, 7);
	CHECK_EQ(bl.kept, 9);
	CHECK_EQ(bl.depth, 1);
	CHECK_EQ(bl.line, 7);
	profiles__block_blame(p, 1, &bl); /* most samples in native code called by tick itself: tick */
	CHECK_STREQ(p->funcs[bl.func].name, "tick");
	CHECK_EQ(bl.samples, 3);
	CHECK_EQ(bl.depth, 0);
	profiles__block_blame(p, 2, &bl);
	CHECK(bl.row == NULL && bl.func == -1);
	for (int form = 0; form < 2; form++) {
		o = form ? profiles__trace_json(p) : profiles__json(p);
		back = form ? profiles__from_trace_json(o, &err) : profiles__from_json(o, &err);
		json_object_put(o);
		CHECK(back != NULL);
		if (!back)
			continue;
		CHECK_EQ(back->n_blocks, 2);
		CHECK_EQ(back->loop_threshold_ns, 50000000);
		CHECK_EQ(back->blocks[1].start_ns, 5000);
		CHECK_EQ(back->blocks[1].samples, 4);
		CHECK(back->blocks[0].longest);
		profiles__block_blame(back, 0, &bl);
		CHECK(bl.row && !strcmp(back->funcs[bl.func].name, "compute") && bl.samples == 7);
		profiles__free(back);
	}
	/* a row naming a block past the table is dropped */
	o = json_tokener_parse("{\"loop_blocks\":[],\"loop\":[{\"pid\":1,\"tid\":1,\"block\":0,\"samples\":3,"
			       "\"stack\":[{\"function\":\"f\",\"file\":\"a.js\"}]}]}");
	back = profiles__from_json(o, &err);
	json_object_put(o);
	CHECK(back && back->n_rows == 0);
	profiles__free(back);
	/* since an earlier report that had the first block: the second only, renumbered */
	back = profiles__new(99);
	add_block(back, 1000, 7, 2);
	profiles__finish(back);
	d = profiles__since(p, back);
	CHECK(d != NULL);
	if (d) {
		CHECK_EQ(d->n_blocks, 1);
		CHECK_EQ(d->blocks[0].start_ns, 5000);
		CHECK_EQ(d->n_rows, 2);
		for (size_t i = 0; i < d->n_rows; i++)
			CHECK_EQ(d->rows[i].arg, 0);
	}
	profiles__free(d);
	profiles__free(back);
	profiles__free(p);
}

int main(void)
{
	test_loop_blocks();
	test_profiles_since();
	test_utf8();
	test_subtract();
	test_percentile();
	test_json();
	test_json_roundtrip();
	test_errno_names();
	test_err_paths();
	test_json_text();
	test_field_tables();
	test_text();
	test_fmt_ns();
	report__free(NULL);
	return check_summary();
}
