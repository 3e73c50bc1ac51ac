// SPDX-License-Identifier: LGPL-2.1-or-later
/* pycode: line tables written by hand with known lines (in exactly sized heap copies: an over-read shows
 * under valgrind); code objects and type objects built in a fake memory, broken one field at a time; then
 * each CPython 3.10-3.13 on this machine running pycode_target.py, whose own co_qualname, co_filename,
 * co_firstlineno and co_positions()/co_lines() are the reference for every function and instruction.
 * Interpreters that are missing are skipped with a printed reason. */
#include <errno.h>
#include <glob.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "check.h"
#include "sys/pycode.h"

#ifndef PYCODE_TARGET
#error "PYCODE_TARGET: the path of pycode_target.py"
#endif

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void skip(const char *what, const char *why)
{
	printf("SKIP %s: %s\n", what, why);
}

/* pycode__line over a heap copy of exactly len bytes of table. */
static int line_exact(const uint8_t *table, size_t len, int firstlineno, unsigned int minor, int64_t instr)
{
	struct pycode_info info = { .firstlineno = firstlineno, .linetable_len = len };
	int line;

	info.linetable = len ? malloc(len) : NULL;
	if (len)
		memcpy(info.linetable, table, len);
	line = pycode__line(&info, minor, instr);
	free(info.linetable);
	return line;
}

static void test_layouts(void)
{
	static const uint32_t adaptive[] = { 0, 184, 192, 200 };
	struct pycode_layout L;

	CHECK_EQ(pycode__layout_for(9, &L), -ENOTSUP);
	CHECK_EQ(pycode__layout_for(14, &L), -ENOTSUP);
	for (unsigned int minor = 10; minor <= 13; minor++) {
		CHECK_EQ(pycode__layout_for(minor, &L), 0);
		CHECK_EQ(L.minor, minor);
		CHECK_EQ(L.co_code_adaptive, adaptive[minor - 10]);
		CHECK_EQ(L.co_qualname != 0, minor >= 11);
		CHECK_EQ(L.code_type, 0);
	}
}

/* 3.10: (byte delta, line delta) pairs; zero-width pairs carry deltas past 127; -128 is "no line". */
static void test_line_pep626(void)
{
	static const uint8_t table[] = {
		2, 1,                    /* bytes [0, 2): 11 */
		0, 127, 0, 127, 4, 46,   /* [2, 6): 11 + 127 + 127 + 46 = 311 */
		2, 0x80,                 /* [6, 8): no line, the running line stays 311 */
		254, 0, 254, 0,          /* [8, 516): 311, a range longer than a byte */
		2, 0xfb,                 /* [516, 518): 306 */
		0, 0x81, 2, 0x81,        /* [518, 520): 306 - 127 - 127 = 52 */
	};
	static const struct {
		int64_t instr;
		int line;
	} cases[] = {
		{ 0, 11 }, { 1, 311 }, { 2, 311 }, { 3, -1 }, { 4, 311 }, { 257, 311 }, { 258, 306 }, { 259, 52 },
		{ 260, 10 }, /* past the end */
		{ -1, 10 },  /* f_lasti before the first instruction */
		{ INT64_MAX, 10 }, { INT64_MIN, 10 },
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		CHECK_EQ(line_exact(table, sizeof(table), 10, 10, cases[i].instr), cases[i].line);
	/* a dangling byte after the last pair is not a pair */
	CHECK_EQ(line_exact(table, 3, 10, 10, 1), 10);
	CHECK_EQ(line_exact(table, 0, 10, 10, 0), 10);
}

/* 3.11+: the location table of Objects/locations.md, one entry of each kind. */
static void test_line_locations(void)
{
	static const uint8_t table[] = {
		0x80, 0x05,                         /* short form, 1 unit: 100 */
		0x80 | 11 << 3 | 2, 1, 5,           /* one-line form, +1, 3 units: 101 */
		0x80 | 15 << 3 | 1,                 /* no location, 2 units: -1, the line stays 101 */
		0x80 | 14 << 3, 0x58, 0x09, 0, 1, 3,/* long form, +300 (svarint 600), 1 unit: 401 */
		0x80 | 13 << 3 | 7, 0x7d, 0x0a,     /* no columns, -350 (svarint 701), 8 units: 51 */
		0x80 | 12 << 3, 0, 1,               /* one-line form, +2, 1 unit: 53 */
	};
	static const struct {
		int64_t instr;
		int line;
	} cases[] = {
		{ 0, 100 }, { 1, 101 }, { 3, 101 }, { 4, -1 }, { 5, -1 }, { 6, 401 }, { 7, 51 }, { 14, 51 }, { 15, 53 },
		{ 16, 100 }, /* past the end */
		{ -1, 100 }, /* 3.11/3.12's prev_instr before the first instruction: instruction 0 */
		{ INT64_MAX, 100 }, { INT64_MIN, 100 },
	};
	/* the no-columns entry's varint cut before its last group */
	size_t cut = 14;

	for (unsigned int minor = 11; minor <= 13; minor++)
		for (size_t i = 0; i < ARRAY_LEN(cases); i++)
			CHECK_EQ(line_exact(table, sizeof(table), 100, minor, cases[i].instr), cases[i].line);
	CHECK_EQ(table[cut - 2], 0x80 | 13 << 3 | 7);
	CHECK_EQ(line_exact(table, cut, 100, 11, 6), 401);
	CHECK_EQ(line_exact(table, cut, 100, 11, 7), 100);
	/* a line the deltas take below 0 is none a table can mean */
	CHECK_EQ(line_exact(table, sizeof(table), 10, 11, 7), 10);
	/* a version without a line table format */
	CHECK_EQ(line_exact(table, sizeof(table), 100, 14, 0), 100);
}

/* A process's memory made up here: [base, base + len). */
struct fake_mem {
	uint64_t base;
	uint8_t *bytes;
	size_t len;
};

static int fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	const struct fake_mem *m = ctx;

	if (addr < m->base || addr - m->base > m->len || len > m->len - (addr - m->base))
		return -EFAULT;
	memcpy(buf, m->bytes + (addr - m->base), len);
	return 0;
}

