// SPDX-License-Identifier: LGPL-2.1-or-later
/* runtime: kind and version of real interpreters on this machine, each compared with what the
 * interpreter itself prints; the peak RSS that detecting node costs; names and versions that
 * straddle the read boundaries of small ELF files written here; broken ELF files; live processes
 * (this one, spawned ones, gone ones). Interpreters that are missing are skipped with a printed reason. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "testproc.h"
#include "sys/procfs.h"
#include "sys/runtime.h"

/* sys.version_info in the format runtime.c gives Py_Version: "3.11.2", "3.13.0rc1". */
#define PY_VERSION_CODE                                                                         \
	"import sys; v = sys.version_info; "                                                    \
	"print(\"%d.%d.%d\" % tuple(v[:3]) + ({\"alpha\": \"a\", \"beta\": \"b\", "             \
	"\"candidate\": \"rc\"}.get(v[3], \"\") + (str(v[4]) if v[3] != \"final\" else \"\")))"

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

/* The longest "vX.Y.Z" runtime.c takes for node's version: six digits a part. */
#define LONGEST_NODE_VERSION "v123456.123456.123456"

static char tmpdir[] = "/tmp/test_runtime.XXXXXX";

/* Read sizes runtime.c might use: a token is written across each of them. */
static const size_t read_boundaries[] = { 4096, 65536, 131072, 262144, 524288, 1048576 };

static void skip(const char *what, const char *why)
{
	printf("SKIP %s: %s\n", what, why);
}

/* Run a shell command and keep its output's lines (at most `lines`), newline-stripped.
 * Returns 0 if it exited with 0 and printed at least `lines` lines. */
static int run_lines(const char *cmd, char out[][PATH_MAX], int lines)
{
	char buf[PATH_MAX];
	FILE *p = popen(cmd, "r");
	int n = 0, status;

	if (!p)
		return -errno;
	while (n < lines && fgets(buf, sizeof(buf), p)) {
		buf[strcspn(buf, "\n")] = '\0';
		snprintf(out[n++], PATH_MAX, "%s", buf);
	}
	while (fgets(buf, sizeof(buf), p))
		;
	status = pclose(p);
	return status == 0 && n == lines ? 0 : -EIO;
}

static int run_line(const char *cmd, char *out)
{
	char line[1][PATH_MAX];
	int err = run_lines(cmd, line, 1);

	if (!err)
		snprintf(out, PATH_MAX, "%s", line[0]);
	return err;
}

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static void test_kind_names(void)
{
	CHECK_STREQ(runtime__kind_name(RTP_RUNTIME_PYTHON), "python");
	CHECK_STREQ(runtime__kind_name(RTP_RUNTIME_NODE), "node");
	CHECK_STREQ(runtime__kind_name(RTP_RUNTIME_OTHER), "other");
}

/* Debian's python3.11: libpython linked in statically, Py_Version in the exe's .dynsym. */
static void test_system_python(void)
{
	const char *exe = "/usr/bin/python3.11";
	char expected[PATH_MAX];
	struct rtp_runtime_info info;
	char *argv[] = { (char *)exe, "-c", "print('ready', flush=True); import time; time.sleep(60)", NULL };
	pid_t pid;

	if (access(exe, X_OK) != 0) {
		skip("system python", "no /usr/bin/python3.11");
		return;
	}
	if (run_line("/usr/bin/python3.11 -c '" PY_VERSION_CODE "'", expected) != 0) {
		CHECK(!"/usr/bin/python3.11 did not print its version");
		return;
	}
	CHECK_EQ(runtime__detect_elf(exe, &info), 0);
	CHECK_EQ(info.kind, RTP_RUNTIME_PYTHON);
	CHECK_STREQ(info.version, expected);
	CHECK_STREQ(info.exe, exe);

	pid = spawn_ready(argv);
	CHECK(pid > 0);
	if (pid <= 0)
		return;
	CHECK_EQ(runtime__detect(pid, &info), 0);
	CHECK_EQ(info.kind, RTP_RUNTIME_PYTHON);
	CHECK_STREQ(info.version, expected);
	CHECK(same_file(info.exe, exe));
	stop(pid);
}

