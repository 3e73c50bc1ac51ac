// SPDX-License-Identifier: LGPL-2.1-or-later
/* rtprofd's configuration file: the limits and the fractions of them a user and root's reserve get. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "rtprofd/config.h"

static int parse(const char *text, struct rtprofd_config *c)
{
	char err[256];

	config__defaults(c);
	return config__parse(text, strlen(text), c, err, sizeof(err));
}

static void test_defaults(void)
{
	struct rtprofd_config c;

	CHECK_EQ(parse("", &c), 0);
	CHECK_EQ(c.max_clients, 256);
	CHECK_EQ(c.max_sessions, 64);
	CHECK_EQ(c.max_recordings, 4);
	CHECK_EQ(c.max_threads, 16384);
	CHECK_EQ(c.max_trace_buffer, 32u << 20);
	CHECK_EQ(c.user_share.num, 1);
	CHECK_EQ(c.user_share.den, 4);
	CHECK_EQ(c.root_reserve.num, 1);
	CHECK_EQ(c.root_reserve.den, 8);
}

static void test_limits(void)
{
	struct rtprofd_config c;

	CHECK_EQ(parse("max_clients = 8\nmax_sessions = 8\nmax_recordings = 2\nmax_threads = 1024\n"
		       "max_trace_buffer = 1048576\nuser_share = 50%\nroot_reserve = 1/3\n", &c), 0);
	CHECK_EQ(c.max_clients, 8);
	CHECK_EQ(c.max_sessions, 8);
	CHECK_EQ(c.max_recordings, 2);
	CHECK_EQ(c.max_threads, 1024);
	CHECK_EQ(c.max_trace_buffer, 1u << 20);
	CHECK_EQ(c.user_share.num, 50);
	CHECK_EQ(c.user_share.den, 100);
	CHECK_EQ(c.root_reserve.num, 1);
	CHECK_EQ(c.root_reserve.den, 3);
	CHECK_EQ(parse("user_share = 1/1\n", &c), 0); /* a user may have all of each limit but root's reserve */

	/* out of range, not a power of two, a reserve of everything, not a fraction */
	CHECK_EQ(parse("max_clients = 0\n", &c), -EINVAL);
	CHECK_EQ(parse("max_sessions = 253\n", &c), -EINVAL); /* 256 share slots, 4 held ready for watch mode */
	CHECK_EQ(parse("max_sessions = 252\n", &c), 0);
	CHECK_EQ(parse("max_sessions = 1\n", &c), -EINVAL);
	CHECK_EQ(parse("max_threads = -1\n", &c), -EINVAL);
	CHECK_EQ(parse("max_trace_buffer = 1000000\n", &c), -EINVAL);
	CHECK_EQ(parse("max_trace_buffer = 2048\n", &c), -EINVAL);
	CHECK_EQ(parse("root_reserve = 1/1\n", &c), -EINVAL);
	CHECK_EQ(parse("root_reserve = 100%\n", &c), -EINVAL);
	CHECK_EQ(parse("user_share = 3/2\n", &c), -EINVAL);
	CHECK_EQ(parse("user_share = 1/0\n", &c), -EINVAL);
	CHECK_EQ(parse("user_share = 101%\n", &c), -EINVAL);
	CHECK_EQ(parse("user_share = 0.25\n", &c), -EINVAL);
	CHECK_EQ(parse("user_share = /4\n", &c), -EINVAL);
	CHECK_EQ(parse("user_share = %\n", &c), -EINVAL);
}

static void test_sample_hz(void)
{
	struct rtprofd_config c;

	CHECK_EQ(parse("", &c), 0);
	CHECK_EQ(c.watch_sample_hz, 0); /* watched processes' stacks: off unless asked */
	CHECK_EQ(parse("sample_hz = 19\n", &c), 0);
	CHECK_EQ(c.watch_sample_hz, 19);
	CHECK_EQ(parse("sample_hz = 0\n", &c), 0);
	CHECK_EQ(c.watch_sample_hz, 0);
	CHECK_EQ(parse("sample_hz = 1001\n", &c), -EINVAL);
	CHECK_EQ(parse("sample_hz = -1\n", &c), -EINVAL);
	CHECK_EQ(parse("sample_hz = fast\n", &c), -EINVAL);
}

static void test_push(void)
{
	struct rtprofd_config c;

	CHECK_EQ(parse("", &c), 0);
	CHECK_STREQ(c.push, "");
	CHECK_EQ(c.push_interval_s, 15);
	CHECK_EQ(parse("push = http://127.0.0.1:4040\npush_interval = 60\n", &c), 0);
	CHECK_STREQ(c.push, "http://127.0.0.1:4040");
	CHECK_EQ(c.push_interval_s, 60);
	CHECK_EQ(parse("push = off\n", &c), 0);
	CHECK_STREQ(c.push, "");
	CHECK_EQ(parse("push = ftp://host/\n", &c), -EINVAL);
	CHECK_EQ(parse("push_interval = 0\n", &c), -EINVAL);
	CHECK_EQ(parse("push_interval = 3601\n", &c), -EINVAL);
}

int main(void)
{
	test_defaults();
	test_limits();
	test_sample_hz();
	test_push();
	return check_summary();
}
