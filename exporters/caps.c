// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Per-thread capability dropping with capset(2) and prctl(2). */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "caps.h"

static int cap_get(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};

	memset(d, 0, 2 * sizeof(*d));
	return syscall(SYS_capget, &h, d) ? -errno : 0;
}

uint64_t caps_effective(void)
{
	struct __user_cap_data_struct d[2];

	if (cap_get(d))
		return 0;
	return (uint64_t)d[1].effective << 32 | d[0].effective;
}

int caps_restrict(uint64_t keep)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];
	uint64_t perm;
	int ret;

	ret = cap_get(d);
	if (ret)
		return ret;
	perm = (uint64_t)d[1].permitted << 32 | d[0].permitted;
	/* the bounding set first: dropping from it needs CAP_SETPCAP, which
	 * goes with the rest below; without it there is nothing to drop */
	if (perm & CAPS_BIT(CAP_SETPCAP)) {
		for (int c = 0; c < 64; c++) {
			if (keep & CAPS_BIT(c))
				continue;
			if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) < 0)
				break; /* past the kernel's last capability */
			if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) && errno != EINVAL)
				return -errno;
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		return -errno;
	perm &= keep;
	d[0].effective = d[0].permitted = (uint32_t)perm;
	d[1].effective = d[1].permitted = (uint32_t)(perm >> 32);
	d[0].inheritable = d[1].inheritable = 0;
	if (syscall(SYS_capset, &h, d))
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	return 0;
}

const char *caps_names(uint64_t mask, char *buf, size_t len)
{
	static const char *const names[] = {
	    [CAP_SYS_PTRACE] = "cap_sys_ptrace",
	    [CAP_NET_BIND_SERVICE] = "cap_net_bind_service",
	    [CAP_SYS_ADMIN] = "cap_sys_admin",
	    [CAP_DAC_READ_SEARCH] = "cap_dac_read_search",
	    [38] = "cap_perfmon",
	    [39] = "cap_bpf",
	};
	size_t n = 0;

	buf[0] = '\0';
	for (int c = 0; c < 64 && n < len; c++) {
		const char *nm;
		char num[16];

		if (!(mask & CAPS_BIT(c)))
			continue;
		nm = c < (int)(sizeof(names) / sizeof(names[0])) ? names[c] : NULL;
		if (!nm) {
			snprintf(num, sizeof(num), "cap_%d", c);
			nm = num;
		}
		n += snprintf(buf + n, len - n, "%s%s", n ? "," : "", nm);
	}
	if (!buf[0])
		snprintf(buf, len, "none");
	return buf;
}
