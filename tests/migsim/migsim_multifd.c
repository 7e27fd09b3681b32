// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * VFIO device state over multifd, as QEMU 10.0 moves it
 * (hw/vfio/migration-multifd.c, migration/multifd-device-state.c,
 * qemu_savevm_state_complete_precopy_iterable() and qemu_loadvm_state()):
 *
 * - source: at the start of the iterable stop phase a save thread per device
 *   (vfio_multifd_save_complete_precopy_thread) sets STOP_COPY, reads the data
 *   fd until it returns 0, one packet per read, then sends the device config
 *   as the last packet; the main stream carries only an end marker for the
 *   device, and the migration thread joins the save threads before
 *   src-iterable-saved;
 * - destination: the channel's receive thread files each packet under its
 *   device (vfio_multifd_load_state_buffer); SWITCHOVER_START starts a load
 *   thread per device (vfio_load_bufs_thread) that writes the buffers to the
 *   data fd in order, waiting for the next one when it is not there yet, and
 *   loads the config from the last; qemu_loadvm_state() waits for them after
 *   the stream's EOF.
 *
 * The multifd channel is a second TCP connection to the destination's port,
 * made right after the main one (multifd_send_setup()); migsim sends only
 * device state on it, RAM stays on the main stream. A packet: be32 magic,
 * u8 idstr length, idstr, be32 instance id, then VFIODeviceStatePacket's
 * be32 version, idx, flags, and be32 length and the bytes.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "migsim.h"
#include "migsim_log.h"
#include "migsim_stream.h"
#include "migsim_trace.h"
#include "migsim_uapi.h"

#if MIGSIM_MULTIFD

#define MF_MAGIC	     0x11223344u /* MULTIFD_MAGIC */
#define MF_PACKET_VERSION    0u		 /* VFIO_DEVICE_STATE_PACKET_VER_CURRENT */
#define MF_FLAG_CONFIG_STATE 1u		 /* VFIO_DEVICE_STATE_CONFIG_STATE */
#define MF_CONFIG_BYTES	     256
#define MF_MAX_PACKET	     (64u << 20)
#define MF_HDR_MAX	     (4 + 1 + 255 + 4 * 5)

/* ---------------------------------------------------------------------- */
/* source */

struct mf_saver {
	struct ms_dev *d;
	pthread_t th;
	bool created;
	char err[MS_ERR_LEN];
	struct ms_mf_fig fig;
};

static struct {
	int sock;
	pthread_mutex_t lock; /* one packet at a time on the channel */
	bool (*should_exit)(void);
	struct mf_saver s[MS_MAX_DEV];
	int n;
	bool used;
} MS = {.sock = -1, .lock = PTHREAD_MUTEX_INITIALIZER};

static size_t put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return 4;
}

static size_t put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	return 4 + put_be32(p + 4, (uint32_t)v);
}

/* multifd_queue_device_state(): the packet goes out whole on the channel */
static int queue_device_state(const struct ms_dev *d, uint32_t idx, uint32_t flags,
			      const void *data, uint32_t len)
{
	uint8_t hdr[MF_HDR_MAX];
	size_t n = 0, il = strlen(d->idstr);
	int ret;

	if (il > 255)
		il = 255;
	n += put_be32(hdr + n, MF_MAGIC);
	hdr[n++] = (uint8_t)il;
	memcpy(hdr + n, d->idstr, il);
	n += il;
	n += put_be32(hdr + n, 0); /* instance id */
	n += put_be32(hdr + n, MF_PACKET_VERSION);
	n += put_be32(hdr + n, idx);
	n += put_be32(hdr + n, flags);
	n += put_be32(hdr + n, len);
	pthread_mutex_lock(&MS.lock);
	ret = send_all(MS.sock, hdr, n);
	if (!ret && len)
		ret = send_all(MS.sock, data, len);
	pthread_mutex_unlock(&MS.lock);
	return ret;
}

/* vfio_save_complete_precopy_thread_config_state(): vfio_save_device_config_state()
 * into a buffer, sent as the last packet */
static int save_config_state(struct mf_saver *s, uint32_t idx)
{
	uint8_t buf[8 + 4 + MF_CONFIG_BYTES + 8] = {0}, *p = buf;
	int ret;

	p += put_be64(p, MS_VFIO_MIG_FLAG_DEV_CONFIG_STATE);
	p += put_be32(p, MF_CONFIG_BYTES);
	p[0] = 0xb3, p[1] = 0x15; /* a vendor ID, for show */
	p += MF_CONFIG_BYTES;
	p += put_be64(p, MS_VFIO_MIG_FLAG_END_OF_STATE);
	trace_vfio_save_device_config_state(s->d->name);
	ret = queue_device_state(s->d, idx, MF_FLAG_CONFIG_STATE, buf, (uint32_t)(p - buf));
	if (ret)
		ms_errf(s->err, "%s: multifd config data queuing failed: %s", s->d->name,
			strerror(-ret));
	return ret;
}