static void test_node(void)
{
	char exe[PATH_MAX], expected[PATH_MAX];
	struct rtp_runtime_info info;
	pid_t pid;

	if (run_line("command -v node", exe) != 0 || exe[0] != '/') {
		skip("node", "no node on PATH");
		return;
	}
	if (run_line("node -p process.versions.node", expected) != 0) {
		CHECK(!"node did not print its version");
		return;
	}
	CHECK_EQ(runtime__detect_elf(exe, &info), 0);
	CHECK_EQ(info.kind, RTP_RUNTIME_NODE);
	CHECK_STREQ(info.version, expected);
	/* without the version (rtprof run's read-ahead), twice: the second answer is the kept one, the same */
	for (int i = 0; i < 2; i++) {
		memset(&info, 0xa5, sizeof(info));
		CHECK_EQ(runtime__detect_file(exe, &info), 0);
		CHECK_EQ(info.kind, RTP_RUNTIME_NODE);
		CHECK_STREQ(info.version, "");
		CHECK_STREQ(info.lib, "");
		CHECK_STREQ(info.exe, exe);
	}

	{
		char *argv[] = { exe, "-e", "console.log('ready'); setTimeout(() => {}, 60000)", NULL };

		pid = spawn_ready(argv);
	}
	CHECK(pid > 0);
	if (pid <= 0)
		return;
	CHECK_EQ(runtime__detect(pid, &info), 0);
	CHECK_EQ(info.kind, RTP_RUNTIME_NODE);
	CHECK_STREQ(info.version, expected);
	CHECK_STREQ(info.lib, "");
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(runtime__detect_quick(pid, &info), 0);
		CHECK_EQ(info.kind, RTP_RUNTIME_NODE);
		CHECK_STREQ(info.version, "");
		CHECK_STREQ(info.lib, "");
	}
	stop(pid);
}

/* rtprofd detects every process it watches within a 64 MiB RSS budget: reading node's ~100 MB
 * file (47 MB of .rodata, 7 MB of dynamic symbols) must not make it resident. */
static void test_node_memory(void)
{
	char exe[PATH_MAX];
	struct rtp_runtime_info info;
	long before, after;
	int fd;

	if (TEST_ASAN) {
		skip("node detection peak RSS", "AddressSanitizer's shadow memory changes RSS accounting");
		return;
	}
	if (run_line("command -v node", exe) != 0 || exe[0] != '/') {
		skip("node detection peak RSS", "no node on PATH");
		return;
	}
	/* "5" resets VmHWM to the current RSS (Linux 4.0): earlier tests' peaks must not hide this one. */
	fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "5", 1) != 1) {
		skip("node detection peak RSS", "VmHWM cannot be reset through /proc/self/clear_refs");
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	before = status_kib("VmHWM");
	CHECK_EQ(runtime__detect_elf(exe, &info), 0);
	after = status_kib("VmHWM");
	printf("node detection: VmHWM %ld -> %ld KiB\n", before, after);
	CHECK(before > 0 && after >= before);
	CHECK(after - before < 16 * 1024);
}

struct test_section {
	const char *name;
	Elf64_Word type;
	Elf64_Xword flags;
	Elf64_Addr addr;
	Elf64_Word link;
	Elf64_Xword entsize;
	const void *bytes;
	size_t size;
};

