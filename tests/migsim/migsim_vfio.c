// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The VFIO side of migsim's QEMU model: the ioctls that hw/vfio/migration.c
 * and hw/vfio/common.c issue, at the same points, with the same argument
 * layouts, on files that migsim-vfiofs serves.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "migsim.h"
#include "migsim_trace.h"
#include "migsim_uapi.h"

#define VFIO_MIG_DEFAULT_DATA_BUFFER_SIZE (1024 * 1024)

/* What one ioctl did, for the log. */
struct ioctl_rec {
	const char *ioctl;
	const struct ms_dev *dev;
	int fd;
	unsigned long cmd;
	bool has_feature;
	uint32_t flags;
	bool has_state;
	uint32_t state;
	bool has_data_fd;
	int32_t data_fd;
	bool has_precopy;
	uint64_t initial_bytes;
	uint64_t dirty_bytes;
	bool has_stopcopy;
	uint64_t stop_copy_bytes;
	int ret;
	uint64_t ts;
	uint64_t dur_ns;
};

static const char *feature_name(uint32_t feature)
{
	switch (feature) {
	case MS_VFIO_FEAT_MIGRATION: return "MIGRATION";
	case MS_VFIO_FEAT_MIG_DEVICE_STATE: return "MIG_DEVICE_STATE";
	case MS_VFIO_FEAT_DMA_LOGGING_START: return "DMA_LOGGING_START";
	case MS_VFIO_FEAT_DMA_LOGGING_STOP: return "DMA_LOGGING_STOP";
	case MS_VFIO_FEAT_DMA_LOGGING_REPORT: return "DMA_LOGGING_REPORT";
	case MS_VFIO_FEAT_MIG_DATA_SIZE: return "MIG_DATA_SIZE";
	}
	return "UNKNOWN";
}

static void ioctl_log(const struct ioctl_rec *r)
{
	struct jw w;
	uint32_t feat = r->flags & MS_VFIO_FEAT_MASK;

	if (!mslog_enabled())
		return;
	/* names where migscope's event dump has names; the numbers beside them */
	jw_line_begin(&w, r->ts);
	jw_key(&w, "ioctl");
	jw_str(&w, r->ioctl);
	jw_key(&w, "cmd");
	jw_u64(&w, r->cmd);
	jw_key(&w, "fd");
	jw_i64(&w, r->fd);
	jw_key(&w, "device");
	jw_str(&w, r->dev->name);
	jw_key(&w, "feature");
	jw_str(&w, r->has_feature ? feature_name(feat) : NULL);
	jw_key(&w, "feature_id");
	if (r->has_feature)
		jw_u64(&w, feat);
	else
		jw_null(&w);
	jw_key(&w, "flags");
	if (r->has_feature)
		jw_u64(&w, r->flags);
	else
		jw_null(&w);
	jw_key(&w, "op");
	if (!r->has_feature)
		jw_null(&w);
	else if (r->flags & MS_VFIO_FEAT_PROBE)
		jw_str(&w, "PROBE");
	else if (r->flags & MS_VFIO_FEAT_SET)
		jw_str(&w, "SET");
	else
		jw_str(&w, "GET");
	jw_key(&w, "state");
	jw_str(&w, r->has_state ? msv_state_name(r->state) : NULL);
	jw_key(&w, "state_id");
	if (r->has_state)
		jw_u64(&w, r->state);
	else
		jw_null(&w);
	jw_key(&w, "data_fd");
	if (r->has_data_fd)
		jw_i64(&w, r->data_fd);
	else
		jw_null(&w);
	jw_key(&w, "initial_bytes");
	if (r->has_precopy)
		jw_u64(&w, r->initial_bytes);
	else
		jw_null(&w);
	jw_key(&w, "dirty_bytes");
	if (r->has_precopy)
		jw_u64(&w, r->dirty_bytes);
	else
		jw_null(&w);
	jw_key(&w, "stop_copy_bytes");
	if (r->has_stopcopy)
		jw_u64(&w, r->stop_copy_bytes);
	else
		jw_null(&w);
	jw_key(&w, "ret");
	jw_i64(&w, r->ret);
	jw_key(&w, "dur_ns");
	jw_u64(&w, r->dur_ns);
	jw_line_emit(&w);
}

/*
 * VFIO_DEVICE_FEATURE with `len` bytes of feature data, copied in and back
 * out like QEMU's on-stack uint64_t buf[]. Returns 0 or -errno.
 */
