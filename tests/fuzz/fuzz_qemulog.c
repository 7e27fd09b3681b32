// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: every line of the input goes through the QEMU log-backend
 * line parser, as `migscope replay` does for a QEMU -D log. Built by
 * `make fuzz` (tests/fuzz/build.mk).
 */
#include <stdint.h>
#include <string.h>

#include "qemulog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	union ms_rec rec;

	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		memset(&rec, 0, sizeof(rec));
		qlog_parse_line(p, len, &rec);
		p += len + 1;
	}
	return 0;
}
