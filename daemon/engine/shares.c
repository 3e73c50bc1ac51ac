// SPDX-License-Identifier: LGPL-2.1-or-later
/* Thread shares (bpf/rtprof_abi.h): caps on the records a slot's threads may hold in the `threads` table,
 * in the probes' .bss: the probes charge the records they make, the engine those it seeds and takes off
 * those it deletes. */
#include <errno.h>

#include "engine/engine_internal.h"
#include "rtprof.skel.h"

int engine__share_set(struct engine *e, unsigned int share, unsigned int cap, int parent)
{
	struct rtp_thread_share *sh;

	if (share >= RTP_MAX_SHARES || parent >= RTP_MAX_SHARES || parent == (int)share)
		return -EINVAL;
	sh = &e->skel->bss->thread_shares[share];
	__atomic_store_n(&sh->cap, cap, __ATOMIC_SEQ_CST);
	__atomic_store_n(&sh->parent, parent < 0 ? 0u : (unsigned int)parent + 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&sh->drops, 0, __ATOMIC_SEQ_CST);
	return 0;
}

int engine__session_share(struct engine *e, int session, int share)
{
	if (session < 0 || (unsigned int)session >= e->opts.max_sessions || session >= RTP_MAX_SHARE_SLOTS ||
	    share >= RTP_MAX_SHARES)
		return -EINVAL;
	__atomic_store_n(&e->skel->bss->slot_share[session], share < 0 ? 0u : (unsigned int)share + 1,
			 __ATOMIC_SEQ_CST);
	return 0;
}

int engine__share_stats(const struct engine *e, unsigned int share, unsigned int *threads, uint64_t *drops)
{
	const struct rtp_thread_share *sh;

	if (share >= RTP_MAX_SHARES)
		return -EINVAL;
	sh = &e->skel->bss->thread_shares[share];
	*threads = __atomic_load_n(&sh->threads, __ATOMIC_RELAXED);
	*drops = __atomic_load_n(&sh->drops, __ATOMIC_RELAXED);
	return 0;
}

/* One record more, unless the share is full: as the probes' share_take. */
static bool share_take(struct rtp_thread_share *sh)
{
	__u32 n = __atomic_load_n(&sh->threads, __ATOMIC_RELAXED);

	do {
		if (sh->cap && n >= sh->cap) {
			__atomic_fetch_add(&sh->drops, 1, __ATOMIC_RELAXED);
			return false;
		}
	} while (!__atomic_compare_exchange_n(&sh->threads, &n, n + 1, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
	return true;
}

/* One record less, never below 0 (a record the probes made after its share was reassigned, say). */
static void share_put(struct rtp_thread_share *sh)
{
	__u32 n = __atomic_load_n(&sh->threads, __ATOMIC_RELAXED);

	while (n && !__atomic_compare_exchange_n(&sh->threads, &n, n - 1, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
		;
}

int engine_share_charge(struct engine *e, unsigned int session)
{
	struct rtp_thread_share *shares = e->skel->bss->thread_shares;
	unsigned int i, parent;

	if (session >= RTP_MAX_SHARE_SLOTS)
		return 0;
	i = __atomic_load_n(&e->skel->bss->slot_share[session], __ATOMIC_RELAXED);
	if (!i || i > RTP_MAX_SHARES)
		return 0;
	if (!share_take(&shares[i - 1]))
		return -1;
	parent = shares[i - 1].parent;
	if (parent && parent <= RTP_MAX_SHARES && !share_take(&shares[parent - 1])) {
		share_put(&shares[i - 1]);
		__atomic_fetch_add(&shares[i - 1].drops, 1, __ATOMIC_RELAXED);
		return -1;
	}
	return (int)i;
}

void engine_share_release(struct engine *e, unsigned int share)
{
	struct rtp_thread_share *shares = e->skel->bss->thread_shares;
	unsigned int parent;

	if (!share || share > RTP_MAX_SHARES)
		return;
	parent = shares[share - 1].parent;
	share_put(&shares[share - 1]);
	if (parent && parent <= RTP_MAX_SHARES)
		share_put(&shares[parent - 1]);
}
