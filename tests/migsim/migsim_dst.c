// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The migration destination: QEMU started with -incoming, modelled on
 * migration/migration.c (process_incoming_migration_co and _bh,
 * migration_incoming_state_destroy) and migration/savevm.c
 * (qemu_loadvm_state, loadvm_process_command, the section loaders, the
 * switchover-ack bookkeeping). Everything runs on the main thread, as the
 * incoming coroutine and bottom half do in QEMU.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "migsim.h"
#include "migsim_stream.h"
#include "migsim_trace.h"
#include "migsim_uapi.h"

enum { MIG_NONE, MIG_SETUP, MIG_ACTIVE, MIG_COMPLETED, MIG_FAILED };
static const char *const mig_status_name[] = {"none", "setup", "active", "completed", "failed"};

#define SE_MAX 256
enum { SE_UNKNOWN = 0, SE_RAM = -1, SE_CPU = -2 }; /* else device index + 1 */

static struct dst {
	struct ms_dev dev[MS_MAX_DEV];
	int ndev;
	struct ms_vfiofs fs;
	int lfd;
	int sock;
	int mf_sock; /* the multifd channel (--multifd) */
	struct ms_rd *rd;
	int state;
	int runstate;
	bool rp_open;
	unsigned int ack_pending;
	unsigned int ack_needed;
	char error[MS_ERR_LEN];
	bool has_error;
	int se_kind[SE_MAX];
	bool phase_hit[PH_COUNT];
	uint64_t t_setup, t_active, t_ack_sent, t_loadvm_completed, t_vm_started, t_terminal;
} D = {.lfd = -1, .sock = -1, .mf_sock = -1};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_error(const char *fmt, ...)
{
	va_list ap;

	if (D.has_error)
		return;
	D.has_error = true;
	va_start(ap, fmt);
	vsnprintf(D.error, sizeof(D.error), fmt, ap);
	va_end(ap);
}

static void set_state(int old_state, int new_state)
{
	uint64_t ts;

	if (D.state != old_state)
		return;
	D.state = new_state;
	ts = trace_migrate_set_state(mig_status_name[new_state]);
	if (new_state == MIG_SETUP)
		D.t_setup = ts;
	else if (new_state == MIG_ACTIVE)
		D.t_active = ts;
	else if (new_state == MIG_COMPLETED || new_state == MIG_FAILED)
		D.t_terminal = ts;
}

static void runstate_set(int new_state)
{
	trace_runstate_set(D.runstate, ms_runstate_name(D.runstate), new_state,
			   ms_runstate_name(new_state));
	D.runstate = new_state;
}

static int phase(enum ms_phase ph)
{
	if (D.phase_hit[ph])
		return 0;
	D.phase_hit[ph] = true;
	if (cfg.fail_at == (int)ph) {
		set_error("injected failure at %s (--fail-at)", ms_phase_names[ph]);
		return -ECANCELED;
	}
	return 0;
}

