// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "util.h"

int ms_verbose;
bool ms_json;

void ms_err(const char *fmt, ...)
{
	va_list ap;

	fputs("migscope: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void ms_dbg(const char *fmt, ...)
{
	va_list ap;

	if (!ms_verbose)
		return;
	fputs("migscope: debug: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static uint64_t now(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

uint64_t ms_now_mono(void)
{
	return now(CLOCK_MONOTONIC);
}

uint64_t ms_now_real(void)
{
	return now(CLOCK_REALTIME);
}

void ms_clock_pair(uint64_t *mono, uint64_t *real)
{
	uint64_t a = now(CLOCK_MONOTONIC), b = now(CLOCK_REALTIME), c = now(CLOCK_MONOTONIC);

	*mono = a + (c - a) / 2;
	*real = b;
}

int ms_parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || v < 0 || v != v)
		return -1;
	*out = v;
	return 0;
}

int ms_parse_pid(const char *s, int *pid)
{
	char *end;
	long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v <= 0 || v > INT_MAX)
		return -1;
	*pid = (int)v;
	return 0;
}

void ms_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n;

	if (!size)
		return;
	n = strnlen(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}
