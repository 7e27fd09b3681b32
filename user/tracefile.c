// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The migscope trace file. Laid out like trace-cmd's v7 format: a fixed file
 * header, then type-length-value sections, each with its own CRC, that a
 * reader can skip when it does not know their type. Records travel in
 * independently compressed chunks, so that a truncated or corrupt file still
 * yields every complete chunk before the damage. docs/trace-format.md is the
 * reference for every byte written here.
 *
 * Records are not stored as the fixed-size union ms_rec (264+ bytes) but as
 * a compact, self-describing encoding: a presence mask per record, varints,
 * zigzag for signed values, strings up to their NUL, timestamps as deltas
 * within a chunk. The encoding is driven by one field table per record kind,
 * shared by the encoder and the decoder.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "catalog.h"
#include "tracefile.h"
#include "util.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- format constants (docs/trace-format.md) ---- */

static const uint8_t tf_magic[10] = {0x89, 'M', 'I', 'G', 'S', 'C', 'O', 'P', 'E', '\n'};
#define MAGIC_LEN     10
#define FILE_HDR_LEN  16
#define BYTE_ORDER_LE 'L'

#define SEC_HDR_LEN    16
#define SEC_F_REQUIRED 0x1 /* a reader that does not know the type must stop */

enum {
	SEC_META = 1,
	SEC_PROBES = 2,
	SEC_CHUNK = 3,
	SEC_CLOCK = 4,
	SEC_TRAILER = 5,
	SEC_INPUTS = 6,
};

/* INPUTS entry fields */
enum {
	IN_END = 0,
	IN_HOST = 1,
	IN_BOOT_ID = 2,
	IN_PATH = 3,
	IN_BASIS = 4,
	IN_OFFSET_NS = 5,
	IN_ERROR_NS = 6,
};

enum {
	META_HOST = 1,
	META_KERNEL = 2,
	META_BOOT_ID = 3,
	META_CMDLINE = 4,
	META_MONO_NS = 5,
	META_REAL_NS = 6,
};

#define CHUNK_HDR_LEN 32
enum { CODEC_STORED = 0, CODEC_DEFLATE = 1 };

#define CLOCK_LEN   16
#define TRAILER_LEN 24

/* record encoding: kind byte, then header bits */
#define R_LEN	   0x80 /* kind byte: a varint length of the rest follows */
#define R_KIND	   0x7f
#define H_TS_NEG   0x01 /* ts is before the previous record's */
#define H_PID	   0x02 /* pid differs from the previous record's */
#define H_TID	   0x04 /* tid differs from pid */
#define H_PROBE	   0x08
#define H_FLAGS	   0x10
#define H_PAD	   0x20
#define H_RESERVED 0xc0

/* Fuzzing builds accept bad checksums, so that mutated inputs reach the
 * section and record decoders instead of stopping at the first CRC. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define CRC_BAD(stored, computed) false
#else
#define CRC_BAD(stored, computed) ((stored) != (computed))
#endif

/* writer policy and reader limits */
#define CHUNK_TARGET	(256u << 10) /* encoded bytes that end a chunk */
#define REC_MAX		512	     /* upper bound of one encoded record */
#define SEC_MAX		(64u << 20)  /* largest known section a reader loads */
#define CLOCK_PERIOD_NS 1000000000ull

/* ---- little-endian helpers ---- */

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static inline void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

static inline uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static inline uint8_t *put_var(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)v | 0x80;
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* false on a varint that runs past end or beyond 64 bits */
static inline bool get_var(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
	const uint8_t *p = *pp;
	uint64_t x = 0;

	if (p < end && *p < 0x80) {
		*v = *p;
		*pp = p + 1;
		return true;
	}
	for (unsigned int shift = 0; shift < 64; shift += 7) {
		if (p >= end)
			return false;
		uint8_t b = *p++;

		if (shift == 63 && b > 1)
			return false;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			*pp = p;
			return true;
		}
	}
	return false;
}

