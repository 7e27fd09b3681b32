// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * migsim-vfiofs: a FUSE file system whose files stand in for VFIO device
 * descriptors and VFIO migration data descriptors, so that migsim's VFIO
 * ioctls, reads and writes are real system calls that a tracer sees, on a
 * kernel without a VFIO migration driver (and without CUSE).
 *
 * Per device NAME the root holds NAME (the device) and NAME.mig (its
 * migration data). The server implements what a variant driver does behind
 * VFIO_DEVICE_FEATURE and VFIO_MIG_GET_PRECOPY_INFO: the device migration
 * state machine of linux/vfio.h with its combination transitions, data
 * transfer sessions, PRE_COPY initial and dirty bytes that drain as they are
 * read, STOP_COPY end of stream, RESUMING writes (checked), MIG_DATA_SIZE
 * and DMA logging.
 *
 * The ioctls reach the server as FUSE "restricted" ioctls: VFIO's are _IO()
 * commands, so the kernel copies nothing and hands over the caller's pointer.
 * The server reads and writes the caller's memory with process_vm_readv/
 * writev, as a driver uses copy_from_user/copy_to_user. A server cannot
 * install a descriptor in its caller, so the caller opens NAME.mig before a
 * transition that starts a session and the server answers with that
 * descriptor's number, found in /proc/PID/fd.
 */
#define FUSE_USE_VERSION 35

#include <dirent.h>
#include <errno.h>
#include <fuse_lowlevel.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "migsim_uapi.h"

#define MAX_DEV	   16
#define MAX_RANGES 8
#define IO_MAX	   (1u << 20)

enum sess { SESS_NONE, SESS_SAVE, SESS_RESUME };

struct vdev {
	char name[32];
	unsigned int idx;
	uint64_t init_bytes;
	uint64_t dirty_rate;
	uint64_t stopcopy_bytes;
	char data_path[PATH_MAX];

	uint32_t state;
	bool logging;
	uint64_t log_page_size;
	uint32_t nranges;
	struct msv_dma_logging_range ranges[MAX_RANGES];

	enum sess sess;
	uint64_t off;	    /* stream offset of the session */
	uint64_t init_left; /* PRE_COPY: initial bytes not read yet */
	uint64_t dirty;	    /* PRE_COPY: dirty bytes not read yet */
	uint64_t dirty_ts;
	double dirty_acc;
	uint64_t stop_left; /* STOP_COPY: bytes until end of stream */
};

static struct vdev devs[MAX_DEV];
static int ndev;
static char mnt[PATH_MAX];
static uint8_t iobuf[IO_MAX];

