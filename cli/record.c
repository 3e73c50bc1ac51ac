// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "record.h"
#include "rtprof.h"

/* zlib level 1: the consumer must keep up with millions of records a second on one core; the varint
 * encoding already removes most redundancy (see docs/trace-format.md for the measurements) */
#define TRACE_ZLIB_LEVEL 1
#define PROGRESS_EVERY_NS 500000000ull
/* A sync point at least this often, so that a recording cut by a crash or a full disk loses at most
 * this much (and the process and thread records written first are in the file at once). */
#define FLUSH_EVERY_NS 1000000000ull

struct recorder {
	struct trace_writer *w;
	struct recorder_opts opts;
	uint64_t start_ns, last_progress_ns, last_flush_ns;
	const char *stopped; /* why streaming stopped early */
	uint64_t stopped_ns; /* and when: the trace's end */
	int write_err;
	bool progress_shown;
};

/* The writer's compressed bytes into the file the caller opened (cli/outfile.c). */
static int write_file(void *ctx, const void *buf, size_t len)
{
	const struct recorder *r = ctx;
	const char *p = buf;

	while (len) {
		ssize_t n = write(r->opts.fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void stop(struct recorder *r, const char *why)
{
	r->stopped = why;
	r->stopped_ns = clock__mono_ns();
}

static int sink(const struct trace_rec *rec, void *ctx)
{
	struct recorder *r = ctx;
	int err = trace_writer__write(r->w, rec);

	if (err) {
		r->write_err = err;
		stop(r, "error");
		errorf("writing %s: %s; the trace stops here (readable up to its last complete block)",
		       r->opts.path, strerror(-err));
		return err;
	}
	if (r->opts.max_bytes && trace_writer__bytes(r->w) >= r->opts.max_bytes) {
		stop(r, "max-size");
		return 1;
	}
	return 0;
}

int recorder__open(const struct recorder_opts *opts, struct engine *e, struct recorder **out)
{
	struct recorder *r = calloc(1, sizeof(*r));
	struct trace_header h;
	int err;

	if (!r)
		return -ENOMEM;
	r->opts = *opts;
	r->start_ns = engine__start_clock(e);
	trace_header__init(&h, r->start_ns, (unsigned int)engine__ncpus(e), opts->mode, opts->target_pid, opts->command);
	err = trace_writer__open_sink(write_file, r, TRACE_ZLIB_LEVEL, &h, &r->w);
	if (err) {
		errorf("cannot write %s: %s", opts->path, strerror(-err));
		free(r);
		return err;
	}
	r->last_progress_ns = r->start_ns;
	engine__set_trace_sink(e, sink, r);
	*out = r;
	return 0;
}

static void progress(struct recorder *r, struct engine *e, bool final)
{
	uint64_t lost;

	engine__trace_counts(e, &lost);
	fprintf(stderr, "%srtprof: recording %s: %" PRIu64 " events, %.1f MB, %" PRIu64 " lost%s%s",
		r->progress_shown ? "\r" : "", r->opts.path, trace_writer__records(r->w), (double)trace_writer__bytes(r->w) / 1e6, lost,
		r->stopped ? " (stopped: " : "", r->stopped ? r->stopped : "");
	if (r->stopped)
		fputc(')', stderr);
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
	r->progress_shown = true;
}

void recorder__tick(struct recorder *r, struct engine *e)
{
	uint64_t now = clock__mono_ns();

	if (!r->stopped && r->opts.duration_s > 0 && (double)(now - r->start_ns) / 1e9 >= r->opts.duration_s) {
		/* the window's end as a session's: what is pending, then each live thread's own accounting (a
		 * thread that ran on since its last switch has no other record of it) */
		uint64_t *lost_per_cpu = calloc(TRACE_MAX_CPUS, sizeof(*lost_per_cpu)), lost;

		if (lost_per_cpu)
			(void)engine__trace_finish(e, lost_per_cpu, TRACE_MAX_CPUS, &lost);
		free(lost_per_cpu);
		stop(r, "duration");
		engine__set_trace_sink(e, NULL, NULL);
	}
	if (r->stopped && r->stopped[0] != 'e')
		engine__set_trace_sink(e, NULL, NULL);
	if (!r->stopped && (!r->last_flush_ns || now - r->last_flush_ns >= FLUSH_EVERY_NS)) {
		int err = trace_writer__flush(r->w);

		r->last_flush_ns = now;
		if (err) {
			r->write_err = err;
			stop(r, "error");
			engine__set_trace_sink(e, NULL, NULL);
			errorf("writing %s: %s; the trace stops here (readable up to its last complete block)",
			       r->opts.path, strerror(-err));
		}
	}
	if (r->opts.progress && now - r->last_progress_ns >= PROGRESS_EVERY_NS) {
		r->last_progress_ns = now;
		progress(r, e, false);
	}
}

const char *recorder__stopped(const struct recorder *r)
{
	return r->stopped;
}

int recorder__finish(struct recorder *r, struct engine *e, const struct rtp_report *rep, const char *stop_reason)
{
	struct trace_footer *f = calloc(1, sizeof(*f));
	int err, cerr;

	if (!f) {
		trace_writer__abort(r->w);
		free(r);
		return -ENOMEM;
	}
	f->ncpus = (uint32_t)engine__ncpus(e);
	if (f->ncpus > TRACE_MAX_CPUS)
		f->ncpus = TRACE_MAX_CPUS;
	err = engine__trace_finish(e, f->lost_per_cpu, f->ncpus, &f->lost);
	engine__set_trace_sink(e, NULL, NULL);
	f->end_ns = engine__stop_clock(e);
	if (r->stopped && r->stopped_ns && r->stopped_ns < f->end_ns)
		f->end_ns = r->stopped_ns; /* the trace ends where its records do */
	if (!r->opts.quiet)
		progress(r, e, true);
	cerr = trace_writer__finish(r->w, f, rep, r->stopped ? r->stopped : stop_reason, r->write_err);
	/* on disk before the report says it is there; a FIFO or a device cannot be synced (EINVAL) */
	if (!cerr && fsync(r->opts.fd) && errno != EINVAL)
		cerr = -errno;
	if (cerr && !r->write_err)
		errorf("writing %s: %s", r->opts.path, strerror(-cerr));
	err = cerr ?: err;
	free(f);
	free(r);
	return err;
}

int recorder__finish_abort(struct recorder *r)
{
	int err = trace_writer__flush(r->w);

	trace_writer__abort(r->w);
	free(r);
	return err;
}
