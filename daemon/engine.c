// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/capability.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "engine.h"
#include "procfs.h"
#include "runtime.h"
#include "syscall_names.h"
#include "rtprof.skel.h"

#define DEFAULT_KERNEL_BTF "/sys/kernel/btf/vmlinux"

struct target_proc {
	pid_t pid;
	unsigned int slot;
	bool exited;
	bool user_added; /* named by the user, not a followed child */
	char comm[RTP_COMM_LEN];
	struct rtp_runtime_info runtime;
	bool runtime_known;
	struct proc_stat first, last; /* /proc samples bounding the attached interval */
	bool have_first, have_last;
	long max_rss_kb;
};

struct engine {
	struct rtprof_bpf *skel;
	struct ring_buffer *rb;
	struct engine_opts opts;
	struct target_proc *procs;
	size_t n_procs, cap_procs;
	int ncpus;
	uint64_t start_ns, stop_ns;
	uint64_t events;
};

static engine_log_fn log_fn;
static bool log_verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char msg[1024];

	if (!log_fn || (level == LIBBPF_DEBUG && !log_verbose) || (level == LIBBPF_INFO && !log_verbose))
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_fn(msg);
	return 0;
}

void engine__set_log(engine_log_fn fn, bool verbose)
{
	log_fn = fn;
	log_verbose = verbose;
	libbpf_set_print(libbpf_print);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static __attribute__((format(printf, 4, 5))) int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

static const char *kernel_btf_path(const struct engine_opts *opts)
{
	const char *env = getenv("RTPROF_KERNEL_BTF");

	if (opts && opts->btf_path)
		return opts->btf_path;
	return env && *env ? env : DEFAULT_KERNEL_BTF;
}

static bool has_bpf_caps(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};
	unsigned int caps[] = { 39 /* CAP_BPF */, 38 /* CAP_PERFMON */ };

	if (syscall(SYS_capget, &hdr, data))
		return false;
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		if (!(data[caps[i] / 32].effective & (1u << (caps[i] % 32))))
			return false;
	return true;
}

int engine__preflight(const struct engine_opts *opts, char *err, size_t errlen)
{
	const char *btf = kernel_btf_path(opts);

	if (geteuid() != 0 && !has_bpf_caps())
		return fail(err, errlen, -EPERM,
			    "profiling needs root (or CAP_BPF and CAP_PERFMON) to load the BPF probes; "
			    "run rtprof with sudo");
	if (access(btf, R_OK))
		return fail(err, errlen, -ENOENT,
			    "kernel BTF not found at %s (%s): rtprof's CO-RE probes need a kernel built with "
			    "CONFIG_DEBUG_INFO_BTF, or a BTF file for this kernel given with --btf FILE",
			    btf, strerror(errno));
	return 0;
}

static struct target_proc *proc_find(struct engine *e, pid_t pid)
{
	for (size_t i = 0; i < e->n_procs; i++)
		if (e->procs[i].pid == pid)
			return &e->procs[i];
	return NULL;
}

static struct target_proc *proc_new(struct engine *e, pid_t pid, unsigned int slot)
{
	struct target_proc *p;

	if (e->n_procs == e->cap_procs) {
		size_t cap = e->cap_procs ? e->cap_procs * 2 : 8;
		struct target_proc *n = realloc(e->procs, cap * sizeof(*n));

		if (!n)
			return NULL;
		e->procs = n;
		e->cap_procs = cap;
	}
	p = &e->procs[e->n_procs++];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->slot = slot;
	p->max_rss_kb = -1;
	return p;
}

static void proc_sample(struct target_proc *p)
{
	struct proc_stat st;
	struct proc_status status;

	if (p->exited)
		return;
	if (procfs__read_stat(p->pid, 0, &st) == 0 && st.state != 'Z' && st.state != 'X') {
		if (!p->have_first) {
			p->first = st;
			p->have_first = true;
		}
		p->last = st;
		p->have_last = true;
		if (!p->comm[0])
			snprintf(p->comm, sizeof(p->comm), "%s", st.comm);
	}
	if (procfs__read_status(p->pid, &status) == 0 && status.vm_hwm_kb > p->max_rss_kb)
		p->max_rss_kb = status.vm_hwm_kb;
}

