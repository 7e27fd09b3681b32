// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * migscope top: the ncurses screen. It draws a snapshot (top.h) and turns
 * keys into view changes; it never sees the engine. Signals and the main
 * loop are cmd_top.c's.
 */
#include <langinfo.h>
#include <ncurses.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>
#include "top.h"

/* ------------------------------------------------------------------ */
/* terminal */

static SCREEN *scr;
static bool term_on;
static bool use_color;
static bool use_utf8;

enum { PAIR_TITLE = 1, PAIR_HEAD, PAIR_GOOD, PAIR_WARN, PAIR_BAD, PAIR_BAR, PAIR_KEY };

int top_term_open(char *err, size_t errlen)
{
	const char *nc = getenv("NO_COLOR");

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		snprintf(err, errlen,
			 "not a terminal; use --batch for plain-text snapshots (as top -b)");
		return -1;
	}
	use_utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");
	/* the size comes from the kernel, not from stale LINES/COLUMNS */
	use_tioctl(TRUE);
	scr = newterm(NULL, stdout, stdin);
	if (!scr) {
		snprintf(err, errlen, "cannot drive the terminal (TERM=%s); use --batch",
			 getenv("TERM") ? getenv("TERM") : "");
		return -1;
	}
	term_on = true;
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	/* https://no-color.org: set and not empty */
	use_color = has_colors() && !(nc && *nc);
	if (use_color) {
		start_color();
		use_default_colors();
		init_pair(PAIR_TITLE, COLOR_BLACK, COLOR_CYAN);
		init_pair(PAIR_HEAD, COLOR_BLACK, COLOR_GREEN);
		init_pair(PAIR_GOOD, COLOR_GREEN, -1);
		init_pair(PAIR_WARN, COLOR_YELLOW, -1);
		init_pair(PAIR_BAD, COLOR_RED, -1);
		init_pair(PAIR_BAR, COLOR_CYAN, -1);
		init_pair(PAIR_KEY, COLOR_BLACK, COLOR_CYAN);
	}
	return 0;
}

void top_term_close(void)
{
	if (!term_on)
		return;
	term_on = false;
	curs_set(1);
	endwin();
	fflush(stdout);
	delscreen(scr);
	scr = NULL;
}

void top_term_suspend(void)
{
	if (!term_on)
		return;
	curs_set(1);
	endwin();
	fflush(stdout);
}

void top_term_resume(void)
{
	if (!term_on)
		return;
	/* a refresh after endwin puts the terminal back in program mode */
	refresh();
	curs_set(0);
	top_term_resize();
}

void top_term_resize(void)
{
	struct winsize ws;

	if (!term_on)
		return;
	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row && ws.ws_col)
		resizeterm(ws.ws_row, ws.ws_col);
	clearok(curscr, TRUE);
}

int top_term_key(void)
{
	int k = term_on ? getch() : ERR;

	return k == ERR ? TOP_KEY_NONE : k;
}

/* ------------------------------------------------------------------ */
/* view state */

#define FILTER_LEN 64

struct top_ui {
	enum top_sort sort;
	char filter[FILTER_LEN];
	bool paused;
	bool detail;
	bool help;
	bool prompt; /* typing a filter */
	char edit[FILTER_LEN];
	/* the selected row, by identity, so that it survives re-sorting */
	uint32_t sel_pid;
	uint64_t sel_start;
	size_t sel_pos;
	int move;     /* pending selection move from keys */
	size_t first; /* first row shown */
	size_t *idx;
	size_t idx_cap;
};

struct top_ui *top_ui_new(void)
{
	struct top_ui *ui = calloc(1, sizeof(*ui));

	if (ui)
		ui->detail = true;
	return ui;
}

void top_ui_free(struct top_ui *ui)
{
	if (!ui)
		return;
	free(ui->idx);
	free(ui);
}

bool top_ui_paused(const struct top_ui *ui)
{
	return ui->paused;
}

enum top_act top_ui_key(struct top_ui *ui, int key)
{
	size_t n;

