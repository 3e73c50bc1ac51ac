// SPDX-License-Identifier: LGPL-2.1-or-later
/* Watch mode: every python/node process in a session of its own, owned by root, with a rolling window
 * of its figures, kept for the retention time after it exits. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <limits.h>

#include "base/clock.h"
#include "rtprofd/config.h"
#include "rtprofd/push.h"
#include "sys/procfs.h"
#include "sys/runtime.h"
#include "rtprofd/server_internal.h"
#include "rtprofd/watchq.h"

#define WATCH_PRIME_MAX 32 /* programs on PATH looked at */

static unsigned int watch_kind(enum rtp_runtime_kind kind)
{
	return kind == RTP_RUNTIME_PYTHON ? WATCH_PYTHON : kind == RTP_RUNTIME_NODE ? WATCH_NODE : 0;
}

int server__set_push(struct server *s, const char *url, unsigned int interval_s, char *err, size_t errlen)
{
	int r = pusher__new(url, &s->push, err, errlen);

	s->push_interval_s = interval_s ? interval_s : 15;
	s->next_push_ns = clock__mono_ns() + (uint64_t)s->push_interval_s * 1000000000ull;
	return r;
}

void server__set_watch(struct server *s, unsigned int mask, unsigned int retention_s, unsigned int window_s,
			unsigned int sample_hz)
{
	s->watch_mask = mask;
	s->watch_sample_hz = sample_hz;
	engine__watch_arm(s->e, mask ? WATCH_ARMED : 0);
	s->retention_s = retention_s;
	s->window_s = window_s ? window_s : 60;
	/* processes of a runtime no longer watched are let go */
	for (int i = 0; (unsigned int)i < s->lim.sessions; i++) {
		struct sess *ss = &s->sessions[i];
		struct rtp_report *rep = NULL;
		unsigned int kind = 0;

		if (!ss->used || !ss->watched)
			continue;
		if (engine__session_report(s->e, ss->slot, "attach", &rep) == 0 && rep->n_targets)
			kind = watch_kind(rep->targets[0].runtime.kind);
		report__free(rep);
		if (!(kind & mask))
			sessions__free(s, ss);
	}
}

int watch__queue(struct server *s)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &s->watchq_tag };
	const struct watchq_hooks hooks = { .ready = handlers__attach_ready, .drop = handlers__attach_drop, .ctx = s };
	int r;

	if (s->wq)
		return 0;
	r = watchq__new(&s->wq, &hooks);
	if (!r && s->epfd >= 0 && epoll_ctl(s->epfd, EPOLL_CTL_ADD, watchq__fd(s->wq), &ev))
		r = -errno;
	if (r) {
		server_log("cannot start the runtime detection's thread: %s", strerror(-r));
		watchq__free(s->wq);
		s->wq = NULL;
		return r;
	}
	s->watchq_tag = TAG_WATCHQ;
	return 0;
}

/* A process that exec'd python* or node*: its runtime is detected on watchq.c's thread, which reads
 * its ELF files (any user's, crafted maybe), and watched when the result comes back (watch__results). */
void server__watch_exec(struct server *s, pid_t pid)
{
	int pidfd;

	if (!s->watch_mask || engine__session_of(s->e, pid) >= 0) {
		engine__watch_release(s->e, pid);
		return;
	}
	if (watch__queue(s)) {
		engine__watch_release(s->e, pid);
		s->watch_dropped++;
		return;
	}
	if (watchq__queued(s->wq, pid))
		return;
	/* the process's identity from now: the result is for it only, whoever has the pid by then */
	pidfd = procfs__pidfd_open(pid);
	if (pidfd < 0 && errno != ENOSYS) {
		engine__watch_release(s->e, pid);
		return; /* gone already */
	}
	if (!watchq__push(s->wq, pid, pidfd)) {
		server_log("not watching pid %d: %d processes wait for their runtime to be detected", (int)pid,
			   WATCHQ_MAX);
		if (pidfd >= 0)
			close(pidfd);
		engine__watch_release(s->e, pid);
		s->watch_dropped++;
	}
}

