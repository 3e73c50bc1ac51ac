// SPDX-License-Identifier: LGPL-2.1-or-later
/* `rtprof export --format pprof --profile KIND`: a trace's Python stacks as a pprof profile, gzip-compressed
 * as pprof files are on disk, for `go tool pprof`, Pyroscope and other pprof consumers (model/pprof.h says
 * what the profile holds). */
#include <errno.h>
#include <stdlib.h>

#include "export.h"
#include "model/pprof.h"
#include "model/profiles.h"

struct pprof_export {
	const struct export_opts *opts;
	struct jsonw *w;
};

static void *pprof_new(const struct export_opts *opts, struct jsonw *w, const struct trace_header *h)
{
	struct pprof_export *x = calloc(1, sizeof(*x));

	(void)h;
	if (x) {
		x->opts = opts;
		x->w = w;
	}
	return x;
}

static void pprof_free(void *state)
{
	free(state);
}

/* A process is named by its comm, else by its first thread's name; a thread by its name. */
static const char *process_name(void *ctx, pid_t pid)
{
	const struct timeline *tl = ctx;
	const struct timeline_process *proc = timeline__process(tl, (uint32_t)pid);
	const struct timeline_thread *leader = timeline__thread(tl, (uint32_t)pid);

	return proc && proc->comm[0] ? proc->comm : leader ? leader->name : NULL;
}

static const char *thread_name(void *ctx, pid_t tid)
{
	const struct timeline_thread *th = timeline__thread(ctx, (uint32_t)tid);

	return th ? th->name : NULL;
}

static int pprof_finish(void *state, const struct timeline *tl)
{
	struct pprof_export *x = state;
	struct pprof_names names = { process_name, thread_name, (void *)tl };
	uint8_t *buf = NULL, *gz = NULL;
	size_t len = 0, gz_len = 0;
	int r = export__need_profiles(tl);

	r = r ?: pprof__encode(tl->profiles, (unsigned int)x->opts->profile, x->opts->profile_syscall, &names,
			       tl->header.realtime_offset_ns + (int64_t)tl->start_ns, (int64_t)(tl->end_ns - tl->start_ns),
			       &buf, &len);
	/* gzip, unless the output is compressed already */
	if (!r && !x->opts->output_gz)
		r = pprof__gzip(buf, len, &gz, &gz_len);
	if (!r) {
		jsonw__raw(x->w, (const char *)(gz ? gz : buf), gz ? gz_len : len);
		r = jsonw__err(x->w);
	}
	free(buf);
	free(gz);
	return r;
}

const struct exporter export_pprof = {
	.name = "pprof",
	.new = pprof_new,
	.finish = pprof_finish,
	.free = pprof_free,
};
