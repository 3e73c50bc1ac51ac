// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/capability.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "accounting.h"
#include "base/errmsg.h"
#include "base/vec.h"
#include "engine/bpfmap.h"
#include "engine/engine_internal.h"
#include "engine/pystacks.h"
#include "engine/uprobe_multi.h"
#include "sys/runtime.h"
#include "rtprof.skel.h"

#define DEFAULT_KERNEL_BTF "/sys/kernel/btf/vmlinux"

/* The syscalls after which a process of a restricted session has its credentials checked again. */
static void set_cred_nrs(volatile __u64 bits[8])
{
	static const long nrs[] = {
		SYS_setuid, SYS_setgid, SYS_setreuid, SYS_setregid, SYS_setresuid, SYS_setresgid,
		SYS_setfsuid, SYS_setfsgid, SYS_capset, SYS_prctl, SYS_unshare, SYS_setns,
	};

	for (size_t i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++)
		if (nrs[i] >= 0 && nrs[i] < 512)
			bits[nrs[i] >> 6] |= 1ull << (nrs[i] & 63);
}

/* The syscalls that take a path, and which argument it is (1-based): failures of these are counted by path. */
#define PATH_NR(name, arg) { SYS_##name, arg }
static void set_path_args(volatile __u8 args[RTP_MAX_SYSCALLS])
{
	static const struct {
		long nr;
		unsigned char arg;
	} calls[] = {
#if defined(__x86_64__)
		PATH_NR(open, 1), PATH_NR(creat, 1), PATH_NR(stat, 1), PATH_NR(lstat, 1), PATH_NR(access, 1),
		PATH_NR(execve, 1), PATH_NR(unlink, 1), PATH_NR(rmdir, 1), PATH_NR(mkdir, 1), PATH_NR(chdir, 1),
		PATH_NR(chmod, 1), PATH_NR(chown, 1), PATH_NR(lchown, 1), PATH_NR(truncate, 1), PATH_NR(readlink, 1),
		PATH_NR(rename, 1), PATH_NR(link, 1), PATH_NR(symlink, 2), PATH_NR(mknod, 1), PATH_NR(statfs, 1),
		PATH_NR(chroot, 1), PATH_NR(getxattr, 1), PATH_NR(lgetxattr, 1), PATH_NR(setxattr, 1),
		PATH_NR(lsetxattr, 1), PATH_NR(listxattr, 1), PATH_NR(llistxattr, 1), PATH_NR(removexattr, 1),
		PATH_NR(lremovexattr, 1), PATH_NR(utime, 1), PATH_NR(utimes, 1),
#endif
		PATH_NR(openat, 2), PATH_NR(newfstatat, 2), PATH_NR(statx, 2), PATH_NR(faccessat, 2),
		PATH_NR(execveat, 2), PATH_NR(unlinkat, 2), PATH_NR(mkdirat, 2), PATH_NR(mknodat, 2),
		PATH_NR(fchownat, 2), PATH_NR(fchmodat, 2), PATH_NR(renameat2, 2), PATH_NR(linkat, 2),
		PATH_NR(readlinkat, 2), PATH_NR(symlinkat, 3), PATH_NR(inotify_add_watch, 2),
		PATH_NR(name_to_handle_at, 2),
#ifdef SYS_openat2
		PATH_NR(openat2, 2),
#endif
#ifdef SYS_faccessat2
		PATH_NR(faccessat2, 2),
#endif
#ifdef SYS_renameat
		PATH_NR(renameat, 2),
#endif
	};

	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		if (calls[i].nr >= 0 && calls[i].nr < RTP_MAX_SYSCALLS)
			args[calls[i].nr] = calls[i].arg;
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

/* Whether this process runs in a child pid namespace: the probes see the kernel's (initial namespace's)
 * pids, this process another numbering, and no pid would match. The initial pid namespace's inode number
 * is a constant of the kernel (PROC_PID_INIT_INO); /proc may be the child namespace's own mount, so its
 * pid numbers cannot tell. */
#define PROC_PID_INIT_INO 0xEFFFFFFCu

static bool in_child_pid_ns(void)
{
	struct stat st;

	return stat("/proc/self/ns/pid", &st) == 0 && st.st_ino != PROC_PID_INIT_INO;
}

int engine__preflight(const struct engine_opts *opts, char *err, size_t errlen)
{
	const char *btf = kernel_btf_path(opts);

	if (in_child_pid_ns())
		return errmsg(err, errlen, -EINVAL,
			    "rtprof runs in a child pid namespace: the probes see the host's pids, not these; run it "
			    "in the host's pid namespace (docker: --pid=host), or profile through an rtprofd that does");

	if (geteuid() != 0 && !has_bpf_caps())
		return errmsg(err, errlen, -EPERM,
			    "profiling needs root (or CAP_BPF and CAP_PERFMON) to load the BPF probes; "
			    "run rtprof with sudo");
	if (access(btf, R_OK))
		return errmsg(err, errlen, -ENOENT,
			    "kernel BTF not found at %s (%s): rtprof's CO-RE probes need a kernel built with "
			    "CONFIG_DEBUG_INFO_BTF, or a BTF file for this kernel given with --btf FILE",
			    btf, strerror(errno));
	return 0;
}

/* The process that has pid now, or had it last: the newest entry (an exited target's pid may be reused). */
static struct target_proc *proc_find(struct engine *e, pid_t pid)
{
	for (size_t i = e->n_procs; i-- > 0;)
		if (e->procs[i].pid == pid)
			return &e->procs[i];
	return NULL;
}

static struct target_proc *proc_new(struct engine *e, pid_t pid, unsigned int session)
{
	struct target_proc *p;

	if (vec__grow(&e->procs, &e->cap_procs, e->n_procs))
		return NULL;
	p = &e->procs[e->n_procs++];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->session = session;
	p->max_rss_kb = -1;
	return p;
}

static void proc_sample(struct target_proc *p)
{
	struct proc_stat st;
	struct proc_status status;

	bool status_ok;

	if (p->exited)
		return;
	/* status first: the stat read after it tells whether both were the process's own */
	status_ok = procfs__read_status(p->pid, &status) == 0;
	if (procfs__read_stat(p->pid, 0, &st) != 0)
		return;
	if (!p->start_ticks)
		p->start_ticks = st.starttime_ticks;
	if (st.starttime_ticks != p->start_ticks) {
		p->exited = true; /* another process has its pid: it is gone, whether its exit was seen or not */
		p->exit_ns = clock__mono_ns();
		return;
	}
	if (st.state != 'Z' && st.state != 'X') {
		if (!p->have_first) {
			p->first = st;
			p->have_first = true;
		}
		p->last = st;
		p->have_last = true;
		if (!p->comm[0])
			snprintf(p->comm, sizeof(p->comm), "%s", st.comm);
	}
	if (status_ok && status.vm_hwm_kb > p->max_rss_kb)
		p->max_rss_kb = status.vm_hwm_kb;
}

static void engine_trace(struct engine *e, const struct trace_rec *rec)
{
	if (e->trace_fn && e->trace_fn(rec, e->trace_ctx))
		e->trace_fn = NULL; /* the sink failed (disk full...): it said why; stop streaming */
}

static void rt_emit(void *owner, const struct trace_rec *rec)
{
	engine_trace(owner, rec);
}

static void trace_proc(struct engine *e, const struct target_proc *p)
{
	struct trace_rec rec = { .type = TRACE_PROC };

	rec.proc.pid = (uint32_t)p->pid;
	rec.proc.ts_ns = clock__mono_ns();
	rec.proc.runtime_kind = p->runtime.kind;
	snprintf(rec.proc.runtime_version, sizeof(rec.proc.runtime_version), "%s", p->runtime.version);
	snprintf(rec.proc.exe, sizeof(rec.proc.exe), "%.*s", (int)sizeof(rec.proc.exe) - 1, p->runtime.exe);
	snprintf(rec.proc.comm, sizeof(rec.proc.comm), "%s", p->comm);
	engine_trace(e, &rec);
}

/* known: the runtime found by the caller (rtprofd's watch mode detects it off its event loop), or NULL.
 * from: enum rtp_probes_from; RTP_PROBES_START: the process waits for us (engine__target_execd), what is not
 * needed now is read later. ready: its runtime probes made ahead (engine__rt_ready), taken; NULL. */
static void proc_detect_runtime(struct engine *e, struct target_proc *p, const struct rtp_runtime_info *known,
				unsigned int from, uint64_t exec_ns, struct rt_ready *ready)
{
	bool quick = from == RTP_PROBES_START;

	if (known)
		p->runtime = *known;
	if ((known || (quick ? runtime__detect_quick : runtime__detect)(p->pid, &p->runtime) == 0) &&
	    p->runtime.exe[0])
		p->runtime_known = true;
	p->version_pending = quick && p->runtime_known && p->runtime.kind == RTP_RUNTIME_NODE && !p->runtime.version[0];
	{
		const struct session *ss = p->session < e->opts.max_sessions ? &e->sessions[p->session] : NULL;
		unsigned int how = (ss && ss->filewide ? RT_FILEWIDE : 0) | (p->armed ? RT_ARMED : 0);

		rt_attach(&e->rt, p, ss ? ss->rt_mode : ENGINE_RT_OFF, how, from, exec_ns, ready);
	}
	pystacks__attach(e, p);
	if (!e->trace_fn)
		return;
	trace_proc(e, p);
	rt_trace_methods(&e->rt, p);
}

void engine_proc_version(struct engine *e, struct target_proc *p)
{
	char exe[48];

	if (!p->version_pending)
		return;
	p->version_pending = false;
	/* the running file, wherever it is; once the process is gone, the path it had */
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)p->pid);
	if (runtime__node_version(exe, p->runtime.version, sizeof(p->runtime.version)) &&
	    runtime__node_version(p->runtime.exe, p->runtime.version, sizeof(p->runtime.version)))
		return;
	if (e->trace_fn)
		trace_proc(e, p);
}

