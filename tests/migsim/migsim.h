/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * migsim: a two-process model of QEMU precopy live migration with
 * switchover-ack. See docs/migsim.md.
 */
#ifndef MIGSIM_H
#define MIGSIM_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The QEMU release whose probes a migsim build fires (docs/migsim.md
 * "QEMU versions"): 100 for 10.0 (build/migsim), 91 and 82 for
 * build/migsim-9.1 and build/migsim-8.2. VFIO device state over multifd
 * exists from 10.0.
 */
#ifndef MIGSIM_QEMU
#define MIGSIM_QEMU 100
#endif
#define MIGSIM_MULTIFD (MIGSIM_QEMU >= 100)

#define MS_MAX_DEV   16
#define MS_PAGE_SIZE 4096
#define MS_ERR_LEN   256

enum ms_role { MS_SOURCE, MS_DEST, MS_IDLE };

/* Where --fail-at / --cancel-at / --kill-dst-at act. */
enum ms_phase {
	PH_NONE = -1,
	/* source */
	PH_SETUP,
	PH_SAVE_SETUP,
	PH_ACTIVE,
	PH_PRECOPY,
	PH_READY,
	PH_ACKED,
	PH_SWITCHOVER,
	PH_VM_STOPPED,
	PH_ITERABLE_SAVED,
	PH_NON_ITERABLE_SAVED,
	/* destination (--fail-at only) */
	PH_DST_ACTIVE,
	PH_DST_LOAD,
	PH_DST_APPROVE,
	PH_COUNT,
};
#define PH_FIRST_DST PH_DST_ACTIVE

extern const char *const ms_phase_names[PH_COUNT];

/* QEMU's RunState values (qapi/run-state.json) */
enum ms_runstate {
	RS_INMIGRATE = 1,
	RS_PAUSED = 4,
	RS_POSTMIGRATE = 5,
	RS_PRELAUNCH = 6,
	RS_FINISH_MIGRATE = 7,
	RS_RUNNING = 9,
};
const char *ms_runstate_name(int rs);

/* QEMU's MigrationEventType, for vfio_migration_state_notifier */
enum { MIG_EVENT_PRECOPY_SETUP, MIG_EVENT_PRECOPY_DONE, MIG_EVENT_PRECOPY_FAILED };

struct ms_dev_cfg {
	uint64_t init_bytes;
	uint64_t dirty_rate; /* bytes/s */
	uint64_t stopcopy_bytes;
};

struct ms_cfg {
	enum ms_role role;
	char vm[128];
	char uuid[64];
	int ndev;
	struct ms_dev_cfg dev[MS_MAX_DEV];
	uint64_t ram_bytes;
	uint64_t ram_dirty_rate; /* bytes/s */
	uint64_t bandwidth;	 /* bytes/s */
	uint64_t downtime_limit_ms;
	uint64_t approval_delay_ms;
	bool ack;
	bool multifd; /* VFIO device state over a multifd channel (10.0) */
	int fail_at;
	int cancel_at;
	int kill_dst_at;
	uint64_t storm;
	const char *log_path;
	int port;
	int timeout_s;
	int converge_timeout_s; /* 0: none */
	uint64_t startup_delay_ms;
	/* destination */
	char in_host[64];
	int in_port;
	int status_fd; /* pipe to the source: readiness, then the final error */
	/* plumbing */
	const char *vfiofs_path;
	char self[PATH_MAX];
};

extern struct ms_cfg cfg;

/* A VFIO device as migsim's QEMU model sees it (VFIODevice + VFIOMigration). */
struct ms_dev {
	int idx;
	char name[16];	/* vbasedev->name, the PCI address */
	char idstr[32]; /* savevm section id: "<name>/vfio" */
	char dev_path[PATH_MAX];
	char data_path[PATH_MAX];
	int fd;
	int data_fd;
	uint32_t device_state;
	uint64_t mig_flags;
	bool dirty_pages_supported;
	bool dirty_tracking;

	/* save side (hw/vfio/migration.c VFIOMigration) */
	uint64_t data_buffer_size;
	uint8_t *data_buffer;
	uint64_t precopy_init_size;
	uint64_t precopy_dirty_size;
	bool event_save_iterate_started;
	bool event_precopy_empty_hit;
	bool initial_data_sent;
	uint32_t section_id;

