// SPDX-License-Identifier: LGPL-2.1-or-later
/* `rtprof export`: a recorded trace in formats other tools open -- Chrome Trace Event JSON (Perfetto UI,
 * chrome://tracing, speedscope), folded stacks (flamegraph.pl, speedscope), CSV. Formats: docs/export.md.
 * The output can be large, so it is streamed by hand rather than built as a json-c tree. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "rtprof.h"
#include "sys/syscall_names.h"
#include "trace/timeline.h"
#include "trace/trace.h"

/* Syscall slices live on a sibling track of their thread: partial overlaps with state slices are the
 * rule (a syscall that sleeps spans running and sleeping), and one track's slices must nest. */
#define SYSCALL_TRACK_TID 0x40000000u
/* Runtime intervals (GIL, collections, event-loop iterations, threadpool tasks): a third track. */
#define RUNTIME_TRACK_TID 0x20000000u
/* Cells of the CPU-load counters (buckets x CPUs) above which the bucket is widened. */
#define MAX_LOAD_CELLS (4u << 20)

enum export_format {
	FMT_CHROME,
	FMT_FOLDED,
	FMT_CSV,
};

/* Buffered output to a plain stream or a gzip file; the first error sticks. */
struct out {
	FILE *f;
	gzFile gz;
	int err; /* 0 or -errno */
	size_t len;
	char buf[1 << 16];
};

struct sys_slice {
	uint64_t ts, dur;
	int64_t ret;
	uint32_t tid, nr;
};

struct rt_slice {
	uint64_t ts, dur;
	uint32_t tid, kind, arg;
};

/* Folded: total syscall time per (thread, syscall), open addressing on the pair. */
struct folded_cell {
	uint32_t tid, nr; /* nr + 1 in the table: 0 = free */
	uint64_t total_ns;
};

struct export {
	enum export_format format;
	struct out *out;
	uint64_t start_ns;
	uint64_t min_syscall_ns;
	struct sys_slice *slices; /* chrome */
	size_t n_slices, cap_slices;
	struct rt_slice *rts; /* chrome: runtime intervals */
	size_t n_rts, cap_rts;
	struct folded_cell *cells; /* folded */
	size_t n_cells, cap_cells;
	bool first_event;
};

/* ---- output ---- */

static void out_flush(struct out *o)
{
	if (!o->len || o->err) {
		o->len = 0;
		return;
	}
	if (o->gz) {
		if (gzwrite(o->gz, o->buf, (unsigned int)o->len) != (int)o->len)
			o->err = -EIO;
	} else if (fwrite(o->buf, 1, o->len, o->f) != o->len) {
		o->err = -EIO;
	}
	o->len = 0;
}

static void out_write(struct out *o, const char *s, size_t n)
{
	while (n) {
		size_t room = sizeof(o->buf) - o->len, k = n < room ? n : room;

		memcpy(o->buf + o->len, s, k);
		o->len += k;
		s += k;
		n -= k;
		if (o->len == sizeof(o->buf))
			out_flush(o);
	}
}

