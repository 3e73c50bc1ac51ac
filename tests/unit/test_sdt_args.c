// SPDX-License-Identifier: LGPL-2.1-or-later
/* SDT argument strings (from the stapsdt notes of an ELF file: outside input) as the cookies the
 * multi-uprobe USDT probes read (engine/uprobe_multi.c); the x86-64 forms gcc emits, and what is refused. */
#include <errno.h>
#include <stdint.h>

#include "check.h"
#include "engine/uprobe_multi.h"

#define KIND(c) ((c) & 3)
#define SIZE(c) (((c) >> 2) & 15)
#define SIGNED(c) (((c) >> 6) & 1)
#define REG(c) (((c) >> 8) & 0xff)
#define VALUE(c) ((int32_t)((c) >> 32))

static void test_forms(void)
{
#if defined(__x86_64__)
	uint64_t c = 0;

	/* python3.11's gc__start and gc__done, as readelf -n prints them */
	CHECK_EQ(usdt__arg_cookie("-4@112(%rsp)", 0, &c), 0);
	CHECK(KIND(c) == USDT_ARG_DEREF && SIZE(c) == 4 && SIGNED(c) && REG(c) == 152 && VALUE(c) == 112);
	CHECK_EQ(usdt__arg_cookie("-8@%r12", 0, &c), 0);
	CHECK(KIND(c) == USDT_ARG_REG && SIZE(c) == 8 && SIGNED(c) && REG(c) == 24);
	/* the second argument; sub-registers; a negative offset; a constant; no offset */
	CHECK_EQ(usdt__arg_cookie("8@%rbx 4@%edi", 1, &c), 0);
	CHECK(KIND(c) == USDT_ARG_REG && SIZE(c) == 4 && !SIGNED(c) && REG(c) == 112);
	CHECK_EQ(usdt__arg_cookie("-2@-20(%rbp)", 0, &c), 0);
	CHECK(KIND(c) == USDT_ARG_DEREF && SIZE(c) == 2 && REG(c) == 32 && VALUE(c) == -20);
	CHECK_EQ(usdt__arg_cookie("-4@$-5", 0, &c), 0);
	CHECK(KIND(c) == USDT_ARG_CONST && VALUE(c) == -5);
	CHECK_EQ(usdt__arg_cookie("1@(%r9)", 0, &c), 0);
	CHECK(KIND(c) == USDT_ARG_DEREF && SIZE(c) == 1 && REG(c) == 64 && VALUE(c) == 0);
	CHECK_EQ(usdt__arg_cookie("8@%rip", 0, &c), 0);
	CHECK(REG(c) == 128);

	/* refused: no such argument, sizes, unknown registers, indexed memory, junk, out-of-range offsets */
	CHECK_EQ(usdt__arg_cookie("-4@%eax", 1, &c), -ENOENT);
	CHECK_EQ(usdt__arg_cookie("", 0, &c), -ENOENT);
	CHECK_EQ(usdt__arg_cookie("3@%eax", 0, &c), -EINVAL);
	CHECK_EQ(usdt__arg_cookie("16@%eax", 0, &c), -EINVAL);
	CHECK_EQ(usdt__arg_cookie("0@%eax", 0, &c), -EINVAL);
	CHECK_EQ(usdt__arg_cookie("4@%xmm0", 0, &c), -EINVAL);
	CHECK_EQ(usdt__arg_cookie("4@8(%rax,%rbx,4)", 0, &c), -EINVAL);
	CHECK_EQ(usdt__arg_cookie("4@8(%rax", 0, &c), -EINVAL);
	CHECK_EQ(usdt__arg_cookie("4%eax", 0, &c), -EINVAL);
	CHECK_EQ(usdt__arg_cookie("x@%eax", 0, &c), -EINVAL);
	CHECK_EQ(usdt__arg_cookie("4@4294967296(%rax)", 0, &c), -EINVAL);
	CHECK_EQ(usdt__arg_cookie("4@$1x", 0, &c), -EINVAL);
	CHECK_EQ(usdt__arg_cookie("4@%", 0, &c), -EINVAL);
#endif
}

int main(void)
{
	test_forms();
	return check_summary();
}