/* An ELF64 file in this machine's byte order: sections[i] is section i + 1, then .shstrtab. */
static int write_elf(const char *path, const struct test_section *sections, size_t count)
{
	Elf64_Ehdr ehdr = { .e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64 } };
	Elf64_Shdr shdrs[8] = {};
	char names[256] = "";
	size_t names_len = 1, i;
	uint64_t offset = sizeof(ehdr);
	int fd, err = 0;

	if (count + 2 > sizeof(shdrs) / sizeof(shdrs[0]))
		return -EINVAL;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (i = 0; i <= count; i++) {
		Elf64_Shdr *shdr = &shdrs[i + 1];
		const char *name = i < count ? sections[i].name : ".shstrtab";

		shdr->sh_name = (Elf64_Word)names_len;
		names_len += (size_t)snprintf(names + names_len, sizeof(names) - names_len, "%s", name) + 1;
		shdr->sh_offset = offset;
		shdr->sh_addralign = 1;
		if (i == count) {
			shdr->sh_type = SHT_STRTAB;
			shdr->sh_size = names_len;
			break;
		}
		shdr->sh_type = sections[i].type;
		shdr->sh_flags = sections[i].flags;
		shdr->sh_addr = sections[i].addr;
		shdr->sh_link = sections[i].link;
		shdr->sh_entsize = sections[i].entsize;
		shdr->sh_size = sections[i].size;
		if (pwrite(fd, sections[i].bytes, sections[i].size, (off_t)offset) != (ssize_t)sections[i].size)
			err = -EIO;
		offset = (offset + sections[i].size + 7) & ~(uint64_t)7;
	}
	if (pwrite(fd, names, names_len, (off_t)offset) != (ssize_t)names_len)
		err = -EIO;
	offset = (offset + names_len + 7) & ~(uint64_t)7;

	ehdr.e_ident[EI_DATA] = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB;
	ehdr.e_ident[EI_VERSION] = EV_CURRENT;
	ehdr.e_type = ET_EXEC;
	ehdr.e_version = EV_CURRENT;
	ehdr.e_ehsize = sizeof(ehdr);
	ehdr.e_shentsize = sizeof(Elf64_Shdr);
	ehdr.e_shoff = offset;
	ehdr.e_shnum = (Elf64_Half)(count + 2);
	ehdr.e_shstrndx = (Elf64_Half)(count + 1);
	if (pwrite(fd, shdrs, ehdr.e_shnum * sizeof(Elf64_Shdr), (off_t)offset) !=
		    (ssize_t)(ehdr.e_shnum * sizeof(Elf64_Shdr)) ||
	    pwrite(fd, &ehdr, sizeof(ehdr), 0) != (ssize_t)sizeof(ehdr))
		err = -EIO;
	close(fd);
	return err;
}

/* Detect a file named "node" whose .rodata is `rodata`: the version found, "" for none. */
static void check_rodata_version(char *rodata, size_t size, const char *expected)
{
	const struct test_section section = { ".rodata", SHT_PROGBITS, SHF_ALLOC, 0x1000, 0, 0, rodata, size };
	struct rtp_runtime_info info;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/node", tmpdir);
	CHECK_EQ(write_elf(path, &section, 1), 0);
	CHECK_EQ(runtime__detect_elf(path, &info), 0);
	CHECK_EQ(info.kind, RTP_RUNTIME_NODE);
	CHECK_STREQ(info.version, expected);
}

/* A "vX.Y.Z" across a read boundary is found, and counted once; the byte before it still decides
 * whether it starts a token. */
static void test_node_version_boundaries(void)
{
	static const size_t shifts[] = { 0, 1, 10, 21, 22 }; /* bytes of the token before the boundary */
	const size_t len = strlen(LONGEST_NODE_VERSION);
	size_t b, s;

	for (b = 0; b < sizeof(read_boundaries) / sizeof(read_boundaries[0]); b++) {
		for (s = 0; s < sizeof(shifts) / sizeof(shifts[0]); s++) {
			size_t size = read_boundaries[b] + 4096, at = read_boundaries[b] - shifts[s];
			char *rodata = calloc(1, size);

			if (!rodata) {
				CHECK(!"calloc");
				return;
			}
			memcpy(rodata + at, LONGEST_NODE_VERSION, len);
			check_rodata_version(rodata, size, &LONGEST_NODE_VERSION[1]); /* without its "v" */
			rodata[at - 1] = 'x';
			check_rodata_version(rodata, size, "");
			rodata[at - 1] = '\0';
			/* Tied on score and count with "v1.1.1", which was found first: it wins unless the
			 * straddling occurrence is counted twice. */
			memcpy(rodata + 16, "v1.1.1", 6);
			memcpy(rodata + 32, "v1.1.1", 6);
			memcpy(rodata + 64, LONGEST_NODE_VERSION, len);
			check_rodata_version(rodata, size, "1.1.1");
			free(rodata);
		}
	}
}

