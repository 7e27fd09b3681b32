// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Prometheus exposition: metric table, series registry, snapshots, text format. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "prom.h"

static const struct prom_def defs[PF_COUNT] = {
#define PROM_X_DEF(id, nm, ty, lf, lb, bk, hl)                                                     \
	[PF_##id] = {                                                                              \
	    .name = nm,                                                                            \
	    .type = PROM_##ty,                                                                     \
	    .life = PROM_##lf,                                                                     \
	    .labels = lb,                                                                          \
	    .bset = PROM_B_##bk,                                                                   \
	    .help = hl,                                                                            \
	},
    PROM_FAMILIES(PROM_X_DEF)
#undef PROM_X_DEF
};

#define MS_NS(x) ((int64_t)((x)*1000000.0 + 0.5))

static const int64_t b_duration[] = {
    MS_NS(1),	 MS_NS(2.5),  MS_NS(5),	    MS_NS(10),	  MS_NS(25),
    MS_NS(50),	 MS_NS(100),  MS_NS(250),   MS_NS(500),	  MS_NS(1000),
    MS_NS(2500), MS_NS(5000), MS_NS(10000), MS_NS(30000), MS_NS(60000),
};
static const int64_t b_scrape[] = {
    MS_NS(0.1), MS_NS(0.25), MS_NS(0.5),  MS_NS(1),    MS_NS(2.5),
    MS_NS(5),	MS_NS(10),   MS_NS(25),	  MS_NS(50),   MS_NS(100),
    MS_NS(250), MS_NS(500),  MS_NS(1000), MS_NS(2500), MS_NS(10000),
};

const struct prom_def *prom_def(enum prom_fam f)
{
	return &defs[f];
}

unsigned int prom_nlabels(enum prom_fam f)
{
	unsigned int n = 0;

	while (defs[f].labels[n])
		n++;
	return n;
}

const int64_t *prom_bounds(enum prom_bset b, unsigned int *n)
{
	switch (b) {
	case PROM_B_DURATION: *n = sizeof(b_duration) / sizeof(b_duration[0]); return b_duration;
	case PROM_B_SCRAPE: *n = sizeof(b_scrape) / sizeof(b_scrape[0]); return b_scrape;
	default: *n = 0; return NULL;
	}
}

/* ------------------------------------------------------------------ */
/* output buffer */