static void put_u64(struct fake_mem *m, size_t off, uint64_t v)
{
	memcpy(m->bytes + off, &v, sizeof(v));
}

static void put_u32(struct fake_mem *m, size_t off, uint32_t v)
{
	memcpy(m->bytes + off, &v, sizeof(v));
}

/* PyASCIIObject's state bits: kind, compact, ascii */
#define STATE(kind, ascii) ((kind) << 2 | 1u << 5 | ((ascii) ? 1u << 6 : 0))

/* A str object at off: length and state, its chars after the header the state says. */
static void put_str(struct fake_mem *m, const struct pycode_layout *L, size_t off, uint32_t state, int64_t length,
		    const void *chars, size_t nbytes)
{
	put_u64(m, off + 16, (uint64_t)length);
	put_u32(m, off + 32, state);
	memcpy(m->bytes + off + (state & 1u << 6 ? L->unicode_ascii_size : L->unicode_compact_size), chars, nbytes);
}

/* Where the fake 3.12 process keeps its objects, from base. */
enum {
	FAKE_CODE = 0x0, FAKE_NAME = 0x200, FAKE_FILE = 0x300, FAKE_LINETABLE = 0x400, FAKE_TYPE = 0x800,
	FAKE_TYPE_NAME = 0xa00, FAKE_MEMBERS = 0xb00, FAKE_MEMBER_NAMES = 0x1000, FAKE_LEN = 0x2000,
	/* big enough for a 100000-byte line table */
	FAKE_BIG_LEN = FAKE_LINETABLE + 32 + 100000,
};

static const char *const member_names[] = { "co_argcount", "co_posonlyargcount", "co_flags", "co_firstlineno",
					    "co_filename", "co_name", "co_qualname", "co_linetable" };

static uint32_t member_offset(const struct pycode_layout *L, const char *name)
{
	return !strcmp(name, "co_argcount") ? L->co_argcount : !strcmp(name, "co_flags") ? L->co_flags :
	       !strcmp(name, "co_firstlineno") ? L->co_firstlineno : !strcmp(name, "co_filename") ? L->co_filename :
	       !strcmp(name, "co_name") ? L->co_name : !strcmp(name, "co_qualname") ? L->co_qualname :
	       !strcmp(name, "co_linetable") ? L->co_linetable : 8;
}

