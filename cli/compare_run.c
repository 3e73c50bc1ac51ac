// SPDX-License-Identifier: LGPL-2.1-or-later
/* `rtprof compare --run 'CMD A' --run 'CMD B' [--runs N] [--warmup W]`: the Benchmarks Game's table,
 * reproducible. Each command runs N times, the commands interleaved (A B A B ...) so that the machine's
 * drift hits each, every run under `rtprof run` (this program, the same engine); the table gives each
 * figure's median and spread (min-max) over the runs that succeeded, and its ratio to the first command;
 * then where the difference comes from, from each command's median run. Output: docs/compare.md. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wordexp.h>
#include <zlib.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <json-c/json.h>

#include "base/errmsg.h"
#include "base/text.h"
#include "compare.h"
#include "model/report.h"
#include "model/report_fields.h"
#include "render.h"
#include "rtprof.h"

#define MAX_RUNS 1000
#define MAX_WARMUP 100
#define MAX_CPUS 256 /* per-CPU load columns kept */
#define SAFE(buf, s) text__printable((s), (buf), sizeof(buf), false)

struct run {
	bool ok;          /* exit status 0 */
	int exit_status;  /* the command's (128 + signal when killed) */
	double secs, busy;
	long mem_kb;
	int ncpus;
	double load[MAX_CPUS];      /* by CPU */
	double load_rank[MAX_CPUS]; /* the same, busiest first */
	struct rtp_report *rep; /* kept for the median run's details */
};

struct command {
	const char *text;  /* as given */
	char label[2];
	char **argv;       /* what runs: its words, or sh -c TEXT */
	wordexp_t we;
	bool have_we;
	char source[PATH_MAX]; /* what gz measured ("" when nothing) */
	const char *source_kind; /* "python", "javascript", "executable" */
	long gz;           /* -1: no source to measure */
	char runtime[64];  /* "python 3.11.2", "node 20.20.2", "" */
	struct run *runs;
	size_t n_runs;
	/* over the runs that succeeded */
	size_t n_ok;
	double med_secs, min_secs, max_secs, med_busy, min_busy, max_busy;
	double med_mem, min_mem, max_mem;
	int ncpus;
	double med_load[MAX_CPUS];
	size_t median_run; /* the run whose secs is the median (details) */
};

enum format { FMT_TEXT, FMT_MARKDOWN, FMT_CSV, FMT_JSON };

/* ---- gz: the program's source, stripped and gzip'd ---- */

static char *read_file(const char *path, size_t *len, size_t max)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		size_t got;

		if (n == cap) {
			char *p;

			if (cap >= max) {
				free(buf);
				fclose(f);
				errno = EFBIG;
				return NULL;
			}
			cap = cap ? cap * 2 : 65536;
			p = realloc(buf, cap + 1);
			if (!p) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = p;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		fclose(f);
		errno = EIO;
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Comments out, in place: Python's # comments (outside strings, triple-quoted ones too), or JavaScript's
 * // and block comments (outside '', "" and `` strings; regular expression literals are not told apart).
 * A string's backslash escapes the next character. */
static size_t strip_comments(char *s, size_t n, bool python)
{
	size_t o = 0, i = 0;

	while (i < n) {
		char c = s[i];

		if (c == '\'' || c == '"' || (!python && c == '`')) {
			bool triple = python && i + 2 < n && s[i + 1] == c && s[i + 2] == c;
			size_t q = triple ? 3 : 1;

			for (size_t k = 0; k < q; k++)
				s[o++] = s[i++];
			while (i < n) {
				if (s[i] == '\\' && i + 1 < n) {
					s[o++] = s[i++];
					s[o++] = s[i++];
					continue;
				}
				if (s[i] == c && (!triple || (i + 2 < n && s[i + 1] == c && s[i + 2] == c))) {
					for (size_t k = 0; k < q; k++)
						s[o++] = s[i++];
					break;
				}
				/* a one-line string ends at the line's end (an unterminated one, in a broken file) */
				if (!triple && s[i] == '\n' && c != '`')
					break;
				s[o++] = s[i++];
			}
			continue;
		}
		if ((python && c == '#') || (!python && c == '/' && i + 1 < n && s[i + 1] == '/') ||
		    (!python && c == '#' && i == 0 && n > 1 && s[1] == '!')) {
			while (i < n && s[i] != '\n')
				i++;
			continue;
		}
		if (!python && c == '/' && i + 1 < n && s[i + 1] == '*') {
			i += 2;
			while (i < n && !(s[i] == '*' && i + 1 < n && s[i + 1] == '/'))
				i++;
			i = i < n ? i + 2 : n;
			s[o++] = ' '; /* a block comment separates what it stood between */
			continue;
		}
		s[o++] = s[i++];
	}
	return o;
}

/* Each run of whitespace (space, tab, newline, return, form feed, vertical tab) becomes one space. */
static size_t collapse_space(char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		bool sp = s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '\f' || s[i] == '\v';

		if (sp && o && s[o - 1] == ' ')
			continue;
		s[o++] = sp ? ' ' : s[i];
	}
	return o;
}

