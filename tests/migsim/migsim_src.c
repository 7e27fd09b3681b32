// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The migration source: QEMU's migration/migration.c (migration_connect,
 * migration_thread, migration_iteration_run, migration_completion, the
 * return-path thread, migration_cleanup), migration/savevm.c (setup, iterate,
 * pending, complete) and migration/ram.c, modelled in the order QEMU 10.0
 * runs them. Threads as in QEMU: the main thread stands for the main loop
 * (QMP commands, bottom halves), "mig/src/main" runs the migration, and
 * "mig/src/return" reads the return path.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "migsim.h"
#include "migsim_stream.h"
#include "migsim_trace.h"
#include "migsim_uapi.h"

/* MigrationStatus (qapi/migration.json), the values migsim goes through */
enum mig_status {
	MIG_NONE,
	MIG_SETUP,
	MIG_CANCELLING,
	MIG_CANCELLED,
	MIG_ACTIVE,
	MIG_COMPLETED,
	MIG_FAILED,
};
/* clang-format off */
static const char *const mig_status_name[] = {
	[MIG_NONE] = "none",	       [MIG_SETUP] = "setup",	  [MIG_CANCELLING] = "cancelling",
	[MIG_CANCELLED] = "cancelled", [MIG_ACTIVE] = "active",	  [MIG_COMPLETED] = "completed",
	[MIG_FAILED] = "failed",
};
/* clang-format on */

#define BUFFER_DELAY_MS		100 /* migration/migration.h */
#define XFER_LIMIT_RATIO	(1000 / BUFFER_DELAY_MS)
#define RAM_CHUNK		(256 * 1024)
#define VFIO_MIG_STOP_COPY_SIZE (100ull << 30)
#define CPU_STATE_BYTES		(16 * 1024)
#define VFIO_CONFIG_BYTES	256

enum { ITER_RESUME, ITER_BREAK };
enum { SE_RAM = 0, SE_CPU = 1, SE_DEV0 = 2 }; /* section ids */

static struct src {
	struct ms_dev dev[MS_MAX_DEV];
	int ndev;
	struct ms_vfiofs fs;
	pid_t dst_pid;
	int dst_status; /* pipe from the destination */
	int dst_exit;	/* wait status */
	char dst_error[MS_ERR_LEN];
	bool dst_reaped;
	int sock;
	int mf_sock; /* the multifd channel (--multifd) */
	struct ms_wr *wr;
	pthread_t mig_thread;
	pthread_t rp_thread;
	bool mig_thread_created;
	bool rp_thread_created;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_int state;
	char error[MS_ERR_LEN];
	bool has_error;
	atomic_bool acked;
	bool rp_done;
	bool mig_done;
	bool cancel_req;
	bool cancel_ack;
	bool cancelled_by_request;
	bool converge_cancelled;

	int runstate;
	int vm_old_state;

	/* RAM (migration thread) */
	uint64_t ram_dirty; /* bytes still to send in this pass */
	uint64_t last_sync_ns;
	double dirty_acc; /* bytes dirtied since the last sync, not yet in pages */
	uint8_t *ram_buf;

	/* rate limiting, migration_update_counters() (migration thread) */
	uint64_t rate_limit_max; /* bytes per BUFFER_DELAY, 0: unlimited */
	uint64_t iteration_start_ms;
	uint64_t iteration_initial_bytes;
	uint64_t threshold;
	uint64_t last_pending;
	bool storm_done;
	uint64_t payload_this_iter;

	/* milestones, CLOCK_MONOTONIC ns of the probe, 0 if not reached */
	uint64_t t_setup, t_active, t_rp_open, t_ready, t_low_pending;
	uint64_t t_dt_start, t_vm_stopped, t_iter_saved, t_noniter_saved, t_dt_end, t_terminal;
	_Atomic uint64_t t_ack;
	bool precopy_seen, ready_seen, acked_seen;
	bool held_back; /* below the threshold, yet no switchover: no ACK */
	uint64_t syncs_before_downtime;
	uint64_t iterations;
	bool phase_hit[PH_COUNT];
	int killed_dst_at;
} S = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .cond = PTHREAD_COND_INITIALIZER,
    .sock = -1,
    .mf_sock = -1,
    .dst_status = -1,
    .killed_dst_at = PH_NONE,
};

static uint64_t now_ms(void)
{
	return ms_now() / 1000000ull;
}

