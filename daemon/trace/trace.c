// SPDX-License-Identifier: LGPL-2.1-or-later
/* Trace file writer and reader. Each block is one gzip member holding "RTPB", a kind byte ('H'eader,
 * 'R'ecords, 'F'ooter), a sequence number and varint-encoded fields; timestamps are zigzag deltas from
 * the previous record of the block, reset at every block, so each block decodes on its own: a cut
 * or damaged file is readable up to, and again after, the damaged block. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <zlib.h>

#include "model/report.h"
#include "trace/trace.h"

#define BLOCK_TARGET (1u << 20)      /* uncompressed bytes before a block is flushed */
#define BLOCK_LIMIT (64u << 20)      /* the reader refuses larger blocks */
#define BLOCK_MAGIC "RTPB"
#define IN_CHUNK (64u << 10)

/* ---- byte buffers and varints ---- */

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static int buf_reserve(struct buf *b, size_t more)
{
	size_t cap;
	uint8_t *n;

	if (b->len + more <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more)
		cap *= 2;
	n = realloc(b->p, cap);
	if (!n)
		return -ENOMEM;
	b->p = n;
	b->cap = cap;
	return 0;
}

static int put_bytes(struct buf *b, const void *p, size_t len)
{
	/* inflate may give no bytes while the buffer is still NULL: NULL + 0 is undefined */
	if (!len)
		return 0;
	if (buf_reserve(b, len))
		return -ENOMEM;
	memcpy(b->p + b->len, p, len);
	b->len += len;
	return 0;
}

static int put_varint(struct buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;

	do {
		tmp[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			tmp[n] |= 0x80;
		n++;
	} while (v);
	return put_bytes(b, tmp, n);
}

static uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static int put_str(struct buf *b, const char *s, size_t max)
{
	size_t len = strnlen(s, max);

	return put_varint(b, len) ?: put_bytes(b, s, len);
}

static int put_f64(struct buf *b, double d)
{
	uint64_t v;

	memcpy(&v, &d, sizeof(v));
	for (int i = 0; i < 8; i++) {
		uint8_t c = (uint8_t)(v >> (8 * i));

		if (put_bytes(b, &c, 1))
			return -ENOMEM;
	}
	return 0;
}

/* A bounded cursor over a decoded block; any overrun sets `bad` and yields zeros. */
struct cur {
	const uint8_t *p;
	size_t len, pos;
	bool bad;
};

static uint64_t get_varint(struct cur *c)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 64; shift += 7) {
		uint8_t byte;

		if (c->pos >= c->len) {
			c->bad = true;
			return 0;
		}
		byte = c->p[c->pos++];
		v |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80))
			return v;
	}
	c->bad = true;
	return 0;
}

static uint32_t get_u32(struct cur *c)
{
	uint64_t v = get_varint(c);

	if (v > UINT32_MAX)
		c->bad = true;
	return (uint32_t)v;
}

static void get_str(struct cur *c, char *out, size_t size)
{
	uint64_t len = get_varint(c);

	if (c->bad || len > c->len - c->pos) {
		c->bad = true;
		out[0] = '\0';
		return;
	}
	/* longer than the field: keep what fits */
	snprintf(out, size, "%.*s", (int)(len < size ? len : size - 1), (const char *)c->p + c->pos);
	c->pos += len;
}

static double get_f64(struct cur *c)
{
	uint64_t v = 0;
	double d;

	if (c->len - c->pos < 8 || c->pos > c->len) {
		c->bad = true;
		return 0;
	}
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)c->p[c->pos++] << (8 * i);
	memcpy(&d, &v, sizeof(d));
	return d;
}

uint64_t trace_rec__ts(const struct trace_rec *rec)
{
	switch (rec->type) {
	case RTP_TR_SYSCALL: return rec->sys.ts_ns;
	case RTP_TR_SWITCH: return rec->sw.ts_ns;
	case RTP_TR_WAKEUP:
	case RTP_TR_MIGRATE: return rec->wk.ts_ns;
	case RTP_TR_RUNTIME: return rec->rt.ts_ns;
	case TRACE_THREAD_BASE:
	case TRACE_THREAD_END: return rec->th.ts_ns;
	case TRACE_PROC: return rec->proc.ts_ns;
	case TRACE_RUNTIME: return rec->rtm.ts_ns;
	default: return rec->ev.ts_ns;
	}
}

/* ---- writer ---- */

