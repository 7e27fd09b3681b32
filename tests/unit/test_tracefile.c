// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Trace file writer and reader (user/tracefile.c). Some tests take the file
 * apart with a small independent parser of docs/trace-format.md (section
 * walk, probe table, hand-made chunks), so they also check the document.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "catalog.h"
#include "tracefile.h"

/* ---- temp files ---- */

#define MAX_TMP 16
static char tmp_paths[MAX_TMP][64];
static int ntmp;

static const char *tmp_file(void)
{
	char *p;
	int fd;

	assert_true(ntmp < MAX_TMP);
	p = tmp_paths[ntmp++];
	snprintf(p, 64, "/tmp/test_tracefile.XXXXXX");
	fd = mkstemp(p);
	assert_true(fd >= 0);
	close(fd);
	return p;
}

static int cleanup_tmp(void **state)
{
	for (int i = 0; i < ntmp; i++)
		unlink(tmp_paths[i]);
	ntmp = 0;
	return 0;
}

static void write_bytes(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static uint8_t *read_bytes(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	FILE *f = fopen(path, "rb");

	assert_non_null(f);
	assert_int_equal(fstat(fileno(f), &st), 0);
	*len = (size_t)st.st_size;
	buf = malloc(*len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, *len, f), *len);
	fclose(f);
	return buf;
}

/* ---- records ---- */

static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

/* A random value that is often small, sometimes negative, sometimes huge. */
static uint64_t rnd_val(void)
{
	switch (rng() % 5) {
	case 0: return 0;
	case 1: return rng() % 100;
	case 2: return (uint64_t) - (int64_t)(rng() % 1000);
	case 3: return rng();
	default: return rng() % 100000000;
	}
}

static void rnd_str(char *s, size_t cap)
{
	size_t len = rng() % (cap + 1); /* cap: no NUL at all */

	memset(s, 0, cap);
	for (size_t i = 0; i < len; i++)
		s[i] = (char)(' ' + rng() % 95);
}

static const uint16_t all_kinds[] = {
    MS_EV_USDT, MS_EV_IOCTL, MS_EV_DATA_IO, MS_EV_EXEC, MS_EV_EXIT, MS_EV_PROC, MS_EV_LOST,
};

/* A pseudo-random record of any kind with every field exercised. */
static void rnd_rec(union ms_rec *r, uint64_t *ts)
{
	memset(r, 0, sizeof(*r));
	r->h.kind = all_kinds[rng() % (sizeof(all_kinds) / sizeof(all_kinds[0]))];
	*ts += rng() % 3 ? rng() % 100000 : 0;
	if (rng() % 10 == 0)
		*ts -= rng() % 5000; /* ring buffers deliver slightly out of order */
	r->h.ts = *ts;
	r->h.pid = 1000 + (uint32_t)(rng() % 3);
	r->h.tid = rng() % 2 ? r->h.pid : r->h.pid + (uint32_t)(rng() % 20) - 10;
	r->h.flags = rng() % 8 == 0 ? (uint16_t)rng() : 0;
	r->h.input = rng() % 16 == 0 ? (uint16_t)rng() : 0;
	switch (r->h.kind) {
	case MS_EV_USDT:
		r->h.probe = (uint16_t)(1 + rng() % (MS_P_COUNT - 1));
		for (int i = 0; i < MS_MAX_ARGS; i++)
			r->usdt.args[i] = rnd_val();
		for (int i = 0; i < MS_MAX_STRS; i++)
			rnd_str(r->usdt.str[i], MS_STR_LEN);
		break;
	case MS_EV_IOCTL:
		r->ioctl.dur_ns = rnd_val();
		r->ioctl.ret = (int64_t)rnd_val();
		r->ioctl.fd = (int32_t)rnd_val();
		r->ioctl.cmd = (uint32_t)rnd_val();
		r->ioctl.argsz = (uint32_t)rnd_val();
		r->ioctl.feat_flags = (uint32_t)rnd_val();
		r->ioctl.dev_state = (uint32_t)rnd_val();
		r->ioctl.data_fd = (int32_t)rnd_val();
		r->ioctl.v1 = rnd_val();
		r->ioctl.v2 = rnd_val();
		break;
	case MS_EV_DATA_IO:
		r->io.dur_ns = rnd_val();
		r->io.ret = (int64_t)rnd_val();
		r->io.count = rnd_val();
		r->io.fd = (int32_t)rnd_val();
		r->io.op = (uint32_t)rnd_val();
		break;
	case MS_EV_EXEC:
		r->exec.dev = rnd_val();
		r->exec.ino = rnd_val();
		rnd_str(r->exec.comm, sizeof(r->exec.comm));
		break;
	case MS_EV_EXIT:
		r->exit.exit_code = (int32_t)rnd_val();
		r->exit.pad = (uint32_t)rnd_val();
		break;
	case MS_EV_PROC:
		r->proc.start_ns = rnd_val();
		rnd_str(r->proc.vm, sizeof(r->proc.vm));
		rnd_str(r->proc.uuid, sizeof(r->proc.uuid));
		rnd_str(r->proc.exe, sizeof(r->proc.exe));
		r->proc.probes_attached = (uint16_t)rnd_val();
		r->proc.probes_missing = (uint16_t)rnd_val();
		r->proc.pflags = (uint32_t)rnd_val();
		if (rng() % 2) { /* the fields appended later, written with LEN */
			r->proc.qemu_version = (uint32_t)rnd_val();
			/* bits of catalog ids: the reader keeps those it knows */
			r->proc.probes_present[0] = rnd_val();
			r->proc.probes_present[1] = rnd_val();
			for (unsigned int id = 0; id < 128; id++)
				if (id == MS_P_NONE || id >= MS_P_COUNT)
					r->proc.probes_present[id / 64] &= ~(1ULL << (id % 64));
		}
		break;
	case MS_EV_LOST: r->lost.count = rnd_val(); break;
	}
}

static void fill(char *dst, size_t cap, char c, size_t len)
{
	memset(dst, 0, cap);
	memset(dst, c, len);
}

