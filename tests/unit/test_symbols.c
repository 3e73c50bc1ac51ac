// SPDX-License-Identifier: LGPL-2.1-or-later
/* symbols: names to file offsets in a fixture built here (unstripped; stripped with its debug file found
 * by build id, by .gnu_debuglink in each of its three places, through /proc/PID/exe of a live process; a
 * debug file with a wrong CRC or build id refused), in the system python3.11 (.dynsym), a shared libpython
 * (.symtab) and node (.symtab: time and peak RSS), each compared with what libelf's own API gives for the
 * same file; USDT notes (the fixture's probe, whose note needs the .stapsdt.base adjustment, python's
 * gc__start against readelf -n); build ids; /proc/PID/maps lookups; the cache; broken files.
 * Files that are missing are skipped with a printed reason. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "testproc.h"
#include "sys/addrsym.h"
#include "sys/symbols.h"

#ifndef SYMBOLS_FIXTURE
#error "SYMBOLS_FIXTURE: the path of the built symbols_fixture (tests/unit/CMakeLists.txt)"
#endif
#define FIXTURE SYMBOLS_FIXTURE
#define FIXTURE_STRIPPED SYMBOLS_FIXTURE ".stripped"
#define FIXTURE_DEBUG SYMBOLS_FIXTURE ".debug"
/* The name objcopy --add-gnu-debuglink wrote into the stripped copy. */
#define FIXTURE_DEBUG_NAME "symbols_fixture.debug"

#define SYSTEM_PYTHON "/usr/bin/python3.11"
#define PYENV_LIBPYTHON "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0"

/* AddressSanitizer's shadow memory and quarantine change what RSS measures. */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifndef TEST_ASAN
#define TEST_ASAN 0
#endif

static char tmpdir[] = "/tmp/test_symbols.XXXXXX";

static void skip(const char *what, const char *why)
{
	printf("SKIP %s: %s\n", what, why);
}

/* Valgrind preloads its vgpreload_*.so: timings and RSS mean nothing under it. */
static bool under_valgrind(void)
{
	const char *preload = getenv("LD_PRELOAD");

	return preload && strstr(preload, "vgpreload");
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- what libelf's own API says, to compare with ---- */

struct expected {
	bool found;
	uint64_t addr, size, offset;
	const char *table; /* "symtab" or "dynsym" */
};

/* The file offset of addr through the PT_LOAD segments, as readelf -l shows them. */
static bool expected_offset(Elf *elf, uint64_t addr, bool in_file, uint64_t *offset)
{
	size_t phnum, i;

	if (elf_getphdrnum(elf, &phnum) != 0)
		return false;
	for (i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (addr >= ph.p_vaddr && addr < ph.p_vaddr + (in_file ? ph.p_filesz : ph.p_memsz)) {
			*offset = addr - ph.p_vaddr + ph.p_offset;
			return true;
		}
	}
	return false;
}

/* The first defined FUNC/OBJECT symbol named `name` (or starting with it) in .symtab, else .dynsym, of
 * `symfile`, with its offset through the segments of `path`: elf_getdata, gelf_getsym, elf_strptr. */
static struct expected expect_sym(const char *path, const char *symfile, const char *name, bool prefix)
{
	static const GElf_Word types[] = { SHT_SYMTAB, SHT_DYNSYM };
	struct expected e = { false, 0, 0, 0, NULL };
	int fd = open(path, O_RDONLY | O_CLOEXEC), sfd = open(symfile, O_RDONLY | O_CLOEXEC);
	Elf *elf = NULL, *symelf = NULL;
	size_t t;

	elf_version(EV_CURRENT);
	if (fd < 0 || sfd < 0)
		goto out;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	symelf = elf_begin(sfd, ELF_C_READ_MMAP, NULL);
	if (!elf || !symelf)
		goto out;
	for (t = 0; t < 2 && !e.found; t++) {
		Elf_Scn *scn = NULL;

		while (!e.found && (scn = elf_nextscn(symelf, scn))) {
			GElf_Shdr sh;
			Elf_Data *data;
			size_t i, n;

			if (!gelf_getshdr(scn, &sh) || sh.sh_type != types[t] || !(data = elf_getdata(scn, NULL)))
				continue;
			n = sh.sh_size / sh.sh_entsize;
			for (i = 0; i < n; i++) {
				GElf_Sym sym;
				const char *s;
				int type;

				if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF)
					continue;
				type = GELF_ST_TYPE(sym.st_info);
				if (type != STT_FUNC && type != STT_OBJECT)
					continue;
				s = elf_strptr(symelf, sh.sh_link, sym.st_name);
				if (!s || (prefix ? strncmp(s, name, strlen(name)) : strcmp(s, name)) != 0)
					continue;
				if (!expected_offset(elf, sym.st_value, type == STT_FUNC, &e.offset))
					continue;
				e.found = true;
				e.addr = sym.st_value;
				e.size = sym.st_size;
				e.table = t == 0 ? "symtab" : "dynsym";
				break;
			}
		}
	}
out:
	if (symelf)
		elf_end(symelf);
	if (elf)
		elf_end(elf);
	if (sfd >= 0)
		close(sfd);
	if (fd >= 0)
		close(fd);
	return e;
}

