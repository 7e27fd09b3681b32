// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The timeline engine. How each figure is defined, and when it is absent, is
 * written down in docs/figures.md; this file is its implementation.
 *
 * Per record the work is a pid hash lookup, a switch on the probe and a scan
 * of at most a few small fixed tables (devices of one process, threads of one
 * process): no allocation except when a process or a migration appears.
 */
#include <stdlib.h>
#include <string.h>
#include "timeline.h"
#include "catalog.h"

struct tl_in {
	uint16_t clock;
	int64_t shift_ns;
	uint64_t last_lost_ts;
	char host[64];
};

struct tl {
	bool finished;
	uint16_t nclocks; /* highest clock id + 1 */
	uint64_t stall_window;
	tl_end_fn on_end;
	void *on_end_arg;
	uint64_t now;
	uint64_t clock_now[TL_MAX_INPUTS]; /* latest ts per clock */
	uint16_t cur_input;		   /* input of the record being fed */
	uint64_t seq;			   /* last migration seq handed out */
	struct tl_in in[TL_MAX_INPUTS];

	struct tl_proc **procs;
	size_t nprocs, cap_procs;
	struct tl_mig **migs;
	size_t nmigs, cap_migs;
	struct tl_pair **pairs;
	size_t npairs, cap_pairs;
	/* the migrations a pairing could take: known identity, no pair yet,
	 * one list per role (try_pair walks one, not every migration) */
	struct tl_mig **open[3];
	size_t nopen[3], cap_open[3];

	/* pid -> live (not replaced) process, open addressing */
	struct tl_proc **hash;
	size_t hcap, hcount;
	struct tl_proc *last_proc;

	bool is_vfio[MS_P_COUNT];
	uint64_t by_probe[MS_P_COUNT];
	uint64_t by_kind[MS_EV_KIND_MAX];
	uint64_t records;
	uint64_t lost_total;
	uint64_t unattributed;
	uint64_t nomem; /* records dropped for lack of memory */
};

/* ------------------------------------------------------------------ */
/* small helpers */

static const char *sarg(const struct ms_usdt *u, int i, size_t *len)
{
	uint64_t k = u->args[i];
	const char *s = k < MS_MAX_STRS ? u->str[k] : "";
	size_t n = strnlen(s, MS_STR_LEN);

	/* a producer that filled all bytes left no NUL: drop the last one */
	*len = n < MS_STR_LEN ? n : MS_STR_LEN - 1;
	return s;
}

static bool seq_lit(const char *s, size_t n, const char *lit)
{
	size_t l = strlen(lit);

	return n == l && memcmp(s, lit, l) == 0;
}

/* stored is NUL-terminated; s has length n */
static bool name_eq(const char *stored, const char *s, size_t n)
{
	return memcmp(stored, s, n) == 0 && stored[n] == '\0';
}

static void scpy(char *dst, size_t size, const char *s, size_t n)
{
	if (n >= size)
		n = size - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static void mark(struct tl_mig *m, enum tl_milestone i, uint64_t ts)
{
	if (!tl_has(m->ms[i]))
		m->ms[i] = ts;
}

static int64_t dur(uint64_t a, uint64_t b)
{
	if (!tl_has(a) || !tl_has(b))
		return TL_DNONE;
	return (int64_t)(b - a);
}

static bool grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *n;

	if (need <= *cap)
		return true;
	ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	n = realloc(*arr, ncap * elem);
	if (!n)
		return false;
	*arr = n;
	*cap = ncap;
	return true;
}

/* Room for one more after n elements of a bounded per-migration array:
 * first first elements, doubled, never more than max. */
static bool room(void **arr, uint32_t *cap, uint32_t n, size_t elem, uint32_t first, uint32_t max)
{
	uint32_t ncap;
	void *p;

	if (n < *cap)
		return true;
	ncap = *cap ? *cap * 2 : first;
	if (ncap > max)
		ncap = max;
	if (ncap <= n)
		return false;
	p = realloc(*arr, (size_t)ncap * elem);
	if (!p)
		return false;
	*arr = p;
	*cap = ncap;
	return true;
}

/* ------------------------------------------------------------------ */
/* names */

static const char *const milestone_names[TL_M_COUNT] = {
    [TL_M_SETUP] = "setup",
    [TL_M_ACTIVE] = "active",
    [TL_M_RP_OPEN] = "return-path-open",
    [TL_M_ACK_RECEIVED] = "ack-received",
    [TL_M_READY] = "ready",
    [TL_M_LOW_PENDING] = "low-pending",
    [TL_M_SRC_DOWNTIME_START] = "src-downtime-start",
    [TL_M_SRC_VM_STOPPED] = "src-vm-stopped",
    [TL_M_SRC_ITERABLE_SAVED] = "src-iterable-saved",
    [TL_M_SRC_NON_ITERABLE_SAVED] = "src-non-iterable-saved",
    [TL_M_SRC_DOWNTIME_END] = "src-downtime-end",
    [TL_M_SWITCHOVER_START] = "switchover-start",
    [TL_M_PRECOPY_COMPLETE] = "precopy-complete",
    [TL_M_RP_END] = "return-path-end",
    [TL_M_POSTCOPY_START] = "postcopy-start",
    [TL_M_PING_SENT] = "ping-sent",
    [TL_M_PONG_RECEIVED] = "pong-received",
    [TL_M_SHUT_RECEIVED] = "shut-received",
    [TL_M_ACK_NEEDED] = "ack-needed",
    [TL_M_ACK_SENT] = "ack-sent",
    [TL_M_DST_LOADVM_COMPLETED] = "dst-precopy-loadvm-completed",
    [TL_M_DST_BH_ENTER] = "dst-precopy-bh-enter",
    [TL_M_DST_BH_ANNOUNCED] = "dst-precopy-bh-announced",
    [TL_M_DST_BH_VM_STARTED] = "dst-precopy-bh-vm-started",
    [TL_M_DST_PC_BH_ENTER] = "dst-postcopy-bh-enter",
    [TL_M_DST_PC_BH_CPU_SYNCED] = "dst-postcopy-bh-cpu-synced",
    [TL_M_DST_PC_BH_ANNOUNCED] = "dst-postcopy-bh-announced",
    [TL_M_DST_PC_BH_CACHE_INVALIDATED] = "dst-postcopy-bh-cache-invalidated",
    [TL_M_DST_PC_BH_VM_STARTED] = "dst-postcopy-bh-vm-started",
    [TL_M_POSTCOPY_RUN] = "postcopy-run",
    [TL_M_PING_RECEIVED] = "ping-received",
    [TL_M_PONG_SENT] = "pong-sent",
    [TL_M_SWITCHOVER_START_RECEIVED] = "switchover-start-received",
    [TL_M_SHUT_SENT] = "shut-sent",
    [TL_M_POSTCOPY_DEVICE] = "postcopy-device",
    [TL_M_POSTCOPY_ACTIVE] = "postcopy-active",
    [TL_M_CANCEL] = "cancel",
    [TL_M_CANCELLING] = "cancelling",
    [TL_M_END] = "end",
};

const char *tl_milestone_name(enum tl_milestone m)
{
	return (unsigned int)m < TL_M_COUNT ? milestone_names[m] : "?";
}

bool tl_milestone_for_role(enum tl_milestone m, enum tl_role role)
{
	switch (m) {
	case TL_M_SETUP:
	case TL_M_ACTIVE:
	case TL_M_END: return true;
	case TL_M_RP_OPEN:
	case TL_M_ACK_RECEIVED:
	case TL_M_READY:
	case TL_M_LOW_PENDING:
	case TL_M_SRC_DOWNTIME_START:
	case TL_M_SRC_VM_STOPPED:
	case TL_M_SRC_ITERABLE_SAVED:
	case TL_M_SRC_NON_ITERABLE_SAVED:
	case TL_M_SRC_DOWNTIME_END: return role == TL_ROLE_SOURCE;
	case TL_M_ACK_NEEDED:
	case TL_M_ACK_SENT:
	case TL_M_DST_LOADVM_COMPLETED:
	case TL_M_DST_BH_ENTER:
	case TL_M_DST_BH_ANNOUNCED:
	case TL_M_DST_BH_VM_STARTED: return role == TL_ROLE_DEST;
	default: return false;
	}
}

const char *tl_role_name(enum tl_role role)
{
	switch (role) {
	case TL_ROLE_SOURCE: return "source";
	case TL_ROLE_DEST: return "destination";
	default: return "unknown";
	}
}

const char *tl_result_name(enum tl_result res)
{
	switch (res) {
	case TL_RES_COMPLETED: return "completed";
	case TL_RES_FAILED: return "failed";
	case TL_RES_CANCELLED: return "cancelled";
	case TL_RES_ABORTED: return "aborted";
	default: return "active";
	}
}

const char *tl_stall_reason_name(enum tl_stall_reason r)
{
	switch (r) {
	case TL_STALL_ABOVE_THRESHOLD: return "above-threshold";
	case TL_STALL_WAITING_ACK: return "waiting-ack";
	case TL_STALL_OTHER: return "other";
	default: return "none";
	}
}

/* ------------------------------------------------------------------ */
/* probe properties */

/* Role a probe proves: what fires on one side only (docs/figures.md "Role"). */
static const uint8_t probe_role[MS_P_COUNT] = {
    [MS_P_MIGRATE_PENDING_ESTIMATE] = TL_ROLE_SOURCE,
    [MS_P_MIGRATE_PENDING_EXACT] = TL_ROLE_SOURCE,
    [MS_P_MIGRATE_TRANSFERRED] = TL_ROLE_SOURCE,
    [MS_P_MIGRATION_THREAD_LOW_PENDING] = TL_ROLE_SOURCE,
    [MS_P_MIGRATION_COMPLETION_VM_STOP] = TL_ROLE_SOURCE,
    [MS_P_SAVEVM_SEND_SWITCHOVER_START] = TL_ROLE_SOURCE,
    [MS_P_MIGRATION_PRECOPY_COMPLETE] = TL_ROLE_SOURCE,
    [MS_P_POSTCOPY_START] = TL_ROLE_SOURCE,
    [MS_P_SAVEVM_SEND_OPEN_RETURN_PATH] = TL_ROLE_SOURCE,
    [MS_P_OPEN_RETURN_PATH_ON_SOURCE] = TL_ROLE_SOURCE,
    [MS_P_SOURCE_RETURN_PATH_THREAD_ENTRY] = TL_ROLE_SOURCE,
    [MS_P_SOURCE_RETURN_PATH_THREAD_END] = TL_ROLE_SOURCE,
    [MS_P_SOURCE_RETURN_PATH_THREAD_SWITCHOVER_ACKED] = TL_ROLE_SOURCE,
    [MS_P_SAVEVM_COMMAND_SEND] = TL_ROLE_SOURCE,
    [MS_P_SAVEVM_SEND_PING] = TL_ROLE_SOURCE,
    [MS_P_SOURCE_RETURN_PATH_THREAD_PONG] = TL_ROLE_SOURCE,
    [MS_P_SOURCE_RETURN_PATH_THREAD_SHUT] = TL_ROLE_SOURCE,
    [MS_P_SAVEVM_SECTION_START] = TL_ROLE_SOURCE,
    [MS_P_VMSTATE_DOWNTIME_SAVE] = TL_ROLE_SOURCE,
    [MS_P_VFIO_SAVE_SETUP] = TL_ROLE_SOURCE,
    [MS_P_VFIO_SAVE_ITERATE_START] = TL_ROLE_SOURCE,
    [MS_P_VFIO_SAVE_ITERATE] = TL_ROLE_SOURCE,
    [MS_P_VFIO_SAVE_BLOCK] = TL_ROLE_SOURCE,
    [MS_P_VFIO_STATE_PENDING_ESTIMATE] = TL_ROLE_SOURCE,
    [MS_P_VFIO_STATE_PENDING_EXACT] = TL_ROLE_SOURCE,
    [MS_P_VFIO_SAVE_COMPLETE_PRECOPY_START] = TL_ROLE_SOURCE,
    [MS_P_VFIO_SAVE_COMPLETE_PRECOPY] = TL_ROLE_SOURCE,
    [MS_P_VFIO_SAVE_DEVICE_CONFIG_STATE] = TL_ROLE_SOURCE,
    [MS_P_VFIO_SAVE_CLEANUP] = TL_ROLE_SOURCE,
    [MS_P_VFIO_SAVE_COMPLETE_PRECOPY_THREAD_START] = TL_ROLE_SOURCE,
    [MS_P_VFIO_SAVE_COMPLETE_PRECOPY_THREAD_END] = TL_ROLE_SOURCE,
    [MS_P_LOADVM_POSTCOPY_HANDLE_RUN] = TL_ROLE_DEST,
    [MS_P_LOADVM_STATE_SWITCHOVER_ACK_NEEDED] = TL_ROLE_DEST,
    [MS_P_LOADVM_APPROVE_SWITCHOVER] = TL_ROLE_DEST,
    [MS_P_MIGRATE_SEND_RP_MESSAGE] = TL_ROLE_DEST,
    [MS_P_LOADVM_PROCESS_COMMAND] = TL_ROLE_DEST,
    [MS_P_LOADVM_PROCESS_COMMAND_PING] = TL_ROLE_DEST,
    [MS_P_QEMU_LOADVM_STATE_SECTION_PARTEND] = TL_ROLE_DEST,
    [MS_P_VMSTATE_DOWNTIME_LOAD] = TL_ROLE_DEST,
    [MS_P_VFIO_LOAD_CLEANUP] = TL_ROLE_DEST,
    [MS_P_VFIO_LOAD_STATE] = TL_ROLE_DEST,
    [MS_P_VFIO_LOAD_STATE_DEVICE_DATA] = TL_ROLE_DEST,
    [MS_P_VFIO_LOAD_DEVICE_CONFIG_STATE_START] = TL_ROLE_DEST,
    [MS_P_VFIO_LOAD_DEVICE_CONFIG_STATE_END] = TL_ROLE_DEST,
    [MS_P_VFIO_LOAD_DEVICE_CONFIG_STATE] = TL_ROLE_DEST,
    [MS_P_VFIO_LOAD_BUFS_THREAD_START] = TL_ROLE_DEST,
    [MS_P_VFIO_LOAD_BUFS_THREAD_END] = TL_ROLE_DEST,
    [MS_P_VFIO_LOAD_STATE_DEVICE_BUFFER_INCOMING] = TL_ROLE_DEST,
    [MS_P_VFIO_LOAD_STATE_DEVICE_BUFFER_START] = TL_ROLE_DEST,
    [MS_P_VFIO_LOAD_STATE_DEVICE_BUFFER_STARVED] = TL_ROLE_DEST,
    [MS_P_VFIO_LOAD_STATE_DEVICE_BUFFER_LOAD_START] = TL_ROLE_DEST,
    [MS_P_VFIO_LOAD_STATE_DEVICE_BUFFER_LOAD_END] = TL_ROLE_DEST,
    [MS_P_VFIO_LOAD_STATE_DEVICE_BUFFER_END] = TL_ROLE_DEST,
};

