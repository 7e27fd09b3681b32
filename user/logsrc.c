// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Followed QEMU logs as a source of records (logsrc.h). */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "follow.h"
#include "logsrc.h"
#include "qemulog.h"
#include "util.h"

/* A file's current QEMU process. */
struct run {
	struct qlog_header hdr; /* the last libvirt header seen */
	uint32_t pid;		/* 0: none yet (the next event starts one) */
	uint32_t n;		/* processes started in this file */
	bool announced;		/* its MS_EV_PROC record was handed over */
	uint64_t last_ts;	/* of its latest record */
};

struct logsrc {
	struct fw *w;
	struct run runs[FW_FILES];
	struct logsrc_stats st;
	/* the read in progress */
	int64_t shift;
	logsrc_cb cb;
	void *arg;
	long nrec;
	int cb_ret;	    /* the callback's nonzero return, which stopped the read */
	bool history;	    /* this read hands over no record (logsrc_skip_history) */
	int64_t mono_shift; /* logsrc_read_mono's */
	bool have_mono;
};

/* 10.1+ lines name no thread: a pseudo pid per file and start, above any
 * real pid (QLOG_NO_TID_PID) */
static uint32_t pseudo_pid(size_t file, uint32_t n)
{
	return QLOG_NO_TID_PID + (uint32_t)file * 64u + (n & 63u);
}

/* 0, or 1 when the callback said stop (its value kept for logsrc_read) */
static int emit(struct logsrc *s, const union ms_rec *r)
{
	s->nrec++;
	s->cb_ret = s->cb(s->arg, r);
	return s->cb_ret ? 1 : 0;
}

/* libvirt's "YYYY-MM-DD HH:MM:SS.mmm+HHMM: shutting down, reason=..." line,
 * written when the VM's QEMU has ended: its time (unix ns) in *ns, 0 when
 * the stamp cannot be read. */
static bool lv_shutdown(const char *line, size_t len, uint64_t *ns)
{
	static const char tag[] = ": shutting down, reason=";
	int y, mo, d, h, mi, sec, ms, zh, zm, n = 0;
	char buf[64], sign;
	struct tm tm = {};
	const char *p;
	time_t t;

	if (len < 30 || len >= 4096)
		return false;
	p = memmem(line, len, tag, sizeof(tag) - 1);
	if (!p || p - line >= (ptrdiff_t)sizeof(buf))
		return false;
	*ns = 0;
	memcpy(buf, line, (size_t)(p - line));
	buf[p - line] = '\0';
	if (sscanf(buf, "%4d-%2d-%2d %2d:%2d:%2d.%3d%c%2d%2d%n", &y, &mo, &d, &h, &mi, &sec, &ms,
		   &sign, &zh, &zm, &n) != 10 ||
	    (size_t)n != strlen(buf) || (sign != '+' && sign != '-'))
		return true;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t < 0)
		return true;
	t -= (sign == '+' ? 1 : -1) * (zh * 3600 + zm * 60);
	*ns = (uint64_t)t * 1000000000ull + (uint64_t)ms * 1000000ull;
	return true;
}

/* The file's process has ended (libvirt said so, or started QEMU again):
 * an MS_EV_EXIT record at TS (at least its last record's), its status
 * unknown (-1), when its identity was handed over. */
static int end_run(struct logsrc *s, struct run *ru, uint64_t ts)
{
	uint32_t pid = ru->pid;
	bool announced = ru->announced;
	union ms_rec x;

	ru->pid = 0;
	ru->announced = false;
	if (!pid || !announced)
		return 0;
	memset(&x, 0, sizeof(x));
	x.h.kind = MS_EV_EXIT;
	x.h.ts = ts > ru->last_ts ? ts : ru->last_ts;
	x.h.pid = x.h.tid = pid;
	x.exit.exit_code = -1;
	s->st.exits++;
	return emit(s, &x);
}

/* The MS_EV_PROC record of the file's process, before its first record
 * handed over (at TS, that record's time: a process met in its middle has
 * no known start). */
