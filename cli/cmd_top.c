// SPDX-License-Identifier: LGPL-2.1-or-later
/* rtprof top: a refreshing view of rtprofd's sessions and their threads. Every rate is the difference of
 * two consecutive reports of a session over the difference of their durations (docs/top.md). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <json-c/json.h>

#include "client.h"
#include "model/report.h"
#include "rtprof.h"

enum top_sort { TOP_SORT_CPU, TOP_SORT_RUNQ, TOP_SORT_SWITCHES, TOP_SORT_TID };

static const struct {
	char key;	   /* the key pressed while running, and -s's short form */
	const char *name;  /* -s's long form */
	const char *title; /* the column it sorts by */
} sort_keys[] = {
	[TOP_SORT_CPU] = { 'c', "cpu", "CPU%" },
	[TOP_SORT_RUNQ] = { 'r', "runq", "RUNQ%" },
	[TOP_SORT_SWITCHES] = { 's', "switches", "SW/s" },
	[TOP_SORT_TID] = { 't', "tid", "TID" },
};

struct top_opts {
	double delay_s;
	long iterations; /* 0: until q or a signal */
	bool batch;
	enum top_sort sort;
};

/* A session's last report: the base of the next frame's deltas. */
struct top_base {
	int64_t session;
	struct rtp_report *rep;
};

struct top_row {
	int64_t session;
	pid_t pid;
	pid_t tid;
	char name[RTP_COMM_LEN];
	char state; /* R running, W waiting for a CPU, S sleeping, D blocked, X exited: most of the interval */
	double cpu_pct;
	double runq_pct;
	double vol_per_s;
	double invol_per_s;
};

struct top_frame {
	char when[16];
	int sessions_total; /* the daemon's, visible to this user or not */
	int clients;	    /* rtprofd's clients, this one included */
	char (*session_heads)[448]; /* two or three lines each */
	size_t n_sessions;
	struct top_row *rows;
	size_t n_rows, cap_rows;
};

/* Signals are blocked except while waiting in ppoll(): a client call is never cut by EINTR. */
static volatile sig_atomic_t quit_signal, winch_signal, tstp_signal, cont_signal;

static void on_signal(int sig)
{
	switch (sig) {
	case SIGWINCH:
		winch_signal = 1;
		break;
	case SIGTSTP:
		tstp_signal = 1;
		break;
	case SIGCONT:
		cont_signal = 1;
		break;
	default:
		quit_signal = sig;
	}
}

static const int handled_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGWINCH, SIGTSTP, SIGCONT };

static void set_handler(int sig, void (*fn)(int))
{
	struct sigaction sa = { .sa_handler = fn };

	sigemptyset(&sa.sa_mask);
	(void)sigaction(sig, &sa, NULL);
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the terminal ---- */

struct top_term {
	bool screen; /* escapes: alternate screen, cursor hidden, frames drawn in place */
	bool keys;   /* stdin is a terminal in non-canonical mode */
	bool entered;
	struct termios saved;
	int rows, cols;
};

static void term__size(struct top_term *t)
{
	struct winsize ws;

	t->rows = 24;
	t->cols = 80;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
		t->rows = ws.ws_row;
		t->cols = ws.ws_col;
	}
}

static void term__keys(struct top_term *t)
{
	struct termios raw = t->saved;

	/* keys arrive one by one, unechoed; ISIG stays so that Ctrl-C and Ctrl-Z are signals */
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	(void)tcsetattr(STDIN_FILENO, TCSANOW, &raw);
}

static void term__enter(struct top_term *t)
{
	if (t->entered)
		return;
	if (t->keys)
		term__keys(t);
	if (t->screen) {
		/* alternate screen, cursor hidden, cleared */
		fputs("\033[?1049h\033[?25l\033[H\033[2J", stdout);
		fflush(stdout);
	}
	t->entered = true;
}

static void term__leave(struct top_term *t)
{
	if (!t->entered)
		return;
	if (t->screen) {
		fputs("\033[?25h\033[?1049l", stdout);
		fflush(stdout);
	}
	if (t->keys)
		(void)tcsetattr(STDIN_FILENO, TCSADRAIN, &t->saved);
	t->entered = false;
}

/* ---- one refresh: the daemon's sessions, each session's report against the previous one ---- */

