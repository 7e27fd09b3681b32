/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The web configuration file of Prometheus's exporter-toolkit
 * (https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md),
 * the subset that migscope serves: TLS with a certificate and key, basic
 * authentication with bcrypt hashes, extra response headers. Anything else
 * is refused with one line naming the file, line and key, so that a fleet's
 * existing file either works as it does for other exporters or says why not.
 *
 * The YAML read here is the block subset such files use: nested mappings by
 * indentation (spaces), plain, 'single' and "double" quoted scalars,
 * comments, an optional "---" and empty mappings "{}". Sequences, flow
 * collections, block scalars, anchors and tags are refused.
 */
#ifndef MIGSCOPE_WEB_CONFIG_H
#define MIGSCOPE_WEB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define WC_MAX_USERS   64
#define WC_MAX_HEADERS 16

struct wc_user {
	char *name;
	char *hash; /* bcrypt: $2y$, $2b$ or $2a$ */
};

struct wc_header {
	char *name;
	char *value;
};

struct wc_config {
	char *path;
	/* tls_server_config (TLS when cert_pem is set) */
	char *cert_file, *key_file; /* resolved against the file's directory */
	char *cert_pem, *key_pem;   /* their contents, read at load */
	char *priorities;	    /* GnuTLS priority string from min/max_version */
	/* basic_auth_users */
	struct wc_user users[WC_MAX_USERS];
	size_t nusers;
	/* http_server_config.headers */
	struct wc_header headers[WC_MAX_HEADERS];
	size_t nheaders;
	struct wc_cache *cache; /* verified credentials (bcrypt is slow on purpose) */
};

/* Parse the YAML text of a web config (path names it in errors and resolves
 * relative file names). NULL and one line in err on error. Certificates are
 * not read (wc_load does). */
struct wc_config *wc_parse(const char *text, const char *path, char *err, size_t errlen);
/* Read and parse path, then read the certificate and key files. */
struct wc_config *wc_load(const char *path, char *err, size_t errlen);
void wc_free(struct wc_config *c);

/* Whether user:pass matches a basic_auth_users entry. Thread-safe. An
 * unknown user costs a bcrypt like a known one. */
bool wc_check_basic(struct wc_config *c, const char *user, const char *pass);

#endif /* MIGSCOPE_WEB_CONFIG_H */
