// SPDX-License-Identifier: LGPL-2.1-or-later
/* The accounting rules the probes and trace replay share (bpf/accounting.h), driven by synthetic event
 * sequences whose figures are known in advance; and a trace replayed with the recording machine's
 * syscall numbers from its header. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "accounting.h"
#include "check.h"
#include "trace/replay.h"
#include "trace/trace.h"

/* floor(log2(v)) by repeated halving, clamped: the reference for rtp_hist_slot */
static __u32 slot_reference(__u64 v)
{
	__u32 r = 0;

	while (v > 1 && r < RTP_HIST_SLOTS - 1) {
		v >>= 1;
		r++;
	}
	return r;
}

static void test_hist_slot(void)
{
	CHECK_EQ(rtp_hist_slot(0), 0);
	CHECK_EQ(rtp_hist_slot(1), 0);
	CHECK_EQ(rtp_hist_slot(2), 1);
	CHECK_EQ(rtp_hist_slot(3), 1);
	CHECK_EQ(rtp_hist_slot(4), 2);
	CHECK_EQ(rtp_hist_slot(1023), 9);
	CHECK_EQ(rtp_hist_slot(1024), 10);
	CHECK_EQ(rtp_hist_slot((1ull << 32) - 1), 31);
	CHECK_EQ(rtp_hist_slot(1ull << 32), 32);
	CHECK_EQ(rtp_hist_slot((1ull << 39) - 1), 38);
	CHECK_EQ(rtp_hist_slot(1ull << 39), RTP_HIST_SLOTS - 1);
	CHECK_EQ(rtp_hist_slot(1ull << 40), RTP_HIST_SLOTS - 1);
	CHECK_EQ(rtp_hist_slot(~0ull), RTP_HIST_SLOTS - 1);
	/* every power of two and its neighbours */
	for (unsigned int k = 1; k < 64; k++) {
		__u64 p = 1ull << k;
		unsigned int bad = 0;

		bad += rtp_hist_slot(p - 1) != slot_reference(p - 1);
		bad += rtp_hist_slot(p) != slot_reference(p);
		bad += rtp_hist_slot(p + 1) != slot_reference(p + 1);
		CHECK_EQ(bad, 0);
	}
}

static void test_off_state(void)
{
	CHECK_EQ(rtp_off_state(false, RTP_TASK_RUNNING), RTP_OFF_RUNNABLE);
	CHECK_EQ(rtp_off_state(true, RTP_TASK_INTERRUPTIBLE), RTP_OFF_RUNNABLE); /* preempted while going to sleep */
	CHECK_EQ(rtp_off_state(false, RTP_TASK_INTERRUPTIBLE), RTP_OFF_SLEEPING);
	CHECK_EQ(rtp_off_state(false, RTP_TASK_UNINTERRUPTIBLE), RTP_OFF_BLOCKED);
	/* TASK_IDLE: uninterruptible without load, a sleep */
	CHECK_EQ(rtp_off_state(false, RTP_TASK_UNINTERRUPTIBLE | RTP_TASK_NOLOAD), RTP_OFF_SLEEPING);
	CHECK_EQ(rtp_off_state(false, RTP_TASK_DEAD), RTP_OFF_DEAD);
	CHECK_EQ(rtp_off_state(false, 0x100 /* TASK_WAKEKILL alone */), RTP_OFF_SLEEPING);
}

/* Preemption: an involuntary switch; the run-queue wait runs from the switch-out to the next switch-in. */
static void test_preemption(void)
{
	struct rtp_sched_acct s = {};
	__u64 wait = 0;

	CHECK(!rtp_acct_switch_in(&s, 100, &wait)); /* first sight: no wait known */
	CHECK(rtp_acct_running(&s));
	CHECK_EQ(rtp_acct_switch_out(&s, true, RTP_TASK_RUNNING, 300), 200);
	CHECK(!rtp_acct_running(&s));
	CHECK_EQ(s.invol_switches, 1);
	CHECK_EQ(s.vol_switches, 0);
	/* a wakeup of a runnable thread does not restart its wait */
	rtp_acct_wakeup(&s, 350);
	CHECK(rtp_acct_switch_in(&s, 450, &wait));
	CHECK_EQ(wait, 150);
	CHECK_EQ(rtp_hist_slot(wait), 7);
	CHECK_EQ(s.runq_wait_ns, 150);
	CHECK_EQ(s.oncpu_ns, 200);
	CHECK_EQ(s.sleep_ns + s.block_ns, 0);
}