	if (ui->prompt) {
		switch (key) {
		case 27: /* Esc */ ui->prompt = false; break;
		case '\r':
		case '\n':
		case KEY_ENTER:
			memcpy(ui->filter, ui->edit, sizeof(ui->filter));
			ui->prompt = false;
			ui->first = 0;
			break;
		case KEY_BACKSPACE:
		case 127:
		case 8:
			n = strlen(ui->edit);
			if (n)
				ui->edit[n - 1] = 0;
			break;
		case 21: /* ^U */ ui->edit[0] = 0; break;
		default:
			n = strlen(ui->edit);
			if (key >= 32 && key < 127 && n + 1 < sizeof(ui->edit)) {
				ui->edit[n] = (char)key;
				ui->edit[n + 1] = 0;
			}
			break;
		}
		return TOP_ACT_REDRAW;
	}
	if (ui->help) {
		ui->help = false;
		return key == 'q' || key == 'Q' ? TOP_ACT_QUIT : TOP_ACT_REDRAW;
	}
	switch (key) {
	case 'q':
	case 'Q': return TOP_ACT_QUIT;
	case 's': ui->sort = (ui->sort + 1) % TOP_SORT_COUNT; return TOP_ACT_REDRAW;
	case 'S':
		ui->sort = (ui->sort + TOP_SORT_COUNT - 1) % TOP_SORT_COUNT;
		return TOP_ACT_REDRAW;
	case 'f':
	case '/':
		ui->prompt = true;
		memcpy(ui->edit, ui->filter, sizeof(ui->edit));
		return TOP_ACT_REDRAW;
	case 'p':
	case ' ': ui->paused = !ui->paused; return TOP_ACT_PAUSE;
	case 'h':
	case '?':
	case KEY_F(1): ui->help = true; return TOP_ACT_REDRAW;
	case KEY_UP:
	case 'k': ui->move--; return TOP_ACT_REDRAW;
	case KEY_DOWN:
	case 'j': ui->move++; return TOP_ACT_REDRAW;
	case KEY_PPAGE: ui->move -= 10; return TOP_ACT_REDRAW;
	case KEY_NPAGE: ui->move += 10; return TOP_ACT_REDRAW;
	case KEY_HOME: ui->move = -100000; return TOP_ACT_REDRAW;
	case KEY_END: ui->move = 100000; return TOP_ACT_REDRAW;
	case '\r':
	case '\n':
	case KEY_ENTER: ui->detail = !ui->detail; return TOP_ACT_REDRAW;
	case 12: /* ^L */ clearok(curscr, TRUE); return TOP_ACT_REDRAW;
	default: return TOP_ACT_NONE;
	}
}

/* ------------------------------------------------------------------ */
/* drawing */

static attr_t style_attr(enum top_style st)
{
	if (!use_color) {
		switch (st) {
		case TOP_S_WARN: return A_BOLD;
		case TOP_S_BAD: return A_BOLD | A_UNDERLINE;
		case TOP_S_DIM: return A_DIM;
		default: return A_NORMAL;
		}
	}
	switch (st) {
	case TOP_S_GOOD: return COLOR_PAIR(PAIR_GOOD);
	case TOP_S_WARN: return COLOR_PAIR(PAIR_WARN) | A_BOLD;
	case TOP_S_BAD: return COLOR_PAIR(PAIR_BAD) | A_BOLD;
	case TOP_S_DIM: return A_DIM;
	case TOP_S_BAR: return COLOR_PAIR(PAIR_BAR);
	default: return A_NORMAL;
	}
}

static attr_t title_attr(void)
{
	return use_color ? COLOR_PAIR(PAIR_TITLE) : A_REVERSE;
}

static attr_t head_attr(void)
{
	return use_color ? COLOR_PAIR(PAIR_HEAD) : A_REVERSE | A_BOLD;
}

/* Display columns of a UTF-8 string's first bytes, stopping at max columns;
 * *bytes gets how many bytes those are. */
