// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The Prometheus exporter's pure parts: the metric table, the text format
 * (escaping, numbers, histograms; read back by a strict line parser), gzip,
 * snapshots, the engine-to-metrics layer on hand-built migrations (what is
 * counted when, expiry, pairs, transitions) and the web config parser with
 * bcrypt.
 */
#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <cmocka.h>

#include "catalog.h"
#include "prom.h"
#include "prom_tl.h"
#include "timeline.h"
#include "web_config.h"
#include "feed.h"

/* ------------------------------------------------------------------ */
/* a strict reader of the text format 0.0.4 */

struct sample {
	char name[128];
	char labels[1024]; /* unescaped, "k=v;k=v" */
	double v;
};

struct expo {
	struct sample *s;
	size_t n;
};

static void expo_free(struct expo *e)
{
	free(e->s);
	memset(e, 0, sizeof(*e));
}

static bool name_ok(const char *s, size_t n)
{
	if (!n || !(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == ':'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == ':'))
			return false;
	return true;
}

/* Parse text; fail the test on any line that is not valid 0.0.4. */
static void expo_parse(const char *text, struct expo *e)
{
	const char *p = text;

	memset(e, 0, sizeof(*e));
	while (*p) {
		const char *eol = strchr(p, '\n');
		char line[4096];
		size_t len;

		assert_non_null(eol); /* every line ends with \n */
		len = (size_t)(eol - p);
		assert_true(len < sizeof(line));
		memcpy(line, p, len);
		line[len] = '\0';
		p = eol + 1;
		if (!strncmp(line, "# HELP ", 7) || !strncmp(line, "# TYPE ", 7)) {
			const char *nm = line + 7, *sp = strchr(nm, ' ');

			assert_non_null(sp);
			assert_true(name_ok(nm, (size_t)(sp - nm)));
			if (line[2] == 'T')
				assert_true(!strcmp(sp + 1, "counter") ||
					    !strcmp(sp + 1, "gauge") ||
					    !strcmp(sp + 1, "histogram"));
			continue;
		}
		assert_true(line[0] != '#');
		e->s = realloc(e->s, (e->n + 1) * sizeof(*e->s));
		assert_non_null(e->s);
		struct sample *s = &e->s[e->n++];
		const char *q = line;
		size_t nl = strcspn(q, "{ ");
		char *o = s->labels, *end;

		memset(s, 0, sizeof(*s));
		assert_true(name_ok(q, nl) && nl < sizeof(s->name));
		memcpy(s->name, q, nl);
		q += nl;
		if (*q == '{') {
			q++;
			while (*q != '}') {
				size_t kl = strcspn(q, "=");

				assert_true(name_ok(q, kl));
				memcpy(o, q, kl);
				o += kl;
				*o++ = '=';
				q += kl;
				assert_int_equal(q[0], '=');
				assert_int_equal(q[1], '"');
				for (q += 2; *q != '"'; q++) {
					assert_true(*q != '\0' && *q != '\n');
					if (*q == '\\') {
						q++;
						assert_true(*q == '\\' || *q == '"' || *q == 'n');
						*o++ = *q == 'n' ? '\n' : *q;
					} else {
						*o++ = *q;
					}
				}
				q++;
				if (*q == ',') {
					*o++ = ';';
					q++;
				} else {
					assert_int_equal(*q, '}');
				}
			}
			q++;
		}
		*o = '\0';
		assert_int_equal(*q, ' ');
		q++;
		if (!strcmp(q, "+Inf"))
			s->v = INFINITY;
		else if (!strcmp(q, "-Inf"))
			s->v = -INFINITY;
		else if (!strcmp(q, "NaN"))
			s->v = NAN;
		else {
			s->v = strtod(q, &end);
			assert_true(end != q && *end == '\0');
		}
	}
}

/* The value of the sample name{labels} (labels as "k=v;k=v"), or NAN. */
static double val(const struct expo *e, const char *name, const char *labels)
{
	for (size_t i = 0; i < e->n; i++)
		if (!strcmp(e->s[i].name, name) && !strcmp(e->s[i].labels, labels))
			return e->s[i].v;
	return NAN;
}

static size_t count_name(const struct expo *e, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < e->n; i++)
		n += !strcmp(e->s[i].name, name);
	return n;
}

static char *render_reg(struct prom_reg *r)
{
	struct prom_snap *s = prom_snap_take(r);
	struct prom_buf b = {};

	assert_non_null(s);
	prom_render(&b, &s, 1);
	prom_snap_unref(s);
	assert_false(b.err);
	return b.p ? b.p : strdup("");
}

/* ------------------------------------------------------------------ */
/* the table */

