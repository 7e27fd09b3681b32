// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * migscope serve: the Prometheus exporter. The collector thread feeds the
 * timeline engine; at each tick (1 s) it brings the metrics up to date and
 * publishes an immutable snapshot of them. HTTP threads render the latest
 * snapshot: a scrape never takes the engine's lock, and the collector never
 * waits for a scrape (docs/serve.md, "Concurrency").
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "caps.h"
#include "cmd.h"
#include "collector.h"
#include "gallery.h"
#include "http_server.h"
#include "input.h"
#include "prom_tl.h"
#include "timeline.h"
#include "tracefile.h"
#include "util.h"

#define MIN_EXPIRE_S	  10
#define TICK_MS		  1000
#define FIRST_TICK_WAIT_S 10

struct serve {
	struct prom_tl *pt;
	struct gallery *gal; /* the pictures of /migrations */
	uint64_t expire_ns;
	uint64_t keep_caps; /* the collector thread's capabilities */
	/* migscope_source_info: what the collector reads */
	struct prom_tl_source src[FW_MAX];
	size_t nsrc;
	pthread_mutex_t snap_mu;
	struct prom_snap *snap; /* the latest, under snap_mu */
	_Atomic(struct collector *) coll;
	atomic_int caps; /* collector thread: 0 not yet, 1 dropped, <0 -errno */
	int64_t update_ns;
	uint64_t last_records; /* the engine's record count at the last update */
	bool hooks_on;	       /* the syscall programs attached at the last update */
	unsigned int idle_ticks;
	bool updated; /* a first snapshot is published */
};

/* With no record since the last update and no migration in flight, nothing
 * but expiry can change: update then every IDLE_EVERY ticks only, so that an
 * idle host costs next to nothing. */
#define IDLE_EVERY 15

static bool engine_idle(struct serve *s, const struct tl *tl, uint64_t now)
{
	/* what reaches its expiry by the next tick needs an update */
	uint64_t due = now + (uint64_t)TICK_MS * 1000000ull;

	if (tl_records(tl) != s->last_records)
		return false;
	for (size_t i = 0; i < tl_nprocs(tl); i++) {
		const struct tl_proc *pr = tl_proc_at(tl, i);

		if (pr->cur || (pr->exited && pr->exit_ts + s->expire_ns <= due))
			return false;
	}
	for (size_t i = 0; i < tl_nmigs(tl); i++) {
		const struct tl_mig *m = tl_mig_at(tl, i);

		if (tl_has(m->end_ts) && m->end_ts + s->expire_ns <= due)
			return false;
	}
	return true;
}

/* three forms: live (0), the replay of files (1), followed logs (2) */
const struct cmd_usage cmd_serve_usage = {
    .name = "serve",
    .nforms = 3,
    .opts = (const struct cmd_opt[]){
	{"replay", 'R', "FILE", CMD_O_SHORT, CMD_FORM(1), CMD_FORM(1)},
	{"follow", 'F', "PATH", CMD_O_REPEAT, CMD_FORM(2), CMD_FORM(2)},
	{"listen", 'l', "ADDR:PORT", CMD_O_SHORT, 0, 0},
	{"web-config", 'w', "FILE", CMD_O_SHORT, 0, 0},
	{"record", 'o', "FILE", CMD_O_SHORT, CMD_FORM(0) | CMD_FORM(2), 0},
	{"expire", 'e', "S", CMD_O_SHORT, CMD_FORM(0) | CMD_FORM(2), 0},
	CMD_LIVE_OPTIONS(CMD_FORM(0)),
	CMD_COMMON_OPTIONS,
	{},
    }};

