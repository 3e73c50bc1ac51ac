/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `rtprof export`'s formats (docs/export.md). cmd_export.c reads the trace once (timeline__load) and hands
 * each format the header, every syscall and runtime record in file order, and at the end the timeline
 * built in the same pass; every format writes through the one streaming writer (base/jsonw.h). */
#ifndef RTPROF_EXPORT_H
#define RTPROF_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "base/jsonw.h"
#include "trace/timeline.h"
#include "trace/trace.h"

struct export_opts {
	uint64_t min_syscall_ns; /* chrome: shorter syscalls get no slice */
	uint64_t load_bucket_ns; /* chrome: the width of a CPU load sample */
	int profile;             /* --profile: enum rtp_profile_kind of the stacks to export; -1: none */
	char profile_syscall[24]; /* --profile syscall:NAME: that syscall's; "" all */
	bool output_gz;          /* the output is compressed already (OUT.gz) */
};

struct exporter {
	const char *name; /* --format NAME */
	/* The state of one export, once the file has shown a trace header; NULL when out of memory. */
	void *(*new)(const struct export_opts *opts, struct jsonw *w, const struct trace_header *h);
	/* Records as they are read (NULL: not needed); 0 or -errno, which stops reading. */
	int (*on_syscall)(void *state, const struct rtp_tr_syscall *sys);
	int (*on_runtime)(void *state, const struct rtp_tr_runtime *rt);
	/* The rest of the output, from the timeline; 0 or -errno. */
	int (*finish)(void *state, const struct timeline *tl);
	void (*free)(void *state);
};

extern const struct exporter export_chrome; /* export_chrome.c */
extern const struct exporter export_folded; /* export_folded.c */
extern const struct exporter export_csv;    /* export_csv.c */
extern const struct exporter export_speedscope; /* export_profile.c: stacks, speedscope's sampled format */
extern const struct exporter export_svg;        /* export_profile.c: stacks, an interactive flame graph */
extern const struct exporter export_pprof;      /* export_pprof.c: stacks, pprof's profile.proto, gzip'd */

/* --format folded --profile KIND: the trace's stacks of that kind as folded lines. 0 or -errno (-ENODATA:
 * the trace has no stacks, said on stderr). */
struct rtp_prof_row;
/* The trace has stacks: 0; else -ENODATA, said on stderr with how to record them. */
int export__need_profiles(const struct timeline *tl);
int export__profile_folded(struct jsonw *w, const struct timeline *tl, unsigned int kind, const char *syscall);

/* "read", or "syscall_NR" in buf for a number without a name. */
const char *export__syscall_name(uint32_t nr, char *buf, size_t len);
/* "GIL wait", "GC 2", "threadpool fs"... for a runtime interval's kind and argument. */
const char *export__runtime_name(uint32_t kind, uint32_t arg, char *buf, size_t len);

#endif
