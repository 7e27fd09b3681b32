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
#include "http_server.h"
#include "prom_tl.h"
#include "timeline.h"
#include "tracefile.h"
#include "util.h"

#define MIN_EXPIRE_S	  10
#define TICK_MS		  1000
#define FIRST_TICK_WAIT_S 10

struct serve {
	struct prom_tl *pt;
	uint64_t expire_ns;
	pthread_mutex_t snap_mu;
	struct prom_snap *snap; /* the latest, under snap_mu */
	_Atomic(struct collector *) coll;
	atomic_int caps; /* collector thread: 0 not yet, 1 dropped, <0 -errno */
	int64_t update_ns;
	uint64_t last_records; /* the engine's record count at the last update */
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

const char *const cmd_serve_synopsis[] = {
    "[--listen ADDR:PORT] [--web-config FILE] [--record FILE]\n"
    "[--expire S] [-p PID ...] [--binary PATH ...] [--ring-size MB]",
    "--replay FILE [--listen ADDR:PORT] [--web-config FILE]", NULL};

static void help(FILE *f)
{
	cmd_print_synopsis(f, "Usage: ", "       ", "serve", cmd_serve_synopsis);
	fprintf(
	    f,
	    "Prometheus exporter: traces every QEMU process (or the given PIDs) and serves the\n"
	    "migration metrics (docs/metrics.md) on http://ADDR:PORT/metrics (default :%s).\n"
	    "  --listen ADDR:PORT  :PORT every address, 127.0.0.1:PORT, [::1]:PORT; port 0 = any\n"
	    "  --web-config FILE   TLS and basic auth, exporter-toolkit format (docs/serve.md)\n"
	    "  --record FILE       also write the trace file, as migscope record does\n"
	    "  --expire S          a VM's series go S s after its migration ended or its\n"
	    "                      process exited (default 300, at least %d)\n"
	    "  --replay FILE       serve what a live run would show at the end of FILE (no root)\n"
	    "Needs root (or CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE); after its BPF setup it\n"
	    "keeps only these in its collector thread, none in the others.\n\n"
	    "Examples:\n"
	    "  migscope serve\n"
	    "  migscope serve --listen 127.0.0.1:9479 --web-config /etc/migscope/web.yml\n"
	    "  migscope serve --record /var/tmp/mig.trace --expire 600\n",
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
		int r = caps_restrict(CAPS_ATTACH);

		atomic_store(&s->caps, r ? r : 1);
	}
	if (s->updated && engine_idle(s, tl, now) && ++s->idle_ticks < IDLE_EVERY)
		return;
	s->updated = true;
	s->idle_ticks = 0;
	s->last_records = tl_records(tl);
	if (c)
		live.probe_attached = collector_probe_attached(c);
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
	snap = prom_tl_snapshot(s->pt);
	s->update_ns = (int64_t)(ms_now_mono() - t0);
	if (snap)
		publish(s, snap);
}

/* --replay: the engine fed from a file, then one update, as replay --format
 * prom does. */
static int load_file(struct serve *s, const char *path)
{
	struct tf_reader *r;
	struct tl *tl = tl_new();
	union ms_rec rec;
	uint64_t last = 0, lost = 0;
	struct prom_tl_live live = {.update_ns = -1};
	struct prom_tl_clock clock;
	char err[512];
	int n;

	if (!tl) {
		ms_err("serve: out of memory");
		return -1;
	}
	r = tf_reader_open(path, err, sizeof(err));
	if (!r) {
		ms_err("serve: %s", err);
		tl_free(tl);
		return -1;
	}
	/* the file's own clock pair, not this host's: the records are on the
	 * recording host's CLOCK_MONOTONIC */
	clock.mono_ns = tf_reader_meta(r)->mono_ns;
	clock.real_ns = tf_reader_meta(r)->real_ns;
	prom_tl_set_clock(s->pt, &clock);
	while ((n = tf_read(r, &rec)) > 0) {
		if (rec.h.ts > last)
			last = rec.h.ts;
		if (rec.h.kind == MS_EV_LOST)
			lost += rec.lost.count;
		tl_feed(tl, &rec);
	}
	if (n < 0)
		ms_err("serve: %s (serving what came before)", tf_reader_error(r));
	tf_reader_close(r);
	tl_finish(tl, last);
	live.lost = lost;
	prom_tl_update(s->pt, tl, tl_now(tl), &live);
	publish(s, prom_tl_snapshot(s->pt));
	tl_free(tl);
	return s->snap ? 0 : -1;
}

int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"web-config", required_argument, NULL, 'w'},
	    {"record", required_argument, NULL, 'o'},
	    {"expire", required_argument, NULL, 'e'},
	    {"replay", required_argument, NULL, 'R'},
	    CMD_LIVE_OPTIONS,
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	int opt, ret = MS_EXIT_FAIL, lfd = -1, sig, r;
	struct cmd_live la;
	const char *listen_spec = HS_DEFAULT_LISTEN, *web_path = NULL, *replay = NULL;
	struct collector_opts co = {.tick_ms = TICK_MS};
	struct serve s = {.expire_ns = PROM_TL_DEFAULT_EXPIRE_NS};
	struct wc_config *web = NULL;
	struct collector *c = NULL;
	struct collector_stats cs;
	bool rec_failed = false;
	struct hs *h = NULL;
	struct hs_opts ho = {.snapshot = get_snapshot, .arg = &s};
	struct hs_stats hst = {};
	double secs;
	char err[512], addr[96], capn[128];
	sigset_t mask;
	struct timespec ts = {.tv_nsec = 500 * 1000000};

	cmd_live_init(&la);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "l:w:o:e:R:p:vh", opts, NULL)) != -1) {
		if (cmd_common_opt(opt))
			continue;
		r = cmd_live_opt("serve", opt, optarg, &la);
		if (r < 0)
			return MS_EXIT_USAGE;
		if (r)
			continue;
		switch (opt) {
		case 'l': listen_spec = optarg; break;
		case 'w': web_path = optarg; break;
		case 'o': co.record_path = optarg; break;
		case 'R': replay = optarg; break;
		case 'e':
			if (ms_parse_seconds(optarg, &secs) || secs < MIN_EXPIRE_S) {
				ms_err("serve: --expire takes seconds >= %d, not '%s'",
				       MIN_EXPIRE_S, optarg);
				return MS_EXIT_USAGE;
			}
			s.expire_ns = (uint64_t)(secs * 1e9);
			break;
		case 'h': help(stdout); return 0;
		default: help(stderr); return MS_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		ms_err("serve: unexpected argument '%s'", argv[optind]);
		return MS_EXIT_USAGE;
	}
	co.live = la.lo;
	if (replay && (co.record_path || co.live.npids || co.live.nbinaries)) {
		ms_err("serve: --replay serves a file; --record, -p and --binary are for live "
		       "tracing");
		return MS_EXIT_USAGE;
	}

	/* everything that needs privileges or may fail comes first */
	if (web_path) {
		web = wc_load(web_path, err, sizeof(err));
		if (!web) {
			ms_err("serve: %s", err);
			return MS_EXIT_FAIL;
		}
	}
	lfd = hs_listen(listen_spec, err, sizeof(err));
	if (lfd < 0) {
		ms_err("serve: %s", err);
		goto out;
	}
	hs_local_addr(lfd, addr, sizeof(addr));
	s.pt = prom_tl_new(s.expire_ns);
	if (!s.pt) {
		ms_err("serve: out of memory");
		goto out;
	}
	pthread_mutex_init(&s.snap_mu, NULL);
	/* SIGINT, SIGTERM (and SIGHUP) wait for sigtimedwait in this thread;
	 * every thread started from here on inherits the mask */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (replay) {
		if (load_file(&s, replay))
			goto out;
	} else {
		co.tick = on_tick;
		co.tick_arg = &s;
		r = collector_start(&co, &c, err, sizeof(err));
		if (r) {
			ms_err("serve: %s", err);
			goto out;
		}
		atomic_store(&s.coll, c);
	}
	/* Nothing below needs a capability: the HTTP threads, created from
	 * this thread, start with none. */
	r = caps_restrict(0);
	if (r) {
		ms_err("serve: cannot drop capabilities: %s", strerror(-r));
		goto out;
	}
	if (c) {
		/* the first tick drops the collector thread's and makes the first
		 * snapshot */
		for (int i = 0; i < FIRST_TICK_WAIT_S * 100 && !atomic_load(&s.caps); i++)
			usleep(10000);
		r = atomic_load(&s.caps);
		if (r <= 0) {
			ms_err("serve: the collector thread %s",
			       r ? "cannot drop its capabilities" : "did not start");
			goto out;
		}
		ms_dbg("collector thread keeps %s; the other threads none",
		       caps_names(CAPS_ATTACH, capn, sizeof(capn)));
	}

	ho.listen_fd = lfd;
	ho.web = web;
	h = hs_start(&ho, err, sizeof(err));
	if (!h) {
		ms_err("serve: %s", err);
		goto out;
	}
	lfd = -1; /* the server's now */
	if (c) {
		collector_stats(c, &cs);
		fprintf(stderr,
			"migscope: serving %s://%s/metrics%s: %u QEMU process%s traced, %u probes "
			"attached%s%s; Ctrl-C stops\n",
			web && web->cert_pem ? "https" : "http", addr,
			web && web->nusers ? " (basic auth)" : "", cs.live.procs,
			cs.live.procs == 1 ? "" : "es", cs.live.probes_attached,
			co.record_path ? "; recording to " : "",
			co.record_path ? co.record_path : "");
	} else {
		fprintf(stderr,
			"migscope: serving %s://%s/metrics%s: the end of %s; Ctrl-C stops\n",
			web && web->cert_pem ? "https" : "http", addr,
			web && web->nusers ? " (basic auth)" : "", replay);
	}

	for (;;) {
		sig = sigtimedwait(&mask, NULL, &ts);
		if (sig == SIGINT || sig == SIGTERM)
			break;
		if (sig == SIGHUP)
			ms_err("serve: SIGHUP ignored: the web config is read at start; restart "
			       "migscope to change it");
		if (c) {
			collector_stats(c, &cs);
			if (cs.error[0]) {
				ms_err("serve: collector stopped: %s", cs.error);
				goto out;
			}
			if (cs.record_error[0] && !rec_failed) {
				/* once: the metrics go on without the file */
				ms_err("serve: --record %s stopped: %s; serving goes on",
				       co.record_path, cs.record_error);
				rec_failed = true;
			}
		}
	}
	ret = rec_failed ? MS_EXIT_FAIL : 0;
out:
	if (h) {
		hs_stats(h, &hst);
		hs_stop(h);
	}
	if (c) {
		collector_stats(c, &cs);
		r = collector_stop(c);
		if (r < 0) {
			ms_err("serve: %s: cannot finish the trace file: %s", co.record_path,
			       strerror(-r));
			ret = MS_EXIT_FAIL;
		}
		fprintf(stderr, "migscope: serve: %llu scrapes, %llu events, %llu lost\n",
			(unsigned long long)hst.scrapes, (unsigned long long)cs.live.events,
			(unsigned long long)cs.live.lost);
	}
	if (lfd >= 0)
		close(lfd);
	prom_snap_unref(s.snap);
	prom_tl_free(s.pt);
	wc_free(web);
	return ret;
}
