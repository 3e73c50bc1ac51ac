// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/report.h"
#include "model/profiles.h"
#include "model/report_fields.h"

void report__free(struct rtp_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_syscalls; i++) {
		free(r->syscalls[i].errnos);
		free(r->syscalls[i].err_paths);
	}
	free(r->syscalls);
	free(r->threads);
	free(r->thread_syscalls);
	for (size_t i = 0; i < r->n_runtimes; i++)
	{
		free(r->runtimes[i].gil_threads);
		free(r->runtimes[i].isolates);
	}
	free(r->runtimes);
	free(r->targets);
	free(r->process.cpu_load_pct);
	profiles__free(r->profiles);
	free(r);
}

bool report__syscall_idle(const char *name)
{
	static const char *const idle[] = {
		"epoll_wait", "epoll_pwait", "epoll_pwait2", "poll", "ppoll", "select", "pselect6",
		"nanosleep", "clock_nanosleep", "pause", "accept", "accept4", "wait4", "waitid",
		"rt_sigsuspend", "rt_sigtimedwait", "io_getevents", "io_pgetevents", "io_uring_enter",
	};

	for (size_t i = 0; i < sizeof(idle) / sizeof(idle[0]); i++)
		if (!strcmp(name, idle[i]))
			return true;
	return false;
}

uint64_t hist__percentile(const uint64_t *slots, size_t n_slots, double q)
{
	uint64_t total = 0, seen = 0;
	double rank;

	for (size_t i = 0; i < n_slots; i++)
		total += slots[i];
	if (!total)
		return 0;
	if (q < 0)
		q = 0;
	if (q > 1)
		q = 1;
	rank = q * (double)total;
	for (size_t i = 0; i < n_slots; i++) {
		double lo, hi, frac;

		if (!slots[i])
			continue;
		if ((double)(seen + slots[i]) >= rank) {
			/* slot i holds [2^i, 2^(i+1)); slot 0 also holds 0 and 1 */
			lo = i ? ldexp(1.0, (int)i) : 0.0;
			hi = ldexp(1.0, (int)i + 1);
			frac = (rank - (double)seen) / (double)slots[i];
			return (uint64_t)(lo + frac * (hi - lo));
		}
		seen += slots[i];
	}
	return (uint64_t)ldexp(1.0, (int)n_slots);
}

static uint64_t sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static void hist_sub(uint64_t *a, const uint64_t *b)
{
	for (int i = 0; i < RTP_HIST_SLOTS; i++)
		a[i] = sub(a[i], b[i]);
}

const char *report__gc_kind_name(enum rtp_runtime_kind kind, unsigned int i)
{
	static const char *const py[] = { "0", "1", "2", "3" };
	static const char *const v8[] = { "scavenge", "mark-compact", "minor-mark-compact", "other" };

	if (i >= RTP_RT_GC_KINDS)
		return "?";
	return kind == RTP_RUNTIME_NODE ? v8[i] : py[i];
}

void report__isolate_add(struct rtp_report_runtime *o, const struct rtp_report_thread *t)
{
	struct rtp_report_isolate *x;

	if (!o->isolates || (!t->loop_iters && !t->gc_count))
		return;
	x = &o->isolates[o->n_isolates++];
	*x = (struct rtp_report_isolate){ .tid = t->tid, .loop_busy_ns = t->loop_busy_ns, .loop_idle_ns = t->loop_idle_ns,
					  .loop_iters = t->loop_iters, .loop_busy_max_ns = t->loop_busy_max_ns,
					  .gc_count = t->gc_count, .gc_ns = t->gc_ns, .gc_max_ns = t->gc_max_ns };
	memcpy(x->name, t->name, sizeof(x->name));
	x->name[sizeof(x->name) - 1] = '\0';
}

void report__gil_thread_add(struct rtp_report_runtime *o, pid_t tid, const char *name, uint64_t wait_ns,
			    uint64_t hold_ns, uint64_t waits, uint64_t from, uint64_t to)
{
	struct rtp_report_gil_thread *g = &o->gil_threads[o->n_gil_threads];

	if (!wait_ns && !hold_ns)
		return;
	g->tid = tid;
	snprintf(g->name, sizeof(g->name), "%s", name);
	g->wait_ns = wait_ns;
	g->hold_ns = hold_ns;
	g->waits = waits;
	g->wait_share = to > from ? (double)wait_ns / (double)(to - from) : 0;
	o->gil_wait_ns += wait_ns;
	o->gil_hold_ns += hold_ns;
	o->gil_waits += waits;
	o->n_gil_threads++;
}

