// SPDX-License-Identifier: LGPL-2.1-or-later
/* A report's processes, each folded from its threads, its syscalls by thread (--per-thread) and its runtime
 * row: what a session of several processes (multiprocessing, a server's workers) did in each. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/report.h"

void report__processes_free(struct rtp_report_proc_row *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].sys);
	free(v);
}

static struct rtp_report_proc_row *row_of(struct rtp_report_proc_row *v, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].pid == pid)
			return &v[i];
	return NULL;
}

/* by total time, then name */
static int cmp_sys(const void *a, const void *b)
{
	const struct rtp_report_thread_syscall *x = a, *y = b;

	if (x->total_ns != y->total_ns)
		return x->total_ns > y->total_ns ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int cmp_proc(const void *a, const void *b)
{
	const struct rtp_report_proc_row *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static int add_syscall(struct rtp_report_proc_row *p, const struct rtp_report_thread_syscall *t)
{
	struct rtp_report_thread_syscall *s;

	for (size_t i = 0; i < p->n_sys; i++) {
		s = &p->sys[i];
		if (s->nr != t->nr)
			continue;
		s->count += t->count;
		s->errors += t->errors;
		s->timed += t->timed;
		s->total_ns += t->total_ns;
		if (t->max_ns > s->max_ns)
			s->max_ns = t->max_ns;
		goto total;
	}
	s = reallocarray(p->sys, p->n_sys + 1, sizeof(*p->sys));
	if (!s)
		return -ENOMEM;
	p->sys = s;
	p->sys[p->n_sys] = *t;
	p->sys[p->n_sys].tid = 0;
	p->n_sys++;
total:
	p->sys_calls += t->count;
	p->sys_errors += t->errors;
	p->sys_ns += t->total_ns;
	return 0;
}

int report__processes(const struct rtp_report *r, struct rtp_report_proc_row **out, size_t *n_out)
{
	struct rtp_report_proc_row *v = calloc(r->n_threads ? r->n_threads : 1, sizeof(*v));
	size_t n = 0;

	*out = NULL;
	*n_out = 0;
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < r->n_threads; i++) {
		const struct rtp_report_thread *t = &r->threads[i];
		struct rtp_report_proc_row *p = row_of(v, n, t->tgid);

		if (!p) {
			p = &v[n++];
			p->pid = t->tgid;
			p->runtime = RTP_RUNTIME_OTHER;
			p->exited = true;
		}
		/* the process's name is its main thread's, else its first thread's */
		if (!p->name[0] || t->tid == t->tgid)
			memcpy(p->name, t->name, sizeof(p->name));
		p->threads++;
		p->exited &= t->exited;
		p->oncpu_ns += t->oncpu_ns;
		p->runq_wait_ns += t->runq_wait_ns;
		p->sleep_ns += t->sleep_ns;
		p->block_ns += t->block_ns;
	}
	for (size_t i = 0; i < r->n_runtimes; i++) {
		const struct rtp_report_runtime *rt = &r->runtimes[i];
		struct rtp_report_proc_row *p = row_of(v, n, rt->pid);

		if (!p)
			continue;
		p->runtime = rt->kind;
		memcpy(p->version, rt->version, sizeof(p->version));
		p->has_gc = rt->gc_method[0] != '\0';
		for (unsigned int k = 0; k < RTP_RT_GC_KINDS; k++)
			p->gc_count += rt->gc[k].count;
	}
	for (size_t i = 0; r->per_thread && i < r->n_thread_syscalls; i++) {
		struct rtp_report_proc_row *p = row_of(v, n, r->thread_syscalls[i].tgid);

		if (p && add_syscall(p, &r->thread_syscalls[i])) {
			report__processes_free(v, n);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i].n_sys > 1)
			qsort(v[i].sys, v[i].n_sys, sizeof(*v[i].sys), cmp_sys);
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_proc);
	/* the session's first target first, then by pid */
	for (size_t i = 1; r->n_targets && i < n; i++) {
		if (v[i].pid != r->targets[0].pid)
			continue;
		struct rtp_report_proc_row first = v[i];

		memmove(&v[1], &v[0], i * sizeof(*v));
		v[0] = first;
		break;
	}
	*out = v;
	*n_out = n;
	return 0;
}
