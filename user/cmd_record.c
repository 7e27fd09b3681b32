// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* migscope record: live capture of QEMU processes to a trace file. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cmd.h"
#include "live.h"
#include "logsrc.h"
#include "tracefile.h"
#include "util.h"

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	stop_sig = sig;
}

/* two forms: BPF (0), followed logs (1) */
const struct cmd_usage cmd_record_usage = {
    .name = "record",
    .nforms = 2,
    .opts = (const struct cmd_opt[]){
	{"follow", 'F', "PATH", CMD_O_REPEAT, CMD_FORM(1), CMD_FORM(1)},
	CMD_LIVE_OPTIONS(CMD_FORM(0)),
	{"output", 'o', "FILE", CMD_O_SHORT | CMD_O_SHOW_SHORT, 0, CMD_FORM(0) | CMD_FORM(1)},
	{"duration", 'd', "S", CMD_O_SHORT, 0, 0},
	CMD_COMMON_OPTIONS,
	{},
    }};

static void help(FILE *f)
{
	cmd_print_usage(f, "Usage: ", NULL, &cmd_record_usage);
	fprintf(f,
		"Trace every QEMU process (found now or started later), or the given PIDs, and\n"
		"write the events to a compressed trace file. SIGINT or SIGTERM end the file\n"
		"cleanly; a killed recorder leaves a file whose complete chunks replay.\n"
		"--binary attaches to a QEMU binary before any process runs it, so that the first\n"
		"probes of a QEMU started later are not missed (without it: the usual install\n"
		"places such as /usr/libexec/qemu-kvm, where present).\n"
		"Needs root (or CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE).\n"
		"--follow PATH records QEMU logs as they are written instead (a file, or a\n"
		"directory of *.log; for QEMU without USDT probes; no root): what they hold\n"
		"already is not recorded; the records are on this host's monotonic clock, as\n"
		"live ones.\n\n"
		"Examples:\n"
		"  migscope record -o mig.trace\n"
		"  migscope record -p 4242 -p 4243 -o mig.trace --duration 60\n"
		"  migscope record --follow /var/log/libvirt/qemu -o mig.trace\n");
}

struct rec_ctx {
	/* the command line */
	struct cmd_live la;
	const char *out;
	double duration;
	char *follow[FW_MAX]; /* --follow PATH, each time it is given */
	size_t nfollow;
	/* the run */
	struct tf_writer *w;
	int werr;
	struct live *l;
	struct logsrc *logs; /* --follow: instead of l */
};

static int on_rec(const union ms_rec *r, void *arg)
{
	struct rec_ctx *c = arg;

	int ret = tf_write(c->w, r);

	/* -EINVAL refuses one malformed record; only I/O errors stop */
	if (ret < 0 && ret != -EINVAL) {
		c->werr = 1;
		return -EIO;
	}
	return 0;
}

