// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: the input is a trace file; read it fully with tf_reader.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -std=gnu11 -D_GNU_SOURCE \
 *     -Iinclude -Iuser tests/fuzz/fuzz_tracefile.c user/tracefile.c \
 *     user/catalog.c -lz -o build/fuzz_tracefile
 *   build/fuzz_tracefile -max_total_time=30 tests/fuzz/corpus/tracefile
 *
 * FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION makes the reader ignore CRC
 * mismatches, so that mutations get past the checksums into the decoders.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tracefile.h"
#include "memfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_memfile(data, size);
	struct tf_reader *r;
	struct tf_stats st;
	union ms_rec rec;
	const uint64_t *mono, *real;
	char err[256];
	uint64_t sum = 0;

	(void)tf_is_trace_file(path);
	r = tf_reader_open(path, err, sizeof(err));
	if (!r) {
		if (!memchr(err, '\0', sizeof(err)) || !err[0])
			abort(); /* an error must come with its message */
		return 0;
	}
	const struct tf_meta *m = tf_reader_meta(r);

	sum += strlen(m->host) + strlen(m->kernel) + strlen(m->boot_id) + strlen(m->cmdline);
	for (;;) {
		int rc = tf_read(r, &rec);

		if (rc < 0 && !tf_reader_error(r)[0])
			abort();
		if (rc != 1)
			break;
		if (rec.h.kind == 0)
			abort(); /* the reader never hands out an empty record */
		sum += rec.h.ts;
	}
	tf_reader_stats(r, &st);
	size_t n = tf_reader_clock_pairs(r, &mono, &real);

	for (size_t i = 0; i < n; i++)
		sum += mono[i] ^ real[i];
	tf_reader_close(r);
	return (int)(sum & 0); /* keep the reads */
}
