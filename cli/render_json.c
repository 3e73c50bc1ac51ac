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

void render_json_value(FILE *out, json_object *v, int level)
{
	const char *s = json_object_to_json_string_ext(v, JSON_FLAGS);

	for (const char *nl; (nl = strchr(s, '\n')); s = nl + 1) {
		fwrite(s, 1, (size_t)(nl - s + 1), out);
		fprintf(out, "%*s", 2 * level, "");
	}
	fputs(s, out);
}

/* "threads" of a report `level` levels down: the rows, as json-c prints an array one level further. */
static int print_threads(FILE *out, const struct rtp_report *r, int level)
{
	fputs("[", out);
	for (size_t i = 0; i < r->n_threads; i++) {
		json_object *m = json_object_new_object();

		if (!m)
			return -ENOMEM;
		fields__to_json(&report_thread_fields, &r->threads[i], m);
		fprintf(out, "%s\n%*s", i ? "," : "", 2 * (level + 2), "");
		render_json_value(out, m, level + 2);
		json_object_put(m);
	}
	fprintf(out, "\n%*s]", 2 * (level + 1), "");
	return 0;
}

int render_json_object(FILE *out, const struct rtp_report *r, int level)
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
		fprintf(out, "%s\n%*s\"%s\":", first ? "" : ",", 2 * (level + 1), "", key);
		first = false;
		if (!strcmp(key, "threads"))
			ret = print_threads(out, r, level);
		else
			render_json_value(out, val, level + 1);
		if (ret)
			break;
	}
	fprintf(out, "\n%*s}", 2 * level, "");
	json_object_put(root);
	return ret;
}

int render_json(FILE *out, const struct rtp_report *r)
{
	int ret = render_json_object(out, r, 0);

	fputs("\n", out);
	if (!ret && ferror(out))
		ret = -EIO;
	return ret;
}
