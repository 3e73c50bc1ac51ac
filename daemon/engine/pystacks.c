// SPDX-License-Identifier: LGPL-2.1-or-later
/* Python stacks: what bpf/stacks.bpf.c needs of each CPython process, and what its samples mean.
 *
 * For each python target the walker gets the offsets of its minor version (the table below), once they
 * were checked against the interpreter itself: PyCode_Type's basic size and member table give the code
 * object's offsets (sys/pycode.c), 3.13's _Py_DebugOffsets the thread state's and frames', and the walker
 * checks every thread state it reads against the thread (tstate->thread_id is the thread's fs base). An
 * interpreter that cannot be checked gets no walker and "unavailable" with the reason, never frames that may
 * be wrong.
 *
 * Code objects are read from the process's memory (process_vm_readv) when the walker reports a new stack,
 * while the process lives: a stack first seen in its last moments may stay unresolved, and is counted so. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "base/errmsg.h"
#include "base/vec.h"
#include "engine/bpfmap.h"
#include "engine/engine_internal.h"
#include "engine/pystacks.h"
#include "engine/rtmetrics.h"
#include "model/profiles.h"
#include "rtprof.skel.h"
#include "sys/procfs.h"
#include "sys/pycode.h"
#include "sys/perfmap.h"
#include "sys/addrsym.h"
#include "sys/symbols.h"
#include "sys/v8obj.h"
#include "sys/syscall_names.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* glibc's struct pthread: the first block of thread-specific data, {seq, data} pairs for keys < 32
 * (nptl/descr.h, specific_1stblock). The walker checks the thread state it finds there against the thread. */
#define GLIBC_PTHREAD_SPECIFIC 0x310

/* Where the walker finds a thread's frames, per CPython minor version (x86-64), from the interpreter's
 * headers (Include/internal/pycore_runtime.h, pycore_frame.h, cpython/pystate.h). */
static const struct py_walk_table {
	unsigned int minor;
	uint32_t tss_key; /* _PyRuntime.gilstate.autoTSSkey (3.10, 3.11), _PyRuntime.autoTSSkey (3.12+) */
	struct rtp_py_proc w;
} walk_tables[] = {
	/* 3.10: a chain of frame objects (PyFrameObject: f_back, f_code, f_lasti an instruction index) */
	{ 10, 584, { .tstate_frame = 24, .cframe_frame = RTP_PY_NONE, .tstate_thread_id = 176, .frame_code = 32,
		     .frame_prev = 24, .frame_instr = 96, .instr_is_index = 1, .frame_owner = 0, .owner_skip = 0xff,
		     .code_adaptive = 0, .code_firstlineno = 40, .frame_size = 104 } },
	{ 11, 592, { .tstate_frame = 56, .cframe_frame = 8, .tstate_thread_id = 152, .frame_code = 32,
		     .frame_prev = 48, .frame_instr = 56, .frame_owner = 69, .owner_skip = 0xff,
		     .code_adaptive = 184, .code_firstlineno = 72, .frame_size = 72 } },
	{ 12, 1544, { .tstate_frame = 56, .cframe_frame = 0, .tstate_thread_id = 136, .frame_code = 0,
		      .frame_prev = 8, .frame_instr = 56, .frame_owner = 70, .owner_skip = 3 /* FRAME_OWNED_BY_CSTACK */,
		      .code_adaptive = 192, .code_firstlineno = 68, .frame_size = 72 } },
	{ 13, 2160, { .tstate_frame = 72, .cframe_frame = RTP_PY_NONE, .tstate_thread_id = 152, .frame_code = 0,
		      .frame_prev = 8, .frame_instr = 56, .frame_owner = 70, .owner_skip = 3,
		      .code_adaptive = 200, .code_firstlineno = 68, .frame_size = 72 } },
};

struct code_entry {
	uint64_t code;
	int32_t firstlineno;
	int resolved; /* 1: info holds it; -1: unreadable */
	struct pycode_info info;
};

/* A frame's function as resolved once: a JavaScript function by its v8_sfi (its SharedFunctionInfo and
 * fingerprint), a native one by its address. */
struct fn_entry {
	uint64_t key; /* 0 an empty slot */
	int64_t func; /* in the store; -1: none (it did not read as a function; no symbol covers the address) */
	int line;
};

/* fn_entry by key: open addressing, grown at half full. */
struct fn_cache {
	struct fn_entry *e;
	size_t cap, n;
};

/* A mapping of a process walked by frame pointers, as last read from its maps. */
struct fp_map {
	uint64_t start, end, pgoff;
	uint64_t dev, ino; /* the file's */
	char name[64]; /* the file's base name; "" anonymous */
};

/* The function symbols of a native file whose frames are named (node's executable), by its device and
 * inode: read once an engine, as a stack first needs them. */
struct native_syms {
	uint64_t dev, ino;
	struct addrsym *syms; /* NULL: it has none, or could not be read */
};

#define PY_MAX_NATIVE_FILES 8

struct py_state {
	bool ready;   /* py_procs has its walker */
	bool fp;      /* walked by frame pointers (node): names from V8's objects, maps and the perf map */
	bool v8;      /* its JavaScript frames are named from V8's objects (v8 holds their layout) */
	struct v8_layout v8l;
	struct fn_cache v8fn;   /* JavaScript functions by v8_sfi */
	struct v8_lines v8lines; /* the line breaks of scripts V8 has no line ends for */
	struct fn_cache natfn;  /* native functions by address */
	struct perfmap pm;
	char pm_path[64];
	uid_t pm_owner; /* the process's owner: its perf map must be theirs (or root's) */
	char cwd[PATH_MAX]; /* node: its directory when first seen, where V8 may write its isolate logs */
	struct fp_map *maps;
	size_t n_maps, cap_maps;
	bool pending; /* its interpreter is not mapped yet */
	unsigned int setup_tries; /* of its interpreter's memory, unreadable so far (mapped part way) */
	unsigned int minor;
	char method[64], unavailable[192];
	char elf[PATH_MAX + 64];
	uint64_t runtime_off, code_type_off;
	struct pycode_layout L;
	struct {
		uint64_t ino;
		char name[64];
	} natives[16]; /* native files' names by inode, as the process maps them (a ring) */
	unsigned int n_natives;
	struct code_entry *codes; /* open addressing on code, grown at half full */
	size_t cap_codes, n_codes;
	uint64_t unresolved;
	/* node: the event-loop iterations that ran long, with their samples (rtp_loop_rec), by arrival */
	struct rtp_loop_rec *blocks;
	size_t n_blocks, cap_blocks;
};

/* Iterations kept a process: the longest of each thread, and the longest of those over the threshold. */
#define PY_MAX_BLOCKS 64

/* A stack resolved from one process: its frames as (function, line), outermost first. */
struct resolved_stack {
	uint64_t hash;
	uint32_t flags;
	uint32_t n;
	struct rtp_prof_frame *frames; /* functions index `store` */
};

/* One set of cpu-clock events, one per CPU, at one rate: its cookie is the rate, which the sampler
 * compares with each process's own. */
struct py_rate {
	unsigned int hz, refs;
	struct bpf_link **links; /* [ncpus] */
};

#define PY_MAX_RATES 4

struct pystacks {
	struct py_rate rates[PY_MAX_RATES];
	struct bpf_link *switch_link; /* rtp_py_switch */
	int ncpus;
	struct rtp_profiles *store; /* every function seen, interned */
	struct resolved_stack *stacks; /* open addressing on hash */
	size_t cap_stacks, n_stacks;
	struct {
		uint32_t tgid;
		uint64_t hash;
	} *todo;
	size_t n_todo, cap_todo;
	struct native_syms natives[PY_MAX_NATIVE_FILES];
	size_t n_natives;
};