static void test_table(void **state)
{
	for (int f = 0; f < PF_COUNT; f++) {
		const struct prom_def *d = prom_def(f);
		size_t n = strlen(d->name);

		assert_true(!strncmp(d->name, "migscope_", 9));
		assert_true(name_ok(d->name, n));
		assert_true(strlen(d->help) > 10);
		/* counters and only counters end in _total */
		assert_int_equal(d->type == PROM_COUNTER,
				 n > 6 && !strcmp(d->name + n - 6, "_total"));
		if (d->type == PROM_HISTOGRAM) {
			assert_true(!strcmp(d->name + n - 8, "_seconds"));
			assert_int_not_equal(d->bset, PROM_B_NONE);
		}
		for (int g = 0; g < f; g++)
			assert_string_not_equal(prom_def(g)->name, d->name);
		for (unsigned int i = 0; d->labels[i]; i++) {
			assert_true(name_ok(d->labels[i], strlen(d->labels[i])));
			assert_string_not_equal(d->labels[i], "le");
		}
	}
	/* the metric names are a contract (docs/metrics.md) */
	static const char *const contract[] = {
	    "migscope_migrations_total",
	    "migscope_migration_active",
	    "migscope_migration_phase",
	    "migscope_downtime_seconds",
	    "migscope_guest_downtime_seconds",
	    "migscope_precopy_seconds",
	    "migscope_switchover_ack_latency_seconds",
	    "migscope_switchover_ack_wait_seconds",
	    "migscope_switchover_ack_pending",
	    "migscope_precopy_pending_bytes",
	    "migscope_vfio_precopy_initial_bytes",
	    "migscope_vfio_precopy_dirty_bytes",
	    "migscope_vfio_stopcopy_bytes",
	    "migscope_vfio_state_transition_seconds",
	    "migscope_device_downtime_seconds",
	    "migscope_events_total",
	    "migscope_events_lost_total",
	    "migscope_probe_attached",
	};
	for (size_t i = 0; i < sizeof(contract) / sizeof(contract[0]); i++) {
		int f;

		for (f = 0; f < PF_COUNT; f++)
			if (!strcmp(prom_def(f)->name, contract[i]))
				break;
		assert_true(f < PF_COUNT);
	}
	/* 1 ms .. 60 s */
	unsigned int nb;
	const int64_t *b = prom_bounds(PROM_B_DURATION, &nb);

	assert_int_equal(b[0], 1000000);
	assert_int_equal(b[nb - 1], 60000000000LL);
	for (unsigned int i = 1; i < nb; i++)
		assert_true(b[i] > b[i - 1]);
}

/* ------------------------------------------------------------------ */
/* the text format */

static void test_values(void **state)
{
	char v[32];

	prom_fmt_value(v, sizeof(v), 0);
	assert_string_equal(v, "0");
	prom_fmt_value(v, sizeof(v), 12345678901234.0);
	assert_string_equal(v, "12345678901234");
	prom_fmt_value(v, sizeof(v), 0.001);
	assert_string_equal(v, "0.001");
	prom_fmt_value(v, sizeof(v), 0.0025);
	assert_string_equal(v, "0.0025");
	prom_fmt_value(v, sizeof(v), 0.1 + 0.2);
	assert_true(strtod(v, NULL) == 0.1 + 0.2);
	/* a unix time in µs: 16 digits, not 17 */
	prom_fmt_value(v, sizeof(v), 1796248357377879 / 1e6);
	assert_string_equal(v, "1796248357.377879");
	prom_fmt_value(v, sizeof(v), 18446744073709551615.0);
	assert_true(strtod(v, NULL) == 18446744073709551615.0);
	prom_fmt_value(v, sizeof(v), INFINITY);
	assert_string_equal(v, "+Inf");
	prom_fmt_value(v, sizeof(v), -INFINITY);
	assert_string_equal(v, "-Inf");
	prom_fmt_value(v, sizeof(v), NAN);
	assert_string_equal(v, "NaN");
}

static void test_escaping(void **state)
{
	struct prom_reg *r = prom_reg_new();
	const char *l[4] = {"a\"b\\c\nd", "bad \xff\xfe utf8 \xc3\xa9 \xe2\x82", "source", "x"};
	struct expo e;
	char *text;

	assert_non_null(r);
	prom_reg_begin(r);
	prom_set(prom_get(r, PF_MIGRATIONS, 1, l), 3);
	text = render_reg(r);
	/* raw: escaped quote, backslash and newline; invalid bytes replaced */
	assert_non_null(strstr(text, "vm=\"a\\\"b\\\\c\\nd\""));
	assert_non_null(
	    strstr(text, "uuid=\"bad \xef\xbf\xbd\xef\xbf\xbd utf8 \xc3\xa9 \xef\xbf\xbd"));
	expo_parse(text, &e);
	assert_int_equal(e.n, 1);
	assert_true(val(&e, "migscope_migrations_total",
			"vm=a\"b\\c\nd;uuid=bad \xef\xbf\xbd\xef\xbf\xbd utf8 \xc3\xa9 "
			"\xef\xbf\xbd\xef\xbf\xbd;role=source;result=x") == 3);
	/* HELP and TYPE once, before the samples */
	assert_true(strstr(text, "# HELP migscope_migrations_total ") == text);
	assert_non_null(strstr(text, "\n# TYPE migscope_migrations_total counter\n"));
	expo_free(&e);
	free(text);
	prom_reg_free(r);
}

static void test_histogram(void **state)
{
	struct prom_reg *r = prom_reg_new();
	const char *l[3] = {"vm", "u", "source"};
	struct prom_series *s;
	struct expo e;
	char *text;

	prom_reg_begin(r);
	s = prom_get(r, PF_DOWNTIME, 1, l);
	prom_observe_ns(s, 500000);	   /* 0.5 ms: first bucket */
	prom_observe_ns(s, 1000000);	   /* 1 ms: le is inclusive */
	prom_observe_ns(s, 30000000);	   /* 30 ms: le 0.05 */
	prom_observe_ns(s, 61000000000LL); /* 61 s: only +Inf */
	assert_ptr_equal(prom_get(r, PF_DOWNTIME, 1, l), s);
	text = render_reg(r);
	expo_parse(text, &e);
	const char *base = "vm=vm;uuid=u;role=source";
	char lb[256];

	snprintf(lb, sizeof(lb), "%s;le=0.001", base);
	assert_true(val(&e, "migscope_downtime_seconds_bucket", lb) == 2);
	snprintf(lb, sizeof(lb), "%s;le=0.025", base);
	assert_true(val(&e, "migscope_downtime_seconds_bucket", lb) == 2);
	snprintf(lb, sizeof(lb), "%s;le=0.05", base);
	assert_true(val(&e, "migscope_downtime_seconds_bucket", lb) == 3);
	snprintf(lb, sizeof(lb), "%s;le=60", base);
	assert_true(val(&e, "migscope_downtime_seconds_bucket", lb) == 3);
	snprintf(lb, sizeof(lb), "%s;le=+Inf", base);
	assert_true(val(&e, "migscope_downtime_seconds_bucket", lb) == 4);
	assert_true(val(&e, "migscope_downtime_seconds_count", base) == 4);
	assert_true(fabs(val(&e, "migscope_downtime_seconds_sum", base) - 61.0315) < 1e-9);
	/* 15 bounds + Inf */
	assert_int_equal(count_name(&e, "migscope_downtime_seconds_bucket"), 16);
	expo_free(&e);
	free(text);
	prom_reg_free(r);
}

