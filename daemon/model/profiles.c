// SPDX-License-Identifier: LGPL-2.1-or-later
/* Stack profiles: building, ranking, JSON (profiles.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "base/vec.h"
#include "model/profiles.h"
#include "model/report_fields.h"

#include "accounting.h"

static const char *const kind_names[RTP_PROF_KINDS] = {
	[RTP_PROF_CPU] = "cpu",
	[RTP_PROF_OFFCPU] = "offcpu",
	[RTP_PROF_GIL] = "gil",
	[RTP_PROF_SYSCALL] = "syscalls",
	[RTP_PROF_LOOP] = "loop",
};

static const char *const state_names[] = {
	[RTP_OFF_RUNNABLE] = "runnable",
	[RTP_OFF_SLEEPING] = "sleeping",
	[RTP_OFF_BLOCKED] = "blocked",
};

bool profiles__row_of(const struct rtp_prof_row *r, unsigned int kind, const char *syscall)
{
	return r->kind == kind && (kind != RTP_PROF_SYSCALL || !syscall || !syscall[0] || !strcmp(r->syscall, syscall));
}

const char *profiles__kind_name(unsigned int kind)
{
	return kind < RTP_PROF_KINDS ? kind_names[kind] : "?";
}

const char *profiles__state_name(unsigned int state)
{
	state &= ~(unsigned int)RTP_PROF_SAMPLED;
	return state < sizeof(state_names) / sizeof(state_names[0]) ? state_names[state] : "?";
}

uint64_t profiles__value(const struct rtp_prof_row *row)
{
	return row->kind == RTP_PROF_CPU || row->kind == RTP_PROF_LOOP ? row->samples : row->ns;
}

/* name/file/firstline -> func: open addressing over indices + 1 (0: empty), grown at half full */
struct prof_intern {
	uint32_t *slots;
	size_t cap;
};

static uint64_t func_hash(const char *name, const char *file, int firstline)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (const char *s = name; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	h = (h ^ 0xff) * 0x100000001b3ull;
	for (const char *s = file; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return (h ^ (uint32_t)firstline) * 0x100000001b3ull;
}

struct rtp_profiles *profiles__new(unsigned int sample_hz)
{
	struct rtp_profiles *p = calloc(1, sizeof(*p));

	if (p)
		p->sample_hz = sample_hz;
	return p;
}

void profiles__free(struct rtp_profiles *p)
{
	if (!p)
		return;
	if (p->intern)
		free(p->intern->slots);
	free(p->intern);
	free(p->procs);
	free(p->blocks);
	free(p->rows);
	free(p->frames);
	free(p->funcs);
	free(p);
}

static int intern_grow(struct rtp_profiles *p)
{
	struct prof_intern *in = p->intern;
	size_t cap = in->cap ? in->cap * 2 : 256;
	uint32_t *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_funcs; i++) {
		const struct rtp_prof_func *f = &p->funcs[i];
		size_t j = func_hash(f->name, f->file, f->firstline) & (cap - 1);

		while (slots[j])
			j = (j + 1) & (cap - 1);
		slots[j] = (uint32_t)i + 1;
	}
	free(in->slots);
	in->slots = slots;
	in->cap = cap;
	return 0;
}

int64_t profiles__func(struct rtp_profiles *p, const char *name, const char *file, int firstline)
{
	struct rtp_prof_func *f;
	size_t j;

	if (!p->intern && !(p->intern = calloc(1, sizeof(*p->intern))))
		return -ENOMEM;
	if ((p->n_funcs + 1) * 2 > p->intern->cap && intern_grow(p))
		return -ENOMEM;
	j = func_hash(name, file, firstline) & (p->intern->cap - 1);
	for (uint32_t s; (s = p->intern->slots[j]); j = (j + 1) & (p->intern->cap - 1)) {
		f = &p->funcs[s - 1];
		if (f->firstline == firstline && !strcmp(f->name, name) && !strcmp(f->file, file))
			return s - 1;
	}
	if (vec__grow(&p->funcs, &p->cap_funcs, p->n_funcs))
		return -ENOMEM;
	f = &p->funcs[p->n_funcs];
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	snprintf(f->file, sizeof(f->file), "%s", file);
	f->firstline = firstline;
	p->intern->slots[j] = (uint32_t)++p->n_funcs;
	return (int64_t)p->n_funcs - 1;
}

int64_t profiles__block(struct rtp_profiles *p, const struct rtp_prof_block *b)
{
	if (vec__grow(&p->blocks, &p->cap_blocks, p->n_blocks))
		return -ENOMEM;
	p->blocks[p->n_blocks] = *b;
	return (int64_t)p->n_blocks++;
}

