// SPDX-License-Identifier: LGPL-2.1-or-later
/* Watch mode from the first instruction: session slots held ready in the probes' `armed_slots` queue.
 *
 * Once a watched program's runtime probes are placed on its files for every process (rt_attach with
 * RT_FILEWIDE), the program is a template (`watch_files`). A process that execs it is put by the exec
 * probe into a slot popped from the queue, with its runtime entry made from the template: from its first
 * instruction its syscalls, threads and runtime events are counted there. Its record (RTP_EV_ARMED) names
 * the slot; the caller's session claims it (engine__watch_claim) once the runtime detection says it is
 * watched, or gives it back (engine__watch_release), cleared, to the queue. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "base/clock.h"
#include "engine/bpfmap.h"
#include "engine/engine_internal.h"
#include "rtprof.skel.h"

/* A process the probes put in a slot but nobody claimed within this time is let go (its detection was
 * dropped, or its record lost). */
#define ARMED_STALE_NS (10ull * 1000 * 1000 * 1000)
#define ARMED_CHECK_NS (1000ull * 1000 * 1000)

static int armed_find(const struct engine *e, pid_t pid)
{
	for (unsigned int i = 0; pid > 0 && i < e->n_armed; i++)
		if (e->armed[i].pid == pid)
			return (int)i;
	return -1;
}

/* One more slot held ready: a session of the engine's, in the probes' queue. 0 or -errno. */
static int arm_one(struct engine *e)
{
	int s = engine__session_new(e);
	__u32 slot;

	if (s < 0)
		return s;
	slot = (__u32)s;
	e->sessions[s].no_follow = true; /* each watched process is a session of its own */
	e->sessions[s].armed = true;
	(void)engine__session_share(e, s, -1); /* root's, as watched sessions are: no share of the thread table */
	if (bpf_map__update_elem(e->skel->maps.armed_slots, NULL, 0, &slot, sizeof(slot), BPF_ANY)) {
		engine_session_clear(&e->sessions[s]);
		return -ENOSPC;
	}
	e->armed[e->n_armed++] = (struct engine_armed){ .slot = slot };
	return 0;
}

void engine_armed_evict(struct engine *e, pid_t pid, unsigned int slot)
{
	struct rtp_target tgt;
	__u32 key = (__u32)pid;
	int r = bpf_map__lookup_elem(e->skel->maps.targets, &key, sizeof(key), &tgt, sizeof(tgt), 0);

	/* still in the slot: out of it, its runtime entry and threads with it; in another session's now (a
	 * client attached to it meanwhile): left to that one */
	if (r == 0 && tgt.slot == slot) {
		(void)bpf_map__delete_elem(e->skel->maps.targets, &key, sizeof(key), 0);
		__atomic_fetch_add(&e->skel->bss->target_gen, 1, __ATOMIC_SEQ_CST);
		(void)bpf_map__delete_elem(e->skel->maps.rt_procs, &key, sizeof(key), 0);
	}
	if (r || tgt.slot == slot)
		engine_forget_threads_of(e, pid);
}

/* Take the process out of slot i, clear the slot and put it back in the queue. */
static void disarm_proc(struct engine *e, unsigned int i)
{
	__u32 slot = e->armed[i].slot;

	engine_armed_evict(e, e->armed[i].pid, slot);
	(void)engine_clear_slot(e, slot);
	e->armed[i].pid = 0;
	e->armed[i].exec_ns = 0;
	if (bpf_map__update_elem(e->skel->maps.armed_slots, NULL, 0, &slot, sizeof(slot), BPF_ANY)) {
		/* the queue is full (it should not be): the slot goes back to the free ones */
		engine_session_clear(&e->sessions[slot]);
		e->armed[i] = e->armed[--e->n_armed];
	}
}

void engine__watch_arm(struct engine *e, unsigned int n)
{
	__u32 slot;

	/* without multi-uprobe links no probe is file-wide, so no program is a template */
	if (!e->rt.uprobe_multi || !e->rt.fw)
		n = 0;
	e->armed_want = n < RTP_ARMED_SLOTS ? n : RTP_ARMED_SLOTS;
	while (e->n_armed < e->armed_want && arm_one(e) == 0)
		;
	/* fewer: the slots still in the queue are taken out of it and freed */
	while (e->n_armed > e->armed_want &&
	       bpf_map__lookup_and_delete_elem(e->skel->maps.armed_slots, NULL, 0, &slot, sizeof(slot), 0) == 0) {
		for (unsigned int i = 0; i < e->n_armed; i++) {
			if (e->armed[i].slot != slot)
				continue;
			engine_session_clear(&e->sessions[slot]);
			e->armed[i] = e->armed[--e->n_armed];
			break;
		}
	}
}

int engine__watch_claim(struct engine *e, pid_t pid)
{
	int i = armed_find(e, pid);
	unsigned int slot;

	if (i < 0)
		return -ENOENT;
	slot = e->armed[i].slot;
	e->sessions[slot].armed = false;
	e->sessions[slot].armed_exec_ns = e->armed[i].exec_ns ? e->armed[i].exec_ns : clock__mono_ns();
	e->armed[i] = e->armed[--e->n_armed];
	while (e->n_armed < e->armed_want && arm_one(e) == 0)
		;
	return (int)slot;
}

void engine__watch_release(struct engine *e, pid_t pid)
{
	int i = armed_find(e, pid);

	if (i >= 0)
		disarm_proc(e, (unsigned int)i);
}

void engine_armed_exec(struct engine *e, const struct rtp_event *ev)
{
	for (unsigned int i = 0; i < e->n_armed; i++) {
		if (e->armed[i].slot != ev->parent_tgid || e->armed[i].pid)
			continue;
		e->armed[i].pid = (pid_t)ev->tgid;
		e->armed[i].exec_ns = ev->ts_ns;
		return;
	}
}

void engine_armed_exit(struct engine *e, pid_t pid)
{
	engine__watch_release(e, pid);
}

struct armed_scan {
	struct engine *e;
	uint64_t now;
};

/* A target in a slot held ready whose armed record never came (the ring buffer was full): adopted, to be let
 * go when stale. */
static int adopt_lost(const void *key, const void *value, void *ctx)
{
	const struct rtp_target *tgt = value;
	struct armed_scan *a = ctx;
	struct engine *e = a->e;
	pid_t pid = (pid_t)*(const __u32 *)key;

	if (armed_find(e, pid) >= 0)
		return 0;
	for (unsigned int i = 0; i < e->n_armed; i++) {
		if (e->armed[i].slot == tgt->slot && !e->armed[i].pid) {
			e->armed[i].pid = pid;
			e->armed[i].exec_ns = a->now;
			break;
		}
	}
	return 0;
}

void engine_armed_poll(struct engine *e, uint64_t now)
{
	struct armed_scan a = { e, now };

	if (!e->armed_want || now < e->armed_check_ns + ARMED_CHECK_NS)
		return;
	e->armed_check_ns = now;
	(void)bpfmap__delete_where(e->skel->maps.targets, sizeof(__u32), sizeof(struct rtp_target), adopt_lost, &a);
	for (unsigned int i = 0; i < e->n_armed; i++)
		if (e->armed[i].pid && e->armed[i].exec_ns + ARMED_STALE_NS < now)
			disarm_proc(e, i);
	while (e->n_armed < e->armed_want && arm_one(e) == 0)
		;
}

int engine__watch_prime(struct engine *e, const char *path, unsigned int kinds, int *kind)
{
	return rt_prime(&e->rt, path, e->opts.runtime_mode, kinds, kind);
}
