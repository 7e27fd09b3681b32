// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Following files (user/follow.c): appends, partial lines, truncation,
 * rotation, delete and recreate, files that appear later, long lines: every
 * line handed over once, in order. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "tmpdir.h"
#include "follow.h"

struct got {
	char text[8192]; /* "FILE:line|" for each line */
	size_t len;
	long n;
};

static int on_line(void *arg, size_t file, const char *line, size_t len)
{
	struct got *g = arg;
	int k = snprintf(g->text + g->len, sizeof(g->text) - g->len, "%zu:%.*s|", file,
			 (int)(len > 40 ? 40 : len), line);

	g->len += (size_t)k;
	g->n++;
	return 0;
}

/* What fw_read hands over now, and that it is exactly WANT. */
static void expect(struct fw *w, const char *want)
{
	struct got g = {};

	assert_true(fw_read(w, on_line, &g) >= 0);
	assert_string_equal(g.text, want);
}

static void test_file(void **state)
{
	char err[256], *paths[] = {(char *)at("vm.log")};
	struct fw_stats st;
	struct fw *w;

	(void)state;
	put("vm.log", "w", "one\ntwo\nthr");
	paths[0] = (char *)at("vm.log");
	w = fw_open(paths, 1, err, sizeof(err));
	assert_non_null(w);
	/* what it held at the start; the partial line waits */
	expect(w, "0:one|0:two|");
	expect(w, "");
	put("vm.log", "a", "ee\nfour\n");
	expect(w, "0:three|0:four|");
	/* truncated (copytruncate) and written again */
	assert_int_equal(truncate(at("vm.log"), 0), 0);
	put("vm.log", "a", "new\n");
	expect(w, "0:new|");
	/* rotated: renamed, a last line written to the old one after the
	 * rename, a new file at the path */
	put("vm.log", "a", "before\n");
	assert_int_equal(rename(at("vm.log"), at("vm.log.1")), 0);
	put("vm.log.1", "a", "late-old\n");
	put("vm.log", "w", "rot1\n");
	expect(w, "0:before|0:late-old|0:rot1|");
	/* deleted, then recreated: the old one's end, then the new one */
	put("vm.log", "a", "x1\n");
	assert_int_equal(unlink(at("vm.log")), 0);
	expect(w, "0:x1|");
	expect(w, "");
	put("vm.log", "w", "again\n");
	expect(w, "0:again|");
	fw_stats(w, &st);
	assert_int_equal(st.truncated, 1);
	assert_int_equal(st.replaced, 2);
	assert_int_equal(st.opened, 3);
	/* a last line without its newline comes at the close */
	put("vm.log", "a", "tail");
	expect(w, "");
	{
		struct got g = {};

		assert_int_equal(fw_close(w, on_line, &g), 0);
		assert_string_equal(g.text, "0:tail|");
	}
}

static void test_dir_and_late_files(void **state)
{
	char err[256], d[128], *paths[2];
	struct fw *w;

	(void)state;
	snprintf(d, sizeof(d), "%s/qemu", tmpdir);
	assert_int_equal(mkdir(d, 0755), 0);
	put("qemu/a.log", "w", "a1\n");
	put("qemu/notes.txt", "w", "not a log\n");
	paths[0] = d;
	/* a file that does not exist yet, beside the directory */
	paths[1] = (char *)at("later.log");
	w = fw_open(paths, 2, err, sizeof(err));
	assert_non_null(w);
	expect(w, "0:a1|");
	put("qemu/b.log", "w", "b1\nb2\n");
	put("later.log", "w", "l1\n");
	put("qemu/a.log", "a", "a2\n");
	{
		struct got g = {};

		assert_int_equal(fw_read(w, on_line, &g), 4);
		/* each file's lines in order; the files in the order they were found */
		assert_non_null(strstr(g.text, "0:a2|"));
		assert_non_null(strstr(g.text, "1:l1|"));
		assert_non_null(strstr(g.text, "2:b1|2:b2|"));
	}
	assert_string_equal(fw_path(w, 1), at("later.log"));
	assert_null(fw_path(w, 3));
	fw_close(w, NULL, NULL);
}