/* Per kind: every field non-zero, extreme values, full-length strings. */
static size_t extreme_recs(union ms_rec *v)
{
	size_t n = 0;
	union ms_rec *r;

#define NEXT(k)                                                                                    \
	(r = &v[n++], memset(r, 0, sizeof(*r)), r->h.kind = (k), r->h.ts = 1000 * n,               \
	 r->h.pid = 4242, r->h.tid = 4243, r->h.flags = MS_F_STR_TRUNC | MS_F_ARG_ERR,             \
	 r->h.input = 0xbeef)

	NEXT(MS_EV_USDT);
	r->h.ts = UINT64_MAX; /* then a huge backwards step */
	r->h.pid = UINT32_MAX;
	r->h.tid = 0;
	r->h.probe = MS_P_VFIO_STATE_PENDING_EXACT;
	r->usdt.args[0] = UINT64_MAX;
	r->usdt.args[1] = 0x8000000000000000ull;
	r->usdt.args[2] = MS_VFIO_MIG_FLAG_DEV_INIT_DATA_SENT;
	r->usdt.args[3] = 1;
	r->usdt.args[4] = 0x7fffffffffffffffull;
	r->usdt.args[5] = 2;
	fill(r->usdt.str[0], MS_STR_LEN, 'a', MS_STR_LEN); /* no NUL */
	strcpy(r->usdt.str[1], "0000:3b:00.1");
	fill(r->usdt.str[2], MS_STR_LEN, 'z', 1);

	NEXT(MS_EV_USDT);
	r->h.ts = 0;
	r->h.tid = 4242;
	r->h.probe = MS_P_MIGRATE_SET_STATE;
	strcpy(r->usdt.str[0], "active");

	NEXT(MS_EV_IOCTL);
	r->h.probe = 7; /* not used by this kind, must still round-trip */
	r->ioctl.dur_ns = UINT64_MAX;
	r->ioctl.ret = INT64_MIN;
	r->ioctl.fd = INT32_MIN;
	r->ioctl.cmd = UINT32_MAX;
	r->ioctl.argsz = 0x80000000u;
	r->ioctl.feat_flags = MS_VFIO_FEAT_GET | MS_VFIO_FEAT_MIG_DEVICE_STATE;
	r->ioctl.dev_state = MS_VFIO_PRE_COPY_P2P;
	r->ioctl.data_fd = -1;
	r->ioctl.v1 = 0x123456789abcdef0ull;
	r->ioctl.v2 = UINT64_MAX - 1;

	NEXT(MS_EV_DATA_IO);
	r->io.dur_ns = 1;
	r->io.ret = -11;
	r->io.count = UINT64_MAX;
	r->io.fd = INT32_MAX;
	r->io.op = MS_IO_WRITE;

	NEXT(MS_EV_EXEC);
	r->exec.dev = UINT64_MAX;
	r->exec.ino = 0x8000000000000001ull;
	fill(r->exec.comm, sizeof(r->exec.comm), 'q', sizeof(r->exec.comm));

	NEXT(MS_EV_EXIT);
	r->exit.exit_code = INT32_MIN;
	r->exit.pad = UINT32_MAX;

	NEXT(MS_EV_PROC);
	r->proc.start_ns = UINT64_MAX;
	fill(r->proc.vm, sizeof(r->proc.vm), 'v', sizeof(r->proc.vm));
	fill(r->proc.uuid, sizeof(r->proc.uuid), 'u', sizeof(r->proc.uuid));
	fill(r->proc.exe, sizeof(r->proc.exe), 'e', sizeof(r->proc.exe));
	r->proc.probes_attached = UINT16_MAX;
	r->proc.probes_missing = 1;
	r->proc.pflags = MS_PROC_INCOMING | 0x80000000u;

	NEXT(MS_EV_LOST);
	r->lost.count = UINT64_MAX;

	/* every kind again with nothing but its kind set */
	for (size_t i = 0; i < sizeof(all_kinds) / sizeof(all_kinds[0]); i++) {
		r = &v[n++];
		memset(r, 0, sizeof(*r));
		r->h.kind = all_kinds[i];
		if (r->h.kind == MS_EV_USDT)
			r->h.probe = MS_P_MIGRATION_CANCEL;
	}
#undef NEXT
	return n;
}

static struct tf_meta test_meta(void)
{
	struct tf_meta m;

	memset(&m, 0, sizeof(m));
	strcpy(m.host, "src-host.example");
	strcpy(m.kernel, "6.1.0-test-amd64");
	strcpy(m.boot_id, "0b9f3a1e-2d5c-4b8e-9f00-123456789abc");
	strcpy(m.cmdline, "migscope record -o /tmp/x.ms");
	m.mono_ns = 111111111;
	m.real_ns = 1700000000123456789ull;
	return m;
}

static struct tf_writer *open_writer(const char *path)
{
	struct tf_meta m = test_meta();
	char err[256];
	struct tf_writer *w = tf_writer_open(path, &m, err, sizeof(err));

	if (!w)
		fail_msg("tf_writer_open: %s", err);
	return w;
}

static struct tf_reader *open_reader(const char *path)
{
	char err[256];
	struct tf_reader *r = tf_reader_open(path, err, sizeof(err));

	if (!r)
		fail_msg("tf_reader_open: %s", err);
	return r;
}

static void assert_rec_equal(const union ms_rec *want, const union ms_rec *got, size_t i)
{
	if (memcmp(want, got, sizeof(*want))) {
		const uint8_t *a = (const void *)want, *b = (const void *)got;
		size_t k = 0;

		while (a[k] == b[k])
			k++;
		fail_msg("record %zu (kind %u) differs at byte %zu: %02x != %02x", i, want->h.kind,
			 k, a[k], b[k]);
	}
}

/* Read everything; returns tf_read's final result, records in out[]. */
static int read_all(struct tf_reader *r, union ms_rec *out, size_t cap, size_t *n)
{
	union ms_rec rec;
	int rc;

	*n = 0;
	while ((rc = tf_read(r, &rec)) == 1) {
		if (*n < cap)
			out[*n] = rec;
		(*n)++;
	}
	/* the end is sticky */
	assert_int_equal(tf_read(r, &rec), rc);
	return rc;
}

/* ---- an independent walk of the sections (docs/trace-format.md) ---- */

struct tsec {
	size_t off, len; /* header offset, payload length */
	uint16_t type, flags;
};

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static size_t walk(const uint8_t *b, size_t len, struct tsec *s, size_t cap)
{
	size_t off = b[13], n = 0;

	assert_int_equal(off, 16);
	while (off < len) {
		assert_true(off + 16 <= len);
		assert_true(n < cap);
		s[n].off = off;
		s[n].type = (uint16_t)(b[off] | b[off + 1] << 8);
		s[n].flags = (uint16_t)(b[off + 2] | b[off + 3] << 8);
		s[n].len = le32(b + off + 4);
		assert_int_equal(le32(b + off + 8),
				 (uint32_t)crc32(0, b + off + 16, (uInt)s[n].len));
		assert_int_equal(le32(b + off + 12), (uint32_t)crc32(0, b + off, 12));
		off += 16 + s[n].len;
		n++;
	}
	assert_int_equal(off, len);
	return n;
}

