// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sysattach: load one variant of sysattach.bpf.c (tp, raw or btf: the attach
 * points considered for migscope's syscall programs; tpnull, rawnull,
 * btfnull: the same attach points with programs that only return), run a
 * command, detach.
 *
 *   sysattach VARIANT -- COMMAND [ARGS...]
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "sysattach.skel.h"

int main(int argc, char **argv)
{
	struct sysattach_bpf *skel = NULL;
	struct bpf_program *prog;
	size_t plen, nprogs = 0;
	int err = 1, st;
	pid_t pid;

	if (argc < 4 || strcmp(argv[2], "--")) {
		fprintf(
		    stderr,
		    "usage: sysattach tp|raw|btf|tpnull|rawnull|btfnull -- COMMAND [ARGS...]\n");
		return 2;
	}
	plen = strlen(argv[1]);
	skel = sysattach_bpf__open();
	if (!skel) {
		fprintf(stderr, "sysattach: cannot open the BPF object: %s\n", strerror(errno));
		return 1;
	}
	bpf_object__for_each_program (prog, skel->obj) {
		bool mine = !strncmp(bpf_program__name(prog), argv[1], plen) &&
			    bpf_program__name(prog)[plen] == '_';

		nprogs += mine;
		bpf_program__set_autoload(prog, mine);
		bpf_program__set_autoattach(prog, mine);
	}
	skel->rodata->nr_ioctl = SYS_ioctl;
	skel->rodata->nr_read = SYS_read;
	skel->rodata->nr_write = SYS_write;
	skel->rodata->nr_close = SYS_close;
	if (!nprogs) {
		fprintf(stderr, "sysattach: no variant %s\n", argv[1]);
		goto cleanup;
	}
	if (sysattach_bpf__load(skel) || sysattach_bpf__attach(skel)) {
		fprintf(stderr, "sysattach: cannot load or attach variant %s: %s\n", argv[1],
			strerror(errno));
		goto cleanup;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "sysattach: fork: %s\n", strerror(errno));
		goto cleanup;
	}
	if (pid == 0) {
		execvp(argv[3], argv + 3);
		fprintf(stderr, "sysattach: cannot run %s: %s\n", argv[3], strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0) {
		fprintf(stderr, "sysattach: waitpid: %s\n", strerror(errno));
		goto cleanup;
	}
	err = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
cleanup:
	sysattach_bpf__destroy(skel);
	return err;
}