struct trace_writer {
	int fd; /* -1 with a sink */
	trace_sink_fn sink;
	void *sink_ctx;
	z_stream z;
	bool z_ready;
	struct buf block;
	uint64_t seq;
	uint64_t prev_ts;
	size_t block_records;
	uint64_t bytes, records;
	uint8_t *zout;
	int err; /* sticky: the first failure */
};

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int block_begin(struct trace_writer *w, char kind)
{
	w->block.len = 0;
	w->prev_ts = 0;
	w->block_records = 0;
	return put_bytes(&w->block, BLOCK_MAGIC, 4) ?: put_bytes(&w->block, &kind, 1) ?: put_varint(&w->block, w->seq++);
}

/* Compress the current block as one gzip member and write it. */
static int block_emit(struct trace_writer *w)
{
	int zr;

	if (w->err)
		return w->err;
	if (deflateReset(&w->z) != Z_OK)
		return w->err = -EIO;
	w->z.next_in = w->block.p;
	w->z.avail_in = (uInt)w->block.len;
	do {
		int r;

		w->z.next_out = w->zout;
		w->z.avail_out = IN_CHUNK;
		zr = deflate(&w->z, Z_FINISH);
		if (zr == Z_STREAM_ERROR)
			return w->err = -EIO;
		r = w->sink ? w->sink(w->sink_ctx, w->zout, IN_CHUNK - w->z.avail_out)
			    : write_all(w->fd, w->zout, IN_CHUNK - w->z.avail_out);
		if (r)
			return w->err = r;
		w->bytes += IN_CHUNK - w->z.avail_out;
	} while (zr != Z_STREAM_END);
	return 0;
}

/* The header's syscall numbers, by name: a call the recording machine lacks is not listed. */
struct sysnr_field {
	const char *name;
	size_t off;
};
static const struct sysnr_field SYSNR_FIELDS[] = {
	{ "futex", offsetof(struct rtp_sysnrs, futex) },
	{ "epoll_wait", offsetof(struct rtp_sysnrs, epoll_wait) },
	{ "epoll_pwait", offsetof(struct rtp_sysnrs, epoll_pwait) },
	{ "epoll_pwait2", offsetof(struct rtp_sysnrs, epoll_pwait2) },
};
#define SYSNR_NAME_MAX 32
#define SYSNRS_MAX 64 /* entries a reader accepts */

static uint32_t *sysnr_at(struct rtp_sysnrs *n, size_t i)
{
	return (uint32_t *)((char *)n + SYSNR_FIELDS[i].off);
}

static int encode_sysnrs(struct buf *b, const struct rtp_sysnrs *nrs)
{
	struct rtp_sysnrs n = *nrs;
	uint64_t count = 0;
	int r = 0;

	for (size_t i = 0; i < sizeof(SYSNR_FIELDS) / sizeof(SYSNR_FIELDS[0]); i++)
		count += *sysnr_at(&n, i) != RTP_NR_NONE;
	r = put_varint(b, count);
	for (size_t i = 0; !r && i < sizeof(SYSNR_FIELDS) / sizeof(SYSNR_FIELDS[0]); i++)
		if (*sysnr_at(&n, i) != RTP_NR_NONE)
			r = put_str(b, SYSNR_FIELDS[i].name, SYSNR_NAME_MAX) ?: put_varint(b, *sysnr_at(&n, i));
	return r;
}

static int encode_header(struct buf *b, const struct trace_header *h)
{
	return put_varint(b, h->format_version) ?: put_str(b, h->rtprof_version, sizeof(h->rtprof_version)) ?:
	       put_str(b, h->host, sizeof(h->host)) ?: put_str(b, h->kernel, sizeof(h->kernel)) ?:
	       put_str(b, h->machine, sizeof(h->machine)) ?: put_varint(b, h->clock_id) ?:
	       put_varint(b, zigzag(h->realtime_offset_ns)) ?: put_varint(b, h->ncpus) ?:
	       put_str(b, h->mode, sizeof(h->mode)) ?: put_varint(b, h->target_pid) ?:
	       put_str(b, h->command, sizeof(h->command)) ?: put_varint(b, h->start_ns) ?:
	       encode_sysnrs(b, &h->sysnrs);
}

