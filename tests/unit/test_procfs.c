// SPDX-License-Identifier: LGPL-2.1-or-later
/* procfs: the parsers on known /proc text (and every truncation of it, in exactly sized heap
 * buffers so that an over-read shows under ASan/valgrind), then the readers on this process. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "sys/procfs.h"

/* Real lines from a 6.x kernel, comm edited where noted. */
static const char STAT_CAT[] =
	"5889 (cat) R 5887 5887 2488 0 -1 4194304 100 0 0 0 7 3 0 0 20 0 1 0 66993 3133440 416 "
	"18446744073709551615 94816081481728 94816081501609 140733925573952 0 0 0 0 0 0 0 0 0 17 1 0 "
	"0 0 0 0 94816081517616 94816081519232 94816921210880 140733925579404 140733925579424 "
	"140733925579424 140733925580779 0\n";
static const char STAT_KTHREADD[] =
	"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 23 0 0 18446744073709551615 0 0 0 "
	"0 0 0 0 2147483647 0 1 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
/* prctl(PR_SET_NAME) accepts any bytes: spaces and parentheses included. */
static const char STAT_PARENS[] =
	"4242 ((a) b)) S 1 4242 4242 0 -1 4194560 10 0 0 0 123 45 0 0 20 -5 3 0 987654 1000 10 "
	"18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";
static const char STAT_TRICKY[] =
	"77 () ) R 9 ) Z 1 2 3 4 5) S 1 77 77 0 -1 64 0 0 0 0 1 2 0 0 20 0 1 0 5 0 0 0\n";

static const char STATUS_CAT[] =
	"Name:\tcat\nUmask:\t0022\nState:\tR (running)\nTgid:\t5890\nNgid:\t0\nPid:\t5890\n"
	"PPid:\t5887\nTracerPid:\t0\nUid:\t1000\t1001\t1002\t1003\nGid:\t7\t8\t0\t9\nFDSize:\t256\n"
	"Groups:\t \nNStgid:\t5890\nNSpid:\t5890\nNSpgid:\t5887\nNSsid:\t2488\nKthread:\t0\n"
	"VmPeak:\t    3060 kB\nVmSize:\t    3060 kB\nVmLck:\t       0 kB\nVmPin:\t       0 kB\n"
	"VmHWM:\t    1716 kB\nVmRSS:\t    1616 kB\nRssAnon:\t     112 kB\nRssFile:\t    1504 kB\n"
	"VmSwap:\t       0 kB\nCoreDumping:\t0\nThreads:\t4\nSigQ:\t0/96365\n"
	"SigPnd:\t0000000000000000\nCapPrm:\t000001FFfeffffff\nCapEff:\t0000000000000400\nCpus_allowed_list:\t0-1\n"
	"voluntary_ctxt_switches:\t17\nnonvoluntary_ctxt_switches:\t18446744073709551615\n";
static const char STATUS_KTHREADD[] =
	"Name:\tkthreadd\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t2\nPid:\t2\nPPid:\t0\n"
	"Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nKthread:\t1\nThreads:\t1\nSigQ:\t0/96365\n"
	"voluntary_ctxt_switches:\t1234\nnonvoluntary_ctxt_switches:\t56\n";
/* /proc/5891/status of the second thread of process 5890 */
static const char STATUS_THREAD[] =
	"Name:\tcat\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t5890\nNgid:\t0\nPid:\t5891\n"
	"PPid:\t5887\nUid:\t1000\t1000\t1000\t1000\nThreads:\t2\n"
	"voluntary_ctxt_switches:\t3\nnonvoluntary_ctxt_switches:\t0\n";

/* Parse from a heap copy of exactly len bytes: no NUL after it to lean on. */
static int parse_stat_exact(const char *text, size_t len, struct proc_stat *out)
{
	char *copy = malloc(len ? len : 1);
	int err;

	if (!copy)
		abort();
	memcpy(copy, text, len);
	err = procfs__parse_stat(copy, len, out);
	free(copy);
	return err;
}

static int parse_status_exact(const char *text, size_t len, struct proc_status *out)
{
	char *copy = malloc(len ? len : 1);
	int err;

	if (!copy)
		abort();
	memcpy(copy, text, len);
	err = procfs__parse_status(copy, len, out);
	free(copy);
	return err;
}

