// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * migscope top: the live troubleshooting view. Live, the collector thread
 * owns capture and the engine; this thread takes the collector's lock only
 * to copy what it shows (top_snap_take), then sorts, formats and draws
 * without it. With --replay the engine is fed from a trace file, paced at
 * --speed times real time (or, with --batch, as fast as it can).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "cmd.h"
#include "collector.h"
#include "follow.h"
#include "input.h"
#include "top.h"
#include "tracefile.h"
#include "util.h"

#define DEFAULT_KEEP 300.0
#define REPLAY_SLICE 200000 /* records fed between two looks at the keys */

const struct cmd_usage cmd_top_usage = {.name = "top",
					.nforms = 1,
					.opts = (const struct cmd_opt[]){
					    CMD_LIVE_OPTIONS(0),
					    {"interval", 'd', "S", CMD_O_SHORT, 0, 0},
					    {"keep", 'K', "S", 0, 0, 0},
					    {"replay", 'r', "FILE", 0, 0, 0},
					    {"speed", 'S', "X", CMD_O_NESTED, 0, 0},
					    {"follow", 'F', "PATH", CMD_O_REPEAT, 0, 0},
					    {"batch", 'b', NULL, CMD_O_SHORT, 0, 0},
					    {NULL, 'n', "N", CMD_O_SHORT | CMD_O_NESTED, 0, 0},
					    {NULL, 'j', NULL, CMD_O_SHORT | CMD_O_HIDDEN, 0, 0},
					    CMD_COMMON_OPTIONS,
					    {},
					}};

static void help(FILE *f)
{
	cmd_print_usage(f, "Usage: ", NULL, &cmd_top_usage);
	fprintf(
	    f,
	    "A top-like view of every QEMU live migration on this host: one row per QEMU\n"
	    "process with an active or recent migration (VM, role, phase, elapsed time,\n"
	    "precopy progress, bandwidth, expected downtime against the limit,\n"
	    "switchover-ack state, last downtime); stalled migrations are flagged with the\n"
	    "reason. The detail pane shows the selected migration's VFIO devices, its\n"
	    "milestones and, once done, its downtime breakdown.\n\n"
	    "  -p, --pid PID      only these QEMU processes (repeatable)\n"
	    "  --binary PATH      attach to a QEMU binary before a process runs it (as record)\n"
	    "  -d, --interval S   seconds between updates (default 1); with --replay --batch,\n"
	    "                     seconds of trace time between snapshots\n"
	    "  --keep S           how long ended migrations stay listed (default %.0f; 0: always)\n"
	    "  --replay FILE      drive the view from a trace file or a QEMU log instead of\n"
	    "                     live capture; again for several (two hosts' files, logs)\n"
	    "  --speed X          replay at X times real time (default 1)\n"
	    "  --follow PATH      live from QEMU logs as they are written (a file, or a\n"
	    "                     directory of *.log such as /var/log/libvirt/qemu), for\n"
	    "                     QEMU without USDT probes; repeatable; instead of BPF\n"
	    "  -b, --batch        plain-text snapshots on stdout, as top -b: every interval\n"
	    "                     live; with --replay one per interval of trace time, as fast\n"
	    "                     as it can, the last one at the end of the file\n"
	    "  -n N               stop after N snapshots (screen updates)\n\n"
	    "Keys: q quit, Up/Down select, Enter detail pane, s sort, f filter, p pause,\n"
	    "h help. NO_COLOR (set, not empty) turns colours off. Live capture needs root\n"
	    "(or CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE); --replay and --follow do not.\n\n"
	    "Examples:\n"
	    "  migscope top\n"
	    "  migscope top -p 4242 --interval 0.5\n"
	    "  migscope top --replay mig.trace --speed 4\n"
	    "  migscope top --batch -n 10 --interval 2 >> /var/log/migscope-top.log\n"
	    "  migscope top --replay mig.trace --batch --interval 0.5\n"
	    "  migscope top --replay src.trace --replay dst.trace --batch\n"
	    "  migscope top --follow /var/log/libvirt/qemu\n",
	    DEFAULT_KEEP);
}

/* ------------------------------------------------------------------ */
/* signals: handlers only write the signal number to a pipe */

static int sig_pipe[2] = {-1, -1};
static const int top_sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH, SIGTSTP, SIGCONT};
#define NSIGS (int)(sizeof(top_sigs) / sizeof(top_sigs[0]))

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;

	if (write(sig_pipe[1], &b, 1) < 0) {
		/* the pipe is full: a wake-up is pending anyway */
	}
	errno = saved;
}