static void proc_detect_runtime(struct target_proc *p)
{
	if (runtime__detect(p->pid, &p->runtime) == 0 && p->runtime.exe[0])
		p->runtime_known = true;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct engine *e = ctx;
	const struct rtp_event *ev = data;
	struct target_proc *p;

	if (size < sizeof(*ev))
		return 0;
	e->events++;
	switch (ev->type) {
	case RTP_REC_PROC_NEW:
		if (ev->flags & RTP_EV_FOLLOWED && !proc_find(e, (pid_t)ev->tgid)) {
			struct rtp_target tgt;
			__u32 key = ev->tgid;

			if (bpf_map__lookup_elem(e->skel->maps.targets, &key, sizeof(key), &tgt, sizeof(tgt), 0))
				break;
			p = proc_new(e, (pid_t)ev->tgid, tgt.slot);
			if (p)
				snprintf(p->comm, sizeof(p->comm), "%s", ev->comm);
		}
		break;
	case RTP_REC_EXEC:
		p = proc_find(e, (pid_t)ev->tgid);
		if (p) {
			snprintf(p->comm, sizeof(p->comm), "%s", ev->comm);
			p->runtime_known = false;
			proc_detect_runtime(p);
			/* usage before exec belongs to the launcher, not the program */
			p->have_first = false;
			proc_sample(p);
		}
		break;
	case RTP_REC_THREAD_EXIT:
		if (ev->flags & RTP_EV_GROUP_DEAD) {
			p = proc_find(e, (pid_t)ev->tgid);
			if (p)
				p->exited = true;
		}
		break;
	default:
		break;
	}
	return 0;
}

static int set_sizes(struct rtprof_bpf *skel, unsigned int procs, unsigned int threads)
{
	int err = 0;

	err = err ?: bpf_map__set_max_entries(skel->maps.targets, procs);
	err = err ?: bpf_map__set_max_entries(skel->maps.threads, threads);
	err = err ?: bpf_map__set_max_entries(skel->maps.sys_stats, procs * RTP_MAX_SYSCALLS);
	err = err ?: bpf_map__set_max_entries(skel->maps.cpu_busy, procs);
	err = err ?: bpf_map__set_max_entries(skel->maps.runq_hist, procs);
	return err;
}

int engine__new(const struct engine_opts *opts, struct engine **out, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts);
	const char *btf = kernel_btf_path(opts);
	struct engine *e;
	int r;

	r = engine__preflight(opts, err, errlen);
	if (r)
		return r;
	e = calloc(1, sizeof(*e));
	if (!e)
		return fail(err, errlen, -ENOMEM, "out of memory");
	if (opts)
		memcpy(&e->opts, opts, opts->sz && opts->sz < sizeof(e->opts) ? opts->sz : sizeof(e->opts));
	if (!e->opts.max_procs)
		e->opts.max_procs = RTP_DEFAULT_MAX_PROCS;
	if (!e->opts.max_threads)
		e->opts.max_threads = RTP_DEFAULT_MAX_THREADS;
	e->ncpus = libbpf_num_possible_cpus();
	if (e->ncpus <= 0) {
		r = fail(err, errlen, -EINVAL, "cannot count the possible CPUs");
		goto cleanup;
	}
	if (strcmp(btf, DEFAULT_KERNEL_BTF))
		open_opts.btf_custom_path = btf;

	e->skel = rtprof_bpf__open_opts(&open_opts);
	if (!e->skel) {
		r = -errno;
		r = fail(err, errlen, r, "cannot open the BPF object: %s", strerror(-r));
		goto cleanup;
	}
	e->skel->rodata->nr_exit = SYS_exit;
	e->skel->rodata->nr_exit_group = SYS_exit_group;
	e->skel->rodata->max_procs = e->opts.max_procs;
	e->skel->rodata->sample_shift = e->opts.exact_latency ? 0 : RTP_DEFAULT_SAMPLE_SHIFT;
	r = set_sizes(e->skel, e->opts.max_procs, e->opts.max_threads);
	if (r) {
		r = fail(err, errlen, r, "cannot size the BPF maps: %s", strerror(-r));
		goto cleanup;
	}
	r = rtprof_bpf__load(e->skel);
	if (r) {
		r = fail(err, errlen, r,
			 "cannot load the BPF probes: %s%s", strerror(-r),
			 r == -EPERM ? " (root is needed; kernel lockdown or a seccomp filter may also forbid BPF)" : " (run with -v for the verifier's log)");
		goto cleanup;
	}
	r = rtprof_bpf__attach(e->skel);
	if (r) {
		r = fail(err, errlen, r, "cannot attach the BPF probes: %s", strerror(-r));
		goto cleanup;
	}
	e->rb = ring_buffer__new(bpf_map__fd(e->skel->maps.events), on_event, e, NULL);
	if (!e->rb) {
		r = -errno;
		r = fail(err, errlen, r, "cannot open the event ring buffer: %s", strerror(-r));
		goto cleanup;
	}
	*out = e;
	return 0;
