// SPDX-License-Identifier: LGPL-2.1-or-later
/* Runtime detection: python or node, and which version, from the process's executable, the
 * libraries it maps and the ELF files themselves (symbols, .dynamic, .rodata) through libelf.
 * The ELF files are outside input: every offset is checked against the file size first. */
#include "runtime.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DELETED_SUFFIX " (deleted)"
/* Distinct "vX.Y.Z" strings kept while scanning node's .rodata; real binaries have one or two. */
#define NODE_MAX_CANDIDATES 8

struct elf_facts {
	bool py_defined;   /* defines Py_Initialize, Py_BytesMain or _PyRuntime */
	bool has_py_version;
	GElf_Sym py_version; /* Py_Version: PY_VERSION_HEX, exported since CPython 3.11 */
	bool node_defined; /* defines node:: symbols (_ZN4node...) */
	bool uv_run;
	bool v8dbg;        /* V8's postmortem-debugging constants (v8dbg_*) */
	char needed_python[NAME_MAX + 1]; /* DT_NEEDED libpython*, when Python lives in a shared lib */
	char runpath[PATH_MAX];           /* DT_RUNPATH, else DT_RPATH */
};

struct elf_file {
	int fd;
	Elf *elf;
	uint64_t size;
	GElf_Ehdr ehdr;
	size_t shstrndx;
};

const char *runtime__kind_name(enum rtp_runtime_kind kind)
{
	switch (kind) {
	case RTP_RUNTIME_PYTHON:
		return "python";
	case RTP_RUNTIME_NODE:
		return "node";
	default:
		return "other";
	}
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* libpython3.11.so.1.0, libpython3.6m.so: not libpython3.so, the version-less stable-ABI shim. */
static bool is_libpython(const char *name)
{
	return starts_with(name, "libpython") && isdigit((unsigned char)name[9]) &&
	       !starts_with(name + 10, ".so") && strstr(name, ".so");
}

static enum rtp_runtime_kind kind_from_name(const char *path)
{
	const char *base = base_name(path);

	if (starts_with(base, "python"))
		return RTP_RUNTIME_PYTHON;
	if (strcmp(base, "node") == 0 || strcmp(base, "nodejs") == 0)
		return RTP_RUNTIME_NODE;
	return RTP_RUNTIME_OTHER;
}

/* "MAJOR.MINOR" out of python3.8, libpython3.6m.so.1.0; "" when the name has none. */
static void version_from_name(const char *path, char *out, size_t outlen)
{
	const char *p = strstr(base_name(path), "python");
	unsigned int major, minor;
	int used = 0;

	if (!p)
		return;
	p += strlen("python");
	if (!isdigit((unsigned char)p[0]))
		return;
	if (sscanf(p, "%3u.%3u%n", &major, &minor, &used) == 2 && used > 0)
		snprintf(out, outlen, "%u.%u", major, minor);
}

static void elf_file_close(struct elf_file *f)
{
	if (!f)
		return;
	if (f->elf)
		elf_end(f->elf);
	if (f->fd >= 0)
		close(f->fd);
	f->elf = NULL;
	f->fd = -1;
}

/* Section headers and section contents must lie inside the file: a truncated copy fails here
 * rather than in libelf, which would hand out pointers past the mapping. */
static int check_layout(struct elf_file *f)
{
	size_t shnum, shentsize, i;
	uint64_t table_end;

	if (!gelf_getehdr(f->elf, &f->ehdr) || elf_getshdrnum(f->elf, &shnum) != 0)
		return -EINVAL;
	/* libelf reports no sections, rather than an error, when the table lies past the end. */
	if (f->ehdr.e_shoff == 0)
		return 0;
	if (shnum == 0)
		return -EINVAL;
	shentsize = gelf_fsize(f->elf, ELF_T_SHDR, 1, EV_CURRENT);
	if (f->ehdr.e_shentsize != shentsize || f->ehdr.e_shoff > f->size)
		return -EINVAL;
	if (__builtin_mul_overflow((uint64_t)shnum, (uint64_t)shentsize, &table_end) ||
	    __builtin_add_overflow(table_end, f->ehdr.e_shoff, &table_end) || table_end > f->size)
		return -EINVAL;
	if (elf_getshdrstrndx(f->elf, &f->shstrndx) != 0 || f->shstrndx >= shnum)
		return -EINVAL;

	for (i = 1; i < shnum; i++) {
		Elf_Scn *scn = elf_getscn(f->elf, i);
		GElf_Shdr shdr;
		uint64_t end;

		if (!scn || !gelf_getshdr(scn, &shdr))
			return -EINVAL;
		if (shdr.sh_type == SHT_NOBITS)
			continue;
		if (__builtin_add_overflow(shdr.sh_offset, shdr.sh_size, &end) || end > f->size)
			return -EINVAL;
	}
	return 0;
}

static int elf_file_open(const char *path, struct elf_file *f)
{
	struct stat st;
	int err;

	f->fd = -1;
	f->elf = NULL;
	/* O_NONBLOCK: a FIFO at the path must not hang us; it is rejected as not regular below. */
	f->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (f->fd < 0)
		return -errno;
	if (fstat(f->fd, &st) != 0) {
		err = -errno;
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	f->size = (uint64_t)st.st_size;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		err = -ENOTSUP;
		goto cleanup;
	}
	/* Mapped, not read: node is ~100 MB and only its .rodata and symbols are looked at. */
	f->elf = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
	if (!f->elf || elf_kind(f->elf) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto cleanup;
	}
	err = check_layout(f);
cleanup:
	if (err)
		elf_file_close(f);
	return err;
}

static Elf_Scn *find_section(struct elf_file *f, const char *name, GElf_Shdr *shdr)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(f->elf, scn))) {
		const char *scn_name;

		if (!gelf_getshdr(scn, shdr))
			return NULL;
		scn_name = elf_strptr(f->elf, f->shstrndx, shdr->sh_name);
		if (scn_name && strcmp(scn_name, name) == 0)
			return scn;
	}
	return NULL;
}

