// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * zinflate: the decompression floor of a trace file. Finds the CHUNK
 * sections of a migscope trace file (docs/trace-format.md) with no other
 * decoding, and inflates their raw deflate data with zlib: what any reader
 * of the file must at least do.
 *
 *   zinflate FILE [-r REPEAT] [--gzip OUT]
 *
 * The file is read into memory first; each of REPEAT passes inflates every
 * chunk; the best pass is reported (key=value lines): chunks,
 * compressed_bytes, uncompressed_bytes, inflate_mb_per_s (uncompressed
 * MB/s, 10^6 bytes). --gzip writes the same deflate streams as a gzip file,
 * one gzip member per chunk (RFC 1952: header, the chunk's deflate data as
 * it is in the trace file, CRC-32 and size of the uncompressed data), so that
 * `zcat OUT` decompresses exactly the trace file's compressed bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

struct chunk {
	const uint8_t *data;
	uint32_t len, raw_len;
};

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"gzip", required_argument, NULL, 'g'},
	    {"repeat", required_argument, NULL, 'r'},
	    {},
	};
	const char *gz = NULL;
	struct chunk *ch = NULL;
	size_t nch = 0, cap = 0, off, maxraw = 0;
	uint64_t clen = 0, ulen = 0;
	double best = 1e30;
	int repeat = 3, opt, fd;
	uint8_t *file, *out;
	struct stat st;
	z_stream z = {0};
	FILE *g = NULL;

	while ((opt = getopt_long(argc, argv, "r:g:", opts, NULL)) != -1) {
		switch (opt) {
		case 'r': repeat = atoi(optarg); break;
		case 'g': gz = optarg; break;
		default:
			fprintf(stderr, "usage: zinflate FILE [-r REPEAT] [--gzip OUT]\n");
			return 2;
		}
	}
	if (argc - optind != 1 || repeat < 1) {
		fprintf(stderr, "usage: zinflate FILE [-r REPEAT] [--gzip OUT]\n");
		return 2;
	}
	fd = open(argv[optind], O_RDONLY);
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "zinflate: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	file = malloc(st.st_size ? st.st_size : 1);
	for (off = 0; file && off < (size_t)st.st_size;) {
		ssize_t k = read(fd, file + off, st.st_size - off);

		if (k <= 0) {
			fprintf(stderr, "zinflate: %s: read failed\n", argv[optind]);
			return 1;
		}
		off += k;
	}
	close(fd);
	if (!file || st.st_size < 16) {
		fprintf(stderr, "zinflate: %s: not a trace file\n", argv[optind]);
		return 1;
	}
	/* file header, then sections: u16 type, u16 flags, u32 len, two CRCs */
	for (off = file[13]; off + 16 <= (size_t)st.st_size;) {
		uint16_t type = file[off] | file[off + 1] << 8;
		uint32_t len = get32(file + off + 4);
		const uint8_t *p = file + off + 16;

		if (off + 16 + len > (size_t)st.st_size)
			break;
		if (type == 3 && len >= 32 && p[0] == 1) {
			if (nch == cap &&
			    !(ch = realloc(ch, (cap = cap ? cap * 2 : 256) * sizeof(*ch)))) {
				fprintf(stderr, "zinflate: out of memory\n");
				return 1;
			}
			ch[nch].data = p + 32;
			ch[nch].len = len - 32;
			ch[nch].raw_len = get32(p + 8);
			if (ch[nch].raw_len > maxraw)
				maxraw = ch[nch].raw_len;
			clen += ch[nch].len;
			ulen += ch[nch].raw_len;
			nch++;
		}
		off += 16 + len;
	}
	out = malloc(maxraw ? maxraw : 1);
	if (!out || inflateInit2(&z, -15) != Z_OK) {
		fprintf(stderr, "zinflate: out of memory\n");
		return 1;
	}
	if (gz && !(g = fopen(gz, "wb"))) {
		fprintf(stderr, "zinflate: %s: %s\n", gz, strerror(errno));
		return 1;
	}
	for (int pass = 0; pass < repeat; pass++) {
		double t0 = now_s(), t;

		for (size_t i = 0; i < nch; i++) {
			inflateReset(&z);
			z.next_in = (Bytef *)ch[i].data;
			z.avail_in = ch[i].len;
			z.next_out = out;
			z.avail_out = ch[i].raw_len;
			if (inflate(&z, Z_FINISH) != Z_STREAM_END || z.total_out != ch[i].raw_len) {
				fprintf(stderr, "zinflate: chunk %zu does not inflate\n", i);
				return 1;
			}
			if (g && pass == 0) {
				static const uint8_t hdr[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
				uint8_t tail[8];

				put32(tail, (uint32_t)crc32(0, out, ch[i].raw_len));
				put32(tail + 4, ch[i].raw_len);
				fwrite(hdr, 1, sizeof(hdr), g);
				fwrite(ch[i].data, 1, ch[i].len, g);
				fwrite(tail, 1, sizeof(tail), g);
			}
		}
		t = now_s() - t0;
		if (t < best)
			best = t;
	}
	if (g && fclose(g)) {
		fprintf(stderr, "zinflate: %s: %s\n", gz, strerror(errno));
		return 1;
	}
	printf("chunks=%zu\ncompressed_bytes=%llu\nuncompressed_bytes=%llu\n"
	       "inflate_mb_per_s=%.1f\n",
	       nch, (unsigned long long)clen, (unsigned long long)ulen,
	       best > 0 ? (double)ulen / best / 1e6 : 0.0);
	inflateEnd(&z);
	free(out);
	free(ch);
	free(file);
	return 0;
}
