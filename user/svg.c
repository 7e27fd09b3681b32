// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The SVG picture of migrations (svg.h). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "svg.h"
#include "timeline.h"

/* Geometry, px. Text is 11 px monospace: a character is at most 0.61 em wide
 * in the usual monospace fonts, so widths are known without a font. */
#define W	 1200.0
#define LEFT	 190.0 /* lane labels to the left of it */
#define RIGHT	 (W - 24.0)
#define FONT	 11.0
#define CHAR_W	 6.75
#define LANE_H	 16.0
#define LANE_GAP 4.0
#define ROW_H	 13.0 /* a row of milestone labels */
#define MAX_ROWS 4

/* One panel: a pair, or a side alone (in src, whatever its role). */
struct view {
	const struct tl_mig *src, *dst;
	const struct tl_pair *p;
};

/* A text box already placed in a band of label rows. */
struct row {
	double end; /* right edge of the last label */
};

struct sv {
	FILE *f; /* the body, written before the header that knows its height */
	const struct tl *tl;
	double y; /* the next free y */
	int err;
};

static void out(struct sv *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out(struct sv *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vfprintf(s->f, fmt, ap) < 0)
		s->err = -EIO;
	va_end(ap);
}

/* S as XML text into buf, at most MAXC characters (an ellipsis for more) */
static const char *xml(char *buf, size_t n, const char *s, size_t maxc)
{
	size_t k = 0, c = 0;

	for (; *s && k + 8 < n; s++, c++) {
		if (c + 1 >= maxc && s[1]) {
			k += (size_t)snprintf(buf + k, n - k, "~");
			break;
		}
		switch (*s) {
		case '&': k += (size_t)snprintf(buf + k, n - k, "&amp;"); break;
		case '<': k += (size_t)snprintf(buf + k, n - k, "&lt;"); break;
		case '>': k += (size_t)snprintf(buf + k, n - k, "&gt;"); break;
		case '"': k += (size_t)snprintf(buf + k, n - k, "&quot;"); break;
		default:
			/* no control characters in XML 1.0 */
			buf[k++] = (unsigned char)*s < 0x20 ? '?' : *s;
		}
	}
	buf[k] = '\0';
	return buf;
}

static double text_w(const char *s)
{
	return (double)strlen(s) * CHAR_W;
}

static uint64_t on_line(const struct tl_mig *m, uint64_t ts)
{
	return tl_mig_line_ts(m, ts);
}

static uint64_t ms_at(const struct tl_mig *m, enum tl_milestone k)
{
	return m ? on_line(m, tl_mig_milestone(m, k)) : TL_NONE;
}

/* The end of what is drawn of m: its end, else the latest thing seen of it
 * (now, while it is active) */
static uint64_t mig_end(const struct tl *tl, const struct tl_mig *m)
{
	uint64_t last = tl_mig_line_last(m);

	if (tl && m->result == TL_RES_ACTIVE && tl_has(tl_now(tl)) && on_line(m, tl_now(tl)) > last)
		last = on_line(m, tl_now(tl));
	return last;
}

/* A time scale: t in [t0, t1] onto x in [x0, x1] */
struct scale {
	uint64_t t0, t1;
	double x0, x1;
};

static double sx(const struct scale *c, uint64_t t)
{
	double f = ((double)t - (double)c->t0) / (double)(c->t1 - c->t0);

	return c->x0 + f * (c->x1 - c->x0);
}

/* A tick step, ns, of about (t1 - t0) / 8: 1, 2 or 5 times a power of 10 */
static uint64_t tick_step(uint64_t span)
{
	double raw = (double)span / 8.0, p = pow(10.0, floor(log10(raw > 1 ? raw : 1)));

	if (raw <= p)
		return (uint64_t)p;
	if (raw <= 2 * p)
		return (uint64_t)(2 * p);
	if (raw <= 5 * p)
		return (uint64_t)(5 * p);
	return (uint64_t)(10 * p);
}

/* "1.5 s", "250 ms", "40 us": a time from the axis' origin */
static void fmt_dur(char *b, size_t n, double ns)
{
	double a = fabs(ns);

	if (a >= 1e9)
		snprintf(b, n, "%.3g s", ns / 1e9);
	else if (a >= 1e6)
		snprintf(b, n, "%.3g ms", ns / 1e6);
	else if (a >= 1e3)
		snprintf(b, n, "%.3g us", ns / 1e3);
	else
		snprintf(b, n, "%.0f ns", ns);
}

