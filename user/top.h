/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * migscope top: the view's own copy of what it shows, and how it is laid out
 * as text. A snapshot (struct top_snap) is taken from the timeline engine
 * while the engine is locked, through the tl_* accessors only; everything
 * after that (sorting, filtering, formatting, drawing) works on the copy,
 * without the lock, so that the view never holds up capture.
 *
 * top.c: snapshots, cell formatting, the plain-text (batch) printer.
 * top_tui.c: the ncurses screen.
 */
#ifndef MIGSCOPE_TOP_H
#define MIGSCOPE_TOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "timeline.h"

#define TOP_HIST_LEN 48 /* samples kept per device for its sparkline */
#define TOP_MAX_MS   (TL_M_COUNT + TL_MAX_APPROVALS)
#define TOP_NAME_LEN 64

/* A VFIO device of one migration, as of the snapshot. Absent: TL_NONE /
 * TL_DNONE, as in the engine. */
struct top_dev {
	char name[MS_STR_LEN];
	uint8_t state;	       /* enum ms_vfio_state, TL_VFIO_UNKNOWN */
	uint64_t initial;      /* source: first initial bytes; dest: loaded before init-sent */
	uint64_t live_initial; /* source: latest precopy initial bytes */
	uint64_t live_dirty;   /* source: latest precopy dirty bytes */
	uint64_t stopcopy;     /* tl_dev_stopcopy */
	uint64_t loaded;       /* dest: bytes written to the device */
	int64_t drain;	       /* source: initial-data drain time */
	bool precopy;	       /* source: was in a precopy state */
	/* approval: the destination's device (for a source row, the paired
	 * destination's device of the same name) */
	bool approval_known;	  /* there is such a destination device */
	bool init_sent;		  /* its DEV_INIT_DATA_SENT was loaded */
	bool approved;		  /* it approved the switchover */
	int64_t init_sent_rel;	  /* ns since this row's start; TL_DNONE (other clock) */
	int64_t approved_rel;	  /* same */
	uint64_t approve_pending; /* approvals still missing after it */
	/* history of the device's pending precopy data (source) or loaded
	 * bytes (dest), one sample per snapshot, oldest first */
	uint32_t nhist;
	uint64_t hist[TOP_HIST_LEN];
};

struct top_ms {
	char name[48];
	uint64_t rel; /* ns since the migration's start */
};

/* One QEMU process: its latest migration, if active or recent. */
struct top_row {
	uint32_t pid;
	uint64_t start_ts;
	char vm[TOP_NAME_LEN];
	char uuid[40];
	enum tl_role role;
	enum tl_result result;
	char phase[24]; /* tl_mig_phase */
	bool incomplete;
	int64_t elapsed;
	char error[MS_STR_LEN];
	uint32_t peer_pid; /* the paired migration's pid, 0 if unpaired */
	/* the other side, said in words when it is not a process of this clock:
	 * "other host" (unpaired), "HOST pid N, clocks +-E ms" (aligned), "" */
	char peer[96];

	/* precopy (source) */
	uint64_t transferred; /* TL_NONE when incomplete */
	uint64_t pending;     /* latest pending bytes (exact when the iteration had one) */
	uint64_t threshold;
	uint64_t bandwidth; /* bytes/ms */
	int64_t predicted;  /* expected downtime */
	int64_t limit;	    /* downtime limit = threshold / bandwidth */
	uint64_t iterations;

	/* switchover ack */
	int ack_enabled; /* -1 unknown, 0 off, 1 on */
	int acked;	 /* -1 unknown, 0, 1 */
	uint64_t ack_at; /* ns since start of the side's ACK milestone, TL_NONE */
	uint64_t ack_needed;
	uint64_t ack_approved;
	char ack_waiting[160]; /* devices whose approval is missing, space-separated */

	/* downtime: this migration's, else the process's previous one */
	int64_t downtime;
	int64_t guest_downtime;
	bool downtime_prev;
	bool has_breakdown;
	struct tl_breakdown bd;

	struct tl_stall stall;
	int64_t stall_for;    /* how long it has made no progress */
	char stall_devs[160]; /* the devices the stall is waiting for */

	uint32_t ndevs;
	struct top_dev devs[TL_MAX_DEVS];
	uint32_t nms;
	struct top_ms ms[TOP_MAX_MS]; /* in time order */
};

/* The header: filled by the command (live: the collector's statistics;
 * replay: the file's). */
struct top_head {
	char host[64];
	char source[160]; /* "live", "live from PATH", "replay FILE" */
	bool live;
	bool follow;	       /* live from followed QEMU logs */
	unsigned int files;    /* then: the log files open */
	bool eof;	       /* replay: the file has ended */
	char input_error[160]; /* replay: where a damaged file stopped */
	char capture_error[160];
	char message[160];  /* the latest diagnostic line (stderr while the screen is up) */
	uint64_t trace_rel; /* replay: ns since the start of the recording */
	uint64_t real_ns;   /* wall-clock time of the snapshot (CLOCK_REALTIME), 0 unknown */
	unsigned int procs;
	unsigned int probes;
	double events_per_s;
	uint64_t lost;
	uint64_t records;
};

struct top_snap {
	struct top_head head;
	uint64_t now; /* engine time of the snapshot */
	size_t nrows, cap;
	struct top_row *rows;
	void *picks; /* top_snap_take's scratch */
	size_t picks_cap;
};

struct top_take_opts {
	uint64_t now;	  /* for "recent": the engine's now, or later (live clock) */
	uint64_t keep_ns; /* ended migrations stay this long; 0: for ever */
	const int *pids;  /* only these processes; NULL: all */
	size_t npids;
};

