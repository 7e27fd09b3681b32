// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "catalog.h"

static const struct {
	const char *name;
	const char *types;
} probes[MS_P_COUNT] = {
#define MS_X_ENTRY(id, n, t) [MS_P_##id] = {#n, t},
    MS_PROBES(MS_X_ENTRY)
#undef MS_X_ENTRY
};

const char *cat_name(unsigned int id)
{
	return id > MS_P_NONE && id < MS_P_COUNT ? probes[id].name : NULL;
}

const char *cat_types(unsigned int id)
{
	return id > MS_P_NONE && id < MS_P_COUNT ? probes[id].types : NULL;
}

unsigned int cat_lookup(const char *name)
{
	for (unsigned int id = MS_P_NONE + 1; id < MS_P_COUNT; id++)
		if (strcmp(probes[id].name, name) == 0)
			return id;
	return MS_P_NONE;
}

static const struct {
	unsigned int id, shape;
	const char *types, *versions;
} shapes[] = {
#define MS_X_SHAPE(id, sh, t, v) {MS_P_##id, sh, t, v},
    MS_SHAPES(MS_X_SHAPE)
#undef MS_X_SHAPE
};

const char *cat_shape_types(unsigned int id, unsigned int shape)
{
	if (!shape)
		return cat_types(id);
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
		if (shapes[i].id == id && shapes[i].shape == shape)
			return shapes[i].types;
	return NULL;
}

const char *cat_shape_versions(unsigned int id, unsigned int shape)
{
	for (size_t i = 0; shape && i < sizeof(shapes) / sizeof(shapes[0]); i++)
		if (shapes[i].id == id && shapes[i].shape == shape)
			return shapes[i].versions;
	return "";
}

static int type_size(char t)
{
	switch (t) {
	case 's': /* a pointer */
	case 'u': return 8;
	case 'I': return -8;
	case 'x': return 4;
	case 'w': return 2;
	case 'i': return -4;
	default: return 0;
	}
}

int cat_shape_for_sizes(unsigned int id, const int *sizes, unsigned int n)
{
	int only = -1, count = 0;

	/* the count decides; when two shapes have it, the sizes (exact, then
	 * without sign; an unknown size, 0, fits any) */
	for (unsigned int sh = 0; sh < MS_MAX_SHAPES; sh++) {
		const char *t = cat_shape_types(id, sh);

		if (t && strlen(t) == n) {
			only = (int)sh;
			count++;
		}
	}
	if (count <= 1)
		return only;
	for (int exact = 1; exact >= 0; exact--) {
		for (unsigned int sh = 0; sh < MS_MAX_SHAPES; sh++) {
			const char *t = cat_shape_types(id, sh);
			unsigned int i;

			if (!t || strlen(t) != n)
				continue;
			for (i = 0; i < n; i++) {
				int want = type_size(t[i]);

				if (sizes[i] &&
				    (exact ? sizes[i] != want : abs(sizes[i]) != abs(want)))
					break;
			}
			if (i == n)
				return (int)sh;
		}
	}
	return -1;
}

int cat_shape_for_types(unsigned int id, const char *types)
{
	for (unsigned int sh = 0; sh < MS_MAX_SHAPES; sh++) {
		const char *t = cat_shape_types(id, sh);

		if (t && !strcmp(t, types))
			return (int)sh;
	}
	return -1;
}

const char *cat_rec_types(const struct ms_usdt *e)
{
	return cat_shape_types(e->h.probe, MS_F_SHAPE(e->h.flags));
}

/*
 * The string arguments of a probe that QEMU passes from memory holding the
 * same text at the same address for as long as the probe can fire with it
 * (QEMU 8.2 to 10.2's sources): static names, and the names of objects that
 * live as long as their device (QEMU refuses device_add and device_del while
 * a migration runs). The BPF program copies these once per CPU and
 * MS_STR_REF_NS. Not here, because QEMU makes them for each call:
 * migrate_error's message, the QMP commands' JSON arguments, and the idstr
 * of vfio_save_complete_precopy_thread_start (a g_strdup per thread).
 */
