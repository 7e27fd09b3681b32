/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The timeline engine: fed records (union ms_rec) in time order, it
 * reconstructs per process and per migration the milestones and derived
 * figures of docs/figures.md. Pure: no I/O, no clock reads, no
 * allocation beyond what the records need, deterministic.
 *
 * Every sink reads the same state: reports (after tl_finish), the top view and
 * the exporter (live, between tl_feed calls). The structs below are part of
 * that contract and are read-only for callers; the derived figures must be
 * read through the tl_mig_*, tl_dev_* and tl_pair_* functions, which apply the
 * absence rules (docs/figures.md), never recomputed from the raw fields.
 *
 * Absent values are never 0:
 *   timestamps, byte counts, counters  uint64_t, TL_NONE when absent (tl_has)
 *   durations                          int64_t ns, TL_DNONE when absent (tl_dhas)
 *
 * Memory is bounded per process and per migration (fixed-size tables and a
 * ring for the convergence series); pointers handed out stay valid until
 * tl_expire or tl_free.
 */
#ifndef MIGSCOPE_TIMELINE_H
#define MIGSCOPE_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "migscope_abi.h"
#include "migscope_probes.h"

#define TL_NONE	 UINT64_MAX
#define TL_DNONE INT64_MIN

static inline bool tl_has(uint64_t v)
{
	return v != TL_NONE;
}

static inline bool tl_dhas(int64_t d)
{
	return d != TL_DNONE;
}

/* Capacities: what does not fit is counted in a *_dropped field, never lost
 * silently. */
#define TL_MAX_DEVS		   16  /* VFIO devices per migration */
#define TL_MAX_TRANSITIONS	   16  /* device-state transitions per device */
#define TL_MAX_APPROVALS	   32  /* switchover approvals per migration */
#define TL_MAX_SECTIONS		   16  /* non-VFIO vmstate sections, largest kept */
#define TL_SERIES_LEN		   256 /* convergence samples per migration (ring) */
#define TL_DEFAULT_STALL_WINDOW_NS (10ULL * 1000000000ULL)
/* Records of a process that arrive after its migration ended still belong to
 * it for this long (cleanup, late device transitions). */
#define TL_POST_END_GRACE_NS (5ULL * 1000000000ULL)

enum tl_role {
	TL_ROLE_UNKNOWN = 0,
	TL_ROLE_SOURCE,
	TL_ROLE_DEST,
};

enum tl_result {
	TL_RES_ACTIVE = 0, /* not ended (yet, or by the end of input) */
	TL_RES_COMPLETED,
	TL_RES_FAILED,
	TL_RES_CANCELLED,
	TL_RES_ABORTED, /* the process exited (or exec'd) before a terminal state */
};

/* Milestones: the first time each was seen, absolute ns. Names (tl_milestone_name)
 * are the probe, checkpoint or state names they come from. */
