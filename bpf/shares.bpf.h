/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Thread shares (rtprof_abi.h): the records a slot's threads may make in the `threads` table, capped by
 * userspace. thread_get (rtprof.bpf.h) charges a record before it inserts it. */
#ifndef RTPROF_SHARES_BPF_H
#define RTPROF_SHARES_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "rtprof_abi.h"

/* Set by userspace: a slot's share + 1 (0: none), and the shares. */
__u32 slot_share[RTP_MAX_SHARE_SLOTS] __weak;
struct rtp_thread_share thread_shares[RTP_MAX_SHARES] __weak;

static __always_inline bool share_take(struct rtp_thread_share *sh)
{
	__u32 n = __sync_fetch_and_add(&sh->threads, 1);

	if (sh->cap && n >= sh->cap) {
		__sync_fetch_and_sub(&sh->threads, 1);
		__sync_fetch_and_add(&sh->drops, 1);
		return false;
	}
	return true;
}

/* Charge a new thread record of a target to its slot's share (and that share's parent): the share + 1,
 * 0 for none, -1 when full. */
static __always_inline int share_charge(const struct rtp_target *tgt)
{
	struct rtp_thread_share *sh;
	__u32 slot, i, parent;

	if (!tgt)
		return 0;
	slot = tgt->slot;
	if (slot >= RTP_MAX_SHARE_SLOTS)
		return 0;
	i = slot_share[slot];
	if (!i || i > RTP_MAX_SHARES)
		return 0;
	sh = &thread_shares[i - 1];
	if (!share_take(sh))
		return -1;
	parent = sh->parent;
	if (parent && parent <= RTP_MAX_SHARES && !share_take(&thread_shares[parent - 1])) {
		__sync_fetch_and_sub(&sh->threads, 1);
		__sync_fetch_and_add(&sh->drops, 1);
		return -1;
	}
	return (int)i;
}

static __always_inline void share_uncharge(int share)
{
	struct rtp_thread_share *sh;
	__u32 parent;

	if (share <= 0 || share > RTP_MAX_SHARES)
		return;
	sh = &thread_shares[share - 1];
	parent = sh->parent;
	__sync_fetch_and_sub(&sh->threads, 1);
	if (parent && parent <= RTP_MAX_SHARES)
		__sync_fetch_and_sub(&thread_shares[parent - 1].threads, 1);
}

#endif /* RTPROF_SHARES_BPF_H */
