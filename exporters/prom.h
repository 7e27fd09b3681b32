/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Prometheus exposition: the metric table, a registry of series and the text
 * format 0.0.4 writer.
 *
 * Every metric migscope exports is one line of PROM_FAMILIES below: name,
 * type, label names, bucket set, lifetime and help (ebpf_exporter style).
 * Code refers to families by their enum id and passes label values in the
 * table's order; nothing else prints a metric name. docs/metrics.md is this
 * table in prose.
 *
 * Lifetime of a family's series:
 *   ACC  accumulated (counters, histograms) and kept until their owner (a VM's
 *        series group, see prom_tl.h) is dropped;
 *   NOW  set from the engine's current state at each update; a series not set
 *        by an update disappears (prom_reg_sweep).
 *
 * A registry is used by one thread at a time. A snapshot (prom_snap) is an
 * immutable copy that any thread may render; it is reference counted so that
 * the thread that publishes a newer one never waits for a reader.
 */
#ifndef MIGSCOPE_PROM_H
#define MIGSCOPE_PROM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum prom_type { PROM_COUNTER, PROM_GAUGE, PROM_HISTOGRAM };
enum prom_life { PROM_ACC, PROM_NOW };
/* Histogram bucket sets (upper bounds in ns). */
enum prom_bset {
	PROM_B_NONE,
	PROM_B_DURATION, /* migration figures: 1 ms .. 60 s */
	PROM_B_SCRAPE,	 /* the exporter's own work: 100 us .. 10 s */
};

#define PROM_L(...) ((const char *const[]){__VA_ARGS__, NULL})
#define PROM_L_NONE ((const char *const[]){NULL})
#define PROM_L_MIG  PROM_L("vm", "uuid", "role")
#define PROM_L_DEV  PROM_L("vm", "uuid", "role", "device")
#define PROM_L_HDEV PROM_L("role", "device")