/* The size of buf gzip'd at level 9 (zlib's deflate, a gzip header without name nor time). */
static long gzip_size(const char *buf, size_t n)
{
	z_stream z = { 0 };
	unsigned char out[65536];
	long total = 0;
	int r;

	if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	z.next_in = (unsigned char *)(uintptr_t)buf;
	z.avail_in = (uInt)n;
	do {
		z.next_out = out;
		z.avail_out = sizeof(out);
		r = deflate(&z, Z_FINISH);
		total += (long)(sizeof(out) - z.avail_out);
	} while (r == Z_OK);
	deflateEnd(&z);
	return r == Z_STREAM_END ? total : -1;
}

static bool is_interpreter(const char *word, bool *python)
{
	const char *base = strrchr(word, '/') ? strrchr(word, '/') + 1 : word;

	if (!strncmp(base, "python", 6) && strspn(base + 6, "0123456789.") == strlen(base + 6)) {
		*python = true;
		return true;
	}
	if (!strcmp(base, "node") || !strcmp(base, "nodejs")) {
		*python = false;
		return true;
	}
	return false;
}

/* The script an interpreter's arguments name: the first that is not an option (or an option's value);
 * none after an option that gives the code itself (-c, -m; -e, -p). */
static const char *script_of(char **argv, bool python)
{
	static const char *const py_value[] = { "-X", "-W", "-Q", NULL };
	static const char *const py_none[] = { "-c", "-m", NULL };
	static const char *const js_value[] = { "-r", "--require", "--import", "--loader", "--experimental-loader",
						"-C", "--conditions", "--title", NULL };
	static const char *const js_none[] = { "-e", "--eval", "-p", "--print", "-", NULL };

	for (size_t i = 0; argv[i]; i++) {
		const char *a = argv[i];
		const char *const *none = python ? py_none : js_none, *const *value = python ? py_value : js_value;

		for (size_t k = 0; none[k]; k++)
			if (!strcmp(a, none[k]) || (python && a[0] == '-' && a[1] != '-' && strpbrk(a + 1, "cm") &&
						     strspn(a + 1, "bBdEhiIOPqsSuvVx") == strcspn(a + 1, "cm")))
				return NULL;
		if (!strcmp(a, "--"))
			return argv[i + 1];
		if (a[0] != '-')
			return a;
		for (size_t k = 0; value[k]; k++)
			if (!strcmp(a, value[k]) && argv[i + 1])
				i++;
	}
	return NULL;
}

/* gz of the command's program: its script's source (python or node: comments out, whitespace collapsed),
 * or its executable's bytes. */
static void measure_gz(struct command *c)
{
	char path[PATH_MAX], *buf;
	const char *script = NULL;
	bool python = false, text;
	size_t n;

	c->gz = -1;
	c->source[0] = '\0';
	if (!c->have_we || !c->argv[0])
		return;
	for (size_t i = 0; c->argv[i] && !script; i++) {
		if (!is_interpreter(c->argv[i], &python))
			continue;
		script = script_of(c->argv + i + 1, python);
		if (!script)
			return; /* code on the command line: no source file */
	}
	if (script) {
		snprintf(path, sizeof(path), "%s", script);
	} else {
		char *exe = run__find_command(c->argv[0]);

		if (!exe)
			return;
		snprintf(path, sizeof(path), "%s", exe);
		free(exe);
	}
	buf = read_file(path, &n, 256u << 20);
	if (!buf)
		return;
	/* an executable script of an interpreter: its source, by its #! line */
	text = !script && n > 2 && buf[0] == '#' && buf[1] == '!';
	if (text) {
		char line[256];
		size_t len = strcspn(buf, "\n");

		snprintf(line, sizeof(line), "%.*s", (int)(len < 255 ? len : 255), buf);
		if (strstr(line, "python"))
			script = path, python = true;
		else if (strstr(line, "node"))
			script = path, python = false;
	}
	if (script) {
		n = strip_comments(buf, n, python);
		n = collapse_space(buf, n);
		c->source_kind = python ? "python" : "javascript";
	} else {
		c->source_kind = "executable";
	}
	c->gz = gzip_size(buf, n);
	snprintf(c->source, sizeof(c->source), "%s", path);
	free(buf);
}

/* ---- running ---- */

static void machine(char *out, size_t size)
{
	char model[128] = "", line[256];
	struct utsname u = { 0 };
	FILE *f = fopen("/proc/cpuinfo", "re");

	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
			const char *v = strchr(line, ':') + 1;

			v += strspn(v, " \t");
			snprintf(model, sizeof(model), "%.*s", (int)strcspn(v, "\n"), v);
			break;
		}
	}
	if (f)
		fclose(f);
	uname(&u);
	snprintf(out, size, "%s, %ld cores, %s %s", model[0] ? model : "CPU model unknown", sysconf(_SC_NPROCESSORS_ONLN),
		 u.sysname, u.release);
}

/* One run of a command under `rtprof run`, its report into *rep: 0, or -errno with why (rtprof's own
 * failure: not the command's). */
