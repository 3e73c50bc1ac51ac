/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The engine's side of libbpf's print hook. Not part of the engine's API. */
#ifndef RTPROF_ENGINE_LOG_H
#define RTPROF_ENGINE_LOG_H

#include <stdbool.h>

/* While quiet (calls nest), libbpf's warnings are not printed unless verbose: runtime probes' failures (a
 * process that exits meanwhile, a missing symbol) go into the report's `unavailable`, not to the terminal. */
void engine_log_quiet(bool quiet);

#endif