static int cmp_thread_tid(const void *a, const void *b)
{
	const struct rtp_report_thread *x = a, *y = b;

	return (x->tid > y->tid) - (x->tid < y->tid);
}

static uint64_t delta(uint64_t now, uint64_t before)
{
	return now > before ? now - before : 0;
}

/* Names come from the profiled processes (comm, a version string in their ELF): no control characters may reach
 * the terminal as escape sequences. */
static void copy_printable(char *dst, size_t size, const char *src)
{
	size_t i = 0;

	for (; i + 1 < size && src[i]; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? '?' : src[i];
	dst[i] = '\0';
}

static const struct rtp_report_syscall *find_syscall(const struct rtp_report *r, unsigned int nr)
{
	for (size_t i = 0; r && i < r->n_syscalls; i++)
		if (r->syscalls[i].nr == nr)
			return &r->syscalls[i];
	return NULL;
}

static struct rtp_report *find_base(const struct top_base *bases, size_t n, int64_t session)
{
	for (size_t i = 0; i < n; i++)
		if (bases[i].session == session)
			return bases[i].rep;
	return NULL;
}

static char thread_state(const struct rtp_report_thread *t, const struct rtp_report_thread *b)
{
	uint64_t on, rq, sl, bl;

	if (t->exited)
		return 'X';
	on = delta(t->oncpu_ns, b ? b->oncpu_ns : 0);
	rq = delta(t->runq_wait_ns, b ? b->runq_wait_ns : 0);
	sl = delta(t->sleep_ns, b ? b->sleep_ns : 0);
	bl = delta(t->block_ns, b ? b->block_ns : 0);
	if (!on && !rq && !sl && !bl)
		return '-';
	if (on >= rq && on >= sl && on >= bl)
		return 'R';
	if (rq >= sl && rq >= bl)
		return 'W';
	return bl > sl ? 'D' : 'S';
}

static int add_threads(struct top_frame *f, int64_t session, const struct rtp_report *rep,
		       const struct rtp_report *base, double dt_ns)
{
	for (size_t i = 0; i < rep->n_threads; i++) {
		const struct rtp_report_thread *t = &rep->threads[i], *b = NULL;
		struct top_row *row;

		if (base)
			b = bsearch(t, base->threads, base->n_threads, sizeof(*t), cmp_thread_tid);
		/* a thread is listed until the refresh after its exit; the first frame shows the live ones */
		if (t->exited && (!base || (b && b->exited)))
			continue;
		if (f->n_rows == f->cap_rows) {
			size_t cap = f->cap_rows ? f->cap_rows * 2 : 64;
			struct top_row *p = realloc(f->rows, cap * sizeof(*p));

			if (!p)
				return -ENOMEM;
			f->rows = p;
			f->cap_rows = cap;
		}
		row = &f->rows[f->n_rows++];
		*row = (struct top_row){ .session = session, .pid = t->tgid, .tid = t->tid, .state = thread_state(t, b) };
		copy_printable(row->name, sizeof(row->name), t->name);
		if (dt_ns > 0) {
			row->cpu_pct = 100.0 * (double)delta(t->oncpu_ns, b ? b->oncpu_ns : 0) / dt_ns;
			row->runq_pct = 100.0 * (double)delta(t->runq_wait_ns, b ? b->runq_wait_ns : 0) / dt_ns;
			row->vol_per_s = (double)delta(t->vol_switches, b ? b->vol_switches : 0) * 1e9 / dt_ns;
			row->invol_per_s = (double)delta(t->invol_switches, b ? b->invol_switches : 0) * 1e9 / dt_ns;
		}
	}
	return 0;
}

/* "1234.5", "12345", "1.23M": rates in a column of 7 */
static const char *fmt_rate(char *buf, size_t len, double v)
{
	if (v < 1000)
		snprintf(buf, len, "%.1f", v);
	else if (v < 1e6)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.2fM", v / 1e6);
	return buf;
}

static const struct rtp_report_runtime *find_runtime(const struct rtp_report *r, pid_t pid)
{
	for (size_t i = 0; r && i < r->n_runtimes; i++)
		if (r->runtimes[i].pid == pid)
			return &r->runtimes[i];
	return NULL;
}

static uint64_t gc_count(const struct rtp_report_runtime *rt)
{
	uint64_t n = 0;

	for (unsigned int k = 0; rt && k < RTP_RT_GC_KINDS; k++)
		n += rt->gc[k].count;
	return n;
}

/* The main target's runtime metrics over the refresh interval, as a third line of its session's head:
 * GIL wait share (python), event-loop utilisation and threadpool tasks (node), collections. */
static void runtime_line(char *out, size_t len, const struct rtp_report *rep, const struct rtp_report *base,
			 double dt_ns)
{
	const struct rtp_report_runtime *rt = rep->n_targets ? find_runtime(rep, rep->targets[0].pid) : NULL, *b;
	char gc[48], r1[24];

	out[0] = '\0';
	if (!rt)
		return;
	b = find_runtime(base, rt->pid);
	if (rt->gc_method[0])
		snprintf(gc, sizeof(gc), "  gc/s %s", fmt_rate(r1, sizeof(r1), dt_ns > 0 ? (double)delta(gc_count(rt),
									   gc_count(b)) * 1e9 / dt_ns : 0));
	else
		snprintf(gc, sizeof(gc), "  gc -");
	if (rt->kind == RTP_RUNTIME_PYTHON) {
		uint64_t w = delta(rt->gil_wait_ns, b ? b->gil_wait_ns : 0), h = delta(rt->gil_hold_ns, b ? b->gil_hold_ns : 0);

		if (rt->gil_method[0])
			snprintf(out, len, "\n  GIL wait %.1f%% of thread time%s", w + h ? 100.0 * (double)w / (double)(w + h) : 0,
				 gc);
		else
			snprintf(out, len, "\n  GIL -%s", gc);
	} else {
		uint64_t bu = delta(rt->loop_busy_ns, b ? b->loop_busy_ns : 0), id = delta(rt->loop_idle_ns, b ? b->loop_idle_ns : 0);
		char r2[24];

		snprintf(out, len, "\n  event loop %.1f%% busy  longest %.1f ms  pool tasks/s %s%s",
			 bu + id ? 100.0 * (double)bu / (double)(bu + id) : 0, (double)rt->loop_busy_max_ns / 1e6,
			 fmt_rate(r2, sizeof(r2), dt_ns > 0 ? (double)delta(rt->tp_completed, b ? b->tp_completed : 0) * 1e9 / dt_ns : 0),
			 gc);
	}
}

static void session_head(char *out, size_t len, int64_t session, int live, const struct rtp_report *rep,
			 const struct rtp_report *base, double dt_ns)
{
	char rtline[160];
	const struct rtp_report_target *t = rep->n_targets ? &rep->targets[0] : NULL;
	const struct rtp_report_syscall *top = NULL;
	uint64_t calls = 0, top_calls = 0;
	size_t threads = 0;
	char runtime[48] = "", more[24] = "", rate[24], top_rate[24], top_text[64] = "-", comm[RTP_COMM_LEN] = "?";
	char version[sizeof(t->runtime.version)] = "?";

	for (size_t i = 0; i < rep->n_syscalls; i++) {
		const struct rtp_report_syscall *s = &rep->syscalls[i], *b = find_syscall(base, s->nr);
		uint64_t d = delta(s->count, b ? b->count : 0);

		calls += d;
		if (d > top_calls) {
			top_calls = d;
			top = s;
		}
	}
	for (size_t i = 0; i < rep->n_threads; i++)
		threads += !rep->threads[i].exited;
	if (t) {
		copy_printable(comm, sizeof(comm), t->comm);
		if (t->runtime.version[0])
			copy_printable(version, sizeof(version), t->runtime.version);
	}
	if (t && t->runtime.kind != RTP_RUNTIME_OTHER)
		snprintf(runtime, sizeof(runtime), "  %s %s", runtime__kind_name(t->runtime.kind), version);
	if (rep->n_targets > 1)
		snprintf(more, sizeof(more), " +%zu", rep->n_targets - 1);
	fmt_rate(rate, sizeof(rate), dt_ns > 0 ? (double)calls * 1e9 / dt_ns : 0);
	if (top)
		snprintf(top_text, sizeof(top_text), "%s %s/s", top->name,
			 fmt_rate(top_rate, sizeof(top_rate), dt_ns > 0 ? (double)top_calls * 1e9 / dt_ns : 0));
	runtime_line(rtline, sizeof(rtline), rep, base, dt_ns);
	/* two lines (three for a python or node target), each within 80 columns */
	snprintf(out, len,
		 "session %" PRId64 ": %s (pid %d%s)%s  procs %d/%zu  threads %zu\n"
		 "  syscalls/s %s  top %s  lost events %" PRIu64 "%s",
		 session, comm, t ? t->pid : 0, more, runtime, live, rep->n_targets, threads, rate, top_text,
		 rep->lost_events, rtline);
}

static void frame__clear(struct top_frame *f)
{
	free(f->session_heads);
	free(f->rows);
	memset(f, 0, sizeof(*f));
}

static void bases__free(struct top_base *bases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		report__free(bases[i].rep);
	free(bases);
}

static json_object *request(const char *type)
{
	json_object *req = json_object_new_object();

	json_object_object_add(req, "type", json_object_new_string(type));
	return req;
}

/* A session as `sessions` lists it. */
struct top_listed {
	int64_t session;
	int live_processes;
};

static int cmp_listed(const void *a, const void *b)
{
	const struct top_listed *x = a, *y = b;

	return (x->session > y->session) - (x->session < y->session);
}

/* Ask for status, sessions and each session's report; fill *f and replace the bases. 0 or -errno (err set). */
static int refresh(struct rtp_client *c, struct top_base **bases, size_t *n_bases, struct top_frame *f, char *err,
		   size_t errlen)
{
	json_object *status = NULL, *list = NULL, *sessions;
	struct top_base *next = NULL;
	struct top_listed *listed = NULL;
	size_t n_next = 0, n;
	time_t now = time(NULL);
	struct tm tm;
	int r;

	frame__clear(f);
	if (localtime_r(&now, &tm))
		strftime(f->when, sizeof(f->when), "%H:%M:%S", &tm);
	r = client__call(c, request("status"), &status, err, errlen);
	if (r)
		goto cleanup;
	f->sessions_total = json_object_get_int(json_object_object_get(status, "sessions"));
	f->clients = json_object_get_int(json_object_object_get(status, "clients"));
	r = client__call(c, request("sessions"), &list, err, errlen);
	if (r)
		goto cleanup;
	sessions = json_object_object_get(list, "sessions");
	n = json_object_is_type(sessions, json_type_array) ? json_object_array_length(sessions) : 0;
	r = -ENOMEM;
	listed = calloc(n ? n : 1, sizeof(*listed));
	next = calloc(n ? n : 1, sizeof(*next));
	f->session_heads = calloc(n ? n : 1, sizeof(*f->session_heads));
	if (!listed || !next || !f->session_heads)
		goto cleanup;
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(sessions, i);

		listed[i].session = json_object_get_int64(json_object_object_get(s, "session"));
		listed[i].live_processes = json_object_get_int(json_object_object_get(s, "live_processes"));
	}
	qsort(listed, n, sizeof(*listed), cmp_listed);
	for (size_t i = 0; i < n; i++) {
		json_object *req = request("query"), *reply = NULL;
		struct rtp_report *rep = NULL, *base;
		int64_t id = listed[i].session;
		double dt_ns;

		json_object_object_add(req, "session", json_object_new_int64(id));
		json_object_object_add(req, "what", json_object_new_string("summary"));
		r = client__call(c, req, &reply, err, errlen);
		if (r == -ENOENT)
			continue; /* detached since the list was made */
		if (r)
			goto cleanup;
		r = report__from_json(json_object_object_get(reply, "report"), &rep);
		json_object_put(reply);
		if (r) {
			snprintf(err, errlen, "rtprofd's report of session %" PRId64 " could not be read", id);
			goto cleanup;
		}
		qsort(rep->threads, rep->n_threads, sizeof(*rep->threads), cmp_thread_tid);
		next[n_next++] = (struct top_base){ .session = id, .rep = rep };
		/* the first refresh of a session covers it since its attach */
		base = find_base(*bases, *n_bases, id);
		dt_ns = base ? (double)delta(rep->duration_ns, base->duration_ns) : (double)rep->duration_ns;
		session_head(f->session_heads[f->n_sessions++], sizeof(f->session_heads[0]), id,
			     listed[i].live_processes, rep, base, dt_ns);
		r = add_threads(f, id, rep, base, dt_ns);
		if (r) {
			snprintf(err, errlen, "%s", strerror(-r));
			goto cleanup;
		}
	}
	bases__free(*bases, *n_bases);
	*bases = next;
	*n_bases = n_next;
	next = NULL;
	n_next = 0;
	r = 0;
cleanup:
	if (r == -ENOMEM)
		snprintf(err, errlen, "%s", strerror(ENOMEM));
	bases__free(next, n_next);
	free(listed);
	json_object_put(status);
	json_object_put(list);
	return r;
}