static int signals_setup(bool tty)
{
	struct sigaction sa = {.sa_handler = on_signal};

	if (pipe2(sig_pipe, O_NONBLOCK | O_CLOEXEC))
		return -errno;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < NSIGS; i++) {
		/* batch: job control and resizes are not ours to handle */
		if (!tty &&
		    (top_sigs[i] == SIGWINCH || top_sigs[i] == SIGTSTP || top_sigs[i] == SIGCONT))
			continue;
		sigaction(top_sigs[i], &sa, NULL);
	}
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static void signals_block(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	for (int i = 0; i < NSIGS; i++)
		sigaddset(&set, top_sigs[i]);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

/* Stop the process as the default SIGTSTP would, once the terminal is given
 * back; returns after SIGCONT. */
static void stop_self(void)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL}, old;

	sigemptyset(&dfl.sa_mask);
	sigaction(SIGTSTP, &dfl, &old);
	raise(SIGTSTP);
	sigaction(SIGTSTP, &old, NULL);
}

/* ------------------------------------------------------------------ */
/* sources */

struct replay {
	const char *path; /* the first file */
	size_t npaths;
	struct in_set *in;
	struct tl *tl;
	union ms_rec rec;
	bool have; /* rec holds the next record */
	bool eof;
	bool failed;
	uint64_t origin; /* start of the recording */
	uint64_t last_ts;
	uint64_t clock; /* the engine's time now */
	uint64_t prev_records, prev_clock;
};

struct top_ctx {
	/* options */
	struct cmd_live live; /* -p, --binary, --ring-size */
	double interval, speed, keep;
	char *replay_paths[IN_MAX]; /* --replay FILE, each time it is given */
	size_t nreplay;
	char *follow[FW_MAX]; /* --follow PATH, each time it is given */
	size_t nfollow;
	bool batch;
	long count; /* -n, 0: no limit */

	/* sources */
	struct collector *col;
	struct replay rp;
	char host[64];

	struct top_snap snap[2];
	int cur;
	/* how long the view held the engine's lock (-v prints it at exit) */
	uint64_t lock_n, lock_max_ns, lock_sum_ns;
};

static void replay_next(struct replay *rp)
{
	rp->have = in_next(rp->in, &rp->rec) > 0;
	if (!rp->have && in_error(rp->in)[0])
		rp->failed = true;
}

/* The recording's clock pair (a QEMU log: on the wall clock itself). */
static void replay_pair(const struct replay *rp, uint64_t *mono, uint64_t *real)
{
	if (!in_clock_pair(rp->in, 0, mono, real))
		*mono = *real = 0;
}

static int replay_open(struct replay *rp, char *const *paths, size_t n, char *err, size_t errlen)
{
	uint64_t mono, real;

	rp->path = paths[0];
	rp->npaths = n;
	rp->in = in_open(paths, n, NULL, err, errlen);
	if (!rp->in)
		return -1;
	rp->tl = tl_new();
	if (!rp->tl) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* a merged file holds two hosts' inputs */
	in_setup_tl(rp->in, rp->tl);
	replay_pair(rp, &mono, &real);
	replay_next(rp);
	rp->origin = rp->have ? rp->rec.h.ts : mono;
	/* the recorder's clock pair at open is the start, when it is before
	 * the first record and not far from it */
	if (rp->have && mono && mono <= rp->origin && rp->origin - mono < 86400ULL * 1000000000ULL)
		rp->origin = mono;
	rp->last_ts = rp->clock = rp->prev_clock = rp->origin;
	if (!rp->have)
		rp->eof = true;
	return 0;
}

/* Feed the records up to t, at most budget of them (0: no limit); the
 * engine's time becomes t, or the last record's at the end of the file or
 * when the budget ran out. Returns false when the budget ran out first. */
static bool replay_to(struct replay *rp, uint64_t t, size_t budget)
{
	size_t n = 0;

	if (rp->eof)
		return true;
	while (rp->have && rp->rec.h.ts <= t) {
		if (budget && n++ == budget) {
			rp->clock = rp->last_ts;
			tl_finish(rp->tl, rp->clock);
			return false;
		}
		if (rp->rec.h.ts > rp->last_ts)
			rp->last_ts = rp->rec.h.ts;
		tl_feed(rp->tl, &rp->rec);
		replay_next(rp);
	}
	if (!rp->have) {
		rp->eof = true;
		rp->clock = rp->last_ts;
	} else {
		rp->clock = t;
	}
	tl_finish(rp->tl, rp->clock);
	return true;
}

