// SPDX-License-Identifier: LGPL-2.1-or-later
/* Readers of /proc/PID/stat and /proc/PID/status. The parsers see outside text (and fuzzers), so
 * they walk [buf, buf + len) with explicit bounds and never rely on a terminating NUL. */
#include "sys/procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

/* A /proc/PID/stat line is ~52 numbers of at most 20 digits plus a 16-byte comm. */
#define STAT_BUF_LEN 2048
/* /proc/PID/status grows with the Groups: line; retry with a larger buffer up to this size. */
#define STATUS_BUF_MIN 4096
#define STATUS_BUF_MAX (1024 * 1024)

struct cursor {
	const char *p;
	const char *end;
};

static void skip_blanks(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

/* Unsigned decimal; at least one digit; fails on overflow past `max`. */
static int take_u64(struct cursor *c, uint64_t max, uint64_t *out)
{
	const char *p = c->p;
	uint64_t v = 0;

	if (p >= c->end || *p < '0' || *p > '9')
		return -EINVAL;
	while (p < c->end && *p >= '0' && *p <= '9') {
		unsigned int digit = (unsigned int)(*p - '0');

		if (v > (max - digit) / 10)
			return -EINVAL;
		v = v * 10 + digit;
		p++;
	}
	c->p = p;
	*out = v;
	return 0;
}

/* Signed decimal within [min, max] (stat has negative fields: tpgid, nice, cutime...). */
static int take_i64(struct cursor *c, int64_t min, int64_t max, int64_t *out)
{
	struct cursor t = *c;
	bool negative = false;
	uint64_t mag;
	int64_t v;
	int err;

	if (t.p < t.end && *t.p == '-') {
		negative = true;
		t.p++;
	}
	err = take_u64(&t, negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &mag);
	if (err)
		return err;
	if (negative)
		v = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
	else
		v = (int64_t)mag;
	if (v < min || v > max)
		return -EINVAL;
	*c = t;
	*out = v;
	return 0;
}

/* Exactly one separating space, as the kernel writes it. */
static int take_space(struct cursor *c)
{
	if (c->p >= c->end || *c->p != ' ')
		return -EINVAL;
	c->p++;
	return 0;
}

int procfs__parse_stat(const char *buf, size_t len, struct proc_stat *out)
{
	struct cursor c;
	struct proc_stat st = {};
	const char *open_paren, *close_paren;
	uint64_t u;
	int64_t s;
	size_t comm_len;
	int field, err;

	if (!buf || !out)
		return -EINVAL;
	c.p = buf;
	c.end = buf + len;

	err = take_i64(&c, 1, INT_MAX, &s);
	if (err)
		return err;
	st.pid = (pid_t)s;
	if (take_space(&c) || c.p >= c.end || *c.p != '(')
		return -EINVAL;
	open_paren = c.p;
	/* comm may itself hold ')' and spaces; no later field can, so the last ')' closes it. */
	close_paren = memrchr(open_paren, ')', (size_t)(c.end - open_paren));
	if (!close_paren)
		return -EINVAL;
	comm_len = (size_t)(close_paren - open_paren - 1);
	if (comm_len >= PROCFS_COMM_LEN)
		comm_len = PROCFS_COMM_LEN - 1;
	memcpy(st.comm, open_paren + 1, comm_len);
	st.comm[comm_len] = '\0';
	c.p = close_paren + 1;

	if (take_space(&c) || c.p >= c.end || *c.p == ' ' || *c.p == '\n')
		return -EINVAL;
	st.state = *c.p++;

	/* Fields 4 (ppid) to 22 (starttime), numbered as in proc(5). */
	for (field = 4; field <= 22; field++) {
		err = take_space(&c);
		if (err)
			return err;
		switch (field) {
		case 4:
			err = take_i64(&c, 0, INT_MAX, &s);
			st.ppid = (pid_t)s;
			break;
		case 9:
			err = take_u64(&c, UINT_MAX, &u);
			st.flags = (unsigned int)u;
			break;
		case 10: case 11: case 12: case 13: /* minflt cminflt majflt cmajflt */
			err = take_u64(&c, UINT64_MAX, &u);
			break;
		case 14:
			err = take_u64(&c, UINT64_MAX, &st.utime_ticks);
			break;
		case 15:
			err = take_u64(&c, UINT64_MAX, &st.stime_ticks);
			break;
		case 20:
			err = take_i64(&c, 0, LONG_MAX, &s);
			st.num_threads = (long)s;
			break;
		case 22:
			err = take_u64(&c, UINT64_MAX, &st.starttime_ticks);
			break;
		default: /* pgrp session tty_nr tpgid cutime cstime priority nice itrealvalue */
			err = take_i64(&c, INT64_MIN, INT64_MAX, &s);
			break;
		}
		if (err)
			return err;
	}
	/* The kernel prints ~30 more fields: ending right here means the text was cut short,
	 * possibly inside starttime. The later fields vary by kernel version and are not checked. */
	if (c.p >= c.end || (*c.p != ' ' && *c.p != '\n'))
		return -EINVAL;

	*out = st;
	return 0;
}

enum status_key {
	KEY_UID = 1u << 0,
	KEY_THREADS = 1u << 1,
	KEY_VOL = 1u << 2,
	KEY_INVOL = 1u << 3,
	KEY_HWM = 1u << 4,
	KEY_RSS = 1u << 5,
};

/* Keys present in the status of every task, kernel threads and zombies included. */
#define STATUS_REQUIRED (KEY_UID | KEY_THREADS | KEY_VOL | KEY_INVOL)

static bool line_has_key(const struct cursor *line, const char *key, struct cursor *value)
{
	size_t klen = strlen(key);

	if ((size_t)(line->end - line->p) < klen || memcmp(line->p, key, klen) != 0)
		return false;
	value->p = line->p + klen;
	value->end = line->end;
	return true;
}

/* "  1234 kB": a size in kB, the unit optional. */
static int take_kb(struct cursor *v, long *out)
{
	uint64_t u;
	int err;

	skip_blanks(v);
	err = take_u64(v, LONG_MAX, &u);
	if (err)
		return err;
	skip_blanks(v);
	if (v->p < v->end && !((size_t)(v->end - v->p) >= 2 && memcmp(v->p, "kB", 2) == 0))
		return -EINVAL;
	*out = (long)u;
	return 0;
}

static int take_count(struct cursor *v, uint64_t max, uint64_t *out)
{
	int err;

	skip_blanks(v);
	err = take_u64(v, max, out);
	if (err)
		return err;
	skip_blanks(v);
	return v->p == v->end ? 0 : -EINVAL;
}

/* "Uid:" and "Gid:": real, effective, saved, filesystem; a missing field is (uid_t)-1, nobody's. */
static int take_ids(struct cursor *v, uint32_t ids[4])
{
	for (int i = 0; i < 4; i++) {
		uint64_t u;
		int err;

		ids[i] = UINT32_MAX;
		skip_blanks(v);
		if (v->p == v->end && i >= 2)
			continue;
		err = take_u64(v, UINT32_MAX, &u);
		if (err)
			return err;
		ids[i] = (uint32_t)u;
	}
	skip_blanks(v);
	return v->p == v->end ? 0 : -EINVAL;
}

/* "CapPrm:\t000001ffffffffff" */
static int take_hex(struct cursor *v, uint64_t *out)
{
	uint64_t x = 0;
	int digits = 0;

	skip_blanks(v);
	for (; v->p < v->end; v->p++, digits++) {
		char ch = *v->p;
		unsigned int d = ch >= '0' && ch <= '9' ? (unsigned int)(ch - '0')
				 : ch >= 'a' && ch <= 'f' ? (unsigned int)(ch - 'a' + 10)
				 : ch >= 'A' && ch <= 'F' ? (unsigned int)(ch - 'A' + 10) : 16u;

		if (d == 16)
			break;
		if (digits == 16)
			return -EINVAL;
		x = x << 4 | d;
	}
	skip_blanks(v);
	if (!digits || v->p != v->end)
		return -EINVAL;
	*out = x;
	return 0;
}

static int parse_status_line(const struct cursor *line, struct proc_status *st, unsigned int *seen)
{
	struct cursor v;
	uint64_t u;
	int err;

	if (line_has_key(line, "Uid:", &v)) {
		err = take_ids(&v, st->uids);
		if (err)
			return err;
		st->ruid = st->uids[0];
		st->euid = st->uids[1];
		*seen |= KEY_UID;
	} else if (line_has_key(line, "Gid:", &v)) {
		err = take_ids(&v, st->gids);
		if (err)
			return err;
	} else if (line_has_key(line, "CapPrm:", &v)) {
		err = take_hex(&v, &st->cap_prm);
		if (err)
			return err;
		st->have_cap_prm = true;
	} else if (line_has_key(line, "Tgid:", &v)) {
		err = take_count(&v, INT32_MAX, &u);
		if (err)
			return err;
		st->tgid = (pid_t)u;
	} else if (line_has_key(line, "TracerPid:", &v)) {
		err = take_count(&v, INT32_MAX, &u);
		if (err)
			return err;
		st->tracer_pid = (pid_t)u;
	} else if (line_has_key(line, "Threads:", &v)) {
		err = take_count(&v, LONG_MAX, &u);
		if (err)
			return err;
		st->threads = (long)u;
		*seen |= KEY_THREADS;
	} else if (line_has_key(line, "voluntary_ctxt_switches:", &v)) {
		err = take_count(&v, UINT64_MAX, &st->vol_switches);
		if (err)
			return err;
		*seen |= KEY_VOL;
	} else if (line_has_key(line, "nonvoluntary_ctxt_switches:", &v)) {
		err = take_count(&v, UINT64_MAX, &st->invol_switches);
		if (err)
			return err;
		*seen |= KEY_INVOL;
	} else if (line_has_key(line, "VmHWM:", &v)) {
		err = take_kb(&v, &st->vm_hwm_kb);
		if (err)
			return err;
		*seen |= KEY_HWM;
	} else if (line_has_key(line, "VmRSS:", &v)) {
		err = take_kb(&v, &st->vm_rss_kb);
		if (err)
			return err;
		*seen |= KEY_RSS;
	}
	return 0;
}

int procfs__parse_status(const char *buf, size_t len, struct proc_status *out)
{
	/* Kernel threads and zombies have no mm, hence no Vm* lines: -1 for both sizes. */
	struct proc_status st = { .vm_hwm_kb = -1, .vm_rss_kb = -1,
				  .gids = { UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX } };
	const char *p, *end;
	unsigned int seen = 0;
	int err;

	if (!buf || !out)
		return -EINVAL;

	p = buf;
	end = buf + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct cursor line = { p, nl ? nl : end };

		err = parse_status_line(&line, &st, &seen);
		if (err)
			return err;
		p = nl ? nl + 1 : end;
	}
	if ((seen & STATUS_REQUIRED) != STATUS_REQUIRED)
		return -EINVAL;

	*out = st;
	return 0;
}