static void status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void status(const char *fmt, ...)
{
	char line[MS_ERR_LEN + 16];
	va_list ap;
	int n;

	if (cfg.status_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	/* one line, whatever the message holds */
	for (int i = 0; i < n; i++)
		if (line[i] == '\n')
			line[i] = ' ';
	line[n++] = '\n';
	if (write(cfg.status_fd, line, (size_t)n) < 0) {
		/* the source is gone; nothing to tell */
	}
}

/* ---------------------------------------------------------------------- */
/* return path (migrate_send_rp_message) */

static int send_rp_message(uint16_t type, uint16_t len, const void *data, uint64_t *ts)
{
	uint8_t buf[4 + 8];
	uint64_t t = trace_migrate_send_rp_message(type, len);

	if (ts)
		*ts = t;
	if (!D.rp_open)
		return -EIO;
	buf[0] = (uint8_t)(type >> 8);
	buf[1] = (uint8_t)type;
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	if (len)
		memcpy(buf + 4, data, len);
	return send_all(D.sock, buf, 4 + (size_t)len);
}

static int send_switchover_ack(void)
{
	return send_rp_message(MIG_RP_MSG_SWITCHOVER_ACK, 0, NULL, &D.t_ack_sent);
}

/* qemu_loadvm_approve_switchover() */
static int approve_switchover(struct ms_dev *d)
{
	int ret;

	d->approve_pending = false;
	ret = phase(PH_DST_APPROVE);
	if (ret)
		return ret;
	if (!D.ack_pending)
		return -EINVAL;
	D.ack_pending--;
	d->approve_ts = trace_loadvm_approve_switchover(D.ack_pending);
	if (D.ack_pending)
		return 0;
	ret = send_switchover_ack();
	if (ret)
		set_error("Could not send switchover ack RP MSG, err %d (%s)", ret, strerror(-ret));
	return ret;
}

/* Approvals whose --approval-delay ran out; the reader calls this too. */
static int run_due(void *ctx, uint64_t *due)
{
	uint64_t now = ms_now();

	(void)ctx;
	for (int i = 0; i < D.ndev; i++) {
		struct ms_dev *d = &D.dev[i];
		int ret;

		if (!d->approve_pending)
			continue;
		if (d->approve_due <= now) {
			ret = approve_switchover(d);
			if (ret) {
				set_error("%s: qemu_loadvm_approve_switchover failed, err=%d (%s)",
					  d->name, ret, strerror(-ret));
				return ret;
			}
		} else if (d->approve_due < *due) {
			*due = d->approve_due;
		}
	}
	return 0;
}

static int check_due(void)
{
	uint64_t due = UINT64_MAX;

	return run_due(NULL, &due);
}

/* ---------------------------------------------------------------------- */
/* section loaders */

static int rd_error(const char *what)
{
	if (!D.has_error)
		set_error("%s: %s", what, rd_strerror(D.rd));
	return D.rd->err ? D.rd->err : -EIO;
}

static int skip_bytes(uint64_t n)
{
	while (n) {
		const uint8_t *p;
		size_t k = rd_take(D.rd, n < SIZE_MAX ? (size_t)n : SIZE_MAX, &p);

		if (!k)
			return rd_error("reading the migration stream");
		n -= k;
	}
	return 0;
}

static int ram_load(uint8_t type)
{
	uint64_t len;
	int ret;

	if (type == QEMU_VM_SECTION_START)
		rd_be64(D.rd); /* RAM size */
	for (;;) {
		len = rd_be64(D.rd);
		if (D.rd->err)
			return rd_error("loading RAM");
		if (len == RAM_SAVE_FLAG_EOS)
			return 0;
		ret = skip_bytes(len);
		if (ret)
			return ret;
		ret = check_due();
		if (ret)
			return ret;
	}
}

/* vfio_load_buffer(): qemu_file_get_to_fd() into the device's data fd */
static int vfio_load_buffer(struct ms_dev *d, uint64_t size)
{
	int ret = 0;

	while (size) {
		const uint8_t *p;
		size_t k = rd_take(D.rd, size < (1u << 20) ? (size_t)size : (1u << 20), &p);

		if (!k)
			return rd_error("loading device state");
		size -= k;
		while (k) {
			ssize_t n = vfio_data_write(d, p, k);

			if (n < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			p += n;
			k -= (size_t)n;
			d->loaded_bytes += (uint64_t)n;
		}
	}
	return ret;
}

static int vfio_load_device_config_state(struct ms_dev *d)
{
	uint32_t len;
	uint64_t data;
	int ret;

	trace_vfio_load_device_config_state_start(d->name);
	len = rd_be32(D.rd);
	ret = skip_bytes(len);
	if (ret)
		return ret;
	data = rd_be64(D.rd);
	if (D.rd->err)
		return rd_error("loading device config");
	if (data != MS_VFIO_MIG_FLAG_END_OF_STATE) {
		set_error("%s: Failed loading device config space, end flag incorrect 0x%" PRIx64,
			  d->name, data);
		return -EINVAL;
	}
	trace_vfio_load_device_config_state_end(d->name);
	return 0;
}

/* vfio_load_state() */
static int vfio_load_state(struct ms_dev *d, uint8_t type)
{
	uint64_t data = rd_be64(D.rd);
	int ret;

	while (data != MS_VFIO_MIG_FLAG_END_OF_STATE) {
		uint64_t ts;

		if (D.rd->err)
			return rd_error("loading device state");
		ts = trace_vfio_load_state(d->name, data);
		switch (data) {
		case MS_VFIO_MIG_FLAG_DEV_CONFIG_STATE: return vfio_load_device_config_state(d);
		case MS_VFIO_MIG_FLAG_DEV_SETUP_STATE:
			data = rd_be64(D.rd);
			if (data == MS_VFIO_MIG_FLAG_END_OF_STATE)
				return 0;
			if (D.rd->err)
				return rd_error("loading device state");
			set_error("%s: SETUP STATE: EOS not found 0x%" PRIx64, d->name, data);
			return -EINVAL;
		case MS_VFIO_MIG_FLAG_DEV_DATA_STATE: {
			uint64_t size = rd_be64(D.rd);

			if (D.rd->err)
				return rd_error("loading device state");
			if (size) {
				ret = phase(PH_DST_LOAD);
				if (!ret)
					ret = vfio_load_buffer(d, size);
				trace_vfio_load_state_device_data(d->name, size, ret);
				if (ret < 0) {
					if (!D.has_error)
						set_error("%s: failed to load device state: %s",
							  d->name, strerror(-ret));
					return ret;
				}
				if (type == QEMU_VM_SECTION_END)
					d->end_loaded_bytes += size;
			}
			break;
		}
		case MS_VFIO_MIG_FLAG_DEV_INIT_DATA_SENT:
			if (!(d->mig_flags & MSV_MIGRATION_PRE_COPY) || !cfg.ack) {
				set_error(
				    "%s: Received INIT_DATA_SENT but switchover ack is not used",
				    d->name);
				return -EINVAL;
			}
			d->init_data_received = true;
			d->init_rx_ts = ts;
			d->init_loaded_bytes = d->loaded_bytes;
			if (!cfg.approval_delay_ms) {
				ret = approve_switchover(d);
				if (ret && !D.has_error)
					set_error("%s: qemu_loadvm_approve_switchover failed, "
						  "err=%d (%s)",
						  d->name, ret, strerror(-ret));
				return ret;
			}
			/* the device needs time with its initial data before it approves */
			d->approve_pending = true;
			d->approve_due = d->init_rx_ts + cfg.approval_delay_ms * 1000000ull;
			return 0;
		default: set_error("%s: Unknown tag 0x%" PRIx64, d->name, data); return -EINVAL;
		}
		data = rd_be64(D.rd);
	}
	return D.rd->err ? rd_error("loading device state") : 0;
}

static int cpu_load(void)
{
	return skip_bytes(rd_be32(D.rd));
}

static int section_load(int kind, uint8_t type)
{
	if (kind == SE_RAM)
		return ram_load(type);
	if (kind == SE_CPU)
		return cpu_load();
	return vfio_load_state(&D.dev[kind - 1], type);
}

static const char *section_idstr(int kind)
{
	return kind == SE_RAM ? "ram" : kind == SE_CPU ? "cpu" : D.dev[kind - 1].idstr;
}

static int check_footer(uint32_t section_id)
{
	uint8_t f = rd_u8(D.rd);
	uint32_t id = rd_be32(D.rd);

	if (D.rd->err)
		return rd_error("reading a section footer");
	if (f != QEMU_VM_SECTION_FOOTER || id != section_id) {
		set_error("Missing section footer for section %u", section_id);
		return -EINVAL;
	}
	return 0;
}

/* qemu_loadvm_section_start_full() and qemu_loadvm_section_part_end() */
static int load_section(uint8_t type)
{
	uint32_t section_id = rd_be32(D.rd);
	int kind, ret;
	uint64_t t0;

	if (type == QEMU_VM_SECTION_PART || type == QEMU_VM_SECTION_END)
		trace_qemu_loadvm_state_section_partend(section_id);

	if (type == QEMU_VM_SECTION_START || type == QEMU_VM_SECTION_FULL) {
		char idstr[256];
		uint8_t len = rd_u8(D.rd);

		rd_buf(D.rd, idstr, len);
		idstr[len] = '\0';
		rd_be32(D.rd); /* instance_id */
		rd_be32(D.rd); /* version_id */
		if (D.rd->err)
			return rd_error("reading a section header");
		kind = SE_UNKNOWN;
		if (!strcmp(idstr, "ram"))
			kind = SE_RAM;
		else if (!strcmp(idstr, "cpu"))
			kind = SE_CPU;
		for (int i = 0; i < D.ndev; i++)
			if (!strcmp(idstr, D.dev[i].idstr))
				kind = i + 1;
		if (kind == SE_UNKNOWN || section_id >= SE_MAX) {
			set_error("Unknown savevm section or instance '%s' 0. Make sure that your "
				  "current VM setup matches your saved VM setup, including any "
				  "hotplugged devices",
				  idstr);
			return -EINVAL;
		}
		D.se_kind[section_id] = kind;
	} else {
		if (D.rd->err)
			return rd_error("reading a section header");
		kind = section_id < SE_MAX ? D.se_kind[section_id] : SE_UNKNOWN;
		if (kind == SE_UNKNOWN) {
			set_error("Unknown savevm section %u", section_id);
			return -EINVAL;
		}
	}

	t0 = ms_now();
	ret = section_load(kind, type);
	if (ret < 0) {
		if (!D.has_error)
			set_error("error while loading state section id %u(%s)", section_id,
				  section_idstr(kind));
		return ret;
	}
	if (type == QEMU_VM_SECTION_FULL || type == QEMU_VM_SECTION_END) {
		int64_t us = (int64_t)((ms_now() - t0) / 1000);

		if (kind > 0)
			D.dev[kind - 1].load_us += us;
		trace_vmstate_downtime_load(type == QEMU_VM_SECTION_FULL ? "non-iterable"
									 : "iterable",
					    section_idstr(kind), 0, us);
	}
	return check_footer(section_id);
}

static int process_command(void)
{
	/* clang-format off */
	static const char *const names[] = {
		[MIG_CMD_OPEN_RETURN_PATH] = "OPEN_RETURN_PATH",
		[MIG_CMD_PING] = "PING",
		[MIG_CMD_SWITCHOVER_START] = "SWITCHOVER_START",
	};
	/* clang-format on */
	uint16_t cmd = rd_be16(D.rd);
	uint16_t len = rd_be16(D.rd);
	uint32_t val;
	int ret;

	if (D.rd->err)
		return rd_error("reading a command");
	if (cmd >= sizeof(names) / sizeof(names[0]) || !names[cmd]) {
		set_error("MIG_CMD 0x%x unknown (len 0x%x)", cmd, len);
		return -EINVAL;
	}
	trace_loadvm_process_command(names[cmd], len);
	if (len != (cmd == MIG_CMD_PING ? 4 : 0)) {
		set_error("%s received with bad length - expecting %d, got %d", names[cmd],
			  cmd == MIG_CMD_PING ? 4 : 0, len);
		return -ERANGE;
	}
	switch (cmd) {
	case MIG_CMD_OPEN_RETURN_PATH:
		if (D.rp_open)
			return 0;
		D.rp_open = true;
		/* switchover-ack on but nobody needs it: ACK as soon as we can */
		if (cfg.ack && !D.ack_pending) {
			ret = send_switchover_ack();
			if (ret) {
				set_error("Could not send switchover ack RP MSG, err %d (%s)", ret,
					  strerror(-ret));
				return ret;
			}
		}
		return 0;
	case MIG_CMD_PING:
		val = rd_be32(D.rd);
		if (D.rd->err)
			return rd_error("reading a command");
		trace_loadvm_process_command_ping(val);
		if (!D.rp_open) {
			set_error("CMD_PING (0x%x) received with no return path", val);
			return -EINVAL;
		}
		val = htonl(val);
		return send_rp_message(MIG_RP_MSG_PONG, 4, &val, NULL);
	case MIG_CMD_SWITCHOVER_START:
		/* loadvm_postcopy_handle_switchover_start(): the devices' load threads */
		if (cfg.multifd) {
			char err[MS_ERR_LEN] = "";

			ret = mf_load_switchover_start(err);
			if (ret)
				set_error("%s", err);
			return ret;
		}
		return 0;
	}
	return 0;
}

/* qemu_loadvm_state() */
static int loadvm_state(void)
{
	char err[MS_ERR_LEN] = "";
	uint32_t v;
	int ret;

	v = rd_be32(D.rd);
	if (D.rd->err)
		return rd_error("reading the stream header");
	if (v != QEMU_VM_FILE_MAGIC) {
		set_error("Not a migration stream");
		return -EINVAL;
	}
	if (rd_be32(D.rd) != QEMU_VM_FILE_VERSION) {
		set_error("Unsupported migration stream version");
		return -ENOTSUP;
	}

	/* qemu_loadvm_state_setup(): vfio_load_setup() */
	for (int i = 0; i < D.ndev; i++) {
		struct ms_dev *d = &D.dev[i];

		ret = vfio_set_state(d, MS_VFIO_RESUMING, d->device_state, err);
		if (ret) {
			set_error("Load state of device %s failed: %s", d->idstr, err);
			return ret;
		}
	}
	if (cfg.ack) {
		for (int i = 0; i < D.ndev; i++)
			if (D.dev[i].mig_flags & MSV_MIGRATION_PRE_COPY)
				D.ack_pending++;
		D.ack_needed = D.ack_pending;
		trace_loadvm_state_switchover_ack_needed(D.ack_pending);
	}

	/* qemu_loadvm_state_main() */
	for (;;) {
		uint8_t type;

		ret = check_due();
		if (ret)
			return ret;
		type = rd_u8(D.rd);
		if (D.rd->err)
			return rd_error("load of migration failed");
		switch (type) {
		case QEMU_VM_EOF:
			/* qemu_loadvm_thread_pool_wait() */
			if (cfg.multifd && mf_load_wait(err)) {
				set_error("%s", err);
				return -EINVAL;
			}
			return 0;
		case QEMU_VM_COMMAND: ret = process_command(); break;
		case QEMU_VM_SECTION_START:
		case QEMU_VM_SECTION_FULL:
		case QEMU_VM_SECTION_PART:
		case QEMU_VM_SECTION_END: ret = load_section(type); break;
		default: set_error("Unknown savevm section type %d", type); ret = -EINVAL;
		}
		if (ret < 0)
			return ret;
	}
}

/* migration_incoming_state_destroy() */
static void incoming_state_destroy(bool failed)
{
	uint32_t val = htonl(failed ? 1 : 0);

	/* the load threads stopped and the multifd channel shut first: they
	 * write to the data fds closed below */
	if (cfg.multifd) {
		mf_load_cleanup();
		D.mf_sock = -1;
	}
	/* qemu_loadvm_state_cleanup(): vfio_load_cleanup() */
	for (int i = 0; i < D.ndev; i++) {
		struct ms_dev *d = &D.dev[i];

		if (d->data_fd >= 0)
			close(d->data_fd);
		d->data_fd = -1;
		trace_vfio_load_cleanup(d->name);
	}
	/* tell the source we are done: the SHUT ends its return-path thread */
	if (D.rp_open)
		send_rp_message(MIG_RP_MSG_SHUT, 4, &val, NULL);
	D.rp_open = false;
	if (D.sock >= 0)
		close(D.sock);
	D.sock = -1;
}

/* process_incoming_migration_co() and process_incoming_migration_bh() */
static int process_incoming(void)
{
	char err[MS_ERR_LEN] = "";
	int ret;

	set_state(MIG_SETUP, MIG_ACTIVE);
	ret = phase(PH_DST_ACTIVE);
	if (!ret)
		ret = loadvm_state();
	D.t_loadvm_completed = trace_vmstate_downtime_checkpoint("dst-precopy-loadvm-completed");
	if (ret < 0) {
		if (!D.has_error)
			set_error("load of migration failed: %s", strerror(-ret));
		goto fail;
	}

	trace_vmstate_downtime_checkpoint("dst-precopy-bh-enter");
	/* qemu_announce_self() */
	trace_vmstate_downtime_checkpoint("dst-precopy-bh-announced");
	/* vm_start(): the devices leave RESUMING, which is when a driver checks the data */
	runstate_set(RS_RUNNING);
	ret = vfio_vm_state_notify(D.dev, D.ndev, true, RS_RUNNING, err);
	D.t_vm_started = trace_vmstate_downtime_checkpoint("dst-precopy-bh-vm-started");
	if (ret) {
		set_error("%s", err);
		goto fail;
	}
	set_state(MIG_ACTIVE, MIG_COMPLETED);
	incoming_state_destroy(false);
	return 0;
fail:
	set_state(MIG_ACTIVE, MIG_FAILED);
	incoming_state_destroy(true);
	return -1;
}

static void jw_ms_or_null(struct jw *w, const char *key, uint64_t from, uint64_t to)
{
	jw_key(w, key);
	if (from && to)
		jw_ms(w, (int64_t)(to - from));
	else
		jw_null(w);
}

static void jw_ts(struct jw *w, const char *key, uint64_t ts)
{
	jw_key(w, key);
	if (ts)
		jw_u64(w, ts);
	else
		jw_null(w);
}

static void write_summary(void)
{
	const char *result = D.state == MIG_COMPLETED ? "completed"
			     : D.state == MIG_FAILED  ? "failed"
						      : "aborted";
	struct jw w;

	jw_init(&w);
	jw_obj_begin(&w);
	jw_key(&w, "summary");
	jw_obj_begin(&w);
	jw_key(&w, "role");
	jw_str(&w, "destination");
	jw_key(&w, "pid");
	jw_i64(&w, getpid());
	jw_key(&w, "vm");
	jw_str(&w, cfg.vm);
	jw_key(&w, "uuid");
	jw_str(&w, cfg.uuid);
	jw_key(&w, "result");
	jw_str(&w, result);
	jw_key(&w, "error");
	jw_str(&w, D.has_error ? D.error : NULL);
	jw_key(&w, "switchover_ack");
	jw_bool(&w, cfg.ack);
	jw_ms_or_null(&w, "total_ms", D.t_setup, D.t_terminal);
	jw_key(&w, "downtime_ms");
	jw_null(&w);
	jw_key(&w, "precopy_ms");
	jw_null(&w);
	jw_key(&w, "ack_latency_ms");
	jw_null(&w);
	jw_key(&w, "ack_wait_ms");
	jw_null(&w);
	jw_key(&w, "precopy_passes");
	jw_null(&w);
	jw_key(&w, "ack_needed");
	if (cfg.ack && D.t_active)
		jw_u64(&w, D.ack_needed);
	else
		jw_null(&w);
	jw_ms_or_null(&w, "ack_sent_ms", D.t_active, D.t_ack_sent);
	jw_key(&w, "received_bytes");
	jw_u64(&w, D.rd ? D.rd->total : 0);
	jw_key(&w, "milestones");
	jw_obj_begin(&w);
	jw_ts(&w, "setup", D.t_setup);
	jw_ts(&w, "active", D.t_active);
	jw_ts(&w, "ack_sent", D.t_ack_sent);
	jw_ts(&w, "dst-precopy-loadvm-completed", D.t_loadvm_completed);
	jw_ts(&w, "dst-precopy-bh-vm-started", D.t_vm_started);
	jw_ts(&w, "terminal", D.t_terminal);
	jw_obj_end(&w);
	jw_key(&w, "devices");
	jw_arr_begin(&w);
	for (int i = 0; i < D.ndev; i++) {
		struct ms_dev *d = &D.dev[i];
		const struct ms_mf_fig *mf = cfg.multifd ? mf_fig(i) : NULL;

		jw_obj_begin(&w);
		jw_key(&w, "name");
		jw_str(&w, d->name);
		jw_key(&w, "idstr");
		jw_str(&w, d->idstr);
		jw_key(&w, "initial_bytes");
		if (d->init_data_received)
			jw_u64(&w, d->init_loaded_bytes);
		else
			jw_null(&w);
		jw_key(&w, "init_drain_ms");
		jw_null(&w);
		jw_key(&w, "stopcopy_bytes");
		if (D.t_loadvm_completed && D.state != MIG_FAILED)
			jw_u64(&w, mf ? mf->loaded_bytes : d->end_loaded_bytes);
		else
			jw_null(&w);
		jw_key(&w, "loaded_bytes");
		jw_u64(&w, d->loaded_bytes);
		jw_ms_or_null(&w, "approval_ms", d->init_rx_ts, d->approve_ts);
		jw_key(&w, "save_us");
		jw_null(&w);
		jw_key(&w, "load_us");
		if (D.t_loadvm_completed && D.state != MIG_FAILED)
			jw_i64(&w, mf ? (int64_t)(mf->t_end - mf->t_start) / 1000 : d->load_us);
		else
			jw_null(&w);
		if (cfg.multifd)
			jw_mf_fig(&w, mf, true);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	jw_obj_end(&w);
	jw_write_line(&w);
}

int ms_dest_main(void)
{
	struct sigaction sa = {.sa_handler = on_signal};
	char err[MS_ERR_LEN] = "";
	int ret = 1;

	mslog_role = "destination";
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	ms_startup();
	D.ndev = cfg.ndev;
	for (int i = 0; i < D.ndev; i++)
		vfio_dev_init(&D.dev[i], i, NULL);
	if (D.ndev && ms_vfiofs_start(&D.fs, D.dev, D.ndev, err)) {
		status("E %s", err);
		fprintf(stderr, "migsim: destination: %s\n", err);
		return 1;
	}
	for (int i = 0; i < D.ndev; i++) {
		vfio_dev_init(&D.dev[i], i, D.fs.mnt);
		if (vfio_realize(&D.dev[i], err)) {
			status("E %s", err);
			goto out;
		}
	}
	D.runstate = RS_PRELAUNCH;
	runstate_set(RS_INMIGRATE);

	/* qemu_start_incoming_migration() */
	D.lfd = tcp_listen(cfg.in_host, cfg.in_port);
	if (D.lfd < 0) {
		if (D.lfd == -EADDRINUSE)
			status("B %s:%d: %s", cfg.in_host, cfg.in_port, strerror(-D.lfd));
		else
			status("E cannot listen on %s:%d: %s", cfg.in_host, cfg.in_port,
			       strerror(-D.lfd));
		goto out;
	}
	set_state(MIG_NONE, MIG_SETUP);
	status("L %d", cfg.in_port);

	D.sock = tcp_accept(D.lfd, cfg.timeout_s * 1000, &stop_requested);
	/* multifd_recv_new_channel(): the source connects it after the main one */
	if (D.sock >= 0 && cfg.multifd) {
		D.mf_sock = tcp_accept(D.lfd, cfg.timeout_s * 1000, &stop_requested);
		if (D.mf_sock < 0) {
			set_error("no multifd channel: %s", strerror(-D.mf_sock));
			D.mf_sock = -1;
			D.state = MIG_ACTIVE; /* fail from active, as QEMU would */
			set_state(MIG_ACTIVE, MIG_FAILED);
			goto done;
		}
		if (mf_load_listen(D.dev, D.ndev, D.mf_sock, err)) {
			set_error("%s", err);
			D.state = MIG_ACTIVE;
			set_state(MIG_ACTIVE, MIG_FAILED);
			goto done;
		}
	}
	close(D.lfd);
	D.lfd = -1;
	if (D.sock < 0) {
		if (D.sock == -EINTR) {
			set_error("stopped before the source connected");
		} else {
			set_error("no incoming connection: %s", strerror(-D.sock));
			D.state = MIG_ACTIVE; /* fail from active, as QEMU would */
			set_state(MIG_ACTIVE, MIG_FAILED);
		}
		D.sock = -1;
		goto done;
	}
	tcp_tune(D.sock, cfg.timeout_s * 1000);
	D.rd = malloc(sizeof(*D.rd));
	if (!D.rd) {
		set_error("out of memory");
		goto done;
	}
	rd_init(D.rd, D.sock, cfg.timeout_s * 1000);
	D.rd->hook = run_due;
	D.rd->stop = &stop_requested;
	process_incoming();
	if (stop_requested && D.state != MIG_COMPLETED)
		snprintf(D.error, sizeof(D.error), "stopped by a signal");

done:
	write_summary();
	if (D.state == MIG_COMPLETED) {
		status("C");
		ret = 0;
	} else {
		status("E %s", D.has_error ? D.error : "did not complete");
		if (cfg.status_fd < 0)
			fprintf(stderr, "migsim: destination: %s\n",
				D.has_error ? D.error : "did not complete");
	}
out:
	if (cfg.multifd && D.mf_sock >= 0)
		mf_load_cleanup();
	if (D.lfd >= 0)
		close(D.lfd);
	if (D.sock >= 0)
		close(D.sock);
	for (int i = 0; i < D.ndev; i++)
		vfio_dev_close(&D.dev[i]);
	if (D.ndev)
		ms_vfiofs_stop(&D.fs);
	free(D.rd);
	return ret;
}
