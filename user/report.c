// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Text and JSON reports. Every figure comes from a tl_* accessor; this file
 * only formats. Key names are documented in docs/figures.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "catalog.h"
#include "json_writer.h"
#include "report.h"

static const struct report_opts default_opts;

static uint64_t lost_records(const struct tl *tl, const struct report_opts *o)
{
	uint64_t e = tl_lost_total(tl);

	return o->lost > e ? o->lost : e;
}

/* ------------------------------------------------------------------ */
/* text */

#define CELL 40

/* ms with 3 decimals, rounded to the µs; "-" when absent */
static const char *fmt_ms(char *b, int64_t ns)
{
	uint64_t a, us;

	if (!tl_dhas(ns))
		return strcpy(b, "-");
	a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
	us = (a + 500) / 1000;
	snprintf(b, CELL, "%s%" PRIu64 ".%03" PRIu64, ns < 0 ? "-" : "", us / 1000, us % 1000);
	return b;
}

/* A cross-side figure with its clock bound: "17.005 ±0.015", "17.005 ±?"
 * when nothing bounds it, plain on one clock. */
static const char *fmt_pm(char *b, int64_t ns, const struct tl_pair *p)
{
	char e[CELL];
	size_t n;

	fmt_ms(b, ns);
	if (!tl_dhas(ns) || p->basis == TL_CLOCK_SAME)
		return b;
	n = strlen(b);
	if (tl_dhas(tl_pair_clock_error(p)))
		snprintf(b + n, CELL - n, " ±%s", fmt_ms(e, tl_pair_clock_error(p)));
	else
		snprintf(b + n, CELL - n, " ±?");
	return b;
}

/* Why a pair's clock bound is what it is; NULL when it needs no words. */
static const char *clock_note(const struct tl_pair *p)
{
	switch (p->basis) {
	case TL_CLOCK_SAME:
	case TL_CLOCK_MESSAGES: return NULL;
	case TL_CLOCK_STOP_PHASE:
		return "the messages contradict one offset (a clock stepped or drifted during "
		       "the migration): bounded by those of the stop phase";
	case TL_CLOCK_CONFLICT:
		return "the messages contradict each other even in the stop phase (a clock "
		       "stepped): offset unbounded";
	case TL_CLOCK_REALTIME:
		if (!p->nfwd && !p->nbwd)
			return "no protocol message matched on both sides: offset from the "
			       "hosts' realtime clocks, unbounded";
		if (!p->nbwd)
			return "no return-path message matched (no return path): offset from the "
			       "hosts' realtime clocks, bounded on one side only";
		return "no stream command matched: offset from the hosts' realtime clocks, "
		       "bounded on one side only";
	}
	return NULL;
}

static const char *fmt_u(char *b, uint64_t v)
{
	if (!tl_has(v))
		return strcpy(b, "-");
	snprintf(b, CELL, "%" PRIu64, v);
	return b;
}

static const char *fmt_i(char *b, int64_t v)
{
	if (!tl_dhas(v))
		return strcpy(b, "-");
	snprintf(b, CELL, "%" PRId64, v);
	return b;
}

static const char *fmt_rel(char *b, const struct tl_mig *m, uint64_t ts)
{
	return fmt_ms(b, tl_has(ts) ? (int64_t)(ts - m->start_ts) : TL_DNONE);
}

static const char *state_name(uint8_t s)
{
	return s == TL_VFIO_UNKNOWN ? "?" : cat_vfio_state_name(s);
}

/* A small table: left-aligned first column, right-aligned others. */
#define TCOLS 16

struct table {
	int ncols, nrows, cap;
	const char *hdr[TCOLS];
	bool left[TCOLS];
	char (*cell)[TCOLS][CELL];
};

static char *tcell(struct table *t, int row, int col)
{
	return t->cell[row][col];
}

static int trow(struct table *t)
{
	if (t->nrows == t->cap) {
		int ncap = t->cap ? t->cap * 2 : 16;
		void *n = realloc(t->cell, (size_t)ncap * sizeof(*t->cell));

		if (!n)
			return -1;
		t->cell = n;
		t->cap = ncap;
	}
	memset(t->cell[t->nrows], 0, sizeof(*t->cell));
	return t->nrows++;
}

static void tprint(FILE *f, struct table *t, const char *ind)
{
	size_t w[TCOLS];

	for (int c = 0; c < t->ncols; c++) {
		w[c] = strlen(t->hdr[c]);
		for (int r = 0; r < t->nrows; r++)
			if (strlen(t->cell[r][c]) > w[c])
				w[c] = strlen(t->cell[r][c]);
	}
	for (int r = -1; r < t->nrows; r++) {
		fputs(ind, f);
		for (int c = 0; c < t->ncols; c++) {
			const char *s = r < 0 ? t->hdr[c] : t->cell[r][c];

			if (t->left[c])
				fprintf(f, "%s%-*s", c ? "  " : "", (int)w[c], s);
			else
				fprintf(f, "%s%*s", c ? "  " : "", (int)w[c], s);
		}
		fputc('\n', f);
	}
	free(t->cell);
	t->cell = NULL;
	t->nrows = t->cap = 0;
}

struct mline {
	uint64_t ts;
	int order;
	char label[80];
};

static int mline_cmp(const void *a, const void *b)
{
	const struct mline *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->order - y->order;
}