ssize_t procfs__read_file(const char *path, char *buf, size_t size)
{
	size_t used = 0;
	ssize_t ret;
	char extra;
	int fd;

	if (!path || !buf || size == 0 || size > SSIZE_MAX)
		return -EINVAL;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;

	/* /proc files are generated per read() call: read until EOF, not just once. */
	while (used < size - 1) {
		ret = read(fd, buf + used, size - 1 - used);
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto cleanup;
		}
		if (ret == 0)
			break;
		used += (size_t)ret;
	}
	if (used == size - 1) {
		/* A full buffer may hide a truncated file: callers must not parse half a status. */
		do
			ret = read(fd, &extra, 1);
		while (ret < 0 && errno == EINTR);
		if (ret < 0) {
			ret = -errno;
			goto cleanup;
		}
		if (ret > 0) {
			ret = -EFBIG;
			goto cleanup;
		}
	}
	buf[used] = '\0';
	ret = (ssize_t)used;
cleanup:
	close(fd);
	return ret;
}

/* A vanished pid shows as ENOENT on open and as ESRCH on read of an already open file. */
static int gone_to_esrch(ssize_t err)
{
	return err == -ENOENT || err == -ESRCH ? -ESRCH : (int)err;
}

int procfs__read_stat(pid_t pid, pid_t tid, struct proc_stat *out)
{
	char path[64];
	char buf[STAT_BUF_LEN];
	ssize_t n;

	if (pid <= 0 || tid < 0 || !out)
		return -EINVAL;
	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);

	n = procfs__read_file(path, buf, sizeof(buf));
	if (n < 0)
		return gone_to_esrch(n);
	return procfs__parse_stat(buf, (size_t)n, out);
}