/* migrate_set_error(): the first error is kept, every one is traced */
static void set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_error(const char *fmt, ...)
{
	char msg[MS_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	trace_migrate_error(msg);
	pthread_mutex_lock(&S.lock);
	if (!S.has_error) {
		S.has_error = true;
		snprintf(S.error, sizeof(S.error), "%s", msg);
	}
	pthread_mutex_unlock(&S.lock);
}

static bool has_error(void)
{
	bool r;

	pthread_mutex_lock(&S.lock);
	r = S.has_error;
	pthread_mutex_unlock(&S.lock);
	return r;
}

/* migrate_set_state(): compare and swap, traced only when it happened */
static bool set_state(int old_state, int new_state)
{
	int expect = old_state;
	uint64_t ts;

	if (!atomic_compare_exchange_strong(&S.state, &expect, new_state))
		return false;
	ts = trace_migrate_set_state(mig_status_name[new_state]);
	switch (new_state) {
	case MIG_SETUP: S.t_setup = ts; break;
	case MIG_ACTIVE: S.t_active = ts; break;
	case MIG_COMPLETED:
	case MIG_FAILED:
	case MIG_CANCELLED: S.t_terminal = ts; break;
	}
	return true;
}

static int get_state(void)
{
	return atomic_load(&S.state);
}

static void set_failed(void)
{
	int st = get_state();

	if (st == MIG_SETUP || st == MIG_ACTIVE)
		set_state(st, MIG_FAILED);
}

static bool migration_is_running(void)
{
	int st = get_state();

	return st == MIG_SETUP || st == MIG_ACTIVE || st == MIG_CANCELLING;
}

static void runstate_set(int new_state)
{
	trace_runstate_set(S.runstate, ms_runstate_name(S.runstate), new_state,
			   ms_runstate_name(new_state));
	S.runstate = new_state;
}

/* qemu_file_set_error() on the outgoing stream */
static void file_set_error(int err)
{
	if (!S.wr->err)
		S.wr->err = err;
}

/* ---------------------------------------------------------------------- */
/* --fail-at / --cancel-at / --kill-dst-at */

static void migration_cancel(void)
{
	int st;

	trace_migration_cancel();
	/* qemu_file_shutdown() of the return path and the stream: one socket */
	if (S.sock >= 0)
		shutdown(S.sock, SHUT_RDWR);
	do {
		st = get_state();
		if (st != MIG_SETUP && st != MIG_ACTIVE)
			break;
	} while (!set_state(st, MIG_CANCELLING));
}

/*
 * A phase was reached. Returns -1 when the migration must stop there (an
 * injected failure or a cancel). A cancel is a QMP command, so it runs on
 * the main thread; the migration thread waits for it so that it takes effect
 * exactly here.
 */
static int phase(enum ms_phase ph, bool on_main_thread)
{
	if (S.phase_hit[ph])
		return 0;
	S.phase_hit[ph] = true;
	if (cfg.kill_dst_at == (int)ph && S.dst_pid > 0) {
		kill(S.dst_pid, SIGKILL);
		S.killed_dst_at = ph;
	}
	if (cfg.cancel_at == (int)ph) {
		S.cancelled_by_request = true;
		if (on_main_thread) {
			migration_cancel();
			return -1;
		}
		pthread_mutex_lock(&S.lock);
		S.cancel_req = true;
		pthread_cond_broadcast(&S.cond);
		while (!S.cancel_ack)
			pthread_cond_wait(&S.cond, &S.lock);
		pthread_mutex_unlock(&S.lock);
		return -1;
	}
	if (cfg.fail_at == (int)ph) {
		set_error("injected failure at %s (--fail-at)", ms_phase_names[ph]);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* stream helpers (savevm.c) */

static void send_command(uint16_t cmd, uint16_t len, const void *data)
{
	trace_savevm_command_send(cmd, len);
	wr_u8(S.wr, QEMU_VM_COMMAND);
	wr_be16(S.wr, cmd);
	wr_be16(S.wr, len);
	if (len)
		wr_buf(S.wr, data, len);
}

/* save_section_header(); QEMU traces the header of every section but the
 * setup's (vmstate_save, qemu_savevm_state_iterate, _complete_*) */
static void section_header(uint8_t type, uint32_t id, const char *idstr)
{
	if (type != QEMU_VM_SECTION_START)
		trace_savevm_section_start(idstr, id);
	wr_u8(S.wr, type);
	wr_be32(S.wr, id);
	if (type == QEMU_VM_SECTION_START || type == QEMU_VM_SECTION_FULL) {
		size_t len = strlen(idstr);

		wr_u8(S.wr, (uint8_t)len);
		wr_buf(S.wr, idstr, len);
		wr_be32(S.wr, 0); /* instance_id */
		wr_be32(S.wr, 1); /* version_id */
	}
}

static void section_footer(uint32_t id)
{
	wr_u8(S.wr, QEMU_VM_SECTION_FOOTER);
	wr_be32(S.wr, id);
}

/* migration_rate_exceeded() */
static bool rate_exceeded(void)
{
	if (S.wr->err)
		return true;
	if (!S.rate_limit_max)
		return false;
	return S.wr->rate_used > S.rate_limit_max;
}

/* ---------------------------------------------------------------------- */
/* RAM (migration/ram.c) */

/* migration_bitmap_sync(): fold what the guest dirtied since the last sync */
static void ram_bitmap_sync(void)
{
	uint64_t now = ms_now();
	uint64_t pages, room;
	uint64_t ts;

	S.dirty_acc += (double)cfg.ram_dirty_rate * (double)(now - S.last_sync_ns) / 1e9;
	S.last_sync_ns = now;
	pages = (uint64_t)(S.dirty_acc / MS_PAGE_SIZE);
	S.dirty_acc -= (double)pages * MS_PAGE_SIZE;
	room = (cfg.ram_bytes - S.ram_dirty) / MS_PAGE_SIZE;
	if (pages > room)
		pages = room;

	/*
	 * memory_global_dirty_log_sync(): the devices' DMA dirty bitmaps. A
	 * precopy sync also costs the guest's dirty log a millisecond, which
	 * bounds how fast a migration that waits for the ACK spins.
	 */
	vfio_dma_logging_report(S.dev, S.ndev, cfg.ram_bytes);
	if (!S.t_dt_start)
		ms_msleep(1);
	S.ram_dirty += pages * MS_PAGE_SIZE;
	ts = trace_migration_bitmap_sync_end(pages);
	if (!S.t_dt_start)
		S.syncs_before_downtime++;
	(void)ts;
}

static int ram_save_setup(void)
{
	char err[MS_ERR_LEN] = "";
	int ret;

	section_header(QEMU_VM_SECTION_START, SE_RAM, "ram");
	/* ram_init_bitmaps(): memory_global_dirty_log_start() then a sync */
	if (S.ndev) {
		ret = vfio_dma_logging_start(S.dev, S.ndev, cfg.ram_bytes, err);
		if (ret) {
			set_error("%s", err);
			return ret;
		}
	}
	S.ram_dirty = cfg.ram_bytes;
	S.last_sync_ns = ms_now();
	ram_bitmap_sync();
	wr_be64(S.wr, cfg.ram_bytes); /* RAM_SAVE_FLAG_MEM_SIZE */
	wr_be64(S.wr, RAM_SAVE_FLAG_EOS);
	section_footer(SE_RAM);
	return S.wr->err;
}

static void ram_send(uint64_t n)
{
	wr_be64(S.wr, n);
	wr_buf(S.wr, S.ram_buf, n);
	S.ram_dirty -= n;
	S.payload_this_iter += n;
}

/* ram_save_iterate(): send dirty pages until the rate limit says stop */
static int ram_save_iterate(void)
{
	int done = 0;

	while (!rate_exceeded()) {
		if (!S.ram_dirty) {
			done = 1;
			break;
		}
		ram_send(S.ram_dirty < RAM_CHUNK ? S.ram_dirty : RAM_CHUNK);
	}
	wr_be64(S.wr, RAM_SAVE_FLAG_EOS);
	return S.wr->err ? S.wr->err : done;
}

/* ram_save_complete(): last sync, everything left, no rate limit */
static int ram_save_complete(void)
{
	ram_bitmap_sync();
	while (S.ram_dirty && !S.wr->err)
		ram_send(S.ram_dirty < RAM_CHUNK ? S.ram_dirty : RAM_CHUNK);
	wr_be64(S.wr, RAM_SAVE_FLAG_EOS);
	return wr_flush(S.wr);
}

/* ---------------------------------------------------------------------- */
/* VFIO save (hw/vfio/migration.c) */

static ssize_t vfio_save_block(struct ms_dev *d)
{
	ssize_t n = vfio_data_read(d, d->data_buffer, d->data_buffer_size);

	if (n < 0) {
		/* pre-copy emptied all the device state for now */
		if (errno == ENOMSG) {
			if (!d->event_precopy_empty_hit) {
				trace_vfio_save_block_precopy_empty_hit(d->name);
				d->event_precopy_empty_hit = true;
			}
			return 0;
		}
		return -errno;
	}
	if (!n)
		return 0;
	d->event_precopy_empty_hit = false;
	wr_be64(S.wr, MS_VFIO_MIG_FLAG_DEV_DATA_STATE);
	wr_be64(S.wr, (uint64_t)n);
	wr_buf(S.wr, d->data_buffer, (size_t)n);
	S.payload_this_iter += (uint64_t)n;
	if (d->device_state == MS_VFIO_STOP_COPY)
		d->stopcopy_read += (uint64_t)n;
	trace_vfio_save_block(d->name, (int)n);
	return S.wr->err ? S.wr->err : n;
}

static void vfio_update_estimated_pending_data(struct ms_dev *d, uint64_t data_size)
{
	if (!data_size) {
		d->precopy_init_size = 0;
		d->precopy_dirty_size = 0;
		return;
	}
	if (d->precopy_init_size) {
		uint64_t init = d->precopy_init_size < data_size ? d->precopy_init_size : data_size;

		d->precopy_init_size -= init;
		data_size -= init;
	}
	d->precopy_dirty_size -=
	    d->precopy_dirty_size < data_size ? d->precopy_dirty_size : data_size;
}

static int vfio_save_setup(struct ms_dev *d)
{
	uint64_t stop_copy_size = 1024 * 1024;
	char err[MS_ERR_LEN] = "";
	int ret;

	wr_be64(S.wr, MS_VFIO_MIG_FLAG_DEV_SETUP_STATE);
	vfio_query_stop_copy_size(d, &stop_copy_size);
	d->data_buffer_size = vfio_data_buffer_size(stop_copy_size);
	d->data_buffer = malloc(d->data_buffer_size);
	if (!d->data_buffer) {
		set_error("%s: Failed to allocate migration data buffer", d->name);
		return -ENOMEM;
	}
	d->event_save_iterate_started = false;
	d->event_precopy_empty_hit = false;

	if (d->mig_flags & MSV_MIGRATION_PRE_COPY) {
		if (d->device_state == MS_VFIO_RUNNING) {
			ret = vfio_set_state(d, MS_VFIO_PRE_COPY, MS_VFIO_RUNNING, err);
			if (ret) {
				set_error("%s", err);
				return ret;
			}
			vfio_query_precopy_size(d);
		} else if (d->device_state != MS_VFIO_STOP) {
			set_error("%s: Invalid device state %u", d->name, d->device_state);
			return -EINVAL;
		}
	}
	d->save_setup_ts = trace_vfio_save_setup(d->name, d->data_buffer_size);
	wr_be64(S.wr, MS_VFIO_MIG_FLAG_END_OF_STATE);
	return S.wr->err;
}

static int vfio_save_iterate(struct ms_dev *d)
{
	ssize_t n;
	uint64_t ts;

	if (!d->event_save_iterate_started) {
		trace_vfio_save_iterate_start(d->name);
		d->event_save_iterate_started = true;
	}
	n = vfio_save_block(d);
	if (n < 0)
		return (int)n;
	vfio_update_estimated_pending_data(d, (uint64_t)n);
	if (cfg.ack && !d->precopy_init_size && !d->initial_data_sent) {
		wr_be64(S.wr, MS_VFIO_MIG_FLAG_DEV_INIT_DATA_SENT);
		d->initial_data_sent = true;
	} else {
		wr_be64(S.wr, MS_VFIO_MIG_FLAG_END_OF_STATE);
	}
	ts = trace_vfio_save_iterate(d->name, d->precopy_init_size, d->precopy_dirty_size);
	if (!d->precopy_init_size && !d->init_zero_ts)
		d->init_zero_ts = ts;
	return !d->precopy_init_size && !d->precopy_dirty_size;
}

static int vfio_save_complete_precopy(struct ms_dev *d)
{
	char err[MS_ERR_LEN] = "";
	ssize_t n;
	int ret;

	/* the save thread moves the data and the config */
	if (cfg.multifd) {
		wr_be64(S.wr, MS_VFIO_MIG_FLAG_END_OF_STATE);
		return S.wr->err;
	}
	trace_vfio_save_complete_precopy_start(d->name);
	/* we get here in STOP or STOP_COPY only */
	ret = vfio_set_state(d, MS_VFIO_STOP_COPY, MS_VFIO_STOP, err);
	if (ret) {
		set_error("%s", err);
		return ret;
	}
	do {
		n = vfio_save_block(d);
		if (n < 0) {
			set_error("%s: failed to read device state: %s", d->name,
				  strerror((int)-n));
			return (int)n;
		}
	} while (n);
	wr_be64(S.wr, MS_VFIO_MIG_FLAG_END_OF_STATE);
	ret = S.wr->err;
	trace_vfio_save_complete_precopy(d->name, ret);
	return ret;
}

/* vfio_save_state() -> vfio_save_device_config_state() */
static void vfio_save_state(struct ms_dev *d)
{
	uint8_t config[VFIO_CONFIG_BYTES];

	if (cfg.multifd) {
		wr_be64(S.wr, MS_VFIO_MIG_FLAG_END_OF_STATE);
		return;
	}
	wr_be64(S.wr, MS_VFIO_MIG_FLAG_DEV_CONFIG_STATE);
	memset(config, 0, sizeof(config));
	config[0] = 0xb3; /* a vendor ID, for show */
	config[1] = 0x15;
	wr_be32(S.wr, sizeof(config));
	wr_buf(S.wr, config, sizeof(config));
	wr_be64(S.wr, MS_VFIO_MIG_FLAG_END_OF_STATE);
	trace_vfio_save_device_config_state(d->name);
}

/* vfio_save_cleanup() */
static void vfio_save_cleanup(struct ms_dev *d)
{
	char err[MS_ERR_LEN] = "";

	/* STOP_COPY -> STOP can take time: after the migration, not in downtime */
	if (d->device_state == MS_VFIO_STOP_COPY) {
		if (vfio_set_state(d, MS_VFIO_STOP, MS_VFIO_ERROR, err))
			fprintf(stderr, "migsim: %s\n", err);
	}
	free(d->data_buffer);
	d->data_buffer = NULL;
	d->precopy_init_size = 0;
	d->precopy_dirty_size = 0;
	d->initial_data_sent = false;
	if (d->data_fd >= 0)
		close(d->data_fd);
	d->data_fd = -1;
	trace_vfio_save_cleanup(d->name);
}

/* ---------------------------------------------------------------------- */
/* savevm.c */

static int savevm_state_setup(void)
{
	int ret = ram_save_setup();

	for (int i = 0; !ret && i < S.ndev; i++) {
		struct ms_dev *d = &S.dev[i];

		section_header(QEMU_VM_SECTION_START, d->section_id, d->idstr);
		ret = vfio_save_setup(d);
		section_footer(d->section_id);
	}
	if (!ret)
		ret = wr_flush(S.wr);
	if (ret && !has_error())
		set_error("save setup failed: %s", strerror(-ret));
	return ret;
}

/* qemu_savevm_state_pending_estimate() + the trace in the caller */
static uint64_t pending_estimate(void)
{
	uint64_t must = S.ram_dirty;

	for (int i = 0; i < S.ndev; i++) {
		struct ms_dev *d = &S.dev[i];

		if (!vfio_state_is_precopy(d))
			continue;
		must += d->precopy_init_size + d->precopy_dirty_size;
		trace_vfio_state_pending_estimate(d->name, must, 0, d->precopy_init_size,
						  d->precopy_dirty_size);
	}
	trace_migrate_pending_estimate(must, must, 0);
	S.last_pending = must;
	return must;
}

static uint64_t pending_exact(uint64_t *ts)
{
	uint64_t must;

	ram_bitmap_sync();
	must = S.ram_dirty;
	for (int i = 0; i < S.ndev; i++) {
		struct ms_dev *d = &S.dev[i];
		uint64_t stop_copy_size = VFIO_MIG_STOP_COPY_SIZE;

		/* on failure QEMU counts 100 GiB, and so does the probe */
		vfio_query_stop_copy_size(d, &stop_copy_size);
		d->stopcopy_known = true;
		d->stopcopy_size = stop_copy_size;
		must += stop_copy_size;
		if (vfio_state_is_precopy(d))
			vfio_query_precopy_size(d);
		trace_vfio_state_pending_exact(d->name, must, 0, stop_copy_size,
					       d->precopy_init_size, d->precopy_dirty_size);
	}
	*ts = trace_migrate_pending_exact(must, must, 0);
	return must;
}

/* qemu_savevm_state_iterate() */
static int savevm_state_iterate(void)
{
	int ret;

	if (rate_exceeded())
		return 0;
	section_header(QEMU_VM_SECTION_PART, SE_RAM, "ram");
	ret = ram_save_iterate();
	section_footer(SE_RAM);
	if (ret < 0)
		goto fail;
	for (int i = 0; i < S.ndev; i++) {
		struct ms_dev *d = &S.dev[i];

		if (!vfio_state_is_precopy(d))
			continue;
		if (rate_exceeded())
			break;
		section_header(QEMU_VM_SECTION_PART, d->section_id, d->idstr);
		ret = vfio_save_iterate(d);
		section_footer(d->section_id);
		if (ret < 0) {
			set_error("failed to save SaveStateEntry with id(name): %u(%s): %d",
				  d->section_id, d->idstr, ret);
			goto fail;
		}
	}
	return wr_flush(S.wr);
fail:
	file_set_error(ret);
	return ret;
}

static int64_t us_since(uint64_t t0)
{
	return (int64_t)((ms_now() - t0) / 1000);
}

/* multifd_device_state_save_thread_should_exit() */
static bool save_thread_should_exit(void)
{
	return get_state() == MIG_CANCELLING || has_error();
}

static int complete_precopy_iterable(void)
{
	char err[MS_ERR_LEN] = "";
	uint64_t t0;
	int ret;

	if (cfg.multifd && S.ndev &&
	    mf_save_start(S.dev, S.ndev, S.mf_sock, save_thread_should_exit, err)) {
		set_error("%s", err);
		ret = -EAGAIN;
		goto fail_join;
	}
	t0 = ms_now();
	section_header(QEMU_VM_SECTION_END, SE_RAM, "ram");
	ret = ram_save_complete();
	section_footer(SE_RAM);
	if (ret < 0)
		goto fail_join;
	trace_vmstate_downtime_save("iterable", "ram", 0, us_since(t0));

	for (int i = 0; i < S.ndev; i++) {
		struct ms_dev *d = &S.dev[i];
		int64_t us;

		t0 = ms_now();
		section_header(QEMU_VM_SECTION_END, d->section_id, d->idstr);
		ret = vfio_save_complete_precopy(d);
		section_footer(d->section_id);
		if (!ret)
			ret = wr_flush(S.wr);
		if (ret < 0) {
			file_set_error(ret);
			goto fail_join;
		}
		us = us_since(t0);
		if (!cfg.multifd) /* else the save thread's time */
			d->save_us += us;
		trace_vmstate_downtime_save("iterable", d->idstr, 0, us);
	}
	if (cfg.multifd && mf_save_join(err)) {
		set_error("%s", err);
		file_set_error(-EINVAL);
		return -EINVAL;
	}
	S.t_iter_saved = trace_vmstate_downtime_checkpoint("src-iterable-saved");
	return 0;
fail_join:
	if (cfg.multifd)
		mf_save_join(err);
	return ret;
}

static int complete_precopy_non_iterable(void)
{
	uint8_t cpu[CPU_STATE_BYTES];
	uint64_t t0;

	/* "ram" has no device state: QEMU still times it */
	t0 = ms_now();
	trace_vmstate_downtime_save("non-iterable", "ram", 0, us_since(t0));

	t0 = ms_now();
	memset(cpu, 0x42, sizeof(cpu));
	section_header(QEMU_VM_SECTION_FULL, SE_CPU, "cpu");
	wr_be32(S.wr, sizeof(cpu));
	wr_buf(S.wr, cpu, sizeof(cpu));
	section_footer(SE_CPU);
	trace_vmstate_downtime_save("non-iterable", "cpu", 0, us_since(t0));

	for (int i = 0; i < S.ndev; i++) {
		struct ms_dev *d = &S.dev[i];
		int64_t us;

		t0 = ms_now();
		section_header(QEMU_VM_SECTION_FULL, d->section_id, d->idstr);
		vfio_save_state(d);
		section_footer(d->section_id);
		us = us_since(t0);
		if (!cfg.multifd)
			d->save_us += us;
		trace_vmstate_downtime_save("non-iterable", d->idstr, 0, us);
	}
	wr_u8(S.wr, QEMU_VM_EOF);
	S.t_noniter_saved = trace_vmstate_downtime_checkpoint("src-non-iterable-saved");
	return wr_flush(S.wr);
}

/* ---------------------------------------------------------------------- */
/* the return path (migration.c source_return_path_thread) */

static void *rp_thread_fn(void *arg)
{
	struct ms_rd *r = malloc(sizeof(*r));
	char err[MS_ERR_LEN] = "";
	uint8_t buf[512];

	(void)arg;
	pthread_setname_np(pthread_self(), "mig/src/return");
	trace_source_return_path_thread_entry();
	if (!r) {
		snprintf(err, sizeof(err), "return path: out of memory");
		goto out;
	}
	rd_init(r, S.sock, -1);
	while (migration_is_running()) {
		uint16_t type = rd_be16(r);
		uint16_t len = rd_be16(r);
		uint32_t val;

		if (r->err) {
			snprintf(err, sizeof(err), "Failed reading return path: %s",
				 rd_strerror(r));
			goto out;
		}
		if (type >= MIG_RP_MSG_MAX || !type) {
			snprintf(err, sizeof(err), "Received invalid message 0x%04x length 0x%04x",
				 type, len);
			goto out;
		}
		if (len > sizeof(buf) ||
		    ((type == MIG_RP_MSG_SHUT || type == MIG_RP_MSG_PONG) && len != 4) ||
		    (type == MIG_RP_MSG_SWITCHOVER_ACK && len)) {
			snprintf(err, sizeof(err),
				 "Received message 0x%04x with incorrect length %d", type, len);
			goto out;
		}
		if (rd_buf(r, buf, len)) {
			snprintf(err, sizeof(err), "Failed reading data for message 0x%04x: %s",
				 type, rd_strerror(r));
			goto out;
		}
		switch (type) {
		case MIG_RP_MSG_SHUT:
			val = (uint32_t)buf[0] << 24 | buf[1] << 16 | buf[2] << 8 | buf[3];
			trace_source_return_path_thread_shut(val);
			if (val)
				snprintf(err, sizeof(err), "Sibling indicated error %u", val);
			goto out;
		case MIG_RP_MSG_PONG:
			val = (uint32_t)buf[0] << 24 | buf[1] << 16 | buf[2] << 8 | buf[3];
			trace_source_return_path_thread_pong(val);
			break;
		case MIG_RP_MSG_SWITCHOVER_ACK:
			atomic_store(&S.acked, true);
			atomic_store(&S.t_ack, trace_source_return_path_thread_switchover_acked());
			break;
		default: break;
		}
	}
out:
	if (err[0]) {
		set_error("%s", err);
		trace_source_return_path_thread_bad_end();
	}
	trace_source_return_path_thread_end();
	free(r);
	pthread_mutex_lock(&S.lock);
	S.rp_done = true;
	pthread_cond_broadcast(&S.cond);
	pthread_mutex_unlock(&S.lock);
	return NULL;
}

/*
 * close_return_path_on_source(): on success the destination's SHUT ends the
 * thread; on error, or when no SHUT comes in time, shut the socket down.
 * Returns true on error.
 */
static bool close_return_path_on_source(void)
{
	struct timespec until;
	bool timed_out = false;

	if (!S.rp_thread_created)
		return false;
	if (has_error() && S.sock >= 0)
		shutdown(S.sock, SHUT_RDWR);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += cfg.timeout_s;
	pthread_mutex_lock(&S.lock);
	while (!S.rp_done) {
		if (pthread_cond_timedwait(&S.cond, &S.lock, &until) == ETIMEDOUT) {
			timed_out = true;
			break;
		}
	}
	pthread_mutex_unlock(&S.lock);
	if (timed_out) {
		set_error(
		    "timed out after %d s waiting for the destination's SHUT on the return path",
		    cfg.timeout_s);
		shutdown(S.sock, SHUT_RDWR);
	}
	pthread_join(S.rp_thread, NULL);
	S.rp_thread_created = false;
	return has_error();
}

/* ---------------------------------------------------------------------- */
/* the migration thread */

static void update_iteration_initial_status(uint64_t ms)
{
	S.iteration_start_ms = ms;
	S.iteration_initial_bytes = S.wr->total;
}

static void storm(void)
{
	uint64_t t0, t1, p = S.last_pending;
	bool enabled = QEMU_MIGRATE_PENDING_ESTIMATE_ENABLED();
	struct jw w;

	S.storm_done = true;
	t0 = ms_now();
	for (uint64_t i = 0; i < cfg.storm; i++) {
		if (QEMU_MIGRATE_PENDING_ESTIMATE_ENABLED())
			QEMU_MIGRATE_PENDING_ESTIMATE(p, p, 0);
	}
	t1 = ms_now();
	if (!mslog_enabled())
		return;
	/* one record for the burst, not cfg.storm lines */
	jw_line_begin(&w, t0);
	jw_key(&w, "storm");
	jw_obj_begin(&w);
	jw_key(&w, "probe");
	jw_str(&w, "migrate_pending_estimate");
	jw_key(&w, "count");
	jw_u64(&w, cfg.storm);
	jw_key(&w, "args");
	jw_arr_begin(&w);
	jw_u64(&w, p);
	jw_u64(&w, p);
	jw_u64(&w, 0);
	jw_arr_end(&w);
	jw_key(&w, "semaphore_enabled");
	jw_bool(&w, enabled);
	jw_key(&w, "ts_end");
	jw_u64(&w, t1);
	jw_obj_end(&w);
	jw_line_emit(&w);
}

/* migration_update_counters() */
static void update_counters(uint64_t now)
{
	uint64_t transferred, time_spent;
	double bandwidth;

	if (now < S.iteration_start_ms + BUFFER_DELAY_MS)
		return;
	transferred = S.wr->total - S.iteration_initial_bytes;
	time_spent = now - S.iteration_start_ms;
	bandwidth = (double)transferred / (double)time_spent;
	S.threshold = (uint64_t)(bandwidth * (double)cfg.downtime_limit_ms);
	S.wr->rate_used = 0;
	update_iteration_initial_status(now);
	trace_migrate_transferred(transferred, time_spent, (uint64_t)bandwidth, 0, S.threshold);
	if (cfg.storm && !S.storm_done && get_state() == MIG_ACTIVE)
		storm();
}

/* migration_rate_limit() */
static void rate_limit(void)
{
	uint64_t now = now_ms();

	update_counters(now);
	if (rate_exceeded()) {
		if (S.wr->err)
			return;
		if (S.iteration_start_ms + BUFFER_DELAY_MS > now)
			ms_msleep((unsigned int)(S.iteration_start_ms + BUFFER_DELAY_MS - now));
	}
}

/* migration_stop_vm() */
static int migration_stop_vm(int state)
{
	char err[MS_ERR_LEN] = "";
	int ret = 0;

	__atomic_store_n(&S.t_dt_start, trace_vmstate_downtime_checkpoint("src-downtime-start"),
			 __ATOMIC_RELEASE);
	S.vm_old_state = S.runstate;
	/* vm_stop_force_state() -> do_vm_stop() */
	if (S.runstate == RS_RUNNING) {
		runstate_set(state);
		if (vfio_vm_state_notify(S.dev, S.ndev, false, state, err)) {
			/* migration_file_set_error() */
			set_error("%s", err);
			file_set_error(-EIO);
		}
	} else {
		runstate_set(state);
	}
	S.t_vm_stopped = trace_vmstate_downtime_checkpoint("src-vm-stopped");
	trace_migration_completion_vm_stop(ret);
	return ret;
}

/* migration_completion_precopy() */
static int migration_completion_precopy(void)
{
	int ret = migration_stop_vm(RS_FINISH_MIGRATE);

	if (ret < 0)
		return ret;
	if (phase(PH_VM_STOPPED, false))
		return -ECANCELED;
	/* migration_switchover_start() */
	S.rate_limit_max = 0;
#if MIGSIM_QEMU >= 100
	trace_migration_precopy_complete(); /* precopy_notify_complete() */
	trace_savevm_send_switchover_start();
	send_command(MIG_CMD_SWITCHOVER_START, 0, NULL);
#endif

	ret = complete_precopy_iterable();
	if (ret)
		return ret;
	if (phase(PH_ITERABLE_SAVED, false))
		return -ECANCELED;
	ret = complete_precopy_non_iterable();
	if (ret)
		return ret;
	if (phase(PH_NON_ITERABLE_SAVED, false))
		return -ECANCELED;
	return 0;
}

static void migration_completion(void)
{
	int ret = migration_completion_precopy();

	if (ret < 0)
		goto fail;
	if (close_return_path_on_source())
		goto fail;
	if (S.wr->err)
		goto fail;
	/* migration_completion_end() */
	S.t_dt_end = trace_vmstate_downtime_checkpoint("src-downtime-end");
	set_state(MIG_ACTIVE, MIG_COMPLETED);
	return;
fail:
	if (get_state() == MIG_CANCELLING)
		return;
	if (S.wr->err && !has_error())
		set_error("Unable to write to socket: %s", strerror(-S.wr->err));
	else if (ret && !has_error())
		set_error("Error in migration completion: %s", strerror(-ret));
	set_failed();
}

/* migration_can_switchover() */
static bool can_switchover(void)
{
	if (!cfg.ack)
		return true;
	if (S.runstate != RS_RUNNING)
		return true;
	return atomic_load(&S.acked);
}

/* migration_iteration_run() */
static int iteration_run(void)
{
	bool switchover_ok = can_switchover();
	uint64_t pending, ts;

	S.iterations++;
	if (cfg.ack && !S.acked_seen && atomic_load(&S.acked)) {
		S.acked_seen = true;
		if (phase(PH_ACKED, false))
			goto fail;
	}

	pending = pending_estimate();
	if (pending < S.threshold) {
		pending = pending_exact(&ts);
		if (!S.precopy_seen) {
			S.precopy_seen = true;
			if (phase(PH_PRECOPY, false))
				goto fail;
		}
		if (pending < S.threshold && !S.ready_seen) {
			S.ready_seen = true;
			S.t_ready = ts;
			if (phase(PH_READY, false))
				goto fail;
		}
	}

	if ((!pending || pending < S.threshold) && !switchover_ok)
		S.held_back = true;
	if ((!pending || pending < S.threshold) && switchover_ok) {
		S.t_low_pending = trace_migration_thread_low_pending(pending);
		if (phase(PH_SWITCHOVER, false))
			goto fail;
		migration_completion();
		return ITER_BREAK;
	}

	S.payload_this_iter = 0;
	savevm_state_iterate();
	/*
	 * QEMU spins here when there is nothing to send (waiting for the ACK,
	 * say); a millisecond of rest keeps migsim's event rate sane.
	 */
	if (!S.payload_this_iter && !S.wr->err)
		ms_msleep(1);
	return ITER_RESUME;
fail:
	set_failed();
	return ITER_BREAK;
}

/* migration_detect_error(): cancels and stream errors end the loop */
static bool detect_error(void)
{
	int st = get_state();

	if (st == MIG_CANCELLING || st == MIG_CANCELLED)
		return true;
	if (!S.wr->err)
		return false;
	if (!has_error())
		set_error("Unable to write to socket: %s", strerror(-S.wr->err));
	set_state(st, MIG_FAILED);
	return true;
}

/* migration_iteration_finish() */
static void iteration_finish(void)
{
	char err[MS_ERR_LEN] = "";

	switch (get_state()) {
	case MIG_COMPLETED: runstate_set(RS_POSTMIGRATE); break;
	default:
		/* failed or cancelled: give the guest its VM back */
		if (S.vm_old_state == RS_RUNNING && S.runstate != RS_RUNNING) {
			runstate_set(RS_RUNNING);
			if (vfio_vm_state_notify(S.dev, S.ndev, true, RS_RUNNING, err))
				fprintf(stderr, "migsim: %s\n", err);
		}
		break;
	}
}

static void *migration_thread_fn(void *arg)
{
	uint32_t one = htonl(1);
	int ret;

	(void)arg;
	pthread_setname_np(pthread_self(), "mig/src/main");
	update_iteration_initial_status(now_ms());

	/* qemu_savevm_state_header() */
	wr_be32(S.wr, QEMU_VM_FILE_MAGIC);
	wr_be32(S.wr, QEMU_VM_FILE_VERSION);
	if (S.rp_thread_created) {
		trace_savevm_send_open_return_path();
		send_command(MIG_CMD_OPEN_RETURN_PATH, 0, NULL);
		trace_savevm_send_ping(1);
		send_command(MIG_CMD_PING, sizeof(one), &one);
	}
	wr_flush(S.wr);

	ret = savevm_state_setup();
	if (!ret && phase(PH_SAVE_SETUP, false))
		ret = -ECANCELED;
	/* qemu_savevm_wait_unplug(): setup -> active, even when setup failed */
	set_state(MIG_SETUP, MIG_ACTIVE);
	if (ret) {
		set_failed();
		goto out;
	}
	trace_migration_thread_setup_complete();
	if (phase(PH_ACTIVE, false)) {
		set_failed();
		goto out;
	}

	while (get_state() == MIG_ACTIVE) {
		if (!rate_exceeded() && iteration_run() == ITER_BREAK)
			break;
		if (detect_error())
			break;
		rate_limit();
	}
out:
	iteration_finish();
	pthread_mutex_lock(&S.lock);
	S.mig_done = true;
	pthread_cond_broadcast(&S.cond);
	pthread_mutex_unlock(&S.lock);
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* the main thread */

/* migration_cleanup(), a bottom half in QEMU */
static void migration_cleanup(void)
{
	char err[MS_ERR_LEN] = "";
	int type;

	if (get_state() != MIG_COMPLETED && S.sock >= 0)
		shutdown(S.sock, SHUT_RDWR);
	/* qemu_savevm_state_cleanup(): ram_save_cleanup(), then the devices */
	vfio_dma_logging_stop(S.dev, S.ndev);
	if (S.mig_thread_created)
		for (int i = 0; i < S.ndev; i++)
			vfio_save_cleanup(&S.dev[i]);
	close_return_path_on_source();
	if (S.mig_thread_created) {
		pthread_join(S.mig_thread, NULL);
		S.mig_thread_created = false;
	}
	if (S.sock >= 0) {
		close(S.sock);
		S.sock = -1;
	}
	if (S.mf_sock >= 0) {
		close(S.mf_sock);
		S.mf_sock = -1;
	}
	if (get_state() == MIG_CANCELLING)
		set_state(MIG_CANCELLING, MIG_CANCELLED);
	type = get_state() == MIG_COMPLETED ? MIG_EVENT_PRECOPY_DONE : MIG_EVENT_PRECOPY_FAILED;
	for (int i = 0; i < S.ndev; i++) {
		struct ms_dev *d = &S.dev[i];

		trace_vfio_migration_state_notifier(d->name, type);
		if (type == MIG_EVENT_PRECOPY_FAILED &&
		    vfio_set_state(d, MS_VFIO_RUNNING, MS_VFIO_ERROR, err))
			fprintf(stderr, "migsim: %s\n", err);
	}
}

static int pick_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int port = -1;

	if (fd < 0)
		return -1;
	if (!bind(fd, (struct sockaddr *)&sa, sizeof(sa)) &&
	    !getsockname(fd, (struct sockaddr *)&sa, &sl))
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static void add_arg(char **argv, int *argc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add_arg(char **argv, int *argc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&argv[*argc], fmt, ap) < 0)
		argv[*argc] = NULL;
	else
		(*argc)++;
	va_end(ap);
}

static void dev_list(char *buf, size_t len, int what)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < cfg.ndev && off < len; i++) {
		uint64_t v = what == 0	 ? cfg.dev[i].init_bytes
			     : what == 1 ? cfg.dev[i].dirty_rate
					 : cfg.dev[i].stopcopy_bytes;

		off += (size_t)snprintf(buf + off, len - off, "%s%" PRIu64, i ? "," : "", v);
	}
	if (!cfg.ndev)
		snprintf(buf, len, "0");
}

/* Read one status line from the destination, waiting up to timeout_ms. */
static int read_status(char *line, size_t len, int timeout_ms)
{
	size_t n = 0;
	uint64_t deadline = ms_now() + (uint64_t)timeout_ms * 1000000ull;

	while (n + 1 < len) {
		struct pollfd pfd = {.fd = S.dst_status, .events = POLLIN};
		uint64_t now = ms_now();
		ssize_t k;
		int ret;

		if (now >= deadline)
			return -ETIMEDOUT;
		ret = poll(&pfd, 1, (int)((deadline - now) / 1000000ull) + 1);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0)
			continue;
		k = read(S.dst_status, line + n, 1);
		if (k <= 0)
			return n ? 0 : -EPIPE;
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	return 0;
}

/* Start the destination, same binary, with -incoming; wait until it listens. */
static int spawn_destination(int *port_out, char *err)
{
	char inits[512], rates[512], stops[512], line[MS_ERR_LEN + 8];
	int attempts = cfg.port ? 1 : 8;

	dev_list(inits, sizeof(inits), 0);
	dev_list(rates, sizeof(rates), 1);
	dev_list(stops, sizeof(stops), 2);
	for (int a = 0; a < attempts; a++) {
		char *argv[64] = {0};
		int argc = 0, p[2], port = cfg.port ? cfg.port : pick_port();
		pid_t pid;

		if (port <= 0) {
			ms_errf(err, "cannot find a free TCP port on 127.0.0.1");
			return -1;
		}
		if (pipe2(p, O_CLOEXEC)) {
			ms_errf(err, "pipe: %s", strerror(errno));
			return -1;
		}
		add_arg(argv, &argc, "%s", cfg.self);
		add_arg(argv, &argc, "--role=dst");
		add_arg(argv, &argc, "-name");
		add_arg(argv, &argc, "guest=%s", cfg.vm);
		add_arg(argv, &argc, "-uuid");
		add_arg(argv, &argc, "%s", cfg.uuid);
		add_arg(argv, &argc, "-incoming");
		add_arg(argv, &argc, "tcp:127.0.0.1:%d", port);
		add_arg(argv, &argc, "--status-fd=%d", p[1]);
		add_arg(argv, &argc, "--devices=%d", cfg.ndev);
		add_arg(argv, &argc, "--dev-init=%s", inits);
		add_arg(argv, &argc, "--dev-dirty-rate=%s", rates);
		add_arg(argv, &argc, "--dev-stopcopy=%s", stops);
		add_arg(argv, &argc, "--ram=%" PRIu64, cfg.ram_bytes);
		add_arg(argv, &argc, "--ram-dirty-rate=%" PRIu64, cfg.ram_dirty_rate);
		add_arg(argv, &argc, "--bandwidth=%" PRIu64, cfg.bandwidth);
		add_arg(argv, &argc, "--downtime-limit=%" PRIu64, cfg.downtime_limit_ms);
		add_arg(argv, &argc, "--approval-delay=%" PRIu64, cfg.approval_delay_ms);
		add_arg(argv, &argc, "--ack=%s", cfg.ack ? "on" : "off");
		if (cfg.multifd)
			add_arg(argv, &argc, "--multifd");
		add_arg(argv, &argc, "--timeout=%d", cfg.timeout_s);
		add_arg(argv, &argc, "--startup-delay=%" PRIu64, cfg.startup_delay_ms);
		if (cfg.fail_at >= PH_FIRST_DST)
			add_arg(argv, &argc, "--fail-at=%s", ms_phase_names[cfg.fail_at]);
		if (cfg.log_path)
			add_arg(argv, &argc, "--log=%s", cfg.log_path);
		if (cfg.vfiofs_path)
			add_arg(argv, &argc, "--vfiofs=%s", cfg.vfiofs_path);

		pid = fork();
		if (pid < 0) {
			ms_errf(err, "fork: %s", strerror(errno));
			return -1;
		}
		if (!pid) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			fcntl(p[1], F_SETFD, 0);
			execv(cfg.self, argv);
			_exit(127);
		}
		for (int i = 0; i < argc; i++)
			free(argv[i]);
		close(p[1]);
		S.dst_pid = pid;
		S.dst_status = p[0];
		if (read_status(line, sizeof(line),
				cfg.timeout_s * 1000 + (int)cfg.startup_delay_ms) == 0 &&
		    line[0] == 'L') {
			*port_out = port;
			return 0;
		}
		waitpid(pid, &S.dst_exit, 0);
		S.dst_pid = 0;
		close(S.dst_status);
		S.dst_status = -1;
		if (line[0] == 'B' && !cfg.port)
			continue; /* the port went to someone else: try another */
		ms_errf(err, "destination did not start: %s",
			line[0] == 'E' || line[0] == 'B' ? line + 2 : "no answer");
		return -1;
	}
	ms_errf(err, "destination could not listen on any port tried");
	return -1;
}