/* Voluntary sleep: from the switch-out to the wakeup; then a run-queue wait from the wakeup. */
static void test_sleep_then_wakeup(void)
{
	struct rtp_sched_acct s = {};
	__u64 wait = 0, sleep_ns, block_ns;

	(void)rtp_acct_switch_in(&s, 1000, &wait);
	CHECK_EQ(rtp_acct_switch_out(&s, false, RTP_TASK_INTERRUPTIBLE, 1500), 500);
	CHECK_EQ(s.vol_switches, 1);
	CHECK_EQ(s.invol_switches, 0);
	/* still asleep at a report's end */
	rtp_acct_off_totals(&s, 2000, false, &sleep_ns, &block_ns);
	CHECK_EQ(sleep_ns, 500);
	CHECK_EQ(block_ns, 0);
	CHECK(!rtp_acct_running(&s));
	rtp_acct_wakeup(&s, 2500);
	CHECK_EQ(s.sleep_ns, 1000);
	CHECK(rtp_acct_switch_in(&s, 2600, &wait));
	CHECK_EQ(wait, 100);
	CHECK_EQ(s.runq_wait_ns, 100);
	/* running at the end: nothing open */
	rtp_acct_off_totals(&s, 9000, false, &sleep_ns, &block_ns);
	CHECK_EQ(sleep_ns, 1000);
	CHECK_EQ(block_ns, 0);
}

/* Blocked I/O: an uninterruptible wait is blocked time, not sleep. */
static void test_blocked_io(void)
{
	struct rtp_sched_acct s = {};
	__u64 wait = 0, sleep_ns, block_ns;

	(void)rtp_acct_switch_in(&s, 10, &wait);
	(void)rtp_acct_switch_out(&s, false, RTP_TASK_UNINTERRUPTIBLE, 20);
	CHECK_EQ(s.off_state, RTP_OFF_BLOCKED);
	rtp_acct_off_totals(&s, 50, false, &sleep_ns, &block_ns);
	CHECK_EQ(block_ns, 30);
	CHECK_EQ(sleep_ns, 0);
	rtp_acct_wakeup(&s, 70);
	CHECK_EQ(s.block_ns, 50);
	CHECK_EQ(s.sleep_ns, 0);
	CHECK(rtp_acct_switch_in(&s, 75, &wait));
	CHECK_EQ(wait, 5);
	/* TASK_IDLE (a kernel thread's idle wait) is a sleep */
	(void)rtp_acct_switch_out(&s, false, RTP_TASK_UNINTERRUPTIBLE | RTP_TASK_NOLOAD, 100);
	rtp_acct_wakeup(&s, 130);
	CHECK_EQ(s.sleep_ns, 30);
	CHECK_EQ(s.block_ns, 50);
	CHECK_EQ(s.vol_switches, 2);
}

static void test_migration(void)
{
	struct rtp_sched_acct s = {};

	rtp_acct_migrate(&s);
	rtp_acct_migrate(&s);
	CHECK_EQ(s.migrations, 2);
	CHECK_EQ(s.vol_switches + s.invol_switches, 0);
}

/* A switch-in missing from the records: the next switch-out knows no run time, and the wait that began at
 * the wakeup is replaced by the one beginning at that switch-out. */
static void test_missing_switch_in(void)
{
	struct rtp_sched_acct s = {};
	__u64 wait = 0;

	/* first event a switch-out: no switch-in seen, no run time */
	CHECK_EQ(rtp_acct_switch_out(&s, false, RTP_TASK_INTERRUPTIBLE, 100), 0);
	rtp_acct_wakeup(&s, 200);
	CHECK_EQ(s.sleep_ns, 100);
	/* (switch-in lost) */
	CHECK_EQ(rtp_acct_switch_out(&s, true, RTP_TASK_RUNNING, 500), 0);
	CHECK_EQ(s.oncpu_ns, 0);
	CHECK_EQ(s.invol_switches, 1);
	CHECK(rtp_acct_switch_in(&s, 600, &wait));
	CHECK_EQ(wait, 100);
	CHECK_EQ(s.runq_wait_ns, 100);
}