static void test_parse_stat_known(void)
{
	struct proc_stat st;

	CHECK_EQ(procfs__parse_stat(STAT_CAT, strlen(STAT_CAT), &st), 0);
	CHECK_EQ(st.pid, 5889);
	CHECK_STREQ(st.comm, "cat");
	CHECK_EQ(st.state, 'R');
	CHECK_EQ(st.ppid, 5887);
	CHECK_EQ(st.flags, 4194304);
	CHECK_EQ(st.utime_ticks, 7);
	CHECK_EQ(st.stime_ticks, 3);
	CHECK_EQ(st.num_threads, 1);
	CHECK_EQ(st.starttime_ticks, 66993);

	CHECK_EQ(procfs__parse_stat(STAT_KTHREADD, strlen(STAT_KTHREADD), &st), 0);
	CHECK_EQ(st.pid, 2);
	CHECK_STREQ(st.comm, "kthreadd");
	CHECK_EQ(st.ppid, 0);
	CHECK(st.flags & PF_KTHREAD_FLAG);
	CHECK_EQ(st.starttime_ticks, 23);

	CHECK_EQ(procfs__parse_stat(STAT_PARENS, strlen(STAT_PARENS), &st), 0);
	CHECK_EQ(st.pid, 4242);
	CHECK_STREQ(st.comm, "(a) b)");
	CHECK_EQ(st.state, 'S');
	CHECK_EQ(st.ppid, 1);
	CHECK_EQ(st.utime_ticks, 123);
	CHECK_EQ(st.stime_ticks, 45);
	CHECK_EQ(st.num_threads, 3);
	CHECK_EQ(st.starttime_ticks, 987654);

	/* A comm that itself looks like the start of the fields. */
	CHECK_EQ(procfs__parse_stat(STAT_TRICKY, strlen(STAT_TRICKY), &st), 0);
	CHECK_EQ(st.pid, 77);
	CHECK_STREQ(st.comm, ") ) R 9 ) Z 1 2");
	CHECK_EQ(st.state, 'S');
	CHECK_EQ(st.ppid, 1);
	CHECK_EQ(st.num_threads, 1);
	CHECK_EQ(st.starttime_ticks, 5);

	/* Without the trailing newline too. */
	CHECK_EQ(parse_stat_exact(STAT_CAT, strlen(STAT_CAT) - 1, &st), 0);
	CHECK_EQ(st.starttime_ticks, 66993);
}

static void test_parse_stat_comm_truncated(void)
{
	static const char line[] =
		"10 (abcdefghijklmnopqrstuvwxyz) S 1 10 10 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0\n";
	struct proc_stat st;

	CHECK_EQ(procfs__parse_stat(line, strlen(line), &st), 0);
	CHECK_STREQ(st.comm, "abcdefghijklmno");
	CHECK_EQ(strlen(st.comm), PROCFS_COMM_LEN - 1);
	CHECK_EQ(st.starttime_ticks, 99);
}

/* Every proper prefix that ends before the field after starttime is an error, and leaves out alone. */
static void test_parse_stat_truncated(void)
{
	const char *lines[] = { STAT_CAT, STAT_PARENS, STAT_TRICKY };
	size_t l;

	for (l = 0; l < sizeof(lines) / sizeof(lines[0]); l++) {
		const char *line = lines[l];
		const char *after_start = strstr(line, lines[l] == STAT_CAT ? " 66993 " :
						       lines[l] == STAT_PARENS ? " 987654 " : " 5 0 0 0");
		size_t cut = (size_t)(after_start - line) + strcspn(after_start + 1, " ") + 1;
		size_t len, bad_ok = 0, good_fail = 0;

		for (len = 0; len <= strlen(line); len++) {
			struct proc_stat st, before;
			int err;

			memset(&st, 0xa5, sizeof(st));
			before = st;
			err = parse_stat_exact(line, len, &st);
			if (len <= cut) {
				bad_ok += err != -EINVAL;
				CHECK(memcmp(&st, &before, sizeof(st)) == 0);
			} else {
				good_fail += err != 0;
			}
		}
		CHECK_EQ(bad_ok, 0);
		CHECK_EQ(good_fail, 0);
	}
}