static unsigned int stable_strs(unsigned int id)
{
	const char *name = cat_name(id);

	switch (id) {
	case MS_P_MIGRATE_SET_STATE:	       /* MigrationStatus_str() */
	case MS_P_VMSTATE_DOWNTIME_CHECKPOINT: /* string literals */
	case MS_P_LOADVM_PROCESS_COMMAND:      /* mig_cmd_args[].name */
	case MS_P_SAVEVM_SECTION_START: /* se->idstr */ return 0x1;
	case MS_P_VMSTATE_DOWNTIME_SAVE: /* "iterable", se->idstr */
	case MS_P_VMSTATE_DOWNTIME_LOAD: return 0x3;
	case MS_P_VM_STATE_NOTIFY: return 0x4; /* RunState_str() */
	case MS_P_RUNSTATE_SET: return 0xa;    /* RunState_str() twice */
	}
	/* every VFIO probe's first string is its device's vbasedev->name */
	return name && !strncmp(name, "vfio_", 5) ? 0x1 : 0;
}

uint64_t cat_cookie(unsigned int id, unsigned int shape)
{
	const char *t = cat_shape_types(id, shape);
	unsigned int strmask = 0, n;

	if (!t)
		return 0;
	for (n = 0; t[n]; n++)
		if (t[n] == 's')
			strmask |= 1u << n;
	return MS_COOKIE(id, n, strmask, shape, stable_strs(id) & strmask);
}

/*
 * The strings a traced process sent copied, by (pid, address): what a
 * reference (MS_WIRE_STR_REF) in a later record stands for. Chained, with a
 * bound: past it, the table starts again empty (a reference to a string it
 * no longer has is then an unreadable argument, MS_F_ARG_ERR, and the BPF
 * program sends the string again within MS_STR_REF_NS).
 */
#define STRTAB_BUCKETS 4096
#define STRTAB_MAX     65536

struct strtab_ent {
	struct strtab_ent *next;
	uint64_t addr;
	uint32_t pid;
	uint8_t len; /* with the NUL */
	char s[MS_STR_LEN];
};

struct cat_strtab {
	struct strtab_ent *b[STRTAB_BUCKETS];
	size_t n;
	uint64_t unresolved, resets;
};

struct cat_strtab *cat_strtab_new(void)
{
	return calloc(1, sizeof(struct cat_strtab));
}

static void strtab_clear(struct cat_strtab *t, uint32_t pid, bool all)
{
	for (size_t i = 0; i < STRTAB_BUCKETS; i++) {
		struct strtab_ent **pp = &t->b[i];

		while (*pp) {
			struct strtab_ent *e = *pp;

			if (all || e->pid == pid) {
				*pp = e->next;
				free(e);
				t->n--;
			} else {
				pp = &e->next;
			}
		}
	}
}

void cat_strtab_free(struct cat_strtab *t)
{
	if (!t)
		return;
	strtab_clear(t, 0, true);
	free(t);
}

void cat_strtab_forget(struct cat_strtab *t, uint32_t pid)
{
	if (t && t->n)
		strtab_clear(t, pid, false);
}

uint64_t cat_strtab_unresolved(const struct cat_strtab *t)
{
	return t ? t->unresolved : 0;
}

static size_t strtab_hash(uint32_t pid, uint64_t addr)
{
	uint64_t h = (addr ^ ((uint64_t)pid << 47)) * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 52) % STRTAB_BUCKETS;
}

static struct strtab_ent *strtab_find(struct cat_strtab *t, uint32_t pid, uint64_t addr)
{
	for (struct strtab_ent *e = t->b[strtab_hash(pid, addr)]; e; e = e->next)
		if (e->pid == pid && e->addr == addr)
			return e;
	return NULL;
}

