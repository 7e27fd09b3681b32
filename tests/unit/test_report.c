// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reports: the JSON document is parsed back with a strict parser (below) and
 * its contract keys checked; the text report is checked for its figures and
 * its alignment; the JSON writer for escaping and nesting.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "catalog.h"
#include "json_writer.h"
#include "report.h"
#include "timeline.h"
#include "feed.h"

/* ------------------------------------------------------------------ */
/* a strict JSON parser, enough to read the reports back */

enum jt { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jt t;
	bool b;
	double num;
	char *raw; /* number text as written */
	char *s;
	size_t n;
	char **keys;
	struct jv **items;
};

struct jp {
	const char *p;
	bool err;
};

static struct jv *jv_new(enum jt t)
{
	struct jv *v = calloc(1, sizeof(*v));

	assert_non_null(v);
	v->t = t;
	return v;
}

static void jv_free(struct jv *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++) {
		if (v->keys)
			free(v->keys[i]);
		jv_free(v->items[i]);
	}
	free(v->keys);
	free(v->items);
	free(v->s);
	free(v->raw);
	free(v);
}

static void ws(struct jp *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

static struct jv *parse_value(struct jp *j);

static void put_utf8(char **o, unsigned int cp)
{
	char *q = *o;

	if (cp < 0x80) {
		*q++ = (char)cp;
	} else if (cp < 0x800) {
		*q++ = (char)(0xc0 | cp >> 6);
		*q++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*q++ = (char)(0xe0 | cp >> 12);
		*q++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*q++ = (char)(0x80 | (cp & 0x3f));
	}
	*o = q;
}

static char *parse_string(struct jp *j)
{
	char *out, *o;

	if (*j->p != '"') {
		j->err = true;
		return NULL;
	}
	j->p++;
	out = o = malloc(strlen(j->p) * 3 + 1);
	assert_non_null(out);
	while (*j->p && *j->p != '"') {
		unsigned char c = (unsigned char)*j->p;

		if (c < 0x20) {
			j->err = true; /* raw control character */
			break;
		}
		if (c != '\\') {
			*o++ = *j->p++;
			continue;
		}
		j->p++;
		switch (*j->p) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u': {
			unsigned int cp = 0;

			for (int i = 1; i <= 4; i++) {
				char h = j->p[i];

				cp <<= 4;
				if (h >= '0' && h <= '9')
					cp |= (unsigned int)(h - '0');
				else if (h >= 'a' && h <= 'f')
					cp |= (unsigned int)(h - 'a' + 10);
				else if (h >= 'A' && h <= 'F')
					cp |= (unsigned int)(h - 'A' + 10);
				else
					j->err = true;
			}
			j->p += 4;
			put_utf8(&o, cp);
			break;
		}
		default: j->err = true;
		}
		j->p++;
	}
	if (*j->p != '"')
		j->err = true;
	else
		j->p++;
	*o = '\0';
	return out;
}

static struct jv *parse_number(struct jp *j)
{
	const char *s = j->p;
	struct jv *v;

