// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonw.h"
#include "base/text.h"

#define JSONW_MAX_DEPTH 32

struct jsonw {
	FILE *f;
	gzFile gz;
	int err;            /* 0 or the first -errno */
	unsigned int depth; /* open objects and arrays */
	bool after_key;     /* a member name was written: its value comes without a comma */
	bool newline;       /* a line break before the next member, element or closing bracket */
	bool has_items[JSONW_MAX_DEPTH]; /* the container at that depth has a member or element already */
	size_t len;
	char buf[1 << 16];
};

struct jsonw *jsonw__new(FILE *f, gzFile gz)
{
	struct jsonw *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->f = f;
	w->gz = f ? NULL : gz;
	return w;
}

void jsonw__free(struct jsonw *w)
{
	free(w);
}

int jsonw__flush(struct jsonw *w)
{
	if (w->len && !w->err) {
		if (w->gz) {
			if (gzwrite(w->gz, w->buf, (unsigned int)w->len) != (int)w->len)
				w->err = -EIO;
		} else if (fwrite(w->buf, 1, w->len, w->f) != w->len) {
			w->err = -EIO;
		}
	}
	w->len = 0;
	return w->err;
}

int jsonw__err(const struct jsonw *w)
{
	return w->err;
}

void jsonw__fail(struct jsonw *w, int err)
{
	if (!w->err)
		w->err = err;
}

static void put(struct jsonw *w, const char *s, size_t n)
{
	while (n && !w->err) {
		size_t room = sizeof(w->buf) - w->len, k = n < room ? n : room;

		memcpy(w->buf + w->len, s, k);
		w->len += k;
		s += k;
		n -= k;
		if (w->len == sizeof(w->buf))
			(void)jsonw__flush(w);
	}
}

static void vput(struct jsonw *w, const char *fmt, va_list ap)
{
	char small[512], *big;
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n < 0) {
		jsonw__fail(w, -EINVAL);
	} else if ((size_t)n < sizeof(small)) {
		put(w, small, (size_t)n);
	} else if (!(big = malloc((size_t)n + 1))) {
		jsonw__fail(w, -ENOMEM);
	} else {
		vsnprintf(big, (size_t)n + 1, fmt, again);
		put(w, big, (size_t)n);
		free(big);
	}
	va_end(again);
}

static void line_break(struct jsonw *w)
{
	if (w->newline)
		put(w, "\n", 1);
	w->newline = false;
}

/* Before a value or a member name: the comma after the previous one, and a requested line break. */
static void next_item(struct jsonw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth) {
		if (w->has_items[w->depth - 1])
			put(w, ",", 1);
		w->has_items[w->depth - 1] = true;
	}
	line_break(w);
}

static void begin(struct jsonw *w, char open)
{
	next_item(w);
	if (w->depth == JSONW_MAX_DEPTH) {
		jsonw__fail(w, -EINVAL);
		return;
	}
	w->has_items[w->depth++] = false;
	put(w, &open, 1);
}

static void end(struct jsonw *w, char close)
{
	if (!w->depth) {
		jsonw__fail(w, -EINVAL);
		return;
	}
	line_break(w);
	w->depth--;
	put(w, &close, 1);
}

void jsonw__object_begin(struct jsonw *w)
{
	begin(w, '{');
}

void jsonw__object_end(struct jsonw *w)
{
	end(w, '}');
}

void jsonw__array_begin(struct jsonw *w)
{
	begin(w, '[');
}

void jsonw__array_end(struct jsonw *w)
{
	end(w, ']');
}

static void quoted(struct jsonw *w, const char *s)
{
	put(w, "\"", 1);
	while (*s) {
		unsigned char c = (unsigned char)*s;
		size_t n = utf8_seq(s);
		char esc[8];

		if (c == '"' || c == '\\') {
			put(w, "\\", 1);
			put(w, s, 1);
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(w, esc, 6);
		} else if (n) {
			put(w, s, n);
			s += n;
			continue;
		} else {
			put(w, "\\ufffd", 6);
		}
		s++;
	}
	put(w, "\"", 1);
}

void jsonw__key(struct jsonw *w, const char *key)
{
	next_item(w);
	quoted(w, key);
	put(w, ":", 1);
	w->after_key = true;
}

void jsonw__string(struct jsonw *w, const char *s)
{
	next_item(w);
	quoted(w, s);
}

void jsonw__uint(struct jsonw *w, uint64_t v)
{
	jsonw__numberf(w, "%" PRIu64, v);
}

void jsonw__int(struct jsonw *w, int64_t v)
{
	jsonw__numberf(w, "%" PRId64, v);
}

void jsonw__numberf(struct jsonw *w, const char *fmt, ...)
{
	va_list ap;

	next_item(w);
	va_start(ap, fmt);
	vput(w, fmt, ap);
	va_end(ap);
}

void jsonw__string_field(struct jsonw *w, const char *key, const char *s)
{
	jsonw__key(w, key);
	jsonw__string(w, s);
}

void jsonw__uint_field(struct jsonw *w, const char *key, uint64_t v)
{
	jsonw__key(w, key);
	jsonw__uint(w, v);
}

void jsonw__int_field(struct jsonw *w, const char *key, int64_t v)
{
	jsonw__key(w, key);
	jsonw__int(w, v);
}

void jsonw__newline(struct jsonw *w)
{
	w->newline = true;
}

void jsonw__raw(struct jsonw *w, const char *s, size_t n)
{
	put(w, s, n);
}

void jsonw__rawf(struct jsonw *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vput(w, fmt, ap);
	va_end(ap);
}