/* The axis of c at y: ticks from origin, each with its time in ms */
static void axis(struct sv *s, const struct scale *c, double y, uint64_t origin, const char *cls)
{
	uint64_t step = tick_step(c->t1 - c->t0);
	int64_t first = ((int64_t)c->t0 - (int64_t)origin);
	int64_t k0 =
	    first >= 0 ? (first + (int64_t)step - 1) / (int64_t)step : -((-first) / (int64_t)step);
	char lab[32];

	out(s, "<g class=\"axis %s\">\n", cls);
	out(s, "<line class=\"ax\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", c->x0, y,
	    c->x1, y);
	for (int64_t k = k0;; k++) {
		int64_t rel = k * (int64_t)step;
		uint64_t t = (uint64_t)((int64_t)origin + rel);
		double x;

		if (t > c->t1)
			break;
		if (t < c->t0)
			continue;
		x = sx(c, t);
		if (rel)
			fmt_dur(lab, sizeof(lab), (double)rel);
		else
			snprintf(lab, sizeof(lab), "0");
		out(s,
		    "<g class=\"tick\" data-ms=\"%.6f\" data-x=\"%.2f\"><line class=\"ax\" "
		    "x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\"/>"
		    "<text x=\"%.2f\" y=\"%.1f\" text-anchor=\"middle\">%s</text></g>\n",
		    (double)rel / 1e6, x, x, y, x, y + 4, x, y + 15, lab);
	}
	out(s, "</g>\n");
}

/* A span from a to b on lane y, class cls, its label inside when it fits */
static void span(struct sv *s, const struct scale *c, double y, uint64_t a, uint64_t b,
		 const char *cls, const char *label)
{
	double x0, x1;
	char t[96];

	if (!tl_has(a) || !tl_has(b) || b < a)
		return;
	if (a < c->t0)
		a = c->t0;
	if (b > c->t1)
		b = c->t1;
	if (b < a)
		return;
	x0 = sx(c, a);
	x1 = sx(c, b);
	out(s,
	    "<rect class=\"sp %s\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\">"
	    "<title>%s: %.3f ms</title></rect>\n",
	    cls, x0, y, x1 - x0 > 0.5 ? x1 - x0 : 0.5, LANE_H, xml(t, sizeof(t), label, 60),
	    (double)(b - a) / 1e6);
	if (label[0] && x1 - x0 >= text_w(label) + 6)
		out(s, "<text class=\"in\" x=\"%.2f\" y=\"%.1f\">%s</text>\n", x0 + 3,
		    y + LANE_H - 4, t);
}

static void lane_label(struct sv *s, double y, const char *name, const char *cls)
{
	char t[160];

	out(s, "<text class=\"lane %s\" x=\"8\" y=\"%.1f\">%s</text>\n", cls, y + LANE_H - 4,
	    xml(t, sizeof(t), name, (size_t)((LEFT - 16) / CHAR_W)));
}

/* The milestones worth a label, per role (the others are marks only) */
static bool labelled(enum tl_milestone k)
{
	switch (k) {
	case TL_M_ACTIVE:
	case TL_M_READY:
	case TL_M_LOW_PENDING:
	case TL_M_ACK_RECEIVED:
	case TL_M_SRC_DOWNTIME_START:
	case TL_M_SWITCHOVER_START:
	case TL_M_ACK_NEEDED:
	case TL_M_ACK_SENT:
	case TL_M_DST_LOADVM_COMPLETED:
	case TL_M_DST_BH_VM_STARTED:
	case TL_M_POSTCOPY_START:
	case TL_M_CANCEL:
	case TL_M_END: return true;
	default: return false;
	}
}

/* Milestone marks of m on its lane at y, their labels in rows below:
 * placed left to right, each in the first row where it does not touch the
 * one before; returns the rows used */
static int milestones(struct sv *s, const struct scale *c, const struct tl_mig *m, double y)
{
	struct row rows[MAX_ROWS];
	int used = 0;
	struct {
		double x;
		const char *name;
	} lab[TL_M_COUNT];
	int nl = 0;

	for (int k = 0; k < TL_M_COUNT; k++) {
		uint64_t v = ms_at(m, (enum tl_milestone)k);
		const char *name = k == TL_M_END ? tl_result_name(m->result)
						 : tl_milestone_name((enum tl_milestone)k);
		double x;

		if (!tl_has(v) || v < c->t0 || v > c->t1)
			continue;
		x = sx(c, v);
		out(s,
		    "<line class=\"ms\" x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\">"
		    "<title>%s</title></line>\n",
		    x, y - 3, x, y + LANE_H + 3, name);
		if (labelled((enum tl_milestone)k))
			lab[nl++] = (typeof(lab[0])){x, name};
	}
	/* by x */
	for (int i = 1; i < nl; i++)
		for (int j = i; j > 0 && lab[j].x < lab[j - 1].x; j--) {
			typeof(lab[0]) t = lab[j];

			lab[j] = lab[j - 1];
			lab[j - 1] = t;
		}
	for (int i = 0; i < nl; i++) {
		double w = text_w(lab[i].name), x = lab[i].x - 2;
		bool lead;
		int r;

		if (x + w > RIGHT + 20)
			x = RIGHT + 20 - w;
		if (x < LEFT - 4)
			x = LEFT - 4;
		/* the first row free from x on */
		for (r = 0; r < MAX_ROWS; r++)
			if (r >= used || rows[r].end + 6 <= x)
				break;
		if (r == MAX_ROWS)
			continue; /* the mark stays, with its name as its title */
		/* a leader from the lane, unless it would cross a label above */
		lead = true;
		for (int k = 0; k < r; k++)
			lead &= rows[k].end + 2 <= lab[i].x;
		if (r >= used)
			used = r + 1;
		rows[r].end = x + w;
		double ly = y + LANE_H + 3 + ROW_H * (r + 1) - 2;

		if (lead)
			out(s,
			    "<line class=\"lead\" x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" "
			    "y2=\"%.1f\"/>",
			    lab[i].x, y + LANE_H + 3, lab[i].x, ly - 9);
		out(s, "<text class=\"msl\" x=\"%.2f\" y=\"%.1f\">%s</text>\n", x, ly, lab[i].name);
	}
	return used;
}