enum tl_milestone {
	TL_M_SETUP,  /* migrate_set_state setup */
	TL_M_ACTIVE, /* migrate_set_state active */
	/* source */
	TL_M_RP_OPEN,	   /* open_return_path_on_source / source_return_path_thread_entry */
	TL_M_ACK_RECEIVED, /* source_return_path_thread_switchover_acked */
	TL_M_READY,	   /* first migrate_pending_exact below the threshold */
	TL_M_LOW_PENDING,  /* migration_thread_low_pending: decided to complete */
	TL_M_SRC_DOWNTIME_START,
	TL_M_SRC_VM_STOPPED,
	TL_M_SRC_ITERABLE_SAVED,
	TL_M_SRC_NON_ITERABLE_SAVED,
	TL_M_SRC_DOWNTIME_END,
	TL_M_SWITCHOVER_START, /* savevm_send_switchover_start */
	TL_M_PRECOPY_COMPLETE, /* migration_precopy_complete */
	TL_M_RP_END,	       /* source_return_path_thread_end */
	TL_M_POSTCOPY_START,   /* postcopy_start */
	TL_M_PING_SENT,	       /* first savevm_command_send PING */
	TL_M_PONG_RECEIVED,    /* first source_return_path_thread_pong */
	TL_M_SHUT_RECEIVED,    /* source_return_path_thread_shut */
	/* destination */
	TL_M_ACK_NEEDED, /* loadvm_state_switchover_ack_needed */
	TL_M_ACK_SENT,	 /* migrate_send_rp_message type 7 */
	TL_M_DST_LOADVM_COMPLETED,
	TL_M_DST_BH_ENTER,
	TL_M_DST_BH_ANNOUNCED,
	TL_M_DST_BH_VM_STARTED,
	TL_M_DST_PC_BH_ENTER,
	TL_M_DST_PC_BH_CPU_SYNCED,
	TL_M_DST_PC_BH_ANNOUNCED,
	TL_M_DST_PC_BH_CACHE_INVALIDATED,
	TL_M_DST_PC_BH_VM_STARTED,
	TL_M_POSTCOPY_RUN,		/* loadvm_postcopy_handle_run */
	TL_M_PING_RECEIVED,		/* first loadvm_process_command PING */
	TL_M_PONG_SENT,			/* first migrate_send_rp_message PONG */
	TL_M_SWITCHOVER_START_RECEIVED, /* loadvm_process_command SWITCHOVER_START */
	TL_M_SHUT_SENT,			/* migrate_send_rp_message SHUT */
	/* either side */
	TL_M_POSTCOPY_DEVICE, /* migrate_set_state postcopy-device (10.2+: devices first) */
	TL_M_POSTCOPY_ACTIVE, /* migrate_set_state postcopy-active */
	TL_M_CANCEL,	      /* migration_cancel */
	TL_M_CANCELLING,      /* migrate_set_state cancelling */
	TL_M_END,	      /* terminal state (or exit); named by the result */
	TL_M_COUNT,
};

enum tl_stall_reason {
	TL_STALL_NONE = 0,
	TL_STALL_ABOVE_THRESHOLD, /* pending stays at or above the threshold */
	TL_STALL_WAITING_ACK,	  /* under the threshold, switchover held for the ACK */
	TL_STALL_OTHER,		  /* under the threshold, acked, still not completing */
};

/* A VFIO device-state transition: a MIG_DEVICE_STATE SET ioctl (with its
 * duration) or, without ioctl tracing, the vfio_migration_set_device_state
 * probe alone (dur_ns absent). */
#define TL_VFIO_UNKNOWN 0xff
struct tl_transition {
	uint64_t ts;	/* ioctl entry (syscall records are stamped at start), or the probe ts */
	int64_t dur_ns; /* ioctl duration, TL_DNONE if only the probe was seen */
	int64_t ret;	/* ioctl return (0 ok, -errno) */
	uint8_t from;	/* enum ms_vfio_state, TL_VFIO_UNKNOWN if never known */
	uint8_t to;
	uint8_t pad[6];
};

/* A device's precopy sizes when they changed (vfio_state_pending_*). */
#define TL_DEV_SERIES 64 /* kept per device, the latest (a ring, grown on use) */
struct tl_dev_sample {
	uint64_t ts;
	uint64_t initial, dirty;
};

/* A VFIO device as seen in one migration. Raw fields; read figures through
 * tl_dev_*(). */
