/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The trace format's bytes (format.c), shared by the writer (writer.c) and the reader (reader.c). Each block
 * is one gzip member holding "RTPB", a kind byte ('H'eader, 'R'ecords, 'F'ooter), a sequence number and
 * varint-encoded fields; timestamps are zigzag deltas from the previous record of the block, reset at every
 * block, so each block decodes on its own: a cut or damaged file is readable up to, and again after, the
 * damaged block (docs/trace-format.md). Not part of the library's API. */
#ifndef RTPROF_TRACE_FORMAT_H
#define RTPROF_TRACE_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace/trace.h"

#define TF_BLOCK_TARGET (1u << 20) /* uncompressed bytes before a block is flushed */
#define TF_BLOCK_LIMIT (8u << 20) /* the reader refuses larger blocks (the writer's: TF_BLOCK_TARGET and one record) */
#define TF_BLOCK_MAGIC "RTPB"
#define TF_CHUNK (64u << 10)       /* compressed bytes moved at a time */

/* A growing byte buffer: what a block holds before it is compressed, or after it is inflated. */
struct tf_buf {
	uint8_t *p;
	size_t len, cap;
};

/* A cursor over a block being decoded: reads past its end set `bad` and give zeros. */
struct tf_cur {
	const uint8_t *p;
	size_t len, pos;
	bool bad;
	uint32_t version; /* the trace's format version; 0: this rtprof's */
};

int tf_put_bytes(struct tf_buf *b, const void *p, size_t len);
int tf_put_varint(struct tf_buf *b, uint64_t v);
uint64_t tf_get_varint(struct tf_cur *c);

/* A block's contents. encode_*: 0 or -ENOMEM. decode_header/footer: 0 or -EBADMSG; decode_record: false at
 * the end of the block or at a record that does not decode. */
int tf_encode_header(struct tf_buf *b, const struct trace_header *h);
int tf_encode_record(struct tf_buf *b, const struct trace_rec *rec, uint64_t *prev_ts);
int tf_encode_footer(struct tf_buf *b, const struct trace_footer *f);
int tf_decode_header(struct tf_cur *c, struct trace_header *h);
int tf_decode_footer(struct tf_cur *c, struct trace_footer *f);
bool tf_decode_record(struct tf_cur *c, uint64_t *prev_ts, struct trace_rec *rec);

#endif
