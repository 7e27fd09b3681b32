/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The live collector of `top` and `serve`: a thread that polls the live
 * source (the BPF programs, or QEMU logs followed as they are written:
 * logsrc.h), feeds the timeline engine and, optionally, writes a trace file.
 * Readers (a view, a scrape) take the lock only to read the engine's state;
 * the kernel's ring buffer absorbs what arrives meanwhile.
 */
#ifndef MIGSCOPE_COLLECTOR_H
#define MIGSCOPE_COLLECTOR_H

#include <stdint.h>
#include "live.h"
#include "logsrc.h"
#include "timeline.h"

struct collector;

/* Called in the collector thread, with the lock held, after each batch of
 * records and at least every tick_ms. */
typedef void (*collector_tick_fn)(const struct tl *tl, uint64_t now, void *arg);

struct collector_opts {
	struct live_opts live;
	/* follow these QEMU logs (files or directories, logsrc.h) instead of
	 * loading BPF: no privileges needed; live is not used then */
	char *const *follow;
	size_t nfollow;
	const char *record_path; /* also write a trace file, NULL for none */
	unsigned int tick_ms;	 /* 0 = 1000 */
	collector_tick_fn tick;
	void *tick_arg;
	tl_end_fn on_end; /* the engine's end-of-migration hook, lock held */
	/* drop migrations and processes that ended longer ago than this, at
	 * each tick, so that a long-running view's engine stays bounded; 0 =
	 * keep everything */
	uint64_t expire_ns;
	void *on_end_arg;
};

struct collector_stats {
	/* the live source's figures; when following logs, events (records
	 * made) and procs (processes not ended) only */
	struct live_stats live;
	bool follow;		  /* the source is followed logs */
	struct logsrc_stats logs; /* then: theirs */
	double events_per_s;	  /* over the last tick */
	uint64_t records_written;
	char error[256]; /* the thread stopped on this error, "" while fine */
	/* the trace file (--record) stopped on this error and the collector
	 * went on without it, "" while fine */
	char record_error[256];
};

/* Load BPF (or start following the logs), start the thread. 0, or a negative errno and one line in
 * err. */
int collector_start(const struct collector_opts *o, struct collector **out, char *err,
		    size_t errlen);
void collector_lock(struct collector *c);
void collector_unlock(struct collector *c);
/* The engine; read it only between collector_lock and collector_unlock. */
const struct tl *collector_tl(const struct collector *c);
/* Per-probe count of binaries attached (lock held): a copy the collector
 * thread refreshes under the lock, never the live source's own table. */
const unsigned int *collector_probe_attached(const struct collector *c);
/* The live source's figures as of the current tick (lock held, from a tick
 * hook): a copy, like collector_probe_attached. */
const struct live_stats *collector_live(const struct collector *c);
/* The followed logs' figures as of the current tick (lock held, from a tick
 * hook), NULL when the source is BPF. */
const struct logsrc_stats *collector_logs(const struct collector *c);
void collector_stats(struct collector *c, struct collector_stats *s);
/* Stop the thread, finish the trace file, free. Returns 0 or the negative
 * errno of a trace file error (not again for one record_error reported). */
int collector_stop(struct collector *c);

#endif