/* Records of the `trace` ring buffer, as the probes wrote them. */
static int on_trace(void *ctx, void *data, size_t size)
{
	struct engine *e = ctx;
	struct trace_rec rec;
	__u32 type;

	if (size < sizeof(type) || !e->trace_fn)
		return 0;
	memcpy(&type, data, sizeof(type));
	rec.type = type;
	if (type == RTP_TR_SYSCALL && size >= sizeof(rec.sys))
		memcpy(&rec.sys, data, sizeof(rec.sys));
	else if (type == RTP_TR_SWITCH && size >= sizeof(rec.sw))
		memcpy(&rec.sw, data, sizeof(rec.sw));
	else if ((type == RTP_TR_WAKEUP || type == RTP_TR_MIGRATE) && size >= sizeof(rec.wk))
		memcpy(&rec.wk, data, sizeof(rec.wk));
	else if (type == RTP_TR_RUNTIME && size >= sizeof(rec.rt))
		memcpy(&rec.rt, data, sizeof(rec.rt));
	else
		return 0;
	engine_trace(e, &rec);
	return 0;
}

/* A forked child runs its parent's program (multiprocessing's workers): the same runtime, with probes of
 * its own from now on -- unless it has exec'd another program already, whose exec record follows. */
static void proc_fork_runtime(struct engine *e, struct target_proc *p, const struct target_proc *parent,
			      uint64_t fork_ns)
{
	char a[48], b[48];
	struct stat sa, sb;

	if (!parent || !parent->runtime_known || parent->runtime.kind == RTP_RUNTIME_OTHER)
		return;
	snprintf(a, sizeof(a), "/proc/%d/exe", (int)p->pid);
	snprintf(b, sizeof(b), "/proc/%d/exe", (int)parent->pid);
	if (stat(a, &sa) || stat(b, &sb) || sa.st_dev != sb.st_dev || sa.st_ino != sb.st_ino)
		return;
	proc_detect_runtime(e, p, &parent->runtime, RTP_PROBES_FORK, fork_ns, NULL);
}

