/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The live source: loads the BPF programs, finds QEMU processes (at start and
 * when they exec later), attaches to their binaries' USDT probes, and hands
 * every record to a callback.
 */
#ifndef MIGSCOPE_LIVE_H
#define MIGSCOPE_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "migscope_abi.h"

struct live;

/* Called for every record: the kernel's (USDT, VFIO ioctl, data I/O, exec and
 * exit of QEMU processes) and the ones made here (process identity, lost
 * events). A nonzero return stops live_poll with that value. */
typedef int (*live_cb)(const union ms_rec *r, void *arg);

/* When the syscall programs (VFIO ioctls, data fd I/O) are attached. */
enum live_hooks_mode {
	/* while a traced QEMU migrates or is about to (a QMP migrate command, a
	 * destination's -incoming), so that the host's syscalls pay nothing
	 * outside migrations */
	LIVE_HOOKS_MIGRATION = 0,
	LIVE_HOOKS_ALWAYS, /* from start to end */
};

struct live_opts {
	const int *pids; /* trace only these; NULL/0 = every QEMU process */
	size_t npids;
	size_t ring_bytes; /* 0 = default */
	/* QEMU binaries to attach to before any process runs them; NULL/0 =
	 * the usual install places, where present */
	const char *const *binaries;
	size_t nbinaries;
	enum live_hooks_mode hooks;
};

/* The syscall programs' attachment, for self-metrics. */
struct live_hooks_stats {
	bool on;		 /* attached now */
	uint64_t attaches;	 /* times attached (always: 1) */
	uint64_t failures;	 /* attaches that failed (said once each) */
	uint64_t on_ns;		 /* time attached, the current span included */
	uint64_t last_attach_ns; /* how long the last attach took */
	uint64_t last_detach_ns; /* how long the last detach took */
	uint64_t last_lag_ns;	 /* the last attach's end after the probe that asked for it */
};

struct live_stats {
	uint64_t events;	      /* records handed to the callback */
	uint64_t lost;		      /* records the kernel could not deliver */
	unsigned int procs;	      /* QEMU processes traced now */
	unsigned int binaries;	      /* QEMU binaries attached */
	unsigned int probes_attached; /* catalog probes attached, all binaries */
	uint64_t binaries_released;   /* QEMU binaries detached once replaced or deleted */
	unsigned int probes_missing;  /* catalog probes absent, all binaries */
	struct live_hooks_stats hooks;
};

/* 0 and *out on success; a negative errno and one line in err otherwise. */
int live_open(const struct live_opts *o, live_cb cb, void *arg, struct live **out, char *err,
	      size_t errlen);
/* Wait up to timeout_ms for events and hand them over. Returns the number of
 * records, a negative errno on failure, or the callback's nonzero value. */
int live_poll(struct live *l, int timeout_ms);
/* About once a second: sum the kernel's lost counter and emit a MS_EV_LOST
 * record if it grew; attach a --binary (or usual-place) QEMU binary that was
 * replaced on disk. */
void live_tick(struct live *l);
void live_stats(const struct live *l, struct live_stats *s);
/* Per-probe attach state, for self-metrics: attached[id] counts binaries. */
const unsigned int *live_probe_attached(const struct live *l);
void live_close(struct live *l);

#endif