/* include/linux/errno.h: never seen by userspace, but a syscall's return value to its probes */
static const char *const kernel_errnos[] = {
	[512 - 512] = "ERESTARTSYS",	 [513 - 512] = "ERESTARTNOINTR",  [514 - 512] = "ERESTARTNOHAND",
	[515 - 512] = "ENOIOCTLCMD",	 [516 - 512] = "ERESTART_RESTARTBLOCK", [517 - 512] = "EPROBE_DEFER",
	[518 - 512] = "EOPENSTALE",	 [519 - 512] = "ENOPARAM",	  [521 - 512] = "EBADHANDLE",
	[522 - 512] = "ENOTSYNC",	 [523 - 512] = "EBADCOOKIE",	  [524 - 512] = "ENOTSUPP",
	[525 - 512] = "ETOOSMALL",	 [526 - 512] = "ESERVERFAULT",	  [527 - 512] = "EBADTYPE",
	[528 - 512] = "EJUKEBOX",	 [529 - 512] = "EIOCBQUEUED",	  [530 - 512] = "ERECALLCONFLICT",
	[531 - 512] = "ENOGRACE",
};
#define N_KERNEL_ERRNOS (sizeof(kernel_errnos) / sizeof(kernel_errnos[0]))

const char *report__errno_name(int err, char *buf, size_t len)
{
	const char *name = err > 0 && err < 512 ? strerrorname_np(err) : NULL;

	if (!name && err >= 512 && (size_t)(err - 512) < N_KERNEL_ERRNOS)
		name = kernel_errnos[err - 512];
	if (name)
		return name;
	snprintf(buf, len, "E%d", err);
	return buf;
}

int report__errno_from_name(const char *name)
{
	for (int e = 1; e < 512; e++) {
		const char *en = strerrorname_np(e);

		if (en && strcmp(en, name) == 0)
			return e;
	}
	for (size_t i = 0; i < N_KERNEL_ERRNOS; i++)
		if (kernel_errnos[i] && strcmp(kernel_errnos[i], name) == 0)
			return (int)(512 + i);
	if (name[0] == 'E' && name[1] >= '1' && name[1] <= '9')
		return atoi(name + 1);
	return 0;
}

const char *report__tp_kind_name(unsigned int i)
{
	static const char *const names[] = { "fs", "work", "dns", "random" };

	return i < RTP_TP_KINDS ? names[i] : "?";
}

void fields__subtract(const struct rtp_fields *t, void *row, const void *then)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct rtp_field *f = &t->f[i];
		char *a = (char *)row + f->offset;
		const char *b = (const char *)then + f->offset;

		if (f->kind == RTP_FIELD_OBJECT) {
			fields__subtract(f->sub, a, b);
		} else if (f->merge == RTP_MERGE_HIST && f->kind == RTP_FIELD_HIST) {
			hist_sub((uint64_t *)a, (const uint64_t *)b);
		} else if (f->merge == RTP_MERGE_SUM && f->kind == RTP_FIELD_U64) {
			*(uint64_t *)a = sub(*(uint64_t *)a, *(const uint64_t *)b);
		} else if (f->merge == RTP_MERGE_SUM && f->kind == RTP_FIELD_DOUBLE) {
			double *x = (double *)a, y = *(const double *)b;

			*x = *x > y ? *x - y : 0;
		}
	}
}

/* The runtime metrics of `now` minus those of `then` (same pid), into d (a copy of now's). */
static int runtimes_subtract(struct rtp_report *d, const struct rtp_report *now, const struct rtp_report *then)
{
	d->runtimes = calloc(now->n_runtimes ? now->n_runtimes : 1, sizeof(*d->runtimes));
	if (!d->runtimes)
		return -ENOMEM;
	for (size_t i = 0; i < now->n_runtimes; i++) {
		const struct rtp_report_runtime *a = &now->runtimes[i], *b = NULL;
		struct rtp_report_runtime *r = &d->runtimes[d->n_runtimes++];

		*r = *a;
		r->gil_threads = NULL;
		r->n_gil_threads = 0;
		r->isolates = NULL;
		r->n_isolates = 0;
		if (a->n_gil_threads) {
			r->gil_threads = calloc(a->n_gil_threads, sizeof(*r->gil_threads));
			if (!r->gil_threads)
				return -ENOMEM;
			memcpy(r->gil_threads, a->gil_threads, a->n_gil_threads * sizeof(*r->gil_threads));
			r->n_gil_threads = a->n_gil_threads;
		}
		if (a->n_isolates) {
			r->isolates = calloc(a->n_isolates, sizeof(*r->isolates));
			if (!r->isolates)
				return -ENOMEM;
			memcpy(r->isolates, a->isolates, a->n_isolates * sizeof(*r->isolates));
			r->n_isolates = a->n_isolates;
		}
		for (size_t j = 0; j < then->n_runtimes && !b; j++)
			if (then->runtimes[j].pid == a->pid)
				b = &then->runtimes[j];
		if (!b)
			continue;
		fields__subtract(&report_runtime_fields, r, b);
		for (size_t k = 0; k < r->n_gil_threads; k++) {
			struct rtp_report_gil_thread *t = &r->gil_threads[k];

			for (size_t m = 0; m < b->n_gil_threads; m++) {
				if (b->gil_threads[m].tid != t->tid)
					continue;
				fields__subtract(&report_gil_thread_fields, t, &b->gil_threads[m]);
				t->wait_share = d->duration_ns ? (double)t->wait_ns / (double)d->duration_ns : 0;
				break;
			}
		}
		for (size_t k = 0; k < r->n_isolates; k++)
			for (size_t m = 0; m < b->n_isolates; m++)
				if (b->isolates[m].tid == r->isolates[k].tid) {
					fields__subtract(&report_isolate_fields, &r->isolates[k], &b->isolates[m]);
					break;
				}
		for (unsigned int k = 0; k < RTP_RT_GC_KINDS; k++)
			fields__subtract(&report_rt_stat_fields, &r->gc[k], &b->gc[k]);
		for (unsigned int k = 0; k < RTP_TP_KINDS; k++)
			r->tp_kind[k] = sub(a->tp_kind[k], b->tp_kind[k]);
	}
	return 0;
}