static int feature_ioctl(struct ms_dev *d, uint32_t flags, void *data, size_t len,
			 struct ioctl_rec *r)
{
	uint64_t buf[8] = {0};
	struct msv_feature *f = (struct msv_feature *)buf;
	size_t argsz = (sizeof(*f) + len + 7) & ~(size_t)7;
	int ret, err = 0;

	f->argsz = (uint32_t)argsz;
	f->flags = flags;
	if (len)
		memcpy(f->data, data, len);
	r->ioctl = "DEVICE_FEATURE";
	r->dev = d;
	r->fd = d->fd;
	r->cmd = MSV_DEVICE_FEATURE;
	r->has_feature = true;
	r->flags = flags;
	r->ts = ms_now();
	ret = ioctl(d->fd, MSV_DEVICE_FEATURE, f);
	if (ret < 0)
		err = errno;
	r->dur_ns = ms_now() - r->ts;
	r->ret = ret < 0 ? -err : ret;
	if (len)
		memcpy(data, f->data, len);
	return r->ret;
}

void vfio_dev_init(struct ms_dev *d, int idx, const char *mnt)
{
	memset(d, 0, sizeof(*d));
	d->idx = idx;
	snprintf(d->name, sizeof(d->name), "0000:00:%02x.0", 5 + idx);
	snprintf(d->idstr, sizeof(d->idstr), "%s/vfio", d->name);
	if (mnt) {
		snprintf(d->dev_path, sizeof(d->dev_path), "%s/%s", mnt, d->name);
		snprintf(d->data_path, sizeof(d->data_path), "%s/%s.mig", mnt, d->name);
	}
	d->fd = -1;
	d->data_fd = -1;
	d->device_state = MS_VFIO_RUNNING;
}

void vfio_dev_close(struct ms_dev *d)
{
	if (d->data_fd >= 0)
		close(d->data_fd);
	if (d->fd >= 0)
		close(d->fd);
	d->data_fd = -1;
	d->fd = -1;
	free(d->data_buffer);
	d->data_buffer = NULL;
}

/* vfio_migration_realize() -> vfio_migration_init() */
int vfio_realize(struct ms_dev *d, char *err)
{
	struct msv_migration mig = {0};
	struct ioctl_rec r = {0};
	int ret;

	d->fd = open(d->dev_path, O_RDWR | O_CLOEXEC);
	if (d->fd < 0) {
		ms_errf(err, "%s: cannot open VFIO device %s: %s", d->name, d->dev_path,
			strerror(errno));
		return -errno;
	}

	ret = feature_ioctl(d, MS_VFIO_FEAT_GET | MS_VFIO_FEAT_MIGRATION, &mig, sizeof(mig), &r);
	ioctl_log(&r);
	if (ret) {
		ms_errf(err, "%s: Migration couldn't be initialized for VFIO device, err: %d (%s)",
			d->name, ret, strerror(-ret));
		return ret;
	}
	if (!(mig.flags & MSV_MIGRATION_STOP_COPY)) {
		ms_errf(err, "%s: VFIO device lacks STOP_COPY migration", d->name);
		return -EOPNOTSUPP;
	}
	d->mig_flags = mig.flags;
	d->device_state = MS_VFIO_RUNNING;
	d->data_fd = -1;

	/* vfio_dma_logging_supported() */
	memset(&r, 0, sizeof(r));
	ret = feature_ioctl(d, MS_VFIO_FEAT_PROBE | MS_VFIO_FEAT_DMA_LOGGING_START, NULL, 0, &r);
	ioctl_log(&r);
	d->dirty_pages_supported = ret == 0;

	trace_vfio_migration_realize(d->name);
	return 0;
}

static void set_device_state(struct ms_dev *d, uint32_t state)
{
	trace_vfio_migration_set_device_state(d->name, msv_state_name(state));
	d->device_state = state;
}

static bool opens_stream(uint32_t state)
{
	return state == MS_VFIO_PRE_COPY || state == MS_VFIO_PRE_COPY_P2P ||
	       state == MS_VFIO_STOP_COPY || state == MS_VFIO_RESUMING;
}

