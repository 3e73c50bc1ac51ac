// SPDX-License-Identifier: LGPL-2.1-or-later
/* libFuzzer target: a .rtprof.gz trace from memory, every record read, the footer and warning looked at.
 * The reader trusts nothing in the file: any input must end in an error or a (possibly warned) end.
 * A custom mutator also mutates the decompressed content of one gzip member and compresses it again:
 * mutating compressed bytes alone almost only ever breaks a CRC, and never reaches the record decoder. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <zlib.h>
#include <json-c/json.h>

#include "model/report.h"
#include "model/report_fields.h"
#include "trace/trace.h"

#define PLAIN_MAX (1u << 20) /* members inflating to more are mutated raw */

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

/* The E block's failures by path, read into syscall rows as a replay does. */
static uint64_t err_paths(struct trace_reader *r)
{
	json_object *o = trace_reader__take_err_paths(r), *rows;
	uint64_t sink = 0;

	if (o && json_object_object_get_ex(o, "syscalls", &rows) && json_object_is_type(rows, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(rows); i++) {
			struct rtp_report_syscall row = { 0 };

			if (report__err_paths_read(json_object_array_get_idx(rows, i), "error_paths", &row) == 0)
				for (size_t k = 0; k < row.n_err_paths; k++)
					sink += strlen(row.err_paths[k].path) + row.err_paths[k].count;
			free(row.err_paths);
		}
	}
	json_object_put(o);
	return sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace_reader *r = NULL;
	const struct trace_header *h;
	struct trace_rec rec;
	char err[256];
	volatile uint64_t sink = 0;
	int n;

	err[0] = '\0';
	if (trace_reader__open_mem(data, size, &r, err, sizeof(err)) != 0) {
		/* a failed open always says why */
		if (!err[0])
			__builtin_trap();
		return 0;
	}
	/* every string the reader hands out is terminated within its field */
	h = trace_reader__header(r);
	sink += strlen(h->rtprof_version) + strlen(h->host) + strlen(h->kernel) + strlen(h->machine) +
		strlen(h->mode) + strlen(h->command);
	while ((n = trace_reader__next(r, &rec)) == 1) {
		sink += trace_rec__ts(&rec) + rec.type;
		if (rec.type >= RTP_REC_THREAD_NEW && rec.type <= RTP_REC_RENAME)
			sink += strlen(rec.ev.comm);
		else if (rec.type == TRACE_THREAD_BASE || rec.type == TRACE_THREAD_END)
			sink += strlen(rec.th.comm);
		else if (rec.type == TRACE_PROC)
			sink += strlen(rec.proc.runtime_version) + strlen(rec.proc.exe) + strlen(rec.proc.comm);
	}
	if (n == 0) {
		const struct trace_footer *f = trace_reader__footer(r);
		const char *w = trace_reader__warning(r);

		if (f)
			sink += f->records + strlen(f->stop_reason) + strlen(f->process_source);
		if (w)
			sink += strlen(w);
		sink += err_paths(r);
		/* after the end, the end again */
		if (trace_reader__next(r, &rec) != 0)
			__builtin_trap();
	}
	trace_reader__free(r);
	(void)sink;
	return 0;
}

/* Inflate the gzip member at data[0..size): its length in the input, its content in *plain. 0 if not one. */
static size_t inflate_member(const uint8_t *data, size_t size, uint8_t *plain, size_t *plain_len)
{
	z_stream z = {};
	size_t used = 0;
	int zr;

	if (inflateInit2(&z, 15 + 16) != Z_OK)
		return 0;
	z.next_in = (Bytef *)(uintptr_t)data;
	z.avail_in = (uInt)size;
	z.next_out = plain;
	z.avail_out = PLAIN_MAX;
	zr = inflate(&z, Z_FINISH);
	if (zr == Z_STREAM_END) {
		used = size - z.avail_in;
		*plain_len = PLAIN_MAX - z.avail_out;
	}
	inflateEnd(&z);
	return used;
}

static size_t deflate_member(const uint8_t *plain, size_t len, uint8_t *out, size_t cap)
{
	z_stream z = {};
	size_t n = 0;

	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return 0;
	z.next_in = (Bytef *)(uintptr_t)plain;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) == Z_STREAM_END)
		n = cap - z.avail_out;
	deflateEnd(&z);
	return n;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	static uint8_t plain[PLAIN_MAX], packed[PLAIN_MAX];
	size_t starts[64], lens[64], nmembers = 0, pos = 0, plain_len = 0, packed_len;
	size_t k;

	/* a quarter of the time, the bytes as they are: gzip framing, truncation, resynchronisation */
	if (seed % 4 == 0)
		return LLVMFuzzerMutate(data, size, max_size);
	while (pos < size && nmembers < 64) {
		size_t used = inflate_member(data + pos, size - pos, plain, &plain_len);

		if (!used)
			break;
		starts[nmembers] = pos;
		lens[nmembers++] = used;
		pos += used;
	}
	if (!nmembers)
		goto fallback;
	k = (seed / 4) % nmembers;
	(void)inflate_member(data + starts[k], lens[k], plain, &plain_len);
	plain_len = LLVMFuzzerMutate(plain, plain_len, PLAIN_MAX);
	packed_len = deflate_member(plain, plain_len, packed, max_size < PLAIN_MAX ? max_size : PLAIN_MAX);
	if (!packed_len || size - lens[k] + packed_len > max_size)
		goto fallback;
	memmove(data + starts[k] + packed_len, data + starts[k] + lens[k], size - starts[k] - lens[k]);
	memcpy(data + starts[k], packed, packed_len);
	return size - lens[k] + packed_len;
fallback:
	return LLVMFuzzerMutate(data, size, max_size);
}
