// SPDX-License-Identifier: LGPL-2.1-or-later
/* The one JSON form of a report: the CLI prints it, rtprofd sends it, compare and the daemon client read
 * it back (keys: docs/report-json.md). The keys and their order are the tables of report_fields.c; this
 * file turns each kind of field into JSON and back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "base/text.h"
#include "model/report.h"
#include "model/report_fields.h"

/* Names and paths come from the kernel and the file system: bytes, not necessarily UTF-8. */
json_object *fields__json_text(const char *s)
{
	char buf[3 * 4096 + 1];

	utf8_sanitize(s, buf, sizeof(buf));
	return json_object_new_string(buf);
}

static json_object *hist_json(const uint64_t *slots, size_t n)
{
	json_object *a = json_object_new_array();
	size_t last = 0;

	for (size_t i = 0; i < n; i++)
		if (slots[i])
			last = i + 1;
	for (size_t i = 0; i < last; i++)
		json_object_array_add(a, json_object_new_uint64(slots[i]));
	return a;
}

#define AT(type, row, f) ((type *)((char *)(row) + (f)->offset))
#define CAT(type, row, f) ((const type *)((const char *)(row) + (f)->offset))

uint64_t fields__u64(const struct rtp_field *f, const void *row)
{
	return *CAT(uint64_t, row, f);
}

/* Zero or "": for OMIT_ZERO and NULL_ZERO */
static bool is_zero(const struct rtp_field *f, const void *row)
{
	switch (f->kind) {
	case RTP_FIELD_U64:
		return !*CAT(uint64_t, row, f);
	case RTP_FIELD_INT:
		return !*CAT(int, row, f);
	case RTP_FIELD_STRING:
	case RTP_FIELD_TEXT:
		return !CAT(char, row, f)[0];
	default:
		return false;
	}
}

static json_object *value_json(const struct rtp_field *f, const void *row)
{
	switch (f->kind) {
	case RTP_FIELD_U64:
		return json_object_new_uint64(*CAT(uint64_t, row, f));
	case RTP_FIELD_INT:
		return json_object_new_int(*CAT(int, row, f));
	case RTP_FIELD_UINT:
		return json_object_new_int((int)*CAT(unsigned int, row, f));
	case RTP_FIELD_LONG:
		return json_object_new_int64(*CAT(long, row, f));
	case RTP_FIELD_DOUBLE:
		return json_object_new_double(*CAT(double, row, f));
	case RTP_FIELD_BOOL:
		return json_object_new_boolean(*CAT(bool, row, f));
	case RTP_FIELD_STRING:
		return json_object_new_string(CAT(char, row, f));
	case RTP_FIELD_TEXT:
		return fields__json_text(CAT(char, row, f));
	case RTP_FIELD_HIST:
		return hist_json(CAT(uint64_t, row, f), RTP_HIST_SLOTS);
	default:
		return NULL;
	}
}

void fields__to_json(const struct rtp_fields *t, const void *row, json_object *o)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct rtp_field *f = &t->f[i];

		if (f->present && !f->present(row))
			continue;
		switch (f->kind) {
		case RTP_FIELD_CODE:
			f->to_json(o, f->key, row);
			break;
		case RTP_FIELD_METHOD: {
			/* the method, or null and the reason it is not measured */
			const char *method = CAT(char, row, f);
			const char *unavailable = (const char *)row + f->offset2;

			json_object_object_add(o, f->key, method[0] ? json_object_new_string(method) : NULL);
			if (!method[0])
				json_object_object_add(o, "unavailable",
						       fields__json_text(unavailable[0] ? unavailable : "not measured"));
			break;
		}
		case RTP_FIELD_OBJECT: {
			json_object *m = json_object_new_object();

			fields__to_json(f->sub, (const char *)row + f->offset, m);
			json_object_object_add(o, f->key, m);
			break;
		}
		case RTP_FIELD_ROWS: {
			json_object *a = json_object_new_array();
			const char *rows = *CAT(char *, row, f);
			size_t n = *(const size_t *)((const char *)row + f->offset2);

			for (size_t k = 0; k < n; k++) {
				json_object *m = json_object_new_object();

				fields__to_json(f->sub, rows + k * f->size, m);
				json_object_array_add(a, m);
			}
			json_object_object_add(o, f->key, a);
			break;
		}
		default:
			if ((f->flags & RTP_FIELD_OMIT_ZERO) && is_zero(f, row))
				break;
			if (((f->flags & RTP_FIELD_NULL_ZERO) && is_zero(f, row)) || (f->unknown && f->unknown(row)))
				json_object_object_add(o, f->key, NULL);
			else
				json_object_object_add(o, f->key, value_json(f, row));
			break;
		}
	}
}

