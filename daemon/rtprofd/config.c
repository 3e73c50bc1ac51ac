// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtprofd/config.h"
#include "sys/procfs.h"
#include "proto/protocol.h"
#include "rtprof_abi.h"

#define CONFIG_MAX_BYTES (64u << 10)

void config__defaults(struct rtprofd_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->socket, sizeof(c->socket), "%s", RTP_DEFAULT_SOCKET);
	snprintf(c->group, sizeof(c->group), "rtprof");
	c->retention_s = 300;
	c->window_s = 60;
	c->push_interval_s = 15;
	c->max_clients = CONFIG_MAX_CLIENTS;
	c->max_sessions = CONFIG_MAX_SESSIONS;
	c->max_recordings = CONFIG_MAX_RECORDINGS;
	c->max_threads = RTP_DEFAULT_MAX_THREADS;
	c->max_trace_buffer = CONFIG_MAX_TRACE_BUFFER;
	c->user_share = (struct config_fraction){ 1, 4 };
	c->root_reserve = (struct config_fraction){ 1, 8 };
}

int config__parse_watch(const char *list, unsigned int *mask)
{
	unsigned int m = 0;

	while (*list) {
		size_t len = strcspn(list, ", ");

		if (len == 6 && !strncmp(list, "python", 6))
			m |= WATCH_PYTHON;
		else if (len == 4 && !strncmp(list, "node", 4))
			m |= WATCH_NODE;
		else if ((len == 4 && !strncmp(list, "none", 4)) || len == 0)
			;
		else
			return -EINVAL;
		list += len;
		list += strspn(list, ", ");
	}
	*mask = m;
	return 0;
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

static int set_string(char *dst, size_t size, const char *value)
{
	if (strlen(value) >= size || !*value)
		return -EINVAL;
	snprintf(dst, size, "%s", value);
	return 0;
}

static int parse_uint(const char *value, unsigned long min, unsigned long max, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(value, &end, 10);
	if (errno || *end || end == value || value[0] == '-' || v < min || v > max)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

/* "1/4" or "25%": a fraction from 0 to 1 (below 1 when !whole). */
static int parse_fraction(const char *value, bool whole, struct config_fraction *out)
{
	struct config_fraction f;
	const char *slash = strchr(value, '/');
	char num[32];
	size_t n = strlen(value);

	if (n && value[n - 1] == '%' && n < sizeof(num)) {
		snprintf(num, sizeof(num), "%.*s", (int)(n - 1), value);
		if (parse_uint(num, 0, 100, &f.num))
			return -EINVAL;
		f.den = 100;
	} else if (slash && (size_t)(slash - value) < sizeof(num)) {
		snprintf(num, sizeof(num), "%.*s", (int)(slash - value), value);
		if (parse_uint(num, 0, 1000000, &f.num) || parse_uint(slash + 1, 1, 1000000, &f.den))
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (f.num > f.den || (!whole && f.num == f.den))
		return -EINVAL;
	*out = f;
	return 0;
}

static int apply_limit(struct rtprofd_config *c, const char *key, const char *value)
{
	if (!strcmp(key, "max_clients"))
		return parse_uint(value, 1, 65536, &c->max_clients);
	if (!strcmp(key, "max_sessions"))
		return parse_uint(value, 2, RTP_MAX_SHARE_SLOTS - WATCH_ARMED, &c->max_sessions); /* every slot charges its share */
	if (!strcmp(key, "max_recordings"))
		return parse_uint(value, 1, 64, &c->max_recordings);
	if (!strcmp(key, "max_threads"))
		return parse_uint(value, 64, 1u << 20, &c->max_threads);
	if (!strcmp(key, "max_trace_buffer")) {
		unsigned int v;

		/* a ring buffer's size: a power of two of at least a page */
		if (parse_uint(value, 4096, 1u << 30, &v) || (v & (v - 1)))
			return -EINVAL;
		c->max_trace_buffer = v;
		return 0;
	}
	if (!strcmp(key, "user_share"))
		return parse_fraction(value, true, &c->user_share);
	if (!strcmp(key, "root_reserve"))
		return parse_fraction(value, false, &c->root_reserve);
	return -ENOKEY;
}

static int apply(struct rtprofd_config *c, const char *key, const char *value)
{
	if (!strcmp(key, "socket"))
		return value[0] == '/' ? set_string(c->socket, sizeof(c->socket), value) : -EINVAL;
	if (!strcmp(key, "group"))
		return set_string(c->group, sizeof(c->group), value);
	if (!strcmp(key, "watch"))
		return config__parse_watch(value, &c->watch);
	if (!strcmp(key, "metrics")) {
		if (!strcmp(value, "off")) {
			c->metrics[0] = '\0';
			return 0;
		}
		return strchr(value, ':') ? set_string(c->metrics, sizeof(c->metrics), value) : -EINVAL;
	}
	if (!strcmp(key, "retention") || !strcmp(key, "window")) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(value, &end, 10);
		if (errno || *end || end == value || v > 7 * 24 * 3600 || value[0] == '-' || (key[0] == 'w' && !v))
			return -EINVAL;
		if (key[0] == 'w')
			c->window_s = (unsigned int)v;
		else
			c->retention_s = (unsigned int)v;
		return 0;
	}
	if (!strcmp(key, "push")) {
		if (!strcmp(value, "off")) {
			c->push[0] = '\0';
			return 0;
		}
		return strncmp(value, "http://", 7) && strncmp(value, "https://", 8) ? -EINVAL
										      : set_string(c->push, sizeof(c->push), value);
	}
	if (!strcmp(key, "push_interval")) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(value, &end, 10);
		if (errno || *end || end == value || value[0] == '-' || !v || v > 3600)
			return -EINVAL;
		c->push_interval_s = (unsigned int)v;
		return 0;
	}
	if (!strcmp(key, "sample_hz")) { /* of watched processes' stacks; 0: none */
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(value, &end, 10);
		if (errno || *end || end == value || value[0] == '-' || v > CONFIG_MAX_SAMPLE_HZ)
			return -EINVAL;
		c->watch_sample_hz = (unsigned int)v;
		return 0;
	}
	return apply_limit(c, key, value);
}

int config__parse(const char *text, size_t len, struct rtprofd_config *out, char *err, size_t errlen)
{
	struct rtprofd_config c = *out;
	char line[512];
	size_t pos = 0;
	int lineno = 0;

	while (pos < len) {
		size_t n = 0;
		char *key, *value, *eq;
		int r;

		lineno++;
		while (pos < len && text[pos] != '\n') {
			if (n + 1 >= sizeof(line) || text[pos] == '\0') {
				snprintf(err, errlen, "line %d: too long, or not text", lineno);
				return -EINVAL;
			}
			line[n++] = text[pos++];
		}
		pos++; /* the newline */
		line[n] = '\0';
		if ((key = strchr(line, '#')))
			*key = '\0';
		key = trim(line);
		if (!*key)
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			snprintf(err, errlen, "line %d: expected key = value", lineno);
			return -EINVAL;
		}
		*eq = '\0';
		key = trim(key);
		value = trim(eq + 1);
		r = apply(&c, key, value);
		if (r == -ENOKEY) {
			snprintf(err, errlen, "line %d: unknown key '%.64s'", lineno, key);
			return -EINVAL;
		}
		if (r) {
			snprintf(err, errlen, "line %d: bad value for %s: '%.128s'", lineno, key, value);
			return -EINVAL;
		}
	}
	*out = c;
	return 0;
}

int config__load(const char *path, struct rtprofd_config *c, char *err, size_t errlen)
{
	char *buf = malloc(CONFIG_MAX_BYTES);
	ssize_t n;
	int r;

	if (!buf)
		return -ENOMEM;
	n = procfs__read_file(path, buf, CONFIG_MAX_BYTES);
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", path, n == -EFBIG ? "larger than 64 KiB" : strerror((int)-n));
		free(buf);
		return (int)n;
	}
	r = config__parse(buf, (size_t)n, c, err, errlen);
	if (r) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s: %s", path, err);
		snprintf(err, errlen, "%s", msg);
	}
	free(buf);
	return r;
}