/* Wait for the destination to exit (it should, promptly); collect its error. */
static void reap_destination(void)
{
	uint64_t deadline = ms_now() + (uint64_t)(cfg.timeout_s + 5) * 1000000000ull;
	char line[MS_ERR_LEN + 8];

	if (S.dst_pid <= 0)
		return;
	for (;;) {
		pid_t r = waitpid(S.dst_pid, &S.dst_exit, WNOHANG);

		if (r == S.dst_pid)
			break;
		if (r < 0 && errno != EINTR)
			break;
		if (ms_now() > deadline) {
			kill(S.dst_pid, SIGKILL);
			waitpid(S.dst_pid, &S.dst_exit, 0);
			snprintf(S.dst_error, sizeof(S.dst_error), "did not exit; killed");
			break;
		}
		ms_msleep(5);
	}
	S.dst_reaped = true;
	while (S.dst_status >= 0 && read_status(line, sizeof(line), 100) == 0) {
		if (line[0] == 'E' && !S.dst_error[0])
			snprintf(S.dst_error, sizeof(S.dst_error), "%.200s", line + 2);
	}
	if (WIFSIGNALED(S.dst_exit) && !S.dst_error[0])
		snprintf(S.dst_error, sizeof(S.dst_error), "killed by signal %d",
			 WTERMSIG(S.dst_exit));
	else if (WIFEXITED(S.dst_exit) && WEXITSTATUS(S.dst_exit) && !S.dst_error[0])
		snprintf(S.dst_error, sizeof(S.dst_error), "exited with status %d",
			 WEXITSTATUS(S.dst_exit));
}

