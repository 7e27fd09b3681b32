/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Files followed as they are written, as tail -F follows them: the lines
 * appended to each, whole. For QEMU logs read live (top --follow, serve
 * --follow), where libvirt and logrotate append, rotate, truncate, delete and
 * recreate them.
 *
 * A path given is a file or a directory. It may not exist yet (a directory
 * on its way must exist above it): once it appears it is followed as what it
 * is then, a file read from its start or a directory. A directory's files whose names end in
 * ".log" are followed, those there at the start and those that appear later.
 * What each file held at the start is read too (the caller may skip it).
 *
 * Each complete line goes to the callback once, in file order: a partial last
 * line waits for its newline (the writer's next write); a file truncated below
 * what was read is read again from its start (seen when it is looked at while
 * shorter: a truncation followed at once by as much data as had been read,
 * before the next look, goes unseen, as with tail -F); a file renamed or deleted and
 * replaced at its path is read to its end, then the new one from its start;
 * a line that ends a file without a newline is handed over when the file is
 * replaced or closed. Lines are bounded (FW_LINE_MAX): a longer one is handed
 * over cut, with its length.
 *
 * fw_fd is an inotify descriptor to poll for readability; fw_read then reads
 * whatever changed. It is also correct to call fw_read on a timer alone: it
 * looks at every active file once a second, and every file every 10 s.
 */
#ifndef MIGSCOPE_FOLLOW_H
#define MIGSCOPE_FOLLOW_H

#include <stddef.h>
#include <stdint.h>

#define FW_MAX	    64	      /* paths given */
#define FW_FILES    4096      /* files followed, over a run */
#define FW_LINE_MAX (1 << 16) /* bytes of one line kept */

struct fw;

/* Called for each line (without its newline), FILE the index of the file
 * (fw_path names it; a replaced file keeps its index). A nonzero return
 * stops fw_read, which returns it. */
typedef int (*fw_line_cb)(void *arg, size_t file, const char *line, size_t len);

/* Start following PATHS. NULL, with a one-line message in err, when a path
 * cannot be watched (below a file, no access, no inotify). */
struct fw *fw_open(char *const *paths, size_t n, char *err, size_t errlen);
int fw_fd(const struct fw *w);
/* Read what was written since the last call. The number of lines handed
 * over, or the callback's nonzero return, or a negative errno. */
long fw_read(struct fw *w, fw_line_cb cb, void *arg);
/* The path of file FILE, NULL past the last. */
const char *fw_path(const struct fw *w, size_t file);
/* Over every file: times one was found truncated, replaced at its path
 * (rotation, delete and recreate), opened; lines cut at FW_LINE_MAX. Now:
 * the files followed (there at their path when last looked at), those of
 * them with an open descriptor (active in the last minute), the paths
 * given that are not there yet, and the *.log files of the directories
 * not followed because FW_FILES are. */
struct fw_stats {
	uint64_t truncated, replaced, opened, cut_lines;
	uint64_t followed, open_now, pending, refused;
};
/* How long a file without new data keeps its descriptor (default 60 s). */
void fw_set_idle(struct fw *w, uint64_t idle_ns);
void fw_stats(const struct fw *w, struct fw_stats *s);
/* Hand over what is left (a last line without a newline) and stop. */
long fw_close(struct fw *w, fw_line_cb cb, void *arg);

#endif