static int str_cols(const char *s, int max, size_t *bytes)
{
	mbstate_t st;
	size_t off = 0, len = strlen(s);
	int cols = 0;

	memset(&st, 0, sizeof(st));
	while (off < len) {
		wchar_t wc;
		size_t k = mbrtowc(&wc, s + off, len - off, &st);
		int w;

		if (k == (size_t)-1 || k == (size_t)-2) {
			k = 1;
			w = 1;
			memset(&st, 0, sizeof(st));
		} else {
			if (k == 0)
				break;
			w = wcwidth(wc);
			if (w < 0)
				w = 1;
		}
		if (cols + w > max)
			break;
		cols += w;
		off += k;
	}
	if (bytes)
		*bytes = off;
	return cols;
}

/* Put s at (y, x) in exactly w columns (padded, cut), right-aligned if asked. */
static void put(int y, int x, int w, const char *s, bool right, attr_t a)
{
	size_t bytes;
	int cols, pad;

	if (w <= 0 || y < 0 || y >= LINES || x >= COLS)
		return;
	if (x + w > COLS)
		w = COLS - x;
	cols = str_cols(s, w, &bytes);
	pad = w - cols;
	attrset(a);
	move(y, x);
	if (right)
		for (int i = 0; i < pad; i++)
			addch(' ');
	addnstr(s, (int)bytes);
	if (!right)
		for (int i = 0; i < pad; i++)
			addch(' ');
	attrset(A_NORMAL);
}

/* Fill a whole line with attribute a, then put s on it. */
static void line(int y, const char *s, attr_t a)
{
	put(y, 0, COLS, s, false, a);
}

static void draw_title(const struct top_ui *ui, const struct top_snap *s)
{
	const struct top_head *h = &s->head;
	char left[512], right[160], when[32] = "";
	int active = 0;

	if (h->live && h->real_ns) {
		time_t t = (time_t)(h->real_ns / 1000000000ULL);
		struct tm tm;

		localtime_r(&t, &tm);
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	} else if (!h->live) {
		snprintf(when, sizeof(when), "+%.3fs", h->trace_rel / 1e9);
	}
	snprintf(left, sizeof(left), " migscope top - host %s - %s%s", h->host, h->source,
		 h->eof ? " (end of file)" : "");
	snprintf(right, sizeof(right), "%ssort: %s  filter: %s  %s ", ui->paused ? "PAUSED  " : "",
		 top_sort_name(ui->sort), ui->filter[0] ? ui->filter : "-", when);
	line(0, left, title_attr() | A_BOLD);
	if ((int)strlen(right) + (int)strlen(left) < COLS)
		put(0, COLS - (int)strlen(right), (int)strlen(right), right, true,
		    title_attr() | (ui->paused ? A_BOLD : 0));

	for (size_t i = 0; i < s->nrows; i++)
		active += s->rows[i].result == TL_RES_ACTIVE;
	if (h->follow)
		snprintf(left, sizeof(left),
			 " QEMU processes: %u traced   log files followed: %u   events/s: %.0f"
			 "   migrations: %d active, %zu listed",
			 h->procs, h->files, h->events_per_s, active, s->nrows);
	else
		snprintf(
		    left, sizeof(left),
		    " QEMU processes: %u traced   probes attached: %u   events/s: %.0f   lost: "
		    "%llu   migrations: %d active, %zu listed",
		    h->procs, h->probes, h->events_per_s, (unsigned long long)h->lost, active,
		    s->nrows);
	line(1, left, h->lost ? style_attr(TOP_S_WARN) : A_NORMAL);
	if (h->capture_error[0]) {
		snprintf(left, sizeof(left), " capture stopped: %s", h->capture_error);
		line(2, left, style_attr(TOP_S_BAD));
	} else if (h->input_error[0]) {
		snprintf(left, sizeof(left), " input stopped: %s", h->input_error);
		line(2, left, style_attr(TOP_S_BAD));
	} else if (h->message[0]) {
		snprintf(left, sizeof(left), " %s", h->message);
		line(2, left, A_DIM);
	}
}

static void draw_table_head(int y, const struct top_layout *l)
{
	int x = 0;

	line(y, "", head_attr());
	for (int i = 0; i < l->ncols; i++) {
		enum top_col c = l->cols[i];

		put(y, x, l->width[c], top_col_title(c), top_col_right(c), head_attr() | A_BOLD);
		x += l->width[c] + 1;
	}
}