static void replay_close(struct replay *rp)
{
	tl_free(rp->tl);
	in_close(rp->in);
}

/* QEMU processes the engine knows and that have not exited, and the catalog
 * probes attached to their binaries (counted once per binary). Engine locked. */
static void count_procs(const struct tl *tl, unsigned int *procs, unsigned int *probes)
{
	size_t np = tl_nprocs(tl);

	*procs = *probes = 0;
	for (size_t i = 0; i < np; i++) {
		const struct tl_proc *p = tl_proc_at(tl, i);
		bool dup = false;

		if (p->exited || !p->has_ident)
			continue;
		(*procs)++;
		for (size_t j = 0; j < i && !dup; j++) {
			const struct tl_proc *q = tl_proc_at(tl, j);

			dup = !q->exited && q->has_ident && !strcmp(q->exe, p->exe);
		}
		if (!dup)
			*probes += p->probes_attached;
	}
}

static void replay_head(struct top_ctx *x, struct top_head *h)
{
	struct replay *rp = &x->rp;
	const struct tl *tl = rp->tl;
	uint64_t rec = tl_records(tl), mono, real;

	snprintf(h->host, sizeof(h->host), "%s", in_host(rp->in, 0)[0] ? in_host(rp->in, 0) : "-");
	{
		char more[32] = "";

		if (rp->npaths > 1)
			snprintf(more, sizeof(more), " +%zu", rp->npaths - 1);
		if (x->batch || x->speed == 1)
			snprintf(h->source, sizeof(h->source), "replay %s%s", rp->path, more);
		else
			snprintf(h->source, sizeof(h->source), "replay %s%s x%g", rp->path, more,
				 x->speed);
	}
	h->eof = rp->eof;
	if (rp->failed)
		snprintf(h->input_error, sizeof(h->input_error), "%s", in_error(rp->in));
	h->trace_rel = rp->clock - rp->origin;
	/* the wall-clock time of that moment, from the recorder's clock pair */
	replay_pair(rp, &mono, &real);
	h->real_ns = real && mono && rp->clock >= mono ? real + (rp->clock - mono) : 0;
	count_procs(tl, &h->procs, &h->probes);
	if (rp->clock > rp->prev_clock)
		h->events_per_s =
		    (double)(rec - rp->prev_records) * 1e9 / (double)(rp->clock - rp->prev_clock);
	rp->prev_records = rec;
	rp->prev_clock = rp->clock;
	h->lost = tl_lost_total(tl);
	h->records = rec;
}

/* Take a snapshot from the source into the other buffer. */
static void take(struct top_ctx *x)
{
	struct top_snap *next = &x->snap[!x->cur], *prev = &x->snap[x->cur];
	struct top_take_opts o = {
	    .keep_ns = (uint64_t)(x->keep * 1e9), .pids = x->live.pids, .npids = x->live.lo.npids};
	struct top_head h = {};
	int ret;

	if (x->col) {
		struct collector_stats st;

		uint64_t t0, held;

		o.now = ms_now_mono();
		collector_lock(x->col);
		t0 = ms_now_mono();
		ret = top_snap_take(next, collector_tl(x->col), prev, &o);
		count_procs(collector_tl(x->col), &h.procs, &h.probes);
		held = ms_now_mono() - t0;
		collector_unlock(x->col);
		x->lock_n++;
		x->lock_sum_ns += held;
		if (held > x->lock_max_ns)
			x->lock_max_ns = held;
		collector_stats(x->col, &st);
		snprintf(h.host, sizeof(h.host), "%s", x->host);
		if (st.follow) {
			snprintf(h.source, sizeof(h.source), "live from %s%s", x->follow[0],
				 x->nfollow > 1 ? " and more" : "");
			h.follow = true;
			h.files = (unsigned int)st.logs.files.followed;
		} else {
			snprintf(h.source, sizeof(h.source), "live");
		}
		h.live = true;
		h.real_ns = ms_now_real();
		h.probes = st.live.probes_attached;
		h.events_per_s = st.events_per_s;
		h.lost = st.live.lost;
		h.records = st.live.events;
		if (st.error[0])
			ms_strlcpy(h.capture_error, st.error, sizeof(h.capture_error));
	} else {
		o.now = x->rp.clock;
		ret = top_snap_take(next, x->rp.tl, prev, &o);
		replay_head(x, &h);
	}
	if (ret)
		return; /* out of memory: keep showing the previous one */
	next->head = h;
	x->cur = !x->cur;
}