static void sec_header(uint8_t *h, uint16_t type, uint16_t flags, const uint8_t *p, size_t len)
{
	uint32_t crc = (uint32_t)crc32(0, p, (uInt)len);

	h[0] = (uint8_t)type;
	h[1] = (uint8_t)(type >> 8);
	h[2] = (uint8_t)flags;
	h[3] = (uint8_t)(flags >> 8);
	for (int i = 0; i < 4; i++) {
		h[4 + i] = (uint8_t)(len >> (8 * i));
		h[8 + i] = (uint8_t)(crc >> (8 * i));
	}
	crc = (uint32_t)crc32(0, h, 12);
	for (int i = 0; i < 4; i++)
		h[12 + i] = (uint8_t)(crc >> (8 * i));
}

/* Build a new file: the bytes of b up to `at`, then one section, then the
 * rest. `drop` bytes of b at `at` are left out (to replace a section). */
static uint8_t *splice_sec(const uint8_t *b, size_t len, size_t at, size_t drop, uint16_t type,
			   uint16_t flags, const uint8_t *payload, size_t plen, size_t *out_len)
{
	uint8_t *o = malloc(len - drop + 16 + plen);

	assert_non_null(o);
	memcpy(o, b, at);
	sec_header(o + at, type, flags, payload, plen);
	memcpy(o + at + 16, payload, plen);
	memcpy(o + at + 16 + plen, b + at + drop, len - at - drop);
	*out_len = len - drop + 16 + plen;
	return o;
}

enum { T_META = 1, T_PROBES = 2, T_CHUNK = 3, T_CLOCK = 4, T_TRAILER = 5 };

/* ---- tests ---- */

static void test_roundtrip_every_kind(void **state)
{
	const char *path = tmp_file();
	union ms_rec want[32], got[32];
	size_t n = extreme_recs(want), m;
	struct tf_writer *w = open_writer(path);
	struct tf_reader *r;
	struct tf_stats st;

	for (size_t i = 0; i < n; i++)
		assert_int_equal(tf_write(w, &want[i]), 0);
	assert_int_equal(tf_writer_close(w, 0), 0);

	r = open_reader(path);
	assert_int_equal(read_all(r, got, 32, &m), 0);
	assert_int_equal(m, n);
	for (size_t i = 0; i < n; i++)
		assert_rec_equal(&want[i], &got[i], i);
	tf_reader_stats(r, &st);
	assert_int_equal(st.records, n);
	assert_int_equal(st.chunks, 1);
	assert_true(st.has_trailer);
	assert_int_equal(st.unknown_probes, 0);
	assert_true(st.bytes_uncompressed > 0 && st.bytes_compressed > 0);
	tf_reader_close(r);
}

static void test_strings_stored_up_to_nul(void **state)
{
	const char *path = tmp_file();
	union ms_rec in, out;
	struct tf_writer *w = open_writer(path);
	struct tf_reader *r;
	size_t len;
	uint8_t *b;

	/* garbage after the NUL is not kept: the reader hands back zeroes */
	memset(&in, 0, sizeof(in));
	in.h.kind = MS_EV_USDT;
	in.h.probe = MS_P_MIGRATE_SET_STATE;
	memset(in.usdt.str[0], 'X', MS_STR_LEN);
	memcpy(in.usdt.str[0], "setup", 6);
	assert_int_equal(tf_write(w, &in), 0);
	assert_int_equal(tf_writer_close(w, 0), 0);

	/* and the file does not hold the padding */
	b = read_bytes(path, &len);
	assert_null(memmem(b, len, "XXXX", 4));
	free(b);

	r = open_reader(path);
	assert_int_equal(tf_read(r, &out), 1);
	assert_string_equal(out.usdt.str[0], "setup");
	for (size_t i = 6; i < MS_STR_LEN; i++)
		assert_int_equal(out.usdt.str[0][i], 0);
	assert_int_equal(tf_read(r, &out), 0);
	tf_reader_close(r);
}

#define MANY 120000

static void test_many_records_many_chunks(void **state)
{
	const char *path = tmp_file();
	struct tf_writer *w = open_writer(path);
	struct tf_reader *r;
	struct tf_stats st;
	union ms_rec rec, got;
	uint64_t ts = 5000000000ull;
	size_t n = 0;
	int rc;

	rng_state = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < MANY; i++) {
		rnd_rec(&rec, &ts);
		assert_int_equal(tf_write(w, &rec), 0);
	}
	assert_int_equal(tf_writer_close(w, 77), 0);

	r = open_reader(path);
	rng_state = 0x9e3779b97f4a7c15ull;
	ts = 5000000000ull;
	while ((rc = tf_read(r, &got)) == 1) {
		rnd_rec(&rec, &ts);
		assert_rec_equal(&rec, &got, n);
		n++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(n, MANY);
	tf_reader_stats(r, &st);
	assert_int_equal(st.records, MANY);
	assert_true(st.chunks >= 10);
	assert_int_equal(st.lost_total, 77);
	assert_true(st.has_trailer);
	assert_true(st.bytes_compressed < st.bytes_uncompressed);
	tf_reader_close(r);
}

