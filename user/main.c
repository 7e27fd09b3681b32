// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * migscope: observe QEMU live migrations and their switchover-ack handshake
 * with BPF. One subcommand per file; this file only dispatches.
 */
#include <stdio.h>
#include <string.h>
#include "cmd.h"
#include "util.h"

static const struct cmd {
	int (*func)(int argc, char **argv);
	const struct cmd_usage *usage; /* its name and options, as its --help shows them */
} cmds[] = {
    {cmd_probes, &cmd_probes_usage}, {cmd_record, &cmd_record_usage},
    {cmd_replay, &cmd_replay_usage}, {cmd_merge, &cmd_merge_usage},
    {cmd_top, &cmd_top_usage},	     {cmd_serve, &cmd_serve_usage},
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static void usage(FILE *f)
{
	fprintf(f, "Usage: migscope [-v] [-j] COMMAND [ARGS]\n\nCommands:\n");
	for (size_t i = 0; i < NCMDS; i++)
		cmd_print_usage(f, "  ", NULL, cmds[i].usage);
	fprintf(f, "\nOptions: -v verbose (libbpf and debug output), -j JSON output, -h help.\n"
		   "'migscope COMMAND --help' shows a command's options and examples.\n"
		   "\nExamples:\n"
		   "  migscope probes --binary /usr/libexec/qemu-kvm\n"
		   "  migscope record -o /var/tmp/mig.trace          # every QEMU process\n"
		   "  migscope replay /var/tmp/mig.trace --format json\n"
		   "  migscope merge src-host.trace dst-host.trace -o mig.trace   # two hosts\n"
		   "  migscope top                                   # live view\n"
		   "  migscope serve                                 # Prometheus exporter\n");
}

int main(int argc, char **argv)
{
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v")) {
			ms_verbose++;
		} else if (!strcmp(argv[i], "-j")) {
			ms_json = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
			printf("migscope %s\n", MS_VERSION);
			return 0;
		} else {
			ms_err("unknown option %s; see migscope --help", argv[i]);
			return MS_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return MS_EXIT_USAGE;
	}
	for (size_t c = 0; c < NCMDS; c++)
		if (!strcmp(argv[i], cmds[c].usage->name))
			return cmds[c].func(argc - i, argv + i);
	ms_err("unknown command '%s'; see migscope --help", argv[i]);
	return MS_EXIT_USAGE;
}
