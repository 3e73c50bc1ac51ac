/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one clock helper: every timestamp of the engine, the trace and the CLI is CLOCK_MONOTONIC in ns. */
#ifndef RTPROF_CLOCK_H
#define RTPROF_CLOCK_H

#include <stdint.h>
#include <time.h>

/* clock_id's time in ns (CLOCK_MONOTONIC, CLOCK_REALTIME...). */
static inline uint64_t clock__ns(clockid_t clock_id)
{
	struct timespec ts;

	clock_gettime(clock_id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* CLOCK_MONOTONIC in ns: the time base of the probes (bpf_ktime_get_ns) and of every record. */
static inline uint64_t clock__mono_ns(void)
{
	return clock__ns(CLOCK_MONOTONIC);
}

#endif