static struct pystacks *ps_of(struct engine *e)
{
	return e->py;
}

int pystacks__prepare(struct rtprof_bpf *skel, bool on, bool exact)
{
	int err = bpf_program__set_autoload(skel->progs.rtp_py_sample, on) ?:
		  bpf_program__set_autoload(skel->progs.rtp_py_switch, on);

	/* attached by pystacks__start, after the scheduler accounting's program: it reads what that one wrote
	 * for the same switch (programs on a tracepoint run in the order they were attached) */
	bpf_program__set_autoattach(skel->progs.rtp_py_switch, false);

	skel->rodata->py_nr_futex = SYS_futex;
	skel->rodata->py_stacks_on = on;
	skel->rodata->py_sys_exact = exact;

	/* off: tables of one entry (a hash map's memory is taken at its creation) */
	if (!on) {
		err = err ?: bpf_map__set_max_entries(skel->maps.py_procs, 1);
		err = err ?: bpf_map__set_max_entries(skel->maps.py_stacks, 1);
		err = err ?: bpf_map__set_max_entries(skel->maps.py_counts, 1);
	}
	return err;
}

static long perf_event_open(struct perf_event_attr *attr, pid_t pid, int cpu, int group, unsigned long flags)
{
	return syscall(SYS_perf_event_open, attr, pid, cpu, group, flags);
}

int pystacks__start(struct engine *e, char *err, size_t errlen)
{
	struct pystacks *ps = calloc(1, sizeof(*ps));

	if (!ps)
		return errmsg(err, errlen, -ENOMEM, "out of memory");
	e->py = ps;
	ps->ncpus = e->ncpus;
	ps->store = profiles__new(0);
	if (!ps->store)
		return errmsg(err, errlen, -ENOMEM, "out of memory");
	ps->switch_link = bpf_program__attach(e->skel->progs.rtp_py_switch);
	if (!ps->switch_link) {
		int r = -errno;

		return errmsg(err, errlen, r, "cannot attach the off-CPU stack walker: %s", strerror(-r));
	}
	return 0;
}

static void rate_close(struct pystacks *ps, struct py_rate *rt)
{
	for (int c = 0; c < ps->ncpus && rt->links; c++)
		bpf_link__destroy(rt->links[c]);
	free(rt->links);
	*rt = (struct py_rate){ 0 };
}

static int rate_open(struct engine *e, struct py_rate *rt, unsigned int hz, char *err, size_t errlen)
{
	struct pystacks *ps = ps_of(e);
	int r;

	rt->links = calloc((size_t)ps->ncpus, sizeof(*rt->links));
	if (!rt->links)
		return errmsg(err, errlen, -ENOMEM, "out of memory");
	rt->hz = hz;
	for (int c = 0; c < ps->ncpus; c++) {
		struct perf_event_attr attr = {
			.type = PERF_TYPE_SOFTWARE,
			.size = sizeof(attr),
			.config = PERF_COUNT_SW_CPU_CLOCK,
			.sample_freq = hz,
			.freq = 1,
		};
		LIBBPF_OPTS(bpf_perf_event_opts, po, .bpf_cookie = hz);
		int fd = (int)perf_event_open(&attr, -1, c, -1, PERF_FLAG_FD_CLOEXEC);

		if (fd < 0) {
			if (errno == ENODEV)
				continue; /* a possible CPU that is not online */
			r = -errno;
			rate_close(ps, rt);
			return errmsg(err, errlen, r, "cannot open the cpu-clock sampling event on CPU %d: %s", c,
				      strerror(-r));
		}
		rt->links[c] = bpf_program__attach_perf_event_opts(e->skel->progs.rtp_py_sample, fd, &po);
		if (!rt->links[c]) {
			r = -errno;
			close(fd);
			rate_close(ps, rt);
			return errmsg(err, errlen, r, "cannot attach the stack sampler on CPU %d: %s", c, strerror(-r));
		}
		/* the link's now: destroying it closes the event */
	}
	return 0;
}

int pystacks__rate_get(struct engine *e, unsigned int hz, char *err, size_t errlen)
{
	struct pystacks *ps = ps_of(e);
	struct py_rate *free_slot = NULL, *nearest = NULL;
	int r;

	if (!ps)
		return errmsg(err, errlen, -ENOTSUP, "stacks are not sampled by this engine");
	if (!hz)
		return errmsg(err, errlen, -EINVAL, "a sampling rate of 0");
	for (int i = 0; i < PY_MAX_RATES; i++) {
		struct py_rate *rt = &ps->rates[i];

		if (rt->refs && rt->hz == hz) {
			rt->refs++;
			return (int)hz;
		}
		if (!rt->refs && !free_slot)
			free_slot = rt;
		if (rt->refs && (!nearest || (rt->hz > hz ? rt->hz - hz : hz - rt->hz) <
					       (nearest->hz > hz ? nearest->hz - hz : hz - nearest->hz)))
			nearest = rt;
	}
	if (!free_slot) {
		/* as many rates as the sampler keeps at once: the nearest one in use */
		nearest->refs++;
		return (int)nearest->hz;
	}
	r = rate_open(e, free_slot, hz, err, errlen);
	if (r)
		return r;
	free_slot->refs = 1;
	return (int)hz;
}

void pystacks__rate_put(struct engine *e, unsigned int hz)
{
	struct pystacks *ps = ps_of(e);

	for (int i = 0; ps && hz && i < PY_MAX_RATES; i++)
		if (ps->rates[i].refs && ps->rates[i].hz == hz) {
			if (!--ps->rates[i].refs)
				rate_close(ps, &ps->rates[i]);
			return;
		}
}

static void stacks_free(struct pystacks *ps)
{
	for (size_t i = 0; i < ps->cap_stacks; i++)
		free(ps->stacks[i].frames);
	free(ps->stacks);
}

void pystacks__stop(struct engine *e)
{
	struct pystacks *ps = ps_of(e);

	if (!ps)
		return;
	for (int i = 0; i < PY_MAX_RATES; i++)
		rate_close(ps, &ps->rates[i]);
	bpf_link__destroy(ps->switch_link);
	profiles__free(ps->store);
	stacks_free(ps);
	for (size_t i = 0; i < ps->n_natives; i++)
		addrsym__free(ps->natives[i].syms);
	free(ps->todo);
	free(ps);
	e->py = NULL;
}

/* ---- per process ---- */

static void codes_free(struct py_state *st)
{
	for (size_t i = 0; i < st->cap_codes; i++)
		pycode__info_free(&st->codes[i].info);
	free(st->codes);
	st->codes = NULL;
	st->cap_codes = st->n_codes = 0;
}

void pystacks__remove_perf_map(struct target_proc *p)
{
	char path[PATH_MAX + 64];
	glob_t g;

	if (!p->py || !p->py->fp || !p->py->pm_path[0])
		return;
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)p->pid);
	(void)unlink(path);
	/* node 24's V8 also logs code events to isolate-ADDRESS-PID-v8.log in its directory under the flag */
	if (!p->py->cwd[0])
		return;
	snprintf(path, sizeof(path), "%s/isolate-0x*-%d-v8.log", p->py->cwd, (int)p->pid);
	if (glob(path, GLOB_NOSORT | GLOB_NOESCAPE, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			(void)unlink(g.gl_pathv[i]);
		globfree(&g);
	}
}

