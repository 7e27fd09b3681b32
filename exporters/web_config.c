// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The exporter-toolkit web configuration, the subset migscope serves. */
#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "web_config.h"

#define WC_MAX_FILE (1 << 20)
#define MAX_DEPTH   8

/* A bcrypt hash of nothing anyone knows, at the usual cost: an unknown user
 * costs what a known one does, so that timing does not tell them apart. */
#define DUMMY_HASH "$2y$10$11M/Q0DaVpqXp0Ny7Wr9uu286Af3QPjDyOVWPgbEn27eRK8ZsV9Ta"

struct wc_cache {
	pthread_mutex_t mu;
	char *ok[WC_MAX_USERS]; /* the password last verified for users[i] */
};

/* ------------------------------------------------------------------ */
/* the YAML subset: a tree of mappings with scalar leaves */

struct ynode {
	char *key;
	char *value; /* scalar, NULL for a mapping or an empty value */
	bool map;    /* has (or may have) children */
	int line;
	struct ynode **kids;
	size_t nkids;
};

struct yerr {
	char *buf;
	size_t len;
	const char *path;
};

static void yerror(struct yerr *e, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void yerror(struct yerr *e, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (e->buf[0])
		return; /* the first error is the one to fix */
	n = line ? snprintf(e->buf, e->len, "%s:%d: ", e->path, line)
		 : snprintf(e->buf, e->len, "%s: ", e->path);
	if (n < 0 || (size_t)n >= e->len)
		return;
	va_start(ap, fmt);
	vsnprintf(e->buf + n, e->len - n, fmt, ap);
	va_end(ap);
}

static void ynode_free(struct ynode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nkids; i++)
		ynode_free(n->kids[i]);
	free(n->kids);
	free(n->key);
	free(n->value);
	free(n);
}

static struct ynode *ynode_add(struct ynode *parent)
{
	struct ynode **k = realloc(parent->kids, (parent->nkids + 1) * sizeof(*k));
	struct ynode *n;

	if (!k)
		return NULL;
	parent->kids = k;
	n = calloc(1, sizeof(*n));
	if (n)
		parent->kids[parent->nkids++] = n;
	return n;
}

/* Skip spaces; true if only a comment or nothing is left. */
static bool rest_empty(const char *p)
{
	while (*p == ' ')
		p++;
	return !*p || *p == '#';
}

/* A scalar at p (a key when is_key: it ends at ": " or ":" + end). Returns
 * the text (malloc) and leaves *end after it, NULL on error. */
static char *yscalar(const char *p, const char **end, bool is_key, struct yerr *e, int line)
{
	char *out = malloc(strlen(p) + 1), *o = out;

	if (!out) {
		yerror(e, line, "out of memory");
		return NULL;
	}
	if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			if (*p != '\\') {
				*o++ = *p;
				continue;
			}
			switch (*++p) {
			case '\\': *o++ = '\\'; break;
			case '"': *o++ = '"'; break;
			case '/': *o++ = '/'; break;
			case 'n': *o++ = '\n'; break;
			case 't': *o++ = '\t'; break;
			case 'r': *o++ = '\r'; break;
			case ' ': *o++ = ' '; break;
			default:
				yerror(e, line,
				       "escape \\%c in a double-quoted string is not supported",
				       *p ? *p : ' ');
				free(out);
				return NULL;
			}
		}
		if (*p != '"') {
			yerror(e, line, "unterminated double-quoted string");
			free(out);
			return NULL;
		}
		p++;
	} else if (*p == '\'') {
		for (p++; *p; p++) {
			if (*p == '\'' && p[1] == '\'')
				*o++ = *p++;
			else if (*p == '\'')
				break;
			else
				*o++ = *p;
		}
		if (*p != '\'') {
			yerror(e, line, "unterminated single-quoted string");
			free(out);
			return NULL;
		}
		p++;
	} else {
		const char *s = p;

		if (strchr("&*!|>[{%@`", *p) || (*p == '-' && (p[1] == ' ' || !p[1]))) {
			const char *what = *p == '&' || *p == '*'   ? "anchors and aliases"
					   : *p == '!'		    ? "tags"
					   : *p == '|' || *p == '>' ? "block scalars"
					   : *p == '[' || *p == '{' ? "flow collections"
					   : *p == '-'		    ? "sequences"
								    : "this character";

			yerror(e, line, "%s are not supported (at '%.20s')", what, p);
			free(out);
			return NULL;
		}
		for (; *p; p++) {
			if (is_key && *p == ':' && (p[1] == ' ' || !p[1]))
				break;
			if (*p == '#' && p > s && p[-1] == ' ')
				break;
			*o++ = *p;
		}
		while (o > out && o[-1] == ' ')
			o--;
	}
	*o = '\0';
	*end = p;
	return out;
}