/* The process exec'd at exec_ns (its record): a new program, whose runtime is found again. */
static void proc_exec(struct engine *e, struct target_proc *p, uint64_t exec_ns)
{
	p->runtime_known = false;
	p->armed = false; /* its new program's probes go in now */
	proc_detect_runtime(e, p, NULL, RTP_PROBES_EXEC, exec_ns, NULL);
	/* usage before exec belongs to the launcher, not the program */
	p->have_first = false;
	proc_sample(p);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct engine *e = ctx;
	const struct rtp_event *ev = data;
	struct target_proc *p;

	if (size >= sizeof(struct rtp_loop_rec) && ev->type == RTP_REC_LOOP_BLOCK) {
		pystacks__loop_block(e, data);
		return 0;
	}
	if (size < sizeof(*ev))
		return 0;
	if (ev->type == RTP_REC_PY_STACK) { /* the walker's, not the process's: no trace record */
		pystacks__new_stack(e, ev->tgid, ev->stack);
		return 0;
	}
	e->events++;
	if (e->trace_fn) {
		struct trace_rec rec = { .type = ev->type };

		rec.ev = *ev;
		engine_trace(e, &rec);
	}
	switch (ev->type) {
	case RTP_REC_PROC_NEW:
		if (ev->flags & RTP_EV_FOLLOWED && !proc_find(e, (pid_t)ev->tgid)) {
			struct target_proc *parent = proc_find(e, (pid_t)ev->parent_tgid);
			struct rtp_target tgt;
			__u32 key = ev->tgid;

			/* the child went into its parent's session (the probes' table says which, unless the child
			 * already left it: an exec of a privileged program) */
			memset(&tgt, 0, sizeof(tgt));
			if (bpf_map__lookup_elem(e->skel->maps.targets, &key, sizeof(key), &tgt, sizeof(tgt), 0)) {
				if (!parent)
					break;
				tgt.slot = parent->session;
			}
			p = proc_new(e, (pid_t)ev->tgid, parent ? parent->session : tgt.slot);
			if (p) {
				snprintf(p->comm, sizeof(p->comm), "%s", ev->comm);
				p->start_ticks = tgt.start_ticks; /* bound at the fork, in the kernel */
				proc_fork_runtime(e, p, proc_find(e, (pid_t)ev->parent_tgid), ev->ts_ns);
			}
		}
		break;
	case RTP_REC_EXEC:
		if (ev->flags & RTP_EV_WATCH) {
			if (ev->flags & RTP_EV_ARMED)
				engine_armed_exec(e, ev);
			if (e->exec_fn) {
				unsigned int i = e->watch_exec_next++ % ENGINE_WATCH_EXECS;

				e->watch_execs[i].pid = (pid_t)ev->tgid;
				e->watch_execs[i].ts_ns = ev->ts_ns;
				e->exec_fn((pid_t)ev->tgid, ev->comm, e->exec_ctx);
			}
			break;
		}
		p = proc_find(e, (pid_t)ev->tgid);
		if (p && (ev->flags & RTP_EV_DROPPED)) {
			/* it exec'd a privileged program: out of the session, as if it had ended */
			p->exited = p->forgotten = true;
			p->exit_ns = ev->ts_ns;
			rt_detach(&e->rt, p);
			pystacks__detach(e, p);
			break;
		}
		if (p && (p->exec_held || ev->ts_ns <= p->exec_done_ns)) {
			/* its launcher holds it until its entry point, where engine__target_execd handles it (the
			 * loader may not be done yet: probes placed now would be placed again) */
			snprintf(p->comm, sizeof(p->comm), "%s", ev->comm);
			if (p->exec_held)
				p->exec_pending_ns = ev->ts_ns;
			break;
		}
		if (p) {
			snprintf(p->comm, sizeof(p->comm), "%s", ev->comm);
			proc_exec(e, p, ev->ts_ns);
		}
		break;
	case RTP_REC_THREAD_EXIT:
		if (ev->flags & RTP_EV_GROUP_DEAD) {
			p = proc_find(e, (pid_t)ev->tgid);
			if (p) {
				p->exited = true;
				p->exit_ns = ev->ts_ns;
			} else {
				engine_armed_exit(e, (pid_t)ev->tgid); /* put in a slot held ready, never claimed */
			}
		}
		break;
	default:
		break;
	}
	return 0;
}

