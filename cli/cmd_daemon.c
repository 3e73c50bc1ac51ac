// SPDX-License-Identifier: LGPL-2.1-or-later
/* Commands that talk to rtprofd: sessions, query, detach, status. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "client.h"
#include "render.h"
#include "rtprof.h"

struct daemon_cmd {
	const char *usage;
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
		case 't':
			dc->top = atoi(optarg);
			break;
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
	return optind;
}

/* Connect, send one request, get its reply; errors said on stderr, exit code in *rc. */
static json_object *call(json_object *req, int *rc)
{
	struct rtp_client *c = NULL;
	json_object *reply = NULL;
	char err[512];
	int r = client__connect(client__socket_path(), &c, err, sizeof(err));

	if (!r)
		r = client__call(c, req, &reply, err, sizeof(err));
	else
		json_object_put(req);
	client__close(c);
	if (r) {
		errorf("%s", err);
		*rc = r == -EPERM || r == -ENOENT || r == -EINVAL || r == -ECONNREFUSED || r == -ESRCH ? EXIT_USAGE
													: EXIT_FAILURE_RT;
		return NULL;
	}
	return reply;
}

static json_object *request(const char *type)
{
	json_object *req = json_object_new_object();

	json_object_object_add(req, "type", json_object_new_string(type));
	return req;
}

static void print_json(json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static bool parse_session_id(const char *s, int64_t *id)
{
	char *end;

	errno = 0;
	*id = strtoll(s, &end, 10);
	return !errno && !*end && *id > 0;
}

int cmd_sessions(int argc, char **argv)
{
	struct daemon_cmd dc = { .usage = "Usage: rtprof sessions [--json] [--socket PATH]\n\n"
					  "List the sessions rtprofd runs that you may see (root: all of them).\n" };
	json_object *reply, *arr;
	int rc = EXIT_OK, first = parse(argc, argv, &dc, &rc);

	if (first < 0)
		return rc;
	if (first != argc) {
		fputs(dc.usage, stderr);
		return EXIT_USAGE;
	}
	reply = call(request("sessions"), &rc);
	if (!reply)
		return rc;
	arr = json_object_object_get(reply, "sessions");
	if (dc.json) {
		print_json(arr);
	} else {
		printf("%8s %8s %10s %8s  %s\n", "session", "uid", "age", "live", "pids");
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			json_object *s = json_object_array_get_idx(arr, i), *pids = json_object_object_get(s, "pids");

			printf("%8" PRId64 " %8" PRId64 " %9.1fs %8d  ", json_object_get_int64(json_object_object_get(s, "session")),
			       json_object_get_int64(json_object_object_get(s, "owner_uid")),
			       json_object_get_double(json_object_object_get(s, "age_s")),
			       json_object_get_int(json_object_object_get(s, "live_processes")));
			for (size_t j = 0; j < json_object_array_length(pids); j++)
				printf("%s%d", j ? " " : "", json_object_get_int(json_object_array_get_idx(pids, j)));
			printf("\n");
		}
	}
	json_object_put(reply);
	return EXIT_OK;
}

int cmd_query(int argc, char **argv)
{
	struct daemon_cmd dc = { .usage = "Usage: rtprof query [--json] [--window] [--top N] [--socket PATH] SESSION\n"
					  "                    [summary|syscalls|threads|sched|runtime]\n\n"
					  "Print a daemon session's report so far; the JSON has the keys of docs/report-json.md\n"
					  "(all of them for summary; the view's for the others). --window: a watched process's\n"
					  "last complete rolling window instead (rtprofd --window).\n" };
	int rc = EXIT_OK, first = parse(argc, argv, &dc, &rc);
	json_object *req, *reply, *rep;
	struct rtp_report *r = NULL;
	const char *what = "summary";
	int64_t id;

	if (first < 0)
		return rc;
	if (first >= argc || argc - first > 2 || !parse_session_id(argv[first], &id)) {
		fputs(dc.usage, stderr);
		return EXIT_USAGE;
	}
	if (argc - first == 2)
		what = argv[first + 1];
	req = request("query");
	json_object_object_add(req, "session", json_object_new_int64(id));
	json_object_object_add(req, "what", json_object_new_string(what));
	if (dc.window)
		json_object_object_add(req, "window", json_object_new_boolean(1));
	reply = call(req, &rc);
	if (!reply)
		return rc;
	rep = json_object_object_get(reply, "report");
	if (dc.json) {
		print_json(rep);
	} else if (report__from_json(rep, &r) == 0) {
		struct render_opts ro = { .top_syscalls = dc.top };

		if (!strcmp(what, "runtime"))
			render_runtime_text(stdout, r);
		else
			render_text(stdout, r, &ro);
		report__free(r);
	} else {
		rc = EXIT_FAILURE_RT;
	}
	json_object_put(reply);
	return rc;
}

int cmd_detach(int argc, char **argv)
{
	struct daemon_cmd dc = { .usage = "Usage: rtprof detach [--socket PATH] SESSION\n\nEnd a daemon session.\n" };
	int rc = EXIT_OK, first = parse(argc, argv, &dc, &rc);
	json_object *req, *reply;
	int64_t id;

	if (first < 0)
		return rc;
	if (first != argc - 1 || !parse_session_id(argv[first], &id)) {
		fputs(dc.usage, stderr);
		return EXIT_USAGE;
	}
	req = request("detach");
	json_object_object_add(req, "session", json_object_new_int64(id));
	reply = call(req, &rc);
	if (!reply)
		return rc;
	json_object_put(reply);
	return EXIT_OK;
}

int cmd_status(int argc, char **argv)
{
	struct daemon_cmd dc = { .usage = "Usage: rtprof status [--json] [--socket PATH]\n\n"
					  "rtprofd's version, uptime, sessions, events and resources.\n" };
	int rc = EXIT_OK, first = parse(argc, argv, &dc, &rc);
	json_object *reply;

	if (first < 0)
		return rc;
	if (first != argc) {
		fputs(dc.usage, stderr);
		return EXIT_USAGE;
	}
	reply = call(request("status"), &rc);
	if (!reply)
		return rc;
	json_object_object_del(reply, "type");
	json_object_object_del(reply, "id");
	if (dc.json) {
		print_json(reply);
	} else {
		json_object_object_foreach(reply, key, val)
			printf("%-24s %s\n", key, json_object_get_string(val));
	}
	json_object_put(reply);
	return EXIT_OK;
}
