// SPDX-License-Identifier: LGPL-2.1-or-later
/* What the export formats share: the names of syscalls and runtime intervals. */
#include <stdio.h>

#include "export.h"
#include "rtprof_abi.h"
#include "sys/syscall_names.h"

const char *export__syscall_name(uint32_t nr, char *buf, size_t len)
{
	const char *name = syscall__name(nr);

	if (name)
		return name;
	snprintf(buf, len, "syscall_%u", nr);
	return buf;
}

const char *export__runtime_name(uint32_t kind, uint32_t arg, char *buf, size_t len)
{
	static const char *const tp[] = { "fs", "work", "dns", "random" };

	switch (kind) {
	case RTP_TRK_GIL_WAIT: return "GIL wait";
	case RTP_TRK_GIL_HOLD: return "GIL held";
	case RTP_TRK_GC: snprintf(buf, len, "GC %u", arg); return buf;
	case RTP_TRK_LOOP_BUSY: return "event loop busy";
	case RTP_TRK_TP_TASK: snprintf(buf, len, "threadpool %s", arg < 4 ? tp[arg] : "?"); return buf;
	default: snprintf(buf, len, "runtime %u", kind); return buf;
	}
}