/* Probes that fire only inside a migration: seen without one, the migration
 * started before the capture (or its start was lost). Snapshot code paths
 * (savevm, vmstate_downtime_*, vfio_save_*) are left out on purpose. */
static const bool probe_starts[MS_P_COUNT] = {
    [MS_P_MIGRATE_PENDING_ESTIMATE] = true,
    [MS_P_MIGRATE_PENDING_EXACT] = true,
    [MS_P_MIGRATE_TRANSFERRED] = true,
    [MS_P_MIGRATION_THREAD_LOW_PENDING] = true,
    [MS_P_OPEN_RETURN_PATH_ON_SOURCE] = true,
    [MS_P_SOURCE_RETURN_PATH_THREAD_ENTRY] = true,
    [MS_P_SOURCE_RETURN_PATH_THREAD_SWITCHOVER_ACKED] = true,
    [MS_P_LOADVM_STATE_SWITCHOVER_ACK_NEEDED] = true,
    [MS_P_LOADVM_APPROVE_SWITCHOVER] = true,
    [MS_P_MIGRATE_SEND_RP_MESSAGE] = true,
};

/* Every vfio_* probe names its device in argument 0. */
static bool probe_is_vfio(unsigned int p)
{
	const char *n = cat_name(p), *t = cat_types(p);

	return n && strncmp(n, "vfio_", 5) == 0 && t && t[0] == 's';
}

static const struct {
	const char *name;
	enum tl_milestone m;
} checkpoints[] = {
    {"src-downtime-start", TL_M_SRC_DOWNTIME_START},
    {"src-vm-stopped", TL_M_SRC_VM_STOPPED},
    {"src-iterable-saved", TL_M_SRC_ITERABLE_SAVED},
    {"src-non-iterable-saved", TL_M_SRC_NON_ITERABLE_SAVED},
    {"src-downtime-end", TL_M_SRC_DOWNTIME_END},
    {"dst-precopy-loadvm-completed", TL_M_DST_LOADVM_COMPLETED},
    {"dst-precopy-bh-enter", TL_M_DST_BH_ENTER},
    {"dst-precopy-bh-announced", TL_M_DST_BH_ANNOUNCED},
    {"dst-precopy-bh-vm-started", TL_M_DST_BH_VM_STARTED},
    {"dst-postcopy-bh-enter", TL_M_DST_PC_BH_ENTER},
    {"dst-postcopy-bh-cpu-synced", TL_M_DST_PC_BH_CPU_SYNCED},
    {"dst-postcopy-bh-announced", TL_M_DST_PC_BH_ANNOUNCED},
    {"dst-postcopy-bh-cache-invalidated", TL_M_DST_PC_BH_CACHE_INVALIDATED},
    {"dst-postcopy-bh-vm-started", TL_M_DST_PC_BH_VM_STARTED},
};

static uint8_t vfio_state_parse(const char *s, size_t n)
{
	for (unsigned int i = MS_VFIO_ERROR; i <= MS_VFIO_PRE_COPY_P2P; i++)
		if (seq_lit(s, n, cat_vfio_state_name(i)))
			return (uint8_t)i;
	return TL_VFIO_UNKNOWN;
}

static bool vfio_state_precopy(uint8_t s)
{
	return s == MS_VFIO_PRE_COPY || s == MS_VFIO_PRE_COPY_P2P;
}

/* A migration device's new state; STOP_COPY starts its stop-copy counts. */
static void dev_state(struct tl_dev *d, uint8_t to)
{
	d->state = to;
	if (vfio_state_precopy(to))
		d->precopy = true;
	if (to == MS_VFIO_STOP_COPY) {
		if (!tl_has(d->sc_block))
			d->sc_block = 0;
		if (!tl_has(d->sc_io))
			d->sc_io = 0;
	}
}

/* ------------------------------------------------------------------ */
/* lifecycle and settings */

struct tl *tl_new(void)
{
	struct tl *tl = calloc(1, sizeof(*tl));

	if (!tl)
		return NULL;
	tl->nclocks = 1;
	tl->stall_window = TL_DEFAULT_STALL_WINDOW_NS;
	for (unsigned int p = 0; p < MS_P_COUNT; p++)
		tl->is_vfio[p] = probe_is_vfio(p);
	return tl;
}

static void mig_free(struct tl_mig *m)
{
	for (uint32_t i = 0; i < m->ndevs; i++)
		free(m->devs[i].ds);
	free(m->devs);
	free(m->parts);
	free(m);
}

void tl_free(struct tl *tl)
{
	if (!tl)
		return;
	for (size_t i = 0; i < tl->nmigs; i++)
		mig_free(tl->migs[i]);
	for (size_t i = 0; i < tl->nprocs; i++)
		free(tl->procs[i]);
	for (size_t i = 0; i < tl->npairs; i++)
		free(tl->pairs[i]);
	free(tl->migs);
	free(tl->procs);
	free(tl->pairs);
	for (int r = 0; r < 3; r++)
		free(tl->open[r]);
	free(tl->hash);
	free(tl);
}

int tl_set_input(struct tl *tl, uint16_t input, const struct tl_input *in)
{
	struct tl_in *t;

	if (input >= TL_MAX_INPUTS || in->clock >= TL_MAX_INPUTS)
		return -1;
	t = &tl->in[input];
	t->clock = in->clock;
	t->shift_ns = in->shift_ns;
	scpy(t->host, sizeof(t->host), in->host ? in->host : "", in->host ? strlen(in->host) : 0);
	if (in->clock + 1u > tl->nclocks)
		tl->nclocks = (uint16_t)(in->clock + 1);
	return 0;
}

bool tl_single_clock(const struct tl *tl)
{
	return tl->nclocks <= 1;
}

const char *tl_input_host(const struct tl *tl, uint16_t input)
{
	return input < TL_MAX_INPUTS ? tl->in[input].host : "";
}

const char *tl_mig_host(const struct tl *tl, const struct tl_mig *m)
{
	for (uint16_t i = 0; i < TL_MAX_INPUTS; i++)
		if (m->inputs & (1u << i))
			return tl->in[i].host;
	return "";
}

static uint16_t input_clock(const struct tl *tl, uint16_t input)
{
	return input < TL_MAX_INPUTS ? tl->in[input].clock : 0;
}

/* "now" for a migration's live figures: the latest time of its own clock. */
static uint64_t now_of(const struct tl *tl, const struct tl_mig *m)
{
	return tl->nclocks <= 1 ? tl->now : tl->clock_now[m->clock];
}

void tl_set_stall_window(struct tl *tl, uint64_t ns)
{
	tl->stall_window = ns ? ns : TL_DEFAULT_STALL_WINDOW_NS;
}

void tl_set_on_end(struct tl *tl, tl_end_fn fn, void *arg)
{
	tl->on_end = fn;
	tl->on_end_arg = arg;
}

uint64_t tl_now(const struct tl *tl)
{
	return tl->now;
}

/* ------------------------------------------------------------------ */
/* processes */

static size_t pid_hash(uint16_t clock, uint32_t pid)
{
	return (size_t)((pid ^ ((uint32_t)clock << 24)) * 2654435761u);
}

static bool proc_is(const struct tl_proc *p, uint16_t clock, uint32_t pid)
{
	return p->pid == pid && p->clock == clock;
}

static bool hash_insert(struct tl *tl, struct tl_proc *p)
{
	size_t mask, i;

	if ((tl->hcount + 1) * 2 > tl->hcap) {
		size_t ncap = tl->hcap ? tl->hcap * 2 : 64;
		struct tl_proc **n = calloc(ncap, sizeof(*n));

		if (!n)
			return false;
		for (size_t k = 0; k < tl->hcap; k++) {
			struct tl_proc *q = tl->hash[k];

			if (!q)
				continue;
			for (i = pid_hash(q->clock, q->pid) & (ncap - 1); n[i];
			     i = (i + 1) & (ncap - 1))
				;
			n[i] = q;
		}
		free(tl->hash);
		tl->hash = n;
		tl->hcap = ncap;
	}
	mask = tl->hcap - 1;
	for (i = pid_hash(p->clock, p->pid) & mask; tl->hash[i]; i = (i + 1) & mask) {
		if (proc_is(tl->hash[i], p->clock, p->pid)) {
			tl->hash[i] = p; /* pid reused: the newer process */
			return true;
		}
	}
	tl->hash[i] = p;
	tl->hcount++;
	return true;
}

static void hash_rebuild(struct tl *tl)
{
	free(tl->hash);
	tl->hash = NULL;
	tl->hcap = tl->hcount = 0;
	tl->last_proc = NULL;
	for (size_t i = 0; i < tl->nprocs; i++)
		if (!tl->procs[i]->replaced)
			hash_insert(tl,
				    tl->procs[i]); /* shrinking: cannot fail worse than before */
}

static struct tl_proc *proc_lookup(const struct tl *tl, uint16_t clock, uint32_t pid)
{
	size_t mask, i;

	if (tl->last_proc && proc_is(tl->last_proc, clock, pid))
		return tl->last_proc;
	if (!tl->hcap)
		return NULL;
	mask = tl->hcap - 1;
	for (i = pid_hash(clock, pid) & mask; tl->hash[i]; i = (i + 1) & mask)
		if (proc_is(tl->hash[i], clock, pid))
			return tl->hash[i];
	return NULL;
}

static void tid_reset(struct tl_tid *t, uint32_t tid)
{
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->pre_dev = t->tr_pdev = t->tr_idx = t->last_vfio = -1;
}

static struct tl_proc *proc_get(struct tl *tl, uint16_t clock, uint32_t pid, uint64_t ts)
{
	struct tl_proc *p = proc_lookup(tl, clock, pid);

	if (p && !p->exited) {
		tl->last_proc = p;
		return p;
	}
	if (!grow((void **)&tl->procs, &tl->cap_procs, tl->nprocs + 1, sizeof(*tl->procs)))
		return NULL;
	struct tl_proc *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->pid = pid;
	n->clock = clock;
	n->first_ts = n->last_ts = ts;
	n->exit_ts = TL_NONE;
	n->start_ns = TL_NONE;
	for (int i = 0; i < TL_MAX_TIDS; i++)
		tid_reset(&n->tids[i], 0);
	if (!hash_insert(tl, n)) {
		free(n);
		return NULL;
	}
	if (p)
		p->replaced = true;
	tl->procs[tl->nprocs++] = n;
	tl->last_proc = n;
	return n;
}

static struct tl_tid *tid_get(struct tl_proc *p, uint32_t tid)
{
	struct tl_tid *lru = &p->tids[0];

	for (int i = 0; i < TL_MAX_TIDS; i++) {
		struct tl_tid *t = &p->tids[i];

		if (t->used && t->tid == tid) {
			t->used = p->records + 1;
			return t;
		}
		if (t->used < lru->used)
			lru = t;
	}
	tid_reset(lru, tid);
	lru->used = p->records + 1;
	return lru;
}

static int pdev_find(const struct tl_proc *p, const char *s, size_t n)
{
	for (uint32_t i = 0; i < p->npdevs; i++)
		if (name_eq(p->pdevs[i].name, s, n))
			return (int)i;
	return -1;
}

static int pdev_get(struct tl_proc *p, const char *s, size_t n)
{
	int i = pdev_find(p, s, n);
	struct tl_pdev *d;

	if (i >= 0 || n == 0)
		return i;
	if (p->npdevs >= TL_MAX_PDEVS)
		return -1;
	d = &p->pdevs[p->npdevs];
	memset(d, 0, sizeof(*d));
	scpy(d->name, sizeof(d->name), s, n);
	d->state = TL_VFIO_UNKNOWN;
	d->mdev = -1;
	return (int)p->npdevs++;
}

static int fd_find(const struct tl_proc *p, int32_t fd)
{
	for (uint32_t i = 0; i < p->nfds; i++)
		if (p->fds[i].fd == fd)
			return p->fds[i].pdev;
	return -1;
}

static void fd_bind(struct tl_proc *p, int32_t fd, int pd, bool data)
{
	uint32_t i;

	if (fd < 0 || pd < 0)
		return;
	for (i = 0; i < p->nfds; i++)
		if (p->fds[i].fd == fd)
			break;
	if (i == p->nfds) {
		if (p->nfds >= TL_MAX_FDS) {
			/* fd numbers are reused: forget the oldest binding */
			memmove(&p->fds[0], &p->fds[1], (TL_MAX_FDS - 1) * sizeof(p->fds[0]));
			i = TL_MAX_FDS - 1;
		} else {
			p->nfds++;
		}
	}
	p->fds[i].fd = fd;
	p->fds[i].pdev = pd;
	p->fds[i].data = data;
}

/* ------------------------------------------------------------------ */
/* migrations */

static void mdev_init(struct tl_dev *d, const char *name)
{
	memset(d, 0, sizeof(*d));
	scpy(d->name, sizeof(d->name), name, strlen(name));
	d->save_setup_ts = d->iterate_start_ts = TL_NONE;
	d->first_initial = d->drain_ts = TL_NONE;
	d->initial = d->dirty = d->stopcopy = TL_NONE;
	d->complete_start_ts = d->complete_ts = TL_NONE;
	d->sc_block = d->sc_io = d->init_loaded = TL_NONE;
	d->bytes_read = d->bytes_written = TL_NONE;
	d->save_us[0] = d->save_us[1] = d->load_us[0] = d->load_us[1] = TL_DNONE;
	d->init_sent_ts = d->approve_ts = d->approve_pending = TL_NONE;
	d->mf_save_start = d->mf_save_end = TL_NONE;
	d->mf_first_in = d->mf_last_in = d->mf_load_start = d->mf_load_end = TL_NONE;
	d->mf_buf_ts = d->mf_starve_ts = TL_NONE;
	d->mf_save_ret = -1;
	d->state = TL_VFIO_UNKNOWN;
}

static struct tl_dev *mdev_by_name(struct tl_mig *m, const char *name, size_t n, bool create)
{
	uint32_t i;

	for (i = 0; i < m->ndevs; i++)
		if (name_eq(m->devs[i].name, name, n))
			return &m->devs[i];
	if (!create || n == 0)
		return NULL;
	if (m->ndevs >= TL_MAX_DEVS ||
	    !room((void **)&m->devs, &m->cap_devs, m->ndevs, sizeof(*m->devs), 2, TL_MAX_DEVS)) {
		m->devs_dropped++;
		return NULL;
	}
	char buf[MS_STR_LEN];

