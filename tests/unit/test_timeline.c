// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Timeline engine on hand-built record sequences. Times are written in ms
 * from a base so that each expected figure can be read off the scenario.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "catalog.h"
#include "timeline.h"
#include "feed.h"

#define NS_MS(x) MSI(x)

#define SRC  100
#define DST  200
#define DEV2 "0000:00:06.0"
#define UUID "6f1c3b1e-1111-2222-3333-444455556666"

/* ------------------------------------------------------------------ */
/* record builders: records are collected, sorted by time (stable) and fed */

struct ent {
	union ms_rec r;
	size_t seq;
};

struct rb {
	struct ent *e;
	size_t n, cap;
};

static union ms_rec *rb_add(struct rb *b, uint16_t kind, uint32_t pid, uint32_t tid, uint64_t ts)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->e = realloc(b->e, b->cap * sizeof(*b->e));
		assert_non_null(b->e);
	}
	memset(&b->e[b->n], 0, sizeof(b->e[b->n]));
	b->e[b->n].seq = b->n;
	union ms_rec *r = &b->e[b->n++].r;
	r->h.kind = kind;
	r->h.pid = pid;
	r->h.tid = tid;
	r->h.ts = ts;
	return r;
}

static int ent_cmp(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;

	if (x->r.h.ts != y->r.h.ts)
		return x->r.h.ts < y->r.h.ts ? -1 : 1;
	return x->seq < y->seq ? -1 : 1;
}

static void rb_feed(struct tl *tl, struct rb *b)
{
	qsort(b->e, b->n, sizeof(*b->e), ent_cmp);
	for (size_t i = 0; i < b->n; i++)
		tl_feed(tl, &b->e[i].r);
	free(b->e);
	memset(b, 0, sizeof(*b));
}

struct targ {
	uint64_t u;
	const char *s;
};
#define U(x)                                                                                       \
	{                                                                                          \
		.u = (uint64_t)(x)                                                                 \
	}
#define S(x)                                                                                       \
	{                                                                                          \
		.s = (x)                                                                           \
	}

static void usdt_(struct rb *b, uint32_t pid, uint32_t tid, uint64_t ts, unsigned int probe,
		  const struct targ *a, size_t n)
{
	union ms_rec *r = rb_add(b, MS_EV_USDT, pid, tid, ts);
	const char *types = cat_types(probe);
	int k = 0;

	assert_non_null(types);
	assert_int_equal(strlen(types), n); /* the test itself is wrong otherwise */
	r->h.probe = (uint16_t)probe;
	for (size_t i = 0; i < n; i++) {
		if (types[i] == 's') {
			snprintf(r->usdt.str[k], MS_STR_LEN, "%s", a[i].s);
			r->usdt.args[i] = (uint64_t)k++;
		} else {
			r->usdt.args[i] = a[i].u;
		}
	}
}

#define EV(b, pid, ts, probe, ...)                                                                 \
	usdt_(b, pid, pid, ts, probe, (const struct targ[]){__VA_ARGS__},                          \
	      sizeof((const struct targ[]){__VA_ARGS__}) / sizeof(struct targ))
#define EVT(b, pid, tid, ts, probe, ...)                                                           \
	usdt_(b, pid, tid, ts, probe, (const struct targ[]){__VA_ARGS__},                          \
	      sizeof((const struct targ[]){__VA_ARGS__}) / sizeof(struct targ))
#define EV0(b, pid, ts, probe) usdt_(b, pid, pid, ts, probe, NULL, 0)

static void st(struct rb *b, uint32_t pid, uint64_t ts, const char *state)
{
	EV(b, pid, ts, MS_P_MIGRATE_SET_STATE, S(state));
}

static void ckpt(struct rb *b, uint32_t pid, uint64_t ts, const char *name)
{
	EV(b, pid, ts, MS_P_VMSTATE_DOWNTIME_CHECKPOINT, S(name));
}

static void proc_rec(struct rb *b, uint32_t pid, uint64_t ts, const char *vm, const char *uuid,
		     bool incoming)
{
	union ms_rec *r = rb_add(b, MS_EV_PROC, pid, pid, ts);

	snprintf(r->proc.vm, sizeof(r->proc.vm), "%s", vm);
	snprintf(r->proc.uuid, sizeof(r->proc.uuid), "%s", uuid);
	r->proc.pflags = incoming ? MS_PROC_INCOMING : 0;
}

static void exit_rec(struct rb *b, uint32_t pid, uint64_t ts)
{
	rb_add(b, MS_EV_EXIT, pid, pid, ts);
}

static void lost_rec(struct rb *b, uint64_t ts, uint64_t count)
{
	union ms_rec *r = rb_add(b, MS_EV_LOST, 0, 0, ts);

	r->lost.count = count;
}

/* MIG_DEVICE_STATE SET ioctl (feed.h rec_ioctl_set) into the batch */
static void ioctl_set(struct rb *b, uint32_t pid, uint32_t tid, uint64_t ts, int fd, uint32_t state,
		      uint64_t dur, int data_fd, int ret)
{
	union ms_rec *r = rb_add(b, MS_EV_IOCTL, pid, tid, ts);

	rec_ioctl_set(r, pid, tid, ts, fd, state, dur, data_fd, ret);
}

static void ioctl_datasize(struct rb *b, uint32_t pid, uint32_t tid, uint64_t ts, int fd,
			   uint64_t bytes)
{
	union ms_rec *r = rb_add(b, MS_EV_IOCTL, pid, tid, ts);

	r->ioctl.cmd = MS_VFIO_DEVICE_FEATURE;
	r->ioctl.fd = fd;
	r->ioctl.feat_flags = MS_VFIO_FEAT_MIG_DATA_SIZE | MS_VFIO_FEAT_GET;
	r->ioctl.data_fd = -1;
	r->ioctl.v1 = bytes;
	r->ioctl.dur_ns = 1000;
}

static void ioctl_precopy(struct rb *b, uint32_t pid, uint32_t tid, uint64_t ts, int fd,
			  uint64_t init, uint64_t dirty)
{
	union ms_rec *r = rb_add(b, MS_EV_IOCTL, pid, tid, ts);

	r->ioctl.cmd = MS_VFIO_MIG_GET_PRECOPY_INFO;
	r->ioctl.fd = fd;
	r->ioctl.v1 = init;
	r->ioctl.v2 = dirty;
	r->ioctl.dur_ns = 1000;
}

static void data_io(struct rb *b, uint32_t pid, uint32_t tid, uint64_t ts, int fd, uint32_t op,
		    int64_t bytes)
{
	union ms_rec *r = rb_add(b, MS_EV_DATA_IO, pid, tid, ts);

	r->io.fd = fd;
	r->io.op = op;
	r->io.ret = bytes;
	r->io.count = bytes > 0 ? (uint64_t)bytes : 0;
}

/* ------------------------------------------------------------------ */
/* scenarios */

enum { ACK_NONE, ACK_AFTER_READY, ACK_BEFORE_READY };

/*
 * A source with one VFIO device, QEMU 10 probe order. Key times (ms):
 * setup 0, active 2, rp open 3, save setup 1.5, initial 1000 B drained at 40,
 * threshold 5000 from 20. With the ACK after ready: ready 50 (exact 3000),
 * held back at 60, ACK at 70. Otherwise the iteration at 50 stays above the
 * threshold (exact 6000) and ready is 80.1; the ACK before ready comes at 45.
 * Low-pending 80.2 (2500 B, bw 1000 B/ms),
 * downtime 81..95, vm stopped 86, iterable saved 90, non-iterable 92,
 * completed 96. Device: STOP_COPY ioctl 82..85, save 2000+300 us, stop-copy
 * size 7777 B, 3000 B read in STOP_COPY (4096 + 3000 read in all), 2 precopy
 * passes (and one sync in the stop phase).
 */
static void src_standard(struct rb *b, uint32_t pid, int ack)
{
	uint32_t tid = pid + 1; /* migration thread */

	st(b, pid, AT(0), "setup");
	ioctl_datasize(b, pid, tid, AT(0.9), 30, 123456); /* fd 30 not yet known */
	EVT(b, pid, tid, AT(0.95), MS_P_VFIO_MIGRATION_SET_STATE, S(DEV), S("PRE_COPY"),
	    S("RUNNING"));
	ioctl_set(b, pid, tid, AT(1.0), 30, MS_VFIO_PRE_COPY, MSF(0.2), 31, 0);
	EVT(b, pid, tid, AT(1.21), MS_P_VFIO_MIGRATION_SET_DEVICE_STATE, S(DEV), S("PRE_COPY"));
	ioctl_precopy(b, pid, tid, AT(1.3), 31, 1000, 0);
	EVT(b, pid, tid, AT(1.5), MS_P_VFIO_SAVE_SETUP, S(DEV), U(1 << 20));
	st(b, pid, AT(2), "active");
	EV0(b, pid, AT(3), MS_P_OPEN_RETURN_PATH_ON_SOURCE);
	EV(b, pid, AT(10), MS_P_MIGRATION_BITMAP_SYNC_END, U(500));
	EV(b, pid, AT(20), MS_P_MIGRATE_TRANSFERRED, U(20000), U(100), U(1000), U(900), U(5000));
	EV(b, pid, AT(30), MS_P_MIGRATE_PENDING_ESTIMATE, U(100000), U(100000), U(0));
	EVT(b, pid, tid, AT(30.1), MS_P_VFIO_STATE_PENDING_ESTIMATE, S(DEV), U(600), U(0), U(600),
	    U(0));
	data_io(b, pid, tid, AT(35), 31, MS_IO_READ, 4096);
	EV(b, pid, AT(38), MS_P_MIGRATION_BITMAP_SYNC_END, U(200));
	EVT(b, pid, tid, AT(39), MS_P_VFIO_SAVE_BLOCK, S(DEV), U(1000)); /* precopy data */
	EVT(b, pid, tid, AT(40), MS_P_VFIO_SAVE_ITERATE, S(DEV), U(0), U(10));
	if (ack == ACK_BEFORE_READY)
		EV0(b, pid, AT(45), MS_P_SOURCE_RETURN_PATH_THREAD_SWITCHOVER_ACKED);
	EV(b, pid, AT(50), MS_P_MIGRATE_PENDING_ESTIMATE, U(4000), U(4000), U(0));
	EV(b, pid, AT(50.1), MS_P_MIGRATE_PENDING_EXACT, U(ack == ACK_AFTER_READY ? 3000 : 6000),
	   U(0), U(0));
	if (ack == ACK_AFTER_READY) {
		/* not allowed to switch over: another iteration */
		EV(b, pid, AT(60), MS_P_MIGRATE_PENDING_ESTIMATE, U(3500), U(3500), U(0));
		EV(b, pid, AT(60.1), MS_P_MIGRATE_PENDING_EXACT, U(3200), U(3200), U(0));
		EV0(b, pid, AT(70), MS_P_SOURCE_RETURN_PATH_THREAD_SWITCHOVER_ACKED);
	}
	EV(b, pid, AT(80), MS_P_MIGRATE_PENDING_ESTIMATE, U(3000), U(3000), U(0));
	EVT(b, pid, tid, AT(80.05), MS_P_VFIO_STATE_PENDING_EXACT, S(DEV), U(7777), U(0), U(7777),
	    U(0), U(5));
	EV(b, pid, AT(80.1), MS_P_MIGRATE_PENDING_EXACT, U(2500), U(2500), U(0));
	EV(b, pid, AT(80.2), MS_P_MIGRATION_THREAD_LOW_PENDING, U(2500));
	ckpt(b, pid, AT(81), "src-downtime-start");
	EVT(b, pid, tid, AT(81.9), MS_P_VFIO_MIGRATION_SET_STATE, S(DEV), S("STOP_COPY"),
	    S("STOP"));
	ioctl_set(b, pid, tid, AT(82), 30, MS_VFIO_STOP_COPY, MSF(3), -1, 0);
	EVT(b, pid, tid, AT(85.01), MS_P_VFIO_MIGRATION_SET_DEVICE_STATE, S(DEV), S("STOP_COPY"));
	ckpt(b, pid, AT(86), "src-vm-stopped");
	EV(b, pid, AT(86.1), MS_P_MIGRATION_COMPLETION_VM_STOP, U(0));
	EV(b, pid, AT(86.5), MS_P_MIGRATION_BITMAP_SYNC_END, U(3)); /* not a precopy pass */
	EVT(b, pid, tid, AT(87), MS_P_VFIO_SAVE_COMPLETE_PRECOPY_START, S(DEV));
	data_io(b, pid, tid, AT(87.5), 31, MS_IO_READ, 3000);
	EVT(b, pid, tid, AT(87.6), MS_P_VFIO_SAVE_BLOCK, S(DEV), U(3000));
	data_io(b, pid, tid, AT(87.7), 31, MS_IO_READ, 0);
	EVT(b, pid, tid, AT(87.8), MS_P_VFIO_SAVE_BLOCK, S(DEV), U(0));
	EVT(b, pid, tid, AT(89), MS_P_VFIO_SAVE_COMPLETE_PRECOPY, S(DEV), U(0));
	EVT(b, pid, tid, AT(89.1), MS_P_VMSTATE_DOWNTIME_SAVE, S("iterable"), S(DEV "/vfio"), U(0),
	    U(2000));
	EVT(b, pid, tid, AT(89.5), MS_P_VMSTATE_DOWNTIME_SAVE, S("iterable"), S("ram"), U(0),
	    U(500));
	ckpt(b, pid, AT(90), "src-iterable-saved");
	EVT(b, pid, tid, AT(91), MS_P_VMSTATE_DOWNTIME_SAVE, S("non-iterable"), S(DEV "/vfio"),
	    U(0), U(300));
	ckpt(b, pid, AT(92), "src-non-iterable-saved");
	ckpt(b, pid, AT(95), "src-downtime-end");
	st(b, pid, AT(96), "completed");
}

/*
 * A destination of the same VM with one device needing an ACK:
 * setup -1 (listening before the source), active 2.5, ack-needed(1) 3,
 * INIT_DATA_SENT 60, approval 60.5, ACK sent 60.6 (69.9 if the source gets
 * it at 70), loadvm completed 100, vm started 103, completed 104.
 */
