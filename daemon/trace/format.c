// SPDX-License-Identifier: LGPL-2.1-or-later
/* The trace format's bytes: varints, strings and doubles; the header, record and footer of a block, both
 * ways; the header a new trace starts with. The reader never trusts its input: every read is bounded by
 * the block (struct tf_cur). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/utsname.h>

#include "accounting.h"
#include "base/clock.h"
#include "base/vec.h"
#include "trace/format.h"

/* ---- byte buffers and varints ---- */

static int tf_buf_reserve(struct tf_buf *b, size_t more)
{
	return vec__reserve(&b->p, &b->cap, b->len + more);
}

int tf_put_bytes(struct tf_buf *b, const void *p, size_t len)
{
	/* inflate may give no bytes while the buffer is still NULL: NULL + 0 is undefined */
	if (!len)
		return 0;
	if (tf_buf_reserve(b, len))
		return -ENOMEM;
	memcpy(b->p + b->len, p, len);
	b->len += len;
	return 0;
}

int tf_put_varint(struct tf_buf *b, uint64_t v)
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
	return tf_put_bytes(b, tmp, n);
}

static uint64_t tf_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t tf_unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static int tf_put_str(struct tf_buf *b, const char *s, size_t max)
{
	size_t len = strnlen(s, max);

	return tf_put_varint(b, len) ?: tf_put_bytes(b, s, len);
}

static int tf_put_f64(struct tf_buf *b, double d)
{
	uint64_t v;

	memcpy(&v, &d, sizeof(v));
	for (int i = 0; i < 8; i++) {
		uint8_t c = (uint8_t)(v >> (8 * i));

		if (tf_put_bytes(b, &c, 1))
			return -ENOMEM;
	}
	return 0;
}

/* A bounded cursor over a decoded block; any overrun sets `bad` and yields zeros. */

uint64_t tf_get_varint(struct tf_cur *c)
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

static uint32_t tf_get_u32(struct tf_cur *c)
{
	uint64_t v = tf_get_varint(c);

	if (v > UINT32_MAX)
		c->bad = true;
	return (uint32_t)v;
}

static void tf_get_str(struct tf_cur *c, char *out, size_t size)
{
	uint64_t len = tf_get_varint(c);

	if (c->bad || len > c->len - c->pos) {
		c->bad = true;
		out[0] = '\0';
		return;
	}
	/* longer than the field: keep what fits */
	snprintf(out, size, "%.*s", (int)(len < size ? len : size - 1), (const char *)c->p + c->pos);
	c->pos += len;
}

static double tf_get_f64(struct tf_cur *c)
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

/* ---- header, records, footer ---- */

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

static uint32_t *sysnr_at(struct rtp_sysnrs *n, size_t i)
{
	return (uint32_t *)((char *)n + SYSNR_FIELDS[i].off);
}

static int encode_sysnrs(struct tf_buf *b, const struct rtp_sysnrs *nrs)
{
	struct rtp_sysnrs n = *nrs;
	uint64_t count = 0;
	int r = 0;

	for (size_t i = 0; i < sizeof(SYSNR_FIELDS) / sizeof(SYSNR_FIELDS[0]); i++)
		count += *sysnr_at(&n, i) != RTP_NR_NONE;
	r = tf_put_varint(b, count);
	for (size_t i = 0; !r && i < sizeof(SYSNR_FIELDS) / sizeof(SYSNR_FIELDS[0]); i++)
		if (*sysnr_at(&n, i) != RTP_NR_NONE)
			r = tf_put_str(b, SYSNR_FIELDS[i].name, SYSNR_NAME_MAX) ?: tf_put_varint(b, *sysnr_at(&n, i));
	return r;
}