struct tl_dev {
	char name[MS_STR_LEN];	    /* vfio name, e.g. "0000:00:05.0" */
	char alias[MS_STR_LEN];	    /* guest path from vmstate idstrs, "" until learnt */
	uint64_t save_setup_ts;	    /* vfio_save_setup */
	uint64_t iterate_start_ts;  /* vfio_save_iterate_start */
	uint64_t first_initial;	    /* first nonzero precopy initial bytes */
	uint64_t drain_ts;	    /* first precopy initial bytes == 0 */
	uint64_t initial;	    /* latest precopy initial bytes */
	uint64_t dirty;		    /* latest precopy dirty bytes */
	uint64_t stopcopy;	    /* latest stop-copy size (pending_exact / MIG_DATA_SIZE) */
	uint64_t complete_start_ts; /* vfio_save_complete_precopy_start */
	uint64_t complete_ts;	    /* vfio_save_complete_precopy */
	uint64_t block_bytes;	    /* sum of vfio_save_block data_size */
	uint64_t sc_block;	    /* vfio_save_block bytes in STOP_COPY, TL_NONE before it */
	uint64_t sc_io;		    /* data fd reads in STOP_COPY, TL_NONE before it */
	uint64_t load_data_bytes;   /* sum of vfio_load_state_device_data data_size */
	uint64_t init_loaded;	    /* dst: bytes loaded when DEV_INIT_DATA_SENT came */
	uint64_t bytes_read;	    /* read() on its migration data fd (source) */
	uint64_t bytes_written;	    /* write() on its migration data fd (destination) */
	int64_t save_us[2];	    /* vmstate_downtime_save [0] iterable [1] non-iterable */
	int64_t load_us[2];	    /* vmstate_downtime_load, same split */
	uint64_t init_sent_ts;	    /* dst: vfio_load_state DEV_INIT_DATA_SENT */
	uint64_t approve_ts;	    /* dst: the loadvm_approve_switchover that followed */
	uint64_t approve_pending;
	/* device state over multifd (10.0+), TL_NONE / TL_DNONE when not seen */
	uint64_t mf_save_start; /* src: vfio_save_complete_precopy_thread_start */
	uint64_t mf_save_end;	/* src: its _end */
	int32_t mf_save_ret;	/* its ret: 1 saved, 0 failed */
	uint32_t mf_incoming;	/* dst: packets in (vfio_load_state_device_buffer_incoming) */
	uint64_t mf_first_in;	/* dst: the first packet */
	uint64_t mf_last_in;	/* dst: the latest packet */
	uint64_t mf_load_start; /* dst: vfio_load_bufs_thread_start */
	uint64_t mf_load_end;	/* dst: vfio_load_bufs_thread_end */
	uint32_t mf_loaded;	/* dst: buffers written to the device */
	uint64_t mf_buf_ts;	/* dst: load_start of the buffer being written */
	int64_t mf_write_ns;	/* dst: their write time, summed */
	uint32_t mf_starved;	/* dst: waits of the load thread for the next buffer */
	uint64_t mf_starve_ts;	/* dst: start of the current wait */
	int64_t mf_starved_ns;	/* dst: the waits, summed (to the next buffer or the end) */
	bool precopy;		/* seen in a precopy state: initial sizes mean something */
	bool has_io;
	bool block_seen; /* vfio_save_block fired for it */
	bool load_seen;	 /* vfio_load_state_device_data fired for it */
	uint8_t state;	 /* latest known device state (TL_VFIO_UNKNOWN) */
	uint8_t ntr;
	uint16_t tr_dropped;
	struct tl_transition tr[TL_MAX_TRANSITIONS];
	uint16_t ds_head, ds_n; /* the size series: next slot, samples held */
	uint32_t ds_cap;
	struct tl_dev_sample *ds; /* ds_cap of them, up to TL_DEV_SERIES */
};

struct tl_approval {
	uint64_t ts;
	uint32_t pending; /* loadvm_approve_switchover pending_num */
	int32_t dev;	  /* index in devs[] of the approving device, -1 unknown */
};

/* One iteration of the source's migration loop (migrate_pending_estimate). */
struct tl_sample {
	uint64_t ts;
	uint64_t pending;   /* estimate */
	uint64_t exact;	    /* migrate_pending_exact of the same iteration, TL_NONE */
	uint64_t threshold; /* latest migrate_transferred size, TL_NONE */
	uint64_t bandwidth; /* latest migrate_transferred bandwidth, bytes/ms, TL_NONE */
};

/* A non-VFIO vmstate section of the stop phase (vmstate_downtime_save/load). */
struct tl_section {
	char idstr[48];
	uint32_t instance;
	uint8_t iterable;
	uint8_t load; /* 0 save (source), 1 load (destination) */
	uint8_t pad[2];
	int64_t us;
};

/* A protocol message at one end: a stream command (source sent, destination
 * received) or a return-path message (destination sent, source received).
 * The two ends of one message bound the clock offset between the sides. */
#define TL_MAX_MSGS 24 /* kept per direction per migration */
struct tl_msg {
	uint64_t ts;
	uint32_t val;  /* PING / PONG value when has_val */
	uint16_t type; /* MS_MIG_CMD_* (stream) or MS_MIG_RP_MSG_* (return path) */
	bool has_val;
	bool stream; /* a stream command (else a return-path message) */
};

