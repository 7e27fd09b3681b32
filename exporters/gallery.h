/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The pictures `migscope serve` serves of its recent migrations:
 * GET /migrations (a JSON list, newest first; ?vm=NAME keeps that VM's),
 * GET /migrations/ID.svg (user/svg.c's panel of one pair or side), and
 * GET /migrations/latest.svg?vm=NAME (the newest of that VM: the Grafana
 * dashboard's link, which knows the VM and the exporter but no ID).
 *
 * The collector thread renders a panel when its migration has ended (a
 * pair's when its source has, again when it gets its pair and when the
 * destination ends); the HTTP threads copy
 * what they serve under the gallery's own lock, so neither waits for the
 * other's work. At most GAL_MAX pictures are kept, the oldest dropped.
 */
#ifndef MIGSCOPE_GALLERY_H
#define MIGSCOPE_GALLERY_H

#include <stddef.h>
#include <stdint.h>

#define GAL_MAX 64

struct tl;
struct gallery;

struct gallery *gal_new(void);
void gal_free(struct gallery *g);

/* The collector thread, engine lock held: render what ended since the last
 * call. MONO_NS, REAL_NS: a pair of the engine's clock and unix time, for
 * the list's times (0, 0: none given, the times are null). */
void gal_update(struct gallery *g, const struct tl *tl, uint64_t mono_ns, uint64_t real_ns);

/* An HTTP thread: the answer to GET URL (VM: the ?vm= argument or NULL).
 * 0 with *body (malloc'd, the caller frees), *len and *type; -ENOENT for a
 * path or an ID the gallery does not have; -ENOMEM. */
int gal_page(struct gallery *g, const char *url, const char *vm, char **body, size_t *len,
	     const char **type);

#endif
