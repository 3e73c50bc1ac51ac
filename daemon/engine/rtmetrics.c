// SPDX-License-Identifier: LGPL-2.1-or-later
/* Runtime metrics of python and node targets (docs/runtime-metrics.md): which probes measure what for one
 * process, attached once its runtime is known, and the report's runtime section.
 *
 * Measured on this project's VMs, a uprobe hit costs ~14 us (a trap in and out of the kernel), so the
 * default methods put no breakpoint on a hot path:
 *   - GIL waits are futex waits on an address inside the interpreter's runtime state (_PyRuntime, which
 *     holds the GIL's mutex and condition variables in 3.8-3.13), seen by the syscall probes;
 *   - the event loop's idle time is its thread's epoll waits (libuv's own idle-time definition);
 * while the rare events -- collections, libuv threadpool tasks -- are uprobes or USDT probes. The uprobe GIL
 * method (take_gil/drop_gil) is exact but costs three hits per acquisition: opt-in. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "base/clock.h"
#include "engine/bpfmap.h"
#include "engine/engine.h"
#include "engine/log.h"
#include "engine/rtmetrics.h"
#include "rtprof.skel.h"
#include "sys/procfs.h"
#include "sys/runtime.h"
#include "sys/symbols.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#include "engine/reaper.h"
#include "engine/uprobe_multi.h"

#define RT_MAX_LINKS 16

struct rt_state {
	int kind; /* RTP_RT_* */
	struct bpf_link *links[RT_MAX_LINKS];
	bool usdt[RT_MAX_LINKS]; /* links[i] came from bpf_program__attach_usdt */
	int n_links;
	int fds[RT_MAX_LINKS]; /* multi-uprobe links, made through the bpf syscall (libbpf 1.1 has no API) */
	int n_fds;
	bool filewide;    /* its probes are the file-wide ones (rt_filewide): none of its own */
	unsigned int fw_made; /* file-wide probes its attach had to make (0: all were in place before it) */
	bool have_entry;  /* rt_procs has the process */
	bool have_saved;  /* `saved` holds its totals (the process is gone) */
	__u32 tflags;     /* RTP_TARGET_RT_* set for it */
	uint64_t since_ns; /* when they were set: the syscall probes time its GIL and epoll waits from then on */
	unsigned int from; /* enum rtp_probes_from */
	uint64_t late_ns;  /* RTP_PROBES_EXEC: from the exec to the probes */
	/* futex GIL method, when the interpreter's library was not mapped yet (just after exec) */
	bool gil_pending;
	char gil_elf[PATH_MAX + 64];
	uint64_t gil_off, gil_size;
	struct rtp_gil_range gil; /* hi 0: none (yet) */
	bool have_gil;            /* rt_gil has the process */
	struct rtp_rt_proc saved;
	char gil_method[48], gil_unavailable[192], gil_notes[384];
	char gc_method[48], gc_unavailable[192];
	char loop_method[16], loop_unavailable[192];
	char tp_method[16], tp_unavailable[192];
};

static const char FUTEX_NOTES[] =
	"wait: time blocked on the GIL's mutex and condition variable (futex waits inside _PyRuntime); an "
	"acquisition that spins briefly without blocking is not seen. hold: on-CPU time outside those waits, "
	"which also counts code running with the GIL released (C extensions, system calls)";
static const char TAKE_DROP_NOTES[] =
	"every acquisition (take_gil) and release (drop_gil); each costs three uprobe hits (a trap into the "
	"kernel, ~14 us on a VM): expect overhead on I/O-heavy code";
static const char SAVE_RESTORE_NOTES[] =
	"take_gil/drop_gil have no symbol in this build: only releases around blocking calls "
	"(PyEval_SaveThread/PyEval_RestoreThread) are seen; the periodic hand-offs between running threads are "
	"missed, so contention between CPU-bound threads is under-reported";

static void rt_add_link(const struct rt_ctx *c, struct rt_state *rt, struct bpf_link *l, bool usdt)
{
	if (rt->n_links < RT_MAX_LINKS) {
		rt->usdt[rt->n_links] = usdt;
		rt->links[rt->n_links++] = l;
	} else {
		reaper__add(c->reaper, l, usdt);
	}
}

/* The process's probes to the reaper: destroyed off this thread, from the engine's next flush. */
static void rt_drop_links(const struct rt_ctx *c, struct rt_state *rt)
{
	for (int i = 0; i < rt->n_links; i++)
		reaper__add(c->reaper, rt->links[i], rt->usdt[i]);
	for (int i = 0; i < rt->n_fds; i++)
		reaper__add_fd(c->reaper, rt->fds[i]);
	rt->n_links = rt->n_fds = 0;
}

/* The programs rt_attach places with attach_uprobe: loaded for multi-uprobe links when the kernel has them. */
static struct bpf_program *uprobe_progs(struct rtprof_bpf *skel, size_t i)
{
	struct bpf_program *progs[] = {
		skel->progs.rtp_gil_take,     skel->progs.rtp_gil_taken, skel->progs.rtp_gil_drop,
		skel->progs.rtp_py_gc_start,  skel->progs.rtp_gc_done,   skel->progs.rtp_v8_gc_start,
		skel->progs.rtp_uv_submit,    skel->progs.rtp_uv_work,   skel->progs.rtp_uv_work_done,
		skel->progs.rtp_py_gc_start_sdt, skel->progs.rtp_py_gc_done_usdt,
	};

	return i < sizeof(progs) / sizeof(progs[0]) ? progs[i] : NULL;
}

void rt_prepare_uprobe_multi(struct rtprof_bpf *skel)
{
	struct bpf_program *prog;

	for (size_t i = 0; (prog = uprobe_progs(skel, i)); i++)
		bpf_program__set_expected_attach_type(prog, (enum bpf_attach_type)uprobe_multi__attach_type());
}

/* ---- probes placed on a file for every process (watch mode) ---- */

/* One multi-uprobe link of prog on a file for every process, made once and kept for the engine's life. */
struct rt_fw_probe {
	dev_t dev;
	ino_t ino;
	uint64_t offset, cookie; /* of its first site */
	int prog_fd;
	bool ret;
	int fd;
};

#define RT_FW_MAX 128

struct rt_filewide {
	struct rt_fw_probe v[RT_FW_MAX];
	size_t n;
};

struct rt_filewide *rt_filewide__new(void)
{
	return calloc(1, sizeof(struct rt_filewide));
}