int report__subtract(const struct rtp_report *now, const struct rtp_report *then, struct rtp_report **out)
{
	struct rtp_report *d = calloc(1, sizeof(*d));
	double dur_now = (double)now->duration_ns, dur_then = (double)then->duration_ns;

	if (!d)
		return -ENOMEM;
	*d = *now;
	d->targets = NULL;
	d->syscalls = NULL;
	d->threads = NULL;
	d->thread_syscalls = NULL;
	d->n_thread_syscalls = 0;
	d->runtimes = NULL;
	d->process.cpu_load_pct = NULL;
	d->profiles = NULL;
	d->n_syscalls = d->n_threads = d->n_runtimes = 0;
	/* the scalars: duration, process times, runq_hist, loss counters */
	fields__subtract(&report_fields, d, then);
	d->targets = calloc(now->n_targets ? now->n_targets : 1, sizeof(*d->targets));
	d->syscalls = calloc(now->n_syscalls ? now->n_syscalls : 1, sizeof(*d->syscalls));
	d->threads = calloc(now->n_threads ? now->n_threads : 1, sizeof(*d->threads));
	d->process.cpu_load_pct = calloc(now->process.ncpus ? (size_t)now->process.ncpus : 1, sizeof(double));
	if (!d->targets || !d->syscalls || !d->threads || !d->process.cpu_load_pct)
		goto nomem;
	/* the stacks of the difference: each stack's samples and time since */
	if (now->profiles && !(d->profiles = profiles__since(now->profiles, then->profiles)))
		goto nomem;
	memcpy(d->targets, now->targets, now->n_targets * sizeof(*d->targets));
	d->process.wall_s = (double)d->duration_ns / 1e9;
	for (int c = 0; c < now->process.ncpus; c++) {
		double busy = now->process.cpu_load_pct[c] * dur_now -
			      (c < then->process.ncpus ? then->process.cpu_load_pct[c] * dur_then : 0);

		d->process.cpu_load_pct[c] = d->duration_ns && busy > 0 ? busy / (double)d->duration_ns : 0;
	}
	for (size_t i = 0; i < now->n_syscalls; i++) {
		const struct rtp_report_syscall *a = &now->syscalls[i], *b = NULL;
		struct rtp_report_syscall *s;

		for (size_t j = 0; j < then->n_syscalls && !b; j++)
			if (then->syscalls[j].nr == a->nr)
				b = &then->syscalls[j];
		if (b && a->count <= b->count)
			continue; /* nothing in the window */
		s = &d->syscalls[d->n_syscalls++];
		*s = *a;
		s->errnos = NULL;
		s->n_errnos = 0;
		s->err_paths = NULL;
		s->n_err_paths = 0;
		if (b) {
			fields__subtract(&report_syscall_fields, s, b);
			s->p50_ns = hist__percentile(s->hist, RTP_HIST_SLOTS, 0.50);
			s->p99_ns = hist__percentile(s->hist, RTP_HIST_SLOTS, 0.99);
		}
		if (a->n_errnos) {
			s->errnos = calloc(a->n_errnos, sizeof(*s->errnos));
			if (!s->errnos)
				goto nomem;
			for (size_t k = 0; k < a->n_errnos; k++) {
				uint64_t before = 0;

				for (size_t m = 0; b && m < b->n_errnos; m++)
					if (b->errnos[m].err == a->errnos[k].err)
						before = b->errnos[m].count;
				if (a->errnos[k].count > before)
					s->errnos[s->n_errnos++] = (struct rtp_report_errno){ .err = a->errnos[k].err,
											.count = a->errnos[k].count - before };
			}
		}
		if (a->n_err_paths) {
			s->err_paths = calloc(a->n_err_paths, sizeof(*s->err_paths));
			if (!s->err_paths)
				goto nomem;
			for (size_t k = 0; k < a->n_err_paths; k++) {
				const struct rtp_report_err_path *p = &a->err_paths[k];
				uint64_t before = 0;

				for (size_t m = 0; b && m < b->n_err_paths; m++)
					if (b->err_paths[m].err == p->err && !strcmp(b->err_paths[m].path, p->path))
						before = b->err_paths[m].count;
				if (p->count > before) {
					s->err_paths[s->n_err_paths] = *p;
					s->err_paths[s->n_err_paths++].count = p->count - before;
				}
			}
		}
	}
	for (size_t i = 0; i < now->n_threads; i++) {
		const struct rtp_report_thread *a = &now->threads[i], *b = NULL;
		struct rtp_report_thread *t = &d->threads[d->n_threads++];

		for (size_t j = 0; j < then->n_threads && !b; j++)
			if (then->threads[j].tid == a->tid)
				b = &then->threads[j];
		*t = *a;
		if (b)
			fields__subtract(&report_thread_fields, t, b);
	}
	if (runtimes_subtract(d, now, then))
		goto nomem;
	if (now->n_thread_syscalls) {
		d->thread_syscalls = calloc(now->n_thread_syscalls, sizeof(*d->thread_syscalls));
		if (!d->thread_syscalls)
			goto nomem;
	}
	for (size_t i = 0; i < now->n_thread_syscalls; i++) {
		const struct rtp_report_thread_syscall *a = &now->thread_syscalls[i], *b = NULL;
		struct rtp_report_thread_syscall *t = &d->thread_syscalls[d->n_thread_syscalls];

		for (size_t j = 0; j < then->n_thread_syscalls && !b; j++)
			if (then->thread_syscalls[j].tid == a->tid && then->thread_syscalls[j].nr == a->nr)
				b = &then->thread_syscalls[j];
		*t = *a;
		if (b)
			fields__subtract(&report_thread_syscall_fields, t, b);
		if (t->count)
			d->n_thread_syscalls++;
	}
	*out = d;
	return 0;
nomem:
	report__free(d);
	return -ENOMEM;
}