static void test_flush_mid_stream(void **state)
{
	const char *path = tmp_file();
	struct tf_writer *w = open_writer(path);
	struct tf_reader *r;
	struct tf_stats st;
	union ms_rec rec, got;
	const uint64_t *mono, *real;
	uint64_t ts = 1;
	size_t n;
	int rc;

	rng_state = 42;
	for (int i = 0; i < 1000; i++) {
		rnd_rec(&rec, &ts);
		assert_int_equal(tf_write(w, &rec), 0);
	}
	assert_int_equal(tf_writer_flush(w), 0);

	/* a reader sees everything flushed while the writer is still open */
	r = open_reader(path);
	rc = read_all(r, NULL, 0, &n);
	assert_int_equal(n, 1000);
	assert_int_equal(rc, -ENODATA);
	assert_non_null(strstr(tf_reader_error(r), "without a trailer"));
	assert_non_null(strstr(tf_reader_error(r), "after chunk 0"));
	tf_reader_stats(r, &st);
	assert_false(st.has_trailer);
	assert_int_equal(st.chunks, 1);
	assert_int_equal(tf_reader_clock_pairs(r, &mono, &real), 2); /* open + flush */
	tf_reader_close(r);

	/* an empty flush writes only a clock pair */
	assert_int_equal(tf_writer_flush(w), 0);
	for (int i = 0; i < 500; i++) {
		rnd_rec(&rec, &ts);
		assert_int_equal(tf_write(w, &rec), 0);
	}
	assert_int_equal(tf_writer_close(w, 0), 0);

	r = open_reader(path);
	rng_state = 42;
	ts = 1;
	n = 0;
	while ((rc = tf_read(r, &got)) == 1) {
		rnd_rec(&rec, &ts);
		assert_rec_equal(&rec, &got, n);
		n++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(n, 1500);
	tf_reader_stats(r, &st);
	assert_int_equal(st.chunks, 2);
	assert_int_equal(tf_reader_clock_pairs(r, &mono, &real), 4); /* open, 2 flushes, close */
	tf_reader_close(r);
}

/* A small file with several chunks, and what each cut should yield. */
struct small {
	uint8_t *buf;
	size_t len;
	union ms_rec recs[64];
	size_t nrecs;
	struct tsec sec[32];
	size_t nsec;
};

static void make_small(struct small *s, const char *path)
{
	static const int groups[] = {3, 1, 5, 2};
	struct tf_writer *w = open_writer(path);
	uint64_t ts = 77;

	rng_state = 7;
	s->nrecs = 0;
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		for (int i = 0; i < groups[g]; i++) {
			rnd_rec(&s->recs[s->nrecs], &ts);
			assert_int_equal(tf_write(w, &s->recs[s->nrecs]), 0);
			s->nrecs++;
		}
		assert_int_equal(tf_writer_flush(w), 0);
	}
	assert_int_equal(tf_writer_close(w, 5), 0);
	s->buf = read_bytes(path, &s->len);
	s->nsec = walk(s->buf, s->len, s->sec, 32);
}

/* Records in the chunks that end at or before `cut`; *k = their number. */
static size_t complete_before(const struct small *s, size_t cut, size_t *k)
{
	size_t n = 0;

	*k = 0;
	for (size_t i = 0; i < s->nsec; i++)
		if (s->sec[i].type == T_CHUNK && s->sec[i].off + 16 + s->sec[i].len <= cut) {
			n += le32(s->buf + s->sec[i].off + 16 + 4);
			(*k)++;
		}
	return n;
}

static void test_truncated_at_every_offset(void **state)
{
	const char *full = tmp_file(), *path = tmp_file();
	struct small s;
	size_t first_chunk = 0, nchunks = 0;
	union ms_rec got[64];

	make_small(&s, full);
	for (size_t i = 0; i < s.nsec; i++) {
		if (s.sec[i].type == T_CHUNK && !first_chunk)
			first_chunk = s.sec[i].off;
		nchunks += s.sec[i].type == T_CHUNK;
	}
	assert_int_equal(nchunks, 4);

	for (size_t cut = 0; cut <= s.len; cut++) {
		char err[256], at[64];
		struct tf_reader *r;
		size_t n, k, want = complete_before(&s, cut, &k);
		int rc;

		write_bytes(path, s.buf, cut);
		snprintf(at, sizeof(at), "at byte %zu ", cut);
		r = tf_reader_open(path, err, sizeof(err));
		if (!r) {
			/* only before the first chunk, and the message says where */
			assert_true(cut < first_chunk);
			if (cut == 0) {
				assert_int_equal(errno, ENODATA);
				assert_non_null(strstr(err, "empty"));
			} else if (!strstr(err, at)) {
				fail_msg("cut %zu: open error does not name the offset: %s", cut,
					 err);
			}
			continue;
		}
		assert_true(cut >= first_chunk);
		rc = read_all(r, got, 64, &n);
		assert_int_equal(n, want);
		for (size_t i = 0; i < n; i++)
			assert_rec_equal(&s.recs[i], &got[i], i);
		if (cut == s.len) {
			assert_int_equal(rc, 0);
		} else {
			const char *e = tf_reader_error(r);

			assert_int_equal(rc, -ENODATA);
			if (!strstr(e, at))
				fail_msg("cut %zu: error does not name the offset: %s", cut, e);
			/* a cut inside a chunk names it */
			for (size_t i = 0; i < s.nsec; i++) {
				char in[32];

				/* (once the header's type field is there) */
				if (s.sec[i].type != T_CHUNK || cut < s.sec[i].off + 2 ||
				    cut >= s.sec[i].off + 16 + s.sec[i].len)
					continue;
				snprintf(in, sizeof(in), "in chunk %zu:", k);
				if (!strstr(e, in))
					fail_msg("cut %zu: error does not name chunk %zu: %s", cut,
						 k, e);
			}
		}
		tf_reader_close(r);
	}
	free(s.buf);
}

static void test_flipped_byte(void **state)
{
	const char *full = tmp_file(), *path = tmp_file();
	struct small s;
	union ms_rec got[64];
	size_t chunk2 = 0, k = 0, n;
	struct tf_reader *r;
	int rc;

	make_small(&s, full);
	for (size_t i = 0; i < s.nsec; i++)
		if (s.sec[i].type == T_CHUNK && k++ == 2)
			chunk2 = i;

	/* one flipped byte inside the third chunk's data: a CRC error, the
	 * first two chunks delivered */
	size_t at = s.sec[chunk2].off + 16 + s.sec[chunk2].len / 2;

	s.buf[at] ^= 0x10;
	write_bytes(path, s.buf, s.len);
	s.buf[at] ^= 0x10;
	r = open_reader(path);
	rc = read_all(r, got, 64, &n);
	assert_int_equal(rc, -EBADMSG);
	assert_int_equal(n, 3 + 1);
	for (size_t i = 0; i < n; i++)
		assert_rec_equal(&s.recs[i], &got[i], i);
	assert_non_null(strstr(tf_reader_error(r), "CRC mismatch"));
	assert_non_null(strstr(tf_reader_error(r), "in chunk 2"));
	char want[48];

	snprintf(want, sizeof(want), "corrupt at byte %zu ", s.sec[chunk2].off);
	assert_non_null(strstr(tf_reader_error(r), want));
	tf_reader_close(r);

	/* every byte of the file flipped in turn: never a crash, never a
	 * wrong record, always an error (only the header's reserved bytes
	 * are free) */
	for (size_t off = 0; off < s.len; off++) {
		char err[256];

		s.buf[off] ^= 0x01;
		write_bytes(path, s.buf, s.len);
		s.buf[off] ^= 0x01;
		r = tf_reader_open(path, err, sizeof(err));
		if (!r)
			continue;
		rc = read_all(r, got, 64, &n);
		assert_true(n <= s.nrecs);
		for (size_t i = 0; i < n; i++)
			assert_rec_equal(&s.recs[i], &got[i], i);
		if (off == 14 || off == 15)
			assert_int_equal(rc, 0);
		else if (rc >= 0)
			fail_msg("flipped byte %zu went unnoticed", off);
		tf_reader_close(r);
	}
	free(s.buf);
}