static void note_symbol(struct elf_facts *facts, const char *name, const GElf_Sym *sym)
{
	if (sym->st_shndx == SHN_UNDEF || !name[0])
		return;
	switch (name[0]) {
	case 'P':
		if (strcmp(name, "Py_Version") == 0 && !facts->has_py_version) {
			facts->has_py_version = true;
			facts->py_version = *sym;
		} else if (strcmp(name, "Py_Initialize") == 0 || strcmp(name, "Py_BytesMain") == 0) {
			facts->py_defined = true;
		}
		break;
	case '_':
		if (strcmp(name, "_PyRuntime") == 0)
			facts->py_defined = true;
		else if (starts_with(name, "_ZN4node"))
			facts->node_defined = true;
		break;
	case 'u':
		if (strcmp(name, "uv_run") == 0)
			facts->uv_run = true;
		break;
	case 'v':
		if (starts_with(name, "v8dbg_"))
			facts->v8dbg = true;
		break;
	}
}

static int scan_symbols(struct elf_file *f, GElf_Word type, struct elf_facts *facts)
{
	Elf_Scn *scn = NULL;
	size_t symsize = gelf_fsize(f->elf, ELF_T_SYM, 1, EV_CURRENT);

	while ((scn = elf_nextscn(f->elf, scn))) {
		GElf_Shdr shdr;
		Elf_Data *data;
		size_t i, count;

		if (!gelf_getshdr(scn, &shdr))
			return -EINVAL;
		if (shdr.sh_type != type)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !symsize)
			return -EINVAL;
		count = data->d_size / symsize;
		for (i = 0; i < count; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(data, (int)i, &sym))
				return -EINVAL;
			name = elf_strptr(f->elf, shdr.sh_link, sym.st_name);
			if (name)
				note_symbol(facts, name, &sym);
		}
	}
	return 0;
}

