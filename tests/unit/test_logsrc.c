// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Followed QEMU logs as records (user/logsrc.c): a process per start of QEMU
 * in libvirt's log, named by its header; pids from the first line's thread,
 * pseudo pids for 10.1+ lines, their own per file; stamps moved onto the
 * monotonic clock; lines written in two pieces read once. */
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
#include "catalog.h"
#include "logsrc.h"
#include "qemulog.h"

#define MAXREC 64

struct got {
	union ms_rec r[MAXREC];
	size_t n;
};

static int on_rec(void *arg, const union ms_rec *r)
{
	struct got *g = arg;

	assert_true(g->n < MAXREC);
	g->r[g->n++] = *r;
	return 0;
}

#define HDR(host, name, uuid)                                                                      \
	"2026-12-01 11:00:00.000+0000: starting up libvirt version: 9.0.0, package: 9.0.0-4, "     \
	"qemu version: 10.0.2, kernel: 6.1.0, hostname: " host "\n"                                \
	"LC_ALL=C \\\n"                                                                            \
	"/usr/bin/qemu-system-x86_64 \\\n"                                                         \
	"-name guest=" name ",debug-threads=on \\\n"                                               \
	"-uuid " uuid " \\\n"                                                                      \
	"-msg timestamp=on\n"

static void test_libvirt_log(void **state)
{
	char err[256], d[128], *paths[1];
	struct logsrc_stats st;
	struct logsrc *s;
	struct got g = {};
	const int64_t shift = -1000000000000LL; /* 1000 s */

	(void)state;
	snprintf(d, sizeof(d), "%s/qemu", tmpdir);
	assert_int_equal(mkdir(d, 0755), 0);
	paths[0] = d;
	put("qemu/vm1.log", "w",
	    HDR("hv1", "vm1", "11111111-2222-4333-8444-555555555555") "4242@2000.000100:migrate_"
								      "set_state new state setup\n"
								      "4250@2000.000300:migrate_"
								      "set_state new state act");
	s = logsrc_open(paths, 1, err, sizeof(err));
	assert_non_null(s);
	/* the identity, then the first event; the half-written line waits */
	assert_int_equal(logsrc_read(s, shift, on_rec, &g), 2);
	assert_int_equal(g.r[0].h.kind, MS_EV_PROC);
	assert_int_equal(g.r[0].h.pid, 4242);
	assert_string_equal(g.r[0].proc.vm, "vm1");
	assert_string_equal(g.r[0].proc.uuid, "11111111-2222-4333-8444-555555555555");
	assert_int_equal(g.r[0].proc.pflags, 0);
	assert_int_equal(g.r[1].h.kind, MS_EV_USDT);
	assert_int_equal(g.r[1].h.probe, MS_P_MIGRATE_SET_STATE);
	assert_int_equal(g.r[1].h.pid, 4242);
	assert_int_equal(g.r[1].h.ts, 2000000100000ULL - 1000000000000ULL);
	g.n = 0;
	put("qemu/vm1.log", "a", "ive\n");
	assert_int_equal(logsrc_read(s, shift, on_rec, &g), 1);
	assert_int_equal(g.r[0].h.pid, 4242); /* another thread, the same process */
	assert_int_equal(g.r[0].h.tid, 4250);
	assert_string_equal(ms_arg_str(&g.r[0].usdt, 0), "active");
	/* QEMU started again (a migration in): a new header, a new process */
	g.n = 0;
	put("qemu/vm1.log", "a",
	    "2026-12-01 11:05:00.000+0000: shutting down, reason=migrated\n" HDR(
		"hv1", "vm1",
		"11111111-2222-4333-8444-555555555555") "5151@2100.000100:migrate_set_state new "
							"state setup\n");
	/* and a second VM's log appears, QEMU 10.1+ (no thread ids) */
	put("qemu/vm2.log", "w",
	    HDR("hv1", "vm2",
		"99999999-2222-4333-8444-555555555555") "2026-12-01T11:06:00.000001Z "
							"migrate_set_state new state setup\n"
							"2026-12-01T11:06:00.000002Z "
							"migrate_set_state new state active\n");
	assert_int_equal(logsrc_read(s, 0, on_rec, &g), 6);
	/* libvirt's line ends the first process, at its own time (11:05 UTC) */
	assert_int_equal(g.r[0].h.kind, MS_EV_EXIT);
	assert_int_equal(g.r[0].h.pid, 4242);
	assert_int_equal(g.r[0].exit.exit_code, -1);
	assert_int_equal(g.r[0].h.ts, 1796123100ULL * 1000000000ULL);
	assert_int_equal(g.r[1].h.kind, MS_EV_PROC);
	assert_int_equal(g.r[1].h.pid, 5151);
	assert_int_equal(g.r[3].h.kind, MS_EV_PROC);
	assert_string_equal(g.r[3].proc.vm, "vm2");
	assert_true(g.r[3].h.pid >= QLOG_NO_TID_PID);
	assert_int_equal(g.r[3].proc.pflags & MS_PROC_VERSION_AT_LEAST, MS_PROC_VERSION_AT_LEAST);
	assert_int_equal(g.r[4].h.pid, g.r[3].h.pid);
	assert_int_equal(g.r[5].h.pid, g.r[3].h.pid);
	assert_int_equal(g.r[4].h.tid, g.r[3].h.pid);
	/* a start without libvirt's shutdown line before it (libvirtd was
	 * killed): the process ends at the new header, at its last record */
	g.n = 0;
	put("qemu/vm1.log", "a",
	    HDR("hv1", "vm1",
		"11111111-2222-4333-8444-555555555555") "6161@2200.000100:migrate_"
							"set_state new state setup\n");
	assert_int_equal(logsrc_read(s, 0, on_rec, &g), 3);
	assert_int_equal(g.r[0].h.kind, MS_EV_EXIT);
	assert_int_equal(g.r[0].h.pid, 5151);
	assert_int_equal(g.r[0].h.ts, 2100000100000ULL);
	assert_int_equal(g.r[1].h.pid, 6161);
	logsrc_stats(s, &st);
	assert_int_equal(st.procs, 4);
	assert_int_equal(st.exits, 2);
	assert_int_equal(st.events, 6);
	assert_int_equal(st.files.followed, 2);
	logsrc_close(s);
}