static void help(FILE *f)
{
	cmd_print_usage(f, "Usage: ", "       ", &cmd_serve_usage);
	fprintf(
	    f,
	    "Prometheus exporter: traces every QEMU process (or the given PIDs) and serves the\n"
	    "migration metrics (docs/metrics.md) on http://ADDR:PORT/metrics (default :%s).\n"
	    "  --listen ADDR:PORT  :PORT every address, 127.0.0.1:PORT, [::1]:PORT; port 0 = any\n"
	    "  --web-config FILE   TLS and basic auth, exporter-toolkit format (docs/serve.md)\n"
	    "  --record FILE       also write the trace file, as migscope record does\n"
	    "  --expire S          a VM's series go S s after its migration ended or its\n"
	    "                      process exited (default 300, at least %d)\n"
	    "  --replay FILE       serve what a live run would show at the end of FILE (no root):\n"
	    "                      a trace file or a QEMU log; again for several, merged as\n"
	    "                      replay merges them\n"
	    "  --follow PATH       serve from QEMU logs as they are written (a file, or a\n"
	    "                      directory of *.log such as /var/log/libvirt/qemu), for\n"
	    "                      QEMU without USDT probes (no root); repeatable\n"
	    "Needs root (or CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE); after its BPF setup it\n"
	    "keeps only these in its collector thread, none in the others.\n\n"
	    "Examples:\n"
	    "  migscope serve\n"
	    "  migscope serve --listen 127.0.0.1:9479 --web-config /etc/migscope/web.yml\n"
	    "  migscope serve --record /var/tmp/mig.trace --expire 600\n"
	    "  migscope serve --follow /var/log/libvirt/qemu\n",
	    HS_DEFAULT_LISTEN + 1, MIN_EXPIRE_S);
}

static void publish(struct serve *s, struct prom_snap *snap)
{
	struct prom_snap *old;

	pthread_mutex_lock(&s->snap_mu);
	old = s->snap;
	s->snap = snap;
	pthread_mutex_unlock(&s->snap_mu);
	prom_snap_unref(old); /* freed by whoever holds the last reference */
}

static int get_page(void *arg, const char *url, const char *vm, char **body, size_t *len,
		    const char **type)
{
	struct serve *s = arg;

	return gal_page(s->gal, url, vm, body, len, type);
}

static struct prom_snap *get_snapshot(void *arg)
{
	struct serve *s = arg;
	struct prom_snap *snap;

	pthread_mutex_lock(&s->snap_mu);
	snap = prom_snap_ref(s->snap);
	pthread_mutex_unlock(&s->snap_mu);
	return snap;
}

/* The collector thread, engine lock held: update the metrics, publish. */
static void on_tick(const struct tl *tl, uint64_t now, void *arg)
{
	struct serve *s = arg;
	struct collector *c = atomic_load(&s->coll);
	struct prom_tl_live live = {.update_ns = s->update_ns};
	uint64_t t0 = ms_now_mono();
	struct prom_tl_clock clock;
	struct prom_snap *snap;

	if (!atomic_load(&s->caps)) {
		/* capabilities are per thread: this one drops its own */
		int r = caps_restrict(s->keep_caps);

		atomic_store(&s->caps, r ? r : 1);
	}
	/* the syscall programs going on or off is news too */
	if (s->updated && engine_idle(s, tl, now) &&
	    (!c || collector_live(c)->hooks.on == s->hooks_on) && ++s->idle_ticks < IDLE_EVERY)
		return;
	s->updated = true;
	s->idle_ticks = 0;
	s->last_records = tl_records(tl);
	if (c)
		s->hooks_on = collector_live(c)->hooks.on;
	if (c && collector_logs(c)) {
		live.logs = collector_logs(c);
	} else if (c) {
		live.probe_attached = collector_probe_attached(c);
		live.hooks = &collector_live(c)->hooks;
	}
	live.sources = s->src;
	live.nsources = s->nsrc;
	/* realtime - monotonic only changes when the realtime clock is
	 * stepped (NTP's first sync, an operator): read at each update, the
	 * milestones' unix times stay on the realtime the other host's clock
	 * is compared with */
	ms_clock_pair(&clock.mono_ns, &clock.real_ns);
	prom_tl_set_clock(s->pt, &clock);
	/* The tick runs in the engine's only writer thread with its lock held,
	 * which is what tl_expire and tl_finish need; the hook sees the engine
	 * const because other hooks only read. */
	prom_tl_tick(s->pt, (struct tl *)tl, now, &live);
	gal_update(s->gal, tl, clock.mono_ns, clock.real_ns);
	snap = prom_tl_snapshot(s->pt);
	s->update_ns = (int64_t)(ms_now_mono() - t0);
	if (snap)
		publish(s, snap);
}