static int scan_dynamic(struct elf_file *f, struct elf_facts *facts)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(f->elf, scn))) {
		GElf_Shdr shdr;
		Elf_Data *data;
		size_t i, count, dynsize = gelf_fsize(f->elf, ELF_T_DYN, 1, EV_CURRENT);

		if (!gelf_getshdr(scn, &shdr))
			return -EINVAL;
		if (shdr.sh_type != SHT_DYNAMIC)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !dynsize)
			return -EINVAL;
		count = data->d_size / dynsize;
		for (i = 0; i < count; i++) {
			GElf_Dyn dyn;
			const char *str;

			if (!gelf_getdyn(data, (int)i, &dyn))
				return -EINVAL;
			if (dyn.d_tag == DT_NULL)
				break;
			if (dyn.d_tag != DT_NEEDED && dyn.d_tag != DT_RUNPATH && dyn.d_tag != DT_RPATH)
				continue;
			str = elf_strptr(f->elf, shdr.sh_link, dyn.d_un.d_val);
			if (!str)
				continue;
			if (dyn.d_tag == DT_NEEDED && is_libpython(str) && !facts->needed_python[0])
				snprintf(facts->needed_python, sizeof(facts->needed_python), "%s", str);
			/* DT_RUNPATH wins over DT_RPATH when both are present, as in ld.so. */
			else if (dyn.d_tag == DT_RUNPATH || (dyn.d_tag == DT_RPATH && !facts->runpath[0]))
				snprintf(facts->runpath, sizeof(facts->runpath), "%s", str);
		}
	}
	return 0;
}

/* The value of Py_Version, read from the file at the offset of the section that holds it. */
static int read_py_version(struct elf_file *f, const GElf_Sym *sym, char *out, size_t outlen)
{
	static const char *const level_suffix[16] = { [0xA] = "a", [0xB] = "b", [0xC] = "rc" };
	unsigned char bytes[8];
	Elf_Scn *scn = NULL;
	uint64_t hex = 0, offset;
	unsigned int major, minor, micro, level, serial;
	size_t i;

	if (sym->st_size != 4 && sym->st_size != 8)
		return -ENODATA;
	while ((scn = elf_nextscn(f->elf, scn))) {
		GElf_Shdr shdr;

		if (!gelf_getshdr(scn, &shdr))
			return -EINVAL;
		if (!(shdr.sh_flags & SHF_ALLOC) || sym->st_value < shdr.sh_addr ||
		    sym->st_value - shdr.sh_addr > shdr.sh_size ||
		    shdr.sh_size - (sym->st_value - shdr.sh_addr) < sym->st_size)
			continue;
		/* In .bss the initial value is zero bytes that are not in the file. */
		if (shdr.sh_type == SHT_NOBITS)
			return -ENODATA;
		offset = shdr.sh_offset + (sym->st_value - shdr.sh_addr);
		/* check_layout bounded the section, hence the symbol, by the file size. */
		if (pread(f->fd, bytes, sym->st_size, (off_t)offset) != (ssize_t)sym->st_size)
			return -EINVAL;
		for (i = 0; i < sym->st_size; i++) {
			size_t at = f->ehdr.e_ident[EI_DATA] == ELFDATA2MSB ? i : sym->st_size - 1 - i;

			hex = hex << 8 | bytes[at];
		}
		/* PY_VERSION_HEX: major 8 bits, minor 8, micro 8, release level 4, serial 4. */
		major = (unsigned int)(hex >> 24) & 0xff;
		minor = (unsigned int)(hex >> 16) & 0xff;
		micro = (unsigned int)(hex >> 8) & 0xff;
		level = (unsigned int)(hex >> 4) & 0xf;
		serial = (unsigned int)hex & 0xf;
		if (hex >> 32 || major < 3 || (level != 0xF && !level_suffix[level]))
			return -ENODATA;
		if (level == 0xF)
			snprintf(out, outlen, "%u.%u.%u", major, minor, micro);
		else
			snprintf(out, outlen, "%u.%u.%u%s%u", major, minor, micro, level_suffix[level], serial);
		return 0;
	}
	return -ENODATA;
}

struct node_candidate {
	char version[32]; /* without the 'v' */
	int score;        /* 2: NUL on both sides; 1: NUL-terminated tail of a longer string */
	size_t count;     /* occurrences of "vX.Y.Z" anywhere in .rodata */
};