/* A section header of the stream (savevm_section_start on the source in
 * precopy, qemu_loadvm_state_section_partend on the destination). The k-th
 * header of a section at one end is its k-th at the other: the headers of
 * the iterations are many more stream messages than the commands, and one of
 * them written when the destination waits for data bounds the offset to its
 * transit (docs/figures.md "Two clocks"). */
#define TL_MAX_PARTS 256 /* kept per migration, the first ones */
struct tl_part {
	uint64_t ts;
	uint32_t section; /* section_id */
	uint16_t ord;	  /* its rank among this section's headers at this end */
	bool recv;	  /* the destination read it (else the source wrote it) */
};

/* A thread of QEMU that a migration's records came from, named by what it
 * did (tl_thread_name). */
#define TL_MAX_THREADS 16 /* kept per migration, the first seen */
enum tl_thread_kind {
	TL_THR_OTHER = 0,   /* only records that name no thread's work */
	TL_THR_MAIN,	    /* QMP commands, run states: the main loop */
	TL_THR_MIGRATION,   /* the source's migration thread */
	TL_THR_RETURN_PATH, /* the source's return-path thread */
	TL_THR_INCOMING,    /* the destination's loadvm */
	TL_THR_VFIO_SAVE,   /* a VFIO device's multifd save thread */
	TL_THR_VFIO_LOAD,   /* a VFIO device's multifd load thread */
	TL_THR_VFIO_IO,	    /* VFIO ioctls and data fd I/O only */
};
struct tl_thread {
	uint32_t tid;
	uint32_t records;
	uint64_t first_ts, last_ts;
	uint8_t kind; /* enum tl_thread_kind */
	uint8_t pad[7];
};

struct tl_proc;
struct tl_pair;

struct tl_mig {
	/* identity */
	uint32_t pid;
	uint64_t start_ts;    /* migrate_set_state setup, or first record seen */
	uint64_t seq;	      /* creation order, unique within a tl */
	char vm[MS_NAME_LEN]; /* from MS_EV_PROC, "" when absent */
	char uuid[40];
	bool has_ident;	     /* an MS_EV_PROC record was seen for the pid */
	bool implicit_start; /* setup was not seen */
	bool incomplete;     /* events lost inside it, or its start was not seen */
	/* a VFIO probe of it fired while no syscall program was attached
	 * (MS_F_NO_SYSCALLS): figures of ioctls and data fd I/O are not whole */
	bool nosys;
	enum tl_role role_probe; /* from role-specific probes; tl_mig_role() adds fallbacks */
	enum tl_result result;
	uint64_t end_ts;	 /* terminal state / exit, TL_NONE while active */
	char state[24];		 /* latest migrate_set_state */
	char error[MS_STR_LEN];	 /* first migrate_error */
	uint64_t ms[TL_M_COUNT]; /* raw first-seen milestones; read via tl_mig_milestone */
	uint64_t records;	 /* records attributed to this migration */
	uint64_t lost_records;	 /* MS_EV_LOST records whose interval overlapped */

	/* switchover ack */
	uint64_t ack_needed;  /* dst: pending_num of ack_needed, TL_NONE */
	uint64_t ack_pending; /* dst: approvals still missing (live), TL_NONE */
	bool held_back;	      /* src: under the threshold but not switching over */
	uint32_t napprovals;
	uint32_t approvals_dropped;
	struct tl_approval approvals[TL_MAX_APPROVALS];

	/* source convergence (live values are the latest seen) */
	uint64_t iterations;	 /* migrate_pending_estimate count */
	uint64_t passes;	 /* migration_bitmap_sync_end before src-downtime-start */
	uint64_t dirty_pages;	 /* latest migration_bitmap_sync_end */
	uint64_t pending;	 /* latest pending (estimate or exact) */
	uint64_t threshold;	 /* latest migrate_transferred size */
	uint64_t bandwidth;	 /* latest, bytes/ms */
	uint64_t avail_bw;	 /* latest switchover bandwidth, bytes/ms */
	uint64_t transferred;	 /* sum of migrate_transferred transferred */
	uint64_t low_pending;	 /* migration_thread_low_pending pending */
	uint64_t low_pending_bw; /* bandwidth when it was decided */
	int32_t vm_stop_ret;	 /* migration_completion_vm_stop, 0 if not seen */
	uint32_t series_head;	 /* next slot */
	uint32_t series_n;
	struct tl_sample series[TL_SERIES_LEN];