void pystacks__free_proc(struct target_proc *p)
{
	if (!p->py)
		return;
	perfmap__free(&p->py->pm);
	free(p->py->v8fn.e);
	v8obj__lines_free(&p->py->v8lines);
	free(p->py->natfn.e);
	free(p->py->maps);
	free(p->py->blocks);
	codes_free(p->py);
	free(p->py);
	p->py = NULL;
}

/* RTP_TARGET_PY_STACKS of the process's target entry: its syscall exits look for its walker. */
static void set_walked(struct engine *e, pid_t pid, bool on)
{
	struct rtp_target tgt;
	__u32 key = (__u32)pid;

	if (bpf_map__lookup_elem(e->skel->maps.targets, &key, sizeof(key), &tgt, sizeof(tgt), 0))
		return;
	tgt.flags = on ? tgt.flags | RTP_TARGET_PY_STACKS : tgt.flags & ~(__u32)RTP_TARGET_PY_STACKS;
	if (bpf_map__update_elem(e->skel->maps.targets, &key, sizeof(key), &tgt, sizeof(tgt), BPF_EXIST) == 0)
		__atomic_fetch_add(&e->skel->bss->target_gen, 1, __ATOMIC_SEQ_CST);
}

void pystacks__detach(struct engine *e, struct target_proc *p)
{
	__u32 key = (__u32)p->pid;

	if (p->py && p->py->ready) {
		(void)bpf_map__delete_elem(e->skel->maps.py_procs, &key, sizeof(key), 0);
		set_walked(e, p->pid, false);
	}
	if (p->py)
		p->py->ready = false;
}

static int count_of(const void *key, const void *value, void *ctx)
{
	(void)value;
	return ((const struct rtp_py_count_key *)key)->tgid == *(const __u32 *)ctx;
}

void pystacks__forget(struct engine *e, struct target_proc *p)
{
	__u32 tgid = (__u32)p->pid;

	if (!ps_of(e))
		return;
	pystacks__detach(e, p);
	pystacks__free_proc(p);
	(void)bpfmap__delete_where(e->skel->maps.py_counts, sizeof(struct rtp_py_count_key),
				   sizeof(struct rtp_py_count), count_of, &tgid);
}

static unsigned int python_minor(const char *version)
{
	unsigned int major = 0, minor = 0;

	return sscanf(version, "%u.%u", &major, &minor) == 2 && major == 3 ? minor : 0;
}

/* CPython 3.13+ publishes its layout for debuggers at the start of _PyRuntime (_Py_DebugOffsets,
 * Include/internal/pycore_runtime.h): the table's offsets are checked against it, and a free-threaded build
 * (no GIL, another frame layout) is told apart. 0, or -EPROTO with why. */
static int check_debug_offsets(pid_t pid, uint64_t runtime, unsigned int minor, const struct rtp_py_proc *w,
			       char *why, size_t whylen)
{
	enum {
		COOKIE = 0, VERSION = 8, FREE_THREADED = 16, TSTATE_FRAME = 184, TSTATE_THREAD_ID = 192,
		FRAME_PREVIOUS = 232, FRAME_EXECUTABLE = 240, FRAME_INSTR = 248, FRAME_OWNER = 264,
		CODE_FIRSTLINENO = 312, CODE_ADAPTIVE = 344, END = 352,
	};
	static const struct {
		unsigned int at;
		size_t field; /* offsetof(struct rtp_py_proc, ...) */
		const char *name;
	} checks[] = {
		{ TSTATE_FRAME, offsetof(struct rtp_py_proc, tstate_frame), "thread_state.current_frame" },
		{ TSTATE_THREAD_ID, offsetof(struct rtp_py_proc, tstate_thread_id), "thread_state.thread_id" },
		{ FRAME_PREVIOUS, offsetof(struct rtp_py_proc, frame_prev), "interpreter_frame.previous" },
		{ FRAME_EXECUTABLE, offsetof(struct rtp_py_proc, frame_code), "interpreter_frame.executable" },
		{ FRAME_INSTR, offsetof(struct rtp_py_proc, frame_instr), "interpreter_frame.instr_ptr" },
		{ FRAME_OWNER, offsetof(struct rtp_py_proc, frame_owner), "interpreter_frame.owner" },
		{ CODE_FIRSTLINENO, offsetof(struct rtp_py_proc, code_firstlineno), "code_object.firstlineno" },
		{ CODE_ADAPTIVE, offsetof(struct rtp_py_proc, code_adaptive), "code_object.co_code_adaptive" },
	};
	uint8_t b[END];
	uint64_t v;
	int r;

	if (minor < 13)
		return 0; /* no debug offsets before 3.13: PyCode_Type and the thread check stand alone */
	r = pycode__read_pid(&pid, runtime, b, sizeof(b));
	if (r)
		return r;
	if (memcmp(b + COOKIE, "xdebugpy", 8)) {
		snprintf(why, whylen, "no _Py_DebugOffsets at _PyRuntime");
		return -EPROTO;
	}
	memcpy(&v, b + VERSION, sizeof(v));
	if ((v >> 24) != 3 || ((v >> 16) & 0xff) != minor) {
		snprintf(why, whylen, "_Py_DebugOffsets says version %#" PRIx64 ", not 3.%u", v, minor);
		return -EPROTO;
	}
	memcpy(&v, b + FREE_THREADED, sizeof(v));
	if (v) {
		snprintf(why, whylen, "a free-threaded build (no GIL): its frames are laid out otherwise");
		return -EPROTO;
	}
	for (size_t i = 0; i < ARRAY_LEN(checks); i++) {
		uint16_t want;

		memcpy(&v, b + checks[i].at, sizeof(v));
		memcpy(&want, (const uint8_t *)w + checks[i].field, sizeof(want));
		if (v != want) {
			snprintf(why, whylen, "_Py_DebugOffsets has %s at %" PRIu64 ", the table %u", checks[i].name, v,
				 (unsigned int)want);
			return -EPROTO;
		}
	}
	return 0;
}

/* Reads of the interpreter's memory that fail (-EFAULT) before the walker's set-up gives up: a poll apart */
#define PY_SETUP_TRIES 20