/* Parse text into a root mapping. */
static struct ynode *yparse(const char *text, struct yerr *e)
{
	struct ynode *root = calloc(1, sizeof(*root));
	struct {
		int indent;
		struct ynode *map;
	} st[MAX_DEPTH];
	int depth = 0, line = 0;
	struct ynode *last = NULL; /* the previous key, a mapping if it had no value */
	const char *p = text;
	bool started = false;

	if (!root) {
		yerror(e, 0, "out of memory");
		return NULL;
	}
	root->map = true;
	st[0].indent = -1;
	st[0].map = root;
	if (!strncmp(p, "\xef\xbb\xbf", 3))
		p += 3; /* a UTF-8 byte order mark, as some editors write */
	while (*p && !e->buf[0]) {
		const char *eol = strchr(p, '\n'), *q;
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char *ln = strndup(p, len);
		int ind = 0;

		line++;
		p += len + (eol ? 1 : 0);
		if (!ln) {
			yerror(e, line, "out of memory");
			break;
		}
		if (len && ln[len - 1] == '\r')
			ln[len - 1] = '\0';
		while (ln[ind] == ' ')
			ind++;
		q = ln + ind;
		if (*q == '\t') {
			yerror(e, line, "tab in indentation (YAML indents with spaces)");
			free(ln);
			break;
		}
		if (!*q || *q == '#') {
			free(ln);
			continue;
		}
		if (!ind && !strncmp(q, "---", 3) && rest_empty(q + 3)) {
			if (started)
				yerror(e, line, "more than one YAML document");
			free(ln);
			continue;
		}
		if (!ind && !strncmp(q, "...", 3) && rest_empty(q + 3)) {
			free(ln);
			break;
		}
		started = true;

		/* where this key belongs: a deeper key opens the previous key's mapping */
		if (st[depth].indent < 0) {
			st[depth].indent = ind;
		} else if (ind > st[depth].indent) {
			if (!last || !last->map || last->value) {
				yerror(e, line, "unexpected indentation");
				free(ln);
				break;
			}
			if (depth + 1 >= MAX_DEPTH) {
				yerror(e, line, "nested too deep");
				free(ln);
				break;
			}
			depth++;
			st[depth].indent = ind;
			st[depth].map = last;
		} else {
			while (depth > 0 && ind < st[depth].indent)
				depth--;
			if (ind != st[depth].indent) {
				yerror(e, line, "indentation does not match any outer level");
				free(ln);
				break;
			}
		}

		/* key */
		const char *after;
		char *key = yscalar(q, &after, true, e, line);
		struct ynode *n;

		if (!key) {
			free(ln);
			break;
		}
		while (*after == ' ')
			after++;
		if (*after != ':') {
			yerror(e, line, "expected 'key: value', found '%.40s'", q);
			free(key);
			free(ln);
			break;
		}
		after++;
		for (size_t i = 0; i < st[depth].map->nkids; i++)
			if (!strcmp(st[depth].map->kids[i]->key, key)) {
				yerror(e, line, "duplicate key '%s'", key);
				break;
			}
		n = e->buf[0] ? NULL : ynode_add(st[depth].map);
		if (!n) {
			yerror(e, line, "out of memory");
			free(key);
			free(ln);
			break;
		}
		n->key = key;
		n->line = line;
		while (*after == ' ')
			after++;
		if (rest_empty(after)) {
			n->map = true; /* a nested mapping follows, or null */
		} else if (!strncmp(after, "{}", 2) && rest_empty(after + 2)) {
			n->map = true;
		} else {
			const char *end;

			n->value = yscalar(after, &end, false, e, line);
			if (n->value && !rest_empty(end))
				yerror(e, line, "unexpected text after the value: '%.40s'", end);
		}
		last = n;
		free(ln);
	}
	if (e->buf[0]) {
		ynode_free(root);
		return NULL;
	}
	return root;
}

/* ------------------------------------------------------------------ */
/* the web config keys */

