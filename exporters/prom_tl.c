// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The timeline engine's figures as metrics (see prom_tl.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "catalog.h"
#include "prom_tl.h"
#include "util.h"

/* The owner of a set of series: a VM in a role (labels vm, uuid, role), or a
 * host device in a role (labels role, device: its histograms aggregate the
 * VMs that used it, so that their number is bounded by the host's devices). */
struct group {
	uint32_t id; /* owner of its series; ids only grow, so groups[] is sorted by id */
	bool dev;
	enum tl_role role;
	char vm[MS_STR_LEN]; /* a device group: the device name */
	char uuid[40];
	uint64_t last_seen; /* latest activity: now while alive or running, else the end */
	bool dead;
	bool hists; /* the role's migration histograms were created */
	/* per update */
	const struct tl_mig *latest; /* latest migration not expired */
	unsigned int nactive;
};

/* A migration of the engine as far as the metrics are concerned. */
struct ment {
	uint64_t seq;
	uint32_t gen;
	bool ended; /* its end figures were taken */
	uint8_t tr_seen[TL_MAX_DEVS];
};

struct prom_tl {
	struct prom_reg *reg;
	uint64_t expire_ns;
	uint32_t gen;
	uint32_t next_id;
	struct group **groups;
	size_t ngroups, cap;
	uint32_t *gidx; /* open addressing on (role, vm, uuid): position + 1 */
	size_t gidx_cap;
	struct ment *ments; /* sorted by seq */
	size_t nments, mcap;
	bool has_clock;
	int64_t real_minus_mono; /* ns, the clock pair of the updates */
};

static const char *const results[] = {"completed", "failed", "cancelled", "aborted"};

/* Milestones exported as unix times: the ones the fleet rules join
 * (deploy/prometheus/migscope.rules.yml: guest downtime, and the protocol's
 * messages in both directions that bound the two hosts' clock offset) and
 * the landmarks of each side, for lining the hosts up on a dashboard. One
 * sample each at most, so a VM in a role costs at most this many series. */
static const enum tl_milestone ts_milestones[] = {
    TL_M_SETUP,
    TL_M_ACTIVE,
    TL_M_ACK_RECEIVED,
    TL_M_ACK_SENT,
    TL_M_SRC_DOWNTIME_START,
    TL_M_SRC_VM_STOPPED,
    TL_M_SRC_NON_ITERABLE_SAVED,
    TL_M_SRC_DOWNTIME_END,
    TL_M_DST_LOADVM_COMPLETED,
    TL_M_DST_BH_VM_STARTED,
    TL_M_PING_SENT,
    TL_M_PING_RECEIVED,
    TL_M_PONG_SENT,
    TL_M_PONG_RECEIVED,
    TL_M_SWITCHOVER_START,
    TL_M_SWITCHOVER_START_RECEIVED,
    TL_M_SHUT_SENT,
    TL_M_SHUT_RECEIVED,
    TL_M_END,
};

/* ------------------------------------------------------------------ */
/* groups */