void rt_filewide__free(struct rt_filewide *fw)
{
	if (!fw)
		return;
	for (size_t i = 0; i < fw->n; i++)
		close(fw->v[i].fd);
	free(fw);
}

/* prog on cnt sites of the file at path for every process (their cookies marked RTP_COOKIE_FILEWIDE),
 * unless such a link is there already. 0 or -errno. */
static int filewide_link(const struct rt_ctx *c, struct rt_state *rt, struct bpf_program *prog, const char *path,
			 const uint64_t *offsets, const uint64_t *cookies, const uint64_t *sems, unsigned int cnt, bool ret)
{
	struct rt_filewide *fw = c->fw;
	uint64_t ck[16];
	struct stat st;
	int fd, prog_fd = bpf_program__fd(prog);

	if (!cnt || cnt > ARRAY_LEN(ck))
		return -EINVAL;
	if (stat(path, &st))
		return -errno;
	for (size_t i = 0; i < fw->n; i++) {
		const struct rt_fw_probe *f = &fw->v[i];

		if (f->dev == st.st_dev && f->ino == st.st_ino && f->offset == offsets[0] && f->prog_fd == prog_fd &&
		    f->ret == ret && f->cookie == (cookies ? cookies[0] : 0))
			return 0;
	}
	if (fw->n == RT_FW_MAX)
		return -ENOSPC;
	for (unsigned int i = 0; i < cnt; i++)
		ck[i] = (cookies ? cookies[i] : 0) | RTP_COOKIE_FILEWIDE;
	fd = uprobe_multi__link(prog_fd, 0, path, offsets, ck, sems, cnt, ret);
	if (fd < 0)
		return fd;
	fw->v[fw->n++] = (struct rt_fw_probe){ .dev = st.st_dev, .ino = st.st_ino, .offset = offsets[0],
					       .cookie = cookies ? cookies[0] : 0, .prog_fd = prog_fd, .ret = ret,
					       .fd = fd };
	rt->fw_made++;
	return 0;
}

/* A uprobe (or uretprobe) on one process at a file offset (file-wide when the process counts through
 * those); 0 or -errno. */
static int attach_uprobe(const struct rt_ctx *c, struct rt_state *rt, struct bpf_program *prog, pid_t pid,
			 const char *path, uint64_t offset, bool ret, uint64_t cookie)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o, .retprobe = ret, .bpf_cookie = cookie);
	struct bpf_link *l;

	if (rt->filewide)
		return filewide_link(c, rt, prog, path, &offset, &cookie, NULL, 1, ret);
	if (c->uprobe_multi) {
		int fd;

		if (rt->n_fds == RT_MAX_LINKS)
			return -E2BIG;
		fd = uprobe_multi__link(bpf_program__fd(prog), pid, path, &offset, &cookie, NULL, 1, ret);
		if (fd < 0)
			return fd;
		rt->fds[rt->n_fds++] = fd;
		return 0;
	}
	l = bpf_program__attach_uprobe_opts(prog, pid, path, (size_t)offset, &o);
	if (!l)
		return -errno;
	rt_add_link(c, rt, l, false);
	return 0;
}

/* The address at which `pid` maps file offset `off` of the ELF at `path`: the file's mapping with the
 * greatest page offset not above `off` belongs to the segment holding it (also for its zero-filled tail).
 * 0 or -errno. */
struct vaddr_find {
	struct stat st;
	uint64_t off, best_pgoff, best_start;
	bool found;
};

static int vaddr_of(const struct proc_mapping *m, void *ctx)
{
	struct vaddr_find *f = ctx;

	if (m->inode != f->st.st_ino || m->dev_major != major(f->st.st_dev) || m->dev_minor != minor(f->st.st_dev) ||
	    m->pgoff > f->off)
		return 0;
	if (!f->found || m->pgoff >= f->best_pgoff) {
		f->best_pgoff = m->pgoff;
		f->best_start = m->start;
		f->found = true;
	}
	return 0;
}

int rt_file_vaddr(pid_t pid, const char *path, uint64_t off, uint64_t *vaddr)
{
	struct vaddr_find f = { .off = off };
	int r;

	if (stat(path, &f.st))
		return -errno;
	r = procfs__maps_each(pid, vaddr_of, &f);
	/* a process gone meanwhile, or maps cut short, has the file not mapped (yet): its exit is seen apart */
	if (r < 0 && r != -ESRCH && r != -EIO)
		return r;
	if (r < 0 || !f.found)
		return -ENOENT;
	*vaddr = f.best_start + (off - f.best_pgoff);
	return 0;
}

/* ---- python ---- */

/* Whether the ELF has both USDT probes provider:a and provider:b. */
/* CPython's gc__start and gc__done probes (every site of each) as two multi-uprobe links, their
 * semaphores counted by the kernel, gc__start's generation read as its cookie says. 0 or -errno. */
static int python_gc_sdt(const struct rt_ctx *c, struct target_proc *p, struct rt_state *rt, const char *elf)
{
	enum { MAX_SITES = 16 };
	struct rtp_usdt_probe v[64];
	uint64_t offs[2][MAX_SITES], cookies[2][MAX_SITES], sems[2][MAX_SITES];
	unsigned int n[2] = { 0, 0 };
	int total = symbols__usdt_list(elf, v, sizeof(v) / sizeof(v[0])), fds[2];

	if (total < 0)
		return total;
	for (int i = 0; i < total && i < (int)(sizeof(v) / sizeof(v[0])); i++) {
		int which = !strcmp(v[i].name, "gc__start") ? 0 : !strcmp(v[i].name, "gc__done") ? 1 : -1;

		if (which < 0 || strcmp(v[i].provider, "python") || n[which] == MAX_SITES)
			continue;
		cookies[which][n[which]] = 0;
		if (which == 0 && usdt__arg_cookie(v[i].args, 0, &cookies[0][n[0]]))
			return -ENOTSUP; /* an argument form this build does not read */
		offs[which][n[which]] = v[i].offset;
		sems[which][n[which]] = v[i].semaphore_offset;
		n[which]++;
	}
	if (!n[0] || !n[1] || rt->n_fds + 2 > RT_MAX_LINKS)
		return -ENOENT;
	if (rt->filewide)
		return filewide_link(c, rt, c->skel->progs.rtp_py_gc_start_sdt, elf, offs[0], cookies[0], sems[0], n[0],
				     false) ?:
		       filewide_link(c, rt, c->skel->progs.rtp_py_gc_done_usdt, elf, offs[1], cookies[1], sems[1], n[1],
				     false);
	fds[0] = uprobe_multi__link(bpf_program__fd(c->skel->progs.rtp_py_gc_start_sdt), p->pid, elf, offs[0],
				    cookies[0], sems[0], n[0], false);
	if (fds[0] < 0)
		return fds[0];
	fds[1] = uprobe_multi__link(bpf_program__fd(c->skel->progs.rtp_py_gc_done_usdt), p->pid, elf, offs[1],
				    cookies[1], sems[1], n[1], false);
	if (fds[1] < 0) {
		if (c->off_thread)
			close(fds[0]); /* this thread may wait for it */
		else
			reaper__add_fd(c->reaper, fds[0]);
		return fds[1];
	}
	rt->fds[rt->n_fds++] = fds[0];
	rt->fds[rt->n_fds++] = fds[1];
	return 0;
}