static void text_milestones(FILE *f, const struct tl_mig *m, enum tl_role role)
{
	struct mline lines[TL_M_COUNT + TL_MAX_APPROVALS];
	const char *absent[TL_M_COUNT];
	int n = 0, na = 0;
	struct table t = {.ncols = 2, .hdr = {"milestone", "+ms"}, .left = {true, false}};

	for (int i = 0; i < TL_M_COUNT; i++) {
		uint64_t ts = tl_mig_milestone(m, (enum tl_milestone)i);
		const char *name = i == TL_M_END ? tl_result_name(m->result)
						 : tl_milestone_name((enum tl_milestone)i);

		if (!tl_has(ts)) {
			if (tl_milestone_for_role((enum tl_milestone)i, role) && i != TL_M_END)
				absent[na++] = name;
			continue;
		}
		lines[n].ts = ts;
		lines[n].order = i;
		if (i == TL_M_ACK_NEEDED && tl_has(m->ack_needed))
			snprintf(lines[n].label, sizeof(lines[n].label), "%s (%" PRIu64 ")", name,
				 m->ack_needed);
		else
			snprintf(lines[n].label, sizeof(lines[n].label), "%s", name);
		n++;
	}
	for (uint32_t i = 0; i < m->napprovals; i++) {
		const struct tl_approval *a = &m->approvals[i];

		lines[n].ts = a->ts;
		lines[n].order = TL_M_ACK_NEEDED; /* ties: after ack-needed */
		snprintf(lines[n].label, sizeof(lines[n].label), "approval %.40s (%u pending)",
			 a->dev >= 0 ? m->devs[a->dev].name : "?", a->pending);
		n++;
	}
	qsort(lines, (size_t)n, sizeof(lines[0]), mline_cmp);
	for (int i = 0; i < n; i++) {
		int r = trow(&t);

		if (r < 0)
			break;
		snprintf(tcell(&t, r, 0), CELL, "%.39s", lines[i].label);
		fmt_rel(tcell(&t, r, 1), m, lines[i].ts);
	}
	for (int i = 0; i < na; i++) {
		int r = trow(&t);

		if (r < 0)
			break;
		snprintf(tcell(&t, r, 0), CELL, "%s", absent[i]);
		strcpy(tcell(&t, r, 1), "-");
	}
	tprint(f, &t, "    ");
}

static void text_devices(FILE *f, const struct tl_mig *m, enum tl_role role)
{
	bool src = role != TL_ROLE_DEST, dst = role != TL_ROLE_SOURCE;
	struct table t = {0};
	int c = 0, cols[TCOLS];

	enum {
		C_NAME,
		C_INIT,
		C_DRAIN,
		C_STOP,
		C_SCREAD,
		C_SAVE,
		C_CPL,
		C_READ,
		C_LOAD,
		C_SENT,
		C_APPR,
		C_LAT,
		C_WR
	};
	static const char *const hdr[] = {
	    "device",	    "initial B",	 "drain ms",  "stop-copy B", "stop-copy read B",
	    "save us",	    "stop-copy save ms", "read B",    "load us",     "init-sent +ms",
	    "approved +ms", "approval ms",	 "written B",
	};

	cols[c++] = C_NAME;
	cols[c++] = C_INIT;
	if (src)
		cols[c++] = C_DRAIN;
	cols[c++] = C_STOP;
	if (src) {
		cols[c++] = C_SCREAD;
		cols[c++] = C_SAVE;
		cols[c++] = C_CPL;
		cols[c++] = C_READ;
	}
	if (dst) {
		cols[c++] = C_LOAD;
		cols[c++] = C_SENT;
		cols[c++] = C_APPR;
		cols[c++] = C_LAT;
		cols[c++] = C_WR;
	}
	t.ncols = c;
	for (int i = 0; i < c; i++) {
		t.hdr[i] = hdr[cols[i]];
		t.left[i] = cols[i] == C_NAME;
	}
	for (uint32_t i = 0; i < m->ndevs; i++) {
		const struct tl_dev *d = &m->devs[i];
		int r = trow(&t);

		if (r < 0)
			break;
		for (int k = 0; k < c; k++) {
			char *b = tcell(&t, r, k);

			switch (cols[k]) {
			case C_NAME: snprintf(b, CELL, "%.39s", d->name); break;
			case C_INIT: fmt_u(b, tl_dev_initial(m, d)); break;
			case C_DRAIN: fmt_ms(b, tl_dev_drain(m, d)); break;
			case C_STOP: fmt_u(b, tl_dev_stopcopy(m, d)); break;
			case C_SCREAD: fmt_u(b, tl_dev_stopcopy_read(m, d)); break;
			case C_SAVE: fmt_i(b, tl_dev_save_us(m, d)); break;
			case C_CPL: fmt_ms(b, tl_dev_complete_precopy(d)); break;
			case C_READ: fmt_u(b, tl_dev_bytes_read(m, d)); break;
			case C_LOAD: fmt_i(b, tl_dev_load_us(m, d)); break;
			case C_SENT: fmt_rel(b, m, d->init_sent_ts); break;
			case C_APPR: fmt_rel(b, m, d->approve_ts); break;
			case C_LAT: fmt_ms(b, tl_dev_approval_latency(d)); break;
			case C_WR: fmt_u(b, tl_dev_bytes_written(m, d)); break;
			}
		}
	}
	tprint(f, &t, "    ");
	if (m->devs_dropped)
		fprintf(f, "    (%u device records beyond %d devices not kept)\n", m->devs_dropped,
			TL_MAX_DEVS);
}

/* VFIO device state over multifd: the source's save threads, the
 * destination's packets and load threads (docs/figures.md). */