static bool owner_is(uint32_t owner, void *arg)
{
	return owner == *(uint32_t *)arg;
}

static void test_sweep_drop_snapshot(void **state)
{
	struct prom_reg *r = prom_reg_new();
	const char *a[3] = {"a", "", "source"}, *b[3] = {"b", "", "source"};
	struct prom_snap *s1;
	struct prom_buf out = {};
	char name[16];

	/* many series: the index grows and survives compaction */
	prom_reg_begin(r);
	for (int i = 0; i < 1000; i++) {
		const char *l[3] = {name, "", "source"};

		snprintf(name, sizeof(name), "vm%d", i);
		prom_set(prom_get(r, PF_ACTIVE, (uint32_t)(i % 7) + 1, l), i);
	}
	prom_set(prom_get(r, PF_ACTIVE, 1, a), 1);
	prom_add(prom_get(r, PF_MIGRATIONS, 2, (const char *[]){"b", "", "source", "completed"}),
		 1);
	s1 = prom_snap_take(r);
	assert_int_equal(prom_snap_nseries(s1), 1002);
	/* a NOW series not set in the next update goes; ACC series stay */
	prom_reg_begin(r);
	prom_set(prom_get(r, PF_ACTIVE, 2, b), 0);
	prom_reg_sweep(r);
	assert_int_equal(prom_reg_nseries(r), 2);
	for (int i = 0; i < 1000; i += 3) {
		const char *l[3] = {name, "", "source"};

		snprintf(name, sizeof(name), "vm%d", i);
		prom_set(prom_get(r, PF_ACTIVE, 1, l), i);
	}
	/* the snapshot did not change */
	prom_render(&out, &s1, 1);
	assert_non_null(strstr(
	    out.p, "migscope_migration_active{vm=\"vm999\",uuid=\"\",role=\"source\"} 999\n"));
	prom_snap_unref(s1);
	prom_buf_free(&out);
	/* drop by owner: owner 2's series go, whatever their family */
	prom_reg_drop(r, owner_is, &(uint32_t){2});
	assert_int_equal(prom_reg_nseries(r), 334);
	prom_reg_free(r);
}

static void test_gzip(void **state)
{
	struct prom_buf in = {}, gz = {};
	char *back;
	z_stream z = {};

	for (int i = 0; i < 20000; i++)
		prom_buf_printf(&in, "migscope_events_total{probe=\"p%d\"} %d\n", i % 47, i);
	assert_int_equal(prom_gzip(in.p, in.len, &gz), 0);
	assert_true(gz.len < in.len / 4);
	assert_int_equal((unsigned char)gz.p[0], 0x1f); /* gzip magic */
	assert_int_equal((unsigned char)gz.p[1], 0x8b);
	back = malloc(in.len + 1);
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)gz.p;
	z.avail_in = (uInt)gz.len;
	z.next_out = (Bytef *)back;
	z.avail_out = (uInt)in.len + 1;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	assert_int_equal(z.total_out, in.len);
	assert_memory_equal(back, in.p, in.len);
	inflateEnd(&z);
	free(back);
	prom_buf_free(&in);
	prom_buf_free(&gz);
}

/* ------------------------------------------------------------------ */
/* the engine's figures as metrics */

#define SEC 1000.0 /* ms */

static void exit_rec(struct tl *tl, uint32_t pid, uint64_t ts)
{
	union ms_rec r;

	memset(&r, 0, sizeof(r));
	r.h.kind = MS_EV_EXIT;
	r.h.pid = r.h.tid = pid;
	r.h.ts = ts;
	tl_feed(tl, &r);
}

/*
 * One VM's migration on this host (test_report.c's pair, shifted by t0 ms):
 * source setup 0, active 2, ready 50.1, ACK 70, downtime 81..95 (vm stopped
 * 86, iterable saved 90, non-iterable 92), completed 96; destination active
 * 2.5, one device approved at 60.5 (its initial data at 60), ACK sent 69.9,
 * loadvm completed 100, VM started 103, completed 104. Phase 1 stops after
 * the source's STOP_COPY set_state probe, before its ioctl (at 82).
 */