static int set_sizes(struct rtprof_bpf *skel, unsigned int procs, unsigned int threads, unsigned int sessions)
{
	int err = 0;

	err = err ?: bpf_map__set_max_entries(skel->maps.targets, procs);
	err = err ?: bpf_map__set_max_entries(skel->maps.threads, threads);
	err = err ?: bpf_map__set_max_entries(skel->maps.sys_stats, sessions * RTP_MAX_SYSCALLS);
	err = err ?: bpf_map__set_max_entries(skel->maps.cpu_busy, sessions);
	err = err ?: bpf_map__set_max_entries(skel->maps.runq_hist, sessions);
	err = err ?: bpf_map__set_max_entries(skel->maps.err_paths, sessions * RTP_ERR_PATHS_PER_SLOT);
	err = err ?: bpf_map__set_max_entries(skel->maps.err_path_use, sessions);
	return err;
}

int engine__new(const struct engine_opts *opts, struct engine **out, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts);
	const char *btf = kernel_btf_path(opts);
	struct rtp_sysnrs nrs;
	struct engine *e;
	int r;

	r = engine__preflight(opts, err, errlen);
	if (r)
		return r;
	e = calloc(1, sizeof(*e));
	if (!e)
		return errmsg(err, errlen, -ENOMEM, "out of memory");
	reaper__init(&e->reaper);
	if (opts)
		memcpy(&e->opts, opts, opts->sz && opts->sz < sizeof(e->opts) ? opts->sz : sizeof(e->opts));
	if (!e->opts.max_procs)
		e->opts.max_procs = RTP_DEFAULT_MAX_PROCS;
	if (!e->opts.max_threads)
		e->opts.max_threads = RTP_DEFAULT_MAX_THREADS;
	if (!e->opts.max_sessions)
		e->opts.max_sessions = RTP_DEFAULT_MAX_SLOTS;
	e->sessions = calloc(e->opts.max_sessions, sizeof(*e->sessions));
	if (!e->sessions) {
		r = errmsg(err, errlen, -ENOMEM, "out of memory");
		goto cleanup;
	}
	e->ncpus = libbpf_num_possible_cpus();
	if (e->ncpus <= 0) {
		r = errmsg(err, errlen, -EINVAL, "cannot count the possible CPUs");
		goto cleanup;
	}
	if (strcmp(btf, DEFAULT_KERNEL_BTF))
		open_opts.btf_custom_path = btf;

	e->skel = rtprof_bpf__open_opts(&open_opts);
	if (!e->skel) {
		r = -errno;
		r = errmsg(err, errlen, r, "cannot open the BPF object: %s", strerror(-r));
		goto cleanup;
	}
	e->rt = (struct rt_ctx){ .skel = e->skel, .emit = rt_emit, .owner = e, .reaper = &e->reaper,
				 .uprobe_multi = uprobe_multi__wanted() };
	/* watch mode places runtime probes file-wide: with multi-uprobe links only */
	if (e->opts.watch_execs && e->rt.uprobe_multi)
		e->rt.fw = rt_filewide__new();
	if (e->rt.uprobe_multi)
		rt_prepare_uprobe_multi(e->skel);
	e->skel->rodata->nr_exit = SYS_exit;
	e->skel->rodata->nr_exit_group = SYS_exit_group;
#if defined(__x86_64__)
	e->skel->rodata->nr_uretprobe = 335; /* __NR_uretprobe, newer than the headers this may build with */