static void text_multifd(FILE *f, const struct tl_mig *m, enum tl_role role)
{
	static const char *const src_hdr[] = {"device", "save thread ms", "saved"};
	static const char *const dst_hdr[] = {
	    "device",  "packets",  "first +ms", "last +ms",   "load thread ms",
	    "buffers", "write ms", "starved",	"starved ms",
	};
	bool dst = role == TL_ROLE_DEST;
	struct table t = {0};

	t.ncols = dst ? (int)(sizeof(dst_hdr) / sizeof(dst_hdr[0])) : 3;
	for (int i = 0; i < t.ncols; i++) {
		t.hdr[i] = dst ? dst_hdr[i] : src_hdr[i];
		t.left[i] = i == 0;
	}
	for (uint32_t i = 0; i < m->ndevs; i++) {
		const struct tl_dev *d = &m->devs[i];
		bool load = tl_has(d->mf_load_start);
		int r;

		if (!tl_dev_multifd(d))
			continue;
		r = trow(&t);
		if (r < 0)
			break;
		snprintf(tcell(&t, r, 0), CELL, "%.39s", d->name);
		if (!dst) {
			fmt_ms(tcell(&t, r, 1), tl_dev_mf_save(d));
			strcpy(tcell(&t, r, 2), !tl_has(d->mf_save_end) ? "-"
						: d->mf_save_ret > 0	? "yes"
									: "no");
			continue;
		}
		fmt_u(tcell(&t, r, 1), d->mf_incoming);
		fmt_rel(tcell(&t, r, 2), m, d->mf_first_in);
		fmt_rel(tcell(&t, r, 3), m, d->mf_last_in);
		fmt_ms(tcell(&t, r, 4), tl_dev_mf_load(d));
		if (load)
			fmt_u(tcell(&t, r, 5), d->mf_loaded);
		else
			strcpy(tcell(&t, r, 5), "-");
		fmt_ms(tcell(&t, r, 6), load ? d->mf_write_ns : TL_DNONE);
		if (load)
			fmt_u(tcell(&t, r, 7), d->mf_starved);
		else
			strcpy(tcell(&t, r, 7), "-");
		fmt_ms(tcell(&t, r, 8), load ? d->mf_starved_ns : TL_DNONE);
	}
	if (!t.nrows)
		return;
	fprintf(f, "  device state over multifd\n");
	tprint(f, &t, "    ");
}

struct trline {
	const struct tl_dev *d;
	const struct tl_transition *tr;
};

static int trline_cmp(const void *a, const void *b)
{
	const struct trline *x = a, *y = b;

	if (x->tr->ts != y->tr->ts)
		return x->tr->ts < y->tr->ts ? -1 : 1;
	return strcmp(x->d->name, y->d->name);
}

static size_t collect_transitions(const struct tl_mig *m, struct trline *out)
{
	size_t n = 0;

	for (uint32_t i = 0; i < m->ndevs; i++)
		for (int k = 0; k < m->devs[i].ntr; k++) {
			out[n].d = &m->devs[i];
			out[n].tr = &m->devs[i].tr[k];
			n++;
		}
	qsort(out, n, sizeof(*out), trline_cmp);
	return n;
}

static void text_transitions(FILE *f, const struct tl_mig *m)
{
	struct trline lines[TL_MAX_DEVS * TL_MAX_TRANSITIONS];
	size_t n = collect_transitions(m, lines);
	struct table t = {.ncols = 6,
			  .hdr = {"device", "from", "to", "at +ms", "ioctl ms", "ret"},
			  .left = {true, true, true, false, false, false}};

	if (!n)
		return;
	fprintf(f, "  transitions\n");
	for (size_t i = 0; i < n; i++) {
		const struct tl_transition *tr = lines[i].tr;
		int r = trow(&t);

		if (r < 0)
			break;
		snprintf(tcell(&t, r, 0), CELL, "%.39s", lines[i].d->name);
		snprintf(tcell(&t, r, 1), CELL, "%s", state_name(tr->from));
		snprintf(tcell(&t, r, 2), CELL, "%s", state_name(tr->to));
		fmt_rel(tcell(&t, r, 3), m, tr->ts);
		fmt_ms(tcell(&t, r, 4), tr->dur_ns);
		fmt_i(tcell(&t, r, 5), tl_dhas(tr->dur_ns) ? tr->ret : TL_DNONE);
	}
	tprint(f, &t, "    ");
}

static const char *tri(int v)
{
	return v < 0 ? "-" : v ? "yes" : "no";
}