json_object *report__json(const struct rtp_report *r)
{
	json_object *root = json_object_new_object();

	if (!root)
		return NULL;
	fields__to_json(&report_fields, r, root);
	return root;
}

/* ---- reading it back ---- */

uint64_t fields__json_u64(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (json_object_is_type(v, json_type_int))
		return json_object_get_uint64(v);
	if (json_object_is_type(v, json_type_double)) {
		double d = json_object_get_double(v);

		/* a double beyond uint64_t (or NaN) must not be cast: that is undefined */
		if (!(d >= 0))
			return 0;
		return d >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)d;
	}
	return 0;
}

void fields__json_string(json_object *o, const char *key, char *out, size_t size)
{
	json_object *v;

	out[0] = '\0';
	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		snprintf(out, size, "%s", json_object_get_string(v));
}

json_object *fields__json_array(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_array) ? v : NULL;
}

static double get_double(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_double(v) : 0;
}

static void get_hist(json_object *o, const char *key, uint64_t *slots)
{
	json_object *a = fields__json_array(o, key);
	size_t n = a ? json_object_array_length(a) : 0;

	for (size_t i = 0; i < n && i < RTP_HIST_SLOTS; i++)
		slots[i] = (uint64_t)json_object_get_int64(json_object_array_get_idx(a, i));
}

/* An array of rows: each object of the array is read into a new row; anything else is skipped. */
static int rows_from_json(const struct rtp_field *f, json_object *o, void *row)
{
	json_object *a = fields__json_array(o, f->key);
	size_t n = a ? json_object_array_length(a) : 0, *count = (size_t *)((char *)row + f->offset2);
	char *rows;
	int ret;

	if (!n)
		return 0;
	rows = calloc(n, f->size);
	if (!rows)
		return -ENOMEM;
	*AT(char *, row, f) = rows;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(a, i);

		if (!json_object_is_type(e, json_type_object))
			continue;
		ret = fields__from_json(f->sub, e, rows + *count * f->size);
		(*count)++;
		if (ret)
			return ret;
	}
	if (!*count) {
		free(rows);
		*AT(char *, row, f) = NULL;
	}
	return 0;
}

int fields__from_json(const struct rtp_fields *t, json_object *o, void *row)
{
	json_object *v;
	int ret = 0;

	for (size_t i = 0; i < t->n && !ret; i++) {
		const struct rtp_field *f = &t->f[i];

		switch (f->kind) {
		case RTP_FIELD_U64:
			*AT(uint64_t, row, f) = fields__json_u64(o, f->key);
			break;
		case RTP_FIELD_INT:
			*AT(int, row, f) = (int)fields__json_u64(o, f->key);
			break;
		case RTP_FIELD_UINT:
			*AT(unsigned int, row, f) = (unsigned int)fields__json_u64(o, f->key);
			break;
		case RTP_FIELD_LONG:
			*AT(long, row, f) = (long)fields__json_u64(o, f->key);
			break;
		case RTP_FIELD_DOUBLE:
			*AT(double, row, f) = get_double(o, f->key);
			break;
		case RTP_FIELD_BOOL:
			*AT(bool, row, f) = json_object_get_boolean(json_object_object_get(o, f->key));
			break;
		case RTP_FIELD_STRING:
		case RTP_FIELD_TEXT:
			fields__json_string(o, f->key, AT(char, row, f), f->size);
			break;
		case RTP_FIELD_HIST:
			get_hist(o, f->key, AT(uint64_t, row, f));
			break;
		case RTP_FIELD_METHOD:
			fields__json_string(o, f->key, AT(char, row, f), f->size);
			fields__json_string(o, "unavailable", (char *)row + f->offset2, f->size2);
			break;
		case RTP_FIELD_OBJECT:
			if (json_object_object_get_ex(o, f->key, &v))
				ret = fields__from_json(f->sub, v, (char *)row + f->offset);
			break;
		case RTP_FIELD_ROWS:
			ret = rows_from_json(f, o, row);
			break;
		case RTP_FIELD_CODE:
			break;
		}
		if (!ret && f->from_json)
			ret = f->from_json(o, f->key, row);
	}
	return ret;
}

int report__from_json(json_object *o, struct rtp_report **out)
{
	struct rtp_report *r;
	json_object *v;

	if (!o || !json_object_is_type(o, json_type_object))
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	if (fields__from_json(&report_fields, o, r))
		goto nomem;
	/* a report of before `targets`: only the main target */
	if (!r->n_targets && json_object_object_get_ex(o, "target", &v)) {
		r->targets = calloc(1, sizeof(*r->targets));
		if (!r->targets)
			goto nomem;
		if (fields__from_json(&report_target_fields, v, &r->targets[r->n_targets++]))
			goto nomem;
	}
	*out = r;
	return 0;
nomem:
	report__free(r);
	return -ENOMEM;
}