/* ---- drawing ---- */

static int cmp_tid(const struct top_row *x, const struct top_row *y)
{
	if (x->session != y->session)
		return x->session < y->session ? -1 : 1;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

static int cmp_double_desc(double x, double y)
{
	return (x < y) - (x > y);
}

static int cmp_row_cpu(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;

	return cmp_double_desc(x->cpu_pct, y->cpu_pct) ?: cmp_tid(x, y);
}

static int cmp_row_runq(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;

	return cmp_double_desc(x->runq_pct, y->runq_pct) ?: cmp_tid(x, y);
}

static int cmp_row_switches(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;

	return cmp_double_desc(x->vol_per_s + x->invol_per_s, y->vol_per_s + y->invol_per_s) ?: cmp_tid(x, y);
}

static int cmp_row_tid(const void *a, const void *b)
{
	return cmp_tid(a, b);
}

static int (*const row_cmp[])(const void *, const void *) = {
	[TOP_SORT_CPU] = cmp_row_cpu,
	[TOP_SORT_RUNQ] = cmp_row_runq,
	[TOP_SORT_SWITCHES] = cmp_row_switches,
	[TOP_SORT_TID] = cmp_row_tid,
};

/* The frame as plain lines; the terminal form adds escapes around them. */
static void draw_text(FILE *out, struct top_frame *f, const struct top_opts *o)
{
	char sw[24], vol[24], invol[24];

	qsort(f->rows, f->n_rows, sizeof(*f->rows), row_cmp[o->sort]);
	fprintf(out, "rtprof top - %s  sessions %zu/%d  clients %d  every %g s  sort %s\n", f->when, f->n_sessions,
		f->sessions_total, f->clients, o->delay_s, sort_keys[o->sort].title);
	for (size_t i = 0; i < f->n_sessions; i++)
		fprintf(out, "%s\n", f->session_heads[i]);
	if (!f->n_sessions)
		fprintf(out, "no sessions: start one with 'rtprof attach PID' while rtprofd runs\n");
	fprintf(out, "\n%7s %7s %7s %1s %6s %6s %7s %7s %7s %s\n", "SESSION", "PID", "TID", "S", "CPU%", "RUNQ%", "SW/s",
		"VOL/s", "INV/s", "NAME");
	for (size_t i = 0; i < f->n_rows; i++) {
		const struct top_row *r = &f->rows[i];

		fprintf(out, "%7" PRId64 " %7d %7d %c %6.1f %6.1f %7s %7s %7s %s\n", r->session, r->pid, r->tid, r->state,
			r->cpu_pct, r->runq_pct, fmt_rate(sw, sizeof(sw), r->vol_per_s + r->invol_per_s),
			fmt_rate(vol, sizeof(vol), r->vol_per_s), fmt_rate(invol, sizeof(invol), r->invol_per_s), r->name);
	}
}

/* 0, -ENOMEM, or -EIO when stdout cannot be written (a closed pipe, a gone terminal) */
static int draw(struct top_frame *f, const struct top_opts *o, struct top_term *t)
{
	char *text = NULL, *line;
	size_t len = 0;
	FILE *mem;

	if (!t->screen) {
		draw_text(stdout, f, o);
		fputc('\n', stdout);
		return fflush(stdout) || ferror(stdout) ? -EIO : 0;
	}
	mem = open_memstream(&text, &len);
	if (!mem)
		return -ENOMEM;
	draw_text(mem, f, o);
	fclose(mem);
	/* in place from the top-left corner, each line cut to the width, as many as fit; erase what is left */
	fputs("\033[H", stdout);
	line = text;
	for (int row = 0; row < t->rows && line && *line; row++) {
		char *nl = strchr(line, '\n');
		int n = nl ? (int)(nl - line) : (int)strlen(line);

		if (row)
			fputs("\r\n", stdout);
		fprintf(stdout, "%.*s\033[K", n < t->cols ? n : t->cols, line);
		line = nl ? nl + 1 : NULL;
	}
	fputs("\033[J", stdout);
	free(text);
	return fflush(stdout) || ferror(stdout) ? -EIO : 0;
}

/* ---- the loop ---- */

static int sort_from_key(int ch)
{
	for (size_t i = 0; i < sizeof(sort_keys) / sizeof(sort_keys[0]); i++)
		if (ch == sort_keys[i].key || ch == sort_keys[i].key - 'a' + 'A')
			return (int)i;
	return -1;
}

/* Ctrl-Z: give the terminal back, stop, and take it again once continued. */
static void suspend(struct top_term *t)
{
	sigset_t tstp;

	term__leave(t);
	set_handler(SIGTSTP, SIG_DFL);
	sigemptyset(&tstp);
	sigaddset(&tstp, SIGTSTP);
	(void)raise(SIGTSTP);
	(void)sigprocmask(SIG_UNBLOCK, &tstp, NULL); /* stops here until SIGCONT */
	(void)sigprocmask(SIG_BLOCK, &tstp, NULL);
	set_handler(SIGTSTP, on_signal);
	term__enter(t);
}

/* Wait until `deadline` (CLOCK_MONOTONIC seconds) or the next key asks to quit or refresh: redraw on a sort
 * key or a resize. 1: quit; 0: time to refresh; -errno. */
static int wait_keys(struct top_frame *f, struct top_opts *o, struct top_term *t, double deadline,
		     const sigset_t *waitmask)
{
	for (;;) {
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		struct timespec ts;
		bool redraw = false;
		double left;
		int n;

		if (quit_signal)
			return 1;
		if (tstp_signal) {
			tstp_signal = 0;
			suspend(t);
			redraw = true;
		}
		if (cont_signal) {
			cont_signal = 0;
			/* stopped by SIGSTOP: the shell may have put its own terminal modes back meanwhile */
			if (t->keys)
				term__keys(t);
			redraw = true;
		}
		if (winch_signal) {
			winch_signal = 0;
			redraw = true;
		}
		if (redraw && t->screen) {
			term__size(t);
			fputs("\033[2J", stdout);
			if (draw(f, o, t))
				return -EIO;
		}
		left = deadline - mono_s();
		if (left <= 0)
			return 0;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - floor(left)) * 1e9);
		n = ppoll(t->keys ? &pfd : NULL, t->keys ? 1 : 0, &ts, waitmask);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			continue;
		if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL))
			return 1; /* the terminal is gone */
		if (pfd.revents & POLLIN) {
			char keys[64];
			ssize_t got = read(STDIN_FILENO, keys, sizeof(keys));

			if (got == 0)
				return 1;
			for (ssize_t i = 0; i < got; i++) {
				int s = sort_from_key((unsigned char)keys[i]);

				if (keys[i] == 'q' || keys[i] == 'Q' || keys[i] == 3 /* Ctrl-C without ISIG */)
					return 1;
				if (keys[i] == ' ')
					return 0;
				if (s >= 0 && (enum top_sort)s != o->sort) {
					o->sort = (enum top_sort)s;
					if (draw(f, o, t))
						return -EIO;
				}
			}
		}
	}
}