static void pair_part1(struct tl *tl, uint32_t src, uint32_t dst, double t0, const char *vm,
		       const char *uuid)
{
#define T(x) AT(t0 + (x))
	proc(tl, dst, T(-5), vm, uuid, true);
	proc(tl, src, T(-4), vm, uuid, false);
	usdt(tl, dst, T(-1), MS_P_MIGRATE_SET_STATE, "setup");
	usdt(tl, src, T(0), MS_P_MIGRATE_SET_STATE, "setup");
	usdt(tl, src, T(0.9), MS_P_VFIO_MIGRATION_SET_STATE, DEV, "PRE_COPY", "RUNNING");
	feed_ioctl_set(tl, src, T(1), 30, MS_VFIO_PRE_COPY, MSF(0.25));
	usdt(tl, src, T(1.5), MS_P_VFIO_SAVE_SETUP, DEV, V(4096));
	usdt(tl, src, T(1.6), MS_P_VFIO_SAVE_ITERATE, DEV, V(1000), V(0));
	usdt(tl, src, T(2), MS_P_MIGRATE_SET_STATE, "active");
	usdt(tl, dst, T(2.5), MS_P_MIGRATE_SET_STATE, "active");
	usdt(tl, dst, T(3), MS_P_LOADVM_STATE_SWITCHOVER_ACK_NEEDED, V(1));
	usdt(tl, src, T(10), MS_P_MIGRATION_BITMAP_SYNC_END, V(10));
	usdt(tl, src, T(20), MS_P_MIGRATE_TRANSFERRED, V(1), V(1), V(1000), V(1000), V(5000));
	usdt(tl, dst, T(30), MS_P_VFIO_LOAD_STATE_DEVICE_DATA, DEV, V(1000), V(0));
	usdt(tl, src, T(40), MS_P_VFIO_SAVE_ITERATE, DEV, V(0), V(0));
	usdt(tl, src, T(50), MS_P_MIGRATE_PENDING_ESTIMATE, V(4000), V(4000), V(0));
	usdt(tl, src, T(50.1), MS_P_MIGRATE_PENDING_EXACT, V(3000), V(3000), V(0));
	usdt(tl, dst, T(60), MS_P_VFIO_LOAD_STATE, DEV, V(MS_VFIO_MIG_FLAG_DEV_INIT_DATA_SENT));
	usdt(tl, src, T(60.2), MS_P_MIGRATE_PENDING_ESTIMATE, V(3500), V(3500), V(0));
	usdt(tl, dst, T(60.5), MS_P_LOADVM_APPROVE_SWITCHOVER, V(0));
	usdt(tl, dst, T(69.9), MS_P_MIGRATE_SEND_RP_MESSAGE, V(7), V(0));
	usdt(tl, src, T(70), MS_P_SOURCE_RETURN_PATH_THREAD_SWITCHOVER_ACKED);
	usdt(tl, src, T(80), MS_P_MIGRATE_PENDING_ESTIMATE, V(3000), V(3000), V(0));
	usdt(tl, src, T(80.05), MS_P_VFIO_STATE_PENDING_EXACT, DEV, V(1), V(0), V(8888), V(0),
	     V(0));
	usdt(tl, src, T(80.1), MS_P_MIGRATE_PENDING_EXACT, V(2500), V(2500), V(0));
	usdt(tl, src, T(80.2), MS_P_MIGRATION_THREAD_LOW_PENDING, V(2500));
	usdt(tl, src, T(81), MS_P_VMSTATE_DOWNTIME_CHECKPOINT, "src-downtime-start");
	usdt(tl, src, T(81.9), MS_P_VFIO_MIGRATION_SET_STATE, DEV, "STOP_COPY", "STOP");
}

static void pair_part2(struct tl *tl, uint32_t src, uint32_t dst, double t0)
{
	feed_ioctl_set(tl, src, T(82), 30, MS_VFIO_STOP_COPY, MSF(3));
	usdt(tl, src, T(86), MS_P_VMSTATE_DOWNTIME_CHECKPOINT, "src-vm-stopped");
	usdt(tl, src, T(87), MS_P_VFIO_SAVE_BLOCK, DEV, V(4444));
	usdt(tl, src, T(89), MS_P_VMSTATE_DOWNTIME_SAVE, "iterable", DEV "/vfio", V(0), V(2000));
	usdt(tl, src, T(90), MS_P_VMSTATE_DOWNTIME_CHECKPOINT, "src-iterable-saved");
	usdt(tl, src, T(92), MS_P_VMSTATE_DOWNTIME_CHECKPOINT, "src-non-iterable-saved");
	usdt(tl, src, T(95), MS_P_VMSTATE_DOWNTIME_CHECKPOINT, "src-downtime-end");
	usdt(tl, src, T(96), MS_P_MIGRATE_SET_STATE, "completed");
}

static void pair_part3(struct tl *tl, uint32_t src, uint32_t dst, double t0)
{
	usdt(tl, dst, T(98), MS_P_VMSTATE_DOWNTIME_LOAD, "iterable", DEV "/vfio", V(0), V(1500));
	usdt(tl, dst, T(100), MS_P_VMSTATE_DOWNTIME_CHECKPOINT, "dst-precopy-loadvm-completed");
	usdt(tl, dst, T(103), MS_P_VMSTATE_DOWNTIME_CHECKPOINT, "dst-precopy-bh-vm-started");
	usdt(tl, dst, T(104), MS_P_MIGRATE_SET_STATE, "completed");
#undef T
}

#define VMU	"vm=guest \"one\";uuid=6f1c3b1e-1111"
#define SRC_L	VMU ";role=source"
#define DST_L	VMU ";role=destination"
#define VM_NAME "guest \"one\""
#define UUID	"6f1c3b1e-1111"

/* A serve tick at now, the exposition parsed. */
static void upd(struct prom_tl *p, struct tl *tl, uint64_t now, struct expo *e)
{
	struct prom_tl_live live = {.update_ns = -1};
	struct prom_snap *s;
	struct prom_buf b = {};

	prom_tl_tick(p, tl, now, &live);
	s = prom_tl_snapshot(p);
	assert_non_null(s);
	prom_render(&b, &s, 1);
	prom_snap_unref(s);
	assert_false(b.err);
	expo_free(e);
	expo_parse(b.p ? b.p : "", e);
	prom_buf_free(&b);
}

