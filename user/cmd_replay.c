// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * migscope replay: reconstruct migrations from trace files and QEMU
 * log-backend traces (told apart by the trace file magic). No root needed.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include "catalog.h"
#include "cmd.h"
#include "evdump.h"
#include "input.h"
#include "logsrc.h"
#include "perfetto.h"
#include "svg.h"
#include "qemulog.h"
#include "prom_tl.h"
#include "report.h"
#include "timeline.h"
#include "tracefile.h"
#include "util.h"

/* two forms: files (0), followed logs (1) */
const struct cmd_usage cmd_replay_usage = {
    .name = "replay",
    .args = {"FILE..."},
    .nforms = 2,
    .opts = (const struct cmd_opt[]){
	{"follow", 'F', "PATH", CMD_O_REPEAT, CMD_FORM(1), CMD_FORM(1)},
	{"format", 'f', "text|json|events|prom|perfetto|svg", CMD_O_SHORT, 0, 0},
	{"migration", 'M', "N", 0, 0, 0},
	{"output", 'o', "OUT", CMD_O_SHORT | CMD_O_SHOW_SHORT, 0, 0},
	{"vm", 'V', "NAME", 0, 0, 0},
	{"uuid", 'U', "UUID", 0, 0, 0},
	{"json", 'j', NULL, CMD_O_SHORT | CMD_O_HIDDEN, 0, 0},
	CMD_COMMON_OPTIONS,
	{},
    }};

static void help(FILE *f)
{
	cmd_print_usage(f, "Usage: ", NULL, &cmd_replay_usage);
	fprintf(f,
		"Reconstruct every migration of one or more trace files (for instance a source's\n"
		"and a destination's recorded on one host) and print the timeline report.\n"
		"  text    milestones, devices and figures per migration (default)\n"
		"  json    the same as JSON (the contract of docs/figures.md)\n"
		"  events  every record, one JSON object a line\n"
		"  prom    the Prometheus exposition `migscope serve` would give at the end\n"
		"  perfetto  Chrome Trace Event JSON for the Perfetto UI or chrome://tracing\n"
		"  svg     a picture of each migration pair: lanes, devices, the ACK, the\n"
		"          downtime and its breakdown, convergence; --migration N draws the\n"
		"          pair of migration N (its index in the JSON report) alone\n"
		"A FILE may also be the log of QEMU's `log` trace backend (qemu -D FILE -msg\n"
		"timestamp=on -trace events=LIST, see docs/qemu.md): lines it does not know are\n"
		"skipped and counted. A log does not name its VM: --vm NAME (and --uuid UUID)\n"
		"give the VM of the logs, so that a source's and a destination's log pair.\n"
		"A damaged or truncated file replays every complete chunk, then names where it\n"
		"stopped; the exit status is then 1.\n"
		"--follow PATH reads QEMU logs (a file, or a directory of *.log) from their\n"
		"start and goes on as they are written, until SIGINT or SIGTERM, then prints\n"
		"the report; --format events prints each record as it comes.\n\n"
		"Examples:\n"
		"  migscope replay mig.trace\n"
		"  migscope replay src.trace dst.trace --format json -o report.json\n"
		"  migscope replay src.trace dst.trace --format svg -o mig.svg\n"
		"  migscope replay --vm web01 src-qemu.log dst-qemu.log\n"
		"  migscope replay --follow /var/log/libvirt/qemu/web01.log --format events\n");
}

enum fmt { FMT_TEXT, FMT_JSON, FMT_EVENTS, FMT_PROM, FMT_PERFETTO, FMT_SVG };

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

/* What puts the records on unix time for --format prom (in_unix_clock),
 * NULL when the inputs are on several clocks. */
static const struct prom_tl_clock *replay_clock(const struct in_set *in, struct prom_tl_clock *c)
{
	return in_unix_clock(in, &c->mono_ns, &c->real_ns) ? c : NULL;
}