/* Place the walker: the interpreter mapped, its layout checked. Leaves st->pending while not mapped. */
static void py_setup(struct engine *e, struct target_proc *p, struct py_state *st)
{
	const struct py_walk_table *t = NULL;
	struct rtp_py_proc w;
	struct stat sb;
	uint64_t runtime, code_type;
	pid_t pid = p->pid;
	char why[160];
	__u32 key = (__u32)p->pid;
	int r;

	for (size_t i = 0; i < ARRAY_LEN(walk_tables); i++)
		if (walk_tables[i].minor == st->minor)
			t = &walk_tables[i];
	r = rt_file_vaddr(pid, st->elf, st->runtime_off, &runtime);
	r = r ?: rt_file_vaddr(pid, st->elf, st->code_type_off, &code_type);
	if (r == -ENOENT) {
		st->pending = true;
		return;
	}
	st->pending = false;
	if (r) {
		snprintf(st->unavailable, sizeof(st->unavailable),
			 "cannot find the interpreter in the process's mappings: %s", strerror(-r));
		return;
	}
	st->L.code_type = code_type;
	r = pycode__verify_layout(pycode__read_pid, &pid, &st->L, why, sizeof(why));
	/* The dynamic loader maps a library in steps: its first segment over the whole extent, the rest of the
	 * extent made inaccessible, then each segment in its place. A process seen at its exec can be read in
	 * between (its data not mapped yet): read again at the next poll, a few times. */
	if (r == -EFAULT && ++st->setup_tries < PY_SETUP_TRIES) {
		st->pending = true;
		return;
	}
	if (r) {
		snprintf(st->unavailable, sizeof(st->unavailable), "CPython 3.%u's code objects are not laid out as "
			 "expected (%.90s): no frames rather than wrong ones", st->minor, r == -EPROTO ? why : strerror(-r));
		return;
	}
	r = check_debug_offsets(pid, runtime, st->minor, &t->w, why, sizeof(why));
	if (r == -EFAULT && ++st->setup_tries < PY_SETUP_TRIES) {
		st->pending = true;
		return;
	}
	if (r) {
		snprintf(st->unavailable, sizeof(st->unavailable), "CPython 3.%u's frames are not laid out as expected "
			 "(%.100s): no frames rather than wrong ones", st->minor, r == -EPROTO ? why : strerror(-r));
		return;
	}
	w = t->w;
	w.tss_key = runtime + t->tss_key;
	w.pthread_specific = GLIBC_PTHREAD_SPECIFIC;
	w.slot = p->session;
	w.sample_hz = e->sessions[p->session].stacks_hz;
	/* the interpreter's file: samples in user code outside it are native code */
	if (!stat(st->elf, &sb))
		w.interp_ino = sb.st_ino;
	if (bpf_map__update_elem(e->skel->maps.py_procs, &key, sizeof(key), &w, sizeof(w), BPF_ANY)) {
		snprintf(st->unavailable, sizeof(st->unavailable), "the stack walker's process table is full");
		return;
	}
	st->ready = true;
	set_walked(e, p->pid, true);
	snprintf(st->method, sizeof(st->method), "cpython-3.%u frames", st->minor);
}

/* Whether node writes its perf map: a --perf-basic-prof flag on its command line or in NODE_OPTIONS. */
static bool node_perf_map_on(pid_t pid)
{
	static const char *const files[] = { "cmdline", "environ" };
	char path[48], *buf = malloc(65536);
	bool on = false;

	if (!buf)
		return false;
	for (size_t f = 0; f < ARRAY_LEN(files) && !on; f++) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, files[f]);
		n = procfs__read_file(path, buf, 65536);
		for (ssize_t i = 0; i < n && !on;) {
			const char *s = buf + i;
			size_t len = strnlen(s, (size_t)(n - i));

			/* an argument; or the variable, whose value may hold several */
			if (f == 0 ? !strncmp(s, "--perf-basic-prof", 17) || !strncmp(s, "--perf-prof", 11)
				   : !strncmp(s, "NODE_OPTIONS=", 13) && (memmem(s, len, "--perf-basic-prof", 17) ||
									 memmem(s, len, "--perf-prof", 11)))
				on = true;
			i += (ssize_t)len + 1;
		}
	}
	free(buf);
	return on;
}

/* node: its user stack by frame pointers, JavaScript functions named from V8's objects (read from its memory
 * with the layout its v8dbg_* constants give) and, when node writes one, its perf map. */
static void node_attach(struct engine *e, struct target_proc *p, struct py_state *st)
{
	struct rtp_py_proc w = { .walker = RTP_WALK_FP, .slot = p->session,
				 .sample_hz = e->sessions[p->session].stacks_hz };
	__u32 key = (__u32)p->pid;
	char exe[48], root[48], why[160] = "";
	bool pm = node_perf_map_on(p->pid);
	uint8_t off[3];

	st->fp = true;
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)p->pid);
	snprintf(root, sizeof(root), "/proc/%d/root", (int)p->pid);
	st->v8 = v8obj__layout(exe, root, &st->v8l, why, sizeof(why)) == 0;
	if (!st->v8 && !pm) {
		snprintf(st->unavailable, sizeof(st->unavailable),
			 "node %.16s: its functions cannot be read (%.80s), nor a perf map "
			 "(--perf-basic-prof-only-functions)", p->runtime.version, why);
		return;
	}
	if (pm) {
		char link[48];
		struct stat sb;
		ssize_t n;

		snprintf(st->pm_path, sizeof(st->pm_path), "/proc/%d/root/tmp/perf-%d.map", (int)p->pid, (int)p->pid);
		snprintf(link, sizeof(link), "/proc/%d", (int)p->pid);
		st->pm_owner = stat(link, &sb) ? 0 : sb.st_uid;
		snprintf(link, sizeof(link), "/proc/%d/cwd", (int)p->pid);
		n = readlink(link, st->cwd, sizeof(st->cwd) - 1);
		st->cwd[n > 0 ? n : 0] = '\0';
	}
	if (!v8obj__frame_offsets(exe, root, off)) {
		w.v8_context = off[0];
		w.v8_bytecode_array = off[1];
		w.v8_bytecode_offset = off[2];
	}
	if (st->v8) {
		w.v8_function = (__u8)st->v8l.fp_function;
		w.v8_fn_shared = (__u16)st->v8l.fn_shared;
		w.v8_sfi_name = (__u16)st->v8l.sfi_name;
	}
	w.loop_block_ns = e->sessions[p->session].loop_block_ns;
	if (bpf_map__update_elem(e->skel->maps.py_procs, &key, sizeof(key), &w, sizeof(w), BPF_ANY)) {
		snprintf(st->unavailable, sizeof(st->unavailable), "the stack walker's process table is full");
		return;
	}
	st->ready = true;
	set_walked(e, p->pid, true);
	snprintf(st->method, sizeof(st->method), "frame pointers, %s", st->v8 && pm ? "V8's objects and node's perf map"
									: st->v8 ? "V8's objects" : "node's perf map");
}

/* The file the interpreter of process pid is in (runtime rt): libpython when the executable links it, else
 * the executable; root: the process's root, its path's prefix. */
static void interp_elf(pid_t pid, const struct rtp_runtime_info *rt, const char *root, char *elf, size_t size)
{
	elf[0] = '\0';
	if (rt->lib[0] && symbols__find_mapping(pid, "libpython", elf, size))
		snprintf(elf, size, "%s%.*s", rt->lib[0] == '/' ? root : "", PATH_MAX - 1, rt->lib);
	else if (!rt->lib[0])
		snprintf(elf, size, "/proc/%d/exe", (int)pid);
}

static const struct rtp_sym_query python_walk_syms[] = { { .name = "_PyRuntime" }, { .name = "PyCode_Type" } };

void pystacks__prefetch(pid_t pid, const struct rtp_runtime_info *rt)
{
	struct rtp_sym_query q[ARRAY_LEN(python_walk_syms)];
	char root[48], elf[PATH_MAX + 64], why[160];

	snprintf(root, sizeof(root), "/proc/%d/root", (int)pid);
	if (rt->kind == RTP_RUNTIME_NODE) {
		struct v8_layout l;
		uint8_t off[3];

		snprintf(elf, sizeof(elf), "/proc/%d/exe", (int)pid);
		(void)v8obj__layout(elf, root, &l, why, sizeof(why));
		(void)v8obj__frame_offsets(elf, root, off);
	} else if (rt->kind == RTP_RUNTIME_PYTHON) {
		memcpy(q, python_walk_syms, sizeof(q));
		interp_elf(pid, rt, root, elf, sizeof(elf));
		if (elf[0])
			(void)symbols__resolve(elf, root, q, ARRAY_LEN(q));
	}
}