/* Length of "vDIGITS.DIGITS.DIGITS" at p (at most `avail` bytes), or 0. */
static size_t match_v_triple(const char *p, size_t avail)
{
	size_t i = 1;
	int part;

	if (avail < 6 || p[0] != 'v')
		return 0;
	for (part = 0; part < 3; part++) {
		size_t digits = 0;

		if (part > 0) {
			if (i >= avail || p[i] != '.')
				return 0;
			i++;
		}
		while (i < avail && isdigit((unsigned char)p[i]) && digits < 6) {
			i++;
			digits++;
		}
		if (digits == 0)
			return 0;
	}
	/* "v1.2.34" must not match as "v1.2.3" of a longer number. */
	if (i < avail && (isdigit((unsigned char)p[i]) || p[i] == '.'))
		return 0;
	return i;
}

static bool token_start(const char *base, const char *p)
{
	return p == base || !(isalnum((unsigned char)p[-1]) || p[-1] == '.');
}

/* Node's version as NODE_VERSION ("v20.20.2"), a string literal in .rodata. The linker's tail
 * merging may leave it only as the end of a longer literal ("node.js/v20.20.2"), so a
 * NUL-terminated tail counts too, ranked below a string of its own. */
static int node_version_from_rodata(struct elf_file *f, char *out, size_t outlen)
{
	struct node_candidate cands[NODE_MAX_CANDIDATES] = {};
	size_t ncands = 0, i, best = 0;
	Elf_Scn *scn;
	GElf_Shdr shdr;
	Elf_Data *data;
	const char *base, *p, *end;

	scn = find_section(f, ".rodata", &shdr);
	if (!scn || shdr.sh_type == SHT_NOBITS)
		return -ENODATA;
	data = elf_getdata(scn, NULL);
	if (!data || !data->d_buf)
		return -ENODATA;
	base = data->d_buf;
	end = base + data->d_size;

	for (p = base; p < end && (p = memchr(p, 'v', (size_t)(end - p))); p++) {
		size_t n = match_v_triple(p, (size_t)(end - p));
		int score;

		if (!n || p + n >= end || p[n] != '\0' || !token_start(base, p))
			continue;
		score = (p == base || p[-1] == '\0') ? 2 : 1;
		for (i = 0; i < ncands; i++)
			if (strlen(cands[i].version) == n - 1 && memcmp(cands[i].version, p + 1, n - 1) == 0)
				break;
		if (i == ncands) {
			if (ncands == NODE_MAX_CANDIDATES)
				continue;
			memcpy(cands[i].version, p + 1, n - 1);
			ncands++;
		}
		if (score > cands[i].score)
			cands[i].score = score;
	}
	if (!ncands)
		return -ENODATA;

	/* Bundled libraries' versions can be NUL-terminated too; node's own recurs (URLs, banner). */
	for (p = base; ncands > 1 && p < end && (p = memchr(p, 'v', (size_t)(end - p))); p++) {
		size_t n = match_v_triple(p, (size_t)(end - p));

		if (!n || !token_start(base, p))
			continue;
		for (i = 0; i < ncands; i++)
			if (strlen(cands[i].version) == n - 1 && memcmp(cands[i].version, p + 1, n - 1) == 0)
				cands[i].count++;
	}
	for (i = 1; i < ncands; i++)
		if (cands[i].score > cands[best].score ||
		    (cands[i].score == cands[best].score && cands[i].count > cands[best].count))
			best = i;
	if (strlen(cands[best].version) >= outlen)
		return -ENOSPC;
	memcpy(out, cands[best].version, strlen(cands[best].version) + 1);
	return 0;
}

static int inspect_elf(const char *open_path, const char *name, const char *origin,
		       struct rtp_runtime_info *info);

/* Find DT_NEEDED libpython through DT_RUNPATH/DT_RPATH ($ORIGIN expanded), as pyenv builds
 * set it; the system library directories are left to the live-process path (maps). */
static void resolve_needed_python(const char *origin, const struct elf_facts *facts,
				  struct rtp_runtime_info *info)
{
	char origin_dir[PATH_MAX], candidate[sizeof(info->lib)];
	const char *dir = facts->runpath;
	char *resolved;

