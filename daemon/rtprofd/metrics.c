// SPDX-License-Identifier: LGPL-2.1-or-later
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <microhttpd.h>

#include "base/clock.h"
#include "base/text.h"
#include "base/vec.h"
#include "model/report_fields.h"
#include "rtprofd/metrics.h"
#include "sys/procfs.h"

/* Connections at once, from one address, and how long one may last from its accept, whatever it sends:
 * libmicrohttpd's own timeout restarts on every byte, so that a client sending one a second held its
 * connection for ever, and 16 of them held /metrics down. */
#define METRICS_MAX_CONNECTIONS 16u
#define METRICS_PER_ADDRESS 4u
#define METRICS_DEADLINE_NS (3ull * 1000000000)

struct metrics_conn {
	struct MHD_Connection *conn; /* NULL: a free entry */
	int fd;
	uint64_t accepted_ns;
	bool cut;
};

struct metrics {
	struct MHD_Daemon *d;
	struct server *srv;
	struct engine *e;
	struct metrics_conn conns[METRICS_MAX_CONNECTIONS];
	uint64_t cut;
};

struct text {
	char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->oom)
		return;
	for (;;) {
		size_t room = t->cap - t->len;

		va_start(ap, fmt);
		n = vsnprintf(t->p ? t->p + t->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->oom = true;
			return;
		}
		if ((size_t)n < room) {
			t->len += (size_t)n;
			return;
		}
		if (vec__reserve(&t->p, &t->cap, t->len + (size_t)n + 1)) {
			t->oom = true;
			return;
		}
	}
}

/* A label value as the exposition format wants it: UTF-8, with \\, \" and \n escaped. */
static const char *esc(const char *raw, char *buf, size_t size)
{
	char utf8[256];
	const char *s = utf8;
	size_t o = 0;

	utf8_sanitize(raw, utf8, sizeof(utf8));
	for (; *s && o + 2 < size; s++) {
		if (*s == '\\' || *s == '"' || *s == '\n') {
			buf[o++] = '\\';
			buf[o++] = *s == '\n' ? 'n' : *s;
		} else {
			buf[o++] = *s;
		}
	}
	buf[o] = '\0';
	return buf;
}

struct sess_report {
	unsigned long id;
	bool watched;
	struct rtp_report *rep;
};

struct collect {
	struct engine *e;
	struct sess_report *v;
	size_t n;
};

static void collect_one(void *ctx, unsigned long id, int slot, uid_t owner, bool watched)
{
	struct collect *c = ctx;
	struct rtp_report *rep = NULL;

	(void)owner;
	if (engine__session_report(c->e, slot, "attach", &rep) == 0)
		c->v[c->n++] = (struct sess_report){ .id = id, .watched = watched, .rep = rep };
}

/* The labels naming a process of a session (its target entry; the main process's when pid is not one). */
static void proc_labels_of(const struct sess_report *s, pid_t pid, char *out, size_t size)
{
	const struct rtp_report_target *t = s->rep->n_targets ? &s->rep->targets[0] : NULL;
	char comm[64];

	for (size_t i = 0; i < s->rep->n_targets; i++)
		if (s->rep->targets[i].pid == pid)
			t = &s->rep->targets[i];
	snprintf(out, size, "session=\"%lu\",pid=\"%d\",comm=\"%s\",runtime=\"%s\"", s->id, t ? t->pid : 0,
		 esc(t ? t->comm : "", comm, sizeof(comm)), runtime__kind_name(t ? t->runtime.kind : RTP_RUNTIME_OTHER));
}

/* The labels naming a session's main process. */
static void proc_labels(const struct sess_report *s, char *out, size_t size)
{
	proc_labels_of(s, s->rep->n_targets ? s->rep->targets[0].pid : 0, out, size);
}

/* The histogram's buckets: log2 slots from 2^10 ns (1.024 us) in steps of 4, up to 2^34 ns (17 s); the
 * faster calls are in the first (buckets are cumulative): a scrape's size, not sub-microsecond detail. */
#define METRICS_BUCKET_FIRST 9 /* slot h holds latencies up to 2^(h+1) ns */
#define METRICS_BUCKET_STEP 2
#define METRICS_BUCKET_LAST 33

/* One family of per-process series from the runtime rows: a value of a runtime row, or none (the row has
 * no such figure). */