int tf_encode_header(struct tf_buf *b, const struct trace_header *h)
{
	return tf_put_varint(b, h->format_version) ?: tf_put_str(b, h->rtprof_version, sizeof(h->rtprof_version)) ?:
	       tf_put_str(b, h->host, sizeof(h->host)) ?: tf_put_str(b, h->kernel, sizeof(h->kernel)) ?:
	       tf_put_str(b, h->machine, sizeof(h->machine)) ?: tf_put_varint(b, h->clock_id) ?:
	       tf_put_varint(b, tf_zigzag(h->realtime_offset_ns)) ?: tf_put_varint(b, h->ncpus) ?:
	       tf_put_str(b, h->mode, sizeof(h->mode)) ?: tf_put_varint(b, h->target_pid) ?:
	       tf_put_str(b, h->command, sizeof(h->command)) ?: tf_put_varint(b, h->start_ns) ?:
	       encode_sysnrs(b, &h->sysnrs);
}

int tf_encode_record(struct tf_buf *b, const struct trace_rec *rec, uint64_t *prev_ts)
{
	uint64_t ts = trace_rec__ts(rec);
	uint8_t type = (uint8_t)rec->type;
	int r = tf_put_bytes(b, &type, 1) ?: tf_put_varint(b, tf_zigzag((int64_t)(ts - *prev_ts)));

	*prev_ts = ts;
	if (r)
		return r;
	switch (rec->type) {
	case RTP_TR_SYSCALL:
		return tf_put_varint(b, rec->sys.tid) ?: tf_put_varint(b, rec->sys.nr) ?: tf_put_varint(b, rec->sys.dur_ns) ?:
		       tf_put_varint(b, tf_zigzag(rec->sys.ret)) ?: tf_put_varint(b, rec->sys.cpu);
	case RTP_TR_SWITCH:
		return tf_put_varint(b, rec->sw.cpu) ?: tf_put_varint(b, rec->sw.prev_tid) ?: tf_put_varint(b, rec->sw.next_tid) ?:
		       tf_put_varint(b, rec->sw.prev_state) ?: tf_put_varint(b, rec->sw.preempt) ?:
		       tf_put_varint(b, rec->sw.prev_oncpu_ns) ?: tf_put_varint(b, rec->sw.prev_runq_ns);
	case RTP_TR_WAKEUP:
	case RTP_TR_MIGRATE:
		return tf_put_varint(b, rec->wk.cpu) ?: tf_put_varint(b, rec->wk.tid) ?: tf_put_varint(b, rec->wk.target_cpu);
	case RTP_TR_RUNTIME:
		return tf_put_varint(b, rec->rt.tid) ?: tf_put_varint(b, rec->rt.dur_ns) ?: tf_put_varint(b, rec->rt.kind) ?:
		       tf_put_varint(b, rec->rt.arg);
	case RTP_REC_THREAD_NEW:
	case RTP_REC_PROC_NEW:
	case RTP_REC_EXEC:
	case RTP_REC_THREAD_EXIT:
	case RTP_REC_RENAME:
		return tf_put_varint(b, rec->ev.flags) ?: tf_put_varint(b, rec->ev.tgid) ?: tf_put_varint(b, rec->ev.tid) ?:
		       tf_put_varint(b, rec->ev.parent_tgid) ?: tf_put_varint(b, rec->ev.parent_tid) ?:
		       tf_put_varint(b, tf_zigzag(rec->ev.exit_code)) ?: tf_put_varint(b, rec->ev.cpu) ?:
		       tf_put_str(b, rec->ev.comm, sizeof(rec->ev.comm));
	case TRACE_THREAD_BASE:
		return tf_put_varint(b, rec->th.tid) ?: tf_put_varint(b, rec->th.tgid) ?: tf_put_varint(b, rec->th.oncpu_ns) ?:
		       tf_put_varint(b, rec->th.runq_ns) ?: tf_put_str(b, rec->th.comm, sizeof(rec->th.comm)) ?:
		       tf_put_varint(b, rec->th.vol_switches) ?: tf_put_varint(b, rec->th.invol_switches);
	case TRACE_THREAD_END:
		return tf_put_varint(b, rec->th.tid) ?: tf_put_varint(b, rec->th.tgid) ?: tf_put_varint(b, rec->th.oncpu_ns) ?:
		       tf_put_varint(b, rec->th.runq_ns) ?: tf_put_str(b, rec->th.comm, sizeof(rec->th.comm));
	case TRACE_PROC:
		return tf_put_varint(b, rec->proc.pid) ?: tf_put_varint(b, rec->proc.runtime_kind) ?:
		       tf_put_str(b, rec->proc.runtime_version, sizeof(rec->proc.runtime_version)) ?:
		       tf_put_str(b, rec->proc.exe, sizeof(rec->proc.exe)) ?:
		       tf_put_str(b, rec->proc.comm, sizeof(rec->proc.comm));
	case TRACE_RUNTIME:
		return tf_put_varint(b, rec->rtm.pid) ?: tf_put_varint(b, rec->rtm.runtime_kind) ?:
		       tf_put_str(b, rec->rtm.gil_method, sizeof(rec->rtm.gil_method)) ?:
		       tf_put_str(b, rec->rtm.gil_unavailable, sizeof(rec->rtm.gil_unavailable)) ?:
		       tf_put_str(b, rec->rtm.gc_method, sizeof(rec->rtm.gc_method)) ?:
		       tf_put_str(b, rec->rtm.gc_unavailable, sizeof(rec->rtm.gc_unavailable)) ?:
		       tf_put_str(b, rec->rtm.loop_method, sizeof(rec->rtm.loop_method)) ?:
		       tf_put_str(b, rec->rtm.tp_method, sizeof(rec->rtm.tp_method)) ?:
		       tf_put_str(b, rec->rtm.tp_unavailable, sizeof(rec->rtm.tp_unavailable)) ?:
		       tf_put_varint(b, rec->rtm.probes_from) ?: tf_put_varint(b, rec->rtm.probes_late_ns);
	default:
		return -EINVAL;
	}
}

