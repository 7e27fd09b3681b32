// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * migscope top: snapshots of the engine's state, the table's cells and the
 * plain-text printer of --batch. Nothing here draws on a terminal.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "catalog.h"
#include "top.h"
#include "util.h"

/* ------------------------------------------------------------------ */
/* snapshots */

static int64_t rel_ns(uint64_t ts, uint64_t start)
{
	if (!tl_has(ts) || !tl_has(start))
		return TL_DNONE;
	return (int64_t)(ts - start);
}

/* Names come from QEMU command lines and probe arguments: no control
 * characters reach a terminal (batch output included). */
static void copy_clean(char *dst, size_t n, const char *src)
{
	size_t i = 0;

	for (; src[i] && i + 1 < n; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? '?' : src[i];
	dst[i] = 0;
}

static const struct tl_dev *dev_by_name(const struct tl_mig *m, const char *name)
{
	for (uint32_t i = 0; m && i < m->ndevs; i++)
		if (!strcmp(m->devs[i].name, name))
			return &m->devs[i];
	return NULL;
}

static void add_name(char *buf, size_t n, const char *name)
{
	size_t len = strlen(buf);

	snprintf(buf + len, n - len, "%s%s", len ? " " : "", name);
}

static int ms_cmp(const void *a, const void *b)
{
	const struct top_ms *x = a, *y = b;

	return x->rel < y->rel ? -1 : x->rel > y->rel;
}

static void fill_milestones(struct top_row *r, const struct tl_mig *m)
{
	r->nms = 0;
	for (int k = 0; k < TL_M_COUNT; k++) {
		uint64_t ts = tl_mig_milestone(m, (enum tl_milestone)k);
		struct top_ms *e;

		if (!tl_has(ts) || ts < m->start_ts)
			continue;
		e = &r->ms[r->nms++];
		e->rel = ts - m->start_ts;
		if (k == TL_M_END)
			snprintf(e->name, sizeof(e->name), "%s", tl_result_name(m->result));
		else if (k == TL_M_ACK_NEEDED && tl_has(m->ack_needed))
			snprintf(e->name, sizeof(e->name), "%s (%llu)", tl_milestone_name(k),
				 (unsigned long long)m->ack_needed);
		else
			snprintf(e->name, sizeof(e->name), "%s", tl_milestone_name(k));
	}
	for (uint32_t i = 0; i < m->napprovals && r->nms < TOP_MAX_MS; i++) {
		const struct tl_approval *a = &m->approvals[i];
		struct top_ms *e;

		if (a->ts < m->start_ts)
			continue;
		e = &r->ms[r->nms++];
		e->rel = a->ts - m->start_ts;
		snprintf(e->name, sizeof(e->name), "approval %.24s (%u pending)",
			 a->dev >= 0 && (uint32_t)a->dev < m->ndevs ? m->devs[a->dev].name : "?",
			 a->pending);
	}
	qsort(r->ms, r->nms, sizeof(r->ms[0]), ms_cmp);
}

static void fill_devices(struct top_row *r, const struct tl *tl, const struct tl_mig *m,
			 const struct tl_mig *dst)
{
	/* the destination's times on this side's clock (aligned when two) */
	const struct tl_pair *pair = tl_mig_pair(m);

	r->ndevs = m->ndevs;
	for (uint32_t i = 0; i < m->ndevs; i++) {
		const struct tl_dev *d = &m->devs[i];
		const struct tl_dev *dd = dst == m ? d : dev_by_name(dst, d->name);
		struct top_dev *o = &r->devs[i];

		memset(o, 0, sizeof(*o));
		copy_clean(o->name, sizeof(o->name), d->name);
		o->state = d->state;
		o->initial = tl_dev_initial(m, d);
		o->live_initial = d->initial;
		o->live_dirty = d->dirty;
		o->stopcopy = tl_dev_stopcopy(m, d);
		o->loaded = r->role == TL_ROLE_DEST ? tl_dev_bytes_written(m, d) : TL_NONE;
		o->drain = tl_dev_drain(m, d);
		o->precopy = d->precopy;
		o->init_sent_rel = o->approved_rel = TL_DNONE;
		o->approve_pending = TL_NONE;
		if (dd) {
			o->approval_known = true;
			o->init_sent = tl_has(dd->init_sent_ts);
			o->approved = tl_has(dd->approve_ts);
			o->approve_pending = dd->approve_pending;
			if (dd == d) {
				o->init_sent_rel = rel_ns(dd->init_sent_ts, m->start_ts);
				o->approved_rel = rel_ns(dd->approve_ts, m->start_ts);
			} else if (pair) {
				o->init_sent_rel =
				    rel_ns(tl_pair_dst_ts(pair, dd->init_sent_ts), m->start_ts);
				o->approved_rel =
				    rel_ns(tl_pair_dst_ts(pair, dd->approve_ts), m->start_ts);
			}
		}
	}
}

static void fill_row(struct top_row *r, const struct tl *tl, const struct tl_mig *m)
{
	const struct tl_pair *pair = tl_mig_pair(m);
	const struct tl_mig *peer = NULL, *dst = NULL, *src = NULL;
	const struct tl_sample *last = NULL;

	memset(r, 0, sizeof(*r));
	r->pid = m->pid;
	r->start_ts = m->start_ts;
	copy_clean(r->vm, sizeof(r->vm), m->vm);
	copy_clean(r->uuid, sizeof(r->uuid), m->uuid);
	r->role = tl_mig_role(m);
	r->result = m->result;
	snprintf(r->phase, sizeof(r->phase), "%s", tl_mig_phase(m));
	r->incomplete = m->incomplete;
	r->elapsed = tl_mig_elapsed(tl, m);
	copy_clean(r->error, sizeof(r->error), m->error);
	if (pair)
		peer = pair->src == m ? pair->dst : pair->src;
	r->peer_pid = peer ? peer->pid : 0;
	if (!peer && r->role != TL_ROLE_UNKNOWN) {
		/* a live view sees one host: the other side is elsewhere */
		snprintf(r->peer, sizeof(r->peer), "other host");
	} else if (peer && peer->clock != m->clock) {
		char e[32];

		if (tl_dhas(tl_pair_clock_error(pair)))
			top_fmt_dur(e, sizeof(e), tl_pair_clock_error(pair));
		else
			snprintf(e, sizeof(e), "?");
		copy_clean(r->peer, sizeof(r->peer),
			   tl_mig_host(tl, peer)[0] ? tl_mig_host(tl, peer) : "other host");
		snprintf(r->peer + strlen(r->peer), sizeof(r->peer) - strlen(r->peer),
			 " pid %u, clocks aligned +/-%s", peer->pid, e);
	}
	if (r->role == TL_ROLE_DEST) {
		dst = m;
		src = peer;
	} else if (r->role == TL_ROLE_SOURCE) {
		src = m;
		dst = peer;
	}

	r->transferred = r->pending = r->threshold = r->bandwidth = TL_NONE;
	r->predicted = r->limit = TL_DNONE;
	if (r->role == TL_ROLE_SOURCE) {
		if (m->series_n)
			last = tl_mig_sample(m, m->series_n - 1);
		if (last) {
			r->pending = tl_has(last->exact) ? last->exact : last->pending;
			r->threshold = last->threshold;
			r->bandwidth = last->bandwidth;
		}
		if (!m->incomplete)
			r->transferred = m->transferred;
		r->predicted = tl_mig_predicted_downtime(m);
		if (tl_has(r->threshold) && tl_has(r->bandwidth) && r->bandwidth)
			r->limit = (int64_t)((double)r->threshold / (double)r->bandwidth * 1e6);
		r->iterations = m->iterations;
	}

	r->ack_enabled = tl_mig_ack_enabled(m);
	r->acked = tl_mig_acked(m);
	r->ack_at = TL_NONE;
	if (r->acked == 1) {
		uint64_t ts = tl_mig_milestone(m, r->role == TL_ROLE_DEST ? TL_M_ACK_SENT
									  : TL_M_ACK_RECEIVED);

		if (tl_has(ts) && ts >= m->start_ts)
			r->ack_at = ts - m->start_ts;
	}
	r->ack_needed = tl_mig_ack_pending_initial(m);
	r->ack_approved = TL_NONE;
	if (dst && tl_has(r->ack_needed)) {
		uint64_t left = dst->ack_pending;

		r->ack_approved = tl_has(left) && left <= r->ack_needed ? r->ack_needed - left : 0;
		if (r->acked != 1 && r->ack_needed)
			for (uint32_t i = 0; i < dst->ndevs; i++)
				if (!tl_has(dst->devs[i].approve_ts))
					add_name(r->ack_waiting, sizeof(r->ack_waiting),
						 dst->devs[i].name);
	}

	r->downtime = src ? tl_mig_downtime(src) : TL_DNONE;
	r->guest_downtime = pair ? tl_pair_guest_downtime(tl, pair) : TL_DNONE;
	tl_mig_breakdown(tl, m, &r->bd);
	r->has_breakdown = tl_dhas(r->bd.stop) || tl_dhas(r->bd.iterable) ||
			   tl_dhas(r->bd.non_iterable) || tl_dhas(r->bd.transfer_load) ||
			   tl_dhas(r->bd.dst_start);

	tl_mig_stall(tl, m, &r->stall);
	r->stall_for = r->stall.stalled && tl_has(r->stall.since) && tl_now(tl) >= r->stall.since
			   ? (int64_t)(tl_now(tl) - r->stall.since)
			   : TL_DNONE;
	if (r->stall.stalled && r->stall.reason == TL_STALL_WAITING_ACK) {
		if (r->stall.dst_devs && dst) {
			for (uint32_t i = 0; i < dst->ndevs && i < 32; i++)
				if (r->stall.dst_devs & (1u << i))
					add_name(r->stall_devs, sizeof(r->stall_devs),
						 dst->devs[i].name);
		} else {
			for (uint32_t i = 0; i < m->ndevs && i < 32; i++)
				if (r->stall.devs & (1u << i))
					add_name(r->stall_devs, sizeof(r->stall_devs),
						 m->devs[i].name);
		}
	}

	fill_devices(r, tl, m, dst);
	fill_milestones(r, m);
}

static bool pid_wanted(const struct top_take_opts *o, uint32_t pid)
{
	if (!o || !o->npids)
		return true;
	for (size_t i = 0; i < o->npids; i++)
		if ((uint32_t)o->pids[i] == pid)
			return true;
	return false;
}

static const struct top_row *prev_row(const struct top_snap *prev, const struct top_row *r)
{
	for (size_t i = 0; prev && i < prev->nrows; i++)
		if (prev->rows[i].pid == r->pid && prev->rows[i].start_ts == r->start_ts)
			return &prev->rows[i];
	return NULL;
}

static uint64_t hist_value(const struct top_row *r, const struct top_dev *d)
{
	if (r->role == TL_ROLE_DEST)
		return tl_has(d->loaded) ? d->loaded : 0;
	return (tl_has(d->live_initial) ? d->live_initial : 0) +
	       (tl_has(d->live_dirty) ? d->live_dirty : 0);
}

static void carry_history(struct top_row *r, const struct top_row *p)
{
	for (uint32_t i = 0; i < r->ndevs; i++) {
		struct top_dev *d = &r->devs[i];
		const struct top_dev *pd = NULL;

		for (uint32_t j = 0; p && j < p->ndevs; j++)
			if (!strcmp(p->devs[j].name, d->name))
				pd = &p->devs[j];
		if (pd) {
			d->nhist = pd->nhist;
			memcpy(d->hist, pd->hist, sizeof(d->hist));
		}
		/* an ended migration keeps its history as it ended */
		if (r->result != TL_RES_ACTIVE && p && p->result != TL_RES_ACTIVE)
			continue;
		if (d->nhist == TOP_HIST_LEN) {
			memmove(d->hist, d->hist + 1, (TOP_HIST_LEN - 1) * sizeof(d->hist[0]));
			d->nhist--;
		}
		d->hist[d->nhist++] = hist_value(r, d);
	}
}

struct top_pick {
	const struct tl_mig *m;
	int64_t dt, gdt; /* the downtimes of the process's previous migration */
};

static void mig_downtimes(const struct tl *tl, const struct tl_mig *m, int64_t *dt, int64_t *gdt)
{
	const struct tl_pair *p = tl_mig_pair(m);
	const struct tl_mig *src = NULL;

	if (tl_mig_role(m) == TL_ROLE_SOURCE)
		src = m;
	else if (tl_mig_role(m) == TL_ROLE_DEST && p)
		src = p->src;
	*dt = src ? tl_mig_downtime(src) : TL_DNONE;
	*gdt = p ? tl_pair_guest_downtime(tl, p) : TL_DNONE;
}

static bool grow_to(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return true;
	while (n < need)
		n *= 2;
	p = realloc(*arr, n * elem);
	if (!p)
		return false;
	*arr = p;
	*cap = n;
	return true;
}

int top_snap_take(struct top_snap *s, const struct tl *tl, const struct top_snap *prev,
		  const struct top_take_opts *o)
{
	size_t nm = tl_nmigs(tl), np = 0, j = 0;
	struct top_pick *pk;
	uint64_t now = tl_now(tl);

	if (o && o->now > now)
		now = o->now;
	s->now = tl_now(tl);
	s->nrows = 0;
	/* one row per process, (clock, pid) as the engine tells them apart
	 * (two hosts' files, or two 10.1+ logs, can give one pid twice): its
	 * latest migration (start order); only the rows shown are filled, so
	 * that the lock is held briefly however many migrations the engine
	 * remembers */
	for (size_t i = 0; i < nm; i++) {
		const struct tl_mig *m = tl_mig_at(tl, i);
		struct top_pick *p = NULL;

		if (!pid_wanted(o, m->pid))
			continue;
		pk = s->picks;
		for (size_t k = 0; k < np && !p; k++)
			if (pk[k].m->pid == m->pid && pk[k].m->clock == m->clock)
				p = &pk[k];
		if (p) {
			int64_t dt, gdt;

			mig_downtimes(tl, p->m, &dt, &gdt);
			if (tl_dhas(dt)) {
				p->dt = dt;
				p->gdt = gdt;
			}
		} else {
			if (!grow_to(&s->picks, &s->picks_cap, np + 1, sizeof(*pk)))
				return -ENOMEM;
			p = &((struct top_pick *)s->picks)[np++];
			p->dt = p->gdt = TL_DNONE;
		}
		p->m = m;
	}
	pk = s->picks;
	/* ended long ago: not recent any more */
	for (size_t i = 0; i < np; i++) {
		const struct tl_mig *m = pk[i].m;
		int64_t total = tl_mig_total(m);

		if (o && o->keep_ns && m->result != TL_RES_ACTIVE && tl_dhas(total) &&
		    m->start_ts + (uint64_t)total + o->keep_ns < now)
			continue;
		pk[j++] = pk[i];
	}
	np = j;
	if (!grow_to((void **)&s->rows, &s->cap, np, sizeof(*s->rows)))
		return -ENOMEM;
	for (size_t i = 0; i < np; i++) {
		struct top_row *r = &s->rows[i];

		fill_row(r, tl, pk[i].m);
		if (!tl_dhas(r->downtime) && tl_dhas(pk[i].dt)) {
			r->downtime = pk[i].dt;
			r->guest_downtime = pk[i].gdt;
			r->downtime_prev = true;
		}
	}
	s->nrows = np;
	for (size_t i = 0; i < s->nrows; i++)
		carry_history(&s->rows[i], prev_row(prev, &s->rows[i]));
	return 0;
}

void top_snap_free(struct top_snap *s)
{
	free(s->rows);
	free(s->picks);
	s->rows = NULL;
	s->picks = NULL;
	s->nrows = s->cap = s->picks_cap = 0;
}

/* ------------------------------------------------------------------ */
/* order and filter */

static const struct top_snap *sort_snap;
static enum top_sort sort_key;

static int attention(const struct top_row *r)
{
	if (top_row_stalled(r))
		return 0;
	if (!strcmp(r->phase, "waiting-ack") || (r->acked == 0 && r->ack_waiting[0]))
		return 1;
	if (r->result == TL_RES_ACTIVE)
		return 2;
	return r->result == TL_RES_COMPLETED ? 4 : 3;
}

static int row_cmp(const void *a, const void *b)
{
	const struct top_row *x = &sort_snap->rows[*(const size_t *)a];
	const struct top_row *y = &sort_snap->rows[*(const size_t *)b];
	int c = 0;

	switch (sort_key) {
	case TOP_SORT_VM: c = strcmp(x->vm, y->vm); break;
	case TOP_SORT_ATTENTION: c = attention(x) - attention(y); break;
	case TOP_SORT_ELAPSED: c = x->elapsed > y->elapsed ? -1 : x->elapsed < y->elapsed; break;
	default: break;
	}
	if (!c && sort_key == TOP_SORT_VM)
		c = (int)x->role - (int)y->role;
	if (!c)
		c = x->start_ts < y->start_ts ? -1 : x->start_ts > y->start_ts;
	if (!c)
		c = x->pid < y->pid ? -1 : x->pid > y->pid;
	return c;
}

const char *top_sort_name(enum top_sort k)
{
	switch (k) {
	case TOP_SORT_VM: return "vm";
	case TOP_SORT_ATTENTION: return "attention";
	case TOP_SORT_ELAPSED: return "elapsed";
	default: return "start";
	}
}

static bool has_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++)
		if (!strncasecmp(hay, needle, n))
			return true;
	return n == 0;
}

