// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* migscope replay: reconstruct migrations from trace files. No root needed. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "catalog.h"
#include "cmd.h"
#include "evdump.h"
#include "report.h"
#include "timeline.h"
#include "tracefile.h"
#include "util.h"

#define MAX_FILES 16

static void help(FILE *f)
{
	fprintf(f,
		"Usage: migscope replay FILE... [--format text|json|events] [-o OUT]\n"
		"Reconstruct every migration of one or more trace files (for instance a source's\n"
		"and a destination's recorded on one host) and print the timeline report.\n"
		"  text    milestones, devices and figures per migration (default)\n"
		"  json    the same as JSON (the contract of docs/json.md)\n"
		"  events  every record, one JSON object a line\n"
		"A damaged or truncated file replays every complete chunk, then names where it\n"
		"stopped; the exit status is then 1.\n\n"
		"Examples:\n"
		"  migscope replay mig.trace\n"
		"  migscope replay src.trace dst.trace --format json -o report.json\n");
}

enum fmt { FMT_TEXT, FMT_JSON, FMT_EVENTS };

struct input {
	const char *path;
	struct tf_reader *r;
	union ms_rec rec;
	bool have; /* rec holds the next record */
	bool done;
	bool failed;
};

static void advance(struct input *in)
{
	int r = tf_read(in->r, &in->rec);

	in->have = r > 0;
	if (r <= 0)
		in->done = true;
	if (r < 0)
		in->failed = true;
}

int cmd_replay(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"format", required_argument, NULL, 'f'}, {"output", required_argument, NULL, 'o'},
	    {"json", no_argument, NULL, 'j'},	      {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},	      {},
	};
	struct input in[MAX_FILES] = {};
	enum fmt fmt = FMT_TEXT;
	const char *outpath = NULL;
	struct report_opts ro = {};
	char err[512], note[1024] = "";
	size_t nin = 0;
	int opt, ret = MS_EXIT_FAIL;
	uint64_t last_ts = 0, lost = 0;
	struct tl *tl = NULL;
	FILE *out = stdout;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "f:o:jvh", opts, NULL)) != -1) {
		if (opt == 'j') {
			fmt = FMT_JSON;
			continue;
		}
		if (cmd_common_opt(opt))
			continue;
		switch (opt) {
		case 'f':
			if (!strcmp(optarg, "text")) {
				fmt = FMT_TEXT;
			} else if (!strcmp(optarg, "json")) {
				fmt = FMT_JSON;
			} else if (!strcmp(optarg, "events")) {
				fmt = FMT_EVENTS;
			} else {
				ms_err("replay: unknown format '%s' (text, json or events)",
				       optarg);
				return MS_EXIT_USAGE;
			}
			break;
		case 'o': outpath = optarg; break;
		case 'h': help(stdout); return 0;
		default: help(stderr); return MS_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		ms_err("replay: no trace file given");
		return MS_EXIT_USAGE;
	}
	if (argc - optind > MAX_FILES) {
		ms_err("replay: at most %d files", MAX_FILES);
		return MS_EXIT_USAGE;
	}
	for (int i = optind; i < argc; i++, nin++) {
		in[nin].path = argv[i];
		in[nin].r = tf_reader_open(argv[i], err, sizeof(err));
		if (!in[nin].r) {
			ms_err("replay: %s", err);
			goto out;
		}
	}
	tl = tl_new();
	if (!tl) {
		ms_err("replay: out of memory");
		goto out;
	}
	/* Sides recorded on one boot of one host share CLOCK_MONOTONIC. */
	for (size_t i = 1; i < nin; i++)
		if (strcmp(tf_reader_meta(in[i].r)->boot_id, tf_reader_meta(in[0].r)->boot_id))
			tl_set_single_clock(tl, false);
	if (outpath) {
		out = fopen(outpath, "w");
		if (!out) {
			ms_err("replay: cannot write %s: %s", outpath, strerror(errno));
			goto out;
		}
	}
	for (size_t i = 0; i < nin; i++)
		advance(&in[i]);
	/* merge the files in time order */
	for (;;) {
		struct input *best = NULL;

		for (size_t i = 0; i < nin; i++)
			if (in[i].have && (!best || in[i].rec.h.ts < best->rec.h.ts))
				best = &in[i];
		if (!best)
			break;
		if (best->rec.h.ts > last_ts)
			last_ts = best->rec.h.ts;
		if (best->rec.h.kind == MS_EV_LOST)
			lost += best->rec.lost.count;
		if (fmt == FMT_EVENTS)
			evdump_json_line(out, &best->rec);
		tl_feed(tl, &best->rec);
		advance(best);
	}
	tl_finish(tl, last_ts);
	for (size_t i = 0; i < nin; i++) {
		if (!in[i].failed)
			continue;
		size_t n = strlen(note);

		snprintf(note + n, sizeof(note) - n, "%s%s", n ? "; " : "",
			 tf_reader_error(in[i].r));
	}
	ro.lost = lost;
	ro.input_error = note[0] ? note : NULL;
	ro.pretty = true;
	if (fmt == FMT_TEXT)
		report_text(out, tl, &ro);
	else if (fmt == FMT_JSON)
		report_json(out, tl, &ro);
	if (fflush(out) || ferror(out)) {
		ms_err("replay: write error: %s", strerror(errno));
		goto out;
	}
	if (note[0]) {
		ms_err("replay: %s", note);
		goto out;
	}
	ret = 0;
out:
	if (out && out != stdout)
		fclose(out);
	tl_free(tl);
	for (size_t i = 0; i < nin; i++)
		tf_reader_close(in[i].r);
	return ret;
}