cleanup:
	engine__free(e);
	return r;
}

void engine__free(struct engine *e)
{
	if (!e)
		return;
	ring_buffer__free(e->rb);
	rtprof_bpf__destroy(e->skel);
	free(e->procs);
	free(e);
}

static int kernel_thread(const struct proc_stat *st)
{
	return (st->flags & PF_KTHREAD_FLAG) != 0;
}

int engine__add_target(struct engine *e, pid_t pid, char *err, size_t errlen)
{
	struct rtp_target tgt = { .flags = e->opts.no_follow ? 0 : RTP_TARGET_FOLLOW };
	struct target_proc *p;
	struct proc_stat st;
	__u32 key = (__u32)pid;
	int r;

	if (pid <= 0)
		return fail(err, errlen, -ESRCH, "no such process: %d", pid);
	if (proc_find(e, pid))
		return 0;
	r = procfs__read_stat(pid, 0, &st);
	if (r == -ESRCH || (r == 0 && (st.state == 'Z' || st.state == 'X')))
		return fail(err, errlen, -ESRCH, "no such process: %d", pid);
	if (r)
		return fail(err, errlen, r, "cannot read /proc/%d/stat: %s", pid, strerror(-r));
	if (st.pid != pid)
		return fail(err, errlen, -ESRCH, "%d is a thread of process %d, not a process; attach to %d",
			    pid, st.pid, st.pid);
	if (kernel_thread(&st))
		return fail(err, errlen, -EINVAL, "%d (%s) is a kernel thread; rtprof profiles user processes",
			    pid, st.comm);
	tgt.slot = __atomic_fetch_add(&e->skel->bss->next_slot, 1, __ATOMIC_SEQ_CST);
	if (tgt.slot >= e->opts.max_procs)
		return fail(err, errlen, -ENOSPC, "too many processes traced (limit %u)", e->opts.max_procs);
	p = proc_new(e, pid, tgt.slot);
	if (!p)
		return fail(err, errlen, -ENOMEM, "out of memory");
	p->user_added = true;
	snprintf(p->comm, sizeof(p->comm), "%s", st.comm);
	r = bpf_map__update_elem(e->skel->maps.targets, &key, sizeof(key), &tgt, sizeof(tgt), BPF_ANY);
	if (r) {
		e->n_procs--;
		return fail(err, errlen, r, "cannot add %d to the target set: %s", pid, strerror(-r));
	}
	__atomic_fetch_add(&e->skel->bss->target_gen, 1, __ATOMIC_SEQ_CST);
	if (!e->start_ns)
		e->start_ns = mono_ns();
	proc_detect_runtime(p);
	proc_sample(p);
	return 0;
}

int engine__fd(const struct engine *e)
{
	return ring_buffer__epoll_fd(e->rb);
}

int engine__poll(struct engine *e, int timeout_ms)
{
	uint64_t before = e->events;
	int r = ring_buffer__poll(e->rb, timeout_ms);

	if (r < 0 && r != -EINTR)
		return r;
	/* records submitted with BPF_RB_NO_WAKEUP never make the epoll fd ready: consume them on the timer */
	r = ring_buffer__consume(e->rb);
	if (r < 0)
		return r;
	for (size_t i = 0; i < e->n_procs; i++) {
		struct target_proc *p = &e->procs[i];

		if (!p->exited && kill(p->pid, 0) && errno == ESRCH)
			p->exited = true; /* exit event lost or not yet read: the process is gone all the same */
		proc_sample(p);
	}
	return (int)(e->events - before);
}

unsigned int engine__live_targets(const struct engine *e)
{
	unsigned int n = 0;

	for (size_t i = 0; i < e->n_procs; i++)
		n += !e->procs[i].exited;
	return n;
}

