// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* QEMU log-backend trace reader (see qemulog.h and docs/qemu.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "catalog.h"
#include "qemulog.h"
#include "util.h"

/*
 * The format strings of the catalog probes, from QEMU 10.0.2's trace-events
 * files (migration/, hw/vfio/, system/), with PRIu64 written %u, PRId64 and
 * PRIi64 %d, PRIx64 %x. Conversions fill the probe's arguments in order. An
 * event may have several entries (older QEMU versions: other formats, or
 * another shape of its arguments, MS_SHAPES); the first that matches wins.
 */
struct qfmt {
	const char *name;
	const char *fmt;
	unsigned int shape; /* of the catalog probe (MS_SHAPES), 0 its own */
};

static const struct qfmt formats[] = {
    /* migration core (migration/trace-events) */
    {"migrate_set_state", "new state %s", 0},
    {"migrate_error", "error=%s", 0},
    {"migration_cancel", "", 0},
    {"migrate_fd_error", "error=%s", 0},
    {"migrate_fd_cancel", "", 0},
    {"migrate_pending_estimate", "estimate pending size %u (pre = %u post=%u)", 0},
    {"migrate_pending_exact", "exact pending size %u (pre = %u post=%u)", 0},
    {"migrate_transferred",
     "transferred %u time_spent %u bandwidth %u switchover_bw %u max_size %d", 0},
    /* 8.1 (no switchover bandwidth) */
    {"migrate_transferred", "transferred %u time_spent %u bandwidth %u max_size %d", 1},
    {"migration_thread_low_pending", "%u", 0},
    {"migration_bitmap_sync_end", "dirty_pages %u", 0},
    {"migration_completion_vm_stop", "ret %d", 0},
    {"savevm_send_switchover_start", "", 0},
    {"migration_precopy_complete", "", 0},
    {"postcopy_start", "", 0},
    {"loadvm_postcopy_handle_run", "", 0},
    /* system/trace-events */
    {"vm_state_notify", "running %d reason %d (%s)", 0},
    {"runstate_set", "current_run_state %d (%s) new_state %d (%s)", 0},
    /* switchover-ack handshake */
    {"savevm_send_open_return_path", "", 0},
    {"open_return_path_on_source", "", 0},
    {"source_return_path_thread_entry", "", 0},
    {"source_return_path_thread_end", "", 0},
    {"loadvm_state_switchover_ack_needed", "Switchover ack pending num=%u", 0},
    {"loadvm_approve_switchover", "Switchover ack pending num=%u", 0},
    {"migrate_send_rp_message", "%d: len %d", 0},
    {"source_return_path_thread_switchover_acked", "", 0},
    /* the protocol's messages */
    {"savevm_command_send", "com=0x%x len=%d", 0},
    {"loadvm_process_command", "com=%s len=%d", 0},
    {"savevm_send_ping", "0x%x", 0},
    {"loadvm_process_command_ping", "0x%x", 0},
    {"source_return_path_thread_pong", "0x%x", 0},
    {"source_return_path_thread_shut", "0x%x", 0},
    {"savevm_section_start", "%s, section_id %u", 0},
    {"qemu_loadvm_state_section_partend", "%u", 0},
    /* downtime checkpoints */
    {"vmstate_downtime_checkpoint", "%s", 0},
    {"vmstate_downtime_save", "type=%s idstr=%s instance_id=%d downtime=%d", 0},
    {"vmstate_downtime_load", "type=%s idstr=%s instance_id=%d downtime=%d", 0},
    /* VFIO (hw/vfio/trace-events) */
    {"vfio_migration_realize", " (%s)", 0},
    {"vfio_migration_set_state", " (%s) new state %s, recover state %s", 0},
    {"vfio_migration_set_state", " (%s) state %s", 1}, /* 8.1-9.0 */
    {"vfio_migration_set_device_state", " (%s) state %s", 0},
    {"vfio_migration_state_notifier", " (%s) state %d", 0},
    {"vfio_migration_state_notifier", " (%s) state %s", 1}, /* 8.1-8.2 */
    {"vfio_vmstate_change", " (%s) running %d reason %s device state %s", 0},
    {"vfio_vmstate_change_prepare", " (%s) running %d reason %s device state %s", 0},
    {"vfio_save_setup", " (%s) data buffer size %u", 0},
    /* up to 9.1 the VFIO byte counts are logged in hex */
    {"vfio_save_setup", " (%s) data buffer size 0x%x", 0},
    {"vfio_save_iterate_start", " (%s)", 0},
    {"vfio_save_iterate", " (%s) precopy initial size %u precopy dirty size %u", 0},
    {"vfio_save_iterate", " (%s) precopy initial size 0x%x precopy dirty size 0x%x", 0},
    {"vfio_save_block", " (%s) data_size %d", 0},
    {"vfio_state_pending_estimate",
     " (%s) precopy %u postcopy %u precopy initial size %u precopy dirty size %u", 0},
    {"vfio_state_pending_estimate",
     " (%s) precopy 0x%x postcopy 0x%x precopy initial size 0x%x precopy dirty size 0x%x", 0},
    {"vfio_state_pending_exact",
     " (%s) precopy %u postcopy %u stopcopy size %u precopy initial "
     "size %u precopy dirty size %u",
     0},
    {"vfio_state_pending_exact",
     " (%s) precopy 0x%x postcopy 0x%x stopcopy size 0x%x precopy initial "
     "size 0x%x precopy dirty size 0x%x",
     0},
    {"vfio_save_complete_precopy_start", " (%s)", 0},
    {"vfio_save_complete_precopy", " (%s) ret %d", 0},
    {"vfio_save_device_config_state", " (%s)", 0},
    {"vfio_save_cleanup", " (%s)", 0},
    {"vfio_load_cleanup", " (%s)", 0},
    {"vfio_load_state", " (%s) data 0x%x", 0},
    {"vfio_load_state_device_data", " (%s) size %u ret %d", 0},
    {"vfio_load_state_device_data", " (%s) size 0x%x ret %d", 0},
    {"vfio_load_device_config_state_start", " (%s)", 0},
    {"vfio_load_device_config_state_end", " (%s)", 0},
    {"vfio_load_device_config_state", " (%s)", 0},
    /* VFIO device state over multifd (10.0+) */
    {"vfio_save_complete_precopy_thread_start", " (%s) idstr %s instance %u", 0},
    {"vfio_save_complete_precopy_thread_end", " (%s) ret %d", 0},
    {"vfio_load_bufs_thread_start", " (%s)", 0},
    {"vfio_load_bufs_thread_end", " (%s)", 0},
    {"vfio_load_state_device_buffer_incoming", " (%s) idx %u", 0},
    {"vfio_load_state_device_buffer_start", " (%s)", 0},
    {"vfio_load_state_device_buffer_starved", " (%s) idx %u", 0},
    {"vfio_load_state_device_buffer_load_start", " (%s) idx %u", 0},
    {"vfio_load_state_device_buffer_load_end", " (%s) idx %u", 0},
    {"vfio_load_state_device_buffer_end", " (%s)", 0},
    /* QAPI's command trace events (qapi/qapi-commands-migration.trace-events,
     * generated): the arguments as JSON */
    {"qmp_enter_migrate", "%s", 0},
    {"qmp_enter_migrate_incoming", "%s", 0},
    {"qmp_enter_migrate_set_capabilities", "%s", 0},
    {"qmp_enter_migrate_set_parameters", "%s", 0},
};

