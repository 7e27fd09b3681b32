/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The input layer of the commands that read recordings: trace files and QEMU
 * log-backend files, one or several, merged into one stream of records in time
 * order, each record tagged with its input (h.input) for the timeline engine.
 *
 * Clocks. Every input is a clock domain: the inputs of one boot of one host
 * (trace files whose boot ids are equal) share CLOCK_MONOTONIC; every QEMU log
 * is a clock of its own (the wall clock of an unknown host). The first input's
 * clock is the common time line; another input's timestamps are moved onto it
 * by the realtime pairs (the trace file's first CLOCK_MONOTONIC/CLOCK_REALTIME
 * pair; a log is on the wall clock already). That is only a first estimate,
 * as good as the hosts' NTP: the engine refines it per pair of migrations with
 * the protocol's messages (docs/figures.md "Two clocks").
 *
 * A merged trace file (migscope merge) holds several inputs itself (its INPUTS
 * section): each becomes an input here, with the offset that merge applied.
 */
#ifndef MIGSCOPE_INPUT_H
#define MIGSCOPE_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "migscope_abi.h"

#define IN_MAX 16 /* inputs (files, and inputs inside merged files) */

struct tl;
struct in_set;

struct in_opts {
	const char *vm;	  /* VM name for QEMU logs (they name none), NULL */
	const char *uuid; /* VM UUID for QEMU logs, NULL */
};

/* Open every path (trace file by its magic, else a QEMU log). NULL with a
 * one-line message in err when one cannot be opened. */
struct in_set *in_open(char *const *paths, size_t n, const struct in_opts *o, char *err,
		       size_t errlen);
void in_close(struct in_set *s);

/* Tell the engine each input's clock, shift and host (tl_set_input). */
void in_setup_tl(const struct in_set *s, struct tl *tl);
/* Next record on the common time line, h.input set: 1 a record, 0 the end of
 * every input. An input that stops on damage ends there (in_error says so). */
int in_next(struct in_set *s, union ms_rec *out);

/* Reopen every input at its start (a second pass). 0, or -1 with a message. */
int in_rewind(struct in_set *s, char *err, size_t errlen);

size_t in_count(const struct in_set *s);	     /* inputs */
size_t in_files(const struct in_set *s);	     /* files */
size_t in_file_of(const struct in_set *s, size_t i); /* file of input i */
const char *in_path(const struct in_set *s, size_t file);
bool in_is_log(const struct in_set *s, size_t file);
const char *in_host(const struct in_set *s, size_t i);
const char *in_boot_id(const struct in_set *s, size_t i);
uint16_t in_clock(const struct in_set *s, size_t i);
/* What is added to input i's own timestamps to put them on the common line
 * (the realtime estimate). in_set_shift replaces it (before in_next). */
int64_t in_shift(const struct in_set *s, size_t i);
void in_set_shift(struct in_set *s, size_t i, int64_t shift_ns);
/* Offset already in the timestamps of input i (a merged file's), 0 else. */
int64_t in_prior_offset(const struct in_set *s, size_t i);
/* The first clock pair of a trace file, false for a log. */
bool in_clock_pair(const struct in_set *s, size_t file, uint64_t *mono, uint64_t *real);
bool in_single_clock(const struct in_set *s);
/* One migscope_source_info entry per file ("file", its path), at most max:
 * how many. */
struct prom_tl_source;
size_t in_sources(const struct in_set *s, struct prom_tl_source *out, size_t max);
/* What puts the records on unix time: true with the first trace file's clock
 * pair when every input is on its clock ((0, 0) when that input is a QEMU
 * log: unix time already); false when the inputs are on several clocks,
 * which one pair cannot serve. */
bool in_unix_clock(const struct in_set *s, uint64_t *mono, uint64_t *real);

/* After the end: "; "-joined messages of the inputs that stopped on damage,
 * or "" when all ended cleanly. */
const char *in_error(const struct in_set *s);
/* Sum of MS_EV_LOST counts delivered. */
uint64_t in_lost(const struct in_set *s);
/* QEMU log line counts over every log (0 when none). */
struct in_log_counts {
	uint64_t skipped, unknown, malformed, no_timestamp;
};
void in_log_counts(const struct in_set *s, struct in_log_counts *c);

#endif /* MIGSCOPE_INPUT_H */