static bool buf_reserve(struct prom_buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->err)
		return false;
	if (b->len + n + 1 <= b->cap)
		return true;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->err = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void prom_buf_put(struct prom_buf *b, const char *s, size_t n)
{
	if (!buf_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void prom_buf_puts(struct prom_buf *b, const char *s)
{
	prom_buf_put(b, s, strlen(s));
}

void prom_buf_printf(struct prom_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = true;
		return;
	}
	if (b->p && b->len + (size_t)n < b->cap) {
		b->len += n;
		return;
	}
	if (!buf_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += n;
}

void prom_buf_free(struct prom_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Length of the valid UTF-8 sequence at s (1..4), 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned int c = s[0];
	size_t n;
	unsigned int cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void prom_buf_label_value(struct prom_buf *b, const char *v)
{
	const unsigned char *s = (const unsigned char *)v;

	while (*s) {
		size_t n = utf8_len(s);

		if (!n) {
			prom_buf_put(b, "\xef\xbf\xbd", 3);
			s++;
		} else if (*s == '\\') {
			prom_buf_put(b, "\\\\", 2);
			s++;
		} else if (*s == '"') {
			prom_buf_put(b, "\\\"", 2);
			s++;
		} else if (*s == '\n') {
			prom_buf_put(b, "\\n", 2);
			s++;
		} else {
			prom_buf_put(b, (const char *)s, n);
			s += n;
		}
	}
}

void prom_fmt_value(char *out, size_t n, double v)
{
	if (isnan(v)) {
		snprintf(out, n, "NaN");
	} else if (isinf(v)) {
		snprintf(out, n, v > 0 ? "+Inf" : "-Inf");
	} else if (v == floor(v) && fabs(v) < 1e15) {
		snprintf(out, n, "%.0f", v);
	} else {
		/* 16 digits matter for unix times in µs (1.7e9 s with 6 decimals) */
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(out, n, "%.*g", prec, v);
			if (strtod(out, NULL) == v)
				break;
		}
	}
}

/* ------------------------------------------------------------------ */
/* registry */

struct prom_series {
	uint32_t owner;
	uint32_t gen;
	uint16_t fam;
	uint16_t nb; /* histogram bounds */
	bool dead;
	double v;
	uint64_t count;
	int64_t sum_ns;
	size_t lablen;
	char *labels; /* rendered: name="value",... without braces; "" for none */
	uint64_t b[]; /* histograms: per-bucket (not cumulative) counts, nb of them */
};

struct family {
	struct prom_series **v;
	size_t n, cap;
	uint32_t *idx; /* open addressing: position + 1, 0 empty; NULL: linear search */
	size_t idx_cap;
};

struct prom_reg {
	struct family fam[PF_COUNT];
	uint32_t gen;
	struct prom_buf key; /* scratch for the label string */
};

static uint64_t hash_str(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static void idx_put(struct family *f, size_t pos)
{
	struct prom_series *s = f->v[pos];
	size_t h = hash_str(s->labels, s->lablen) & (f->idx_cap - 1);

	while (f->idx[h])
		h = (h + 1) & (f->idx_cap - 1);
	f->idx[h] = (uint32_t)pos + 1;
}

/* Index f->v[0..n) in a table of at least cap slots (a power of 2), at most
 * half full. Without memory the index is dropped: lookups go linear. */
static void idx_rebuild(struct family *f, size_t cap)
{
	while (cap < f->n * 2 || cap < 32)
		cap *= 2;
	free(f->idx);
	f->idx = calloc(cap, sizeof(*f->idx));
	f->idx_cap = f->idx ? cap : 0;
	if (!f->idx)
		return;
	for (size_t i = 0; i < f->n; i++)
		idx_put(f, i);
}

struct prom_reg *prom_reg_new(void)
{
	return calloc(1, sizeof(struct prom_reg));
}

void prom_reg_free(struct prom_reg *r)
{
	if (!r)
		return;
	for (int i = 0; i < PF_COUNT; i++) {
		for (size_t k = 0; k < r->fam[i].n; k++)
			free(r->fam[i].v[k]);
		free(r->fam[i].v);
		free(r->fam[i].idx);
	}
	prom_buf_free(&r->key);
	free(r);
}

void prom_reg_begin(struct prom_reg *r)
{
	r->gen++;
}

static void compact(struct family *f)
{
	size_t k = 0;

	for (size_t i = 0; i < f->n; i++) {
		if (f->v[i]->dead)
			free(f->v[i]);
		else
			f->v[k++] = f->v[i];
	}
	if (k == f->n)
		return;
	f->n = k;
	idx_rebuild(f, 32);
}

void prom_reg_sweep(struct prom_reg *r)
{
	for (int i = 0; i < PF_COUNT; i++) {
		struct family *f = &r->fam[i];
		bool any = false;

		if (defs[i].life != PROM_NOW)
			continue;
		for (size_t k = 0; k < f->n; k++)
			if (f->v[k]->gen != r->gen)
				f->v[k]->dead = any = true;
		if (any)
			compact(f);
	}
}

void prom_reg_drop(struct prom_reg *r, bool (*dead)(uint32_t owner, void *arg), void *arg)
{
	for (int i = 0; i < PF_COUNT; i++) {
		struct family *f = &r->fam[i];
		bool any = false;

		for (size_t k = 0; k < f->n; k++)
			if (f->v[k]->owner && dead(f->v[k]->owner, arg))
				f->v[k]->dead = any = true;
		if (any)
			compact(f);
	}
}

size_t prom_reg_nseries(const struct prom_reg *r)
{
	size_t n = 0;

	for (int i = 0; i < PF_COUNT; i++)
		n += r->fam[i].n;
	return n;
}

static struct prom_series *find(const struct family *f, const char *key, size_t n)
{
	if (!f->idx) {
		for (size_t i = 0; i < f->n; i++)
			if (f->v[i]->lablen == n && !memcmp(f->v[i]->labels, key, n))
				return f->v[i];
		return NULL;
	}
	for (size_t h = hash_str(key, n) & (f->idx_cap - 1); f->idx[h];
	     h = (h + 1) & (f->idx_cap - 1)) {
		struct prom_series *s = f->v[f->idx[h] - 1];

		if (s->lablen == n && !memcmp(s->labels, key, n))
			return s;
	}
	return NULL;
}

struct prom_series *prom_get(struct prom_reg *r, enum prom_fam fi, uint32_t owner,
			     const char *const *values)
{
	const struct prom_def *d = &defs[fi];
	struct family *f = &r->fam[fi];
	struct prom_series *s;
	unsigned int nb = 0;

	r->key.len = 0;
	r->key.err = false;
	prom_buf_put(&r->key, "", 0);
	for (unsigned int i = 0; d->labels[i]; i++) {
		if (i)
			prom_buf_put(&r->key, ",", 1);
		prom_buf_puts(&r->key, d->labels[i]);
		prom_buf_put(&r->key, "=\"", 2);
		prom_buf_label_value(&r->key, values[i] ? values[i] : "");
		prom_buf_put(&r->key, "\"", 1);
	}
	if (r->key.err)
		return NULL;
	s = find(f, r->key.p, r->key.len);
	if (s) {
		s->gen = r->gen;
		return s;
	}
	if (d->type == PROM_HISTOGRAM)
		prom_bounds(d->bset, &nb);
	s = calloc(1, sizeof(*s) + nb * sizeof(uint64_t) + r->key.len + 1);
	if (!s)
		return NULL;
	s->owner = owner;
	s->gen = r->gen;
	s->fam = (uint16_t)fi;
	s->nb = (uint16_t)nb;
	s->lablen = r->key.len;
	s->labels = (char *)&s->b[nb];
	memcpy(s->labels, r->key.p, r->key.len + 1);
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		struct prom_series **v = realloc(f->v, cap * sizeof(*v));

		if (!v) {
			free(s);
			return NULL;
		}
		f->v = v;
		f->cap = cap;
	}
	f->v[f->n++] = s;
	if (f->n * 2 > f->idx_cap)
		idx_rebuild(f, f->idx_cap ? f->idx_cap * 2 : 32);
	else if (f->idx)
		idx_put(f, f->n - 1);
	return s;
}

void prom_set(struct prom_series *s, double v)
{
	if (s)
		s->v = v;
}

void prom_add(struct prom_series *s, double v)
{
	if (s)
		s->v += v;
}

void prom_observe_ns(struct prom_series *s, int64_t ns)
{
	unsigned int nb;
	const int64_t *bounds;

	if (!s || !s->nb)
		return;
	bounds = prom_bounds(defs[s->fam].bset, &nb);
	s->count++;
	s->sum_ns += ns;
	for (unsigned int i = 0; i < nb; i++) {
		if (ns <= bounds[i]) {
			s->b[i]++;
			return;
		}
	}
	/* above the last bound: only in +Inf, which is count */
}

/* ------------------------------------------------------------------ */
/* snapshots */

struct snap_ent {
	uint16_t fam;
	uint16_t nb;
	uint32_t lablen;
	const char *labels;
	double v;
	uint64_t count;
	int64_t sum_ns;
	const uint64_t *b;
};

struct prom_snap {
	atomic_int ref;
	size_t n;
	struct snap_ent *e;
	char *arena;
};

struct prom_snap *prom_snap_take(const struct prom_reg *r)
{
	struct prom_snap *s = calloc(1, sizeof(*s));
	size_t n = 0, bytes = 0, k = 0;
	char *a;

	if (!s)
		return NULL;
	for (int i = 0; i < PF_COUNT; i++)
		for (size_t j = 0; j < r->fam[i].n; j++) {
			const struct prom_series *x = r->fam[i].v[j];

			n++;
			bytes += x->nb * sizeof(uint64_t) + ((x->lablen + 8) & ~(size_t)7);
		}
	s->e = calloc(n ? n : 1, sizeof(*s->e));
	s->arena = malloc(bytes ? bytes : 1);
	if (!s->e || !s->arena) {
		free(s->e);
		free(s->arena);
		free(s);
		return NULL;
	}
	a = s->arena;
	for (int i = 0; i < PF_COUNT; i++)
		for (size_t j = 0; j < r->fam[i].n; j++) {
			const struct prom_series *x = r->fam[i].v[j];
			struct snap_ent *e = &s->e[k++];

			e->fam = x->fam;
			e->nb = x->nb;
			e->v = x->v;
			e->count = x->count;
			e->sum_ns = x->sum_ns;
			if (x->nb) {
				memcpy(a, x->b, x->nb * sizeof(uint64_t));
				e->b = (const uint64_t *)a;
				a += x->nb * sizeof(uint64_t);
			}
			memcpy(a, x->labels, x->lablen + 1);
			e->labels = a;
			e->lablen = (uint32_t)x->lablen;
			a += (x->lablen + 8) & ~(size_t)7;
		}
	s->n = n;
	atomic_init(&s->ref, 1);
	return s;
}

struct prom_snap *prom_snap_ref(struct prom_snap *s)
{
	if (s)
		atomic_fetch_add(&s->ref, 1);
	return s;
}

void prom_snap_unref(struct prom_snap *s)
{
	if (!s || atomic_fetch_sub(&s->ref, 1) != 1)
		return;
	free(s->e);
	free(s->arena);
	free(s);
}

size_t prom_snap_nseries(const struct prom_snap *s)
{
	return s ? s->n : 0;
}

/* ------------------------------------------------------------------ */
/* text format 0.0.4 */

static void put_help(struct prom_buf *o, const char *help)
{
	for (const char *p = help; *p; p++) {
		if (*p == '\\')
			prom_buf_put(o, "\\\\", 2);
		else if (*p == '\n')
			prom_buf_put(o, "\\n", 2);
		else
			prom_buf_put(o, p, 1);
	}
}

static const char *type_name(enum prom_type t)
{
	switch (t) {
	case PROM_COUNTER: return "counter";
	case PROM_GAUGE: return "gauge";
	default: return "histogram";
	}
}

static void put_sample(struct prom_buf *o, const char *name, const char *suffix, const char *labels,
		       size_t lablen, const char *extra, const char *val)
{
	prom_buf_puts(o, name);
	prom_buf_puts(o, suffix);
	if (lablen || extra) {
		prom_buf_put(o, "{", 1);
		prom_buf_put(o, labels, lablen);
		if (extra) {
			if (lablen)
				prom_buf_put(o, ",", 1);
			prom_buf_puts(o, extra);
		}
		prom_buf_put(o, "}", 1);
	}
	prom_buf_put(o, " ", 1);
	prom_buf_puts(o, val);
	prom_buf_put(o, "\n", 1);
}

/* le="..." of each bound of each set, made once for every thread */
static char le_text[3][16][32];
static pthread_once_t le_once = PTHREAD_ONCE_INIT;

static void le_init(void)
{
	for (int bs = PROM_B_DURATION; bs <= PROM_B_SCRAPE; bs++) {
		unsigned int nb;
		const int64_t *b = prom_bounds(bs, &nb);

		for (unsigned int k = 0; k < nb && k < 16; k++) {
			char v[24];

			prom_fmt_value(v, sizeof(v), b[k] / 1e9);
			snprintf(le_text[bs][k], sizeof(le_text[bs][k]), "le=\"%s\"", v);
		}
	}
}

static const char *le_label(enum prom_bset bs, unsigned int i)
{
	pthread_once(&le_once, le_init);
	return le_text[bs][i];
}

static void render_ent(struct prom_buf *o, const struct prom_def *d, const struct snap_ent *e)
{
	char v[32];

	if (d->type != PROM_HISTOGRAM) {
		prom_fmt_value(v, sizeof(v), e->v);
		put_sample(o, d->name, "", e->labels, e->lablen, NULL, v);
		return;
	}
	uint64_t cum = 0;

	for (unsigned int i = 0; i < e->nb; i++) {
		cum += e->b[i];
		snprintf(v, sizeof(v), "%llu", (unsigned long long)cum);
		put_sample(o, d->name, "_bucket", e->labels, e->lablen, le_label(d->bset, i), v);
	}
	snprintf(v, sizeof(v), "%llu", (unsigned long long)e->count);
	put_sample(o, d->name, "_bucket", e->labels, e->lablen, "le=\"+Inf\"", v);
	prom_fmt_value(v, sizeof(v), e->sum_ns / 1e9);
	put_sample(o, d->name, "_sum", e->labels, e->lablen, NULL, v);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)e->count);
	put_sample(o, d->name, "_count", e->labels, e->lablen, NULL, v);
}