	/* stall (source) */
	uint64_t best_pending; /* lowest pending with progress, TL_NONE */
	uint64_t best_ts;
	uint64_t stall_ts;		   /* first time a stall was detected, TL_NONE */
	enum tl_stall_reason stall_reason; /* reason at that time */
	uint32_t stall_devs;		   /* devs[] not drained at that time */
	uint32_t stall_dst_devs;	   /* the pair's destination devs[] not approved then */

	/* devices */
	uint32_t ndevs;
	uint32_t devs_dropped;
	struct tl_dev *devs; /* ndevs of them; room for up to TL_MAX_DEVS, grown on use */
	uint32_t cap_devs;
	uint32_t nsections;
	struct tl_section sections[TL_MAX_SECTIONS];

	/* where it was seen */
	uint16_t clock;	 /* clock domain (tl_set_input), 0 for one clock */
	uint32_t inputs; /* bit i: a record came from input i */
	uint16_t nsent, nrecv;
	uint16_t msgs_dropped;
	struct tl_msg sent[TL_MAX_MSGS]; /* messages this side sent, in order */
	struct tl_msg recv[TL_MAX_MSGS]; /* and received */
	uint16_t nparts, parts_dropped;
	struct tl_part *parts; /* section headers, in order; up to TL_MAX_PARTS, grown on use */
	uint16_t cap_parts;
	uint16_t nthreads, threads_dropped;
	uint16_t thr_last; /* engine scratch: the thread of the latest record */
	struct tl_thread threads[TL_MAX_THREADS];

	/* engine scratch, not for callers */
	uint32_t ping_val; /* source: the savevm_send_ping value for the next PING */
	bool has_ping_val;
	struct tl_proc *proc;
	struct tl_mig *proc_next; /* the proc's next migration, in start order */
	struct tl_pair *pair;
	size_t open_at;	   /* 1 + its index in the engine's unpaired list, 0: not in it */
	uint8_t open_role; /* which unpaired list: its role, with the fallback */
	bool below_thr;	   /* last iteration's exact was under the threshold */
	bool ended_cb;
};

/* How a pair's two clocks were put on one time line (docs/figures.md). */
enum tl_clock_basis {
	TL_CLOCK_SAME = 0,   /* both sides on one clock: exact */
	TL_CLOCK_MESSAGES,   /* bounded by messages in both directions */
	TL_CLOCK_STOP_PHASE, /* all messages contradict one offset (a clock stepped or
				drifted): bounded by those of the stop phase */
	TL_CLOCK_CONFLICT,   /* even those contradict each other: widened to hold both */
	TL_CLOCK_REALTIME,   /* no message pair in one direction: the hosts' realtime */
};

struct tl_pair {
	const struct tl_mig *src;
	const struct tl_mig *dst;
	/* Alignment, kept up to date as messages arrive. The destination's
	 * timestamps (as fed) minus skew are on the source's (as fed). */
	enum tl_clock_basis basis;
	int64_t skew_ns;
	int64_t error_ns;     /* half-width of the interval that holds the truth,
				 TL_DNONE when nothing bounds it */
	int64_t lo_ns, hi_ns; /* the bounds, TL_DNONE when absent */
	uint16_t nfwd, nbwd;  /* message pairs matched per direction */
	uint16_t nparts;      /* of nfwd: section headers (tl_part) */
	uint16_t mismatched;  /* pairs whose values differ (ignored) */
	bool by_messages;     /* paired by the messages alone (no name) */
};

/* Per-process state: identity, device fds and per-thread correlation. */
#define TL_MAX_PDEVS 32
#define TL_MAX_TIDS  8
#define TL_MAX_FDS   64

struct tl_pdev {
	char name[MS_STR_LEN];	/* vfio name (host device) */
	char alias[MS_STR_LEN]; /* vmstate idstr prefix (guest path), learnt */
	uint8_t state;		/* TL_VFIO_UNKNOWN until a transition or GET */
	uint64_t mig_seq;	/* cache: the migration mdev refers to, 0 none */
	int32_t mdev;
};