static void text_mig(FILE *f, const struct tl *tl, const struct tl_mig *m, size_t idx)
{
	enum tl_role role = tl_mig_role(m);
	struct tl_breakdown bd;
	struct tl_stall st;
	char a[CELL], b[CELL], c[CELL], d[CELL], e[CELL];

	fprintf(f, "migration #%zu  %s  pid %u  vm %s  uuid %s  result %s%s\n", idx,
		tl_role_name(role), m->pid, m->vm[0] ? m->vm : "-", m->uuid[0] ? m->uuid : "-",
		tl_result_name(m->result), m->incomplete ? "  INCOMPLETE" : "");
	if (!tl_single_clock(tl))
		fprintf(f, "  host %s  clock %u\n",
			tl_mig_host(tl, m)[0] ? tl_mig_host(tl, m) : "-", m->clock);
	fprintf(f, "  start %" PRIu64 ".%09" PRIu64 " s (monotonic)  state %s  phase %s\n",
		m->start_ts / (uint64_t)1000000000, m->start_ts % (uint64_t)1000000000,
		m->state[0] ? m->state : "-", tl_mig_phase(m));
	if (m->incomplete)
		fprintf(f,
			"  incomplete: %s; figures that count or need a first occurrence are "
			"not shown\n",
			m->lost_records ? "events were lost" : "its start was not captured");
	if (m->error[0])
		fprintf(f, "  error: %s\n", m->error);

	fprintf(f, "  milestones\n");
	text_milestones(f, m, role);

	if (m->ndevs) {
		fprintf(f, "  devices\n");
		text_devices(f, m, role);
		text_multifd(f, m, role);
	}
	text_transitions(f, m);

	if (m->nsections) {
		fprintf(f, "  other sections (stop phase, us):");
		for (uint32_t i = 0; i < m->nsections; i++)
			fprintf(f, " %s%s=%" PRId64, m->sections[i].idstr,
				m->sections[i].iterable ? "(it)" : "", m->sections[i].us);
		fputc('\n', f);
	}

	tl_mig_breakdown(tl, m, &bd);
	fprintf(f,
		"  downtime breakdown ms: stop %s  iterable save %s  non-iterable save %s  "
		"transfer+load %s  dst start %s\n",
		fmt_ms(a, bd.stop), fmt_ms(b, bd.iterable), fmt_ms(c, bd.non_iterable),
		fmt_ms(d, bd.transfer_load), fmt_ms(e, bd.dst_start));

	if (role != TL_ROLE_DEST && m->iterations) {
		fprintf(f,
			"  convergence: iterations %" PRIu64 "  pending %s B  threshold %s B  "
			"bandwidth %s B/ms  predicted downtime %s ms\n",
			m->iterations, fmt_u(a, m->pending), fmt_u(b, m->threshold),
			fmt_u(c, m->bandwidth), fmt_ms(d, tl_mig_predicted_downtime(m)));
	}
	tl_mig_stall(tl, m, &st);
	if (tl_has(m->stall_ts) || st.stalled) {
		uint32_t devs = st.stalled ? st.devs : m->stall_devs;

		fprintf(f, "  stall: %s since +%s ms (%s)", st.stalled ? "stalled" : "was stalled",
			fmt_rel(a, m, st.stalled ? st.since : m->stall_ts),
			tl_stall_reason_name(st.stalled ? st.reason : m->stall_reason));
		uint32_t ddevs = st.stalled ? st.dst_devs : m->stall_dst_devs;

		if (devs) {
			fprintf(f, "; not drained:");
			for (uint32_t i = 0; i < m->ndevs && i < 32; i++)
				if (devs & (1u << i))
					fprintf(f, " %s", m->devs[i].name);
		}
		if (ddevs && m->pair) {
			fprintf(f, "; not approved (destination):");
			for (uint32_t i = 0; i < m->pair->dst->ndevs && i < 32; i++)
				if (ddevs & (1u << i))
					fprintf(f, " %s", m->pair->dst->devs[i].name);
		}
		fputc('\n', f);
	}

	fprintf(f, "  summary\n");
	fprintf(f, "    total %s ms  precopy %s ms  downtime %s ms  passes %s\n",
		fmt_ms(a, tl_mig_total(m)), fmt_ms(b, tl_mig_precopy(m)),
		fmt_ms(c, tl_mig_downtime(m)), fmt_u(d, tl_mig_passes(m)));
	if (role == TL_ROLE_DEST)
		fprintf(f, "    switchover-ack %s  acked %s  pending initial %s  ack sent %s ms\n",
			tri(tl_mig_ack_enabled(m)), tri(tl_mig_acked(m)),
			fmt_u(a, tl_mig_ack_pending_initial(m)), fmt_ms(b, tl_mig_ack_sent(m)));
	else
		fprintf(f,
			"    switchover-ack %s  acked %s  pending initial %s  ack latency %s ms  "
			"ack wait %s ms\n",
			tri(tl_mig_ack_enabled(m)), tri(tl_mig_acked(m)),
			fmt_u(a, tl_mig_ack_pending_initial(m)), fmt_ms(b, tl_mig_ack_latency(m)),
			fmt_ms(c, tl_mig_ack_wait(tl, m)));
	fputc('\n', f);
}

/* Sources and destinations that found no other side, when the input holds
 * both roles: say why, once. */
static void text_unpaired(FILE *f, const struct tl *tl)
{
	size_t nsrc = 0, ndst = 0, n = 0;

	for (size_t i = 0; i < tl_nmigs(tl); i++) {
		const struct tl_mig *m = tl_mig_at(tl, i);

		nsrc += tl_mig_role(m) == TL_ROLE_SOURCE;
		ndst += tl_mig_role(m) == TL_ROLE_DEST;
	}
	if (!nsrc || !ndst)
		return;
	for (size_t i = 0; i < tl_nmigs(tl); i++) {
		const struct tl_mig *m = tl_mig_at(tl, i);

		if (tl_mig_pair(m) || tl_mig_role(m) == TL_ROLE_UNKNOWN)
			continue;
		if (!n++)
			fprintf(f, "unpaired\n");
		fprintf(f,
			"  %s #%zu (pid %u, vm %s): no %s of the same VM in time, and none whose "
			"protocol messages match%s\n",
			tl_role_name(tl_mig_role(m)), i, m->pid, m->vm[0] ? m->vm : "unnamed",
			tl_mig_role(m) == TL_ROLE_SOURCE ? "destination" : "source",
			m->vm[0] || m->uuid[0] ? "" : " (--vm NAME names the VM of QEMU logs)");
	}
	if (n)
		fputc('\n', f);
}

