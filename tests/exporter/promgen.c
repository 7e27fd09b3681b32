// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Helper of the exporter tests and of tests/bench/serve_bench.sh.
 *
 *   promgen render FILE...  feed the trace files to the engine in time order,
 *                           tl_finish, prom_render_tl: the exposition that
 *                           `migscope replay FILE --format prom` prints
 *   promgen families        the metric table: name, type, labels, a line each
 *   promgen bench FILE      the same engine state, then the cost of what
 *                           serve does per tick (update + snapshot, engine
 *                           lock held) and per scrape (render, gzip), as
 *                           key=value lines
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "prom.h"
#include "prom_tl.h"
#include "timeline.h"
#include "tracefile.h"

#define MAX_FILES 16

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* The first file's clock pair, for the milestones' unix times, as replay
 * --format prom takes it. */
static struct prom_tl_clock file_clock;

static struct tl *load(int n, char **paths, uint64_t *lost)
{
	struct tf_reader *r[MAX_FILES];
	union ms_rec rec[MAX_FILES];
	bool have[MAX_FILES];
	struct tl *tl = tl_new();
	uint64_t last = 0;
	char err[512];

	if (n > MAX_FILES || !tl)
		return NULL;
	*lost = 0;
	for (int i = 0; i < n; i++) {
		r[i] = tf_reader_open(paths[i], err, sizeof(err));
		if (!r[i]) {
			fprintf(stderr, "promgen: %s\n", err);
			exit(1);
		}
		have[i] = tf_read(r[i], &rec[i]) > 0;
	}
	file_clock.mono_ns = tf_reader_meta(r[0])->mono_ns;
	file_clock.real_ns = tf_reader_meta(r[0])->real_ns;
	for (;;) {
		int b = -1;

		for (int i = 0; i < n; i++)
			if (have[i] && (b < 0 || rec[i].h.ts < rec[b].h.ts))
				b = i;
		if (b < 0)
			break;
		if (rec[b].h.ts > last)
			last = rec[b].h.ts;
		if (rec[b].h.kind == MS_EV_LOST)
			*lost += rec[b].lost.count;
		tl_feed(tl, &rec[b]);
		have[b] = tf_read(r[b], &rec[b]) > 0;
	}
	for (int i = 0; i < n; i++)
		tf_reader_close(r[i]);
	tl_finish(tl, last);
	return tl;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double median_ms(uint64_t *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[n / 2] / 1e6;
}

#define RUNS 51

static int bench(const char *path)
{
	uint64_t lost, t_first, upd[RUNS], snap[RUNS], rend[RUNS], gz[RUNS], t;
	struct tl *tl = load(1, (char **)&path, &lost);
	struct prom_tl *p = prom_tl_new(PROM_TL_DEFAULT_EXPIRE_NS);
	struct prom_tl_live live = {.lost = lost, .update_ns = -1};
	struct prom_buf b = {}, g = {};
	size_t series = 0;

	if (!tl || !p)
		return 1;
	prom_tl_set_clock(p, &file_clock); /* as serve: the milestones' times included */
	t = now_ns();
	prom_tl_update(p, tl, tl_now(tl), &live);
	t_first = now_ns() - t;
	for (int i = 0; i < RUNS; i++) {
		struct prom_snap *s;

		t = now_ns();
		prom_tl_update(p, tl, tl_now(tl), &live);
		upd[i] = now_ns() - t;
		t = now_ns();
		s = prom_tl_snapshot(p);
		snap[i] = now_ns() - t;
		series = prom_snap_nseries(s);
		b.len = 0;
		t = now_ns();
		prom_render(&b, &s, 1);
		rend[i] = now_ns() - t;
		t = now_ns();
		prom_gzip(b.p, b.len, &g);
		gz[i] = now_ns() - t;
		prom_snap_unref(s);
	}
	printf("vms_tracked=%zu\n", prom_tl_ngroups(p));
	printf("migrations=%zu\n", tl_nmigs(tl));
	printf("series=%zu\n", series);
	printf("exposition_bytes=%zu\n", b.len);
	printf("exposition_gzip_bytes=%zu\n", g.len);
	printf("update_first_ms=%.3f\n", t_first / 1e6);
	printf("update_ms=%.3f\n", median_ms(upd, RUNS));
	printf("snapshot_ms=%.3f\n", median_ms(snap, RUNS));
	printf("render_ms=%.3f\n", median_ms(rend, RUNS));
	printf("gzip_ms=%.3f\n", median_ms(gz, RUNS));
	prom_buf_free(&b);
	prom_buf_free(&g);
	prom_tl_free(p);
	tl_free(tl);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t lost;
	struct tl *tl;
	int ret;

	if (argc >= 3 && !strcmp(argv[1], "render")) {
		tl = load(argc - 2, argv + 2, &lost);
		if (!tl)
			return 1;
		struct prom_tl_source src[16];
		size_t nsrc = 0;

		/* as replay names its inputs */
		for (int i = 2; i < argc && nsrc < 16; i++)
			src[nsrc++] = (struct prom_tl_source){"file", argv[i]};
		ret = prom_render_tl(stdout, tl, lost, src, nsrc, &file_clock);
		tl_free(tl);
		return ret ? 1 : 0;
	}
	if (argc == 3 && !strcmp(argv[1], "bench"))
		return bench(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "families")) {
		static const char *const types[] = {"counter", "gauge", "histogram"};

		for (int f = 0; f < PF_COUNT; f++) {
			const struct prom_def *d = prom_def(f);

			printf("%s %s", d->name, types[d->type]);
			for (unsigned int i = 0; d->labels[i]; i++)
				printf("%c%s", i ? ',' : ' ', d->labels[i]);
			printf("\n");
		}
		return 0;
	}
	fprintf(stderr, "usage: promgen render FILE... | promgen families | promgen bench FILE\n");
	return 2;
}