	resolved = realpath(origin, NULL);
	snprintf(origin_dir, sizeof(origin_dir), "%s", resolved ? resolved : origin);
	free(resolved);
	*(char *)base_name(origin_dir) = '\0';
	if (!origin_dir[0])
		snprintf(origin_dir, sizeof(origin_dir), "./");

	while (*dir) {
		size_t len = strcspn(dir, ":");
		struct rtp_runtime_info lib_info = {};
		const char *rest = dir;
		size_t rest_len = len;
		const char *prefix = "";

		if (len >= 7 && starts_with(dir, "$ORIGIN")) {
			prefix = origin_dir;
			rest = dir + 7;
			rest_len = len - 7;
		} else if (len >= 9 && starts_with(dir, "${ORIGIN}")) {
			prefix = origin_dir;
			rest = dir + 9;
			rest_len = len - 9;
		}
		if (len > 0 && (size_t)snprintf(candidate, sizeof(candidate), "%s%.*s/%s", prefix,
						(int)rest_len, rest, facts->needed_python) < sizeof(candidate) &&
		    inspect_elf(candidate, candidate, NULL, &lib_info) == 0 &&
		    lib_info.kind == RTP_RUNTIME_PYTHON && lib_info.version[0]) {
			snprintf(info->version, sizeof(info->version), "%s", lib_info.version);
			memcpy(info->lib, candidate, strlen(candidate) + 1);
			return;
		}
		dir += len;
		if (*dir == ':')
			dir++;
	}
}

/* Kind and version from the ELF at open_path; `name` is the path used for naming rules (it
 * differs for /proc/PID/exe); `origin`, if set, lets a DT_NEEDED libpython be followed. */
static int inspect_elf(const char *open_path, const char *name, const char *origin,
		       struct rtp_runtime_info *info)
{
	struct elf_file f = { .fd = -1 };
	struct elf_facts *facts;
	int err;

	/* ~4 KB: off the stack, since inspect_elf nests once through resolve_needed_python. */
	facts = calloc(1, sizeof(*facts));
	if (!facts)
		return -ENOMEM;
	err = elf_file_open(open_path, &f);
	if (err)
		goto cleanup;

	err = scan_symbols(&f, SHT_DYNSYM, facts);
	/* .symtab is larger; only needed when the exported symbols did not tell. */
	if (!err && !facts->py_defined && !facts->has_py_version && !facts->node_defined)
		err = scan_symbols(&f, SHT_SYMTAB, facts);
	if (!err)
		err = scan_dynamic(&f, facts);
	if (err)
		goto cleanup;

	if (facts->py_defined || facts->has_py_version || facts->needed_python[0])
		info->kind = RTP_RUNTIME_PYTHON;
	else if (facts->node_defined || (facts->uv_run && facts->v8dbg))
		info->kind = RTP_RUNTIME_NODE;
	else
		info->kind = kind_from_name(name);

	if (info->kind == RTP_RUNTIME_PYTHON) {
		if (facts->has_py_version)
			(void)read_py_version(&f, &facts->py_version, info->version, sizeof(info->version));
		if (!info->version[0] && facts->needed_python[0] && origin)
			resolve_needed_python(origin, facts, info);
		/* CPython < 3.11 exports no Py_Version: the file name carries MAJOR.MINOR. */
		if (!info->version[0])
			version_from_name(name, info->version, sizeof(info->version));
		if (!info->version[0] && facts->needed_python[0])
			version_from_name(facts->needed_python, info->version, sizeof(info->version));
	} else if (info->kind == RTP_RUNTIME_NODE) {
		(void)node_version_from_rodata(&f, info->version, sizeof(info->version));
	}
cleanup:
	elf_file_close(&f);
	free(facts);
	return err;
}

int runtime__detect_elf(const char *path, struct rtp_runtime_info *out)
{
	struct rtp_runtime_info *info;
	int err;

	if (!path || !path[0] || !out)
		return -EINVAL;
	info = calloc(1, sizeof(*info));
	if (!info)
		return -ENOMEM;
	if ((size_t)snprintf(info->exe, sizeof(info->exe), "%s", path) >= sizeof(info->exe)) {
		err = -ENAMETOOLONG;
		goto cleanup;
	}
	err = inspect_elf(path, path, path, info);
	if (!err)
		*out = *info;
cleanup:
	free(info);
	return err;
}

