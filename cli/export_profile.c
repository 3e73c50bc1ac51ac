// SPDX-License-Identifier: LGPL-2.1-or-later
/* `rtprof export --profile KIND`: the Python stacks a trace recorded with --stacks (model/profiles.h), as
 * folded lines (flamegraph.pl, speedscope, inferno), speedscope's sampled format, or an interactive SVG flame
 * graph in one file. Every stack starts with its process and thread: "python3 (pid);thread (tid);...".
 * Values: on-CPU samples for folded (a count, as flamegraph.pl expects), nanoseconds elsewhere and for
 * the off-CPU kinds. */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "export.h"
#include "model/profiles.h"

struct profile_export {
	const struct export_opts *opts;
	struct jsonw *w;
};

static void *profile_new(const struct export_opts *opts, struct jsonw *w, const struct trace_header *h)
{
	struct profile_export *x = calloc(1, sizeof(*x));

	(void)h;
	if (x) {
		x->opts = opts;
		x->w = w;
	}
	return x;
}

static void profile_free(void *state)
{
	free(state);
}

/* The names of a row's process and thread, from the timeline (the trace's own records). */
static void row_names(const struct timeline *tl, const struct rtp_prof_row *r, const char **proc, const char **thread)
{
	const struct timeline_process *p = timeline__process(tl, (uint32_t)r->pid);
	const struct timeline_thread *leader = timeline__thread(tl, (uint32_t)r->pid);
	const struct timeline_thread *t = timeline__thread(tl, (uint32_t)r->tid);

	*proc = p && p->comm[0] ? p->comm : leader && leader->name[0] ? leader->name : "?";
	*thread = t && t->name[0] ? t->name : "?";
}

/* Text of a frame, valid UTF-8, with `bad` characters (the format's separators) as '_'. */
static void put_text(struct jsonw *w, const char *s, const char *bad)
{
	while (*s) {
		size_t n = utf8_seq(s);

		if (strchr(bad, *s) || (unsigned char)*s < 0x20)
			jsonw__raw(w, "_", 1);
		else if (n)
			jsonw__raw(w, s, n);
		else
			jsonw__raw(w, "\xef\xbf\xbd", 3); /* U+FFFD */
		s += n ? n : 1;
	}
}

/* "function (file:line)", as py-spy names a frame; a marker (<kernel>...) alone. */
static void frame_label(char *buf, size_t len, const struct rtp_profiles *p, const struct rtp_prof_frame *f)
{
	const struct rtp_prof_func *fn = &p->funcs[f->func];

	if (!fn->file[0])
		snprintf(buf, len, "%s", fn->name);
	else if (f->line > 0)
		snprintf(buf, len, "%s (%s:%d)", fn->name, fn->file, f->line);
	else
		snprintf(buf, len, "%s (%s)", fn->name, fn->file);
}

int export__need_profiles(const struct timeline *tl)
{
	if (tl->profiles)
		return 0;
	fprintf(stderr, "rtprof: export: the trace has no stacks: record it with --stacks (rtprof run --stacks -o "
			"FILE.rtprof.gz -- ...)\n");
	return -ENODATA;
}

/* Whether a row is of the profile asked for: its kind, and for syscalls the one named (all when ""). */
static uint64_t export_value(const struct rtp_profiles *p, const struct rtp_prof_row *r, bool count)
{
	return count && (r->kind == RTP_PROF_CPU || r->kind == RTP_PROF_LOOP) ? r->samples : r->ns;
}

/* ---- folded ---- */

