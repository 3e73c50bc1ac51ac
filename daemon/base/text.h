/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The text sanitisers: names and paths come from the kernel, the file system and clients as bytes, not
 * necessarily UTF-8 nor printable; whatever writes them as text (JSON, exposition format, folded stacks)
 * goes through utf8_seq, the one validator, and whatever shows them on a terminal through text__printable. */
#ifndef RTPROF_TEXT_H
#define RTPROF_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when the bytes there are not one (overlong forms
 * and UTF-16 surrogates included). s is NUL-terminated: a cut sequence is not valid. */
size_t utf8_seq(const char *s);

/* Copy a string from the kernel or a file (a thread name, a path) as valid UTF-8: each byte that is not
 * part of a valid sequence becomes U+FFFD. Returns the length written (out is NUL-terminated). */
size_t utf8_sanitize(const char *in, char *out, size_t size);

/* Copy a string for a terminal or a log line: control characters (and with ascii, every byte outside
 * printable ASCII) become '?', so that no escape sequence gets through. Returns out (NUL-terminated);
 * out may be in itself. */
const char *text__printable(const char *in, char *out, size_t size, bool ascii);

#endif