static void test_plain_logs(void **state)
{
	char err[256], *paths[2];
	struct logsrc *s;
	struct got g = {};

	(void)state;
	/* two -D logs of QEMU 10.1+: their pseudo pids differ */
	put("a.log", "w", "2026-12-01T11:06:00.000001Z migrate_set_state new state setup\n");
	put("b.log", "w", "2026-12-01T11:06:00.000002Z migrate_set_state new state setup\n");
	paths[0] = (char *)at("a.log");
	paths[1] = (char *)at("b.log");
	paths[0] = strdup(paths[0]);
	s = logsrc_open(paths, 2, err, sizeof(err));
	free(paths[0]);
	assert_non_null(s);
	assert_int_equal(logsrc_read(s, 0, on_rec, &g), 4);
	assert_int_equal(g.r[0].h.kind, MS_EV_PROC);
	assert_int_equal(g.r[2].h.kind, MS_EV_PROC);
	assert_int_not_equal(g.r[0].h.pid, g.r[2].h.pid);
	assert_string_equal(g.r[0].proc.vm, "");
	logsrc_close(s);
}

/* Started on a running VM: what the log holds is history (no record), but
 * its header names the process and its first line's thread is the pid. */
static void test_history(void **state)
{
	char err[256], d[128], *paths[1];
	struct logsrc_stats st;
	struct logsrc *s;
	struct got g = {};

	(void)state;
	snprintf(d, sizeof(d), "%s/hist", tmpdir);
	assert_int_equal(mkdir(d, 0755), 0);
	paths[0] = d;
	put("hist/vm3.log", "w",
	    HDR("hv1", "old", "00000000-2222-4333-8444-555555555555") "2026-12-01 "
								      "10:05:00.000+0000: shutting "
								      "down, reason=shutdown\n" HDR(
									  "hv1", "vm3",
									  "33333333-2222-4333-8444-"
									  "555555555555") "7070@"
											  "3000."
											  "000100:"
											  "migrate_"
											  "set_"
											  "state "
											  "new "
											  "state "
											  "setup"
											  "\n");
	s = logsrc_open(paths, 1, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(logsrc_skip_history(s), 0);
	assert_int_equal(logsrc_read(s, 0, on_rec, &g), 0);
	put("hist/vm3.log", "a", "7080@3000.000200:migrate_set_state new state active\n");
	assert_int_equal(logsrc_read(s, 0, on_rec, &g), 2);
	assert_int_equal(g.r[0].h.kind, MS_EV_PROC);
	assert_int_equal(g.r[0].h.pid, 7070);
	assert_string_equal(g.r[0].proc.vm, "vm3");
	assert_int_equal(g.r[1].h.pid, 7070);
	assert_int_equal(g.r[1].h.tid, 7080);
	/* a file that appears later is new: read from its start */
	put("hist/vm4.log", "w", "8080@3001.000100:migrate_set_state new state setup\n");
	g.n = 0;
	assert_int_equal(logsrc_read(s, 0, on_rec, &g), 2);
	assert_int_equal(g.r[1].h.pid, 8080);
	logsrc_stats(s, &st);
	assert_int_equal(st.history, 1);
	assert_int_equal(st.exits, 0); /* nothing was announced before the history's end */
	logsrc_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_libvirt_log),
	    cmocka_unit_test(test_plain_logs),
	    cmocka_unit_test(test_history),
	};

	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