struct replay_ctx {
	/* the command line */
	struct in_opts io;
	enum fmt fmt;
	long migration; /* --migration N, -1 all */
	const char *outpath;
	char **files;
	size_t nfiles;
	char *follow[FW_MAX]; /* --follow PATH, each time it is given */
	size_t nfollow;
	/* the run */
	struct in_set *in;
	struct logsrc *logs; /* --follow */
	int sigfd;
	size_t nlogs;
	struct tl *tl;
	FILE *out;
	uint64_t last_ts;
};

/* The command line into c: 0, -1 after --help, or an exit status. */
static int replay_parse(int argc, char **argv, struct replay_ctx *c)
{
	int opt;

	c->fmt = FMT_TEXT;
	c->migration = -1;
	optind = 1;
	while ((opt = cmd_getopt(argc, argv, &cmd_replay_usage)) != -1) {
		if (opt == 'j') {
			c->fmt = FMT_JSON;
			continue;
		}
		if (cmd_common_opt(opt))
			continue;
		switch (opt) {
		case 'f':
			if (!strcmp(optarg, "text")) {
				c->fmt = FMT_TEXT;
			} else if (!strcmp(optarg, "json")) {
				c->fmt = FMT_JSON;
			} else if (!strcmp(optarg, "events")) {
				c->fmt = FMT_EVENTS;
			} else if (!strcmp(optarg, "prom")) {
				c->fmt = FMT_PROM;
			} else if (!strcmp(optarg, "perfetto")) {
				c->fmt = FMT_PERFETTO;
			} else if (!strcmp(optarg, "svg")) {
				c->fmt = FMT_SVG;
			} else {
				ms_err("replay: unknown format '%s' (text, json, events, prom, "
				       "perfetto or svg)",
				       optarg);
				return MS_EXIT_USAGE;
			}
			break;
		case 'M': {
			char *end;

			errno = 0;
			c->migration = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || c->migration < 0) {
				ms_err("replay: --migration takes a migration's index (0, 1, ...), "
				       "not '%s'",
				       optarg);
				return MS_EXIT_USAGE;
			}
			break;
		}
		case 'F':
			if (cmd_add_file("replay", "--follow", optarg, c->follow, &c->nfollow,
					 FW_MAX))
				return MS_EXIT_USAGE;
			break;
		case 'o': c->outpath = optarg; break;
		case 'V': c->io.vm = optarg; break;
		case 'U': c->io.uuid = optarg; break;
		case 'h': help(stdout); return -1;
		default: help(stderr); return MS_EXIT_USAGE;
		}
	}
	if (c->migration >= 0 && c->fmt != FMT_SVG) {
		ms_err("replay: --migration goes with --format svg");
		return MS_EXIT_USAGE;
	}
	if (c->nfollow) {
		if (optind < argc) {
			ms_err("replay: --follow reads the logs it follows, not '%s' too",
			       argv[optind]);
			return MS_EXIT_USAGE;
		}
		return 0;
	}
	if (optind >= argc) {
		ms_err("replay: no trace file given");
		return MS_EXIT_USAGE;
	}
	if (argc - optind > IN_MAX) {
		ms_err("replay: at most %d files", IN_MAX);
		return MS_EXIT_USAGE;
	}
	c->files = argv + optind;
	c->nfiles = (size_t)(argc - optind);
	return 0;
}

/* --follow: SIGINT and SIGTERM (and SIGHUP) end the reading, through a
 * signalfd polled with the logs */
static int follow_open(struct replay_ctx *c, char *err, size_t errlen)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) ||
	    (c->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		snprintf(err, errlen, "cannot set up signal handling: %s", strerror(errno));
		return -1;
	}
	c->logs = logsrc_open(c->follow, c->nfollow, err, errlen);
	if (!c->logs)
		return -1;
	c->nlogs = c->nfollow;
	return 0;
}