static void out_puts(struct out *o, const char *s)
{
	out_write(o, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void out_printf(struct out *o, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		o->err = o->err ? o->err : -EINVAL;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		out_write(o, small, (size_t)n);
		return;
	}
	{
		char *big = malloc((size_t)n + 1);

		if (!big) {
			o->err = o->err ? o->err : -ENOMEM;
			return;
		}
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		out_write(o, big, (size_t)n);
		free(big);
	}
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when the bytes there are not one. */
static size_t utf8_seq(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0)) /* overlong, surrogate */
			return 0;
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

/* The one JSON string writer: quotes, escapes, and replaces bytes that are not UTF-8 (thread names are
 * the kernel's bytes, cut at 15) with U+FFFD so that strict parsers accept the file. */
static void out_json_str(struct out *o, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	out_write(o, "\"", 1);
	while (*s) {
		size_t n = utf8_seq(s);

		if (*s == '"' || *s == '\\') {
			out_write(o, "\\", 1);
			out_write(o, (const char *)s, 1);
		} else if (*s < 0x20) {
			out_printf(o, "\\u%04x", *s);
		} else if (n) {
			out_write(o, (const char *)s, n);
			s += n;
			continue;
		} else {
			out_puts(o, "\\ufffd");
		}
		s++;
	}
	out_write(o, "\"", 1);
}

/* Microseconds with the nanoseconds as fraction, exactly: adjacent slices stay adjacent. */
static void out_us(struct out *o, uint64_t ns)
{
	out_printf(o, "%" PRIu64 ".%03" PRIu64, ns / 1000, ns % 1000);
}

/* ---- syscalls, as the trace is read ---- */

static int folded_add(struct export *x, uint32_t tid, uint32_t nr, uint64_t ns)
{
	size_t h;

	if (x->n_cells * 2 >= x->cap_cells) {
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
		x->cells[h].tid = tid;
		x->cells[h].nr = nr + 1;
		x->n_cells++;
	}
	x->cells[h].total_ns += ns;
	return 0;
}

static const char *sys_name(uint32_t nr, char *buf, size_t len)
{
	const char *name = syscall__name(nr);

	if (name)
		return name;
	snprintf(buf, len, "syscall_%u", nr);
	return buf;
}

static int64_t rel_ns(const struct export *x, uint64_t ts)
{
	return ts >= x->start_ns ? (int64_t)(ts - x->start_ns) : -(int64_t)(x->start_ns - ts);
}

static int on_syscall(void *ctx, const struct rtp_tr_syscall *sys)
{
	struct export *x = ctx;
	char buf[32];

	switch (x->format) {
	case FMT_CHROME:
		if (sys->dur_ns < x->min_syscall_ns)
			return 0;
		if (x->n_slices == x->cap_slices) {
			size_t cap = x->cap_slices ? x->cap_slices * 2 : 1024;
			struct sys_slice *n = realloc(x->slices, cap * sizeof(*n));

			if (!n)
				return -ENOMEM;
			x->slices = n;
			x->cap_slices = cap;
		}
		x->slices[x->n_slices++] = (struct sys_slice){ .ts = sys->ts_ns, .dur = sys->dur_ns, .ret = sys->ret,
								.tid = sys->tid, .nr = sys->nr };
		return 0;
	case FMT_FOLDED:
		return folded_add(x, sys->tid, sys->nr, sys->dur_ns);
	case FMT_CSV:
		out_printf(x->out, "syscall,%u,%" PRId64 ",%" PRIu64 ",%s,%" PRId64 ",\n", sys->tid, rel_ns(x, sys->ts_ns),
			   (uint64_t)sys->dur_ns, sys_name(sys->nr, buf, sizeof(buf)), (int64_t)sys->ret);
		return x->out->err;
	}
	return 0;
}

static const char *rt_name(const struct rtp_tr_runtime *rt, char *buf, size_t len)
{
	static const char *const tp[] = { "fs", "work", "dns", "random" };

	switch (rt->kind) {
	case RTP_TRK_GIL_WAIT: return "GIL wait";
	case RTP_TRK_GIL_HOLD: return "GIL held";
	case RTP_TRK_GC: snprintf(buf, len, "GC %u", rt->arg); return buf;
	case RTP_TRK_LOOP_BUSY: return "event loop busy";
	case RTP_TRK_TP_TASK: snprintf(buf, len, "threadpool %s", rt->arg < 4 ? tp[rt->arg] : "?"); return buf;
	default: snprintf(buf, len, "runtime %u", rt->kind); return buf;
	}
}

static int on_runtime(void *ctx, const struct rtp_tr_runtime *rt)
{
	struct export *x = ctx;
	char buf[32];

	switch (x->format) {
	case FMT_CHROME:
		if (x->n_rts == x->cap_rts) {
			size_t cap = x->cap_rts ? x->cap_rts * 2 : 256;
			struct rt_slice *n = realloc(x->rts, cap * sizeof(*n));

			if (!n)
				return -ENOMEM;
			x->rts = n;
			x->cap_rts = cap;
		}
		x->rts[x->n_rts++] = (struct rt_slice){ .ts = rt->ts_ns, .dur = rt->dur_ns, .tid = rt->tid,
							.kind = rt->kind, .arg = rt->arg };
		return 0;
	case FMT_CSV:
		out_printf(x->out, "runtime,%u,%" PRId64 ",%" PRIu64 ",%s,,\n", rt->tid, rel_ns(x, rt->ts_ns),
			   (uint64_t)rt->dur_ns, rt_name(rt, buf, sizeof(buf)));
		return x->out->err;
	default:
		return 0;
	}
}

/* ---- chrome ---- */

static uint32_t pid_of(const struct timeline *tl, const struct timeline_thread *th)
{
	if (th->tgid)
		return th->tgid;
	return tl->header.target_pid ? tl->header.target_pid : th->tid;
}

static const char *thread_label(const struct timeline_thread *th)
{
	return th->name[0] ? th->name : "?";
}

static void ev_sep(struct export *x)
{
	out_puts(x->out, x->first_event ? "\n" : ",\n");
	x->first_event = false;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static int cmp_slice(const void *a, const void *b)
{
	const struct sys_slice *x = a, *y = b;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return (x->ts > y->ts) - (x->ts < y->ts);
}

/* by thread, then start; the longer first at the same start, so that what it contains nests in it */
static int cmp_rt_slice(const void *a, const void *b)
{
	const struct rt_slice *x = a, *y = b;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return (x->dur < y->dur) - (x->dur > y->dur);
}

static void chrome_process_names(struct export *x, const struct timeline *tl)
{
	uint32_t *pids = calloc(tl->n_threads ? tl->n_threads : 1, sizeof(*pids));
	size_t n = 0, rank = 1;

	if (!pids) {
		x->out->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < tl->n_threads; i++)
		pids[n++] = pid_of(tl, &tl->threads[i]);
	if (n > 1)
		qsort(pids, n, sizeof(*pids), cmp_u32);
	for (size_t i = 0; i < n; i++) {
		const struct timeline_process *p;
		const struct timeline_thread *leader;
		const char *comm = NULL;
		char name[128];

		if (i && pids[i] == pids[i - 1])
			continue;
		p = timeline__process(tl, pids[i]);
		leader = timeline__thread(tl, pids[i]);
		if (p && p->comm[0])
			comm = p->comm;
		else if (leader && leader->name[0])
			comm = leader->name;
		if (p && p->runtime != RTP_RUNTIME_OTHER)
			snprintf(name, sizeof(name), "%s (%s %s)", comm ? comm : "?", runtime__kind_name(p->runtime),
				 p->runtime_version[0] ? p->runtime_version : "version unknown");
		else
			snprintf(name, sizeof(name), "%s", comm ? comm : "?");
		ev_sep(x);
		out_printf(x->out, "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%u,\"tid\":%u,\"args\":{\"name\":",
			   pids[i], pids[i]);
		out_json_str(x->out, name);
		out_puts(x->out, "}}");
		/* the traced command first, then the processes it forked */
		ev_sep(x);
		out_printf(x->out, "{\"ph\":\"M\",\"name\":\"process_sort_index\",\"pid\":%u,\"tid\":%u,"
			   "\"args\":{\"sort_index\":%zu}}",
			   pids[i], pids[i], pids[i] == tl->header.target_pid ? (size_t)0 : rank++);
	}
	free(pids);
}

static void chrome_thread_meta(struct export *x, const struct timeline *tl, const struct timeline_thread *th,
			       size_t index, bool has_syscalls)
{
	uint32_t pid = pid_of(tl, th);
	char name[64];

	snprintf(name, sizeof(name), "%s (%u)", thread_label(th), th->tid);
	ev_sep(x);
	out_printf(x->out, "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%u,\"tid\":%u,\"args\":{\"name\":", pid,
		   th->tid);
	out_json_str(x->out, name);
	out_puts(x->out, "}}");
	ev_sep(x);
	out_printf(x->out, "{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":%u,\"tid\":%u,"
		   "\"args\":{\"sort_index\":%zu}}",
		   pid, th->tid, 2 * index);
	if (!has_syscalls)
		return;
	snprintf(name, sizeof(name), "%s (%u) syscalls", thread_label(th), th->tid);
	ev_sep(x);
	out_printf(x->out, "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%u,\"tid\":%u,\"args\":{\"name\":", pid,
		   th->tid + SYSCALL_TRACK_TID);
	out_json_str(x->out, name);
	out_puts(x->out, "}}");
	ev_sep(x);
	out_printf(x->out, "{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":%u,\"tid\":%u,"
		   "\"args\":{\"sort_index\":%zu}}",
		   pid, th->tid + SYSCALL_TRACK_TID, 2 * index + 1);
}

static void chrome_states(struct export *x, const struct timeline *tl, const struct timeline_thread *th)
{
	uint32_t pid = pid_of(tl, th);

	for (size_t i = 0; i < th->n_spans && !x->out->err; i++) {
		const struct state_span *s = &th->spans[i];
		uint64_t end = s->end_ns;

		/* Consumers add ts + dur in floating point: a slice ending exactly where the next begins can
		 * then end after it, a partial overlap. One nanosecond apart, they never touch. */
		if (i + 1 < th->n_spans && th->spans[i + 1].start_ns <= end)
			end--;
		if (end <= s->start_ns)
			continue;
		ev_sep(x);
		out_printf(x->out, "{\"ph\":\"X\",\"cat\":\"state\",\"name\":\"%s\",\"pid\":%u,\"tid\":%u,\"ts\":",
			   thread_state__name((enum thread_state)s->state), pid, th->tid);
		out_us(x->out, s->start_ns - tl->start_ns);
		out_puts(x->out, ",\"dur\":");
		out_us(x->out, end - s->start_ns);
		if (s->state == TSTATE_RUNNING)
			out_printf(x->out, ",\"args\":{\"cpu\":%u}}", s->cpu);
		else
			out_puts(x->out, "}");
	}
}

/* The syscall slices of one thread (sorted by time); returns the index after them. */
static size_t chrome_syscalls(struct export *x, const struct timeline *tl, uint32_t pid, size_t i)
{
	uint32_t tid = x->slices[i].tid;
	uint64_t open_end = 0; /* end of the latest slice: a later one must nest in it or start after it */

	for (; i < x->n_slices && x->slices[i].tid == tid && !x->out->err; i++) {
		const struct sys_slice *s = &x->slices[i];
		uint64_t start = s->ts < tl->start_ns ? tl->start_ns : s->ts, end = s->ts + s->dur;
		char buf[32];

		if (end > tl->end_ns)
			end = tl->end_ns;
		if (start < open_end && end > open_end)
			start = open_end; /* a partial overlap cannot come from one thread's syscalls; keep nesting */
		if (i + 1 < x->n_slices && x->slices[i + 1].tid == tid && x->slices[i + 1].ts == end)
			end--; /* as for states: never touching in floating point */
		if (end <= start)
			continue;
		if (end > open_end)
			open_end = end;
		ev_sep(x);
		out_puts(x->out, "{\"ph\":\"X\",\"cat\":\"syscall\",\"name\":");
		out_json_str(x->out, sys_name(s->nr, buf, sizeof(buf)));
		out_printf(x->out, ",\"pid\":%u,\"tid\":%u,\"ts\":", pid, tid + SYSCALL_TRACK_TID);
		out_us(x->out, start - tl->start_ns);
		out_puts(x->out, ",\"dur\":");
		out_us(x->out, end - start);
		out_printf(x->out, ",\"args\":{\"ret\":%" PRId64, s->ret);
		if (s->ret < 0 && s->ret >= -4095 && strerrorname_np((int)-s->ret))
			out_printf(x->out, ",\"errno\":\"%s\"", strerrorname_np((int)-s->ret));
		out_puts(x->out, "}}");
	}
	while (i < x->n_slices && x->slices[i].tid == tid)
		i++;
	return i;
}

/* The runtime slices of one thread on its own track; returns the index after them. */
static size_t chrome_runtime(struct export *x, const struct timeline *tl, uint32_t pid, size_t i, size_t index)
{
	uint32_t tid = x->rts[i].tid;
	uint64_t open_end = 0;
	char name[64];

	snprintf(name, sizeof(name), "%u runtime", tid);
	ev_sep(x);
	out_printf(x->out, "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%u,\"tid\":%u,\"args\":{\"name\":", pid,
		   tid + RUNTIME_TRACK_TID);
	out_json_str(x->out, name);
	out_puts(x->out, "}}");
	ev_sep(x);
	out_printf(x->out, "{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":%u,\"tid\":%u,"
		   "\"args\":{\"sort_index\":%zu}}", pid, tid + RUNTIME_TRACK_TID, 2 * index + 1);
	for (; i < x->n_rts && x->rts[i].tid == tid && !x->out->err; i++) {
		const struct rt_slice *s = &x->rts[i];
		struct rtp_tr_runtime r = { .kind = s->kind, .arg = s->arg };
		uint64_t start = s->ts < tl->start_ns ? tl->start_ns : s->ts, end = s->ts + s->dur;
		char buf[32];

		if (end > tl->end_ns)
			end = tl->end_ns;
		if (start < open_end && end > open_end)
			start = open_end; /* keep one track's slices nested */
		if (end <= start)
			continue;
		if (end > open_end)
			open_end = end;
		ev_sep(x);
		out_puts(x->out, "{\"ph\":\"X\",\"cat\":\"runtime\",\"name\":");
		out_json_str(x->out, rt_name(&r, buf, sizeof(buf)));
		out_printf(x->out, ",\"pid\":%u,\"tid\":%u,\"ts\":", pid, tid + RUNTIME_TRACK_TID);
		out_us(x->out, start - tl->start_ns);
		out_puts(x->out, ",\"dur\":");
		out_us(x->out, end - start);
		out_puts(x->out, "}");
	}
	while (i < x->n_rts && x->rts[i].tid == tid)
		i++;
	return i;
}

/* Per-CPU busy share of the targets per bucket, from the running spans. */
static void chrome_load(struct export *x, const struct timeline *tl, uint64_t bucket_ns)
{
	uint64_t span = tl->end_ns - tl->start_ns, nb;
	uint32_t ncpus = tl->ncpus, pid = tl->header.target_pid;
	uint64_t *busy;

	if (!span || !ncpus)
		return;
	nb = (span + bucket_ns - 1) / bucket_ns;
	if (nb * ncpus > MAX_LOAD_CELLS) {
		bucket_ns = (span + MAX_LOAD_CELLS / ncpus - 1) / (MAX_LOAD_CELLS / ncpus);
		nb = (span + bucket_ns - 1) / bucket_ns;
		fprintf(stderr, "rtprof: note: CPU load buckets widened to %" PRIu64 " us for a trace this long\n",
			bucket_ns / 1000);
	}
	if (!pid && tl->n_threads)
		pid = pid_of(tl, &tl->threads[0]);
	busy = calloc(nb * ncpus, sizeof(*busy));
	if (!busy) {
		x->out->err = -ENOMEM;
		return;
	}
	for (size_t t = 0; t < tl->n_threads; t++) {
		const struct timeline_thread *th = &tl->threads[t];

		for (size_t i = 0; i < th->n_spans; i++) {
			const struct state_span *s = &th->spans[i];
			uint64_t a = s->start_ns - tl->start_ns, b = s->end_ns - tl->start_ns;

			if (s->state != TSTATE_RUNNING || s->cpu >= ncpus)
				continue;
			while (a < b) {
				uint64_t k = a / bucket_ns, edge = (k + 1) * bucket_ns, upto = b < edge ? b : edge;

				busy[k * ncpus + s->cpu] += upto - a;
				a = upto;
			}
		}
	}
	for (uint32_t c = 0; c < ncpus && !x->out->err; c++) {
		double last = -1;

		for (uint64_t k = 0; k < nb; k++) {
			uint64_t len = k == nb - 1 ? span - k * bucket_ns : bucket_ns;
			double pct = 100.0 * (double)busy[k * ncpus + c] / (double)len;

			pct = (double)(int64_t)(pct * 10 + 0.5) / 10; /* one decimal: repeats collapse */
			if (pct == last)
				continue; /* a counter holds its value until the next sample */
			last = pct;
			ev_sep(x);
			out_printf(x->out, "{\"ph\":\"C\",\"name\":\"cpu %u busy\",\"pid\":%u,\"ts\":", c, pid);
			out_us(x->out, k * bucket_ns);
			out_printf(x->out, ",\"args\":{\"%%\":%.1f}}", pct);
		}
		ev_sep(x);
		out_printf(x->out, "{\"ph\":\"C\",\"name\":\"cpu %u busy\",\"pid\":%u,\"ts\":", c, pid);
		out_us(x->out, span);
		out_puts(x->out, ",\"args\":{\"%\":0.0}}");
	}
	free(busy);
}

static void export_chrome(struct export *x, const struct timeline *tl, uint64_t bucket_ns)
{
	const struct trace_header *h = &tl->header;
	size_t s = 0, r = 0;

	if (x->n_slices > 1)
		qsort(x->slices, x->n_slices, sizeof(*x->slices), cmp_slice);
	if (x->n_rts > 1)
		qsort(x->rts, x->n_rts, sizeof(*x->rts), cmp_rt_slice);
	out_puts(x->out, "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"producer\":\"rtprof ");
	out_puts(x->out, RTPROF_VERSION);
	out_puts(x->out, "\",\"command\":");
	out_json_str(x->out, h->command);
	out_puts(x->out, ",\"host\":");
	out_json_str(x->out, h->host);
	out_puts(x->out, ",\"kernel\":");
	out_json_str(x->out, h->kernel);
	out_printf(x->out, ",\"mode\":\"%s\",\"target_pid\":%u,\"ncpus\":%u,\"start_ns\":%" PRIu64
		   ",\"duration_ns\":%" PRIu64 ",\"min_syscall_us\":%" PRIu64 ",\"load_bucket_us\":%" PRIu64 "},\n"
		   "\"traceEvents\":[",
		   !strcmp(h->mode, "attach") ? "attach" : "run", h->target_pid, tl->ncpus, tl->start_ns,
		   tl->end_ns - tl->start_ns, x->min_syscall_ns / 1000, bucket_ns / 1000);
	x->first_event = true;
	chrome_process_names(x, tl);
	for (size_t i = 0; i < tl->n_threads; i++) {
		while (s < x->n_slices && x->slices[s].tid < tl->threads[i].tid)
			s++;
		chrome_thread_meta(x, tl, &tl->threads[i], i,
				   s < x->n_slices && x->slices[s].tid == tl->threads[i].tid);
	}
	/* each track's events in time order: a thread's states, then its syscalls, then its runtime */
	s = 0;
	for (size_t i = 0; i < tl->n_threads && !x->out->err; i++) {
		const struct timeline_thread *th = &tl->threads[i];

		chrome_states(x, tl, th);
		while (s < x->n_slices && x->slices[s].tid < th->tid)
			s++; /* syscalls of a thread without scheduling records: no track to put them on */
		if (s < x->n_slices && x->slices[s].tid == th->tid)
			s = chrome_syscalls(x, tl, pid_of(tl, th), s);
		while (r < x->n_rts && x->rts[r].tid < th->tid)
			r++;
		if (r < x->n_rts && x->rts[r].tid == th->tid)
			r = chrome_runtime(x, tl, pid_of(tl, th), r, tl->n_threads + i);
	}
	chrome_load(x, tl, bucket_ns);
	out_puts(x->out, "\n]}\n");
}

/* ---- folded, csv ---- */

static int cmp_cell(const void *a, const void *b)
{
	const struct folded_cell *x = a, *y = b;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return (x->total_ns < y->total_ns) - (x->total_ns > y->total_ns);
}

/* A frame of a folded line: ';' separates frames and a newline ends the line; text readers want UTF-8. */
static void out_frame(struct out *o, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s) {
		size_t n = utf8_seq(s);

		if (*s == ';' || *s == '\n' || *s == '\r')
			out_write(o, "_", 1);
		else if (n)
			out_write(o, (const char *)s, n);
		else
			out_puts(o, "\xef\xbf\xbd"); /* U+FFFD */
		s += n ? n : 1;
	}
}

static void export_folded(struct export *x, const struct timeline *tl)
{
	size_t n = 0;

	for (size_t i = 0; i < x->cap_cells; i++)
		if (x->cells[i].nr)
			x->cells[n++] = x->cells[i];
	if (n > 1)
		qsort(x->cells, n, sizeof(*x->cells), cmp_cell);
	for (size_t i = 0; i < n && !x->out->err; i++) {
		const struct timeline_thread *th = timeline__thread(tl, x->cells[i].tid);
		char buf[32];

		out_frame(x->out, th && th->name[0] ? th->name : "?");
		out_printf(x->out, " (%u);", x->cells[i].tid);
		out_frame(x->out, sys_name(x->cells[i].nr - 1, buf, sizeof(buf)));
		out_printf(x->out, " %" PRIu64 "\n", x->cells[i].total_ns);
	}
}

static void export_csv_states(struct export *x, const struct timeline *tl)
{
	for (size_t t = 0; t < tl->n_threads && !x->out->err; t++) {
		const struct timeline_thread *th = &tl->threads[t];

		for (size_t i = 0; i < th->n_spans; i++)
			out_printf(x->out, "state,%u,%" PRId64 ",%" PRIu64 ",,,%s\n", th->tid,
				   rel_ns(x, th->spans[i].start_ns), th->spans[i].end_ns - th->spans[i].start_ns,
				   thread_state__name((enum thread_state)th->spans[i].state));
	}
}

/* ---- the command ---- */

static void export_help(FILE *out)
{
	fprintf(out,
		"Usage: rtprof export FILE.rtprof.gz [--format chrome|folded|csv] [-o OUT] [--min-syscall-us N]\n"
		"                     [--load-bucket-ms N]\n"
		"\n"
		"Write a recorded trace in a format other tools open (docs/export.md):\n"
		"  chrome  Chrome Trace Event JSON for Perfetto UI (ui.perfetto.dev) and chrome://tracing: one track\n"
		"          per thread with its states (running, runnable, sleeping, blocked), a sibling track with\n"
		"          its syscalls longer than --min-syscall-us, and per-CPU load counters of the targets\n"
		"  folded  'thread (tid);syscall total_ns' lines: syscall time per thread, for flamegraph.pl and\n"
		"          speedscope\n"
		"  csv     one row per syscall and per thread-state interval\n"
		"Times are relative to the start of the trace.\n"
		"\n"
		"  -f, --format FMT        chrome (default), folded or csv\n"
		"  -o, --output OUT        output file, gzip-compressed when it ends in .gz; '-' or none: stdout\n"
		"      --min-syscall-us N  chrome: syscalls at least this long get a slice (default 100)\n"
		"      --load-bucket-ms N  chrome: width of a CPU load sample (default 10)\n"
		"\n"
		"Example:\n"
		"  rtprof export app.rtprof.gz --format chrome -o app.json.gz   # then open it in ui.perfetto.dev\n");
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s[0] || s[0] == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int cmd_export(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "min-syscall-us", required_argument, NULL, 'm' },
		{ "load-bucket-ms", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct export x = { .format = FMT_CHROME, .min_syscall_ns = 100000 };
	struct timeline_opts topts = { .on_syscall = on_syscall, .on_runtime = on_runtime, .ctx = &x };
	struct out *out = NULL;
	struct timeline *tl = NULL;
	struct trace_reader *rd = NULL;
	const char *output = NULL, *path;
	uint64_t v, bucket_ns = 10000000;
	char err[512];
	int c, r, ret = EXIT_FAILURE_RT;

	while ((c = getopt_long(argc, argv, "f:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (!strcmp(optarg, "chrome")) {
				x.format = FMT_CHROME;
			} else if (!strcmp(optarg, "folded")) {
				x.format = FMT_FOLDED;
			} else if (!strcmp(optarg, "csv")) {
				x.format = FMT_CSV;
			} else {
				errorf("export: unknown format '%s': use chrome, folded or csv", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'o':
			output = optarg;
			break;
		case 'm':
			if (parse_u64(optarg, UINT64_MAX / 1000, &v)) {
				errorf("export: invalid --min-syscall-us '%s': expected microseconds >= 0", optarg);
				return EXIT_USAGE;
			}
			x.min_syscall_ns = v * 1000;
			break;
		case 'b':
			if (parse_u64(optarg, 3600 * 1000, &v) || !v) {
				errorf("export: invalid --load-bucket-ms '%s': expected milliseconds > 0", optarg);
				return EXIT_USAGE;
			}
			bucket_ns = v * 1000000;
			break;
		case 'h':
			export_help(stdout);
			return EXIT_OK;
		default:
			export_help(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		errorf("export: give one trace file; usage: rtprof export FILE.rtprof.gz [--format FMT] [-o OUT]");
		return EXIT_USAGE;
	}
	path = argv[optind];
	/* a file that is not a trace is reported before any output exists */
	r = trace_reader__open(path, &rd, err, sizeof(err));
	if (r) {
		if (strstr(err, path))
			errorf("%s", err);
		else
			errorf("%s: %s", path, err);
		return r == -ENOMEM ? EXIT_FAILURE_RT : EXIT_USAGE;
	}
	x.start_ns = trace_reader__header(rd)->start_ns; /* csv rows are written as the trace is read */
	trace_reader__free(rd);

	out = calloc(1, sizeof(*out));
	if (!out) {
		errorf("out of memory");
		return EXIT_FAILURE_RT;
	}
	x.out = out;
	if (!output || !strcmp(output, "-")) {
		out->f = stdout;
	} else if (ends_with(output, ".gz")) {
		/* level 3: as small as 6 within 15% on these files, 4x faster (measured on a 6M-syscall csv) */
		errno = 0;
		out->gz = gzopen(output, "wb3");
		if (!out->gz) {
			errorf("cannot write %s: %s", output, errno ? strerror(errno) : "out of memory");
			ret = EXIT_USAGE;
			goto cleanup;
		}
		(void)gzbuffer(out->gz, 1 << 17);
	} else {
		out->f = fopen(output, "we");
		if (!out->f) {
			errorf("cannot write %s: %s", output, strerror(errno));
			ret = EXIT_USAGE;
			goto cleanup;
		}
	}
	if (x.format == FMT_CSV)
		out_puts(out, "kind,tid,start_ns,dur_ns,name,ret,state\n");

	r = timeline__load(path, &topts, &tl, err, sizeof(err));
	if (r) {
		if (out->err)
			errorf("writing %s: %s", output ? output : "stdout", strerror(-out->err));
		else
			errorf("%s", err);
		goto cleanup;
	}
	if (tl->warning[0])
		errorf("warning: %s: %s", path, tl->warning);
	if (tl->inferred_runs)
		errorf("note: the trace lacks the switch records of %" PRIu64 " run%s of its threads; %s drawn from the "
		       "kernel's CPU time in the next switch-out (docs/export.md)", tl->inferred_runs,
		       tl->inferred_runs == 1 ? "" : "s", tl->inferred_runs == 1 ? "it is" : "they are");
	switch (x.format) {
	case FMT_CHROME:
		export_chrome(&x, tl, bucket_ns);
		break;
	case FMT_FOLDED:
		export_folded(&x, tl);
		break;
	case FMT_CSV:
		export_csv_states(&x, tl);
		break;
	}
	out_flush(out);
	if (out->err) {
		errorf("writing %s: %s", output ? output : "stdout", strerror(-out->err));
		goto cleanup;
	}
	ret = EXIT_OK;
cleanup:
	if (out) {
		out_flush(out);
		if (out->gz && gzclose(out->gz) != Z_OK && ret == EXIT_OK) {
			errorf("writing %s: %s", output, strerror(EIO));
			ret = EXIT_FAILURE_RT;
		}
		if (out->f && out->f != stdout && fclose(out->f) && ret == EXIT_OK) {
			errorf("writing %s: %s", output, strerror(errno));
			ret = EXIT_FAILURE_RT;
		}
		if (out->f == stdout && (fflush(stdout) || ferror(stdout)) && ret == EXIT_OK) {
			errorf("writing stdout: %s", strerror(EIO));
			ret = EXIT_FAILURE_RT;
		}
		if (ret != EXIT_OK && output && strcmp(output, "-"))
			(void)unlink(output); /* no half-written file that looks like a result */
	}
	free(out);
	timeline__free(tl);
	free(x.slices);
	free(x.rts);
	free(x.cells);
	return ret;
}
