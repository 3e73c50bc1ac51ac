// SPDX-License-Identifier: LGPL-2.1-or-later
/* libbpf's messages, through the one print hook the CLI or rtprofd set. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "engine/engine.h"
#include "engine/log.h"

static engine_log_fn log_fn;
static bool log_verbose;
static _Thread_local int log_quiet; /* libbpf prints on the thread that called it */

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char msg[1024];
	const char *m = msg;

	if (!log_fn || ((level == LIBBPF_DEBUG || level == LIBBPF_INFO || log_quiet) && !log_verbose))
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (!strncmp(m, "libbpf: ", 8))
		m += 8; /* the hook says where it comes from */
	log_fn(m);
	return 0;
}

void engine__set_log(engine_log_fn fn, bool verbose)
{
	log_fn = fn;
	log_verbose = verbose;
	libbpf_set_print(libbpf_print);
}

void engine_log_quiet(bool quiet)
{
	log_quiet += quiet ? 1 : -1;
}