#endif
	e->skel->rodata->sample_shift = e->opts.exact_latency || e->opts.record ? 0 : RTP_DEFAULT_SAMPLE_SHIFT;
	e->skel->rodata->watch_execs = e->opts.watch_execs;
	e->skel->rodata->ns_per_tick = (__u64)(1000000000L / procfs__ticks_per_sec());
	nrs = rtp_sysnrs_native();
	e->skel->rodata->nr_futex = nrs.futex;
	e->skel->rodata->nr_epoll_wait = nrs.epoll_wait;
	e->skel->rodata->nr_epoll_pwait = nrs.epoll_pwait;
	e->skel->rodata->nr_epoll_pwait2 = nrs.epoll_pwait2;
	set_cred_nrs(e->skel->rodata->cred_nrs);
	set_path_args(e->skel->rodata->path_arg);
	if (e->opts.record) {
		unsigned int bytes = e->opts.trace_buffer_bytes ? e->opts.trace_buffer_bytes : RTP_DEFAULT_TRACE_BUFFER;

		e->skel->rodata->record_trace = 1;
		r = bpf_map__set_max_entries(e->skel->maps.trace, bytes);
		if (r) {
			r = errmsg(err, errlen, r, "trace buffer of %u bytes: %s (a power of 2 of at least a page)",
				 bytes, strerror(-r));
			goto cleanup;
		}
	}
	r = set_sizes(e->skel, e->opts.max_procs, e->opts.max_threads, e->opts.max_sessions);
	if (r) {
		r = errmsg(err, errlen, r, "cannot size the BPF maps: %s", strerror(-r));
		goto cleanup;
	}
	r = pystacks__prepare(e->skel, e->opts.sample_hz || e->opts.stacks_by_session, e->opts.exact_latency);
	if (r) {
		r = errmsg(err, errlen, r, "cannot size the stack tables: %s", strerror(-r));
		goto cleanup;
	}
	r = rtprof_bpf__load(e->skel);
	if (r) {
		r = errmsg(err, errlen, r,
			 "cannot load the BPF probes: %s%s", strerror(-r),
			 r == -EPERM ? " (root is needed; kernel lockdown or a seccomp filter may also forbid BPF)" : " (run with -v for the verifier's log)");
		goto cleanup;
	}
	r = rtprof_bpf__attach(e->skel);
	if (r) {
		r = errmsg(err, errlen, r, "cannot attach the BPF probes: %s", strerror(-r));
		goto cleanup;
	}
	if (e->opts.sample_hz || e->opts.stacks_by_session) {
		r = pystacks__start(e, err, errlen);
		/* one session (the CLI's): its rate's events from now on, held until the end */
		if (!r && !e->opts.stacks_by_session)
			r = pystacks__rate_get(e, e->opts.sample_hz, err, errlen);
		if (r < 0)
			goto cleanup;
	}
	e->rb = ring_buffer__new(bpf_map__fd(e->skel->maps.events), on_event, e, NULL);
	if (!e->rb) {
		r = -errno;
		r = errmsg(err, errlen, r, "cannot open the event ring buffer: %s", strerror(-r));
		goto cleanup;
	}
	if (e->opts.record) {
		r = ring_buffer__add(e->rb, bpf_map__fd(e->skel->maps.trace), on_trace, e);
		if (r) {
			r = errmsg(err, errlen, r, "cannot open the trace ring buffer: %s", strerror(-r));
			goto cleanup;
		}
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
	for (size_t i = 0; i < e->n_procs; i++) {
		rt_free(&e->rt, &e->procs[i]);
		if (e->opts.own_perf_maps)
			pystacks__remove_perf_map(&e->procs[i]);
		pystacks__free_proc(&e->procs[i]);
	}
	pystacks__stop(e);
	/* the probes' links, then the object: the reaper's threads must be done with the former */
	reaper__fini(&e->reaper);
	rt_filewide__free(e->rt.fw);
	rtprof_bpf__destroy(e->skel);
	free(e->exited_threads);
	for (unsigned int s = 0; e->sessions && s < e->opts.max_sessions; s++)
		engine_session_clear(&e->sessions[s]);
	free(e->sessions);
	free(e->procs);
	free(e);
}

/* Give each thread that exists at attach the kernel's accounting of that moment as its base, so its
 * totals cover the attached window however long it runs before its first switch; a process spawned for
 * the profile gets a zero base, its totals covering its whole life, and starts from the switches the
 * kernel counted so far (the wait for its go-ahead; a preemption before it, on a busy machine). A thread
 * the probes saw first keeps the base they took (BPF_NOEXIST). */
static void seed_threads(struct engine *e, pid_t pid, unsigned int session, bool spawned)
{
	uint64_t now = clock__mono_ns();
	char path[64];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		struct rtp_thread t = { .tgid = (__u32)pid, .flags = RTP_THR_KSTATS };
		struct proc_schedstat ss;
		struct proc_status status;
		struct proc_stat st;
		char *end;
		long tid = strtol(d->d_name, &end, 10);
		int share;

		if (*end || tid <= 0 || procfs__read_schedstat(pid, (pid_t)tid, &ss))
			continue;
		t.tid = (__u32)tid;
		t.k_oncpu_base = spawned ? 0 : ss.oncpu_ns;
		t.k_runq_base = spawned ? 0 : ss.runq_wait_ns;
		t.k_oncpu = ss.oncpu_ns;
		t.k_runq = ss.runq_wait_ns;
		/* /proc/PID/status counts the switches of thread PID alone: the one thread of a spawned process */
		if (spawned && tid == pid && procfs__read_status(pid, &status) == 0) {
			t.sched.vol_switches = status.vol_switches;
			t.sched.invol_switches = status.invol_switches;
		}
		if (procfs__read_stat(pid, (pid_t)tid, &st) == 0)
			snprintf(t.comm, sizeof(t.comm), "%s", st.comm);
		share = engine_share_charge(e, session);
		if (share < 0)
			continue; /* its share of the thread table is full */
		t.share = (__u32)share;
		if (bpf_map__update_elem(e->skel->maps.threads, &t.tid, sizeof(t.tid), &t, sizeof(t), BPF_NOEXIST)) {
			engine_share_release(e, t.share);
			continue;
		}
		if (e->trace_fn) {
			struct trace_rec rec = { .type = TRACE_THREAD_BASE };

			rec.th = (struct trace_thread_acct){ .tid = t.tid, .tgid = t.tgid, .ts_ns = now,
							     .oncpu_ns = t.k_oncpu_base, .runq_ns = t.k_runq_base,
							     .vol_switches = t.sched.vol_switches,
							     .invol_switches = t.sched.invol_switches };
			memcpy(rec.th.comm, t.comm, sizeof(rec.th.comm));
			engine_trace(e, &rec);
		}
	}
	closedir(dir);
}