static bool proc_exists(pid_t pid)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	return access(path, F_OK) == 0;
}

static void strip_deleted(char *path)
{
	size_t len = strlen(path), slen = strlen(DELETED_SUFFIX);

	if (len > slen && strcmp(path + len - slen, DELETED_SUFFIX) == 0)
		path[len - slen] = '\0';
}

/* The first libpython mapped by the process, as its path in the process's mount namespace. */
static int find_mapped_libpython(pid_t pid, char *lib, size_t liblen)
{
	char path[32];
	char *line = NULL;
	size_t cap = 0;
	FILE *maps;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	maps = fopen(path, "re");
	if (!maps)
		return errno == ENOENT ? -ESRCH : -errno;
	while (getline(&line, &cap, maps) > 0) {
		/* The address, perms, offset, dev and inode fields hold no '/': the path starts at it. */
		char *file = strchr(line, '/');

		if (!file)
			continue;
		file[strcspn(file, "\n")] = '\0';
		strip_deleted(file);
		if (is_libpython(base_name(file)) && strlen(file) < liblen) {
			memcpy(lib, file, strlen(file) + 1);
			break;
		}
	}
	if (ferror(maps))
		err = errno == ESRCH ? -ESRCH : -EIO;
	free(line);
	fclose(maps);
	return err;
}

int runtime__detect(pid_t pid, struct rtp_runtime_info *out)
{
	struct rtp_runtime_info *info;
	char exe_link[32], name[PATH_MAX], lib_path[PATH_MAX + 32];
	ssize_t n;
	int err;

	if (pid <= 0 || !out)
		return -EINVAL;
	info = calloc(1, sizeof(*info));
	if (!info)
		return -ENOMEM;

	snprintf(exe_link, sizeof(exe_link), "/proc/%d/exe", (int)pid);
	n = readlink(exe_link, info->exe, sizeof(info->exe) - 1);
	if (n < 0) {
		/* Kernel threads have no exe (ENOENT); other users' processes need ptrace rights. */
		err = proc_exists(pid) ? 0 : -ESRCH;
		if (!err)
			*out = *info;
		goto cleanup;
	}
	info->exe[n] = '\0';
	snprintf(name, sizeof(name), "%s", info->exe);
	strip_deleted(name);

	err = find_mapped_libpython(pid, info->lib, sizeof(info->lib));
	if (err == -ESRCH || err == -ENOMEM)
		goto cleanup;

	/* /proc/PID/exe opens the running file even when deleted or in another mount namespace. */
	/* No libpython mapped (yet: right after exec the loader has not run): follow the exe's DT_NEEDED. */
	err = inspect_elf(exe_link, name, info->lib[0] ? NULL : name, info);
	if (err == -ENOMEM)
		goto cleanup;
	if (err) {
		if (!proc_exists(pid)) {
			err = -ESRCH;
			goto cleanup;
		}
		info->kind = kind_from_name(name);
		info->version[0] = '\0';
	}

	if (info->lib[0]) {
		struct rtp_runtime_info lib_info = {};

		info->kind = RTP_RUNTIME_PYTHON;
		snprintf(lib_path, sizeof(lib_path), "/proc/%d/root%s", (int)pid, info->lib);
		if (inspect_elf(lib_path, info->lib, NULL, &lib_info) != 0)
			(void)inspect_elf(info->lib, info->lib, NULL, &lib_info);
		if (lib_info.version[0])
			snprintf(info->version, sizeof(info->version), "%s", lib_info.version);
		else if (!info->version[0])
			version_from_name(info->lib, info->version, sizeof(info->version));
	} else if (info->kind == RTP_RUNTIME_PYTHON && !info->version[0]) {
		version_from_name(name, info->version, sizeof(info->version));
	}
	err = 0;
	*out = *info;
cleanup:
	free(info);
	return err;
}
