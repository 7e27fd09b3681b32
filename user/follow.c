// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Following files (follow.h). Each followed path keeps its entry: the inode
 * it reads, how far it was read, the partial line at the end of what was
 * read and, while the file is active, an open descriptor. Looking at an
 * entry means looking at its path again: another inode there is a
 * replacement (rotation, or a delete and a new file): the old descriptor is
 * read to its end, then the new file from its start; a size below what was
 * read is a truncation: read again from the start.
 *
 * What is looked at: the entries inotify names (a write, a rename, a
 * delete in a watched directory), every entry with an open descriptor once a
 * second and every other every 10 s, so that what is read never depends on
 * the events alone (an overflowed queue makes every entry looked at). A host's
 * libvirt log directory holds a log per VM it ever ran: a file with no new
 * data for a minute gives its descriptor back (its inode and offset kept;
 * reopened where it was when it grows), and its partial-line buffer is only
 * allocated while a partial line waits, so that thousands of logs cost
 * neither descriptors nor memory. A file replaced while its descriptor was
 * given back loses what was appended to it after its last read before the
 * replacement: nothing, for a file idle that long.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "follow.h"
#include "util.h"

#define WATCH_MASK                                                                                 \
	(IN_CREATE | IN_MOVED_TO | IN_MODIFY | IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM |        \
	 IN_ATTRIB)

#define FULL_LOOK_NS  1000000000ull  /* every open entry looked at this often */
#define IDLE_LOOK_NS  10000000000ull /* and every entry, open or not */
#define IDLE_CLOSE_NS 60000000000ull /* a file without new data gives its fd back */
#define HASH_SIZE     (2 * FW_FILES) /* entries by path */

struct fw_file {
	char *path;
	int fd;	      /* -1: nothing open */
	bool known;   /* dev, ino, off are of a file read before (fd open or not) */
	bool present; /* a regular file was at the path when last looked at */
	bool dirty;   /* to be looked at by the next fw_read */
	dev_t dev;
	ino_t ino;
	off_t off;	    /* read so far */
	uint64_t last_data; /* CLOCK_MONOTONIC ns of its latest bytes (or open) */
	char *buf;	    /* the partial line, NULL while none waits */
	size_t len;
	bool cut; /* the partial line was cut at FW_LINE_MAX: skip to its newline */
};

struct fw_dir {
	char *dir;
	int wd;	  /* its inotify watch */
	bool all; /* every *.log in it (a directory given), else only named files */
	bool rescan;
	unsigned int refused; /* its *.log files not followed: FW_FILES reached */
};

struct fw {
	int ifd;
	struct fw_dir d[FW_MAX];
	size_t nd;
	/* paths given that do not exist yet: a file or a directory when they
	 * come (their nearest existing directory is watched meanwhile) */
	char *pend[FW_MAX];
	size_t npend;
	struct fw_file f[FW_FILES];
	size_t nf;
	uint32_t hash[HASH_SIZE]; /* entry index + 1, 0 empty (open addressing) */
	uint64_t last_full, last_idle, idle_ns;
	struct fw_stats st;
	char chunk[1 << 16];
};

static uint32_t path_hash(const char *p)
{
	uint32_t h = 2166136261u;

	while (*p)
		h = (h ^ (unsigned char)*p++) * 16777619u;
	return h;
}

static bool is_log_name(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && !strcmp(name + n - 4, ".log") && name[0] != '.';
}

/* The hash slot of PATH: its entry's, or the empty one it would take. */
static uint32_t *file_slot(struct fw *w, const char *path)
{
	uint32_t i = path_hash(path) % HASH_SIZE;

	while (w->hash[i] && strcmp(w->f[w->hash[i] - 1].path, path))
		i = (i + 1) % HASH_SIZE;
	return &w->hash[i];
}

static struct fw_file *file_find(struct fw *w, const char *path)
{
	uint32_t k = *file_slot(w, path);

	return k ? &w->f[k - 1] : NULL;
}

static int file_add(struct fw *w, const char *path)
{
	uint32_t *slot = file_slot(w, path);
	struct fw_file *f;

	if (*slot)
		return 0;
	if (w->nf == FW_FILES)
		return -ENOSPC;
	f = &w->f[w->nf];
	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->dirty = true;
	f->path = strdup(path);
	if (!f->path)
		return -ENOMEM;
	*slot = (uint32_t)++w->nf;
	return 0;
}

