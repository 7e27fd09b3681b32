/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The subcommands, one file each (cmd_<name>.c), dispatched by main.c. */
#ifndef MIGSCOPE_CMD_H
#define MIGSCOPE_CMD_H

/* Exit statuses: 0 success, 1 failure, 2 usage error. */
#define MS_EXIT_FAIL  1
#define MS_EXIT_USAGE 2

int cmd_probes(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_serve(int argc, char **argv);

/* Common options every command accepts: -v, -j, -h. Returns 1 if OPT was
 * one of them and was handled. */
int cmd_common_opt(int opt);

#endif