/* --replay: the engine fed from the files (trace files, QEMU logs, merged on
 * one time line by the input layer), then one update, as replay --format prom
 * does. */
static int load_files(struct serve *s, char *const *paths, size_t n)
{
	struct prom_tl_live live = {.update_ns = -1};
	struct prom_tl_clock clock = {0};
	struct tl *tl = tl_new();
	uint64_t last = 0;
	struct in_set *in;
	union ms_rec rec;
	char err[512];

	if (!tl) {
		ms_err("serve: out of memory");
		return -1;
	}
	in = in_open(paths, n, NULL, err, sizeof(err));
	if (!in) {
		ms_err("serve: %s", err);
		tl_free(tl);
		return -1;
	}
	in_setup_tl(in, tl);
	while (in_next(in, &rec) > 0) {
		if (rec.h.ts > last)
			last = rec.h.ts;
		tl_feed(tl, &rec);
	}
	/* unix time as replay --format prom has it: the recording's clock
	 * pair, not this host's */
	prom_tl_set_clock(s->pt, in_unix_clock(in, &clock.mono_ns, &clock.real_ns) ? &clock : NULL);
	if (in_error(in)[0])
		ms_err("serve: %s (serving what came before)", in_error(in));
	live.lost = in_lost(in);
	live.sources = s->src;
	live.nsources = in_sources(in, s->src, FW_MAX);
	in_close(in);
	tl_finish(tl, last);
	prom_tl_update(s->pt, tl, tl_now(tl), &live);
	gal_update(s->gal, tl, clock.mono_ns, clock.real_ns);
	publish(s, prom_tl_snapshot(s->pt));
	tl_free(tl);
	return s->snap ? 0 : -1;
}

/* One run of serve: its command line, then what it started. */
struct serve_run {
	struct cmd_live la;
	const char *listen_spec, *web_path;
	char *replay[IN_MAX]; /* --replay FILE, each time it is given */
	size_t nreplay;
	char *follow[FW_MAX]; /* --follow PATH, each time it is given */
	size_t nfollow;
	struct collector_opts co;
	struct serve s;
	struct wc_config *web;
	struct collector *c;
	struct hs *h;
	struct hs_opts ho;
	int lfd;
	sigset_t mask;
	bool rec_failed;
	char addr[96];
};

