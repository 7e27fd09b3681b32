// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tlscale: the engine's cost per migration as the number of migrations in
 * one timeline grows, which must stay flat (pairing and the identity update
 * are indexed, docs/performance.md "Replay").
 *
 *   tlscale [N...]
 *
 * For each N (default 1000 4000 16000), feeds N migrations of a host that
 * migrates one VM after another in two layouts: "pairs", both sides of
 * each (a source and a destination process, 50 VMs by name), and
 * "sources", the source side alone (one host's recording, nothing to pair
 * with). Each migration is a process identity and setup, active and
 * completed states per side. Prints key=value lines, ns per migration of
 * each layout. Wall time here is mostly the kernel clearing fresh pages (a
 * migration's state is 32 KB); make bench counts instructions instead
 * (callgrind), which a walk over every migration makes grow with N.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../unit/feed.h"

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void side(struct tl *tl, uint32_t pid, uint64_t t, const char *vm, bool incoming)
{
	proc(tl, pid, t, vm, "", incoming);
	usdt(tl, pid, t + 1000, MS_P_MIGRATE_SET_STATE, "setup");
	usdt(tl, pid, t + 2000, MS_P_MIGRATE_SET_STATE, "active");
	usdt(tl, pid, t + 900000, MS_P_MIGRATE_SET_STATE, "completed");
}

/* ns per migration of n migrations, both sides when pairs */
static double run(unsigned n, bool pairs, size_t *npairs)
{
	struct tl *tl = tl_new();
	double t0, t1;
	char vm[32];

	if (!tl) {
		fprintf(stderr, "tlscale: out of memory\n");
		exit(1);
	}
	t0 = now_s();
	for (unsigned i = 0; i < n; i++) {
		uint64_t t = BASE + (uint64_t)i * 1000000000ULL;

		snprintf(vm, sizeof(vm), "vm-%u", i % 50);
		side(tl, 10000 + 2 * i, t, vm, false);
		if (pairs)
			side(tl, 10001 + 2 * i, t + 500, vm, true);
	}
	tl_finish(tl, BASE + (uint64_t)n * 1000000000ULL);
	t1 = now_s();
	*npairs = tl_npairs(tl);
	tl_free(tl);
	return (t1 - t0) * 1e9 / n;
}

int main(int argc, char **argv)
{
	static const unsigned def[] = {1000, 4000, 16000};
	unsigned ns[16];
	int k = 0;

	for (int i = 1; i < argc && k < 16; i++)
		ns[k++] = (unsigned)strtoul(argv[i], NULL, 10);
	for (int i = 0; !k && i < 3; i++)
		ns[i] = def[i];
	if (!k)
		k = 3;
	for (int i = 0; i < k; i++) {
		size_t np;
		double p = run(ns[i], true, &np), s;

		if (np != ns[i]) {
			fprintf(stderr, "tlscale: %u migrations paired %zu times\n", ns[i], np);
			return 1;
		}
		s = run(ns[i], false, &np);
		printf("pairs_ns_per_mig_%u=%.0f\nsources_ns_per_mig_%u=%.0f\n", ns[i], p, ns[i],
		       s);
	}
	return 0;
}