	scpy(buf, sizeof(buf), name, n);
	mdev_init(&m->devs[m->ndevs], buf);
	return &m->devs[m->ndevs++];
}

/* The migration's entry for a process device, created on first use. */
static struct tl_dev *mdev(struct tl_mig *m, struct tl_proc *p, int pd)
{
	struct tl_pdev *pdv;
	struct tl_dev *d;

	if (!m || pd < 0)
		return NULL;
	pdv = &p->pdevs[pd];
	if (pdv->mig_seq == m->seq && pdv->mdev >= 0)
		return &m->devs[pdv->mdev];
	d = mdev_by_name(m, pdv->name, strlen(pdv->name), true);
	if (!d)
		return NULL;
	if (d->state == TL_VFIO_UNKNOWN)
		d->state = pdv->state;
	if (!d->alias[0])
		memcpy(d->alias, pdv->alias, sizeof(d->alias));
	pdv->mig_seq = m->seq;
	pdv->mdev = (int32_t)(d - m->devs);
	return d;
}

static bool same_vm(const struct tl_mig *a, const struct tl_mig *b)
{
	if (a->uuid[0] && b->uuid[0])
		return strcmp(a->uuid, b->uuid) == 0;
	if (a->vm[0] && b->vm[0])
		return strcmp(a->vm, b->vm) == 0;
	return false;
}

static enum tl_role role_of(const struct tl_mig *m, bool fallback)
{
	if (m->role_probe != TL_ROLE_UNKNOWN || !fallback)
		return m->role_probe;
	if (m->proc && m->proc->has_ident)
		return (m->proc->pflags & MS_PROC_INCOMING) ? TL_ROLE_DEST : TL_ROLE_SOURCE;
	return TL_ROLE_UNKNOWN;
}

enum tl_role tl_mig_role(const struct tl_mig *m)
{
	return role_of(m, true);
}

static bool overlap(const struct tl *tl, const struct tl_mig *a, const struct tl_mig *b)
{
	uint64_t ae = tl_has(a->end_ts) ? a->end_ts : now_of(tl, a);
	uint64_t be = tl_has(b->end_ts) ? b->end_ts : now_of(tl, b);

	return a->start_ts <= be && b->start_ts <= ae;
}

/* The unpaired lists (tl->open): a migration is in the one of its role
 * (the fallback's when no probe said) while it has an identity and no
 * pair. Called wherever one of these changes. */
static void open_sync(struct tl *tl, struct tl_mig *m)
{
	bool want = m->has_ident && !m->pair;
	unsigned r = (unsigned)role_of(m, true);

	if (m->open_at && (!want || m->open_role != r)) {
		unsigned o = m->open_role;
		struct tl_mig *last = tl->open[o][--tl->nopen[o]];

		tl->open[o][m->open_at - 1] = last;
		last->open_at = m->open_at;
		m->open_at = 0;
	}
	if (!want || m->open_at)
		return;
	if (!grow((void **)&tl->open[r], &tl->cap_open[r], tl->nopen[r] + 1,
		  sizeof(*tl->open[r]))) {
		tl->nomem++;
		return;
	}
	tl->open[r][tl->nopen[r]++] = m;
	m->open_at = tl->nopen[r];
	m->open_role = (uint8_t)r;
}

/* ------------------------------------------------------------------ */
/* clock alignment of a pair (docs/figures.md "Two clocks") */

struct bounds {
	int64_t lo, hi; /* skew > lo (return path), skew < hi (stream); INT64_MIN/MAX when none */
	uint16_t nf, nb, mism, np;
};

/* A receive is after its send, in true time. */
static void bound_fwd(struct bounds *b, uint64_t send, uint64_t recv)
{
	int64_t d = (int64_t)(recv - send);

	if (d < b->hi)
		b->hi = d; /* dst clock - src clock < recv - send */
	b->nf++;
}

static void bound_bwd(struct bounds *b, uint64_t send, uint64_t recv)
{
	int64_t d = (int64_t)(send - recv);

	if (d > b->lo)
		b->lo = d; /* dst clock - src clock > send - recv */
	b->nb++;
}

/* The k-th message of a type at one end is the k-th of that type at the
 * other: each direction is one ordered channel. Pairs whose source-side time
 * is before from are left out. */
static void match_dir(const struct tl_msg *snd, uint16_t ns, const struct tl_msg *rcv, uint16_t nr,
		      bool src_sends, uint64_t from, struct bounds *b)
{
	for (uint16_t i = 0; i < ns; i++) {
		uint16_t k = 0, j;

		for (j = 0; j < i; j++)
			k += snd[j].type == snd[i].type;
		for (j = 0; j < nr; j++) {
			if (rcv[j].type != snd[i].type)
				continue;
			if (!k)
				break;
			k--;
		}
		if (j == nr)
			continue;
		if ((src_sends ? snd[i].ts : rcv[j].ts) < from)
			continue;
		if (snd[i].has_val && rcv[j].has_val && snd[i].val != rcv[j].val) {
			b->mism++;
			continue;
		}
		if (src_sends)
			bound_fwd(b, snd[i].ts, rcv[j].ts);
		else
			bound_bwd(b, snd[i].ts, rcv[j].ts);
	}
}

/* Section headers: the k-th of a section written is the k-th read. Both ends
 * keep them in stream order, so the matches ascend at both; a header the
 * other end does not have (an early-setup section the source writes whole)
 * matches nothing. A side whose start was not seen or that lost events may
 * lack headers, which would shift the ranks: its headers are not used. */
static void match_parts(const struct tl_mig *src, const struct tl_mig *dst, uint64_t from,
			struct bounds *b)
{
	uint16_t j = 0;

	if (src->incomplete || dst->incomplete)
		return;
	for (uint16_t i = 0; i < src->nparts; i++) {
		const struct tl_part *s = &src->parts[i];

		if (s->recv)
			continue;
		for (uint16_t k = j; k < dst->nparts; k++) {
			const struct tl_part *d = &dst->parts[k];

			if (!d->recv || d->section != s->section || d->ord != s->ord)
				continue;
			j = (uint16_t)(k + 1);
			if (s->ts >= from) {
				bound_fwd(b, s->ts, d->ts);
				b->np++;
			}
			break;
		}
	}
}

static void msg_bounds(const struct tl_mig *src, const struct tl_mig *dst, uint64_t from,
		       struct bounds *b)
{
	memset(b, 0, sizeof(*b));
	b->lo = INT64_MIN;
	b->hi = INT64_MAX;
	match_dir(src->sent, src->nsent, dst->recv, dst->nrecv, true, from, b);
	match_dir(dst->sent, dst->nsent, src->recv, src->nrecv, false, from, b);
	match_parts(src, dst, from, b);
}

static bool bounds_closed(const struct bounds *b)
{
	return b->nf && b->nb && b->lo <= b->hi;
}

/* Whether the messages tie src and dst together: matched in both
 * directions, values agreeing, one offset satisfying all of them (or at
 * least those of the stop phase: a clock may have stepped), and on one clock
 * that offset may be 0. */
static bool msgs_tie(const struct tl_mig *src, const struct tl_mig *dst, int64_t *skew)
{
	struct bounds b;

	msg_bounds(src, dst, 0, &b);
	if (b.mism)
		return false;
	if (!bounds_closed(&b)) {
		if (!b.nf || !b.nb || !tl_has(src->ms[TL_M_SRC_DOWNTIME_START]))
			return false;
		msg_bounds(src, dst, src->ms[TL_M_SRC_DOWNTIME_START], &b);
		if (b.mism || !bounds_closed(&b))
			return false;
	}
	if (src->clock == dst->clock && (b.lo > 0 || b.hi < 0))
		return false;
	*skew = b.lo + (int64_t)((uint64_t)(b.hi - b.lo) / 2);
	return true;
}

static void pair_align(struct tl_pair *pr)
{
	const struct tl_mig *src = pr->src, *dst = pr->dst;
	struct bounds b;

	msg_bounds(src, dst, 0, &b);
	pr->nfwd = b.nf;
	pr->nbwd = b.nb;
	pr->nparts = b.np;
	pr->mismatched = b.mism;
	pr->lo_ns = b.nb ? b.lo : TL_DNONE;
	pr->hi_ns = b.nf ? b.hi : TL_DNONE;
	if (src->clock == dst->clock) {
		pr->basis = TL_CLOCK_SAME;
		pr->skew_ns = pr->error_ns = 0;
		return;
	}
	if (!b.nf || !b.nb) {
		/* one side of the interval at most: the realtime estimate (0),
		 * moved to the bound it would break */
		pr->basis = TL_CLOCK_REALTIME;
		pr->skew_ns = 0;
		if (b.nf && b.hi < 0)
			pr->skew_ns = b.hi;
		if (b.nb && b.lo > 0)
			pr->skew_ns = b.lo;
		pr->error_ns = TL_DNONE;
		return;
	}
	pr->basis = TL_CLOCK_MESSAGES;
	if (!bounds_closed(&b)) {
		struct bounds sb;

		msg_bounds(src, dst,
			   tl_has(src->ms[TL_M_SRC_DOWNTIME_START])
			       ? src->ms[TL_M_SRC_DOWNTIME_START]
			       : UINT64_MAX,
			   &sb);
		if (bounds_closed(&sb)) {
			pr->basis = TL_CLOCK_STOP_PHASE;
			b = sb;
		} else {
			/* no single offset fits, not even at the stop phase: the
			 * middle, unbounded; the report says why */
			pr->basis = TL_CLOCK_CONFLICT;
			pr->skew_ns = b.hi + (int64_t)((uint64_t)(b.lo - b.hi) / 2);
			pr->error_ns = TL_DNONE;
			return;
		}
	}
	pr->skew_ns = b.lo + (int64_t)((uint64_t)(b.hi - b.lo) / 2);
	/* round the half-width up so that the interval still holds both ends */
	pr->error_ns = (int64_t)(((uint64_t)(b.hi - b.lo) + 1) / 2);
}

static bool named(const struct tl_mig *m)
{
	return m->vm[0] || m->uuid[0];
}

static uint64_t absdiff(int64_t a, int64_t b)
{
	return a > b ? (uint64_t)(a - b) : (uint64_t)(b - a);
}

/* Pair m with the other side of the same migration. While feeding only roles
 * proven by probes count (a -incoming process may later migrate out); at the
 * end and at tl_finish the MS_PROC_INCOMING fallback counts too.
 * Candidates, best first: the same VM whose messages tie it to m (the offset
 * nearest the realtime estimate); the same VM overlapping in time (the
 * nearest start); an unnamed one whose messages tie it to m (nearest offset).
 * Two named sides of different VMs never pair. */
static void try_pair(struct tl *tl, struct tl_mig *m, bool fallback)
{
	enum tl_role r = role_of(m, fallback), want;
	struct tl_mig *best = NULL;
	uint64_t bestd = 0;
	int bestc = 0;
	bool best_tie = false;
	struct tl_pair *pr;

	if (m->pair || r == TL_ROLE_UNKNOWN || !m->has_ident)
		return;
	want = r == TL_ROLE_SOURCE ? TL_ROLE_DEST : TL_ROLE_SOURCE;
	/* the unpaired list of that role holds exactly the migrations with
	 * an identity and no pair, in no order: ties go to the earliest */
	for (size_t i = 0; i < tl->nopen[want]; i++) {
		struct tl_mig *o = tl->open[want][i];
		const struct tl_mig *src = r == TL_ROLE_SOURCE ? m : o;
		const struct tl_mig *dst = r == TL_ROLE_SOURCE ? o : m;
		bool vm, tie;
		int64_t skew = 0;
		uint64_t d;
		int c;

		if (o == m || o->proc == m->proc)
			continue;
		if (role_of(o, fallback) != want)
			continue;
		vm = same_vm(m, o);
		if (!vm && named(m) && named(o))
			continue;
		tie = msgs_tie(src, dst, &skew);
		if (vm && tie) {
			c = 0;
			d = absdiff(skew, 0);
		} else if (vm && overlap(tl, m, o)) {
			c = 1;
			d = absdiff((int64_t)o->start_ts, (int64_t)m->start_ts);
		} else if (tie && m->ndevs == o->ndevs) {
			/* no name to go by: one VM has as many VFIO devices on both
			 * sides, which also tells apart runs of similar timing */
			c = 2;
			d = absdiff(skew, 0);
		} else {
			continue;
		}
		if (!best || c < bestc || (c == bestc && d < bestd) ||
		    (c == bestc && d == bestd && o->seq < best->seq)) {
			best = o;
			bestc = c;
			bestd = d;
			best_tie = c == 2;
		}
	}
	if (!best)
		return;
	if (!grow((void **)&tl->pairs, &tl->cap_pairs, tl->npairs + 1, sizeof(*tl->pairs)))
		return;
	pr = calloc(1, sizeof(*pr));
	if (!pr)
		return;
	pr->src = r == TL_ROLE_SOURCE ? m : best;
	pr->dst = r == TL_ROLE_SOURCE ? best : m;
	pr->by_messages = best_tie;
	m->pair = best->pair = pr;
	tl->pairs[tl->npairs++] = pr;
	open_sync(tl, m);
	open_sync(tl, best);
	pair_align(pr);
}

static void decide_role(struct tl *tl, struct tl_mig *m, enum tl_role r)
{
	if (r == TL_ROLE_UNKNOWN || m->role_probe != TL_ROLE_UNKNOWN)
		return;
	m->role_probe = r;
	open_sync(tl, m);
	try_pair(tl, m, false);
}

static void mig_end(struct tl *tl, struct tl_mig *m, enum tl_result res, uint64_t ts);

static struct tl_mig *mig_start(struct tl *tl, struct tl_proc *p, uint64_t ts, bool implicit,
				bool incomplete)
{
	struct tl_mig *m;

	if (p->cur) {
		/* a new setup while one is running: its end was never seen */
		p->cur->incomplete = true;
		mig_end(tl, p->cur, TL_RES_ABORTED, ts);
	}
	if (!grow((void **)&tl->migs, &tl->cap_migs, tl->nmigs + 1, sizeof(*tl->migs)))
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->pid = p->pid;
	m->clock = p->clock;
	m->inputs = 1u << tl->cur_input;
	m->start_ts = ts;
	m->seq = ++tl->seq;
	m->proc = p;
	m->implicit_start = implicit;
	m->incomplete = incomplete;
	m->has_ident = p->has_ident;
	memcpy(m->vm, p->vm, sizeof(m->vm));
	memcpy(m->uuid, p->uuid, sizeof(m->uuid));
	m->end_ts = TL_NONE;
	for (int i = 0; i < TL_M_COUNT; i++)
		m->ms[i] = TL_NONE;
	m->ack_needed = m->ack_pending = TL_NONE;
	m->dirty_pages = m->pending = m->threshold = m->bandwidth = m->avail_bw = TL_NONE;
	m->low_pending = m->low_pending_bw = TL_NONE;
	m->best_pending = m->best_ts = m->stall_ts = TL_NONE;
	tl->migs[tl->nmigs++] = m;
	if (p->mig_tail)
		p->mig_tail->proc_next = m;
	else
		p->mig_head = m;
	p->mig_tail = m;
	open_sync(tl, m);
	p->cur = m;
	p->nmigs++;
	p->live_migs++;
	return m;
}

