/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Reports over the timeline engine's state: a human-readable timeline and the
 * JSON document whose keys are a contract (docs/figures.md). Both read the
 * figures through the tl_* accessors, so absent figures print as "-" and
 * null, never 0.
 */
#ifndef MIGSCOPE_REPORT_H
#define MIGSCOPE_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "timeline.h"

struct report_opts {
	bool pretty;		 /* JSON: indented */
	uint64_t lost;		 /* events lost as the source counted them; the
				  * report shows the larger of this and the
				  * engine's MS_EV_LOST total */
	const char *input_error; /* why the input stopped early ("file truncated
				  * at byte N"), NULL if it did not */
};

/* Both return 0, or -EIO when writing failed. opts may be NULL. */
int report_text(FILE *f, const struct tl *tl, const struct report_opts *opts);
int report_json(FILE *f, const struct tl *tl, const struct report_opts *opts);

#endif /* MIGSCOPE_REPORT_H */