static void draw_row(int y, const struct top_layout *l, const struct top_row *r, bool sel)
{
	attr_t base = sel ? A_REVERSE : A_NORMAL;
	char buf[256];
	int x = 0;

	if (r->stall.stalled && !use_color)
		base |= A_BOLD;
	line(y, "", base);
	for (int i = 0; i < l->ncols; i++) {
		enum top_col c = l->cols[i];
		enum top_style st = top_cell(r, c, l->width[c], buf, sizeof(buf));
		attr_t a = base;

		if (c == TOP_C_PRECOPY && st != TOP_S_DIM && buf[0] == '[') {
			/* the bar: brackets plain, the filled part coloured */
			size_t len = strlen(buf);

			put(y, x, 1, "[", false, a);
			put(y, x + 1, (int)len - 2, buf + 1, false, a | style_attr(st));
			put(y, x + (int)len - 1, 1, "]", false, a);
			x += l->width[c] + 1;
			continue;
		}
		if (c == TOP_C_VM || c == TOP_C_PID)
			a |= A_BOLD;
		a |= style_attr(st);
		put(y, x, l->width[c], buf, top_col_right(c), a);
		x += l->width[c] + 1;
	}
}

/* the sub-line under a stalled row: why */
static void draw_stall(int y, const struct top_row *r, bool sel)
{
	char buf[256], text[300];

	top_note(r, buf, sizeof(buf));
	snprintf(text, sizeof(text), "        %s %s", use_utf8 ? "\u2514" : "`-", buf);
	line(y, text, style_attr(TOP_S_BAD) | (sel ? A_REVERSE : 0));
}

static int row_lines(const struct top_row *r)
{
	return r->stall.stalled ? 2 : 1;
}

/* Milestones as "name +t" tokens wrapped on up to maxl lines of width w;
 * the latest are kept when they do not all fit. Returns lines used. */
static int draw_milestones(int y, int maxl, const struct top_row *r)
{
	char tok[TOP_MAX_MS][80], t[32];
	int lines[TOP_MAX_MS], nl = 1, x = 0, w = COLS - 2, start = 0;

	if (maxl <= 0 || !r->nms)
		return 0;
	for (uint32_t i = 0; i < r->nms; i++) {
		int len;

		top_fmt_rel(t, sizeof(t), r->ms[i].rel);
		snprintf(tok[i], sizeof(tok[i]), "%s %s", r->ms[i].name, t);
		len = (int)strlen(tok[i]) + 2;
		if (x && x + len > w - 12) {
			nl++;
			x = 0;
		}
		lines[i] = nl - 1;
		x += len;
	}
	/* first line to show, so that the latest milestones fit */
	if (nl > maxl)
		start = nl - maxl;
	for (int ln = start; ln < nl; ln++) {
		int yy = y + ln - start, xx = 12;

		put(yy, 0, COLS, ln == start ? (start ? " milestones ..." : " milestones") : "",
		    false, A_BOLD);
		for (uint32_t i = 0; i < r->nms; i++) {
			if (lines[i] != ln)
				continue;
			put(yy, xx, (int)strlen(tok[i]), tok[i], false,
			    i + 1 == r->nms ? A_BOLD : A_NORMAL);
			xx += (int)strlen(tok[i]) + 2;
		}
	}
	return nl - start;
}

static int detail_need(const struct top_row *r)
{
	/* title, device header, devices, convergence, downtime, milestones */
	return 2 + (int)(r->ndevs ? r->ndevs : 1) + 2 + 3;
}