int export__profile_folded(struct jsonw *w, const struct timeline *tl, unsigned int kind, const char *syscall)
{
	const struct rtp_profiles *p = tl->profiles;
	char label[512];
	int r = export__need_profiles(tl);

	if (r)
		return r;
	for (size_t i = 0; i < p->n_rows && !jsonw__err(w); i++) {
		const struct rtp_prof_row *row = &p->rows[i];
		const char *proc, *thread;

		if (!profiles__row_of(row, kind, syscall))
			continue;
		row_names(tl, row, &proc, &thread);
		put_text(w, proc, ";\n\r");
		jsonw__rawf(w, " (%d);", (int)row->pid);
		put_text(w, thread, ";\n\r");
		jsonw__rawf(w, " (%d)", (int)row->tid);
		for (uint32_t k = 0; k < row->n; k++) {
			frame_label(label, sizeof(label), p, &p->frames[row->first + k]);
			jsonw__raw(w, ";", 1);
			put_text(w, label, ";\n\r");
		}
		jsonw__rawf(w, " %" PRIu64 "\n", export_value(p, row, true));
	}
	return jsonw__err(w);
}

/* ---- speedscope (https://www.speedscope.app/file-format-schema.json, "sampled" profiles) ---- */

static int speedscope_finish(void *state, const struct timeline *tl)
{
	struct profile_export *x = state;
	const struct rtp_profiles *p = tl->profiles;
	struct jsonw *w = x->w;
	unsigned int kind = x->opts->profile;
	const char *sc = x->opts->profile_syscall;
	int r = export__need_profiles(tl);
	char label[512];

	if (r)
		return r;
	jsonw__object_begin(w);
	jsonw__string_field(w, "$schema", "https://www.speedscope.app/file-format-schema.json");
	jsonw__string_field(w, "exporter", "rtprof");
	jsonw__string_field(w, "name", sc[0] ? sc : profiles__kind_name(kind));
	jsonw__key(w, "shared");
	jsonw__object_begin(w);
	jsonw__key(w, "frames");
	jsonw__array_begin(w);
	/* frame i: function i; the process and thread come first as frames of their own */
	for (size_t i = 0; i < p->n_funcs; i++) {
		jsonw__object_begin(w);
		jsonw__string_field(w, "name", p->funcs[i].name);
		if (p->funcs[i].file[0]) {
			jsonw__string_field(w, "file", p->funcs[i].file);
			jsonw__int_field(w, "line", p->funcs[i].firstline);
		}
		jsonw__object_end(w);
	}
	jsonw__array_end(w);
	jsonw__object_end(w);
	jsonw__key(w, "profiles");
	jsonw__array_begin(w);
	/* one profile per thread, in the rows' order of first appearance */
	for (size_t i = 0; i < p->n_rows; i++) {
		const struct rtp_prof_row *row = &p->rows[i];
		const char *proc, *thread;
		uint64_t total = 0;
		bool seen = false;

		if (!profiles__row_of(row, kind, sc))
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = profiles__row_of(&p->rows[j], kind, sc) && p->rows[j].tid == row->tid && p->rows[j].pid == row->pid;
		if (seen)
			continue;
		for (size_t j = i; j < p->n_rows; j++)
			if (profiles__row_of(&p->rows[j], kind, sc) && p->rows[j].tid == row->tid && p->rows[j].pid == row->pid)
				total += export_value(p, &p->rows[j], false);
		row_names(tl, row, &proc, &thread);
		snprintf(label, sizeof(label), "%s (%d), %s (tid %d)", proc, (int)row->pid, thread, (int)row->tid);
		jsonw__object_begin(w);
		jsonw__string_field(w, "type", "sampled");
		jsonw__string_field(w, "name", label);
		jsonw__string_field(w, "unit", "nanoseconds");
		jsonw__uint_field(w, "startValue", 0);
		jsonw__uint_field(w, "endValue", total);
		jsonw__key(w, "samples");
		jsonw__array_begin(w);
		for (size_t j = i; j < p->n_rows; j++) {
			const struct rtp_prof_row *s = &p->rows[j];

			if (!profiles__row_of(s, kind, sc) || s->tid != row->tid || s->pid != row->pid)
				continue;
			jsonw__array_begin(w);
			for (uint32_t k = 0; k < s->n; k++)
				jsonw__uint(w, p->frames[s->first + k].func);
			jsonw__array_end(w);
		}
		jsonw__array_end(w);
		jsonw__key(w, "weights");
		jsonw__array_begin(w);
		for (size_t j = i; j < p->n_rows; j++) {
			const struct rtp_prof_row *s = &p->rows[j];

			if (profiles__row_of(s, kind, sc) && s->tid == row->tid && s->pid == row->pid)
				jsonw__uint(w, export_value(p, s, false));
		}
		jsonw__array_end(w);
		jsonw__object_end(w);
	}
	jsonw__array_end(w);
	jsonw__object_end(w);
	jsonw__newline(w);
	return jsonw__err(w);
}