static void dst_standard(struct rb *b, uint32_t pid, double ack_sent)
{
	uint32_t tid = pid + 1;

	st(b, pid, AT(-1), "setup");
	st(b, pid, AT(2.5), "active");
	EV(b, pid, AT(3), MS_P_LOADVM_STATE_SWITCHOVER_ACK_NEEDED, U(1));
	EVT(b, pid, tid, AT(3.9), MS_P_VFIO_MIGRATION_SET_STATE, S(DEV), S("RESUMING"), S("ERROR"));
	ioctl_set(b, pid, tid, AT(4.0), 40, MS_VFIO_RESUMING, MSF(0.5), 41, 0);
	EVT(b, pid, tid, AT(4.51), MS_P_VFIO_MIGRATION_SET_DEVICE_STATE, S(DEV), S("RESUMING"));
	data_io(b, pid, tid, AT(20), 41, MS_IO_WRITE, 5000);
	EVT(b, pid, tid, AT(20.1), MS_P_VFIO_LOAD_STATE_DEVICE_DATA, S(DEV), U(5000), U(0));
	data_io(b, pid, tid, AT(98.05), 41, MS_IO_WRITE, 3000); /* the stop phase */
	EVT(b, pid, tid, AT(98.06), MS_P_VFIO_LOAD_STATE_DEVICE_DATA, S(DEV), U(3000), U(0));
	EVT(b, pid, tid, AT(60), MS_P_VFIO_LOAD_STATE, S(DEV),
	    U(MS_VFIO_MIG_FLAG_DEV_INIT_DATA_SENT));
	EVT(b, pid, tid, AT(60.5), MS_P_LOADVM_APPROVE_SWITCHOVER, U(0));
	EVT(b, pid, tid, AT(ack_sent), MS_P_MIGRATE_SEND_RP_MESSAGE, U(7), U(0));
	EVT(b, pid, tid, AT(98), MS_P_VFIO_LOAD_STATE, S(DEV), U(MS_VFIO_MIG_FLAG_DEV_DATA_STATE));
	EVT(b, pid, tid, AT(98.1), MS_P_VMSTATE_DOWNTIME_LOAD, S("iterable"), S(DEV "/vfio"), U(0),
	    U(1500));
	ckpt(b, pid, AT(100), "dst-precopy-loadvm-completed");
	ckpt(b, pid, AT(100.5), "dst-precopy-bh-enter");
	ckpt(b, pid, AT(101), "dst-precopy-bh-announced");
	ckpt(b, pid, AT(103), "dst-precopy-bh-vm-started");
	st(b, pid, AT(104), "completed");
}

static const struct tl_mig *only_mig(const struct tl *tl)
{
	assert_int_equal(tl_nmigs(tl), 1);
	return tl_mig_at(tl, 0);
}

static const struct tl_mig *mig_of(const struct tl *tl, uint32_t pid)
{
	for (size_t i = 0; i < tl_nmigs(tl); i++)
		if (tl_mig_at(tl, i)->pid == pid)
			return tl_mig_at(tl, i);
	fail_msg("no migration for pid %u", pid);
	return NULL;
}

static const struct tl_dev *dev_of(const struct tl_mig *m, const char *name)
{
	for (uint32_t i = 0; i < m->ndevs; i++)
		if (strcmp(m->devs[i].name, name) == 0)
			return &m->devs[i];
	fail_msg("no device %s", name);
	return NULL;
}

/* src_standard fed; FLAG_PROBE's records carry MS_F_NO_SYSCALLS (none for
 * MS_P_NONE) */
static struct tl *run_src_with(int ack, unsigned int flag_probe)
{
	struct tl *tl = tl_new();
	struct rb b = {0};

	assert_non_null(tl);
	proc_rec(&b, SRC, AT(-10), "guest1", UUID, false);
	src_standard(&b, SRC, ack);
	for (size_t i = 0; i < b.n; i++)
		if (b.e[i].r.h.kind == MS_EV_USDT && b.e[i].r.h.probe == flag_probe)
			b.e[i].r.h.flags |= MS_F_NO_SYSCALLS;
	rb_feed(tl, &b);
	tl_finish(tl, AT(200));
	return tl;
}

static struct tl *run_src(int ack)
{
	return run_src_with(ack, MS_P_NONE);
}

/* ------------------------------------------------------------------ */
/* terminal states and identity */

static void test_completed_source(void **state)
{
	struct tl *tl = run_src(ACK_AFTER_READY);
	const struct tl_mig *m = only_mig(tl);

	assert_int_equal(m->pid, SRC);
	assert_int_equal(m->start_ts, AT(0));
	assert_int_equal(m->result, TL_RES_COMPLETED);
	assert_int_equal(tl_mig_role(m), TL_ROLE_SOURCE);
	assert_int_equal(m->role_probe, TL_ROLE_SOURCE);
	assert_string_equal(m->vm, "guest1");
	assert_string_equal(m->uuid, UUID);
	assert_false(m->incomplete);
	assert_false(m->implicit_start);
	assert_int_equal(tl_mig_total(m), NS_MS(96));
	assert_int_equal(tl_mig_milestone(m, TL_M_SETUP), AT(0));
	assert_int_equal(tl_mig_milestone(m, TL_M_ACTIVE), AT(2));
	assert_int_equal(tl_mig_milestone(m, TL_M_RP_OPEN), AT(3));
	assert_int_equal(tl_mig_milestone(m, TL_M_READY), AT(50.1));
	assert_int_equal(tl_mig_milestone(m, TL_M_LOW_PENDING), AT(80.2));
	assert_int_equal(tl_mig_milestone(m, TL_M_SRC_VM_STOPPED), AT(86));
	assert_int_equal(tl_mig_milestone(m, TL_M_SRC_ITERABLE_SAVED), AT(90));
	assert_int_equal(tl_mig_milestone(m, TL_M_SRC_NON_ITERABLE_SAVED), AT(92));
	assert_int_equal(tl_mig_milestone(m, TL_M_END), AT(96));
	assert_string_equal(tl_mig_phase(m), "completed");
	/* precopy = downtime-start - active */
	assert_int_equal(tl_mig_precopy(m), NS_MS(79));
	/* QEMU downtime = downtime-end - downtime-start */
	assert_int_equal(tl_mig_downtime(m), NS_MS(14));
	assert_int_equal(tl_mig_ack_latency(m), NS_MS(68));
	assert_int_equal(tl_mig_passes(m), 2);
	tl_free(tl);
}

static struct tl *one_state(const char *terminal)
{
	struct tl *tl = tl_new();
	struct rb b = {0};

	st(&b, SRC, AT(0), "setup");
	st(&b, SRC, AT(1), "active");
	EV(&b, SRC, AT(2), MS_P_MIGRATE_PENDING_ESTIMATE, U(10), U(10), U(0));
	if (strcmp(terminal, "cancelled") == 0) {
		EV0(&b, SRC, AT(3), MS_P_MIGRATION_CANCEL);
		st(&b, SRC, AT(3.5), "cancelling");
	}
	if (strcmp(terminal, "failed") == 0)
		EV(&b, SRC, AT(3.5), MS_P_MIGRATE_ERROR, S("Unable to write to socket"));
	st(&b, SRC, AT(4), terminal);
	rb_feed(tl, &b);
	tl_finish(tl, AT(10));
	return tl;
}

static void test_failed(void **state)
{
	struct tl *tl = one_state("failed");
	const struct tl_mig *m = only_mig(tl);

	assert_int_equal(m->result, TL_RES_FAILED);
	assert_string_equal(tl_result_name(m->result), "failed");
	assert_string_equal(m->error, "Unable to write to socket");
	assert_int_equal(m->end_ts, AT(4));
	assert_int_equal(tl_mig_total(m), NS_MS(4));
	/* never switched over: no downtime, no precopy end */
	assert_false(tl_dhas(tl_mig_downtime(m)));
	assert_false(tl_dhas(tl_mig_precopy(m)));
	tl_free(tl);
}

static void test_cancelled(void **state)
{
	struct tl *tl = one_state("cancelled");
	const struct tl_mig *m = only_mig(tl);

	assert_int_equal(m->result, TL_RES_CANCELLED);
	assert_int_equal(tl_mig_milestone(m, TL_M_CANCEL), AT(3));
	assert_int_equal(tl_mig_milestone(m, TL_M_CANCELLING), AT(3.5));
	assert_int_equal(tl_mig_milestone(m, TL_M_END), AT(4));
	tl_free(tl);
}

static void test_aborted_by_exit(void **state)
{
	struct tl *tl = tl_new();
	struct rb b = {0};
	const struct tl_mig *m;

	st(&b, SRC, AT(0), "setup");
	st(&b, SRC, AT(1), "active");
	EV(&b, SRC, AT(2), MS_P_MIGRATE_PENDING_ESTIMATE, U(10), U(10), U(0));
	exit_rec(&b, SRC, AT(7));
	exit_rec(&b, 999, AT(8)); /* a process never seen: no state for it */
	rb_feed(tl, &b);
	tl_finish(tl, AT(10));
	m = only_mig(tl);
	assert_int_equal(m->result, TL_RES_ABORTED);
	assert_int_equal(m->end_ts, AT(7));
	assert_int_equal(tl_mig_total(m), NS_MS(7));
	assert_int_equal(tl_nprocs(tl), 1);
	assert_true(tl_proc_at(tl, 0)->exited);
	tl_free(tl);
}

static void test_active_at_end(void **state)
{
	struct tl *tl = tl_new();
	struct rb b = {0};
	const struct tl_mig *m;

	st(&b, SRC, AT(0), "setup");
	st(&b, SRC, AT(1), "active");
	EV(&b, SRC, AT(2), MS_P_MIGRATE_PENDING_ESTIMATE, U(10), U(10), U(0));
	rb_feed(tl, &b);
	tl_finish(tl, AT(30));
	m = only_mig(tl);
	assert_int_equal(m->result, TL_RES_ACTIVE);
	assert_string_equal(tl_result_name(m->result), "active");
	assert_false(tl_has(m->end_ts));
	assert_false(tl_dhas(tl_mig_total(m))); /* not over: no total */
	assert_int_equal(tl_mig_elapsed(tl, m), NS_MS(30));
	assert_string_equal(tl_mig_phase(m), "precopy");
	tl_free(tl);
}

static void test_setup_while_active_aborts_previous(void **state)
{
	struct tl *tl = tl_new();
	struct rb b = {0};

	st(&b, SRC, AT(0), "setup");
	st(&b, SRC, AT(1), "active");
	/* the terminal state was never seen */
	st(&b, SRC, AT(50), "setup");
	st(&b, SRC, AT(51), "active");
	st(&b, SRC, AT(60), "completed");
	rb_feed(tl, &b);
	tl_finish(tl, AT(100));
	assert_int_equal(tl_nmigs(tl), 2);
	assert_int_equal(tl_mig_at(tl, 0)->result, TL_RES_ABORTED);
	assert_true(tl_mig_at(tl, 0)->incomplete);
	assert_int_equal(tl_mig_at(tl, 0)->end_ts, AT(50));
	assert_int_equal(tl_mig_at(tl, 1)->result, TL_RES_COMPLETED);
	assert_int_equal(tl_mig_at(tl, 1)->start_ts, AT(50));
	assert_int_equal(tl_proc_at(tl, 0)->nmigs, 2);
	tl_free(tl);
}

static void test_implicit_start(void **state)
{
	struct tl *tl = tl_new();
	struct rb b = {0};
	const struct tl_mig *m;

	/* capture began mid-migration: the first record is an iteration */
	EV(&b, SRC, AT(5), MS_P_MIGRATE_PENDING_ESTIMATE, U(10), U(10), U(0));
	st(&b, SRC, AT(9), "completed");
	/* a VM state change outside any migration starts nothing */
	EV(&b, DST, AT(1), MS_P_VM_STATE_NOTIFY, U(1), U(9), S("running"));
	rb_feed(tl, &b);
	tl_finish(tl, AT(10));
	m = only_mig(tl);
	assert_int_equal(m->start_ts, AT(5));
	assert_true(m->implicit_start);
	assert_true(m->incomplete);
	assert_false(tl_has(tl_mig_milestone(m, TL_M_SETUP)));
	assert_int_equal(m->result, TL_RES_COMPLETED);
	assert_int_equal(tl_mig_role(m), TL_ROLE_SOURCE);
	tl_free(tl);
}

static void test_vm_identity_absent(void **state)
{
	struct tl *tl = run_src(ACK_NONE);
	struct tl *tl2 = tl_new();
	struct rb b = {0};
	const struct tl_mig *m;

	assert_true(only_mig(tl)->has_ident);
	src_standard(&b, SRC, ACK_NONE); /* no MS_EV_PROC */
	rb_feed(tl2, &b);
	tl_finish(tl2, AT(200));
	m = only_mig(tl2);
	assert_false(m->has_ident);
	assert_string_equal(m->vm, "");
	assert_string_equal(m->uuid, "");
	assert_int_equal(tl_mig_role(m), TL_ROLE_SOURCE); /* probes suffice */
	tl_free(tl);
	tl_free(tl2);
}

/* ------------------------------------------------------------------ */
/* role detection */

static void test_role_detection(void **state)
{
	struct tl *tl = tl_new();
	struct rb b = {0};

	/* 1: -incoming, but its probes say source (a migrated-in VM leaving) */
	proc_rec(&b, 1, AT(0), "a", "", true);
	st(&b, 1, AT(1), "setup");
	EV(&b, 1, AT(2), MS_P_MIGRATE_PENDING_ESTIMATE, U(10), U(10), U(0));
	/* 2: destination by a loadvm probe, no identity */
	st(&b, 2, AT(1), "setup");
	EV(&b, 2, AT(2), MS_P_LOADVM_STATE_SWITCHOVER_ACK_NEEDED, U(0));
	/* 3: no role probe: -incoming decides */
	proc_rec(&b, 3, AT(0), "c", "", true);
	st(&b, 3, AT(1), "setup");
	st(&b, 3, AT(2), "active");
	/* 4: no role probe, not -incoming: source */
	proc_rec(&b, 4, AT(0), "d", "", false);
	st(&b, 4, AT(1), "setup");
	/* 5: nothing to go by */
	st(&b, 5, AT(1), "setup");
	/* 6: destination by a dst checkpoint only */
	st(&b, 6, AT(1), "setup");
	ckpt(&b, 6, AT(3), "dst-precopy-loadvm-completed");
	/* 7: source by a vfio_save probe */
	st(&b, 7, AT(1), "setup");
	EV(&b, 7, AT(2), MS_P_VFIO_SAVE_SETUP, S(DEV), U(4096));
	rb_feed(tl, &b);
	tl_finish(tl, AT(10));
	assert_int_equal(tl_mig_role(mig_of(tl, 1)), TL_ROLE_SOURCE);
	assert_int_equal(tl_mig_role(mig_of(tl, 2)), TL_ROLE_DEST);
	assert_int_equal(tl_mig_role(mig_of(tl, 3)), TL_ROLE_DEST);
	assert_int_equal(mig_of(tl, 3)->role_probe, TL_ROLE_UNKNOWN);
	assert_int_equal(tl_mig_role(mig_of(tl, 4)), TL_ROLE_SOURCE);
	assert_int_equal(tl_mig_role(mig_of(tl, 5)), TL_ROLE_UNKNOWN);
	assert_int_equal(tl_mig_role(mig_of(tl, 6)), TL_ROLE_DEST);
	assert_int_equal(tl_mig_role(mig_of(tl, 7)), TL_ROLE_SOURCE);
	assert_string_equal(tl_role_name(TL_ROLE_DEST), "destination");
	tl_free(tl);
}

