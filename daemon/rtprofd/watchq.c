// SPDX-License-Identifier: LGPL-2.1-or-later
/* Runtime detection of watch mode's candidates, off the event loop. Any user can run a file named
 * python* or node*, and its analysis reads a file the user crafted: one thread does it, each file's
 * analysis bounded in bytes and time (sys/elffile.h), and hands the results back to the loop through an
 * eventfd. The loop never waits for it: a full queue drops the candidate (counted, logged). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "base/clock.h"
#include "sys/runtime.h"
#include "rtprofd/watchq.h"

struct watchq {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct watchq_job todo[WATCHQ_MAX], done[WATCHQ_MAX];
	size_t todo_head, ntodo, ndone;
	int efd;
	bool stop, started;
};

static void *worker(void *arg)
{
	struct watchq *q = arg;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		struct watchq_job job;
		uint64_t start, one = 1;

		while (!q->stop && (!q->ntodo || q->ndone == WATCHQ_MAX))
			pthread_cond_wait(&q->cond, &q->lock);
		if (q->stop)
			break;
		job = q->todo[q->todo_head];
		q->todo_head = (q->todo_head + 1) % WATCHQ_MAX;
		q->ntodo--;
		pthread_mutex_unlock(&q->lock);

		start = clock__mono_ns();
		job.err = runtime__detect(job.pid, &job.rt);
		job.took_ns = clock__mono_ns() - start;

		pthread_mutex_lock(&q->lock);
		q->done[q->ndone++] = job;
		(void)!write(q->efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int watchq__new(struct watchq **out)
{
	struct watchq *q = calloc(1, sizeof(*q));
	int r;

	*out = NULL;
	if (!q)
		return -ENOMEM;
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->efd < 0) {
		r = -errno;
		free(q);
		return r;
	}
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	r = -pthread_create(&q->thread, NULL, worker, q);
	if (r) {
		watchq__free(q);
		return r;
	}
	q->started = true;
	*out = q;
	return 0;
}

int watchq__fd(const struct watchq *q)
{
	return q->efd;
}

bool watchq__push(struct watchq *q, pid_t pid, int pidfd)
{
	bool ok;

	pthread_mutex_lock(&q->lock);
	ok = q->ntodo < WATCHQ_MAX;
	if (ok) {
		q->todo[(q->todo_head + q->ntodo) % WATCHQ_MAX] = (struct watchq_job){ .pid = pid, .pidfd = pidfd };
		q->ntodo++;
		pthread_cond_signal(&q->cond);
	}
	pthread_mutex_unlock(&q->lock);
	return ok;
}

bool watchq__queued(struct watchq *q, pid_t pid)
{
	bool found = false;

	pthread_mutex_lock(&q->lock);
	for (size_t i = 0; i < q->ntodo && !found; i++)
		found = q->todo[(q->todo_head + i) % WATCHQ_MAX].pid == pid;
	pthread_mutex_unlock(&q->lock);
	return found;
}

size_t watchq__take(struct watchq *q, struct watchq_job *out, size_t max)
{
	uint64_t count;
	size_t n;

	(void)!read(q->efd, &count, sizeof(count));
	pthread_mutex_lock(&q->lock);
	n = q->ndone < max ? q->ndone : max;
	for (size_t i = 0; i < n; i++)
		out[i] = q->done[i];
	for (size_t i = n; i < q->ndone; i++)
		q->done[i - n] = q->done[i];
	q->ndone -= n;
	if (q->ndone) {
		uint64_t one = 1;

		(void)!write(q->efd, &one, sizeof(one)); /* the rest on the next turn */
	}
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return n;
}

void watchq__free(struct watchq *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->stop = true;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	/* at most one analysis in flight, which its deadline ends */
	if (q->started)
		pthread_join(q->thread, NULL);
	for (size_t i = 0; i < q->ntodo; i++) {
		int fd = q->todo[(q->todo_head + i) % WATCHQ_MAX].pidfd;

		if (fd >= 0)
			close(fd);
	}
	for (size_t i = 0; i < q->ndone; i++)
		if (q->done[i].pidfd >= 0)
			close(q->done[i].pidfd);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	close(q->efd);
	free(q);
}
