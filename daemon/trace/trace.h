/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The .rtprof.gz trace file: a gzip stream of independently compressed blocks (one gzip member
 * each): a header block, record blocks, a footer block. Format: docs/trace-format.md. The reader
 * trusts nothing in the file. */
#ifndef RTPROF_TRACE_H
#define RTPROF_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "accounting.h"
#include "rtprof_abi.h"

/* 2: runtime records (RTP_TR_RUNTIME) added; 3: when the runtime probes were placed; 4: a thread base's
 * switch counts. Versions 1 to 3 are read too. */
#define TRACE_FORMAT_VERSION 4
#define TRACE_MAX_CPUS 4096
/* What a reader keeps of a trace, whatever the file holds: the records of other threads and processes are
 * counted (the report's thread_drops and proc_drops), not kept. A recording holds fewer: rtprofd tracks
 * 16384 live threads and 4096 processes at a time (RTP_DEFAULT_MAX_THREADS, RTP_DEFAULT_MAX_PROCS). */
#define TRACE_MAX_THREADS 65536
#define TRACE_MAX_PROCS 4096

/* Record types written by userspace, beside the BPF ones (enum rtp_rec_type, enum rtp_trace_type). */
enum trace_user_type {
	TRACE_THREAD_BASE = 32, /* a thread that existed when tracing began: the kernel's accounting then */
	TRACE_THREAD_END = 33,  /* a thread alive when tracing ended: the kernel's accounting then */
	TRACE_PROC = 34,        /* what a target process runs */
	TRACE_RUNTIME = 35,     /* how its runtime metrics are measured (docs/runtime-metrics.md) */
};

/* The methods of a python or node process's runtime metrics, "" when not measured (then why). ts_ns: when
 * the probes began to time its GIL and event-loop waits (waits entered before are plain syscalls). */
struct trace_runtime {
	uint32_t pid;
	uint32_t runtime_kind; /* enum rtp_runtime_kind */
	uint64_t ts_ns;
	char gil_method[48];
	char gil_unavailable[192];
	char gc_method[48];
	char gc_unavailable[192];
	char loop_method[16];
	char tp_method[16];
	char tp_unavailable[192];
	uint32_t probes_from;    /* enum rtp_probes_from (format 3 on) */
	uint64_t probes_late_ns; /* RTP_PROBES_EXEC: from the exec to the probes */
};

struct trace_thread_acct {
	uint32_t tid;
	uint32_t tgid;
	uint64_t ts_ns;
	uint64_t oncpu_ns;
	uint64_t runq_ns;
	/* TRACE_THREAD_BASE: the switches counted before the base, as the kernel counted them: a process spawned
	 * for the profile counts from its fork (0 for a thread counted from the attach, and before version 4) */
	uint64_t vol_switches, invol_switches;
	char comm[RTP_COMM_LEN];
};

struct trace_proc {
	uint32_t pid;
	uint32_t runtime_kind; /* enum rtp_runtime_kind */
	uint64_t ts_ns;
	char runtime_version[32];
	char exe[256];
	char comm[RTP_COMM_LEN];
};

/* One decoded record. `type` tells which member is valid. */
struct trace_rec {
	uint32_t type;
	union {
		struct rtp_tr_syscall sys;   /* RTP_TR_SYSCALL */
		struct rtp_tr_switch sw;     /* RTP_TR_SWITCH */
		struct rtp_tr_wakeup wk;     /* RTP_TR_WAKEUP, RTP_TR_MIGRATE */
		struct rtp_tr_runtime rt;    /* RTP_TR_RUNTIME */
		struct rtp_event ev;         /* RTP_REC_* lifecycle */
		struct trace_thread_acct th; /* TRACE_THREAD_BASE, TRACE_THREAD_END */
		struct trace_proc proc;      /* TRACE_PROC */
		struct trace_runtime rtm;    /* TRACE_RUNTIME */
	};
};

/* Timestamp of any record. */
uint64_t trace_rec__ts(const struct trace_rec *rec);

