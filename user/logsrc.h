/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * QEMU logs followed live (follow.h) as a source of records, for a host whose
 * QEMU has the log trace backend only: each catalog trace line as it is
 * written becomes the MS_EV_USDT record qlog_parse_line makes of it, on this
 * host's CLOCK_MONOTONIC, as the live BPF source's records are.
 *
 * Identity. Each start of QEMU in a file is a process: in libvirt's per-VM
 * log, each header (qemulog.h) starts one, named by its -name, -uuid; in a
 * plain -D log, the file is one. Its pid is the thread id of its first
 * catalog line (QEMU's main thread logs the first migration state and the
 * QMP commands); QEMU 10.1+ lines name no thread, and such a process gets a
 * pseudo pid above any real one, its own among the files. An MS_EV_PROC
 * record comes before its first event, VM and UUID from the header (else
 * empty), with no -incoming flag: the probes tell the roles. In libvirt's
 * log, the process ends (an MS_EV_EXIT record, exit_code -1: the log gives no
 * status) at libvirt's "shutting down, reason=..." line, at that line's time,
 * or at the next header, at the process's last record's time.
 */
#ifndef MIGSCOPE_LOGSRC_H
#define MIGSCOPE_LOGSRC_H

#include <stddef.h>
#include <stdint.h>
#include "follow.h"
#include "migscope_abi.h"

struct logsrc;

typedef int (*logsrc_cb)(void *arg, const union ms_rec *r);

/* Follow PATHS (files or directories of *.log, follow.h); NULL with a
 * one-line message in err. */
struct logsrc *logsrc_open(char *const *paths, size_t n, char *err, size_t errlen);
/* Read what the files hold now as history: the lines go by (libvirt's
 * headers and shutdown lines are taken in, the pid of a process running
 * is learnt) but no record is handed over, so that the first logsrc_read
 * starts with what is written from now on, as the live BPF source does.
 * Call it first, or never (every line is then read). 0 or -errno. */
long logsrc_skip_history(struct logsrc *s);
/* Readable when a followed file may have changed (poll it, or call
 * logsrc_read on a timer). */
int logsrc_fd(const struct logsrc *s);
/* The records of what was written since the last call, to cb; REAL_TO_MONO
 * is added to the logs' wall-clock stamps (CLOCK_MONOTONIC - CLOCK_REALTIME
 * now). The number of records, the callback's nonzero return, or -errno. */
long logsrc_read(struct logsrc *s, int64_t real_to_mono, logsrc_cb cb, void *arg);
struct logsrc_stats {
	uint64_t lines, events, skipped; /* skipped: not a catalog trace line */
	uint64_t procs;			 /* processes (MS_EV_PROC records) */
	uint64_t exits;			 /* processes ended (MS_EV_EXIT records) */
	uint64_t history;		 /* event lines skipped as history */
	struct fw_stats files;		 /* the followed files' (follow.h) */
};
/* logsrc_read onto this host's CLOCK_MONOTONIC, as the live BPF source's
 * records are: REAL_TO_MONO is CLOCK_MONOTONIC - CLOCK_REALTIME as the two
 * clocks stand now, taken again only when it moved by more than 1 ms (the
 * wall clock was stepped): read one after the other, the two clocks' difference
 * jitters by some ns, and a figure from the stamps of two reads is to be as
 * exact as the stamps. */
long logsrc_read_mono(struct logsrc *s, logsrc_cb cb, void *arg);
/* Wait up to timeout_ms (0: not) for the files to change, then
 * logsrc_read_mono: its value, or -errno of the wait. */
long logsrc_poll(struct logsrc *s, int timeout_ms, logsrc_cb cb, void *arg);
/* Records handed over so far: processes, their ends and their events. */
static inline uint64_t logsrc_records(const struct logsrc_stats *st)
{
	return st->procs + st->exits + st->events;
}
void logsrc_stats(const struct logsrc *s, struct logsrc_stats *st);
void logsrc_close(struct logsrc *s);

#endif