static int writer_new(int level, struct trace_writer **out)
{
	struct trace_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->fd = -1;
	w->zout = malloc(IN_CHUNK);
	/* 15 + 16: a gzip wrapper, so that gzip -t and zcat read the file */
	if (!w->zout || deflateInit2(&w->z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		trace_writer__abort(w);
		return -ENOMEM;
	}
	w->z_ready = true;
	*out = w;
	return 0;
}

static int writer_start(struct trace_writer *w, const struct trace_header *h)
{
	return block_begin(w, 'H') ?: encode_header(&w->block, h) ?: block_emit(w) ?: block_begin(w, 'R');
}

int trace_writer__open(const char *path, int level, const struct trace_header *h, struct trace_writer **out)
{
	struct trace_writer *w;
	int r = writer_new(level, &w);

	if (r)
		return r;
	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	r = w->fd < 0 ? -errno : writer_start(w, h);
	if (r) {
		trace_writer__abort(w);
		return r;
	}
	*out = w;
	return 0;
}

int trace_writer__open_sink(trace_sink_fn sink, void *ctx, int level, const struct trace_header *h,
			    struct trace_writer **out)
{
	struct trace_writer *w;
	int r = writer_new(level, &w);

	if (r)
		return r;
	w->sink = sink;
	w->sink_ctx = ctx;
	r = writer_start(w, h);
	if (r) {
		trace_writer__abort(w);
		return r;
	}
	*out = w;
	return 0;
}

static int encode_record(struct buf *b, const struct trace_rec *rec, uint64_t *prev_ts)
{
	uint64_t ts = trace_rec__ts(rec);
	uint8_t type = (uint8_t)rec->type;
	int r = put_bytes(b, &type, 1) ?: put_varint(b, zigzag((int64_t)(ts - *prev_ts)));

	*prev_ts = ts;
	if (r)
		return r;
	switch (rec->type) {
	case RTP_TR_SYSCALL:
		return put_varint(b, rec->sys.tid) ?: put_varint(b, rec->sys.nr) ?: put_varint(b, rec->sys.dur_ns) ?:
		       put_varint(b, zigzag(rec->sys.ret)) ?: put_varint(b, rec->sys.cpu);
	case RTP_TR_SWITCH:
		return put_varint(b, rec->sw.cpu) ?: put_varint(b, rec->sw.prev_tid) ?: put_varint(b, rec->sw.next_tid) ?:
		       put_varint(b, rec->sw.prev_state) ?: put_varint(b, rec->sw.preempt) ?:
		       put_varint(b, rec->sw.prev_oncpu_ns) ?: put_varint(b, rec->sw.prev_runq_ns);
	case RTP_TR_WAKEUP:
	case RTP_TR_MIGRATE:
		return put_varint(b, rec->wk.cpu) ?: put_varint(b, rec->wk.tid) ?: put_varint(b, rec->wk.target_cpu);
	case RTP_TR_RUNTIME:
		return put_varint(b, rec->rt.tid) ?: put_varint(b, rec->rt.dur_ns) ?: put_varint(b, rec->rt.kind) ?:
		       put_varint(b, rec->rt.arg);
	case RTP_REC_THREAD_NEW:
	case RTP_REC_PROC_NEW:
	case RTP_REC_EXEC:
	case RTP_REC_THREAD_EXIT:
	case RTP_REC_RENAME:
		return put_varint(b, rec->ev.flags) ?: put_varint(b, rec->ev.tgid) ?: put_varint(b, rec->ev.tid) ?:
		       put_varint(b, rec->ev.parent_tgid) ?: put_varint(b, rec->ev.parent_tid) ?:
		       put_varint(b, zigzag(rec->ev.exit_code)) ?: put_varint(b, rec->ev.cpu) ?:
		       put_str(b, rec->ev.comm, sizeof(rec->ev.comm));
	case TRACE_THREAD_BASE:
	case TRACE_THREAD_END:
		return put_varint(b, rec->th.tid) ?: put_varint(b, rec->th.tgid) ?: put_varint(b, rec->th.oncpu_ns) ?:
		       put_varint(b, rec->th.runq_ns) ?: put_str(b, rec->th.comm, sizeof(rec->th.comm));
	case TRACE_PROC:
		return put_varint(b, rec->proc.pid) ?: put_varint(b, rec->proc.runtime_kind) ?:
		       put_str(b, rec->proc.runtime_version, sizeof(rec->proc.runtime_version)) ?:
		       put_str(b, rec->proc.exe, sizeof(rec->proc.exe)) ?:
		       put_str(b, rec->proc.comm, sizeof(rec->proc.comm));
	case TRACE_RUNTIME:
		return put_varint(b, rec->rtm.pid) ?: put_varint(b, rec->rtm.runtime_kind) ?:
		       put_str(b, rec->rtm.gil_method, sizeof(rec->rtm.gil_method)) ?:
		       put_str(b, rec->rtm.gil_unavailable, sizeof(rec->rtm.gil_unavailable)) ?:
		       put_str(b, rec->rtm.gc_method, sizeof(rec->rtm.gc_method)) ?:
		       put_str(b, rec->rtm.gc_unavailable, sizeof(rec->rtm.gc_unavailable)) ?:
		       put_str(b, rec->rtm.loop_method, sizeof(rec->rtm.loop_method)) ?:
		       put_str(b, rec->rtm.tp_method, sizeof(rec->rtm.tp_method)) ?:
		       put_str(b, rec->rtm.tp_unavailable, sizeof(rec->rtm.tp_unavailable));
	default:
		return -EINVAL;
	}
}

int trace_writer__write(struct trace_writer *w, const struct trace_rec *rec)
{
	size_t mark = w->block.len;
	uint64_t prev = w->prev_ts;
	int r;

	if (w->err)
		return w->err;
	r = encode_record(&w->block, rec, &w->prev_ts);
	if (r) {
		w->block.len = mark; /* drop the partial record */
		w->prev_ts = prev;
		return r;
	}
	w->block_records++;
	w->records++;
	if (w->block.len >= BLOCK_TARGET)
		return trace_writer__flush(w);
	return 0;
}

int trace_writer__flush(struct trace_writer *w)
{
	if (w->err)
		return w->err;
	if (!w->block_records)
		return 0;
	return block_emit(w) ?: block_begin(w, 'R');
}

uint64_t trace_writer__bytes(const struct trace_writer *w)
{
	return w->bytes;
}

uint64_t trace_writer__records(const struct trace_writer *w)
{
	return w->records;
}

static int encode_footer(struct buf *b, const struct trace_footer *f)
{
	uint32_t ncpus = f->ncpus < TRACE_MAX_CPUS ? f->ncpus : TRACE_MAX_CPUS;
	int r = put_varint(b, f->end_ns) ?: put_varint(b, f->records) ?: put_varint(b, f->lost) ?:
		put_varint(b, ncpus);

	for (uint32_t c = 0; c < ncpus && !r; c++)
		r = put_varint(b, f->lost_per_cpu[c]);
	return r ?: put_varint(b, zigzag(f->exit_status)) ?: put_f64(b, f->wall_s) ?: put_f64(b, f->cpu_user_s) ?:
	       put_f64(b, f->cpu_sys_s) ?: put_varint(b, zigzag(f->max_rss_kb)) ?:
	       put_str(b, f->process_source, sizeof(f->process_source)) ?:
	       put_str(b, f->stop_reason, sizeof(f->stop_reason));
}

int trace_writer__close(struct trace_writer *w, const struct trace_footer *f)
{
	int r = trace_writer__flush(w);

	r = r ?: block_begin(w, 'F') ?: encode_footer(&w->block, f) ?: block_emit(w);
	if (w->fd >= 0) {
		if (!r && fsync(w->fd) && errno != EINVAL)
			r = -errno;
		if (close(w->fd) && !r)
			r = -errno;
		w->fd = -1;
	}
	trace_writer__abort(w);
	return r;
}

void trace_writer__abort(struct trace_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (w->z_ready)
		deflateEnd(&w->z);
	free(w->zout);
	free(w->block.p);
	free(w);
}

int trace_writer__finish(struct trace_writer *w, struct trace_footer *f, const struct rtp_report *rep,
			 const char *stop_reason, int write_err)
{
	f->records = trace_writer__records(w);
	f->exit_status = rep->exit_status;
	f->wall_s = rep->process.wall_s;
	f->cpu_user_s = rep->process.cpu_user_s;
	f->cpu_sys_s = rep->process.cpu_sys_s;
	f->max_rss_kb = rep->process.max_rss_kb;
	snprintf(f->process_source, sizeof(f->process_source), "%s", rep->process.source ? rep->process.source : "");
	snprintf(f->stop_reason, sizeof(f->stop_reason), "%s", stop_reason);
	if (write_err) {
		trace_writer__abort(w);
		return write_err;
	}
	return trace_writer__close(w, f);
}

void trace_header__init(struct trace_header *h, uint64_t start_ns, unsigned int ncpus, const char *mode,
			pid_t target_pid, const char *command)
{
	struct timespec mono, real;
	struct utsname u;

	memset(h, 0, sizeof(*h));
	h->format_version = TRACE_FORMAT_VERSION;
	h->clock_id = CLOCK_MONOTONIC;
	snprintf(h->rtprof_version, sizeof(h->rtprof_version), "%s", RTPROF_VERSION);
	if (gethostname(h->host, sizeof(h->host) - 1))
		h->host[0] = '\0';
	if (uname(&u) == 0) {
		snprintf(h->kernel, sizeof(h->kernel), "%.*s", (int)sizeof(h->kernel) - 1, u.release);
		snprintf(h->machine, sizeof(h->machine), "%.*s", (int)sizeof(h->machine) - 1, u.machine);
	}
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	h->realtime_offset_ns = ((int64_t)real.tv_sec - mono.tv_sec) * 1000000000ll + (real.tv_nsec - mono.tv_nsec);
	h->start_ns = start_ns;
	h->ncpus = ncpus;
	snprintf(h->mode, sizeof(h->mode), "%s", mode);
	h->target_pid = (uint32_t)target_pid;
	snprintf(h->command, sizeof(h->command), "%s", command ? command : "");
	h->sysnrs = rtp_sysnrs_native();
	h->have_sysnrs = true;
}

/* ---- reader ---- */

struct trace_reader {
	FILE *f;
	const uint8_t *mem;
	size_t mem_len, mem_pos;
	uint8_t *in;
	z_stream z;
	bool z_ready;
	bool input_done;
	struct buf block;
	struct cur c; /* over the current 'R' block */
	uint64_t prev_ts;
	uint64_t blocks, bad_blocks;
	struct trace_header hdr;
	struct trace_footer footer;
	bool have_footer, done;
	char warning[256];
};

static void warn(struct trace_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct trace_reader *r, const char *fmt, ...)
{
	va_list ap;

	if (r->warning[0])
		return; /* the first problem is the one to tell */
	va_start(ap, fmt);
	vsnprintf(r->warning, sizeof(r->warning), fmt, ap);
	va_end(ap);
}

/* Refill z.next_in. Returns bytes made available, 0 at the end, -errno on a read error. */
static ssize_t refill(struct trace_reader *r)
{
	size_t n;

	if (r->z.avail_in)
		return (ssize_t)r->z.avail_in;
	if (r->mem) {
		n = r->mem_len - r->mem_pos;
		if (n > IN_CHUNK)
			n = IN_CHUNK;
		r->z.next_in = (Bytef *)(uintptr_t)(r->mem + r->mem_pos);
		r->mem_pos += n;
	} else {
		n = fread(r->in, 1, IN_CHUNK, r->f);
		if (!n && ferror(r->f))
			return -EIO;
		r->z.next_in = r->in;
	}
	r->z.avail_in = (uInt)n;
	return (ssize_t)n;
}

/* After damage: drop input up to the next gzip member header (1f 8b 08). Returns 1 found, 0 end.
 * A header split across two input chunks is missed, and with it one more block. */
static int resync(struct trace_reader *r)
{
	for (;;) {
		ssize_t n = refill(r);

		if (n <= 0)
			return 0;
		while (r->z.avail_in >= 3) {
			if (r->z.next_in[0] == 0x1f && r->z.next_in[1] == 0x8b && r->z.next_in[2] == 8)
				return 1;
			r->z.next_in++;
			r->z.avail_in--;
		}
		r->z.avail_in = 0;
	}
}

/* Inflate one gzip member into r->block. 1: a member; 0: clean end of input; -EBADMSG: damaged
 * (input skipped to the next member); -ENODATA: the input ended inside the member; -ENOMEM. */
static int read_member(struct trace_reader *r)
{
	uint8_t out[16384];
	int zr;

	r->block.len = 0;
	if (inflateReset(&r->z) != Z_OK)
		return -ENOMEM;
	for (;;) {
		ssize_t n = refill(r);

		if (n < 0)
			return (int)n;
		if (n == 0)
			return r->block.len || r->z.total_in ? -ENODATA : 0;
		r->z.next_out = out;
		r->z.avail_out = sizeof(out);
		zr = inflate(&r->z, Z_NO_FLUSH);
		if (put_bytes(&r->block, out, sizeof(out) - r->z.avail_out))
			return -ENOMEM;
		if (zr == Z_STREAM_END)
			return 1;
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			if (zr == Z_MEM_ERROR)
				return -ENOMEM;
			if (r->z.avail_in) {
				r->z.next_in++;
				r->z.avail_in--;
			}
			(void)resync(r);
			return -EBADMSG;
		}
		if (r->block.len > BLOCK_LIMIT) {
			(void)resync(r);
			return -EBADMSG;
		}
	}
}