static inline uint64_t zz_enc(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t zz_dec(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* ---- per-kind field tables: what follows the common header ---- */

enum { F_U, F_S, F_STR }; /* unsigned varint, zigzag varint, string */

struct field {
	uint16_t off;
	uint8_t size; /* bytes of the integer, or capacity of the string */
	uint8_t type;
};

/* clang-format off */
#define FLD(st, m, t) { offsetof(st, m), sizeof(((st *)0)->m), t }

static const struct field f_usdt[] = {
	/* args may hold sign-extended ints and VFIO flags near 2^64: zigzag */
	FLD(struct ms_usdt, args[0], F_S),
	FLD(struct ms_usdt, args[1], F_S),
	FLD(struct ms_usdt, args[2], F_S),
	FLD(struct ms_usdt, args[3], F_S),
	FLD(struct ms_usdt, args[4], F_S),
	FLD(struct ms_usdt, args[5], F_S),
	FLD(struct ms_usdt, str[0], F_STR),
	FLD(struct ms_usdt, str[1], F_STR),
	FLD(struct ms_usdt, str[2], F_STR),
};

static const struct field f_ioctl[] = {
	FLD(struct ms_ioctl, dur_ns, F_U),
	FLD(struct ms_ioctl, ret, F_S),
	FLD(struct ms_ioctl, fd, F_S),
	FLD(struct ms_ioctl, cmd, F_U),
	FLD(struct ms_ioctl, argsz, F_U),
	FLD(struct ms_ioctl, feat_flags, F_U),
	FLD(struct ms_ioctl, dev_state, F_U),
	FLD(struct ms_ioctl, data_fd, F_S),
	FLD(struct ms_ioctl, v1, F_U),
	FLD(struct ms_ioctl, v2, F_U),
};

static const struct field f_data_io[] = {
	FLD(struct ms_data_io, dur_ns, F_U),
	FLD(struct ms_data_io, ret, F_S),
	FLD(struct ms_data_io, count, F_U),
	FLD(struct ms_data_io, fd, F_S),
	FLD(struct ms_data_io, op, F_U),
};

static const struct field f_exec[] = {
	FLD(struct ms_exec, dev, F_U),
	FLD(struct ms_exec, ino, F_U),
	FLD(struct ms_exec, comm, F_STR),
};

static const struct field f_exit[] = {
	FLD(struct ms_exit, exit_code, F_S),
	FLD(struct ms_exit, pad, F_U),
};

static const struct field f_proc[] = {
	FLD(struct ms_proc, start_ns, F_U),
	FLD(struct ms_proc, vm, F_STR),
	FLD(struct ms_proc, uuid, F_STR),
	FLD(struct ms_proc, exe, F_STR),
	FLD(struct ms_proc, probes_attached, F_U),
	FLD(struct ms_proc, probes_missing, F_U),
	FLD(struct ms_proc, pflags, F_U),
	/* appended: written with LEN, so that older readers skip them */
	FLD(struct ms_proc, qemu_version, F_U),
	FLD(struct ms_proc, probes_present[0], F_U),
	FLD(struct ms_proc, probes_present[1], F_U),
};

static const struct field f_lost[] = {
	FLD(struct ms_lost, count, F_U),
};

struct kind_desc {
	const struct field *f;
	uint8_t n;
	uint8_t n1; /* fields of format version 1's table; later ones need LEN */
};

#define KIND(k, tab) [k] = { tab, ARRAY_SIZE(tab), ARRAY_SIZE(tab) }
#define KIND_GREW(k, tab, n1) [k] = { tab, ARRAY_SIZE(tab), n1 }
static const struct kind_desc kinds[MS_EV_KIND_MAX] = {
	KIND(MS_EV_USDT, f_usdt),
	KIND(MS_EV_IOCTL, f_ioctl),
	KIND(MS_EV_DATA_IO, f_data_io),
	KIND(MS_EV_EXEC, f_exec),
	KIND(MS_EV_EXIT, f_exit),
	KIND_GREW(MS_EV_PROC, f_proc, 7),
	KIND(MS_EV_LOST, f_lost),
};
/* clang-format on */

static inline const struct kind_desc *kind_of(unsigned int kind)
{
	return kind < MS_EV_KIND_MAX && kinds[kind].f ? &kinds[kind] : NULL;
}

/* An integer field as its wire value (zigzag applied for signed ones). */
static inline uint64_t field_load(const uint8_t *base, const struct field *f)
{
	const uint8_t *p = base + f->off;
	uint64_t v;

	switch (f->size) {
	case 2: {
		uint16_t x;

		memcpy(&x, p, 2);
		return f->type == F_S ? zz_enc((int16_t)x) : x;
	}
	case 4: {
		uint32_t x;

		memcpy(&x, p, 4);
		return f->type == F_S ? zz_enc((int32_t)x) : x;
	}
	default: memcpy(&v, p, 8); return f->type == F_S ? zz_enc((int64_t)v) : v;
	}
}

/* Store a wire value into an integer field; false if it does not fit. */
static inline bool field_store(uint8_t *base, const struct field *f, uint64_t v)
{
	uint8_t *p = base + f->off;

	switch (f->size) {
	case 2: {
		uint16_t x;

		if (f->type == F_S) {
			int64_t s = zz_dec(v);

			if (s < INT16_MIN || s > INT16_MAX)
				return false;
			x = (uint16_t)s;
		} else {
			if (v > UINT16_MAX)
				return false;
			x = (uint16_t)v;
		}
		memcpy(p, &x, 2);
		return true;
	}
	case 4: {
		uint32_t x;

		if (f->type == F_S) {
			int64_t s = zz_dec(v);

			if (s < INT32_MIN || s > INT32_MAX)
				return false;
			x = (uint32_t)s;
		} else {
			if (v > UINT32_MAX)
				return false;
			x = (uint32_t)v;
		}
		memcpy(p, &x, 4);
		return true;
	}
	default:
		if (f->type == F_S)
			v = (uint64_t)zz_dec(v);
		memcpy(p, &v, 8);
		return true;
	}
}

/* ---- common helpers ---- */

static ssize_t pread_full(int fd, void *buf, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = pread(fd, (uint8_t *)buf + got, n - got, (off_t)(off + got));

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			break;
		got += (size_t)k;
	}
	return (ssize_t)got;
}

static void copy_str(char *dst, size_t size, const void *src, size_t len)
{
	if (len > size - 1)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
	/* stop at an embedded NUL so the rest of dst stays zero */
	len = strlen(dst);
	memset(dst + len, 0, size - len);
}

int tf_meta_local(struct tf_meta *m)
{
	struct utsname u;
	int rc = 0, fd;
	ssize_t n;

	memset(m, 0, sizeof(*m));
	if (uname(&u) == 0) {
		copy_str(m->host, sizeof(m->host), u.nodename, strlen(u.nodename));
		copy_str(m->kernel, sizeof(m->kernel), u.release, strlen(u.release));
	} else {
		rc = -errno;
	}

	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, m->boot_id, sizeof(m->boot_id) - 1);
		if (n < 0) {
			rc = rc ? rc : -errno;
			n = 0;
		}
		m->boot_id[n] = '\0';
		m->boot_id[strcspn(m->boot_id, "\n")] = '\0';
		close(fd);
	} else if (!rc) {
		rc = -errno;
	}

	fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, m->cmdline, sizeof(m->cmdline) - 1);
		if (n < 0)
			n = 0;
		while (n > 0 && m->cmdline[n - 1] == '\0')
			n--;
		for (ssize_t i = 0; i < n; i++)
			if (m->cmdline[i] == '\0')
				m->cmdline[i] = ' ';
		m->cmdline[n] = '\0';
		close(fd);
	}

	ms_clock_pair(&m->mono_ns, &m->real_ns);
	return rc;
}

/* ================================ writer ================================ */

struct tf_writer {
	int fd;
	char *path;
	z_stream z;
	bool z_ok;
	uint8_t *raw; /* encoded records of the current chunk */
	size_t raw_len;
	uint8_t *out; /* section header + chunk header + compressed records */
	size_t out_cap;
	uint32_t nrec;
	uint64_t ts_min, ts_max;
	uint64_t prev_ts; /* delta bases, reset with every chunk */
	uint32_t prev_pid;
	uint64_t records, chunks;
	uint64_t last_clock; /* CLOCK_MONOTONIC of the last clock pair written */
	bool manual_clock;   /* pairs only from tf_writer_clock_pair */
	int err;	     /* sticky I/O error */
	char msg[320];
};

