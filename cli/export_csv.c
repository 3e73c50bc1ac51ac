// SPDX-License-Identifier: LGPL-2.1-or-later
/* `rtprof export --format csv`: one row per syscall and runtime interval, written as the trace is read,
 * then one per thread-state interval. Times are relative to the start of the trace. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"

struct csv {
	struct jsonw *w;
	uint64_t start_ns; /* the header's */
};

static void *csv_new(const struct export_opts *opts, struct jsonw *w, const struct trace_header *h)
{
	static const char columns[] = "kind,tid,start_ns,dur_ns,name,ret,state\n";
	struct csv *x = calloc(1, sizeof(*x));

	(void)opts;
	if (!x)
		return NULL;
	x->w = w;
	x->start_ns = h->start_ns;
	jsonw__raw(w, columns, strlen(columns));
	return x;
}

static void csv_free(void *state)
{
	free(state);
}

static int64_t rel_ns(const struct csv *x, uint64_t ts)
{
	return ts >= x->start_ns ? (int64_t)(ts - x->start_ns) : -(int64_t)(x->start_ns - ts);
}

static int csv_on_syscall(void *state, const struct rtp_tr_syscall *sys)
{
	struct csv *x = state;
	char buf[32];

	jsonw__rawf(x->w, "syscall,%u,%" PRId64 ",%" PRIu64 ",%s,%" PRId64 ",\n", sys->tid, rel_ns(x, sys->ts_ns),
		    (uint64_t)sys->dur_ns, export__syscall_name(sys->nr, buf, sizeof(buf)), (int64_t)sys->ret);
	return jsonw__err(x->w);
}

static int csv_on_runtime(void *state, const struct rtp_tr_runtime *rt)
{
	struct csv *x = state;
	char buf[32];

	jsonw__rawf(x->w, "runtime,%u,%" PRId64 ",%" PRIu64 ",%s,,\n", rt->tid, rel_ns(x, rt->ts_ns),
		    (uint64_t)rt->dur_ns, export__runtime_name(rt->kind, rt->arg, buf, sizeof(buf)));
	return jsonw__err(x->w);
}

static int csv_finish(void *state, const struct timeline *tl)
{
	struct csv *x = state;

	for (size_t t = 0; t < tl->n_threads && !jsonw__err(x->w); t++) {
		const struct timeline_thread *th = &tl->threads[t];

		for (size_t i = 0; i < th->n_spans; i++)
			jsonw__rawf(x->w, "state,%u,%" PRId64 ",%" PRIu64 ",,,%s\n", th->tid,
				    rel_ns(x, th->spans[i].start_ns), th->spans[i].end_ns - th->spans[i].start_ns,
				    thread_state__name((enum thread_state)th->spans[i].state));
	}
	return jsonw__err(x->w);
}

const struct exporter export_csv = {
	.name = "csv",
	.new = csv_new,
	.on_syscall = csv_on_syscall,
	.on_runtime = csv_on_runtime,
	.finish = csv_finish,
	.free = csv_free,
};