static const char *state_cls(unsigned int st)
{
	switch (st) {
	case MS_VFIO_RUNNING: return "st-run";
	case MS_VFIO_PRE_COPY: return "st-pre";
	case MS_VFIO_PRE_COPY_P2P: return "st-pre";
	case MS_VFIO_STOP_COPY: return "st-sc";
	case MS_VFIO_STOP: return "st-stop";
	case MS_VFIO_RESUMING: return "st-res";
	case MS_VFIO_RUNNING_P2P: return "st-run";
	default: return "st-other";
	}
}

/* A device's lane: its states from each transition to the next (the last to
 * END), and its marks: initial data drained (source), approval (destination) */
static void device_lane(struct sv *s, const struct scale *c, const struct tl_mig *m,
			const struct tl_dev *d, double y, uint64_t end)
{
	char name[2 * MS_STR_LEN + 8];

	snprintf(name, sizeof(name), "  %s", d->name);
	lane_label(s, y, name, "dev");
	for (uint32_t k = 0; k < d->ntr; k++) {
		const struct tl_transition *t = &d->tr[k];
		uint64_t a = on_line(m, t->ts);
		uint64_t b = k + 1 < d->ntr ? on_line(m, d->tr[k + 1].ts) : end;

		span(s, c, y, a, b, state_cls(t->to), cat_vfio_state_name(t->to));
	}
	if (tl_has(d->drain_ts) && on_line(m, d->drain_ts) >= c->t0 &&
	    on_line(m, d->drain_ts) <= c->t1)
		out(s,
		    "<path class=\"mk drain\" d=\"M%.2f %.1f l-4 -5 h8 z\"><title>initial data "
		    "drained</title></path>\n",
		    sx(c, on_line(m, d->drain_ts)), y);
	if (tl_has(d->approve_ts) && on_line(m, d->approve_ts) >= c->t0 &&
	    on_line(m, d->approve_ts) <= c->t1)
		out(s,
		    "<path class=\"mk approve\" d=\"M%.2f %.1f l-4 -5 h8 z\"><title>switchover "
		    "approved</title></path>\n",
		    sx(c, on_line(m, d->approve_ts)), y);
}

static void source_phases(struct sv *s, const struct scale *c, const struct tl_mig *m, double y)
{
	uint64_t dt0 = ms_at(m, TL_M_SRC_DOWNTIME_START), dt1 = ms_at(m, TL_M_SRC_DOWNTIME_END);
	uint64_t stopped = ms_at(m, TL_M_SRC_VM_STOPPED), it = ms_at(m, TL_M_SRC_ITERABLE_SAVED);
	uint64_t ready = ms_at(m, TL_M_READY), acked = ms_at(m, TL_M_ACK_RECEIVED);
	uint64_t pre_end = tl_has(dt0) ? dt0 : mig_end(NULL, m);

	span(s, c, y, ms_at(m, TL_M_SETUP), ms_at(m, TL_M_ACTIVE), "ph-setup", "setup");
	span(s, c, y, ms_at(m, TL_M_ACTIVE), pre_end, "ph-pre", "precopy");
	/* each iteration of the migration loop: a tick at its start */
	for (uint32_t i = 0; i < m->series_n; i++) {
		const struct tl_sample *p = tl_mig_sample(m, i);
		uint64_t t = p ? on_line(m, p->ts) : TL_NONE;

		if (tl_has(t) && t >= c->t0 && t <= c->t1)
			out(s,
			    "<line class=\"iter\" x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" "
			    "y2=\"%.1f\"/>\n",
			    sx(c, t), y + LANE_H - 4, sx(c, t), y + LANE_H);
	}
	if (tl_mig_ack_enabled(m) == 1 && tl_has(ready) && tl_has(acked) && acked > ready)
		span(s, c, y, ready, acked, "ph-ack", "waiting for the ACK");
	span(s, c, y, dt0, stopped, "ph-stop", "stop");
	span(s, c, y, stopped, it, "ph-iter", "iterable save");
	span(s, c, y, it, ms_at(m, TL_M_SRC_NON_ITERABLE_SAVED), "ph-nonit", "non-iterable save");
	if (!tl_has(stopped))
		span(s, c, y, dt0, dt1, "ph-stop", "downtime");
}