static void draw_detail(int y, int h, const struct top_row *r)
{
	char buf[512], a[112], b[32], c[32], d[32], spark[TOP_HIST_LEN * 4 + 1];
	int end = y + h, wdev = 14, whist, x, wappr;
	bool dst = r->role == TL_ROLE_DEST;

	if (r->peer[0])
		snprintf(a, sizeof(a), "  peer: %.*s", (int)sizeof(a) - 10, r->peer);
	else if (r->peer_pid)
		snprintf(a, sizeof(a), " %s pid %u", dst ? "<- source" : "-> destination",
			 r->peer_pid);
	else
		a[0] = 0;
	top_fmt_elapsed(b, sizeof(b), r->elapsed);
	snprintf(buf, sizeof(buf), "%s %s  %s pid %u%s  phase %s  elapsed %s  uuid %s ",
		 use_utf8 ? "\u2500\u2500" : "--", r->vm[0] ? r->vm : "?", tl_role_name(r->role),
		 r->pid, a, r->phase, b, r->uuid[0] ? r->uuid : "-");
	line(y, buf, A_BOLD);
	if (use_utf8) {
		int used = str_cols(buf, COLS, NULL);

		attrset(A_BOLD);
		for (int i = used; i < COLS; i++)
			mvaddstr(y, i, "\u2500");
		attrset(A_NORMAL);
	}
	if (++y >= end)
		return;

	/* the device table */
	for (uint32_t i = 0; i < r->ndevs; i++) {
		int l = (int)strlen(r->devs[i].name);

		if (l > wdev)
			wdev = l < 24 ? l : 24;
	}
	wappr = 32;
	whist = COLS - (1 + wdev + 1 + 12 + 1 + 8 + 1 + 8 + 1 + 9 + 2 + 16 + 1 + wappr);
	if (whist > TOP_HIST_LEN)
		whist = TOP_HIST_LEN;
	if (whist < 6)
		whist = 0;
	if (!r->ndevs) {
		put(y++, 0, COLS, " no VFIO device", false, A_DIM);
	} else {
		x = 1;
		line(y, "", head_attr());
		put(y, x, wdev, "DEVICE", false, head_attr());
		x += wdev + 1;
		put(y, x, 12, "STATE", false, head_attr());
		x += 13;
		put(y, x, 8, "INITIAL", true, head_attr());
		x += 9;
		put(y, x, 8, dst ? "LOADED" : "DIRTY", true, head_attr());
		x += 9;
		put(y, x, 9, "STOP-COPY", true, head_attr());
		x += 11;
		if (whist) {
			put(y, x, whist, dst ? "HISTORY (loaded)" : "HISTORY (pending)", false,
			    head_attr());
			x += whist + 1;
		}
		put(y, x, 16, dst ? "INIT DATA" : "DRAIN", false, head_attr());
		x += 17;
		put(y, x, COLS - x, "APPROVAL", false, head_attr());
		y++;
	}
	for (uint32_t i = 0; i < r->ndevs && y < end; i++, y++) {
		const struct top_dev *dv = &r->devs[i];

		x = 1;
		put(y, x, wdev, dv->name, false, A_BOLD);
		x += wdev + 1;
		put(y, x, 12, top_dev_state_name(dv->state), false,
		    dv->state == MS_VFIO_ERROR ? style_attr(TOP_S_BAD) : A_NORMAL);
		x += 13;
		top_fmt_bytes(a, sizeof(a), dst ? dv->initial : dv->live_initial);
		put(y, x, 8, a, true, A_NORMAL);
		x += 9;
		top_fmt_bytes(a, sizeof(a), dst ? dv->loaded : dv->live_dirty);
		put(y, x, 8, a, true, A_NORMAL);
		x += 9;
		top_fmt_bytes(a, sizeof(a), dv->stopcopy);
		put(y, x, 9, a, true, A_NORMAL);
		x += 11;
		if (whist) {
			top_sparkline(dv->hist, dv->nhist, whist, use_utf8, spark, sizeof(spark));
			put(y, x, whist, spark, false, style_attr(TOP_S_BAR));
			x += whist + 1;
		}
		top_dev_drain(r, dv, 16, buf, sizeof(buf));
		put(y, x, 16, buf, false,
		    tl_dhas(dv->drain) ? style_attr(TOP_S_GOOD) : style_attr(TOP_S_BAR));
		x += 17;
		top_dev_approval(r, dv, buf, sizeof(buf));
		put(y, x, COLS - x, buf, false,
		    dv->approved		     ? style_attr(TOP_S_GOOD)
		    : dv->init_sent || r->acked == 0 ? style_attr(TOP_S_WARN)
						     : A_NORMAL);
	}
	if (y >= end)
		return;

	/* figures: convergence (source) or the downtime once done */
	if (r->role == TL_ROLE_SOURCE && tl_has(r->pending)) {
		top_fmt_bytes(a, sizeof(a), r->pending);
		top_fmt_bytes(b, sizeof(b), r->threshold);
		top_fmt_bytes(c, sizeof(c), tl_has(r->bandwidth) ? r->bandwidth * 1000 : TL_NONE);
		top_fmt_dur(d, sizeof(d), r->predicted);
		snprintf(buf, sizeof(buf),
			 " convergence  pending %s  threshold %s  bandwidth %s/s  iterations "
			 "%llu  expected downtime %s",
			 a, b, c, (unsigned long long)r->iterations, d);
		put(y++, 0, COLS, buf, false, A_NORMAL);
	}
	if (y < end && tl_dhas(r->downtime)) {
		char p[5][24];

		top_fmt_dur(a, sizeof(a), r->downtime);
		top_fmt_dur(b, sizeof(b), r->guest_downtime);
		top_fmt_dur(p[0], sizeof(p[0]), r->bd.stop);
		top_fmt_dur(p[1], sizeof(p[1]), r->bd.iterable);
		top_fmt_dur(p[2], sizeof(p[2]), r->bd.non_iterable);
		top_fmt_dur(p[3], sizeof(p[3]), r->bd.transfer_load);
		top_fmt_dur(p[4], sizeof(p[4]), r->bd.dst_start);
		if (r->downtime_prev)
			snprintf(buf, sizeof(buf),
				 " downtime     %s (guest %s), of the previous migration", a, b);
		else
			snprintf(buf, sizeof(buf),
				 " downtime     %s (guest %s) = stop %s + iterable %s + "
				 "non-iterable %s + transfer+load %s + dst start %s",
				 a, b, p[0], p[1], p[2], p[3], p[4]);
		put(y++, 0, COLS, buf, false, A_BOLD);
	}
	if (y < end && r->stall.stalled) {
		top_note(r, buf, sizeof(buf));
		put(y, 0, 1, "", false, A_NORMAL);
		put(y++, 1, COLS - 1, buf, false, style_attr(TOP_S_BAD));
	}
	if (y < end)
		draw_milestones(y, end - y, r);
}

