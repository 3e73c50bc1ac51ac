// SPDX-License-Identifier: LGPL-2.1-or-later
/* Reading ahead, on a thread of its own, what placing a program's runtime probes needs. `rtprof run` knows
 * the program before it starts, and the probes take ~0.1 s to load meanwhile: a node's runtime detection
 * and symbols (~45 ms here, at its entry point, while it waits) are then read in that time instead. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/rtmetrics.h"

struct engine_prefetch {
	pthread_t thread;
	char *path;
};

static void *prefetch_main(void *arg)
{
	struct engine_prefetch *pf = arg;

	rt_prefetch(pf->path);
	return NULL;
}

struct engine_prefetch *engine__prefetch(const char *path)
{
	struct engine_prefetch *pf;

	if (!path || !path[0])
		return NULL;
	pf = calloc(1, sizeof(*pf));
	if (!pf)
		return NULL;
	pf->path = strdup(path);
	if (!pf->path || pthread_create(&pf->thread, NULL, prefetch_main, pf)) {
		free(pf->path);
		free(pf);
		return NULL;
	}
	return pf;
}

void engine__prefetch_join(struct engine_prefetch *pf)
{
	if (!pf)
		return;
	pthread_join(pf->thread, NULL);
	free(pf->path);
	free(pf);
}
