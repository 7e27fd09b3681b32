// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: the input is a QEMU log-backend file, read as `migscope
 * replay` reads one: the reader's pre-scan (pid, role, libvirt's header), then
 * every record in time order through the reorder window; each line goes
 * through the line parser on the way (fuzz_qemulog has that parser alone).
 * Built by `make fuzz` (tests/fuzz/build.mk).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qemulog.h"
#include "memfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_memfile(data, size);
	struct qlog_reader *r;
	struct qlog_stats st;
	union ms_rec rec;
	uint64_t last = 0, nrec = 0;
	bool disorder = false;
	char err[256];
	int n;

	r = qlog_open(path, NULL, err, sizeof(err));
	if (!r) {
		if (!memchr(err, '\0', sizeof(err)) || !err[0])
			abort(); /* an error must come with its message */
		return 0;
	}
	if (strlen(qlog_host(r)) >= 64)
		abort();
	while ((n = qlog_read(r, &rec)) == 1) {
		if (rec.h.kind == MS_EV_USDT) {
			disorder |= rec.h.ts < last;
			last = rec.h.ts;
			nrec++;
		}
		if (rec.h.kind == MS_EV_PROC &&
		    (!memchr(rec.proc.vm, '\0', sizeof(rec.proc.vm)) ||
		     !memchr(rec.proc.uuid, '\0', sizeof(rec.proc.uuid))))
			abort(); /* the identity's strings end inside their fields */
	}
	/* the records come out in time order when the reorder window holds
	 * them all */
	if (disorder && nrec <= QLOG_REORDER)
		abort();
	qlog_stats(r, &st);
	if (st.events < nrec)
		abort();
	qlog_close(r);
	return 0;
}
