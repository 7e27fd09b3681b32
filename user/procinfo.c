// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "procinfo.h"
#include "util.h"

/* QEMU option values escape ',' as ",,". Copy the element of VAL that starts
 * at p into out, unescaping, and return where the next element starts. */
static const char *opt_elem(const char *p, char *out, size_t size)
{
	size_t n = 0;

	while (*p) {
		if (*p == ',') {
			if (p[1] != ',')
				break;
			p++;
		}
		if (n + 1 < size)
			out[n++] = *p;
		p++;
	}
	if (size)
		out[n] = '\0';
	return *p == ',' ? p + 1 : p;
}

/* -name string1[,guest=...][,process=...][,debug-threads=on]: the guest name
 * is the implied first value or the guest= key. */
static void parse_name(const char *val, char *out, size_t size)
{
	char elem[256];
	const char *p = val;
	bool first = true;

	out[0] = '\0';
	while (*p) {
		p = opt_elem(p, elem, sizeof(elem));
		if (!strncmp(elem, "guest=", 6)) {
			ms_strlcpy(out, elem + 6, size);
			return;
		}
		if (first && !strchr(elem, '='))
			ms_strlcpy(out, elem, size);
		first = false;
	}
}

void proc_parse_cmdline(const char *buf, size_t len, struct ms_proc *out)
{
	const char *end = buf + len, *arg, *val;

	out->vm[0] = '\0';
	out->uuid[0] = '\0';
	for (arg = buf; arg < end; arg += strnlen(arg, end - arg) + 1) {
		const char *opt = arg;

		val = arg + strnlen(arg, end - arg) + 1;
		if (opt[0] != '-')
			continue;
		opt += opt[1] == '-' ? 2 : 1; /* QEMU takes -opt and --opt */
		if (!strcmp(opt, "incoming")) {
			out->pflags |= MS_PROC_INCOMING;
			continue;
		}
		if (val >= end)
			break;
		if (!strcmp(opt, "name"))
			parse_name(val, out->vm, sizeof(out->vm));
		else if (!strcmp(opt, "uuid"))
			ms_strlcpy(out->uuid, val, sizeof(out->uuid));
	}
}

static ssize_t read_file(const char *path, char *buf, size_t size)
{
	ssize_t n, total = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((size_t)total < size && (n = read(fd, buf + total, size - total)) > 0)
		total += n;
	close(fd);
	return total;
}

int proc_identity(int pid, struct ms_proc *out)
{
	char path[64], buf[8192], *p;
	long ticks = sysconf(_SC_CLK_TCK);
	unsigned long long start;
	ssize_t n;

	memset(out, 0, sizeof(*out));
	out->h.kind = MS_EV_PROC;
	out->h.pid = pid;
	out->h.tid = pid;
	out->h.ts = ms_now_mono();

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	n = read_file(path, buf, sizeof(buf) - 1);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	/* field 22, starttime, counted after the ")" that ends comm */
	p = strrchr(buf, ')');
	if (p &&
	    sscanf(p + 2,
		   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
		   "%*d %*d %*d %*d %llu",
		   &start) == 1 &&
	    ticks > 0)
		out->start_ns = start * (1000000000ull / ticks);

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, out->exe, sizeof(out->exe) - 1);
	if (n < 0)
		return -errno;
	out->exe[n] = '\0';

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	n = read_file(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	proc_parse_cmdline(buf, n, out);
	return 0;
}
