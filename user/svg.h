/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The engine's migrations as one self-contained SVG picture (no script, no
 * external font or file): `migscope replay --format svg`.
 *
 * A panel per migration pair (or per side without a pair), one under the
 * other: a time axis; a lane per side with its phases as coloured spans and
 * its milestones as labelled marks; a lane per VFIO device with its device
 * states, the drain of its initial data (source) and its approval
 * (destination); arrows for the switchover ACK and the SWITCHOVER_START
 * command, with the clock's error when the sides are on two clocks; the
 * downtime as a band over every lane; an inset that zooms into the stop phase
 * (its breakdown, the devices in it); the convergence chart (pending bytes
 * per iteration against the threshold, log scale, and the moment QEMU
 * decided to complete); the summary figures as a table. Light by default,
 * dark where the viewer prefers it (a CSS media query inside the file).
 *
 * Elements a test may measure carry data- attributes: the axes' ticks their
 * time (data-ms), the downtime bands their length (data-downtime-ms).
 */
#ifndef MIGSCOPE_SVG_H
#define MIGSCOPE_SVG_H

#include <stdio.h>

struct tl;

/* ONLY: draw the panel of that migration (its index in the report's
 * "migrations", with its pair), or every one when negative. 0, -ENOENT when
 * ONLY is not a migration, -ENOMEM or -EIO. */
int svg_write(FILE *out, const struct tl *tl, long only);

#endif
