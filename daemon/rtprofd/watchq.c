// SPDX-License-Identifier: LGPL-2.1-or-later
/* Runtime detection of watch mode's candidates and of the processes clients attach to, off the event loop
 * (an analysis takes up to a second per file). Any user can run a file named python* or node*, and its
 * analysis reads a file the user crafted: one thread does it, each file's analysis bounded in bytes and
 * time (sys/elffile.h), and hands the results back to the loop through an eventfd. The loop never waits
 * for it: a full queue drops the candidate (counted, logged), or refuses the attach. An attach's runtime
 * probes are made here too, and what its stack walker reads of the program read ahead (the `ready` hook):
 * the kernel's wait to make a link, and the reading of a large executable, delay no client. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/stat.h>

#include "base/clock.h"
#include "sys/runtime.h"
#include "rtprofd/watchq.h"

/* Runtimes found of programs whose analysis named no shared library (node; a python with libpython linked
 * in), by the file's identity: the same file gives the same answer, and node's analysis takes 20-250 ms
 * here, so that a burst of 20 node processes waited seconds for their watch. The worker's own. */
#define WATCHQ_CACHE 8

struct known_exe {
	bool used;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	uint64_t last_used;
	struct rtp_runtime_info rt;
};

struct watchq {
	struct known_exe known[WATCHQ_CACHE];
	uint64_t known_tick;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct watchq_job todo[WATCHQ_MAX], done[WATCHQ_MAX];
	size_t todo_head, ntodo, ndone;
	int efd;
	bool stop, started;
	struct watchq_hooks hooks;
};

static bool same_file(const struct known_exe *k, const struct stat *st)
{
	return k->used && k->dev == st->st_dev && k->ino == st->st_ino && k->size == st->st_size &&
	       k->mtime.tv_sec == st->st_mtim.tv_sec && k->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       k->ctime.tv_sec == st->st_ctim.tv_sec && k->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

/* runtime__detect, through the cache of programs already analysed */
static int detect(struct watchq *q, pid_t pid, struct rtp_runtime_info *rt)
{
	struct known_exe *slot = &q->known[0];
	struct stat before, after;
	char link[32];
	ssize_t n;
	int r;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	if (stat(link, &before))
		return runtime__detect(pid, rt); /* gone, or no program: it says which */
	for (size_t i = 0; i < WATCHQ_CACHE; i++) {
		struct known_exe *k = &q->known[i];

		if (same_file(k, &before)) {
			*rt = k->rt;
			/* the path as this process names it (another mount namespace, a hard link) */
			n = readlink(link, rt->exe, sizeof(rt->exe) - 1);
			if (n < 0)
				return runtime__detect(pid, rt);
			rt->exe[n] = '\0';
			k->last_used = ++q->known_tick;
			return 0;
		}
		if (k->last_used < slot->last_used)
			slot = k; /* the least recently used, or a free one (0) */
	}
	r = runtime__detect(pid, rt);
	/* kept only if the process still ran the same file at the end (no exec in between) */
	if (r || rt->lib[0] || rt->kind == RTP_RUNTIME_OTHER || stat(link, &after) ||
	    after.st_dev != before.st_dev || after.st_ino != before.st_ino)
		return r;
	*slot = (struct known_exe){ .used = true, .dev = before.st_dev, .ino = before.st_ino, .size = before.st_size,
				    .mtime = before.st_mtim, .ctime = before.st_ctim, .last_used = ++q->known_tick,
				    .rt = *rt };
	return 0;
}

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
		job.err = detect(q, job.pid, &job.rt);
		job.took_ns = clock__mono_ns() - start;
		job.ready = NULL;
		if (!job.err && job.owner && q->hooks.ready)
			q->hooks.ready(q->hooks.ctx, &job);

		pthread_mutex_lock(&q->lock);
		q->done[q->ndone++] = job;
		(void)!write(q->efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int watchq__new(struct watchq **out, const struct watchq_hooks *hooks)
{
	struct watchq *q = calloc(1, sizeof(*q));
	int r;

	*out = NULL;
	if (!q)
		return -ENOMEM;
	if (hooks)
		q->hooks = *hooks;
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

bool watchq__push_job(struct watchq *q, const struct watchq_job *job)
{
	bool ok;

	pthread_mutex_lock(&q->lock);
	ok = q->ntodo < WATCHQ_MAX;
	if (ok) {
		q->todo[(q->todo_head + q->ntodo) % WATCHQ_MAX] = *job;
		q->ntodo++;
		pthread_cond_signal(&q->cond);
	}
	pthread_mutex_unlock(&q->lock);
	return ok;
}

bool watchq__push(struct watchq *q, pid_t pid, int pidfd)
{
	struct watchq_job job = { .pid = pid, .pidfd = pidfd };

	return watchq__push_job(q, &job);
}

size_t watchq__room(struct watchq *q)
{
	size_t room;

	pthread_mutex_lock(&q->lock);
	room = WATCHQ_MAX - q->ntodo;
	pthread_mutex_unlock(&q->lock);
	return room;
}

bool watchq__queued(struct watchq *q, pid_t pid)
{
	bool found = false;

	pthread_mutex_lock(&q->lock);
	for (size_t i = 0; i < q->ntodo && !found; i++)
		found = q->todo[(q->todo_head + i) % WATCHQ_MAX].pid == pid &&
			!q->todo[(q->todo_head + i) % WATCHQ_MAX].owner;
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
	for (size_t i = 0; i < q->ndone; i++) {
		if (q->done[i].pidfd >= 0)
			close(q->done[i].pidfd);
		if (q->done[i].ready && q->hooks.drop)
			q->hooks.drop(q->hooks.ctx, &q->done[i]);
	}
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	close(q->efd);
	free(q);
}