static void strtab_put(struct cat_strtab *t, uint32_t pid, uint64_t addr, const char *s,
		       unsigned int len)
{
	struct strtab_ent *e = strtab_find(t, pid, addr);

	if (!e) {
		size_t h = strtab_hash(pid, addr);

		if (t->n >= STRTAB_MAX) {
			strtab_clear(t, 0, true);
			t->resets++;
		}
		e = malloc(sizeof(*e));
		if (!e)
			return;
		e->pid = pid;
		e->addr = addr;
		e->next = t->b[h];
		t->b[h] = e;
		t->n++;
	}
	e->len = (uint8_t)len;
	memcpy(e->s, s, len);
}

int cat_usdt_from_wire(const void *data, size_t size, struct ms_usdt *e, struct cat_strtab *tab)
{
	const unsigned char *p = data;
	unsigned int nargs, strmask, s = 0;
	struct ms_hdr h;
	size_t off;
	uint64_t c;

	if (size < sizeof(h))
		return -1;
	memcpy(&h, p, sizeof(h));
	c = cat_cookie(h.probe, MS_F_SHAPE(h.flags));
	if (!c || h.kind != MS_EV_USDT)
		return -1;
	nargs = MS_COOKIE_NARGS(c);
	strmask = MS_COOKIE_STRMASK(c);
	off = sizeof(h) + (size_t)nargs * 8;
	if (nargs > MS_MAX_ARGS || size < off)
		return -1;
	memset(e, 0, sizeof(*e));
	e->h = h;
	memcpy(e->args, p + sizeof(h), (size_t)nargs * 8);
	for (unsigned int i = 0; i < nargs; i++) {
		uint64_t slot = e->args[i], addr = slot & MS_WIRE_STR_ADDR;
		unsigned int n = MS_WIRE_STR_LEN(slot);

		if (!(strmask & (1u << i)))
			continue;
		if (s >= MS_MAX_STRS)
			return -1;
		if (slot & MS_WIRE_STR_REF) {
			const struct strtab_ent *te;

			if (n || !(MS_COOKIE_STABLE(c) & (1u << i)))
				return -1;
			te = tab ? strtab_find(tab, h.pid, addr) : NULL;
			if (te) {
				memcpy(e->str[s], te->s, te->len);
			} else {
				/* its copy was not seen (a table started
				 * again): unreadable, as the BPF side says
				 * of a string it could not copy */
				e->h.flags |= MS_F_ARG_ERR;
				if (tab)
					tab->unresolved++;
			}
			e->args[i] = s++;
			continue;
		}
		/* its length with the NUL; 0: unreadable, "" */
		if (n > MS_STR_LEN || n > size - off || (n && p[off + n - 1] != '\0'))
			return -1;
		memcpy(e->str[s], p + off, n);
		if (n && tab && (MS_COOKIE_STABLE(c) & (1u << i)))
			strtab_put(tab, h.pid, addr, (const char *)p + off, n);
		off += n;
		e->args[i] = s++;
	}
	return 0;
}

const char *cat_vfio_state_name(unsigned int state)
{
	static const char *const names[] = {
	    "ERROR",	"STOP",	       "RUNNING",  "STOP_COPY",
	    "RESUMING", "RUNNING_P2P", "PRE_COPY", "PRE_COPY_P2P",
	};

	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "?";
}

const char *cat_vfio_feature_name(unsigned int feature)
{
	switch (feature) {
	case MS_VFIO_FEAT_MIGRATION: return "MIGRATION";
	case MS_VFIO_FEAT_MIG_DEVICE_STATE: return "MIG_DEVICE_STATE";
	case MS_VFIO_FEAT_DMA_LOGGING_START: return "DMA_LOGGING_START";
	case MS_VFIO_FEAT_DMA_LOGGING_STOP: return "DMA_LOGGING_STOP";
	case MS_VFIO_FEAT_DMA_LOGGING_REPORT: return "DMA_LOGGING_REPORT";
	case MS_VFIO_FEAT_MIG_DATA_SIZE: return "MIG_DATA_SIZE";
	default: return "?";
	}
}