int tf_encode_footer(struct tf_buf *b, const struct trace_footer *f)
{
	uint32_t ncpus = f->ncpus < TRACE_MAX_CPUS ? f->ncpus : TRACE_MAX_CPUS;
	int r = tf_put_varint(b, f->end_ns) ?: tf_put_varint(b, f->records) ?: tf_put_varint(b, f->lost) ?:
		tf_put_varint(b, ncpus);

	for (uint32_t c = 0; c < ncpus && !r; c++)
		r = tf_put_varint(b, f->lost_per_cpu[c]);
	return r ?: tf_put_varint(b, tf_zigzag(f->exit_status)) ?: tf_put_f64(b, f->wall_s) ?: tf_put_f64(b, f->cpu_user_s) ?:
	       tf_put_f64(b, f->cpu_sys_s) ?: tf_put_varint(b, tf_zigzag(f->max_rss_kb)) ?:
	       tf_put_str(b, f->process_source, sizeof(f->process_source)) ?:
	       tf_put_str(b, f->stop_reason, sizeof(f->stop_reason));
}

/* Unknown names are skipped (a later writer's); a known call not listed is one the recording machine lacks. */
static void decode_sysnrs(struct tf_cur *c, struct trace_header *h)
{
	uint64_t count = tf_get_varint(c);
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

		tf_get_str(c, name, sizeof(name));
		nr = tf_get_u32(c);
		for (size_t i = 0; i < sizeof(SYSNR_FIELDS) / sizeof(SYSNR_FIELDS[0]); i++)
			if (!strcmp(name, SYSNR_FIELDS[i].name))
				*sysnr_at(&n, i) = nr;
	}
	if (c->bad)
		return;
	h->sysnrs = n;
	h->have_sysnrs = true;
}

