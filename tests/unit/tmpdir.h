/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A scratch directory for the unit tests that write files: made by
 * tmpdir_setup (a cmocka group setup), removed by tmpdir_teardown. */
#ifndef MIGSCOPE_TEST_TMPDIR_H
#define MIGSCOPE_TEST_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

static char tmpdir[64];

/* NAME in the scratch directory; the last two results stay valid */
static const char *at(const char *name)
{
	static char p[2][128];
	static int i;

	i ^= 1;
	snprintf(p[i], sizeof(p[i]), "%s/%s", tmpdir, name);
	return p[i];
}

/* Write TEXT to NAME, fopen's MODE ("w", "a") */
static void put(const char *name, const char *mode, const char *text)
{
	FILE *f = fopen(at(name), mode);

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int tmpdir_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/migscope-unit.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int tmpdir_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd);
}

#endif