void pystacks__attach(struct engine *e, struct target_proc *p)
{
	struct rtp_sym_query q[ARRAY_LEN(python_walk_syms)];
	char root[48];
	struct py_state *st;
	bool known = false;
	int r;

	if (!ps_of(e))
		return;
	pystacks__detach(e, p);
	pystacks__free_proc(p);
	if (!e->sessions[p->session].stacks_hz)
		return; /* its session samples no stacks */
	if (!p->runtime_known || p->exited ||
	    (p->runtime.kind != RTP_RUNTIME_PYTHON && p->runtime.kind != RTP_RUNTIME_NODE))
		return;
	st = calloc(1, sizeof(*st));
	if (!st)
		return;
	p->py = st;
	if (p->runtime.kind == RTP_RUNTIME_NODE) {
		node_attach(e, p, st);
		return;
	}
	st->minor = python_minor(p->runtime.version);
	for (size_t i = 0; i < ARRAY_LEN(walk_tables); i++)
		known |= walk_tables[i].minor == st->minor;
	if (!known || pycode__layout_for(st->minor, &st->L)) {
		snprintf(st->unavailable, sizeof(st->unavailable),
			 "CPython %.16s: its frames are not walked (3.10 to 3.13 are)",
			 p->runtime.version[0] ? p->runtime.version : "of an unknown version");
		return;
	}
	snprintf(root, sizeof(root), "/proc/%d/root", (int)p->pid);
	interp_elf(p->pid, &p->runtime, root, st->elf, sizeof(st->elf));
	memcpy(q, python_walk_syms, sizeof(q));
	r = symbols__resolve(st->elf, root, q, ARRAY_LEN(q));
	if (r < 0 || !q[0].found || !q[1].found) {
		snprintf(st->unavailable, sizeof(st->unavailable), "no %s symbol in the interpreter (%s)",
			 r < 0 || !q[0].found ? "_PyRuntime" : "PyCode_Type", r < 0 ? strerror(-r) : "not exported");
		return;
	}
	st->runtime_off = q[0].offset;
	st->code_type_off = q[1].offset;
	py_setup(e, p, st);
}

/* ---- resolution ---- */

static struct code_entry *code_get(struct target_proc *p, uint64_t code, int32_t firstlineno)
{
	struct py_state *st = p->py;
	pid_t pid = p->pid;
	struct code_entry *c;
	size_t j;

	if ((st->n_codes + 1) * 2 > st->cap_codes) {
		size_t cap = st->cap_codes ? st->cap_codes * 2 : 256;
		struct code_entry *n = calloc(cap, sizeof(*n));

		if (!n)
			return NULL;
		for (size_t i = 0; i < st->cap_codes; i++) {
			if (!st->codes[i].code)
				continue;
			for (j = (st->codes[i].code >> 4) & (cap - 1); n[j].code; j = (j + 1) & (cap - 1))
				;
			n[j] = st->codes[i];
		}
		free(st->codes);
		st->codes = n;
		st->cap_codes = cap;
	}
	for (j = (code >> 4) & (st->cap_codes - 1); st->codes[j].code; j = (j + 1) & (st->cap_codes - 1)) {
		c = &st->codes[j];
		if (c->code == code && c->firstlineno == firstlineno)
			return c;
	}
	c = &st->codes[j];
	c->code = code;
	c->firstlineno = firstlineno;
	st->n_codes++;
	c->resolved = pycode__read(pycode__read_pid, &pid, &st->L, code, &c->info) == 0 &&
				      c->info.firstlineno == firstlineno
			      ? 1
			      : -1;
	return c;
}

static struct resolved_stack *stack_slot(struct pystacks *ps, uint64_t hash, bool add)
{
	size_t j;

	if (add && (ps->n_stacks + 1) * 2 > ps->cap_stacks) {
		size_t cap = ps->cap_stacks ? ps->cap_stacks * 2 : 256;
		struct resolved_stack *n = calloc(cap, sizeof(*n));

		if (!n)
			return NULL;
		for (size_t i = 0; i < ps->cap_stacks; i++) {
			if (!ps->stacks[i].hash)
				continue;
			for (j = ps->stacks[i].hash & (cap - 1); n[j].hash; j = (j + 1) & (cap - 1))
				;
			n[j] = ps->stacks[i];
		}
		free(ps->stacks);
		ps->stacks = n;
		ps->cap_stacks = cap;
	}
	if (!ps->cap_stacks)
		return NULL;
	for (j = hash & (ps->cap_stacks - 1); ps->stacks[j].hash; j = (j + 1) & (ps->cap_stacks - 1))
		if (ps->stacks[j].hash == hash)
			return &ps->stacks[j];
	return add ? &ps->stacks[j] : NULL;
}

static int64_t marker(struct pystacks *ps, const char *name)
{
	return profiles__func(ps->store, name, "", 0);
}

struct native_find {
	uint64_t ino;
	char *name;
	size_t size;
};

static int native_of(const struct proc_mapping *m, void *ctx)
{
	struct native_find *nf = ctx;
	const char *base;

	if (m->inode != nf->ino || !m->path[0])
		return 0;
	base = strrchr(m->path, '/');
	snprintf(nf->name, nf->size, "%s", base ? base + 1 : m->path);
	return 1;
}

/* The name of the native file with inode ino in the process's mappings (its base name), cached. */
static const char *native_name(struct target_proc *p, uint64_t ino)
{
	struct py_state *st = p->py;
	struct native_find nf;
	unsigned int slot;

	if (!ino)
		return "anonymous";
	if (ino == RTP_NATIVE_VDSO)
		return "[vdso]";
	if (!st)
		return "?";
	for (unsigned int i = 0; i < ARRAY_LEN(st->natives) && i < st->n_natives; i++)
		if (st->natives[i].ino == ino)
			return st->natives[i].name;
	slot = st->n_natives++ % ARRAY_LEN(st->natives);
	st->natives[slot].ino = ino;
	snprintf(st->natives[slot].name, sizeof(st->natives[slot].name), "?");
	nf = (struct native_find){ ino, st->natives[slot].name, sizeof(st->natives[slot].name) };
	(void)procfs__maps_each(p->pid, native_of, &nf);
	return st->natives[slot].name;
}

static int fp_map_add(const struct proc_mapping *m, void *ctx)
{
	struct py_state *st = ctx;
	struct fp_map *f;
	const char *base;

	if (m->perms[2] != 'x')
		return 0;
	if (vec__grow(&st->maps, &st->cap_maps, st->n_maps))
		return -ENOMEM;
	f = &st->maps[st->n_maps++];
	f->start = m->start;
	f->end = m->end;
	f->pgoff = m->pgoff;
	f->dev = (uint64_t)m->dev_major << 32 | m->dev_minor;
	f->ino = m->inode;
	base = strrchr(m->path, '/');
	snprintf(f->name, sizeof(f->name), "%s", base ? base + 1 : m->path);
	return 0;
}

static const struct fp_map *fp_map_of(const struct py_state *st, uint64_t addr)
{
	for (size_t i = 0; i < st->n_maps; i++)
		if (addr >= st->maps[i].start && addr < st->maps[i].end)
			return &st->maps[i];
	return NULL;
}

/* The entry of key in c: its own, or the empty one to fill (c->n counted); NULL out of memory. */
static struct fn_entry *fn_slot(struct fn_cache *c, uint64_t key, bool *found)
{
	size_t j;