static void dest_phases(struct sv *s, const struct scale *c, const struct tl_mig *m, double y,
			uint64_t transfer_from)
{
	uint64_t loaded = ms_at(m, TL_M_DST_LOADVM_COMPLETED);

	span(s, c, y, ms_at(m, TL_M_SETUP), ms_at(m, TL_M_ACTIVE), "ph-setup", "setup");
	if (tl_has(transfer_from) && tl_has(loaded) && transfer_from < loaded) {
		span(s, c, y, ms_at(m, TL_M_ACTIVE), transfer_from, "ph-load", "loading");
		span(s, c, y, transfer_from, loaded, "ph-tl", "transfer+load");
	} else {
		span(s, c, y, ms_at(m, TL_M_ACTIVE), loaded, "ph-load", "loading");
	}
	span(s, c, y, loaded, ms_at(m, TL_M_DST_BH_VM_STARTED), "ph-start", "start");
}

/* An arrow from (ta, ya) to (tb, yb); what it is says the legend (a label by
 * it would fall among the milestones' labels), and its title on hover */
static void arrow(struct sv *s, const struct scale *c, uint64_t ta, double ya, uint64_t tb,
		  double yb, const char *cls, const char *what)
{
	if (!tl_has(ta) || !tl_has(tb) || ta < c->t0 || tb > c->t1 || tb < c->t0 || ta > c->t1)
		return;
	out(s,
	    "<line class=\"arr %s\" x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\" "
	    "marker-end=\"url(#ah)\"><title>%s</title></line>\n",
	    cls, sx(c, ta), ya, sx(c, tb), yb, what);
}

/* The legend: a swatch and a name per item, wrapped to the width */
static void legend(struct sv *s, const char *const *cls, const char *const *names, size_t n)
{
	double x = 8, y = s->y;

	for (size_t i = 0; i < n; i++) {
		double w = 14 + text_w(names[i]) + 14;
		bool line = !strncmp(cls[i], "arr", 3), tick = !strcmp(cls[i], "iter");

		if (x + w > W - 8) {
			x = 8;
			y += 15;
		}
		if (line)
			out(s,
			    "<line class=\"%s\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
			    "y2=\"%.1f\" marker-end=\"url(#ah)\"/>",
			    cls[i], x, y + 6, x + 11, y + 6);
		else if (tick)
			out(s,
			    "<rect class=\"ph-pre\" x=\"%.1f\" y=\"%.1f\" width=\"10\" "
			    "height=\"10\"/><line class=\"iter\" x1=\"%.1f\" y1=\"%.1f\" "
			    "x2=\"%.1f\" y2=\"%.1f\"/>",
			    x, y + 1, x + 5, y + 7, x + 5, y + 11);
		else
			out(s,
			    "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"10\" "
			    "height=\"10\"/>",
			    cls[i], x, y + 1);
		out(s, "<text class=\"lg\" x=\"%.1f\" y=\"%.1f\">%s</text>\n", x + 14, y + 10,
		    names[i]);
		x += w;
	}
	s->y = y + 18;
}

/* "±0.42 ms" of a pair on two clocks, "" on one */
static void err_note(const struct tl *tl, const struct tl_pair *p, char *b, size_t n)
{
	int64_t e = p ? tl_pair_clock_error(p) : TL_DNONE;

	b[0] = '\0';
	if (!p || tl_single_clock(tl))
		return;
	if (tl_dhas(e))
		snprintf(b, n, " \xc2\xb1%.2f ms", (double)e / 1e6);
	else
		snprintf(b, n, " (clock unbounded)");
}

/* The lanes of one side at s->y on scale c; returns the y of its phase lane */
static double side_lanes(struct sv *s, const struct scale *c, const struct tl_mig *m,
			 uint64_t transfer_from)
{
	const struct tl *tl = s->tl;
	enum tl_role role = tl_mig_role(m);
	char name[128];
	double y = s->y;
	int rows;

	snprintf(name, sizeof(name), "%s %s", tl_role_name(role),
		 tl_mig_host(tl, m)[0] ? tl_mig_host(tl, m) : "");
	lane_label(s, y, name, "side");
	if (role == TL_ROLE_DEST)
		dest_phases(s, c, m, y, transfer_from);
	else
		source_phases(s, c, m, y);
	rows = milestones(s, c, m, y);
	s->y = y + LANE_H + 4 + ROW_H * rows + LANE_GAP;
	for (uint32_t i = 0; i < m->ndevs; i++) {
		device_lane(s, c, m, &m->devs[i], s->y, mig_end(tl, m));
		s->y += LANE_H + LANE_GAP;
	}
	return y;
}

/* The downtime band from dt0 to dt1 over [ya, yb] */
static void band(struct sv *s, const struct scale *c, uint64_t dt0, uint64_t dt1, double ya,
		 double yb, const char *which)
{
	if (!tl_has(dt0) || !tl_has(dt1) || dt1 < dt0)
		return;
	out(s,
	    "<rect class=\"downtime\" data-band=\"%s\" data-downtime-ms=\"%.6f\" "
	    "data-x0=\"%.3f\" data-x1=\"%.3f\" x=\"%.3f\" y=\"%.1f\" width=\"%.3f\" "
	    "height=\"%.1f\"><title>downtime %.3f ms</title></rect>\n",
	    which, (double)(dt1 - dt0) / 1e6, sx(c, dt0), sx(c, dt1), sx(c, dt0), ya,
	    sx(c, dt1) - sx(c, dt0), yb - ya, (double)(dt1 - dt0) / 1e6);
}