/* CPython 3.13 chooses the generation of an automatic collection inside gc_collect_main (GENERATION_AUTO):
 * the probe learns it from the interpreter's per-generation collection counts, found through the offsets
 * the interpreter publishes for debuggers (_Py_DebugOffsets, the start of _PyRuntime, read from the file's
 * initialized data). The counts' place in the collector's state (offsetof(struct _gc_runtime_state,
 * generation_stats)) is not published: it is 128 in every 3.13 build with the GIL. 0 or -errno. */
static int py313_gc_offsets(const char *elf, uint64_t runtime_off, const char *version, struct rtp_rt_proc *entry)
{
	enum { COOKIE = 0, VERSION = 8, FREE_THREADED = 16, INTERP_GC = 80, TSTATE_INTERP = 176, GC_STATS = 128 };
	unsigned char b[TSTATE_INTERP + 8];
	uint64_t v, ft, gc, interp;
	ssize_t n;
	int fd;

	if (strncmp(version, "3.13.", 5))
		return -ENOTSUP;
	fd = open(elf, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = pread(fd, b, sizeof(b), (off_t)runtime_off);
	close(fd);
	if (n != (ssize_t)sizeof(b) || memcmp(b + COOKIE, "xdebugpy", 8))
		return -ENOENT;
	memcpy(&v, b + VERSION, sizeof(v));
	memcpy(&ft, b + FREE_THREADED, sizeof(ft));
	memcpy(&gc, b + INTERP_GC, sizeof(gc));
	memcpy(&interp, b + TSTATE_INTERP, sizeof(interp));
	if ((v >> 16) != 0x030d || ft || !gc || gc > 1 << 20 || !interp || interp > 1 << 16)
		return -ENOTSUP;
	entry->py_tstate_interp = (__u32)interp;
	entry->py_interp_gcstats = gc + GC_STATS;
	return 0;
}

static bool has_usdt(const char *elf, const char *provider, const char *a, const char *b)
{
	size_t max = 32; /* CPython defines about a dozen: the notes are read once, twice if there are more */
	struct rtp_usdt_probe *v = calloc(max, sizeof(*v));
	int n = v ? symbols__usdt_list(elf, v, max) : -ENOMEM;
	bool found_a = false, found_b = false;

	if (n > 0 && (size_t)n > max) {
		struct rtp_usdt_probe *all = reallocarray(v, (size_t)n, sizeof(*v));

		if (all) {
			v = all;
			max = (size_t)n;
			n = symbols__usdt_list(elf, v, max);
		} else {
			n = -ENOMEM;
		}
	}
	for (int i = 0; i < n && (size_t)i < max; i++) {
		if (strcmp(v[i].provider, provider))
			continue;
		found_a |= !strcmp(v[i].name, a);
		found_b |= !strcmp(v[i].name, b);
	}
	free(v);
	return found_a && found_b;
}

/* The uprobe GIL method: a function that takes the GIL (entry: waiting; return: holding) and one that
 * drops it. */
static void gil_uprobes(const struct rt_ctx *c, struct target_proc *p, struct rt_state *rt, const char *elf,
			uint64_t take, uint64_t drop, const char *method, const char *notes)
{
	struct rtprof_bpf *skel = c->skel;
	int r = attach_uprobe(c, rt, skel->progs.rtp_gil_take, p->pid, elf, take, false, 0);

	r = r ?: attach_uprobe(c, rt, skel->progs.rtp_gil_taken, p->pid, elf, take, true, 0);
	r = r ?: attach_uprobe(c, rt, skel->progs.rtp_gil_drop, p->pid, elf, drop, false, 0);
	if (r) {
		snprintf(rt->gil_unavailable, sizeof(rt->gil_unavailable), "cannot attach uprobes: %s", strerror(-r));
		return;
	}
	snprintf(rt->gil_method, sizeof(rt->gil_method), "%s", method);
	snprintf(rt->gil_notes, sizeof(rt->gil_notes), "%s", notes);
}

/* What python_attach looks for in the interpreter's ELF file, in this order. */
static const struct rtp_sym_query python_syms[] = {
	{ .name = "_PyRuntime" },
	{ .name = "take_gil" },
	{ .name = "drop_gil" },
	{ .name = "PyEval_RestoreThread" },
	{ .name = "PyEval_SaveThread" },
	{ .name = "gc_collect_main" },
};

static void python_attach(const struct rt_ctx *c, struct target_proc *p, struct rt_state *rt, struct rtp_rt_proc *entry,
			  __u32 *tflags, int mode)
{
	struct rtprof_bpf *skel = c->skel;
	char elf[PATH_MAX + 64], root[48];
	struct rtp_sym_query q[ARRAY_LEN(python_syms)];
	int r;

	memcpy(q, python_syms, sizeof(q));
	/* pid 0: a program, no process (rt_prime) */
	snprintf(root, sizeof(root), p->pid ? "/proc/%d/root" : "", (int)p->pid);
	/* The interpreter lives in libpython when the executable links it, else in the executable. Just
	 * after an exec the dynamic loader may not have mapped the library yet: then it is the file the
	 * runtime detection found (uprobes are placed by file; they apply once it is mapped). */
	if (p->runtime.lib[0] && (!p->pid || symbols__find_mapping(p->pid, "libpython", elf, sizeof(elf))))
		snprintf(elf, sizeof(elf), "%s%.*s", p->runtime.lib[0] == '/' ? root : "", PATH_MAX - 1, p->runtime.lib);
	else if (!p->runtime.lib[0] && p->pid)
		snprintf(elf, sizeof(elf), "/proc/%d/exe", (int)p->pid);
	else if (!p->runtime.lib[0])
		snprintf(elf, sizeof(elf), "%.*s", PATH_MAX - 1, p->runtime.exe);
	r = symbols__resolve(elf, root, q, sizeof(q) / sizeof(q[0]));
	if (r < 0) {
		snprintf(rt->gil_unavailable, sizeof(rt->gil_unavailable), "cannot read the interpreter's ELF file: %s",
			 strerror(-r));
		snprintf(rt->gc_unavailable, sizeof(rt->gc_unavailable), "%s", rt->gil_unavailable);
		return;
	}

	/* GIL */
	if (mode == ENGINE_RT_GIL_UPROBES && q[1].found && q[2].found) {
		gil_uprobes(c, p, rt, elf, q[1].offset, q[2].offset, "take_gil/drop_gil", TAKE_DROP_NOTES);
	} else if (mode == ENGINE_RT_GIL_UPROBES && q[3].found && q[4].found) {
		gil_uprobes(c, p, rt, elf, q[3].offset, q[4].offset, "PyEval_SaveThread/PyEval_RestoreThread",
			    SAVE_RESTORE_NOTES);
	} else if (mode == ENGINE_RT_GIL_UPROBES) {
		snprintf(rt->gil_unavailable, sizeof(rt->gil_unavailable),
			 "no symbol for take_gil/drop_gil nor PyEval_RestoreThread/PyEval_SaveThread in %.100s", elf);
	} else if (!q[0].found || !q[0].size) {
		snprintf(rt->gil_unavailable, sizeof(rt->gil_unavailable),
			 "no _PyRuntime symbol (with its size) in %.100s: the GIL's address is unknown", elf);
	} else if (!p->pid) {
		snprintf(rt->gil_method, sizeof(rt->gil_method), "futex"); /* each process's own address, later */
	} else {
		uint64_t lo = 0;

		r = rt_file_vaddr(p->pid, elf, q[0].offset, &lo);
		if (r == -ENOENT && p->runtime.lib[0]) {
			/* not mapped yet: rt_poll() finds it */
			rt->gil_pending = true;
			snprintf(rt->gil_elf, sizeof(rt->gil_elf), "%s", elf);
			rt->gil_off = q[0].offset;
			rt->gil_size = q[0].size;
			snprintf(rt->gil_method, sizeof(rt->gil_method), "futex");
			snprintf(rt->gil_notes, sizeof(rt->gil_notes), "%s", FUTEX_NOTES);
		} else if (r) {
			snprintf(rt->gil_unavailable, sizeof(rt->gil_unavailable),
				 "cannot find _PyRuntime in the process's mappings: %s", strerror(-r));
		} else {
			rt->gil = (struct rtp_gil_range){ .lo = lo, .hi = lo + q[0].size };
			*tflags |= RTP_TARGET_RT_GIL_FUTEX;
			snprintf(rt->gil_method, sizeof(rt->gil_method), "futex");
			snprintf(rt->gil_notes, sizeof(rt->gil_notes), "%s", FUTEX_NOTES);
		}
	}

	/* GC: the interpreter's own USDT probes when built with them, else its collector's entry and return */
	if (c->uprobe_multi && has_usdt(elf, "python", "gc__start", "gc__done")) {
		r = python_gc_sdt(c, p, rt, elf);
		if (!r) {
			snprintf(rt->gc_method, sizeof(rt->gc_method), "usdt");
			return;
		}
		snprintf(rt->gc_unavailable, sizeof(rt->gc_unavailable), "cannot attach the USDT probes: %s",
			 strerror(-r));
	} else if (has_usdt(elf, "python", "gc__start", "gc__done")) {
		/* libbpf finds a shared library's load address by its path in /proc/PID/maps */
		const char *usdt_path = p->runtime.lib[0] ? p->runtime.lib : p->runtime.exe;
		struct bpf_link *a, *b;

		reaper__usdt_lock(); /* the reaper may be destroying USDT links of this object */
		a = bpf_program__attach_usdt(skel->progs.rtp_py_gc_start_usdt, p->pid, usdt_path, "python", "gc__start",
					     NULL);
		b = a ? bpf_program__attach_usdt(skel->progs.rtp_py_gc_done_usdt, p->pid, usdt_path, "python",
						 "gc__done", NULL)
		      : NULL;
		r = -errno;
		if (a && !b)
			bpf_link__destroy(a);
		reaper__usdt_unlock();
		if (a && b) {
			rt_add_link(c, rt, a, true);
			rt_add_link(c, rt, b, true);
			snprintf(rt->gc_method, sizeof(rt->gc_method), "usdt");
			return;
		}
		snprintf(rt->gc_unavailable, sizeof(rt->gc_unavailable), "cannot attach the USDT probes: %s",
			 strerror(-r));
	}
	if (!q[5].found) {
		if (!rt->gc_unavailable[0])
			snprintf(rt->gc_unavailable, sizeof(rt->gc_unavailable),
				 "no USDT gc probes and no gc_collect_main symbol in %.60s (stripped: install the "
				 "interpreter's debug symbols)", elf);
		return;
	}
	if (!strncmp(p->runtime.version, "3.13.", 5) &&
	    (!q[0].found || py313_gc_offsets(elf, q[0].offset, p->runtime.version, entry))) {
		snprintf(rt->gc_unavailable, sizeof(rt->gc_unavailable),
			 "CPython %.8s chooses the generation inside gc_collect_main; its debug offsets "
			 "(_Py_DebugOffsets) are not readable in %.40s", p->runtime.version, elf);
		return;
	}
	r = attach_uprobe(c, rt, skel->progs.rtp_py_gc_start, p->pid, elf, q[5].offset, false, 0);
	r = r ?: attach_uprobe(c, rt, skel->progs.rtp_gc_done, p->pid, elf, q[5].offset, true, 0);
	if (r)
		snprintf(rt->gc_unavailable, sizeof(rt->gc_unavailable), "cannot attach uprobes: %s", strerror(-r));
	else {
		snprintf(rt->gc_method, sizeof(rt->gc_method), "uprobe:gc_collect_main");
		rt->gc_unavailable[0] = '\0';
	}
}

/* ---- node ---- */

/* uv_work_t as libuv 1.x's uv.h lays it out (UV_REQ_FIELDS, then loop, work_cb, after_work_cb, work_req),
 * to find the struct uv__work that uv_queue_work() submits. The public ABI, stable across libuv 1.x. */
typedef struct {
	void *data;
	int type;
	void *reserved[6];
	void *loop;
	void *work_cb;
	void *after_work_cb;
	void *work_req;
} uv_work_t_layout;

/* What node_attach looks for: libuv's (in the executable, or in libuv.so when node links it: distribution
 * builds), then V8's collector, in the executable: one pass over its symbols when both are there. */
enum { N_UV = 7, GC = 7 };
static const struct rtp_sym_query node_syms[] = {
	{ .name = "uv__work_submit" },
	{ .name = "uv_queue_work" },
	{ .name = "uv__fs_work" },
	{ .name = "uv__queue_work" },
	{ .name = "uv__getaddrinfo_work" },
	{ .name = "uv__getnameinfo_work" },
	{ .name = "uv__random_work" },
	{ .name = "_ZN2v88internal4Heap24PerformGarbageCollectionE", .prefix = 1 },
};

static void node_attach(const struct rt_ctx *c, struct target_proc *p, struct rt_state *rt, __u32 *tflags)
{
	struct rtprof_bpf *skel = c->skel;
	char elf[PATH_MAX + 32], uv[PATH_MAX + 32], root[48];
	/* libuv: in the executable, or in libuv.so when node links it (distribution builds); then V8's
	 * collector, in the executable: one pass over its symbols when both are there */
	struct rtp_sym_query u[ARRAY_LEN(node_syms)];
	static const uint64_t kinds[] = { 0, 0, RTP_TP_FS, RTP_TP_WORK, RTP_TP_DNS, RTP_TP_DNS, RTP_TP_RANDOM };
	bool one_file;
	int r, rg;

	memcpy(u, node_syms, sizeof(u));
	/* event loop: its thread's epoll waits, from the syscall probes */
	*tflags |= RTP_TARGET_RT_LOOP;
	snprintf(rt->loop_method, sizeof(rt->loop_method), "epoll");

	/* pid 0: a program, no process (rt_prime): a libuv it links is not known */
	snprintf(root, sizeof(root), p->pid ? "/proc/%d/root" : "", (int)p->pid);
	if (p->pid)
		snprintf(elf, sizeof(elf), "/proc/%d/exe", (int)p->pid);
	else
		snprintf(elf, sizeof(elf), "%.*s", PATH_MAX - 1, p->runtime.exe);
	if (!p->pid || symbols__find_mapping(p->pid, "libuv", uv, sizeof(uv)))
		snprintf(uv, sizeof(uv), "%s", elf);

	one_file = !strcmp(uv, elf);
	r = symbols__resolve(uv, root, u, one_file ? N_UV + 1 : N_UV);
	rg = one_file ? r : symbols__resolve(elf, root, &u[GC], 1);
	if (r < 0 || !u[0].found) {
		snprintf(rt->tp_unavailable, sizeof(rt->tp_unavailable), "no uv__work_submit symbol in %.100s%s%s", uv,
			 r < 0 ? ": " : " (stripped?)", r < 0 ? strerror(-r) : "");
	} else {
		r = attach_uprobe(c, rt, skel->progs.rtp_uv_submit, p->pid, uv, u[0].offset, false, 0);
		/* uv_queue_work may have the submission inlined: it gets a probe of its own, whose argument is
		 * the uv_work_t holding the struct uv__work (libuv 1.x's stable ABI, uv.h) */
		if (!r && u[1].found)
			r = attach_uprobe(c, rt, skel->progs.rtp_uv_submit, p->pid, uv, u[1].offset, false,
					  offsetof(uv_work_t_layout, work_req));
		for (size_t i = 2; !r && i < N_UV; i++) {
			if (!u[i].found)
				continue;
			r = attach_uprobe(c, rt, skel->progs.rtp_uv_work, p->pid, uv, u[i].offset, false, kinds[i]);
			r = r ?: attach_uprobe(c, rt, skel->progs.rtp_uv_work_done, p->pid, uv, u[i].offset, true, kinds[i]);
		}
		if (r)
			snprintf(rt->tp_unavailable, sizeof(rt->tp_unavailable), "cannot attach uprobes: %s",
				 strerror(-r));
		else
			snprintf(rt->tp_method, sizeof(rt->tp_method), "uprobes");
	}

	if (rg < 0 || !u[GC].found) {
		snprintf(rt->gc_unavailable, sizeof(rt->gc_unavailable),
			 "no v8::internal::Heap::PerformGarbageCollection symbol in %.80s%s%s", elf,
			 rg < 0 ? ": " : " (stripped?)", rg < 0 ? strerror(-rg) : "");
		return;
	}
	r = attach_uprobe(c, rt, skel->progs.rtp_v8_gc_start, p->pid, elf, u[GC].offset, false, 0);
	r = r ?: attach_uprobe(c, rt, skel->progs.rtp_gc_done, p->pid, elf, u[GC].offset, true, 0);
	if (r)
		snprintf(rt->gc_unavailable, sizeof(rt->gc_unavailable), "cannot attach uprobes: %s", strerror(-r));
	else
		snprintf(rt->gc_method, sizeof(rt->gc_method), "uprobe:Heap::PerformGarbageCollection");
}

/* ---- lifecycle ---- */

void rt_prefetch(const char *path)
{
	struct rtp_runtime_info *info = calloc(1, sizeof(*info));
	struct rtp_sym_query q[ARRAY_LEN(node_syms)];

	/* with node's version: what the exec's detection reads (the version is found in its .rodata, ~40 ms) */
	if (!info || runtime__detect_elf(path, info)) {
		free(info);
		return;
	}
	if (info->kind == RTP_RUNTIME_PYTHON) {
		memcpy(q, python_syms, sizeof(python_syms));
		(void)symbols__resolve(info->lib[0] ? info->lib : path, NULL, q, ARRAY_LEN(python_syms));
	} else if (info->kind == RTP_RUNTIME_NODE) {
		memcpy(q, node_syms, sizeof(node_syms));
		(void)symbols__resolve(path, NULL, q, ARRAY_LEN(node_syms));
	}
	free(info);
}

/* The process's GIL range (rt->gil) for the syscall probes: a map of userspace's own, so that no write of it
 * goes over what the probes count. 0 or -errno. */
static int rt_gil_set(const struct rt_ctx *c, pid_t pid, struct rt_state *rt)
{
	__u32 key = (__u32)pid;
	int r = bpf_map__update_elem(c->skel->maps.rt_gil, &key, sizeof(key), &rt->gil, sizeof(rt->gil), BPF_ANY);

	rt->have_gil = r == 0;
	return r;
}

static void set_target_flags(const struct rt_ctx *c, pid_t pid, __u32 flags)
{
	struct rtp_target tgt;
	__u32 key = (__u32)pid;

	if (bpf_map__lookup_elem(c->skel->maps.targets, &key, sizeof(key), &tgt, sizeof(tgt), 0))
		return;
	tgt.flags = (tgt.flags & ~RTP_TARGET_RT_MASK) | flags;
	if (bpf_map__update_elem(c->skel->maps.targets, &key, sizeof(key), &tgt, sizeof(tgt), BPF_EXIST) == 0)
		__atomic_fetch_add(&c->skel->bss->target_gen, 1, __ATOMIC_SEQ_CST);
}

void rt_free(const struct rt_ctx *c, struct target_proc *p)
{
	if (!p->rt)
		return;
	rt_drop_links(c, p->rt);
	free(p->rt);
	p->rt = NULL;
}

static int tp_item_of(const void *key, const void *value, void *ctx)
{
	(void)value;
	return ((const struct rtp_tp_key *)key)->tgid == *(const __u32 *)ctx;
}

void rt_detach(const struct rt_ctx *c, struct target_proc *p)
{
	struct rt_state *rt = p->rt;
	__u32 key = (__u32)p->pid;

	if (!rt)
		return;
	rt_drop_links(c, rt);
	if (rt->have_entry) {
		if (bpf_map__lookup_elem(c->skel->maps.rt_procs, &key, sizeof(key), &rt->saved, sizeof(rt->saved), 0) == 0)
			rt->have_saved = true;
		(void)bpf_map__delete_elem(c->skel->maps.rt_procs, &key, sizeof(key), 0);
		rt->have_entry = false;
	}
	if (rt->have_gil) {
		(void)bpf_map__delete_elem(c->skel->maps.rt_gil, &key, sizeof(key), 0);
		rt->have_gil = false;
	}
	/* threadpool items it submitted that never ran (cancelled, or the process died) */
	if (rt->tp_method[0])
		(void)bpfmap__delete_where(c->skel->maps.tp_pending, sizeof(struct rtp_tp_key), sizeof(__u64), tp_item_of, &key);
}

/* Room in the table of file-wide probes for a program's (about a dozen), with multi-uprobe links. */
static bool filewide_room(const struct rt_ctx *c)
{
	return c->uprobe_multi && c->fw && c->fw->n + 16 <= RT_FW_MAX;
}

/* The probes of a process whose runtime (python or node) is known, of its own or file-wide, as `mode` says:
 * their state, its runtime entry's configuration in *entry and its target flags in *tflags; NULL: no memory. */
static struct rt_state *runtime_probes(const struct rt_ctx *c, struct target_proc *p, bool filewide, int mode,
				       struct rtp_rt_proc *entry, __u32 *tflags)
{
	struct rt_state *rt = calloc(1, sizeof(*rt));

	if (!rt)
		return NULL;
	rt->kind = p->runtime.kind == RTP_RUNTIME_PYTHON ? RTP_RT_PYTHON : RTP_RT_NODE;
	rt->filewide = filewide;
	entry->kind = (__u32)rt->kind;
	entry->filewide = filewide;
	engine_log_quiet(true);
	if (rt->kind == RTP_RT_PYTHON)
		python_attach(c, p, rt, entry, tflags, mode);
	else
		node_attach(c, p, rt, tflags);
	engine_log_quiet(false);
	return rt;
}

/* The program's template for its next processes (rtp_watch_tmpl): they get their runtime entry at their
 * exec, and the file-wide probes count them from their first instruction. */
static void watch_template(const struct rt_ctx *c, const char *exe, const struct rt_state *rt,
			   const struct rtp_rt_proc *entry)
{
	struct rtp_watch_tmpl tmpl = { .kind = (__u32)rt->kind, .tflags = rt->tflags & RTP_TARGET_RT_LOOP,
				       .py_tstate_interp = entry->py_tstate_interp,
				       .py_interp_gcstats = entry->py_interp_gcstats };
	struct rtp_watch_file_key key;
	struct stat st;

	if (stat(exe, &st))
		return;
	/* the kernel's dev_t (MKDEV: 12 bits of major, 20 of minor), as the probes read it from the superblock */
	key = (struct rtp_watch_file_key){ .dev = ((uint64_t)major(st.st_dev) << 20) | minor(st.st_dev),
					   .ino = st.st_ino };
	(void)bpf_map__update_elem(c->skel->maps.watch_files, &key, sizeof(key), &tmpl, sizeof(tmpl), BPF_ANY);
}

/* A process's probes made ahead (rt_ready_make), for the process and mode they were made for. */
struct rt_ready {
	pid_t pid;
	int mode;
	struct rtp_runtime_info info;
	struct rt_state *rt;
	struct rtp_rt_proc entry;
	__u32 tflags;
};

struct rt_ready *rt_ready_make(const struct rt_ctx *c, pid_t pid, const struct rtp_runtime_info *info, int mode)
{
	struct rt_ctx here = *c;
	struct target_proc *p;
	struct rt_ready *ready;

	if (!c->uprobe_multi || mode == ENGINE_RT_OFF ||
	    (info->kind != RTP_RUNTIME_PYTHON && info->kind != RTP_RUNTIME_NODE) || !info->exe[0])
		return NULL;
	ready = calloc(1, sizeof(*ready));
	p = calloc(1, sizeof(*p));
	if (!ready || !p) {
		free(ready);
		free(p);
		return NULL;
	}
	here.fw = NULL;
	here.off_thread = true;
	p->pid = pid;
	p->runtime = *info;
	p->runtime_known = true;
	*ready = (struct rt_ready){ .pid = pid, .mode = mode, .info = *info };
	ready->rt = runtime_probes(&here, p, false, mode, &ready->entry, &ready->tflags);
	free(p);
	if (!ready->rt) {
		free(ready);
		return NULL;
	}
	return ready;
}

void rt_ready_free(const struct rt_ctx *c, struct rt_ready *ready)
{
	if (!ready)
		return;
	if (ready->rt) {
		rt_drop_links(c, ready->rt);
		free(ready->rt);
	}
	free(ready);
}

/* ready's probes, if they are the ones p would get now */
static struct rt_state *ready_take(struct rt_ready *ready, const struct target_proc *p, int mode, bool filewide,
				   struct rtp_rt_proc *entry, __u32 *tflags)
{
	struct rt_state *rt;

	if (!ready || !ready->rt || filewide || ready->pid != p->pid || ready->mode != mode ||
	    ready->info.kind != p->runtime.kind || strcmp(ready->info.exe, p->runtime.exe) ||
	    strcmp(ready->info.lib, p->runtime.lib) || strcmp(ready->info.version, p->runtime.version))
		return NULL;
	rt = ready->rt;
	ready->rt = NULL;
	*entry = ready->entry;
	*tflags = ready->tflags;
	return rt;
}

void rt_attach(const struct rt_ctx *c, struct target_proc *p, int mode, unsigned int how, unsigned int from,
	       uint64_t exec_ns, struct rt_ready *ready)
{
	struct rtp_rt_proc entry = { 0 }, armed;
	struct rt_state *rt;
	__u32 key = (__u32)p->pid, tflags = 0;
	bool keep = false, filewide;

	/* an exec starts over: the previous program's probes and totals go */
	rt_detach(c, p);
	rt_free(c, p);
	/* a process put in a slot held ready at its exec counts from there: its entry and flags stay */
	if (how & RT_ARMED)
		keep = bpf_map__lookup_elem(c->skel->maps.rt_procs, &key, sizeof(key), &armed, sizeof(armed), 0) == 0 &&
		       armed.filewide;
	if (!keep)
		set_target_flags(c, p->pid, 0);
	if (mode == ENGINE_RT_OFF || !p->runtime_known || p->exited ||
	    (p->runtime.kind != RTP_RUNTIME_PYTHON && p->runtime.kind != RTP_RUNTIME_NODE)) {
		if (keep)
			(void)bpf_map__delete_elem(c->skel->maps.rt_procs, &key, sizeof(key), 0);
		rt_ready_free(c, ready);
		return;
	}
	filewide = (how & RT_FILEWIDE) && filewide_room(c);
	rt = ready_take(ready, p, mode, filewide, &entry, &tflags);
	rt_ready_free(c, ready); /* what it held that did not fit */
	if (!rt)
		rt = runtime_probes(c, p, filewide, mode, &entry, &tflags);
	if (!rt)
		return;
	p->rt = rt;
	if (keep && (!rt->filewide || armed.kind != entry.kind)) {
		/* its probes are not the file-wide ones after all: what they counted is not its */
		(void)bpf_map__delete_elem(c->skel->maps.rt_procs, &key, sizeof(key), 0);
		keep = false;
	}
	/* an entry the probes made at its exec holds what they counted since: left as it is (written back, it
	 * would lose what they count meanwhile) */
	if (!keep && bpf_map__update_elem(c->skel->maps.rt_procs, &key, sizeof(key), &entry, sizeof(entry), BPF_ANY)) {
		snprintf(rt->gil_unavailable, sizeof(rt->gil_unavailable), "the runtime table is full");
		rt->gil_method[0] = rt->loop_method[0] = rt->gc_method[0] = rt->tp_method[0] = '\0';
		rt_drop_links(c, rt);
		return;
	}
	rt->have_entry = true;
	if (rt->gil.hi && rt_gil_set(c, p->pid, rt)) {
		tflags &= ~RTP_TARGET_RT_GIL_FUTEX;
		rt->gil_method[0] = '\0';
		snprintf(rt->gil_unavailable, sizeof(rt->gil_unavailable), "the GIL address table is full");
	}
	rt->tflags = tflags;
	rt->since_ns = clock__mono_ns();
	/* from its first instruction only if every file-wide probe it needed was in place at its exec */
	if (keep && !rt->fw_made) {
		rt->from = RTP_PROBES_START;
		rt->since_ns = exec_ns ? exec_ns : rt->since_ns;
	} else {
		rt->from = from == RTP_PROBES_START && (how & RT_ARMED) ? RTP_PROBES_EXEC : from;
		rt->late_ns = (rt->from == RTP_PROBES_EXEC || rt->from == RTP_PROBES_FORK) && exec_ns &&
				      exec_ns < rt->since_ns
				      ? rt->since_ns - exec_ns
				      : 0;
	}
	set_target_flags(c, p->pid, tflags);
	if (rt->filewide && !rt->n_fds && !rt->n_links) {
		char exe[48];

		snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)p->pid);
		watch_template(c, exe, rt, &entry);
	}
}