static void mig_end(struct tl *tl, struct tl_mig *m, enum tl_result res, uint64_t ts)
{
	struct tl_proc *p = m->proc;

	if (m->result != TL_RES_ACTIVE)
		return;
	m->result = res;
	m->end_ts = ts;
	m->ms[TL_M_END] = ts;
	m->below_thr = false;
	if (p->cur == m)
		p->cur = NULL;
	p->last = m;
	try_pair(tl, m, true);
	if (tl->on_end && !m->ended_cb) {
		m->ended_cb = true;
		tl->on_end(tl, m, tl->on_end_arg);
	}
}

/* The migration a record of p at ts belongs to: the running one, or the one
 * that just ended (cleanup and late transitions). */
static struct tl_mig *mig_for(struct tl_proc *p, uint64_t ts)
{
	if (p->cur)
		return p->cur;
	if (p->last && ts >= p->last->end_ts && ts - p->last->end_ts <= TL_POST_END_GRACE_NS)
		return p->last;
	return NULL;
}

/* ------------------------------------------------------------------ */
/* source convergence and stall */

static uint32_t devs_not_drained(const struct tl_mig *m)
{
	uint32_t mask = 0;

	for (uint32_t i = 0; i < m->ndevs && i < 32; i++) {
		const struct tl_dev *d = &m->devs[i];

		if (d->precopy && (!tl_has(d->drain_ts) || (tl_has(d->initial) && d->initial)))
			mask |= 1u << i;
	}
	return mask;
}

/* Devices of the paired destination that still owe their approval. */
static uint32_t dst_not_approved(const struct tl_mig *m)
{
	const struct tl_mig *d = m->pair ? m->pair->dst : NULL;
	uint32_t mask = 0;

	if (!d || d == m || !tl_has(d->ack_needed) || !d->ack_needed)
		return 0;
	for (uint32_t i = 0; i < d->ndevs && i < 32; i++)
		if (!tl_has(d->devs[i].approve_ts))
			mask |= 1u << i;
	return mask;
}

static enum tl_stall_reason stall_reason(const struct tl_mig *m)
{
	if (!tl_has(m->threshold) || !tl_has(m->pending) || m->pending >= m->threshold)
		return TL_STALL_ABOVE_THRESHOLD;
	if (!tl_has(m->ms[TL_M_ACK_RECEIVED]))
		return TL_STALL_WAITING_ACK;
	return TL_STALL_OTHER;
}

static bool in_precopy(const struct tl_mig *m)
{
	return m->result == TL_RES_ACTIVE && tl_has(m->ms[TL_M_ACTIVE]) &&
	       !tl_has(m->ms[TL_M_SRC_DOWNTIME_START]) && !tl_has(m->ms[TL_M_POSTCOPY_ACTIVE]) &&
	       !tl_has(m->ms[TL_M_POSTCOPY_DEVICE]);
}

static void progress(struct tl *tl, struct tl_mig *m, uint64_t ts, uint64_t pending)
{
	if (!in_precopy(m))
		return;
	/* progress = a new low by at least 1 % (noise is not progress) */
	if (!tl_has(m->best_pending) || pending == 0 ||
	    pending < m->best_pending - m->best_pending / 100) {
		m->best_pending = pending;
		m->best_ts = ts;
		return;
	}
	/* records of several CPUs may be slightly out of order */
	if (ts >= m->best_ts && ts - m->best_ts >= tl->stall_window && !tl_has(m->stall_ts)) {
		m->stall_ts = ts;
		m->stall_reason = stall_reason(m);
		m->stall_devs = devs_not_drained(m);
		m->stall_dst_devs = dst_not_approved(m);
	}
}

static struct tl_sample *sample_last(struct tl_mig *m)
{
	if (!m->series_n)
		return NULL;
	return &m->series[(m->series_head + TL_SERIES_LEN - 1) % TL_SERIES_LEN];
}

static void on_pending_estimate(struct tl *tl, struct tl_mig *m, uint64_t ts, uint64_t size)
{
	struct tl_sample *s = &m->series[m->series_head];

	if (m->below_thr) {
		/* under the threshold last iteration, yet no low-pending: the
		 * switchover was not allowed, i.e. the ACK was awaited */
		m->held_back = true;
		m->below_thr = false;
	}
	m->iterations++;
	m->pending = size;
	s->ts = ts;
	s->pending = size;
	s->exact = TL_NONE;
	s->threshold = m->threshold;
	s->bandwidth = m->bandwidth;
	m->series_head = (m->series_head + 1) % TL_SERIES_LEN;
	if (m->series_n < TL_SERIES_LEN)
		m->series_n++;
	progress(tl, m, ts, size);
}

static void on_pending_exact(struct tl *tl, struct tl_mig *m, uint64_t ts, uint64_t size)
{
	struct tl_sample *s = sample_last(m);

	m->pending = size;
	if (s)
		s->exact = size;
	/* QEMU completes at pending <= threshold from 10.1, strictly below before
	 * (a version unknown is taken as before: the stricter reading) */
	if (tl_has(m->threshold) &&
	    (size < m->threshold || (size == m->threshold && m->proc->qemu_version >= 100100))) {
		mark(m, TL_M_READY, ts);
		m->below_thr = true;
	}
	progress(tl, m, ts, size);
}

/* ------------------------------------------------------------------ */
/* VFIO */

static void obs_initial(struct tl_dev *d, uint64_t ts, uint64_t init, uint64_t dirty)
{
	if ((d->initial != init || d->dirty != dirty || !d->ds_n) &&
	    (d->ds_n == TL_DEV_SERIES ||
	     room((void **)&d->ds, &d->ds_cap, d->ds_n, sizeof(*d->ds), 8, TL_DEV_SERIES))) {
		/* appended until the ring is whole, then over the oldest */
		d->ds[d->ds_head] = (struct tl_dev_sample){ts, init, dirty};
		d->ds_head = (uint16_t)((d->ds_head + 1) % TL_DEV_SERIES);
		if (d->ds_n < TL_DEV_SERIES)
			d->ds_n++;
	}
	d->initial = init;
	d->dirty = dirty;
	if (init && !tl_has(d->first_initial))
		d->first_initial = init;
	if (!init && !tl_has(d->drain_ts))
		d->drain_ts = ts;
}

static int tr_add(struct tl_dev *d, uint64_t ts, int64_t dur_ns, int64_t ret, uint8_t from,
		  uint8_t to)
{
	struct tl_transition *t;

	if (d->ntr >= TL_MAX_TRANSITIONS) {
		d->tr_dropped++;
		return -1;
	}
	t = &d->tr[d->ntr];
	memset(t, 0, sizeof(*t));
	t->ts = ts;
	t->dur_ns = dur_ns;
	t->ret = ret;
	t->from = from;
	t->to = to;
	return d->ntr++;
}

/* The transition a thread slot refers to, if its migration is still here. */
static struct tl_transition *tid_tr(struct tl_proc *p, struct tl_tid *t)
{
	struct tl_mig *m = NULL;
	struct tl_dev *d;

	if (t->tr_idx < 0 || t->tr_pdev < 0)
		return NULL;
	if (p->cur && p->cur->seq == t->tr_seq)
		m = p->cur;
	else if (p->last && p->last->seq == t->tr_seq)
		m = p->last;
	if (!m)
		return NULL;
	d = mdev(m, p, t->tr_pdev);
	return d && t->tr_idx < d->ntr ? &d->tr[t->tr_idx] : NULL;
}

static void set_state_ioctl(struct tl_proc *p, struct tl_mig *m, struct tl_tid *t, int pd,
			    const struct ms_ioctl *io)
{
	struct tl_pdev *pdv = &p->pdevs[pd];
	uint8_t from = pdv->state, to = (uint8_t)(io->dev_state > 0xfe ? 0xfe : io->dev_state);
	struct tl_dev *d = mdev(m, p, pd);
	int idx = -1;

	if (io->ret == 0)
		pdv->state = to;
	fd_bind(p, io->fd, pd, false);
	if (io->ret == 0 && io->data_fd >= 0)
		fd_bind(p, io->data_fd, pd, true);
	if (d) {
		/* a syscall record is stamped with its start (bpf/migscope.bpf.c) */
		idx = tr_add(d, io->h.ts, (int64_t)io->dur_ns, io->ret, from, to);
		if (io->ret == 0)
			dev_state(d, to);
	}
	t->tr_pdev = pd;
	t->tr_idx = idx;
	t->tr_seq = m ? m->seq : 0;
	t->tr_ioctl = true;
	t->tr_to = to;
}

/* A VFIO ioctl whose device is known. */
static void apply_ioctl(struct tl_proc *p, struct tl_mig *m, struct tl_tid *t, int pd,
			const struct ms_ioctl *io)
{
	struct tl_dev *d;
	uint32_t feat = io->feat_flags & MS_VFIO_FEAT_MASK;

	if (io->cmd == MS_VFIO_DEVICE_FEATURE && feat == MS_VFIO_FEAT_MIG_DEVICE_STATE &&
	    (io->feat_flags & MS_VFIO_FEAT_SET)) {
		set_state_ioctl(p, m, t, pd, io);
		return;
	}
	if (io->cmd == MS_VFIO_DEVICE_FEATURE)
		fd_bind(p, io->fd, pd, false);
	else
		fd_bind(p, io->fd, pd, true);
	if (io->ret < 0)
		return; /* a failed query carries no data */
	d = mdev(m, p, pd);
	if (io->cmd == MS_VFIO_MIG_GET_PRECOPY_INFO) {
		if (d) {
			d->precopy = true;
			obs_initial(d, io->h.ts, io->v1, io->v2);
		}
	} else if (feat == MS_VFIO_FEAT_MIG_DEVICE_STATE) {
		p->pdevs[pd].state = (uint8_t)(io->dev_state > 0xfe ? 0xfe : io->dev_state);
		if (d)
			dev_state(d, p->pdevs[pd].state);
	} else if (feat == MS_VFIO_FEAT_MIG_DATA_SIZE) {
		if (d)
			d->stopcopy = io->v1;
	}
}

static void on_ioctl(struct tl_proc *p, struct tl_mig *m, const struct ms_ioctl *io)
{
	struct tl_tid *t = tid_get(p, io->h.tid);
	uint32_t feat = io->feat_flags & MS_VFIO_FEAT_MASK;
	int pd;

	if (io->cmd == MS_VFIO_DEVICE_FEATURE) {
		uint32_t dir = io->feat_flags & (MS_VFIO_FEAT_GET | MS_VFIO_FEAT_SET);

		/* The same number is VFIO_IOMMU_DIRTY_PAGES on a container fd,
		 * whose flags (1, 2, 4) never carry GET or SET: require one. */
		if ((io->feat_flags & MS_VFIO_FEAT_PROBE) ||
		    (dir != MS_VFIO_FEAT_GET && dir != MS_VFIO_FEAT_SET))
			return;
		if (feat == MS_VFIO_FEAT_MIG_DATA_SIZE && dir != MS_VFIO_FEAT_GET)
			return;
		if (feat != MS_VFIO_FEAT_MIG_DEVICE_STATE && feat != MS_VFIO_FEAT_MIG_DATA_SIZE)
			return;
		if (feat == MS_VFIO_FEAT_MIG_DEVICE_STATE && (io->feat_flags & MS_VFIO_FEAT_SET)) {
			uint8_t to = (uint8_t)(io->dev_state > 0xfe ? 0xfe : io->dev_state);
			struct tl_transition *tr;

			/* vfio_migration_set_device_state fired first (an
			 * order QEMU 10.0 does not have): complete its transition */
			if (t->tr_pdev >= 0 && !t->tr_ioctl && t->tr_to == to) {
				tr = tid_tr(p, t);
				if (tr) {
					tr->ts = io->h.ts;
					tr->dur_ns = (int64_t)io->dur_ns;
					tr->ret = io->ret;
				}
				t->tr_ioctl = true;
				fd_bind(p, io->fd, t->tr_pdev, false);
				if (io->ret == 0 && io->data_fd >= 0)
					fd_bind(p, io->data_fd, t->tr_pdev, true);
				return;
			}
			/* QEMU 10: vfio_migration_set_state named it just before */
			pd = t->pre_dev >= 0 ? t->pre_dev : fd_find(p, io->fd);
		} else {
			pd = fd_find(p, io->fd);
		}
	} else if (io->cmd == MS_VFIO_MIG_GET_PRECOPY_INFO) {
		pd = fd_find(p, io->fd);
	} else {
		return;
	}
	if (pd < 0) {
		/* fd not known yet: the next vfio probe on this thread names it */
		t->orphan = true;
		t->orphan_rec = *io;
		return;
	}
	apply_ioctl(p, m, t, pd, io);
}

static void on_data_io(struct tl *tl, struct tl_proc *p, struct tl_mig *m,
		       const struct ms_data_io *io)
{
	int pd = fd_find(p, io->fd);
	struct tl_dev *d = mdev(m, p, pd);
	uint64_t *ctr;

	if (!d) {
		tl->unattributed++;
		return;
	}
	ctr = io->op == MS_IO_WRITE ? &d->bytes_written : &d->bytes_read;
	if (!tl_has(*ctr))
		*ctr = 0;
	d->has_io = true;
	if (io->ret > 0) {
		*ctr += (uint64_t)io->ret;
		if (io->op == MS_IO_READ && d->state == MS_VFIO_STOP_COPY && tl_has(d->sc_io))
			d->sc_io += (uint64_t)io->ret;
	}
}

