// SPDX-License-Identifier: LGPL-2.1-or-later
/* Stack profiles as pprof profiles (model/pprof.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "model/pprof.h"
#include "profile.pb-c.h"

typedef Perftools__Profiles__Profile Profile;
typedef Perftools__Profiles__ValueType ValueType;
typedef Perftools__Profiles__Sample Sample;
typedef Perftools__Profiles__Label Label;
typedef Perftools__Profiles__Location Location;
typedef Perftools__Profiles__Line Line;
typedef Perftools__Profiles__Function Function;

/* The string table: strings once, by index ([0] is ""), found again through an open-addressing index. */
struct strtab {
	char **s;
	size_t n, cap;
	uint32_t *slots; /* index + 1; 0 empty */
	size_t n_slots;  /* a power of two, at least twice n */
};

static uint64_t fnv(const void *p, size_t len)
{
	const unsigned char *b = p;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static int64_t str_index(struct strtab *t, const char *s)
{
	size_t j;

	if ((t->n + 1) * 2 > t->n_slots) {
		size_t n_slots = t->n_slots ? t->n_slots * 2 : 256;
		uint32_t *slots = calloc(n_slots, sizeof(*slots));

		if (!slots)
			return -1;
		for (size_t i = 0; i < t->n; i++) {
			for (j = fnv(t->s[i], strlen(t->s[i])) & (n_slots - 1); slots[j]; j = (j + 1) & (n_slots - 1))
				;
			slots[j] = (uint32_t)i + 1;
		}
		free(t->slots);
		t->slots = slots;
		t->n_slots = n_slots;
	}
	for (j = fnv(s, strlen(s)) & (t->n_slots - 1); t->slots[j]; j = (j + 1) & (t->n_slots - 1))
		if (!strcmp(t->s[t->slots[j] - 1], s))
			return (int64_t)t->slots[j] - 1;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		char **n = realloc(t->s, cap * sizeof(*n));

		if (!n)
			return -1;
		t->s = n;
		t->cap = cap;
	}
	if (!(t->s[t->n] = strdup(s)))
		return -1;
	t->slots[j] = (uint32_t)t->n + 1;
	return (int64_t)t->n++;
}

int pprof__gzip(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
	z_stream z = { 0 };
	uLong bound;
	uint8_t *buf;
	int zr;

	*out = NULL;
	*out_len = 0;
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	bound = deflateBound(&z, (uLong)len) + 64;
	buf = malloc(bound);
	if (!buf) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = buf;
	z.avail_out = (uInt)bound;
	zr = deflate(&z, Z_FINISH);
	*out_len = bound - z.avail_out;
	deflateEnd(&z);
	if (zr != Z_STREAM_END) {
		free(buf);
		return -EIO;
	}
	*out = buf;
	return 0;
}

static const char *name_or(const char *s)
{
	return s && s[0] ? s : "?";
}

static const char *const value_names[RTP_PROF_KINDS][2] = {
	[RTP_PROF_CPU] = { "samples", "cpu" },
	[RTP_PROF_OFFCPU] = { "intervals", "off_cpu" },
	[RTP_PROF_GIL] = { "waits", "gil_wait" },
	[RTP_PROF_SYSCALL] = { "calls", "syscall" },
	[RTP_PROF_LOOP] = { "samples", "cpu" },
};