/* ------------------------------------------------------------------ */
/* pairing and cross-side figures */

static void other_clock(struct tl *tl, struct rb *b, uint32_t pid, int64_t shift, uint64_t jump_at,
			int64_t jump);

static struct tl *run_pair(const char *src_vm, const char *src_uuid, const char *dst_vm,
			   const char *dst_uuid, bool single)
{
	struct tl *tl = tl_new();
	struct rb b = {0};

	proc_rec(&b, SRC, AT(-10), src_vm, src_uuid, false);
	proc_rec(&b, DST, AT(-5), dst_vm, dst_uuid, true);
	src_standard(&b, SRC, ACK_AFTER_READY);
	dst_standard(&b, DST, 60.6);
	if (!single)
		other_clock(tl, &b, DST, 0, UINT64_MAX, 0);
	rb_feed(tl, &b);
	tl_finish(tl, AT(200));
	return tl;
}

static void test_pair_by_uuid(void **state)
{
	/* names differ (libvirt renamed it), UUIDs agree */
	struct tl *tl = run_pair("guest1", UUID, "guest1-migrated", UUID, true);
	const struct tl_pair *p;
	const struct tl_mig *s, *d;

	assert_int_equal(tl_npairs(tl), 1);
	p = tl_pair_at(tl, 0);
	s = mig_of(tl, SRC);
	d = mig_of(tl, DST);
	assert_ptr_equal(p->src, s);
	assert_ptr_equal(p->dst, d);
	assert_ptr_equal(tl_mig_pair(s), p);
	assert_ptr_equal(tl_mig_pair(d), p);
	/* destination started first (listening), so it is migration 0 */
	assert_int_equal(tl_mig_index(tl, d), 0);
	assert_int_equal(tl_mig_index(tl, s), 1);
	/* guest-visible downtime = dst vm-started (103) - src vm-stopped (86) */
	assert_int_equal(tl_pair_guest_downtime(tl, p), NS_MS(17));
	/* ACK transit = src ACK received (70) - dst ACK sent (60.6) */
	assert_int_equal(tl_pair_ack_transit(tl, p), NS_MS(9.4));
	/* the destination's view */
	assert_int_equal(tl_mig_role(d), TL_ROLE_DEST);
	assert_int_equal(d->result, TL_RES_COMPLETED);
	assert_int_equal(tl_mig_milestone(d, TL_M_ACK_NEEDED), AT(3));
	assert_int_equal(d->ack_needed, 1);
	assert_int_equal(tl_mig_milestone(d, TL_M_ACK_SENT), AT(60.6));
	assert_int_equal(tl_mig_milestone(d, TL_M_DST_BH_VM_STARTED), AT(103));
	assert_int_equal(tl_mig_ack_pending_initial(s), 1); /* through the pair */
	/* ACK latency is the source's; the destination has ACK sent - active */
	assert_false(tl_dhas(tl_mig_ack_latency(d)));
	assert_int_equal(tl_mig_ack_sent(d), NS_MS(58.1));
	assert_false(tl_dhas(tl_mig_ack_sent(s)));
	tl_free(tl);
}

static void test_pair_by_name(void **state)
{
	struct tl *tl = run_pair("guest1", "", "guest1", "", true);

	assert_int_equal(tl_npairs(tl), 1);
	assert_ptr_equal(tl_pair_at(tl, 0)->src, mig_of(tl, SRC));
	tl_free(tl);

	/* UUIDs present and different: names are not used */
	tl = run_pair("guest1", UUID, "guest1", "00000000-0000-0000-0000-000000000000", true);
	assert_int_equal(tl_npairs(tl), 0);
	assert_null(tl_mig_pair(mig_of(tl, SRC)));
	tl_free(tl);

	/* different names, no UUID */
	tl = run_pair("guest1", "", "guest2", "", true);
	assert_int_equal(tl_npairs(tl), 0);
	tl_free(tl);
}

static void test_pair_needs_overlap(void **state)
{
	struct tl *tl = tl_new();
	struct rb b = {0};

	proc_rec(&b, SRC, AT(-10), "g", "", false);
	proc_rec(&b, DST, AT(-10), "g", "", true);
	st(&b, SRC, AT(0), "setup");
	EV(&b, SRC, AT(1), MS_P_MIGRATE_PENDING_ESTIMATE, U(10), U(10), U(0));
	st(&b, SRC, AT(5), "failed");
	/* a later incoming migration of the same VM: no overlap */
	st(&b, DST, AT(100), "setup");
	EV(&b, DST, AT(101), MS_P_LOADVM_STATE_SWITCHOVER_ACK_NEEDED, U(0));
	st(&b, DST, AT(110), "completed");
	rb_feed(tl, &b);
	tl_finish(tl, AT(200));
	assert_int_equal(tl_nmigs(tl), 2);
	assert_int_equal(tl_npairs(tl), 0);
	tl_free(tl);
}

/* Pairing walks the unpaired sides of the other role, in no order (a side
 * that pairs leaves its list by a swap): of two equally good candidates the
 * earliest still wins, as when every migration was walked in order. */
static void test_pair_tie_earliest(void **state)
{
	struct tl *tl = tl_new();
	struct rb b = {0};

	(void)state;
	proc_rec(&b, 1, AT(-10), "b", "", false);
	proc_rec(&b, 2, AT(-10), "a", "", false);
	proc_rec(&b, 3, AT(-10), "a", "", false);
	proc_rec(&b, 4, AT(-10), "b", "", true);
	proc_rec(&b, 5, AT(-10), "a", "", true);
	st(&b, 1, AT(0), "setup");
	EV(&b, 1, AT(1), MS_P_MIGRATE_PENDING_ESTIMATE, U(10), U(10), U(0));
	st(&b, 2, AT(0), "setup");
	EV(&b, 2, AT(1), MS_P_MIGRATE_PENDING_ESTIMATE, U(10), U(10), U(0));
	st(&b, 3, AT(20), "setup");
	EV(&b, 3, AT(21), MS_P_MIGRATE_PENDING_ESTIMATE, U(10), U(10), U(0));
	/* b's destination takes pid 1, the first unpaired source, once all
	 * three are: pid 3 fills its slot, and is walked before pid 2 */
	st(&b, 4, AT(2), "setup");
	EV(&b, 4, AT(25), MS_P_LOADVM_STATE_SWITCHOVER_ACK_NEEDED, U(0));
	/* a's destination starts 10 ms after pid 2 and 10 ms before pid 3 */
	st(&b, 5, AT(10), "setup");
	EV(&b, 5, AT(30), MS_P_LOADVM_STATE_SWITCHOVER_ACK_NEEDED, U(0));
	rb_feed(tl, &b);
	tl_finish(tl, AT(100));
	assert_int_equal(tl_npairs(tl), 2);
	assert_int_equal(tl_mig_pair(mig_of(tl, 1))->dst->pid, 4);
	assert_int_equal(tl_mig_pair(mig_of(tl, 5))->src->pid, 2);
	assert_null(tl_mig_pair(mig_of(tl, 3)));
	/* a migration's index: its place in start order */
	for (size_t i = 0; i < tl_nmigs(tl); i++)
		assert_int_equal(tl_mig_index(tl, tl_mig_at(tl, i)), i);
	tl_free(tl);
}

static void test_two_clocks(void **state)
{
	/* two clocks and no protocol message: the realtime estimate, unbounded */
	struct tl *tl = run_pair("guest1", UUID, "guest1", UUID, false);
	const struct tl_pair *p;
	struct tl_breakdown bd;

	assert_false(tl_single_clock(tl));
	assert_int_equal(tl_npairs(tl), 1);
	p = tl_pair_at(tl, 0);
	assert_int_equal(p->basis, TL_CLOCK_REALTIME);
	assert_false(tl_dhas(tl_pair_clock_error(p)));
	assert_int_equal(tl_pair_clock_offset(tl, p), 0);
	assert_int_equal(tl_pair_guest_downtime(tl, p), NS_MS(17));
	assert_int_equal(tl_pair_ack_transit(tl, p), NS_MS(9.4));
	tl_pair_breakdown(tl, p, &bd);
	assert_int_equal(bd.transfer_load, NS_MS(8));
	assert_int_equal(bd.stop, NS_MS(5));
	assert_int_equal(bd.dst_start, NS_MS(3));
	tl_free(tl);
}

/*
 * The protocol's messages of the standard pair, in true time (ms):
 * OPEN_RETURN_PATH sent 2.1 received 2.15; PING(1) sent 2.2 received 2.25,
 * PONG sent 2.26 received 2.3; the ACK 60.6 -> 70; SWITCHOVER_START sent
 * 86.2 received 86.21; SHUT sent 104.5 received 104.52. Bounds of the
 * destination-minus-source offset: below by the SHUT (-0.02), above by
 * SWITCHOVER_START (+0.01): the offset is -0.005 +- 0.015 ms.
 */
static void msgs_standard(struct rb *b, bool rp)
{
	EV(b, SRC, AT(2.1), MS_P_SAVEVM_COMMAND_SEND, U(MS_MIG_CMD_OPEN_RETURN_PATH), U(0));
	EV(b, DST, AT(2.15), MS_P_LOADVM_PROCESS_COMMAND, S("OPEN_RETURN_PATH"), U(0));
	EV(b, SRC, AT(2.19), MS_P_SAVEVM_SEND_PING, U(1));
	EV(b, SRC, AT(2.2), MS_P_SAVEVM_COMMAND_SEND, U(MS_MIG_CMD_PING), U(4));
	EV(b, DST, AT(2.25), MS_P_LOADVM_PROCESS_COMMAND, S("PING"), U(4));
	EV(b, DST, AT(2.255), MS_P_LOADVM_PROCESS_COMMAND_PING, U(1));
	EV(b, SRC, AT(86.2), MS_P_SAVEVM_COMMAND_SEND, U(MS_MIG_CMD_SWITCHOVER_START), U(0));
	EV(b, DST, AT(86.21), MS_P_LOADVM_PROCESS_COMMAND, S("SWITCHOVER_START"), U(0));
	if (!rp)
		return;
	EV(b, DST, AT(2.26), MS_P_MIGRATE_SEND_RP_MESSAGE, U(MS_MIG_RP_MSG_PONG), U(4));
	EV(b, SRC, AT(2.3), MS_P_SOURCE_RETURN_PATH_THREAD_PONG, U(1));
	EV(b, DST, AT(104.5), MS_P_MIGRATE_SEND_RP_MESSAGE, U(MS_MIG_RP_MSG_SHUT), U(4));
	EV(b, SRC, AT(104.52), MS_P_SOURCE_RETURN_PATH_THREAD_SHUT, U(0));
}

/* Put pid's records on input 1, a clock of its own that runs shift ns ahead
 * (jump more from jump_at on, true time). */
static void other_clock(struct tl *tl, struct rb *b, uint32_t pid, int64_t shift, uint64_t jump_at,
			int64_t jump)
{
	struct tl_input in = {.clock = 1, .host = "dst-host"};

	assert_int_equal(tl_set_input(tl, 1, &in), 0);
	for (size_t i = 0; i < b->n; i++) {
		union ms_rec *r = &b->e[i].r;

		if (r->h.pid != pid)
			continue;
		r->h.input = 1;
		r->h.ts = (uint64_t)((int64_t)r->h.ts + shift + (r->h.ts >= jump_at ? jump : 0));
	}
}

/* more records for the next run_aligned, in true time */
static void (*aligned_extra)(struct rb *b);

/* rp false: no PONG, SHUT; rp_ack false: no ACK either (no return path) */
static struct tl *run_aligned_(const char *vm, int64_t shift, uint64_t jump_at, int64_t jump,
			       bool rp, bool rp_ack)
{
	struct tl *tl = tl_new();
	struct rb b = {0};

	proc_rec(&b, SRC, AT(-10), vm, "", false);
	proc_rec(&b, DST, AT(-5), vm, "", true);
	src_standard(&b, SRC, ACK_AFTER_READY);
	dst_standard(&b, DST, 60.6);
	msgs_standard(&b, rp);
	if (aligned_extra)
		aligned_extra(&b);
	for (size_t i = 0; !rp_ack && i < b.n; i++) {
		union ms_rec *r = &b.e[i].r;

		if (r->h.kind == MS_EV_USDT &&
		    (r->h.probe == MS_P_MIGRATE_SEND_RP_MESSAGE ||
		     r->h.probe == MS_P_SOURCE_RETURN_PATH_THREAD_SWITCHOVER_ACKED))
			r->h.probe = MS_P_MIGRATION_PRECOPY_COMPLETE; /* a no-op here */
	}
	other_clock(tl, &b, DST, shift, jump_at, jump);
	rb_feed(tl, &b);
	tl_finish(tl, AT(200) + (uint64_t)(shift > 0 ? shift : 0));
	return tl;
}

static struct tl *run_aligned(const char *vm, int64_t shift, uint64_t jump_at, int64_t jump,
			      bool rp)
{
	return run_aligned_(vm, shift, jump_at, jump, rp, true);
}

/* |got - want| <= err */
#define assert_within(got, want, err)                                                              \
	do {                                                                                       \
		int64_t d_ = (int64_t)(got) - (int64_t)(want);                                     \
		if (d_ < 0)                                                                        \
			d_ = -d_;                                                                  \
		if (d_ > (int64_t)(err))                                                           \
			fail_msg("%s = %lld, %lld from %lld (bound %lld)", #got, (long long)(got), \
				 (long long)d_, (long long)(want), (long long)(err));              \
	} while (0)

static void test_align_messages(void **state)
{
	static const int64_t shifts[] = {42000, -MSI(41), MSI(2500), MSI(7200000), 0};

	for (size_t i = 0; i < sizeof(shifts) / sizeof(shifts[0]); i++) {
		struct tl *tl = run_aligned("guest1", shifts[i], UINT64_MAX, 0, true);
		const struct tl_pair *p;
		struct tl_breakdown bd;
		int64_t err;

		assert_int_equal(tl_npairs(tl), 1);
		p = tl_pair_at(tl, 0);
		assert_int_equal(p->basis, TL_CLOCK_MESSAGES);
		assert_int_equal(p->nfwd, 3);
		assert_int_equal(p->nbwd, 3);
		err = tl_pair_clock_error(p);
		assert_int_equal(err, 15000);
		/* the offset applied to the destination's clock undoes the shift */
		assert_within(tl_pair_clock_offset(tl, p), -shifts[i], err);
		assert_int_equal(tl_pair_clock_offset(tl, p), -shifts[i] + 5000);
		/* every cross-side figure within the bound of the one-clock value */
		assert_within(tl_pair_guest_downtime(tl, p), NS_MS(17), err);
		assert_within(tl_pair_ack_transit(tl, p), NS_MS(9.4), err);
		tl_pair_breakdown(tl, p, &bd);
		assert_within(bd.transfer_load, NS_MS(8), err);
		assert_string_equal(tl_mig_host(tl, p->dst), "dst-host");
		assert_int_equal(tl_mig_milestone(p->src, TL_M_PING_SENT), AT(2.2));
		assert_int_equal(tl_mig_milestone(p->dst, TL_M_PONG_SENT), AT(2.26) + shifts[i]);
		assert_int_equal(tl_mig_milestone(p->dst, TL_M_SWITCHOVER_START_RECEIVED),
				 AT(86.21) + shifts[i]);
		assert_int_equal(tl_mig_milestone(p->src, TL_M_SHUT_RECEIVED), AT(104.52));
		tl_free(tl);
	}
}

