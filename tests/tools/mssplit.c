// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mssplit: split a one-host recording into the files two hosts would have
 * written, one per side, the destination's on a clock of its own:
 *
 *   mssplit IN -s SRC.trace -d DST.trace [--dst-pid PID ...] [--mono-shift NS]
 *           [--real-shift NS] [--real-drift PPM] [--jump-at NS --jump NS]
 *           [--boot-id ID] [--host NAME] [--lost src|dst|both] [--anon]
 *
 * The destination is every pid given with --dst-pid, else every pid whose
 * MS_EV_PROC record has MS_PROC_INCOMING. SRC keeps the other records, IN's
 * metadata and clock pairs. DST gets the destination's records with ts +
 * mono-shift (+ jump from the original ts jump-at on: a clock step), another
 * boot id and host, and IN's clock pairs moved likewise: mono + mono-shift,
 * real + real-shift + real-drift ppm of the time since the first pair. The
 * unsplit file's figures are then the truth that the replay of the two must
 * find within its bound. --anon blanks the VM name and UUID of every
 * process, as in QEMU logs, which name none.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tracefile.h"

#define MAX_PIDS 64

static void usage(FILE *f)
{
	fprintf(f, "usage: mssplit IN -s SRC -d DST [--dst-pid PID ...] [--mono-shift NS]\n"
		   "       [--real-shift NS] [--real-drift PPM] [--jump-at NS --jump NS]\n"
		   "       [--boot-id ID] [--host NAME] [--lost src|dst|both] [--anon]\n");
}

