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

static void usdt(struct tl *tl, uint32_t pid, uint64_t ts, unsigned int probe, ...)
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

static void proc(struct tl *tl, uint32_t pid, uint64_t ts, const char *vm, const char *uuid,
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