static void test_long_line(void **state)
{
	char err[256], *paths[] = {(char *)at("long.log")};
	struct fw_stats st;
	struct got g = {};
	FILE *f;
	struct fw *w;

	(void)state;
	f = fopen(at("long.log"), "w");
	assert_non_null(f);
	for (int i = 0; i < FW_LINE_MAX + 100; i++)
		fputc('x', f);
	fputs("\nshort\n", f);
	fclose(f);
	paths[0] = (char *)at("long.log");
	w = fw_open(paths, 1, err, sizeof(err));
	assert_non_null(w);
	assert_int_equal(fw_read(w, on_line, &g), 2);
	assert_non_null(strstr(g.text, "|0:short|"));
	fw_stats(w, &st);
	assert_int_equal(st.cut_lines, 1);
	fw_close(w, NULL, NULL);
}

/* A directory given that does not exist yet (libvirt's log directory before
 * its first domain): followed as a directory once it is there, two levels
 * below what existed. */
static void test_late_dir(void **state)
{
	char err[256], d[128], *paths[1];
	struct fw_stats st;
	struct fw *w;

	(void)state;
	snprintf(d, sizeof(d), "%s/late/qemu", tmpdir);
	paths[0] = d;
	w = fw_open(paths, 1, err, sizeof(err));
	assert_non_null(w);
	expect(w, "");
	fw_stats(w, &st);
	assert_int_equal(st.pending, 1);
	assert_int_equal(mkdir(at("late"), 0755), 0);
	assert_int_equal(mkdir(d, 0755), 0);
	put("late/qemu/v.log", "w", "v1\n");
	expect(w, "0:v1|");
	put("late/qemu/w.log", "w", "w1\n");
	expect(w, "1:w1|");
	fw_stats(w, &st);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.followed, 2);
	fw_close(w, NULL, NULL);
}

/* "K:TEXT|" for the line TEXT of file NAME, K its index in w */
static const char *line_of(struct fw *w, const char *name, const char *text)
{
	static char buf[128];
	size_t k = 0;

	while (fw_path(w, k) && strcmp(fw_path(w, k), at(name)))
		k++;
	assert_non_null(fw_path(w, k));
	snprintf(buf, sizeof(buf), "%zu:%s|", k, text);
	return buf;
}

/* A libvirt host's log directory: a log per VM it ever ran. More files than
 * the first table held (256), each giving its descriptor back once idle
 * (here at once), reopened where it was when it grows, after a rotation or
 * a truncation while closed too: every line once. */
static void test_many_idle(void **state)
{
	char err[256], d[128], name[64], *paths[1];
	struct fw_stats st;
	struct got g = {};
	struct fw *w;

	(void)state;
	snprintf(d, sizeof(d), "%s/many", tmpdir);
	assert_int_equal(mkdir(d, 0755), 0);
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "many/vm%03d.log", i);
		put(name, "w", "first\n");
	}
	paths[0] = d;
	w = fw_open(paths, 1, err, sizeof(err));
	assert_non_null(w);
	fw_set_idle(w, 0);
	assert_int_equal(fw_read(w, on_line, &g), 300);
	fw_stats(w, &st);
	assert_int_equal(st.followed, 300);
	assert_int_equal(st.open_now, 0);
	assert_int_equal(st.refused, 0);
	/* grows while closed: from where it was */
	put("many/vm007.log", "a", "second\n");
	expect(w, line_of(w, "many/vm007.log", "second"));
	/* a partial line keeps its file open until its newline */
	put("many/vm008.log", "a", "hal");
	expect(w, "");
	fw_stats(w, &st);
	assert_int_equal(st.open_now, 1);
	put("many/vm008.log", "a", "f\n");
	expect(w, line_of(w, "many/vm008.log", "half"));
	/* rotated and truncated while closed */
	assert_int_equal(rename(at("many/vm009.log"), at("many/vm009.log.1")), 0);
	put("many/vm009.log", "w", "new9\n");
	expect(w, line_of(w, "many/vm009.log", "new9"));
	assert_int_equal(truncate(at("many/vm010.log"), 0), 0);
	expect(w, "");
	put("many/vm010.log", "a", "new10\n");
	expect(w, line_of(w, "many/vm010.log", "new10"));
	fw_stats(w, &st);
	assert_int_equal(st.replaced, 1);
	assert_int_equal(st.truncated, 1);
	assert_int_equal(st.open_now, 0);
	fw_close(w, NULL, NULL);
}

static void test_errors(void **state)
{
	char err[256], *paths[] = {"/etc/passwd/vm.log"};

	(void)state;
	/* below a file: it can never appear */
	assert_null(fw_open(paths, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "/etc/passwd/vm.log: cannot follow it: Not a directory"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_file),      cmocka_unit_test(test_dir_and_late_files),
	    cmocka_unit_test(test_long_line), cmocka_unit_test(test_late_dir),
	    cmocka_unit_test(test_many_idle), cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