	if (*j->p == '-')
		j->p++;
	if (*j->p == '0') {
		j->p++;
	} else if (*j->p >= '1' && *j->p <= '9') {
		while (*j->p >= '0' && *j->p <= '9')
			j->p++;
	} else {
		j->err = true;
		return NULL;
	}
	if (*j->p == '.') {
		j->p++;
		if (!(*j->p >= '0' && *j->p <= '9'))
			j->err = true;
		while (*j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (*j->p == 'e' || *j->p == 'E') {
		j->p++;
		if (*j->p == '+' || *j->p == '-')
			j->p++;
		if (!(*j->p >= '0' && *j->p <= '9'))
			j->err = true;
		while (*j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	v = jv_new(J_NUM);
	v->raw = strndup(s, (size_t)(j->p - s));
	v->num = strtod(v->raw, NULL);
	return v;
}

static void jv_push(struct jv *v, char *key, struct jv *item)
{
	v->items = realloc(v->items, (v->n + 1) * sizeof(*v->items));
	assert_non_null(v->items);
	if (v->t == J_OBJ) {
		v->keys = realloc(v->keys, (v->n + 1) * sizeof(*v->keys));
		assert_non_null(v->keys);
		v->keys[v->n] = key;
	}
	v->items[v->n++] = item;
}

static struct jv *parse_value(struct jp *j)
{
	struct jv *v;

	ws(j);
	if (j->err)
		return NULL;
	switch (*j->p) {
	case '{':
		v = jv_new(J_OBJ);
		j->p++;
		ws(j);
		if (*j->p == '}') {
			j->p++;
			return v;
		}
		for (;;) {
			char *k;

			ws(j);
			k = parse_string(j);
			ws(j);
			if (*j->p != ':')
				j->err = true;
			else
				j->p++;
			jv_push(v, k, parse_value(j));
			if (j->err)
				return v;
			ws(j);
			if (*j->p == ',') {
				j->p++;
				continue;
			}
			if (*j->p == '}') {
				j->p++;
				return v;
			}
			j->err = true;
			return v;
		}
	case '[':
		v = jv_new(J_ARR);
		j->p++;
		ws(j);
		if (*j->p == ']') {
			j->p++;
			return v;
		}
		for (;;) {
			jv_push(v, NULL, parse_value(j));
			if (j->err)
				return v;
			ws(j);
			if (*j->p == ',') {
				j->p++;
				continue;
			}
			if (*j->p == ']') {
				j->p++;
				return v;
			}
			j->err = true;
			return v;
		}
	case '"':
		v = jv_new(J_STR);
		v->s = parse_string(j);
		return v;
	case 't':
	case 'f':
		v = jv_new(J_BOOL);
		v->b = *j->p == 't';
		if (strncmp(j->p, v->b ? "true" : "false", v->b ? 4 : 5))
			j->err = true;
		j->p += v->b ? 4 : 5;
		return v;
	case 'n':
		if (strncmp(j->p, "null", 4))
			j->err = true;
		j->p += 4;
		return jv_new(J_NULL);
	default: return parse_number(j);
	}
}

/* Parses a whole document; fails the test on any syntax error. */
static struct jv *json_parse(const char *text)
{
	struct jp j = {.p = text};
	struct jv *v = parse_value(&j);

	ws(&j);
	if (j.err || *j.p) {
		jv_free(v);
		fail_msg("invalid JSON near: %.60s", j.p);
	}
	return v;
}

/* Path lookup: "migrations[1].devices[0].name". NULL if missing. */
static struct jv *jget(struct jv *v, const char *path)
{
	char key[128];

	while (v && *path) {
		if (*path == '.')
			path++;
		if (*path == '[') {
			size_t i = strtoul(path + 1, (char **)&path, 10);

			if (*path++ != ']' || v->t != J_ARR || i >= v->n)
				return NULL;
			v = v->items[i];
			continue;
		}
		size_t n = strcspn(path, ".[");

		assert_true(n < sizeof(key));
		memcpy(key, path, n);
		key[n] = '\0';
		path += n;
		if (v->t != J_OBJ)
			return NULL;
		struct jv *found = NULL;

		for (size_t i = 0; i < v->n; i++)
			if (strcmp(v->keys[i], key) == 0)
				found = v->items[i];
		v = found;
	}
	return v;
}

static struct jv *jreq(struct jv *root, const char *path, enum jt t)
{
	struct jv *v = jget(root, path);

	if (!v)
		fail_msg("missing key %s", path);
	if (v->t != t)
		fail_msg("%s: type %d, want %d", path, v->t, t);
	return v;
}

static void jnull(struct jv *root, const char *path)
{
	jreq(root, path, J_NULL);
}

static double jnum(struct jv *root, const char *path)
{
	return jreq(root, path, J_NUM)->num;
}

static const char *jstr(struct jv *root, const char *path)
{
	return jreq(root, path, J_STR)->s;
}

static bool jbool(struct jv *root, const char *path)
{
	return jreq(root, path, J_BOOL)->b;
}

/* ------------------------------------------------------------------ */
/* record builders (the same shape as in test_timeline.c) */

#define SRC  100
#define DST  200
#define UUID "6f1c3b1e-1111-2222-3333-444455556666"

/*
 * A source (pid 100) and a destination (pid 200) of one VM, fed in time
 * order. Source: setup 0, active 2, ACK 70, ready 50.1, downtime 81..95,
 * vm stopped 86, completed 96. Destination: setup -1, active 2.5, one device
 * to approve (INIT_DATA_SENT 60, approval 60.5), ACK sent 69.9, vm started
 * 103, completed 104.
 */
static struct tl *pair_tl(void)
{
	struct tl *tl = tl_new();

	assert_non_null(tl);
	proc(tl, DST, AT(-5), "guest \"one\"", UUID, true);
	proc(tl, SRC, AT(-4), "guest \"one\"", UUID, false);
	usdt(tl, DST, AT(-1), MS_P_MIGRATE_SET_STATE, "setup");
	usdt(tl, SRC, AT(0), MS_P_MIGRATE_SET_STATE, "setup");
	usdt(tl, SRC, AT(0.9), MS_P_VFIO_MIGRATION_SET_STATE, DEV, "PRE_COPY", "RUNNING");
	feed_ioctl_set(tl, SRC, AT(1), 30, MS_VFIO_PRE_COPY, MSF(0.25)); /* stamped at its start */
	usdt(tl, SRC, AT(1.5), MS_P_VFIO_SAVE_SETUP, DEV, V(4096));
	usdt(tl, SRC, AT(1.6), MS_P_VFIO_SAVE_ITERATE, DEV, V(1000), V(0));
	usdt(tl, SRC, AT(2), MS_P_MIGRATE_SET_STATE, "active");
	usdt(tl, DST, AT(2.5), MS_P_MIGRATE_SET_STATE, "active");
	usdt(tl, DST, AT(3), MS_P_LOADVM_STATE_SWITCHOVER_ACK_NEEDED, V(1));
	usdt(tl, SRC, AT(10), MS_P_MIGRATION_BITMAP_SYNC_END, V(10));
	usdt(tl, SRC, AT(20), MS_P_MIGRATE_TRANSFERRED, V(1), V(1), V(1000), V(1000), V(5000));
	usdt(tl, SRC, AT(40), MS_P_VFIO_SAVE_ITERATE, DEV, V(0), V(0));
	usdt(tl, SRC, AT(50), MS_P_MIGRATE_PENDING_ESTIMATE, V(4000), V(4000), V(0));
	usdt(tl, SRC, AT(50.1), MS_P_MIGRATE_PENDING_EXACT, V(3000), V(3000), V(0));
	usdt(tl, DST, AT(30), MS_P_VFIO_LOAD_STATE_DEVICE_DATA, DEV, V(1000), V(0));
	usdt(tl, DST, AT(60), MS_P_VFIO_LOAD_STATE, DEV, V(MS_VFIO_MIG_FLAG_DEV_INIT_DATA_SENT));
	usdt(tl, SRC, AT(60.2), MS_P_MIGRATE_PENDING_ESTIMATE, V(3500), V(3500), V(0));
	usdt(tl, DST, AT(60.5), MS_P_LOADVM_APPROVE_SWITCHOVER, V(0));
	usdt(tl, DST, AT(69.9), MS_P_MIGRATE_SEND_RP_MESSAGE, V(7), V(0));
	usdt(tl, SRC, AT(70), MS_P_SOURCE_RETURN_PATH_THREAD_SWITCHOVER_ACKED);
	usdt(tl, SRC, AT(80), MS_P_MIGRATE_PENDING_ESTIMATE, V(3000), V(3000), V(0));
	usdt(tl, SRC, AT(80.05), MS_P_VFIO_STATE_PENDING_EXACT, DEV, V(1), V(0), V(8888), V(0),
	     V(0));
	usdt(tl, SRC, AT(80.1), MS_P_MIGRATE_PENDING_EXACT, V(2500), V(2500), V(0));
	usdt(tl, SRC, AT(80.2), MS_P_MIGRATION_THREAD_LOW_PENDING, V(2500));
	usdt(tl, SRC, AT(81), MS_P_VMSTATE_DOWNTIME_CHECKPOINT, "src-downtime-start");
	usdt(tl, SRC, AT(81.9), MS_P_VFIO_MIGRATION_SET_STATE, DEV, "STOP_COPY", "STOP");
	feed_ioctl_set(tl, SRC, AT(82), 30, MS_VFIO_STOP_COPY, MSF(3));
	usdt(tl, SRC, AT(86), MS_P_VMSTATE_DOWNTIME_CHECKPOINT, "src-vm-stopped");
	usdt(tl, SRC, AT(87), MS_P_VFIO_SAVE_BLOCK, DEV, V(4444));
	usdt(tl, SRC, AT(89), MS_P_VMSTATE_DOWNTIME_SAVE, "iterable", DEV "/vfio", V(0), V(2000));
	usdt(tl, SRC, AT(90), MS_P_VMSTATE_DOWNTIME_CHECKPOINT, "src-iterable-saved");
	usdt(tl, SRC, AT(92), MS_P_VMSTATE_DOWNTIME_CHECKPOINT, "src-non-iterable-saved");
	usdt(tl, SRC, AT(95), MS_P_VMSTATE_DOWNTIME_CHECKPOINT, "src-downtime-end");
	usdt(tl, SRC, AT(96), MS_P_MIGRATE_SET_STATE, "completed");
	usdt(tl, DST, AT(98), MS_P_VMSTATE_DOWNTIME_LOAD, "iterable", DEV "/vfio", V(0), V(1500));
	usdt(tl, DST, AT(100), MS_P_VMSTATE_DOWNTIME_CHECKPOINT, "dst-precopy-loadvm-completed");
	usdt(tl, DST, AT(103), MS_P_VMSTATE_DOWNTIME_CHECKPOINT, "dst-precopy-bh-vm-started");
	usdt(tl, DST, AT(104), MS_P_MIGRATE_SET_STATE, "completed");
	tl_finish(tl, AT(200));
	return tl;
}

/* A report into a string. */
static char *render(const struct tl *tl, const struct report_opts *o, bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(json ? report_json(f, tl, o) : report_text(f, tl, o), 0);
	fclose(f);
	return buf;
}

/* ------------------------------------------------------------------ */
/* JSON report */

static void test_json_contract(void **state)
{
	struct tl *tl = pair_tl();
	struct report_opts o = {.pretty = true};
	char *txt = render(tl, &o, true);
	struct jv *j = json_parse(txt);

	assert_int_equal(jreq(j, "migrations", J_ARR)->n, 2);
	/* destination started first (it listens), so it is index 0 */
	assert_string_equal(jstr(j, "migrations[0].role"), "destination");
	assert_string_equal(jstr(j, "migrations[1].role"), "source");
	assert_int_equal(jnum(j, "migrations[1].pid"), SRC);
	assert_string_equal(jstr(j, "migrations[1].vm"), "guest \"one\"");
	assert_string_equal(jstr(j, "migrations[1].uuid"), UUID);
	assert_string_equal(jstr(j, "migrations[1].result"), "completed");
	assert_false(jbool(j, "migrations[1].incomplete"));
	assert_string_equal(jreq(j, "migrations[1].total_ms", J_NUM)->raw, "96.000000");
	assert_string_equal(jreq(j, "migrations[1].downtime_ms", J_NUM)->raw, "14.000000");
	assert_string_equal(jreq(j, "migrations[1].precopy_ms", J_NUM)->raw, "79.000000");
	assert_int_equal(jnum(j, "migrations[1].start_ns"), AT(0));
	assert_int_equal(jnum(j, "migrations[1].precopy_passes"), 1);

	/* switchover ack, source */
	assert_true(jbool(j, "migrations[1].switchover_ack.enabled"));
	assert_true(jbool(j, "migrations[1].switchover_ack.acked"));
	assert_int_equal(jnum(j, "migrations[1].switchover_ack.pending_initial"), 1);
	assert_string_equal(jreq(j, "migrations[1].switchover_ack.ack_latency_ms", J_NUM)->raw,
			    "68.000000");
	assert_string_equal(jreq(j, "migrations[1].switchover_ack.ack_wait_ms", J_NUM)->raw,
			    "19.900000");

	/* devices */
	assert_int_equal(jreq(j, "migrations[1].devices", J_ARR)->n, 1);
	assert_string_equal(jstr(j, "migrations[1].devices[0].name"), DEV);
	assert_int_equal(jnum(j, "migrations[1].devices[0].initial_bytes"), 1000);
	assert_string_equal(jreq(j, "migrations[1].devices[0].init_drain_ms", J_NUM)->raw,
			    "38.500000");
	assert_int_equal(jnum(j, "migrations[1].devices[0].stopcopy_bytes"), 8888);
	assert_int_equal(jnum(j, "migrations[1].devices[0].save_us"), 2000);
	jnull(j, "migrations[1].devices[0].load_us");
	assert_int_equal(jnum(j, "migrations[0].devices[0].load_us"), 1500);
	jnull(j, "migrations[0].devices[0].save_us");
	assert_string_equal(jreq(j, "migrations[0].devices[0].approval_latency_ms", J_NUM)->raw,
			    "0.500000");
	assert_int_equal(jnum(j, "migrations[1].devices[0].stopcopy_read_bytes"), 4444);
	assert_int_equal(jnum(j, "migrations[0].devices[0].initial_bytes"), 1000);
	assert_int_equal(jnum(j, "migrations[0].devices[0].stopcopy_bytes"), 4444);
	jnull(j, "migrations[0].devices[0].init_drain_ms");

	/* destination: QEMU downtime and convergence are source figures */
	jnull(j, "migrations[0].downtime_ms");
	jnull(j, "migrations[0].convergence");
	assert_int_equal(jnum(j, "migrations[1].convergence.iterations"), 3);
	assert_int_equal(jreq(j, "migrations[1].convergence.series", J_ARR)->n, 3);
	assert_int_equal(jnum(j, "migrations[1].convergence.series[0].exact"), 3000);
	jnull(j, "migrations[1].convergence.series[1].exact");
	assert_string_equal(jreq(j, "migrations[1].convergence.predicted_downtime_ms", J_NUM)->raw,
			    "2.500000");
	jnull(j, "migrations[0].precopy_ms");
	jnull(j, "migrations[0].switchover_ack.ack_wait_ms");
	jnull(j, "migrations[0].switchover_ack.ack_latency_ms");
	assert_string_equal(jreq(j, "migrations[0].switchover_ack.ack_sent_ms", J_NUM)->raw,
			    "67.400000"); /* 69.9 - active 2.5 */
	jnull(j, "migrations[1].switchover_ack.ack_sent_ms");
	assert_int_equal(jnum(j, "migrations[0].switchover_ack.pending_initial"), 1);
	assert_int_equal(jnum(j, "migrations[0].switchover_ack.approvals[0].pending"), 0);
	assert_string_equal(jstr(j, "migrations[0].switchover_ack.approvals[0].device"), DEV);

	/* milestones: ns relative to start, the terminal one named by the result */
	assert_int_equal(jnum(j, "migrations[1].milestones.setup"), 0);
	assert_int_equal(jnum(j, "migrations[1].milestones.active"), 2000000);
	assert_int_equal(jnum(j, "migrations[1].milestones.ready"), 50100000);
	assert_int_equal(jnum(j, "migrations[1].milestones.completed"), 96000000);
	jnull(j, "migrations[1].milestones.return-path-open");
	assert_null(jget(j, "migrations[1].milestones.ack-sent")); /* other side's */
	assert_int_equal(jnum(j, "migrations[0].milestones.ack-sent"), 70900000);

	/* transitions and breakdown */
	assert_int_equal(jreq(j, "migrations[1].transitions", J_ARR)->n, 2);
	assert_string_equal(jstr(j, "migrations[1].transitions[1].from"), "PRE_COPY");
	assert_string_equal(jstr(j, "migrations[1].transitions[1].to"), "STOP_COPY");
	assert_string_equal(jreq(j, "migrations[1].transitions[1].dur_ms", J_NUM)->raw, "3.000000");
	assert_int_equal(jnum(j, "migrations[1].transitions[1].at_ns"), MSI(82));
	jnull(j, "migrations[1].transitions[0].from");
	assert_string_equal(jreq(j, "migrations[1].downtime_breakdown.stop_ms", J_NUM)->raw,
			    "5.000000");
	assert_string_equal(
	    jreq(j, "migrations[1].downtime_breakdown.transfer_load_ms", J_NUM)->raw, "8.000000");

	/* pairs */
	assert_int_equal(jreq(j, "pairs", J_ARR)->n, 1);
	assert_string_equal(jstr(j, "pairs[0].vm"), "guest \"one\"");
	assert_int_equal(jnum(j, "pairs[0].source"), 1);
	assert_int_equal(jnum(j, "pairs[0].destination"), 0);
	assert_string_equal(jreq(j, "pairs[0].guest_downtime_ms", J_NUM)->raw, "17.000000");
	assert_string_equal(jreq(j, "pairs[0].ack_transit_ms", J_NUM)->raw, "0.100000");

	/* accounting */
	assert_int_equal(jnum(j, "events_by_probe.migrate_set_state"), 6);
	assert_int_equal(jnum(j, "events_by_probe.loadvm_approve_switchover"), 1);
	assert_int_equal(jnum(j, "events_by_probe.postcopy_start"), 0);
	assert_int_equal(jnum(j, "lost_records"), 0);
	jnull(j, "input_error");
	assert_true(jbool(j, "single_clock"));

	jv_free(j);
	free(txt);
	tl_free(tl);
}

static void test_json_nulls_for_absent(void **state)
{
	struct tl *tl = tl_new();
	struct report_opts o = {.lost = 3, .input_error = "file truncated at byte 4096"};
	union ms_rec lost;
	char *txt;
	struct jv *j;

	/* an active source with an unreadable identity, events lost inside */
	usdt(tl, SRC, AT(0), MS_P_MIGRATE_SET_STATE, "setup");
	usdt(tl, SRC, AT(1), MS_P_MIGRATE_SET_STATE, "active");
	usdt(tl, SRC, AT(2), MS_P_MIGRATE_TRANSFERRED, V(1), V(1), V(1000), V(1000), V(5000));
	usdt(tl, SRC, AT(3), MS_P_VFIO_SAVE_SETUP, DEV, V(4096));
	usdt(tl, SRC, AT(4), MS_P_MIGRATE_PENDING_ESTIMATE, V(100), V(100), V(0));
	usdt(tl, SRC, AT(4.1), MS_P_MIGRATE_PENDING_EXACT, V(90), V(90), V(0));
	usdt(tl, SRC, AT(5), MS_P_VFIO_SAVE_ITERATE, DEV, V(0), V(0));
	memset(&lost, 0, sizeof(lost));
	lost.h.kind = MS_EV_LOST;
	lost.h.ts = AT(6);
	lost.lost.count = 2;
	tl_feed(tl, &lost);
	tl_finish(tl, AT(10));

	txt = render(tl, &o, true);
	j = json_parse(txt);
	assert_string_equal(jstr(j, "migrations[0].result"), "active");
	assert_true(jbool(j, "migrations[0].incomplete"));
	jnull(j, "migrations[0].vm");
	jnull(j, "migrations[0].uuid");
	jnull(j, "migrations[0].total_ms");
	jnull(j, "migrations[0].downtime_ms");
	jnull(j, "migrations[0].precopy_ms");
	jnull(j, "migrations[0].precopy_passes");
	jnull(j, "migrations[0].switchover_ack.ack_wait_ms");
	jnull(j, "migrations[0].switchover_ack.ack_latency_ms");
	jnull(j, "migrations[0].switchover_ack.pending_initial");
	jnull(j, "migrations[0].switchover_ack.acked"); /* lost: cannot say no */
	jnull(j, "migrations[0].milestones.ready");
	jnull(j, "migrations[0].devices[0].initial_bytes");
	jnull(j, "migrations[0].devices[0].init_drain_ms");
	jnull(j, "migrations[0].devices[0].stopcopy_bytes");
	jnull(j, "migrations[0].devices[0].save_us");
	assert_string_equal(jreq(j, "migrations[0].elapsed_ms", J_NUM)->raw, "10.000000");
	assert_int_equal(jreq(j, "pairs", J_ARR)->n, 0);
	/* the larger of the source's and the engine's count */
	assert_int_equal(jnum(j, "lost_records"), 3);
	assert_string_equal(jstr(j, "input_error"), "file truncated at byte 4096");
	jv_free(j);
	free(txt);

	/* compact output parses the same */
	txt = render(tl, NULL, true);
	assert_true(strchr(txt, '\n') == txt + strlen(txt) - 1); /* one line */
	j = json_parse(txt);
	assert_int_equal(jnum(j, "lost_records"), 2);
	jv_free(j);
	free(txt);
	tl_free(tl);
}

/* A QEMU 8.2.0 binary (every catalog probe attached but those 8.2 lacks):
 * the figures it cannot give are named with the reason; a device whose state
 * went over multifd has its multifd object, another has null. */
static void test_json_unavailable_and_multifd(void **state)
{
	static const unsigned int absent[] = {
	    MS_P_MIGRATE_ERROR,
	    MS_P_MIGRATION_CANCEL,
	    MS_P_MIGRATE_FD_CANCEL,
	    MS_P_SAVEVM_SEND_SWITCHOVER_START,
	    MS_P_MIGRATION_PRECOPY_COMPLETE,
	    MS_P_VFIO_SAVE_COMPLETE_PRECOPY_START,
	};
	struct tl *tl = tl_new();
	union ms_rec r;
	char *txt;
	struct jv *j;

	memset(&r, 0, sizeof(r));
	r.h.kind = MS_EV_PROC;
	r.h.pid = r.h.tid = SRC;
	r.h.ts = AT(-1);
	snprintf(r.proc.vm, sizeof(r.proc.vm), "guest1");
	r.proc.qemu_version = 80200;
	for (unsigned int id = MS_P_NONE + 1; id < MS_P_COUNT; id++)
		r.proc.probes_present[id / 64] |= 1ULL << (id % 64);
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		r.proc.probes_present[absent[i] / 64] &= ~(1ULL << (absent[i] % 64));
	tl_feed(tl, &r);
	usdt(tl, SRC, AT(0), MS_P_MIGRATE_SET_STATE, "setup");
	usdt(tl, SRC, AT(1), MS_P_VFIO_SAVE_SETUP, DEV, V(4096));
	usdt(tl, SRC, AT(1.1), MS_P_VFIO_SAVE_SETUP, "0000:00:06.0", V(4096));
	usdt(tl, SRC, AT(2), MS_P_MIGRATE_SET_STATE, "active");
	usdt(tl, SRC, AT(20), MS_P_VFIO_SAVE_COMPLETE_PRECOPY_THREAD_START, DEV, DEV "/vfio", V(0));
	usdt(tl, SRC, AT(22.5), MS_P_VFIO_SAVE_COMPLETE_PRECOPY_THREAD_END, DEV, V(1));
	usdt(tl, SRC, AT(30), MS_P_MIGRATE_SET_STATE, "completed");
	tl_finish(tl, AT(40));

	txt = render(tl, NULL, true);
	j = json_parse(txt);
	assert_string_equal(jstr(j, "migrations[0].qemu_version"), "8.2.0");
	assert_string_equal(jstr(j, "migrations[0].unavailable.error"),
			    "QEMU 8.2.0 has no migrate_error probe (QEMU 9.1+)");
	/* keys with dots: looked up in the object itself */
	struct jv *un = jreq(j, "migrations[0].unavailable", J_OBJ);
	const char *sw = NULL, *cancel = NULL;

	for (size_t i = 0; i < un->n; i++) {
		if (!strcmp(un->keys[i], "milestones.switchover-start"))
			sw = un->items[i]->s;
		if (!strcmp(un->keys[i], "milestones.cancel"))
			cancel = un->items[i]->s;
	}
	assert_non_null(sw);
	assert_string_equal(sw,
			    "QEMU 8.2.0 has no savevm_send_switchover_start probe (QEMU 10.0+)");
	/* the cancel figure needs either name: 8.2 has neither here */
	assert_non_null(cancel);
	/* what the binary gives is not listed */
	assert_null(jget(j, "migrations[0].unavailable.downtime_ms"));
	assert_null(jget(j, "migrations[0].unavailable.clock_offset_ms"));
	assert_string_equal(jstr(j, "migrations[0].devices[0].name"), DEV);
	assert_true(jnum(j, "migrations[0].devices[0].multifd.save_thread_ms") == 2.5);
	assert_true(jbool(j, "migrations[0].devices[0].multifd.saved"));
	assert_int_equal(jnum(j, "migrations[0].devices[0].save_us"), 2500);
	assert_null(jget(j, "migrations[0].devices[0].multifd.packets_in"));
	jnull(j, "migrations[0].devices[1].multifd");
	jv_free(j);
	free(txt);
	tl_free(tl);
}

static void test_json_stall(void **state)
{
	struct tl *tl = tl_new();
	char *txt;
	struct jv *j;

	tl_set_stall_window(tl, (uint64_t)MSI(1000));
	usdt(tl, SRC, AT(0), MS_P_MIGRATE_SET_STATE, "setup");
	usdt(tl, SRC, AT(0.5), MS_P_VFIO_SAVE_SETUP, DEV, V(4096));
	usdt(tl, SRC, AT(0.6), MS_P_VFIO_SAVE_ITERATE, DEV, V(5000), V(0));
	usdt(tl, SRC, AT(1), MS_P_MIGRATE_SET_STATE, "active");
	usdt(tl, SRC, AT(2), MS_P_MIGRATE_TRANSFERRED, V(1), V(1), V(1000), V(1000), V(5000));
	for (int i = 0; i < 30; i++)
		usdt(tl, SRC, AT(100 + 100 * i), MS_P_MIGRATE_PENDING_ESTIMATE, V(90000), V(0),
		     V(0));
	tl_finish(tl, AT(3000));
	txt = render(tl, NULL, true);
	j = json_parse(txt);
	assert_true(jbool(j, "migrations[0].stall.stalled_now"));
	assert_string_equal(jstr(j, "migrations[0].stall.reason"), "above-threshold");
	assert_int_equal(jnum(j, "migrations[0].stall.first_ns"), MSI(1100));
	assert_string_equal(jstr(j, "migrations[0].stall.devices_not_drained[0]"), DEV);
	jnull(j, "migrations[0].stall.devices_not_approved");
	assert_string_equal(jstr(j, "migrations[0].phase"), "precopy");
	jv_free(j);
	free(txt);
	txt = render(tl, NULL, false);
	assert_non_null(strstr(txt, "stall: stalled since +100.000 ms (above-threshold); not "
				    "drained: " DEV));
	free(txt);
	tl_free(tl);
}

static void test_json_empty(void **state)
{
	struct tl *tl = tl_new();
	char *txt = render(tl, NULL, true);
	struct jv *j = json_parse(txt);

	assert_int_equal(jreq(j, "migrations", J_ARR)->n, 0);
	assert_int_equal(jreq(j, "pairs", J_ARR)->n, 0);
	assert_int_equal(jnum(j, "records"), 0);
	jv_free(j);
	free(txt);
	tl_free(tl);
}

static void test_json_write_error(void **state)
{
	struct tl *tl = pair_tl();
	FILE *f = fopen("/dev/full", "w");

	if (!f)
		skip();
	setvbuf(f, NULL, _IONBF, 0);
	assert_int_equal(report_json(f, tl, NULL), -EIO);
	assert_int_equal(report_text(f, tl, NULL), -EIO);
	fclose(f);
	tl_free(tl);
}

/* ------------------------------------------------------------------ */
/* JSON writer */

static char *jw_run(void (*fn)(json_writer_t *), bool pretty, int *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_writer_t *w = jsonw_new(f);

	jsonw_pretty(w, pretty);
	fn(w);
	*err = jsonw_error(w);
	jsonw_destroy(&w);
	assert_null(w);
	fclose(f);
	return buf;
}

static void jw_strings(json_writer_t *w)
{
	jsonw_start_object(w);
	jsonw_string_field(w, "quote", "a\"b\\c/d");
	jsonw_string_field(w, "ctl", "x\n\t\x01y");
	jsonw_string_field(w, "utf8", "caf\xc3\xa9");
	jsonw_string_field(w, "cut", "ab\xc3"); /* a name cut mid-character */
	jsonw_string_field(w, "bad", "\xff\xc0\xaf");
	jsonw_float_field(w, "inf", 1.0 / 0.0);
	jsonw_float_field(w, "half", 0.5);
	jsonw_int_field(w, "neg", -42);
	jsonw_uint_field(w, "big", UINT64_MAX);
	jsonw_null_field(w, "none");
	jsonw_name(w, "arr");
	jsonw_start_array(w);
	jsonw_bool(w, true);
	jsonw_start_object(w);
	jsonw_end_object(w);
	jsonw_start_array(w);
	jsonw_end_array(w);
	jsonw_printf(w, "%d.%03d", 1, 5);
	jsonw_end_array(w);
	jsonw_end_object(w);
}

static void test_json_writer_escaping(void **state)
{
	for (int pretty = 0; pretty < 2; pretty++) {
		int err;
		char *txt = jw_run(jw_strings, pretty, &err);
		struct jv *j = json_parse(txt);

		assert_int_equal(err, 0);
		assert_string_equal(jstr(j, "quote"), "a\"b\\c/d");
		assert_string_equal(jstr(j, "ctl"), "x\n\t\x01y");
		assert_string_equal(jstr(j, "utf8"), "caf\xc3\xa9");
		assert_string_equal(jstr(j, "cut"), "ab\xef\xbf\xbd"); /* U+FFFD */
		assert_string_equal(jstr(j, "bad"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
		jnull(j, "inf");
		assert_true(jnum(j, "half") == 0.5);
		assert_true(jnum(j, "neg") == -42);
		assert_string_equal(jreq(j, "big", J_NUM)->raw, "18446744073709551615");
		jnull(j, "none");
		assert_int_equal(jreq(j, "arr", J_ARR)->n, 4);
		assert_int_equal(jreq(j, "arr[1]", J_OBJ)->n, 0);
		assert_string_equal(jreq(j, "arr[3]", J_NUM)->raw, "1.005");
		/* pretty output is indented, compact is one line */
		assert_true(pretty ? strstr(txt, "\n    \"quote\": ") != NULL
				   : strchr(txt, '\n') == txt + strlen(txt) - 1);
		jv_free(j);
		free(txt);
	}
}

static void jw_misuse_name_outside(json_writer_t *w)
{
	jsonw_start_array(w);
	jsonw_name(w, "x");
	jsonw_null(w);
	jsonw_end_array(w);
}

static void jw_misuse_unbalanced(json_writer_t *w)
{
	jsonw_start_object(w);
	jsonw_end_array(w);
}

static void jw_misuse_value_without_name(json_writer_t *w)
{
	jsonw_start_object(w);
	jsonw_uint(w, 1);
	jsonw_end_object(w);
}

static void jw_misuse_left_open(json_writer_t *w)
{
	jsonw_start_object(w);
}

static void test_json_writer_misuse(void **state)
{
	void (*cases[])(json_writer_t *) = {
	    jw_misuse_name_outside,
	    jw_misuse_unbalanced,
	    jw_misuse_value_without_name,
	};
	int err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		free(jw_run(cases[i], false, &err));
		assert_int_not_equal(err, 0);
	}
	/* left open: detected at destroy, after jsonw_error was read */
	free(jw_run(jw_misuse_left_open, false, &err));
	assert_int_equal(err, 0);
}

/* ------------------------------------------------------------------ */
/* text report */

static const char *line_with(const char *txt, const char *needle)
{
	const char *p = strstr(txt, needle);

	if (!p)
		fail_msg("no line with \"%s\" in:\n%s", needle, txt);
	while (p > txt && p[-1] != '\n')
		p--;
	return p;
}

static size_t line_len(const char *l)
{
	return strcspn(l, "\n");
}

static void test_text_report(void **state)
{
	struct tl *tl = pair_tl();
	struct report_opts o = {.input_error = "file truncated at byte 99"};
	char *txt = render(tl, &o, false);
	const char *hdr, *row;

	assert_non_null(strstr(txt, "2 migrations, 1 pair"));
	assert_non_null(strstr(txt, "input error: file truncated at byte 99"));
	assert_non_null(strstr(txt, "migration #1  source  pid 100  vm guest \"one\"  uuid " UUID
				    "  result completed"));
	assert_non_null(strstr(txt, "migration #0  destination  pid 200"));
	/* milestones relative to start, 3 decimals */
	row = line_with(txt, "src-downtime-start");
	assert_non_null(strstr(row, "81.000"));
	row = line_with(txt, "approval " DEV " (0 pending)");
	assert_non_null(strstr(row, "61.500")); /* 60.5 - (-1) */
	/* absent milestones of the side are listed with "-" */
	row = line_with(txt, "return-path-open");
	assert_true(row[line_len(row) - 1] == '-');
	/* device table: header and row right-aligned on the same columns */
	hdr = line_with(txt, "initial B");
	row = line_with(hdr + 1, DEV);
	assert_int_equal(line_len(hdr), line_len(row));
	assert_non_null(strstr(row, " 1000 "));
	assert_non_null(strstr(row, "38.500"));
	assert_non_null(strstr(row, "8888"));
	/* transitions with durations */
	row = line_with(txt, "STOP_COPY ");
	assert_non_null(strstr(row, "PRE_COPY"));
	assert_non_null(strstr(row, "3.000"));
	/* summary */
	row = line_with(txt, "total 96.000 ms");
	assert_non_null(strstr(row, "precopy 79.000 ms"));
	assert_non_null(strstr(row, "downtime 14.000 ms"));
	row = line_with(txt, "ack wait 19.900 ms");
	assert_non_null(strstr(row, "ack latency 68.000 ms"));
	/* pairs */
	row = line_with(txt, "guest downtime");
	assert_non_null(strstr(row, "guest downtime 17.000 ms"));
	assert_non_null(strstr(row, "ack transit 0.100 ms"));
	assert_non_null(strstr(txt, "source #1 (pid 100) -> destination #0 (pid 200)"));
	/* destination: no QEMU downtime */
	row = line_with(strstr(txt, "migration #0"), "total 105.000 ms");
	assert_non_null(strstr(row, "downtime - ms"));
	free(txt);
	tl_free(tl);
}

static void test_text_incomplete(void **state)
{
	struct tl *tl = tl_new();
	union ms_rec lost;
	char *txt;

	usdt(tl, SRC, AT(0), MS_P_MIGRATE_SET_STATE, "setup");
	usdt(tl, SRC, AT(1), MS_P_MIGRATE_SET_STATE, "active");
	memset(&lost, 0, sizeof(lost));
	lost.h.kind = MS_EV_LOST;
	lost.h.ts = AT(2);
	lost.lost.count = 9;
	tl_feed(tl, &lost);
	usdt(tl, SRC, AT(3), MS_P_MIGRATE_SET_STATE, "failed");
	tl_finish(tl, AT(5));
	txt = render(tl, NULL, false);
	assert_non_null(strstr(txt, "result failed  INCOMPLETE"));
	assert_non_null(strstr(txt, "events were lost"));
	assert_non_null(strstr(txt, "9 lost"));
	assert_non_null(strstr(txt, "passes -"));
	free(txt);
	tl_free(tl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_contract),
	    cmocka_unit_test(test_json_nulls_for_absent),
	    cmocka_unit_test(test_json_unavailable_and_multifd),
	    cmocka_unit_test(test_json_stall),
	    cmocka_unit_test(test_json_empty),
	    cmocka_unit_test(test_json_write_error),
	    cmocka_unit_test(test_json_writer_escaping),
	    cmocka_unit_test(test_json_writer_misuse),
	    cmocka_unit_test(test_text_report),
	    cmocka_unit_test(test_text_incomplete),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