struct tl_tid {
	uint32_t tid;
	uint64_t used;	 /* LRU stamp */
	int32_t pre_dev; /* pdev named by vfio_migration_set_state/_set_device_state */
	int32_t tr_pdev; /* last transition recorded on this thread */
	int32_t tr_idx;	 /* its index in the migration device's tr[], -1 none */
	uint64_t tr_seq; /* migration of tr_idx */
	bool tr_ioctl;	 /* it carries an ioctl already */
	uint8_t tr_to;
	int32_t last_vfio; /* pdev of the latest vfio_* probe (vmstate alias) */
	bool orphan;	   /* an ioctl on an fd not yet bound to a device */
	struct ms_ioctl orphan_rec;
};

struct tl_fd {
	int32_t fd;
	int32_t pdev;
	bool data; /* a migration data fd (else a device fd) */
};

struct tl_proc {
	uint32_t pid;
	uint16_t clock; /* processes are told apart by (clock, pid) */
	bool has_ident;
	char vm[MS_NAME_LEN];
	char uuid[40];
	char exe[MS_PATH_LEN];
	uint32_t pflags;	    /* MS_PROC_* */
	uint32_t qemu_version;	    /* MS_EV_PROC's, 0 unknown */
	uint64_t probes_present[2]; /* catalog ids attached, {0, 0} unknown */
	uint16_t probes_attached;
	uint16_t probes_missing;
	uint64_t start_ns;
	uint64_t first_ts;
	uint64_t last_ts;
	bool exited;
	uint64_t exit_ts;
	int32_t exit_code;
	uint64_t records;
	uint32_t nmigs; /* migrations ever started */

	/* engine scratch */
	bool replaced;			    /* pid reused by a newer process */
	struct tl_mig *cur;		    /* unfinished migration */
	struct tl_mig *last;		    /* most recently ended one */
	struct tl_mig *mig_head, *mig_tail; /* its migrations in the tl, in start order */
	uint32_t npdevs;
	struct tl_pdev pdevs[TL_MAX_PDEVS];
	struct tl_tid tids[TL_MAX_TIDS];
	uint32_t nfds;
	struct tl_fd fds[TL_MAX_FDS];
	uint32_t live_migs; /* migrations of this proc still in the tl */
};

struct tl;

typedef void (*tl_end_fn)(const struct tl *tl, const struct tl_mig *m, void *arg);

struct tl *tl_new(void);
void tl_free(struct tl *tl);
void tl_feed(struct tl *tl, const union ms_rec *r);
/* End of input at end_ts: unfinished migrations stay active; their live
 * figures are taken at end_ts. Roles and pairs are settled. Feeding may go on
 * afterwards (a live source calls it for snapshots). */
void tl_finish(struct tl *tl, uint64_t end_ts);

/*
 * Inputs and clocks. A record's h.input names the input it came from (0 for
 * one live source or one file). Inputs recorded on one boot of one host share
 * a clock; each QEMU log file is a clock of its own. Processes are told apart
 * by (clock, pid), lost-event records count against their own input only, and
 * a pair on two clocks is aligned by its messages (docs/figures.md).
 * shift_ns: what the caller added to the input's timestamps to put them on
 * the common time line (the realtime estimate), reported in clock offsets.
 */
#define TL_MAX_INPUTS 16
struct tl_input {
	uint16_t clock; /* < TL_MAX_INPUTS */
	int64_t shift_ns;
	const char *host; /* "" unknown; copied */
};
int tl_set_input(struct tl *tl, uint16_t input, const struct tl_input *in);
/* Whether every input is on one clock (the default). */
bool tl_single_clock(const struct tl *tl);
/* The host an input (or a migration's first input) was recorded on, "" unknown. */
const char *tl_input_host(const struct tl *tl, uint16_t input);
const char *tl_mig_host(const struct tl *tl, const struct tl_mig *m);
void tl_set_stall_window(struct tl *tl, uint64_t ns);
/* Called once per migration when it ends (terminal state, exit), after pairing. */
void tl_set_on_end(struct tl *tl, tl_end_fn fn, void *arg);
/* Drop ended migrations and exited processes that ended before the given ts,
 * and the pairs they were in. Pointers to what was dropped become invalid. */
