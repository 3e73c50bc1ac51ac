// SPDX-License-Identifier: LGPL-2.1-or-later
/* The streaming JSON writer: the exact bytes of known documents, strings made valid UTF-8, errors. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

#include "check.h"
#include "base/jsonw.h"
#include "base/text.h"

/* Run fn on a writer into a memory stream; the text written, the caller's to free. */
static char *written(void (*fn)(struct jsonw *w), int *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct jsonw *w = jsonw__new(f, NULL);

	fn(w);
	*err = jsonw__flush(w);
	jsonw__free(w);
	fclose(f);
	return buf;
}

static void doc_nested(struct jsonw *w)
{
	jsonw__object_begin(w);
	jsonw__string_field(w, "a", "x");
	jsonw__key(w, "list");
	jsonw__array_begin(w);
	jsonw__uint(w, 18446744073709551615ull);
	jsonw__int(w, -42);
	jsonw__numberf(w, "%.1f", 12.25);
	jsonw__object_begin(w);
	jsonw__object_end(w);
	jsonw__array_begin(w);
	jsonw__array_end(w);
	jsonw__array_end(w);
	jsonw__uint_field(w, "n", 7);
	jsonw__int_field(w, "m", -7);
	jsonw__object_end(w);
}

/* One element a line, as the chrome export writes its events. */
static void doc_lines(struct jsonw *w)
{
	jsonw__object_begin(w);
	jsonw__string_field(w, "k", "v");
	jsonw__newline(w);
	jsonw__key(w, "events");
	jsonw__array_begin(w);
	for (int i = 0; i < 3; i++) {
		jsonw__newline(w);
		jsonw__object_begin(w);
		jsonw__int_field(w, "i", i);
		jsonw__object_end(w);
	}
	jsonw__newline(w);
	jsonw__array_end(w);
	jsonw__object_end(w);
	jsonw__raw(w, "\n", 1);
}

static void doc_empty_lines(struct jsonw *w)
{
	jsonw__array_begin(w);
	jsonw__newline(w);
	jsonw__array_end(w);
}

