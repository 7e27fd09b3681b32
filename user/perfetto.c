// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The Chrome Trace Event Format writer (perfetto.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "perfetto.h"
#include "timeline.h"

/* The threads of a side: the migration (its whole span, milestones,
 * counters), its phases (their own track: QEMU 8.2 ends the migration before
 * its last downtime checkpoint), then a thread per device. */
#define PHASES 2

/* One event, its JSON text made at once; sorted by time before printing. */
struct ev {
	uint64_t ts; /* ns on the common line */
	size_t seq;  /* the order made, for equal times */
	char *json;  /* without "ts", which is printed from ts */
};

struct pw {
	const struct tl *tl;
	struct ev *ev;
	size_t n, cap;
	uint64_t t0;
	uint64_t flow_id;
	int err;
};

/* S as a JSON string's contents into buf (quotes, backslashes, controls) */
static const char *esc(char *buf, size_t n, const char *s)
{
	size_t k = 0;

	for (; *s && k + 7 < n; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			buf[k++] = '\\';
			buf[k++] = (char)c;
		} else if (c < 0x20) {
			k += (size_t)snprintf(buf + k, n - k, "\\u%04x", c);
		} else {
			buf[k++] = (char)c;
		}
	}
	buf[k] = '\0';
	return buf;
}

static void add(struct pw *w, uint64_t ts, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add(struct pw *w, uint64_t ts, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int k;

	if (w->err)
		return;
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 256;
		struct ev *e = realloc(w->ev, cap * sizeof(*e));

		if (!e) {
			w->err = -ENOMEM;
			return;
		}
		w->ev = e;
		w->cap = cap;
	}
	va_start(ap, fmt);
	k = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (k < 0) {
		w->err = -ENOMEM;
		return;
	}
	w->ev[w->n] = (struct ev){.ts = ts, .seq = w->n, .json = s};
	w->n++;
}