static int cmp_thread_syscall(const void *a, const void *b)
{
	const struct rtp_report_thread_syscall *x = a, *y = b;

	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->total_ns != y->total_ns)
		return x->total_ns > y->total_ns ? -1 : 1;
	return (x->nr > y->nr) - (x->nr < y->nr);
}

void report__sort_thread_syscalls(struct rtp_report *r)
{
	if (r->n_thread_syscalls > 1)
		qsort(r->thread_syscalls, r->n_thread_syscalls, sizeof(*r->thread_syscalls), cmp_thread_syscall);
}

void report__syscall_fill(struct rtp_report_syscall *sc, unsigned int nr, const char *name,
			  const struct rtp_sys_stats *v)
{
	sc->nr = nr;
	sc->count = v->count;
	sc->errors = v->errors;
	sc->timed = v->timed;
	sc->total_ns = v->total_ns;
	if (v->timed && v->timed < v->count) /* bursts were sampled: scale the measured total */
		sc->total_ns = (uint64_t)((double)v->total_ns * (double)v->count / (double)v->timed);
	sc->max_ns = v->max_ns;
	sc->trace_lost = v->trace_lost;
	memcpy(sc->hist, v->hist, sizeof(sc->hist));
	if (name)
		snprintf(sc->name, sizeof(sc->name), "%s", name);
	else
		snprintf(sc->name, sizeof(sc->name), "syscall_%u", nr);
	/* log2 slots are wide: keep the estimates within what was seen */
	sc->p50_ns = hist__percentile(sc->hist, RTP_HIST_SLOTS, 0.50);
	sc->p99_ns = hist__percentile(sc->hist, RTP_HIST_SLOTS, 0.99);
	if (sc->p99_ns > sc->max_ns)
		sc->p99_ns = sc->max_ns;
	if (sc->p50_ns > sc->p99_ns)
		sc->p50_ns = sc->p99_ns;
}

const char *report__probes_from_name(unsigned int from)
{
	static const char *const names[] = { "attach", "exec", "first instruction", "fork" };

	return from < sizeof(names) / sizeof(names[0]) ? names[from] : "";
}