const struct exporter export_speedscope = {
	.name = "speedscope",
	.new = profile_new,
	.finish = speedscope_finish,
	.free = profile_free,
};

/* ---- SVG flame graph ---- */

/* A node of the merged stacks: its frame, value (itself and below) and children. */
struct fnode {
	char *label;
	uint64_t value;
	struct fnode **kids;
	size_t n_kids, cap_kids;
};

static void fnode_free(struct fnode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n_kids; i++)
		fnode_free(n->kids[i]);
	free(n->kids);
	free(n->label);
	free(n);
}

static struct fnode *fnode_child(struct fnode *n, const char *label)
{
	struct fnode *c;

	for (size_t i = 0; i < n->n_kids; i++)
		if (!strcmp(n->kids[i]->label, label))
			return n->kids[i];
	if (n->n_kids == n->cap_kids) {
		size_t cap = n->cap_kids ? n->cap_kids * 2 : 4;
		struct fnode **k = realloc(n->kids, cap * sizeof(*k));

		if (!k)
			return NULL;
		n->kids = k;
		n->cap_kids = cap;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->label = strdup(label))) {
		free(c);
		return NULL;
	}
	n->kids[n->n_kids++] = c;
	return c;
}

static int cmp_label(const void *a, const void *b)
{
	return strcmp((*(struct fnode *const *)a)->label, (*(struct fnode *const *)b)->label);
}

#define SVG_WIDTH 1200
#define SVG_ROW 17
#define SVG_MAX_DEPTH (RTP_PY_MAX_FRAMES + 8)

/* Text in XML, valid UTF-8, at most max_chars characters (then ".."); control characters as '?'. */
static void xml_text(struct jsonw *w, const char *s, size_t max_chars)
{
	size_t chars = 0, total = 0;

	for (const char *t = s; *t; t += utf8_seq(t) ? utf8_seq(t) : 1)
		total++;
	for (; *s; chars++) {
		size_t n = utf8_seq(s);

		if (total > max_chars && chars + 2 >= max_chars) {
			jsonw__raw(w, "..", 2);
			return;
		}
		if (*s == '<')
			jsonw__raw(w, "&lt;", 4);
		else if (*s == '>')
			jsonw__raw(w, "&gt;", 4);
		else if (*s == '&')
			jsonw__raw(w, "&amp;", 5);
		else if (*s == '"')
			jsonw__raw(w, "&quot;", 6);
		else if ((unsigned char)*s < 0x20)
			jsonw__raw(w, "?", 1);
		else if (n)
			jsonw__raw(w, s, n);
		else
			jsonw__raw(w, "\xef\xbf\xbd", 3); /* U+FFFD */
		s += n ? n : 1;
	}
}

/* Rectangles of the nodes at least 0.1 px wide, alphabetical among siblings as flamegraph.pl draws them;
 * the root at the bottom. The script below redraws them on a click (zoom) and a search. */