struct rt_family {
	const char *name, *help, *type;
	bool seconds;
	bool (*value)(const struct rtp_report_runtime *r, unsigned int k, uint64_t *v); /* k: the kind's index */
	unsigned int kinds; /* 0: no kind label */
	const char *(*kind_name)(const struct rtp_report_runtime *r, unsigned int k);
};

static const char *gc_kind(const struct rtp_report_runtime *r, unsigned int k)
{
	return report__gc_kind_name(r->kind, k);
}

static const char *tp_kind(const struct rtp_report_runtime *r, unsigned int k)
{
	(void)r;
	return report__tp_kind_name(k);
}

static bool gil_on(const struct rtp_report_runtime *r)
{
	return r->kind == RTP_RUNTIME_PYTHON && r->gil_method[0];
}

static bool loop_on(const struct rtp_report_runtime *r)
{
	return r->kind == RTP_RUNTIME_NODE && r->loop_method[0];
}

static bool tp_on(const struct rtp_report_runtime *r)
{
	return r->kind == RTP_RUNTIME_NODE && r->tp_method[0];
}

static bool gc_on(const struct rtp_report_runtime *r, unsigned int k)
{
	return r->gc_method[0] && k < r->n_gc_kinds && k < RTP_RT_GC_KINDS;
}

#define RT_VALUE(fn, cond, expr)                                                                                  \
	static bool fn(const struct rtp_report_runtime *r, unsigned int k, uint64_t *v)                          \
	{                                                                                                          \
		(void)k;                                                                                           \
		if (!(cond))                                                                                       \
			return false;                                                                              \
		*v = (expr);                                                                                       \
		return true;                                                                                       \
	}
RT_VALUE(v_gil_wait, gil_on(r), r->gil_wait_ns)
RT_VALUE(v_gil_waits, gil_on(r), r->gil_waits)
RT_VALUE(v_gil_hold, gil_on(r), r->gil_hold_ns)
RT_VALUE(v_gc_count, gc_on(r, k), r->gc[k].count)
RT_VALUE(v_gc_time, gc_on(r, k), r->gc[k].total_ns)
RT_VALUE(v_loop_busy, loop_on(r), r->loop_busy_ns)
RT_VALUE(v_loop_idle, loop_on(r), r->loop_idle_ns)
RT_VALUE(v_loop_iters, loop_on(r), r->loop_iters)
RT_VALUE(v_tp_tasks, tp_on(r) && k < RTP_TP_KINDS, r->tp_kind[k])
RT_VALUE(v_tp_run, tp_on(r), r->tp_run_ns)
RT_VALUE(v_tp_queue, tp_on(r) && !r->tp_no_queue, r->tp_queue_ns)

static const struct rt_family rt_families[] = {
	{ "rtprof_gil_wait_seconds_total", "Time the process's threads waited for the GIL.", "counter", true, v_gil_wait },
	{ "rtprof_gil_waits_total", "Waits for the GIL.", "counter", false, v_gil_waits },
	{ "rtprof_gil_hold_seconds_total", "Time the process's threads held the GIL (futex method: their CPU time "
	  "outside the waits).", "counter", true, v_gil_hold },
	{ "rtprof_gc_collections_total", "Collections of the runtime, by generation (python) or collector (node).",
	  "counter", false, v_gc_count, RTP_RT_GC_KINDS, gc_kind },
	{ "rtprof_gc_seconds_total", "Time in collections, by generation or collector.", "counter", true, v_gc_time,
	  RTP_RT_GC_KINDS, gc_kind },
	{ "rtprof_event_loop_busy_seconds_total", "Time node's main event loop ran callbacks (between epoll waits).",
	  "counter", true, v_loop_busy },
	{ "rtprof_event_loop_idle_seconds_total", "Time node's main event loop waited in epoll.", "counter", true,
	  v_loop_idle },
	{ "rtprof_event_loop_iterations_total", "Iterations of node's main event loop.", "counter", false, v_loop_iters },
	{ "rtprof_threadpool_tasks_total", "libuv threadpool tasks started, by kind.", "counter", false, v_tp_tasks,
	  RTP_TP_KINDS, tp_kind },
	{ "rtprof_threadpool_run_seconds_total", "Time libuv threadpool tasks ran.", "counter", true, v_tp_run },
	{ "rtprof_threadpool_queue_wait_seconds_total", "Time libuv threadpool tasks waited for a worker.", "counter",
	  true, v_tp_queue },
};