/* Detect a file whose .symtab holds one defined symbol named at `name_at` of `strtab`, with
 * PY_VERSION_HEX 3.12.4 final as its 4-byte value. */
static void check_symbol_name(const char *strtab, size_t size, uint32_t name_at,
			      enum rtp_runtime_kind kind, const char *version)
{
	const uint32_t py_version_hex = 0x030c04f0;
	const Elf64_Sym syms[2] = { {}, { .st_name = name_at,
					   .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_OBJECT),
					   .st_shndx = 1,
					   .st_value = 0x2000,
					   .st_size = sizeof(py_version_hex) } };
	const struct test_section sections[] = {
		{ ".data", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, 0x2000, 0, 0, &py_version_hex, sizeof(py_version_hex) },
		{ ".strtab", SHT_STRTAB, 0, 0, 0, 0, strtab, size },
		{ ".symtab", SHT_SYMTAB, 0, 0, 2, sizeof(Elf64_Sym), syms, sizeof(syms) },
	};
	struct rtp_runtime_info info;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/elf", tmpdir);
	CHECK_EQ(write_elf(path, sections, 3), 0);
	CHECK_EQ(runtime__detect_elf(path, &info), 0);
	CHECK_EQ(info.kind, kind);
	CHECK_STREQ(info.version, version);
}

/* Symbol names across a read boundary of the string table still name their symbols; a name
 * that runs to the end of the table without a NUL names nothing (elf_strptr's rule). */
static void test_symbol_name_boundaries(void)
{
	static const size_t shifts[] = { 0, 1, 5, 10, 11 };
	static const char node_name[] = "_ZN4node4InitEv";
	size_t b, s;

	for (b = 0; b < sizeof(read_boundaries) / sizeof(read_boundaries[0]); b++) {
		for (s = 0; s < sizeof(shifts) / sizeof(shifts[0]); s++) {
			size_t size = read_boundaries[b] + 4096, at = read_boundaries[b] - shifts[s];
			char *strtab = calloc(1, size);

			if (!strtab) {
				CHECK(!"calloc");
				return;
			}
			memcpy(strtab + at, "Py_Version", sizeof("Py_Version"));
			check_symbol_name(strtab, size, (uint32_t)at, RTP_RUNTIME_PYTHON, "3.12.4");
			/* The tail of a longer string, as the linker merges them. */
			strtab[at - 1] = '_';
			check_symbol_name(strtab, size, (uint32_t)at, RTP_RUNTIME_PYTHON, "3.12.4");
			check_symbol_name(strtab, size, (uint32_t)at - 1, RTP_RUNTIME_OTHER, "");
			memcpy(strtab + at, node_name, sizeof(node_name));
			check_symbol_name(strtab, size, (uint32_t)at, RTP_RUNTIME_NODE, "");
			check_symbol_name(strtab, at + sizeof(node_name), (uint32_t)at, RTP_RUNTIME_NODE, "");
			check_symbol_name(strtab, at + sizeof(node_name) - 1, (uint32_t)at, RTP_RUNTIME_OTHER, "");
			free(strtab);
		}
	}
}

/* One CPython with a shared libpython: the library alone, the exe (which only names it in
 * DT_NEEDED), and a live process of it. Older than 3.11 there is no Py_Version: MAJOR.MINOR. */
