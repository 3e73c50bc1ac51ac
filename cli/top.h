/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `rtprof top`: the command and its loop (cmd_top.c), what it asks rtprofd and the frame made of the
 * answers (top_poll.c), drawing a frame (top_draw.c), the terminal, signals and keys (top_term.c). */
#ifndef RTPROF_TOP_H
#define RTPROF_TOP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>
#include <termios.h>

#include "model/report.h"

struct rtp_client;

enum top_sort { TOP_SORT_CPU, TOP_SORT_RUNQ, TOP_SORT_SWITCHES, TOP_SORT_TID, TOP_SORT_NR };

struct top_sort_key {
	char key;	   /* the key pressed while running, and -s's short form */
	const char *name;  /* -s's long form */
	const char *title; /* the column it sorts by */
};

extern const struct top_sort_key top_sort_keys[TOP_SORT_NR];

/* The sort a key selects ('c', 'R'...), or -1. */
int top_sort__from_key(int ch);

struct top_opts {
	double delay_s;
	long iterations; /* 0: until q or a signal */
	bool batch;
	enum top_sort sort;
	/* the screen's list of sessions, when their blocks do not fit (one line each) */
	int64_t selected;   /* the session whose block and threads are shown; -1: the first listed */
	bool show_exited;   /* x: sessions whose processes have all exited are listed too */
	bool filtering;     /* /: keys go to the filter until Enter or Escape */
	char filter[32];    /* listed: sessions whose line has it (a name, a pid); "" all */
};

/* ---- top_poll.c: what rtprofd says at one refresh ---- */

/* One session as rtprofd reported it. */
struct top_session {
	int64_t session;
	int live_processes;
	struct rtp_report *rep; /* its threads sorted by tid */
};

struct top_poll {
	time_t taken;
	int sessions_total; /* the daemon's, visible to this user or not */
	int clients;	    /* rtprofd's clients, this one included */
	struct top_session *sessions; /* by session id */
	size_t n_sessions;
};

/* The one place top talks to rtprofd: status, sessions and each session's report. 0 or -errno with err
 * set; *p is filled on success only. */
int top_poll__fetch(struct rtp_client *c, struct top_poll *p, char *err, size_t errlen);
void top_poll__clear(struct top_poll *p);

/* ---- the frame: rates over the interval between two polls ---- */

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

/* The most functions a session's block lists: the thread table stays in view under the blocks. */
#define TOP_FUNCS_MAX 5

/* One function of a session's Python stacks on CPU over the interval (self/total as in the text report:
 * self the samples where it is the innermost Python frame, total those where it is anywhere in the stack). */
struct top_func {
	double self_pct, total_pct; /* of the session's CPU samples in the interval */
	char name[160];		    /* printable: control characters are '?' */
	char file[256];
	int firstline;
};

/* A session's top functions on CPU, for the sessions that sample Python stacks. */
struct top_funcs {
	bool stacks; /* its report has profiles; the rest is empty otherwise */
	unsigned int sample_hz;
	uint64_t samples;    /* on CPU in the interval, all functions */
	char why_none[224];  /* no samples: why, when rtprofd says (a process it cannot walk), else "" */
	struct top_func top[TOP_FUNCS_MAX]; /* highest self first */
	size_t n;
};

struct top_frame {
	char when[16];
	int sessions_total; /* the daemon's, visible to this user or not */
	int clients;	    /* rtprofd's clients, this one included */
	char (*session_heads)[448]; /* two or three lines each */
	struct top_funcs *funcs;    /* by session, as session_heads */
	int64_t *session_ids;       /* as session_heads */
	bool *session_live;         /* some process of it still runs */
	size_t n_sessions;
	struct top_row *rows;
	size_t n_rows, cap_rows;
};

/* The frame of poll `now` against the previous one (`before`, empty at the first refresh: a session's
 * first frame covers it since its attach). 0 or -errno with err set. */
int top_frame__build(struct top_frame *f, const struct top_poll *now, const struct top_poll *before, char *err,
		     size_t errlen);
void top_frame__clear(struct top_frame *f);

/* ---- top_draw.c ---- */

struct top_term;

/* Draw the frame, sorted as o says: plain lines, or in place on the terminal's screen. 0, -ENOMEM, or -EIO
 * when stdout cannot be written (a closed pipe, a gone terminal). */
int top_draw__frame(struct top_frame *f, const struct top_opts *o, const struct top_term *t);
/* The sessions listed on the screen when they do not all fit (by index in the frame): those the filter
 * matches, exited ones when shown; how many. */
size_t top_draw__listed(const struct top_frame *f, const struct top_opts *o, size_t *idx);
/* "1234.5", "12345", "1.23M": rates in a column of 7 */
const char *top_draw__rate(char *buf, size_t len, double v);

/* ---- top_term.c ---- */

struct top_term {
	bool screen; /* escapes: alternate screen, cursor hidden, frames drawn in place */
	bool keys;   /* stdin is a terminal in non-canonical mode */
	bool entered;
	struct termios saved;
	int rows, cols;
};

/* Decide between screen and batch (plain frames), and take the terminal's size. */
void top_term__init(struct top_term *t, bool batch);
/* Catch the signals top handles, and block them except while waiting for keys (a client call is never cut
 * by EINTR); *waitmask: the mask to wait with and to restore at the end. */
void top_term__signals(sigset_t *waitmask);
/* The signal that asked to quit, or 0. */
int top_term__quit_signal(void);
void top_term__enter(struct top_term *t);
void top_term__leave(struct top_term *t);
/* Wait until deadline_ns (CLOCK_MONOTONIC) or the next key asks to quit or refresh: redraw on a sort key
 * or a resize. 1: quit; 0: time to refresh; -errno. */
int top_term__wait(struct top_frame *f, struct top_opts *o, struct top_term *t, uint64_t deadline_ns,
		   const sigset_t *waitmask);

#endif
