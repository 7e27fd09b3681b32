/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Error reporting and small helpers shared by the commands. */
#ifndef MIGSCOPE_UTIL_H
#define MIGSCOPE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MS_VERSION "0.1.0"

extern int ms_verbose; /* -v */
extern bool ms_json;   /* -j */

/* One line "migscope: MESSAGE" on stderr; the one way errors leave. */
void ms_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Debug line on stderr when -v is given. */
void ms_dbg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* CLOCK_MONOTONIC / CLOCK_REALTIME in ns. */
uint64_t ms_now_mono(void);
uint64_t ms_now_real(void);
/* CLOCK_MONOTONIC and CLOCK_REALTIME read together: the realtime read
 * bracketed by two monotonic reads, their midpoint taken, so the pair is as
 * tight as the clocks allow. real - mono puts a monotonic time stamp on unix
 * time as of now. */
void ms_clock_pair(uint64_t *mono, uint64_t *real);

/* Parse a non-negative decimal number with an optional fraction (seconds
 * like "2.5"); returns -1 on junk. */
int ms_parse_seconds(const char *s, double *out);
/* Parse a PID; -1 on junk. */
int ms_parse_pid(const char *s, int *pid);

/* Copy with truncation, always NUL-terminated. */
void ms_strlcpy(char *dst, const char *src, size_t size);

#endif
