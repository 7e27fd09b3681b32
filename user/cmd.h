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
 * A command's options, one table from which its getopt_long arguments and
 * its usage line are made (cmd_opt.c), so that the two cannot disagree.
 * The usage line shows the options in table order, after the form's
 * operands; main.c's usage and the command's --help print the same lines.
 *
 * CMD_O_SHORT: -KEY is accepted too. CMD_O_SHOW_SHORT: the usage line names
 * it -KEY (else --NAME). CMD_O_REPEAT: it may be given more than once
 * ("-p PID ..."). CMD_O_NESTED: inside the previous option's brackets
 * ("[--replay FILE [--speed X]]"). CMD_O_OR: an alternative to the previous
 * option ("[--binary PATH | -p PID]"). CMD_O_HIDDEN: not in the usage line
 * (-v, -h, which every command takes).
 */
#define CMD_O_SHORT	 0x01u
#define CMD_O_SHOW_SHORT 0x02u
#define CMD_O_REPEAT	 0x04u
#define CMD_O_NESTED	 0x08u
#define CMD_O_OR	 0x10u
#define CMD_O_HIDDEN	 0x20u
#define CMD_MAX_FORMS	 3
#define CMD_FORM(k)	 (1u << (k))
#define CMD_MAX_OPTS	 24

struct cmd_opt {
	const char *name; /* the long name; NULL for a short one only */
	int key;	  /* what getopt_long returns: the letter, or a CMD_OPT_* */
	const char *arg;  /* its argument as the usage line names it; NULL: none */
	unsigned flags;	  /* CMD_O_* */
	unsigned forms;	  /* CMD_FORM bits of the usage forms it belongs to; 0: all */
	unsigned req;	  /* CMD_FORM bits of the forms that require it (no brackets) */
};

struct cmd_usage {
	const char *name;		 /* the command */
	const char *args[CMD_MAX_FORMS]; /* each form's operands ("FILE..."); NULL: none */
	unsigned nforms;		 /* 1 to CMD_MAX_FORMS */
	const struct cmd_opt *opts;	 /* ends with an entry without name and key */
};

/* -v and -h, which every command takes */
#define CMD_COMMON_OPTIONS                                                                         \
	{"verbose", 'v', NULL, CMD_O_SHORT | CMD_O_HIDDEN, 0, 0},                                  \
	{                                                                                          \
		"help", 'h', NULL, CMD_O_SHORT | CMD_O_HIDDEN, 0, 0                                \
	}

extern const struct cmd_usage cmd_probes_usage, cmd_record_usage, cmd_replay_usage, cmd_merge_usage,
    cmd_top_usage, cmd_serve_usage;

/* getopt_long over u's options: the long table and the short string are
 * built from u->opts on the first call for u. */
int cmd_getopt(int argc, char **argv, const struct cmd_usage *u);
/* "LEADmigscope NAME FORM" per form, wrapped at 80 columns between items,
 * wrapped lines indented under the form's first item; a form after the
 * first led by alt_lead when given, else by as many spaces as lead. */
void cmd_print_usage(FILE *f, const char *lead, const char *alt_lead, const struct cmd_usage *u);
/* One form of u's usage line into buf (no lead, no wrapping): its length,
 * as snprintf counts it. */
int cmd_usage_form(char *buf, size_t n, const struct cmd_usage *u, unsigned form);

/* Common options every command accepts: -v, -j, -h. Returns 1 if OPT was
 * one of them and was handled. */
int cmd_common_opt(int opt);

/* A repeatable file option (--replay FILE): ARG appended to v[*n], at most
 * MAX of them. 0, or MS_EXIT_USAGE after a one-line message naming CMD and
 * OPT. */
int cmd_add_file(const char *cmd, const char *opt, const char *arg, char **v, size_t *n,
		 size_t max);

/*
 * The live-tracing options of record, serve and top (cmd_live.c): -p PID
 * and --binary PATH, each up to CMD_MAX_TARGETS times, --ring-size MB and
 * --syscall-hooks migration|always.
 * A command puts CMD_LIVE_OPTIONS(forms) in its option table and hands
 * every option to cmd_live_opt first.
 */
#define CMD_MAX_TARGETS 256
enum { CMD_OPT_BINARY = 0x100, CMD_OPT_RING_SIZE, CMD_OPT_SYSCALL_HOOKS };
#define CMD_LIVE_OPTIONS(forms)                                                                    \
	{"pid", 'p', "PID", CMD_O_SHORT | CMD_O_SHOW_SHORT | CMD_O_REPEAT, forms, 0},              \
	    {"binary", CMD_OPT_BINARY, "PATH", CMD_O_REPEAT, forms, 0},                            \
	    {"ring-size", CMD_OPT_RING_SIZE, "MB", 0, forms, 0},                                   \
	{                                                                                          \
		"syscall-hooks", CMD_OPT_SYSCALL_HOOKS, "WHEN", 0, forms, 0                        \
	}

struct cmd_live {
	int pids[CMD_MAX_TARGETS];
	const char *bins[CMD_MAX_TARGETS];
	struct live_opts lo; /* points into the arrays above */
};

void cmd_live_init(struct cmd_live *a);
/* --follow (logs instead of BPF) against the other sources and the BPF
 * options: 0, or MS_EXIT_USAGE after one line naming cmd. */
int cmd_follow_check(const char *cmd, size_t nfollow, size_t nreplay, const struct live_opts *lo);
/* 1 when opt is a live option and arg was taken, 0 when it is not one, -1
 * for a bad value (said in one line naming cmd). */
int cmd_live_opt(const char *cmd, int opt, const char *arg, struct cmd_live *a);

#endif