#define NFORMATS (sizeof(formats) / sizeof(formats[0]))

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static bool parse_u64(const char **pp, const char *end, int base, uint64_t *out)
{
	const char *p = *pp;
	uint64_t v = 0;
	int n = 0;

	for (; p < end; p++, n++) {
		unsigned int d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned int)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned int)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (unsigned int)(*p - 'A' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / (uint64_t)base)
			return false;
		v = v * (uint64_t)base + d;
	}
	if (!n)
		return false;
	*pp = p;
	*out = v;
	return true;
}

static bool parse_i64(const char **pp, const char *end, int64_t *out)
{
	const char *p = *pp;
	bool neg = p < end && *p == '-';
	uint64_t v;

	if (neg)
		p++;
	if (!parse_u64(&p, end, 10, &v) || v > (neg ? (uint64_t)INT64_MAX + 1 : INT64_MAX))
		return false;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	*pp = p;
	return true;
}

/* Store a number in argument slot i as the catalog type says, as the live
 * path does (bpf_usdt_arg sign-extends signed arguments). */
static uint64_t as_type(char type, uint64_t v)
{
	switch (type) {
	case 'i': return (uint64_t)(int64_t)(int32_t)v;
	case 'x': return (uint32_t)v;
	case 'w': return (uint16_t)v;
	default: return v;
	}
}