static uint64_t group_hash(bool dev, enum tl_role role, const char *vm, const char *uuid)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)role ^ ((uint64_t)dev << 8);

	for (const char *s = vm; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL;
	for (const char *s = uuid; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void gidx_put(struct prom_tl *p, size_t pos)
{
	const struct group *g = p->groups[pos];
	size_t h = group_hash(g->dev, g->role, g->vm, g->uuid) & (p->gidx_cap - 1);

	while (p->gidx[h])
		h = (h + 1) & (p->gidx_cap - 1);
	p->gidx[h] = (uint32_t)pos + 1;
}

static bool gidx_rebuild(struct prom_tl *p)
{
	size_t cap = 64;

	while (cap < p->ngroups * 2)
		cap *= 2;
	free(p->gidx);
	p->gidx = calloc(cap, sizeof(*p->gidx));
	p->gidx_cap = p->gidx ? cap : 0;
	if (!p->gidx)
		return false;
	for (size_t i = 0; i < p->ngroups; i++)
		gidx_put(p, i);
	return true;
}

static struct group *group_find(struct prom_tl *p, bool dev, enum tl_role role, const char *vm,
				const char *uuid)
{
	if (!p->gidx)
		return NULL;
	for (size_t h = group_hash(dev, role, vm, uuid) & (p->gidx_cap - 1); p->gidx[h];
	     h = (h + 1) & (p->gidx_cap - 1)) {
		struct group *g = p->groups[p->gidx[h] - 1];

		if (g->dev == dev && g->role == role && !strcmp(g->vm, vm) &&
		    !strcmp(g->uuid, uuid))
			return g;
	}
	return NULL;
}

/* A group's label values, in the tables' order: vm, uuid, role (a VM) or
 * role, device (a device); the caller adds the family's own after them. */
static int group_labels(const struct group *g, const char *buf[8])
{
	if (g->dev) {
		buf[0] = tl_role_name(g->role);
		buf[1] = g->vm;
		return 2;
	}
	buf[0] = g->vm;
	buf[1] = g->uuid;
	buf[2] = tl_role_name(g->role);
	return 3;
}

static struct group *group_get(struct prom_tl *p, bool dev, enum tl_role role, const char *vm,
			       const char *uuid)
{
	struct group *g = group_find(p, dev, role, vm, uuid);
	const char *l[8];

	if (g)
		return g;
	if (p->ngroups == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 32;
		struct group **v = realloc(p->groups, cap * sizeof(*v));

		if (!v)
			return NULL;
		p->groups = v;
		p->cap = cap;
	}
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->id = ++p->next_id;
	g->dev = dev;
	g->role = role;
	ms_strlcpy(g->vm, vm, sizeof(g->vm));
	ms_strlcpy(g->uuid, uuid, sizeof(g->uuid));
	p->groups[p->ngroups++] = g;
	if (p->ngroups * 2 <= p->gidx_cap) {
		gidx_put(p, p->ngroups - 1);
	} else if (!gidx_rebuild(p)) {
		p->ngroups--;
		free(g);
		gidx_rebuild(p);
		return NULL;
	}
	if (dev)
		return g;
	/* present at 0 from the first sight of the VM, so that rate() and
	 * increase() see the first migration */
	group_labels(g, l);
	for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++) {
		l[3] = results[i];
		prom_get(p->reg, PF_MIGRATIONS, g->id, l);
	}
	return g;
}

/* The role's migration histograms, at 0, from its first migration on. */
static void group_hists(struct prom_tl *p, struct group *g)
{
	static const enum prom_fam src[] = {PF_DOWNTIME, PF_PRECOPY, PF_ACK_LATENCY, PF_ACK_WAIT};
	const char *l[8];

	if (g->hists)
		return;
	g->hists = true;
	group_labels(g, l);
	if (g->role == TL_ROLE_SOURCE) {
		for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++)
			prom_get(p->reg, src[i], g->id, l);
		l[2] = "stop";
		prom_get(p->reg, PF_BREAKDOWN, g->id, l);
		l[2] = "iterable_save";
		prom_get(p->reg, PF_BREAKDOWN, g->id, l);
		l[2] = "non_iterable_save";
		prom_get(p->reg, PF_BREAKDOWN, g->id, l);
	} else if (g->role == TL_ROLE_DEST) {
		l[2] = "dst_start";
		prom_get(p->reg, PF_BREAKDOWN, g->id, l);
	}
}

