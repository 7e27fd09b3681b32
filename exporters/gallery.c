// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The pictures of recent migrations served by migscope serve (gallery.h). */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gallery.h"
#include "json_writer.h"
#include "svg.h"
#include "timeline.h"

struct gal_ent {
	uint64_t id;	  /* 1, 2, ... in the order first drawn */
	uint64_t seq;	  /* the engine's seq of the panel's first migration */
	unsigned int ver; /* what the picture had: sides ended, paired */
	char vm[MS_NAME_LEN];
	char uuid[40];
	char src_host[128], dst_host[128];
	char role[16];	       /* "pair", or the side's role */
	char result[16];       /* the source's (the side's) */
	char dresult[16];      /* the destination's, "" without a pair */
	double start_s, end_s; /* unix seconds, < 0 unknown */
	double downtime_ms;    /* < 0 absent */
	char *svg;
	size_t len;
};

struct gallery {
	pthread_mutex_t mu;
	struct gal_ent ent[GAL_MAX]; /* a ring, oldest at head */
	size_t head, n;
	uint64_t next_id;
};

struct gallery *gal_new(void)
{
	struct gallery *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	pthread_mutex_init(&g->mu, NULL);
	g->next_id = 1;
	return g;
}

void gal_free(struct gallery *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < GAL_MAX; i++)
		free(g->ent[i].svg);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

static struct gal_ent *at(struct gallery *g, size_t k)
{
	return &g->ent[(g->head + k) % GAL_MAX];
}

static double unix_s(uint64_t ts, uint64_t mono, uint64_t real)
{
	if (!tl_has(ts) || (!mono && !real))
		return -1;
	return ((double)real + ((double)ts - (double)mono)) / 1e9;
}

/* The picture of the panel of migration i into e (its svg replaced) */
static int draw(struct gal_ent *e, const struct tl *tl, size_t i)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int err;

	if (!f)
		return -ENOMEM;
	err = svg_write(f, tl, (long)i);
	if (fclose(f) || err) {
		free(buf);
		return err ? err : -ENOMEM;
	}
	free(e->svg);
	e->svg = buf;
	e->len = len;
	return 0;
}

static void describe(struct gal_ent *e, const struct tl *tl, const struct tl_mig *m,
		     const struct tl_pair *p, uint64_t mono, uint64_t real)
{
	const struct tl_mig *d = p ? p->dst : NULL;
	int64_t dt = tl_mig_role(m) == TL_ROLE_DEST ? TL_DNONE : tl_mig_downtime(m);
	uint64_t end = m->end_ts;

	snprintf(e->vm, sizeof(e->vm), "%s", m->vm[0] || !d ? m->vm : d->vm);
	snprintf(e->uuid, sizeof(e->uuid), "%s", m->uuid[0] || !d ? m->uuid : d->uuid);
	snprintf(e->src_host, sizeof(e->src_host), "%s", tl_mig_host(tl, m));
	snprintf(e->dst_host, sizeof(e->dst_host), "%s", d ? tl_mig_host(tl, d) : "");
	snprintf(e->role, sizeof(e->role), "%s", p ? "pair" : tl_role_name(tl_mig_role(m)));
	snprintf(e->result, sizeof(e->result), "%s", tl_result_name(m->result));
	snprintf(e->dresult, sizeof(e->dresult), "%s", d ? tl_result_name(d->result) : "");
	e->start_s = unix_s(m->start_ts, mono, real);
	if (d && tl_has(d->end_ts) && tl_mig_line_ts(d, d->end_ts) > end)
		end = tl_mig_line_ts(d, d->end_ts);
	e->end_s = unix_s(end, mono, real);
	e->downtime_ms = tl_dhas(dt) ? (double)dt / 1e6 : -1;
}

void gal_update(struct gallery *g, const struct tl *tl, uint64_t mono_ns, uint64_t real_ns)
{
	for (size_t i = 0; i < tl_nmigs(tl); i++) {
		const struct tl_mig *m = tl_mig_at(tl, i);
		const struct tl_pair *p = tl_mig_pair(m);
		struct gal_ent *e = NULL, tmp = {0};
		unsigned int ver;

		if (p && p->src != m)
			continue; /* drawn with its source */
		if (!tl_has(m->end_ts))
			continue; /* not over yet */
		/* drawn again when it gets its pair, and when that ends */
		ver = 1u | (p ? 2u : 0u) | (p && tl_has(p->dst->end_ts) ? 4u : 0u);
		pthread_mutex_lock(&g->mu);
		for (size_t k = 0; k < g->n; k++)
			if (at(g, k)->seq == m->seq)
				e = at(g, k);
		pthread_mutex_unlock(&g->mu);
		if (e && e->ver == ver)
			continue;
		/* drawn outside the lock: the engine is this thread's, the
		 * entry's fields are only written here */
		if (draw(&tmp, tl, i))
			continue;
		describe(&tmp, tl, m, p, mono_ns, real_ns);
		tmp.seq = m->seq;
		tmp.ver = ver;
		pthread_mutex_lock(&g->mu);
		if (e) {
			tmp.id = e->id;
			free(e->svg);
			*e = tmp;
		} else {
			if (g->n == GAL_MAX) {
				free(at(g, 0)->svg);
				at(g, 0)->svg = NULL;
				g->head = (g->head + 1) % GAL_MAX;
				g->n--;
			}
			tmp.id = g->next_id++;
			*at(g, g->n) = tmp;
			g->n++;
		}
		pthread_mutex_unlock(&g->mu);
	}
}