static void test_not_a_trace_file(void **state)
{
	const char *path = tmp_file(), *good = tmp_file();
	static const uint8_t gz[] = {0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 3};
	static const uint8_t bin[] = {0x01, 0x02, 0xfe, 0x00, 0x11};
	struct tf_reader *r;
	char err[256];

	static const char log[] = "12345@1700000000.000001:migrate_set_state new state active\n";

	write_bytes(path, log, strlen(log));
	r = tf_reader_open(path, err, sizeof(err));
	assert_null(r);
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err, "not a migscope trace file"));
	assert_non_null(strstr(err, "text beginning \"12345@1700000000.000001:migrate_set_sta"));
	assert_non_null(strstr(err, path));
	assert_false(tf_is_trace_file(path));

	write_bytes(path, gz, sizeof(gz));
	assert_null(tf_reader_open(path, err, sizeof(err)));
	assert_non_null(strstr(err, "gzip"));

	write_bytes(path, bin, sizeof(bin));
	assert_null(tf_reader_open(path, err, sizeof(err)));
	assert_non_null(strstr(err, "binary data beginning 01 02 fe 00 11"));

	tf_writer_close(open_writer(good), 0);
	assert_true(tf_is_trace_file(good));
}

static void test_empty_missing_unreadable(void **state)
{
	const char *path = tmp_file();
	char err[256];

	write_bytes(path, "", 0);
	assert_null(tf_reader_open(path, err, sizeof(err)));
	assert_int_equal(errno, ENODATA);
	assert_non_null(strstr(err, "empty file"));
	assert_false(tf_is_trace_file(path));

	assert_null(tf_reader_open("/nonexistent/trace.ms", err, sizeof(err)));
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err, "/nonexistent/trace.ms"));
	assert_non_null(strstr(err, strerror(ENOENT)));
	assert_false(tf_is_trace_file("/nonexistent/trace.ms"));

	assert_null(tf_reader_open("/tmp", err, sizeof(err)));
	assert_int_equal(errno, EISDIR);
	assert_non_null(strstr(err, strerror(EISDIR)));

	/* root reads anything; only an unprivileged run can see EACCES */
	if (geteuid() != 0) {
		tf_writer_close(open_writer(path), 0);
		assert_int_equal(chmod(path, 0), 0);
		assert_null(tf_reader_open(path, err, sizeof(err)));
		assert_int_equal(errno, EACCES);
		assert_non_null(strstr(err, strerror(EACCES)));
	}
}

static void test_unsupported_version_and_byte_order(void **state)
{
	const char *path = tmp_file();
	struct tf_reader *r;
	uint8_t *b;
	size_t len;
	char err[256];

	tf_writer_close(open_writer(path), 0);
	b = read_bytes(path, &len);
	assert_memory_equal(b, "\x89MIGSCOPE\n\x01\x00L\x10", 14);

	b[10] = 2;
	write_bytes(path, b, len);
	assert_true(tf_is_trace_file(path));
	r = tf_reader_open(path, err, sizeof(err));
	assert_null(r);
	assert_int_equal(errno, ENOTSUP);
	assert_non_null(strstr(err, "version 2 is not supported"));

	b[10] = 1;
	b[12] = 'B';
	write_bytes(path, b, len);
	assert_null(tf_reader_open(path, err, sizeof(err)));
	assert_int_equal(errno, ENOTSUP);
	assert_non_null(strstr(err, "byte order"));
	free(b);
}

/* Probe table entry in the file's encoding. */
static uint8_t *probe_entry(uint8_t *p, uint16_t id, const char *prov, const char *name,
			    const char *types)
{
	const char *s[3] = {prov, name, types};

	*p++ = (uint8_t)id;
	*p++ = (uint8_t)(id >> 8);
	for (int i = 0; i < 3; i++) {
		*p++ = (uint8_t)strlen(s[i]);
		memcpy(p, s[i], strlen(s[i]));
		p += strlen(s[i]);
	}
	return p;
}

static void test_probe_table_remap(void **state)
{
	const char *path = tmp_file();
	struct tf_writer *w = open_writer(path);
	struct tf_reader *r;
	struct tf_stats st;
	union ms_rec rec, got[64];
	struct tsec sec[16];
	uint8_t table[512], *p = table + 4, *b, *nb;
	size_t len, nlen, n, nsec;

	/* file ids 1..4; in the file: 1 = vfio_save_setup, 2 =
	 * migrate_set_state, 3 = a probe from a newer catalog, 4 = a known name
	 * under another provider */
	/* a PROC record whose attached probes are file ids 1-4 */
	memset(&rec, 0, sizeof(rec));
	rec.h.kind = MS_EV_PROC;
	rec.h.ts = 99;
	rec.h.pid = rec.h.tid = 9;
	rec.proc.qemu_version = 100002;
	rec.proc.probes_present[0] = 0x1e;
	assert_int_equal(tf_write(w, &rec), 0);
	for (int i = 0; i < 20; i++) {
		memset(&rec, 0, sizeof(rec));
		rec.h.kind = MS_EV_USDT;
		rec.h.ts = 100 + (uint64_t)i;
		rec.h.pid = rec.h.tid = 9;
		rec.h.probe = (uint16_t)(1 + i % 4);
		rec.usdt.args[1] = (uint64_t)i;
		snprintf(rec.usdt.str[0], MS_STR_LEN, "dev%d", i);
		assert_int_equal(tf_write(w, &rec), 0);
		if (i % 5 == 0) {
			memset(&rec, 0, sizeof(rec));
			rec.h.kind = MS_EV_EXIT;
			rec.h.probe = 3; /* not a USDT record: never remapped */
			assert_int_equal(tf_write(w, &rec), 0);
		}
	}
	assert_int_equal(tf_writer_close(w, 0), 0);

	p = probe_entry(p, 1, "qemu", "vfio_save_setup", "su");
	p = probe_entry(p, 2, "qemu", "migrate_set_state", "s");
	p = probe_entry(p, 3, "qemu", "migrate_switchover_from_the_future", "uu");
	p = probe_entry(p, 4, "otherqemu", "migrate_error", "s");
	table[0] = 4;
	table[1] = table[2] = table[3] = 0;

	b = read_bytes(path, &len);
	nsec = walk(b, len, sec, 16);
	assert_int_equal(sec[1].type, T_PROBES);
	assert_int_equal(sec[1].flags & 1, 1);
	nb = splice_sec(b, len, sec[1].off, 16 + sec[1].len, T_PROBES, 1, table,
			(size_t)(p - table), &nlen);
	write_bytes(path, nb, nlen);
	free(b);
	free(nb);
	(void)nsec;

	r = open_reader(path);
	assert_int_equal(read_all(r, got, 64, &n), 0);
	assert_int_equal(n, 10 + 4 + 1);
	size_t u = 0;

	for (size_t i = 0; i < n; i++) {
		if (got[i].h.kind == MS_EV_PROC) {
			/* its probe set on this build's ids: the two it knows */
			uint64_t want[2] = {0, 0};

			want[MS_P_VFIO_SAVE_SETUP / 64] |= 1ULL << (MS_P_VFIO_SAVE_SETUP % 64);
			want[MS_P_MIGRATE_SET_STATE / 64] |= 1ULL << (MS_P_MIGRATE_SET_STATE % 64);
			assert_int_equal(got[i].proc.probes_present[0], want[0]);
			assert_int_equal(got[i].proc.probes_present[1], want[1]);
			continue;
		}
		if (got[i].h.kind == MS_EV_EXIT) {
			assert_int_equal(got[i].h.probe, 3);
			continue;
		}
		int src = (int)got[i].usdt.args[1];

		assert_int_equal(got[i].h.probe,
				 src % 4 == 0 ? MS_P_VFIO_SAVE_SETUP : MS_P_MIGRATE_SET_STATE);
		assert_true(src % 4 == 0 || src % 4 == 1);
		u++;
	}
	assert_int_equal(u, 10);
	tf_reader_stats(r, &st);
	assert_int_equal(st.unknown_probes, 10);
	assert_int_equal(st.records, 15);
	tf_reader_close(r);
}

