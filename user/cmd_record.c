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
#include "tracefile.h"
#include "util.h"

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	stop_sig = sig;
}

const char *const cmd_record_synopsis[] = {
    "[-p PID ...] [--binary PATH ...] [--ring-size MB] -o FILE [--duration S]", NULL};

static void help(FILE *f)
{
	cmd_print_synopsis(f, "Usage: ", NULL, "record", cmd_record_synopsis);
	fprintf(f,
		"Trace every QEMU process (found now or started later), or the given PIDs, and\n"
		"write the events to a compressed trace file. SIGINT or SIGTERM end the file\n"
		"cleanly; a killed recorder leaves a file whose complete chunks replay.\n"
		"--binary attaches to a QEMU binary before any process runs it, so that the first\n"
		"probes of a QEMU started later are not missed (without it: the usual install\n"
		"places such as /usr/libexec/qemu-kvm, where present).\n"
		"Needs root (or CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE).\n\n"
		"Examples:\n"
		"  migscope record -o mig.trace\n"
		"  migscope record -p 4242 -p 4243 -o mig.trace --duration 60\n");
}

struct rec_ctx {
	struct tf_writer *w;
	int werr;
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

int cmd_record(int argc, char **argv)
{
	static const struct option opts[] = {
	    CMD_LIVE_OPTIONS,
	    {"output", required_argument, NULL, 'o'},
	    {"duration", required_argument, NULL, 'd'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	struct cmd_live la;
	int opt, ret = MS_EXIT_FAIL, r;
	double duration = 0;
	const char *out = NULL;
	struct rec_ctx c = {};
	struct live *l = NULL;
	struct live_stats st;
	struct sigaction sa = {.sa_handler = on_signal};
	struct tf_meta meta;
	uint64_t start, last_flush;
	char err[512];

	cmd_live_init(&la);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "p:o:d:vh", opts, NULL)) != -1) {
		if (cmd_common_opt(opt))
			continue;
		r = cmd_live_opt("record", opt, optarg, &la);
		if (r < 0)
			return MS_EXIT_USAGE;
		if (r)
			continue;
		switch (opt) {
		case 'o': out = optarg; break;
		case 'd':
			if (ms_parse_seconds(optarg, &duration) || duration <= 0) {
				ms_err("record: --duration takes seconds > 0, not '%s'", optarg);
				return MS_EXIT_USAGE;
			}
			break;
		case 'h': help(stdout); return 0;
		default: help(stderr); return MS_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		ms_err("record: unexpected argument '%s'", argv[optind]);
		return MS_EXIT_USAGE;
	}
	if (!out) {
		ms_err("record: -o FILE is required");
		return MS_EXIT_USAGE;
	}

	tf_meta_local(&meta);
	c.w = tf_writer_open(out, &meta, err, sizeof(err));
	if (!c.w) {
		ms_err("record: %s", err);
		return MS_EXIT_FAIL;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	r = live_open(&la.lo, on_rec, &c, &l, err, sizeof(err));
	if (r) {
		ms_err("record: %s", err);
		tf_writer_close(c.w, 0);
		unlink(out);
		return MS_EXIT_FAIL;
	}
	live_stats(l, &st);
	fprintf(stderr,
		"migscope: recording to %s: %u QEMU process%s traced, %u probes attached; "
		"Ctrl-C stops\n",
		out, st.procs, st.procs == 1 ? "" : "es", st.probes_attached);

	start = last_flush = ms_now_mono();
	while (!stop_sig) {
		uint64_t now;

		r = live_poll(l, 200);
		if (r < 0) {
			ms_err("record: %s", c.werr ? tf_writer_error(c.w) : strerror(-r));
			goto out;
		}
		now = ms_now_mono();
		if (now - last_flush >= 1000000000ull) {
			live_tick(l);
			if (tf_writer_flush(c.w) < 0) {
				ms_err("record: %s", tf_writer_error(c.w));
				c.werr = 1;
				goto out;
			}
			last_flush = now;
		}
		if (duration > 0 && now - start >= (uint64_t)(duration * 1e9))
			break;
	}
	/* what the kernel already holds belongs to the file */
	while ((r = live_poll(l, 0)) > 0)
		;
	live_tick(l);
	ret = 0;
out:
	live_stats(l, &st);
	r = tf_writer_close(c.w, st.lost);
	/* after a write error (a full disk) the file ends at its last whole
	 * chunk: that error was the one line */
	if (r < 0 && !c.werr) {
		ms_err("record: %s: cannot finish the file: %s", out, strerror(-r));
		ret = MS_EXIT_FAIL;
	}
	live_close(l);
	fprintf(stderr, "migscope: %s: %llu events, %llu lost\n", out,
		(unsigned long long)st.events, (unsigned long long)st.lost);
	return ret;
}
