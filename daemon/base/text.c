// SPDX-License-Identifier: LGPL-2.1-or-later
#include <string.h>

#include "base/text.h"

size_t utf8_seq(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0)) /* overlong, surrogate */
			return 0;
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90)) /* overlong, beyond U+10FFFF */
			return 0;
		return 4;
	}
	return 0;
}

size_t utf8_sanitize(const char *in, char *out, size_t size)
{
	size_t o = 0;

	if (!size)
		return 0;
	while (*in) {
		size_t n = utf8_seq(in);

		if (!n) {
			if (o + 3 >= size)
				break;
			memcpy(out + o, "\xef\xbf\xbd", 3); /* U+FFFD */
			o += 3;
			in++;
			continue;
		}
		if (o + n >= size)
			break;
		memcpy(out + o, in, n);
		o += n;
		in += n;
	}
	out[o] = '\0';
	return o;
}

const char *text__printable(const char *in, char *out, size_t size, bool ascii)
{
	size_t o = 0;

	if (!size)
		return out;
	for (; *in && o + 1 < size; in++) {
		unsigned char c = (unsigned char)*in;

		out[o++] = c < 0x20 || c == 0x7f || (ascii && c > 0x7f) ? '?' : *in;
	}
	out[o] = '\0';
	return out;
}
