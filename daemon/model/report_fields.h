/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The report's fields, declared once (report_fields.c): for each, its JSON key, its kind, where it lives in
 * its struct and how a rolling window treats it. The JSON writer and reader, report__subtract, rtprofd's
 * /metrics and `compare` walk these tables instead of naming the fields one by one.
 * A new statistic: its member in report.h, its line in the table of report_fields.c (JSON key in the
 * order of docs/report-json.md, kind, merge rule; a title to compare it, a metric to export it), its
 * value where the engine and trace replay fill the row, and its key in docs/report-json.md. */
#ifndef RTPROF_REPORT_FIELDS_H
#define RTPROF_REPORT_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/report.h"

struct json_object;

enum rtp_field_kind {
	RTP_FIELD_U64,
	RTP_FIELD_INT,    /* int or pid_t */
	RTP_FIELD_UINT,   /* unsigned int */
	RTP_FIELD_LONG,   /* long, written as a 64-bit integer */
	RTP_FIELD_DOUBLE,
	RTP_FIELD_BOOL,
	RTP_FIELD_STRING, /* char[size] of ours, written as it is */
	RTP_FIELD_TEXT,   /* char[size] from the kernel or a file: bytes, written as valid UTF-8 */
	RTP_FIELD_HIST,   /* uint64_t[RTP_HIST_SLOTS], written up to its last non-empty slot */
	RTP_FIELD_METHOD, /* a runtime metric's method char[size] ("": not measured; null, and its reason at offset2) */
	RTP_FIELD_OBJECT, /* a nested JSON object: the fields (sub) of the struct at offset (0: the same struct) */
	RTP_FIELD_ROWS,   /* an array of rows (sub): a pointer at offset, a size_t count at offset2, each size bytes */
	RTP_FIELD_CODE,   /* irregular: written and read by its hooks */
};

/* What a rolling window (report__subtract: now minus then) makes of a field */
enum rtp_field_merge {
	RTP_MERGE_KEEP,       /* an identity or a setting: now's */
	RTP_MERGE_SUM,        /* a count or a time that only grows: now's minus then's (never below 0) */
	RTP_MERGE_MAX,        /* a maximum cannot be taken apart: now's */
	RTP_MERGE_HIST,       /* a histogram: slot by slot, as a sum */
	RTP_MERGE_RECOMPUTED, /* derived from other fields (a percentile, a share): computed again by code */
};

enum {
	RTP_FIELD_NS = 1 << 0,        /* nanoseconds: rendered as a duration, exported in seconds */
	RTP_FIELD_OMIT_ZERO = 1 << 1, /* left out of the JSON when 0 or "" */
	RTP_FIELD_NULL_ZERO = 1 << 2, /* null in the JSON when 0 or "" */
};

struct rtp_fields;

struct rtp_field {
	const char *key; /* its JSON key */
	enum rtp_field_kind kind;
	enum rtp_field_merge merge;
	unsigned int flags;
	size_t offset, size;   /* in its struct; ROWS: size of one row */
	size_t offset2, size2; /* METHOD: the reason it is not measured; ROWS: the count */
	const struct rtp_fields *sub; /* OBJECT, ROWS */
	bool (*present)(const void *row); /* written only when true (NULL: always); read back regardless */
	bool (*unknown)(const void *row); /* written as null when true (NULL: never) */
	/* CODE: adds its key(s) to o; other kinds: nothing (NULL) */
	void (*to_json)(struct json_object *o, const char *key, const void *row);
	/* CODE: reads its key(s) from o (NULL: derived, nothing to read); other kinds: called after the
	 * value was read. 0 or -ENOMEM. */
	int (*from_json)(struct json_object *o, const char *key, void *row);
	const char *title;         /* the figure's name in tables (compare) */
	const char *metric, *help; /* its Prometheus counter on rtprofd's /metrics */
};

struct rtp_fields {
	const struct rtp_field *f;
	size_t n;
};

/* One table per struct of report.h */
extern const struct rtp_fields report_fields;          /* struct rtp_report: the JSON's top level */
extern const struct rtp_fields report_target_fields;   /* struct rtp_report_target */
extern const struct rtp_fields report_process_fields;  /* struct rtp_report_process */
extern const struct rtp_fields report_syscall_fields;  /* struct rtp_report_syscall */
extern const struct rtp_fields report_thread_fields;   /* struct rtp_report_thread */
extern const struct rtp_fields report_runtime_fields;  /* struct rtp_report_runtime */
extern const struct rtp_fields report_gil_thread_fields; /* struct rtp_report_gil_thread */
extern const struct rtp_fields report_isolate_fields;    /* struct rtp_report_isolate */
extern const struct rtp_fields report_thread_syscall_fields; /* struct rtp_report_thread_syscall */
extern const struct rtp_fields report_rt_stat_fields;  /* struct rtp_report_rt_stat */

/* The value of a U64 field of row */
uint64_t fields__u64(const struct rtp_field *f, const void *row);

/* Add row's fields to the JSON object o, in the table's order. */
void fields__to_json(const struct rtp_fields *t, const void *row, struct json_object *o);
/* Read row's fields back from o (missing keys leave them as they are): 0 or -ENOMEM. */
int fields__from_json(const struct rtp_fields *t, struct json_object *o, void *row);
/* row (a copy of now's) minus then, field by field after each one's merge rule; ROWS and CODE fields
 * are left to the caller. */
void fields__subtract(const struct rtp_fields *t, void *row, const void *then);

/* For the hooks of CODE fields: JSON of a string from the kernel or a file (valid UTF-8); an integer of o
 * (0 when missing or not a number); a string of o ("" when missing); an array of o (NULL when not one). */
struct json_object *fields__json_text(const char *s);
uint64_t fields__json_u64(struct json_object *o, const char *key);
void fields__json_string(struct json_object *o, const char *key, char *out, size_t size);
struct json_object *fields__json_array(struct json_object *o, const char *key);

/* A syscall row's failures by path, as the report's "error_paths" (also the trace's E block): added to o
 * (nothing when none); read back from o's key, 0 or -ENOMEM. */
void report__err_paths_json(struct json_object *o, const char *key, const struct rtp_report_syscall *s);
int report__err_paths_read(struct json_object *o, const char *key, struct rtp_report_syscall *s);

#endif
