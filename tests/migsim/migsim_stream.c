// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "migsim_log.h"
#include "migsim_stream.h"

int send_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t k = send(fd, b, n, MSG_NOSIGNAL);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		}
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

void wr_init(struct ms_wr *w, int fd)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
}

int wr_flush(struct ms_wr *w)
{
	if (!w->err && w->len) {
		int ret = send_all(w->fd, w->buf, w->len);

		if (ret)
			w->err = ret;
	}
	w->len = 0;
	return w->err;
}

void wr_buf(struct ms_wr *w, const void *p, size_t n)
{
	if (w->err)
		return;
	w->total += n;
	w->rate_used += n;
	if (w->len + n <= sizeof(w->buf)) {
		memcpy(w->buf + w->len, p, n);
		w->len += n;
		return;
	}
	if (wr_flush(w))
		return;
	if (n <= sizeof(w->buf)) {
		memcpy(w->buf, p, n);
		w->len = n;
		return;
	}
	w->err = send_all(w->fd, p, n);
}

void wr_u8(struct ms_wr *w, uint8_t v)
{
	wr_buf(w, &v, 1);
}

void wr_be16(struct ms_wr *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	wr_buf(w, b, sizeof(b));
}

void wr_be32(struct ms_wr *w, uint32_t v)
{
	uint32_t b = htonl(v);

	wr_buf(w, &b, sizeof(b));
}

void wr_be64(struct ms_wr *w, uint64_t v)
{
	wr_be32(w, (uint32_t)(v >> 32));
	wr_be32(w, (uint32_t)v);
}

void rd_init(struct ms_rd *r, int fd, int timeout_ms)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->timeout_ms = timeout_ms;
}

static int rd_fill(struct ms_rd *r)
{
	uint64_t deadline;

	if (r->err)
		return r->err;
	if (r->pos < r->len)
		return 0;
	r->pos = r->len = 0;
	deadline = r->timeout_ms < 0 ? UINT64_MAX : ms_now() + (uint64_t)r->timeout_ms * 1000000ull;
	for (;;) {
		struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
		uint64_t due = UINT64_MAX, now, until;
		int wait_ms, ret;
		ssize_t n;

		if (r->stop && *r->stop)
			return r->err = -EINTR;
		if (r->hook) {
			ret = r->hook(r->ctx, &due);
			if (ret < 0)
				return r->err = ret;
		}
		now = ms_now();
		if (now >= deadline)
			return r->err = -ETIMEDOUT;
		until = due < deadline ? due : deadline;
		if (until == UINT64_MAX)
			wait_ms = -1;
		else if (until <= now)
			wait_ms = 0;
		else
			wait_ms = (int)((until - now + 999999) / 1000000);
		ret = poll(&pfd, 1, wait_ms);
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			return r->err = -errno;
		}
		if (ret == 0)
			continue;
		n = recv(r->fd, r->buf, sizeof(r->buf), 0);
		if (n > 0) {
			r->len = (size_t)n;
			r->total += (uint64_t)n;
			return 0;
		}
		if (n == 0) {
			r->eof = true;
			return r->err = -EPIPE;
		}
		if (errno == EINTR || errno == EAGAIN)
			continue;
		return r->err = -errno;
	}
}

int rd_buf(struct ms_rd *r, void *p, size_t n)
{
	uint8_t *d = p;

	while (n) {
		size_t k;

		if (rd_fill(r)) {
			memset(d, 0, n);
			return r->err;
		}
		k = r->len - r->pos < n ? r->len - r->pos : n;
		memcpy(d, r->buf + r->pos, k);
		r->pos += k;
		d += k;
		n -= k;
	}
	return 0;
}

size_t rd_take(struct ms_rd *r, size_t max, const uint8_t **p)
{
	size_t k;

	if (rd_fill(r))
		return 0;
	k = r->len - r->pos < max ? r->len - r->pos : max;
	*p = r->buf + r->pos;
	r->pos += k;
	return k;
}

uint8_t rd_u8(struct ms_rd *r)
{
	uint8_t v;

	rd_buf(r, &v, 1);
	return v;
}

uint16_t rd_be16(struct ms_rd *r)
{
	uint8_t b[2];

	rd_buf(r, b, 2);
	return (uint16_t)(b[0] << 8 | b[1]);
}

uint32_t rd_be32(struct ms_rd *r)
{
	uint32_t v;

	rd_buf(r, &v, 4);
	return ntohl(v);
}

uint64_t rd_be64(struct ms_rd *r)
{
	uint64_t hi = rd_be32(r);

	return hi << 32 | rd_be32(r);
}

const char *rd_strerror(const struct ms_rd *r)
{
	if (r->eof)
		return "connection closed by peer";
	if (r->err == -ETIMEDOUT)
		return "timed out waiting for data";
	return strerror(-r->err);
}

void tcp_tune(int fd, int timeout_ms)
{
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	int one = 1;

	/* small return-path messages must not wait behind Nagle */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int tcp_addr(const char *host, int port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -EINVAL;
	return 0;
}

int tcp_listen(const char *host, int port)
{
	struct sockaddr_in sa;
	int fd, one = 1, ret;

	ret = tcp_addr(host, port, &sa);
	if (ret)
		return ret;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int tcp_accept(int lfd, int timeout_ms, volatile sig_atomic_t *stop)
{
	uint64_t deadline = ms_now() + (uint64_t)timeout_ms * 1000000ull;

	for (;;) {
		struct pollfd pfd = {.fd = lfd, .events = POLLIN};
		uint64_t now = ms_now();
		int ret, fd;

		if (stop && *stop)
			return -EINTR;
		if (now >= deadline)
			return -ETIMEDOUT;
		ret = poll(&pfd, 1, (int)((deadline - now + 999999) / 1000000));
		if (ret < 0 && errno != EINTR)
			return -errno;
		if (ret <= 0)
			continue;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			return fd;
		if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
			return -errno;
	}
}

int tcp_connect(const char *host, int port, int timeout_ms)
{
	struct sockaddr_in sa;
	struct pollfd pfd;
	int fd, ret, soerr = 0;
	socklen_t sl = sizeof(soerr);

	ret = tcp_addr(host, port, &sa);
	if (ret)
		return ret;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS) {
		ret = -errno;
		goto fail;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	do {
		ret = poll(&pfd, 1, timeout_ms);
	} while (ret < 0 && errno == EINTR);
	if (ret <= 0) {
		ret = ret ? -errno : -ETIMEDOUT;
		goto fail;
	}
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
	if (soerr) {
		ret = -soerr;
		goto fail;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
fail:
	close(fd);
	return ret;
}