static void check_shared_python(const char *python, bool live)
{
	char cmd[PATH_MAX * 2], lib[PATH_MAX * 2 + 1];
	char facts[5][PATH_MAX]; /* version, MAJOR.MINOR, LDLIBRARY, LIBDIR, sys.executable */
	struct rtp_runtime_info info;
	const char *expected;
	pid_t pid;

	snprintf(cmd, sizeof(cmd),
		 "'%s' -c '%s\n"
		 "import sysconfig; c = sysconfig.get_config_var\n"
		 "print(\"%%d.%%d\" %% tuple(sys.version_info[:2])); print(c(\"LDLIBRARY\")); print(c(\"LIBDIR\"))\n"
		 "print(sys.executable)' 2>/dev/null",
		 python, PY_VERSION_CODE);
	if (run_lines(cmd, facts, 5) != 0) {
		printf("SKIP shared libpython of %s: it did not run\n", python);
		return;
	}
	if (!strstr(facts[2], ".so")) {
		printf("SKIP shared libpython of %s: built with a static libpython (%s)\n", python, facts[2]);
		return;
	}
	snprintf(lib, sizeof(lib), "%s/%s", facts[3], facts[2]);
	if (access(lib, R_OK) != 0) {
		printf("SKIP shared libpython of %s: %s missing\n", python, lib);
		return;
	}
	/* Py_Version is in CPython >= 3.11 only; older ones give the version in the file name. */
	expected = strverscmp(facts[1], "3.11") >= 0 ? facts[0] : facts[1];

	CHECK_EQ(runtime__detect_elf(lib, &info), 0);
	CHECK_EQ(info.kind, RTP_RUNTIME_PYTHON);
	CHECK_STREQ(info.version, expected);

	/* twice, as rtprof run reads it ahead: the second answer is the kept one, with the library it found */
	for (int i = 0; i < 3; i++) {
		memset(&info, 0, sizeof(info));
		CHECK_EQ((i ? runtime__detect_file : runtime__detect_elf)(facts[4], &info), 0);
		CHECK_EQ(info.kind, RTP_RUNTIME_PYTHON);
		if (info.lib[0]) {
			/* Found through DT_RUNPATH: the same library as sysconfig's. */
			CHECK(same_file(info.lib, lib));
			CHECK_STREQ(info.version, expected);
		} else {
			CHECK_STREQ(info.version, facts[1]);
		}
	}

	if (!live)
		return;
	{
		char *argv[] = { facts[4], "-c", "import sys, time; print('ready'); sys.stdout.flush(); time.sleep(60)",
				 NULL };

		pid = spawn_ready(argv);
	}
	CHECK(pid > 0);
	if (pid <= 0)
		return;
	CHECK_EQ(runtime__detect(pid, &info), 0);
	CHECK_EQ(info.kind, RTP_RUNTIME_PYTHON);
	CHECK_STREQ(info.version, expected);
	CHECK(same_file(info.lib, lib));
	CHECK(same_file(info.exe, facts[4]));
	stop(pid);
}

static void test_shared_pythons(void)
{
	char list[16][PATH_MAX];
	char path[PATH_MAX];
	FILE *p;
	int n = 0, i;

	if (run_line("command -v python3", path) == 0)
		check_shared_python("python3", true);
	else
		skip("shared libpython", "no python3 on PATH");

	/* pyenv keeps several versions side by side: the pre-3.11 ones test the file-name fallback. */
	p = popen("r=$(pyenv root 2>/dev/null) && for x in \"$r\"/versions/*/bin/python3; do "
		  "[ -x \"$x\" ] && echo \"$x\"; done", "r");
	while (p && n < 16 && fgets(list[n], PATH_MAX, p)) {
		list[n][strcspn(list[n], "\n")] = '\0';
		n++;
	}
	if (p)
		pclose(p);
	if (n == 0)
		skip("other shared libpythons", "no pyenv versions");
	for (i = 0; i < n; i++)
		check_shared_python(list[i], false);
}

