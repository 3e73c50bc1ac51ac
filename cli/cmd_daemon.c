// SPDX-License-Identifier: LGPL-2.1-or-later
/* Commands that talk to rtprofd: sessions, query, detach, status. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "base/text.h"
#include "client.h"
#include "outfile.h"
#include "render.h"
#include "rtprof.h"

struct daemon_cmd {
	const char *usage;
	const char *answer; /* what it prints on stdout, or NULL */
	bool json;
	bool window;
	int top;
};

/* Options common to these commands; returns the index of the first operand, or -1 (exit code in *rc). */
static int parse(int argc, char **argv, struct daemon_cmd *dc, int *rc)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 'S' },
		{ "top", required_argument, NULL, 't' },
		{ "window", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c;

	dc->top = 15;
	/* options may follow the operands: rtprof query 3 --json */
	while ((c = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			dc->json = true;
			break;
		case 'S':
			g_opts.socket_path = optarg;
			break;
		case 't': {
			unsigned long long n;

			if (parse_count(optarg, RTP_MAX_TOP, &n)) {
				errorf("invalid --top '%s': expected a number of rows >= 0 (0 = all)", optarg);
				*rc = EXIT_USAGE;
				return -1;
			}
			dc->top = (int)n;
			break;
		}
		case 'w':
			dc->window = true;
			break;
		case 'h':
			printf("%s", dc->usage);
			*rc = EXIT_OK;
			return -1;
		default:
			fputs(dc->usage, stderr);
			*rc = EXIT_USAGE;
			return -1;
		}
	}
	if (dc->answer && outfile__check_stdout(dc->answer)) {
		*rc = EXIT_USAGE;
		return -1;
	}
	return optind;
}

/* Connect, send one request, get its reply: EXIT_OK, or the error said on stderr and its exit code. */
static int call(const struct proto_request *req, struct proto_reply *reply)
{
	struct rtp_client *c = NULL;
	char err[512];
	int r = client__connect(client__socket_path(), &c, err, sizeof(err));

	if (!r)
		r = client__request(c, req, reply, err, sizeof(err));
	client__close(c);
	if (r) {
		errorf("%s", err);
		return client__exit_code(r);
	}
	return EXIT_OK;
}