static const char *find(const char *p, const char *end, const char *lit, size_t n)
{
	for (; p + n <= end; p++)
		if (!memcmp(p, lit, n))
			return p;
	return NULL;
}

/* Match the arguments p..end against one format; fill e. */
static bool match(const struct qfmt *f, const char *types, const char *p, const char *end,
		  struct ms_usdt *e)
{
	size_t ntypes = strlen(types), conv = 0, nstr = 0;
	const char *q = f->fmt;

	memset(e->args, 0, sizeof(e->args));
	memset(e->str, 0, sizeof(e->str));
	e->h.flags = 0;
	while (*q) {
		size_t slot;
		char c;

		if (*q != '%') {
			if (p >= end || *p != *q)
				return false;
			p++, q++;
			continue;
		}
		c = q[1];
		q += 2;
		slot = conv;
		conv++;
		if (slot >= ntypes || (c == 's') != (types[slot] == 's'))
			return false;
		if (c == 's') {
			size_t lit = strcspn(q, "%"), len;
			const char *s_end;

			if (!lit && *q)
				return false; /* two conversions in a row: not in the table */
			if (!lit) {
				s_end = end; /* the last conversion takes the rest */
			} else if (!q[lit]) {
				/* the literal ends the format: it is the line's suffix */
				if ((size_t)(end - p) < lit || memcmp(end - lit, q, lit))
					return false;
				s_end = end - lit;
			} else {
				s_end = find(p, end, q, lit);
				if (!s_end)
					return false;
			}
			if (nstr >= MS_MAX_STRS)
				return false;
			len = (size_t)(s_end - p);
			if (len > MS_STR_LEN - 1) {
				len = MS_STR_LEN - 1;
				e->h.flags |= MS_F_STR_TRUNC;
			}
			memcpy(e->str[nstr], p, len);
			e->args[slot] = nstr++;
			p = s_end;
		} else if (c == 'u' || c == 'x') {
			uint64_t v;

			if (!parse_u64(&p, end, c == 'x' ? 16 : 10, &v))
				return false;
			e->args[slot] = as_type(types[slot], v);
		} else if (c == 'd') {
			int64_t v;

			if (!parse_i64(&p, end, &v))
				return false;
			e->args[slot] = as_type(types[slot], (uint64_t)v);
		} else {
			return false;
		}
	}
	return p == end && conv == ntypes;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (no time zone, no
 * locale: the log's stamps are UTC). */
static int64_t days_from_civil(int64_t y, unsigned int m, unsigned int d)
{
	int64_t era;
	unsigned int yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned int)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool two(const char *p, unsigned int max, unsigned int *v)
{
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return false;
	*v = (unsigned int)(p[0] - '0') * 10 + (unsigned int)(p[1] - '0');
	return *v <= max;
}

/* QEMU 10.1+: "YYYY-MM-DDTHH:MM:SS.ffffffZ " (UTC). Returns the length of the
 * stamp with its space, 0 if p does not start with one. */
static size_t iso_stamp(const char *p, const char *end, uint64_t *ts)
{
	unsigned int y1, y2, mo, d, h, mi, sec;
	uint64_t frac = 0;
	int digits = 0;
	const char *q;
	int64_t days;

	if (end - p < 22 || p[4] != '-' || p[7] != '-' || p[10] != 'T' || p[13] != ':' ||
	    p[16] != ':' || p[19] != '.')
		return 0;
	if (!two(p, 99, &y1) || !two(p + 2, 99, &y2) || !two(p + 5, 12, &mo) ||
	    !two(p + 8, 31, &d) || !two(p + 11, 23, &h) || !two(p + 14, 59, &mi) ||
	    !two(p + 17, 60, &sec) || !mo || !d)
		return 0;
	for (q = p + 20; q < end && *q >= '0' && *q <= '9' && digits < 9; q++, digits++)
		frac = frac * 10 + (uint64_t)(*q - '0');
	if (!digits || q + 1 >= end || q[0] != 'Z' || q[1] != ' ')
		return 0;
	for (int i = digits; i < 9; i++)
		frac *= 10;
	days = days_from_civil((int64_t)(y1 * 100 + y2), mo, d);
	if (days < 0)
		return 0;
	*ts = ((uint64_t)days * 86400 + h * 3600 + mi * 60 + sec) * 1000000000ULL + frac;
	return (size_t)(q + 2 - p);
}

enum qlog_line qlog_parse_line(const char *line, size_t len, union ms_rec *out)
{
	const char *p = line, *end = line + len, *name;
	uint64_t tid = 0, sec = 0, frac = 0, ts = 0;
	bool stamped = false;
	unsigned int probe;
	char nbuf[96];
	size_t nlen;

	memset(out, 0, sizeof(*out));
	while (end > p && (end[-1] == '\r' || end[-1] == '\n'))
		end--;
	/* YYYY-MM-DDTHH:MM:SS.USECZ (10.1+, -msg timestamp=on): no thread id */
	if ((nlen = iso_stamp(p, end, &ts))) {
		p += nlen;
		stamped = true;
	} else if (p < end && *p >= '0' && *p <= '9') {
		/* TID@SEC.USEC: (up to 10.0, with -msg timestamp=on) */
		const char *f;
		int digits;

		if (!parse_u64(&p, end, 10, &tid) || tid > UINT32_MAX || p >= end || *p++ != '@')
			return QLOG_MALFORMED;
		if (!parse_u64(&p, end, 10, &sec) || p >= end || *p++ != '.' ||
		    sec > UINT64_MAX / 1000000000ULL - 1)
			return QLOG_MALFORMED;
		f = p;
		if (!parse_u64(&p, end, 10, &frac) || p >= end || *p++ != ':')
			return QLOG_MALFORMED;
		digits = (int)(p - 1 - f);
		if (digits > 9)
			return QLOG_MALFORMED;
		for (int i = digits; i < 9; i++)
			frac *= 10;
		ts = sec * 1000000000ULL + frac;
		stamped = true;
	}
	name = p;
	while (p < end && is_name_char(*p))
		p++;
	nlen = (size_t)(p - name);
	if (!nlen || nlen >= sizeof(nbuf) || (p < end && *p != ' '))
		return QLOG_MALFORMED;
	memcpy(nbuf, name, nlen);
	nbuf[nlen] = '\0';
	if (p < end)
		p++; /* the space after the name; an empty format may lose it */
	probe = cat_lookup(nbuf);
	out->h.ts = ts;
	out->h.tid = (uint32_t)tid;
	if (!probe) {
		/* without a timestamp, "word rest" could be any text */
		return stamped ? QLOG_UNKNOWN_EVENT : QLOG_MALFORMED;
	}
	for (size_t i = 0; i < NFORMATS; i++) {
		if (strcmp(formats[i].name, nbuf))
			continue;
		if (!match(&formats[i], cat_shape_types(probe, formats[i].shape), p, end,
			   &out->usdt))
			continue;
		if (!stamped) {
			memset(out, 0, sizeof(*out));
			return QLOG_NO_TIMESTAMP;
		}
		out->h.kind = MS_EV_USDT;
		out->h.probe = (uint16_t)probe;
		out->h.flags |= (uint16_t)(formats[i].shape << MS_F_SHAPE_SHIFT);
		return QLOG_EVENT;
	}
	return QLOG_MALFORMED;
}

static bool is_dst_only(const struct ms_usdt *e)
{
	switch (e->h.probe) {
	case MS_P_LOADVM_POSTCOPY_HANDLE_RUN:
	case MS_P_LOADVM_STATE_SWITCHOVER_ACK_NEEDED:
	case MS_P_LOADVM_APPROVE_SWITCHOVER:
	case MS_P_MIGRATE_SEND_RP_MESSAGE:
	case MS_P_VMSTATE_DOWNTIME_LOAD:
	case MS_P_VFIO_LOAD_STATE:
	case MS_P_VFIO_LOAD_STATE_DEVICE_DATA:
	case MS_P_VFIO_LOAD_DEVICE_CONFIG_STATE_START:
	case MS_P_VFIO_LOAD_DEVICE_CONFIG_STATE_END:
	case MS_P_VFIO_LOAD_DEVICE_CONFIG_STATE:
	case MS_P_VFIO_LOAD_CLEANUP: return true;
	case MS_P_VMSTATE_DOWNTIME_CHECKPOINT: return !strncmp(ms_arg_str(e, 0), "dst-", 4);
	default: return false;
	}
}

static bool is_src_only(const struct ms_usdt *e)
{
	switch (e->h.probe) {
	case MS_P_MIGRATE_PENDING_ESTIMATE:
	case MS_P_MIGRATE_PENDING_EXACT:
	case MS_P_MIGRATE_TRANSFERRED:
	case MS_P_MIGRATION_THREAD_LOW_PENDING:
	case MS_P_MIGRATION_BITMAP_SYNC_END:
	case MS_P_MIGRATION_COMPLETION_VM_STOP:
	case MS_P_SAVEVM_SEND_SWITCHOVER_START:
	case MS_P_SAVEVM_SEND_OPEN_RETURN_PATH:
	case MS_P_MIGRATION_PRECOPY_COMPLETE:
	case MS_P_POSTCOPY_START:
	case MS_P_OPEN_RETURN_PATH_ON_SOURCE:
	case MS_P_SOURCE_RETURN_PATH_THREAD_ENTRY:
	case MS_P_SOURCE_RETURN_PATH_THREAD_END:
	case MS_P_SOURCE_RETURN_PATH_THREAD_SWITCHOVER_ACKED:
	case MS_P_VMSTATE_DOWNTIME_SAVE:
	case MS_P_VFIO_SAVE_SETUP:
	case MS_P_VFIO_SAVE_ITERATE_START:
	case MS_P_VFIO_SAVE_ITERATE:
	case MS_P_VFIO_SAVE_BLOCK:
	case MS_P_VFIO_STATE_PENDING_ESTIMATE:
	case MS_P_VFIO_STATE_PENDING_EXACT:
	case MS_P_VFIO_SAVE_COMPLETE_PRECOPY_START:
	case MS_P_VFIO_SAVE_COMPLETE_PRECOPY:
	case MS_P_VFIO_SAVE_DEVICE_CONFIG_STATE: return true;
	case MS_P_VMSTATE_DOWNTIME_CHECKPOINT: return !strncmp(ms_arg_str(e, 0), "src-", 4);
	default: return false;
	}
}

bool qlog_is_log(const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, total = 0;
	ssize_t n;
	bool yes = false;
	union ms_rec rec;

	if (!f)
		return false;
	for (int i = 0; i < 1000 && total < (1u << 20) && (n = getline(&line, &cap, f)) > 0; i++) {
		enum qlog_line k = qlog_parse_line(line, (size_t)n, &rec);

		total += (size_t)n;
		if (k != QLOG_MALFORMED) {
			yes = true;
			break;
		}
	}
	free(line);
	fclose(f);
	return yes;
}

struct slot {
	union ms_rec rec;
	uint64_t seq;
};

struct qlog_reader {
	FILE *f;
	char *path;
	char *line;
	size_t cap;
	uint32_t pid;
	bool incoming;
	bool iso; /* 10.1+ stamps: the QEMU is at least 10.1 */
	bool proc_sent;
	bool eof;
	char vm[MS_NAME_LEN];
	char uuid[40];
	char host[64]; /* libvirt's header's hostname, or "" */
	bool named;    /* vm or uuid given by the caller: the header's are not used */
	struct qlog_stats st;
	uint64_t seq;
	size_t nheap;
	struct slot heap[QLOG_REORDER];
	char err[512];
};

static bool slot_less(const struct slot *a, const struct slot *b)
{
	return a->rec.h.ts < b->rec.h.ts || (a->rec.h.ts == b->rec.h.ts && a->seq < b->seq);
}

static void heap_push(struct qlog_reader *r, const union ms_rec *rec)
{
	size_t i = r->nheap++;

	r->heap[i].rec = *rec;
	r->heap[i].seq = r->seq++;
	while (i) {
		size_t parent = (i - 1) / 2;
		struct slot tmp;

		if (!slot_less(&r->heap[i], &r->heap[parent]))
			break;
		tmp = r->heap[i];
		r->heap[i] = r->heap[parent];
		r->heap[parent] = tmp;
		i = parent;
	}
}

static void heap_pop(struct qlog_reader *r, union ms_rec *out)
{
	size_t i = 0;

	*out = r->heap[0].rec;
	r->heap[0] = r->heap[--r->nheap];
	for (;;) {
		size_t l = 2 * i + 1, rr = l + 1, m = i;
		struct slot tmp;

		if (l < r->nheap && slot_less(&r->heap[l], &r->heap[m]))
			m = l;
		if (rr < r->nheap && slot_less(&r->heap[rr], &r->heap[m]))
			m = rr;
		if (m == i)
			break;
		tmp = r->heap[i];
		r->heap[i] = r->heap[m];
		r->heap[m] = tmp;
		i = m;
	}
}

/* libvirt's header (qemulog.h): "DATE: starting up libvirt version: V,
 * package: P, qemu version: Q, kernel: K, hostname: H", then the environment
 * and the command line libvirt ran, one argument per line ending in " \\"
 * (older libvirt: all on one line), with "-name guest=NAME,..." and "-uuid
 * UUID". A comma in a -name value is written twice. */
#define LV_STARTING  "starting up libvirt version:"
#define LV_MAX_LINES 400

/* The value of option OPT ("-name ") at a token start in [p, end), or NULL;
 * *len its length up to a blank. */
static const char *lv_option(const char *p, const char *end, const char *opt, size_t *len)
{
	size_t n = strlen(opt);

	for (const char *q = p; q + n <= end; q++) {
		const char *v;

		if ((q != p && q[-1] != ' ' && q[-1] != '\t') || memcmp(q, opt, n))
			continue;
		v = q + n;
		while (v < end && *v == ' ')
			v++;
		*len = 0;
		while (v + *len < end && v[*len] != ' ' && v[*len] != '\t' && v[*len] != '\\' &&
		       v[*len] != '\n' && v[*len] != '\r')
			(*len)++;
		return *len ? v : NULL;
	}
	return NULL;
}

bool qlog_header_line(struct qlog_header *h, const char *line, size_t len)
{
	const char *end = line + len, *p, *v;
	size_t n, k = 0;

	p = find(line, end, LV_STARTING, sizeof(LV_STARTING) - 1);
	if (p) {
		memset(h, 0, sizeof(*h));
		h->lines = LV_MAX_LINES;
		p = find(p, end, ", hostname: ", 12);
		if (p) {
			p += 12;
			while (p < end && p[0] != '\n' && p[0] != '\r' && k + 1 < sizeof(h->host))
				h->host[k++] = *p++;
			h->host[k] = '\0';
		}
		return true;
	}
	if (!h->lines)
		return false;
	h->lines--;
	v = lv_option(line, end, "-name ", &n);
	if (v && !h->vm[0]) {
		/* [guest=]NAME[,key=value...], ",," a comma of the name */
		if (n > 6 && !memcmp(v, "guest=", 6))
			v += 6, n -= 6;
		for (size_t i = 0; i < n && k + 1 < sizeof(h->vm); i++) {
			if (v[i] == ',' && (i + 1 >= n || v[i + 1] != ','))
				break;
			h->vm[k++] = v[i];
			if (v[i] == ',')
				i++;
		}
		h->vm[k] = '\0';
	}
	v = lv_option(line, end, "-uuid ", &n);
	if (v && !h->uuid[0] && n < sizeof(h->uuid)) {
		memcpy(h->uuid, v, n);
		h->uuid[n] = '\0';
	}
	return false;
}

/* The pre-scan: counts, the pid, the first and last timestamps and whether
 * the process was a migration destination: it logged a destination-only
 * event, or migration states and no source-only event. The pid is the TID of the first
 * "migrate_set_state setup" line (QMP commands and the incoming side's setup
 * run in QEMU's main thread, whose TID is the PID), else of the first trace
 * line. Not the smallest TID: TIDs wrap around. */
static int prescan(struct qlog_reader *r)
{
	uint32_t setup_tid = 0, first_tid = 0;
	bool dst_hint = false, src_hint = false, states = false;
	struct qlog_header lv = {};
	union ms_rec rec;
	ssize_t n;

	while ((n = getline(&r->line, &r->cap, r->f)) > 0) {
		enum qlog_line k = qlog_parse_line(r->line, (size_t)n, &rec);

		r->st.lines++;
		if (k == QLOG_MALFORMED && !r->st.events)
			qlog_header_line(&lv, r->line, (size_t)n);
		switch (k) {
		case QLOG_EVENT:
			if (!r->st.events && !r->named) {
				/* the header of the QEMU run that logged it */
				ms_strlcpy(r->vm, lv.vm, sizeof(r->vm));
				ms_strlcpy(r->uuid, lv.uuid, sizeof(r->uuid));
			}
			if (!r->st.events)
				ms_strlcpy(r->host, lv.host, sizeof(r->host));
			r->st.events++;
			if (!rec.h.tid)
				r->iso = true; /* only 10.1+'s stamps name no thread */
			if (!r->st.first_ts || rec.h.ts < r->st.first_ts)
				r->st.first_ts = rec.h.ts;
			if (rec.h.ts > r->st.last_ts)
				r->st.last_ts = rec.h.ts;
			dst_hint |= is_dst_only(&rec.usdt);
			src_hint |= is_src_only(&rec.usdt);
			states |= rec.h.probe == MS_P_MIGRATE_SET_STATE;
			if (!setup_tid && rec.h.probe == MS_P_MIGRATE_SET_STATE &&
			    !strcmp(ms_arg_str(&rec.usdt, 0), "setup"))
				setup_tid = rec.h.tid;
			/* fall through */
		case QLOG_UNKNOWN_EVENT:
			if (k == QLOG_UNKNOWN_EVENT)
				r->st.unknown_events++;
			if (!first_tid)
				first_tid = rec.h.tid;
			break;
		case QLOG_NO_TIMESTAMP: r->st.no_timestamp++; break;
		case QLOG_MALFORMED: r->st.malformed++; break;
		}
	}
	if (ferror(r->f)) {
		snprintf(r->err, sizeof(r->err), "cannot read %s: %s", r->path, strerror(errno));
		return -EIO;
	}
	if (!r->st.events) {
		if (r->st.no_timestamp)
			snprintf(
			    r->err, sizeof(r->err),
			    "%s: QEMU log without timestamps: start QEMU with -msg timestamp=on",
			    r->path);
		else
			snprintf(r->err, sizeof(r->err),
				 "%s: no migration event in this QEMU log (%llu lines): enable the "
				 "catalog's events with -trace (docs/qemu.md)",
				 r->path, (unsigned long long)r->st.lines);
		return -ENODATA;
	}
	/* a 10.1+ log names no thread: a pseudo pid above any real one */
	r->pid = setup_tid ? setup_tid : first_tid ? first_tid : QLOG_NO_TID_PID;
	/* A destination killed early logs its states and nothing else. */
	r->incoming = dst_hint || (states && !src_hint);
	if (fseek(r->f, 0, SEEK_SET)) {
		snprintf(r->err, sizeof(r->err), "cannot rewind %s: %s", r->path, strerror(errno));
		return -EIO;
	}
	return 0;
}

struct qlog_reader *qlog_open(const char *path, const struct qlog_opts *o, char *err, size_t errlen)
{
	struct qlog_reader *r = calloc(1, sizeof(*r));
	int e;

	if (!r || !(r->path = strdup(path))) {
		free(r);
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	if (o && o->vm)
		ms_strlcpy(r->vm, o->vm, sizeof(r->vm));
	if (o && o->uuid)
		ms_strlcpy(r->uuid, o->uuid, sizeof(r->uuid));
	r->named = (o && o->vm) || (o && o->uuid);
	r->f = fopen(path, "r");
	if (!r->f) {
		e = errno;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
		qlog_close(r);
		errno = e;
		return NULL;
	}
	e = prescan(r);
	if (e) {
		snprintf(err, errlen, "%s", r->err);
		qlog_close(r);
		errno = -e;
		return NULL;
	}
	return r;
}

const char *qlog_host(const struct qlog_reader *r)
{
	return r->host;
}

uint32_t qlog_pid(const struct qlog_reader *r)
{
	return r->pid;
}

void qlog_set_pid(struct qlog_reader *r, uint32_t pid)
{
	r->pid = pid;
}

int qlog_read(struct qlog_reader *r, union ms_rec *out)
{
	if (!r->proc_sent) {
		memset(out, 0, sizeof(*out));
		out->h.kind = MS_EV_PROC;
		out->h.ts = r->st.first_ts;
		out->h.pid = out->h.tid = r->pid;
		out->proc.start_ns = r->st.first_ts;
		memcpy(out->proc.vm, r->vm, sizeof(out->proc.vm));
		memcpy(out->proc.uuid, r->uuid, sizeof(out->proc.uuid));
		out->proc.pflags = r->incoming ? MS_PROC_INCOMING : 0;
		if (r->iso) {
			out->proc.qemu_version = 100100;
			out->proc.pflags |= MS_PROC_VERSION_AT_LEAST;
		}
		r->proc_sent = true;
		return 1;
	}
	while (!r->eof && r->nheap < QLOG_REORDER) {
		ssize_t n = getline(&r->line, &r->cap, r->f);
		union ms_rec rec;

		if (n <= 0) {
			r->eof = true;
			if (ferror(r->f)) {
				snprintf(r->err, sizeof(r->err), "cannot read %s: %s", r->path,
					 strerror(errno));
				return -EIO;
			}
			break;
		}
		if (qlog_parse_line(r->line, (size_t)n, &rec) != QLOG_EVENT)
			continue;
		rec.h.pid = r->pid;
		if (!rec.h.tid)
			rec.h.tid = r->pid; /* 10.1+: one thread for all, as far as we know */
		heap_push(r, &rec);
	}
	if (!r->nheap)
		return 0;
	heap_pop(r, out);
	return 1;
}

const char *qlog_error(const struct qlog_reader *r)
{
	return r->err[0] ? r->err : "no error";
}

void qlog_stats(const struct qlog_reader *r, struct qlog_stats *s)
{
	*s = r->st;
}

uint64_t qlog_skipped(const struct qlog_stats *s)
{
	return s->unknown_events + s->malformed + s->no_timestamp;
}

void qlog_close(struct qlog_reader *r)
{
	if (!r)
		return;
	if (r->f)
		fclose(r->f);
	free(r->line);
	free(r->path);
	free(r);
}