bool top_row_match(const struct top_row *r, const char *f)
{
	char pid[16];

	if (!f || !*f)
		return true;
	snprintf(pid, sizeof(pid), "%u", r->pid);
	if (has_ci(r->vm, f) || has_ci(r->uuid, f) || has_ci(pid, f) || has_ci(r->phase, f) ||
	    has_ci(tl_role_name(r->role), f) || has_ci(top_role_short(r->role), f))
		return true;
	for (uint32_t i = 0; i < r->ndevs; i++)
		if (has_ci(r->devs[i].name, f))
			return true;
	return false;
}

size_t top_order(const struct top_snap *s, enum top_sort k, const char *filter, size_t *idx)
{
	size_t n = 0;

	for (size_t i = 0; i < s->nrows; i++)
		if (top_row_match(&s->rows[i], filter))
			idx[n++] = i;
	/* qsort has no context argument in C11; the view is single-threaded */
	sort_snap = s;
	sort_key = k;
	qsort(idx, n, sizeof(*idx), row_cmp);
	sort_snap = NULL;
	return n;
}

/* ------------------------------------------------------------------ */
/* formatting */

void top_fmt_bytes(char *buf, size_t n, uint64_t v)
{
	static const char units[] = "KMGTPE";
	double x = (double)v;
	int u = -1;

	if (!tl_has(v)) {
		snprintf(buf, n, "-");
		return;
	}
	if (v < 1024) {
		snprintf(buf, n, "%lluB", (unsigned long long)v);
		return;
	}
	while (x >= 1024 && u < 5) {
		x /= 1024;
		u++;
	}
	snprintf(buf, n, x < 10 ? "%.1f%c" : "%.0f%c", x, units[u]);
}

