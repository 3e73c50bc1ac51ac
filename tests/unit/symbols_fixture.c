// SPDX-License-Identifier: LGPL-2.1-or-later
/* The program test_symbols resolves: built with -g, then split by objcopy (tests/unit/CMakeLists.txt)
 * into a stripped copy with a .gnu_debuglink and its separate debug file. It has local and global
 * functions and objects, a C++-style mangled name for prefix queries, and one SystemTap SDT probe with a
 * semaphore whose note is written with a wrong base on purpose, so that the .stapsdt.base adjustment is
 * what makes its address right. With an argument it prints "ready" and waits to be killed. */
#include <stdio.h>
#include <unistd.h>

/* The probe's semaphore: tools increment it to enable the probe. */
unsigned short fixture_sema __attribute__((section(".probes"), used));

int fixture_object[4] = { 1, 2, 3, 4 };
static volatile int fixture_local_object[8] = { 5 };

static __attribute__((noinline, used)) int fixture_local_func(int x)
{
	fixture_local_object[x & 7] += x;
	return fixture_local_object[0];
}

__attribute__((noinline)) int fixture_global_func(int x)
{
	return fixture_local_func(x) * 2 + fixture_object[x & 3];
}

/* What a C++ compiler calls fixture::Thing::method(int). */
__attribute__((noinline)) int _ZN7fixture5Thing6methodEi(int x)
{
	return x + 1;
}

/* Address-taken: the compiler keeps the functions under their own names, not only clones. */
int (*volatile fixture_calls[])(int) = { fixture_local_func, fixture_global_func, _ZN7fixture5Thing6methodEi };

#ifdef __LP64__
#define SDT_ADDR ".8byte"
#else
#define SDT_ADDR ".4byte"
#endif

/* As <sys/sdt.h>'s STAP_PROBE1(rtprof, probe1, x) with a semaphore, but the note's pc, base and semaphore
 * are all 16 past the real ones: as after prelink moved the file's sections but not its (unallocated)
 * notes, which the base difference undoes (the SDT spec; GDB adjusts pc and semaphore alike).
 * fixture_probe_pc marks the probe's real address for the test. */
static __attribute__((noinline, used)) void fixture_probe(int x)
{
	__asm__ __volatile__(".globl fixture_probe_pc\n"
			     ".type fixture_probe_pc, %%function\n"
			     "fixture_probe_pc:\n"
			     "990: nop\n"
			     ".pushsection .note.stapsdt,\"\",%%note\n"
			     ".balign 4\n"
			     ".4byte 992f-991f, 994f-993f, 3\n"
			     "991: .asciz \"stapsdt\"\n"
			     "992: .balign 4\n"
			     "993: " SDT_ADDR " 990b + 16\n"
			     SDT_ADDR " _.stapsdt.base + 16\n"
			     SDT_ADDR " fixture_sema + 16\n"
			     ".asciz \"rtprof\"\n"
			     ".asciz \"probe1\"\n"
			     ".asciz \"-4@%0\"\n"
			     "994: .balign 4\n"
			     ".popsection\n"
			     ".ifndef _.stapsdt.base\n"
			     ".pushsection .stapsdt.base,\"aG\",%%progbits,.stapsdt.base,comdat\n"
			     ".weak _.stapsdt.base\n"
			     ".hidden _.stapsdt.base\n"
			     "_.stapsdt.base: .space 1\n"
			     ".size _.stapsdt.base, 1\n"
			     ".popsection\n"
			     ".endif\n"
			     :
			     : "r"(x));
}

int main(int argc, char **argv)
{
	int i, sum = 0;

	for (i = 0; i < 3; i++)
		sum += fixture_calls[i](argc);
	fixture_probe(sum);
	if (argc > 1) {
		printf("ready %s\n", argv[1]);
		fflush(stdout);
		for (;;)
			pause();
	}
	return 0;
}