static int fail(const char *fmt, const char *a)
{
	fprintf(stderr, "mssplit: ");
	fprintf(stderr, fmt, a);
	fputc('\n', stderr);
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"src", required_argument, NULL, 's'},
	    {"dst", required_argument, NULL, 'd'},
	    {"dst-pid", required_argument, NULL, 'p'},
	    {"mono-shift", required_argument, NULL, 'm'},
	    {"real-shift", required_argument, NULL, 'r'},
	    {"real-drift", required_argument, NULL, 'D'},
	    {"jump-at", required_argument, NULL, 'a'},
	    {"jump", required_argument, NULL, 'j'},
	    {"boot-id", required_argument, NULL, 'b'},
	    {"host", required_argument, NULL, 'H'},
	    {"lost", required_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {"anon", no_argument, NULL, 'A'},
	    {},
	};
	const char *in_path, *src_path = NULL, *dst_path = NULL, *boot = NULL, *host = NULL;
	long long mono_shift = 0, real_shift = 0, jump = 0;
	unsigned long long jump_at = ~0ULL;
	double drift = 0;
	int lost_to = 3; /* bit 0 src, bit 1 dst */
	bool anon = false;
	uint32_t dpids[MAX_PIDS];
	size_t ndp = 0, given = 0;
	struct tf_reader *r;
	struct tf_writer *ws, *wd;
	struct tf_meta ms, md;
	const uint64_t *mono, *real;
	union ms_rec rec, *recs = NULL;
	size_t n = 0, cap = 0, npairs;
	char err[512], bootbuf[40];
	int opt, rc, ret = 0;

	while ((opt = getopt_long(argc, argv, "s:d:h", opts, NULL)) != -1) {
		switch (opt) {
		case 's': src_path = optarg; break;
		case 'd': dst_path = optarg; break;
		case 'p':
			if (given < MAX_PIDS)
				dpids[given++] = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'm': mono_shift = strtoll(optarg, NULL, 10); break;
		case 'r': real_shift = strtoll(optarg, NULL, 10); break;
		case 'D': drift = strtod(optarg, NULL); break;
		case 'a': jump_at = strtoull(optarg, NULL, 10); break;
		case 'j': jump = strtoll(optarg, NULL, 10); break;
		case 'b': boot = optarg; break;
		case 'H': host = optarg; break;
		case 'l':
			lost_to = !strcmp(optarg, "src") ? 1 : !strcmp(optarg, "dst") ? 2 : 3;
			break;
		case 'A': anon = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1 || !src_path || !dst_path) {
		usage(stderr);
		return 2;
	}
	in_path = argv[optind];
	r = tf_reader_open(in_path, err, sizeof(err));
	if (!r)
		return fail("%s", err);
	ndp = given;
	while ((rc = tf_read(r, &rec)) > 0) {
		if (n == cap) {
			cap = cap ? 2 * cap : 4096;
			recs = realloc(recs, cap * sizeof(*recs));
			if (!recs)
				return fail("%s", "out of memory");
		}
		recs[n++] = rec;
		if (!given && rec.h.kind == MS_EV_PROC && (rec.proc.pflags & MS_PROC_INCOMING) &&
		    ndp < MAX_PIDS)
			dpids[ndp++] = rec.h.pid;
	}
	if (rc < 0) {
		fprintf(stderr, "mssplit: %s (splitting what was read)\n", tf_reader_error(r));
		ret = 1;
	}
	if (!ndp) {
		tf_reader_close(r);
		return fail("%s: no destination process (no -incoming PROC record; give --dst-pid)",
			    in_path);
	}
	ms = *tf_reader_meta(r);
	md = ms;
	if (boot) {
		snprintf(md.boot_id, sizeof(md.boot_id), "%s", boot);
	} else {
		snprintf(bootbuf, sizeof(bootbuf), "%.8s-0000-4000-8000-%012llx", ms.boot_id,
			 (unsigned long long)(mono_shift & 0xffffffffffffLL));
		memcpy(md.boot_id, bootbuf, sizeof(md.boot_id));
	}
	if (host)
		snprintf(md.host, sizeof(md.host), "%s", host);
	else
		snprintf(md.host, sizeof(md.host), "%.59s-dst", ms.host);
	md.mono_ns = ms.mono_ns + (uint64_t)mono_shift;
	md.real_ns = ms.real_ns + (uint64_t)real_shift;
	ws = tf_writer_open(src_path, &ms, err, sizeof(err));
	wd = ws ? tf_writer_open(dst_path, &md, err, sizeof(err)) : NULL;
	if (!ws || !wd)
		return fail("%s", err);
	tf_writer_set_manual_clock(ws);
	tf_writer_set_manual_clock(wd);
	for (size_t i = 0; i < n; i++) {
		union ms_rec *x = &recs[i];
		bool dst = false;

		if (anon && x->h.kind == MS_EV_PROC) {
			memset(x->proc.vm, 0, sizeof(x->proc.vm));
			memset(x->proc.uuid, 0, sizeof(x->proc.uuid));
		}
		for (size_t k = 0; k < ndp; k++)
			dst |= x->h.pid == dpids[k];
		if (x->h.kind == MS_EV_LOST) {
			if ((lost_to & 1) && tf_write(ws, x))
				ret = fail("%s", tf_writer_error(ws));
			dst = lost_to & 2;
			if (!dst)
				continue;
		} else if (!dst) {
			if (tf_write(ws, x))
				ret = fail("%s", tf_writer_error(ws));
			continue;
		}
		long long t = (long long)x->h.ts + mono_shift + (x->h.ts >= jump_at ? jump : 0);

		if (t <= 0) {
			ret = fail("%s: a shifted timestamp would be <= 0", in_path);
			break;
		}
		x->h.ts = (uint64_t)t;
		if (tf_write(wd, x))
			ret = fail("%s", tf_writer_error(wd));
	}
	npairs = tf_reader_clock_pairs(r, &mono, &real);
	for (size_t i = 1; i < npairs; i++) {
		double since = (double)(mono[i] - mono[0]);
		long long dr = (long long)(since * drift / 1e6);

		tf_writer_clock_pair(ws, mono[i], real[i]);
		tf_writer_clock_pair(wd, mono[i] + (uint64_t)mono_shift,
				     real[i] + (uint64_t)(real_shift + dr));
	}
	if (tf_writer_close(ws, 0) || tf_writer_close(wd, 0))
		ret = fail("%s", "cannot finish the output files");
	tf_reader_close(r);
	free(recs);
	return ret;
}
