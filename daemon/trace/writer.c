// SPDX-License-Identifier: LGPL-2.1-or-later
/* The trace writer: records into blocks, each compressed as one gzip member and written to a file or
 * handed to a sink (rtprofd streams it to the client, which writes the file as the user). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <json-c/json.h>

#include "model/profiles.h"
#include "model/report.h"
#include "model/report_fields.h"
#include "model/report.h"
#include "trace/format.h"
#include "trace/trace.h"

struct trace_writer {
	int fd; /* -1 with a sink */
	trace_sink_fn sink;
	void *sink_ctx;
	z_stream z;
	bool z_ready;
	struct tf_buf block;
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
	return tf_put_bytes(&w->block, TF_BLOCK_MAGIC, 4) ?: tf_put_bytes(&w->block, &kind, 1) ?: tf_put_varint(&w->block, w->seq++);
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
		w->z.avail_out = TF_CHUNK;
		zr = deflate(&w->z, Z_FINISH);
		if (zr == Z_STREAM_ERROR)
			return w->err = -EIO;
		r = w->sink ? w->sink(w->sink_ctx, w->zout, TF_CHUNK - w->z.avail_out)
			    : write_all(w->fd, w->zout, TF_CHUNK - w->z.avail_out);
		if (r)
			return w->err = r;
		w->bytes += TF_CHUNK - w->z.avail_out;
	} while (zr != Z_STREAM_END);
	return 0;
}

static int writer_new(int level, struct trace_writer **out)
{
	struct trace_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->fd = -1;
	w->zout = malloc(TF_CHUNK);
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
	return block_begin(w, 'H') ?: tf_encode_header(&w->block, h) ?: block_emit(w) ?: block_begin(w, 'R');
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

int trace_writer__write(struct trace_writer *w, const struct trace_rec *rec)
{
	size_t mark = w->block.len;
	uint64_t prev = w->prev_ts;
	int r;

	if (w->err)
		return w->err;
	r = tf_encode_record(&w->block, rec, &w->prev_ts);
	if (r) {
		w->block.len = mark; /* drop the partial record */
		w->prev_ts = prev;
		return r;
	}
	w->block_records++;
	w->records++;
	if (w->block.len >= TF_BLOCK_TARGET)
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

int trace_writer__close(struct trace_writer *w, const struct trace_footer *f)
{
	int r = trace_writer__flush(w);

	r = r ?: block_begin(w, 'F') ?: tf_encode_footer(&w->block, f) ?: block_emit(w);
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

/* The session's stacks (model/profiles.h) in a P block of their own, before the footer: JSON text, the
 * compact form (functions and stacks once). */
static int write_profiles(struct trace_writer *w, const struct rtp_profiles *p)
{
	json_object *o = profiles__trace_json(p);
	const char *text = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : NULL;
	size_t len = text ? strlen(text) : 0;
	int r = -ENOMEM;

	if (text && len < TF_BLOCK_LIMIT - 64)
		r = trace_writer__flush(w) ?: block_begin(w, 'P') ?: tf_put_varint(&w->block, len) ?:
		    tf_put_bytes(&w->block, text, len) ?: block_emit(w);
	else if (text)
		r = 0; /* more stacks than a block holds: the trace goes without them (the live report had them) */
	json_object_put(o);
	return r;
}

/* The session's failures by path (the report's syscalls' error_paths) in an E block of their own, before the
 * footer: JSON text {"drops": N, "syscalls": [{"nr": NR, "error_paths": [...]}]}. None: no block. */
static int write_err_paths(struct trace_writer *w, const struct rtp_report *rep)
{
	json_object *o, *rows;
	const char *text;
	size_t len;
	int r = -ENOMEM;

	if (!rep->err_path_drops) {
		size_t i = 0;

		while (i < rep->n_syscalls && !rep->syscalls[i].n_err_paths)
			i++;
		if (i == rep->n_syscalls)
			return 0;
	}
	o = json_object_new_object();
	rows = json_object_new_array();
	if (!o || !rows) {
		json_object_put(o);
		json_object_put(rows);
		return -ENOMEM;
	}
	json_object_object_add(o, "drops", json_object_new_uint64(rep->err_path_drops));
	json_object_object_add(o, "syscalls", rows);
	for (size_t i = 0; i < rep->n_syscalls; i++) {
		json_object *row;

		if (!rep->syscalls[i].n_err_paths)
			continue;
		row = json_object_new_object();
		json_object_object_add(row, "nr", json_object_new_int((int)rep->syscalls[i].nr));
		report__err_paths_json(row, "error_paths", &rep->syscalls[i]);
		json_object_array_add(rows, row);
	}
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	len = text ? strlen(text) : 0;
	if (text && len < TF_BLOCK_LIMIT - 64)
		r = trace_writer__flush(w) ?: block_begin(w, 'E') ?: tf_put_varint(&w->block, len) ?:
		    tf_put_bytes(&w->block, text, len) ?: block_emit(w);
	else if (text)
		r = 0;
	json_object_put(o);
	return r;
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
	write_err = rep->profiles ? write_profiles(w, rep->profiles) : 0;
	write_err = write_err ?: write_err_paths(w, rep);
	if (write_err) {
		trace_writer__abort(w);
		return write_err;
	}
	return trace_writer__close(w, f);
}