	if ((c->n + 1) * 2 > c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct fn_entry *n = calloc(cap, sizeof(*n));

		if (!n)
			return NULL;
		for (size_t i = 0; i < c->cap; i++) {
			if (!c->e[i].key)
				continue;
			for (j = (c->e[i].key >> 4) & (cap - 1); n[j].key; j = (j + 1) & (cap - 1))
				;
			n[j] = c->e[i];
		}
		free(c->e);
		c->e = n;
		c->cap = cap;
	}
	for (j = (key >> 4) & (c->cap - 1); c->e[j].key; j = (j + 1) & (c->cap - 1)) {
		if (c->e[j].key == key) {
			*found = true;
			return &c->e[j];
		}
	}
	*found = false;
	return &c->e[j];
}

/* The function a JavaScript frame's v8_sfi names (in the store), with the line it starts at; -1 when it
 * does not read as a function (a native frame whose slots looked like a JavaScript frame's, an object moved
 * and its address reused, the process gone). Cached while the process lives. */
static int64_t v8_func(struct pystacks *ps, struct target_proc *p, uint64_t v8_sfi, int *line)
{
	struct py_state *st = p->py;
	struct fn_entry *c;
	struct v8_func vf;
	pid_t pid = p->pid;
	bool found;
	int r;

	c = fn_slot(&st->v8fn, v8_sfi, &found);
	if (!c)
		return -1;
	if (found) {
		*line = c->line;
		return c->func;
	}
	if (p->exited)
		return -1;
	r = v8obj__read_function(pycode__read_pid, &pid, &st->v8l, v8_sfi & RTP_V8_SFI_MASK, (int)(v8_sfi >> 48),
				 &st->v8lines, &vf);
	if (r == -ESRCH)
		return -1; /* gone: not kept */
	c->key = v8_sfi;
	c->func = r ? -1 : profiles__func(ps->store, vf.name, vf.file, vf.line);
	c->line = r ? 0 : vf.line;
	st->v8fn.n++;
	*line = c->line;
	return c->func;
}

/* The function of node's executable at address addr of mapping m, into buf: 0, or -ENOENT (another file, no
 * symbol covers it). The executable's symbols are read the first time (from the process's own link to it). */
static int native_func(struct pystacks *ps, struct target_proc *p, const struct fp_map *m, uint64_t addr,
		       char *buf, size_t size)
{
	struct native_syms *ns = NULL;
	struct stat sb;
	char exe[48];
	uint64_t vaddr;

	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)p->pid);
	for (size_t i = 0; i < ps->n_natives && !ns; i++)
		if (ps->natives[i].dev == m->dev && ps->natives[i].ino == m->ino)
			ns = &ps->natives[i];
	if (!ns) {
		/* node's own file only: the process's executable */
		if (p->exited || stat(exe, &sb) || sb.st_ino != m->ino ||
		    ((uint64_t)major(sb.st_dev) << 32 | minor(sb.st_dev)) != m->dev || ps->n_natives == PY_MAX_NATIVE_FILES)
			return -ENOENT;
		ns = &ps->natives[ps->n_natives++];
		*ns = (struct native_syms){ .dev = m->dev, .ino = m->ino };
		if (addrsym__open(exe, &ns->syms))
			ns->syms = NULL;
	}
	if (!ns->syms || addrsym__vaddr_of(ns->syms, addr - m->start + m->pgoff, &vaddr))
		return -ENOENT;
	return addrsym__name(ns->syms, vaddr, buf, size);
}

/* A frame-pointer stack's frames, outermost first: a JavaScript function where the frame's function reads
 * from V8's objects, else where node's perf map names the address (the latest code there); a function of
 * node's executable where its symbols cover the address; else the file it is in as a <native: FILE> marker (a
 * run of them as one), <JIT code> for an address in anonymous code nothing names. p's maps are read again
 * once when an address is outside the last reading; after the process's end, what was resolved before and
 * the perf map. */
static int resolve_fp(struct pystacks *ps, struct target_proc *p, const struct rtp_py_stack *s,
		      struct rtp_prof_frame *fr, uint32_t *n_out)
{
	struct py_state *st = p->py;
	bool maps_read = false;
	int64_t last_native = -1, f;
	uint32_t n = *n_out;
	bool pm_read = false;

	for (uint32_t i = s->n; i-- > 0;) {
		/* a return address is just past its call: the call is in the function before it */
		uint64_t addr = s->f[i].code - (i ? 1 : 0);
		const char *name = NULL;
		const struct fp_map *m;

		/* a JavaScript frame: its function, read from V8's objects */
		if (st->v8 && s->f[i].v8_sfi) {
			int line = 0;

			f = v8_func(ps, p, s->f[i].v8_sfi, &line);
			if (f >= 0) {
				fr[n++] = (struct rtp_prof_frame){ .func = (uint32_t)f, .line = line };
				last_native = -1;
				continue;
			}
		}
		m = fp_map_of(st, addr);
		if (!m && !maps_read && !p->exited) {
			maps_read = true;
			st->n_maps = 0;
			if (procfs__maps_each(p->pid, fp_map_add, st) == -ENOMEM)
				return -ENOMEM;
			m = fp_map_of(st, addr);
		}
		/* else node's perf map, read again once a stack needs it: for code outside any file (JIT code), or
		 * for every address where V8's objects are not read (the interpreter's copies under
		 * --interpreted-frames-native-stack, the innermost frame's bytecode) */
		if (st->pm_path[0] && (!st->v8 || !m || !m->name[0])) {
			if (!pm_read) {
				(void)perfmap__update(&st->pm, st->pm_path, st->pm_owner);
				pm_read = true;
			}
			name = perfmap__lookup(&st->pm, addr);
		}
		/* the innermost code is not JavaScript, and its frame is the interpreter's: the function whose
		 * bytecode it runs, from the bytecode's own entry in the map (an interpreted one), comes first */
		if (!i && !name && st->pm_path[0] && (s->flags & RTP_STACK_V8_BYTECODE)) {
			const char *bc = perfmap__lookup(&st->pm, s->native);

			if (bc && (!strncmp(bc, "JS:~", 4) || !strncmp(bc, "LazyCompile:~", 13))) {
				char fn[160], file[256];
				int line;

				perfmap__split_v8(bc, fn, sizeof(fn), file, sizeof(file), &line);
				if ((f = profiles__func(ps->store, fn, file, line)) < 0)
					return -ENOMEM;
				/* not when the frame outside it is that function already */
				if (!n || fr[n - 1].func != (uint32_t)f)
					fr[n++] = (struct rtp_prof_frame){ .func = (uint32_t)f, .line = line };
				last_native = -1;
			}
		}

		if (name) {
			char fn[160], file[256];
			int line;

			perfmap__split_v8(name, fn, sizeof(fn), file, sizeof(file), &line);
			if ((f = profiles__func(ps->store, fn, file, line)) < 0)
				return -ENOMEM;
			fr[n++] = (struct rtp_prof_frame){ .func = (uint32_t)f, .line = line };
			last_native = -1;
			continue;
		}
		if (m && m->name[0]) {
			char marker_name[96], fn[160];
			struct fn_entry *c;
			bool found;

			/* node's own C++ and V8's builtins: named from the executable's symbols, once an address */
			c = fn_slot(&st->natfn, addr, &found);
			if (c && !found) {
				c->key = addr;
				c->func = native_func(ps, p, m, addr, fn, sizeof(fn)) ? -1
					  : profiles__func(ps->store, fn, m->name, 0);
				st->natfn.n++;
			}
			if (c && c->func >= 0) {
				fr[n++] = (struct rtp_prof_frame){ .func = (uint32_t)c->func };
				last_native = -1;
				continue;
			}

			snprintf(marker_name, sizeof(marker_name), "<native: %s>", m->name);
			/* the kernel's page of uretprobe trampolines: our own probes' return path, not the program */
			if (!strcmp(m->name, "[uprobes]"))
				snprintf(marker_name, sizeof(marker_name), "<rtprof's uprobe return trampoline>");
			f = marker(ps, marker_name);
		} else {
			f = marker(ps, m ? "<JIT code>" : "<unknown address>");
		}
		if (f < 0)
			return -ENOMEM;
		if (f == last_native)
			continue; /* one marker for a run of native frames in one file */
		fr[n++] = (struct rtp_prof_frame){ .func = (uint32_t)f };
		last_native = f;
	}
	*n_out = n;
	return 0;
}