/* vfio_multifd_save_complete_precopy_thread() */
static void *save_thread(void *arg)
{
	struct mf_saver *s = arg;
	struct ms_dev *d = s->d;
	char err[MS_ERR_LEN] = "";
	uint32_t idx;
	bool ok = false;

	pthread_setname_np(pthread_self(), "mig/src/vfio");
	s->fig.t_start = trace_vfio_save_complete_precopy_thread_start(d->name, d->idstr, 0);
	/* we get here in STOP or STOP_COPY only */
	if (vfio_set_state(d, MS_VFIO_STOP_COPY, MS_VFIO_STOP, err)) {
		ms_errf(s->err, "%s", err);
		goto out;
	}
	for (idx = 0;; idx++) {
		ssize_t n;
		int ret;

		if (MS.should_exit && MS.should_exit()) {
			ms_errf(s->err, "operation cancelled");
			goto out;
		}
		n = vfio_data_read(d, d->data_buffer, d->data_buffer_size);
		if (n < 0) {
			ms_errf(s->err, "%s: reading state buffer %" PRIu32 " failed: %d", d->name,
				idx, errno);
			goto out;
		}
		if (!n)
			break;
		ret = queue_device_state(d, idx, 0, d->data_buffer, (uint32_t)n);
		if (ret) {
			ms_errf(s->err, "%s: multifd data queuing failed: %s", d->name,
				strerror(-ret));
			goto out;
		}
		d->stopcopy_read += (uint64_t)n;
	}
	ok = !save_config_state(s, idx);
out:
	s->fig.ok = ok;
	s->fig.t_end = trace_vfio_save_complete_precopy_thread_end(d->name, ok);
	d->save_us = (int64_t)((s->fig.t_end - s->fig.t_start) / 1000);
	return NULL;
}

/* multifd_spawn_device_state_save_thread() for every device */
int mf_save_start(struct ms_dev *devs, int n, int sock, bool (*should_exit)(void), char *err)
{
	MS.sock = sock;
	MS.should_exit = should_exit;
	MS.n = n;
	MS.used = true;
	for (int i = 0; i < n; i++) {
		struct mf_saver *s = &MS.s[i];

		memset(s, 0, sizeof(*s));
		s->d = &devs[i];
		if (pthread_create(&s->th, NULL, save_thread, s)) {
			ms_errf(err, "cannot create a device state save thread");
			return -EAGAIN;
		}
		s->created = true;
	}
	return 0;
}

/* multifd_join_device_state_save_threads(): the first thread's error */
int mf_save_join(char *err)
{
	int ret = 0;

	for (int i = 0; i < MS.n; i++) {
		struct mf_saver *s = &MS.s[i];

		if (!s->created)
			continue;
		pthread_join(s->th, NULL);
		s->created = false;
		if (!s->fig.ok && !ret) {
			ms_errf(err, "%s", s->err[0] ? s->err : "device state save thread failed");
			ret = -EINVAL;
		}
	}
	return ret;
}

/* ---------------------------------------------------------------------- */
/* destination */

struct mf_buf {
	uint8_t *data;
	uint32_t len;
	bool present;
};

struct mf_loader {
	struct ms_dev *d;
	pthread_t th;
	bool created;
	struct mf_buf *bufs;
	uint32_t nbufs;
	uint32_t idx;
	int64_t last; /* the config packet's idx, -1 before it came */
	uint64_t starve_ts;
	char err[MS_ERR_LEN];
	struct ms_mf_fig fig;
};