static void test_parse_stat_garbage(void)
{
	static const char *bad[] = {
		"",
		" ",
		"\n",
		"garbage",
		"1234",
		"1234 ",
		"1234 (",
		"1234 (cat",
		"1234 cat) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20",
		"-5 (cat) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21\n",
		"0 (cat) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21\n",
		"abc (cat) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21\n",
		"1 (cat)R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21\n",
		"1 (cat)  1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21\n",
		"1 (cat) R x 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21\n",
		"1 (cat) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18\n",
		"1 (cat) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19",
		"1 (cat) R 1  2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21\n",
		"1 (cat) R 1 2 3 4 5 6 -7 8 9 10 11 12 13 14 15 16 17 18 19 20 21\n",
		"1 (cat) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 -17 18 19 20 21\n",
		"1 (cat) R 1 2 3 4 5 6 7 8 9 10 11 99999999999999999999 13 14 15 16 17 18 19 20 21\n",
		"1 (cat) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 1x 20 21\n",
		"99999999999 (cat) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21\n",
		"1 (cat) R 1 2 3 4 5 4294967296 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21\n",
	};
	static const char good[] = "1 (cat) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21\n";
	static const char with_nul[] = "1 (cat) R 1\0002 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20\n";
	struct proc_stat st;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int err = parse_stat_exact(bad[i], strlen(bad[i]), &st);

		if (err != -EINVAL)
			fprintf(stderr, "accepted bad stat line #%zu: %s\n", i, bad[i]);
		CHECK_EQ(err, -EINVAL);
	}
	/* The same fields well formed: the list above fails for the reason it shows. */
	CHECK_EQ(parse_stat_exact(good, sizeof(good) - 1, &st), 0);
	CHECK_EQ(st.num_threads, 17);
	CHECK_EQ(st.starttime_ticks, 19);
	/* The kernel ends no line right after starttime; a newline there is still a whole line. */
	CHECK_EQ(parse_stat_exact(good, strstr(good, " 20 21") - good, &st), -EINVAL);
	CHECK_EQ(parse_stat_exact("1 (c) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19\n", 56, &st), 0);
	/* A NUL byte is not the end of the text, nor a digit. */
	CHECK_EQ(parse_stat_exact(with_nul, sizeof(with_nul) - 1, &st), -EINVAL);
	CHECK_EQ(procfs__parse_stat(NULL, 0, &st), -EINVAL);
}

