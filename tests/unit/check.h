/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Minimal assertions for the unit tests: count, report file:line, keep going.
 * Each test's main() ends with `return check_summary();`. */
#ifndef RTPROF_TEST_CHECK_H
#define RTPROF_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static unsigned int check_passed, check_failed;

#define CHECK(cond)                                                                    \
	do {                                                                           \
		if (cond) {                                                            \
			check_passed++;                                                \
		} else {                                                               \
			check_failed++;                                                \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
		}                                                                      \
	} while (0)

/* Integers of any type, compared and printed as long long. */
#define CHECK_EQ(actual, expected)                                                     \
	do {                                                                           \
		long long check_a_ = (long long)(actual), check_e_ = (long long)(expected); \
		if (check_a_ == check_e_) {                                            \
			check_passed++;                                                \
		} else {                                                               \
			check_failed++;                                                \
			fprintf(stderr, "%s:%d: CHECK_EQ(%s, %s) failed: %lld != %lld\n",  \
				__FILE__, __LINE__, #actual, #expected, check_a_, check_e_); \
		}                                                                      \
	} while (0)

/* Strings; NULL compares equal only to NULL. */
#define CHECK_STREQ(actual, expected)                                                  \
	do {                                                                           \
		const char *check_a_ = (actual), *check_e_ = (expected);               \
		if ((!check_a_ && !check_e_) ||                                        \
		    (check_a_ && check_e_ && strcmp(check_a_, check_e_) == 0)) {       \
			check_passed++;                                                \
		} else {                                                               \
			check_failed++;                                                \
			fprintf(stderr, "%s:%d: CHECK_STREQ(%s, %s) failed: \"%s\" != \"%s\"\n", \
				__FILE__, __LINE__, #actual, #expected,                \
				check_a_ ? check_a_ : "(null)", check_e_ ? check_e_ : "(null)"); \
		}                                                                      \
	} while (0)

static inline int check_summary(void)
{
	printf("%u passed, %u failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}

#endif
