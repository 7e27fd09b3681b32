// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sysloop: the cost of the system calls that migscope's syscall programs
 * see, from a process that is not QEMU (no USDT notes, never traced).
 *
 *   sysloop [-n ITERATIONS] [-b BATCHES]
 *
 * For each call, ITERATIONS calls in BATCHES batches; prints NAME_ns (this
 * thread's CPU time per call, user and kernel, over all batches) and
 * NAME_best_ns (the best batch: the least disturbed by the rest of a busy
 * machine). The calls:
 *   ioctl       ioctl(/dev/null, TCGETS): ENOTTY, a common non-VFIO ioctl
 *   ioctl_vfio  ioctl(/dev/null, VFIO_DEVICE_FEATURE): ENOTTY, VFIO's ioctl
 *               type from a process that is not traced (the worst case)
 *   read        read(/dev/null, 64 bytes): 0
 *   write       write(/dev/null, 64 bytes)
 *   close       close(-1): EBADF
 *   getppid     a system call that migscope does not hook
 * and other_ns, other_best_ns: the mean of ioctl, read and write.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "migscope_abi.h"

static uint64_t cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

enum { C_IOCTL, C_IOCTL_VFIO, C_READ, C_WRITE, C_CLOSE, C_GETPPID, C_COUNT };

static const char *const names[C_COUNT] = {"ioctl", "ioctl_vfio", "read",
					   "write", "close",	  "getppid"};

static int fd;
static char buf[64];

static void call(int c)
{
	switch (c) {
	case C_IOCTL: ioctl(fd, TCGETS, buf); break;
	case C_IOCTL_VFIO: ioctl(fd, MS_VFIO_DEVICE_FEATURE, buf); break;
	case C_READ:
		if (read(fd, buf, sizeof(buf)) < 0)
			perror("read");
		break;
	case C_WRITE:
		if (write(fd, buf, sizeof(buf)) < 0)
			perror("write");
		break;
	case C_CLOSE: close(-1); break;
	case C_GETPPID: getppid(); break;
	}
}

int main(int argc, char **argv)
{
	double mean[C_COUNT], best[C_COUNT];
	long n = 200000, batches = 20;
	int opt;

	while ((opt = getopt(argc, argv, "n:b:h")) != -1) {
		switch (opt) {
		case 'n': n = atol(optarg); break;
		case 'b': batches = atol(optarg); break;
		default: fprintf(stderr, "usage: sysloop [-n ITERATIONS] [-b BATCHES]\n"); return 2;
		}
	}
	if (n <= 0 || batches <= 0 || batches > n) {
		fprintf(stderr, "sysloop: bad -n or -b\n");
		return 2;
	}
	fd = open("/dev/null", O_RDWR);
	if (fd < 0) {
		perror("sysloop: /dev/null");
		return 1;
	}
	for (int c = 0; c < C_COUNT; c++) {
		long per = n / batches;
		uint64_t total = 0;

		best[c] = 1e18;
		for (long b = 0; b < batches; b++) {
			uint64_t t0 = cpu_ns(), t;

			for (long i = 0; i < per; i++)
				call(c);
			t = cpu_ns() - t0;
			total += t;
			if ((double)t / per < best[c])
				best[c] = (double)t / per;
		}
		mean[c] = (double)total / (double)(per * batches);
		printf("%s_ns=%.1f\n%s_best_ns=%.1f\n", names[c], mean[c], names[c], best[c]);
	}
	printf("other_ns=%.1f\nother_best_ns=%.1f\n",
	       (mean[C_IOCTL] + mean[C_READ] + mean[C_WRITE]) / 3,
	       (best[C_IOCTL] + best[C_READ] + best[C_WRITE]) / 3);
	return 0;
}