static void j_time(json_writer_t *w, const char *name, double s)
{
	if (s < 0)
		jsonw_null_field(w, name);
	else
		jsonw_float_field_fmt(w, name, "%.3f", s);
}

static void j_str(json_writer_t *w, const char *name, const char *s)
{
	if (s[0])
		jsonw_string_field(w, name, s);
	else
		jsonw_null_field(w, name);
}

/* The list, newest first, under the lock */
static int list(struct gallery *g, const char *vm, char **body, size_t *len)
{
	FILE *f = open_memstream(body, len);
	json_writer_t *w;
	char url[64];

	if (!f)
		return -ENOMEM;
	w = jsonw_new(f);
	if (!w) {
		fclose(f);
		free(*body);
		return -ENOMEM;
	}
	jsonw_pretty(w, true);
	jsonw_start_object(w);
	jsonw_name(w, "migrations");
	jsonw_start_array(w);
	for (size_t k = g->n; k-- > 0;) {
		const struct gal_ent *e = at(g, k);

		if (vm && strcmp(vm, e->vm))
			continue;
		jsonw_start_object(w);
		jsonw_uint_field(w, "id", e->id);
		j_str(w, "vm", e->vm);
		j_str(w, "uuid", e->uuid);
		jsonw_string_field(w, "sides", e->role);
		j_str(w, "source_host", e->src_host);
		j_str(w, "destination_host", e->dst_host);
		jsonw_string_field(w, "result", e->result);
		j_str(w, "destination_result", e->dresult);
		j_time(w, "start_unix_s", e->start_s);
		j_time(w, "end_unix_s", e->end_s);
		if (e->downtime_ms < 0)
			jsonw_null_field(w, "downtime_ms");
		else
			jsonw_float_field_fmt(w, "downtime_ms", "%.3f", e->downtime_ms);
		snprintf(url, sizeof(url), "/migrations/%llu.svg", (unsigned long long)e->id);
		jsonw_string_field(w, "svg", url);
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
	jsonw_end_object(w);
	jsonw_destroy(&w);
	fputc('\n', f);
	if (fclose(f)) {
		free(*body);
		return -ENOMEM;
	}
	return 0;
}

static int copy_svg(const struct gal_ent *e, char **body, size_t *len)
{
	*body = malloc(e->len ? e->len : 1);
	if (!*body)
		return -ENOMEM;
	memcpy(*body, e->svg, e->len);
	*len = e->len;
	return 0;
}

int gal_page(struct gallery *g, const char *url, const char *vm, char **body, size_t *len,
	     const char **type)
{
	const char *pre = "/migrations";
	int ret = -ENOENT;

	*body = NULL;
	*len = 0;
	if (strncmp(url, pre, strlen(pre)))
		return -ENOENT;
	url += strlen(pre);
	pthread_mutex_lock(&g->mu);
	if (!strcmp(url, "") || !strcmp(url, "/")) {
		*type = "application/json";
		ret = list(g, vm, body, len);
	} else if (!strcmp(url, "/latest.svg")) {
		for (size_t k = g->n; k-- > 0;)
			if (!vm || !strcmp(vm, at(g, k)->vm)) {
				*type = "image/svg+xml";
				ret = copy_svg(at(g, k), body, len);
				break;
			}
	} else if (url[0] == '/' && url[1] >= '1' && url[1] <= '9') {
		char *end;
		unsigned long long id = strtoull(url + 1, &end, 10);

		if (!strcmp(end, ".svg"))
			for (size_t k = 0; k < g->n; k++)
				if (at(g, k)->id == id) {
					*type = "image/svg+xml";
					ret = copy_svg(at(g, k), body, len);
					break;
				}
	}
	pthread_mutex_unlock(&g->mu);
	return ret;
}
