// SPDX-License-Identifier: LGPL-2.1-or-later
#include <math.h>
#include <stdlib.h>

#include "report.h"

void report__free(struct rtp_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_syscalls; i++)
		free(r->syscalls[i].errnos);
	free(r->syscalls);
	free(r->threads);
	free(r->targets);
	free(r->process.cpu_load_pct);
	free(r);
}

uint64_t hist__percentile(const uint64_t *slots, size_t n_slots, double q)
{
	uint64_t total = 0, seen = 0;
	double rank;

	for (size_t i = 0; i < n_slots; i++)
		total += slots[i];
	if (!total)
		return 0;
	if (q < 0)
		q = 0;
	if (q > 1)
		q = 1;
	rank = q * (double)total;
	for (size_t i = 0; i < n_slots; i++) {
		double lo, hi, frac;

		if (!slots[i])
			continue;
		if ((double)(seen + slots[i]) >= rank) {
			/* slot i holds [2^i, 2^(i+1)); slot 0 also holds 0 and 1 */
			lo = i ? ldexp(1.0, (int)i) : 0.0;
			hi = ldexp(1.0, (int)i + 1);
			frac = (rank - (double)seen) / (double)slots[i];
			return (uint64_t)(lo + frac * (hi - lo));
		}
		seen += slots[i];
	}
	return (uint64_t)ldexp(1.0, (int)n_slots);
}
