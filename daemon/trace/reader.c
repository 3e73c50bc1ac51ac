// SPDX-License-Identifier: LGPL-2.1-or-later
/* The trace reader: inflates one gzip member (block) at a time and decodes it. A damaged or cut block ends
 * the reading at the last complete one, with a warning; the reader resynchronises on the next member where
 * it can. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <json-c/json.h>

#include "model/profiles.h"
#include "trace/format.h"
#include "trace/trace.h"

static void warn(struct trace_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
struct trace_reader {
	FILE *f;
	const uint8_t *mem;
	size_t mem_len, mem_pos;
	uint8_t *in;
	z_stream z;
	bool z_ready;
	bool input_done;
	struct tf_buf block;
	struct tf_cur c; /* over the current 'R' block */
	uint64_t prev_ts;
	uint64_t blocks, bad_blocks;
	struct trace_header hdr;
	struct trace_footer footer;
	bool have_footer, done;
	struct rtp_profiles *profiles; /* the P block's */
	json_object *err_paths;        /* the E block's */
	char warning[256];
};

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
		if (n > TF_CHUNK)
			n = TF_CHUNK;
		r->z.next_in = (Bytef *)(uintptr_t)(r->mem + r->mem_pos);
		r->mem_pos += n;
	} else {
		n = fread(r->in, 1, TF_CHUNK, r->f);
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
		if (tf_put_bytes(&r->block, out, sizeof(out) - r->z.avail_out))
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
		if (r->block.len > TF_BLOCK_LIMIT) {
			(void)resync(r);
			return -EBADMSG;
		}
	}
}

/* Check a block's magic; return its kind and leave the cursor after the sequence number. */
static int block_kind(struct trace_reader *r, struct tf_cur *c)
{
	char kind;

	*c = (struct tf_cur){ .p = r->block.p, .len = r->block.len };
	if (r->block.len < 6 || memcmp(r->block.p, TF_BLOCK_MAGIC, 4))
		return -EBADMSG;
	kind = (char)r->block.p[4];
	c->pos = 5;
	(void)tf_get_varint(c); /* sequence number */
	return c->bad ? -EBADMSG : kind;
}

static int reader_init(struct trace_reader *r, char *err, size_t errlen)
{
	struct tf_cur c;
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
	if (m < 0 || (kind = block_kind(r, &c)) != 'H' || tf_decode_header(&c, &r->hdr)) {
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
	r->in = malloc(TF_CHUNK);
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

/* A JSON block (P, E): varint length, then that many bytes of JSON text, all of it one value. The value, or
 * NULL with *err: -EBADMSG (damaged), -ENOMEM. */
static json_object *block_json(struct tf_cur *c, int *err)
{
	uint64_t len = tf_get_varint(c);
	struct json_tokener *tok;
	json_object *o;

	*err = -EBADMSG;
	if (c->bad || len > c->len - c->pos)
		return NULL;
	tok = json_tokener_new_ex(32);
	if (!tok) {
		*err = -ENOMEM;
		return NULL;
	}
	o = json_tokener_parse_ex(tok, (const char *)c->p + c->pos, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success || tok->char_offset != (int)len) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/* The P block: the stacks (compact form). 0 or -EBADMSG; -ENOMEM. */
static int read_profiles(struct trace_reader *r, struct tf_cur *c)
{
	int err;
	json_object *o = block_json(c, &err);

	if (!o)
		return err;
	err = 0;
	r->profiles = profiles__from_trace_json(o, &err);
	json_object_put(o);
	return r->profiles ? 0 : err ? err : -EBADMSG;
}

/* The E block: the failures by path (an object). 0 or -EBADMSG; -ENOMEM. */
static int read_err_paths(struct trace_reader *r, struct tf_cur *c)
{
	int err;
	json_object *o = block_json(c, &err);

	if (o && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -EBADMSG;
	}
	r->err_paths = o;
	return o ? 0 : err;
}

json_object *trace_reader__take_err_paths(struct trace_reader *r)
{
	json_object *o = r->err_paths;

	r->err_paths = NULL;
	return o;
}

struct rtp_profiles *trace_reader__take_profiles(struct trace_reader *r)
{
	struct rtp_profiles *p = r->profiles;

	r->profiles = NULL;
	return p;
}

int trace_reader__next(struct trace_reader *r, struct trace_rec *rec)
{
	for (;;) {
		struct tf_cur c;
		int m, kind;

		if (r->c.p && r->c.pos < r->c.len) {
			if (tf_decode_record(&r->c, &r->prev_ts, rec))
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
			r->c.version = r->hdr.format_version;
			r->prev_ts = 0;
		} else if (kind == 'P' && !r->profiles) {
			if (read_profiles(r, &c))
				warn(r, "the trace's stacks are damaged: left out");
		} else if (kind == 'E' && !r->err_paths) {
			if (read_err_paths(r, &c))
				warn(r, "the trace's failures by path are damaged: left out");
		} else if (kind == 'F' && !r->have_footer) {
			r->have_footer = tf_decode_footer(&c, &r->footer) == 0;
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
	profiles__free(r->profiles);
	json_object_put(r->err_paths);
	free(r);
}