/*
 * Section headers of the precopy iterations, true time (ms): "ram" (section
 * 2) written at 10, 20, 30 and read 10.2, 20.002, 30.05; an early-setup
 * section 5 written whole at 2.5 (read as startfull: no partend); after
 * src-downtime-start (81) the END header of ram at 86.3 (read 86.4) and a
 * whole section of id 2 at 88 (a VFIO device's config) that the destination
 * reads as startfull: neither is kept. The tightest bound above is now
 * 20 -> 20.002: the offset is in (-0.02, +0.002), -0.009 +- 0.011 ms.
 */
static void parts_standard(struct rb *b)
{
	EV(b, SRC, AT(2.5), MS_P_SAVEVM_SECTION_START, S("early"), U(5));
	EV(b, SRC, AT(10), MS_P_SAVEVM_SECTION_START, S("ram"), U(2));
	EV(b, DST, AT(10.2), MS_P_QEMU_LOADVM_STATE_SECTION_PARTEND, U(2));
	EV(b, SRC, AT(20), MS_P_SAVEVM_SECTION_START, S("ram"), U(2));
	EV(b, DST, AT(20.002), MS_P_QEMU_LOADVM_STATE_SECTION_PARTEND, U(2));
	EV(b, SRC, AT(30), MS_P_SAVEVM_SECTION_START, S("ram"), U(2));
	EV(b, DST, AT(30.05), MS_P_QEMU_LOADVM_STATE_SECTION_PARTEND, U(2));
	EV(b, SRC, AT(86.3), MS_P_SAVEVM_SECTION_START, S("ram"), U(2));
	EV(b, DST, AT(86.4), MS_P_QEMU_LOADVM_STATE_SECTION_PARTEND, U(2));
	EV(b, SRC, AT(88), MS_P_SAVEVM_SECTION_START, S("0000:3b:00.1/vfio"), U(2));
}

static void test_align_section_headers(void **state)
{
	static const int64_t shifts[] = {42000, -MSI(41), MSI(7200000), 0};

	aligned_extra = parts_standard;
	for (size_t i = 0; i < sizeof(shifts) / sizeof(shifts[0]); i++) {
		struct tl *tl = run_aligned("", shifts[i], UINT64_MAX, 0, true);
		const struct tl_pair *p;
		int64_t err;

		assert_int_equal(tl_npairs(tl), 1);
		p = tl_pair_at(tl, 0);
		assert_int_equal(p->basis, TL_CLOCK_MESSAGES);
		assert_int_equal(p->nparts, 3);
		assert_int_equal(p->nfwd, 6);
		assert_int_equal(p->nbwd, 3);
		assert_int_equal(p->src->nparts, 4); /* the early one, three of ram */
		assert_int_equal(p->dst->nparts, 4);
		err = tl_pair_clock_error(p);
		assert_int_equal(err, 11000);
		assert_int_equal(tl_pair_clock_offset(tl, p), -shifts[i] + 9000);
		assert_within(tl_pair_guest_downtime(tl, p), NS_MS(17), err);
		tl_free(tl);
	}
	aligned_extra = NULL;
}

static void test_pair_unnamed_by_messages(void **state)
{
	/* logs name no VM; two hours apart on the realtime estimate: no
	 * overlap, the messages alone tie the two sides */
	struct tl *tl = run_aligned("", MSI(7200000), UINT64_MAX, 0, true);
	const struct tl_pair *p;

	assert_int_equal(tl_npairs(tl), 1);
	p = tl_pair_at(tl, 0);
	assert_true(p->by_messages);
	assert_int_equal(p->src->pid, SRC);
	assert_within(tl_pair_guest_downtime(tl, p), NS_MS(17), tl_pair_clock_error(p));
	tl_free(tl);

	/* without PONG and SHUT the ACK alone closes the interval, wide */
	tl = run_aligned("", MSI(7200000), UINT64_MAX, 0, false);
	assert_int_equal(tl_npairs(tl), 1);
	p = tl_pair_at(tl, 0);
	assert_int_equal(p->nbwd, 1);
	assert_int_equal(tl_pair_clock_error(p), MSI(4.705));
	assert_within(tl_pair_guest_downtime(tl, p), NS_MS(17), tl_pair_clock_error(p));
	tl_free(tl);
}

static void test_unrelated_not_paired(void **state)
{
	/* the destination answered the PING 30 ms after it came, the source
	 * heard the PONG 0.1 ms after it asked: not one exchange */
	struct tl *tl = tl_new();
	struct rb b = {0};

	proc_rec(&b, SRC, AT(-10), "", "", false);
	proc_rec(&b, DST, AT(-5), "", "", true);
	st(&b, SRC, AT(0), "setup");
	EV(&b, SRC, AT(2.2), MS_P_SAVEVM_COMMAND_SEND, U(MS_MIG_CMD_PING), U(4));
	EV(&b, SRC, AT(2.3), MS_P_SOURCE_RETURN_PATH_THREAD_PONG, U(1));
	st(&b, SRC, AT(5), "completed");
	st(&b, DST, AT(0), "setup");
	EV(&b, DST, AT(2.25), MS_P_LOADVM_PROCESS_COMMAND, S("PING"), U(4));
	EV(&b, DST, AT(32.25), MS_P_MIGRATE_SEND_RP_MESSAGE, U(MS_MIG_RP_MSG_PONG), U(4));
	st(&b, DST, AT(40), "completed");
	other_clock(tl, &b, DST, MSI(1000), UINT64_MAX, 0);
	rb_feed(tl, &b);
	tl_finish(tl, AT(2000));
	assert_int_equal(tl_nmigs(tl), 2);
	assert_int_equal(tl_npairs(tl), 0);
	tl_free(tl);
}

static void test_clock_step(void **state)
{
	/* the destination's clock steps 30 ms forward at 50 ms (true time):
	 * no single offset fits, those of the stop phase do */
	struct tl *tl = run_aligned("guest1", MSI(41), AT(50), MSI(30), true);
	const struct tl_pair *p;

	assert_int_equal(tl_npairs(tl), 1);
	p = tl_pair_at(tl, 0);
	assert_int_equal(p->basis, TL_CLOCK_STOP_PHASE);
	assert_int_equal(tl_pair_clock_error(p), 15000);
	assert_within(tl_pair_clock_offset(tl, p), -MSI(71), tl_pair_clock_error(p));
	assert_within(tl_pair_guest_downtime(tl, p), NS_MS(17), tl_pair_clock_error(p));
	tl_free(tl);
}

static void test_no_return_path(void **state)
{
	/* stream messages only: one side of the interval, realtime kept */
	struct tl *tl = run_aligned_("guest1", 0, UINT64_MAX, 0, false, false);
	const struct tl_pair *p;

	assert_int_equal(tl_npairs(tl), 1);
	p = tl_pair_at(tl, 0);
	assert_int_equal(p->basis, TL_CLOCK_REALTIME);
	assert_false(tl_dhas(tl_pair_clock_error(p)));
	assert_int_equal(tl_pair_guest_downtime(tl, p), NS_MS(17));
	tl_free(tl);

	/* a realtime estimate that breaks the stream's bound is moved to it */
	tl = run_aligned_("guest1", MSI(-3), UINT64_MAX, 0, false, false);
	p = tl_pair_at(tl, 0);
	assert_int_equal(p->skew_ns, -MSI(3) + MSI(0.01));
	tl_free(tl);
}

static void test_postcopy_device_state(void **state)
{
	/* 10.2: postcopy-device (the devices' state first) before postcopy-active */
	struct tl *tl = tl_new();
	struct rb b = {0};
	const struct tl_mig *m;

	proc_rec(&b, SRC, AT(-10), "g", "", false);
	st(&b, SRC, AT(0), "setup");
	st(&b, SRC, AT(1), "active");
	EV(&b, SRC, AT(2), MS_P_MIGRATE_PENDING_ESTIMATE, U(100), U(100), U(0));
	st(&b, SRC, AT(10), "postcopy-device");
	rb_feed(tl, &b);
	m = mig_of(tl, SRC);
	assert_int_equal(tl_mig_milestone(m, TL_M_POSTCOPY_DEVICE), AT(10));
	assert_string_equal(tl_mig_phase(m), "postcopy");
	st(&b, SRC, AT(12), "postcopy-active");
	st(&b, SRC, AT(20), "completed");
	rb_feed(tl, &b);
	tl_finish(tl, AT(30));
	m = mig_of(tl, SRC);
	assert_int_equal(tl_mig_milestone(m, TL_M_POSTCOPY_ACTIVE), AT(12));
	assert_int_equal(m->result, TL_RES_COMPLETED);
	tl_free(tl);
}

static void test_lost_stays_in_its_input(void **state)
{
	/* two recorders of one host: a loss in the destination's file does
	 * not touch the source's migration */
	struct tl *tl = tl_new();
	struct tl_input in = {.clock = 0};
	struct rb b = {0};
	union ms_rec *r;

	assert_int_equal(tl_set_input(tl, 1, &in), 0);
	proc_rec(&b, SRC, AT(-10), "g", "", false);
	proc_rec(&b, DST, AT(-5), "g", "", true);
	src_standard(&b, SRC, ACK_AFTER_READY);
	dst_standard(&b, DST, 60.6);
	lost_rec(&b, AT(50), 7);
	r = &b.e[b.n - 1].r;
	r->h.input = 1;
	lost_rec(&b, AT(-20), 3); /* the source's recorder, before it started */
	for (size_t i = 0; i < b.n; i++)
		if (b.e[i].r.h.pid == DST)
			b.e[i].r.h.input = 1;
	rb_feed(tl, &b);
	tl_finish(tl, AT(200));
	assert_true(tl_single_clock(tl));
	assert_int_equal(tl_lost_total(tl), 10);
	assert_false(mig_of(tl, SRC)->incomplete);
	assert_int_equal(mig_of(tl, SRC)->lost_records, 0);
	assert_true(mig_of(tl, DST)->incomplete);
	assert_int_equal(mig_of(tl, DST)->lost_records, 1);
	tl_free(tl);
}

static void test_same_pid_two_clocks(void **state)
{
	/* two hosts may give the two sides one pid */
	struct tl *tl = tl_new();
	struct rb b = {0};

	proc_rec(&b, SRC, AT(-10), "g", "", false);
	src_standard(&b, SRC, ACK_AFTER_READY);
	proc_rec(&b, DST, AT(-5), "g", "", true);
	dst_standard(&b, DST, 60.6);
	msgs_standard(&b, true);
	other_clock(tl, &b, DST, MSI(5), UINT64_MAX, 0);
	for (size_t i = 0; i < b.n; i++)
		if (b.e[i].r.h.pid == DST)
			b.e[i].r.h.pid = b.e[i].r.h.tid = SRC;
	rb_feed(tl, &b);
	tl_finish(tl, AT(300));
	assert_int_equal(tl_nprocs(tl), 2);
	assert_int_equal(tl_npairs(tl), 1);
	assert_int_equal(tl_pair_at(tl, 0)->basis, TL_CLOCK_MESSAGES);
	assert_within(tl_pair_guest_downtime(tl, tl_pair_at(tl, 0)), NS_MS(17),
		      tl_pair_clock_error(tl_pair_at(tl, 0)));
	tl_free(tl);
}

static void test_downtime_breakdown(void **state)
{
	struct tl *tl = run_pair("guest1", UUID, "guest1", UUID, true);
	const struct tl_mig *s = mig_of(tl, SRC), *d = mig_of(tl, DST);
	struct tl_breakdown bd;

	tl_mig_breakdown(tl, s, &bd);
	assert_int_equal(bd.stop, NS_MS(5));	      /* 81 -> 86 */
	assert_int_equal(bd.iterable, NS_MS(4));      /* 86 -> 90 */
	assert_int_equal(bd.non_iterable, NS_MS(2));  /* 90 -> 92 */
	assert_int_equal(bd.transfer_load, NS_MS(8)); /* 92 -> dst 100 */
	assert_int_equal(bd.dst_start, NS_MS(3));     /* 100 -> 103 */
	tl_mig_breakdown(tl, d, &bd);
	assert_int_equal(bd.transfer_load, NS_MS(8));
	tl_free(tl);

	/* unpaired source: the destination's parts are absent */
	tl = run_src(ACK_NONE);
	tl_mig_breakdown(tl, only_mig(tl), &bd);
	assert_int_equal(bd.stop, NS_MS(5));
	assert_false(tl_dhas(bd.transfer_load));
	assert_false(tl_dhas(bd.dst_start));
	tl_free(tl);
}

/* ------------------------------------------------------------------ */
/* switchover ack */

static void test_ack_wait_positive(void **state)
{
	struct tl *tl = run_src(ACK_AFTER_READY);
	const struct tl_mig *m = only_mig(tl);

	/* ready at 50.1 (exact 3000 < 5000), ACK at 70 */
	assert_int_equal(tl_mig_ack_wait(tl, m), NS_MS(19.9));
	assert_true(m->held_back);
	assert_int_equal(tl_mig_ack_enabled(m), 1);
	assert_int_equal(tl_mig_acked(m), 1);
	tl_free(tl);
}

static void test_ack_before_ready(void **state)
{
	struct tl *tl = run_src(ACK_BEFORE_READY);
	const struct tl_mig *m = only_mig(tl);

	assert_int_equal(tl_mig_ack_latency(m), NS_MS(43));
	assert_int_equal(tl_mig_ack_wait(tl, m), 0); /* ACK came first */
	assert_false(m->held_back);
	assert_int_equal(tl_mig_ack_enabled(m), 1);
	tl_free(tl);
}