static int ev_cmp(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static uint64_t on_line(const struct tl_mig *m, uint64_t ts)
{
	return tl_mig_line_ts(m, ts);
}

static uint64_t ms_at(const struct tl_mig *m, enum tl_milestone k)
{
	return on_line(m, tl_mig_milestone(m, k));
}

/* A complete event from a to b (both present, a <= b) on thread tid */
static void span(struct pw *w, int pid, int tid, const char *name, uint64_t a, uint64_t b,
		 const char *cat)
{
	if (!tl_has(a) || !tl_has(b) || b < a)
		return;
	add(w, a, "\"ph\":\"X\",\"pid\":%d,\"tid\":%d,\"cat\":\"%s\",\"name\":\"%s\",\"dur\":%.3f",
	    pid, tid, cat, name, (double)(b - a) / 1e3);
}

static void source_phases(struct pw *w, const struct tl_mig *m, int pid)
{
	uint64_t dt0 = ms_at(m, TL_M_SRC_DOWNTIME_START), dt1 = ms_at(m, TL_M_SRC_DOWNTIME_END);
	uint64_t stopped = ms_at(m, TL_M_SRC_VM_STOPPED), it = ms_at(m, TL_M_SRC_ITERABLE_SAVED);
	uint64_t ready = ms_at(m, TL_M_READY), acked = ms_at(m, TL_M_ACK_RECEIVED);

	span(w, pid, PHASES, "setup", ms_at(m, TL_M_SETUP), ms_at(m, TL_M_ACTIVE), "phase");
	span(w, pid, PHASES, "precopy", ms_at(m, TL_M_ACTIVE), dt0, "phase");
	if (tl_mig_ack_enabled(m) == 1 && tl_has(ready) && tl_has(acked) && acked > ready)
		span(w, pid, PHASES, "waiting for the ACK", ready, acked, "phase");
	span(w, pid, PHASES, "downtime", dt0, dt1, "phase");
	span(w, pid, PHASES, "stop", dt0, stopped, "downtime");
	span(w, pid, PHASES, "iterable save", stopped, it, "downtime");
	span(w, pid, PHASES, "non-iterable save", it, ms_at(m, TL_M_SRC_NON_ITERABLE_SAVED),
	     "downtime");
}

static void dest_phases(struct pw *w, const struct tl_mig *m, int pid)
{
	uint64_t loaded = ms_at(m, TL_M_DST_LOADVM_COMPLETED);
	uint64_t started = ms_at(m, TL_M_DST_BH_VM_STARTED);

	span(w, pid, PHASES, "setup", ms_at(m, TL_M_SETUP), ms_at(m, TL_M_ACTIVE), "phase");
	span(w, pid, PHASES, "loading", ms_at(m, TL_M_ACTIVE), loaded, "phase");
	span(w, pid, PHASES, "starting", loaded, started, "phase");
}

static void devices(struct pw *w, const struct tl_mig *m, int pid, uint64_t end)
{
	char name[2 * MS_STR_LEN + 16];

	for (uint32_t i = 0; i < m->ndevs; i++) {
		const struct tl_dev *d = &m->devs[i];
		int tid = PHASES + 1 + (int)i;

		add(w, 0,
		    "\"ph\":\"M\",\"pid\":%d,\"tid\":%d,\"name\":\"thread_name\",\"args\":{"
		    "\"name\":"
		    "\"vfio %s\"}",
		    pid, tid, esc(name, sizeof(name), d->name));
		for (uint32_t k = 0; k < d->ntr; k++) {
			const struct tl_transition *t = &d->tr[k];
			uint64_t a = on_line(m, t->ts);
			uint64_t b = k + 1 < d->ntr ? on_line(m, d->tr[k + 1].ts) : end;

			span(w, pid, tid, cat_vfio_state_name(t->to), a, b, "device state");
			if (tl_dhas(t->dur_ns) && t->dur_ns >= 0)
				span(w, pid, tid, "SET_STATE ioctl", a, a + (uint64_t)t->dur_ns,
				     "ioctl");
		}
		/* its precopy sizes, a counter track of its own */
		for (uint32_t k = 0; k < d->ds_n; k++) {
			const struct tl_dev_sample *v = tl_dev_sample(d, k);

			add(w, on_line(m, v->ts),
			    "\"ph\":\"C\",\"pid\":%d,\"tid\":%d,\"name\":\"vfio %s precopy "
			    "bytes\",\"args\":{\"initial\":%llu,\"dirty\":%llu}",
			    pid, tid, name, (unsigned long long)v->initial,
			    (unsigned long long)v->dirty);
		}
	}
}

/* A track per QEMU thread the migration's records came from, after the
 * devices' (its tid is the thread's own, its name what the thread did): one
 * complete event from its first record to its last */
static void threads(struct pw *w, const struct tl_mig *m, int pid)
{
	for (uint16_t i = 0; i < m->nthreads; i++) {
		const struct tl_thread *t = &m->threads[i];
		int tid = PHASES + 1 + (int)m->ndevs + 1 + (int)i;
		const char *what = tl_thread_name((enum tl_thread_kind)t->kind);

		add(w, 0,
		    "\"ph\":\"M\",\"pid\":%d,\"tid\":%d,\"name\":\"thread_name\",\"args\":{"
		    "\"name\":\"%s (tid %u)\"}",
		    pid, tid, what, t->tid);
		add(w, on_line(m, t->first_ts),
		    "\"ph\":\"X\",\"pid\":%d,\"tid\":%d,\"cat\":\"thread\",\"name\":\"%s\","
		    "\"dur\":%.3f,\"args\":{\"tid\":%u,\"records\":%u}",
		    pid, tid, what, (double)(t->last_ts - t->first_ts) / 1e3, t->tid, t->records);
	}
}

static void counters(struct pw *w, const struct tl_mig *m, int pid)
{
	uint32_t n = m->series_n;

	for (uint32_t i = 0; i < n; i++) {
		const struct tl_sample *s = tl_mig_sample(m, i);

		if (!s)
			continue;
		if (tl_has(s->threshold))
			add(w, on_line(m, s->ts),
			    "\"ph\":\"C\",\"pid\":%d,\"tid\":1,\"name\":\"pending bytes\","
			    "\"args\":{\"pending\":%llu,\"threshold\":%llu}",
			    pid, (unsigned long long)s->pending, (unsigned long long)s->threshold);
		else
			add(w, on_line(m, s->ts),
			    "\"ph\":\"C\",\"pid\":%d,\"tid\":1,\"name\":\"pending bytes\","
			    "\"args\":{\"pending\":%llu}",
			    pid, (unsigned long long)s->pending);
	}
}

static void milestones(struct pw *w, const struct tl_mig *m, int pid)
{
	for (int k = 0; k < TL_M_COUNT; k++) {
		uint64_t v = ms_at(m, (enum tl_milestone)k);
		const char *name = k == TL_M_END ? tl_result_name(m->result)
						 : tl_milestone_name((enum tl_milestone)k);

		if (tl_has(v))
			add(w, v,
			    "\"ph\":\"i\",\"s\":\"t\",\"pid\":%d,\"tid\":1,\"cat\":\"milestone\","
			    "\"name\":\"%s\"",
			    pid, name);
	}
}

/* A flow from side a's milestone ka to side b's kb (a message) */
static void flow(struct pw *w, const char *name, const struct tl_mig *a, int pa,
		 enum tl_milestone ka, const struct tl_mig *b, int pb, enum tl_milestone kb)
{
	uint64_t ta = ms_at(a, ka), tb = ms_at(b, kb);

	if (!tl_has(ta) || !tl_has(tb))
		return;
	w->flow_id++;
	add(w, ta,
	    "\"ph\":\"s\",\"pid\":%d,\"tid\":1,\"cat\":\"message\",\"name\":\"%s\",\"id\":%llu", pa,
	    name, (unsigned long long)w->flow_id);
	/* an arrival before the departure on an uncertain clock: at it */
	add(w, tb < ta ? ta : tb,
	    "\"ph\":\"f\",\"bp\":\"e\",\"pid\":%d,\"tid\":1,\"cat\":\"message\",\"name\":\"%s\","
	    "\"id\":%llu",
	    pb, name, (unsigned long long)w->flow_id);
}

static void side(struct pw *w, const struct tl_mig *m, int pid)
{
	const struct tl *tl = w->tl;
	const struct tl_proc *pr = tl_mig_proc(m);
	enum tl_role role = tl_mig_role(m);
	uint64_t start = on_line(m, m->start_ts), end = tl_mig_line_last(m);
	char vm[2 * MS_NAME_LEN], host[160];

	esc(vm, sizeof(vm), m->vm[0] ? m->vm : "?");
	esc(host, sizeof(host), tl_mig_host(tl, m)[0] ? tl_mig_host(tl, m) : "-");
	add(w, 0,
	    "\"ph\":\"M\",\"pid\":%d,\"tid\":0,\"name\":\"process_name\",\"args\":{\"name\":"
	    "\"%s %s %s (pid %u)\"}",
	    pid, host, tl_role_name(role), vm, m->pid);
	add(w, 0,
	    "\"ph\":\"M\",\"pid\":%d,\"tid\":1,\"name\":\"thread_name\",\"args\":{\"name\":"
	    "\"migration\"}",
	    pid);
	add(w, 0,
	    "\"ph\":\"M\",\"pid\":%d,\"tid\":%d,\"name\":\"thread_name\",\"args\":{\"name\":"
	    "\"phases\"}",
	    pid, PHASES);
	add(w, start,
	    "\"ph\":\"X\",\"pid\":%d,\"tid\":1,\"cat\":\"migration\",\"name\":\"migration %s\","
	    "\"dur\":%.3f,\"args\":{\"result\":\"%s\",\"qemu_pid\":%u}",
	    pid, tl_role_name(role), (double)(end - start) / 1e3, tl_result_name(m->result),
	    m->pid);
	if (role == TL_ROLE_SOURCE)
		source_phases(w, m, pid);
	else if (role == TL_ROLE_DEST)
		dest_phases(w, m, pid);
	milestones(w, m, pid);
	devices(w, m, pid, end);
	threads(w, m, pid);
	counters(w, m, pid);
	(void)pr;
}

int perfetto_write(FILE *out, const struct tl *tl)
{
	struct pw w = {.tl = tl, .t0 = TL_NONE};
	size_t n = tl_nmigs(tl);
	int ret = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t s = on_line(tl_mig_at(tl, i), tl_mig_at(tl, i)->start_ts);

		if (tl_has(s) && (!tl_has(w.t0) || s < w.t0))
			w.t0 = s;
	}
	for (size_t i = 0; i < n; i++)
		side(&w, tl_mig_at(tl, i), (int)i + 1);
	for (size_t i = 0; i < tl_npairs(tl); i++) {
		const struct tl_pair *p = tl_pair_at(tl, i);
		int ps = (int)tl_mig_index(tl, p->src) + 1, pd = (int)tl_mig_index(tl, p->dst) + 1;

		flow(&w, "switchover ACK", p->dst, pd, TL_M_ACK_SENT, p->src, ps,
		     TL_M_ACK_RECEIVED);
		flow(&w, "SWITCHOVER_START", p->src, ps, TL_M_SWITCHOVER_START, p->dst, pd,
		     TL_M_SWITCHOVER_START_RECEIVED);
	}
	if (!w.err)
		qsort(w.ev, w.n, sizeof(*w.ev), ev_cmp);
	if (!w.err) {
		fprintf(out, "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n");
		for (size_t i = 0; i < w.n; i++) {
			/* metadata (ts 0) at 0; the rest from the first start */
			double us = w.ev[i].ts && tl_has(w.t0) && w.ev[i].ts >= w.t0
					? (double)(w.ev[i].ts - w.t0) / 1e3
					: 0;

			fprintf(out, "{\"ts\":%.3f,%s}%s\n", us, w.ev[i].json,
				i + 1 < w.n ? "," : "");
		}
		fprintf(out, "]}\n");
		if (ferror(out))
			ret = -EIO;
	} else {
		ret = w.err;
	}
	for (size_t i = 0; i < w.n; i++)
		free(w.ev[i].json);
	free(w.ev);
	return ret;
}
