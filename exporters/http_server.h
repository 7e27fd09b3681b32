/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The exporter's HTTP server (libmicrohttpd, one thread per connection, TLS
 * through GnuTLS): GET /metrics, GET / (a landing page), GET /-/healthy, and
 * the pages of the caller's page callback (/migrations..., gallery.h).
 * Other paths 404, other methods 405; basic authentication and TLS from a
 * web config. A scrape renders a snapshot that the caller hands over by
 * reference, so it never waits for the collector, and the collector never
 * waits for a scrape.
 */
#ifndef MIGSCOPE_HTTP_SERVER_H
#define MIGSCOPE_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include "prom.h"
#include "web_config.h"

#define HS_CONN_LIMIT	  64	      /* connections at once */
#define HS_PER_IP_LIMIT	  16	      /* from one address */
#define HS_TIMEOUT_S	  15	      /* an idle or slow connection is closed */
#define HS_REQ_MEM_LIMIT  (32 * 1024) /* request line and headers, per connection */
#define HS_DEFAULT_LISTEN ":9479"

struct hs_opts {
	int listen_fd;	       /* bound and listening (hs_listen) */
	struct wc_config *web; /* TLS and users, or NULL */
	/* A reference to the latest metrics snapshot (prom_snap_unref'd by the
	 * server), NULL if none yet. Called from connection threads. */
	struct prom_snap *(*snapshot)(void *arg);
	/* Other paths, or NULL: 0 with a malloc'd *body, *len and *type;
	 * -ENOENT (404) or another -errno (500). VM: the ?vm= argument. */
	int (*page)(void *arg, const char *url, const char *vm, char **body, size_t *len,
		    const char **type);
	void *arg;
};

struct hs;

/* Bind ADDR:PORT (":PORT" = every address, IPv6 and IPv4; "[::1]:PORT";
 * "host:PORT"; port 0 picks a free one). A listening fd, or -1 with one line
 * in err. */
int hs_listen(const char *spec, char *err, size_t errlen);
/* The address a listening fd is bound to, "127.0.0.1:9479" or "[::]:9479". */
void hs_local_addr(int fd, char *buf, size_t len);

struct hs *hs_start(const struct hs_opts *o, char *err, size_t errlen);
void hs_stop(struct hs *s);

struct hs_stats {
	uint64_t scrapes;
	uint64_t requests;
};
void hs_stats(struct hs *s, struct hs_stats *st);

#endif /* MIGSCOPE_HTTP_SERVER_H */