void top_fmt_dur(char *buf, size_t n, int64_t ns)
{
	double a;

	if (!tl_dhas(ns)) {
		snprintf(buf, n, "-");
		return;
	}
	a = ns < 0 ? -(double)ns : (double)ns;
	if (a < 1e6)
		snprintf(buf, n, "%.2fms", ns / 1e6);
	else if (a < 1e8)
		snprintf(buf, n, "%.1fms", ns / 1e6);
	else if (a < 1e9)
		snprintf(buf, n, "%.0fms", ns / 1e6);
	else if (a < 100e9)
		snprintf(buf, n, "%.2fs", ns / 1e9);
	else
		snprintf(buf, n, "%.0fs", ns / 1e9);
}

void top_fmt_elapsed(char *buf, size_t n, int64_t ns)
{
	int64_t s;

	if (!tl_dhas(ns) || ns < 0) {
		snprintf(buf, n, "-");
		return;
	}
	if (ns < 60000000000LL) {
		snprintf(buf, n, "%.1fs", ns / 1e9);
		return;
	}
	s = ns / 1000000000LL;
	if (s < 3600)
		snprintf(buf, n, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
	else
		snprintf(buf, n, "%lldh%02lldm", (long long)(s / 3600), (long long)(s / 60 % 60));
}

void top_fmt_rel(char *buf, size_t n, uint64_t rel)
{
	if (!tl_has(rel)) {
		snprintf(buf, n, "-");
		return;
	}
	if (rel < 100000000000ULL)
		snprintf(buf, n, "+%.3fs", rel / 1e9);
	else
		snprintf(buf, n, "+%.0fs", rel / 1e9);
}

const char *top_dev_state_name(uint8_t state)
{
	return state == TL_VFIO_UNKNOWN ? "?" : cat_vfio_state_name(state);
}

const char *top_role_short(enum tl_role role)
{
	switch (role) {
	case TL_ROLE_SOURCE: return "src";
	case TL_ROLE_DEST: return "dst";
	default: return "?";
	}
}

bool top_row_stalled(const struct top_row *r)
{
	return r->stall.stalled;
}

double top_row_progress(const struct top_row *r)
{
	if (r->role != TL_ROLE_SOURCE || !tl_has(r->pending))
		return -1;
	if (r->result == TL_RES_COMPLETED || tl_dhas(r->downtime))
		return r->downtime_prev ? -1 : 1;
	if (!tl_has(r->transferred) || r->transferred + r->pending == 0)
		return -1;
	return (double)r->transferred / (double)(r->transferred + r->pending);
}

static bool converging(const struct top_row *r)
{
	return tl_has(r->pending) && tl_has(r->threshold) && r->pending < r->threshold;
}

void top_ack_text(const struct top_row *r, char *buf, size_t n)
{
	char t[32];

	if (r->acked == 1) {
		top_fmt_rel(t, sizeof(t), r->ack_at);
		snprintf(buf, n, "acked %s", t);
	} else if (r->ack_enabled == 0) {
		snprintf(buf, n, "off");
	} else if (r->ack_enabled < 0) {
		snprintf(buf, n, "-");
	} else if (r->result != TL_RES_ACTIVE) {
		snprintf(buf, n, "not acked");
	} else if (tl_has(r->ack_needed) && tl_has(r->ack_approved)) {
		snprintf(buf, n, "waiting %llu/%llu", (unsigned long long)r->ack_approved,
			 (unsigned long long)r->ack_needed);
	} else {
		snprintf(buf, n, "waiting");
	}
}

enum top_style top_note(const struct top_row *r, char *buf, size_t n)
{
	char d[32], a[32], b[32];

	buf[0] = 0;
	if (r->stall.stalled) {
		top_fmt_elapsed(d, sizeof(d), r->stall_for);
		switch (r->stall.reason) {
		case TL_STALL_ABOVE_THRESHOLD:
			top_fmt_bytes(a, sizeof(a), r->pending);
			top_fmt_bytes(b, sizeof(b), r->threshold);
			snprintf(buf, n,
				 "STALLED %s: not converging, RAM above the threshold (pending "
				 "%s, threshold %s)",
				 d, a, b);
			break;
		case TL_STALL_WAITING_ACK:
			snprintf(buf, n, "STALLED %s: waiting for the ACK of %s", d,
				 r->stall_devs[0] ? r->stall_devs : "the destination");
			break;
		default:
			snprintf(buf, n,
				 "STALLED %s: acked and under the threshold, not completing", d);
			break;
		}
		return TOP_S_BAD;
	}
	if (r->error[0] && r->result != TL_RES_COMPLETED) {
		snprintf(buf, n, "error: %s", r->error);
		return TOP_S_BAD;
	}
	if (r->result == TL_RES_ACTIVE && r->ack_waiting[0]) {
		snprintf(buf, n, "ACK needs %s", r->ack_waiting);
		return TOP_S_WARN;
	}
	if (r->incomplete) {
		snprintf(buf, n, "incomplete: events lost or start not seen");
		return TOP_S_DIM;
	}
	if (r->downtime_prev)
		snprintf(buf, n, "last downtime from an earlier migration");
	return TOP_S_DIM;
}

static void bar(char *buf, size_t n, int width, double frac)
{
	int inner = width - 2, fill, i = 0;
	char pct[8];

	if (width < 4 || (size_t)width >= n) {
		snprintf(buf, n, "%3.0f%%", frac * 100);
		return;
	}
	snprintf(pct, sizeof(pct), "%.0f%%", frac * 100);
	fill = (int)(frac * inner + 0.5);
	buf[i++] = '[';
	for (int k = 0; k < inner; k++)
		buf[i++] = k < fill ? '|' : ' ';
	buf[i++] = ']';
	buf[i] = 0;
	/* the percentage inside, right-aligned, as htop's meters */
	if ((int)strlen(pct) + 1 <= inner)
		memcpy(buf + 1 + inner - strlen(pct), pct, strlen(pct));
}

void top_layout(struct top_layout *l, int width)
{
	static const int natural[TOP_NCOLS] = {
	    [TOP_C_PID] = 7,	 [TOP_C_VM] = 16,      [TOP_C_ROLE] = 4,    [TOP_C_PHASE] = 11,
	    [TOP_C_ELAPSED] = 7, [TOP_C_PRECOPY] = 18, [TOP_C_PENDING] = 7, [TOP_C_BW] = 8,
	    [TOP_C_DT] = 12,	 [TOP_C_ACK] = 14,     [TOP_C_LASTDT] = 8,  [TOP_C_NOTE] = 12,
	};
	/* what goes first when the terminal is narrow; the bar shrinks to 10
	 * columns before the columns after it in this list go */
	static const enum top_col drop[] = {TOP_C_NOTE,	   TOP_C_PENDING, TOP_C_BW, TOP_C_PRECOPY,
					    TOP_C_ELAPSED, TOP_C_LASTDT,  TOP_C_DT, TOP_C_PRECOPY};
	bool on[TOP_NCOLS], shrunk = false;
	int total = 0, extra;

	memcpy(l->width, natural, sizeof(l->width));
	for (int c = 0; c < TOP_NCOLS; c++)
		on[c] = true;
	if (width <= 0) {
		l->width[TOP_C_NOTE] = 0;
	} else {
		for (int c = 0; c < TOP_NCOLS; c++)
			total += l->width[c] + (c ? 1 : 0);
		for (size_t k = 0; total > width && k < sizeof(drop) / sizeof(drop[0]); k++) {
			if (drop[k] == TOP_C_PRECOPY && !shrunk) {
				int cut = total - width;

				if (cut > l->width[TOP_C_PRECOPY] - 10)
					cut = l->width[TOP_C_PRECOPY] - 10;
				l->width[TOP_C_PRECOPY] -= cut;
				total -= cut;
				shrunk = true;
				continue;
			}
			on[drop[k]] = false;
			total -= l->width[drop[k]] + 1;
		}
		if (total > width) {
			int shrink = total - width;

			if (shrink > l->width[TOP_C_VM] - 8)
				shrink = l->width[TOP_C_VM] - 8;
			l->width[TOP_C_VM] -= shrink;
			total -= shrink;
		}
		extra = width - total;
		if (extra > 0) {
			if (on[TOP_C_NOTE]) {
				l->width[TOP_C_NOTE] += extra;
			} else {
				int vm = extra < 8 ? extra : 8;

				l->width[TOP_C_VM] += vm;
				extra -= vm;
				if (on[TOP_C_PRECOPY])
					l->width[TOP_C_PRECOPY] += extra < 10 ? extra : 10;
			}
		}
	}
	l->ncols = 0;
	for (int c = 0; c < TOP_NCOLS; c++)
		if (on[c])
			l->cols[l->ncols++] = (enum top_col)c;
}

const char *top_col_title(enum top_col c)
{
	static const char *const t[TOP_NCOLS] = {
	    [TOP_C_PID] = "PID",	 [TOP_C_VM] = "VM",	      [TOP_C_ROLE] = "ROLE",
	    [TOP_C_PHASE] = "PHASE",	 [TOP_C_ELAPSED] = "ELAPSED", [TOP_C_PRECOPY] = "PRECOPY",
	    [TOP_C_PENDING] = "PENDING", [TOP_C_BW] = "BW",	      [TOP_C_DT] = "EXP DT/LIMIT",
	    [TOP_C_ACK] = "ACK",	 [TOP_C_LASTDT] = "LAST DT",  [TOP_C_NOTE] = "NOTE",
	};
	return (unsigned int)c < TOP_NCOLS ? t[c] : "";
}

bool top_col_right(enum top_col c)
{
	return c == TOP_C_PID || c == TOP_C_ELAPSED || c == TOP_C_PENDING || c == TOP_C_BW ||
	       c == TOP_C_DT || c == TOP_C_LASTDT;
}

static enum top_style phase_style(const struct top_row *r)
{
	if (r->stall.stalled)
		return TOP_S_BAD;
	switch (r->result) {
	case TL_RES_COMPLETED: return TOP_S_GOOD;
	case TL_RES_ACTIVE: break;
	default: return TOP_S_BAD;
	}
	if (!strcmp(r->phase, "waiting-ack"))
		return TOP_S_WARN;
	return TOP_S_NORMAL;
}

enum top_style top_cell(const struct top_row *r, enum top_col c, int width, char *buf, size_t n)
{
	char a[32], b[32];
	double p;

	buf[0] = 0;
	switch (c) {
	case TOP_C_PID: snprintf(buf, n, "%u", r->pid); break;
	case TOP_C_VM: snprintf(buf, n, "%s", r->vm[0] ? r->vm : "?"); break;
	case TOP_C_ROLE: snprintf(buf, n, "%s", top_role_short(r->role)); break;
	case TOP_C_PHASE: snprintf(buf, n, "%s", r->phase); return phase_style(r);
	case TOP_C_ELAPSED: top_fmt_elapsed(buf, n, r->elapsed); break;
	case TOP_C_PRECOPY:
		p = top_row_progress(r);
		if (p < 0) {
			snprintf(buf, n, "-");
			return TOP_S_DIM;
		}
		bar(buf, n, width > 0 ? width : 20, p);
		return converging(r) || p >= 1 ? TOP_S_GOOD : TOP_S_BAR;
	case TOP_C_PENDING:
		top_fmt_bytes(buf, n, r->pending);
		return converging(r) ? TOP_S_GOOD : TOP_S_NORMAL;
	case TOP_C_BW:
		if (tl_has(r->bandwidth)) {
			top_fmt_bytes(a, sizeof(a), r->bandwidth * 1000);
			snprintf(buf, n, "%s/s", a);
		} else {
			snprintf(buf, n, "-");
		}
		break;
	case TOP_C_DT:
		if (!tl_dhas(r->predicted) && !tl_dhas(r->limit)) {
			snprintf(buf, n, "-");
			return TOP_S_DIM;
		}
		top_fmt_dur(a, sizeof(a), r->predicted);
		top_fmt_dur(b, sizeof(b), r->limit);
		snprintf(buf, n, "%s/%s", a, b);
		if (tl_dhas(r->predicted) && tl_dhas(r->limit) && r->result == TL_RES_ACTIVE)
			return r->predicted <= r->limit ? TOP_S_GOOD : TOP_S_WARN;
		break;
	case TOP_C_ACK:
		top_ack_text(r, buf, n);
		if (r->acked == 1)
			return TOP_S_GOOD;
		if (r->ack_enabled == 1 && r->result == TL_RES_ACTIVE)
			return r->stall.stalled ? TOP_S_BAD : TOP_S_WARN;
		return r->ack_enabled == 1 ? TOP_S_BAD : TOP_S_DIM;
	case TOP_C_LASTDT:
		top_fmt_dur(buf, n, r->downtime);
		return r->downtime_prev ? TOP_S_DIM : TOP_S_NORMAL;
	case TOP_C_NOTE:
		if (r->stall.stalled) {
			/* the why goes on a line of its own */
			top_fmt_elapsed(a, sizeof(a), r->stall_for);
			snprintf(buf, n, "STALLED %s", a);
			return TOP_S_BAD;
		}
		return top_note(r, buf, n);
	default: break;
	}
	return TOP_S_NORMAL;
}

void top_sparkline(const uint64_t *v, uint32_t n, int width, bool utf8, char *buf, size_t len)
{
	static const char *const blocks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
	static const char ascii[] = ".:-=+*#%@";
	uint64_t max = 0;
	uint32_t first = n > (uint32_t)width ? n - (uint32_t)width : 0;
	size_t o = 0;

	buf[0] = 0;
	for (uint32_t i = first; i < n; i++)
		if (v[i] > max)
			max = v[i];
	for (uint32_t i = first; i < n && o + 4 < len; i++) {
		int lvl;

		if (!max || !v[i]) {
			buf[o++] = utf8 ? ' ' : '_';
			continue;
		}
		lvl = (int)((double)v[i] / (double)max * 7.0 + 0.5);
		if (lvl < 0)
			lvl = 0;
		if (utf8) {
			size_t bl = strlen(blocks[lvl]);

			memcpy(buf + o, blocks[lvl], bl);
			o += bl;
		} else {
			buf[o++] = ascii[lvl + 1];
		}
	}
	buf[o] = 0;
}

void top_dev_approval(const struct top_row *r, const struct top_dev *d, char *buf, size_t n)
{
	char t[32];

	if (!d->approval_known) {
		snprintf(buf, n, "-");
		return;
	}
	if (d->approved) {
		top_fmt_rel(t, sizeof(t),
			    tl_dhas(d->approved_rel) && d->approved_rel >= 0
				? (uint64_t)d->approved_rel
				: TL_NONE);
		if (tl_has(d->approve_pending))
			snprintf(buf, n, "approved %s (%llu pending)", t,
				 (unsigned long long)d->approve_pending);
		else
			snprintf(buf, n, "approved %s", t);
	} else if (r->result != TL_RES_ACTIVE) {
		snprintf(buf, n, "-");
	} else if (d->init_sent) {
		snprintf(buf, n, "init data sent, approval pending");
	} else if (r->ack_enabled == 0) {
		snprintf(buf, n, "not needed");
	} else {
		snprintf(buf, n, "pending");
	}
}

void top_dev_drain(const struct top_row *r, const struct top_dev *d, int width, char *buf, size_t n)
{
	char t[32];

	if (r->role == TL_ROLE_DEST) {
		if (tl_dhas(d->init_sent_rel) && d->init_sent_rel >= 0) {
			top_fmt_rel(t, sizeof(t), (uint64_t)d->init_sent_rel);
			snprintf(buf, n, "sent %s", t);
		} else {
			snprintf(buf, n, d->init_sent ? "sent" : "-");
		}
		return;
	}
	if (tl_dhas(d->drain)) {
		top_fmt_dur(t, sizeof(t), d->drain);
		snprintf(buf, n, "done %s", t);
		return;
	}
	if (d->precopy && tl_has(d->initial) && d->initial && tl_has(d->live_initial)) {
		uint64_t left = d->live_initial > d->initial ? d->initial : d->live_initial;

		bar(buf, n, width, (double)(d->initial - left) / (double)d->initial);
		return;
	}
	snprintf(buf, n, "-");
}

/* ------------------------------------------------------------------ */
/* batch */

/* Append a cell to a line, padded to its column (the last one unpadded). */
static void put_cell(char *line, size_t n, const struct top_layout *l, int i, const char *text)
{
	enum top_col c = l->cols[i];
	int w = l->width[c];
	size_t len = strlen(line);

	if (i && len + 1 < n) {
		line[len++] = ' ';
		line[len] = 0;
	}
	if (!w || i == l->ncols - 1)
		snprintf(line + len, n - len, "%.*s", w ? w : (int)n, text);
	else if (top_col_right(c))
		snprintf(line + len, n - len, "%*.*s", w, w, text);
	else
		snprintf(line + len, n - len, "%-*.*s", w, w, text);
}

/* Print a line without its trailing blanks. */
static void put_line(FILE *f, char *line)
{
	size_t len = strlen(line);

	while (len && line[len - 1] == ' ')
		line[--len] = 0;
	fprintf(f, "%s\n", line);
}

static void print_devices(FILE *f, const struct top_row *r)
{
	char ini[16], dirty[16], sc[16], spark[TOP_HIST_LEN + 1], drain[40], appr[64];

	for (uint32_t i = 0; i < r->ndevs; i++) {
		const struct top_dev *d = &r->devs[i];

		top_fmt_bytes(sc, sizeof(sc), d->stopcopy);
		top_sparkline(d->hist, d->nhist, 16, false, spark, sizeof(spark));
		top_dev_drain(r, d, 12, drain, sizeof(drain));
		top_dev_approval(r, d, appr, sizeof(appr));
		if (r->role == TL_ROLE_DEST) {
			top_fmt_bytes(ini, sizeof(ini), d->initial);
			top_fmt_bytes(dirty, sizeof(dirty), d->loaded);
			fprintf(
			    f,
			    "        device %-14s %-12s initial %6s  loaded %6s  stop-copy %6s  "
			    "history %-16s  init %-14s  approval %s\n",
			    d->name, top_dev_state_name(d->state), ini, dirty, sc, spark, drain,
			    appr);
		} else {
			top_fmt_bytes(ini, sizeof(ini), d->live_initial);
			top_fmt_bytes(dirty, sizeof(dirty), d->live_dirty);
			fprintf(f,
				"        device %-14s %-12s initial %6s  dirty %6s  stop-copy %6s  "
				"history %-16s  drain %-14s  approval %s\n",
				d->name, top_dev_state_name(d->state), ini, dirty, sc, spark, drain,
				appr);
		}
	}
}

static void print_breakdown(FILE *f, const struct top_row *r)
{
	char a[5][24], dt[24], g[24];

	top_fmt_dur(dt, sizeof(dt), r->downtime);
	top_fmt_dur(g, sizeof(g), r->guest_downtime);
	top_fmt_dur(a[0], sizeof(a[0]), r->bd.stop);
	top_fmt_dur(a[1], sizeof(a[1]), r->bd.iterable);
	top_fmt_dur(a[2], sizeof(a[2]), r->bd.non_iterable);
	top_fmt_dur(a[3], sizeof(a[3]), r->bd.transfer_load);
	top_fmt_dur(a[4], sizeof(a[4]), r->bd.dst_start);
	fprintf(f,
		"        downtime %s (guest %s): stop %s, iterable %s, non-iterable %s, "
		"transfer+load %s, dst start %s\n",
		dt, g, a[0], a[1], a[2], a[3], a[4]);
}

int top_print_batch(FILE *f, const struct top_snap *s, const char *filter)
{
	const struct top_head *h = &s->head;
	struct top_layout l;
	size_t *idx = NULL, n = 0;
	char buf[256], when[64] = "", line[1024];
	int active = 0;

	if (h->real_ns) {
		time_t t = (time_t)(h->real_ns / 1000000000ULL);
		struct tm tm;

		localtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	}
	for (size_t i = 0; i < s->nrows; i++)
		active += s->rows[i].result == TL_RES_ACTIVE;
	if (h->live)
		fprintf(f, "migscope top - %s - host %s - %s\n", when[0] ? when : "-", h->host,
			h->source);
	else
		fprintf(f, "migscope top - %s - host %s - %s at +%.3fs%s\n", when[0] ? when : "-",
			h->host, h->source, h->trace_rel / 1e9, h->eof ? " (end of file)" : "");
	if (h->follow)
		fprintf(f,
			"QEMU processes %u traced, %u log files followed, %.0f events/s; "
			"migrations: %d active, %zu listed\n",
			h->procs, h->files, h->events_per_s, active, s->nrows);
	else
		fprintf(f,
			"QEMU processes %u traced, %u probes attached, %.0f events/s, %llu lost; "
			"migrations: %d active, %zu listed\n",
			h->procs, h->probes, h->events_per_s, (unsigned long long)h->lost, active,
			s->nrows);
	if (h->input_error[0])
		fprintf(f, "input stopped: %s\n", h->input_error);
	if (h->capture_error[0])
		fprintf(f, "capture stopped: %s\n", h->capture_error);
	top_layout(&l, 0);
	line[0] = 0;
	for (int i = 0; i < l.ncols; i++)
		put_cell(line, sizeof(line), &l, i, top_col_title(l.cols[i]));
	put_line(f, line);
	if (s->nrows) {
		idx = calloc(s->nrows, sizeof(*idx));
		if (!idx)
			return -ENOMEM;
		n = top_order(s, TOP_SORT_START, filter, idx);
	}
	for (size_t k = 0; k < n; k++) {
		const struct top_row *r = &s->rows[idx[k]];

		line[0] = 0;
		for (int i = 0; i < l.ncols; i++) {
			enum top_col c = l.cols[i];

			top_cell(r, c, l.width[c], buf, sizeof(buf));
			put_cell(line, sizeof(line), &l, i, buf);
		}
		put_line(f, line);
		if (r->peer[0])
			fprintf(f, "        peer: %s\n", r->peer);
		if (r->stall.stalled) {
			top_note(r, buf, sizeof(buf));
			fprintf(f, "        %s\n", buf);
		}
		print_devices(f, r);
		if (tl_dhas(r->downtime) && !r->downtime_prev)
			print_breakdown(f, r);
	}
	free(idx);
	fputc('\n', f);
	return fflush(f) || ferror(f) ? -EIO : 0;
}