/* Whether the process is watched: a session of its own, or NULL. */
static struct sess *watch_session(struct server *s, const struct watchq_job *job)
{
	unsigned int cap = s->lim.sessions - shares__reserve(s, s->lim.sessions);
	struct sess *ss = NULL;
	char err[RTP_ERRLEN], why[RTP_ERRLEN];

	if (job->err == -ETIMEDOUT || job->err == -EFBIG) {
		server_log("not watching pid %d: reading its program's ELF files took %s (%.0f ms): crafted or damaged?",
			   (int)job->pid, job->err == -ETIMEDOUT ? "longer than their time limit" : "too many bytes",
			   (double)job->took_ns / 1e6);
		s->watch_dropped++;
		return NULL;
	}
	if (job->err || !(watch_kind(job->rt.kind) & s->watch_mask) || engine__session_of(s->e, job->pid) >= 0)
		return NULL;
	/* at most the session slots but root's reserve; a retained one makes room */
	if (sessions__count(s, true, 0, true) >= cap && !sessions__evict_retained(s, "a watched process"))
		snprintf(why, sizeof(why), "%u processes are watched, the most rtprofd watches", cap);
	else
		ss = sessions__new(s, 0, NULL, job->pid, why, sizeof(why));
	if (!ss) {
		s->watch_dropped++;
		server_log("not watching %s %s (pid %d): %s", runtime__kind_name(job->rt.kind), job->rt.version,
			   (int)job->pid, why);
		return NULL;
	}
	ss->npids = 1;
	ss->pids[0] = job->pid;
	/* each watched process is a session of its own: its python/node children get theirs */
	engine__session_follow(s->e, ss->slot, false);
	/* its runtime probes on its program's files for every process: the next process of the same program is
	 * put in a slot held ready at its exec (engine__watch_arm), counted from its first instruction */
	engine__session_filewide(s->e, ss->slot, true);
	if (s->watch_sample_hz && job->rt.kind == RTP_RUNTIME_PYTHON &&
	    engine__session_stacks(s->e, ss->slot, s->watch_sample_hz, err, sizeof(err)) < 0)
		server_log("watching pid %d without its stacks: %s", (int)job->pid, err);
	if (engine__session_add_known(s->e, ss->slot, job->pid, job->pidfd, &job->rt, NULL, err, sizeof(err))) {
		/* it exited meanwhile, most likely */
		sessions__free(s, ss);
		return NULL;
	}
	/* its first window starts now, from nothing: no report to take (40 of them held the loop 0.3 s) */
	ss->win_base_ns = clock__mono_ns();
	server_log("watching %s %s (pid %d), session %lu", runtime__kind_name(job->rt.kind), job->rt.version,
		   (int)job->pid, ss->id);
	return ss;
}

static void watch_detected(struct server *s, const struct watchq_job *job)
{
	/* not watched: the slot the probes may have put it in at its exec is cleared and held ready again */
	if (!watch_session(s, job))
		engine__watch_release(s->e, job->pid);
}

void watch__results(struct server *s)
{
	struct watchq_job jobs[16];
	size_t n;

	if (!s->wq)
		return;
	n = watchq__take(s->wq, jobs, sizeof(jobs) / sizeof(jobs[0]));
	for (size_t i = 0; i < n; i++) {
		if (jobs[i].owner) {
			handlers__attach_detected(s, &jobs[i]);
			continue;
		}
		if (s->watch_mask)
			watch_detected(s, &jobs[i]);
		if (jobs[i].pidfd >= 0)
			close(jobs[i].pidfd);
	}
}

void watch__free(struct server *s)
{
	if (s->wq && s->epfd >= 0)
		(void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, watchq__fd(s->wq), NULL);
	watchq__free(s->wq);
	s->wq = NULL;
}

static bool is_elf(const char *path)
{
	char magic[4];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	bool elf = fd >= 0 && read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) && !memcmp(magic, "\177ELF", 4);

	if (fd >= 0)
		close(fd);
	return elf;
}

/* The python and node programs on rtprofd's PATH made templates before any of their processes is seen
 * (engine__watch_prime): the first process of each is counted from its first instruction too. */
