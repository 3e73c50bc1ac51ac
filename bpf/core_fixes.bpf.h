/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What differs between the kernels rtprof runs on, resolved when the programs are loaded (CO-RE): a field
 * or a tracepoint argument that exists is read, else what the older kernel has. The check is a constant
 * after relocation, so the verifier drops the branch not taken: a kernel that has the newer form runs
 * exactly the code it would without the fallback. */
#ifndef RTPROF_CORE_FIXES_BPF_H
#define RTPROF_CORE_FIXES_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

/* 5.14 (2f064a59a11f "sched: Change task_struct::state") renamed task_struct's state to __state. */
struct task_struct___pre_5_14 {
	long state;
} __attribute__((preserve_access_index));

static __always_inline __u32 task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return (__u32)BPF_CORE_READ((struct task_struct___pre_5_14 *)t, state);
}

/* 5.18 (fa2c3254d7cf "sched/tracing: Don't re-read p->state when emitting sched_switch event") passes prev's
 * state as sched_switch's fourth argument; before, it is read from prev, which a concurrent wakeup may
 * already have set running again. A type-based relocation compares the prototypes' parameter counts. */
typedef void (*btf_trace_sched_switch___prev_state)(void *, bool, struct task_struct *, struct task_struct *,
						      unsigned int);

static __always_inline __u32 sched_switch_prev_state(unsigned long long *ctx, struct task_struct *prev)
{
	if (bpf_core_type_exists(btf_trace_sched_switch___prev_state))
		return (__u32)ctx[3];
	return task_state(prev);
}

/* sched_process_exit gained group_dead ("the last thread of its process") as its second argument in 6.x;
 * before, the process's live-thread count says it: do_exit() decrements it before the tracepoint. Two
 * threads exiting at once may then both see 0: both are reported as the last (exitsnoop reads it so too). */
typedef void (*btf_trace_sched_process_exit___group_dead)(void *, struct task_struct *, bool);

static __always_inline bool sched_process_exit_group_dead(unsigned long long *ctx, struct task_struct *p)
{
	if (bpf_core_type_exists(btf_trace_sched_process_exit___group_dead))
		return (bool)ctx[1];
	return BPF_CORE_READ(p, signal, live.counter) == 0;
}

/* The syscall number at sys_exit, whose tracepoint passes only the registers and the return value: the
 * kernel's syscall_get_nr() (at sys_enter, the tracepoint's `id` is the number). */
#if defined(bpf_target_x86)
#define SYSCALL_NR_CORE(regs) ((__u32)BPF_CORE_READ(regs, orig_ax))
#elif defined(bpf_target_arm64)
struct pt_regs___arm64_syscallno {
	int syscallno;
} __attribute__((preserve_access_index));
#define SYSCALL_NR_CORE(regs) ((__u32)BPF_CORE_READ((struct pt_regs___arm64_syscallno *)(regs), syscallno))
#else
#error "rtprof's probes read syscall numbers at sys_exit on x86 and arm64 only"
#endif

#endif /* RTPROF_CORE_FIXES_BPF_H */