static void print_json(json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static bool parse_session_id(const char *s, int64_t *id)
{
	unsigned long long v;

	if (parse_count(s, INT64_MAX, &v) || v == 0)
		return false;
	*id = (int64_t)v;
	return true;
}

int cmd_sessions(int argc, char **argv)
{
	struct daemon_cmd dc = { .answer = "the sessions", .usage = "Usage: rtprof sessions [--json] [--socket PATH]\n\n"
					  "List the sessions rtprofd runs that you may see (root: all of them): each one's age, live\n"
					  "processes, command, runtime and pids.\n" };
	struct proto_request req = { .type = PROTO_SESSIONS };
	struct proto_reply reply;
	int rc = EXIT_OK, first = parse(argc, argv, &dc, &rc);

	if (first < 0)
		return rc;
	if (first != argc) {
		fputs(dc.usage, stderr);
		return EXIT_USAGE;
	}
	rc = call(&req, &reply);
	if (rc)
		return rc;
	if (dc.json) {
		json_object *msg = proto__build_reply(&reply);

		if (!msg) {
			proto_reply__clear(&reply);
			errorf("out of memory");
			return EXIT_FAILURE_RT;
		}
		print_json(json_object_object_get(msg, "sessions"));
		json_object_put(msg);
	} else {
		printf("%8s %8s %10s %5s  %-16s %-16s %s\n", "session", "uid", "age", "live", "command", "runtime",
		       "pids");
		for (size_t i = 0; i < reply.nsessions; i++) {
			const struct proto_session_info *si = &reply.sessions[i];
			char comm[sizeof(si->comm)], runtime[sizeof(si->runtime)];

			/* the daemon's words about a process any user named: printable only */
			text__printable(si->comm, comm, sizeof(comm), false);
			text__printable(si->runtime, runtime, sizeof(runtime), false);
			printf("%8" PRIu64 " %8" PRId64 " %9.1fs %5d  %-16s %-16s ", si->session, si->owner_uid, si->age_s,
			       (int)si->live_processes, comm[0] ? comm : "-", runtime[0] ? runtime : "-");
			for (unsigned int j = 0; j < si->npids; j++)
				printf("%s%d", j ? " " : "", (int)si->pids[j]);
			printf("\n");
		}
	}
	proto_reply__clear(&reply);
	return EXIT_OK;
}

int cmd_query(int argc, char **argv)
{
	struct daemon_cmd dc = { .answer = "the report", .usage = "Usage: rtprof query [--json] [--window] [--top N] [--socket PATH] SESSION\n"
					  "                    [summary|syscalls|threads|sched|runtime]\n\n"
					  "Print a daemon session's report so far; the JSON has the keys of docs/report-json.md\n"
					  "(all of them for summary; the view's for the others). --window: a watched process's\n"
					  "last complete rolling window instead (rtprofd --window).\n" };
	struct proto_request req = { .type = PROTO_QUERY };
	int rc = EXIT_OK, first = parse(argc, argv, &dc, &rc);
	struct rtp_report *r = NULL;
	struct proto_reply reply;
	int64_t id;

	if (first < 0)
		return rc;
	if (first >= argc || argc - first > 2 || !parse_session_id(argv[first], &id)) {
		fputs(dc.usage, stderr);
		return EXIT_USAGE;
	}
	if (argc - first == 2 && proto__view_of(argv[first + 1], &req.view)) {
		/* said by the daemon, as for any client */
		errorf("unknown view '%s': summary, syscalls, threads or sched", argv[first + 1]);
		return EXIT_USAGE;
	}
	req.session = (uint64_t)id;
	req.window = dc.window;
	rc = call(&req, &reply);
	if (rc)
		return rc;
	if (dc.json) {
		print_json(reply.report);
	} else if (report__from_json(reply.report, &r) == 0) {
		struct render_opts ro = { .top_syscalls = dc.top };

		if (req.view == PROTO_VIEW_RUNTIME)
			render_runtime_text(stdout, r);
		else
			render_text(stdout, r, &ro);
		report__free(r);
	} else {
		rc = EXIT_FAILURE_RT;
	}
	proto_reply__clear(&reply);
	return rc;
}

int cmd_detach(int argc, char **argv)
{
	struct daemon_cmd dc = { .usage = "Usage: rtprof detach [--socket PATH] SESSION\n\nEnd a daemon session.\n" };
	struct proto_request req = { .type = PROTO_DETACH };
	int rc = EXIT_OK, first = parse(argc, argv, &dc, &rc);
	struct proto_reply reply;
	int64_t id;

	if (first < 0)
		return rc;
	if (first != argc - 1 || !parse_session_id(argv[first], &id)) {
		fputs(dc.usage, stderr);
		return EXIT_USAGE;
	}
	req.session = (uint64_t)id;
	rc = call(&req, &reply);
	if (rc)
		return rc;
	proto_reply__clear(&reply);
	return EXIT_OK;
}

int cmd_status(int argc, char **argv)
{
	struct daemon_cmd dc = { .answer = "the status", .usage = "Usage: rtprof status [--json] [--socket PATH]\n\n"
					  "rtprofd's version, uptime, sessions, events and resources.\n" };
	struct proto_request req = { .type = PROTO_STATUS };
	int rc = EXIT_OK, first = parse(argc, argv, &dc, &rc);
	struct proto_reply reply;
	json_object *msg;

	if (first < 0)
		return rc;
	if (first != argc) {
		fputs(dc.usage, stderr);
		return EXIT_USAGE;
	}
	rc = call(&req, &reply);
	if (rc)
		return rc;
	/* the figures as the protocol names them, in its order */
	msg = proto__build_reply(&reply);
	proto_reply__clear(&reply);
	if (!msg) {
		errorf("out of memory");
		return EXIT_FAILURE_RT;
	}
	json_object_object_del(msg, "type");
	if (dc.json) {
		print_json(msg);
	} else {
		/* seconds and rates to the hundredth, not a double's seventeen digits */
		json_object_object_foreach(msg, key, val) {
			if (json_object_is_type(val, json_type_double))
				printf("%-24s %.2f\n", key, json_object_get_double(val));
			else
				printf("%-24s %s\n", key, json_object_get_string(val));
		}
	}
	json_object_put(msg);
	return EXIT_OK;
}