/* q (resolved) against what libelf says for the same name. */
static void check_query(const struct rtp_sym_query *q, const struct expected *e, const char *source)
{
	CHECK(e->found);
	CHECK_EQ(q->found, 1);
	if (!q->found || !e->found) {
		fprintf(stderr, "  symbol %s: found %d, expected %d\n", q->name, q->found, e->found);
		return;
	}
	CHECK_EQ(q->addr, e->addr);
	CHECK_EQ(q->size, e->size);
	CHECK_EQ(q->offset, e->offset);
	CHECK_STREQ(q->source, source ? source : e->table);
}

/* ---- files ---- */

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, err = 0;
	ssize_t n;

	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (out < 0) {
		err = -errno;
		goto out;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			err = -EIO;
			break;
		}
	if (n < 0)
		err = -errno;
out:
	close(in);
	if (out >= 0)
		close(out);
	return err;
}

static int mkdir_p(const char *dir)
{
	char path[PATH_MAX];
	char *p;

	snprintf(path, sizeof(path), "%s", dir);
	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(path, 0755) != 0 && errno != EEXIST ? -errno : 0;
}

/* tmpdir/sub/file, its directories made, as a copy of `from`. */
static void place(const char *sub, const char *from, char *path, size_t len)
{
	char dir[PATH_MAX];

	snprintf(path, len, "%s/%s", tmpdir, sub);
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	CHECK_EQ(mkdir_p(dir), 0);
	CHECK_EQ(copy_file(from, path), 0);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void remove_tree(const char *path)
{
	nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Run a shell command and keep its first output line, newline-stripped: 0 if it printed one. */
static int run_line(const char *cmd, char *out, size_t len)
{
	char buf[PATH_MAX];
	FILE *p = popen(cmd, "r");
	int got = 0;

	if (!p)
		return -errno;
	while (fgets(buf, sizeof(buf), p))
		if (!got++) {
			buf[strcspn(buf, "\n")] = '\0';
			snprintf(out, len, "%s", buf);
		}
	pclose(p);
	return got ? 0 : -ENOENT;
}

/* ---- the fixture ---- */

#define FIXTURE_NAMES 6
static const struct {
	const char *name;
	int prefix;
} fixture_names[FIXTURE_NAMES] = {
	{ "fixture_local_func", 0 },   { "fixture_global_func", 0 }, { "fixture_object", 0 },
	{ "fixture_local_object", 0 }, { "_ZN7fixture5Thing6methodE", 1 }, { "fixture_sema", 0 },
};

static void fixture_queries(struct rtp_sym_query *q)
{
	size_t i;

	for (i = 0; i < FIXTURE_NAMES; i++)
		q[i] = (struct rtp_sym_query){ .name = fixture_names[i].name, .prefix = fixture_names[i].prefix };
	q[FIXTURE_NAMES] = (struct rtp_sym_query){ .name = "fixture_no_such_symbol" };
	/* Exact: the mangled name is longer, so no symbol is named this. */
	q[FIXTURE_NAMES + 1] = (struct rtp_sym_query){ .name = "_ZN7fixture5Thing6methodE" };
}

/* Resolve the fixture's names in `path` (with `root`): all found, from `source`, where the unstripped
 * build has them. */
static void check_fixture(const char *path, const char *root, const char *source)
{
	struct rtp_sym_query q[FIXTURE_NAMES + 2];
	size_t i;

	fixture_queries(q);
	CHECK_EQ(symbols__resolve(path, root, q, FIXTURE_NAMES + 2), FIXTURE_NAMES);
	for (i = 0; i < FIXTURE_NAMES; i++) {
		struct expected e = expect_sym(FIXTURE, FIXTURE, q[i].name, q[i].prefix);

		check_query(&q[i], &e, source);
	}
	CHECK_EQ(q[FIXTURE_NAMES].found, 0);
	CHECK_EQ(q[FIXTURE_NAMES + 1].found, 0);
	CHECK_STREQ(q[FIXTURE_NAMES].source, "");
}

/* A stripped copy finds nothing but through its debug file; resolve it without one. */
static void check_fixture_missing(const char *path, const char *root)
{
	struct rtp_sym_query q[FIXTURE_NAMES + 2];
	size_t i;

	symbols__cache_clear();
	fixture_queries(q);
	CHECK_EQ(symbols__resolve(path, root, q, FIXTURE_NAMES + 2), 0);
	for (i = 0; i < FIXTURE_NAMES + 2; i++)
		CHECK_EQ(q[i].found, 0);
}

static void test_fixture_unstripped(void)
{
	symbols__cache_clear();
	check_fixture(FIXTURE, NULL, "symtab");
	/* Cached: the same answers. */
	check_fixture(FIXTURE, NULL, "symtab");
	/* The local object really is the local one, and the prefix found the mangled function. */
	{
		struct rtp_sym_query q = { .name = "_ZN7fixture5Thing6methodE", .prefix = 1 };
		struct expected e = expect_sym(FIXTURE, FIXTURE, "_ZN7fixture5Thing6methodEi", false);

		CHECK_EQ(symbols__resolve(FIXTURE, "", &q, 1), 1);
		CHECK_EQ(q.addr, e.addr);
	}
}

/* Functions by address (addrsym): each of the fixture's functions named from an address inside it, the C++
 * one demangled; an address past every function is none. */
static void test_addrsym(void)
{
	static const struct {
		const char *sym, *name;
	} fns[] = { { "fixture_local_func", "fixture_local_func" },
		    { "fixture_global_func", "fixture_global_func" },
		    { "_ZN7fixture5Thing6methodEi", "fixture::Thing::method" } };
	struct addrsym *a = NULL;
	char name[160];
	uint64_t vaddr;

	CHECK_EQ(addrsym__open(FIXTURE, &a), 0);
	if (!a)
		return;
	CHECK(addrsym__count(a) >= (sizeof(fns) / sizeof(fns[0])));
	for (size_t i = 0; i < (sizeof(fns) / sizeof(fns[0])); i++) {
		struct expected e = expect_sym(FIXTURE, FIXTURE, fns[i].sym, false);

		CHECK_EQ(addrsym__name(a, e.addr + 1, name, sizeof(name)), 0);
		CHECK_STREQ(name, fns[i].name);
		/* the file offset the probes use maps back to the address */
		CHECK_EQ(addrsym__vaddr_of(a, e.offset, &vaddr), 0);
		CHECK_EQ(vaddr, e.addr);
	}
	CHECK_EQ(addrsym__name(a, UINT64_MAX - 1, name, sizeof(name)), -ENOENT);
	CHECK_EQ(addrsym__name(a, 0, name, sizeof(name)), -ENOENT);
	addrsym__free(a);
	CHECK_EQ(addrsym__open("/nonexistent", &a), -ENOENT);
}

static void test_fixture_debug_files(void)
{
	char path[PATH_MAX], root[PATH_MAX], dbg[PATH_MAX], hex[2 * 64 + 1], sub[PATH_MAX];

	CHECK_EQ(symbols__build_id(FIXTURE_STRIPPED, hex, sizeof(hex)), 0);
	CHECK_EQ(strlen(hex), 40);

	/* Nothing beside it: not found. */
	place("none/bin/symbols_fixture", FIXTURE_STRIPPED, path, sizeof(path));
	snprintf(root, sizeof(root), "%s/none", tmpdir);
	check_fixture_missing(path, root);

	/* By build id, under root. */
	place("bid/bin/symbols_fixture", FIXTURE_STRIPPED, path, sizeof(path));
	snprintf(sub, sizeof(sub), "bid/usr/lib/debug/.build-id/%.2s/%s.debug", hex, hex + 2);
	place(sub, FIXTURE_DEBUG, dbg, sizeof(dbg));
	snprintf(root, sizeof(root), "%s/bid", tmpdir);
	symbols__cache_clear();
	check_fixture(path, root, "build-id");
	/* The same with a trailing slash on root. */
	snprintf(root, sizeof(root), "%s/bid/", tmpdir);
	symbols__cache_clear();
	check_fixture(path, root, "build-id");
	/* A file of another build at the build-id path is refused. */
	CHECK_EQ(copy_file(FIXTURE_STRIPPED, dbg), 0);
	{
		char cmd[2 * PATH_MAX];

		/* Another build id: objcopy rewrites the note's bytes. */
		snprintf(cmd, sizeof(cmd), "objcopy --remove-section .note.gnu.build-id '%s' 2>/dev/null", dbg);
		if (system(cmd) != 0)
			skip("debug file without the build id", "objcopy failed");
	}
	check_fixture_missing(path, root);

	/* By .gnu_debuglink: beside the file, in .debug/ beside it, under root's /usr/lib/debug/<dir>/. */
	place("dl1/bin/symbols_fixture", FIXTURE_STRIPPED, path, sizeof(path));
	place("dl1/bin/" FIXTURE_DEBUG_NAME, FIXTURE_DEBUG, dbg, sizeof(dbg));
	snprintf(root, sizeof(root), "%s/dl1", tmpdir);
	symbols__cache_clear();
	check_fixture(path, root, "debuglink");
	symbols__cache_clear();
	check_fixture(path, NULL, "debuglink");

	place("dl2/bin/symbols_fixture", FIXTURE_STRIPPED, path, sizeof(path));
	place("dl2/bin/.debug/" FIXTURE_DEBUG_NAME, FIXTURE_DEBUG, dbg, sizeof(dbg));
	snprintf(root, sizeof(root), "%s/dl2", tmpdir);
	symbols__cache_clear();
	check_fixture(path, root, "debuglink");

	place("dl3/opt/app/symbols_fixture", FIXTURE_STRIPPED, path, sizeof(path));
	place("dl3/usr/lib/debug/opt/app/" FIXTURE_DEBUG_NAME, FIXTURE_DEBUG, dbg, sizeof(dbg));
	snprintf(root, sizeof(root), "%s/dl3", tmpdir);
	symbols__cache_clear();
	check_fixture(path, root, "debuglink");
	/* Without root the /usr/lib/debug one is not looked for there. */
	check_fixture_missing(path, NULL);

	/* A debug file whose CRC does not match (one byte more) is refused. */
	{
		int fd = open(dbg, O_WRONLY | O_APPEND | O_CLOEXEC);

		CHECK(fd >= 0 && write(fd, "", 1) == 1);
		if (fd >= 0)
			close(fd);
	}
	check_fixture_missing(path, root);
	symbols__cache_clear();
}

/* The stripped fixture running from under tmpdir, resolved as the engine does: /proc/PID/exe with
 * root /proc/PID/root; its debug file in .debug/ beside the executable. */
static void test_fixture_live(void)
{
	char path[PATH_MAX], dbg[PATH_MAX], root[64], exe[64], mapped[PATH_MAX + 64], want[PATH_MAX + 64];
	char *argv[] = { path, "wait", NULL };
	pid_t pid, gone;

	place("live/bin/symbols_fixture", FIXTURE_STRIPPED, path, sizeof(path));
	place("live/bin/.debug/" FIXTURE_DEBUG_NAME, FIXTURE_DEBUG, dbg, sizeof(dbg));
	pid = spawn_ready(argv);
	CHECK(pid > 0);
	if (pid <= 0)
		return;
	snprintf(root, sizeof(root), "/proc/%d/root", (int)pid);
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
	symbols__cache_clear();
	check_fixture(exe, root, "debuglink");

	CHECK_EQ(symbols__find_mapping(pid, "symbols_fix", mapped, sizeof(mapped)), 0);
	snprintf(want, sizeof(want), "/proc/%d/root%s", (int)pid, path);
	CHECK_STREQ(mapped, want);
	CHECK_EQ(symbols__find_mapping(pid, "no_such_lib", mapped, sizeof(mapped)), -ENOENT);
	CHECK_EQ(symbols__find_mapping(pid, "symbols_fix", mapped, 8), -ENAMETOOLONG);

	/* Deleted while running: the mapping, not the (gone) name. */
	CHECK_EQ(unlink(path), 0);
	CHECK_EQ(symbols__find_mapping(pid, "symbols_fix", mapped, sizeof(mapped)), 0);
	snprintf(want, sizeof(want), "/proc/%d/map_files/", (int)pid);
	CHECK(strncmp(mapped, want, strlen(want)) == 0);
	if (access(mapped, R_OK) == 0) {
		symbols__cache_clear();
		check_fixture(mapped, root, "debuglink");
	} else {
		skip("resolving through map_files", "needs CAP_SYS_ADMIN");
	}
	stop(pid);

	CHECK_EQ(symbols__find_mapping(pid, "symbols_fix", mapped, sizeof(mapped)), -ESRCH);
	gone = fork();
	if (gone == 0)
		_exit(0);
	waitpid(gone, NULL, 0);
	CHECK_EQ(symbols__find_mapping(gone, "x", mapped, sizeof(mapped)), -ESRCH);
	CHECK_EQ(symbols__find_mapping(getpid(), "test_symbols", mapped, sizeof(mapped)) == 0 ||
			 under_valgrind(), /* valgrind maps its own tool as the executable */
		 1);
	symbols__cache_clear();
}

static bool has_section(const char *path, const char *name)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *elf = fd >= 0 ? elf_begin(fd, ELF_C_READ_MMAP, NULL) : NULL;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	bool found = false;

	if (elf && elf_getshdrstrndx(elf, &shstrndx) == 0)
		while (!found && (scn = elf_nextscn(elf, scn))) {
			GElf_Shdr sh;
			const char *s;

			found = gelf_getshdr(scn, &sh) && (s = elf_strptr(elf, shstrndx, sh.sh_name)) &&
				strcmp(s, name) == 0;
		}
	if (elf)
		elf_end(elf);
	if (fd >= 0)
		close(fd);
	return found;
}

/* Whether the file has the USDT probe provider:name: 1 yes, 0 no (through the probe list). */
static int has_usdt(const char *path, const char *provider, const char *name)
{
	struct rtp_usdt_probe v[8];
	int n = symbols__usdt_list(path, v, 8);

	for (int i = 0; i < n && i < 8; i++)
		if (!strcmp(v[i].provider, provider) && !strcmp(v[i].name, name))
			return 1;
	return n < 0 ? n : 0;
}

static void test_fixture_usdt(void)
{
	struct rtp_usdt_probe probes[4];
	const char *files[] = { FIXTURE, FIXTURE_STRIPPED };
	struct expected pc = expect_sym(FIXTURE, FIXTURE, "fixture_probe_pc", false);
	struct expected sema = expect_sym(FIXTURE, FIXTURE, "fixture_sema", false);
	size_t i;

	CHECK(pc.found && sema.found);
	for (i = 0; i < 2; i++) {
		if (i == 1 && !has_section(FIXTURE_STRIPPED, ".note.stapsdt")) {
			skip("SDT notes of the stripped fixture", "its objcopy --strip-all dropped them (llvm-objcopy)");
			break;
		}
		memset(probes, 0x5a, sizeof(probes));
		CHECK_EQ(symbols__usdt_list(files[i], probes, 4), 1);
		CHECK_STREQ(probes[0].provider, "rtprof");
		CHECK_STREQ(probes[0].name, "probe1");
		/* The note says pc, base and semaphore + 16: the base adjustment takes the 16 off. */
		CHECK_EQ(probes[0].pc, pc.addr);
		CHECK_EQ(probes[0].offset, pc.offset);
		CHECK_EQ(probes[0].semaphore, sema.addr);
		CHECK_EQ(probes[0].semaphore_offset, sema.offset);
		CHECK(strncmp(probes[0].args, "-4@", 3) == 0);
		CHECK_EQ(has_usdt(files[i], "rtprof", "probe1"), 1);
		CHECK_EQ(has_usdt(files[i], "rtprof", "probe2"), 0);
		CHECK_EQ(has_usdt(files[i], "rtpro", "probe1"), 0);
		/* Counted, not written. */
		CHECK_EQ(symbols__usdt_list(files[i], NULL, 0), 1);
	}
	CHECK_EQ(symbols__usdt_list(FIXTURE_DEBUG, probes, 4), 0);
}

static void test_build_id(void)
{
	char hex[2 * 64 + 1], want[256], cmd[3 * PATH_MAX], small[8];
	const char *files[] = { FIXTURE, SYSTEM_PYTHON, "/usr/bin/node" };
	size_t i;

	for (i = 0; i < 3; i++) {
		snprintf(cmd, sizeof(cmd), "readelf -nW '%s' 2>/dev/null | sed -n 's/.*Build ID: *//p'", files[i]);
		if (access(files[i], R_OK) != 0 || run_line(cmd, want, sizeof(want)) != 0) {
			skip("build id", files[i]);
			continue;
		}
		CHECK_EQ(symbols__build_id(files[i], hex, sizeof(hex)), 0);
		CHECK_STREQ(hex, want);
	}
	/* The debug file carries the same id; the stripped copy too. */
	CHECK_EQ(symbols__build_id(FIXTURE_DEBUG, want, sizeof(want)), 0);
	CHECK_EQ(symbols__build_id(FIXTURE_STRIPPED, hex, sizeof(hex)), 0);
	CHECK_STREQ(hex, want);
	CHECK_EQ(symbols__build_id(FIXTURE, hex, 41), 0);
	CHECK_EQ(symbols__build_id(FIXTURE, small, sizeof(small)), -ENOSPC);
	CHECK_EQ(symbols__build_id("/nonexistent/file", hex, sizeof(hex)), -ENOENT);
	CHECK_EQ(symbols__build_id(tmpdir, hex, sizeof(hex)), -ENOEXEC);
	{
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/no-build-id", tmpdir);
		snprintf(cmd, sizeof(cmd), "objcopy --remove-section .note.gnu.build-id '%s' '%s' 2>/dev/null",
			 FIXTURE, path);
		if (system(cmd) == 0)
			CHECK_EQ(symbols__build_id(path, hex, sizeof(hex)), -ENOENT);
		else
			skip("a file without build id", "objcopy failed");
		/* Without a build id the cache goes by inode: still right, twice. */
		symbols__cache_clear();
		check_fixture(path, NULL, "symtab");
		check_fixture(path, NULL, "symtab");
		unlink(path);
	}
}

/* ---- the system's interpreters ---- */

static void test_system_python(void)
{
	struct rtp_sym_query q[] = {
		{ .name = "_PyRuntime" },
		{ .name = "PyEval_SaveThread" },
		{ .name = "PyEval_RestoreThread" },
		{ .name = "take_gil" },
		{ .name = "Py_Initial", .prefix = 1 },
	};
	struct rtp_usdt_probe probes[64];
	char hex[2 * 64 + 1], dbg[PATH_MAX], cmd[PATH_MAX], line[256];
	uint64_t loc = 0, base = 0, sema = 0, want_pc, want_off = 0, want_sema_off = 0;
	size_t i;
	int n;

	if (access(SYSTEM_PYTHON, R_OK) != 0) {
		skip("system python", SYSTEM_PYTHON " is missing");
		return;
	}
	symbols__cache_clear();
	n = symbols__resolve(SYSTEM_PYTHON, "/", q, sizeof(q) / sizeof(q[0]));
	for (i = 0; i < 3; i++) {
		struct expected e = expect_sym(SYSTEM_PYTHON, SYSTEM_PYTHON, q[i].name, false);

		check_query(&q[i], &e, "dynsym");
	}
	{
		struct expected e = expect_sym(SYSTEM_PYTHON, SYSTEM_PYTHON, "Py_Initial", true);

		check_query(&q[4], &e, NULL);
	}
	/* take_gil is static: only its debug file, when installed, has it. */
	CHECK_EQ(symbols__build_id(SYSTEM_PYTHON, hex, sizeof(hex)), 0);
	snprintf(dbg, sizeof(dbg), "/usr/lib/debug/.build-id/%.2s/%s.debug", hex, hex + 2);
	if (access(dbg, R_OK) == 0) {
		CHECK_EQ(n, 5);
		CHECK_STREQ(q[3].source, "build-id");
	} else {
		CHECK_EQ(n, 4);
		CHECK_EQ(q[3].found, 0);
	}

	/* USDT: gc__start, against readelf -n: Location adjusted by .stapsdt.base's address - Base. */
	n = symbols__usdt_list(SYSTEM_PYTHON, probes, 64);
	CHECK(n > 0 && n <= 64);
	snprintf(cmd, sizeof(cmd),
		 "readelf -nW %s 2>/dev/null | grep -A1 'Name: gc__start$' | sed -n 's/.*Location: *//p'",
		 SYSTEM_PYTHON);
	if (run_line(cmd, line, sizeof(line)) != 0 ||
	    sscanf(line, "%" SCNx64 ", Base: %" SCNx64 ", Semaphore: %" SCNx64, &loc, &base, &sema) != 3) {
		skip("python's gc__start against readelf", "readelf -n shows no gc__start");
		return;
	}
	{
		int fd = open(SYSTEM_PYTHON, O_RDONLY | O_CLOEXEC);
		Elf *elf = fd >= 0 ? elf_begin(fd, ELF_C_READ_MMAP, NULL) : NULL;
		Elf_Scn *scn = NULL;
		size_t shstrndx = 0;
		uint64_t base_addr = base;

		if (elf && elf_getshdrstrndx(elf, &shstrndx) == 0)
			while ((scn = elf_nextscn(elf, scn))) {
				GElf_Shdr sh;
				const char *name;

				if (gelf_getshdr(scn, &sh) && (name = elf_strptr(elf, shstrndx, sh.sh_name)) &&
				    strcmp(name, ".stapsdt.base") == 0)
					base_addr = sh.sh_addr;
			}
		want_pc = loc + (base_addr - base);
		CHECK(elf && expected_offset(elf, want_pc, true, &want_off));
		CHECK(elf && expected_offset(elf, sema + (base_addr - base), true, &want_sema_off));
		if (elf)
			elf_end(elf);
		if (fd >= 0)
			close(fd);
	}
	for (i = 0; i < (size_t)n && i < 64; i++) {
		if (strcmp(probes[i].provider, "python") != 0 || strcmp(probes[i].name, "gc__start") != 0)
			continue;
		CHECK_EQ(probes[i].pc, want_pc);
		CHECK_EQ(probes[i].offset, want_off);
		CHECK(probes[i].semaphore != 0);
		CHECK_EQ(probes[i].semaphore, sema + (want_pc - loc));
		CHECK_EQ(probes[i].semaphore_offset, want_sema_off);
		CHECK(probes[i].args[0] != '\0');
		printf("python gc__start: pc 0x%" PRIx64 " offset 0x%" PRIx64 " semaphore 0x%" PRIx64
		       " args \"%s\"\n",
		       probes[i].pc, probes[i].offset, probes[i].semaphore, probes[i].args);
		break;
	}
	CHECK(i < (size_t)n);
	CHECK_EQ(has_usdt(SYSTEM_PYTHON, "python", "gc__start"), 1);
	CHECK_EQ(has_usdt(SYSTEM_PYTHON, "python", "gc__done"), 1);
	CHECK_EQ(has_usdt(SYSTEM_PYTHON, "python", "no__such"), 0);
	/* A short array: the count of all, the first ones written. */
	CHECK_EQ(symbols__usdt_list(SYSTEM_PYTHON, probes, 1), n);
	symbols__cache_clear();
}

static void test_libpython(void)
{
	static const char *const names[] = { "take_gil", "drop_gil", "gc_collect_main", "_PyRuntime",
					     "PyEval_SaveThread" };
	struct rtp_sym_query q[5];
	struct rtp_usdt_probe probe;
	size_t i;

	if (access(PYENV_LIBPYTHON, R_OK) != 0) {
		skip("shared libpython", PYENV_LIBPYTHON " is missing");
		return;
	}
	for (i = 0; i < 5; i++)
		q[i] = (struct rtp_sym_query){ .name = names[i] };
	symbols__cache_clear();
	CHECK_EQ(symbols__resolve(PYENV_LIBPYTHON, NULL, q, 5), 5);
	for (i = 0; i < 5; i++) {
		struct expected e = expect_sym(PYENV_LIBPYTHON, PYENV_LIBPYTHON, names[i], false);

		check_query(&q[i], &e, "symtab");
	}
	CHECK_EQ(symbols__usdt_list(PYENV_LIBPYTHON, &probe, 1), 0);
	symbols__cache_clear();
}

#define NODE_NAMES 11
static const struct {
	const char *name;
	int prefix;
} node_names[NODE_NAMES] = {
	{ "uv__io_poll", 0 },
	{ "uv__work_submit", 0 },
	{ "uv__fs_work", 0 },
	{ "uv__queue_work", 0 },
	{ "uv__getaddrinfo_work", 0 },
	{ "uv__random_work", 0 },
	{ "uv_run", 0 },
	{ "napi_create_function", 0 },
	{ "_ZN2v88internal4Heap24PerformGarbageCollectionE", 1 },
	{ "_ZN4node5StartE", 1 },
	{ "rtprof_no_such_symbol", 0 },
};

static void test_node(void)
{
	struct rtp_sym_query q[NODE_NAMES], again[NODE_NAMES], z = { .name = "_Z", .prefix = 1 };
	char exe[PATH_MAX];
	double t0, t1, t2;
	long before = -1, after = -1;
	size_t i;
	int fd, n;

	if (run_line("command -v node", exe, sizeof(exe)) != 0 || exe[0] != '/') {
		skip("node", "no node on PATH");
		return;
	}
	for (i = 0; i < NODE_NAMES; i++)
		q[i] = again[i] = (struct rtp_sym_query){ .name = node_names[i].name, .prefix = node_names[i].prefix };
	symbols__cache_clear();
	/* "5" resets VmHWM to the current RSS (Linux 4.0): earlier tests' peaks must not hide this one. */
	fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	if (fd >= 0 && write(fd, "5", 1) == 1)
		before = status_kib("VmHWM");
	if (fd >= 0)
		close(fd);
	t0 = now();
	n = symbols__resolve(exe, NULL, q, NODE_NAMES);
	t1 = now();
	after = status_kib("VmHWM");
	CHECK_EQ(symbols__resolve(exe, NULL, again, NODE_NAMES), n);
	t2 = now();
	printf("node: %d of %d names in %.1f ms (cached: %.3f ms), VmHWM %ld -> %ld KiB\n", n, NODE_NAMES,
	       (t1 - t0) * 1e3, (t2 - t1) * 1e3, before, after);
	CHECK_EQ(n, NODE_NAMES - 1);
	if (!under_valgrind() && !TEST_ASAN) {
		/* 0.1 s here; generous for a loaded CI machine. */
		CHECK(t1 - t0 < 2.0);
		CHECK(t2 - t1 < 0.05);
		if (before > 0) {
			CHECK(after - before < 8 * 1024);
		} else {
			skip("node resolve peak RSS", "VmHWM cannot be reset through /proc/self/clear_refs");
		}
	}
	for (i = 0; i < NODE_NAMES - 1; i++) {
		struct expected e = expect_sym(exe, exe, node_names[i].name, node_names[i].prefix);

		check_query(&q[i], &e, "symtab");
		CHECK_EQ(again[i].offset, q[i].offset);
		CHECK_STREQ(again[i].source, q[i].source);
	}
	CHECK_EQ(q[NODE_NAMES - 1].found, 0);
	CHECK_EQ(again[NODE_NAMES - 1].found, 0);

	/* "_Z" starts too many of node's names to index: compared symbol by symbol instead. */
	CHECK_EQ(symbols__resolve(exe, NULL, &z, 1), 1);
	{
		struct expected e = expect_sym(exe, exe, "_Z", true);

		check_query(&z, &e, "symtab");
	}
	symbols__cache_clear();
}

/* ---- the cache and broken input ---- */

/* More names than the cache holds, then the fixture's again: evicted entries are simply looked up. */
static void test_cache_bound(void)
{
	struct rtp_sym_query q[300];
	char names[300][32];
	size_t i;

	symbols__cache_clear();
	check_fixture(FIXTURE, NULL, "symtab");
	for (i = 0; i < 300; i++) {
		snprintf(names[i], sizeof(names[i]), "missing_%zu", i);
		q[i] = (struct rtp_sym_query){ .name = names[i] };
	}
	CHECK_EQ(symbols__resolve(FIXTURE, NULL, q, 300), 0);
	CHECK_EQ(symbols__resolve(FIXTURE, NULL, q, 300), 0);
	check_fixture(FIXTURE, NULL, "symtab");
	symbols__cache_clear();
}

static void write_file(const char *path, const void *bytes, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	CHECK(fd >= 0 && write(fd, bytes, len) == (ssize_t)len);
	if (fd >= 0)
		close(fd);
}

static void test_bad_input(void)
{
	struct rtp_sym_query q = { .name = "main" }, empty = { .name = "" }, unnamed = { .name = NULL };
	struct rtp_usdt_probe probe;
	char path[PATH_MAX], *long_name;

	snprintf(path, sizeof(path), "%s/script", tmpdir);
	write_file(path, "#!/bin/sh\n", 10);
	CHECK_EQ(symbols__resolve(path, NULL, &q, 1), -ENOEXEC);
	CHECK_EQ(symbols__usdt_list(path, &probe, 1), -ENOEXEC);
	CHECK_EQ(has_usdt(path, "a", "b"), -ENOEXEC);
	write_file(path, "\177ELF\2\1\1", 7);
	CHECK(symbols__resolve(path, NULL, &q, 1) < 0);
	CHECK_EQ(symbols__resolve(tmpdir, NULL, &q, 1), -ENOEXEC);
	CHECK_EQ(symbols__resolve("/nonexistent/file", NULL, &q, 1), -ENOENT);
	CHECK_EQ(symbols__usdt_list("/nonexistent/file", &probe, 1), -ENOENT);
	CHECK_EQ(has_usdt("/nonexistent/file", "a", "b"), -ENOENT);
	CHECK_EQ(symbols__resolve(NULL, NULL, &q, 1), -EINVAL);
	CHECK_EQ(symbols__resolve(FIXTURE, NULL, &empty, 1), -EINVAL);
	CHECK_EQ(symbols__resolve(FIXTURE, NULL, &unnamed, 1), -EINVAL);
	CHECK_EQ(symbols__resolve(FIXTURE, NULL, NULL, 0), 0);
	long_name = malloc(8192);
	if (long_name) {
		memset(long_name, 'a', 8191);
		long_name[8191] = '\0';
		q.name = long_name;
		CHECK_EQ(symbols__resolve(FIXTURE, NULL, &q, 1), -EINVAL);
		free(long_name);
	}
	CHECK_EQ(symbols__find_mapping(0, "x", path, sizeof(path)), -EINVAL);
}

static int copy_prefix(const char *from, const char *to, off_t len)
{
	char *buf = malloc((size_t)len + 1);
	int fd = open(from, O_RDONLY | O_CLOEXEC), err = 0;

	if (!buf || fd < 0 || pread(fd, buf, (size_t)len, 0) != len)
		err = -EIO;
	if (!err)
		write_file(to, buf, (size_t)len);
	free(buf);
	if (fd >= 0)
		close(fd);
	return err;
}

static uint32_t next_rand(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

/* Cuts and random bytes over the headers, the tables and the notes of the fixture: an error or a
 * well-formed answer (found ones with a source, strings terminated), never a crash (ASan, valgrind). */
static void test_broken_fixture(void)
{
	struct rtp_sym_query q[FIXTURE_NAMES + 2];
	struct rtp_usdt_probe probes[4];
	char path[PATH_MAX];
	unsigned char *image, *copy;
	struct stat st;
	uint32_t seed = 0x5eed;
	int round, fd, ok = 0;
	off_t cut;

	if (stat(FIXTURE, &st) != 0 || !(image = malloc((size_t)st.st_size)) ||
	    !(copy = malloc((size_t)st.st_size))) {
		CHECK(!"reading the fixture");
		return;
	}
	fd = open(FIXTURE, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 && read(fd, image, (size_t)st.st_size) == st.st_size);
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "%s/broken", tmpdir);
	for (cut = 1; cut < st.st_size; cut = cut * 3 + 7) {
		CHECK_EQ(copy_prefix(FIXTURE, path, cut), 0);
		fixture_queries(q);
		symbols__cache_clear();
		/* Cut before the section headers (at the end): no usable ELF. */
		CHECK(symbols__resolve(path, NULL, q, FIXTURE_NAMES + 2) < 0);
		CHECK(symbols__usdt_list(path, probes, 4) < 0);
	}
	for (round = 0; round < 200; round++) {
		int flips = 1 + (int)(next_rand(&seed) % 16), i, r;
		size_t k;

		memcpy(copy, image, (size_t)st.st_size);
		for (i = 0; i < flips; i++)
			copy[next_rand(&seed) % (uint32_t)st.st_size] = (unsigned char)next_rand(&seed);
		write_file(path, copy, (size_t)st.st_size);
		fixture_queries(q);
		symbols__cache_clear();
		r = symbols__resolve(path, NULL, q, FIXTURE_NAMES + 2);
		for (k = 0; k < FIXTURE_NAMES + 2; k++)
			if (q[k].found && !memchr(q[k].source, '\0', sizeof(q[k].source)))
				r = -1000;
		if (r >= -200 && r <= FIXTURE_NAMES + 2) {
			r = symbols__usdt_list(path, probes, 4);
			for (k = 0; r > 0 && k < (size_t)r && k < 4; k++)
				if (!memchr(probes[k].provider, '\0', 64) || !memchr(probes[k].name, '\0', 64) ||
				    !memchr(probes[k].args, '\0', 128))
					r = -1000;
			ok += r >= -200;
		}
	}
	CHECK_EQ(ok, 200);
	free(copy);
	free(image);
	symbols__cache_clear();
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_bad_input();
	test_fixture_unstripped();
	test_addrsym();
	test_fixture_debug_files();
	test_fixture_live();
	test_fixture_usdt();
	test_build_id();
	test_system_python();
	test_libpython();
	test_node();
	test_cache_bound();
	test_broken_fixture();
	symbols__cache_clear();
	remove_tree(tmpdir);
	return check_summary();
}
