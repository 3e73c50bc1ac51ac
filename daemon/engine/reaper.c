// SPDX-License-Identifier: LGPL-2.1-or-later
/* Detaching uprobes off the caller's thread. Closing a uprobe's perf event waits for an RCU grace period
 * in the kernel, under a mutex that makes the closes of one machine wait for each other (~90-100 ms each
 * here, measured with strace: 14 closes on 14 threads still ended ~90 ms apart). One at a time on the
 * caller's thread, node's 14 probes held rtprofd's event loop 1.4 s at each detach. Handed over here,
 * they are destroyed by threads of their own that nobody waits for but engine__free. USDT links take the
 * lock that also covers their attach: libbpf's USDT bookkeeping is per BPF object, not thread-safe. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "engine/reaper.h"

#define REAPER_THREADS 256       /* at most, for one flush */
#define REAPER_PER_THREAD 2      /* links a thread closes, at least */
#define REAPER_STACK (64u << 10) /* a close needs little of it */

struct batch {
	struct reaper *r;
	struct bpf_link **links;
	bool *usdt;
	int *fds;
	size_t n;
};

static pthread_mutex_t usdt_lock = PTHREAD_MUTEX_INITIALIZER;

void reaper__usdt_lock(void)
{
	pthread_mutex_lock(&usdt_lock);
}

void reaper__usdt_unlock(void)
{
	pthread_mutex_unlock(&usdt_lock);
}

static void batch_destroy(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		if (!b->links[i]) {
			close(b->fds[i]);
			continue;
		}
		if (b->usdt[i])
			pthread_mutex_lock(&usdt_lock);
		bpf_link__destroy(b->links[i]);
		if (b->usdt[i])
			pthread_mutex_unlock(&usdt_lock);
	}
}

static void *batch_main(void *arg)
{
	struct batch *b = arg;
	struct reaper *r = b->r;

	batch_destroy(b);
	free(b->links);
	free(b->usdt);
	free(b->fds);
	free(b);
	pthread_mutex_lock(&r->lock);
	r->running--;
	pthread_cond_broadcast(&r->done);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

void reaper__init(struct reaper *r)
{
	*r = (struct reaper){ 0 };
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->done, NULL);
}

static bool grow(struct reaper *r)
{
	size_t cap = r->cap ? 2 * r->cap : 16;
	struct bpf_link **links;
	bool *usdt;
	int *fds;

	if (r->n < r->cap)
		return true;
	links = realloc(r->links, cap * sizeof(*links));
	if (links)
		r->links = links;
	usdt = links ? realloc(r->usdt, cap * sizeof(*usdt)) : NULL;
	if (usdt)
		r->usdt = usdt;
	fds = usdt ? realloc(r->fds, cap * sizeof(*fds)) : NULL;
	if (!fds)
		return false;
	r->fds = fds;
	r->cap = cap;
	return true;
}

void reaper__add(struct reaper *r, struct bpf_link *link, bool usdt)
{
	if (!link)
		return;
	if (!grow(r)) {
		/* no memory to defer it: now, on this thread */
		if (usdt)
			reaper__usdt_lock();
		bpf_link__destroy(link);
		if (usdt)
			reaper__usdt_unlock();
		return;
	}
	r->links[r->n] = link;
	r->usdt[r->n] = usdt;
	r->fds[r->n] = -1;
	r->n++;
}

void reaper__add_fd(struct reaper *r, int fd)
{
	if (fd < 0)
		return;
	if (!grow(r)) {
		close(fd);
		return;
	}
	r->links[r->n] = NULL;
	r->usdt[r->n] = false;
	r->fds[r->n] = fd;
	r->n++;
}

/* A batch of links[from, from + n) of the handed-over arrays, in arrays of its own. */
static struct batch *batch_of(struct reaper *r, size_t from, size_t n)
{
	struct batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	*b = (struct batch){ .r = r, .n = n, .links = malloc(n * sizeof(*b->links)), .usdt = malloc(n * sizeof(*b->usdt)),
			     .fds = malloc(n * sizeof(*b->fds)) };
	if (!b->links || !b->usdt || !b->fds) {
		free(b->links);
		free(b->usdt);
		free(b->fds);
		free(b);
		return NULL;
	}
	memcpy(b->links, r->links + from, n * sizeof(*b->links));
	memcpy(b->usdt, r->usdt + from, n * sizeof(*b->usdt));
	memcpy(b->fds, r->fds + from, n * sizeof(*b->fds));
	return b;
}

void reaper__flush(struct reaper *r)
{
	size_t per;
	pthread_attr_t attr;

	if (!r->n)
		return;
	/* a link's release waits for RCU grace periods in the kernel (~40 ms each here), which concurrent
	 * releases share: a thread per two links, so that the 470 links of 60 watched processes take a
	 * fraction of a second, not the 19 s of one thread */
	per = (r->n + REAPER_THREADS - 1) / REAPER_THREADS;
	if (per < REAPER_PER_THREAD)
		per = REAPER_PER_THREAD;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, REAPER_STACK);
	for (size_t from = 0; from < r->n; from += per) {
		size_t n = r->n - from < per ? r->n - from : per;
		struct batch *b = batch_of(r, from, n);
		pthread_t t;

		if (!b) {
			/* no memory for a batch: on this thread */
			struct batch local = { r, r->links + from, r->usdt + from, r->fds + from, n };

			batch_destroy(&local);
			continue;
		}
		pthread_mutex_lock(&r->lock);
		r->running++;
		pthread_mutex_unlock(&r->lock);
		if (pthread_create(&t, &attr, batch_main, b) != 0)
			batch_main(b); /* no thread: the caller waits for it */
	}
	pthread_attr_destroy(&attr);
	r->n = 0;
}

void reaper__wait(struct reaper *r)
{
	reaper__flush(r);
	pthread_mutex_lock(&r->lock);
	while (r->running)
		pthread_cond_wait(&r->done, &r->lock);
	pthread_mutex_unlock(&r->lock);
}

void reaper__fini(struct reaper *r)
{
	reaper__wait(r);
	free(r->links);
	free(r->usdt);
	free(r->fds);
	pthread_cond_destroy(&r->done);
	pthread_mutex_destroy(&r->lock);
	*r = (struct reaper){ 0 };
}