int pprof__encode(const struct rtp_profiles *p, unsigned int kind, const char *sc, const struct pprof_names *names,
		  int64_t time_ns, int64_t duration_ns, uint8_t **out_buf, size_t *out_len)
{
	Profile prof = PERFTOOLS__PROFILES__PROFILE__INIT;
	ValueType types[2] = { PERFTOOLS__PROFILES__VALUE_TYPE__INIT, PERFTOOLS__PROFILES__VALUE_TYPE__INIT };
	ValueType period = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	ValueType *type_ptrs[2] = { &types[0], &types[1] };
	struct strtab st = { 0 };
	Function *funcs = NULL, **func_ptrs = NULL;
	Location *locs = NULL, **loc_ptrs = NULL;
	Line *lines = NULL, **line_ptrs = NULL;
	Sample *samples = NULL, **sample_ptrs = NULL;
	Label *labels = NULL, **label_ptrs = NULL;
	uint64_t *loc_ids = NULL;
	uint32_t *loc_slots = NULL; /* (function, line) -> location index + 1, open addressing */
	size_t n_loc_slots = 1;
	int64_t *values = NULL;
	size_t n_locs = 0, n_samples = 0, n_ids = 0, n_frames = 0, n_labels = 0;
	uint8_t *buf = NULL;
	int r = -ENOMEM;

	*out_buf = NULL;
	*out_len = 0;
	if (kind >= RTP_PROF_KINDS)
		return -EINVAL;
	for (size_t i = 0; i < p->n_rows; i++)
		n_frames += p->rows[i].n;
	if (str_index(&st, "") < 0)
		goto out;
	funcs = calloc(p->n_funcs + 1, sizeof(*funcs));
	func_ptrs = calloc(p->n_funcs + 1, sizeof(*func_ptrs));
	/* a location per (function, line) used: at most one per frame */
	locs = calloc(n_frames + 1, sizeof(*locs));
	loc_ptrs = calloc(n_frames + 1, sizeof(*loc_ptrs));
	lines = calloc(n_frames + 1, sizeof(*lines));
	line_ptrs = calloc(n_frames + 1, sizeof(*line_ptrs));
	samples = calloc(p->n_rows + 1, sizeof(*samples));
	sample_ptrs = calloc(p->n_rows + 1, sizeof(*sample_ptrs));
	labels = calloc(6 * p->n_rows + 1, sizeof(*labels));
	label_ptrs = calloc(6 * p->n_rows + 1, sizeof(*label_ptrs));
	loc_ids = calloc(n_frames + 1, sizeof(*loc_ids));
	while (n_loc_slots < 2 * (n_frames + 1))
		n_loc_slots *= 2;
	loc_slots = calloc(n_loc_slots, sizeof(*loc_slots));
	values = calloc(2 * p->n_rows + 1, sizeof(*values));
	if (!funcs || !func_ptrs || !locs || !loc_ptrs || !lines || !line_ptrs || !samples || !sample_ptrs || !labels ||
	    !label_ptrs || !loc_ids || !values || !loc_slots)
		goto out;
	for (size_t i = 0; i < p->n_funcs; i++) {
		Function *f = &funcs[i];
		int64_t name = str_index(&st, p->funcs[i].name), file = str_index(&st, p->funcs[i].file);

		if (name < 0 || file < 0)
			goto out;
		perftools__profiles__function__init(f);
		f->id = i + 1;
		f->name = f->system_name = name;
		f->filename = file;
		f->start_line = p->funcs[i].firstline;
		func_ptrs[i] = f;
	}
	for (size_t i = 0; i < p->n_rows; i++) {
		const struct rtp_prof_row *row = &p->rows[i];
		Sample *s = &samples[n_samples];
		size_t first_label = n_labels;
		struct {
			const char *key;
			const char *str;
			int64_t num;
		} lab[5] = {
			{ "pid", NULL, row->pid },
			{ "tid", NULL, row->tid },
			{ "process", name_or(names && names->process ? names->process(names->ctx, row->pid) : NULL), 0 },
			{ "thread", name_or(names && names->thread ? names->thread(names->ctx, row->tid) : NULL), 0 },
			{ kind == RTP_PROF_OFFCPU ? "state" : "syscall",
			  kind == RTP_PROF_OFFCPU ? profiles__state_name(row->arg) : row->syscall, 0 },
		};

		if (!profiles__row_of(row, kind, sc))
			continue;
		perftools__profiles__sample__init(s);
		s->location_id = loc_ids + n_ids;
		/* the leaf first */
		for (uint32_t k = row->n; k-- > 0;) {
			const struct rtp_prof_frame *fr = &p->frames[row->first + k];
			int64_t line = fr->line > 0 ? fr->line : 0;
			uint64_t key[2] = { fr->func + 1, (uint64_t)line };
			size_t j, l;

			for (j = fnv(key, sizeof(key)) & (n_loc_slots - 1); loc_slots[j]; j = (j + 1) & (n_loc_slots - 1))
				if (lines[loc_slots[j] - 1].function_id == key[0] && lines[loc_slots[j] - 1].line == line)
					break;
			l = loc_slots[j] ? loc_slots[j] - 1 : n_locs;
			if (l == n_locs) {
				loc_slots[j] = (uint32_t)n_locs + 1;
				perftools__profiles__location__init(&locs[l]);
				perftools__profiles__line__init(&lines[l]);
				lines[l].function_id = fr->func + 1;
				lines[l].line = line;
				line_ptrs[l] = &lines[l];
				locs[l].id = l + 1;
				locs[l].n_line = 1;
				locs[l].line = &line_ptrs[l];
				loc_ptrs[l] = &locs[l];
				n_locs++;
			}
			loc_ids[n_ids++] = l + 1;
		}
		s->n_location_id = row->n;
		s->value = values + 2 * n_samples;
		s->n_value = 2;
		s->value[0] = (int64_t)row->samples;
		s->value[1] = (int64_t)(kind == RTP_PROF_CPU && p->sample_hz ? row->samples * (1000000000ull / p->sample_hz)
									     : row->ns);
		for (size_t k = 0; k < 5; k++) {
			Label *lb = &labels[n_labels];

			if (k == 4 && kind != RTP_PROF_OFFCPU && kind != RTP_PROF_SYSCALL)
				break;
			perftools__profiles__label__init(lb);
			lb->key = str_index(&st, lab[k].key);
			if (lab[k].str)
				lb->str = str_index(&st, lab[k].str);
			else
				lb->num = lab[k].num;
			if (lb->key < 0 || lb->str < 0)
				goto out;
			label_ptrs[n_labels++] = lb;
		}
		s->label = label_ptrs + first_label;
		s->n_label = n_labels - first_label;
		sample_ptrs[n_samples++] = s;
	}
	types[0].type = str_index(&st, value_names[kind][0]);
	types[0].unit = str_index(&st, "count");
	types[1].type = str_index(&st, value_names[kind][1]);
	types[1].unit = str_index(&st, "nanoseconds");
	prof.n_sample_type = 2;
	prof.sample_type = type_ptrs;
	prof.default_sample_type = types[1].type;
	if (kind == RTP_PROF_CPU && p->sample_hz) {
		period.type = types[1].type;
		period.unit = types[1].unit;
		prof.period_type = &period;
		prof.period = 1000000000ll / p->sample_hz;
	}
	prof.time_nanos = time_ns;
	prof.duration_nanos = duration_ns;
	prof.n_sample = n_samples;
	prof.sample = sample_ptrs;
	prof.n_location = n_locs;
	prof.location = loc_ptrs;
	prof.n_function = p->n_funcs;
	prof.function = func_ptrs;
	prof.n_string_table = st.n;
	prof.string_table = st.s;
	buf = malloc(perftools__profiles__profile__get_packed_size(&prof) + 1);
	if (!buf)
		goto out;
	*out_len = perftools__profiles__profile__pack(&prof, buf);
	*out_buf = buf;
	buf = NULL;
	r = 0;
out:
	free(buf);
	for (size_t i = 0; i < st.n; i++)
		free(st.s[i]);
	free(st.s);
	free(st.slots);
	free(loc_slots);
	free(funcs);
	free(func_ptrs);
	free(locs);
	free(loc_ptrs);
	free(lines);
	free(line_ptrs);
	free(samples);
	free(sample_ptrs);
	free(labels);
	free(label_ptrs);
	free(loc_ids);
	free(values);
	return r;
}

