// SPDX-License-Identifier: LGPL-2.1-or-later
/* rtprof: command table and global options. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "outfile.h"
#include "rtprof.h"

struct global_opts g_opts;

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "run", cmd_run, "run a command under the probes and report when it exits" },
	{ "attach", cmd_attach, "profile running processes until Ctrl-C, a duration, or their exit" },
	{ "report", cmd_report, "print the report of a recorded trace (.rtprof.gz)" },
	{ "export", cmd_export, "write a trace as Chrome/Perfetto JSON, folded stacks or CSV" },
	{ "compare", cmd_compare, "compare traces or saved --json reports side by side" },
	{ "sessions", cmd_sessions, "list the sessions rtprofd runs for you" },
	{ "query", cmd_query, "print a daemon session's report so far: summary, syscalls, threads, sched" },
	{ "detach", cmd_detach, "end a daemon session" },
	{ "status", cmd_status, "rtprofd's version, uptime, sessions, events, memory" },
	{ "top", cmd_top, "a refreshing view of the sessions' threads: CPU, run-queue wait, switches, syscalls/s" },
};

void usage_hint(const char *cmd)
{
	fprintf(stderr, "Try 'rtprof %s --help' for more.\n", cmd);
}

void errorf(const char *fmt, ...)
{
	va_list ap;

	fputs("rtprof: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void log_libbpf(const char *msg)
{
	fprintf(stderr, "libbpf: %s", msg);
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: rtprof [-v] [--btf FILE] [--socket PATH] COMMAND [ARGS...]\n"
		"\n"
		"System-level profiler for Python and Node.js processes: syscalls, threads and scheduling,\n"
		"measured with eBPF.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(out,
		"\n"
		"Options:\n"
		"  -v, --verbose   show libbpf's messages (verifier log on load failures)\n"
		"      --btf FILE  kernel BTF to use when the kernel has none at /sys/kernel/btf/vmlinux\n"
		"      --socket PATH  rtprofd's socket (default $RTPROF_SOCKET, else /run/rtprof/rtprofd.sock)\n"
		"  -V, --version   print the version\n"
		"  -h, --help      this help; 'rtprof COMMAND --help' for a command's options\n"
		"\n"
		"Examples:\n"
		"  sudo rtprof run -- python3 app.py\n"
		"  sudo rtprof attach --json -d 10 1234\n"
		"\n"
		"Exit status: the command's own with 'run'; 0 on success; 1 when profiling failed;\n"
		"2 on bad input or when profiling is impossible here (not root, no BTF, unknown pid).\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "btf", required_argument, NULL, 'B' },
		{ "socket", required_argument, NULL, 'S' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c;

	outfile__guard_std_fds();
	/* '+': stop at the command name; its options are its own */
	while ((c = getopt_long(argc, argv, "+vVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'v':
			g_opts.verbose = true;
			break;
		case 'B':
			g_opts.btf_path = optarg;
			break;
		case 'S':
			g_opts.socket_path = optarg;
			break;
		case 'V':
			printf("rtprof %s\n", RTPROF_VERSION);
			return EXIT_OK;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	engine__set_log(log_libbpf, g_opts.verbose);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			char prog[64];

			argc -= optind;
			argv += optind;
			/* getopt prefixes its messages with argv[0]: "rtprof run: unrecognized option ..." */
			snprintf(prog, sizeof(prog), "rtprof %s", commands[i].name);
			argv[0] = prog;
			optind = 0; /* reset getopt for the command's own parsing */
			return commands[i].fn(argc, argv);
		}
	}
	if (strcmp(argv[optind], "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	errorf("unknown command '%s'; see 'rtprof --help'", argv[optind]);
	return EXIT_USAGE;
}