/* xorshift: the same "random" inputs on every run. */
static uint32_t next_rand(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

/* Mutated real text must give 0 or -EINVAL, never a crash or an over-read. */
static void test_parse_mutations(void)
{
	static const char alphabet[] = "0123456789 ()\n\t-:kBRSZ\0xVmHWM";
	const char *texts[] = { STAT_CAT, STAT_PARENS, STATUS_CAT, STATUS_KTHREADD };
	uint32_t seed = 0x12345678;
	size_t unexpected = 0;
	int round;

	for (round = 0; round < 20000; round++) {
		const char *text = texts[round % 4];
		size_t len = strlen(text), flips = 1 + next_rand(&seed) % 4, i;
		char *copy = malloc(len);
		struct proc_stat st;
		struct proc_status status;
		int err;

		if (!copy)
			abort();
		memcpy(copy, text, len);
		for (i = 0; i < flips; i++)
			copy[next_rand(&seed) % len] = alphabet[next_rand(&seed) % (sizeof(alphabet) - 1)];
		len -= next_rand(&seed) % 3 == 0 ? next_rand(&seed) % len : 0;
		err = round % 4 < 2 ? procfs__parse_stat(copy, len, &st) :
				      procfs__parse_status(copy, len, &status);
		unexpected += err != 0 && err != -EINVAL;
		free(copy);
	}
	CHECK_EQ(unexpected, 0);
}

static void test_parse_status_known(void)
{
	struct proc_status st;

	CHECK_EQ(procfs__parse_status(STATUS_CAT, strlen(STATUS_CAT), &st), 0);
	CHECK_EQ(st.tgid, 5890);
	CHECK_EQ(st.ruid, 1000);
	CHECK_EQ(st.euid, 1001);
	/* what the ptrace rule looks at: every uid and gid, and the permitted capabilities */
	CHECK(st.uids[0] == 1000 && st.uids[1] == 1001 && st.uids[2] == 1002 && st.uids[3] == 1003);
	CHECK(st.gids[0] == 7 && st.gids[1] == 8 && st.gids[2] == 0 && st.gids[3] == 9);
	CHECK(st.have_cap_prm && st.cap_prm == 0x000001fffeffffffull);
	CHECK_EQ(st.vm_hwm_kb, 1716);
	CHECK_EQ(st.vm_rss_kb, 1616);
	CHECK_EQ(st.threads, 4);
	CHECK_EQ(st.vol_switches, 17);
	CHECK(st.invol_switches == UINT64_MAX);

	CHECK_EQ(procfs__parse_status(STATUS_KTHREADD, strlen(STATUS_KTHREADD), &st), 0);
	CHECK_EQ(st.ruid, 0);
	CHECK_EQ(st.vm_hwm_kb, -1);
	CHECK_EQ(st.vm_rss_kb, -1);
	CHECK_EQ(st.threads, 1);
	CHECK_EQ(st.vol_switches, 1234);
	CHECK_EQ(st.invol_switches, 56);

	/* Last line without its newline. */
	CHECK_EQ(parse_status_exact(STATUS_KTHREADD, strlen(STATUS_KTHREADD) - 1, &st), 0);
	CHECK_EQ(st.invol_switches, 56);

	/* A thread's file: its process is Tgid, not Pid. */
	CHECK_EQ(procfs__parse_status(STATUS_THREAD, strlen(STATUS_THREAD), &st), 0);
	CHECK_EQ(st.tgid, 5890);
	CHECK_EQ(st.threads, 2);
}

static void test_parse_status_truncated(void)
{
	const char *texts[] = { STATUS_CAT, STATUS_KTHREADD };
	size_t t;

	for (t = 0; t < 2; t++) {
		const char *text = texts[t];
		/* Until the last line's value starts, a required key is missing. */
		size_t cut = (size_t)(strstr(text, "nonvoluntary_ctxt_switches:\t") - text) +
			     strlen("nonvoluntary_ctxt_switches:\t");
		size_t len, bad_ok = 0, good_fail = 0;

		for (len = 0; len <= strlen(text); len++) {
			struct proc_status st, before;
			int err;

			memset(&st, 0x5a, sizeof(st));
			before = st;
			err = parse_status_exact(text, len, &st);
			if (len <= cut) {
				bad_ok += err != -EINVAL;
				CHECK(memcmp(&st, &before, sizeof(st)) == 0);
			} else {
				good_fail += err != 0;
			}
		}
		CHECK_EQ(bad_ok, 0);
		CHECK_EQ(good_fail, 0);
	}
}

static void test_parse_status_garbage(void)
{
	static const char *bad[] = {
		"",
		"\n\n\n",
		"garbage",
		"Uid:\t0\t0\t0\t0\nvoluntary_ctxt_switches:\t1\nnonvoluntary_ctxt_switches:\t1\n",
		"Threads:\t1\nvoluntary_ctxt_switches:\t1\nnonvoluntary_ctxt_switches:\t1\n",
		"Uid:\tabc\t0\nThreads:\t1\nvoluntary_ctxt_switches:\t1\nnonvoluntary_ctxt_switches:\t1\n",
		"Uid:\t0\nThreads:\t1\nvoluntary_ctxt_switches:\t1\nnonvoluntary_ctxt_switches:\t1\n",
		"Uid:\t4294967296\t0\nThreads:\t1\nvoluntary_ctxt_switches:\t1\nnonvoluntary_ctxt_switches:\t1\n",
		"Uid:\t0\t0\nThreads:\t-1\nvoluntary_ctxt_switches:\t1\nnonvoluntary_ctxt_switches:\t1\n",
		"Uid:\t0\t0\nThreads:\t1 2\nvoluntary_ctxt_switches:\t1\nnonvoluntary_ctxt_switches:\t1\n",
		"Uid:\t0\t0\nThreads:\t1\nvoluntary_ctxt_switches:\t\nnonvoluntary_ctxt_switches:\t1\n",
		"Uid:\t0\t0\nThreads:\t1\nvoluntary_ctxt_switches:\t1\nnonvoluntary_ctxt_switches:\t99999999999999999999\n",
		"Uid:\t0\t0\nThreads:\t1\nVmHWM:\t12 MB\nvoluntary_ctxt_switches:\t1\nnonvoluntary_ctxt_switches:\t1\n",
		"Uid:\t0\t0\nThreads:\t1\nVmRSS:\t kB\nvoluntary_ctxt_switches:\t1\nnonvoluntary_ctxt_switches:\t1\n",
	};
	struct proc_status st;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int err = parse_status_exact(bad[i], strlen(bad[i]), &st);

		if (err != -EINVAL)
			fprintf(stderr, "accepted bad status #%zu: %s\n", i, bad[i]);
		CHECK_EQ(err, -EINVAL);
	}
	CHECK_EQ(procfs__parse_status(NULL, 0, &st), -EINVAL);
}