/* clang-format off */
/* X(ID, name, type, life, labels, buckets, help) */
#define PROM_FAMILIES(X)                                                                           \
	/* migrations, per VM and role */                                                          \
	X(MIGRATIONS, "migscope_migrations_total", COUNTER, ACC,                                   \
	  PROM_L("vm", "uuid", "role", "result"), NONE,                                            \
	  "Migrations that ended, by result (completed, failed, cancelled, aborted: the QEMU "      \
	  "process exited or restarted during the migration).")                                    \
	X(ACTIVE, "migscope_migration_active", GAUGE, NOW, PROM_L_MIG, NONE,                       \
	  "Migrations of this VM and role running now (0 or 1).")                                  \
	X(PHASE, "migscope_migration_phase", GAUGE, NOW, PROM_L("vm", "uuid", "role", "phase"),    \
	  NONE,                                                                                    \
	  "1 for the phase of the VM's latest migration: setup, precopy, waiting-ack, "            \
	  "switchover, postcopy (source), loading, starting (destination), then its result.")      \
	X(ELAPSED, "migscope_migration_elapsed_seconds", GAUGE, NOW, PROM_L_MIG, NONE,             \
	  "Time since the running migration started.")                                             \
	X(TIMESTAMP, "migscope_migration_timestamp_seconds", GAUGE, NOW,                           \
	  PROM_L("vm", "uuid", "role", "milestone"), NONE,                                         \
	  "Unix time of each milestone seen of the VM's latest migration in this role (its first " \
	  "occurrence; the end is named by the result): the two hosts' sides joined by "           \
	  "recording rules.")                                                                      \
	X(STALLED, "migscope_migration_stalled", GAUGE, NOW,                                       \
	  PROM_L("vm", "uuid", "role", "reason"), NONE,                                            \
	  "1 when a running source has made no progress in pending bytes for the stall window "    \
	  "(reason above-threshold, waiting-ack or other), else 0 with reason none.")              \
	X(DOWNTIME, "migscope_downtime_seconds", HISTOGRAM, ACC, PROM_L_MIG, DURATION,             \
	  "QEMU downtime: src-downtime-end - src-downtime-start (QMP query-migrate downtime).")     \
	X(GUEST_DOWNTIME, "migscope_guest_downtime_seconds", HISTOGRAM, ACC, PROM_L("vm", "uuid"), \
	  DURATION,                                                                                \
	  "Guest-visible downtime: destination VM started - source VM stopped (both sides "        \
	  "traced by this host).")                                                                 \
	X(PRECOPY, "migscope_precopy_seconds", HISTOGRAM, ACC, PROM_L_MIG, DURATION,               \
	  "Precopy duration: src-downtime-start - active.")                                        \
	X(ACK_LATENCY, "migscope_switchover_ack_latency_seconds", HISTOGRAM, ACC, PROM_L_MIG,      \
	  DURATION,                                                                                \
	  "Switchover ACK received - active, on the source (an ACK before active counts as 0).")   \
	X(ACK_WAIT, "migscope_switchover_ack_wait_seconds", HISTOGRAM, ACC, PROM_L_MIG, DURATION,  \
	  "Time the source was ready to switch over but waited for the switchover ACK.")           \
	X(ACK_PENDING, "migscope_switchover_ack_pending", GAUGE, NOW, PROM_L_MIG, NONE,            \
	  "Device approvals the destination still misses before it sends the switchover ACK "      \
	  "(on a source: its paired destination's).")                                              \
	X(PENDING, "migscope_precopy_pending_bytes", GAUGE, NOW, PROM_L_MIG, NONE,             \
	  "Latest pending bytes of the source (RAM and devices), migrate_pending_*.")              \
	X(THRESHOLD, "migscope_precopy_threshold_bytes", GAUGE, NOW, PROM_L_MIG, NONE,             \
	  "Latest switchover threshold: pending bytes that fit in the downtime limit.")            \
	X(BANDWIDTH, "migscope_precopy_bandwidth_bytes_per_second", GAUGE, NOW, PROM_L_MIG, NONE,  \
	  "Latest migration bandwidth measured by QEMU.")                                          \
	X(BREAKDOWN, "migscope_downtime_breakdown_seconds", HISTOGRAM, ACC,                        \
	  PROM_L("vm", "uuid", "part"), DURATION,                                                  \
	  "Parts of the downtime: stop, iterable_save, non_iterable_save (source), transfer_load " \
	  "(source and destination on this host), dst_start (destination).")                       \
	/* VFIO devices */                                                                         \
	X(VFIO_INITIAL, "migscope_vfio_precopy_initial_bytes", GAUGE, NOW, PROM_L_DEV, NONE,       \
	  "Latest precopy initial bytes the device still has to send.")                            \
	X(VFIO_DIRTY, "migscope_vfio_precopy_dirty_bytes", GAUGE, NOW, PROM_L_DEV, NONE,           \
	  "Latest precopy dirty bytes of the device.")                                             \
	X(VFIO_STOPCOPY, "migscope_vfio_stopcopy_bytes", GAUGE, NOW, PROM_L_DEV, NONE,             \
	  "Source: the device's stop-copy size estimate; destination: bytes it loaded in the "     \
	  "stop phase.")                                                                           \
	/* per host device (labels role, device: bounded by the host's devices, not by the VMs \
	 * that used them) */                                                                      \
	X(VFIO_DRAIN, "migscope_vfio_init_drain_seconds", HISTOGRAM, ACC, PROM_L_HDEV, DURATION,   \
	  "Source: vfio_save_setup to the device's precopy initial bytes reaching 0.")             \
	X(VFIO_APPROVAL, "migscope_switchover_ack_approval_seconds", HISTOGRAM, ACC, PROM_L_HDEV,  \
	  DURATION,                                                                                \
	  "Destination: the device's initial data loaded (DEV_INIT_DATA_SENT) to its switchover "  \
	  "approval.")                                                                             \
	X(VFIO_TRANSITION, "migscope_vfio_state_transition_seconds", HISTOGRAM, ACC,               \
	  PROM_L("role", "device", "from", "to"), DURATION,                                        \
	  "Duration of the VFIO MIG_DEVICE_STATE SET ioctl, by device state transition.")          \
	X(DEVICE_DOWNTIME, "migscope_device_downtime_seconds", HISTOGRAM, ACC,                     \
	  PROM_L("role", "device", "direction"), DURATION,                                         \
	  "A VFIO device's stop-phase save (source) or load (destination) time, "                  \
	  "vmstate_downtime_save/load.")                                                           \
	/* the collector */                                                                        \
	X(EVENTS, "migscope_events_total", COUNTER, NOW, PROM_L("probe"), NONE,                    \
	  "QEMU trace events received, by catalog probe.")                                         \
	X(RECORDS, "migscope_records_total", COUNTER, NOW, PROM_L("kind"), NONE,                   \
	  "Records received, by kind (usdt, ioctl, data_io, exec, exit, proc, lost).")             \
	X(LOST, "migscope_events_lost_total", COUNTER, NOW, PROM_L_NONE, NONE,                     \
	  "Events the kernel could not deliver (ring buffer full).")                               \
	X(PROBE_ATTACHED, "migscope_probe_attached", GAUGE, NOW, PROM_L("probe"), NONE,            \
	  "QEMU binaries in which the catalog probe is attached.")                                 \
	X(PROCESSES, "migscope_traced_processes", GAUGE, NOW, PROM_L_NONE, NONE,                   \
	  "QEMU processes traced now.")                                                            \
	X(HOOKS_ON, "migscope_syscall_hooks_attached", GAUGE, NOW, PROM_L_NONE, NONE,              \
	  "1 while the syscall programs (VFIO ioctls, data fd I/O) are attached.")                 \
	X(HOOKS_ATTACHES, "migscope_syscall_hooks_attaches_total", COUNTER, NOW, PROM_L_NONE,      \
	  NONE, "Times the syscall programs were attached.")                                       \
	X(HOOKS_FAILURES, "migscope_syscall_hooks_failures_total", COUNTER, NOW, PROM_L_NONE,      \
	  NONE, "Attaches of the syscall programs that failed.")                                   \
	X(HOOKS_SECONDS, "migscope_syscall_hooks_attached_seconds_total", COUNTER, NOW,            \
	  PROM_L_NONE, NONE, "Time the syscall programs were attached.")                           \
	X(HOOKS_LAG, "migscope_syscall_hooks_attach_lag_seconds", GAUGE, NOW, PROM_L_NONE, NONE,   \
	  "The latest attach's end after the QEMU probe that asked for it.")                       \
	X(SOURCE, "migscope_source_info", GAUGE, NOW, PROM_L("source", "path"), NONE,              \
	  "Always 1: where the series come from: bpf (live probes), log (QEMU logs followed, "     \
	  "per path given) or file (trace files and QEMU logs replayed, per file).")                \
	X(LOG_LINES, "migscope_log_lines_total", COUNTER, NOW, PROM_L_NONE, NONE,                  \
	  "Lines read from the followed QEMU logs.")                                               \
	X(LOG_SKIPPED, "migscope_log_skipped_lines_total", COUNTER, NOW, PROM_L_NONE, NONE,        \
	  "Lines of the followed logs that are no catalog trace event (libvirt's, QEMU's own).")   \
	X(LOG_FILES, "migscope_log_files", GAUGE, NOW, PROM_L_NONE, NONE,                          \
	  "Log files followed now.")                                                               \
	X(LOG_REFUSED, "migscope_log_files_refused", GAUGE, NOW, PROM_L_NONE, NONE,                \
	  "*.log files of the followed directories not followed: 4096 files are.")                 \
	X(LOG_REPLACED, "migscope_log_replaced_total", COUNTER, NOW, PROM_L_NONE, NONE,            \
	  "Followed log files found replaced at their path (rotated, deleted and recreated).")     \
	X(LOG_TRUNCATED, "migscope_log_truncated_total", COUNTER, NOW, PROM_L_NONE, NONE,          \
	  "Followed log files found truncated (read again from their start).")                     \
	X(TRACKED, "migscope_tracked_migrations", GAUGE, NOW, PROM_L_NONE, NONE,                   \
	  "Migrations held by the engine (running, or ended less than the expiry time ago).")      \
	X(UPDATE, "migscope_metrics_update_seconds", GAUGE, NOW, PROM_L_NONE, NONE,                \
	  "Time the latest metrics update held the engine (events wait meanwhile).")               \
	X(BUILD, "migscope_build_info", GAUGE, NOW, PROM_L("version"), NONE,                       \
	  "Always 1; the migscope version.")                                                       \
	/* the HTTP server */                                                                      \
	X(SCRAPE, "migscope_scrape_duration_seconds", HISTOGRAM, ACC, PROM_L_NONE, SCRAPE,         \
	  "Time to render (and compress) the exposition of previous scrapes.")                     \
	X(HTTP, "migscope_http_requests_total", COUNTER, ACC, PROM_L("code"), NONE,                \
	  "HTTP requests answered, by status code.")