static bool near(double a, double b)
{
	return fabs(a - b) < 1e-9;
}

static void test_live_progression(void **state)
{
	struct tl *tl = tl_new();
	struct prom_tl *p = prom_tl_new(10ULL * 1000000000ULL);
	struct expo e = {};

	assert_non_null(tl);
	assert_non_null(p);

	/* processes seen, no migration yet: counters at 0, no histograms */
	proc(tl, 200, AT(-50), VM_NAME, UUID, true);
	proc(tl, 100, AT(-40), VM_NAME, UUID, false);
	upd(p, tl, AT(-30), &e);
	assert_true(val(&e, "migscope_migrations_total", SRC_L ";result=completed") == 0);
	assert_true(val(&e, "migscope_migrations_total", DST_L ";result=aborted") == 0);
	assert_true(val(&e, "migscope_migration_active", SRC_L) == 0);
	assert_int_equal(count_name(&e, "migscope_downtime_seconds_count"), 0);
	assert_int_equal(count_name(&e, "migscope_migration_phase"), 0);

	/* running: phases, gauges, histograms at 0, the first transition */
	pair_part1(tl, 100, 200, 0, VM_NAME, UUID);
	upd(p, tl, AT(81.95), &e);
	assert_true(val(&e, "migscope_migration_active", SRC_L) == 1);
	assert_true(val(&e, "migscope_migration_active", DST_L) == 1);
	assert_true(val(&e, "migscope_migration_phase", SRC_L ";phase=switchover") == 1);
	assert_true(val(&e, "migscope_migration_phase", DST_L ";phase=loading") == 1);
	assert_true(val(&e, "migscope_downtime_seconds_count", SRC_L) == 0);
	assert_true(val(&e, "migscope_precopy_pending_bytes", SRC_L) == 2500);
	assert_true(val(&e, "migscope_precopy_threshold_bytes", SRC_L) == 5000);
	assert_true(val(&e, "migscope_precopy_bandwidth_bytes_per_second", SRC_L) == 1000000);
	assert_true(val(&e, "migscope_switchover_ack_pending", DST_L) == 0);
	assert_true(near(val(&e, "migscope_migration_elapsed_seconds", SRC_L), 0.08195));
	assert_true(val(&e, "migscope_vfio_stopcopy_bytes", SRC_L ";device=" DEV) == 8888);
	assert_true(near(val(&e, "migscope_vfio_state_transition_seconds_sum",
			     "role=source;device=" DEV ";from=unknown;to=PRE_COPY"),
			 0.00025));
	/* STOP_COPY's probe came, its ioctl not yet: not taken without its duration */
	assert_true(isnan(val(&e, "migscope_vfio_state_transition_seconds_count",
			      "role=source;device=" DEV ";from=PRE_COPY;to=STOP_COPY")));

	/* the source ends: its figures, once; the pair's wait for the destination */
	pair_part2(tl, 100, 200, 0);
	upd(p, tl, AT(97), &e);
	upd(p, tl, AT(97.5), &e);
	assert_true(val(&e, "migscope_migrations_total", SRC_L ";result=completed") == 1);
	assert_true(val(&e, "migscope_migrations_total", DST_L ";result=completed") == 0);
	assert_true(val(&e, "migscope_downtime_seconds_count", SRC_L) == 1);
	assert_true(near(val(&e, "migscope_downtime_seconds_sum", SRC_L), 0.014));
	assert_true(near(val(&e, "migscope_precopy_seconds_sum", SRC_L), 0.079));
	assert_true(near(val(&e, "migscope_switchover_ack_latency_seconds_sum", SRC_L), 0.068));
	assert_true(near(val(&e, "migscope_switchover_ack_wait_seconds_sum", SRC_L), 0.0199));
	assert_true(val(&e, "migscope_downtime_seconds_bucket", SRC_L ";le=0.01") == 0);
	assert_true(val(&e, "migscope_downtime_seconds_bucket", SRC_L ";le=0.025") == 1);
	assert_true(near(val(&e, "migscope_vfio_state_transition_seconds_sum",
			     "role=source;device=" DEV ";from=PRE_COPY;to=STOP_COPY"),
			 0.003));
	assert_true(near(val(&e, "migscope_device_downtime_seconds_sum",
			     "role=source;device=" DEV ";direction=save"),
			 0.002));
	assert_true(
	    near(val(&e, "migscope_downtime_breakdown_seconds_sum", VMU ";part=stop"), 0.005));
	assert_true(near(
	    val(&e, "migscope_downtime_breakdown_seconds_sum", VMU ";part=iterable_save"), 0.004));
	assert_true(
	    near(val(&e, "migscope_downtime_breakdown_seconds_sum", VMU ";part=non_iterable_save"),
		 0.002));
	assert_true(isnan(val(&e, "migscope_guest_downtime_seconds_count", VMU)));
	assert_true(val(&e, "migscope_migration_phase", SRC_L ";phase=completed") == 1);
	assert_true(isnan(val(&e, "migscope_migration_phase", SRC_L ";phase=switchover")));
	assert_true(val(&e, "migscope_migration_active", SRC_L) == 0);

	/* the destination ends: the pair's figures, once */
	pair_part3(tl, 100, 200, 0);
	upd(p, tl, AT(105), &e);
	upd(p, tl, AT(106), &e);
	assert_true(val(&e, "migscope_migrations_total", DST_L ";result=completed") == 1);
	assert_true(val(&e, "migscope_migrations_total", SRC_L ";result=completed") == 1);
	assert_true(val(&e, "migscope_guest_downtime_seconds_count", VMU) == 1);
	assert_true(near(val(&e, "migscope_guest_downtime_seconds_sum", VMU), 0.017));
	assert_true(near(
	    val(&e, "migscope_downtime_breakdown_seconds_sum", VMU ";part=transfer_load"), 0.008));
	assert_true(
	    near(val(&e, "migscope_downtime_breakdown_seconds_sum", VMU ";part=dst_start"), 0.003));
	assert_true(near(
	    val(&e, "migscope_switchover_ack_approval_seconds_sum", "role=destination;device=" DEV),
	    0.0005));
	assert_true(near(val(&e, "migscope_device_downtime_seconds_sum",
			     "role=destination;device=" DEV ";direction=load"),
			 0.0015));
	assert_true(val(&e, "migscope_tracked_migrations", "") == 2);
	assert_true(val(&e, "migscope_traced_processes", "") == 2);
	assert_true(val(&e, "migscope_events_total", "probe=migrate_set_state") == 6);

	/* the processes stay: so do the VM's series, but not the ended
	 * migrations' gauges once they expired */
	upd(p, tl, AT(104 + 10 * SEC + 1), &e);
	assert_true(val(&e, "migscope_migrations_total", SRC_L ";result=completed") == 1);
	assert_true(val(&e, "migscope_migration_active", SRC_L) == 0);
	assert_int_equal(count_name(&e, "migscope_migration_phase"), 0);
	assert_int_equal(count_name(&e, "migscope_vfio_stopcopy_bytes"), 0);
	assert_true(val(&e, "migscope_guest_downtime_seconds_count", VMU) == 1);

	/* the processes exit: the series go 10 s later, not before */
	exit_rec(tl, 100, AT(20 * SEC));
	exit_rec(tl, 200, AT(20 * SEC + 1));
	upd(p, tl, AT(29 * SEC), &e);
	assert_true(val(&e, "migscope_migrations_total", DST_L ";result=completed") == 1);
	assert_true(val(&e, "migscope_traced_processes", "") == 0);
	upd(p, tl, AT(30 * SEC + 2), &e);
	assert_int_equal(prom_tl_ngroups(p), 0);
	for (size_t i = 0; i < e.n; i++) {
		assert_null(strstr(e.s[i].labels, "vm="));
		assert_null(strstr(e.s[i].labels, "device="));
	}
	/* the collector's own metrics stay */
	assert_true(val(&e, "migscope_events_total", "probe=migrate_set_state") == 6);
	assert_true(val(&e, "migscope_events_lost_total", "") == 0);

	expo_free(&e);
	prom_tl_free(p);
	tl_free(tl);
}