/* Records of a trace are in order per CPU only: an interval that would end before it began is not counted. */
static void test_out_of_order(void)
{
	struct rtp_sched_acct s = {};
	__u64 wait = 0;

	(void)rtp_acct_switch_out(&s, false, RTP_TASK_INTERRUPTIBLE, 1000);
	rtp_acct_wakeup(&s, 990); /* the wakeup's CPU stamped it before the switch-out's */
	CHECK_EQ(s.sleep_ns, 0);
	CHECK(!rtp_acct_switch_in(&s, 980, &wait));
	CHECK_EQ(s.runq_wait_ns, 0);
	CHECK_EQ(rtp_acct_switch_out(&s, true, RTP_TASK_RUNNING, 970), 0);
	CHECK_EQ(s.oncpu_ns, 0);
}

/* A thread's end: its last switch-out (TASK_DEAD) is voluntary and no sleep, with or without its exit seen. */
static void test_thread_exit(void)
{
	struct rtp_sched_acct s = {};
	__u64 wait = 0, sleep_ns, block_ns;

	(void)rtp_acct_switch_in(&s, 100, &wait);
	CHECK_EQ(rtp_acct_switch_out(&s, false, RTP_TASK_DEAD, 400), 300);
	CHECK_EQ(s.vol_switches, 1);
	CHECK_EQ(s.off_state, RTP_OFF_DEAD);
	rtp_acct_off_totals(&s, 1000, false, &sleep_ns, &block_ns);
	CHECK_EQ(sleep_ns + block_ns, 0);
	/* a thread that exited while asleep (its exit seen): nothing open either */
	memset(&s, 0, sizeof(s));
	(void)rtp_acct_switch_out(&s, false, RTP_TASK_INTERRUPTIBLE, 100);
	rtp_acct_off_totals(&s, 1000, true, &sleep_ns, &block_ns);
	CHECK_EQ(sleep_ns, 0);
	rtp_acct_off_totals(&s, 1000, false, &sleep_ns, &block_ns);
	CHECK_EQ(sleep_ns, 900);
}

static void test_syscalls(void)
{
	struct rtp_sys_stats st = {};
	const struct rtp_sysnrs x86_64 = { .futex = 202, .epoll_wait = 232, .epoll_pwait = 281, .epoll_pwait2 = 441 };
	const struct rtp_sysnrs arm64 = { .futex = 98, .epoll_wait = RTP_NR_NONE, .epoll_pwait = 22,
					  .epoll_pwait2 = 441 };

	CHECK(rtp_sys_failed(-1));
	CHECK(rtp_sys_failed(-4095));
	CHECK(!rtp_sys_failed(-4096));
	CHECK(!rtp_sys_failed(0));
	CHECK(!rtp_sys_failed(3));
	rtp_sys_timed(&st, 1000);
	rtp_sys_timed(&st, 3000);
	CHECK_EQ(st.timed, 2);
	CHECK_EQ(st.total_ns, 4000);
	CHECK_EQ(st.max_ns, 3000);
	CHECK_EQ(st.hist[9], 1);
	CHECK_EQ(st.hist[11], 1);
	CHECK_EQ(st.count, 0); /* the caller's */

	CHECK(rtp_sys_is_epoll_wait(&x86_64, 232));
	CHECK(rtp_sys_is_epoll_wait(&x86_64, 281));
	CHECK(rtp_sys_is_epoll_wait(&x86_64, 441));
	CHECK(!rtp_sys_is_epoll_wait(&x86_64, 22));
	CHECK(!rtp_sys_is_epoll_wait(&x86_64, 202));
	CHECK(rtp_sys_is_epoll_wait(&arm64, 22));
	CHECK(!rtp_sys_is_epoll_wait(&arm64, 232));
	CHECK(!rtp_sys_is_epoll_wait(&arm64, 281));

	/* the GIL: a futex wait (with or without the private and clock flags) inside [lo, hi) */
	CHECK(rtp_futex_is_gil_wait(0 /* FUTEX_WAIT */, 0x1000, 0x1000, 0x2000));
	CHECK(rtp_futex_is_gil_wait(0x80 /* FUTEX_WAIT_PRIVATE */, 0x1ff8, 0x1000, 0x2000));
	CHECK(rtp_futex_is_gil_wait(9 | 0x80 | 0x100 /* WAIT_BITSET, private, realtime */, 0x1800, 0x1000, 0x2000));
	CHECK(!rtp_futex_is_gil_wait(1 /* FUTEX_WAKE */, 0x1800, 0x1000, 0x2000));
	CHECK(!rtp_futex_is_gil_wait(0x81 /* FUTEX_WAKE_PRIVATE */, 0x1800, 0x1000, 0x2000));
	CHECK(!rtp_futex_is_gil_wait(0, 0x2000, 0x1000, 0x2000));
	CHECK(!rtp_futex_is_gil_wait(0, 0xfff, 0x1000, 0x2000));
}