void tl_expire(struct tl *tl, uint64_t older_than_ts);

/* Latest ts fed (or given to tl_finish): "now" for live figures. */
uint64_t tl_now(const struct tl *tl);

size_t tl_nprocs(const struct tl *tl);
const struct tl_proc *tl_proc_at(const struct tl *tl, size_t i);
const struct tl_proc *tl_proc_find(const struct tl *tl, uint32_t pid);
/* Migrations in start order. */
size_t tl_nmigs(const struct tl *tl);
const struct tl_mig *tl_mig_at(const struct tl *tl, size_t i);
/* Index of m in start order, (size_t)-1 if not in tl. */
size_t tl_mig_index(const struct tl *tl, const struct tl_mig *m);
size_t tl_npairs(const struct tl *tl);
const struct tl_pair *tl_pair_at(const struct tl *tl, size_t i);

/* Self-accounting: records per catalog probe, per kind, lost. */
uint64_t tl_events(const struct tl *tl, unsigned int probe);
uint64_t tl_events_kind(const struct tl *tl, unsigned int kind);
uint64_t tl_records(const struct tl *tl);
uint64_t tl_lost_total(const struct tl *tl);
uint64_t tl_unattributed(const struct tl *tl); /* records no migration took */

/* Names */
const char *tl_role_name(enum tl_role role);	    /* "source", "destination", "unknown" */
const char *tl_result_name(enum tl_result res);	    /* "completed", ... "active" */
const char *tl_milestone_name(enum tl_milestone m); /* TL_M_END: "end" */
const char *tl_stall_reason_name(enum tl_stall_reason r);
const char *tl_thread_name(enum tl_thread_kind k); /* "migration thread", ... */
/* Milestones that belong to a role (for listing the absent ones). */
bool tl_milestone_for_role(enum tl_milestone m, enum tl_role role);

/* Migration figures (docs/figures.md); durations in ns. */
enum tl_role tl_mig_role(const struct tl_mig *m);
uint64_t tl_mig_milestone(const struct tl_mig *m, enum tl_milestone ms);
int64_t tl_mig_total(const struct tl_mig *m); /* end - start, absent while active */
int64_t tl_mig_elapsed(const struct tl *tl, const struct tl_mig *m); /* (end or now) - start */
int64_t tl_mig_precopy(const struct tl_mig *m);	    /* src-downtime-start - active */
int64_t tl_mig_downtime(const struct tl_mig *m);    /* src-downtime-end - src-downtime-start */
int64_t tl_mig_ack_latency(const struct tl_mig *m); /* source: ACK received - active */
int64_t tl_mig_ack_sent(const struct tl_mig *m);    /* destination: ACK sent - active */
int64_t tl_mig_ack_wait(const struct tl *tl, const struct tl_mig *m);
/* -1 unknown, 0 off, 1 on */
int tl_mig_ack_enabled(const struct tl_mig *m);
int tl_mig_acked(const struct tl_mig *m); /* -1 unknown, 0, 1 */
uint64_t tl_mig_ack_pending_initial(const struct tl_mig *m);
uint64_t tl_mig_passes(const struct tl_mig *m);
int64_t tl_mig_predicted_downtime(const struct tl_mig *m);
const struct tl_pair *tl_mig_pair(const struct tl_mig *m);
/* The process of a migration. */
const struct tl_proc *tl_mig_proc(const struct tl_mig *m);
/* The current phase for live views: "setup", "precopy", "waiting-ack",
 * "switchover", "postcopy", "loading", "starting", or the result name. */
const char *tl_mig_phase(const struct tl_mig *m);
/* Latest convergence samples, oldest first: i < series_n. */
const struct tl_sample *tl_mig_sample(const struct tl_mig *m, uint32_t i);

struct tl_breakdown {
	int64_t stop;	       /* src-downtime-start -> src-vm-stopped */
	int64_t iterable;      /* src-vm-stopped -> src-iterable-saved */
	int64_t non_iterable;  /* src-iterable-saved -> src-non-iterable-saved */
	int64_t transfer_load; /* src-non-iterable-saved -> dst-precopy-loadvm-completed */
	int64_t dst_start;     /* dst-precopy-loadvm-completed -> dst-precopy-bh-vm-started */
};
/* Of one side: the other side's parts come from its pair when on one clock. */
void tl_mig_breakdown(const struct tl *tl, const struct tl_mig *m, struct tl_breakdown *b);

