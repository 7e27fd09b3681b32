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
#include "qemulog.h"
#include "prom_tl.h"
#include "report.h"
#include "timeline.h"
#include "tracefile.h"
#include "util.h"

#define MAX_FILES 16
/* Pseudo pids for QEMU logs whose own (their smallest TID) collide: above
 * any real pid (pid_max is at most 2^22). */
#define PSEUDO_PID_BASE 4194304u

static void help(FILE *f)
{
	fprintf(
	    f,
	    "Usage: migscope replay FILE... [--format text|json|events|prom] [-o OUT] [--vm NAME]\n"
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

struct input {
	const char *path;
	struct tf_reader *r;   /* a migscope trace file, or */
	struct qlog_reader *q; /* a QEMU log-backend trace */
	union ms_rec rec;
	bool have; /* rec holds the next record */
	bool done;
	bool failed;
};

static void advance(struct input *in)
{
	int r = in->q ? qlog_read(in->q, &in->rec) : tf_read(in->r, &in->rec);

	in->have = r > 0;
	if (r <= 0)
		in->done = true;
	if (r < 0)
		in->failed = true;
}

/* Open one input: a trace file by its magic, else a QEMU log if it has a
 * trace line, else the trace reader's own message says what it is not. */
static int open_input(struct input *in, const struct qlog_opts *qo)
{
	char err[512];

	if (!tf_is_trace_file(in->path) && qlog_is_log(in->path)) {
		in->q = qlog_open(in->path, qo, err, sizeof(err));
		if (!in->q) {
			ms_err("replay: %s", err);
			return -1;
		}
		return 0;
	}
	in->r = tf_reader_open(in->path, err, sizeof(err));
	if (!in->r) {
		ms_err("replay: %s", err);
		return -1;
	}
	return 0;
}

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
static const struct prom_tl_clock *replay_clock(const struct input *in, size_t n,
						const struct tl *tl, struct prom_tl_clock *c)
{
	if (!tl_single_clock(tl))
		return NULL;
	c->mono_ns = c->real_ns = 0;
	for (size_t i = 0; i < n; i++) {
		if (in[i].r) {
			c->mono_ns = tf_reader_meta(in[i].r)->mono_ns;
			c->real_ns = tf_reader_meta(in[i].r)->real_ns;
			break;
		}
	}
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
	struct qlog_opts qo = {};
	uint64_t skipped = 0, unknown = 0, malformed = 0, nots = 0;
	size_t nlogs = 0, ntraces = 0;
	struct input in[MAX_FILES] = {};
	enum fmt fmt = FMT_TEXT;
	const char *outpath = NULL;
	struct report_opts ro = {};
	char note[1024] = "";
	size_t nin = 0;
	int opt, ret = MS_EXIT_FAIL;
	uint64_t last_ts = 0, lost = 0;
	struct tl *tl = NULL;
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
		case 'V': qo.vm = optarg; break;
		case 'U': qo.uuid = optarg; break;
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
		if (open_input(&in[nin], &qo))
			goto out;
		if (in[nin].q)
			nlogs++;
		else
			ntraces++;
	}
	/* one QEMU process per log: two logs with one pid get pseudo pids */
	for (size_t i = 0; i < nin; i++)
		for (size_t j = 0; in[i].q && j < i; j++)
			if (in[j].q && qlog_pid(in[j].q) == qlog_pid(in[i].q))
				qlog_set_pid(in[i].q, PSEUDO_PID_BASE + (uint32_t)i);
	tl = tl_new();
	if (!tl) {
		ms_err("replay: out of memory");
		goto out;
	}
	/* Sides recorded on one boot of one host share CLOCK_MONOTONIC; QEMU
	 * logs are on the wall clock (taken as one clock among themselves:
	 * one host, or hosts kept in step by NTP), never the traces' clock. */
	for (size_t i = 0; i < nin; i++) {
		const struct tf_reader *first = NULL;

		for (size_t j = 0; j < i && !first; j++)
			if (in[j].r)
				first = in[j].r;
		if (in[i].r && first &&
		    strcmp(tf_reader_meta(in[i].r)->boot_id, tf_reader_meta(first)->boot_id))
			tl_set_single_clock(tl, false);
	}
	if (nlogs && ntraces)
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
			 in[i].q ? qlog_error(in[i].q) : tf_reader_error(in[i].r));
	}
	for (size_t i = 0; i < nin; i++) {
		struct qlog_stats st;

		if (!in[i].q)
			continue;
		qlog_stats(in[i].q, &st);
		skipped += qlog_skipped(&st);
		unknown += st.unknown_events;
		malformed += st.malformed;
		nots += st.no_timestamp;
	}
	ro.lost = lost;
	ro.input_error = note[0] ? note : NULL;
	ro.pretty = true;
	if (fmt == FMT_TEXT)
		report_text(out, tl, &ro);
	else if (fmt == FMT_JSON && json_with_skipped(out, tl, &ro, nlogs > 0, skipped))
		report_json(out, tl, &ro);
	else if (fmt == FMT_PROM)
		prom_render_tl(out, tl, lost > tl_lost_total(tl) ? lost : tl_lost_total(tl),
			       replay_clock(in, nin, tl, &clock));
	if (fflush(out) || ferror(out)) {
		ms_err("replay: write error: %s", strerror(errno));
		goto out;
	}
	if (skipped)
		fprintf(stderr,
			"migscope: replay: note: %llu lines of the QEMU log%s skipped (%llu events "
			"not in the catalog, %llu other lines, %llu without timestamp)\n",
			(unsigned long long)skipped, nlogs > 1 ? "s" : "",
			(unsigned long long)unknown, (unsigned long long)malformed,
			(unsigned long long)nots);
	if (note[0]) {
		ms_err("replay: %s", note);
		goto out;
	}
	ret = 0;
out:
	if (out && out != stdout)
		fclose(out);
	tl_free(tl);
	for (size_t i = 0; i < nin; i++) {
		tf_reader_close(in[i].r);
		qlog_close(in[i].q);
	}
	return ret;
}