/* ---- traces ---- */

struct bytes {
	unsigned char p[4096];
	size_t len;
};

static void put_varint(struct bytes *b, uint64_t v)
{
	do {
		b->p[b->len++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
}

static void put_str(struct bytes *b, const char *s)
{
	put_varint(b, strlen(s));
	memcpy(b->p + b->len, s, strlen(s));
	b->len += strlen(s);
}

/* A trace whose header was written before it carried syscall numbers: one gzip member, no records. */
static int write_old_trace(const char *path)
{
	struct bytes plain = { .len = 0 }, packed = { .len = 0 };
	z_stream z = {};
	FILE *f;
	int ok;

	memcpy(plain.p, "RTPBH", 5);
	plain.len = 5;
	put_varint(&plain, 0); /* sequence */
	put_varint(&plain, 2); /* format version */
	put_str(&plain, "0.1.0");
	put_str(&plain, "host");
	put_str(&plain, "6.1.0");
	put_str(&plain, "aarch64");
	put_varint(&plain, 1);    /* CLOCK_MONOTONIC */
	put_varint(&plain, 0);    /* realtime offset */
	put_varint(&plain, 2);    /* ncpus */
	put_str(&plain, "run");
	put_varint(&plain, 100);  /* target pid */
	put_str(&plain, "node x.js");
	put_varint(&plain, 1000); /* start_ns */
	if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	z.next_in = plain.p;
	z.avail_in = (uInt)plain.len;
	z.next_out = packed.p;
	z.avail_out = sizeof(packed.p);
	ok = deflate(&z, Z_FINISH) == Z_STREAM_END;
	packed.len = sizeof(packed.p) - z.avail_out;
	deflateEnd(&z);
	f = fopen(path, "wb");
	if (!ok || !f || fwrite(packed.p, 1, packed.len, f) != packed.len) {
		if (f)
			fclose(f);
		return -1;
	}
	return fclose(f);
}

static void test_header_sysnrs(void)
{
	char path[] = "/tmp/rtprof-test-accounting-XXXXXX";
	const struct rtp_sysnrs native = rtp_sysnrs_native();
	struct trace_reader *rd = NULL;
	struct trace_writer *w = NULL;
	const struct trace_header *h;
	struct trace_header hdr;
	char err[256];
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	close(fd);

	/* an older trace: this build's numbers */
	CHECK_EQ(write_old_trace(path), 0);
	CHECK_EQ(trace_reader__open(path, &rd, err, sizeof(err)), 0);
	if (rd) {
		h = trace_reader__header(rd);
		CHECK(!h->have_sysnrs);
		CHECK_EQ(h->sysnrs.futex, native.futex);
		CHECK_EQ(h->sysnrs.epoll_pwait, native.epoll_pwait);
		CHECK_EQ(h->start_ns, 1000);
		CHECK_STREQ(h->machine, "aarch64");
		trace_reader__free(rd);
		rd = NULL;
	}

	/* a trace that carries them: the recording machine's, a call it lacks included */
	trace_header__init(&hdr, 1000, 2, "run", 100, "node x.js");
	CHECK(hdr.have_sysnrs);
	CHECK_EQ(hdr.sysnrs.epoll_pwait, native.epoll_pwait);
	hdr.sysnrs = (struct rtp_sysnrs){ .futex = 98, .epoll_wait = RTP_NR_NONE, .epoll_pwait = 22, .epoll_pwait2 = 441 };
	CHECK_EQ(trace_writer__open(path, 1, &hdr, &w), 0);
	if (w)
		CHECK_EQ(trace_writer__close(w, &(struct trace_footer){ .end_ns = 2000 }), 0);
	CHECK_EQ(trace_reader__open(path, &rd, err, sizeof(err)), 0);
	if (rd) {
		h = trace_reader__header(rd);
		CHECK(h->have_sysnrs);
		CHECK_EQ(h->sysnrs.futex, 98);
		CHECK_EQ(h->sysnrs.epoll_wait, RTP_NR_NONE);
		CHECK_EQ(h->sysnrs.epoll_pwait, 22);
		CHECK_EQ(h->sysnrs.epoll_pwait2, 441);
		trace_reader__free(rd);
	}
	unlink(path);
}

static void rec_switch(struct trace_writer *w, uint64_t ts, uint32_t prev, uint32_t next, uint32_t state,
		       uint32_t preempt, uint64_t prev_oncpu)
{
	struct trace_rec r = { .type = RTP_TR_SWITCH };

	r.sw = (struct rtp_tr_switch){ .type = RTP_TR_SWITCH, .ts_ns = ts, .prev_tid = prev, .next_tid = next,
				       .prev_state = state, .preempt = preempt, .prev_oncpu_ns = prev_oncpu };
	CHECK_EQ(trace_writer__write(w, &r), 0);
}

static void rec_wakeup(struct trace_writer *w, uint32_t type, uint64_t ts, uint32_t tid)
{
	struct trace_rec r = { .type = type };

	r.wk = (struct rtp_tr_wakeup){ .type = type, .ts_ns = ts, .tid = tid, .target_cpu = 1 };
	CHECK_EQ(trace_writer__write(w, &r), 0);
}

static void rec_syscall(struct trace_writer *w, uint64_t ts, uint32_t tid, uint32_t nr, uint64_t dur, int64_t ret)
{
	struct trace_rec r = { .type = RTP_TR_SYSCALL };

	r.sys = (struct rtp_tr_syscall){ .type = RTP_TR_SYSCALL, .ts_ns = ts, .tid = tid, .nr = nr, .dur_ns = dur,
					 .ret = ret };
	CHECK_EQ(trace_writer__write(w, &r), 0);
}

/* A trace at path (a mkstemp template) of a "run" of pid 100 on 2 CPUs, begun at 1000 ns: its writer, NULL
 * after a failed check. nrs: the recording machine's syscall numbers, NULL for this machine's. */
static struct trace_writer *trace_open(char *path, const char *cmdline, const struct rtp_sysnrs *nrs)
{
	struct trace_writer *w = NULL;
	struct trace_header hdr;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	if (fd < 0)
		return NULL;
	close(fd);
	trace_header__init(&hdr, 1000, 2, "run", 100, cmdline);
	if (nrs)
		hdr.sysnrs = *nrs;
	CHECK_EQ(trace_writer__open(path, 1, &hdr, &w), 0);
	if (!w)
		unlink(path);
	return w;
}

/* The trace closed at end_ns (the command exited) and replayed without a warning: its report, NULL after a
 * failed check. */
static struct rtp_report *trace_replay(struct trace_writer *w, const char *path, uint64_t end_ns)
{
	struct rtp_report *rep = NULL;
	char warning[256] = "", err[256];

	CHECK_EQ(trace_writer__close(w, &(struct trace_footer){ .end_ns = end_ns, .exit_status = 0,
							     .process_source = "rusage", .stop_reason = "exit" }), 0);
	CHECK_EQ(report__from_trace(path, &rep, warning, sizeof(warning), err, sizeof(err)), 0);
	CHECK_STREQ(warning, "");
	return rep;
}

/* A node process recorded on an arm64 machine, replayed here: its event loop's epoll waits are found by
 * the numbers in the header (epoll_pwait is 22 there; 281 is execveat), the switches by the shared rules. */
static void test_replay(void)
{
	char path[] = "/tmp/rtprof-test-accounting-XXXXXX";
	const struct rtp_sysnrs arm64 = { .futex = 98, .epoll_wait = RTP_NR_NONE, .epoll_pwait = 22,
					  .epoll_pwait2 = 441 };
	struct trace_writer *w = trace_open(path, "node x.js", &arm64);
	struct rtp_report *rep;
	struct trace_rec r;

	if (!w)
		return;
	memset(&r, 0, sizeof(r));
	r.type = TRACE_PROC;
	r.proc = (struct trace_proc){ .pid = 100, .runtime_kind = RTP_RUNTIME_NODE, .ts_ns = 1000, .comm = "node" };
	CHECK_EQ(trace_writer__write(w, &r), 0);
	memset(&r, 0, sizeof(r));
	r.type = TRACE_THREAD_BASE;
	/* spawned for the recording: the kernel counted 1 voluntary switch (its wait for the go-ahead) and 3
	 * preemptions before the base */
	r.th = (struct trace_thread_acct){ .tid = 100, .tgid = 100, .ts_ns = 1000, .vol_switches = 1,
					   .invol_switches = 3, .comm = "node" };
	CHECK_EQ(trace_writer__write(w, &r), 0);
	memset(&r, 0, sizeof(r));
	r.type = TRACE_RUNTIME;
	r.rtm.pid = 100;
	r.rtm.runtime_kind = RTP_RUNTIME_NODE;
	r.rtm.ts_ns = 1000;
	snprintf(r.rtm.loop_method, sizeof(r.rtm.loop_method), "epoll");
	CHECK_EQ(trace_writer__write(w, &r), 0);

	rec_switch(w, 2000, 0, 100, 0, 0, 0);                   /* in */
	rec_syscall(w, 3000, 100, 22, 5000, 0);                 /* epoll_pwait there: idle */
	rec_syscall(w, 8500, 100, 281, 700, -2);                /* execveat there, failed: not idle */
	rec_switch(w, 10000, 100, 0, RTP_TASK_INTERRUPTIBLE, 0, 8000); /* sleeps */
	rec_wakeup(w, RTP_TR_WAKEUP, 15000, 100);
	rec_switch(w, 15500, 0, 100, 0, 0, 0);                  /* runq 500 */
	rec_wakeup(w, RTP_TR_MIGRATE, 16000, 100);
	rec_switch(w, 20000, 100, 0, RTP_TASK_RUNNING, 1, 12500); /* preempted */
	rec_switch(w, 20300, 0, 100, 0, 0, 0);                  /* runq 300 */
	rec_switch(w, 21000, 100, 0, RTP_TASK_UNINTERRUPTIBLE, 0, 13200); /* blocks */
	rec_wakeup(w, RTP_TR_WAKEUP, 23000, 100);
	/* its switch-in is missing */
	rec_switch(w, 24000, 100, 0, RTP_TASK_RUNNING, 1, 14000); /* preempted */
	rec_switch(w, 24100, 0, 100, 0, 0, 0);                  /* runq 100 */
	rep = trace_replay(w, path, 30000);
	if (rep) {
		const struct rtp_report_thread *t = rep->n_threads == 1 ? &rep->threads[0] : NULL;

		CHECK(t != NULL);
		if (t) {
			CHECK_EQ(t->tid, 100);
			CHECK_EQ(t->vol_switches, 1 + 2);
			CHECK_EQ(t->invol_switches, 3 + 2);
			CHECK_EQ(t->sleep_ns, 5000);
			CHECK_EQ(t->block_ns, 2000);
			CHECK_EQ(t->migrations, 1);
			CHECK_EQ(t->oncpu_ns, 14000); /* the kernel's accounting, from the thread base */
		}
		CHECK_EQ(rep->runq_hist[8], 2); /* 500 and 300 ns */
		CHECK_EQ(rep->runq_hist[6], 1); /* 100 ns */
		CHECK_EQ(rep->n_syscalls, 2);
		CHECK_EQ(rep->n_runtimes, 1);
		if (rep->n_runtimes == 1) {
			CHECK_EQ(rep->runtimes[0].loop_tid, 100);
			CHECK_EQ(rep->runtimes[0].loop_idle_ns, 5000);
		}
		for (size_t i = 0; i < rep->n_syscalls; i++) {
			const struct rtp_report_syscall *sc = &rep->syscalls[i];

			CHECK_EQ(sc->count, 1);
			CHECK_EQ(sc->errors, sc->nr == 281 ? 1 : 0);
		}
		report__free(rep);
	}
	unlink(path);
}

/* A thread born under tracing whose first switches were read before its birth record: the record comes
 * through the events ring, its switches through the trace ring, and the file holds them in the order they were
 * read. Its CPU time and run-queue wait still count from its birth, its wait for the first switch-in included,
 * as the probes counted them live. */
static void test_born_after_its_switches(void)
{
	char path[] = "/tmp/rtprof-test-accounting-XXXXXX";
	struct trace_writer *w = trace_open(path, "python3 x.py", NULL);
	struct rtp_report *rep;
	struct trace_rec r;

	if (!w)
		return;
	memset(&r, 0, sizeof(r));
	r.type = TRACE_THREAD_BASE;
	r.th = (struct trace_thread_acct){ .tid = 100, .tgid = 100, .ts_ns = 1000, .comm = "python3" };
	CHECK_EQ(trace_writer__write(w, &r), 0);
	rec_wakeup(w, RTP_TR_WAKEUP, 1200, 101); /* wake_up_new_task */
	memset(&r, 0, sizeof(r));
	r.type = RTP_TR_SWITCH;
	r.sw = (struct rtp_tr_switch){ .type = RTP_TR_SWITCH, .cpu = 1, .ts_ns = 2000, .prev_tid = 0, .next_tid = 101 };
	CHECK_EQ(trace_writer__write(w, &r), 0);
	/* preempted after 3000 ns on CPU 1; the kernel has 800 ns of run-queue wait for it, its first */
	r.sw = (struct rtp_tr_switch){ .type = RTP_TR_SWITCH, .cpu = 1, .ts_ns = 5000, .prev_tid = 101, .next_tid = 0,
				       .prev_state = RTP_TASK_RUNNING, .preempt = 1, .prev_oncpu_ns = 3000,
				       .prev_runq_ns = 800 };
	CHECK_EQ(trace_writer__write(w, &r), 0);
	memset(&r, 0, sizeof(r));
	r.type = RTP_REC_THREAD_NEW; /* read from the events ring after those */
	r.ev = (struct rtp_event){ .type = RTP_REC_THREAD_NEW, .ts_ns = 1100, .tgid = 100, .tid = 101,
				   .parent_tgid = 100, .parent_tid = 100, .comm = "worker" };
	CHECK_EQ(trace_writer__write(w, &r), 0);
	memset(&r, 0, sizeof(r));
	r.type = RTP_TR_SWITCH;
	r.sw = (struct rtp_tr_switch){ .type = RTP_TR_SWITCH, .cpu = 0, .ts_ns = 5400, .prev_tid = 0, .next_tid = 101 };
	CHECK_EQ(trace_writer__write(w, &r), 0);
	r.sw = (struct rtp_tr_switch){ .type = RTP_TR_SWITCH, .cpu = 0, .ts_ns = 7000, .prev_tid = 101, .next_tid = 0,
				       .prev_state = RTP_TASK_INTERRUPTIBLE, .prev_oncpu_ns = 4600,
				       .prev_runq_ns = 1200 };
	CHECK_EQ(trace_writer__write(w, &r), 0);
	rep = trace_replay(w, path, 10000);
	if (rep) {
		const struct rtp_report_thread *t = NULL;

		for (size_t i = 0; i < rep->n_threads; i++)
			if (rep->threads[i].tid == 101)
				t = &rep->threads[i];
		CHECK(t != NULL);
		if (t) {
			CHECK_EQ(t->oncpu_ns, 4600);
			CHECK_EQ(t->runq_wait_ns, 1200);
			CHECK_EQ(t->parent_tid, 100);
			CHECK_STREQ(t->name, "worker");
		}
		CHECK_EQ(rep->process.ncpus, 2);
		if (rep->process.ncpus == 2 && rep->duration_ns) {
			/* CPU 1 ran it 3000 ns, CPU 0 1600 ns, of the session's 9000 */
			CHECK(rep->process.cpu_load_pct[1] == 100.0 * 3000 / (double)rep->duration_ns);
			CHECK(rep->process.cpu_load_pct[0] == 100.0 * 1600 / (double)rep->duration_ns);
		}
		report__free(rep);
	}
	unlink(path);
}

int main(void)
{
	test_hist_slot();
	test_off_state();
	test_preemption();
	test_sleep_then_wakeup();
	test_blocked_io();
	test_migration();
	test_missing_switch_in();
	test_out_of_order();
	test_thread_exit();
	test_syscalls();
	test_header_sysnrs();
	test_replay();
	test_born_after_its_switches();
	return check_summary();
}