static int dir_add(struct fw *w, const char *dir, bool all)
{
	for (size_t i = 0; i < w->nd; i++) {
		if (!strcmp(w->d[i].dir, dir)) {
			w->d[i].all |= all;
			w->d[i].rescan |= all;
			return 0;
		}
	}
	if (w->nd == FW_MAX)
		return -ENOSPC;
	w->d[w->nd].wd = inotify_add_watch(w->ifd, dir, WATCH_MASK);
	if (w->d[w->nd].wd < 0)
		return -errno;
	w->d[w->nd].dir = strdup(dir);
	if (!w->d[w->nd].dir)
		return -ENOMEM;
	w->d[w->nd].all = all;
	w->d[w->nd].rescan = all;
	w->nd++;
	return 0;
}

static void dir_scan(struct fw *w, struct fw_dir *d)
{
	struct dirent *de;
	DIR *dh = opendir(d->dir);
	char p[PATH_MAX];

	d->rescan = false;
	d->refused = 0;
	if (!dh)
		return;
	while ((de = readdir(dh))) {
		if (!is_log_name(de->d_name))
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", d->dir, de->d_name) >= (int)sizeof(p))
			continue;
		if (file_add(w, p) == -ENOSPC && !file_find(w, p))
			d->refused++;
	}
	closedir(dh);
}

/* The directory part of PATH into dir ("." or "/" at the top). */
static void parent_of(const char *path, char *dir, size_t n)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(dir, n, ".");
	else if (slash == path)
		snprintf(dir, n, "/");
	else
		snprintf(dir, n, "%.*s", (int)(slash - path), path);
}

/* Follow PATH, which exists now: a directory's *.log files, or a file
 * (its directory watched). 0 or -errno. */
static int path_add(struct fw *w, const char *path, const struct stat *sb)
{
	char dir[PATH_MAX];
	struct stat ds;
	int e;

	if (S_ISDIR(sb->st_mode)) {
		/* its files now, so that they come in the order given */
		e = dir_add(w, path, true);
		for (size_t k = 0; !e && k < w->nd; k++)
			if (w->d[k].rescan)
				dir_scan(w, &w->d[k]);
		return e;
	}
	parent_of(path, dir, sizeof(dir));
	if (stat(dir, &ds))
		return -errno;
	e = dir_add(w, dir, false);
	return e ? e : file_add(w, path);
}

/* PATH does not exist yet: watch its nearest existing directory (inotify
 * watches a file as well, so that one must be a directory) and look for
 * PATH at each fw_read. 0 or -errno. */
static int pend_add(struct fw *w, const char *path)
{
	char dir[PATH_MAX];
	struct stat sb;

	if (w->npend == FW_MAX)
		return -ENOSPC;
	snprintf(dir, sizeof(dir), "%s", path);
	do {
		char up[PATH_MAX];

		parent_of(dir, up, sizeof(up));
		if (!strcmp(up, dir))
			return -ENOENT;
		snprintf(dir, sizeof(dir), "%s", up);
	} while (stat(dir, &sb) && errno == ENOENT);
	if (stat(dir, &sb))
		return -errno;
	if (!S_ISDIR(sb.st_mode))
		return -ENOTDIR;
	w->pend[w->npend] = strdup(path);
	if (!w->pend[w->npend])
		return -ENOMEM;
	w->npend++;
	return dir_add(w, dir, false);
}

/* The paths that were not there: followed once they are. */
static void pend_look(struct fw *w)
{
	struct stat sb;

	for (size_t i = 0; i < w->npend;) {
		if (stat(w->pend[i], &sb) || path_add(w, w->pend[i], &sb)) {
			i++;
			continue;
		}
		free(w->pend[i]);
		w->pend[i] = w->pend[--w->npend];
	}
}

struct fw *fw_open(char *const *paths, size_t n, char *err, size_t errlen)
{
	struct fw *w;
	int e;

	if (n > FW_MAX) {
		snprintf(err, errlen, "at most %d paths to follow", FW_MAX);
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->idle_ns = IDLE_CLOSE_NS;
	w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->ifd < 0) {
		snprintf(err, errlen, "cannot watch files (inotify): %s", strerror(errno));
		free(w);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		struct stat sb;

		if (!stat(paths[i], &sb))
			e = path_add(w, paths[i], &sb);
		else if (errno == ENOENT)
			e = pend_add(w, paths[i]);
		else
			e = -errno;
		if (e) {
			snprintf(err, errlen, "%s: cannot follow it: %s", paths[i], strerror(-e));
			fw_close(w, NULL, NULL);
			return NULL;
		}
	}
	return w;
}