/* clang-format on */

enum prom_fam {
#define PROM_X_ENUM(id, name, type, life, labels, buckets, help) PF_##id,
	PROM_FAMILIES(PROM_X_ENUM)
#undef PROM_X_ENUM
	    PF_COUNT,
};

struct prom_def {
	const char *name;
	enum prom_type type;
	enum prom_life life;
	const char *const *labels; /* NULL-terminated */
	enum prom_bset bset;
	const char *help;
};

const struct prom_def *prom_def(enum prom_fam f);
unsigned int prom_nlabels(enum prom_fam f);
/* Bucket upper bounds in ns of a set, and their count. */
const int64_t *prom_bounds(enum prom_bset b, unsigned int *n);

/* A growable output buffer; on allocation failure it keeps failing (err). */
struct prom_buf {
	char *p;
	size_t len, cap;
	bool err;
};
void prom_buf_put(struct prom_buf *b, const char *s, size_t n);
void prom_buf_puts(struct prom_buf *b, const char *s);
void prom_buf_printf(struct prom_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void prom_buf_free(struct prom_buf *b);
/* A label value as the text format wants it: \ " and newline escaped, bytes
 * that are not UTF-8 replaced by U+FFFD. */
void prom_buf_label_value(struct prom_buf *b, const char *v);
/* A sample value: integers exactly, others in the shortest form that reads
 * back to the same double; NaN, +Inf, -Inf. */
void prom_fmt_value(char *out, size_t n, double v);

struct prom_series;
struct prom_reg;

struct prom_reg *prom_reg_new(void);
void prom_reg_free(struct prom_reg *r);
/* Start an update: NOW series not touched before prom_reg_sweep go away. */
void prom_reg_begin(struct prom_reg *r);
void prom_reg_sweep(struct prom_reg *r);
/* Drop every series whose owner dead() says is gone. */
void prom_reg_drop(struct prom_reg *r, bool (*dead)(uint32_t owner, void *arg), void *arg);
size_t prom_reg_nseries(const struct prom_reg *r);

/* The series of family f with these label values (the table's count and
 * order), created (zero) if new and marked touched. owner 0 = none. NULL only
 * when out of memory. */
struct prom_series *prom_get(struct prom_reg *r, enum prom_fam f, uint32_t owner,
			     const char *const *values);
void prom_set(struct prom_series *s, double v);
void prom_add(struct prom_series *s, double v);
/* Histograms: one observation of ns nanoseconds. */
void prom_observe_ns(struct prom_series *s, int64_t ns);

/* Immutable copy of a registry, safe to render from any thread. */
struct prom_snap;
struct prom_snap *prom_snap_take(const struct prom_reg *r);
struct prom_snap *prom_snap_ref(struct prom_snap *s);
void prom_snap_unref(struct prom_snap *s);
size_t prom_snap_nseries(const struct prom_snap *s);

/* Append the text exposition of the snapshots (families of one snapshot are
 * assumed absent from the others). Families without series are left out. */
void prom_render(struct prom_buf *out, struct prom_snap *const *snaps, size_t n);

/* gzip (RFC 1952) of in into out; 0 or -ENOMEM / -EIO. */
int prom_gzip(const char *in, size_t len, struct prom_buf *out);

#endif /* MIGSCOPE_PROM_H */
