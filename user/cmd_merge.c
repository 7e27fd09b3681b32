// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * migscope merge SRC DST -o FILE: one trace file, on the source's clock, of
 * a migration recorded on two hosts. The destination's timestamps are moved
 * by the offset that the replay of the two finds (docs/figures.md "Two
 * clocks"), and the file's INPUTS section records that offset and its bound,
 * so that the merged file replays alone with the same figures and bounds.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"
#include "input.h"
#include "timeline.h"
#include "tracefile.h"
#include "util.h"

const struct cmd_usage cmd_merge_usage = {
    .name = "merge",
    .args = {"SRC DST"},
    .nforms = 1,
    .opts = (const struct cmd_opt[]){
	{"output", 'o', "FILE", CMD_O_SHORT | CMD_O_SHOW_SHORT, 0, CMD_FORM(0)},
	{"vm", 'V', "NAME", 0, 0, 0},
	{"uuid", 'U', "UUID", 0, 0, 0},
	CMD_COMMON_OPTIONS,
	{},
    }};

static void help(FILE *f)
{
	cmd_print_usage(f, "Usage: ", NULL, &cmd_merge_usage);
	fprintf(f,
		"Put a source host's and a destination host's recordings of one migration (trace\n"
		"files or QEMU logs) into one trace file on the source's clock. The offset\n"
		"between the clocks is bounded by the migration's own messages (as `replay SRC\n"
		"DST` does) and written into FILE with its bound; `migscope replay FILE` then\n"
		"gives the same figures. --vm/--uuid name the VM of QEMU logs.\n\n"
		"Example:\n"
		"  migscope merge src-host.trace dst-host.trace -o mig.trace\n");
}

/* The first pair whose source came from input 0 and destination from 1. */
static const struct tl_pair *find_pair(const struct tl *tl)
{
	for (size_t i = 0; i < tl_npairs(tl); i++) {
		const struct tl_pair *p = tl_pair_at(tl, i);

		if ((p->src->inputs & 1u) && (p->dst->inputs & 2u))
			return p;
	}
	return NULL;
}

static void fill_input(struct tf_input *t, const struct in_set *in, size_t i)
{
	memset(t, 0, sizeof(*t));
	ms_strlcpy(t->host, in_host(in, i), sizeof(t->host));
	ms_strlcpy(t->boot_id, in_boot_id(in, i), sizeof(t->boot_id));
	ms_strlcpy(t->path, in_path(in, in_file_of(in, i)), sizeof(t->path));
}

int cmd_merge(int argc, char **argv)
{
	struct in_opts io = {};
	const char *outpath = NULL;
	struct in_set *in = NULL;
	struct tf_writer *w = NULL;
	struct tf_input ti[2];
	struct tf_meta meta = {};
	const struct tl_pair *p;
	struct tl *tl = NULL;
	union ms_rec rec;
	uint64_t last = 0, nrec = 0, mono, real;
	int64_t offset, error;
	char err[1024];
	int opt, ret = MS_EXIT_FAIL;

	optind = 1;
	while ((opt = cmd_getopt(argc, argv, &cmd_merge_usage)) != -1) {
		if (cmd_common_opt(opt))
			continue;
		switch (opt) {
		case 'o': outpath = optarg; break;
		case 'V': io.vm = optarg; break;
		case 'U': io.uuid = optarg; break;
		case 'h': help(stdout); return 0;
		default: help(stderr); return MS_EXIT_USAGE;
		}
	}
	if (argc - optind != 2 || !outpath) {
		ms_err("merge: give SRC, DST and -o FILE (migscope merge --help)");
		return MS_EXIT_USAGE;
	}
	in = in_open(argv + optind, 2, &io, err, sizeof(err));
	if (!in) {
		ms_err("merge: %s", err);
		return MS_EXIT_FAIL;
	}
	if (in_count(in) != 2) {
		ms_err("merge: %s holds several inputs already (a merged file): merge the "
		       "original recordings",
		       in_path(in, in_file_of(in, in_count(in) - 1)));
		goto out;
	}
	/* pass 1: the pair and its alignment */
	tl = tl_new();
	if (!tl) {
		ms_err("merge: out of memory");
		goto out;
	}
	in_setup_tl(in, tl);
	while (in_next(in, &rec) > 0) {
		last = rec.h.ts > last ? rec.h.ts : last;
		tl_feed(tl, &rec);
	}
	tl_finish(tl, last);
	p = find_pair(tl);
	if (!p) {
		ms_err("merge: no migration of %s pairs with one of %s as source and destination "
		       "(not the same VM, or no protocol message ties them: `migscope replay` "
		       "lists them)",
		       in_path(in, 0), in_path(in, 1));
		goto out;
	}
	offset = tl_pair_clock_offset(tl, p);
	error = tl_pair_clock_error(p);
	fill_input(&ti[0], in, 0);
	fill_input(&ti[1], in, 1);
	snprintf(ti[0].basis, sizeof(ti[0].basis), "reference");
	snprintf(ti[1].basis, sizeof(ti[1].basis), "%s", tl_clock_basis_name(p->basis));
	ti[1].offset_ns = offset;
	ti[1].error_ns = tl_dhas(error) ? error : TF_ERROR_NONE;

	/* pass 2: the destination's records on the source's clock */
	if (in_rewind(in, err, sizeof(err))) {
		ms_err("merge: %s", err);
		goto out;
	}
	in_set_shift(in, 1, offset);
	ms_strlcpy(meta.host, in_host(in, 0), sizeof(meta.host));
	ms_strlcpy(meta.boot_id, in_boot_id(in, 0), sizeof(meta.boot_id));
	snprintf(meta.cmdline, sizeof(meta.cmdline), "migscope merge %s %s", in_path(in, 0),
		 in_path(in, 1));
	if (in_clock_pair(in, 0, &mono, &real)) {
		meta.mono_ns = mono;
		meta.real_ns = real;
	} else {
		meta.mono_ns = meta.real_ns = 1; /* a QEMU log: the wall clock itself */
	}
	w = tf_writer_open(outpath, &meta, err, sizeof(err));
	if (!w) {
		ms_err("merge: %s", err);
		goto out;
	}
	tf_writer_set_manual_clock(w);
	if (tf_writer_inputs(w, ti, 2)) {
		ms_err("merge: %s", tf_writer_error(w));
		goto out;
	}
	while (in_next(in, &rec) > 0) {
		if (tf_write(w, &rec) == -EINVAL)
			continue; /* a record the format refuses: not the merge's to fix */
		nrec++;
	}
	if (in_error(in)[0])
		fprintf(stderr, "migscope: merge: note: %s (what was read is merged)\n",
			in_error(in));
	if (tf_writer_close(w, in_lost(in))) {
		w = NULL;
		ms_err("merge: cannot write %s", outpath);
		goto out;
	}
	w = NULL;
	if (tl_dhas(error))
		fprintf(stderr,
			"migscope: merge: %llu records; destination clock offset %.6f ms +- %.6f "
			"ms (%s)\n",
			(unsigned long long)nrec, offset / 1e6, error / 1e6,
			tl_clock_basis_name(p->basis));
	else
		fprintf(stderr,
			"migscope: merge: %llu records; destination clock offset %.6f ms, "
			"unbounded (%s: no message matched in one direction)\n",
			(unsigned long long)nrec, offset / 1e6, tl_clock_basis_name(p->basis));
	ret = 0;
out:
	if (w)
		tf_writer_close(w, 0);
	tl_free(tl);
	in_close(in);
	return ret;
}
