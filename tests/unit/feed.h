/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Record builders shared by the unit tests that feed the engine directly. */
#ifndef MIGSCOPE_TEST_FEED_H
#define MIGSCOPE_TEST_FEED_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "catalog.h"
#include "timeline.h"

/* Time: BASE is 1000 s of uptime; the tests speak ms from it (may be
 * negative, fractional), records carry ns. */
#define BASE   1000000000000ULL
#define MSI(x) ((int64_t)((x)*1000000.0 + ((x) < 0 ? -0.5 : 0.5))) /* ms -> ns */
#define MSF(x) ((uint64_t)MSI(x))
#define AT(x)  ((uint64_t)((int64_t)BASE + MSI(x))) /* BASE + x ms */
#define V(x)   ((uint64_t)(x))
#define DEV    "0000:00:05.0"

/* A MIG_DEVICE_STATE SET ioctl as the BPF side records it: stamped at its
 * start, its duration in ns. */
static inline void rec_ioctl_set(union ms_rec *r, uint32_t pid, uint32_t tid, uint64_t ts, int fd,
				 uint32_t state, uint64_t dur_ns, int data_fd, int ret)
{
	memset(r, 0, sizeof(*r));
	r->h.kind = MS_EV_IOCTL;
	r->h.pid = pid;
	r->h.tid = tid;
	r->h.ts = ts;
	r->ioctl.cmd = MS_VFIO_DEVICE_FEATURE;
	r->ioctl.fd = fd;
	r->ioctl.feat_flags = MS_VFIO_FEAT_MIG_DEVICE_STATE | MS_VFIO_FEAT_SET;
	r->ioctl.dev_state = state;
	r->ioctl.data_fd = data_fd;
	r->ioctl.dur_ns = dur_ns;
	r->ioctl.ret = ret;
}

/* The same, fed to the engine (main thread, no data fd, success). */
static inline void feed_ioctl_set(struct tl *tl, uint32_t pid, uint64_t ts, int fd, uint32_t state,
				  uint64_t dur_ns)
{
	union ms_rec r;

	rec_ioctl_set(&r, pid, pid, ts, fd, state, dur_ns, -1, 0);
	tl_feed(tl, &r);
}

static inline void usdt(struct tl *tl, uint32_t pid, uint64_t ts, unsigned int probe, ...)
{
	union ms_rec r;
	const char *types = cat_types(probe);
	va_list ap;
	int k = 0;

	memset(&r, 0, sizeof(r));
	r.h.kind = MS_EV_USDT;
	r.h.pid = r.h.tid = pid;
	r.h.ts = ts;
	r.h.probe = (uint16_t)probe;
	va_start(ap, probe);
	for (int i = 0; types[i]; i++) {
		if (types[i] == 's') {
			snprintf(r.usdt.str[k], MS_STR_LEN, "%s", va_arg(ap, const char *));
			r.usdt.args[i] = (uint64_t)k++;
		} else {
			r.usdt.args[i] = va_arg(ap, uint64_t);
		}
	}
	va_end(ap);
	tl_feed(tl, &r);
}

static inline void proc(struct tl *tl, uint32_t pid, uint64_t ts, const char *vm, const char *uuid,
			bool incoming)
{
	union ms_rec r;

	memset(&r, 0, sizeof(r));
	r.h.kind = MS_EV_PROC;
	r.h.pid = r.h.tid = pid;
	r.h.ts = ts;
	snprintf(r.proc.vm, sizeof(r.proc.vm), "%s", vm);
	snprintf(r.proc.uuid, sizeof(r.proc.uuid), "%s", uuid);
	r.proc.pflags = incoming ? MS_PROC_INCOMING : 0;
	tl_feed(tl, &r);
}

#endif
