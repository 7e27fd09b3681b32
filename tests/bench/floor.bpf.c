// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The floors of a USDT probe's cost, each loaded alone by usdt_floor:
 *
 * floor_usdt: a program that only returns. What any tracer pays for the
 * uprobe itself (trap, handler, BPF entry), before it reads an argument.
 *
 * record_usdt: the least a tracer that puts a timestamped record of the
 * probe in a ring buffer does: the thread, the attach cookie (which probe),
 * the clock, six registers as they are (no argument spec read, no string),
 * a 72-byte ring buffer record without a wakeup. What migscope's program
 * adds on top of this is what its record means: the arguments the spec
 * names, the strings, the wakeup rule.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} floor_ring SEC(".maps");

SEC("usdt")
int floor_usdt(struct pt_regs *ctx)
{
	return 0;
}

SEC("usdt")
int record_usdt(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u64 ts = bpf_ktime_get_ns();
	__u64 *r = bpf_ringbuf_reserve(&floor_ring, 72, 0);

	if (!r)
		return 0;
	r[0] = ts;
	r[1] = pid_tgid;
	r[2] = cookie;
	r[3] = PT_REGS_PARM1(ctx);
	r[4] = PT_REGS_PARM2(ctx);
	r[5] = PT_REGS_PARM3(ctx);
	r[6] = PT_REGS_PARM4(ctx);
	r[7] = PT_REGS_PARM5(ctx);
	r[8] = PT_REGS_PARM6(ctx);
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	return 0;
}