/* Copy the rows from the engine; call with the engine locked. prev (may be
 * NULL) carries the device histories forward. Returns 0 or -ENOMEM. */
int top_snap_take(struct top_snap *s, const struct tl *tl, const struct top_snap *prev,
		  const struct top_take_opts *o);
void top_snap_free(struct top_snap *s);

enum top_sort {
	TOP_SORT_START, /* migration start, oldest first */
	TOP_SORT_VM,
	TOP_SORT_ATTENTION, /* stalled, waiting for the ACK, active, then ended */
	TOP_SORT_ELAPSED,   /* longest first */
	TOP_SORT_COUNT,
};
const char *top_sort_name(enum top_sort k);
/* Row indexes in display order, the filter applied; returns how many. */
size_t top_order(const struct top_snap *s, enum top_sort k, const char *filter, size_t *idx);
/* Case-insensitive substring of VM, UUID, pid, role, phase or a device name. */
bool top_row_match(const struct top_row *r, const char *filter);

/* Columns of the table */
enum top_col {
	TOP_C_PID,
	TOP_C_VM,
	TOP_C_ROLE,
	TOP_C_PHASE,
	TOP_C_ELAPSED,
	TOP_C_PRECOPY,
	TOP_C_PENDING,
	TOP_C_BW,
	TOP_C_DT,
	TOP_C_ACK,
	TOP_C_LASTDT,
	TOP_C_NOTE,
	TOP_NCOLS,
};

enum top_style {
	TOP_S_NORMAL,
	TOP_S_DIM,
	TOP_S_GOOD,
	TOP_S_WARN,
	TOP_S_BAD,
	TOP_S_BAR, /* the filled part of a bar */
};

struct top_layout {
	int ncols;
	enum top_col cols[TOP_NCOLS];
	int width[TOP_NCOLS]; /* by enum top_col; the note's may be 0 = unbounded */
};

/* Which columns fit in width (<= 0: batch, every column, note unbounded). */
void top_layout(struct top_layout *l, int width);
const char *top_col_title(enum top_col c);
bool top_col_right(enum top_col c);
/* The text of a cell (at most width columns; the bar is drawn to width) and
 * how it should stand out. */
enum top_style top_cell(const struct top_row *r, enum top_col c, int width, char *buf, size_t n);
/* For the precopy bar: the filled fraction in [0, 1], < 0 when there is none. */
double top_row_progress(const struct top_row *r);
/* "waiting 1/2", "acked +2.669s", "off", "-" */
void top_ack_text(const struct top_row *r, char *buf, size_t n);
/* Why a row stands out: the stall ("stalled 12s: waiting for the ACK of ..."),
 * or the devices it waits for, or the error. Empty if nothing. */
enum top_style top_note(const struct top_row *r, char *buf, size_t n);
bool top_row_stalled(const struct top_row *r);

/* Formatting helpers shared with the screen. */
void top_fmt_bytes(char *buf, size_t n, uint64_t v);   /* "8.0M", "-" */
void top_fmt_dur(char *buf, size_t n, int64_t ns);     /* "18.8ms", "2.35s", "-" */
void top_fmt_elapsed(char *buf, size_t n, int64_t ns); /* "2.3s", "12m03s", "-" */
void top_fmt_rel(char *buf, size_t n, uint64_t rel);   /* "+2.669s", "-" */
const char *top_dev_state_name(uint8_t state);	       /* "PRE_COPY", "?" */
const char *top_role_short(enum tl_role role);	       /* "src", "dst", "?" */
/* Sparkline of v[0..n) in width columns, scaled to the largest value; UTF-8
 * blocks, or ASCII ".:-=+*#%@". */
void top_sparkline(const uint64_t *v, uint32_t n, int width, bool utf8, char *buf, size_t len);
/* The approval cell of a device */
void top_dev_approval(const struct top_row *r, const struct top_dev *d, char *buf, size_t n);
/* The drain cell: "[||||  50%]", "620ms", "-" */
void top_dev_drain(const struct top_row *r, const struct top_dev *d, int width, char *buf,
		   size_t n);

/* One plain-text snapshot, as `top -b` prints it. Returns 0, -EIO or -ENOMEM. */
int top_print_batch(FILE *f, const struct top_snap *s, const char *filter);

/* The screen (top_tui.c). The terminal is set up by top_term_open and given
 * back by top_term_close, which is safe to call at any time, twice included. */
struct top_ui;

int top_term_open(char *err, size_t errlen);
void top_term_close(void);
/* SIGTSTP: give the terminal back before stopping; resume after SIGCONT. */
void top_term_suspend(void);
void top_term_resume(void);
/* Take the terminal's size from the kernel (after SIGWINCH or SIGCONT). */
void top_term_resize(void);
/* Read one key (ncurses key codes), TOP_KEY_NONE when none is waiting. */
#define TOP_KEY_NONE (-1)
int top_term_key(void);

enum top_act {
	TOP_ACT_NONE,
	TOP_ACT_REDRAW, /* the view changed: draw the same snapshot again */
	TOP_ACT_PAUSE,	/* pause toggled */
	TOP_ACT_QUIT,
};

struct top_ui *top_ui_new(void);
void top_ui_free(struct top_ui *ui);
enum top_act top_ui_key(struct top_ui *ui, int key);
void top_ui_draw(struct top_ui *ui, const struct top_snap *s);
bool top_ui_paused(const struct top_ui *ui);

#endif /* MIGSCOPE_TOP_H */