static void *sleeper(void *arg)
{
	int *fds = arg;
	char byte;

	/* Parked on a pipe until the main thread has read our /proc entries. */
	(void)!read(fds[0], &byte, 1);
	return NULL;
}

struct tid_report {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pid_t tid;
	int fds[2];
};

static void *report_tid(void *arg)
{
	struct tid_report *r = arg;

	pthread_mutex_lock(&r->lock);
	r->tid = (pid_t)syscall(SYS_gettid);
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return sleeper(r->fds);
}

static double process_cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_read_self(void)
{
	struct proc_stat st, st_before;
	struct proc_status status, status_before;
	long ticks = procfs__ticks_per_sec();
	volatile uint64_t sink = 0;
	double cpu;
	int i;

	CHECK_EQ(ticks, sysconf(_SC_CLK_TCK));

	/* A comm with spaces and parentheses, set by us: the kernel's own text must parse back to it. */
	CHECK_EQ(prctl(PR_SET_NAME, "t (a) b) c"), 0);
	CHECK_EQ(procfs__read_stat(getpid(), 0, &st), 0);
	CHECK_EQ(st.pid, getpid());
	CHECK_EQ(st.ppid, getppid());
	CHECK_STREQ(st.comm, "t (a) b) c");
	CHECK_EQ(st.state, 'R');
	CHECK_EQ(st.num_threads, 1);
	CHECK_EQ(st.flags & PF_KTHREAD_FLAG, 0);

	CHECK_EQ(procfs__read_status(getpid(), &status), 0);
	CHECK_EQ(status.ruid, getuid());
	CHECK_EQ(status.euid, geteuid());
	{
		uid_t r, e, sv;
		gid_t gr, ge, gs;

		CHECK_EQ(getresuid(&r, &e, &sv), 0);
		CHECK_EQ(getresgid(&gr, &ge, &gs), 0);
		CHECK(status.uids[0] == r && status.uids[1] == e && status.uids[2] == sv);
		CHECK(status.gids[0] == gr && status.gids[1] == ge && status.gids[2] == gs);
		CHECK(status.have_cap_prm);
	}
	CHECK_EQ(status.threads, 1);
	CHECK(status.vm_hwm_kb > 0);
	CHECK(status.vm_rss_kb > 0 && status.vm_rss_kb <= status.vm_hwm_kb);

	/* Each nanosleep blocks once: at least 5 more voluntary switches. */
	status_before = status;
	for (i = 0; i < 5; i++)
		usleep(2000);
	CHECK_EQ(procfs__read_status(getpid(), &status), 0);
	CHECK(status.vol_switches >= status_before.vol_switches + 5);

	/* utime + stime is the process's CPU time in ticks (cputime_adjust keeps the sum). */
	CHECK_EQ(procfs__read_stat(getpid(), 0, &st_before), 0);
	while (process_cpu_seconds() < 0.25)
		for (i = 0; i < 100000; i++)
			sink += (uint64_t)i * sink + 1;
	cpu = process_cpu_seconds();
	CHECK_EQ(procfs__read_stat(getpid(), 0, &st), 0);
	{
		double stat_cpu = (double)(st.utime_ticks + st.stime_ticks) / (double)ticks;

		if (!(stat_cpu > cpu - 3.0 / ticks && stat_cpu < cpu + 3.0 / ticks))
			fprintf(stderr, "stat cpu %.3f s, clock %.3f s\n", stat_cpu, cpu);
		CHECK(stat_cpu > cpu - 3.0 / ticks && stat_cpu < cpu + 3.0 / ticks);
	}
	CHECK_EQ(st.starttime_ticks, st_before.starttime_ticks);
}

