// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * usdt_floor: attach one of floor.bpf.c's programs (the do-nothing one, or
 * with --record the least timestamped record) to a USDT probe of a binary
 * (pid -1: every process of the binary, semaphores set by the kernel), run a
 * command, detach. With BPF statistics on (bpf_stats), prints the program's
 * mean run time as bpf_prog_ns=.
 *
 *   usdt_floor [--record] BINARY PROVIDER NAME -- COMMAND [ARGS...]
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "floor.skel.h"

int main(int argc, char **argv)
{
	struct floor_bpf *skel = NULL;
	struct bpf_link *link = NULL;
	struct bpf_program *prog;
	bool record = argc > 1 && !strcmp(argv[1], "--record");
	int err = 1, st;
	pid_t pid;

	if (record) {
		argc--;
		argv++;
	}
	if (argc < 6 || strcmp(argv[4], "--")) {
		fprintf(stderr,
			"usage: usdt_floor [--record] BINARY PROVIDER NAME -- COMMAND [ARGS...]\n");
		return 2;
	}
	skel = floor_bpf__open();
	if (!skel) {
		fprintf(stderr, "usdt_floor: cannot open the BPF object: %s\n", strerror(errno));
		goto cleanup;
	}
	prog = record ? skel->progs.record_usdt : skel->progs.floor_usdt;
	bpf_program__set_autoload(record ? skel->progs.floor_usdt : skel->progs.record_usdt, false);
	if (floor_bpf__load(skel)) {
		fprintf(stderr, "usdt_floor: cannot load the BPF program: %s\n", strerror(errno));
		goto cleanup;
	}
	link = bpf_program__attach_usdt(prog, -1, argv[1], argv[2], argv[3], NULL);
	if (!link) {
		fprintf(stderr, "usdt_floor: cannot attach to %s:%s in %s: %s\n", argv[2], argv[3],
			argv[1], strerror(errno));
		goto cleanup;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "usdt_floor: fork: %s\n", strerror(errno));
		goto cleanup;
	}
	if (pid == 0) {
		execvp(argv[5], argv + 5);
		fprintf(stderr, "usdt_floor: cannot run %s: %s\n", argv[5], strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0) {
		fprintf(stderr, "usdt_floor: waitpid: %s\n", strerror(errno));
		goto cleanup;
	}
	err = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
	/* with BPF statistics on (bpf_stats), the program's own mean run time */
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (!bpf_prog_get_info_by_fd(bpf_program__fd(prog), &info, &len) && info.run_cnt)
		printf("bpf_prog_ns=%.1f\n", (double)info.run_time_ns / (double)info.run_cnt);
cleanup:
	bpf_link__destroy(link);
	floor_bpf__destroy(skel);
	return err;
}
