// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The live-tracing options record, serve and top share (cmd.h). */
#include <string.h>
#include "cmd.h"
#include "util.h"

void cmd_live_init(struct cmd_live *a)
{
	a->lo = (struct live_opts){.pids = a->pids, .binaries = a->bins};
}

int cmd_live_opt(const char *cmd, int opt, const char *arg, struct cmd_live *a)
{
	double mb;

	switch (opt) {
	case 'p':
		if (a->lo.npids == CMD_MAX_TARGETS) {
			ms_err("%s: at most %d -p options", cmd, CMD_MAX_TARGETS);
			return -1;
		}
		if (ms_parse_pid(arg, &a->pids[a->lo.npids])) {
			ms_err("%s: -p takes a PID, not '%s'", cmd, arg);
			return -1;
		}
		a->lo.npids++;
		return 1;
	case CMD_OPT_BINARY:
		if (a->lo.nbinaries == CMD_MAX_TARGETS) {
			ms_err("%s: at most %d --binary options", cmd, CMD_MAX_TARGETS);
			return -1;
		}
		a->bins[a->lo.nbinaries++] = arg;
		return 1;
	case CMD_OPT_RING_SIZE:
		if (ms_parse_seconds(arg, &mb) || mb <= 0) {
			ms_err("%s: --ring-size takes MiB > 0, not '%s'", cmd, arg);
			return -1;
		}
		a->lo.ring_bytes = (size_t)(mb * (1 << 20));
		return 1;
	case CMD_OPT_SYSCALL_HOOKS:
		if (!strcmp(arg, "migration")) {
			a->lo.hooks = LIVE_HOOKS_MIGRATION;
		} else if (!strcmp(arg, "always")) {
			a->lo.hooks = LIVE_HOOKS_ALWAYS;
		} else {
			ms_err("%s: --syscall-hooks takes migration or always, not '%s'", cmd, arg);
			return -1;
		}
		return 1;
	default: return 0;
	}
}

int cmd_follow_check(const char *cmd, size_t nfollow, size_t nreplay, const struct live_opts *lo)
{
	if (!nfollow)
		return 0;
	if (nreplay) {
		ms_err("%s: --follow is live and --replay is not: one or the other", cmd);
		return MS_EXIT_USAGE;
	}
	if (lo->npids || lo->nbinaries || lo->ring_bytes || lo->hooks != LIVE_HOOKS_MIGRATION) {
		ms_err("%s: -p, --binary, --ring-size and --syscall-hooks are for BPF tracing, "
		       "not --follow",
		       cmd);
		return MS_EXIT_USAGE;
	}
	return 0;
}