/* vmstate_downtime_save/load: a VFIO device's own section, or another one. */
static void on_downtime_section(struct tl_proc *p, struct tl_mig *m, struct tl_tid *t,
				const struct ms_usdt *u, bool load)
{
	size_t tn, n;
	const char *type = sarg(u, 0, &tn), *id = sarg(u, 1, &n);
	int it = seq_lit(type, tn, "iterable") ? 0 : 1;
	const char *slash = memchr(id, '/', n);
	size_t pre = slash ? (size_t)(slash - id) : n;
	bool vfio = slash && seq_lit(slash + 1, n - pre - 1, "vfio");
	int64_t us = (int64_t)u->args[3];
	struct tl_dev *d = NULL;
	int pd;

	/* The section's own vfio probes fired just before on this thread: that
	 * names the host device of a guest path (they differ on real hosts). */
	if (vfio) {
		pd = pdev_find(p, id, pre);
		for (uint32_t i = 0; pd < 0 && i < p->npdevs; i++)
			if (p->pdevs[i].alias[0] && name_eq(p->pdevs[i].alias, id, pre))
				pd = (int)i;
		if (pd < 0 && t->last_vfio >= 0) {
			pd = t->last_vfio;
			scpy(p->pdevs[pd].alias, sizeof(p->pdevs[pd].alias), id, pre);
		}
		if (pd < 0)
			pd = pdev_get(p, id, pre);
		d = mdev(m, p, pd);
		if (d && !d->alias[0])
			scpy(d->alias, sizeof(d->alias), id, pre);
	} else if (m) {
		d = mdev_by_name(m, id, pre, false);
	}
	t->last_vfio = -1;
	if (!m)
		return;
	if (d) {
		int64_t *slot = load ? &d->load_us[it] : &d->save_us[it];

		*slot = tl_dhas(*slot) ? *slot + us : us;
		return;
	}
	/* other sections: keep the largest */
	struct tl_section *s = NULL;

	if (m->nsections < TL_MAX_SECTIONS) {
		s = &m->sections[m->nsections++];
	} else {
		for (uint32_t i = 0; i < m->nsections; i++)
			if (m->sections[i].us < us && (!s || m->sections[i].us < s->us))
				s = &m->sections[i];
		if (!s)
			return;
	}
	memset(s, 0, sizeof(*s));
	scpy(s->idstr, sizeof(s->idstr), id, n);
	s->instance = (uint32_t)u->args[2];
	s->iterable = it == 0;
	s->load = load;
	s->us = us;
}

/* The destination's load thread stops waiting for a buffer. */
static void mf_unstarve(struct tl_dev *d, uint64_t ts)
{
	if (!tl_has(d->mf_starve_ts))
		return;
	if (ts > d->mf_starve_ts)
		d->mf_starved_ns += (int64_t)(ts - d->mf_starve_ts);
	d->mf_starve_ts = TL_NONE;
}

/* VFIO device state over multifd (hw/vfio/migration-multifd.c, 10.0+). The
 * source's save thread reads the data fd in STOP_COPY (its reads count as the
 * stop-copy bytes, there is no vfio_save_block); on the destination packets
 * come in on the multifd threads and one load thread per device writes them in
 * order, waiting (starved) for the next one when it is not there yet. */
static void on_vfio_multifd(struct tl_dev *d, const struct ms_usdt *u)
{
	uint64_t ts = u->h.ts;

	switch (u->h.probe) {
	case MS_P_VFIO_SAVE_COMPLETE_PRECOPY_THREAD_START:
		if (!tl_has(d->mf_save_start))
			d->mf_save_start = ts;
		break;
	case MS_P_VFIO_SAVE_COMPLETE_PRECOPY_THREAD_END:
		if (!tl_has(d->mf_save_end)) {
			d->mf_save_end = ts;
			d->mf_save_ret = (int32_t)u->args[1];
		}
		break;
	case MS_P_VFIO_LOAD_STATE_DEVICE_BUFFER_INCOMING:
		d->mf_incoming++;
		if (!tl_has(d->mf_first_in))
			d->mf_first_in = ts;
		d->mf_last_in = ts;
		break;
	case MS_P_VFIO_LOAD_BUFS_THREAD_START:
		if (!tl_has(d->mf_load_start))
			d->mf_load_start = ts;
		break;
	case MS_P_VFIO_LOAD_STATE_DEVICE_BUFFER_STARVED:
		if (!tl_has(d->mf_starve_ts)) {
			d->mf_starved++;
			d->mf_starve_ts = ts;
		}
		break;
	case MS_P_VFIO_LOAD_STATE_DEVICE_BUFFER_START:
	case MS_P_VFIO_LOAD_STATE_DEVICE_BUFFER_END:
	case MS_P_VFIO_LOAD_DEVICE_CONFIG_STATE_START: /* the config packet came */
		mf_unstarve(d, ts);
		break;
	case MS_P_VFIO_LOAD_STATE_DEVICE_BUFFER_LOAD_START:
		mf_unstarve(d, ts);
		d->mf_buf_ts = ts;
		break;
	case MS_P_VFIO_LOAD_STATE_DEVICE_BUFFER_LOAD_END:
		if (tl_has(d->mf_buf_ts) && ts >= d->mf_buf_ts) {
			d->mf_write_ns += (int64_t)(ts - d->mf_buf_ts);
			d->mf_loaded++;
		}
		d->mf_buf_ts = TL_NONE;
		break;
	case MS_P_VFIO_LOAD_BUFS_THREAD_END:
		mf_unstarve(d, ts);
		if (!tl_has(d->mf_load_end))
			d->mf_load_end = ts;
		break;
	default: break;
	}
}

static void on_vfio_probe(struct tl_proc *p, struct tl_mig *m, struct tl_tid *t,
			  const struct ms_usdt *u)
{
	size_t n, sn;
	const char *name = sarg(u, 0, &n);
	int pd = pdev_get(p, name, n);
	struct tl_dev *d;
	uint8_t to;

	if (pd < 0)
		return;
	if (t->orphan) {
		t->orphan = false;
		apply_ioctl(p, m, t, pd, &t->orphan_rec);
	}
	t->last_vfio = pd;
	d = mdev(m, p, pd);

	switch (u->h.probe) {
	case MS_P_VFIO_MIGRATION_REALIZE:
		/* QEMU starts a migratable device in RUNNING without an ioctl */
		if (p->pdevs[pd].state == TL_VFIO_UNKNOWN)
			p->pdevs[pd].state = MS_VFIO_RUNNING;
		break;
	case MS_P_VFIO_MIGRATION_SET_STATE:
		if (MS_F_SHAPE(u->h.flags) != 1) {
			t->pre_dev = pd;
			t->tr_pdev = -1;
			break;
		}
		/* 8.1-9.0: (name, state) after the ioctl succeeded, which
		 * vfio_migration_set_device_state says from 9.1 */
		/* fallthrough */
	case MS_P_VFIO_MIGRATION_SET_DEVICE_STATE: {
		const char *s = sarg(u, 1, &sn);

		to = vfio_state_parse(s, sn);
		/* 8.x names the device only after its ioctl: the next ioctl is not
		 * this device's but the one the probe after it names */
		t->pre_dev = u->h.probe == MS_P_VFIO_MIGRATION_SET_STATE ? -1 : pd;
		if (t->tr_pdev == pd && t->tr_ioctl && t->tr_to == to) {
			t->tr_pdev = -1; /* QEMU 10 order: the ioctl is recorded */
			break;
		}
		/* no ioctl (yet): the probe alone is the transition */
		uint8_t from = p->pdevs[pd].state;

		p->pdevs[pd].state = to;
		t->tr_pdev = pd;
		t->tr_idx = -1;
		t->tr_seq = m ? m->seq : 0;
		t->tr_ioctl = false;
		t->tr_to = to;
		if (d) {
			t->tr_idx = tr_add(d, u->h.ts, TL_DNONE, 0, from, to);
			dev_state(d, to);
		}
		break;
	}
	case MS_P_VFIO_SAVE_SETUP:
		if (d && !tl_has(d->save_setup_ts))
			d->save_setup_ts = u->h.ts;
		break;
	case MS_P_VFIO_SAVE_ITERATE_START:
		if (d && !tl_has(d->iterate_start_ts))
			d->iterate_start_ts = u->h.ts;
		break;
	case MS_P_VFIO_SAVE_ITERATE:
		if (d) {
			d->precopy = true;
			obs_initial(d, u->h.ts, u->args[1], u->args[2]);
		}
		break;
	case MS_P_VFIO_SAVE_BLOCK:
		if (d) {
			int32_t n = (int32_t)u->args[1];

			d->block_seen = true;
			if (n > 0) {
				d->block_bytes += (uint64_t)n;
				if (d->state == MS_VFIO_STOP_COPY && tl_has(d->sc_block))
					d->sc_block += (uint64_t)n;
			}
		}
		break;
	case MS_P_VFIO_STATE_PENDING_ESTIMATE:
		if (d) {
			d->precopy = true;
			obs_initial(d, u->h.ts, u->args[3], u->args[4]);
		}
		break;
	case MS_P_VFIO_STATE_PENDING_EXACT:
		if (d) {
			d->stopcopy = u->args[3];
			/* outside precopy QEMU reports zeroed sizes, not a drain */
			if (d->precopy && (vfio_state_precopy(p->pdevs[pd].state) ||
					   p->pdevs[pd].state == TL_VFIO_UNKNOWN))
				obs_initial(d, u->h.ts, u->args[4], u->args[5]);
		}
		break;
	case MS_P_VFIO_SAVE_COMPLETE_PRECOPY_START:
		if (d && !tl_has(d->complete_start_ts))
			d->complete_start_ts = u->h.ts;
		break;
	case MS_P_VFIO_SAVE_COMPLETE_PRECOPY:
		if (d && !tl_has(d->complete_ts))
			d->complete_ts = u->h.ts;
		break;
	case MS_P_VFIO_LOAD_STATE:
		if (d && u->args[1] == MS_VFIO_MIG_FLAG_DEV_INIT_DATA_SENT &&
		    !tl_has(d->init_sent_ts)) {
			d->init_sent_ts = u->h.ts;
			if (d->load_seen)
				d->init_loaded = d->load_data_bytes;
			else if (d->has_io && tl_has(d->bytes_written))
				d->init_loaded = d->bytes_written;
			else if (!d->has_io)
				d->init_loaded = 0; /* nothing was loaded before it */
		}
		break;
	case MS_P_VFIO_LOAD_STATE_DEVICE_DATA:
		if (d) {
			d->load_seen = true;
			if ((int32_t)u->args[2] >= 0)
				d->load_data_bytes += u->args[1];
		}
		break;
	default:
		if (d)
			on_vfio_multifd(d, u);
		break;
	}
}

/* The approval goes to the device whose DEV_INIT_DATA_SENT came first among
 * those not approved yet: QEMU approves inside the load of that flag, and a
 * device that takes time before approving keeps the order. */
static int32_t awaiting_approval(const struct tl_mig *m)
{
	int32_t best = -1;

	for (uint32_t i = 0; i < m->ndevs; i++) {
		const struct tl_dev *d = &m->devs[i];

		if (!tl_has(d->init_sent_ts) || tl_has(d->approve_ts))
			continue;
		if (best < 0 || d->init_sent_ts < m->devs[best].init_sent_ts)
			best = (int32_t)i;
	}
	return best;
}

/* ------------------------------------------------------------------ */
/* feeding */

/* ------------------------------------------------------------------ */
/* protocol messages */

/* Commands that carry no timing worth keeping and may come by the hundred
 * (postcopy's discard lists; a package re-sends its contents). */
static bool msg_skip_cmd(uint16_t cmd)
{
	return cmd == 6 /* POSTCOPY_RAM_DISCARD */ || cmd == 7 /* PACKAGED */ ||
	       !cat_vm_cmd_name(cmd);
}

static bool msg_rp_kept(int32_t type)
{
	return type == MS_MIG_RP_MSG_SHUT || type == MS_MIG_RP_MSG_PONG ||
	       type == MS_MIG_RP_MSG_SWITCHOVER_ACK;
}

static struct tl_msg *msg_add(struct tl_mig *m, bool sent, bool stream, uint16_t type, uint64_t ts)
{
	uint16_t *n = sent ? &m->nsent : &m->nrecv;
	struct tl_msg *g;

	if (*n >= TL_MAX_MSGS) {
		m->msgs_dropped++;
		return NULL;
	}
	g = &(sent ? m->sent : m->recv)[(*n)++];
	memset(g, 0, sizeof(*g));
	g->ts = ts;
	g->type = type;
	g->stream = stream;
	if (m->pair)
		pair_align(m->pair);
	return g;
}

/* The source's section headers are kept until its stop phase: the whole
 * sections it writes there (vmstate_save: FULL) are read as startfull, not
 * partend, and a VFIO device's section has both kinds. */
static bool parts_closed(const struct tl_mig *m)
{
	static const enum tl_milestone stop[] = {
	    TL_M_SRC_DOWNTIME_START, TL_M_SRC_VM_STOPPED, TL_M_SRC_ITERABLE_SAVED,
	    TL_M_SWITCHOVER_START,   TL_M_POSTCOPY_START, TL_M_END,
	};

	for (size_t i = 0; i < sizeof(stop) / sizeof(stop[0]); i++)
		if (tl_has(m->ms[stop[i]]))
			return true;
	return false;
}

static void part_add(struct tl_mig *m, bool recv, uint32_t section, uint64_t ts)
{
	struct tl_part *g;
	uint16_t ord = 0;

	if (!recv && parts_closed(m))
		return;
	uint32_t cap = m->cap_parts;

	if (m->nparts >= TL_MAX_PARTS ||
	    !room((void **)&m->parts, &cap, m->nparts, sizeof(*m->parts), 16, TL_MAX_PARTS)) {
		m->parts_dropped++;
		return;
	}
	m->cap_parts = (uint16_t)cap;
	for (uint16_t i = 0; i < m->nparts; i++)
		ord += m->parts[i].recv == recv && m->parts[i].section == section;
	g = &m->parts[m->nparts++];
	g->ts = ts;
	g->section = section;
	g->ord = ord;
	g->recv = recv;
	if (m->pair)
		pair_align(m->pair);
}

static int vm_cmd_of(const char *s, size_t n)
{
	for (unsigned int c = 0; cat_vm_cmd_name(c); c++)
		if (seq_lit(s, n, cat_vm_cmd_name(c)))
			return (int)c;
	return -1;
}