static int run_once(const char *self, const struct command *c, const char *dir, bool stacks, struct rtp_report **rep,
		    char *err, size_t errlen)
{
	char report[PATH_MAX], errfile[PATH_MAX];
	const char *head[8] = { self, "run", "--json", "-q", "-o", report };
	size_t nh = 6, na = 0;
	char **argv;
	pid_t pid;
	int status, r;

	if (stacks)
		head[nh++] = "--stacks";
	head[nh++] = "--";
	snprintf(report, sizeof(report), "%s/report.json", dir);
	snprintf(errfile, sizeof(errfile), "%s/stderr", dir);
	(void)unlink(report);
	while (c->argv[na])
		na++;
	argv = calloc(nh + na + 1, sizeof(*argv));
	if (!argv)
		return errmsg(err, errlen, -ENOMEM, "out of memory");
	memcpy(argv, head, nh * sizeof(*argv));
	memcpy(argv + nh, c->argv, na * sizeof(*argv));
	pid = fork();
	if (pid < 0) {
		free(argv);
		return errmsg(err, errlen, -errno, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC), e = open(errfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		/* the command's output is not the table's */
		if (null < 0 || e < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(e, 2) < 0)
			_exit(EXIT_FAILURE_RT);
		execv(self, argv);
		_exit(EXIT_NOEXEC);
	}
	free(argv);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return errmsg(err, errlen, -errno, "waitpid: %s", strerror(errno));
	r = compare__read_report(report, rep, err, errlen);
	if (r) {
		size_t n = 0;
		char *text = read_file(errfile, &n, 1u << 20), *last;

		/* rtprof's own failure: its last words */
		if (text) {
			while (n && text[n - 1] == '\n')
				text[--n] = '\0';
			last = strrchr(text, '\n');
			snprintf(err, errlen, "%s", last ? last + 1 : text);
			free(text);
		}
		return r;
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int cmp_desc(const void *a, const void *b)
{
	return -cmp_double(a, b);
}

/* The median (the lower of the middle two), min and max of v[0..n). */
static double median(double *v, size_t n, double *lo, double *hi)
{
	qsort(v, n, sizeof(*v), cmp_double);
	*lo = v[0];
	*hi = v[n - 1];
	return v[(n - 1) / 2];
}

static void summarize(struct command *c)
{
	double v[MAX_RUNS], lo, hi;
	size_t n = 0;

	c->n_ok = 0;
	for (size_t i = 0; i < c->n_runs; i++)
		if (c->runs[i].ok)
			c->n_ok++;
	if (!c->n_ok)
		return;
#define FIGURE(expr, med, mn, mx)                                                                                  \
	do {                                                                                                       \
		n = 0;                                                                                             \
		for (size_t i = 0; i < c->n_runs; i++)                                                             \
			if (c->runs[i].ok)                                                                         \
				v[n++] = (expr);                                                                   \
		c->med = median(v, n, &lo, &hi);                                                                   \
		c->mn = lo;                                                                                        \
		c->mx = hi;                                                                                        \
	} while (0)
	FIGURE(c->runs[i].secs, med_secs, min_secs, max_secs);
	FIGURE(c->runs[i].busy, med_busy, min_busy, max_busy);
	FIGURE((double)c->runs[i].mem_kb, med_mem, min_mem, max_mem);
#undef FIGURE
	c->ncpus = 0;
	for (size_t i = 0; i < c->n_runs; i++)
		if (c->runs[i].ok && c->runs[i].ncpus > c->ncpus)
			c->ncpus = c->runs[i].ncpus;
	/* a run may use other CPUs than the last: each run's loads busiest first, the median of each rank */
	for (size_t i = 0; i < c->n_runs; i++) {
		memcpy(c->runs[i].load_rank, c->runs[i].load, sizeof(c->runs[i].load));
		qsort(c->runs[i].load_rank, (size_t)c->runs[i].ncpus, sizeof(double), cmp_desc);
	}
	for (int cpu = 0; cpu < c->ncpus; cpu++) {
		n = 0;
		for (size_t i = 0; i < c->n_runs; i++)
			if (c->runs[i].ok)
				v[n++] = cpu < c->runs[i].ncpus ? c->runs[i].load_rank[cpu] : 0;
		c->med_load[cpu] = median(v, n, &lo, &hi);
	}
	/* the run whose secs is the median: its report tells where the time went */
	for (size_t i = 0; i < c->n_runs; i++)
		if (c->runs[i].ok && c->runs[i].secs == c->med_secs) {
			c->median_run = i;
			break;
		}
}

/* ---- output ---- */

/* 12,345 */
static const char *thousands(char *buf, size_t len, double v)
{
	char digits[32];
	size_t n, o = 0;

	snprintf(digits, sizeof(digits), "%.0f", v);
	n = strlen(digits);
	for (size_t i = 0; i < n && o + 2 < len; i++) {
		if (i && (n - i) % 3 == 0 && digits[0] != '-')
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

static const char *fmt_gz(char *buf, size_t len, long gz)
{
	if (gz < 0)
		snprintf(buf, len, "-");
	else
		thousands(buf, len, (double)gz);
	return buf;
}

static const char *fmt_load(char *buf, size_t len, const struct command *c)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int cpu = 0; cpu < c->ncpus && off + 8 < len; cpu++)
		off += (size_t)snprintf(buf + off, len - off, "%s%.0f%%", cpu ? " " : "", c->med_load[cpu]);
	if (!c->ncpus)
		snprintf(buf, len, "-");
	return buf;
}

static const char *fmt_x(char *buf, size_t len, double v, double ref)
{
	if (ref > 0 && v >= 0)
		snprintf(buf, len, v / ref >= 100 ? "%.0fx" : "%.2fx", v / ref);
	else
		snprintf(buf, len, "-");
	return buf;
}

/* The table's cells of a command: secs, mem, gz, busy, cpu load; with the spread when `spread`. */
struct cells {
	char secs[48], mem[64], gz[32], busy[48], load[MAX_CPUS * 6];
};

static void cells_of(const struct command *c, bool spread, struct cells *o)
{
	char a[32], b[32], m[32];

	if (!c->n_ok) {
		snprintf(o->secs, sizeof(o->secs), "failed");
		snprintf(o->mem, sizeof(o->mem), "-");
		snprintf(o->busy, sizeof(o->busy), "-");
		snprintf(o->load, sizeof(o->load), "-");
	} else if (spread) {
		snprintf(o->secs, sizeof(o->secs), "%.3f (%.3f-%.3f)", c->med_secs, c->min_secs, c->max_secs);
		snprintf(o->mem, sizeof(o->mem), "%s (%s-%s)", thousands(m, sizeof(m), c->med_mem),
			 thousands(a, sizeof(a), c->min_mem), thousands(b, sizeof(b), c->max_mem));
		snprintf(o->busy, sizeof(o->busy), "%.3f (%.3f-%.3f)", c->med_busy, c->min_busy, c->max_busy);
		fmt_load(o->load, sizeof(o->load), c);
	} else {
		snprintf(o->secs, sizeof(o->secs), "%.3f", c->med_secs);
		thousands(o->mem, sizeof(o->mem), c->med_mem);
		snprintf(o->busy, sizeof(o->busy), "%.3f", c->med_busy);
		fmt_load(o->load, sizeof(o->load), c);
	}
	fmt_gz(o->gz, sizeof(o->gz), c->gz);
}

static void ratio_cells(const struct command *c, const struct command *ref, struct cells *o)
{
	bool ok = c->n_ok && ref->n_ok;

	fmt_x(o->secs, sizeof(o->secs), ok ? c->med_secs : -1, ref->med_secs);
	fmt_x(o->mem, sizeof(o->mem), ok ? c->med_mem : -1, ref->med_mem);
	fmt_x(o->gz, sizeof(o->gz), ref->gz >= 0 ? (double)c->gz : -1, (double)ref->gz);
	fmt_x(o->busy, sizeof(o->busy), ok ? c->med_busy : -1, ref->med_busy);
	snprintf(o->load, sizeof(o->load), "%s", "");
}

static void header_lines(FILE *out, const struct command *cmds, size_t n, size_t runs, size_t warmup,
			 const char *prefix)
{
	char mach[256], rts[512] = "";
	size_t off = 0;

	machine(mach, sizeof(mach));
	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(cmds[j].runtime, cmds[i].runtime);
		if (!seen && cmds[i].runtime[0] && off < sizeof(rts))
			off += (size_t)snprintf(rts + off, sizeof(rts) - off, "%s%s", off ? ", " : "", cmds[i].runtime);
	}
	fprintf(out, "%s%s; %s\n", prefix, mach, rts[0] ? rts : "no python or node");
	fprintf(out, "%s%zu run%s of each command, interleaved", prefix, runs, runs == 1 ? "" : "s");
	if (warmup)
		fprintf(out, ", after %zu warm-up round%s", warmup, warmup == 1 ? "" : "s");
	fprintf(out, "; the median (min-max) of the runs that succeeded\n");
}

static void print_failures(FILE *out, const struct command *cmds, size_t n, const char *prefix)
{
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < cmds[i].n_runs; k++)
			if (!cmds[i].runs[k].ok)
				fprintf(out, "%s%s: run %zu failed (exit status %d): not in the figures\n", prefix,
					cmds[i].label, k + 1, cmds[i].runs[k].exit_status);
}

static void print_text(FILE *out, const struct command *cmds, size_t n, size_t runs, size_t warmup)
{
	int w = 7, ws = 4, wm = 6, wb = 4, wg = 2;
	struct cells cl[COMPARE_MAX_INPUTS], rt[COMPARE_MAX_INPUTS];
	char safe[512];

	header_lines(out, cmds, n, runs, warmup, "");
	for (size_t i = 0; i < n; i++) {
		int len = (int)strlen(cmds[i].text);

		cells_of(&cmds[i], true, &cl[i]);
		ratio_cells(&cmds[i], &cmds[0], &rt[i]);
		w = len > w ? (len < 60 ? len : 60) : w;
		ws = (int)strlen(cl[i].secs) > ws ? (int)strlen(cl[i].secs) : ws;
		wm = (int)strlen(cl[i].mem) > wm ? (int)strlen(cl[i].mem) : wm;
		wb = (int)strlen(cl[i].busy) > wb ? (int)strlen(cl[i].busy) : wb;
		wg = (int)strlen(cl[i].gz) > wg ? (int)strlen(cl[i].gz) : wg;
	}
	fprintf(out, "\n  %-5s %-*s  %-*s  %-*s  %*s  %-*s  %s\n", "", w, "command", ws, "secs", wm, "mem KB", wg, "gz",
		wb, "busy", "cpu load");
	for (size_t i = 0; i < n; i++)
		fprintf(out, "  %-5s %-*.*s  %-*s  %-*s  %*s  %-*s  %s\n", cmds[i].label, w, w, SAFE(safe, cmds[i].text), ws,
			cl[i].secs, wm, cl[i].mem, wg, cl[i].gz, wb, cl[i].busy, cl[i].load);
	for (size_t i = 1; i < n; i++) {
		char lbl[8];

		snprintf(lbl, sizeof(lbl), "%s/%s", cmds[i].label, cmds[0].label);
		fprintf(out, "  %-5s %-*s  %-*s  %-*s  %*s  %-*s\n", lbl, w, "", ws, rt[i].secs, wm, rt[i].mem, wg, rt[i].gz,
			wb, rt[i].busy);
	}
	fprintf(out, "\n  secs: elapsed; mem: peak resident KB; gz: the program's source gzip'd (comments out, whitespace "
		     "collapsed; --help);\n  busy: CPU seconds, user + system, all processes; cpu load: each CPU's busy share "
		     "while it ran, the busiest first\n");
	print_failures(out, cmds, n, "  ");
}

static void print_markdown(FILE *out, const struct command *cmds, size_t n, size_t runs, size_t warmup)
{
	char safe[512];

	header_lines(out, cmds, n, runs, warmup, "");
	fprintf(out, "\n|  | command | secs | mem KB | gz | busy | cpu load |\n|---|---|--:|--:|--:|--:|---|\n");
	for (size_t i = 0; i < n; i++) {
		struct cells c;

		cells_of(&cmds[i], true, &c);
		/* a pipe in a command would end its cell */
		SAFE(safe, cmds[i].text);
		for (char *p = safe; *p; p++)
			if (*p == '|')
				*p = '/';
		fprintf(out, "| %s | `%s` | %s | %s | %s | %s | %s |\n", cmds[i].label, safe, c.secs, c.mem, c.gz, c.busy,
			c.load);
	}
	for (size_t i = 1; i < n; i++) {
		struct cells r;

		ratio_cells(&cmds[i], &cmds[0], &r);
		fprintf(out, "| %s/%s |  | %s | %s | %s | %s |  |\n", cmds[i].label, cmds[0].label, r.secs, r.mem, r.gz, r.busy);
	}
	print_failures(out, cmds, n, "\n");
}

/* A CSV field: quoted, its quotes doubled. */
static void csv_field(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static void print_csv(FILE *out, const struct command *cmds, size_t n)
{
	fprintf(out, "label,command,runs,failed,secs,secs_min,secs_max,mem_kb,mem_kb_min,mem_kb_max,gz,busy_s,busy_s_min,"
		     "busy_s_max,cpu_load_pct\n");
	for (size_t i = 0; i < n; i++) {
		const struct command *c = &cmds[i];
		char load[MAX_CPUS * 8];

		fprintf(out, "%s,", c->label);
		csv_field(out, c->text);
		fprintf(out, ",%zu,%zu,", c->n_runs, c->n_runs - c->n_ok);
		if (c->n_ok)
			fprintf(out, "%.6f,%.6f,%.6f,%.0f,%.0f,%.0f,", c->med_secs, c->min_secs, c->max_secs, c->med_mem,
				c->min_mem, c->max_mem);
		else
			fprintf(out, ",,,,,,");
		if (c->gz >= 0)
			fprintf(out, "%ld", c->gz);
		if (c->n_ok)
			fprintf(out, ",%.6f,%.6f,%.6f,", c->med_busy, c->min_busy, c->max_busy);
		else
			fprintf(out, ",,,,");
		load[0] = '\0';
		for (int cpu = 0, off = 0; c->n_ok && cpu < c->ncpus && off < (int)sizeof(load) - 12; cpu++)
			off += snprintf(load + off, sizeof(load) - (size_t)off, "%s%.1f", cpu ? " " : "", c->med_load[cpu]);
		csv_field(out, load);
		fputc('\n', out);
	}
}

static json_object *stat_json(double med, double mn, double mx, const struct command *c)
{
	json_object *o;

	if (!c->n_ok)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "median", json_object_new_double(med));
	json_object_object_add(o, "min", json_object_new_double(mn));
	json_object_object_add(o, "max", json_object_new_double(mx));
	return o;
}

static int print_json(FILE *out, const struct command *cmds, size_t n, size_t runs, size_t warmup)
{
	json_object *root = json_object_new_object(), *list = json_object_new_array(), *m = json_object_new_object();
	char mach[256];
	struct utsname u = { 0 };
	int r;

	machine(mach, sizeof(mach));
	uname(&u);
	json_object_object_add(root, "version", json_object_new_string(RTPROF_VERSION));
	json_object_object_add(m, "description", json_object_new_string(mach));
	json_object_object_add(m, "cpus", json_object_new_int64(sysconf(_SC_NPROCESSORS_ONLN)));
	json_object_object_add(m, "kernel", json_object_new_string(u.release));
	json_object_object_add(root, "machine", m);
	json_object_object_add(root, "runs", json_object_new_int64((int64_t)runs));
	json_object_object_add(root, "warmup", json_object_new_int64((int64_t)warmup));
	for (size_t i = 0; i < n; i++) {
		const struct command *c = &cmds[i];
		json_object *o = json_object_new_object(), *rs = json_object_new_array(), *load = json_object_new_array();
		json_object *ratio = json_object_new_object();

		json_object_object_add(o, "label", json_object_new_string(c->label));
		json_object_object_add(o, "command", fields__json_text(c->text));
		json_object_object_add(o, "runtime", c->runtime[0] ? json_object_new_string(c->runtime) : NULL);
		json_object_object_add(o, "gz", c->gz >= 0 ? json_object_new_int64(c->gz) : NULL);
		json_object_object_add(o, "gz_source", c->source[0] ? fields__json_text(c->source) : NULL);
		json_object_object_add(o, "gz_source_kind", c->gz >= 0 ? json_object_new_string(c->source_kind) : NULL);
		json_object_object_add(o, "secs", stat_json(c->med_secs, c->min_secs, c->max_secs, c));
		json_object_object_add(o, "mem_kb", stat_json(c->med_mem, c->min_mem, c->max_mem, c));
		json_object_object_add(o, "busy_s", stat_json(c->med_busy, c->min_busy, c->max_busy, c));
		for (int cpu = 0; c->n_ok && cpu < c->ncpus; cpu++)
			json_object_array_add(load, json_object_new_double(c->med_load[cpu]));
		json_object_object_add(o, "cpu_load_pct", load);
		json_object_object_add(o, "median_run", c->n_ok ? json_object_new_int64((int64_t)c->median_run + 1) : NULL);
		if (c->n_ok && cmds[0].n_ok) {
			json_object_object_add(ratio, "secs", json_object_new_double(c->med_secs / cmds[0].med_secs));
			json_object_object_add(ratio, "mem_kb", json_object_new_double(c->med_mem / cmds[0].med_mem));
			json_object_object_add(ratio, "busy_s", cmds[0].med_busy > 0
						     ? json_object_new_double(c->med_busy / cmds[0].med_busy) : NULL);
		}
		json_object_object_add(ratio, "gz", c->gz >= 0 && cmds[0].gz > 0
					   ? json_object_new_double((double)c->gz / (double)cmds[0].gz) : NULL);
		json_object_object_add(o, "ratio", ratio);
		for (size_t k = 0; k < c->n_runs; k++) {
			const struct run *x = &c->runs[k];
			json_object *e = json_object_new_object(), *l = json_object_new_array();

			json_object_object_add(e, "run", json_object_new_int64((int64_t)k + 1));
			json_object_object_add(e, "exit_status", json_object_new_int(x->exit_status));
			json_object_object_add(e, "ok", json_object_new_boolean(x->ok));
			json_object_object_add(e, "secs", json_object_new_double(x->secs));
			json_object_object_add(e, "mem_kb", json_object_new_int64(x->mem_kb));
			json_object_object_add(e, "busy_s", json_object_new_double(x->busy));
			for (int cpu = 0; cpu < x->ncpus; cpu++)
				json_object_array_add(l, json_object_new_double(x->load[cpu]));
			json_object_object_add(e, "cpu_load_pct", l);
			json_object_array_add(rs, e);
		}
		json_object_object_add(o, "runs", rs);
		json_object_array_add(list, o);
	}
	json_object_object_add(root, "commands", list);
	r = fputs(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE), out) < 0
		    ? -EIO : 0;
	fputc('\n', out);
	json_object_put(root);
	return r;
}

