/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The input of a fuzz target as a file the code under test opens by path: a
 * memory file, rewritten for each input, read back through /proc/self/fd. A
 * file on ext4 truncated and rewritten for every input is flushed to disk at
 * each close (auto_da_alloc), which left a target waiting on I/O for 95 % of
 * its wall time.
 */
#ifndef MIGSCOPE_FUZZ_MEMFILE_H
#define MIGSCOPE_FUZZ_MEMFILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>

static const char *fuzz_memfile(const uint8_t *data, size_t size)
{
	static char path[64];
	static int fd = -1;

	if (fd < 0) {
		fd = memfd_create("fuzz_input", 0);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	return path;
}

#endif