void server__watch_prime(struct server *s)
{
	const char *path = getenv("PATH");
	char dirs[4096], *save = NULL;
	struct { dev_t dev; ino_t ino; } seen[WATCH_PRIME_MAX];
	unsigned int n = 0, primed = 0, kinds = (s->watch_mask & WATCH_PYTHON ? 1u << RTP_RUNTIME_PYTHON : 0) |
						 (s->watch_mask & WATCH_NODE ? 1u << RTP_RUNTIME_NODE : 0);
	uint64_t t0 = clock__mono_ns();

	if (!s->watch_mask)
		return;
	snprintf(dirs, sizeof(dirs), "%s", path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (char *dir = strtok_r(dirs, ":", &save); dir && n < WATCH_PRIME_MAX; dir = strtok_r(NULL, ":", &save)) {
		DIR *d = *dir == '/' ? opendir(dir) : NULL; /* relative entries are not rtprofd's to follow */
		struct dirent *de;

		while (d && (de = readdir(d)) && n < WATCH_PRIME_MAX) {
			char file[PATH_MAX];
			struct stat st;
			bool dup = false;
			int kind = 0;

			/* the names the exec probe watches (python*, node): a program's comm is its file's name */
			if (strncmp(de->d_name, "python", 6) && strcmp(de->d_name, "node"))
				continue;
			/* ELF executables only (a version manager's shims are scripts) */
			if (snprintf(file, sizeof(file), "%s/%s", dir, de->d_name) >= (int)sizeof(file) ||
			    stat(file, &st) || !S_ISREG(st.st_mode) || !(st.st_mode & 0111) || !is_elf(file))
				continue;
			for (unsigned int i = 0; i < n; i++)
				dup |= seen[i].dev == st.st_dev && seen[i].ino == st.st_ino;
			if (dup)
				continue;
			seen[n].dev = st.st_dev;
			seen[n++].ino = st.st_ino;
			if (engine__watch_prime(s->e, file, kinds, &kind) == 0)
				primed++;
		}
		if (d)
			closedir(d);
	}
	if (primed)
		server_log("watching from their first instruction: %u python/node programs on PATH (%.0f ms)", primed,
			   (double)(clock__mono_ns() - t0) / 1e6);
}

void server__watch_scan(struct server *s)
{
	struct dirent *d;
	DIR *dir;

	if (!s->watch_mask || !(dir = opendir("/proc")))
		return;
	while ((d = readdir(dir))) {
		char *end;
		long pid = strtol(d->d_name, &end, 10);
		struct proc_stat st;

		/* the comm test first: only python* and node* programs are worth reading the ELF of */
		if (*end || pid <= 0 || procfs__read_stat((pid_t)pid, 0, &st) ||
		    (strncmp(st.comm, "python", 6) && strncmp(st.comm, "node", 4)))
			continue;
		server__watch_exec(s, (pid_t)pid);
	}
	closedir(dir);
}

/* Roll the watched sessions' windows; forget those whose process is gone past the retention. */
void watch__tick(struct server *s, uint64_t now)
{
	uint64_t window = (uint64_t)s->window_s * 1000000000ull;

	/* a window ends with the figures of now */
	if (server__wake_ms(s, now) == 0)
		server__refresh(s);
	for (int i = 0; (unsigned int)i < s->lim.sessions; i++) {
		struct sess *ss = &s->sessions[i];

		if (!ss->used || !ss->watched)
			continue;
		if (ss->win_base_ns <= now && now - ss->win_base_ns >= window) {
			struct rtp_report *cur = NULL, *delta = NULL, none = { 0 };

			if (engine__session_report(s->e, ss->slot, "attach", &cur) == 0) {
				/* the first window starts with the session (win_base_ns): nothing before it */
				if (report__subtract(cur, ss->win_base ? ss->win_base : &none, &delta) == 0) {
					report__free(ss->win_last);
					ss->win_last = delta;
				}
				report__free(ss->win_base);
				ss->win_base = cur;
				ss->win_base_ns = now;
			} else {
				/* no report (out of memory): again in a second, not on every turn of the loop */
				ss->win_base_ns = now - window + 1000000000ull;
			}
		}
		if (engine__session_live(s->e, ss->slot))
			continue;
		if (!ss->ended_ns)
			ss->ended_ns = now;
		else if (now - ss->ended_ns >= (uint64_t)s->retention_s * 1000000000ull)
			sessions__free(s, ss);
	}
}