/* Frames of a stack of the walker, outermost first, with the markers that say what is not Python code:
 * <truncated> at the root, <not Python> for a thread outside any thread state, <kernel> or <native: FILE>
 * at the leaf. */
static int resolve(struct engine *e, struct target_proc *p, uint64_t hash)
{
	struct pystacks *ps = ps_of(e);
	struct rtp_py_stack *s;
	struct rtp_prof_frame fr[RTP_PY_MAX_FRAMES + 4];
	struct resolved_stack *rs = stack_slot(ps, hash, false);
	uint32_t n = 0;
	int64_t f;
	int r = -ENOMEM;

	if (rs)
		return 0;
	s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (bpf_map__lookup_elem(e->skel->maps.py_stacks, &hash, sizeof(hash), s, sizeof(*s), 0)) {
		free(s);
		return -ENOENT;
	}
	if (s->n > RTP_PY_MAX_FRAMES)
		s->n = RTP_PY_MAX_FRAMES;
	if (s->flags & RTP_STACK_TRUNCATED) {
		if ((f = marker(ps, "<truncated>")) < 0)
			goto out;
		fr[n++] = (struct rtp_prof_frame){ .func = (uint32_t)f };
	}
	if (s->flags & RTP_STACK_NO_TSTATE) {
		if ((f = marker(ps, "<not Python>")) < 0)
			goto out;
		fr[n++] = (struct rtp_prof_frame){ .func = (uint32_t)f };
	}
	if (p->py && p->py->fp) {
		if (resolve_fp(ps, p, s, fr, &n))
			goto out;
	}
	for (uint32_t i = p->py && p->py->fp ? 0 : s->n; i-- > 0;) {
		const struct rtp_py_frame *pf = &s->f[i];
		struct code_entry *c = p->py ? code_get(p, pf->code, pf->firstlineno) : NULL;

		if (c && c->resolved > 0) {
			f = profiles__func(ps->store, c->info.function, c->info.file, c->info.firstlineno);
			fr[n].line = pycode__line(&c->info, p->py->minor, pf->instr);
		} else {
			if (p->py)
				p->py->unresolved++;
			f = marker(ps, "<unknown code>");
			fr[n].line = 0;
		}
		if (f < 0)
			goto out;
		fr[n++].func = (uint32_t)f;
	}
	if (s->flags & RTP_STACK_KERNEL) {
		if ((f = marker(ps, "<kernel>")) < 0)
			goto out;
		fr[n++] = (struct rtp_prof_frame){ .func = (uint32_t)f };
	} else if ((s->flags & RTP_STACK_NATIVE) && !(p->py && p->py->fp)) {
		char name[96];

		snprintf(name, sizeof(name), "<native: %s>", native_name(p, s->native));
		if ((f = marker(ps, name)) < 0)
			goto out;
		fr[n++] = (struct rtp_prof_frame){ .func = (uint32_t)f };
	}
	if (!n) {
		if ((f = marker(ps, "<no Python frame>")) < 0)
			goto out;
		fr[n++] = (struct rtp_prof_frame){ .func = (uint32_t)f };
	}
	rs = stack_slot(ps, hash, true);
	if (!rs)
		goto out;
	rs->frames = malloc(n * sizeof(*fr));
	if (!rs->frames)
		goto out;
	memcpy(rs->frames, fr, n * sizeof(*fr));
	rs->hash = hash;
	rs->n = n;
	rs->flags = s->flags;
	ps->n_stacks++;
	r = 0;
out:
	free(s);
	return r;
}

void pystacks__new_stack(struct engine *e, uint32_t tgid, uint64_t stack)
{
	struct pystacks *ps = ps_of(e);

	if (!ps || vec__grow(&ps->todo, &ps->cap_todo, ps->n_todo))
		return;
	ps->todo[ps->n_todo].tgid = tgid;
	ps->todo[ps->n_todo++].hash = stack;
}

static struct target_proc *live_proc(struct engine *e, pid_t pid)
{
	for (size_t i = e->n_procs; i-- > 0;)
		if (e->procs[i].pid == pid)
			return e->procs[i].exited ? NULL : &e->procs[i];
	return NULL;
}

void pystacks__poll(struct engine *e)
{
	struct pystacks *ps = ps_of(e);

	if (!ps)
		return;
	for (size_t i = 0; i < e->n_procs; i++) {
		struct target_proc *p = &e->procs[i];

		if (p->py && p->py->pending && !p->exited)
			py_setup(e, p, p->py);
	}
	for (size_t i = 0; i < ps->n_todo; i++) {
		struct target_proc *p = live_proc(e, (pid_t)ps->todo[i].tgid);

		if (p)
			(void)resolve(e, p, ps->todo[i].hash);
	}
	ps->n_todo = 0;
}

/* ---- the report ---- */

static struct target_proc *session_proc(struct engine *e, unsigned int session, pid_t pid)
{
	for (size_t i = e->n_procs; i-- > 0;)
		if (e->procs[i].pid == pid && e->procs[i].session == session)
			return &e->procs[i];
	return NULL;
}

static int add_row(struct engine *e, struct rtp_profiles *out, const struct rtp_py_count_key *k,
		   const struct rtp_py_count *v, struct target_proc *p)
{
	struct pystacks *ps = ps_of(e);
	struct resolved_stack *rs = stack_slot(ps, k->stack, false);
	struct rtp_prof_frame fr[RTP_PY_MAX_FRAMES + 4];
	struct rtp_prof_row row = { .pid = (pid_t)k->tgid, .tid = (pid_t)k->tid, .kind = k->kind, .arg = k->arg,
				    .samples = v->samples, .ns = v->ns, .errors = v->errors };

	if (k->kind == RTP_PROF_SYSCALL) {
		const char *name = syscall__name(k->arg & 0xffff);

		if (name)
			snprintf(row.syscall, sizeof(row.syscall), "%s", name);
		else
			snprintf(row.syscall, sizeof(row.syscall), "syscall_%u", k->arg & 0xffff);
	}

	if (!rs && (!p->exited || (p->py && p->py->fp)))
		(void)resolve(e, p, k->stack); /* its event was lost, or not read yet (a perf map outlives its process) */
	rs = rs ?: stack_slot(ps, k->stack, false);
	if (k->kind == RTP_PROF_CPU || k->kind == RTP_PROF_LOOP)
		row.ns = v->samples * (1000000000ull / e->sessions[p->session].stacks_hz);
	if (!rs) {
		int64_t f = profiles__func(out, "<unresolved: the process was gone>", "", 0);

		if (f < 0)
			return -ENOMEM;
		fr[0] = (struct rtp_prof_frame){ .func = (uint32_t)f };
		return profiles__add(out, &row, fr, 1);
	}
	row.flags = rs->flags;
	for (uint32_t i = 0; i < rs->n; i++) {
		const struct rtp_prof_func *fn = &ps->store->funcs[rs->frames[i].func];
		int64_t f = profiles__func(out, fn->name, fn->file, fn->firstline);

		if (f < 0)
			return -ENOMEM;
		fr[i] = (struct rtp_prof_frame){ .func = (uint32_t)f, .line = rs->frames[i].line };
	}
	return profiles__add(out, &row, fr, rs->n);
}

