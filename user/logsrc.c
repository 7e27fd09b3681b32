// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Followed QEMU logs as a source of records (logsrc.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "follow.h"
#include "logsrc.h"
#include "qemulog.h"
#include "util.h"

/* A file's current QEMU process. */
struct run {
	struct qlog_header hdr; /* the last libvirt header seen */
	uint32_t pid;		/* 0: none yet (the next event starts one) */
	uint32_t n;		/* processes started in this file */
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
	int cb_ret; /* the callback's nonzero return, which stopped the read */
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

static int on_line(void *arg, size_t file, const char *line, size_t len)
{
	struct logsrc *s = arg;
	struct run *ru = &s->runs[file];
	union ms_rec rec;
	int r;

	s->st.lines++;
	switch (qlog_parse_line(line, len, &rec)) {
	case QLOG_EVENT: break;
	case QLOG_MALFORMED:
		/* a new start of QEMU ends the process of the file */
		if (qlog_header_line(&ru->hdr, line, len))
			ru->pid = 0;
		s->st.skipped++;
		return 0;
	default: s->st.skipped++; return 0;
	}
	rec.h.ts += (uint64_t)s->shift;
	if (!ru->pid) {
		union ms_rec p;

		ru->pid = rec.h.tid ? rec.h.tid : pseudo_pid(file, ru->n);
		ru->n++;
		memset(&p, 0, sizeof(p));
		p.h.kind = MS_EV_PROC;
		p.h.ts = rec.h.ts;
		p.h.pid = p.h.tid = ru->pid;
		p.proc.start_ns = rec.h.ts;
		ms_strlcpy(p.proc.vm, ru->hdr.vm, sizeof(p.proc.vm));
		ms_strlcpy(p.proc.uuid, ru->hdr.uuid, sizeof(p.proc.uuid));
		ms_strlcpy(p.proc.exe, fw_path(s->w, file), sizeof(p.proc.exe));
		if (!rec.h.tid) {
			p.proc.qemu_version = 100100;
			p.proc.pflags |= MS_PROC_VERSION_AT_LEAST;
		}
		s->st.procs++;
		r = emit(s, &p);
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

void logsrc_stats(const struct logsrc *s, struct logsrc_stats *st)
{
	*st = s->st;
}

void logsrc_close(struct logsrc *s)
{
	if (!s)
		return;
	fw_close(s->w, NULL, NULL);
	free(s);
}