struct trace_header {
	uint32_t format_version;
	char rtprof_version[16];
	char host[64];
	char kernel[64];  /* uname release */
	char machine[16]; /* uname machine */
	uint32_t clock_id; /* CLOCK_MONOTONIC: every ts_ns */
	int64_t realtime_offset_ns; /* CLOCK_REALTIME - CLOCK_MONOTONIC when recording began */
	uint32_t ncpus;
	char mode[8]; /* "run", "attach" */
	uint32_t target_pid;
	char command[256];
	uint64_t start_ns;
	/* The recording machine's numbers of the syscalls replay classifies; a trace written before the header
	 * carried them: this build's (have_sysnrs false). */
	struct rtp_sysnrs sysnrs;
	bool have_sysnrs;
};

struct trace_footer {
	uint64_t end_ns;
	uint64_t records;   /* records the writer wrote */
	uint64_t lost;      /* records the probes could not stream */
	uint32_t ncpus;
	uint64_t lost_per_cpu[TRACE_MAX_CPUS];
	int32_t exit_status;
	double wall_s, cpu_user_s, cpu_sys_s;
	int64_t max_rss_kb;
	char process_source[8];
	char stop_reason[32]; /* "exit", "signal", "duration", "max-size", "error" */
};

/* ---- writing ---- */

struct trace_writer;

/* level: zlib compression level (1 = fastest). Returns 0 or -errno. */
int trace_writer__open(const char *path, int level, const struct trace_header *h, struct trace_writer **out);
/* The same, handing each piece of the file to sink instead (rtprofd streams a trace to its client, who
 * writes the file). A sink returns 0 or -errno. */
typedef int (*trace_sink_fn)(void *ctx, const void *buf, size_t len);
int trace_writer__open_sink(trace_sink_fn sink, void *ctx, int level, const struct trace_header *h,
			    struct trace_writer **out);
int trace_writer__write(struct trace_writer *w, const struct trace_rec *rec);
/* Compress and write the pending block: a sync point a truncated file is readable up to. */
int trace_writer__flush(struct trace_writer *w);
uint64_t trace_writer__bytes(const struct trace_writer *w);   /* compressed bytes written */
uint64_t trace_writer__records(const struct trace_writer *w);
/* Write the footer and close. The writer is freed whatever the result. */
int trace_writer__close(struct trace_writer *w, const struct trace_footer *f);
/* Close without a footer (after an error); frees. */
void trace_writer__abort(struct trace_writer *w);
struct rtp_report;
struct json_object;
/* End a recording (the CLI's and rtprofd's alike): f's end time, CPUs and losses come from the engine;
 * this fills in the rest from the writer, the report and stop_reason, and closes with the footer, or,
 * after a write error, without one (the file ends at its last complete block; write_err is returned). */
int trace_writer__finish(struct trace_writer *w, struct trace_footer *f, const struct rtp_report *rep,
			 const char *stop_reason, int write_err);

/* The header of a new trace: this host and kernel, the engine's clock and CPUs. */
void trace_header__init(struct trace_header *h, uint64_t start_ns, unsigned int ncpus, const char *mode,
			pid_t target_pid, const char *command);

/* ---- reading ---- */

struct trace_reader;

/* Open a file, or a buffer (not copied; must outlive the reader), and read its header.
 * Returns 0 or -errno, with a sentence in err. */
int trace_reader__open(const char *path, struct trace_reader **out, char *err, size_t errlen);
int trace_reader__open_mem(const void *buf, size_t len, struct trace_reader **out, char *err, size_t errlen);
const struct trace_header *trace_reader__header(const struct trace_reader *r);
/* 1: *rec holds the next record; 0: no more (see warning); <0: -errno (I/O, memory). */
int trace_reader__next(struct trace_reader *r, struct trace_rec *rec);
/* After the end: the footer, or NULL when the file has none (cut short). */
const struct trace_footer *trace_reader__footer(const struct trace_reader *r);
/* Non-NULL when something was wrong with the file: what was skipped or where it ended. */
const char *trace_reader__warning(const struct trace_reader *r);
/* After the end: the session's stacks (the P block), handed to the caller (free with profiles__free); NULL
 * when the trace has none. */
struct rtp_profiles *trace_reader__take_profiles(struct trace_reader *r);
/* After the end: the E block's failures by path (JSON, see docs/trace-format.md), the caller's to put, or
 * NULL when the trace has none. */
struct json_object *trace_reader__take_err_paths(struct trace_reader *r);
void trace_reader__free(struct trace_reader *r);

#endif