static char *resolve(const char *cfg_path, const char *file)
{
	const char *slash = strrchr(cfg_path, '/');
	char *out;

	if (file[0] == '/' || !slash)
		return strdup(file);
	if (asprintf(&out, "%.*s/%s", (int)(slash - cfg_path), cfg_path, file) < 0)
		return NULL;
	return out;
}

static int tls_version(const char *v)
{
	static const char *const names[] = {"TLS10", "TLS11", "TLS12", "TLS13"};

	for (int i = 0; i < 4; i++)
		if (!strcmp(v, names[i]))
			return i;
	return -1;
}

static bool is_bcrypt(const char *h)
{
	return strlen(h) == 60 && h[0] == '$' && h[1] == '2' && strchr("aby", h[2]) &&
	       h[3] == '$' && h[6] == '$';
}

static bool parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE")) {
		*out = true;
		return true;
	}
	if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE")) {
		*out = false;
		return true;
	}
	return false;
}

static const char *scalar_of(const struct ynode *n, const char *section, struct yerr *e)
{
	if (n->nkids || !n->value) {
		yerror(e, n->line, "%s.%s takes a value", section, n->key);
		return NULL;
	}
	return n->value;
}

static void tls_section(struct wc_config *c, const struct ynode *sec, struct yerr *e)
{
	int vmin = 2, vmax = 3;

	for (size_t i = 0; i < sec->nkids && !e->buf[0]; i++) {
		const struct ynode *n = sec->kids[i];
		const char *v;
		bool b;

		if (!strcmp(n->key, "cert_file") || !strcmp(n->key, "key_file")) {
			char **dst = n->key[0] == 'c' ? &c->cert_file : &c->key_file;

			if (!(v = scalar_of(n, "tls_server_config", e)))
				return;
			if (*v && !(*dst = resolve(c->path, v)))
				yerror(e, n->line, "out of memory");
		} else if (!strcmp(n->key, "min_version") || !strcmp(n->key, "max_version")) {
			int ver;

			if (!(v = scalar_of(n, "tls_server_config", e)))
				return;
			ver = tls_version(v);
			if (ver < 0) {
				yerror(e, n->line,
				       "tls_server_config.%s: '%s' is not TLS10, TLS11, TLS12 or "
				       "TLS13",
				       n->key, v);
				return;
			}
			if (n->key[1] == 'i')
				vmin = ver;
			else
				vmax = ver;
		} else if (!strcmp(n->key, "client_auth_type")) {
			if (!(v = scalar_of(n, "tls_server_config", e)))
				return;
			if (strcmp(v, "NoClientCert"))
				yerror(e, n->line,
				       "tls_server_config.client_auth_type %s is not supported "
				       "(client certificates are not checked; only NoClientCert)",
				       v);
		} else if (!strcmp(n->key, "prefer_server_cipher_suites")) {
			/* ignored by Go since 1.18 too: the TLS library decides */
			if (!(v = scalar_of(n, "tls_server_config", e)))
				return;
			if (!parse_bool(v, &b))
				yerror(e, n->line, "tls_server_config.%s takes true or false",
				       n->key);
		} else if (!strcmp(n->key, "cipher_suites") ||
			   !strcmp(n->key, "curve_preferences") ||
			   !strcmp(n->key, "client_ca_file") ||
			   !strcmp(n->key, "client_allowed_sans") || !strcmp(n->key, "cert") ||
			   !strcmp(n->key, "key")) {
			yerror(
			    e, n->line,
			    "tls_server_config.%s is not supported by migscope serve (supported: "
			    "cert_file, key_file, min_version, max_version)",
			    n->key);
		} else {
			yerror(e, n->line, "unknown key tls_server_config.%s", n->key);
		}
	}
	if (e->buf[0])
		return;
	if (!c->cert_file != !c->key_file) {
		yerror(e, sec->line, "tls_server_config needs both cert_file and key_file");
		return;
	}
	if (vmin > vmax) {
		yerror(e, sec->line, "tls_server_config: min_version is above max_version");
		return;
	}
	if (c->cert_file) {
		static const char *const gn[] = {"VERS-TLS1.0", "VERS-TLS1.1", "VERS-TLS1.2",
						 "VERS-TLS1.3"};
		char pr[160] = "NORMAL:-VERS-ALL";

		for (int v = vmax; v >= vmin; v--) {
			strcat(pr, ":+");
			strcat(pr, gn[v]);
		}
		c->priorities = strdup(pr);
		if (!c->priorities)
			yerror(e, sec->line, "out of memory");
	}
}