static int kernel_thread(const struct proc_stat *st)
{
	return (st->flags & PF_KTHREAD_FLAG) != 0;
}

/* Take p's entry out of the target set -- if it is still p's: its pid may have been given to another
 * process since, that another session has added. */
void engine_target_remove(struct engine *e, const struct target_proc *p)
{
	struct rtp_target tgt;
	__u32 key = (__u32)p->pid;

	if (bpf_map__lookup_elem(e->skel->maps.targets, &key, sizeof(key), &tgt, sizeof(tgt), 0) ||
	    (p->start_ticks && tgt.start_ticks != p->start_ticks))
		return;
	(void)bpf_map__delete_elem(e->skel->maps.targets, &key, sizeof(key), 0);
	__atomic_fetch_add(&e->skel->bss->target_gen, 1, __ATOMIC_SEQ_CST);
}

/* The time of the watched exec of pid seen in the last seconds, taken (0: none). */
static uint64_t watch_exec_take(struct engine *e, pid_t pid)
{
	uint64_t now = clock__mono_ns();

	for (size_t i = 0; i < ENGINE_WATCH_EXECS; i++) {
		uint64_t ts = e->watch_execs[i].ts_ns;

		if (e->watch_execs[i].pid != pid || !ts)
			continue;
		e->watch_execs[i].ts_ns = 0;
		if (ts <= now && now - ts < 10000000000ull)
			return ts;
	}
	return 0;
}

/* ready: NULL, or (*ready) the process's runtime probes made ahead, taken if the process gets its runtime
 * probes here, else left to the caller. */
static int session_add(struct engine *e, int session, pid_t pid, int pidfd, const struct rtp_runtime_info *known,
		       bool spawned, struct rt_ready **ready, char *err, size_t errlen)
{
	struct rtp_target tgt = { 0 };
	struct target_proc *p;
	struct proc_status status;
	struct proc_stat st;
	__u32 key = (__u32)pid;
	uint64_t armed_ns;
	int own = -1, r;

	if (session < 0 || (unsigned int)session >= e->opts.max_sessions || !e->sessions[session].used)
		return errmsg(err, errlen, -EINVAL, "no session %d", session);
	tgt.slot = (__u32)session;
	tgt.flags = (e->sessions[session].no_follow ? 0 : RTP_TARGET_FOLLOW) |
		    (e->sessions[session].restricted ? RTP_TARGET_RESTRICTED : 0) |
		    (e->sessions[session].per_thread ? RTP_TARGET_PER_THREAD : 0);
	tgt.owner_uid = (__u32)e->sessions[session].owner_uid;
	tgt.owner_gid = (__u32)e->sessions[session].owner_gid;
	armed_ns = e->sessions[session].armed_exec_ns;
	e->sessions[session].armed_exec_ns = 0;
	if (armed_ns) {
		struct rtp_target was;

		/* put in this slot at its exec: counted from there, as a process spawned for the profile is */
		spawned = true;
		if (bpf_map__lookup_elem(e->skel->maps.targets, &key, sizeof(key), &was, sizeof(was), 0) == 0 &&
		    was.slot == (__u32)session)
			tgt.flags |= was.flags & RTP_TARGET_RT_MASK;
		else
			armed_ns = 0; /* gone, and its pid another's */
	}
	if (pid <= 0)
		return errmsg(err, errlen, -ESRCH, "no such process: %d", pid);
	/* the process's identity for the whole of the attach: its pid is checked to still be its own at the end */
	if (pidfd < 0) {
		pidfd = own = procfs__pidfd_open(pid);
		if (own < 0 && errno != ENOSYS) {
			r = errmsg(err, errlen, -ESRCH, "no such process: %d", pid);
			goto out;
		}
	}
	r = procfs__read_stat(pid, 0, &st);
	if (r == -ESRCH || (r == 0 && (st.state == 'Z' || st.state == 'X'))) {
		r = errmsg(err, errlen, -ESRCH, "no such process: %d", pid);
		goto out;
	}
	if (r) {
		r = errmsg(err, errlen, r, "cannot read /proc/%d/stat: %s", pid, strerror(-r));
		goto out;
	}
	/* /proc/TID/stat names the thread itself: its process is status's Tgid */
	if (procfs__read_status(pid, &status) == 0 && status.tgid > 0 && status.tgid != pid) {
		r = errmsg(err, errlen, -ESRCH, "%d is a thread of process %d, not a process; attach to %d", pid,
			   (int)status.tgid, (int)status.tgid);
		goto out;
	}
	if (kernel_thread(&st)) {
		r = errmsg(err, errlen, -EINVAL, "%d (%s) is a kernel thread; rtprof profiles user processes", pid,
			   st.comm);
		goto out;
	}
	p = proc_find(e, pid);
	if (p && !p->exited && p->start_ticks == st.starttime_ticks) {
		r = 0; /* a target already */
		goto out;
	}
	tgt.start_ticks = st.starttime_ticks;
	p = proc_new(e, pid, (unsigned int)session);
	r = p ? bpf_map__update_elem(e->skel->maps.targets, &key, sizeof(key), &tgt, sizeof(tgt), BPF_ANY) : -ENOMEM;
	if (r) {
		if (p)
			e->n_procs--;
		if (r == -E2BIG)
			r = errmsg(err, errlen, -ENOSPC, "too many processes traced (limit %u)", e->opts.max_procs);
		else
			r = errmsg(err, errlen, r, "cannot add %d to the target set: %s", pid, strerror(-r));
		goto out;
	}
	p->user_added = true;
	p->armed = armed_ns != 0;
	p->start_ticks = st.starttime_ticks;
	snprintf(p->comm, sizeof(p->comm), "%s", st.comm);
	seed_threads(e, pid, (unsigned int)session, spawned);
	__atomic_fetch_add(&e->skel->bss->target_gen, 1, __ATOMIC_SEQ_CST);
	/* Still the same process now that it is in the target set? Then the pid was its own all along -- from
	 * the caller's check (which took pidfd first) to here -- and the probes' entry is bound to it alone. */
	if (pidfd >= 0 && !procfs__pidfd_alive(pidfd)) {
		engine_target_remove(e, p);
		/* what was seeded may be of the process that got the pid since */
		engine_forget_threads_of(e, pid);
		e->n_procs--;
		r = errmsg(err, errlen, -ESRCH, "process %d exited while being attached", pid);
		goto out;
	}
	if (!e->sessions[session].start_ns)
		e->sessions[session].start_ns = armed_ns ? armed_ns : clock__mono_ns();
	{
		/* a watched process: its probes see it from its exec, so late -- unless it was put in a slot held
		 * ready at its exec (armed.c), whose figures run from its first instruction */
		uint64_t exec_ns = watch_exec_take(e, pid);
		struct rt_ready *made = ready ? *ready : NULL;

		if (ready)
			*ready = NULL; /* taken */
		if (armed_ns)
			proc_detect_runtime(e, p, known, RTP_PROBES_START, armed_ns, made);
		else
			proc_detect_runtime(e, p, known, exec_ns ? RTP_PROBES_EXEC : RTP_PROBES_ATTACH, exec_ns, made);
	}
	proc_sample(p);
	if (p->armed && p->have_first) {
		/* its CPU time from its exec (what its launcher's child spent before it is a few ticks at most) */
		p->first.utime_ticks = 0;
		p->first.stime_ticks = 0;
	}
	r = 0;
out:
	if (r && armed_ns)
		engine_armed_evict(e, pid, (unsigned int)session); /* put in the slot at its exec, not added after all */
	if (own >= 0)
		close(own);
	return r;
}