int rt_prime(const struct rt_ctx *c, const char *path, int mode, unsigned int kinds, int *kind)
{
	struct target_proc p = { 0 };
	struct rtp_rt_proc entry = { 0 };
	struct rt_state *rt;
	__u32 tflags = 0;
	int r;

	if (!filewide_room(c))
		return -ENOSPC;
	r = runtime__detect_elf(path, &p.runtime);
	if (r)
		return r;
	*kind = p.runtime.kind;
	if ((p.runtime.kind != RTP_RUNTIME_PYTHON && p.runtime.kind != RTP_RUNTIME_NODE) ||
	    !(kinds & (1u << p.runtime.kind)))
		return -ENOENT;
	snprintf(p.runtime.exe, sizeof(p.runtime.exe), "%s", path);
	p.runtime_known = true;
	rt = runtime_probes(c, &p, true, mode, &entry, &tflags);
	if (!rt)
		return -ENOMEM;
	rt->tflags = tflags;
	if (!rt->n_fds && !rt->n_links)
		watch_template(c, path, rt, &entry);
	else
		rt_drop_links(c, rt);
	r = rt->gc_method[0] || rt->tp_method[0] ? 0 : -ENOENT;
	free(rt);
	return r;
}

void rt_poll(const struct rt_ctx *c, struct target_proc *p)
{
	struct rt_state *rt = p->rt;
	uint64_t lo;
	int r;

	if (!rt || !rt->gil_pending || !rt->have_entry || p->exited)
		return;
	r = rt_file_vaddr(p->pid, rt->gil_elf, rt->gil_off, &lo);
	if (r == -ENOENT)
		return; /* still not mapped */
	rt->gil_pending = false;
	rt->gil = (struct rtp_gil_range){ .lo = lo, .hi = lo + rt->gil_size };
	if (r || rt_gil_set(c, p->pid, rt)) {
		rt->gil_method[0] = '\0';
		snprintf(rt->gil_unavailable, sizeof(rt->gil_unavailable),
			 "cannot find _PyRuntime in the process's mappings: %s", strerror(r ? -r : ENOSPC));
		return;
	}
	rt->tflags |= RTP_TARGET_RT_GIL_FUTEX;
	set_target_flags(c, p->pid, rt->tflags);
}

