/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The migration channel: a loopback TCP connection that carries the stream
 * from source to destination and the return path back, with QEMUFile-like
 * buffered big-endian writers and readers. Errors stick (like
 * qemu_file_get_error): after the first one every call is a no-op.
 */
#ifndef MIGSIM_STREAM_H
#define MIGSIM_STREAM_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* QEMU's stream format (migration/savevm.h) */
#define QEMU_VM_FILE_MAGIC     0x5145564d
#define QEMU_VM_FILE_VERSION   0x00000003
#define QEMU_VM_EOF	       0x00
#define QEMU_VM_SECTION_START  0x01
#define QEMU_VM_SECTION_PART   0x02
#define QEMU_VM_SECTION_END    0x03
#define QEMU_VM_SECTION_FULL   0x04
#define QEMU_VM_COMMAND	       0x08
#define QEMU_VM_SECTION_FOOTER 0x7e

/* enum qemu_vm_cmd */
#define MIG_CMD_OPEN_RETURN_PATH 1
#define MIG_CMD_PING		 2
#define MIG_CMD_SWITCHOVER_START 11

/* enum mig_rp_message_type */
#define MIG_RP_MSG_SHUT		  1
#define MIG_RP_MSG_PONG		  2
#define MIG_RP_MSG_SWITCHOVER_ACK 7
#define MIG_RP_MSG_MAX		  8

/* RAM payload: chunks of (be64 length, bytes), ended by be64 0 (EOS) */
#define RAM_SAVE_FLAG_EOS 0

struct ms_wr {
	int fd;
	int err;	    /* first error, -errno */
	uint64_t total;	    /* bytes put since the start */
	uint64_t rate_used; /* bytes put since the last rate-limit reset */
	size_t len;
	uint8_t buf[64 * 1024];
};

void wr_init(struct ms_wr *w, int fd);
void wr_u8(struct ms_wr *w, uint8_t v);
void wr_be16(struct ms_wr *w, uint16_t v);
void wr_be32(struct ms_wr *w, uint32_t v);
void wr_be64(struct ms_wr *w, uint64_t v);
void wr_buf(struct ms_wr *w, const void *p, size_t n);
int wr_flush(struct ms_wr *w);

/*
 * Called before each wait for data: runs whatever is due (the destination's
 * delayed approvals) and sets *due_ns to the next deadline (CLOCK_MONOTONIC),
 * or leaves it at UINT64_MAX. A negative return aborts the read with that
 * error.
 */
typedef int (*ms_rd_hook)(void *ctx, uint64_t *due_ns);

struct ms_rd {
	int fd;
	int err;
	bool eof;
	uint64_t total;
	int timeout_ms; /* per wait for data; < 0: none */
	ms_rd_hook hook;
	void *ctx;
	volatile sig_atomic_t *stop;
	size_t pos;
	size_t len;
	uint8_t buf[64 * 1024];
};

void rd_init(struct ms_rd *r, int fd, int timeout_ms);
uint8_t rd_u8(struct ms_rd *r);
uint16_t rd_be16(struct ms_rd *r);
uint32_t rd_be32(struct ms_rd *r);
uint64_t rd_be64(struct ms_rd *r);
int rd_buf(struct ms_rd *r, void *p, size_t n);
/* Up to max bytes straight from the buffer; 0 on error. */
size_t rd_take(struct ms_rd *r, size_t max, const uint8_t **p);
/* What went wrong with the reader, for an error message. */
const char *rd_strerror(const struct ms_rd *r);

int send_all(int fd, const void *p, size_t n);

int tcp_listen(const char *host, int port);
int tcp_accept(int lfd, int timeout_ms, volatile sig_atomic_t *stop);
int tcp_connect(const char *host, int port, int timeout_ms);
void tcp_tune(int fd, int timeout_ms);

#endif /* MIGSIM_STREAM_H */
