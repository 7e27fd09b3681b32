/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The engine's migrations as a Chrome Trace Event Format document (JSON
 * object form), which the Perfetto UI and chrome://tracing load:
 * `migscope replay --format perfetto`.
 *
 * A process per migration side, named "HOST ROLE VM (pid N)"; its thread 1
 * is the migration: a complete event (X) for the whole of it and an instant
 * (i) per milestone; thread 2 its phases, a complete event for each that the
 * milestones bound (setup, precopy, waiting for the ACK, downtime and its
 * stop / iterable / non-iterable parts on the source; loading and starting
 * on the destination; QEMU 8.2 ends a migration before its last downtime
 * checkpoint, so the phases cannot nest in the migration's span); a thread per
 * VFIO device with a complete event per device state (from its transition to
 * the next) and one per SET_STATE ioctl, and a counter (C) of its precopy
 * initial and dirty bytes as they changed; a thread per QEMU thread the
 * migration's records came from (named by what it did: migration thread,
 * return path, main loop, incoming, VFIO save/load threads), a complete event
 * from its first record to its last; a counter of the source's
 * pending bytes and threshold per iteration; flow events (s, f) for the
 * switchover ACK (destination to source) and the SWITCHOVER_START command
 * (source to destination) of a pair. Times are in microseconds from the
 * first migration's start, a destination's on its source's clock when the
 * two are paired (tl_pair_dst_ts). Events are sorted by time.
 */
#ifndef MIGSCOPE_PERFETTO_H
#define MIGSCOPE_PERFETTO_H

#include <stdio.h>

struct tl;

/* 0, or -ENOMEM / -EIO. */
int perfetto_write(FILE *out, const struct tl *tl);

#endif
