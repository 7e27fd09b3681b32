/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The timeline engine's figures as Prometheus metrics: one code path for
 * `migscope serve` (called at each collector tick) and `migscope replay
 * --format prom` (called once at the end of the input).
 *
 * Series are grouped per VM and role (labels vm, uuid, role). A group exists
 * while a QEMU process of that VM is traced and alive or a migration of it
 * runs, and for the expiry time after the last of these ended (process exit,
 * migration end); then all its series go, so that a host that sees many VMs
 * over time does not accumulate series. The engine's own memory is bounded
 * the same way when the caller applies tl_expire with the same cutoff.
 *
 * Counters and histograms take each migration once, when it ends (a pair's
 * cross-side figures when its second side ends); device-state transitions
 * are taken as they happen. Gauges show the VM's latest migration still held
 * by the engine.
 */
#ifndef MIGSCOPE_PROM_TL_H
#define MIGSCOPE_PROM_TL_H

#include <stdint.h>
#include <stdio.h>
#include "prom.h"
#include "live.h"
#include "logsrc.h"
#include "timeline.h"

#define PROM_TL_DEFAULT_EXPIRE_NS (300ULL * 1000000000ULL)

/* What only a live source knows; NULL for a file. */
/* One source of the records: kind "bpf", "log" or "file", and its path
 * ("" for bpf). */
struct prom_tl_source {
	const char *kind, *path;
};

struct prom_tl_live {
	const unsigned int *probe_attached;   /* binaries per catalog probe id, or NULL */
	uint64_t lost;			      /* events lost as the source counted them */
	int64_t update_ns;		      /* duration of the previous update, <0 unknown */
	const struct live_hooks_stats *hooks; /* the syscall programs', or NULL */
	const struct prom_tl_source *sources; /* migscope_source_info, or NULL */
	size_t nsources;
	const struct logsrc_stats *logs; /* the followed logs', or NULL */
};

/* A CLOCK_MONOTONIC / CLOCK_REALTIME pair read together: what puts the
 * records' time stamps (CLOCK_MONOTONIC ns) on unix time for
 * migscope_migration_timestamp_seconds. A live source reads one at each
 * update (ms_clock_pair), so that a step of the realtime clock moves the
 * exported times with it; a trace file gives its META pair; QEMU logs are on
 * unix time already ({0, 0}). */
struct prom_tl_clock {
	uint64_t mono_ns, real_ns;
};

struct prom_tl;

struct prom_tl *prom_tl_new(uint64_t expire_ns);
/* The clock pair of the next updates; NULL (the default): the records'
 * clock is unknown, and the milestones' unix times are not exported. */
void prom_tl_set_clock(struct prom_tl *p, const struct prom_tl_clock *c);
void prom_tl_free(struct prom_tl *p);
/* Bring the metrics up to the engine's state at now (CLOCK_MONOTONIC ns, the
 * records' clock). Series of groups idle since before now - expire go. */
void prom_tl_update(struct prom_tl *p, const struct tl *tl, uint64_t now,
		    const struct prom_tl_live *live);
/* What a live source does at each tick, engine lock held: the engine
 * forgets what the series forget (tl_expire with the same cutoff), takes now
 * as the time of its live figures (tl_finish: elapsed, stall, waits of running
 * migrations), then the metrics are updated. */
void prom_tl_tick(struct prom_tl *p, struct tl *tl, uint64_t now, const struct prom_tl_live *live);
/* A snapshot of the metrics as of the latest update (NULL: out of memory). */
struct prom_snap *prom_tl_snapshot(const struct prom_tl *p);
size_t prom_tl_ngroups(const struct prom_tl *p);
size_t prom_tl_nseries(const struct prom_tl *p);

/* The exposition a live `serve` with the default expiry would serve at the
 * engine's end (tl_now): `migscope replay --format prom`. lost is the
 * source's count (as report_opts.lost); sources for migscope_source_info
 * (NULL, 0: none); clock as prom_tl_set_clock. 0, or -EIO / -ENOMEM. */
int prom_render_tl(FILE *out, const struct tl *tl, uint64_t lost,
		   const struct prom_tl_source *sources, size_t nsources,
		   const struct prom_tl_clock *clock);

#endif /* MIGSCOPE_PROM_TL_H */