static void test_ack_zero_devices(void **state)
{
	struct tl *tl = tl_new();
	struct rb b = {0};
	const struct tl_mig *s, *d;

	proc_rec(&b, SRC, AT(-1), "g", UUID, false);
	proc_rec(&b, DST, AT(-1), "g", UUID, true);
	st(&b, DST, AT(-1), "setup");
	st(&b, SRC, AT(0), "setup");
	st(&b, SRC, AT(1), "active");
	st(&b, DST, AT(1.5), "active");
	EV(&b, DST, AT(1.6), MS_P_LOADVM_STATE_SWITCHOVER_ACK_NEEDED, U(0));
	EV(&b, DST, AT(1.7), MS_P_MIGRATE_SEND_RP_MESSAGE, U(7), U(0));
	EV0(&b, SRC, AT(1.76), MS_P_SOURCE_RETURN_PATH_THREAD_SWITCHOVER_ACKED);
	EV(&b, SRC, AT(2), MS_P_MIGRATE_TRANSFERRED, U(1), U(1), U(1000), U(1000), U(5000));
	EV(&b, SRC, AT(3), MS_P_MIGRATE_PENDING_ESTIMATE, U(100), U(100), U(0));
	EV(&b, SRC, AT(3.1), MS_P_MIGRATE_PENDING_EXACT, U(90), U(90), U(0));
	EV(&b, SRC, AT(3.2), MS_P_MIGRATION_THREAD_LOW_PENDING, U(90));
	ckpt(&b, SRC, AT(4), "src-downtime-start");
	ckpt(&b, SRC, AT(6), "src-downtime-end");
	st(&b, SRC, AT(7), "completed");
	st(&b, DST, AT(8), "completed");
	rb_feed(tl, &b);
	tl_finish(tl, AT(10));
	s = mig_of(tl, SRC);
	d = mig_of(tl, DST);
	assert_int_equal(d->ack_needed, 0);
	assert_int_equal(tl_mig_ack_pending_initial(d), 0);
	assert_int_equal(d->napprovals, 0);
	assert_int_equal(tl_mig_ack_wait(tl, s), 0);
	assert_int_equal(tl_mig_ack_latency(s), NS_MS(0.76));
	assert_int_equal(tl_pair_ack_transit(tl, tl_mig_pair(s)), NS_MS(0.06));
	assert_int_equal(tl_mig_ack_enabled(s), 1);
	assert_int_equal(tl_mig_ack_enabled(d), 1);
	tl_free(tl);
}

static void test_ack_off(void **state)
{
	struct tl *tl = run_src(ACK_NONE);
	const struct tl_mig *m = only_mig(tl);

	/* completed without an ACK and never held back: switchover-ack off */
	assert_int_equal(tl_mig_ack_enabled(m), 0);
	assert_int_equal(tl_mig_acked(m), 0);
	assert_false(tl_dhas(tl_mig_ack_wait(tl, m)));
	assert_false(tl_dhas(tl_mig_ack_latency(m)));
	assert_true(tl_has(tl_mig_milestone(m, TL_M_READY)));
	tl_free(tl);
}

static void test_ack_wait_still_waiting(void **state)
{
	struct tl *tl = tl_new();
	struct rb b = {0};
	const struct tl_mig *m;

	st(&b, SRC, AT(0), "setup");
	st(&b, SRC, AT(1), "active");
	EV(&b, SRC, AT(2), MS_P_MIGRATE_TRANSFERRED, U(1), U(1), U(1000), U(1000), U(5000));
	EV(&b, SRC, AT(10), MS_P_MIGRATE_PENDING_ESTIMATE, U(100), U(100), U(0));
	EV(&b, SRC, AT(10.1), MS_P_MIGRATE_PENDING_EXACT, U(90), U(90), U(0));
	EV(&b, SRC, AT(20), MS_P_MIGRATE_PENDING_ESTIMATE, U(100), U(100), U(0));
	rb_feed(tl, &b);
	tl_finish(tl, AT(40));
	m = only_mig(tl);
	assert_string_equal(tl_mig_phase(m), "waiting-ack");
	assert_int_equal(tl_mig_ack_enabled(m), 1);
	/* still waiting at the end of input: up to then */
	assert_int_equal(tl_mig_ack_wait(tl, m), NS_MS(29.9));
	tl_free(tl);
}

/* A migration's devices and section headers are kept up to their bounds
 * (grown as they come), the rest counted as dropped. */
static void test_bounded_arrays(void **state)
{
	struct tl *tl = tl_new();
	struct rb b = {0};
	const struct tl_mig *m;
	char name[32];

	(void)state;
	st(&b, DST, AT(0), "setup");
	st(&b, DST, AT(1), "active");
	for (int i = 0; i < TL_MAX_DEVS + 4; i++) {
		snprintf(name, sizeof(name), "0000:00:%02x.0", i + 1);
		EV(&b, DST, AT(2 + i), MS_P_VFIO_LOAD_STATE, S(name),
		   U(MS_VFIO_MIG_FLAG_DEV_DATA_STATE));
	}
	rb_feed(tl, &b);
	tl_finish(tl, AT(50));
	m = only_mig(tl);
	assert_int_equal(m->ndevs, TL_MAX_DEVS);
	assert_int_equal(m->devs_dropped, 4);
	for (uint32_t i = 0; i < m->ndevs; i++) {
		snprintf(name, sizeof(name), "0000:00:%02x.0", i + 1);
		assert_string_equal(m->devs[i].name, name);
	}
	tl_free(tl);

	tl = tl_new();
	b = (struct rb){0};
	st(&b, SRC, AT(0), "setup");
	st(&b, SRC, AT(1), "active");
	for (int i = 0; i < TL_MAX_PARTS + 44; i++)
		EV(&b, SRC, AT(2 + i), MS_P_SAVEVM_SECTION_START, S("ram"), U(2));
	rb_feed(tl, &b);
	tl_finish(tl, AT(1000));
	m = only_mig(tl);
	assert_int_equal(m->nparts, TL_MAX_PARTS);
	assert_int_equal(m->parts_dropped, 44);
	for (uint16_t i = 0; i < m->nparts; i++) {
		assert_int_equal(m->parts[i].ord, i);
		assert_int_equal(m->parts[i].ts, AT(2 + i));
	}
	tl_free(tl);
}

static void test_approval_latency(void **state)
{
	struct tl *tl = tl_new();
	struct rb b = {0};
	const struct tl_mig *m;
	const struct tl_dev *a, *c;

	st(&b, DST, AT(0), "setup");
	st(&b, DST, AT(1), "active");
	EV(&b, DST, AT(2), MS_P_LOADVM_STATE_SWITCHOVER_ACK_NEEDED, U(2));
	EV(&b, DST, AT(10), MS_P_VFIO_LOAD_STATE, S(DEV2), U(MS_VFIO_MIG_FLAG_DEV_DATA_STATE));
	EV(&b, DST, AT(20), MS_P_VFIO_LOAD_STATE, S(DEV), U(MS_VFIO_MIG_FLAG_DEV_INIT_DATA_SENT));
	EV(&b, DST, AT(20.25), MS_P_LOADVM_APPROVE_SWITCHOVER, U(1));
	EV(&b, DST, AT(30), MS_P_VFIO_LOAD_STATE, S(DEV2), U(MS_VFIO_MIG_FLAG_DEV_INIT_DATA_SENT));
	EV(&b, DST, AT(30.5), MS_P_LOADVM_APPROVE_SWITCHOVER, U(0));
	EV(&b, DST, AT(30.6), MS_P_MIGRATE_SEND_RP_MESSAGE, U(7), U(0));
	EV(&b, DST, AT(31), MS_P_MIGRATE_SEND_RP_MESSAGE, U(2), U(4)); /* a PONG: not the ACK */
	rb_feed(tl, &b);
	tl_finish(tl, AT(50));
	m = only_mig(tl);
	a = dev_of(m, DEV);
	c = dev_of(m, DEV2);
	assert_int_equal(tl_dev_approval_latency(a), NS_MS(0.25));
	assert_int_equal(a->approve_pending, 1);
	assert_int_equal(tl_dev_approval_latency(c), NS_MS(0.5));
	assert_int_equal(c->approve_pending, 0);
	assert_int_equal(m->napprovals, 2);
	assert_string_equal(m->devs[m->approvals[0].dev].name, DEV);
	assert_string_equal(m->devs[m->approvals[1].dev].name, DEV2);
	assert_int_equal(m->ack_pending, 0);
	assert_int_equal(tl_mig_milestone(m, TL_M_ACK_SENT), AT(30.6));
	assert_int_equal(tl_mig_acked(m), 1);
	tl_free(tl);
}

/* ------------------------------------------------------------------ */
/* devices */

static void test_device_initial_drain_stopcopy(void **state)
{
	struct tl *tl = run_src(ACK_AFTER_READY);
	const struct tl_mig *m = only_mig(tl);
	const struct tl_dev *d;

	assert_int_equal(m->ndevs, 1);
	d = dev_of(m, DEV);
	/* first nonzero initial: the setup-time PRECOPY_INFO ioctl */
	assert_int_equal(tl_dev_initial(m, d), 1000);
	/* save setup 1.5 -> first initial 0 (vfio_save_iterate at 40) */
	assert_int_equal(tl_dev_drain(m, d), NS_MS(38.5));
	/* latest stop-copy size: vfio_state_pending_exact */
	assert_int_equal(tl_dev_stopcopy(m, d), 7777);
	assert_int_equal(tl_dev_complete_precopy(d), NS_MS(2));
	assert_int_equal(tl_dev_bytes_read(m, d), 4096 + 3000);
	/* read while in STOP_COPY */
	assert_int_equal(tl_dev_stopcopy_read(m, d), 3000);
	assert_int_equal(d->block_bytes, 4000);
	assert_false(tl_has(tl_dev_bytes_written(m, d)));
	tl_free(tl);
}

/* The syscall programs were off (MS_F_NO_SYSCALLS) when a VFIO probe of the
 * migration fired: the data fd counts are not whole, so null; a flagged
 * probe of the migration core (the QMP command before the attach, say) says
 * nothing of the device's I/O. */
static struct tl *run_src_flagged(unsigned int flag_probe)
{
	return run_src_with(ACK_AFTER_READY, flag_probe);
}

static void test_no_syscalls_nulls_io_counts(void **state)
{
	struct tl *tl = run_src_flagged(MS_P_VFIO_SAVE_SETUP);
	const struct tl_mig *m = only_mig(tl);
	const struct tl_dev *d = dev_of(m, DEV);

	assert_true(m->nosys);
	assert_false(tl_has(tl_dev_bytes_read(m, d)));
	assert_false(tl_has(tl_dev_bytes_written(m, d)));
	/* figures of probes stand: the stop-copy reads of vfio_save_block */
	assert_int_equal(tl_dev_stopcopy_read(m, d), 3000);
	assert_int_equal(tl_dev_stopcopy(m, d), 7777);
	tl_free(tl);

	tl = run_src_flagged(MS_P_MIGRATE_PENDING_ESTIMATE);
	m = only_mig(tl);
	d = dev_of(m, DEV);
	assert_false(m->nosys);
	assert_int_equal(tl_dev_bytes_read(m, d), 4096 + 3000);
	assert_int_equal(tl_dev_stopcopy_read(m, d), 3000);
	tl_free(tl);
}

/*
 * Device state over multifd (QEMU 10.0+, hw/vfio/migration-multifd.c). The
 * source's save thread (tid 7001) moves the device to STOP_COPY itself, reads
 * 2 MiB from the data fd with no vfio_save_block (precopy had one), saves the
 * config and ends at 24.5; the migration thread's section is the end marker
 * only (3 us). On the destination the load thread (8100) starts at 21, waits
 * for packets 0, 1 and 2 (the config), writes buffers 0 and 1 (0.5 + 0.4 ms),
 * loads the config and ends at 24.9.
 */
