// SPDX-License-Identifier: LGPL-2.1-or-later
/* `rtprof export --format folded`: 'process (pid);thread (tid);syscall total_ns' lines, syscall time per
 * thread, for flamegraph.pl and speedscope. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/text.h"
#include "export.h"

/* (thread, syscall) pairs an export holds (16 MB of table): the calls of other pairs are counted, not kept. */
#define MAX_CELLS (512u << 10)

/* Total syscall time per (thread, syscall), open addressing on the pair. */
struct folded_cell {
	uint32_t tid, nr; /* nr + 1 in the table: 0 = free */
	uint64_t total_ns;
};

struct folded {
	struct jsonw *w;
	struct folded_cell *cells;
	size_t n_cells, cap_cells; /* cap_cells: a power of two, at least twice n_cells */
	uint64_t calls_dropped;    /* of pairs beyond MAX_CELLS */
	int profile;               /* --profile: the stacks of that kind instead */
	const char *profile_syscall;
};

static void *folded_new(const struct export_opts *opts, struct jsonw *w, const struct trace_header *h)
{
	struct folded *x = calloc(1, sizeof(*x));

	(void)h;
	if (x) {
		x->w = w;
		x->profile = opts->profile;
		x->profile_syscall = opts->profile_syscall;
	}
	return x;
}

static void folded_free(void *state)
{
	struct folded *x = state;

	if (!x)
		return;
	free(x->cells);
	free(x);
}

static int folded_on_syscall(void *state, const struct rtp_tr_syscall *sys)
{
	struct folded *x = state;
	uint32_t tid = sys->tid, nr = sys->nr;
	size_t h;

	if (x->n_cells * 2 >= x->cap_cells && x->n_cells < MAX_CELLS) {
		size_t cap = x->cap_cells ? x->cap_cells * 2 : 1024;
		struct folded_cell *n = calloc(cap, sizeof(*n));

		if (!n)
			return -ENOMEM;
		for (size_t i = 0; i < x->cap_cells; i++) {
			if (!x->cells[i].nr)
				continue;
			h = ((x->cells[i].tid * 2654435761u) ^ (x->cells[i].nr * 40503u)) & (cap - 1);
			while (n[h].nr)
				h = (h + 1) & (cap - 1);
			n[h] = x->cells[i];
		}
		free(x->cells);
		x->cells = n;
		x->cap_cells = cap;
	}
	h = ((tid * 2654435761u) ^ ((nr + 1) * 40503u)) & (x->cap_cells - 1);
	while (x->cells[h].nr && !(x->cells[h].tid == tid && x->cells[h].nr == nr + 1))
		h = (h + 1) & (x->cap_cells - 1);
	if (!x->cells[h].nr) {
		if (x->n_cells >= MAX_CELLS) {
			x->calls_dropped++;
			return 0;
		}
		x->cells[h].tid = tid;
		x->cells[h].nr = nr + 1;
		x->n_cells++;
	}
	x->cells[h].total_ns += sys->dur_ns;
	return 0;
}

static int cmp_cell(const void *a, const void *b)
{
	const struct folded_cell *x = a, *y = b;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return (x->total_ns < y->total_ns) - (x->total_ns > y->total_ns);
}

/* A frame of a folded line: ';' separates frames and a newline ends the line; text readers want UTF-8. */
static void frame(struct jsonw *w, const char *s)
{
	while (*s) {
		size_t n = utf8_seq(s);

		if (*s == ';' || *s == '\n' || *s == '\r')
			jsonw__raw(w, "_", 1);
		else if (n)
			jsonw__raw(w, s, n);
		else
			jsonw__raw(w, "\xef\xbf\xbd", 3); /* U+FFFD */
		s += n ? n : 1;
	}
}

static int folded_finish(void *state, const struct timeline *tl)
{
	struct folded *x = state;
	size_t n = 0;

	if (x->profile >= 0)
		return export__profile_folded(x->w, tl, (unsigned int)x->profile, x->profile_syscall);
	if (x->calls_dropped)
		fprintf(stderr, "rtprof: warning: the export holds %u (thread, syscall) pairs: %" PRIu64
			" calls of the others are left out\n", MAX_CELLS, x->calls_dropped);
	for (size_t i = 0; i < x->cap_cells; i++)
		if (x->cells[i].nr)
			x->cells[n++] = x->cells[i];
	if (n > 1)
		qsort(x->cells, n, sizeof(*x->cells), cmp_cell);
	for (size_t i = 0; i < n && !jsonw__err(x->w); i++) {
		const struct timeline_thread *th = timeline__thread(tl, x->cells[i].tid);
		uint32_t pid = th ? th->tgid : 0;
		const struct timeline_process *proc = pid ? timeline__process(tl, pid) : NULL;
		const struct timeline_thread *leader = pid ? timeline__thread(tl, pid) : NULL;
		char buf[32];

		/* the process first: a session's processes (forks, a multiprocessing pool) apart */
		frame(x->w, proc && proc->comm[0] ? proc->comm : leader && leader->name[0] ? leader->name : "?");
		jsonw__rawf(x->w, " (%u);", pid);
		frame(x->w, th && th->name[0] ? th->name : "?");
		jsonw__rawf(x->w, " (%u);", x->cells[i].tid);
		frame(x->w, export__syscall_name(x->cells[i].nr - 1, buf, sizeof(buf)));
		jsonw__rawf(x->w, " %" PRIu64 "\n", x->cells[i].total_ns);
	}
	return jsonw__err(x->w);
}

const struct exporter export_folded = {
	.name = "folded",
	.new = folded_new,
	.on_syscall = folded_on_syscall,
	.finish = folded_finish,
	.free = folded_free,
};