void engine__stop_clock(struct engine *e)
{
	if (!e->stop_ns)
		e->stop_ns = mono_ns();
}

/* ---- report ---- */

static int sum_percpu_u64(struct bpf_map *map, __u32 key, int ncpus, uint64_t *out)
{
	uint64_t vals[ncpus];
	int r = bpf_map__lookup_elem(map, &key, sizeof(key), vals, sizeof(vals), 0);

	if (r)
		return r;
	*out = 0;
	for (int c = 0; c < ncpus; c++)
		*out += vals[c];
	return 0;
}

static int collect_syscalls(struct engine *e, struct rtp_report *rep)
{
	unsigned int nslots = e->skel->bss->next_slot;
	struct rtp_sys_stats *vals = calloc((size_t)e->ncpus, sizeof(*vals));
	struct rtp_report_syscall *all = calloc(RTP_MAX_SYSCALLS, sizeof(*all));
	int r = 0;

	if (!vals || !all) {
		r = -ENOMEM;
		goto cleanup;
	}
	if (nslots > e->opts.max_procs)
		nslots = e->opts.max_procs;
	for (unsigned int s = 0; s < nslots; s++) {
		for (unsigned int nr = 0; nr < RTP_MAX_SYSCALLS; nr++) {
			__u32 key = s * RTP_MAX_SYSCALLS + nr;
			struct rtp_report_syscall *sc = &all[nr];

			r = bpf_map__lookup_elem(e->skel->maps.sys_stats, &key, sizeof(key), vals,
						 sizeof(*vals) * (size_t)e->ncpus, 0);
			if (r)
				goto cleanup;
			for (int c = 0; c < e->ncpus; c++) {
				const struct rtp_sys_stats *v = &vals[c];

				if (!v->count)
					continue;
				sc->count += v->count;
				sc->errors += v->errors;
				sc->timed += v->timed;
				sc->total_ns += v->total_ns;
				if (v->max_ns > sc->max_ns)
					sc->max_ns = v->max_ns;
				for (int h = 0; h < RTP_HIST_SLOTS; h++)
					sc->hist[h] += v->hist[h];
			}
		}
	}
	for (unsigned int nr = 0; nr < RTP_MAX_SYSCALLS; nr++) {
		struct rtp_report_syscall *sc = &all[nr];
		const char *name;

		if (!sc->count)
			continue;
		sc->nr = nr;
		if (sc->timed && sc->timed < sc->count)
			sc->total_ns = (uint64_t)((double)sc->total_ns * (double)sc->count / (double)sc->timed);
		name = syscall__name(nr);
		if (name)
			snprintf(sc->name, sizeof(sc->name), "%s", name);
		else
			snprintf(sc->name, sizeof(sc->name), "syscall_%u", nr);
		sc->p50_ns = hist__percentile(sc->hist, RTP_HIST_SLOTS, 0.50);
		sc->p99_ns = hist__percentile(sc->hist, RTP_HIST_SLOTS, 0.99);
		if (sc->p99_ns > sc->max_ns)
			sc->p99_ns = sc->max_ns;
		if (sc->p50_ns > sc->p99_ns)
			sc->p50_ns = sc->p99_ns;
		rep->syscalls[rep->n_syscalls++] = *sc;
	}
cleanup:
	free(vals);
	free(all);
	return r;
}

static int collect_errnos(struct engine *e, struct rtp_report *rep)
{
	struct bpf_map *map = e->skel->maps.sys_errnos;
	struct rtp_errno_key key, next;
	struct rtp_errno_key *prev = NULL;

	while (bpf_map__get_next_key(map, prev, &next, sizeof(next)) == 0) {
		uint64_t count;
		struct rtp_report_syscall *sc = NULL;

		key = next;
		prev = &key;
		if (bpf_map__lookup_elem(map, &key, sizeof(key), &count, sizeof(count), 0))
			continue;
		for (size_t i = 0; i < rep->n_syscalls; i++)
			if (rep->syscalls[i].nr == key.nr)
				sc = &rep->syscalls[i];
		if (!sc)
			continue;
		size_t j;
		for (j = 0; j < sc->n_errnos && sc->errnos[j].err != key.err; j++)
			;
		if (j == sc->n_errnos) {
			struct rtp_report_errno *n = realloc(sc->errnos, (sc->n_errnos + 1) * sizeof(*n));

			if (!n)
				return -ENOMEM;
			sc->errnos = n;
			sc->errnos[sc->n_errnos++] = (struct rtp_report_errno){ .err = key.err };
		}
		sc->errnos[j].count += count;
	}
	return 0;
}