void prom_render(struct prom_buf *out, struct prom_snap *const *snaps, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		const struct prom_snap *s = snaps[k];
		size_t i = 0;

		if (!s)
			continue;
		/* entries are grouped by family, in table order */
		while (i < s->n) {
			const struct prom_def *d = &defs[s->e[i].fam];

			prom_buf_printf(out, "# HELP %s ", d->name);
			put_help(out, d->help);
			prom_buf_printf(out, "\n# TYPE %s %s\n", d->name, type_name(d->type));
			for (uint16_t f = s->e[i].fam; i < s->n && s->e[i].fam == f; i++)
				render_ent(out, d, &s->e[i]);
		}
	}
}

int prom_gzip(const char *in, size_t len, struct prom_buf *out)
{
	z_stream z = {};
	size_t bound;
	int ret;

	/* windowBits 15 + 16: a gzip header and trailer; level 1: the
	 * exposition compresses ~10x even so, at several times the speed */
	if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	bound = deflateBound(&z, len);
	out->len = 0;
	if (!buf_reserve(out, bound)) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out->p;
	z.avail_out = (uInt)bound;
	ret = deflate(&z, Z_FINISH);
	out->len = z.total_out;
	deflateEnd(&z);
	return ret == Z_STREAM_END ? 0 : -EIO;
}