static void svg_node(struct jsonw *w, struct fnode *n, uint64_t total, double x, int depth, int height)
{
	double width = (double)n->value * SVG_WIDTH / (double)total;
	unsigned int hash = 0;

	if (width < 0.1 || depth >= SVG_MAX_DEPTH)
		return;
	for (const char *s = n->label; *s; s++)
		hash = hash * 31 + (unsigned char)*s;
	jsonw__rawf(w, "<g><title>");
	xml_text(w, n->label, SIZE_MAX);
	jsonw__rawf(w, " (%" PRIu64 ", %.2f%%)</title><rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" "
		    "fill=\"rgb(%u,%u,%u)\" rx=\"2\"/><text x=\"%.2f\" y=\"%d\">",
		    n->value, 100.0 * (double)n->value / (double)total, x, height - (depth + 1) * SVG_ROW, width,
		    SVG_ROW - 1, 205 + hash % 50, 80 + (hash >> 8) % 130, (hash >> 16) % 60, x + 3,
		    height - depth * SVG_ROW - 5);
	/* the label as it fits (~7 px a character), also for viewers that run no script */
	if (width > 27)
		xml_text(w, n->label, (size_t)((width - 6) / 7));
	jsonw__raw(w, "</text></g>\n", 12);
	if (n->n_kids > 1)
		qsort(n->kids, n->n_kids, sizeof(*n->kids), cmp_label);
	for (size_t i = 0; i < n->n_kids; i++) {
		svg_node(w, n->kids[i], total, x, depth + 1, height);
		x += (double)n->kids[i]->value * SVG_WIDTH / (double)total;
	}
}

static int tree_depth(const struct fnode *n)
{
	int d = 0;

	for (size_t i = 0; i < n->n_kids; i++) {
		int k = tree_depth(n->kids[i]);

		if (k > d)
			d = k;
	}
	return d + 1;
}

/* Zoom on click (the clicked frame fills the width, its ancestors stay), search (matches highlighted, their
 * share said), reset on Escape or a click on the title: a few lines of plain script over the rectangles. */
static const char SVG_SCRIPT[] =
	"<script><![CDATA[\n"
	"var W=" "1200" ",gs=[].slice.call(document.querySelectorAll('#frames > g'));\n"
	"gs.forEach(function(g){var r=g.querySelector('rect');g._x=+r.getAttribute('x');g._w=+r.getAttribute('width');"
	"g._y=+r.getAttribute('y');g._l=g.querySelector('title').textContent;g.onclick=function(){zoom(g)};});\n"
	"function label(g,x,w){var t=g.querySelector('text'),s=g._l.replace(/ \\([0-9]+, [0-9.]+%\\)$/,'');"
	"var n=Math.floor((w-6)/7);t.textContent=n<3?'':s.length>n?s.slice(0,n-2)+'..':s;t.setAttribute('x',x+3);}\n"
	"function zoom(z){gs.forEach(function(g){var r=g.querySelector('rect'),x,w,on;"
	"if(g._y<=z._y){on=g._x>=z._x-1e-6&&g._x+g._w<=z._x+z._w+1e-6;x=(g._x-z._x)*W/z._w;w=g._w*W/z._w;}"
	"else{on=g._x<=z._x+1e-6&&g._x+g._w>=z._x+z._w-1e-6;x=0;w=W;}"
	"g.style.display=on?'':'none';if(on){r.setAttribute('x',x);r.setAttribute('width',w);label(g,x,w);}});}\n"
	"function reset(){gs.forEach(function(g){g.style.display='';var r=g.querySelector('rect');"
	"r.setAttribute('x',g._x);r.setAttribute('width',g._w);label(g,g._x,g._w);});}\n"
	"function search(){var q=prompt('Search (a regular expression)');if(q===null)return;var re=new RegExp(q),m=0;"
	"gs.forEach(function(g){var hit=q!==''&&re.test(g._l);g.querySelector('rect').style.stroke=hit?'#000':'';"
	"g.querySelector('rect').style.strokeWidth=hit?'2':'';if(hit)m+=g._w;});"
	"document.getElementById('matched').textContent=q?'matched: '+(100*m/W).toFixed(1)+'% (nested matches count "
	"more than once)':'';}\n"
	"document.getElementById('title').onclick=reset;document.getElementById('search').onclick=search;\n"
	"document.onkeydown=function(e){if(e.key==='Escape')reset();if((e.ctrlKey||e.metaKey)&&e.key==='f'){"
	"e.preventDefault();search();}};\n"
	"reset();\n"
	"]]></script>\n";