static void test_read_thread(void)
{
	struct tid_report r = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, { -1, -1 } };
	struct proc_stat st;
	pthread_t thread;

	if (pipe(r.fds) != 0 || pthread_create(&thread, NULL, report_tid, &r) != 0) {
		CHECK(!"pipe/pthread_create");
		return;
	}
	pthread_mutex_lock(&r.lock);
	while (!r.tid)
		pthread_cond_wait(&r.cond, &r.lock);
	pthread_mutex_unlock(&r.lock);

	CHECK_EQ(procfs__read_stat(getpid(), r.tid, &st), 0);
	CHECK_EQ(st.pid, r.tid);
	CHECK_EQ(st.num_threads, 2);
	CHECK_EQ(procfs__read_stat(getpid(), 0, &st), 0);
	CHECK_EQ(st.num_threads, 2);
	CHECK_EQ(procfs__read_stat(getpid(), getpid(), &st), 0);
	CHECK_EQ(st.pid, getpid());

	(void)!write(r.fds[1], "x", 1);
	pthread_join(thread, NULL);
	close(r.fds[0]);
	close(r.fds[1]);
	/* A thread that has exited is gone from task/ -- shortly after pthread_join, which returns when the
	 * kernel clears the thread's tid (mm_release), before the thread is released. */
	{
		int gone = 0;

		for (int i = 0; i < 1000 && (gone = procfs__read_stat(getpid(), r.tid, &st)) != -ESRCH; i++)
			usleep(1000);
		CHECK_EQ(gone, -ESRCH);
	}
}

static void test_zombie_and_gone(void)
{
	struct proc_stat st;
	struct proc_status status;
	pid_t child = fork();
	int i;

	if (child < 0) {
		CHECK(!"fork");
		return;
	}
	if (child == 0)
		_exit(0);
	/* Not reaped: a zombie, whose mm is gone (no Vm* lines). */
	for (i = 0; i < 1000; i++) {
		if (procfs__read_stat(child, 0, &st) == 0 && st.state == 'Z')
			break;
		usleep(1000);
	}
	CHECK_EQ(st.state, 'Z');
	CHECK_EQ(st.ppid, getpid());
	CHECK_EQ(procfs__read_status(child, &status), 0);
	CHECK_EQ(status.vm_hwm_kb, -1);
	CHECK_EQ(status.vm_rss_kb, -1);

	CHECK_EQ(waitpid(child, NULL, 0), child);
	CHECK_EQ(procfs__read_stat(child, 0, &st), -ESRCH);
	CHECK_EQ(procfs__read_stat(child, child, &st), -ESRCH);
	CHECK_EQ(procfs__read_status(child, &status), -ESRCH);
	CHECK_EQ(procfs__read_stat(0, 0, &st), -EINVAL);
	CHECK_EQ(procfs__read_stat(-1, 0, &st), -EINVAL);
}

static void test_read_file(void)
{
	char small[8], buf[4096];
	ssize_t n;

	CHECK_EQ(procfs__read_file("/proc/self/stat", small, sizeof(small)), -EFBIG);
	CHECK_EQ(procfs__read_file("/nonexistent/file", buf, sizeof(buf)), -ENOENT);
	CHECK_EQ(procfs__read_file("/proc/self/stat", buf, 0), -EINVAL);
	n = procfs__read_file("/proc/self/stat", buf, sizeof(buf));
	CHECK(n > 0 && (size_t)n == strlen(buf));
	CHECK(n > 0 && buf[n - 1] == '\n');
	/* "Linux\n": 6 bytes fit in 7 exactly (not "too big"), not in 6. */
	CHECK_EQ(procfs__read_file("/proc/sys/kernel/ostype", small, 7), 6);
	CHECK_STREQ(small, "Linux\n");
	CHECK_EQ(procfs__read_file("/proc/sys/kernel/ostype", small, 6), -EFBIG);
}

static void test_schedstat(void)
{
	static const char *bad[] = { "", "1", "1 2", "1 2 3", "1 2 3 ", "a 2 3\n", "1  2 3\n", "-1 2 3\n",
				     "99999999999999999999 2 3\n", "1 2 x\n" };
	struct proc_schedstat ss = { 7, 7, 7 };
	const char *ok = "301557891 2231109 70\n";
	char *exact;

	CHECK_EQ(procfs__parse_schedstat(ok, strlen(ok), &ss), 0);
	CHECK_EQ(ss.oncpu_ns, 301557891);
	CHECK_EQ(ss.runq_wait_ns, 2231109);
	CHECK_EQ(ss.timeslices, 70);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ss = (struct proc_schedstat){ 7, 7, 7 };
		/* an exactly sized copy, so that reading past the end would show under ASan/valgrind */
		exact = malloc(strlen(bad[i]) + 1);
		memcpy(exact, bad[i], strlen(bad[i]) + 1);
		CHECK_EQ(procfs__parse_schedstat(exact, strlen(exact), &ss), -EINVAL);
		CHECK_EQ(ss.oncpu_ns, 7); /* untouched on failure */
		free(exact);
	}
	/* this thread has run: its schedstat counts some CPU time */
	CHECK_EQ(procfs__read_schedstat(getpid(), getpid(), &ss), 0);
	CHECK(ss.oncpu_ns > 0);
	CHECK_EQ(procfs__read_schedstat(getpid(), 0, &ss), -EINVAL);
}