int report_text(FILE *f, const struct tl *tl, const struct report_opts *o)
{
	size_t nm = tl_nmigs(tl), np = tl_npairs(tl);
	char a[CELL], b[CELL];

	if (!o)
		o = &default_opts;
	fprintf(f,
		"migscope timeline: %zu migration%s, %zu pair%s, %" PRIu64 " records, %" PRIu64
		" lost\n",
		nm, nm == 1 ? "" : "s", np, np == 1 ? "" : "s", tl_records(tl),
		lost_records(tl, o));
	if (o->input_error)
		fprintf(f, "input error: %s\n", o->input_error);
	fputc('\n', f);

	for (size_t i = 0; i < nm; i++)
		text_mig(f, tl, tl_mig_at(tl, i), i);

	if (np) {
		fprintf(f, "pairs\n");
		for (size_t i = 0; i < np; i++) {
			const struct tl_pair *p = tl_pair_at(tl, i);
			struct tl_breakdown bd;
			char c[CELL], d[CELL], e[CELL];
			const char *vm = p->src->vm[0]	   ? p->src->vm
					 : p->src->uuid[0] ? p->src->uuid
					 : p->dst->vm[0]   ? p->dst->vm
							   : "-";

			fprintf(f, "  vm %s: source #%zu (pid %u) -> destination #%zu (pid %u)%s\n",
				vm, tl_mig_index(tl, p->src), p->src->pid, tl_mig_index(tl, p->dst),
				p->dst->pid, p->by_messages ? ", paired by their messages" : "");
			if (p->basis == TL_CLOCK_SAME) {
				fprintf(f, "    one clock\n");
			} else {
				fprintf(
				    f,
				    "    clocks aligned by %s: destination offset %s ms, error %s "
				    "ms (%u stream commands, %u section headers, %u return-path "
				    "messages matched)\n",
				    tl_clock_basis_name(p->basis),
				    fmt_ms(a, tl_pair_clock_offset(tl, p)),
				    tl_dhas(tl_pair_clock_error(p))
					? fmt_ms(b, tl_pair_clock_error(p))
					: "unknown",
				    p->nfwd - p->nparts, p->nparts, p->nbwd);
				if (clock_note(p))
					fprintf(f, "    note: %s\n", clock_note(p));
			}
			fprintf(f, "    guest downtime %s ms  ack transit %s ms\n",
				fmt_pm(a, tl_pair_guest_downtime(tl, p), p),
				fmt_pm(b, tl_pair_ack_transit(tl, p), p));
			tl_pair_breakdown(tl, p, &bd);
			fprintf(f,
				"    breakdown ms: stop %s  iterable %s  non-iterable %s  "
				"transfer+load %s  dst start %s\n",
				fmt_ms(a, bd.stop), fmt_ms(b, bd.iterable),
				fmt_ms(c, bd.non_iterable), fmt_pm(d, bd.transfer_load, p),
				fmt_ms(e, bd.dst_start));
		}
		fputc('\n', f);
	}
	text_unpaired(f, tl);

	fprintf(f, "events:");
	for (unsigned int p = MS_P_NONE + 1; p < MS_P_COUNT; p++)
		if (tl_events(tl, p))
			fprintf(f, " %s=%" PRIu64, cat_name(p), tl_events(tl, p));
	fprintf(f, "\nrecords %" PRIu64 "  lost %" PRIu64 "  unattributed %" PRIu64 "\n",
		tl_records(tl), lost_records(tl, o), tl_unattributed(tl));
	fflush(f);
	return ferror(f) ? -EIO : 0;
}

/* ------------------------------------------------------------------ */
/* JSON */

static void j_ms(json_writer_t *w, const char *name, int64_t ns)
{
	uint64_t a;

	jsonw_name(w, name);
	if (!tl_dhas(ns)) {
		jsonw_null(w);
		return;
	}
	/* exact decimal: ns / 1e6 without a float's rounding */
	a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
	jsonw_printf(w, "%s%" PRIu64 ".%06" PRIu64, ns < 0 ? "-" : "", a / 1000000, a % 1000000);
}

static void j_u(json_writer_t *w, const char *name, uint64_t v)
{
	if (tl_has(v))
		jsonw_uint_field(w, name, v);
	else
		jsonw_null_field(w, name);
}

static void j_i(json_writer_t *w, const char *name, int64_t v)
{
	if (tl_dhas(v))
		jsonw_int_field(w, name, v);
	else
		jsonw_null_field(w, name);
}

static void j_rel(json_writer_t *w, const char *name, const struct tl_mig *m, uint64_t ts)
{
	if (tl_has(ts))
		jsonw_int_field(w, name, (int64_t)(ts - m->start_ts));
	else
		jsonw_null_field(w, name);
}

static void j_str(json_writer_t *w, const char *name, const char *s)
{
	if (s && *s)
		jsonw_string_field(w, name, s);
	else
		jsonw_null_field(w, name);
}

static void j_tri(json_writer_t *w, const char *name, int v)
{
	if (v < 0)
		jsonw_null_field(w, name);
	else
		jsonw_bool_field(w, name, v);
}

static void j_breakdown(json_writer_t *w, const struct tl_breakdown *b)
{
	jsonw_name(w, "downtime_breakdown");
	jsonw_start_object(w);
	j_ms(w, "stop_ms", b->stop);
	j_ms(w, "iterable_save_ms", b->iterable);
	j_ms(w, "non_iterable_save_ms", b->non_iterable);
	j_ms(w, "transfer_load_ms", b->transfer_load);
	j_ms(w, "dst_start_ms", b->dst_start);
	jsonw_end_object(w);
}

static void j_state(json_writer_t *w, const char *name, uint8_t s)
{
	if (s == TL_VFIO_UNKNOWN)
		jsonw_null_field(w, name);
	else
		jsonw_string_field(w, name, cat_vfio_state_name(s));
}

static void j_devs_mask(json_writer_t *w, const char *name, const struct tl_mig *m, uint32_t mask)
{
	jsonw_name(w, name);
	jsonw_start_array(w);
	for (uint32_t i = 0; i < m->ndevs && i < 32; i++)
		if (mask & (1u << i))
			jsonw_string(w, m->devs[i].name);
	jsonw_end_array(w);
}

/* Device state over multifd (10.0+): null when the device did not use it. */
static void json_dev_multifd(json_writer_t *w, const struct tl_mig *m, const struct tl_dev *d)
{
	if (!tl_dev_multifd(d)) {
		jsonw_null_field(w, "multifd");
		return;
	}
	jsonw_name(w, "multifd");
	jsonw_start_object(w);
	if (tl_has(d->mf_save_start)) {
		j_ms(w, "save_thread_ms", tl_dev_mf_save(d));
		if (tl_has(d->mf_save_end))
			jsonw_bool_field(w, "saved", d->mf_save_ret > 0);
		else
			jsonw_null_field(w, "saved");
	}
	if (tl_has(d->mf_load_start) || d->mf_incoming) {
		jsonw_uint_field(w, "packets_in", d->mf_incoming);
		j_rel(w, "first_packet_ns", m, d->mf_first_in);
		j_rel(w, "last_packet_ns", m, d->mf_last_in);
		j_ms(w, "load_thread_ms", tl_dev_mf_load(d));
		jsonw_uint_field(w, "buffers_loaded", d->mf_loaded);
		j_ms(w, "write_ms", tl_has(d->mf_load_start) ? d->mf_write_ns : TL_DNONE);
		jsonw_uint_field(w, "starved", d->mf_starved);
		j_ms(w, "starved_ms", tl_has(d->mf_load_start) ? d->mf_starved_ns : TL_DNONE);
	}
	jsonw_end_object(w);
}