/* ---- main ---- */

static void run_help(FILE *out)
{
	fprintf(out,
		"Usage: rtprof compare --run 'CMD A' --run 'CMD B' [--run ...] [--runs N] [--warmup W]\n"
		"                      [--format text|markdown|csv|json] [--top N] [--stacks] [-q]\n"
		"\n"
		"Run each command N times, the commands interleaved (A B A B ...), each run under rtprof run, and\n"
		"print the Benchmarks Game's table: secs (elapsed), mem (peak resident KB), gz, busy (CPU seconds,\n"
		"user + system, all processes) and cpu load (each CPU's busy share while it ran, the busiest first:\n"
		"a run may use other CPUs than the last), with the median and\n"
		"the spread (min-max) over the runs that succeeded and the ratio to the first command; then where the\n"
		"difference comes from (syscalls, scheduling, runtime), from each command's median run. A run that\n"
		"exits non-zero is reported and left out of the figures.\n"
		"\n"
		"gz is the size of the program's source gzip'd at level 9: the script of a python or node command\n"
		"(the first argument that is not an option; an executable with a python or node #! line too) with\n"
		"its comments removed (python: # comments; JavaScript: // and /* */ comments, outside strings) and\n"
		"each run of whitespace made one space; the executable's bytes as they are otherwise; '-' when the\n"
		"code is on the command line (-c, -e).\n"
		"\n"
		"  --run CMD       a command (a shell's words; with |, ;, & or the like, run by /bin/sh -c)\n"
		"  --runs N        runs of each command (default 5)\n"
		"  --warmup W      rounds run first and left out (default 0)\n"
		"  --format FMT    text (default), markdown, csv or json (every run's figures); --json: json\n"
		"      --top N     syscall rows of the details (default 15; 0 = all)\n"
		"      --stacks    sample each run's stacks too (run --stacks): the details then compare the\n"
		"                  commands' top functions on CPU\n"
		"  -q, --quiet     no progress lines on stderr\n"
		"\n"
		"Exit status: 0, 1 when a run failed (the table is printed), 2 on bad usage.\n"
		"\n"
		"Example:\n"
		"  rtprof compare --run 'python3 nbody.py 500000' --run 'node nbody.js 500000' --runs 5 --format markdown\n");
}

