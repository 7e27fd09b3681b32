// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * migscope replay: reconstruct migrations from trace files and QEMU
 * log-backend traces (told apart by the trace file magic). No root needed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "catalog.h"
#include "cmd.h"
#include "evdump.h"
#include "input.h"
#include "qemulog.h"
#include "prom_tl.h"
#include "report.h"
#include "timeline.h"
#include "tracefile.h"
#include "util.h"

const char *const cmd_replay_synopsis[] = {
    "FILE... [--format text|json|events|prom] [-o OUT] [--vm NAME] [--uuid UUID]", NULL};

static void help(FILE *f)
{
	cmd_print_synopsis(f, "Usage: ", NULL, "replay", cmd_replay_synopsis);
	fprintf(f,
		"Reconstruct every migration of one or more trace files (for instance a source's\n"
		"and a destination's recorded on one host) and print the timeline report.\n"
		"  text    milestones, devices and figures per migration (default)\n"
		"  json    the same as JSON (the contract of docs/figures.md)\n"
		"  events  every record, one JSON object a line\n"
		"  prom    the Prometheus exposition `migscope serve` would give at the end\n"
		"A FILE may also be the log of QEMU's `log` trace backend (qemu -D FILE -msg\n"
		"timestamp=on -trace events=LIST, see docs/qemu.md): lines it does not know are\n"
		"skipped and counted. A log does not name its VM: --vm NAME (and --uuid UUID)\n"
		"give the VM of the logs, so that a source's and a destination's log pair.\n"
		"A damaged or truncated file replays every complete chunk, then names where it\n"
		"stopped; the exit status is then 1.\n\n"
		"Examples:\n"
		"  migscope replay mig.trace\n"
		"  migscope replay src.trace dst.trace --format json -o report.json\n"
		"  migscope replay --vm web01 src-qemu.log dst-qemu.log\n");
}

enum fmt { FMT_TEXT, FMT_JSON, FMT_EVENTS, FMT_PROM };

/* report_json's document with "input_skipped_lines" added as its last key:
 * lines of QEMU logs that were skipped, null when no log was read. */
static int json_with_skipped(FILE *out, const struct tl *tl, const struct report_opts *ro,
			     bool logs, uint64_t skipped)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	int err;

	if (!m)
		return -1;
	err = report_json(m, tl, ro);
	if (fclose(m) || err) {
		free(buf);
		return -1;
	}
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		len--;
	if (!len || buf[len - 1] != '}') {
		free(buf);
		return -1;
	}
	len--;
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		len--;
	fwrite(buf, 1, len, out);
	if (logs)
		fprintf(out, ",\n    \"input_skipped_lines\": %llu\n}\n",
			(unsigned long long)skipped);
	else
		fprintf(out, ",\n    \"input_skipped_lines\": null\n}\n");
	free(buf);
	return 0;
}

/* What puts the records on unix time for --format prom: the first trace
 * file's clock pair when every input is on its clock (one host's boot), unix
 * time itself when all are QEMU logs; NULL when the inputs are on several
 * clocks, as one pair cannot serve them all. */
static const struct prom_tl_clock *replay_clock(const struct in_set *in, const struct tl *tl,
						struct prom_tl_clock *c)
{
	if (!tl_single_clock(tl))
		return NULL;
	if (!in_clock_pair(in, 0, &c->mono_ns, &c->real_ns))
		c->mono_ns = c->real_ns = 0; /* a QEMU log: unix time already */
	return c;
}

int cmd_replay(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"format", required_argument, NULL, 'f'}, {"output", required_argument, NULL, 'o'},
	    {"json", no_argument, NULL, 'j'},	      {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},	      {"vm", required_argument, NULL, 'V'},
	    {"uuid", required_argument, NULL, 'U'},   {},
	};
	struct in_opts io = {};
	struct in_log_counts lc;
	struct in_set *in = NULL;
	enum fmt fmt = FMT_TEXT;
	const char *outpath = NULL;
	struct report_opts ro = {};
	char err[1024];
	int opt, ret = MS_EXIT_FAIL;
	uint64_t last_ts = 0, lost;
	size_t nlogs = 0;
	struct tl *tl = NULL;
	union ms_rec rec;
	struct prom_tl_clock clock;
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
			} else if (!strcmp(optarg, "prom")) {
				fmt = FMT_PROM;
			} else {
				ms_err("replay: unknown format '%s' (text, json, events or prom)",
				       optarg);
				return MS_EXIT_USAGE;
			}
			break;
		case 'o': outpath = optarg; break;
		case 'V': io.vm = optarg; break;
		case 'U': io.uuid = optarg; break;
		case 'h': help(stdout); return 0;
		default: help(stderr); return MS_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		ms_err("replay: no trace file given");
		return MS_EXIT_USAGE;
	}
	if (argc - optind > IN_MAX) {
		ms_err("replay: at most %d files", IN_MAX);
		return MS_EXIT_USAGE;
	}
	in = in_open(argv + optind, (size_t)(argc - optind), &io, err, sizeof(err));
	if (!in) {
		ms_err("replay: %s", err);
		return MS_EXIT_FAIL;
	}
	for (size_t k = 0; k < in_files(in); k++)
		nlogs += in_is_log(in, k);
	tl = tl_new();
	if (!tl) {
		ms_err("replay: out of memory");
		goto out;
	}
	in_setup_tl(in, tl);
	if (outpath) {
		out = fopen(outpath, "w");
		if (!out) {
			ms_err("replay: cannot write %s: %s", outpath, strerror(errno));
			goto out;
		}
	}
	while (in_next(in, &rec) > 0) {
		if (rec.h.ts > last_ts)
			last_ts = rec.h.ts;
		if (fmt == FMT_EVENTS)
			evdump_json_line(out, &rec);
		tl_feed(tl, &rec);
	}
	tl_finish(tl, last_ts);
	in_log_counts(in, &lc);
	lost = in_lost(in);
	ro.lost = lost;
	ro.input_error = in_error(in)[0] ? in_error(in) : NULL;
	ro.pretty = true;
	if (fmt == FMT_TEXT)
		report_text(out, tl, &ro);
	else if (fmt == FMT_JSON && json_with_skipped(out, tl, &ro, nlogs > 0, lc.skipped))
		report_json(out, tl, &ro);
	else if (fmt == FMT_PROM)
		prom_render_tl(out, tl, lost > tl_lost_total(tl) ? lost : tl_lost_total(tl),
			       replay_clock(in, tl, &clock));
	if (fflush(out) || ferror(out)) {
		ms_err("replay: write error: %s", strerror(errno));
		goto out;
	}
	if (lc.skipped)
		fprintf(stderr,
			"migscope: replay: note: %llu lines of the QEMU log%s skipped (%llu events "
			"not in the catalog, %llu other lines, %llu without timestamp)\n",
			(unsigned long long)lc.skipped, nlogs > 1 ? "s" : "",
			(unsigned long long)lc.unknown, (unsigned long long)lc.malformed,
			(unsigned long long)lc.no_timestamp);
	if (ro.input_error) {
		ms_err("replay: %s", ro.input_error);
		goto out;
	}
	ret = 0;
out:
	if (out && out != stdout)
		fclose(out);
	tl_free(tl);
	in_close(in);
	return ret;
}