static void users_section(struct wc_config *c, const struct ynode *sec, struct yerr *e)
{
	for (size_t i = 0; i < sec->nkids && !e->buf[0]; i++) {
		const struct ynode *n = sec->kids[i];
		const char *v = scalar_of(n, "basic_auth_users", e);

		if (!v)
			return;
		if (!is_bcrypt(v)) {
			yerror(e, n->line,
			       "basic_auth_users.%s: not a bcrypt hash ($2y$, $2b$ or $2a$; make "
			       "one with htpasswd -nBC 10 USER)",
			       n->key);
			return;
		}
		if (!*n->key || strchr(n->key, ':')) {
			yerror(e, n->line, "basic_auth_users: '%s' is not a valid user name",
			       n->key);
			return;
		}
		if (c->nusers == WC_MAX_USERS) {
			yerror(e, n->line, "basic_auth_users: more than %d users", WC_MAX_USERS);
			return;
		}
		c->users[c->nusers].name = strdup(n->key);
		c->users[c->nusers].hash = strdup(v);
		if (!c->users[c->nusers].name || !c->users[c->nusers].hash)
			yerror(e, n->line, "out of memory");
		c->nusers++;
	}
}

static void http_section(struct wc_config *c, const struct ynode *sec, struct yerr *e)
{
	/* the headers exporter-toolkit allows */
	static const char *const allowed[] = {
	    "Strict-Transport-Security", "X-Content-Type-Options",  "X-Frame-Options",
	    "X-XSS-Protection",		 "Content-Security-Policy",
	};

	for (size_t i = 0; i < sec->nkids && !e->buf[0]; i++) {
		const struct ynode *n = sec->kids[i];
		const char *v;
		bool b;

		if (!strcmp(n->key, "http2")) {
			/* migscope speaks HTTP/1.1; Prometheus scrapes it either way */
			if (!(v = scalar_of(n, "http_server_config", e)))
				return;
			if (!parse_bool(v, &b))
				yerror(e, n->line, "http_server_config.http2 takes true or false");
		} else if (!strcmp(n->key, "headers")) {
			for (size_t k = 0; k < n->nkids && !e->buf[0]; k++) {
				const struct ynode *h = n->kids[k];
				size_t a;

				for (a = 0; a < sizeof(allowed) / sizeof(allowed[0]); a++)
					if (!strcasecmp(h->key, allowed[a]))
						break;
				if (a == sizeof(allowed) / sizeof(allowed[0])) {
					yerror(e, h->line,
					       "http_server_config.headers: %s is not one of the "
					       "headers exporter-toolkit allows",
					       h->key);
					return;
				}
				if (!(v = scalar_of(h, "http_server_config.headers", e)))
					return;
				if (strpbrk(v, "\r\n")) {
					yerror(e, h->line, "header %s: line break in the value",
					       h->key);
					return;
				}
				if (c->nheaders == WC_MAX_HEADERS) {
					yerror(e, h->line, "too many headers");
					return;
				}
				c->headers[c->nheaders].name = strdup(allowed[a]);
				c->headers[c->nheaders].value = strdup(v);
				if (!c->headers[c->nheaders].name || !c->headers[c->nheaders].value)
					yerror(e, h->line, "out of memory");
				c->nheaders++;
			}
		} else {
			yerror(e, n->line, "http_server_config.%s is not supported", n->key);
		}
	}
}

struct wc_config *wc_parse(const char *text, const char *path, char *err, size_t errlen)
{
	struct yerr e = {.buf = err, .len = errlen, .path = path};
	struct wc_config *c;
	struct ynode *root;

	err[0] = '\0';
	if (strnlen(text, WC_MAX_FILE + 1) > WC_MAX_FILE) {
		yerror(&e, 0, "file too large");
		return NULL;
	}
	root = yparse(text, &e);
	if (!root)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->path = strdup(path)) || !(c->cache = calloc(1, sizeof(*c->cache)))) {
		yerror(&e, 0, "out of memory");
		ynode_free(root);
		wc_free(c);
		return NULL;
	}
	pthread_mutex_init(&c->cache->mu, NULL);
	for (size_t i = 0; i < root->nkids && !e.buf[0]; i++) {
		const struct ynode *n = root->kids[i];

		if (n->value) {
			yerror(&e, n->line, "%s must be a mapping", n->key);
		} else if (!strcmp(n->key, "tls_server_config")) {
			tls_section(c, n, &e);
		} else if (!strcmp(n->key, "basic_auth_users")) {
			users_section(c, n, &e);
		} else if (!strcmp(n->key, "http_server_config")) {
			http_section(c, n, &e);
		} else {
			yerror(&e, n->line,
			       "unknown key %s (supported: tls_server_config, basic_auth_users, "
			       "http_server_config)",
			       n->key);
		}
	}
	ynode_free(root);
	if (e.buf[0]) {
		wc_free(c);
		return NULL;
	}
	return c;
}