static const struct top_snap *shown(const struct top_ctx *x)
{
	return &x->snap[x->cur];
}

/* ------------------------------------------------------------------ */
/* stderr while the screen is up: kept in a file, its latest line shown,
 * all of it printed once the terminal is given back */

static int err_saved = -1;
static FILE *err_tmp;

static void stderr_capture(void)
{
	fflush(stderr);
	err_tmp = tmpfile();
	if (!err_tmp)
		return;
	err_saved = dup(STDERR_FILENO);
	if (err_saved < 0 || dup2(fileno(err_tmp), STDERR_FILENO) < 0) {
		if (err_saved >= 0)
			close(err_saved);
		err_saved = -1;
		fclose(err_tmp);
		err_tmp = NULL;
	}
}

static void stderr_release(void)
{
	char buf[4096];
	size_t n;

	if (err_saved < 0)
		return;
	fflush(stderr);
	dup2(err_saved, STDERR_FILENO);
	close(err_saved);
	err_saved = -1;
	rewind(err_tmp);
	while ((n = fread(buf, 1, sizeof(buf), err_tmp)) > 0)
		fwrite(buf, 1, n, stderr);
	fclose(err_tmp);
	err_tmp = NULL;
}

/* The last complete line written to the captured stderr. */
static void stderr_last(char *out, size_t n)
{
	char buf[512];
	ssize_t got;
	off_t size;
	char *end, *start;

	if (!err_tmp)
		return;
	fflush(stderr);
	size = lseek(fileno(err_tmp), 0, SEEK_END);
	if (size <= 0)
		return;
	got = pread(fileno(err_tmp), buf, sizeof(buf) - 1,
		    size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0);
	if (got <= 0)
		return;
	buf[got] = 0;
	end = buf + got;
	while (end > buf && end[-1] == '\n')
		*--end = 0;
	start = strrchr(buf, '\n');
	start = start ? start + 1 : buf;
	ms_strlcpy(out, start, n);
}

/* ------------------------------------------------------------------ */
/* loops */

/* Wait up to ms for a signal; returns the first one, 0 on timeout. */
static int wait_signal(int ms)
{
	struct pollfd pfd = {.fd = sig_pipe[0], .events = POLLIN};
	unsigned char b;

	if (poll(&pfd, 1, ms) > 0 && read(sig_pipe[0], &b, 1) == 1)
		return b;
	return 0;
}

static bool quit_signal(int sig)
{
	return sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT;
}