void rt_trace_methods(const struct rt_ctx *c, struct target_proc *p)
{
	struct trace_rec rec = { .type = TRACE_RUNTIME };
	const struct rt_state *rt = p->rt;

	if (!rt)
		return;
	rec.rtm.pid = (uint32_t)p->pid;
	rec.rtm.runtime_kind = p->runtime.kind;
	rec.rtm.ts_ns = rt->since_ns ? rt->since_ns : clock__mono_ns();
	memcpy(rec.rtm.gil_method, rt->gil_method, sizeof(rec.rtm.gil_method));
	snprintf(rec.rtm.gil_unavailable, sizeof(rec.rtm.gil_unavailable), "%s", rt->gil_unavailable);
	memcpy(rec.rtm.gc_method, rt->gc_method, sizeof(rec.rtm.gc_method));
	snprintf(rec.rtm.gc_unavailable, sizeof(rec.rtm.gc_unavailable), "%s", rt->gc_unavailable);
	memcpy(rec.rtm.loop_method, rt->loop_method, sizeof(rec.rtm.loop_method));
	memcpy(rec.rtm.tp_method, rt->tp_method, sizeof(rec.rtm.tp_method));
	snprintf(rec.rtm.tp_unavailable, sizeof(rec.rtm.tp_unavailable), "%s", rt->tp_unavailable);
	rec.rtm.probes_from = rt->from;
	rec.rtm.probes_late_ns = rt->late_ns;
	c->emit(c->owner, &rec);
}