/* Quotes, backslashes, control characters; valid multi-byte sequences stay; other bytes become \ufffd. */
static void doc_strings(struct jsonw *w)
{
	jsonw__array_begin(w);
	jsonw__string(w, "q\"b\\n\n\x01");
	jsonw__string(w, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	jsonw__string(w, "a\xff" "b\xc3");
	jsonw__string(w, "\xc0\xaf\xed\xa0\x80");
	jsonw__array_end(w);
}

static void doc_raw(struct jsonw *w)
{
	jsonw__raw(w, "kind,tid\n", 9);
	jsonw__rawf(w, "syscall,%u,%" PRId64 "\n", 12u, (int64_t)-3);
}

static void doc_too_deep(struct jsonw *w)
{
	for (int i = 0; i < 40; i++)
		jsonw__array_begin(w);
}

static void doc_unbalanced(struct jsonw *w)
{
	jsonw__object_end(w);
}

/* Longer than the writer's buffer, and a formatted value longer than its small stack buffer. */
static void doc_large(struct jsonw *w)
{
	char *s = malloc(2000);

	memset(s, 'x', 1999);
	s[1999] = '\0';
	jsonw__array_begin(w);
	for (int i = 0; i < 100; i++)
		jsonw__string(w, s);
	jsonw__rawf(w, "%s", s);
	jsonw__array_end(w);
	free(s);
}

static void test_documents(void)
{
	char *out;
	int err;

	out = written(doc_nested, &err);
	CHECK_EQ(err, 0);
	CHECK_STREQ(out, "{\"a\":\"x\",\"list\":[18446744073709551615,-42,12.2,{},[]],\"n\":7,\"m\":-7}");
	free(out);
	out = written(doc_lines, &err);
	CHECK_EQ(err, 0);
	CHECK_STREQ(out, "{\"k\":\"v\",\n\"events\":[\n{\"i\":0},\n{\"i\":1},\n{\"i\":2}\n]}\n");
	free(out);
	out = written(doc_empty_lines, &err);
	CHECK_STREQ(out, "[\n]");
	free(out);
	out = written(doc_strings, &err);
	CHECK_EQ(err, 0);
	CHECK_STREQ(out, "[\"q\\\"b\\\\n\\u000a\\u0001\",\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\","
			 "\"a\\ufffdb\\ufffd\",\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"]");
	free(out);
	out = written(doc_raw, &err);
	CHECK_STREQ(out, "kind,tid\nsyscall,12,-3\n");
	free(out);
	out = written(doc_large, &err);
	CHECK_EQ(err, 0);
	CHECK_EQ(strlen(out), 2 + 100 * 2002 - 1 + 1999);
	free(out);
	out = written(doc_too_deep, &err);
	CHECK_EQ(err, -EINVAL);
	free(out);
	out = written(doc_unbalanced, &err);
	CHECK_EQ(err, -EINVAL);
	free(out);
}

/* A write that fails sticks, and a producer's failure too. */
static void test_errors(void)
{
	FILE *f = fopen("/dev/full", "we");
	struct jsonw *w;

	if (!f) {
		printf("skipped: no /dev/full\n");
		return;
	}
	setvbuf(f, NULL, _IONBF, 0);
	w = jsonw__new(f, NULL);
	jsonw__string(w, "x");
	CHECK_EQ(jsonw__err(w), 0);
	CHECK_EQ(jsonw__flush(w), -EIO);
	jsonw__string(w, "y");
	CHECK_EQ(jsonw__flush(w), -EIO);
	jsonw__free(w);
	fclose(f);
	w = jsonw__new(stdout, NULL);
	jsonw__fail(w, -ENOMEM);
	jsonw__fail(w, -EIO);
	CHECK_EQ(jsonw__err(w), -ENOMEM);
	jsonw__free(w);
	jsonw__free(NULL);
}

static void test_utf8_seq(void)
{
	CHECK_EQ(utf8_seq("a"), 1);
	CHECK_EQ(utf8_seq("\xc3\xa9"), 2);
	CHECK_EQ(utf8_seq("\xe2\x82\xac"), 3);
	CHECK_EQ(utf8_seq("\xf0\x9f\x98\x80"), 4);
	CHECK_EQ(utf8_seq("\xc3"), 0);             /* cut */
	CHECK_EQ(utf8_seq("\xe2\x82"), 0);         /* cut */
	CHECK_EQ(utf8_seq("\xc1\xbf"), 0);         /* overlong */
	CHECK_EQ(utf8_seq("\xe0\x9f\xbf"), 0);     /* overlong */
	CHECK_EQ(utf8_seq("\xed\xa0\x80"), 0);     /* a UTF-16 surrogate */
	CHECK_EQ(utf8_seq("\xf4\x90\x80\x80"), 0); /* beyond U+10FFFF */
	CHECK_EQ(utf8_seq("\x80"), 0);             /* a continuation byte alone */
}

/* Names for a terminal or a log line: no control character gets through; ascii also drops the rest. */
static void test_printable(void)
{
	char out[16], tiny[4];

	CHECK_STREQ(text__printable("py\x1b[2Jthon", out, sizeof(out), false), "py?[2Jthon");
	CHECK_STREQ(text__printable("a\tb\x7f\n", out, sizeof(out), false), "a?b??");
	CHECK_STREQ(text__printable("caf\xc3\xa9", out, sizeof(out), false), "caf\xc3\xa9");
	CHECK_STREQ(text__printable("caf\xc3\xa9", out, sizeof(out), true), "caf??");
	CHECK_STREQ(text__printable("abcdef", tiny, sizeof(tiny), false), "abc");
	CHECK_STREQ(text__printable("", out, sizeof(out), true), "");
}

int main(void)
{
	test_documents();
	test_errors();
	test_utf8_seq();
	test_printable();
	return check_summary();
}