static int svg_finish(void *state, const struct timeline *tl)
{
	struct profile_export *x = state;
	const struct rtp_profiles *p = tl->profiles;
	struct jsonw *w = x->w;
	unsigned int kind = x->opts->profile;
	struct fnode *root;
	char label[512];
	int r = export__need_profiles(tl), height;

	if (r)
		return r;
	root = calloc(1, sizeof(*root));
	if (!root || !(root->label = strdup("all")))
		goto nomem;
	for (size_t i = 0; i < p->n_rows; i++) {
		const struct rtp_prof_row *row = &p->rows[i];
		uint64_t v = export_value(p, row, false);
		const char *proc, *thread;
		struct fnode *n = root;

		if (!profiles__row_of(row, kind, x->opts->profile_syscall))
			continue;
		row_names(tl, row, &proc, &thread);
		root->value += v;
		snprintf(label, sizeof(label), "%s (%d)", proc, (int)row->pid);
		if (!(n = fnode_child(n, label)))
			goto nomem;
		n->value += v;
		snprintf(label, sizeof(label), "%s (%d)", thread, (int)row->tid);
		if (!(n = fnode_child(n, label)))
			goto nomem;
		n->value += v;
		for (uint32_t k = 0; k < row->n; k++) {
			frame_label(label, sizeof(label), p, &p->frames[row->first + k]);
			if (!(n = fnode_child(n, label)))
				goto nomem;
			n->value += v;
		}
	}
	height = (tree_depth(root) + 3) * SVG_ROW;
	jsonw__rawf(w, "<?xml version=\"1.0\" standalone=\"no\"?>\n"
		       "<svg version=\"1.1\" width=\"%d\" height=\"%d\" xmlns=\"http://www.w3.org/2000/svg\" "
		       "font-family=\"Verdana, sans-serif\" font-size=\"12\">\n"
		       "<rect width=\"100%%\" height=\"100%%\" fill=\"#f8f8f8\"/>\n"
		       "<text id=\"title\" x=\"%d\" y=\"20\" text-anchor=\"middle\" font-size=\"16\" cursor=\"pointer\">"
		       "rtprof: %s, %s (click a frame to zoom, here or Escape to reset)</text>\n"
		       "<text id=\"search\" x=\"%d\" y=\"20\" text-anchor=\"end\" cursor=\"pointer\">Search</text>\n"
		       "<text id=\"matched\" x=\"%d\" y=\"%d\" text-anchor=\"end\"></text>\n<g id=\"frames\">\n",
		    SVG_WIDTH, height + 2 * SVG_ROW, SVG_WIDTH / 2,
		    x->opts->profile_syscall[0] ? x->opts->profile_syscall : profiles__kind_name(kind),
		    kind == RTP_PROF_CPU ? "time on CPU (samples x period)" : kind == RTP_PROF_SYSCALL ? "time in syscalls"
		    : kind == RTP_PROF_LOOP ? "time on CPU in the event-loop iterations that blocked the loop"
		    : "time off CPU", SVG_WIDTH - 10,
		    SVG_WIDTH - 10, height + SVG_ROW + 5);
	if (root->value)
		svg_node(w, root, root->value, 0, 0, height + SVG_ROW);
	jsonw__raw(w, "</g>\n", 5);
	jsonw__raw(w, SVG_SCRIPT, sizeof(SVG_SCRIPT) - 1);
	jsonw__raw(w, "</svg>\n", 7);
	fnode_free(root);
	return jsonw__err(w);
nomem:
	fnode_free(root);
	return -ENOMEM;
}

const struct exporter export_svg = {
	.name = "svg",
	.new = profile_new,
	.finish = svg_finish,
	.free = profile_free,
};
