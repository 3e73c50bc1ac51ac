// SPDX-License-Identifier: LGPL-2.1-or-later
/* Multi-uprobe links (Linux 6.6) through the bpf syscall, which Debian's libbpf 1.1 has no API for, and
 * the USDT argument specs their programs read from the link's cookies (uprobe_multi.h). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include "engine/uprobe_multi.h"

/* union bpf_attr's link_create for a multi-uprobe link, which this build's headers may lack */
#define RTP_BPF_TRACE_UPROBE_MULTI 48
#define RTP_BPF_F_UPROBE_MULTI_RETURN 1u
struct rtp_uprobe_multi_attr {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__u64 path;
	__u64 offsets;
	__u64 ref_ctr_offsets;
	__u64 cookies;
	__u32 cnt;
	__u32 um_flags;
	__u32 pid;
	__u32 pad;
};

int uprobe_multi__attach_type(void)
{
	return RTP_BPF_TRACE_UPROBE_MULTI;
}

bool uprobe_multi__wanted(void)
{
	const char *off = getenv("RTPROF_NO_UPROBE_MULTI");
	struct utsname u;
	unsigned int major = 0, minor = 0;

	if (off && *off && strcmp(off, "0"))
		return false;
	if (uname(&u) || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return false;
	return major > 6 || (major == 6 && minor >= 6);
}

int uprobe_multi__link(int prog_fd, pid_t pid, const char *path, const uint64_t *offsets, const uint64_t *cookies,
		       const uint64_t *ref_ctr_offsets, unsigned int cnt, bool ret)
{
	struct rtp_uprobe_multi_attr a = {
		.prog_fd = (__u32)prog_fd,
		.attach_type = RTP_BPF_TRACE_UPROBE_MULTI,
		.path = (__u64)(uintptr_t)path,
		.offsets = (__u64)(uintptr_t)offsets,
		.ref_ctr_offsets = (__u64)(uintptr_t)ref_ctr_offsets,
		.cookies = (__u64)(uintptr_t)cookies,
		.cnt = cnt,
		.um_flags = ret ? RTP_BPF_F_UPROBE_MULTI_RETURN : 0,
		.pid = (__u32)pid,
	};
	int fd = (int)syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof(a));

	return fd < 0 ? -errno : fd;
}

#if defined(__x86_64__)
/* x86-64's registers by every name an SDT argument may give them, at their offset in struct pt_regs */
static const struct {
	const char *names[5];
	unsigned int off;
} regs[] = {
	{ { "r15", "r15d", "r15w", "r15b" }, 0 },   { { "r14", "r14d", "r14w", "r14b" }, 8 },
	{ { "r13", "r13d", "r13w", "r13b" }, 16 },  { { "r12", "r12d", "r12w", "r12b" }, 24 },
	{ { "rbp", "ebp", "bp", "bpl" }, 32 },      { { "rbx", "ebx", "bx", "bl", "bh" }, 40 },
	{ { "r11", "r11d", "r11w", "r11b" }, 48 },  { { "r10", "r10d", "r10w", "r10b" }, 56 },
	{ { "r9", "r9d", "r9w", "r9b" }, 64 },      { { "r8", "r8d", "r8w", "r8b" }, 72 },
	{ { "rax", "eax", "ax", "al", "ah" }, 80 }, { { "rcx", "ecx", "cx", "cl", "ch" }, 88 },
	{ { "rdx", "edx", "dx", "dl", "dh" }, 96 }, { { "rsi", "esi", "si", "sil" }, 104 },
	{ { "rdi", "edi", "di", "dil" }, 112 },     { { "rip", "eip", "ip" }, 128 },
	{ { "rsp", "esp", "sp", "spl" }, 152 },
};

static int reg_offset(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		for (size_t j = 0; j < 5 && regs[i].names[j]; j++)
			if (strlen(regs[i].names[j]) == len && !strncmp(regs[i].names[j], name, len))
				return (int)regs[i].off;
	return -1;
}

/* "%reg" at p, up to end: its pt_regs offset, or -1 */
static int take_reg(const char *p, const char *end)
{
	return p < end && *p == '%' ? reg_offset(p + 1, (size_t)(end - p - 1)) : -1;
}

int usdt__arg_cookie(const char *args, unsigned int index, uint64_t *cookie)
{
	const char *p = args, *end, *at;
	long long size, value = 0;
	unsigned int type;
	int reg = 0;
	char *num_end;

	for (unsigned int i = 0; i < index && p; i++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || !*p)
		return -ENOENT;
	end = strchr(p, ' ');
	end = end ? end : p + strlen(p);
	at = memchr(p, '@', (size_t)(end - p));
	if (!at)
		return -EINVAL;
	size = strtoll(p, &num_end, 10);
	if (num_end != at || size == 0 || llabs(size) > 8 || (llabs(size) & (llabs(size) - 1)))
		return -EINVAL;
	at++;
	if (*at == '$') { /* a constant */
		type = USDT_ARG_CONST;
		value = strtoll(at + 1, &num_end, 10);
		if (num_end != end)
			return -EINVAL;
	} else if (*at == '%') { /* a register */
		type = USDT_ARG_REG;
		reg = take_reg(at, end);
	} else { /* OFF(%reg): memory at a register plus an offset */
		const char *open = memchr(at, '(', (size_t)(end - at));

		type = USDT_ARG_DEREF;
		if (!open || end[-1] != ')')
			return -EINVAL;
		if (open > at) {
			value = strtoll(at, &num_end, 10);
			if (num_end != open)
				return -EINVAL;
		}
		reg = take_reg(open + 1, end - 1);
	}
	if (reg < 0 || value < INT32_MIN || value > INT32_MAX)
		return -EINVAL;
	*cookie = (uint64_t)type | (uint64_t)llabs(size) << 2 | (uint64_t)(size < 0) << 6 | (uint64_t)reg << 8 |
		  (uint64_t)(uint32_t)(int32_t)value << 32;
	return 0;
}
#else
int usdt__arg_cookie(const char *args, unsigned int index, uint64_t *cookie)
{
	(void)args;
	(void)index;
	(void)cookie;
	return -ENOTSUP;
}
#endif