static void title(struct sv *s, double x, double y, const char *cls, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void title(struct sv *s, double x, double y, const char *cls, const char *fmt, ...)
{
	char raw[512], t[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	out(s, "<text class=\"%s\" x=\"%.1f\" y=\"%.1f\">%s</text>\n", cls, x, y,
	    xml(t, sizeof(t), raw, (size_t)((W - x - 8) / CHAR_W)));
}

/* The stop phase, zoomed: from a little before the downtime's start to a
 * little after the destination started (or the downtime's end) */
static void inset(struct sv *s, const struct view *v, uint64_t transfer_from)
{
	const struct tl_mig *src = v->src, *dst = v->dst;
	uint64_t dt0 = ms_at(src, TL_M_SRC_DOWNTIME_START), dt1 = ms_at(src, TL_M_SRC_DOWNTIME_END);
	uint64_t e = dt1, started = ms_at(dst, TL_M_DST_BH_VM_STARTED), pad;
	struct scale c;
	double top;

	if (!tl_has(dt0) || !tl_has(dt1) || dt1 < dt0)
		return;
	if (tl_has(started) && started > e)
		e = started;
	pad = (e - dt0) / 8 + 1000;
	c = (struct scale){dt0 > pad ? dt0 - pad : 0, e + pad, LEFT, RIGHT};
	s->y += 8;
	title(s, 8, s->y + 11, "h2", "stop phase (zoomed): downtime %.3f ms",
	      (double)(dt1 - dt0) / 1e6);
	s->y += 28;
	top = s->y;
	lane_label(s, s->y, "source", "side");
	source_phases(s, &c, src, s->y);
	s->y += LANE_H + LANE_GAP;
	for (uint32_t i = 0; i < src->ndevs; i++) {
		device_lane(s, &c, src, &src->devs[i], s->y, mig_end(s->tl, src));
		s->y += LANE_H + LANE_GAP;
	}
	if (dst) {
		lane_label(s, s->y, "destination", "side");
		dest_phases(s, &c, dst, s->y, transfer_from);
		s->y += LANE_H + LANE_GAP;
		for (uint32_t i = 0; i < dst->ndevs; i++) {
			device_lane(s, &c, dst, &dst->devs[i], s->y, mig_end(s->tl, dst));
			s->y += LANE_H + LANE_GAP;
		}
	}
	band(s, &c, dt0, dt1, top - 8, s->y, "inset");
	axis(s, &c, s->y + 2, dt0, "inset");
	s->y += 24;
}

static void fmt_bytes(char *b, size_t n, double v)
{
	const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(b, n, "%.0f %s", v, u[i]);
}

/* Pending bytes per iteration against the threshold, log scale, over the
 * source's precopy; the moment QEMU decided to complete */
static void convergence(struct sv *s, const struct tl_mig *m)
{
	const double H = 120, x0 = LEFT, x1 = RIGHT;
	double lo = INFINITY, hi = 0, top, lg0, lg1;
	uint64_t t0 = TL_NONE, t1 = 0, decided = ms_at(m, TL_M_LOW_PENDING);
	struct scale c;
	char lab[32];
	uint32_t n = m->series_n, drawn = 0;

	for (uint32_t i = 0; i < n; i++) {
		const struct tl_sample *p = tl_mig_sample(m, i);
		uint64_t vals[3];

		if (!p)
			continue;
		vals[0] = p->pending;
		vals[1] = p->exact;
		vals[2] = p->threshold;
		for (int k = 0; k < 3; k++)
			if (tl_has(vals[k]) && vals[k] > 0) {
				lo = fmin(lo, (double)vals[k]);
				hi = fmax(hi, (double)vals[k]);
			}
		if (!tl_has(t0) || on_line(m, p->ts) < t0)
			t0 = on_line(m, p->ts);
		if (on_line(m, p->ts) > t1)
			t1 = on_line(m, p->ts);
	}
	if (!(hi > 0) || !tl_has(t0))
		return;
	if (t1 <= t0)
		t1 = t0 + 1000000;
	lg0 = floor(log10(lo));
	lg1 = ceil(log10(hi));
	if (lg1 <= lg0)
		lg1 = lg0 + 1;
	c = (struct scale){t0, t1, x0, x1};
	s->y += 8;
	title(s, 8, s->y + 11, "h2", "convergence: pending bytes per iteration (log scale)");
	s->y += 22;
	top = s->y;
	out(s, "<g class=\"chart\">\n");
	for (double g = lg0; g <= lg1; g++) {
		double y = top + H - (g - lg0) / (lg1 - lg0) * H;

		fmt_bytes(lab, sizeof(lab), pow(10, g));
		out(s,
		    "<line class=\"grid\" x1=\"%.1f\" y1=\"%.2f\" x2=\"%.1f\" y2=\"%.2f\"/>"
		    "<text x=\"%.1f\" y=\"%.2f\" text-anchor=\"end\">%s</text>\n",
		    x0, y, x1, y, x0 - 6, y + 4, lab);
	}
	for (int k = 0; k < 2; k++) {
		out(s, "<polyline class=\"%s\" points=\"", k ? "thr" : "pend");
		for (uint32_t i = 0; i < n; i++) {
			const struct tl_sample *p = tl_mig_sample(m, i);
			uint64_t v = p ? (k ? p->threshold : p->pending) : TL_NONE;

			if (!tl_has(v) || v == 0)
				continue;
			out(s, "%.2f,%.2f ", sx(&c, on_line(m, p->ts)),
			    top + H - (log10((double)v) - lg0) / (lg1 - lg0) * H);
			drawn += !k;
		}
		out(s, "\"/>\n");
	}
	if (tl_has(decided) && decided >= t0 && decided <= t1)
		out(s,
		    "<line class=\"decided\" x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\"/>"
		    "<text class=\"msl\" x=\"%.2f\" y=\"%.1f\" text-anchor=\"end\">decided to "
		    "complete</text>\n",
		    sx(&c, decided), top, sx(&c, decided), top + H, sx(&c, decided) - 4, top + 10);
	out(s,
	    "<g class=\"legend\"><line class=\"pend\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
	    "y2=\"%.1f\"/><text x=\"%.1f\" y=\"%.1f\">pending (%u iterations)</text>"
	    "<line class=\"thr\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
	    "<text x=\"%.1f\" y=\"%.1f\">threshold</text></g>\n",
	    460.0, top - 14, 482.0, top - 14, 486.0, top - 10, drawn, 690.0, top - 14, 712.0,
	    top - 14, 716.0, top - 10);
	out(s, "</g>\n");
	axis(s, &c, top + H + 2, on_line(m, m->start_ts), "conv");
	s->y = top + H + 26;
}

/* "12.345 ms" or "n/a" */
static void fms(char *b, size_t n, int64_t ns)
{
	if (tl_dhas(ns))
		snprintf(b, n, "%.3f ms", (double)ns / 1e6);
	else
		snprintf(b, n, "n/a");
}

/* The summary figures, two columns of label: value */
static void summary(struct sv *s, const struct view *v)
{
	const struct tl *tl = s->tl;
	const struct tl_mig *src = v->src, *dst = v->dst;
	struct tl_breakdown bd;
	char val[16][48];
	const char *key[16];
	int n = 0;
	uint64_t passes;

	if (v->p)
		tl_pair_breakdown(tl, v->p, &bd);
	else
		tl_mig_breakdown(tl, src, &bd);
#define ROW(k, ...)                                                                                \
	do {                                                                                       \
		key[n] = k;                                                                        \
		snprintf(val[n], sizeof(val[n]), __VA_ARGS__);                                     \
		n++;                                                                               \
	} while (0)
#define ROW_MS(k, ns)                                                                              \
	do {                                                                                       \
		key[n] = k;                                                                        \
		fms(val[n], sizeof(val[n]), ns);                                                   \
		n++;                                                                               \
	} while (0)
	ROW("result", "%s", tl_result_name(src->result));
	ROW_MS("total", tl_mig_total(src));
	if (tl_mig_role(src) != TL_ROLE_DEST) {
		ROW_MS("precopy", tl_mig_precopy(src));
		ROW_MS("downtime", tl_mig_downtime(src));
	}
	ROW_MS("  stop", bd.stop);
	ROW_MS("  iterable save", bd.iterable);
	ROW_MS("  non-iterable save", bd.non_iterable);
	ROW_MS("  transfer+load", bd.transfer_load);
	ROW_MS("  destination start", bd.dst_start);
	if (v->p)
		ROW_MS("guest downtime", tl_pair_guest_downtime(tl, v->p));
	passes = tl_mig_passes(src);
	if (tl_has(passes))
		ROW("precopy passes", "%" PRIu64, passes);
	else
		ROW("precopy passes", "n/a");
	ROW_MS("ACK latency", tl_mig_ack_latency(src));
	ROW_MS("ACK wait", tl_mig_ack_wait(tl, src));
	if (v->p) {
		int64_t e = tl_pair_clock_error(v->p);

		ROW("clock", "%s", tl_clock_basis_name(v->p->basis));
		ROW_MS("clock error", e);
	}
	if (dst)
		ROW("devices", "%u / %u", src->ndevs, dst->ndevs);
	else
		ROW("devices", "%u", src->ndevs);
#undef ROW
#undef ROW_MS
	s->y += 8;
	title(s, 8, s->y + 11, "h2", "figures");
	s->y += 20;
	for (int i = 0; i < n; i++) {
		double x = i < (n + 1) / 2 ? 8 : W / 2;
		double y = s->y + (i % ((n + 1) / 2)) * 15 + 11;
		char t[96];

		out(s, "<text class=\"fk\" x=\"%.1f\" y=\"%.1f\">%s</text>", x, y, key[i]);
		out(s, "<text class=\"fv\" x=\"%.1f\" y=\"%.1f\">%s</text>\n", x + 22 * CHAR_W, y,
		    xml(t, sizeof(t), val[i], 40));
	}
	s->y += ((n + 1) / 2) * 15 + 10;
}

static void panel(struct sv *s, const struct view *v, size_t idx)
{
	const struct tl *tl = s->tl;
	const struct tl_mig *src = v->src, *dst = v->dst;
	uint64_t t0 = on_line(src, src->start_ts), t1 = mig_end(tl, src);
	uint64_t dt0 = ms_at(src, TL_M_SRC_DOWNTIME_START), dt1 = ms_at(src, TL_M_SRC_DOWNTIME_END);
	uint64_t transfer_from = TL_NONE;
	struct scale c;
	double top, ysrc, ydst = 0;
	char en[48];

	if (dst) {
		uint64_t a = on_line(dst, dst->start_ts), b = mig_end(tl, dst);

		if (tl_has(a) && a < t0)
			t0 = a;
		if (tl_has(b) && b > t1)
			t1 = b;
		transfer_from = ms_at(src, TL_M_SRC_NON_ITERABLE_SAVED);
	}
	if (!tl_has(t0))
		return;
	if (!tl_has(t1) || t1 <= t0)
		t1 = t0 + 1000000;
	c = (struct scale){t0, t1, LEFT, RIGHT};
	out(s, "<g class=\"panel\" data-panel=\"%zu\">\n", idx);
	title(s, 8, s->y + 16, "h1", "%s  %s%s%s  %s", src->vm[0] ? src->vm : "VM ?",
	      tl_mig_host(tl, src)[0] ? tl_mig_host(tl, src) : "-", dst ? " -> " : "",
	      dst ? (tl_mig_host(tl, dst)[0] ? tl_mig_host(tl, dst) : "-") : "",
	      tl_result_name(src->result));
	err_note(tl, v->p, en, sizeof(en));
	{
		char dt[24], tot[24], who[48];

		fms(dt, sizeof(dt),
		    tl_mig_role(src) == TL_ROLE_DEST ? TL_DNONE : tl_mig_downtime(src));
		fms(tot, sizeof(tot), tl_mig_total(src));
		if (dst)
			snprintf(who, sizeof(who), "migrations %zu and %zu", tl_mig_index(tl, src),
				 tl_mig_index(tl, dst));
		else
			snprintf(who, sizeof(who), "migration %zu", tl_mig_index(tl, src));
		title(s, 8, s->y + 32, "sub", "%s: downtime %s, total %s%s%s%s", who, dt, tot,
		      v->p ? ", clock " : "", v->p ? tl_clock_basis_name(v->p->basis) : "", en);
	}
	s->y += 40;
	{
		/* the pair's arrows and the destination's approvals last: a
		 * side alone has none */
		static const char *const cls[] = {"ph-setup", "ph-pre",	  "iter",     "ph-ack",
						  "ph-stop",  "ph-iter",  "ph-nonit", "ph-load",
						  "ph-tl",    "ph-start", "st-run",   "st-pre",
						  "st-sc",    "st-stop",  "st-res",   "downtime",
						  "mk drain", "arr ack",  "arr sw",   "mk approve"};
		char ack[64], sw[64];
		const char *names[] = {"setup",
				       "precopy",
				       "an iteration",
				       "waiting for the ACK",
				       "stop",
				       "iterable save",
				       "non-iterable save",
				       "loading",
				       "transfer+load",
				       "start",
				       "RUNNING",
				       "PRE_COPY",
				       "STOP_COPY",
				       "STOP",
				       "RESUMING",
				       "downtime",
				       "initial data drained",
				       ack,
				       sw,
				       "switchover approved"};

		snprintf(ack, sizeof(ack), "ACK, destination to source%s", en);
		snprintf(sw, sizeof(sw), "SWITCHOVER_START, source to destination%s", en);
		legend(s, cls, names, dst ? sizeof(names) / sizeof(names[0]) : 17);
	}
	s->y += 10;
	top = s->y;
	ysrc = side_lanes(s, &c, src, TL_NONE);
	if (dst)
		ydst = side_lanes(s, &c, dst, transfer_from);
	band(s, &c, dt0, dt1, top - 8, s->y, "main");
	if (dst && v->p) {
		arrow(s, &c, ms_at(dst, TL_M_ACK_SENT), ydst, ms_at(src, TL_M_ACK_RECEIVED),
		      ysrc + LANE_H, "ack", "switchover ACK");
		arrow(s, &c, ms_at(src, TL_M_SWITCHOVER_START), ysrc + LANE_H,
		      ms_at(dst, TL_M_SWITCHOVER_START_RECEIVED), ydst, "sw", "SWITCHOVER_START");
	}
	axis(s, &c, s->y + 2, t0, "main");
	s->y += 26;
	if (tl_mig_role(src) != TL_ROLE_DEST) {
		inset(s, v, transfer_from);
		convergence(s, src);
	}
	summary(s, v);
	out(s, "</g>\n");
	s->y += 16;
}

static const char STYLE[] =
    "<style>\n"
    "text{font-family:'DejaVu Sans Mono',monospace;font-size:11px;fill:#1d2230}\n"
    ".bg{fill:#ffffff}.h1{font-size:14px;font-weight:bold}.sub,.fk{fill:#596070}\n"
    ".h2{font-weight:bold}.ax,.grid{stroke:#9aa0ad;stroke-width:1}.grid{stroke-dasharray:2 3}\n"
    ".sp{stroke:none}.in{fill:#10131a}.lane.dev{fill:#3c4252}\n"
    ".ph-setup{fill:#c9ced8}.ph-pre{fill:#8fb8e8}.ph-ack{fill:#f2c14e}\n"
    ".ph-stop{fill:#e8766d}.ph-iter{fill:#f09a63}.ph-nonit{fill:#d96aa7}\n"
    ".ph-load{fill:#9bd3ae}.ph-tl{fill:#f09a63}.ph-start{fill:#62b587}\n"
    ".st-run{fill:#a9d6a0}.st-pre{fill:#8fb8e8}.st-sc{fill:#f09a63}.st-stop{fill:#e8766d}\n"
    ".st-res{fill:#c6a4e6}.st-other{fill:#c9ced8}\n"
    ".ms{stroke:#1d2230;stroke-width:1.2}.lead{stroke:#9aa0ad;stroke-width:0.8}\n"
    ".iter{stroke:#1d4f8a;stroke-width:0.8}\n"
    ".downtime{fill:#d7263d;fill-opacity:0.22;stroke:#d7263d;stroke-width:0}\n"
    ".mk.drain{fill:#2b6cb0}.mk.approve{fill:#2f855a}\n"
    ".arr{stroke-width:1.5}.arr.ack{stroke:#b7791f}.arr.sw{stroke:#6b46c1}\n"
    ".arl.ack{fill:#8a5a12}.arl.sw{fill:#553c9a}#ah path{fill:#4a5060}\n"
    ".pend{stroke:#2b6cb0;stroke-width:1.6;fill:none}\n"
    ".thr{stroke:#d7263d;stroke-width:1.2;stroke-dasharray:5 3;fill:none}\n"
    ".decided{stroke:#2f855a;stroke-width:1.4}\n"
    "@media (prefers-color-scheme: dark){\n"
    "text{fill:#e3e6ee}.bg{fill:#15171d}.sub,.fk{fill:#a4abba}.lane.dev{fill:#c3c8d4}\n"
    ".ax,.grid{stroke:#6b7280}.ms{stroke:#e3e6ee}.lead{stroke:#6b7280}\n"
    ".downtime{fill:#ff5c6c;fill-opacity:0.28}.arl.ack{fill:#f6c453}.arl.sw{fill:#b794f4}\n"
    ".arr.ack{stroke:#f6c453}.arr.sw{stroke:#b794f4}#ah path{fill:#c3c8d4}\n"
    ".pend{stroke:#63b3ed}.mk.drain{fill:#63b3ed}.mk.approve{fill:#68d391}}\n"
    "</style>\n";

int svg_write(FILE *outf, const struct tl *tl, long only)
{
	struct sv s = {.tl = tl};
	char *body = NULL;
	size_t len = 0, n = tl_nmigs(tl), panels = 0;

	if (only >= 0 && (size_t)only >= n)
		return -ENOENT;
	s.f = open_memstream(&body, &len);
	if (!s.f)
		return -ENOMEM;
	s.y = 8;
	for (size_t i = 0; i < n; i++) {
		const struct tl_mig *m = tl_mig_at(tl, i);
		const struct tl_pair *p = tl_mig_pair(m);
		struct view v = {m, NULL, NULL};

		if (only >= 0 && (size_t)only != i &&
		    !(p && (tl_mig_index(tl, p->src) == (size_t)only ||
			    tl_mig_index(tl, p->dst) == (size_t)only)))
			continue;
		if (p) {
			if (p->src != m)
				continue; /* drawn with its source */
			v = (struct view){p->src, p->dst, p};
		}
		panel(&s, &v, i);
		panels++;
	}
	if (!panels) {
		title(&s, 8, s.y + 16, "h1", "no migration in the input");
		s.y += 30;
	}
	if (fclose(s.f) || s.err) {
		free(body);
		return s.err ? s.err : -ENOMEM;
	}
	fprintf(outf,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
		"viewBox=\"0 0 %.0f %.0f\">\n%s"
		"<defs><marker id=\"ah\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" "
		"markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0 0 "
		"L10 5 L0 10 z\"/></marker></defs>\n"
		"<rect class=\"bg\" x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\"/>\n",
		W, s.y, W, s.y, STYLE, W, s.y);
	fwrite(body, 1, len, outf);
	fprintf(outf, "</svg>\n");
	free(body);
	return ferror(outf) ? -EIO : 0;
}