/* Unknown names are skipped (a later writer's); a known call not listed is one the recording machine lacks. */
static void decode_sysnrs(struct cur *c, struct trace_header *h)
{
	uint64_t count = get_varint(c);
	struct rtp_sysnrs n;

	if (count > SYSNRS_MAX) {
		c->bad = true;
		return;
	}
	for (size_t i = 0; i < sizeof(SYSNR_FIELDS) / sizeof(SYSNR_FIELDS[0]); i++)
		*sysnr_at(&n, i) = RTP_NR_NONE;
	for (uint64_t k = 0; k < count && !c->bad; k++) {
		char name[SYSNR_NAME_MAX + 1];
		uint32_t nr;

		get_str(c, name, sizeof(name));
		nr = get_u32(c);
		for (size_t i = 0; i < sizeof(SYSNR_FIELDS) / sizeof(SYSNR_FIELDS[0]); i++)
			if (!strcmp(name, SYSNR_FIELDS[i].name))
				*sysnr_at(&n, i) = nr;
	}
	if (c->bad)
		return;
	h->sysnrs = n;
	h->have_sysnrs = true;
}

static int decode_header(struct cur *c, struct trace_header *h)
{
	memset(h, 0, sizeof(*h));
	h->format_version = get_u32(c);
	get_str(c, h->rtprof_version, sizeof(h->rtprof_version));
	get_str(c, h->host, sizeof(h->host));
	get_str(c, h->kernel, sizeof(h->kernel));
	get_str(c, h->machine, sizeof(h->machine));
	h->clock_id = get_u32(c);
	h->realtime_offset_ns = unzigzag(get_varint(c));
	h->ncpus = get_u32(c);
	get_str(c, h->mode, sizeof(h->mode));
	h->target_pid = get_u32(c);
	get_str(c, h->command, sizeof(h->command));
	h->start_ns = get_varint(c);
	h->sysnrs = rtp_sysnrs_native();
	/* appended later: a header that ends here was written before */
	if (!c->bad && c->pos < c->len)
		decode_sysnrs(c, h);
	return c->bad || h->ncpus > TRACE_MAX_CPUS ? -EBADMSG : 0;
}

