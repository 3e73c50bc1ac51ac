// SPDX-License-Identifier: LGPL-2.1-or-later
/* Report rows built from aggregated figures: shared by the live report (aggregate.c) and the trace's
 * (trace_report.c). Apart from report.c, which the parsers' fuzz targets link without the syscall table. */
#include <stdio.h>
#include <string.h>

#include "report.h"
#include "syscall_names.h"

void report__syscall_fill(struct rtp_report_syscall *sc, unsigned int nr, const struct rtp_sys_stats *v)
{
	const char *name = syscall__name(nr);

	sc->nr = nr;
	sc->count = v->count;
	sc->errors = v->errors;
	sc->timed = v->timed;
	sc->total_ns = v->total_ns;
	if (v->timed && v->timed < v->count) /* bursts were sampled: scale the measured total */
		sc->total_ns = (uint64_t)((double)v->total_ns * (double)v->count / (double)v->timed);
	sc->max_ns = v->max_ns;
	sc->trace_lost = v->trace_lost;
	memcpy(sc->hist, v->hist, sizeof(sc->hist));
	if (name)
		snprintf(sc->name, sizeof(sc->name), "%s", name);
	else
		snprintf(sc->name, sizeof(sc->name), "syscall_%u", nr);
	/* log2 slots are wide: keep the estimates within what was seen */
	sc->p50_ns = hist__percentile(sc->hist, RTP_HIST_SLOTS, 0.50);
	sc->p99_ns = hist__percentile(sc->hist, RTP_HIST_SLOTS, 0.99);
	if (sc->p99_ns > sc->max_ns)
		sc->p99_ns = sc->max_ns;
	if (sc->p50_ns > sc->p99_ns)
		sc->p50_ns = sc->p99_ns;
}
