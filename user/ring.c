// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The ring buffer reader of ring.h. The map's layout (kernel/bpf/ringbuf.c):
 * a consumer page the reader writes, then a producer page and the data pages
 * mapped twice in a row, read-only, so that a record that wraps around the
 * end reads as one piece. Each record starts with an 8-byte header: its
 * length with the busy and discard bits, and a page offset the reader does
 * not need.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "ring.h"

/* Records between two publications of the consumer position: a few KiB of
 * the ring held back, a cache miss for the producer per batch. */
#define RING_BATCH 64

struct ms_ring {
	ms_ring_cb cb;
	void *ctx;
	int epfd;
	unsigned long *consumer_pos; /* the consumer page, read-write */
	unsigned long *producer_pos; /* the producer page, then the data */
	unsigned char *data;
	unsigned long mask;
	size_t page, size;
};

struct ms_ring *ms_ring_new(int map_fd, ms_ring_cb cb, void *ctx)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	struct epoll_event ev = {.events = EPOLLIN};
	struct ms_ring *r;
	void *p;
	int e;

	if (bpf_map_get_info_by_fd(map_fd, &info, &len))
		return NULL;
	if (info.type != BPF_MAP_TYPE_RINGBUF || !info.max_entries ||
	    (info.max_entries & (info.max_entries - 1))) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->cb = cb;
	r->ctx = ctx;
	r->page = (size_t)sysconf(_SC_PAGESIZE);
	r->size = info.max_entries;
	r->mask = info.max_entries - 1;
	r->epfd = -1;
	p = mmap(NULL, r->page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	r->consumer_pos = p;
	p = mmap(NULL, r->page + 2 * r->size, PROT_READ, MAP_SHARED, map_fd, (off_t)r->page);
	if (p == MAP_FAILED)
		goto fail;
	r->producer_pos = p;
	r->data = (unsigned char *)p + r->page;
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0 || epoll_ctl(r->epfd, EPOLL_CTL_ADD, map_fd, &ev))
		goto fail;
	return r;
fail:
	e = errno;
	ms_ring_free(r);
	errno = e;
	return NULL;
}

/* What the ring holds, at most MS_RING_MAX_READ records. */
static int ring_read(struct ms_ring *r)
{
	unsigned long cons = __atomic_load_n(r->consumer_pos, __ATOMIC_ACQUIRE), prod, start = cons;
	unsigned int batch = 0;
	int n = 0, ret = 0;

	prod = __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE);
	while (cons < prod && n < MS_RING_MAX_READ) {
		__u32 *hdr = (__u32 *)(r->data + (cons & r->mask));
		__u32 len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE), sz;

		if (len & BPF_RINGBUF_BUSY_BIT)
			break; /* reserved, not yet submitted: the next read */
		sz = len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
		cons += (sz + BPF_RINGBUF_HDR_SZ + 7) & ~7ul;
		if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
			n++;
			ret = r->cb(r->ctx, (unsigned char *)hdr + BPF_RINGBUF_HDR_SZ, sz);
			if (ret < 0)
				break;
			ret = 0;
		}
		if (++batch == RING_BATCH) {
			__atomic_store_n(r->consumer_pos, cons, __ATOMIC_RELEASE);
			batch = 0;
		}
		if (cons >= prod)
			prod = __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE);
	}
	/* not written when nothing was read: the producer's copy of the line
	 * stays valid */
	if (cons != start)
		__atomic_store_n(r->consumer_pos, cons, __ATOMIC_RELEASE);
	return ret < 0 ? ret : n;
}

int ms_ring_poll(struct ms_ring *r, int timeout_ms)
{
	struct epoll_event ev;

	if (timeout_ms && epoll_wait(r->epfd, &ev, 1, timeout_ms) < 0)
		return -errno;
	return ring_read(r);
}

void ms_ring_free(struct ms_ring *r)
{
	if (!r)
		return;
	if (r->epfd >= 0)
		close(r->epfd);
	if (r->consumer_pos)
		munmap(r->consumer_pos, r->page);
	if (r->producer_pos)
		munmap(r->producer_pos, r->page + 2 * r->size);
	free(r);
}