static int decode_footer(struct cur *c, struct trace_footer *f)
{
	memset(f, 0, sizeof(*f));
	f->end_ns = get_varint(c);
	f->records = get_varint(c);
	f->lost = get_varint(c);
	f->ncpus = get_u32(c);
	if (f->ncpus > TRACE_MAX_CPUS)
		return -EBADMSG;
	for (uint32_t i = 0; i < f->ncpus; i++)
		f->lost_per_cpu[i] = get_varint(c);
	f->exit_status = (int32_t)unzigzag(get_varint(c));
	f->wall_s = get_f64(c);
	f->cpu_user_s = get_f64(c);
	f->cpu_sys_s = get_f64(c);
	f->max_rss_kb = unzigzag(get_varint(c));
	get_str(c, f->process_source, sizeof(f->process_source));
	get_str(c, f->stop_reason, sizeof(f->stop_reason));
	return c->bad ? -EBADMSG : 0;
}

/* Check a block's magic; return its kind and leave the cursor after the sequence number. */
static int block_kind(struct trace_reader *r, struct cur *c)
{
	char kind;

	*c = (struct cur){ .p = r->block.p, .len = r->block.len };
	if (r->block.len < 6 || memcmp(r->block.p, BLOCK_MAGIC, 4))
		return -EBADMSG;
	kind = (char)r->block.p[4];
	c->pos = 5;
	(void)get_varint(c); /* sequence number */
	return c->bad ? -EBADMSG : kind;
}

