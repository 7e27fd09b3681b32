// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The exporter's HTTP server on libmicrohttpd (see http_server.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include "http_server.h"
#include "util.h"

struct hs {
	struct hs_opts o;
	struct MHD_Daemon *d;
	pthread_mutex_t mu; /* reg, counters */
	struct prom_reg *reg;
	uint64_t scrapes, requests;
};

static const char landing[] =
    "<!DOCTYPE html>\n"
    "<html><head><meta charset=\"utf-8\"><title>migscope exporter</title></head>\n"
    "<body><h1>migscope exporter</h1>\n"
    "<p>Prometheus metrics of QEMU live migrations and their switchover-ack handshake, "
    "traced with BPF.</p>\n"
    "<ul><li><a href=\"metrics\">Metrics</a></li>\n"
    "<li><a href=\"migrations\">Recent migrations</a> (JSON; each with the URL of its "
    "picture)</li>\n"
    "<li><a href=\"-/healthy\">Health</a></li></ul>\n"
    "<p>migscope " MS_VERSION "</p></body></html>\n";

static int marker;

/* ------------------------------------------------------------------ */
/* listening socket */

int hs_listen(const char *spec, char *err, size_t errlen)
{
	char host[256] = "", port[16];
	const char *colon;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL, *ai;
	char *end;
	long pn;
	int fd = -1, one = 1, zero = 0, e = 0;

	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');

		if (!rb || rb[1] != ':' || (size_t)(rb - spec - 1) >= sizeof(host)) {
			snprintf(err, errlen, "--listen takes ADDR:PORT, not '%s'", spec);
			return -1;
		}
		memcpy(host, spec + 1, rb - spec - 1);
		host[rb - spec - 1] = '\0';
		colon = rb + 1;
	} else {
		colon = strrchr(spec, ':');
		if (!colon || (size_t)(colon - spec) >= sizeof(host)) {
			snprintf(err, errlen, "--listen takes ADDR:PORT (or :PORT), not '%s'",
				 spec);
			return -1;
		}
		memcpy(host, spec, colon - spec);
		host[colon - spec] = '\0';
	}
	errno = 0;
	pn = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || pn < 0 || pn > 65535) {
		snprintf(err, errlen, "--listen: '%s' is not a port number", colon + 1);
		return -1;
	}
	snprintf(port, sizeof(port), "%ld", pn);
	if (!host[0]) {
		/* every address: one IPv6 socket that takes IPv4 too, else IPv4 */
		struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(pn)};
		struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(pn)};

		fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0) {
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
			if (!bind(fd, (struct sockaddr *)&a6, sizeof(a6)) && !listen(fd, 64))
				return fd;
			e = errno;
			close(fd);
			if (e != EAFNOSUPPORT && e != EADDRNOTAVAIL)
				goto fail;
		}
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			e = errno;
			goto fail;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, (struct sockaddr *)&a4, sizeof(a4)) && !listen(fd, 64))
			return fd;
		e = errno;
		close(fd);
		goto fail;
	}
	hints.ai_flags = AI_NUMERICSERV;
	e = getaddrinfo(host, port, &hints, &res);
	if (e) {
		snprintf(err, errlen, "cannot listen on %s: %s", spec, gai_strerror(e));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, 64)) {
			freeaddrinfo(res);
			return fd;
		}
		e = errno;
		close(fd);
	}
	freeaddrinfo(res);
fail:
	snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(e));
	return -1;
}

void hs_local_addr(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char h[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (getsockname(fd, (struct sockaddr *)&ss, &sl)) {
		snprintf(buf, len, "?");
		return;
	}
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &a->sin6_addr, h, sizeof(h));
		port = ntohs(a->sin6_port);
		snprintf(buf, len, "[%s]:%d", h, port);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &a->sin_addr, h, sizeof(h));
		port = ntohs(a->sin_port);
		snprintf(buf, len, "%s:%d", h, port);
	}
}

/* ------------------------------------------------------------------ */
/* requests */