/* Many VMs come and go: series stay bounded by the VMs alive within the
 * expiry time. */
static void test_bounded(void **state)
{
	struct tl *tl = tl_new();
	struct prom_tl *p = prom_tl_new(10ULL * 1000000000ULL);
	struct expo e = {};
	size_t max_series = 0;

	for (int i = 0; i < 200; i++) {
		char vm[32], uuid[40];
		double t0 = i * 2 * SEC; /* one VM every 2 s, 10 s expiry: ~6 alive */
		uint64_t now = AT(t0 + 200);

		snprintf(vm, sizeof(vm), "vm-%03d", i);
		snprintf(uuid, sizeof(uuid), "uuid-%03d", i);
		pair_part1(tl, 1000 + 2 * i, 1001 + 2 * i, t0, vm, uuid);
		pair_part2(tl, 1000 + 2 * i, 1001 + 2 * i, t0);
		pair_part3(tl, 1000 + 2 * i, 1001 + 2 * i, t0);
		exit_rec(tl, 1000 + 2 * i, AT(t0 + 150));
		exit_rec(tl, 1001 + 2 * i, AT(t0 + 160));
		upd(p, tl, now, &e);
		if (prom_tl_nseries(p) > max_series)
			max_series = prom_tl_nseries(p);
		assert_true(prom_tl_ngroups(p) <= 2 * 7);
		assert_true(tl_nmigs(tl) <= 2 * 7);
	}
	/* the last VM's figures are there, the first's are not */
	assert_true(val(&e, "migscope_migrations_total",
			"vm=vm-199;uuid=uuid-199;role=source;result=completed") == 1);
	assert_true(isnan(val(&e, "migscope_migrations_total",
			      "vm=vm-000;uuid=uuid-000;role=source;result=completed")));
	assert_true(max_series < 2000);
	expo_free(&e);
	prom_tl_free(p);
	tl_free(tl);
}

/* Milestones as unix times: through the clock pair, to the µs, only those
 * seen, the end named by the result; none without a clock. */