static void on_message(struct tl_mig *m, const struct ms_usdt *u)
{
	uint64_t ts = u->h.ts;
	struct tl_msg *g;

	switch (u->h.probe) {
	case MS_P_SAVEVM_SEND_PING:
		m->ping_val = (uint32_t)u->args[0];
		m->has_ping_val = true;
		break;
	case MS_P_SAVEVM_COMMAND_SEND: {
		uint16_t cmd = (uint16_t)u->args[0];

		if (msg_skip_cmd(cmd))
			break;
		g = msg_add(m, true, true, cmd, ts);
		if (cmd == MS_MIG_CMD_PING) {
			mark(m, TL_M_PING_SENT, ts);
			if (g && m->has_ping_val) {
				g->val = m->ping_val;
				g->has_val = true;
			}
			m->has_ping_val = false;
		}
		break;
	}
	case MS_P_LOADVM_PROCESS_COMMAND: {
		size_t n;
		const char *s = sarg(u, 0, &n);
		int cmd = vm_cmd_of(s, n);

		if (cmd < 0 || msg_skip_cmd((uint16_t)cmd))
			break;
		msg_add(m, false, true, (uint16_t)cmd, ts);
		if (cmd == MS_MIG_CMD_PING)
			mark(m, TL_M_PING_RECEIVED, ts);
		else if (cmd == MS_MIG_CMD_SWITCHOVER_START)
			mark(m, TL_M_SWITCHOVER_START_RECEIVED, ts);
		break;
	}
	case MS_P_LOADVM_PROCESS_COMMAND_PING:
		/* the value of the PING just read; the PONG will carry it back */
		m->ping_val = (uint32_t)u->args[0];
		m->has_ping_val = true;
		if (m->nrecv && m->recv[m->nrecv - 1].type == MS_MIG_CMD_PING &&
		    !m->recv[m->nrecv - 1].has_val) {
			m->recv[m->nrecv - 1].val = m->ping_val;
			m->recv[m->nrecv - 1].has_val = true;
			if (m->pair)
				pair_align(m->pair);
		}
		break;
	case MS_P_MIGRATE_SEND_RP_MESSAGE: {
		int32_t type = (int32_t)u->args[0];

		if (!msg_rp_kept(type))
			break;
		g = msg_add(m, true, false, (uint16_t)type, ts);
		if (type == MS_MIG_RP_MSG_PONG) {
			mark(m, TL_M_PONG_SENT, ts);
			if (g && m->has_ping_val) {
				g->val = m->ping_val;
				g->has_val = true;
			}
			m->has_ping_val = false;
		} else if (type == MS_MIG_RP_MSG_SHUT) {
			mark(m, TL_M_SHUT_SENT, ts);
		}
		break;
	}
	case MS_P_SOURCE_RETURN_PATH_THREAD_PONG:
		g = msg_add(m, false, false, MS_MIG_RP_MSG_PONG, ts);
		mark(m, TL_M_PONG_RECEIVED, ts);
		if (g) {
			g->val = (uint32_t)u->args[0];
			g->has_val = true;
		}
		break;
	case MS_P_SOURCE_RETURN_PATH_THREAD_SHUT:
		msg_add(m, false, false, MS_MIG_RP_MSG_SHUT, ts);
		mark(m, TL_M_SHUT_RECEIVED, ts);
		break;
	case MS_P_SOURCE_RETURN_PATH_THREAD_SWITCHOVER_ACKED:
		msg_add(m, false, false, MS_MIG_RP_MSG_SWITCHOVER_ACK, ts);
		break;
	case MS_P_SAVEVM_SECTION_START: part_add(m, false, (uint32_t)u->args[1], ts); break;
	case MS_P_QEMU_LOADVM_STATE_SECTION_PARTEND:
		part_add(m, true, (uint32_t)u->args[0], ts);
		break;
	default: break;
	}
}

/* What a probe says of the thread it fired on */
static uint8_t probe_thread(unsigned int probe, enum tl_role role)
{
	switch (probe) {
	case MS_P_QMP_ENTER_MIGRATE:
	case MS_P_QMP_ENTER_MIGRATE_INCOMING:
	case MS_P_QMP_ENTER_MIGRATE_SET_CAPABILITIES:
	case MS_P_QMP_ENTER_MIGRATE_SET_PARAMETERS:
	case MS_P_VM_STATE_NOTIFY:
	case MS_P_RUNSTATE_SET: return TL_THR_MAIN;
	case MS_P_SOURCE_RETURN_PATH_THREAD_ENTRY:
	case MS_P_SOURCE_RETURN_PATH_THREAD_END:
	case MS_P_SOURCE_RETURN_PATH_THREAD_SWITCHOVER_ACKED:
	case MS_P_SOURCE_RETURN_PATH_THREAD_PONG:
	case MS_P_SOURCE_RETURN_PATH_THREAD_SHUT: return TL_THR_RETURN_PATH;
	case MS_P_MIGRATE_PENDING_ESTIMATE:
	case MS_P_MIGRATE_PENDING_EXACT:
	case MS_P_MIGRATION_BITMAP_SYNC_END:
	case MS_P_MIGRATION_THREAD_LOW_PENDING:
	case MS_P_SAVEVM_SECTION_START: return TL_THR_MIGRATION;
	case MS_P_LOADVM_PROCESS_COMMAND:
	case MS_P_QEMU_LOADVM_STATE_SECTION_PARTEND:
		return role == TL_ROLE_SOURCE ? TL_THR_OTHER : TL_THR_INCOMING;
	case MS_P_VFIO_SAVE_COMPLETE_PRECOPY_THREAD_START:
	case MS_P_VFIO_SAVE_COMPLETE_PRECOPY_THREAD_END: return TL_THR_VFIO_SAVE;
	case MS_P_VFIO_LOAD_BUFS_THREAD_START:
	case MS_P_VFIO_LOAD_BUFS_THREAD_END:
	case MS_P_VFIO_LOAD_STATE_DEVICE_BUFFER_START:
	case MS_P_VFIO_LOAD_STATE_DEVICE_BUFFER_STARVED:
	case MS_P_VFIO_LOAD_STATE_DEVICE_BUFFER_LOAD_START:
	case MS_P_VFIO_LOAD_STATE_DEVICE_BUFFER_LOAD_END:
	case MS_P_VFIO_LOAD_STATE_DEVICE_BUFFER_END: return TL_THR_VFIO_LOAD;
	default: return TL_THR_OTHER;
	}
}

/* A record of thread tid at ts went to m; kind: what it says of the thread */
static void thread_seen(struct tl_mig *m, uint32_t tid, uint64_t ts, uint8_t kind)
{
	struct tl_thread *t = NULL;

	/* most records come from the thread of the one before */
	if (m->thr_last < m->nthreads && m->threads[m->thr_last].tid == tid)
		t = &m->threads[m->thr_last];
	for (uint16_t i = 0; !t && i < m->nthreads; i++)
		if (m->threads[i].tid == tid) {
			t = &m->threads[i];
			m->thr_last = i;
		}
	if (!t) {
		if (m->nthreads >= TL_MAX_THREADS) {
			m->threads_dropped++;
			return;
		}
		m->thr_last = m->nthreads;
		t = &m->threads[m->nthreads++];
		*t = (struct tl_thread){.tid = tid, .first_ts = ts, .last_ts = ts, .kind = kind};
	}
	t->records++;
	if (ts > t->last_ts)
		t->last_ts = ts;
	/* a name once known stays; VFIO I/O only until the thread does more */
	if (kind != TL_THR_OTHER && (t->kind == TL_THR_OTHER || t->kind == TL_THR_VFIO_IO))
		t->kind = kind;
}

const char *tl_thread_name(enum tl_thread_kind k)
{
	static const char *const names[] = {
	    [TL_THR_OTHER] = "thread",
	    [TL_THR_MAIN] = "main loop",
	    [TL_THR_MIGRATION] = "migration thread",
	    [TL_THR_RETURN_PATH] = "return path",
	    [TL_THR_INCOMING] = "incoming (loadvm)",
	    [TL_THR_VFIO_SAVE] = "VFIO save thread",
	    [TL_THR_VFIO_LOAD] = "VFIO load thread",
	    [TL_THR_VFIO_IO] = "VFIO I/O",
	};

	return (unsigned int)k < sizeof(names) / sizeof(names[0]) ? names[k] : "thread";
}

static void on_set_state(struct tl *tl, struct tl_proc *p, const struct ms_usdt *u)
{
	size_t n;
	const char *s = sarg(u, 0, &n);
	enum tl_result res = TL_RES_ACTIVE;
	struct tl_mig *m;

	if (seq_lit(s, n, "completed"))
		res = TL_RES_COMPLETED;
	else if (seq_lit(s, n, "failed"))
		res = TL_RES_FAILED;
	else if (seq_lit(s, n, "cancelled"))
		res = TL_RES_CANCELLED;

	if (res != TL_RES_ACTIVE) {
		m = p->cur;
		if (!m) {
			tl->unattributed++;
			return;
		}
		m->records++;
		thread_seen(m, u->h.tid, u->h.ts, TL_THR_OTHER);
		scpy(m->state, sizeof(m->state), s, n);
		mig_end(tl, m, res, u->h.ts);
		return;
	}
	if (n == 0 || seq_lit(s, n, "none")) {
		tl->unattributed++;
		return;
	}
	if (seq_lit(s, n, "setup")) {
		m = mig_start(tl, p, u->h.ts, false, false);
		if (!m) {
			tl->nomem++;
			return;
		}
		mark(m, TL_M_SETUP, u->h.ts);
		try_pair(tl, m, false);
	} else {
		m = p->cur;
		if (!m) {
			/* setup not seen: QEMU before the incoming setup state, or
			 * capture started between setup and this state */
			m = mig_start(tl, p, u->h.ts, true, false);
			if (!m) {
				tl->nomem++;
				return;
			}
		}
		if (seq_lit(s, n, "active"))
			mark(m, TL_M_ACTIVE, u->h.ts);
		else if (seq_lit(s, n, "postcopy-active"))
			mark(m, TL_M_POSTCOPY_ACTIVE, u->h.ts);
		else if (seq_lit(s, n, "postcopy-device"))
			mark(m, TL_M_POSTCOPY_DEVICE, u->h.ts);
		else if (seq_lit(s, n, "cancelling"))
			mark(m, TL_M_CANCELLING, u->h.ts);
	}
	m->records++;
	thread_seen(m, u->h.tid, u->h.ts, TL_THR_OTHER);
	scpy(m->state, sizeof(m->state), s, n);
}

static void on_usdt(struct tl *tl, struct tl_proc *p, const union ms_rec *r)
{
	const struct ms_usdt *u = &r->usdt;
	unsigned int probe = u->h.probe;
	uint64_t ts = u->h.ts;
	struct tl_mig *m;
	struct tl_tid *t = NULL;

	if (probe == MS_P_MIGRATE_SET_STATE) {
		on_set_state(tl, p, u);
		return;
	}
	m = mig_for(p, ts);
	if (!m && probe_starts[probe]) {
		m = mig_start(tl, p, ts, true, true);
		if (!m)
			tl->nomem++;
	}
	if (m) {
		m->records++;
		decide_role(tl, m, (enum tl_role)probe_role[probe]);
		thread_seen(m, u->h.tid, ts, probe_thread(probe, tl_mig_role(m)));
		/* the device's ioctls and data fd I/O around this probe were not
		 * seen (the notifier and realize come before the migration's) */
		if ((u->h.flags & MS_F_NO_SYSCALLS) && tl->is_vfio[probe] &&
		    probe != MS_P_VFIO_MIGRATION_REALIZE &&
		    probe != MS_P_VFIO_MIGRATION_STATE_NOTIFIER)
			m->nosys = true;
	} else {
		tl->unattributed++;
	}

	if (tl->is_vfio[probe] || probe == MS_P_VMSTATE_DOWNTIME_SAVE ||
	    probe == MS_P_VMSTATE_DOWNTIME_LOAD)
		t = tid_get(p, u->h.tid);
	if (tl->is_vfio[probe]) {
		on_vfio_probe(p, m, t, u);
		return;
	}

	switch (probe) {
	case MS_P_VMSTATE_DOWNTIME_SAVE:
	case MS_P_VMSTATE_DOWNTIME_LOAD:
		on_downtime_section(p, m, t, u, probe == MS_P_VMSTATE_DOWNTIME_LOAD);
		return;
	default: break;
	}
	if (!m)
		return;

	switch (probe) {
	case MS_P_MIGRATE_ERROR:
	case MS_P_MIGRATE_FD_ERROR: /* its name before 9.1 */
		if (!m->error[0]) {
			size_t n;
			const char *s = sarg(u, 0, &n);

			scpy(m->error, sizeof(m->error), s, n);
		}
		break;
	case MS_P_MIGRATION_CANCEL:
	case MS_P_MIGRATE_FD_CANCEL: /* its name before 10.0 */
		/* QEMU's exit (migration_shutdown) cancels even when no migration
		 * runs: after the end it cancels nothing */
		if (m->result == TL_RES_ACTIVE)
			mark(m, TL_M_CANCEL, ts);
		break;
	case MS_P_MIGRATE_PENDING_ESTIMATE: on_pending_estimate(tl, m, ts, u->args[0]); break;
	case MS_P_MIGRATE_PENDING_EXACT: on_pending_exact(tl, m, ts, u->args[0]); break;
	case MS_P_MIGRATE_TRANSFERRED:
		m->transferred += u->args[0];
		m->bandwidth = u->args[2];
		if (MS_F_SHAPE(u->h.flags) == 1) {
			/* 8.1: no switchover bandwidth */
			m->avail_bw = TL_NONE;
			m->threshold = u->args[3];
		} else {
			m->avail_bw = u->args[3];
			m->threshold = u->args[4];
		}
		break;
	case MS_P_MIGRATION_THREAD_LOW_PENDING:
		mark(m, TL_M_LOW_PENDING, ts);
		m->below_thr = false;
		if (!tl_has(m->low_pending)) {
			m->low_pending = u->args[0];
			m->low_pending_bw = m->bandwidth;
		}
		break;
	case MS_P_MIGRATION_BITMAP_SYNC_END:
		/* the sync of the stop phase is not a precopy pass */
		if (!tl_has(m->ms[TL_M_SRC_DOWNTIME_START]))
			m->passes++;
		m->dirty_pages = u->args[0];
		break;
	case MS_P_MIGRATION_COMPLETION_VM_STOP: m->vm_stop_ret = (int32_t)u->args[0]; break;
	case MS_P_SAVEVM_SEND_SWITCHOVER_START: mark(m, TL_M_SWITCHOVER_START, ts); break;
	case MS_P_MIGRATION_PRECOPY_COMPLETE: mark(m, TL_M_PRECOPY_COMPLETE, ts); break;
	case MS_P_POSTCOPY_START: mark(m, TL_M_POSTCOPY_START, ts); break;
	case MS_P_LOADVM_POSTCOPY_HANDLE_RUN: mark(m, TL_M_POSTCOPY_RUN, ts); break;
	case MS_P_OPEN_RETURN_PATH_ON_SOURCE:
	case MS_P_SOURCE_RETURN_PATH_THREAD_ENTRY: mark(m, TL_M_RP_OPEN, ts); break;
	case MS_P_SOURCE_RETURN_PATH_THREAD_END: mark(m, TL_M_RP_END, ts); break;
	case MS_P_LOADVM_STATE_SWITCHOVER_ACK_NEEDED:
		mark(m, TL_M_ACK_NEEDED, ts);
		if (!tl_has(m->ack_needed))
			m->ack_needed = (uint32_t)u->args[0];
		m->ack_pending = (uint32_t)u->args[0];
		break;
	case MS_P_LOADVM_APPROVE_SWITCHOVER: {
		uint32_t rem = (uint32_t)u->args[0];

		int32_t di = awaiting_approval(m);

		m->ack_pending = rem;
		if (di >= 0) {
			m->devs[di].approve_ts = ts;
			m->devs[di].approve_pending = rem;
		}
		if (m->napprovals < TL_MAX_APPROVALS) {
			struct tl_approval *a = &m->approvals[m->napprovals++];

			a->ts = ts;
			a->pending = rem;
			a->dev = di;
		} else {
			m->approvals_dropped++;
		}
		break;
	}
	case MS_P_MIGRATE_SEND_RP_MESSAGE:
		if ((int32_t)u->args[0] == MS_MIG_RP_MSG_SWITCHOVER_ACK)
			mark(m, TL_M_ACK_SENT, ts);
		on_message(m, u);
		break;
	case MS_P_SOURCE_RETURN_PATH_THREAD_SWITCHOVER_ACKED:
		mark(m, TL_M_ACK_RECEIVED, ts);
		on_message(m, u);
		break;
	case MS_P_SAVEVM_SEND_PING:
	case MS_P_SAVEVM_COMMAND_SEND:
	case MS_P_LOADVM_PROCESS_COMMAND:
	case MS_P_LOADVM_PROCESS_COMMAND_PING:
	case MS_P_SOURCE_RETURN_PATH_THREAD_PONG:
	case MS_P_SOURCE_RETURN_PATH_THREAD_SHUT:
	case MS_P_SAVEVM_SECTION_START:
	case MS_P_QEMU_LOADVM_STATE_SECTION_PARTEND: on_message(m, u); break;
	case MS_P_VMSTATE_DOWNTIME_CHECKPOINT: {
		size_t n;
		const char *s = sarg(u, 0, &n);

		for (size_t i = 0; i < sizeof(checkpoints) / sizeof(checkpoints[0]); i++) {
			if (!seq_lit(s, n, checkpoints[i].name))
				continue;
			mark(m, checkpoints[i].m, ts);
			decide_role(tl, m, s[0] == 's' ? TL_ROLE_SOURCE : TL_ROLE_DEST);
			break;
		}
		break;
	}
	default: break;
	}
}

