// SPDX-License-Identifier: LGPL-2.1-or-later
/* The perf map reader (sys/perfmap.c): lines as node writes them, a line still being written, the latest
 * entry winning, damaged lines skipped, V8 names split into function, script and line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "check.h"
#include "sys/perfmap.h"

static void test_lines(void)
{
	static const char part1[] = "7f398b7e3400 378 JS:~fa /app/x.js:1:12\n"
				    "not a line\n"
				    "3d43898cf846 37 JS:~fa /app/x.js:1:12\n"
				    "7f398b7e3d00 218 JS:*f",
			  part2[] = "a /app/x.js:1:12\n"
				    "7f398b7e3d00 10 JS:*fb /app/x.js:2:12\n"
				    "ffffffffffffffff 2 overflow\n"
				    "12345678901234567 1 too long\n";
	struct perfmap m = { 0 };
	ssize_t used = perfmap__add(&m, part1, strlen(part1));

	/* whole lines only: the last is left for the next read */
	CHECK_EQ(used, (ssize_t)(strchr(part1, '*') - part1 - strlen("7f398b7e3d00 218 JS:")));
	CHECK_EQ(m.n, 2);
	CHECK_EQ(perfmap__add(&m, "7f398b7e3d00 218 JS:*fa /app/x.js:1:12\n", 39), 39);
	CHECK_EQ(perfmap__add(&m, part2 + strlen("a /app/x.js:1:12\n"), strlen(part2) - strlen("a /app/x.js:1:12\n")),
		 (ssize_t)(strlen(part2) - strlen("a /app/x.js:1:12\n")));
	CHECK_EQ(m.n, 4); /* the overflowing and the too long lines are skipped */
	CHECK_STREQ(perfmap__lookup(&m, 0x7f398b7e3400), "JS:~fa /app/x.js:1:12");
	CHECK_STREQ(perfmap__lookup(&m, 0x7f398b7e3400 + 0x377), "JS:~fa /app/x.js:1:12");
	CHECK(perfmap__lookup(&m, 0x7f398b7e3400 + 0x378) == NULL);
	/* two entries cover 0x7f398b7e3d05: the latest names it */
	CHECK_STREQ(perfmap__lookup(&m, 0x7f398b7e3d05), "JS:*fb /app/x.js:2:12");
	CHECK_STREQ(perfmap__lookup(&m, 0x7f398b7e3d10), "JS:*fa /app/x.js:1:12");
	perfmap__free(&m);
}

static void check_split(const char *name, const char *fn, const char *file, int line)
{
	char f[160], s[256];
	int l;

	perfmap__split_v8(name, f, sizeof(f), s, sizeof(s), &l);
	CHECK_STREQ(f, fn);
	CHECK_STREQ(s, file);
	CHECK_EQ(l, line);
}

static void test_names(void)
{
	check_split("JS:~fa /app/x.js:1:12", "fa", "/app/x.js", 1);
	check_split("JS:*Module._compile node:internal/modules/cjs/loader:1483:14", "Module._compile",
		    "node:internal/modules/cjs/loader", 1483);
	check_split("JS:+spin /a b/x.js:7:3", "spin /a", "b/x.js", 7);
	/* node 24: code specialized to its context (V8's "*'" and "+'") is the same function */
	check_split("JS:*'spinA /app/x.js:17:15", "spinA", "/app/x.js", 17);
	check_split("JS:+'spinB /app/x.js:25:15", "spinB", "/app/x.js", 25);
	check_split("JS:~'q /app/x.js:2:1", "'q", "/app/x.js", 2); /* no such marker: a name's own quote */
	check_split("JS:~ /app/x.js:1:1", "(anonymous)", "/app/x.js", 1);
	check_split("LazyCompile:^g file:///srv/a.mjs:3:1", "g", "file:///srv/a.mjs", 3);
	check_split("Builtin:ArgumentsAdaptorTrampoline", "ArgumentsAdaptorTrampoline", "", 0);
	check_split("Eval:~", "(anonymous)", "", 0);
	check_split("get foo bar", "get foo bar", "", 0);
	check_split("JS:~f x.js:99999999999:1", "f x.js:99999999999:1", "", 0); /* no line that long */
}

/* The file is the profiled program's: a regular file of its owner (or root) only, never a FIFO (whose open
 * would block) nor a symbolic link. */
static void test_update(void)
{
	char dir[] = "/tmp/rtprof-perfmap-XXXXXX", path[64], fifo[64], link[64];
	struct perfmap m = { 0 };
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/perf-1.map", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo.map", dir);
	snprintf(link, sizeof(link), "%s/link.map", dir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs("1000 10 JS:~a /x.js:1:1\n2000 10 JS:~b /x.js:2:1\n3000 10 JS:~c", f);
	fclose(f);
	CHECK_EQ(perfmap__update(&m, path, getuid()), 0);
	CHECK_EQ(m.n, 2); /* the last line is not whole yet */
	f = fopen(path, "a");
	if (f) {
		fputs(" /x.js:3:1\n", f);
		fclose(f);
	}
	CHECK_EQ(perfmap__update(&m, path, getuid()), 0);
	CHECK_EQ(m.n, 3);
	CHECK_STREQ(perfmap__lookup(&m, 0x3005), "JS:~c /x.js:3:1");
	CHECK_EQ(mkfifo(fifo, 0600), 0);
	CHECK_EQ(perfmap__update(&m, fifo, getuid()), -EPERM);
	CHECK_EQ(symlink(path, link), 0);
	CHECK_EQ(perfmap__update(&m, link, getuid()), -ELOOP);
	if (getuid() == 0) /* root's files are accepted from any owner: another owner's is not */
		CHECK_EQ(chown(path, 12345, 12345), 0);
	CHECK_EQ(perfmap__update(&m, path, getuid() == 0 ? 54321 : getuid() + 1), -EPERM);
	CHECK_EQ(perfmap__update(&m, "/nonexistent/perf-1.map", getuid()), -ENOENT);
	unlink(path);
	unlink(fifo);
	unlink(link);
	rmdir(dir);
	perfmap__free(&m);
}

int main(void)
{
	test_lines();
	test_names();
	test_update();
	return check_summary();
}
