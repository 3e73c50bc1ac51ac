// SPDX-License-Identifier: LGPL-2.1-or-later
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

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

size_t utf8_sanitize(const char *in, char *out, size_t size)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0;

	if (!size)
		return 0;
	while (*s) {
		size_t n = *s < 0x80 ? 1 : (*s & 0xe0) == 0xc0 ? 2 : (*s & 0xf0) == 0xe0 ? 3 : (*s & 0xf8) == 0xf0 ? 4 : 0;
		bool ok = n > 0 && !(n == 2 && *s < 0xc2) && !(n == 4 && *s > 0xf4);

		for (size_t i = 1; ok && i < n; i++)
			ok = (s[i] & 0xc0) == 0x80;
		/* overlong 3- and 4-byte forms, and UTF-16 surrogates, are not UTF-8 either */
		if (ok && n == 3 && ((*s == 0xe0 && s[1] < 0xa0) || (*s == 0xed && s[1] >= 0xa0)))
			ok = false;
		if (ok && n == 4 && ((*s == 0xf0 && s[1] < 0x90) || (*s == 0xf4 && s[1] >= 0x90)))
			ok = false;
		if (!ok) {
			if (o + 3 >= size)
				break;
			memcpy(out + o, "\xef\xbf\xbd", 3); /* U+FFFD */
			o += 3;
			s++;
			continue;
		}
		if (o + n >= size)
			break;
		memcpy(out + o, s, n);
		o += n;
		s += n;
	}
	out[o] = '\0';
	return o;
}
