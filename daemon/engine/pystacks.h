/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Python stacks (pystacks.c): the sampler's perf events, each CPython process's walker layout, and the
 * resolution of code objects into functions, files and lines while the process lives. Not part of the
 * engine's API. */
#ifndef RTPROF_PYSTACKS_H
#define RTPROF_PYSTACKS_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct engine;
struct target_proc;
struct rtp_report;
struct rtprof_bpf;

/* Before the object's load: the sampler loaded (and its tables sized) only when on; exact: every
 * syscall walked, not the slow ones and a sample of the others. */
int pystacks__prepare(struct rtprof_bpf *skel, bool on, bool exact);
/* After the load: the stacks' state, no sampling yet. 0 or -errno with a message. */
int pystacks__start(struct engine *e, char *err, size_t errlen);
void pystacks__stop(struct engine *e);
/* A rate's events (one cpu-clock perf event per CPU, the sampler attached), shared by whoever asks for the
 * same rate: the rate they sample at (the nearest one in use when the sampler has as many rates as it
 * keeps), or -errno with a message. Each get is put back once. */
int pystacks__rate_get(struct engine *e, unsigned int hz, char *err, size_t errlen);
void pystacks__rate_put(struct engine *e, unsigned int hz);
/* The process's runtime is (newly) known: a CPython of a session that samples stacks gets its walker layout, now or once its interpreter
 * is mapped (pystacks__poll). */
void pystacks__attach(struct engine *e, struct target_proc *p);
struct rtp_runtime_info;
/* Read ahead, on any thread, what pystacks__attach reads of the program of process pid (runtime rt): its
 * symbols, which stay cached by file (sys/symbols.c), node's v8dbg constants among them. */
void pystacks__prefetch(pid_t pid, const struct rtp_runtime_info *rt);
void pystacks__detach(struct engine *e, struct target_proc *p);
void pystacks__free_proc(struct target_proc *p);
/* A node process's perf map (/tmp/perf-PID.map in this mount namespace), when its walker read one, and the
 * V8 logs node 24 writes beside it (isolate-*-PID-v8.log in its directory). */
void pystacks__remove_perf_map(struct target_proc *p);
/* The process leaves with its session: its walker, its counts and what was kept of it. */
void pystacks__forget(struct engine *e, struct target_proc *p);
/* A new stack (RTP_REC_PY_STACK) to resolve while its process lives. */
void pystacks__new_stack(struct engine *e, uint32_t tgid, uint64_t stack);
/* An event-loop iteration that ran long, with its samples (RTP_REC_LOOP_BLOCK): kept with its process. */
struct rtp_loop_rec;
void pystacks__loop_block(struct engine *e, const struct rtp_loop_rec *rec);
/* Layouts that waited for a mapping; stacks that wait for resolution. */
void pystacks__poll(struct engine *e);
/* rep->profiles for a session's processes. 0 or -ENOMEM. */
int pystacks__report(struct engine *e, unsigned int session, struct rtp_report *rep);

#endif
