/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runtime metrics of python and node targets (rtmetrics.c): what they need of the engine is this narrow
 * context, not the engine itself. Not part of the engine's API. */
#ifndef RTPROF_RTMETRICS_H
#define RTPROF_RTMETRICS_H

#include <stdint.h>

#include "engine/target.h"
#include "model/report.h"
#include "trace/trace.h"

struct rtprof_bpf;
struct rt_ready;

struct rt_ctx {
	struct rtprof_bpf *skel;
	/* a record for the trace, when recording (the engine's sink) */
	void (*emit)(void *owner, const struct trace_rec *rec);
	void *owner;
	struct reaper *reaper; /* where detached probes go to be destroyed (reaper.h) */
	bool uprobe_multi;     /* uprobes are multi-uprobe links (rt_prepare_uprobe_multi before the load) */
	struct rt_filewide *fw; /* the probes placed file-wide (watch mode); NULL: none */
	bool off_thread;        /* rt_ready_make's copy: not on the engine's thread, the reaper not its to use */
};

/* The table of probes placed on a file for every process, and their links, closed at its free. */
struct rt_filewide *rt_filewide__new(void);
void rt_filewide__free(struct rt_filewide *fw);

/* Before the object's load: the uprobe programs' attach type, for multi-uprobe links. */
struct rtprof_bpf;
void rt_prepare_uprobe_multi(struct rtprof_bpf *skel);

/* Read ahead what rt_attach will need of the program at `path` (its runtime, its interpreter's symbols),
 * which stays cached (sys/runtime.h, sys/symbols.h): any thread, no engine needed. */
void rt_prefetch(const char *path);

/* rt_attach's `how`: RT_FILEWIDE places the probes on their files for every process (watch mode; with
 * multi-uprobe links), the process counting through those alone, and makes its program a template
 * (rtp_watch_tmpl) for the next; RT_ARMED: the process was put in a slot held ready at its exec, whose
 * runtime entry (made by the probes from the template) holds its figures since. */
#define RT_FILEWIDE 0x1
#define RT_ARMED 0x2

/* Attach the probes of a process whose runtime is known (python, node) as `mode` (enum engine_rt_mode)
 * says, `from` (enum rtp_probes_from) the exec at exec_ns; detach them (keeping its totals for the report); free what is kept.
 * ready: its probes made ahead (rt_ready_make), taken if they fit this process and mode, else dropped; NULL. */
void rt_attach(const struct rt_ctx *c, struct target_proc *p, int mode, unsigned int how, unsigned int from,
	       uint64_t exec_ns, struct rt_ready *ready);
/* A process's own runtime probes (not file-wide: multi-uprobe links only), made ahead on any thread: making
 * a link can wait ~20 ms in the kernel, which the engine's thread should not. Reads only what the engine set
 * at its start. NULL: none made (the engine makes them at the attach). Freed by rt_attach or rt_ready_free,
 * on the engine's thread. */
struct rt_ready *rt_ready_make(const struct rt_ctx *c, pid_t pid, const struct rtp_runtime_info *info, int mode);
void rt_ready_free(const struct rt_ctx *c, struct rt_ready *ready);
void rt_detach(const struct rt_ctx *c, struct target_proc *p);
/* The runtime probes of the program at path placed file-wide, and the program made a template, before
 * any process of it is seen (watch mode): its processes are counted from their first instruction from
 * the first one on, if its runtime (enum rtp_runtime_kind, in *kind) is one of kinds (bits 1 << kind).
 * 0, -ENOENT (not such a program, or nothing to probe in it), -ENOSPC (no room left for file-wide
 * probes), -errno. */
int rt_prime(const struct rt_ctx *c, const char *path, int mode, unsigned int kinds, int *kind);
void rt_free(const struct rt_ctx *c, struct target_proc *p);
/* Finish what waited for the process's libraries to be mapped. */
void rt_poll(const struct rt_ctx *c, struct target_proc *p);
/* Where the process maps the byte at file offset `off` of the ELF file at `path`: 0, -ENOENT (not mapped,
 * yet) or -errno. */
int rt_file_vaddr(pid_t pid, const char *path, uint64_t off, uint64_t *vaddr);
/* A TRACE_RUNTIME record of the process's methods. */
void rt_trace_methods(const struct rt_ctx *c, struct target_proc *p);
/* The runtime row of a process with runtime probes (p->rt), its GIL threads from rep's thread rows. */
void rt_report_row(const struct rt_ctx *c, const struct target_proc *p, const struct rtp_report *rep,
		   struct rtp_report_runtime *o, uint64_t now, uint64_t session_start);

#endif