/* The inputs opened, the engine and the output ready: 0 or MS_EXIT_FAIL. */
static int replay_start(struct replay_ctx *c)
{
	char err[1024];

	c->out = stdout;
	c->sigfd = -1;
	if (c->nfollow) {
		if (follow_open(c, err, sizeof(err))) {
			ms_err("replay: %s", err);
			return MS_EXIT_FAIL;
		}
	} else {
		c->in = in_open(c->files, c->nfiles, &c->io, err, sizeof(err));
		if (!c->in) {
			ms_err("replay: %s", err);
			return MS_EXIT_FAIL;
		}
		for (size_t k = 0; k < in_files(c->in); k++)
			c->nlogs += in_is_log(c->in, k);
	}
	c->tl = tl_new();
	if (!c->tl) {
		ms_err("replay: out of memory");
		return MS_EXIT_FAIL;
	}
	if (c->in)
		in_setup_tl(c->in, c->tl);
	if (c->outpath) {
		c->out = fopen(c->outpath, "w");
		if (!c->out) {
			ms_err("replay: cannot write %s: %s", c->outpath, strerror(errno));
			return MS_EXIT_FAIL;
		}
	}
	return 0;
}

static void feed(struct replay_ctx *c, const union ms_rec *rec)
{
	if (rec->h.ts > c->last_ts)
		c->last_ts = rec->h.ts;
	if (c->fmt == FMT_EVENTS)
		evdump_json_line(c->out, rec);
	tl_feed(c->tl, rec);
}

/* logsrc's callback: a followed log's record, named by --vm / --uuid when
 * its log does not name it */
static int follow_rec(void *arg, const union ms_rec *r)
{
	struct replay_ctx *c = arg;
	union ms_rec p;

	if (r->h.kind == MS_EV_PROC &&
	    ((c->io.vm && !r->proc.vm[0]) || (c->io.uuid && !r->proc.uuid[0]))) {
		p = *r;
		if (c->io.vm && !p.proc.vm[0])
			ms_strlcpy(p.proc.vm, c->io.vm, sizeof(p.proc.vm));
		if (c->io.uuid && !p.proc.uuid[0])
			ms_strlcpy(p.proc.uuid, c->io.uuid, sizeof(p.proc.uuid));
		r = &p;
	}
	feed(c, r);
	return 0;
}

/* --follow: the logs as they are written (on their wall clock, as replay
 * takes a log), until a signal; what was written by then is read too.
 * 0 or MS_EXIT_FAIL. */
static int follow_loop(struct replay_ctx *c)
{
	struct pollfd pfd[2] = {{.fd = logsrc_fd(c->logs), .events = POLLIN},
				{.fd = c->sigfd, .events = POLLIN}};
	bool stop = false;
	long n;

	do {
		if (poll(pfd, 2, 1000) < 0 && errno != EINTR) {
			ms_err("replay: waiting for the followed logs: %s", strerror(errno));
			return MS_EXIT_FAIL;
		}
		stop = pfd[1].revents & POLLIN;
		n = logsrc_read(c->logs, 0, follow_rec, c);
		if (n < 0) {
			ms_err("replay: reading the followed logs: %s", strerror((int)-n));
			return MS_EXIT_FAIL;
		}
		if (c->fmt == FMT_EVENTS && n > 0 && fflush(c->out)) {
			ms_err("replay: write error: %s", strerror(errno));
			return MS_EXIT_FAIL;
		}
	} while (!stop);
	tl_finish(c->tl, c->last_ts);
	return 0;
}

/* Every record into the engine (and out, for --format events). */
static void replay_loop(struct replay_ctx *c)
{
	union ms_rec rec;

	while (in_next(c->in, &rec) > 0)
		feed(c, &rec);
	tl_finish(c->tl, c->last_ts);
}

