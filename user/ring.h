/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A reader of a BPF ring buffer map, in place of libbpf's ring_buffer: the
 * same records in the same order, but the consumer position is published
 * once per batch of records instead of after each one. The BPF side reads
 * that position at every reservation; a line written by this reader on
 * another CPU after each record cost the traced process a cache miss per
 * record.
 */
#ifndef MIGSCOPE_RING_H
#define MIGSCOPE_RING_H

#include <stddef.h>

/* Called for each record; a negative return stops the read and is returned. */
typedef int (*ms_ring_cb)(void *ctx, void *data, size_t size);

struct ms_ring;

/* A reader of the BPF_MAP_TYPE_RINGBUF map MAP_FD; NULL with errno set. */
struct ms_ring *ms_ring_new(int map_fd, ms_ring_cb cb, void *ctx);
/* Wait up to TIMEOUT_MS (0: not at all, -1: for ever) for a wakeup, then
 * read what the ring holds, woken or not (records can be submitted without
 * a wakeup), at most MS_RING_MAX_READ of them. Returns the records read,
 * -EINTR when a signal came, another -errno, or the callback's return. */
int ms_ring_poll(struct ms_ring *r, int timeout_ms);
void ms_ring_free(struct ms_ring *r);

#define MS_RING_MAX_READ (1 << 16)

#endif
