// SPDX-License-Identifier: LGPL-2.1-or-later
/* The one JSON renderer of the CLI: a report as one object, through the model's JSON form. */
#include <errno.h>
#include <json-c/json.h>

#include "render.h"

int render_json(FILE *out, const struct rtp_report *r)
{
	json_object *root = report__json(r);
	int ret = 0;

	if (!root)
		return -ENOMEM;
	if (fprintf(out, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)) < 0)
		ret = -EIO;
	json_object_put(root);
	return ret;
}