void pystacks__loop_block(struct engine *e, const struct rtp_loop_rec *rec)
{
	struct target_proc *p = NULL;
	struct py_state *st;
	size_t drop = SIZE_MAX;

	for (size_t i = 0; i < e->n_procs && !p; i++)
		if (e->procs[i].pid == (pid_t)rec->tgid && !e->procs[i].forgotten)
			p = &e->procs[i];
	if (!p || !(st = p->py) || !rec->iter.n)
		return;
	if (rec->flags & RTP_LOOP_LONGEST) {
		/* the thread's longest until now is no longer; kept only if over the threshold */
		for (size_t i = 0; i < st->n_blocks; i++) {
			struct rtp_loop_rec *b = &st->blocks[i];

			if (b->tid != rec->tid || !(b->flags & RTP_LOOP_LONGEST))
				continue;
			b->flags &= ~(uint32_t)RTP_LOOP_LONGEST;
			if (b->dur_ns < e->sessions[p->session].loop_block_ns)
				drop = i;
		}
	}
	if (drop == SIZE_MAX && st->n_blocks >= PY_MAX_BLOCKS) {
		/* full: the shortest that is nobody's longest makes room, if shorter than this one */
		for (size_t i = 0; i < st->n_blocks; i++)
			if (!(st->blocks[i].flags & RTP_LOOP_LONGEST) &&
			    (drop == SIZE_MAX || st->blocks[i].dur_ns < st->blocks[drop].dur_ns))
				drop = i;
		if (drop == SIZE_MAX || (st->blocks[drop].dur_ns >= rec->dur_ns && !(rec->flags & RTP_LOOP_LONGEST)))
			return;
	}
	if (drop != SIZE_MAX) {
		memmove(st->blocks + drop, st->blocks + drop + 1, (st->n_blocks - drop - 1) * sizeof(*st->blocks));
		st->n_blocks--;
	}
	if (vec__grow(&st->blocks, &st->cap_blocks, st->n_blocks))
		return;
	st->blocks[st->n_blocks++] = *rec;
}

/* The process's loop blocks into out: each block, and a row for each stack among its samples. */
static int add_blocks(struct engine *e, struct rtp_profiles *out, struct target_proc *p)
{
	struct py_state *st = p->py;

	if (!st)
		return 0;
	for (size_t i = 0; i < st->n_blocks; i++) {
		const struct rtp_loop_rec *b = &st->blocks[i];
		struct rtp_prof_block blk = { .pid = p->pid, .tid = (pid_t)b->tid, .start_ns = b->iter.start,
					      .dur_ns = b->dur_ns, .samples = b->iter.n,
					      .longest = b->flags & RTP_LOOP_LONGEST };
		uint32_t kept = b->iter.kept < RTP_LOOP_STACKS ? b->iter.kept : RTP_LOOP_STACKS;
		bool done[RTP_LOOP_STACKS] = { false };
		int64_t idx = profiles__block(out, &blk);

		if (idx < 0)
			return -ENOMEM;
		for (uint32_t j = 0; j < kept; j++) {
			struct rtp_py_count_key k = { .tgid = (__u32)p->pid, .tid = b->tid, .stack = b->iter.stacks[j],
						      .kind = RTP_PROF_LOOP, .arg = (__u32)idx };
			struct rtp_py_count v = { 0 };
			int r;

			if (done[j])
				continue;
			for (uint32_t m = j; m < kept; m++)
				if (b->iter.stacks[m] == k.stack) {
					v.samples++;
					done[m] = true;
				}
			r = add_row(e, out, &k, &v, p);
			if (r)
				return r;
		}
	}
	return 0;
}

/* A process whose stacks are walked, or said why not: python and node. */
static bool walkable(const struct target_proc *p)
{
	return p->runtime.kind == RTP_RUNTIME_PYTHON || p->runtime.kind == RTP_RUNTIME_NODE;
}

int pystacks__report(struct engine *e, unsigned int session, struct rtp_report *rep)
{
	struct pystacks *ps = ps_of(e);
	struct rtp_profiles *out;
	struct rtp_py_count_key k, next;
	struct rtp_py_count v;
	size_t n = 0;
	int fd, r = 0;

	if (!ps || !e->sessions[session].stacks_hz)
		return 0;
	/* the off-CPU sampler attaches with the probes: its program runs from the load on */
	pystacks__poll(e);
	out = profiles__new(e->sessions[session].stacks_hz);
	if (!out)
		return -ENOMEM;
	out->loop_threshold_ns = e->sessions[session].loop_block_ns;
	for (size_t i = 0; i < e->n_procs; i++)
		n += e->procs[i].session == session && walkable(&e->procs[i]);
	out->procs = calloc(n ? n : 1, sizeof(*out->procs));
	if (!out->procs) {
		profiles__free(out);
		return -ENOMEM;
	}
	for (size_t i = 0; i < e->n_procs; i++) {
		const struct target_proc *p = &e->procs[i];
		struct rtp_prof_proc *o;

		if (p->session != session || !walkable(p) || out->n_procs >= n)
			continue;
		o = &out->procs[out->n_procs++];
		o->pid = p->pid;
		if (p->py) {
			snprintf(o->method, sizeof(o->method), "%s", p->py->ready || !p->py->unavailable[0] ? p->py->method : "");
			snprintf(o->unavailable, sizeof(o->unavailable), "%s", p->py->unavailable);
			o->unresolved = p->py->unresolved;
			if (!o->method[0] && !o->unavailable[0])
				snprintf(o->unavailable, sizeof(o->unavailable), "%s",
					 p->py->pending ? "its interpreter was not mapped yet" : "not set up");
		} else {
			snprintf(o->unavailable, sizeof(o->unavailable), "its runtime was not known in time");
		}
	}
	fd = bpf_map__fd(e->skel->maps.py_counts);
	for (int err = bpf_map_get_next_key(fd, NULL, &next); !err; err = bpf_map_get_next_key(fd, &k, &next)) {
		struct target_proc *p;

		k = next;
		if (bpf_map_lookup_elem(fd, &k, &v))
			continue;
		p = session_proc(e, session, (pid_t)k.tgid);
		if (!p)
			continue;
		r = add_row(e, out, &k, &v, p);
		if (r)
			break;
		for (size_t i = 0; i < out->n_procs; i++)
			if (out->procs[i].pid == (pid_t)k.tgid) {
				struct resolved_stack *rs = stack_slot(ps, k.stack, false);

				if (k.kind != RTP_PROF_CPU)
					continue;
				out->procs[i].samples += v.samples;
				if (rs && (rs->flags & RTP_STACK_NO_TSTATE))
					out->procs[i].no_python += v.samples;
			}
	}
	for (size_t i = 0; !r && i < e->n_procs; i++)
		if (e->procs[i].session == session)
			r = add_blocks(e, out, &e->procs[i]);
	if (r) {
		profiles__free(out);
		return r;
	}
	(void)engine_counter(e, RTP_CNT_STACK_DROPS, &out->drops, NULL);
	profiles__finish(out);
	rep->profiles = out;
	return 0;
}