static void test_meta_and_clock_pairs(void **state)
{
	const char *path = tmp_file();
	struct tf_meta want = test_meta(), zero;
	struct tf_writer *w = open_writer(path);
	struct tf_reader *r;
	const uint64_t *mono, *real;
	struct timespec now;
	size_t n;

	for (int i = 0; i < 3; i++)
		assert_int_equal(tf_writer_flush(w), 0);
	assert_int_equal(tf_writer_close(w, 0), 0);

	r = open_reader(path);
	assert_memory_equal(tf_reader_meta(r), &want, sizeof(want));
	/* only the open pair is known before reading on */
	assert_int_equal(tf_reader_clock_pairs(r, &mono, &real), 1);
	assert_int_equal(read_all(r, NULL, 0, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(tf_reader_clock_pairs(r, &mono, &real), 1 + 3 + 1);
	assert_int_equal(mono[0], want.mono_ns);
	assert_int_equal(real[0], want.real_ns);
	clock_gettime(CLOCK_MONOTONIC, &now);
	uint64_t mnow = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;

	clock_gettime(CLOCK_REALTIME, &now);
	uint64_t rnow = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;

	for (size_t i = 1; i < 5; i++) {
		assert_true(mono[i] <= mnow && mono[i] + 10000000000ull > mnow);
		assert_true(real[i] <= rnow && real[i] + 10000000000ull > rnow);
		if (i > 1)
			assert_true(mono[i] >= mono[i - 1]);
	}
	tf_reader_close(r);

	/* clocks left at 0: the writer reads them */
	char err[256];

	memset(&zero, 0, sizeof(zero));
	w = tf_writer_open(path, &zero, err, sizeof(err));
	assert_non_null(w);
	assert_int_equal(tf_writer_close(w, 0), 0);
	r = open_reader(path);
	assert_true(tf_reader_meta(r)->mono_ns > 0 && tf_reader_meta(r)->real_ns > 0);
	assert_string_equal(tf_reader_meta(r)->host, "");
	tf_reader_close(r);
}

static void test_manual_clock_and_inputs(void **state)
{
	const char *path = tmp_file();
	struct tf_writer *w = open_writer(path);
	struct tf_input in[2], big;
	const struct tf_input *got;
	const uint64_t *mono, *real;
	union ms_rec rec;
	struct tf_reader *r;
	size_t n;

	memset(in, 0, sizeof(in));
	strcpy(in[0].host, "src");
	strcpy(in[0].basis, "reference");
	strcpy(in[1].host, "dst");
	strcpy(in[1].boot_id, "b00t");
	strcpy(in[1].path, "/var/tmp/dst.trace");
	strcpy(in[1].basis, "messages");
	in[1].offset_ns = -2500000123;
	in[1].error_ns = 57491;
	in[0].error_ns = TF_ERROR_NONE;
	tf_writer_set_manual_clock(w);
	assert_int_equal(tf_writer_inputs(w, in, 2), 0);
	memset(&rec, 0, sizeof(rec));
	rec.h.kind = MS_EV_LOST;
	rec.h.ts = 1000;
	rec.h.input = 1;
	rec.lost.count = 3;
	assert_int_equal(tf_write(w, &rec), 0);
	/* after a record, the section could not come before the first chunk */
	assert_int_equal(tf_writer_inputs(w, in, 2), -EINVAL);
	assert_int_equal(tf_writer_clock_pair(w, 5, 50), 0);
	assert_int_equal(tf_writer_flush(w), 0); /* manual: no pair of its own */
	assert_int_equal(tf_writer_clock_pair(w, 6, 60), 0);
	assert_int_equal(tf_writer_close(w, 3), 0);

	r = open_reader(path);
	assert_int_equal(tf_reader_inputs(r, &got), 2);
	assert_memory_equal(&got[0], &in[0], sizeof(in[0]));
	assert_memory_equal(&got[1], &in[1], sizeof(in[1]));
	assert_int_equal(read_all(r, &rec, 1, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rec.h.input, 1);
	assert_int_equal(tf_reader_clock_pairs(r, &mono, &real), 3);
	assert_int_equal(mono[1], 5);
	assert_int_equal(real[1], 50);
	assert_int_equal(mono[2], 6);
	assert_int_equal(real[2], 60);
	tf_reader_close(r);

	/* strings cut to their fields; more than 16 inputs refused */
	w = open_writer(path);
	memset(&big, 'x', sizeof(big));
	big.host[sizeof(big.host) - 1] = 0;
	big.boot_id[sizeof(big.boot_id) - 1] = 0;
	big.path[sizeof(big.path) - 1] = 0;
	big.basis[sizeof(big.basis) - 1] = 0;
	assert_int_equal(tf_writer_inputs(w, &big, TF_MAX_INPUTS + 1), -EINVAL);
	assert_int_equal(tf_writer_inputs(w, &big, 1), 0);
	assert_int_equal(tf_writer_close(w, 0), 0);
	r = open_reader(path);
	assert_int_equal(tf_reader_inputs(r, &got), 1);
	assert_int_equal(strlen(got[0].path), sizeof(big.path) - 1);
	assert_int_equal(got[0].offset_ns, big.offset_ns);
	tf_reader_close(r);

	/* a file without the section has none */
	w = open_writer(path);
	assert_int_equal(tf_writer_close(w, 0), 0);
	r = open_reader(path);
	assert_int_equal(tf_reader_inputs(r, &got), 0);
	tf_reader_close(r);
}

static void test_meta_local(void **state)
{
	struct tf_meta m;
	struct utsname u;
	char boot[64] = "";
	FILE *f;

	assert_int_equal(tf_meta_local(&m), 0);
	assert_int_equal(uname(&u), 0);
	assert_string_equal(m.kernel, u.release);
	assert_string_equal(m.host, u.nodename);
	f = fopen("/proc/sys/kernel/random/boot_id", "r");
	assert_non_null(f);
	assert_non_null(fgets(boot, sizeof(boot), f));
	fclose(f);
	boot[strcspn(boot, "\n")] = '\0';
	assert_string_equal(m.boot_id, boot);
	assert_int_equal(strlen(m.boot_id), 36);
	/* argv joined by spaces */
	char argv[256] = "";
	size_t n;

	f = fopen("/proc/self/cmdline", "r");
	assert_non_null(f);
	n = fread(argv, 1, sizeof(argv) - 1, f);
	fclose(f);
	while (n > 0 && argv[n - 1] == '\0')
		n--;
	for (size_t i = 0; i < n; i++)
		if (argv[i] == '\0')
			argv[i] = ' ';
	argv[n] = '\0';
	assert_true(n > 0);
	assert_string_equal(m.cmdline, argv);
	assert_true(m.mono_ns > 0 && m.real_ns > 1600000000ull * 1000000000ull);
}

static void test_trailer_lost_total(void **state)
{
	const char *path = tmp_file();
	struct tf_writer *w = open_writer(path);
	struct tf_reader *r;
	struct tf_stats st;
	union ms_rec rec;
	struct tsec sec[16];
	uint8_t *b;
	size_t len, n, nsec;

	memset(&rec, 0, sizeof(rec));
	rec.h.kind = MS_EV_LOST;
	rec.lost.count = 3;
	assert_int_equal(tf_write(w, &rec), 0);
	assert_int_equal(tf_writer_flush(w), 0);
	rec.lost.count = 4;
	assert_int_equal(tf_write(w, &rec), 0);
	assert_int_equal(tf_writer_close(w, 1234567), 0);

	r = open_reader(path);
	assert_int_equal(read_all(r, NULL, 0, &n), 0);
	assert_int_equal(n, 2);
	tf_reader_stats(r, &st);
	assert_true(st.has_trailer);
	assert_int_equal(st.lost_total, 1234567);
	tf_reader_close(r);

	/* without the trailer: the sum of the MS_EV_LOST records */
	b = read_bytes(path, &len);
	nsec = walk(b, len, sec, 16);
	assert_int_equal(sec[nsec - 1].type, T_TRAILER);
	assert_int_equal(sec[nsec - 1].len, 24);
	write_bytes(path, b, sec[nsec - 1].off);
	r = open_reader(path);
	assert_int_equal(read_all(r, NULL, 0, &n), -ENODATA);
	assert_int_equal(n, 2);
	tf_reader_stats(r, &st);
	assert_false(st.has_trailer);
	assert_int_equal(st.lost_total, 7);
	tf_reader_close(r);

	/* a trailer whose counts disagree with the file is corruption */
	b[sec[nsec - 1].off + 16 + 8] ^= 1; /* record count */
	size_t nlen;
	uint8_t *nb = splice_sec(b, len, sec[nsec - 1].off, 16 + 24, T_TRAILER, 0,
				 b + sec[nsec - 1].off + 16, 24, &nlen);

	write_bytes(path, nb, nlen);
	r = open_reader(path);
	assert_int_equal(read_all(r, NULL, 0, &n), -EBADMSG);
	assert_non_null(strstr(tf_reader_error(r), "trailer"));
	tf_reader_close(r);
	free(nb);
	free(b);
}

static void test_unknown_sections(void **state)
{
	const char *path = tmp_file();
	struct tf_writer *w = open_writer(path);
	struct tf_reader *r;
	union ms_rec rec, got[8];
	struct tsec sec[16];
	static const uint8_t junk[] = "a section from a newer migscope";
	uint8_t *b, *nb, *nb2;
	size_t len, nlen, nlen2, n;

	memset(&rec, 0, sizeof(rec));
	rec.h.kind = MS_EV_EXIT;
	rec.h.ts = 5;
	assert_int_equal(tf_write(w, &rec), 0);
	assert_int_equal(tf_writer_flush(w), 0);
	rec.h.ts = 6;
	assert_int_equal(tf_write(w, &rec), 0);
	assert_int_equal(tf_writer_close(w, 0), 0);
	b = read_bytes(path, &len);
	walk(b, len, sec, 16);
	assert_int_equal(sec[2].type, T_CHUNK);
	assert_int_equal(sec[3].type, T_CLOCK);

	/* optional unknown sections before the first chunk and between chunks */
	nb = splice_sec(b, len, sec[2].off, 0, 0x7001, 0, junk, sizeof(junk), &nlen);
	nb2 = splice_sec(nb, nlen, sec[3].off + 16 + sizeof(junk), 0, 0x7002, 0, junk, sizeof(junk),
			 &nlen2);
	write_bytes(path, nb2, nlen2);
	r = open_reader(path);
	assert_int_equal(read_all(r, got, 8, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(got[1].h.ts, 6);
	tf_reader_close(r);
	free(nb2);
	free(nb);

	/* a required unknown section stops the reader */
	nb = splice_sec(b, len, sec[3].off, 0, 0x7003, 1, junk, sizeof(junk), &nlen);
	write_bytes(path, nb, nlen);
	r = open_reader(path);
	assert_int_equal(read_all(r, got, 8, &n), -ENOTSUP);
	assert_int_equal(n, 1);
	assert_non_null(strstr(tf_reader_error(r), "required"));
	tf_reader_close(r);
	free(nb);
	free(b);
}

static void test_hand_made_chunk(void **state)
{
	const char *path = tmp_file();
	struct tf_reader *r;
	struct tf_stats st;
	union ms_rec got[8];
	struct tsec sec[16];
	uint8_t *b, *nb, *nb2, chunk[128], trailer[24] = {0};
	size_t len, nlen, nlen2, n, nsec;
	/* records as docs/trace-format.md describes them */
	static const uint8_t recs[] = {
	    /* a kind from the future (42), with its length: skipped */
	    0x80 | 42,
	    6,
	    0x02,
	    100,
	    7,
	    0xaa,
	    0xbb,
	    0xcc,
	    /* MS_EV_LOST, ts +5, same pid, count 9 */
	    17,
	    0x00,
	    5,
	    0x01,
	    9,
	    /* MS_EV_LOST with a length and a field this build does not
	     * know (mask bit 1): the known field is read, the rest skipped */
	    0x80 | 17,
	    5,
	    0x00,
	    1,
	    0x03,
	    4,
	    77,
	    /* MS_EV_USDT, ts -2, tid = pid + 1, probe migrate_set_state
	     * (file id = catalog id), args[0] = -1, str[0] = "hi" */
	    1,
	    0x0d,
	    2,
	    2,
	    MS_P_MIGRATE_SET_STATE,
	    0x41,
	    1,
	    2,
	    'h',
	    'i',
	};

	tf_writer_close(open_writer(path), 0);
	b = read_bytes(path, &len);
	nsec = walk(b, len, sec, 16);
	assert_int_equal(sec[nsec - 1].type, T_TRAILER);

	memset(chunk, 0, 32);
	chunk[0] = 0; /* stored */
	chunk[4] = 4; /* records */
	chunk[8] = sizeof(recs);
	memcpy(chunk + 32, recs, sizeof(recs));
	trailer[8] = 4;	 /* records */
	trailer[16] = 1; /* chunks */
	nb = splice_sec(b, len, sec[nsec - 1].off, 16 + 24, T_TRAILER, 0, trailer, 24, &nlen);
	nb2 = splice_sec(nb, nlen, sec[nsec - 1].off, 0, T_CHUNK, 1, chunk, 32 + sizeof(recs),
			 &nlen2);
	write_bytes(path, nb2, nlen2);

	r = open_reader(path);
	assert_int_equal(read_all(r, got, 8, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(got[0].h.kind, MS_EV_LOST);
	assert_int_equal(got[0].h.ts, 105);
	assert_int_equal(got[0].h.pid, 7);
	assert_int_equal(got[0].h.tid, 7);
	assert_int_equal(got[0].lost.count, 9);
	assert_int_equal(got[1].h.ts, 106);
	assert_int_equal(got[1].lost.count, 4);
	assert_int_equal(got[2].h.kind, MS_EV_USDT);
	assert_int_equal(got[2].h.ts, 104);
	assert_int_equal(got[2].h.tid, 8);
	assert_int_equal(got[2].h.probe, MS_P_MIGRATE_SET_STATE);
	assert_int_equal(got[2].usdt.args[0], UINT64_MAX);
	assert_string_equal(got[2].usdt.str[0], "hi");
	tf_reader_stats(r, &st);
	assert_int_equal(st.unknown_records, 1);
	assert_int_equal(st.lost_total, 0);
	tf_reader_close(r);
	free(nb2);
	free(nb);
	free(b);
}

static void test_writer_refuses_and_io_errors(void **state)
{
	const char *path = tmp_file();
	struct tf_writer *w = open_writer(path);
	struct tf_meta m = test_meta();
	union ms_rec rec;
	char err[256];
	size_t n;

	memset(&rec, 0, sizeof(rec));
	assert_int_equal(tf_write(w, &rec), -EINVAL); /* MS_EV_NONE */
	assert_non_null(strstr(tf_writer_error(w), "kind 0"));
	rec.h.kind = 6;
	assert_int_equal(tf_write(w, &rec), -EINVAL);
	rec.h.kind = MS_EV_USDT;
	rec.h.probe = MS_P_COUNT;
	assert_int_equal(tf_write(w, &rec), -EINVAL);
	assert_non_null(strstr(tf_writer_error(w), "not in the catalog"));
	rec.h.probe = MS_P_NONE;
	assert_int_equal(tf_write(w, &rec), -EINVAL);
	/* refusals are not sticky */
	rec.h.probe = MS_P_MIGRATION_CANCEL;
	assert_int_equal(tf_write(w, &rec), 0);
	assert_int_equal(tf_writer_close(w, 0), 0);
	struct tf_reader *r = open_reader(path);

	assert_int_equal(read_all(r, NULL, 0, &n), 0);
	assert_int_equal(n, 1);
	tf_reader_close(r);

	assert_null(tf_writer_open("/nonexistent/dir/x.ms", &m, err, sizeof(err)));
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err, "/nonexistent/dir/x.ms"));
	if (access("/dev/full", W_OK) == 0) {
		assert_null(tf_writer_open("/dev/full", &m, err, sizeof(err)));
		assert_int_equal(errno, ENOSPC);
		assert_non_null(strstr(err, strerror(ENOSPC)));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_roundtrip_every_kind, cleanup_tmp),
	    cmocka_unit_test_teardown(test_strings_stored_up_to_nul, cleanup_tmp),
	    cmocka_unit_test_teardown(test_many_records_many_chunks, cleanup_tmp),
	    cmocka_unit_test_teardown(test_flush_mid_stream, cleanup_tmp),
	    cmocka_unit_test_teardown(test_truncated_at_every_offset, cleanup_tmp),
	    cmocka_unit_test_teardown(test_flipped_byte, cleanup_tmp),
	    cmocka_unit_test_teardown(test_not_a_trace_file, cleanup_tmp),
	    cmocka_unit_test_teardown(test_empty_missing_unreadable, cleanup_tmp),
	    cmocka_unit_test_teardown(test_unsupported_version_and_byte_order, cleanup_tmp),
	    cmocka_unit_test_teardown(test_probe_table_remap, cleanup_tmp),
	    cmocka_unit_test_teardown(test_meta_and_clock_pairs, cleanup_tmp),
	    cmocka_unit_test_teardown(test_manual_clock_and_inputs, cleanup_tmp),
	    cmocka_unit_test(test_meta_local),
	    cmocka_unit_test_teardown(test_trailer_lost_total, cleanup_tmp),
	    cmocka_unit_test_teardown(test_unknown_sections, cleanup_tmp),
	    cmocka_unit_test_teardown(test_hand_made_chunk, cleanup_tmp),
	    cmocka_unit_test_teardown(test_writer_refuses_and_io_errors, cleanup_tmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