int compare__run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "run", required_argument, NULL, 'r' },
		{ "runs", required_argument, NULL, 'n' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "format", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "top", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "stacks", no_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct command cmds[COMPARE_MAX_INPUTS] = {};
	struct compare_input in[COMPARE_MAX_INPUTS] = {};
	size_t n = 0, runs = 5, warmup = 0, top = 15;
	enum format fmt = FMT_TEXT;
	bool quiet = false, failed = false, stacks = false;
	char self[PATH_MAX], dir[] = "/tmp/rtprof-compare-XXXXXX", err[512];
	unsigned long long v;
	int c, ret = EXIT_FAILURE_RT;
	ssize_t len;

	optind = 1;
	while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (n == COMPARE_MAX_INPUTS) {
				errorf("compare: at most %d commands", COMPARE_MAX_INPUTS);
				return EXIT_USAGE;
			}
			if (!optarg[strspn(optarg, " \t")]) {
				errorf("compare: --run needs a command");
				return EXIT_USAGE;
			}
			cmds[n].text = optarg;
			cmds[n].label[0] = (char)('A' + n);
			n++;
			break;
		case 'n':
			if (parse_count(optarg, MAX_RUNS, &v) || !v) {
				errorf("compare: invalid --runs '%s': expected 1 to %d", optarg, MAX_RUNS);
				return EXIT_USAGE;
			}
			runs = (size_t)v;
			break;
		case 'w':
			if (parse_count(optarg, MAX_WARMUP, &v)) {
				errorf("compare: invalid --warmup '%s': expected 0 to %d", optarg, MAX_WARMUP);
				return EXIT_USAGE;
			}
			warmup = (size_t)v;
			break;
		case 'f':
			if (!strcmp(optarg, "text"))
				fmt = FMT_TEXT;
			else if (!strcmp(optarg, "markdown") || !strcmp(optarg, "md"))
				fmt = FMT_MARKDOWN;
			else if (!strcmp(optarg, "csv"))
				fmt = FMT_CSV;
			else if (!strcmp(optarg, "json"))
				fmt = FMT_JSON;
			else {
				errorf("compare: unknown format '%s': text, markdown, csv or json", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'j':
			fmt = FMT_JSON;
			break;
		case 't':
			if (parse_count(optarg, RTP_MAX_TOP, &v)) {
				errorf("compare: invalid --top '%s': expected a number of rows >= 0 (0 = all)", optarg);
				return EXIT_USAGE;
			}
			top = (size_t)v;
			break;
		case 'q':
			quiet = true;
			break;
		case 'K':
			stacks = true;
			break;
		case 'h':
			run_help(stdout);
			return EXIT_OK;
		default:
			usage_hint("compare");
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		errorf("compare: with --run, no other inputs ('%s'): compare saved reports or traces on their own", argv[optind]);
		return EXIT_USAGE;
	}
	if (n < 1) {
		errorf("compare: give --run CMD at least once (twice to compare)");
		return EXIT_USAGE;
	}
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len <= 0) {
		errorf("compare: cannot find this program (/proc/self/exe): %s", strerror(errno));
		return EXIT_FAILURE_RT;
	}
	self[len] = '\0';
	if (!mkdtemp(dir)) {
		errorf("compare: cannot make a directory for the runs' reports: %s", strerror(errno));
		return EXIT_FAILURE_RT;
	}
	for (size_t i = 0; i < n; i++) {
		static char *sh[4] = { "/bin/sh", "-c", NULL, NULL };
		int r = wordexp(cmds[i].text, &cmds[i].we, WRDE_NOCMD);

		cmds[i].runs = calloc(runs, sizeof(*cmds[i].runs));
		if (!cmds[i].runs) {
			errorf("out of memory");
			goto cleanup;
		}
		if (r == 0 && cmds[i].we.we_wordc) {
			cmds[i].have_we = true;
			cmds[i].argv = cmds[i].we.we_wordv;
		} else {
			if (r == 0)
				wordfree(&cmds[i].we);
			/* shell syntax (a pipe, a list, a substitution...): the shell runs it */
			cmds[i].argv = calloc(4, sizeof(char *));
			if (!cmds[i].argv) {
				errorf("out of memory");
				goto cleanup;
			}
			memcpy(cmds[i].argv, sh, sizeof(sh));
			cmds[i].argv[2] = (char *)cmds[i].text;
		}
		measure_gz(&cmds[i]);
	}
	for (size_t round = 0; round < warmup + runs; round++) {
		for (size_t i = 0; i < n; i++) {
			struct command *cm = &cmds[i];
			struct rtp_report *rep = NULL;
			bool counted = round >= warmup;
			struct run *x;
			char safe[256];

			if (!quiet)
				fprintf(stderr, "rtprof: compare: %s %zu/%zu %s: %s\n", counted ? "run" : "warm-up",
					counted ? round - warmup + 1 : round + 1, counted ? runs : warmup, cm->label,
					SAFE(safe, cm->text));
			if (run_once(self, cm, dir, stacks, &rep, err, sizeof(err))) {
				errorf("compare: %s: rtprof run failed: %s", cm->label, err[0] ? err : "no report");
				goto cleanup;
			}
			if (!counted) {
				report__free(rep);
				continue;
			}
			x = &cm->runs[cm->n_runs++];
			x->exit_status = rep->exit_status;
			x->ok = rep->exit_status == 0;
			x->secs = rep->process.wall_s;
			x->busy = rep->process.cpu_user_s + rep->process.cpu_sys_s;
			x->mem_kb = rep->process.max_rss_kb;
			x->ncpus = rep->process.ncpus < MAX_CPUS ? rep->process.ncpus : MAX_CPUS;
			for (int k = 0; k < x->ncpus; k++)
				x->load[k] = rep->process.cpu_load_pct[k];
			x->rep = rep;
			failed |= !x->ok;
			if (!cm->runtime[0] && rep->n_targets && rep->targets[0].runtime.kind != RTP_RUNTIME_OTHER)
				snprintf(cm->runtime, sizeof(cm->runtime), "%s %s",
					 runtime__kind_name(rep->targets[0].runtime.kind),
					 rep->targets[0].runtime.version[0] ? rep->targets[0].runtime.version : "(version unknown)");
			if (!quiet && !x->ok)
				fprintf(stderr, "rtprof: compare: %s run %zu exited with status %d: left out of the figures\n",
					cm->label, cm->n_runs, x->exit_status);
		}
	}
	for (size_t i = 0; i < n; i++)
		summarize(&cmds[i]);
	switch (fmt) {
	case FMT_TEXT:
		print_text(stdout, cmds, n, runs, warmup);
		break;
	case FMT_MARKDOWN:
		print_markdown(stdout, cmds, n, runs, warmup);
		break;
	case FMT_CSV:
		print_csv(stdout, cmds, n);
		break;
	case FMT_JSON:
		if (print_json(stdout, cmds, n, runs, warmup))
			goto cleanup;
		break;
	}
	/* where the difference comes from: each command's median run */
	if (fmt == FMT_TEXT && n > 1) {
		size_t k = 0;

		for (size_t i = 0; i < n; i++) {
			if (!cmds[i].n_ok)
				continue;
			in[k].rep = cmds[i].runs[cmds[i].median_run].rep;
			in[k].label[0] = cmds[i].label[0];
			in[k].kind = "run";
			snprintf(in[k].base, sizeof(in[k].base), "run %zu", cmds[i].median_run + 1);
			k++;
		}
		if (k > 1) {
			printf("\nWhere the difference comes from (each command's median run:");
			for (size_t i = 0; i < k; i++)
				printf(" %s %s%s", in[i].label, in[i].base, i + 1 < k ? "," : ")\n");
			if (compare__details(stdout, in, k, top)) {
				errorf("out of memory");
				goto cleanup;
			}
		}
	}
	if (fflush(stdout) || ferror(stdout)) {
		errorf("compare: writing the table: %s", strerror(errno ? errno : EIO));
		goto cleanup;
	}
	ret = failed ? EXIT_FAILURE_RT : EXIT_OK;
cleanup:
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < cmds[i].n_runs; k++)
			report__free(cmds[i].runs[k].rep);
		free(cmds[i].runs);
		if (cmds[i].have_we)
			wordfree(&cmds[i].we);
		else
			free(cmds[i].argv);
	}
	{
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/report.json", dir);
		(void)unlink(path);
		snprintf(path, sizeof(path), "%s/stderr", dir);
		(void)unlink(path);
		(void)rmdir(dir);
	}
	return ret;
}
