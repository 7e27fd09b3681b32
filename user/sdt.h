/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* SystemTap SDT (USDT) notes of an ELF binary: which probes it has. */
#ifndef MIGSCOPE_SDT_H
#define MIGSCOPE_SDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sdt_probe {
	char *provider;
	char *name;
	char *args; /* argument spec, e.g. "8@%rax -4@-12(%rbp)" */
	uint64_t pc;
	uint64_t sema; /* semaphore address, 0 if none */
};

struct sdt_list {
	struct sdt_probe *v;
	size_t n;
	char version[64]; /* "QEMU emulator version X" found in the binary, or "" */
};

/* Read the .note.stapsdt notes of PATH. 0 on success (n may be 0), negative
 * errno and a one-line message in err when the file is unreadable or not an
 * ELF file. */
int sdt_read(const char *path, struct sdt_list *out, char *err, size_t errlen);
void sdt_free(struct sdt_list *l);
/* Number of sites of provider/name (a probe may have several). */
size_t sdt_count(const struct sdt_list *l, const char *provider, const char *name);
bool sdt_has_provider(const struct sdt_list *l, const char *provider);
/* Whether libbpf can parse every site's argument spec of provider/name:
 * libbpf takes "N@%reg", "N@off(%reg)", "N@$imm" only. Sets *bad to the first
 * spec it cannot parse. */
bool sdt_args_supported(const struct sdt_list *l, const char *provider, const char *name,
			const char **bad);

/* The argument sizes of provider/name (the N of "N@...": bytes, negative for
 * signed; 0 where unknown: a constant, or sites that disagree), at most max
 * of them; returns their number, -1 when absent, -2 when its sites disagree
 * on the number. */
int sdt_arg_sizes(const struct sdt_list *l, const char *provider, const char *name, int *sizes,
		  int max);

#endif
