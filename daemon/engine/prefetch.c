// SPDX-License-Identifier: LGPL-2.1-or-later
/* Reading ahead, on a thread of its own, what placing a program's runtime probes needs. `rtprof run` knows
 * the program before it starts, and the probes take ~0.1 s to load meanwhile: a node's runtime detection
 * and symbols (~45 ms here, at its entry point, while it waits) are then read in that time instead. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/pystacks.h"
#include "engine/rtmetrics.h"
#include "sys/v8obj.h"

struct engine_prefetch {
	pthread_t thread;
	char *path;
	bool stacks;
	bool v8_readable;
};

static void *prefetch_main(void *arg)
{
	struct engine_prefetch *pf = arg;
	struct v8_layout l;
	char why[160];

	rt_prefetch(pf->path);
	/* a node (20: ~40 ms) whose JavaScript functions the stack walker reads from V8's objects */
	if (pf->stacks)
		pf->v8_readable = v8obj__layout(pf->path, NULL, &l, why, sizeof(why)) == 0;
	return NULL;
}

struct engine_prefetch *engine__prefetch(const char *path, bool stacks)
{
	struct engine_prefetch *pf;

	if (!path || !path[0])
		return NULL;
	pf = calloc(1, sizeof(*pf));
	if (!pf)
		return NULL;
	pf->path = strdup(path);
	pf->stacks = stacks;
	if (!pf->path || pthread_create(&pf->thread, NULL, prefetch_main, pf)) {
		free(pf->path);
		free(pf);
		return NULL;
	}
	return pf;
}

bool engine__prefetch_join(struct engine_prefetch *pf)
{
	bool v8_readable;

	if (!pf)
		return false;
	pthread_join(pf->thread, NULL);
	v8_readable = pf->v8_readable;
	free(pf->path);
	free(pf);
	return v8_readable;
}

void engine__stacks_prefetch(pid_t pid, const struct rtp_runtime_info *rt)
{
	pystacks__prefetch(pid, rt);
}