static void put_value(struct text *t, uint64_t v, bool seconds)
{
	if (seconds)
		put(t, "%.9f\n", (double)v / 1e9);
	else
		put(t, "%llu\n", (unsigned long long)v);
}

/* The runtime rows' series, a family at a time (the exposition format wants each family's lines together). */
static void render_runtimes(struct text *t, const struct collect *c)
{
	char labels[256], kind[32];

	for (size_t f = 0; f < sizeof(rt_families) / sizeof(rt_families[0]); f++) {
		const struct rt_family *fam = &rt_families[f];
		bool head = false;

		for (size_t i = 0; i < c->n; i++) {
			const struct rtp_report *rep = c->v[i].rep;

			for (size_t j = 0; j < rep->n_runtimes; j++) {
				const struct rtp_report_runtime *r = &rep->runtimes[j];

				for (unsigned int k = 0; k < (fam->kinds ? fam->kinds : 1); k++) {
					uint64_t v;

					if (!fam->value(r, k, &v))
						continue;
					if (!head) {
						put(t, "# HELP %s %s\n# TYPE %s %s\n", fam->name, fam->help, fam->name, fam->type);
						head = true;
					}
					proc_labels_of(&c->v[i], r->pid, labels, sizeof(labels));
					if (fam->kinds)
						put(t, "%s{%s,kind=\"%s\"} ", fam->name, labels,
						    esc(fam->kind_name(r, k), kind, sizeof(kind)));
					else
						put(t, "%s{%s} ", fam->name, labels);
					put_value(t, v, fam->seconds);
				}
			}
		}
	}
}