/* /proc/PID/maps lines as the kernel prints them: a file, a replaced file, an anonymous mapping, junk. */
static void test_parse_maps_line(void)
{
	char file[] = "7f3a1c000000-7f3a1c021000 r-xp 00002000 fe:01 1837465                    /usr/lib/libpython3.11.so.1.0\n";
	char gone[] = "55d0c8e00000-55d0c9000000 r--p 00000000 08:02 42 /opt/node/bin/node (deleted)\n";
	char anon[] = "7ffd5a5e4000-7ffd5a605000 rw-p 00000000 00:00 0                          [stack]\n";
	char bare[] = "7f0000000000-7f0000001000 ---p 00000000 00:00 0 \n";
	char junk[] = "not a mapping\n";
	struct proc_mapping m;

	CHECK_EQ(procfs__parse_maps_line(file, &m), 0);
	CHECK_EQ(m.start, 0x7f3a1c000000ull);
	CHECK_EQ(m.end, 0x7f3a1c021000ull);
	CHECK_EQ(m.pgoff, 0x2000);
	CHECK_EQ(m.dev_major, 0xfe);
	CHECK_EQ(m.dev_minor, 1);
	CHECK_EQ(m.inode, 1837465);
	CHECK_STREQ(m.perms, "r-xp");
	CHECK_STREQ(m.path, "/usr/lib/libpython3.11.so.1.0");
	CHECK_EQ(m.deleted, false);

	CHECK_EQ(procfs__parse_maps_line(gone, &m), 0);
	CHECK_STREQ(m.path, "/opt/node/bin/node");
	CHECK_EQ(m.deleted, true);
	CHECK_EQ(m.dev_major, 8);
	CHECK_EQ(m.inode, 42);

	CHECK_EQ(procfs__parse_maps_line(anon, &m), 0);
	CHECK_STREQ(m.path, "[stack]");
	CHECK_EQ(m.deleted, false);
	CHECK_EQ(procfs__parse_maps_line(bare, &m), 0);
	CHECK_STREQ(m.path, "");
	CHECK_EQ(procfs__parse_maps_line(junk, &m), -EINVAL);
}

/* This process's own maps: its executable is mapped, and the walk stops at the callback's word. */
static int count_exe(const struct proc_mapping *m, void *ctx)
{
	const char *exe = ((const char **)ctx)[0];

	if (strcmp(m->path, exe) == 0)
		(*(int *)((void **)ctx)[1])++;
	return 0;
}

static int stop_at_first(const struct proc_mapping *m, void *ctx)
{
	(*(int *)ctx)++;
	return 7;
}

static void test_maps_each_self(void)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int found = 0, calls = 0;
	void *ctx[2] = { exe, &found };

	CHECK(n > 0);
	exe[n > 0 ? n : 0] = '\0';
	CHECK_EQ(procfs__maps_each(getpid(), count_exe, ctx), 0);
	CHECK(found >= 1);
	CHECK_EQ(procfs__maps_each(getpid(), stop_at_first, &calls), 7);
	CHECK_EQ(calls, 1);
	CHECK_EQ(procfs__maps_each(INT_MAX, stop_at_first, &calls), -ESRCH);
}

int main(void)
{
	test_parse_stat_known();
	test_parse_stat_comm_truncated();
	test_parse_stat_truncated();
	test_parse_stat_garbage();
	test_parse_status_known();
	test_parse_status_truncated();
	test_parse_status_garbage();
	test_parse_mutations();
	test_read_self();
	test_read_thread();
	test_zombie_and_gone();
	test_read_file();
	test_schedstat();
	test_parse_maps_line();
	test_maps_each_self();
	return check_summary();
}