static void test_multifd_device_state(void **state)
{
	struct tl *tl = tl_new();
	struct rb b = {0};
	const struct tl_mig *m;
	const struct tl_dev *d;

	proc_rec(&b, SRC, AT(-10), "guest1", UUID, false);
	st(&b, SRC, AT(0), "setup");
	EVT(&b, SRC, SRC + 1, AT(0.95), MS_P_VFIO_MIGRATION_SET_STATE, S(DEV), S("PRE_COPY"),
	    S("RUNNING"));
	ioctl_set(&b, SRC, SRC + 1, AT(1.0), 30, MS_VFIO_PRE_COPY, MSF(0.2), 31, 0);
	EVT(&b, SRC, SRC + 1, AT(1.21), MS_P_VFIO_MIGRATION_SET_DEVICE_STATE, S(DEV),
	    S("PRE_COPY"));
	st(&b, SRC, AT(2), "active");
	data_io(&b, SRC, SRC + 1, AT(9.9), 31, MS_IO_READ, 1000);
	EVT(&b, SRC, SRC + 1, AT(10), MS_P_VFIO_SAVE_BLOCK, S(DEV), U(1000));
	ckpt(&b, SRC, AT(20), "src-downtime-start");
	ckpt(&b, SRC, AT(20.5), "src-vm-stopped");
	EVT(&b, SRC, 7001, AT(21), MS_P_VFIO_SAVE_COMPLETE_PRECOPY_THREAD_START, S(DEV),
	    S(DEV "/vfio"), U(0));
	EVT(&b, SRC, SRC + 1, AT(21.05), MS_P_VMSTATE_DOWNTIME_SAVE, S("iterable"), S(DEV "/vfio"),
	    U(0), U(3));
	EVT(&b, SRC, 7001, AT(21.1), MS_P_VFIO_MIGRATION_SET_STATE, S(DEV), S("STOP_COPY"),
	    S("STOP"));
	ioctl_set(&b, SRC, 7001, AT(21.2), 30, MS_VFIO_STOP_COPY, MSF(0.5), -1, 0);
	EVT(&b, SRC, 7001, AT(21.8), MS_P_VFIO_MIGRATION_SET_DEVICE_STATE, S(DEV), S("STOP_COPY"));
	data_io(&b, SRC, 7001, AT(22), 31, MS_IO_READ, 1 << 20);
	data_io(&b, SRC, 7001, AT(23), 31, MS_IO_READ, 1 << 20);
	data_io(&b, SRC, 7001, AT(23.5), 31, MS_IO_READ, 0);
	EVT(&b, SRC, 7001, AT(24), MS_P_VFIO_SAVE_DEVICE_CONFIG_STATE, S(DEV));
	EVT(&b, SRC, 7001, AT(24.5), MS_P_VFIO_SAVE_COMPLETE_PRECOPY_THREAD_END, S(DEV), U(1));
	ckpt(&b, SRC, AT(25), "src-iterable-saved");
	st(&b, SRC, AT(30), "completed");
	rb_feed(tl, &b);
	tl_finish(tl, AT(200));
	m = only_mig(tl);
	d = dev_of(m, DEV);
	assert_true(tl_dev_multifd(d));
	/* the thread's reads in STOP_COPY, not the precopy vfio_save_block */
	assert_int_equal(tl_dev_stopcopy_read(m, d), 2 << 20);
	assert_int_equal(tl_dev_mf_save(d), NS_MS(3.5));
	assert_int_equal(tl_dev_save_us(m, d), 3500); /* not the marker's 3 */
	assert_int_equal(d->mf_save_ret, 1);
	tl_free(tl);

	tl = tl_new();
	memset(&b, 0, sizeof(b));
	proc_rec(&b, DST, AT(-10), "guest1", UUID, true);
	st(&b, DST, AT(0), "setup");
	st(&b, DST, AT(1), "active");
	EVT(&b, DST, 8100, AT(21), MS_P_VFIO_LOAD_BUFS_THREAD_START, S(DEV));
	EVT(&b, DST, 8100, AT(21.01), MS_P_VFIO_LOAD_STATE_DEVICE_BUFFER_STARVED, S(DEV), U(0));
	EVT(&b, DST, 8001, AT(21.5), MS_P_VFIO_LOAD_STATE_DEVICE_BUFFER_INCOMING, S(DEV), U(0));
	EVT(&b, DST, 8100, AT(21.6), MS_P_VFIO_LOAD_STATE_DEVICE_BUFFER_START, S(DEV));
	EVT(&b, DST, 8100, AT(21.6), MS_P_VFIO_LOAD_STATE_DEVICE_BUFFER_LOAD_START, S(DEV), U(0));
	EVT(&b, DST, 8100, AT(22.1), MS_P_VFIO_LOAD_STATE_DEVICE_BUFFER_LOAD_END, S(DEV), U(0));
	EVT(&b, DST, 8100, AT(22.1), MS_P_VFIO_LOAD_STATE_DEVICE_BUFFER_STARVED, S(DEV), U(1));
	EVT(&b, DST, 8002, AT(22.9), MS_P_VFIO_LOAD_STATE_DEVICE_BUFFER_INCOMING, S(DEV), U(1));
	EVT(&b, DST, 8100, AT(23), MS_P_VFIO_LOAD_STATE_DEVICE_BUFFER_LOAD_START, S(DEV), U(1));
	EVT(&b, DST, 8100, AT(23.4), MS_P_VFIO_LOAD_STATE_DEVICE_BUFFER_LOAD_END, S(DEV), U(1));
	EVT(&b, DST, 8100, AT(23.4), MS_P_VFIO_LOAD_STATE_DEVICE_BUFFER_END, S(DEV));
	EVT(&b, DST, 8100, AT(23.4), MS_P_VFIO_LOAD_STATE_DEVICE_BUFFER_STARVED, S(DEV), U(2));
	EVT(&b, DST, 8001, AT(24.6), MS_P_VFIO_LOAD_STATE_DEVICE_BUFFER_INCOMING, S(DEV), U(2));
	EVT(&b, DST, 8100, AT(24.7), MS_P_VFIO_LOAD_DEVICE_CONFIG_STATE_START, S(DEV));
	EVT(&b, DST, 8100, AT(24.8), MS_P_VFIO_LOAD_DEVICE_CONFIG_STATE_END, S(DEV));
	EVT(&b, DST, 8100, AT(24.9), MS_P_VFIO_LOAD_BUFS_THREAD_END, S(DEV));
	EVT(&b, DST, DST, AT(25), MS_P_VMSTATE_DOWNTIME_LOAD, S("iterable"), S(DEV "/vfio"), U(0),
	    U(2));
	st(&b, DST, AT(30), "completed");
	rb_feed(tl, &b);
	tl_finish(tl, AT(200));
	m = only_mig(tl);
	d = dev_of(m, DEV);
	assert_int_equal(tl_mig_role(m), TL_ROLE_DEST);
	assert_true(tl_dev_multifd(d));
	assert_int_equal(d->mf_incoming, 3);
	assert_int_equal(d->mf_first_in, AT(21.5));
	assert_int_equal(d->mf_last_in, AT(24.6));
	assert_int_equal(d->mf_loaded, 2);
	assert_int_equal(d->mf_write_ns, NS_MS(0.9));
	assert_int_equal(d->mf_starved, 3);
	/* 21.01 -> 21.6, 22.1 -> 23, 23.4 -> the config's load at 24.7 */
	assert_int_equal(d->mf_starved_ns, NS_MS(0.59) + NS_MS(0.9) + NS_MS(1.3));
	assert_int_equal(tl_dev_mf_load(d), NS_MS(3.9));
	assert_int_equal(tl_dev_load_us(m, d), 3900);
	tl_free(tl);
}

static void test_stopcopy_from_ioctl(void **state)
{
	struct tl *tl = tl_new();
	struct rb b = {0};
	const struct tl_mig *m;

	st(&b, SRC, AT(0), "setup");
	EVT(&b, SRC, 7, AT(1), MS_P_VFIO_MIGRATION_SET_STATE, S(DEV), S("PRE_COPY"), S("RUNNING"));
	ioctl_set(&b, SRC, 7, AT(1.1), 30, MS_VFIO_PRE_COPY, 1000, 31, 0);
	ioctl_datasize(&b, SRC, 7, AT(5), 30, 424242); /* fd 30 is DEV's by now */
	rb_feed(tl, &b);
	tl_finish(tl, AT(10));
	m = only_mig(tl);
	assert_int_equal(tl_dev_stopcopy(m, dev_of(m, DEV)), 424242);
	tl_free(tl);
}

static void test_destination_device_bytes(void **state)
{
	struct tl *tl = run_pair("guest1", UUID, "guest1", UUID, true);
	const struct tl_mig *s = mig_of(tl, SRC), *d = mig_of(tl, DST);
	const struct tl_dev *dd = dev_of(d, DEV);

	/* loaded before its DEV_INIT_DATA_SENT */
	assert_int_equal(tl_dev_initial(d, dd), 5000);
	/* loaded in the stop phase = what the source read in STOP_COPY */
	assert_int_equal(tl_dev_stopcopy(d, dd), 3000);
	assert_int_equal(tl_dev_stopcopy(s, dev_of(s, DEV)), 7777); /* the source's size */
	assert_false(tl_has(tl_dev_stopcopy_read(d, dd)));
	assert_int_equal(tl_dev_bytes_written(d, dd), 8000);
	tl_free(tl);

	/* no source to pair with: the stop-phase bytes are not known */
	tl = tl_new();
	struct rb b = {0};

	proc_rec(&b, DST, AT(-5), "guest1", UUID, true);
	dst_standard(&b, DST, 60.6);
	rb_feed(tl, &b);
	tl_finish(tl, AT(200));
	d = only_mig(tl);
	assert_int_equal(tl_dev_initial(d, dev_of(d, DEV)), 5000);
	assert_false(tl_has(tl_dev_stopcopy(d, dev_of(d, DEV))));
	tl_free(tl);
}

static void test_approvals_delayed_fifo(void **state)
{
	struct tl *tl = tl_new();
	struct rb b = {0};
	const struct tl_mig *m;

	st(&b, DST, AT(0), "setup");
	st(&b, DST, AT(1), "active");
	EV(&b, DST, AT(2), MS_P_LOADVM_STATE_SWITCHOVER_ACK_NEEDED, U(2));
	/* both devices send their initial data, each approves 10 ms later */
	EV(&b, DST, AT(20), MS_P_VFIO_LOAD_STATE, S(DEV), U(MS_VFIO_MIG_FLAG_DEV_INIT_DATA_SENT));
	EV(&b, DST, AT(25), MS_P_VFIO_LOAD_STATE, S(DEV2), U(MS_VFIO_MIG_FLAG_DEV_INIT_DATA_SENT));
	EV(&b, DST, AT(30), MS_P_LOADVM_APPROVE_SWITCHOVER, U(1));
	EV(&b, DST, AT(35), MS_P_LOADVM_APPROVE_SWITCHOVER, U(0));
	/* a stray approval with nobody waiting */
	EV(&b, DST, AT(36), MS_P_LOADVM_APPROVE_SWITCHOVER, U(0));
	rb_feed(tl, &b);
	tl_finish(tl, AT(50));
	m = only_mig(tl);
	assert_int_equal(tl_dev_approval_latency(dev_of(m, DEV)), NS_MS(10));
	assert_int_equal(tl_dev_approval_latency(dev_of(m, DEV2)), NS_MS(10));
	assert_int_equal(dev_of(m, DEV)->approve_pending, 1);
	assert_int_equal(m->napprovals, 3);
	assert_int_equal(m->approvals[2].dev, -1);
	tl_free(tl);
}

static void test_container_dirty_pages_ignored(void **state)
{
	struct tl *tl = tl_new();
	struct rb b = {0};
	union ms_rec *r;
	const struct tl_mig *m;

	st(&b, SRC, AT(0), "setup");
	EVT(&b, SRC, 7, AT(1), MS_P_VFIO_MIGRATION_SET_STATE, S(DEV), S("PRE_COPY"), S("RUNNING"));
	ioctl_set(&b, SRC, 7, AT(1.1), 30, MS_VFIO_PRE_COPY, 1000, 31, 0);
	/* VFIO_IOMMU_DIRTY_PAGES on a container fd: same number, flags STOP (2) */
	r = rb_add(&b, MS_EV_IOCTL, SRC, 7, AT(2));
	r->ioctl.cmd = MS_VFIO_DEVICE_FEATURE;
	r->ioctl.fd = 12;
	r->ioctl.feat_flags = 2;
	r->ioctl.dev_state = 0x12345;
	EVT(&b, SRC, 7, AT(3), MS_P_VFIO_SAVE_SETUP, S(DEV), U(4096));
	rb_feed(tl, &b);
	tl_finish(tl, AT(10));
	m = only_mig(tl);
	assert_int_equal(dev_of(m, DEV)->state, MS_VFIO_PRE_COPY);
	assert_int_equal(dev_of(m, DEV)->ntr, 1);
	assert_false(tl_proc_at(tl, 0)->tids[0].orphan || tl_proc_at(tl, 0)->tids[1].orphan);
	tl_free(tl);
}

static void test_orphan_ioctl_bound_by_next_probe(void **state)
{
	struct tl *tl = tl_new();
	struct rb b = {0};
	const struct tl_mig *m;

	st(&b, SRC, AT(0), "setup");
	/* QEMU queries the size before any probe names the device */
	ioctl_datasize(&b, SRC, 7, AT(1), 30, 5555);
	EVT(&b, SRC, 7, AT(1.1), MS_P_VFIO_SAVE_SETUP, S(DEV), U(4096));
	ioctl_datasize(&b, SRC, 7, AT(2), 30, 6666);
	rb_feed(tl, &b);
	tl_finish(tl, AT(10));
	m = only_mig(tl);
	assert_int_equal(m->ndevs, 1);
	assert_int_equal(tl_dev_stopcopy(m, dev_of(m, DEV)), 6666);
	tl_free(tl);
}

static void test_device_save_load_us(void **state)
{
	struct tl *tl = run_pair("guest1", UUID, "guest1", UUID, true);
	const struct tl_mig *s = mig_of(tl, SRC), *d = mig_of(tl, DST);

	/* "0000:00:05.0/vfio" matches device "0000:00:05.0": 2000 + 300 */
	assert_int_equal(s->ndevs, 1);
	assert_int_equal(tl_dev_save_us(s, dev_of(s, DEV)), 2300);
	assert_int_equal(dev_of(s, DEV)->save_us[0], 2000);
	assert_int_equal(dev_of(s, DEV)->save_us[1], 300);
	assert_false(tl_dhas(tl_dev_load_us(s, dev_of(s, DEV))));
	assert_int_equal(tl_dev_load_us(d, dev_of(d, DEV)), 1500);
	/* "ram" is not a device */
	assert_int_equal(s->nsections, 1);
	assert_string_equal(s->sections[0].idstr, "ram");
	assert_int_equal(s->sections[0].us, 500);
	assert_true(s->sections[0].iterable);
	tl_free(tl);
}

static void test_device_alias(void **state)
{
	struct tl *tl = tl_new();
	struct rb b = {0};
	const struct tl_mig *m;

	/* host device 0000:3b:00.1 is 0000:00:05.0 in the guest */
	st(&b, SRC, AT(0), "setup");
	EVT(&b, SRC, 7, AT(1), MS_P_VFIO_SAVE_SETUP, S("0000:3b:00.1"), U(4096));
	EVT(&b, SRC, 7, AT(2), MS_P_VMSTATE_DOWNTIME_SAVE, S("iterable"), S("ram"), U(0), U(10));
	EVT(&b, SRC, 7, AT(3), MS_P_VFIO_SAVE_COMPLETE_PRECOPY, S("0000:3b:00.1"), U(0));
	EVT(&b, SRC, 7, AT(3.1), MS_P_VMSTATE_DOWNTIME_SAVE, S("iterable"), S(DEV "/vfio"), U(0),
	    U(700));
	EVT(&b, SRC, 7, AT(4), MS_P_VMSTATE_DOWNTIME_SAVE, S("non-iterable"), S("cpu"), U(0), U(5));
	/* no vfio probe in between: the learnt alias matches */
	EVT(&b, SRC, 7, AT(4.1), MS_P_VMSTATE_DOWNTIME_SAVE, S("non-iterable"), S(DEV "/vfio"),
	    U(0), U(40));
	rb_feed(tl, &b);
	tl_finish(tl, AT(10));
	m = only_mig(tl);
	assert_int_equal(m->ndevs, 1);
	assert_int_equal(tl_dev_save_us(m, dev_of(m, "0000:3b:00.1")), 740);
	assert_int_equal(m->nsections, 2);
	tl_free(tl);
}

static void test_transitions_qemu10_order(void **state)
{
	struct tl *tl = run_src(ACK_NONE);
	const struct tl_mig *m = only_mig(tl);
	const struct tl_dev *d = dev_of(m, DEV);

	/* set_state probe, ioctl, set_device_state probe: one transition each */
	assert_int_equal(d->ntr, 2);
	assert_int_equal(d->tr[0].from, TL_VFIO_UNKNOWN); /* never seen before */
	assert_int_equal(d->tr[0].to, MS_VFIO_PRE_COPY);
	assert_int_equal(d->tr[0].dur_ns, NS_MS(0.2));
	assert_int_equal(d->tr[0].ts, AT(1));
	assert_int_equal(d->tr[1].from, MS_VFIO_PRE_COPY);
	assert_int_equal(d->tr[1].to, MS_VFIO_STOP_COPY);
	assert_int_equal(d->tr[1].dur_ns, NS_MS(3));
	assert_int_equal(d->tr[1].ts, AT(82));
	assert_int_equal(d->tr[1].ret, 0);
	assert_int_equal(d->state, MS_VFIO_STOP_COPY);
	tl_free(tl);
}

