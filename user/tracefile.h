/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The migscope trace file: writer and reader. The byte-level format, the
 * compatibility rules and the handling of damaged files are in
 * docs/trace-format.md.
 *
 * A writer and a reader are each used by one thread at a time. Errors are
 * negative errno values; the last one is also kept as a one-line message
 * (tf_writer_error, tf_reader_error, or the err buffer of the open calls)
 * that names the file, the byte offset and what was wrong.
 *
 *   -ENOENT, -EACCES, ...  the file could not be opened, read or written
 *   -EINVAL    not a migscope trace file; or a record tf_write refuses
 *   -ENODATA   empty or truncated file (including "no trailer": the
 *              recording was never finalised)
 *   -EBADMSG   corrupt file: checksum mismatch, malformed section or record
 *   -ENOTSUP   unsupported format version, byte order, codec or a required
 *              section type this build does not know
 */
#ifndef MIGSCOPE_TRACEFILE_H
#define MIGSCOPE_TRACEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "migscope_abi.h"

#define TF_VERSION 1 /* the format version this build writes and reads */

/* Who and where a recording was made. */
struct tf_meta {
	char host[64];		   /* nodename */
	char kernel[64];	   /* uname release */
	char boot_id[40];	   /* /proc/sys/kernel/random/boot_id */
	char cmdline[256];	   /* the recorder's command line, space-separated */
	uint64_t mono_ns, real_ns; /* CLOCK_MONOTONIC / CLOCK_REALTIME at open */
};

/* Fill m from this machine and process, clocks read now. Returns 0, or a
 * negative errno if something could not be read (the rest is filled). */
int tf_meta_local(struct tf_meta *m);

/*
 * Writer. tf_writer_open creates (truncates) path and writes the file
 * header, metadata and the current probe catalog at once. If m->mono_ns and
 * m->real_ns are both 0, the clocks are read now. On failure it returns NULL
 * with errno set and a message in err.
 */
struct tf_writer *tf_writer_open(const char *path, const struct tf_meta *m, char *err,
				 size_t errlen);
/* Append a record. It is buffered; a full chunk (~256 KiB of encoded
 * records) is compressed and written. -EINVAL (the record is refused, the
 * writer stays usable): unknown kind, or a USDT probe id outside the
 * catalog. I/O errors are sticky: every later call returns them. */
int tf_write(struct tf_writer *w, const union ms_rec *r);
/* End the current chunk now and write it, then a clock pair. */
int tf_writer_flush(struct tf_writer *w);
/* Flush, write a clock pair and the trailer (with lost_total), fsync,
 * close, free. Returns 0 or the first error met during the writer's life. */
int tf_writer_close(struct tf_writer *w, uint64_t lost_total);
const char *tf_writer_error(const struct tf_writer *w);
/* From now on the writer reads no clock itself: no CLOCK pair at flush,
 * close or after a chunk; only tf_writer_clock_pair writes them (tools that
 * rewrite a recording keep its pairs). */
void tf_writer_set_manual_clock(struct tf_writer *w);
/* End the current chunk and write a CLOCK section with this pair. */
int tf_writer_clock_pair(struct tf_writer *w, uint64_t mono_ns, uint64_t real_ns);

/* The inputs a merged file's records came from (h.input indexes them). */
#define TF_MAX_INPUTS 16
#define TF_ERROR_NONE INT64_MIN /* nothing bounds the offset */
struct tf_input {
	char host[64];	   /* nodename of the recording host, "" unknown */
	char boot_id[40];  /* "" unknown (a QEMU log) */
	char path[128];	   /* the file it came from, as given */
	char basis[32];	   /* how the offset was found: "reference", "messages", ... */
	int64_t offset_ns; /* added to the input's timestamps to put them on this file's clock */
	int64_t error_ns;  /* half-width of the interval that holds the true offset,
			      TF_ERROR_NONE when nothing bounds it */
};
/* Write the INPUTS section: before the first record (-EINVAL otherwise, or
 * when n > TF_MAX_INPUTS). */
int tf_writer_inputs(struct tf_writer *w, const struct tf_input *in, size_t n);

/* Whether path starts with the trace file magic (format detection). */
bool tf_is_trace_file(const char *path);

/*
 * Reader. tf_reader_open reads the header, metadata and probe table; on
 * failure it returns NULL with errno set and a message in err: the file
 * cannot be opened or read, is empty, is not a trace file (the message says
 * what it looks like), has an unsupported version, or is damaged before its
 * first chunk.
 */
struct tf_reader *tf_reader_open(const char *path, char *err, size_t errlen);
const struct tf_meta *tf_reader_meta(const struct tf_reader *r);
/*
 * Next record: 1 = a record in *out, 0 = clean end (the trailer was read),
 * < 0 = stopped at a damaged or truncated point; tf_reader_error says where
 * ("truncated at byte N in chunk K: ..."). Every record of each complete,
 * checksummed chunk before that point has been delivered. The result is
 * sticky. Records are whole unions, unused bytes zeroed; USDT probe ids are
 * remapped from the file's probe table to the current catalog by name, and
 * records of probes the catalog does not know are skipped and counted.
 */
int tf_read(struct tf_reader *r, union ms_rec *out);
const char *tf_reader_error(const struct tf_reader *r);

struct tf_stats {
	uint64_t records;	     /* records delivered by tf_read */
	uint64_t chunks;	     /* chunks read and verified */
	uint64_t bytes_compressed;   /* chunk data as stored in the file */
	uint64_t bytes_uncompressed; /* chunk data once decompressed */
	uint64_t unknown_probes;     /* USDT records skipped: probe not in the catalog */
	uint64_t lost_total;	     /* the trailer's total, or (no trailer yet) the sum of
					MS_EV_LOST records read so far */
	bool has_trailer;
	uint64_t unknown_records; /* records of kinds this build does not know, skipped */
};
void tf_reader_stats(const struct tf_reader *r, struct tf_stats *s);
void tf_reader_close(struct tf_reader *r);
/* The INPUTS section's entries (0 when the file has none): read at open when
 * it comes before the first chunk, as merge writes it. */
size_t tf_reader_inputs(const struct tf_reader *r, const struct tf_input **in);
/* Clock pairs seen so far, the open pair (tf_meta) first: *mono[i] and
 * *real[i] were read together. The arrays stay valid until the next
 * tf_read or tf_reader_close. */
size_t tf_reader_clock_pairs(const struct tf_reader *r, const uint64_t **mono,
			     const uint64_t **real);

#endif /* MIGSCOPE_TRACEFILE_H */