static char *read_file(const char *path, const char *what, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (!f) {
		snprintf(err, errlen, "cannot read %s %s: %s", what, path, strerror(errno));
		return NULL;
	}
	buf = malloc(WC_MAX_FILE + 1);
	if (!buf) {
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n = fread(buf, 1, WC_MAX_FILE + 1, f);
	if (ferror(f) || n > WC_MAX_FILE) {
		snprintf(err, errlen, "cannot read %s %s: %s", what, path,
			 ferror(f) ? strerror(errno) : "larger than 1 MiB");
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	if (strlen(buf) != n) {
		snprintf(err, errlen, "%s %s is not a text file", what, path);
		free(buf);
		return NULL;
	}
	return buf;
}

struct wc_config *wc_load(const char *path, char *err, size_t errlen)
{
	char *text = read_file(path, "web config", err, errlen);
	struct wc_config *c;

	if (!text)
		return NULL;
	c = wc_parse(text, path, err, errlen);
	free(text);
	if (!c || !c->cert_file)
		return c;
	c->cert_pem = read_file(c->cert_file, "certificate", err, errlen);
	if (c->cert_pem)
		c->key_pem = read_file(c->key_file, "key", err, errlen);
	if (!c->cert_pem || !c->key_pem) {
		wc_free(c);
		return NULL;
	}
	if (!strstr(c->cert_pem, "-----BEGIN CERTIFICATE-----") ||
	    !strstr(c->key_pem, "-----BEGIN ")) {
		snprintf(err, errlen, "%s: cert_file and key_file must be PEM files", path);
		wc_free(c);
		return NULL;
	}
	return c;
}

void wc_free(struct wc_config *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->cert_file);
	free(c->key_file);
	free(c->cert_pem);
	if (c->key_pem) {
		explicit_bzero(c->key_pem, strlen(c->key_pem));
		free(c->key_pem);
	}
	free(c->priorities);
	for (size_t i = 0; i < c->nusers; i++) {
		free(c->users[i].name);
		free(c->users[i].hash);
	}
	for (size_t i = 0; i < c->nheaders; i++) {
		free(c->headers[i].name);
		free(c->headers[i].value);
	}
	if (c->cache) {
		for (size_t i = 0; i < WC_MAX_USERS; i++)
			if (c->cache->ok[i]) {
				explicit_bzero(c->cache->ok[i], strlen(c->cache->ok[i]));
				free(c->cache->ok[i]);
			}
		pthread_mutex_destroy(&c->cache->mu);
		free(c->cache);
	}
	free(c);
}

static bool same(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return !d;
}

static bool bcrypt_ok(const char *pass, const char *hash)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *h;
	bool ok;

	if (!cd)
		return false;
	h = crypt_r(pass, hash, cd);
	/* libxcrypt fails with "*0" or "*1", never a match */
	ok = h && h[0] == '$' && same(h, hash);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}

bool wc_check_basic(struct wc_config *c, const char *user, const char *pass)
{
	size_t i;
	bool ok;

	for (i = 0; i < c->nusers; i++)
		if (!strcmp(c->users[i].name, user))
			break;
	if (i == c->nusers) {
		bcrypt_ok(pass, DUMMY_HASH);
		return false;
	}
	pthread_mutex_lock(&c->cache->mu);
	ok = c->cache->ok[i] && same(c->cache->ok[i], pass);
	pthread_mutex_unlock(&c->cache->mu);
	if (ok)
		return true;
	if (!bcrypt_ok(pass, c->users[i].hash))
		return false;
	pthread_mutex_lock(&c->cache->mu);
	if (c->cache->ok[i]) {
		explicit_bzero(c->cache->ok[i], strlen(c->cache->ok[i]));
		free(c->cache->ok[i]);
	}
	c->cache->ok[i] = strdup(pass);
	pthread_mutex_unlock(&c->cache->mu);
	return true;
}