/* A code object of 3.12 named "f" in "/a/名.py", line 7, and its type, as CPython lays them out. */
static void fake_code(struct fake_mem *m, const struct pycode_layout *L)
{
	static const uint16_t file[] = { '/', 'a', '/', 0x540d, '.', 'p', 'y' };
	static const uint8_t linetable[] = { 0x80, 0x05, 0x80 | 11 << 3, 0, 1 };

	memset(m->bytes, 0, m->len);
	put_u64(m, FAKE_CODE + 8, m->base + FAKE_TYPE);
	put_u32(m, FAKE_CODE + L->co_argcount, 2);
	put_u32(m, FAKE_CODE + L->co_flags, 3);
	put_u32(m, FAKE_CODE + L->co_firstlineno, 7);
	put_u64(m, FAKE_CODE + L->co_qualname, m->base + FAKE_NAME);
	put_u64(m, FAKE_CODE + L->co_filename, m->base + FAKE_FILE);
	put_u64(m, FAKE_CODE + L->co_linetable, m->base + FAKE_LINETABLE);
	put_str(m, L, FAKE_NAME, STATE(1, true), 1, "f", 1);
	put_str(m, L, FAKE_FILE, STATE(2, false), ARRAY_LEN(file), file, sizeof(file));
	put_u64(m, FAKE_LINETABLE + 16, sizeof(linetable));
	memcpy(m->bytes + FAKE_LINETABLE + 32, linetable, sizeof(linetable));

	put_u64(m, FAKE_TYPE + 24, m->base + FAKE_TYPE_NAME);
	memcpy(m->bytes + FAKE_TYPE_NAME, "code", 5);
	put_u64(m, FAKE_TYPE + 32, L->code_basicsize);
	put_u64(m, FAKE_TYPE + 240, m->base + FAKE_MEMBERS);
	for (size_t i = 0; i < ARRAY_LEN(member_names); i++) {
		size_t name = FAKE_MEMBER_NAMES + i * 32;

		memcpy(m->bytes + name, member_names[i], strlen(member_names[i]) + 1);
		put_u64(m, FAKE_MEMBERS + i * 40, m->base + name);
		put_u64(m, FAKE_MEMBERS + i * 40 + 16, member_offset(L, member_names[i]));
	}
}