static int reader_init(struct trace_reader *r, char *err, size_t errlen)
{
	struct cur c;
	int kind, m;

	if (inflateInit2(&r->z, 15 + 16) != Z_OK) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r->z_ready = true;
	m = read_member(r);
	if (m == 0) {
		snprintf(err, errlen, "empty file: not an rtprof trace");
		return -EINVAL;
	}
	if (m < 0 && m != -EBADMSG && m != -ENODATA) {
		snprintf(err, errlen, "cannot read the trace: %s", strerror(-m));
		return m;
	}
	if (m < 0 || (kind = block_kind(r, &c)) != 'H' || decode_header(&c, &r->hdr)) {
		snprintf(err, errlen, "not an rtprof trace, or its header is damaged%s",
			 m == -EBADMSG || m == -ENODATA ? " (not a complete gzip member)" : "");
		return -EINVAL;
	}
	if (r->hdr.format_version < 1 || r->hdr.format_version > TRACE_FORMAT_VERSION) {
		snprintf(err, errlen, "trace format version %u; this rtprof reads versions 1 to %u", r->hdr.format_version,
			 TRACE_FORMAT_VERSION);
		return -EPROTONOSUPPORT;
	}
	r->blocks = 1;
	return 0;
}

int trace_reader__open(const char *path, struct trace_reader **out, char *err, size_t errlen)
{
	struct trace_reader *r = calloc(1, sizeof(*r));
	int ret;

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r->in = malloc(IN_CHUNK);
	r->f = fopen(path, "rbe");
	if (!r->in || !r->f) {
		ret = r->in ? -errno : -ENOMEM;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(-ret));
		trace_reader__free(r);
		return ret;
	}
	ret = reader_init(r, err, errlen);
	if (ret) {
		trace_reader__free(r);
		return ret;
	}
	*out = r;
	return 0;
}