static int state_ioctl(struct ms_dev *d, uint32_t state, int32_t *data_fd)
{
	struct msv_mig_state ms = {.device_state = state, .data_fd = 0};
	struct ioctl_rec r = {0};
	int ret;

	ret =
	    feature_ioctl(d, MS_VFIO_FEAT_SET | MS_VFIO_FEAT_MIG_DEVICE_STATE, &ms, sizeof(ms), &r);
	r.has_state = true;
	r.state = state;
	r.has_data_fd = true;
	r.data_fd = ret ? -1 : ms.data_fd;
	ioctl_log(&r);
	*data_fd = r.data_fd;
	return ret;
}

static void reset_device(struct ms_dev *d)
{
	struct ioctl_rec r = {
	    .ioctl = "DEVICE_RESET", .dev = d, .fd = d->fd, .cmd = MSV_DEVICE_RESET};

	r.ts = ms_now();
	r.ret = ioctl(d->fd, MSV_DEVICE_RESET) < 0 ? -errno : 0;
	r.dur_ns = ms_now() - r.ts;
	ioctl_log(&r);
	set_device_state(d, MS_VFIO_RUNNING);
}

/*
 * vfio_migration_set_state(). One step migsim adds: the server behind the
 * device file cannot install a descriptor in this process, so before a
 * transition that may start a data transfer session migsim opens the device's
 * data file itself, and the server returns that descriptor's number in
 * data_fd (see docs/migsim.md).
 */
int vfio_set_state(struct ms_dev *d, uint32_t new_state, uint32_t recover, char *err)
{
	int32_t data_fd = -1;
	int pre = -1;
	int ret;

	trace_vfio_migration_set_state(d->name, msv_state_name(new_state), msv_state_name(recover));
	if (new_state == d->device_state)
		return 0;

	if (d->data_fd < 0 && opens_stream(new_state))
		pre = open(d->data_path, O_RDWR | O_CLOEXEC);

	ret = state_ioctl(d, new_state, &data_fd);
	if (ret) {
		if (pre >= 0)
			close(pre);
		if (recover == MS_VFIO_ERROR) {
			ms_errf(err,
				"%s: Failed setting device state to %s. Recover state is ERROR. "
				"Resetting device: %s",
				d->name, msv_state_name(new_state), strerror(-ret));
			reset_device(d);
			return ret;
		}
		ms_errf(
		    err,
		    "%s: Failed setting device state to %s. Setting device in recover state %s: %s",
		    d->name, msv_state_name(new_state), msv_state_name(recover), strerror(-ret));
		if (state_ioctl(d, recover, &data_fd)) {
			reset_device(d);
			return ret;
		}
		set_device_state(d, recover);
		if (data_fd >= 0 && data_fd != d->data_fd)
			close(data_fd);
		return ret;
	}

	set_device_state(d, new_state);
	if (data_fd != -1) {
		if (d->data_fd != -1) {
			ms_errf(err, "%s: data_fd out of sync", d->name);
			close(data_fd);
			return -EBADF;
		}
		d->data_fd = data_fd;
		if (pre >= 0 && pre != data_fd)
			close(pre);
	} else if (pre >= 0) {
		close(pre);
	}
	return 0;
}

int vfio_query_stop_copy_size(struct ms_dev *d, uint64_t *size)
{
	struct msv_mig_data_size ds = {0};
	struct ioctl_rec r = {0};
	int ret;

	ret = feature_ioctl(d, MS_VFIO_FEAT_GET | MS_VFIO_FEAT_MIG_DATA_SIZE, &ds, sizeof(ds), &r);
	r.has_stopcopy = ret == 0;
	r.stop_copy_bytes = ds.stop_copy_length;
	ioctl_log(&r);
	if (ret)
		return ret;
	*size = ds.stop_copy_length;
	/* the device's latest own estimate, for the summary */
	d->stopcopy_known = true;
	d->stopcopy_size = ds.stop_copy_length;
	return 0;
}

int vfio_query_precopy_size(struct ms_dev *d)
{
	struct msv_precopy_info info = {.argsz = sizeof(info)};
	struct ioctl_rec r = {.ioctl = "MIG_GET_PRECOPY_INFO",
			      .dev = d,
			      .fd = d->data_fd,
			      .cmd = MSV_MIG_GET_PRECOPY_INFO};
	int ret;

	d->precopy_init_size = 0;
	d->precopy_dirty_size = 0;

	r.ts = ms_now();
	ret = ioctl(d->data_fd, MSV_MIG_GET_PRECOPY_INFO, &info);
	r.ret = ret < 0 ? -errno : ret;
	r.dur_ns = ms_now() - r.ts;
	r.has_precopy = r.ret == 0;
	r.initial_bytes = info.initial_bytes;
	r.dirty_bytes = info.dirty_bytes;
	ioctl_log(&r);
	if (r.ret)
		return r.ret;

	d->precopy_init_size = info.initial_bytes;
	d->precopy_dirty_size = info.dirty_bytes;
	if (!d->initial_known) {
		d->initial_known = true;
		d->initial_bytes = info.initial_bytes;
	}
	return 0;
}

