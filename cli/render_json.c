// SPDX-License-Identifier: LGPL-2.1-or-later
/* The one JSON renderer of the CLI: a report as one object, through the model's JSON form. The rows of
 * threads are turned into JSON and printed one at a time: a tree of them all took 2.6 KB a thread (170 MB
 * for the 65536 a trace's report holds, TRACE_MAX_THREADS). The text is json-c's pretty form either way. */
#include <errno.h>
#include <string.h>
#include <json-c/json.h>

#include "model/report_fields.h"
#include "render.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)

/* A value as json-c prints it `level` levels down: two spaces a level after each newline (strings hold none). */
static void print_nested(FILE *out, json_object *v, int level)
{
	const char *s = json_object_to_json_string_ext(v, JSON_FLAGS);

	for (const char *nl; (nl = strchr(s, '\n')); s = nl + 1) {
		fwrite(s, 1, (size_t)(nl - s + 1), out);
		fprintf(out, "%*s", 2 * level, "");
	}
	fputs(s, out);
}

/* "threads": the rows, as json-c prints an array two levels down. */
static int print_threads(FILE *out, const struct rtp_report *r)
{
	fputs("[", out);
	for (size_t i = 0; i < r->n_threads; i++) {
		json_object *m = json_object_new_object();

		if (!m)
			return -ENOMEM;
		fields__to_json(&report_thread_fields, &r->threads[i], m);
		fputs(i ? ",\n    " : "\n    ", out);
		print_nested(out, m, 2);
		json_object_put(m);
	}
	fputs("\n  ]", out);
	return 0;
}

int render_json(FILE *out, const struct rtp_report *r)
{
	struct rtp_report no_threads = *r;
	json_object *root;
	bool first = true;
	int ret = 0;

	no_threads.threads = NULL;
	no_threads.n_threads = 0;
	root = report__json(&no_threads);
	if (!root)
		return -ENOMEM;
	fputs("{", out);
	json_object_object_foreach(root, key, val) {
		fprintf(out, "%s\n  \"%s\":", first ? "" : ",", key);
		first = false;
		if (!strcmp(key, "threads"))
			ret = print_threads(out, r);
		else
			print_nested(out, val, 1);
		if (ret)
			break;
	}
	fputs("\n}\n", out);
	json_object_put(root);
	if (!ret && ferror(out))
		ret = -EIO;
	return ret;
}