int trace_reader__open_mem(const void *buf, size_t len, struct trace_reader **out, char *err, size_t errlen)
{
	struct trace_reader *r = calloc(1, sizeof(*r));
	int ret;

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r->mem = buf;
	r->mem_len = len;
	ret = reader_init(r, err, errlen);
	if (ret) {
		trace_reader__free(r);
		return ret;
	}
	*out = r;
	return 0;
}

const struct trace_header *trace_reader__header(const struct trace_reader *r)
{
	return &r->hdr;
}

static bool decode_record(struct cur *c, uint64_t *prev_ts, struct trace_rec *rec)
{
	uint8_t type;
	uint64_t ts;

	if (c->pos >= c->len)
		return false;
	type = c->p[c->pos++];
	ts = *prev_ts + (uint64_t)unzigzag(get_varint(c));
	*prev_ts = ts;
	memset(rec, 0, sizeof(*rec));
	rec->type = type;
	switch (type) {
	case RTP_TR_SYSCALL:
		rec->sys.type = type;
		rec->sys.ts_ns = ts;
		rec->sys.tid = get_u32(c);
		rec->sys.nr = get_u32(c);
		rec->sys.dur_ns = get_varint(c);
		rec->sys.ret = unzigzag(get_varint(c));
		rec->sys.cpu = get_u32(c);
		break;
	case RTP_TR_SWITCH:
		rec->sw.type = type;
		rec->sw.ts_ns = ts;
		rec->sw.cpu = get_u32(c);
		rec->sw.prev_tid = get_u32(c);
		rec->sw.next_tid = get_u32(c);
		rec->sw.prev_state = get_u32(c);
		rec->sw.preempt = get_u32(c);
		rec->sw.prev_oncpu_ns = get_varint(c);
		rec->sw.prev_runq_ns = get_varint(c);
		break;
	case RTP_TR_WAKEUP:
	case RTP_TR_MIGRATE:
		rec->wk.type = type;
		rec->wk.ts_ns = ts;
		rec->wk.cpu = get_u32(c);
		rec->wk.tid = get_u32(c);
		rec->wk.target_cpu = get_u32(c);
		break;
	case RTP_TR_RUNTIME:
		rec->rt.type = type;
		rec->rt.ts_ns = ts;
		rec->rt.tid = get_u32(c);
		rec->rt.dur_ns = get_varint(c);
		rec->rt.kind = get_u32(c);
		rec->rt.arg = get_u32(c);
		break;
	case RTP_REC_THREAD_NEW:
	case RTP_REC_PROC_NEW:
	case RTP_REC_EXEC:
	case RTP_REC_THREAD_EXIT:
	case RTP_REC_RENAME:
		rec->ev.type = type;
		rec->ev.ts_ns = ts;
		rec->ev.flags = get_u32(c);
		rec->ev.tgid = get_u32(c);
		rec->ev.tid = get_u32(c);
		rec->ev.parent_tgid = get_u32(c);
		rec->ev.parent_tid = get_u32(c);
		rec->ev.exit_code = (int32_t)unzigzag(get_varint(c));
		rec->ev.cpu = get_u32(c);
		get_str(c, rec->ev.comm, sizeof(rec->ev.comm));
		break;
	case TRACE_THREAD_BASE:
	case TRACE_THREAD_END:
		rec->th.ts_ns = ts;
		rec->th.tid = get_u32(c);
		rec->th.tgid = get_u32(c);
		rec->th.oncpu_ns = get_varint(c);
		rec->th.runq_ns = get_varint(c);
		get_str(c, rec->th.comm, sizeof(rec->th.comm));
		break;
	case TRACE_PROC:
		rec->proc.ts_ns = ts;
		rec->proc.pid = get_u32(c);
		rec->proc.runtime_kind = get_u32(c);
		get_str(c, rec->proc.runtime_version, sizeof(rec->proc.runtime_version));
		get_str(c, rec->proc.exe, sizeof(rec->proc.exe));
		get_str(c, rec->proc.comm, sizeof(rec->proc.comm));
		break;
	case TRACE_RUNTIME:
		rec->rtm.ts_ns = ts;
		rec->rtm.pid = get_u32(c);
		rec->rtm.runtime_kind = get_u32(c);
		get_str(c, rec->rtm.gil_method, sizeof(rec->rtm.gil_method));
		get_str(c, rec->rtm.gil_unavailable, sizeof(rec->rtm.gil_unavailable));
		get_str(c, rec->rtm.gc_method, sizeof(rec->rtm.gc_method));
		get_str(c, rec->rtm.gc_unavailable, sizeof(rec->rtm.gc_unavailable));
		get_str(c, rec->rtm.loop_method, sizeof(rec->rtm.loop_method));
		get_str(c, rec->rtm.tp_method, sizeof(rec->rtm.tp_method));
		get_str(c, rec->rtm.tp_unavailable, sizeof(rec->rtm.tp_unavailable));
		break;
	default:
		c->bad = true;
	}
	return !c->bad;
}