bool vfio_state_is_precopy(const struct ms_dev *d)
{
	return d->device_state == MS_VFIO_PRE_COPY || d->device_state == MS_VFIO_PRE_COPY_P2P;
}

/* The guest RAM ranges a 1-socket PC puts below 3G and above 4G. */
static int ram_ranges(uint64_t ram, struct msv_dma_logging_range *r)
{
	const uint64_t below = 0xc0000000ull;
	int n = 0;

	if (!ram)
		ram = MS_PAGE_SIZE;
	r[n].iova = 0;
	r[n].length = ram < below ? ram : below;
	n++;
	if (ram > below) {
		r[n].iova = 0x100000000ull;
		r[n].length = ram - below;
		n++;
	}
	return n;
}

static void dma_ioctl(struct ms_dev *d, uint32_t flags, void *data, size_t len, int *ret)
{
	struct ioctl_rec r = {0};

	*ret = feature_ioctl(d, flags, data, len, &r);
	ioctl_log(&r);
}

void vfio_dma_logging_stop(struct ms_dev *devs, int n)
{
	for (int i = 0; i < n; i++) {
		int ret;

		if (!devs[i].dirty_tracking)
			continue;
		dma_ioctl(&devs[i], MS_VFIO_FEAT_SET | MS_VFIO_FEAT_DMA_LOGGING_STOP, NULL, 0,
			  &ret);
		if (ret)
			fprintf(stderr, "migsim: %s: Failed to stop DMA logging, err %d (%s)\n",
				devs[i].name, ret, strerror(-ret));
		devs[i].dirty_tracking = false;
	}
}

/* vfio_devices_dma_logging_start(): one control, nested range array */
int vfio_dma_logging_start(struct ms_dev *devs, int n, uint64_t ram_bytes, char *err)
{
	struct msv_dma_logging_range *ranges = calloc(2, sizeof(*ranges));
	struct msv_dma_logging_control ctl = {.page_size = MS_PAGE_SIZE};
	int ret = 0;

	if (!ranges) {
		ms_errf(err, "Failed to prepare DMA logging");
		return -ENOMEM;
	}
	ctl.num_ranges = (uint32_t)ram_ranges(ram_bytes, ranges);
	ctl.ranges = (uint64_t)(uintptr_t)ranges;
	for (int i = 0; i < n; i++) {
		if (devs[i].dirty_tracking)
			continue;
		dma_ioctl(&devs[i], MS_VFIO_FEAT_SET | MS_VFIO_FEAT_DMA_LOGGING_START, &ctl,
			  sizeof(ctl), &ret);
		if (ret) {
			ms_errf(err,
				"vfio: Could not start dirty page tracking - %s: Failed to start "
				"DMA logging: %s",
				devs[i].name, strerror(-ret));
			break;
		}
		devs[i].dirty_tracking = true;
	}
	if (ret)
		vfio_dma_logging_stop(devs, n);
	free(ranges);
	return ret;
}

/* vfio_devices_query_dirty_bitmap() during a dirty bitmap sync */
void vfio_dma_logging_report(struct ms_dev *devs, int n, uint64_t ram_bytes)
{
	struct msv_dma_logging_range ranges[2];
	int nr = ram_ranges(ram_bytes, ranges);

	for (int i = 0; i < n; i++) {
		if (!devs[i].dirty_tracking)
			continue;
		for (int k = 0; k < nr; k++) {
			uint64_t pages = ranges[k].length / MS_PAGE_SIZE;
			size_t bytes = (size_t)((pages + 63) / 64 * 8);
			void *bitmap = calloc(1, bytes ? bytes : 8);
			struct msv_dma_logging_report rep = {
			    .iova = ranges[k].iova,
			    .length = ranges[k].length,
			    .page_size = MS_PAGE_SIZE,
			    .bitmap = (uint64_t)(uintptr_t)bitmap,
			};
			int ret;

			if (!bitmap)
				continue;
			dma_ioctl(&devs[i], MS_VFIO_FEAT_GET | MS_VFIO_FEAT_DMA_LOGGING_REPORT,
				  &rep, sizeof(rep), &ret);
			free(bitmap);
		}
	}
}

