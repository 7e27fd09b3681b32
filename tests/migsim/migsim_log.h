/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * migsim's JSON-lines log: one line per probe fired, per VFIO ioctl issued,
 * and one summary per side. Each line goes out in one write() on an O_APPEND
 * descriptor, so that source and destination can share one file.
 */
#ifndef MIGSIM_LOG_H
#define MIGSIM_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in ns: the clock bpf_ktime_get_ns() reads. */
uint64_t ms_now(void);
int ms_gettid(void);

extern const char *mslog_role; /* "source" | "destination" */

int mslog_open(const char *path, bool truncate);
void mslog_close(void);
bool mslog_enabled(void);

/*
 * A probe site ran at ts; fired says whether its semaphore was set, that is
 * whether the USDT probe really fired (key "probe") or not (key "site"). A
 * probe that fired did so between ts and te (key "window": te - ts in ns; a
 * thread preempted there widens it, and a tracer's time stamp lies in it). types
 * uses the letters of
 * include/migscope_probes.h; the variadic arguments follow them, promoted:
 * s const char *, u uint64_t, x unsigned int, w int (uint16_t promoted),
 * i int, I int64_t.
 */
void mslog_probe(uint64_t ts, uint64_t te, bool fired, const char *name, const char *types, ...);
/* A probe with args (const char *name, u64 VFIO section flag), plus "flag". */
void mslog_probe_vfio_flag(uint64_t ts, bool fired, const char *probe, const char *name,
			   uint64_t flag);

/* A tiny streaming JSON writer, in the manner of bpftool's jsonw. */
struct jw {
	char *buf;
	size_t len;
	size_t cap;
	bool sep; /* a value precedes: the next key or element needs a comma */
	bool oom;
};

void jw_init(struct jw *w);
void jw_free(struct jw *w);
void jw_obj_begin(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr_begin(struct jw *w);
void jw_arr_end(struct jw *w);
void jw_key(struct jw *w, const char *key);
void jw_str(struct jw *w, const char *s); /* NULL writes null */
void jw_u64(struct jw *w, uint64_t v);
void jw_i64(struct jw *w, int64_t v);
void jw_ms(struct jw *w, int64_t ns); /* milliseconds with 3 decimals */
void jw_null(struct jw *w);
void jw_bool(struct jw *w, bool v);

/* Common line prefix: {"ts":..,"pid":..,"tid":..,"role":.. */
void jw_line_begin(struct jw *w, uint64_t ts);
/* Close the object and write it as one line. */
void jw_line_emit(struct jw *w);
/* Write a complete value as one line, then free it. */
void jw_write_line(struct jw *w);

#endif /* MIGSIM_LOG_H */