/* Whether an Accept-Encoding value takes gzip (not with q=0). */
static bool wants_gzip(const char *ae)
{
	const char *p = ae;

	while (p && *p) {
		const char *tok, *semi, *comma = strchr(p, ',');
		size_t n;

		while (*p == ' ')
			p++;
		tok = p;
		n = comma ? (size_t)(comma - p) : strlen(p);
		semi = memchr(tok, ';', n);
		if ((size_t)((semi ? semi : tok + n) - tok) >= 4 && !strncasecmp(tok, "gzip", 4)) {
			const char *q = semi ? strstr(semi, "q=") : NULL;

			if (!q || q > tok + n || strtod(q + 2, NULL) > 0)
				return true;
		}
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

static void count(struct hs *s, unsigned int code)
{
	char c[8];
	const char *l[1] = {c};

	snprintf(c, sizeof(c), "%u", code);
	pthread_mutex_lock(&s->mu);
	s->requests++;
	prom_add(prom_get(s->reg, PF_HTTP, 0, l), 1);
	pthread_mutex_unlock(&s->mu);
}

static void add_headers(struct hs *s, struct MHD_Response *r)
{
	if (!s->o.web)
		return;
	for (size_t i = 0; i < s->o.web->nheaders; i++)
		MHD_add_response_header(r, s->o.web->headers[i].name, s->o.web->headers[i].value);
}

static enum MHD_Result reply(struct hs *s, struct MHD_Connection *c, unsigned int code,
			     const char *type, const char *body)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	add_headers(s, r);
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	count(s, code);
	return ret;
}

static enum MHD_Result metrics(struct hs *s, struct MHD_Connection *c)
{
	uint64_t t0 = ms_now_mono();
	struct prom_snap *snaps[2];
	struct prom_buf body = {}, gz = {};
	const char *ae = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept-Encoding");
	bool gzip = ae && wants_gzip(ae);
	struct MHD_Response *r;
	enum MHD_Result ret;
	struct prom_buf *out = &body;

	snaps[0] = s->o.snapshot(s->o.arg);
	if (!snaps[0])
		return reply(s, c, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8",
			     "no metrics yet\n");
	pthread_mutex_lock(&s->mu);
	snaps[1] = prom_snap_take(s->reg);
	pthread_mutex_unlock(&s->mu);
	prom_render(&body, snaps, 2);
	prom_snap_unref(snaps[0]);
	prom_snap_unref(snaps[1]);
	if (gzip && !body.err && !prom_gzip(body.p, body.len, &gz)) {
		out = &gz;
		prom_buf_free(&body);
	} else {
		gzip = false;
		prom_buf_free(&gz);
	}
	if (out->err || !out->p) {
		prom_buf_free(&body);
		prom_buf_free(&gz);
		return reply(s, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8",
			     "out of memory\n");
	}
	r = MHD_create_response_from_buffer_with_free_callback(out->len, out->p, free);
	if (!r) {
		prom_buf_free(out);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, PROM_CONTENT_TYPE);
	MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
	if (gzip)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	add_headers(s, r);
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	pthread_mutex_lock(&s->mu);
	s->scrapes++;
	prom_observe_ns(prom_get(s->reg, PF_SCRAPE, 0, NULL), (int64_t)(ms_now_mono() - t0));
	pthread_mutex_unlock(&s->mu);
	count(s, MHD_HTTP_OK);
	return ret;
}

/* A page of the caller's (hs_opts.page) */
static enum MHD_Result page(struct hs *s, struct MHD_Connection *c, const char *url)
{
	const char *vm = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "vm");
	const char *type = "text/plain; charset=utf-8";
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *body = NULL;
	size_t len = 0;
	int err = s->o.page(s->o.arg, url, vm, &body, &len, &type);

	if (err == -ENOENT)
		return reply(s, c, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", "Not Found\n");
	if (err)
		return reply(s, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8",
			     "out of memory\n");
	r = MHD_create_response_from_buffer_with_free_callback(len, body, free);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	add_headers(s, r);
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	count(s, MHD_HTTP_OK);
	return ret;
}

static bool authorized(struct hs *s, struct MHD_Connection *c)
{
	char *pass = NULL, *user;
	bool ok;

	if (!s->o.web || !s->o.web->nusers)
		return true;
	user = MHD_basic_auth_get_username_password(c, &pass);
	ok = user && pass && wc_check_basic(s->o.web, user, pass);
	if (pass) {
		explicit_bzero(pass, strlen(pass));
		MHD_free(pass);
	}
	MHD_free(user);
	return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct hs *s = cls;

	bool get = !strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD);
	bool body = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length") ||
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Transfer-Encoding");

	/* Every answer is decided by the request line and headers alone. A
	 * request with a body is answered at once, and the connection closed
	 * without reading the body; one without is answered on the second call,
	 * once libmicrohttpd knows the request is complete, so that the
	 * connection can stay open for the next scrape. */
	if (!*con_cls) {
		*con_cls = &marker;
		if (get && !body)
			return MHD_YES;
	} else if (*upload_size) {
		*upload_size = 0; /* never reached: answered at the first call */
		return MHD_YES;
	}
	if (!authorized(s, c)) {
		static const char body[] = "Unauthorized\n";
		struct MHD_Response *r = MHD_create_response_from_buffer(
		    sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
		enum MHD_Result ret;

		if (!r)
			return MHD_NO;
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					"text/plain; charset=utf-8");
		add_headers(s, r);
		ret = MHD_queue_basic_auth_fail_response(c, "migscope", r);
		MHD_destroy_response(r);
		count(s, MHD_HTTP_UNAUTHORIZED);
		return ret;
	}
	if (!get)
		return reply(s, c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
			     "Method Not Allowed\n");
	if (!strcmp(url, "/metrics"))
		return metrics(s, c);
	if (!strcmp(url, "/"))
		return reply(s, c, MHD_HTTP_OK, "text/html; charset=utf-8", landing);
	if (!strcmp(url, "/-/healthy"))
		return reply(s, c, MHD_HTTP_OK, "text/plain; charset=utf-8", "OK\n");
	if (s->o.page)
		return page(s, c, url);
	return reply(s, c, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", "Not Found\n");
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	if (!ms_verbose)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	ms_dbg("http: %s", line);
}

struct hs *hs_start(const struct hs_opts *o, char *err, size_t errlen)
{
	struct hs *s = calloc(1, sizeof(*s));
	unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			     MHD_USE_POLL | MHD_USE_ERROR_LOG;
	struct MHD_OptionItem opts[16];
	int n = 0;

	if (!s || !(s->reg = prom_reg_new())) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->o = *o;
	pthread_mutex_init(&s->mu, NULL);
	/* the scrape histogram exists from the start */
	prom_get(s->reg, PF_SCRAPE, 0, NULL);
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, o->listen_fd, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, HS_CONN_LIMIT, NULL};
	opts[n++] =
	    (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT, HS_PER_IP_LIMIT, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, HS_TIMEOUT_S, NULL};
	opts[n++] =
	    (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, HS_REQ_MEM_LIMIT, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL};
	/* HTTP/1.1 without Host, and the like, get 400 */
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_STRICT_FOR_CLIENT, 1, NULL};
	if (o->web && o->web->cert_pem) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			snprintf(err, errlen, "this libmicrohttpd was built without TLS");
			goto fail;
		}
		flags |= MHD_USE_TLS;
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, o->web->key_pem};
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, o->web->cert_pem};
		opts[n++] =
		    (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, o->web->priorities};
	}
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_ARRAY, opts,
				MHD_OPTION_END);
	if (!s->d) {
		if (o->web && o->web->cert_pem)
			snprintf(err, errlen,
				 "cannot start the HTTPS server: check that %s and %s are a PEM "
				 "certificate and its key",
				 o->web->cert_file, o->web->key_file);
		else
			snprintf(err, errlen, "cannot start the HTTP server");
		goto fail;
	}
	return s;
fail:
	prom_reg_free(s->reg);
	pthread_mutex_destroy(&s->mu);
	free(s);
	return NULL;
}

void hs_stop(struct hs *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->d);
	prom_reg_free(s->reg);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

void hs_stats(struct hs *s, struct hs_stats *st)
{
	pthread_mutex_lock(&s->mu);
	st->scrapes = s->scrapes;
	st->requests = s->requests;
	pthread_mutex_unlock(&s->mu);
}
