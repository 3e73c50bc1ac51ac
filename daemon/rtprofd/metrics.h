/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* rtprofd --metrics ADDR:PORT: the sessions' aggregates in the Prometheus text exposition format, served
 * by libmicrohttpd from rtprofd's own epoll loop (so no lock is needed around the engine). */
#ifndef RTPROF_METRICS_H
#define RTPROF_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/engine.h"
#include "rtprofd/server.h"

struct metrics;

/* spec: "PORT", "ADDR:PORT" or "[ADDR6]:PORT"; a bare port listens on 127.0.0.1 only. */
int metrics__start(const char *spec, struct server *srv, struct engine *e, struct metrics **out, char *err,
		   size_t errlen);
/* The fd to add to the caller's epoll; call metrics__run when it is readable (and on every turn). */
int metrics__fd(const struct metrics *m);
void metrics__run(struct metrics *m);
/* Periodic work (every turn of the loop): close the connections past their deadline (NULL: none). */
void metrics__tick(struct metrics *m);
/* How soon metrics__tick is due: while connections are open, within a tenth of a second; else -1. */
int metrics__poll_ms(const struct metrics *m);
void metrics__stop(struct metrics *m);

/* The exposition text (NUL-terminated, malloc'd) of everything the server's sessions measured: by process,
 * and also by thread when per_thread (/metrics?threads=1), and latency histograms by syscall when
 * per_syscall (/metrics?syscalls=1). */
char *metrics__render(struct server *srv, struct engine *e, bool per_thread, bool per_syscall, size_t *len);

#endif