static void test_transitions_probe_first_order(void **state)
{
	struct tl *tl = tl_new();
	struct rb b = {0};
	const struct tl_dev *d, *e;
	const struct tl_mig *m;

	EV(&b, SRC, AT(-5), MS_P_VFIO_MIGRATION_REALIZE, S(DEV));
	st(&b, SRC, AT(0), "setup");
	/* QEMU 10.0's order: the probe, then the ioctl on the same thread */
	EVT(&b, SRC, 7, AT(1), MS_P_VFIO_MIGRATION_SET_DEVICE_STATE, S(DEV), S("PRE_COPY"));
	ioctl_set(&b, SRC, 7, AT(1.1), 30, MS_VFIO_PRE_COPY, MSF(0.4), 31, 0);
	EVT(&b, SRC, 8, AT(2), MS_P_VFIO_MIGRATION_SET_DEVICE_STATE, S(DEV2), S("PRE_COPY"));
	ioctl_set(&b, SRC, 8, AT(2.1), 32, MS_VFIO_PRE_COPY, MSF(0.3), 33, 0);
	/* later ioctls on DEV's fd need no probe */
	ioctl_set(&b, SRC, 9, AT(10), 30, MS_VFIO_STOP_COPY, MSF(1), -1, 0);
	rb_feed(tl, &b);
	tl_finish(tl, AT(20));
	m = only_mig(tl);
	d = dev_of(m, DEV);
	e = dev_of(m, DEV2);
	assert_int_equal(d->ntr, 2);
	assert_int_equal(d->tr[0].from, MS_VFIO_RUNNING); /* known from realize */
	assert_int_equal(d->tr[0].to, MS_VFIO_PRE_COPY);
	assert_int_equal(d->tr[0].dur_ns, NS_MS(0.4));
	assert_int_equal(d->tr[0].ts, AT(1.1));
	assert_int_equal(d->tr[1].from, MS_VFIO_PRE_COPY);
	assert_int_equal(d->tr[1].to, MS_VFIO_STOP_COPY);
	assert_int_equal(e->ntr, 1);
	assert_int_equal(e->tr[0].dur_ns, NS_MS(0.3));
	assert_int_equal(e->tr[0].from, TL_VFIO_UNKNOWN);
	tl_free(tl);
}

static void test_transitions_probe_only_and_failure(void **state)
{
	struct tl *tl = tl_new();
	struct rb b = {0};
	const struct tl_dev *d;
	const struct tl_mig *m;

	st(&b, SRC, AT(0), "setup");
	/* a log import: no ioctl records */
	EVT(&b, SRC, 7, AT(1), MS_P_VFIO_MIGRATION_SET_STATE, S(DEV), S("PRE_COPY"), S("RUNNING"));
	EVT(&b, SRC, 7, AT(1.2), MS_P_VFIO_MIGRATION_SET_DEVICE_STATE, S(DEV), S("PRE_COPY"));
	/* a failing transition, then the recover state */
	EVT(&b, SRC, 7, AT(5), MS_P_VFIO_MIGRATION_SET_STATE, S(DEV), S("STOP_COPY"), S("RUNNING"));
	ioctl_set(&b, SRC, 7, AT(6), 30, MS_VFIO_STOP_COPY, MSF(1), -1, -5);
	ioctl_set(&b, SRC, 7, AT(7), 30, MS_VFIO_RUNNING, MSF(0.5), -1, 0);
	EVT(&b, SRC, 7, AT(7.1), MS_P_VFIO_MIGRATION_SET_DEVICE_STATE, S(DEV), S("RUNNING"));
	rb_feed(tl, &b);
	tl_finish(tl, AT(20));
	m = only_mig(tl);
	d = dev_of(m, DEV);
	assert_int_equal(d->ntr, 3);
	assert_false(tl_dhas(d->tr[0].dur_ns));
	assert_int_equal(d->tr[0].to, MS_VFIO_PRE_COPY);
	assert_int_equal(d->tr[1].ret, -5);
	assert_int_equal(d->tr[1].from, MS_VFIO_PRE_COPY);
	assert_int_equal(d->tr[1].to, MS_VFIO_STOP_COPY);
	/* the failed one did not change the state */
	assert_int_equal(d->tr[2].from, MS_VFIO_PRE_COPY);
	assert_int_equal(d->tr[2].to, MS_VFIO_RUNNING);
	assert_int_equal(d->tr[2].dur_ns, NS_MS(0.5));
	assert_int_equal(d->state, MS_VFIO_RUNNING);
	tl_free(tl);
}

static void test_post_end_grace(void **state)
{
	struct tl *tl = tl_new();
	struct rb b = {0};
	const struct tl_mig *m;

	st(&b, SRC, AT(0), "setup");
	EVT(&b, SRC, 7, AT(1), MS_P_VFIO_MIGRATION_SET_STATE, S(DEV), S("PRE_COPY"), S("RUNNING"));
	ioctl_set(&b, SRC, 7, AT(1.1), 30, MS_VFIO_PRE_COPY, 1000, 31, 0);
	st(&b, SRC, AT(10), "failed");
	/* QEMU puts the device back right after the failure */
	ioctl_set(&b, SRC, 7, AT(12), 30, MS_VFIO_RUNNING, 1000, -1, 0);
	/* long after: a device reset, not part of the migration */
	ioctl_set(&b, SRC, 7, AT(10 + 60000), 30, MS_VFIO_STOP, 1000, -1, 0);
	rb_feed(tl, &b);
	tl_finish(tl, AT(10 + 70000));
	m = only_mig(tl);
	assert_int_equal(dev_of(m, DEV)->ntr, 2);
	assert_int_equal(dev_of(m, DEV)->tr[1].to, MS_VFIO_RUNNING);
	tl_free(tl);
}

/* ------------------------------------------------------------------ */
/* convergence, stall */

static void test_convergence_series(void **state)
{
	struct tl *tl = run_src(ACK_AFTER_READY);
	const struct tl_mig *m = only_mig(tl);
	const struct tl_sample *s;

	assert_int_equal(m->iterations, 4);
	assert_int_equal(m->series_n, 4);
	s = tl_mig_sample(m, 0);
	assert_int_equal(s->ts, AT(30));
	assert_int_equal(s->pending, 100000);
	assert_false(tl_has(s->exact));
	assert_int_equal(s->threshold, 5000);
	assert_int_equal(s->bandwidth, 1000);
	s = tl_mig_sample(m, 1);
	assert_int_equal(s->exact, 3000);
	assert_null(tl_mig_sample(m, 4));
	/* predicted downtime: 2500 B at 1000 B/ms */
	assert_int_equal(tl_mig_predicted_downtime(m), NS_MS(2.5));
	assert_int_equal(m->low_pending, 2500);
	tl_free(tl);
}

static void test_series_ring_bounded(void **state)
{
	struct tl *tl = tl_new();
	struct rb b = {0};
	const struct tl_mig *m;

	st(&b, SRC, AT(0), "setup");
	for (int i = 0; i < TL_SERIES_LEN + 10; i++)
		EV(&b, SRC, AT(1 + i), MS_P_MIGRATE_PENDING_ESTIMATE, U(1000000 - i), U(0), U(0));
	rb_feed(tl, &b);
	tl_finish(tl, AT(1000));
	m = only_mig(tl);
	assert_int_equal(m->iterations, TL_SERIES_LEN + 10);
	assert_int_equal(m->series_n, TL_SERIES_LEN);
	assert_int_equal(tl_mig_sample(m, 0)->pending, 1000000 - 10); /* oldest kept */
	assert_int_equal(tl_mig_sample(m, TL_SERIES_LEN - 1)->pending,
			 1000000 - (TL_SERIES_LEN + 9));
	tl_free(tl);
}

static void stall_prefix(struct rb *b)
{
	st(b, SRC, AT(0), "setup");
	EV(b, SRC, AT(0.5), MS_P_VFIO_SAVE_SETUP, S(DEV), U(4096));
	EV(b, SRC, AT(0.6), MS_P_VFIO_SAVE_ITERATE, S(DEV), U(5000), U(0));
	st(b, SRC, AT(1), "active");
	EV(b, SRC, AT(2), MS_P_MIGRATE_TRANSFERRED, U(1), U(1), U(1000), U(1000), U(5000));
}

/* QEMU 10.1 completes at pending <= threshold, earlier releases strictly below
 * it; a version unknown is read the older way */
static void test_ready_at_threshold_by_version(void **state)
{
	static const struct {
		uint32_t version;
		bool ready_at_equal;
	} cases[] = {{0, false}, {80200, false}, {100002, false}, {100100, true}, {100202, true}};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tl *tl = tl_new();
		struct rb b = {0};
		const struct tl_mig *m;
		union ms_rec *r = rb_add(&b, MS_EV_PROC, SRC, SRC, AT(-1));

		r->proc.qemu_version = cases[i].version;
		stall_prefix(&b); /* threshold 5000 */
		EV(&b, SRC, AT(3), MS_P_MIGRATE_PENDING_ESTIMATE, U(5000), U(0), U(0));
		EV(&b, SRC, AT(3.1), MS_P_MIGRATE_PENDING_EXACT, U(5000), U(0), U(0));
		EV(&b, SRC, AT(4), MS_P_MIGRATE_PENDING_ESTIMATE, U(4999), U(0), U(0));
		EV(&b, SRC, AT(4.1), MS_P_MIGRATE_PENDING_EXACT, U(4999), U(0), U(0));
		rb_feed(tl, &b);
		m = only_mig(tl);
		assert_int_equal(m->proc->qemu_version, cases[i].version);
		assert_int_equal(tl_mig_milestone(m, TL_M_READY),
				 cases[i].ready_at_equal ? AT(3.1) : AT(4.1));
		tl_free(tl);
	}
}

static void test_stall_above_threshold(void **state)
{
	struct tl *tl = tl_new();
	struct rb b = {0};
	const struct tl_mig *m;
	struct tl_stall s;

	tl_set_stall_window(tl, MSF(1000));
	stall_prefix(&b);
	/* pending falls, then hovers around 50000 for 2 s */
	EV(&b, SRC, AT(100), MS_P_MIGRATE_PENDING_ESTIMATE, U(90000), U(0), U(0));
	EV(&b, SRC, AT(200), MS_P_MIGRATE_PENDING_ESTIMATE, U(50000), U(0), U(0));
	for (int i = 0; i < 20; i++)
		EV(&b, SRC, AT(300 + 100 * i), MS_P_MIGRATE_PENDING_ESTIMATE,
		   U(i % 2 ? 50100 : 49900), U(0), U(0)); /* noise, not progress */
	rb_feed(tl, &b);
	m = only_mig(tl);
	tl_mig_stall(tl, m, &s);
	assert_true(s.stalled);
	assert_int_equal(s.since, AT(200));
	assert_int_equal(s.reason, TL_STALL_ABOVE_THRESHOLD);
	assert_int_equal(s.devs, 1); /* DEV never drained */
	assert_int_equal(m->stall_ts, AT(1200));
	assert_int_equal(m->stall_reason, TL_STALL_ABOVE_THRESHOLD);
	tl_free(tl);
}

static void test_stall_waiting_ack(void **state)
{
	struct tl *tl = tl_new();
	struct rb b = {0};
	const struct tl_mig *m;
	struct tl_stall s;

	tl_set_stall_window(tl, MSF(1000));
	stall_prefix(&b);
	for (int i = 0; i < 30; i++) {
		EV(&b, SRC, AT(100 + 100 * i), MS_P_MIGRATE_PENDING_ESTIMATE, U(4000), U(0), U(0));
		EV(&b, SRC, AT(100.1 + 100 * i), MS_P_MIGRATE_PENDING_EXACT, U(3000), U(0), U(0));
	}
	rb_feed(tl, &b);
	tl_finish(tl, AT(3100));
	m = only_mig(tl);
	tl_mig_stall(tl, m, &s);
	assert_true(s.stalled);
	assert_int_equal(s.reason, TL_STALL_WAITING_ACK);
	assert_int_equal(s.devs, 1);
	assert_string_equal(tl_stall_reason_name(s.reason), "waiting-ack");
	assert_string_equal(tl_mig_phase(m), "waiting-ack");
	tl_free(tl);
}

static void test_stall_waiting_ack_names_destination_devices(void **state)
{
	struct tl *tl = tl_new();
	struct rb b = {0};
	const struct tl_mig *s, *d;
	struct tl_stall sl;

	tl_set_stall_window(tl, MSF(1000));
	proc_rec(&b, SRC, AT(-2), "g", UUID, false);
	proc_rec(&b, DST, AT(-2), "g", UUID, true);
	st(&b, DST, AT(-1), "setup");
	stall_prefix(&b);
	st(&b, DST, AT(1.5), "active");
	EV(&b, DST, AT(1.6), MS_P_LOADVM_STATE_SWITCHOVER_ACK_NEEDED, U(2));
	EV(&b, DST, AT(3), MS_P_VFIO_LOAD_STATE, S(DEV2), U(MS_VFIO_MIG_FLAG_DEV_SETUP_STATE));
	EV(&b, DST, AT(4), MS_P_VFIO_LOAD_STATE, S(DEV), U(MS_VFIO_MIG_FLAG_DEV_SETUP_STATE));
	EV(&b, SRC, AT(50), MS_P_VFIO_SAVE_ITERATE, S(DEV), U(0), U(0)); /* DEV drained */
	EV(&b, DST, AT(60), MS_P_VFIO_LOAD_STATE, S(DEV), U(MS_VFIO_MIG_FLAG_DEV_INIT_DATA_SENT));
	EV(&b, DST, AT(60.1), MS_P_LOADVM_APPROVE_SWITCHOVER, U(1));
	for (int i = 0; i < 30; i++) {
		EV(&b, SRC, AT(100 + 100 * i), MS_P_MIGRATE_PENDING_ESTIMATE, U(4000), U(0), U(0));
		EV(&b, SRC, AT(100.1 + 100 * i), MS_P_MIGRATE_PENDING_EXACT, U(3000), U(0), U(0));
	}
	rb_feed(tl, &b);
	s = mig_of(tl, SRC);
	d = mig_of(tl, DST);
	assert_ptr_equal(tl_mig_pair(s)->dst, d);
	tl_mig_stall(tl, s, &sl);
	assert_true(sl.stalled);
	assert_int_equal(sl.reason, TL_STALL_WAITING_ACK);
	assert_int_equal(sl.devs, 0); /* the source's only device drained */
	/* DEV2 (first seen on the destination) never approved */
	assert_int_equal(sl.dst_devs, 1u << (dev_of(d, DEV2) - d->devs));
	assert_int_equal(s->stall_dst_devs, sl.dst_devs);
	assert_int_equal(d->ack_pending, 1);
	tl_free(tl);
}