static bool group_dead(uint32_t id, void *arg)
{
	struct prom_tl *p = arg;
	size_t lo = 0, hi = p->ngroups;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (p->groups[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->ngroups && p->groups[lo]->id == id && p->groups[lo]->dead;
}

static void expire_groups(struct prom_tl *p, uint64_t cutoff)
{
	size_t k = 0;
	bool any = false;

	for (size_t i = 0; i < p->ngroups; i++) {
		struct group *g = p->groups[i];

		if (!g->nactive && g->last_seen < cutoff)
			g->dead = any = true;
	}
	if (!any)
		return;
	prom_reg_drop(p->reg, group_dead, p);
	for (size_t i = 0; i < p->ngroups; i++) {
		if (p->groups[i]->dead)
			free(p->groups[i]);
		else
			p->groups[k++] = p->groups[i];
	}
	p->ngroups = k;
	gidx_rebuild(p);
}

/* ------------------------------------------------------------------ */
/* migrations */

static struct ment *ment_find(struct prom_tl *p, uint64_t seq, size_t *pos)
{
	size_t lo = 0, hi = p->nments;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (p->ments[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (pos)
		*pos = lo;
	return lo < p->nments && p->ments[lo].seq == seq ? &p->ments[lo] : NULL;
}

static struct ment *ment_get(struct prom_tl *p, uint64_t seq)
{
	size_t pos;
	struct ment *e = ment_find(p, seq, &pos);

	if (e)
		return e;
	if (p->nments == p->mcap) {
		size_t cap = p->mcap ? p->mcap * 2 : 64;
		struct ment *v = realloc(p->ments, cap * sizeof(*v));

		if (!v)
			return NULL;
		p->ments = v;
		p->mcap = cap;
	}
	memmove(&p->ments[pos + 1], &p->ments[pos], (p->nments - pos) * sizeof(*p->ments));
	p->nments++;
	e = &p->ments[pos];
	memset(e, 0, sizeof(*e));
	e->seq = seq;
	return e;
}

static void observe(struct prom_tl *p, enum prom_fam f, uint32_t owner, const char *const *l,
		    int64_t ns)
{
	if (tl_dhas(ns))
		prom_observe_ns(prom_get(p->reg, f, owner, l), ns);
}

static void observe_part(struct prom_tl *p, const struct group *g, const char *part, int64_t ns)
{
	const char *l[3] = {g->vm, g->uuid, part};

	observe(p, PF_BREAKDOWN, g->id, l, ns);
}

/* Cross-side figures, once per pair: when its second side ends. */
static void take_pair(struct prom_tl *p, const struct tl *tl, const struct tl_pair *pr)
{
	struct group *g = group_get(p, false, TL_ROLE_SOURCE, pr->src->vm, pr->src->uuid);
	struct tl_breakdown b;
	const char *l[2];

	if (!g)
		return;
	l[0] = g->vm;
	l[1] = g->uuid;
	observe(p, PF_GUEST_DOWNTIME, g->id, l, tl_pair_guest_downtime(tl, pr));
	tl_pair_breakdown(tl, pr, &b);
	observe_part(p, g, "transfer_load", b.transfer_load);
}

/* A migration's figures, once, when it ended. */
static void take_end(struct prom_tl *p, const struct tl *tl, const struct tl_mig *m,
		     struct group *g)
{
	const struct tl_pair *pr = tl_mig_pair(m);
	enum tl_role role = tl_mig_role(m);
	struct tl_breakdown b;
	const char *l[8];
	int64_t v;

	group_labels(g, l);
	if (m->result != TL_RES_ACTIVE && m->result <= TL_RES_ABORTED) {
		l[3] = tl_result_name(m->result);
		prom_add(prom_get(p->reg, PF_MIGRATIONS, g->id, l), 1);
	}
	if (role == TL_ROLE_SOURCE) {
		observe(p, PF_DOWNTIME, g->id, l, tl_mig_downtime(m));
		observe(p, PF_PRECOPY, g->id, l, tl_mig_precopy(m));
		/* an ACK before active (no device to wait for) cost nothing */
		v = tl_mig_ack_latency(m);
		observe(p, PF_ACK_LATENCY, g->id, l, tl_dhas(v) && v < 0 ? 0 : v);
		observe(p, PF_ACK_WAIT, g->id, l, tl_mig_ack_wait(tl, m));
	}
	tl_mig_breakdown(tl, m, &b);
	if (role == TL_ROLE_SOURCE) {
		observe_part(p, g, "stop", b.stop);
		observe_part(p, g, "iterable_save", b.iterable);
		observe_part(p, g, "non_iterable_save", b.non_iterable);
	} else if (role == TL_ROLE_DEST) {
		observe_part(p, g, "dst_start", b.dst_start);
	}
	for (uint32_t i = 0; i < m->ndevs && i < TL_MAX_DEVS; i++) {
		const struct tl_dev *d = &m->devs[i];
		struct group *dg = group_get(p, true, role, d->name, "");
		int64_t us;

		if (!dg)
			continue;
		group_labels(dg, l);
		observe(p, PF_VFIO_DRAIN, dg->id, l, tl_dev_drain(m, d));
		observe(p, PF_VFIO_APPROVAL, dg->id, l, tl_dev_approval_latency(d));
		us = tl_dev_save_us(m, d);
		l[2] = "save";
		observe(p, PF_DEVICE_DOWNTIME, dg->id, l, tl_dhas(us) ? us * 1000 : us);
		us = tl_dev_load_us(m, d);
		l[2] = "load";
		observe(p, PF_DEVICE_DOWNTIME, dg->id, l, tl_dhas(us) ? us * 1000 : us);
	}
	if (pr) {
		const struct tl_mig *o = pr->src == m ? pr->dst : pr->src;
		const struct ment *oe = ment_find(p, o->seq, NULL);

		if (oe && oe->ended)
			take_pair(p, tl, pr);
	}
}

static const char *state_name(uint8_t s)
{
	return s == TL_VFIO_UNKNOWN ? "unknown" : cat_vfio_state_name(s);
}

/* Device-state transitions as they happen. A transition seen before its
 * ioctl (the probe fires first) waits for it, unless a later transition or
 * the end of the migration's grace time says none will come. */
static void take_transitions(struct prom_tl *p, const struct tl_mig *m, struct ment *e,
			     uint64_t now)
{
	bool settled_all = m->result != TL_RES_ACTIVE && now >= m->end_ts + TL_POST_END_GRACE_NS;
	enum tl_role role = tl_mig_role(m);
	const char *l[8];

	for (uint32_t i = 0; i < m->ndevs && i < TL_MAX_DEVS; i++) {
		const struct tl_dev *d = &m->devs[i];
		struct group *dg = NULL;

		for (uint32_t k = e->tr_seen[i]; k < d->ntr; k++) {
			const struct tl_transition *t = &d->tr[k];

			if (!tl_dhas(t->dur_ns) && k + 1 == d->ntr && !settled_all)
				break;
			if (tl_dhas(t->dur_ns) && t->ret >= 0 &&
			    (dg || (dg = group_get(p, true, role, d->name, "")))) {
				group_labels(dg, l);
				l[2] = state_name(t->from);
				l[3] = state_name(t->to);
				observe(p, PF_VFIO_TRANSITION, dg->id, l, t->dur_ns);
			}
			e->tr_seen[i] = (uint8_t)(k + 1);
		}
	}
}

/* A migration keeps its group, and its devices' groups, alive. */
static void touch(struct group *g, const struct tl_mig *m, uint64_t now)
{
	if (m->result == TL_RES_ACTIVE) {
		g->nactive++;
		g->last_seen = now;
	} else if (m->end_ts > g->last_seen) {
		g->last_seen = m->end_ts;
	}
}

/* A record's time stamp (CLOCK_MONOTONIC ns) in unix seconds, to the µs: a
 * double resolves about 0.2 µs at today's unix times anyway, and whole µs
 * keep an ended migration's values from wobbling by the ns of jitter between
 * the clock pairs of successive updates. The only place the records' clock
 * meets unix time. */
static double unix_seconds(const struct prom_tl *p, uint64_t ts)
{
	int64_t ns = (int64_t)ts + p->real_minus_mono;
	int64_t us = ns >= 0 ? (ns + 500) / 1000 : -((500 - ns) / 1000);

	return (double)us / 1e6;
}

static void milestone_times(struct prom_tl *p, const struct group *g, const struct tl_mig *m)
{
	const char *l[8];

	group_labels(g, l);
	for (size_t i = 0; i < sizeof(ts_milestones) / sizeof(ts_milestones[0]); i++) {
		enum tl_milestone ms = ts_milestones[i];
		uint64_t ts = tl_mig_milestone(m, ms);

		if (!tl_has(ts))
			continue;
		/* the end is named by how it ended, as on the report's timeline */
		l[3] = ms == TL_M_END ? tl_result_name(m->result) : tl_milestone_name(ms);
		prom_set(prom_get(p->reg, PF_TIMESTAMP, g->id, l), unix_seconds(p, ts));
	}
}

/* Gauges of a group: its running migrations, its latest one's state. */
static void group_gauges(struct prom_tl *p, const struct tl *tl, const struct group *g)
{
	const struct tl_mig *m = g->latest;
	const char *l[8];
	uint64_t v;

	group_labels(g, l);
	prom_set(prom_get(p->reg, PF_ACTIVE, g->id, l), g->nactive);
	if (!m)
		return;
	l[3] = tl_mig_phase(m);
	prom_set(prom_get(p->reg, PF_PHASE, g->id, l), 1);
	if (p->has_clock)
		milestone_times(p, g, m);
	if (m->result == TL_RES_ACTIVE) {
		int64_t el = tl_mig_elapsed(tl, m);

		if (tl_dhas(el))
			prom_set(prom_get(p->reg, PF_ELAPSED, g->id, l), el / 1e9);
	}
	if (g->role == TL_ROLE_SOURCE) {
		struct tl_stall st;

		/* not stalled once ended: 0 with reason none */
		tl_mig_stall(tl, m, &st);
		l[3] = st.stalled ? tl_stall_reason_name(st.reason) : "none";
		prom_set(prom_get(p->reg, PF_STALLED, g->id, l), st.stalled);
	}
	/* live values the engine keeps raw (the report's pending_bytes,
	 * threshold_bytes, bandwidth and switchover_ack.pending) */
	if (g->role == TL_ROLE_SOURCE) {
		const struct tl_pair *pr = tl_mig_pair(m);

		if (tl_has(m->pending))
			prom_set(prom_get(p->reg, PF_PENDING, g->id, l), (double)m->pending);
		if (tl_has(m->threshold))
			prom_set(prom_get(p->reg, PF_THRESHOLD, g->id, l), (double)m->threshold);
		if (tl_has(m->bandwidth))
			prom_set(prom_get(p->reg, PF_BANDWIDTH, g->id, l),
				 (double)m->bandwidth * 1000.0);
		v = pr ? pr->dst->ack_pending : TL_NONE;
	} else {
		v = m->ack_pending;
	}
	if (tl_has(v))
		prom_set(prom_get(p->reg, PF_ACK_PENDING, g->id, l), (double)v);
	for (uint32_t i = 0; i < m->ndevs && i < TL_MAX_DEVS; i++) {
		const struct tl_dev *d = &m->devs[i];

		l[3] = d->name;
		if (tl_has(d->initial))
			prom_set(prom_get(p->reg, PF_VFIO_INITIAL, g->id, l), (double)d->initial);
		if (tl_has(d->dirty))
			prom_set(prom_get(p->reg, PF_VFIO_DIRTY, g->id, l), (double)d->dirty);
		v = tl_dev_stopcopy(m, d);
		if (tl_has(v))
			prom_set(prom_get(p->reg, PF_VFIO_STOPCOPY, g->id, l), (double)v);
	}
}

static void self_metrics(struct prom_tl *p, const struct tl *tl, const struct prom_tl_live *live)
{
	static const unsigned int kinds[] = {MS_EV_USDT, MS_EV_IOCTL, MS_EV_DATA_IO, MS_EV_EXEC,
					     MS_EV_EXIT, MS_EV_PROC,  MS_EV_LOST};
	const char *l[1];
	uint64_t lost = tl_lost_total(tl);
	size_t alive = 0;

	for (unsigned int id = 1; id < MS_P_COUNT; id++) {
		l[0] = cat_name(id);
		prom_set(prom_get(p->reg, PF_EVENTS, 0, l), (double)tl_events(tl, id));
		if (live && live->probe_attached)
			prom_set(prom_get(p->reg, PF_PROBE_ATTACHED, 0, l),
				 live->probe_attached[id]);
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		l[0] = cat_kind_name(kinds[i]);
		prom_set(prom_get(p->reg, PF_RECORDS, 0, l), (double)tl_events_kind(tl, kinds[i]));
	}
	if (live && live->lost > lost)
		lost = live->lost;
	prom_set(prom_get(p->reg, PF_LOST, 0, NULL), (double)lost);
	for (size_t i = 0; i < tl_nprocs(tl); i++)
		alive += !tl_proc_at(tl, i)->exited;
	prom_set(prom_get(p->reg, PF_PROCESSES, 0, NULL), (double)alive);
	prom_set(prom_get(p->reg, PF_TRACKED, 0, NULL), (double)tl_nmigs(tl));
	if (live && live->update_ns >= 0)
		prom_set(prom_get(p->reg, PF_UPDATE, 0, NULL), live->update_ns / 1e9);
	if (live && live->hooks) {
		const struct live_hooks_stats *h = live->hooks;

		prom_set(prom_get(p->reg, PF_HOOKS_ON, 0, NULL), h->on);
		prom_set(prom_get(p->reg, PF_HOOKS_ATTACHES, 0, NULL), (double)h->attaches);
		prom_set(prom_get(p->reg, PF_HOOKS_FAILURES, 0, NULL), (double)h->failures);
		prom_set(prom_get(p->reg, PF_HOOKS_SECONDS, 0, NULL), h->on_ns / 1e9);
		if (h->last_lag_ns)
			prom_set(prom_get(p->reg, PF_HOOKS_LAG, 0, NULL), h->last_lag_ns / 1e9);
	}
	if (live) {
		const char *sl[2];

		for (size_t i = 0; i < live->nsources; i++) {
			sl[0] = live->sources[i].kind;
			sl[1] = live->sources[i].path;
			prom_set(prom_get(p->reg, PF_SOURCE, 0, sl), 1);
		}
	}
	if (live && live->logs) {
		const struct logsrc_stats *ls = live->logs;

		prom_set(prom_get(p->reg, PF_LOG_LINES, 0, NULL), (double)ls->lines);
		prom_set(prom_get(p->reg, PF_LOG_SKIPPED, 0, NULL), (double)ls->skipped);
		prom_set(prom_get(p->reg, PF_LOG_FILES, 0, NULL), (double)ls->files.followed);
		prom_set(prom_get(p->reg, PF_LOG_REFUSED, 0, NULL), (double)ls->files.refused);
		prom_set(prom_get(p->reg, PF_LOG_REPLACED, 0, NULL), (double)ls->files.replaced);
		prom_set(prom_get(p->reg, PF_LOG_TRUNCATED, 0, NULL), (double)ls->files.truncated);
	}
	l[0] = MS_VERSION;
	prom_set(prom_get(p->reg, PF_BUILD, 0, l), 1);
}

/* ------------------------------------------------------------------ */

struct prom_tl *prom_tl_new(uint64_t expire_ns)
{
	struct prom_tl *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->reg = prom_reg_new();
	if (!p->reg || !gidx_rebuild(p)) {
		prom_tl_free(p);
		return NULL;
	}
	p->expire_ns = expire_ns;
	return p;
}

void prom_tl_set_clock(struct prom_tl *p, const struct prom_tl_clock *c)
{
	p->has_clock = c != NULL;
	p->real_minus_mono = c ? (int64_t)(c->real_ns - c->mono_ns) : 0;
}

void prom_tl_free(struct prom_tl *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->ngroups; i++)
		free(p->groups[i]);
	free(p->groups);
	free(p->gidx);
	free(p->ments);
	prom_reg_free(p->reg);
	free(p);
}

void prom_tl_update(struct prom_tl *p, const struct tl *tl, uint64_t now,
		    const struct prom_tl_live *live)
{
	uint64_t cutoff = now > p->expire_ns ? now - p->expire_ns : 0;
	size_t k = 0;

	p->gen++;
	prom_reg_begin(p->reg);
	for (size_t i = 0; i < p->ngroups; i++) {
		p->groups[i]->latest = NULL;
		p->groups[i]->nactive = 0;
	}
	/* processes: a traced QEMU keeps its VM's series */
	for (size_t i = 0; i < tl_nprocs(tl); i++) {
		const struct tl_proc *pr = tl_proc_at(tl, i);
		enum tl_role role = pr->pflags & MS_PROC_INCOMING ? TL_ROLE_DEST : TL_ROLE_SOURCE;
		struct group *g;

		if (pr->exited && pr->exit_ts < cutoff)
			continue; /* what the engine's tl_expire drops */
		g = group_get(p, false, role, pr->vm, pr->uuid);
		if (!g)
			continue;
		if (!pr->exited)
			g->last_seen = now;
		else if (pr->exit_ts > g->last_seen)
			g->last_seen = pr->exit_ts;
	}
	/* migrations, in start order: the latest of a group comes last */
	for (size_t i = 0; i < tl_nmigs(tl); i++) {
		const struct tl_mig *m = tl_mig_at(tl, i);
		struct ment *e = ment_get(p, m->seq);
		struct group *g = group_get(p, false, tl_mig_role(m), m->vm, m->uuid);

		if (!e || !g)
			continue;
		e->gen = p->gen;
		group_hists(p, g);
		if (m->result != TL_RES_ACTIVE && !e->ended) {
			e->ended = true;
			take_end(p, tl, m, g);
		}
		take_transitions(p, m, e, now);
		if (m->result != TL_RES_ACTIVE && m->end_ts < cutoff)
			continue; /* what the engine's tl_expire drops */
		touch(g, m, now);
		for (uint32_t k = 0; k < m->ndevs && k < TL_MAX_DEVS; k++) {
			struct group *dg = group_get(p, true, tl_mig_role(m), m->devs[k].name, "");

			if (dg)
				touch(dg, m, now);
		}
		g->latest = m;
	}
	/* forget migrations the engine no longer holds */
	for (size_t i = 0; i < p->nments; i++)
		if (p->ments[i].gen == p->gen)
			p->ments[k++] = p->ments[i];
	p->nments = k;
	expire_groups(p, cutoff);
	for (size_t i = 0; i < p->ngroups; i++)
		if (!p->groups[i]->dev)
			group_gauges(p, tl, p->groups[i]);
	self_metrics(p, tl, live);
	prom_reg_sweep(p->reg);
}

void prom_tl_tick(struct prom_tl *p, struct tl *tl, uint64_t now, const struct prom_tl_live *live)
{
	if (now > p->expire_ns)
		tl_expire(tl, now - p->expire_ns);
	tl_finish(tl, now);
	prom_tl_update(p, tl, now, live);
}

struct prom_snap *prom_tl_snapshot(const struct prom_tl *p)
{
	return prom_snap_take(p->reg);
}

size_t prom_tl_ngroups(const struct prom_tl *p)
{
	return p->ngroups;
}

size_t prom_tl_nseries(const struct prom_tl *p)
{
	return prom_reg_nseries(p->reg);
}

int prom_render_tl(FILE *out, const struct tl *tl, uint64_t lost,
		   const struct prom_tl_source *sources, size_t nsources,
		   const struct prom_tl_clock *clock)
{
	struct prom_tl *p = prom_tl_new(PROM_TL_DEFAULT_EXPIRE_NS);
	struct prom_tl_live info = {
	    .lost = lost, .update_ns = -1, .sources = sources, .nsources = nsources};
	struct prom_buf b = {};
	struct prom_snap *s;
	int ret = 0;

	if (!p)
		return -ENOMEM;
	prom_tl_set_clock(p, clock);
	prom_tl_update(p, tl, tl_now(tl), &info);
	s = prom_tl_snapshot(p);
	if (!s) {
		prom_tl_free(p);
		return -ENOMEM;
	}
	prom_render(&b, &s, 1);
	if (b.err)
		ret = -ENOMEM;
	else if (b.len && fwrite(b.p, 1, b.len, out) != b.len)
		ret = -EIO;
	prom_buf_free(&b);
	prom_snap_unref(s);
	prom_tl_free(p);
	return ret;
}