int trace_reader__next(struct trace_reader *r, struct trace_rec *rec)
{
	for (;;) {
		struct cur c;
		int m, kind;

		if (r->c.p && r->c.pos < r->c.len) {
			if (decode_record(&r->c, &r->prev_ts, rec))
				return 1;
			r->bad_blocks++;
			warn(r, "damaged record in block %llu: the rest of that block is skipped",
			     (unsigned long long)r->blocks);
			r->c.p = NULL;
			continue;
		}
		r->c.p = NULL;
		if (r->done)
			return 0;
		m = read_member(r);
		if (m == 0) {
			r->done = true;
			if (!r->have_footer)
				warn(r, "the trace has no footer: it was cut short after block %llu (recording interrupted?)",
				     (unsigned long long)r->blocks);
			return 0;
		}
		if (m == -ENODATA) {
			r->done = true;
			warn(r, "the trace is cut short inside block %llu: read up to the last complete block",
			     (unsigned long long)r->blocks + 1);
			return 0;
		}
		if (m == -EBADMSG) {
			r->bad_blocks++;
			warn(r, "damaged data after block %llu: skipped to the next intact block",
			     (unsigned long long)r->blocks);
			continue;
		}
		if (m < 0)
			return m;
		r->blocks++;
		kind = block_kind(r, &c);
		if (kind == 'R') {
			/* the block buffer is reused by the next member only after this one is consumed */
			r->c = c;
			r->prev_ts = 0;
		} else if (kind == 'F' && !r->have_footer) {
			r->have_footer = decode_footer(&c, &r->footer) == 0;
			if (!r->have_footer)
				warn(r, "the trace's footer is damaged");
		} else {
			r->bad_blocks++;
			warn(r, "block %llu is not an rtprof block: skipped", (unsigned long long)r->blocks);
		}
	}
}

const struct trace_footer *trace_reader__footer(const struct trace_reader *r)
{
	return r->have_footer ? &r->footer : NULL;
}

const char *trace_reader__warning(const struct trace_reader *r)
{
	return r->warning[0] ? r->warning : NULL;
}

void trace_reader__free(struct trace_reader *r)
{
	if (!r)
		return;
	if (r->f)
		fclose(r->f);
	if (r->z_ready)
		inflateEnd(&r->z);
	free(r->in);
	free(r->block.p);
	free(r);
}