static void json_devices(json_writer_t *w, const struct tl_mig *m)
{
	jsonw_name(w, "devices");
	jsonw_start_array(w);
	for (uint32_t i = 0; i < m->ndevs; i++) {
		const struct tl_dev *d = &m->devs[i];

		jsonw_start_object(w);
		jsonw_string_field(w, "name", d->name);
		j_u(w, "initial_bytes", tl_dev_initial(m, d));
		j_ms(w, "init_drain_ms", tl_dev_drain(m, d));
		j_u(w, "stopcopy_bytes", tl_dev_stopcopy(m, d));
		j_u(w, "stopcopy_read_bytes", tl_dev_stopcopy_read(m, d));
		j_i(w, "save_us", tl_dev_save_us(m, d));
		j_i(w, "load_us", tl_dev_load_us(m, d));
		j_ms(w, "complete_precopy_ms", tl_dev_complete_precopy(d));
		j_rel(w, "init_data_sent_ns", m, d->init_sent_ts);
		j_rel(w, "approved_ns", m, d->approve_ts);
		j_u(w, "approval_pending", d->approve_pending);
		j_ms(w, "approval_latency_ms", tl_dev_approval_latency(d));
		j_u(w, "bytes_read", tl_dev_bytes_read(m, d));
		j_u(w, "bytes_written", tl_dev_bytes_written(m, d));
		j_u(w, "precopy_initial_bytes", d->initial);
		j_u(w, "precopy_dirty_bytes", d->dirty);
		j_state(w, "state", d->state);
		json_dev_multifd(w, m, d);
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
}

static void json_convergence(json_writer_t *w, const struct tl_mig *m)
{
	jsonw_start_object(w);
	jsonw_uint_field(w, "iterations", m->iterations);
	j_u(w, "pending_bytes", m->pending);
	j_u(w, "threshold_bytes", m->threshold);
	j_u(w, "bandwidth_bytes_per_ms", m->bandwidth);
	j_u(w, "low_pending_bytes", m->low_pending);
	j_u(w, "dirty_pages", m->dirty_pages);
	j_u(w, "transferred_bytes", m->incomplete ? TL_NONE : m->transferred);
	j_ms(w, "predicted_downtime_ms", tl_mig_predicted_downtime(m));
	jsonw_name(w, "series");
	jsonw_start_array(w);
	for (uint32_t i = 0; i < m->series_n; i++) {
		const struct tl_sample *s = tl_mig_sample(m, i);

		jsonw_start_object(w);
		j_rel(w, "t_ns", m, s->ts);
		jsonw_uint_field(w, "pending", s->pending);
		j_u(w, "exact", s->exact);
		j_u(w, "threshold", s->threshold);
		j_u(w, "bandwidth", s->bandwidth);
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
	jsonw_end_object(w);
}

static const char *msg_type_name(const struct tl_msg *g)
{
	if (g->stream)
		return cat_vm_cmd_name(g->type) ? cat_vm_cmd_name(g->type) : "?";
	switch (g->type) {
	case MS_MIG_RP_MSG_SHUT: return "SHUT";
	case MS_MIG_RP_MSG_PONG: return "PONG";
	case MS_MIG_RP_MSG_SWITCHOVER_ACK: return "SWITCHOVER_ACK";
	}
	return "?";
}

static void json_msg_list(json_writer_t *w, const char *name, const struct tl_mig *m,
			  const struct tl_msg *g, uint16_t n)
{
	jsonw_name(w, name);
	jsonw_start_array(w);
	for (uint16_t i = 0; i < n; i++) {
		jsonw_start_object(w);
		jsonw_string_field(w, "type", msg_type_name(&g[i]));
		jsonw_string_field(w, "channel", g[i].stream ? "stream" : "return-path");
		j_rel(w, "at_ns", m, g[i].ts);
		if (g[i].has_val)
			jsonw_uint_field(w, "value", g[i].val);
		else
			jsonw_null_field(w, "value");
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
}

/* The protocol's messages this side sent and received (clock alignment). */
static void json_messages(json_writer_t *w, const struct tl_mig *m)
{
	jsonw_name(w, "messages");
	jsonw_start_object(w);
	json_msg_list(w, "sent", m, m->sent, m->nsent);
	json_msg_list(w, "received", m, m->recv, m->nrecv);
	jsonw_uint_field(w, "dropped", m->msgs_dropped);
	jsonw_uint_field(w, "section_headers", m->nparts);
	jsonw_uint_field(w, "section_headers_dropped", m->parts_dropped);
	jsonw_end_object(w);
}

/* The QEMU version of a process, "" unknown. */
static void qemu_version_str(const struct tl_proc *p, char *buf, size_t n)
{
	uint32_t v = p ? p->qemu_version : 0;

	if (!v) {
		buf[0] = 0;
		return;
	}
	snprintf(buf, n, "%s%u.%u.%u", (p->pflags & MS_PROC_VERSION_AT_LEAST) ? ">= " : "",
		 v / 10000, v / 100 % 100, v % 100);
	if (p->pflags & MS_PROC_VERSION_AT_LEAST)
		buf[strlen(buf) - 2] = 0; /* ">= 10.1" */
}

static bool proc_has(const struct tl_proc *p, unsigned int id)
{
	return id < 128 && (p->probes_present[id / 64] >> (id % 64) & 1);
}

/* Figures the process's QEMU binary cannot give (none of their probes was
 * attached), each with the reason; an empty object when the binary's probes
 * are not known (a QEMU log, an older recording). */
static void json_unavailable(json_writer_t *w, const struct tl_mig *m)
{
	const struct tl_proc *p = tl_mig_proc(m);
	char ver[32];

	jsonw_name(w, "unavailable");
	jsonw_start_object(w);
	if (p && (p->probes_present[0] || p->probes_present[1])) {
		qemu_version_str(p, ver, sizeof(ver));
		for (size_t i = 0; i < cat_nfigures(); i++) {
			const struct cat_figure *f = cat_figure_at(i);
			bool any = false;
			char why[192], keys[128], *save = NULL;

			for (int k = 0; k < 3 && f->probes[k]; k++)
				any |= proc_has(p, f->probes[k]);
			if (any)
				continue;
			snprintf(why, sizeof(why), "%s%s has no %s probe (QEMU %s+)",
				 ver[0] ? "QEMU " : "this QEMU", ver, cat_name(f->probes[0]),
				 f->since);
			snprintf(keys, sizeof(keys), "%s", f->figures);
			for (char *k = strtok_r(keys, ", ", &save); k;
			     k = strtok_r(NULL, ", ", &save))
				jsonw_string_field(w, k, why);
		}
	}
	if (m->nosys) {
		static const char why[] = "VFIO probes of this migration fired while the syscall "
					  "programs were not attached: its data fd I/O was not "
					  "seen whole";
		bool sc_io = false;

		jsonw_string_field(w, "devices.bytes_read", why);
		jsonw_string_field(w, "devices.bytes_written", why);
		for (uint32_t i = 0; i < m->ndevs; i++)
			sc_io |= tl_dev_stopcopy_from_io(&m->devs[i]);
		if (sc_io)
			jsonw_string_field(w, "devices.stopcopy_read_bytes", why);
	}
	jsonw_end_object(w);
}

static void json_mig(json_writer_t *w, const struct tl *tl, const struct tl_mig *m)
{
	char qv[32];
	enum tl_role role = tl_mig_role(m);
	struct tl_breakdown bd;
	struct tl_stall st;
	struct trline lines[TL_MAX_DEVS * TL_MAX_TRANSITIONS];
	size_t ntr;

	jsonw_start_object(w);
	if (role == TL_ROLE_UNKNOWN)
		jsonw_null_field(w, "role");
	else
		jsonw_string_field(w, "role", tl_role_name(role));
	jsonw_uint_field(w, "pid", m->pid);
	j_str(w, "host", tl_mig_host(tl, m));
	qemu_version_str(tl_mig_proc(m), qv, sizeof(qv));
	j_str(w, "qemu_version", qv);
	jsonw_uint_field(w, "clock", m->clock);
	j_str(w, "vm", m->vm);
	j_str(w, "uuid", m->uuid);
	jsonw_string_field(w, "result", tl_result_name(m->result));
	jsonw_uint_field(w, "start_ns", m->start_ts);
	j_u(w, "end_ns", m->end_ts);
	jsonw_bool_field(w, "incomplete", m->incomplete);
	jsonw_bool_field(w, "implicit_start", m->implicit_start);
	j_str(w, "state", m->state);
	jsonw_string_field(w, "phase", tl_mig_phase(m));
	j_str(w, "error", m->error);
	j_ms(w, "total_ms", tl_mig_total(m));
	j_ms(w, "elapsed_ms", tl_mig_elapsed(tl, m));
	j_ms(w, "downtime_ms", role == TL_ROLE_DEST ? TL_DNONE : tl_mig_downtime(m));
	j_ms(w, "precopy_ms", role == TL_ROLE_DEST ? TL_DNONE : tl_mig_precopy(m));
	j_u(w, "precopy_passes", tl_mig_passes(m));

	jsonw_name(w, "switchover_ack");
	jsonw_start_object(w);
	j_tri(w, "enabled", tl_mig_ack_enabled(m));
	j_tri(w, "acked", tl_mig_acked(m));
	j_u(w, "pending_initial", tl_mig_ack_pending_initial(m));
	j_ms(w, "ack_latency_ms", tl_mig_ack_latency(m));
	j_ms(w, "ack_wait_ms", tl_mig_ack_wait(tl, m));
	j_ms(w, "ack_sent_ms", tl_mig_ack_sent(m));
	j_u(w, "pending", m->ack_pending);
	jsonw_name(w, "approvals");
	jsonw_start_array(w);
	for (uint32_t i = 0; i < m->napprovals; i++) {
		const struct tl_approval *a = &m->approvals[i];

		jsonw_start_object(w);
		j_str(w, "device", a->dev >= 0 ? m->devs[a->dev].name : NULL);
		jsonw_uint_field(w, "pending", a->pending);
		j_rel(w, "at_ns", m, a->ts);
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
	jsonw_end_object(w);

	jsonw_name(w, "milestones");
	jsonw_start_object(w);
	for (int i = 0; i < TL_M_COUNT; i++) {
		uint64_t ts = tl_mig_milestone(m, (enum tl_milestone)i);

		if (i == TL_M_END) {
			if (tl_has(ts))
				j_rel(w, tl_result_name(m->result), m, ts);
			continue;
		}
		/* the side's own milestones always (null when absent), others when seen */
		if (tl_has(ts) || tl_milestone_for_role((enum tl_milestone)i, role))
			j_rel(w, tl_milestone_name((enum tl_milestone)i), m, ts);
	}
	jsonw_end_object(w);

	tl_mig_breakdown(tl, m, &bd);
	j_breakdown(w, &bd);

	jsonw_name(w, "convergence");
	if (role == TL_ROLE_DEST) {
		jsonw_null(w); /* the destination does not iterate */
	} else {
		json_convergence(w, m);
	}

	tl_mig_stall(tl, m, &st);
	jsonw_name(w, "stall");
	if (!tl_has(m->stall_ts) && !st.stalled) {
		jsonw_null(w);
	} else {
		jsonw_start_object(w);
		jsonw_bool_field(w, "stalled_now", st.stalled);
		j_rel(w, "first_ns", m, m->stall_ts);
		jsonw_string_field(w, "reason",
				   tl_stall_reason_name(st.stalled ? st.reason : m->stall_reason));
		j_devs_mask(w, "devices_not_drained", m, st.stalled ? st.devs : m->stall_devs);
		if (m->pair && m->pair->dst != m)
			j_devs_mask(w, "devices_not_approved", m->pair->dst,
				    st.stalled ? st.dst_devs : m->stall_dst_devs);
		else
			jsonw_null_field(w, "devices_not_approved");
		jsonw_end_object(w);
	}

	json_devices(w, m);

	ntr = collect_transitions(m, lines);
	jsonw_name(w, "transitions");
	jsonw_start_array(w);
	for (size_t i = 0; i < ntr; i++) {
		const struct tl_transition *tr = lines[i].tr;

		jsonw_start_object(w);
		jsonw_string_field(w, "device", lines[i].d->name);
		j_state(w, "from", tr->from);
		j_state(w, "to", tr->to);
		j_rel(w, "at_ns", m, tr->ts);
		j_ms(w, "dur_ms", tr->dur_ns);
		if (tl_dhas(tr->dur_ns))
			jsonw_int_field(w, "ret", tr->ret);
		else
			jsonw_null_field(w, "ret");
		jsonw_end_object(w);
	}
	jsonw_end_array(w);

	jsonw_name(w, "sections");
	jsonw_start_array(w);
	for (uint32_t i = 0; i < m->nsections; i++) {
		const struct tl_section *s = &m->sections[i];

		jsonw_start_object(w);
		jsonw_string_field(w, "idstr", s->idstr);
		jsonw_uint_field(w, "instance", s->instance);
		jsonw_string_field(w, "type", s->iterable ? "iterable" : "non-iterable");
		jsonw_string_field(w, "direction", s->load ? "load" : "save");
		jsonw_int_field(w, "us", s->us);
		jsonw_end_object(w);
	}
	jsonw_end_array(w);

	jsonw_name(w, "threads");
	jsonw_start_array(w);
	for (uint16_t i = 0; i < m->nthreads; i++) {
		const struct tl_thread *t = &m->threads[i];

		jsonw_start_object(w);
		jsonw_uint_field(w, "tid", t->tid);
		jsonw_string_field(w, "name", tl_thread_name((enum tl_thread_kind)t->kind));
		jsonw_uint_field(w, "records", t->records);
		jsonw_uint_field(w, "first_ns", t->first_ts);
		jsonw_uint_field(w, "last_ns", t->last_ts);
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
	jsonw_uint_field(w, "threads_dropped", m->threads_dropped);

	json_messages(w, m);
	json_unavailable(w, m);

	jsonw_uint_field(w, "records", m->records);
	jsonw_uint_field(w, "lost_records", m->lost_records);
	jsonw_end_object(w);
}

int report_json(FILE *f, const struct tl *tl, const struct report_opts *o)
{
	json_writer_t *w;
	int err;

	if (!o)
		o = &default_opts;
	w = jsonw_new(f);
	if (!w)
		return -ENOMEM;
	jsonw_pretty(w, o->pretty);
	jsonw_start_object(w);

	jsonw_name(w, "migrations");
	jsonw_start_array(w);
	for (size_t i = 0; i < tl_nmigs(tl); i++)
		json_mig(w, tl, tl_mig_at(tl, i));
	jsonw_end_array(w);

	jsonw_name(w, "pairs");
	jsonw_start_array(w);
	for (size_t i = 0; i < tl_npairs(tl); i++) {
		const struct tl_pair *p = tl_pair_at(tl, i);
		struct tl_breakdown bd;

		jsonw_start_object(w);
		j_str(w, "vm", p->src->vm[0] ? p->src->vm : p->dst->vm);
		j_str(w, "uuid", p->src->uuid[0] ? p->src->uuid : p->dst->uuid);
		jsonw_uint_field(w, "source", tl_mig_index(tl, p->src));
		jsonw_uint_field(w, "destination", tl_mig_index(tl, p->dst));
		jsonw_string_field(w, "paired_by", p->by_messages ? "messages" : "vm");
		j_ms(w, "clock_offset_ms", tl_pair_clock_offset(tl, p));
		j_ms(w, "clock_error_ms", tl_pair_clock_error(p));
		jsonw_string_field(w, "clock_basis", tl_clock_basis_name(p->basis));
		j_str(w, "clock_note", clock_note(p));
		jsonw_name(w, "messages_matched");
		jsonw_start_object(w);
		jsonw_uint_field(w, "stream", p->nfwd - p->nparts);
		jsonw_uint_field(w, "section_headers", p->nparts);
		jsonw_uint_field(w, "return_path", p->nbwd);
		jsonw_uint_field(w, "mismatched", p->mismatched);
		jsonw_end_object(w);
		j_ms(w, "guest_downtime_ms", tl_pair_guest_downtime(tl, p));
		j_ms(w, "ack_transit_ms", tl_pair_ack_transit(tl, p));
		tl_pair_breakdown(tl, p, &bd);
		j_breakdown(w, &bd);
		jsonw_end_object(w);
	}
	jsonw_end_array(w);

	jsonw_name(w, "events_by_probe");
	jsonw_start_object(w);
	for (unsigned int p = MS_P_NONE + 1; p < MS_P_COUNT; p++)
		jsonw_uint_field(w, cat_name(p), tl_events(tl, p));
	jsonw_end_object(w);

	jsonw_name(w, "events_by_kind");
	jsonw_start_object(w);
	for (unsigned int k = MS_EV_USDT; k < MS_EV_KIND_MAX; k++)
		if (strcmp(cat_kind_name(k), "?") != 0)
			jsonw_uint_field(w, cat_kind_name(k), tl_events_kind(tl, k));
	jsonw_end_object(w);

	jsonw_uint_field(w, "records", tl_records(tl));
	jsonw_uint_field(w, "lost_records", lost_records(tl, o));
	jsonw_uint_field(w, "unattributed", tl_unattributed(tl));
	jsonw_bool_field(w, "single_clock", tl_single_clock(tl));
	j_str(w, "input_error", o->input_error);
	jsonw_end_object(w);

	err = jsonw_error(w);
	jsonw_destroy(&w);
	return err || ferror(f) ? -EIO : 0;
}