int tf_decode_header(struct tf_cur *c, struct trace_header *h)
{
	memset(h, 0, sizeof(*h));
	h->format_version = tf_get_u32(c);
	tf_get_str(c, h->rtprof_version, sizeof(h->rtprof_version));
	tf_get_str(c, h->host, sizeof(h->host));
	tf_get_str(c, h->kernel, sizeof(h->kernel));
	tf_get_str(c, h->machine, sizeof(h->machine));
	h->clock_id = tf_get_u32(c);
	h->realtime_offset_ns = tf_unzigzag(tf_get_varint(c));
	h->ncpus = tf_get_u32(c);
	tf_get_str(c, h->mode, sizeof(h->mode));
	h->target_pid = tf_get_u32(c);
	tf_get_str(c, h->command, sizeof(h->command));
	h->start_ns = tf_get_varint(c);
	h->sysnrs = rtp_sysnrs_native();
	/* appended later: a header that ends here was written before */
	if (!c->bad && c->pos < c->len)
		decode_sysnrs(c, h);
	return c->bad || h->ncpus > TRACE_MAX_CPUS ? -EBADMSG : 0;
}

int tf_decode_footer(struct tf_cur *c, struct trace_footer *f)
{
	memset(f, 0, sizeof(*f));
	f->end_ns = tf_get_varint(c);
	f->records = tf_get_varint(c);
	f->lost = tf_get_varint(c);
	f->ncpus = tf_get_u32(c);
	if (f->ncpus > TRACE_MAX_CPUS)
		return -EBADMSG;
	for (uint32_t i = 0; i < f->ncpus; i++)
		f->lost_per_cpu[i] = tf_get_varint(c);
	f->exit_status = (int32_t)tf_unzigzag(tf_get_varint(c));
	f->wall_s = tf_get_f64(c);
	f->cpu_user_s = tf_get_f64(c);
	f->cpu_sys_s = tf_get_f64(c);
	f->max_rss_kb = tf_unzigzag(tf_get_varint(c));
	tf_get_str(c, f->process_source, sizeof(f->process_source));
	tf_get_str(c, f->stop_reason, sizeof(f->stop_reason));
	return c->bad ? -EBADMSG : 0;
}

