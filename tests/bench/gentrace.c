// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gentrace: a large trace file with a realistic record mix, written through
 * user/tracefile.c as `migscope record` writes it.
 *
 *   gentrace TEMPLATE OUT [-n EVENTS]
 *
 * TEMPLATE is a recording of one migration (tests/bench/data/: migsim's
 * default scenario, source and destination). Its records are written again
 * and again, in their order, each copy later in time than the one before
 * (the template's span plus 100 ms) and with process ids of its own, until
 * EVENTS records are written: what a recorder left on a host that migrates
 * one VM after another. Chunks are ended once a second of trace time, as the
 * live recorder ends them. Deterministic: the same template and count give
 * the same file, byte for byte, but for the clock sections.
 *
 * Prints key=value lines: events, copies, bytes (file size).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tracefile.h"

#define MAX_PIDS 64

int main(int argc, char **argv)
{
	uint64_t want = 10000000, written = 0, copies = 0, ts_min = UINT64_MAX, ts_max = 0;
	uint32_t pids[MAX_PIDS];
	size_t npids = 0, n = 0, cap = 0;
	union ms_rec *recs = NULL, r;
	struct tf_reader *rd;
	struct tf_writer *w;
	struct tf_meta meta;
	char err[512];
	struct stat st;
	int opt, rc;

	while ((opt = getopt(argc, argv, "n:h")) != -1) {
		switch (opt) {
		case 'n': want = strtoull(optarg, NULL, 0); break;
		default: fprintf(stderr, "usage: gentrace TEMPLATE OUT [-n EVENTS]\n"); return 2;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: gentrace TEMPLATE OUT [-n EVENTS]\n");
		return 2;
	}
	rd = tf_reader_open(argv[optind], err, sizeof(err));
	if (!rd) {
		fprintf(stderr, "gentrace: %s\n", err);
		return 1;
	}
	while ((rc = tf_read(rd, &r)) > 0) {
		if (r.h.kind == MS_EV_LOST)
			continue;
		if (n == cap) {
			union ms_rec *nr =
			    realloc(recs, (cap = cap ? cap * 2 : 1024) * sizeof(*recs));

			if (!nr) {
				fprintf(stderr, "gentrace: out of memory\n");
				return 1;
			}
			recs = nr;
		}
		recs[n++] = r;
		if (r.h.ts < ts_min)
			ts_min = r.h.ts;
		if (r.h.ts > ts_max)
			ts_max = r.h.ts;
	}
	if (rc < 0 || !n) {
		fprintf(stderr, "gentrace: %s: %s\n", argv[optind],
			rc < 0 ? tf_reader_error(rd) : "no records");
		return 1;
	}
	meta = *tf_reader_meta(rd);
	tf_reader_close(rd);
	for (size_t i = 0; i < n; i++) {
		size_t k;

		for (k = 0; k < npids && pids[k] != recs[i].h.pid; k++)
			;
		if (k == npids) {
			if (npids == MAX_PIDS) {
				fprintf(stderr,
					"gentrace: more than %d processes in the template\n",
					MAX_PIDS);
				return 1;
			}
			pids[npids++] = recs[i].h.pid;
		}
	}

	snprintf(meta.cmdline, sizeof(meta.cmdline), "gentrace %s -n %llu", argv[optind],
		 (unsigned long long)want);
	w = tf_writer_open(argv[optind + 1], &meta, err, sizeof(err));
	if (!w) {
		fprintf(stderr, "gentrace: %s\n", err);
		return 1;
	}
	uint64_t span = ts_max - ts_min + 100000000ull, last_flush = ts_min;

	while (written < want) {
		uint64_t shift = copies * span;
		/* pids of their own per copy, in the range of real pids */
		uint32_t base = 1000 + (uint32_t)((copies * npids) % 4000000);

		for (size_t i = 0; i < n && written < want; i++) {
			size_t k;

			r = recs[i];
			for (k = 0; pids[k] != r.h.pid; k++)
				;
			r.h.tid = base + (uint32_t)k + (r.h.tid - r.h.pid);
			r.h.pid = base + (uint32_t)k;
			r.h.ts += shift;
			if (r.h.kind == MS_EV_PROC)
				r.proc.start_ns += shift;
			if (tf_write(w, &r)) {
				fprintf(stderr, "gentrace: %s\n", tf_writer_error(w));
				return 1;
			}
			written++;
			if (r.h.ts > last_flush && r.h.ts - last_flush >= 1000000000ull) {
				if (tf_writer_flush(w)) {
					fprintf(stderr, "gentrace: %s\n", tf_writer_error(w));
					return 1;
				}
				last_flush = r.h.ts;
			}
		}
		copies++;
	}
	if (tf_writer_close(w, 0)) {
		fprintf(stderr, "gentrace: cannot finish %s\n", argv[optind + 1]);
		return 1;
	}
	if (stat(argv[optind + 1], &st)) {
		fprintf(stderr, "gentrace: %s: %s\n", argv[optind + 1], strerror(errno));
		return 1;
	}
	printf("events=%llu\ncopies=%llu\nbytes=%lld\n", (unsigned long long)written,
	       (unsigned long long)copies, (long long)st.st_size);
	free(recs);
	return 0;
}