int fw_fd(const struct fw *w)
{
	return w->ifd;
}

const char *fw_path(const struct fw *w, size_t file)
{
	return file < w->nf ? w->f[file].path : NULL;
}

void fw_stats(const struct fw *w, struct fw_stats *s)
{
	*s = w->st;
	s->followed = s->open_now = s->refused = 0;
	for (size_t i = 0; i < w->nf; i++) {
		s->followed += w->f[i].present;
		s->open_now += w->f[i].fd >= 0;
	}
	for (size_t i = 0; i < w->nd; i++)
		s->refused += w->d[i].refused;
	s->pending = w->npend;
}

/* The partial line, handed over as a line (its file ended or was replaced). */
static long flush_partial(struct fw *w, size_t k, fw_line_cb cb, void *arg)
{
	struct fw_file *f = &w->f[k];
	long r = 0;

	if (f->len && cb)
		r = cb(arg, k, f->buf, f->len);
	f->len = 0;
	f->cut = false;
	return r;
}

/* Lines of CHUNK: the partial line completed, each whole one handed over. */
static long feed(struct fw *w, size_t k, const char *p, size_t n, fw_line_cb cb, void *arg,
		 long *lines)
{
	struct fw_file *f = &w->f[k];
	long r;

	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;

		if (nl && !f->len && !f->cut && take <= FW_LINE_MAX) {
			/* a whole line in the chunk: handed over from there */
			r = cb ? cb(arg, k, p, take) : 0;
		} else {
			/* it continues a partial line, or stays one, or is too long */
			if (!f->cut) {
				size_t room = FW_LINE_MAX - f->len;

				if (!f->buf && !(f->buf = malloc(FW_LINE_MAX)))
					return -ENOMEM;
				if (take > room) {
					/* what fits goes as the line, the rest is skipped */
					memcpy(f->buf + f->len, p, room);
					f->len = FW_LINE_MAX;
					f->cut = true;
					w->st.cut_lines++;
				} else {
					memcpy(f->buf + f->len, p, take);
					f->len += take;
				}
			}
			if (!nl)
				return 0;
			r = cb ? cb(arg, k, f->buf, f->len) : 0;
			f->len = 0;
			f->cut = false;
		}
		if (r)
			return r;
		(*lines)++;
		p = nl + 1;
		n -= take + 1;
	}
	return 0;
}

/* Read fd of file K from its offset to its end. */
static long drain(struct fw *w, size_t k, fw_line_cb cb, void *arg, long *lines, uint64_t now)
{
	struct fw_file *f = &w->f[k];

	for (;;) {
		ssize_t n = pread(f->fd, w->chunk, sizeof(w->chunk), f->off);
		long r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : 0;
		f->off += n;
		f->last_data = now;
		r = feed(w, k, w->chunk, (size_t)n, cb, arg, lines);
		if (r)
			return r;
	}
}

/* Open file K's path as the entry's file, from offset off. 0, or -1 when it
 * cannot be opened now (raced with its removal, no access: again later). */
static int reopen(struct fw_file *f, off_t off, uint64_t now)
{
	struct stat sf;

	f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return -1;
	if (fstat(f->fd, &sf)) {
		close(f->fd);
		f->fd = -1;
		return -1;
	}
	f->dev = sf.st_dev;
	f->ino = sf.st_ino;
	f->off = off;
	f->known = true;
	f->last_data = now;
	return 0;
}