static bool dst_ok(void)
{
	return S.dst_reaped && WIFEXITED(S.dst_exit) && WEXITSTATUS(S.dst_exit) == 0;
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

static const char *result_name(void)
{
	switch (get_state()) {
	case MIG_COMPLETED: return "completed";
	case MIG_FAILED: return "failed";
	case MIG_CANCELLED: return "cancelled";
	}
	return "aborted";
}

/*
 * ACK wait (docs/figures.md): time ready but not yet acked; 0 if the ACK
 * came first or the source never got ready. Without an ACK: until the
 * switchover decision or the end, if the missing ACK held the source back.
 */
static bool ack_wait_ns(uint64_t *out)
{
	uint64_t t_ack = atomic_load(&S.t_ack), until;

	if (!cfg.ack)
		return false;
	if (t_ack) {
		*out = S.t_ready && t_ack > S.t_ready ? t_ack - S.t_ready : 0;
		return true;
	}
	until = S.t_low_pending ? S.t_low_pending : S.t_terminal;
	if (S.t_ready && S.held_back && until) {
		*out = until - S.t_ready;
		return true;
	}
	return false;
}

static void summary(struct jw *w)
{
	uint64_t t_ack = atomic_load(&S.t_ack), wait;

	jw_init(w);
	jw_obj_begin(w);
	jw_key(w, "summary");
	jw_obj_begin(w);
	jw_key(w, "role");
	jw_str(w, "source");
	jw_key(w, "pid");
	jw_i64(w, getpid());
	jw_key(w, "vm");
	jw_str(w, cfg.vm);
	jw_key(w, "uuid");
	jw_str(w, cfg.uuid);
	jw_key(w, "result");
	jw_str(w, result_name());
	jw_key(w, "error");
	jw_str(w, S.has_error ? S.error : NULL);
	jw_key(w, "switchover_ack");
	jw_bool(w, cfg.ack);
	jw_ms_or_null(w, "total_ms", S.t_setup, S.t_terminal);
	jw_ms_or_null(w, "downtime_ms", S.t_dt_start, S.t_dt_end);
	jw_ms_or_null(w, "precopy_ms", S.t_active, S.t_dt_start);
	jw_ms_or_null(w, "ack_latency_ms", cfg.ack ? S.t_active : 0, t_ack);
	jw_key(w, "ack_wait_ms");
	if (ack_wait_ns(&wait))
		jw_ms(w, (int64_t)wait);
	else
		jw_null(w);
	jw_key(w, "precopy_passes");
	jw_u64(w, S.syncs_before_downtime);
	jw_key(w, "iterations");
	jw_u64(w, S.iterations);
	jw_key(w, "transferred_bytes");
	jw_u64(w, S.wr ? S.wr->total : 0);
	jw_key(w, "milestones");
	jw_obj_begin(w);
	jw_ts(w, "setup", S.t_setup);
	jw_ts(w, "active", S.t_active);
	jw_ts(w, "return_path_open", S.t_rp_open);
	jw_ts(w, "ack_received", t_ack);
	jw_ts(w, "ready", S.t_ready);
	jw_ts(w, "low_pending", S.t_low_pending);
	jw_ts(w, "src-downtime-start", S.t_dt_start);
	jw_ts(w, "src-vm-stopped", S.t_vm_stopped);
	jw_ts(w, "src-iterable-saved", S.t_iter_saved);
	jw_ts(w, "src-non-iterable-saved", S.t_noniter_saved);
	jw_ts(w, "src-downtime-end", S.t_dt_end);
	jw_ts(w, "terminal", S.t_terminal);
	jw_obj_end(w);
	jw_key(w, "devices");
	jw_arr_begin(w);
	for (int i = 0; i < S.ndev; i++) {
		struct ms_dev *d = &S.dev[i];

		jw_obj_begin(w);
		jw_key(w, "name");
		jw_str(w, d->name);
		jw_key(w, "idstr");
		jw_str(w, d->idstr);
		jw_key(w, "initial_bytes");
		if (d->initial_known)
			jw_u64(w, d->initial_bytes);
		else
			jw_null(w);
		/* drained before vfio_save_setup fired (no initial data): 0 */
		if (d->initial_known && !d->initial_bytes && d->save_setup_ts) {
			jw_key(w, "init_drain_ms");
			jw_ms(w, 0);
		} else {
			jw_ms_or_null(w, "init_drain_ms", d->save_setup_ts, d->init_zero_ts);
		}
		jw_key(w, "stopcopy_bytes");
		if (d->stopcopy_known)
			jw_u64(w, d->stopcopy_size);
		else
			jw_null(w);
		jw_key(w, "stopcopy_read_bytes");
		if (S.t_dt_start)
			jw_u64(w, d->stopcopy_read);
		else
			jw_null(w);
		jw_key(w, "save_us");
		if (S.t_iter_saved)
			jw_i64(w, d->save_us);
		else
			jw_null(w);
		jw_key(w, "load_us");
		jw_null(w);
		if (cfg.multifd)
			jw_mf_fig(w, S.t_iter_saved ? mf_fig(i) : NULL, false);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
	jw_obj_end(w);
}

static void write_summary(void)
{
	struct jw w;

	summary(&w);
	jw_write_line(&w);
}

static void print_result(void)
{
	uint64_t t_ack = atomic_load(&S.t_ack), wait = 0;
	char kill_note[96] = "";

	if (get_state() == MIG_COMPLETED && dst_ok()) {
		printf(
		    "migsim: migration completed: total %.3f ms, downtime %.3f ms, precopy %.3f ms",
		    (double)(S.t_terminal - S.t_setup) / 1e6,
		    (double)(S.t_dt_end - S.t_dt_start) / 1e6,
		    (double)(S.t_dt_start - S.t_active) / 1e6);
		if (cfg.ack) {
			ack_wait_ns(&wait);
			printf(", ACK latency %.3f ms, ACK wait %.3f ms",
			       (double)(int64_t)(t_ack - S.t_active) / 1e6, (double)wait / 1e6);
		}
		printf(", %" PRIu64 " passes, %d device%s\n", S.syncs_before_downtime, S.ndev,
		       S.ndev == 1 ? "" : "s");
		return;
	}
	if (S.killed_dst_at != PH_NONE)
		snprintf(kill_note, sizeof(kill_note),
			 " (destination killed at %s by --kill-dst-at)",
			 ms_phase_names[S.killed_dst_at]);
	if (get_state() == MIG_CANCELLED && S.converge_cancelled)
		fprintf(stderr, "migsim: migration cancelled: %s\n", S.error);
	else if (get_state() == MIG_CANCELLED)
		fprintf(stderr, "migsim: migration cancelled%s%s%s%s\n",
			S.cancelled_by_request ? " at " : "",
			S.cancelled_by_request ? ms_phase_names[cfg.cancel_at] : "",
			S.cancelled_by_request ? " (--cancel-at)" : "", kill_note);
	else if (get_state() == MIG_COMPLETED)
		fprintf(stderr,
			"migsim: migration failed: source completed but the destination %s\n",
			S.dst_error[0] ? S.dst_error : "failed");
	else
		fprintf(stderr, "migsim: migration failed: %s%s%s%s\n",
			S.has_error ? S.error : "unknown error", kill_note,
			S.dst_error[0] && S.killed_dst_at == PH_NONE ? "; destination: " : "",
			S.dst_error[0] && S.killed_dst_at == PH_NONE ? S.dst_error : "");
}

int ms_source_main(void)
{
	struct timespec deadline;
	char err[MS_ERR_LEN] = "";
	int port = 0, ret;

	mslog_role = "source";
	signal(SIGPIPE, SIG_IGN);
	atomic_init(&S.state, MIG_NONE);
	S.wr = calloc(1, sizeof(*S.wr));
	S.ram_buf = malloc(RAM_CHUNK);
	if (!S.wr || !S.ram_buf) {
		fprintf(stderr, "migsim: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < RAM_CHUNK; i++)
		S.ram_buf[i] = (uint8_t)(i * 7 + (i >> 12));
	wr_init(S.wr, -1);

	ms_startup();
	/* devices: realize, as QEMU does at startup */
	S.ndev = cfg.ndev;
	if (S.ndev) {
		for (int i = 0; i < S.ndev; i++)
			vfio_dev_init(&S.dev[i], i, NULL);
		if (ms_vfiofs_start(&S.fs, S.dev, S.ndev, err)) {
			fprintf(stderr, "migsim: %s\n", err);
			return 1;
		}
	}
	for (int i = 0; i < S.ndev; i++) {
		vfio_dev_init(&S.dev[i], i, S.fs.mnt);
		S.dev[i].section_id = SE_DEV0 + (uint32_t)i;
		if (vfio_realize(&S.dev[i], err)) {
			fprintf(stderr, "migsim: %s\n", err);
			ret = 1;
			goto out_devices;
		}
	}
	/* vm_start() of a freshly started guest */
	S.runstate = RS_PRELAUNCH;
	S.vm_old_state = RS_RUNNING;
	runstate_set(RS_RUNNING);
	if (vfio_vm_state_notify(S.dev, S.ndev, true, RS_RUNNING, err)) {
		fprintf(stderr, "migsim: %s\n", err);
		ret = 1;
		goto out_devices;
	}

	if (spawn_destination(&port, err)) {
		fprintf(stderr, "migsim: %s\n", err);
		ret = 1;
		goto out_devices;
	}

	/* the QMP command's dispatch, then qmp_migrate() */
	{
		char json[64];

		snprintf(json, sizeof(json), "{\"uri\": \"tcp:127.0.0.1:%d\"}", port);
		trace_qmp_enter_migrate(json);
	}
	set_state(MIG_NONE, MIG_SETUP);
	if (phase(PH_SETUP, true)) {
		set_failed();
		goto cleanup;
	}
	S.sock = tcp_connect("127.0.0.1", port, cfg.timeout_s * 1000);
	if (S.sock < 0) {
		char msg[MS_ERR_LEN];

		snprintf(msg, sizeof(msg), "Failed to connect to 127.0.0.1:%d: %s", port,
			 strerror(-S.sock));
		trace_migrate_fd_error(msg); /* before 9.1: migrate_fd_error() */
		set_error("%s", msg);
		S.sock = -1;
		set_failed();
		goto cleanup;
	}
	tcp_tune(S.sock, cfg.timeout_s * 1000);
	wr_init(S.wr, S.sock);
	/* multifd_send_setup(): the channel the devices' stop-copy state takes */
	if (cfg.multifd) {
		S.mf_sock = tcp_connect("127.0.0.1", port, cfg.timeout_s * 1000);
		if (S.mf_sock < 0) {
			set_error("multifd: failed to connect to 127.0.0.1:%d: %s", port,
				  strerror(-S.mf_sock));
			S.mf_sock = -1;
			set_failed();
			goto cleanup;
		}
		tcp_tune(S.mf_sock, cfg.timeout_s * 1000);
	}

	/* migration_connect() */
	for (int i = 0; i < S.ndev; i++)
		trace_vfio_migration_state_notifier(S.dev[i].name, MIG_EVENT_PRECOPY_SETUP);
	S.rate_limit_max = cfg.bandwidth / XFER_LIMIT_RATIO;
	S.t_rp_open = trace_open_return_path_on_source();
	if (pthread_create(&S.rp_thread, NULL, rp_thread_fn, NULL)) {
		set_error("Unable to open return-path for postcopy");
		set_failed();
		goto cleanup;
	}
	S.rp_thread_created = true;
	if (pthread_create(&S.mig_thread, NULL, migration_thread_fn, NULL)) {
		set_error("cannot create the migration thread");
		set_failed();
		goto cleanup;
	}
	S.mig_thread_created = true;

	/*
	 * The main loop: QMP until the migration thread is done. A --cancel-at
	 * arrives as a migrate_cancel; so does the management layer's patience
	 * (--converge-timeout) with a precopy that does not converge.
	 */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += cfg.converge_timeout_s;
	pthread_mutex_lock(&S.lock);
	while (!S.mig_done) {
		if (S.cancel_req && !S.cancel_ack) {
			pthread_mutex_unlock(&S.lock);
			migration_cancel();
			pthread_mutex_lock(&S.lock);
			S.cancel_ack = true;
			pthread_cond_broadcast(&S.cond);
			continue;
		}
		if (!cfg.converge_timeout_s || S.converge_cancelled) {
			pthread_cond_wait(&S.cond, &S.lock);
			continue;
		}
		if (pthread_cond_timedwait(&S.cond, &S.lock, &deadline) == ETIMEDOUT &&
		    !S.mig_done && !__atomic_load_n(&S.t_dt_start, __ATOMIC_ACQUIRE)) {
			S.converge_cancelled = true;
			if (!S.has_error) {
				S.has_error = true;
				snprintf(S.error, sizeof(S.error),
					 "no convergence within %d s (--converge-timeout)",
					 cfg.converge_timeout_s);
			}
			pthread_mutex_unlock(&S.lock);
			migration_cancel();
			pthread_mutex_lock(&S.lock);
		}
	}
	pthread_mutex_unlock(&S.lock);

cleanup:
	/* never connected: the destination would wait for nothing */
	if (S.dst_pid > 0 && S.sock < 0)
		kill(S.dst_pid, SIGTERM);
	migration_cleanup();
	reap_destination();
	ret = get_state() == MIG_COMPLETED && dst_ok() ? 0 : 1;
	write_summary();
	print_result();

out_devices:
	for (int i = 0; i < S.ndev; i++)
		vfio_dev_close(&S.dev[i]);
	if (S.ndev)
		ms_vfiofs_stop(&S.fs);
	if (S.dst_pid > 0 && !S.dst_reaped) {
		kill(S.dst_pid, SIGKILL);
		waitpid(S.dst_pid, NULL, 0);
	}
	if (S.dst_status >= 0)
		close(S.dst_status);
	free(S.ram_buf);
	free(S.wr);
	return ret;
}
