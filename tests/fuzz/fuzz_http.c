// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: the input is what a client sends to `migscope serve`.
 * The exporter's HTTP server (exporters/http_server.c on libmicrohttpd) runs
 * in this process on 127.0.0.1 with basic authentication and an extra
 * header, as a --web-config gives them, and a metrics snapshot to serve;
 * each input goes out on a new connection, then the write side is shut and
 * the answer read to its end. Built by `make fuzz`.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_server.h"
#include "prom.h"
#include "web_config.h"

/* user "prom", password "secret", bcrypt cost 4 (the fastest) */
static const char web_yml[] =
    "basic_auth_users:\n"
    "  prom: $2b$04$2qbdrns//cGJI9eYi/YDluwTNmBreEv4jxO.8JFpYgEPDDl7wjMdm\n"
    "http_server_config:\n"
    "  headers:\n"
    "    X-Content-Type-Options: nosniff\n";

static struct hs *server;
static int base_threads; /* this process's threads with the server idle,
			  * counted at the first input (libFuzzer starts its own
			  * after LLVMFuzzerInitialize) */
static struct sockaddr_in addr;
static struct prom_reg *reg;
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;

static struct prom_snap *snapshot(void *arg)
{
	struct prom_snap *s;

	(void)arg;
	pthread_mutex_lock(&reg_mu);
	s = prom_snap_take(reg);
	pthread_mutex_unlock(&reg_mu);
	return s;
}

/* Threads of this process: the server has one per connection. */
static int threads(void)
{
	char line[128];
	int n = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct hs_opts o = {.snapshot = snapshot};
	socklen_t sl = sizeof(addr);
	char err[256];
	struct wc_config *web;

	(void)argc, (void)argv;
	reg = prom_reg_new();
	web = wc_parse(web_yml, "/etc/migscope/web.yml", err, sizeof(err));
	if (!reg || !web) {
		fprintf(stderr, "fuzz_http: %s\n", web ? "out of memory" : err);
		abort();
	}
	prom_add(prom_get(reg, PF_BUILD, 0, PROM_L("fuzz")), 1);
	prom_add(prom_get(reg, PF_LOST, 0, NULL), 7);
	o.listen_fd = hs_listen("127.0.0.1:0", err, sizeof(err));
	o.web = web;
	if (o.listen_fd < 0 || getsockname(o.listen_fd, (struct sockaddr *)&addr, &sl)) {
		fprintf(stderr, "fuzz_http: %s\n", err);
		abort();
	}
	server = hs_start(&o, err, sizeof(err));
	if (!server) {
		fprintf(stderr, "fuzz_http: %s\n", err);
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char buf[64 * 1024];

	if (!base_threads)
		base_threads = threads();
	if (fd < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		close(fd);
		return 0;
	}
	for (size_t off = 0; off < size;) {
		ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	/* the answer, to the server's close or 2 s of silence (a request it
	 * takes as incomplete waits for more: closing ends it) */
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		if (poll(&p, 1, 2000) <= 0 || recv(fd, buf, sizeof(buf), 0) <= 0)
			break;
	}
	close(fd);
	/* the connection's thread done (a request it still works on, a bcrypt,
	 * holds memory that LeakSanitizer would call leaked), 10 s at most */
	for (int i = 0; i < 10000 && threads() > base_threads; i++)
		usleep(1000);
	return 0;
}