static void test_milestone_times(void **state)
{
	struct tl *tl = tl_new();
	struct prom_tl *p = prom_tl_new(PROM_TL_DEFAULT_EXPIRE_NS);
	/* BASE (the pair's source setup) is unix 1700000000 */
	struct prom_tl_clock clock = {.mono_ns = BASE, .real_ns = 1700000000ULL * 1000000000ULL};
	const char *fam = "migscope_migration_timestamp_seconds";
	struct expo e = {};

	assert_non_null(tl);
	assert_non_null(p);
	pair_part1(tl, 100, 200, 0, VM_NAME, UUID);
	upd(p, tl, AT(81.95), &e);
	assert_int_equal(count_name(&e, fam), 0); /* no clock, no times */

	prom_tl_set_clock(p, &clock);
	upd(p, tl, AT(81.96), &e);
	assert_true(val(&e, fam, SRC_L ";milestone=setup") == 1700000000.0);
	assert_true(val(&e, fam, SRC_L ";milestone=src-downtime-start") == 1700000000.081);
	assert_true(val(&e, fam, DST_L ";milestone=setup") == 1699999999.999);
	assert_true(val(&e, fam, DST_L ";milestone=ack-sent") == 1700000000.0699);
	/* running: no end yet; never seen: no sample (not 0) */
	assert_true(isnan(val(&e, fam, SRC_L ";milestone=completed")));
	assert_true(isnan(val(&e, fam, SRC_L ";milestone=src-vm-stopped")));
	assert_true(isnan(val(&e, fam, SRC_L ";milestone=ping-sent")));
	/* the other side's milestones are not this role's */
	assert_true(isnan(val(&e, fam, DST_L ";milestone=src-downtime-start")));

	pair_part2(tl, 100, 200, 0);
	pair_part3(tl, 100, 200, 0);
	upd(p, tl, AT(105), &e);
	assert_true(val(&e, fam, SRC_L ";milestone=src-vm-stopped") == 1700000000.086);
	assert_true(val(&e, fam, SRC_L ";milestone=src-non-iterable-saved") == 1700000000.092);
	assert_true(val(&e, fam, SRC_L ";milestone=src-downtime-end") == 1700000000.095);
	assert_true(val(&e, fam, SRC_L ";milestone=completed") == 1700000000.096);
	assert_true(val(&e, fam, DST_L ";milestone=dst-precopy-loadvm-completed") == 1700000000.1);
	assert_true(val(&e, fam, DST_L ";milestone=dst-precopy-bh-vm-started") == 1700000000.103);
	assert_true(val(&e, fam, DST_L ";milestone=completed") == 1700000000.104);
	assert_true(isnan(val(&e, fam, SRC_L ";milestone=end")));
	/* 8 of the source's, 6 of the destination's (the feed has no message) */
	assert_int_equal(count_name(&e, fam), 14);

	/* the realtime clock stepped 2 s back: the times follow at the next update */
	clock.real_ns -= 2000000000ULL;
	prom_tl_set_clock(p, &clock);
	upd(p, tl, AT(106), &e);
	assert_true(val(&e, fam, SRC_L ";milestone=setup") == 1699999998.0);
	/* the rounding to µs: 0.4 µs more changes nothing, 0.6 µs one µs */
	clock.real_ns += 400;
	prom_tl_set_clock(p, &clock);
	upd(p, tl, AT(107), &e);
	assert_true(val(&e, fam, SRC_L ";milestone=setup") == 1699999998.0);
	clock.real_ns += 200;
	prom_tl_set_clock(p, &clock);
	upd(p, tl, AT(108), &e);
	assert_true(val(&e, fam, SRC_L ";milestone=setup") == 1699999998.000001);

	/* without a clock again: the times go at the next update (NOW series) */
	prom_tl_set_clock(p, NULL);
	upd(p, tl, AT(109), &e);
	assert_int_equal(count_name(&e, fam), 0);

	expo_free(&e);
	prom_tl_free(p);
	tl_free(tl);
}

/* replay --format prom and a live update at the same moment agree. */
static void test_replay_equals_live(void **state)
{
	struct tl *tl = tl_new();
	struct prom_tl *p = prom_tl_new(PROM_TL_DEFAULT_EXPIRE_NS);
	struct prom_tl_live live = {.update_ns = -1};
	struct prom_snap *s;
	struct prom_buf b = {};
	char *file = NULL;
	size_t flen = 0;
	FILE *f = open_memstream(&file, &flen);
	struct expo e1, e2;

	pair_part1(tl, 100, 200, 0, VM_NAME, UUID);
	prom_tl_update(p, tl, tl_now(tl), &live);
	pair_part2(tl, 100, 200, 0);
	prom_tl_update(p, tl, tl_now(tl), &live);
	pair_part3(tl, 100, 200, 0);
	prom_tl_update(p, tl, tl_now(tl), &live);
	s = prom_tl_snapshot(p);
	prom_render(&b, &s, 1);
	prom_snap_unref(s);
	assert_int_equal(prom_render_tl(f, tl, 0, NULL, 0, NULL), 0);
	fclose(f);
	expo_parse(b.p, &e1);
	expo_parse(file, &e2);
	assert_int_equal(e1.n, e2.n);
	for (size_t i = 0; i < e1.n; i++) {
		double v = val(&e2, e1.s[i].name, e1.s[i].labels);

		if (!near(v, e1.s[i].v))
			fail_msg("%s{%s}: live %g, replay %g", e1.s[i].name, e1.s[i].labels,
				 e1.s[i].v, v);
	}
	expo_free(&e1);
	expo_free(&e2);
	free(file);
	prom_buf_free(&b);
	prom_tl_free(p);
	tl_free(tl);
}

/* ------------------------------------------------------------------ */
/* web config */

static const char *make_hash(const char *pass, char *out, size_t n)
{
	char salt[64];
	struct crypt_data cd;

	memset(&cd, 0, sizeof(cd));
	assert_non_null(crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof(salt)));
	snprintf(out, n, "%s", crypt_r(pass, salt, &cd));
	assert_int_equal(strlen(out), 60);
	return out;
}