bool tf_decode_record(struct tf_cur *c, uint64_t *prev_ts, struct trace_rec *rec)
{
	uint8_t type;
	uint64_t ts;

	if (c->pos >= c->len)
		return false;
	type = c->p[c->pos++];
	ts = *prev_ts + (uint64_t)tf_unzigzag(tf_get_varint(c));
	*prev_ts = ts;
	memset(rec, 0, sizeof(*rec));
	rec->type = type;
	switch (type) {
	case RTP_TR_SYSCALL:
		rec->sys.type = type;
		rec->sys.ts_ns = ts;
		rec->sys.tid = tf_get_u32(c);
		rec->sys.nr = tf_get_u32(c);
		rec->sys.dur_ns = tf_get_varint(c);
		rec->sys.ret = tf_unzigzag(tf_get_varint(c));
		rec->sys.cpu = tf_get_u32(c);
		break;
	case RTP_TR_SWITCH:
		rec->sw.type = type;
		rec->sw.ts_ns = ts;
		rec->sw.cpu = tf_get_u32(c);
		rec->sw.prev_tid = tf_get_u32(c);
		rec->sw.next_tid = tf_get_u32(c);
		rec->sw.prev_state = tf_get_u32(c);
		rec->sw.preempt = tf_get_u32(c);
		rec->sw.prev_oncpu_ns = tf_get_varint(c);
		rec->sw.prev_runq_ns = tf_get_varint(c);
		break;
	case RTP_TR_WAKEUP:
	case RTP_TR_MIGRATE:
		rec->wk.type = type;
		rec->wk.ts_ns = ts;
		rec->wk.cpu = tf_get_u32(c);
		rec->wk.tid = tf_get_u32(c);
		rec->wk.target_cpu = tf_get_u32(c);
		break;
	case RTP_TR_RUNTIME:
		rec->rt.type = type;
		rec->rt.ts_ns = ts;
		rec->rt.tid = tf_get_u32(c);
		rec->rt.dur_ns = tf_get_varint(c);
		rec->rt.kind = tf_get_u32(c);
		rec->rt.arg = tf_get_u32(c);
		break;
	case RTP_REC_THREAD_NEW:
	case RTP_REC_PROC_NEW:
	case RTP_REC_EXEC:
	case RTP_REC_THREAD_EXIT:
	case RTP_REC_RENAME:
		rec->ev.type = type;
		rec->ev.ts_ns = ts;
		rec->ev.flags = tf_get_u32(c);
		rec->ev.tgid = tf_get_u32(c);
		rec->ev.tid = tf_get_u32(c);
		rec->ev.parent_tgid = tf_get_u32(c);
		rec->ev.parent_tid = tf_get_u32(c);
		rec->ev.exit_code = (int32_t)tf_unzigzag(tf_get_varint(c));
		rec->ev.cpu = tf_get_u32(c);
		tf_get_str(c, rec->ev.comm, sizeof(rec->ev.comm));
		break;
	case TRACE_THREAD_BASE:
	case TRACE_THREAD_END:
		rec->th.ts_ns = ts;
		rec->th.tid = tf_get_u32(c);
		rec->th.tgid = tf_get_u32(c);
		rec->th.oncpu_ns = tf_get_varint(c);
		rec->th.runq_ns = tf_get_varint(c);
		tf_get_str(c, rec->th.comm, sizeof(rec->th.comm));
		if (type == TRACE_THREAD_BASE && (!c->version || c->version >= 4)) {
			rec->th.vol_switches = tf_get_varint(c);
			rec->th.invol_switches = tf_get_varint(c);
		}
		break;
	case TRACE_PROC:
		rec->proc.ts_ns = ts;
		rec->proc.pid = tf_get_u32(c);
		rec->proc.runtime_kind = tf_get_u32(c);
		tf_get_str(c, rec->proc.runtime_version, sizeof(rec->proc.runtime_version));
		tf_get_str(c, rec->proc.exe, sizeof(rec->proc.exe));
		tf_get_str(c, rec->proc.comm, sizeof(rec->proc.comm));
		break;
	case TRACE_RUNTIME:
		rec->rtm.ts_ns = ts;
		rec->rtm.pid = tf_get_u32(c);
		rec->rtm.runtime_kind = tf_get_u32(c);
		tf_get_str(c, rec->rtm.gil_method, sizeof(rec->rtm.gil_method));
		tf_get_str(c, rec->rtm.gil_unavailable, sizeof(rec->rtm.gil_unavailable));
		tf_get_str(c, rec->rtm.gc_method, sizeof(rec->rtm.gc_method));
		tf_get_str(c, rec->rtm.gc_unavailable, sizeof(rec->rtm.gc_unavailable));
		tf_get_str(c, rec->rtm.loop_method, sizeof(rec->rtm.loop_method));
		tf_get_str(c, rec->rtm.tp_method, sizeof(rec->rtm.tp_method));
		tf_get_str(c, rec->rtm.tp_unavailable, sizeof(rec->rtm.tp_unavailable));
		if (!c->version || c->version >= 3) {
			rec->rtm.probes_from = tf_get_u32(c);
			rec->rtm.probes_late_ns = tf_get_varint(c);
		}
		break;
	default:
		c->bad = true;
	}
	return !c->bad;
}

void trace_header__init(struct trace_header *h, uint64_t start_ns, unsigned int ncpus, const char *mode,
			pid_t target_pid, const char *command)
{
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
	h->realtime_offset_ns = (int64_t)(clock__ns(CLOCK_REALTIME) - clock__mono_ns());
	h->start_ns = start_ns;
	h->ncpus = ncpus;
	snprintf(h->mode, sizeof(h->mode), "%s", mode);
	h->target_pid = (uint32_t)target_pid;
	snprintf(h->command, sizeof(h->command), "%s", command ? command : "");
	h->sysnrs = rtp_sysnrs_native();
	h->have_sysnrs = true;
}