static void test_fake_read(void)
{
	struct fake_mem m = { .base = 0x7f0000001000, .len = FAKE_BIG_LEN };
	struct pycode_layout L;
	struct pycode_info info, sentinel;
	uint32_t fp;
	char why[128];

	m.bytes = malloc(m.len);
	CHECK_EQ(pycode__layout_for(12, &L), 0);
	L.code_type = m.base + FAKE_TYPE;
	fake_code(&m, &L);
	CHECK_EQ(pycode__read(fake_read, &m, &L, m.base + FAKE_CODE, &info), 0);
	CHECK_STREQ(info.function, "f");
	CHECK_STREQ(info.file, "/a/\xe5\x90\x8d.py");
	CHECK_EQ(info.firstlineno, 7);
	CHECK_EQ(info.linetable_len, 5);
	CHECK_EQ(pycode__line(&info, 12, 0), 7);
	CHECK_EQ(pycode__line(&info, 12, 1), 8);
	fp = info.fingerprint;
	pycode__info_free(&info);
	CHECK(info.linetable == NULL);
	pycode__info_free(NULL);
	CHECK_EQ(pycode__verify_layout(fake_read, &m, &L, why, sizeof(why)), 0);

	/* the same object at another line is another function */
	put_u32(&m, FAKE_CODE + L.co_firstlineno, 8);
	CHECK_EQ(pycode__read(fake_read, &m, &L, m.base + FAKE_CODE, &info), 0);
	CHECK(info.fingerprint != fp);
	pycode__info_free(&info);

	/* each broken field refused, the output untouched */
	memset(&sentinel, 0x5a, sizeof(sentinel));
	info = sentinel;
	fake_code(&m, &L);
	put_u64(&m, FAKE_CODE + 8, m.base + FAKE_NAME);
	CHECK_EQ(pycode__read(fake_read, &m, &L, m.base + FAKE_CODE, &info), -EINVAL);
	CHECK(memcmp(&info, &sentinel, sizeof(info)) == 0);
	L.code_type = 0; /* no type check: the rest is read */
	CHECK_EQ(pycode__read(fake_read, &m, &L, m.base + FAKE_CODE, &info), 0);
	pycode__info_free(&info);
	L.code_type = m.base + FAKE_TYPE;
	info = sentinel;
	fake_code(&m, &L);
	put_u32(&m, FAKE_NAME + 32, STATE(1, true) & ~(1u << 5)); /* not compact */
	CHECK_EQ(pycode__read(fake_read, &m, &L, m.base + FAKE_CODE, &info), -EINVAL);
	put_u32(&m, FAKE_NAME + 32, STATE(3, false)); /* no such kind */
	CHECK_EQ(pycode__read(fake_read, &m, &L, m.base + FAKE_CODE, &info), -EINVAL);
	put_u32(&m, FAKE_NAME + 32, STATE(2, true)); /* ASCII of two bytes a char */
	CHECK_EQ(pycode__read(fake_read, &m, &L, m.base + FAKE_CODE, &info), -EINVAL);
	put_u32(&m, FAKE_NAME + 32, STATE(1, true));
	put_u64(&m, FAKE_NAME + 16, 4096); /* too long for a name */
	CHECK_EQ(pycode__read(fake_read, &m, &L, m.base + FAKE_CODE, &info), -EINVAL);
	put_u64(&m, FAKE_NAME + 16, (uint64_t)-1);
	CHECK_EQ(pycode__read(fake_read, &m, &L, m.base + FAKE_CODE, &info), -EINVAL);
	fake_code(&m, &L);
	put_u64(&m, FAKE_CODE + L.co_filename, 0);
	CHECK_EQ(pycode__read(fake_read, &m, &L, m.base + FAKE_CODE, &info), -EINVAL);
	put_u64(&m, FAKE_CODE + L.co_filename, m.base + m.len - 20); /* the header runs past the memory */
	CHECK_EQ(pycode__read(fake_read, &m, &L, m.base + FAKE_CODE, &info), -EFAULT);
	fake_code(&m, &L);
	put_u64(&m, FAKE_LINETABLE + 16, (uint64_t)-5);
	CHECK_EQ(pycode__read(fake_read, &m, &L, m.base + FAKE_CODE, &info), -EINVAL);
	CHECK_EQ(pycode__read(fake_read, &m, &L, m.base + m.len - 8, &info), -EFAULT);
	CHECK(memcmp(&info, &sentinel, sizeof(info)) == 0);

	/* a line table longer than the cap is cut at it; an empty one is no allocation */
	fake_code(&m, &L);
	put_u64(&m, FAKE_LINETABLE + 16, 100000);
	CHECK_EQ(pycode__read(fake_read, &m, &L, m.base + FAKE_CODE, &info), 0);
	CHECK_EQ(info.linetable_len, PYCODE_LINETABLE_MAX);
	pycode__info_free(&info);
	put_u64(&m, FAKE_LINETABLE + 16, 0);
	CHECK_EQ(pycode__read(fake_read, &m, &L, m.base + FAKE_CODE, &info), 0);
	CHECK(info.linetable == NULL && info.linetable_len == 0);
	CHECK_EQ(pycode__line(&info, 12, 3), 7);
	pycode__info_free(&info);

	/* the type object, broken one way at a time */
	fake_code(&m, &L);
	memcpy(m.bytes + FAKE_TYPE_NAME, "str", 4);
	why[0] = '\0';
	CHECK_EQ(pycode__verify_layout(fake_read, &m, &L, why, sizeof(why)), -EPROTO);
	CHECK(strstr(why, "not \"code\"") != NULL);
	fake_code(&m, &L);
	put_u64(&m, FAKE_TYPE + 32, 184);
	CHECK_EQ(pycode__verify_layout(fake_read, &m, &L, why, sizeof(why)), -EPROTO);
	CHECK_STREQ(why, "tp_basicsize is 184, not 192");
	fake_code(&m, &L);
	put_u64(&m, FAKE_MEMBERS + 6 * 40 + 16, 132);
	CHECK_EQ(pycode__verify_layout(fake_read, &m, &L, why, sizeof(why)), -EPROTO);
	CHECK_STREQ(why, "co_qualname is at 132, not 128");
	fake_code(&m, &L);
	memcpy(m.bytes + FAKE_MEMBER_NAMES + 6 * 32, "co_qualnam", 11);
	CHECK_EQ(pycode__verify_layout(fake_read, &m, &L, why, sizeof(why)), -EPROTO);
	CHECK_STREQ(why, "no member co_qualname");
	/* a member array without its NULL end */
	fake_code(&m, &L);
	for (size_t i = ARRAY_LEN(member_names); i < 64; i++) {
		put_u64(&m, FAKE_MEMBERS + i * 40, m.base + FAKE_MEMBER_NAMES);
		put_u64(&m, FAKE_MEMBERS + i * 40 + 16, L.co_argcount);
	}
	CHECK_EQ(pycode__verify_layout(fake_read, &m, &L, NULL, 0), -EPROTO);
	/* a member name at the very end of the memory: read up to its NUL, not a fixed size */
	fake_code(&m, &L);
	memcpy(m.bytes + m.len - 8, "co_name", 8);
	put_u64(&m, FAKE_MEMBERS + 5 * 40, m.base + m.len - 8);
	CHECK_EQ(pycode__verify_layout(fake_read, &m, &L, why, sizeof(why)), -EFAULT);
	/* 3.10's layout has no co_qualname: one that exists is a difference */
	fake_code(&m, &L);
	L.co_qualname = 0;
	CHECK_EQ(pycode__verify_layout(fake_read, &m, &L, why, sizeof(why)), -EPROTO);
	CHECK_STREQ(why, "co_qualname exists (at 128)");
	L.code_type = 0;
	CHECK_EQ(pycode__verify_layout(fake_read, &m, &L, why, sizeof(why)), -EINVAL);
	free(m.bytes);
}