static struct {
	int sock;
	pthread_t rx;
	bool rx_created;
	bool rx_done; /* the channel ended: no packet comes any more */
	char rx_err[MS_ERR_LEN];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool want_exit;
	struct mf_loader l[MS_MAX_DEV];
	int n;
	bool used;
} MD = {.sock = -1, .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static struct mf_loader *loader_of(const char *idstr)
{
	for (int i = 0; i < MD.n; i++)
		if (!strcmp(MD.l[i].d->idstr, idstr))
			return &MD.l[i];
	return NULL;
}

/* vfio_load_state_buffer_insert(), with the lock held */
static int buffer_insert(struct mf_loader *l, uint32_t idx, uint8_t *data, uint32_t len)
{
	if (idx >= l->nbufs) {
		uint32_t n = l->nbufs ? l->nbufs : 8;
		struct mf_buf *b;

		while (n <= idx)
			n *= 2;
		b = realloc(l->bufs, n * sizeof(*b));
		if (!b)
			return -ENOMEM;
		memset(b + l->nbufs, 0, (n - l->nbufs) * sizeof(*b));
		l->bufs = b;
		l->nbufs = n;
	}
	if (l->bufs[idx].present)
		return -EEXIST;
	l->bufs[idx] = (struct mf_buf){.data = data, .len = len, .present = true};
	return 0;
}

/* the multifd receive thread: vfio_multifd_load_state_buffer() per packet */
static void *rx_thread(void *arg)
{
	struct ms_rd *r = malloc(sizeof(*r));
	char err[MS_ERR_LEN] = "";

	(void)arg;
	pthread_setname_np(pthread_self(), "mig/dst/recv_0");
	if (!r) {
		ms_errf(err, "multifd: out of memory");
		goto out;
	}
	rd_init(r, MD.sock, -1); /* shutdown() at the end wakes it */
	for (;;) {
		char idstr[256];
		uint32_t magic, version, idx, flags, len;
		struct mf_loader *l;
		uint8_t il, *data = NULL;
		uint64_t before = r->total;
		bool boundary = r->pos == r->len;
		int ret;

		magic = rd_be32(r);
		if (r->eof && boundary && r->total == before)
			break; /* the source closed the channel between packets */
		il = rd_u8(r);
		rd_buf(r, idstr, il);
		idstr[il] = '\0';
		rd_be32(r); /* instance id */
		version = rd_be32(r);
		idx = rd_be32(r);
		flags = rd_be32(r);
		len = rd_be32(r);
		if (r->err) {
			ms_errf(err, "multifd: %s", rd_strerror(r));
			goto out;
		}
		if (magic != MF_MAGIC) {
			ms_errf(err, "multifd: bad packet magic 0x%" PRIx32, magic);
			goto out;
		}
		l = loader_of(idstr);
		if (!l) {
			ms_errf(err, "multifd: device state for an unknown device '%s'", idstr);
			goto out;
		}
		if (version != MF_PACKET_VERSION) {
			ms_errf(err, "%s: packet has unknown version %" PRIu32, l->d->name,
				version);
			goto out;
		}
		if (idx == UINT32_MAX || len > MF_MAX_PACKET) {
			ms_errf(err, "%s: packet index or length is invalid", l->d->name);
			goto out;
		}
		if (len) {
			data = malloc(len);
			if (!data) {
				ms_errf(err, "multifd: out of memory");
				goto out;
			}
			if (rd_buf(r, data, len)) {
				free(data);
				ms_errf(err, "multifd: %s", rd_strerror(r));
				goto out;
			}
		}
		trace_vfio_load_state_device_buffer_incoming(l->d->name, idx);
		pthread_mutex_lock(&MD.lock);
		l->fig.packets_in++;
		/* the config state packet is the last one of the device */
		if (flags & MF_FLAG_CONFIG_STATE)
			l->last = idx;
		ret = buffer_insert(l, idx, data, len);
		pthread_cond_broadcast(&MD.cond);
		pthread_mutex_unlock(&MD.lock);
		if (ret) {
			free(data);
			ms_errf(err, "%s: state buffer %" PRIu32 " %s", l->d->name, idx,
				ret == -EEXIST ? "already filled" : "cannot be stored");
			goto out;
		}
	}
out:
	free(r);
	pthread_mutex_lock(&MD.lock);
	MD.rx_done = true;
	snprintf(MD.rx_err, sizeof(MD.rx_err), "%s", err);
	pthread_cond_broadcast(&MD.cond);
	pthread_mutex_unlock(&MD.lock);
	return NULL;
}

int mf_load_listen(struct ms_dev *devs, int n, int sock, char *err)
{
	MD.sock = sock;
	MD.n = n;
	for (int i = 0; i < n; i++) {
		MD.l[i] = (struct mf_loader){.d = &devs[i], .last = -1};
	}
	if (pthread_create(&MD.rx, NULL, rx_thread, NULL)) {
		ms_errf(err, "cannot create the multifd receive thread");
		return -EAGAIN;
	}
	MD.rx_created = true;
	return 0;
}

/* The load thread stops waiting for a buffer at ts (migscope's reading). */
static void unstarve(struct mf_loader *l, uint64_t ts)
{
	if (!l->starve_ts)
		return;
	if (ts > l->starve_ts)
		l->fig.starved_ns += ts - l->starve_ts;
	l->starve_ts = 0;
}

/* vfio_load_bufs_thread_load_config(): the last buffer holds the config */
static int load_config(struct mf_loader *l)
{
	const struct mf_buf *b = &l->bufs[l->idx];
	uint64_t flag = 0;

	unstarve(l, trace_vfio_load_device_config_state_start(l->d->name));
	for (uint32_t i = 0; i < 8 && i < b->len; i++)
		flag = flag << 8 | b->data[i];
	if (b->len < 8 || flag != MS_VFIO_MIG_FLAG_DEV_CONFIG_STATE) {
		ms_errf(l->err, "%s: expected FLAG_DEV_CONFIG_STATE but got %" PRIx64, l->d->name,
			flag);
		return -EINVAL;
	}
	trace_vfio_load_device_config_state_end(l->d->name);
	return 0;
}

/* vfio_load_state_buffer_write(), with the lock held (dropped to write: the
 * buffer array may move meanwhile, so b is not used after it) */
static int buffer_write(struct mf_loader *l, struct mf_buf *b)
{
	uint8_t *buf = b->data, *p = buf;
	uint32_t left = b->len;
	uint64_t t0, t1;
	int ret = 0;

	if (!left)
		return 0;
	t0 = trace_vfio_load_state_device_buffer_load_start(l->d->name, l->idx);
	unstarve(l, t0);
	b->data = NULL;
	while (left) {
		ssize_t n;
		int e;

		pthread_mutex_unlock(&MD.lock);
		n = vfio_data_write(l->d, p, left);
		e = errno;
		pthread_mutex_lock(&MD.lock);
		if (n < 0) {
			if (e == EINTR)
				continue;
			ms_errf(l->err, "%s: writing state buffer %" PRIu32 " failed: %d",
				l->d->name, l->idx, e);
			ret = -e;
			break;
		}
		p += n;
		left -= (uint32_t)n;
		l->fig.loaded_bytes += (uint64_t)n;
	}
	free(buf);
	if (ret)
		return ret;
	t1 = trace_vfio_load_state_device_buffer_load_end(l->d->name, l->idx);
	l->fig.write_ns += t1 - t0;
	l->fig.buffers_loaded++;
	return 0;
}

/* vfio_load_bufs_thread() */
static void *load_thread(void *arg)
{
	struct mf_loader *l = arg;
	struct ms_dev *d = l->d;
	bool ok = false;

	pthread_setname_np(pthread_self(), "mig/dst/vfio");
	l->fig.t_start = trace_vfio_load_bufs_thread_start(d->name);
	pthread_mutex_lock(&MD.lock);
	for (;;) {
		struct mf_buf *b;

		if (MD.want_exit) {
			ms_errf(l->err, "operation cancelled");
			goto out;
		}
		b = l->idx < l->nbufs && l->bufs[l->idx].present ? &l->bufs[l->idx] : NULL;
		if (!b) {
			struct timespec dl;
			uint64_t ts;

			/* QEMU waits until the migration is aborted; the channel's
			 * end is migsim's abort */
			if (MD.rx_done) {
				ms_errf(l->err,
					"%s: multifd channel ended before state buffer %" PRIu32
					"%s%s",
					d->name, l->idx, MD.rx_err[0] ? ": " : "", MD.rx_err);
				goto out;
			}
			ts = trace_vfio_load_state_device_buffer_starved(d->name, l->idx);
			if (!l->starve_ts) {
				l->fig.starved++;
				l->starve_ts = ts;
			}
			clock_gettime(CLOCK_REALTIME, &dl);
			dl.tv_sec += cfg.timeout_s;
			if (pthread_cond_timedwait(&MD.cond, &MD.lock, &dl) == ETIMEDOUT) {
				ms_errf(l->err, "%s: no state buffer %" PRIu32 " within %d s",
					d->name, l->idx, cfg.timeout_s);
				goto out;
			}
			continue;
		}
		if ((int64_t)l->idx == l->last)
			break;
		if (l->idx == 0)
			unstarve(l, trace_vfio_load_state_device_buffer_start(d->name));
		if (buffer_write(l, b))
			goto out;
		if ((int64_t)l->idx == l->last - 1)
			unstarve(l, trace_vfio_load_state_device_buffer_end(d->name));
		l->idx++;
	}
	ok = !load_config(l);
out:
	l->fig.ok = ok;
	l->fig.t_end = trace_vfio_load_bufs_thread_end(d->name);
	unstarve(l, l->fig.t_end);
	pthread_mutex_unlock(&MD.lock);
	return NULL;
}

/* loadvm_postcopy_handle_switchover_start() -> vfio_multifd_switchover_start() */
int mf_load_switchover_start(char *err)
{
	for (int i = 0; i < MD.n; i++) {
		struct mf_loader *l = &MD.l[i];

		if (l->created)
			continue;
		if (pthread_create(&l->th, NULL, load_thread, l)) {
			ms_errf(err, "cannot create a device state load thread");
			return -EAGAIN;
		}
		l->created = true;
		MD.used = true;
	}
	return 0;
}

/* qemu_loadvm_thread_pool_wait(): the first thread's error */
int mf_load_wait(char *err)
{
	int ret = 0;

	for (int i = 0; i < MD.n; i++) {
		struct mf_loader *l = &MD.l[i];

		if (!l->created)
			continue;
		pthread_join(l->th, NULL);
		l->created = false;
		if (!l->fig.ok && !ret) {
			ms_errf(err, "%s", l->err[0] ? l->err : "device state load thread failed");
			ret = -EINVAL;
		}
	}
	return ret;
}

/* migration_incoming_state_destroy(): the load threads told to stop, the
 * channel shut */
void mf_load_cleanup(void)
{
	char err[MS_ERR_LEN];

	pthread_mutex_lock(&MD.lock);
	MD.want_exit = true;
	pthread_cond_broadcast(&MD.cond);
	pthread_mutex_unlock(&MD.lock);
	mf_load_wait(err);
	if (MD.sock >= 0)
		shutdown(MD.sock, SHUT_RDWR);
	if (MD.rx_created)
		pthread_join(MD.rx, NULL);
	MD.rx_created = false;
	if (MD.sock >= 0)
		close(MD.sock);
	MD.sock = -1;
	for (int i = 0; i < MD.n; i++) {
		struct mf_loader *l = &MD.l[i];

		for (uint32_t k = 0; k < l->nbufs; k++)
			free(l->bufs[k].data);
		free(l->bufs);
		l->bufs = NULL;
		l->nbufs = 0;
	}
}

const struct ms_mf_fig *mf_fig(int idx)
{
	if (idx < MS.n && MS.used && MS.s[idx].fig.t_start)
		return &MS.s[idx].fig;
	if (idx < MD.n && MD.used && MD.l[idx].fig.t_start)
		return &MD.l[idx].fig;
	return NULL;
}

#else /* no multifd device state before 10.0 */

int mf_save_start(struct ms_dev *devs, int n, int sock, bool (*should_exit)(void), char *err)
{
	(void)devs, (void)n, (void)sock, (void)should_exit;
	ms_errf(err, "this QEMU has no VFIO device state over multifd");
	return -ENOTSUP;
}

int mf_save_join(char *err)
{
	(void)err;
	return 0;
}

int mf_load_listen(struct ms_dev *devs, int n, int sock, char *err)
{
	(void)devs, (void)n, (void)sock;
	ms_errf(err, "this QEMU has no VFIO device state over multifd");
	return -ENOTSUP;
}

int mf_load_switchover_start(char *err)
{
	(void)err;
	return 0;
}

int mf_load_wait(char *err)
{
	(void)err;
	return 0;
}

void mf_load_cleanup(void)
{
}

const struct ms_mf_fig *mf_fig(int idx)
{
	(void)idx;
	return NULL;
}

#endif

/* A device's multifd figures in a summary, as migscope's report names them. */
void jw_mf_fig(struct jw *w, const struct ms_mf_fig *f, bool dest)
{
	jw_key(w, "multifd");
	if (!f) {
		jw_null(w);
		return;
	}
	jw_obj_begin(w);
	if (!dest) {
		jw_key(w, "save_thread_ms");
		jw_ms(w, (int64_t)(f->t_end - f->t_start));
		jw_key(w, "saved");
		jw_bool(w, f->ok);
	} else {
		jw_key(w, "packets_in");
		jw_u64(w, f->packets_in);
		jw_key(w, "load_thread_ms");
		jw_ms(w, (int64_t)(f->t_end - f->t_start));
		jw_key(w, "buffers_loaded");
		jw_u64(w, f->buffers_loaded);
		jw_key(w, "write_ms");
		jw_ms(w, (int64_t)f->write_ns);
		jw_key(w, "starved");
		jw_u64(w, f->starved);
		jw_key(w, "starved_ms");
		jw_ms(w, (int64_t)f->starved_ns);
	}
	jw_obj_end(w);
}