static void draw_help(void)
{
	static const char *const text[] = {
	    "migscope top: keys",
	    "",
	    "  Up/Down, j/k   select a migration (PgUp/PgDn, Home/End)",
	    "  Enter          show or hide the detail pane of the selected row",
	    "  s / S          sort: start, vm, attention (stalled first), elapsed",
	    "  f or /         filter rows (VM, UUID, pid, role, phase, device);",
	    "                 Enter applies, an empty filter shows every row, Esc cancels",
	    "  p or space     pause (live: the screen stops; replay: the clock stops)",
	    "  Ctrl-L         redraw",
	    "  h or ?         this help",
	    "  q              quit",
	    "",
	    "ACK: off | waiting n/m (devices approved) | acked +t (since the start)",
	    "EXP DT/LIMIT: expected downtime (pending / bandwidth) against the limit",
	    "A stalled source made no progress for the stall window (10 s): the line",
	    "under it says why (RAM above the threshold, or the devices the ACK awaits).",
	    "",
	    "Press any key to return.",
	};
	int n = sizeof(text) / sizeof(text[0]), w = 0, y0, x0;

	for (int i = 0; i < n; i++)
		if ((int)strlen(text[i]) > w)
			w = (int)strlen(text[i]);
	w += 4;
	if (w > COLS)
		w = COLS;
	y0 = (LINES - n - 2) / 2;
	x0 = (COLS - w) / 2;
	if (y0 < 0)
		y0 = 0;
	for (int i = -1; i <= n; i++) {
		const char *t = i < 0 || i == n ? "" : text[i];
		char buf[128];

		snprintf(buf, sizeof(buf), "  %s", t);
		put(y0 + 1 + i, x0, w, buf, false, i == 0 ? title_attr() | A_BOLD : title_attr());
	}
}