static int collect_threads(struct engine *e, struct rtp_report *rep, uint64_t now)
{
	struct bpf_map *map = e->skel->maps.threads;
	__u32 key, next, *prev = NULL;
	size_t cap = 0;

	while (bpf_map__get_next_key(map, prev, &next, sizeof(next)) == 0) {
		struct rtp_thread t;
		struct rtp_report_thread *rt;

		key = next;
		prev = &key;
		if (bpf_map__lookup_elem(map, &key, sizeof(key), &t, sizeof(t), 0))
			continue;
		if (rep->n_threads == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct rtp_report_thread *n = realloc(rep->threads, ncap * sizeof(*n));

			if (!n)
				return -ENOMEM;
			rep->threads = n;
			cap = ncap;
		}
		rt = &rep->threads[rep->n_threads++];
		memset(rt, 0, sizeof(*rt));
		rt->tid = (pid_t)t.tid;
		rt->tgid = (pid_t)t.tgid;
		rt->parent_tid = (pid_t)t.parent_tid;
		memcpy(rt->name, t.comm, sizeof(rt->name));
		rt->name[sizeof(rt->name) - 1] = '\0';
		/* totals from the kernel's own accounting when it was readable, else from event timestamps */
		if (t.flags & RTP_THR_KSTATS) {
			rt->oncpu_ns = t.k_oncpu - t.k_oncpu_base;
			rt->runq_wait_ns = t.k_runq - t.k_runq_base;
		} else {
			rt->oncpu_ns = t.oncpu_ns;
			rt->runq_wait_ns = t.runq_wait_ns;
		}
		rt->sleep_ns = t.sleep_ns;
		rt->block_ns = t.block_ns;
		/* close the intervals still open when the session ended */
		if (t.on_ts && now > t.on_ts)
			rt->oncpu_ns += now - t.on_ts;
		if (t.queued_ts && now > t.queued_ts)
			rt->runq_wait_ns += now - t.queued_ts;
		if (t.off_ts && now > t.off_ts) {
			if (t.flags & RTP_THR_OFF_BLOCKED)
				rt->block_ns += now - t.off_ts;
			else
				rt->sleep_ns += now - t.off_ts;
		}
		rt->vol_switches = t.vol_switches;
		rt->invol_switches = t.invol_switches;
		rt->migrations = t.migrations;
		rt->exited = t.flags & RTP_THR_EXITED;
	}
	return 0;
}

static int cmp_thread(const void *a, const void *b)
{
	const struct rtp_report_thread *x = a, *y = b;

	return (x->tid > y->tid) - (x->tid < y->tid);
}

static int cmp_syscall(const void *a, const void *b)
{
	const struct rtp_report_syscall *x = a, *y = b;

	if (x->total_ns != y->total_ns)
		return x->total_ns < y->total_ns ? 1 : -1;
	return (x->count < y->count) - (x->count > y->count);
}

static int cmp_errno(const void *a, const void *b)
{
	const struct rtp_report_errno *x = a, *y = b;

	return (x->count < y->count) - (x->count > y->count);
}

/* qsort() must not be given NULL, even for zero elements */
static void sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

static int collect_sched(struct engine *e, struct rtp_report *rep)
{
	unsigned int nslots = e->skel->bss->next_slot;
	struct rtp_hist *hists = calloc((size_t)e->ncpus, sizeof(*hists));
	uint64_t *busy = calloc((size_t)e->ncpus, sizeof(*busy));
	double wall_ns = (double)rep->duration_ns;
	int r = 0;

	rep->process.ncpus = e->ncpus;
	rep->process.cpu_load_pct = calloc((size_t)e->ncpus, sizeof(double));
	if (!hists || !busy || !rep->process.cpu_load_pct) {
		r = -ENOMEM;
		goto cleanup;
	}
	if (nslots > e->opts.max_procs)
		nslots = e->opts.max_procs;
	for (__u32 s = 0; s < nslots; s++) {
		r = bpf_map__lookup_elem(e->skel->maps.runq_hist, &s, sizeof(s), hists,
					 sizeof(*hists) * (size_t)e->ncpus, 0);
		if (r)
			goto cleanup;
		for (int c = 0; c < e->ncpus; c++)
			for (int h = 0; h < RTP_HIST_SLOTS; h++)
				rep->runq_hist[h] += hists[c].slots[h];
		r = bpf_map__lookup_elem(e->skel->maps.cpu_busy, &s, sizeof(s), busy,
					 sizeof(*busy) * (size_t)e->ncpus, 0);
		if (r)
			goto cleanup;
		for (int c = 0; c < e->ncpus; c++)
			rep->process.cpu_load_pct[c] += wall_ns > 0 ? 100.0 * (double)busy[c] / wall_ns : 0;
	}
cleanup:
	free(hists);
	free(busy);
	return r;
}

