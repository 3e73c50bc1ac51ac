/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one streaming JSON writer, for output too large to build as a json-c tree first (exports): buffered,
 * into a stdio stream or a gzip file; it places the commas and the quotes, and writes every string as
 * valid UTF-8 (base/text.h). Compact, except where the caller asks for a line break (jsonw__newline).
 * Calls do not fail one by one: the first error sticks and jsonw__err/jsonw__flush report it. */
#ifndef RTPROF_JSONW_H
#define RTPROF_JSONW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <zlib.h>

struct jsonw;

/* Write into f, or into gz when f is NULL; the caller closes the sink after jsonw__free. NULL when out
 * of memory. */
struct jsonw *jsonw__new(FILE *f, gzFile gz);
/* Does not flush: call jsonw__flush first for what is buffered to reach the sink. Accepts NULL. */
void jsonw__free(struct jsonw *w);
/* Write what is buffered; 0 or the first error (-errno) of any call so far. */
int jsonw__flush(struct jsonw *w);
/* 0 or the first error (-EIO writing, -ENOMEM, -EINVAL for a misuse such as nesting too deep). */
int jsonw__err(const struct jsonw *w);
/* Make err (< 0) the writer's error unless it has one: a producer's failure stops the output too. */
void jsonw__fail(struct jsonw *w, int err);

void jsonw__object_begin(struct jsonw *w);
void jsonw__object_end(struct jsonw *w);
void jsonw__array_begin(struct jsonw *w);
void jsonw__array_end(struct jsonw *w);
/* An object's member name; its value is the next call. */
void jsonw__key(struct jsonw *w, const char *key);

/* Values. A string's bytes that are not UTF-8 become "\ufffd"; quotes, backslashes and control
 * characters are escaped. */
void jsonw__string(struct jsonw *w, const char *s);
void jsonw__uint(struct jsonw *w, uint64_t v);
void jsonw__int(struct jsonw *w, int64_t v);
/* A number in the caller's format ("%.1f", "%" PRIu64 ".%03u"), which must print a JSON number. */
void jsonw__numberf(struct jsonw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* key and value in one call */
void jsonw__string_field(struct jsonw *w, const char *key, const char *s);
void jsonw__uint_field(struct jsonw *w, const char *key, uint64_t v);
void jsonw__int_field(struct jsonw *w, const char *key, int64_t v);

/* The next member or element, or the closing bracket, starts on a new line (after its comma). */
void jsonw__newline(struct jsonw *w);

/* Text outside any JSON value, written as it is: the text exports (CSV, folded stacks) share the writer's
 * buffered sink. */
void jsonw__raw(struct jsonw *w, const char *s, size_t n);
void jsonw__rawf(struct jsonw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