const char *cat_vm_cmd_name(unsigned int cmd)
{
	/* QEMU's mig_cmd_args[] names; the numbers have only been appended to */
	static const char *const names[] = {
	    "INVALID",
	    "OPEN_RETURN_PATH",
	    "PING",
	    "POSTCOPY_ADVISE",
	    "POSTCOPY_LISTEN",
	    "POSTCOPY_RUN",
	    "POSTCOPY_RAM_DISCARD",
	    "PACKAGED",
	    "ENABLE_COLO",
	    "POSTCOPY_RESUME",
	    "RECV_BITMAP",
	    "SWITCHOVER_START",
	};

	return cmd < sizeof(names) / sizeof(names[0]) ? names[cmd] : NULL;
}

static const struct cat_figure figures[] = {
    {"downtime_ms, downtime_breakdown, guest_downtime_ms",
     "8.2",
     {MS_P_VMSTATE_DOWNTIME_CHECKPOINT}},
    {"devices.save_us, devices.load_us, sections",
     "8.2",
     {MS_P_VMSTATE_DOWNTIME_SAVE, MS_P_VMSTATE_DOWNTIME_LOAD}},
    {"switchover_ack.ack_latency_ms, switchover_ack.ack_wait_ms",
     "8.1",
     {MS_P_SOURCE_RETURN_PATH_THREAD_SWITCHOVER_ACKED}},
    {"switchover_ack.ack_sent_ms, switchover_ack.approvals",
     "8.1",
     {MS_P_LOADVM_APPROVE_SWITCHOVER, MS_P_MIGRATE_SEND_RP_MESSAGE}},
    {"convergence, precopy_passes, milestones.ready",
     "8.1",
     {MS_P_MIGRATE_PENDING_ESTIMATE, MS_P_MIGRATE_PENDING_EXACT}},
    /* 8.x's migrate_fd_error fires for a failed connection only */
    {"error", "9.1", {MS_P_MIGRATE_ERROR}},
    {"milestones.cancel", "10.0", {MS_P_MIGRATION_CANCEL, MS_P_MIGRATE_FD_CANCEL}},
    {"milestones.switchover-start", "10.0", {MS_P_SAVEVM_SEND_SWITCHOVER_START}},
    {"milestones.precopy-complete", "10.0", {MS_P_MIGRATION_PRECOPY_COMPLETE}},
    {"clock_offset_ms, clock_error_ms",
     "8.1",
     {MS_P_SAVEVM_COMMAND_SEND, MS_P_LOADVM_PROCESS_COMMAND}},
    {"devices.initial_bytes, devices.init_drain_ms",
     "8.1",
     {MS_P_VFIO_SAVE_ITERATE, MS_P_VFIO_STATE_PENDING_ESTIMATE}},
    {"devices.complete_precopy_ms", "9.2", {MS_P_VFIO_SAVE_COMPLETE_PRECOPY_START}},
};

uint32_t cat_parse_version(const char *s)
{
	unsigned int a = 0, b = 0, c = 0;

	if (!s || sscanf(s, "%u.%u.%u", &a, &b, &c) < 2 || a > 99 || b > 99 || c > 99)
		return 0;
	return a * 10000 + b * 100 + c;
}

size_t cat_nfigures(void)
{
	return sizeof(figures) / sizeof(figures[0]);
}

const struct cat_figure *cat_figure_at(size_t i)
{
	return i < cat_nfigures() ? &figures[i] : NULL;
}

const char *cat_kind_name(unsigned int kind)
{
	switch (kind) {
	case MS_EV_USDT: return "usdt";
	case MS_EV_IOCTL: return "ioctl";
	case MS_EV_DATA_IO: return "data_io";
	case MS_EV_EXEC: return "exec";
	case MS_EV_EXIT: return "exit";
	case MS_EV_PROC: return "proc";
	case MS_EV_LOST: return "lost";
	default: return "?";
	}
}