static int print_snap(const struct top_ctx *x)
{
	int r = top_print_batch(stdout, shown(x), NULL);

	if (r < 0) {
		if (errno == EPIPE)
			return 1; /* the reader went away: done */
		ms_err("top: writing to stdout: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int run_batch(struct top_ctx *x)
{
	uint64_t iv = (uint64_t)(x->interval * 1e9);
	long printed = 0;
	int r;

	if (!x->col) {
		/* replay: one snapshot per interval of trace time, at once */
		for (uint64_t k = 1;; k++) {
			replay_to(&x->rp, x->rp.origin + k * iv, 0);
			take(x);
			r = print_snap(x);
			if (r)
				return r < 0 ? MS_EXIT_FAIL : 0;
			printed++;
			if (x->rp.eof || (x->count && printed >= x->count))
				break;
		}
		if (x->rp.failed) {
			ms_err("top: %s", in_error(x->rp.in));
			return MS_EXIT_FAIL;
		}
		return 0;
	}
	for (uint64_t next = ms_now_mono();;) {
		uint64_t now;
		int sig = 0;

		take(x);
		r = print_snap(x);
		if (r)
			return r < 0 ? MS_EXIT_FAIL : 0;
		printed++;
		if (x->count && printed >= x->count)
			break;
		next += iv;
		while ((now = ms_now_mono()) < next && !quit_signal(sig))
			sig = wait_signal((int)((next - now + 999999) / 1000000));
		if (quit_signal(sig))
			break;
	}
	return 0;
}

static int run_tui(struct top_ctx *x)
{
	uint64_t iv = (uint64_t)(x->interval * 1e9), now, next, start, paused_at = 0,
		 paused_total = 0;
	struct pollfd pfd[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
				{.fd = sig_pipe[0], .events = POLLIN}};
	struct top_ui *ui;
	bool redraw = true, quit = false;
	long updates = 0;
	char err[256];

	ui = top_ui_new();
	if (!ui) {
		ms_err("top: out of memory");
		return MS_EXIT_FAIL;
	}
	if (top_term_open(err, sizeof(err))) {
		top_ui_free(ui);
		ms_err("top: %s", err);
		return MS_EXIT_FAIL;
	}
	stderr_capture();
	start = next = ms_now_mono();
	while (!quit) {
		int timeout;

		now = ms_now_mono();
		if (now >= next && !top_ui_paused(ui)) {
			bool caught_up = true;

			if (!x->col) {
				uint64_t wall = now - start - paused_total;

				/* a big file at a high speed: feed it in slices,
				 * keys still answered in between */
				caught_up = replay_to(
				    &x->rp, x->rp.origin + (uint64_t)((double)wall * x->speed),
				    REPLAY_SLICE);
			}
			take(x);
			updates++;
			redraw = true;
			next = caught_up ? now + iv : now;
		}
		if (redraw) {
			stderr_last(x->snap[x->cur].head.message,
				    sizeof(x->snap[x->cur].head.message));
			top_ui_draw(ui, shown(x));
			redraw = false;
		}
		if (x->count && updates >= x->count)
			break;
		timeout = top_ui_paused(ui) ? -1 : (int)((next - now + 999999) / 1000000);
		if (poll(pfd, 2, timeout) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents & POLLIN) {
			unsigned char b;

			while (read(sig_pipe[0], &b, 1) == 1) {
				if (quit_signal(b)) {
					quit = true;
				} else if (b == SIGWINCH || b == SIGCONT) {
					top_term_resize();
					redraw = true;
				} else if (b == SIGTSTP) {
					top_term_suspend();
					stop_self();
					top_term_resume();
					redraw = true;
				}
			}
		}
		if (pfd[0].revents & (POLLHUP | POLLERR | POLLNVAL))
			break; /* the terminal went away */
		for (int k; !quit && (k = top_term_key()) != TOP_KEY_NONE;) {
			switch (top_ui_key(ui, k)) {
			case TOP_ACT_QUIT: quit = true; break;
			case TOP_ACT_REDRAW: redraw = true; break;
			case TOP_ACT_PAUSE:
				redraw = true;
				now = ms_now_mono();
				if (top_ui_paused(ui)) {
					paused_at = now;
				} else {
					paused_total += now - paused_at;
					next = now; /* fresh figures at once */
				}
				break;
			default: break;
			}
		}
	}
	top_term_close();
	stderr_release();
	top_ui_free(ui);
	if (!x->col && x->rp.failed) {
		ms_err("top: %s", in_error(x->rp.in));
		return MS_EXIT_FAIL;
	}
	return 0;
}

/* The command line into x: 0, -1 after --help, or an exit status. */
static int top_parse(int argc, char **argv, struct top_ctx *x)
{
	bool speed_set = false;
	int opt, r;

	x->interval = 1;
	x->speed = 1;
	x->keep = DEFAULT_KEEP;
	cmd_live_init(&x->live);
	optind = 1;
	while ((opt = cmd_getopt(argc, argv, &cmd_top_usage)) != -1) {
		if (opt != 'j' && cmd_common_opt(opt))
			continue;
		r = cmd_live_opt("top", opt, optarg, &x->live);
		if (r < 0)
			return MS_EXIT_USAGE;
		if (r)
			continue;
		switch (opt) {
		case 'd':
			if (ms_parse_seconds(optarg, &x->interval) || x->interval < 0.01) {
				ms_err("top: --interval takes seconds >= 0.01, not '%s'", optarg);
				return MS_EXIT_USAGE;
			}
			break;
		case 'K':
			if (ms_parse_seconds(optarg, &x->keep)) {
				ms_err("top: --keep takes seconds, not '%s'", optarg);
				return MS_EXIT_USAGE;
			}
			break;
		case 'r':
			if (cmd_add_file("top", "--replay", optarg, x->replay_paths, &x->nreplay,
					 IN_MAX))
				return MS_EXIT_USAGE;
			break;
		case 'F':
			if (cmd_add_file("top", "--follow", optarg, x->follow, &x->nfollow, FW_MAX))
				return MS_EXIT_USAGE;
			break;
		case 'S':
			if (ms_parse_seconds(optarg, &x->speed) || !(x->speed > 0) ||
			    !isfinite(x->speed)) {
				ms_err("top: --speed takes a factor > 0, not '%s'", optarg);
				return MS_EXIT_USAGE;
			}
			speed_set = true;
			break;
		case 'b': x->batch = true; break;
		case 'n': {
			char *end;

			errno = 0;
			x->count = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || x->count <= 0) {
				ms_err("top: -n takes a count > 0, not '%s'", optarg);
				return MS_EXIT_USAGE;
			}
			break;
		}
		case 'j':
			ms_err("top: no JSON output; use --batch for text, or replay --format "
			       "json");
			return MS_EXIT_USAGE;
		case 'h': help(stdout); return -1;
		default: help(stderr); return MS_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		ms_err("top: unexpected argument '%s'", argv[optind]);
		return MS_EXIT_USAGE;
	}
	if (speed_set && !x->nreplay) {
		ms_err("top: --speed needs --replay FILE");
		return MS_EXIT_USAGE;
	}
	if ((x->live.lo.nbinaries || x->live.lo.ring_bytes) && x->nreplay) {
		ms_err("top: --binary and --ring-size are for live capture, not --replay");
		return MS_EXIT_USAGE;
	}
	if (cmd_follow_check("top", x->nfollow, x->nreplay, &x->live.lo))
		return MS_EXIT_USAGE;
	if (!x->batch && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
		ms_err("top: not a terminal; use --batch for plain-text snapshots (as top -b)");
		return MS_EXIT_FAIL;
	}
	return 0;
}

/* Signals, then the trace file or the collector: 0 or MS_EXIT_FAIL. */
static int top_start(struct top_ctx *x)
{
	struct collector_opts co = {};
	struct utsname un;
	char err[512];
	sigset_t old;
	int ret;

	/* wide characters for the screen; numbers stay in the C locale */
	setlocale(LC_CTYPE, "");

	if (signals_setup(!x->batch)) {
		ms_err("top: cannot set up signal handling: %s", strerror(errno));
		return MS_EXIT_FAIL;
	}
	if (x->nreplay) {
		if (replay_open(&x->rp, x->replay_paths, x->nreplay, err, sizeof(err))) {
			ms_err("top: %s", err);
			return MS_EXIT_FAIL;
		}
		return 0;
	}
	co.live = x->live.lo;
	co.follow = x->follow;
	co.nfollow = x->nfollow;
	co.tick_ms = 500;
	/* what is no longer listed need not be kept */
	co.expire_ns = (uint64_t)(x->keep * 1e9);
	if (!uname(&un))
		ms_strlcpy(x->host, un.nodename, sizeof(x->host));
	/* signals are the main thread's: the collector runs with them blocked */
	signals_block(&old);
	ret = collector_start(&co, &x->col, err, sizeof(err));
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		x->col = NULL;
		ms_err("top: %s", err);
		return MS_EXIT_FAIL;
	}
	return 0;
}

/* The terminal given back, everything closed; ret, or MS_EXIT_FAIL when the
 * collector failed. */
static int top_stop(struct top_ctx *x, int ret)
{
	top_term_close();
	stderr_release();
	if (x->lock_n)
		ms_dbg("top: took %llu snapshots; the engine's lock was held %.1f us on average, "
		       "%.1f us at most",
		       (unsigned long long)x->lock_n, x->lock_sum_ns / 1e3 / (double)x->lock_n,
		       x->lock_max_ns / 1e3);
	if (x->col && collector_stop(x->col) < 0 && !ret)
		ret = MS_EXIT_FAIL;
	if (x->nreplay)
		replay_close(&x->rp);
	top_snap_free(&x->snap[0]);
	top_snap_free(&x->snap[1]);
	for (int i = 0; i < 2; i++)
		if (sig_pipe[i] >= 0) {
			close(sig_pipe[i]);
			sig_pipe[i] = -1;
		}
	return ret;
}

int cmd_top(int argc, char **argv)
{
	static struct top_ctx ctx;
	struct top_ctx *x = &ctx;
	int ret;

	memset(x, 0, sizeof(*x));
	ret = top_parse(argc, argv, x);
	if (ret)
		return ret < 0 ? 0 : ret;
	ret = top_start(x);
	if (!ret) /* the loop: the screen, or plain snapshots */
		ret = x->batch ? run_batch(x) : run_tui(x);
	return top_stop(x, ret);
}