int engine__session_add_pidfd(struct engine *e, int session, pid_t pid, int pidfd, char *err, size_t errlen)
{
	return session_add(e, session, pid, pidfd, NULL, false, NULL, err, errlen);
}

int engine__session_add_known(struct engine *e, int session, pid_t pid, int pidfd, const struct rtp_runtime_info *rt,
			      struct rt_ready *ready, char *err, size_t errlen)
{
	int r = session_add(e, session, pid, pidfd, rt, false, &ready, err, errlen);

	rt_ready_free(&e->rt, ready); /* not taken */
	return r;
}

struct rt_ready *engine__rt_ready(struct engine *e, pid_t pid, const struct rtp_runtime_info *rt, int mode)
{
	return rt_ready_make(&e->rt, pid, rt, mode);
}

void engine__rt_ready_free(struct engine *e, struct rt_ready *ready)
{
	rt_ready_free(&e->rt, ready);
}

int engine__session_add(struct engine *e, int session, pid_t pid, char *err, size_t errlen)
{
	return session_add(e, session, pid, -1, NULL, false, NULL, err, errlen);
}

static void session0_init(struct engine *e)
{
	if (!e->sessions[0].used)
		engine_session_init(e, 0);
}

int engine__add_target_pidfd(struct engine *e, pid_t pid, int pidfd, char *err, size_t errlen)
{
	session0_init(e);
	return engine__session_add_pidfd(e, 0, pid, pidfd, err, errlen);
}

int engine__add_target(struct engine *e, pid_t pid, char *err, size_t errlen)
{
	return engine__add_target_pidfd(e, pid, -1, err, errlen);
}

int engine__add_spawned(struct engine *e, pid_t pid, char *err, size_t errlen)
{
	session0_init(e);
	return session_add(e, 0, pid, -1, NULL, true, NULL, err, errlen);
}

void engine__target_held(struct engine *e, pid_t pid, bool held)
{
	struct target_proc *p = proc_find(e, pid);

	if (!p)
		return;
	p->exec_held = held;
	if (!held && p->exec_pending_ns && !p->exited)
		proc_exec(e, p, p->exec_pending_ns); /* let go before its entry point: as if not held */
	p->exec_pending_ns = 0;
}

int engine__target_execd(struct engine *e, pid_t pid)
{
	struct target_proc *p = proc_find(e, pid);
	struct proc_stat st;

	if (!p || p->exited)
		return -ESRCH;
	p->exec_held = false;
	p->exec_pending_ns = 0;
	p->exec_done_ns = clock__mono_ns();
	if (procfs__read_stat(pid, 0, &st) == 0)
		snprintf(p->comm, sizeof(p->comm), "%s", st.comm);
	p->runtime_known = false;
	proc_detect_runtime(e, p, NULL, RTP_PROBES_START, 0, NULL);
	/* usage before exec belongs to the launcher, not the program */
	p->have_first = false;
	proc_sample(p);
	return 0;
}