/* vfio_vmstate_change_prepare(), registered only for P2P-capable devices */
static int vmstate_change_prepare(struct ms_dev *d, bool running, int state, char *err)
{
	uint32_t new_state =
	    d->device_state == MS_VFIO_PRE_COPY ? MS_VFIO_PRE_COPY_P2P : MS_VFIO_RUNNING_P2P;
	int ret = vfio_set_state(d, new_state, MS_VFIO_ERROR, err);

	trace_vfio_vmstate_change_prepare(d->name, running, ms_runstate_name(state),
					  msv_state_name(new_state));
	return ret;
}

/* vfio_vmstate_change() */
static int vmstate_change(struct ms_dev *d, bool running, int state, char *err)
{
	uint32_t new_state;
	int ret;

	if (running)
		new_state = MS_VFIO_RUNNING;
	else
		new_state =
		    vfio_state_is_precopy(d) && (state == RS_FINISH_MIGRATE || state == RS_PAUSED)
			? MS_VFIO_STOP_COPY
			: MS_VFIO_STOP;
	ret = vfio_set_state(d, new_state, MS_VFIO_ERROR, err);
	trace_vfio_vmstate_change(d->name, running, ms_runstate_name(state),
				  msv_state_name(new_state));
	return ret;
}

/*
 * vm_state_notify(): prepare callbacks, then callbacks, in registration order
 * when starting and in reverse order when stopping. A failing callback does
 * not stop the others (QEMU can only flag the migration stream).
 */
int vfio_vm_state_notify(struct ms_dev *devs, int n, bool running, int state, char *err)
{
	int first = 0;

	trace_vm_state_notify(running, state, ms_runstate_name(state));
	for (int k = 0; k < n; k++) {
		struct ms_dev *d = &devs[running ? k : n - 1 - k];
		int ret;

		if (!(d->mig_flags & MSV_MIGRATION_P2P))
			continue;
		ret = vmstate_change_prepare(d, running, state, first ? NULL : err);
		if (ret && !first)
			first = ret;
	}
	for (int k = 0; k < n; k++) {
		struct ms_dev *d = &devs[running ? k : n - 1 - k];
		int ret = vmstate_change(d, running, state, first ? NULL : err);

		if (ret && !first)
			first = ret;
	}
	return first;
}

static void data_io_log(struct ms_dev *d, const char *op, uint64_t ts, size_t count, ssize_t ret)
{
	struct jw w;

	if (!mslog_enabled())
		return;
	jw_line_begin(&w, ts);
	jw_key(&w, "data_io");
	jw_str(&w, op);
	jw_key(&w, "device");
	jw_str(&w, d->name);
	jw_key(&w, "fd");
	jw_i64(&w, d->data_fd);
	jw_key(&w, "count");
	jw_u64(&w, count);
	jw_key(&w, "ret");
	jw_i64(&w, ret);
	jw_key(&w, "dur_ns");
	jw_u64(&w, ms_now() - ts);
	jw_line_emit(&w);
}

ssize_t vfio_data_read(struct ms_dev *d, void *buf, size_t len)
{
	uint64_t ts = ms_now();
	ssize_t n = read(d->data_fd, buf, len);
	int e = errno;

	data_io_log(d, "read", ts, len, n < 0 ? -e : n);
	errno = e;
	return n;
}

ssize_t vfio_data_write(struct ms_dev *d, const void *buf, size_t len)
{
	uint64_t ts = ms_now();
	ssize_t n = write(d->data_fd, buf, len);
	int e = errno;

	data_io_log(d, "write", ts, len, n < 0 ? -e : n);
	errno = e;
	return n;
}

/* vfio_save_setup()'s buffer sizing */
uint64_t vfio_data_buffer_size(uint64_t stop_copy_size)
{
	return stop_copy_size < VFIO_MIG_DEFAULT_DATA_BUFFER_SIZE && stop_copy_size
		   ? stop_copy_size
		   : VFIO_MIG_DEFAULT_DATA_BUFFER_SIZE;
}