static long file_look(struct fw *w, size_t k, fw_line_cb cb, void *arg, long *lines, uint64_t now)
{
	struct fw_file *f = &w->f[k];
	struct stat sp, sf;
	bool there = !stat(f->path, &sp) && S_ISREG(sp.st_mode);
	bool same = there && f->known && sp.st_dev == f->dev && sp.st_ino == f->ino;
	long r = 0;

	f->dirty = false;
	f->present = there;
	if (f->fd >= 0 && there && !same) {
		/* replaced: the old one to its end, then the new one */
		r = drain(w, k, cb, arg, lines, now);
		if (!r)
			r = flush_partial(w, k, cb, arg);
		close(f->fd);
		f->fd = -1;
		f->known = false;
		w->st.replaced++;
		if (r)
			return r;
	} else if (f->fd < 0 && f->known && there && !same) {
		/* replaced while its descriptor was given back */
		r = flush_partial(w, k, cb, arg);
		f->known = false;
		w->st.replaced++;
		if (r)
			return r;
	}
	if (f->fd < 0) {
		if (!there)
			return 0; /* not there yet, or deleted: when it comes */
		if (same && sp.st_size == f->off)
			return 0; /* given back, and nothing new */
		if (reopen(f, same ? f->off : 0, now))
			return 0;
		if (!same)
			w->st.opened++;
	}
	if (!fstat(f->fd, &sf) && sf.st_size < f->off) {
		/* truncated: what was read is gone; the rest of a partial line
		 * will not come */
		r = flush_partial(w, k, cb, arg);
		f->off = 0;
		w->st.truncated++;
		if (r)
			return r;
	}
	r = drain(w, k, cb, arg, lines, now);
	if (r)
		return r;
	if (!f->len && now - f->last_data >= w->idle_ns) {
		/* idle: the descriptor and the buffer back, the place kept */
		close(f->fd);
		f->fd = -1;
		free(f->buf);
		f->buf = NULL;
	}
	return 0;
}

/* The directory of watch WD, NULL for none (an event of a removed watch). */
static struct fw_dir *dir_of(struct fw *w, int wd)
{
	for (size_t i = 0; i < w->nd; i++)
		if (w->d[i].wd == wd)
			return &w->d[i];
	return NULL;
}

long fw_read(struct fw *w, fw_line_cb cb, void *arg)
{
	char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	uint64_t now = ms_now_mono();
	bool all = false, open_ones = false;
	long lines = 0, r;
	ssize_t n;

	/* what happened: the entries to look at, the directories to rescan */
	while ((n = read(w->ifd, ev, sizeof(ev))) > 0) {
		for (char *p = ev; p < ev + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;
			struct fw_dir *d = dir_of(w, e->wd);
			char path[PATH_MAX];
			struct fw_file *f;

			p += sizeof(*e) + e->len;
			if (e->mask & IN_Q_OVERFLOW) {
				all = true;
				for (size_t i = 0; i < w->nd; i++)
					w->d[i].rescan |= w->d[i].all;
				continue;
			}
			if (!d)
				continue;
			if (e->mask & (IN_CREATE | IN_MOVED_TO))
				d->rescan |= d->all;
			if (!e->len || snprintf(path, sizeof(path), "%s/%s", d->dir, e->name) >=
					   (int)sizeof(path))
				continue;
			f = file_find(w, path);
			if (f)
				f->dirty = true;
		}
	}
	/* and, whatever the events said, every open entry once a second and
	 * the others every 10 s (a write to a closed file is seen by its
	 * directory's watch at once) */
	if (now - w->last_full >= FULL_LOOK_NS) {
		w->last_full = now;
		open_ones = true;
	}
	if (now - w->last_idle >= IDLE_LOOK_NS) {
		w->last_idle = now;
		all = true;
	}
	if (w->npend)
		pend_look(w);
	for (size_t i = 0; i < w->nd; i++)
		if (w->d[i].rescan)
			dir_scan(w, &w->d[i]);
	for (size_t k = 0; k < w->nf; k++) {
		if (!all && !w->f[k].dirty && !(open_ones && w->f[k].fd >= 0))
			continue;
		r = file_look(w, k, cb, arg, &lines, now);
		if (r)
			return r;
	}
	return lines;
}

void fw_set_idle(struct fw *w, uint64_t idle_ns)
{
	w->idle_ns = idle_ns;
}

long fw_close(struct fw *w, fw_line_cb cb, void *arg)
{
	long r = 0;

	if (!w)
		return 0;
	for (size_t k = 0; k < w->nf; k++) {
		if (!r)
			r = flush_partial(w, k, cb, arg);
		if (w->f[k].fd >= 0)
			close(w->f[k].fd);
		free(w->f[k].path);
		free(w->f[k].buf);
	}
	for (size_t i = 0; i < w->nd; i++)
		free(w->d[i].dir);
	for (size_t i = 0; i < w->npend; i++)
		free(w->pend[i]);
	if (w->ifd >= 0)
		close(w->ifd);
	free(w);
	return r;
}
