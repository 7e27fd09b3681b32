/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Reader of QEMU's `log` trace backend output: the text that a QEMU started
 * with `-D FILE -msg timestamp=on -trace enable=PATTERN` writes, one line per
 * trace event:
 *
 *   TID@SEC.USEC:event_name formatted-args          (QEMU up to 10.0)
 *   YYYY-MM-DDTHH:MM:SS.uuuuuuZ event_name args     (10.1+, UTC, no thread id)
 *
 * Lines of catalog probes (include/migscope_probes.h) are parsed back into
 * MS_EV_USDT records with the arguments in the ABI's layout, by the events'
 * format strings of QEMU 10.0's trace-events files (and a few older
 * variants). Everything else is skipped and counted, never fatal. See
 * docs/qemu.md.
 *
 * Identity: a log names no process. A file is one QEMU process; its pid is
 * the TID of the thread that logged the first "migrate_set_state setup" (QEMU's
 * main thread, whose TID is the PID), else of the first trace line, unless the
 * caller sets another (qlog_set_pid). The reader's first record is a synthetic MS_EV_PROC
 * for that pid: vm and uuid as given to qlog_open, else those of the libvirt
 * header (a /var/log/libvirt/qemu/VM.log: the QEMU command line libvirt ran,
 * with -name and -uuid, and the host name) before the first event, else empty; flag
 * MS_PROC_INCOMING when the file holds a destination-only event, or
 * migrate_set_state lines and no source-only event (a log does not show
 * -incoming; probes decide the role of each migration anyway).
 *
 * Timestamps are wall-clock (gettimeofday) µs, returned as ns: not the live
 * capture's CLOCK_MONOTONIC. Records come out in time order (a window of
 * QLOG_REORDER records absorbs threads whose lines reached the file out of
 * order).
 */
#ifndef MIGSCOPE_QEMULOG_H
#define MIGSCOPE_QEMULOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "migscope_abi.h"

#define QLOG_REORDER 512
/* The pid of a log that names no thread (10.1+): above any real pid. */
#define QLOG_NO_TID_PID 4194304u

/* What one line is. */
enum qlog_line {
	QLOG_EVENT = 0,	    /* a catalog probe: *out holds its MS_EV_USDT record */
	QLOG_UNKNOWN_EVENT, /* a trace line of an event the catalog does not have */
	QLOG_MALFORMED,	    /* not a trace line, or arguments that do not match the format */
	QLOG_NO_TIMESTAMP,  /* a catalog event logged without -msg timestamp=on */
};

/*
 * Parse one line (without its newline; a trailing "\r" is ignored). On
 * QLOG_EVENT, *out is a zeroed record with h.kind MS_EV_USDT, h.probe, h.tid,
 * h.ts (ns) and args/str filled; h.pid is 0 (the reader sets it).
 */
enum qlog_line qlog_parse_line(const char *line, size_t len, union ms_rec *out);

/* Whether the file looks like a QEMU log-backend trace: one of its first
 * 1000 lines (up to 1 MiB) is a trace line, with or without timestamp. */
bool qlog_is_log(const char *path);

struct qlog_opts {
	const char *vm;	  /* VM name for the MS_EV_PROC record, NULL for none */
	const char *uuid; /* VM UUID, NULL for none */
};

struct qlog_reader;

/* Open and pre-scan path (pid, role hint, counts). NULL with errno set and a
 * one-line message in err when it cannot be read, holds no timestamped
 * catalog event line, or only untimestamped ones (the message then says to
 * use -msg timestamp=on). */
struct qlog_reader *qlog_open(const char *path, const struct qlog_opts *o, char *err,
			      size_t errlen);
/*
 * libvirt's per-VM log (/var/log/libvirt/qemu/VM.log) has, before each start
 * of the VM's QEMU, a header: a "starting up libvirt version: ..., hostname:
 * H" line, then the command line libvirt ran, with -name and -uuid. Those
 * name the process whose trace lines follow. Feed it the lines that are not
 * trace lines: true when LINE starts a header (a new start of QEMU).
 */
struct qlog_header {
	char vm[MS_NAME_LEN], uuid[40], host[64];
	int lines; /* lines of the command line still looked at, 0: none */
};
bool qlog_header_line(struct qlog_header *h, const char *line, size_t len);

/* The host named by a libvirt header, or "". */
const char *qlog_host(const struct qlog_reader *r);
/* The pid the records carry (see the top of this file). */
uint32_t qlog_pid(const struct qlog_reader *r);
/* Use another pid (before the first qlog_read): two files with one TID. */
void qlog_set_pid(struct qlog_reader *r, uint32_t pid);
/* Next record: 1 = a record in *out, 0 = end of file, < 0 = read error
 * (qlog_error says which). */
int qlog_read(struct qlog_reader *r, union ms_rec *out);
const char *qlog_error(const struct qlog_reader *r);

struct qlog_stats {
	uint64_t lines;		    /* lines read */
	uint64_t events;	    /* catalog event lines turned into records */
	uint64_t unknown_events;    /* trace lines of events not in the catalog */
	uint64_t malformed;	    /* other lines (including blank ones) */
	uint64_t no_timestamp;	    /* catalog events without a timestamp */
	uint64_t first_ts, last_ts; /* ns of the first and last event, 0 if none */
};
/* Counts of the whole file (the pre-scan's, complete from qlog_open on). */
void qlog_stats(const struct qlog_reader *r, struct qlog_stats *s);
/* Lines skipped: unknown_events + malformed + no_timestamp. */
uint64_t qlog_skipped(const struct qlog_stats *s);
void qlog_close(struct qlog_reader *r);

#endif /* MIGSCOPE_QEMULOG_H */