int procfs__read_status(pid_t pid, struct proc_status *out)
{
	char path[64];
	char *buf = NULL;
	size_t size;
	ssize_t n = -EFBIG;
	int err;

	if (pid <= 0 || !out)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);

	for (size = STATUS_BUF_MIN; n == -EFBIG && size <= STATUS_BUF_MAX; size *= 2) {
		char *bigger = realloc(buf, size);

		if (!bigger) {
			err = -ENOMEM;
			goto cleanup;
		}
		buf = bigger;
		n = procfs__read_file(path, buf, size);
	}
	if (n < 0) {
		err = gone_to_esrch(n);
		goto cleanup;
	}
	err = procfs__parse_status(buf, (size_t)n, out);
cleanup:
	free(buf);
	return err;
}

int procfs__pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

bool procfs__pidfd_alive(int pidfd)
{
	return syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0;
}

long procfs__ticks_per_sec(void)
{
	long ticks = sysconf(_SC_CLK_TCK);

	/* USER_HZ is 100 on every architecture Linux supports; sysconf failing is theoretical. */
	return ticks > 0 ? ticks : 100;
}

int procfs__parse_schedstat(const char *buf, size_t len, struct proc_schedstat *out)
{
	uint64_t v[3];
	size_t i = 0;

	if (!buf || !out)
		return -EINVAL;
	for (int f = 0; f < 3; f++) {
		bool digits = false;

		v[f] = 0;
		for (; i < len && buf[i] >= '0' && buf[i] <= '9'; i++) {
			if (v[f] > (UINT64_MAX - 9) / 10)
				return -EINVAL;
			v[f] = v[f] * 10 + (uint64_t)(buf[i] - '0');
			digits = true;
		}
		/* each number ends in a space, the last in a newline */
		if (!digits || i >= len || buf[i] != (f < 2 ? ' ' : '\n'))
			return -EINVAL;
		i++;
	}
	out->oncpu_ns = v[0];
	out->runq_wait_ns = v[1];
	out->timeslices = v[2];
	return 0;
}