/* vfio_from_fsm_table of drivers/vfio/vfio_main.c: next step from cur to new */
/* clang-format off */
static const uint8_t fsm[MSV_NUM_STATES][MSV_NUM_STATES] = {
	[MS_VFIO_STOP] = {
		[MS_VFIO_STOP] = MS_VFIO_STOP,
		[MS_VFIO_RUNNING] = MS_VFIO_RUNNING_P2P,
		[MS_VFIO_PRE_COPY] = MS_VFIO_RUNNING_P2P,
		[MS_VFIO_PRE_COPY_P2P] = MS_VFIO_RUNNING_P2P,
		[MS_VFIO_STOP_COPY] = MS_VFIO_STOP_COPY,
		[MS_VFIO_RESUMING] = MS_VFIO_RESUMING,
		[MS_VFIO_RUNNING_P2P] = MS_VFIO_RUNNING_P2P,
		[MS_VFIO_ERROR] = MS_VFIO_ERROR,
	},
	[MS_VFIO_RUNNING] = {
		[MS_VFIO_STOP] = MS_VFIO_RUNNING_P2P,
		[MS_VFIO_RUNNING] = MS_VFIO_RUNNING,
		[MS_VFIO_PRE_COPY] = MS_VFIO_PRE_COPY,
		[MS_VFIO_PRE_COPY_P2P] = MS_VFIO_RUNNING_P2P,
		[MS_VFIO_STOP_COPY] = MS_VFIO_RUNNING_P2P,
		[MS_VFIO_RESUMING] = MS_VFIO_RUNNING_P2P,
		[MS_VFIO_RUNNING_P2P] = MS_VFIO_RUNNING_P2P,
		[MS_VFIO_ERROR] = MS_VFIO_ERROR,
	},
	[MS_VFIO_PRE_COPY] = {
		[MS_VFIO_STOP] = MS_VFIO_RUNNING,
		[MS_VFIO_RUNNING] = MS_VFIO_RUNNING,
		[MS_VFIO_PRE_COPY] = MS_VFIO_PRE_COPY,
		[MS_VFIO_PRE_COPY_P2P] = MS_VFIO_PRE_COPY_P2P,
		[MS_VFIO_STOP_COPY] = MS_VFIO_PRE_COPY_P2P,
		[MS_VFIO_RESUMING] = MS_VFIO_RUNNING,
		[MS_VFIO_RUNNING_P2P] = MS_VFIO_RUNNING,
		[MS_VFIO_ERROR] = MS_VFIO_ERROR,
	},
	[MS_VFIO_PRE_COPY_P2P] = {
		[MS_VFIO_STOP] = MS_VFIO_RUNNING_P2P,
		[MS_VFIO_RUNNING] = MS_VFIO_RUNNING_P2P,
		[MS_VFIO_PRE_COPY] = MS_VFIO_PRE_COPY,
		[MS_VFIO_PRE_COPY_P2P] = MS_VFIO_PRE_COPY_P2P,
		[MS_VFIO_STOP_COPY] = MS_VFIO_STOP_COPY,
		[MS_VFIO_RESUMING] = MS_VFIO_RUNNING_P2P,
		[MS_VFIO_RUNNING_P2P] = MS_VFIO_RUNNING_P2P,
		[MS_VFIO_ERROR] = MS_VFIO_ERROR,
	},
	[MS_VFIO_STOP_COPY] = {
		[MS_VFIO_STOP] = MS_VFIO_STOP,
		[MS_VFIO_RUNNING] = MS_VFIO_STOP,
		[MS_VFIO_PRE_COPY] = MS_VFIO_ERROR,
		[MS_VFIO_PRE_COPY_P2P] = MS_VFIO_ERROR,
		[MS_VFIO_STOP_COPY] = MS_VFIO_STOP_COPY,
		[MS_VFIO_RESUMING] = MS_VFIO_STOP,
		[MS_VFIO_RUNNING_P2P] = MS_VFIO_STOP,
		[MS_VFIO_ERROR] = MS_VFIO_ERROR,
	},
	[MS_VFIO_RESUMING] = {
		[MS_VFIO_STOP] = MS_VFIO_STOP,
		[MS_VFIO_RUNNING] = MS_VFIO_STOP,
		[MS_VFIO_PRE_COPY] = MS_VFIO_STOP,
		[MS_VFIO_PRE_COPY_P2P] = MS_VFIO_STOP,
		[MS_VFIO_STOP_COPY] = MS_VFIO_STOP,
		[MS_VFIO_RESUMING] = MS_VFIO_RESUMING,
		[MS_VFIO_RUNNING_P2P] = MS_VFIO_STOP,
		[MS_VFIO_ERROR] = MS_VFIO_ERROR,
	},
	[MS_VFIO_RUNNING_P2P] = {
		[MS_VFIO_STOP] = MS_VFIO_STOP,
		[MS_VFIO_RUNNING] = MS_VFIO_RUNNING,
		[MS_VFIO_PRE_COPY] = MS_VFIO_RUNNING,
		[MS_VFIO_PRE_COPY_P2P] = MS_VFIO_PRE_COPY_P2P,
		[MS_VFIO_STOP_COPY] = MS_VFIO_STOP,
		[MS_VFIO_RESUMING] = MS_VFIO_STOP,
		[MS_VFIO_RUNNING_P2P] = MS_VFIO_RUNNING_P2P,
		[MS_VFIO_ERROR] = MS_VFIO_ERROR,
	},
	[MS_VFIO_ERROR] = {
		[MS_VFIO_STOP] = MS_VFIO_ERROR,
		[MS_VFIO_RUNNING] = MS_VFIO_ERROR,
		[MS_VFIO_PRE_COPY] = MS_VFIO_ERROR,
		[MS_VFIO_PRE_COPY_P2P] = MS_VFIO_ERROR,
		[MS_VFIO_STOP_COPY] = MS_VFIO_ERROR,
		[MS_VFIO_RESUMING] = MS_VFIO_ERROR,
		[MS_VFIO_RUNNING_P2P] = MS_VFIO_ERROR,
		[MS_VFIO_ERROR] = MS_VFIO_ERROR,
	},
};
/* clang-format on */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* inode numbers: 1 root, then device i: 2 + 2i, its data: 3 + 2i */
static struct vdev *ino_dev(fuse_ino_t ino, bool *data)
{
	if (ino < 2 || ino >= 2 + 2 * (fuse_ino_t)ndev)
		return NULL;
	*data = (ino - 2) & 1;
	return &devs[(ino - 2) / 2];
}