/* The command line into c: 0, -1 after --help, or an exit status. */
static int rec_parse(int argc, char **argv, struct rec_ctx *c)
{
	int opt, r;

	cmd_live_init(&c->la);
	optind = 1;
	while ((opt = cmd_getopt(argc, argv, &cmd_record_usage)) != -1) {
		if (cmd_common_opt(opt))
			continue;
		r = cmd_live_opt("record", opt, optarg, &c->la);
		if (r < 0)
			return MS_EXIT_USAGE;
		if (r)
			continue;
		switch (opt) {
		case 'F':
			if (cmd_add_file("record", "--follow", optarg, c->follow, &c->nfollow,
					 FW_MAX))
				return MS_EXIT_USAGE;
			break;
		case 'o': c->out = optarg; break;
		case 'd':
			if (ms_parse_seconds(optarg, &c->duration) || c->duration <= 0) {
				ms_err("record: --duration takes seconds > 0, not '%s'", optarg);
				return MS_EXIT_USAGE;
			}
			break;
		case 'h': help(stdout); return -1;
		default: help(stderr); return MS_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		ms_err("record: unexpected argument '%s'", argv[optind]);
		return MS_EXIT_USAGE;
	}
	if (!c->out) {
		ms_err("record: -o FILE is required");
		return MS_EXIT_USAGE;
	}
	return cmd_follow_check("record", c->nfollow, 0, &c->la.lo);
}

/* The file opened, the BPF side loaded and attached: 0, or an exit status
 * with the file removed. */
static int rec_start(struct rec_ctx *c)
{
	struct sigaction sa = {.sa_handler = on_signal};
	struct live_stats st;
	struct tf_meta meta;
	char err[512];

	tf_meta_local(&meta);
	c->w = tf_writer_open(c->out, &meta, err, sizeof(err));
	if (!c->w) {
		ms_err("record: %s", err);
		return MS_EXIT_FAIL;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (c->nfollow) {
		struct logsrc_stats ls;

		c->logs = logsrc_open(c->follow, c->nfollow, err, sizeof(err));
		if (!c->logs || logsrc_skip_history(c->logs) < 0) {
			ms_err("record: %s", c->logs ? "cannot read the logs" : err);
			logsrc_close(c->logs);
			tf_writer_close(c->w, 0);
			unlink(c->out);
			return MS_EXIT_FAIL;
		}
		logsrc_stats(c->logs, &ls);
		fprintf(
		    stderr,
		    "migscope: recording to %s: following %s%s (%llu log file%s); Ctrl-C stops\n",
		    c->out, c->follow[0], c->nfollow > 1 ? " and the other paths" : "",
		    (unsigned long long)ls.files.followed, ls.files.followed == 1 ? "" : "s");
		return 0;
	}
	if (live_open(&c->la.lo, on_rec, c, &c->l, err, sizeof(err))) {
		ms_err("record: %s", err);
		tf_writer_close(c->w, 0);
		unlink(c->out);
		return MS_EXIT_FAIL;
	}
	live_stats(c->l, &st);
	fprintf(stderr,
		"migscope: recording to %s: %u QEMU process%s traced, %u probes attached; "
		"Ctrl-C stops\n",
		c->out, st.procs, st.procs == 1 ? "" : "es", st.probes_attached);
	return 0;
}

/* logsrc's callback (its arguments the other way round) */
static int on_log_rec(void *arg, const union ms_rec *r)
{
	return on_rec(r, arg);
}

/* Wait up to timeout_ms for the source, its records to the file: their
 * count, or a negative errno. */
static int rec_poll(struct rec_ctx *c, int timeout_ms)
{
	long n;

	if (!c->logs)
		return live_poll(c->l, timeout_ms);
	n = logsrc_poll(c->logs, timeout_ms, on_log_rec, c);
	return n < 0 ? (int)n : (int)(n > INT32_MAX ? INT32_MAX : n);
}

/* Until a signal or --duration: records to the file, a chunk a second. 0,
 * or MS_EXIT_FAIL after a read or write error (said). */
static int rec_loop(struct rec_ctx *c)
{
	uint64_t start, last_flush;
	int r;

	start = last_flush = ms_now_mono();
	while (!stop_sig) {
		uint64_t now;

		r = rec_poll(c, 200);
		if (r < 0) {
			ms_err("record: %s", c->werr ? tf_writer_error(c->w) : strerror(-r));
			return MS_EXIT_FAIL;
		}
		now = ms_now_mono();
		if (now - last_flush >= 1000000000ull) {
			if (c->l)
				live_tick(c->l);
			if (tf_writer_flush(c->w) < 0) {
				ms_err("record: %s", tf_writer_error(c->w));
				c->werr = 1;
				return MS_EXIT_FAIL;
			}
			last_flush = now;
		}
		if (c->duration > 0 && now - start >= (uint64_t)(c->duration * 1e9))
			break;
	}
	/* what the kernel already holds (what the logs have) belongs to the file */
	while ((r = rec_poll(c, 0)) > 0 && c->l)
		;
	if (r < 0) {
		ms_err("record: %s", c->werr ? tf_writer_error(c->w) : strerror(-r));
		return MS_EXIT_FAIL;
	}
	if (c->l)
		live_tick(c->l);
	return 0;
}

/* The file finished (its trailer) and the BPF side closed; ret, or
 * MS_EXIT_FAIL when the file cannot be finished. */
static int rec_stop(struct rec_ctx *c, int ret)
{
	struct live_stats st;
	int r;

	memset(&st, 0, sizeof(st));
	if (c->l)
		live_stats(c->l, &st);
	else {
		struct logsrc_stats ls;

		logsrc_stats(c->logs, &ls);
		st.events = logsrc_records(&ls);
	}
	r = tf_writer_close(c->w, st.lost);
	/* after a write error (a full disk) the file ends at its last whole
	 * chunk: that error was the one line */
	if (r < 0 && !c->werr) {
		ms_err("record: %s: cannot finish the file: %s", c->out, strerror(-r));
		ret = MS_EXIT_FAIL;
	}
	live_close(c->l);
	logsrc_close(c->logs);
	fprintf(stderr, "migscope: %s: %llu events, %llu lost\n", c->out,
		(unsigned long long)st.events, (unsigned long long)st.lost);
	return ret;
}

int cmd_record(int argc, char **argv)
{
	struct rec_ctx c = {};
	int ret = rec_parse(argc, argv, &c);

	if (ret)
		return ret < 0 ? 0 : ret;
	ret = rec_start(&c);
	if (ret)
		return ret;
	return rec_stop(&c, rec_loop(&c));
}