	/* figures for the summary */
	bool initial_known;
	uint64_t initial_bytes; /* initial_bytes of the first PRECOPY_INFO */
	uint64_t save_setup_ts;
	uint64_t init_zero_ts; /* first vfio_save_iterate with init size 0 */
	bool stopcopy_known;
	uint64_t stopcopy_size; /* latest MIG_DATA_SIZE (or pending_exact fallback) */
	uint64_t stopcopy_read; /* bytes read in STOP_COPY */
	int64_t save_us;
	int64_t load_us;

	/* load side */
	uint64_t loaded_bytes;
	uint64_t init_loaded_bytes; /* loaded before DEV_INIT_DATA_SENT */
	uint64_t end_loaded_bytes;  /* loaded in the END section (stop-copy) */
	bool init_data_received;
	uint64_t init_rx_ts;
	bool approve_pending;
	uint64_t approve_due;
	uint64_t approve_ts;
};

/* migsim.c */
void ms_msleep(unsigned int ms);
void ms_startup(void);
void ms_errf(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct ms_vfiofs {
	pid_t pid;
	char mnt[PATH_MAX];
};
int ms_vfiofs_start(struct ms_vfiofs *fs, struct ms_dev *devs, int ndev, char *err);
void ms_vfiofs_stop(struct ms_vfiofs *fs);

/* migsim_vfio.c: the VFIO calls of hw/vfio/{migration,common}.c */
void vfio_dev_init(struct ms_dev *d, int idx, const char *mnt);
int vfio_realize(struct ms_dev *d, char *err);
void vfio_dev_close(struct ms_dev *d);
int vfio_set_state(struct ms_dev *d, uint32_t new_state, uint32_t recover, char *err);
int vfio_query_stop_copy_size(struct ms_dev *d, uint64_t *size);
int vfio_query_precopy_size(struct ms_dev *d);
bool vfio_state_is_precopy(const struct ms_dev *d);
int vfio_dma_logging_start(struct ms_dev *devs, int n, uint64_t ram_bytes, char *err);
void vfio_dma_logging_stop(struct ms_dev *devs, int n);
void vfio_dma_logging_report(struct ms_dev *devs, int n, uint64_t ram_bytes);
/* vm_state_notify() with the VFIO change state handlers; state is the
 * RunState being entered. Returns the first error, described in err. */
int vfio_vm_state_notify(struct ms_dev *devs, int n, bool running, int state, char *err);
uint64_t vfio_data_buffer_size(uint64_t stop_copy_size);
ssize_t vfio_data_read(struct ms_dev *d, void *buf, size_t len);
ssize_t vfio_data_write(struct ms_dev *d, const void *buf, size_t len);

/*
 * migsim_multifd.c: VFIO device state over multifd (QEMU 10.0's
 * hw/vfio/migration-multifd.c), on a second connection, the multifd channel.
 * Source: a save thread per device from the start of the iterable stop phase
 * to its end. Destination: a receive thread for the channel, a load thread per
 * device from SWITCHOVER_START, waited for before the load completes.
 */
struct jw;
struct ms_mf_fig {
	uint64_t t_start, t_end; /* the thread's first and last probe */
	bool ok;		 /* it saved (loaded) everything */
	/* destination */
	uint64_t packets_in, buffers_loaded, loaded_bytes;
	uint64_t write_ns, starved, starved_ns;
};
int mf_save_start(struct ms_dev *devs, int n, int sock, bool (*should_exit)(void), char *err);
int mf_save_join(char *err);
int mf_load_listen(struct ms_dev *devs, int n, int sock, char *err);
int mf_load_switchover_start(char *err);
int mf_load_wait(char *err);
void mf_load_cleanup(void);
const struct ms_mf_fig *mf_fig(int idx); /* NULL when the device did not use it */
void jw_mf_fig(struct jw *w, const struct ms_mf_fig *f, bool dest);

/* migsim_src.c, migsim_dst.c */
int ms_source_main(void);
int ms_dest_main(void);

#endif /* MIGSIM_H */
