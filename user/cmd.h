/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The subcommands, one file each (cmd_<name>.c), dispatched by main.c. */
#ifndef MIGSCOPE_CMD_H
#define MIGSCOPE_CMD_H

#include <getopt.h>
#include <stdio.h>
#include "live.h"

/* Exit statuses: 0 success, 1 failure, 2 usage error. */
#define MS_EXIT_FAIL  1
#define MS_EXIT_USAGE 2

int cmd_probes(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_serve(int argc, char **argv);

/*
 * Each command's synopsis, one string per form of its command line ('\n'
 * where a form wraps), NULL-terminated: its --help and main.c's usage print
 * the same lines (cmd_print_synopsis).
 */
extern const char *const cmd_probes_synopsis[];
extern const char *const cmd_record_synopsis[];
extern const char *const cmd_replay_synopsis[];
extern const char *const cmd_merge_synopsis[];
extern const char *const cmd_top_synopsis[];
extern const char *const cmd_serve_synopsis[];
/* "LEADmigscope NAME FORM" per form, wrapped lines indented under the form;
 * the first line led by lead, the others by as many spaces (or by alt_lead
 * when given, for the next forms). */
void cmd_print_synopsis(FILE *f, const char *lead, const char *alt_lead, const char *name,
			const char *const *forms);

/* Common options every command accepts: -v, -j, -h. Returns 1 if OPT was
 * one of them and was handled. */
int cmd_common_opt(int opt);

/*
 * The live-tracing options of record, serve and top (cmd_live.c): -p PID
 * and --binary PATH, each up to CMD_MAX_TARGETS times, and --ring-size MB.
 * A command puts CMD_LIVE_OPTIONS in its option table and "p:" in its short
 * options, and hands every option to cmd_live_opt first.
 */
#define CMD_MAX_TARGETS 256
enum { CMD_OPT_BINARY = 0x100, CMD_OPT_RING_SIZE };
#define CMD_LIVE_OPTIONS                                                                           \
	{"pid", required_argument, NULL, 'p'},                                                     \
	    {"binary", required_argument, NULL, CMD_OPT_BINARY},                                   \
	{                                                                                          \
		"ring-size", required_argument, NULL, CMD_OPT_RING_SIZE                            \
	}

struct cmd_live {
	int pids[CMD_MAX_TARGETS];
	const char *bins[CMD_MAX_TARGETS];
	struct live_opts lo; /* points into the arrays above */
};

void cmd_live_init(struct cmd_live *a);
/* 1 when opt is a live option and arg was taken, 0 when it is not one, -1
 * for a bad value (said in one line naming cmd). */
int cmd_live_opt(const char *cmd, int opt, const char *arg, struct cmd_live *a);

#endif
