// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The floor of a USDT probe's cost: a program that only returns. What any
 * tracer pays for the uprobe itself (trap, handler, BPF entry), before it
 * reads an argument.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("usdt")
int floor_usdt(struct pt_regs *ctx)
{
	return 0;
}