/* What a crafted name (pycode_target.py's `renamed`) shows as. */
static void expected_crafted(const char *key, char *function, size_t len, bool *file_changed)
{
	*file_changed = false;
	if (!strcmp(key, "control")) {
		snprintf(function, len, "bad?name?end?!");
		*file_changed = true;
	} else if (!strcmp(key, "surrogate")) {
		snprintf(function, len, "a?b");
	} else if (!strcmp(key, "long_ascii")) {
		/* 300 chars, 159 of them fit with the NUL */
		memset(function, 'x', 159);
		function[159] = '\0';
	} else if (!strcmp(key, "long_latin1")) {
		/* 100 "é", two bytes each: 79 fit, never half of one */
		for (int i = 0; i < 79; i++)
			memcpy(function + 2 * i, "\xc3\xa9", 2);
		function[158] = '\0';
	} else {
		function[0] = '\0';
	}
}

/* A running pycode_target.py: its pid, the write end of its stdin, the JSON it printed. */
struct target {
	pid_t pid;
	int stdin_fd;
	json_object *json;
};

static int target_start(const char *python, bool no_debug_ranges, struct target *t)
{
	int in[2], out[2];
	char *line = NULL;
	size_t len = 0, cap = 0;
	pid_t pid;
	char c = '\0';

	if (pipe(in) != 0)
		return -errno;
	if (pipe(out) != 0) {
		close(in[0]);
		close(in[1]);
		return -errno;
	}
	pid = fork();
	if (pid == 0) {
		char *argv[] = { (char *)python, "-X", "no_debug_ranges", PYCODE_TARGET, NULL };

		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		if (!no_debug_ranges)
			argv[1] = PYCODE_TARGET, argv[2] = NULL;
		execv(python, argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	while (pid > 0 && read(out[0], &c, 1) == 1 && c != '\n') {
		if (len + 1 >= cap) {
			char *bigger = realloc(line, cap = cap ? cap * 2 : 4096);

			if (!bigger)
				break;
			line = bigger;
		}
		line[len++] = c;
	}
	close(out[0]);
	if (line)
		line[len] = '\0';
	t->pid = pid;
	t->stdin_fd = in[1];
	t->json = line && c == '\n' ? json_tokener_parse(line) : NULL;
	free(line);
	if (!t->json) {
		close(in[1]);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return -EIO;
	}
	return 0;
}

/* Close its stdin: it returns from sys.stdin.read() and exits. */
static void target_stop(struct target *t)
{
	close(t->stdin_fd);
	waitpid(t->pid, NULL, 0);
	json_object_put(t->json);
}

static json_object *field(json_object *obj, const char *key)
{
	json_object *v = NULL;

	return json_object_object_get_ex(obj, key, &v) ? v : NULL;
}

/* One function printed by the target: read its code object and compare with what the interpreter said.
 * Returns its fingerprint. */
static uint32_t check_function(const struct target *t, const struct pycode_layout *L, json_object *fn,
			       const char *script_file, const char *label)
{
	const char *key = json_object_get_string(field(fn, "key"));
	json_object *lines = field(fn, "lines"), *name = field(fn, "name"), *file = field(fn, "file");
	struct pycode_info info;
	char crafted[160];
	bool file_changed;
	size_t n = json_object_array_length(lines);
	int firstlineno = json_object_get_int(field(fn, "firstlineno")), err;
	uint32_t fp;

	err = pycode__read(pycode__read_pid, (void *)&t->pid, L, (uint64_t)json_object_get_int64(field(fn, "code")),
			   &info);
	CHECK_EQ(err, 0);
	if (err) {
		fprintf(stderr, "%s: %s: %s\n", label, key, strerror(-err));
		return 0;
	}
	expected_crafted(key, crafted, sizeof(crafted), &file_changed);
	if (json_object_is_type(name, json_type_null)) {
		CHECK_STREQ(info.function, crafted);
		CHECK_STREQ(info.file, file_changed ? "/tmp/a?b.py" : script_file);
	} else {
		CHECK_STREQ(info.function, json_object_get_string(name));
		CHECK_STREQ(info.file, json_object_get_string(file));
	}
	CHECK_EQ(info.firstlineno, firstlineno);
	for (size_t i = 0; i < n; i++) {
		json_object *pair = json_object_array_get_idx(lines, i);
		int64_t instr = json_object_get_int64(json_object_array_get_idx(pair, 0));
		int line = json_object_get_int(json_object_array_get_idx(pair, 1));
		int got = pycode__line(&info, L->minor, instr);

		CHECK_EQ(instr, (int64_t)i);
		if (got != line)
			fprintf(stderr, "%s: %s: instruction %lld\n", label, key, (long long)instr);
		CHECK_EQ(got, line);
	}
	/* before the first instruction: 3.10's f_lasti -1 is the first line, 3.11+'s prev_instr instruction 0 */
	if (n) {
		json_object *first = json_object_array_get_idx(lines, 0);

		CHECK_EQ(pycode__line(&info, L->minor, -1),
			 L->minor == 10 ? firstlineno : json_object_get_int(json_object_array_get_idx(first, 1)));
	}
	CHECK_EQ(pycode__line(&info, L->minor, (int64_t)n + 100), firstlineno);
	fp = info.fingerprint;
	pycode__info_free(&info);
	return fp;
}

/* One interpreter running pycode_target.py (with or without column information). */
static void check_interpreter(const char *python, unsigned int minor, bool no_debug_ranges)
{
	unsigned int passed = check_passed, failed = check_failed;
	struct pycode_layout L, wrong;
	struct pycode_info info;
	struct target t;
	json_object *fns;
	uint32_t fp_simple = 0, fp_control = 1, fp_inner = 0;
	char label[300], why[128] = "";
	const char *script_file = NULL;
	int err;

	snprintf(label, sizeof(label), "%s (3.%u%s)", python, minor, no_debug_ranges ? ", -X no_debug_ranges" : "");
	err = target_start(python, no_debug_ranges, &t);
	if (err) {
		CHECK(!"pycode_target.py did not print its JSON");
		fprintf(stderr, "%s: %s\n", label, strerror(-err));
		return;
	}
	CHECK_EQ(json_object_get_int(field(t.json, "minor")), minor);
	CHECK_EQ(pycode__layout_for(minor, &L), 0);
	L.code_type = (uint64_t)json_object_get_int64(field(t.json, "code_type"));
	err = pycode__verify_layout(pycode__read_pid, &t.pid, &L, why, sizeof(why));
	if (err == -EPERM) {
		skip(label, "no ptrace access to the child (process_vm_readv: EPERM)");
		target_stop(&t);
		return;
	}
	CHECK_EQ(err, 0);
	if (err)
		fprintf(stderr, "%s: verify: %s (%s)\n", label, strerror(-err), why);

	fns = field(t.json, "functions");
	for (size_t i = 0; i < json_object_array_length(fns); i++) {
		json_object *fn = json_object_array_get_idx(fns, i);
		const char *key = json_object_get_string(field(fn, "key"));
		uint32_t fp;

		if (!strcmp(key, "simple")) {
			script_file = json_object_get_string(field(fn, "file"));
			CHECK_STREQ(script_file, PYCODE_TARGET);
		}
		if (!strcmp(key, "inner"))
			CHECK_STREQ(json_object_get_string(field(fn, "name")),
				    minor == 10 ? "inner" : "Outer.method.<locals>.inner");
		if (!strcmp(key, "far_apart"))
			CHECK_STREQ(json_object_get_string(field(fn, "file")), "/nonexistent/\xd1\x84\xd0\xb0\xd0\xb9\xd0\xbb.py");
		fp = check_function(&t, &L, fn, script_file ? script_file : "", label);
		if (!strcmp(key, "simple"))
			fp_simple = fp;
		else if (!strcmp(key, "control"))
			fp_control = fp;
		else if (!strcmp(key, "inner"))
			fp_inner = fp;
	}
	/* a renamed copy has the same arguments, flags and first line; another function another first line */
	CHECK_EQ(fp_simple, fp_control);
	CHECK(fp_simple != fp_inner);

	/* a table that does not fit this interpreter */
	wrong = L;
	wrong.co_name += 8;
	CHECK_EQ(pycode__verify_layout(pycode__read_pid, &t.pid, &wrong, why, sizeof(why)), -EPROTO);
	CHECK(strstr(why, "co_name is at") != NULL);
	wrong = L;
	wrong.code_basicsize += 8;
	wrong.co_code_adaptive = minor == 10 ? 0 : wrong.code_basicsize;
	CHECK_EQ(pycode__verify_layout(pycode__read_pid, &t.pid, &wrong, why, sizeof(why)), -EPROTO);
	CHECK(strstr(why, "tp_basicsize") != NULL);
	CHECK_EQ(pycode__layout_for(minor == 13 ? 12 : minor + 1, &wrong), 0);
	wrong.code_type = L.code_type;
	CHECK_EQ(pycode__verify_layout(pycode__read_pid, &t.pid, &wrong, why, sizeof(why)), -EPROTO);
	/* what is not a code object */
	CHECK_EQ(pycode__read(pycode__read_pid, &t.pid, &L, (uint64_t)json_object_get_int64(field(t.json, "str_object")),
			      &info), -EINVAL);
	CHECK_EQ(pycode__read(pycode__read_pid, &t.pid, &L, L.code_type, &info), -EINVAL);
	CHECK_EQ(pycode__read(pycode__read_pid, &t.pid, &L, 16, &info), -EFAULT);

	target_stop(&t);
	/* the process is gone */
	CHECK_EQ(pycode__read(pycode__read_pid, &t.pid, &L, L.code_type, &info), -ESRCH);
	CHECK_EQ(pycode__verify_layout(pycode__read_pid, &t.pid, &L, why, sizeof(why)), -ESRCH);
	printf("%s: %u checks passed, %u failed\n", label, check_passed - passed, check_failed - failed);
}

/* The newest pyenv CPython 3.<minor>, if there is one. */
static bool pyenv_python(unsigned int minor, char *path, size_t len)
{
	const char *root = getenv("PYENV_ROOT"), *home = getenv("HOME");
	char pattern[512];
	glob_t g;
	bool found;

	if (root && *root)
		snprintf(pattern, sizeof(pattern), "%s/versions/3.%u.*/bin/python3", root, minor);
	else
		snprintf(pattern, sizeof(pattern), "%s/.pyenv/versions/3.%u.*/bin/python3", home ? home : "/root", minor);
	found = glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc > 0;
	if (found)
		snprintf(path, len, "%s", g.gl_pathv[g.gl_pathc - 1]);
	globfree(&g);
	return found && access(path, X_OK) == 0;
}

static void test_interpreters(void)
{
	char path[512];

	if (access("/usr/bin/python3.11", X_OK) == 0) {
		check_interpreter("/usr/bin/python3.11", 11, false);
		check_interpreter("/usr/bin/python3.11", 11, true);
	} else {
		skip("/usr/bin/python3.11", "not installed");
	}
	for (unsigned int minor = 10; minor <= 13; minor++) {
		if (!pyenv_python(minor, path, sizeof(path))) {
			char what[32];

			snprintf(what, sizeof(what), "pyenv CPython 3.%u", minor);
			skip(what, "not installed");
			continue;
		}
		check_interpreter(path, minor, false);
		/* without column information every entry is of the "no columns" kind (3.11+) */
		if (minor >= 11)
			check_interpreter(path, minor, true);
	}
}

int main(void)
{
	test_layouts();
	test_line_pep626();
	test_line_locations();
	test_fake_read();
	test_interpreters();
	return check_summary();
}