int profiles__add(struct rtp_profiles *p, const struct rtp_prof_row *row, const struct rtp_prof_frame *frames,
		  uint32_t n)
{
	struct rtp_prof_row *r;

	if (vec__grow(&p->rows, &p->cap_rows, p->n_rows))
		return -ENOMEM;
	if (vec__reserve(&p->frames, &p->cap_frames, p->n_frames + n))
		return -ENOMEM;
	memcpy(p->frames + p->n_frames, frames, n * sizeof(*frames));
	r = &p->rows[p->n_rows++];
	*r = *row;
	r->first = (uint32_t)p->n_frames;
	r->n = n;
	p->n_frames += n;
	return 0;
}

static int row_cmp(const void *a, const void *b)
{
	const struct rtp_prof_row *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (profiles__value(x) != profiles__value(y))
		return profiles__value(x) > profiles__value(y) ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

void profiles__finish(struct rtp_profiles *p)
{
	if (p->n_rows)
		qsort(p->rows, p->n_rows, sizeof(*p->rows), row_cmp);
	if (p->intern)
		free(p->intern->slots);
	free(p->intern);
	p->intern = NULL;
}

static int top_cmp(const void *a, const void *b)
{
	const struct rtp_prof_top *x = a, *y = b;

	if (x->self != y->self)
		return x->self > y->self ? -1 : 1;
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return x->func < y->func ? -1 : x->func > y->func;
}

int profiles__top(const struct rtp_profiles *p, unsigned int kind, struct rtp_prof_top **out, size_t *n_out)
{
	struct rtp_prof_top *t = calloc(p->n_funcs ? p->n_funcs : 1, sizeof(*t));
	uint32_t *seen = calloc(p->n_funcs ? p->n_funcs : 1, sizeof(*seen));
	size_t n = 0;

	if (!t || !seen) {
		free(t);
		free(seen);
		return -ENOMEM;
	}
	for (size_t i = 0; i < p->n_funcs; i++)
		t[i].func = (uint32_t)i;
	for (size_t i = 0; i < p->n_rows; i++) {
		const struct rtp_prof_row *r = &p->rows[i];

		uint32_t leaf;

		if (r->kind != kind || !r->n)
			continue;
		/* self: the innermost function, not the kernel it called into (the kernel has a line of its own) */
		leaf = r->n >= 2 && (r->flags & RTP_STACK_KERNEL) ? r->n - 2 : r->n - 1;
		t[p->frames[r->first + leaf].func].self += profiles__value(r);
		for (uint32_t k = 0; k < r->n; k++) {
			uint32_t f = p->frames[r->first + k].func;

			if (seen[f] == i + 1) /* recursion: once per stack */
				continue;
			seen[f] = (uint32_t)i + 1;
			t[f].total += profiles__value(r);
		}
	}
	free(seen);
	for (size_t i = 0; i < p->n_funcs; i++)
		if (t[i].total)
			t[n++] = t[i];
	qsort(t, n, sizeof(*t), top_cmp);
	*out = t;
	*n_out = n;
	return 0;
}

/* The innermost frame of a row with a file (see rtp_prof_blame); the innermost frame when none has. */
static uint32_t source_frame(const struct rtp_profiles *p, const struct rtp_prof_row *r)
{
	for (uint32_t k = r->n; k-- > 0;) {
		const struct rtp_prof_func *fn = &p->funcs[p->frames[r->first + k].func];

		if (fn->file[0] && fn->name[0] != '<')
			return k;
	}
	return r->n - 1;
}

void profiles__block_blame(const struct rtp_profiles *p, size_t block, struct rtp_prof_blame *out)
{
	struct blame_acc {
		uint32_t func;
		uint64_t samples;
	} acc[RTP_LOOP_STACKS];
	size_t n = 0, best = 0;

	*out = (struct rtp_prof_blame){ .func = -1 };
	for (size_t i = 0; i < p->n_rows; i++) {
		const struct rtp_prof_row *r = &p->rows[i];
		uint32_t f;
		size_t k;

		if (r->kind != RTP_PROF_LOOP || r->arg != block || !r->n)
			continue;
		out->kept += r->samples;
		f = p->frames[r->first + source_frame(p, r)].func;
		for (k = 0; k < n && acc[k].func != f; k++)
			;
		if (k == n) {
			if (n == RTP_LOOP_STACKS)
				continue; /* not from this library: a block keeps that many samples */
			acc[n++] = (struct blame_acc){ .func = f };
		}
		acc[k].samples += r->samples;
	}
	if (!n)
		return;
	for (size_t k = 1; k < n; k++)
		if (acc[k].samples > acc[best].samples)
			best = k;
	out->func = acc[best].func;
	out->samples = acc[best].samples;
	/* rows by value, descending: the first through it is its most sampled */
	for (size_t i = 0; i < p->n_rows && !out->row; i++) {
		const struct rtp_prof_row *r = &p->rows[i];

		if (r->kind != RTP_PROF_LOOP || r->arg != block || !r->n)
			continue;
		out->depth = source_frame(p, r);
		if (p->frames[r->first + out->depth].func == acc[best].func) {
			out->row = r;
			out->line = p->frames[r->first + out->depth].line;
		}
	}
}

const char *profiles__frames_text(const struct rtp_profiles *p, const struct rtp_prof_row *r, uint32_t depth,
				  uint32_t n, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (uint32_t k = 0; k < n && k <= depth && depth < r->n && off < len; k++) {
		const struct rtp_prof_frame *f = &p->frames[r->first + depth - k];
		const struct rtp_prof_func *fn = &p->funcs[f->func];
		char line[24] = "";

		if (f->line > 0)
			snprintf(line, sizeof(line), ":%d", f->line);
		off += (size_t)snprintf(buf + off, len - off, fn->file[0] ? "%s%s (%s%s)" : "%s%s", k ? " < " : "", fn->name,
					fn->file, line);
	}
	return buf;
}

/* ---- differences ---- */

static uint64_t row_hash(const struct rtp_profiles *p, const struct rtp_prof_row *r)
{
	uint64_t h = ((uint64_t)(uint32_t)r->pid << 32 | (uint32_t)r->tid) * 0x9e3779b97f4a7c15ull;

	h ^= ((uint64_t)r->kind << 32 | r->arg) * 0xff51afd7ed558ccdull;
	for (uint32_t i = 0; i < r->n; i++) {
		const struct rtp_prof_frame *f = &p->frames[r->first + i];
		const struct rtp_prof_func *fn = &p->funcs[f->func];

		h = (h ^ func_hash(fn->name, fn->file, fn->firstline) ^ (uint32_t)f->line) * 0x100000001b3ull;
	}
	return h ^ r->n;
}

static bool same_row(const struct rtp_profiles *a, const struct rtp_prof_row *x, const struct rtp_profiles *b,
		     const struct rtp_prof_row *y)
{
	if (x->pid != y->pid || x->tid != y->tid || x->kind != y->kind || x->arg != y->arg || x->n != y->n ||
	    strcmp(x->syscall, y->syscall))
		return false;
	for (uint32_t i = 0; i < x->n; i++) {
		const struct rtp_prof_frame *f = &a->frames[x->first + i], *g = &b->frames[y->first + i];
		const struct rtp_prof_func *fa = &a->funcs[f->func], *fb = &b->funcs[g->func];

		if (f->line != g->line || fa->firstline != fb->firstline || strcmp(fa->name, fb->name) ||
		    strcmp(fa->file, fb->file))
			return false;
	}
	return true;
}

static uint64_t less(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* What is left to subtract of then's rows of one key: stacks that differ only where names and lines do not
 * tell (two instructions on one line) are rows of the same key, on either side. */
struct since_left {
	uint32_t row; /* then's first row of the key */
	uint64_t samples, ns, errors;
};

struct rtp_profiles *profiles__since(const struct rtp_profiles *cur, const struct rtp_profiles *then)
{
	struct rtp_profiles *d = profiles__new(cur->sample_hz);
	size_t n_slots = 1;
	uint32_t *slots = NULL; /* then's keys by row_hash: index in left + 1 */
	struct since_left *left = NULL;
	size_t n_left = 0;
	int64_t *bmap = NULL; /* cur's blocks: index in d, or -1 when then has it */

	if (!d)
		return NULL;
	d->drops = less(cur->drops, then ? then->drops : 0);
	d->loop_threshold_ns = cur->loop_threshold_ns;
	bmap = calloc(cur->n_blocks ? cur->n_blocks : 1, sizeof(*bmap));
	if (!bmap)
		goto nomem;
	for (size_t i = 0; i < cur->n_blocks; i++) {
		const struct rtp_prof_block *b = &cur->blocks[i];
		bool old = false;

		for (size_t j = 0; then && j < then->n_blocks && !old; j++)
			old = then->blocks[j].pid == b->pid && then->blocks[j].tid == b->tid &&
			      then->blocks[j].start_ns == b->start_ns;
		bmap[i] = old ? -1 : profiles__block(d, b);
		if (!old && bmap[i] < 0)
			goto nomem;
	}
	d->procs = calloc(cur->n_procs ? cur->n_procs : 1, sizeof(*d->procs));
	if (!d->procs)
		goto nomem;
	if (cur->n_procs)
		memcpy(d->procs, cur->procs, cur->n_procs * sizeof(*d->procs));
	d->n_procs = cur->n_procs;
	for (size_t i = 0; then && i < d->n_procs; i++)
		for (size_t j = 0; j < then->n_procs; j++)
			if (then->procs[j].pid == d->procs[i].pid) {
				d->procs[i].samples = less(d->procs[i].samples, then->procs[j].samples);
				d->procs[i].no_python = less(d->procs[i].no_python, then->procs[j].no_python);
				d->procs[i].unresolved = less(d->procs[i].unresolved, then->procs[j].unresolved);
			}
	if (then && then->n_rows) {
		while (n_slots < 2 * then->n_rows)
			n_slots *= 2;
		slots = calloc(n_slots, sizeof(*slots));
		left = calloc(then->n_rows, sizeof(*left));
		if (!slots || !left)
			goto nomem;
		for (size_t i = 0; i < then->n_rows; i++) {
			const struct rtp_prof_row *t = &then->rows[i];
			size_t j = row_hash(then, t) & (n_slots - 1);

			while (slots[j] && !same_row(then, &then->rows[left[slots[j] - 1].row], then, t))
				j = (j + 1) & (n_slots - 1);
			if (!slots[j]) {
				left[n_left].row = (uint32_t)i;
				slots[j] = (uint32_t)++n_left;
			}
			left[slots[j] - 1].samples += t->samples;
			left[slots[j] - 1].ns += t->ns;
			left[slots[j] - 1].errors += t->errors;
		}
	}
	for (size_t i = 0; i < cur->n_rows; i++) {
		const struct rtp_prof_row *r = &cur->rows[i];
		struct rtp_prof_row row = *r;
		struct rtp_prof_frame fr[RTP_PY_MAX_FRAMES + 4];
		bool block = r->kind == RTP_PROF_LOOP;

		/* a loop block's rows: all of them when the block is new, none otherwise */
		if (block) {
			if (r->arg >= cur->n_blocks || bmap[r->arg] < 0)
				continue;
			row.arg = (unsigned int)bmap[r->arg];
		}
		for (size_t j = slots && !block ? row_hash(cur, r) & (n_slots - 1) : 0; slots && !block && slots[j];
		     j = (j + 1) & (n_slots - 1)) {
			struct since_left *l = &left[slots[j] - 1];
			uint64_t s, ns, e;

			if (!same_row(cur, r, then, &then->rows[l->row]))
				continue;
			/* as much of then's as this row holds; the rest from the key's next rows */
			s = l->samples < r->samples ? l->samples : r->samples;
			ns = l->ns < r->ns ? l->ns : r->ns;
			e = l->errors < r->errors ? l->errors : r->errors;
			row.samples = r->samples - s;
			row.ns = r->ns - ns;
			row.errors = r->errors - e;
			l->samples -= s;
			l->ns -= ns;
			l->errors -= e;
			break;
		}
		if (!row.samples && !row.ns)
			continue;
		if (r->n > sizeof(fr) / sizeof(fr[0]))
			continue; /* not from this library */
		for (uint32_t k = 0; k < r->n; k++) {
			const struct rtp_prof_frame *f = &cur->frames[r->first + k];
			const struct rtp_prof_func *fn = &cur->funcs[f->func];
			int64_t fi = profiles__func(d, fn->name, fn->file, fn->firstline);

			if (fi < 0)
				goto nomem;
			fr[k] = (struct rtp_prof_frame){ .func = (uint32_t)fi, .line = f->line };
		}
		if (profiles__add(d, &row, fr, r->n))
			goto nomem;
	}
	free(slots);
	free(left);
	free(bmap);
	profiles__finish(d);
	return d;
nomem:
	free(slots);
	free(left);
	free(bmap);
	profiles__free(d);
	return NULL;
}

/* ---- JSON ---- */

static json_object *text_or_null(const char *s)
{
	return s[0] ? fields__json_text(s) : NULL;
}

static json_object *frame_json(const struct rtp_profiles *p, const struct rtp_prof_frame *f)
{
	const struct rtp_prof_func *fn = &p->funcs[f->func];
	json_object *fr = json_object_new_object();

	json_object_object_add(fr, "function", fields__json_text(fn->name));
	json_object_object_add(fr, "file", text_or_null(fn->file));
	json_object_object_add(fr, "line", f->line > 0 ? json_object_new_int(f->line) : NULL);
	if (fn->firstline > 0)
		json_object_object_add(fr, "first_line", json_object_new_int(fn->firstline));
	return fr;
}

/* A block's blame (profiles__block_blame): its function, file and line, the samples in it, and its stack,
 * outermost first (down to the function); null when the block has no samples kept. */
static json_object *blame_json(const struct rtp_profiles *p, size_t block)
{
	struct rtp_prof_blame b;
	json_object *o, *stack;

	profiles__block_blame(p, block, &b);
	if (!b.row)
		return NULL;
	o = frame_json(p, &p->frames[b.row->first + b.depth]);
	json_object_object_add(o, "samples", json_object_new_int64((int64_t)b.samples));
	json_object_object_add(o, "of_samples", json_object_new_int64((int64_t)b.kept));
	stack = json_object_new_array();
	for (uint32_t k = 0; k <= b.depth; k++)
		json_object_array_add(stack, frame_json(p, &p->frames[b.row->first + k]));
	json_object_object_add(o, "stack", stack);
	return o;
}

json_object *profiles__json(const struct rtp_profiles *p)
{
	json_object *o = json_object_new_object(), *procs = json_object_new_array(), *kinds[RTP_PROF_KINDS], *blocks;

	json_object_object_add(o, "sample_hz", json_object_new_int64(p->sample_hz));
	json_object_object_add(o, "drops", json_object_new_int64((int64_t)p->drops));
	for (size_t i = 0; i < p->n_procs; i++) {
		const struct rtp_prof_proc *pp = &p->procs[i];
		json_object *e = json_object_new_object();

		json_object_object_add(e, "pid", json_object_new_int(pp->pid));
		json_object_object_add(e, "method", text_or_null(pp->method));
		json_object_object_add(e, "unavailable", text_or_null(pp->unavailable));
		json_object_object_add(e, "samples", json_object_new_int64((int64_t)pp->samples));
		json_object_object_add(e, "no_python", json_object_new_int64((int64_t)pp->no_python));
		json_object_object_add(e, "unresolved_frames", json_object_new_int64((int64_t)pp->unresolved));
		json_object_array_add(procs, e);
	}
	json_object_object_add(o, "processes", procs);
	json_object_object_add(o, "loop_threshold_ns", json_object_new_int64((int64_t)p->loop_threshold_ns));
	blocks = json_object_new_array();
	for (size_t i = 0; i < p->n_blocks; i++) {
		const struct rtp_prof_block *b = &p->blocks[i];
		json_object *e = json_object_new_object();

		json_object_object_add(e, "pid", json_object_new_int(b->pid));
		json_object_object_add(e, "tid", json_object_new_int(b->tid));
		json_object_object_add(e, "start_ns", json_object_new_int64((int64_t)b->start_ns));
		json_object_object_add(e, "busy_ns", json_object_new_int64((int64_t)b->dur_ns));
		json_object_object_add(e, "samples", json_object_new_int64((int64_t)b->samples));
		json_object_object_add(e, "longest", json_object_new_boolean(b->longest));
		json_object_object_add(e, "blocked_by", blame_json(p, i));
		json_object_array_add(blocks, e);
	}
	json_object_object_add(o, "loop_blocks", blocks);
	for (unsigned int k = 0; k < RTP_PROF_KINDS; k++)
		kinds[k] = json_object_new_array();
	for (size_t i = 0; i < p->n_rows; i++) {
		const struct rtp_prof_row *r = &p->rows[i];
		json_object *e, *stack;

		if (r->kind >= RTP_PROF_KINDS)
			continue;
		e = json_object_new_object();
		stack = json_object_new_array();
		json_object_object_add(e, "pid", json_object_new_int(r->pid));
		json_object_object_add(e, "tid", json_object_new_int(r->tid));
		if (r->kind == RTP_PROF_SYSCALL) {
			json_object_object_add(e, "syscall", fields__json_text(r->syscall));
			json_object_object_add(e, "calls", json_object_new_int64((int64_t)r->samples));
			json_object_object_add(e, "errors", json_object_new_int64((int64_t)r->errors));
		} else {
			json_object_object_add(e, "samples", json_object_new_int64((int64_t)r->samples));
		}
		if (r->kind == RTP_PROF_LOOP)
			json_object_object_add(e, "block", json_object_new_int64(r->arg));
		json_object_object_add(e, "ns", json_object_new_int64((int64_t)r->ns));
		/* syscalls, and off-CPU time in them: fast ones sampled, standing for RTP_PY_SYS_EVERY */
		if (r->kind != RTP_PROF_CPU && r->kind != RTP_PROF_LOOP)
			json_object_object_add(e, "exact", json_object_new_boolean(!(r->arg & RTP_PROF_SAMPLED)));
		if (r->kind == RTP_PROF_OFFCPU)
			json_object_object_add(e, "state", json_object_new_string(profiles__state_name(r->arg)));
		json_object_object_add(e, "truncated", json_object_new_boolean(r->flags & RTP_STACK_TRUNCATED));
		json_object_object_add(e, "in_kernel", json_object_new_boolean(r->flags & RTP_STACK_KERNEL));
		json_object_object_add(e, "partial", json_object_new_boolean(r->flags & RTP_STACK_BAD_READ));
		for (uint32_t k = 0; k < r->n; k++)
			json_object_array_add(stack, frame_json(p, &p->frames[r->first + k]));
		json_object_object_add(e, "stack", stack);
		json_object_array_add(kinds[r->kind], e);
	}
	for (unsigned int k = 0; k < RTP_PROF_KINDS; k++)
		json_object_object_add(o, kind_names[k], kinds[k]);
	return o;
}

static const char *get_str(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : "";
}

static int64_t get_int(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

struct rtp_profiles *profiles__from_json(json_object *o, int *err)
{
	struct rtp_profiles *p;
	json_object *a;

	*err = 0;
	if (!o || !json_object_is_type(o, json_type_object))
		return NULL;
	p = profiles__new((unsigned int)get_int(o, "sample_hz"));
	if (!p)
		goto nomem;
	p->drops = (uint64_t)get_int(o, "drops");
	if (json_object_object_get_ex(o, "processes", &a) && json_object_is_type(a, json_type_array)) {
		size_t n = json_object_array_length(a);

		p->procs = calloc(n ? n : 1, sizeof(*p->procs));
		if (!p->procs)
			goto nomem;
		for (size_t i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(a, i);
			struct rtp_prof_proc *pp = &p->procs[p->n_procs];

			if (!json_object_is_type(e, json_type_object))
				continue;
			pp->pid = (pid_t)get_int(e, "pid");
			snprintf(pp->method, sizeof(pp->method), "%s", get_str(e, "method"));
			snprintf(pp->unavailable, sizeof(pp->unavailable), "%s", get_str(e, "unavailable"));
			pp->samples = (uint64_t)get_int(e, "samples");
			pp->no_python = (uint64_t)get_int(e, "no_python");
			pp->unresolved = (uint64_t)get_int(e, "unresolved_frames");
			p->n_procs++;
		}
	}
	p->loop_threshold_ns = (uint64_t)get_int(o, "loop_threshold_ns");
	if (json_object_object_get_ex(o, "loop_blocks", &a) && json_object_is_type(a, json_type_array)) {
		for (size_t i = 0, n = json_object_array_length(a); i < n; i++) {
			json_object *e = json_object_array_get_idx(a, i);
			struct rtp_prof_block b = { 0 };

			if (!json_object_is_type(e, json_type_object))
				continue; /* its rows go with it: their index is past the table, or another's */
			b.pid = (pid_t)get_int(e, "pid");
			b.tid = (pid_t)get_int(e, "tid");
			b.start_ns = (uint64_t)get_int(e, "start_ns");
			b.dur_ns = (uint64_t)get_int(e, "busy_ns");
			b.samples = (uint64_t)get_int(e, "samples");
			b.longest = json_object_get_boolean(json_object_object_get(e, "longest"));
			if (profiles__block(p, &b) < 0)
				goto nomem;
		}
	}
	for (unsigned int k = 0; k < RTP_PROF_KINDS; k++) {
		size_t n;

		if (!json_object_object_get_ex(o, kind_names[k], &a) || !json_object_is_type(a, json_type_array))
			continue;
		n = json_object_array_length(a);
		for (size_t i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(a, i), *stack;
			struct rtp_prof_row row = { .kind = k };
			struct rtp_prof_frame fr[RTP_PY_MAX_FRAMES + 4];
			uint32_t nf = 0;

			if (!json_object_is_type(e, json_type_object))
				continue;
			row.pid = (pid_t)get_int(e, "pid");
			row.tid = (pid_t)get_int(e, "tid");
			row.samples = (uint64_t)get_int(e, k == RTP_PROF_SYSCALL ? "calls" : "samples");
			if (k == RTP_PROF_SYSCALL) {
				row.errors = (uint64_t)get_int(e, "errors");
				snprintf(row.syscall, sizeof(row.syscall), "%s", get_str(e, "syscall"));
			}
			if (k == RTP_PROF_LOOP) {
				int64_t b = get_int(e, "block");

				if (b < 0 || (uint64_t)b >= p->n_blocks)
					continue;
				row.arg = (unsigned int)b;
			}
			row.ns = (uint64_t)get_int(e, "ns");
			for (unsigned int s = 0; s < sizeof(state_names) / sizeof(state_names[0]); s++)
				if (k == RTP_PROF_OFFCPU && !strcmp(get_str(e, "state"), state_names[s]))
					row.arg = s;
			if (k != RTP_PROF_CPU && k != RTP_PROF_LOOP) {
				json_object *x;

				if (json_object_object_get_ex(e, "exact", &x) && !json_object_get_boolean(x))
					row.arg |= RTP_PROF_SAMPLED;
			}
			if (json_object_get_boolean(json_object_object_get(e, "truncated")))
				row.flags |= RTP_STACK_TRUNCATED;
			if (json_object_get_boolean(json_object_object_get(e, "in_kernel")))
				row.flags |= RTP_STACK_KERNEL;
			if (json_object_get_boolean(json_object_object_get(e, "partial")))
				row.flags |= RTP_STACK_BAD_READ;
			if (json_object_object_get_ex(e, "stack", &stack) && json_object_is_type(stack, json_type_array)) {
				size_t m = json_object_array_length(stack);

				for (size_t j = 0; j < m && nf < sizeof(fr) / sizeof(fr[0]); j++) {
					json_object *f = json_object_array_get_idx(stack, j);
					int64_t fn;

					if (!json_object_is_type(f, json_type_object))
						continue;
					fn = profiles__func(p, get_str(f, "function"), get_str(f, "file"),
							    (int)get_int(f, "first_line"));
					if (fn < 0)
						goto nomem;
					fr[nf].func = (uint32_t)fn;
					fr[nf++].line = (int)get_int(f, "line");
				}
			}
			if (profiles__add(p, &row, fr, nf))
				goto nomem;
		}
	}
	profiles__finish(p);
	return p;
nomem:
	profiles__free(p);
	*err = -ENOMEM;
	return NULL;
}

/* ---- the compact form ---- */

/* One stack of the table: a run of frames, found again by content. */
struct stack_ref {
	uint32_t first, n;
	uint32_t index; /* in the table */
};

static bool same_frames(const struct rtp_prof_frame *a, const struct rtp_prof_frame *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (a[i].func != b[i].func || a[i].line != b[i].line)
			return false;
	return true;
}

json_object *profiles__trace_json(const struct rtp_profiles *p)
{
	json_object *o = json_object_new_object(), *funcs = json_object_new_array(), *stacks = json_object_new_array(),
		    *rows = json_object_new_array(), *procs = profiles__json(p), *v;
	struct stack_ref *refs = calloc(p->n_rows ? p->n_rows : 1, sizeof(*refs));
	size_t n_refs = 0;

	/* the processes' entries as the report has them */
	if (json_object_object_get_ex(procs, "processes", &v))
		json_object_object_add(o, "processes", json_object_get(v));
	if (json_object_object_get_ex(procs, "loop_blocks", &v))
		json_object_object_add(o, "loop_blocks", json_object_get(v));
	json_object_object_add(o, "loop_threshold_ns", json_object_new_int64((int64_t)p->loop_threshold_ns));
	json_object_put(procs);
	json_object_object_add(o, "sample_hz", json_object_new_int64(p->sample_hz));
	json_object_object_add(o, "drops", json_object_new_int64((int64_t)p->drops));
	for (size_t i = 0; i < p->n_funcs; i++) {
		json_object *f = json_object_new_array();

		json_object_array_add(f, fields__json_text(p->funcs[i].name));
		json_object_array_add(f, fields__json_text(p->funcs[i].file));
		json_object_array_add(f, json_object_new_int(p->funcs[i].firstline));
		json_object_array_add(funcs, f);
	}
	for (size_t i = 0; i < p->n_rows && refs; i++) {
		const struct rtp_prof_row *r = &p->rows[i];
		const struct rtp_prof_frame *fr = p->frames + r->first;
		json_object *row = json_object_new_array();
		size_t k;

		for (k = 0; k < n_refs; k++)
			if (refs[k].n == r->n && same_frames(p->frames + refs[k].first, fr, r->n))
				break;
		if (k == n_refs) {
			json_object *s = json_object_new_array();

			for (uint32_t j = 0; j < r->n; j++) {
				json_object_array_add(s, json_object_new_int((int32_t)fr[j].func));
				json_object_array_add(s, json_object_new_int(fr[j].line));
			}
			json_object_array_add(stacks, s);
			refs[n_refs++] = (struct stack_ref){ .first = r->first, .n = r->n, .index = (uint32_t)k };
		}
		json_object_array_add(row, json_object_new_int((int32_t)r->kind));
		json_object_array_add(row, json_object_new_int((int32_t)r->arg));
		json_object_array_add(row, json_object_new_int(r->pid));
		json_object_array_add(row, json_object_new_int(r->tid));
		json_object_array_add(row, json_object_new_int64((int64_t)r->samples));
		json_object_array_add(row, json_object_new_int64((int64_t)r->ns));
		json_object_array_add(row, json_object_new_int((int32_t)r->flags));
		json_object_array_add(row, json_object_new_int((int32_t)k));
		json_object_array_add(row, json_object_new_int64((int64_t)r->errors));
		json_object_array_add(row, fields__json_text(r->syscall));
		json_object_array_add(rows, row);
	}
	free(refs);
	json_object_object_add(o, "functions", funcs);
	json_object_object_add(o, "stacks", stacks);
	json_object_object_add(o, "rows", rows);
	return o;
}

static json_object *array_at(json_object *a, size_t i)
{
	json_object *v = json_object_array_get_idx(a, i);

	return v && json_object_is_type(v, json_type_array) ? v : NULL;
}

static int64_t int_at(json_object *a, size_t i)
{
	json_object *v = json_object_array_get_idx(a, i);

	return v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
}

static const char *str_at(json_object *a, size_t i)
{
	json_object *v = json_object_array_get_idx(a, i);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
}

struct rtp_profiles *profiles__from_trace_json(json_object *o, int *err)
{
	json_object *funcs, *stacks, *rows, *procs;
	struct rtp_profiles *p = NULL;
	uint32_t *fmap = NULL;
	size_t nf;

	*err = 0;
	if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "functions", &funcs) ||
	    !json_object_object_get_ex(o, "stacks", &stacks) || !json_object_object_get_ex(o, "rows", &rows) ||
	    !json_object_is_type(funcs, json_type_array) || !json_object_is_type(stacks, json_type_array) ||
	    !json_object_is_type(rows, json_type_array))
		return NULL;
	/* the processes and the scalars the report's way; the rows below */
	procs = json_object_new_object();
	if (!procs)
		goto nomem;
	json_object_object_add(procs, "sample_hz", json_object_get(json_object_object_get(o, "sample_hz")));
	json_object_object_add(procs, "drops", json_object_get(json_object_object_get(o, "drops")));
	json_object_object_add(procs, "processes", json_object_get(json_object_object_get(o, "processes")));
	json_object_object_add(procs, "loop_blocks", json_object_get(json_object_object_get(o, "loop_blocks")));
	json_object_object_add(procs, "loop_threshold_ns",
			       json_object_get(json_object_object_get(o, "loop_threshold_ns")));
	p = profiles__from_json(procs, err);
	json_object_put(procs);
	if (!p)
		return NULL;
	nf = json_object_array_length(funcs);
	fmap = calloc(nf ? nf : 1, sizeof(*fmap));
	if (!fmap)
		goto nomem;
	for (size_t i = 0; i < nf; i++) {
		json_object *f = array_at(funcs, i);
		int64_t k = profiles__func(p, f ? str_at(f, 0) : "?", f ? str_at(f, 1) : "",
					   f ? (int)int_at(f, 2) : 0);

		if (k < 0)
			goto nomem;
		fmap[i] = (uint32_t)k;
	}
	for (size_t i = 0, n = json_object_array_length(rows); i < n; i++) {
		json_object *r = array_at(rows, i), *s;
		struct rtp_prof_frame fr[RTP_PY_MAX_FRAMES + 4];
		struct rtp_prof_row row;
		uint32_t nfr = 0;
		size_t m;
		bool bad = false;

		if (!r || json_object_array_length(r) < 8)
			continue;
		row = (struct rtp_prof_row){
			.kind = (unsigned int)int_at(r, 0), .arg = (unsigned int)int_at(r, 1), .pid = (pid_t)int_at(r, 2),
			.tid = (pid_t)int_at(r, 3), .samples = (uint64_t)int_at(r, 4), .ns = (uint64_t)int_at(r, 5),
			.flags = (uint32_t)int_at(r, 6),
		};
		if (json_object_array_length(r) >= 10) {
			row.errors = (uint64_t)int_at(r, 8);
			snprintf(row.syscall, sizeof(row.syscall), "%s", str_at(r, 9));
		}
		s = int_at(r, 7) >= 0 ? array_at(stacks, (size_t)int_at(r, 7)) : NULL;
		if (!s || row.kind >= RTP_PROF_KINDS || (row.kind == RTP_PROF_LOOP && row.arg >= p->n_blocks))
			continue;
		m = json_object_array_length(s) / 2;
		for (size_t j = 0; j < m && nfr < sizeof(fr) / sizeof(fr[0]); j++) {
			int64_t f = int_at(s, 2 * j);

			if (f < 0 || (size_t)f >= nf) {
				bad = true;
				break;
			}
			fr[nfr].func = fmap[f];
			fr[nfr++].line = (int)int_at(s, 2 * j + 1);
		}
		if (!bad && profiles__add(p, &row, fr, nfr))
			goto nomem;
	}
	free(fmap);
	profiles__finish(p);
	return p;
nomem:
	free(fmap);
	profiles__free(p);
	*err = -ENOMEM;
	return NULL;
}
