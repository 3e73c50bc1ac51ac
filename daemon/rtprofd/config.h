/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* rtprofd's configuration file: `key = value` lines, `#` comments (docs/rtprofd.8.scd, packaging/rtprofd.conf). */
#ifndef RTPROF_CONFIG_H
#define RTPROF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define WATCH_PYTHON 0x1
#define WATCH_NODE 0x2
/* Session slots held ready for watched processes, in which the probes put them at their exec (the engine
 * has that many sessions more than max_sessions) */
#define WATCH_ARMED 4

struct rtprofd_config {
	char socket[108];
	char group[64];
	unsigned int watch;       /* WATCH_* */
	unsigned int retention_s; /* how long a watched process is kept after it exits */
	unsigned int window_s;    /* a watched process's rolling window */
	unsigned int watch_sample_hz; /* Python stacks of watched processes, on-CPU samples a second; 0: none */
	char metrics[64];         /* ADDR:PORT, or "" */
	char push[512];           /* watched processes' stacks pushed there (a Pyroscope /ingest URL), or "" */
	unsigned int push_interval_s;
	/* Limits, read at start (rtprofd(8), LIMITS). Each is global; a user other than root holds at most
	 * user_share of it (at least 1), and never takes the last root_reserve of it (at least 1). */
	unsigned int max_clients;      /* connections */
	unsigned int max_sessions;     /* the engine's session slots: clients' sessions and watched processes */
	unsigned int max_recordings;   /* recordings at once */
	unsigned int max_threads;      /* threads traced over all sessions */
	unsigned int max_trace_buffer; /* the largest trace ring buffer a recording gets, in bytes */
	struct config_fraction {
		unsigned int num, den;
	} user_share, root_reserve;
};

/* The rate of `--stacks`: lower than a client's default, for always-on use. */
#define CONFIG_WATCH_SAMPLE_HZ 19
#define CONFIG_MAX_SAMPLE_HZ 1000

/* Defaults of the limits. */
#define CONFIG_MAX_CLIENTS 256
#define CONFIG_MAX_SESSIONS 64
#define CONFIG_MAX_RECORDINGS 4
#define CONFIG_MAX_TRACE_BUFFER (32u << 20)

/* The defaults: the standard socket, group rtprof, no watching, 300 s retention, 60 s window, no metrics;
 * the limits above, the engine's thread table, a user's share 1/4 and root's reserve 1/8. */
void config__defaults(struct rtprofd_config *c);
/* Parse text over *c (keys not given keep their values). 0, or -EINVAL with "line N: ..." in err. */
int config__parse(const char *text, size_t len, struct rtprofd_config *c, char *err, size_t errlen);
/* Read and parse a file; -ENOENT if it does not exist. */
int config__load(const char *path, struct rtprofd_config *c, char *err, size_t errlen);
/* "python,node" -> WATCH_* mask; -EINVAL for an unknown name. */
int config__parse_watch(const char *list, unsigned int *mask);

#endif
