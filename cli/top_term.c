// SPDX-License-Identifier: LGPL-2.1-or-later
/* `rtprof top`'s terminal: screen or batch, raw keys, its size, the signals top handles, waiting for keys. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "base/clock.h"
#include "top.h"

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

void top_term__signals(sigset_t *waitmask)
{
	sigset_t blocked;

	sigemptyset(&blocked);
	for (size_t i = 0; i < sizeof(handled_signals) / sizeof(handled_signals[0]); i++) {
		sigaddset(&blocked, handled_signals[i]);
		set_handler(handled_signals[i], on_signal);
	}
	(void)sigprocmask(SIG_BLOCK, &blocked, waitmask);
}

int top_term__quit_signal(void)
{
	return quit_signal;
}

static void term_size(struct top_term *t)
{
	struct winsize ws;

	t->rows = 24;
	t->cols = 80;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
		t->rows = ws.ws_row;
		t->cols = ws.ws_col;
	}
}

void top_term__init(struct top_term *t, bool batch)
{
	t->screen = !batch && isatty(STDOUT_FILENO);
	t->keys = t->screen && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &t->saved) == 0;
	term_size(t);
}

static void term_keys(struct top_term *t)
{
	struct termios raw = t->saved;

	/* keys arrive one by one, unechoed; ISIG stays so that Ctrl-C and Ctrl-Z are signals */
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	(void)tcsetattr(STDIN_FILENO, TCSANOW, &raw);
}

void top_term__enter(struct top_term *t)
{
	if (t->entered)
		return;
	if (t->keys)
		term_keys(t);
	if (t->screen) {
		/* alternate screen, cursor hidden, cleared */
		fputs("\033[?1049h\033[?25l\033[H\033[2J", stdout);
		fflush(stdout);
	}
	t->entered = true;
}

void top_term__leave(struct top_term *t)
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

/* Ctrl-Z: give the terminal back, stop, and take it again once continued. */
static void suspend(struct top_term *t)
{
	sigset_t tstp;

	top_term__leave(t);
	set_handler(SIGTSTP, SIG_DFL);
	sigemptyset(&tstp);
	sigaddset(&tstp, SIGTSTP);
	(void)raise(SIGTSTP);
	(void)sigprocmask(SIG_UNBLOCK, &tstp, NULL); /* stops here until SIGCONT */
	(void)sigprocmask(SIG_BLOCK, &tstp, NULL);
	set_handler(SIGTSTP, on_signal);
	top_term__enter(t);
}

/* The session listed before or after the selected one (dir -1, 1), as the screen lists them. */
static void select_next(const struct top_frame *f, struct top_opts *o, int dir)
{
	size_t *idx = calloc(f->n_sessions ? f->n_sessions : 1, sizeof(*idx)), n, sel = 0;

	if (!idx)
		return;
	n = top_draw__listed(f, o, idx);
	for (size_t k = 0; k < n; k++)
		if (f->session_ids[idx[k]] == o->selected)
			sel = k;
	if (n) {
		if (dir < 0 && sel > 0)
			sel--;
		else if (dir > 0 && sel + 1 < n)
			sel++;
		o->selected = f->session_ids[idx[sel]];
	}
	free(idx);
}

int top_term__wait(struct top_frame *f, struct top_opts *o, struct top_term *t, uint64_t deadline_ns,
		   const sigset_t *waitmask)
{
	for (;;) {
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		struct timespec ts;
		bool redraw = false;
		uint64_t now_ns;
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
				term_keys(t);
			redraw = true;
		}
		if (winch_signal) {
			winch_signal = 0;
			redraw = true;
		}
		if (redraw && t->screen) {
			term_size(t);
			fputs("\033[2J", stdout);
			if (top_draw__frame(f, o, t))
				return -EIO;
		}
		now_ns = clock__mono_ns();
		if (now_ns >= deadline_ns)
			return 0;
		ts.tv_sec = (time_t)((deadline_ns - now_ns) / 1000000000u);
		ts.tv_nsec = (long)((deadline_ns - now_ns) % 1000000000u);
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
				int s = top_sort__from_key((unsigned char)keys[i]), moved = 0;

				if (keys[i] == 3 /* Ctrl-C without ISIG */)
					return 1;
				if (o->filtering) {
					size_t len = strlen(o->filter);

					if (keys[i] == '\r' || keys[i] == '\n' || keys[i] == 27)
						o->filtering = false;
					else if ((keys[i] == 127 || keys[i] == 8) && len)
						o->filter[len - 1] = '\0';
					else if ((unsigned char)keys[i] >= ' ' && keys[i] != 127 && len + 1 < sizeof(o->filter))
						o->filter[len] = keys[i], o->filter[len + 1] = '\0';
					if (top_draw__frame(f, o, t))
						return -EIO;
					continue;
				}
				/* the arrow keys: ESC [ A and ESC [ B */
				if (keys[i] == 27 && i + 2 < got && keys[i + 1] == '[' &&
				    (keys[i + 2] == 'A' || keys[i + 2] == 'B')) {
					moved = keys[i + 2] == 'A' ? -1 : 1;
					i += 2;
				} else if (keys[i] == 'j') {
					moved = 1;
				} else if (keys[i] == 'k') {
					moved = -1;
				}
				if (moved || keys[i] == 'x' || keys[i] == '/') {
					if (keys[i] == 'x')
						o->show_exited = !o->show_exited;
					if (keys[i] == '/') {
						o->filtering = true;
						o->filter[0] = '\0';
					}
					if (moved)
						select_next(f, o, moved);
					if (top_draw__frame(f, o, t))
						return -EIO;
					continue;
				}
				if (keys[i] == 'q' || keys[i] == 'Q')
					return 1;
				if (keys[i] == ' ')
					return 0;
				if (s >= 0 && (enum top_sort)s != o->sort) {
					o->sort = (enum top_sort)s;
					if (top_draw__frame(f, o, t))
						return -EIO;
				}
			}
		}
	}
}