static void on_proc(struct tl *tl, struct tl_proc *p, const struct ms_proc *pr)
{
	p->has_ident = true;
	scpy(p->vm, sizeof(p->vm), pr->vm, strnlen(pr->vm, sizeof(pr->vm)));
	scpy(p->uuid, sizeof(p->uuid), pr->uuid, strnlen(pr->uuid, sizeof(pr->uuid)));
	scpy(p->exe, sizeof(p->exe), pr->exe, strnlen(pr->exe, sizeof(pr->exe)));
	p->pflags = pr->pflags;
	p->qemu_version = pr->qemu_version;
	p->probes_present[0] = pr->probes_present[0];
	p->probes_present[1] = pr->probes_present[1];
	p->probes_attached = pr->probes_attached;
	p->probes_missing = pr->probes_missing;
	p->start_ns = pr->start_ns;
	for (struct tl_mig *m = p->mig_head; m; m = m->proc_next) {
		if (m->has_ident && m != p->cur) {
			open_sync(tl, m); /* the incoming flag may have changed its role */
			continue;
		}
		m->has_ident = true;
		memcpy(m->vm, p->vm, sizeof(m->vm));
		memcpy(m->uuid, p->uuid, sizeof(m->uuid));
		open_sync(tl, m);
		try_pair(tl, m, m->result != TL_RES_ACTIVE);
	}
}

static void on_lost(struct tl *tl, const struct ms_lost *l)
{
	uint16_t in = l->h.input < TL_MAX_INPUTS ? l->h.input : 0;
	uint64_t from = tl->in[in].last_lost_ts, to = l->h.ts;

	tl->lost_total += l->count;
	tl->in[in].last_lost_ts = to;
	if (!l->count)
		return;
	/* One recorder's ring buffer is shared by what it traced: every
	 * migration of that input alive in (from, to] may have lost records.
	 * Another input (another recorder, another host) lost nothing of it. */
	for (size_t i = 0; i < tl->nmigs; i++) {
		struct tl_mig *m = tl->migs[i];

		if (!(m->inputs & (1u << in)))
			continue;
		if (m->start_ts <= to && (!tl_has(m->end_ts) || m->end_ts > from)) {
			m->incomplete = true;
			m->lost_records++;
		}
	}
}

static void proc_reset_image(struct tl_proc *p)
{
	p->npdevs = 0;
	p->nfds = 0;
	for (int i = 0; i < TL_MAX_TIDS; i++)
		tid_reset(&p->tids[i], 0);
}

void tl_feed(struct tl *tl, const union ms_rec *r)
{
	unsigned int kind = r->h.kind;
	uint64_t ts = r->h.ts;
	struct tl_proc *p;
	uint16_t clk;

	tl->records++;
	if (kind < MS_EV_KIND_MAX)
		tl->by_kind[kind]++;
	if (ts > tl->now)
		tl->now = ts;
	clk = input_clock(tl, r->h.input);
	if (ts > tl->clock_now[clk])
		tl->clock_now[clk] = ts;

	switch (kind) {
	case MS_EV_LOST: on_lost(tl, &r->lost); return;
	case MS_EV_EXEC:
	case MS_EV_EXIT:
		/* discovery noise for processes never seen: no state for them */
		p = proc_lookup(tl, input_clock(tl, r->h.input), r->h.pid);
		if (!p || p->exited) {
			tl->unattributed++;
			return;
		}
		p->records++;
		p->last_ts = ts;
		if (p->cur) {
			p->cur->records++;
			mig_end(tl, p->cur, TL_RES_ABORTED, ts);
		}
		if (kind == MS_EV_EXIT) {
			p->exited = true;
			p->exit_ts = ts;
			p->exit_code = r->exit.exit_code;
		} else {
			proc_reset_image(p);
		}
		return;
	case MS_EV_USDT:
		if (r->h.probe == MS_P_NONE || r->h.probe >= MS_P_COUNT) {
			tl->unattributed++;
			return;
		}
		tl->by_probe[r->h.probe]++;
		break;
	case MS_EV_IOCTL:
	case MS_EV_DATA_IO:
	case MS_EV_PROC: break;
	default: tl->unattributed++; return;
	}

	p = proc_get(tl, input_clock(tl, r->h.input), r->h.pid, ts);
	if (!p) {
		tl->nomem++;
		return;
	}
	p->records++;
	p->last_ts = ts;
	tl->cur_input = r->h.input < TL_MAX_INPUTS ? r->h.input : 0;
	if (p->cur)
		p->cur->inputs |= 1u << tl->cur_input;

	switch (kind) {
	case MS_EV_USDT:
		/* an argument that could not be read is not interpreted */
		if (r->h.flags & MS_F_ARG_ERR) {
			tl->unattributed++;
			return;
		}
		on_usdt(tl, p, r);
		break;
	case MS_EV_IOCTL: {
		struct tl_mig *m = mig_for(p, ts);

		if (m) {
			m->records++;
			thread_seen(m, r->h.tid, ts, TL_THR_VFIO_IO);
		}
		on_ioctl(p, m, &r->ioctl);
		break;
	}
	case MS_EV_DATA_IO: {
		struct tl_mig *m = mig_for(p, ts);

		if (m) {
			m->records++;
			thread_seen(m, r->h.tid, ts, TL_THR_VFIO_IO);
		}
		on_data_io(tl, p, m, &r->io);
		break;
	}
	case MS_EV_PROC: on_proc(tl, p, &r->proc); break;
	}
}

void tl_finish(struct tl *tl, uint64_t end_ts)
{
	if (end_ts > tl->now)
		tl->now = end_ts;
	tl->finished = true;
	for (size_t i = 0; i < tl->nmigs; i++)
		try_pair(tl, tl->migs[i], true);
}

void tl_expire(struct tl *tl, uint64_t older_than_ts)
{
	size_t j = 0;

	for (size_t i = 0; i < tl->npairs; i++) {
		struct tl_pair *pr = tl->pairs[i];
		bool gone_s = pr->src->result != TL_RES_ACTIVE && pr->src->end_ts < older_than_ts;
		bool gone_d = pr->dst->result != TL_RES_ACTIVE && pr->dst->end_ts < older_than_ts;

		if (gone_s || gone_d) {
			((struct tl_mig *)pr->src)->pair = NULL;
			((struct tl_mig *)pr->dst)->pair = NULL;
			free(pr);
		} else {
			tl->pairs[j++] = pr;
		}
	}
	tl->npairs = j;

	j = 0;
	for (size_t i = 0; i < tl->nprocs; i++)
		tl->procs[i]->mig_head = tl->procs[i]->mig_tail = NULL;
	memset(tl->nopen, 0, sizeof(tl->nopen));
	for (size_t i = 0; i < tl->nmigs; i++) {
		struct tl_mig *m = tl->migs[i];
		struct tl_proc *p = m->proc;

		if (m->result != TL_RES_ACTIVE && m->end_ts < older_than_ts) {
			if (p->last == m)
				p->last = NULL;
			p->live_migs--;
			mig_free(m);
			continue;
		}
		tl->migs[j++] = m;
		/* the per-proc lists and the unpaired list, again, of what is left */
		m->proc_next = NULL;
		if (p->mig_tail)
			p->mig_tail->proc_next = m;
		else
			p->mig_head = m;
		p->mig_tail = m;
		m->open_at = 0;
		open_sync(tl, m);
	}
	tl->nmigs = j;

	j = 0;
	for (size_t i = 0; i < tl->nprocs; i++) {
		struct tl_proc *p = tl->procs[i];

		if (p->exited && p->exit_ts < older_than_ts && !p->live_migs)
			free(p);
		else
			tl->procs[j++] = p;
	}
	if (j != tl->nprocs) {
		tl->nprocs = j;
		hash_rebuild(tl);
	}
	tl->last_proc = NULL;
}

/* ------------------------------------------------------------------ */
/* accessors */

size_t tl_nprocs(const struct tl *tl)
{
	return tl->nprocs;
}

const struct tl_proc *tl_proc_at(const struct tl *tl, size_t i)
{
	return i < tl->nprocs ? tl->procs[i] : NULL;
}

const struct tl_proc *tl_proc_find(const struct tl *tl, uint32_t pid)
{
	return proc_lookup(tl, 0, pid);
}

size_t tl_nmigs(const struct tl *tl)
{
	return tl->nmigs;
}

const struct tl_mig *tl_mig_at(const struct tl *tl, size_t i)
{
	return i < tl->nmigs ? tl->migs[i] : NULL;
}

