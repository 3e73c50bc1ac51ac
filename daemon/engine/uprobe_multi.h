/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal to the engine: multi-uprobe links (uprobe_multi.c). A uprobe made through a perf event makes
 * the kernel wait ~90 ms at its creation and again at its release, one after another; a multi-uprobe
 * link takes 0.1-0.2 ms to make and under 5 ms to close here. */
#ifndef RTPROF_UPROBE_MULTI_H
#define RTPROF_UPROBE_MULTI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Kinds of a USDT argument in a cookie (usdt__arg_cookie); the probes decode it (runtime.bpf.c). */
#define USDT_ARG_CONST 0
#define USDT_ARG_REG 1
#define USDT_ARG_DEREF 2

/* Whether to place uprobes as multi-uprobe links: Linux 6.6 or later, unless RTPROF_NO_UPROBE_MULTI is
 * set (the per-probe perf-event path, as on older kernels). */
bool uprobe_multi__wanted(void);
/* The attach type the programs of such links are loaded with (BPF_TRACE_UPROBE_MULTI). */
int uprobe_multi__attach_type(void);
/* One link of prog_fd's program on cnt offsets of the file at path, for process pid; cookies and
 * ref_ctr_offsets (USDT semaphores) may be NULL. The link's fd, or -errno. */
int uprobe_multi__link(int prog_fd, pid_t pid, const char *path, const uint64_t *offsets, const uint64_t *cookies,
		       const uint64_t *ref_ctr_offsets, unsigned int cnt, bool ret);
/* The argument `index` of an SDT argument string (e.g. "-4@112(%rsp) -8@%r12") as a cookie: bits 0-1 its
 * kind, 2-5 its size in bytes, 6 signed, 8-15 the register's offset in struct pt_regs, 32-63 the constant
 * or the offset from the register. -ENOENT (no such argument), -EINVAL (a form not understood), -ENOTSUP
 * (an architecture without a register table). x86-64 only. */
int usdt__arg_cookie(const char *args, unsigned int index, uint64_t *cookie);

#endif