/* The command line into r: 0, -1 after --help, or an exit status. */
static int serve_parse(int argc, char **argv, struct serve_run *r)
{
	double secs;
	int opt, k;

	cmd_live_init(&r->la);
	optind = 1;
	while ((opt = cmd_getopt(argc, argv, &cmd_serve_usage)) != -1) {
		if (cmd_common_opt(opt))
			continue;
		k = cmd_live_opt("serve", opt, optarg, &r->la);
		if (k < 0)
			return MS_EXIT_USAGE;
		if (k)
			continue;
		switch (opt) {
		case 'l': r->listen_spec = optarg; break;
		case 'w': r->web_path = optarg; break;
		case 'o': r->co.record_path = optarg; break;
		case 'R':
			if (cmd_add_file("serve", "--replay", optarg, r->replay, &r->nreplay,
					 IN_MAX))
				return MS_EXIT_USAGE;
			break;
		case 'F':
			if (cmd_add_file("serve", "--follow", optarg, r->follow, &r->nfollow,
					 FW_MAX))
				return MS_EXIT_USAGE;
			break;
		case 'e':
			if (ms_parse_seconds(optarg, &secs) || secs < MIN_EXPIRE_S) {
				ms_err("serve: --expire takes seconds >= %d, not '%s'",
				       MIN_EXPIRE_S, optarg);
				return MS_EXIT_USAGE;
			}
			r->s.expire_ns = (uint64_t)(secs * 1e9);
			break;
		case 'h': help(stdout); return -1;
		default: help(stderr); return MS_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		ms_err("serve: unexpected argument '%s'", argv[optind]);
		return MS_EXIT_USAGE;
	}
	r->co.live = r->la.lo;
	r->co.follow = r->follow;
	r->co.nfollow = r->nfollow;
	if (r->nreplay && (r->co.record_path || r->co.live.npids || r->co.live.nbinaries)) {
		ms_err("serve: --replay serves files; --record, -p and --binary are for live "
		       "tracing");
		return MS_EXIT_USAGE;
	}
	return cmd_follow_check("serve", r->nfollow, r->nreplay, &r->co.live);
}

/* The web config, the listening socket, the collector (or the replayed
 * file), the capabilities dropped, the HTTP server: 0 or MS_EXIT_FAIL. */
static int serve_start(struct serve_run *r)
{
	char err[512], capn[128];
	struct collector_stats cs;
	int k;

	/* everything that needs privileges or may fail comes first */
	if (r->web_path) {
		r->web = wc_load(r->web_path, err, sizeof(err));
		if (!r->web) {
			ms_err("serve: %s", err);
			return MS_EXIT_FAIL;
		}
	}
	r->lfd = hs_listen(r->listen_spec, err, sizeof(err));
	if (r->lfd < 0) {
		ms_err("serve: %s", err);
		return MS_EXIT_FAIL;
	}
	hs_local_addr(r->lfd, r->addr, sizeof(r->addr));
	r->s.pt = prom_tl_new(r->s.expire_ns);
	r->s.gal = gal_new();
	if (!r->s.pt || !r->s.gal) {
		ms_err("serve: out of memory");
		return MS_EXIT_FAIL;
	}
	pthread_mutex_init(&r->s.snap_mu, NULL);
	/* SIGINT, SIGTERM (and SIGHUP) wait for sigtimedwait in this thread;
	 * every thread started from here on inherits the mask */
	sigemptyset(&r->mask);
	sigaddset(&r->mask, SIGINT);
	sigaddset(&r->mask, SIGTERM);
	sigaddset(&r->mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &r->mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (r->nreplay) {
		if (load_files(&r->s, r->replay, r->nreplay))
			return MS_EXIT_FAIL;
	} else {
		r->co.tick = on_tick;
		r->co.tick_arg = &r->s;
		r->s.keep_caps = r->nfollow ? CAPS_READ_LOGS : CAPS_ATTACH;
		for (size_t i = 0; i < r->nfollow; i++)
			r->s.src[r->s.nsrc++] = (struct prom_tl_source){"log", r->follow[i]};
		if (!r->nfollow)
			r->s.src[r->s.nsrc++] = (struct prom_tl_source){"bpf", ""};
		if (collector_start(&r->co, &r->c, err, sizeof(err))) {
			ms_err("serve: %s", err);
			return MS_EXIT_FAIL;
		}
		atomic_store(&r->s.coll, r->c);
	}
	/* Nothing below needs a capability: the HTTP threads, created from
	 * this thread, start with none. */
	k = caps_restrict(0);
	if (k) {
		ms_err("serve: cannot drop capabilities: %s", strerror(-k));
		return MS_EXIT_FAIL;
	}
	if (r->c) {
		/* the first tick drops the collector thread's and makes the first
		 * snapshot */
		for (int i = 0; i < FIRST_TICK_WAIT_S * 100 && !atomic_load(&r->s.caps); i++)
			usleep(10000);
		k = atomic_load(&r->s.caps);
		if (k <= 0) {
			ms_err("serve: the collector thread %s",
			       k ? "cannot drop its capabilities" : "did not start");
			return MS_EXIT_FAIL;
		}
		ms_dbg("collector thread keeps %s; the other threads none",
		       caps_names(r->s.keep_caps, capn, sizeof(capn)));
	}

	r->ho.listen_fd = r->lfd;
	r->ho.web = r->web;
	r->h = hs_start(&r->ho, err, sizeof(err));
	if (!r->h) {
		ms_err("serve: %s", err);
		return MS_EXIT_FAIL;
	}
	r->lfd = -1; /* the server's now */
	if (r->c && r->nfollow) {
		collector_stats(r->c, &cs);
		fprintf(
		    stderr,
		    "migscope: serving %s://%s/metrics%s: following %s%s (%llu log file%s%s)%s%s; "
		    "Ctrl-C stops\n",
		    r->web && r->web->cert_pem ? "https" : "http", r->addr,
		    r->web && r->web->nusers ? " (basic auth)" : "", r->follow[0],
		    r->nfollow > 1 ? " and the other paths" : "",
		    (unsigned long long)cs.logs.files.followed,
		    cs.logs.files.followed == 1 ? "" : "s",
		    cs.logs.files.pending ? "; paths not there yet are waited for" : "",
		    r->co.record_path ? "; recording to " : "",
		    r->co.record_path ? r->co.record_path : "");
	} else if (r->c) {
		collector_stats(r->c, &cs);
		fprintf(stderr,
			"migscope: serving %s://%s/metrics%s: %u QEMU process%s traced, %u probes "
			"attached%s%s; Ctrl-C stops\n",
			r->web && r->web->cert_pem ? "https" : "http", r->addr,
			r->web && r->web->nusers ? " (basic auth)" : "", cs.live.procs,
			cs.live.procs == 1 ? "" : "es", cs.live.probes_attached,
			r->co.record_path ? "; recording to " : "",
			r->co.record_path ? r->co.record_path : "");
	} else {
		fprintf(stderr,
			"migscope: serving %s://%s/metrics%s: the end of %s%s; Ctrl-C stops\n",
			r->web && r->web->cert_pem ? "https" : "http", r->addr,
			r->web && r->web->nusers ? " (basic auth)" : "", r->replay[0],
			r->nreplay > 1 ? " and the other files" : "");
	}
	return 0;
}

/* Until SIGINT or SIGTERM, or the collector stops: 0 or MS_EXIT_FAIL. */
static int serve_loop(struct serve_run *r)
{
	struct timespec ts = {.tv_nsec = 500 * 1000000};
	struct collector_stats cs;
	int sig;

	for (;;) {
		sig = sigtimedwait(&r->mask, NULL, &ts);
		if (sig == SIGINT || sig == SIGTERM)
			break;
		if (sig == SIGHUP)
			ms_err("serve: SIGHUP ignored: the web config is read at start; restart "
			       "migscope to change it");
		if (r->c) {
			collector_stats(r->c, &cs);
			if (cs.error[0]) {
				ms_err("serve: collector stopped: %s", cs.error);
				return MS_EXIT_FAIL;
			}
			if (cs.record_error[0] && !r->rec_failed) {
				/* once: the metrics go on without the file */
				ms_err("serve: --record %s stopped: %s; serving goes on",
				       r->co.record_path, cs.record_error);
				r->rec_failed = true;
			}
		}
	}
	return r->rec_failed ? MS_EXIT_FAIL : 0;
}

/* Everything started, stopped; ret, or MS_EXIT_FAIL when the trace file
 * cannot be finished. */
static int serve_stop(struct serve_run *r, int ret)
{
	struct collector_stats cs;
	struct hs_stats hst = {};
	int k;

	if (r->h) {
		hs_stats(r->h, &hst);
		hs_stop(r->h);
	}
	if (r->c) {
		collector_stats(r->c, &cs);
		k = collector_stop(r->c);
		if (k < 0) {
			ms_err("serve: %s: cannot finish the trace file: %s", r->co.record_path,
			       strerror(-k));
			ret = MS_EXIT_FAIL;
		}
		fprintf(stderr, "migscope: serve: %llu scrapes, %llu events, %llu lost\n",
			(unsigned long long)hst.scrapes, (unsigned long long)cs.live.events,
			(unsigned long long)cs.live.lost);
	}
	if (r->lfd >= 0)
		close(r->lfd);
	prom_snap_unref(r->s.snap);
	prom_tl_free(r->s.pt);
	gal_free(r->s.gal);
	wc_free(r->web);
	return ret;
}

int cmd_serve(int argc, char **argv)
{
	static struct serve_run r;
	int ret;

	memset(&r, 0, sizeof(r));
	r.listen_spec = HS_DEFAULT_LISTEN;
	r.co.tick_ms = TICK_MS;
	r.s.expire_ns = PROM_TL_DEFAULT_EXPIRE_NS;
	r.ho.snapshot = get_snapshot;
	r.ho.page = get_page;
	r.ho.arg = &r.s;
	r.lfd = -1;
	ret = serve_parse(argc, argv, &r);
	if (ret)
		return ret < 0 ? 0 : ret;
	ret = serve_start(&r);
	if (!ret)
		ret = serve_loop(&r);
	return serve_stop(&r, ret);
}
