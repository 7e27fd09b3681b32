// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "migsim_log.h"

const char *mslog_role = "source";
static int log_fd = -1;

uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int ms_gettid(void)
{
	return (int)syscall(SYS_gettid);
}

int mslog_open(const char *path, bool truncate)
{
	int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;

	if (truncate)
		flags |= O_TRUNC;
	log_fd = open(path, flags, 0644);
	return log_fd < 0 ? -errno : 0;
}

void mslog_close(void)
{
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
}

bool mslog_enabled(void)
{
	return log_fd >= 0;
}

void jw_init(struct jw *w)
{
	memset(w, 0, sizeof(*w));
}

void jw_free(struct jw *w)
{
	free(w->buf);
	jw_init(w);
}

static void jw_put(struct jw *w, const char *s, size_t n)
{
	if (w->oom)
		return;
	if (w->len + n + 2 > w->cap) {
		size_t cap = w->cap ? w->cap : 512;
		char *p;

		while (w->len + n + 2 > cap)
			cap *= 2;
		p = realloc(w->buf, cap);
		if (!p) {
			w->oom = true;
			return;
		}
		w->buf = p;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void jw_puts(struct jw *w, const char *s)
{
	jw_put(w, s, strlen(s));
}

static void jw_value_prefix(struct jw *w)
{
	if (w->sep)
		jw_put(w, ",", 1);
	w->sep = true;
}

void jw_obj_begin(struct jw *w)
{
	jw_value_prefix(w);
	jw_put(w, "{", 1);
	w->sep = false;
}

void jw_obj_end(struct jw *w)
{
	jw_put(w, "}", 1);
	w->sep = true;
}

void jw_arr_begin(struct jw *w)
{
	jw_value_prefix(w);
	jw_put(w, "[", 1);
	w->sep = false;
}

void jw_arr_end(struct jw *w)
{
	jw_put(w, "]", 1);
	w->sep = true;
}

void jw_key(struct jw *w, const char *key)
{
	jw_str(w, key);
	jw_put(w, ":", 1);
	w->sep = false;
}

void jw_str(struct jw *w, const char *s)
{
	char esc[8];

	if (!s) {
		jw_null(w);
		return;
	}
	jw_value_prefix(w);
	jw_put(w, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			jw_put(w, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			jw_puts(w, esc);
		} else {
			jw_put(w, (const char *)&c, 1);
		}
	}
	jw_put(w, "\"", 1);
}

void jw_u64(struct jw *w, uint64_t v)
{
	char b[24];

	jw_value_prefix(w);
	snprintf(b, sizeof(b), "%" PRIu64, v);
	jw_puts(w, b);
}

void jw_i64(struct jw *w, int64_t v)
{
	char b[24];

	jw_value_prefix(w);
	snprintf(b, sizeof(b), "%" PRId64, v);
	jw_puts(w, b);
}

void jw_ms(struct jw *w, int64_t ns)
{
	char b[32];
	int64_t us = ns >= 0 ? (ns + 500) / 1000 : -((-ns + 500) / 1000);

	jw_value_prefix(w);
	snprintf(b, sizeof(b), "%s%" PRId64 ".%03" PRId64, us < 0 ? "-" : "",
		 (us < 0 ? -us : us) / 1000, (us < 0 ? -us : us) % 1000);
	jw_puts(w, b);
}

void jw_null(struct jw *w)
{
	jw_value_prefix(w);
	jw_puts(w, "null");
}

void jw_bool(struct jw *w, bool v)
{
	jw_value_prefix(w);
	jw_puts(w, v ? "true" : "false");
}

void jw_line_begin(struct jw *w, uint64_t ts)
{
	jw_init(w);
	jw_obj_begin(w);
	jw_key(w, "ts");
	jw_u64(w, ts);
	jw_key(w, "pid");
	jw_i64(w, getpid());
	jw_key(w, "tid");
	jw_i64(w, ms_gettid());
	jw_key(w, "role");
	jw_str(w, mslog_role);
}

void jw_line_emit(struct jw *w)
{
	jw_obj_end(w);
	jw_write_line(w);
}

void jw_write_line(struct jw *w)
{
	jw_put(w, "\n", 1);
	if (!w->oom && log_fd >= 0) {
		/* one write per line: O_APPEND keeps lines of both sides whole */
		if (write(log_fd, w->buf, w->len) != (ssize_t)w->len) {
			/* a log that cannot be written is not worth failing the run */
		}
	}
	jw_free(w);
}

void mslog_probe(uint64_t ts, uint64_t te, bool fired, const char *name, const char *types, ...)
{
	struct jw w;
	va_list ap;

	if (log_fd < 0)
		return;
	jw_line_begin(&w, ts);
	jw_key(&w, fired ? "probe" : "site");
	jw_str(&w, name);
	if (fired) {
		jw_key(&w, "window");
		jw_u64(&w, te - ts);
	}
	jw_key(&w, "args");
	jw_arr_begin(&w);
	va_start(ap, types);
	for (const char *t = types; *t; t++) {
		switch (*t) {
		case 's': jw_str(&w, va_arg(ap, const char *)); break;
		case 'u': jw_u64(&w, va_arg(ap, uint64_t)); break;
		case 'x': jw_u64(&w, va_arg(ap, unsigned int)); break;
		case 'w':
		case 'i': jw_i64(&w, va_arg(ap, int)); break;
		case 'I': jw_i64(&w, va_arg(ap, int64_t)); break;
		}
	}
	va_end(ap);
	jw_arr_end(&w);
	jw_line_emit(&w);
}

void mslog_probe_vfio_flag(uint64_t ts, bool fired, const char *probe, const char *name,
			   uint64_t flag)
{
	/* clang-format off */
	static const char *const names[] = {
		NULL, "END_OF_STATE", "DEV_CONFIG_STATE", "DEV_SETUP_STATE",
		"DEV_DATA_STATE", "DEV_INIT_DATA_SENT",
	};
	/* clang-format on */
	uint64_t low = flag - 0xffffffffef100000ull;
	struct jw w;

	if (log_fd < 0)
		return;
	jw_line_begin(&w, ts);
	jw_key(&w, fired ? "probe" : "site");
	jw_str(&w, probe);
	jw_key(&w, "args");
	jw_arr_begin(&w);
	jw_str(&w, name);
	jw_u64(&w, flag);
	jw_arr_end(&w);
	jw_key(&w, "flag");
	jw_str(&w, low >= 1 && low <= 5 ? names[low] : "UNKNOWN");
	jw_line_emit(&w);
}