static int copy_prefix(const char *from, const char *to, off_t len)
{
	char buf[65536];
	int in = -1, out = -1, err = 0;

	in = open(from, O_RDONLY | O_CLOEXEC);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (in < 0 || out < 0) {
		err = -errno;
		goto cleanup;
	}
	while (len > 0) {
		ssize_t n = read(in, buf, len < (off_t)sizeof(buf) ? (size_t)len : sizeof(buf));

		if (n <= 0 || write(out, buf, (size_t)n) != n) {
			err = -EIO;
			goto cleanup;
		}
		len -= n;
	}
cleanup:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return err;
}

static void write_file(const char *path, const void *bytes, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	CHECK(fd >= 0 && write(fd, bytes, len) == (ssize_t)len);
	if (fd >= 0)
		close(fd);
}

static void test_bad_files(void)
{
	static const char script[] = "#!/bin/sh\necho python3.11\n";
	char path[PATH_MAX];
	struct rtp_runtime_info info;

	snprintf(path, sizeof(path), "%s/python3.11", tmpdir);
	write_file(path, script, sizeof(script) - 1);
	CHECK_EQ(runtime__detect_elf(path, &info), -ENOEXEC);
	write_file(path, "", 0);
	CHECK_EQ(runtime__detect_elf(path, &info), -ENOEXEC);
	/* An ELF magic and nothing more. */
	write_file(path, "\177ELF\2\1\1", 7);
	CHECK(runtime__detect_elf(path, &info) < 0);
	CHECK_EQ(runtime__detect_elf(tmpdir, &info), -ENOEXEC);
	CHECK_EQ(runtime__detect_elf("/nonexistent/python3", &info), -ENOENT);
	CHECK_EQ(runtime__detect_elf("", &info), -EINVAL);
}

/* Every cut of a real ELF loses section headers or section bytes: an error, never a crash. */
static void test_truncated_elf(void)
{
	const char *src = access("/usr/bin/python3.11", R_OK) == 0 ? "/usr/bin/python3.11" : "/proc/self/exe";
	char path[PATH_MAX];
	struct rtp_runtime_info info;
	struct stat st;
	off_t cuts[24];
	size_t ncuts = 0, i, accepted = 0;

	if (stat(src, &st) != 0) {
		CHECK(!"stat of the ELF to truncate");
		return;
	}
	snprintf(path, sizeof(path), "%s/python3.11", tmpdir);
	for (i = 0; i < 8; i++)
		cuts[ncuts++] = (off_t)(1u << (i * 2)); /* 1 4 16 64 256 1K 4K 16K */
	cuts[ncuts++] = 52;
	cuts[ncuts++] = 63;
	for (i = 1; i < 10; i++)
		cuts[ncuts++] = st.st_size * (off_t)i / 10;
	cuts[ncuts++] = st.st_size - 4096;
	cuts[ncuts++] = st.st_size - 64;
	cuts[ncuts++] = st.st_size - 1;

	for (i = 0; i < ncuts; i++) {
		int err;

		if (copy_prefix(src, path, cuts[i]) != 0) {
			CHECK(!"copy_prefix");
			continue;
		}
		memset(&info, 0x5a, sizeof(info));
		err = runtime__detect_elf(path, &info);
		if (err >= 0)
			fprintf(stderr, "truncated at %lld: accepted\n", (long long)cuts[i]);
		accepted += err >= 0;
	}
	CHECK_EQ(accepted, 0);
}