__attribute__((format(printf, 3, 4))) static int w_fail(struct tf_writer *w, int code,
							const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(w->msg, sizeof(w->msg), "%s: ", w->path);

	va_start(ap, fmt);
	vsnprintf(w->msg + n, sizeof(w->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return code;
}

static int w_io_fail(struct tf_writer *w, int code, const char *what)
{
	if (!w->err) {
		w->err = code;
		w_fail(w, code, "%s failed: %s", what, strerror(-code));
	}
	return w->err;
}

static int w_put(struct tf_writer *w, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (w->err)
		return w->err;
	while (len) {
		ssize_t k = write(w->fd, p, len);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return w_io_fail(w, -errno, "write");
		}
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

static void sec_hdr(uint8_t h[SEC_HDR_LEN], uint16_t type, uint16_t flags, uint32_t len,
		    uint32_t crc)
{
	put16(h, type);
	put16(h + 2, flags);
	put32(h + 4, len);
	put32(h + 8, crc);
	put32(h + 12, (uint32_t)crc32(0, h, 12));
}

static int w_section(struct tf_writer *w, uint16_t type, uint16_t flags, const void *payload,
		     size_t len)
{
	uint8_t h[SEC_HDR_LEN];
	struct iovec iov[2] = {{h, SEC_HDR_LEN}, {(void *)payload, len}};
	size_t total = SEC_HDR_LEN + len;

	if (w->err)
		return w->err;
	sec_hdr(h, type, flags, (uint32_t)len, (uint32_t)crc32(0, payload, (uInt)len));
	/* small sections: one writev, falling back to w_put on a short write */
	ssize_t k = writev(w->fd, iov, 2);

	if (k == (ssize_t)total)
		return 0;
	if (k < 0 && errno != EINTR)
		return w_io_fail(w, -errno, "write");
	if (k < 0)
		k = 0;
	if ((size_t)k < SEC_HDR_LEN) {
		int rc = w_put(w, h + k, SEC_HDR_LEN - (size_t)k);

		return rc ? rc : w_put(w, payload, len);
	}
	return w_put(w, (const uint8_t *)payload + (k - SEC_HDR_LEN), total - (size_t)k);
}

static uint8_t *meta_str(uint8_t *p, uint16_t tag, const char *s, size_t size);
static uint8_t *meta_u64(uint8_t *p, uint16_t tag, uint64_t v);
static int w_chunk(struct tf_writer *w);

static int w_clock_pair(struct tf_writer *w, uint64_t mono, uint64_t real)
{
	uint8_t p[CLOCK_LEN];

	put64(p, mono);
	put64(p + 8, real);
	w->last_clock = mono;
	return w_section(w, SEC_CLOCK, 0, p, sizeof(p));
}

static int w_clock(struct tf_writer *w)
{
	uint64_t mono, real;

	if (w->manual_clock)
		return 0;
	ms_clock_pair(&mono, &real);
	return w_clock_pair(w, mono, real);
}

void tf_writer_set_manual_clock(struct tf_writer *w)
{
	w->manual_clock = true;
}

int tf_writer_clock_pair(struct tf_writer *w, uint64_t mono_ns, uint64_t real_ns)
{
	int rc = w_chunk(w);

	return rc ? rc : w_clock_pair(w, mono_ns, real_ns);
}

int tf_writer_inputs(struct tf_writer *w, const struct tf_input *in, size_t n)
{
	/* per entry: 4 strings of at most 128 bytes, 2 integers, an end mark */
	uint8_t buf[4 + TF_MAX_INPUTS * (4 * (4 + 128) + 2 * 12 + 4)], *p = buf + 4;

	if (w->records || w->nrec || n > TF_MAX_INPUTS)
		return -EINVAL;
	put32(buf, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		p = meta_str(p, IN_HOST, in[i].host, sizeof(in[i].host));
		p = meta_str(p, IN_BOOT_ID, in[i].boot_id, sizeof(in[i].boot_id));
		p = meta_str(p, IN_PATH, in[i].path, sizeof(in[i].path));
		p = meta_str(p, IN_BASIS, in[i].basis, sizeof(in[i].basis));
		p = meta_u64(p, IN_OFFSET_NS, (uint64_t)in[i].offset_ns);
		p = meta_u64(p, IN_ERROR_NS, (uint64_t)in[i].error_ns);
		put16(p, IN_END);
		put16(p + 2, 0);
		p += 4;
	}
	return w_section(w, SEC_INPUTS, 0, buf, (size_t)(p - buf));
}

static uint8_t *meta_str(uint8_t *p, uint16_t tag, const char *s, size_t size)
{
	size_t len = strnlen(s, size);

	put16(p, tag);
	put16(p + 2, (uint16_t)len);
	memcpy(p + 4, s, len);
	return p + 4 + len;
}

static uint8_t *meta_u64(uint8_t *p, uint16_t tag, uint64_t v)
{
	put16(p, tag);
	put16(p + 2, 8);
	put64(p + 4, v);
	return p + 12;
}

static int w_meta(struct tf_writer *w, const struct tf_meta *m)
{
	uint8_t buf[sizeof(struct tf_meta) + 6 * 4], *p = buf;

	p = meta_str(p, META_HOST, m->host, sizeof(m->host));
	p = meta_str(p, META_KERNEL, m->kernel, sizeof(m->kernel));
	p = meta_str(p, META_BOOT_ID, m->boot_id, sizeof(m->boot_id));
	p = meta_str(p, META_CMDLINE, m->cmdline, sizeof(m->cmdline));
	p = meta_u64(p, META_MONO_NS, m->mono_ns);
	p = meta_u64(p, META_REAL_NS, m->real_ns);
	return w_section(w, SEC_META, 0, buf, (size_t)(p - buf));
}

/* The probe table: the catalog as this build knows it. */
static int w_probes(struct tf_writer *w)
{
	size_t plen = strlen(MS_PROVIDER), size = 4;
	uint8_t *buf, *p;
	int rc;

	for (unsigned int id = MS_P_NONE + 1; id < MS_P_COUNT; id++)
		size += 2 + 3 + plen + strlen(cat_name(id)) + strlen(cat_types(id));
	buf = malloc(size);
	if (!buf)
		return w_io_fail(w, -ENOMEM, "allocating the probe table");
	p = buf;
	put32(p, MS_P_COUNT - 1);
	p += 4;
	for (unsigned int id = MS_P_NONE + 1; id < MS_P_COUNT; id++) {
		const char *s[3] = {MS_PROVIDER, cat_name(id), cat_types(id)};

		put16(p, (uint16_t)id);
		p += 2;
		for (int i = 0; i < 3; i++) {
			size_t len = strlen(s[i]);

			*p++ = (uint8_t)len;
			memcpy(p, s[i], len);
			p += len;
		}
	}
	rc = w_section(w, SEC_PROBES, SEC_F_REQUIRED, buf, (size_t)(p - buf));
	free(buf);
	return rc;
}

static void w_free(struct tf_writer *w)
{
	if (w->z_ok)
		deflateEnd(&w->z);
	if (w->fd >= 0)
		close(w->fd);
	free(w->raw);
	free(w->out);
	free(w->path);
	free(w);
}

struct tf_writer *tf_writer_open(const char *path, const struct tf_meta *m, char *err,
				 size_t errlen)
{
	struct tf_writer *w = calloc(1, sizeof(*w));
	uint8_t hdr[FILE_HDR_LEN] = {0};
	struct tf_meta meta = *m;
	int rc;

	if (!w || !(w->path = strdup(path))) {
		snprintf(err, errlen, "%s: out of memory", path);
		free(w);
		errno = ENOMEM;
		return NULL;
	}
	w->fd = -1;
	w->raw = malloc(CHUNK_TARGET + REC_MAX);
	if (deflateInit2(&w->z, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK) {
		w->z_ok = true;
		w->out_cap =
		    SEC_HDR_LEN + CHUNK_HDR_LEN + deflateBound(&w->z, CHUNK_TARGET + REC_MAX);
		w->out = malloc(w->out_cap);
	}
	if (!w->raw || !w->out) {
		rc = w_io_fail(w, -ENOMEM, "setting up the writer");
		goto fail;
	}

	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		rc = -errno;
		w_fail(w, rc, "cannot create: %s", strerror(-rc));
		goto fail;
	}

	memcpy(hdr, tf_magic, MAGIC_LEN);
	put16(hdr + 10, TF_VERSION);
	hdr[12] = BYTE_ORDER_LE;
	hdr[13] = FILE_HDR_LEN;
	if (!meta.mono_ns && !meta.real_ns)
		ms_clock_pair(&meta.mono_ns, &meta.real_ns);
	w->last_clock = meta.mono_ns;
	if ((rc = w_put(w, hdr, sizeof(hdr))) || (rc = w_meta(w, &meta)) || (rc = w_probes(w)))
		goto fail;
	return w;

fail:
	snprintf(err, errlen, "%s", w->msg);
	w_free(w);
	errno = -rc;
	return NULL;
}

const char *tf_writer_error(const struct tf_writer *w)
{
	return w->msg[0] ? w->msg : "no error";
}

/* Compress the current chunk and write it as one section. */
static int w_chunk(struct tf_writer *w)
{
	uint8_t *hdr = w->out + SEC_HDR_LEN, *data = hdr + CHUNK_HDR_LEN;
	uint8_t codec = CODEC_DEFLATE;
	size_t clen, plen;
	int rc;

	if (!w->nrec)
		return w->err;
	deflateReset(&w->z);
	w->z.next_in = w->raw;
	w->z.avail_in = (uInt)w->raw_len;
	w->z.next_out = data;
	w->z.avail_out = (uInt)(w->out_cap - SEC_HDR_LEN - CHUNK_HDR_LEN);
	if (deflate(&w->z, Z_FINISH) == Z_STREAM_END && w->z.total_out < w->raw_len) {
		clen = w->z.total_out;
	} else {
		codec = CODEC_STORED;
		memcpy(data, w->raw, w->raw_len);
		clen = w->raw_len;
	}
	memset(hdr, 0, CHUNK_HDR_LEN);
	hdr[0] = codec;
	put32(hdr + 4, w->nrec);
	put32(hdr + 8, (uint32_t)w->raw_len);
	put64(hdr + 16, w->ts_min);
	put64(hdr + 24, w->ts_max);
	plen = CHUNK_HDR_LEN + clen;
	sec_hdr(w->out, SEC_CHUNK, SEC_F_REQUIRED, (uint32_t)plen,
		(uint32_t)crc32(0, hdr, (uInt)plen));
	rc = w_put(w, w->out, SEC_HDR_LEN + plen);

	w->chunks++;
	w->nrec = 0;
	w->raw_len = 0;
	w->prev_ts = 0;
	w->prev_pid = 0;
	return rc;
}

static bool has_late_fields(const uint8_t *base, const struct kind_desc *kd)
{
	for (unsigned int i = kd->n1; i < kd->n; i++)
		if (kd->f[i].type == F_STR ? base[kd->f[i].off] != 0 : field_load(base, &kd->f[i]))
			return true;
	return false;
}

static uint8_t *encode_fields(uint8_t *p, const uint8_t *base, const struct kind_desc *kd)
{
	uint64_t val[16];
	uint32_t mask = 0;

	for (unsigned int i = 0; i < kd->n; i++) {
		const struct field *f = &kd->f[i];

		if (f->type == F_STR) {
			if (base[f->off])
				mask |= 1u << i;
		} else if ((val[i] = field_load(base, f))) {
			mask |= 1u << i;
		}
	}
	p = put_var(p, mask);
	for (unsigned int i = 0; mask; i++, mask >>= 1) {
		const struct field *f = &kd->f[i];

		if (!(mask & 1))
			continue;
		if (f->type == F_STR) {
			size_t len = strnlen((const char *)base + f->off, f->size);

			p = put_var(p, len);
			memcpy(p, base + f->off, len);
			p += len;
		} else {
			p = put_var(p, val[i]);
		}
	}
	return p;
}

int tf_write(struct tf_writer *w, const union ms_rec *r)
{
	const struct kind_desc *kd = kind_of(r->h.kind);
	uint8_t *start = w->raw + w->raw_len, *p = start, *bits;
	uint8_t hb = 0;
	uint64_t ts = r->h.ts;

	if (w->err)
		return w->err;
	if (!kd)
		return w_fail(w, -EINVAL, "record kind %u refused: not a kind this writer knows",
			      r->h.kind);
	if (r->h.kind == MS_EV_USDT && !cat_name(r->h.probe))
		return w_fail(w, -EINVAL, "USDT record refused: probe id %u is not in the catalog",
			      r->h.probe);

	*p++ = (uint8_t)r->h.kind;
	bits = p++;
	if (ts >= w->prev_ts) {
		p = put_var(p, ts - w->prev_ts);
	} else {
		hb |= H_TS_NEG;
		p = put_var(p, w->prev_ts - ts);
	}
	if (r->h.pid != w->prev_pid) {
		hb |= H_PID;
		p = put_var(p, r->h.pid);
	}
	if (r->h.tid != r->h.pid) {
		hb |= H_TID;
		p = put_var(p, zz_enc((int64_t)r->h.tid - (int64_t)r->h.pid));
	}
	if (r->h.probe) {
		hb |= H_PROBE;
		p = put_var(p, r->h.probe);
	}
	if (r->h.flags) {
		hb |= H_FLAGS;
		p = put_var(p, r->h.flags);
	}
	if (r->h.input) {
		hb |= H_PAD;
		p = put_var(p, r->h.input);
	}
	*bits = hb;
	p = encode_fields(p, (const uint8_t *)r, kd);
	if (has_late_fields((const uint8_t *)r, kd)) {
		/* fields a version-1 reader does not know: LEN lets it skip them */
		uint8_t lb[10];
		size_t rest = (size_t)(p - start - 1), k = (size_t)(put_var(lb, rest) - lb);

		memmove(start + 1 + k, start + 1, rest);
		memcpy(start + 1, lb, k);
		*start |= R_LEN;
		p += k;
	}

	if (!w->nrec || ts < w->ts_min)
		w->ts_min = ts;
	if (!w->nrec || ts > w->ts_max)
		w->ts_max = ts;
	w->prev_ts = ts;
	w->prev_pid = r->h.pid;
	w->raw_len += (size_t)(p - start);
	w->nrec++;
	w->records++;

	if (w->raw_len >= CHUNK_TARGET) {
		int rc = w_chunk(w);

		if (rc)
			return rc;
		/* periodic clock pairs, checked once per chunk, not per record */
		uint64_t mono, real;

		ms_clock_pair(&mono, &real);
		if (!w->manual_clock && mono - w->last_clock >= CLOCK_PERIOD_NS)
			return w_clock(w);
	}
	return 0;
}

int tf_writer_flush(struct tf_writer *w)
{
	int rc = w_chunk(w);

	return rc ? rc : w_clock(w);
}

int tf_writer_close(struct tf_writer *w, uint64_t lost_total)
{
	uint8_t t[TRAILER_LEN];
	int rc;

	if (!w)
		return -EINVAL;
	rc = tf_writer_flush(w);
	put64(t, lost_total);
	put64(t + 8, w->records);
	put64(t + 16, w->chunks);
	if (!rc)
		rc = w_section(w, SEC_TRAILER, 0, t, sizeof(t));
	/* EINVAL/EROFS: a special file that cannot be synced, nothing lost */
	if (!rc && fsync(w->fd) < 0 && errno != EINVAL && errno != EROFS)
		rc = w_io_fail(w, -errno, "fsync");
	if (close(w->fd) < 0 && !rc)
		rc = w_io_fail(w, -errno, "close");
	w->fd = -1;
	w_free(w);
	return rc;
}

/* ================================ reader ================================ */

enum { RS_OK, RS_END, RS_ERR };

struct sec {
	uint64_t off; /* of the section header */
	uint32_t len, crc;
	uint16_t type, flags;
};

struct tf_reader {
	int fd;
	char *path;
	struct tf_meta meta;
	int state;
	int err;
	char msg[384];

	uint64_t off; /* where the next section starts */
	uint8_t *sec; /* payload of the last section loaded */
	size_t sec_cap;
	uint8_t *raw; /* decompressed records of the current chunk */
	size_t raw_cap;
	z_stream z;
	bool z_ok;

	/* the chunk being decoded */
	const uint8_t *p, *begin, *end;
	bool in_chunk;
	uint64_t chunk_idx, chunk_off;
	uint32_t chunk_nrec, chunk_done;
	uint64_t prev_ts;
	uint32_t prev_pid;

	uint16_t *map; /* file probe id -> catalog id, 0 = unknown */
	size_t map_len;
	bool have_meta, have_probes;

	uint64_t *mono, *real;
	size_t nclock, clock_cap;

	struct tf_input inputs[TF_MAX_INPUTS];
	size_t ninputs;

	uint64_t decoded; /* records decoded, skipped ones included */
	uint64_t lost_sum, trailer_lost;
	struct tf_stats st;
};

__attribute__((format(printf, 3, 4))) static int r_fail(struct tf_reader *r, int code,
							const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(r->msg, sizeof(r->msg), "%s: ", r->path);

	va_start(ap, fmt);
	vsnprintf(r->msg + n, sizeof(r->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	r->state = RS_ERR;
	r->err = code;
	r->p = r->end = NULL;
	return code;
}

static const char *sec_name(unsigned int type)
{
	switch (type) {
	case SEC_META: return "metadata";
	case SEC_PROBES: return "probe table";
	case SEC_CHUNK: return "chunk";
	case SEC_CLOCK: return "clock";
	case SEC_TRAILER: return "trailer";
	case SEC_INPUTS: return "inputs";
	default: return NULL;
	}
}

/* Where a section is, for messages: "in chunk K", "in the clock section
 * after chunk K", "in a section header before the first chunk", ... type < 0:
 * a header not yet read. */
static const char *r_where(const struct tf_reader *r, int type, char *buf, size_t n)
{
	char after[48];
	uint64_t k = r->st.chunks;

	if (type == SEC_CHUNK) {
		snprintf(buf, n, "in chunk %" PRIu64, k);
		return buf;
	}
	if (k)
		snprintf(after, sizeof(after), "after chunk %" PRIu64, k - 1);
	else
		snprintf(after, sizeof(after), "before the first chunk");
	if (type < 0)
		snprintf(buf, n, "in a section header %s", after);
	else if (sec_name((unsigned int)type))
		snprintf(buf, n, "in the %s section %s", sec_name((unsigned int)type), after);
	else
		snprintf(buf, n, "in a section of unknown type %d %s", type, after);
	return buf;
}

/* 1 = a section header in *s, 0 = end of file at a section boundary, <0 error */
static int r_sec_header(struct tf_reader *r, struct sec *s)
{
	uint8_t h[SEC_HDR_LEN];
	char wb[96];
	ssize_t n = pread_full(r->fd, h, SEC_HDR_LEN, r->off);

	if (n < 0)
		return r_fail(r, (int)n, "read error at byte %" PRIu64 ": %s", r->off,
			      strerror((int)-n));
	if (n == 0)
		return 0;
	if (n < SEC_HDR_LEN)
		return r_fail(r, -ENODATA,
			      "truncated at byte %" PRIu64
			      " %s: the section header at byte %" PRIu64 " has %zd of its %d bytes",
			      r->off + (uint64_t)n,
			      r_where(r, n >= 2 ? get16(h) : -1, wb, sizeof(wb)), r->off, n,
			      SEC_HDR_LEN);
	if (CRC_BAD(get32(h + 12), (uint32_t)crc32(0, h, 12)))
		return r_fail(r, -EBADMSG,
			      "corrupt at byte %" PRIu64 " %s: section header checksum mismatch",
			      r->off, r_where(r, -1, wb, sizeof(wb)));
	s->off = r->off;
	s->type = get16(h);
	s->flags = get16(h + 2);
	s->len = get32(h + 4);
	s->crc = get32(h + 8);
	return 1;
}

/* Load and check the payload of a known section into r->sec. */
static int r_sec_payload(struct tf_reader *r, const struct sec *s)
{
	char wb[96];
	ssize_t n;

	if (s->len > SEC_MAX)
		return r_fail(r, -EBADMSG,
			      "corrupt at byte %" PRIu64 " %s: section length %" PRIu32
			      " is beyond the %u-byte limit",
			      s->off, r_where(r, s->type, wb, sizeof(wb)), s->len, SEC_MAX);
	if (s->len > r->sec_cap) {
		size_t cap = s->len < 4096 ? 4096 : s->len;
		struct stat st;
		uint8_t *b;

		/* no allocation for a length the file cannot hold */
		if (fstat(r->fd, &st) < 0)
			return r_fail(r, -errno, "fstat: %s", strerror(errno));
		if ((uint64_t)st.st_size < s->off + SEC_HDR_LEN + s->len)
			return r_fail(r, -ENODATA,
				      "truncated at byte %" PRIu64
				      " %s: the section at byte %" PRIu64 " needs %" PRIu32
				      " bytes after its header, %" PRIu64 " are present",
				      (uint64_t)st.st_size, r_where(r, s->type, wb, sizeof(wb)),
				      s->off, s->len,
				      (uint64_t)st.st_size > s->off + SEC_HDR_LEN
					  ? (uint64_t)st.st_size - s->off - SEC_HDR_LEN
					  : 0);
		b = realloc(r->sec, cap);

		if (!b)
			return r_fail(r, -ENOMEM, "out of memory");
		r->sec = b;
		r->sec_cap = cap;
	}
	n = pread_full(r->fd, r->sec, s->len, s->off + SEC_HDR_LEN);
	if (n < 0)
		return r_fail(r, (int)n, "read error at byte %" PRIu64 ": %s", s->off + SEC_HDR_LEN,
			      strerror((int)-n));
	if ((size_t)n < s->len)
		return r_fail(r, -ENODATA,
			      "truncated at byte %" PRIu64 " %s: the section at byte %" PRIu64
			      " needs %" PRIu32 " bytes after its header, %zd are present",
			      s->off + SEC_HDR_LEN + (uint64_t)n,
			      r_where(r, s->type, wb, sizeof(wb)), s->off, s->len, n);
	uint32_t crc = (uint32_t)crc32(0, r->sec, s->len);

	if (CRC_BAD(s->crc, crc))
		return r_fail(r, -EBADMSG,
			      "corrupt at byte %" PRIu64 " %s: CRC mismatch (stored %08" PRIx32
			      ", computed %08" PRIx32 ")",
			      s->off, r_where(r, s->type, wb, sizeof(wb)), s->crc, crc);
	r->off = s->off + SEC_HDR_LEN + s->len;
	return 0;
}

/* A section whose type this build does not know: skip it, unless the writer
 * marked it as required. */
static int r_sec_skip(struct tf_reader *r, const struct sec *s)
{
	char wb[96];
	struct stat st;
	uint64_t next = s->off + SEC_HDR_LEN + s->len;

	if (s->flags & SEC_F_REQUIRED)
		return r_fail(r, -ENOTSUP,
			      "section type %u at byte %" PRIu64
			      " is required to read this file but unknown to this build (a newer "
			      "migscope wrote it)",
			      s->type, s->off);
	if (fstat(r->fd, &st) < 0)
		return r_fail(r, -errno, "fstat: %s", strerror(errno));
	if ((uint64_t)st.st_size < next)
		return r_fail(r, -ENODATA,
			      "truncated at byte %" PRIu64 " %s: the section at byte %" PRIu64
			      " needs %" PRIu32 " bytes after its header",
			      (uint64_t)st.st_size, r_where(r, s->type, wb, sizeof(wb)), s->off,
			      s->len);
	r->off = next;
	return 0;
}

static int r_bad_payload(struct tf_reader *r, const struct sec *s, const char *what)
{
	char wb[96];

	return r_fail(r, -EBADMSG, "corrupt at byte %" PRIu64 " %s: %s", s->off,
		      r_where(r, s->type, wb, sizeof(wb)), what);
}

static int r_push_clock(struct tf_reader *r, uint64_t mono, uint64_t real)
{
	if (r->nclock == r->clock_cap) {
		size_t cap = r->clock_cap ? 2 * r->clock_cap : 16;
		uint64_t *m = realloc(r->mono, cap * sizeof(*m));

		if (!m)
			return r_fail(r, -ENOMEM, "out of memory");
		r->mono = m;
		m = realloc(r->real, cap * sizeof(*m));
		if (!m)
			return r_fail(r, -ENOMEM, "out of memory");
		r->real = m;
		r->clock_cap = cap;
	}
	r->mono[r->nclock] = mono;
	r->real[r->nclock] = real;
	r->nclock++;
	return 0;
}

static int r_meta(struct tf_reader *r, const struct sec *s)
{
	const uint8_t *p = r->sec, *end = r->sec + s->len;
	struct tf_meta *m = &r->meta;

	if (r->have_meta) /* only the first one counts */
		return 0;
	while (end - p >= 4) {
		uint16_t tag = get16(p), len = get16(p + 2);

		p += 4;
		if (len > end - p)
			return r_bad_payload(r, s, "metadata field runs past the section");
		switch (tag) {
		case META_HOST: copy_str(m->host, sizeof(m->host), p, len); break;
		case META_KERNEL: copy_str(m->kernel, sizeof(m->kernel), p, len); break;
		case META_BOOT_ID: copy_str(m->boot_id, sizeof(m->boot_id), p, len); break;
		case META_CMDLINE: copy_str(m->cmdline, sizeof(m->cmdline), p, len); break;
		case META_MONO_NS:
		case META_REAL_NS:
			if (len != 8)
				return r_bad_payload(r, s, "metadata clock field is not 8 bytes");
			*(tag == META_MONO_NS ? &m->mono_ns : &m->real_ns) = get64(p);
			break;
		default: /* a field from a newer writer */ break;
		}
		p += len;
	}
	if (p != end)
		return r_bad_payload(r, s, "metadata ends inside a field header");
	r->have_meta = true;
	return r_push_clock(r, m->mono_ns, m->real_ns);
}

static int r_inputs(struct tf_reader *r, const struct sec *s)
{
	const uint8_t *p = r->sec + 4, *end = r->sec + s->len;
	uint32_t n;

	if (s->len < 4)
		return r_bad_payload(r, s, "inputs section shorter than its count");
	n = get32(r->sec);
	if (n > TF_MAX_INPUTS)
		return r_bad_payload(r, s, "more inputs than a file may hold");
	for (uint32_t i = 0; i < n; i++) {
		struct tf_input *in = &r->inputs[i];

		memset(in, 0, sizeof(*in));
		in->error_ns = TF_ERROR_NONE;
		for (;;) {
			uint16_t tag, len;

			if (end - p < 4)
				return r_bad_payload(r, s, "inputs section ends inside an entry");
			tag = get16(p);
			len = get16(p + 2);
			p += 4;
			if (tag == IN_END)
				break;
			if (len > end - p)
				return r_bad_payload(r, s, "input field runs past the section");
			switch (tag) {
			case IN_HOST: copy_str(in->host, sizeof(in->host), p, len); break;
			case IN_BOOT_ID: copy_str(in->boot_id, sizeof(in->boot_id), p, len); break;
			case IN_PATH: copy_str(in->path, sizeof(in->path), p, len); break;
			case IN_BASIS: copy_str(in->basis, sizeof(in->basis), p, len); break;
			case IN_OFFSET_NS:
			case IN_ERROR_NS:
				if (len != 8)
					return r_bad_payload(r, s,
							     "input offset field is not 8 bytes");
				*(tag == IN_OFFSET_NS ? &in->offset_ns : &in->error_ns) =
				    (int64_t)get64(p);
				break;
			default: break;
			}
			p += len;
		}
	}
	r->ninputs = n;
	return 0;
}

size_t tf_reader_inputs(const struct tf_reader *r, const struct tf_input **in)
{
	*in = r->inputs;
	return r->ninputs;
}

static int r_probes(struct tf_reader *r, const struct sec *s)
{
	const uint8_t *p = r->sec, *end = r->sec + s->len;
	uint32_t count;

	if (s->len < 4)
		return r_bad_payload(r, s, "probe table shorter than its count");
	count = get32(p);
	p += 4;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *str[3];
		uint8_t len[3];
		uint16_t id;
		char name[256];

		if (end - p < 2)
			return r_bad_payload(r, s, "probe table entry runs past the section");
		id = get16(p);
		p += 2;
		for (int j = 0; j < 3; j++) {
			if (end - p < 1 || end - p - 1 < *p)
				return r_bad_payload(r, s,
						     "probe table entry runs past the section");
			len[j] = *p++;
			str[j] = p;
			p += len[j];
		}
		if (id >= r->map_len) {
			size_t n = (size_t)id + 1;
			uint16_t *m = realloc(r->map, n * sizeof(*m));

			if (!m)
				return r_fail(r, -ENOMEM, "out of memory");
			memset(m + r->map_len, 0, (n - r->map_len) * sizeof(*m));
			r->map = m;
			r->map_len = n;
		}
		memcpy(name, str[1], len[1]);
		name[len[1]] = '\0';
		bool qemu = len[0] == strlen(MS_PROVIDER) && !memcmp(str[0], MS_PROVIDER, len[0]);

		r->map[id] = qemu ? (uint16_t)cat_lookup(name) : MS_P_NONE;
	}
	if (p != end)
		return r_bad_payload(r, s, "probe table has bytes after its last entry");
	r->have_probes = true;
	return 0;
}

static int r_chunk(struct tf_reader *r, const struct sec *s)
{
	const uint8_t *h, *data;
	uint32_t nrec, raw_len, dlen;
	char wb[96];
	int rc;

	if ((rc = r_sec_payload(r, s)))
		return rc;
	if (s->len < CHUNK_HDR_LEN)
		return r_bad_payload(r, s, "chunk shorter than its header");
	h = r->sec;
	data = h + CHUNK_HDR_LEN;
	dlen = s->len - CHUNK_HDR_LEN;
	nrec = get32(h + 4);
	raw_len = get32(h + 8);
	if (raw_len > SEC_MAX)
		return r_bad_payload(r, s, "chunk announces more data than the reader's limit");
	/* deflate expands at most ~1032:1; a larger claim is not worth allocating */
	if (h[0] == CODEC_DEFLATE && raw_len / 1032 > dlen + 1)
		return r_bad_payload(r, s,
				     "chunk announces more data than its deflate stream can hold");
	if (nrec > raw_len / 3)
		return r_bad_payload(r, s, "chunk announces more records than its data can hold");

	switch (h[0]) {
	case CODEC_STORED:
		if (dlen != raw_len)
			return r_bad_payload(r, s, "stored chunk length differs from its header");
		r->begin = data;
		break;
	case CODEC_DEFLATE:
		if (raw_len > r->raw_cap) {
			uint8_t *b = realloc(r->raw, raw_len);

			if (!b)
				return r_fail(r, -ENOMEM, "out of memory");
			r->raw = b;
			r->raw_cap = raw_len;
		}
		if (raw_len) {
			inflateReset(&r->z);
			r->z.next_in = (Bytef *)data;
			r->z.avail_in = dlen;
			r->z.next_out = r->raw;
			r->z.avail_out = raw_len;
			if (inflate(&r->z, Z_FINISH) != Z_STREAM_END || r->z.total_out != raw_len ||
			    r->z.avail_in)
				return r_bad_payload(r, s,
						     "deflate data does not decode to the size "
						     "its header announces");
		}
		r->begin = raw_len ? r->raw : data; /* r->raw may not exist yet */
		break;
	default:
		return r_fail(r, -ENOTSUP,
			      "chunk at byte %" PRIu64 " (%s) uses codec %u, unknown to this build",
			      s->off, r_where(r, s->type, wb, sizeof(wb)), h[0]);
	}
	r->p = r->begin;
	r->end = r->begin + raw_len;
	r->in_chunk = true;
	r->chunk_idx = r->st.chunks;
	r->chunk_off = s->off;
	r->chunk_nrec = nrec;
	r->chunk_done = 0;
	r->prev_ts = 0;
	r->prev_pid = 0;
	r->st.chunks++;
	r->st.bytes_compressed += dlen;
	r->st.bytes_uncompressed += raw_len;
	return 1;
}

static int r_trailer(struct tf_reader *r, const struct sec *s)
{
	char wb[96];
	uint64_t records, chunks;

	if (s->len < TRAILER_LEN)
		return r_bad_payload(r, s, "trailer shorter than 24 bytes");
	r->trailer_lost = get64(r->sec);
	records = get64(r->sec + 8);
	chunks = get64(r->sec + 16);
	if (records != r->decoded || chunks != r->st.chunks)
		return r_fail(r, -EBADMSG,
			      "corrupt at byte %" PRIu64 " %s: it counts %" PRIu64
			      " records in %" PRIu64 " chunks, the file holds %" PRIu64
			      " in %" PRIu64,
			      s->off, r_where(r, s->type, wb, sizeof(wb)), records, chunks,
			      r->decoded, r->st.chunks);
	r->st.has_trailer = true;
	r->state = RS_END;
	return 0;
}

/* Sections up to the next chunk: 1 = a chunk is loaded, 0 = clean end. */
static int r_next_chunk(struct tf_reader *r)
{
	for (;;) {
		struct sec s;
		char wb[96];
		int rc = r_sec_header(r, &s);

		if (rc < 0)
			return rc;
		if (rc == 0) {
			if (r->st.chunks)
				snprintf(wb, sizeof(wb), "after chunk %" PRIu64, r->st.chunks - 1);
			else
				snprintf(wb, sizeof(wb), "before the first chunk");
			return r_fail(r, -ENODATA,
				      "truncated at byte %" PRIu64 " %s: the file ends without a "
				      "trailer (the recording was not finalised)",
				      r->off, wb);
		}
		switch (s.type) {
		case SEC_CHUNK: return r_chunk(r, &s);
		case SEC_CLOCK:
			if ((rc = r_sec_payload(r, &s)))
				return rc;
			if (s.len < CLOCK_LEN)
				return r_bad_payload(r, &s, "clock section shorter than 16 bytes");
			if ((rc = r_push_clock(r, get64(r->sec), get64(r->sec + 8))))
				return rc;
			break;
		case SEC_TRAILER:
			if ((rc = r_sec_payload(r, &s)))
				return rc;
			return r_trailer(r, &s);
		case SEC_META:
			if ((rc = r_sec_payload(r, &s)) || (rc = r_meta(r, &s)))
				return rc;
			break;
		case SEC_PROBES: /* a later table may add probes */
			if ((rc = r_sec_payload(r, &s)) || (rc = r_probes(r, &s)))
				return rc;
			break;
		default:
			if ((rc = r_sec_skip(r, &s)))
				return rc;
			break;
		}
	}
}

static int r_bad_record(struct tf_reader *r, const char *what)
{
	return r_fail(r, -EBADMSG,
		      "corrupt at byte %" PRIu64 " in chunk %" PRIu64 ": record %" PRIu32
		      " of %" PRIu32 " (at offset %zu of the decompressed data) %s",
		      r->chunk_off, r->chunk_idx, r->chunk_done, r->chunk_nrec,
		      (size_t)(r->p - r->begin), what);
}

/* One record at r->p: 1 = delivered in *out, 0 = skipped, <0 corrupt. */
/* A PROC record's probes_present bits are file probe ids, like a record's
 * probe: put them on this build's catalog (another build's catalog may number
 * its probes otherwise, or lack some). */
static void r_map_present(const struct tf_reader *r, __u64 present[2])
{
	__u64 in[2] = {present[0], present[1]};

	present[0] = present[1] = 0;
	for (unsigned int i = 0; i < 128; i++) {
		uint16_t id;

		if (!(in[i / 64] >> (i % 64) & 1))
			continue;
		id = i < r->map_len ? r->map[i] : MS_P_NONE;
		if (id != MS_P_NONE && id < 128)
			present[id / 64] |= 1ULL << (id % 64);
	}
}

static int r_decode(struct tf_reader *r, union ms_rec *out)
{
	const uint8_t *p = r->p, *end = r->end;
	const struct kind_desc *kd;
	uint64_t v, ts, pid, tid, probe = 0, flags = 0, pad = 0;
	uint8_t kb, hb;

	kb = *p++;
	if (kb & R_LEN) {
		if (!get_var(&p, end, &v) || v > (uint64_t)(end - p))
			return r_bad_record(r, "has a length beyond the chunk");
		end = p + v;
	}
	kd = kind_of(kb & R_KIND);
	if (!kd && !(kb & R_LEN))
		return r_bad_record(r, "is of an unknown kind and has no length");
	if (r->chunk_done >= r->chunk_nrec)
		return r_bad_record(r, "is beyond the count in the chunk header");
	if (p >= end)
		return r_bad_record(r, "ends inside its header");
	hb = *p++;
	if (hb & H_RESERVED)
		return r_bad_record(r, "has reserved header bits set");
	if (!get_var(&p, end, &v))
		return r_bad_record(r, "ends inside its timestamp");
	ts = hb & H_TS_NEG ? r->prev_ts - v : r->prev_ts + v;
	pid = r->prev_pid;
	if ((hb & H_PID) && (!get_var(&p, end, &pid) || pid > UINT32_MAX))
		return r_bad_record(r, "has a bad pid");
	tid = pid;
	if (hb & H_TID) {
		int64_t t;

		if (!get_var(&p, end, &v))
			return r_bad_record(r, "has a bad tid");
		t = (int64_t)pid + zz_dec(v);
		if (t < 0 || t > UINT32_MAX)
			return r_bad_record(r, "has a bad tid");
		tid = (uint64_t)t;
	}
	if (((hb & H_PROBE) && (!get_var(&p, end, &probe) || probe > UINT16_MAX)) ||
	    ((hb & H_FLAGS) && (!get_var(&p, end, &flags) || flags > UINT16_MAX)) ||
	    ((hb & H_PAD) && (!get_var(&p, end, &pad) || pad > UINT16_MAX)))
		return r_bad_record(r, "has a bad header field");
	r->prev_ts = ts;
	r->prev_pid = (uint32_t)pid;

	if (!kd) { /* a kind from a newer writer: its length lets us skip it */
		r->chunk_done++;
		r->decoded++;
		r->st.unknown_records++;
		r->p = end;
		return 0;
	}

	memset(out, 0, sizeof(*out));
	uint8_t *base = (uint8_t *)out;
	uint64_t mask;

	if (!get_var(&p, end, &mask))
		return r_bad_record(r, "ends before its field mask");
	if ((mask >> kd->n) && !(kb & R_LEN))
		return r_bad_record(r, "has fields its kind does not have");
	for (unsigned int i = 0; i < kd->n; i++) {
		const struct field *f = &kd->f[i];

		if (!(mask & (1ull << i)))
			continue;
		if (!get_var(&p, end, &v))
			return r_bad_record(r, "ends inside a field");
		if (f->type == F_STR) {
			if (v > f->size || v > (uint64_t)(end - p))
				return r_bad_record(r, "has a string longer than its field");
			memcpy(base + f->off, p, v);
			p += v;
		} else if (!field_store(base, f, v)) {
			return r_bad_record(r, "has a value too large for its field");
		}
	}
	if (kb & R_LEN) /* fields a newer writer appended */
		p = end;
	r->p = p;
	r->chunk_done++;
	r->decoded++;

	out->h.ts = ts;
	out->h.pid = (uint32_t)pid;
	out->h.tid = (uint32_t)tid;
	out->h.kind = kb & R_KIND;
	out->h.probe = (uint16_t)probe;
	out->h.flags = (uint16_t)flags;
	out->h.input = (uint16_t)pad;
	if (out->h.kind == MS_EV_USDT) {
		uint16_t id = probe < r->map_len ? r->map[probe] : MS_P_NONE;

		if (id == MS_P_NONE) {
			r->st.unknown_probes++;
			return 0;
		}
		out->h.probe = id;
	} else if (out->h.kind == MS_EV_LOST) {
		r->lost_sum += out->lost.count;
	} else if (out->h.kind == MS_EV_PROC) {
		r_map_present(r, out->proc.probes_present);
	}
	return 1;
}

int tf_read(struct tf_reader *r, union ms_rec *out)
{
	int rc;

	for (;;) {
		while (r->p < r->end) {
			rc = r_decode(r, out);
			if (rc > 0) {
				r->st.records++;
				return 1;
			}
			if (rc < 0)
				return rc;
		}
		if (r->state == RS_END)
			return 0;
		if (r->state == RS_ERR)
			return r->err;
		if (r->in_chunk) {
			r->in_chunk = false;
			if (r->chunk_done != r->chunk_nrec) {
				char what[64];

				snprintf(what, sizeof(what),
					 "is missing: the chunk ends after %" PRIu32,
					 r->chunk_done);
				return r_bad_record(r, what);
			}
		}
		rc = r_next_chunk(r);
		if (rc <= 0)
			return rc;
	}
}

/* What a file that is not a trace file looks like, for the message. */
static void describe(const uint8_t *b, size_t n, char *buf, size_t size)
{
	size_t i, text = 0;

	if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) {
		snprintf(buf, size, "gzip-compressed data");
		return;
	}
	if (n >= 4 && !memcmp(b,
			      "\x7f"
			      "ELF",
			      4)) {
		snprintf(buf, size, "an ELF binary");
		return;
	}
	for (i = 0; i < n; i++)
		if ((b[i] >= 0x20 && b[i] < 0x7f) || b[i] == '\n' || b[i] == '\t' || b[i] == '\r' ||
		    b[i] >= 0x80)
			text++;
	if (text == n) {
		char line[48];
		size_t k = 0;

		for (i = 0; i < n && k < sizeof(line) - 4 && b[i] != '\n' && b[i] != '\r'; i++)
			line[k++] = b[i] >= 0x20 && b[i] < 0x7f ? (char)b[i] : '?';
		if (i < n && b[i] != '\n' && b[i] != '\r') {
			memcpy(line + k, "...", 3);
			k += 3;
		}
		line[k] = '\0';
		snprintf(buf, size, "text beginning \"%s\"", line);
		return;
	}
	int k = snprintf(buf, size, "binary data beginning");

	for (i = 0; i < n && i < 8 && k > 0 && (size_t)k < size; i++)
		k += snprintf(buf + k, size - (size_t)k, " %02x", b[i]);
}

static void r_free(struct tf_reader *r)
{
	if (r->z_ok)
		inflateEnd(&r->z);
	if (r->fd >= 0)
		close(r->fd);
	free(r->sec);
	free(r->raw);
	free(r->map);
	free(r->mono);
	free(r->real);
	free(r->path);
	free(r);
}

static int r_open(struct tf_reader *r)
{
	uint8_t h[64];
	char what[96];
	ssize_t n;
	int rc;

	r->fd = open(r->path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0)
		return r_fail(r, -errno, "cannot open: %s", strerror(errno));
	n = pread_full(r->fd, h, sizeof(h), 0);
	if (n < 0)
		return r_fail(r, (int)n, "cannot read: %s", strerror((int)-n));
	if (n == 0)
		return r_fail(r, -ENODATA, "empty file (0 bytes), not a migscope trace file");
	if (memcmp(h, tf_magic, (size_t)n < MAGIC_LEN ? (size_t)n : MAGIC_LEN)) {
		describe(h, (size_t)n, what, sizeof(what));
		return r_fail(r, -EINVAL, "not a migscope trace file: %s", what);
	}
	if (n < FILE_HDR_LEN)
		return r_fail(r, -ENODATA, "truncated at byte %zd in the file header (%d bytes)", n,
			      FILE_HDR_LEN);
	if (h[12] != BYTE_ORDER_LE)
		return r_fail(r, -ENOTSUP, "byte order 0x%02x is not supported (only 'L')", h[12]);
	if (get16(h + 10) != TF_VERSION)
		return r_fail(r, -ENOTSUP,
			      "trace file format version %u is not supported (this build reads "
			      "version %d)",
			      get16(h + 10), TF_VERSION);
	if (h[13] < FILE_HDR_LEN)
		return r_fail(r, -EBADMSG,
			      "corrupt at byte 13 in the file header: header length %u", h[13]);
	r->off = h[13];
	if (inflateInit2(&r->z, -15) != Z_OK)
		return r_fail(r, -ENOMEM, "cannot set up zlib");
	r->z_ok = true;

	/* The metadata and the probe table come before any chunk. */
	while (!r->have_meta || !r->have_probes) {
		struct sec s;

		rc = r_sec_header(r, &s);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return r_fail(r, -ENODATA,
				      "truncated at byte %" PRIu64
				      " before the first chunk: the file ends before its %s",
				      r->off, r->have_meta ? "probe table" : "metadata");
		switch (s.type) {
		case SEC_META:
			if ((rc = r_sec_payload(r, &s)) || (rc = r_meta(r, &s)))
				return rc;
			break;
		case SEC_PROBES:
			if ((rc = r_sec_payload(r, &s)) || (rc = r_probes(r, &s)))
				return rc;
			break;
		case SEC_CHUNK:
		case SEC_CLOCK:
		case SEC_TRAILER:
			snprintf(what, sizeof(what), "%s section before the %s", sec_name(s.type),
				 r->have_meta ? "probe table" : "metadata");
			return r_bad_payload(r, &s, what);
		default:
			if ((rc = r_sec_skip(r, &s)))
				return rc;
		}
	}
	/* a merged file says what its inputs are before the first chunk; peek
	 * without failing: any damage is reported where tf_read meets it */
	{
		uint8_t h[SEC_HDR_LEN];
		struct sec s;

		if (pread_full(r->fd, h, SEC_HDR_LEN, r->off) == SEC_HDR_LEN &&
		    !CRC_BAD(get32(h + 12), (uint32_t)crc32(0, h, 12)) && get16(h) == SEC_INPUTS &&
		    r_sec_header(r, &s) > 0 &&
		    ((rc = r_sec_payload(r, &s)) || (rc = r_inputs(r, &s))))
			return rc;
	}
	r->state = RS_OK;
	return 0;
}

struct tf_reader *tf_reader_open(const char *path, char *err, size_t errlen)
{
	struct tf_reader *r = calloc(1, sizeof(*r));
	int rc;

	if (!r || !(r->path = strdup(path))) {
		snprintf(err, errlen, "%s: out of memory", path);
		free(r);
		errno = ENOMEM;
		return NULL;
	}
	r->fd = -1;
	r->sec_cap = 4096;
	r->sec = malloc(r->sec_cap);
	rc = r->sec ? r_open(r) : r_fail(r, -ENOMEM, "out of memory");
	if (rc < 0) {
		snprintf(err, errlen, "%s", r->msg);
		r_free(r);
		errno = -rc;
		return NULL;
	}
	return r;
}

bool tf_is_trace_file(const char *path)
{
	uint8_t b[MAGIC_LEN];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	ok = pread_full(fd, b, sizeof(b), 0) == MAGIC_LEN && !memcmp(b, tf_magic, MAGIC_LEN);
	close(fd);
	return ok;
}

const struct tf_meta *tf_reader_meta(const struct tf_reader *r)
{
	return &r->meta;
}

const char *tf_reader_error(const struct tf_reader *r)
{
	return r->msg[0] ? r->msg : "no error";
}

void tf_reader_stats(const struct tf_reader *r, struct tf_stats *s)
{
	*s = r->st;
	s->lost_total = r->st.has_trailer ? r->trailer_lost : r->lost_sum;
}

size_t tf_reader_clock_pairs(const struct tf_reader *r, const uint64_t **mono,
			     const uint64_t **real)
{
	*mono = r->mono;
	*real = r->real;
	return r->nclock;
}

void tf_reader_close(struct tf_reader *r)
{
	if (r)
		r_free(r);
}