static int by_process(const void *a, const void *b)
{
	const struct rtp_report_thread *x = a, *y = b;

	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

/* The report's threads by process, then tid (the report is this scrape's own copy). */
static void sort_threads_by_process(struct rtp_report *rep)
{
	if (rep->n_threads > 1)
		qsort(rep->threads, rep->n_threads, sizeof(*rep->threads), by_process);
}

/* A thread field's per-process name: rtprof_thread_X -> rtprof_process_X. */
static const char *process_metric(const char *thread_metric, char *buf, size_t size)
{
	const char *prefix = "rtprof_thread_";

	if (strncmp(thread_metric, prefix, strlen(prefix)))
		return thread_metric;
	snprintf(buf, size, "rtprof_process_%s", thread_metric + strlen(prefix));
	return buf;
}

/* The histogram holds the timed calls: its sum is their measured total, not the estimate. */
static uint64_t measured_ns(const struct rtp_report_syscall *sc)
{
	return sc->timed < sc->count && sc->count
		       ? (uint64_t)((double)sc->total_ns * (double)sc->timed / (double)sc->count)
		       : sc->total_ns;
}

/* One histogram series of a syscall row's log2 histogram: the buckets of METRICS_BUCKET_*, +Inf, sum
 * (total_ns) and count. */
static void put_histogram(struct text *t, const char *family, const char *labels, const struct rtp_report_syscall *sc)
{
	uint64_t cum = 0;
	int h = 0;

	for (int b = METRICS_BUCKET_FIRST; b <= METRICS_BUCKET_LAST; b += METRICS_BUCKET_STEP) {
		for (; h <= b; h++)
			cum += sc->hist[h];
		put(t, "%s_bucket{%s,le=\"%.9g\"} %llu\n", family, labels, ldexp(1.0, b + 1) / 1e9, (unsigned long long)cum);
	}
	for (; h < RTP_HIST_SLOTS; h++)
		cum += sc->hist[h];
	put(t, "%s_bucket{%s,le=\"+Inf\"} %llu\n", family, labels, (unsigned long long)cum);
	put(t, "%s_sum{%s} %.9f\n", family, labels, (double)sc->total_ns / 1e9);
	put(t, "%s_count{%s} %llu\n", family, labels, (unsigned long long)cum);
}

char *metrics__render(struct server *srv, struct engine *e, bool per_thread, bool per_syscall, size_t *len)
{
	struct collect c = { .e = e, .v = calloc(server__limits(srv)->sessions, sizeof(*c.v)) };
	struct server_stats st;
	struct text t = {};
	struct rusage ru;
	struct proc_status ps = { .vm_rss_kb = -1 };
	uint64_t lost = 0;
	char labels[256], name[64], metric[96];

	if (!c.v)
		return NULL;
	server__foreach_session(srv, collect_one, &c);

	/* the syscall counters of the field table (count, errors; no error series until there is an error) */
	for (size_t m = 0; m < report_syscall_fields.n; m++) {
		const struct rtp_field *f = &report_syscall_fields.f[m];

		if (!f->metric)
			continue;
		put(&t, "# HELP %s %s\n# TYPE %s counter\n", f->metric, f->help, f->metric);
		for (size_t i = 0; i < c.n; i++) {
			proc_labels(&c.v[i], labels, sizeof(labels));
			for (size_t k = 0; k < c.v[i].rep->n_syscalls; k++) {
				uint64_t v = fields__u64(f, &c.v[i].rep->syscalls[k]);

				if (v || !strstr(f->metric, "_errors_"))
					put(&t, "%s{%s,syscall=\"%s\"} %llu\n", f->metric, labels,
					    esc(c.v[i].rep->syscalls[k].name, name, sizeof(name)), (unsigned long long)v);
			}
		}
	}
	put(&t, "# HELP rtprof_syscall_seconds_total Time in syscalls (estimated where bursts were sampled).\n"
		"# TYPE rtprof_syscall_seconds_total counter\n");
	for (size_t i = 0; i < c.n; i++) {
		proc_labels(&c.v[i], labels, sizeof(labels));
		for (size_t k = 0; k < c.v[i].rep->n_syscalls; k++)
			put(&t, "rtprof_syscall_seconds_total{%s,syscall=\"%s\"} %.9f\n", labels,
			    esc(c.v[i].rep->syscalls[k].name, name, sizeof(name)),
			    (double)c.v[i].rep->syscalls[k].total_ns / 1e9);
	}
	/* latency histograms: a process's syscalls together, its idle waits (epoll_wait, sleeps, accept...)
	 * left out; by syscall with ?syscalls=1 */
	put(&t, "# HELP rtprof_syscall_latency_seconds Latency of the timed syscalls of the process, its idle waits "
		"(for events, time, a connection, a child, a signal) left out.\n"
		"# TYPE rtprof_syscall_latency_seconds histogram\n");
	for (size_t i = 0; i < c.n; i++) {
		struct rtp_report_syscall all = { 0 };

		for (size_t k = 0; k < c.v[i].rep->n_syscalls; k++) {
			const struct rtp_report_syscall *sc = &c.v[i].rep->syscalls[k];

			if (report__syscall_idle(sc->name))
				continue;
			for (int h = 0; h < RTP_HIST_SLOTS; h++)
				all.hist[h] += sc->hist[h];
			all.total_ns += measured_ns(sc);
			all.count += sc->count;
			all.timed += sc->timed;
		}
		proc_labels(&c.v[i], labels, sizeof(labels));
		put_histogram(&t, "rtprof_syscall_latency_seconds", labels, &all);
	}
	if (per_syscall) {
		put(&t, "# HELP rtprof_syscall_latency_by_syscall_seconds Latency of the timed syscalls, by syscall.\n"
			"# TYPE rtprof_syscall_latency_by_syscall_seconds histogram\n");
		for (size_t i = 0; i < c.n; i++) {
			proc_labels(&c.v[i], labels, sizeof(labels));
			for (size_t k = 0; k < c.v[i].rep->n_syscalls; k++) {
				struct rtp_report_syscall one = c.v[i].rep->syscalls[k];
				char with[320];

				one.total_ns = measured_ns(&c.v[i].rep->syscalls[k]);
				snprintf(with, sizeof(with), "%s,syscall=\"%s\"", labels, esc(one.name, name, sizeof(name)));
				put_histogram(&t, "rtprof_syscall_latency_by_syscall_seconds", with, &one);
			}
		}
	}
	/* the thread counters of the field table, summed over each process's threads (per thread with
	 * ?threads=1): times in seconds */
	for (size_t i = 0; i < c.n; i++)
		sort_threads_by_process(c.v[i].rep);
	for (size_t m = 0; m < report_thread_fields.n; m++) {
		const struct rtp_field *f = &report_thread_fields.f[m];
		const char *pm;

		if (!f->metric)
			continue;
		pm = process_metric(f->metric, metric, sizeof(metric));
		put(&t, "# HELP %s %s (its threads together)\n# TYPE %s counter\n", pm, f->help, pm);
		for (size_t i = 0; i < c.n; i++) {
			const struct rtp_report *rep = c.v[i].rep;

			for (size_t k = 0; k < rep->n_threads;) {
				pid_t tgid = rep->threads[k].tgid;
				uint64_t v = 0;

				for (; k < rep->n_threads && rep->threads[k].tgid == tgid; k++)
					v += fields__u64(f, &rep->threads[k]);
				proc_labels_of(&c.v[i], tgid, labels, sizeof(labels));
				put(&t, "%s{%s} ", pm, labels);
				put_value(&t, v, f->flags & RTP_FIELD_NS);
			}
		}
	}
	for (size_t m = 0; per_thread && m < report_thread_fields.n; m++) {
		const struct rtp_field *f = &report_thread_fields.f[m];

		if (!f->metric)
			continue;
		put(&t, "# HELP %s %s\n# TYPE %s counter\n", f->metric, f->help, f->metric);
		for (size_t i = 0; i < c.n; i++) {
			for (size_t k = 0; k < c.v[i].rep->n_threads; k++) {
				const struct rtp_report_thread *th = &c.v[i].rep->threads[k];

				put(&t, "%s{session=\"%lu\",pid=\"%d\",tid=\"%d\",thread=\"%s\"} ", f->metric, c.v[i].id,
				    th->tgid, th->tid, esc(th->name, name, sizeof(name)));
				put_value(&t, fields__u64(f, th), f->flags & RTP_FIELD_NS);
			}
		}
	}
	render_runtimes(&t, &c);
	engine__trace_counts(e, &lost);
	server__stats(srv, &st);
	getrusage(RUSAGE_SELF, &ru);
	(void)procfs__read_status(getpid(), &ps);
	put(&t, "# HELP rtprof_lost_events_total Events the probes could not hand over (a full ring buffer).\n"
		"# TYPE rtprof_lost_events_total counter\nrtprof_lost_events_total %llu\n", (unsigned long long)lost);
	put(&t, "# HELP rtprof_sessions Sessions rtprofd runs.\n# TYPE rtprof_sessions gauge\nrtprof_sessions %u\n",
	    st.sessions);
	put(&t, "# HELP rtprof_watched_processes Processes watched (--watch).\n# TYPE rtprof_watched_processes gauge\n"
		"rtprof_watched_processes %u\n", st.watched);
	put(&t, "# HELP rtprof_daemon_cpu_seconds_total CPU time rtprofd used.\n# TYPE rtprof_daemon_cpu_seconds_total counter\n"
		"rtprof_daemon_cpu_seconds_total %.6f\n",
	    (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		    (double)ru.ru_stime.tv_usec / 1e6);
	put(&t, "# HELP rtprof_daemon_resident_memory_bytes rtprofd's resident memory.\n"
		"# TYPE rtprof_daemon_resident_memory_bytes gauge\nrtprof_daemon_resident_memory_bytes %lld\n",
	    ps.vm_rss_kb < 0 ? 0LL : (long long)ps.vm_rss_kb * 1024);
	for (size_t i = 0; i < c.n; i++)
		report__free(c.v[i].rep);
	free(c.v);
	if (t.oom) {
		free(t.p);
		return NULL;
	}
	*len = t.len;
	return t.p ? t.p : strdup("");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			      const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct metrics *m = cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	unsigned int code = MHD_HTTP_OK;
	size_t len = 0;
	char *body;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)con_cls;
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		static char text[] = "only GET\n";

		code = MHD_HTTP_METHOD_NOT_ALLOWED;
		body = text;
		len = sizeof(text) - 1;
		resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_PERSISTENT);
	} else if (strcmp(url, "/metrics")) {
		static char text[] = "rtprofd serves /metrics\n";

		code = MHD_HTTP_NOT_FOUND;
		resp = MHD_create_response_from_buffer(sizeof(text) - 1, text, MHD_RESPMEM_PERSISTENT);
	} else {
		const char *threads = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "threads");
		const char *syscalls = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "syscalls");

		server__refresh(m->srv);
		body = metrics__render(m->srv, m->e, threads && !strcmp(threads, "1"), syscalls && !strcmp(syscalls, "1"),
				       &len);
		if (!body)
			return MHD_NO;
		resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	}
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	ret = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct metrics *m = cls;
	const union MHD_ConnectionInfo *info;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		struct metrics_conn *mc = *socket_ctx;

		if (mc)
			mc->conn = NULL;
		return;
	}
	info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	for (unsigned int i = 0; i < METRICS_MAX_CONNECTIONS && info; i++) {
		struct metrics_conn *mc = &m->conns[i];

		if (!mc->conn) {
			*mc = (struct metrics_conn){ .conn = conn, .fd = info->connect_fd, .accepted_ns = clock__mono_ns() };
			*socket_ctx = mc;
			return;
		}
	}
}

