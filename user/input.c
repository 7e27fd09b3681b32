// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Inputs: trace files and QEMU logs merged in time order, one clock domain
 * each (input.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "input.h"
#include "prom_tl.h"
#include "qemulog.h"
#include "timeline.h"
#include "tracefile.h"
#include "util.h"

struct in_file {
	const char *path;
	struct tf_reader *r;   /* a migscope trace file, or */
	struct qlog_reader *q; /* a QEMU log-backend trace */
	size_t base;	       /* its first input */
	size_t ninputs;	       /* inputs it holds (a merged file: several) */
	union ms_rec rec;
	bool have; /* rec holds the next record */
	bool done;
	bool failed;
	char err[512];
};

struct in_one {
	size_t file;
	uint16_t clock;
	int64_t shift; /* added to the timestamps */
	int64_t prior; /* already in them (merge) */
	char host[64];
	char boot_id[40];
};

struct in_set {
	struct in_opts opts;
	size_t nfiles, n;
	struct in_file f[IN_MAX];
	struct in_one in[IN_MAX];
	uint64_t lost;
	char errs[1024];
};

static void advance(struct in_set *s, struct in_file *f)
{
	int r = f->q ? qlog_read(f->q, &f->rec) : tf_read(f->r, &f->rec);

	f->have = r > 0;
	if (r <= 0)
		f->done = true;
	if (r < 0)
		f->failed = true;
	if (!f->have)
		return;
	/* inputs inside a merged file keep their index relative to the file */
	{
		size_t i = f->base + (f->rec.h.input < f->ninputs ? f->rec.h.input : 0);

		f->rec.h.input = (uint16_t)i;
		f->rec.h.ts = (uint64_t)((int64_t)f->rec.h.ts + s->in[i].shift);
	}
}

static int open_file(struct in_set *s, struct in_file *f, char *err, size_t errlen)
{
	struct qlog_opts qo = {.vm = s->opts.vm, .uuid = s->opts.uuid};

	if (!tf_is_trace_file(f->path) && qlog_is_log(f->path)) {
		f->q = qlog_open(f->path, &qo, err, errlen);
		return f->q ? 0 : -1;
	}
	f->r = tf_reader_open(f->path, err, errlen);
	return f->r ? 0 : -1;
}

/* Clock ids: one per boot (and per offset already applied, for a merged
 * file's inputs), one per log. */
static uint16_t clock_for(struct in_set *s, size_t i)
{
	struct in_one *o = &s->in[i];

	if (o->boot_id[0])
		for (size_t j = 0; j < i; j++)
			if (!strcmp(s->in[j].boot_id, o->boot_id) && s->in[j].prior == o->prior)
				return s->in[j].clock;
	uint16_t c = 0;

	for (size_t j = 0; j < i; j++)
		if (s->in[j].clock + 1u > c)
			c = (uint16_t)(s->in[j].clock + 1);
	return c;
}

/* realtime minus the input's own clock */
static int64_t real_minus_own(const struct in_set *s, size_t i)
{
	const struct in_file *f = &s->f[s->in[i].file];
	const struct tf_meta *m;

	if (f->q)
		return 0; /* QEMU logs are stamped with the wall clock */
	m = tf_reader_meta(f->r);
	if (!m->mono_ns && !m->real_ns)
		return 0;
	return (int64_t)(m->real_ns - m->mono_ns);
}

static void setup_inputs(struct in_set *s)
{
	s->n = 0;
	for (size_t k = 0; k < s->nfiles; k++) {
		struct in_file *f = &s->f[k];
		const struct tf_input *ti = NULL;
		size_t nt = f->r ? tf_reader_inputs(f->r, &ti) : 0;

		f->base = s->n;
		f->ninputs = nt ? nt : 1;
		for (size_t j = 0; j < f->ninputs && s->n < IN_MAX; j++) {
			struct in_one *o = &s->in[s->n++];

			memset(o, 0, sizeof(*o));
			o->file = k;
			if (nt) {
				/* a merged file: its inputs, with the offset merge applied */
				ms_strlcpy(o->host, ti[j].host, sizeof(o->host));
				ms_strlcpy(o->boot_id, ti[j].boot_id, sizeof(o->boot_id));
				o->prior = ti[j].offset_ns;
			} else if (f->r) {
				ms_strlcpy(o->host, tf_reader_meta(f->r)->host, sizeof(o->host));
				ms_strlcpy(o->boot_id, tf_reader_meta(f->r)->boot_id,
					   sizeof(o->boot_id));
			} else if (f->q) {
				/* a libvirt log names its host */
				ms_strlcpy(o->host, qlog_host(f->q), sizeof(o->host));
			}
		}
		if (f->base + f->ninputs > s->n)
			f->ninputs = s->n - f->base;
	}
	for (size_t i = 0; i < s->n; i++)
		s->in[i].clock = clock_for(s, i);
	for (size_t i = 0; i < s->n; i++) {
		if (s->in[i].clock == s->in[0].clock)
			s->in[i].shift = 0;
		else
			s->in[i].shift = real_minus_own(s, i) - real_minus_own(s, 0);
	}
}

struct in_set *in_open(char *const *paths, size_t n, const struct in_opts *o, char *err,
		       size_t errlen)
{
	struct in_set *s;

	if (!n || n > IN_MAX) {
		snprintf(err, errlen, "between 1 and %d inputs", IN_MAX);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (o)
		s->opts = *o;
	s->nfiles = n;
	for (size_t k = 0; k < n; k++) {
		s->f[k].path = paths[k];
		if (open_file(s, &s->f[k], err, errlen)) {
			in_close(s);
			return NULL;
		}
	}
	setup_inputs(s);
	for (size_t k = 0; k < n; k++)
		advance(s, &s->f[k]);
	return s;
}

int in_rewind(struct in_set *s, char *err, size_t errlen)
{
	for (size_t k = 0; k < s->nfiles; k++) {
		struct in_file *f = &s->f[k];

		tf_reader_close(f->r);
		qlog_close(f->q);
		f->r = NULL;
		f->q = NULL;
		f->have = f->done = f->failed = false;
		if (open_file(s, f, err, errlen))
			return -1;
	}
	s->lost = 0;
	s->errs[0] = '\0';
	for (size_t k = 0; k < s->nfiles; k++)
		advance(s, &s->f[k]);
	return 0;
}

void in_close(struct in_set *s)
{
	if (!s)
		return;
	for (size_t k = 0; k < s->nfiles; k++) {
		tf_reader_close(s->f[k].r);
		qlog_close(s->f[k].q);
	}
	free(s);
}

void in_setup_tl(const struct in_set *s, struct tl *tl)
{
	for (size_t i = 0; i < s->n; i++) {
		struct tl_input ti = {
		    .clock = s->in[i].clock,
		    .shift_ns = s->in[i].shift + s->in[i].prior,
		    .host = s->in[i].host,
		};

		tl_set_input(tl, (uint16_t)i, &ti);
	}
}

int in_next(struct in_set *s, union ms_rec *out)
{
	struct in_file *best = NULL;

	for (size_t k = 0; k < s->nfiles; k++)
		if (s->f[k].have && (!best || s->f[k].rec.h.ts < best->rec.h.ts))
			best = &s->f[k];
	if (!best) {
		/* the end: collect what stopped early */
		s->errs[0] = '\0';
		for (size_t k = 0; k < s->nfiles; k++) {
			size_t len = strlen(s->errs);

			if (!s->f[k].failed)
				continue;
			snprintf(s->errs + len, sizeof(s->errs) - len, "%s%s", len ? "; " : "",
				 s->f[k].q ? qlog_error(s->f[k].q) : tf_reader_error(s->f[k].r));
		}
		return 0;
	}
	*out = best->rec;
	if (out->h.kind == MS_EV_LOST)
		s->lost += out->lost.count;
	advance(s, best);
	return 1;
}

size_t in_count(const struct in_set *s)
{
	return s->n;
}

size_t in_files(const struct in_set *s)
{
	return s->nfiles;
}

size_t in_file_of(const struct in_set *s, size_t i)
{
	return s->in[i].file;
}

const char *in_path(const struct in_set *s, size_t file)
{
	return s->f[file].path;
}

size_t in_sources(const struct in_set *s, struct prom_tl_source *out, size_t max)
{
	size_t n = 0;

	for (size_t f = 0; f < in_files(s) && n < max; f++)
		out[n++] = (struct prom_tl_source){"file", in_path(s, f)};
	return n;
}

bool in_is_log(const struct in_set *s, size_t file)
{
	return s->f[file].q != NULL;
}

const char *in_host(const struct in_set *s, size_t i)
{
	return s->in[i].host;
}

const char *in_boot_id(const struct in_set *s, size_t i)
{
	return s->in[i].boot_id;
}

uint16_t in_clock(const struct in_set *s, size_t i)
{
	return s->in[i].clock;
}

int64_t in_shift(const struct in_set *s, size_t i)
{
	return s->in[i].shift;
}

void in_set_shift(struct in_set *s, size_t i, int64_t shift_ns)
{
	struct in_file *f = &s->f[s->in[i].file];

	/* the record read ahead already carries the old shift */
	if (f->have && f->rec.h.input == i)
		f->rec.h.ts = (uint64_t)((int64_t)f->rec.h.ts - s->in[i].shift + shift_ns);
	s->in[i].shift = shift_ns;
}

int64_t in_prior_offset(const struct in_set *s, size_t i)
{
	return s->in[i].prior;
}

bool in_clock_pair(const struct in_set *s, size_t file, uint64_t *mono, uint64_t *real)
{
	const struct tf_meta *m;

	if (!s->f[file].r)
		return false;
	m = tf_reader_meta(s->f[file].r);
	*mono = m->mono_ns;
	*real = m->real_ns;
	return true;
}

bool in_unix_clock(const struct in_set *s, uint64_t *mono, uint64_t *real)
{
	if (!in_single_clock(s))
		return false;
	if (!in_clock_pair(s, 0, mono, real))
		*mono = *real = 0;
	return true;
}

bool in_single_clock(const struct in_set *s)
{
	for (size_t i = 1; i < s->n; i++)
		if (s->in[i].clock != s->in[0].clock)
			return false;
	return true;
}

const char *in_error(const struct in_set *s)
{
	return s->errs;
}

uint64_t in_lost(const struct in_set *s)
{
	return s->lost;
}

void in_log_counts(const struct in_set *s, struct in_log_counts *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t k = 0; k < s->nfiles; k++) {
		struct qlog_stats st;

		if (!s->f[k].q)
			continue;
		qlog_stats(s->f[k].q, &st);
		c->skipped += qlog_skipped(&st);
		c->unknown += st.unknown_events;
		c->malformed += st.malformed;
		c->no_timestamp += st.no_timestamp;
	}
}