/* tl->migs is in start order, which is seq order (expiry keeps it) */
size_t tl_mig_index(const struct tl *tl, const struct tl_mig *m)
{
	size_t lo = 0, hi = tl->nmigs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (tl->migs[mid]->seq < m->seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < tl->nmigs && tl->migs[lo] == m ? lo : (size_t)-1;
}

size_t tl_npairs(const struct tl *tl)
{
	return tl->npairs;
}

const struct tl_pair *tl_pair_at(const struct tl *tl, size_t i)
{
	return i < tl->npairs ? tl->pairs[i] : NULL;
}

uint64_t tl_events(const struct tl *tl, unsigned int probe)
{
	return probe < MS_P_COUNT ? tl->by_probe[probe] : 0;
}

uint64_t tl_events_kind(const struct tl *tl, unsigned int kind)
{
	return kind < MS_EV_KIND_MAX ? tl->by_kind[kind] : 0;
}

uint64_t tl_records(const struct tl *tl)
{
	return tl->records;
}

uint64_t tl_lost_total(const struct tl *tl)
{
	return tl->lost_total;
}

uint64_t tl_unattributed(const struct tl *tl)
{
	return tl->unattributed + tl->nomem;
}

/* ------------------------------------------------------------------ */
/* figures */

uint64_t tl_mig_milestone(const struct tl_mig *m, enum tl_milestone ms)
{
	if ((unsigned int)ms >= TL_M_COUNT)
		return TL_NONE;
	/* a first occurrence: an earlier one may be among the lost records */
	if (ms == TL_M_READY && m->incomplete)
		return TL_NONE;
	return m->ms[ms];
}

int64_t tl_mig_total(const struct tl_mig *m)
{
	return dur(m->start_ts, m->end_ts);
}

int64_t tl_mig_elapsed(const struct tl *tl, const struct tl_mig *m)
{
	return dur(m->start_ts, tl_has(m->end_ts) ? m->end_ts : now_of(tl, m));
}

int64_t tl_mig_precopy(const struct tl_mig *m)
{
	return dur(m->ms[TL_M_ACTIVE], m->ms[TL_M_SRC_DOWNTIME_START]);
}

int64_t tl_mig_downtime(const struct tl_mig *m)
{
	return dur(m->ms[TL_M_SRC_DOWNTIME_START], m->ms[TL_M_SRC_DOWNTIME_END]);
}

int64_t tl_mig_ack_latency(const struct tl_mig *m)
{
	if (tl_mig_role(m) == TL_ROLE_DEST)
		return TL_DNONE;
	return dur(m->ms[TL_M_ACTIVE], m->ms[TL_M_ACK_RECEIVED]);
}

int64_t tl_mig_ack_sent(const struct tl_mig *m)
{
	if (tl_mig_role(m) == TL_ROLE_SOURCE)
		return TL_DNONE;
	return dur(m->ms[TL_M_ACTIVE], m->ms[TL_M_ACK_SENT]);
}

int64_t tl_mig_ack_wait(const struct tl *tl, const struct tl_mig *m)
{
	uint64_t ack = m->ms[TL_M_ACK_RECEIVED], ready = m->ms[TL_M_READY], end;

	if (tl_mig_role(m) != TL_ROLE_SOURCE || m->incomplete)
		return TL_DNONE;
	if (tl_has(ack)) {
		if (!tl_has(ready))
			/* never ready: the ACK came first, unless readiness
			 * could not be judged (no threshold ever seen) */
			return tl_has(m->threshold) ? 0 : TL_DNONE;
		return ack <= ready ? 0 : (int64_t)(ack - ready);
	}
	if (!tl_has(ready) || !m->held_back)
		return TL_DNONE; /* not waiting for an ACK */
	end = tl_has(m->ms[TL_M_LOW_PENDING]) ? m->ms[TL_M_LOW_PENDING]
	      : tl_has(m->end_ts)	      ? m->end_ts
					      : now_of(tl, m);
	return end > ready ? (int64_t)(end - ready) : 0;
}

int tl_mig_ack_enabled(const struct tl_mig *m)
{
	const struct tl_mig *o = m->pair ? (m->pair->src == m ? m->pair->dst : m->pair->src) : NULL;

	switch (tl_mig_role(m)) {
	case TL_ROLE_SOURCE:
		if (tl_has(m->ms[TL_M_ACK_RECEIVED]) || m->held_back)
			return 1;
		if (o && (tl_has(o->ms[TL_M_ACK_NEEDED]) || tl_has(o->ms[TL_M_ACK_SENT])))
			return 1;
		if (!m->incomplete &&
		    (tl_has(m->ms[TL_M_LOW_PENDING]) || tl_has(m->ms[TL_M_SRC_DOWNTIME_START])))
			return 0;
		return -1;
	case TL_ROLE_DEST:
		if (tl_has(m->ms[TL_M_ACK_NEEDED]) || tl_has(m->ms[TL_M_ACK_SENT]))
			return 1;
		if (!m->incomplete &&
		    (tl_has(m->ms[TL_M_DST_LOADVM_COMPLETED]) || m->result == TL_RES_COMPLETED))
			return 0;
		return -1;
	default: return tl_has(m->ms[TL_M_ACK_RECEIVED]) || tl_has(m->ms[TL_M_ACK_SENT]) ? 1 : -1;
	}
}

int tl_mig_acked(const struct tl_mig *m)
{
	enum tl_milestone k = tl_mig_role(m) == TL_ROLE_DEST ? TL_M_ACK_SENT : TL_M_ACK_RECEIVED;

	if (tl_has(m->ms[k]))
		return 1;
	return m->incomplete ? -1 : 0;
}

uint64_t tl_mig_ack_pending_initial(const struct tl_mig *m)
{
	if (tl_mig_role(m) == TL_ROLE_DEST)
		return m->ack_needed;
	if (m->pair && m->pair->dst)
		return m->pair->dst->ack_needed;
	return TL_NONE;
}

uint64_t tl_mig_passes(const struct tl_mig *m)
{
	if (m->incomplete || tl_mig_role(m) == TL_ROLE_DEST)
		return TL_NONE;
	return m->passes;
}

int64_t tl_mig_predicted_downtime(const struct tl_mig *m)
{
	uint64_t pend, bw;

	if (m->incomplete || tl_mig_role(m) == TL_ROLE_DEST)
		return TL_DNONE;
	if (tl_has(m->low_pending)) {
		pend = m->low_pending;
		bw = m->low_pending_bw;
	} else {
		pend = m->pending;
		bw = m->bandwidth;
	}
	if (!tl_has(pend) || !tl_has(bw) || bw == 0)
		return TL_DNONE;
	/* bandwidth is bytes per ms */
	return (int64_t)((double)pend / (double)bw * 1e6);
}

const struct tl_proc *tl_mig_proc(const struct tl_mig *m)
{
	return m->proc;
}

const struct tl_pair *tl_mig_pair(const struct tl_mig *m)
{
	return m->pair;
}

const char *tl_mig_phase(const struct tl_mig *m)
{
	if (m->result != TL_RES_ACTIVE)
		return tl_result_name(m->result);
	if (tl_has(m->ms[TL_M_POSTCOPY_ACTIVE]) || tl_has(m->ms[TL_M_POSTCOPY_DEVICE]))
		return "postcopy";
	switch (tl_mig_role(m)) {
	case TL_ROLE_SOURCE:
		if (tl_has(m->ms[TL_M_SRC_DOWNTIME_START]))
			return "switchover";
		if (m->held_back && !tl_has(m->ms[TL_M_ACK_RECEIVED]))
			return "waiting-ack";
		return tl_has(m->ms[TL_M_ACTIVE]) ? "precopy" : "setup";
	case TL_ROLE_DEST:
		if (tl_has(m->ms[TL_M_DST_LOADVM_COMPLETED]))
			return "starting";
		return tl_has(m->ms[TL_M_ACTIVE]) ? "loading" : "setup";
	default: return tl_has(m->ms[TL_M_ACTIVE]) ? "active" : "setup";
	}
}

const struct tl_sample *tl_mig_sample(const struct tl_mig *m, uint32_t i)
{
	if (i >= m->series_n)
		return NULL;
	return &m->series[(m->series_head + TL_SERIES_LEN - m->series_n + i) % TL_SERIES_LEN];
}

static void breakdown(const struct tl *tl, const struct tl_mig *src, const struct tl_mig *dst,
		      struct tl_breakdown *b)
{
	b->stop = b->iterable = b->non_iterable = b->transfer_load = b->dst_start = TL_DNONE;
	if (src) {
		b->stop = dur(src->ms[TL_M_SRC_DOWNTIME_START], src->ms[TL_M_SRC_VM_STOPPED]);
		b->iterable = dur(src->ms[TL_M_SRC_VM_STOPPED], src->ms[TL_M_SRC_ITERABLE_SAVED]);
		b->non_iterable =
		    dur(src->ms[TL_M_SRC_ITERABLE_SAVED], src->ms[TL_M_SRC_NON_ITERABLE_SAVED]);
	}
	if (dst)
		b->dst_start =
		    dur(dst->ms[TL_M_DST_LOADVM_COMPLETED], dst->ms[TL_M_DST_BH_VM_STARTED]);
	if (src && dst && src->pair && src->pair == dst->pair)
		b->transfer_load =
		    dur(src->ms[TL_M_SRC_NON_ITERABLE_SAVED],
			tl_pair_dst_ts(src->pair, dst->ms[TL_M_DST_LOADVM_COMPLETED]));
}

void tl_mig_breakdown(const struct tl *tl, const struct tl_mig *m, struct tl_breakdown *b)
{
	const struct tl_mig *src = NULL, *dst = NULL;

	switch (tl_mig_role(m)) {
	case TL_ROLE_SOURCE:
		src = m;
		dst = m->pair ? m->pair->dst : NULL;
		break;
	case TL_ROLE_DEST:
		dst = m;
		src = m->pair ? m->pair->src : NULL;
		break;
	default: break;
	}
	breakdown(tl, src, dst, b);
}

void tl_pair_breakdown(const struct tl *tl, const struct tl_pair *p, struct tl_breakdown *b)
{
	breakdown(tl, p->src, p->dst, b);
}

void tl_mig_stall(const struct tl *tl, const struct tl_mig *m, struct tl_stall *s)
{
	memset(s, 0, sizeof(*s));
	s->since = TL_NONE;
	if (tl_mig_role(m) != TL_ROLE_SOURCE || !in_precopy(m) || !tl_has(m->best_ts))
		return;
	if (now_of(tl, m) < m->best_ts || now_of(tl, m) - m->best_ts < tl->stall_window)
		return;
	s->stalled = true;
	s->since = m->best_ts;
	s->reason = stall_reason(m);
	s->devs = devs_not_drained(m);
	s->dst_devs = dst_not_approved(m);
}

uint64_t tl_dev_initial(const struct tl_mig *m, const struct tl_dev *d)
{
	if (m->incomplete)
		return TL_NONE;
	if (tl_mig_role(m) == TL_ROLE_DEST)
		return d->init_loaded;
	if (tl_has(d->first_initial))
		return d->first_initial;
	/* seen only at zero: a device without initial data */
	return tl_has(d->drain_ts) ? 0 : TL_NONE;
}

int64_t tl_dev_drain(const struct tl_mig *m, const struct tl_dev *d)
{
	if (m->incomplete || !tl_has(d->save_setup_ts) || !tl_has(d->drain_ts))
		return TL_DNONE;
	/* the setup-time PRECOPY_INFO ioctl precedes the vfio_save_setup probe */
	return d->drain_ts > d->save_setup_ts ? (int64_t)(d->drain_ts - d->save_setup_ts) : 0;
}

bool tl_dev_multifd(const struct tl_dev *d)
{
	return tl_has(d->mf_save_start) || tl_has(d->mf_load_start) || d->mf_incoming;
}

int64_t tl_dev_mf_save(const struct tl_dev *d)
{
	return dur(d->mf_save_start, d->mf_save_end);
}

int64_t tl_dev_mf_load(const struct tl_dev *d)
{
	return dur(d->mf_load_start, d->mf_load_end);
}

bool tl_dev_stopcopy_from_io(const struct tl_dev *d)
{
	/* over multifd the save thread reads the data fd itself: no
	 * vfio_save_block in the stop phase (precopy's do not count) */
	return !d->block_seen || tl_has(d->mf_save_start);
}

uint64_t tl_dev_stopcopy_read(const struct tl_mig *m, const struct tl_dev *d)
{
	if (m->incomplete || !tl_has(d->sc_block))
		return TL_NONE;
	if (!tl_dev_stopcopy_from_io(d))
		return d->sc_block;
	return d->has_io && !m->nosys ? d->sc_io : TL_NONE;
}

/* The same device on the other side: same name, else same guest path. */
static const struct tl_dev *peer_dev(const struct tl_mig *o, const struct tl_dev *d)
{
	for (uint32_t i = 0; i < o->ndevs; i++)
		if (strcmp(o->devs[i].name, d->name) == 0)
			return &o->devs[i];
	for (uint32_t i = 0; d->alias[0] && i < o->ndevs; i++)
		if (strcmp(o->devs[i].alias, d->alias) == 0)
			return &o->devs[i];
	return NULL;
}

uint64_t tl_dev_stopcopy(const struct tl_mig *m, const struct tl_dev *d)
{
	const struct tl_dev *s;

	if (m->incomplete)
		return TL_NONE;
	if (tl_mig_role(m) != TL_ROLE_DEST)
		return d->stopcopy;
	/* what the source read in STOP_COPY is what the destination loads in
	 * the stop phase; a byte count needs no common clock */
	if (!m->pair || m->result == TL_RES_FAILED || !tl_has(m->ms[TL_M_DST_LOADVM_COMPLETED]))
		return TL_NONE;
	s = peer_dev(m->pair->src, d);
	return s ? tl_dev_stopcopy_read(m->pair->src, s) : TL_NONE;
}

static int64_t sum2(const int64_t v[2])
{
	if (!tl_dhas(v[0]) && !tl_dhas(v[1]))
		return TL_DNONE;
	return (tl_dhas(v[0]) ? v[0] : 0) + (tl_dhas(v[1]) ? v[1] : 0);
}

/* Over multifd QEMU's own per-section time is the end marker's: the device's
 * save (load) time is its thread's, in µs like QEMU's. */
int64_t tl_dev_save_us(const struct tl_mig *m, const struct tl_dev *d)
{
	if (m->incomplete)
		return TL_DNONE;
	if (tl_has(d->mf_save_start)) {
		int64_t ns = tl_dev_mf_save(d);

		return tl_dhas(ns) ? ns / 1000 : TL_DNONE;
	}
	return sum2(d->save_us);
}

int64_t tl_dev_load_us(const struct tl_mig *m, const struct tl_dev *d)
{
	if (m->incomplete)
		return TL_DNONE;
	if (tl_has(d->mf_load_start)) {
		int64_t ns = tl_dev_mf_load(d);

		return tl_dhas(ns) ? ns / 1000 : TL_DNONE;
	}
	return sum2(d->load_us);
}

int64_t tl_dev_approval_latency(const struct tl_dev *d)
{
	return dur(d->init_sent_ts, d->approve_ts);
}

int64_t tl_dev_complete_precopy(const struct tl_dev *d)
{
	return dur(d->complete_start_ts, d->complete_ts);
}

uint64_t tl_dev_bytes_read(const struct tl_mig *m, const struct tl_dev *d)
{
	return m->incomplete || m->nosys ? TL_NONE : d->bytes_read;
}

uint64_t tl_dev_bytes_written(const struct tl_mig *m, const struct tl_dev *d)
{
	return m->incomplete || m->nosys ? TL_NONE : d->bytes_written;
}

const char *tl_clock_basis_name(enum tl_clock_basis b)
{
	switch (b) {
	case TL_CLOCK_SAME: return "same-clock";
	case TL_CLOCK_MESSAGES: return "messages";
	case TL_CLOCK_STOP_PHASE: return "stop-phase-messages";
	case TL_CLOCK_CONFLICT: return "conflicting-messages";
	case TL_CLOCK_REALTIME: return "realtime";
	}
	return "?";
}

int64_t tl_pair_clock_offset(const struct tl *tl, const struct tl_pair *p)
{
	const struct tl_in *si = NULL, *di = NULL;

	if (p->src->clock == p->dst->clock)
		return 0;
	for (uint16_t i = 0; i < TL_MAX_INPUTS && (!si || !di); i++) {
		if (!si && (p->src->inputs & (1u << i)))
			si = &tl->in[i];
		if (!di && (p->dst->inputs & (1u << i)))
			di = &tl->in[i];
	}
	return (di ? di->shift_ns : 0) - (si ? si->shift_ns : 0) - p->skew_ns;
}

int64_t tl_pair_clock_error(const struct tl_pair *p)
{
	return p->error_ns;
}

uint64_t tl_pair_dst_ts(const struct tl_pair *p, uint64_t dst_ts)
{
	if (!tl_has(dst_ts))
		return TL_NONE;
	return (uint64_t)((int64_t)dst_ts - p->skew_ns);
}

const struct tl_dev_sample *tl_dev_sample(const struct tl_dev *d, uint32_t i)
{
	if (i >= d->ds_n)
		return NULL;
	return &d->ds[(d->ds_head + TL_DEV_SERIES - d->ds_n + i) % TL_DEV_SERIES];
}

uint64_t tl_mig_line_ts(const struct tl_mig *m, uint64_t ts)
{
	const struct tl_pair *p = m ? m->pair : NULL;

	if (!m || !tl_has(ts))
		return TL_NONE;
	return p && p->dst == m ? tl_pair_dst_ts(p, ts) : ts;
}

uint64_t tl_mig_line_last(const struct tl_mig *m)
{
	uint64_t e = tl_mig_line_ts(m, tl_mig_milestone(m, TL_M_END));
	uint64_t last = tl_mig_line_ts(m, m->start_ts);

	if (tl_has(e))
		return e;
	for (int k = 0; k < TL_M_COUNT; k++) {
		uint64_t v = tl_mig_line_ts(m, tl_mig_milestone(m, (enum tl_milestone)k));

		if (tl_has(v) && (!tl_has(last) || v > last))
			last = v;
	}
	return last;
}

int64_t tl_pair_guest_downtime(const struct tl *tl, const struct tl_pair *p)
{
	uint64_t started = p->dst->ms[TL_M_DST_BH_VM_STARTED];

	if (!tl_has(started))
		started = p->dst->ms[TL_M_DST_PC_BH_VM_STARTED];
	return dur(p->src->ms[TL_M_SRC_VM_STOPPED], tl_pair_dst_ts(p, started));
}

int64_t tl_pair_ack_transit(const struct tl *tl, const struct tl_pair *p)
{
	return dur(tl_pair_dst_ts(p, p->dst->ms[TL_M_ACK_SENT]), p->src->ms[TL_M_ACK_RECEIVED]);
}