/* Connections past their deadline: shut down, which libmicrohttpd sees as the client's end. */
static void cut_late(struct metrics *m)
{
	uint64_t now = clock__mono_ns();

	for (unsigned int i = 0; i < METRICS_MAX_CONNECTIONS; i++) {
		struct metrics_conn *mc = &m->conns[i];

		if (mc->conn && !mc->cut && now - mc->accepted_ns >= METRICS_DEADLINE_NS) {
			mc->cut = true;
			m->cut++;
			fprintf(stderr, "rtprofd: metrics: closed a connection still open %.0f s after it was accepted "
					"(%llu so far)\n", (double)METRICS_DEADLINE_NS / 1e9, (unsigned long long)m->cut);
			(void)shutdown(mc->fd, SHUT_RDWR);
		}
	}
}

int metrics__start(const char *spec, struct server *srv, struct engine *e, struct metrics **out, char *err,
		   size_t errlen)
{
	struct sockaddr_storage ss = {};
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	char host[64] = "127.0.0.1";
	const char *colon = strrchr(spec, ':'), *port_s = colon ? colon + 1 : spec;
	unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	struct metrics *m;
	char *end;
	long port;

	errno = 0;
	port = strtol(port_s, &end, 10);
	if (errno || *end || port <= 0 || port > 65535) {
		snprintf(err, errlen, "metrics: '%s' is not ADDR:PORT", spec);
		return -EINVAL;
	}
	if (colon && colon > spec) {
		size_t n = (size_t)(colon - spec);

		if (spec[0] == '[' && n > 2 && spec[n - 1] == ']')
			snprintf(host, sizeof(host), "%.*s", (int)(n - 2), spec + 1);
		else
			snprintf(host, sizeof(host), "%.*s", (int)n, spec);
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		flags |= MHD_USE_IPv6;
	} else {
		snprintf(err, errlen, "metrics: '%s' is not an IP address", host);
		return -EINVAL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->srv = srv;
	m->e = e;
	m->d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handle, m, MHD_OPTION_SOCK_ADDR, &ss,
				MHD_OPTION_CONNECTION_LIMIT, METRICS_MAX_CONNECTIONS,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, METRICS_PER_ADDRESS,
				MHD_OPTION_CONNECTION_TIMEOUT, 10u, /* idle; the deadline is shorter */
				MHD_OPTION_NOTIFY_CONNECTION, on_connection, m, MHD_OPTION_END);
	if (!m->d) {
		snprintf(err, errlen, "metrics: cannot listen on %s:%ld", host, port);
		free(m);
		return -EADDRINUSE;
	}
	*out = m;
	return 0;
}

int metrics__fd(const struct metrics *m)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_EPOLL_FD);

	return info ? info->epoll_fd : -1;
}

void metrics__run(struct metrics *m)
{
	(void)MHD_run(m->d);
	cut_late(m);
}

void metrics__tick(struct metrics *m)
{
	if (!m)
		return;
	cut_late(m);
	(void)MHD_run(m->d); /* what the cut closed, and libmicrohttpd's own timeouts */
}

int metrics__poll_ms(const struct metrics *m)
{
	for (unsigned int i = 0; m && i < METRICS_MAX_CONNECTIONS; i++)
		if (m->conns[i].conn && !m->conns[i].cut)
			return 100;
	return -1;
}

void metrics__stop(struct metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->d);
	free(m);
}
