// SPDX-License-Identifier: LGPL-2.1-or-later
#include "model/runtime_info.h"

const char *runtime__kind_name(enum rtp_runtime_kind kind)
{
	switch (kind) {
	case RTP_RUNTIME_PYTHON:
		return "python";
	case RTP_RUNTIME_NODE:
		return "node";
	default:
		return "other";
	}
}