static uint32_t next_rand(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

/* Random bytes written over the ELF header and section header table: an error, or a result
 * that is well formed (a known kind, NUL-terminated strings). The intact copy is OTHER. */
static void test_corrupt_elf(void)
{
	char path[PATH_MAX], self[PATH_MAX];
	struct rtp_runtime_info info;
	struct stat st;
	ssize_t n;
	uint32_t seed = 0xc0ffee;
	unsigned char *image;
	int round, fd, rejected = 0, well_formed = 0;
	uint64_t shoff;

	/* The path, not /proc/self/exe itself: valgrind redirects only the readlink to the client. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	if (stat(self, &st) != 0 || !(image = malloc((size_t)st.st_size))) {
		CHECK(!"reading own exe");
		return;
	}
	fd = open(self, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 && read(fd, image, (size_t)st.st_size) == st.st_size);
	if (fd >= 0)
		close(fd);
	memcpy(&shoff, image + 0x28, sizeof(shoff)); /* e_shoff of an ELF64 header */
	snprintf(path, sizeof(path), "%s/corrupt", tmpdir);
	write_file(path, image, (size_t)st.st_size);
	CHECK_EQ(runtime__detect_elf(path, &info), 0);
	CHECK_EQ(info.kind, RTP_RUNTIME_OTHER);

	for (round = 0; round < 300; round++) {
		unsigned char *copy = malloc((size_t)st.st_size);
		int flips = 1 + (int)(next_rand(&seed) % 8), i;

		if (!copy)
			break;
		memcpy(copy, image, (size_t)st.st_size);
		for (i = 0; i < flips; i++) {
			uint64_t span = (uint64_t)st.st_size - shoff;
			uint64_t at = next_rand(&seed) % 2 && shoff < (uint64_t)st.st_size ?
					      shoff + next_rand(&seed) % span :
					      next_rand(&seed) % 64;

			copy[at] = (unsigned char)next_rand(&seed);
		}
		write_file(path, copy, (size_t)st.st_size);
		memset(&info, 0x5a, sizeof(info));
		if (runtime__detect_elf(path, &info) < 0)
			rejected++;
		else
			well_formed += (info.kind == RTP_RUNTIME_OTHER || info.kind == RTP_RUNTIME_PYTHON ||
					info.kind == RTP_RUNTIME_NODE) &&
				       memchr(info.version, '\0', sizeof(info.version)) &&
				       memchr(info.lib, '\0', sizeof(info.lib));
		free(copy);
	}
	free(image);
	printf("corrupt ELF: %d of 300 rejected\n", rejected);
	CHECK_EQ(rejected + well_formed, 300);
}

static void test_self_and_gone(void)
{
	struct rtp_runtime_info info;
	char self[PATH_MAX];
	struct proc_stat st;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	pid_t child;

	self[n > 0 ? n : 0] = '\0';
	CHECK_EQ(runtime__detect(getpid(), &info), 0);
	CHECK_EQ(info.kind, RTP_RUNTIME_OTHER);
	CHECK_STREQ(info.exe, self);
	CHECK_STREQ(info.version, "");
	CHECK_STREQ(info.lib, "");

	child = fork();
	if (child == 0)
		_exit(0);
	CHECK(child > 0);
	CHECK_EQ(waitpid(child, NULL, 0), child);
	CHECK_EQ(runtime__detect(child, &info), -ESRCH);
	CHECK_EQ(runtime__detect(0, &info), -EINVAL);

	/* A kernel thread has no exe: kind OTHER, not an error. pid 2 is kthreadd outside pid namespaces. */
	if (procfs__read_stat(2, 0, &st) == 0 && (st.flags & PF_KTHREAD_FLAG)) {
		CHECK_EQ(runtime__detect(2, &info), 0);
		CHECK_EQ(info.kind, RTP_RUNTIME_OTHER);
		CHECK_STREQ(info.exe, "");
	} else {
		skip("kernel thread", "pid 2 is not a kernel thread here (pid namespace)");
	}
}

static void remove_tmpdir(void)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/python3.11", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/corrupt", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/node", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/elf", tmpdir);
	unlink(path);
	rmdir(tmpdir);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_kind_names();
	test_system_python();
	test_node();
	test_node_memory();
	test_shared_pythons();
	test_node_version_boundaries();
	test_symbol_name_boundaries();
	test_bad_files();
	test_truncated_elf();
	test_corrupt_elf();
	test_self_and_gone();
	remove_tmpdir();
	return check_summary();
}