static void collect_process_procfs(struct engine *e, struct rtp_report *rep)
{
	double tick = (double)procfs__ticks_per_sec();

	rep->process.source = "procfs";
	rep->process.wall_s = (double)rep->duration_ns / 1e9;
	rep->process.max_rss_kb = 0;
	for (size_t i = 0; i < e->n_procs; i++) {
		struct target_proc *p = &e->procs[i];

		if (p->have_first && p->have_last && tick > 0) {
			rep->process.cpu_user_s += (double)(p->last.utime_ticks - p->first.utime_ticks) / tick;
			rep->process.cpu_sys_s += (double)(p->last.stime_ticks - p->first.stime_ticks) / tick;
		}
		if (p->max_rss_kb > rep->process.max_rss_kb)
			rep->process.max_rss_kb = p->max_rss_kb;
	}
}

int engine__report(struct engine *e, const char *mode, struct rtp_report **out)
{
	struct rtp_report *rep = calloc(1, sizeof(*rep));
	uint64_t now;
	int r = -ENOMEM;

	if (!rep)
		return -ENOMEM;
	engine__stop_clock(e);
	now = e->stop_ns;
	rep->mode = mode;
	rep->exit_status = -1;
	rep->duration_ns = e->start_ns && now > e->start_ns ? now - e->start_ns : 0;
	rep->targets = calloc(e->n_procs ? e->n_procs : 1, sizeof(*rep->targets));
	rep->syscalls = calloc(RTP_MAX_SYSCALLS, sizeof(*rep->syscalls));
	if (!rep->targets || !rep->syscalls)
		goto cleanup;
	for (size_t i = 0; i < e->n_procs; i++) {
		struct target_proc *p = &e->procs[i];
		struct rtp_report_target *t = &rep->targets[rep->n_targets++];

		if (!p->runtime_known && !p->exited)
			proc_detect_runtime(p);
		t->pid = p->pid;
		memcpy(t->comm, p->comm, sizeof(t->comm));
		t->runtime = p->runtime;
		t->exited = p->exited;
	}
	r = collect_syscalls(e, rep);
	if (r)
		goto cleanup;
	r = collect_errnos(e, rep);
	if (r)
		goto cleanup;
	for (size_t i = 0; i < rep->n_syscalls; i++)
		sort(rep->syscalls[i].errnos, rep->syscalls[i].n_errnos, sizeof(struct rtp_report_errno), cmp_errno);
	sort(rep->syscalls, rep->n_syscalls, sizeof(*rep->syscalls), cmp_syscall);
	r = collect_threads(e, rep, now);
	if (r)
		goto cleanup;
	sort(rep->threads, rep->n_threads, sizeof(*rep->threads), cmp_thread);
	r = collect_sched(e, rep);
	if (r)
		goto cleanup;
	collect_process_procfs(e, rep);
	for (__u32 c = 0; c < RTP_CNT_NR; c++) {
		uint64_t v = 0;

		if (sum_percpu_u64(e->skel->maps.counters, c, e->ncpus, &v))
			continue;
		switch (c) {
		case RTP_CNT_LOST_EVENTS: rep->lost_events = v; break;
		case RTP_CNT_THREAD_DROPS: rep->thread_drops = v; break;
		case RTP_CNT_PROC_DROPS: rep->proc_drops = v; break;
		case RTP_CNT_SYSCALL_NR_OOR: rep->syscalls_unaggregated = v; break;
		}
	}
	*out = rep;
	return 0;
cleanup:
	report__free(rep);
	return r;
}