static const char top_usage[] =
	"Usage: rtprof top [-b] [-d SECS] [-n N] [-s KEY] [--socket PATH]\n"
	"\n"
	"A refreshing view of rtprofd's sessions (those you may see) and their threads: CPU and run-queue\n"
	"share of each refresh interval, context switches per second; per session syscalls per second and\n"
	"the most frequent syscall. See docs/top.md.\n"
	"\n"
	"  -d, --delay SECS      seconds between refreshes (default 1; at least 0.1)\n"
	"  -n, --iterations N    stop after N refreshes\n"
	"  -b, --batch           plain frames one after another, no escapes, no keys (also when stdout\n"
	"                        is not a terminal)\n"
	"  -s, --sort KEY        c|cpu (default), r|runq, s|switches, t|tid\n"
	"      --socket PATH     rtprofd's socket (default $RTPROF_SOCKET, else /run/rtprof/rtprofd.sock)\n"
	"\n"
	"Keys: q or Ctrl-C quit; c, r, s, t sort by CPU%, RUNQ%, SW/s, TID; space refreshes now.\n";

static int parse_top(int argc, char **argv, struct top_opts *o)
{
	static const struct option longopts[] = {
		{ "delay", required_argument, NULL, 'd' },     { "iterations", required_argument, NULL, 'n' },
		{ "batch", no_argument, NULL, 'b' },	       { "sort", required_argument, NULL, 's' },
		{ "socket", required_argument, NULL, 'S' },    { "help", no_argument, NULL, 'h' },
		{},
	};
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "d:n:bs:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			errno = 0;
			o->delay_s = strtod(optarg, &end);
			if (errno || *end || !(o->delay_s >= 0.1 && o->delay_s <= 86400)) {
				errorf("top: -d wants seconds between 0.1 and 86400, not '%s'", optarg);
				return -EINVAL;
			}
			break;
		case 'n':
			errno = 0;
			o->iterations = strtol(optarg, &end, 10);
			if (errno || *end || o->iterations < 1) {
				errorf("top: -n wants a number of refreshes >= 1, not '%s'", optarg);
				return -EINVAL;
			}
			break;
		case 'b':
			o->batch = true;
			break;
		case 's': {
			int s = optarg[0] && !optarg[1] ? sort_from_key((unsigned char)optarg[0]) : -1;

			for (size_t i = 0; s < 0 && i < sizeof(sort_keys) / sizeof(sort_keys[0]); i++)
				if (strcmp(optarg, sort_keys[i].name) == 0)
					s = (int)i;
			if (s < 0) {
				errorf("top: unknown sort key '%s': c|cpu, r|runq, s|switches, t|tid", optarg);
				return -EINVAL;
			}
			o->sort = (enum top_sort)s;
			break;
		}
		case 'S':
			g_opts.socket_path = optarg;
			break;
		case 'h':
			fputs(top_usage, stdout);
			return 1;
		default:
			fputs(top_usage, stderr);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		fputs(top_usage, stderr);
		return -EINVAL;
	}
	return 0;
}