static void test_no_stall_when_converging(void **state)
{
	struct tl *tl = tl_new();
	struct rb b = {0};
	struct tl_stall s;

	tl_set_stall_window(tl, MSF(1000));
	stall_prefix(&b);
	for (int i = 0; i < 30; i++)
		EV(&b, SRC, AT(100 + 100 * i), MS_P_MIGRATE_PENDING_ESTIMATE,
		   U(1000000 - 20000 * i), U(0), U(0));
	rb_feed(tl, &b);
	tl_mig_stall(tl, only_mig(tl), &s);
	assert_false(s.stalled);
	assert_false(tl_has(only_mig(tl)->stall_ts));
	tl_free(tl);

	/* a migration that completed is not stalled, whatever came before */
	tl = run_src(ACK_AFTER_READY);
	tl_mig_stall(tl, only_mig(tl), &s);
	assert_false(s.stalled);
	tl_free(tl);
}

/* ------------------------------------------------------------------ */
/* lost events */

static void test_lost_marks_incomplete(void **state)
{
	struct tl *tl = tl_new();
	struct rb b = {0};
	const struct tl_mig *m;
	const struct tl_dev *d;

	proc_rec(&b, SRC, AT(-10), "guest1", UUID, false);
	src_standard(&b, SRC, ACK_AFTER_READY);
	lost_rec(&b, AT(45), 17); /* (0, 45]: inside the migration */
	rb_feed(tl, &b);
	tl_finish(tl, AT(200));
	m = only_mig(tl);
	d = dev_of(m, DEV);
	assert_true(m->incomplete);
	assert_int_equal(m->lost_records, 1);
	assert_int_equal(tl_lost_total(tl), 17);
	/* first occurrences and counts: absent */
	assert_false(tl_has(tl_mig_milestone(m, TL_M_READY)));
	assert_false(tl_dhas(tl_mig_ack_wait(tl, m)));
	assert_false(tl_has(tl_mig_passes(m)));
	assert_false(tl_dhas(tl_dev_drain(m, d)));
	assert_false(tl_has(tl_dev_initial(m, d)));
	assert_false(tl_dhas(tl_dev_save_us(m, d)));
	assert_false(tl_has(tl_dev_bytes_read(m, d)));
	assert_false(tl_dhas(tl_mig_predicted_downtime(m)));
	assert_int_equal(tl_mig_acked(m), 1);
	/* between two unique milestones, both seen: kept */
	assert_int_equal(tl_mig_precopy(m), NS_MS(79));
	assert_int_equal(tl_mig_downtime(m), NS_MS(14));
	assert_int_equal(tl_mig_ack_latency(m), NS_MS(68));
	assert_int_equal(tl_mig_total(m), NS_MS(96));
	assert_int_equal(d->ntr, 2); /* measured events are still listed */
	tl_free(tl);
}

static void test_lost_outside_interval(void **state)
{
	struct tl *tl = tl_new();
	struct rb b = {0};

	/* migration A: 0..10; migration B (other pid): 100..110 */
	st(&b, 1, AT(0), "setup");
	st(&b, 1, AT(10), "completed");
	lost_rec(&b, AT(50), 3); /* (0, 50]: A's whole life, not B */
	st(&b, 2, AT(100), "setup");
	lost_rec(&b, AT(105), 0); /* a zero count marks nothing */
	st(&b, 2, AT(110), "completed");
	lost_rec(&b, AT(120), 1); /* (105, 120]: B ended at 110 inside it */
	st(&b, 3, AT(200), "setup");
	st(&b, 3, AT(210), "completed");
	rb_feed(tl, &b);
	tl_finish(tl, AT(300));
	assert_true(mig_of(tl, 1)->incomplete);
	assert_true(mig_of(tl, 2)->incomplete);
	assert_int_equal(mig_of(tl, 2)->lost_records, 1);
	assert_false(mig_of(tl, 3)->incomplete);
	assert_int_equal(tl_lost_total(tl), 4);
	tl_free(tl);
}

/* ------------------------------------------------------------------ */
/* callbacks, expiry, accounting */

struct ends {
	int n;
	enum tl_result res[8];
	uint32_t pid[8];
};

static void on_end(const struct tl *tl, const struct tl_mig *m, void *arg)
{
	struct ends *e = arg;

	assert_true(e->n < 8);
	assert_true(tl_has(m->end_ts));
	e->res[e->n] = m->result;
	e->pid[e->n++] = m->pid;
}

static void test_on_end_callback(void **state)
{
	struct tl *tl = tl_new();
	struct rb b = {0};
	struct ends e = {0};

	tl_set_on_end(tl, on_end, &e);
	st(&b, 1, AT(0), "setup");
	st(&b, 1, AT(5), "completed");
	st(&b, 1, AT(6), "completed"); /* duplicate: no second call */
	st(&b, 2, AT(0), "setup");
	exit_rec(&b, 2, AT(7));
	st(&b, 3, AT(0), "setup"); /* still active: no call */
	rb_feed(tl, &b);
	tl_finish(tl, AT(10));
	assert_int_equal(e.n, 2);
	assert_int_equal(e.pid[0], 1);
	assert_int_equal(e.res[0], TL_RES_COMPLETED);
	assert_int_equal(e.pid[1], 2);
	assert_int_equal(e.res[1], TL_RES_ABORTED);
	tl_free(tl);
}

static void test_expire(void **state)
{
	struct tl *tl = run_pair("guest1", UUID, "guest1", UUID, true);
	struct rb b = {0};

	assert_int_equal(tl_nmigs(tl), 2);
	assert_int_equal(tl_npairs(tl), 1);
	/* the destination's process goes on; the source exits */
	exit_rec(&b, SRC, AT(300));
	st(&b, 3, AT(400), "setup"); /* another VM, still migrating */
	rb_feed(tl, &b);

	tl_expire(tl, AT(90)); /* nothing ended before 90 */
	assert_int_equal(tl_nmigs(tl), 3);
	assert_int_equal(tl_npairs(tl), 1);

	tl_expire(tl, AT(1000));
	assert_int_equal(tl_nmigs(tl), 1);
	assert_int_equal(tl_mig_at(tl, 0)->pid, 3);
	assert_int_equal(tl_npairs(tl), 0);
	assert_null(tl_proc_find(tl, SRC));	/* exited: gone */
	assert_non_null(tl_proc_find(tl, DST)); /* alive: kept */
	assert_non_null(tl_proc_find(tl, 3));
	assert_int_equal(tl_nprocs(tl), 2);

	/* the engine still works after expiry */
	b = (struct rb){0};
	st(&b, DST, AT(2000), "setup");
	st(&b, DST, AT(2001), "completed");
	rb_feed(tl, &b);
	assert_int_equal(tl_nmigs(tl), 2);
	assert_int_equal(mig_of(tl, DST)->result, TL_RES_COMPLETED);
	tl_free(tl);
}

static void test_pid_reuse(void **state)
{
	struct tl *tl = tl_new();
	struct rb b = {0};

	proc_rec(&b, SRC, AT(0), "old", "", false);
	st(&b, SRC, AT(1), "setup");
	exit_rec(&b, SRC, AT(2));
	proc_rec(&b, SRC, AT(3), "new", "", true);
	st(&b, SRC, AT(4), "setup");
	rb_feed(tl, &b);
	tl_finish(tl, AT(10));
	assert_int_equal(tl_nprocs(tl), 2);
	assert_string_equal(tl_proc_find(tl, SRC)->vm, "new");
	assert_string_equal(tl_mig_at(tl, 0)->vm, "old");
	assert_int_equal(tl_mig_at(tl, 0)->result, TL_RES_ABORTED);
	assert_string_equal(tl_mig_at(tl, 1)->vm, "new");
	assert_int_equal(tl_mig_role(tl_mig_at(tl, 1)), TL_ROLE_DEST);
	tl_free(tl);
}

static void test_event_counters(void **state)
{
	struct tl *tl = run_src(ACK_AFTER_READY);
	struct rb b = {0};
	union ms_rec *r;

	assert_int_equal(tl_events(tl, MS_P_MIGRATE_SET_STATE), 3);
	assert_int_equal(tl_events(tl, MS_P_MIGRATE_PENDING_ESTIMATE), 4);
	assert_int_equal(tl_events(tl, MS_P_VMSTATE_DOWNTIME_CHECKPOINT), 5);
	assert_int_equal(tl_events(tl, MS_P_LOADVM_APPROVE_SWITCHOVER), 0);
	assert_int_equal(tl_events_kind(tl, MS_EV_IOCTL), 4);
	assert_int_equal(tl_events_kind(tl, MS_EV_PROC), 1);
	assert_int_equal(tl_events(tl, MS_P_COUNT + 5), 0);
	uint64_t before = tl_records(tl);

	r = rb_add(&b, MS_EV_USDT, SRC, SRC, AT(300));
	r->h.probe = MS_P_COUNT + 3; /* a newer catalog's probe */
	lost_rec(&b, AT(301), 5);
	lost_rec(&b, AT(302), 6);
	rb_feed(tl, &b);
	assert_int_equal(tl_records(tl), before + 3);
	assert_int_equal(tl_lost_total(tl), 11);
	assert_int_equal(tl_events_kind(tl, MS_EV_LOST), 2);
	assert_true(tl_unattributed(tl) >= 1);
	tl_free(tl);
}

static void test_arg_error_not_interpreted(void **state)
{
	struct tl *tl = tl_new();
	struct rb b = {0};
	union ms_rec *r;

	st(&b, SRC, AT(0), "setup");
	st(&b, SRC, AT(1), "active");
	rb_feed(tl, &b);
	r = rb_add(&b, MS_EV_USDT, SRC, SRC, AT(2));
	r->h.probe = MS_P_MIGRATE_SET_STATE;
	r->h.flags = MS_F_ARG_ERR;
	snprintf(r->usdt.str[0], MS_STR_LEN, "completed");
	/* a string filling all MS_STR_LEN bytes, no NUL */
	r = rb_add(&b, MS_EV_USDT, SRC, SRC, AT(3));
	r->h.probe = MS_P_MIGRATE_ERROR;
	memset(r->usdt.str[0], 'x', MS_STR_LEN);
	rb_feed(tl, &b);
	tl_finish(tl, AT(5));
	assert_int_equal(only_mig(tl)->result, TL_RES_ACTIVE);
	assert_int_equal(strlen(only_mig(tl)->error), MS_STR_LEN - 1);
	assert_int_equal(tl_events(tl, MS_P_MIGRATE_SET_STATE), 3);
	tl_free(tl);
}

static void test_names(void **state)
{
	assert_string_equal(tl_milestone_name(TL_M_SRC_VM_STOPPED), "src-vm-stopped");
	assert_string_equal(tl_milestone_name(TL_M_DST_BH_VM_STARTED), "dst-precopy-bh-vm-started");
	assert_string_equal(tl_milestone_name(TL_M_ACK_RECEIVED), "ack-received");
	for (int i = 0; i < TL_M_COUNT; i++)
		assert_non_null(tl_milestone_name((enum tl_milestone)i));
	assert_string_equal(tl_milestone_name(TL_M_COUNT), "?");
	assert_true(tl_milestone_for_role(TL_M_READY, TL_ROLE_SOURCE));
	assert_false(tl_milestone_for_role(TL_M_READY, TL_ROLE_DEST));
	assert_true(tl_milestone_for_role(TL_M_ACK_SENT, TL_ROLE_DEST));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_completed_source),
	    cmocka_unit_test(test_failed),
	    cmocka_unit_test(test_cancelled),
	    cmocka_unit_test(test_aborted_by_exit),
	    cmocka_unit_test(test_active_at_end),
	    cmocka_unit_test(test_setup_while_active_aborts_previous),
	    cmocka_unit_test(test_implicit_start),
	    cmocka_unit_test(test_vm_identity_absent),
	    cmocka_unit_test(test_role_detection),
	    cmocka_unit_test(test_pair_by_uuid),
	    cmocka_unit_test(test_pair_by_name),
	    cmocka_unit_test(test_pair_needs_overlap),
	    cmocka_unit_test(test_pair_tie_earliest),
	    cmocka_unit_test(test_bounded_arrays),
	    cmocka_unit_test(test_two_clocks),
	    cmocka_unit_test(test_align_messages),
	    cmocka_unit_test(test_align_section_headers),
	    cmocka_unit_test(test_no_syscalls_nulls_io_counts),
	    cmocka_unit_test(test_multifd_device_state),
	    cmocka_unit_test(test_pair_unnamed_by_messages),
	    cmocka_unit_test(test_unrelated_not_paired),
	    cmocka_unit_test(test_clock_step),
	    cmocka_unit_test(test_no_return_path),
	    cmocka_unit_test(test_lost_stays_in_its_input),
	    cmocka_unit_test(test_postcopy_device_state),
	    cmocka_unit_test(test_same_pid_two_clocks),
	    cmocka_unit_test(test_downtime_breakdown),
	    cmocka_unit_test(test_ack_wait_positive),
	    cmocka_unit_test(test_ack_before_ready),
	    cmocka_unit_test(test_ack_zero_devices),
	    cmocka_unit_test(test_ack_off),
	    cmocka_unit_test(test_ack_wait_still_waiting),
	    cmocka_unit_test(test_approval_latency),
	    cmocka_unit_test(test_device_initial_drain_stopcopy),
	    cmocka_unit_test(test_stopcopy_from_ioctl),
	    cmocka_unit_test(test_destination_device_bytes),
	    cmocka_unit_test(test_approvals_delayed_fifo),
	    cmocka_unit_test(test_container_dirty_pages_ignored),
	    cmocka_unit_test(test_orphan_ioctl_bound_by_next_probe),
	    cmocka_unit_test(test_device_save_load_us),
	    cmocka_unit_test(test_device_alias),
	    cmocka_unit_test(test_transitions_qemu10_order),
	    cmocka_unit_test(test_transitions_probe_first_order),
	    cmocka_unit_test(test_transitions_probe_only_and_failure),
	    cmocka_unit_test(test_post_end_grace),
	    cmocka_unit_test(test_convergence_series),
	    cmocka_unit_test(test_series_ring_bounded),
	    cmocka_unit_test(test_ready_at_threshold_by_version),
	    cmocka_unit_test(test_stall_above_threshold),
	    cmocka_unit_test(test_stall_waiting_ack),
	    cmocka_unit_test(test_stall_waiting_ack_names_destination_devices),
	    cmocka_unit_test(test_no_stall_when_converging),
	    cmocka_unit_test(test_lost_marks_incomplete),
	    cmocka_unit_test(test_lost_outside_interval),
	    cmocka_unit_test(test_on_end_callback),
	    cmocka_unit_test(test_expire),
	    cmocka_unit_test(test_pid_reuse),
	    cmocka_unit_test(test_event_counters),
	    cmocka_unit_test(test_arg_error_not_interpreted),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