static void test_web_config(void **state)
{
	char h1[64], h2[64], yaml[2048], err[512];
	struct wc_config *c;

	make_hash("s3cret", h1, sizeof(h1));
	make_hash("other pass", h2, sizeof(h2));
	snprintf(yaml, sizeof(yaml),
		 "---\n"
		 "# a fleet's web config\n"
		 "tls_server_config:\n"
		 "  cert_file: certs/server.crt   # relative to the config file\n"
		 "  key_file: \"/etc/keys/server.key\"\n"
		 "  min_version: TLS13\n"
		 "  prefer_server_cipher_suites: true\n"
		 "\n"
		 "basic_auth_users:\n"
		 "  alice: %s\n"
		 "  'bob smith': \"%s\"\n"
		 "http_server_config:\n"
		 "  http2: false\n"
		 "  headers:\n"
		 "    X-Frame-Options: deny\n",
		 h1, h2);
	c = wc_parse(yaml, "/etc/migscope/web.yml", err, sizeof(err));
	if (!c)
		fail_msg("%s", err);
	assert_string_equal(c->cert_file, "/etc/migscope/certs/server.crt");
	assert_string_equal(c->key_file, "/etc/keys/server.key");
	assert_string_equal(c->priorities, "NORMAL:-VERS-ALL:+VERS-TLS1.3");
	assert_int_equal(c->nusers, 2);
	assert_string_equal(c->users[1].name, "bob smith");
	assert_int_equal(c->nheaders, 1);
	assert_string_equal(c->headers[0].name, "X-Frame-Options");
	assert_string_equal(c->headers[0].value, "deny");
	assert_true(wc_check_basic(c, "alice", "s3cret"));
	assert_true(wc_check_basic(c, "alice", "s3cret")); /* cached */
	assert_false(wc_check_basic(c, "alice", "s3cret "));
	assert_false(wc_check_basic(c, "alice", ""));
	assert_false(wc_check_basic(c, "bob smith", "s3cret"));
	assert_true(wc_check_basic(c, "bob smith", "other pass"));
	assert_false(wc_check_basic(c, "mallory", "s3cret"));
	wc_free(c);

	/* empty and minimal files */
	c = wc_parse("", "w.yml", err, sizeof(err));
	assert_non_null(c);
	assert_null(c->cert_file);
	assert_int_equal(c->nusers, 0);
	wc_free(c);
	c = wc_parse("basic_auth_users: {}\ntls_server_config:\n", "w.yml", err, sizeof(err));
	assert_non_null(c);
	wc_free(c);
	c = wc_parse("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n", "w.yml", err,
		     sizeof(err));
	assert_non_null(c);
	assert_string_equal(c->cert_file, "a.crt");
	assert_string_equal(c->priorities, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2");
	wc_free(c);
}

static void test_web_config_errors(void **state)
{
	static const struct {
		const char *yaml, *want;
	} cases[] = {
	    {"basic_auth_users:\n  alice: plaintext\n",
	     "w.yml:2: basic_auth_users.alice: not a bcrypt"},
	    {"tls_server_config:\n  cert_file: a\n", "w.yml:1: tls_server_config needs both"},
	    {"tls_server_config:\n  client_ca_file: ca.pem\n",
	     "w.yml:2: tls_server_config.client_ca_file is not supported"},
	    {"tls_server_config:\n  client_auth_type: RequireAndVerifyClientCert\n",
	     "w.yml:2: tls_server_config.client_auth_type RequireAndVerifyClientCert is not "
	     "supported"},
	    {"tls_server_config:\n  cipher_suites:\n    - TLS_AES_128_GCM_SHA256\n",
	     "w.yml:3: sequences are not supported"},
	    {"tls_server_config:\n  min_version: TLS14\n",
	     "w.yml:2: tls_server_config.min_version: 'TLS14'"},
	    {"tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n  "
	     "max_version: TLS12\n",
	     "min_version is above max_version"},
	    {"foo: 1\n", "w.yml:1: foo must be a mapping"},
	    {"foo:\n  bar: 1\n", "w.yml:1: unknown key foo"},
	    {"tls_server_config:\n\tcert_file: x\n", "w.yml:2: tab in indentation"},
	    {"basic_auth_users:\n  alice: &anchor x\n",
	     "w.yml:2: anchors and aliases are not supported"},
	    {"basic_auth_users:\n  alice: |\n    x\n", "w.yml:2: block scalars are not supported"},
	    {"basic_auth_users:\n  alice: [a, b]\n", "w.yml:2: flow collections are not supported"},
	    {"basic_auth_users:\n  a: \"x\n", "w.yml:2: unterminated double-quoted string"},
	    {"tls_server_config:\n    cert_file: a\n  key_file: b\n",
	     "w.yml:3: indentation does not match"},
	    {"tls_server_config:\n  cert_file: a\n  cert_file: b\n",
	     "w.yml:3: duplicate key 'cert_file'"},
	    {"http_server_config:\n  headers:\n    X-Custom: 1\n",
	     "w.yml:3: http_server_config.headers: X-Custom is not one"},
	    {"http_server_config:\n  http2: maybe\n",
	     "w.yml:2: http_server_config.http2 takes true or false"},
	    {"basic_auth_users:\n  alice\n", "w.yml:2: expected 'key: value'"},
	    {"---\na: 1\n---\nb: 2\n", "w.yml:3: more than one YAML document"},
	    {"tls_server_config: x\n", "w.yml:1: tls_server_config must be a mapping"},
	    {"  basic_auth_users:\n bob: x\n", "w.yml:2: indentation does not match"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[512] = "";
		struct wc_config *c = wc_parse(cases[i].yaml, "w.yml", err, sizeof(err));

		if (c || !strstr(err, cases[i].want))
			fail_msg("case %zu: want '%s', got %s '%s'", i, cases[i].want,
				 c ? "a config" : "error", err);
		assert_null(strchr(err, '\n')); /* one line */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_histogram),
	    cmocka_unit_test(test_sweep_drop_snapshot),
	    cmocka_unit_test(test_gzip),
	    cmocka_unit_test(test_live_progression),
	    cmocka_unit_test(test_bounded),
	    cmocka_unit_test(test_milestone_times),
	    cmocka_unit_test(test_replay_equals_live),
	    cmocka_unit_test(test_web_config),
	    cmocka_unit_test(test_web_config_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
