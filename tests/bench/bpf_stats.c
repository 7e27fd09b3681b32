// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bpf_stats: keep the kernel's BPF run-time statistics on (BPF_ENABLE_STATS,
 * reference counted, unlike the kernel.bpf_stats_enabled sysctl) until
 * SIGINT or SIGTERM, so that `bpftool prog show` reports run_time_ns and
 * run_cnt of each program. Prints "ready" once they are on.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

static void on_signal(int sig)
{
}

int main(void)
{
	struct sigaction sa = {.sa_handler = on_signal};
	int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);

	if (fd < 0) {
		fprintf(stderr, "bpf_stats: cannot enable BPF statistics: %s\n", strerror(-fd));
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	printf("ready\n");
	fflush(stdout);
	pause();
	close(fd);
	return 0;
}