static void fill_stat(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = getuid();
	st->st_gid = getgid();
	if (ino == FUSE_ROOT_ID) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | 0600;
		st->st_nlink = 1;
	}
}

/* copy_from_user / copy_to_user, across processes */
static int peek(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = {buf, len}, remote = {(void *)(uintptr_t)addr, len};

	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

static int poke(pid_t pid, uint64_t addr, const void *buf, size_t len)
{
	struct iovec local = {(void *)buf, len}, remote = {(void *)(uintptr_t)addr, len};

	return process_vm_writev(pid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

static bool in_precopy(const struct vdev *d)
{
	return d->state == MS_VFIO_PRE_COPY || d->state == MS_VFIO_PRE_COPY_P2P;
}

/* The running device dirties its state; never more than its whole state. */
static void update_dirty(struct vdev *d)
{
	uint64_t now = now_ns(), cap, add;

	if (in_precopy(d) && d->sess == SESS_SAVE) {
		d->dirty_acc += (double)d->dirty_rate * (double)(now - d->dirty_ts) / 1e9;
		add = (uint64_t)d->dirty_acc;
		d->dirty_acc -= (double)add;
		cap = d->init_bytes > d->stopcopy_bytes ? d->init_bytes : d->stopcopy_bytes;
		d->dirty = d->dirty + add > cap ? cap : d->dirty + add;
	}
	d->dirty_ts = now;
}

/* What STOP_COPY would stream from here (MIG_DATA_SIZE). */
static uint64_t stop_copy_length(struct vdev *d)
{
	if (d->state == MS_VFIO_STOP_COPY)
		return d->stop_left;
	if (in_precopy(d) && d->sess == SESS_SAVE) {
		update_dirty(d);
		return d->stopcopy_bytes + d->init_left + d->dirty;
	}
	return d->init_bytes + d->stopcopy_bytes;
}

/* The caller's descriptor for NAME.mig: the data_fd of a new session. */
static int find_data_fd(pid_t pid, const struct vdev *d)
{
	char dir[64], link[PATH_MAX + 1], path[PATH_MAX + 64];
	struct dirent *e;
	int best = -1;
	DIR *dp;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	dp = opendir(dir);
	if (!dp)
		return -1;
	while ((e = readdir(dp))) {
		ssize_t n;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		fd = atoi(e->d_name);
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (!strcmp(link, d->data_path) && fd > best)
			best = fd;
	}
	closedir(dp);
	return best;
}

/* One arc of the state machine. */
static int fsm_step(struct vdev *d, uint32_t cur, uint32_t next, pid_t pid, int32_t *data_fd)
{
	int fd;

	if ((cur == MS_VFIO_RUNNING && next == MS_VFIO_PRE_COPY) ||
	    (cur == MS_VFIO_RUNNING_P2P && next == MS_VFIO_PRE_COPY_P2P) ||
	    (cur == MS_VFIO_STOP && next == MS_VFIO_STOP_COPY) ||
	    (cur == MS_VFIO_STOP && next == MS_VFIO_RESUMING)) {
		/* arcs that start a data transfer session and return a new data_fd */
		fd = find_data_fd(pid, d);
		if (fd < 0)
			return -EMFILE;
		d->off = 0;
		d->dirty = 0;
		d->dirty_acc = 0;
		d->dirty_ts = now_ns();
		if (next == MS_VFIO_RESUMING) {
			d->sess = SESS_RESUME;
		} else {
			d->sess = SESS_SAVE;
			d->init_left = next == MS_VFIO_STOP_COPY ? 0 : d->init_bytes;
			d->stop_left =
			    next == MS_VFIO_STOP_COPY ? d->init_bytes + d->stopcopy_bytes : 0;
		}
		*data_fd = fd;
		return 0;
	}
	if (cur == MS_VFIO_PRE_COPY_P2P && next == MS_VFIO_STOP_COPY) {
		/* same session: what is left, plus the state only a stopped device has */
		update_dirty(d);
		d->stop_left = d->stopcopy_bytes + d->init_left + d->dirty;
		d->init_left = 0;
		d->dirty = 0;
		return 0;
	}
	if ((cur == MS_VFIO_PRE_COPY && next == MS_VFIO_RUNNING) ||
	    (cur == MS_VFIO_PRE_COPY_P2P && next == MS_VFIO_RUNNING_P2P) ||
	    (cur == MS_VFIO_STOP_COPY && next == MS_VFIO_STOP) ||
	    (cur == MS_VFIO_RESUMING && next == MS_VFIO_STOP)) {
		/* arcs that end the session */
		d->sess = SESS_NONE;
		return 0;
	}
	if (in_precopy(d))
		update_dirty(d); /* PRE_COPY <-> PRE_COPY_P2P keeps the session */
	return 0;
}

static int set_device_state(struct vdev *d, uint32_t new_state, pid_t pid, int32_t *data_fd)
{
	*data_fd = -1;
	if (new_state >= MSV_NUM_STATES)
		return -EINVAL;
	while (d->state != new_state) {
		uint32_t next = fsm[d->state][new_state];
		int ret;

		if (next == MS_VFIO_ERROR)
			return -EINVAL;
		ret = fsm_step(d, d->state, next, pid, data_fd);
		if (ret)
			return ret;
		d->state = next;
	}
	return 0;
}

/* vfio_check_feature(): <0 error, 0 PROBE answered, 1 go ahead */
static int check_feature(uint32_t flags, size_t argsz, uint32_t ops, size_t minsz)
{
	if ((flags & (MS_VFIO_FEAT_GET | MS_VFIO_FEAT_SET)) & ~ops)
		return -EINVAL;
	if (flags & MS_VFIO_FEAT_PROBE)
		return 0;
	if (!(flags & (MS_VFIO_FEAT_GET | MS_VFIO_FEAT_SET)))
		return -EINVAL;
	if (argsz < minsz)
		return -EINVAL;
	return 1;
}

static int dma_logging_start(struct vdev *d, pid_t pid, uint64_t data)
{
	struct msv_dma_logging_control ctl;
	struct msv_dma_logging_range r[MAX_RANGES];
	int ret = peek(pid, data, &ctl, sizeof(ctl));

	if (ret)
		return ret;
	if (!ctl.num_ranges || ctl.num_ranges > MAX_RANGES || ctl.page_size < 4096 ||
	    (ctl.page_size & (ctl.page_size - 1)))
		return -EINVAL;
	ret = peek(pid, ctl.ranges, r, ctl.num_ranges * sizeof(r[0]));
	if (ret)
		return ret;
	for (uint32_t i = 0; i < ctl.num_ranges; i++)
		if (!r[i].length || (r[i].iova | r[i].length) & (ctl.page_size - 1))
			return -EINVAL;
	if (d->logging)
		return -EBUSY;
	d->logging = true;
	d->log_page_size = ctl.page_size;
	d->nranges = ctl.num_ranges;
	memcpy(d->ranges, r, ctl.num_ranges * sizeof(r[0]));
	return 0;
}

static int dma_logging_report(struct vdev *d, pid_t pid, uint64_t data)
{
	static const uint8_t zero[4096];
	struct msv_dma_logging_report rep;
	uint64_t bytes, off;
	bool inside = false;
	int ret = peek(pid, data, &rep, sizeof(rep));

	if (ret)
		return ret;
	if (!d->logging || rep.page_size < d->log_page_size ||
	    (rep.page_size & (rep.page_size - 1)) || !rep.length)
		return -EINVAL;
	for (uint32_t i = 0; i < d->nranges; i++)
		if (rep.iova >= d->ranges[i].iova &&
		    rep.iova + rep.length <= d->ranges[i].iova + d->ranges[i].length)
			inside = true;
	if (!inside)
		return -EINVAL;
	/* nothing dirtied by device DMA in this model: clear the bitmap */
	bytes = (rep.length / rep.page_size + 63) / 64 * 8;
	for (off = 0; off < bytes; off += sizeof(zero)) {
		size_t n = bytes - off < sizeof(zero) ? (size_t)(bytes - off) : sizeof(zero);

		ret = poke(pid, rep.bitmap + off, zero, n);
		if (ret)
			return ret;
	}
	return 0;
}

static int device_feature(struct vdev *d, pid_t pid, uint64_t arg)
{
	struct msv_feature f;
	uint64_t data = arg + sizeof(f);
	size_t argsz;
	uint32_t flags;
	int ret;

	ret = peek(pid, arg, &f, sizeof(f));
	if (ret)
		return ret;
	if (f.argsz < sizeof(f))
		return -EINVAL;
	flags = f.flags;
	if (flags & ~(MS_VFIO_FEAT_MASK | MS_VFIO_FEAT_GET | MS_VFIO_FEAT_SET | MS_VFIO_FEAT_PROBE))
		return -EINVAL;
	if (!(flags & MS_VFIO_FEAT_PROBE) && (flags & MS_VFIO_FEAT_GET) &&
	    (flags & MS_VFIO_FEAT_SET))
		return -EINVAL;
	argsz = f.argsz - sizeof(f);

	switch (flags & MS_VFIO_FEAT_MASK) {
	case MS_VFIO_FEAT_MIGRATION: {
		struct msv_migration mig = {
		    .flags = MSV_MIGRATION_STOP_COPY | MSV_MIGRATION_P2P | MSV_MIGRATION_PRE_COPY,
		};

		ret = check_feature(flags, argsz, MS_VFIO_FEAT_GET, sizeof(mig));
		if (ret != 1)
			return ret;
		return poke(pid, data, &mig, sizeof(mig));
	}
	case MS_VFIO_FEAT_MIG_DEVICE_STATE: {
		struct msv_mig_state ms;

		ret = check_feature(flags, argsz, MS_VFIO_FEAT_GET | MS_VFIO_FEAT_SET, sizeof(ms));
		if (ret != 1)
			return ret;
		if (flags & MS_VFIO_FEAT_GET) {
			ms.device_state = d->state;
			ms.data_fd = -1;
			return poke(pid, data, &ms, sizeof(ms));
		}
		ret = peek(pid, data, &ms, sizeof(ms));
		if (ret)
			return ret;
		ret = set_device_state(d, ms.device_state, pid, &ms.data_fd);
		if (ret)
			return ret;
		return poke(pid, data, &ms, sizeof(ms));
	}
	case MS_VFIO_FEAT_MIG_DATA_SIZE: {
		struct msv_mig_data_size ds;

		ret = check_feature(flags, argsz, MS_VFIO_FEAT_GET, sizeof(ds));
		if (ret != 1)
			return ret;
		ds.stop_copy_length = stop_copy_length(d);
		return poke(pid, data, &ds, sizeof(ds));
	}
	case MS_VFIO_FEAT_DMA_LOGGING_START:
		ret = check_feature(flags, argsz, MS_VFIO_FEAT_SET,
				    sizeof(struct msv_dma_logging_control));
		if (ret != 1)
			return ret;
		return dma_logging_start(d, pid, data);
	case MS_VFIO_FEAT_DMA_LOGGING_STOP:
		ret = check_feature(flags, argsz, MS_VFIO_FEAT_SET, 0);
		if (ret != 1)
			return ret;
		d->logging = false;
		return 0;
	case MS_VFIO_FEAT_DMA_LOGGING_REPORT:
		ret = check_feature(flags, argsz, MS_VFIO_FEAT_GET,
				    sizeof(struct msv_dma_logging_report));
		if (ret != 1)
			return ret;
		return dma_logging_report(d, pid, data);
	}
	return -ENOTTY;
}

static int precopy_info(struct vdev *d, pid_t pid, uint64_t arg)
{
	struct msv_precopy_info info;
	int ret = peek(pid, arg, &info, sizeof(info));

	if (ret)
		return ret;
	if (info.argsz < sizeof(info))
		return -EINVAL;
	if (!in_precopy(d) || d->sess != SESS_SAVE)
		return -EINVAL;
	update_dirty(d);
	info.initial_bytes = d->init_left;
	info.dirty_bytes = d->dirty;
	return poke(pid, arg, &info, sizeof(info));
}

/* ---------------------------------------------------------------------- */
/* FUSE */

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	if (parent == FUSE_ROOT_ID) {
		for (int i = 0; i < ndev; i++) {
			char data_name[48];

			snprintf(data_name, sizeof(data_name), "%.31s.mig", devs[i].name);
			if (!strcmp(name, devs[i].name))
				e.ino = 2 + 2 * (fuse_ino_t)i;
			else if (!strcmp(name, data_name))
				e.ino = 3 + 2 * (fuse_ino_t)i;
		}
	}
	if (!e.ino) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill_stat(e.ino, &e.attr);
	e.attr_timeout = 3600;
	e.entry_timeout = 3600;
	fuse_reply_entry(req, &e);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	bool data;

	(void)fi;
	if (ino != FUSE_ROOT_ID && !ino_dev(ino, &data)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill_stat(ino, &st);
	fuse_reply_attr(req, &st, 3600);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	char buf[8192];
	size_t len = 0;
	int n = 2 + 2 * ndev;

	(void)fi;
	if (ino != FUSE_ROOT_ID) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	for (int i = (int)off; i < n; i++) {
		char name[48];
		struct stat st;
		size_t k;

		if (i == 0)
			snprintf(name, sizeof(name), ".");
		else if (i == 1)
			snprintf(name, sizeof(name), "..");
		else
			snprintf(name, sizeof(name), "%s%s", devs[(i - 2) / 2].name,
				 (i - 2) & 1 ? ".mig" : "");
		fill_stat(i < 2 ? FUSE_ROOT_ID : (fuse_ino_t)i, &st);
		k = fuse_add_direntry(req, buf + len, sizeof(buf) - len, name, &st, i + 1);
		if (k > sizeof(buf) - len || len + k > size)
			break;
		len += k;
	}
	fuse_reply_buf(req, buf, len);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	bool data;

	if (!ino_dev(ino, &data)) {
		fuse_reply_err(req, ino == FUSE_ROOT_ID ? EISDIR : ENOENT);
		return;
	}
	/* every read and write of migration data must reach the "driver" */
	fi->direct_io = 1;
	fi->nonseekable = 1;
	fi->keep_cache = 0;
	fuse_reply_open(req, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	bool data;
	struct vdev *d = ino_dev(ino, &data);
	uint64_t n;

	(void)off;
	(void)fi;
	if (!d || !data) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (d->sess != SESS_SAVE) {
		fuse_reply_err(req, ENODEV);
		return;
	}
	if (size > IO_MAX)
		size = IO_MAX;
	if (in_precopy(d)) {
		update_dirty(d);
		n = d->init_left + d->dirty;
		if (!n) {
			/* the temporary end of stream of PRE_COPY */
			fuse_reply_err(req, ENOMSG);
			return;
		}
		n = n < size ? n : size;
		if (d->init_left >= n) {
			d->init_left -= n;
		} else {
			d->dirty -= n - d->init_left;
			d->init_left = 0;
		}
	} else if (d->state == MS_VFIO_STOP_COPY) {
		n = d->stop_left < size ? d->stop_left : size;
		d->stop_left -= n;
	} else {
		fuse_reply_err(req, EINVAL);
		return;
	}
	for (uint64_t i = 0; i < n; i++)
		iobuf[i] = msv_pattern(d->idx, d->off + i);
	d->off += n;
	fuse_reply_buf(req, (const char *)iobuf, (size_t)n);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	bool data;
	struct vdev *d = ino_dev(ino, &data);

	(void)off;
	(void)fi;
	if (!d || !data || d->sess != SESS_RESUME || d->state != MS_VFIO_RESUMING) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	for (size_t i = 0; i < size; i++) {
		if ((uint8_t)buf[i] != msv_pattern(d->idx, d->off + i)) {
			fprintf(stderr,
				"migsim-vfiofs: %s: bad migration data at offset %" PRIu64 "\n",
				d->name, d->off + i);
			fuse_reply_err(req, EINVAL);
			return;
		}
	}
	d->off += size;
	fuse_reply_write(req, size);
}

static void op_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
		     struct fuse_file_info *fi, unsigned flags, const void *in_buf, size_t in_bufsz,
		     size_t out_bufsz)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	bool data;
	struct vdev *d = ino_dev(ino, &data);
	int ret = -ENOTTY;

	(void)fi;
	(void)in_buf;
	(void)in_bufsz;
	(void)out_bufsz;
	if (!d || (flags & FUSE_IOCTL_COMPAT)) {
		fuse_reply_err(req, ENOTTY);
		return;
	}
	if (!data && cmd == MSV_DEVICE_FEATURE) {
		ret = device_feature(d, ctx->pid, (uint64_t)(uintptr_t)arg);
	} else if (!data && cmd == MSV_DEVICE_RESET) {
		d->state = MS_VFIO_RUNNING;
		d->sess = SESS_NONE;
		d->logging = false;
		ret = 0;
	} else if (data && cmd == MSV_MIG_GET_PRECOPY_INFO) {
		ret = precopy_info(d, ctx->pid, (uint64_t)(uintptr_t)arg);
	}
	if (ret < 0)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_ioctl(req, ret, NULL, 0);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static const struct fuse_lowlevel_ops ops = {
    .lookup = op_lookup,
    .getattr = op_getattr,
    .readdir = op_readdir,
    .open = op_open,
    .read = op_read,
    .write = op_write,
    .ioctl = op_ioctl,
    .flush = op_flush,
    .release = op_release,
};

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s MOUNTPOINT --dev NAME,INDEX,INIT,DIRTY_RATE,STOPCOPY... [--ready-fd N]\n"
		"The VFIO device stand-in that migsim mounts (see docs/migsim.md); not meant to\n"
		"be run by hand. Per device the mount holds NAME (VFIO device) and NAME.mig\n"
		"(migration data); sizes in bytes, rate in bytes/s. Writes 'R' to fd N once\n"
		"mounted; unmounts on SIGTERM, SIGINT or SIGHUP.\n",
		prog);
}

static int parse_dev(const char *s)
{
	struct vdev *d;
	char name[32];
	unsigned int idx;
	uint64_t init, rate, stop;
	int n = 0;

	if (ndev == MAX_DEV)
		return -1;
	if (sscanf(s, "%31[^,],%u,%" SCNu64 ",%" SCNu64 ",%" SCNu64 "%n", name, &idx, &init, &rate,
		   &stop, &n) != 5 ||
	    s[n])
		return -1;
	d = &devs[ndev++];
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->idx = idx;
	d->init_bytes = init;
	d->dirty_rate = rate;
	d->stopcopy_bytes = stop;
	d->state = MS_VFIO_RUNNING;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"dev", required_argument, NULL, 'd'},
	    {"ready-fd", required_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char *fargv[] = {argv[0], "-o", "fsname=migsim-vfiofs,subtype=migsim-vfiofs,auto_unmount",
			 NULL};
	struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
	struct fuse_session *se;
	int c, ready_fd = -1, ret = 1;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (parse_dev(optarg)) {
				fprintf(stderr, "migsim-vfiofs: bad --dev '%s'\n", optarg);
				return 2;
			}
			break;
		case 'r': ready_fd = atoi(optarg); break;
		case 'h': usage(stdout, argv[0]); return 0;
		default: usage(stderr, argv[0]); return 2;
		}
	}
	if (optind + 1 != argc || !ndev) {
		usage(stderr, argv[0]);
		return 2;
	}
	if (!realpath(argv[optind], mnt)) {
		fprintf(stderr, "migsim-vfiofs: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	for (int i = 0; i < ndev; i++)
		snprintf(devs[i].data_path, sizeof(devs[i].data_path), "%.3900s/%.31s.mig", mnt,
			 devs[i].name);

	se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
	if (!se)
		return 1;
	if (fuse_set_signal_handlers(se))
		goto out_destroy;
	if (fuse_session_mount(se, mnt))
		goto out_signals;
	if (ready_fd >= 0) {
		if (write(ready_fd, "R", 1) != 1) {
			/* nobody waits for us: serve anyway */
		}
		close(ready_fd);
	}
	ret = fuse_session_loop(se) < 0 ? 1 : 0;
	fuse_session_unmount(se);
	rmdir(mnt);
out_signals:
	fuse_remove_signal_handlers(se);
out_destroy:
	fuse_session_destroy(se);
	fuse_opt_free_args(&args);
	return ret;
}