/* The report in its format, the notes, the inputs' error: 0 or MS_EXIT_FAIL. */
static int replay_report(struct replay_ctx *c)
{
	struct report_opts ro = {};
	struct in_log_counts lc;
	struct prom_tl_clock clock;
	uint64_t lost;

	memset(&lc, 0, sizeof(lc));
	if (c->in) {
		in_log_counts(c->in, &lc);
		lost = in_lost(c->in);
		ro.input_error = in_error(c->in)[0] ? in_error(c->in) : NULL;
	} else {
		struct logsrc_stats ls;

		/* a followed log is on unix time: clock (0, 0) */
		logsrc_stats(c->logs, &ls);
		lc.skipped = lc.malformed = ls.skipped;
		lost = 0;
	}
	ro.lost = lost;
	ro.pretty = true;
	if (c->fmt == FMT_TEXT)
		report_text(c->out, c->tl, &ro);
	else if (c->fmt == FMT_JSON &&
		 json_with_skipped(c->out, c->tl, &ro, c->nlogs > 0, lc.skipped))
		report_json(c->out, c->tl, &ro);
	else if (c->fmt == FMT_PERFETTO && perfetto_write(c->out, c->tl) == -ENOMEM) {
		ms_err("replay: out of memory");
		return MS_EXIT_FAIL;
	} else if (c->fmt == FMT_SVG) {
		int e = svg_write(c->out, c->tl, c->migration);

		if (e == -ENOENT) {
			ms_err("replay: --migration %ld: the input has %zu migrations (0 to %zu)",
			       c->migration, tl_nmigs(c->tl),
			       tl_nmigs(c->tl) ? tl_nmigs(c->tl) - 1 : 0);
			return MS_EXIT_FAIL;
		}
		if (e == -ENOMEM) {
			ms_err("replay: out of memory");
			return MS_EXIT_FAIL;
		}
	} else if (c->fmt == FMT_PROM) {
		struct prom_tl_source src[FW_MAX];
		size_t nsrc = 0;

		if (c->in) {
			nsrc = in_sources(c->in, src, IN_MAX);
		} else {
			for (; nsrc < c->nfollow; nsrc++)
				src[nsrc] = (struct prom_tl_source){"log", c->follow[nsrc]};
			memset(&clock, 0, sizeof(clock));
		}
		prom_render_tl(c->out, c->tl,
			       lost > tl_lost_total(c->tl) ? lost : tl_lost_total(c->tl), src, nsrc,
			       c->in ? replay_clock(c->in, &clock) : &clock);
	}
	if (fflush(c->out) || ferror(c->out)) {
		ms_err("replay: write error: %s", strerror(errno));
		return MS_EXIT_FAIL;
	}
	if (lc.skipped)
		fprintf(stderr,
			"migscope: replay: note: %llu lines of the QEMU log%s skipped (%llu events "
			"not in the catalog, %llu other lines, %llu without timestamp)\n",
			(unsigned long long)lc.skipped, c->nlogs > 1 ? "s" : "",
			(unsigned long long)lc.unknown, (unsigned long long)lc.malformed,
			(unsigned long long)lc.no_timestamp);
	if (ro.input_error) {
		ms_err("replay: %s", ro.input_error);
		return MS_EXIT_FAIL;
	}
	return 0;
}

static void replay_stop(struct replay_ctx *c)
{
	if (c->out && c->out != stdout)
		fclose(c->out);
	tl_free(c->tl);
	in_close(c->in);
	logsrc_close(c->logs);
	if (c->sigfd >= 0)
		close(c->sigfd);
}

int cmd_replay(int argc, char **argv)
{
	struct replay_ctx c = {};
	int ret = replay_parse(argc, argv, &c);

	if (ret)
		return ret < 0 ? 0 : ret;
	ret = replay_start(&c);
	if (!ret && c.logs)
		ret = follow_loop(&c);
	else if (!ret)
		replay_loop(&c);
	if (!ret)
		ret = replay_report(&c);
	replay_stop(&c);
	return ret;
}