int cmd_top(int argc, char **argv)
{
	struct top_opts o = { .delay_s = 1.0, .sort = TOP_SORT_CPU };
	struct top_term term = {};
	struct top_frame frame = {};
	struct top_base *bases = NULL;
	struct rtp_client *c = NULL;
	sigset_t blocked, waitmask;
	size_t n_bases = 0;
	char err[512] = "";
	int r, ret = EXIT_USAGE;

	r = parse_top(argc, argv, &o);
	if (r)
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	r = client__connect(client__socket_path(), &c, err, sizeof(err));
	if (r) {
		fprintf(stderr, "rtprof top needs rtprofd: %s\n", err);
		return EXIT_USAGE;
	}
	term.screen = !o.batch && isatty(STDOUT_FILENO);
	term.keys = term.screen && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &term.saved) == 0;
	term__size(&term);
	sigemptyset(&blocked);
	for (size_t i = 0; i < sizeof(handled_signals) / sizeof(handled_signals[0]); i++) {
		sigaddset(&blocked, handled_signals[i]);
		set_handler(handled_signals[i], on_signal);
	}
	(void)sigprocmask(SIG_BLOCK, &blocked, &waitmask);
	term__enter(&term);
	ret = EXIT_OK;
	for (long done = 0; !quit_signal;) {
		double started = mono_s();

		r = refresh(c, &bases, &n_bases, &frame, err, sizeof(err));
		if (r) {
			ret = EXIT_FAILURE_RT;
			break;
		}
		r = draw(&frame, &o, &term);
		if (r) {
			snprintf(err, sizeof(err), "cannot write the frame: %s", strerror(-r));
			ret = EXIT_FAILURE_RT;
			break;
		}
		if (o.iterations && ++done >= o.iterations)
			break;
		r = wait_keys(&frame, &o, &term, started + o.delay_s, &waitmask);
		if (r) {
			if (r < 0) {
				snprintf(err, sizeof(err), "%s", strerror(-r));
				ret = EXIT_FAILURE_RT;
			}
			break;
		}
	}
	term__leave(&term);
	if (ret != EXIT_OK)
		errorf("top: %s", err);
	frame__clear(&frame);
	bases__free(bases, n_bases);
	client__close(c);
	(void)sigprocmask(SIG_SETMASK, &waitmask, NULL);
	return ret;
}
