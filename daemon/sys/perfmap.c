// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "base/vec.h"
#include "sys/perfmap.h"

static int hex_field(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = *p;
	int digits = 0;

	while (s < end && ((*s >= '0' && *s <= '9') || ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'f'))) {
		if (++digits > 16)
			return -EINVAL;
		v = v << 4 | (uint64_t)(*s <= '9' ? *s - '0' : (*s | 0x20) - 'a' + 10);
		s++;
	}
	if (!digits || s >= end || *s != ' ')
		return -EINVAL;
	*out = v;
	*p = s + 1;
	return 0;
}

int perfmap__parse_line(const char *line, size_t len, uint64_t *start, uint64_t *size, const char **name,
			size_t *name_len)
{
	const char *p = line, *end = line + len;

	if (len > 2 && p[0] == '0' && (p[1] | 0x20) == 'x')
		p += 2;
	if (hex_field(&p, end, start) || hex_field(&p, end, size) || !*size || *start + *size < *start)
		return -EINVAL;
	*name = p;
	*name_len = (size_t)(end - p);
	return 0;
}

ssize_t perfmap__add(struct perfmap *m, const char *buf, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos), *name;
		size_t line_len, name_len;
		uint64_t start, size;

		if (!nl)
			break; /* a line still being written */
		line_len = (size_t)(nl - (buf + pos));
		if (m->n < PERFMAP_MAX_ENTRIES &&
		    perfmap__parse_line(buf + pos, line_len, &start, &size, &name, &name_len) == 0) {
			if (name_len > 1024)
				name_len = 1024;
			if (vec__grow(&m->v, &m->cap, m->n) ||
			    vec__reserve_raw((void **)&m->names, &m->names_cap, m->names_len + name_len + 1, 1))
				return -ENOMEM;
			memcpy(m->names + m->names_len, name, name_len);
			m->names[m->names_len + name_len] = '\0';
			m->v[m->n++] = (struct perfmap_entry){ .start = start, .end = start + size,
							       .name = (uint32_t)m->names_len };
			m->names_len += name_len + 1;
		}
		pos += line_len + 1;
	}
	return (ssize_t)pos;
}

int perfmap__update(struct perfmap *m, const char *path, uid_t owner)
{
	char buf[65536];
	size_t have = 0;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (st.st_uid != owner && st.st_uid != 0)) {
		close(fd);
		return -EPERM;
	}
	while (m->read_off + have < PERFMAP_MAX_BYTES) {
		ssize_t n = pread(fd, buf + have, sizeof(buf) - have, (off_t)(m->read_off + have)), used;

		if (n < 0) {
			int r = -errno;

			close(fd);
			return r;
		}
		if (n == 0)
			break;
		have += (size_t)n;
		used = perfmap__add(m, buf, have);
		if (used < 0) {
			close(fd);
			return (int)used;
		}
		if (used == 0 && have == sizeof(buf)) {
			/* a line longer than the buffer: not a perf map line, skip it */
			char *nl = NULL;

			while (!nl) {
				n = pread(fd, buf, sizeof(buf), (off_t)(m->read_off + have));
				if (n <= 0)
					break;
				nl = memchr(buf, '\n', (size_t)n);
				have += nl ? (size_t)(nl - buf) + 1 : (size_t)n;
			}
			m->read_off += have;
			have = 0;
			continue;
		}
		m->read_off += (uint64_t)used;
		memmove(buf, buf + used, have - (size_t)used);
		have -= (size_t)used;
	}
	close(fd);
	return 0;
}

const char *perfmap__lookup(const struct perfmap *m, uint64_t addr)
{
	for (size_t i = m->n; i-- > 0;)
		if (addr >= m->v[i].start && addr < m->v[i].end)
			return m->names + m->v[i].name;
	return NULL;
}

void perfmap__free(struct perfmap *m)
{
	free(m->v);
	free(m->names);
	*m = (struct perfmap){ 0 };
}

void perfmap__split_v8(const char *name, char *fn, size_t fn_size, char *file, size_t file_size, int *line)
{
	const char *colon = strchr(name, ':'), *space = strchr(name, ' '), *sp, *loc, *c;
	size_t fn_len;
	long num[2] = { 0, 0 };
	int k = 0;

	*line = 0;
	file[0] = '\0';
	/* "JS:", "LazyCompile:", "Builtin:"...: a word before the first colon, before any space */
	if (colon && (!space || colon < space)) {
		const char *q = name;

		while (q < colon && ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z')))
			q++;
		if (q == colon && q > name)
			name = colon + 1;
	}
	/* the tier: interpreted, baseline, optimized (TurboFan), Maglev; the optimized ones followed by a quote
	 * when specialized to a context (V8's CodeKindToMarker: "*'", "+'") */
	if (*name == '*' || *name == '+')
		name += name[1] == '\'' ? 2 : 1;
	else if (*name == '~' || *name == '^')
		name++;
	/* the script location after the last space, "FILE:LINE:COL" */
	sp = strrchr(name, ' ');
	fn_len = sp ? (size_t)(sp - name) : strlen(name);
	if (sp) {
		loc = sp + 1;
		c = loc + strlen(loc);
		/* two trailing ":NUMBER"s: the line and the column (node writes both) */
		while (k < 2) {
			const char *d = c;

			while (d > loc && d[-1] >= '0' && d[-1] <= '9')
				d--;
			if (d == c || d == loc || d[-1] != ':' || c - d > 9)
				break;
			num[k++] = strtol(d, NULL, 10);
			c = d - 1;
		}
		if (k == 2) {
			snprintf(file, file_size, "%.*s", (int)(c - loc), loc);
			*line = (int)num[1];
		} else {
			fn_len = strlen(name); /* a space in the name itself, no location */
		}
	}
	if (!fn_len)
		snprintf(fn, fn_size, "(anonymous)");
	else
		snprintf(fn, fn_size, "%.*s", (int)fn_len, name);
}