struct tl_stall {
	bool stalled;	/* now */
	uint64_t since; /* now: when progress stopped, TL_NONE */
	enum tl_stall_reason reason;
	uint32_t devs;	   /* devs[] of this source whose initial data is not drained */
	uint32_t dst_devs; /* devs[] of the paired destination not approved yet */
};
/* Live stall state at tl_now (source, active, before downtime-start). */
void tl_mig_stall(const struct tl *tl, const struct tl_mig *m, struct tl_stall *s);

/* Device figures */
/* source: first nonzero precopy initial bytes; destination: bytes loaded
 * before its DEV_INIT_DATA_SENT */
uint64_t tl_dev_initial(const struct tl_mig *m, const struct tl_dev *d);
int64_t tl_dev_drain(const struct tl_mig *m, const struct tl_dev *d);
/* source: the device's stop-copy size; destination: what it loaded in the
 * stop phase (the paired source device's stop-copy read bytes) */
uint64_t tl_dev_stopcopy(const struct tl_mig *m, const struct tl_dev *d);
/* source: bytes read from the device while in STOP_COPY */
/* Whether the device's stop-copy reads are counted from its data fd I/O, not
 * from vfio_save_block probes (none seen, or multifd). */
bool tl_dev_stopcopy_from_io(const struct tl_dev *d);
uint64_t tl_dev_stopcopy_read(const struct tl_mig *m, const struct tl_dev *d);
int64_t tl_dev_save_us(const struct tl_mig *m, const struct tl_dev *d);
int64_t tl_dev_load_us(const struct tl_mig *m, const struct tl_dev *d);
int64_t tl_dev_approval_latency(const struct tl_dev *d);
int64_t tl_dev_complete_precopy(const struct tl_dev *d);
/* Device state over multifd (10.0+): whether the device's stop-copy data
 * went over multifd; the save thread's and the load thread's durations. */
bool tl_dev_multifd(const struct tl_dev *d);
int64_t tl_dev_mf_save(const struct tl_dev *d);
int64_t tl_dev_mf_load(const struct tl_dev *d);
uint64_t tl_dev_bytes_read(const struct tl_mig *m, const struct tl_dev *d);
/* The device's precopy sizes as they changed, oldest first: i < d->ds_n. */
const struct tl_dev_sample *tl_dev_sample(const struct tl_dev *d, uint32_t i);
uint64_t tl_dev_bytes_written(const struct tl_mig *m, const struct tl_dev *d);

/* Pair figures, on the aligned clock: the destination's times minus the
 * pair's skew. Their error is tl_pair_clock_error. */
const char *tl_clock_basis_name(enum tl_clock_basis b);
/* The offset applied to the destination's own clock to put it on the
 * source's own clock, ns (0 on one clock). */
int64_t tl_pair_clock_offset(const struct tl *tl, const struct tl_pair *p);
/* Half-width of the interval holding the true offset, ns; TL_DNONE when
 * nothing bounds it (basis TL_CLOCK_REALTIME). */
int64_t tl_pair_clock_error(const struct tl_pair *p);
/* A destination timestamp on the source's time line (TL_NONE stays). */
uint64_t tl_pair_dst_ts(const struct tl_pair *p, uint64_t dst_ts);
/* A timestamp of m on its pair's time line: a paired destination's on its
 * source's clock, else as it is (TL_NONE stays). */
uint64_t tl_mig_line_ts(const struct tl_mig *m, uint64_t ts);
/* On that line, m's end, else the latest of its start and milestones. */
uint64_t tl_mig_line_last(const struct tl_mig *m);
int64_t tl_pair_guest_downtime(const struct tl *tl, const struct tl_pair *p);
int64_t tl_pair_ack_transit(const struct tl *tl, const struct tl_pair *p);
void tl_pair_breakdown(const struct tl *tl, const struct tl_pair *p, struct tl_breakdown *b);

#endif /* MIGSCOPE_TIMELINE_H */