int engine__fd(const struct engine *e)
{
	return ring_buffer__epoll_fd(e->rb);
}

int engine__poll(struct engine *e, int timeout_ms)
{
	uint64_t before = e->events, now;
	int r = ring_buffer__poll(e->rb, timeout_ms);

	if (r < 0 && r != -EINTR)
		return r;
	/* records submitted with BPF_RB_NO_WAKEUP never make the epoll fd ready: consume them on the timer */
	r = ring_buffer__consume(e->rb);
	if (r < 0)
		return r;
	now = clock__mono_ns();
	for (size_t i = 0; i < e->n_procs; i++) {
		rt_poll(&e->rt, &e->procs[i]);
		engine_proc_version(e, &e->procs[i]);
	}
	pystacks__poll(e);
	for (size_t i = 0; i < e->n_procs; i++) {
		struct target_proc *p = &e->procs[i];

		if (!p->exited && kill(p->pid, 0) && errno == ESRCH) {
			p->exited = true; /* exit event lost or not yet read: the process is gone all the same */
			p->exit_ns = now;
		}
		proc_sample(p);
		/* long sessions with many short-lived children must not fill the target table */
		if (p->exited && !p->forgotten && p->exit_ns + RTP_FORGET_GRACE_NS < now) {
			engine_target_remove(e, p);
			p->forgotten = true;
			rt_detach(&e->rt, p);
			pystacks__detach(e, p);
		}
	}
	reaper__flush(&e->reaper); /* probes of processes gone or exec'd since the last poll */
	engine_armed_poll(e, now);
	if (now >= e->last_harvest_ns + RTP_FORGET_GRACE_NS) {
		e->last_harvest_ns = now;
		r = engine_harvest_threads(e, now);
		if (r)
			return r;
	}
	return (int)(e->events - before);
}

void engine__set_exec_watch(struct engine *e, engine_exec_fn fn, void *ctx)
{
	e->exec_fn = fn;
	e->exec_ctx = ctx;
}

void engine__set_trace_sink(struct engine *e, engine_trace_fn fn, void *ctx)
{
	e->trace_fn = e->opts.record ? fn : NULL;
	e->trace_ctx = ctx;
}

uint64_t engine__events(const struct engine *e)
{
	return e->events;
}

int engine__ncpus(const struct engine *e)
{
	return e->ncpus;
}

int engine_counter(struct engine *e, unsigned int idx, uint64_t *total, uint64_t *per_cpu)
{
	uint64_t vals[e->ncpus];
	__u32 key = idx;
	int r = bpf_map__lookup_elem(e->skel->maps.counters, &key, sizeof(key), vals, sizeof(vals), 0);

	if (r)
		return r;
	*total = 0;
	for (int c = 0; c < e->ncpus; c++) {
		*total += vals[c];
		if (per_cpu)
			per_cpu[c] = vals[c];
	}
	return 0;
}

void engine__trace_counts(struct engine *e, uint64_t *lost)
{
	uint64_t lost_events = 0;

	*lost = 0;
	(void)engine_counter(e, RTP_CNT_TRACE_LOST, lost, NULL);
	(void)engine_counter(e, RTP_CNT_LOST_EVENTS, &lost_events, NULL);
	*lost += lost_events;
}

int engine__poll_ms(const struct engine *e)
{
	return e->opts.record ? RTP_TRACE_POLL_MS : RTP_POLL_MS;
}

int engine__trace_finish(struct engine *e, uint64_t *lost_per_cpu, unsigned int ncpus, uint64_t *lost)
{
	uint64_t trace_lost[e->ncpus], event_lost[e->ncpus], t1 = 0, t2 = 0, now = clock__mono_ns();
	struct bpf_map *map = e->skel->maps.threads;
	__u32 key, next, *prev = NULL;
	int r;

	r = ring_buffer__consume(e->rb);
	if (r < 0)
		return r;
	while (e->trace_fn && bpf_map__get_next_key(map, prev, &next, sizeof(next)) == 0) {
		struct trace_rec rec = { .type = TRACE_THREAD_END };
		struct proc_schedstat ss;
		struct rtp_thread t;

		key = next;
		prev = &key;
		if (bpf_map__lookup_elem(map, &key, sizeof(key), &t, sizeof(t), 0) || (t.flags & RTP_THR_EXITED) ||
		    procfs__read_schedstat((pid_t)t.tgid, (pid_t)t.tid, &ss))
			continue;
		rec.th = (struct trace_thread_acct){ .tid = t.tid, .tgid = t.tgid, .ts_ns = now,
						     .oncpu_ns = ss.oncpu_ns, .runq_ns = ss.runq_wait_ns };
		memcpy(rec.th.comm, t.comm, sizeof(rec.th.comm));
		engine_trace(e, &rec);
	}
	r = engine_counter(e, RTP_CNT_TRACE_LOST, &t1, trace_lost) ?:
	    engine_counter(e, RTP_CNT_LOST_EVENTS, &t2, event_lost);
	if (r)
		return r;
	for (unsigned int c = 0; c < ncpus; c++)
		lost_per_cpu[c] = c < (unsigned int)e->ncpus ? trace_lost[c] + event_lost[c] : 0;
	*lost = t1 + t2;
	return 0;
}