/* ---- report ---- */

void rt_report_row(const struct rt_ctx *c, const struct target_proc *p, const struct rtp_report *rep,
		   struct rtp_report_runtime *o, uint64_t now, uint64_t session_start)
{
	const struct rt_state *rt = p->rt;
	struct rtp_rt_proc v = { 0 };
	__u32 key = (__u32)p->pid;
	bool futex = !strcmp(rt->gil_method, "futex");
	size_t n = 0;

	if (rt->have_entry)
		(void)bpf_map__lookup_elem(c->skel->maps.rt_procs, &key, sizeof(key), &v, sizeof(v), 0);
	else if (rt->have_saved)
		v = rt->saved;
	o->pid = p->pid;
	o->kind = p->runtime.kind;
	snprintf(o->version, sizeof(o->version), "%s", p->runtime.version);
	memcpy(o->gil_method, rt->gil_method, sizeof(o->gil_method));
	memcpy(o->gil_unavailable, rt->gil_unavailable, sizeof(o->gil_unavailable));
	memcpy(o->gil_notes, rt->gil_notes, sizeof(o->gil_notes));
	memcpy(o->gc_method, rt->gc_method, sizeof(o->gc_method));
	memcpy(o->gc_unavailable, rt->gc_unavailable, sizeof(o->gc_unavailable));
	memcpy(o->loop_method, rt->loop_method, sizeof(o->loop_method));
	memcpy(o->loop_unavailable, rt->loop_unavailable, sizeof(o->loop_unavailable));
	memcpy(o->tp_method, rt->tp_method, sizeof(o->tp_method));
	memcpy(o->tp_unavailable, rt->tp_unavailable, sizeof(o->tp_unavailable));
	snprintf(o->probes_from, sizeof(o->probes_from), "%s", report__probes_from_name(rt->from));
	o->probes_late_ns = rt->late_ns;
	o->n_gc_kinds = 3; /* python: generations 0-2; V8: its three collectors */
	for (unsigned int k = 0; k < RTP_RT_GC_KINDS; k++) {
		o->gc[k].count = v.gc[k].count;
		o->gc[k].total_ns = v.gc[k].total_ns;
		o->gc[k].max_ns = v.gc[k].max_ns;
	}
	memcpy(o->gil_wait_hist, v.gil_wait_hist, sizeof(o->gil_wait_hist));
	memcpy(o->loop_busy_hist, v.loop_busy_hist, sizeof(o->loop_busy_hist));
	o->tp_submitted = v.tp_submitted;
	o->tp_completed = v.tp_completed;
	o->tp_queue_ns = v.tp_queue_ns;
	o->tp_queue_max_ns = v.tp_queue_max_ns;
	o->tp_run_ns = v.tp_run_ns;
	o->tp_run_max_ns = v.tp_run_max_ns;
	o->tp_busy_max = v.tp_busy_max;
	memcpy(o->tp_kind, v.tp_started, sizeof(o->tp_kind));