static int announce(struct logsrc *s, size_t file, struct run *ru, uint64_t ts, bool no_tid)
{
	union ms_rec p;

	ru->announced = true;
	memset(&p, 0, sizeof(p));
	p.h.kind = MS_EV_PROC;
	p.h.ts = ts;
	p.h.pid = p.h.tid = ru->pid;
	p.proc.start_ns = ts;
	ms_strlcpy(p.proc.vm, ru->hdr.vm, sizeof(p.proc.vm));
	ms_strlcpy(p.proc.uuid, ru->hdr.uuid, sizeof(p.proc.uuid));
	ms_strlcpy(p.proc.exe, fw_path(s->w, file), sizeof(p.proc.exe));
	if (no_tid) {
		p.proc.qemu_version = 100100;
		p.proc.pflags |= MS_PROC_VERSION_AT_LEAST;
	}
	s->st.procs++;
	return emit(s, &p);
}

static int on_line(void *arg, size_t file, const char *line, size_t len)
{
	struct logsrc *s = arg;
	struct run *ru = &s->runs[file];
	union ms_rec rec;
	uint64_t ts;
	int r;

	s->st.lines++;
	switch (qlog_parse_line(line, len, &rec)) {
	case QLOG_EVENT: break;
	case QLOG_MALFORMED:
		s->st.skipped++;
		/* a new start of QEMU ends the process of the file */
		if (qlog_header_line(&ru->hdr, line, len))
			return end_run(s, ru, 0);
		if (lv_shutdown(line, len, &ts))
			return end_run(s, ru, ts ? ts + (uint64_t)s->shift : 0);
		return 0;
	default: s->st.skipped++; return 0;
	}
	rec.h.ts += (uint64_t)s->shift;
	/* the process is the one of the run's first line, history or not */
	if (!ru->pid) {
		ru->pid = rec.h.tid ? rec.h.tid : pseudo_pid(file, ru->n);
		ru->n++;
	}
	if (s->history) {
		s->st.history++;
		return 0;
	}
	ru->last_ts = rec.h.ts;
	if (!ru->announced) {
		r = announce(s, file, ru, rec.h.ts, !rec.h.tid);
		if (r)
			return r;
	}
	rec.h.pid = ru->pid;
	if (!rec.h.tid)
		rec.h.tid = ru->pid;
	s->st.events++;
	return emit(s, &rec);
}

struct logsrc *logsrc_open(char *const *paths, size_t n, char *err, size_t errlen)
{
	struct logsrc *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->w = fw_open(paths, n, err, errlen);
	if (!s->w) {
		free(s);
		return NULL;
	}
	return s;
}

int logsrc_fd(const struct logsrc *s)
{
	return fw_fd(s->w);
}

long logsrc_skip_history(struct logsrc *s)
{
	long r;

	s->history = true;
	s->cb = NULL;
	s->nrec = 0;
	s->cb_ret = 0;
	r = fw_read(s->w, on_line, s);
	s->history = false;
	return r < 0 ? r : 0;
}

long logsrc_read(struct logsrc *s, int64_t real_to_mono, logsrc_cb cb, void *arg)
{
	long r;

	s->shift = real_to_mono;
	s->cb = cb;
	s->arg = arg;
	s->nrec = 0;
	s->cb_ret = 0;
	r = fw_read(s->w, on_line, s);
	if (s->cb_ret)
		return s->cb_ret;
	return r < 0 ? r : s->nrec;
}

#define SHIFT_STEP_NS 1000000 /* 1 ms */

long logsrc_read_mono(struct logsrc *s, logsrc_cb cb, void *arg)
{
	uint64_t mono, real;
	int64_t d;

	ms_clock_pair(&mono, &real);
	d = (int64_t)(mono - real);
	if (!s->have_mono || llabs(d - s->mono_shift) > SHIFT_STEP_NS) {
		s->mono_shift = d;
		s->have_mono = true;
	}
	return logsrc_read(s, s->mono_shift, cb, arg);
}

long logsrc_poll(struct logsrc *s, int timeout_ms, logsrc_cb cb, void *arg)
{
	struct pollfd pfd = {.fd = fw_fd(s->w), .events = POLLIN};

	if (timeout_ms && poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR)
		return -errno;
	return logsrc_read_mono(s, cb, arg);
}

void logsrc_stats(const struct logsrc *s, struct logsrc_stats *st)
{
	*st = s->st;
	fw_stats(s->w, &st->files);
}

void logsrc_close(struct logsrc *s)
{
	if (!s)
		return;
	fw_close(s->w, NULL, NULL);
	free(s);
}
