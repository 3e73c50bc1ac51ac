/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one growable-array helper: `vec__reserve(&arr, &cap, need)` makes room for `need` elements of
 * arr's type, doubling from a first capacity of 8. 0 or -ENOMEM; on failure arr and cap are untouched. */
#ifndef RTPROF_VEC_H
#define RTPROF_VEC_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

static inline int vec__reserve_raw(void **arr, size_t *cap, size_t need, size_t elem_size)
{
	size_t n = *cap ? *cap : 8;
	void *p;

	if (need <= *cap)
		return 0;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return -ENOMEM;
		n *= 2;
	}
	if (n > SIZE_MAX / elem_size)
		return -ENOMEM;
	p = realloc(*arr, n * elem_size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = n;
	return 0;
}

#define vec__reserve(arrp, capp, need) vec__reserve_raw((void **)(arrp), (capp), (need), sizeof(**(arrp)))

/* Room for one more after `len` elements: `if (vec__grow(&a, &cap, n) < 0) ...; a[n++] = x;` */
#define vec__grow(arrp, capp, len) vec__reserve((arrp), (capp), (size_t)(len) + 1)

#endif