int procfs__read_schedstat(pid_t pid, pid_t tid, struct proc_schedstat *out)
{
	char path[64], buf[128];
	ssize_t n;

	if (pid <= 0 || tid <= 0 || !out)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", (int)pid, (int)tid);
	n = procfs__read_file(path, buf, sizeof(buf));
	if (n < 0)
		return gone_to_esrch(n);
	return procfs__parse_schedstat(buf, (size_t)n, out);
}

int procfs__parse_maps_line(char *line, struct proc_mapping *out)
{
	unsigned long long start, end, pgoff, inode;
	unsigned int maj, min;
	char perms[5];
	int path_at = -1;
	size_t len, slen = strlen(PROCFS_DELETED_SUFFIX);
	struct proc_mapping m = {0};

	line[strcspn(line, "\n")] = '\0';
	if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu %n", &start, &end, perms, &pgoff, &maj, &min,
		   &inode, &path_at) != 7 || path_at < 0)
		return -EINVAL;
	m.start = start;
	m.end = end;
	m.pgoff = pgoff;
	m.dev_major = maj;
	m.dev_minor = min;
	m.inode = inode;
	memcpy(m.perms, perms, sizeof(m.perms));
	m.path = line + path_at;
	len = strlen(m.path);
	if (m.path[0] == '/' && len > slen && strcmp(m.path + len - slen, PROCFS_DELETED_SUFFIX) == 0) {
		line[path_at + (int)(len - slen)] = '\0';
		m.deleted = true;
	}
	*out = m;
	return 0;
}

int procfs__maps_each(pid_t pid, procfs_mapping_fn fn, void *ctx)
{
	char path[32], *line = NULL;
	size_t cap = 0;
	FILE *maps;
	int r = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	maps = fopen(path, "re");
	if (!maps)
		return errno == ENOENT ? -ESRCH : -errno;
	while (!r && getline(&line, &cap, maps) > 0) {
		struct proc_mapping m;

		if (procfs__parse_maps_line(line, &m) == 0)
			r = fn(&m, ctx);
	}
	if (!r && ferror(maps))
		r = errno == ESRCH ? -ESRCH : -EIO;
	free(line);
	fclose(maps);
	return r;
}