static void draw_footer(const struct top_ui *ui, const char *note)
{
	char buf[256];
	int y = LINES - 1;

	if (ui->prompt) {
		snprintf(buf, sizeof(buf),
			 " filter (VM, pid, role, phase, device; Enter applies, Esc cancels): %s_",
			 ui->edit);
		line(y, buf, A_BOLD);
		return;
	}
	if (note)
		snprintf(buf, sizeof(buf), " %s  (h help, q quit)", note);
	else
		snprintf(buf, sizeof(buf),
			 " q quit  Up/Down select  Enter detail  s sort  f filter  p %s  h help",
			 ui->paused ? "resume" : "pause");
	line(y, buf, use_color ? COLOR_PAIR(PAIR_KEY) : A_REVERSE);
}

void top_ui_draw(struct top_ui *ui, const struct top_snap *s)
{
	struct top_layout l;
	size_t n, pos;
	int y, avail, rows_h, det_h = 0, need = 0;
	const char *note = NULL;
	const struct top_row *sel = NULL;

	if (!term_on)
		return;
	erase();
	if (ui->idx_cap < s->nrows + 1) {
		size_t *ni = realloc(ui->idx, (s->nrows + 1) * sizeof(*ni));

		if (!ni)
			return;
		ui->idx = ni;
		ui->idx_cap = s->nrows + 1;
	}
	n = top_order(s, ui->sort, ui->filter, ui->idx);

	/* keep the selection on the same migration, then apply key moves */
	pos = ui->sel_pos < n ? ui->sel_pos : (n ? n - 1 : 0);
	for (size_t i = 0; i < n; i++)
		if (s->rows[ui->idx[i]].pid == ui->sel_pid &&
		    s->rows[ui->idx[i]].start_ts == ui->sel_start)
			pos = i;
	if (ui->move < 0)
		pos = (size_t)-ui->move > pos ? 0 : pos + ui->move;
	else if (ui->move > 0)
		pos = n && pos + ui->move >= n ? n - 1 : pos + ui->move;
	ui->move = 0;
	if (n) {
		sel = &s->rows[ui->idx[pos]];
		ui->sel_pid = sel->pid;
		ui->sel_start = sel->start_ts;
	}
	ui->sel_pos = pos;

	draw_title(ui, s);
	top_layout(&l, COLS);
	draw_table_head(3, &l);

	/* rows above, the detail pane below */
	avail = LINES - 4 - 1;
	for (size_t i = 0; i < n; i++)
		need += row_lines(&s->rows[ui->idx[i]]);
	rows_h = need < avail ? need : avail;
	if (!n)
		rows_h = 1;
	if (ui->detail && sel) {
		int want = detail_need(sel) + 1;

		if (avail - rows_h < want)
			rows_h = avail - want > 3 ? avail - want : (need < 3 ? need : 3);
		det_h = avail - rows_h - 1;
		if (det_h < 3) {
			det_h = 0;
			rows_h = need < avail ? need : avail;
			note = "detail pane hidden: terminal too small";
		}
	}

	/* scroll so that the selection is visible */
	if (ui->first > pos)
		ui->first = pos;
	for (;;) {
		int used = 0;

		for (size_t i = ui->first; i <= pos && i < n; i++)
			used += row_lines(&s->rows[ui->idx[i]]);
		if (used <= rows_h || ui->first >= pos)
			break;
		ui->first++;
	}
	y = 4;
	if (!n)
		put(y, 1, COLS - 1,
		    s->nrows ? "no migration matches the filter (f, then Enter on an empty line)"
			     : "no migration in flight or recent; waiting for QEMU processes...",
		    false, A_DIM);
	for (size_t i = ui->first; i < n && y < 4 + rows_h; i++) {
		const struct top_row *r = &s->rows[ui->idx[i]];

		draw_row(y++, &l, r, i == pos);
		if (r->stall.stalled && y < 4 + rows_h)
			draw_stall(y++, r, i == pos);
	}
	if (det_h && sel)
		draw_detail(4 + rows_h + 1, det_h, sel);
	if (ui->help)
		draw_help();
	draw_footer(ui, note);
	refresh();
}