	for (size_t i = 0; i < rep->n_threads; i++)
		n += rep->threads[i].tgid == p->pid;
	if (rt->kind == RTP_RT_PYTHON && o->gil_method[0] && n) {
		o->gil_threads = calloc(n, sizeof(*o->gil_threads));
		if (!o->gil_threads)
			return;
	}
	if (rt->kind == RTP_RT_NODE && n) {
		o->isolates = calloc(n, sizeof(*o->isolates));
		if (!o->isolates)
			return;
	}
	for (size_t i = 0; i < rep->n_threads; i++) {
		const struct rtp_report_thread *t = &rep->threads[i];

		if (t->tgid != p->pid)
			continue;
		if (t->tid == p->pid && (t->loop_iters || t->loop_idle_ns)) {
			o->loop_tid = t->tid;
			o->loop_busy_ns = t->loop_busy_ns;
			o->loop_idle_ns = t->loop_idle_ns;
			o->loop_iters = t->loop_iters;
			o->loop_busy_max_ns = t->loop_busy_max_ns;
		}
		report__isolate_add(o, t);
		if (o->gil_threads) {
			uint64_t from = t->start_ns > session_start ? t->start_ns : session_start;
			uint64_t to = t->exit_ns && t->exit_ns < now ? t->exit_ns : now;

			report__gil_thread_add(o, t->tid, t->name, t->gil_wait_ns, futex ? t->oncpu_ns : t->gil_hold_ns,
					       t->gil_waits, from, to);
		}
	}
}

