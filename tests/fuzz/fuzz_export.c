// SPDX-License-Identifier: LGPL-2.1-or-later
/* libFuzzer target: every export format (chrome, folded, csv; the stacks as folded, speedscope, svg and pprof)
 * of a trace, as `rtprof export` drives them:
 * one pass of the timeline loader handing the header and records to the format, then its finish from the
 * timeline. The input is written to a memfd, read through /proc/self/fd/N; the output goes to /dev/null.
 * The first byte picks the chrome options, so that narrow load buckets and zero syscall thresholds are
 * reached too, and which profile the stack formats export. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "export.h"
#include "fuzz_file.h"
#include "trace/timeline.h"

static int memfd = -1;
static char path[64];
static FILE *sink;

struct run {
	const struct exporter *fmt;
	struct export_opts opts;
	struct jsonw *w;
	void *state;
};

static int on_header(void *ctx, const struct trace_header *h)
{
	struct run *x = ctx;

	x->w = jsonw__new(sink, NULL);
	x->state = x->w ? x->fmt->new(&x->opts, x->w, h) : NULL;
	return x->state ? 0 : -1;
}

static int on_syscall(void *ctx, const struct rtp_tr_syscall *sys)
{
	struct run *x = ctx;

	return x->fmt->on_syscall ? x->fmt->on_syscall(x->state, sys) : 0;
}

static int on_runtime(void *ctx, const struct rtp_tr_runtime *rt)
{
	struct run *x = ctx;

	return x->fmt->on_runtime ? x->fmt->on_runtime(x->state, rt) : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct exporter *const formats[] = { &export_chrome, &export_folded, &export_csv, &export_folded,
							  &export_speedscope, &export_svg, &export_pprof };
	char err[256];

	if (memfd < 0) {
		memfd = memfd_create("fuzz_export", MFD_CLOEXEC);
		sink = fopen("/dev/null", "we");
		if (memfd < 0 || !sink) {
			perror("fuzz_export setup");
			abort();
		}
		snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	}
	if (ftruncate(memfd, 0) || ftruncate(memfd, (off_t)size) || write_all(memfd, data, size)) {
		perror("writing the memfd");
		abort();
	}
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		struct run x = { .fmt = formats[i],
				 .opts = { .min_syscall_ns = size && (data[0] & 1) ? 0 : 100000,
					   .load_bucket_ns = size && (data[0] & 2) ? 1000000 : 10000000,
					   /* the second folded and the stack formats: a profile */
					   .profile = i < 3 ? -1 : (int)((size ? data[0] >> 2 : 0) % RTP_PROF_KINDS),
					   .output_gz = size && (data[0] & 0x80) } };
		struct timeline_opts topts = { .on_header = on_header, .on_syscall = on_syscall,
					       .on_runtime = on_runtime, .ctx = &x };
		struct timeline *tl = NULL;

		if (timeline__load(path, &topts, &tl, err, sizeof(err)) == 0)
			(void)x.fmt->finish(x.state, tl);
		if (x.state)
			x.fmt->free(x.state);
		if (x.w)
			(void)jsonw__flush(x.w);
		jsonw__free(x.w);
		timeline__free(tl);
	}
	return 0;
}
